//! The numerical pieces the verdict and the bandit share: a fixed-algorithm random number
//! generator, Beta sampling, the normal distribution, and proportion intervals. Plain `f64`
//! maths with every division guarded, so no NaN reaches a report.

use rand::RngCore;

/// xoshiro256++ seeded by SplitMix64: small, fast even unoptimised, and fixed forever, so a
/// verdict computed from the same counts is the same on every machine and every version of
/// `rand` (whose `StdRng` may change its algorithm).
#[derive(Debug, Clone)]
pub struct SeededRng {
    s: [u64; 4],
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        SeededRng {
            s: [next(), next(), next(), next()],
        }
    }

    #[cfg(test)]
    pub(crate) fn from_state(s: [u64; 4]) -> Self {
        SeededRng { s }
    }
}

impl RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.s;
        let out = s0.wrapping_add(s3).rotate_left(23).wrapping_add(s0);
        let t = s1 << 17;
        let s2 = s2 ^ s0;
        let s3 = s3 ^ s1;
        let s1 = s1 ^ s2;
        let s0 = s0 ^ s3;
        let s2 = s2 ^ t;
        let s3 = s3.rotate_left(45);
        self.s = [s0, s1, s2, s3];
        out
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// Uniform in the open interval (0, 1): never 0, so its logarithm is finite.
pub fn unit_open<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box–Muller, one of the pair).
pub fn standard_normal<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    let u1 = unit_open(rng);
    let u2 = unit_open(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Gamma(shape, 1) draw for `shape >= 1` (Marsaglia and Tsang, 2000). The acceptance test is
/// written with `ln_1p` so that it stays exact for shapes in the billions (huge counts).
fn gamma_at_least_one<R: RngCore + ?Sized>(shape: f64, rng: &mut R) -> f64 {
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = standard_normal(rng);
        let t = c * x;
        if t <= -1.0 {
            continue;
        }
        let v = (1.0 + t) * (1.0 + t) * (1.0 + t);
        let u = unit_open(rng);
        let x2 = x * x;
        if u < 1.0 - 0.0331 * x2 * x2 {
            return d * v;
        }
        // 1 − v + ln v, with v = (1 + t)³, without cancellation.
        let one_minus_v_plus_ln_v = 3.0 * (t.ln_1p() - t) - 3.0 * t * t - t * t * t;
        if u.ln() < 0.5 * x2 + d * one_minus_v_plus_ln_v {
            return d * v;
        }
    }
}

/// A Beta(a, b) draw for `a, b >= 1` (every posterior here: 1 + successes, 1 + failures).
/// Shapes below 1 are raised to 1.
pub fn beta<R: RngCore + ?Sized>(a: f64, b: f64, rng: &mut R) -> f64 {
    let x = gamma_at_least_one(a.max(1.0), rng);
    let y = gamma_at_least_one(b.max(1.0), rng);
    let sum = x + y;
    if sum > 0.0 && sum.is_finite() { x / sum } else { 0.5 }
}

/// The posterior Beta(1 + successes, 1 + failures) of a rate after `trials` with `successes`
/// (a uniform prior). Successes above the trials count as the trials.
pub fn posterior(trials: u64, successes: u64) -> (f64, f64) {
    let s = successes.min(trials);
    (1.0 + s as f64, 1.0 + (trials - s) as f64)
}

/// The complementary error function (Numerical Recipes' `erfcc`, fractional error below
/// 1.2e-7 everywhere).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * (-z * z + poly).exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// P(Z ≤ x) for a standard normal Z.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Two-sided p-value of a standard normal statistic.
pub fn two_sided_p(z: f64) -> f64 {
    if !z.is_finite() {
        return if z.is_nan() { 1.0 } else { 0.0 };
    }
    erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// The standard normal quantile (Acklam's rational approximation, relative error 1.15e-9).
/// `p` is clamped to [1e-12, 1 − 1e-12].
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = if p.is_nan() { 0.5 } else { p.clamp(1e-12, 1.0 - 1e-12) };
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.02425;
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

/// The Wilson score interval of a proportion `successes / trials` at normal quantile `z`;
/// (0, 1) without trials.
pub fn wilson(trials: u64, successes: u64, z: f64) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((center - half).clamp(0.0, 1.0), (center + half).clamp(0.0, 1.0))
}

/// Newcombe's hybrid score interval (his method 10: Wilson intervals of each proportion,
/// combined) for the difference `p1 − p2`. Well behaved at 0 and 100 % and with small counts,
/// where the Wald interval is not.
pub fn newcombe_difference(n1: u64, s1: u64, n2: u64, s2: u64, z: f64) -> (f64, f64) {
    let rate = |n: u64, s: u64| if n == 0 { 0.0 } else { s.min(n) as f64 / n as f64 };
    let (p1, p2) = (rate(n1, s1), rate(n2, s2));
    let (l1, u1) = wilson(n1, s1, z);
    let (l2, u2) = wilson(n2, s2, z);
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    (low.max(-1.0), high.min(1.0))
}
