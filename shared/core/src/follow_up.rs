//! Follow-up workflows: per campaign, rules such as "24 h after sent: clicked → message A by
//! channel X; not clicked → message B by channel Y", run on the schedule (`actions`).
//!
//! A follow-up in the campaign file:
//!
//! ```yaml
//! follow_ups:
//!   - id: day-after
//!     after: since sent >= 24h    # who is due (a segment rule)
//!     ad: true                    # default: an ad (consent per medium, (광고), quiet hours)
//!     send_hours: "09:00-20:00"   # KST; jobs made outside it wait for its next start
//!     steps:                      # the first step whose `when` matches is the person's
//!       - when: clicked
//!         channel: kakao
//!         message: "{name}님, 상세 안내예요 {link}"
//!       - when: not clicked
//!         channel: lms
//!         message: "{name}님, 놓치신 혜택이 있어요 {link}"
//! ```
//!
//! Everything a single follow-up can get wrong is refused while the file is read (so the
//! error carries the follow-up's line); what involves several (duplicate ids, how many) is
//! refused by `check_all`. What a run does with a person is decided here too (`FollowUp::step_for`,
//! `recipient_check`), so the store and the scheduler only carry it out.

use std::fmt;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analytics::Journey;
use crate::consent::Purpose;
use crate::customer::{AdDecision, AdExclusion, Customer};
use crate::segment::{Flag, Moment, Rule};
use crate::time::kst;
use crate::values::{CampaignId, ParseError, RecipientId};

/// Follow-ups one campaign may define.
pub const MAX_FOLLOW_UPS: usize = 10;
/// Steps one follow-up may have.
pub const MAX_STEPS: usize = 4;
/// Longest step message, in characters: an LMS is 2000 EUC-KR bytes, a Hangul syllable 2.
pub const MAX_MESSAGE_CHARS: usize = 1000;
/// Longest sender template code.
pub const MAX_TEMPLATE: usize = 64;
/// Longest follow-up name.
pub const MAX_NAME_CHARS: usize = 80;
/// The placeholders a step message may use.
pub const PLACEHOLDERS: [&str; 2] = ["{name}", "{link}"];
/// The send window when the file names none: well inside the ad law's day (08:00–21:00 KST).
pub const DEFAULT_SEND_HOURS: &str = "09:00-20:00";
/// Ads may go from 08:00 up to 21:00 KST (정보통신망법 §50③); outside is night.
const AD_DAY_START_MINUTE: u32 = 8 * 60;
const AD_DAY_END_MINUTE: u32 = 21 * 60;

pub use crate::values::FollowUpId;

/// How a step's message goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// KakaoTalk Brand Message (an ad needs consent that covers Kakao).
    Kakao,
    Sms,
    Lms,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Kakao, Channel::Sms, Channel::Lms];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Kakao => "kakao",
            Channel::Sms => "sms",
            Channel::Lms => "lms",
        }
    }
    /// The marketing consent an ad by this channel needs.
    pub fn medium(self) -> Purpose {
        match self {
            Channel::Kakao => Purpose::MarketingKakao,
            Channel::Sms | Channel::Lms => Purpose::MarketingSms,
        }
    }
}

/// A daily window in KST, `09:00-20:00`: from its start up to (not including) its end, within
/// one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    /// Minutes after KST midnight.
    start: u32,
    end: u32,
}

impl SendWindow {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("send_hours '{s}' must be a KST window such as 09:00-20:00");
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let minute = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .ok()
                .map(|t| t.hour() * 60 + t.minute())
        };
        let (start, end) = (minute(a).ok_or_else(bad)?, minute(b).ok_or_else(bad)?);
        if start >= end {
            return Err(format!("send_hours '{s}' must start before it ends, within one day"));
        }
        Ok(SendWindow { start, end })
    }

    /// Whether any of it falls in the ad law's night (21:00–08:00 KST).
    pub fn reaches_night(self) -> bool {
        self.start < AD_DAY_START_MINUTE || self.end > AD_DAY_END_MINUTE
    }

    /// `at` when it falls in the window, else the window's next start.
    pub fn next_open(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&kst());
        let minute = local.hour() * 60 + local.minute();
        if (self.start..self.end).contains(&minute) {
            return at;
        }
        let day = if minute < self.start {
            local.date_naive()
        } else {
            local.date_naive() + Duration::days(1)
        };
        let start = day.and_hms_opt(self.start / 60, self.start % 60, 0).unwrap_or_default();
        // KST has no daylight saving: every local time is one instant.
        kst()
            .from_local_datetime(&start)
            .single()
            .map_or(at, |t| t.with_timezone(&Utc))
    }
}

impl fmt::Display for SendWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// One branch of a follow-up: who (`when`), by which channel, with what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Absent: everyone due who no earlier step took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Rule>,
    pub channel: Channel,
    /// The sender's template code (Kakao templates are registered with the sender).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Text with `{name}` and `{link}`; for an ad, `(광고)`, the brand and the opt-out line are
    /// added as in the campaign's own message.
    pub message: String,
}

/// A follow-up as the file writes it; `FollowUp` is it checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpFile {
    pub id: FollowUpId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub after: Rule,
    #[serde(default = "yes")]
    pub ad: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_hours: Option<String>,
    pub steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

/// One follow-up of a campaign file (`follow_ups:`), checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FollowUpFile", into = "FollowUpFile")]
pub struct FollowUp {
    pub id: FollowUpId,
    pub name: Option<String>,
    /// Who is due: usually a `since` (`since sent >= 24h`).
    pub after: Rule,
    /// An advertisement: marketing consent by the channel's medium, `(광고)` and the opt-out
    /// line, never at night.
    pub ad: bool,
    pub send_hours: SendWindow,
    pub steps: Vec<Step>,
}

impl TryFrom<FollowUpFile> for FollowUp {
    type Error = String;
    fn try_from(f: FollowUpFile) -> Result<Self, String> {
        let who = format!("follow-up '{}'", f.id);
        if let Some(n) = &f.name
            && (n.trim().is_empty() || n.chars().count() > MAX_NAME_CHARS || !crate::values::visible_text(n, false))
        {
            return Err(format!("{who}: name must be 1 to {MAX_NAME_CHARS} visible characters"));
        }
        let hours = f.send_hours.as_deref().unwrap_or(DEFAULT_SEND_HOURS);
        let send_hours = SendWindow::parse(hours).map_err(|e| format!("{who}: {e}"))?;
        if f.ad && send_hours.reaches_night() {
            return Err(format!(
                "{who}: send_hours {send_hours} would send an ad at night (21:00-08:00 KST needs night consent); \
                 keep ads within 08:00-21:00, or set ad: false for a notice that is not an ad"
            ));
        }
        if f.steps.is_empty() || f.steps.len() > MAX_STEPS {
            return Err(format!("{who}: steps must be 1 to {MAX_STEPS}"));
        }
        for (i, s) in f.steps.iter().enumerate() {
            let step = format!("{who}, step {}", i + 1);
            check_message(&s.message, f.ad).map_err(|e| format!("{step}: message {e}"))?;
            if let Some(t) = &s.template
                && (t.is_empty()
                    || t.len() > MAX_TEMPLATE
                    || !t
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'))
            {
                return Err(format!(
                    "{step}: template must be 1 to {MAX_TEMPLATE} of A-Z a-z 0-9 _ - ."
                ));
            }
            if f.ad {
                let rule_says = |r: &Rule| no_consent_required(r, true);
                if let Some(why) = rule_says(&f.after).or_else(|| s.when.as_ref().and_then(rule_says)) {
                    return Err(format!(
                        "{step}: would send an ad to people who have not consented (the rule requires {why})"
                    ));
                }
            }
            if i + 1 < f.steps.len() && s.when.is_none() {
                return Err(format!(
                    "{step}: has no `when`, so it takes everyone and step {} is never reached",
                    i + 2
                ));
            }
        }
        Ok(FollowUp {
            id: f.id,
            name: f.name,
            after: f.after,
            ad: f.ad,
            send_hours,
            steps: f.steps,
        })
    }
}

impl From<FollowUp> for FollowUpFile {
    fn from(f: FollowUp) -> Self {
        FollowUpFile {
            id: f.id,
            name: f.name,
            after: f.after,
            ad: f.ad,
            send_hours: Some(f.send_hours.to_string()),
            steps: f.steps,
        }
    }
}

/// A step message's own faults: empty, too long, an unknown placeholder; for an ad, no link
/// or an opt-out line of its own (mcamp adds the law's).
fn check_message(m: &str, ad: bool) -> Result<(), String> {
    let len = m.trim().chars().count();
    if len == 0 {
        return Err("must not be empty".into());
    }
    if len > MAX_MESSAGE_CHARS {
        return Err(format!("is {len} characters; at most {MAX_MESSAGE_CHARS}"));
    }
    if !crate::values::visible_text(m, true) {
        return Err("has control or invisible characters".into());
    }
    let mut rest = m.to_owned();
    for p in PLACEHOLDERS {
        rest = rest.replace(p, "");
    }
    if let Some(i) = rest.find(['{', '}']) {
        let fragment: String = rest[i..].chars().take_while(|c| !c.is_whitespace()).take(20).collect();
        return Err(format!(
            "has an unknown placeholder '{fragment}'; only {{name}} and {{link}} are filled in"
        ));
    }
    if ad && !m.contains("{link}") {
        return Err("has no {link}, so an ad would carry no link".into());
    }
    if ad && (m.contains("수신거부") || m.contains("수신 거부")) {
        return Err("has its own opt-out line; leave it out, mcamp adds the sender's 080 line".into());
    }
    Ok(())
}

/// What in `rule` only people without marketing consent can satisfy (`opted_out`, a `since
/// opted_out`, `not consented`), when every journey it matches (`positive`) or none
/// (`!positive`) must have it.
fn no_consent_required(rule: &Rule, positive: bool) -> Option<String> {
    match rule {
        Rule::Not(r) => no_consent_required(r, !positive),
        // "a and b" requires what either requires; "not (a or b)" likewise.
        Rule::And(a, b) if positive => no_consent_required(a, true).or_else(|| no_consent_required(b, true)),
        Rule::Or(a, b) if !positive => no_consent_required(a, false).or_else(|| no_consent_required(b, false)),
        // "a or b" requires only what both require.
        Rule::Or(a, b) | Rule::And(a, b) => {
            let x = no_consent_required(a, positive)?;
            no_consent_required(b, positive).map(|_| x)
        }
        Rule::Flag(Flag::OptedOut)
        | Rule::Since {
            moment: Moment::OptedOut,
            ..
        } if positive => Some("opted_out".into()),
        Rule::Flag(Flag::Consented) if !positive => Some("not consented".into()),
        _ => None,
    }
}

/// Why a due person gets no job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// No phone known (no customer, or erased).
    NoPhone,
    /// Opted out or unsubscribed (080), for the whole brand.
    Suppressed,
    /// The phone was typed on a form and never confirmed by its owner nor imported by the brand.
    Unconfirmed,
    /// An ad, and no marketing consent by the channel's medium.
    NoConsent,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NoPhone => "no_phone",
            Skip::Suppressed => "suppressed",
            Skip::Unconfirmed => "unconfirmed",
            Skip::NoConsent => "no_consent",
        }
    }
}

/// Whether the phone is known to be its owner's: the brand imported it (its CRM knows the
/// number), or the owner confirmed a consent (on their own imported link, or by the
/// confirmation link sent to the phone). A phone only typed on a form is not: anybody may
/// type anybody's number, and a message to it would go to a stranger.
pub fn phone_confirmed(c: &Customer) -> bool {
    c.imported
        || Purpose::ALL
            .iter()
            .any(|p| c.consents.get(*p).is_some_and(|s| s.confirmed_at.is_some()))
}

/// Whether `customer` may get a follow-up by `channel`: never a suppressed or unconfirmed one;
/// an ad only with confirmed marketing consent by the channel's medium. Quiet hours are kept by
/// the job's `not_before` (`SendWindow`), so this is decided for the day.
pub fn recipient_check(customer: Option<&Customer>, ad: bool, channel: Channel) -> Result<(), Skip> {
    let Some(c) = customer else {
        return Err(Skip::NoPhone);
    };
    if c.phone.is_none() || c.erased_at.is_some() {
        return Err(Skip::NoPhone);
    }
    if c.is_suppressed() {
        return Err(Skip::Suppressed);
    }
    if ad {
        return match c.ad_decision(channel.medium(), false, false) {
            AdDecision::Send { .. } => Ok(()),
            AdDecision::Confirm => Err(Skip::Unconfirmed),
            AdDecision::Exclude(AdExclusion::Suppressed) => Err(Skip::Suppressed),
            AdDecision::Exclude(AdExclusion::NoPhone) => Err(Skip::NoPhone),
            AdDecision::Exclude(AdExclusion::NoMarketingConsent | AdExclusion::NightWithoutConsent) => {
                Err(Skip::NoConsent)
            }
        };
    }
    if !phone_confirmed(c) {
        return Err(Skip::Unconfirmed);
    }
    Ok(())
}

impl FollowUp {
    /// The step (0-based) this person's journey takes at `now`, if they are due.
    pub fn step_for(&self, j: &Journey, now: DateTime<Utc>) -> Option<usize> {
        if !self.after.matches(j, now) {
            return None;
        }
        self.steps
            .iter()
            .position(|s| s.when.as_ref().is_none_or(|w| w.matches(j, now)))
    }

    /// When a job made at `now` may be sent: now inside the send window, else its next start.
    pub fn not_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.send_hours.next_open(now)
    }
}

/// A `send_message` job's id: the same for one follow-up to one recipient however often it is
/// made (a rerun, a redelivery), so a consumer de-duplicates by it. 32 hex characters.
pub fn job_id(campaign: &CampaignId, follow_up: &FollowUpId, recipient: &RecipientId) -> String {
    let mut h = Sha256::new();
    h.update(b"send_message|");
    h.update(campaign.as_str().as_bytes());
    h.update(b"|");
    h.update(follow_up.as_str().as_bytes());
    h.update(b"|");
    h.update(recipient.as_str().as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Checks a campaign's follow-ups together (called by `Campaign::check`); each was checked
/// alone when it was read.
pub fn check_all(c: &crate::campaign::Campaign) -> Result<(), ParseError> {
    if c.follow_ups.len() > MAX_FOLLOW_UPS {
        return Err(ParseError::new(
            "follow_ups",
            format!("at most {MAX_FOLLOW_UPS} follow-ups"),
        ));
    }
    for (i, f) in c.follow_ups.iter().enumerate() {
        if c.follow_ups[..i].iter().any(|o| o.id == f.id) {
            return Err(ParseError::new(
                "follow_ups",
                format!("follow-up '{}' is defined twice", f.id),
            ));
        }
        for name in f
            .steps
            .iter()
            .filter_map(|s| s.when.as_ref())
            .chain([&f.after])
            .flat_map(Rule::variant_names)
        {
            if !c.variants.iter().any(|v| v.name == name) {
                return Err(ParseError::new(
                    "follow_ups",
                    format!(
                        "follow-up '{}' names variant '{name}', which variants: does not define",
                        f.id
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{ConsentState, Source};
    use crate::customer::{PhoneKey, Suppression};
    use crate::values::{BrandId, PhoneNumber};
    use proptest::prelude::*;

    /// The test follow-ups are written in YAML's JSON subset (core does not read YAML).
    fn parse(text: &str) -> Result<FollowUp, String> {
        serde_json::from_str::<FollowUp>(text).map_err(|e| e.to_string())
    }

    const GOOD: &str = r#"{"id": "day-after", "after": "since sent >= 24h", "steps": [
        {"when": "clicked", "channel": "kakao", "template": "detail_a", "message": "{name}님, 상세 안내예요 {link}"},
        {"when": "not clicked", "channel": "lms", "message": "{name}님, 혜택을 확인하세요 {link}"}]}"#;

    fn with(field: &str) -> String {
        GOOD.replacen("\"steps\"", &format!("{field}, \"steps\""), 1)
    }

    #[test]
    fn a_good_follow_up_reads_with_its_defaults_and_round_trips() {
        let f = parse(GOOD).unwrap();
        assert!(f.ad);
        assert_eq!(f.send_hours.to_string(), DEFAULT_SEND_HOURS);
        assert_eq!(f.steps.len(), 2);
        assert_eq!(f.steps[0].channel, Channel::Kakao);
        let again: FollowUp = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(again, f);
    }

    #[test]
    fn refusals_say_why() {
        let night = parse(&with(r#""send_hours": "07:00-20:00""#)).unwrap_err();
        assert!(night.contains("would send an ad at night"), "{night}");
        let late = parse(&with(r#""send_hours": "10:00-21:30""#)).unwrap_err();
        assert!(late.contains("would send an ad at night"), "{late}");
        // Until 21:00 exactly is day; a notice that is not an ad may go at night.
        assert!(parse(&with(r#""send_hours": "08:00-21:00""#)).is_ok());
        let notice = with(r#""ad": false, "send_hours": "07:00-22:00""#);
        assert!(parse(&notice).is_ok());
        let wrap = parse(&with(r#""send_hours": "20:00-09:00""#)).unwrap_err();
        assert!(wrap.contains("start before it ends"), "{wrap}");

        for (rule, why) in [
            ("opted_out", "opted_out"),
            ("not consented", "not consented"),
            ("clicked and since opted_out >= 1h", "opted_out"),
            ("not (consented or clicked)", "not consented"),
            ("opted_out or not consented", "opted_out"),
        ] {
            let e = parse(&GOOD.replace(r#""when": "clicked""#, &format!(r#""when": "{rule}""#))).unwrap_err();
            assert!(
                e.contains("would send an ad to people who have not consented") && e.contains(why),
                "{rule}: {e}"
            );
        }
        // Rules that may still select consenting people pass.
        for rule in [
            "opted_out or clicked",
            "not opted_out",
            "consented",
            "not (opted_out and clicked)",
        ] {
            assert!(
                parse(&GOOD.replace(r#""when": "clicked""#, &format!(r#""when": "{rule}""#))).is_ok(),
                "{rule}"
            );
        }
        let after = parse(&GOOD.replace("since sent >= 24h", "since opted_out >= 1h")).unwrap_err();
        assert!(
            after.contains("not consented") || after.contains("opted_out"),
            "{after}"
        );
        // The same rule in a notice is not an ad.
        assert!(
            parse(
                &GOOD.replace(r#""when": "clicked""#, r#""when": "opted_out""#).replacen(
                    "\"steps\"",
                    "\"ad\": false, \"steps\"",
                    1
                )
            )
            .is_ok()
        );

        let empty = parse(&GOOD.replace("\"{name}님, 상세 안내예요 {link}\"", "\" \"")).unwrap_err();
        assert!(empty.contains("step 1: message must not be empty"), "{empty}");
        let long = "가".repeat(MAX_MESSAGE_CHARS + 1) + "{link}";
        let e = parse(&GOOD.replace("{name}님, 상세 안내예요 {link}", &long)).unwrap_err();
        assert!(e.contains("characters; at most"), "{e}");
        let e = parse(&GOOD.replace("{name}님, 상세", "{coupon} 상세")).unwrap_err();
        assert!(e.contains("unknown placeholder '{coupon}"), "{e}");
        let e = parse(&GOOD.replace("상세 안내예요 {link}", "상세 안내예요")).unwrap_err();
        assert!(e.contains("has no {link}"), "{e}");
        let e = parse(&GOOD.replace("\"kakao\"", "\"fax\"")).unwrap_err();
        assert!(e.contains("fax"), "{e}");
        let e = parse(&GOOD.replace(r#""when": "clicked""#, r#""when": "clickd""#)).unwrap_err();
        assert!(e.contains("column 1"), "{e}");
        let e = parse(&GOOD.replace(r#""when": "clicked", "#, "")).unwrap_err();
        assert!(e.contains("step 2 is never reached"), "{e}");
        let e = parse(&GOOD.replace("detail_a", "a b")).unwrap_err();
        assert!(e.contains("template"), "{e}");
        let e = parse(&GOOD.replace("day-after", "Day")).unwrap_err();
        assert!(e.contains("a-z"), "{e}");
        let step = r#"{"when": "clicked", "channel": "sms", "message": "{link}"}"#;
        let five = format!(
            r#"{{"id": "many", "after": "sent", "steps": [{}]}}"#,
            [step; MAX_STEPS + 1].join(",")
        );
        assert!(parse(&five).unwrap_err().contains("steps must be 1 to 4"));
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn jobs_made_outside_the_window_wait_for_its_next_start() {
        let w = SendWindow::parse("09:00-20:00").unwrap();
        // 10:00 KST: now.
        assert_eq!(w.next_open(at("2026-11-30T01:00:00Z")), at("2026-11-30T01:00:00Z"));
        // 07:30 KST: 09:00 the same day.
        assert_eq!(w.next_open(at("2026-11-29T22:30:00Z")), at("2026-11-30T00:00:00Z"));
        // 20:00 and 23:59 KST: 09:00 the next morning.
        assert_eq!(w.next_open(at("2026-11-30T11:00:00Z")), at("2026-12-01T00:00:00Z"));
        assert_eq!(w.next_open(at("2026-11-30T14:59:00Z")), at("2026-12-01T00:00:00Z"));
        // 00:30 KST is already the next day: 09:00 that day.
        assert_eq!(w.next_open(at("2026-11-30T15:30:00Z")), at("2026-12-01T00:00:00Z"));
    }

    fn customer() -> Customer {
        let phone = PhoneNumber::parse("010-1234-5678").unwrap();
        let key = PhoneKey::parse("0123456789abcdef0123456789abcdef")
            .unwrap()
            .customer_key(&BrandId::default(), &phone);
        Customer::new(BrandId::default(), key, Some(phone), Utc::now())
    }

    fn consent(confirmed: bool) -> Option<ConsentState> {
        Some(ConsentState {
            at: Utc::now(),
            how: Source::Form,
            wording_version: "v1".into(),
            confirmed_at: confirmed.then(Utc::now),
        })
    }

    #[test]
    fn never_to_a_suppressed_or_unconfirmed_customer() {
        let mut c = customer();
        assert_eq!(recipient_check(None, false, Channel::Sms), Err(Skip::NoPhone));
        // Typed on a form, never confirmed: neither an ad nor a notice.
        c.consents.marketing_sms = consent(false);
        assert_eq!(recipient_check(Some(&c), true, Channel::Sms), Err(Skip::Unconfirmed));
        assert_eq!(recipient_check(Some(&c), false, Channel::Sms), Err(Skip::Unconfirmed));
        // Confirmed SMS consent: an SMS ad, not a Kakao one; any notice.
        c.consents.marketing_sms = consent(true);
        assert_eq!(recipient_check(Some(&c), true, Channel::Sms), Ok(()));
        assert_eq!(recipient_check(Some(&c), true, Channel::Kakao), Err(Skip::NoConsent));
        assert_eq!(recipient_check(Some(&c), false, Channel::Kakao), Ok(()));
        // Imported by the brand without any consent: a notice, no ad.
        let mut imported = customer();
        imported.imported = true;
        assert_eq!(recipient_check(Some(&imported), false, Channel::Lms), Ok(()));
        assert_eq!(
            recipient_check(Some(&imported), true, Channel::Lms),
            Err(Skip::NoConsent)
        );
        // Suppressed: nothing at all.
        c.suppressed = Some(Suppression {
            at: Utc::now() + Duration::seconds(1),
            how: Source::OptOutLink,
        });
        assert_eq!(recipient_check(Some(&c), true, Channel::Sms), Err(Skip::Suppressed));
        assert_eq!(recipient_check(Some(&c), false, Channel::Sms), Err(Skip::Suppressed));
        c.phone = None;
        assert_eq!(recipient_check(Some(&c), false, Channel::Sms), Err(Skip::NoPhone));
    }

    #[test]
    fn the_first_matching_step_is_the_persons() {
        let f = parse(GOOD).unwrap();
        let campaign = CampaignId::parse("spring").unwrap();
        let r = RecipientId::generate();
        let now = at("2026-11-30T01:00:00Z");
        let mut j = Journey::new(campaign.clone(), r.clone());
        assert_eq!(f.step_for(&j, now), None, "never sent: not due");
        j.sent_at = Some(now - Duration::hours(23));
        assert_eq!(f.step_for(&j, now), None, "23 h: not yet");
        j.sent_at = Some(now - Duration::hours(24));
        assert_eq!(f.step_for(&j, now), Some(1), "not clicked");
        j.first_click = Some(crate::analytics::Stamp {
            at: now - Duration::hours(2),
            event: "e1".into(),
        });
        assert_eq!(f.step_for(&j, now), Some(0), "clicked");
        let id = FollowUpId::parse("day-after").unwrap();
        assert_eq!(job_id(&campaign, &id, &r), job_id(&campaign, &id, &r));
        assert_ne!(
            job_id(&campaign, &id, &r),
            job_id(&campaign, &id, &RecipientId::generate())
        );
        assert_eq!(job_id(&campaign, &id, &r).len(), 32);
    }

    proptest! {
        #[test]
        fn parsing_a_follow_up_never_panics(s in "\\PC{0,300}") {
            let _ = serde_json::from_str::<FollowUp>(&s);
        }

        #[test]
        fn a_mutated_follow_up_parses_or_is_refused(at in 0usize..400, insert in "[\\[\\]{}:!,\"\\- 0-9a-z가()]{0,10}") {
            let n = GOOD.chars().count();
            let cut = GOOD.char_indices().map(|(i, _)| i).nth(at % n).unwrap_or(0);
            let text = format!("{}{insert}{}", &GOOD[..cut], &GOOD[cut..]);
            if let Ok(f) = serde_json::from_str::<FollowUp>(&text) {
                prop_assert!(!f.steps.is_empty() && f.steps.len() <= MAX_STEPS);
                prop_assert!(!(f.ad && f.send_hours.reaches_night()));
            }
        }
    }
}
