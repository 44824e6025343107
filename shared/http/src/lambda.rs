//! What every Lambda's `main` does before serving: JSON logs, config from the environment
//! (failing fast with the variable's name), SDK clients built once, the connection warmed.

use std::sync::Arc;

use crate::{App, Config};

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

/// The AWS clients and names from the environment.
pub async fn aws_from_env() -> Result<mcamp_aws::Aws, lambda_http::Error> {
    let names = mcamp_aws::Names::from_env()?;
    let endpoint = mcamp_domain::env::optional("MCAMP_AWS_ENDPOINT");
    let config = mcamp_aws::sdk_config(endpoint.as_deref()).await;
    let aws = mcamp_aws::Aws::new(&config, names);
    aws.warm_up().await;
    Ok(aws)
}

/// The whole `App` of an HTTP function.
pub async fn init() -> Result<App, lambda_http::Error> {
    init_tracing();
    let config = Config::from_env()?;
    let aws = Arc::new(aws_from_env().await?);
    Ok(App::new(aws.clone(), aws, config))
}
