//! Stores: the store item with its hashed redeem key (`STORE#{id}` / `STORE`), and in an MCS
//! campaign each store's permanent poster link (`CAMP#{c}` / `STORELINK#{store}`, pointing at a
//! `LINK#` of kind `store`) and the visitors its scans mint.

use chrono::{DateTime, Utc};
use mcamp_core::campaign::Campaign;
use mcamp_core::coupon::Store;
use mcamp_core::link::Link;
use mcamp_core::recipient::Recipient;
use mcamp_core::survey_report as names;
use mcamp_core::time::kst_week;
use mcamp_core::values::{CampaignId, RecipientId, ShortCode, StoreId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::mint::with_fresh_code;
use crate::ports::{Item, Key, Query, StoreError, TableId, TxWrite, Update};
use crate::shares::NetworkWindow;
use crate::{Db, DbError, DbResult, from_item, keys, object, to_item};

impl Db {
    pub async fn put_store(&self, s: &Store) -> DbResult<()> {
        self.table
            .put(TableId::Main, to_item(s, &keys::store(&s.id), keys::SK_STORE)?, None)
            .await?;
        Ok(())
    }

    pub async fn store(&self, id: &StoreId) -> DbResult<Option<Store>> {
        let key = Key::new(keys::store(id), keys::SK_STORE);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
    }

    /// The names of stores, by id, in reads of 100 (a report names its stores in one or two
    /// round trips, not one each). Unknown stores are absent.
    pub async fn store_names(&self, ids: &[StoreId]) -> DbResult<std::collections::BTreeMap<String, String>> {
        let mut out = std::collections::BTreeMap::new();
        for chunk in ids.chunks(100) {
            let wanted: Vec<Key> = chunk
                .iter()
                .map(|id| Key::new(keys::store(id), keys::SK_STORE))
                .collect();
            for item in self.table.get_many(TableId::Main, &wanted).await? {
                let s: Store = from_item(item)?;
                out.insert(s.id.to_string(), s.name);
            }
        }
        Ok(out)
    }

    /// The store's permanent MCS link in a campaign, minted once (idempotent under concurrency).
    pub async fn store_link(&self, c: &CampaignId, store: &StoreId, now: DateTime<Utc>) -> DbResult<ShortCode> {
        let key = Key::new(keys::campaign(c), keys::store_link_sk(store));
        let existing = |item: Option<Item>| {
            item.and_then(|i| {
                i.get("code")
                    .and_then(Value::as_str)
                    .and_then(|c| ShortCode::parse(c).ok())
            })
        };
        if let Some(code) = existing(self.table.get(TableId::Main, &key).await?) {
            return Ok(code);
        }
        with_fresh_code(|code| {
            let key = key.clone();
            async move {
                let pointer = object(json!({
                    "pk": key.pk, "sk": key.sk, "code": code, "store_id": store, "created_at": now
                }));
                let link = Link::store(c.clone(), store.clone(), code.clone(), now);
                let writes = vec![self.put_new(pointer), self.put_new(self.link_item(&link)?)];
                match self.table.transact(writes).await {
                    Ok(()) => Ok(Some(code)),
                    Err(StoreError::TransactionCancelled { reasons })
                        if reasons.first().is_some_and(Option::is_some) =>
                    {
                        // Minted meanwhile by someone else: theirs stands.
                        existing(self.table.get(TableId::Main, &key).await?)
                            .ok_or(DbError::NotFound("store link"))
                            .map(Some)
                    }
                    Err(StoreError::TransactionCancelled { .. }) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        })
        .await
    }

    /// A customer who scanned a store's poster: a new anonymous recipient with their own
    /// personal link, and the scan counted in the store's week, in one transaction.
    pub async fn add_store_visitor(
        &self,
        link: &Link,
        campaign: &Campaign,
        network: Option<NetworkWindow>,
        now: DateTime<Utc>,
    ) -> DbResult<Recipient> {
        let store = link.store_id.clone().ok_or(DbError::NotFound("store of the link"))?;
        let id = RecipientId::generate();
        let scope = keys::store_week_scope(&store, &kst_week(now));
        let scan = TxWrite::Update {
            table: TableId::Main,
            key: Key::new(
                keys::aggregates(&link.campaign_id, keys::shard_of(store.as_str())),
                keys::progress_sk(&scope),
            ),
            update: Update::new().add(names::SCANS, 1),
            cond: None,
        };
        let mut extra = vec![(scan, None)];
        extra.extend(network.map(|n| self.network_slot(&link.campaign_id, n, now)));
        self.mint_visitor(
            |code| {
                Recipient::store_visitor(store.clone(), id.clone(), link.campaign_id.clone(), code, now)
                    .in_variant_of(campaign)
            },
            Some(store.clone()),
            extra,
        )
        .await
    }

    /// Every store link of a campaign: `(store, code)`.
    pub async fn store_links(&self, c: &CampaignId) -> DbResult<Vec<(StoreId, ShortCode)>> {
        #[derive(Deserialize)]
        struct Pointer {
            store_id: StoreId,
            code: ShortCode,
        }
        let q = Query::partition(TableId::Main, keys::campaign(c)).prefix(keys::STORE_LINK_PREFIX);
        let list: Vec<Pointer> = self.query_all(q).await?;
        Ok(list.into_iter().map(|p| (p.store_id, p.code)).collect())
    }
}
