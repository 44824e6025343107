//! Seeds a demo folder (`campaign.yaml`, `recipients.csv`) into a store; idempotent, so
//! `make run` can seed on every start and print the same links.

use std::path::Path;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mcamp_core::campaign::CampaignKind;
use mcamp_core::coupon::{Store, hash_key};
use mcamp_core::customer::PhoneKey;
use mcamp_core::recipient::{Recipient, RecipientSource};
use mcamp_core::values::{CampaignId, ShortCode, StoreId};
use mcamp_store::{Db, DbError};

use crate::{campaign_file, import};

/// A demo store with its (demo-only) plain key.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoStore {
    id: StoreId,
    name: String,
    demo_key: String,
}

#[derive(Debug)]
pub struct Seeded {
    pub campaign: CampaignId,
    pub title: String,
    /// `(store id, demo key)` of the demo stores.
    pub stores: Vec<(String, String)>,
    /// `(name, masked phone, personal code)` of each imported recipient, by name.
    pub recipients: Vec<(String, String, ShortCode)>,
    /// MCS campaigns: `(store id, store name, permanent store link code)`.
    pub store_links: Vec<(String, String, ShortCode)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Campaign(#[from] campaign_file::CampaignFileError),
    #[error(transparent)]
    Import(#[from] import::ImportError),
    #[error("storage: {0}")]
    Db(#[from] DbError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: {1}")]
    Stores(String, String),
}

pub async fn seed_dir(db: &Db, dir: &Path, phone_key: &PhoneKey, now: DateTime<Utc>) -> Result<Seeded, SeedError> {
    let campaign = campaign_file::load(&dir.join("campaign.yaml"))?;
    // A status set by the marketer (paused) survives re-seeding.
    let mut campaign = campaign;
    let stored = db.campaign(&campaign.id).await?;
    if let Some(s) = &stored {
        campaign.status = s.campaign.status;
    }
    let unchanged = stored.is_some_and(|s| s.campaign == campaign);
    if !unchanged {
        db.push_campaign(&campaign, now).await?;
    }
    // An MCS campaign has no recipient list: its people arrive by scanning store posters.
    let csv_path = dir.join("recipients.csv");
    if csv_path.exists() {
        let file = std::fs::File::open(&csv_path).map_err(|e| SeedError::Io(csv_path.display().to_string(), e))?;
        let report = import::import_recipients(db, &campaign, phone_key, file, now, &|_| {}).await?;
        for r in &report.rejected {
            tracing::warn!(row = r.row, reason = %r.reason, "demo recipient rejected");
        }
    }
    let all: Vec<Recipient> = db.recipients(&campaign.id).try_collect().await?;
    let mut recipients: Vec<(String, String, ShortCode)> = all
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
    let mut stores = Vec::new();
    let mut store_links = Vec::new();
    let stores_path = dir.join("stores.yaml");
    if stores_path.exists() {
        let shown = stores_path.display().to_string();
        let text = std::fs::read_to_string(&stores_path).map_err(|e| SeedError::Io(shown.clone(), e))?;
        let list: Vec<DemoStore> =
            serde_yaml_ng::from_str(&text).map_err(|e| SeedError::Stores(shown.clone(), e.to_string()))?;
        for s in list {
            let hash = hash_key(&s.demo_key);
            // An existing store keeps its key: a demo must never reset a real till's key to a
            // published one. Its demo key is shown only when it is still the one it has.
            match db.store(&s.id).await? {
                Some(existing) if existing.key_hash != hash => {
                    if campaign.kind == CampaignKind::Mcs {
                        let code = db.store_link(&campaign.id, &s.id, now).await?;
                        store_links.push((s.id.to_string(), s.name.clone(), code));
                    }
                    continue;
                }
                Some(_) => {}
                None => {
                    db.put_store(&Store {
                        id: s.id.clone(),
                        name: s.name.clone(),
                        key_hash: hash,
                        created_at: now,
                    })
                    .await?
                }
            }
            if campaign.kind == CampaignKind::Mcs {
                let code = db.store_link(&campaign.id, &s.id, now).await?;
                store_links.push((s.id.to_string(), s.name.clone(), code));
            }
            stores.push((s.id.to_string(), s.demo_key));
        }
    }
    Ok(Seeded {
        campaign: campaign.id.clone(),
        title: campaign.name.clone(),
        recipients,
        stores,
        store_links,
    })
}
