//! The marketer's report of one campaign, from its counters and its sharer boards only: the
//! funnel with each stage's conversion, clicks by hour and day, in-app browsers with bounce,
//! coupons, stores, shares and the top sharers, variants. Its JSON is `mcamp report --json`,
//! documented field by field in docs/report.md.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Counters, Scope, SharerScore, Stage, metric};

/// What the report needs of the campaign besides its counters.
#[derive(Debug, Clone, Default)]
pub struct CampaignMeta {
    pub campaign_id: String,
    pub name: String,
    pub status: String,
    /// `(id, title, stock)` of each coupon in the campaign file, in its order.
    pub coupons: Vec<(String, String, u32)>,
    /// What each content block of the page is, in order (`상품`, `영상: 봄 신메뉴`, …).
    pub blocks: Vec<String>,
    /// The learning offer's coupons, the baseline first (`Campaign::offered_coupons`).
    pub offered: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignReport {
    pub campaign_id: String,
    pub name: String,
    pub status: String,
    pub funnel: Vec<FunnelStep>,
    /// Link-preview bots and crawlers that fetched a link: never clicks.
    pub previews: i64,
    pub clicks: i64,
    pub unique_clicks: i64,
    pub page_views: i64,
    pub forms: i64,
    pub opt_outs: i64,
    pub by_hour: Vec<TimeRow>,
    pub by_day: Vec<TimeRow>,
    pub in_app: Vec<InAppRow>,
    /// How far down the page viewers got, block by block, and where the bouncers left.
    pub blocks: Vec<BlockRow>,
    pub coupons: Vec<CouponRow>,
    pub stores: Vec<StoreRow>,
    pub shares: Shares,
    pub top_sharers: Vec<SharerScore>,
    /// Who shared to whom, hop by hop, from the best sharers who started a chain (filled by
    /// the caller, which reads the referrals; empty from `build`).
    pub share_tree: Vec<TreeNode>,
    pub variants: Vec<VariantRow>,
    /// With 2 to 4 page variants: which converts page viewers into coupon claims best (the
    /// first variant by name is the control).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ab_test: Option<AbTest>,
    /// The learning offer: redemption per coupon and segment, and the lift of the learned
    /// offer over the holdout (who get the baseline), with a 95 % interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<crate::experiment::BanditReport>,
    pub sends: Sends,
    pub consents: BTreeMap<String, i64>,
    pub survey: Survey,
    /// Records the aggregator skipped, by `{type}.v{version}`.
    pub skipped: BTreeMap<String, i64>,
}

/// One step of the funnel: the people who took it, and the share of those who took the step
/// before (and of those sent the message) who took it too. A step can have more people than
/// the one before (a page opened without a tap on the link); its rate never passes 100 %.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    pub stage: Stage,
    pub label: &'static str,
    pub people: i64,
    /// Of the people who took the step before, the share who took this one too; absent when
    /// no one took the step before.
    pub of_previous: Option<f64>,
    /// Of the people sent the message, the share who took this step; absent without send
    /// results.
    pub of_sent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeRow {
    /// KST: `2026-11-30` for a day, `2026-11-30 14` for an hour.
    pub at: String,
    pub sent: i64,
    pub delivered: i64,
    pub clicks: i64,
    pub unique_clicks: i64,
    pub previews: i64,
    pub page_views: i64,
    pub forms: i64,
    pub claimed: i64,
    pub redeemed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InAppRow {
    /// `kakaotalk`, `naver`, …, or `none` for a regular browser.
    pub in_app: String,
    pub clicks: i64,
    pub unique_clicks: i64,
    /// People whose first click came from this browser, and what they did.
    pub viewed: i64,
    pub engaged: i64,
    pub bounced: i64,
    /// `bounced / viewed`.
    pub bounce_rate: Option<f64>,
}

/// One content block of the page (from the `page_depth` beacon: JavaScript on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockRow {
    /// 0 for the first block.
    pub block: u32,
    pub label: String,
    /// Viewers who had this block on screen.
    pub reached: i64,
    /// Viewers for whom it was the last block seen.
    pub left_here: i64,
    /// Bouncers (viewed and did nothing) for whom it was the last block seen.
    pub bounced_here: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponRow {
    pub coupon: String,
    pub title: String,
    pub stock: u32,
    pub claimed: i64,
    pub issued: i64,
    pub sold_out: i64,
    pub redeemed: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreRow {
    pub store: String,
    pub redeemed: i64,
    /// Redemptions by coupon.
    pub redeemed_by_coupon: BTreeMap<String, i64>,
    pub survey_starts: i64,
    pub survey_completions: i64,
    pub survey_withdrawn: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shares {
    /// Share taps, and by channel (`kakao`, `copy_link`, `sms`).
    pub taps: i64,
    pub by_channel: BTreeMap<String, i64>,
    /// KakaoTalk's reports of a share message sent, those to oneself (나와의 채팅), and the
    /// distinct chat rooms reached.
    pub kakao_deliveries: i64,
    pub kakao_to_self: i64,
    pub kakao_rooms: i64,
    /// People who shared at least once.
    pub sharers: i64,
    /// Visitors who arrived through a share link, and of them those who viewed, claimed and
    /// redeemed (people).
    pub visitors: i64,
}

/// One person of a share tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeNode {
    pub recipient_id: crate::values::RecipientId,
    /// Who brought them in (absent for the tree's root).
    pub parent: Option<crate::values::RecipientId>,
    /// 0 for the root, 1 for those it brought in, …
    pub hop: u32,
    pub stage: Stage,
    /// Their own redemptions.
    pub redeemed: u32,
    /// Credited to them over all hops: visitors, and coupons redeemed down their chain.
    pub visitors: u32,
    pub credited_redeemed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantRow {
    pub variant: String,
    pub funnel: Vec<FunnelStep>,
}

/// The A/B verdict of the page variants: of those who viewed the page (`over`), who went on to
/// claim a coupon (`to`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbTest {
    pub over: Stage,
    pub to: Stage,
    pub verdict: crate::experiment::Verdict,
}

impl AbTest {
    /// The verdict over the variants' funnels; `None` unless there are 2 to 4 variants.
    pub fn of(variants: &[VariantRow]) -> Option<AbTest> {
        let (over, to) = (Stage::Viewed, Stage::Claimed);
        let arms = crate::experiment::arms_from_funnels(variants, over, to);
        let arms: Vec<(&str, u64, u64)> = arms.iter().map(|(n, v, c)| (n.as_str(), *v, *c)).collect();
        let verdict = crate::experiment::verdict(&arms).ok()?;
        Some(AbTest { over, to, verdict })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sends {
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub sent_by_channel: BTreeMap<String, i64>,
    pub failed_by_reason: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Survey {
    pub starts: i64,
    pub answers: i64,
    pub completions: i64,
    pub withdrawn: i64,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The funnel of one scope (the campaign, or one variant).
fn funnel(c: &Counters, scope: &Scope) -> Vec<FunnelStep> {
    use metric::people::*;
    let steps = [
        (Stage::Sent, SENT),
        (Stage::Delivered, DELIVERED),
        (Stage::Clicked, CLICKED),
        (Stage::Viewed, VIEWED),
        (Stage::Form, FORM),
        (Stage::Consent, CONSENT),
        (Stage::Claimed, CLAIMED),
        (Stage::Issued, ISSUED),
        (Stage::Redeemed, REDEEMED),
    ];
    let sent = c.get(scope, SENT);
    let mut out: Vec<FunnelStep> = Vec::with_capacity(steps.len());
    for (stage, m) in steps {
        let people = c.get(scope, m);
        // Of the people who took the step before, those who took this one too.
        let of_previous = out
            .last()
            .and_then(|p| ratio(c.get(scope, &super::funnel_metric(stage, "prev")), p.people));
        let of_sent = if stage == Stage::Sent {
            None
        } else {
            ratio(c.get(scope, &super::funnel_metric(stage, "sent")), sent)
        };
        out.push(FunnelStep {
            stage,
            label: stage.korean(),
            people,
            of_previous,
            of_sent,
        });
    }
    out
}

/// The counters of a prefix (`sent.`), keyed by the rest of the name.
fn with_prefix(m: &BTreeMap<String, i64>, prefix: &str) -> BTreeMap<String, i64> {
    m.range(prefix.to_owned()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter(|(_, v)| **v != 0)
        .map(|(k, v)| (k[prefix.len()..].to_owned(), *v))
        .collect()
}

fn time_row(at: String, m: &BTreeMap<String, i64>) -> TimeRow {
    let g = |k: &str| m.get(k).copied().unwrap_or(0);
    TimeRow {
        at,
        sent: g(metric::SENT),
        delivered: g(metric::DELIVERED),
        clicks: g(metric::CLICKS),
        unique_clicks: g(metric::UNIQUE_CLICKS),
        previews: g(metric::PREVIEWS),
        page_views: g(metric::PAGE_VIEWS),
        forms: g(metric::FORMS),
        claimed: g(metric::CLAIMED),
        redeemed: g(metric::REDEEMED),
    }
}

/// `20261130` as `2026-11-30`, `2026113014` as `2026-11-30 14`.
fn kst_label(key: &str) -> String {
    match key.len() {
        8 => format!("{}-{}-{}", &key[0..4], &key[4..6], &key[6..8]),
        10 => format!("{}-{}-{} {}", &key[0..4], &key[4..6], &key[6..8], &key[8..10]),
        _ => key.to_owned(),
    }
}

impl CampaignReport {
    pub fn build(meta: &CampaignMeta, c: &Counters, top_sharers: Vec<SharerScore>) -> CampaignReport {
        let empty = BTreeMap::new();
        let total = c.0.get(&Scope::Total).unwrap_or(&empty);
        let t = |k: &str| total.get(k).copied().unwrap_or(0);

        let by_hour = c.scopes(Scope::hour).map(|(h, m)| time_row(kst_label(h), m)).collect();
        let by_day = c.scopes(Scope::day).map(|(d, m)| time_row(kst_label(d), m)).collect();

        let mut in_app: Vec<InAppRow> = c
            .scopes(Scope::in_app)
            .map(|(a, m)| {
                let g = |k: &str| m.get(k).copied().unwrap_or(0);
                let viewed = g(metric::people::VIEWED);
                let bounced = g(metric::people::BOUNCED);
                InAppRow {
                    in_app: a.to_owned(),
                    clicks: g(metric::CLICKS),
                    unique_clicks: g(metric::UNIQUE_CLICKS),
                    viewed,
                    engaged: g(metric::people::ENGAGED),
                    bounced,
                    bounce_rate: ratio(bounced, viewed),
                }
            })
            .collect();
        in_app.sort_by(|a, b| b.clicks.cmp(&a.clicks).then_with(|| a.in_app.cmp(&b.in_app)));

        // The campaign file's coupons first, in its order, then any counted but since removed.
        let coupon_row = |id: &str, title: &str, stock: u32| {
            let s = Scope::Coupon(id.to_owned());
            CouponRow {
                coupon: id.to_owned(),
                title: title.to_owned(),
                stock,
                claimed: c.get(&s, metric::CLAIMED),
                issued: c.get(&s, metric::ISSUED),
                sold_out: c.get(&s, metric::SOLD_OUT),
                redeemed: c.get(&s, metric::REDEEMED),
            }
        };
        let mut coupons: Vec<CouponRow> = meta
            .coupons
            .iter()
            .map(|(id, title, stock)| coupon_row(id, title, *stock))
            .collect();
        for (id, _) in c.scopes(Scope::coupon) {
            if !coupons.iter().any(|r| r.coupon == id) {
                coupons.push(coupon_row(id, "", 0));
            }
        }

        let mut stores: Vec<StoreRow> = c
            .scopes(Scope::store)
            .map(|(s, m)| {
                let g = |k: &str| m.get(k).copied().unwrap_or(0);
                StoreRow {
                    store: s.to_owned(),
                    redeemed: g(metric::REDEEMED),
                    redeemed_by_coupon: with_prefix(m, &format!("{}.", metric::REDEEMED)),
                    survey_starts: g(metric::SURVEY_STARTS),
                    survey_completions: g(metric::SURVEY_COMPLETIONS),
                    survey_withdrawn: g(metric::SURVEY_WITHDRAWN),
                }
            })
            .collect();
        stores.sort_by(|a, b| b.redeemed.cmp(&a.redeemed).then_with(|| a.store.cmp(&b.store)));

        let reached = |b: u32| c.get(&Scope::Block(b.to_string()), metric::people::REACHED);
        let mut deepest: Option<u32> = None;
        for (b, _) in c.scopes(Scope::block) {
            if let Ok(b) = b.parse::<u32>() {
                deepest = Some(deepest.map_or(b, |d| d.max(b)));
            }
        }
        let shown = u32::try_from(meta.blocks.len()).unwrap_or(u32::MAX);
        let blocks = match deepest.map(|d| d.max(shown.saturating_sub(1))).or(shown.checked_sub(1)) {
            Some(last) => (0..=last)
                .map(|b| BlockRow {
                    block: b,
                    label: meta
                        .blocks
                        .get(b as usize)
                        .cloned()
                        .unwrap_or_else(|| format!("블록 {}", b + 1)),
                    reached: reached(b),
                    left_here: reached(b) - reached(b + 1),
                    bounced_here: c.get(&Scope::Block(b.to_string()), metric::people::BOUNCED),
                })
                .collect(),
            None => Vec::new(),
        };

        let variants: Vec<VariantRow> = c
            .scopes(Scope::variant)
            .map(|(v, _)| VariantRow {
                variant: v.to_owned(),
                funnel: funnel(c, &Scope::Variant(v.to_owned())),
            })
            .collect();
        let ab_test = AbTest::of(&variants);
        let offer = (!meta.offered.is_empty()).then(|| {
            let arms: Vec<&str> = meta.offered.iter().map(String::as_str).collect();
            super::bandit_counts(c).report(&arms)
        });

        CampaignReport {
            campaign_id: meta.campaign_id.clone(),
            name: meta.name.clone(),
            status: meta.status.clone(),
            funnel: funnel(c, &Scope::Total),
            previews: t(metric::PREVIEWS),
            clicks: t(metric::CLICKS),
            unique_clicks: t(metric::UNIQUE_CLICKS),
            page_views: t(metric::PAGE_VIEWS),
            forms: t(metric::FORMS),
            opt_outs: t(metric::OPT_OUTS),
            by_hour,
            by_day,
            in_app,
            blocks,
            coupons,
            stores,
            shares: Shares {
                taps: t(metric::SHARES),
                by_channel: with_prefix(total, &format!("{}.", metric::SHARES)),
                kakao_deliveries: t(metric::SHARE_DELIVERIES),
                kakao_to_self: t(metric::SHARES_TO_SELF),
                kakao_rooms: t(metric::SHARE_ROOMS),
                sharers: t(metric::people::SHARED),
                visitors: t(metric::SHARE_VISITORS),
            },
            top_sharers,
            share_tree: Vec::new(),
            variants,
            ab_test,
            offer,
            sends: Sends {
                sent: t(metric::SENT),
                delivered: t(metric::DELIVERED),
                failed: t(metric::FAILED),
                sent_by_channel: with_prefix(total, &format!("{}.", metric::SENT)),
                failed_by_reason: with_prefix(total, &format!("{}.", metric::FAILED)),
            },
            consents: with_prefix(total, "consents."),
            survey: Survey {
                starts: t(metric::SURVEY_STARTS),
                answers: t(metric::SURVEY_ANSWERS),
                completions: t(metric::SURVEY_COMPLETIONS),
                withdrawn: t(metric::SURVEY_WITHDRAWN),
            },
            skipped: with_prefix(total, &format!("{}.", metric::SKIPPED)),
        }
    }
}
