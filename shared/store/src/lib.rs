//! mcamp's storage: the ports a backend implements (`ports`), the key layout (`keys`), and the
//! repository `Db` with every read and transaction mcamp makes over them. Both backends store
//! exactly the same items, because they are built here once.

pub mod aggregate;
pub mod audit;
pub mod campaigns;
pub mod claims;
pub mod coupons;
pub mod customers;
pub mod events;
pub mod follow_ups;
pub mod issue;
pub mod keys;
pub mod links;
mod mint;
pub mod offers;
pub mod ports;
pub mod privacy;
pub mod recipients;
pub mod redeem;
pub mod segments;
pub mod shares;
pub mod stores;
pub mod surveys;
pub mod users;
pub mod view_links;

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ports::{Item, Query, StoreError, Table};

/// The limits that keep a flood from costing anything: past one, a request is refused before
/// anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Limit {
    /// New visitors one share link brings in (`share.max_visitors`).
    #[error("visitors of this share link")]
    ShareVisitors,
    /// New visitors one network (source IP, an IPv6 /64) mints in a campaign per hour
    /// (`share.visitors_per_network_hour`).
    #[error("new visitors from this network this hour")]
    NetworkVisitors,
    /// Redemptions one store key makes per minute.
    #[error("redemptions of this store this minute")]
    StoreRedemptions,
}

/// Why a data operation failed, beyond the storage error itself.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("storage")]
    Store(#[from] StoreError),
    /// A stored item no longer reads as its type: a bug or a hand edit, never user input, and
    /// never transient (a job that meets one is dead-lettered, not retried).
    #[error("corrupt item {key}")]
    Corrupt {
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A limit that protects the campaign was reached: refused, and nothing written. Not
    /// transient.
    #[error("limit reached: {0}")]
    LimitReached(Limit),
    /// Every freshly minted code collided with a live one (1 in 62^10 per attempt).
    #[error("could not mint a unique code")]
    MintExhausted,
}

impl DbError {
    pub(crate) fn corrupt(key: impl Into<String>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        DbError::Corrupt {
            key: key.into(),
            source: source.into(),
        }
    }

    /// Worth retrying: a storage hiccup, throttling, a conflict. A corrupt item or a missing
    /// one will be the same on the next try.
    pub fn is_transient(&self) -> bool {
        matches!(self, DbError::Store(_) | DbError::MintExhausted)
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// An error and its causes, `outer: inner: innermost`, for one log line, a dead-letter reason
/// or a message to the person running a command.
pub fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// mcamp's data. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    table: Arc<dyn Table>,
}

impl Db {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Db { table }
    }

    /// A transaction a person is waiting for, retried briefly (20, 40, 80 ms apart) when it
    /// was cancelled by a conflicting one or throttled: DynamoDB cancels all but one of
    /// transactions on one item at the same moment (an aggregate, a network's window), and
    /// neither writes anything. Any other outcome is returned as it is.
    pub(crate) async fn transact_briefly(&self, writes: Vec<ports::TxWrite>) -> Result<(), StoreError> {
        const RETRIES: u32 = 3;
        let mut attempt = 0;
        loop {
            match self.table.transact(writes.clone()).await {
                Err(StoreError::Throttled(_)) if attempt < RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// Every item a query matches, page after page, read as `T`.
    pub(crate) async fn query_all<T: DeserializeOwned>(&self, mut q: Query) -> DbResult<Vec<T>> {
        let mut out = Vec::new();
        loop {
            let page = self.table.query(&q).await?;
            for i in page.items {
                out.push(from_item(i)?);
            }
            match page.next {
                Some(n) => q.after = Some(n),
                None => return Ok(out),
            }
        }
    }
}

/// A value as an item with its keys.
pub(crate) fn to_item<T: Serialize>(value: &T, pk: &str, sk: &str) -> DbResult<Item> {
    let mut item = match serde_json::to_value(value).map_err(|e| DbError::corrupt(pk, e))? {
        Value::Object(m) => m,
        // Every stored type is a struct: only a programming error gets here.
        _ => return Err(DbError::corrupt(pk, "not an object")),
    };
    item.insert("pk".into(), Value::String(pk.to_owned()));
    item.insert("sk".into(), Value::String(sk.to_owned()));
    Ok(item)
}

/// An item read back as a value; the key attributes and unknown ones are ignored.
pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> DbResult<T> {
    let key = item.get("pk").and_then(Value::as_str).unwrap_or("?").to_owned();
    serde_json::from_value(Value::Object(item)).map_err(|e| DbError::corrupt(key, e))
}

/// An item built from a JSON literal (`json!({...})` of an object).
pub(crate) fn object(v: Value) -> Item {
    match v {
        Value::Object(m) => m,
        _ => Item::new(),
    }
}
