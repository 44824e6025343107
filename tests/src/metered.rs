//! Meters on the ports: every DynamoDB and SQS call a flow makes, priced in DynamoDB capacity
//! units from the real items' sizes, under the name of the function making it, and the flows
//! that issue 15's cost model prices (a recorded click, a coupon claim, a survey answer),
//! driven through the same handlers the Lambdas run. `tests/it/cost.rs` asserts the counts;
//! `tests/benches/cost.rs` prices them with `mcamp_ops::cost`.
//!
//! DynamoDB's rules, as the meter applies them:
//! - `GetItem`/`BatchGetItem` are strongly consistent here (docs/data-model.md): one read unit
//!   per started 4 KB of each item, a missing item still one.
//! - `Query` reads the sum of the returned items' sizes, rounded up to 4 KB once per call;
//!   strongly consistent on the table, eventually (half) on `gsi1`.
//! - `PutItem`/`UpdateItem`/`DeleteItem` and each item of `BatchWriteItem`: one write unit per
//!   started 1 KB of the larger of the item before and after. A failed condition still pays.
//! - `TransactWriteItems`: twice that per item; a `ConditionCheck` is priced as a transactional
//!   write of the checked item (an upper bound).
//! - A write to an item that is or becomes part of `gsi1` (it has `gsi1pk` and `gsi1sk`) also
//!   writes the index (projection ALL): one write when the item enters, leaves or changes in
//!   the index, two when its index key changes.
//! - Both tables stream (NEW_AND_OLD_IMAGES): a write that changes an item adds one record.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcamp_app::App;
use mcamp_core::recipient::Recipient;
use mcamp_http::tokens::form_token;
use mcamp_http::{Site, Web};
use mcamp_ops::cost::{self, Consistency, read_units, write_units};
use mcamp_store::ports::item_size;
use mcamp_store::ports::{
    Cond, Index, Item, JobQueue, Key, Page, Query, QueueId, Received, StoreResult, Table, TableId, TxWrite, Update,
};

use crate::{Backend, KAKAOTALK_ANDROID, TEST_SECRET, call, phone_key, recipients, text};

/// What one function did to the stores (over all its invocations in a run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Lambda invocations.
    pub invocations: u64,
    /// Invocations that came through the HTTP API.
    pub http_requests: u64,
    /// Time spent in the handler, measured in process (store calls on the backend included).
    pub handler_time: Duration,
    /// DynamoDB calls by `"<Action> <table>"` (`"UpdateItem main"`).
    pub dynamodb_calls: BTreeMap<String, u64>,
    pub read_units: BTreeMap<TableId, f64>,
    /// Write units on the table itself.
    pub write_units: BTreeMap<TableId, f64>,
    /// Write units on `gsi1` (main only).
    pub index_write_units: f64,
    /// Records put on each table's stream.
    pub stream_records: BTreeMap<TableId, u64>,
    /// SQS calls by `"<Action> <queue>"` (`"SendMessage coupon-issue"`).
    pub sqs_calls: BTreeMap<String, u64>,
    /// SQS requests as billed (a message over 64 KB is several).
    pub sqs_requests: u64,
}

impl Usage {
    /// DynamoDB round trips.
    pub fn dynamodb_round_trips(&self) -> u64 {
        self.dynamodb_calls.values().sum()
    }
    /// Round trips the function itself waits for: DynamoDB calls and SQS sends. An SQS event
    /// source mapping receives and deletes a Lambda's messages outside its billed time.
    pub fn waited_round_trips(&self) -> u64 {
        let sends: u64 = self
            .sqs_calls
            .iter()
            .filter(|(k, _)| k.starts_with("SendMessage"))
            .map(|(_, n)| n)
            .sum();
        self.dynamodb_round_trips() + sends
    }
    pub fn total_read_units(&self) -> f64 {
        // Plus 0.0: an empty f64 sum is -0.0, which would print as "-0.00".
        self.read_units.values().sum::<f64>() + 0.0
    }
    /// Write units on tables and the index.
    pub fn total_write_units(&self) -> f64 {
        self.write_units.values().sum::<f64>() + self.index_write_units
    }
    pub fn total_stream_records(&self) -> u64 {
        self.stream_records.values().sum()
    }

    fn add(&mut self, other: &Usage) {
        self.invocations += other.invocations;
        self.http_requests += other.http_requests;
        self.handler_time += other.handler_time;
        for (k, n) in &other.dynamodb_calls {
            *self.dynamodb_calls.entry(k.clone()).or_default() += n;
        }
        for (t, u) in &other.read_units {
            *self.read_units.entry(*t).or_default() += u;
        }
        for (t, u) in &other.write_units {
            *self.write_units.entry(*t).or_default() += u;
        }
        self.index_write_units += other.index_write_units;
        for (t, n) in &other.stream_records {
            *self.stream_records.entry(*t).or_default() += n;
        }
        for (k, n) in &other.sqs_calls {
            *self.sqs_calls.entry(k.clone()).or_default() += n;
        }
        self.sqs_requests += other.sqs_requests;
    }
}

/// Collects `Usage` per function (a template logical id such as `RedirectFunction`) from a
/// `MeteredTable` and a `MeteredQueue`.
#[derive(Default)]
pub struct Meter {
    running: Mutex<String>,
    usage: Mutex<BTreeMap<String, Usage>>,
}

impl Meter {
    /// Attributes what follows to `function`.
    pub fn now_running(&self, function: &str) {
        if let Ok(mut f) = self.running.lock() {
            *f = function.to_owned();
        }
    }

    /// What each function did so far.
    pub fn usage(&self) -> BTreeMap<String, Usage> {
        self.usage.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// Forgets everything counted so far (after a flow's setup or warm-up).
    pub fn reset(&self) {
        if let Ok(mut u) = self.usage.lock() {
            u.clear();
        }
    }

    fn with(&self, f: impl FnOnce(&mut Usage)) {
        let function = self.running.lock().map(|f| f.clone()).unwrap_or_default();
        if let Ok(mut u) = self.usage.lock() {
            f(u.entry(function).or_default());
        }
    }

    fn invoked(&self, function: &str, http: bool, took: Duration) {
        if let Ok(mut u) = self.usage.lock() {
            let usage = u.entry(function.to_owned()).or_default();
            usage.invocations += 1;
            usage.http_requests += u64::from(http);
            usage.handler_time += took;
        }
    }

    fn dynamodb_call(&self, action: &str, table: TableId) {
        self.with(|u| {
            *u.dynamodb_calls
                .entry(format!("{action} {}", table.as_str()))
                .or_default() += 1
        });
    }

    fn read(&self, table: TableId, units: f64) {
        self.with(|u| *u.read_units.entry(table).or_default() += units);
    }

    /// Prices one item write: `before` and `after` are the item around it (`None`: absent;
    /// `after == before` when the write failed), `attempted` the item a put tried to write.
    /// The table is charged for the largest of the three, whether or not the write landed.
    fn wrote(
        &self,
        table: TableId,
        before: Option<&Item>,
        attempted: Option<&Item>,
        after: Option<&Item>,
        transactional: bool,
    ) {
        let size = [before, attempted, after]
            .iter()
            .map(|i| i.map_or(0, item_size))
            .max()
            .unwrap_or(0);
        let table_units = write_units(size, transactional);
        let index_units = if table == TableId::Main {
            index_write_units(before, after)
        } else {
            0.0
        };
        let changed = before != after;
        self.with(|u| {
            *u.write_units.entry(table).or_default() += table_units;
            u.index_write_units += index_units;
            if changed {
                *u.stream_records.entry(table).or_default() += 1;
            }
        });
    }

    fn sqs_call(&self, action: &str, queue: QueueId, requests: u64) {
        self.with(|u| {
            *u.sqs_calls.entry(format!("{action} {}", queue.as_str())).or_default() += 1;
            u.sqs_requests += requests;
        });
    }
}

/// The `gsi1` key of an item, if it is in the index.
fn index_key(item: Option<&Item>) -> Option<(&str, &str)> {
    let item = item?;
    Some((item.get("gsi1pk")?.as_str()?, item.get("gsi1sk")?.as_str()?))
}

/// Write units a table write costs on `gsi1` (projection ALL, so the index entry is the item).
fn index_write_units(before: Option<&Item>, after: Option<&Item>) -> f64 {
    let size = |i: Option<&Item>| i.map_or(0, item_size);
    match (index_key(before), index_key(after)) {
        (None, None) => 0.0,
        (None, Some(_)) => write_units(size(after), false),
        (Some(_), None) => write_units(size(before), false),
        (Some(old), Some(new)) if old == new => {
            if before == after {
                0.0
            } else {
                write_units(size(before).max(size(after)), false)
            }
        }
        // The old entry is deleted and the new one put.
        (Some(_), Some(_)) => write_units(size(before), false) + write_units(size(after), false),
    }
}

/// A `Table` that prices every call on a `Meter`, then makes it. To learn an item's size
/// before a write it reads the item from the inner table; those reads are not counted.
pub struct MeteredTable {
    pub inner: Arc<dyn Table>,
    pub meter: Arc<Meter>,
}

impl MeteredTable {
    /// The item as it is now, outside the count (a failed read counts as absent).
    async fn peek(&self, table: TableId, key: &Key) -> Option<Item> {
        self.inner.get(table, key).await.ok().flatten()
    }
}

fn tx_key(w: &TxWrite) -> (TableId, Option<Key>) {
    match w {
        TxWrite::Put { table, item, .. } => (*table, Key::of(item)),
        TxWrite::Update { table, key, .. } | TxWrite::Delete { table, key, .. } | TxWrite::Check { table, key, .. } => {
            (*table, Some(key.clone()))
        }
    }
}

#[async_trait::async_trait]
impl Table for MeteredTable {
    async fn get(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
        self.meter.dynamodb_call("GetItem", table);
        let got = self.inner.get(table, key).await?;
        self.meter.read(
            table,
            read_units(got.as_ref().map_or(0, item_size), Consistency::Strong),
        );
        Ok(got)
    }

    async fn get_many(&self, table: TableId, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.meter.dynamodb_call("BatchGetItem", table);
        let got = self.inner.get_many(table, keys).await?;
        // Each key is a read of its own; a missing one still reads a block.
        let found: f64 = got.iter().map(|i| read_units(item_size(i), Consistency::Strong)).sum();
        let missing = keys.len().saturating_sub(got.len()) as f64;
        self.meter
            .read(table, found + missing * read_units(0, Consistency::Strong));
        Ok(got)
    }

    async fn put(&self, table: TableId, item: Item, cond: Option<Cond>) -> StoreResult<()> {
        self.meter.dynamodb_call("PutItem", table);
        let before = match Key::of(&item) {
            Some(key) => self.peek(table, &key).await,
            None => None,
        };
        let result = self.inner.put(table, item.clone(), cond).await;
        let after = if result.is_ok() { Some(&item) } else { before.as_ref() };
        self.meter.wrote(table, before.as_ref(), Some(&item), after, false);
        result
    }

    async fn update(&self, table: TableId, key: &Key, update: Update, cond: Option<Cond>) -> StoreResult<Item> {
        self.meter.dynamodb_call("UpdateItem", table);
        let before = self.peek(table, key).await;
        let result = self.inner.update(table, key, update, cond).await;
        match &result {
            Ok(after) => self.meter.wrote(table, before.as_ref(), None, Some(after), false),
            Err(_) => self.meter.wrote(table, before.as_ref(), None, before.as_ref(), false),
        }
        result
    }

    async fn delete(&self, table: TableId, key: &Key, cond: Option<Cond>) -> StoreResult<()> {
        self.meter.dynamodb_call("DeleteItem", table);
        let before = self.peek(table, key).await;
        let result = self.inner.delete(table, key, cond).await;
        let after = if result.is_ok() { None } else { before.as_ref() };
        self.meter.wrote(table, before.as_ref(), None, after, false);
        result
    }

    async fn transact(&self, writes: Vec<TxWrite>) -> StoreResult<()> {
        self.meter.dynamodb_call(
            "TransactWriteItems",
            writes.first().map_or(TableId::Main, |w| tx_key(w).0),
        );
        let keys: Vec<(TableId, Option<Key>)> = writes.iter().map(tx_key).collect();
        let mut befores = Vec::with_capacity(keys.len());
        for (table, key) in &keys {
            befores.push(match key {
                Some(k) => self.peek(*table, k).await,
                None => None,
            });
        }
        let attempted: Vec<Option<Item>> = writes
            .iter()
            .map(|w| match w {
                TxWrite::Put { item, .. } => Some(item.clone()),
                _ => None,
            })
            .collect();
        let checks: Vec<bool> = writes.iter().map(|w| matches!(w, TxWrite::Check { .. })).collect();
        let result = self.inner.transact(writes).await;
        for ((((table, key), before), attempted), check) in keys.iter().zip(&befores).zip(&attempted).zip(checks) {
            let after = match (key, result.is_ok() && !check) {
                (Some(k), true) => self.peek(*table, k).await,
                _ => before.clone(),
            };
            self.meter
                .wrote(*table, before.as_ref(), attempted.as_ref(), after.as_ref(), true);
        }
        result
    }

    async fn query(&self, query: &Query) -> StoreResult<Page> {
        let (action, consistency) = match query.index {
            Index::Primary => ("Query", Consistency::Strong),
            Index::Gsi1 => ("Query(gsi1)", Consistency::Eventual),
        };
        self.meter.dynamodb_call(action, query.table);
        let page = self.inner.query(query).await?;
        let bytes: usize = page.items.iter().map(item_size).sum();
        self.meter.read(query.table, read_units(bytes, consistency));
        Ok(page)
    }

    async fn put_many(&self, table: TableId, items: Vec<Item>) -> StoreResult<()> {
        // BatchWriteItem takes 25 items a call.
        for _ in 0..items.len().div_ceil(25).max(1) {
            self.meter.dynamodb_call("BatchWriteItem", table);
        }
        let mut befores = Vec::with_capacity(items.len());
        for item in &items {
            befores.push(match Key::of(item) {
                Some(k) => self.peek(table, &k).await,
                None => None,
            });
        }
        let result = self.inner.put_many(table, items.clone()).await;
        for (item, before) in items.iter().zip(&befores) {
            let after = if result.is_ok() { Some(item) } else { before.as_ref() };
            self.meter.wrote(table, before.as_ref(), Some(item), after, false);
        }
        result
    }
}

/// A `JobQueue` that counts every SQS request on a `Meter`, then makes it.
pub struct MeteredQueue {
    pub inner: Arc<dyn JobQueue>,
    pub meter: Arc<Meter>,
}

#[async_trait::async_trait]
impl JobQueue for MeteredQueue {
    async fn send(&self, queue: QueueId, body: String) -> StoreResult<String> {
        self.meter
            .sqs_call("SendMessage", queue, cost::sqs_requests_for(body.len()));
        self.inner.send(queue, body).await
    }
    async fn receive(
        &self,
        queue: QueueId,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> StoreResult<Vec<Received>> {
        self.meter.sqs_call("ReceiveMessage", queue, 1);
        self.inner.receive(queue, max, visibility, wait).await
    }
    async fn ack(&self, queue: QueueId, receipt: &str) -> StoreResult<()> {
        self.meter.sqs_call("DeleteMessage", queue, 1);
        self.inner.ack(queue, receipt).await
    }
    async fn retry_later(&self, queue: QueueId, receipt: &str, delay: Duration) -> StoreResult<()> {
        self.meter.sqs_call("ChangeMessageVisibility", queue, 1);
        self.inner.retry_later(queue, receipt, delay).await
    }
    async fn depth(&self, queue: QueueId) -> StoreResult<usize> {
        self.meter.sqs_call("GetQueueAttributes", queue, 1);
        self.inner.depth(queue).await
    }
}

/// The functions of template.yaml the flows run, by logical id.
pub const REDIRECT: &str = "RedirectFunction";
pub const PAGE: &str = "PageFunction";
pub const SURVEY: &str = "SurveyFunction";
pub const COUPON_ISSUER: &str = "CouponIssuerFunction";
pub const AGGREGATOR: &str = "AggregatorFunction";

/// The application over metered ports, as a warm function runs it (campaigns cached).
pub struct Metered {
    pub meter: Arc<Meter>,
    pub web: Web,
}

impl Metered {
    pub fn over(backend: &Backend) -> Self {
        let meter = Arc::new(Meter::default());
        let table = Arc::new(MeteredTable {
            inner: backend.table.clone(),
            meter: meter.clone(),
        });
        let queue = Arc::new(MeteredQueue {
            inner: backend.queue.clone(),
            meter: meter.clone(),
        });
        let web = Web::new(
            App::new(table, queue),
            Site::local("http://127.0.0.1:3000", TEST_SECRET, phone_key()),
        );
        Metered { meter, web }
    }

    /// One HTTP API request to `function`, as API Gateway hands it over.
    pub async fn request(
        &self,
        function: &str,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> anyhow::Result<lambda_http::Response<lambda_http::Body>> {
        self.meter.now_running(function);
        let start = Instant::now();
        let resp = call(&self.web, method, uri, headers, body).await;
        self.meter.invoked(function, true, start.elapsed());
        resp
    }

    /// One invocation of the coupon issuer on what the queue holds (as the SQS event source
    /// mapping delivers it); returns the jobs it took.
    pub async fn issue(&self) -> usize {
        self.meter.now_running(COUPON_ISSUER);
        let start = Instant::now();
        let got = mcamp_coupon_issuer::consume(&self.web.app, Duration::from_millis(200), Duration::ZERO).await;
        if got > 0 {
            self.meter.invoked(COUPON_ISSUER, false, start.elapsed());
        }
        got
    }
}

/// What a flow did over `events` events, per function.
#[derive(Debug, Clone)]
pub struct FlowRun {
    /// What one event is ("recorded click").
    pub name: &'static str,
    pub events: u64,
    pub by_function: BTreeMap<String, Usage>,
}

impl FlowRun {
    /// Everything, all functions together.
    pub fn total(&self) -> Usage {
        let mut all = Usage::default();
        for u in self.by_function.values() {
            all.add(u);
        }
        all
    }

    /// Per event, averaged.
    pub fn per_event(&self, f: impl Fn(&Usage) -> f64) -> f64 {
        f(&self.total()) / self.events.max(1) as f64
    }

    /// The flow priced by `mcamp_ops::cost`: per event, each function at `memory_mb(function)`
    /// and `cpu_ms(function)` of handler time a call plus its round trips at
    /// `cost::IN_REGION_ROUND_TRIP_MS`.
    pub fn to_cost_flow(&self, memory_mb: impl Fn(&str) -> u32, cpu_ms: impl Fn(&str, &Usage) -> f64) -> cost::Flow {
        let events = self.events.max(1) as f64;
        let total = self.total();
        let lambdas = self
            .by_function
            .iter()
            .filter(|(_, u)| u.invocations > 0)
            .map(|(function, u)| {
                let invocations = u.invocations as f64;
                cost::LambdaRun::modelled(
                    function,
                    invocations / events,
                    memory_mb(function),
                    cpu_ms(function, u),
                    u.waited_round_trips() as f64 / invocations,
                )
            })
            .collect();
        cost::Flow {
            name: self.name.to_owned(),
            ops: cost::OpCounts {
                read_units: total.total_read_units() / events,
                write_units: total.total_write_units() / events,
                stream_records: total.total_stream_records() as f64 / events,
                // The stack reads no stream; a Lambda trigger would read it for free.
                stream_read_requests: 0.0,
                sqs_requests: total.sqs_requests as f64 / events,
                http_api_requests: total.http_requests as f64 / events,
            },
            lambdas,
        }
    }
}

/// Mean handler time of one invocation, in milliseconds.
pub fn measured_cpu_ms(usage: &Usage) -> f64 {
    usage.handler_time.as_secs_f64() * 1e3 / usage.invocations.max(1) as f64
}

fn location(resp: &lambda_http::Response<lambda_http::Body>) -> Option<String> {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Setup that is not part of a flow: the campaign pushed and `n` recipients added, through the
/// unmetered backend.
async fn people(
    backend: &Backend,
    campaign: &mcamp_core::campaign::Campaign,
    n: usize,
) -> anyhow::Result<Vec<Recipient>> {
    let app = backend.app();
    app.db.push_campaign(campaign, app.now()).await?;
    recipients(&app.db, campaign, n).await
}

/// `n` recorded clicks: each of `n` recipients taps their personal link in KakaoTalk once
/// (the redirect function's `GET /{code}`: a 302 to their page). The page that loads next
/// is a page view, not part of the click. A first click warms the function (campaign cache)
/// and is not counted.
pub async fn recorded_clicks(backend: &Backend, n: usize) -> anyhow::Result<FlowRun> {
    let campaign = crate::campaign_with_coupon("cost-clicks", 10)?;
    let people = people(backend, &campaign, n + 1).await?;
    let metered = Metered::over(backend);
    let mut counted = false;
    for r in &people {
        let resp = metered
            .request(
                REDIRECT,
                "GET",
                &format!("/{}", r.code),
                &[("user-agent", KAKAOTALK_ANDROID)],
                "",
            )
            .await?;
        anyhow::ensure!(resp.status() == 302, "click on {}: {}", r.code, resp.status());
        if !counted {
            metered.meter.reset();
            counted = true;
        }
    }
    Ok(FlowRun {
        name: "recorded click",
        events: n as u64,
        by_function: metered.meter.usage(),
    })
}

/// `n` recorded clicks (`recorded_clicks`), then counted by the aggregator from the events
/// table's stream, in invocations of up to 100 records as the event source delivers them:
/// what counting a click adds to recording it.
pub async fn aggregated_clicks(backend: &Backend, n: usize) -> anyhow::Result<FlowRun> {
    let clicked = recorded_clicks(backend, n).await?;
    let changes = backend
        .feed
        .changes(TableId::Events, None, 1_000_000)
        .await?
        .into_iter()
        .filter(|c| c.kind == mcamp_store::ports::ChangeKind::Insert)
        .collect::<Vec<_>>();
    // The warm-up click's event is counted by the aggregator too; it is one of n + 1.
    anyhow::ensure!(
        changes.len() == n + 1,
        "{} click events for {} clicks",
        changes.len(),
        n + 1
    );
    let meter = Arc::new(Meter::default());
    let app = App::new(
        Arc::new(MeteredTable {
            inner: backend.table.clone(),
            meter: meter.clone(),
        }),
        backend.queue.clone(),
    );
    meter.now_running(AGGREGATOR);
    for batch in changes.chunks(100) {
        let start = Instant::now();
        let resp = mcamp_aggregator::handle(&app, crate::stream_event(batch)?).await;
        meter.invoked(AGGREGATOR, false, start.elapsed());
        anyhow::ensure!(resp.batch_item_failures.is_empty(), "the aggregator failed a batch");
    }
    // Per click: the aggregator's share over n + 1 events, scaled to n.
    let mut by_function = clicked.by_function;
    let mut aggregated = meter.usage().remove(AGGREGATOR).unwrap_or_default();
    let scale = n as f64 / (n + 1) as f64;
    for units in aggregated
        .write_units
        .values_mut()
        .chain(aggregated.read_units.values_mut())
    {
        *units *= scale;
    }
    aggregated.index_write_units *= scale;
    by_function.insert(AGGREGATOR.to_owned(), aggregated);
    Ok(FlowRun {
        name: "recorded and counted click",
        events: n as u64,
        by_function,
    })
}

/// `n` coupon claims on a page, as its script makes them: the claim post (JSON, 202, the job
/// queued), a first status poll (still pending), the issuer's invocation on the job, a second
/// poll (issued) and the page's reload. Each recipient has opened their page before (not
/// counted); a first claim warms the functions and is not counted.
pub async fn coupon_claims(backend: &Backend, n: usize) -> anyhow::Result<FlowRun> {
    const JSON: &str = "application/json";
    let campaign = crate::campaign_with_coupon("cost-claims", 1_000_000)?;
    let people = people(backend, &campaign, n + 1).await?;
    let metered = Metered::over(backend);
    let mut counted = false;
    for r in &people {
        let page = format!("/p/{}", r.code);
        let token = form_token(&metered.web.site.secret, r.code.as_str());
        let claim = metered
            .request(
                PAGE,
                "POST",
                &format!("{page}/claim"),
                &[("content-type", "application/x-www-form-urlencoded"), ("accept", JSON)],
                &format!("token={token}&coupon=welcome"),
            )
            .await?;
        anyhow::ensure!(claim.status() == 202, "claim: {} {}", claim.status(), text(&claim));
        metered
            .request(PAGE, "GET", &format!("{page}/coupon"), &[("accept", JSON)], "")
            .await?;
        anyhow::ensure!(metered.issue().await == 1, "one job for the issuer");
        let state = metered
            .request(PAGE, "GET", &format!("{page}/coupon"), &[("accept", JSON)], "")
            .await?;
        let v: serde_json::Value = serde_json::from_str(&text(&state))?;
        anyhow::ensure!(v["pending"] == false, "issued by the second poll: {v}");
        metered
            .request(PAGE, "GET", &page, &[("user-agent", KAKAOTALK_ANDROID)], "")
            .await?;
        if !counted {
            metered.meter.reset();
            counted = true;
        }
    }
    Ok(FlowRun {
        name: "coupon claim",
        events: n as u64,
        by_function: metered.meter.usage(),
    })
}

/// The screens of examples/survey a respondent posts, in order (8 answers, the last
/// completing the survey and claiming its reward coupon).
pub const SURVEY_ANSWERS: [&str; 8] = [
    "q=_demo&gender=male&age_band=40s",
    "q=tried&v=yes",
    "q=taste&v=5",
    "q=sweetness&v=less",
    "q=pick&v=matcha",
    "q=visits&v=afternoon",
    "q=nps&v=8",
    "q=comment&v=%EB%A7%9B%EC%9E%88%EC%96%B4%EC%9A%94",
];

/// `n` respondents of examples/survey each answering its 8 screens, as its script does: the
/// form post (303) and the screen it redirects to, fetched in one go; the reward coupon goes
/// through the issuer. One answer is one post; the survey's intro and start screens are not
/// answers and are not counted, nor is a first respondent who warms the function.
pub async fn survey_answers(backend: &Backend, n: usize) -> anyhow::Result<FlowRun> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/survey/campaign.yaml");
    let mut campaign = mcamp_ops::campaign_file::load(std::path::Path::new(path))?;
    campaign.id = mcamp_core::values::CampaignId::parse("cost-survey")?;
    let people = people(backend, &campaign, n + 1).await?;
    let metered = Metered::over(backend);
    let mut counted = false;
    let mut answers = 0u64;
    for r in &people {
        let screen = format!("/s/{}", r.code);
        let token = form_token(&metered.web.site.secret, r.code.as_str());
        metered.meter.now_running("setup");
        call(&metered.web, "GET", &screen, &[("user-agent", KAKAOTALK_ANDROID)], "").await?;
        call(&metered.web, "GET", &format!("{screen}?start=1"), &[], "").await?;
        for body in SURVEY_ANSWERS {
            let post = metered
                .request(
                    SURVEY,
                    "POST",
                    &screen,
                    &[("content-type", "application/x-www-form-urlencoded")],
                    &format!("token={token}&{body}"),
                )
                .await?;
            anyhow::ensure!(post.status() == 303, "{body}: {} {}", post.status(), text(&post));
            let next = location(&post).unwrap_or_else(|| screen.clone());
            metered
                .request(SURVEY, "GET", &next, &[("user-agent", KAKAOTALK_ANDROID)], "")
                .await?;
            answers += 1;
        }
        anyhow::ensure!(metered.issue().await == 1, "the reward's job for the issuer");
        if !counted {
            metered.meter.reset();
            counted = true;
            answers = 0;
        }
    }
    let mut by_function = metered.meter.usage();
    // The respondent opening the survey is not answering it.
    by_function.remove("setup");
    Ok(FlowRun {
        name: "survey answer",
        events: answers,
        by_function,
    })
}
