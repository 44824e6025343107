//! The ad law's rules for a marketing text message (정보통신망법 §50, 시행령 §61–62의3), applied
//! to every message mcamp composes for a send list:
//!
//! - the text begins with exactly `(광고)`, names the sender (the brand), and ends with a free
//!   opt-out number (`무료수신거부 080-…`);
//! - it goes only to people with marketing consent who have not opted out;
//! - between 21:00 and 08:00 KST only to people who also consented to night ads;
//! - a marketing consent is reconfirmed every two years.
//!
//! Lengths are counted as Korean carriers bill them: bytes in EUC-KR (CP949), SMS up to 90
//! bytes, LMS up to 2000. Pure functions only; `export` applies them to a campaign's recipients.

use chrono::{DateTime, Months, NaiveDateTime, TimeZone, Timelike, Utc};
use encoding_rs::EncoderResult;
use mcamp_core::campaign::Campaign;
pub use mcamp_core::time::kst;
use mcamp_core::values::ParseError;
use serde::Serialize;

/// The label the law wants first in an ad, exactly so.
pub const AD_PREFIX: &str = "(광고)";
/// Begins the opt-out line at the end of every ad.
pub const OPT_OUT_LABEL: &str = "무료수신거부";
/// The longest SMS, in EUC-KR bytes.
pub const SMS_MAX_BYTES: usize = 90;
/// The longest LMS, in EUC-KR bytes.
pub const LMS_MAX_BYTES: usize = 2000;
/// Bytes counted for a character EUC-KR cannot encode (an emoji, say): gateways send a
/// full-width `？` in its place, which is 2 bytes.
pub const UNMAPPABLE_BYTES: usize = 2;
/// A marketing consent is confirmed again after this many months (시행령 §62의3: every 2 years).
pub const RECONFIRM_MONTHS: u32 = 24;
/// `{name}` of a recipient whose name is unknown: `{name}님` reads `고객님`.
pub const NAME_FALLBACK: &str = "고객";
/// Night for ads, in KST: from 21:00 up to (not including) 08:00.
pub const NIGHT_STARTS_HOUR: u32 = 21;
pub const NIGHT_ENDS_HOUR: u32 = 8;

/// `2026-03-02 10:00` in KST, for screens and exports.
pub fn format_kst(at: DateTime<Utc>) -> String {
    at.with_timezone(&kst()).format("%Y-%m-%d %H:%M").to_string()
}

/// A send time as a marketer writes it, in KST: `2026-03-02T10:00`, `2026-03-02 10:00`, with
/// or without seconds, or RFC 3339 with an explicit offset (`2026-03-02T01:00:00Z`).
pub fn parse_send_at(s: &str) -> Result<DateTime<Utc>, ParseError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .ok_or_else(|| ParseError::new("send_at", "must be a time in KST such as 2026-03-02T10:00"))?;
    kst()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ParseError::new("send_at", "is not a valid time"))
}

/// Whether `at` falls in the night window, 21:00–08:00 KST.
pub fn is_night(at: DateTime<Utc>) -> bool {
    let hour = at.with_timezone(&kst()).hour();
    // Day is 08:00 up to 21:00; everything else is night.
    !(NIGHT_ENDS_HOUR..NIGHT_STARTS_HOUR).contains(&hour)
}

/// Whether a marketing consent given at `consented_at` is due for reconfirmation at `at`:
/// two years or more have passed.
pub fn needs_reconfirmation(consented_at: DateTime<Utc>, at: DateTime<Utc>) -> bool {
    consented_at
        .checked_add_months(Months::new(RECONFIRM_MONTHS))
        .is_none_or(|due| at >= due)
}

/// SMS or LMS, by length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MessageKind {
    #[serde(rename = "SMS")]
    Sms,
    #[serde(rename = "LMS")]
    Lms,
}

impl MessageKind {
    /// The kind a message of `bytes` EUC-KR bytes is sent as; `None` past the LMS limit.
    pub fn for_bytes(bytes: usize) -> Option<Self> {
        if bytes <= SMS_MAX_BYTES {
            Some(MessageKind::Sms)
        } else if bytes <= LMS_MAX_BYTES {
            Some(MessageKind::Lms)
        } else {
            None
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Sms => "SMS",
            MessageKind::Lms => "LMS",
        }
    }
}

/// The length of a text in EUC-KR, and the characters EUC-KR cannot encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EucKrLength {
    pub bytes: usize,
    pub unmappable: Vec<char>,
}

/// Bytes of `s` in EUC-KR (CP949: every Hangul syllable is 2 bytes, ASCII 1). A character it
/// cannot encode counts `UNMAPPABLE_BYTES` and is listed.
pub fn euckr_len(s: &str) -> EucKrLength {
    let mut encoder = encoding_rs::EUC_KR.new_encoder();
    let mut buf = [0u8; 512];
    let mut rest = s;
    let mut out = EucKrLength {
        bytes: 0,
        unmappable: Vec::new(),
    };
    loop {
        let (result, read, written) = encoder.encode_from_utf8_without_replacement(rest, &mut buf, true);
        out.bytes += written;
        rest = rest.get(read..).unwrap_or_default();
        match result {
            EncoderResult::InputEmpty => return out,
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(c) => {
                out.bytes += UNMAPPABLE_BYTES;
                out.unmappable.push(c);
            }
        }
    }
}

/// Why a campaign's `message` cannot be sent as an ad. Each names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("message: missing; add the text message to the campaign file, with {{name}} and {{link}}")]
    Missing,
    #[error("message: has no {{link}}, so recipients would get no link")]
    NoLink,
    #[error("message: begins with '{0}'; leave the ad label out, mcamp adds exactly (광고)")]
    WrongAdLabel(String),
    #[error("message: has its own opt-out line; leave it out, mcamp adds \"무료수신거부 {0}\"")]
    HasOptOut(String),
    #[error("message: unknown placeholder '{0}'; only {{name}} and {{link}} are filled in")]
    UnknownPlaceholder(String),
    #[error("message_subject: {0} bytes in EUC-KR, over the LMS subject limit of {SUBJECT_MAX_BYTES}")]
    SubjectTooLong(usize),
}

/// The LMS subject limit every sender enforces (NHN, Solapi, SENS: 40 bytes).
pub const SUBJECT_MAX_BYTES: usize = 40;
/// The longest name a message carries; longer ones fall back to `NAME_FALLBACK`.
pub const NAME_MAX_CHARS: usize = 20;

/// A message over the LMS limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the message is {bytes} bytes in EUC-KR, over the LMS limit of {LMS_MAX_BYTES}")]
pub struct TooLong {
    pub bytes: usize,
}

/// A campaign's message, checked against the ad law and ready to fill in per recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdTemplate {
    /// The template without any `(광고)` of its own, with the brand guaranteed.
    body: String,
    /// `\n무료수신거부 080-…`.
    opt_out_line: String,
    /// The template did not name the brand, so `[brand] ` was put in front.
    pub brand_inserted: bool,
    /// The LMS subject: `message_subject`, or the brand.
    pub subject: String,
}

/// One composed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdMessage {
    pub text: String,
    pub bytes: usize,
    pub kind: MessageKind,
    pub unmappable: Vec<char>,
    /// The recipient's name was not safe in an ad and `고객` stands in for it.
    pub name_replaced: bool,
}

impl AdTemplate {
    pub fn new(campaign: &Campaign) -> Result<Self, TemplateError> {
        Self::with_message(campaign, campaign.message.as_deref().ok_or(TemplateError::Missing)?)
    }

    /// The template of another text of the campaign's (a segment's own message), checked and
    /// composed as the campaign's `message` is, with its sender and subject.
    pub fn with_message(campaign: &Campaign, raw: &str) -> Result<Self, TemplateError> {
        let trimmed = raw.trim();
        let body = match trimmed.strip_prefix(AD_PREFIX) {
            Some(rest) => rest.trim_start(),
            None => trimmed,
        };
        if let Some(label) = wrong_ad_label(body) {
            return Err(TemplateError::WrongAdLabel(label));
        }
        let without = body.replace("{name}", "").replace("{link}", "");
        if let Some(i) = without.find(['{', '}']) {
            let fragment: String = without[i..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .take(20)
                .collect();
            return Err(TemplateError::UnknownPlaceholder(fragment));
        }
        if !body.contains("{link}") {
            return Err(TemplateError::NoLink);
        }
        let opt_out = campaign.sender.opt_out_080.trim();
        if body.contains("수신거부") || body.contains("수신 거부") {
            return Err(TemplateError::HasOptOut(opt_out.to_owned()));
        }
        let brand = campaign.sender.brand.trim();
        let brand_inserted = !body.contains(brand);
        let body = if brand_inserted {
            format!("[{brand}] {body}")
        } else {
            body.to_owned()
        };
        let subject = campaign
            .message_subject
            .as_deref()
            .map_or_else(|| brand.to_owned(), |s| s.trim().to_owned());
        let subject_bytes = euckr_len(&subject).bytes;
        if subject_bytes > SUBJECT_MAX_BYTES {
            return Err(TemplateError::SubjectTooLong(subject_bytes));
        }
        Ok(AdTemplate {
            body,
            opt_out_line: format!("\n{OPT_OUT_LABEL} {opt_out}"),
            brand_inserted,
            subject,
        })
    }

    /// The ad for one recipient: `(광고)` + the template with `{name}` and `{link}` filled in +
    /// the opt-out line. A name that is not safe in an ad becomes `고객` (`name_replaced`).
    pub fn render(&self, name: Option<&str>, link: &str) -> Result<AdMessage, TooLong> {
        let safe = name.and_then(safe_name);
        let text = format!(
            "{AD_PREFIX}{}{}",
            fill(&self.body, safe.unwrap_or(NAME_FALLBACK), link),
            self.opt_out_line
        );
        let mut m = message(text)?;
        m.name_replaced = name.is_some_and(|n| !n.trim().is_empty()) && safe.is_none();
        Ok(m)
    }
}

/// A composed text, counted in EUC-KR as carriers bill it.
pub fn message(text: String) -> Result<AdMessage, TooLong> {
    let len = euckr_len(&text);
    let kind = MessageKind::for_bytes(len.bytes).ok_or(TooLong { bytes: len.bytes })?;
    Ok(AdMessage {
        text,
        bytes: len.bytes,
        kind,
        unmappable: len.unmappable,
        name_replaced: false,
    })
}

/// The consent-result notice with the confirmation link (Network Act §50⑦, 시행령 §62의2: the result of a
/// consent is told to the person within 14 days). Not an ad: no `(광고)`, no name.
pub fn confirmation_message(
    brand: &str,
    given_at: DateTime<Utc>,
    purposes: &[&str],
    link: &str,
) -> Result<AdMessage, TooLong> {
    message(format!(
        "[{brand}] 광고성 정보 수신 동의 확인\n{} {}에 동의하셨어요. 본인이 맞다면 확인해 주세요(확인 전에는 광고를 보내지 않아요): {link}\n본인이 아니면 무시하셔도 돼요.",
        given_at.with_timezone(&kst()).format("%Y.%m.%d"),
        purposes.join("·"),
    ))
}

/// The opt-out result notice (Network Act §50⑦, 시행령 §62의2).
pub fn opt_out_notice(brand: &str, at: DateTime<Utc>) -> Result<AdMessage, TooLong> {
    message(format!(
        "[{brand}] 수신거부 처리 결과 안내\n{}에 요청하신 광고성 정보 수신거부가 처리되었습니다.",
        at.with_timezone(&kst()).format("%Y.%m.%d"),
    ))
}

/// A look-alike of the ad label at the start of the body (`[광고]`, `( 광고 )`, `(AD)`), which
/// would not satisfy the law and would read oddly after the real one.
fn wrong_ad_label(body: &str) -> Option<String> {
    let head: String = body.chars().take(10).collect();
    let end = head.find([')', ']', '>', '）', '】'])?;
    let candidate = &head[..end + head[end..].chars().next().map_or(0, char::len_utf8)];
    let core: String = candidate
        .chars()
        .filter(|c| !c.is_whitespace() && !"([<{)]>}（）【】".contains(*c))
        .collect();
    (core == "광고" || core.eq_ignore_ascii_case("ad")).then(|| candidate.to_owned())
}

/// The name as it may appear in an ad, or `None`: letters (Hangul, Latin), spaces, and `-`,
/// `'`, `·` between them; at most `NAME_MAX_CHARS`. Anything else (a URL, digits, control,
/// bidi or zero-width characters) could turn the brand's ad into someone else's message.
pub fn safe_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let letter = |c: char| {
        c.is_ascii_alphabetic()
            || ('\u{AC00}'..='\u{D7A3}').contains(&c)
            || ('\u{1100}'..='\u{11FF}').contains(&c)
            || ('\u{3131}'..='\u{318E}').contains(&c)
    };
    let ok = !name.is_empty()
        && name.chars().count() <= NAME_MAX_CHARS
        && name.chars().any(letter)
        && name
            .chars()
            .all(|c| letter(c) || c == ' ' || c == '-' || c == '\'' || c == '·')
        && !name.contains("  ");
    ok.then_some(name)
}

/// Fills `{name}` and `{link}` in one pass, so a name that itself contains `{link}` stays text.
pub fn fill(template: &str, name: &str, link: &str) -> String {
    let mut out = String::with_capacity(template.len() + name.len() + link.len());
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let at = &rest[i..];
        if let Some(after) = at.strip_prefix("{name}") {
            out.push_str(name);
            rest = after;
        } else if let Some(after) = at.strip_prefix("{link}") {
            out.push_str(link);
            rest = after;
        } else {
            out.push('{');
            rest = &at[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcamp_core::campaign::{Sender, ShareCard};
    use mcamp_core::values::CampaignId;

    fn campaign(message: &str) -> Campaign {
        Campaign {
            id: CampaignId::parse("spring").unwrap(),
            name: "봄".into(),
            kind: Default::default(),
            status: Default::default(),
            starts_at: None,
            ends_at: None,
            sender: Sender {
                brand: "봄꽃커피".into(),
                opt_out_080: "080-123-4567".into(),
                contact: None,
                brand_id: Default::default(),
            },
            share: ShareCard {
                title: "t".into(),
                description: "d".into(),
                image: None,
                max_visitors: mcamp_core::campaign::VISITORS_PER_SHARE,
                visitors_per_network_hour: mcamp_core::campaign::VISITORS_PER_NETWORK_HOUR,
            },
            page: Default::default(),
            form: None,
            survey: None,
            coupons: Vec::new(),
            segments: Vec::new(),
            follow_ups: Vec::new(),
            variants: Vec::new(),
            offer: None,
            message: Some(message.into()),
            message_subject: None,
            retention_days: mcamp_core::campaign::DEFAULT_RETENTION_DAYS,
        }
    }

    fn kst_at(s: &str) -> DateTime<Utc> {
        parse_send_at(s).unwrap()
    }

    const LINK: &str = "https://go.kr/AbCdEfGhIj";

    #[test]
    fn ad_label_is_six_bytes_and_hangul_is_two() {
        assert_eq!(euckr_len("(광고)").bytes, 6);
        assert_eq!(euckr_len("무료수신거부").bytes, 12);
        assert_eq!(euckr_len("abc 123\n").bytes, 8);
        // CP949 encodes every modern syllable, including ones outside KS X 1001.
        assert_eq!(euckr_len("똠방각하").bytes, 8);
        assert!(euckr_len("똠방각하").unmappable.is_empty());
    }

    #[test]
    fn unmappable_characters_count_two_bytes_and_are_reported() {
        let len = euckr_len("할인🎉!");
        assert_eq!(len.bytes, 4 + UNMAPPABLE_BYTES + 1);
        assert_eq!(len.unmappable, vec!['🎉']);
        let many = euckr_len(&"🌸".repeat(300));
        assert_eq!(many.bytes, 600);
        assert_eq!(many.unmappable.len(), 300);
    }

    #[test]
    fn message_begins_with_exactly_the_ad_label_and_ends_with_the_opt_out() {
        let t = AdTemplate::new(&campaign("[봄꽃커피] {name}님 쿠폰 {link}")).unwrap();
        let m = t.render(Some("김민지"), LINK).unwrap();
        assert_eq!(
            m.text,
            format!("(광고)[봄꽃커피] 김민지님 쿠폰 {LINK}\n무료수신거부 080-123-4567")
        );
        assert!(!t.brand_inserted);
        assert_eq!(m.bytes, euckr_len(&m.text).bytes);
    }

    #[test]
    fn an_ad_label_in_the_template_is_not_doubled() {
        let t = AdTemplate::new(&campaign("(광고) 봄꽃커피 {link}")).unwrap();
        let m = t.render(None, LINK).unwrap();
        assert!(m.text.starts_with("(광고)봄꽃커피 "), "{}", m.text);
        assert_eq!(m.text.matches("(광고)").count(), 1);
    }

    #[test]
    fn look_alike_ad_labels_are_refused() {
        for bad in [
            "[광고] 봄꽃커피 {link}",
            "( 광고 ) 봄꽃커피 {link}",
            "(AD) 봄꽃커피 {link}",
            "<광고>봄꽃커피 {link}",
        ] {
            assert!(
                matches!(AdTemplate::new(&campaign(bad)), Err(TemplateError::WrongAdLabel(_))),
                "{bad}"
            );
        }
        assert!(AdTemplate::new(&campaign("[봄꽃커피] 광고 아님 {link}")).is_ok());
    }

    #[test]
    fn brand_is_inserted_after_the_label_when_missing() {
        let t = AdTemplate::new(&campaign("{name}님, 벚꽃 라떼 {link}")).unwrap();
        assert!(t.brand_inserted);
        let m = t.render(Some("이준호"), LINK).unwrap();
        assert!(m.text.starts_with("(광고)[봄꽃커피] 이준호님"), "{}", m.text);
    }

    #[test]
    fn template_errors_name_the_problem() {
        assert_eq!(
            AdTemplate::new(&campaign("봄꽃커피 {name}님")),
            Err(TemplateError::NoLink)
        );
        assert_eq!(
            AdTemplate::new(&campaign("봄꽃커피 {이름}님 {link}")),
            Err(TemplateError::UnknownPlaceholder("{이름}님".into()))
        );
        assert!(matches!(
            AdTemplate::new(&campaign("봄꽃커피 {link} 무료수신거부 080-000-0000")),
            Err(TemplateError::HasOptOut(_))
        ));
        let mut none = campaign("x");
        none.message = None;
        assert_eq!(AdTemplate::new(&none), Err(TemplateError::Missing));
    }

    #[test]
    fn placeholders_fill_in_one_pass_and_unsafe_names_fall_back() {
        let t = AdTemplate::new(&campaign("봄꽃커피 {name} {link}")).unwrap();
        let m = t.render(Some("{link}\n악당"), LINK).unwrap();
        assert!(
            m.text.contains("봄꽃커피 고객 https://") && m.name_replaced,
            "{}",
            m.text
        );
        let kept = t.render(Some("김 민지"), LINK).unwrap();
        assert!(
            kept.text.contains("봄꽃커피 김 민지 https://") && !kept.name_replaced,
            "{}",
            kept.text
        );
        let anon = t.render(Some("  "), LINK).unwrap();
        assert!(
            anon.text.contains("봄꽃커피 고객 ") && !anon.name_replaced,
            "{}",
            anon.text
        );
    }

    #[test]
    fn names_in_ads_are_letters_only() {
        for ok in ["김민지", "Kim Min-ji", "O'Brien", "박·지", "Ｋim"] {
            let want = if ok == "Ｋim" { None } else { Some(ok) };
            assert_eq!(safe_name(ok), want, "{ok}");
        }
        for bad in [
            "https://evil.kr",
            "evil.kr",
            "김민지 010",
            "\u{202E}지민김",
            "김\u{200B}민지",
            "김\t민지",
            "가나다라마바사아자차카타파하가나다라마바사",
            "--",
            "김  민지",
        ] {
            assert_eq!(safe_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn notices_are_not_ads() {
        let at = kst_at("2026-03-02T10:00");
        let c = confirmation_message("봄꽃커피", at, &["문자 광고 수신"], LINK).unwrap();
        assert!(c.text.starts_with("[봄꽃커피] 광고성 정보 수신 동의 확인") && !c.text.contains("(광고)"));
        assert!(c.text.contains("2026.03.02") && c.text.contains(LINK), "{}", c.text);
        let o = opt_out_notice("봄꽃커피", at).unwrap();
        assert!(o.text.contains("수신거부가 처리되었습니다") && !o.text.contains("(광고)"));
    }

    /// A template whose message is exactly `target` bytes with the given name and link.
    fn sized(target: usize) -> AdMessage {
        let base = AdTemplate::new(&campaign("봄꽃커피{link}")).unwrap();
        let fixed = base.render(None, "").unwrap().bytes;
        let pad = "a".repeat(target - fixed);
        base.render(None, &pad).unwrap()
    }

    #[test]
    fn sms_up_to_90_bytes_lms_from_91() {
        assert_eq!(sized(90).bytes, 90);
        assert_eq!(sized(90).kind, MessageKind::Sms);
        assert_eq!(sized(91).bytes, 91);
        assert_eq!(sized(91).kind, MessageKind::Lms);
        assert_eq!(sized(2000).kind, MessageKind::Lms);
        let base = AdTemplate::new(&campaign("봄꽃커피{link}")).unwrap();
        let fixed = base.render(None, "").unwrap().bytes;
        assert_eq!(
            base.render(None, &"a".repeat(2001 - fixed)),
            Err(TooLong { bytes: 2001 })
        );
        assert_eq!(MessageKind::for_bytes(0), Some(MessageKind::Sms));
    }

    #[test]
    fn night_window_edges_in_kst() {
        assert!(!is_night(kst_at("2026-03-02T20:59:59")));
        assert!(is_night(kst_at("2026-03-02T21:00")));
        assert!(is_night(kst_at("2026-03-02T23:59")));
        assert!(is_night(kst_at("2026-03-03T00:00")));
        assert!(is_night(kst_at("2026-03-03T07:59:59")));
        assert!(!is_night(kst_at("2026-03-03T08:00")));
        // 12:00 UTC is 21:00 KST.
        assert!(is_night(kst_at("2026-03-02T12:00:00Z")));
        assert!(!is_night(kst_at("2026-03-02T11:59:59Z")));
    }

    #[test]
    fn send_at_parses_kst_forms_and_refuses_others() {
        let a = kst_at("2026-03-02T10:00");
        assert_eq!(a, kst_at("2026-03-02 10:00:00"));
        assert_eq!(a.to_rfc3339(), "2026-03-02T01:00:00+00:00");
        assert_eq!(format_kst(a), "2026-03-02 10:00");
        assert_eq!(parse_send_at("tomorrow").err().map(|e| e.field), Some("send_at"));
    }

    #[test]
    fn consent_is_reconfirmed_after_two_years() {
        let given = kst_at("2024-03-02T10:00");
        assert!(!needs_reconfirmation(given, kst_at("2026-03-02T09:59")));
        assert!(needs_reconfirmation(given, kst_at("2026-03-02T10:00")));
        assert!(needs_reconfirmation(given, kst_at("2027-01-01T00:00")));
        assert!(!needs_reconfirmation(given, given));
    }
}
