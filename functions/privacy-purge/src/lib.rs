//! The retention purge on a schedule (EventBridge, daily): erases the names, phones and free
//! text that the ended campaigns' retention promises no longer cover
//! (`mcamp_store::privacy`). Locally the gateway runs the same purge hourly, and
//! `mcamp privacy purge` runs it on demand.

use mcamp_app::App;
use mcamp_store::privacy::PurgeReport;

/// The handler: the schedule's event carries nothing the purge needs.
pub async fn handle(app: &App, _event: serde_json::Value) -> Result<PurgeReport, lambda_runtime::Error> {
    match app.db.purge(app.now()).await {
        Ok(report) => {
            tracing::info!(
                campaigns = report.campaigns,
                recipients_erased = report.recipients_erased,
                customers_erased = report.customers_erased,
                customers_kept = report.customers_kept,
                "retention purge done"
            );
            Ok(report)
        }
        Err(e) => {
            // Failing the invocation makes EventBridge's retry policy run it again; a purge
            // is safe to repeat.
            tracing::error!(error = %mcamp_app::error_chain(&e), "retention purge failed");
            Err(Box::new(e))
        }
    }
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_app::lambda::env()
}
