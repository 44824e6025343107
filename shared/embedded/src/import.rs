//! The JSON-lines data file of earlier versions (format 2: one line per committed write),
//! read once into a new database and then renamed `*.jsonl.imported`, so nothing a marketer
//! ran locally is lost and nothing is imported twice.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use mcamp_store::ports::{Item, Key, QueueId, TableId};
use serde::Deserialize;

/// The JSON-lines format this version can import.
const JSONL_FORMAT: u32 = 2;

/// One line of the JSON-lines data file.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum LogLine {
    Format { version: u32 },
    Put { table: TableId, item: Item },
    Delete { table: TableId, pk: String, sk: String },
    Send { queue: QueueId, id: String, body: String },
    Gone { queue: QueueId, id: String },
}

/// What a JSON-lines file held at its end: the live rows and the pending messages, in order.
#[derive(Default)]
pub struct Legacy {
    pub rows: BTreeMap<(TableId, String, String), Item>,
    /// By the order they were sent: (queue, id, body).
    pub messages: BTreeMap<u64, (QueueId, String, String)>,
}

/// The JSON-lines file an SQLite data file at `db` is imported from: `x.db` ← `x.jsonl`.
pub fn legacy_path(db: &Path) -> PathBuf {
    db.with_extension("jsonl")
}

/// Where an imported JSON-lines file is moved to.
pub fn imported_path(jsonl: &Path) -> PathBuf {
    jsonl.with_extension("jsonl.imported")
}

/// Whether the file at `path` is a JSON-lines data file rather than an SQLite database.
pub fn is_jsonl(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; 16];
    let mut f = File::open(path)?;
    let n = f.read(&mut head)?;
    let head = &head[..n];
    Ok(!head.is_empty() && !head.starts_with(b"SQLite format 3") && head.trim_ascii_start().starts_with(b"{"))
}

/// Reads a JSON-lines data file to its end state. A torn or foreign line is skipped, as the
/// file's own reader did; a file of another format is refused and left as it is.
pub fn read(path: &Path) -> std::io::Result<Legacy> {
    let mut out = Legacy::default();
    let mut order = 0u64;
    let mut first = true;
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        if std::mem::take(&mut first) {
            check_format(path, &line)?;
            continue;
        }
        let Ok(entry) = serde_json::from_str::<LogLine>(&line) else {
            tracing::warn!(path = %path.display(), "skipping unreadable line in the JSON-lines data file");
            continue;
        };
        match entry {
            LogLine::Format { .. } => {}
            LogLine::Put { table, item } => {
                if let Some(Key { pk, sk }) = Key::of(&item) {
                    out.rows.insert((table, pk, sk), item);
                }
            }
            LogLine::Delete { table, pk, sk } => {
                out.rows.remove(&(table, pk, sk));
            }
            LogLine::Send { queue, id, body } => {
                order += 1;
                out.messages.insert(order, (queue, id, body));
            }
            LogLine::Gone { queue, id } => out.messages.retain(|_, (q, i, _)| !(*q == queue && *i == id)),
        }
    }
    Ok(out)
}

/// The first line of a JSON-lines file names its format.
fn check_format(path: &Path, line: &str) -> std::io::Result<()> {
    match serde_json::from_str::<LogLine>(line) {
        Ok(LogLine::Format { version }) if version == JSONL_FORMAT => Ok(()),
        Ok(LogLine::Format { version }) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is a JSON-lines data file of format {version}; this mcamp imports format {JSONL_FORMAT}. Nothing was changed.",
                path.display()
            ),
        )),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} was written by an older mcamp (before the brand's customer base, format {JSONL_FORMAT}). Nothing was changed: move it away or delete it and start again (`make run` seeds the demos anew).",
                path.display()
            ),
        )),
    }
}
