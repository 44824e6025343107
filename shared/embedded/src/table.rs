//! The tables in memory: rows, the GSI1 index and the change stream kept in step, and
//! transactions planned in full before any write is applied.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use mcamp_store::ports::{
    ChangeKind, ChangeRecord, Index, Item, Key, Page, Query, StoreError, StoreResult, TableId, TxWrite,
};
use serde_json::Value;

use crate::STREAM_RETENTION;
use crate::eval::{apply_update, holds, key_of};
use crate::query::{self, GsiKey, PrimaryKey};

/// DynamoDB's item size limit, enforced alike.
const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Told of every row a write leaves, before it is applied: the table, the key, and the item
/// (`None` for a delete). The store appends it to the data file.
pub type OnWrite<'a> = dyn FnMut(TableId, &Key, Option<&Item>) + 'a;

/// What a write would do: its table and key, and the row it leaves (`None` inside for a
/// delete, outer `None` for a condition check that writes nothing).
type Planned = (TableId, Key, Option<Option<Item>>);

#[derive(Default)]
struct TableState {
    rows: BTreeMap<PrimaryKey, Item>,
    gsi1: BTreeMap<GsiKey, ()>,
    changes: VecDeque<ChangeRecord>,
}

pub struct Tables {
    tables: HashMap<TableId, TableState>,
    /// The last change sequence number given out.
    seq: u64,
}

impl Default for Tables {
    fn default() -> Self {
        let mut tables = HashMap::new();
        for t in TableId::ALL {
            tables.insert(t, TableState::default());
        }
        Tables { tables, seq: 0 }
    }
}

impl Tables {
    fn table(&mut self, t: TableId) -> &mut TableState {
        self.tables.entry(t).or_default()
    }

    /// Every row of every table, for compacting the data file.
    pub fn rows(&self) -> impl Iterator<Item = (TableId, &Item)> {
        self.tables
            .iter()
            .flat_map(|(table, t)| t.rows.values().map(|item| (*table, item)))
    }

    /// Replaces or removes one row, keeping the index and, when `record`, the stream in step.
    pub fn write_row(&mut self, table: TableId, key: Key, new: Option<Item>, record: bool) {
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

    pub fn current(&self, table: TableId, key: &Key) -> Option<&Item> {
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
    pub fn commit(&mut self, writes: &[TxWrite], on_write: &mut OnWrite<'_>) -> StoreResult<()> {
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
        for (table, key, after) in planned.into_iter().flatten() {
            let Some(after) = after else { continue };
            on_write(table, &key, after.as_ref());
            self.write_row(table, key, after, true);
        }
        Ok(())
    }

    /// Unconditional puts, one after the other; stops at the first invalid item.
    pub fn put_many(&mut self, table: TableId, items: Vec<Item>, on_write: &mut OnWrite<'_>) -> StoreResult<()> {
        for item in items {
            let key = key_of(&item)?;
            let item = checked_size(item)?;
            on_write(table, &key, Some(&item));
            self.write_row(table, key, Some(item), true);
        }
        Ok(())
    }

    pub fn query(&self, q: &Query) -> Page {
        let Some(t) = self.tables.get(&q.table) else {
            return Page::default();
        };
        match q.index {
            Index::Primary => query::page(q, &t.rows, |_, item| Some(item)),
            Index::Gsi1 => query::page(q, &t.gsi1, |k, ()| t.rows.get(&(k.2.clone(), k.3.clone()))),
        }
    }

    /// Change records after `after` (exclusive), oldest first, at most `limit`.
    pub fn changes(&self, table: TableId, after: Option<&str>, limit: usize) -> Vec<ChangeRecord> {
        let Some(t) = self.tables.get(&table) else {
            return Vec::new();
        };
        t.changes
            .iter()
            .filter(|c| after.is_none_or(|a| c.sequence.as_str() > a))
            .take(limit)
            .cloned()
            .collect()
    }
}

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
pub fn single(result: StoreResult<()>) -> StoreResult<()> {
    match result {
        Err(StoreError::TransactionCancelled { reasons }) => match reasons.into_iter().flatten().next() {
            Some(r) if r == "ConditionalCheckFailed" => Err(StoreError::ConditionFailed),
            Some(r) => Err(StoreError::Invalid(r)),
            None => Err(StoreError::ConditionFailed),
        },
        other => other,
    }
}

fn gsi_key(item: &Item, key: &Key) -> Option<GsiKey> {
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
