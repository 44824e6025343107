//! The data file: one JSON line per committed write, replayed at open and then compacted to
//! the live rows and pending messages. A lock file keeps a second process out.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use mcamp_store::ports::{Item, Key, QueueId, StoreError, StoreResult, TableId};
use serde::{Deserialize, Serialize};

use crate::queue::{DeadLettered, Queues};
use crate::table::Tables;

/// The data file's format, written as its first line. 2: the brand's customer base (a
/// recipient points at a customer who holds the consents). A file without the line was
/// written before it and is refused with a message, never half-read.
pub const FORMAT_VERSION: u32 = 2;

/// One line of the data file.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLine {
    Format { version: u32 },
    Put { table: TableId, item: Item },
    Delete { table: TableId, pk: String, sk: String },
    Send { queue: QueueId, id: String, body: String },
    Gone { queue: QueueId, id: String },
}

impl LogLine {
    /// The line for a row a write leaves: the item, or `None` for a delete.
    pub fn row(table: TableId, key: &Key, item: Option<&Item>) -> Self {
        match item {
            Some(item) => LogLine::Put {
                table,
                item: item.clone(),
            },
            None => LogLine::Delete {
                table,
                pk: key.pk.clone(),
                sk: key.sk.clone(),
            },
        }
    }

    /// The lines for a message moved from `queue` to its dead-letter queue.
    pub fn dead_lettered(queue: QueueId, (id, dlq, new_id, body): DeadLettered) -> [Self; 2] {
        [
            LogLine::Gone { queue, id },
            LogLine::Send {
                queue: dlq,
                id: new_id,
                body,
            },
        ]
    }
}

/// The open data file, or nothing for a store in memory only.
pub struct Log {
    out: Option<BufWriter<File>>,
    /// Held while open, so a second process cannot open the same file; released on drop
    /// (after `out`, which is flushed after every write anyway).
    _lock: Option<File>,
}

impl Log {
    /// No file: the store lives in memory only.
    pub fn none() -> Self {
        Log { out: None, _lock: None }
    }

    /// Whether writes are appended to a file (otherwise no lines need building).
    pub fn is_on(&self) -> bool {
        self.out.is_some()
    }

    /// Opens (or creates) the data file at `path`, replays it into fresh tables and queues,
    /// and compacts it.
    pub fn open(path: &Path) -> std::io::Result<(Log, Tables, Queues)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // One process at a time: a second opener (the CLI while `make run` serves) would replay
        // a stale copy and its compaction would orphan the other's appends.
        let lock_path = path.with_extension("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        if lock.try_lock().is_err() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!(
                    "{} is in use by another mcamp process (stop `make run` first)",
                    path.display()
                ),
            ));
        }
        let mut tables = Tables::default();
        let mut queues = Queues::default();
        let mut replayed = 0usize;
        if path.exists() {
            let reader = BufReader::new(File::open(path)?);
            let mut first = true;
            for line in reader.lines() {
                let line = line?;
                if std::mem::take(&mut first) && !line.trim().is_empty() {
                    check_format(path, &line)?;
                    continue;
                }
                // A torn or foreign line is skipped rather than refusing to start.
                let Ok(entry) = serde_json::from_str::<LogLine>(&line) else {
                    tracing::warn!(path = %path.display(), "skipping unreadable line in data file");
                    continue;
                };
                replay(&mut tables, &mut queues, entry);
                replayed += 1;
            }
        }
        compact(path, &tables, &queues)?;
        let file = OpenOptions::new().append(true).open(path)?;
        tracing::debug!(replayed, path = %path.display(), "embedded store opened");
        let log = Log {
            out: Some(BufWriter::new(file)),
            _lock: Some(lock),
        };
        Ok((log, tables, queues))
    }

    /// Appends `lines` and flushes them.
    pub fn persist(&mut self, lines: &[LogLine]) -> StoreResult<()> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        let io = |e: std::io::Error| StoreError::Backend(format!("writing the data file: {e}"));
        for line in lines {
            serde_json::to_writer(&mut *out, line).map_err(|e| StoreError::Backend(e.to_string()))?;
            out.write_all(b"\n").map_err(io)?;
        }
        out.flush().map_err(io)
    }
}

/// The first line of an existing data file must name this format.
fn check_format(path: &Path, line: &str) -> std::io::Result<()> {
    match serde_json::from_str::<LogLine>(line) {
        Ok(LogLine::Format { version }) if version == FORMAT_VERSION => Ok(()),
        Ok(LogLine::Format { version }) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is a data file of format {version}; this mcamp reads format {FORMAT_VERSION}. Nothing was changed.",
                path.display()
            ),
        )),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} was written by an older mcamp (before the brand's customer base, format {FORMAT_VERSION}). Nothing was changed: move it away or delete it and start again (`make run` seeds the demos anew).",
                path.display()
            ),
        )),
    }
}

fn replay(tables: &mut Tables, queues: &mut Queues, entry: LogLine) {
    match entry {
        LogLine::Format { .. } => {}
        LogLine::Put { table, item } => {
            if let Some(key) = Key::of(&item) {
                tables.write_row(table, key, Some(item), false);
            }
        }
        LogLine::Delete { table, pk, sk } => tables.write_row(table, Key::new(pk, sk), None, false),
        LogLine::Send { queue, id, body } => queues.restore(queue, id, body),
        LogLine::Gone { queue, id } => queues.forget(queue, &id),
    }
}

/// Writes the live state to a new file and swaps it in.
fn compact(path: &Path, tables: &Tables, queues: &Queues) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut out = BufWriter::new(File::create(&tmp)?);
        serde_json::to_writer(
            &mut out,
            &LogLine::Format {
                version: FORMAT_VERSION,
            },
        )?;
        out.write_all(b"\n")?;
        for (table, item) in tables.rows() {
            serde_json::to_writer(
                &mut out,
                &LogLine::Put {
                    table,
                    item: item.clone(),
                },
            )?;
            out.write_all(b"\n")?;
        }
        for (queue, id, body) in queues.pending() {
            serde_json::to_writer(&mut out, &LogLine::Send { queue, id, body })?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    std::fs::rename(&tmp, path)
}
