//! The acting layer on a schedule (EventBridge, every hour): every live campaign's segments
//! are run, so those their rules select now become members and may claim the segment's coupon
//! (`mcamp_ops::segments`), and its follow-ups, so those due get their step's `send_message`
//! job on the send-message queue (`mcamp_ops::follow_ups`). Locally the gateway runs them every
//! few minutes; `mcamp segments run` and `mcamp follow-ups run` do one on demand. A segment run
//! only adds members and a follow-up reaches a customer once, so runs may overlap or repeat.

use chrono::{DateTime, Utc};
use mcamp_app::App;
use mcamp_env::{EnvError, Var};
use mcamp_ops::follow_ups::{FollowUpRun, RunOptions, run_campaign_follow_ups};
use mcamp_ops::segments::{SegmentError, SegmentRun, run_segment};
use serde::Serialize;

/// What a run needs besides the ports.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the personal links of the follow-ups' messages point (`{base_url}/{code}`).
    pub base_url: String,
}

impl Settings {
    /// `MCAMP_BASE_URL`.
    pub fn from_env() -> Result<Self, EnvError> {
        let base_url = mcamp_env::required("MCAMP_BASE_URL")?;
        if !base_url.starts_with("https://") {
            return Err(EnvError::Malformed("MCAMP_BASE_URL", "must start with https://".into()));
        }
        Ok(Settings {
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }
}

/// What one scheduled run did.
#[derive(Debug, Default, Serialize)]
pub struct ActionsReport {
    pub segments: Vec<SegmentRun>,
    pub follow_ups: Vec<FollowUpRun>,
    /// Segments and follow-ups that failed, by `campaign/id`: the others still ran.
    pub failed: Vec<String>,
}

/// Runs the segments, then the follow-ups, of every campaign that is live at `now`.
pub async fn run_all(app: &App, settings: &Settings, now: DateTime<Utc>) -> Result<ActionsReport, SegmentError> {
    let mut report = ActionsReport::default();
    let opts = RunOptions {
        base_url: settings.base_url.clone(),
        dry_run: false,
    };
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
        let (runs, failed) = run_campaign_follow_ups(&app.db, app.queue.as_ref(), c, now, &opts).await;
        for r in runs {
            tracing::info!(campaign = %c.id, follow_up = %r.follow_up, due = r.due, sent = r.sent, resent = r.resent, skipped = r.skipped.total(), "follow-up run");
            report.follow_ups.push(r);
        }
        for (which, e) in failed {
            tracing::error!(follow_up = %which, error = %mcamp_app::error_chain(&e), "follow-up run failed");
            report.failed.push(which);
        }
    }
    Ok(report)
}

pub async fn handle(
    app: &App,
    settings: &Settings,
    _event: serde_json::Value,
) -> Result<ActionsReport, lambda_runtime::Error> {
    match run_all(app, settings, app.now()).await {
        Ok(r) if r.failed.is_empty() => Ok(r),
        // Reported as a failed invocation, so the error alarm sees it; the next hour retries.
        Ok(r) => Err(format!("segments or follow-ups failed: {}", r.failed.join(", ")).into()),
        Err(e) => {
            tracing::error!(error = %mcamp_app::error_chain(&e), "actions run failed");
            Err(Box::new(e))
        }
    }
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<Var> {
    [mcamp_app::lambda::env(), vec![Var::required("MCAMP_BASE_URL")]].concat()
}
