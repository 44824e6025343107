//! Numbers as the pages and the tables show them.

/// One decimal; adding 0.0 turns a negative zero into "0.0".
pub(super) fn dec1(x: f64) -> String {
    format!("{:.1}", x + 0.0)
}

/// Two decimals, for means of a short scale, where one decimal hides real differences.
pub(super) fn dec2(x: f64) -> String {
    format!("{:.2}", x + 0.0)
}

/// An NPS score with its sign: `+16.7`, `-50.0`.
pub(super) fn signed(x: f64) -> String {
    format!("{:+.1}", x + 0.0)
}

pub(super) fn pct_text(p: f64) -> String {
    format!("{}%", dec1(p))
}

/// A ratio (0..=1) as a percentage, or a dash when there is nothing to divide by.
pub fn rate_text(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| pct_text(r * 100.0))
}
