//! The console's users: who may sign in, with which role, to which campaigns. A password is
//! kept only as an argon2id hash (PHC string); the clear password never leaves the call that
//! checks or sets it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::values::{CampaignId, ParseError, StoreId};

/// A user's e-mail address, their sign-in name: trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim().to_lowercase();
        let bad = |why| Err(ParseError::new("email", why));
        if s.len() < 3 || s.len() > 254 {
            return bad("must be 3 to 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("must have an @");
        };
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return bad("must look like name@example.com");
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '\'' | '#'))
        {
            return bad("must not hold spaces, quotes, angle brackets or #");
        }
        Ok(Email(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Email::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// What a user may do.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Role {
    /// Sees and changes their campaigns: pause, resume, imports, exports.
    Admin,
    /// Sees their campaigns' numbers and people (masked); changes nothing.
    Viewer,
    /// Store staff: redeems coupons for this store only.
    Store(StoreId),
}

impl Role {
    /// `admin`, `viewer` or `store:{store id}`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            other => match other.strip_prefix("store:") {
                Some(store) => Ok(Role::Store(StoreId::parse(store)?)),
                None => Err(ParseError::new("role", "must be admin, viewer or store:STORE_ID")),
            },
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Admin => f.write_str("admin"),
            Role::Viewer => f.write_str("viewer"),
            Role::Store(s) => write!(f, "store:{s}"),
        }
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Role::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A console user as stored.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct User {
    pub email: Email,
    pub role: Role,
    /// The campaigns they see; empty means every campaign. Store staff see their store only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub campaigns: Vec<CampaignId>,
    /// argon2id, as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub password_set_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    /// Whether the user sees this campaign.
    pub fn sees(&self, campaign: &CampaignId) -> bool {
        !matches!(self.role, Role::Store(_)) && (self.campaigns.is_empty() || self.campaigns.contains(campaign))
    }

    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// A new password, checked: 10 to 128 characters, not one character repeated.
pub struct Password(String);

/// The shortest password a user may set (NIST SP 800-63B asks at least 8; the console guards
/// people's data, so 10).
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

impl Password {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let n = s.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
            return Err(ParseError::new("password", "must be 10 to 128 characters"));
        }
        let mut chars = s.chars();
        let first = chars.next();
        if chars.all(|c| Some(c) == first) {
            return Err(ParseError::new("password", "must not be one character repeated"));
        }
        Ok(Password(s.to_owned()))
    }

    /// The argon2id hash (OWASP's parameters: 19 MiB, 2 passes, 1 lane) with a random salt.
    pub fn hash(&self) -> Result<String, PasswordError> {
        use argon2::PasswordHasher;
        use argon2::password_hash::SaltString;
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Ok(hasher()?.hash_password(self.0.as_bytes(), &salt)?.to_string())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing: {0}")]
pub struct PasswordError(String);

impl From<argon2::password_hash::Error> for PasswordError {
    fn from(e: argon2::password_hash::Error) -> Self {
        PasswordError(e.to_string())
    }
}

fn hasher() -> Result<argon2::Argon2<'static>, PasswordError> {
    let params = argon2::Params::new(19 * 1024, 2, 1, None).map_err(|e| PasswordError(e.to_string()))?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// Whether `candidate` is the password `hash` was made from (constant time in the hash
/// comparison; a malformed hash never matches).
pub fn verify_password(hash: &str, candidate: &str) -> bool {
    use argon2::PasswordVerifier;
    let Ok(parsed) = argon2::PasswordHash::new(hash) else {
        return false;
    };
    hasher().is_ok_and(|h| h.verify_password(candidate.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowered_and_checked() {
        assert_eq!(
            Email::parse("  Kim.MinJi@Brand.co.kr ").map(|e| e.to_string()).ok(),
            Some("kim.minji@brand.co.kr".into())
        );
        for bad in ["", "a@b", "nobody", "a@@b.kr", "a b@c.kr", "<x>@c.kr", "a@.kr", "a@kr."] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_read_and_write_alike() {
        for s in ["admin", "viewer", "store:gangnam-01"] {
            assert_eq!(Role::parse(s).map(|r| r.to_string()).ok(), Some(s.to_owned()));
        }
        assert!(Role::parse("owner").is_err());
        assert!(Role::parse("store:").is_err());
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() -> Result<(), Box<dyn std::error::Error>> {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("aaaaaaaaaaaa").is_err());
        let p = Password::parse("벚꽃라떼는-봄에만-나와요")?;
        let h = p.hash()?;
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "벚꽃라떼는-봄에만-나와요"));
        assert!(!verify_password(&h, "벚꽃라떼는-봄에만-나와요!"));
        assert!(!verify_password("not a hash", "벚꽃라떼는-봄에만-나와요"));
        assert_ne!(h, p.hash()?, "a fresh salt each time");
        assert_eq!(format!("{p:?}"), "Password(…)");
        Ok(())
    }

    #[test]
    fn store_staff_see_no_campaign_and_others_theirs() -> Result<(), Box<dyn std::error::Error>> {
        let now = Utc::now();
        let spring = CampaignId::parse("spring")?;
        let mut u = User {
            email: Email::parse("a@b.kr")?,
            role: Role::Viewer,
            campaigns: vec![],
            password_hash: String::new(),
            created_at: now,
            password_set_at: now,
            disabled_at: None,
        };
        assert!(u.sees(&spring));
        u.campaigns = vec![CampaignId::parse("autumn")?];
        assert!(!u.sees(&spring));
        u.role = Role::Store(StoreId::parse("gangnam-01")?);
        u.campaigns.clear();
        assert!(!u.sees(&spring));
        Ok(())
    }
}
