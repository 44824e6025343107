//! Conditions and updates, evaluated as DynamoDB evaluates them.

use std::cmp::Ordering;

use mcamp_store::ports::{Cond, Item, Key, StoreError, Update};
use serde_json::Value;

pub fn key_of(item: &Item) -> Result<Key, StoreError> {
    Key::of(item).ok_or_else(|| StoreError::Invalid("item needs string attributes pk and sk".into()))
}

fn number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// Whether `cond` holds for the current item (`None` when absent).
pub fn holds(cond: &Cond, item: Option<&Item>) -> bool {
    match cond {
        Cond::NotExists => item.is_none(),
        Cond::Exists => item.is_some(),
        Cond::AttrMissing(a) => item.is_none_or(|i| !i.contains_key(a)),
        Cond::Eq(a, v) => item.and_then(|i| i.get(a)).is_some_and(|x| equal(x, v)),
        Cond::Ge(a, n) => item.and_then(|i| i.get(a)).and_then(number).is_some_and(|x| x >= *n),
        Cond::Lt(a, n) => item.and_then(|i| i.get(a)).and_then(number).is_some_and(|x| x < *n),
        Cond::LtAttr(a, b) => item
            .and_then(|i| Some((number(i.get(a)?)?, number(i.get(b)?)?)))
            .is_some_and(|(x, y)| x < y),
        Cond::And(cs) => cs.iter().all(|c| holds(c, item)),
        Cond::Or(cs) => cs.iter().any(|c| holds(c, item)),
    }
}

/// Equality as DynamoDB has it: numbers compare by value (1 == 1.0).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .zip(y.as_f64())
            .is_some_and(|(x, y)| x.partial_cmp(&y) == Some(Ordering::Equal)),
        _ => a == b,
    }
}

/// The item after `update`; an absent item starts as just its key.
pub fn apply_update(current: Option<Item>, key: &Key, update: &Update) -> Result<Item, StoreError> {
    let mut item = current.unwrap_or_else(|| {
        let mut i = Item::new();
        i.insert("pk".into(), Value::String(key.pk.clone()));
        i.insert("sk".into(), Value::String(key.sk.clone()));
        i
    });
    for (a, _) in update.set.iter().chain(update.set_if_missing.iter()) {
        if a == "pk" || a == "sk" {
            return Err(StoreError::Invalid("an update may not change the key".into()));
        }
    }
    for (a, v) in &update.set {
        item.insert(a.clone(), v.clone());
    }
    for (a, v) in &update.set_if_missing {
        item.entry(a.clone()).or_insert_with(|| v.clone());
    }
    for (a, by) in &update.add {
        let now = match item.get(a) {
            None => 0,
            Some(v) => number(v).ok_or_else(|| StoreError::Invalid(format!("ADD on non-number attribute {a}")))?,
        };
        item.insert(a.clone(), Value::from(now + by));
    }
    for a in &update.remove {
        item.remove(a);
    }
    Ok(item)
}
