//! The database file: its schema, how a connection is opened, and the reads.
//!
//! One SQLite database in WAL mode holds the tables' rows (JSON), the GSI1 index, the change
//! stream and the queues. Reads run on pooled reader connections, beside the one writer
//! (`writer.rs`): WAL lets readers see every committed write without waiting for it.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcamp_store::ports::{
    ChangeKind, ChangeRecord, Index, Item, Key, Page, Query, QueueId, SortKey, StoreError, StoreResult, TableId,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params_from_iter};

/// The data format, kept in `meta`. 3: SQLite (2 was the JSON-lines file, imported once).
pub const FORMAT_VERSION: i64 = 3;

/// How a commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// WAL with `synchronous=NORMAL`: a commit is in the OS before it is acknowledged, so it
    /// survives the process being killed at any moment; a power loss may lose the last ones.
    Process,
    /// `synchronous=FULL`: the WAL is fsynced at every commit, so a commit survives a power loss.
    Power,
    /// `synchronous=OFF`: for a throwaway store (tests, benches) that no crash needs to survive.
    None,
}

/// Pages of cache per connection, in KiB (SQLite's negative `cache_size`). The writer touches
/// the most pages; readers share the OS page cache.
const WRITER_CACHE_KIB: i64 = 16 * 1024;
const READER_CACHE_KIB: i64 = 4 * 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items(
    tbl INTEGER NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL,
    gpk TEXT, gsk TEXT, item BLOB NOT NULL,
    PRIMARY KEY (tbl, pk, sk)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items(tbl, gpk, gsk, pk, sk) WHERE gpk IS NOT NULL;
CREATE TABLE IF NOT EXISTS changes(
    tbl INTEGER NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL,
    pk TEXT NOT NULL, sk TEXT NOT NULL, image BLOB,
    PRIMARY KEY (tbl, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages(
    seq INTEGER PRIMARY KEY, queue INTEGER NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    visible_at INTEGER NOT NULL, receive_count INTEGER NOT NULL, receipt TEXT);
CREATE INDEX IF NOT EXISTS messages_queue ON messages(queue, seq);
CREATE INDEX IF NOT EXISTS messages_receipt ON messages(receipt) WHERE receipt IS NOT NULL;
";

/// A SQLite failure, as the ports report it.
pub fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("embedded database: {e}"))
}

/// Opens the writer's connection: WAL, the durability asked for, the schema, the format checked.
pub fn open_writer(path: &Path, durability: Durability) -> std::io::Result<Connection> {
    let io = |e: rusqlite::Error| std::io::Error::other(format!("{}: {e}", path.display()));
    let mut conn = Connection::open(path).map_err(io)?;
    conn.busy_handler(Some(wait_briefly)).map_err(io)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(io)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(std::io::Error::other(format!(
            "{}: the file system does not allow SQLite's WAL mode ({mode})",
            path.display()
        )));
    }
    let sync = match durability {
        Durability::Process => "NORMAL",
        Durability::Power => "FULL",
        Durability::None => "OFF",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous={sync}; PRAGMA cache_size=-{WRITER_CACHE_KIB}; PRAGMA temp_store=MEMORY;
         PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={WAL_CAP_BYTES}; PRAGMA secure_delete=FAST;"
    ))
    .map_err(io)?;
    conn.execute_batch(SCHEMA).map_err(io)?;
    let format: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE name='format'", [], |r| r.get(0))
        .optional()
        .map_err(io)?;
    match format {
        None => {
            conn.execute("INSERT INTO meta(name, value) VALUES ('format', ?1)", [FORMAT_VERSION])
                .map_err(io)?;
        }
        Some(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} is a data file of format {v}; this mcamp reads format {FORMAT_VERSION}. Nothing was changed.",
                    path.display()
                ),
            ));
        }
    }
    Ok(conn)
}

/// How often the checkpointer folds the WAL back into the database.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// The WAL size past which the checkpointer makes the writer wait for the WAL to start over,
/// and the size SQLite cuts it back to when it starts over.
pub const WAL_CAP_BYTES: u64 = 64 * 1024 * 1024;

/// Folds the WAL into the database every `CHECKPOINT_EVERY`, on its own connection and thread,
/// so that the writer never stops for it (a checkpoint copies pages and, at
/// `synchronous=NORMAL`, fsyncs: milliseconds a click would otherwise wait). Passive first: it
/// waits for no one. Under a steady load a passive checkpoint never catches up with the end of
/// the WAL, so the WAL would never start over and would grow without end: past `WAL_CAP_BYTES`
/// it restarts it, which holds the writer only while the last frames (most already copied) are
/// copied. Restart rather than truncate: the writer then overwrites the file's pages already in
/// the OS cache instead of allocating new ones. Runs until `stop` is dropped.
pub fn checkpoint_until(path: &Path, stop: &std::sync::mpsc::Receiver<()>) {
    let conn = match Connection::open(path).and_then(|mut c| c.busy_handler(Some(wait_briefly)).map(|()| c)) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "embedded store: no checkpointer; the WAL grows until the store is closed");
            return;
        }
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::path::PathBuf::from(wal);
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        let run = |mode: &str| {
            // The pragma answers (busy, frames in the WAL, frames copied); busy = 1 is not an
            // error: the next round tries again.
            if let Err(e) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(())) {
                tracing::warn!(error = %e, mode, "embedded store: a checkpoint failed; the next one retries");
            }
        };
        run("PASSIVE");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_CAP_BYTES) {
            run("RESTART");
        }
    }
}

/// The writer and the checkpointer wait for a lock in steps of 100 µs for up to 5 s, not in
/// SQLite's default steps of up to 100 ms, which would stall every click behind them for the
/// rest of the step once the lock is free.
pub fn wait_briefly(attempt: i32) -> bool {
    std::thread::sleep(Duration::from_micros(100));
    attempt < 50_000
}

/// Opens a reader's connection, read-only.
pub fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch(&format!("PRAGMA cache_size=-{READER_CACHE_KIB};"))?;
    Ok(conn)
}

pub fn table_code(t: TableId) -> i64 {
    match t {
        TableId::Main => 0,
        TableId::Events => 1,
    }
}

pub fn queue_code(q: QueueId) -> i64 {
    match q {
        QueueId::CouponIssue => 0,
        QueueId::CouponIssueDlq => 1,
        QueueId::SendMessage => 2,
        QueueId::SendMessageDlq => 3,
    }
}

pub fn encode(item: &Item) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(item).map_err(|e| StoreError::Backend(format!("encoding an item: {e}")))
}

pub fn decode(bytes: &[u8]) -> StoreResult<Item> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Backend(format!("a stored item does not read back: {e}")))
}

/// Milliseconds since the epoch: message visibility survives a restart.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The queues' clock: the wall clock at open, advanced by tokio's clock, so that a test that
/// pauses time sees visibility timeouts pass with it. Read on the async side: the writer's
/// thread has no tokio clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall_ms: i64,
    at: tokio::time::Instant,
}

impl Clock {
    pub fn start() -> Self {
        Clock {
            wall_ms: wall_ms(),
            at: tokio::time::Instant::now(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        let since = tokio::time::Instant::now().saturating_duration_since(self.at);
        self.wall_ms
            .saturating_add(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }
}

pub fn get(c: &Connection, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
    let mut st = c
        .prepare_cached("SELECT item FROM items WHERE tbl=?1 AND pk=?2 AND sk=?3")
        .map_err(db)?;
    let bytes: Option<Vec<u8>> = st
        .query_row((table_code(table), &key.pk, &key.sk), |r| r.get(0))
        .optional()
        .map_err(db)?;
    bytes.as_deref().map(decode).transpose()
}

/// One page of `q`, in DynamoDB's order: partition, then sort key, then (GSI1) the item's key.
pub fn query(c: &Connection, q: &Query) -> StoreResult<Page> {
    let (part, sort, order_cols) = match q.index {
        Index::Primary => ("pk", "sk", "sk"),
        Index::Gsi1 => ("gpk", "gsk", "gsk, pk, sk"),
    };
    let mut sql = format!("SELECT item FROM items WHERE tbl=? AND {part}=?");
    let mut args: Vec<rusqlite::types::Value> = vec![table_code(q.table).into(), q.partition.clone().into()];
    match &q.sort {
        SortKey::Any => {}
        SortKey::Prefix(p) => {
            // Every string that starts with `p` sorts from `p` up to `p` followed by the last
            // code point.
            sql.push_str(&format!(" AND {sort}>=? AND {sort}<?"));
            args.push(p.clone().into());
            args.push(format!("{p}\u{10FFFF}").into());
        }
        SortKey::Between(a, b) => {
            sql.push_str(&format!(" AND {sort}>=? AND {sort}<=?"));
            args.push(a.clone().into());
            args.push(b.clone().into());
        }
    }
    let cmp = if q.forward { ">" } else { "<" };
    if let Some(after) = &q.after {
        let attr = |n: &str| {
            after
                .get(n)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| StoreError::Invalid(format!("a query's `after` needs the string attribute {n}")))
        };
        match q.index {
            Index::Primary => {
                sql.push_str(&format!(" AND sk{cmp}?"));
                args.push(attr("sk")?.into());
            }
            Index::Gsi1 => {
                sql.push_str(&format!(" AND (gsk, pk, sk){cmp}(?, ?, ?)"));
                args.push(attr("gsi1sk")?.into());
                args.push(attr("pk")?.into());
                args.push(attr("sk")?.into());
            }
        }
    }
    let dir = if q.forward { "ASC" } else { "DESC" };
    let order = order_cols
        .split(", ")
        .map(|c| format!("{c} {dir}"))
        .collect::<Vec<_>>()
        .join(", ");
    sql.push_str(&format!(" ORDER BY {order}"));
    // One row more than a page, to know whether another page follows.
    let limit = q.limit.map(|n| n.max(1));
    if let Some(n) = limit {
        sql.push_str(" LIMIT ?");
        args.push(i64::try_from(n.saturating_add(1)).unwrap_or(i64::MAX).into());
    }
    let mut st = c.prepare_cached(&sql).map_err(db)?;
    let rows = st
        .query_map(params_from_iter(args), |r| r.get::<_, Vec<u8>>(0))
        .map_err(db)?;
    let mut items = Vec::new();
    for row in rows {
        items.push(decode(&row.map_err(db)?)?);
    }
    let mut next = None;
    if let Some(n) = limit
        && items.len() > n
    {
        items.truncate(n);
        next = items.last().map(|last| page_key(q.index, last));
    }
    Ok(Page { items, next })
}

/// The key attributes of an item that a query continues after.
fn page_key(index: Index, item: &Item) -> Item {
    let names: &[&str] = match index {
        Index::Primary => &["pk", "sk"],
        Index::Gsi1 => &["pk", "sk", "gsi1pk", "gsi1sk"],
    };
    names
        .iter()
        .filter_map(|n| Some(((*n).to_owned(), item.get(*n)?.clone())))
        .collect()
}

pub fn changes(c: &Connection, table: TableId, after: Option<&str>, limit: usize) -> StoreResult<Vec<ChangeRecord>> {
    let after: i64 = match after {
        None => 0,
        Some(s) => s
            .parse()
            .map_err(|_| StoreError::Invalid(format!("not a sequence number of this stream: {s}")))?,
    };
    let mut st = c
        .prepare_cached("SELECT seq, kind, pk, sk, image FROM changes WHERE tbl=?1 AND seq>?2 ORDER BY seq LIMIT ?3")
        .map_err(db)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = st
        .query_map((table_code(table), after, limit), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<Vec<u8>>>(4)?,
            ))
        })
        .map_err(db)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, kind, pk, sk, image) = row.map_err(db)?;
        out.push(ChangeRecord {
            sequence: sequence(seq),
            kind: kind_of(kind),
            key: Key::new(pk, sk),
            new_image: image.as_deref().map(decode).transpose()?,
        });
    }
    Ok(out)
}

/// A change's sequence as the port hands it out: fixed width, so it orders as a string too.
pub fn sequence(seq: i64) -> String {
    format!("{seq:020}")
}

pub fn kind_code(kind: ChangeKind) -> i64 {
    match kind {
        ChangeKind::Insert => 0,
        ChangeKind::Modify => 1,
        ChangeKind::Remove => 2,
    }
}

fn kind_of(code: i64) -> ChangeKind {
    match code {
        0 => ChangeKind::Insert,
        1 => ChangeKind::Modify,
        _ => ChangeKind::Remove,
    }
}

pub fn depth(c: &Connection, queue: QueueId) -> StoreResult<usize> {
    let n: i64 = c
        .prepare_cached("SELECT count(*) FROM messages WHERE queue=?1")
        .and_then(|mut st| st.query_row([queue_code(queue)], |r| r.get(0)))
        .map_err(db)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// When the earliest message of `queue` becomes visible (ms since the epoch); `None` when empty.
pub fn next_visible(c: &Connection, queue: QueueId) -> StoreResult<Option<i64>> {
    c.prepare_cached("SELECT min(visible_at) FROM messages WHERE queue=?1")
        .and_then(|mut st| st.query_row([queue_code(queue)], |r| r.get(0)))
        .map_err(db)
}
