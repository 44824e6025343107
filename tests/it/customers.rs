//! The brand's customer base on both backends: an opt-out, an 080 list and a CRM withdrawal
//! count for every campaign of the brand; a consent typed on a form waits for its owner's
//! confirmation; once per person is once per phone; no page shows a full phone number.

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mcamp_core::campaign::Campaign;
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{BrandId, PhoneNumber};
use mcamp_http::Web;
use mcamp_http::tokens::form_token;
use mcamp_ops::unsubscribe::{UnsubscribeFormat, import_unsubscribes};
use mcamp_tests::{
    Backend, IPHONE_SAFARI, KAKAOTALK_ANDROID, call, contract, demo_campaign, import_csv, phone_key, send_list, text,
};

const FORM: &str = "application/x-www-form-urlencoded";

/// A daytime send: 10:00 KST tomorrow.
fn daytime() -> anyhow::Result<DateTime<Utc>> {
    let tomorrow = (Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    Ok(mcamp_ops::adlaw::parse_send_at(&format!("{tomorrow} 10:00"))?)
}

/// The phones (digits) in rows of a send list.
fn phones(rows: &[Vec<String>]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r.first())
        .map(|p| p.chars().filter(char::is_ascii_digit).collect())
        .collect()
}

async fn recipient_of(web: &Web, campaign: &Campaign, phone: &str) -> anyhow::Result<Recipient> {
    let phone = PhoneNumber::parse(phone)?;
    let all: Vec<Recipient> = web.app.db.recipients(&campaign.id).try_collect().await?;
    all.into_iter()
        .find(|r| r.phone.as_ref() == Some(&phone))
        .context("recipient of the phone")
}

async fn two_campaigns(web: &Web) -> anyhow::Result<(Campaign, Campaign)> {
    let (a, b) = (demo_campaign("brand-a")?, demo_campaign("brand-b")?);
    for c in [&a, &b] {
        web.app.db.push_campaign(c, web.app.now()).await?;
    }
    Ok((a, b))
}

async fn opt_outs_cover_the_brand(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let (a, bb) = two_campaigns(&web).await?;
    let list = "이름,휴대폰,마케팅동의\n김민지,010-3000-0001,Y\n이준호,010-3000-0002,Y\n박서연,010-3000-0003,Y\n최유나,010-3000-0004,Y\n";
    for c in [&a, &bb] {
        let r = import_csv(&web.app.db, c, list).await?;
        ensure!(r.imported == 4 && r.rejected.is_empty(), "{}: {r:?}", b.name);
    }
    let at = daytime()?;
    let (report, ads, _) = send_list(&web.app.db, &bb.id, at).await?;
    ensure!(report.exported == 4, "{}: all four consented: {report:?}", b.name);

    // 1. An opt-out on campaign A's page.
    let r1 = recipient_of(&web, &a, "010-3000-0001").await?;
    let token = form_token(&web.site.secret, r1.code.as_str());
    let out = call(
        &web,
        "POST",
        &format!("/p/{}/optout", r1.code),
        &[("content-type", FORM)],
        &format!("token={token}&phone=010-3000-0001"),
    )
    .await?;
    ensure!(out.status() == 200, "{}: opt-out -> {}", b.name, out.status());
    // 2. The sender's 080 list (an NHN export).
    let list080 = "수신번호,080번호,등록일시\n01030000002,080-123-4567,2026-03-01 09:00:00\n02-123,080-123-4567,2026-03-01 09:00:00\n";
    let unsub = import_unsubscribes(
        &web.app.db,
        &BrandId::default(),
        &phone_key(),
        UnsubscribeFormat::Nhn,
        std::io::Cursor::new(list080.as_bytes().to_vec()),
        web.app.now(),
    )
    .await?;
    ensure!(
        unsub.suppressed == 1 && unsub.rejected.len() == 1 && unsub.rejected[0].row == 3,
        "{}: the bad row is reported by its row and changes nothing: {unsub:?}",
        b.name
    );
    // 3. A re-import into A with the CRM's withdrawal (a known phone: a duplicate, still applied).
    let again = import_csv(&web.app.db, &a, "이름,휴대폰,마케팅동의\n박서연,010-3000-0003,N\n").await?;
    ensure!(
        again.duplicates == 1 && again.consents_changed == 1,
        "{}: {again:?}",
        b.name
    );

    // 4. A visitor of B who types a number B already has: the same customer, one row.
    let r4 = recipient_of(&web, &bb, "010-3000-0004").await?;
    let visitor = web.app.db.add_visitor(&r4, &bb, 300, None, web.app.now()).await?;
    let vtoken = form_token(&web.site.secret, visitor.code.as_str());
    let form = format!(
        "token={vtoken}&name=%EC%B5%9C&phone=010-3000-0004&gender=female&birth_year=1990&privacy=yes&marketing=yes"
    );
    let saved = call(
        &web,
        "POST",
        &format!("/p/{}/form", visitor.code),
        &[("content-type", FORM)],
        &form,
    )
    .await?;
    ensure!(saved.status() == 303, "{}: {}", b.name, saved.status());

    let (report, ads_after, notices) = send_list(&web.app.db, &bb.id, at).await?;
    let left = phones(&ads_after);
    ensure!(
        left == vec!["01030000004".to_owned()],
        "{}: only the untouched phone stays in B's list: {left:?} (before {:?}) {report:?}",
        b.name,
        phones(&ads)
    );
    ensure!(
        report.excluded.suppressed == 2 && report.excluded.no_marketing_consent == 1 && report.excluded.duplicate == 1,
        "{}: {:?}",
        b.name,
        report.excluded
    );
    // The page opt-out of today gets its result notice (the 080 one is the sender's to send).
    ensure!(
        phones(&notices).contains(&"01030000001".to_owned())
            && notices.iter().any(|r| r[2].contains("수신거부 처리 결과")),
        "{}: opt-out notice: {notices:?}",
        b.name
    );
    Ok(())
}
contract!(opt_outs_cover_the_brand, super::opt_outs_cover_the_brand);

async fn form_consent_waits_for_confirmation(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let (a, _) = two_campaigns(&web).await?;
    import_csv(&web.app.db, &a, "이름,휴대폰,마케팅동의\n김민지,010-3100-0001,Y\n").await?;
    let owner = recipient_of(&web, &a, "010-3100-0001").await?;
    // A friend arrives through the owner's share link and leaves their own, new number.
    let share = web.app.db.share_code(&owner, web.app.now()).await?;
    let arrive = call(&web, "GET", &format!("/{share}"), &[("user-agent", IPHONE_SAFARI)], "").await?;
    let location = arrive
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .context("302")?
        .to_owned();
    let code = location.trim_start_matches("/p/").to_owned();
    let token = form_token(&web.site.secret, &code);
    let body = format!(
        "token={token}&name=%EB%B0%95&phone=010-3100-0002&gender=female&birth_year=1990&privacy=yes&marketing=yes"
    );
    let saved = call(
        &web,
        "POST",
        &format!("/p/{code}/form"),
        &[("content-type", FORM)],
        &body,
    )
    .await?;
    ensure!(saved.status() == 303, "{}: {}", b.name, saved.status());

    let at = daytime()?;
    let (report, ads, notices) = send_list(&web.app.db, &a.id, at).await?;
    ensure!(
        !phones(&ads).contains(&"01031000002".to_owned()) && report.excluded.unconfirmed == 1,
        "{}: an unconfirmed consent gets no ad: {:?}",
        b.name,
        report.excluded
    );
    let row = notices
        .iter()
        .find(|r| r.first().is_some_and(|p| p.contains("3100-0002")))
        .context("a confirmation message")?;
    ensure!(
        !row[2].contains("(광고)") && row[2].contains("동의 확인"),
        "{}: {row:?}",
        b.name
    );
    let link = row[2]
        .split_whitespace()
        .find(|w| w.contains("/c/"))
        .context("confirm link")?
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    let confirm_code = link.rsplit('/').next().context("code")?;

    // A forged code changes nothing; the page asks before it confirms (a link preview's GET
    // must not confirm).
    let forged = call(&web, "POST", "/c/AAAAAAAAAA", &[("content-type", FORM)], "").await?;
    ensure!(
        forged.status() == 404 && text(&forged).contains("확인할 수 없는 링크"),
        "{}",
        forged.status()
    );
    let ask = call(
        &web,
        "GET",
        &format!("/c/{confirm_code}"),
        &[("user-agent", KAKAOTALK_ANDROID)],
        "",
    )
    .await?;
    ensure!(ask.status() == 200 && text(&ask).contains("동의를 확인합니다"));
    let (_, ads, _) = send_list(&web.app.db, &a.id, at).await?;
    ensure!(
        !phones(&ads).contains(&"01031000002".to_owned()),
        "{}: still unconfirmed after the GET",
        b.name
    );
    let done = call(
        &web,
        "POST",
        &format!("/c/{confirm_code}"),
        &[("content-type", FORM)],
        "",
    )
    .await?;
    ensure!(
        done.status() == 200 && text(&done).contains("확인되었어요"),
        "{}",
        done.status()
    );

    let (report, ads, notices) = send_list(&web.app.db, &a.id, at).await?;
    ensure!(
        phones(&ads).contains(&"01031000002".to_owned()) && report.excluded.unconfirmed == 0,
        "{}: confirmed: {:?}",
        b.name,
        report.excluded
    );
    ensure!(
        !phones(&notices).contains(&"01031000002".to_owned()),
        "{}: nothing left to confirm",
        b.name
    );
    Ok(())
}
contract!(
    form_consent_waits_for_confirmation,
    super::form_consent_waits_for_confirmation
);

async fn once_per_person_is_once_per_phone(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let (a, _) = two_campaigns(&web).await?;
    import_csv(&web.app.db, &a, "이름,휴대폰\n김민지,010-3200-0001\n").await?;
    let owner = recipient_of(&web, &a, "010-3200-0001").await?;
    let post = |code: String, path: &'static str, body: String| {
        let web = web.clone();
        async move {
            let token = form_token(&web.site.secret, &code);
            call(
                &web,
                "POST",
                &format!("/p/{code}/{path}"),
                &[("content-type", FORM)],
                &format!("token={token}&{body}"),
            )
            .await
        }
    };
    let form = "name=%EA%B9%80&phone=010-3200-0001&gender=female&birth_year=1990&privacy=yes".to_owned();
    ensure!(post(owner.code.to_string(), "form", form.clone()).await?.status() == 303);
    let first = post(owner.code.to_string(), "claim", "coupon=latte-5000".into()).await?;
    ensure!(first.status() == 303, "{}: first claim -> {}", b.name, first.status());
    // A second recipient of the same campaign with the same phone (a visitor who typed it).
    let share = web.app.db.share_code(&owner, web.app.now()).await?;
    let visitor = web.app.db.add_visitor(&owner, &a, 300, None, web.app.now()).await?;
    let _ = share;
    ensure!(post(visitor.code.to_string(), "form", form).await?.status() == 303);
    let second = post(visitor.code.to_string(), "claim", "coupon=latte-5000".into()).await?;
    ensure!(
        second.status() == 403 && text(&second).contains("이 휴대폰 번호로 이미 받은 쿠폰이에요"),
        "{}: {} {}",
        b.name,
        second.status(),
        text(&second).chars().take(200).collect::<String>()
    );
    let claims = web
        .app
        .db
        .claims(&visitor.id, &mcamp_core::values::CouponId::parse("latte-5000")?, 1)
        .await?;
    ensure!(
        claims.is_empty(),
        "{}: nothing stored for the second: {claims:?}",
        b.name
    );
    Ok(())
}
contract!(
    once_per_person_is_once_per_phone,
    super::once_per_person_is_once_per_phone
);

/// Every way a number could be written.
fn formats(phone: &str) -> anyhow::Result<Vec<String>> {
    let p = PhoneNumber::parse(phone)?;
    let d = p.as_str();
    Ok(vec![
        d.to_owned(),
        p.dashed(),
        p.dashed().replace('-', " "),
        p.dashed().replace('-', "."),
        format!("+82{}", &d[1..]),
        format!("+82 {}", p.dashed()[1..].replace('-', " ")),
        format!("{}-{}", &d[3..7], &d[7..]),
    ])
}

async fn pages_never_show_a_full_phone(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let (a, _) = two_campaigns(&web).await?;
    import_csv(&web.app.db, &a, "이름,휴대폰,마케팅동의\n김민지,010-3300-0001,Y\n").await?;
    let r = recipient_of(&web, &a, "010-3300-0001").await?;
    let token = form_token(&web.site.secret, r.code.as_str());
    let page = format!("/p/{}", r.code);
    let mut pages = Vec::new();
    for ua in [KAKAOTALK_ANDROID, IPHONE_SAFARI, mcamp_tests::KAKAO_SCRAPER] {
        pages.push(call(&web, "GET", &page, &[("user-agent", ua)], "").await?);
    }
    pages.push(
        call(
            &web,
            "GET",
            &format!("{page}/optout"),
            &[("user-agent", IPHONE_SAFARI)],
            "",
        )
        .await?,
    );
    let form = format!("token={token}&name=%EA%B9%80&phone=010-3300-0001&gender=female&birth_year=19x0&privacy=yes");
    pages.push(call(&web, "POST", &format!("{page}/form"), &[("content-type", FORM)], &form).await?);
    let ok = form.replace("19x0", "1990");
    call(&web, "POST", &format!("{page}/form"), &[("content-type", FORM)], &ok).await?;
    pages.push(call(&web, "GET", &page, &[("user-agent", IPHONE_SAFARI)], "").await?);
    pages.push(
        call(
            &web,
            "GET",
            &format!("{page}/coupon"),
            &[("accept", "application/json")],
            "",
        )
        .await?,
    );
    let wrong = format!("token={token}&phone=010-3300-0009");
    pages.push(
        call(
            &web,
            "POST",
            &format!("{page}/optout"),
            &[("content-type", FORM)],
            &wrong,
        )
        .await?,
    );
    let masked = "010-****-0001";
    ensure!(
        text(&pages[1]).contains(masked),
        "{}: the masked number is shown",
        b.name
    );
    for (i, p) in pages.iter().enumerate() {
        let html = text(p);
        for f in formats("010-3300-0001")? {
            ensure!(!html.contains(&f), "{}: page {i} shows {f}", b.name);
        }
    }
    Ok(())
}
contract!(pages_never_show_a_full_phone, super::pages_never_show_a_full_phone);

async fn purge_erases_what_retention_no_longer_covers(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let db = &web.app.db;
    let now = web.app.now();
    let mut old = demo_campaign("ended-long-ago")?;
    old.starts_at = Some(now - chrono::Duration::days(60));
    old.ends_at = Some(now - chrono::Duration::days(30));
    old.retention_days = 7;
    db.push_campaign(&old, now).await?;
    let running = demo_campaign("still-running")?;
    db.push_campaign(&running, now).await?;
    let csv = "이름,휴대폰,마케팅동의\n김민지,010-3400-0001,Y\n이준호,010-3400-0002,N\n박서연,010-3400-0003,N\n";
    import_csv(db, &old, csv).await?;
    // 박서연 is also in a running campaign: its promise keeps her data.
    import_csv(db, &running, "이름,휴대폰\n박서연,010-3400-0003\n").await?;
    let events_before = db.events_of(&old.id).await?.len();

    let report = db.purge(now).await?;
    ensure!(
        report.campaigns == 1
            && report.recipients_erased == 3
            && report.customers_erased == 1
            && report.customers_kept == 2,
        "{}: {report:?}",
        b.name
    );
    let all: Vec<Recipient> = db.recipients(&old.id).try_collect().await?;
    ensure!(all.len() == 3, "{}: the records (counts) stay", b.name);
    ensure!(
        all.iter()
            .all(|r| r.name.is_none() && r.phone.is_none() && r.erased_at.is_some()),
        "{}: names and phones erased: {all:?}",
        b.name
    );
    let brand = BrandId::default();
    let key = |p: &str| -> anyhow::Result<_> { Ok(phone_key().customer_key(&brand, &PhoneNumber::parse(p)?)) };
    let minji = db.customer(&brand, &key("010-3400-0001")?).await?.context("minji")?;
    let junho = db.customer(&brand, &key("010-3400-0002")?).await?.context("junho")?;
    let seoyeon = db.customer(&brand, &key("010-3400-0003")?).await?.context("seoyeon")?;
    ensure!(
        minji.phone.is_some() && minji.erased_at.is_none(),
        "{}: a standing consent keeps the contact",
        b.name
    );
    ensure!(
        junho.phone.is_none() && junho.name.is_none() && junho.erased_at.is_some(),
        "{}: {junho:?}",
        b.name
    );
    ensure!(
        seoyeon.phone.is_some(),
        "{}: another campaign's promise keeps it",
        b.name
    );
    ensure!(
        db.consent_ledger(&brand, &minji.key).await?.len() == 2 && db.events_of(&old.id).await?.len() == events_before,
        "{}: the ledger and the events stay",
        b.name
    );
    let again = db.purge(now).await?;
    ensure!(
        again.recipients_erased == 0 && again.customers_erased == 0,
        "{}: {again:?}",
        b.name
    );

    // A data subject's requests: access, then erasure; an unknown number says so.
    let data = db.personal_data(&brand, &minji.key).await?.context("minji's data")?;
    ensure!(
        data.recipients.len() == 1 && data.consent_ledger.len() == 2,
        "{}",
        b.name
    );
    ensure!(
        db.erase_person(&brand, &minji.key, now).await? == Some(0),
        "{}: already erased recipients",
        b.name
    );
    let erased = db.customer(&brand, &minji.key).await?.context("minji")?;
    ensure!(erased.phone.is_none() && erased.erased_at.is_some(), "{}", b.name);
    ensure!(
        db.personal_data(&brand, &key("010-3400-0099")?).await?.is_none(),
        "{}",
        b.name
    );
    Ok(())
}
contract!(
    purge_erases_what_retention_no_longer_covers,
    super::purge_erases_what_retention_no_longer_covers
);
