//! The aggregator over the events table's real stream (moto's DynamoDB Streams, the embedded
//! store's change feed), fed through the Lambda handler: a known set of events, every record
//! delivered twice and out of order, the first pass under injected faults, and every counter,
//! the funnel, the share credit over three hops, the people filter and bounce checked against
//! figures this test computes from the raw events itself.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Context, ensure};
use chrono::{DateTime, Duration, Utc};
use mcamp_core::analytics::Stage;
use mcamp_core::client::{AgentKind, Browser, ClientInfo, Device, InApp, Os};
use mcamp_core::consent::{Purpose, Source};
use mcamp_core::events::{Attribution, Event, EventData, FailureReason, MessageChannel, ShareChannel};
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{CouponCode, RecipientId, StoreId};
use mcamp_store::keys;
use mcamp_store::ports::{ChangeRecord, Item, TableId};
use mcamp_tests::{Backend, Faults, FaultyTable, contract};
use serde_json::json;

fn human(in_app: Option<InApp>) -> ClientInfo {
    mcamp_tests::android_phone(in_app)
}

fn bot() -> ClientInfo {
    ClientInfo {
        agent: AgentKind::PreviewBot,
        bot_name: Some("kakaotalk-scrap".into()),
        os: Os::Other,
        device: Device::Bot,
        in_app: None,
        browser: Browser::Other,
    }
}

/// A deterministic shuffle.
fn shuffled<T: Clone>(v: &[T], seed: u64) -> Vec<T> {
    let mut out = v.to_vec();
    let mut s = seed | 1;
    for i in (1..out.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        out.swap(i, (s % (i as u64 + 1)) as usize);
    }
    out
}

/// Delivers `changes` to the Lambda handler in batches of `size`, as the event source mapping
/// does: a batch that reports a failure is delivered again from that record on.
async fn deliver(app: &mcamp_app::App, changes: &[ChangeRecord], size: usize) -> anyhow::Result<usize> {
    let mut redeliveries = 0;
    for batch in changes.chunks(size) {
        let mut rest = batch;
        for _ in 0..50 {
            let resp = mcamp_aggregator::handle(app, mcamp_tests::stream_event(rest)?).await;
            let Some(failed) = resp.batch_item_failures.first() else {
                rest = &[];
                break;
            };
            let id = failed
                .item_identifier
                .clone()
                .context("the failed record's sequence number")?;
            let at = rest
                .iter()
                .position(|c| c.sequence == id)
                .context("the failure names a record of the batch")?;
            rest = &rest[at..];
            redeliveries += 1;
        }
        ensure!(rest.is_empty(), "a batch never went through");
    }
    Ok(redeliveries)
}

/// The events of the story: six imported people sent a message, a share chain A → B → C → D,
/// clicks from several in-app browsers, views that bounce and views that do not, coupons
/// claimed, issued and redeemed at two stores, Kakao share deliveries to two rooms.
fn story(c: &mcamp_core::campaign::Campaign, r: &[Recipient], chain: &[Recipient; 3]) -> anyhow::Result<Vec<Event>> {
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-30T09:00:00+09:00")?.with_timezone(&Utc);
    let m = Duration::minutes;
    let coupon = c.coupons.first().context("a coupon")?.id.clone();
    let code = CouponCode::parse("7KQ3M9XH2TRA")?;
    let code2 = CouponCode::parse("8KQ3M9XH2TRB")?;
    let (b, cc, d) = (&chain[0], &chain[1], &chain[2]);
    let a = &r[0];
    let ev = |who: &Recipient, at: Duration, data: EventData| {
        Event::new(c.id.clone(), t0 + at, data).by(Attribution::from(who))
    };
    let with_variant = |mut e: Event, v: &str| {
        e.variant = Some(v.into());
        e
    };
    let click = |who: &Recipient, at, in_app, first| {
        ev(
            who,
            at,
            EventData::Click {
                code: who.code.clone(),
                client: human(in_app),
                first,
            },
        )
    };
    let view = |who: &Recipient, at| ev(who, at, EventData::PageView { page: "mdm".into() });
    let mut out = Vec::new();
    for (i, p) in r.iter().enumerate() {
        out.push(ev(
            p,
            m(i as i64),
            EventData::MessageSent {
                channel: MessageChannel::Lms,
                sender: "nhn".into(),
                message_id: Some(format!("m{i}")),
            },
        ));
        if i < 5 {
            out.push(ev(
                p,
                m(i as i64 + 1),
                EventData::MessageDelivered {
                    channel: MessageChannel::Lms,
                    sender: "nhn".into(),
                    message_id: Some(format!("m{i}")),
                },
            ));
        } else {
            out.push(ev(
                p,
                m(30),
                EventData::MessageFailed {
                    channel: MessageChannel::Lms,
                    sender: "nhn".into(),
                    reason: FailureReason::OptedOut,
                    code: Some("1061".into()),
                    message_id: Some(format!("m{i}")),
                },
            ));
        }
    }
    let previewed = EventData::Preview {
        code: a.code.clone(),
        client: bot(),
    };
    out.push(Event::new(c.id.clone(), t0 + m(59), previewed.clone()).by(Attribution::owner(Some(a.id.clone()))));
    out.push(Event::new(c.id.clone(), t0 + m(90), previewed.clone()).by(Attribution::owner(Some(a.id.clone()))));
    out.push(Event::new(c.id.clone(), t0 + m(91), previewed));
    // A: clicks twice, views three times, gives consent, claims, gets and redeems a coupon.
    out.push(with_variant(click(a, m(60), Some(InApp::Kakaotalk), true), "a"));
    out.push(with_variant(view(a, m(61)), "a"));
    out.push(with_variant(
        ev(
            a,
            m(62),
            EventData::FormSubmitted {
                fields: vec!["name".into(), "phone".into()],
            },
        ),
        "a",
    ));
    for purpose in [Purpose::MarketingSms, Purpose::MarketingKakao] {
        out.push(with_variant(
            ev(
                a,
                m(62),
                EventData::ConsentChanged {
                    purpose,
                    granted: true,
                    wording_version: "2026-11".into(),
                    channel: Source::Form,
                    confirmed: true,
                },
            ),
            "a",
        ));
    }
    out.push(with_variant(
        ev(
            a,
            m(63),
            EventData::CouponClaimed {
                coupon_id: coupon.clone(),
                claim_id: "claimA".into(),
            },
        ),
        "a",
    ));
    out.push(with_variant(
        ev(
            a,
            m(63),
            EventData::CouponIssued {
                coupon_id: coupon.clone(),
                claim_id: "claimA".into(),
                code: code.clone(),
            },
        ),
        "a",
    ));
    out.push(with_variant(
        ev(
            a,
            m(100),
            EventData::CouponRedeemed {
                coupon_id: coupon.clone(),
                code,
                store_id: StoreId::parse("hongdae-02")?,
            },
        ),
        "a",
    ));
    out.push(with_variant(click(a, m(150), None, false), "a"));
    out.push(with_variant(view(a, m(151)), "a"));
    out.push(with_variant(view(a, m(24 * 60 + 60)), "a"));
    // A's Kakao shares: two rooms (one reported twice) and one to themself.
    for (at, chat_type, chat) in [
        (m(183), "MultiChat", Some("room-1")),
        (m(184), "MultiChat", Some("room-1")),
        (m(185), "DirectChat", Some("room-2")),
        (m(186), "MemoChat", None),
    ] {
        out.push(
            Event::new(
                c.id.clone(),
                t0 + at,
                EventData::ShareDelivered {
                    share_code: a.code.clone(),
                    chat_type: Some(chat_type.into()),
                    chat: chat.map(str::to_owned),
                },
            )
            .by(Attribution::owner(Some(a.id.clone()))),
        );
    }
    // How far down the page each visit got (the beacon when the page is left): A twice, the
    // deepest counts; r1 and C left without doing anything.
    let depth = |who: &Recipient, at, block: &str| {
        ev(
            who,
            at,
            EventData::Interaction {
                action: "page_depth".into(),
                target: Some(block.into()),
            },
        )
    };
    out.push(with_variant(depth(a, m(64), "3"), "a"));
    out.push(with_variant(depth(a, m(152), "1"), "a"));
    out.push(with_variant(depth(&r[1], m(67), "0"), "b"));
    out.push(depth(cc, m(192), "2"));
    // r3's consent came with the import (the CRM's), not through the campaign.
    out.push(ev(
        &r[3],
        m(5),
        EventData::ConsentChanged {
            purpose: Purpose::MarketingSms,
            granted: true,
            wording_version: "crm".into(),
            channel: Source::Import,
            confirmed: true,
        },
    ));
    // r1 views and leaves; r2 taps and claims (not issued yet); r4 opts out.
    out.push(with_variant(click(&r[1], m(65), None, true), "b"));
    out.push(with_variant(view(&r[1], m(66)), "b"));
    out.push(click(&r[2], m(70), Some(InApp::Naver), true));
    out.push(view(&r[2], m(71)));
    out.push(ev(
        &r[2],
        m(72),
        EventData::Interaction {
            action: "cta_tap".into(),
            target: Some("menu".into()),
        },
    ));
    out.push(ev(
        &r[2],
        m(73),
        EventData::CouponClaimed {
            coupon_id: coupon.clone(),
            claim_id: "claimR2".into(),
        },
    ));
    out.push(ev(
        &r[4],
        m(360),
        EventData::OptedOut {
            channel: Source::OptOutLink,
        },
    ));
    // r3 rated the store on its poster; C claimed too late (sold out).
    let store = StoreId::parse("gangnam-01")?;
    out.push(ev(
        &r[3],
        m(400),
        EventData::SurveyStarted {
            store_id: Some(store.clone()),
        },
    ));
    out.push(ev(
        &r[3],
        m(402),
        EventData::SurveyCompleted {
            answered: 3,
            store_id: Some(store),
        },
    ));
    out.push(ev(
        cc,
        m(193),
        EventData::CouponClaimed {
            coupon_id: coupon.clone(),
            claim_id: "claimC".into(),
        },
    ));
    out.push(ev(
        cc,
        m(194),
        EventData::CouponSoldOut {
            coupon_id: coupon.clone(),
            claim_id: "claimC".into(),
        },
    ));
    // The chain: B came through A and shares on, C through B, D through C; D redeems.
    out.push(click(b, m(180), Some(InApp::Kakaotalk), true));
    out.push(view(b, m(181)));
    out.push(ev(
        b,
        m(182),
        EventData::ShareIntent {
            channel: ShareChannel::Kakao,
            share_code: b.code.clone(),
        },
    ));
    out.push(click(cc, m(190), None, true));
    out.push(view(cc, m(191)));
    out.push(click(d, m(240), Some(InApp::Kakaotalk), true));
    out.push(view(d, m(241)));
    out.push(ev(
        d,
        m(242),
        EventData::CouponClaimed {
            coupon_id: coupon.clone(),
            claim_id: "claimD".into(),
        },
    ));
    out.push(ev(
        d,
        m(242),
        EventData::CouponIssued {
            coupon_id: coupon.clone(),
            claim_id: "claimD".into(),
            code: code2.clone(),
        },
    ));
    out.push(ev(
        d,
        m(24 * 60 + 180),
        EventData::CouponRedeemed {
            coupon_id: coupon,
            code: code2,
            store_id: StoreId::parse("gangnam-01")?,
        },
    ));
    out.push(click(d, m(24 * 60 + 179), None, false));
    Ok(out)
}

/// The people (recipient ids) with an event the predicate picks.
fn people(events: &[Event], pick: impl Fn(&EventData) -> bool) -> BTreeSet<RecipientId> {
    events
        .iter()
        .filter(|e| pick(&e.data))
        .filter_map(|e| e.recipient_id.clone())
        .collect()
}

fn count(events: &[Event], pick: impl Fn(&EventData) -> bool) -> i64 {
    events.iter().filter(|e| pick(&e.data)).count() as i64
}

async fn aggregator_counts_every_event_once(b: Backend) -> anyhow::Result<()> {
    let app = b.app();
    let db = &app.db;
    let campaign = mcamp_tests::campaign_with_coupon("stats-story", 100)?;
    db.push_campaign(&campaign, app.now()).await?;
    let mut r = mcamp_tests::recipients(db, &campaign, 6).await?;
    r.sort_by(|x, y| x.id.cmp(&y.id));
    let bv = db.add_visitor(&r[0], &campaign, 100, None, app.now()).await?;
    let cv = db.add_visitor(&bv, &campaign, 100, None, app.now()).await?;
    let dv = db.add_visitor(&cv, &campaign, 100, None, app.now()).await?;
    let events = story(&campaign, &r, &[bv.clone(), cv.clone(), dv.clone()])?;
    for e in &events {
        db.append_event(e).await?;
    }
    // Two records the aggregator does not know: a newer type and a newer version of a known type.
    let mut future: Item = item(json!({
        "pk": keys::events(&campaign.id, 0), "sk": "2026-11-30T03:00:00.000Z#Fz0000000000000000000",
        "schema_version": 1, "event_id": "Fz0000000000000000000", "at": "2026-11-30T03:00:00Z",
        "campaign_id": campaign.id, "type": "future_thing", "detail": "?",
    }))?;
    b.table.put(TableId::Events, future.clone(), None).await?;
    let mut v9 = serde_json::to_value(events.first().context("an event")?)?;
    v9["schema_version"] = json!(9);
    v9["event_id"] = json!("V9z000000000000000000");
    v9["pk"] = json!(keys::events(&campaign.id, 1));
    v9["sk"] = json!("2026-11-30T03:00:01.000Z#V9z000000000000000000");
    future = item(v9)?;
    b.table.put(TableId::Events, future, None).await?;

    // The stream, twice over, out of order; the first pass meets throttling, conflicts and
    // writes that land but answer with an error.
    let changes = b.feed.changes(TableId::Events, None, 10_000).await?;
    ensure!(
        changes.len() == events.len() + 2,
        "{}: {} stream records for {} writes",
        b.name,
        changes.len(),
        events.len() + 2
    );
    let faulty = Arc::new(FaultyTable::new(
        b.table.clone(),
        Faults {
            conflict: 0.15,
            throttle: 0.1,
            timeout: 0.2,
            only: Some(TableId::Main),
        },
        7,
    ));
    let shaky = mcamp_app::App::new(faulty.clone(), b.queue.clone());
    let redelivered = deliver(&shaky, &shuffled(&changes, 11), 7).await?;
    let (conflicts, throttles, timeouts) = faulty.counts.get();
    ensure!(
        timeouts > 0 && redelivered > 0,
        "faults were injected: {timeouts} timeouts, {redelivered} redeliveries"
    );
    println!(
        "{}: {conflicts} conflicts, {throttles} throttles, {timeouts} timeouts, {redelivered} redeliveries",
        b.name
    );
    deliver(&app, &shuffled(&changes, 23), 5).await?;

    let report = mcamp_ops::campaign_report::campaign_report(db, &campaign.id).await?;
    let total = |k: &str| -> i64 {
        match k {
            "clicks" => report.clicks,
            "unique_clicks" => report.unique_clicks,
            "previews" => report.previews,
            "page_views" => report.page_views,
            "forms" => report.forms,
            "opt_outs" => report.opt_outs,
            _ => -1,
        }
    };
    let is = |k: &'static str| move |d: &EventData| d.kind() == k;
    for (field, k) in [
        ("clicks", "click"),
        ("previews", "preview"),
        ("page_views", "page_view"),
        ("forms", "form_submitted"),
        ("opt_outs", "opted_out"),
    ] {
        ensure!(
            total(field) == count(&events, is(k)),
            "{}: {field} {} != {}",
            b.name,
            total(field),
            count(&events, is(k))
        );
    }
    let firsts = count(&events, |d| matches!(d, EventData::Click { first: true, .. }));
    ensure!(report.unique_clicks == firsts, "unique clicks");
    ensure!(report.sends.sent == count(&events, is("message_sent")));
    ensure!(report.sends.delivered == count(&events, is("message_delivered")));
    ensure!(report.sends.failed == count(&events, is("message_failed")));
    ensure!(report.sends.failed_by_reason.get("opted_out") == Some(&1));
    ensure!(report.sends.sent_by_channel.get("lms") == Some(&6));

    // The funnel: people at each stage, from the raw events.
    let sent = people(&events, |d| matches!(d, EventData::MessageSent { .. }));
    let stage_people = [
        (Stage::Sent, sent.clone()),
        (
            Stage::Delivered,
            people(&events, |d| matches!(d, EventData::MessageDelivered { .. })),
        ),
        (
            Stage::Clicked,
            people(&events, |d| matches!(d, EventData::Click { .. })),
        ),
        (
            Stage::Viewed,
            people(&events, |d| matches!(d, EventData::PageView { .. })),
        ),
        (
            Stage::Form,
            people(&events, |d| matches!(d, EventData::FormSubmitted { .. })),
        ),
        (
            Stage::Consent,
            people(&events, |d| {
                matches!(
                    d,
                    EventData::ConsentChanged {
                        purpose: Purpose::MarketingSms | Purpose::MarketingKakao,
                        granted: true,
                        channel: Source::Form | Source::ConfirmLink,
                        ..
                    }
                )
            }),
        ),
        (
            Stage::Claimed,
            people(&events, |d| matches!(d, EventData::CouponClaimed { .. })),
        ),
        (
            Stage::Issued,
            people(&events, |d| matches!(d, EventData::CouponIssued { .. })),
        ),
        (
            Stage::Redeemed,
            people(&events, |d| matches!(d, EventData::CouponRedeemed { .. })),
        ),
    ];
    ensure!(report.funnel.len() == stage_people.len());
    let mut previous: Option<&BTreeSet<RecipientId>> = None;
    for (step, (stage, who)) in report.funnel.iter().zip(&stage_people) {
        ensure!(
            step.stage == *stage && step.people == who.len() as i64,
            "{}: funnel {step:?} != {} people",
            b.name,
            who.len()
        );
        // Of those sent, and of those who took the step before, the share who took this one.
        let of_sent = (*stage != Stage::Sent).then(|| who.intersection(&sent).count() as f64 / sent.len() as f64);
        ensure!(step.of_sent == of_sent, "{step:?}");
        let of_previous = previous
            .filter(|p| !p.is_empty())
            .map(|p| who.intersection(p).count() as f64 / p.len() as f64);
        ensure!(
            step.of_previous == of_previous,
            "{}: {step:?} vs {of_previous:?}",
            b.name
        );
        ensure!(step.of_previous.is_none_or(|r| r <= 1.0), "{step:?}");
        previous = Some(who);
    }

    // Bounce, by the in-app browser of each person's earliest click. Leaving the page (its
    // depth beacon) is not doing something on it.
    let engaged = people(&events, |d| {
        matches!(d, EventData::Interaction { action, .. } if action != "page_depth")
            || matches!(
                d,
                EventData::FormSubmitted { .. }
                    | EventData::ShareIntent { .. }
                    | EventData::CouponClaimed { .. }
                    | EventData::SurveyStarted { .. }
            )
    });
    let viewers = people(&events, |d| matches!(d, EventData::PageView { .. }));
    let mut first_click: BTreeMap<RecipientId, (DateTime<Utc>, String, String)> = BTreeMap::new();
    for e in &events {
        if let (EventData::Click { client, .. }, Some(p)) = (&e.data, &e.recipient_id) {
            let in_app = client
                .in_app
                .map_or("none".to_owned(), |a| format!("{a:?}").to_lowercase());
            let here = (e.at, e.event_id.clone(), in_app);
            let slot = first_click.entry(p.clone()).or_insert_with(|| here.clone());
            if (here.0, &here.1) < (slot.0, &slot.1) {
                *slot = here;
            }
        }
    }
    for row in &report.in_app {
        let of = |set: &BTreeSet<RecipientId>| {
            first_click
                .iter()
                .filter(|(p, (_, _, a))| *a == row.in_app && set.contains(*p))
                .count() as i64
        };
        let bounced: BTreeSet<RecipientId> = viewers.difference(&engaged).cloned().collect();
        ensure!(
            row.viewed == of(&viewers) && row.bounced == of(&bounced) && row.engaged == of(&engaged),
            "{}: {row:?}",
            b.name
        );
        let clicks = events
            .iter()
            .filter(|e| matches!(&e.data, EventData::Click { client, .. } if client.in_app.map_or("none".to_owned(), |a| format!("{a:?}").to_lowercase()) == row.in_app))
            .count() as i64;
        ensure!(row.clicks == clicks, "{row:?}");
    }
    ensure!(report.in_app.iter().map(|r| r.clicks).sum::<i64>() == report.clicks);

    // Page blocks: who had each on screen (down to their deepest), and where the bouncers left.
    let mut deepest: BTreeMap<RecipientId, u32> = BTreeMap::new();
    for e in &events {
        if let (
            EventData::Interaction {
                action,
                target: Some(t),
            },
            Some(p),
        ) = (&e.data, &e.recipient_id)
            && action == "page_depth"
        {
            let d = deepest.entry(p.clone()).or_default();
            *d = (*d).max(t.parse()?);
        }
    }
    let bounced: BTreeSet<RecipientId> = viewers.difference(&engaged).cloned().collect();
    ensure!(report.blocks.len() == 4, "blocks 0..=3: {:?}", report.blocks);
    for row in &report.blocks {
        let reached = deepest
            .iter()
            .filter(|(p, d)| viewers.contains(*p) && **d >= row.block)
            .count() as i64;
        let bounced_here = deepest
            .iter()
            .filter(|(p, d)| bounced.contains(*p) && **d == row.block)
            .count() as i64;
        ensure!(
            row.reached == reached && row.bounced_here == bounced_here,
            "{}: {row:?}",
            b.name
        );
    }
    ensure!(report.blocks.iter().map(|b| b.left_here).sum::<i64>() == deepest.len() as i64);
    ensure!(
        !report.funnel.is_empty() && report.clicks > 0,
        "a depth beacon is no interaction"
    );

    // Clicks by KST hour and day add up to the total, hour by hour.
    let mut hours: BTreeMap<String, i64> = BTreeMap::new();
    for e in events.iter().filter(|e| matches!(e.data, EventData::Click { .. })) {
        let kst = e.at + Duration::hours(9);
        *hours.entry(kst.format("%Y-%m-%d %H").to_string()).or_default() += 1;
    }
    let reported: BTreeMap<String, i64> = report
        .by_hour
        .iter()
        .filter(|h| h.clicks > 0)
        .map(|h| (h.at.clone(), h.clicks))
        .collect();
    ensure!(reported == hours, "{}: {reported:?} != {hours:?}", b.name);
    ensure!(report.by_day.iter().map(|d| d.clicks).sum::<i64>() == report.clicks);

    // Coupons and stores.
    let row = report.coupons.first().context("the coupon's row")?;
    ensure!(
        row.claimed == count(&events, is("coupon_claimed")) && row.issued == 2 && row.redeemed == 2,
        "{row:?}"
    );
    let stores: BTreeMap<&str, i64> = report.stores.iter().map(|s| (s.store.as_str(), s.redeemed)).collect();
    ensure!(
        stores == BTreeMap::from([("gangnam-01", 1), ("hongdae-02", 1)]),
        "{stores:?}"
    );

    // Consents by purpose and channel, interactions by action, surveys by store.
    let mut consents: BTreeMap<String, i64> = BTreeMap::new();
    let mut interactions: BTreeMap<String, i64> = BTreeMap::new();
    for e in &events {
        match &e.data {
            EventData::ConsentChanged {
                purpose,
                granted: true,
                channel,
                confirmed,
                ..
            } => {
                let p = serde_json::to_value(purpose)?.as_str().unwrap_or_default().to_owned();
                let c = serde_json::to_value(channel)?.as_str().unwrap_or_default().to_owned();
                *consents.entry(format!("{p}.{c}")).or_default() += 1;
                if *confirmed {
                    *consents.entry(format!("{p}.confirmed")).or_default() += 1;
                }
            }
            EventData::Interaction { action, .. } if action != "page_depth" => {
                *interactions.entry("interactions".into()).or_default() += 1;
                *interactions.entry(format!("interactions.{action}")).or_default() += 1;
            }
            _ => {}
        }
    }
    ensure!(
        report.consents == consents,
        "{}: {:?} != {consents:?}",
        b.name,
        report.consents
    );
    let (counters, _) = db.campaign_counters(&campaign.id).await?;
    for (k, v) in &interactions {
        ensure!(counters.total(k) == *v, "{k}: {} != {v}", counters.total(k));
    }
    ensure!(row.sold_out == count(&events, is("coupon_sold_out")), "{row:?}");
    ensure!(
        report.survey.starts == count(&events, is("survey_started"))
            && report.survey.completions == count(&events, is("survey_completed")),
        "{:?}",
        report.survey
    );
    let gangnam = report
        .stores
        .iter()
        .find(|s| s.store == "gangnam-01")
        .context("gangnam-01")?;
    ensure!(
        gangnam.survey_starts == 1 && gangnam.survey_completions == 1,
        "{gangnam:?}"
    );

    // Shares: two distinct rooms, one share to oneself, B shared.
    ensure!(
        report.shares.kakao_deliveries == 4 && report.shares.kakao_rooms == 2 && report.shares.kakao_to_self == 1,
        "{:?}",
        report.shares
    );
    ensure!(
        report.shares.taps == 1 && report.shares.sharers == 1 && report.shares.visitors == 3,
        "{:?}",
        report.shares
    );

    // Credit over three hops, from the profiles' referrers: D's redemption credits C, B, A.
    let mut expected: BTreeMap<RecipientId, [[u32; 3]; 3]> = BTreeMap::new();
    for e in &events {
        let kind = match &e.data {
            EventData::Click { first: true, .. } if e.referrer_id.is_some() => 0,
            EventData::CouponClaimed { .. } => 1,
            EventData::CouponRedeemed { .. } => 2,
            _ => continue,
        };
        let mut who = e.recipient_id.clone();
        for hop in 0..3 {
            let Some(p) = who else { break };
            let Some(up) = db.recipient(&p).await?.and_then(|x| x.referrer_id) else {
                break;
            };
            expected.entry(up.clone()).or_default()[kind][hop] += 1;
            who = Some(up);
        }
    }
    ensure!(expected.len() == 3, "A, B and C earned credit: {expected:?}");
    for (sharer, want) in &expected {
        let j = db.journey(sharer).await?.context("the sharer's journey")?;
        let got = [j.credited.visitors, j.credited.claims, j.credited.redeemed];
        ensure!(got == *want, "{}: credit of {sharer}: {got:?} != {want:?}", b.name);
    }
    let order: Vec<RecipientId> = report.top_sharers.iter().map(|s| s.recipient_id.clone()).collect();
    ensure!(
        order == vec![r[0].id.clone(), bv.id.clone(), cv.id.clone()],
        "{}: top sharers {:?}",
        b.name,
        report.top_sharers
    );
    let tree = db.share_tree(&r[0].id, 3).await?;
    ensure!(
        tree == vec![
            (r[0].id.clone(), bv.id.clone(), 1),
            (bv.id.clone(), cv.id.clone(), 2),
            (cv.id.clone(), dv.id.clone(), 3)
        ],
        "{tree:?}"
    );

    // The people filter: "clicked, no coupon" and "coupon, not redeemed".
    let claimed = people(&events, |d| matches!(d, EventData::CouponClaimed { .. }));
    let redeemed = people(&events, |d| matches!(d, EventData::CouponRedeemed { .. }));
    let clicked = people(&events, |d| matches!(d, EventData::Click { .. }));
    let id = &campaign.id;
    let listed = |stages: &'static [Stage]| async move {
        let mut out = BTreeSet::new();
        for stage in stages {
            for shard in 0..keys::SHARDS {
                let mut after = None;
                loop {
                    let (page, next) = db.journeys_at(id, *stage, shard, after.as_ref(), 2).await?;
                    out.extend(page.into_iter().map(|j| j.recipient_id));
                    if next.is_none() {
                        break;
                    }
                    after = next;
                }
            }
        }
        anyhow::Ok(out)
    };
    let no_coupon: BTreeSet<RecipientId> = clicked.difference(&claimed).cloned().collect();
    ensure!(
        listed(&[Stage::Clicked, Stage::Viewed, Stage::Form, Stage::Consent]).await? == no_coupon,
        "clicked, no coupon"
    );
    let unredeemed: BTreeSet<RecipientId> = claimed.difference(&redeemed).cloned().collect();
    ensure!(
        listed(&[Stage::Claimed, Stage::Issued]).await? == unredeemed,
        "coupon, not redeemed"
    );

    // Rolling views: A viewed on two KST days.
    let aj = db.journey(&r[0].id).await?.context("A's journey")?;
    ensure!(
        aj.views == 3 && aj.views_within(events[0].at + Duration::days(1), 7) == 3,
        "{aj:?}"
    );
    ensure!(aj.views_within(events[0].at + Duration::days(1), 1) == 1);

    // The variants' funnels, and what was skipped.
    let variant = |v: &str| {
        report
            .variants
            .iter()
            .find(|x| x.variant == v)
            .map(|x| x.funnel.clone())
    };
    let a_funnel = variant("a").context("variant a")?;
    ensure!(
        a_funnel
            .iter()
            .all(|s| s.people == 1 || s.stage == Stage::Sent || s.stage == Stage::Delivered),
        "{a_funnel:?}"
    );
    let b_funnel = variant("b").context("variant b")?;
    ensure!(
        b_funnel.iter().map(|s| s.people).sum::<i64>() == 4,
        "b: sent, delivered, clicked and viewed, {b_funnel:?}"
    );
    // Two variants: the A/B verdict is there, and with one viewer each it says it cannot tell.
    let ab = report.ab_test.as_ref().context("an A/B verdict")?;
    ensure!(
        ab.verdict.arms.len() == 2 && ab.verdict.sentence == mcamp_core::experiment::NOT_ENOUGH_DATA,
        "{ab:?}"
    );
    // The workbook: a sheet per table with Korean headers, and the people, masked.
    let everyone = mcamp_ops::people::people_page(
        db,
        &campaign.id,
        &mcamp_ops::people::PeopleFilter::All,
        None,
        1000,
        &mcamp_ops::people::Reveal::Masked,
        app.now(),
    )
    .await?;
    ensure!(
        everyone.next.is_none() && everyone.people.len() == 9,
        "six imported and three visitors"
    );
    let bytes = mcamp_ops::report_sheets::report_xlsx(&report, &everyone.people)?;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))?;
    use calamine::Reader as _;
    let funnel = wb.worksheet_range("퍼널")?;
    let rows: Vec<Vec<String>> = funnel
        .rows()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect();
    ensure!(
        rows.first().map(|h| h[..2].to_vec()) == Some(vec!["단계".to_owned(), "인원".to_owned()]),
        "{rows:?}"
    );
    for (row, step) in rows.iter().skip(1).zip(&report.funnel) {
        ensure!(
            row[0] == step.label && row[1] == step.people.to_string(),
            "{row:?} vs {step:?}"
        );
    }
    let sheet = wb.worksheet_range("사람")?;
    let phones: Vec<String> = sheet.rows().skip(1).map(|r| r[2].to_string()).collect();
    ensure!(
        phones.len() == 9 && phones.iter().filter(|p| p.contains("****")).count() == 6,
        "{phones:?}"
    );
    for name in [
        "일별",
        "시간대별",
        "인앱 브라우저",
        "쿠폰",
        "매장",
        "공유",
        "추천인 순위",
        "공유 트리",
        "A-B 변형",
        "발송 결과",
    ] {
        ensure!(wb.worksheet_range(name).is_ok(), "sheet {name}");
    }

    // Unmasked, and it is in the audit log.
    let open = mcamp_ops::people::people_page(
        db,
        &campaign.id,
        &mcamp_ops::people::PeopleFilter::Stages(vec![Stage::Redeemed]),
        None,
        10,
        &mcamp_ops::people::Reveal::Unmasked {
            actor: "test@brand.kr".into(),
        },
        app.now(),
    )
    .await?;
    ensure!(
        open.people
            .iter()
            .any(|p| p.phone.as_deref().is_some_and(|x| !x.contains('*'))),
        "{open:?}"
    );
    let month = app
        .now()
        .with_timezone(&mcamp_core::time::kst())
        .format("%Y%m")
        .to_string();
    let log = db.audit_log(&month).await?;
    ensure!(
        log.iter()
            .any(|e| e.actor == "test@brand.kr" && e.action == "people.unmasked"),
        "{log:?}"
    );

    ensure!(
        report.skipped == BTreeMap::from([("message_sent.v9".to_owned(), 1), ("future_thing.v1".to_owned(), 1)]),
        "{:?}",
        report.skipped
    );
    Ok(())
}

fn item(v: serde_json::Value) -> anyhow::Result<Item> {
    match v {
        serde_json::Value::Object(m) => Ok(m),
        _ => anyhow::bail!("not an object"),
    }
}

contract!(
    aggregator_counts_every_event_once,
    super::aggregator_counts_every_event_once
);
