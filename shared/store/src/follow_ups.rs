//! Follow-up records (`FU#{campaign}#{follow-up}#{customer}` / `FOLLOWUP`, listed in GSI1 under
//! `CAMP#{campaign}#FU#{follow-up}#{shard}`): who a follow-up chose, by which step, and whether
//! their job went out. One per customer, put only if absent, so a follow-up reaches a
//! customer once however often it runs and whichever of their recipients it met first.

use chrono::{DateTime, Utc};
use mcamp_core::customer::CustomerKey;
use mcamp_core::follow_up::{Channel, FollowUpId};
use mcamp_core::values::{CampaignId, RecipientId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ports::{Cond, Key, Query, StoreError, TableId, Update};
use crate::{Db, DbResult, from_item, keys, to_item};

/// Where a follow-up's job to one customer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkerState {
    /// Chosen; the job may not have reached the queue (the next run sends it again, with the
    /// same `job_id`).
    Queued,
    /// The job is on the queue.
    Sent,
}

/// One customer's record of one follow-up, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpMarker {
    pub campaign_id: CampaignId,
    pub follow_up_id: FollowUpId,
    pub customer: CustomerKey,
    /// The recipient the job is for.
    pub recipient_id: RecipientId,
    /// 1-based.
    pub step: u32,
    pub channel: Channel,
    pub job_id: String,
    pub state: MarkerState,
    pub not_before: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
}

impl FollowUpMarker {
    fn key(&self) -> Key {
        Key::new(
            keys::follow_up_marker(&self.campaign_id, &self.follow_up_id, &self.customer),
            keys::SK_FOLLOW_UP,
        )
    }
}

impl Db {
    /// Records `m` unless its customer has a record of this follow-up already; returns that
    /// record then (`None` when `m` is new).
    pub async fn mark_follow_up(&self, m: &FollowUpMarker) -> DbResult<Option<FollowUpMarker>> {
        let k = m.key();
        let mut item = to_item(m, &k.pk, &k.sk)?;
        let shard = keys::shard_of(m.customer.as_str());
        item.insert(
            "gsi1pk".into(),
            Value::String(keys::follow_up_markers(&m.campaign_id, &m.follow_up_id, shard)),
        );
        item.insert("gsi1sk".into(), Value::String(m.recipient_id.to_string()));
        match self.table.put(TableId::Main, item, Some(Cond::NotExists)).await {
            Ok(()) => Ok(None),
            Err(StoreError::ConditionFailed) => match self.table.get(TableId::Main, &k).await? {
                Some(found) => Ok(Some(from_item(found)?)),
                // Gone between the two calls (never deleted today): treat as new next run.
                None => Ok(Some(m.clone())),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The records of follow-up `f` that `customers` have already, by customer: batched reads
    /// of 100, so an hourly run skips, without a write, those it reached before.
    pub async fn follow_up_markers_of(
        &self,
        campaign: &CampaignId,
        f: &FollowUpId,
        customers: &[CustomerKey],
    ) -> DbResult<std::collections::HashMap<CustomerKey, FollowUpMarker>> {
        let mut out = std::collections::HashMap::new();
        // A batch read refuses a key twice, and two recipients may be one customer.
        let unique: Vec<&CustomerKey> = customers
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for chunk in unique.chunks(100) {
            let wanted: Vec<Key> = chunk
                .iter()
                .map(|c| Key::new(keys::follow_up_marker(campaign, f, c), keys::SK_FOLLOW_UP))
                .collect();
            for item in self.table.get_many(TableId::Main, &wanted).await? {
                let m: FollowUpMarker = from_item(item)?;
                out.insert(m.customer.clone(), m);
            }
        }
        Ok(out)
    }

    /// Notes that the job of `m` is on the queue.
    pub async fn follow_up_sent(&self, m: &FollowUpMarker, at: DateTime<Utc>) -> DbResult<()> {
        let update = Update::new()
            .set("state", serde_json::to_value(MarkerState::Sent).unwrap_or_default())
            .set("sent_at", serde_json::to_value(at).unwrap_or_default());
        self.table
            .update(TableId::Main, &m.key(), update, Some(Cond::Exists))
            .await?;
        Ok(())
    }

    /// Every record of a follow-up.
    pub async fn follow_up_markers(&self, campaign: &CampaignId, f: &FollowUpId) -> DbResult<Vec<FollowUpMarker>> {
        let mut out = Vec::new();
        for shard in 0..keys::SHARDS {
            let q = Query::gsi1(TableId::Main, keys::follow_up_markers(campaign, f, shard));
            out.extend(self.query_all::<FollowUpMarker>(q).await?);
        }
        Ok(out)
    }
}
