//! The store staff's redeem page in the console, on both backends: staff land on their store's
//! page, look a coupon up and redeem it under the redeem API's rules (a repeat here says so, a
//! second store is told when and where it was used), reach no other store, and every post
//! carries the session's CSRF token; the audit log keeps only the code's last four characters.

use std::time::Duration;

use anyhow::{Context, ensure};
use base64::Engine;
use chrono::{DateTime, Utc};
use mcamp_core::coupon::{Store, hash_key};
use mcamp_core::time::kst;
use mcamp_core::values::{CouponCode, CouponId, StoreId};
use mcamp_http::Web;
use mcamp_store::claims;
use mcamp_store::redeem::{self, RedeemError};
use mcamp_tests::{Backend, call, campaign_with_coupon, contract, recipients, text};
use sha2::Digest;

use crate::console::{FORM, add_user, console_web, location, session_of, urlencode};

/// Issues the `welcome` coupon to each of `people` and returns their codes.
async fn issue_codes(
    web: &Web,
    campaign: &mcamp_core::campaign::Campaign,
    people: &[mcamp_core::recipient::Recipient],
) -> anyhow::Result<Vec<CouponCode>> {
    let app = &web.app;
    let coupon = CouponId::parse("welcome")?;
    for r in people {
        claims::claim(&app.db, app.queue.as_ref(), campaign, r, None, &coupon, app.now()).await?;
    }
    let mut codes = Vec::new();
    for r in people {
        let mut code = None;
        for _ in 0..20 {
            code = app.db.claim(&r.id, &coupon, 1).await?.and_then(|c| c.code);
            if code.is_some() {
                break;
            }
            mcamp_coupon_issuer::consume(app, Duration::from_millis(300), Duration::ZERO).await;
        }
        codes.push(code.context("a code issued")?);
    }
    Ok(codes)
}

fn kst_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&kst()).format("%Y년 %-m월 %-d일 %H:%M").to_string()
}

/// A hidden input's value in a page.
fn csrf_of(html: &str) -> anyhow::Result<String> {
    let at = html.find("name=\"csrf\"").context("a csrf field")?;
    let v = html[at..].split("value=\"").nth(1).context("its value")?;
    Ok(v.split('"').next().unwrap_or_default().to_owned())
}

async fn post(
    web: &Web,
    path: &str,
    cookie: &str,
    body: &str,
) -> anyhow::Result<lambda_http::Response<lambda_http::Body>> {
    call(web, "POST", path, &[FORM, ("cookie", cookie)], body).await
}

async fn store_staff_redeem_from_the_console(b: Backend) -> anyhow::Result<()> {
    let web = console_web(&b)?;
    let db = &web.app.db;
    let mut campaign = campaign_with_coupon("store-page", 10)?;
    let until = Utc::now() + chrono::Duration::days(30);
    campaign.coupons[0].valid_until = Some(until);
    db.push_campaign(&campaign, Utc::now()).await?;
    let people = recipients(db, &campaign, 3).await?;
    let codes = issue_codes(&web, &campaign, &people).await?;
    let (code, other_code, late_code) = (&codes[0], &codes[1], &codes[2]);
    for (id, name) in [("gangnam-01", "강남역점"), ("hongdae-02", "홍대입구점")] {
        db.put_store(&Store {
            id: StoreId::parse(id)?,
            name: name.into(),
            key_hash: hash_key(&format!("key-{id}-0123456789")),
            created_at: Utc::now(),
        })
        .await?;
    }
    add_user(&web, "staff@brand.kr", "store:gangnam-01", &[]).await?;
    add_user(&web, "hong@brand.kr", "store:hongdae-02", &[]).await?;
    add_user(&web, "kim@brand.kr", "admin", &[]).await?;
    add_user(&web, "lee@agency.kr", "viewer", &[]).await?;
    add_user(&web, "park@agency.kr", "admin", &["another-campaign"]).await?;
    let home = "/console/stores/gangnam-01";

    // No session: the sign-in page.
    let resp = call(&web, "GET", home, &[], "").await?;
    ensure!(resp.status() == 303 && location(&resp) == "/console/sign-in");

    // Staff sign in straight to their store's page.
    let resp = post(
        &web,
        "/console/sign-in",
        "",
        &format!("email=staff%40brand.kr&password={}", urlencode(crate::console::PASS)),
    )
    .await?;
    ensure!(resp.status() == 303 && location(&resp) == home, "{}", location(&resp));
    let staff = session_of(&web, "staff@brand.kr").await?;
    let page = call(&web, "GET", home, &[("cookie", &staff)], "").await?;
    let html = text(&page);
    ensure!(page.status() == 200 && html.contains("강남역점"), "{html}");
    for part in [
        "inputmode=\"text\"",
        "autocapitalize=\"characters\"",
        "autocomplete=\"off\"",
        "<label for=\"code\">",
        "카메라로 스캔",
    ] {
        ensure!(html.contains(part), "{part} in the page");
    }
    // Its one script is allowed by the CSP's hash.
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let script = html
        .split("<script>")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .context("the page's script")?;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
    ensure!(csp.contains(&format!("'sha256-{hash}'")), "the script's hash in {csp}");
    let csrf = csrf_of(&html)?;

    // Lookup, as typed at a till (lower case, spaces): what it is, valid until when, and the
    // button; never whose it is.
    let typed = code.as_str().to_lowercase();
    let typed = format!(" {} {} ", &typed[..4], &typed[4..]);
    let resp = post(
        &web,
        &format!("{home}/lookup"),
        &staff,
        &format!("csrf={csrf}&code={}", urlencode(&typed)),
    )
    .await?;
    let html = text(&resp);
    ensure!(resp.status() == 200, "lookup: {} {html}", resp.status());
    for part in [
        "사용 가능",
        "웰컴 쿠폰",
        "테스트 캠페인",
        &kst_time(until),
        code.as_str(),
        "action=\"/console/stores/gangnam-01/redeem\"",
        "role=\"alert\"",
    ] {
        ensure!(html.contains(part), "{part} in the lookup: {html}");
    }
    ensure!(
        !html.contains("고객0") && !html.contains("010-"),
        "nothing about the holder"
    );
    ensure!(
        db.issued_coupon(code).await?.context("issued")?.redeemed_at.is_none(),
        "a lookup writes nothing"
    );

    // Redeem: done, once, audited with the code's last four characters only.
    let redeem = format!("{home}/redeem");
    let body = format!("csrf={csrf}&code={}", code.as_str());
    let resp = post(&web, &redeem, &staff, &body).await?;
    let html = text(&resp);
    ensure!(
        resp.status() == 200 && html.contains("사용 처리 완료"),
        "redeem: {} {html}",
        resp.status()
    );
    let used = db.issued_coupon(code).await?.context("issued")?;
    ensure!(used.redeemed_store == Some(StoreId::parse("gangnam-01")?));
    let at = used.redeemed_at.context("redeemed")?;
    let month = at.with_timezone(&kst()).format("%Y%m").to_string();
    let log = db.audit_log(&month).await?;
    let entry = log
        .iter()
        .find(|e| e.action == "coupon.redeemed")
        .context("the redemption in the audit log")?;
    ensure!(entry.actor == "staff@brand.kr" && entry.detail["store"] == "gangnam-01");
    let last4 = &code.as_str()[code.as_str().len() - 4..];
    ensure!(entry.detail["code"] == format!("…{last4}"), "{:?}", entry.detail);
    ensure!(
        !entry.detail.to_string().contains(code.as_str()),
        "never the whole code"
    );

    // Again at the same store: a repeat, said as such, nothing changed.
    let resp = post(&web, &redeem, &staff, &body).await?;
    let html = text(&resp);
    ensure!(
        resp.status() == 200 && html.contains("이미 이 매장에서") && html.contains(&kst_time(at)),
        "repeat: {} {html}",
        resp.status()
    );
    let events = db.events_of(&campaign.id).await?;
    ensure!(events.iter().filter(|e| e.kind() == "coupon_redeemed").count() == 1);
    let log = db.audit_log(&month).await?;
    ensure!(log.iter().filter(|e| e.action == "coupon.redeemed").count() == 1);

    // Another store: already used, when and where, for a lookup and a redemption.
    let hong = session_of(&web, "hong@brand.kr").await?;
    let hong_home = "/console/stores/hongdae-02";
    let hong_csrf = csrf_of(&text(&call(&web, "GET", hong_home, &[("cookie", &hong)], "").await?))?;
    let hong_body = format!("csrf={hong_csrf}&code={}", code.as_str());
    let resp = post(&web, &format!("{hong_home}/lookup"), &hong, &hong_body).await?;
    let html = text(&resp);
    ensure!(
        resp.status() == 200 && html.contains("이미 사용된 쿠폰") && html.contains("강남역점"),
        "lookup elsewhere: {html}"
    );
    ensure!(!html.contains("/redeem\""), "no redeem button for a used coupon");
    let resp = post(&web, &format!("{hong_home}/redeem"), &hong, &hong_body).await?;
    let html = text(&resp);
    ensure!(
        resp.status() == 409
            && html.contains("이미 사용된 쿠폰")
            && html.contains("강남역점")
            && html.contains(&kst_time(at)),
        "redeem elsewhere: {} {html}",
        resp.status()
    );
    ensure!(db.issued_coupon(code).await?.context("issued")?.redeemed_store == Some(StoreId::parse("gangnam-01")?));

    // Staff reach only their own store; a viewer none; an admin any (an unknown one is 404).
    for path in [hong_home.to_owned(), "/console/stores/nowhere".into()] {
        let resp = call(&web, "GET", &path, &[("cookie", &staff)], "").await?;
        ensure!(resp.status() == 403, "{path}: {}", resp.status());
    }
    let resp = post(
        &web,
        &format!("{hong_home}/redeem"),
        &staff,
        &format!("csrf={csrf}&code={}", other_code.as_str()),
    )
    .await?;
    ensure!(
        resp.status() == 403,
        "staff redeeming for another store: {}",
        resp.status()
    );
    let viewer = session_of(&web, "lee@agency.kr").await?;
    ensure!(call(&web, "GET", home, &[("cookie", &viewer)], "").await?.status() == 403);
    let admin = session_of(&web, "kim@brand.kr").await?;
    let resp = call(&web, "GET", hong_home, &[("cookie", &admin)], "").await?;
    ensure!(resp.status() == 200 && text(&resp).contains("홍대입구점"));
    ensure!(
        call(&web, "GET", "/console/stores/nowhere", &[("cookie", &admin)], "")
            .await?
            .status()
            == 404
    );
    // An admin kept to other campaigns is told the code is unknown, and nothing changes.
    let park = session_of(&web, "park@agency.kr").await?;
    let park_csrf = csrf_of(&text(&call(&web, "GET", home, &[("cookie", &park)], "").await?))?;
    let resp = post(
        &web,
        &redeem,
        &park,
        &format!("csrf={park_csrf}&code={}", other_code.as_str()),
    )
    .await?;
    ensure!(
        resp.status() == 404 && text(&resp).contains("없는 쿠폰"),
        "{}",
        resp.status()
    );

    // A post without the session's token, or from another site: 403, nothing redeemed.
    for (headers, body) in [
        (
            vec![FORM, ("cookie", staff.as_str())],
            format!("code={}", other_code.as_str()),
        ),
        (
            vec![FORM, ("cookie", staff.as_str())],
            format!("csrf=forged&code={}", other_code.as_str()),
        ),
        (
            vec![FORM, ("cookie", staff.as_str()), ("origin", "https://evil.example")],
            format!("csrf={csrf}&code={}", other_code.as_str()),
        ),
    ] {
        let resp = call(&web, "POST", &redeem, &headers, &body).await?;
        ensure!(resp.status() == 403, "{body}: {}", resp.status());
    }
    ensure!(
        db.issued_coupon(other_code)
            .await?
            .context("issued")?
            .redeemed_at
            .is_none(),
        "a refused post redeems nothing"
    );

    // A code that cannot be one: 400, in Korean, with what was typed kept; an unknown one: 404.
    for path in [format!("{home}/lookup"), redeem.clone()] {
        let resp = post(&web, &path, &staff, &format!("csrf={csrf}&code=%21%21")).await?;
        let html = text(&resp);
        ensure!(
            resp.status() == 400 && html.contains("쿠폰 번호를 확인해 주세요") && html.contains("value=\"!!\""),
            "{path}: {} {html}",
            resp.status()
        );
        let resp = post(&web, &path, &staff, &format!("csrf={csrf}&code=ZZZZ-0000")).await?;
        ensure!(
            resp.status() == 404 && text(&resp).contains("없는 쿠폰"),
            "{path}: {}",
            resp.status()
        );
    }

    // A coupon whose window starts tomorrow is not yet valid, and is not redeemed.
    let from = Utc::now() + chrono::Duration::days(1);
    let mut later = campaign.clone();
    later.coupons[0].valid_from = Some(from);
    db.push_campaign(&later, Utc::now()).await?;
    let late = format!("csrf={csrf}&code={}", late_code.as_str());
    let resp = post(&web, &format!("{home}/lookup"), &staff, &late).await?;
    let html = text(&resp);
    ensure!(
        resp.status() == 200 && html.contains("아직 사용할 수 없는") && html.contains(&kst_time(from)),
        "{html}"
    );
    let resp = post(&web, &redeem, &staff, &late).await?;
    ensure!(resp.status() == 409 && text(&resp).contains("아직 사용할 수 없는"));
    ensure!(
        db.issued_coupon(late_code)
            .await?
            .context("issued")?
            .redeemed_at
            .is_none()
    );

    // The till's API and the console spend one per-minute budget per store.
    let hongdae = StoreId::parse("hongdae-02")?;
    let nope = CouponCode::parse("NOPE-NOPE")?;
    for _ in 0..3 {
        let minute = Utc::now().timestamp() / 60;
        let mut spent = false;
        for _ in 0..=redeem::PER_MINUTE {
            let r = redeem::redeem(&web.app.db, &hongdae, "key-hongdae-02-0123456789", &nope, Utc::now()).await;
            if matches!(r, Err(RedeemError::TooMany)) {
                spent = true;
                break;
            }
        }
        let resp = post(&web, &format!("{hong_home}/redeem"), &hong, &hong_body).await?;
        if Utc::now().timestamp() / 60 != minute {
            continue; // a new minute began meanwhile: try again
        }
        ensure!(spent, "the till's key was limited");
        ensure!(
            resp.status() == 429 && text(&resp).contains("잠시 후 다시 시도해 주세요"),
            "{}",
            resp.status()
        );
        return Ok(());
    }
    anyhow::bail!("three minutes turned over mid-check")
}

contract!(console_store_redeem, super::store_staff_redeem_from_the_console);
