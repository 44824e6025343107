//! Coupons are money. A claim is recorded and queued; the issuer decides it in one
//! transaction: the stock counter goes up only while below the stock, the per-person issue
//! record is created only if absent, the code is created only if new, and the claim is marked.
//! So stock is never exceeded, and a redelivered or duplicated job never issues twice: the
//! per-person record is permanent (unlike SQS or transaction-token de-duplication windows).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::campaign::{Campaign, CodeSource, CouponDef, Eligibility};
use crate::db::coupons::{ClaimRecord, ClaimStatus, IssuedCoupon, claim_key, hash_key, issued_key};
use crate::db::recipients::Recipient;
use crate::db::{Db, DbError, keys};
use crate::events::{Event, EventData};
use crate::jobs::{COUPON_ISSUE_VERSION, CouponIssueJob};
use crate::ports::{Cond, JobQueue, Key, QueueId, StoreError, TableId, TxWrite, Update};
use crate::values::{CouponCode, CouponId, StoreId, random_base62};

/// A pending claim older than this is re-queued when the recipient asks again (the first send
/// may have been lost); the issuer makes the repeat harmless.
pub const RESEND_AFTER_SECS: i64 = 60;

/// Why a claim was refused. The messages are shown to recipients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("이 쿠폰은 없어요")]
    UnknownCoupon,
    #[error("{0}")]
    NotEligible(&'static str),
    #[error("쿠폰 발급 기간이 아니에요")]
    OutsideWindow,
    #[error("storage: {0}")]
    Storage(String),
}

impl From<DbError> for ClaimError {
    fn from(e: DbError) -> Self {
        ClaimError::Storage(e.to_string())
    }
}
impl From<StoreError> for ClaimError {
    fn from(e: StoreError) -> Self {
        ClaimError::Storage(e.to_string())
    }
}

/// Whether `r` may claim `def` now; `Err` says why not, in Korean.
pub fn eligible(def: &CouponDef, r: &Recipient, now: DateTime<Utc>) -> Result<(), ClaimError> {
    if def.valid_from.is_some_and(|f| now < f) || def.valid_until.is_some_and(|u| now >= u) {
        return Err(ClaimError::OutsideWindow);
    }
    match &def.eligibility {
        Eligibility::Everyone => {}
        Eligibility::FormCompleted if r.form_completed_at.is_none() => {
            return Err(ClaimError::NotEligible("정보를 입력하면 쿠폰을 받을 수 있어요"));
        }
        Eligibility::FormCompleted => {}
        Eligibility::SurveyCompleted if r.survey_completed_at.is_none() => {
            return Err(ClaimError::NotEligible("설문을 마치면 쿠폰을 받을 수 있어요"));
        }
        Eligibility::SurveyAndFormCompleted if r.survey_completed_at.is_none() => {
            return Err(ClaimError::NotEligible("평가를 마치면 쿠폰을 받을 수 있어요"));
        }
        Eligibility::SurveyAndFormCompleted if r.form_completed_at.is_none() => {
            return Err(ClaimError::NotEligible("연락처를 남기면 감사 쿠폰을 받을 수 있어요"));
        }
        Eligibility::SurveyCompleted | Eligibility::SurveyAndFormCompleted => {}
        Eligibility::Segment(_) => {
            return Err(ClaimError::NotEligible("이 쿠폰의 대상이 아니에요"));
        }
    }
    // PIPA §22: marketing consent may be required only for a declared marketing benefit.
    if def.requires_marketing_consent && r.consent.marketing_at.is_none() {
        return Err(ClaimError::NotEligible(
            "광고성 정보 수신에 동의하면 받을 수 있는 혜택이에요",
        ));
    }
    Ok(())
}

/// Claims a coupon for a recipient: records the claim and queues the issue job. Claiming again
/// returns the existing claim (a double submit is harmless).
pub async fn claim(
    db: &Db,
    queue: &dyn JobQueue,
    campaign: &Campaign,
    r: &Recipient,
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
    eligible(def, r, now)?;
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
    .by(Some(r.id.clone()), r.referrer_id.clone(), Some(r.chain_head()));
    // The claim and its event in one transaction: neither without the other.
    let writes = vec![
        TxWrite::Put {
            table: TableId::Main,
            item: db.claim_item(&record)?,
            cond: Some(Cond::NotExists),
        },
        TxWrite::Put {
            table: TableId::Events,
            item: db.event_item(&event)?,
            cond: None,
        },
    ];
    match db.table.transact(writes).await {
        Ok(()) => {}
        // A concurrent submit took this slot first: theirs is the claim.
        Err(e) if e.is_condition() => {
            return db
                .claim(&r.id, coupon_id, slot)
                .await?
                .ok_or(ClaimError::Storage("claim vanished".into()));
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueOutcome {
    Issued(CouponCode),
    /// This claim was issued before (a redelivered or duplicated job): nothing done.
    AlreadyIssued,
    SoldOut,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// Try the message again later (throttling, a conflict, a storage hiccup).
    #[error("retry: {0}")]
    Retry(String),
    /// The job can never succeed (unknown campaign or coupon, no claim): dead-letter it.
    #[error("poison: {0}")]
    Poison(String),
}

impl From<DbError> for IssueError {
    fn from(e: DbError) -> Self {
        IssueError::Retry(e.to_string())
    }
}
impl From<StoreError> for IssueError {
    fn from(e: StoreError) -> Self {
        IssueError::Retry(e.to_string())
    }
}

const ISSUE_ATTEMPTS: usize = 5;

/// Decides one claim. Safe to run any number of times for the same job.
pub async fn issue(
    db: &Db,
    campaign: &Campaign,
    job: &CouponIssueJob,
    now: DateTime<Utc>,
) -> Result<IssueOutcome, IssueError> {
    let def = campaign
        .coupon(&job.coupon_id)
        .ok_or_else(|| IssueError::Poison(format!("campaign {} has no coupon {}", campaign.id, job.coupon_id)))?;
    let claim = claim_key(&job.recipient_id, &job.coupon_id, job.slot);
    let issued = issued_key(&job.recipient_id, &job.coupon_id, job.slot);
    if db.table.get(TableId::Main, &claim).await?.is_none() {
        return Err(IssueError::Poison(format!(
            "no claim record for claim {}",
            job.claim_id
        )));
    }
    let (stock_pk, stock_sk) = keys::coupon_stock(&campaign.id, &job.coupon_id);
    for _ in 0..ISSUE_ATTEMPTS {
        let (code, pool_key) = match def.codes {
            CodeSource::Generated => (CouponCode::generate(), None),
            CodeSource::Pool => {
                let candidates = db.pool_candidates(&campaign.id, &job.coupon_id).await?;
                let Some(code) = candidates.into_iter().next() else {
                    return sold_out(db, campaign, job, &claim, now).await;
                };
                let key = Key::new(keys::code_pool(&campaign.id, &job.coupon_id), code.as_str());
                (code, Some(key))
            }
        };
        let coupon = IssuedCoupon {
            code: code.clone(),
            campaign_id: campaign.id.clone(),
            coupon_id: job.coupon_id.clone(),
            recipient_id: job.recipient_id.clone(),
            slot: job.slot,
            referrer_id: job.referrer_id.clone(),
            chain_head: job.chain_head.clone(),
            issued_at: now,
            valid_until: def.valid_until,
            redeemed_at: None,
            redeemed_store: None,
        };
        let mut per_person = crate::ports::Item::new();
        per_person.insert("pk".into(), json!(issued.pk));
        per_person.insert("sk".into(), json!(issued.sk));
        per_person.insert("code".into(), json!(code));
        per_person.insert("claim_id".into(), json!(job.claim_id));
        per_person.insert("issued_at".into(), json!(now));
        let mut writes = vec![
            // 0: the hard cap.
            TxWrite::Update {
                table: TableId::Main,
                key: Key::new(stock_pk.clone(), stock_sk.clone()),
                update: Update::new().add("issued", 1),
                // Against the counter's own `stock` (set by every push), not a cached campaign.
                cond: Some(Cond::LtAttr("issued".into(), "stock".into())),
            },
            // 1: once per person and slot, forever.
            TxWrite::Put {
                table: TableId::Main,
                item: per_person,
                cond: Some(Cond::NotExists),
            },
            // 2: a new code.
            TxWrite::Put {
                table: TableId::Main,
                item: db.issued_coupon_item(&coupon)?,
                cond: Some(Cond::NotExists),
            },
            // 3: the claim shows the result.
            TxWrite::Update {
                table: TableId::Main,
                key: claim.clone(),
                update: Update::new()
                    .set("status", json!(ClaimStatus::Issued))
                    .set("code", json!(code))
                    .set("decided_at", json!(now)),
                // Only an undecided claim: a sold-out claim is never issued later.
                cond: Some(Cond::Eq("status".into(), json!(ClaimStatus::Pending))),
            },
        ];
        // 4: the coupon_issued event, written with the issue so it is never lost or doubled.
        let event = Event::new(
            campaign.id.clone(),
            now,
            EventData::CouponIssued {
                coupon_id: job.coupon_id.clone(),
                claim_id: job.claim_id.clone(),
                code: code.clone(),
            },
        )
        .by(
            Some(job.recipient_id.clone()),
            job.referrer_id.clone(),
            Some(job.chain_head.clone()),
        );
        writes.push(TxWrite::Put {
            table: TableId::Events,
            item: db.event_item(&event)?,
            cond: None,
        });
        if let Some(k) = &pool_key {
            // 5: the pool code is used exactly once.
            writes.push(TxWrite::Delete {
                table: TableId::Main,
                key: k.clone(),
                cond: Some(Cond::Exists),
            });
        }
        match db.table.transact(writes).await {
            Ok(()) => {
                return Ok(IssueOutcome::Issued(code));
            }
            Err(StoreError::TransactionCancelled { reasons }) => {
                let failed = |i: usize| reasons.get(i).is_some_and(Option::is_some);
                if failed(1) {
                    return Ok(IssueOutcome::AlreadyIssued);
                }
                if failed(0) {
                    return sold_out(db, campaign, job, &claim, now).await;
                }
                if failed(3) {
                    // Decided before (sold out): done. Gone: can never succeed.
                    return match db.table.get(TableId::Main, &claim).await? {
                        Some(_) => Ok(IssueOutcome::SoldOut),
                        None => Err(IssueError::Poison("claim record disappeared".into())),
                    };
                }
                // A code collision or a pool code taken by a concurrent issuer: try another.
                if failed(2) || failed(5) {
                    continue;
                }
                return Err(IssueError::Retry(format!("transaction cancelled: {reasons:?}")));
            }
            Err(e) => return Err(IssueError::Retry(e.to_string())),
        }
    }
    Err(IssueError::Retry("no free code after several attempts".into()))
}

async fn sold_out(
    db: &Db,
    campaign: &Campaign,
    job: &CouponIssueJob,
    claim: &Key,
    now: DateTime<Utc>,
) -> Result<IssueOutcome, IssueError> {
    let update = Update::new()
        .set("status", json!(ClaimStatus::SoldOut))
        .set("decided_at", json!(now));
    let event = Event::new(
        campaign.id.clone(),
        now,
        EventData::CouponSoldOut {
            coupon_id: job.coupon_id.clone(),
            claim_id: job.claim_id.clone(),
        },
    )
    .by(
        Some(job.recipient_id.clone()),
        job.referrer_id.clone(),
        Some(job.chain_head.clone()),
    );
    // Only the first delivery that finds it sold out marks the claim, with its event, at once.
    let writes = vec![
        TxWrite::Update {
            table: TableId::Main,
            key: claim.clone(),
            update,
            cond: Some(Cond::Eq("status".into(), json!(ClaimStatus::Pending))),
        },
        TxWrite::Put {
            table: TableId::Events,
            item: db.event_item(&event)?,
            cond: None,
        },
    ];
    match db.table.transact(writes).await {
        Ok(()) => {}
        Err(e) if e.is_condition() => {}
        Err(e) => return Err(IssueError::Retry(e.to_string())),
    }
    Ok(IssueOutcome::SoldOut)
}

/// Why a redemption was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    #[error("storage: {0}")]
    Storage(String),
}

impl From<DbError> for RedeemError {
    fn from(e: DbError) -> Self {
        RedeemError::Storage(e.to_string())
    }
}

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
    if !crate::values::constant_time_eq(&hash_key(key), &store.key_hash) {
        return Err(RedeemError::Unauthorized);
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
                _ => Err(RedeemError::Storage("redemption raced and vanished".into())),
            };
        }
        Err(e) => return Err(RedeemError::Storage(e.to_string())),
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
    .by(
        Some(coupon.recipient_id.clone()),
        coupon.referrer_id.clone(),
        Some(coupon.chain_head.clone()),
    );
    db.append_event(&event).await?;
    let mut coupon = coupon;
    coupon.redeemed_at = Some(now);
    coupon.redeemed_store = Some(store_id.clone());
    Ok(Redeemed { coupon, repeat: false })
}
