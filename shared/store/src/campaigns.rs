//! Campaigns: `CAMP#{id}` / `META`, listed through GSI1 `CAMPAIGNS`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use mcamp_core::campaign::{Campaign, CampaignStatus};
use mcamp_core::values::CampaignId;

use crate::ports::{Cond, Item, Key, Query, TableId, TxWrite, Update};
use crate::{Db, DbError, DbResult, keys, object};

/// A stored campaign and its revision (raised by every push).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCampaign {
    pub campaign: Campaign,
    pub revision: i64,
    pub updated_at: DateTime<Utc>,
}

impl Db {
    /// Creates or replaces a campaign and its coupon stock counters in one transaction, so a
    /// push never half-applies. Stock counters keep their `issued` count across pushes.
    pub async fn push_campaign(&self, c: &Campaign, now: DateTime<Utc>) -> DbResult<i64> {
        let key = Key::new(keys::campaign(&c.id), keys::SK_META);
        let current = self.table.get(TableId::Main, &key).await?;
        let revision = current
            .as_ref()
            .and_then(|i| i.get("revision"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        let def = serde_json::to_value(c).map_err(|e| DbError::corrupt(&key.pk, e))?;
        let item = object(json!({
            "pk": key.pk, "sk": key.sk, "def": def, "status": c.status, "revision": revision,
            "updated_at": now, "gsi1pk": keys::CAMPAIGN_LIST, "gsi1sk": c.id.as_str(),
        }));
        // Optimistic concurrency: two pushes at once cannot both win.
        let cond = match current {
            None => Cond::NotExists,
            Some(_) => Cond::Eq("revision".into(), Value::from(revision - 1)),
        };
        let mut writes = vec![TxWrite::Put {
            table: TableId::Main,
            item,
            cond: Some(cond),
        }];
        for coupon in &c.coupons {
            let (pk, sk) = keys::coupon_stock(&c.id, &coupon.id);
            writes.push(TxWrite::Update {
                table: TableId::Main,
                key: Key::new(pk, sk),
                update: Update::new().set("stock", coupon.stock).set_if_missing("issued", 0),
                cond: None,
            });
        }
        self.table.transact(writes).await?;
        Ok(revision)
    }

    pub async fn campaign(&self, id: &CampaignId) -> DbResult<Option<StoredCampaign>> {
        let key = Key::new(keys::campaign(id), keys::SK_META);
        self.table
            .get(TableId::Main, &key)
            .await?
            .map(read_campaign)
            .transpose()
    }

    pub async fn campaigns(&self) -> DbResult<Vec<StoredCampaign>> {
        let items: Vec<Item> = self.query_all(Query::gsi1(TableId::Main, keys::CAMPAIGN_LIST)).await?;
        items.into_iter().map(read_campaign).collect()
    }

    /// Pauses, resumes or ends a campaign; takes effect on the next uncached read.
    pub async fn set_campaign_status(
        &self,
        id: &CampaignId,
        status: CampaignStatus,
        now: DateTime<Utc>,
    ) -> DbResult<()> {
        let key = Key::new(keys::campaign(id), keys::SK_META);
        let r = self
            .table
            .update(
                TableId::Main,
                &key,
                Update::new().set("status", json!(status)).set("updated_at", json!(now)),
                Some(Cond::Exists),
            )
            .await;
        match r {
            Err(e) if e.is_condition() => Err(DbError::NotFound("campaign")),
            other => other.map(|_| ()).map_err(DbError::from),
        }
    }
}

fn read_campaign(item: Item) -> DbResult<StoredCampaign> {
    let key = item.get("pk").and_then(Value::as_str).unwrap_or("?").to_owned();
    let def = item
        .get("def")
        .cloned()
        .ok_or_else(|| DbError::corrupt(&key, "no def"))?;
    let mut campaign: Campaign = serde_json::from_value(def).map_err(|e| DbError::corrupt(&key, e))?;
    if let Some(s) = item.get("status") {
        campaign.status = serde_json::from_value(s.clone()).map_err(|e| DbError::corrupt(&key, e))?;
    }
    let revision = item.get("revision").and_then(Value::as_i64).unwrap_or(0);
    let updated_at = item
        .get("updated_at")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| DbError::corrupt(&key, e))?
        .unwrap_or_default();
    Ok(StoredCampaign {
        campaign,
        revision,
        updated_at,
    })
}
