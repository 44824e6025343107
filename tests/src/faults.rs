//! Faults injected into the ports, deterministically from a seed: what real DynamoDB and SQS do
//! under load (transaction conflicts, throttling, timeouts whose write may have landed, lost
//! sends), so that the suites prove the code survives them rather than hope it does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcamp_store::ports::{
    Cond, Item, JobQueue, Key, Page, Query, QueueId, Received, StoreError, StoreResult, Table, TableId, TxWrite, Update,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How often each fault happens, per call (0.0 to 1.0).
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// A transaction cancelled for a conflicting one (DynamoDB's `TransactionConflict`, which
    /// the adapter reports as `Throttled`); nothing written.
    pub conflict: f64,
    /// `ProvisionedThroughputExceeded` on any call, read or write; nothing written.
    pub throttle: f64,
    /// A write that lands but whose answer is lost (a timeout): the caller sees an error,
    /// the store has the write.
    pub timeout: f64,
    /// Only calls on this table fail (all tables when `None`).
    pub only: Option<TableId>,
}

/// What a `FaultyTable` injected.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub conflicts: AtomicUsize,
    pub throttles: AtomicUsize,
    pub timeouts: AtomicUsize,
}

impl FaultCounts {
    /// (conflicts, throttles, timeouts) so far.
    pub fn get(&self) -> (usize, usize, usize) {
        (
            self.conflicts.load(Ordering::SeqCst),
            self.throttles.load(Ordering::SeqCst),
            self.timeouts.load(Ordering::SeqCst),
        )
    }
}

/// A `Table` that injects `Faults` in front of a real backend.
pub struct FaultyTable {
    inner: Arc<dyn Table>,
    faults: Faults,
    rng: std::sync::Mutex<StdRng>,
    pub counts: FaultCounts,
}

enum Fault {
    Conflict,
    Throttle,
    Timeout,
}

impl FaultyTable {
    pub fn new(inner: Arc<dyn Table>, faults: Faults, seed: u64) -> Self {
        FaultyTable {
            inner,
            faults,
            rng: std::sync::Mutex::new(StdRng::seed_from_u64(seed)),
            counts: FaultCounts::default(),
        }
    }

    fn roll(&self, p: f64) -> bool {
        p > 0.0 && self.rng.lock().map(|mut r| r.gen_bool(p.min(1.0))).unwrap_or(false)
    }

    fn applies(&self, tables: &[TableId]) -> bool {
        self.faults.only.is_none_or(|t| tables.contains(&t))
    }

    /// The fault this call meets, if any (`transaction` makes conflicts possible).
    fn pick(&self, tables: &[TableId], write: bool, transaction: bool) -> Option<Fault> {
        if !self.applies(tables) {
            return None;
        }
        if transaction && self.roll(self.faults.conflict) {
            self.counts.conflicts.fetch_add(1, Ordering::SeqCst);
            return Some(Fault::Conflict);
        }
        if self.roll(self.faults.throttle) {
            self.counts.throttles.fetch_add(1, Ordering::SeqCst);
            return Some(Fault::Throttle);
        }
        if write && self.roll(self.faults.timeout) {
            self.counts.timeouts.fetch_add(1, Ordering::SeqCst);
            return Some(Fault::Timeout);
        }
        None
    }

    /// Runs `call` unless a fault stops it first; a timeout runs it and loses the answer.
    async fn with<T>(
        &self,
        fault: Option<Fault>,
        call: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        match fault {
            None => call.await,
            Some(Fault::Conflict) => Err(StoreError::Throttled("TransactionConflict (injected)".into())),
            Some(Fault::Throttle) => Err(StoreError::Throttled("ProvisionedThroughputExceeded (injected)".into())),
            Some(Fault::Timeout) => {
                let _landed = call.await;
                Err(StoreError::Backend(
                    "timeout, the write may have landed (injected)".into(),
                ))
            }
        }
    }
}

fn tx_table(w: &TxWrite) -> TableId {
    match w {
        TxWrite::Put { table, .. }
        | TxWrite::Update { table, .. }
        | TxWrite::Delete { table, .. }
        | TxWrite::Check { table, .. } => *table,
    }
}

#[async_trait::async_trait]
impl Table for FaultyTable {
    async fn get(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
        self.with(self.pick(&[table], false, false), self.inner.get(table, key))
            .await
    }
    async fn get_many(&self, table: TableId, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.with(self.pick(&[table], false, false), self.inner.get_many(table, keys))
            .await
    }
    async fn put(&self, table: TableId, item: Item, cond: Option<Cond>) -> StoreResult<()> {
        self.with(self.pick(&[table], true, false), self.inner.put(table, item, cond))
            .await
    }
    async fn update(&self, table: TableId, key: &Key, update: Update, cond: Option<Cond>) -> StoreResult<Item> {
        self.with(
            self.pick(&[table], true, false),
            self.inner.update(table, key, update, cond),
        )
        .await
    }
    async fn delete(&self, table: TableId, key: &Key, cond: Option<Cond>) -> StoreResult<()> {
        self.with(self.pick(&[table], true, false), self.inner.delete(table, key, cond))
            .await
    }
    async fn transact(&self, writes: Vec<TxWrite>) -> StoreResult<()> {
        let tables: Vec<TableId> = writes.iter().map(tx_table).collect();
        self.with(self.pick(&tables, true, true), self.inner.transact(writes))
            .await
    }
    async fn query(&self, query: &Query) -> StoreResult<Page> {
        self.with(self.pick(&[query.table], false, false), self.inner.query(query))
            .await
    }
    async fn put_many(&self, table: TableId, items: Vec<Item>) -> StoreResult<()> {
        self.with(self.pick(&[table], true, false), self.inner.put_many(table, items))
            .await
    }
}

/// A `JobQueue` that fails sends at a given rate, deterministically from a seed: the faults of
/// a real SQS (a send that times out or is throttled) injected into a test.
pub struct FlakyQueue {
    inner: Arc<dyn JobQueue>,
    rate: f64,
    rng: std::sync::Mutex<StdRng>,
    failed: AtomicUsize,
}

impl FlakyQueue {
    pub fn new(inner: Arc<dyn JobQueue>, rate: f64, seed: u64) -> Self {
        FlakyQueue {
            inner,
            rate,
            rng: std::sync::Mutex::new(StdRng::seed_from_u64(seed)),
            failed: AtomicUsize::new(0),
        }
    }
    /// Sends failed so far.
    pub fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }
    fn fails(&self) -> bool {
        self.rng.lock().map(|mut r| r.gen_bool(self.rate)).unwrap_or(false)
    }
}

#[async_trait::async_trait]
impl JobQueue for FlakyQueue {
    async fn send(&self, queue: QueueId, body: String) -> StoreResult<String> {
        if self.fails() {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Throttled("injected send failure".into()));
        }
        self.inner.send(queue, body).await
    }
    async fn receive(
        &self,
        queue: QueueId,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> StoreResult<Vec<Received>> {
        self.inner.receive(queue, max, visibility, wait).await
    }
    async fn ack(&self, queue: QueueId, receipt: &str) -> StoreResult<()> {
        self.inner.ack(queue, receipt).await
    }
    async fn retry_later(&self, queue: QueueId, receipt: &str, delay: Duration) -> StoreResult<()> {
        self.inner.retry_later(queue, receipt, delay).await
    }
    async fn depth(&self, queue: QueueId) -> StoreResult<usize> {
        self.inner.depth(queue).await
    }
}

/// Records what each function does to the stores, as IAM actions on the resources of
/// template.yaml (`dynamodb:GetItem MainTable`, `dynamodb:Query MainTable/index/gsi1`,
/// `sqs:SendMessage CouponIssueQueue`), under the name of the function running (set by the
/// test before each call): what least privilege must allow.
#[derive(Default)]
pub struct Recorder {
    function: std::sync::Mutex<String>,
    seen: std::sync::Mutex<std::collections::BTreeMap<String, std::collections::BTreeSet<String>>>,
}

impl Recorder {
    /// Attributes what follows to `function` (a template logical id such as `PageFunction`).
    pub fn now_running(&self, function: &str) {
        if let Ok(mut f) = self.function.lock() {
            *f = function.to_owned();
        }
    }
    /// What each function did.
    pub fn seen(&self) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
    fn note(&self, action: &str, resource: &str) {
        let f = self.function.lock().map(|f| f.clone()).unwrap_or_default();
        if let Ok(mut s) = self.seen.lock() {
            s.entry(f).or_default().insert(format!("{action} {resource}"));
        }
    }
    fn table(t: TableId) -> &'static str {
        match t {
            TableId::Main => "MainTable",
            TableId::Events => "EventsTable",
        }
    }
    fn queue(q: QueueId) -> &'static str {
        match q {
            QueueId::CouponIssue => "CouponIssueQueue",
            QueueId::CouponIssueDlq => "CouponIssueDlq",
            QueueId::SendMessage => "SendMessageQueue",
            QueueId::SendMessageDlq => "SendMessageDlq",
        }
    }
}

/// A `Table` that tells a `Recorder` each call, then makes it.
pub struct RecordingTable {
    pub inner: Arc<dyn Table>,
    pub recorder: Arc<Recorder>,
}

#[async_trait::async_trait]
impl Table for RecordingTable {
    async fn get(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
        self.recorder.note("dynamodb:GetItem", Recorder::table(table));
        self.inner.get(table, key).await
    }
    async fn get_many(&self, table: TableId, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.recorder.note("dynamodb:BatchGetItem", Recorder::table(table));
        self.inner.get_many(table, keys).await
    }
    async fn put(&self, table: TableId, item: Item, cond: Option<Cond>) -> StoreResult<()> {
        self.recorder.note("dynamodb:PutItem", Recorder::table(table));
        self.inner.put(table, item, cond).await
    }
    async fn update(&self, table: TableId, key: &Key, update: Update, cond: Option<Cond>) -> StoreResult<Item> {
        self.recorder.note("dynamodb:UpdateItem", Recorder::table(table));
        self.inner.update(table, key, update, cond).await
    }
    async fn delete(&self, table: TableId, key: &Key, cond: Option<Cond>) -> StoreResult<()> {
        self.recorder.note("dynamodb:DeleteItem", Recorder::table(table));
        self.inner.delete(table, key, cond).await
    }
    async fn transact(&self, writes: Vec<TxWrite>) -> StoreResult<()> {
        // A transaction is authorised write by write, by the single-item actions.
        for w in &writes {
            let action = match w {
                TxWrite::Put { .. } => "dynamodb:PutItem",
                TxWrite::Update { .. } => "dynamodb:UpdateItem",
                TxWrite::Delete { .. } => "dynamodb:DeleteItem",
                TxWrite::Check { .. } => "dynamodb:ConditionCheckItem",
            };
            self.recorder.note(action, Recorder::table(tx_table(w)));
        }
        self.inner.transact(writes).await
    }
    async fn query(&self, query: &Query) -> StoreResult<Page> {
        let resource = match query.index {
            mcamp_store::ports::Index::Primary => Recorder::table(query.table).to_owned(),
            mcamp_store::ports::Index::Gsi1 => format!("{}/index/gsi1", Recorder::table(query.table)),
        };
        self.recorder.note("dynamodb:Query", &resource);
        self.inner.query(query).await
    }
    async fn put_many(&self, table: TableId, items: Vec<Item>) -> StoreResult<()> {
        self.recorder.note("dynamodb:BatchWriteItem", Recorder::table(table));
        self.inner.put_many(table, items).await
    }
}

/// A `JobQueue` that tells a `Recorder` each call, then makes it.
pub struct RecordingQueue {
    pub inner: Arc<dyn JobQueue>,
    pub recorder: Arc<Recorder>,
}

#[async_trait::async_trait]
impl JobQueue for RecordingQueue {
    async fn send(&self, queue: QueueId, body: String) -> StoreResult<String> {
        self.recorder.note("sqs:SendMessage", Recorder::queue(queue));
        self.inner.send(queue, body).await
    }
    async fn receive(
        &self,
        queue: QueueId,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> StoreResult<Vec<Received>> {
        self.recorder.note("sqs:ReceiveMessage", Recorder::queue(queue));
        self.inner.receive(queue, max, visibility, wait).await
    }
    async fn ack(&self, queue: QueueId, receipt: &str) -> StoreResult<()> {
        self.recorder.note("sqs:DeleteMessage", Recorder::queue(queue));
        self.inner.ack(queue, receipt).await
    }
    async fn retry_later(&self, queue: QueueId, receipt: &str, delay: Duration) -> StoreResult<()> {
        self.recorder
            .note("sqs:ChangeMessageVisibility", Recorder::queue(queue));
        self.inner.retry_later(queue, receipt, delay).await
    }
    async fn depth(&self, queue: QueueId) -> StoreResult<usize> {
        self.recorder.note("sqs:GetQueueAttributes", Recorder::queue(queue));
        self.inner.depth(queue).await
    }
}
