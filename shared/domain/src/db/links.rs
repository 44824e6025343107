//! Short links: `LINK#{code}` / `LINK`. Codes are random; a conditional put catches collisions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Db, DbResult, from_item, keys, to_item};
use crate::ports::{Cond, Item, Key, TableId, Update};
use crate::values::{CampaignId, RecipientId, ShortCode, StoreId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A recipient's own link (from the SMS, or minted for a visitor).
    Personal,
    /// A recipient's share link: visitors arriving through it are credited to them.
    Share,
    /// A store's permanent MCS poster link: each scanning customer becomes a new visitor.
    Store,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub code: ShortCode,
    pub campaign_id: CampaignId,
    /// The owner: the recipient for a personal link, the sharer for a share link; none for a
    /// store link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<RecipientId>,
    /// The store of a store link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<StoreId>,
    pub kind: LinkKind,
    /// For a visitor's personal link: who shared to them. Copied here at mint so a click
    /// needs no profile read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_id: Option<RecipientId>,
    /// Head of the owner's share chain; absent when the owner is the head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_head: Option<RecipientId>,
    pub created_at: DateTime<Utc>,
    /// Human clicks, counted atomically.
    #[serde(default)]
    pub clicks: u64,
}

impl Link {
    /// The personal link of `r`, unclicked; `store_id` for a store visitor.
    pub fn personal(r: &super::recipients::Recipient, store_id: Option<StoreId>) -> Link {
        Link {
            code: r.code.clone(),
            campaign_id: r.campaign_id.clone(),
            recipient_id: Some(r.id.clone()),
            store_id,
            kind: LinkKind::Personal,
            referrer_id: None,
            chain_head: None,
            created_at: r.created_at,
            clicks: 0,
        }
    }
}

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
