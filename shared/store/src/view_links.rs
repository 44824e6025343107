//! Read-only links (`VIEW#{id}` / `VIEW`, listed in GSI1 under `CAMP#{campaign}#VIEWS`). The id
//! is the token's SHA-256; the token itself is never stored. Items expire (TTL) a month after
//! the link does.

use chrono::{DateTime, Utc};
use mcamp_core::values::CampaignId;
use mcamp_core::view_link::ViewLink;
use serde_json::{Value, json};

use crate::ports::{Cond, Key, Query, StoreError, TableId};
use crate::{Db, DbResult, from_item, keys, to_item};

/// Links one campaign lists at most (an admin makes a few, for a few clients).
pub const MAX_LINKS: usize = 100;
/// How long an expired link's item stays, so the console can still say "expired".
const KEPT_DAYS: i64 = 30;

impl Db {
    fn view_link_item(&self, l: &ViewLink) -> DbResult<crate::ports::Item> {
        let mut item = to_item(l, &keys::view_link(&l.id), keys::SK_VIEW_LINK)?;
        item.insert("gsi1pk".into(), Value::String(keys::view_links_of(&l.campaign_id)));
        item.insert(
            "gsi1sk".into(),
            Value::String(format!("{}#{}", l.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"), l.id)),
        );
        item.insert(
            "ttl".into(),
            json!((l.expires_at + chrono::Duration::days(KEPT_DAYS)).timestamp()),
        );
        Ok(item)
    }

    pub async fn add_view_link(&self, l: &ViewLink) -> DbResult<()> {
        self.table
            .put(TableId::Main, self.view_link_item(l)?, Some(Cond::NotExists))
            .await?;
        Ok(())
    }

    /// The link of a presented token.
    pub async fn view_link(&self, token: &str) -> DbResult<Option<ViewLink>> {
        let key = Key::new(keys::view_link(&ViewLink::id_of(token)), keys::SK_VIEW_LINK);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
    }

    /// A campaign's links, oldest first.
    pub async fn view_links(&self, campaign: &CampaignId) -> DbResult<Vec<ViewLink>> {
        self.query_all(Query::gsi1(TableId::Main, keys::view_links_of(campaign)).limit(MAX_LINKS))
            .await
    }

    /// Revokes the campaign's link `id`; false when there is no such link of this campaign.
    pub async fn revoke_view_link(&self, campaign: &CampaignId, id: &str, now: DateTime<Utc>) -> DbResult<bool> {
        let key = Key::new(keys::view_link(id), keys::SK_VIEW_LINK);
        let Some(mut link) = self
            .table
            .get(TableId::Main, &key)
            .await?
            .map(from_item::<ViewLink>)
            .transpose()?
        else {
            return Ok(false);
        };
        if &link.campaign_id != campaign {
            return Ok(false);
        }
        if link.revoked_at.is_none() {
            link.revoked_at = Some(now);
        }
        match self
            .table
            .put(TableId::Main, self.view_link_item(&link)?, Some(Cond::Exists))
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
