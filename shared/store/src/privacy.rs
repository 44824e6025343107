//! Personal data kept only as promised. A campaign promises a retention (`retention_days`
//! after it ends); the purge erases the names, phones, birth years, regions and free-text
//! answers of its recipients when that has passed, and a customer's name and phone when no
//! campaign's promise and no standing marketing consent keeps them. Counts, events (which hold
//! ids, never contact details) and the hashed consent ledger stay. A data subject's request
//! (PIPA §35, §36) reads or erases one customer at once.

use std::collections::HashSet;
use std::pin::pin;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mcamp_core::consent::ConsentEntry;
use mcamp_core::customer::{Customer, CustomerKey};
use mcamp_core::recipient::Recipient;
use mcamp_core::response::Response;
use mcamp_core::survey::Answer;
use mcamp_core::values::{BrandId, CampaignId, RecipientId};
use serde::Serialize;
use serde_json::json;

use crate::customers::CustomerChange;
use crate::ports::{Cond, Key, TableId, Update};
use crate::{Db, DbResult, keys, to_item};

/// What a purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Campaigns whose retention has passed.
    pub campaigns: usize,
    pub recipients_erased: usize,
    pub customers_erased: usize,
    /// Customers whose data a standing marketing consent (or another campaign's promise)
    /// keeps.
    pub customers_kept: usize,
}

/// Everything kept about one person, for a data subject's access request.
#[derive(Debug, Clone, Serialize)]
pub struct PersonalData {
    pub customer: Customer,
    pub consent_ledger: Vec<ConsentEntry>,
    pub recipients: Vec<Recipient>,
    pub survey_responses: Vec<Response>,
}

impl Db {
    /// Erases a recipient's personal data and their free-text survey answers; idempotent.
    pub async fn erase_recipient(&self, id: &RecipientId, now: DateTime<Utc>) -> DbResult<bool> {
        let Some(r) = self.recipient(id).await? else {
            return Ok(false);
        };
        if r.erased_at.is_some() {
            return Ok(false);
        }
        let update = Update::new()
            .remove("name")
            .remove("phone")
            .remove("birth_year")
            .remove("region")
            .set("erased_at", json!(now));
        self.table
            .update(
                TableId::Main,
                &Key::new(keys::recipient(id), keys::SK_PROFILE),
                update,
                Some(Cond::Exists),
            )
            .await?;
        if let Some(mut resp) = self.survey_response(id).await? {
            let before = resp.rev;
            let mut changed = false;
            for answer in resp.answers.values_mut() {
                if matches!(answer, Some(Answer::Text(t)) if !t.is_empty()) {
                    *answer = Some(Answer::Text(String::new()));
                    changed = true;
                }
            }
            if changed {
                resp.rev += 1;
                let item = to_item(&resp, &keys::recipient(id), keys::SK_SURVEY)?;
                // A save racing the erasure wins; the next purge erases what it wrote.
                match self
                    .table
                    .put(TableId::Main, item, Some(Cond::Eq("rev".into(), json!(before))))
                    .await
                {
                    Ok(()) => {}
                    Err(e) if e.is_condition() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(true)
    }

    /// Erases a customer's name and phone (the key, consents and ledger stay); idempotent.
    pub async fn erase_customer(&self, brand: &BrandId, key: &CustomerKey, now: DateTime<Utc>) -> DbResult<bool> {
        match self.customer(brand, key).await? {
            Some(c) if c.erased_at.is_none() => {
                self.change_customer(&CustomerChange {
                    erase: true,
                    ..CustomerChange::new(brand, key, now)
                })
                .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Everything kept about the customer `key` (PIPA §35).
    pub async fn personal_data(&self, brand: &BrandId, key: &CustomerKey) -> DbResult<Option<PersonalData>> {
        let Some(customer) = self.customer(brand, key).await? else {
            return Ok(None);
        };
        let mut recipients = Vec::new();
        let mut survey_responses = Vec::new();
        for m in self.memberships(brand, key).await? {
            if let Some(r) = self.recipient(&m.recipient_id).await? {
                survey_responses.extend(self.survey_response(&r.id).await?);
                recipients.push(r);
            }
        }
        Ok(Some(PersonalData {
            consent_ledger: self.consent_ledger(brand, key).await?,
            customer,
            recipients,
            survey_responses,
        }))
    }

    /// Erases everything personal about the customer `key` in every campaign (PIPA §36).
    /// Returns the recipients erased, or `None` for an unknown customer.
    pub async fn erase_person(
        &self,
        brand: &BrandId,
        key: &CustomerKey,
        now: DateTime<Utc>,
    ) -> DbResult<Option<usize>> {
        if self.customer(brand, key).await?.is_none() {
            return Ok(None);
        }
        let mut erased = 0;
        for m in self.memberships(brand, key).await? {
            erased += usize::from(self.erase_recipient(&m.recipient_id, now).await?);
        }
        self.erase_customer(brand, key, now).await?;
        Ok(Some(erased))
    }

    /// Erases what the retention promises of ended campaigns no longer cover. Safe to run any
    /// number of times: erased records are skipped.
    pub async fn purge(&self, now: DateTime<Utc>) -> DbResult<PurgeReport> {
        let mut report = PurgeReport::default();
        let campaigns = self.campaigns().await?;
        // A campaign keeps its people's data while it runs with no end, and until its end
        // plus its retention.
        let covered: HashSet<CampaignId> = campaigns
            .iter()
            .filter(|s| s.campaign.keep_until().is_none_or(|until| until > now))
            .map(|s| s.campaign.id.clone())
            .collect();
        for stored in &campaigns {
            let c = &stored.campaign;
            if covered.contains(&c.id) {
                continue;
            }
            report.campaigns += 1;
            let mut recipients = pin!(self.recipients(&c.id));
            while let Some(r) = recipients.try_next().await? {
                if r.erased_at.is_none() {
                    report.recipients_erased += usize::from(self.erase_recipient(&r.id, now).await?);
                }
                let Some(key) = &r.customer else {
                    continue;
                };
                let Some(customer) = self.customer(c.brand(), key).await? else {
                    continue;
                };
                if customer.erased_at.is_some() {
                    continue;
                }
                let promised = customer.keep_until.is_some_and(|k| k > now)
                    || self
                        .memberships(c.brand(), key)
                        .await?
                        .iter()
                        .any(|m| covered.contains(&m.campaign_id));
                if promised || customer.standing_consent() {
                    report.customers_kept += 1;
                } else {
                    report.customers_erased += usize::from(self.erase_customer(c.brand(), key, now).await?);
                }
            }
        }
        Ok(report)
    }
}
