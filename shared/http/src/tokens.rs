//! Form tokens bound to the recipient's link (CSRF): an HMAC of the code under the app secret.
//! A post without the token for its own code is refused.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::site::Secret;

pub fn form_token(secret: &Secret, code: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return String::new();
    };
    mac.update(b"form|");
    mac.update(code.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
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
}
