//! Coupon reliability on both backends: the stock cap under concurrency, duplicated
//! deliveries, a consumer dying mid-batch, poison messages, and store redemption.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::ensure;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use futures::stream::{self, StreamExt};
use mcamp_app::App;
use mcamp_core::coupon::{ClaimStatus, Store, hash_key};
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{CouponCode, CouponId, StoreId};
use mcamp_coupon_issuer::{Processed, consume, process};
use mcamp_store::claims;
use mcamp_store::issue::IssueOutcome;
use mcamp_store::ports::QueueId;
use mcamp_store::redeem::{self, RedeemError};
use mcamp_tests::{Backend, campaign_with_coupon, contract, recipients};

async fn setup(
    b: &Backend,
    stock: u32,
    people: usize,
) -> anyhow::Result<(App, mcamp_core::campaign::Campaign, Vec<Recipient>)> {
    let app = b.app();
    let campaign = campaign_with_coupon("coupon-test", stock)?;
    app.db.push_campaign(&campaign, app.now()).await?;
    let rs = recipients(&app.db, &campaign, people).await?;
    Ok((app, campaign, rs))
}

/// Consumes until the queue has been empty for a moment, with `workers` consumers at once.
async fn drain(app: &App, workers: usize) {
    let mut idle = 0;
    while idle < 2 {
        let got: usize =
            futures::future::join_all((0..workers).map(|_| consume(app, Duration::from_millis(300), Duration::ZERO)))
                .await
                .into_iter()
                .sum();
        idle = if got == 0 { idle + 1 } else { 0 };
    }
}

async fn stock_cap_under_concurrent_claims(b: Backend) -> anyhow::Result<()> {
    let (app, campaign, people) = setup(&b, 50, 1000).await?;
    let coupon = CouponId::parse("welcome")?;
    // 1000 claims at once (64 in flight), with consumers issuing at the same time.
    let claims = stream::iter(people.iter())
        .map(|r| {
            let (app, campaign, coupon) = (&app, &campaign, &coupon);
            async move { claims::claim(&app.db, app.queue.as_ref(), campaign, r, None, coupon, app.now()).await }
        })
        .buffer_unordered(64);
    let issuing = async {
        for _ in 0..5 {
            consume(&app, Duration::from_millis(100), Duration::ZERO).await;
        }
    };
    let (results, ()) = tokio::join!(claims.collect::<Vec<_>>(), issuing);
    for r in &results {
        ensure!(r.is_ok(), "{}: claim failed: {r:?}", b.name);
    }
    drain(&app, 4).await;
    let issued = app.db.issued_coupons(&campaign.id, &coupon).await?;
    let codes: HashSet<&CouponCode> = issued.iter().map(|c| &c.code).collect();
    ensure!(
        issued.len() == 50 && codes.len() == 50,
        "{}: exactly 50 distinct coupons, got {} ({} distinct)",
        b.name,
        issued.len(),
        codes.len()
    );
    ensure!(
        app.db.coupon_stock(&campaign.id, &coupon).await?.0 == 50,
        "stock counter says 50"
    );
    let mut statuses = (0, 0, 0);
    for r in &people {
        let claim = app
            .db
            .claim(&r.id, &coupon, 1)
            .await?
            .ok_or_else(|| anyhow::anyhow!("a claim each"))?;
        ensure!(app.db.claim(&r.id, &coupon, 2).await?.is_none(), "one claim each");
        match claim.status {
            ClaimStatus::Issued => statuses.0 += 1,
            ClaimStatus::SoldOut => statuses.1 += 1,
            ClaimStatus::Pending => statuses.2 += 1,
        }
    }
    ensure!(
        statuses == (50, 950, 0),
        "{}: issued/sold out/pending = {statuses:?}",
        b.name
    );
    let events = app.db.events_of(&campaign.id).await?;
    let count = |k: &str| events.iter().filter(|e| e.kind() == k).count();
    ensure!(
        (
            count("coupon_claimed"),
            count("coupon_issued"),
            count("coupon_sold_out")
        ) == (1000, 50, 950),
        "{}: events",
        b.name
    );
    ensure!(
        app.queue.depth(QueueId::CouponIssueDlq).await? == 0,
        "nothing dead-lettered"
    );
    Ok(())
}
contract!(stock_cap, super::stock_cap_under_concurrent_claims);

async fn every_job_delivered_three_times(b: Backend) -> anyhow::Result<()> {
    let (app, campaign, people) = setup(&b, 100, 20).await?;
    let coupon = CouponId::parse("welcome")?;
    for r in &people {
        claims::claim(&app.db, app.queue.as_ref(), &campaign, r, None, &coupon, app.now()).await?;
        // A double submit is the same claim.
        claims::claim(&app.db, app.queue.as_ref(), &campaign, r, None, &coupon, app.now()).await?;
    }
    // Replace each job by three copies of it.
    let mut bodies = Vec::new();
    loop {
        let got = app
            .queue
            .receive(
                QueueId::CouponIssue,
                10,
                Duration::from_secs(60),
                Duration::from_millis(300),
            )
            .await?;
        if got.is_empty() {
            break;
        }
        for m in got {
            bodies.push(m.body.clone());
            app.queue.ack(QueueId::CouponIssue, &m.receipt).await?;
        }
    }
    ensure!(
        bodies.len() == 20,
        "{}: one job per claim, got {}",
        b.name,
        bodies.len()
    );
    for body in &bodies {
        for _ in 0..3 {
            app.queue.send(QueueId::CouponIssue, body.clone()).await?;
        }
    }
    drain(&app, 3).await;
    let issued = app.db.issued_coupons(&campaign.id, &coupon).await?;
    ensure!(
        issued.len() == 20,
        "{}: 20 coupons for 60 deliveries, got {}",
        b.name,
        issued.len()
    );
    let owners: HashSet<_> = issued.iter().map(|c| c.recipient_id.clone()).collect();
    ensure!(owners.len() == 20, "one per person");
    ensure!(
        app.db.coupon_stock(&campaign.id, &coupon).await?.0 == 20,
        "stock counted once per person"
    );
    let events = app.db.events_of(&campaign.id).await?;
    let issued_events = events.iter().filter(|e| e.kind() == "coupon_issued").count();
    ensure!(
        issued_events == 20,
        "{}: one issued event each, got {issued_events} of {}",
        b.name,
        events.len()
    );
    Ok(())
}
contract!(triple_delivery, super::every_job_delivered_three_times);

async fn consumer_dies_mid_batch(b: Backend) -> anyhow::Result<()> {
    let (app, campaign, people) = setup(&b, 100, 10).await?;
    let coupon = CouponId::parse("welcome")?;
    for r in &people {
        claims::claim(&app.db, app.queue.as_ref(), &campaign, r, None, &coupon, app.now()).await?;
    }
    let mut batch = Vec::new();
    while batch.len() < 10 {
        let got = app
            .queue
            .receive(
                QueueId::CouponIssue,
                10,
                Duration::from_secs(1),
                Duration::from_millis(500),
            )
            .await?;
        ensure!(!got.is_empty(), "{}: jobs queued", b.name);
        batch.extend(got);
    }
    // The consumer processes 5 messages, acknowledges only 3 of them, then dies.
    for (i, m) in batch.iter().take(5).enumerate() {
        ensure!(matches!(
            process(&app, &m.body).await,
            Processed::Done(IssueOutcome::Issued(_))
        ));
        if i < 3 {
            app.queue.ack(QueueId::CouponIssue, &m.receipt).await?;
        }
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    drain(&app, 2).await;
    let issued = app.db.issued_coupons(&campaign.id, &coupon).await?;
    ensure!(
        issued.len() == 10,
        "{}: nothing lost or doubled: {} issued",
        b.name,
        issued.len()
    );
    ensure!(app.db.coupon_stock(&campaign.id, &coupon).await?.0 == 10);
    ensure!(app.queue.depth(QueueId::CouponIssue).await? == 0, "queue drained");
    Ok(())
}
contract!(mid_batch_failure, super::consumer_dies_mid_batch);

fn sqs_message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_owned());
    m.body = Some(body.to_owned());
    m
}

async fn poison_messages_go_to_the_dlq_without_failing_the_batch(b: Backend) -> anyhow::Result<()> {
    let (app, campaign, people) = setup(&b, 5, 1).await?;
    let coupon = CouponId::parse("welcome")?;
    claims::claim(
        &app.db,
        app.queue.as_ref(),
        &campaign,
        &people[0],
        None,
        &coupon,
        app.now(),
    )
    .await?;
    let good = app
        .queue
        .receive(QueueId::CouponIssue, 1, Duration::from_secs(30), Duration::from_secs(1))
        .await?;
    ensure!(good.len() == 1);
    let mut event = SqsEvent::default();
    event.records = vec![
        sqs_message("bad-json", "{not json"),
        sqs_message("good", &good[0].body),
        sqs_message("future", r#"{"schema_version":9,"type":"coupon_issue"}"#),
        sqs_message(
            "missing",
            r#"{"schema_version":1,"type":"coupon_issue","claim_id":"x"}"#,
        ),
    ];
    let response = mcamp_coupon_issuer::handle(&app, event).await;
    ensure!(
        response.batch_item_failures.is_empty(),
        "{}: poison never fails the batch: {:?}",
        b.name,
        response.batch_item_failures
    );
    ensure!(
        app.db.issued_coupons(&campaign.id, &coupon).await?.len() == 1,
        "the good job was issued"
    );
    let dead = app
        .queue
        .receive(
            QueueId::CouponIssueDlq,
            10,
            Duration::from_secs(30),
            Duration::from_secs(1),
        )
        .await?;
    let mut dead_bodies: Vec<&str> = dead.iter().map(|m| m.body.as_str()).collect();
    dead_bodies.sort();
    ensure!(
        dead_bodies.len() == 3 && dead_bodies.contains(&"{not json"),
        "{}: three in the DLQ: {dead_bodies:?}",
        b.name
    );
    Ok(())
}
contract!(poison, super::poison_messages_go_to_the_dlq_without_failing_the_batch);

/// A claim that no longer reads as a claim (a hand edit, a bug) can never be issued: the job
/// goes to the dead-letter queue on its first delivery, with the reason, not after five.
async fn a_corrupt_claim_is_dead_lettered_at_once(b: Backend) -> anyhow::Result<()> {
    let (app, campaign, people) = setup(&b, 5, 1).await?;
    let coupon = CouponId::parse("welcome")?;
    let claim = claims::claim(
        &app.db,
        app.queue.as_ref(),
        &campaign,
        &people[0],
        None,
        &coupon,
        app.now(),
    )
    .await?;
    let (pk, sk) = mcamp_store::keys::claim(&people[0].id, &coupon, claim.slot);
    let serde_json::Value::Object(corrupt) = serde_json::json!({"pk": pk, "sk": sk, "status": "lost in a hand edit"})
    else {
        anyhow::bail!("an object")
    };
    b.table.put(mcamp_store::ports::TableId::Main, corrupt, None).await?;
    let job = app
        .queue
        .receive(QueueId::CouponIssue, 1, Duration::from_secs(30), Duration::from_secs(1))
        .await?;
    ensure!(job.len() == 1);
    let outcome = process(&app, &job[0].body).await;
    ensure!(
        matches!(&outcome, Processed::DeadLettered(reason) if reason.contains("corrupt")),
        "{}: dead-lettered at the first delivery with its reason, got {outcome:?}",
        b.name
    );
    ensure!(
        app.db.coupon_stock(&campaign.id, &coupon).await?.0 == 0,
        "{}: nothing issued",
        b.name
    );
    Ok(())
}
contract!(corrupt_claim, super::a_corrupt_claim_is_dead_lettered_at_once);

async fn store_redemption(b: Backend) -> anyhow::Result<()> {
    let (app, campaign, people) = setup(&b, 5, 1).await?;
    let coupon = CouponId::parse("welcome")?;
    claims::claim(
        &app.db,
        app.queue.as_ref(),
        &campaign,
        &people[0],
        None,
        &coupon,
        app.now(),
    )
    .await?;
    drain(&app, 1).await;
    let code = app
        .db
        .claim(&people[0].id, &coupon, 1)
        .await?
        .and_then(|c| c.code)
        .ok_or_else(|| anyhow::anyhow!("no code"))?;
    let (gangnam, hongdae) = (StoreId::parse("gangnam")?, StoreId::parse("hongdae")?);
    for (id, key) in [
        (&gangnam, "key-gangnam-0123456789"),
        (&hongdae, "key-hongdae-0123456789"),
    ] {
        app.db
            .put_store(&Store {
                id: id.clone(),
                name: id.to_string(),
                key_hash: hash_key(key),
                created_at: app.now(),
            })
            .await?;
    }
    let now = app.now();
    ensure!(
        matches!(
            redeem::redeem(&app.db, &gangnam, "wrong", &code, now).await,
            Err(RedeemError::Unauthorized)
        ),
        "wrong key"
    );
    ensure!(
        matches!(
            redeem::redeem(&app.db, &StoreId::parse("nowhere")?, "x", &code, now).await,
            Err(RedeemError::Unauthorized)
        ),
        "unknown store"
    );
    ensure!(matches!(
        redeem::redeem(
            &app.db,
            &gangnam,
            "key-gangnam-0123456789",
            &CouponCode::parse("NOPE-NOPE")?,
            now
        )
        .await,
        Err(RedeemError::NotFound)
    ));
    // The coupon's window moved to start tomorrow (a re-pushed campaign): not yet honoured.
    let mut later = campaign.clone();
    later.coupons[0].valid_from = Some(now + chrono::Duration::days(1));
    app.db.push_campaign(&later, now).await?;
    match redeem::redeem(&app.db, &gangnam, "key-gangnam-0123456789", &code, now).await {
        Err(RedeemError::NotYetValid(from)) => ensure!(from > now),
        other => anyhow::bail!("{}: a coupon before its window must be refused, got {other:?}", b.name),
    }
    app.db.push_campaign(&campaign, now).await?;
    let first = redeem::redeem(&app.db, &gangnam, "key-gangnam-0123456789", &code, now).await?;
    ensure!(!first.repeat && first.coupon.redeemed_store.as_ref() == Some(&gangnam));
    let again = redeem::redeem(&app.db, &gangnam, "key-gangnam-0123456789", &code, now).await?;
    ensure!(again.repeat, "same store again is idempotent");
    match redeem::redeem(&app.db, &hongdae, "key-hongdae-0123456789", &code, now).await {
        Err(RedeemError::AlreadyUsed { store, .. }) => ensure!(store == gangnam, "says where"),
        other => anyhow::bail!("{}: second store must be refused, got {other:?}", b.name),
    }
    let events = app.db.events_of(&campaign.id).await?;
    let redeemed: Vec<_> = events.iter().filter(|e| e.kind() == "coupon_redeemed").collect();
    ensure!(redeemed.len() == 1, "one redemption event");
    ensure!(
        redeemed[0].recipient_id.as_ref() == Some(&people[0].id)
            && redeemed[0].chain_head.as_ref() == Some(&people[0].id),
        "credited to the recipient and chain"
    );

    // A store's key is rate-limited: PER_MINUTE calls a minute, counted after the key check
    // (a wrong key spends nothing), and the next minute starts afresh.
    let busy = StoreId::parse("busy")?;
    app.db
        .put_store(&Store {
            id: busy.clone(),
            name: "busy".into(),
            key_hash: hash_key("key-busy-0123456789"),
            created_at: now,
        })
        .await?;
    let minute = now + chrono::Duration::minutes(5);
    let nope = CouponCode::parse("NOPE-NOPE")?;
    for i in 0..redeem::PER_MINUTE {
        let r = redeem::redeem(&app.db, &busy, "key-busy-0123456789", &nope, minute).await;
        ensure!(matches!(r, Err(RedeemError::NotFound)), "{}: call {i}: {r:?}", b.name);
        let wrong = redeem::redeem(&app.db, &busy, "wrong", &nope, minute).await;
        ensure!(matches!(wrong, Err(RedeemError::Unauthorized)), "{}: {wrong:?}", b.name);
    }
    let over = redeem::redeem(&app.db, &busy, "key-busy-0123456789", &nope, minute).await;
    ensure!(
        matches!(over, Err(RedeemError::TooMany)),
        "{}: past the limit: {over:?}",
        b.name
    );
    let later = redeem::redeem(
        &app.db,
        &busy,
        "key-busy-0123456789",
        &nope,
        minute + chrono::Duration::minutes(1),
    )
    .await;
    ensure!(
        matches!(later, Err(RedeemError::NotFound)),
        "{}: the next minute: {later:?}",
        b.name
    );
    Ok(())
}
contract!(redemption, super::store_redemption);

async fn pool_codes_are_issued_once_each(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let app = &web.app;
    let mut campaign = campaign_with_coupon("pool-test", 100)?;
    campaign.coupons[0].codes = mcamp_core::campaign::CodeSource::Pool;
    app.db.push_campaign(&campaign, app.now()).await?;
    let coupon = CouponId::parse("welcome")?;
    let pos: Vec<CouponCode> = ["POS-0001", "POS-0002", "POS-0003"]
        .iter()
        .map(|c| CouponCode::parse(c))
        .collect::<Result<_, _>>()?;
    ensure!(app.db.add_pool_codes(&campaign.id, &coupon, &pos).await? == 3);
    ensure!(
        app.db.add_pool_codes(&campaign.id, &coupon, &pos[..1]).await? == 0,
        "a code is imported once"
    );
    let people = recipients(&app.db, &campaign, 5).await?;
    for r in &people {
        claims::claim(&app.db, app.queue.as_ref(), &campaign, r, None, &coupon, app.now()).await?;
    }
    drain(app, 2).await;
    let issued = app.db.issued_coupons(&campaign.id, &coupon).await?;
    let mut codes: Vec<String> = issued.iter().map(|c| c.code.to_string()).collect();
    codes.sort();
    ensure!(
        codes == vec!["POS-0001", "POS-0002", "POS-0003"],
        "{}: each pool code once: {codes:?}",
        b.name
    );
    let sold_out = futures::future::join_all(people.iter().map(|r| app.db.claim(&r.id, &coupon, 1))).await;
    let n = sold_out
        .into_iter()
        .filter(|c| matches!(c, Ok(Some(c)) if c.status == ClaimStatus::SoldOut))
        .count();
    ensure!(n == 2, "{}: the pool ran out for two: {n}", b.name);
    ensure!(
        app.db.pool_candidates(&campaign.id, &coupon).await?.is_empty(),
        "pool empty"
    );
    Ok(())
}
contract!(pool, super::pool_codes_are_issued_once_each);

/// Half of the job sends fail (a flaky SQS): those claims stay pending until the sweeper
/// sends their jobs again. After it, every claim is decided, the stock is exact and nobody
/// got two coupons.
async fn every_claim_finishes_despite_lost_sends(b: Backend) -> anyhow::Result<()> {
    let clock = mcamp_tests::TestClock::new();
    let flaky = std::sync::Arc::new(mcamp_tests::FlakyQueue::new(b.queue.clone(), 0.5, 7));
    let app = App::new(b.table.clone(), flaky.clone())
        .with_campaign_cache(Duration::ZERO)
        .with_clock(clock.clock());
    let campaign = campaign_with_coupon("lost-sends", 20)?;
    app.db.push_campaign(&campaign, app.now()).await?;
    let people = recipients(&app.db, &campaign, 60).await?;
    let coupon = CouponId::parse("welcome")?;
    for r in &people {
        // A lost send is no error for the person: the claim is recorded, pending.
        claims::claim(&app.db, app.queue.as_ref(), &campaign, r, None, &coupon, app.now()).await?;
    }
    let lost = flaky.failed();
    ensure!(lost > 10, "{}: {lost} sends lost", b.name);
    drain(&app, 4).await;
    let pending = |app: &App| {
        let app = app.clone();
        let (people, coupon) = (people.clone(), coupon.clone());
        async move {
            let mut n = 0;
            for r in &people {
                let c = app.db.claim(&r.id, &coupon, 1).await?;
                n += usize::from(c.is_some_and(|c| c.status == ClaimStatus::Pending));
            }
            anyhow::Ok(n)
        }
    };
    ensure!(pending(&app).await? == lost, "{}: the lost ones are pending", b.name);
    // A minute later the sweeper sends them again (its own sends fail half the time too:
    // it runs until none is left, as its schedule does).
    let mut sweeps = 0;
    while pending(&app).await? > 0 {
        ensure!(sweeps < 20, "{}: still pending after {sweeps} sweeps", b.name);
        clock.advance(chrono::Duration::seconds(61));
        claims::sweep(&app.db, app.queue.as_ref(), app.now(), 1000)
            .await
            .map_err(|e| anyhow::anyhow!(mcamp_store::error_text(&e)))?;
        drain(&app, 4).await;
        sweeps += 1;
    }
    let issued = app.db.issued_coupons(&campaign.id, &coupon).await?;
    let owners: HashSet<_> = issued.iter().map(|c| c.recipient_id.clone()).collect();
    ensure!(
        issued.len() == 20 && owners.len() == 20 && app.db.coupon_stock(&campaign.id, &coupon).await?.0 == 20,
        "{}: exactly the stock, nobody twice: {} issued",
        b.name,
        issued.len()
    );
    // Nothing left for the sweeper; a polled page would send nothing either.
    clock.advance(chrono::Duration::seconds(61));
    let idle = claims::sweep(&app.db, app.queue.as_ref(), app.now(), 1000).await?;
    ensure!(idle.stale == 0, "{}: {idle:?}", b.name);
    Ok(())
}
contract!(every_claim_finishes, super::every_claim_finishes_despite_lost_sends);

/// The stock cap and "every claim finishes" under the faults of a real DynamoDB and SQS at a
/// burst: transaction conflicts, throttling, timeouts whose write landed, lost sends, all
/// seeded. People whose tap failed tap again; the issuer retries through redelivery; the
/// sweeper runs as its schedule would. Exactly the stock is issued, nobody twice, and no
/// claim is left pending.
async fn stock_cap_under_injected_faults(b: Backend) -> anyhow::Result<()> {
    const PEOPLE: usize = 1000;
    const STOCK: u32 = 50;
    let clean = b.app();
    let campaign = campaign_with_coupon("faulty-burst", STOCK)?;
    clean.db.push_campaign(&campaign, clean.now()).await?;
    let people = recipients(&clean.db, &campaign, PEOPLE).await?;
    let coupon = CouponId::parse("welcome")?;

    let faults = mcamp_tests::Faults {
        conflict: 0.05,
        throttle: 0.03,
        timeout: 0.02,
        only: None,
    };
    let table = std::sync::Arc::new(mcamp_tests::FaultyTable::new(b.table.clone(), faults, 42));
    let queue = std::sync::Arc::new(mcamp_tests::FlakyQueue::new(b.queue.clone(), 0.10, 43));
    let clock = mcamp_tests::TestClock::new();
    let app = App::new(table.clone(), queue.clone())
        .with_campaign_cache(Duration::ZERO)
        .with_clock(clock.clock());

    // 1000 taps at once (64 in flight); a tap that fails is tapped again, up to 10 times.
    let retries = std::sync::atomic::AtomicUsize::new(0);
    let claims = stream::iter(people.iter())
        .map(|r| {
            let (app, campaign, coupon, retries) = (&app, &campaign, &coupon, &retries);
            async move {
                let mut last = None;
                for _ in 0..10 {
                    match claims::claim(&app.db, app.queue.as_ref(), campaign, r, None, coupon, app.now()).await {
                        Ok(c) => return Ok(c),
                        Err(e) => {
                            retries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            last = Some(e);
                        }
                    }
                }
                Err(last)
            }
        })
        .buffer_unordered(64);
    let issuing = async {
        for _ in 0..5 {
            consume(&app, Duration::from_millis(100), Duration::ZERO).await;
        }
    };
    let (results, ()) = tokio::join!(claims.collect::<Vec<_>>(), issuing);
    let failed_taps = results.iter().filter(|r| r.is_err()).count();
    ensure!(
        failed_taps == 0,
        "{}: {failed_taps} people could not claim in 10 taps",
        b.name
    );

    // The issuer and the sweeper run until every claim is decided (their own calls meet the
    // same faults; a sweep that fails is simply the next run's work).
    let pending = || async {
        let mut n = 0;
        for r in &people {
            let c = clean.db.claim(&r.id, &coupon, 1).await?;
            n += usize::from(c.is_none_or(|c| c.status == ClaimStatus::Pending));
        }
        anyhow::Ok(n)
    };
    let (mut sweeps, mut resent) = (0, 0);
    loop {
        drain(&app, 4).await;
        let left = pending().await?;
        if left == 0 {
            break;
        }
        ensure!(
            sweeps < 30,
            "{}: {left} claims still pending after {sweeps} sweeps",
            b.name
        );
        clock.advance(chrono::Duration::seconds(61));
        if let Ok(r) = claims::sweep(&app.db, app.queue.as_ref(), app.now(), 5000).await {
            resent += r.resent;
        }
        sweeps += 1;
    }

    let issued = clean.db.issued_coupons(&campaign.id, &coupon).await?;
    let owners: HashSet<_> = issued.iter().map(|c| c.recipient_id.clone()).collect();
    let counter = clean.db.coupon_stock(&campaign.id, &coupon).await?.0;
    let mut sold_out = 0;
    for r in &people {
        let c = clean.db.claim(&r.id, &coupon, 1).await?;
        sold_out += usize::from(c.is_some_and(|c| c.status == ClaimStatus::SoldOut));
    }
    let dead = b.queue.depth(QueueId::CouponIssueDlq).await?;
    let (conflicts, throttles, timeouts) = table.counts.get();
    println!(
        "{}: {PEOPLE} claims, stock {STOCK}: issued {}, sold out {sold_out}, pending 0; injected {conflicts} conflicts, \
         {throttles} throttles, {timeouts} timeouts, {} lost sends; {} taps retried, {sweeps} sweeps resent {resent}, \
         {dead} jobs dead-lettered",
        b.name,
        issued.len(),
        queue.failed(),
        retries.into_inner(),
    );
    ensure!(
        issued.len() == STOCK as usize && owners.len() == STOCK as usize && counter == i64::from(STOCK),
        "{}: exactly the stock, nobody twice: {} issued to {} people, counter {counter}",
        b.name,
        issued.len(),
        owners.len()
    );
    ensure!(
        sold_out == PEOPLE - STOCK as usize,
        "{}: every other claim sold out: {sold_out}",
        b.name
    );
    ensure!(
        conflicts > 0 && throttles > 0 && timeouts > 0 && queue.failed() > 0,
        "{}: faults were injected",
        b.name
    );
    Ok(())
}
contract!(stock_cap_under_faults, super::stock_cap_under_injected_faults);

/// Seeding a demo never resets a store's key: a store that exists keeps the key it has (and
/// the seed does not print one it does not know); a new store gets the demo key.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_demo_seed_keeps_existing_store_keys() -> anyhow::Result<()> {
    let app = Backend::embedded().app();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/mcs");
    let first = StoreId::parse("gangnam-01")?;
    let real = mcamp_ops::stores::add_store(&app.db, &first, "강남점", false, app.now()).await?;
    let seeded = mcamp_ops::seed::seed_dir(&app.db, &dir, &mcamp_tests::phone_key(), app.now()).await?;
    ensure!(
        !seeded.stores.iter().any(|(id, _)| id == first.as_str()),
        "the existing store's key is not printed: {:?}",
        seeded.stores
    );
    ensure!(
        !seeded.stores.is_empty(),
        "the other demo stores are created with their demo keys"
    );
    ensure!(
        seeded.store_links.iter().any(|(id, _, _)| id == first.as_str()),
        "the store still gets its poster link"
    );
    let stored = app.db.store(&first).await?.ok_or_else(|| anyhow::anyhow!("store"))?;
    ensure!(stored.key_hash == hash_key(&real), "the real key still works");
    Ok(())
}
