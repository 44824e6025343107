//! What every HTTP Lambda's `main` does before serving: the application (`mcamp_app::lambda`)
//! and the web edge's settings, both from the environment, failing fast with the variable's name.

use std::sync::Arc;

use crate::site::SiteSecrets;
use crate::{Site, Web};

/// Every variable an HTTP function reads at start-up.
pub fn env() -> Vec<mcamp_env::Var> {
    [mcamp_app::lambda::env(), Site::env()].concat()
}

/// The whole `Web` of an HTTP function, with tracing set up.
pub async fn init() -> Result<Web, lambda_http::Error> {
    mcamp_app::lambda::init_tracing();
    let config = mcamp_app::lambda::sdk_config_from_env().await;
    let (app, secrets) = tokio::try_join!(mcamp_app::lambda::init_with(&config), SiteSecrets::resolve(&config))?;
    let site = Site::from_env(secrets)?;
    Ok(Web {
        app,
        site: Arc::new(site),
    })
}
