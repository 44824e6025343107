//! Segment memberships (`RCPT#{recipient}` / `SEG#{segment}`, listed in GSI1 under
//! `CAMP#{campaign}#SEG#{segment}#{shard}`): who a segment run found. Put only if absent, so
//! runs repeat without writing twice; a member stays a member (the coupon once offered is not
//! taken back because the person's journey moved on).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use mcamp_core::values::{CampaignId, RecipientId, SegmentId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ports::{Cond, Key, Query, StoreError, TableId};
use crate::{Db, DbResult, from_item, keys, to_item};

/// One person's membership of a segment, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub campaign_id: CampaignId,
    pub segment: SegmentId,
    pub recipient_id: RecipientId,
    /// The run that found them.
    pub at: DateTime<Utc>,
}

impl Db {
    /// Makes `recipient` a member of the campaign's `segment`; false when they already were.
    pub async fn add_segment_member(&self, m: &Membership) -> DbResult<bool> {
        let mut item = to_item(
            m,
            &keys::recipient(&m.recipient_id),
            &keys::segment_member_sk(&m.segment),
        )?;
        let shard = keys::shard_of(m.recipient_id.as_str());
        item.insert(
            "gsi1pk".into(),
            Value::String(keys::segment_members(&m.campaign_id, &m.segment, shard)),
        );
        item.insert("gsi1sk".into(), Value::String(m.recipient_id.to_string()));
        match self.table.put(TableId::Main, item, Some(Cond::NotExists)).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Which of `people` are members of `segment` already: batched reads of 100, so a
    /// scheduled run writes only the new members.
    pub async fn segment_members_among(
        &self,
        segment: &SegmentId,
        people: &[RecipientId],
    ) -> DbResult<std::collections::HashSet<RecipientId>> {
        let mut out = std::collections::HashSet::new();
        for chunk in people.chunks(100) {
            let wanted: Vec<Key> = chunk
                .iter()
                .map(|r| Key::new(keys::recipient(r), keys::segment_member_sk(segment)))
                .collect();
            for item in self.table.get_many(TableId::Main, &wanted).await? {
                let m: Membership = from_item(item)?;
                out.insert(m.recipient_id);
            }
        }
        Ok(out)
    }

    /// The segments `recipient` is a member of (in their own campaign).
    pub async fn segments_of(&self, recipient: &RecipientId) -> DbResult<BTreeSet<SegmentId>> {
        let q = Query::partition(TableId::Main, keys::recipient(recipient)).prefix(keys::SEGMENT_MEMBER_PREFIX);
        let found: Vec<Membership> = self.query_all(q).await?;
        Ok(found.into_iter().map(|m| m.segment).collect())
    }

    /// Every member of a segment.
    pub async fn segment_members(&self, campaign: &CampaignId, segment: &SegmentId) -> DbResult<Vec<Membership>> {
        let mut out = Vec::new();
        for shard in 0..keys::SHARDS {
            let q = Query::gsi1(TableId::Main, keys::segment_members(campaign, segment, shard));
            out.extend(self.query_all::<Membership>(q).await?);
        }
        Ok(out)
    }
}
