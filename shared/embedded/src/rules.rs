//! The rules every write obeys before it reaches the database, as DynamoDB's: the shape of a
//! transaction, the error of a single write, and the item size limit.

use std::collections::HashSet;

use mcamp_store::ports::{Item, StoreError, StoreResult, TxWrite, item_size};

use crate::eval::key_of;

/// DynamoDB's item size limit, enforced alike.
const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Refuses a transaction DynamoDB would refuse before looking at the items: an empty one, one
/// over 100 writes, or one with two writes on the same item.
pub fn check_transaction(writes: &[TxWrite]) -> StoreResult<()> {
    if writes.is_empty() || writes.len() > 100 {
        return Err(StoreError::Invalid("a transaction has 1 to 100 writes".into()));
    }
    let mut keys = HashSet::new();
    for w in writes {
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
    Ok(())
}

/// The error of a single write, from that of the one-write transaction it ran as.
pub fn single<T>(result: StoreResult<T>) -> StoreResult<T> {
    match result {
        Err(StoreError::TransactionCancelled { reasons }) => match reasons.into_iter().flatten().next() {
            Some(r) if r == "ConditionalCheckFailed" => Err(StoreError::ConditionFailed),
            Some(r) => Err(StoreError::Invalid(r)),
            None => Err(StoreError::ConditionFailed),
        },
        other => other,
    }
}

pub fn checked_size(item: Item) -> StoreResult<Item> {
    let size = item_size(&item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid(format!("item of {size} bytes exceeds 400 KB")));
    }
    Ok(item)
}
