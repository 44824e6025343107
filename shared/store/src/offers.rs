//! The learning offer: the counts it learns from, read from the aggregator's counters, and a
//! person's offer, picked once and kept on their profile with its `coupon_offered` event.

use chrono::{DateTime, Utc};
use mcamp_core::analytics::{Counters, bandit_counts};
use mcamp_core::campaign::Campaign;
use mcamp_core::coupon::OfferMark;
use mcamp_core::events::{Event, EventData};
use mcamp_core::experiment::{BanditCounts, Segment, offer};
use mcamp_core::recipient::Recipient;
use rand::RngCore;
use serde_json::json;

use crate::aggregate::add_counter_item;
use crate::ports::{Cond, Item, Key, Query, StoreError, TableId, TxWrite, Update};
use crate::{Db, DbError, DbResult, keys};

impl Db {
    /// The learning offer's counts of a campaign: its offer scopes in every counter shard.
    pub async fn offer_counts(&self, c: &mcamp_core::values::CampaignId) -> DbResult<BanditCounts> {
        let shards =
            futures::future::try_join_all((0..keys::STAT_SHARDS).map(|shard| {
                self.query_all::<Item>(Query::partition(TableId::Main, keys::stats(c, shard)).prefix("O#"))
            }))
            .await?;
        let mut counters = Counters::default();
        for item in shards.into_iter().flatten() {
            add_counter_item(&mut counters, &item);
        }
        Ok(bandit_counts(&counters))
    }

    /// `r`'s offer: the one they have, or one picked now from `counts` (Thompson sampling in
    /// their segment, the baseline in the holdout) and kept with its event, in one transaction
    /// that only a person without an offer passes. Two first views at once keep one offer.
    /// `None` when the campaign has no learning offer.
    pub async fn offer_for(
        &self,
        campaign: &Campaign,
        r: &Recipient,
        counts: &BanditCounts,
        rng: &mut (dyn RngCore + Send),
        now: DateTime<Utc>,
    ) -> DbResult<Option<OfferMark>> {
        if let Some(o) = &r.offer {
            return Ok(Some(o.clone()));
        }
        let offered = campaign.offered_coupons();
        let coupons: Vec<&str> = offered.iter().map(|c| c.as_str()).collect();
        let segment = Segment::new(r.gender, r.age_band);
        let arms = counts.arms(&segment, &coupons);
        let Some(picked) = offer(
            &campaign.offer_salt(),
            r.id.as_str(),
            campaign.offer_holdout(),
            &arms,
            rng,
        ) else {
            return Ok(None);
        };
        let Some(coupon) = offered.into_iter().find(|c| c.as_str() == picked.variant) else {
            return Ok(None);
        };
        let mark = OfferMark {
            coupon_id: coupon.clone(),
            segment,
            holdout: picked.holdout,
            at: now,
        };
        let event = Event::new(
            campaign.id.clone(),
            now,
            EventData::CouponOffered {
                coupon_id: coupon.clone(),
                segment,
                holdout: picked.holdout,
            },
        )
        .by(r.into());
        let writes = vec![
            TxWrite::Update {
                table: TableId::Main,
                key: Key::new(keys::recipient(&r.id), keys::SK_PROFILE),
                update: Update::new().set("offer", json!(mark)),
                cond: Some(Cond::And(vec![Cond::Exists, Cond::AttrMissing("offer".into())])),
            },
            TxWrite::Put {
                table: TableId::Events,
                item: self.event_item(&event)?,
                cond: None,
            },
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(Some(mark)),
            // Someone else's first view got there first: theirs is the offer.
            Err(StoreError::TransactionCancelled { .. }) => {
                let stored = self.recipient(&r.id).await?.ok_or(DbError::NotFound("recipient"))?;
                Ok(stored.offer)
            }
            Err(e) => Err(e.into()),
        }
    }
}
