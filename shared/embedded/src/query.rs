//! The query engine: one loop that pages through any index, the primary key or GSI1, in
//! DynamoDB's order (partition, then sort key, then whatever makes the key unique).

use std::collections::BTreeMap;

use mcamp_store::ports::{Item, Page, Query, SortKey};
use serde_json::Value;

/// A row's key in the primary index: `(pk, sk)`.
pub type PrimaryKey = (String, String);
/// A row's key in GSI1: `(gsi1pk, gsi1sk, pk, sk)`, so the index is ordered like DynamoDB's.
pub type GsiKey = (String, String, String, String);

/// The key of an index, ordered as the index is.
pub trait IndexKey: Ord + Sized {
    /// The attributes of a page's `next`, the position a query continues after.
    const PAGE_ATTRS: &'static [&'static str];
    fn partition(&self) -> &str;
    fn sort(&self) -> &str;
    /// The position in this index that `Query::after` names.
    fn after(item: &Item) -> Option<Self>;
    /// The bounds, lower inclusive and upper exclusive, that hold every key of `partition`.
    fn bounds(partition: &str) -> (Self, Self);
}

impl IndexKey for PrimaryKey {
    const PAGE_ATTRS: &'static [&'static str] = &["pk", "sk"];
    fn partition(&self) -> &str {
        &self.0
    }
    fn sort(&self) -> &str {
        &self.1
    }
    fn after(item: &Item) -> Option<Self> {
        Some((str_attr(item, "pk")?.to_owned(), str_attr(item, "sk")?.to_owned()))
    }
    fn bounds(partition: &str) -> (Self, Self) {
        (
            (partition.to_owned(), String::new()),
            (format!("{partition}\u{0}"), String::new()),
        )
    }
}

impl IndexKey for GsiKey {
    const PAGE_ATTRS: &'static [&'static str] = &["pk", "sk", "gsi1pk", "gsi1sk"];
    fn partition(&self) -> &str {
        &self.0
    }
    fn sort(&self) -> &str {
        &self.1
    }
    fn after(item: &Item) -> Option<Self> {
        Some((
            str_attr(item, "gsi1pk")?.to_owned(),
            str_attr(item, "gsi1sk")?.to_owned(),
            str_attr(item, "pk")?.to_owned(),
            str_attr(item, "sk")?.to_owned(),
        ))
    }
    fn bounds(partition: &str) -> (Self, Self) {
        (
            (partition.to_owned(), String::new(), String::new(), String::new()),
            (format!("{partition}\u{0}"), String::new(), String::new(), String::new()),
        )
    }
}

/// One page of `q` from `index`; `row` finds the item an index entry stands for (`None`
/// skips the entry).
pub fn page<'a, K: IndexKey, V>(
    q: &Query,
    index: &'a BTreeMap<K, V>,
    row: impl Fn(&'a K, &'a V) -> Option<&'a Item>,
) -> Page {
    let (lo, hi) = K::bounds(&q.partition);
    let range = index.range(lo..hi);
    if q.forward {
        collect(q, range, row)
    } else {
        collect(q, range.rev(), row)
    }
}

fn collect<'a, K: IndexKey + 'a, V: 'a>(
    q: &Query,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    row: impl Fn(&'a K, &'a V) -> Option<&'a Item>,
) -> Page {
    let limit = q.limit.unwrap_or(usize::MAX).max(1);
    let after = q.after.as_ref().and_then(K::after);
    let mut items = Vec::new();
    for (k, v) in entries {
        if k.partition() != q.partition {
            continue;
        }
        if let Some(a) = &after
            && ((q.forward && k <= a) || (!q.forward && k >= a))
        {
            continue;
        }
        if !sort_matches(&q.sort, k.sort()) {
            continue;
        }
        let Some(item) = row(k, v) else {
            continue;
        };
        if items.len() == limit {
            let next = items.last().and_then(page_key::<K>);
            return Page { items, next };
        }
        items.push(item.clone());
    }
    Page { items, next: None }
}

fn sort_matches(sort: &SortKey, sk: &str) -> bool {
    match sort {
        SortKey::Any => true,
        SortKey::Prefix(p) => sk.starts_with(p.as_str()),
        SortKey::Between(a, b) => sk >= a.as_str() && sk <= b.as_str(),
    }
}

/// The key attributes of an item that a query continues after.
fn page_key<K: IndexKey>(item: &Item) -> Option<Item> {
    let mut k = Item::new();
    for n in K::PAGE_ATTRS {
        k.insert((*n).to_owned(), item.get(*n)?.clone());
    }
    Some(k)
}

fn str_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(Value::as_str)
}
