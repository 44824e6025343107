//! The embedded backend: mcamp's storage and queue ports in process, with the semantics of
//! DynamoDB and SQS that mcamp relies on (conditional writes, atomic counters, all-or-nothing
//! transactions, index queries, a change stream, visibility timeouts, redelivery, dead letters).
//!
//! Data lives in memory and, when opened on a file, every committed write is appended to that
//! file as a JSON line and replayed at the next start, so `make run` keeps its campaigns,
//! links and coupons across restarts. The file is compacted on open. A torn last line (a crash
//! mid-write) is skipped. The change stream is kept in memory for the last
//! `STREAM_RETENTION` records only, as DynamoDB Streams keeps 24 hours.
//!
//! `log` is the data file, `table` the tables (rows, index, stream, transactions), `query`
//! the query engine, `eval` conditions and updates, `queue` the queues. This file ties them
//! together behind the ports.

mod eval;
mod log;
mod query;
mod queue;
mod table;

use std::path::Path;
use std::pin::pin;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use mcamp_store::ports::{
    ChangeFeed, ChangeRecord, Cond, Item, JobQueue, Key, Page, Query, QueueId, Received, StoreError, StoreResult,
    Table, TableId, TxWrite, Update,
};
use tokio::sync::Notify;

use crate::log::{Log, LogLine};
use crate::queue::Queues;
use crate::table::{OnWrite, Tables, check_transaction, single};

/// Change records kept for `Table::changes`.
pub const STREAM_RETENTION: usize = 100_000;

/// The embedded backend. Cheap to share behind an `Arc`.
pub struct Embedded {
    state: Mutex<State>,
    /// Wakes waiting receivers when a message may have become visible before the time they
    /// wait for: on a send (a dead-letter move included) and on `retry_later`.
    wake: Notify,
}

struct State {
    tables: Tables,
    queues: Queues,
    log: Log,
}

impl Embedded {
    /// In memory only: for tests.
    pub fn in_memory() -> Self {
        Embedded::with(Tables::default(), Queues::default(), Log::none())
    }

    /// Opens (or creates) the data file at `path`, replays it, and compacts it.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let (log, tables, queues) = Log::open(path)?;
        Ok(Embedded::with(tables, queues, log))
    }

    fn with(tables: Tables, queues: Queues, log: Log) -> Self {
        Embedded {
            state: Mutex::new(State { tables, queues, log }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Backend("embedded store poisoned by an earlier panic".into()))
    }
}

impl State {
    /// Runs `write` on the tables and appends every row it leaves to the data file.
    fn logged(&mut self, write: impl FnOnce(&mut Tables, &mut OnWrite<'_>) -> StoreResult<()>) -> StoreResult<()> {
        // In memory only (tests, benches): no log lines to build.
        let logging = self.log.is_on();
        let mut lines = Vec::new();
        write(&mut self.tables, &mut |table, key, item| {
            if logging {
                lines.push(LogLine::row(table, key, item));
            }
        })?;
        self.log.persist(&lines)
    }

    /// Checks every write, then applies all of them or none, and appends them to the data file.
    fn commit(&mut self, writes: &[TxWrite]) -> StoreResult<()> {
        self.logged(|tables, on_write| tables.commit(writes, on_write))
    }
}

#[async_trait]
impl Table for Embedded {
    async fn get(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
        Ok(self.lock()?.tables.current(table, key).cloned())
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
        let s = self.lock()?;
        Ok(keys
            .iter()
            .filter_map(|k| s.tables.current(table, k).cloned())
            .collect())
    }

    async fn put(&self, table: TableId, item: Item, cond: Option<Cond>) -> StoreResult<()> {
        single(self.lock()?.commit(&[TxWrite::Put { table, item, cond }]))
    }

    async fn update(&self, table: TableId, key: &Key, update: Update, cond: Option<Cond>) -> StoreResult<Item> {
        let mut s = self.lock()?;
        single(s.commit(&[TxWrite::Update {
            table,
            key: key.clone(),
            update,
            cond,
        }]))?;
        s.tables
            .current(table, key)
            .cloned()
            .ok_or_else(|| StoreError::Backend("updated item vanished".into()))
    }

    async fn delete(&self, table: TableId, key: &Key, cond: Option<Cond>) -> StoreResult<()> {
        single(self.lock()?.commit(&[TxWrite::Delete {
            table,
            key: key.clone(),
            cond,
        }]))
    }

    async fn transact(&self, writes: Vec<TxWrite>) -> StoreResult<()> {
        check_transaction(&writes)?;
        self.lock()?.commit(&writes)
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        Ok(self.lock()?.tables.query(q))
    }

    async fn put_many(&self, table: TableId, items: Vec<Item>) -> StoreResult<()> {
        self.lock()?
            .logged(|tables, on_write| tables.put_many(table, items, on_write))
    }
}

#[async_trait]
impl ChangeFeed for Embedded {
    async fn changes(&self, table: TableId, after: Option<&str>, limit: usize) -> StoreResult<Vec<ChangeRecord>> {
        Ok(self.lock()?.tables.changes(table, after, limit))
    }
}

#[async_trait]
impl JobQueue for Embedded {
    async fn send(&self, queue: QueueId, body: String) -> StoreResult<String> {
        if body.len() > 256 * 1024 {
            return Err(StoreError::Invalid("message exceeds 256 KB".into()));
        }
        let mut s = self.lock()?;
        let id = s.queues.send(queue, body.clone());
        self.wake.notify_waiters();
        s.log.persist(&[LogLine::Send {
            queue,
            id: id.clone(),
            body,
        }])?;
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
            let next_visible = {
                let mut s = self.lock()?;
                let (got, moved) = s.queues.receive(queue, max.clamp(1, 10), visibility);
                if !moved.is_empty() {
                    self.wake.notify_waiters();
                }
                let lines: Vec<LogLine> = moved
                    .into_iter()
                    .flat_map(|m| LogLine::dead_lettered(queue, m))
                    .collect();
                s.log.persist(&lines)?;
                if !got.is_empty() {
                    return Ok(got);
                }
                s.queues.next_visible(queue)
            };
            if tokio::time::Instant::now() >= deadline {
                return Ok(Vec::new());
            }
            // Until a message becomes visible by its timeout, or one is sent or retried.
            let until = next_visible.map_or(deadline, |at| at.min(deadline));
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    async fn ack(&self, queue: QueueId, receipt: &str) -> StoreResult<()> {
        let mut s = self.lock()?;
        if let Some(id) = s.queues.ack(queue, receipt) {
            s.log.persist(&[LogLine::Gone { queue, id }])?;
        }
        Ok(())
    }

    async fn retry_later(&self, queue: QueueId, receipt: &str, delay: Duration) -> StoreResult<()> {
        self.lock()?.queues.retry_later(queue, receipt, delay);
        self.wake.notify_waiters();
        Ok(())
    }

    async fn depth(&self, queue: QueueId) -> StoreResult<usize> {
        Ok(self.lock()?.queues.depth(queue))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn a_data_file_of_an_older_mcamp_is_refused_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.jsonl");
        let old =
            r#"{"put":{"table":"main","item":{"pk":"RCPT#x","sk":"PROFILE","marketing_at":"2026-01-01T00:00:00Z"}}}"#;
        std::fs::write(&path, format!("{old}\n")).unwrap();
        let err = Embedded::open(&path).err().unwrap();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("older mcamp"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{old}\n"),
            "nothing changed"
        );
        // A new file starts with its format and opens again.
        let fresh = dir.path().join("new.jsonl");
        drop(Embedded::open(&fresh).unwrap());
        assert!(
            std::fs::read_to_string(&fresh)
                .unwrap()
                .starts_with(r#"{"format":{"version":2}}"#)
        );
        assert!(Embedded::open(&fresh).is_ok());
    }

    #[tokio::test]
    async fn items_over_400_kb_are_refused_as_dynamodb_does() {
        let e = Embedded::in_memory();
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
        let path = dir.path().join("mcamp.jsonl");
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
        let e = std::sync::Arc::new(Embedded::in_memory());
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
        let e = Embedded::in_memory();
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
        let e = std::sync::Arc::new(Embedded::in_memory());
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
