//! Lambda entry point: wiring only. The handler is `mcamp_aggregator::handle`.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = mcamp_app::lambda::init().await?;
    run(service_fn(|event: LambdaEvent<aws_lambda_events::dynamodb::Event>| {
        let app = app.clone();
        async move { Ok::<_, Error>(mcamp_aggregator::handle(&app, event.payload).await) }
    }))
    .await
}
