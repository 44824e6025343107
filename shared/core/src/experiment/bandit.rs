//! A coupon offer that learns: Thompson sampling per segment (gender × age band) over the
//! campaign's 2–4 coupon variants, with a sticky random holdout.
//!
//! - **Choosing.** For a person of segment `s`, each variant `v` draws a rate from
//!   Beta(1 + redemptions, 1 + offers − redemptions) of `(s, v)`; the highest draw is offered.
//!   Variants that redeem better are offered more, and a variant with few offers still gets
//!   tried. The counts are the aggregator's (offers when a coupon is shown, redemptions when
//!   it is redeemed); they may be read in batches, as a cache refreshes.
//! - **Holdout.** A fixed share of people (10 % by default, 0–50 %), chosen by a hash of the
//!   person ([`in_holdout`]), is not part of the learning: they are offered the
//!   **baseline** variant, the campaign's first, whatever their segment. Their redemption is
//!   what the learned offer is measured against ("lift over the holdout"). A holdout with no
//!   coupon at all would have nothing to redeem, and mcamp sees no purchases to compare.
//!   Holdout offers and redemptions are counted apart and never feed the posteriors.
//! - **Stickiness.** The holdout is sticky by its hash; the variant drawn is random, so the
//!   caller keeps the first offer a person sees (the coupon's per-person record) and shows
//!   that one again.

use std::collections::BTreeMap;
use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::assign::{HoldoutShare, in_holdout};
use super::stats::{beta, newcombe_difference, normal_quantile, posterior};
use crate::values::{AgeBand, Gender};

/// A bandit segment: gender × age band, either possibly unknown (a person without a profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Segment {
    pub gender: Option<Gender>,
    pub age: Option<AgeBand>,
}

impl Segment {
    pub fn new(gender: Option<Gender>, age: Option<AgeBand>) -> Self {
        Segment { gender, age }
    }

    /// `female.30s`, `male.unknown`, `unknown.60+`: the key in counters and JSON.
    pub fn key(&self) -> String {
        let g = match self.gender {
            Some(Gender::Female) => "female",
            Some(Gender::Male) => "male",
            Some(Gender::Other) => "other",
            None => "unknown",
        };
        let a = match self.age {
            Some(AgeBand::Teens) => "10s",
            Some(AgeBand::Twenties) => "20s",
            Some(AgeBand::Thirties) => "30s",
            Some(AgeBand::Forties) => "40s",
            Some(AgeBand::Fifties) => "50s",
            Some(AgeBand::SixtyPlus) => "60+",
            None => "unknown",
        };
        format!("{g}.{a}")
    }

    pub fn parse(key: &str) -> Option<Segment> {
        let (g, a) = key.split_once('.')?;
        let gender = match g {
            "unknown" => None,
            "female" => Some(Gender::Female),
            "male" => Some(Gender::Male),
            "other" => Some(Gender::Other),
            _ => return None,
        };
        let age = match a {
            "unknown" => None,
            _ => Some(AgeBand::parse(a).ok().filter(|b| a == segment_age(*b))?),
        };
        Some(Segment { gender, age })
    }

    /// `여성 30대`, `성별 미상 20대`, `나이 미상`.
    pub fn label_ko(&self) -> String {
        match (self.gender, self.age) {
            (Some(g), Some(a)) => format!("{} {}", g.label_ko(), a.label_ko()),
            (Some(g), None) => format!("{} 나이 미상", g.label_ko()),
            (None, Some(a)) => format!("성별 미상 {}", a.label_ko()),
            (None, None) => "성별·나이 미상".to_owned(),
        }
    }
}

fn segment_age(b: AgeBand) -> &'static str {
    match b {
        AgeBand::Teens => "10s",
        AgeBand::Twenties => "20s",
        AgeBand::Thirties => "30s",
        AgeBand::Forties => "40s",
        AgeBand::Fifties => "50s",
        AgeBand::SixtyPlus => "60+",
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl Serialize for Segment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for Segment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Segment::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a segment (e.g. female.30s)")))
    }
}

/// Offers and redemptions of one variant in one segment (or of a holdout).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub offers: u64,
    pub redemptions: u64,
}

impl Tally {
    pub fn rate(&self) -> Option<f64> {
        (self.offers > 0).then(|| self.redemptions.min(self.offers) as f64 / self.offers as f64)
    }
    fn add(&mut self, other: Tally) {
        self.offers = self.offers.saturating_add(other.offers);
        self.redemptions = self.redemptions.saturating_add(other.redemptions);
    }
}

/// Thompson sampling: the variant to offer given each variant's `(name, offers, redemptions)`
/// in the person's segment. `None` only without variants.
pub fn choose<'a, R: RngCore + ?Sized>(arms: &[(&'a str, u64, u64)], rng: &mut R) -> Option<&'a str> {
    let mut best: Option<(&'a str, f64)> = None;
    for (name, offers, redemptions) in arms {
        let (a, b) = posterior(*offers, *redemptions);
        let x = beta(a, b, rng);
        if best.is_none_or(|(_, top)| x > top) {
            best = Some((name, x));
        }
    }
    best.map(|(n, _)| n)
}

/// What a person is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Offer<'a> {
    pub variant: &'a str,
    /// In the holdout: `variant` is the baseline, not a learned choice.
    pub holdout: bool,
}

/// The offer for `who` in the experiment `salt`: the baseline (the first variant) when they
/// are in the holdout, else the Thompson choice over their segment's counts. `None` only
/// without variants.
pub fn offer<'a, R: RngCore + ?Sized>(
    salt: &str,
    who: &str,
    holdout: HoldoutShare,
    arms: &[(&'a str, u64, u64)],
    rng: &mut R,
) -> Option<Offer<'a>> {
    let baseline = arms.first()?.0;
    if in_holdout(salt, who, holdout) {
        return Some(Offer {
            variant: baseline,
            holdout: true,
        });
    }
    choose(arms, rng).map(|variant| Offer {
        variant,
        holdout: false,
    })
}

/// The counts a bandit learns from, as the aggregator keeps them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BanditCounts {
    /// Learned offers: segment → variant → tally.
    pub offered: BTreeMap<Segment, BTreeMap<String, Tally>>,
    /// Holdout offers (the baseline): segment → tally.
    pub holdout: BTreeMap<Segment, Tally>,
}

impl BanditCounts {
    /// The `(variant, offers, redemptions)` of a segment, in the campaign's variant order
    /// (zeros for a variant not offered yet): the input of [`choose`] and [`offer`].
    pub fn arms<'a>(&self, segment: &Segment, variants: &[&'a str]) -> Vec<(&'a str, u64, u64)> {
        let seg = self.offered.get(segment);
        variants
            .iter()
            .map(|v| {
                let t = seg.and_then(|m| m.get(*v)).copied().unwrap_or_default();
                (*v, t.offers, t.redemptions)
            })
            .collect()
    }

    /// Counts an offer shown.
    pub fn record_offer(&mut self, segment: Segment, offer: &Offer<'_>) {
        self.tally(segment, offer).offers += 1;
    }

    /// Counts a redemption of an offer.
    pub fn record_redemption(&mut self, segment: Segment, offer: &Offer<'_>) {
        self.tally(segment, offer).redemptions += 1;
    }

    fn tally(&mut self, segment: Segment, offer: &Offer<'_>) -> &mut Tally {
        if offer.holdout {
            self.holdout.entry(segment).or_default()
        } else {
            self.offered
                .entry(segment)
                .or_default()
                .entry(offer.variant.to_owned())
                .or_default()
        }
    }

    /// Redemption per variant and segment, and the lift of the learned offer over the
    /// holdout, per segment and overall.
    pub fn report(&self, variants: &[&str]) -> BanditReport {
        let mut segments: Vec<Segment> = self.offered.keys().chain(self.holdout.keys()).copied().collect();
        segments.sort();
        segments.dedup();
        let mut total_offered = Tally::default();
        let mut total_holdout = Tally::default();
        let mut by_variant: BTreeMap<&str, Tally> = BTreeMap::new();
        let rows = segments
            .into_iter()
            .map(|segment| {
                let arms = self.arms(&segment, variants);
                let mut offered = Tally::default();
                let variants = arms
                    .iter()
                    .map(|(v, o, r)| {
                        let t = Tally {
                            offers: *o,
                            redemptions: *r,
                        };
                        offered.add(t);
                        by_variant.entry(v).or_default().add(t);
                        VariantRate {
                            variant: (*v).to_owned(),
                            tally: t,
                            rate: t.rate(),
                        }
                    })
                    .collect();
                let holdout = self.holdout.get(&segment).copied().unwrap_or_default();
                total_offered.add(offered);
                total_holdout.add(holdout);
                SegmentRow {
                    segment,
                    label: segment.label_ko(),
                    variants,
                    offered,
                    holdout,
                    lift: lift(offered, holdout),
                }
            })
            .collect();
        BanditReport {
            segments: rows,
            variants: variants
                .iter()
                .map(|v| {
                    let t = by_variant.get(v).copied().unwrap_or_default();
                    VariantRate {
                        variant: (*v).to_owned(),
                        tally: t,
                        rate: t.rate(),
                    }
                })
                .collect(),
            offered: total_offered,
            holdout: total_holdout,
            lift: lift(total_offered, total_holdout),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantRate {
    pub variant: String,
    #[serde(flatten)]
    pub tally: Tally,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentRow {
    pub segment: Segment,
    /// `여성 30대`.
    pub label: String,
    pub variants: Vec<VariantRate>,
    /// The learned offers of the segment, all variants together.
    pub offered: Tally,
    pub holdout: Tally,
    pub lift: Option<Lift>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BanditReport {
    pub segments: Vec<SegmentRow>,
    /// Each variant over all segments (learned offers only).
    pub variants: Vec<VariantRate>,
    pub offered: Tally,
    pub holdout: Tally,
    pub lift: Option<Lift>,
}

/// The lift of the learned offer's redemption rate over the holdout's, with a 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lift {
    pub offered_rate: f64,
    pub holdout_rate: f64,
    /// `offered_rate − holdout_rate`, in proportion points (0.012 = 1.2 %p).
    pub difference: f64,
    /// The 95 % interval of the difference: Newcombe's hybrid score interval (Wilson
    /// intervals of the two rates combined).
    pub low: f64,
    pub high: f64,
    /// The difference relative to the holdout's rate; absent when that is 0.
    pub relative: Option<f64>,
}

/// The 95 % level's normal quantile.
fn z95() -> f64 {
    normal_quantile(0.975)
}

/// The lift of `offered` over `holdout`; `None` unless both have offers.
pub fn lift(offered: Tally, holdout: Tally) -> Option<Lift> {
    let (o, h) = (offered.rate()?, holdout.rate()?);
    let (low, high) = newcombe_difference(
        offered.offers,
        offered.redemptions,
        holdout.offers,
        holdout.redemptions,
        z95(),
    );
    Some(Lift {
        offered_rate: o,
        holdout_rate: h,
        difference: o - h,
        low,
        high,
        relative: (h > 0.0).then(|| (o - h) / h),
    })
}
