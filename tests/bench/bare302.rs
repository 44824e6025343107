//! The floor the redirect bench compares with: a bare hyper server answering every request
//! with a fixed 302, on the same machine, in the same run, under the same load generator
//! (`tests/bench/redirect.sh`). It stores and counts nothing.

use std::convert::Infallible;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

async fn found(_: Request<hyper::body::Incoming>) -> Result<Response<Empty<Bytes>>, Infallible> {
    let mut resp = Response::new(Empty::new());
    *resp.status_mut() = hyper::StatusCode::FOUND;
    resp.headers_mut()
        .insert("location", hyper::header::HeaderValue::from_static("/p/AbCdEfGhIj"));
    resp.headers_mut()
        .insert("cache-control", hyper::header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8099);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(found))
                .await;
        });
    }
}
