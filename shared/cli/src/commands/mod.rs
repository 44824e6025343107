//! One module per command group; each parses its arguments into domain values, calls the
//! shared operations in `mcamp_ops`, and prints.

pub mod campaign;
pub mod events;
pub mod follow_ups;
pub mod jobs;
pub mod links;
pub mod privacy;
pub mod qr;
pub mod recipients;
pub mod report;
pub mod segments;
pub mod sends;
pub mod stores;
pub mod survey;
pub mod users;

use mcamp_core::values::CampaignId;
use mcamp_store::Db;
use mcamp_store::campaigns::StoredCampaign;

use crate::failure::Failure;

/// Who runs the command, for the audit log: `cli:{OS user}`.
pub fn actor() -> String {
    let who = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{who}")
}

pub fn campaign_id(s: &str) -> Result<CampaignId, Failure> {
    Ok(CampaignId::parse(s)?)
}

pub fn unknown_campaign(id: &CampaignId) -> Failure {
    Failure::user(format!(
        "unknown campaign '{id}' (`mcamp campaign list` shows the campaigns)"
    ))
}

/// The stored campaign, or the user's error naming it.
pub async fn stored_campaign(db: &Db, id: &CampaignId) -> Result<StoredCampaign, Failure> {
    db.campaign(id).await?.ok_or_else(|| unknown_campaign(id))
}
