//! A read-only link for the brand's client: a token URL that shows one campaign's dashboard
//! without names, until it expires or an admin revokes it. Only the token's SHA-256 is stored,
//! so the table cannot be read back into working links.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::coupon::hash_key;
use crate::values::{CampaignId, random_base62};

/// Characters of a token: 24 base62, about 143 bits.
pub const TOKEN_LEN: usize = 24;
/// The longest a link may live.
pub const MAX_DAYS: i64 = 90;
/// What the console offers by default.
pub const DEFAULT_DAYS: i64 = 30;

/// A read-only link as stored (never its token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewLink {
    /// SHA-256 of the token, hex: the link's id.
    pub id: String,
    pub campaign_id: CampaignId,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why a link shows nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    Expired,
    Revoked,
}

impl ViewLink {
    /// A new link and its token (shown once, to the admin who made it). `days` is clamped to
    /// 1..=`MAX_DAYS`.
    pub fn new(campaign_id: CampaignId, created_by: String, days: i64, now: DateTime<Utc>) -> (ViewLink, String) {
        let token = random_base62(TOKEN_LEN);
        let link = ViewLink {
            id: hash_key(&token),
            campaign_id,
            created_by,
            created_at: now,
            expires_at: now + Duration::days(days.clamp(1, MAX_DAYS)),
            revoked_at: None,
        };
        (link, token)
    }

    /// The id a presented token would have.
    pub fn id_of(token: &str) -> String {
        hash_key(token)
    }

    /// Whether the link shows the dashboard at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> Result<(), Closed> {
        if self.revoked_at.is_some_and(|r| r <= now) {
            Err(Closed::Revoked)
        } else if now >= self.expires_at {
            Err(Closed::Expired)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_until_it_expires_or_is_revoked() -> Result<(), crate::values::ParseError> {
        let now = Utc::now();
        let (mut link, token) = ViewLink::new(CampaignId::parse("spring")?, "a@b.kr".into(), 500, now);
        assert_eq!(token.len(), TOKEN_LEN);
        assert_eq!(ViewLink::id_of(&token), link.id);
        assert_ne!(link.id, token);
        assert_eq!(link.expires_at, now + Duration::days(MAX_DAYS));
        assert_eq!(link.state(now), Ok(()));
        assert_eq!(link.state(link.expires_at), Err(Closed::Expired));
        link.revoked_at = Some(now);
        assert_eq!(link.state(now), Err(Closed::Revoked));
        let (other, token2) = ViewLink::new(CampaignId::parse("spring")?, "a@b.kr".into(), 0, now);
        assert_ne!(token, token2);
        assert_eq!(other.expires_at, now + Duration::days(1));
        Ok(())
    }
}
