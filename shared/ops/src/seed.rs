//! Seeds a demo folder (`campaign.yaml`, `recipients.csv`) into a store; idempotent, so
//! `make run` can seed on every start and print the same links.

use std::path::Path;

use chrono::{DateTime, Utc};
use mcamp_domain::db::Db;
use mcamp_domain::db::recipients::RecipientSource;
use mcamp_domain::values::{CampaignId, ShortCode};

use crate::{campaign_file, import};

#[derive(Debug)]
pub struct Seeded {
    pub campaign: CampaignId,
    pub title: String,
    /// `(name, masked phone, personal code)` of each imported recipient, by name.
    pub recipients: Vec<(String, String, ShortCode)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Campaign(#[from] campaign_file::CampaignFileError),
    #[error(transparent)]
    Import(#[from] import::ImportError),
    #[error("storage: {0}")]
    Db(#[from] mcamp_domain::db::DbError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

pub async fn seed_dir(db: &Db, dir: &Path, now: DateTime<Utc>) -> Result<Seeded, SeedError> {
    let campaign = campaign_file::load(&dir.join("campaign.yaml"))?;
    let unchanged = db.campaign(&campaign.id).await?.is_some_and(|s| s.campaign == campaign);
    if !unchanged {
        db.push_campaign(&campaign, now).await?;
    }
    let csv_path = dir.join("recipients.csv");
    let file = std::fs::File::open(&csv_path).map_err(|e| SeedError::Io(csv_path.display().to_string(), e))?;
    let report = import::import_recipients(db, &campaign.id, file, now, &|_| {}).await?;
    for r in &report.rejected {
        tracing::warn!(row = r.row, reason = %r.reason, "demo recipient rejected");
    }
    let mut recipients: Vec<(String, String, ShortCode)> = db
        .all_recipients(&campaign.id)
        .await?
        .into_iter()
        .filter(|r| r.source == RecipientSource::Import)
        .map(|r| {
            (
                r.name.clone().unwrap_or_default(),
                r.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
                r.code,
            )
        })
        .collect();
    recipients.sort();
    Ok(Seeded {
        campaign: campaign.id.clone(),
        title: campaign.name.clone(),
        recipients,
    })
}
