//! Short links: `LINK#{code}` / `LINK`. Codes are random; a conditional put catches collisions.

use chrono::{DateTime, Utc};
use mcamp_core::link::Link;
use mcamp_core::values::ShortCode;
use serde_json::json;

use crate::ports::{Cond, Item, Key, TableId, Update};
use crate::{Db, DbResult, from_item, keys, to_item};

impl Db {
    pub(crate) fn link_item(&self, l: &Link) -> DbResult<Item> {
        to_item(l, &keys::link(&l.code), keys::SK_LINK)
    }

    pub async fn link(&self, code: &ShortCode) -> DbResult<Option<Link>> {
        let key = Key::new(keys::link(code), keys::SK_LINK);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
    }

    /// Counts a human click and returns the link with its new count, in one round trip;
    /// `None` for an unknown code (nothing is created).
    pub async fn record_click(&self, code: &ShortCode, now: DateTime<Utc>) -> DbResult<Option<Link>> {
        let key = Key::new(keys::link(code), keys::SK_LINK);
        let update = Update::new()
            .add("clicks", 1)
            .set_if_missing("first_click_at", json!(now))
            .set("last_click_at", json!(now));
        match self.table.update(TableId::Main, &key, update, Some(Cond::Exists)).await {
            Ok(item) => Ok(Some(from_item(item)?)),
            Err(e) if e.is_condition() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
