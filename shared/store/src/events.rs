//! The event log: `EV#{campaign}#{shard}` / `{at}#{event_id}` in the events table, write-sharded
//! so a blast of clicks spreads over `keys::SHARDS` partitions. Kept two years (`ttl`).

use serde_json::Value;

use mcamp_core::events::Event;
use mcamp_core::values::CampaignId;

use crate::ports::{Cond, Item, Key, Query, StoreError, TableId};
use crate::{Db, DbResult, keys, to_item};

/// How long events are kept: two years, the ad law's record-keeping horizon for consent.
pub const EVENT_TTL_DAYS: i64 = 730;

impl Db {
    /// The stored item of an event, for writing it inside a transaction with what it records.
    pub(crate) fn event_item(&self, e: &Event) -> DbResult<Item> {
        let pk = keys::events(&e.campaign_id, keys::shard_of(&e.event_id));
        let sk = keys::event_sk(e.at, &e.event_id);
        let mut item = to_item(e, &pk, &sk)?;
        item.insert(
            "ttl".into(),
            Value::from((e.at + chrono::Duration::days(EVENT_TTL_DAYS)).timestamp()),
        );
        Ok(item)
    }

    pub async fn append_event(&self, e: &Event) -> DbResult<()> {
        self.table.put(TableId::Events, self.event_item(e)?, None).await?;
        Ok(())
    }

    /// Appends an event whose id and time are deterministic (a sender's delivery result, see
    /// `mcamp_core::sends`): a put conditioned on its key not existing, so the same event
    /// written again, in a later import or a repeated webhook, records nothing. Returns false
    /// when it was there already.
    pub async fn append_event_new(&self, e: &Event) -> DbResult<bool> {
        match self
            .table
            .put(TableId::Events, self.event_item(e)?, Some(Cond::NotExists))
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether an event is stored under its key (a dry run of `append_event_new`).
    pub async fn has_event(&self, e: &Event) -> DbResult<bool> {
        let key = Key::new(
            keys::events(&e.campaign_id, keys::shard_of(&e.event_id)),
            keys::event_sk(e.at, &e.event_id),
        );
        Ok(self.table.get(TableId::Events, &key).await?.is_some())
    }

    /// Appends an event once per `once` key (a webhook's delivery id, a crawler's hour on a
    /// link): the event and a marker of the key go in one transaction, so a repeat records
    /// nothing. Returns false for a repeat.
    pub async fn append_event_once(&self, once: &str, e: &Event) -> DbResult<bool> {
        let marker = crate::object(serde_json::json!({
            "pk": keys::once(once),
            "sk": keys::SK_ONCE,
            "event_id": e.event_id,
            "ttl": (e.at + chrono::Duration::days(keys::ONCE_TTL_DAYS)).timestamp(),
        }));
        let writes = vec![
            self.put_new(marker),
            crate::ports::TxWrite::Put {
                table: TableId::Events,
                item: self.event_item(e)?,
                cond: None,
            },
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(true),
            Err(crate::ports::StoreError::TransactionCancelled { reasons })
                if reasons.first().is_some_and(Option::is_some) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every event of a campaign, oldest first. For reports at scale, read the stream's
    /// aggregates instead; this reads all shards.
    pub async fn events_of(&self, campaign: &CampaignId) -> DbResult<Vec<Event>> {
        let mut out: Vec<Event> = Vec::new();
        for shard in 0..keys::SHARDS {
            out.extend(
                self.query_all(Query::partition(TableId::Events, keys::events(campaign, shard)))
                    .await?,
            );
        }
        out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.event_id.cmp(&b.event_id)));
        Ok(out)
    }
}
