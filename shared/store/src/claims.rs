//! Coupons are money. A claim is recorded (with its event, in one transaction) and queued; the
//! issuer decides it (`issue`). Claiming again returns the existing claim.

use chrono::{DateTime, Utc};
use mcamp_core::campaign::{Campaign, Eligibility};
use mcamp_core::coupon::{ClaimRecord, ClaimStatus, Ineligible, eligible};
use mcamp_core::customer::Customer;
use mcamp_core::events::{Event, EventData};
use mcamp_core::jobs::CouponIssueJob;
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{CouponId, random_base62};
use serde_json::json;

use crate::ports::{Cond, JobQueue, QueueId, StoreError, TableId, TxWrite, Update};
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
            // The claim stands whatever the resend does; a failed one is the sweeper's.
            if let Err(e) = redrive(db, queue, last, Some(r), now).await {
                tracing::warn!(error = %e, claim = %last.claim_id, "coupon job not sent again; the sweeper will");
            }
            return Ok(last.clone());
        }
        if full || last.status == ClaimStatus::SoldOut {
            return Ok(last.clone());
        }
    }
    // Memberships are read only for a segment's coupon (one query on the person's partition).
    let segments = match &def.eligibility {
        mcamp_core::campaign::Eligibility::Segment(_) => db.segments_of(&r.id).await?,
        _ => Default::default(),
    };
    eligible(def, r, customer, &segments, now)?;
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
    // Once per person is once per customer where the coupon needs the form (a phone) or is a
    // segment's (a customer with two recipients is still one person): the
    // customer's next slot is taken with the claim, so other recipients with the same phone
    // cannot take more than `per_person` between them.
    let guard = match (&r.customer, def.once_per_customer()) {
        (Some(key), true) => Some(key),
        _ => None,
    };
    // The learning offer's coupons share one allowance: a customer with two recipients (two
    // offers) takes one of them, as one person would.
    let counted_as = match def.eligibility {
        Eligibility::Offered => campaign.offered_coupons().first().copied().unwrap_or(coupon_id),
        _ => coupon_id,
    };
    if let Some(key) = guard {
        let taken = db
            .customer_claims(campaign.brand(), key, &campaign.id, counted_as)
            .await?;
        if taken as u32 >= def.per_person {
            return Err(ClaimError::Ineligible(Ineligible::TakenByThisPhone));
        }
        writes.push(db.put_new(object(json!({
            "pk": keys::customer(campaign.brand(), key),
            "sk": keys::customer_claim_sk(&campaign.id, counted_as, taken as u32 + 1),
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
    // A lost send leaves the claim pending, never lost: the page sends it again after
    // RESEND_AFTER_SECS and the sweeper finds it (the issuer makes a repeat harmless). The
    // person is not told of an error that is not theirs.
    if let Err(e) = queue.send(QueueId::CouponIssue, job_for(&record, r).to_json()).await {
        tracing::warn!(error = %e, claim = %record.claim_id, "coupon job not sent; the sweeper sends it again");
    }
    Ok(record)
}

/// Sends a pending claim's job again if it was not sent in the last `RESEND_AFTER_SECS` (a
/// conditional `resent_at` on the claim, so polling pages and the sweeper send it once per
/// interval). Returns whether it was sent. `r` is the claimant when at hand (read otherwise).
pub async fn redrive(
    db: &Db,
    queue: &dyn JobQueue,
    claim: &ClaimRecord,
    r: Option<&Recipient>,
    now: DateTime<Utc>,
) -> Result<bool, ClaimError> {
    if claim.status != ClaimStatus::Pending || (now - claim.claimed_at).num_seconds() < RESEND_AFTER_SECS {
        return Ok(false);
    }
    let cutoff = (now - chrono::Duration::seconds(RESEND_AFTER_SECS)).timestamp();
    let key = crate::coupons::claim_key(&claim.recipient_id, &claim.coupon_id, claim.slot);
    let update = Update::new().set("resent_at", now.timestamp());
    let cond = Cond::And(vec![
        Cond::Eq("status".into(), json!(ClaimStatus::Pending)),
        Cond::Or(vec![
            Cond::AttrMissing("resent_at".into()),
            Cond::Lt("resent_at".into(), cutoff),
        ]),
    ]);
    match db.table.update(TableId::Main, &key, update, Some(cond)).await {
        Ok(_) => {}
        // Decided meanwhile, or sent again a moment ago.
        Err(e) if e.is_condition() => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let read;
    let r = match r {
        Some(r) => r,
        None => {
            read = db
                .recipient(&claim.recipient_id)
                .await?
                .ok_or(ClaimError::Storage(DbError::NotFound("claimant")))?;
            &read
        }
    };
    queue.send(QueueId::CouponIssue, job_for(claim, r).to_json()).await?;
    Ok(true)
}

/// What a sweep of the pending claims did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Pending claims older than the sweep's age.
    pub stale: usize,
    /// Jobs sent again.
    pub resent: usize,
    /// Sends that failed again (the next run, a minute on, tries them once more).
    pub failed: usize,
}

/// Claims pending longer than `RESEND_AFTER_SECS` get their job again (the send was lost, or
/// the job went to the dead-letter queue and was redriven): no claim stays pending. At most
/// `limit` claims a run.
pub async fn sweep(db: &Db, queue: &dyn JobQueue, now: DateTime<Utc>, limit: usize) -> Result<SweepReport, ClaimError> {
    let stale = db
        .stale_claims(now - chrono::Duration::seconds(RESEND_AFTER_SECS), limit)
        .await?;
    let mut report = SweepReport {
        stale: stale.len(),
        ..SweepReport::default()
    };
    for c in &stale {
        match redrive(db, queue, c, None, now).await {
            Ok(sent) => report.resent += usize::from(sent),
            Err(ClaimError::Storage(e)) if e.is_transient() => report.failed += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// Moves up to `max` jobs from the coupon queue's dead-letter queue back to the queue (after
/// the cause was fixed): each is sent, then removed from the dead letters. Returns how many.
pub async fn redrive_dead_letters(queue: &dyn JobQueue, max: usize) -> Result<usize, ClaimError> {
    let mut moved = 0;
    while moved < max {
        let got = queue
            .receive(
                QueueId::CouponIssueDlq,
                10.min(max - moved),
                std::time::Duration::from_secs(60),
                std::time::Duration::ZERO,
            )
            .await?;
        if got.is_empty() {
            break;
        }
        for m in got {
            queue.send(QueueId::CouponIssue, m.body).await?;
            queue.ack(QueueId::CouponIssueDlq, &m.receipt).await?;
            moved += 1;
        }
    }
    Ok(moved)
}

fn job_for(c: &ClaimRecord, r: &Recipient) -> CouponIssueJob {
    CouponIssueJob {
        schema_version: CouponIssueJob::version_for(r.variant.as_deref()),
        kind: "coupon_issue".into(),
        claim_id: c.claim_id.clone(),
        campaign_id: c.campaign_id.clone(),
        coupon_id: c.coupon_id.clone(),
        recipient_id: c.recipient_id.clone(),
        slot: c.slot,
        claimed_at: c.claimed_at,
        referrer_id: r.referrer_id.clone(),
        chain_head: r.chain_head(),
        variant: r.variant.clone(),
    }
}
