//! The dependencies every function runs over, built once per Lambda instance (or once by the
//! local gateway for all of them): the data, the job queue, the clock and a campaign cache.

#[cfg(feature = "local")]
pub mod backend;
pub mod lambda;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mcamp_core::events::Event;
use mcamp_core::experiment::BanditCounts;
use mcamp_core::values::CampaignId;
use mcamp_store::campaigns::StoredCampaign;
use mcamp_store::ports::{JobQueue, Table};
use mcamp_store::{Db, DbResult};

/// The current time; tests pin it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// One `EventsLost` count in CloudWatch's embedded metric format: a JSON log line that Lambda's
/// log pipeline turns into a metric, with no API call in the request path.
fn lost_event_metric(kind: &str, now: DateTime<Utc>) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "mcamp",
                // The total (no dimension, which the alarm watches) and per event type.
                "Dimensions": [[], ["Type"]],
                "Metrics": [{"Name": "EventsLost", "Unit": "Count"}],
            }],
        },
        "Type": kind,
        "EventsLost": 1,
    })
    .to_string()
}

/// How long a warm function trusts its cached copy of a campaign by default (a pause takes
/// effect after it).
pub const CAMPAIGN_CACHE: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub queue: Arc<dyn JobQueue>,
    pub clock: Clock,
    campaign_cache: Duration,
    campaigns: Arc<Mutex<HashMap<CampaignId, (Instant, Arc<StoredCampaign>)>>>,
    offer_counts: Arc<Mutex<HashMap<CampaignId, (Instant, Arc<BanditCounts>)>>>,
    events_lost: Arc<AtomicU64>,
}

impl App {
    pub fn new(table: Arc<dyn Table>, queue: Arc<dyn JobQueue>) -> Self {
        App {
            db: Db::new(table),
            queue,
            clock: Arc::new(Utc::now),
            campaign_cache: CAMPAIGN_CACHE,
            campaigns: Arc::new(Mutex::new(HashMap::new())),
            offer_counts: Arc::new(Mutex::new(HashMap::new())),
            events_lost: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Appends an event that must not stand in the person's way (a click, a view): when the
    /// write fails, the person still gets their page, and the loss is never silent. It is
    /// logged, counted here, and published as the CloudWatch metric `mcamp/EventsLost` (in
    /// total and per `Type`) through an embedded-metric-format log line; `EventsLostAlarm`
    /// watches it.
    pub async fn record(&self, event: &Event) {
        if let Err(e) = self.db.append_event(event).await {
            self.lost(event, &e);
        }
    }

    /// `record`, but once per `once` key (`Db::append_event_once`): a repeat records nothing.
    pub async fn record_once(&self, once: &str, event: &Event) {
        if let Err(e) = self.db.append_event_once(once, event).await {
            self.lost(event, &e);
        }
    }

    fn lost(&self, event: &Event, e: &mcamp_store::DbError) {
        self.events_lost.fetch_add(1, Ordering::Relaxed);
        tracing::error!(error = %error_chain(e), event = event.kind(), "event not recorded");
        println!("{}", lost_event_metric(event.kind(), self.now()));
    }

    /// Events this instance could not record (`record`).
    pub fn events_lost(&self) -> u64 {
        self.events_lost.load(Ordering::Relaxed)
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How long a cached campaign is trusted; zero reads it every time.
    pub fn with_campaign_cache(mut self, ttl: Duration) -> Self {
        self.campaign_cache = ttl;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// A campaign, cached in the warm function for the cache's lifetime so the redirect's
    /// critical path does not read it from the table on every click.
    pub async fn campaign(&self, id: &CampaignId) -> DbResult<Option<Arc<StoredCampaign>>> {
        if let Ok(map) = self.campaigns.lock()
            && let Some((at, c)) = map.get(id)
            && at.elapsed() < self.campaign_cache
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

    /// The learning offer's counts of a campaign, cached like the campaign: a person's offer
    /// is picked from counts at most that old (the aggregator's counters, 8 queries to read),
    /// which is how the bandit's posteriors are updated in batches.
    pub async fn offer_counts(&self, id: &CampaignId) -> DbResult<Arc<BanditCounts>> {
        if let Ok(map) = self.offer_counts.lock()
            && let Some((at, c)) = map.get(id)
            && at.elapsed() < self.campaign_cache
        {
            return Ok(c.clone());
        }
        let counts = Arc::new(self.db.offer_counts(id).await?);
        if let Ok(mut map) = self.offer_counts.lock() {
            if map.len() > 1000 {
                map.clear();
            }
            map.insert(id.clone(), (Instant::now(), counts.clone()));
        }
        Ok(counts)
    }
}

pub use mcamp_store::error_text as error_chain;
