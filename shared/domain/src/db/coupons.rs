//! Coupon items: claims and per-person issue records on the recipient, issued coupons by code,
//! stock counters, imported code pools, and stores with their hashed API keys.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Db, DbError, DbResult, from_item, keys, to_item};
use crate::ports::{Cond, Item, Key, Query, TableId};
use crate::values::{CampaignId, CouponCode, CouponId, RecipientId, StoreId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Sent to the issuer; not decided yet.
    Pending,
    Issued,
    SoldOut,
}

/// A recipient's claim of one coupon slot (`RCPT#{id}` / `CLAIM#{coupon}#{slot}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimRecord {
    pub claim_id: String,
    pub campaign_id: CampaignId,
    pub coupon_id: CouponId,
    pub recipient_id: RecipientId,
    pub slot: u32,
    pub status: ClaimStatus,
    pub claimed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CouponCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

/// An issued coupon, found by its code at the till (`COUPON#{code}` / `COUPON`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedCoupon {
    pub code: CouponCode,
    pub campaign_id: CampaignId,
    pub coupon_id: CouponId,
    pub recipient_id: RecipientId,
    pub slot: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_id: Option<RecipientId>,
    pub chain_head: RecipientId,
    pub issued_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_store: Option<StoreId>,
}

/// A store that redeems coupons; its API key is kept only as a SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Store {
    pub id: StoreId,
    pub name: String,
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
}

/// The stored form of a store API key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

pub(crate) fn claim_key(r: &RecipientId, c: &CouponId, slot: u32) -> Key {
    let (pk, sk) = keys::claim(r, c, slot);
    Key::new(pk, sk)
}

pub(crate) fn issued_key(r: &RecipientId, c: &CouponId, slot: u32) -> Key {
    Key::new(keys::recipient(r), format!("ISSUED#{c}#{slot:03}"))
}

impl Db {
    pub(crate) fn claim_item(&self, c: &ClaimRecord) -> DbResult<Item> {
        let k = claim_key(&c.recipient_id, &c.coupon_id, c.slot);
        to_item(c, &k.pk, &k.sk)
    }

    pub(crate) fn issued_coupon_item(&self, c: &IssuedCoupon) -> DbResult<Item> {
        let mut item = to_item(c, &keys::issued_coupon(&c.code), keys::SK_COUPON)?;
        // Listed per campaign and coupon, write-sharded by code.
        let shard = keys::shard_of(c.code.as_str());
        item.insert(
            "gsi1pk".into(),
            Value::String(format!("CAMP#{}#CPN#{}#{shard:02}", c.campaign_id, c.coupon_id)),
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

    /// The recipient's claims of a coupon, slot 1 upwards. Slots are read one by one (a key read
    /// each; `per_person` is small) rather than queried, so the claim path never scans a partition.
    pub async fn claims(&self, r: &RecipientId, coupon: &CouponId, per_person: u32) -> DbResult<Vec<ClaimRecord>> {
        let mut out = Vec::new();
        for slot in 1..=per_person {
            match self.claim(r, coupon, slot).await? {
                Some(c) => out.push(c),
                None => break,
            }
        }
        Ok(out)
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
                    format!("CAMP#{campaign}#CPN#{coupon}#{shard:02}"),
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

    pub async fn put_store(&self, s: &Store) -> DbResult<()> {
        self.table
            .put(TableId::Main, to_item(s, &keys::store(&s.id), keys::SK_STORE)?, None)
            .await?;
        Ok(())
    }

    pub async fn store(&self, id: &StoreId) -> DbResult<Option<Store>> {
        let key = Key::new(keys::store(id), keys::SK_STORE);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
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
        q.sort = crate::ports::SortKey::Between(crate::values::random_base62(1).to_uppercase(), "~".into());
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
