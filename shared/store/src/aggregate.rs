//! The aggregator's writes: events from the events table's stream become a campaign's counters
//! (`STAT#{c}#{shard}`), each person's journey (`RCPT#{id}` / `JOURNEY`) and the top-sharers
//! boards, so reports read counters, never the event log.
//!
//! **Each event counts once, however often the stream delivers it.** Events are applied in
//! transactions of up to 100 writes, each holding, for every event, a marker
//! `AGGSEEN#{event_id}` put only if absent, with everything the event changes: the counters
//! (`ADD`), the journeys it touches and the boards (put only if their version `v` is still the
//! one read). A redelivered event cancels the transaction on its marker; the cancellation names
//! it by position, and the transaction is built again without it. A journey or board changed
//! meanwhile by another aggregator is read again. Nothing is ever half applied.
//!
//! What it costs (docs/report.md has the figures): per event, its marker and its share of a
//! transaction's writes, which DynamoDB bills at two write units per KB.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use mcamp_core::analytics::{
    Count, Counters, Journey, Scope, SharerBoard, SharerScore, Stage, credit_of, event_counts, metric, people_delta,
};
use mcamp_core::events::{Event, EventData};
use mcamp_core::values::{CampaignId, RecipientId};

use crate::ports::{Cond, Item, Key, Query, StoreError, TableId, TxWrite, Update};
use crate::{Db, DbError, DbResult, from_item, keys, object, to_item};

/// One record of the events table's stream, as the aggregator reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Event(Box<Event>),
    /// A record the aggregator does not understand (an unknown type, or a version of a type it
    /// does not know): counted under `skipped.{label}` and otherwise left alone.
    Skipped {
        event_id: Option<String>,
        campaign: Option<CampaignId>,
        /// `{type}.v{version}`, from fields the contract guarantees; never personal data.
        label: String,
    },
}

/// What a call to `Db::aggregate` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Events counted now.
    pub counted: usize,
    /// Events counted before (a redelivery): nothing changed for them.
    pub repeats: usize,
    /// Records counted as skipped.
    pub skipped: usize,
}

impl std::ops::AddAssign for Applied {
    fn add_assign(&mut self, o: Applied) {
        self.counted += o.counted;
        self.repeats += o.repeats;
        self.skipped += o.skipped;
    }
}

/// The aggregator stopped at record `done` (the records before it are applied).
#[derive(Debug, thiserror::Error)]
#[error("aggregating stopped at record {done}")]
pub struct AggregateError {
    pub done: usize,
    pub applied: Applied,
    #[source]
    pub source: DbError,
}

/// Records tried in one transaction (split when their writes pass 100).
const CHUNK: usize = 25;
/// A transaction's limit.
const MAX_WRITES: usize = 100;
/// Tries of one chunk: each cancellation removes its cause (a repeat, a room already counted,
/// a journey read again), so a few suffice; then the stream delivers the records again.
const ATTEMPTS: u32 = 8;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Write {
    Marker(String),
    Room(String),
    Journey,
    Board,
    Counter,
}

/// A journey as read: its version (`None` when it did not exist).
#[derive(Clone)]
struct Read<T> {
    value: T,
    version: Option<i64>,
}

/// Everything one attempt writes.
struct Plan {
    writes: Vec<TxWrite>,
    kinds: Vec<Write>,
    applied: Applied,
}

impl Db {
    /// Applies stream records, in order, each once (see the module's documentation). On an
    /// error, the records before `done` are applied and the rest are not.
    pub async fn aggregate(&self, records: &[Record], now: DateTime<Utc>) -> Result<Applied, AggregateError> {
        let mut applied = Applied::default();
        let mut done = 0;
        for chunk in records.chunks(CHUNK) {
            // Halves of a chunk whose writes do not fit one transaction, in order.
            let mut parts = std::collections::VecDeque::from([chunk]);
            while let Some(part) = parts.pop_front() {
                match self.apply_part(part, now).await {
                    Ok(Some(a)) => {
                        applied += a;
                        done += part.len();
                    }
                    Ok(None) if part.len() > 1 => {
                        let (a, b) = part.split_at(part.len() / 2);
                        parts.push_front(b);
                        parts.push_front(a);
                    }
                    Ok(None) => {
                        return Err(AggregateError {
                            done,
                            applied,
                            source: DbError::Store(StoreError::Invalid("one record needs more than 100 writes".into())),
                        });
                    }
                    Err(source) => return Err(AggregateError { done, applied, source }),
                }
            }
        }
        Ok(applied)
    }

    /// One transaction for `part`, tried until it holds; `None` when it needs more than 100
    /// writes.
    async fn apply_part(&self, part: &[Record], now: DateTime<Utc>) -> DbResult<Option<Applied>> {
        let mut repeats: HashSet<String> = HashSet::new();
        let mut rooms_seen: HashSet<String> = HashSet::new();
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            let plan = self.plan(part, &repeats, &rooms_seen, now).await?;
            if plan.writes.len() > MAX_WRITES {
                return Ok(None);
            }
            if plan.writes.is_empty() {
                return Ok(Some(plan.applied));
            }
            match self.table.transact(plan.writes).await {
                Ok(()) => return Ok(Some(plan.applied)),
                Err(StoreError::TransactionCancelled { reasons }) => {
                    for (kind, _) in plan.kinds.iter().zip(&reasons).filter(|(_, r)| r.is_some()) {
                        match kind {
                            Write::Marker(id) => {
                                repeats.insert(id.clone());
                            }
                            Write::Room(key) => {
                                rooms_seen.insert(key.clone());
                            }
                            // Changed by someone else: read again on the next attempt.
                            Write::Journey | Write::Board | Write::Counter => {}
                        }
                    }
                    last = Some(StoreError::TransactionCancelled { reasons });
                }
                Err(StoreError::Throttled(why)) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(5))).await;
                    last = Some(StoreError::Throttled(why));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(DbError::Store(
            last.unwrap_or_else(|| StoreError::Throttled("aggregate".into())),
        ))
    }

    /// Reads what `part` changes and builds its writes.
    async fn plan(
        &self,
        part: &[Record],
        repeats: &HashSet<String>,
        rooms_seen: &HashSet<String>,
        now: DateTime<Utc>,
    ) -> DbResult<Plan> {
        let mut plan = Plan {
            writes: Vec::new(),
            kinds: Vec::new(),
            applied: Applied::default(),
        };
        // By campaign; `None` for records that name no campaign the aggregator can read.
        let mut counters: BTreeMap<Option<CampaignId>, Counters> = BTreeMap::new();
        let mut events: Vec<&Event> = Vec::new();
        let mut ids = HashSet::new();
        for r in part {
            match r {
                Record::Event(e) => {
                    if repeats.contains(&e.event_id) || !ids.insert(e.event_id.clone()) {
                        plan.applied.repeats += 1;
                        continue;
                    }
                    events.push(e);
                }
                Record::Skipped {
                    event_id,
                    campaign,
                    label,
                } => {
                    if let Some(id) = event_id {
                        if repeats.contains(id) || !ids.insert(id.clone()) {
                            plan.applied.repeats += 1;
                            continue;
                        }
                        self.push_marker(&mut plan, id, now);
                    }
                    counters.entry(campaign.clone()).or_default().add(Count {
                        scope: Scope::Total,
                        metric: format!("{}.{label}", metric::SKIPPED),
                        by: 1,
                    });
                    plan.applied.skipped += 1;
                }
            }
        }

        // The journeys of the events' people, then of the people up their share chains.
        let people: BTreeSet<RecipientId> = events.iter().filter_map(|e| e.recipient_id.clone()).collect();
        let mut journeys = self.journeys(people.iter()).await?;
        let mut after: BTreeMap<RecipientId, Journey> = BTreeMap::new();
        for e in &events {
            let Some(r) = &e.recipient_id else { continue };
            changed(&mut after, &journeys, &e.campaign_id, r).apply(e);
        }
        let mut chains: HashMap<RecipientId, Option<RecipientId>> = HashMap::new();
        for j in after.values_mut() {
            if j.ancestors.is_empty()
                && let Some(referrer) = j.referrer_id.clone()
            {
                j.ancestors = self.ancestors(referrer, &mut chains).await?;
            }
        }
        let credited: Vec<(RecipientId, mcamp_core::analytics::Credit, usize, CampaignId)> = events
            .iter()
            .filter_map(|e| {
                let credit = credit_of(e)?;
                let person = after.get(e.recipient_id.as_ref()?)?;
                Some(
                    person
                        .ancestors
                        .iter()
                        .enumerate()
                        .map(|(hop, a)| (a.clone(), credit, hop, e.campaign_id.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .flatten()
            .collect();
        let missing: BTreeSet<RecipientId> = credited
            .iter()
            .map(|(a, ..)| a.clone())
            .filter(|a| !journeys.contains_key(a))
            .collect();
        journeys.extend(self.journeys(missing.iter()).await?);
        for (a, credit, hop, campaign) in credited {
            changed(&mut after, &journeys, &campaign, &a).credit(credit, hop);
        }

        // Counters: each event's, and each changed journey's people counts.
        for e in &events {
            let c = counters.entry(Some(e.campaign_id.clone())).or_default();
            c.add_all(event_counts(e));
            if let EventData::ShareDelivered { chat: Some(chat), .. } = &e.data {
                let key = keys::share_room(&e.campaign_id, chat);
                if !rooms_seen.contains(&key) && !plan.kinds.contains(&Write::Room(key.clone())) {
                    plan.writes.push(self.put_new(object(serde_json::json!({
                        "pk": key, "sk": keys::SK_ROOM,
                    }))));
                    plan.kinds.push(Write::Room(key));
                    c.add(Count {
                        scope: Scope::Total,
                        metric: metric::SHARE_ROOMS.into(),
                        by: 1,
                    });
                }
            }
            self.push_marker(&mut plan, &e.event_id, now);
            plan.applied.counted += 1;
        }
        let mut scores: BTreeMap<(CampaignId, u8), Vec<SharerScore>> = BTreeMap::new();
        for (r, j) in &after {
            let before = journeys.get(r).and_then(|x| x.value.as_ref());
            if before == Some(j) {
                continue;
            }
            counters
                .entry(Some(j.campaign_id.clone()))
                .or_default()
                .add_all(people_delta(before, j));
            let score = j.sharer_score();
            if before.map(Journey::sharer_score) != Some(score.clone()) && !score.is_zero() {
                let shard = keys::shard_of(r.as_str()) % keys::STAT_SHARDS;
                scores.entry((j.campaign_id.clone(), shard)).or_default().push(score);
            }
            let version = journeys.get(r).and_then(|x| x.version);
            plan.writes.push(self.versioned(journey_item(j)?, version));
            plan.kinds.push(Write::Journey);
        }

        // The boards of the sharers whose standing changed.
        let board_keys: Vec<Key> = scores
            .keys()
            .map(|(c, s)| Key::new(keys::stats(c, *s), keys::SK_BOARD))
            .collect();
        let mut boards: HashMap<String, Read<SharerBoard>> = HashMap::new();
        for item in self.table.get_many(TableId::Main, &board_keys).await? {
            let pk = item.get("pk").and_then(Value::as_str).unwrap_or_default().to_owned();
            let version = item.get("v").and_then(Value::as_i64);
            boards.insert(
                pk,
                Read {
                    value: from_item(item)?,
                    version,
                },
            );
        }
        for ((c, shard), list) in scores {
            let pk = keys::stats(&c, shard);
            let read = boards.remove(&pk).unwrap_or(Read {
                value: SharerBoard::default(),
                version: None,
            });
            let mut board = read.value;
            let mut changed = false;
            for s in list {
                changed |= board.offer(s);
            }
            if changed {
                plan.writes
                    .push(self.versioned(to_item(&board, &pk, keys::SK_BOARD)?, read.version));
                plan.kinds.push(Write::Board);
            }
        }

        // One counter shard per part: that of its first event's random id, so parts spread
        // evenly over the shards.
        let shard = part
            .iter()
            .find_map(|r| match r {
                Record::Event(e) => Some(keys::shard_of(&e.event_id) % keys::STAT_SHARDS),
                Record::Skipped { .. } => None,
            })
            .unwrap_or(0);
        for (campaign, c) in counters {
            let c = c.without_zeros();
            let pk = campaign.map_or_else(|| keys::STATS_UNREADABLE.to_owned(), |id| keys::stats(&id, shard));
            for (scope, metrics) in c.0 {
                let mut update = Update::new();
                for (m, by) in metrics {
                    update = update.add(&m, by);
                }
                plan.writes.push(TxWrite::Update {
                    table: TableId::Main,
                    key: Key::new(pk.clone(), scope.key()),
                    update,
                    cond: None,
                });
                plan.kinds.push(Write::Counter);
            }
        }
        Ok(plan)
    }

    fn push_marker(&self, plan: &mut Plan, event_id: &str, now: DateTime<Utc>) {
        plan.writes.push(self.put_new(object(serde_json::json!({
            "pk": keys::aggregated(event_id),
            "sk": keys::SK_SEEN,
            "ttl": (now + chrono::Duration::days(keys::AGGREGATED_TTL_DAYS)).timestamp(),
        }))));
        plan.kinds.push(Write::Marker(event_id.to_owned()));
    }

    /// A put of `item` at the next version, only if it is still at `version` (absent: new).
    fn versioned(&self, mut item: Item, version: Option<i64>) -> TxWrite {
        item.insert("v".into(), Value::from(version.unwrap_or(0) + 1));
        TxWrite::Put {
            table: TableId::Main,
            item,
            cond: Some(version.map_or(Cond::NotExists, |v| Cond::Eq("v".into(), Value::from(v)))),
        }
    }

    /// The journeys of `people`, with their versions; a person without one maps to `None`.
    async fn journeys<'a>(
        &self,
        people: impl Iterator<Item = &'a RecipientId>,
    ) -> DbResult<HashMap<RecipientId, Read<Option<Journey>>>> {
        let people: Vec<&RecipientId> = people.collect();
        let mut out: HashMap<RecipientId, Read<Option<Journey>>> = people
            .iter()
            .map(|r| {
                (
                    (*r).clone(),
                    Read {
                        value: None,
                        version: None,
                    },
                )
            })
            .collect();
        for batch in people.chunks(100) {
            let keys: Vec<Key> = batch
                .iter()
                .map(|r| Key::new(keys::recipient(r), keys::SK_JOURNEY))
                .collect();
            for item in self.table.get_many(TableId::Main, &keys).await? {
                let version = item.get("v").and_then(Value::as_i64);
                let j: Journey = from_item(item)?;
                out.insert(
                    j.recipient_id.clone(),
                    Read {
                        value: Some(j),
                        version,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Who brought `referrer`'s visitor in, hop by hop: `referrer`, then who referred them, from
    /// the recipients' profiles (at most `SHARE_HOPS`, and never round a loop).
    async fn ancestors(
        &self,
        referrer: RecipientId,
        known: &mut HashMap<RecipientId, Option<RecipientId>>,
    ) -> DbResult<Vec<RecipientId>> {
        let mut out = vec![referrer];
        while out.len() < mcamp_core::analytics::SHARE_HOPS {
            let Some(last) = out.last().cloned() else { break };
            let next = match known.get(&last) {
                Some(n) => n.clone(),
                None => {
                    let n = self.recipient(&last).await?.and_then(|p| p.referrer_id);
                    known.insert(last, n.clone());
                    n
                }
            };
            match next {
                Some(n) if !out.contains(&n) => out.push(n),
                _ => break,
            }
        }
        Ok(out)
    }

    /// A campaign's counters, all shards added, and its sharer boards.
    pub async fn campaign_counters(&self, c: &CampaignId) -> DbResult<(Counters, Vec<SharerBoard>)> {
        let mut counters = Counters::default();
        let mut boards = Vec::new();
        for shard in 0..keys::STAT_SHARDS {
            let items: Vec<Item> = self
                .query_all(Query::partition(TableId::Main, keys::stats(c, shard)))
                .await?;
            for item in items {
                let sk = item.get("sk").and_then(Value::as_str).unwrap_or_default().to_owned();
                if sk == keys::SK_BOARD {
                    boards.push(from_item(item)?);
                    continue;
                }
                add_counter_item(&mut counters, &item);
            }
        }
        Ok((counters, boards))
    }

    /// The campaign-wide counters (`T`) of several campaigns, all shards added: one
    /// `BatchGetItem` per 12 campaigns, for a list at a glance.
    pub async fn campaign_totals(&self, ids: &[CampaignId]) -> DbResult<HashMap<CampaignId, BTreeMap<String, i64>>> {
        let mut out: HashMap<CampaignId, BTreeMap<String, i64>> = HashMap::new();
        let wanted: Vec<(CampaignId, Key)> = ids
            .iter()
            .flat_map(|c| {
                (0..keys::STAT_SHARDS).map(move |s| (c.clone(), Key::new(keys::stats(c, s), Scope::Total.key())))
            })
            .collect();
        for batch in wanted.chunks(96) {
            let keys: Vec<Key> = batch.iter().map(|(_, k)| k.clone()).collect();
            for item in self.table.get_many(TableId::Main, &keys).await? {
                let pk = item.get("pk").and_then(Value::as_str).unwrap_or_default();
                let Some((campaign, _)) = batch.iter().find(|(_, k)| k.pk == pk) else {
                    continue;
                };
                let sums = out.entry(campaign.clone()).or_default();
                for (metric, n) in counter_values(&item) {
                    *sums.entry(metric.clone()).or_insert(0) += n;
                }
            }
        }
        Ok(out)
    }

    /// One person's journey, if the aggregator has seen them.
    pub async fn journey(&self, r: &RecipientId) -> DbResult<Option<Journey>> {
        let key = Key::new(keys::recipient(r), keys::SK_JOURNEY);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
    }

    /// One page of a campaign's journeys at `stage`, from one shard of its listing, after
    /// `after`; and the last one read when there may be more.
    pub async fn journeys_at(
        &self,
        c: &CampaignId,
        stage: Stage,
        shard: u8,
        after: Option<&RecipientId>,
        limit: usize,
    ) -> DbResult<(Vec<Journey>, Option<RecipientId>)> {
        let gsi = keys::journeys_at(c, stage.as_str(), shard);
        let mut q = Query::gsi1(TableId::Main, gsi.clone()).limit(limit);
        q.after = after.map(|r| listing_key(r, keys::SK_JOURNEY, &gsi));
        let page = self.table.query(&q).await?;
        let journeys: Vec<Journey> = page.items.into_iter().map(from_item).collect::<DbResult<_>>()?;
        let next = page.next.and(journeys.last().map(|j| j.recipient_id.clone()));
        Ok((journeys, next))
    }

    /// The journeys of `ids` that exist (at most 100 ids a call is best; any number works).
    pub async fn journeys_of(&self, ids: &[RecipientId]) -> DbResult<HashMap<RecipientId, Journey>> {
        Ok(self
            .journeys(ids.iter())
            .await?
            .into_iter()
            .filter_map(|(k, v)| v.value.map(|j| (k, j)))
            .collect())
    }

    /// The profiles of `ids` that exist.
    pub async fn recipients_of(
        &self,
        ids: &[RecipientId],
    ) -> DbResult<HashMap<RecipientId, mcamp_core::recipient::Recipient>> {
        let mut out = HashMap::new();
        for batch in ids.chunks(100) {
            let keys: Vec<Key> = batch
                .iter()
                .map(|r| Key::new(keys::recipient(r), keys::SK_PROFILE))
                .collect();
            for item in self.table.get_many(TableId::Main, &keys).await? {
                let r: mcamp_core::recipient::Recipient = from_item(item)?;
                out.insert(r.id.clone(), r);
            }
        }
        Ok(out)
    }

    /// One page of a campaign's recipients from one shard of their listing, after `after`; and
    /// the last one read when there may be more.
    /// `recipients_page` with each one's journey: an empty one for someone the aggregator has
    /// not seen yet, who has done nothing. What a scheduled run evaluates its rules over.
    pub async fn people_page(
        &self,
        c: &CampaignId,
        shard: u8,
        after: Option<&RecipientId>,
        limit: usize,
    ) -> DbResult<(Vec<(mcamp_core::recipient::Recipient, Journey)>, Option<RecipientId>)> {
        let (people, next) = self.recipients_page(c, shard, after, limit).await?;
        let ids: Vec<RecipientId> = people.iter().map(|r| r.id.clone()).collect();
        let mut journeys = self.journeys_of(&ids).await?;
        let paired = people
            .into_iter()
            .map(|r| {
                let j = journeys
                    .remove(&r.id)
                    .unwrap_or_else(|| Journey::new(c.clone(), r.id.clone()));
                (r, j)
            })
            .collect();
        Ok((paired, next))
    }

    pub async fn recipients_page(
        &self,
        c: &CampaignId,
        shard: u8,
        after: Option<&RecipientId>,
        limit: usize,
    ) -> DbResult<(Vec<mcamp_core::recipient::Recipient>, Option<RecipientId>)> {
        let gsi = keys::recipients_of(c, shard);
        let mut q = Query::gsi1(TableId::Main, gsi.clone()).limit(limit);
        q.after = after.map(|r| listing_key(r, keys::SK_PROFILE, &gsi));
        let page = self.table.query(&q).await?;
        let rs: Vec<mcamp_core::recipient::Recipient> =
            page.items.into_iter().map(from_item).collect::<DbResult<_>>()?;
        let next = page.next.and(rs.last().map(|r| r.id.clone()));
        Ok((rs, next))
    }

    /// Where the local gateway's change-feed consumer `name` got to.
    pub async fn cursor(&self, name: &str) -> DbResult<Option<String>> {
        let key = Key::new(keys::cursor(name), keys::SK_CURSOR);
        Ok(self
            .table
            .get(TableId::Main, &key)
            .await?
            .and_then(|i| i.get("at").and_then(Value::as_str).map(str::to_owned)))
    }

    pub async fn set_cursor(&self, name: &str, at: &str) -> DbResult<()> {
        let item = object(serde_json::json!({"pk": keys::cursor(name), "sk": keys::SK_CURSOR, "at": at}));
        self.table.put(TableId::Main, item, None).await?;
        Ok(())
    }
}

/// The journey of `r` as this part changes it: the one changed already, or the one read, or a
/// new one.
fn changed<'a>(
    after: &'a mut BTreeMap<RecipientId, Journey>,
    read: &HashMap<RecipientId, Read<Option<Journey>>>,
    campaign: &CampaignId,
    r: &RecipientId,
) -> &'a mut Journey {
    after.entry(r.clone()).or_insert_with(|| {
        read.get(r)
            .and_then(|x| x.value.clone())
            .unwrap_or_else(|| Journey::new(campaign.clone(), r.clone()))
    })
}

/// A counter item's counters: its number attributes other than the key.
/// Adds one counter item (a scope's counters in one shard) to `counters`; an item whose sort
/// key is no scope adds nothing.
pub(crate) fn add_counter_item(counters: &mut Counters, item: &Item) {
    let Some(scope) = item.get("sk").and_then(Value::as_str).and_then(Scope::parse) else {
        return;
    };
    for (metric, by) in counter_values(item) {
        counters.add(Count {
            scope: scope.clone(),
            metric: metric.clone(),
            by,
        });
    }
}

fn counter_values(item: &Item) -> impl Iterator<Item = (&String, i64)> {
    item.iter()
        .filter(|(k, _)| *k != "pk" && *k != "sk")
        .filter_map(|(k, v)| Some((k, v.as_i64()?)))
}

/// Where a page of a listing keyed by recipient (`gsi1sk` = the id) goes on after `r`.
fn listing_key(r: &RecipientId, sk: &str, gsi1pk: &str) -> Item {
    object(serde_json::json!({
        "pk": keys::recipient(r), "sk": sk, "gsi1pk": gsi1pk, "gsi1sk": r,
    }))
}

/// A journey's item, listed under its stage.
fn journey_item(j: &Journey) -> DbResult<Item> {
    let pk = keys::recipient(&j.recipient_id);
    let mut item = to_item(j, &pk, keys::SK_JOURNEY)?;
    let shard = keys::shard_of(j.recipient_id.as_str());
    item.insert(
        "gsi1pk".into(),
        Value::String(keys::journeys_at(&j.campaign_id, j.stage().as_str(), shard)),
    );
    item.insert("gsi1sk".into(), Value::String(j.recipient_id.to_string()));
    Ok(item)
}

/// Reads a stream record's new image as the aggregator's record: an event of a type and version
/// it knows, or a record to count as skipped.
pub fn record_of(image: &Item) -> Record {
    let s = |k: &str| image.get(k).and_then(Value::as_str);
    let event_id = s("event_id").map(str::to_owned);
    let campaign = s("campaign_id").and_then(|c| CampaignId::parse(c).ok());
    let kind = s("type").filter(|t| t.len() <= 40 && t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    let version = image.get("schema_version").and_then(Value::as_u64);
    let skipped = |why: &str| Record::Skipped {
        event_id: event_id.clone(),
        campaign: campaign.clone(),
        label: match (kind, version) {
            (Some(k), Some(v)) => format!("{k}.v{v}"),
            _ => why.to_owned(),
        },
    };
    match serde_json::from_value::<Event>(Value::Object(image.clone())) {
        Ok(e) if Some(u64::from(e.data.schema_version())) == version => Record::Event(Box::new(e)),
        Ok(_) => skipped("unknown"),
        Err(_) => skipped("unreadable"),
    }
}
