//! The A/B verdict on one conversion (e.g. a funnel step over the visitors of each page
//! variant): per-arm rates, a two-proportion z-test of each arm against the control, the
//! Bayesian probability that each arm is best, the minimum sample per arm, and one plain
//! Korean sentence.
//!
//! # The decision
//! An arm wins when, and only when,
//! 1. **every arm has the minimum sample**: at least `min_visitors` (1,000) and at least the
//!    power-calculation size (below), and the arms together have at least
//!    `min_conversions` (30) conversions per arm; and
//! 2. its **probability to be best** is at least `threshold` (0.99). Posteriors are
//!    Beta(1 + conversions, 1 + visitors − conversions); the probability is the share of
//!    `draws` (20,000) joint posterior draws in which the arm is highest, drawn from a
//!    generator seeded with `seed`: the same counts always give the same verdict.
//!
//! The z-tests are shown beside it and do not decide.
//!
//! **Power calculation.** With `p` the pooled rate of all arms and `p₂ = p × (1 + lift)`
//! (`lift` = `detectable_lift`, 25 %; `p × (1 − lift)` when that would pass 100 %), the
//! sample per arm is `n = (z₁₋ₜ + z_power)² × (p(1−p) + p₂(1−p₂)) / (p₂ − p)²` with
//! `z₁₋ₜ = Φ⁻¹(threshold)` (2.326) and `z_power = Φ⁻¹(power)` (0.842 for 80 %): the size at
//! which a true 25 % relative difference reaches the threshold four times in five. At a 4 %
//! rate it is 8,621 visitors per arm; at 5 %, 6,815. Before the first conversion it is
//! unknown, and there is no verdict.
//!
//! **Why 0.99.** With equal true rates, one of two arms reaches 0.975 in about 5 % of
//! experiments read once (2.5 % each side); 0.99 makes that about 2 %, and leaves room for
//! what peeking adds (below) and for 3–4 arms. The power is still ample for the differences a
//! campaign cares about (6 % against 4 % over 10,000 visitors per arm wins every time in the
//! simulations).
//!
//! **Peeking.** These error rates hold for a verdict read once, at the planned size. The
//! console shows the verdict every day; each look is another chance for noise to cross the
//! threshold, so the more looks, the more false winners. The minimum sample blocks the early
//! looks, where noise is largest, and the strict threshold absorbs much of the rest; a
//! marketer should still plan the size (the stated minimum) and decide once it is reached.
//! Simulated with equal 4 % arms read ten times (every 2,000 visitors per arm up to 20,000),
//! 25 of 500 experiments (5.0 %) showed a winner at some look, against 8 (1.6 %) read once at
//! the end (`simulation_peeking_at_equal_rates`).

use serde::Serialize;

use super::stats::{SeededRng, beta, normal_quantile, posterior, two_sided_p};
use crate::analytics::Stage;
use crate::analytics::report::VariantRow;
use crate::campaign::grouped;
use crate::values::ParseError;

use super::assign::{MAX_ARMS, MIN_ARMS};

/// How a verdict is reached. [`VerdictRules::default`] is what the report uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VerdictRules {
    /// The probability to be best an arm needs to win.
    pub threshold: f64,
    /// Visitors every arm needs whatever the power calculation says.
    pub min_visitors: u64,
    /// Conversions per arm the arms need together.
    pub min_conversions: u64,
    /// The relative difference the minimum sample is sized to detect (0.25 = 25 %).
    pub detectable_lift: f64,
    /// The chance that a true `detectable_lift` wins at the minimum sample.
    pub power: f64,
    /// Joint posterior draws for the probability to be best.
    pub draws: u32,
    /// Seed of the draws.
    pub seed: u64,
}

impl Default for VerdictRules {
    fn default() -> Self {
        VerdictRules {
            threshold: 0.99,
            min_visitors: 1_000,
            min_conversions: 30,
            detectable_lift: 0.25,
            power: 0.8,
            draws: 20_000,
            seed: 0x6d63_616d_702d_6162, // "mcamp-ab"
        }
    }
}

/// One arm's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmResult {
    pub name: String,
    pub visitors: u64,
    /// At most `visitors` (more are counted as `visitors`).
    pub conversions: u64,
    /// `conversions / visitors`; absent without visitors.
    pub rate: Option<f64>,
    /// The arm against the control; absent for the control itself.
    pub vs_control: Option<ZTest>,
    /// The posterior probability that this arm has the highest rate (the arms' sum to 1).
    pub probability_best: f64,
}

/// A two-proportion z-test (pooled standard error) of an arm against the control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZTest {
    /// The arm's rate minus the control's.
    pub difference: f64,
    /// The difference relative to the control's rate; absent when the control's rate is 0
    /// or unknown.
    pub relative: Option<f64>,
    /// 0 when the test is undefined (an arm without visitors, or no variation at all).
    pub z: f64,
    /// Two-sided; 1 when the test is undefined.
    pub p_value: f64,
}

/// What the verdict concludes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Below the minimum sample: no verdict whatever the rates.
    NotEnoughData,
    /// The minimum sample is there, and no arm reaches the threshold.
    NoClearWinner,
    Winner {
        arm: String,
        probability: f64,
    },
}

/// The verdict the report and the console show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// In the order given; the first is the control.
    pub arms: Vec<ArmResult>,
    /// Visitors every arm needs before any verdict (the larger of `min_visitors` and the
    /// power calculation); absent before the first conversion.
    pub min_sample_per_arm: Option<u64>,
    /// Conversions the arms need together.
    pub min_conversions_total: u64,
    pub threshold: f64,
    pub outcome: Outcome,
    /// The headline: `B안이 99% 확률로 더 좋아요` or `아직 판단하기에 데이터가 부족해요`.
    pub sentence: String,
    /// What the headline rests on, e.g. how many visitors are still needed.
    pub detail: String,
}

/// The no-verdict headline.
pub const NOT_ENOUGH_DATA: &str = "아직 판단하기에 데이터가 부족해요";

/// The verdict with the default rules. See [`verdict_with`].
pub fn verdict(arms: &[(&str, u64, u64)]) -> Result<Verdict, ParseError> {
    verdict_with(arms, &VerdictRules::default())
}

/// The verdict over arms `(name, visitors, conversions)`, the first being the control. 2 to 4
/// arms, else an error; any counts are accepted (conversions above visitors count as
/// visitors).
pub fn verdict_with(arms: &[(&str, u64, u64)], rules: &VerdictRules) -> Result<Verdict, ParseError> {
    if arms.len() < MIN_ARMS || arms.len() > MAX_ARMS {
        return Err(ParseError::new(
            "variants",
            format!("a verdict needs {MIN_ARMS} to {MAX_ARMS} variants, not {}", arms.len()),
        ));
    }
    let counts: Vec<(u64, u64)> = arms.iter().map(|(_, n, c)| (*n, (*c).min(*n))).collect();
    let probs = probability_best(&counts, rules.draws, rules.seed);
    let (cn, cc) = counts[0];
    let results: Vec<ArmResult> = arms
        .iter()
        .zip(&counts)
        .zip(&probs)
        .enumerate()
        .map(|(i, (((name, _, _), &(n, c)), &p))| ArmResult {
            name: (*name).to_owned(),
            visitors: n,
            conversions: c,
            rate: rate(n, c),
            vs_control: (i > 0).then(|| z_test(cn, cc, n, c)),
            probability_best: p,
        })
        .collect();

    let total_visitors: f64 = counts.iter().map(|(n, _)| *n as f64).sum();
    let total_conversions: u64 = counts.iter().fold(0u64, |a, (_, c)| a.saturating_add(*c));
    let pooled = if total_visitors > 0.0 {
        total_conversions as f64 / total_visitors
    } else {
        0.0
    };
    let min_sample = required_per_arm(pooled, rules).map(|n| n.max(rules.min_visitors));
    let min_conversions_total = rules.min_conversions.saturating_mul(arms.len() as u64);
    let smallest = counts.iter().map(|(n, _)| *n).min().unwrap_or(0);
    let threshold = if rules.threshold.is_finite() {
        rules.threshold.clamp(0.5, 1.0)
    } else {
        0.99
    };

    let enough = matches!(min_sample, Some(m) if smallest >= m) && total_conversions >= min_conversions_total;
    let best = results.iter().enumerate().fold(0, |b, (i, r)| {
        if r.probability_best > results[b].probability_best {
            i
        } else {
            b
        }
    });
    let outcome = if !enough {
        Outcome::NotEnoughData
    } else if results[best].probability_best >= threshold {
        Outcome::Winner {
            arm: results[best].name.clone(),
            probability: results[best].probability_best,
        }
    } else {
        Outcome::NoClearWinner
    };

    let pct = |p: f64| ((p * 100.0).floor() as u64).min(99);
    let (sentence, detail) = match &outcome {
        Outcome::Winner { arm, probability } => {
            let label = arm_label(arm);
            let than = if arms.len() == 2 { "더" } else { "가장" };
            (
                format!(
                    "{label}{} {}% 확률로 {than} 좋아요",
                    subject_particle(&label),
                    pct(*probability)
                ),
                format!(
                    "안마다 필요한 방문자 {}명을 채웠어요 (가장 적은 안 {}명)",
                    grouped(min_sample.unwrap_or(0)),
                    grouped(smallest)
                ),
            )
        }
        Outcome::NoClearWinner => (
            NOT_ENOUGH_DATA.to_owned(),
            format!(
                "안마다 필요한 방문자 {}명을 채웠지만, {}% 확률로 앞서는 안이 아직 없어요",
                grouped(min_sample.unwrap_or(0)),
                pct(threshold)
            ),
        ),
        Outcome::NotEnoughData => (
            NOT_ENOUGH_DATA.to_owned(),
            match min_sample {
                None => "아직 전환이 없어 필요한 방문자 수를 정할 수 없어요".to_owned(),
                Some(m) if smallest < m => format!(
                    "안마다 방문자 {}명이 필요해요 (지금 가장 적은 안 {}명)",
                    grouped(m),
                    grouped(smallest)
                ),
                Some(_) => format!(
                    "전환이 모두 합쳐 {}건 이상 필요해요 (지금 {}건)",
                    grouped(min_conversions_total),
                    grouped(total_conversions)
                ),
            },
        ),
    };

    Ok(Verdict {
        arms: results,
        min_sample_per_arm: min_sample,
        min_conversions_total,
        threshold,
        outcome,
        sentence,
        detail,
    })
}

/// Each variant's `(name, visitors, conversions)` from the report's per-variant funnels: its
/// people at stage `over` and at stage `to` (e.g. `Viewed` → `Claimed`); a stage missing from
/// a funnel counts 0. The rows keep their order: put the control first.
pub fn arms_from_funnels(rows: &[VariantRow], over: Stage, to: Stage) -> Vec<(String, u64, u64)> {
    let people = |row: &VariantRow, stage: Stage| {
        row.funnel
            .iter()
            .find(|s| s.stage == stage)
            .map(|s| u64::try_from(s.people).unwrap_or(0))
            .unwrap_or(0)
    };
    rows.iter()
        .map(|r| (r.variant.clone(), people(r, over), people(r, to)))
        .collect()
}

fn rate(n: u64, c: u64) -> Option<f64> {
    (n > 0).then(|| c.min(n) as f64 / n as f64)
}

/// Two-proportion z-test of arm 2 against arm 1, pooled standard error.
pub fn z_test(n1: u64, c1: u64, n2: u64, c2: u64) -> ZTest {
    let (p1, p2) = (rate(n1, c1), rate(n2, c2));
    let difference = match (p1, p2) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let relative = match p1 {
        Some(a) if a > 0.0 && p2.is_some() => Some(difference / a),
        _ => None,
    };
    let undefined = ZTest {
        difference,
        relative,
        z: 0.0,
        p_value: 1.0,
    };
    if n1 == 0 || n2 == 0 {
        return undefined;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (c1.min(n1) as f64 + c2.min(n2) as f64) / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if !se.is_finite() || se <= 0.0 {
        return undefined;
    }
    let z = difference / se;
    if !z.is_finite() {
        return undefined;
    }
    ZTest {
        difference,
        relative,
        z,
        p_value: two_sided_p(z),
    }
}

/// Visitors per arm from the power calculation (see the module), at the pooled rate `p`;
/// `None` when `p` is 0 (nothing to size on).
pub fn required_per_arm(p: f64, rules: &VerdictRules) -> Option<u64> {
    if !p.is_finite() || p <= 0.0 {
        return None;
    }
    let p = p.min(1.0);
    let lift = if rules.detectable_lift.is_finite() {
        rules.detectable_lift.clamp(0.01, 0.9)
    } else {
        0.25
    };
    let up = p * (1.0 + lift);
    let p2 = if up < 1.0 { up } else { p * (1.0 - lift) };
    let za = normal_quantile(if rules.threshold.is_finite() {
        rules.threshold
    } else {
        0.99
    });
    let zb = normal_quantile(if rules.power.is_finite() { rules.power } else { 0.8 });
    let n = (za + zb).powi(2) * (p * (1.0 - p) + p2 * (1.0 - p2)) / (p2 - p).powi(2);
    if !n.is_finite() {
        return Some(u64::MAX);
    }
    // `as` saturates at u64::MAX.
    Some(n.ceil().max(1.0) as u64)
}

/// The probability each arm is best: the share of joint draws from the arms' posteriors in
/// which it is highest (ties to the earlier arm). Sums to exactly 1.
pub fn probability_best(counts: &[(u64, u64)], draws: u32, seed: u64) -> Vec<f64> {
    if counts.is_empty() {
        return Vec::new();
    }
    let draws = draws.clamp(1_000, 1_000_000);
    let params: Vec<(f64, f64)> = counts.iter().map(|(n, c)| posterior(*n, *c)).collect();
    let mut rng = SeededRng::new(seed);
    let mut wins = vec![0u32; counts.len()];
    for _ in 0..draws {
        let mut best = 0;
        let mut top = f64::NEG_INFINITY;
        for (i, (a, b)) in params.iter().enumerate() {
            let x = beta(*a, *b, &mut rng);
            if x > top {
                top = x;
                best = i;
            }
        }
        wins[best] += 1;
    }
    wins.iter().map(|w| f64::from(*w) / f64::from(draws)).collect()
}

/// How an arm is named in a sentence: a single letter becomes `B안`, anything else stays.
pub fn arm_label(name: &str) -> String {
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => format!("{}안", c.to_ascii_uppercase()),
        _ => name.to_owned(),
    }
}

/// `이` after a final consonant, `가` after a vowel; `이(가)` when the name's last sound is
/// not known (Latin letters).
pub fn subject_particle(word: &str) -> &'static str {
    match word.chars().last() {
        Some(c @ '가'..='힣') => {
            if (u32::from(c) - 0xAC00) % 28 == 0 {
                "가"
            } else {
                "이"
            }
        }
        // 영 일 이 삼 사 오 육 칠 팔 구
        Some(d @ '0'..='9') => match d {
            '2' | '4' | '5' | '9' => "가",
            _ => "이",
        },
        _ => "이(가)",
    }
}
