//! The aggregator: reads the events table's stream and counts every event once into its
//! campaign's counters, the journey of its person and the top-sharers boards
//! (`mcamp_store::aggregate`), so reports and the console read counters, never the log.
//!
//! In Lambda a batch is one shard's records in order. On an error it reports the first record
//! not applied as the batch's failure (`ReportBatchItemFailures`): the records before it are
//! done, and the stream delivers it and the rest again; a repeat counts nothing. Locally the
//! gateway runs `follow` over the embedded store's change feed.

use std::time::Duration;

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use mcamp_app::{App, error_chain as chain};
use mcamp_store::aggregate::{Record, record_of};
use mcamp_store::ports::{ChangeFeed, ChangeKind, Item, TableId};

/// The record of a stream record, or `None` for one that is not a new event (a `REMOVE` by
/// TTL; the contract has no `MODIFY`).
pub fn stream_record(r: EventRecord) -> Option<Record> {
    if r.event_name != "INSERT" {
        return None;
    }
    let image: Item = match serde_dynamo::from_item(r.change.new_image) {
        Ok(i) => i,
        Err(_) => {
            return Some(Record::Skipped {
                event_id: None,
                campaign: None,
                label: "unreadable".into(),
            });
        }
    };
    Some(record_of(&image))
}

fn log_skipped(records: &[Record]) {
    for r in records {
        if let Record::Skipped { campaign, label, .. } = r {
            // Only the type and version, which name no one.
            tracing::warn!(campaign = campaign.as_ref().map(|c| c.as_str()), %label, "stream record skipped");
        }
    }
}

/// Lambda handler over one batch of the events table's stream.
pub async fn handle(app: &App, event: StreamEvent) -> DynamoDbEventResponse {
    let mut ids = Vec::with_capacity(event.records.len());
    let mut records = Vec::with_capacity(event.records.len());
    for r in event.records {
        let id = r.change.sequence_number.clone();
        if let Some(rec) = stream_record(r) {
            ids.push(id);
            records.push(rec);
        }
    }
    log_skipped(&records);
    let mut response = DynamoDbEventResponse::default();
    match app.db.aggregate(&records, app.now()).await {
        Ok(applied) => {
            tracing::info!(
                counted = applied.counted,
                repeats = applied.repeats,
                skipped = applied.skipped,
                "stream batch aggregated"
            );
        }
        Err(e) => {
            tracing::error!(error = %chain(&e), done = e.done, "stream batch stopped; the rest will be delivered again");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = ids.get(e.done).cloned().flatten();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// How many change records `follow_once` reads at a time.
const FEED_PAGE: usize = 500;
/// The name of the aggregator's cursor in the store.
pub const CURSOR: &str = "aggregator";

/// One step of the local aggregator: applies the events table's changes after its cursor and
/// moves the cursor past what was applied. Returns how many records it read.
pub async fn follow_once(app: &App, feed: &dyn ChangeFeed) -> Result<usize, String> {
    let cursor = app.db.cursor(CURSOR).await.map_err(|e| chain(&e))?;
    let changes = feed
        .changes(TableId::Events, cursor.as_deref(), FEED_PAGE)
        .await
        .map_err(|e| chain(&e))?;
    let Some(last) = changes.last().map(|c| c.sequence.clone()) else {
        return Ok(0);
    };
    let mut seqs = Vec::with_capacity(changes.len());
    let mut records = Vec::with_capacity(changes.len());
    for c in &changes {
        if let (ChangeKind::Insert, Some(image)) = (c.kind, &c.new_image) {
            seqs.push(c.sequence.clone());
            records.push(record_of(image));
        }
    }
    log_skipped(&records);
    match app.db.aggregate(&records, app.now()).await {
        Ok(_) => {
            app.db.set_cursor(CURSOR, &last).await.map_err(|e| chain(&e))?;
            Ok(changes.len())
        }
        Err(e) => {
            // Keep what was applied; the rest is read again next time (and a repeat counts nothing).
            if let Some(done) = e.done.checked_sub(1).and_then(|i| seqs.get(i)) {
                app.db.set_cursor(CURSOR, done).await.map_err(|e| chain(&e))?;
            }
            Err(chain(&e))
        }
    }
}

/// The local aggregator: follows the change feed until the process ends, as the stream's event
/// source mapping does in AWS.
pub async fn follow(app: App, feed: std::sync::Arc<dyn ChangeFeed>, idle: Duration) {
    loop {
        match follow_once(&app, feed.as_ref()).await {
            Ok(0) => tokio::time::sleep(idle).await,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "aggregating the change feed failed; trying again");
                tokio::time::sleep(idle).await;
            }
        }
    }
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_app::lambda::env()
}
