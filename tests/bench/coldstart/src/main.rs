//! The cold-start driver (`tests/bench/coldstart.sh`): spawns each Lambda bootstrap `--runs`
//! times against a minimal Lambda Runtime API on 127.0.0.1 (one invocation each, then the
//! process is killed), with the environment the function needs pointed at a moto server, and
//! prints the median and p90 of each init phase as `bench: ` lines, against the floor: the
//! hello-world `lambda_http` (`hello_lambda`) built with the same profile, timed in the same run.
//!
//!   coldstart [--runs N] hello_lambda=PATH NAME=PATH...
//!
//! NAME is a function's binary (`redirect`, `page`, `survey`, `redeem`, `console`, `coupon-issuer`, `aggregator`,
//! `claim-sweeper`, `privacy-purge`): it picks the event of the one invocation; `NAME@LABEL`
//! times another build of it in the same run. The driver's own
//! environment must point the SDK at the moto server (`AWS_ENDPOINT_URL`, `AWS_REGION`, static
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`); the driver creates the tables and the secrets
//! there, and gives each bootstrap only what it needs, the secrets by ARN as deployed.
//!
//! Phases, from the process's `mcamp_app::lambda::init_timing` marks (wall clock, µs) and the
//! driver's own clock at spawn and at the Runtime API:
//! - process start: spawn → `main` (exec, dynamic loading, the tokio runtime up);
//! - configuration: `main` → `config` (logging set up, settings read);
//! - SDK setup: `config` → `clients` (`aws_config` loaded, the clients built);
//! - init round trips: `clients` → `ready` (the DynamoDB warm-up and, for the HTTP functions,
//!   the Secrets Manager reads, concurrently: network-bound, not held to the floor);
//! - runtime start: `ready` → the first GET /next;
//! - init: spawn → the first GET /next (what Lambda bills as Init Duration);
//! - first invocation: GET /next → POST /response (the handler's first request, cold).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;

const RUNTIME_PREFIX: &str = "/2018-06-01/runtime/invocation/";
const TABLE_PREFIX: &str = "coldstart";
/// The phases of the table, in order: (label, from mark, to mark).
const PHASES: &[(&str, &str, &str)] = &[
    ("process start", "spawn", "main"),
    ("configuration", "main", "config"),
    ("SDK setup", "config", "clients"),
    ("init round trips", "clients", "ready"),
    ("runtime start", "ready", "next"),
    ("init", "spawn", "next"),
    ("first invocation", "next", "response"),
];

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// What the Runtime API knows of the current run.
#[derive(Default)]
struct RunState {
    generation: u64,
    request_id: String,
    event: String,
    served: bool,
    next_at: Option<u64>,
    /// The time of the POST and its path's last segment (`response` or `error`).
    answered: Option<(u64, String, String)>,
    init_error: Option<String>,
}

type Shared = Arc<(Mutex<RunState>, Condvar)>;

/// One HTTP/1.1 request off a keep-alive connection: method, path, body.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &str) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    stream.write_all(out.as_bytes())
}

/// The Runtime API on one connection, accepted during run `generation`: the first GET /next of
/// the run gets its event; a later one waits for the next run (by then the process is killed);
/// POSTs are recorded. A request left unread on a killed process's connection is dropped.
fn serve(stream: TcpStream, shared: Shared, generation: u64) {
    let Ok(read_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    let _ = stream.set_nodelay(true);
    while let Some((method, path, body)) = read_request(&mut reader) {
        let at = now_us();
        let (lock, cvar) = &*shared;
        let Ok(mut state) = lock.lock() else { return };
        if state.generation != generation {
            return;
        }
        if method == "GET" && path == format!("{RUNTIME_PREFIX}next") {
            if state.served {
                while state.generation == generation {
                    state = match cvar.wait(state) {
                        Ok(s) => s,
                        Err(_) => return,
                    };
                }
                return;
            }
            state.served = true;
            state.next_at = Some(at);
            let headers = [
                ("content-type", "application/json".to_owned()),
                ("lambda-runtime-aws-request-id", state.request_id.clone()),
                ("lambda-runtime-deadline-ms", ((at / 1000) + 10_000).to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:ap-northeast-2:123456789012:function:coldstart".to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000".to_owned(),
                ),
            ];
            let event = state.event.clone();
            drop(state);
            if respond(&mut stream, "200 OK", &headers, &event).is_err() {
                return;
            }
        } else if method == "POST" && path.starts_with(RUNTIME_PREFIX) {
            let kind = path.rsplit('/').next().unwrap_or_default().to_owned();
            let text = String::from_utf8_lossy(&body).into_owned();
            state.answered.get_or_insert((at, kind, text));
            cvar.notify_all();
            drop(state);
            if respond(&mut stream, "202 Accepted", &[], "{}").is_err() {
                return;
            }
        } else if method == "POST" && path.ends_with("/init/error") {
            state.init_error = Some(String::from_utf8_lossy(&body).into_owned());
            cvar.notify_all();
            drop(state);
            let _ = respond(&mut stream, "202 Accepted", &[], "{}");
            return;
        } else {
            drop(state);
            let _ = respond(&mut stream, "404 Not Found", &[], "{}");
            return;
        }
    }
}

/// The one invocation each function gets: a request on one of its routes, or its trigger's event.
fn event_for(name: &str) -> String {
    // `redirect@variant` times a second build of `redirect` in the same run.
    let name = name.split('@').next().unwrap_or(name);
    let http = |method: &str, route: &str, path: &str, params: serde_json::Value| {
        let ua = "Mozilla/5.0 (Linux; Android 13; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) \
                  Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36;KAKAOTALK 2410700";
        serde_json::json!({
            "version": "2.0",
            "routeKey": format!("{method} {route}"),
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"host": "go.example.co.kr", "user-agent": ua, "accept": "text/html"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "coldstart", "domainName": "go.example.co.kr",
                "domainPrefix": "go", "requestId": "coldstart", "routeKey": format!("{method} {route}"),
                "stage": "$default", "time": "30/Nov/2026:05:00:00 +0000", "timeEpoch": 1_796_000_000_000u64,
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": ua},
            },
            "pathParameters": params,
            "isBase64Encoded": false,
        })
    };
    let event = match name {
        "redirect" => http(
            "GET",
            "/{code}",
            "/AbCdEfGhIj",
            serde_json::json!({"code": "AbCdEfGhIj"}),
        ),
        "page" => http(
            "GET",
            "/p/{code}",
            "/p/AbCdEfGhIj",
            serde_json::json!({"code": "AbCdEfGhIj"}),
        ),
        "survey" => http(
            "GET",
            "/s/{code}",
            "/s/AbCdEfGhIj",
            serde_json::json!({"code": "AbCdEfGhIj"}),
        ),
        "redeem" => http(
            "POST",
            "/api/stores/{store}/redeem",
            "/api/stores/gangnam-01/redeem",
            serde_json::json!({"store": "gangnam-01"}),
        ),
        "console" => http("GET", "/console/sign-in", "/console/sign-in", serde_json::json!({})),
        "coupon-issuer" | "aggregator" => serde_json::json!({"Records": []}),
        "claim-sweeper" | "privacy-purge" => serde_json::json!({
            "version": "0", "id": "coldstart", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-30T05:00:00Z", "region": "ap-northeast-2",
            "resources": [], "detail": {},
        }),
        _ => http("GET", "/", "/", serde_json::json!({})),
    };
    event.to_string()
}

/// One cold start: the marks (µs since the epoch) by name, or why there are none.
fn cold_start(
    bin: &str,
    env: &[(String, String)],
    event: &str,
    shared: &Shared,
    run: u64,
) -> Result<BTreeMap<String, u64>, String> {
    let (lock, cvar) = &**shared;
    {
        let mut state = lock.lock().map_err(|e| e.to_string())?;
        *state = RunState {
            generation: state.generation + 1,
            request_id: format!("coldstart-{run}"),
            event: event.to_owned(),
            ..RunState::default()
        };
        cvar.notify_all();
    }
    let spawn = now_us();
    let mut child = Command::new(bin)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawning {bin}: {e}"))?;
    let answered = {
        let state = lock.lock().map_err(|e| e.to_string())?;
        let (state, _) = cvar
            .wait_timeout_while(state, Duration::from_secs(20), |s| {
                s.answered.is_none() && s.init_error.is_none()
            })
            .map_err(|e| e.to_string())?;
        (state.answered.clone(), state.next_at, state.init_error.clone())
    };
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let (answered, next_at, init_error) = answered;
    if let Some(e) = init_error {
        return Err(format!("init error: {e}; stderr: {stderr}"));
    }
    let (response, kind, body) = answered.ok_or_else(|| format!("no answer within 20 s; stderr: {stderr}"))?;
    if kind != "response" {
        return Err(format!("invocation {kind}: {body}"));
    }
    let line = stderr
        .lines()
        .find_map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()?
                .get("mcamp_init_timing_us")
                .cloned()
        })
        .ok_or_else(|| format!("no timing line (MCAMP_INIT_TIMING=1) on stderr: {stderr}"))?;
    let mut marks: BTreeMap<String, u64> = line
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_u64()?))).collect())
        .unwrap_or_default();
    marks.insert("spawn".into(), spawn);
    marks.insert("next".into(), next_at.unwrap_or(response));
    marks.insert("response".into(), response);
    // The floor has no configuration, SDK or round trips: its phases are empty.
    for mark in ["config", "clients"] {
        if !marks.contains_key(mark) {
            let ready = marks.get("ready").copied().unwrap_or(spawn);
            marks.insert(mark.into(), ready);
        }
    }
    Ok(marks)
}

/// (median, p90) in ms, nearest rank.
fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    (at(0.5), at(0.9))
}

/// The phase's duration in ms in each run.
fn phase(runs: &[BTreeMap<String, u64>], from: &str, to: &str) -> Vec<f64> {
    runs.iter()
        .map(|m| {
            let (a, b) = (m.get(from).copied().unwrap_or(0), m.get(to).copied().unwrap_or(0));
            b.saturating_sub(a) as f64 / 1000.0
        })
        .collect()
}

/// Tables and secrets on the moto server; the environment every function gets.
async fn provision() -> Result<Vec<(String, String)>, String> {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let aws = mcamp_aws::Aws::new(&config, mcamp_aws::Names::prefixed(TABLE_PREFIX));
    if let Err(e) = mcamp_aws::create_tables(&aws).await {
        // A second run on the same server finds them made.
        eprintln!("coldstart: tables: {e} (kept)");
    }
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let mut arns = Vec::new();
    for (name, value) in [
        ("coldstart/secret", "coldstart-app-secret-0123456789abcdef"),
        (
            "coldstart/phone-key",
            "coldstart-phone-key-0123456789abcdef0123456789abcdef",
        ),
    ] {
        let arn = match sm.create_secret().name(name).secret_string(value).send().await {
            Ok(out) => out.arn().map(str::to_owned),
            Err(_) => sm
                .describe_secret()
                .secret_id(name)
                .send()
                .await
                .map_err(|e| format!("secret {name}: {e:?}"))?
                .arn()
                .map(str::to_owned),
        };
        arns.push(arn.ok_or_else(|| format!("secret {name}: no ARN"))?);
    }
    let mut env: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "ap-northeast-2"),
        ("AWS_DEFAULT_REGION", "ap-northeast-2"),
        ("AWS_LAMBDA_FUNCTION_NAME", "coldstart"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart"),
        ("RUST_LOG", "info"),
        ("MCAMP_INIT_TIMING", "1"),
        ("MCAMP_MAIN_TABLE", "coldstart-main"),
        ("MCAMP_EVENTS_TABLE", "coldstart-events"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL (the moto server) must be set")?;
    env.push(("AWS_ENDPOINT_URL".into(), endpoint));
    env.push(("MCAMP_SECRET_ARN".into(), arns[0].clone()));
    env.push(("MCAMP_PHONE_KEY_ARN".into(), arns[1].clone()));
    Ok(env)
}

fn main() {
    if let Err(e) = run() {
        println!("bench: coldstart | FAILED | - | {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut runs = 20u64;
    let mut bins: Vec<(String, String)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).ok_or("--runs N")?;
        } else if let Some((name, path)) = arg.split_once('=') {
            bins.push((name.to_owned(), path.to_owned()));
        } else {
            return Err(format!(
                "unexpected argument {arg}; usage: coldstart [--runs N] hello_lambda=PATH NAME=PATH..."
            ));
        }
    }
    if !bins.iter().any(|(n, _)| n == "hello_lambda") {
        return Err("hello_lambda=PATH (the floor) is required".into());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut env = rt.block_on(provision())?;
    drop(rt);

    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let api = listener.local_addr().map_err(|e| e.to_string())?;
    env.push(("AWS_LAMBDA_RUNTIME_API".into(), api.to_string()));
    let shared: Shared = Arc::default();
    let server = shared.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let shared = server.clone();
            let generation = shared.0.lock().map_or(0, |s| s.generation);
            std::thread::spawn(move || serve(stream, shared, generation));
        }
    });

    // Interleaved: run i of every bootstrap, then run i + 1, so a slow spell of the machine
    // (two cores, shared) falls on all of them alike. One unrecorded warm-up round first
    // brings each binary into the page cache.
    let mut results: BTreeMap<String, Vec<BTreeMap<String, u64>>> = BTreeMap::new();
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    for run in 0..=runs {
        for (name, bin) in &bins {
            if errors.contains_key(name) {
                continue;
            }
            match cold_start(bin, &env, &event_for(name), &shared, run) {
                Ok(marks) if run > 0 => results.entry(name.clone()).or_default().push(marks),
                Ok(_) => {}
                Err(e) => {
                    errors.insert(name.clone(), e);
                }
            }
        }
    }

    let command = format!("tests/bench/coldstart.sh (median of {runs} spawns each)");
    let floor = results.get("hello_lambda").ok_or_else(|| {
        format!(
            "the floor failed: {}",
            errors.get("hello_lambda").cloned().unwrap_or_default()
        )
    })?;
    let floor_init = stats(phase(floor, "spawn", "next")).0;
    let floor_start = stats(phase(floor, "spawn", "main")).0;
    let limit = 2.0 * floor_init;
    println!(
        "bench: cold start hello_lambda (the floor): init (spawn -> first GET /next) | {floor_init:.2} ms (p90 {:.2}) | - | {command}",
        stats(phase(floor, "spawn", "next")).1
    );

    println!(
        "coldstart: {:<15} {}",
        "ms: median [p90]",
        PHASES.iter().map(|p| format!("{:>18}", p.0)).collect::<String>()
    );
    for (name, runs) in &results {
        let cells: String = PHASES
            .iter()
            .map(|(_, from, to)| {
                let (m, p) = stats(phase(runs, from, to));
                format!("{:>18}", format!("{m:.2} [{p:.2}]"))
            })
            .collect();
        println!("coldstart: {name:<15} {cells}");
    }

    for (name, runs) in results.iter().filter(|(n, _)| *n != "hello_lambda") {
        let m = |from: &str, to: &str| stats(phase(runs, from, to));
        // Init without its network round trips, run by run.
        let held: Vec<f64> = runs
            .iter()
            .map(|r| {
                let get = |k: &str| r.get(k).copied().unwrap_or(0) as f64 / 1000.0;
                (get("next") - get("spawn")) - (get("ready") - get("clients"))
            })
            .collect();
        let (held_m, held_p) = stats(held);
        let (start, _) = m("spawn", "main");
        let (config, _) = m("main", "config");
        let (sdk, _) = m("config", "clients");
        let (trips, trips_p) = m("clients", "ready");
        let (init, init_p) = m("spawn", "next");
        let (first, first_p) = m("next", "response");
        let verdict = if held_m <= limit {
            "ok".to_owned()
        } else {
            let worst = [
                ("process start", start - floor_start),
                ("configuration", config),
                ("SDK setup", sdk),
            ]
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(n, ms)| format!("{n} {ms:.2} ms over the floor's"))
            .unwrap_or_default();
            format!("MISSED: most of it is {worst}")
        };
        println!(
            "bench: cold start {name}: init without round trips (process start {start:.2} + configuration {config:.2} + SDK setup {sdk:.2} + runtime start, ms) | {held_m:.2} ms (p90 {held_p:.2}) | <= 2 x floor = {limit:.2} ms: {verdict} | {command}"
        );
        println!(
            "bench: cold start {name}: init round trips (DynamoDB warm-up with the Secrets Manager reads, concurrent; moto on 127.0.0.1) | {trips:.2} ms (p90 {trips_p:.2}) | - | {command}"
        );
        println!(
            "bench: cold start {name}: init (spawn -> first GET /next) | {init:.2} ms (p90 {init_p:.2}) | - | {command}"
        );
        println!(
            "bench: cold start {name}: first invocation (GET /next -> POST /response) | {first:.2} ms (p90 {first_p:.2}) | - | {command}"
        );
    }
    for (name, e) in &errors {
        println!("bench: cold start {name} | FAILED | - | {e}");
    }
    Ok(())
}
