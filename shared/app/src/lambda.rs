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

/// The AWS clients and names from the environment (`MCAMP_AWS_ENDPOINT` for an emulator).
pub async fn aws_from_env() -> Result<mcamp_aws::Aws, InitError> {
    let names = mcamp_aws::Names::from_env()?;
    let endpoint = optional("MCAMP_AWS_ENDPOINT");
    let config = mcamp_aws::sdk_config(endpoint.as_deref()).await;
    let aws = mcamp_aws::Aws::new(&config, names);
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
    let cache = campaign_cache_from_env()?;
    let aws = Arc::new(aws_from_env().await?);
    Ok(App::new(aws.clone(), aws).with_campaign_cache(cache))
}
