//! Follow-ups on both backends: a simulated population (clicked or not, consent confirmed,
//! typed on a form and never confirmed, imported without consent, opted out, with and without
//! night consent, two recipients who are one customer) is sent a message at known times, its
//! clicks go through the aggregator, and the follow-ups' runs put on the send-message queue
//! exactly the jobs a plain loop over the population's description expects: nothing before
//! 24 h, each job once however often it runs, never to a suppressed or unconfirmed customer,
//! never an ad due at night. A consumer dead-letters a job of an unknown version with its
//! reason.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration as StdDuration;

use anyhow::{Context, ensure};
use chrono::{DateTime, Duration, Utc};
use mcamp_core::consent::{ConsentChange, Purpose, Source};
use mcamp_core::customer::CustomerKey;
use mcamp_core::events::{Attribution, Event, EventData, MessageChannel};
use mcamp_core::follow_up::Channel;
use mcamp_core::jobs::SendMessageJob;
use mcamp_core::recipient::{NewRecipient, Recipient};
use mcamp_core::values::RecipientId;
use mcamp_ops::follow_ups::{DeadLetter, FollowUpError, RunOptions, run_follow_up};
use mcamp_store::aggregate::Record;
use mcamp_store::customers::CustomerChange;
use mcamp_store::follow_ups::MarkerState;
use mcamp_store::ports::{JobQueue, QueueId};
use mcamp_store::recipients::Added;
use mcamp_tests::{Backend, contract};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CAMPAIGN: &str = "id: fu-test
name: 후속 메시지 테스트
sender: {brand: 테스트브랜드, opt_out_080: 080-000-0000}
share: {title: 테스트, description: 설명}
message: \"[테스트브랜드] {name}님, 봄 세일이에요 {link}\"
follow_ups:
  - id: day-after
    name: 다음날 후속
    after: since sent >= 24h
    steps:
      - when: clicked
        channel: kakao
        template: detail_a
        message: \"{name}님, 보신 상품의 상세 안내예요 {link}\"
      - when: not clicked
        channel: lms
        message: \"{name}님, 놓치신 봄 세일 혜택이 있어요 {link}\"
  - id: receipt
    after: since sent >= 24h
    ad: false
    send_hours: \"07:00-22:00\"
    steps:
      - channel: sms
        message: \"{name}님, 주문 안내는 여기서 확인하세요 {link}\"
";

/// What a person's customer consented to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consent {
    /// Imported by the brand with confirmed marketing consent (SMS; Kakao when `kakao`).
    Confirmed { kakao: bool },
    /// Typed on a form and never confirmed by the phone's owner; not the brand's import.
    Unconfirmed,
    /// Imported by the brand without marketing consent (none given, or refused).
    Refused,
}

/// One simulated person, as the test describes them.
#[derive(Debug, Clone)]
struct Person {
    consent: Consent,
    /// Opted out after their consent.
    suppressed: bool,
    night: bool,
    clicked: bool,
    /// When their message went out (`None`: never sent to).
    sent_at: Option<DateTime<Utc>>,
}

impl Person {
    /// The day-after follow-up's step (1-based) and channel, when due at `now`.
    fn day_after_step(&self, now: DateTime<Utc>) -> Option<(u32, Channel)> {
        let due = self.sent_at.is_some_and(|s| now - s >= Duration::hours(24));
        due.then_some(if self.clicked {
            (1, Channel::Kakao)
        } else {
            (2, Channel::Lms)
        })
    }
    /// Whether an ad by `channel` may go to them (by day).
    fn ad_ok(&self, channel: Channel) -> bool {
        !self.suppressed
            && match self.consent {
                Consent::Confirmed { kakao } => channel != Channel::Kakao || kakao,
                Consent::Unconfirmed | Consent::Refused => false,
            }
    }
    /// Whether a notice may go to them: never suppressed, never an unconfirmed phone.
    fn notice_ok(&self) -> bool {
        !self.suppressed && self.consent != Consent::Unconfirmed
    }
}

/// The jobs a plain loop over the population expects by `now`, as recipient index → (step,
/// channel), for one follow-up, once per customer (`customer_of[i]` is person i's customer
/// index).
fn expected(
    people: &[Person],
    customer_of: &[usize],
    now: DateTime<Utc>,
    follow_up: &str,
) -> BTreeMap<usize, (u32, Channel)> {
    let mut out = BTreeMap::new();
    let mut customers = HashSet::new();
    for (i, p) in people.iter().enumerate() {
        let Some((step, channel)) = p.day_after_step(now) else {
            continue;
        };
        let (step, channel, ok) = match follow_up {
            "day-after" => (step, channel, p.ad_ok(channel)),
            _ => (1, Channel::Sms, p.notice_ok()),
        };
        if ok && customers.insert(customer_of[i]) {
            out.insert(i, (step, channel));
        }
    }
    out
}

/// Every job on the send-message queue, received and deleted.
async fn take_jobs(q: &dyn JobQueue) -> anyhow::Result<Vec<SendMessageJob>> {
    let mut out = Vec::new();
    loop {
        let got = q
            .receive(
                QueueId::SendMessage,
                10,
                StdDuration::from_secs(60),
                StdDuration::from_secs(1),
            )
            .await?;
        if got.is_empty() {
            return Ok(out);
        }
        for m in got {
            out.push(SendMessageJob::parse(&m.body).map_err(|e| anyhow::anyhow!("{e}: {}", m.body))?);
            q.ack(QueueId::SendMessage, &m.receipt).await?;
        }
    }
}

async fn a_follow_up_sends_each_job_once_and_only_where_allowed(b: Backend) -> anyhow::Result<()> {
    let app = b.app();
    let db = &app.db;
    let queue = app.queue.as_ref();
    let campaign = mcamp_ops::campaign_file::parse("fu.yaml", CAMPAIGN)?;
    // Sent at 10:00 KST on the 29th; a late group at 22:00 KST the same day.
    let sent: DateTime<Utc> = "2026-11-29T01:00:00Z".parse()?;
    let late = sent + Duration::hours(12);
    db.push_campaign(&campaign, sent - Duration::days(1)).await?;

    // The population: 40 recipients with their own phones, and a 41st who is person 0's
    // customer (arrived without a phone, then linked to the same customer).
    let mut rng = StdRng::seed_from_u64(1818);
    let mut people: Vec<Person> = (0..40)
        .map(|i| {
            let consent = match rng.gen_range(0..10) {
                0..=5 => Consent::Confirmed {
                    kakao: rng.gen_bool(0.6),
                },
                6 | 7 => Consent::Unconfirmed,
                _ => Consent::Refused,
            };
            Person {
                consent,
                suppressed: matches!(consent, Consent::Confirmed { .. }) && rng.gen_bool(0.2),
                night: rng.gen_bool(0.5),
                clicked: rng.gen_bool(0.5),
                sent_at: match i % 8 {
                    0 => None,
                    1 | 2 => Some(late),
                    _ => Some(sent),
                },
            }
        })
        .collect();
    // Person 0 is the shared customer: confirmed for both media, sent on time, one of their
    // recipients clicked and the other did not.
    people[0] = Person {
        consent: Consent::Confirmed { kakao: true },
        suppressed: false,
        night: true,
        clicked: true,
        sent_at: Some(sent),
    };
    let twin = Person {
        clicked: false,
        ..people[0].clone()
    };
    let mut recipients: Vec<Recipient> = mcamp_tests::recipients(db, &campaign, 40).await?;
    recipients.sort_by_key(|r| r.phone.as_ref().map(|p| p.as_str().to_owned()));
    let twin_r = match db
        .add_recipient(&campaign, NewRecipient::default(), None, sent - Duration::days(1))
        .await?
    {
        Added::Created(r) => *r,
        Added::Duplicate(_) => anyhow::bail!("a recipient without a phone is never a duplicate"),
    };
    people.push(twin);
    recipients.push(twin_r);
    let mut customer_of: Vec<usize> = (0..40).collect();
    customer_of.push(0);
    ensure!(people.len() == recipients.len());

    // Their customers, as the import, the form and the opt-out would leave them.
    let brand = campaign.brand().clone();
    let key_of = |i: usize| -> anyhow::Result<CustomerKey> {
        recipients[customer_of[i]].customer.clone().context("a customer key")
    };
    let grant = |purpose, source, confirmed| ConsentChange {
        purpose,
        granted: true,
        wording_version: "v1".into(),
        source,
        confirmed,
    };
    let at = sent - Duration::days(1);
    for (i, p) in people.iter().enumerate().take(40) {
        let key = key_of(i)?;
        let r = &recipients[i];
        let mut change = CustomerChange::new(&brand, &key, at);
        change.phone = r.phone.clone();
        change.name = r.name.clone();
        change.recipient = Some(r);
        match p.consent {
            Consent::Confirmed { kakao } => {
                change.imported = true;
                change.consents.push(grant(Purpose::MarketingSms, Source::Import, true));
                if kakao {
                    change
                        .consents
                        .push(grant(Purpose::MarketingKakao, Source::Import, true));
                }
                if p.night {
                    change.consents.push(grant(Purpose::Night, Source::Import, true));
                }
            }
            Consent::Unconfirmed => {
                change.consents.push(grant(Purpose::Privacy, Source::Form, false));
                change.consents.push(grant(Purpose::MarketingSms, Source::Form, false));
                change
                    .consents
                    .push(grant(Purpose::MarketingKakao, Source::Form, false));
            }
            Consent::Refused => change.imported = true,
        }
        db.change_customer(&change).await?;
        if p.suppressed {
            let mut out = CustomerChange::new(&brand, &key, at + Duration::hours(1));
            out.suppress = Some(Source::OptOutLink);
            db.change_customer(&out).await?;
        }
    }
    // The twin becomes person 0's customer.
    let key0 = key_of(0)?;
    let mut link = CustomerChange::new(&brand, &key0, at);
    link.recipient = Some(&recipients[40]);
    db.change_customer(&link).await?;

    // Their messages and clicks, counted by the aggregator.
    let mut records = Vec::new();
    for (p, r) in people.iter().zip(&recipients) {
        let who = Attribution::from(r);
        if let Some(s) = p.sent_at {
            let data = EventData::MessageSent {
                channel: MessageChannel::Lms,
                sender: "generic".into(),
                message_id: None,
            };
            records.push(Record::Event(Box::new(
                Event::new(campaign.id.clone(), s, data).by(who.clone()),
            )));
            if p.clicked {
                let data = EventData::Click {
                    code: r.code.clone(),
                    client: mcamp_tests::android_phone(None),
                    first: true,
                };
                let e = Event::new(campaign.id.clone(), s + Duration::hours(2), data).by(who);
                records.push(Record::Event(Box::new(e)));
            }
        }
    }
    db.aggregate(&records, sent + Duration::hours(3)).await?;

    let opts = RunOptions {
        base_url: "https://go.brand.kr".into(),
        dry_run: false,
    };
    let index: BTreeMap<RecipientId, usize> = recipients.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
    let depth = || async { anyhow::Ok(queue.depth(QueueId::SendMessage).await?) };

    // 23 hours after: nobody is due.
    let early = sent + Duration::hours(23);
    for f in ["day-after", "receipt"] {
        let r = run_follow_up(db, queue, &campaign.id, f, early, &opts).await?;
        ensure!(r.due == 0 && r.sent == 0, "{f} before 24 h: {r:?}");
    }
    ensure!(depth().await? == 0);

    // 25 hours after, 11:00 KST: the on-time group. A dry run first: counts, writes nothing.
    let day = sent + Duration::hours(25);
    let want_ad = expected(&people, &customer_of, day, "day-after");
    let want_notice = expected(&people, &customer_of, day, "receipt");
    ensure!(
        want_ad.len() >= 6 && want_notice.len() > want_ad.len() / 2,
        "a population with jobs and refusals: {} ads, {} notices",
        want_ad.len(),
        want_notice.len()
    );
    let dry = run_follow_up(
        db,
        queue,
        &campaign.id,
        "day-after",
        day,
        &RunOptions {
            dry_run: true,
            ..opts.clone()
        },
    )
    .await?;
    ensure!(dry.sent == want_ad.len(), "dry run: {dry:?}");
    ensure!(depth().await? == 0, "a dry run sends nothing");

    let due_now = people.iter().filter(|p| p.day_after_step(day).is_some()).count();
    let first = run_follow_up(db, queue, &campaign.id, "day-after", day, &opts).await?;
    ensure!(first.due == due_now, "due: {first:?}");
    ensure!(
        first.sent == want_ad.len() && first.resent == 0,
        "{first:?} want {}",
        want_ad.len()
    );
    // The twin or person 0 (the one processed second) found the customer's record.
    ensure!(first.already == 1, "the shared customer once: {first:?}");
    let skipped_by_loop = people
        .iter()
        .filter(|p| p.day_after_step(day).is_some_and(|(_, ch)| !p.ad_ok(ch)))
        .count();
    ensure!(first.skipped.total() == skipped_by_loop, "{:?}", first.skipped);
    ensure!(first.not_before == Some(day), "made in the send hours: go now");
    let notice = run_follow_up(db, queue, &campaign.id, "receipt", day, &opts).await?;
    ensure!(
        notice.sent == want_notice.len(),
        "{notice:?} want {}",
        want_notice.len()
    );
    let total = want_ad.len() + want_notice.len();
    ensure!(depth().await? == total, "queue holds each job");

    // Run again (and again): no new job; the queue is as it was.
    for _ in 0..2 {
        for f in ["day-after", "receipt"] {
            let again = run_follow_up(db, queue, &campaign.id, f, day + Duration::minutes(5), &opts).await?;
            ensure!(again.sent == 0 && again.resent == 0, "{f} again: {again:?}");
        }
    }
    ensure!(depth().await? == total, "reruns sent nothing");

    // The jobs, received: exactly the expected recipients, steps and channels.
    let jobs = take_jobs(queue).await?;
    ensure!(jobs.len() == total);
    let ids: HashSet<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    ensure!(ids.len() == total, "distinct job ids");
    for (name, want) in [("day-after", &want_ad), ("receipt", &want_notice)] {
        let mut got = BTreeMap::new();
        for j in jobs.iter().filter(|j| j.follow_up_id.as_str() == name) {
            let i = *index
                .get(&j.recipient_id)
                .context("a job for a recipient of the campaign")?;
            // The shared customer's job is for whichever recipient came first: check it as
            // person 0's slot with that recipient's own step.
            let slot = customer_of[i];
            let step = match name {
                "day-after" => people[i].day_after_step(day),
                _ => Some((1, Channel::Sms)),
            };
            ensure!(got.insert(slot, step).is_none(), "{name}: one job per customer");
            ensure!(j.not_before == day && j.created_at == day, "{j:?}");
            ensure!(!j.text.contains("010-"), "no phone number in a job");
            ensure!(
                j.variables
                    .get("link")
                    .is_some_and(|l| l.ends_with(recipients[i].code.as_str()))
            );
            ensure!(j.ad == (name == "day-after"));
            if j.ad {
                ensure!(
                    j.text.starts_with("(광고)") && j.text.contains("무료수신거부 080-000-0000"),
                    "{}",
                    j.text
                );
                ensure!(Some(j.channel) == step.map(|s| s.1), "{j:?}");
                ensure!((j.channel == Channel::Kakao) == (j.template.as_deref() == Some("detail_a")));
            } else {
                ensure!(!j.text.contains("(광고)"), "{}", j.text);
            }
        }
        let want: BTreeMap<usize, Option<(u32, Channel)>> = want.iter().map(|(i, s)| (*i, Some(*s))).collect();
        // Person 0's slot: either recipient's step is right.
        let mut got_cmp = got.clone();
        if let (Some(g), Some(w)) = (got.get(&0), want.get(&0))
            && g != w
            && name == "day-after"
        {
            ensure!(*g == people[40].day_after_step(day), "the twin's own step");
            got_cmp.insert(0, *w);
        }
        ensure!(got_cmp == want, "{name}: jobs {got:?}\nexpected {want:?}");
    }
    // Every record says sent.
    let day_after = mcamp_core::follow_up::FollowUpId::parse("day-after")?;
    let markers = db.follow_up_markers(&campaign.id, &day_after).await?;
    ensure!(markers.len() == want_ad.len() && markers.iter().all(|m| m.state == MarkerState::Sent));

    // The send list of the same people, for a sender without an adapter: at night refused,
    // the next morning one row per job, the ad law's text in each.
    let list_opts = |send_at| mcamp_ops::follow_ups::SendListOptions {
        base_url: "https://go.brand.kr".into(),
        send_at,
        format: mcamp_ops::export::SendFormat::Generic,
    };
    let night = sent + Duration::hours(36); // 22:00 KST
    let refused = mcamp_ops::follow_ups::write_send_list(db, &campaign.id, "day-after", &list_opts(night), |_| {
        Ok(std::io::sink())
    })
    .await;
    ensure!(
        matches!(refused, Err(FollowUpError::OutsideSendHours { ad: true, .. })),
        "{refused:?}"
    );
    let parts = mcamp_ops::export::MemoryParts::default();
    let list =
        mcamp_ops::follow_ups::write_send_list(db, &campaign.id, "day-after", &list_opts(day), parts.opener()).await?;
    ensure!(list.rows == want_ad.len() && list.skipped.total() == 0, "{list:?}");
    let csv_bytes = parts.take().concat();
    let body = csv_bytes.strip_prefix(mcamp_ops::export::BOM).unwrap_or(&csv_bytes);
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(body).records().collect::<Result<_, _>>()?;
    ensure!(rows.len() == want_ad.len());
    ensure!(rows.iter().all(|r| r.get(2).is_some_and(|m| m.starts_with("(광고)"))));

    // 22:00 KST: the late group is due. A run whose sends fail leaves its first record
    // `queued`; the next run sends that job again with the same id, and the others; none of
    // them may go before 09:00 KST the next morning.
    let want_late = expected(&people, &customer_of, night, "day-after");
    let new_late: BTreeSet<usize> = want_late.keys().filter(|i| !want_ad.contains_key(i)).copied().collect();
    ensure!(!new_late.is_empty(), "a late group with ads");
    let broken = mcamp_tests::FlakyQueue::new(b.queue.clone(), 1.0, 7);
    let failed = run_follow_up(db, &broken, &campaign.id, "day-after", night, &opts).await;
    ensure!(matches!(failed, Err(FollowUpError::Queue(_))), "{failed:?}");
    let next = run_follow_up(
        db,
        queue,
        &campaign.id,
        "day-after",
        night + Duration::minutes(5),
        &opts,
    )
    .await?;
    ensure!(
        next.resent == 1 && next.sent + next.resent == new_late.len(),
        "{next:?}"
    );
    let morning: DateTime<Utc> = "2026-11-30T00:00:00Z".parse::<DateTime<Utc>>()? + Duration::days(1);
    let late_jobs = take_jobs(queue).await?;
    ensure!(late_jobs.len() == new_late.len(), "{} jobs", late_jobs.len());
    let got: BTreeSet<usize> = late_jobs
        .iter()
        .filter_map(|j| index.get(&j.recipient_id).copied())
        .collect();
    ensure!(got == new_late, "late jobs {got:?}, expected {new_late:?}");
    for j in &late_jobs {
        ensure!(j.not_before == morning, "not before 09:00 KST: {}", j.not_before);
        ensure!(!mcamp_ops::adlaw::is_night(j.not_before));
        let i = index.get(&j.recipient_id).copied().context("recipient")?;
        ensure!(want_late.get(&i).map(|s| s.1) == Some(j.channel));
    }
    ensure!(
        ids.is_disjoint(&late_jobs.iter().map(|j| j.job_id.as_str()).collect()),
        "new jobs, new ids"
    );

    // A paused campaign's follow-ups wait, whoever runs them.
    db.set_campaign_status(&campaign.id, mcamp_core::campaign::CampaignStatus::Paused, morning)
        .await?;
    match run_follow_up(db, queue, &campaign.id, "day-after", morning, &opts).await {
        Err(mcamp_ops::follow_ups::FollowUpError::NotLive(_)) => {}
        other => anyhow::bail!("a paused campaign's follow-up ran: {other:?}"),
    }
    Ok(())
}

contract!(
    follow_ups,
    super::a_follow_up_sends_each_job_once_and_only_where_allowed
);

/// A consumer we ship (the local gateway's outbox drain, through `take_send_message`): a job of
/// an unknown version goes to the dead-letter queue with its reason, a good one is delivered,
/// and a redelivered job id is delivered once.
async fn a_send_message_job_of_an_unknown_version_is_dead_lettered(b: Backend) -> anyhow::Result<()> {
    let q = b.queue.as_ref();
    let now: DateTime<Utc> = "2026-11-30T02:00:00Z".parse()?;
    let good = SendMessageJob {
        schema_version: 1,
        kind: "send_message".into(),
        job_id: "00112233445566778899aabbccddeeff".into(),
        campaign_id: mcamp_core::values::CampaignId::parse("fu-test")?,
        follow_up_id: mcamp_core::follow_up::FollowUpId::parse("day-after")?,
        step: 1,
        recipient_id: RecipientId::generate(),
        customer: None,
        channel: Channel::Sms,
        template: None,
        variables: BTreeMap::new(),
        text: "[테스트브랜드] 안내".into(),
        subject: None,
        ad: false,
        not_before: now,
        created_at: now,
    };
    let mut v2: serde_json::Value = serde_json::from_str(&good.to_json())?;
    v2["schema_version"] = 2.into();
    q.send(QueueId::SendMessage, good.to_json()).await?;
    q.send(QueueId::SendMessage, v2.to_string()).await?;
    q.send(QueueId::SendMessage, good.to_json()).await?;
    let mut seen = HashSet::new();
    let mut total = mcamp_ops::follow_ups::Drained::default();
    while total.accepted + total.duplicates + total.dead_lettered < 3 {
        let d = mcamp_ops::follow_ups::drain_send_messages(q, StdDuration::from_secs(1), now, |j| {
            Ok(seen.insert(j.job_id.clone()))
        })
        .await?;
        ensure!(d != mcamp_ops::follow_ups::Drained::default(), "the drain took nothing");
        total.accepted += d.accepted;
        total.duplicates += d.duplicates;
        total.dead_lettered += d.dead_lettered;
    }
    ensure!(
        (total.accepted, total.duplicates, total.dead_lettered) == (1, 1, 1),
        "{total:?}"
    );
    ensure!(q.depth(QueueId::SendMessage).await? == 0, "all taken off the queue");
    let parked = q
        .receive(
            QueueId::SendMessageDlq,
            10,
            StdDuration::from_secs(30),
            StdDuration::from_secs(1),
        )
        .await?;
    ensure!(parked.len() == 1);
    let dead: DeadLetter = serde_json::from_str(&parked[0].body)?;
    ensure!(
        dead.reason.contains("unknown send_message schema_version 2"),
        "{}",
        dead.reason
    );
    ensure!(dead.body == v2.to_string().as_str() && dead.at == now);
    Ok(())
}

contract!(
    send_message_dead_letters,
    super::a_send_message_job_of_an_unknown_version_is_dead_lettered
);
