//! Form tokens bound to the recipient's link (CSRF): an HMAC of the code under the app secret.
//! A post without the token for its own code is refused.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::site::Secret;

/// The first `bytes` bytes of `HMAC-SHA256(secret, parts…)` in hex; empty if the key is
/// refused (HMAC takes any key, so never in practice).
fn mac_hex(secret: &Secret, parts: &[&[u8]], bytes: usize) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return String::new();
    };
    for p in parts {
        mac.update(p);
    }
    hex::encode(&mac.finalize().into_bytes()[..bytes])
}

pub fn form_token(secret: &Secret, code: &str) -> String {
    mac_hex(secret, &[b"form|", code.as_bytes()], 16)
}

/// Refuses a post whose token is not the one for this link (403, nothing stored).
pub fn check(secret: &Secret, code: &str, presented: &str) -> Result<(), crate::HttpError> {
    if token_ok(secret, code, presented) {
        Ok(())
    } else {
        Err(crate::HttpError::Forbidden(
            "the form token does not match this link; reload the page".into(),
        ))
    }
}

/// A beacon token: the day it was issued and an HMAC of the code and that day, `{day}.{mac}`.
/// Unlike a form token it expires (`beacon_token_ok`), so a token lifted from a page cannot
/// feed interaction events for ever.
pub fn beacon_token(secret: &Secret, code: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let day = now.timestamp().div_euclid(86_400);
    format!("{day}.{}", beacon_mac(secret, code, day))
}

fn beacon_mac(secret: &Secret, code: &str, day: i64) -> String {
    let day = day.to_string();
    mac_hex(secret, &[b"beacon|", code.as_bytes(), b"|", day.as_bytes()], 16)
}

/// A beacon token for this code, issued today or yesterday (a page left open overnight still
/// reports; one from the day before that does not).
pub fn beacon_token_ok(secret: &Secret, code: &str, presented: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    let today = now.timestamp().div_euclid(86_400);
    let Some((day, mac)) = presented.split_once('.') else {
        return false;
    };
    let Ok(day) = day.parse::<i64>() else {
        return false;
    };
    let expected = beacon_mac(secret, code, day);
    (today - 1..=today).contains(&day) && !expected.is_empty() && mcamp_core::values::constant_time_eq(&expected, mac)
}

/// An opaque tag of a network (`request::source_network`) for the per-network limits: a keyed
/// hash, so the stored counters never hold an address.
pub fn network_tag(secret: &Secret, network: &str) -> String {
    mac_hex(secret, &[b"network|", network.as_bytes()], 12)
}

/// Constant-time check of a presented token.
pub fn token_ok(secret: &Secret, code: &str, presented: &str) -> bool {
    let expected = form_token(secret, code);
    !expected.is_empty() && mcamp_core::values::constant_time_eq(&expected, presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_bound_to_the_code_and_the_secret() {
        let s = Secret::new("0123456789abcdef0123");
        let t = form_token(&s, "AbC123");
        assert!(token_ok(&s, "AbC123", &t));
        assert!(!token_ok(&s, "AbC124", &t));
        assert!(!token_ok(&Secret::new("another-secret-0000"), "AbC123", &t));
        assert!(!token_ok(&s, "AbC123", ""));
    }

    #[test]
    fn beacon_tokens_expire_after_a_day() {
        let s = Secret::new("0123456789abcdef0123");
        let issued = chrono::DateTime::parse_from_rfc3339("2026-03-02T23:59:00Z")
            .map(|d| d.to_utc())
            .unwrap_or_default();
        let t = beacon_token(&s, "AbC123", issued);
        assert!(beacon_token_ok(&s, "AbC123", &t, issued));
        assert!(beacon_token_ok(&s, "AbC123", &t, issued + chrono::Duration::hours(24)));
        assert!(!beacon_token_ok(&s, "AbC123", &t, issued + chrono::Duration::hours(25)));
        assert!(!beacon_token_ok(&s, "AbC124", &t, issued));
        assert!(!beacon_token_ok(&s, "AbC123", &form_token(&s, "AbC123"), issued));
        // A day moved forward with the old MAC.
        let forged = t.replacen(&t[..t.find('.').unwrap_or(0)], "99999", 1);
        assert!(!beacon_token_ok(&s, "AbC123", &forged, issued));
    }
}
