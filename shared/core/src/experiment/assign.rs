//! Sticky assignment: which arm of an experiment a person sees, and whether they are in a
//! holdout. A hash of the experiment and the person, never a stored random draw, so every
//! function and every replay agrees without asking the store.

use sha2::{Digest, Sha256};

use crate::values::{ParseError, visible_text};

/// Fewest and most arms an experiment may have (page variants, coupon variants).
pub const MIN_ARMS: usize = 2;
pub const MAX_ARMS: usize = 4;

/// Longest arm name, in characters.
pub const MAX_ARM_NAME: usize = 32;

/// What the arm weights of a campaign file must add up to: they are whole percentages.
pub const WEIGHT_TOTAL: u32 = 100;

/// The hash a bucket is cut from: SHA-256 over a one-byte purpose tag, the salt's length (8
/// bytes, big-endian), the salt and the person's key. The length makes `("ab", "c")` and
/// `("a", "bc")` different; the tag keeps the holdout draw independent of the arm draw.
fn hash64(tag: u8, salt: &str, who: &str) -> u64 {
    let mut h = Sha256::new();
    h.update([tag]);
    h.update((salt.len() as u64).to_be_bytes());
    h.update(salt.as_bytes());
    h.update(who.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first)
}

/// A uniform bucket in `0..n` (`n > 0`), by multiply-shift: no modulo bias worth naming.
fn bucket(hash: u64, n: u64) -> u64 {
    ((u128::from(hash) * u128::from(n)) >> 64) as u64
}

const TAG_ARM: u8 = b'A';
const TAG_HOLDOUT: u8 = b'H';

/// The arm `who` sees in the experiment `salt` (the campaign id and the experiment's name,
/// e.g. `"c_8Kd2/page"`), picked with probability weight / total weight. The same input gives
/// the same arm forever; adding a person changes no one else's arm. Changing the weights
/// moves people between arms, so a running experiment keeps its weights.
///
/// Arms should be checked with [`check_arms`] first. Without arms the answer is `""`; when
/// every weight is 0 the arms count as equally weighted.
pub fn assign<'a>(salt: &str, who: &str, arms: &[(&'a str, u32)]) -> &'a str {
    let total: u64 = arms.iter().map(|(_, w)| u64::from(*w)).sum();
    let h = hash64(TAG_ARM, salt, who);
    if total == 0 {
        return match arms.len() {
            0 => "",
            n => arms[bucket(h, n as u64) as usize].0,
        };
    }
    let mut b = bucket(h, total);
    for (name, w) in arms {
        let w = u64::from(*w);
        if b < w {
            return name;
        }
        b -= w;
    }
    // Unreachable: b < total = the sum of the weights.
    arms.last().map(|(n, _)| *n).unwrap_or("")
}

/// A holdout share: the whole percentage of people set aside (0 to 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct HoldoutShare(u8);

impl HoldoutShare {
    pub const MAX_PERCENT: u32 = 50;
    /// The default: 10 %.
    pub const DEFAULT: HoldoutShare = HoldoutShare(10);

    pub fn new(percent: u32) -> Result<Self, ParseError> {
        if percent > Self::MAX_PERCENT {
            return Err(ParseError::new(
                "holdout_percent",
                format!("must be 0 to {} (a whole percentage), not {percent}", Self::MAX_PERCENT),
            ));
        }
        Ok(HoldoutShare(percent as u8))
    }
    pub fn percent(self) -> u32 {
        u32::from(self.0)
    }
}

impl Default for HoldoutShare {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl<'de> serde::Deserialize<'de> for HoldoutShare {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = u32::deserialize(d)?;
        HoldoutShare::new(p).map_err(serde::de::Error::custom)
    }
}

/// Whether `who` is in the holdout of the experiment `salt`: sticky like [`assign`], and
/// independent of it (another hash), so the holdout is a random share of every arm's people
/// and of every segment.
pub fn in_holdout(salt: &str, who: &str, share: HoldoutShare) -> bool {
    bucket(hash64(TAG_HOLDOUT, salt, who), 10_000) < u64::from(share.0) * 100
}

/// An arm's name: 1 to 32 letters (Hangul included), digits, `-` or `_`. It travels in events
/// and counter keys (`V#<name>`), hence no `#`, spaces or punctuation.
pub fn check_arm_name(field: &'static str, name: &str) -> Result<(), ParseError> {
    let len = name.chars().count();
    if len == 0 {
        return Err(ParseError::new(field, "a variant needs a name (e.g. A, B)"));
    }
    if len > MAX_ARM_NAME {
        return Err(ParseError::new(
            field,
            format!("'{name}' is longer than {MAX_ARM_NAME} characters"),
        ));
    }
    if !visible_text(name, false) || !name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
        return Err(ParseError::new(
            field,
            format!("'{name}' may only hold letters, digits, '-' and '_'"),
        ));
    }
    Ok(())
}

/// The arms of an experiment as a campaign file gives them: 2 to 4, distinct valid names,
/// and weights that are whole percentages, each at least 1, adding up to exactly 100
/// (`A: 50, B: 50`; `A: 34, B: 33, C: 33`). Anything else is refused with its reason.
pub fn check_arms(field: &'static str, arms: &[(&str, u32)]) -> Result<(), ParseError> {
    if arms.len() < MIN_ARMS || arms.len() > MAX_ARMS {
        return Err(ParseError::new(
            field,
            format!("needs {MIN_ARMS} to {MAX_ARMS} variants, not {}", arms.len()),
        ));
    }
    for (i, (name, weight)) in arms.iter().enumerate() {
        check_arm_name(field, name)?;
        if arms[..i].iter().any(|(n, _)| n == name) {
            return Err(ParseError::new(field, format!("'{name}' is named twice")));
        }
        if *weight == 0 {
            return Err(ParseError::new(
                field,
                format!("'{name}' has weight 0; every variant needs a weight of at least 1"),
            ));
        }
    }
    let sum: u64 = arms.iter().map(|(_, w)| u64::from(*w)).sum();
    if sum != u64::from(WEIGHT_TOTAL) {
        let listed: Vec<String> = arms.iter().map(|(n, w)| format!("{n} {w}")).collect();
        return Err(ParseError::new(
            field,
            format!(
                "weights are percentages and must add up to {WEIGHT_TOTAL}; {} add up to {sum}",
                listed.join(" + ")
            ),
        ));
    }
    Ok(())
}
