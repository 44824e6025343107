//! Survey responses (`RCPT#{id}` / `SURVEY`) and the aggregates reports read
//! (`AGG#{campaign}#{shard}` / `{scope}#P` and `{scope}#A`).
//!
//! Every save is one transaction: the response (conditional on the revision it read, so two
//! saves never both apply), the aggregate counters it moves, and its events. The answer counts
//! (`#A`) are added once, at completion, from the answers on the respondent's final path; the
//! progress counters (`#P`: `an|q` answered, `at|q` waiting at) move with every save.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mcamp_core::customer::CustomerKey;
use mcamp_core::events::{Event, EventData};
use mcamp_core::recipient::{Recipient, RecipientSource};
use mcamp_core::response::Response;
use mcamp_core::survey::{Answer, AnswerError, Next, SurveyDef};
use mcamp_core::survey_report::{self as names, Counters};
use mcamp_core::time::{kst, kst_week};
use mcamp_core::values::{AgeBand, BrandId, CampaignId, Gender, RecipientId};
use serde_json::{Value, json};

use crate::ports::{Cond, Key, Query, StoreError, TableId, TxWrite, Update};
use crate::{Db, DbError, from_item, keys, object, to_item};

/// Why a save was refused.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error("{question}: {reason}")]
    Answer { question: String, reason: AnswerError },
    #[error("{0}: no such question in this survey")]
    UnknownQuestion(String),
    #[error("{0}: not on the respondent's path yet; answer the earlier questions first")]
    NotOnPath(String),
    #[error("the survey is already completed")]
    AlreadyCompleted,
    /// Another save (a second tab) landed first; reload and try again.
    #[error("the response changed meanwhile; reload")]
    Conflict,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<StoreError> for SurveyError {
    fn from(e: StoreError) -> Self {
        SurveyError::Db(DbError::Store(e))
    }
}

/// What changes when a save lands.
struct Change {
    started: bool,
    first_answer_of: Option<String>,
    completed: bool,
}

/// What `count_rating_once` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingCount {
    /// The customer's first rating of this store today: it counts.
    Counted,
    /// Another rating of the same customer, store and day counts already: this one does not.
    Withdrawn,
    /// Not complete yet (the slot is taken when it is).
    NotYet,
    /// Not a store visitor's rating.
    NotARating,
}

/// The answer counts a completed response adds to its scope (`sign` 1), or takes back (-1).
fn answer_counts(def: &SurveyDef, resp: &Response, path: &[usize], sign: i64) -> Update {
    let cell = names::cell(resp.gender, resp.age_band);
    let mut agg = Update::new().add(&names::done(cell), sign);
    for &i in path {
        let q = &def.questions[i];
        if let Some(Some(a)) = resp.answers.get(&q.id) {
            agg = agg.add(&names::respondents(&q.id, cell), sign);
            for v in a.counted_values() {
                agg = agg.add(&names::value(&q.id, &v, cell), sign);
            }
        }
    }
    agg
}

impl Db {
    pub async fn survey_response(&self, r: &RecipientId) -> Result<Option<Response>, DbError> {
        let key = Key::new(keys::recipient(r), keys::SK_SURVEY);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
    }

    /// A new response for `r`: MCS visitors count in their store's week, everyone else in the
    /// campaign's sharded `ALL` scope.
    fn new_response(r: &Recipient, now: DateTime<Utc>) -> Response {
        let (scope, shard) = match &r.preferred_store {
            Some(s) if r.source == RecipientSource::Store => {
                (keys::store_week_scope(s, &kst_week(now)), keys::shard_of(s.as_str()))
            }
            _ => (keys::SCOPE_ALL.to_owned(), keys::shard_of(r.id.as_str())),
        };
        Response {
            campaign_id: r.campaign_id.clone(),
            recipient_id: r.id.clone(),
            scope,
            shard,
            store_id: (r.source == RecipientSource::Store)
                .then(|| r.preferred_store.clone())
                .flatten(),
            gender: r.gender,
            age_band: r.age_band,
            demographics_done: false,
            answers: BTreeMap::new(),
            at: None,
            started_at: now,
            updated_at: now,
            completed_at: None,
            withdrawn_at: None,
            rev: 0,
        }
    }

    /// Saves the demographics screen: on the response (its report cell) and on the recipient.
    pub async fn save_demographics(
        &self,
        def: &SurveyDef,
        r: &Recipient,
        current: Option<Response>,
        gender: Option<Gender>,
        age_band: Option<AgeBand>,
        now: DateTime<Utc>,
    ) -> Result<Response, SurveyError> {
        let old = current.clone();
        let mut resp = current.unwrap_or_else(|| Self::new_response(r, now));
        if resp.completed_at.is_some() {
            return Err(SurveyError::AlreadyCompleted);
        }
        resp.gender = gender.or(r.gender);
        resp.age_band = age_band.or(r.age_band);
        resp.demographics_done = true;
        let mut profile = Update::new();
        if let Some(g) = gender {
            profile = profile.set("gender", serde_json::to_value(g).unwrap_or(Value::Null));
        }
        if let Some(a) = age_band {
            profile = profile.set("age_band", serde_json::to_value(a).unwrap_or(Value::Null));
        }
        self.commit(def, r, old, resp, None, now, profile).await
    }

    /// Saves one answer (`None`: an optional question skipped). The question must be on the
    /// respondent's path: answered before (a change) or the one they stand at.
    pub async fn save_answer(
        &self,
        def: &SurveyDef,
        r: &Recipient,
        current: Option<Response>,
        question: &str,
        answer: Option<Answer>,
        now: DateTime<Utc>,
    ) -> Result<Response, SurveyError> {
        let idx = def
            .index_of(question)
            .ok_or_else(|| SurveyError::UnknownQuestion(question.to_owned()))?;
        if answer.is_none() && def.questions[idx].required {
            return Err(SurveyError::Answer {
                question: question.to_owned(),
                reason: AnswerError::Required,
            });
        }
        let old = current.clone();
        let mut resp = current.unwrap_or_else(|| Self::new_response(r, now));
        if resp.completed_at.is_some() {
            return Err(SurveyError::AlreadyCompleted);
        }
        let (path, at) = def.walk(&resp.answers);
        if !path.contains(&idx) && at != Next::Question(idx) {
            return Err(SurveyError::NotOnPath(question.to_owned()));
        }
        resp.answers.insert(question.to_owned(), answer.clone());
        self.commit(
            def,
            r,
            old,
            resp,
            Some((question.to_owned(), answer)),
            now,
            Update::new(),
        )
        .await
    }

    /// Writes a response, the counters it moves, its events and `profile` (recipient attributes
    /// to set) in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn commit(
        &self,
        def: &SurveyDef,
        r: &Recipient,
        old: Option<Response>,
        mut resp: Response,
        answered: Option<(String, Option<Answer>)>,
        now: DateTime<Utc>,
        mut profile: Update,
    ) -> Result<Response, SurveyError> {
        let (path, at) = def.walk(&resp.answers);
        let old_at = old.as_ref().and_then(|o| o.at.clone());
        resp.at = match at {
            Next::Question(i) => Some(def.questions[i].id.clone()),
            Next::End => None,
        };
        let change = Change {
            started: old.is_none(),
            first_answer_of: answered
                .as_ref()
                .filter(|(q, _)| !old.as_ref().is_some_and(|o| o.answers.contains_key(q)))
                .map(|(q, _)| q.clone()),
            completed: at == Next::End,
        };
        if change.completed {
            resp.completed_at = Some(now);
        }
        resp.updated_at = now;
        let old_rev = resp.rev;
        resp.rev += 1;

        // Progress (small, every save) and answer counts (large, once at completion) live in
        // two items, so most saves write a small one.
        let mut progress = Update::new();
        if change.started {
            progress = progress.add(names::STARTED, 1);
        }
        if let Some(q) = &change.first_answer_of {
            progress = progress.add(&names::answered(q), 1);
        }
        if old_at != resp.at {
            if let Some(q) = &old_at {
                progress = progress.add(&names::waiting(q), -1);
            }
            if let Some(q) = &resp.at {
                progress = progress.add(&names::waiting(q), 1);
            }
        }
        let agg = if change.completed {
            answer_counts(def, &resp, &path, 1)
        } else {
            Update::new()
        };

        let rkey = keys::recipient(&r.id);
        let cond = match &old {
            None => Cond::NotExists,
            Some(_) => Cond::And(vec![
                Cond::Eq("rev".into(), Value::from(old_rev)),
                Cond::AttrMissing("completed_at".into()),
            ]),
        };
        let mut writes = vec![TxWrite::Put {
            table: TableId::Main,
            item: to_item(&resp, &rkey, keys::SK_SURVEY)?,
            cond: Some(cond),
        }];
        let partition = keys::aggregates(&r.campaign_id, resp.shard);
        for (sk, update) in [
            (keys::progress_sk(&resp.scope), progress),
            (keys::answers_sk(&resp.scope), agg),
        ] {
            if !update.add.is_empty() {
                writes.push(TxWrite::Update {
                    table: TableId::Main,
                    key: Key::new(partition.clone(), sk),
                    update,
                    cond: None,
                });
            }
        }
        if change.completed {
            profile = profile.set("survey_completed_at", serde_json::to_value(now).unwrap_or(Value::Null));
        }
        if !profile.set.is_empty() {
            writes.push(TxWrite::Update {
                table: TableId::Main,
                key: Key::new(rkey.clone(), keys::SK_PROFILE),
                update: profile,
                cond: Some(Cond::Exists),
            });
        }
        let event = |data| Event::new(r.campaign_id.clone(), now, data).by(r.into());
        let mut events = Vec::new();
        if change.started {
            events.push(event(EventData::SurveyStarted {
                store_id: resp.store_id.clone(),
            }));
        }
        if let Some((q, a)) = answered {
            events.push(event(EventData::SurveyAnswered {
                question_id: q,
                answer: a,
            }));
        }
        if change.completed {
            let answered = path
                .iter()
                .filter(|&&i| matches!(resp.answers.get(&def.questions[i].id), Some(Some(_))))
                .count();
            events.push(event(EventData::SurveyCompleted {
                answered: answered as u32,
                store_id: resp.store_id.clone(),
            }));
        }
        for e in &events {
            writes.push(TxWrite::Put {
                table: TableId::Events,
                item: self.event_item(e)?,
                cond: None,
            });
        }
        // Respondents finishing at the same moment update the same aggregate item: retried
        // briefly, as the respondent is waiting for the next screen.
        match self.transact_briefly(writes).await {
            Ok(()) => Ok(resp),
            Err(StoreError::TransactionCancelled { reasons }) if reasons.first().is_some_and(Option::is_some) => {
                match self.survey_response(&r.id).await? {
                    Some(now) if now.completed_at.is_some() => Err(SurveyError::AlreadyCompleted),
                    _ => Err(SurveyError::Conflict),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// MCS: a customer's rating counts once per store and KST day. Called once a store
    /// visitor's response is complete and their customer is known (the phone usually comes
    /// after the rating): the day's first rating takes a slot on the customer; a later one
    /// (another browser, a cleared cookie) is taken out of the store's counts, marked
    /// `withdrawn_at`, with a `survey_withdrawn` event, in one transaction. Idempotent.
    /// `known` is the response when the caller holds it (the completing save); else it is read.
    pub async fn count_rating_once(
        &self,
        def: &SurveyDef,
        brand: &BrandId,
        customer: &CustomerKey,
        r: &Recipient,
        known: Option<&Response>,
        now: DateTime<Utc>,
    ) -> Result<RatingCount, SurveyError> {
        let Some(store) = r
            .preferred_store
            .as_ref()
            .filter(|_| r.source == RecipientSource::Store)
        else {
            return Ok(RatingCount::NotARating);
        };
        let resp = match known {
            Some(resp) => Some(resp.clone()),
            None => self.survey_response(&r.id).await?,
        };
        let Some(resp) = resp else {
            return Ok(RatingCount::NotYet);
        };
        let Some(completed) = resp.completed_at else {
            return Ok(RatingCount::NotYet);
        };
        if resp.withdrawn_at.is_some() {
            return Ok(RatingCount::Withdrawn);
        }
        let day = completed.with_timezone(&kst()).format("%Y%m%d");
        let slot = object(json!({
            "pk": keys::customer(brand, customer),
            "sk": format!("RATED#{store}#{day}"),
            "by": r.id,
            "ttl": (completed + chrono::Duration::days(3)).timestamp(),
        }));
        let mine = Cond::Or(vec![Cond::NotExists, Cond::Eq("by".into(), Value::from(r.id.as_str()))]);
        match self.table.put(TableId::Main, slot, Some(mine)).await {
            Ok(()) => return Ok(RatingCount::Counted),
            Err(e) if e.is_condition() => {}
            Err(e) => return Err(e.into()),
        }
        let (path, _) = def.walk(&resp.answers);
        let event = Event::new(
            r.campaign_id.clone(),
            now,
            EventData::SurveyWithdrawn {
                store_id: store.clone(),
            },
        )
        .by(r.into());
        let writes = vec![
            TxWrite::Update {
                table: TableId::Main,
                key: Key::new(keys::recipient(&r.id), keys::SK_SURVEY),
                update: Update::new().set("withdrawn_at", serde_json::to_value(now).unwrap_or(Value::Null)),
                // Completion is final: the response read above stays complete.
                cond: Some(Cond::And(vec![Cond::Exists, Cond::AttrMissing("withdrawn_at".into())])),
            },
            TxWrite::Update {
                table: TableId::Main,
                key: Key::new(
                    keys::aggregates(&r.campaign_id, resp.shard),
                    keys::answers_sk(&resp.scope),
                ),
                update: answer_counts(def, &resp, &path, -1),
                cond: None,
            },
            TxWrite::Put {
                table: TableId::Events,
                item: self.event_item(&event)?,
                cond: None,
            },
        ];
        match self.table.transact(writes).await {
            // Withdrawn by an earlier call: counted out once only.
            Ok(()) | Err(StoreError::TransactionCancelled { .. }) => Ok(RatingCount::Withdrawn),
            Err(e) => Err(e.into()),
        }
    }

    /// The maintained counters of a campaign, summed over shards and parts, by scope: the
    /// 16 partitions `AGG#{c}#{shard}`, a fixed number of items whatever the responses.
    pub async fn survey_counters(&self, c: &CampaignId) -> Result<BTreeMap<String, Counters>, DbError> {
        // The 16 partitions are independent: read them at once, not one after another.
        let parts = futures::future::try_join_all(
            (0..keys::SHARDS)
                .map(|shard| self.query_all::<Value>(Query::partition(TableId::Main, keys::aggregates(c, shard)))),
        )
        .await?;
        let items = parts.into_iter().flatten().filter_map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        });
        let mut out: BTreeMap<String, Counters> = BTreeMap::new();
        for item in items {
            let Some(sk) = item.get("sk").and_then(Value::as_str) else {
                continue;
            };
            // `{scope}#A` or `{scope}#P`: the scope is everything before the last `#`.
            let scope = sk.rsplit_once('#').map_or(sk, |(s, _)| s).to_owned();
            let counters = out.entry(scope).or_default();
            for (k, v) in &item {
                if let Some(n) = v.as_i64()
                    && k != "pk"
                    && k != "sk"
                {
                    counters.add(k, n);
                }
            }
        }
        Ok(out)
    }

    /// A plain survey's totals: the campaign-wide scope summed over its shards, with the
    /// invitations (the response rate's base).
    pub async fn survey_totals(&self, c: &CampaignId) -> Result<Counters, DbError> {
        let by_scope = self.survey_counters(c).await?;
        let mut all = Counters::default();
        for scope in [keys::SCOPE_ALL, keys::SCOPE_INVITED] {
            if let Some(counters) = by_scope.get(scope) {
                all.merge(counters);
            }
        }
        Ok(all)
    }

    /// Counts `n` more invitations (imported recipients) of a campaign: the response rate's base.
    pub async fn count_invited(&self, c: &CampaignId, n: i64) -> Result<(), DbError> {
        if n == 0 {
            return Ok(());
        }
        let key = Key::new(keys::aggregates(c, 0), keys::progress_sk(keys::SCOPE_INVITED));
        self.table
            .update(TableId::Main, &key, Update::new().add(names::INVITED, n), None)
            .await?;
        Ok(())
    }
}
