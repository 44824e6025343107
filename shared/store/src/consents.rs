//! The consent ledger (`RCPT#{id}` / `CONSENT#{at}#{seq}`): append-only. Each change is written
//! with the recipient's current consent and its `consent_changed` event, in one transaction.

use chrono::{DateTime, Utc};
use mcamp_core::consent::{ConsentChange, ConsentEntry, Purpose};
use mcamp_core::events::Event;
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{RecipientId, random_base62};
use serde_json::json;

use crate::ports::{Cond, Key, Query, TableId, TxWrite, Update};
use crate::{Db, DbResult, keys, to_item};

impl Db {
    /// Appends `change` to `r`'s ledger, updates their current consent and records the event,
    /// atomically.
    pub async fn change_consent(&self, r: &Recipient, change: &ConsentChange, at: DateTime<Utc>) -> DbResult<()> {
        let entry = change.entry(r.id.clone(), at);
        let ledger = to_item(
            &entry,
            &keys::recipient(&r.id),
            &keys::consent_sk(at.timestamp_micros(), &random_base62(6)),
        )?;
        let field = match change.purpose {
            Purpose::Privacy => "privacy_at",
            Purpose::Marketing => "marketing_at",
            Purpose::Night => "night_at",
        };
        let update = if change.granted {
            Update::new().set(field, json!(at))
        } else {
            Update::new().remove(field)
        };
        let event = Event::new(r.campaign_id.clone(), at, change.event()).by(r.into());
        self.table
            .transact(vec![
                TxWrite::Put {
                    table: TableId::Main,
                    item: ledger,
                    cond: Some(Cond::NotExists),
                },
                TxWrite::Update {
                    table: TableId::Main,
                    key: Key::new(keys::recipient(&r.id), keys::SK_PROFILE),
                    update,
                    cond: Some(Cond::Exists),
                },
                TxWrite::Put {
                    table: TableId::Events,
                    item: self.event_item(&event)?,
                    cond: None,
                },
            ])
            .await?;
        Ok(())
    }

    /// The consent ledger of a recipient, oldest first.
    pub async fn consent_ledger(&self, id: &RecipientId) -> DbResult<Vec<ConsentEntry>> {
        self.query_all(Query::partition(TableId::Main, keys::recipient(id)).prefix(keys::CONSENT_PREFIX))
            .await
    }
}
