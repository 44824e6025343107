//! Ports: what mcamp needs from storage and queues, with no AWS types.
//!
//! Two adapters implement them: `mcamp-aws` (DynamoDB, SQS; DynamoDB Streams behind its
//! `streams` feature) and `mcamp-embedded` (in process, persisted to a local file). One
//! contract suite (`tests/it/contract.rs`) proves the two behave alike.
//!
//! Items are JSON objects; the DynamoDB adapter maps them with `serde_dynamo`.
//! Key attributes are always `pk` and `sk` (strings); the one global secondary
//! index is `gsi1` over `gsi1pk`/`gsi1sk`. Expiry is the number attribute `ttl`.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

/// One stored item: a JSON object whose `pk` and `sk` are strings.
pub type Item = Map<String, Value>;

/// An item's size as DynamoDB counts it, for the item shapes `serde_dynamo` writes: the UTF-8
/// length of every attribute name plus its value's size (a string its UTF-8 length, a number 1
/// byte plus 1 per two significant digits, a boolean or null 1 byte, a map or list 3 bytes plus
/// 1 per element plus the elements), walked without serialising the item. The 400 KB limit
/// and capacity units are counted on it.
pub fn item_size(item: &Item) -> usize {
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

/// The tables mcamp uses. Each adapter maps them to real names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableId {
    /// Campaigns, recipients, links, coupons, consent ledger, aggregates.
    Main,
    /// The append-only event log; its stream is the downstream contract.
    Events,
}

impl TableId {
    pub const ALL: [TableId; 2] = [TableId::Main, TableId::Events];
    pub fn as_str(self) -> &'static str {
        match self {
            TableId::Main => "main",
            TableId::Events => "events",
        }
    }
}

/// The queues mcamp uses; each has a dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueId {
    /// Coupon-issue jobs (docs/events.md, `coupon_issue`).
    CouponIssue,
    /// Where coupon-issue jobs go after `max_receive_count` failed receives.
    CouponIssueDlq,
    /// Send-message jobs of the follow-ups, for the brand's sender adapter (docs/events.md,
    /// `send_message`).
    SendMessage,
    /// Where send-message jobs go: refused by a consumer (with the reason), or after
    /// `max_receive_count` failed receives.
    SendMessageDlq,
}

impl QueueId {
    pub const ALL: [QueueId; 4] = [
        QueueId::CouponIssue,
        QueueId::CouponIssueDlq,
        QueueId::SendMessage,
        QueueId::SendMessageDlq,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            QueueId::CouponIssue => "coupon-issue",
            QueueId::CouponIssueDlq => "coupon-issue-dlq",
            QueueId::SendMessage => "send-message",
            QueueId::SendMessageDlq => "send-message-dlq",
        }
    }
    /// The dead-letter queue of this queue, if it has one.
    pub fn dead_letter(self) -> Option<QueueId> {
        match self {
            QueueId::CouponIssue => Some(QueueId::CouponIssueDlq),
            QueueId::SendMessage => Some(QueueId::SendMessageDlq),
            QueueId::CouponIssueDlq | QueueId::SendMessageDlq => None,
        }
    }
}

/// Receives after which a message moves to the dead-letter queue (SQS `maxReceiveCount`).
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// Primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
    /// The key of an item, if it carries string `pk` and `sk`.
    pub fn of(item: &Item) -> Option<Key> {
        Some(Key::new(item.get("pk")?.as_str()?, item.get("sk")?.as_str()?))
    }
}

/// A condition on the current item, checked atomically with a write.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The item does not exist (`attribute_not_exists(pk)`).
    NotExists,
    /// The item exists (`attribute_exists(pk)`).
    Exists,
    /// Attribute absent from the item.
    AttrMissing(String),
    /// `attr = value`.
    Eq(String, Value),
    /// `attr >= value` (numbers).
    Ge(String, i64),
    /// `attr < value` (numbers).
    Lt(String, i64),
    /// `a < b`, two number attributes of the same item.
    LtAttr(String, String),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

/// An in-place update: `SET`, `ADD`, `REMOVE` on one item (created if absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub set: Vec<(String, Value)>,
    /// Set only where the attribute is missing (`if_not_exists`).
    pub set_if_missing: Vec<(String, Value)>,
    /// Atomic add to a number attribute (missing counts as 0).
    pub add: Vec<(String, i64)>,
    pub remove: Vec<String>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(mut self, attr: &str, value: impl Into<Value>) -> Self {
        self.set.push((attr.to_owned(), value.into()));
        self
    }
    pub fn set_if_missing(mut self, attr: &str, value: impl Into<Value>) -> Self {
        self.set_if_missing.push((attr.to_owned(), value.into()));
        self
    }
    pub fn add(mut self, attr: &str, by: i64) -> Self {
        self.add.push((attr.to_owned(), by));
        self
    }
    pub fn remove(mut self, attr: &str) -> Self {
        self.remove.push(attr.to_owned());
        self
    }
}

/// One write of a transaction. All succeed or none is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum TxWrite {
    Put {
        table: TableId,
        item: Item,
        cond: Option<Cond>,
    },
    Update {
        table: TableId,
        key: Key,
        update: Update,
        cond: Option<Cond>,
    },
    Delete {
        table: TableId,
        key: Key,
        cond: Option<Cond>,
    },
    Check {
        table: TableId,
        key: Key,
        cond: Cond,
    },
}

/// Which key a query runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Primary,
    /// `gsi1pk` / `gsi1sk`, projecting all attributes.
    Gsi1,
}

/// Condition on the sort key of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Any,
    Prefix(String),
    /// Inclusive on both ends.
    Between(String, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub table: TableId,
    pub index: Index,
    pub partition: String,
    pub sort: SortKey,
    /// Largest page to return; the adapter may return fewer.
    pub limit: Option<usize>,
    /// Ascending by sort key when true.
    pub forward: bool,
    /// Continue after this key (from the previous page's `next`).
    pub after: Option<Item>,
}

impl Query {
    pub fn partition(table: TableId, pk: impl Into<String>) -> Self {
        Query {
            table,
            index: Index::Primary,
            partition: pk.into(),
            sort: SortKey::Any,
            limit: None,
            forward: true,
            after: None,
        }
    }
    pub fn gsi1(table: TableId, pk: impl Into<String>) -> Self {
        Query {
            index: Index::Gsi1,
            ..Query::partition(table, pk)
        }
    }
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sort = SortKey::Prefix(prefix.into());
        self
    }
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Pass as `Query::after` to read the next page; `None` at the end.
    pub next: Option<Item>,
}

/// A change to a table, as downstream consumers see it on the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    /// Ordered within the table (DynamoDB sequence number or the embedded log position).
    pub sequence: String,
    pub kind: ChangeKind,
    pub key: Key,
    pub new_image: Option<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's condition did not hold; nothing was written.
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled as a whole; `reasons[i]` is `Some` for each write whose
    /// condition failed (by position), `None` for the others.
    #[error("transaction cancelled")]
    TransactionCancelled { reasons: Vec<Option<String>> },
    /// The item does not fit the store (too large, bad key).
    #[error("invalid item: {0}")]
    Invalid(String),
    /// The backend is overloaded; retry with backoff.
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("storage backend: {0}")]
    Backend(String),
}

impl StoreError {
    /// True for the failure of a conditional write (single or in a transaction).
    pub fn is_condition(&self) -> bool {
        matches!(
            self,
            StoreError::ConditionFailed | StoreError::TransactionCancelled { .. }
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Key-value storage with conditional writes, atomic counters, transactions and index queries.
#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>>;
    /// Reads up to 100 keys; missing keys are absent from the result.
    async fn get_many(&self, table: TableId, keys: &[Key]) -> StoreResult<Vec<Item>>;
    async fn put(&self, table: TableId, item: Item, cond: Option<Cond>) -> StoreResult<()>;
    /// Applies `update` atomically and returns the item as it is afterwards.
    async fn update(&self, table: TableId, key: &Key, update: Update, cond: Option<Cond>) -> StoreResult<Item>;
    async fn delete(&self, table: TableId, key: &Key, cond: Option<Cond>) -> StoreResult<()>;
    /// All-or-nothing, up to 100 writes, no two on the same item.
    async fn transact(&self, writes: Vec<TxWrite>) -> StoreResult<()>;
    async fn query(&self, query: &Query) -> StoreResult<Page>;
    /// Unconditional bulk put; the adapter retries unprocessed items with backoff.
    async fn put_many(&self, table: TableId, items: Vec<Item>) -> StoreResult<()>;
}

/// A table's change stream read in process: the embedded backend offers it to the local
/// gateway and the tests. In AWS the stream feeds Lambda through an event source mapping, so
/// no function links a Streams client (the AWS adapter reads it only with its `streams`
/// feature, for the tests).
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Change records after `after` (exclusive), oldest first, at most `limit`.
    async fn changes(&self, table: TableId, after: Option<&str>, limit: usize) -> StoreResult<Vec<ChangeRecord>>;
}

/// One received queue message.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub message_id: String,
    /// Pass to `ack` / `retry_later`; valid until the visibility timeout ends.
    pub receipt: String,
    pub body: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

/// At-least-once message queue with visibility timeout, redelivery and a dead-letter queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Returns the message id.
    async fn send(&self, queue: QueueId, body: String) -> StoreResult<String>;
    /// Up to `max` (1..=10) messages, each hidden for `visibility` after receipt. Waits at
    /// most `wait` for the first one.
    async fn receive(
        &self,
        queue: QueueId,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> StoreResult<Vec<Received>>;
    /// Deletes a processed message.
    async fn ack(&self, queue: QueueId, receipt: &str) -> StoreResult<()>;
    /// Makes a message visible again after `delay`.
    async fn retry_later(&self, queue: QueueId, receipt: &str, delay: Duration) -> StoreResult<()>;
    /// Approximate number of visible plus in-flight messages.
    async fn depth(&self, queue: QueueId) -> StoreResult<usize>;
}
