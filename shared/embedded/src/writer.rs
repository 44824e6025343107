//! The one writer: the database's write connection, which runs every write (table writes and
//! queue changes) in the order queued.
//!
//! Group commit: a batch (what has queued up, at most `MAX_BATCH` jobs) runs as one SQLite
//! transaction, each job still all-or-nothing on its own (a job's conditions are checked
//! before it writes anything), is committed once, and only then is each job answered. So an
//! answer always means the write is in the database, and a burst of clicks shares one commit.

use std::path::Path;
use std::time::Duration;

use mcamp_core::values::random_base62;
use mcamp_store::ports::{
    ChangeKind, Item, Key, MAX_RECEIVE_COUNT, QueueId, Received, StoreError, StoreResult, TableId, TxWrite,
};
use rusqlite::{Connection, OptionalExtension};
use tokio::sync::oneshot;

use crate::STREAM_RETENTION;
use crate::eval::{apply_update, holds, key_of};
use crate::rules::checked_size;
use crate::sql::{self, db, encode, kind_code, queue_code, table_code, wall_ms};

/// Jobs committed together at most.
pub const MAX_BATCH: usize = 256;
/// Change records written between two trims of the stream to `STREAM_RETENTION`.
const TRIM_EVERY: u64 = 10_000;

pub type Reply<T> = oneshot::Sender<StoreResult<T>>;

/// What the writer is asked to do.
pub enum Job {
    /// A transaction (a single write is one of one); answers with the item `read` names as it
    /// is afterwards.
    Write {
        writes: Vec<TxWrite>,
        read: Option<(TableId, Key)>,
        reply: Reply<Option<Item>>,
    },
    PutMany {
        table: TableId,
        items: Vec<Item>,
        reply: Reply<()>,
    },
    Send {
        queue: QueueId,
        body: String,
        /// The queues' clock (`sql::Clock`) when sent, in ms.
        now: i64,
        reply: Reply<String>,
    },
    /// Answers with the messages received and how many moved to the dead-letter queue.
    Receive {
        queue: QueueId,
        max: usize,
        visibility: Duration,
        now: i64,
        reply: Reply<(Vec<Received>, usize)>,
    },
    Ack {
        queue: QueueId,
        receipt: String,
        reply: Reply<()>,
    },
    RetryLater {
        queue: QueueId,
        receipt: String,
        delay: Duration,
        now: i64,
        reply: Reply<()>,
    },
}

/// An answer held until its batch is committed; told the commit's outcome.
type Held = Box<dyn FnOnce(Option<&str>) + Send>;

fn hold<T: Send + 'static>(reply: Reply<T>, result: StoreResult<T>) -> Held {
    Box::new(move |failed: Option<&str>| {
        let answer = match failed {
            None => result,
            Some(why) => Err(StoreError::Backend(why.to_owned())),
        };
        // The asker may have gone away (a dropped request); nothing to tell then.
        let _ = reply.send(answer);
    })
}

/// The row a write leaves: its table and key, the item (`None` for a delete) and whether an
/// item was there before.
struct Planned {
    table: TableId,
    key: Key,
    after: Option<Item>,
    existed: bool,
}

pub struct Writer {
    conn: Connection,
    /// The last change sequence number given out.
    seq: i64,
    since_trim: u64,
}

impl Writer {
    pub fn new(conn: Connection, path: &Path) -> std::io::Result<Self> {
        let seq: Option<i64> = conn
            .query_row("SELECT max(seq) FROM changes", [], |r| r.get(0))
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        Ok(Writer {
            conn,
            seq: seq.unwrap_or(0),
            since_trim: 0,
        })
    }

    /// Runs `batch` in one transaction and answers each job after the commit.
    pub fn commit_batch(&mut self, batch: Vec<Job>) {
        let mut held: Vec<Held> = Vec::with_capacity(batch.len());
        let mut failed: Option<String> = None;
        if let Err(e) = self.conn.execute_batch("BEGIN IMMEDIATE") {
            failed = Some(db(e).to_string());
        }
        for job in batch {
            if failed.is_some() {
                held.push(refuse(job));
                continue;
            }
            match self.run_job(job) {
                Ok(h) => held.push(h),
                Err((h, e)) => {
                    held.push(h);
                    failed = Some(e.to_string());
                }
            }
        }
        if failed.is_none()
            && self.since_trim >= TRIM_EVERY
            && let Err(e) = self.trim_stream()
        {
            failed = Some(e.to_string());
        }
        if failed.is_none()
            && let Err(e) = self.conn.execute_batch("COMMIT")
        {
            failed = Some(db(e).to_string());
        }
        if let Some(why) = &failed {
            tracing::error!(error = %why, "embedded store: a batch of writes failed and was rolled back");
            // Nothing of the batch was acknowledged, so nothing of it may stay.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        for h in held {
            h(failed.as_deref());
        }
    }

    /// Runs one job inside the open transaction. A job that fails as the store says it may
    /// (a condition, an invalid item) has written nothing and answers with that; a database
    /// failure (`Err`) fails the whole batch.
    fn run_job(&mut self, job: Job) -> Result<Held, (Held, StoreError)> {
        macro_rules! answer {
            ($reply:expr, $result:expr) => {
                match $result {
                    Ok(r) => Ok(hold($reply, r)),
                    Err(e) => Err((hold($reply, Err(StoreError::Backend(String::new()))), e)),
                }
            };
        }
        match job {
            Job::Write { writes, read, reply } => answer!(reply, self.transact(&writes, read.as_ref())),
            Job::PutMany { table, items, reply } => answer!(reply, self.put_many(table, items)),
            Job::Send {
                queue,
                body,
                now,
                reply,
            } => answer!(reply, self.send(queue, &body, now).map(Ok)),
            Job::Receive {
                queue,
                max,
                visibility,
                now,
                reply,
            } => answer!(reply, self.receive(queue, max, visibility, now).map(Ok)),
            Job::Ack { queue, receipt, reply } => answer!(reply, self.ack(queue, &receipt).map(Ok)),
            Job::RetryLater {
                queue,
                receipt,
                delay,
                now,
                reply,
            } => answer!(reply, self.retry_later(queue, &receipt, delay, now).map(Ok)),
        }
    }

    fn current(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
        sql::get(&self.conn, table, key)
    }

    /// What `w` would leave, or why it may not happen (`Ok(Err(reason))`).
    fn plan(&self, w: &TxWrite) -> StoreResult<Result<Option<Planned>, String>> {
        let (table, key, cond) = match w {
            TxWrite::Put { table, item, cond } => match key_of(item) {
                Ok(key) => (*table, key, cond.as_ref()),
                Err(e) => return Ok(Err(e.to_string())),
            },
            TxWrite::Update { table, key, cond, .. } | TxWrite::Delete { table, key, cond } => {
                (*table, key.clone(), cond.as_ref())
            }
            TxWrite::Check { table, key, cond } => (*table, key.clone(), Some(cond)),
        };
        let cur = self.current(table, &key)?;
        if let Some(c) = cond
            && !holds(c, cur.as_ref())
        {
            return Ok(Err("ConditionalCheckFailed".into()));
        }
        let existed = cur.is_some();
        let after = match w {
            TxWrite::Put { item, .. } => checked_size(item.clone()).map(Some),
            TxWrite::Update { update, .. } => apply_update(cur, &key, update).and_then(checked_size).map(Some),
            TxWrite::Delete { .. } => Ok(None),
            TxWrite::Check { .. } => return Ok(Ok(None)),
        };
        Ok(match after {
            Ok(after) => Ok(Some(Planned {
                table,
                key,
                after,
                existed,
            })),
            Err(e) => Err(e.to_string()),
        })
    }

    /// Checks every write, then applies all of them or none.
    fn transact(
        &mut self,
        writes: &[TxWrite],
        read: Option<&(TableId, Key)>,
    ) -> StoreResult<StoreResult<Option<Item>>> {
        let mut planned = Vec::with_capacity(writes.len());
        let mut reasons = Vec::with_capacity(writes.len());
        let mut refused = false;
        for w in writes {
            match self.plan(w)? {
                Ok(p) => {
                    planned.push(p);
                    reasons.push(None);
                }
                Err(reason) => {
                    refused = true;
                    reasons.push(Some(reason));
                }
            }
        }
        if refused {
            return Ok(Err(StoreError::TransactionCancelled { reasons }));
        }
        let mut wanted = None;
        for p in planned.into_iter().flatten() {
            if read.is_some_and(|(t, k)| *t == p.table && *k == p.key) {
                wanted = p.after.clone();
            }
            self.write_row(p)?;
        }
        Ok(Ok(wanted))
    }

    /// Unconditional puts, one after the other; stops at the first invalid item.
    fn put_many(&mut self, table: TableId, items: Vec<Item>) -> StoreResult<StoreResult<()>> {
        for item in items {
            let key = match key_of(&item) {
                Ok(k) => k,
                Err(e) => return Ok(Err(e)),
            };
            let item = match checked_size(item) {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            let existed = self.current(table, &key)?.is_some();
            self.write_row(Planned {
                table,
                key,
                after: Some(item),
                existed,
            })?;
        }
        Ok(Ok(()))
    }

    /// Replaces or removes one row with its index entry, and records the change.
    fn write_row(&mut self, p: Planned) -> StoreResult<()> {
        let t = table_code(p.table);
        let kind = match (p.existed, &p.after) {
            (false, None) => return Ok(()),
            (false, Some(_)) => ChangeKind::Insert,
            (true, Some(_)) => ChangeKind::Modify,
            (true, None) => ChangeKind::Remove,
        };
        let bytes = match &p.after {
            Some(item) => {
                let bytes = encode(item)?;
                let gsi = |n: &str| item.get(n).and_then(|v| v.as_str());
                let (gpk, gsk) = match (gsi("gsi1pk"), gsi("gsi1sk")) {
                    (Some(a), Some(b)) => (Some(a), Some(b)),
                    _ => (None, None),
                };
                self.conn
                    .prepare_cached(
                        "INSERT INTO items(tbl, pk, sk, gpk, gsk, item) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT(tbl, pk, sk) DO UPDATE SET gpk=excluded.gpk, gsk=excluded.gsk, item=excluded.item",
                    )
                    .and_then(|mut st| st.execute((t, &p.key.pk, &p.key.sk, gpk, gsk, &bytes)))
                    .map_err(db)?;
                Some(bytes)
            }
            None => {
                self.conn
                    .prepare_cached("DELETE FROM items WHERE tbl=?1 AND pk=?2 AND sk=?3")
                    .and_then(|mut st| st.execute((t, &p.key.pk, &p.key.sk)))
                    .map_err(db)?;
                None
            }
        };
        self.seq += 1;
        self.since_trim += 1;
        self.conn
            .prepare_cached("INSERT INTO changes(tbl, seq, kind, pk, sk, image) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .and_then(|mut st| st.execute((t, self.seq, kind_code(kind), &p.key.pk, &p.key.sk, bytes)))
            .map_err(db)?;
        Ok(())
    }

    /// Keeps the change records of the last `STREAM_RETENTION` writes (DynamoDB keeps 24
    /// hours): a range delete on the key, so it costs only the records it removes.
    fn trim_stream(&mut self) -> StoreResult<()> {
        let keep_after = self
            .seq
            .saturating_sub(i64::try_from(STREAM_RETENTION).unwrap_or(i64::MAX));
        for t in TableId::ALL {
            self.conn
                .prepare_cached("DELETE FROM changes WHERE tbl=?1 AND seq<=?2")
                .and_then(|mut st| st.execute((table_code(t), keep_after)))
                .map_err(db)?;
        }
        self.since_trim = 0;
        Ok(())
    }

    fn send(&mut self, queue: QueueId, body: &str, now: i64) -> StoreResult<String> {
        let id = random_base62(22);
        self.conn
            .prepare_cached(
                "INSERT INTO messages(queue, id, body, visible_at, receive_count) VALUES (?1, ?2, ?3, ?4, 0)",
            )
            .and_then(|mut st| st.execute((queue_code(queue), &id, body, now)))
            .map_err(db)?;
        Ok(id)
    }

    /// Delivers up to `max` visible messages, oldest first; a message received
    /// `MAX_RECEIVE_COUNT` times moves to the dead-letter queue instead.
    fn receive(
        &mut self,
        queue: QueueId,
        max: usize,
        visibility: Duration,
        now: i64,
    ) -> StoreResult<(Vec<Received>, usize)> {
        let visible_until = now.saturating_add(i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX));
        let candidates: Vec<(i64, String, String, u32)> = {
            let mut st = self
                .conn
                .prepare_cached(
                    "SELECT seq, id, body, receive_count FROM messages
                     WHERE queue=?1 AND visible_at<=?2 ORDER BY seq LIMIT ?3",
                )
                .map_err(db)?;
            // Dead letters do not count toward `max`; look a little further.
            let rows = st
                .query_map((queue_code(queue), now, i64::try_from(max + 64).unwrap_or(64)), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)?
        };
        let mut got = Vec::new();
        let mut moved = 0;
        for (seq, id, body, count) in candidates {
            if got.len() == max {
                break;
            }
            if count >= MAX_RECEIVE_COUNT
                && let Some(dlq) = queue.dead_letter()
            {
                self.conn
                    .prepare_cached("DELETE FROM messages WHERE seq=?1")
                    .and_then(|mut st| st.execute([seq]))
                    .map_err(db)?;
                self.send(dlq, &body, now)?;
                moved += 1;
                continue;
            }
            let receipt = format!("{id}:{}", random_base62(16));
            self.conn
                .prepare_cached("UPDATE messages SET receive_count=?2, visible_at=?3, receipt=?4 WHERE seq=?1")
                .and_then(|mut st| st.execute((seq, count + 1, visible_until, &receipt)))
                .map_err(db)?;
            got.push(Received {
                message_id: id,
                receipt,
                body,
                receive_count: count + 1,
            });
        }
        Ok((got, moved))
    }

    /// Deletes the message whose latest receipt this is (an older receipt does nothing).
    fn ack(&mut self, queue: QueueId, receipt: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached("DELETE FROM messages WHERE queue=?1 AND receipt=?2")
            .and_then(|mut st| st.execute((queue_code(queue), receipt)))
            .map_err(db)?;
        Ok(())
    }

    fn retry_later(&mut self, queue: QueueId, receipt: &str, delay: Duration, now: i64) -> StoreResult<()> {
        let at = now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        self.conn
            .prepare_cached("UPDATE messages SET visible_at=?3 WHERE queue=?1 AND receipt=?2")
            .and_then(|mut st| st.execute((queue_code(queue), receipt, at)))
            .map_err(db)?;
        Ok(())
    }
}

/// The answer to a job of a batch that already failed.
fn refuse(job: Job) -> Held {
    fn why<T>() -> StoreResult<T> {
        // Replaced by the batch's failure when the answer is given.
        Err(StoreError::Backend(String::new()))
    }
    match job {
        Job::Write { reply, .. } => hold(reply, why()),
        Job::PutMany { reply, .. } => hold(reply, why()),
        Job::Send { reply, .. } => hold(reply, why()),
        Job::Receive { reply, .. } => hold(reply, why()),
        Job::Ack { reply, .. } => hold(reply, why()),
        Job::RetryLater { reply, .. } => hold(reply, why()),
    }
}

/// Loads rows and messages as they are, without change records: the one-time import of a
/// JSON-lines data file.
pub fn load(
    conn: &mut Connection,
    rows: impl Iterator<Item = (TableId, Item)>,
    messages: impl Iterator<Item = (QueueId, String, String)>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut put =
            tx.prepare("INSERT OR REPLACE INTO items(tbl, pk, sk, gpk, gsk, item) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for (table, item) in rows {
            let Some(key) = Key::of(&item) else { continue };
            let s = |n: &str| item.get(n).and_then(|v| v.as_str()).map(str::to_owned);
            let (gpk, gsk) = match (s("gsi1pk"), s("gsi1sk")) {
                (Some(a), Some(b)) => (Some(a), Some(b)),
                _ => (None, None),
            };
            let bytes = serde_json::to_vec(&item).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
            put.execute((table_code(table), key.pk, key.sk, gpk, gsk, bytes))?;
        }
        let mut send =
            tx.prepare("INSERT INTO messages(queue, id, body, visible_at, receive_count) VALUES (?1, ?2, ?3, ?4, 0)")?;
        for (queue, id, body) in messages {
            send.execute((queue_code(queue), id, body, wall_ms()))?;
        }
    }
    tx.commit()
}

/// Whether the database already holds anything (an import never overwrites).
pub fn is_empty(conn: &Connection) -> rusqlite::Result<bool> {
    let any: Option<i64> = conn
        .query_row("SELECT 1 FROM items LIMIT 1", [], |r| r.get(0))
        .optional()?;
    Ok(any.is_none())
}
