//! Lambda entry point: wiring only. The handler is `mcamp_console::handle`.

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let web = mcamp_http::lambda::init().await?;
    run(service_fn(|req| {
        let web = web.clone();
        async move { Ok::<_, Error>(mcamp_console::handle(&web, req).await) }
    }))
    .await
}
