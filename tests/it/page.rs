//! The M-DM page on both backends, through the page function's handler: escaping, the info
//! form (field errors store nothing, a double submit adds nothing), the consent ledger, CSRF,
//! size caps, claim, opt-out and beacons.

use anyhow::{Context, ensure};
use futures::TryStreamExt;
use mcamp_core::consent::{Purpose, Source};
use mcamp_core::customer::{Customer, CustomerKey};
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{BrandId, PhoneNumber};
use mcamp_http::Web;
use mcamp_http::tokens::form_token;
use mcamp_tests::{Backend, KAKAOTALK_ANDROID, call, contract, import_csv, phone_key, text};

/// The customer key of a phone in the demo's brand.
fn key_of(phone: &str) -> anyhow::Result<CustomerKey> {
    Ok(phone_key().customer_key(&BrandId::default(), &PhoneNumber::parse(phone)?))
}

async fn customer(web: &Web, phone: &str) -> anyhow::Result<Customer> {
    web.app
        .db
        .customer(&BrandId::default(), &key_of(phone)?)
        .await?
        .context("customer")
}

const FORM: &str = "application/x-www-form-urlencoded";

async fn setup(b: &Backend) -> anyhow::Result<(Web, Recipient, String)> {
    let web = b.web();
    let app = &web.app;
    let mut campaign = mcamp_ops::campaign_file::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/demo/campaign.yaml"
    )))?;
    campaign.id = mcamp_core::values::CampaignId::parse("page-test")?;
    app.db.push_campaign(&campaign, app.now()).await?;
    // Imported as the marketer does, with a name that tries to be HTML.
    let report = import_csv(
        &app.db,
        &campaign,
        "이름,휴대폰\n<script>alert(1)</script>,010-7777-0001\n",
    )
    .await?;
    ensure!(report.imported == 1, "{report:?}");
    let all: Vec<Recipient> = app.db.recipients(&campaign.id).try_collect().await?;
    let r = all.into_iter().next().context("the imported recipient")?;
    let token = form_token(&web.site.secret, r.code.as_str());
    Ok((web, r, token))
}

async fn form_consent_and_claim(b: Backend) -> anyhow::Result<()> {
    let (web, r, token) = setup(&b).await?;
    let app = &web.app;
    let page = format!("/p/{}", r.code);
    let get = call(&web, "GET", &page, &[("user-agent", KAKAOTALK_ANDROID)], "").await?;
    let html = text(&get);
    ensure!(get.status() == 200, "{}: {}", b.name, get.status());
    ensure!(
        !html.contains("<script>alert(1)") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;님"),
        "the name is escaped"
    );
    ensure!(
        html.contains("kakaotalk://web/openExternal?url="),
        "KakaoTalk gets the external-browser escape"
    );
    ensure!(html.contains("수신거부") && html.contains("(광고)"), "ad-law footer");

    // No token, a foreign token: refused, nothing stored.
    let bad = call(
        &web,
        "POST",
        &format!("{page}/form"),
        &[("content-type", FORM)],
        "name=x&phone=010-1234-5678&privacy=yes",
    )
    .await?;
    ensure!(bad.status() == 403, "{}: missing token -> {}", b.name, bad.status());
    // Invalid phone and birth year: the form again, Korean messages, nothing stored.
    let body = format!("token={token}&name=%ED%99%8D&phone=02-123&birth_year=19x0&privacy=yes");
    let invalid = call(&web, "POST", &format!("{page}/form"), &[("content-type", FORM)], &body).await?;
    let html = text(&invalid);
    ensure!(
        invalid.status() == 400 && html.contains("휴대폰 번호를 010-1234-5678 형식으로") && html.contains("출생연도를"),
        "{}: {}",
        b.name,
        invalid.status()
    );
    ensure!(
        app.db.recipient(&r.id).await?.context("r")?.form_completed_at.is_none(),
        "nothing stored"
    );
    // Oversized body: 413.
    let huge = format!("token={token}&name={}", "a".repeat(20_000));
    ensure!(
        call(&web, "POST", &format!("{page}/form"), &[("content-type", FORM)], &huge)
            .await?
            .status()
            == 413
    );

    // A good submit with marketing off, twice.
    let body = format!(
        "token={token}&name=%ED%99%8D%EA%B8%B8%EB%8F%99&phone=010-7777-0001&gender=male&birth_year=1990&privacy=yes"
    );
    for _ in 0..2 {
        let ok = call(&web, "POST", &format!("{page}/form"), &[("content-type", FORM)], &body).await?;
        ensure!(ok.status() == 303, "{}: form -> {}", b.name, ok.status());
    }
    let saved = app.db.recipient(&r.id).await?.context("r")?;
    let c = customer(&web, "010-7777-0001").await?;
    ensure!(
        saved.name.as_deref() == Some("홍길동")
            && saved.form_completed_at.is_some()
            && c.consents.privacy.is_some()
            && !c.consents.any_marketing(),
        "{saved:?} {c:?}"
    );
    let ledger = app.db.consent_ledger(&BrandId::default(), &c.key).await?;
    ensure!(
        ledger.len() == 1
            && ledger[0].purpose == Purpose::Privacy
            && ledger[0].granted
            && ledger[0].wording_version == "2026-03-v1",
        "{}: ledger {ledger:?}",
        b.name
    );

    // Claim (marketing consent is not required for this coupon) and issue.
    let claim = call(
        &web,
        "POST",
        &format!("{page}/claim"),
        &[("content-type", FORM), ("accept", "application/json")],
        &format!("token={token}&coupon=latte-5000"),
    )
    .await?;
    ensure!(
        claim.status() == 202,
        "{}: claim -> {} {}",
        b.name,
        claim.status(),
        text(&claim)
    );
    mcamp_coupon_issuer::consume(app, std::time::Duration::from_secs(1), std::time::Duration::ZERO).await;
    let state = call(
        &web,
        "GET",
        &format!("{page}/coupon"),
        &[("accept", "application/json")],
        "",
    )
    .await?;
    let v: serde_json::Value = serde_json::from_str(&text(&state))?;
    ensure!(
        v["pending"] == false && v["coupons"][0]["status"] == "issued",
        "{}: {v}",
        b.name
    );
    ensure!(
        text(&call(&web, "GET", &page, &[("user-agent", KAKAOTALK_ANDROID)], "").await?)
            .contains(v["coupons"][0]["code"].as_str().unwrap_or("?")),
        "code on the page"
    );

    // Marketing consent given later, then the opt-out link withdraws it at once.
    let body = format!("token={token}&name=%ED%99%8D%EA%B8%B8%EB%8F%99&phone=010-7777-0001&privacy=yes&marketing=yes");
    call(&web, "POST", &format!("{page}/form"), &[("content-type", FORM)], &body).await?;
    // Typed on the recipient's own imported link: confirmed at once.
    let c = customer(&web, "010-7777-0001").await?;
    ensure!(
        c.consents
            .marketing_sms
            .as_ref()
            .is_some_and(|s| s.confirmed_at.is_some()),
        "{}: {c:?}",
        b.name
    );
    let confirm = call(&web, "GET", &format!("{page}/optout"), &[], "").await?;
    ensure!(
        confirm.status() == 200 && text(&confirm).contains("수신거부하기"),
        "a confirmation, no change on GET"
    );
    // The opt-out takes the full number: a wrong one changes nothing.
    let wrong = call(
        &web,
        "POST",
        &format!("{page}/optout"),
        &[("content-type", FORM)],
        &format!("token={token}&phone=010-1111-2222"),
    )
    .await?;
    ensure!(
        wrong.status() == 400 && text(&wrong).contains("번호와 달라요"),
        "{}",
        wrong.status()
    );
    ensure!(
        customer(&web, "010-7777-0001").await?.suppressed.is_none(),
        "nothing changed"
    );
    let out = call(
        &web,
        "POST",
        &format!("{page}/optout"),
        &[("content-type", FORM)],
        &format!("token={token}&phone=010-7777-0001"),
    )
    .await?;
    ensure!(out.status() == 200 && text(&out).contains("수신거부되었어요"));
    let after = app.db.recipient(&r.id).await?.context("r")?;
    let c = customer(&web, "010-7777-0001").await?;
    ensure!(
        after.opted_out_at.is_some() && !c.consents.any_marketing() && c.suppressed.is_some(),
        "{}: opted out: {after:?} {c:?}",
        b.name
    );
    let purposes: Vec<(Purpose, bool, Source)> = app
        .db
        .consent_ledger(&BrandId::default(), &c.key)
        .await?
        .into_iter()
        .map(|e| (e.purpose, e.granted, e.channel))
        .collect();
    ensure!(
        purposes
            == vec![
                (Purpose::Privacy, true, Source::Form),
                (Purpose::MarketingSms, true, Source::Form),
                (Purpose::MarketingKakao, true, Source::Form),
                (Purpose::MarketingSms, false, Source::OptOutLink),
                (Purpose::MarketingKakao, false, Source::OptOutLink),
            ],
        "{}: ledger {purposes:?}",
        b.name
    );
    Ok(())
}
contract!(form_and_claim, super::form_consent_and_claim);

async fn share_and_beacons(b: Backend) -> anyhow::Result<()> {
    let (web, r, token) = setup(&b).await?;
    let app = &web.app;
    let page = format!("/p/{}", r.code);
    let share = call(
        &web,
        "POST",
        &format!("{page}/share"),
        &[("content-type", FORM), ("accept", "application/json")],
        &format!("token={token}&channel=kakao"),
    )
    .await?;
    let v: serde_json::Value = serde_json::from_str(&text(&share))?;
    let url = v["url"].as_str().unwrap_or("");
    ensure!(
        share.status() == 200 && url.starts_with("http://127.0.0.1:3000/") && v["title"].is_string(),
        "{}: {v}",
        b.name
    );
    let again = call(
        &web,
        "POST",
        &format!("{page}/share"),
        &[("content-type", FORM), ("accept", "application/json")],
        &format!("token={token}&channel=copy_link"),
    )
    .await?;
    ensure!(
        serde_json::from_str::<serde_json::Value>(&text(&again))?["url"] == url
            && url.ends_with(v["code"].as_str().unwrap_or("?")),
        "one share link per recipient, and its code for Kakao's serverCallbackArgs"
    );

    // Beacons carry the page's expiring token (`data-beacon`), not the form token.
    let page_html = text(
        &call(
            &web,
            "GET",
            &format!("/p/{}", r.code),
            &[("user-agent", KAKAOTALK_ANDROID)],
            "",
        )
        .await?,
    );
    let beacon_token = page_html
        .split("data-beacon=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("the page's beacon token")?
        .to_owned();
    let beacon = format!(
        r#"{{"code":"{}","token":"{beacon_token}","action":"video_play","target":"0"}}"#,
        r.code
    );
    ensure!(
        call(&web, "POST", "/e", &[("content-type", "text/plain")], &beacon)
            .await?
            .status()
            == 204
    );
    let with_form_token = format!(r#"{{"code":"{}","token":"{token}","action":"video_play"}}"#, r.code);
    ensure!(
        call(&web, "POST", "/e", &[], &with_form_token).await?.status() == 403,
        "the never-expiring form token does not feed beacons"
    );
    let forged = format!(r#"{{"code":"{}","token":"nope","action":"video_play"}}"#, r.code);
    ensure!(
        call(&web, "POST", "/e", &[], &forged).await?.status() == 403,
        "forged beacon refused"
    );
    let odd = format!(
        r#"{{"code":"{}","token":"{beacon_token}","action":"buy_everything"}}"#,
        r.code
    );
    ensure!(
        call(&web, "POST", "/e", &[], &odd).await?.status() == 400,
        "unknown action refused"
    );
    ensure!(call(&web, "POST", "/e", &[], "not json").await?.status() == 400);
    // The page's depth when it is left names a content block, nothing else.
    let depth = |target: &str| {
        format!(
            r#"{{"code":"{}","token":"{beacon_token}","action":"page_depth","target":{target}}}"#,
            r.code
        )
    };
    ensure!(call(&web, "POST", "/e", &[], &depth("\"2\"")).await?.status() == 204);
    for bad in ["\"x\"", "\"123\"", "\"-1\"", "null"] {
        ensure!(
            call(&web, "POST", "/e", &[], &depth(bad)).await?.status() == 400,
            "page_depth {bad} refused"
        );
    }

    let events = app.db.events_of(&r.campaign_id).await?;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind()).collect();
    ensure!(
        kinds.iter().filter(|k| **k == "share_intent").count() == 2
            && kinds.iter().filter(|k| **k == "interaction").count() == 2,
        "{}: {kinds:?}",
        b.name
    );
    Ok(())
}
contract!(share_beacons, super::share_and_beacons);

async fn kakao_share_webhook(b: Backend) -> anyhow::Result<()> {
    let (web, r, _) = setup(&b).await?;
    let mut site = (*web.site).clone();
    site.kakao_admin_key = Some(mcamp_http::site::Secret::new("admin-key-123"));
    let web = Web::new(web.app.clone(), site);
    let app = &web.app;
    let share = app.db.share_code(&r, app.now()).await?;
    let body = format!(r#"{{"share_code":"{share}","CHAT_TYPE":"MemoChat","HASH_CHAT_ID":"x","TEMPLATE_ID":"1"}}"#);
    let ua = [("user-agent", "KakaoOpenAPI/1.0")];
    let wrong = call(
        &web,
        "POST",
        "/hooks/kakao/share",
        &[ua[0], ("authorization", "KakaoAK nope")],
        &body,
    )
    .await?;
    ensure!(
        wrong.status() == 401,
        "{}: wrong admin key -> {}",
        b.name,
        wrong.status()
    );
    let ok = call(
        &web,
        "POST",
        "/hooks/kakao/share",
        &[ua[0], ("authorization", "KakaoAK admin-key-123")],
        &body,
    )
    .await?;
    ensure!(ok.status() == 200, "{}: {}", b.name, ok.status());
    let events = app.db.events_of(&r.campaign_id).await?;
    ensure!(
        events
            .iter()
            .any(|e| e.kind() == "share_delivered" && e.recipient_id.as_ref() == Some(&r.id)),
        "delivered share recorded"
    );

    // Kakao's own delivery id: the same delivery twice records one event, with the chat.
    let delivered = |web: &Web, method: &'static str, path: String, body: String, id: &'static str| {
        let web = web.clone();
        async move {
            call(
                &web,
                method,
                &path,
                &[
                    ua[0],
                    ("authorization", "KakaoAK admin-key-123"),
                    ("x-kakao-resource-id", id),
                ],
                &body,
            )
            .await
        }
    };
    let direct = format!("share_code={share}&CHAT_TYPE=DirectChat&HASH_CHAT_ID=room-1");
    for _ in 0..2 {
        let resp = delivered(&web, "POST", "/hooks/kakao/share".into(), direct.clone(), "delivery-1").await?;
        ensure!(resp.status() == 200, "{}: form body -> {}", b.name, resp.status());
    }
    // The webhook configured as GET.
    let get = format!("/hooks/kakao/share?share_code={share}&CHAT_TYPE=MultiChat&HASH_CHAT_ID=room-2");
    let resp = delivered(&web, "GET", get, String::new(), "delivery-2").await?;
    ensure!(resp.status() == 200, "{}: GET -> {}", b.name, resp.status());
    let chats: Vec<(Option<String>, Option<String>)> = app
        .db
        .events_of(&r.campaign_id)
        .await?
        .into_iter()
        .filter_map(|e| match e.data {
            mcamp_core::events::EventData::ShareDelivered { chat_type, chat, .. } => Some((chat_type, chat)),
            _ => None,
        })
        .collect();
    let want = |t: &str, c: &str| (Some(t.to_owned()), Some(c.to_owned()));
    ensure!(
        chats.len() == 3
            && chats.contains(&want("MemoChat", "x"))
            && chats.contains(&want("DirectChat", "room-1"))
            && chats.contains(&want("MultiChat", "room-2")),
        "{}: one event per delivery, with its chat: {chats:?}",
        b.name
    );

    // Kakao never resends: a throttled write is retried in the request, not lost.
    let faults = mcamp_tests::Faults {
        throttle: 0.3,
        only: Some(mcamp_store::ports::TableId::Events),
        ..mcamp_tests::Faults::default()
    };
    let table = std::sync::Arc::new(mcamp_tests::FaultyTable::new(b.table.clone(), faults, 3));
    let flaky = Web::new(mcamp_app::App::new(table.clone(), b.queue.clone()), (*web.site).clone());
    for (i, id) in ["delivery-3", "delivery-4", "delivery-5", "delivery-6"]
        .into_iter()
        .enumerate()
    {
        let body = format!("share_code={share}&CHAT_TYPE=DirectChat&HASH_CHAT_ID=room-{}", i + 3);
        let resp = delivered(&flaky, "POST", "/hooks/kakao/share".into(), body, id).await?;
        ensure!(
            resp.status() == 200,
            "{}: {id} under throttling -> {} {}",
            b.name,
            resp.status(),
            text(&resp)
        );
    }
    let delivered_now = app
        .db
        .events_of(&r.campaign_id)
        .await?
        .iter()
        .filter(|e| e.kind() == "share_delivered")
        .count();
    ensure!(
        delivered_now == 7 && table.counts.get().1 > 0,
        "{}: every delivery recorded despite {} throttles: {delivered_now}",
        b.name,
        table.counts.get().1
    );
    Ok(())
}
contract!(kakao_webhook, super::kakao_share_webhook);

/// A claim whose job was lost is never pending forever on the page: polling sends the job
/// again (once a minute at most) without counting page views, and after three minutes the
/// page says it is late and offers to ask again instead of refreshing forever.
async fn a_lost_claim_is_sent_again_and_never_waits_forever(b: Backend) -> anyhow::Result<()> {
    let (web, r, token) = setup(&b).await?;
    let clock = mcamp_tests::TestClock::new();
    // Every send of this app fails: the claim is recorded, its job lost.
    let lossy = mcamp_app::App::new(
        b.table.clone(),
        std::sync::Arc::new(mcamp_tests::FlakyQueue::new(b.queue.clone(), 1.0, 1)),
    )
    .with_campaign_cache(std::time::Duration::ZERO)
    .with_clock(clock.clock());
    let lossy = Web {
        app: lossy,
        site: web.site.clone(),
    };
    let page = format!("/p/{}", r.code);
    let form = format!("token={token}&name=%ED%99%8D&phone=010-7777-0001&gender=male&birth_year=1990&privacy=yes");
    ensure!(
        call(
            &lossy,
            "POST",
            &format!("{page}/form"),
            &[("content-type", FORM)],
            &form
        )
        .await?
        .status()
            == 303
    );
    let claim = call(
        &lossy,
        "POST",
        &format!("{page}/claim"),
        &[("content-type", FORM)],
        &format!("token={token}&coupon=latte-5000"),
    )
    .await?;
    ensure!(
        claim.status() == 303,
        "{}: a lost send is not the person's error: {}",
        b.name,
        claim.status()
    );

    // The page as it polls (`?w=`): pending, refreshing, no page view counted.
    let working = Web {
        app: web.app.clone().with_clock(clock.clock()),
        site: web.site.clone(),
    };
    let views = |events: &[mcamp_core::events::Event]| events.iter().filter(|e| e.kind() == "page_view").count();
    let before = views(&working.app.db.events_of(&r.campaign_id).await?);
    let depth = || async { anyhow::Ok(b.queue.depth(mcamp_store::ports::QueueId::CouponIssue).await?) };
    let queued = depth().await?;
    let poll = call(
        &working,
        "GET",
        &format!("{page}?w=3"),
        &[("user-agent", KAKAOTALK_ANDROID)],
        "",
    )
    .await?;
    let html = text(&poll);
    ensure!(
        html.contains("쿠폰을 발급하고 있어요") && html.contains("http-equiv=\"refresh\""),
        "{}: pending",
        b.name
    );
    ensure!(
        views(&working.app.db.events_of(&r.campaign_id).await?) == before,
        "{}: polling is not a view",
        b.name
    );
    ensure!(
        depth().await? == queued,
        "{}: not yet a minute: nothing sent again",
        b.name
    );
    // A minute on, the poll sends the job again, once however often it polls.
    clock.advance(chrono::Duration::seconds(61));
    for _ in 0..3 {
        call(
            &working,
            "GET",
            &format!("{page}?w=4"),
            &[("user-agent", KAKAOTALK_ANDROID)],
            "",
        )
        .await?;
    }
    ensure!(depth().await? == queued + 1, "{}: sent again once", b.name);
    // Three minutes on and still undecided: the page says so and stops refreshing.
    clock.advance(chrono::Duration::seconds(150));
    let late = text(&call(&working, "GET", &page, &[("user-agent", KAKAOTALK_ANDROID)], "").await?);
    ensure!(
        late.contains("발급이 늦어지고 있어요")
            && late.contains("다시 요청하기")
            && !late.contains("http-equiv=\"refresh\""),
        "{}: delayed, with a retry",
        b.name
    );
    // The job that was sent again issues the coupon.
    mcamp_coupon_issuer::consume(
        &working.app,
        std::time::Duration::from_secs(1),
        std::time::Duration::ZERO,
    )
    .await;
    let done = text(&call(&working, "GET", &page, &[("user-agent", KAKAOTALK_ANDROID)], "").await?);
    ensure!(done.contains("매장에서 이 화면을 보여 주세요"), "{}: issued", b.name);
    Ok(())
}
contract!(lost_claim, super::a_lost_claim_is_sent_again_and_never_waits_forever);
