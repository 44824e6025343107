//! The acting layer on a schedule (EventBridge, every hour): every live campaign's segments
//! are run, so those their rules select now become members and may claim the segment's coupon
//! (`mcamp_ops::segments`). Locally the gateway runs them every few minutes; `mcamp segments
//! run` does one on demand. A run only adds members, so runs may overlap or repeat.

use chrono::{DateTime, Utc};
use mcamp_app::App;
use mcamp_ops::segments::{SegmentError, SegmentRun, run_segment};
use serde::Serialize;

/// What one scheduled run did.
#[derive(Debug, Default, Serialize)]
pub struct ActionsReport {
    pub segments: Vec<SegmentRun>,
    /// Segments that failed, by `campaign/segment`: the others still ran.
    pub failed: Vec<String>,
}

/// Runs the segments of every campaign that is live at `now`.
pub async fn run_all(app: &App, now: DateTime<Utc>) -> Result<ActionsReport, SegmentError> {
    let mut report = ActionsReport::default();
    for stored in app.db.campaigns().await? {
        let c = &stored.campaign;
        if !c.is_live(now) {
            continue;
        }
        for seg in &c.segments {
            match run_segment(&app.db, &c.id, &seg.id, now, false).await {
                Ok(r) => {
                    tracing::info!(campaign = %c.id, segment = %seg.id, matched = r.matched, added = r.added, "segment run");
                    report.segments.push(r);
                }
                Err(e) => {
                    tracing::error!(campaign = %c.id, segment = %seg.id, error = %mcamp_app::error_chain(&e), "segment run failed");
                    report.failed.push(format!("{}/{}", c.id, seg.id));
                }
            }
        }
    }
    Ok(report)
}

pub async fn handle(app: &App, _event: serde_json::Value) -> Result<ActionsReport, lambda_runtime::Error> {
    match run_all(app, app.now()).await {
        Ok(r) if r.failed.is_empty() => Ok(r),
        // Reported as a failed invocation, so the error alarm sees it; the next hour retries.
        Ok(r) => Err(format!("segments failed: {}", r.failed.join(", ")).into()),
        Err(e) => {
            tracing::error!(error = %mcamp_app::error_chain(&e), "actions run failed");
            Err(Box::new(e))
        }
    }
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_app::lambda::env()
}
