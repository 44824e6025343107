//! Configuration from the environment, checked at start-up: a malformed value fails fast
//! with the variable's name.

use std::fmt;
use std::time::Duration;

use mcamp_domain::env::{EnvError, optional, required};

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(String);
impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Public base URL (`https://go.brand.kr`); when unset, taken from the request's Host.
    pub base_url: Option<String>,
    /// Signs the form tokens bound to each link (CSRF). At least 16 characters.
    pub secret: Secret,
    /// Kakao JavaScript key for the share button; the button falls back to copy/SMS without it.
    pub kakao_app_key: Option<String>,
    /// Kakao admin key that the share webhook presents (`Authorization: KakaoAK …`).
    pub kakao_admin_key: Option<Secret>,
    /// How long a warm function trusts its cached copy of a campaign (pause takes effect after it).
    pub campaign_cache: Duration,
}

impl Config {
    /// `MCAMP_SECRET` (required), `MCAMP_BASE_URL`, `MCAMP_KAKAO_APP_KEY`, `MCAMP_KAKAO_ADMIN_KEY`,
    /// `MCAMP_CAMPAIGN_CACHE_SECS` (default 30).
    pub fn from_env() -> Result<Self, EnvError> {
        let secret = required("MCAMP_SECRET")?;
        if secret.len() < 16 {
            return Err(EnvError::Malformed(
                "MCAMP_SECRET",
                "must be at least 16 characters".into(),
            ));
        }
        let base_url = optional("MCAMP_BASE_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &base_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(EnvError::Malformed("MCAMP_BASE_URL", "must start with https://".into()));
        }
        let campaign_cache = match optional("MCAMP_CAMPAIGN_CACHE_SECS") {
            None => Duration::from_secs(30),
            Some(s) => Duration::from_secs(s.parse().map_err(|_| {
                EnvError::Malformed("MCAMP_CAMPAIGN_CACHE_SECS", "must be a whole number of seconds".into())
            })?),
        };
        Ok(Config {
            base_url,
            secret: Secret::new(secret),
            kakao_app_key: optional("MCAMP_KAKAO_APP_KEY"),
            kakao_admin_key: optional("MCAMP_KAKAO_ADMIN_KEY").map(Secret::new),
            campaign_cache,
        })
    }

    /// For the local gateway and tests.
    pub fn local(base_url: &str, secret: &str) -> Self {
        Config {
            base_url: Some(base_url.trim_end_matches('/').to_owned()),
            secret: Secret::new(secret),
            kakao_app_key: None,
            kakao_admin_key: None,
            campaign_cache: Duration::from_secs(1),
        }
    }
}
