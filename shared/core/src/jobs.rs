//! SQS job messages. Each is a contract with its consumers (docs/events.md): a version field,
//! strict parsing, and a reason when a message cannot be taken.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::customer::CustomerKey;
use crate::follow_up::{Channel, FollowUpId};
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
    /// A `send_message` job (or another kind than `coupon_issue`) of a version this consumer
    /// does not know.
    #[error("unknown {kind} schema_version {found} (this consumer knows {known})")]
    UnknownVersionOf { kind: &'static str, found: u64, known: u32 },
    #[error("not a {expected} job: type {found:?}")]
    NotOfType { expected: &'static str, found: String },
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

/// Version of `SendMessageJob`. A consumer refuses versions it does not know.
pub const SEND_MESSAGE_VERSION: u32 = 1;
/// Most variables one `send_message` job carries.
pub const MAX_VARIABLES: usize = 8;
/// Longest variable value, and longest composed text, in characters.
pub const MAX_VARIABLE_CHARS: usize = 300;
pub const MAX_TEXT_CHARS: usize = 2000;

/// "Send this message to this person, not before then", made by a follow-up run (`actions`)
/// for the brand's sender adapter. It names the person by ids only: no phone number travels in
/// a job (the adapter resolves it from `customer`, see docs/events.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessageJob {
    pub schema_version: u32,
    /// Always `send_message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The same for one follow-up to one person however often it is sent (a rerun, a
    /// redelivery): a consumer sends each `job_id` once.
    pub job_id: String,
    pub campaign_id: CampaignId,
    pub follow_up_id: FollowUpId,
    /// Which of the follow-up's steps (1-based) the person's journey took.
    pub step: u32,
    pub recipient_id: RecipientId,
    /// The brand's customer (keyed hash of the phone) whose phone to send to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerKey>,
    pub channel: Channel,
    /// The sender's template code, when the step names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The template's values: `name` (as safe in an ad, else `고객`), `link`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// The whole message as composed (for an ad: `(광고)`, the brand and the 080 line included),
    /// for a sender that takes text rather than a template.
    pub text: String,
    /// The LMS subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// An advertisement: the adapter must also hold it through the night (21:00-08:00 KST).
    pub ad: bool,
    /// Do not send before this (RFC 3339): a job made outside the follow-up's send hours waits
    /// for their next start.
    pub not_before: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl SendMessageJob {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a message body, the version first (so an unknown version is reported as such),
    /// then the type, the fields and their bounds.
    pub fn parse(body: &str) -> Result<Self, JobError> {
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| JobError::NotJson(e.to_string()))?;
        match value.get("schema_version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(SEND_MESSAGE_VERSION) => {}
            Some(v) => {
                return Err(JobError::UnknownVersionOf {
                    kind: "send_message",
                    found: v,
                    known: SEND_MESSAGE_VERSION,
                });
            }
            None => return Err(JobError::Malformed("missing schema_version".into())),
        }
        match value.get("type").and_then(serde_json::Value::as_str) {
            Some("send_message") => {}
            other => {
                return Err(JobError::NotOfType {
                    expected: "send_message",
                    found: other.unwrap_or("").to_owned(),
                });
            }
        }
        let job: SendMessageJob = serde_json::from_value(value).map_err(|e| JobError::Malformed(e.to_string()))?;
        let bad = |why: String| Err(JobError::Malformed(why));
        if job.job_id.len() != 32 || !job.job_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad("job_id must be 32 hex characters".into());
        }
        if job.step == 0 {
            return bad("step must be at least 1".into());
        }
        if job.variables.len() > MAX_VARIABLES {
            return bad(format!("at most {MAX_VARIABLES} variables"));
        }
        for (k, v) in &job.variables {
            if k.is_empty() || k.len() > 32 || !k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return bad(format!("variable name {k:?} must be 1 to 32 of a-z and _"));
            }
            // Phones never travel in a job: the adapter resolves them from the customer.
            if k.contains("phone") || k == "tel" {
                return bad(format!("variable {k:?}: a job carries no phone number"));
            }
            if v.chars().count() > MAX_VARIABLE_CHARS {
                return bad(format!("variable {k:?} is over {MAX_VARIABLE_CHARS} characters"));
            }
        }
        if job.text.trim().is_empty() || job.text.chars().count() > MAX_TEXT_CHARS {
            return bad(format!("text must be 1 to {MAX_TEXT_CHARS} characters"));
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
        let v2 = v1
            .replace(r#""schema_version":1"#, r#""schema_version":2"#)
            .replace('}', r#","variant":"B"}"#);
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

#[cfg(test)]
mod send_message_tests {
    use super::*;
    use proptest::prelude::*;

    fn job() -> SendMessageJob {
        SendMessageJob {
            schema_version: SEND_MESSAGE_VERSION,
            kind: "send_message".into(),
            job_id: "0123456789abcdef0123456789abcdef".into(),
            campaign_id: CampaignId::parse("spring").unwrap(),
            follow_up_id: FollowUpId::parse("day-after").unwrap(),
            step: 2,
            recipient_id: RecipientId::generate(),
            customer: None,
            channel: Channel::Lms,
            template: None,
            variables: BTreeMap::from([("name".to_owned(), "김민지".to_owned())]),
            text: "(광고)[봄꽃커피] 김민지님\n무료수신거부 080-123-4567".into(),
            subject: Some("봄꽃커피".into()),
            ad: true,
            not_before: "2026-12-01T00:00:00Z".parse().unwrap(),
            created_at: "2026-11-30T15:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_job_round_trips_and_refusals_say_why() {
        let j = job();
        assert_eq!(SendMessageJob::parse(&j.to_json()), Ok(j.clone()));
        let mut v: serde_json::Value = serde_json::from_str(&j.to_json()).unwrap();
        assert_eq!(v["not_before"], "2026-12-01T00:00:00Z");
        v["schema_version"] = 2.into();
        let e = SendMessageJob::parse(&v.to_string()).unwrap_err();
        assert!(matches!(e, JobError::UnknownVersionOf { found: 2, .. }));
        assert!(e.to_string().contains("unknown send_message schema_version 2"), "{e}");
        v["schema_version"] = 1.into();
        v["type"] = "coupon_issue".into();
        assert!(matches!(
            SendMessageJob::parse(&v.to_string()),
            Err(JobError::NotOfType { .. })
        ));
        v["type"] = "send_message".into();
        v["variables"]["phone"] = "01012345678".into();
        let e = SendMessageJob::parse(&v.to_string()).unwrap_err();
        assert!(e.to_string().contains("no phone number"), "{e}");
        let mut w: serde_json::Value = serde_json::from_str(&j.to_json()).unwrap();
        w["step"] = 0.into();
        assert!(matches!(
            SendMessageJob::parse(&w.to_string()),
            Err(JobError::Malformed(_))
        ));
        w["step"] = 1.into();
        w["extra"] = 1.into();
        assert!(matches!(
            SendMessageJob::parse(&w.to_string()),
            Err(JobError::Malformed(_))
        ));
        assert!(matches!(SendMessageJob::parse("{"), Err(JobError::NotJson(_))));
    }

    proptest! {
        #[test]
        fn the_parser_never_panics(s in "\\PC{0,200}") {
            let _ = SendMessageJob::parse(&s);
        }
    }
}
