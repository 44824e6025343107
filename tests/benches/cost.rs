//! Issue 15's cost per million: recorded clicks (goal ≤ $2.5), coupon claims and survey
//! answers, priced by `mcamp_ops::cost` at Seoul list prices from the operations the flows
//! really make, counted through the ports (`mcamp_tests::metered`, on the embedded backend;
//! `tests/it/cost.rs` holds the counts).
//!
//! Lambda's billed duration per invocation is modelled: the handler's time measured in
//! process here, scaled to the CPU share the function's memory buys, plus its sequential
//! DynamoDB/SQS calls at `cost::IN_REGION_ROUND_TRIP_MS` each. Memory is each function's
//! `MemorySize` in template.yaml.
//!
//! Prints one `bench: <figure> | <value> | <goal> | <command>` line per figure (make bench's
//! summary table). A missed goal is flagged MISSED with its reason; it never fails the run.

use std::path::PathBuf;

use anyhow::Context;
use mcamp_ops::cost::{self, Breakdown, Dollars, Flow, GOAL_PER_MILLION_CLICKS, cost_per_million};
use mcamp_store::ports::TableId;
use mcamp_tests::Backend;
use mcamp_tests::metered::{
    AGGREGATOR, FlowRun, Usage, aggregated_clicks, coupon_claims, measured_cpu_ms, recorded_clicks, survey_answers,
};
use serde_yaml_ng::Value;

const COMMAND: &str = "cargo bench -p mcamp-tests --bench cost";

/// Lambda gives a function one full vCPU at 1,769 MB and a proportional share below (AWS
/// Lambda developer guide, "Configuring function memory"): handler time measured on a full
/// core here takes 1769 / MemorySize times longer there.
const FULL_VCPU_MB: f64 = 1769.0;

/// template.yaml's `MemorySize` per function logical id, with the `Globals` default.
struct Memory {
    default_mb: u32,
    by_function: std::collections::BTreeMap<String, u32>,
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        v => v,
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    untag(v).as_mapping().and_then(|m| m.get(key)).map(untag)
}

fn memory_mb(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
}

impl Memory {
    fn from_template() -> anyhow::Result<Memory> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
        let t: Value = serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        // Lambda's default when the template sets none.
        let default_mb = memory_mb(
            get(&t, "Globals")
                .and_then(|g| get(g, "Function"))
                .and_then(|f| get(f, "MemorySize")),
        )
        .unwrap_or(128);
        let mut by_function = std::collections::BTreeMap::new();
        if let Some(resources) = get(&t, "Resources").and_then(Value::as_mapping) {
            for (id, r) in resources {
                if let (Some(id), Some(mb)) = (
                    id.as_str(),
                    memory_mb(get(r, "Properties").and_then(|p| get(p, "MemorySize"))),
                ) {
                    by_function.insert(id.to_owned(), mb);
                }
            }
        }
        Ok(Memory {
            default_mb,
            by_function,
        })
    }

    fn of(&self, function: &str) -> u32 {
        self.by_function.get(function).copied().unwrap_or(self.default_mb)
    }
}

fn price(run: &FlowRun, memory: &Memory) -> Flow {
    run.to_cost_flow(
        |f| memory.of(f),
        |f, u| measured_cpu_ms(u) * (FULL_VCPU_MB / f64::from(memory.of(f))).max(1.0),
    )
}

fn line(figure: &str, value: impl std::fmt::Display, goal: &str) {
    println!("bench: {figure} | {value} | {goal} | {COMMAND}");
}

/// The services that cost the most, largest first, for a MISSED reason.
fn largest(b: &Breakdown, n: usize) -> String {
    let mut s = b.services().to_vec();
    s.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
    s.iter()
        .take(n)
        .map(|(name, d)| format!("{name} {d}"))
        .collect::<Vec<_>>()
        .join(" + ")
}

fn report(run: &FlowRun, flow: &Flow, goal: Option<Dollars>) {
    let b = cost_per_million(flow);
    let figure = format!("cost per 1M {}s", run.name);
    let goal_text = match goal {
        None => "no goal".to_owned(),
        Some(g) if b.total() <= g => format!("≤ {g}"),
        Some(g) => format!(
            "≤ {g} MISSED: {} alone are {}",
            largest(&b, 2),
            Dollars(largest_sum(&b, 2))
        ),
    };
    line(&figure, b.total(), &goal_text);
    for (service, d) in b.services() {
        line(&format!("{figure}: {service}"), d, "–");
    }
    let ops = &flow.ops;
    let lambdas: Vec<String> = flow
        .lambdas
        .iter()
        .map(|l| {
            format!(
                "{} {:.2}× {} MB {} ms",
                l.function, l.invocations, l.memory_mb, l.billed_ms
            )
        })
        .collect();
    line(
        &format!("operations per {} ({} measured)", run.name, run.events),
        format!(
            "{:.2} RRU, {:.2} WRU, {:.2} stream records, {:.2} SQS requests, {:.2} HTTP API requests; {}",
            ops.read_units,
            ops.write_units,
            ops.stream_records,
            ops.sqs_requests,
            ops.http_api_requests,
            lambdas.join(", ")
        ),
        "–",
    );
}

fn largest_sum(b: &Breakdown, n: usize) -> f64 {
    let mut v: Vec<f64> = b.services().iter().map(|(_, d)| d.0).collect();
    v.sort_by(|a, b| b.total_cmp(a));
    v.iter().take(n).sum()
}

/// What would bring a click under the goal, priced by the same model on the measured flow.
fn what_ifs(run: &FlowRun, flow: &Flow) {
    let events = run.events.max(1) as f64;
    let total = run.total();
    let event_writes = total.write_units.get(&TableId::Events).copied().unwrap_or(0.0) / events;
    let event_puts = total
        .dynamodb_calls
        .iter()
        .filter(|(k, _)| k.ends_with(" events"))
        .map(|(_, n)| *n as f64)
        .sum::<f64>()
        / events;

    // The click event derived downstream from the link update's stream record (the update
    // carries the click's client info) instead of a PutItem of its own.
    let mut no_event_put = flow.clone();
    no_event_put.ops.write_units -= event_writes;
    for l in &mut no_event_put.lambdas {
        let ms = l.billed_ms as f64 - event_puts * cost::IN_REGION_ROUND_TRIP_MS;
        l.billed_ms = (ms.ceil() as u64).max(1);
    }
    // A Lambda function URL (or CloudFront in front of one) instead of the HTTP API: no
    // per-request API charge; the throttling and access logs must move elsewhere.
    let mut function_url = flow.clone();
    function_url.ops.http_api_requests = 0.0;

    let mut both = no_event_put.clone();
    both.ops.http_api_requests = 0.0;

    let goal = |d: Dollars| {
        if d <= GOAL_PER_MILLION_CLICKS {
            format!("≤ {GOAL_PER_MILLION_CLICKS}")
        } else {
            format!("≤ {GOAL_PER_MILLION_CLICKS} MISSED")
        }
    };
    for (what, f) in [
        (
            "if the click event rode on the link update's stream record",
            &no_event_put,
        ),
        ("if a Lambda function URL replaced the HTTP API", &function_url),
        ("with both", &both),
    ] {
        let d = cost_per_million(f).total();
        line(&format!("cost per 1M recorded clicks, {what}"), d, &goal(d));
    }
}

/// What the aggregator adds to a click: its write and read units and their price, and its
/// invocations (one per 100 stream records).
fn aggregator_share(run: &FlowRun, agg: &Usage, memory: &Memory) {
    let n = run.events.max(1) as f64;
    let alone = FlowRun {
        name: "aggregator's part of a click",
        events: run.events,
        by_function: std::iter::once((AGGREGATOR.to_owned(), agg.clone())).collect(),
    };
    let flow = price(&alone, memory);
    let d = cost_per_million(&flow).total();
    line(
        "aggregator: write units per click (marker, journey with its index entry, share of counters; transactional = 2 per KB)",
        format!(
            "{:.2} WRU, {:.2} RRU",
            agg.total_write_units() / n,
            agg.total_read_units() / n
        ),
        "–",
    );
    line("cost per 1M clicks the aggregator adds", d, "none");
}

fn per_function_check(run: &FlowRun) -> Option<String> {
    // A flow that did nothing would price at zero and look like a win.
    let t: Usage = run.total();
    (t.invocations == 0).then(|| format!("{}: no invocation measured", run.name))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs a small smoke version.
    let full = std::env::args().any(|a| a == "--bench");
    let (clicks, claims, respondents) = if full { (500, 200, 50) } else { (5, 3, 1) };
    let rt = mcamp_tests::bench::runtime("cost");
    let memory = match Memory::from_template() {
        Ok(m) => m,
        Err(e) => {
            println!("bench: cost FAILED: reading template.yaml: {e:#}");
            std::process::exit(1);
        }
    };
    let mut failed = false;
    let runs = [
        rt.block_on(recorded_clicks(&Backend::embedded(), clicks)),
        rt.block_on(coupon_claims(&Backend::embedded(), claims)),
        rt.block_on(survey_answers(&Backend::embedded(), respondents)),
        rt.block_on(aggregated_clicks(&Backend::embedded(), clicks)),
    ];
    for (i, run) in runs.into_iter().enumerate() {
        let run = match run {
            Ok(r) => r,
            Err(e) => {
                println!("bench: cost FAILED: {e:#}");
                failed = true;
                continue;
            }
        };
        if let Some(problem) = per_function_check(&run) {
            println!("bench: cost FAILED: {problem}");
            failed = true;
            continue;
        }
        let flow = price(&run, &memory);
        let is_click = i == 0;
        report(&run, &flow, is_click.then_some(GOAL_PER_MILLION_CLICKS));
        if is_click {
            what_ifs(&run, &flow);
        }
        if let Some(agg) = run.by_function.get(AGGREGATOR) {
            aggregator_share(&run, agg, &memory);
        }
    }
    println!(
        "bench: cost model | {} list prices checked {}, {} ms a DynamoDB/SQS round trip, CPU share {} MB = 1 vCPU | – | {COMMAND}",
        cost::REGION,
        cost::PRICES_CHECKED,
        cost::IN_REGION_ROUND_TRIP_MS,
        FULL_VCPU_MB
    );
    if failed {
        std::process::exit(1);
    }
}
