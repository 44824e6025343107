//! The web edge's settings, from the environment, checked at start-up: a malformed value
//! fails fast with the variable's name. Only the HTTP functions read these; the application
//! underneath (`mcamp_app::App`) needs none of them.

use std::fmt;

use mcamp_app::lambda::{InitError, SecretVar};
use mcamp_core::customer::PhoneKey;
use mcamp_env::{EnvError, Var, optional};

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
    /// The signature set in NHN Cloud's webhook settings, which its delivery-result webhook
    /// presents as `X-Toast-Webhook-Signature`; without it the route answers 404.
    pub nhn_webhook_secret: Option<Secret>,
    /// The secret the marketer put in Solapi's webhook URL (`?key=…`) or that a caller
    /// presents as `Authorization: Bearer …`; without it the route answers 404.
    pub solapi_webhook_secret: Option<Secret>,
    /// Hashes a typed phone into its customer key (`MCAMP_PHONE_KEY`, never rotated).
    pub phone_key: PhoneKey,
    /// Seal and open the console's session cookies (`MCAMP_CONSOLE_KEYS`, newest first);
    /// without them the console answers 404.
    pub console_keys: Option<crate::session::SessionKeys>,
}

/// The web edge's secrets, before they are checked.
#[derive(Default)]
pub struct SiteSecrets {
    pub secret: Option<String>,
    pub phone_key: Option<String>,
    pub kakao_admin_key: Option<String>,
    pub nhn_webhook_secret: Option<String>,
    pub solapi_webhook_secret: Option<String>,
    pub console_keys: Option<String>,
}

impl SiteSecrets {
    /// `MCAMP_SECRET_ARN` or `MCAMP_SECRET` (locally).
    pub const SECRET: SecretVar = SecretVar::new("MCAMP_SECRET", "MCAMP_SECRET_ARN");
    /// `MCAMP_PHONE_KEY_ARN` or `MCAMP_PHONE_KEY` (the CLI reads the same).
    pub const PHONE_KEY: SecretVar = mcamp_app::lambda::PHONE_KEY;
    /// `MCAMP_KAKAO_ADMIN_KEY_ARN` or `MCAMP_KAKAO_ADMIN_KEY` (optional).
    pub const KAKAO_ADMIN_KEY: SecretVar = SecretVar::new("MCAMP_KAKAO_ADMIN_KEY", "MCAMP_KAKAO_ADMIN_KEY_ARN");
    /// `MCAMP_NHN_WEBHOOK_SECRET_ARN` or `MCAMP_NHN_WEBHOOK_SECRET` (optional).
    pub const NHN_WEBHOOK_SECRET: SecretVar =
        SecretVar::new("MCAMP_NHN_WEBHOOK_SECRET", "MCAMP_NHN_WEBHOOK_SECRET_ARN");
    /// `MCAMP_SOLAPI_WEBHOOK_SECRET_ARN` or `MCAMP_SOLAPI_WEBHOOK_SECRET` (optional).
    pub const SOLAPI_WEBHOOK_SECRET: SecretVar =
        SecretVar::new("MCAMP_SOLAPI_WEBHOOK_SECRET", "MCAMP_SOLAPI_WEBHOOK_SECRET_ARN");

    /// `MCAMP_CONSOLE_KEYS_ARN` or `MCAMP_CONSOLE_KEYS` (the console only).
    pub const CONSOLE_KEYS: SecretVar = SecretVar::new("MCAMP_CONSOLE_KEYS", "MCAMP_CONSOLE_KEYS_ARN");

    /// Reads them all at once (Secrets Manager calls run concurrently).
    pub async fn resolve(config: &aws_config::SdkConfig) -> Result<Self, InitError> {
        Self::resolve_in(config, &optional).await
    }

    /// `resolve` with the variables looked up in `env` (tests give their own).
    pub async fn resolve_in(
        config: &aws_config::SdkConfig,
        env: &(dyn Fn(&'static str) -> Option<String> + Sync),
    ) -> Result<Self, InitError> {
        let (secret, phone_key, kakao_admin_key, nhn_webhook_secret, solapi_webhook_secret, console_keys) = tokio::try_join!(
            Self::SECRET.resolve_in(config, env),
            Self::PHONE_KEY.resolve_in(config, env),
            Self::KAKAO_ADMIN_KEY.resolve_in(config, env),
            Self::NHN_WEBHOOK_SECRET.resolve_in(config, env),
            Self::SOLAPI_WEBHOOK_SECRET.resolve_in(config, env),
            Self::CONSOLE_KEYS.resolve_in(config, env),
        )?;
        Ok(SiteSecrets {
            secret,
            phone_key,
            kakao_admin_key,
            nhn_webhook_secret,
            solapi_webhook_secret,
            console_keys,
        })
    }
}

impl Site {
    /// What `from_env` reads (each secret by value or by its Secrets Manager ARN).
    pub fn env() -> Vec<Var> {
        [
            &SiteSecrets::SECRET.vars()[..],
            &SiteSecrets::PHONE_KEY.vars(),
            &SiteSecrets::KAKAO_ADMIN_KEY.vars(),
            &SiteSecrets::NHN_WEBHOOK_SECRET.vars(),
            &SiteSecrets::SOLAPI_WEBHOOK_SECRET.vars(),
            &SiteSecrets::CONSOLE_KEYS.vars(),
            &[Var::optional("MCAMP_BASE_URL"), Var::optional("MCAMP_KAKAO_APP_KEY")],
        ]
        .concat()
    }

    /// The settings from `MCAMP_BASE_URL`, `MCAMP_KAKAO_APP_KEY` and the resolved secrets: the
    /// app secret (at least 16 characters) and the phone key are required.
    pub fn from_env(secrets: SiteSecrets) -> Result<Self, EnvError> {
        let secret = secrets
            .secret
            .ok_or(EnvError::Missing("MCAMP_SECRET_ARN (or MCAMP_SECRET)"))?;
        if secret.trim().len() < 16 {
            return Err(EnvError::Malformed(
                "MCAMP_SECRET",
                "must be at least 16 characters".into(),
            ));
        }
        let phone_key = secrets
            .phone_key
            .ok_or(EnvError::Missing("MCAMP_PHONE_KEY_ARN (or MCAMP_PHONE_KEY)"))?;
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
            kakao_admin_key: secrets
                .kakao_admin_key
                .filter(|k| !k.trim().is_empty())
                .map(Secret::new),
            nhn_webhook_secret: webhook_secret(secrets.nhn_webhook_secret),
            solapi_webhook_secret: webhook_secret(secrets.solapi_webhook_secret),
            phone_key: PhoneKey::parse(phone_key.trim())
                .map_err(|e| EnvError::Malformed("MCAMP_PHONE_KEY", e.reason))?,
            console_keys: secrets
                .console_keys
                .filter(|k| !k.trim().is_empty())
                .map(|k| crate::session::SessionKeys::parse(&k))
                .transpose()
                .map_err(|e| EnvError::Malformed("MCAMP_CONSOLE_KEYS", e.to_string()))?,
        })
    }

    /// For the local gateway and tests.
    pub fn local(base_url: &str, secret: &str, phone_key: PhoneKey) -> Self {
        Site {
            base_url: Some(base_url.trim_end_matches('/').to_owned()),
            secret: Secret::new(secret),
            kakao_app_key: None,
            kakao_admin_key: None,
            nhn_webhook_secret: None,
            solapi_webhook_secret: None,
            phone_key,
            console_keys: None,
        }
    }

    /// With the console's session keys (the local gateway's, and tests').
    pub fn with_console_keys(mut self, keys: crate::session::SessionKeys) -> Self {
        self.console_keys = Some(keys);
        self
    }

    /// The local gateway's delivery-webhook secrets, from `MCAMP_NHN_WEBHOOK_SECRET` and
    /// `MCAMP_SOLAPI_WEBHOOK_SECRET` (each route stays 404 without its own).
    pub fn with_local_webhook_secrets(mut self) -> Self {
        self.nhn_webhook_secret = webhook_secret(optional(SiteSecrets::NHN_WEBHOOK_SECRET.plain));
        self.solapi_webhook_secret = webhook_secret(optional(SiteSecrets::SOLAPI_WEBHOOK_SECRET.plain));
        self
    }
}

/// A webhook secret as configured: blank counts as none (the route then answers 404).
fn webhook_secret(s: Option<String>) -> Option<Secret> {
    s.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(Secret::new)
}
