//! The operations behind issue 15's cost figures, counted through the ports on the embedded
//! backend (`mcamp_tests::metered`): what one recorded click, one coupon claim and one survey
//! answer make DynamoDB and SQS do. A change that adds a call or a write unit to a flow fails
//! here and has to update the figure on purpose (`cargo bench -p mcamp-tests --bench cost`
//! prices them; docs/performance.md, "Cost per click", explains the model).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::ensure;
use mcamp_store::ports::{Item, Key, Query, Table, TableId, TxWrite, Update};
use mcamp_tests::Backend;
use mcamp_tests::metered::{
    COUPON_ISSUER, FlowRun, Meter, MeteredTable, PAGE, REDIRECT, SURVEY, SURVEY_ANSWERS, Usage, coupon_claims,
    recorded_clicks, survey_answers,
};

/// Events per flow: enough to average, few enough for a quick test.
const EVENTS: usize = 8;

/// A function's calls per event, by action (`"UpdateItem main" -> 1.0`).
fn calls_per_event(run: &FlowRun, function: &str) -> BTreeMap<String, f64> {
    let events = run.events.max(1) as f64;
    let usage = run.by_function.get(function).cloned().unwrap_or_default();
    usage
        .dynamodb_calls
        .iter()
        .chain(&usage.sqs_calls)
        .map(|(k, n)| (k.clone(), *n as f64 / events))
        .collect()
}

fn expect(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_recorded_click_is_one_update_one_put_and_at_most_2_write_units() -> anyhow::Result<()> {
    let run = recorded_clicks(&Backend::embedded(), EVENTS).await?;
    ensure!(run.events == EVENTS as u64, "{run:?}");
    ensure!(
        run.by_function.keys().eq([REDIRECT]),
        "only the redirect function works on a click (no stream consumer in the stack): {:?}",
        run.by_function.keys()
    );
    // The link's counter (it returns the link) and the click event; the campaign comes from
    // the warm function's cache.
    let calls = calls_per_event(&run, REDIRECT);
    ensure!(
        calls == expect(&[("UpdateItem main", 1.0), ("PutItem events", 1.0)]),
        "calls per click: {calls:?}"
    );
    let writes = run.per_event(Usage::total_write_units);
    let reads = run.per_event(Usage::total_read_units);
    ensure!(writes <= 2.0, "write units per click: {writes}");
    ensure!(reads == 0.0, "read units per click: {reads}");
    ensure!(
        run.per_event(|u| u.http_requests as f64) == 1.0 && run.per_event(|u| u.invocations as f64) == 1.0,
        "one HTTP API request, one invocation: {run:?}"
    );
    // Both tables stream: the link's change and the event.
    ensure!(run.per_event(|u| u.total_stream_records() as f64) == 2.0, "{run:?}");
    Ok(())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_coupon_claim_is_two_transactions_three_sqs_requests_and_at_most_18_write_units() -> anyhow::Result<()> {
    let run = coupon_claims(&Backend::embedded(), EVENTS).await?;
    // The page: the claim post, two status polls and the reload; each opens the person
    // (the link, the recipient and the customer, and one batch read; the campaign is cached).
    let page = calls_per_event(&run, PAGE);
    ensure!(
        page == expect(&[
            ("GetItem main", 12.0),
            ("BatchGetItem main", 4.0),
            ("TransactWriteItems main", 1.0),
            ("PutItem events", 1.0),
            ("SendMessage coupon-issue", 1.0),
        ]),
        "page calls per claim: {page:?}"
    );
    // The issuer decides in one transaction; its poller receives and deletes the job.
    let issuer = calls_per_event(&run, COUPON_ISSUER);
    ensure!(
        issuer
            == expect(&[
                ("TransactWriteItems main", 1.0),
                ("ReceiveMessage coupon-issue", 1.0),
                ("DeleteMessage coupon-issue", 1.0),
            ]),
        "issuer calls per claim: {issuer:?}"
    );
    let writes = run.per_event(Usage::total_write_units);
    let reads = run.per_event(Usage::total_read_units);
    let sqs = run.per_event(|u| u.sqs_requests as f64);
    let http = run.per_event(|u| u.http_requests as f64);
    ensure!(writes <= 18.0, "write units per claim: {writes}");
    ensure!(reads <= 16.0, "read units per claim: {reads}");
    ensure!(sqs == 3.0, "SQS requests per claim: {sqs}");
    ensure!(http == 4.0, "HTTP API requests per claim: {http}");
    Ok(())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_survey_answer_is_a_post_and_its_screen_with_at_most_9_5_write_units() -> anyhow::Result<()> {
    let respondents = 3;
    let run = survey_answers(&Backend::embedded(), respondents).await?;
    ensure!(
        run.events == (respondents * SURVEY_ANSWERS.len()) as u64,
        "answers counted: {}",
        run.events
    );
    let survey = calls_per_event(&run, SURVEY);
    let gets = survey.get("GetItem main").copied().unwrap_or_default();
    let tx = survey.get("TransactWriteItems main").copied().unwrap_or_default();
    ensure!(gets <= 8.0, "gets per answer: {survey:?}");
    // One save per answer, and the completing one's reward claim.
    ensure!(
        tx == 9.0 / SURVEY_ANSWERS.len() as f64,
        "transactions per answer: {survey:?}"
    );
    ensure!(
        survey
            .keys()
            .all(|k| k.ends_with(" main") || k.starts_with("SendMessage")),
        "the survey writes its events inside its transactions: {survey:?}"
    );
    let writes = run.per_event(Usage::total_write_units);
    let http = run.per_event(|u| u.http_requests as f64);
    // Per respondent (8 answers): 75 WRU, mostly the saves' transactions (twice the price)
    // and the aggregates they count into.
    ensure!(writes <= 9.5, "write units per answer: {writes}");
    ensure!(http == 2.0, "the post and the screen it leads to: {http}");
    Ok(())
}

fn item(v: serde_json::Value) -> Item {
    v.as_object().cloned().unwrap_or_default()
}

/// The meter itself, against DynamoDB's rules worked by hand.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_meter_prices_calls_by_dynamodb_rules() -> anyhow::Result<()> {
    let backend = Backend::embedded();
    let meter = Arc::new(Meter::default());
    let table = MeteredTable {
        inner: backend.table.clone(),
        meter: meter.clone(),
    };
    meter.now_running("F");
    let usage = |meter: &Meter| meter.usage().remove("F").unwrap_or_default();

    // A 3000-byte item: 3 write units; read back strongly: 1 read unit.
    let big = item(serde_json::json!({"pk": "A", "sk": "B", "body": "x".repeat(2990)}));
    table.put(TableId::Main, big.clone(), None).await?;
    let key = Key::new("A", "B");
    table.get(TableId::Main, &key).await?;
    let u = usage(&meter);
    ensure!(u.write_units.get(&TableId::Main) == Some(&3.0), "{u:?}");
    ensure!(u.read_units.get(&TableId::Main) == Some(&1.0), "{u:?}");
    ensure!(u.stream_records.get(&TableId::Main) == Some(&1), "{u:?}");

    // Shrinking it is charged by the larger, the item before: 3 more.
    meter.reset();
    table
        .update(TableId::Main, &key, Update::new().remove("body"), None)
        .await?;
    ensure!(
        usage(&meter).write_units.get(&TableId::Main) == Some(&3.0),
        "{:?}",
        usage(&meter)
    );

    // Into gsi1 inside a transaction: 2 for the table, 1 for the index.
    meter.reset();
    let indexed = item(serde_json::json!({"pk": "C", "sk": "D", "gsi1pk": "G", "gsi1sk": "1"}));
    table
        .transact(vec![TxWrite::Put {
            table: TableId::Main,
            item: indexed,
            cond: None,
        }])
        .await?;
    let u = usage(&meter);
    ensure!(
        u.write_units.get(&TableId::Main) == Some(&2.0) && u.index_write_units == 1.0,
        "{u:?}"
    );

    // Moving it in the index: a delete and a put there.
    meter.reset();
    table
        .update(
            TableId::Main,
            &Key::new("C", "D"),
            Update::new().set("gsi1pk", "H"),
            None,
        )
        .await?;
    ensure!(usage(&meter).index_write_units == 2.0, "{:?}", usage(&meter));

    // An index query is eventually consistent: half a unit; an empty one still costs it.
    meter.reset();
    table.query(&Query::gsi1(TableId::Main, "H")).await?;
    table.query(&Query::gsi1(TableId::Main, "nothing")).await?;
    ensure!(
        usage(&meter).read_units.get(&TableId::Main) == Some(&1.0),
        "{:?}",
        usage(&meter)
    );

    // A failed condition writes nothing, streams nothing, and still pays.
    meter.reset();
    let refused = table
        .put(
            TableId::Main,
            item(serde_json::json!({"pk": "C", "sk": "D"})),
            Some(mcamp_store::ports::Cond::NotExists),
        )
        .await;
    let u = usage(&meter);
    ensure!(refused.is_err(), "the item exists");
    ensure!(
        u.write_units.get(&TableId::Main) == Some(&1.0) && u.total_stream_records() == 0,
        "{u:?}"
    );
    Ok(())
}
