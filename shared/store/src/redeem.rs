//! Redemption at the till: the store's key is checked first, then the coupon is marked used
//! once, conditionally, so two tills cannot both take it. The console's store page redeems
//! through `redeem_as` (its staff are signed in, not holding the key) under the same rules, and
//! looks a coupon up with `check`, which only reads.

use chrono::{DateTime, Utc};
use mcamp_core::campaign::CouponDef;
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
    redeem_as(db, store_id, code, now).await
}

/// Counts one call against the store's per-minute budget (`PER_MINUTE`): redemptions, and the
/// console's lookups, so a stolen staff session cannot walk guessable pool codes either.
pub async fn spend(db: &Db, store_id: &StoreId, now: DateTime<Utc>) -> Result<(), RedeemError> {
    let rate = Key::new(keys::store(store_id), keys::store_rate_sk(now));
    let count = Update::new()
        .add("n", 1)
        .set("ttl", json!((now + chrono::Duration::minutes(10)).timestamp()));
    let under = Cond::Or(vec![Cond::AttrMissing("n".into()), Cond::Lt("n".into(), PER_MINUTE)]);
    match db.table.update(TableId::Main, &rate, count, Some(under)).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition() => Err(RedeemError::TooMany),
        Err(e) => Err(RedeemError::Storage(e.into())),
    }
}

/// Marks a coupon used by a store whose caller is already authenticated for it (the till's
/// key in `redeem`, a signed-in staff member in the console); the same rules and the same
/// per-minute budget either way. Never `Unauthorized`.
pub async fn redeem_as(
    db: &Db,
    store_id: &StoreId,
    code: &CouponCode,
    now: DateTime<Utc>,
) -> Result<Redeemed, RedeemError> {
    // Counted only once the caller is known, so nobody else can spend a store's budget.
    spend(db, store_id, now).await?;
    let coupon = db.issued_coupon(code).await?.ok_or(RedeemError::NotFound)?;
    match used(&coupon, store_id) {
        Some(Used::Here(_)) => return Ok(Redeemed { coupon, repeat: true }),
        Some(Used::Elsewhere { at, store }) => return Err(RedeemError::AlreadyUsed { at, store }),
        None => {}
    }
    if let Some(until) = expired(&coupon, now) {
        return Err(RedeemError::Expired(until));
    }
    // The window's start lives on the campaign's definition of the coupon; a coupon whose
    // campaign or definition is gone is not honoured.
    let campaign = db.campaign(&coupon.campaign_id).await?.ok_or(RedeemError::NotFound)?;
    let def = campaign
        .campaign
        .coupon(&coupon.coupon_id)
        .ok_or(RedeemError::NotFound)?;
    if let Some(from) = not_started(def, now) {
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

/// A coupon as a lookup found it, for a store's staff: what it is and whether this store may
/// redeem it now. Nothing about the person who holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub coupon: IssuedCoupon,
    /// The campaign's definition of the coupon (its title, benefit and window).
    pub def: CouponDef,
    pub campaign_name: String,
    pub standing: Standing,
}

/// What `redeem_as` would do with a coupon now.
#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    /// It would mark the coupon used by this store.
    Valid,
    /// This store redeemed it at that time: a redemption now is a repeat that changes nothing.
    RedeemedHere(DateTime<Utc>),
    /// Used at another store at that time.
    UsedElsewhere {
        at: DateTime<Utc>,
        store: StoreId,
    },
    Expired(DateTime<Utc>),
    NotYetValid(DateTime<Utc>),
}

/// Looks a coupon up for a store by the rules `redeem_as` applies, without writing anything
/// (not even the per-minute count). `NotFound` for an unknown code, and for a coupon whose
/// campaign or definition is gone (which a redemption would not honour either).
pub async fn check(db: &Db, store_id: &StoreId, code: &CouponCode, now: DateTime<Utc>) -> Result<Checked, RedeemError> {
    let coupon = db.issued_coupon(code).await?.ok_or(RedeemError::NotFound)?;
    let campaign = db.campaign(&coupon.campaign_id).await?.ok_or(RedeemError::NotFound)?;
    let def = campaign
        .campaign
        .coupon(&coupon.coupon_id)
        .ok_or(RedeemError::NotFound)?
        .clone();
    // The same order as `redeem_as`: a used coupon first, then its window.
    let standing = match used(&coupon, store_id) {
        Some(Used::Here(at)) => Standing::RedeemedHere(at),
        Some(Used::Elsewhere { at, store }) => Standing::UsedElsewhere { at, store },
        None => match (expired(&coupon, now), not_started(&def, now)) {
            (Some(until), _) => Standing::Expired(until),
            (None, Some(from)) => Standing::NotYetValid(from),
            (None, None) => Standing::Valid,
        },
    };
    Ok(Checked {
        coupon,
        def,
        campaign_name: campaign.campaign.name,
        standing,
    })
}

/// A coupon used already, by this store or another, and when.
enum Used {
    Here(DateTime<Utc>),
    Elsewhere { at: DateTime<Utc>, store: StoreId },
}

fn used(coupon: &IssuedCoupon, store_id: &StoreId) -> Option<Used> {
    match (coupon.redeemed_at, &coupon.redeemed_store) {
        (Some(at), Some(by)) if by == store_id => Some(Used::Here(at)),
        (Some(at), Some(by)) => Some(Used::Elsewhere { at, store: by.clone() }),
        _ => None,
    }
}

/// When the coupon's validity ended, if it has.
fn expired(coupon: &IssuedCoupon, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    coupon.valid_until.filter(|until| now >= *until)
}

/// When the coupon's validity begins, if it has not yet.
fn not_started(def: &CouponDef, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    def.valid_from.filter(|from| now < *from)
}
