//! The console over the gateway's dispatch, on both backends: nothing without a session, the
//! sign-in with its Korean answers, the session cookie's flags, campaigns at a glance from the
//! counters for those the user may see, CSRF and origin on every post, and a session that ends
//! when the user is disabled or their password changes.

use anyhow::{Context, ensure};
use chrono::Utc;
use mcamp_core::users::{Email, Password, Role, User};
use mcamp_core::values::CampaignId;
use mcamp_http::session::SessionKeys;
use mcamp_http::{Site, Web};
use mcamp_store::ports::TableId;
use mcamp_tests::{Backend, call, contract, text};

pub(crate) const PASS: &str = "벚꽃라떼는-봄에만-나와요";
pub(crate) const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

pub(crate) fn console_web(b: &Backend) -> anyhow::Result<Web> {
    let keys = SessionKeys::parse("a-console-key-of-at-least-thirty-two-chars")?;
    Ok(Web::new(
        b.app(),
        Site::local(
            "http://127.0.0.1:3000",
            mcamp_tests::TEST_SECRET,
            mcamp_tests::phone_key(),
        )
        .with_console_keys(keys),
    ))
}

pub(crate) async fn add_user(web: &Web, email: &str, role: &str, campaigns: &[&str]) -> anyhow::Result<User> {
    let now = Utc::now();
    let user = User {
        email: Email::parse(email)?,
        role: Role::parse(role)?,
        campaigns: campaigns
            .iter()
            .map(|c| CampaignId::parse(c))
            .collect::<Result<_, _>>()?,
        password_hash: Password::parse(PASS)?.hash()?,
        created_at: now,
        password_set_at: now,
        disabled_at: None,
    };
    ensure!(web.app.db.add_user(&user).await?);
    Ok(user)
}

/// Signs in and returns the `Cookie` header value of the session.
pub(crate) async fn session_of(web: &Web, email: &str) -> anyhow::Result<String> {
    let body = format!("email={}&password={}", email, urlencode(PASS));
    let resp = call(web, "POST", "/console/sign-in", &[FORM], &body).await?;
    ensure!(resp.status() == 303, "sign-in: {} {}", resp.status(), text(&resp));
    let set = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .context("a session cookie")?;
    for flag in [
        "__Host-mcamp_console=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
    ] {
        ensure!(set.contains(flag), "{flag} in {set}");
    }
    Ok(set.split(';').next().unwrap_or_default().to_owned())
}

/// Opens each one's link once, and runs the aggregator over the events so far.
async fn clicked_and_counted(
    b: &Backend,
    web: &Web,
    people: &[mcamp_core::recipient::Recipient],
) -> anyhow::Result<()> {
    for r in people {
        let resp = call(
            web,
            "GET",
            &format!("/{}", r.code),
            &[("user-agent", mcamp_tests::IPHONE_SAFARI)],
            "",
        )
        .await?;
        ensure!(resp.status() == 302);
    }
    let changes = b.feed.changes(TableId::Events, None, 1000).await?;
    let resp = mcamp_aggregator::handle(&web.app, mcamp_tests::stream_event(&changes)?).await;
    ensure!(resp.batch_item_failures.is_empty());
    Ok(())
}

pub(crate) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn location(resp: &lambda_http::Response<lambda_http::Body>) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn the_console_shows_nothing_without_a_session_and_each_user_their_campaigns(b: Backend) -> anyhow::Result<()> {
    // Without session keys there is no console.
    let plain = b.web();
    ensure!(call(&plain, "GET", "/console/sign-in", &[], "").await?.status() == 404);

    let web = console_web(&b)?;
    let db = &web.app.db;
    let spring = mcamp_tests::campaign_with_coupon("console-spring", 10)?;
    let autumn = mcamp_tests::campaign_with_coupon("console-autumn", 10)?;
    for c in [&spring, &autumn] {
        db.push_campaign(c, Utc::now()).await?;
    }
    // Some clicks, counted by the aggregator.
    let people = mcamp_tests::recipients(db, &spring, 3).await?;
    clicked_and_counted(&b, &web, &people).await?;

    add_user(&web, "kim@brand.kr", "admin", &[]).await?;
    add_user(&web, "lee@agency.kr", "viewer", &["console-autumn"]).await?;
    add_user(&web, "staff@brand.kr", "store:gangnam-01", &[]).await?;

    // No session: the sign-in page, never data.
    for path in ["/console", "/console/campaigns"] {
        let resp = call(&web, "GET", path, &[], "").await?;
        ensure!(
            resp.status() == 303 && location(&resp) == "/console/sign-in",
            "{path}: {}",
            resp.status()
        );
    }
    let page = call(&web, "GET", "/console/sign-in", &[], "").await?;
    ensure!(page.status() == 200 && text(&page).contains("로그인"));
    ensure!(page.headers().get("content-security-policy").is_some());
    let forged = call(
        &web,
        "GET",
        "/console/campaigns",
        &[("cookie", "__Host-mcamp_console=forged")],
        "",
    )
    .await?;
    ensure!(forged.status() == 303, "a forged cookie is no session");

    // A wrong password: 401 and a Korean message, no cookie.
    let wrong = call(
        &web,
        "POST",
        "/console/sign-in",
        &[FORM],
        "email=kim%40brand.kr&password=wrong-password-1",
    )
    .await?;
    ensure!(wrong.status() == 401 && text(&wrong).contains("비밀번호가 맞지 않아요"));
    ensure!(wrong.headers().get("set-cookie").is_none());
    // A post from another site is refused before anything is checked.
    let cross = call(
        &web,
        "POST",
        "/console/sign-in",
        &[FORM, ("origin", "https://evil.example")],
        &format!("email=kim%40brand.kr&password={}", urlencode(PASS)),
    )
    .await?;
    ensure!(cross.status() == 403, "cross-site post: {}", cross.status());

    // The admin sees every campaign with its counters; the viewer only theirs.
    let admin = session_of(&web, "kim@brand.kr").await?;
    let list = call(&web, "GET", "/console/campaigns", &[("cookie", &admin)], "").await?;
    let html = text(&list);
    ensure!(
        list.status() == 200 && html.contains("console-spring") && html.contains("console-autumn"),
        "{html}"
    );
    ensure!(html.contains("<td>3</td>"), "three people clicked: {html}");
    let viewer = session_of(&web, "lee@agency.kr").await?;
    let html = text(&call(&web, "GET", "/console/campaigns", &[("cookie", &viewer)], "").await?);
    ensure!(
        html.contains("console-autumn") && !html.contains("console-spring"),
        "{html}"
    );
    // Store staff see no campaign list: they are sent to their store's redeem page.
    let staff = session_of(&web, "staff@brand.kr").await?;
    let resp = call(&web, "GET", "/console/campaigns", &[("cookie", &staff)], "").await?;
    ensure!(resp.status() == 303 && location(&resp) == "/console/stores/gangnam-01");

    // Signing out takes the session's CSRF token; without it, 403 and the session stands.
    for body in ["csrf=", "", "csrf=forged"] {
        let refused = call(&web, "POST", "/console/sign-out", &[FORM, ("cookie", &admin)], body).await?;
        ensure!(refused.status() == 403, "{body:?}: {}", refused.status());
    }
    ensure!(
        call(&web, "GET", "/console/campaigns", &[("cookie", &admin)], "")
            .await?
            .status()
            == 200
    );
    let csrf = html_value(&text(&list), "csrf").context("the page's csrf")?;
    let out = call(
        &web,
        "POST",
        "/console/sign-out",
        &[FORM, ("cookie", &admin)],
        &format!("csrf={csrf}"),
    )
    .await?;
    ensure!(out.status() == 303);
    let cleared = out
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    ensure!(cleared.contains("Max-Age=0"), "{cleared}");

    // A disabled user, or a new password, ends the session at the next request.
    let mut lee = db.user(&Email::parse("lee@agency.kr")?).await?.context("lee")?;
    lee.disabled_at = Some(Utc::now());
    db.save_user(&lee).await?;
    ensure!(
        call(&web, "GET", "/console/campaigns", &[("cookie", &viewer)], "")
            .await?
            .status()
            == 303
    );
    let kim = session_of(&web, "kim@brand.kr").await?;
    let mut user = db.user(&Email::parse("kim@brand.kr")?).await?.context("kim")?;
    user.password_set_at = Utc::now() + chrono::Duration::seconds(1);
    db.save_user(&user).await?;
    ensure!(
        call(&web, "GET", "/console/campaigns", &[("cookie", &kim)], "")
            .await?
            .status()
            == 303
    );
    Ok(())
}

/// A hidden input's value in a page.
pub(crate) fn html_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.split("value=\"").nth(1)?;
    Some(v.split('"').next()?.to_owned())
}

/// The number a dashboard shows for `metric` (its `data-n`).
fn shown(html: &str, metric: &str) -> Option<i64> {
    let at = html.find(&format!("data-metric=\"{metric}\" data-n=\""))?;
    let rest = &html[at..];
    rest.split("data-n=\"").nth(1)?.split('"').next()?.parse().ok()
}

fn header_of(resp: &lambda_http::Response<lambda_http::Body>, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn bytes_of(resp: &lambda_http::Response<lambda_http::Body>) -> Vec<u8> {
    match resp.body() {
        lambda_http::Body::Binary(b) => b.clone(),
        lambda_http::Body::Text(t) => t.as_bytes().to_vec(),
        _ => Vec::new(),
    }
}

async fn the_dashboard_people_exports_and_read_only_links_follow_the_roles(b: Backend) -> anyhow::Result<()> {
    let web = console_web(&b)?;
    let db = &web.app.db;
    let dash = mcamp_tests::campaign_with_coupon("console-dash", 10)?;
    let other = mcamp_tests::campaign_with_coupon("console-other", 10)?;
    for c in [&dash, &other] {
        db.push_campaign(c, Utc::now()).await?;
    }
    let people = mcamp_tests::recipients(db, &dash, 4).await?;
    let stranger = mcamp_tests::recipients(db, &other, 1).await?;
    clicked_and_counted(&b, &web, &people[..3]).await?;
    // Two of them saw page variants A and B: the dashboard shows the A/B section.
    let shown_variant = |who: &mcamp_core::recipient::Recipient, v: &str| {
        let mut e = mcamp_core::events::Event::new(
            dash.id.clone(),
            Utc::now(),
            mcamp_core::events::EventData::PageView { page: "mdm".into() },
        )
        .by(who.into());
        e.variant = Some(v.into());
        mcamp_store::aggregate::Record::Event(Box::new(e))
    };
    db.aggregate(
        &[shown_variant(&people[0], "A"), shown_variant(&people[1], "B")],
        Utc::now(),
    )
    .await?;
    add_user(&web, "kim@brand.kr", "admin", &[]).await?;
    add_user(&web, "lee@agency.kr", "viewer", &["console-dash"]).await?;
    let base = "/console/campaigns/console-dash";

    // No session: the sign-in page for every page and file, never data.
    for path in [
        base.to_owned(),
        format!("{base}/people"),
        format!("{base}/people/{}", people[0].id),
        format!("{base}/export?what=people&format=csv"),
        format!("{base}/send-list?format=generic"),
    ] {
        let resp = call(&web, "GET", &path, &[], "").await?;
        ensure!(
            resp.status() == 303 && location(&resp) == "/console/sign-in",
            "{path}: {}",
            resp.status()
        );
    }

    // The admin's dashboard shows the report's numbers, with the admin's actions.
    let admin = session_of(&web, "kim@brand.kr").await?;
    let report = mcamp_ops::campaign_report::campaign_report(db, &dash.id).await?;
    ensure!(report.unique_clicks == 3);
    let resp = call(&web, "GET", base, &[("cookie", &admin)], "").await?;
    let html = text(&resp);
    ensure!(resp.status() == 200, "{html}");
    ensure!(header_of(&resp, "content-security-policy").contains("default-src 'none'"));
    for (metric, want) in [
        ("unique_clicks", report.unique_clicks),
        ("clicks", report.clicks),
        ("previews", report.previews),
        ("page_views", report.page_views),
    ] {
        ensure!(
            shown(&html, metric) == Some(want),
            "{metric}: {:?} vs {want}",
            shown(&html, metric)
        );
    }
    ensure!(html.contains("data-stage=\"clicked\" data-n=\"3\""), "funnel: {html}");
    ensure!(html.contains("/status") && html.contains("/view-links"), "admin panel");
    ensure!(
        html.contains("A/B 테스트")
            && html.contains("data-outcome=\"not_enough_data\"")
            && html.contains(mcamp_core::experiment::NOT_ENOUGH_DATA)
            && html.contains("data-variant=\"B\""),
        "the A/B section: {html}"
    );
    let csrf = html_value(&html, "csrf").context("csrf")?;

    // The viewer sees the numbers but no admin action, and cannot post one.
    let viewer = session_of(&web, "lee@agency.kr").await?;
    let html = text(&call(&web, "GET", base, &[("cookie", &viewer)], "").await?);
    ensure!(
        shown(&html, "unique_clicks") == Some(3) && !html.contains("/status"),
        "{html}"
    );
    let viewer_csrf = html_value(&html, "csrf").context("viewer csrf")?;
    let refused = call(
        &web,
        "POST",
        &format!("{base}/status"),
        &[FORM, ("cookie", &viewer)],
        &format!("csrf={viewer_csrf}&status=paused"),
    )
    .await?;
    ensure!(refused.status() == 403, "viewer post: {}", refused.status());
    for path in [
        format!("{base}/export?what=report&format=xlsx"),
        format!("{base}/send-list?format=nhn"),
    ] {
        let resp = call(&web, "GET", &path, &[("cookie", &viewer)], "").await?;
        ensure!(resp.status() == 403, "viewer {path}: {}", resp.status());
    }
    // A campaign the viewer does not see is not there for them.
    let resp = call(
        &web,
        "GET",
        "/console/campaigns/console-other",
        &[("cookie", &viewer)],
        "",
    )
    .await?;
    ensure!(resp.status() == 404);
    ensure!(
        db.campaign(&dash.id).await?.context("dash")?.campaign.status == mcamp_core::campaign::CampaignStatus::Active
    );

    // Pause: without the token 403 and nothing changes; with it the campaign pauses, audited.
    let refused = call(
        &web,
        "POST",
        &format!("{base}/status"),
        &[FORM, ("cookie", &admin)],
        "status=paused",
    )
    .await?;
    ensure!(refused.status() == 403);
    ensure!(
        db.campaign(&dash.id).await?.context("dash")?.campaign.status == mcamp_core::campaign::CampaignStatus::Active
    );
    let paused = call(
        &web,
        "POST",
        &format!("{base}/status"),
        &[FORM, ("cookie", &admin)],
        &format!("csrf={csrf}&status=paused"),
    )
    .await?;
    ensure!(paused.status() == 303 && location(&paused) == base);
    ensure!(
        db.campaign(&dash.id).await?.context("dash")?.campaign.status == mcamp_core::campaign::CampaignStatus::Paused
    );
    let resumed = call(
        &web,
        "POST",
        &format!("{base}/status"),
        &[FORM, ("cookie", &admin)],
        &format!("csrf={csrf}&status=active"),
    )
    .await?;
    ensure!(resumed.status() == 303);

    // People: masked, filtered by stage, each with a timeline; another campaign's person is not here.
    let html = text(&call(&web, "GET", &format!("{base}/people"), &[("cookie", &viewer)], "").await?);
    ensure!(html.matches("data-stage=").count() == 4, "{html}");
    ensure!(
        html.contains("고*0") && !html.contains("고객0") && !html.contains("10000000"),
        "masked: {html}"
    );
    let html = text(
        &call(
            &web,
            "GET",
            &format!("{base}/people?filter=not-clicked"),
            &[("cookie", &viewer)],
            "",
        )
        .await?,
    );
    ensure!(
        html.matches("data-stage=").count() == 0,
        "the fourth was never sent or clicked: {html}"
    );
    let html = text(
        &call(
            &web,
            "GET",
            &format!("{base}/people?filter=clicked,viewed"),
            &[("cookie", &viewer)],
            "",
        )
        .await?,
    );
    // Three clicked; two of them also viewed the page (the A/B views above).
    ensure!(
        html.matches("data-stage=\"clicked\"").count() == 1 && html.matches("data-stage=\"viewed\"").count() == 2,
        "{html}"
    );
    let resp = call(
        &web,
        "GET",
        &format!("{base}/people?filter=bogus"),
        &[("cookie", &viewer)],
        "",
    )
    .await?;
    ensure!(resp.status() == 400);
    let first = mcamp_ops::people::mask_name(people[0].name.as_deref().unwrap_or_default());
    let person = call(
        &web,
        "GET",
        &format!("{base}/people/{}", people[0].id),
        &[("cookie", &viewer)],
        "",
    )
    .await?;
    let html = text(&person);
    ensure!(
        person.status() == 200 && html.contains("첫 클릭") && html.contains(&first),
        "{html}"
    );
    let resp = call(
        &web,
        "GET",
        &format!("{base}/people/{}", stranger[0].id),
        &[("cookie", &viewer)],
        "",
    )
    .await?;
    ensure!(resp.status() == 404);

    // Exports: the report as xlsx (opened again), the people as CSV (masked), audited.
    let resp = call(
        &web,
        "GET",
        &format!("{base}/export?what=report&format=xlsx"),
        &[("cookie", &admin)],
        "",
    )
    .await?;
    ensure!(resp.status() == 200 && header_of(&resp, "content-disposition").contains(".xlsx"));
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes_of(&resp)))?;
    use calamine::Reader as _;
    let funnel = wb.worksheet_range("퍼널")?;
    let clicked: Vec<String> = funnel
        .rows()
        .find(|r| r.first().map(ToString::to_string).as_deref() == Some("클릭"))
        .map(|r| r.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    ensure!(clicked.get(1).map(String::as_str) == Some("3"), "{clicked:?}");
    let resp = call(
        &web,
        "GET",
        &format!("{base}/export?what=people&format=csv"),
        &[("cookie", &admin)],
        "",
    )
    .await?;
    let csv = text(&resp);
    ensure!(
        resp.status() == 200 && csv.lines().count() == 5 && csv.contains("010-****-") && !csv.contains("고객0"),
        "{csv}"
    );
    let resp = call(
        &web,
        "GET",
        &format!("{base}/send-list?format=generic"),
        &[("cookie", &admin)],
        "",
    )
    .await?;
    // The test campaign has no message: the send list says so, and nothing is written.
    ensure!(
        resp.status() == 422 && text(&resp).contains("발송 목록을 만들 수 없어요"),
        "{}",
        resp.status()
    );
    let month = Utc::now()
        .with_timezone(&mcamp_core::time::kst())
        .format("%Y%m")
        .to_string();
    let log = db.audit_log(&month).await?;
    for action in ["campaign.status", "export"] {
        ensure!(
            log.iter().any(|e| e.action == action && e.actor == "kim@brand.kr"),
            "{action} audited"
        );
    }

    // A read-only link: made by the admin, shown once, opens without a session and with no names.
    let made = call(
        &web,
        "POST",
        &format!("{base}/view-links"),
        &[FORM, ("cookie", &admin)],
        &format!("csrf={csrf}&days=7"),
    )
    .await?;
    let html = text(&made);
    ensure!(made.status() == 200, "{html}");
    let url = html_value(&html.replace("id=\"view-link\"", "name=\"view-link\""), "view-link").context("the link")?;
    let path = url.split("127.0.0.1:3000").nth(1).context("a local url")?.to_owned();
    let token = path.rsplit('/').next().unwrap_or_default().to_owned();
    ensure!(db.view_link(&token).await?.is_some());
    let viewed = call(&web, "GET", &path, &[], "").await?;
    let html = text(&viewed);
    ensure!(
        viewed.status() == 200 && shown(&html, "unique_clicks") == Some(3),
        "{html}"
    );
    ensure!(
        !html.contains("/people") && !html.contains("csrf") && !html.contains("고*"),
        "no people, no actions: {html}"
    );
    ensure!(header_of(&viewed, "referrer-policy") == "no-referrer");
    // A viewer cannot make one.
    let refused = call(
        &web,
        "POST",
        &format!("{base}/view-links"),
        &[FORM, ("cookie", &viewer)],
        &format!("csrf={viewer_csrf}"),
    )
    .await?;
    ensure!(refused.status() == 403);
    // Revoked, expired and unknown links say so, in Korean, and show nothing.
    let id = mcamp_core::view_link::ViewLink::id_of(&token);
    let revoked = call(
        &web,
        "POST",
        &format!("{base}/view-links/revoke"),
        &[FORM, ("cookie", &admin)],
        &format!("csrf={csrf}&id={id}"),
    )
    .await?;
    ensure!(revoked.status() == 303);
    let html = text(&call(&web, "GET", &path, &[], "").await?);
    ensure!(
        html.contains("취소") && shown(&html, "unique_clicks").is_none(),
        "{html}"
    );
    let (old, old_token) = mcamp_core::view_link::ViewLink::new(
        dash.id.clone(),
        "kim@brand.kr".into(),
        1,
        Utc::now() - chrono::Duration::days(2),
    );
    db.add_view_link(&old).await?;
    let resp = call(&web, "GET", &format!("/console/view/{old_token}"), &[], "").await?;
    let html = text(&resp);
    ensure!(
        resp.status() == 410 && html.contains("기간이 끝난") && shown(&html, "unique_clicks").is_none(),
        "{html}"
    );
    let resp = call(&web, "GET", "/console/view/notatokenatallnotatoken", &[], "").await?;
    ensure!(resp.status() == 410 && text(&resp).contains("없는 링크"));
    Ok(())
}

contract!(
    console_sessions,
    super::the_console_shows_nothing_without_a_session_and_each_user_their_campaigns
);
contract!(
    console_dashboard,
    super::the_dashboard_people_exports_and_read_only_links_follow_the_roles
);
