//! The claim sweeper on a schedule (EventBridge, every 5 minutes): a claim whose job was lost
//! (a failed send, a dead-lettered job moved back) gets it again, so no claim stays pending
//! (`mcamp_store::claims::sweep`). Locally the gateway sweeps every 30 s, and `mcamp jobs
//! sweep` does it on demand.

use mcamp_app::App;
use mcamp_store::claims::{self, SweepReport};

/// Most claims one run sends again; the next run takes the rest.
pub const LIMIT: usize = 5_000;

pub async fn handle(app: &App, _event: serde_json::Value) -> Result<SweepReport, lambda_runtime::Error> {
    match claims::sweep(&app.db, app.queue.as_ref(), app.now(), LIMIT).await {
        Ok(report) => {
            tracing::info!(stale = report.stale, resent = report.resent, "claim sweep done");
            Ok(report)
        }
        Err(e) => {
            tracing::error!(error = %mcamp_app::error_chain(&e), "claim sweep failed");
            Err(Box::new(e))
        }
    }
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_app::lambda::env()
}
