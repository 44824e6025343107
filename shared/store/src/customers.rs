//! The brand's customers (`CUST#{brand}#{key}` / `CUSTOMER`) and, in the same partition, their
//! consent ledger (`CONSENT#{at}#{seq}`), the recipients that are them (`RCPT#{id}`) and the
//! coupon slots they took (`CLAIM#…`).
//!
//! Every change to a customer is one transaction (`Db::change_customer`): the customer item,
//! conditional on the revision it read, with the ledger entries, the linked recipient's
//! profile and membership, and the events, so the consent state, its evidence and its events
//! never disagree. A concurrent change is retried on a fresh read.

use chrono::{DateTime, Utc};
use mcamp_core::consent::{ConsentChange, ConsentEntry, Source};
use mcamp_core::customer::{Customer, CustomerKey, Suppression};
use mcamp_core::events::{Attribution, Event, EventData};
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{BrandId, CampaignId, PhoneNumber, RecipientId, ShortCode, random_base62};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::mint::with_fresh_code;
use crate::ports::{Cond, Key, Query, StoreError, TableId, TxWrite};
use crate::{Db, DbError, DbResult, from_item, keys, object, to_item};

/// Attempts at a customer change that meets a concurrent one.
const CHANGE_ATTEMPTS: usize = 5;

/// One change to a customer, and what it happens through. Built by the page, the import, the
/// confirmation link, the 080 import and erasure.
#[derive(Debug, Clone)]
pub struct CustomerChange<'a> {
    pub brand: &'a BrandId,
    pub key: &'a CustomerKey,
    /// Contact details to record (a form or an import); `None` keeps what is there.
    pub phone: Option<PhoneNumber>,
    pub name: Option<String>,
    /// The brand's own import knows this phone.
    pub imported: bool,
    pub consents: Vec<ConsentChange>,
    /// When the granted consents were given (the CRM's date for an import).
    pub given_at: DateTime<Utc>,
    /// Suppress ads to this customer for the brand (an opt-out, an 080 unsubscribe).
    pub suppress: Option<Source>,
    /// Keep personal data at least until then (a campaign's retention).
    pub keep_until: Option<DateTime<Utc>>,
    /// The recipient this happens through: linked to the customer, their profile saved (when
    /// `save_profile`), credited in the events.
    pub recipient: Option<&'a Recipient>,
    pub save_profile: bool,
    /// Where it happens: the campaign the events go to (none for an 080 import).
    pub campaign: Option<&'a CampaignId>,
    /// More events of this moment (`form_submitted`, `opted_out`, `consent_confirmed`).
    pub events: Vec<EventData>,
    /// Erase the customer's personal data (name, phone); the key, consents and ledger stay.
    pub erase: bool,
    pub at: DateTime<Utc>,
}

impl<'a> CustomerChange<'a> {
    pub fn new(brand: &'a BrandId, key: &'a CustomerKey, at: DateTime<Utc>) -> Self {
        CustomerChange {
            brand,
            key,
            phone: None,
            name: None,
            imported: false,
            consents: Vec::new(),
            given_at: at,
            suppress: None,
            keep_until: None,
            recipient: None,
            save_profile: false,
            campaign: None,
            events: Vec::new(),
            erase: false,
            at,
        }
    }
}

/// A consent confirmation link: which customer of which brand it confirms, for the events of
/// which campaign, until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    pub brand: BrandId,
    pub customer: CustomerKey,
    pub campaign_id: CampaignId,
    pub expires_at: DateTime<Utc>,
}

/// How long a confirmation link works: the consent-result notice is due within 14 days, and
/// the person may read it late.
pub const CONFIRMATION_DAYS: i64 = 30;

/// A recipient that is a customer, as the customer's partition lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Membership {
    pub campaign_id: CampaignId,
    pub recipient_id: RecipientId,
}

impl Db {
    pub async fn customer(&self, brand: &BrandId, key: &CustomerKey) -> DbResult<Option<Customer>> {
        let k = Key::new(keys::customer(brand, key), keys::SK_CUSTOMER);
        self.table.get(TableId::Main, &k).await?.map(from_item).transpose()
    }

    /// Many customers at once (100 keys a call); missing ones are left out. Repeated keys are
    /// read once (DynamoDB refuses a batch with the same key twice).
    /// `customers`, by key: what a page of recipients looks its customers up in.
    pub async fn customers_by_key(
        &self,
        brand: &BrandId,
        wanted: &[CustomerKey],
    ) -> DbResult<std::collections::HashMap<CustomerKey, Customer>> {
        Ok(self
            .customers(brand, wanted)
            .await?
            .into_iter()
            .map(|c| (c.key.clone(), c))
            .collect())
    }

    pub async fn customers(&self, brand: &BrandId, wanted: &[CustomerKey]) -> DbResult<Vec<Customer>> {
        let mut unique: Vec<&CustomerKey> = wanted.iter().collect();
        unique.sort();
        unique.dedup();
        let mut out = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(100) {
            let ks: Vec<Key> = chunk
                .iter()
                .map(|k| Key::new(keys::customer(brand, k), keys::SK_CUSTOMER))
                .collect();
            for item in self.table.get_many(TableId::Main, &ks).await? {
                out.push(from_item(item)?);
            }
        }
        Ok(out)
    }

    /// Applies `c` in one transaction and returns the customer as it is afterwards.
    pub async fn change_customer(&self, c: &CustomerChange<'_>) -> DbResult<Customer> {
        let pk = keys::customer(c.brand, c.key);
        for _ in 0..CHANGE_ATTEMPTS {
            let current = self.customer(c.brand, c.key).await?;
            let is_new = current.is_none();
            let mut customer =
                current.unwrap_or_else(|| Customer::new(c.brand.clone(), c.key.clone(), c.phone.clone(), c.at));
            let writes = self.customer_writes(&mut customer, c, is_new)?;
            match self.table.transact(writes).await {
                Ok(()) => return Ok(customer),
                // Someone changed the customer meanwhile: read again and redo.
                Err(StoreError::TransactionCancelled { reasons }) if reasons.first().is_some_and(Option::is_some) => {
                    continue;
                }
                Err(StoreError::Throttled(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DbError::Store(StoreError::Throttled(format!(
            "customer {pk} kept changing"
        ))))
    }

    fn customer_writes(&self, customer: &mut Customer, c: &CustomerChange<'_>, is_new: bool) -> DbResult<Vec<TxWrite>> {
        let pk = keys::customer(c.brand, c.key);
        let old_rev = customer.rev;
        if c.phone.is_some() {
            // Given again (a form, an import): personal data anew, under a new consent.
            customer.phone.clone_from(&c.phone);
            customer.erased_at = None;
        }
        if let Some(name) = &c.name {
            customer.name = Some(name.clone());
        }
        if c.erase {
            customer.phone = None;
            customer.name = None;
            customer.erased_at = Some(c.at);
        }
        customer.imported |= c.imported;
        if let Some(until) = c.keep_until {
            customer.keep_until = Some(customer.keep_until.map_or(until, |k| k.max(until)));
        }
        let attribution = c.recipient.map(Attribution::from).unwrap_or_default();
        let event = |data: EventData| {
            c.campaign
                .map(|campaign| Event::new(campaign.clone(), c.at, data).by(attribution.clone()))
        };
        let mut ledger: Vec<ConsentEntry> = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        for change in &c.consents {
            *customer.consents.slot(change.purpose) = if change.granted && change.source == Source::ConfirmLink {
                // A confirmation keeps when and how the consent was given.
                customer.consents.get(change.purpose).cloned().map(|mut s| {
                    s.confirmed_at = Some(c.at);
                    s
                })
            } else {
                change.state(c.given_at)
            };
            ledger.push(change.entry(c.campaign.cloned(), c.recipient.map(|r| r.id.clone()), c.at));
            events.extend(event(change.event()));
        }
        // A refusal while ads are allowed (never refused, or re-consented since) suppresses
        // anew, from now.
        if let Some(how) = c.suppress
            && !customer.is_suppressed()
        {
            customer.suppressed = Some(Suppression { at: c.at, how });
            events.extend(event(EventData::Suppressed { channel: how }));
        }
        for data in &c.events {
            events.extend(event(data.clone()));
        }
        customer.updated_at = c.at;
        customer.rev = old_rev + 1;

        let cond = if is_new {
            Cond::NotExists
        } else {
            Cond::Eq("rev".into(), Value::from(old_rev))
        };
        let mut writes = vec![TxWrite::Put {
            table: TableId::Main,
            item: to_item(customer, &pk, keys::SK_CUSTOMER)?,
            cond: Some(cond),
        }];
        for (i, entry) in ledger.iter().enumerate() {
            // A sequence per entry keeps two entries of one moment apart and in order.
            let seq = format!("{i}{}", random_base62(5));
            writes.push(self.put_new(to_item(entry, &pk, &keys::consent_sk(c.at.timestamp_micros(), &seq))?));
        }
        if let Some(r) = c.recipient {
            writes.push(TxWrite::Put {
                table: TableId::Main,
                item: object(json!({
                    "pk": pk, "sk": keys::customer_recipient_sk(&r.id),
                    "campaign_id": r.campaign_id, "recipient_id": r.id, "at": c.at,
                })),
                cond: None,
            });
            let mut linked = r.clone();
            linked.customer = Some(c.key.clone());
            let update = if c.save_profile {
                self.profile_update(&linked)?
            } else {
                crate::ports::Update::new()
            }
            .set("customer", c.key.as_str());
            writes.push(TxWrite::Update {
                table: TableId::Main,
                key: Key::new(keys::recipient(&r.id), keys::SK_PROFILE),
                update,
                cond: Some(Cond::Exists),
            });
        }
        for e in &events {
            writes.push(TxWrite::Put {
                table: TableId::Events,
                item: self.event_item(e)?,
                cond: None,
            });
        }
        Ok(writes)
    }

    /// A new confirmation link's code for `key` (a random code: unguessable, and bound to the
    /// customer by the stored item, so no secret is shared with the CLI that mints it).
    pub async fn mint_confirmation(
        &self,
        brand: &BrandId,
        key: &CustomerKey,
        campaign: &CampaignId,
        now: DateTime<Utc>,
    ) -> DbResult<ShortCode> {
        let c = Confirmation {
            brand: brand.clone(),
            customer: key.clone(),
            campaign_id: campaign.clone(),
            expires_at: now + chrono::Duration::days(CONFIRMATION_DAYS),
        };
        with_fresh_code(|code| {
            let c = c.clone();
            async move {
                let mut item = to_item(&c, &keys::confirmation(&code), keys::SK_CONFIRM)?;
                item.insert("ttl".into(), Value::from(c.expires_at.timestamp()));
                match self.table.put(TableId::Main, item, Some(Cond::NotExists)).await {
                    Ok(()) => Ok(Some(code)),
                    Err(e) if e.is_condition() => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        })
        .await
    }

    /// The confirmation behind a code, if it exists and has not expired.
    pub async fn confirmation(&self, code: &ShortCode, now: DateTime<Utc>) -> DbResult<Option<Confirmation>> {
        let k = Key::new(keys::confirmation(code), keys::SK_CONFIRM);
        let found: Option<Confirmation> = self.table.get(TableId::Main, &k).await?.map(from_item).transpose()?;
        Ok(found.filter(|c| c.expires_at > now))
    }

    /// How many slots of a coupon the customer holds in a campaign, whichever of their
    /// recipients claimed them.
    pub async fn customer_claims(
        &self,
        brand: &BrandId,
        key: &CustomerKey,
        campaign: &CampaignId,
        coupon: &mcamp_core::values::CouponId,
    ) -> DbResult<usize> {
        let q = Query::partition(TableId::Main, keys::customer(brand, key))
            .prefix(keys::customer_claims_prefix(campaign, coupon));
        Ok(self.query_all::<Value>(q).await?.len())
    }

    /// The consent ledger of a customer, oldest first.
    pub async fn consent_ledger(&self, brand: &BrandId, key: &CustomerKey) -> DbResult<Vec<ConsentEntry>> {
        self.query_all(Query::partition(TableId::Main, keys::customer(brand, key)).prefix(keys::CONSENT_PREFIX))
            .await
    }

    /// The recipients that are this customer, in every campaign of the brand.
    pub async fn memberships(&self, brand: &BrandId, key: &CustomerKey) -> DbResult<Vec<Membership>> {
        self.query_all(
            Query::partition(TableId::Main, keys::customer(brand, key)).prefix(keys::CUSTOMER_RECIPIENT_PREFIX),
        )
        .await
    }
}
