//! What a recorded click, a coupon claim and a survey answer cost on AWS: a model in code,
//! fed with the operations a flow really makes (counted through the ports by
//! `mcamp_tests::metered`), priced at AWS list prices for ap-northeast-2 (Seoul).
//!
//! The model prices per request and per unit of work only: Lambda requests and GB-seconds,
//! HTTP API requests, DynamoDB on-demand read and write request units (tables and `gsi1`),
//! DynamoDB Streams reads and SQS requests. Storage, PITR, CloudWatch Logs, KMS, data
//! transfer and the free tiers are left out (docs/performance.md, "Cost per click", says what
//! they add).
//!
//! Prices are AWS list prices as published for ap-northeast-2 (Seoul), checked 2026-11, in
//! US dollars, without tax. Check them against the AWS price list before quoting a figure.

use std::fmt;
use std::iter::Sum;
use std::ops::Add;

/// The region the prices below are for.
pub const REGION: &str = "ap-northeast-2";
/// When the prices below were taken from AWS's public price pages.
pub const PRICES_CHECKED: &str = "2026-11";

/// Lambda on arm64 (Graviton), per GB-second of billed duration: $0.0000133334 (first 6
/// billion GB-s a month; cheaper tiers beyond). Seoul list price, checked 2026-11.
pub const LAMBDA_ARM64_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// Lambda, per request (invocation): $0.20 per million. Seoul list price, checked 2026-11.
pub const LAMBDA_PER_REQUEST: f64 = 0.20 / 1e6;
/// API Gateway HTTP API, per request: $1.00 per million for the first 300 million a month
/// (each 512 KB of a request counts as one). Seoul list price, checked 2026-11.
pub const HTTP_API_PER_REQUEST: f64 = 1.00 / 1e6;
/// DynamoDB on-demand (Standard table class), per write request unit: $0.71155 per million.
/// Seoul list price after AWS halved on-demand prices on 2024-11-01 ($1.4231 per million
/// before); checked 2026-11.
pub const DYNAMODB_PER_WRITE_REQUEST_UNIT: f64 = 0.711_55 / 1e6;
/// DynamoDB on-demand (Standard table class), per read request unit: $0.1423 per million.
/// Seoul list price after the 2024-11-01 reduction ($0.2846 per million before); checked
/// 2026-11.
pub const DYNAMODB_PER_READ_REQUEST_UNIT: f64 = 0.142_3 / 1e6;
/// DynamoDB Streams, per stream read request unit (one `GetRecords` call): $0.20 per
/// million, checked 2026-11. `GetRecords` made by a Lambda event source mapping (a Lambda
/// trigger on the stream) is not charged; only other consumers pay it.
pub const DYNAMODB_STREAMS_PER_READ_REQUEST: f64 = 0.20 / 1e6;
/// SQS standard queue, per request: $0.40 per million (after the first million a month); each
/// 64 KB chunk of a payload is one request. Seoul list price, checked 2026-11.
pub const SQS_STANDARD_PER_REQUEST: f64 = 0.40 / 1e6;
/// The payload size SQS bills as one request.
pub const SQS_REQUEST_CHUNK_BYTES: usize = 64 * 1024;

/// One write request unit writes up to this many bytes of an item.
pub const WRITE_UNIT_BYTES: usize = 1024;
/// One read request unit reads up to this many bytes, strongly consistent.
pub const READ_UNIT_BYTES: usize = 4096;

/// A DynamoDB or SQS round trip from a Lambda in the same region, for the billed duration:
/// 5 ms, a typical in-region figure for a small GetItem/PutItem over a warm HTTPS connection
/// (AWS quotes single-digit milliseconds; transactions and cold connections take longer).
pub const IN_REGION_ROUND_TRIP_MS: f64 = 5.0;

/// The goal of issue 15: at most $2.5 per million recorded clicks.
pub const GOAL_PER_MILLION_CLICKS: Dollars = Dollars(2.5);

/// An amount in US dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct Dollars(pub f64);

impl Add for Dollars {
    type Output = Dollars;
    fn add(self, other: Dollars) -> Dollars {
        Dollars(self.0 + other.0)
    }
}

impl Sum for Dollars {
    fn sum<I: Iterator<Item = Dollars>>(iter: I) -> Dollars {
        iter.fold(Dollars(0.0), Add::add)
    }
}

impl fmt::Display for Dollars {
    /// Two decimals, or more when the amount is under a cent (`$0.004`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Plus 0.0 turns a -0.0 (an empty f64 sum) into 0.0, so it never prints "$-0.00".
        let amount = self.0 + 0.0;
        if amount.abs() < 0.01 && amount != 0.0 {
            write!(f, "${amount:.4}")
        } else {
            write!(f, "${amount:.2}")
        }
    }
}

/// How a read is made, which sets its price per 4 KB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// `GetItem`/`Query` with `ConsistentRead`: one unit per 4 KB.
    Strong,
    /// A `gsi1` query: half a unit per 4 KB.
    Eventual,
    /// Inside a transaction: two units per 4 KB.
    Transactional,
}

/// Read request units of reading `bytes` (an item, or the sum of a query's items): at least
/// one 4 KB block, even for a missing item or an empty query.
pub fn read_units(bytes: usize, consistency: Consistency) -> f64 {
    let blocks = bytes.max(1).div_ceil(READ_UNIT_BYTES) as f64;
    match consistency {
        Consistency::Strong => blocks,
        Consistency::Eventual => blocks / 2.0,
        Consistency::Transactional => blocks * 2.0,
    }
}

/// Write request units of writing (or deleting) an item of `bytes`: one per started 1 KB,
/// twice that in a transaction.
pub fn write_units(bytes: usize, transactional: bool) -> f64 {
    let blocks = bytes.max(1).div_ceil(WRITE_UNIT_BYTES) as f64;
    if transactional { blocks * 2.0 } else { blocks }
}

/// An item's size as DynamoDB counts it (the store's own rule, which its 400 KB limit uses).
pub use mcamp_store::ports::item_size;

/// The billable operations of one event of a flow (one click, one claim, one answer), on
/// average: fractions come from averaging over many events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpCounts {
    /// DynamoDB read request units, tables and index.
    pub read_units: f64,
    /// DynamoDB write request units, tables and `gsi1` (an index write is a write).
    pub write_units: f64,
    /// Records the writes put on the tables' streams (both tables stream).
    pub stream_records: f64,
    /// `GetRecords` calls by stream consumers that pay for them (not Lambda triggers).
    pub stream_read_requests: f64,
    /// SQS requests: sends, and the receives and deletes of the queue's poller.
    pub sqs_requests: f64,
    /// API Gateway HTTP API requests.
    pub http_api_requests: f64,
}

/// The Lambda work of one event of a flow in one function.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaRun {
    /// The function's logical id in template.yaml (`RedirectFunction`).
    pub function: String,
    /// Invocations per event (2.0 when an answer is a post and the page it redirects to).
    pub invocations: f64,
    /// The function's `MemorySize`.
    pub memory_mb: u32,
    /// Billed duration of one invocation, in whole milliseconds (Lambda rounds up to 1 ms).
    pub billed_ms: u64,
}

impl LambdaRun {
    /// A run whose invocations take `cpu_ms` of handler time and make `round_trips`
    /// sequential DynamoDB/SQS calls each, at `IN_REGION_ROUND_TRIP_MS` apiece.
    pub fn modelled(function: &str, invocations: f64, memory_mb: u32, cpu_ms: f64, round_trips: f64) -> Self {
        let ms = cpu_ms.max(0.0) + round_trips.max(0.0) * IN_REGION_ROUND_TRIP_MS;
        LambdaRun {
            function: function.to_owned(),
            invocations,
            memory_mb,
            billed_ms: (ms.ceil() as u64).max(1),
        }
    }

    /// GB-seconds of one invocation (Lambda counts 1 GB as 1024 MB).
    pub fn gb_seconds(&self) -> f64 {
        f64::from(self.memory_mb) / 1024.0 * self.billed_ms as f64 / 1000.0
    }
}

/// One flow: what a single event costs, operation by operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flow {
    /// What one event is ("recorded click").
    pub name: String,
    pub ops: OpCounts,
    pub lambdas: Vec<LambdaRun>,
}

/// The price of a million events of a flow, per service.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Breakdown {
    pub lambda_requests: Dollars,
    pub lambda_compute: Dollars,
    pub http_api: Dollars,
    pub dynamodb_reads: Dollars,
    pub dynamodb_writes: Dollars,
    pub dynamodb_streams: Dollars,
    pub sqs: Dollars,
}

impl Breakdown {
    /// Each service's share, named as the bench prints it.
    pub fn services(&self) -> [(&'static str, Dollars); 7] {
        [
            ("Lambda requests", self.lambda_requests),
            ("Lambda GB-s", self.lambda_compute),
            ("HTTP API", self.http_api),
            ("DynamoDB reads", self.dynamodb_reads),
            ("DynamoDB writes", self.dynamodb_writes),
            ("DynamoDB Streams", self.dynamodb_streams),
            ("SQS", self.sqs),
        ]
    }

    pub fn total(&self) -> Dollars {
        self.services().iter().map(|(_, d)| *d).sum()
    }
}

/// What a million events of `flow` cost.
pub fn cost_per_million(flow: &Flow) -> Breakdown {
    const MILLION: f64 = 1e6;
    let invocations: f64 = flow.lambdas.iter().map(|l| l.invocations).sum();
    let gb_seconds: f64 = flow.lambdas.iter().map(|l| l.invocations * l.gb_seconds()).sum();
    let ops = &flow.ops;
    Breakdown {
        lambda_requests: Dollars(MILLION * invocations * LAMBDA_PER_REQUEST),
        lambda_compute: Dollars(MILLION * gb_seconds * LAMBDA_ARM64_PER_GB_SECOND),
        http_api: Dollars(MILLION * ops.http_api_requests * HTTP_API_PER_REQUEST),
        dynamodb_reads: Dollars(MILLION * ops.read_units * DYNAMODB_PER_READ_REQUEST_UNIT),
        dynamodb_writes: Dollars(MILLION * ops.write_units * DYNAMODB_PER_WRITE_REQUEST_UNIT),
        dynamodb_streams: Dollars(MILLION * ops.stream_read_requests * DYNAMODB_STREAMS_PER_READ_REQUEST),
        sqs: Dollars(MILLION * ops.sqs_requests * SQS_STANDARD_PER_REQUEST),
    }
}

/// SQS requests a message of `bytes` is billed as (one per started 64 KB).
pub fn sqs_requests_for(bytes: usize) -> u64 {
    bytes.max(1).div_ceil(SQS_REQUEST_CHUNK_BYTES) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn read_units_follow_dynamodb_rounding() {
        assert!(
            close(read_units(0, Consistency::Strong), 1.0),
            "a miss still reads a block"
        );
        assert!(close(read_units(4096, Consistency::Strong), 1.0));
        assert!(close(read_units(4097, Consistency::Strong), 2.0));
        assert!(close(read_units(100, Consistency::Eventual), 0.5));
        assert!(close(read_units(8192, Consistency::Eventual), 1.0));
        assert!(close(read_units(5000, Consistency::Transactional), 4.0));
    }

    #[test]
    fn write_units_follow_dynamodb_rounding() {
        assert!(close(write_units(1, false), 1.0));
        assert!(close(write_units(1024, false), 1.0));
        assert!(close(write_units(1025, false), 2.0));
        assert!(close(write_units(3 * 1024, true), 6.0));
        assert!(close(write_units(0, true), 2.0));
    }

    #[test]
    fn item_size_counts_names_and_values() {
        let item = |v: Value| v.as_object().cloned().unwrap_or_default();
        // "pk" 2 + "A#1" 3, "sk" 2 + "X" 1.
        assert_eq!(item_size(&item(json!({"pk": "A#1", "sk": "X"}))), 8);
        // "n" 1 + (1 + 3 for five digits); "ok" 2 + 1; "가" is 3 bytes in UTF-8.
        assert_eq!(item_size(&item(json!({"n": 12345, "ok": true}))), 8);
        assert_eq!(item_size(&item(json!({"s": "가"}))), 4);
        // "m" 1 + 3 + (1 + "a" 1 + "xy" 2) = 8.
        assert_eq!(item_size(&item(json!({"m": {"a": "xy"}}))), 8);
        // "l" 1 + 3 + (1 + null 1) + (1 + the number 10: 1 + one digit pair) = 9.
        assert_eq!(item_size(&item(json!({"l": [null, 10]}))), 9);
    }

    #[test]
    fn billed_duration_rounds_up_to_the_millisecond() {
        let run = LambdaRun::modelled("RedirectFunction", 1.0, 256, 1.2, 2.0);
        assert_eq!(run.billed_ms, 12, "1.2 ms of handler + 2 round trips of 5 ms");
        assert!(close(run.gb_seconds(), 0.25 * 0.012));
        assert_eq!(LambdaRun::modelled("F", 1.0, 128, 0.0, 0.0).billed_ms, 1);
    }

    #[test]
    fn a_million_events_priced_by_hand() {
        let flow = Flow {
            name: "hand-checked".into(),
            ops: OpCounts {
                read_units: 1.0,
                write_units: 3.0,
                stream_records: 2.0,
                stream_read_requests: 0.5,
                sqs_requests: 3.0,
                http_api_requests: 1.0,
            },
            lambdas: vec![LambdaRun {
                function: "RedirectFunction".into(),
                invocations: 1.0,
                memory_mb: 256,
                billed_ms: 12,
            }],
        };
        let b = cost_per_million(&flow);
        // 1M × $0.20/1M.
        assert!(close(b.lambda_requests.0, 0.20));
        // 1M × 0.25 GB × 0.012 s = 3000 GB-s × $0.0000133334.
        assert!(close(b.lambda_compute.0, 0.0400002));
        assert!(close(b.http_api.0, 1.00));
        assert!(close(b.dynamodb_reads.0, 0.1423));
        // 3 WRU × $0.71155.
        assert!(close(b.dynamodb_writes.0, 2.13465));
        assert!(close(b.dynamodb_streams.0, 0.10));
        assert!(close(b.sqs.0, 1.20));
        assert!(close(
            b.total().0,
            0.20 + 0.0400002 + 1.00 + 0.1423 + 2.13465 + 0.10 + 1.20
        ));
    }

    #[test]
    fn sqs_bills_per_started_64_kb() {
        assert_eq!(sqs_requests_for(300), 1);
        assert_eq!(sqs_requests_for(64 * 1024), 1);
        assert_eq!(sqs_requests_for(64 * 1024 + 1), 2);
    }

    #[test]
    fn dollars_print_small_amounts_with_more_digits() {
        assert_eq!(Dollars(1.934).to_string(), "$1.93");
        assert_eq!(Dollars(0.00213).to_string(), "$0.0021");
        assert_eq!(Dollars(0.0).to_string(), "$0.00");
        assert_eq!(Dollars(-0.0).to_string(), "$0.00");
    }
}
