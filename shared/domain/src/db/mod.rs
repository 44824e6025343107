//! Typed access to mcamp's data over the `Table` port. The key layout lives here once
//! (see `keys`), so both backends store exactly the same items.

pub mod campaigns;
pub mod coupons;
pub mod events;
pub mod keys;
pub mod links;
pub mod recipients;
pub mod surveys;

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ports::{Item, StoreError, Table};

/// Why a data operation failed, beyond the storage error itself.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored item no longer reads as its type: a bug or a hand edit, never user input.
    #[error("corrupt item {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
}

pub type DbResult<T> = Result<T, DbError>;

/// mcamp's data. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pub table: Arc<dyn Table>,
}

impl Db {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Db { table }
    }
}

impl Db {
    /// Every item a query matches, page after page, read as `T`.
    pub(crate) async fn query_all<T: DeserializeOwned>(&self, mut q: crate::ports::Query) -> DbResult<Vec<T>> {
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

/// A domain value as an item with its keys.
pub(crate) fn to_item<T: Serialize>(value: &T, pk: &str, sk: &str) -> DbResult<Item> {
    let mut item = match serde_json::to_value(value) {
        Ok(Value::Object(m)) => m,
        Ok(_) => {
            return Err(DbError::Corrupt {
                key: pk.to_owned(),
                reason: "not an object".into(),
            });
        }
        Err(e) => {
            return Err(DbError::Corrupt {
                key: pk.to_owned(),
                reason: e.to_string(),
            });
        }
    };
    item.insert("pk".into(), Value::String(pk.to_owned()));
    item.insert("sk".into(), Value::String(sk.to_owned()));
    Ok(item)
}

/// An item read back as a domain value; the key attributes and unknown ones are ignored.
pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> DbResult<T> {
    let key = item.get("pk").and_then(Value::as_str).unwrap_or("?").to_owned();
    serde_json::from_value(Value::Object(item)).map_err(|e| DbError::Corrupt {
        key,
        reason: e.to_string(),
    })
}
