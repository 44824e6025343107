//! What every HTTP Lambda's `main` does before serving: the application (`mcamp_app::lambda`)
//! and the web edge's settings, both from the environment, failing fast with the variable's name.

use std::sync::Arc;

use crate::{Site, Web};

/// Every variable an HTTP function reads at start-up.
pub fn env() -> Vec<mcamp_env::Var> {
    [mcamp_app::lambda::env(), Site::ENV.to_vec()].concat()
}

/// The whole `Web` of an HTTP function, with tracing set up.
pub async fn init() -> Result<Web, lambda_http::Error> {
    let app = mcamp_app::lambda::init().await?;
    let site = Site::from_env()?;
    Ok(Web {
        app,
        site: Arc::new(site),
    })
}
