//! The floor of the cold-start bench: a hello-world `lambda_http` function built with the
//! functions' profile. With `MCAMP_INIT_TIMING=1` it prints the same timing line as
//! `mcamp_app::lambda::init_timing` with its one mark, `main`, so the driver can split process
//! start from the rest alike.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

async fn hello(_: Request) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(Body::from("hello"))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    if std::env::var("MCAMP_INIT_TIMING").is_ok_and(|v| v == "1") {
        let us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        eprintln!(r#"{{"mcamp_init_timing_us":{{"main":{us},"ready":{us}}}}}"#);
    }
    run(service_fn(hello)).await
}
