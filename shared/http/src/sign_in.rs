//! Signing in to the console: an e-mail and a password checked against the user's argon2id
//! hash, with failures limited per account and per network, and every attempt in the audit
//! log. A wrong e-mail, a wrong password and a disabled user get the same answer in about the
//! same time, so the answer tells nobody which accounts exist.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use mcamp_core::users::{Email, Password, verify_password};
use mcamp_store::audit::AuditEntry;
use mcamp_store::{Db, DbError};
use serde_json::json;

use crate::session::Session;

/// Failed sign-ins one account may have in a window (`users::SIGN_IN_WINDOW_MINUTES`) before
/// it is refused without a check.
pub const ACCOUNT_FAILURES: i64 = 5;
/// Failed sign-ins one network (an IPv4 address, an IPv6 /64) may have in a window, whatever
/// the accounts: guessing across many accounts from one place.
pub const NETWORK_FAILURES: i64 = 20;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Too many failures from this account or network: try again after the window.
    #[error("too many failed sign-ins; try again in 15 minutes")]
    TooMany,
    /// The e-mail and password do not match an active user.
    #[error("the e-mail or the password is wrong")]
    Invalid,
    #[error("storage")]
    Db(#[from] DbError),
}

/// A hash to check a password against when there is no user, so that an unknown e-mail
/// takes as long as a known one.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        Password::parse("decoy-password-that-never-matches")
            .ok()
            .and_then(|p| p.hash().ok())
            .unwrap_or_default()
    })
}

async fn audit(db: &Db, actor: &str, action: &str, network: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    db.audit(&AuditEntry {
        at: now,
        actor: actor.to_owned(),
        action: action.to_owned(),
        detail: json!({ "network": network }),
    })
    .await
}

/// Checks an e-mail and password typed on the sign-in page, from the network whose keyed
/// hash is `network` (`tokens::network_tag`), and starts a session.
pub async fn sign_in(
    db: &Db,
    email: &str,
    password: &str,
    network: &str,
    now: DateTime<Utc>,
) -> Result<Session, SignInError> {
    let net = format!("net:{network}");
    // What was typed, bounded, for the counters and the log: never the password.
    let typed: String = email.trim().to_lowercase().chars().take(254).collect();
    let acct = format!("acct:{typed}");
    let failed = db.failed_sign_ins(&[&acct, &net], now).await?;
    if failed.first().is_some_and(|n| *n >= ACCOUNT_FAILURES) || failed.get(1).is_some_and(|n| *n >= NETWORK_FAILURES) {
        audit(db, &typed, "console.sign_in_refused", network, now).await?;
        return Err(SignInError::TooMany);
    }
    let user = match Email::parse(email) {
        Ok(e) => db.user(&e).await?,
        Err(_) => None,
    };
    let ok = match &user {
        Some(u) if u.is_active() => verify_password(&u.password_hash, password),
        _ => {
            verify_password(decoy_hash(), password);
            false
        }
    };
    match user {
        Some(u) if ok => {
            audit(db, u.email.as_str(), "console.sign_in", network, now).await?;
            Ok(Session::start(&u, now))
        }
        _ => {
            db.count_failed_sign_in(&acct, now).await?;
            db.count_failed_sign_in(&net, now).await?;
            audit(db, &typed, "console.sign_in_failed", network, now).await?;
            Err(SignInError::Invalid)
        }
    }
}
