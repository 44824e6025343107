//! What every Lambda's `main` does before serving: JSON logs, the AWS clients built once from
//! the environment (failing fast with the variable's name), the connection warmed.

use std::sync::Arc;
use std::time::Duration;

use mcamp_env::{EnvError, Var, optional};

use crate::App;

/// What `init` reads besides the table and queue names (`mcamp_aws::Names::ENV`).
pub const ENV: &[Var] = &[
    Var::optional("MCAMP_AWS_ENDPOINT"),
    Var::optional("MCAMP_CAMPAIGN_CACHE_SECS"),
    Var::optional("RUST_LOG"),
];

/// Every variable a function built with `init` reads.
pub fn env() -> Vec<Var> {
    [mcamp_aws::Names::ENV, ENV].concat()
}

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Secret(#[from] mcamp_aws::SecretError),
}

/// A secret a function reads at start-up. Deployed, `arn` names a Secrets Manager secret and
/// only that name sits in the environment; locally and in tests `plain` holds the value.
#[derive(Debug, Clone, Copy)]
pub struct SecretVar {
    pub plain: &'static str,
    pub arn: &'static str,
}

/// The deployment's phone key: `MCAMP_PHONE_KEY_ARN` (the stack's output `PhoneKeySecretArn`)
/// or `MCAMP_PHONE_KEY`. The HTTP functions and the CLI read it alike.
pub const PHONE_KEY: SecretVar = SecretVar::new("MCAMP_PHONE_KEY", "MCAMP_PHONE_KEY_ARN");

impl SecretVar {
    pub const fn new(plain: &'static str, arn: &'static str) -> Self {
        SecretVar { plain, arn }
    }

    /// The variables it may read (both optional: `resolve` says when neither is set).
    pub const fn vars(self) -> [Var; 2] {
        [Var::optional(self.plain), Var::optional(self.arn)]
    }

    /// The value: from Secrets Manager when the ARN is set (one call, at init), else the
    /// plain variable; `None` when neither is set.
    pub async fn resolve(self, config: &aws_config::SdkConfig) -> Result<Option<String>, InitError> {
        self.resolve_in(config, &optional).await
    }

    /// `resolve` with the variables looked up in `env` (tests give their own).
    pub async fn resolve_in(
        self,
        config: &aws_config::SdkConfig,
        env: &(dyn Fn(&'static str) -> Option<String> + Sync),
    ) -> Result<Option<String>, InitError> {
        match env(self.arn) {
            Some(arn) => Ok(Some(mcamp_aws::secret_string(config, arn.trim()).await?)),
            None => Ok(env(self.plain)),
        }
    }
}

/// JSON logs at `RUST_LOG` (default `info`), without ANSI colours or timestamps (CloudWatch adds them).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
}

/// The SDK configuration from the environment (`MCAMP_AWS_ENDPOINT` for an emulator).
pub async fn sdk_config_from_env() -> aws_config::SdkConfig {
    mcamp_aws::sdk_config(optional("MCAMP_AWS_ENDPOINT").as_deref()).await
}

/// The AWS clients and names from the environment.
pub async fn aws_from_env(config: &aws_config::SdkConfig) -> Result<mcamp_aws::Aws, InitError> {
    let names = mcamp_aws::Names::from_env()?;
    let aws = mcamp_aws::Aws::new(config, names);
    aws.warm_up().await;
    Ok(aws)
}

/// `MCAMP_CAMPAIGN_CACHE_SECS` (default 30).
pub fn campaign_cache_from_env() -> Result<Duration, EnvError> {
    match optional("MCAMP_CAMPAIGN_CACHE_SECS") {
        None => Ok(crate::CAMPAIGN_CACHE),
        Some(s) => s
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| EnvError::Malformed("MCAMP_CAMPAIGN_CACHE_SECS", "must be a whole number of seconds".into())),
    }
}

/// The whole `App` of a function, with tracing set up.
pub async fn init() -> Result<App, InitError> {
    init_tracing();
    init_with(&sdk_config_from_env().await).await
}

/// The `App` over `config` (tracing already set up), for a function that also reads secrets
/// with the same configuration.
pub async fn init_with(config: &aws_config::SdkConfig) -> Result<App, InitError> {
    let cache = campaign_cache_from_env()?;
    let aws = Arc::new(aws_from_env(config).await?);
    Ok(App::new(aws.clone(), aws).with_campaign_cache(cache))
}
