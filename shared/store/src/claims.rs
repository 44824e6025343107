//! Coupons are money. A claim is recorded (with its event, in one transaction) and queued; the
//! issuer decides it (`issue`). Claiming again returns the existing claim.

use chrono::{DateTime, Utc};
use mcamp_core::campaign::Campaign;
use mcamp_core::coupon::{ClaimRecord, ClaimStatus, Ineligible, eligible};
use mcamp_core::customer::Customer;
use mcamp_core::events::{Event, EventData};
use mcamp_core::jobs::{COUPON_ISSUE_VERSION, CouponIssueJob};
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{CouponId, random_base62};
use serde_json::json;

use crate::ports::{JobQueue, QueueId, StoreError, TableId, TxWrite};
use crate::{Db, DbError, keys, object};

/// A pending claim older than this is re-queued when the recipient asks again (the first send
/// may have been lost); the issuer makes the repeat harmless.
pub const RESEND_AFTER_SECS: i64 = 60;

/// Why a claim was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("이 쿠폰은 없어요")]
    UnknownCoupon,
    /// Shown to the recipient as is (Korean).
    #[error(transparent)]
    Ineligible(#[from] Ineligible),
    #[error("storing the claim")]
    Storage(#[from] DbError),
}

impl From<StoreError> for ClaimError {
    fn from(e: StoreError) -> Self {
        ClaimError::Storage(DbError::Store(e))
    }
}

/// Claims a coupon for a recipient: records the claim and queues the issue job. Claiming again
/// returns the existing claim (a double submit is harmless).
pub async fn claim(
    db: &Db,
    queue: &dyn JobQueue,
    campaign: &Campaign,
    r: &Recipient,
    customer: Option<&Customer>,
    coupon_id: &CouponId,
    now: DateTime<Utc>,
) -> Result<ClaimRecord, ClaimError> {
    let def = campaign.coupon(coupon_id).ok_or(ClaimError::UnknownCoupon)?;
    let existing = db.claims(&r.id, coupon_id, def.per_person).await?;
    if let Some(last) = existing.last() {
        let settled = last.status != ClaimStatus::Pending;
        let full = existing.len() as u32 >= def.per_person;
        if !settled {
            if (now - last.claimed_at).num_seconds() >= RESEND_AFTER_SECS {
                queue.send(QueueId::CouponIssue, job_for(last, r).to_json()).await?;
            }
            return Ok(last.clone());
        }
        if full || last.status == ClaimStatus::SoldOut {
            return Ok(last.clone());
        }
    }
    eligible(def, r, customer, now)?;
    let slot = existing.len() as u32 + 1;
    let record = ClaimRecord {
        claim_id: random_base62(20),
        campaign_id: campaign.id.clone(),
        coupon_id: coupon_id.clone(),
        recipient_id: r.id.clone(),
        slot,
        status: ClaimStatus::Pending,
        claimed_at: now,
        code: None,
        decided_at: None,
    };
    let event = Event::new(
        campaign.id.clone(),
        now,
        EventData::CouponClaimed {
            coupon_id: coupon_id.clone(),
            claim_id: record.claim_id.clone(),
        },
    )
    .by(r.into());
    // The claim and its event in one transaction: neither without the other.
    let mut writes = vec![
        db.put_new(db.claim_item(&record)?),
        TxWrite::Put {
            table: TableId::Events,
            item: db.event_item(&event)?,
            cond: None,
        },
    ];
    // Once per person is once per customer where the coupon needs the form (a phone): the
    // customer's slot is taken with the claim, so a second recipient with the same phone
    // cannot take it again.
    let guard = match (&r.customer, def.needs_form()) {
        (Some(key), true) => Some(key),
        _ => None,
    };
    if let Some(key) = guard {
        writes.push(db.put_new(object(json!({
            "pk": keys::customer(campaign.brand(), key),
            "sk": keys::customer_claim_sk(&campaign.id, coupon_id, slot),
            "recipient_id": r.id, "claim_id": record.claim_id, "at": now,
        }))));
    }
    match db.table.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { reasons })
            if guard.is_some()
                && reasons.get(2).is_some_and(Option::is_some)
                && reasons.first().is_some_and(Option::is_none) =>
        {
            return Err(ClaimError::Ineligible(Ineligible::TakenByThisPhone));
        }
        // A concurrent submit took this slot first: theirs is the claim.
        Err(e) if e.is_condition() => {
            return db
                .claim(&r.id, coupon_id, slot)
                .await?
                .ok_or(ClaimError::Storage(DbError::NotFound(
                    "claim taken by a concurrent submit",
                )));
        }
        Err(e) => return Err(e.into()),
    }
    // If this send is lost, the claim stays pending and is re-sent when the recipient asks
    // again after RESEND_AFTER_SECS (the issuer makes a repeat harmless).
    queue.send(QueueId::CouponIssue, job_for(&record, r).to_json()).await?;
    Ok(record)
}

fn job_for(c: &ClaimRecord, r: &Recipient) -> CouponIssueJob {
    CouponIssueJob {
        schema_version: COUPON_ISSUE_VERSION,
        kind: "coupon_issue".into(),
        claim_id: c.claim_id.clone(),
        campaign_id: c.campaign_id.clone(),
        coupon_id: c.coupon_id.clone(),
        recipient_id: c.recipient_id.clone(),
        slot: c.slot,
        claimed_at: c.claimed_at,
        referrer_id: r.referrer_id.clone(),
        chain_head: r.chain_head(),
    }
}
