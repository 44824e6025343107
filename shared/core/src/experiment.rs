//! Experiments: which arm a person sees (sticky, by hash), whether an A/B test has a winner
//! (a z-test, the Bayesian probability to be best, and a plain Korean verdict), and a coupon
//! offer that learns per segment (Thompson sampling with a holdout). Pure statistics, no
//! storage: the aggregator keeps the counts, the report and the console show the results.
//!
//! Everything here is deterministic: assignment hashes, and the random draws of a verdict come
//! from a generator with a fixed seed and a fixed algorithm ([`SeededRng`]). Only the
//! bandit's choice takes the caller's generator.

mod assign;
mod bandit;
mod stats;
mod verdict;

pub use assign::{
    HoldoutShare, MAX_ARM_NAME, MAX_ARMS, MIN_ARMS, WEIGHT_TOTAL, assign, check_arm_name, check_arms, in_holdout,
};
pub use bandit::{
    BanditCounts, BanditReport, Lift, Offer, Segment, SegmentRow, Tally, VariantRate, choose, lift, offer,
};
pub use stats::{SeededRng, normal_cdf, normal_quantile, two_sided_p};
pub use verdict::{
    ArmResult, NOT_ENOUGH_DATA, Outcome, Verdict, VerdictRules, ZTest, arm_label, arms_from_funnels, probability_best,
    required_per_arm, subject_particle, verdict, verdict_with, z_test,
};

#[cfg(test)]
mod tests;
