//! Sharing: a recipient's share link (minted once), the visitors it brings in (each with their
//! own personal link), and the referral edges `REF#{sharer}` / `{visitor}` that make the tree.

use chrono::{DateTime, Utc};
use mcamp_core::campaign::Campaign;
use mcamp_core::link::Link;
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{CampaignId, RecipientId, ShortCode};
use serde_json::{Value, json};

use crate::mint::with_fresh_code;
use crate::ports::{Cond, Key, Query, StoreError, TableId, TxWrite, Update};
use crate::{Db, DbError, DbResult, Limit, keys, object};

/// The hourly window of new visitors from one network (a keyed hash of the source address).
#[derive(Debug, Clone)]
pub struct NetworkWindow {
    pub tag: String,
    pub per_hour: u32,
}

impl Db {
    /// The recipient's own share link, minted once (idempotent under concurrency).
    pub async fn share_code(&self, r: &Recipient, now: DateTime<Utc>) -> DbResult<ShortCode> {
        if let Some(c) = &r.share_code {
            return Ok(c.clone());
        }
        with_fresh_code(|code| async move {
            let writes = vec![
                TxWrite::Update {
                    table: TableId::Main,
                    key: Key::new(keys::recipient(&r.id), keys::SK_PROFILE),
                    update: Update::new().set("share_code", code.as_str()),
                    cond: Some(Cond::And(vec![Cond::Exists, Cond::AttrMissing("share_code".into())])),
                },
                self.put_new(self.link_item(&Link::share(r, code.clone(), now))?),
            ];
            match self.table.transact(writes).await {
                Ok(()) => Ok(Some(code)),
                Err(StoreError::TransactionCancelled { reasons }) if reasons.first().is_some_and(Option::is_some) => {
                    // Someone minted it first: theirs stands.
                    let current = self.recipient(&r.id).await?.ok_or(DbError::NotFound("recipient"))?;
                    current.share_code.ok_or(DbError::NotFound("share code")).map(Some)
                }
                Err(StoreError::TransactionCancelled { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// A new recipient who arrived through `sharer`'s share link: their own personal link,
    /// the chain extended by the sharer, and the referral edge, in one transaction (with the
    /// network's window when given).
    pub async fn add_visitor(
        &self,
        sharer: &Recipient,
        campaign: &Campaign,
        max_visitors: u32,
        network: Option<NetworkWindow>,
        now: DateTime<Utc>,
    ) -> DbResult<Recipient> {
        let id = RecipientId::generate();
        let edge = TxWrite::Put {
            table: TableId::Main,
            item: object(
                json!({"pk": keys::referrals(&sharer.id), "sk": id, "at": now, "campaign_id": sharer.campaign_id}),
            ),
            cond: None,
        };
        // The sharer's fan-out, counted on their profile in the same transaction and capped by
        // its condition: one script cannot mint visitors without end through one link.
        let fan_out = TxWrite::Update {
            table: TableId::Main,
            key: Key::new(keys::recipient(&sharer.id), keys::SK_PROFILE),
            update: Update::new().add("visitors_brought", 1),
            cond: Some(Cond::Or(vec![
                Cond::AttrMissing("visitors_brought".into()),
                Cond::Lt("visitors_brought".into(), i64::from(max_visitors)),
            ])),
        };
        let mut extra = vec![(edge, None), (fan_out, Some(Limit::ShareVisitors))];
        extra.extend(network.map(|n| self.network_slot(&sharer.campaign_id, n, now)));
        self.mint_visitor(
            |code| Recipient::shared_by(sharer, id.clone(), code, now).in_variant_of(campaign),
            None,
            extra,
        )
        .await
    }

    /// One new visitor counted in their network's hour, capped by its condition.
    pub(crate) fn network_slot(
        &self,
        campaign: &CampaignId,
        n: NetworkWindow,
        now: DateTime<Utc>,
    ) -> (TxWrite, Option<Limit>) {
        let write = TxWrite::Update {
            table: TableId::Main,
            key: Key::new(keys::network_window(campaign, &n.tag), keys::hour_sk(now)),
            update: Update::new()
                .add("n", 1)
                .set("ttl", json!((now + chrono::Duration::hours(2)).timestamp())),
            cond: Some(Cond::Or(vec![
                Cond::AttrMissing("n".into()),
                Cond::Lt("n".into(), i64::from(n.per_hour)),
            ])),
        };
        (write, Some(Limit::NetworkVisitors))
    }

    /// Mints a visitor (a recipient who arrived by a link rather than by import) with their
    /// own personal link, plus `extra`, in one transaction; a new code on a collision. An extra
    /// write whose condition fails refuses the visitor with its limit, nothing written.
    pub(crate) async fn mint_visitor(
        &self,
        recipient: impl Fn(ShortCode) -> Recipient,
        store: Option<mcamp_core::values::StoreId>,
        extra: Vec<(TxWrite, Option<Limit>)>,
    ) -> DbResult<Recipient> {
        let (extra, limits): (Vec<TxWrite>, Vec<Option<Limit>>) = extra.into_iter().unzip();
        with_fresh_code(|code| {
            let r = recipient(code);
            let extra = extra.clone();
            let limits = limits.clone();
            let store = store.clone();
            async move {
                let mut writes = vec![
                    self.put_new(self.link_item(&Link::personal(&r, store))?),
                    self.put_new(self.recipient_item(&r)?),
                ];
                writes.extend(extra);
                // New visitors from one network at the same moment share its window item.
                match self.transact_briefly(writes).await {
                    Ok(()) => Ok(Some(r)),
                    // Only the new link and profile can collide; any later condition is a limit.
                    Err(StoreError::TransactionCancelled { reasons })
                        if let Some(limit) = reasons
                            .iter()
                            .skip(2)
                            .zip(&limits)
                            .find_map(|(reason, limit)| reason.as_ref().and(*limit)) =>
                    {
                        Err(DbError::LimitReached(limit))
                    }
                    Err(StoreError::TransactionCancelled { .. }) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        })
        .await
    }

    /// Whom `sharer` brought in directly.
    pub async fn referrals(&self, sharer: &RecipientId) -> DbResult<Vec<RecipientId>> {
        let edges: Vec<Value> = self
            .query_all(Query::partition(TableId::Main, keys::referrals(sharer)))
            .await?;
        Ok(edges
            .iter()
            .filter_map(|i| i.get("sk").and_then(Value::as_str))
            .filter_map(|s| RecipientId::parse(s).ok())
            .collect())
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
}
