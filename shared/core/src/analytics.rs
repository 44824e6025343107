//! What the aggregator makes of events, without storage: counters, each person's journey, the
//! credit a sharer earns, and the funnel the marketer reads.
//!
//! Two kinds of numbers, both independent of the order events arrive in (the stream orders
//! nothing across partitions, and a replay repeats records):
//! - **Event counts** (`event_counts`): each event adds to named counters (clicks, previews,
//!   coupons claimed…) of the campaign's total, its KST day and hour, and its breakdowns. Sums.
//! - **People counts** (`people_counts`): each person's `Journey` is folded from their events
//!   (earliest times, sums, a bounded window of daily views). A people counter holds how many
//!   journeys have a flag (clicked, viewed, bounced…); the aggregator adds
//!   `people_counts(after) − people_counts(before)`, so each journey always counts once, with
//!   its current flags.
//!
//! Repeats are the store's business: it applies each event once (`mcamp_store::aggregate`).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::consent::{Purpose, Source};
use crate::events::{Event, EventData};
use crate::time::kst;
use crate::values::{CampaignId, RecipientId, StoreId};

pub mod report;

/// How many hops of a share chain earn credit: the sharer who brought a visitor (hop 1), who
/// brought that sharer (hop 2), and one more.
pub const SHARE_HOPS: usize = 3;

/// Days of daily page views a journey keeps, counted back from its newest view: enough for a
/// segment's "views in the last 7 (or 30) days".
pub const VIEW_DAYS_KEPT: i64 = 35;

/// In-app name of a click from a regular browser.
pub const NO_IN_APP: &str = "none";

/// The beacon the page sends once when it is left (hidden), with the index of the last content
/// block it had on screen as its target.
pub const PAGE_DEPTH: &str = "page_depth";

/// Content blocks of a page that are told apart; a deeper one counts as the last.
pub const MAX_BLOCKS: u32 = 64;

/// A page depth beacon's target as a block index: digits, below `MAX_BLOCKS`.
pub fn block_index(target: &str) -> Option<u32> {
    if target.is_empty() || target.len() > 2 || !target.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    target.parse::<u32>().ok().map(|b| b.min(MAX_BLOCKS - 1))
}

/// Which counter set a count goes to. Each is one small item per counter shard
/// (`Scope::key` is its sort key), so a write costs little whatever the campaign's size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The whole campaign.
    Total,
    /// One KST day, `20261130`.
    Day(String),
    /// One KST hour, `2026113014`.
    Hour(String),
    /// Clicks and people by the in-app browser of their first click (`kakaotalk`, …, `none`).
    InApp(String),
    /// The funnel of one page variant (A/B).
    Variant(String),
    /// One coupon definition.
    Coupon(String),
    /// One store: redemptions, MCS survey starts and completions.
    Store(String),
    /// One content block of the page (`0` = the first): the viewers who had it on screen, and
    /// those who left from it.
    Block(String),
    /// The learning offer in one segment (`female.30s`): people offered each coupon, and of
    /// them those who redeemed it (`offer_metric`).
    Offer(String),
}

impl Scope {
    /// The sort key of the scope's counter item.
    pub fn key(&self) -> String {
        match self {
            Scope::Total => "T".into(),
            Scope::Day(d) => format!("D#{d}"),
            Scope::Hour(h) => format!("H#{h}"),
            Scope::InApp(a) => format!("I#{a}"),
            Scope::Variant(v) => format!("V#{v}"),
            Scope::Coupon(c) => format!("C#{c}"),
            Scope::Store(s) => format!("S#{s}"),
            Scope::Block(b) => format!("B#{b}"),
            Scope::Offer(s) => format!("O#{s}"),
        }
    }

    pub fn day(&self) -> Option<&str> {
        if let Scope::Day(x) = self { Some(x) } else { None }
    }
    pub fn hour(&self) -> Option<&str> {
        if let Scope::Hour(x) = self { Some(x) } else { None }
    }
    pub fn in_app(&self) -> Option<&str> {
        if let Scope::InApp(x) = self { Some(x) } else { None }
    }
    pub fn variant(&self) -> Option<&str> {
        if let Scope::Variant(x) = self { Some(x) } else { None }
    }
    pub fn coupon(&self) -> Option<&str> {
        if let Scope::Coupon(x) = self { Some(x) } else { None }
    }
    pub fn store(&self) -> Option<&str> {
        if let Scope::Store(x) = self { Some(x) } else { None }
    }
    pub fn block(&self) -> Option<&str> {
        if let Scope::Block(x) = self { Some(x) } else { None }
    }
    pub fn offer(&self) -> Option<&str> {
        if let Scope::Offer(x) = self { Some(x) } else { None }
    }

    pub fn parse(key: &str) -> Option<Scope> {
        if key == "T" {
            return Some(Scope::Total);
        }
        let (kind, rest) = key.split_once('#')?;
        let rest = rest.to_owned();
        Some(match kind {
            "D" => Scope::Day(rest),
            "H" => Scope::Hour(rest),
            "I" => Scope::InApp(rest),
            "V" => Scope::Variant(rest),
            "C" => Scope::Coupon(rest),
            "S" => Scope::Store(rest),
            "B" => Scope::Block(rest),
            "O" => Scope::Offer(rest),
            _ => return None,
        })
    }
}

/// The KST day of `at`, `20261130`.
pub fn kst_day(at: DateTime<Utc>) -> String {
    at.with_timezone(&kst()).format("%Y%m%d").to_string()
}

/// The KST hour of `at`, `2026113014`.
pub fn kst_hour(at: DateTime<Utc>) -> String {
    at.with_timezone(&kst()).format("%Y%m%d%H").to_string()
}

/// One addition to one counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub scope: Scope,
    pub metric: String,
    pub by: i64,
}

/// Counters by scope and metric name. Absent means zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub BTreeMap<Scope, BTreeMap<String, i64>>);

impl Counters {
    pub fn add(&mut self, c: Count) {
        if c.by == 0 {
            return;
        }
        let slot = self.0.entry(c.scope).or_default().entry(c.metric).or_insert(0);
        *slot += c.by;
    }

    pub fn add_all(&mut self, counts: impl IntoIterator<Item = Count>) {
        for c in counts {
            self.add(c);
        }
    }

    /// Adds another set (the shards of one campaign).
    pub fn merge(&mut self, other: Counters) {
        for (scope, metrics) in other.0 {
            for (metric, by) in metrics {
                self.add(Count {
                    scope: scope.clone(),
                    metric,
                    by,
                });
            }
        }
    }

    pub fn get(&self, scope: &Scope, metric: &str) -> i64 {
        self.0.get(scope).and_then(|m| m.get(metric)).copied().unwrap_or(0)
    }

    pub fn total(&self, metric: &str) -> i64 {
        self.get(&Scope::Total, metric)
    }

    /// The scopes of one kind (`Scope::day`, `Scope::store`, …) with their counters, in key
    /// order.
    pub fn scopes(&self, pick: fn(&Scope) -> Option<&str>) -> impl Iterator<Item = (&str, &BTreeMap<String, i64>)> {
        self.0.iter().filter_map(move |(s, m)| pick(s).map(|name| (name, m)))
    }

    /// Without the counters that are zero (a journey's flag moved from one scope to another).
    pub fn without_zeros(mut self) -> Counters {
        for m in self.0.values_mut() {
            m.retain(|_, v| *v != 0);
        }
        self.0.retain(|_, m| !m.is_empty());
        self
    }
}

/// Counter names. They are the attribute names of the counter items and the field names of
/// `mcamp report --json` (docs/report.md): a contract.
pub mod metric {
    pub const SENT: &str = "sent";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
    pub const PREVIEWS: &str = "previews";
    pub const CLICKS: &str = "clicks";
    pub const UNIQUE_CLICKS: &str = "unique_clicks";
    /// Visitors minted through a share link (a first click with a referrer).
    pub const SHARE_VISITORS: &str = "share_visitors";
    pub const PAGE_VIEWS: &str = "page_views";
    pub const INTERACTIONS: &str = "interactions";
    pub const FORMS: &str = "forms";
    pub const OPT_OUTS: &str = "opt_outs";
    pub const CONFIRMATIONS: &str = "confirmations";
    pub const SUPPRESSIONS: &str = "suppressions";
    pub const SHARES: &str = "shares";
    pub const SHARE_DELIVERIES: &str = "share_deliveries";
    /// Kakao shares to oneself (나와의 채팅), not to anyone.
    pub const SHARES_TO_SELF: &str = "share_deliveries.self";
    /// Distinct KakaoTalk chat rooms reached.
    pub const SHARE_ROOMS: &str = "share_rooms";
    pub const CLAIMED: &str = "claimed";
    pub const ISSUED: &str = "issued";
    pub const SOLD_OUT: &str = "sold_out";
    /// Learning-offer coupons offered (`coupon_offered`).
    pub const OFFERS: &str = "offers";
    pub const REDEEMED: &str = "redeemed";
    pub const SURVEY_STARTS: &str = "survey_starts";
    pub const SURVEY_ANSWERS: &str = "survey_answers";
    pub const SURVEY_COMPLETIONS: &str = "survey_completions";
    pub const SURVEY_WITHDRAWN: &str = "survey_withdrawn";
    /// Records the aggregator could not read (unknown type or version), by `{type}.v{n}`.
    pub const SKIPPED: &str = "skipped";

    /// People counters: how many journeys have the flag.
    pub mod people {
        pub const SENT: &str = "people.sent";
        pub const DELIVERED: &str = "people.delivered";
        pub const FAILED: &str = "people.failed";
        pub const CLICKED: &str = "people.clicked";
        pub const VIEWED: &str = "people.viewed";
        pub const ENGAGED: &str = "people.engaged";
        /// Viewed the page and did nothing on it (no tap, video, scroll to the end, form, share
        /// or claim).
        pub const BOUNCED: &str = "people.bounced";
        pub const FORM: &str = "people.form";
        /// Granted marketing consent (SMS or KakaoTalk) in this campaign.
        pub const CONSENT: &str = "people.consent";
        pub const CLAIMED: &str = "people.claimed";
        pub const ISSUED: &str = "people.issued";
        pub const REDEEMED: &str = "people.redeemed";
        pub const SHARED: &str = "people.shared";
        pub const VIA_SHARE: &str = "people.via_share";
        pub const OPTED_OUT: &str = "people.opted_out";
        /// In a block's scope: viewers who had the block on screen.
        pub const REACHED: &str = "people.reached";
        /// In an offer's scope, per arm (`offer_metric`): people offered it, and of them those
        /// who redeemed it.
        pub const OFFERED: &str = "people.offered";
        pub const OFFER_REDEEMED: &str = "people.offer_redeemed";
    }
}

fn count(scope: Scope, metric: impl Into<String>) -> Count {
    Count {
        scope,
        metric: metric.into(),
        by: 1,
    }
}

/// A unit enum's name as events spell it (its serde name).
pub(crate) fn snake(v: &impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The in-app name of a click's browser, as events spell it.
fn in_app_name(e: &EventData) -> Option<String> {
    match e {
        EventData::Click { client, .. } => Some(client.in_app.map_or_else(|| NO_IN_APP.to_owned(), |a| snake(&a))),
        _ => None,
    }
}

/// What one event adds to the event counters.
pub fn event_counts(e: &Event) -> Vec<Count> {
    use metric::*;
    let day = Scope::Day(kst_day(e.at));
    let hour = Scope::Hour(kst_hour(e.at));
    let mut out = Vec::new();
    // The headline numbers also go to the day and the hour, and to the variant's funnel.
    let headline = |out: &mut Vec<Count>, m: &str| {
        out.push(count(Scope::Total, m));
        out.push(count(day.clone(), m));
        out.push(count(hour.clone(), m));
        if let Some(v) = &e.variant {
            out.push(count(Scope::Variant(v.clone()), m));
        }
    };
    match &e.data {
        EventData::Click { first, .. } => {
            headline(&mut out, CLICKS);
            let in_app = Scope::InApp(in_app_name(&e.data).unwrap_or_else(|| NO_IN_APP.into()));
            out.push(count(in_app.clone(), CLICKS));
            if *first {
                headline(&mut out, UNIQUE_CLICKS);
                out.push(count(in_app, UNIQUE_CLICKS));
                if e.referrer_id.is_some() {
                    headline(&mut out, SHARE_VISITORS);
                }
            }
        }
        EventData::Preview { .. } => headline(&mut out, PREVIEWS),
        EventData::PageView { .. } => headline(&mut out, PAGE_VIEWS),
        // How far down the page a visit got is not something done on it (`people_counts`
        // counts it by block).
        EventData::Interaction { action, .. } if action == PAGE_DEPTH => {}
        EventData::Interaction { action, .. } => {
            out.push(count(Scope::Total, INTERACTIONS));
            out.push(count(Scope::Total, format!("{INTERACTIONS}.{}", bounded(action))));
        }
        EventData::FormSubmitted { .. } => headline(&mut out, FORMS),
        EventData::ConsentChanged {
            purpose,
            granted,
            channel,
            confirmed,
            ..
        } => {
            let (p, c) = (snake(purpose), snake(channel));
            if *granted {
                out.push(count(Scope::Total, format!("consents.{p}.{c}")));
                if *confirmed {
                    out.push(count(Scope::Total, format!("consents.{p}.confirmed")));
                }
            } else {
                out.push(count(Scope::Total, format!("withdrawals.{p}.{c}")));
            }
        }
        EventData::OptedOut { .. } => headline(&mut out, OPT_OUTS),
        EventData::ConsentConfirmed { .. } => out.push(count(Scope::Total, CONFIRMATIONS)),
        EventData::Suppressed { .. } => out.push(count(Scope::Total, SUPPRESSIONS)),
        EventData::ShareIntent { channel, .. } => {
            headline(&mut out, SHARES);
            out.push(count(Scope::Total, format!("{SHARES}.{}", snake(channel))));
        }
        EventData::ShareDelivered { chat_type, .. } => {
            out.push(count(Scope::Total, SHARE_DELIVERIES));
            if chat_type.as_deref() == Some("MemoChat") {
                out.push(count(Scope::Total, SHARES_TO_SELF));
            }
        }
        EventData::CouponClaimed { coupon_id, .. } => {
            headline(&mut out, CLAIMED);
            out.push(count(Scope::Coupon(coupon_id.to_string()), CLAIMED));
        }
        EventData::CouponIssued { coupon_id, .. } => {
            headline(&mut out, ISSUED);
            out.push(count(Scope::Coupon(coupon_id.to_string()), ISSUED));
        }
        EventData::CouponSoldOut { coupon_id, .. } => {
            out.push(count(Scope::Total, SOLD_OUT));
            out.push(count(Scope::Coupon(coupon_id.to_string()), SOLD_OUT));
        }
        EventData::CouponOffered { coupon_id, .. } => {
            out.push(count(Scope::Total, OFFERS));
            out.push(count(Scope::Coupon(coupon_id.to_string()), OFFERS));
        }
        EventData::CouponRedeemed {
            coupon_id, store_id, ..
        } => {
            headline(&mut out, REDEEMED);
            out.push(count(Scope::Coupon(coupon_id.to_string()), REDEEMED));
            out.push(count(Scope::Store(store_id.to_string()), REDEEMED));
            out.push(count(
                Scope::Store(store_id.to_string()),
                format!("{REDEEMED}.{coupon_id}"),
            ));
        }
        EventData::SurveyStarted { store_id } => {
            headline(&mut out, SURVEY_STARTS);
            if let Some(s) = store_id {
                out.push(count(Scope::Store(s.to_string()), SURVEY_STARTS));
            }
        }
        EventData::SurveyAnswered { .. } => out.push(count(Scope::Total, SURVEY_ANSWERS)),
        EventData::SurveyCompleted { store_id, .. } => {
            headline(&mut out, SURVEY_COMPLETIONS);
            if let Some(s) = store_id {
                out.push(count(Scope::Store(s.to_string()), SURVEY_COMPLETIONS));
            }
        }
        EventData::SurveyWithdrawn { store_id } => {
            out.push(count(Scope::Total, SURVEY_WITHDRAWN));
            out.push(count(Scope::Store(store_id.to_string()), SURVEY_WITHDRAWN));
        }
        EventData::MessageSent { channel, .. } => {
            headline(&mut out, SENT);
            out.push(count(Scope::Total, format!("{SENT}.{}", channel.as_str())));
        }
        EventData::MessageDelivered { channel, .. } => {
            headline(&mut out, DELIVERED);
            out.push(count(Scope::Total, format!("{DELIVERED}.{}", channel.as_str())));
        }
        EventData::MessageFailed { reason, .. } => {
            headline(&mut out, FAILED);
            out.push(count(Scope::Total, format!("{FAILED}.{}", reason.as_str())));
        }
    }
    out
}

/// A client-sent value as part of a counter name: at most 32 of `[a-z0-9_-]`, else `other`.
fn bounded(s: &str) -> &str {
    if !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        s
    } else {
        "other"
    }
}

/// The credit an event earns the people up the share chain of its person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credit {
    /// A visitor arrived through the chain (their first click on a share link).
    Visitor,
    /// The person claimed a coupon.
    Claim,
    /// The person redeemed a coupon at a store.
    Redeem,
}

/// The credit `e` earns its person's ancestors, if any.
pub fn credit_of(e: &Event) -> Option<Credit> {
    match &e.data {
        EventData::Click { first: true, .. } if e.referrer_id.is_some() => Some(Credit::Visitor),
        EventData::CouponClaimed { .. } => Some(Credit::Claim),
        EventData::CouponRedeemed { .. } => Some(Credit::Redeem),
        _ => None,
    }
}

/// Credit earned through one's share chain, by hop (index 0 = hop 1, the people one brought in
/// directly).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credited {
    #[serde(default)]
    pub visitors: [u32; SHARE_HOPS],
    #[serde(default)]
    pub claims: [u32; SHARE_HOPS],
    #[serde(default)]
    pub redeemed: [u32; SHARE_HOPS],
}

impl Credited {
    pub fn is_empty(&self) -> bool {
        *self == Credited::default()
    }
}

/// The earliest moment of something, with the event that made it, so two events at the same
/// millisecond still decide the same way in any order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    pub at: DateTime<Utc>,
    pub event: String,
}

/// One person's path through one campaign, folded from their events by the aggregator: one
/// item per person (recipient) and campaign. A brand's customer has one recipient per campaign
/// (two only when they also arrived as a visitor in another browser and typed their number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    pub campaign_id: CampaignId,
    pub recipient_id: RecipientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_id: Option<RecipientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_head: Option<RecipientId>,
    /// Who brought this person in, hop by hop: the referrer first, at most `SHARE_HOPS`. Set by
    /// the store from the recipients' profiles when the referrer is known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<RecipientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The in-app browser of the earliest click (`none` for a regular browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_click: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_click_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub clicks: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_view_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_view_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub views: u32,
    /// Page views by KST day (`20261130`), the last `VIEW_DAYS_KEPT` days before the newest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub views_by_day: BTreeMap<String, u32>,
    /// The last content block of the page (0 = the first) this person had on screen, over all
    /// their visits (the page's `page_depth` beacon when it is left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deepest_block: Option<u32>,
    /// The first thing done on the page: a tap, a video, a scroll to its end, a form, a share, a
    /// claim or a survey start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engaged_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_at: Option<DateTime<Utc>>,
    /// The first marketing consent (SMS or KakaoTalk) granted through this campaign's form or
    /// confirmation link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_at: Option<DateTime<Utc>>,
    /// Where the earliest redemption was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_store: Option<StoreId>,
    #[serde(default)]
    pub claims: u32,
    #[serde(default)]
    pub issued: u32,
    #[serde(default)]
    pub redeemed: u32,
    #[serde(default)]
    pub shares: u32,
    #[serde(default)]
    pub share_deliveries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_completed_at: Option<DateTime<Utc>>,
    /// What the learning offer gave them (`coupon_offered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<JourneyOffer>,
    /// The coupons they redeemed, each once, at most `MAX_COUPONS_KEPT`: whether the offered
    /// one is among them, whichever event came first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redeemed_coupons: Vec<crate::values::CouponId>,
    #[serde(default, skip_serializing_if = "Credited::is_empty")]
    pub credited: Credited,
    /// The newest event folded in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<DateTime<Utc>>,
}

fn earliest(slot: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    if slot.is_none_or(|s| at < s) {
        *slot = Some(at);
    }
}

fn latest(slot: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    if slot.is_none_or(|s| at > s) {
        *slot = Some(at);
    }
}

/// How far a person got, in funnel order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Known to the campaign (imported, or seen in an event) and nothing more.
    Known,
    /// The sender could not deliver the message, and nothing followed.
    Failed,
    Sent,
    Delivered,
    Clicked,
    Viewed,
    Form,
    Consent,
    Claimed,
    Issued,
    Redeemed,
}

impl Stage {
    pub const ALL: [Stage; 11] = [
        Stage::Known,
        Stage::Failed,
        Stage::Sent,
        Stage::Delivered,
        Stage::Clicked,
        Stage::Viewed,
        Stage::Form,
        Stage::Consent,
        Stage::Claimed,
        Stage::Issued,
        Stage::Redeemed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Known => "known",
            Stage::Failed => "failed",
            Stage::Sent => "sent",
            Stage::Delivered => "delivered",
            Stage::Clicked => "clicked",
            Stage::Viewed => "viewed",
            Stage::Form => "form",
            Stage::Consent => "consent",
            Stage::Claimed => "claimed",
            Stage::Issued => "issued",
            Stage::Redeemed => "redeemed",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The Korean name the marketer reads.
    pub fn korean(self) -> &'static str {
        match self {
            Stage::Known => "대상",
            Stage::Failed => "발송 실패",
            Stage::Sent => "발송",
            Stage::Delivered => "수신",
            Stage::Clicked => "클릭",
            Stage::Viewed => "페이지 조회",
            Stage::Form => "정보 입력",
            Stage::Consent => "마케팅 동의",
            Stage::Claimed => "쿠폰 신청",
            Stage::Issued => "쿠폰 발급",
            Stage::Redeemed => "쿠폰 사용",
        }
    }
}

impl Journey {
    pub fn new(campaign_id: CampaignId, recipient_id: RecipientId) -> Self {
        Journey {
            campaign_id,
            recipient_id,
            referrer_id: None,
            chain_head: None,
            ancestors: Vec::new(),
            variant: None,
            in_app: None,
            first_click: None,
            sent_at: None,
            delivered_at: None,
            failed_at: None,
            last_click_at: None,
            clicks: 0,
            first_view_at: None,
            last_view_at: None,
            views: 0,
            views_by_day: BTreeMap::new(),
            deepest_block: None,
            engaged_at: None,
            form_at: None,
            consent_at: None,
            opted_out_at: None,
            claimed_at: None,
            issued_at: None,
            redeemed_at: None,
            redeemed_store: None,
            claims: 0,
            issued: 0,
            redeemed: 0,
            shares: 0,
            share_deliveries: 0,
            survey_started_at: None,
            survey_completed_at: None,
            offer: None,
            redeemed_coupons: Vec::new(),
            credited: Credited::default(),
            last_event_at: None,
        }
    }

    /// Folds in one of this person's events (`e.recipient_id` is this journey's person).
    pub fn apply(&mut self, e: &Event) {
        let at = e.at;
        latest(&mut self.last_event_at, at);
        // The envelope is the same on all of a person's events; the first one that has it sets it.
        if self.referrer_id.is_none() {
            self.referrer_id = e.referrer_id.clone();
        }
        if self.chain_head.is_none() {
            self.chain_head = e.chain_head.clone();
        }
        if self.variant.is_none() {
            self.variant = e.variant.clone();
        }
        match &e.data {
            EventData::Click { .. } => {
                self.clicks += 1;
                latest(&mut self.last_click_at, at);
                let stamp = Stamp {
                    at,
                    event: e.event_id.clone(),
                };
                if self.first_click.as_ref().is_none_or(|s| stamp < *s) {
                    self.first_click = Some(stamp);
                    self.in_app = in_app_name(&e.data);
                }
            }
            EventData::PageView { .. } => {
                self.views += 1;
                earliest(&mut self.first_view_at, at);
                latest(&mut self.last_view_at, at);
                *self.views_by_day.entry(kst_day(at)).or_insert(0) += 1;
                self.trim_view_days();
            }
            EventData::Interaction { action, target } if action == PAGE_DEPTH => {
                if let Some(block) = target.as_deref().and_then(block_index) {
                    self.deepest_block = Some(self.deepest_block.map_or(block, |b| b.max(block)));
                }
            }
            EventData::Interaction { .. } => earliest(&mut self.engaged_at, at),
            EventData::FormSubmitted { .. } => {
                earliest(&mut self.form_at, at);
                earliest(&mut self.engaged_at, at);
            }
            // A consent given through the campaign (its form, or the confirmation link it
            // sent); the CRM's consents brought by the import are not the campaign's doing.
            EventData::ConsentChanged {
                purpose: Purpose::MarketingSms | Purpose::MarketingKakao,
                granted: true,
                channel: Source::Form | Source::ConfirmLink,
                ..
            } => earliest(&mut self.consent_at, at),
            EventData::OptedOut { .. } => earliest(&mut self.opted_out_at, at),
            EventData::ShareIntent { .. } => {
                self.shares += 1;
                earliest(&mut self.engaged_at, at);
            }
            EventData::ShareDelivered { .. } => self.share_deliveries += 1,
            EventData::CouponClaimed { .. } => {
                self.claims += 1;
                earliest(&mut self.claimed_at, at);
                earliest(&mut self.engaged_at, at);
            }
            EventData::CouponIssued { .. } => {
                self.issued += 1;
                earliest(&mut self.issued_at, at);
            }
            EventData::CouponOffered {
                coupon_id,
                segment,
                holdout,
            } => {
                // One offer per person (written once, with the recipient's); a replay repeats it.
                if self.offer.is_none() {
                    self.offer = Some(JourneyOffer {
                        coupon_id: coupon_id.clone(),
                        segment: *segment,
                        holdout: *holdout,
                    });
                }
            }
            EventData::CouponRedeemed {
                store_id, coupon_id, ..
            } => {
                if !self.redeemed_coupons.contains(coupon_id) && self.redeemed_coupons.len() < MAX_COUPONS_KEPT {
                    self.redeemed_coupons.push(coupon_id.clone());
                    self.redeemed_coupons.sort();
                }
                self.redeemed += 1;
                if self.redeemed_at.is_none_or(|r| at < r) {
                    self.redeemed_at = Some(at);
                    self.redeemed_store = Some(store_id.clone());
                }
            }
            EventData::SurveyStarted { .. } => {
                earliest(&mut self.survey_started_at, at);
                earliest(&mut self.engaged_at, at);
            }
            EventData::SurveyCompleted { .. } => earliest(&mut self.survey_completed_at, at),
            EventData::MessageSent { .. } => earliest(&mut self.sent_at, at),
            EventData::MessageDelivered { .. } => earliest(&mut self.delivered_at, at),
            EventData::MessageFailed { .. } => earliest(&mut self.failed_at, at),
            EventData::Preview { .. }
            | EventData::ConsentChanged { .. }
            | EventData::ConsentConfirmed { .. }
            | EventData::Suppressed { .. }
            | EventData::CouponSoldOut { .. }
            | EventData::SurveyAnswered { .. }
            | EventData::SurveyWithdrawn { .. } => {}
        }
    }

    /// Keeps the daily views of the `VIEW_DAYS_KEPT` days up to the newest one. Keyed by day,
    /// so the result is the same whatever order the views came in.
    fn trim_view_days(&mut self) {
        let Some(newest) = self.views_by_day.keys().next_back().cloned() else {
            return;
        };
        let Ok(newest) = chrono::NaiveDate::parse_from_str(&newest, "%Y%m%d") else {
            return;
        };
        let oldest = (newest - Duration::days(VIEW_DAYS_KEPT - 1))
            .format("%Y%m%d")
            .to_string();
        self.views_by_day.retain(|d, _| *d >= oldest);
    }

    /// Page views in the `days` KST days up to and including the day of `now` (at most
    /// `VIEW_DAYS_KEPT`).
    pub fn views_within(&self, now: DateTime<Utc>, days: i64) -> u32 {
        let today = now.with_timezone(&kst()).date_naive();
        let from = (today - Duration::days(days.clamp(1, VIEW_DAYS_KEPT) - 1))
            .format("%Y%m%d")
            .to_string();
        let to = today.format("%Y%m%d").to_string();
        self.views_by_day.range(from..=to).map(|(_, n)| n).sum()
    }

    /// Credit from the person `hop` steps down the chain (0 = brought in by this person).
    pub fn credit(&mut self, credit: Credit, hop: usize) {
        let Some(i) = (hop < SHARE_HOPS).then_some(hop) else {
            return;
        };
        let slot = match credit {
            Credit::Visitor => &mut self.credited.visitors[i],
            Credit::Claim => &mut self.credited.claims[i],
            Credit::Redeem => &mut self.credited.redeemed[i],
        };
        *slot += 1;
    }

    pub fn engaged(&self) -> bool {
        self.engaged_at.is_some()
    }

    /// Viewed the page and did nothing on it.
    pub fn bounced(&self) -> bool {
        self.first_view_at.is_some() && !self.engaged()
    }

    /// The furthest stage reached.
    pub fn stage(&self) -> Stage {
        let reached = [
            (Stage::Redeemed, self.redeemed_at.is_some()),
            (Stage::Issued, self.issued_at.is_some()),
            (Stage::Claimed, self.claimed_at.is_some()),
            (Stage::Consent, self.consent_at.is_some()),
            (Stage::Form, self.form_at.is_some()),
            (Stage::Viewed, self.first_view_at.is_some()),
            (Stage::Clicked, self.first_click.is_some()),
            (Stage::Delivered, self.delivered_at.is_some()),
            (Stage::Failed, self.failed_at.is_some()),
            (Stage::Sent, self.sent_at.is_some()),
        ];
        reached
            .into_iter()
            .find_map(|(s, yes)| yes.then_some(s))
            .unwrap_or(Stage::Known)
    }

    /// The funnel's steps in order, and whether this person took each.
    pub fn funnel_flags(&self) -> [(Stage, bool); 9] {
        [
            (Stage::Sent, self.sent_at.is_some()),
            (Stage::Delivered, self.delivered_at.is_some()),
            (Stage::Clicked, self.first_click.is_some()),
            (Stage::Viewed, self.first_view_at.is_some()),
            (Stage::Form, self.form_at.is_some()),
            (Stage::Consent, self.consent_at.is_some()),
            (Stage::Claimed, self.claimed_at.is_some()),
            (Stage::Issued, self.issued_at.is_some()),
            (Stage::Redeemed, self.redeemed_at.is_some()),
        ]
    }

    /// The sharer's standing: everything credited over all hops, and their own shares.
    pub fn sharer_score(&self) -> SharerScore {
        SharerScore {
            recipient_id: self.recipient_id.clone(),
            redeemed: self.credited.redeemed.iter().sum(),
            visitors: self.credited.visitors.iter().sum(),
            claims: self.credited.claims.iter().sum(),
            shares: self.shares,
        }
    }
}

/// What a journey adds to the people counters: one per flag it has, in the total, in its first
/// click's in-app browser and in its variant.
pub fn people_counts(j: &Journey) -> Vec<Count> {
    use metric::people::*;
    let flags = [
        (SENT, j.sent_at.is_some()),
        (DELIVERED, j.delivered_at.is_some()),
        (FAILED, j.failed_at.is_some()),
        (CLICKED, j.first_click.is_some()),
        (VIEWED, j.first_view_at.is_some()),
        (ENGAGED, j.engaged()),
        (BOUNCED, j.bounced()),
        (FORM, j.form_at.is_some()),
        (CONSENT, j.consent_at.is_some()),
        (CLAIMED, j.claimed_at.is_some()),
        (ISSUED, j.issued_at.is_some()),
        (REDEEMED, j.redeemed_at.is_some()),
        (SHARED, j.shares > 0),
        (VIA_SHARE, j.referrer_id.is_some()),
        (OPTED_OUT, j.opted_out_at.is_some()),
    ];
    let in_app = Scope::InApp(j.in_app.clone().unwrap_or_else(|| NO_IN_APP.into()));
    let mut out = Vec::new();
    for (m, yes) in flags {
        if !yes {
            continue;
        }
        out.push(count(Scope::Total, m));
        if [CLICKED, VIEWED, ENGAGED, BOUNCED].contains(&m) && j.first_click.is_some() {
            out.push(count(in_app.clone(), m));
        }
        if let Some(v) = &j.variant {
            out.push(count(Scope::Variant(v.clone()), m));
        }
    }
    // The learning offer: offered, and redeemed what was offered, per segment and arm.
    if let Some(o) = &j.offer {
        let arm = if o.holdout {
            crate::campaign::HOLDOUT_ARM
        } else {
            o.coupon_id.as_str()
        };
        let scope = Scope::Offer(o.segment.key());
        out.push(count(scope.clone(), offer_metric(OFFERED, arm)));
        if j.redeemed_coupons.contains(&o.coupon_id) {
            out.push(count(scope, offer_metric(OFFER_REDEEMED, arm)));
        }
    }
    // Where on the page viewers got to, and where the bouncers left: one count per block down
    // to the deepest one seen (a visit without the beacon, JavaScript off, counts nowhere).
    if j.first_view_at.is_some()
        && let Some(deepest) = j.deepest_block
    {
        for b in 0..=deepest.min(MAX_BLOCKS - 1) {
            out.push(count(Scope::Block(b.to_string()), metric::people::REACHED));
        }
        if j.bounced() {
            out.push(count(Scope::Block(deepest.to_string()), metric::people::BOUNCED));
        }
    }
    // The funnel's conversions: who did a step and the one before it, and who did it and was
    // sent the message, so a step's rate is of the people who could take it (never above 100 %
    // when someone opened the page without a tap or came without a message).
    let steps = j.funnel_flags();
    for (i, (stage, yes)) in steps.iter().enumerate().skip(1) {
        if !yes {
            continue;
        }
        let mut pairs = Vec::new();
        if steps[i - 1].1 {
            pairs.push(funnel_metric(*stage, "prev"));
        }
        if steps[0].1 {
            pairs.push(funnel_metric(*stage, "sent"));
        }
        for m in pairs {
            out.push(count(Scope::Total, m.clone()));
            if let Some(v) = &j.variant {
                out.push(count(Scope::Variant(v.clone()), m));
            }
        }
    }
    out
}

/// The name of an offer counter of one arm (a coupon, or `holdout`): `people.offered.{arm}`.
pub fn offer_metric(what: &str, arm: &str) -> String {
    format!("{what}.{arm}")
}

/// Coupons a journey remembers as redeemed.
pub const MAX_COUPONS_KEPT: usize = 32;

/// What the learning offer gave a person, as their journey keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyOffer {
    pub coupon_id: crate::values::CouponId,
    pub segment: crate::experiment::Segment,
    pub holdout: bool,
}

/// The learning offer's counts, as the bandit learns from them and the report shows them:
/// per segment, each coupon's people offered and redeemed, and the holdout's.
pub fn bandit_counts(c: &Counters) -> crate::experiment::BanditCounts {
    use crate::experiment::{BanditCounts, Segment, Tally};
    use metric::people::{OFFER_REDEEMED, OFFERED};
    let mut out = BanditCounts::default();
    for (key, metrics) in c.scopes(Scope::offer) {
        let Some(segment) = Segment::parse(key) else { continue };
        for (name, n) in metrics {
            let n = u64::try_from(*n).unwrap_or(0);
            let (arm, redeemed) = if let Some(arm) = name.strip_prefix(&format!("{OFFER_REDEEMED}.")) {
                (arm, true)
            } else if let Some(arm) = name.strip_prefix(&format!("{OFFERED}.")) {
                (arm, false)
            } else {
                continue;
            };
            let tally: &mut Tally = if arm == crate::campaign::HOLDOUT_ARM {
                out.holdout.entry(segment).or_default()
            } else {
                out.offered
                    .entry(segment)
                    .or_default()
                    .entry(arm.to_owned())
                    .or_default()
            };
            if redeemed {
                tally.redemptions = n;
            } else {
                tally.offers = n;
            }
        }
    }
    out
}

/// The name of a funnel step's conversion counter: `funnel.{stage}.prev` (did it and the step
/// before) or `funnel.{stage}.sent` (did it and was sent the message).
pub fn funnel_metric(stage: Stage, of: &str) -> String {
    format!("funnel.{}.{of}", stage.as_str())
}

/// `people_counts(after) − people_counts(before)`: what a change of one journey does to the
/// people counters.
pub fn people_delta(before: Option<&Journey>, after: &Journey) -> Vec<Count> {
    let mut out = people_counts(after);
    if let Some(b) = before {
        out.extend(people_counts(b).into_iter().map(|c| Count { by: -c.by, ..c }));
    }
    out
}

/// A sharer's standing for the top-sharers board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharerScore {
    pub recipient_id: RecipientId,
    /// Coupons redeemed by the people they brought in, over all hops.
    pub redeemed: u32,
    pub visitors: u32,
    pub claims: u32,
    /// Their own share taps.
    pub shares: u32,
}

impl SharerScore {
    /// Best first: redemptions, then visitors, claims, shares, then the id.
    fn rank_key(&self) -> (std::cmp::Reverse<(u32, u32, u32, u32)>, &str) {
        (
            std::cmp::Reverse((self.redeemed, self.visitors, self.claims, self.shares)),
            self.recipient_id.as_str(),
        )
    }
    pub fn is_zero(&self) -> bool {
        self.redeemed == 0 && self.visitors == 0 && self.claims == 0 && self.shares == 0
    }
}

/// How many sharers a board keeps.
pub const BOARD_SIZE: usize = 50;

/// The best sharers of a share of the campaign's sharers, best first. Exact because a sharer's
/// score only grows: a sharer that rises past the board's last enters it, and no one outside
/// it can be above anyone in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharerBoard {
    pub top: Vec<SharerScore>,
}

impl SharerBoard {
    /// Puts the sharer's current score on the board; returns whether the board changed.
    pub fn offer(&mut self, score: SharerScore) -> bool {
        if score.is_zero() {
            return false;
        }
        let before = self.top.clone();
        self.top.retain(|s| s.recipient_id != score.recipient_id);
        self.top.push(score);
        self.top.sort_by(|a, b| a.rank_key().cmp(&b.rank_key()));
        self.top.truncate(BOARD_SIZE);
        self.top != before
    }

    /// Several boards as one, best first, at most `n`.
    pub fn merged(boards: impl IntoIterator<Item = SharerBoard>, n: usize) -> Vec<SharerScore> {
        let mut all: Vec<SharerScore> = boards.into_iter().flat_map(|b| b.top).collect();
        all.sort_by(|a, b| a.rank_key().cmp(&b.rank_key()));
        all.truncate(n);
        all
    }
}

#[cfg(test)]
mod tests;
