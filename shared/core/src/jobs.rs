//! SQS job messages. Each is a contract with its consumers (docs/events.md): a version field,
//! strict parsing, and a reason when a message cannot be taken.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{CampaignId, CouponId, RecipientId};

/// Latest version of `CouponIssueJob`: v2 adds `variant`. A job without a variant is still
/// sent as v1, so an issuer of before v2 takes every job of a campaign without an A/B test.
/// The issuer takes both; a consumer refuses versions it does not know.
pub const COUPON_ISSUE_VERSION: u32 = 2;

/// The versions of `CouponIssueJob` the issuer takes.
pub const COUPON_ISSUE_VERSIONS: [u32; 2] = [1, 2];

/// "Issue this coupon to this person", sent by the page when a recipient claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponIssueJob {
    pub schema_version: u32,
    /// Always `coupon_issue`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Identifies the claim; the same claim sent twice is issued once.
    pub claim_id: String,
    pub campaign_id: CampaignId,
    pub coupon_id: CouponId,
    pub recipient_id: RecipientId,
    /// Which of the recipient's `per_person` coupons this is (1-based).
    pub slot: u32,
    pub claimed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_id: Option<RecipientId>,
    pub chain_head: RecipientId,
    /// v2: the person's page variant (A/B), for the coupon and its events. Absent in v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// Why a job message was refused (it goes to the dead-letter queue with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("unknown schema_version {0} (this consumer knows 1 and {COUPON_ISSUE_VERSION})")]
    UnknownVersion(u64),
    #[error("not a coupon_issue job: type {0:?}")]
    WrongType(String),
    #[error("malformed job: {0}")]
    Malformed(String),
}

impl CouponIssueJob {
    /// The version a job is sent as: the oldest that carries all it holds.
    pub fn version_for(variant: Option<&str>) -> u32 {
        if variant.is_some() { 2 } else { 1 }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a message body, checking the version before the fields so an unknown version
    /// is reported as such rather than as a missing field.
    pub fn parse(body: &str) -> Result<Self, JobError> {
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| JobError::NotJson(e.to_string()))?;
        match value.get("schema_version").and_then(serde_json::Value::as_u64) {
            Some(v) if COUPON_ISSUE_VERSIONS.iter().any(|k| u64::from(*k) == v) => {}
            Some(v) => return Err(JobError::UnknownVersion(v)),
            None => return Err(JobError::Malformed("missing schema_version".into())),
        }
        match value.get("type").and_then(serde_json::Value::as_str) {
            Some("coupon_issue") => {}
            other => return Err(JobError::WrongType(other.unwrap_or("").to_owned())),
        }
        let job: CouponIssueJob = serde_json::from_value(value).map_err(|e| JobError::Malformed(e.to_string()))?;
        if job.slot == 0 {
            return Err(JobError::Malformed("slot must be at least 1".into()));
        }
        if job.schema_version == 1 && job.variant.is_some() {
            return Err(JobError::Malformed("variant is a v2 field".into()));
        }
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_variant_makes_a_v2_job_and_v1_stays_as_it_was() {
        let v1 = r#"{"schema_version":1,"type":"coupon_issue","claim_id":"c","campaign_id":"spring-sale","coupon_id":"welcome","recipient_id":"AAAAAAAAAAAAAAAA","slot":1,"claimed_at":"2026-03-02T03:40:10Z","chain_head":"AAAAAAAAAAAAAAAA"}"#;
        let job = CouponIssueJob::parse(v1).expect("a v1 job");
        assert_eq!((job.schema_version, job.variant.as_deref()), (1, None));
        let v2 = v1.replace(r#""schema_version":1"#, r#""schema_version":2"#).replace('}', r#","variant":"B"}"#);
        let job = CouponIssueJob::parse(&v2).expect("a v2 job");
        assert_eq!((job.schema_version, job.variant.as_deref()), (2, Some("B")));
        assert_eq!(CouponIssueJob::parse(&job.to_json()), Ok(job));
        // A variant under v1 is not v1.
        let mixed = v1.replace('}', r#","variant":"B"}"#);
        assert!(matches!(CouponIssueJob::parse(&mixed), Err(JobError::Malformed(_))));
        assert_eq!(CouponIssueJob::version_for(None), 1);
        assert_eq!(CouponIssueJob::version_for(Some("A")), 2);
    }

    #[test]
    fn refusals_say_why() {
        assert!(matches!(CouponIssueJob::parse("{"), Err(JobError::NotJson(_))));
        assert_eq!(
            CouponIssueJob::parse(r#"{"schema_version":3,"type":"coupon_issue"}"#),
            Err(JobError::UnknownVersion(3))
        );
        assert!(matches!(
            CouponIssueJob::parse(r#"{"schema_version":1,"type":"coupon_issue"}"#),
            Err(JobError::Malformed(_))
        ));
        assert!(matches!(
            CouponIssueJob::parse(r#"{"schema_version":1,"type":"other"}"#),
            Err(JobError::WrongType(_))
        ));
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,200}") {
            let _ = CouponIssueJob::parse(&s);
        }
    }
}
