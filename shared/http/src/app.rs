//! The dependencies every handler runs over, built once per Lambda instance (or once by the
//! local gateway for all of them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use mcamp_domain::db::campaigns::StoredCampaign;
use mcamp_domain::db::{Db, DbResult};
use mcamp_domain::ports::{JobQueue, Table};
use mcamp_domain::values::CampaignId;

use crate::config::Config;

/// The current time; tests pin it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub queue: Arc<dyn JobQueue>,
    pub config: Arc<Config>,
    pub clock: Clock,
    campaigns: Arc<Mutex<HashMap<CampaignId, (Instant, Arc<StoredCampaign>)>>>,
}

impl App {
    pub fn new(table: Arc<dyn Table>, queue: Arc<dyn JobQueue>, config: Config) -> Self {
        App {
            db: Db::new(table),
            queue,
            config: Arc::new(config),
            clock: Arc::new(Utc::now),
            campaigns: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// A campaign, cached in the warm function for `config.campaign_cache` so the redirect's
    /// critical path does not read it from the table on every click.
    pub async fn campaign(&self, id: &CampaignId) -> DbResult<Option<Arc<StoredCampaign>>> {
        if let Ok(map) = self.campaigns.lock()
            && let Some((at, c)) = map.get(id)
            && at.elapsed() < self.config.campaign_cache
        {
            return Ok(Some(c.clone()));
        }
        let Some(c) = self.db.campaign(id).await? else {
            return Ok(None);
        };
        let c = Arc::new(c);
        if let Ok(mut map) = self.campaigns.lock() {
            // Bounded: a function serves a handful of campaigns; drop all if it ever grows.
            if map.len() > 1000 {
                map.clear();
            }
            map.insert(id.clone(), (Instant::now(), c.clone()));
        }
        Ok(Some(c))
    }
}
