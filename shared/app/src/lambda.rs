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
    Var::optional(init_timing::VAR),
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

/// The SDK configuration from the environment (`MCAMP_AWS_ENDPOINT` for an emulator), TLS
/// trusting the Amazon roots only (`mcamp_aws::lambda_sdk_config`).
pub async fn sdk_config_from_env() -> aws_config::SdkConfig {
    mcamp_aws::lambda_sdk_config(optional("MCAMP_AWS_ENDPOINT").as_deref()).await
}

/// The AWS clients and names from the environment.
pub async fn aws_from_env(config: &aws_config::SdkConfig) -> Result<mcamp_aws::Aws, InitError> {
    let names = mcamp_aws::Names::from_env()?;
    let aws = mcamp_aws::Aws::new(config, names);
    init_timing::mark("clients");
    aws.warm_up().await;
    init_timing::mark("warm_up");
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
    init_timing::mark("main");
    init_tracing();
    init_timing::mark("config");
    let config = sdk_config_from_env().await;
    init_timing::mark("sdk_config");
    let app = init_with(&config).await?;
    init_timing::mark("ready");
    init_timing::report();
    Ok(app)
}

/// The `App` over `config` (tracing already set up), for a function that also reads secrets
/// with the same configuration.
pub async fn init_with(config: &aws_config::SdkConfig) -> Result<App, InitError> {
    let cache = campaign_cache_from_env()?;
    let aws = Arc::new(aws_from_env(config).await?);
    Ok(App::new(aws.clone(), aws).with_campaign_cache(cache))
}

/// Opt-in start-up timing for the cold-start bench (`tests/bench/coldstart`): with
/// `MCAMP_INIT_TIMING=1`, `init` marks each phase boundary and prints one line to stderr when
/// done, `{"mcamp_init_timing_us":{"main":…,"config":…,…}}`, each the wall clock in microseconds
/// since the Unix epoch, which the bench sets against the time it spawned the process. The
/// marks, in order: `main` (init entered: the process and the tokio runtime are up), `config`
/// (logging and settings read), `sdk_config` (`aws_config` loaded), `clients` (the clients
/// built), `warm_up` (the DynamoDB warm-up round trip done), `secrets` (the Secrets Manager
/// reads done, concurrent with the warm-up), `ready` (init returns). Off, a mark reads one flag.
pub mod init_timing {
    use std::sync::{Mutex, OnceLock};
    use std::time::{SystemTime, UNIX_EPOCH};

    /// The variable that turns it on (`1`).
    pub const VAR: &str = "MCAMP_INIT_TIMING";

    static MARKS: Mutex<Vec<(&str, u64)>> = Mutex::new(Vec::new());

    fn enabled() -> bool {
        static ON: OnceLock<bool> = OnceLock::new();
        *ON.get_or_init(|| std::env::var(VAR).is_ok_and(|v| v == "1"))
    }

    /// Records `phase` ending now.
    pub fn mark(phase: &'static str) {
        if enabled()
            && let Ok(mut marks) = MARKS.lock()
        {
            let us = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_micros());
            marks.push((phase, us as u64));
        }
    }

    /// Prints the marks so far as one JSON line to stderr.
    pub fn report() {
        if enabled()
            && let Ok(marks) = MARKS.lock()
        {
            let marks: serde_json::Map<String, serde_json::Value> =
                marks.iter().map(|(k, v)| ((*k).to_owned(), (*v).into())).collect();
            eprintln!("{}", serde_json::json!({ "mcamp_init_timing_us": marks }));
        }
    }
}
