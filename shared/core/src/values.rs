//! Values parsed at the edge. Once a value has its type it is valid.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value from outside failed to parse. Names the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ParseError {
    pub field: &'static str,
    pub reason: String,
}

impl ParseError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        ParseError {
            field,
            reason: reason.into(),
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Equality without an early exit, so the time taken does not leak how much of a secret
/// (a key hash, a form token, an admin key) matched.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Text a person may type into a name or an answer: no control characters (but line breaks
/// when `multiline`) and no invisible format characters (bidi overrides and isolates,
/// zero-width spaces and joiners, the BOM), which can reorder or hide text in a message, a
/// spreadsheet or a report.
pub fn visible_text(s: &str, multiline: bool) -> bool {
    s.chars().all(|c| {
        if c == '\n' {
            return multiline;
        }
        !c.is_control()
            && !matches!(
                c,
                '\u{00AD}'
                    | '\u{061C}'
                    | '\u{180E}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{2064}'
                    | '\u{2066}'..='\u{206F}'
                    | '\u{FEFF}'
                    | '\u{FFF9}'..='\u{FFFB}'
            )
    })
}

/// `len` characters of base62 from `rand::thread_rng`: ChaCha12, a CSPRNG seeded and
/// periodically reseeded from the operating system, so codes stay unguessable without a
/// system call per character (OsRng per character cost ~0.4 µs each on the redirect path).
pub fn random_base62(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| BASE62[rng.gen_range(0..62)] as char).collect()
}

/// Serde through `Display` / `parse`, so a stored or received value is checked again on the way in.
macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $t {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                <$t>::parse(s)
            }
        }
    };
}

/// A slug chosen by the marketer: `[a-z0-9-]`, 2..=40, starting with a letter or digit.
fn parse_slug(field: &'static str, s: &str) -> Result<String, ParseError> {
    if s.len() < 2 || s.len() > 40 {
        return Err(ParseError::new(field, "must be 2 to 40 characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ParseError::new(field, "may use only a-z, 0-9 and '-'"));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(ParseError::new(field, "must not start or end with '-'"));
    }
    Ok(s.to_owned())
}

/// Campaign identifier, e.g. `spring-sale-2026`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CampaignId(String);
impl CampaignId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_slug("campaign_id", s).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
serde_via_str!(CampaignId);

/// Brand identifier, e.g. `bomkkot-coffee`: the unit of the customer base, of consent and of
/// opt-outs. A campaign names its brand (`sender.brand_id`); one brand per deployment is
/// `default`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct BrandId(String);
impl BrandId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_slug("brand_id", s).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl Default for BrandId {
    fn default() -> Self {
        BrandId("default".into())
    }
}
serde_via_str!(BrandId);

/// Store identifier, e.g. `gangnam-01`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct StoreId(String);
impl StoreId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_slug("store_id", s).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
serde_via_str!(StoreId);

/// Coupon definition identifier within a campaign, e.g. `welcome-5000`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CouponId(String);
impl CouponId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_slug("coupon_id", s).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
serde_via_str!(CouponId);

/// A segment of a campaign (its `segments:`), e.g. `warm-browsers`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct SegmentId(String);
impl SegmentId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_slug("segment_id", s).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
serde_via_str!(SegmentId);

/// A follow-up of a campaign (its `follow_ups:`), e.g. `day-after`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct FollowUpId(String);
impl FollowUpId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_slug("follow_ups.id", s).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
serde_via_str!(FollowUpId);

/// Recipient identifier: 16 random base62 characters, minted by mcamp (never derived from the phone).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RecipientId(String);
impl RecipientId {
    pub const LEN: usize = 16;
    pub fn generate() -> Self {
        Self(random_base62(Self::LEN))
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.len() != Self::LEN || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::new("recipient_id", "must be 16 base62 characters"));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
serde_via_str!(RecipientId);

/// The code of a short link, `https://<domain>/<code>`: 1..=10 base62 characters.
///
/// Minted codes are 10 random characters (62^10 ≈ 2^59.5). docs/data-model.md explains
/// the guessing odds.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ShortCode(String);
impl ShortCode {
    pub const MINT_LEN: usize = 10;
    pub const MAX_LEN: usize = 10;
    pub fn generate() -> Self {
        Self(random_base62(Self::MINT_LEN))
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty() {
            return Err(ParseError::new("code", "is empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(ParseError::new("code", "is longer than 10 characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::new(
                "code",
                "may use only base62 characters (0-9, A-Z, a-z)",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
serde_via_str!(ShortCode);

/// A coupon code shown to the recipient and typed or scanned at the store: 4..=32 of `[A-Z0-9-]`.
/// Generated codes are 12 characters of Crockford base32 (no I, L, O, U), about 2^60.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CouponCode(String);
impl CouponCode {
    const ALPHABET: &'static [u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    pub fn generate() -> Self {
        let mut rng = rand::thread_rng();
        Self((0..12).map(|_| Self::ALPHABET[rng.gen_range(0..32)] as char).collect())
    }
    /// Accepts lower case and spaces as typed at a till; stores upper case.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let cleaned: String = s
            .trim()
            .chars()
            .filter(|c| *c != ' ')
            .collect::<String>()
            .to_ascii_uppercase();
        if cleaned.len() < 4 || cleaned.len() > 32 {
            return Err(ParseError::new("coupon_code", "must be 4 to 32 characters"));
        }
        if !cleaned
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ParseError::new("coupon_code", "may use only A-Z, 0-9 and '-'"));
        }
        Ok(Self(cleaned))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
serde_via_str!(CouponCode);

/// A Korean mobile number in one canonical form, `010XXXXXXXX` (digits only, domestic).
///
/// Accepts `010-1234-5678`, `01012345678`, `010 1234 5678`, `+82 10-1234-5678`, `82-10-…`.
/// `Debug` masks the middle digits so a number never reaches a log by accident.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);
impl PhoneNumber {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let err = |r: &str| ParseError::new("phone", r);
        if s.len() > 32 {
            return Err(err("is too long"));
        }
        let trimmed = s.trim();
        let mut digits = String::with_capacity(16);
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '-' | ' ' | '.' | '(' | ')' => {}
                '+' if i == 0 => {}
                _ => {
                    return Err(err("may contain only digits, spaces, '-' and a leading '+'"));
                }
            }
        }
        // Domestic numbers start with 0, so a leading 82 is always the country code.
        let national = match digits.strip_prefix("82") {
            Some(rest) => format!("0{}", rest.strip_prefix('0').unwrap_or(rest)),
            None => digits,
        };
        let ok = match national.get(..3) {
            Some("010") => national.len() == 11,
            Some("011" | "016" | "017" | "018" | "019") => national.len() == 10 || national.len() == 11,
            _ => false,
        };
        if !ok {
            return Err(err("is not a Korean mobile number (010-XXXX-XXXX)"));
        }
        Ok(Self(national))
    }
    /// Canonical digits, `01012345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `010-1234-5678`, for the marketer's exports.
    pub fn dashed(&self) -> String {
        let s = &self.0;
        let mid = s.len() - 4;
        format!("{}-{}-{}", &s[..3], &s[3..mid], &s[mid..])
    }
    /// `010-****-5678`, safe for logs and screens.
    pub fn masked(&self) -> String {
        let s = &self.0;
        format!("{}-****-{}", &s[..3], &s[s.len() - 4..])
    }
}
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}
impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PhoneNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
    Other,
}

impl Gender {
    /// Accepts what forms and Korean spreadsheets write: `F`/`M`, `여`/`남`, `female`/`male`, `여성`/`남성`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_lowercase().as_str() {
            "f" | "female" | "여" | "여성" | "여자" => Ok(Gender::Female),
            "m" | "male" | "남" | "남성" | "남자" => Ok(Gender::Male),
            "o" | "other" | "기타" => Ok(Gender::Other),
            _ => Err(ParseError::new("gender", "must be 여/남/기타 (F/M/other)")),
        }
    }
    pub fn label_ko(self) -> &'static str {
        match self {
            Gender::Female => "여성",
            Gender::Male => "남성",
            Gender::Other => "기타",
        }
    }
}

/// Age band for reporting: 10s, 20s, 30s, 40s, 50s, 60+.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum AgeBand {
    #[serde(rename = "10s")]
    Teens,
    #[serde(rename = "20s")]
    Twenties,
    #[serde(rename = "30s")]
    Thirties,
    #[serde(rename = "40s")]
    Forties,
    #[serde(rename = "50s")]
    Fifties,
    #[serde(rename = "60+")]
    SixtyPlus,
}

impl AgeBand {
    pub const ALL: [AgeBand; 6] = [
        AgeBand::Teens,
        AgeBand::Twenties,
        AgeBand::Thirties,
        AgeBand::Forties,
        AgeBand::Fifties,
        AgeBand::SixtyPlus,
    ];

    /// Band of a person of `age` years; under 10 counts as 10s.
    pub fn from_age(age: u32) -> Self {
        match age {
            0..=19 => AgeBand::Teens,
            20..=29 => AgeBand::Twenties,
            30..=39 => AgeBand::Thirties,
            40..=49 => AgeBand::Forties,
            50..=59 => AgeBand::Fifties,
            _ => AgeBand::SixtyPlus,
        }
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "10s" | "10대" => Ok(AgeBand::Teens),
            "20s" | "20대" => Ok(AgeBand::Twenties),
            "30s" | "30대" => Ok(AgeBand::Thirties),
            "40s" | "40대" => Ok(AgeBand::Forties),
            "50s" | "50대" => Ok(AgeBand::Fifties),
            "60+" | "60s" | "60대" | "60대 이상" => Ok(AgeBand::SixtyPlus),
            _ => Err(ParseError::new(
                "age_band",
                "must be one of 10s, 20s, 30s, 40s, 50s, 60+",
            )),
        }
    }
    pub fn label_ko(self) -> &'static str {
        match self {
            AgeBand::Teens => "10대",
            AgeBand::Twenties => "20대",
            AgeBand::Thirties => "30대",
            AgeBand::Forties => "40대",
            AgeBand::Fifties => "50대",
            AgeBand::SixtyPlus => "60대 이상",
        }
    }
}

/// Year of birth, 1900..=this year.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct BirthYear(u32);
impl BirthYear {
    pub fn parse(s: &str, this_year: u32) -> Result<Self, ParseError> {
        let y: u32 = s
            .trim()
            .parse()
            .map_err(|_| ParseError::new("birth_year", "must be a year such as 1990"))?;
        Self::new(y, this_year)
    }
    pub fn new(y: u32, this_year: u32) -> Result<Self, ParseError> {
        if !(1900..=this_year).contains(&y) {
            return Err(ParseError::new(
                "birth_year",
                format!("must be between 1900 and {this_year}"),
            ));
        }
        Ok(Self(y))
    }
    pub fn year(self) -> u32 {
        self.0
    }
    /// Korean age bands are reported by "만 나이" in the given year (birthday not yet known: year difference).
    pub fn age_band(self, this_year: u32) -> AgeBand {
        AgeBand::from_age(this_year.saturating_sub(self.0))
    }
}
impl TryFrom<u32> for BirthYear {
    type Error = ParseError;
    fn try_from(y: u32) -> Result<Self, ParseError> {
        Self::new(y, 2200)
    }
}
impl From<BirthYear> for u32 {
    fn from(b: BirthYear) -> u32 {
        b.0
    }
}

#[cfg(test)]
mod visible_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn invisible_and_control_characters_are_refused() {
        assert!(visible_text("김민지 Kim", false));
        assert!(visible_text("맛있어요\n또 올게요", true));
        assert!(!visible_text("맛있어요\n또 올게요", false));
        for bad in [
            "\u{202E}지민김",
            "김\u{200B}민지",
            "a\u{2066}b",
            "\u{FEFF}x",
            "a\tb",
            "a\u{0}b",
            "a\rb",
        ] {
            assert!(!visible_text(bad, true), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn hangul_and_latin_are_always_visible(s in "[가-힣a-zA-Z0-9 .,!?]{0,60}") {
            prop_assert!(visible_text(&s, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phone_forms_normalise_to_one() {
        for s in [
            "010-1234-5678",
            "01012345678",
            "010 1234 5678",
            "+82 10-1234-5678",
            "+821012345678",
            "82-10-1234-5678",
            "+82 010 1234 5678",
        ] {
            assert_eq!(
                PhoneNumber::parse(s).map(|p| p.as_str().to_owned()),
                Ok("01012345678".to_owned()),
                "{s}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("011-123-4567").map(|p| p.dashed()),
            Ok("011-123-4567".to_owned())
        );
    }

    #[test]
    fn phone_rejects_non_mobile() {
        for s in [
            "02-123-4567",
            "010-123-456",
            "0101234567890",
            "abc",
            "",
            "+1 415 555 0100",
            "010-1234-567a",
        ] {
            let e = PhoneNumber::parse(s).err();
            assert_eq!(e.map(|e| e.field), Some("phone"), "{s}");
        }
    }

    #[test]
    fn phone_debug_is_masked() {
        let p = PhoneNumber::parse("010-1234-5678").ok();
        let shown = format!("{p:?}");
        assert!(!shown.contains("1234"), "{shown}");
        assert!(shown.contains("010-****-5678"), "{shown}");
    }

    #[test]
    fn short_code_bounds() {
        assert!(ShortCode::parse("").is_err());
        assert!(ShortCode::parse("abcdefghijk").is_err());
        assert!(ShortCode::parse("abc%20").is_err());
        assert!(ShortCode::parse("한글").is_err());
        assert!(ShortCode::parse("aZ09").is_ok());
        let minted = ShortCode::generate();
        assert_eq!(ShortCode::parse(minted.as_str()).as_ref(), Ok(&minted));
    }

    #[test]
    fn ids_name_their_field() {
        assert_eq!(CampaignId::parse("Bad Id").err().map(|e| e.field), Some("campaign_id"));
        assert_eq!(StoreId::parse("-x").err().map(|e| e.field), Some("store_id"));
        assert_eq!(RecipientId::parse("short").err().map(|e| e.field), Some("recipient_id"));
    }

    #[test]
    fn age_bands() {
        assert_eq!(
            BirthYear::parse("1990", 2026).map(|b| b.age_band(2026)),
            Ok(AgeBand::Thirties)
        );
        assert_eq!(
            BirthYear::parse("1950", 2026).map(|b| b.age_band(2026)),
            Ok(AgeBand::SixtyPlus)
        );
        assert!(BirthYear::parse("2030", 2026).is_err());
        assert!(BirthYear::parse("19x0", 2026).is_err());
        assert_eq!(AgeBand::parse("20대"), Ok(AgeBand::Twenties));
    }

    proptest! {
        #[test]
        fn short_code_parser_never_panics_and_accepts_only_base62(s in "\\PC{0,24}") {
            if let Ok(c) = ShortCode::parse(&s) {
                prop_assert!(c.as_str().len() <= 10 && c.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
            }
        }

        #[test]
        fn phone_parser_never_panics_and_is_idempotent(s in "[+0-9 ()\\-.]{0,20}|\\PC{0,20}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                prop_assert_eq!(PhoneNumber::parse(p.as_str()).ok(), Some(p.clone()));
                prop_assert_eq!(PhoneNumber::parse(&p.dashed()).ok(), Some(p));
            }
        }

        #[test]
        fn coupon_code_roundtrip(_x in 0..50u8) {
            let c = CouponCode::generate();
            prop_assert_eq!(CouponCode::parse(&c.as_str().to_lowercase()).ok(), Some(c));
        }
    }
}
