//! The embedded backend: mcamp's storage and queue ports in process, with the semantics of
//! DynamoDB and SQS that mcamp relies on (conditional writes, atomic counters, all-or-nothing
//! transactions, index queries, a change stream, visibility timeouts, redelivery, dead letters),
//! on an SQLite database file (docs/embedded-database.md says why SQLite).
//!
//! Memory stays bounded whatever the data: the rows live in the file, and each connection
//! caches a few MiB of it. Writes go through the one write connection, and whoever finds it
//! free commits everything queued up so far together (`writer`); reads run beside it on
//! pooled read-only connections (`sql`).
//! An answered write is in the database: WAL with `synchronous=NORMAL` survives the process
//! being killed at any moment, `Durability::Power` (`MCAMP_SYNC=full`) a power loss too. The
//! change stream keeps the records of the last `STREAM_RETENTION` writes, as DynamoDB Streams
//! keeps 24 hours. A JSON-lines data file of an earlier version is imported once (`import`).

mod eval;
mod import;
mod rules;
mod sql;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use mcamp_store::ports::{
    ChangeFeed, ChangeRecord, Cond, Item, JobQueue, Key, Page, Query, QueueId, Received, StoreError, StoreResult,
    Table, TableId, TxWrite, Update,
};
use rusqlite::Connection;
use tokio::sync::{Notify, oneshot};

use crate::rules::{check_transaction, single};
pub use crate::sql::Durability;
use crate::sql::db;
use crate::writer::{Job, Reply, Writer};

/// Writes whose change records `ChangeFeed::changes` keeps (both tables together).
pub const STREAM_RETENTION: usize = 100_000;

/// Idle read connections kept for the next read.
const IDLE_READERS: usize = 8;

/// The embedded backend. Cheap to share behind an `Arc`.
pub struct Embedded {
    /// Jobs waiting for the writer.
    queued: Mutex<Vec<Job>>,
    /// The write connection, held by whoever commits (only ever `try_lock`ed).
    writer: Mutex<Writer>,
    /// Stops the checkpointer when dropped.
    checkpoints: Option<mpsc::Sender<()>>,
    checkpointer: Option<JoinHandle<()>>,
    readers: Readers,
    /// The queues' clock.
    clock: sql::Clock,
    /// Wakes waiting receivers when a message may have become visible before the time they
    /// wait for: on a send (a dead-letter move included) and on `retry_later`.
    wake: Notify,
    /// Held while open, so a second process cannot open the same file.
    _lock: Option<File>,
    /// The directory of a store in a temporary file, removed after the connections close.
    _dir: Option<tempfile::TempDir>,
}

/// Read-only connections, opened as needed and kept for reuse.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn with<T>(&self, read: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => sql::open_reader(&self.path).map_err(db)?,
        };
        let out = read(&conn);
        if let Ok(mut v) = self.idle.lock()
            && v.len() < IDLE_READERS
        {
            v.push(conn);
        }
        out
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the embedded store is closed".into())
}

impl Embedded {
    /// A throwaway store in a temporary directory, removed when dropped: for tests, benches
    /// and checks that must not touch the real data.
    pub fn temporary() -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("mcamp-store-").tempdir()?;
        let path = dir.path().join("mcamp.db");
        let conn = sql::open_writer(&path, Durability::None)?;
        Embedded::start(conn, path, None, Some(dir))
    }

    /// Opens (or creates) the database at `path`, durable against the process being killed.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Embedded::open_with(path, Durability::Process)
    }

    /// Opens (or creates) the database at `path`. When it does not exist yet and a JSON-lines
    /// data file of an earlier version lies beside it (`x.jsonl` for `x.db`), that file is
    /// imported into it once and renamed `x.jsonl.imported`.
    pub fn open_with(path: &Path, durability: Durability) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // One process at a time: the CLI must not write while `make run` serves, or the two
        // would each think their writes are the only ones (counts, coupon stock).
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
        if path.exists() && import::is_jsonl(path)? {
            let db = path.with_extension("db");
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} is a JSON-lines data file of an earlier mcamp, not a database. Nothing was changed: open {} instead (`--data {}`), which imports {} once.",
                    path.display(),
                    db.display(),
                    db.display(),
                    import::legacy_path(&db).display()
                ),
            ));
        }
        let legacy = import::legacy_path(path);
        if !path.exists() && legacy != path && legacy.exists() {
            import_jsonl(&legacy, path, durability)?;
        }
        let conn = sql::open_writer(path, durability)?;
        Embedded::start(conn, path.to_owned(), Some(lock), None)
    }

    fn start(
        conn: Connection,
        path: PathBuf,
        lock: Option<File>,
        dir: Option<tempfile::TempDir>,
    ) -> std::io::Result<Self> {
        let writer = Writer::new(conn, &path)?;
        let (checkpoints, stop) = mpsc::channel();
        let at = path.clone();
        let checkpointer = std::thread::Builder::new()
            .name("mcamp-store-checkpoints".into())
            .spawn(move || sql::checkpoint_until(&at, &stop))?;
        Ok(Embedded {
            queued: Mutex::new(Vec::new()),
            writer: Mutex::new(writer),
            checkpoints: Some(checkpoints),
            checkpointer: Some(checkpointer),
            readers: Readers {
                path,
                idle: Mutex::new(Vec::new()),
            },
            clock: sql::Clock::start(),
            wake: Notify::new(),
            _lock: lock,
            _dir: dir,
        })
    }

    /// Queues a job for the writer and waits for its answer, given after its commit.
    async fn write<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> StoreResult<T> {
        let (reply, answer) = oneshot::channel();
        self.queued.lock().map_err(|_| closed())?.push(job(reply));
        self.commit_queued();
        answer.await.map_err(|_| closed())?
    }

    /// One write as a transaction of one, with a single write's error; answers with the item
    /// `read` names as it is afterwards.
    async fn write_one(&self, write: TxWrite, read: Option<(TableId, Key)>) -> StoreResult<Option<Item>> {
        let writes = vec![write];
        single(self.write(|reply| Job::Write { writes, read, reply }).await)
    }

    /// Group commit without a thread of its own: whoever finds the writer free commits every
    /// queued job, in batches, until none is left; whoever finds it busy leaves its job to the
    /// one committing. A lone write so commits at once on its own thread (no hand-over to wait
    /// for), and writes that arrive during a commit share the next one.
    fn commit_queued(&self) {
        loop {
            let mut writer = match self.writer.try_lock() {
                Ok(w) => w,
                // A panic mid-batch left it; its transaction was never committed.
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return,
            };
            loop {
                let batch: Vec<Job> = match self.queued.lock() {
                    Ok(mut q) => {
                        let n = q.len().min(writer::MAX_BATCH);
                        q.drain(..n).collect()
                    }
                    Err(_) => return,
                };
                if batch.is_empty() {
                    break;
                }
                writer.commit_batch(batch);
            }
            drop(writer);
            // A job queued after the last look found the writer still taken: take it up.
            if self.queued.lock().map_or(true, |q| q.is_empty()) {
                return;
            }
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        // Every write was answered after its commit; the checkpointer stops, and the
        // connections close with the fields (the last one folds the WAL into the file).
        drop(self.checkpoints.take());
        if let Some(h) = self.checkpointer.take() {
            let _ = h.join();
        }
    }
}

/// Imports the JSON-lines file `legacy` into a new database at `path`: built aside and moved
/// into place whole, so a failed import leaves no half database, then `legacy` is renamed.
fn import_jsonl(legacy: &Path, path: &Path, durability: Durability) -> std::io::Result<()> {
    let old = import::read(legacy)?;
    let building = path.with_extension("importing");
    for stale in ["importing", "importing-wal", "importing-shm"] {
        let _ = std::fs::remove_file(path.with_extension(stale));
    }
    {
        let mut conn = sql::open_writer(&building, durability)?;
        let io = |e: rusqlite::Error| std::io::Error::other(format!("importing {}: {e}", legacy.display()));
        if writer::is_empty(&conn).map_err(io)? {
            writer::load(
                &mut conn,
                old.rows.into_iter().map(|((table, _, _), item)| (table, item)),
                old.messages.into_values(),
            )
            .map_err(io)?;
        }
        // Closing the only connection folds the WAL into the file.
    }
    std::fs::rename(&building, path)?;
    let done = import::imported_path(legacy);
    std::fs::rename(legacy, &done)?;
    tracing::info!(from = %legacy.display(), to = %path.display(), kept = %done.display(), "imported the JSON-lines data file");
    Ok(())
}

#[async_trait]
impl Table for Embedded {
    async fn get(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
        self.readers.with(|c| sql::get(c, table, key))
    }

    async fn get_many(&self, table: TableId, keys: &[Key]) -> StoreResult<Vec<Item>> {
        if keys.len() > 100 {
            return Err(StoreError::Invalid("at most 100 keys per read".into()));
        }
        // As DynamoDB: the same key twice in one batch is refused.
        let distinct: std::collections::HashSet<&Key> = keys.iter().collect();
        if distinct.len() != keys.len() {
            return Err(StoreError::Invalid("the same key twice in one read".into()));
        }
        self.readers.with(|c| {
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                out.extend(sql::get(c, table, k)?);
            }
            Ok(out)
        })
    }

    async fn put(&self, table: TableId, item: Item, cond: Option<Cond>) -> StoreResult<()> {
        self.write_one(TxWrite::Put { table, item, cond }, None).await.map(drop)
    }

    async fn update(&self, table: TableId, key: &Key, update: Update, cond: Option<Cond>) -> StoreResult<Item> {
        let write = TxWrite::Update {
            table,
            key: key.clone(),
            update,
            cond,
        };
        self.write_one(write, Some((table, key.clone())))
            .await?
            .ok_or_else(|| StoreError::Backend("updated item vanished".into()))
    }

    async fn delete(&self, table: TableId, key: &Key, cond: Option<Cond>) -> StoreResult<()> {
        let write = TxWrite::Delete {
            table,
            key: key.clone(),
            cond,
        };
        self.write_one(write, None).await.map(drop)
    }

    async fn transact(&self, writes: Vec<TxWrite>) -> StoreResult<()> {
        check_transaction(&writes)?;
        self.write(|reply| Job::Write {
            writes,
            read: None,
            reply,
        })
        .await
        .map(drop)
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        self.readers.with(|c| sql::query(c, q))
    }

    async fn put_many(&self, table: TableId, items: Vec<Item>) -> StoreResult<()> {
        self.write(|reply| Job::PutMany { table, items, reply }).await
    }
}

#[async_trait]
impl ChangeFeed for Embedded {
    async fn changes(&self, table: TableId, after: Option<&str>, limit: usize) -> StoreResult<Vec<ChangeRecord>> {
        self.readers.with(|c| sql::changes(c, table, after, limit))
    }
}

#[async_trait]
impl JobQueue for Embedded {
    async fn send(&self, queue: QueueId, body: String) -> StoreResult<String> {
        if body.len() > 256 * 1024 {
            return Err(StoreError::Invalid("message exceeds 256 KB".into()));
        }
        let now = self.clock.now_ms();
        let id = self
            .write(|reply| Job::Send {
                queue,
                body,
                now,
                reply,
            })
            .await?;
        self.wake.notify_waiters();
        Ok(id)
    }

    async fn receive(
        &self,
        queue: QueueId,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> StoreResult<Vec<Received>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a send between the look and the wait still wakes it.
            let mut woken = pin!(self.wake.notified());
            woken.as_mut().enable();
            let max = max.clamp(1, 10);
            let now = self.clock.now_ms();
            let (got, moved) = self
                .write(|reply| Job::Receive {
                    queue,
                    max,
                    visibility,
                    now,
                    reply,
                })
                .await?;
            if moved > 0 {
                self.wake.notify_waiters();
            }
            if !got.is_empty() {
                return Ok(got);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(Vec::new());
            }
            let next_visible = self.readers.with(|c| sql::next_visible(c, queue))?;
            // Until a message becomes visible by its timeout, or one is sent or retried.
            let until = next_visible.map_or(deadline, |at| {
                let ms = u64::try_from(at.saturating_sub(self.clock.now_ms())).unwrap_or(0);
                (tokio::time::Instant::now() + Duration::from_millis(ms)).min(deadline)
            });
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    async fn ack(&self, queue: QueueId, receipt: &str) -> StoreResult<()> {
        let receipt = receipt.to_owned();
        self.write(|reply| Job::Ack { queue, receipt, reply }).await
    }

    async fn retry_later(&self, queue: QueueId, receipt: &str, delay: Duration) -> StoreResult<()> {
        let receipt = receipt.to_owned();
        let now = self.clock.now_ms();
        self.write(|reply| Job::RetryLater {
            queue,
            receipt,
            delay,
            now,
            reply,
        })
        .await?;
        self.wake.notify_waiters();
        Ok(())
    }

    async fn depth(&self, queue: QueueId) -> StoreResult<usize> {
        self.readers.with(|c| sql::depth(c, queue))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn item(v: Value) -> Item {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn a_json_lines_file_of_an_older_mcamp_is_refused_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let old =
            r#"{"put":{"table":"main","item":{"pk":"RCPT#x","sk":"PROFILE","marketing_at":"2026-01-01T00:00:00Z"}}}"#;
        std::fs::write(dir.path().join("mcamp.jsonl"), format!("{old}\n")).unwrap();
        let err = Embedded::open(&dir.path().join("mcamp.db")).err().unwrap();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("older mcamp"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("mcamp.jsonl")).unwrap(),
            format!("{old}\n"),
            "nothing changed"
        );
        assert!(!dir.path().join("mcamp.db").exists(), "no database was made");
    }

    #[tokio::test]
    async fn a_json_lines_file_is_imported_once_and_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let lines = [
            r#"{"format":{"version":2}}"#,
            r#"{"put":{"table":"main","item":{"pk":"L#a","sk":"LINK","clicks":1}}}"#,
            r#"{"put":{"table":"main","item":{"pk":"L#a","sk":"LINK","clicks":2,"gsi1pk":"C#spring","gsi1sk":"L#a"}}}"#,
            r#"{"put":{"table":"main","item":{"pk":"L#gone","sk":"LINK"}}}"#,
            r#"{"delete":{"table":"main","pk":"L#gone","sk":"LINK"}}"#,
            r#"{"put":{"table":"events","item":{"pk":"EVT#a","sk":"1","type":"click"}}}"#,
            r#"{"send":{"queue":"coupon_issue","id":"m1","body":"done"}}"#,
            r#"{"send":{"queue":"coupon_issue","id":"m2","body":"pending"}}"#,
            r#"{"gone":{"queue":"coupon_issue","id":"m1"}}"#,
            r#"{"put":{"table":"main","item":{"pk":"torn"#,
        ];
        std::fs::write(dir.path().join("mcamp.jsonl"), lines.join("\n")).unwrap();
        let path = dir.path().join("mcamp.db");
        {
            let e = Embedded::open(&path).unwrap();
            let link = e.get(TableId::Main, &Key::new("L#a", "LINK")).await.unwrap().unwrap();
            assert_eq!(link["clicks"], 2, "the last write of a row wins");
            assert!(
                e.get(TableId::Main, &Key::new("L#gone", "LINK"))
                    .await
                    .unwrap()
                    .is_none()
            );
            let by_campaign = e.query(&Query::gsi1(TableId::Main, "C#spring")).await.unwrap();
            assert_eq!(by_campaign.items.len(), 1, "the index is built");
            assert!(e.get(TableId::Events, &Key::new("EVT#a", "1")).await.unwrap().is_some());
            let jobs = e
                .receive(QueueId::CouponIssue, 10, Duration::from_secs(30), Duration::ZERO)
                .await
                .unwrap();
            assert_eq!(jobs.iter().map(|j| j.body.as_str()).collect::<Vec<_>>(), ["pending"]);
            e.put(
                TableId::Main,
                item(json!({"pk": "L#a", "sk": "LINK", "clicks": 3})),
                None,
            )
            .await
            .unwrap();
        }
        assert!(!dir.path().join("mcamp.jsonl").exists());
        assert!(
            dir.path().join("mcamp.jsonl.imported").exists(),
            "the old file is kept aside"
        );
        // Put back, it is not imported again over newer data.
        std::fs::rename(dir.path().join("mcamp.jsonl.imported"), dir.path().join("mcamp.jsonl")).unwrap();
        let again = Embedded::open(&path).unwrap();
        let link = again
            .get(TableId::Main, &Key::new("L#a", "LINK"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(link["clicks"], 3);
        drop(again);

        // Opened by its own name, the JSON-lines file is refused with the way out.
        let err = Embedded::open(&dir.path().join("mcamp.jsonl")).err().unwrap();
        assert!(err.to_string().contains("not a database"), "{err}");
        assert!(err.to_string().contains("mcamp.db"), "{err}");
    }

    #[tokio::test]
    async fn items_over_400_kb_are_refused_as_dynamodb_does() {
        let e = Embedded::temporary().unwrap();
        let Value::Object(big) = json!({"pk": "A", "sk": "1", "blob": "x".repeat(400 * 1024)}) else {
            unreachable!()
        };
        assert!(matches!(
            e.put(TableId::Main, big, None).await,
            Err(StoreError::Invalid(_))
        ));
        let Value::Object(ok) = json!({"pk": "A", "sk": "1", "blob": "x".repeat(300 * 1024)}) else {
            unreachable!()
        };
        assert!(e.put(TableId::Main, ok, None).await.is_ok());
    }

    #[tokio::test]
    async fn data_survives_a_restart_and_a_second_opener_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mcamp.db");
        {
            let e = Embedded::open(&path).unwrap();
            let Value::Object(item) = json!({"pk": "A", "sk": "1", "n": 1}) else {
                unreachable!()
            };
            e.put(TableId::Main, item, None).await.unwrap();
            e.update(TableId::Main, &Key::new("A", "1"), Update::new().add("n", 2), None)
                .await
                .unwrap();
            e.send(QueueId::CouponIssue, "job".into()).await.unwrap();
            assert!(
                Embedded::open(&path).is_err(),
                "a second process may not open the same file"
            );
        }
        let again = Embedded::open(&path).unwrap();
        let got = again.get(TableId::Main, &Key::new("A", "1")).await.unwrap().unwrap();
        assert_eq!(got["n"], 3);
        let jobs = again
            .receive(QueueId::CouponIssue, 10, Duration::from_secs(30), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1, "queued jobs survive too");
    }

    /// Receives up to 10 messages; yields them and how long the receive took.
    async fn timed_receive(
        e: &Embedded,
        queue: QueueId,
        visibility: Duration,
        wait: Duration,
    ) -> (Vec<Received>, Duration) {
        let started = tokio::time::Instant::now();
        let got = e.receive(queue, 10, visibility, wait).await.unwrap();
        (got, started.elapsed())
    }

    /// Receives on `queue` in the background, waiting up to 10 s.
    fn receive_in_background(
        e: &std::sync::Arc<Embedded>,
        queue: QueueId,
    ) -> tokio::task::JoinHandle<(Vec<Received>, Duration)> {
        let e = e.clone();
        tokio::spawn(async move { timed_receive(&e, queue, Duration::from_secs(30), Duration::from_secs(10)).await })
    }

    #[tokio::test]
    async fn a_waiting_receive_wakes_on_send_and_on_retry_later() {
        let e = std::sync::Arc::new(Embedded::temporary().unwrap());
        let waiting = receive_in_background(&e, QueueId::CouponIssue);
        tokio::time::sleep(Duration::from_millis(50)).await;
        e.send(QueueId::CouponIssue, "job".into()).await.unwrap();
        let (got, took) = waiting.await.unwrap();
        assert_eq!(got.len(), 1);
        assert!(
            took < Duration::from_secs(5),
            "woken by the send, not the wait: {took:?}"
        );

        // In flight for 30 s; retry_later makes it visible at once for a receive already waiting.
        let waiting = receive_in_background(&e, QueueId::CouponIssue);
        tokio::time::sleep(Duration::from_millis(50)).await;
        e.retry_later(QueueId::CouponIssue, &got[0].receipt, Duration::ZERO)
            .await
            .unwrap();
        let (again, took) = waiting.await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].receive_count, 2);
        assert!(took < Duration::from_secs(5), "woken by retry_later: {took:?}");
    }

    #[tokio::test]
    async fn a_waiting_receive_wakes_when_a_visibility_timeout_ends() {
        let e = Embedded::temporary().unwrap();
        e.send(QueueId::CouponIssue, "job".into()).await.unwrap();
        let first = e
            .receive(QueueId::CouponIssue, 1, Duration::from_millis(200), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        let (second, took) = timed_receive(
            &e,
            QueueId::CouponIssue,
            Duration::from_secs(30),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].receive_count, 2);
        assert!(
            took >= Duration::from_millis(150) && took < Duration::from_secs(5),
            "redelivered when the timeout ended: {took:?}"
        );
        // Nothing to wait for: an empty receive lasts its whole wait.
        let (none, took) = timed_receive(
            &e,
            QueueId::CouponIssueDlq,
            Duration::from_secs(30),
            Duration::from_millis(100),
        )
        .await;
        assert!(none.is_empty());
        assert!(took >= Duration::from_millis(100), "{took:?}");
    }

    #[tokio::test]
    async fn a_waiting_dead_letter_receive_wakes_when_a_message_moves_there() {
        let e = std::sync::Arc::new(Embedded::temporary().unwrap());
        e.send(QueueId::CouponIssue, "poison".into()).await.unwrap();
        for _ in 0..mcamp_store::ports::MAX_RECEIVE_COUNT {
            let got = e
                .receive(QueueId::CouponIssue, 1, Duration::ZERO, Duration::ZERO)
                .await
                .unwrap();
            assert_eq!(got.len(), 1);
        }
        let waiting = receive_in_background(&e, QueueId::CouponIssueDlq);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let none = e
            .receive(QueueId::CouponIssue, 1, Duration::ZERO, Duration::ZERO)
            .await
            .unwrap();
        assert!(none.is_empty(), "moved, not delivered");
        let (dead, took) = waiting.await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].body, "poison");
        assert!(took < Duration::from_secs(5), "woken by the move: {took:?}");
    }
}
