//! The local gateway: real HTTP in, the very same handler functions the Lambdas run, fed
//! `lambda_http` requests, with routes from the one route table (`mcamp_http::routes`).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{Request as AxumRequest, State};
use axum::response::Response as AxumResponse;
use lambda_http::{Body, Request, RequestExt, Response};
use mcamp_app::App;
use mcamp_http::routes::{Function, match_route};
use mcamp_http::{Flavor, HttpError, Web};

/// Bodies above this are refused before any handler runs (a Lambda's request is at most 6 MB;
/// handlers apply their own smaller caps).
const MAX_GATEWAY_BODY: usize = 6 * 1024 * 1024;

/// Runs one request through the function its route names.
pub async fn dispatch(web: &Web, req: Request) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let flavor = if path.starts_with("/api/") {
        Flavor::Json
    } else {
        Flavor::Html
    };
    let (route, params) = match match_route(req.method().as_str(), &path) {
        Ok(found) => found,
        Err(allowed) if allowed.is_empty() => return HttpError::NotFound.into_response(flavor),
        Err(_) => return HttpError::MethodNotAllowed.into_response(flavor),
    };
    let params: HashMap<String, String> = params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let req = req.with_path_parameters(params);
    match route.function {
        Function::Redirect => mcamp_redirect::handle(web, req).await,
        Function::Page => mcamp_page::handle(web, req).await,
        Function::Redeem => mcamp_redeem::handle(web, req).await,
        Function::Survey => mcamp_survey::handle(web, req).await,
        Function::Console => mcamp_console::handle(web, req).await,
    }
}

/// Builds the `lambda_http` request API Gateway would hand the function, with the peer's
/// address as its source IP.
pub fn to_lambda(parts: http::request::Parts, body: bytes::Bytes) -> Request {
    let query: HashMap<String, Vec<String>> = parts.uri.query().map(parse_query).unwrap_or_default();
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let body = if body.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(body.to_vec()) {
            Ok(s) => Body::Text(s),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let req = Request::from_parts(parts, body).with_query_string_parameters(query);
    match peer {
        Some(ip) => mcamp_http::request::with_source_ip(req, ip),
        None => req,
    }
}

fn parse_query(q: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in mcamp_http::request::pairs(q.as_bytes()) {
        out.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    out
}

async fn gateway(State(web): State<Web>, req: AxumRequest) -> AxumResponse {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_GATEWAY_BODY).await else {
        // Programs calling /api/ get JSON, as every other refusal there.
        let flavor = if parts.uri.path().starts_with("/api/") {
            Flavor::Json
        } else {
            Flavor::Html
        };
        return from_lambda(HttpError::TooLarge.into_response(flavor));
    };
    let resp = dispatch(&web, to_lambda(parts, bytes)).await;
    from_lambda(resp)
}

fn from_lambda(resp: Response<Body>) -> AxumResponse {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}

/// Runs the SQS consumers in process, as the queue event sources would in AWS.
pub fn spawn_consumers(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            mcamp_coupon_issuer::consume(
                &app,
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(5),
            )
            .await;
        }
    })
}

/// Counts the events table's changes into the campaigns' counters and journeys, as the
/// aggregator on the stream does in AWS.
pub fn spawn_aggregator(
    app: App,
    feed: std::sync::Arc<dyn mcamp_store::ports::ChangeFeed>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(mcamp_aggregator::follow(
        app,
        feed,
        std::time::Duration::from_millis(500),
    ))
}

/// Sends again the jobs of claims pending too long, every `every`, as the claim-sweeper
/// function does in AWS.
pub fn spawn_sweeper(app: App, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match mcamp_store::claims::sweep(&app.db, app.queue.as_ref(), app.now(), 1000).await {
                Ok(r) if r.resent > 0 => tracing::info!(?r, "pending claims sent again"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %mcamp_app::error_chain(&e), "claim sweep failed"),
            }
        }
    })
}

/// Runs the live campaigns' segments every `every`, as the hourly actions function does in
/// AWS (more often here, so a marketer trying a rule sees it act).
pub fn spawn_actions(app: App, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match mcamp_actions::run_all(&app, app.now()).await {
                Ok(r) if r.segments.iter().any(|s| s.added > 0) || !r.failed.is_empty() => {
                    tracing::info!(?r, "segments run")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %mcamp_app::error_chain(&e), "segments run failed"),
            }
        }
    })
}

/// Runs the retention purge every `every`, as the scheduled function does in AWS.
pub fn spawn_purge(app: App, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match app.db.purge(app.now()).await {
                Ok(r) if r.recipients_erased + r.customers_erased > 0 => tracing::info!(?r, "retention purge"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %mcamp_app::error_chain(&e), "retention purge failed"),
            }
            tokio::time::sleep(every).await;
        }
    })
}

/// Serves `web` on `listener` until the process ends.
pub async fn serve(web: Web, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let router = axum::Router::new().fallback(gateway).with_state(web);
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await
}
