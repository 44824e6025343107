//! Short links on both backends, through the very handlers the Lambdas run: click truth,
//! share chains over two hops, idempotent minting, and bad codes.

use anyhow::{Context, ensure};
use futures::TryStreamExt;
use mcamp_app::App;
use mcamp_core::campaign::CampaignStatus;
use mcamp_core::client::{AgentKind, Device, InApp, Os};
use mcamp_core::events::EventData;
use mcamp_core::recipient::NewRecipient;
use mcamp_core::values::PhoneNumber;
use mcamp_core::values::StoreId;
use mcamp_http::Web;
use mcamp_store::ports::TableId;
use mcamp_store::recipients::Added;
use mcamp_tests::{
    Backend, CountingTable, IPHONE_SAFARI, KAKAO_SCRAPER, KAKAOTALK_ANDROID, call, call_from, campaign_with_coupon,
    contract, recipients, text,
};

fn location(resp: &lambda_http::Response<lambda_http::Body>) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn set_cookie(resp: &lambda_http::Response<lambda_http::Body>) -> String {
    let c = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    c.split(';').next().unwrap_or("").to_owned()
}

async fn clicks_are_counted_and_classified_previews_are_not(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let app = &web.app;
    let campaign = campaign_with_coupon("links-test", 10)?;
    app.db.push_campaign(&campaign, app.now()).await?;
    let r = recipients(&app.db, &campaign, 1).await?.remove(0);
    let path = format!("/{}", r.code);

    // The KakaoTalk scraper fetching the link for the chat's preview card: no click.
    let preview = call(&web, "GET", &path, &[("user-agent", KAKAO_SCRAPER)], "").await?;
    ensure!(
        preview.status() == 200,
        "{}: preview gets 200, got {}",
        b.name,
        preview.status()
    );
    let html = text(&preview);
    ensure!(
        html.contains(r#"property="og:title" content="테스트""#),
        "Open Graph title: {html}"
    );
    let head = call(&web, "HEAD", &path, &[("user-agent", IPHONE_SAFARI)], "").await?;
    ensure!(
        head.status() == 200 && text(&head).is_empty(),
        "HEAD: a preview, no body"
    );
    // The scraper again (another chat shows the link): the card, but no second preview event
    // within the hour.
    for _ in 0..2 {
        let again = call(&web, "GET", &path, &[("user-agent", KAKAO_SCRAPER)], "").await?;
        ensure!(again.status() == 200, "{}: the card again: {}", b.name, again.status());
    }
    ensure!(
        app.db.link(&r.code).await?.context("link")?.clicks == 0,
        "previews are not clicks"
    );

    // The recipient taps it in KakaoTalk, then again in Safari.
    let first = call(&web, "GET", &path, &[("user-agent", KAKAOTALK_ANDROID)], "").await?;
    ensure!(
        first.status() == 302 && location(&first) == format!("/p/{}", r.code),
        "{}: 302 to the page: {}",
        b.name,
        location(&first)
    );
    call(&web, "GET", &path, &[("user-agent", IPHONE_SAFARI)], "").await?;
    ensure!(
        app.db.link(&r.code).await?.context("link")?.clicks == 2,
        "two clicks counted"
    );

    let events = app.db.events_of(&campaign.id).await?;
    let clicks: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Click { client, first, .. } => Some((client, *first, e)),
            _ => None,
        })
        .collect();
    ensure!(clicks.len() == 2, "{}: two click events, got {}", b.name, clicks.len());
    let (client, unique, e) = clicks[0];
    ensure!(unique && !clicks[1].1, "total and unique clicks are both derivable");
    ensure!(
        client.agent == AgentKind::Human
            && client.in_app == Some(InApp::Kakaotalk)
            && client.os == Os::Android
            && client.device == Device::Phone,
        "{client:?}"
    );
    ensure!(
        e.recipient_id.as_ref() == Some(&r.id) && e.chain_head.as_ref() == Some(&r.id) && e.referrer_id.is_none(),
        "{e:?}"
    );
    ensure!(clicks[1].0.os == Os::Ios && clicks[1].0.in_app.is_none());
    let previews = events.iter().filter(|e| e.kind() == "preview").count();
    ensure!(
        previews == 2,
        "{}: the scraper (once an hour) and the HEAD are preview events, got {previews}",
        b.name
    );

    // Paused: a friendly 410; malformed and unknown codes: 404.
    app.db
        .set_campaign_status(&campaign.id, CampaignStatus::Paused, app.now())
        .await?;
    let gone = call(&web, "GET", &path, &[("user-agent", IPHONE_SAFARI)], "").await?;
    ensure!(
        gone.status() == 410 && text(&gone).contains("참여할 수 없는 이벤트"),
        "{}: paused campaign: {}",
        b.name,
        gone.status()
    );
    let unknown = call(&web, "GET", "/zzzzzzzzzz", &[("user-agent", IPHONE_SAFARI)], "").await?;
    ensure!(unknown.status() == 404 && text(&unknown).contains("찾을 수 없어요"));
    Ok(())
}
contract!(click_truth, super::clicks_are_counted_and_classified_previews_are_not);

async fn malformed_codes_never_touch_storage(b: Backend) -> anyhow::Result<()> {
    let counting = std::sync::Arc::new(CountingTable::new(b.table.clone()));
    let web = mcamp_http::Web::new(
        mcamp_app::App::new(counting.clone(), b.queue.clone()),
        mcamp_http::Site::local(
            "http://127.0.0.1:3000",
            mcamp_tests::TEST_SECRET,
            mcamp_tests::phone_key(),
        ),
    );
    let before = b.feed.changes(TableId::Events, None, 10_000).await?.len();
    let huge = "A".repeat(20_000);
    for path in [
        "/abc%20def",
        "/%FF%FE",
        "/abcdefghijklmnop",
        "/a.b",
        "/%E2%80%AE",
        "/한글",
    ] {
        let resp = call(&web, "GET", path, &[("user-agent", IPHONE_SAFARI)], "").await?;
        ensure!(resp.status() == 404, "{}: {path} -> {}", b.name, resp.status());
    }
    ensure!(
        counting.calls() == 0,
        "{}: storage was called {} times for malformed codes",
        b.name,
        counting.calls()
    );
    // A well-formed unknown code with a huge header: one read, a 404, never a panic.
    let resp = call(&web, "GET", "/abc", &[("user-agent", &huge)], "").await?;
    ensure!(
        resp.status() == 404,
        "a huge header on an unknown code is a 404, never a panic"
    );
    ensure!(
        b.feed.changes(TableId::Events, None, 10_000).await?.len() == before,
        "nothing stored"
    );
    Ok(())
}
contract!(bad_codes, super::malformed_codes_never_touch_storage);

async fn two_hop_share_chain(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let app = &web.app;
    let campaign = campaign_with_coupon("chain-test", 10)?;
    app.db.push_campaign(&campaign, app.now()).await?;
    let a = recipients(&app.db, &campaign, 1).await?.remove(0);

    // A shares; B taps A's share link and becomes a visitor referred by A.
    let a_share = app.db.share_code(&a, app.now()).await?;
    let tap = call(
        &web,
        "GET",
        &format!("/{a_share}"),
        &[("user-agent", KAKAOTALK_ANDROID)],
        "",
    )
    .await?;
    ensure!(tap.status() == 302, "{}: {}", b.name, tap.status());
    let b_code = location(&tap).trim_start_matches("/p/").to_owned();
    let b_link = app
        .db
        .link(&mcamp_core::values::ShortCode::parse(&b_code)?)
        .await?
        .context("B's link")?;
    let visitor_b = app
        .db
        .recipient(b_link.recipient_id.as_ref().context("B's owner")?)
        .await?
        .context("B")?;
    ensure!(
        visitor_b.referrer_id.as_ref() == Some(&a.id) && visitor_b.chain == vec![a.id.clone()],
        "B referred by A: {visitor_b:?}"
    );

    // B taps A's link again with the cookie: still B, not a new visitor.
    let cookie = set_cookie(&tap);
    let again = call(
        &web,
        "GET",
        &format!("/{a_share}"),
        &[("user-agent", KAKAOTALK_ANDROID), ("cookie", &cookie)],
        "",
    )
    .await?;
    ensure!(
        location(&again) == format!("/p/{b_code}"),
        "{}: same visitor on a second tap",
        b.name
    );

    // B shares in turn; C arrives through B.
    let b_share = app.db.share_code(&visitor_b, app.now()).await?;
    let tap_c = call(
        &web,
        "GET",
        &format!("/{b_share}"),
        &[("user-agent", IPHONE_SAFARI)],
        "",
    )
    .await?;
    let c_code = mcamp_core::values::ShortCode::parse(location(&tap_c).trim_start_matches("/p/"))?;
    let visitor_c = app
        .db
        .recipient(
            app.db
                .link(&c_code)
                .await?
                .context("C's link")?
                .recipient_id
                .as_ref()
                .context("C's owner")?,
        )
        .await?
        .context("C")?;
    ensure!(
        visitor_c.chain == vec![a.id.clone(), visitor_b.id.clone()] && visitor_c.chain_head() == a.id,
        "C's chain: {:?}",
        visitor_c.chain
    );

    let tree = app.db.share_tree(&a.id, 3).await?;
    ensure!(
        tree == vec![
            (a.id.clone(), visitor_b.id.clone(), 1),
            (visitor_b.id.clone(), visitor_c.id.clone(), 2)
        ],
        "{}: who shared to whom: {tree:?}",
        b.name
    );

    // A click by C is credited to the chain: referrer B, head A.
    let events = app.db.events_of(&campaign.id).await?;
    let c_click = events
        .iter()
        .find(|e| e.kind() == "click" && e.recipient_id.as_ref() == Some(&visitor_c.id))
        .context("C's click")?;
    ensure!(
        c_click.referrer_id.as_ref() == Some(&visitor_b.id) && c_click.chain_head.as_ref() == Some(&a.id),
        "{c_click:?}"
    );

    // A coupon C gets is credited to the chain too.
    let coupon = mcamp_core::values::CouponId::parse("welcome")?;
    mcamp_store::claims::claim(
        &app.db,
        app.queue.as_ref(),
        &campaign,
        &visitor_c,
        None,
        &coupon,
        app.now(),
    )
    .await?;
    mcamp_coupon_issuer::consume(app, std::time::Duration::from_secs(1), std::time::Duration::ZERO).await;
    let issued = app.db.issued_coupons(&campaign.id, &coupon).await?;
    ensure!(
        issued.len() == 1 && issued[0].chain_head == a.id && issued[0].referrer_id.as_ref() == Some(&visitor_b.id),
        "{issued:?}"
    );
    Ok(())
}
contract!(share_chain, super::two_hop_share_chain);

/// The customer key of a phone in the default brand.
fn key_of(phone: &PhoneNumber) -> mcamp_core::customer::CustomerKey {
    mcamp_tests::phone_key().customer_key(&mcamp_core::values::BrandId::default(), phone)
}

async fn minting_is_idempotent(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let app = &web.app;
    let campaign = campaign_with_coupon("mint-test", 10)?;
    app.db.push_campaign(&campaign, app.now()).await?;
    let phone = PhoneNumber::parse("010-5555-0001")?;
    let first = app
        .db
        .add_recipient(
            &campaign,
            NewRecipient {
                phone: Some(phone.clone()),
                ..Default::default()
            },
            Some(key_of(&phone)),
            app.now(),
        )
        .await?;
    let Added::Created(r) = first else {
        anyhow::bail!("first add must create")
    };
    // The same number in another form is the same recipient and link.
    let again = app
        .db
        .add_recipient(
            &campaign,
            NewRecipient {
                phone: Some(PhoneNumber::parse("+82 10 5555 0001")?),
                ..Default::default()
            },
            Some(key_of(&PhoneNumber::parse("+82 10 5555 0001")?)),
            app.now(),
        )
        .await?;
    ensure!(again == Added::Duplicate(r.id.clone()), "{}: {again:?}", b.name);
    ensure!(app.db.recipients(&campaign.id).try_collect::<Vec<_>>().await?.len() == 1);
    // Share links: ten concurrent mints give one code.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (db, r, now) = (app.db.clone(), (*r).clone(), app.now());
        tasks.push(tokio::spawn(async move { db.share_code(&r, now).await }));
    }
    let mut codes = std::collections::HashSet::new();
    for t in tasks {
        codes.insert(t.await??);
    }
    ensure!(codes.len() == 1, "{}: one share code, got {codes:?}", b.name);
    let code = codes.into_iter().next().context("code")?;
    ensure!(
        app.db.recipient(&r.id).await?.and_then(|r| r.share_code) == Some(code),
        "stored on the recipient"
    );
    ensure!(
        r.code.as_str().len() == 10 && r.code.as_str().bytes().all(|c| c.is_ascii_alphanumeric()),
        "10 base62 characters"
    );
    Ok(())
}
contract!(minting, super::minting_is_idempotent);

/// The events table down (every write throttled): the person still gets the redirect and their
/// page, the click is on the link's counter, and each lost event is counted and logged, never
/// silent.
async fn lost_events_never_stop_the_person(b: Backend) -> anyhow::Result<()> {
    let faults = mcamp_tests::Faults {
        throttle: 1.0,
        only: Some(TableId::Events),
        ..mcamp_tests::Faults::default()
    };
    let table = std::sync::Arc::new(mcamp_tests::FaultyTable::new(b.table.clone(), faults, 1));
    let web = mcamp_http::Web::new(
        mcamp_app::App::new(table.clone(), b.queue.clone()),
        mcamp_http::Site::local(
            "http://127.0.0.1:3000",
            mcamp_tests::TEST_SECRET,
            mcamp_tests::phone_key(),
        ),
    );
    let c = campaign_with_coupon("lost-events", 5)?;
    web.app.db.push_campaign(&c, web.app.now()).await?;
    let r = recipients(&web.app.db, &c, 1).await?.pop().context("recipient")?;
    let resp = call(
        &web,
        "GET",
        &format!("/{}", r.code),
        &[("user-agent", IPHONE_SAFARI)],
        "",
    )
    .await?;
    ensure!(
        resp.status() == 302,
        "{}: the redirect answers: {}",
        b.name,
        resp.status()
    );
    let page = call(&web, "GET", &location(&resp), &[("user-agent", IPHONE_SAFARI)], "").await?;
    ensure!(page.status() == 200, "{}: the page answers: {}", b.name, page.status());
    let link = web.app.db.link(&r.code).await?.context("link")?;
    ensure!(
        link.clicks == 1,
        "{}: the click is on the link's counter: {}",
        b.name,
        link.clicks
    );
    ensure!(
        web.app.events_lost() == 2 && table.counts.get().1 >= 2,
        "{}: the click and the page view were counted as lost: {}",
        b.name,
        web.app.events_lost()
    );
    Ok(())
}
contract!(lost_events, super::lost_events_never_stop_the_person);

/// A share link brings in at most `share.max_visitors` new visitors: past it a new browser
/// gets the Korean 429 page and nothing is written; a returning visitor still gets in.
async fn a_share_link_fan_out_is_capped(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let mut c = campaign_with_coupon("fan-out", 5)?;
    c.share.max_visitors = 3;
    web.app.db.push_campaign(&c, web.app.now()).await?;
    let sharer = recipients(&web.app.db, &c, 1).await?.pop().context("sharer")?;
    let share = web.app.db.share_code(&sharer, web.app.now()).await?;
    let mut first_cookie = String::new();
    for i in 0..5 {
        let resp = call(&web, "GET", &format!("/{share}"), &[("user-agent", IPHONE_SAFARI)], "").await?;
        if i < 3 {
            ensure!(resp.status() == 302, "{}: visitor {i} -> {}", b.name, resp.status());
            if i == 0 {
                first_cookie = set_cookie(&resp);
            }
        } else {
            ensure!(
                resp.status() == 429 && text(&resp).contains("이 링크로는 더 참여할 수 없어요"),
                "{}: visitor {i} past the cap -> {}",
                b.name,
                resp.status()
            );
        }
    }
    let people: Vec<_> = web.app.db.recipients(&c.id).try_collect().await?;
    ensure!(
        people.len() == 1 + 3,
        "{}: nothing written past the cap: {}",
        b.name,
        people.len()
    );
    ensure!(
        web.app.db.referrals(&sharer.id).await?.len() == 3,
        "{}: three referral edges",
        b.name
    );
    // The first visitor, back with their cookie, is no new visitor.
    let back = call(
        &web,
        "GET",
        &format!("/{share}"),
        &[("user-agent", IPHONE_SAFARI), ("cookie", &first_cookie)],
        "",
    )
    .await?;
    ensure!(
        back.status() == 302,
        "{}: a returning visitor -> {}",
        b.name,
        back.status()
    );
    Ok(())
}
contract!(fan_out_cap, super::a_share_link_fan_out_is_capped);

/// One network mints at most `share.visitors_per_network_hour` new visitors an hour, through
/// share and store links together: past it a new browser from there gets the Korean 429 page
/// and nothing is written, while other networks and people already in still get in; the next
/// hour opens a new window. The stored window holds a keyed tag, never the address.
async fn one_network_mints_few_visitors_an_hour(b: Backend) -> anyhow::Result<()> {
    let clock = mcamp_tests::TestClock::new();
    let app = App::new(b.table.clone(), b.queue.clone()).with_clock(clock.clock());
    let web = Web {
        app,
        site: b.web().site.clone(),
    };
    let mut c = campaign_with_coupon("per-network", 5)?;
    c.share.visitors_per_network_hour = 4;
    web.app.db.push_campaign(&c, web.app.now()).await?;
    let sharers = recipients(&web.app.db, &c, 2).await?;
    let mut shares = Vec::new();
    for s in &sharers {
        shares.push(web.app.db.share_code(s, web.app.now()).await?);
    }
    let store = StoreId::parse("gangnam-01")?;
    mcamp_ops::stores::add_store(&web.app.db, &store, "강남점", false, web.app.now()).await?;
    let store_link = web.app.db.store_link(&c.id, &store, web.app.now()).await?;
    let tap = |ip: &'static str, code: String, cookie: Option<String>| {
        let web = web.clone();
        async move {
            let mut headers = vec![("user-agent", IPHONE_SAFARI)];
            if let Some(c) = &cookie {
                headers.push(("cookie", c.as_str()));
            }
            call_from(&web, ip, "GET", &format!("/{code}"), &headers, "").await
        }
    };
    let flood = "203.0.113.9";
    let mut first_cookie = None;
    // Two share links and a store link from one network: four new visitors in all.
    for (i, code) in [&shares[0], &shares[1], &shares[0], &store_link]
        .into_iter()
        .enumerate()
    {
        let resp = tap(flood, code.to_string(), None).await?;
        ensure!(resp.status() == 302, "{}: visitor {i} -> {}", b.name, resp.status());
        if i == 0 {
            first_cookie = Some(set_cookie(&resp));
        }
    }
    let before = web.app.db.recipients(&c.id).try_collect::<Vec<_>>().await?.len();
    for code in [&shares[1], &store_link, &shares[0]] {
        let resp = tap(flood, code.to_string(), None).await?;
        ensure!(
            resp.status() == 429 && text(&resp).contains("같은 인터넷 연결에서 새로 참여하는 분이 너무 많아요"),
            "{}: past the window -> {}",
            b.name,
            resp.status()
        );
    }
    let after = web.app.db.recipients(&c.id).try_collect::<Vec<_>>().await?.len();
    ensure!(
        before == after,
        "{}: nothing written past the window: {before} -> {after}",
        b.name
    );
    // Whoever is already in still gets in from the same network.
    let back = tap(flood, shares[0].to_string(), first_cookie).await?;
    ensure!(
        back.status() == 302,
        "{}: a returning visitor -> {}",
        b.name,
        back.status()
    );
    // Another network (an IPv6 subscriber; a new address in the same /64 is the same network).
    for ip in ["2001:db8:1:2::10", "2001:db8:1:2::99"] {
        let resp = tap(ip, shares[1].to_string(), None).await?;
        ensure!(resp.status() == 302, "{}: from {ip} -> {}", b.name, resp.status());
    }
    // An hour later the flood's network has a new window.
    clock.advance(chrono::Duration::minutes(61));
    let resp = tap(flood, shares[1].to_string(), None).await?;
    ensure!(resp.status() == 302, "{}: the next hour -> {}", b.name, resp.status());
    // The window is stored under a keyed tag of the network, not the address.
    let tag = mcamp_http::tokens::network_tag(&web.site.secret, flood);
    let windows = b
        .table
        .query(&mcamp_store::ports::Query::partition(
            TableId::Main,
            mcamp_store::keys::network_window(&c.id, &tag),
        ))
        .await?
        .items;
    let counts: Vec<i64> = windows.iter().filter_map(|w| w.get("n")?.as_i64()).collect();
    ensure!(
        counts == [4, 1],
        "{}: two hourly windows of this network: {windows:?}",
        b.name
    );
    ensure!(
        windows
            .iter()
            .all(|w| w.get("ttl").is_some_and(|t| t.as_i64().is_some()) && !format!("{w:?}").contains(flood)),
        "{}: windows expire and never hold the address: {windows:?}",
        b.name
    );
    Ok(())
}
contract!(network_window, super::one_network_mints_few_visitors_an_hour);

/// New visitors arriving at once share their network's window item, and DynamoDB cancels all
/// but one of such transactions: under injected conflicts (30 % of transactions) each new
/// visitor still gets in, the mint retried briefly, and each is minted once.
async fn new_visitors_get_in_despite_conflicts(b: Backend) -> anyhow::Result<()> {
    use mcamp_tests::faults::{Faults, FaultyTable};
    let faults = Faults {
        conflict: 0.3,
        ..Faults::default()
    };
    let faulty = std::sync::Arc::new(FaultyTable::new(b.table.clone(), faults, 5));
    let web = Web {
        app: App::new(faulty.clone(), b.queue.clone()),
        site: b.web().site.clone(),
    };
    // Set up without faults.
    let clean = b.app();
    let c = campaign_with_coupon("conflicts", 5)?;
    clean.db.push_campaign(&c, clean.now()).await?;
    let sharer = recipients(&clean.db, &c, 1).await?.pop().context("sharer")?;
    let share = clean.db.share_code(&sharer, clean.now()).await?;
    for i in 0..12 {
        let resp = call_from(
            &web,
            "198.51.100.7",
            "GET",
            &format!("/{share}"),
            &[("user-agent", IPHONE_SAFARI)],
            "",
        )
        .await?;
        ensure!(resp.status() == 302, "{}: visitor {i} -> {}", b.name, resp.status());
    }
    let conflicts = faulty.counts.get().0;
    ensure!(conflicts > 0, "{}: conflicts were injected", b.name);
    let people = web.app.db.recipients(&c.id).try_collect::<Vec<_>>().await?.len();
    ensure!(people == 1 + 12, "{}: each visitor minted once: {people}", b.name);
    Ok(())
}
contract!(mint_under_conflicts, super::new_visitors_get_in_despite_conflicts);
