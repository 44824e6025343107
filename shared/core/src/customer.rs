//! The brand's customer: one person across every campaign of a brand, known by a keyed hash of
//! their phone number. It holds the contact details and the consent state; campaign recipients
//! point at it. An opt-out, an 080 unsubscribe or a CRM withdrawal is recorded here once and
//! so covers every campaign of the brand.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;

use crate::consent::{ConsentState, Purpose, Source};
use crate::values::{BrandId, ParseError, PhoneNumber};

/// The deployment's key for hashing phone numbers (`MCAMP_PHONE_KEY`). A plain SHA-256 of a
/// Korean mobile number is reversed by enumerating the 10^8 numbers in seconds; an HMAC under a
/// secret is not. Never rotated: a customer's key is derived from it.
#[derive(Clone)]
pub struct PhoneKey(Vec<u8>);

impl PhoneKey {
    /// At least 32 characters.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if s.len() < 32 {
            return Err(ParseError::new("phone key", "must be at least 32 characters"));
        }
        Ok(PhoneKey(s.as_bytes().to_vec()))
    }

    /// HMAC-SHA256 of the brand and the canonical number, the first 128 bits in hex. The brand
    /// is inside the MAC, so one person's keys in two brands cannot be linked.
    pub fn customer_key(&self, brand: &BrandId, phone: &PhoneNumber) -> CustomerKey {
        // HMAC takes a key of any length: this never fails.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return CustomerKey(String::new()),
        };
        mac.update(b"phone|");
        mac.update(brand.as_str().as_bytes());
        mac.update(b"|");
        mac.update(phone.as_str().as_bytes());
        CustomerKey(hex::encode(&mac.finalize().into_bytes()[..16]))
    }
}

impl fmt::Debug for PhoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneKey(***)")
    }
}

/// A customer's key within their brand: 32 lowercase hex characters of a keyed hash of the phone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CustomerKey(String);

impl CustomerKey {
    pub const LEN: usize = 32;
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.len() != Self::LEN || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(ParseError::new("customer", "must be 32 lowercase hex characters"));
        }
        Ok(CustomerKey(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl Serialize for CustomerKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for CustomerKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CustomerKey::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The current consent of each purpose; `None` when not given or withdrawn. The ledger keeps
/// every change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerConsents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<ConsentState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing_sms: Option<ConsentState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing_kakao: Option<ConsentState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub night: Option<ConsentState>,
}

impl CustomerConsents {
    pub fn get(&self, p: Purpose) -> Option<&ConsentState> {
        match p {
            Purpose::Privacy => self.privacy.as_ref(),
            Purpose::MarketingSms => self.marketing_sms.as_ref(),
            Purpose::MarketingKakao => self.marketing_kakao.as_ref(),
            Purpose::Night => self.night.as_ref(),
        }
    }
    pub fn slot(&mut self, p: Purpose) -> &mut Option<ConsentState> {
        match p {
            Purpose::Privacy => &mut self.privacy,
            Purpose::MarketingSms => &mut self.marketing_sms,
            Purpose::MarketingKakao => &mut self.marketing_kakao,
            Purpose::Night => &mut self.night,
        }
    }
    /// Marketing consent by any medium.
    pub fn any_marketing(&self) -> bool {
        self.marketing_sms.is_some() || self.marketing_kakao.is_some()
    }
}

/// Ads to this customer are refused for the whole brand: an opt-out, an 080 unsubscribe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    pub at: DateTime<Utc>,
    pub how: Source,
}

/// One customer of a brand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub brand: BrandId,
    pub key: CustomerKey,
    /// Absent for a customer known only by an 080 unsubscribe, and after erasure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The brand imported this phone (its CRM knows the number): a consent given on that
    /// customer's own imported link needs no confirmation.
    #[serde(default)]
    pub imported: bool,
    #[serde(default)]
    pub consents: CustomerConsents,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Personal data is kept at least until then (the latest retention promise of the
    /// campaigns this customer is in); a standing marketing consent keeps it longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
    /// Revision: every write is conditional on the one it read.
    #[serde(default)]
    pub rev: u64,
}

/// Whether a customer may get an ad by one medium at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdDecision {
    /// Send. `night_override` when only the marketer's explicit night override lets it through.
    Send {
        night_override: bool,
    },
    /// Consent given on a form but not confirmed by the phone's owner: no ad, a confirmation
    /// message instead.
    Confirm,
    Exclude(AdExclusion),
}

/// Why a customer gets no ad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdExclusion {
    /// Opted out or unsubscribed through the 080 line, for the whole brand.
    Suppressed,
    NoPhone,
    NoMarketingConsent,
    /// The send time is at night and the customer did not consent to night ads.
    NightWithoutConsent,
}

impl Customer {
    pub fn new(brand: BrandId, key: CustomerKey, phone: Option<PhoneNumber>, now: DateTime<Utc>) -> Self {
        Customer {
            brand,
            key,
            phone,
            name: None,
            imported: false,
            consents: CustomerConsents::default(),
            suppressed: None,
            created_at: now,
            updated_at: now,
            keep_until: None,
            erased_at: None,
            rev: 0,
        }
    }

    /// Ads are refused: suppressed, and no marketing consent confirmed by the person after it
    /// (on their own link or by the confirmation link; a CRM import never lifts an opt-out).
    pub fn is_suppressed(&self) -> bool {
        let Some(s) = &self.suppressed else {
            return false;
        };
        let lifts = |c: Option<&ConsentState>| {
            c.is_some_and(|c| {
                matches!(c.how, Source::Form | Source::ConfirmLink) && c.confirmed_at.is_some_and(|at| at > s.at)
            })
        };
        !(lifts(self.consents.marketing_sms.as_ref()) || lifts(self.consents.marketing_kakao.as_ref()))
    }

    /// A confirmed marketing consent in force: it keeps the person's contact details beyond
    /// the campaigns' retention (an unconfirmed one, typed by anybody, does not).
    pub fn standing_consent(&self) -> bool {
        let confirmed = |c: Option<&ConsentState>| c.is_some_and(|c| c.confirmed_at.is_some());
        !self.is_suppressed()
            && (confirmed(self.consents.marketing_sms.as_ref()) || confirmed(self.consents.marketing_kakao.as_ref()))
    }

    /// Marketing consent given and not refused since (confirmed or not): what a coupon that
    /// requires marketing consent asks of the person on the page.
    pub fn marketing_given(&self) -> bool {
        !self.is_suppressed() && self.consents.any_marketing()
    }

    /// Whether an ad by `medium` (`MarketingSms` or `MarketingKakao`) may go at `send_at`.
    pub fn ad_decision(&self, medium: Purpose, is_night: bool, allow_night: bool) -> AdDecision {
        if self.is_suppressed() {
            return AdDecision::Exclude(AdExclusion::Suppressed);
        }
        if self.phone.is_none() {
            return AdDecision::Exclude(AdExclusion::NoPhone);
        }
        let Some(consent) = self.consents.get(medium) else {
            return AdDecision::Exclude(AdExclusion::NoMarketingConsent);
        };
        if consent.confirmed_at.is_none() {
            return AdDecision::Confirm;
        }
        let night_without = is_night && self.consents.night.as_ref().is_none_or(|n| n.confirmed_at.is_none());
        if night_without && !allow_night {
            return AdDecision::Exclude(AdExclusion::NightWithoutConsent);
        }
        AdDecision::Send {
            night_override: night_without,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PhoneKey {
        PhoneKey::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn keys_are_keyed_per_brand_and_stable() {
        let phone = PhoneNumber::parse("010-1234-5678").unwrap();
        let same = PhoneNumber::parse("+82 10 1234 5678").unwrap();
        let a = BrandId::parse("brand-a").unwrap();
        let b = BrandId::parse("brand-b").unwrap();
        let k = key().customer_key(&a, &phone);
        assert_eq!(k, key().customer_key(&a, &same), "one person, one key");
        assert_ne!(k, key().customer_key(&b, &phone), "brands cannot link");
        let other = PhoneKey::parse("another-key-0123456789abcdef01234567").unwrap();
        assert_ne!(k, other.customer_key(&a, &phone), "keyed");
        assert!(CustomerKey::parse(k.as_str()).is_ok());
        assert!(!k.as_str().contains("5678"));
        assert!(PhoneKey::parse("short").is_err());
        assert_eq!(format!("{:?}", key()), "PhoneKey(***)");
    }

    fn state(at: DateTime<Utc>, confirmed: bool) -> ConsentState {
        ConsentState {
            at,
            how: Source::Form,
            wording_version: "v1".into(),
            confirmed_at: confirmed.then_some(at),
        }
    }

    #[test]
    fn ads_need_confirmed_consent_and_no_suppression() {
        let now = Utc::now();
        let phone = PhoneNumber::parse("010-1234-5678").unwrap();
        let mut c = Customer::new(
            BrandId::default(),
            key().customer_key(&BrandId::default(), &phone),
            Some(phone),
            now,
        );
        let sms = Purpose::MarketingSms;
        assert_eq!(
            c.ad_decision(sms, false, false),
            AdDecision::Exclude(AdExclusion::NoMarketingConsent)
        );
        c.consents.marketing_sms = Some(state(now, false));
        assert_eq!(c.ad_decision(sms, false, false), AdDecision::Confirm);
        c.consents.marketing_sms = Some(state(now, true));
        assert_eq!(
            c.ad_decision(sms, false, false),
            AdDecision::Send { night_override: false }
        );
        assert_eq!(
            c.ad_decision(sms, true, false),
            AdDecision::Exclude(AdExclusion::NightWithoutConsent)
        );
        assert_eq!(
            c.ad_decision(sms, true, true),
            AdDecision::Send { night_override: true }
        );
        assert_eq!(
            c.ad_decision(Purpose::MarketingKakao, false, false),
            AdDecision::Exclude(AdExclusion::NoMarketingConsent)
        );
        c.suppressed = Some(Suppression {
            at: now + chrono::Duration::seconds(1),
            how: Source::Unsubscribe080,
        });
        assert_eq!(
            c.ad_decision(sms, false, false),
            AdDecision::Exclude(AdExclusion::Suppressed)
        );
        // A consent confirmed after the opt-out lifts it.
        c.consents.marketing_sms = Some(state(now + chrono::Duration::seconds(2), true));
        assert_eq!(
            c.ad_decision(sms, false, false),
            AdDecision::Send { night_override: false }
        );
    }
}
