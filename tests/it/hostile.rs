//! Hostile input is refused at the edge, on both backends: invalid UTF-8 in a form or a query,
//! invisible or control characters in a name or an answer, a campaign URL that is not https,
//! an oversized call to the API. Each gets its reason and stores nothing.

use anyhow::{Context, ensure};
use futures::TryStreamExt;
use mcamp_core::recipient::Recipient;
use mcamp_http::tokens::form_token;
use mcamp_tests::{Backend, IPHONE_SAFARI, call, contract, demo_campaign, import_csv, text};

const FORM: &str = "application/x-www-form-urlencoded";

async fn hostile_input_is_refused(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let c = demo_campaign("hostile")?;
    web.app.db.push_campaign(&c, web.app.now()).await?;
    import_csv(&web.app.db, &c, "이름,휴대폰\n김민지,010-3500-0001\n").await?;
    let all: Vec<Recipient> = web.app.db.recipients(&c.id).try_collect().await?;
    let r = all.first().context("recipient")?;
    let token = form_token(&web.site.secret, r.code.as_str());
    let page = format!("/p/{}", r.code);
    let events_before = web.app.db.events_of(&c.id).await?.len();

    // Invalid UTF-8 (a lone %FF) in a field: 400 naming it.
    let bad_utf8 = format!("token={token}&name=%FF%FE&phone=010-3500-0001&privacy=yes");
    let resp = call(
        &web,
        "POST",
        &format!("{page}/form"),
        &[("content-type", FORM), ("accept", "application/json")],
        &bad_utf8,
    )
    .await?;
    ensure!(
        resp.status() == 400 && text(&resp).contains("name: not valid UTF-8"),
        "{}: {} {}",
        b.name,
        resp.status(),
        text(&resp)
    );
    // A name with a right-to-left override: the form again, in Korean.
    let bidi = format!(
        "token={token}&name=%E2%80%AE%EC%A7%80%EB%AF%BC&phone=010-3500-0001&gender=female&birth_year=1990&privacy=yes"
    );
    let resp = call(&web, "POST", &format!("{page}/form"), &[("content-type", FORM)], &bidi).await?;
    ensure!(
        resp.status() == 400 && text(&resp).contains("이름에 쓸 수 없는 문자가 있어요"),
        "{}: {}",
        b.name,
        resp.status()
    );
    // Invalid UTF-8 in a query string.
    let resp = call(
        &web,
        "GET",
        &format!("{page}?m=%C3%28"),
        &[("user-agent", IPHONE_SAFARI)],
        "",
    )
    .await?;
    ensure!(resp.status() == 400, "{}: query -> {}", b.name, resp.status());
    // An oversized call to the API: 413, as JSON.
    let huge = "x".repeat(1_100_000);
    let resp = call(
        &web,
        "POST",
        "/api/stores/gangnam-01/redeem",
        &[("authorization", "Bearer k")],
        &huge,
    )
    .await?;
    ensure!(
        resp.status() == 413 && text(&resp).contains("\"payload_too_large\""),
        "{}: {} {}",
        b.name,
        resp.status(),
        text(&resp).chars().take(80).collect::<String>()
    );
    // Invalid UTF-8 inside a JSON body: 400 with the reason, as JSON.
    let (parts, ()) = http::Request::builder()
        .method("POST")
        .uri("http://127.0.0.1:3000/api/stores/gangnam-01/redeem")
        .header("authorization", "Bearer k")
        .header("content-type", "application/json")
        .body(())?
        .into_parts();
    let body = bytes::Bytes::from_static(b"{\"code\": \"AB\xff\xfeCD\"}");
    let resp = mcamp_gateway::dispatch(&web, mcamp_gateway::to_lambda(parts, body)).await;
    ensure!(
        resp.status() == 400 && text(&resp).contains("\"reason\":\"body:"),
        "{}: invalid UTF-8 in JSON -> {} {}",
        b.name,
        resp.status(),
        text(&resp)
    );
    let stored = web.app.db.recipient(&r.id).await?.context("r")?;
    ensure!(
        stored.form_completed_at.is_none() && web.app.db.events_of(&c.id).await?.len() == events_before,
        "{}: nothing stored",
        b.name
    );
    Ok(())
}
contract!(hostile_input_is_refused, super::hostile_input_is_refused);

#[test]
fn campaign_urls_must_be_https() -> anyhow::Result<()> {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo/campaign.yaml"))?;
    let map_line = yaml
        .lines()
        .find(|l| l.trim_start().starts_with("map_url:"))
        .context("the demo has a map_url")?
        .to_owned();
    let indent = &map_line[..map_line.len() - map_line.trim_start().len()];
    let data_map = format!("{indent}map_url: \"data:text/html,x\"");
    for (from, to) in [
        ("url: https://example.com/menu", "url: \"javascript:alert(1)\""),
        ("url: https://example.com/menu", "url: http://example.com/menu"),
        (map_line.as_str(), data_map.as_str()),
    ] {
        ensure!(yaml.contains(from), "the demo has {from}");
        let bad = yaml.replacen(from, to, 1);
        let err = mcamp_ops::campaign_file::parse("campaign.yaml", &bad)
            .err()
            .context("refused")?;
        ensure!(err.to_string().contains("https://"), "{err}");
    }
    Ok(())
}

/// Every HTML response carries the security headers, and each inline script of a page is
/// allowed by the CSP through its own SHA-256 (so editing a script without the policy, or
/// adding a script, fails here before it fails in a browser). JSON gets nosniff too.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn every_page_carries_the_security_headers() -> anyhow::Result<()> {
    use base64::Engine;
    use sha2::Digest;

    let web = Backend::embedded().web();
    let mdm = demo_campaign("headers-mdm")?;
    let path = format!("{}/../examples/survey/campaign.yaml", env!("CARGO_MANIFEST_DIR"));
    let mut survey = mcamp_ops::campaign_file::load(std::path::Path::new(&path))?;
    survey.id = mcamp_core::values::CampaignId::parse("headers-survey")?;
    let mut pages = vec!["/p/nosuchcode1".to_string(), "/nosuchcode1".to_string()];
    for c in [&mdm, &survey] {
        web.app.db.push_campaign(c, web.app.now()).await?;
        import_csv(&web.app.db, c, "이름,휴대폰\n김민지,010-3500-0009\n").await?;
        let all: Vec<Recipient> = web.app.db.recipients(&c.id).try_collect().await?;
        let r = all.first().context("recipient")?;
        pages.push(format!("/p/{}", r.code));
        pages.push(format!("/p/{}/optout", r.code));
        pages.push(format!("/s/{}", r.code));
    }
    let mut scripts = 0;
    for p in &pages {
        let resp = call(&web, "GET", p, &[("user-agent", IPHONE_SAFARI)], "").await?;
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        if !header("content-type").starts_with("text/html") {
            continue;
        }
        let csp = header("content-security-policy");
        ensure!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{p}: CSP {csp:?}"
        );
        ensure!(header("x-content-type-options") == "nosniff", "{p}: nosniff");
        ensure!(!header("referrer-policy").is_empty(), "{p}: referrer-policy");
        let body = text(&resp);
        for part in body.split("<script>").skip(1) {
            let script = part.split("</script>").next().unwrap_or_default();
            let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
            ensure!(
                csp.contains(&format!("'sha256-{hash}'")),
                "{p}: an inline script the CSP does not allow"
            );
            scripts += 1;
        }
        ensure!(
            !body.contains("<script src") && !body.contains(" onclick="),
            "{p}: a script outside the policy"
        );
    }
    ensure!(scripts >= 2, "the M-DM and survey scripts were checked ({scripts})");
    // JSON answers are not sniffed either.
    let resp = call(
        &web,
        "GET",
        "/p/nosuchcode1/coupon",
        &[("accept", "application/json")],
        "",
    )
    .await?;
    ensure!(
        resp.headers()
            .get("x-content-type-options")
            .is_some_and(|v| v == "nosniff"),
        "JSON without nosniff: {}",
        resp.status()
    );
    Ok(())
}

/// A recipient file with an unclosed quote (which swallows the rest of the file into one row)
/// and a row over the bound: those rows are refused with their row numbers and store nothing;
/// the good rows around them are imported.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn oversized_csv_rows_are_refused_by_row_number() -> anyhow::Result<()> {
    let web = Backend::embedded().web();
    let c = demo_campaign("csv-bounds")?;
    web.app.db.push_campaign(&c, web.app.now()).await?;
    let long = "가".repeat(mcamp_ops::import::MAX_ROW_BYTES);
    let csv = format!(
        "이름,휴대폰\n김민지,010-3700-0001\n{long},010-3700-0002\n박서연,010-3700-0003\n\"열린따옴표,010-3700-0004\n이준호,010-3700-0005\n"
    );
    let report = import_csv(&web.app.db, &c, &csv).await?;
    let rows: Vec<usize> = report.rejected.iter().map(|r| r.row).collect();
    ensure!(
        rows == vec![3, 5] && report.rejected[0].reason.contains("bytes"),
        "refused by row: {:?}",
        report.rejected
    );
    let stored: Vec<Recipient> = web.app.db.recipients(&c.id).try_collect().await?;
    ensure!(
        stored.len() == 2,
        "only the two good rows before the quote: {}",
        stored.len()
    );
    Ok(())
}
