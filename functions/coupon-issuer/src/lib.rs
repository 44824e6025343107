//! The coupon issuer: takes coupon-issue jobs off the queue and decides them
//! (`mcamp_store::issue::issue`). In Lambda it reports partial batch failures; locally the
//! gateway runs `consume` over the same processing.
//!
//! A message that can never succeed (unparseable, unknown version, unknown campaign) is sent
//! to the dead-letter queue at once with its reason logged, and never fails the batch.

use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use futures::future::join_all;
use mcamp_app::{App, error_chain as chain};
use mcamp_core::jobs::CouponIssueJob;
use mcamp_store::issue::{self, IssueError, IssueOutcome};
use mcamp_store::ports::QueueId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    Done(IssueOutcome),
    /// Leave the message for another try.
    Retry(String),
    /// Moved to the dead-letter queue.
    DeadLettered(String),
}

/// Processes one message body.
pub async fn process(app: &App, body: &str) -> Processed {
    let job = match CouponIssueJob::parse(body) {
        Ok(j) => j,
        Err(e) => return dead_letter(app, body, e.to_string()).await,
    };
    let campaign = match app.campaign(&job.campaign_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return dead_letter(app, body, format!("unknown campaign {}", job.campaign_id)).await;
        }
        Err(e) => return Processed::Retry(chain(&e)),
    };
    match issue::issue(&app.db, &campaign.campaign, &job, app.now()).await {
        Ok(outcome) => {
            tracing::info!(claim_id = %job.claim_id, coupon = %job.coupon_id, outcome = ?outcome_name(&outcome), "coupon job done");
            Processed::Done(outcome)
        }
        Err(e @ IssueError::Retry(_)) => {
            let reason = chain(&e);
            tracing::warn!(claim_id = %job.claim_id, %reason, "coupon job will be retried");
            Processed::Retry(reason)
        }
        Err(e @ IssueError::Poison(..)) => dead_letter(app, body, chain(&e)).await,
    }
}

fn outcome_name(o: &IssueOutcome) -> &'static str {
    match o {
        IssueOutcome::Issued(_) => "issued",
        IssueOutcome::AlreadyIssued => "already_issued",
        IssueOutcome::SoldOut => "sold_out",
    }
}

async fn dead_letter(app: &App, body: &str, reason: String) -> Processed {
    // The body is logged only by length: it may carry identifiers, never a phone number.
    tracing::error!(%reason, bytes = body.len(), "coupon job sent to the dead-letter queue");
    match app.queue.send(QueueId::CouponIssueDlq, body.to_owned()).await {
        Ok(_) => Processed::DeadLettered(reason),
        // Could not park it: let SQS redrive it after max receives instead of losing it.
        Err(e) => Processed::Retry(format!("dead-letter send failed: {e}")),
    }
}

/// Lambda handler: records are processed concurrently; those to retry are reported as batch
/// item failures (the event source has `ReportBatchItemFailures`).
pub async fn handle(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let results = join_all(event.records.iter().map(|m| async move {
        let body = m.body.as_deref().unwrap_or("");
        (m.message_id.clone(), process(app, body).await)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, result) in results {
        if let Processed::Retry(_) = result {
            match id {
                Some(id) => response.add_failure(id),
                None => tracing::error!("a message without an id failed; it cannot be reported"),
            }
        }
    }
    response
}

/// Local consumer: one receive of up to 10 messages, each processed and acknowledged (or left
/// to reappear after `retry_delay`). Returns how many messages were received.
pub async fn consume(app: &App, wait: Duration, retry_delay: Duration) -> usize {
    let got = match app
        .queue
        .receive(QueueId::CouponIssue, 10, Duration::from_secs(30), wait)
        .await
    {
        Ok(got) => got,
        Err(e) => {
            tracing::error!(error = %e, "receiving coupon jobs failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
            return 0;
        }
    };
    let n = got.len();
    join_all(got.into_iter().map(|m| async move {
        let result = match process(app, &m.body).await {
            Processed::Retry(_) => {
                app.queue
                    .retry_later(QueueId::CouponIssue, &m.receipt, retry_delay)
                    .await
            }
            Processed::Done(_) | Processed::DeadLettered(_) => app.queue.ack(QueueId::CouponIssue, &m.receipt).await,
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "acknowledging a coupon job failed");
        }
    }))
    .await;
    n
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_app::lambda::env()
}
