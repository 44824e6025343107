//! Running a campaign's follow-ups: every person whose journey makes them due gets the
//! `send_message` job of their step on the send-message queue, for the brand's sender adapter
//! (docs/events.md), or on the follow-up's send list for a sender without one.
//!
//! Once per customer: before its job is sent, a person's record is put only if absent
//! (`mcamp_store::follow_ups`), keyed by their customer, so a rerun, an overlapping run or a
//! second recipient of the same customer finds it and sends nothing. A record whose job did
//! not reach the queue (`queued`) is sent again by the next run with the same `job_id`:
//! at least once on the queue, de-duplicated by the consumer.
//!
//! Never to a suppressed or unconfirmed customer, an ad only with marketing consent by the
//! channel's medium, and never at night: a job made outside the follow-up's send hours (within
//! 08:00–21:00 KST for an ad) carries `not_before` = their next start.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mcamp_core::campaign::Campaign;
use mcamp_core::customer::{Customer, CustomerKey};
use mcamp_core::follow_up::{self, Channel, FollowUp, FollowUpId, Skip};
use mcamp_core::jobs::{JobError, SEND_MESSAGE_VERSION, SendMessageJob};
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{CampaignId, RecipientId};
use mcamp_store::follow_ups::{FollowUpMarker, MarkerState};
use mcamp_store::ports::{JobQueue, QueueId, StoreError};
use mcamp_store::{Db, DbError, keys};
use serde::Serialize;

use crate::adlaw::{self, AdMessage, AdTemplate, NAME_FALLBACK, TemplateError, TooLong};
use crate::export::{ExportError, Parts, SendFormat, SendRow};

/// Recipients read at once.
const PAGE: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum FollowUpError {
    #[error("unknown campaign '{0}' (`mcamp campaign list` shows the campaigns)")]
    UnknownCampaign(CampaignId),
    #[error("campaign '{campaign}' has no follow-up '{follow_up}' (its follow-ups: {known})")]
    UnknownFollowUp {
        campaign: CampaignId,
        follow_up: String,
        known: String,
    },
    #[error("follow-up '{follow_up}', step {step}: {source}")]
    Template {
        follow_up: FollowUpId,
        step: usize,
        #[source]
        source: TemplateError,
    },
    #[error("follow-up '{follow_up}', step {step}: {source}")]
    MessageTooLong {
        follow_up: FollowUpId,
        step: usize,
        #[source]
        source: TooLong,
    },
    #[error("follow-up '{follow_up}', recipient {recipient}: {source}")]
    TooLong {
        follow_up: FollowUpId,
        recipient: RecipientId,
        #[source]
        source: TooLong,
    },
    #[error(
        "the send time {at} KST is outside the send hours of follow-up '{follow_up}' ({hours}){}",
        if *.ad { ": an ad never goes at night" } else { "" }
    )]
    OutsideSendHours {
        follow_up: FollowUpId,
        at: String,
        hours: String,
        ad: bool,
    },
    #[error("campaign '{0}' is not live (paused, ended, or outside its dates): its follow-ups wait")]
    NotLive(CampaignId),
    #[error("storage: {0}")]
    Db(#[from] DbError),
    #[error("the send-message queue: {0}")]
    Queue(#[source] StoreError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

impl FollowUpError {
    /// Whether the storage or the queue failed (rather than the input).
    pub fn is_storage(&self) -> bool {
        match self {
            FollowUpError::Db(_) | FollowUpError::Queue(_) => true,
            FollowUpError::Export(e) => e.is_storage(),
            _ => false,
        }
    }
}

/// Due people left without a job, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub no_phone: usize,
    pub suppressed: usize,
    pub unconfirmed: usize,
    pub no_consent: usize,
}

impl Skipped {
    fn count(&mut self, s: Skip) {
        match s {
            Skip::NoPhone => self.no_phone += 1,
            Skip::Suppressed => self.suppressed += 1,
            Skip::Unconfirmed => self.unconfirmed += 1,
            Skip::NoConsent => self.no_consent += 1,
        }
    }
    pub fn total(&self) -> usize {
        self.no_phone + self.suppressed + self.unconfirmed + self.no_consent
    }
}

/// What one run of one follow-up did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FollowUpRun {
    pub campaign: String,
    pub follow_up: String,
    pub ad: bool,
    /// People of the campaign looked at.
    pub people: usize,
    /// Those whose journey makes them due now (`after` and a step's `when`).
    pub due: usize,
    /// Of the due, how many each step took (step 1 first).
    pub by_step: Vec<usize>,
    /// New jobs put on the queue (on a dry run: that would be).
    pub sent: usize,
    /// Jobs of an earlier run that had not reached the queue, sent again with their `job_id`.
    pub resent: usize,
    /// Due people whose customer has this follow-up already (an earlier run, or another
    /// recipient of the same customer).
    pub already: usize,
    pub skipped: Skipped,
    /// When the jobs made now may go (later than now outside the send hours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    pub dry_run: bool,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `https://go.brand.kr`: a person's link is `{base_url}/{code}`.
    pub base_url: String,
    /// Count; write and send nothing.
    pub dry_run: bool,
}

/// A step's message, checked, ready to fill in per person.
enum StepText {
    /// `(광고)`, the brand and the opt-out line, as the campaign's own message.
    Ad(AdTemplate),
    /// A notice: the brand first, no ad label.
    Notice(String),
}

struct Composer {
    steps: Vec<StepText>,
    /// The LMS subject.
    subject: String,
}

impl Composer {
    fn new(c: &Campaign, f: &FollowUp) -> Result<Self, FollowUpError> {
        let brand = c.sender.brand.trim();
        let mut steps = Vec::with_capacity(f.steps.len());
        for (i, s) in f.steps.iter().enumerate() {
            steps.push(if f.ad {
                // The ad law's checks and composition of the campaign's own message, on this
                // step's text.
                let as_campaign = Campaign {
                    message: Some(s.message.clone()),
                    ..c.clone()
                };
                StepText::Ad(AdTemplate::new(&as_campaign).map_err(|source| FollowUpError::Template {
                    follow_up: f.id.clone(),
                    step: i + 1,
                    source,
                })?)
            } else if s.message.contains(brand) {
                StepText::Notice(s.message.trim().to_owned())
            } else {
                StepText::Notice(format!("[{brand}] {}", s.message.trim()))
            });
        }
        let subject = c
            .message_subject
            .as_deref()
            .map_or_else(|| brand.to_owned(), |s| s.trim().to_owned());
        Ok(Composer { steps, subject })
    }

    /// The message of `step` for a person, and the name it carries.
    fn compose(&self, step: usize, name: Option<&str>, link: &str) -> Result<(AdMessage, String), TooLong> {
        let safe = name.and_then(adlaw::safe_name);
        match self.steps.get(step) {
            Some(StepText::Ad(t)) => {
                let m = t.render(name, link)?;
                Ok((m, safe.unwrap_or(NAME_FALLBACK).to_owned()))
            }
            Some(StepText::Notice(body)) => {
                let name = safe.unwrap_or(NAME_FALLBACK);
                Ok((adlaw::message(adlaw::fill(body, name, link))?, name.to_owned()))
            }
            None => Ok((adlaw::message(String::new())?, String::new())),
        }
    }
}

/// Checks every follow-up's messages as a run composes them: the ad law's checks of the
/// campaign's own message on each ad step (no look-alike of `(광고)`, no opt-out line of its
/// own), and the length with a typical name and link. A file is refused for them before a
/// run would fail on them every hour.
pub fn check_messages(c: &Campaign) -> Result<(), FollowUpError> {
    const SAMPLE_LINK: &str = "https://go.brand.kr/AbCdEfGhIj";
    for f in &c.follow_ups {
        let composer = Composer::new(c, f)?;
        for step in 0..f.steps.len() {
            composer
                .compose(step, Some("홍길동"), SAMPLE_LINK)
                .map_err(|source| FollowUpError::MessageTooLong {
                    follow_up: f.id.clone(),
                    step: step + 1,
                    source,
                })?;
        }
    }
    Ok(())
}

impl FollowUpError {
    /// The follow-up a file error is about, to find its line.
    pub fn follow_up(&self) -> Option<&FollowUpId> {
        match self {
            FollowUpError::Template { follow_up, .. }
            | FollowUpError::MessageTooLong { follow_up, .. }
            | FollowUpError::TooLong { follow_up, .. }
            | FollowUpError::OutsideSendHours { follow_up, .. } => Some(follow_up),
            _ => None,
        }
    }
}

/// The campaign and its follow-up, or an error naming the known ones.
async fn find(db: &Db, campaign: &CampaignId, follow_up: &str) -> Result<(Campaign, FollowUp), FollowUpError> {
    let c = db
        .campaign(campaign)
        .await?
        .ok_or_else(|| FollowUpError::UnknownCampaign(campaign.clone()))?
        .campaign;
    let Some(f) = c.follow_ups.iter().find(|f| f.id.as_str() == follow_up).cloned() else {
        let known: Vec<&str> = c.follow_ups.iter().map(|f| f.id.as_str()).collect();
        return Err(FollowUpError::UnknownFollowUp {
            campaign: campaign.clone(),
            follow_up: follow_up.to_owned(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        });
    };
    Ok((c, f))
}

/// Runs `follow_up` of `campaign` over every person of it at `now`.
pub async fn run_follow_up(
    db: &Db,
    queue: &dyn JobQueue,
    campaign: &CampaignId,
    follow_up: &str,
    now: DateTime<Utc>,
    opts: &RunOptions,
) -> Result<FollowUpRun, FollowUpError> {
    let (c, f) = find(db, campaign, follow_up).await?;
    // Their links would lead to an ended-event page: `mcamp follow-ups run` on a paused or
    // ended campaign sends nothing (the schedule runs live campaigns only).
    if !c.is_live(now) {
        return Err(FollowUpError::NotLive(campaign.clone()));
    }
    let composer = Composer::new(&c, &f)?;
    let base = opts.base_url.trim_end_matches('/');
    let mut out = FollowUpRun {
        campaign: campaign.to_string(),
        follow_up: f.id.to_string(),
        ad: f.ad,
        by_step: vec![0; f.steps.len()],
        dry_run: opts.dry_run,
        ..FollowUpRun::default()
    };
    // A dry run reads the records once instead of writing them.
    let mut had: HashSet<CustomerKey> = if opts.dry_run {
        db.follow_up_markers(campaign, &f.id)
            .await?
            .into_iter()
            .map(|m| m.customer)
            .collect()
    } else {
        HashSet::new()
    };
    for shard in 0..keys::SHARDS {
        let mut after: Option<RecipientId> = None;
        loop {
            let (people, next) = db.people_page(campaign, shard, after.as_ref(), PAGE).await?;
            let wanted: Vec<CustomerKey> = people.iter().filter_map(|(r, _)| r.customer.clone()).collect();
            let customers: HashMap<CustomerKey, Customer> = db.customers_by_key(c.brand(), &wanted).await?;
            // Those reached by an earlier run: skipped without a write (a dry run read them all).
            let reached = if opts.dry_run {
                HashMap::new()
            } else {
                db.follow_up_markers_of(campaign, &f.id, &wanted).await?
            };
            for (r, j) in &people {
                out.people += 1;
                if r.erased_at.is_some() {
                    continue;
                }
                let Some(step) = f.step_for(j, now) else {
                    continue;
                };
                out.due += 1;
                if let Some(n) = out.by_step.get_mut(step) {
                    *n += 1;
                }
                let customer = r.customer.as_ref().and_then(|k| customers.get(k));
                let channel = f.steps.get(step).map_or(Channel::Sms, |s| s.channel);
                if let Err(skip) = follow_up::recipient_check(customer, f.ad, channel) {
                    out.skipped.count(skip);
                    continue;
                }
                let Some(customer) = customer else {
                    continue;
                };
                let not_before = f.not_before(now);
                if opts.dry_run {
                    if had.insert(customer.key.clone()) {
                        out.sent += 1;
                        out.not_before = Some(not_before);
                    } else {
                        out.already += 1;
                    }
                    continue;
                }
                if reached.get(&customer.key).is_some_and(|m| m.state == MarkerState::Sent) {
                    out.already += 1;
                    continue;
                }
                let marker = FollowUpMarker {
                    campaign_id: campaign.clone(),
                    follow_up_id: f.id.clone(),
                    customer: customer.key.clone(),
                    recipient_id: r.id.clone(),
                    step: u32::try_from(step + 1).unwrap_or(1),
                    channel,
                    job_id: follow_up::job_id(campaign, &f.id, &r.id),
                    state: MarkerState::Queued,
                    not_before,
                    created_at: now,
                    sent_at: None,
                };
                let (marker, fresh) = match db.mark_follow_up(&marker).await? {
                    None => (marker, true),
                    Some(found) if found.state == MarkerState::Queued => {
                        // An earlier run chose this customer for the record's step and channel,
                        // and its send failed: that channel's consent is checked now.
                        if let Err(skip) = follow_up::recipient_check(Some(customer), f.ad, found.channel) {
                            out.skipped.count(skip);
                            continue;
                        }
                        (found, false)
                    }
                    Some(_) => {
                        out.already += 1;
                        continue;
                    }
                };
                // A record left `queued` by an earlier run may be of another recipient of this
                // customer: its job is for that one.
                let owner = if marker.recipient_id == r.id {
                    r.clone()
                } else {
                    match db.recipient(&marker.recipient_id).await? {
                        Some(o) if o.erased_at.is_none() => o,
                        _ => {
                            out.already += 1;
                            continue;
                        }
                    }
                };
                let mut job = job_for(&c, &f, &composer, &marker, &owner, customer, base)?;
                // A job sent again never falls due earlier than a new one would: not in the
                // past, never at night.
                job.not_before = job.not_before.max(not_before);
                queue
                    .send(QueueId::SendMessage, job.to_json())
                    .await
                    .map_err(FollowUpError::Queue)?;
                db.follow_up_sent(&marker, now).await?;
                if fresh {
                    out.sent += 1;
                    out.not_before = Some(marker.not_before);
                } else {
                    out.resent += 1;
                }
            }
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    Ok(out)
}

/// The job of a record: the same `job_id`, step and `not_before` however often it is made.
fn job_for(
    c: &Campaign,
    f: &FollowUp,
    composer: &Composer,
    m: &FollowUpMarker,
    r: &Recipient,
    customer: &Customer,
    base: &str,
) -> Result<SendMessageJob, FollowUpError> {
    let step = usize::try_from(m.step).unwrap_or(1).saturating_sub(1);
    let link = format!("{base}/{}", r.code);
    let name = r.name.as_deref().or(customer.name.as_deref());
    let (message, shown_name) = composer
        .compose(step, name, &link)
        .map_err(|source| FollowUpError::TooLong {
            follow_up: f.id.clone(),
            recipient: r.id.clone(),
            source,
        })?;
    let def = f.steps.get(step);
    Ok(SendMessageJob {
        schema_version: SEND_MESSAGE_VERSION,
        kind: "send_message".into(),
        job_id: m.job_id.clone(),
        campaign_id: c.id.clone(),
        follow_up_id: f.id.clone(),
        step: m.step,
        recipient_id: r.id.clone(),
        customer: Some(customer.key.clone()),
        channel: m.channel,
        template: def.and_then(|s| s.template.clone()),
        variables: BTreeMap::from([("name".to_owned(), shown_name), ("link".to_owned(), link)]),
        text: message.text,
        subject: (m.channel == Channel::Lms).then(|| composer.subject.clone()),
        ad: f.ad,
        not_before: m.not_before,
        created_at: m.created_at,
    })
}

/// Runs every follow-up of a campaign; what failed is named, the others still run.
pub async fn run_campaign_follow_ups(
    db: &Db,
    queue: &dyn JobQueue,
    c: &Campaign,
    now: DateTime<Utc>,
    opts: &RunOptions,
) -> (Vec<FollowUpRun>, Vec<(String, FollowUpError)>) {
    let mut runs = Vec::new();
    let mut failed = Vec::new();
    for f in &c.follow_ups {
        match run_follow_up(db, queue, &c.id, f.id.as_str(), now, opts).await {
            Ok(r) => runs.push(r),
            Err(e) => failed.push((format!("{}/{}", c.id, f.id), e)),
        }
    }
    (runs, failed)
}

/// How to write a follow-up's send list.
#[derive(Debug, Clone)]
pub struct SendListOptions {
    pub base_url: String,
    /// When the list will be sent: within the follow-up's send hours.
    pub send_at: DateTime<Utc>,
    pub format: SendFormat,
}

/// What a follow-up's send list holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUpSendList {
    pub campaign: String,
    pub follow_up: String,
    pub format: SendFormat,
    pub files: usize,
    pub send_at_kst: String,
    /// Those the follow-up chose.
    pub chosen: usize,
    pub rows: usize,
    /// Rows by step (step 1 first).
    pub by_step: Vec<usize>,
    /// Chosen, and since then suppressed, unconfirmed or without consent: left out.
    pub skipped: Skipped,
    pub max_bytes: usize,
}

/// Writes the send list of those `follow_up` chose (its records), each with their step's
/// message, in the preset's layout and files (`open(n)` opens part `n`): for a sender without
/// an adapter. Everyone is checked again, so whoever opted out since is left out.
pub async fn write_send_list<W, F>(
    db: &Db,
    campaign: &CampaignId,
    follow_up: &str,
    opts: &SendListOptions,
    open: F,
) -> Result<FollowUpSendList, FollowUpError>
where
    W: Write,
    F: FnMut(usize) -> std::io::Result<W>,
{
    let (c, f) = find(db, campaign, follow_up).await?;
    let local = opts.send_at.with_timezone(&adlaw::kst());
    if f.not_before(opts.send_at) != opts.send_at || (f.ad && adlaw::is_night(opts.send_at)) {
        return Err(FollowUpError::OutsideSendHours {
            follow_up: f.id.clone(),
            at: local.format("%Y-%m-%d %H:%M").to_string(),
            hours: f.send_hours.to_string(),
            ad: f.ad,
        });
    }
    let composer = Composer::new(&c, &f)?;
    let base = opts.base_url.trim_end_matches('/');
    let mut markers = db.follow_up_markers(campaign, &f.id).await?;
    markers.sort_by(|a, b| (a.step, &a.recipient_id).cmp(&(b.step, &b.recipient_id)));
    let mut out = FollowUpSendList {
        campaign: campaign.to_string(),
        follow_up: f.id.to_string(),
        format: opts.format,
        files: 0,
        send_at_kst: adlaw::format_kst(opts.send_at),
        chosen: markers.len(),
        rows: 0,
        by_step: vec![0; f.steps.len()],
        skipped: Skipped::default(),
        max_bytes: 0,
    };
    let mut parts = Parts::new(open, opts.format);
    for chunk in markers.chunks(100) {
        let keys: Vec<CustomerKey> = chunk.iter().map(|m| m.customer.clone()).collect();
        let customers: HashMap<CustomerKey, Customer> = db.customers_by_key(c.brand(), &keys).await?;
        // The chosen recipients of the chunk, in one batched read (markers name each once).
        let ids: Vec<RecipientId> = chunk.iter().map(|m| m.recipient_id.clone()).collect();
        let recipients = db.recipients_of(&ids).await?;
        for m in chunk {
            let customer = customers.get(&m.customer);
            // The list goes out as text messages whatever the step's channel: an ad on it
            // needs consent to text ads (a Kakao-only consent does not cover it).
            if let Err(skip) = follow_up::recipient_check(customer, f.ad, Channel::Lms) {
                out.skipped.count(skip);
                continue;
            }
            let (Some(customer), Some(r)) = (customer, recipients.get(&m.recipient_id)) else {
                out.skipped.count(Skip::NoPhone);
                continue;
            };
            let Some(phone) = &customer.phone else {
                out.skipped.count(Skip::NoPhone);
                continue;
            };
            let job = job_for(&c, &f, &composer, m, r, customer, base)?;
            let message = adlaw::message(job.text.clone()).map_err(|source| FollowUpError::TooLong {
                follow_up: f.id.clone(),
                recipient: r.id.clone(),
                source,
            })?;
            let name = job.variables.get("name").map_or("", String::as_str);
            parts.row(&SendRow {
                phone,
                name,
                message: &message,
                subject: &composer.subject,
                recipient: &r.id,
                reconfirm: false,
            })?;
            out.rows += 1;
            out.max_bytes = out.max_bytes.max(message.bytes);
            let step = usize::try_from(m.step).unwrap_or(1).saturating_sub(1);
            if let Some(n) = out.by_step.get_mut(step) {
                *n += 1;
            }
        }
    }
    out.files = parts.finish()?;
    Ok(out)
}

/// A `send_message` job a consumer refused, as it is parked on the dead-letter queue: the
/// reason, and the body as it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeadLetter {
    pub reason: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// Takes a `send_message` job off a message body: what every consumer we ship (and any sender
/// adapter) uses, so they refuse the same messages for the same reasons.
pub fn take_send_message(body: &str) -> Result<SendMessageJob, JobError> {
    SendMessageJob::parse(body)
}

/// What one drain of the send-message queue did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drained {
    /// Jobs handed to the outbox.
    pub accepted: usize,
    /// Jobs whose `job_id` the outbox had already (a redelivery, a resend).
    pub duplicates: usize,
    /// Refused jobs parked on the dead-letter queue with their reason.
    pub dead_lettered: usize,
}

/// One receive from the send-message queue: each job goes to `deliver` (which answers whether
/// it was new, so a redelivered `job_id` is handed over once), each refused message to the
/// dead-letter queue wrapped with its reason (`DeadLetter`). A message is deleted only once it
/// is delivered or parked; a failure leaves it to come back.
pub async fn drain_send_messages<D>(
    queue: &dyn JobQueue,
    wait: Duration,
    now: DateTime<Utc>,
    mut deliver: D,
) -> Result<Drained, StoreError>
where
    D: FnMut(&SendMessageJob) -> std::io::Result<bool>,
{
    let mut out = Drained::default();
    for m in queue
        .receive(QueueId::SendMessage, 10, Duration::from_secs(60), wait)
        .await?
    {
        match take_send_message(&m.body) {
            Ok(job) => match deliver(&job) {
                Ok(true) => out.accepted += 1,
                Ok(false) => out.duplicates += 1,
                Err(e) => {
                    tracing::error!(error = %e, job_id = %job.job_id, "the outbox refused a send-message job; it will come back");
                    continue;
                }
            },
            Err(e) => {
                let reason = e.to_string();
                // The body is logged only by length: it may carry a name, never a phone number.
                tracing::error!(%reason, bytes = m.body.len(), "send-message job sent to the dead-letter queue");
                let parked = DeadLetter {
                    reason,
                    body: m.body.clone(),
                    at: now,
                };
                let text = serde_json::to_string(&parked).unwrap_or_default();
                queue.send(QueueId::SendMessageDlq, text).await?;
                out.dead_lettered += 1;
            }
        }
        queue.ack(QueueId::SendMessage, &m.receipt).await?;
    }
    Ok(out)
}
