//! Lambda entry point: wiring only. The handler is `mcamp_survey::handle`.

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = mcamp_http::lambda::init().await?;
    run(service_fn(|req| {
        let app = app.clone();
        async move { Ok::<_, Error>(mcamp_survey::handle(&app, req).await) }
    }))
    .await
}
