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
    let people = mcamp_tests::recipients(db, &spring.id, 3).await?;
    for r in &people {
        let resp = call(
            &web,
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
    // Store staff see no campaign list.
    let staff = session_of(&web, "staff@brand.kr").await?;
    ensure!(
        call(&web, "GET", "/console/campaigns", &[("cookie", &staff)], "")
            .await?
            .status()
            == 403
    );

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
fn html_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.split("value=\"").nth(1)?;
    Some(v.split('"').next()?.to_owned())
}

contract!(
    console_sessions,
    super::the_console_shows_nothing_without_a_session_and_each_user_their_campaigns
);
