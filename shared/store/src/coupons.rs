//! Coupon items: claims (`RCPT#{id}` / `CLAIM#{coupon}#{slot}`) and per-person issue records
//! (`ISSUED#…`) on the recipient, issued coupons by code (`COUPON#{code}`), stock counters and
//! imported code pools. The transactions that move them are in `claims`, `issue` and `redeem`.

use chrono::{DateTime, Utc};
use mcamp_core::coupon::{ClaimRecord, ClaimStatus, IssuedCoupon};
use mcamp_core::values::{CampaignId, CouponCode, CouponId, RecipientId, random_base62};
use serde_json::Value;

use crate::ports::{Cond, Item, Key, Query, SortKey, TableId};
use crate::{Db, DbError, DbResult, from_item, keys, to_item};

pub(crate) fn claim_key(r: &RecipientId, c: &CouponId, slot: u32) -> Key {
    let (pk, sk) = keys::claim(r, c, slot);
    Key::new(pk, sk)
}

pub(crate) fn issued_key(r: &RecipientId, c: &CouponId, slot: u32) -> Key {
    let (pk, sk) = keys::issued_record(r, c, slot);
    Key::new(pk, sk)
}

impl Db {
    pub(crate) fn claim_item(&self, c: &ClaimRecord) -> DbResult<Item> {
        let k = claim_key(&c.recipient_id, &c.coupon_id, c.slot);
        let mut item = to_item(c, &k.pk, &k.sk)?;
        if c.status == ClaimStatus::Pending {
            // Listed while pending, so a claim whose job was lost is found and sent again.
            item.insert(
                "gsi1pk".into(),
                Value::String(keys::pending_claims(keys::shard_of(&c.claim_id))),
            );
            item.insert(
                "gsi1sk".into(),
                Value::String(keys::pending_claim_sk(c.claimed_at, &c.claim_id)),
            );
        }
        Ok(item)
    }

    /// Claims still pending that were made before `before`, oldest first per shard, at most
    /// `limit` in all.
    pub async fn stale_claims(&self, before: DateTime<Utc>, limit: usize) -> DbResult<Vec<ClaimRecord>> {
        let mut out = Vec::new();
        for shard in 0..keys::SHARDS {
            let mut q = Query::gsi1(TableId::Main, keys::pending_claims(shard)).limit(limit);
            // Keys are times ("2026-…"): "0" is below all of them (DynamoDB refuses an empty bound).
            q.sort = SortKey::Between("0".into(), keys::pending_claim_sk(before, ""));
            let page = self.table.query(&q).await?;
            for item in page.items {
                out.push(from_item(item)?);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn issued_coupon_item(&self, c: &IssuedCoupon) -> DbResult<Item> {
        let mut item = to_item(c, &keys::issued_coupon(&c.code), keys::SK_COUPON)?;
        // Listed per campaign and coupon, write-sharded by code.
        let shard = keys::shard_of(c.code.as_str());
        item.insert(
            "gsi1pk".into(),
            Value::String(keys::issued_coupons_of(&c.campaign_id, &c.coupon_id, shard)),
        );
        item.insert("gsi1sk".into(), Value::String(c.code.to_string()));
        Ok(item)
    }

    pub async fn claim(&self, r: &RecipientId, coupon: &CouponId, slot: u32) -> DbResult<Option<ClaimRecord>> {
        self.table
            .get(TableId::Main, &claim_key(r, coupon, slot))
            .await?
            .map(from_item)
            .transpose()
    }

    /// The recipient's claims of a coupon, slot 1 upwards: every slot's key in one batched read
    /// (`per_person` is small), so the claim path never scans a partition.
    pub async fn claims(&self, r: &RecipientId, coupon: &CouponId, per_person: u32) -> DbResult<Vec<ClaimRecord>> {
        let keys: Vec<Key> = (1..=per_person.min(100))
            .map(|slot| claim_key(r, coupon, slot))
            .collect();
        let mut found: Vec<ClaimRecord> = self
            .table
            .get_many(TableId::Main, &keys)
            .await?
            .into_iter()
            .map(from_item)
            .collect::<DbResult<_>>()?;
        found.sort_by_key(|c| c.slot);
        // Slots fill in order: the claims are the unbroken run from slot 1.
        let run = found
            .iter()
            .enumerate()
            .take_while(|(i, c)| c.slot == *i as u32 + 1)
            .count();
        found.truncate(run);
        Ok(found)
    }

    pub async fn issued_coupon(&self, code: &CouponCode) -> DbResult<Option<IssuedCoupon>> {
        let key = Key::new(keys::issued_coupon(code), keys::SK_COUPON);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
    }

    /// Every coupon issued for a campaign's coupon definition.
    pub async fn issued_coupons(&self, campaign: &CampaignId, coupon: &CouponId) -> DbResult<Vec<IssuedCoupon>> {
        let mut out = Vec::new();
        for shard in 0..keys::SHARDS {
            out.extend(
                self.query_all(Query::gsi1(
                    TableId::Main,
                    keys::issued_coupons_of(campaign, coupon, shard),
                ))
                .await?,
            );
        }
        Ok(out)
    }

    /// `(issued, stock)` of a coupon definition.
    pub async fn coupon_stock(&self, campaign: &CampaignId, coupon: &CouponId) -> DbResult<(i64, i64)> {
        let (pk, sk) = keys::coupon_stock(campaign, coupon);
        let item = self
            .table
            .get(TableId::Main, &Key::new(pk, sk))
            .await?
            .ok_or(DbError::NotFound("coupon stock"))?;
        let n = |a: &str| item.get(a).and_then(Value::as_i64).unwrap_or(0);
        Ok((n("issued"), n("stock")))
    }

    /// Adds POS-supplied codes to a coupon's pool (duplicates are skipped).
    pub async fn add_pool_codes(
        &self,
        campaign: &CampaignId,
        coupon: &CouponId,
        codes: &[CouponCode],
    ) -> DbResult<usize> {
        let mut added = 0;
        for code in codes {
            let mut item = Item::new();
            item.insert("pk".into(), Value::String(keys::code_pool(campaign, coupon)));
            item.insert("sk".into(), Value::String(code.to_string()));
            match self.table.put(TableId::Main, item, Some(Cond::NotExists)).await {
                Ok(()) => added += 1,
                Err(e) if e.is_condition() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(added)
    }

    /// A few unused pool codes to try, from a random point so concurrent issuers spread out.
    pub async fn pool_candidates(&self, campaign: &CampaignId, coupon: &CouponId) -> DbResult<Vec<CouponCode>> {
        let mut q = Query::partition(TableId::Main, keys::code_pool(campaign, coupon)).limit(8);
        q.sort = SortKey::Between(random_base62(1).to_uppercase(), "~".into());
        let mut page = self.table.query(&q).await?;
        if page.items.is_empty() {
            page = self
                .table
                .query(&Query::partition(TableId::Main, keys::code_pool(campaign, coupon)).limit(8))
                .await?;
        }
        Ok(page
            .items
            .iter()
            .filter_map(|i| i.get("sk").and_then(Value::as_str))
            .filter_map(|s| CouponCode::parse(s).ok())
            .collect())
    }
}
