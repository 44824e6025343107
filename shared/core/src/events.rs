//! Events: the append-only record of what every person did. Stored in the events table,
//! whose DynamoDB stream downstream consumers read. The JSON shape is a contract:
//! docs/events.md documents it; a breaking change bumps that type's version
//! (`EventData::schema_version`), an additive one keeps it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::client::ClientInfo;
use crate::consent::{Purpose, Source};
use crate::coupon::IssuedCoupon;
use crate::jobs::CouponIssueJob;
use crate::link::Link;
use crate::recipient::Recipient;
use crate::values::{CampaignId, CouponCode, CouponId, RecipientId, ShortCode, StoreId, random_base62};

/// Version of the event record, per event type (`EventData::schema_version`). Consumers must
/// reject versions they do not know. Every type is at 1 except `consent_changed` (2).
pub const SCHEMA_VERSION: u32 = 1;

/// One event. `data` carries the kind and its fields (`"type": "click"`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub schema_version: u32,
    /// 20 random base62 characters; unique, so replays can be de-duplicated downstream.
    pub event_id: String,
    pub at: DateTime<Utc>,
    pub campaign_id: CampaignId,
    /// The person this happened to. For a `preview`, the owner of the previewed link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<RecipientId>,
    /// Who shared the link this person arrived through; absent for a direct (SMS) link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_id: Option<RecipientId>,
    /// The first recipient of the share chain that brought this person (themself when direct).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_head: Option<RecipientId>,
    /// The page variant this person is assigned (A/B tests); absent when the campaign has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(flatten)]
    pub data: EventData,
}

impl Event {
    pub fn new(campaign_id: CampaignId, at: DateTime<Utc>, data: EventData) -> Self {
        Event {
            schema_version: data.schema_version(),
            event_id: random_base62(20),
            at,
            campaign_id,
            recipient_id: None,
            referrer_id: None,
            chain_head: None,
            variant: None,
            data,
        }
    }
    /// Credits the event to a person and their share chain, in their page variant.
    pub fn by(mut self, a: Attribution) -> Self {
        self.recipient_id = a.person;
        self.referrer_id = a.referrer;
        self.chain_head = a.chain_head;
        self.variant = a.variant;
        self
    }
    /// The event's type name, as in `"type"`.
    pub fn kind(&self) -> &'static str {
        self.data.kind()
    }
}

/// Whom an event is about and who gets credit for it: the person, who shared the link they
/// arrived through, and the head of their share chain; and the page variant the person was
/// assigned, which every event about them carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub person: Option<RecipientId>,
    pub referrer: Option<RecipientId>,
    pub chain_head: Option<RecipientId>,
    pub variant: Option<String>,
}

impl Attribution {
    /// About the owner of something, with no share credit.
    pub fn owner(person: Option<RecipientId>) -> Self {
        Attribution {
            person,
            ..Attribution::default()
        }
    }

    /// About the owner of a link (a preview of it, a delivery of their share), with no share
    /// credit, in the owner's page variant.
    pub fn owner_of(link: &Link) -> Self {
        Attribution {
            person: link.recipient_id.clone(),
            variant: link.variant.clone(),
            ..Attribution::default()
        }
    }
}

impl From<&Recipient> for Attribution {
    fn from(r: &Recipient) -> Self {
        Attribution {
            person: Some(r.id.clone()),
            referrer: r.referrer_id.clone(),
            chain_head: Some(r.chain_head()),
            variant: r.variant.clone(),
        }
    }
}

/// The owner of a personal link, credited as the link was minted (no profile read on a click).
impl From<&Link> for Attribution {
    fn from(l: &Link) -> Self {
        let head = l.chain_head.clone().or_else(|| l.recipient_id.clone());
        Attribution {
            person: l.recipient_id.clone(),
            referrer: l.referrer_id.clone(),
            chain_head: head,
            variant: l.variant.clone(),
        }
    }
}

impl From<&CouponIssueJob> for Attribution {
    fn from(j: &CouponIssueJob) -> Self {
        Attribution {
            person: Some(j.recipient_id.clone()),
            referrer: j.referrer_id.clone(),
            chain_head: Some(j.chain_head.clone()),
            variant: j.variant.clone(),
        }
    }
}

impl From<&IssuedCoupon> for Attribution {
    fn from(c: &IssuedCoupon) -> Self {
        Attribution {
            person: Some(c.recipient_id.clone()),
            referrer: c.referrer_id.clone(),
            chain_head: Some(c.chain_head.clone()),
            variant: c.variant.clone(),
        }
    }
}

/// How a share was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareChannel {
    Kakao,
    CopyLink,
    Sms,
}

/// How the brand's sender carried a message (its result file or report names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageChannel {
    Sms,
    Lms,
    Mms,
    /// KakaoTalk Alimtalk (notices only).
    Alimtalk,
    /// KakaoTalk Brand Message (ads), which replaced Friendtalk.
    BrandMessage,
    Friendtalk,
    Other,
}

impl MessageChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageChannel::Sms => "sms",
            MessageChannel::Lms => "lms",
            MessageChannel::Mms => "mms",
            MessageChannel::Alimtalk => "alimtalk",
            MessageChannel::BrandMessage => "brand_message",
            MessageChannel::Friendtalk => "friendtalk",
            MessageChannel::Other => "other",
        }
    }
}

/// Why a sender could not deliver a message, in classes every sender's codes map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The number is on the sender's 080 opt-out list.
    OptedOut,
    /// Blocked by the carrier or KISA (spam block, blocked sender number).
    Blocked,
    /// No such number, or not a mobile number.
    InvalidNumber,
    /// Kakao: not a KakaoTalk user, or inactive.
    NotKakaoUser,
    /// Refused outside the ad window (night).
    AdWindow,
    /// The handset was off or out of reach until the sender gave up.
    Timeout,
    /// The carrier refused or failed it.
    Carrier,
    Other,
}

impl FailureReason {
    pub const ALL: [FailureReason; 8] = [
        FailureReason::OptedOut,
        FailureReason::Blocked,
        FailureReason::InvalidNumber,
        FailureReason::NotKakaoUser,
        FailureReason::AdWindow,
        FailureReason::Timeout,
        FailureReason::Carrier,
        FailureReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::OptedOut => "opted_out",
            FailureReason::Blocked => "blocked",
            FailureReason::InvalidNumber => "invalid_number",
            FailureReason::NotKakaoUser => "not_kakao_user",
            FailureReason::AdWindow => "ad_window",
            FailureReason::Timeout => "timeout",
            FailureReason::Carrier => "carrier",
            FailureReason::Other => "other",
        }
    }
}

/// What happened. Serialized with `"type": "<snake_case name>"` beside the envelope fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventData {
    /// A human opened a short link.
    Click {
        code: ShortCode,
        client: ClientInfo,
        /// True the first time this recipient clicks (unique clicks = count of these).
        first: bool,
    },
    /// A link-preview crawler or scanner fetched a short link; not a click.
    Preview {
        code: ShortCode,
        client: ClientInfo,
    },
    PageView {
        page: String,
    },
    /// Client-side signals sent by beacon: `video_play`, `scroll_end`, `cta_tap`.
    Interaction {
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    FormSubmitted {
        fields: Vec<String>,
    },
    /// v2: `purpose` is per medium (`marketing_sms`, `marketing_kakao`), `confirmed` added.
    ConsentChanged {
        purpose: Purpose,
        granted: bool,
        wording_version: String,
        /// How (`import`, `form`, `confirm_link`, `opt_out_link`, `080`).
        channel: Source,
        #[serde(default)]
        confirmed: bool,
    },
    OptedOut {
        channel: Source,
    },
    /// The phone's owner confirmed consents given on a form (the confirmation link).
    ConsentConfirmed {
        purposes: Vec<Purpose>,
    },
    /// Ads to this person are refused for the whole brand from now on.
    Suppressed {
        channel: Source,
    },
    ShareIntent {
        channel: ShareChannel,
        share_code: ShortCode,
    },
    ShareDelivered {
        share_code: ShortCode,
        /// Kakao's `CHAT_TYPE`: `MemoChat` is a share to oneself (나와의 채팅), not to anyone
        /// else; `DirectChat`, `MultiChat`, `OpenDirectChat`, `OpenMultiChat`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chat_type: Option<String>,
        /// Kakao's `HASH_CHAT_ID`: the chat room, hashed per service, to count distinct rooms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chat: Option<String>,
    },
    CouponClaimed {
        coupon_id: CouponId,
        claim_id: String,
    },
    CouponIssued {
        coupon_id: CouponId,
        claim_id: String,
        code: CouponCode,
    },
    CouponSoldOut {
        coupon_id: CouponId,
        claim_id: String,
    },
    /// The campaign's learning offer picked this coupon for the person (once, for good): by
    /// Thompson sampling in their segment, or as the baseline when they are in the holdout.
    CouponOffered {
        coupon_id: CouponId,
        /// Gender × age band when offered, `female.30s` (`unknown` where not known).
        segment: crate::experiment::Segment,
        holdout: bool,
    },
    CouponRedeemed {
        coupon_id: CouponId,
        code: CouponCode,
        store_id: StoreId,
    },
    /// The respondent's first saved answer (or their demographics screen).
    SurveyStarted {
        /// MCS: the store whose poster was scanned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        store_id: Option<StoreId>,
    },
    /// One question answered, or changed; `answer` is absent when an optional question was
    /// skipped. Option ids, a scale value, or the text.
    SurveyAnswered {
        question_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<crate::survey::Answer>,
    },
    SurveyCompleted {
        /// Questions on the respondent's path (branching skips the others).
        answered: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        store_id: Option<StoreId>,
    },
    /// An MCS rating taken out of its store's counts: the same customer had rated the store
    /// that day already (one rating per customer, store and KST day).
    SurveyWithdrawn {
        store_id: StoreId,
    },
    /// The brand's sender accepted the message to this person (its result file or report).
    MessageSent {
        channel: MessageChannel,
        /// Which sender reported it: `nhn`, `solapi`, `sens`, `aligo` or `generic`.
        sender: String,
        /// The sender's id of the message, to tie a later delivery report to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
    },
    /// The sender reported the message received by the handset (or KakaoTalk).
    MessageDelivered {
        channel: MessageChannel,
        sender: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
    },
    /// The sender gave up on the message.
    MessageFailed {
        channel: MessageChannel,
        sender: String,
        reason: FailureReason,
        /// The sender's own result code, as it wrote it (at most 32 characters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
    },
}

impl EventData {
    /// The version of this type's fields: raised when a field's meaning or values change.
    pub fn schema_version(&self) -> u32 {
        match self {
            EventData::ConsentChanged { .. } => 2,
            _ => SCHEMA_VERSION,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            EventData::Click { .. } => "click",
            EventData::Preview { .. } => "preview",
            EventData::PageView { .. } => "page_view",
            EventData::Interaction { .. } => "interaction",
            EventData::FormSubmitted { .. } => "form_submitted",
            EventData::ConsentChanged { .. } => "consent_changed",
            EventData::OptedOut { .. } => "opted_out",
            EventData::ConsentConfirmed { .. } => "consent_confirmed",
            EventData::Suppressed { .. } => "suppressed",
            EventData::ShareIntent { .. } => "share_intent",
            EventData::ShareDelivered { .. } => "share_delivered",
            EventData::CouponClaimed { .. } => "coupon_claimed",
            EventData::CouponIssued { .. } => "coupon_issued",
            EventData::CouponSoldOut { .. } => "coupon_sold_out",
            EventData::CouponOffered { .. } => "coupon_offered",
            EventData::CouponRedeemed { .. } => "coupon_redeemed",
            EventData::SurveyStarted { .. } => "survey_started",
            EventData::SurveyAnswered { .. } => "survey_answered",
            EventData::SurveyCompleted { .. } => "survey_completed",
            EventData::SurveyWithdrawn { .. } => "survey_withdrawn",
            EventData::MessageSent { .. } => "message_sent",
            EventData::MessageDelivered { .. } => "message_delivered",
            EventData::MessageFailed { .. } => "message_failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_json_shape_is_the_documented_contract() -> Result<(), Box<dyn std::error::Error>> {
        let at = DateTime::parse_from_rfc3339("2026-11-23T01:02:03Z")?.with_timezone(&Utc);
        let mut e = Event::new(
            CampaignId::parse("spring-sale")?,
            at,
            EventData::CouponSoldOut {
                coupon_id: CouponId::parse("welcome")?,
                claim_id: "c1".into(),
            },
        );
        e.event_id = "E".into();
        let rid = RecipientId::parse("AAAAAAAAAAAAAAAA")?;
        let e = e.by(Attribution {
            person: Some(rid.clone()),
            referrer: None,
            chain_head: Some(rid),
            variant: None,
        });
        let v = serde_json::to_value(&e)?;
        assert_eq!(
            v,
            serde_json::json!({
                "schema_version": 1, "event_id": "E", "at": "2026-11-23T01:02:03Z",
                "campaign_id": "spring-sale", "recipient_id": "AAAAAAAAAAAAAAAA", "chain_head": "AAAAAAAAAAAAAAAA",
                "type": "coupon_sold_out", "coupon_id": "welcome", "claim_id": "c1"
            })
        );
        let back: Event = serde_json::from_value(v)?;
        assert_eq!(back, e);
        Ok(())
    }
}
