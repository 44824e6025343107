//! What every HTTP Lambda's `main` does before serving: the application (`mcamp_app::lambda`)
//! and the web edge's settings, both from the environment, failing fast with the variable's name.

use std::sync::Arc;

use mcamp_app::lambda::init_timing;

use crate::site::SiteSecrets;
use crate::{Site, Web};

/// Every variable an HTTP function reads at start-up.
pub fn env() -> Vec<mcamp_env::Var> {
    [mcamp_app::lambda::env(), Site::env()].concat()
}

/// The whole `Web` of an HTTP function, with tracing set up.
pub async fn init() -> Result<Web, lambda_http::Error> {
    init_timing::mark("main");
    mcamp_app::lambda::init_tracing();
    init_timing::mark("config");
    let config = mcamp_app::lambda::sdk_config_from_env().await;
    init_timing::mark("sdk_config");
    let secrets = async {
        let secrets = SiteSecrets::resolve(&config).await;
        init_timing::mark("secrets");
        secrets
    };
    let (app, secrets) = tokio::try_join!(mcamp_app::lambda::init_with(&config), secrets)?;
    let site = Site::from_env(secrets)?;
    init_timing::mark("ready");
    init_timing::report();
    Ok(Web {
        app,
        site: Arc::new(site),
    })
}
