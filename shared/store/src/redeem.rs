//! Redemption at the till: the store's key is checked first, then the coupon is marked used
//! once, conditionally, so two tills cannot both take it.

use chrono::{DateTime, Utc};
use mcamp_core::coupon::{IssuedCoupon, hash_key};
use mcamp_core::events::{Event, EventData};
use mcamp_core::values::{CouponCode, StoreId, constant_time_eq};
use serde_json::json;

use crate::ports::{Cond, Key, TableId, Update};
use crate::{Db, DbError, keys};

/// Why a redemption was refused.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// Wrong or unknown store key: says nothing about the coupon.
    #[error("unauthorized")]
    Unauthorized,
    #[error("unknown coupon code")]
    NotFound,
    #[error("already used at {store} on {at}")]
    AlreadyUsed { at: DateTime<Utc>, store: StoreId },
    #[error("expired on {0}")]
    Expired(DateTime<Utc>),
    /// The coupon's validity has not begun (its definition's `valid_from`).
    #[error("valid from {0}")]
    NotYetValid(DateTime<Utc>),
    /// More than `PER_MINUTE` calls with this store's key in a minute.
    #[error("too many redemptions this minute")]
    TooMany,
    #[error("storage")]
    Storage(#[from] DbError),
}

/// Most redemption calls a store's key may make in one minute: a till redeems a few; a leaked
/// key in a script is slowed to this.
pub const PER_MINUTE: i64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub struct Redeemed {
    pub coupon: IssuedCoupon,
    /// True when this store had already redeemed it (an idempotent repeat).
    pub repeat: bool,
}

/// Marks a coupon used by a store. The key is checked before the coupon is looked at.
pub async fn redeem(
    db: &Db,
    store_id: &StoreId,
    key: &str,
    code: &CouponCode,
    now: DateTime<Utc>,
) -> Result<Redeemed, RedeemError> {
    let store = db.store(store_id).await?.ok_or(RedeemError::Unauthorized)?;
    if !constant_time_eq(&hash_key(key), &store.key_hash) {
        return Err(RedeemError::Unauthorized);
    }
    // Counted only after the key is good, so nobody else can spend a store's budget.
    let rate = Key::new(keys::store(store_id), keys::store_rate_sk(now));
    let count = Update::new()
        .add("n", 1)
        .set("ttl", json!((now + chrono::Duration::minutes(10)).timestamp()));
    let under = Cond::Or(vec![Cond::AttrMissing("n".into()), Cond::Lt("n".into(), PER_MINUTE)]);
    match db.table.update(TableId::Main, &rate, count, Some(under)).await {
        Ok(_) => {}
        Err(e) if e.is_condition() => return Err(RedeemError::TooMany),
        Err(e) => return Err(RedeemError::Storage(e.into())),
    }
    let coupon = db.issued_coupon(code).await?.ok_or(RedeemError::NotFound)?;
    if let (Some(at), Some(by)) = (coupon.redeemed_at, &coupon.redeemed_store) {
        return if by == store_id {
            Ok(Redeemed { coupon, repeat: true })
        } else {
            Err(RedeemError::AlreadyUsed { at, store: by.clone() })
        };
    }
    if let Some(until) = coupon.valid_until
        && now >= until
    {
        return Err(RedeemError::Expired(until));
    }
    // The window's start lives on the campaign's definition of the coupon; a coupon whose
    // campaign or definition is gone is not honoured.
    let campaign = db.campaign(&coupon.campaign_id).await?.ok_or(RedeemError::NotFound)?;
    let def = campaign
        .campaign
        .coupon(&coupon.coupon_id)
        .ok_or(RedeemError::NotFound)?;
    if let Some(from) = def.valid_from
        && now < from
    {
        return Err(RedeemError::NotYetValid(from));
    }
    let key = Key::new(keys::issued_coupon(code), keys::SK_COUPON);
    let update = Update::new()
        .set("redeemed_at", json!(now))
        .set("redeemed_store", json!(store_id));
    match db
        .table
        .update(
            TableId::Main,
            &key,
            update,
            Some(Cond::And(vec![Cond::Exists, Cond::AttrMissing("redeemed_at".into())])),
        )
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_condition() => {
            // Another till won the race: report as above.
            let c = db.issued_coupon(code).await?.ok_or(RedeemError::NotFound)?;
            return match (c.redeemed_at, c.redeemed_store.clone()) {
                (Some(_), Some(by)) if &by == store_id => Ok(Redeemed {
                    coupon: c,
                    repeat: true,
                }),
                (Some(at), Some(by)) => Err(RedeemError::AlreadyUsed { at, store: by }),
                _ => Err(RedeemError::Storage(DbError::NotFound(
                    "coupon after a raced redemption",
                ))),
            };
        }
        Err(e) => return Err(RedeemError::Storage(e.into())),
    }
    let event = Event::new(
        coupon.campaign_id.clone(),
        now,
        EventData::CouponRedeemed {
            coupon_id: coupon.coupon_id.clone(),
            code: code.clone(),
            store_id: store_id.clone(),
        },
    )
    .by((&coupon).into());
    db.append_event(&event).await?;
    let mut coupon = coupon;
    coupon.redeemed_at = Some(now);
    coupon.redeemed_store = Some(store_id.clone());
    Ok(Redeemed { coupon, repeat: false })
}
