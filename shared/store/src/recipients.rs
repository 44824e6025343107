//! Recipients (`RCPT#{id}` / `PROFILE`, listed through GSI1 `CAMP#{c}#R#{shard}`) and their
//! de-duplication keys, one per customer and campaign (`PHONE#{c}#{customer key}` / `PHONE`).

use chrono::{DateTime, Utc};
use futures::stream::{self, Stream};
use mcamp_core::campaign::Campaign;
use mcamp_core::customer::CustomerKey;
use mcamp_core::link::Link;
use mcamp_core::recipient::{NewRecipient, Recipient};
use mcamp_core::values::{CampaignId, RecipientId};
use serde_json::{Value, json};

use crate::mint::with_fresh_code;
use crate::ports::{Cond, Item, Key, Query, StoreError, TableId, TxWrite, Update};
use crate::{Db, DbError, DbResult, from_item, keys, object, to_item};

/// Recipients read per page when listing a campaign.
const PAGE: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum Added {
    Created(Box<Recipient>),
    /// The phone number is already a recipient of this campaign.
    Duplicate(RecipientId),
}

impl Db {
    pub(crate) fn recipient_item(&self, r: &Recipient) -> DbResult<Item> {
        let mut item = to_item(r, &keys::recipient(&r.id), keys::SK_PROFILE)?;
        item.insert(
            "gsi1pk".into(),
            Value::String(keys::recipients_of(&r.campaign_id, keys::shard_of(r.id.as_str()))),
        );
        item.insert("gsi1sk".into(), Value::String(r.id.to_string()));
        Ok(item)
    }

    /// Adds a recipient with a freshly minted personal link, all in one transaction:
    /// the phone key (de-duplication), the link (collision check) and the profile.
    /// Adding the same phone again returns the existing recipient.
    /// `customer` is the phone's customer key (`PhoneKey::customer_key`), which de-duplicates.
    pub async fn add_recipient(
        &self,
        campaign: &Campaign,
        new: NewRecipient,
        customer: Option<CustomerKey>,
        now: DateTime<Utc>,
    ) -> DbResult<Added> {
        let id = RecipientId::generate();
        let phone_key = customer
            .as_ref()
            .map(|k| Key::new(keys::phone(&campaign.id, k), keys::SK_PHONE));
        with_fresh_code(|code| {
            let r = Recipient::imported(id.clone(), campaign.id.clone(), code, &new, customer.clone(), now)
                .in_variant_of(campaign);
            let phone_key = phone_key.clone();
            async move {
                let mut writes = Vec::with_capacity(3);
                if let Some(k) = &phone_key {
                    writes.push(TxWrite::Put {
                        table: TableId::Main,
                        item: object(json!({"pk": k.pk, "sk": k.sk, "recipient_id": r.id})),
                        cond: Some(Cond::NotExists),
                    });
                }
                writes.push(self.put_new(self.link_item(&Link::personal(&r, None))?));
                writes.push(self.put_new(self.recipient_item(&r)?));
                match self.table.transact(writes).await {
                    Ok(()) => Ok(Some(Added::Created(Box::new(r)))),
                    Err(StoreError::TransactionCancelled { reasons }) => match phone_key {
                        Some(k) if reasons.first().is_some_and(Option::is_some) => {
                            Ok(Some(Added::Duplicate(self.recipient_of_phone(&k).await?)))
                        }
                        // The code collided with a live link: mint another.
                        _ => Ok(None),
                    },
                    Err(e) => Err(e.into()),
                }
            }
        })
        .await
    }

    async fn recipient_of_phone(&self, key: &Key) -> DbResult<RecipientId> {
        let item = self
            .table
            .get(TableId::Main, key)
            .await?
            .ok_or(DbError::NotFound("recipient of phone key"))?;
        let id = item.get("recipient_id").and_then(Value::as_str).unwrap_or_default();
        RecipientId::parse(id).map_err(|e| DbError::corrupt(&key.pk, e))
    }

    /// A put of a new item, conditional on its key being free.
    pub(crate) fn put_new(&self, item: Item) -> TxWrite {
        TxWrite::Put {
            table: TableId::Main,
            item,
            cond: Some(Cond::NotExists),
        }
    }

    pub async fn recipient(&self, id: &RecipientId) -> DbResult<Option<Recipient>> {
        let key = Key::new(keys::recipient(id), keys::SK_PROFILE);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
    }

    /// Saves what a recipient told us (form submit, opt-out), inside a transaction: only these
    /// attributes are written, and only set, so a share code, consent or opt-out changed at the
    /// same moment is never overwritten.
    pub(crate) fn profile_update(&self, r: &Recipient) -> DbResult<Update> {
        let mut update = Update::new();
        let v = serde_json::to_value(r).map_err(|e| DbError::corrupt(keys::recipient(&r.id), e))?;
        for attr in [
            "name",
            "phone",
            "gender",
            "birth_year",
            "age_band",
            "region",
            "preferred_store",
            "form_completed_at",
            "opted_out_at",
        ] {
            // Set only: a field the person left empty keeps its value, and an opt-out that lands
            // between a page load and a form save is never undone.
            if let Some(value) = v.get(attr).filter(|v| !v.is_null()) {
                update = update.set(attr, value.clone());
            }
        }
        Ok(update)
    }

    /// Every recipient of a campaign, page by page over all shards: memory stays at one page
    /// whatever the campaign's size.
    pub fn recipients(&self, campaign: &CampaignId) -> impl Stream<Item = DbResult<Recipient>> + '_ {
        struct Cursor {
            shard: u8,
            after: Option<Item>,
            page: std::vec::IntoIter<Recipient>,
        }
        let campaign = campaign.clone();
        let start = Cursor {
            shard: 0,
            after: None,
            page: Vec::new().into_iter(),
        };
        stream::try_unfold(start, move |mut c| {
            let campaign = campaign.clone();
            async move {
                loop {
                    if let Some(r) = c.page.next() {
                        return Ok(Some((r, c)));
                    }
                    if c.shard >= keys::SHARDS {
                        return Ok(None);
                    }
                    let mut q = Query::gsi1(TableId::Main, keys::recipients_of(&campaign, c.shard)).limit(PAGE);
                    q.after = c.after.take();
                    let got = self.table.query(&q).await?;
                    c.page = got
                        .items
                        .into_iter()
                        .map(from_item)
                        .collect::<DbResult<Vec<Recipient>>>()?
                        .into_iter();
                    match got.next {
                        Some(n) => c.after = Some(n),
                        None => c.shard += 1,
                    }
                }
            }
        })
    }
}
