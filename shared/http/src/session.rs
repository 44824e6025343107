//! The console's session: who signed in, as an encrypted, authenticated cookie (AES-256-GCM,
//! the `cookie` crate's private jar), so a Lambda keeps no session table. Keys rotate: the first
//! key of the ring seals, every key opens, so a new key can be put first and the old one
//! removed once its sessions have expired.
//!
//! The cookie is `__Host-mcamp_console`: `Secure`, `HttpOnly`, `SameSite=Strict`, `Path=/`, no
//! domain. It lives `SESSION_HOURS` and carries its own expiry (a replayed old cookie is
//! refused), the user's `password_set_at` (a reset or a new password ends older sessions) and a
//! CSRF token every post must repeat.

use chrono::{DateTime, Duration, Utc};
use cookie::{Cookie, CookieJar, Key};
use serde::{Deserialize, Serialize};

use mcamp_core::users::{Email, Role, User};
use mcamp_core::values::random_base62;

/// The cookie's name: the `__Host-` prefix makes browsers refuse it without `Secure`, with a
/// domain or another path.
pub const COOKIE: &str = "__Host-mcamp_console";

/// How long a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;

/// The shortest secret a session key is derived from.
pub const MIN_KEY_CHARS: usize = 32;

/// The keys sessions are sealed and opened with: the first seals, all open.
#[derive(Clone)]
pub struct SessionKeys(Vec<Key>);

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKeys({} keys)", self.0.len())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionKeyError {
    #[error("no session key: give one or more keys of at least {MIN_KEY_CHARS} characters, separated by commas")]
    Empty,
    #[error("session key {0} is shorter than {MIN_KEY_CHARS} characters")]
    Short(usize),
}

impl SessionKeys {
    /// Keys separated by commas, newest first, each at least `MIN_KEY_CHARS` characters.
    pub fn parse(s: &str) -> Result<Self, SessionKeyError> {
        let keys = s
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .enumerate()
            .map(|(i, k)| {
                if k.chars().count() < MIN_KEY_CHARS {
                    Err(SessionKeyError::Short(i + 1))
                } else {
                    Ok(Key::derive_from(k.as_bytes()))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(SessionKeyError::Empty);
        }
        Ok(SessionKeys(keys))
    }
}

/// What a session cookie carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub email: Email,
    pub role: Role,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The user's `password_set_at` at sign-in: a later password ends this session.
    pub password_set_at: DateTime<Utc>,
    /// Repeated in every form the console posts (`csrf`), compared in constant time.
    pub csrf: String,
}

impl Session {
    /// A new session for `user`, signed in at `now`.
    pub fn start(user: &User, now: DateTime<Utc>) -> Session {
        Session {
            email: user.email.clone(),
            role: user.role.clone(),
            issued_at: now,
            expires_at: now + Duration::hours(SESSION_HOURS),
            password_set_at: user.password_set_at,
            csrf: random_base62(32),
        }
    }

    /// Whether the session still stands for `user` as stored now: not expired, the user
    /// active, with the same role and password.
    pub fn holds_for(&self, user: &User, now: DateTime<Utc>) -> bool {
        now < self.expires_at
            && user.is_active()
            && user.email == self.email
            && user.role == self.role
            && user.password_set_at == self.password_set_at
    }

    /// Whether a posted form's token is this session's (constant time).
    pub fn csrf_ok(&self, posted: &str) -> bool {
        mcamp_core::values::constant_time_eq(&self.csrf, posted)
    }

    /// The `Set-Cookie` value that carries this session, sealed with the newest key.
    pub fn seal(&self, keys: &SessionKeys) -> String {
        let mut jar = CookieJar::new();
        let value = serde_json::to_string(self).unwrap_or_default();
        if let Some(key) = keys.0.first() {
            jar.private_mut(key).add(Cookie::new(COOKIE, value));
        }
        let sealed = jar.get(COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
        format!(
            "{COOKIE}={sealed}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
            SESSION_HOURS * 3600
        )
    }

    /// The session in a request's `Cookie` header, if one of `keys` opens it and it has not
    /// expired at `now`. A forged, altered or foreign cookie opens with no key.
    pub fn open(keys: &SessionKeys, cookie_header: &str, now: DateTime<Utc>) -> Option<Session> {
        let raw = cookie_header
            .split(';')
            .filter_map(|c| Cookie::parse(c.trim().to_owned()).ok())
            .find(|c| c.name() == COOKIE)?;
        let jar = CookieJar::new();
        keys.0.iter().find_map(|key| {
            let opened = jar.private(key).decrypt(raw.clone())?;
            let s: Session = serde_json::from_str(opened.value()).ok()?;
            (now < s.expires_at).then_some(s)
        })
    }
}

/// The `Set-Cookie` value that ends the session in the browser.
pub fn sign_out_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcamp_core::users::Role;

    fn user(now: DateTime<Utc>) -> User {
        User {
            email: Email::parse("kim@brand.kr").unwrap_or_else(|e| unreachable!("{e}")),
            role: Role::Admin,
            campaigns: vec![],
            password_hash: String::new(),
            created_at: now,
            password_set_at: now,
            disabled_at: None,
        }
    }

    fn value(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap_or_default().to_owned()
    }

    #[test]
    fn a_sealed_session_opens_with_its_key_only_and_until_it_expires() -> Result<(), SessionKeyError> {
        let now = Utc::now();
        let keys = SessionKeys::parse("an-old-key-of-at-least-thirty-two-chars")?;
        let s = Session::start(&user(now), now);
        let set = s.seal(&keys);
        assert!(set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Strict"));
        assert!(!set.contains("kim@brand.kr"), "the cookie is encrypted: {set}");
        let header = value(&set);
        assert_eq!(Session::open(&keys, &header, now), Some(s.clone()));
        assert_eq!(
            Session::open(&keys, &format!("a=b; {header}; c=d"), now),
            Some(s.clone())
        );
        let later = now + Duration::hours(SESSION_HOURS) + Duration::seconds(1);
        assert_eq!(Session::open(&keys, &header, later), None, "expired");
        let other = SessionKeys::parse("another-key-of-at-least-thirty-two-chars")?;
        assert_eq!(Session::open(&other, &header, now), None, "a foreign key opens nothing");
        // One changed character anywhere in the sealed value, and it opens no more.
        let mut tampered = header.clone().into_bytes();
        let i = tampered.len() - 5;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(Session::open(&keys, &String::from_utf8_lossy(&tampered), now), None);
        Ok(())
    }

    #[test]
    fn keys_rotate_newest_first() -> Result<(), SessionKeyError> {
        let now = Utc::now();
        let old = SessionKeys::parse("an-old-key-of-at-least-thirty-two-chars")?;
        let s = Session::start(&user(now), now);
        let header = value(&s.seal(&old));
        let ring =
            SessionKeys::parse("a-new-key-of-at-least-thirty-two-chars!, an-old-key-of-at-least-thirty-two-chars")?;
        assert_eq!(
            Session::open(&ring, &header, now),
            Some(s.clone()),
            "old sessions still open"
        );
        let fresh = value(&s.seal(&ring));
        assert_eq!(
            Session::open(&old, &fresh, now),
            None,
            "new sessions are sealed with the new key"
        );
        assert_eq!(SessionKeys::parse(" , ").err(), Some(SessionKeyError::Empty));
        assert_eq!(SessionKeys::parse("short").err(), Some(SessionKeyError::Short(1)));
        Ok(())
    }

    #[test]
    fn a_new_password_a_disabled_user_or_another_role_ends_the_session() {
        let now = Utc::now();
        let mut u = user(now);
        let s = Session::start(&u, now);
        assert!(s.holds_for(&u, now));
        assert!(s.csrf_ok(&s.csrf.clone()) && !s.csrf_ok("forged"));
        u.password_set_at = now + Duration::minutes(1);
        assert!(!s.holds_for(&u, now));
        let mut u = user(now);
        u.disabled_at = Some(now);
        assert!(!s.holds_for(&u, now));
        let mut u = user(now);
        u.role = Role::Viewer;
        assert!(!s.holds_for(&u, now));
    }
}
