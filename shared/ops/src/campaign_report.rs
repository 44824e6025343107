//! A campaign's report for the marketer, read from the aggregator's counters and sharer boards
//! only (`mcamp_core::analytics::report`): the same few reads at 10^3 events as at 10^7.

use mcamp_core::analytics::SharerBoard;
use mcamp_core::analytics::report::{CampaignMeta, CampaignReport};
use mcamp_core::values::CampaignId;
use mcamp_store::{Db, DbError};

/// How many sharers the report names.
pub const TOP_SHARERS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown campaign '{0}' (`mcamp campaign list` shows the campaigns)")]
    UnknownCampaign(CampaignId),
    #[error("storage")]
    Db(#[from] DbError),
}

pub async fn campaign_report(db: &Db, id: &CampaignId) -> Result<CampaignReport, ReportError> {
    let stored = db
        .campaign(id)
        .await?
        .ok_or_else(|| ReportError::UnknownCampaign(id.clone()))?;
    let c = stored.campaign;
    let meta = CampaignMeta {
        campaign_id: c.id.to_string(),
        name: c.name.clone(),
        status: serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        coupons: c
            .coupons
            .iter()
            .map(|d| (d.id.to_string(), d.title.clone(), d.stock))
            .collect(),
    };
    let (counters, boards) = db.campaign_counters(id).await?;
    Ok(CampaignReport::build(
        &meta,
        &counters,
        SharerBoard::merged(boards, TOP_SHARERS),
    ))
}
