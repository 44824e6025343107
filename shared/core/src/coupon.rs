//! Coupons as a person holds them: a claim of one slot, the issued coupon with its code, the
//! store that redeems it, and who may claim what (eligibility).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::campaign::{CouponDef, Eligibility};
use crate::customer::Customer;
use crate::recipient::Recipient;
use crate::values::{CampaignId, CouponCode, CouponId, RecipientId, SegmentId, StoreId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Sent to the issuer; not decided yet.
    Pending,
    Issued,
    SoldOut,
}

/// A recipient's claim of one coupon slot.
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

/// An issued coupon, found by its code at the till.
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
    /// The holder's page variant (A/B), so the redemption's event carries it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
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

/// Why a recipient may not claim a coupon now. The messages are shown to recipients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    #[error("{0}")]
    NotEligible(&'static str),
    #[error("쿠폰 발급 기간이 아니에요")]
    OutsideWindow,
    /// Once per person means once per customer: another recipient with the same phone has it.
    #[error("이 휴대폰 번호로 이미 받은 쿠폰이에요")]
    TakenByThisPhone,
    /// A segment's coupon, and this person is not (yet) in the segment.
    #[error("이 쿠폰의 대상이 아니에요")]
    NotInSegment,
    /// One of the learning offer's coupons, and another one is this person's.
    #[error("이 쿠폰의 대상이 아니에요")]
    NotOffered,
}

/// The coupon the campaign's learning offer gave a person, kept on the recipient for good
/// (the offer is sticky once seen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferMark {
    pub coupon_id: CouponId,
    pub segment: crate::experiment::Segment,
    /// In the holdout: the baseline coupon, not a learned choice.
    pub holdout: bool,
    pub at: DateTime<Utc>,
}

impl CouponDef {
    /// Whether the coupon is given against the info form (a phone), so that "once per person"
    /// is counted per customer, not per recipient.
    pub fn needs_form(&self) -> bool {
        matches!(
            self.eligibility,
            Eligibility::FormCompleted | Eligibility::SurveyAndFormCompleted
        )
    }

    /// Whether "once per person" is counted per customer (the brand's person behind their
    /// recipients): coupons against the form, and a segment's, which a customer with two
    /// recipients in the campaign must not get twice.
    pub fn once_per_customer(&self) -> bool {
        self.needs_form() || matches!(self.eligibility, Eligibility::Segment(_) | Eligibility::Offered)
    }
}

/// Whether `r` (with their customer, when known, and the campaign's segments they are a member
/// of) may claim `def` now; `Err` says why not, in Korean.
pub fn eligible(
    def: &CouponDef,
    r: &Recipient,
    customer: Option<&Customer>,
    segments: &std::collections::BTreeSet<SegmentId>,
    now: DateTime<Utc>,
) -> Result<(), Ineligible> {
    if def.valid_from.is_some_and(|f| now < f) || def.valid_until.is_some_and(|u| now >= u) {
        return Err(Ineligible::OutsideWindow);
    }
    match &def.eligibility {
        Eligibility::Everyone => {}
        Eligibility::FormCompleted if r.form_completed_at.is_none() => {
            return Err(Ineligible::NotEligible("정보를 입력하면 쿠폰을 받을 수 있어요"));
        }
        Eligibility::FormCompleted => {}
        Eligibility::SurveyCompleted if r.survey_completed_at.is_none() => {
            return Err(Ineligible::NotEligible("설문을 마치면 쿠폰을 받을 수 있어요"));
        }
        Eligibility::SurveyAndFormCompleted if r.survey_completed_at.is_none() => {
            return Err(Ineligible::NotEligible("평가를 마치면 쿠폰을 받을 수 있어요"));
        }
        Eligibility::SurveyAndFormCompleted if r.form_completed_at.is_none() => {
            return Err(Ineligible::NotEligible("연락처를 남기면 감사 쿠폰을 받을 수 있어요"));
        }
        Eligibility::SurveyCompleted | Eligibility::SurveyAndFormCompleted => {}
        Eligibility::Segment(id) if !segments.contains(id) => return Err(Ineligible::NotInSegment),
        Eligibility::Segment(_) => {}
        Eligibility::Offered if r.offer.as_ref().is_none_or(|o| o.coupon_id != def.id) => {
            return Err(Ineligible::NotOffered);
        }
        Eligibility::Offered => {}
    }
    // PIPA §22: marketing consent may be required only for a declared marketing benefit.
    if def.requires_marketing_consent && !customer.is_some_and(Customer::marketing_given) {
        return Err(Ineligible::NotEligible(
            "광고성 정보 수신에 동의하면 받을 수 있는 혜택이에요",
        ));
    }
    Ok(())
}
