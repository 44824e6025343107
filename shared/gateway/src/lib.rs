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

/// Runs the live campaigns' segments and follow-ups every `every`, as the hourly actions
/// function does in AWS (more often here, so a marketer trying a rule sees it act).
pub fn spawn_actions(
    app: App,
    settings: mcamp_actions::Settings,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match mcamp_actions::run_all(&app, &settings, app.now()).await {
                Ok(r)
                    if r.segments.iter().any(|s| s.added > 0)
                        || r.follow_ups.iter().any(|f| f.sent + f.resent > 0)
                        || !r.failed.is_empty() =>
                {
                    tracing::info!(?r, "segments and follow-ups run")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %mcamp_app::error_chain(&e), "segments and follow-ups run failed"),
            }
        }
    })
}

/// The local stand-in for a sender adapter: `send_message` jobs appended to a JSON-lines
/// file (`outbox.jsonl` beside the data file) for the marketer to look at, once per `job_id`.
/// A job carries no phone number, so neither does the file. Nothing is sent.
pub struct Outbox {
    path: std::path::PathBuf,
    seen: std::collections::HashSet<String>,
}

impl Outbox {
    /// Opens the outbox at `path`, remembering the jobs it holds already.
    pub fn open(path: std::path::PathBuf) -> std::io::Result<Self> {
        let seen = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .lines()
                .filter_map(|l| mcamp_ops::follow_ups::take_send_message(l).ok())
                .map(|j| j.job_id)
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::collections::HashSet::new(),
            Err(e) => return Err(e),
        };
        Ok(Outbox { path, seen })
    }

    /// Appends `job` unless its `job_id` is there already; true when appended.
    pub fn deliver(&mut self, job: &mcamp_core::jobs::SendMessageJob) -> std::io::Result<bool> {
        use std::io::Write;
        if self.seen.contains(&job.job_id) {
            return Ok(false);
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        writeln!(f, "{}", job.to_json())?;
        self.seen.insert(job.job_id.clone());
        Ok(true)
    }
}

/// Drains the send-message queue into `outbox`, as the brand's sender adapter would in AWS;
/// refused jobs go to the dead-letter queue with their reason.
pub fn spawn_outbox(app: App, mut outbox: Outbox) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let drained = mcamp_ops::follow_ups::drain_send_messages(
                app.queue.as_ref(),
                std::time::Duration::from_secs(1),
                app.now(),
                |job| outbox.deliver(job),
            )
            .await;
            match drained {
                Ok(d) if d.accepted + d.dead_lettered > 0 => tracing::info!(?d, "send-message jobs to the outbox"),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "draining the send-message queue failed");
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                }
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
