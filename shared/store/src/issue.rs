//! The issuer's decision, in one transaction: the stock counter goes up only while below the
//! stock, the per-person issue record is created only if absent, the code is created only if
//! new, and the claim is marked. So stock is never exceeded, and a redelivered or duplicated job
//! never issues twice: the per-person record is permanent (unlike SQS or transaction-token
//! de-duplication windows).

use chrono::{DateTime, Utc};
use mcamp_core::campaign::{Campaign, CodeSource};
use mcamp_core::coupon::{ClaimStatus, IssuedCoupon};
use mcamp_core::events::{Event, EventData};
use mcamp_core::jobs::CouponIssueJob;
use mcamp_core::values::CouponCode;
use serde_json::json;

use crate::coupons::{claim_key, issued_key};
use crate::ports::{Cond, Item, Key, StoreError, TableId, TxWrite, Update};
use crate::{Db, DbError, keys};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueOutcome {
    Issued(CouponCode),
    /// This claim was issued before (a redelivered or duplicated job): nothing done.
    AlreadyIssued,
    SoldOut,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Try the message again later (throttling, a conflict, a storage hiccup).
    #[error("retry")]
    Retry(#[source] DbError),
    /// The job can never succeed (unknown coupon, no claim, a corrupt stored item):
    /// dead-letter it at once.
    #[error("poison: {0}")]
    Poison(String, #[source] Option<DbError>),
}

impl From<DbError> for IssueError {
    fn from(e: DbError) -> Self {
        if e.is_transient() {
            IssueError::Retry(e)
        } else {
            IssueError::Poison("stored data cannot be read".into(), Some(e))
        }
    }
}
impl From<StoreError> for IssueError {
    fn from(e: StoreError) -> Self {
        IssueError::Retry(DbError::Store(e))
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
    let def = campaign.coupon(&job.coupon_id).ok_or_else(|| {
        IssueError::Poison(
            format!("campaign {} has no coupon {}", campaign.id, job.coupon_id),
            None,
        )
    })?;
    let claim = claim_key(&job.recipient_id, &job.coupon_id, job.slot);
    let issued = issued_key(&job.recipient_id, &job.coupon_id, job.slot);
    // No read first: a missing claim fails write 3's condition, and is told apart below.
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
            variant: job.variant.clone(),
            issued_at: now,
            valid_until: def.valid_until,
            redeemed_at: None,
            redeemed_store: None,
        };
        let mut per_person = Item::new();
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
                    .set("decided_at", json!(now))
                    .remove("gsi1pk")
                    .remove("gsi1sk"),
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
        .by(job.into());
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
                    return match db.claim(&job.recipient_id, &job.coupon_id, job.slot).await? {
                        Some(_) => Ok(IssueOutcome::SoldOut),
                        None => Err(IssueError::Poison(
                            format!("no claim record for claim {}", job.claim_id),
                            None,
                        )),
                    };
                }
                // A code collision or a pool code taken by a concurrent issuer: try another.
                if failed(2) || failed(5) {
                    continue;
                }
                return Err(IssueError::Retry(DbError::Store(StoreError::TransactionCancelled {
                    reasons,
                })));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(IssueError::Retry(DbError::MintExhausted))
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
        .set("decided_at", json!(now))
        .remove("gsi1pk")
        .remove("gsi1sk");
    let event = Event::new(
        campaign.id.clone(),
        now,
        EventData::CouponSoldOut {
            coupon_id: job.coupon_id.clone(),
            claim_id: job.claim_id.clone(),
        },
    )
    .by(job.into());
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
        Err(e) => return Err(e.into()),
    }
    Ok(IssueOutcome::SoldOut)
}
