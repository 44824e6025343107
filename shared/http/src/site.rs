//! The web edge's settings, from the environment, checked at start-up: a malformed value
//! fails fast with the variable's name. Only the HTTP functions read these; the application
//! underneath (`mcamp_app::App`) needs none of them.

use std::fmt;

use mcamp_core::customer::PhoneKey;
use mcamp_env::{EnvError, Var, optional, required};

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
pub struct Site {
    /// Public base URL (`https://go.brand.kr`); when unset, taken from the request's Host.
    pub base_url: Option<String>,
    /// Signs the form tokens bound to each link (CSRF). At least 16 characters.
    pub secret: Secret,
    /// Kakao JavaScript key for the share button; the button falls back to copy/SMS without it.
    pub kakao_app_key: Option<String>,
    /// Kakao admin key that the share webhook presents (`Authorization: KakaoAK …`).
    pub kakao_admin_key: Option<Secret>,
    /// Hashes a typed phone into its customer key (`MCAMP_PHONE_KEY`, never rotated).
    pub phone_key: PhoneKey,
}

impl Site {
    /// What `from_env` reads.
    pub const ENV: &[Var] = &[
        Var::required("MCAMP_SECRET"),
        Var::optional("MCAMP_BASE_URL"),
        Var::optional("MCAMP_KAKAO_APP_KEY"),
        Var::optional("MCAMP_KAKAO_ADMIN_KEY"),
        Var::required("MCAMP_PHONE_KEY"),
    ];

    /// `MCAMP_SECRET` (required), `MCAMP_BASE_URL`, `MCAMP_KAKAO_APP_KEY`, `MCAMP_KAKAO_ADMIN_KEY`.
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
        Ok(Site {
            base_url,
            secret: Secret::new(secret),
            kakao_app_key: optional("MCAMP_KAKAO_APP_KEY"),
            kakao_admin_key: optional("MCAMP_KAKAO_ADMIN_KEY").map(Secret::new),
            phone_key: PhoneKey::parse(&required("MCAMP_PHONE_KEY")?)
                .map_err(|e| EnvError::Malformed("MCAMP_PHONE_KEY", e.reason))?,
        })
    }

    /// For the local gateway and tests.
    pub fn local(base_url: &str, secret: &str, phone_key: PhoneKey) -> Self {
        Site {
            base_url: Some(base_url.trim_end_matches('/').to_owned()),
            secret: Secret::new(secret),
            kakao_app_key: None,
            kakao_admin_key: None,
            phone_key,
        }
    }
}
