//! Lambda entry point: wiring only. The handler is `mcamp_actions::handle`.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = mcamp_app::lambda::init().await?;
    let settings = mcamp_actions::Settings::from_env()?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (app, settings) = (app.clone(), settings.clone());
        async move { mcamp_actions::handle(&app, &settings, event.payload).await }
    }))
    .await
}
