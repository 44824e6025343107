//! Recipients (`RCPT#{id}` / `PROFILE`), their phone de-duplication keys, share chains
//! (`REF#{sharer}` / `{visitor}`) and the consent ledger (`RCPT#{id}` / `CONSENT#…`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::links::{Link, LinkKind};
use super::{Db, DbError, DbResult, from_item, keys, to_item};
use crate::ports::{Cond, Key, Query, StoreError, TableId, TxWrite, Update};
use crate::values::{
    AgeBand, BirthYear, CampaignId, Gender, PhoneNumber, RecipientId, ShortCode, StoreId, random_base62,
};

/// Longest share chain kept on a recipient: the head and the nearest 31 sharers.
pub const MAX_CHAIN: usize = 32;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientSource {
    /// Imported by the marketer (CSV or campaign file).
    #[default]
    Import,
    /// Arrived through someone's share link.
    Share,
    /// Scanned a store's MCS poster.
    Store,
}

/// When each consent was given; `None` when not given or withdrawn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Consents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing_at: Option<DateTime<Utc>>,
    /// Consent to ads between 21:00 and 08:00 KST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub night_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub id: RecipientId,
    pub campaign_id: CampaignId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<BirthYear>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_band: Option<AgeBand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_store: Option<StoreId>,
    /// The personal short link.
    pub code: ShortCode,
    /// This recipient's own share link, minted on their first share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_code: Option<ShortCode>,
    /// Who shared the link this recipient arrived through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_id: Option<RecipientId>,
    /// Everyone up the share chain, head first, nearest last (at most `MAX_CHAIN`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<RecipientId>,
    /// Flattened, so each consent is a top-level attribute that one update can set or remove.
    #[serde(flatten)]
    pub consent: Consents,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub source: RecipientSource,
}

impl Recipient {
    /// A new recipient who has told us nothing yet, with their personal link `code`.
    pub fn new(
        id: RecipientId,
        campaign_id: CampaignId,
        code: ShortCode,
        source: RecipientSource,
        now: DateTime<Utc>,
    ) -> Self {
        Recipient {
            id,
            campaign_id,
            name: None,
            phone: None,
            gender: None,
            birth_year: None,
            age_band: None,
            region: None,
            preferred_store: None,
            code,
            share_code: None,
            referrer_id: None,
            chain: Vec::new(),
            consent: Consents::default(),
            opted_out_at: None,
            form_completed_at: None,
            survey_completed_at: None,
            created_at: now,
            source,
        }
    }

    /// The first recipient of the chain that brought this one; themself when they came directly.
    pub fn chain_head(&self) -> RecipientId {
        self.chain.first().cloned().unwrap_or_else(|| self.id.clone())
    }
}

/// What the marketer (or a form) knows about a new recipient.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRecipient {
    pub name: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub gender: Option<Gender>,
    pub birth_year: Option<BirthYear>,
    pub age_band: Option<AgeBand>,
    pub region: Option<String>,
    pub consent: Consents,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Added {
    Created(Box<Recipient>),
    /// The phone number is already a recipient of this campaign.
    Duplicate(RecipientId),
}

/// One entry of the consent ledger: append-only, never rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentEntry {
    pub recipient_id: RecipientId,
    /// `privacy`, `marketing` or `night`.
    pub purpose: String,
    pub granted: bool,
    pub wording_version: String,
    /// `form`, `import`, `opt_out_link`, …
    pub channel: String,
    pub at: DateTime<Utc>,
}

/// The phone as a key part: SHA-256 of campaign and number, so no number is ever a key.
pub fn phone_hash(c: &CampaignId, p: &PhoneNumber) -> String {
    let mut h = Sha256::new();
    h.update(c.as_str().as_bytes());
    h.update(b"|");
    h.update(p.as_str().as_bytes());
    hex::encode(&h.finalize()[..16])
}

const MINT_ATTEMPTS: usize = 5;

impl Db {
    pub(crate) fn recipient_item(&self, r: &Recipient) -> DbResult<crate::ports::Item> {
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
    pub async fn add_recipient(&self, campaign: &CampaignId, new: NewRecipient, now: DateTime<Utc>) -> DbResult<Added> {
        let id = RecipientId::generate();
        for _ in 0..MINT_ATTEMPTS {
            let code = ShortCode::generate();
            let r = Recipient {
                name: new.name.clone(),
                phone: new.phone.clone(),
                gender: new.gender,
                birth_year: new.birth_year,
                age_band: new.age_band,
                region: new.region.clone(),
                consent: new.consent.clone(),
                ..Recipient::new(id.clone(), campaign.clone(), code.clone(), RecipientSource::Import, now)
            };
            let link = Link {
                code: code.clone(),
                campaign_id: campaign.clone(),
                recipient_id: Some(id.clone()),
                store_id: None,
                kind: LinkKind::Personal,
                referrer_id: None,
                chain_head: None,
                created_at: now,
                clicks: 0,
            };
            let mut writes = Vec::with_capacity(3);
            let phone_key = new
                .phone
                .as_ref()
                .map(|p| keys::phone(campaign, &phone_hash(campaign, p)));
            if let Some(pk) = &phone_key {
                let Value::Object(item) = json!({"pk": pk, "sk": "PHONE", "recipient_id": id}) else {
                    continue;
                };
                writes.push(TxWrite::Put {
                    table: TableId::Main,
                    item,
                    cond: Some(Cond::NotExists),
                });
            }
            writes.push(TxWrite::Put {
                table: TableId::Main,
                item: self.link_item(&link)?,
                cond: Some(Cond::NotExists),
            });
            writes.push(TxWrite::Put {
                table: TableId::Main,
                item: self.recipient_item(&r)?,
                cond: Some(Cond::NotExists),
            });
            match self.table.transact(writes).await {
                Ok(()) => return Ok(Added::Created(Box::new(r))),
                Err(StoreError::TransactionCancelled { reasons }) => {
                    if phone_key.is_some() && reasons.first().is_some_and(Option::is_some) {
                        let existing = self
                            .table
                            .get(TableId::Main, &Key::new(phone_key.unwrap_or_default(), "PHONE"))
                            .await?;
                        let rid =
                            existing.and_then(|i| i.get("recipient_id").and_then(Value::as_str).map(str::to_owned));
                        let rid = rid.ok_or(DbError::NotFound("recipient of phone key"))?;
                        return RecipientId::parse(&rid)
                            .map(Added::Duplicate)
                            .map_err(|e| DbError::Corrupt {
                                key: "PHONE".into(),
                                reason: e.to_string(),
                            });
                    }
                    // The code collided with a live link: mint another.
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(DbError::Store(StoreError::Backend(
            "could not mint a unique code".into(),
        )))
    }

    pub async fn recipient(&self, id: &RecipientId) -> DbResult<Option<Recipient>> {
        let key = Key::new(keys::recipient(id), keys::SK_PROFILE);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
    }

    /// Saves what a recipient told us (form submit, opt-out): only these attributes are
    /// written, and only set, so a share code, consent or opt-out changed at the same moment is
    /// never overwritten.
    pub async fn save_profile(&self, r: &Recipient) -> DbResult<()> {
        let key = Key::new(keys::recipient(&r.id), keys::SK_PROFILE);
        let mut update = Update::new();
        let v = serde_json::to_value(r).map_err(|e| DbError::Corrupt {
            key: key.pk.clone(),
            reason: e.to_string(),
        })?;
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
        self.table
            .update(TableId::Main, &key, update, Some(Cond::Exists))
            .await?;
        Ok(())
    }

    /// A page of a campaign's recipients from one shard (0..`keys::SHARDS`).
    pub async fn recipients_page(
        &self,
        campaign: &CampaignId,
        shard: u8,
        after: Option<crate::ports::Item>,
        limit: usize,
    ) -> DbResult<(Vec<Recipient>, Option<crate::ports::Item>)> {
        let mut q = Query::gsi1(TableId::Main, keys::recipients_of(campaign, shard)).limit(limit);
        q.after = after;
        let page = self.table.query(&q).await?;
        let rs = page
            .items
            .into_iter()
            .map(from_item)
            .collect::<DbResult<Vec<Recipient>>>()?;
        Ok((rs, page.next))
    }

    /// Every recipient of a campaign (all shards). For exports, read shard by shard instead.
    pub async fn all_recipients(&self, campaign: &CampaignId) -> DbResult<Vec<Recipient>> {
        let mut out = Vec::new();
        for shard in 0..keys::SHARDS {
            let mut after = None;
            loop {
                let (rs, next) = self.recipients_page(campaign, shard, after, 500).await?;
                out.extend(rs);
                match next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// The recipient's own share link, minted once (idempotent under concurrency).
    pub async fn share_code(&self, r: &Recipient, now: DateTime<Utc>) -> DbResult<ShortCode> {
        if let Some(c) = &r.share_code {
            return Ok(c.clone());
        }
        for _ in 0..MINT_ATTEMPTS {
            let code = ShortCode::generate();
            let link = Link {
                code: code.clone(),
                campaign_id: r.campaign_id.clone(),
                recipient_id: Some(r.id.clone()),
                store_id: None,
                kind: LinkKind::Share,
                referrer_id: None,
                chain_head: None,
                created_at: now,
                clicks: 0,
            };
            let writes = vec![
                TxWrite::Update {
                    table: TableId::Main,
                    key: Key::new(keys::recipient(&r.id), keys::SK_PROFILE),
                    update: Update::new().set("share_code", code.as_str()),
                    cond: Some(Cond::And(vec![Cond::Exists, Cond::AttrMissing("share_code".into())])),
                },
                TxWrite::Put {
                    table: TableId::Main,
                    item: self.link_item(&link)?,
                    cond: Some(Cond::NotExists),
                },
            ];
            match self.table.transact(writes).await {
                Ok(()) => return Ok(code),
                Err(StoreError::TransactionCancelled { reasons }) if reasons.first().is_some_and(Option::is_some) => {
                    // Someone minted it first: theirs stands.
                    let current = self.recipient(&r.id).await?.ok_or(DbError::NotFound("recipient"))?;
                    return current.share_code.ok_or(DbError::NotFound("share code"));
                }
                Err(StoreError::TransactionCancelled { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DbError::Store(StoreError::Backend(
            "could not mint a unique share code".into(),
        )))
    }

    /// A new recipient who arrived through `sharer`'s share link: their own personal link,
    /// the chain extended by the sharer, and the referral edge, in one transaction.
    pub async fn add_visitor(&self, sharer: &Recipient, now: DateTime<Utc>) -> DbResult<Recipient> {
        let id = RecipientId::generate();
        let mut chain = sharer.chain.clone();
        chain.push(sharer.id.clone());
        if chain.len() > MAX_CHAIN {
            // Keep the head (credited for everything) and the nearest sharers.
            let excess = chain.len() - MAX_CHAIN;
            chain.drain(1..=excess);
        }
        let Value::Object(edge) =
            json!({"pk": keys::referrals(&sharer.id), "sk": id, "at": now, "campaign_id": sharer.campaign_id})
        else {
            return Err(DbError::Corrupt {
                key: keys::referrals(&sharer.id),
                reason: "edge is not an object".into(),
            });
        };
        let edge = TxWrite::Put {
            table: TableId::Main,
            item: edge,
            cond: None,
        };
        self.mint_visitor(
            |code| Recipient {
                referrer_id: Some(sharer.id.clone()),
                chain: chain.clone(),
                ..Recipient::new(
                    id.clone(),
                    sharer.campaign_id.clone(),
                    code,
                    RecipientSource::Share,
                    now,
                )
            },
            |r| Link {
                referrer_id: Some(sharer.id.clone()),
                chain_head: r.chain.first().cloned(),
                ..Link::personal(r, None)
            },
            edge,
        )
        .await
    }

    /// Mints a visitor (a recipient who arrived by a link rather than by import) with their
    /// own personal link, plus `extra`, in one transaction; a new code on a collision.
    pub(crate) async fn mint_visitor(
        &self,
        recipient: impl Fn(ShortCode) -> Recipient,
        link: impl Fn(&Recipient) -> Link,
        extra: TxWrite,
    ) -> DbResult<Recipient> {
        for _ in 0..MINT_ATTEMPTS {
            let r = recipient(ShortCode::generate());
            let writes = vec![
                TxWrite::Put {
                    table: TableId::Main,
                    item: self.link_item(&link(&r))?,
                    cond: Some(Cond::NotExists),
                },
                TxWrite::Put {
                    table: TableId::Main,
                    item: self.recipient_item(&r)?,
                    cond: Some(Cond::NotExists),
                },
                extra.clone(),
            ];
            match self.table.transact(writes).await {
                Ok(()) => return Ok(r),
                Err(StoreError::TransactionCancelled { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DbError::Store(StoreError::Backend(
            "could not mint a unique code".into(),
        )))
    }

    /// Whom `sharer` brought in directly.
    pub async fn referrals(&self, sharer: &RecipientId) -> DbResult<Vec<RecipientId>> {
        let mut q = Query::partition(TableId::Main, keys::referrals(sharer));
        let mut out = Vec::new();
        loop {
            let page = self.table.query(&q).await?;
            for i in &page.items {
                if let Some(id) = i
                    .get("sk")
                    .and_then(Value::as_str)
                    .and_then(|s| RecipientId::parse(s).ok())
                {
                    out.push(id);
                }
            }
            match page.next {
                Some(n) => q.after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Who shared to whom, up to `hops` levels below `root`: `(sharer, visitor, hop)`.
    pub async fn share_tree(&self, root: &RecipientId, hops: u32) -> DbResult<Vec<(RecipientId, RecipientId, u32)>> {
        let mut out = Vec::new();
        let mut frontier = vec![root.clone()];
        for hop in 1..=hops {
            let mut next = Vec::new();
            for sharer in &frontier {
                for v in self.referrals(sharer).await? {
                    out.push((sharer.clone(), v.clone(), hop));
                    next.push(v);
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Ok(out)
    }

    /// Appends to the consent ledger and updates the recipient's current consents, atomically.
    pub async fn record_consent(&self, entry: &ConsentEntry) -> DbResult<()> {
        let field = match entry.purpose.as_str() {
            "privacy" => "privacy_at",
            "marketing" => "marketing_at",
            "night" => "night_at",
            other => {
                return Err(DbError::Corrupt {
                    key: "consent".into(),
                    reason: format!("unknown purpose {other}"),
                });
            }
        };
        let ledger = to_item(
            entry,
            &keys::recipient(&entry.recipient_id),
            &keys::consent_sk(entry.at.timestamp_millis(), &random_base62(6)),
        )?;
        let profile = Key::new(keys::recipient(&entry.recipient_id), keys::SK_PROFILE);
        let update = if entry.granted {
            Update::new().set(field, json!(entry.at))
        } else {
            Update::new().remove(field)
        };
        self.table
            .transact(vec![
                TxWrite::Put {
                    table: TableId::Main,
                    item: ledger,
                    cond: Some(Cond::NotExists),
                },
                TxWrite::Update {
                    table: TableId::Main,
                    key: profile,
                    update,
                    cond: Some(Cond::Exists),
                },
            ])
            .await?;
        Ok(())
    }

    /// The consent ledger of a recipient, oldest first.
    pub async fn consent_ledger(&self, id: &RecipientId) -> DbResult<Vec<ConsentEntry>> {
        self.query_all(Query::partition(TableId::Main, keys::recipient(id)).prefix("CONSENT#"))
            .await
    }
}
