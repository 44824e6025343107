//! The embedded backend: mcamp's storage and queue ports in process, with the semantics of
//! DynamoDB and SQS that mcamp relies on (conditional writes, atomic counters, all-or-nothing
//! transactions, index queries, a change stream, visibility timeouts, redelivery, dead letters).
//!
//! Data lives in memory and, when opened on a file, every committed write is appended to that
//! file as a JSON line and replayed at the next start, so `make run` keeps its campaigns,
//! links and coupons across restarts. The file is compacted on open. A torn last line (a crash
//! mid-write) is skipped. The change stream is kept in memory for the last
//! `STREAM_RETENTION` records only, as DynamoDB Streams keeps 24 hours.

mod eval;
mod queue;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use mcamp_domain::ports::{
    ChangeKind, ChangeRecord, Cond, Index, Item, JobQueue, Key, Page, Query, QueueId, Received, SortKey, StoreError,
    StoreResult, Table, TableId, TxWrite, Update,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::eval::{apply_update, holds, key_of};
use crate::queue::Queues;

/// Change records kept for `Table::changes`.
pub const STREAM_RETENTION: usize = 100_000;
/// DynamoDB's item size limit, enforced alike.
const MAX_ITEM_BYTES: usize = 400 * 1024;

/// What a write would do: its table and key, and the row it leaves (`None` inside for a
/// delete, outer `None` for a condition check that writes nothing).
type Planned = (TableId, Key, Option<Option<Item>>);

type Rows = BTreeMap<(String, String), Item>;
/// `(gsi1pk, gsi1sk, pk, sk)`: the index is ordered like DynamoDB's.
type Gsi = BTreeMap<(String, String, String, String), ()>;

#[derive(Default)]
struct TableState {
    rows: Rows,
    gsi1: Gsi,
    changes: VecDeque<ChangeRecord>,
}

struct State {
    tables: HashMap<TableId, TableState>,
    queues: Queues,
    seq: u64,
    log: Option<BufWriter<File>>,
}

/// The embedded backend. Cheap to share behind an `Arc`.
pub struct Embedded {
    state: Mutex<State>,
    path: Option<PathBuf>,
    /// Held while open, so a second process cannot open the same file; released on drop.
    _lock: Option<File>,
}

/// One line of the data file.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LogLine {
    Put { table: TableId, item: Item },
    Delete { table: TableId, pk: String, sk: String },
    Send { queue: QueueId, id: String, body: String },
    Gone { queue: QueueId, id: String },
}

impl Embedded {
    /// In memory only: for tests.
    pub fn in_memory() -> Self {
        Embedded {
            state: Mutex::new(State::new(None)),
            path: None,
            _lock: None,
        }
    }

    /// Opens (or creates) the data file at `path`, replays it, and compacts it.
    pub fn open(path: &Path) -> std::io::Result<Self> {
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
        let mut state = State::new(None);
        let mut replayed = 0usize;
        if path.exists() {
            let reader = BufReader::new(File::open(path)?);
            for line in reader.lines() {
                let line = line?;
                // A torn or foreign line is skipped rather than refusing to start.
                let Ok(entry) = serde_json::from_str::<LogLine>(&line) else {
                    tracing::warn!(path = %path.display(), "skipping unreadable line in data file");
                    continue;
                };
                state.replay(entry);
                replayed += 1;
            }
        }
        // Compact: write the live state to a new file and swap it in.
        let tmp = path.with_extension("tmp");
        {
            let mut out = BufWriter::new(File::create(&tmp)?);
            for (table, t) in &state.tables {
                for item in t.rows.values() {
                    serde_json::to_writer(
                        &mut out,
                        &LogLine::Put {
                            table: *table,
                            item: item.clone(),
                        },
                    )?;
                    out.write_all(b"\n")?;
                }
            }
            for (queue, id, body) in state.queues.pending() {
                serde_json::to_writer(&mut out, &LogLine::Send { queue, id, body })?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
        std::fs::rename(&tmp, path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        state.log = Some(BufWriter::new(file));
        tracing::debug!(replayed, path = %path.display(), "embedded store opened");
        Ok(Embedded {
            state: Mutex::new(state),
            path: Some(path.to_owned()),
            _lock: Some(lock),
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Backend("embedded store poisoned by an earlier panic".into()))
    }
}

impl State {
    fn new(log: Option<BufWriter<File>>) -> Self {
        let mut tables = HashMap::new();
        for t in TableId::ALL {
            tables.insert(t, TableState::default());
        }
        State {
            tables,
            queues: Queues::default(),
            seq: 0,
            log,
        }
    }

    fn table(&mut self, t: TableId) -> &mut TableState {
        self.tables.entry(t).or_default()
    }

    fn replay(&mut self, entry: LogLine) {
        match entry {
            LogLine::Put { table, item } => {
                if let Some(key) = Key::of(&item) {
                    self.write_row(table, key, Some(item), false);
                }
            }
            LogLine::Delete { table, pk, sk } => self.write_row(table, Key::new(pk, sk), None, false),
            LogLine::Send { queue, id, body } => self.queues.restore(queue, id, body),
            LogLine::Gone { queue, id } => self.queues.forget(queue, &id),
        }
    }

    fn persist(&mut self, lines: &[LogLine]) -> StoreResult<()> {
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        let io = |e: std::io::Error| StoreError::Backend(format!("writing the data file: {e}"));
        for line in lines {
            serde_json::to_writer(&mut *log, line).map_err(|e| StoreError::Backend(e.to_string()))?;
            log.write_all(b"\n").map_err(io)?;
        }
        log.flush().map_err(io)
    }

    /// Replaces or removes one row, keeping the index and the stream in step.
    fn write_row(&mut self, table: TableId, key: Key, new: Option<Item>, record: bool) {
        self.seq += 1;
        let seq = self.seq;
        let t = self.table(table);
        let k = (key.pk.clone(), key.sk.clone());
        let old = match &new {
            Some(item) => t.rows.insert(k, item.clone()),
            None => t.rows.remove(&k),
        };
        if let Some(g) = old.as_ref().and_then(|o| gsi_key(o, &key)) {
            t.gsi1.remove(&g);
        }
        if let Some(g) = new.as_ref().and_then(|n| gsi_key(n, &key)) {
            t.gsi1.insert(g, ());
        }
        if !record {
            return;
        }
        let kind = match (&old, &new) {
            (None, Some(_)) => ChangeKind::Insert,
            (Some(_), Some(_)) => ChangeKind::Modify,
            (_, None) => ChangeKind::Remove,
        };
        if old.is_none() && new.is_none() {
            return;
        }
        t.changes.push_back(ChangeRecord {
            sequence: format!("{seq:020}"),
            kind,
            key,
            new_image: new,
        });
        while t.changes.len() > STREAM_RETENTION {
            t.changes.pop_front();
        }
    }

    fn current(&self, table: TableId, key: &Key) -> Option<&Item> {
        self.tables.get(&table)?.rows.get(&(key.pk.clone(), key.sk.clone()))
    }

    /// The row a write would leave, or the reason it may not happen.
    fn plan(&self, w: &TxWrite) -> Result<Planned, Option<String>> {
        let (table, key, cond) = match w {
            TxWrite::Put { table, item, cond } => {
                (*table, key_of(item).map_err(|e| Some(e.to_string()))?, cond.as_ref())
            }
            TxWrite::Update { table, key, cond, .. } | TxWrite::Delete { table, key, cond } => {
                (*table, key.clone(), cond.as_ref())
            }
            TxWrite::Check { table, key, cond } => (*table, key.clone(), Some(cond)),
        };
        let cur = self.current(table, &key);
        if let Some(c) = cond
            && !holds(c, cur)
        {
            return Err(Some("ConditionalCheckFailed".into()));
        }
        let after = match w {
            TxWrite::Put { item, .. } => Some(Some(checked_size(item.clone()).map_err(|e| Some(e.to_string()))?)),
            TxWrite::Update { update, .. } => Some(Some(
                checked_size(apply_update(cur.cloned(), &key, update).map_err(|e| Some(e.to_string()))?)
                    .map_err(|e| Some(e.to_string()))?,
            )),
            TxWrite::Delete { .. } => Some(None),
            TxWrite::Check { .. } => None,
        };
        Ok((table, key, after))
    }

    /// Checks every write, then applies all of them or none.
    fn commit(&mut self, writes: &[TxWrite]) -> StoreResult<()> {
        let mut planned = Vec::with_capacity(writes.len());
        let mut reasons = Vec::with_capacity(writes.len());
        let mut failed = false;
        for w in writes {
            match self.plan(w) {
                Ok(p) => {
                    planned.push(Some(p));
                    reasons.push(None);
                }
                Err(reason) => {
                    failed = true;
                    planned.push(None);
                    reasons.push(reason);
                }
            }
        }
        if failed {
            return Err(StoreError::TransactionCancelled { reasons });
        }
        let mut lines = Vec::new();
        // In memory only (tests, benches): no log lines to build.
        let logging = self.log.is_some();
        for (table, key, after) in planned.into_iter().flatten() {
            let Some(after) = after else { continue };
            match &after {
                _ if !logging => {}
                Some(item) => lines.push(LogLine::Put {
                    table,
                    item: item.clone(),
                }),
                None => lines.push(LogLine::Delete {
                    table,
                    pk: key.pk.clone(),
                    sk: key.sk.clone(),
                }),
            }
            self.write_row(table, key, after, true);
        }
        self.persist(&lines)
    }
}

fn gsi_key(item: &Item, key: &Key) -> Option<(String, String, String, String)> {
    let gpk = item.get("gsi1pk")?.as_str()?;
    let gsk = item.get("gsi1sk")?.as_str()?;
    Some((gpk.to_owned(), gsk.to_owned(), key.pk.clone(), key.sk.clone()))
}

/// An item's size as DynamoDB counts it (attribute names plus values: strings by UTF-8 length,
/// numbers about one byte per two digits, 3 bytes of overhead per map or list), walked without
/// serialising the item.
fn item_size(item: &Item) -> usize {
    fn value(v: &Value) -> usize {
        match v {
            Value::Null | Value::Bool(_) => 1,
            Value::Number(n) => 1 + n.to_string().len().div_ceil(2),
            Value::String(s) => s.len(),
            Value::Array(a) => 3 + a.iter().map(|x| 1 + value(x)).sum::<usize>(),
            Value::Object(m) => 3 + m.iter().map(|(k, x)| 1 + k.len() + value(x)).sum::<usize>(),
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}

fn checked_size(item: Item) -> StoreResult<Item> {
    let size = item_size(&item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid(format!("item of {size} bytes exceeds 400 KB")));
    }
    Ok(item)
}

fn single(result: StoreResult<()>) -> StoreResult<()> {
    match result {
        Err(StoreError::TransactionCancelled { reasons }) => match reasons.into_iter().flatten().next() {
            Some(r) if r == "ConditionalCheckFailed" => Err(StoreError::ConditionFailed),
            Some(r) => Err(StoreError::Invalid(r)),
            None => Err(StoreError::ConditionFailed),
        },
        other => other,
    }
}

fn sort_matches(sort: &SortKey, sk: &str) -> bool {
    match sort {
        SortKey::Any => true,
        SortKey::Prefix(p) => sk.starts_with(p.as_str()),
        SortKey::Between(a, b) => sk >= a.as_str() && sk <= b.as_str(),
    }
}

fn str_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(Value::as_str)
}

#[async_trait]
impl Table for Embedded {
    async fn get(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
        Ok(self.lock()?.current(table, key).cloned())
    }

    async fn get_many(&self, table: TableId, keys: &[Key]) -> StoreResult<Vec<Item>> {
        if keys.len() > 100 {
            return Err(StoreError::Invalid("at most 100 keys per read".into()));
        }
        let s = self.lock()?;
        Ok(keys.iter().filter_map(|k| s.current(table, k).cloned()).collect())
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
        s.current(table, key)
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
        if writes.is_empty() || writes.len() > 100 {
            return Err(StoreError::Invalid("a transaction has 1 to 100 writes".into()));
        }
        let mut keys = std::collections::HashSet::new();
        for w in &writes {
            let k = match w {
                TxWrite::Put { table, item, .. } => (*table, key_of(item)?),
                TxWrite::Update { table, key, .. }
                | TxWrite::Delete { table, key, .. }
                | TxWrite::Check { table, key, .. } => (*table, key.clone()),
            };
            if !keys.insert(k) {
                return Err(StoreError::Invalid(
                    "two writes of one transaction touch the same item".into(),
                ));
            }
        }
        self.lock()?.commit(&writes)
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        let s = self.lock()?;
        let Some(t) = s.tables.get(&q.table) else {
            return Ok(Page::default());
        };
        let limit = q.limit.unwrap_or(usize::MAX).max(1);
        let mut items = Vec::new();
        let mut next = None;
        match q.index {
            Index::Primary => {
                let lo = (q.partition.clone(), String::new());
                let hi = (format!("{}\u{0}", q.partition), String::new());
                let after = q.after.as_ref().and_then(Key::of).map(|k| (k.pk, k.sk));
                let range = t.rows.range(lo..hi);
                let iter: Box<dyn Iterator<Item = (&(String, String), &Item)>> = if q.forward {
                    Box::new(range)
                } else {
                    Box::new(range.rev())
                };
                for (k, item) in iter {
                    if k.0 != q.partition {
                        continue;
                    }
                    if let Some(a) = &after
                        && ((q.forward && k <= a) || (!q.forward && k >= a))
                    {
                        continue;
                    }
                    if !sort_matches(&q.sort, &k.1) {
                        continue;
                    }
                    if items.len() == limit {
                        next = items.last().and_then(|i: &Item| page_key(i, Index::Primary));
                        break;
                    }
                    items.push(item.clone());
                }
            }
            Index::Gsi1 => {
                let lo = (q.partition.clone(), String::new(), String::new(), String::new());
                let hi = (
                    format!("{}\u{0}", q.partition),
                    String::new(),
                    String::new(),
                    String::new(),
                );
                let after = q.after.as_ref().and_then(|a| {
                    Some((
                        str_attr(a, "gsi1pk")?.to_owned(),
                        str_attr(a, "gsi1sk")?.to_owned(),
                        str_attr(a, "pk")?.to_owned(),
                        str_attr(a, "sk")?.to_owned(),
                    ))
                });
                let range = t.gsi1.range(lo..hi);
                let iter: Box<dyn Iterator<Item = (&(String, String, String, String), &())>> = if q.forward {
                    Box::new(range)
                } else {
                    Box::new(range.rev())
                };
                for (k, _) in iter {
                    if k.0 != q.partition {
                        continue;
                    }
                    if let Some(a) = &after
                        && ((q.forward && k <= a) || (!q.forward && k >= a))
                    {
                        continue;
                    }
                    if !sort_matches(&q.sort, &k.1) {
                        continue;
                    }
                    let Some(item) = t.rows.get(&(k.2.clone(), k.3.clone())) else {
                        continue;
                    };
                    if items.len() == limit {
                        next = items.last().and_then(|i: &Item| page_key(i, Index::Gsi1));
                        break;
                    }
                    items.push(item.clone());
                }
            }
        }
        Ok(Page { items, next })
    }

    async fn put_many(&self, table: TableId, items: Vec<Item>) -> StoreResult<()> {
        let mut s = self.lock()?;
        let mut lines = Vec::with_capacity(items.len());
        for item in items {
            let key = key_of(&item)?;
            let item = checked_size(item)?;
            lines.push(LogLine::Put {
                table,
                item: item.clone(),
            });
            s.write_row(table, key, Some(item), true);
        }
        s.persist(&lines)
    }

    async fn changes(&self, table: TableId, after: Option<&str>, limit: usize) -> StoreResult<Vec<ChangeRecord>> {
        let s = self.lock()?;
        let Some(t) = s.tables.get(&table) else {
            return Ok(Vec::new());
        };
        Ok(t.changes
            .iter()
            .filter(|c| after.is_none_or(|a| c.sequence.as_str() > a))
            .take(limit)
            .cloned()
            .collect())
    }
}

/// The key attributes of an item that a query continues after.
fn page_key(item: &Item, index: Index) -> Option<Item> {
    let mut k = Item::new();
    let names: &[&str] = match index {
        Index::Primary => &["pk", "sk"],
        Index::Gsi1 => &["pk", "sk", "gsi1pk", "gsi1sk"],
    };
    for n in names {
        k.insert((*n).to_owned(), item.get(*n)?.clone());
    }
    Some(k)
}

#[async_trait]
impl JobQueue for Embedded {
    async fn send(&self, queue: QueueId, body: String) -> StoreResult<String> {
        if body.len() > 256 * 1024 {
            return Err(StoreError::Invalid("message exceeds 256 KB".into()));
        }
        let mut s = self.lock()?;
        let id = s.queues.send(queue, body.clone());
        s.persist(&[LogLine::Send {
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
            {
                let mut s = self.lock()?;
                let (got, moved) = s.queues.receive(queue, max.clamp(1, 10), visibility);
                let lines: Vec<LogLine> = moved
                    .into_iter()
                    .flat_map(|(id, dlq, new_id, body)| {
                        [
                            LogLine::Gone { queue, id },
                            LogLine::Send {
                                queue: dlq,
                                id: new_id,
                                body,
                            },
                        ]
                    })
                    .collect();
                s.persist(&lines)?;
                if !got.is_empty() {
                    return Ok(got);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(Vec::new());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn ack(&self, queue: QueueId, receipt: &str) -> StoreResult<()> {
        let mut s = self.lock()?;
        if let Some(id) = s.queues.ack(queue, receipt) {
            s.persist(&[LogLine::Gone { queue, id }])?;
        }
        Ok(())
    }

    async fn retry_later(&self, queue: QueueId, receipt: &str, delay: Duration) -> StoreResult<()> {
        self.lock()?.queues.retry_later(queue, receipt, delay);
        Ok(())
    }

    async fn depth(&self, queue: QueueId) -> StoreResult<usize> {
        Ok(self.lock()?.queues.depth(queue))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
