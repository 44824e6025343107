//! template.yaml against the code: the HttpApi routes against the route table
//! (`mcamp_http::routes::ROUTES`), the functions' binaries against the cargo `[[bin]]`s under
//! functions/, and each function's environment against the variables its code reads (each
//! function crate's `env()`, built from what its start-up reads).
//!
//! CloudFormation's short tags (`!Ref`, `!Sub`, `!GetAtt`, `!If`, ...) parse as
//! `Value::Tagged`; the checks look through them where a plain value is expected.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use mcamp_http::routes::ROUTES;
use serde_yaml_ng::{Mapping, Value};

/// What each function's code reads at start-up, by its binary name.
fn code_env(binary: &str) -> Option<Vec<mcamp_env::Var>> {
    Some(match binary {
        "redirect" => mcamp_redirect::env(),
        "page" => mcamp_page::env(),
        "survey" => mcamp_survey::env(),
        "redeem" => mcamp_redeem::env(),
        "coupon-issuer" => mcamp_coupon_issuer::env(),
        "privacy-purge" => mcamp_privacy_purge::env(),
        "claim-sweeper" => mcamp_claim_sweeper::env(),
        "aggregator" => mcamp_aggregator::env(),
        "console" => mcamp_console::env(),
        "actions" => mcamp_actions::env(),
        _ => return None,
    })
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

fn template() -> anyhow::Result<Value> {
    let path = repo_root().join("template.yaml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The value under a tag (`!Ref X` -> `X`), or the value itself.
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        v => v,
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    untag(v).as_mapping().and_then(|m| m.get(key)).map(untag)
}

fn get_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    get(v, key).and_then(Value::as_str)
}

fn entries(m: &Mapping) -> impl Iterator<Item = (String, &Value)> {
    m.iter().map(|(k, v)| {
        let k = match untag(k) {
            Value::String(s) => s.clone(),
            other => format!("{other:?}"),
        };
        (k, untag(v))
    })
}

/// The template's `AWS::Serverless::Function` resources by logical id.
fn functions(t: &Value) -> anyhow::Result<BTreeMap<String, &Value>> {
    let resources = get(t, "Resources")
        .and_then(Value::as_mapping)
        .context("template.yaml has no Resources mapping")?;
    Ok(entries(resources)
        .filter(|(_, r)| get_str(r, "Type") == Some("AWS::Serverless::Function"))
        .collect())
}

/// Lines listing one side of a set difference, for failure messages.
fn listing(title: &str, items: impl IntoIterator<Item = String>) -> String {
    let lines: Vec<String> = items.into_iter().map(|i| format!("    {i}\n")).collect();
    if lines.is_empty() {
        format!("{title}: none\n")
    } else {
        format!("{title}:\n{}", lines.concat())
    }
}

fn route_line((id, method, path): &(String, String, String)) -> String {
    format!("{id} {method} {path}")
}

#[test]
fn http_api_events_match_the_route_table() -> anyhow::Result<()> {
    let t = template()?;
    let mut in_template = BTreeSet::new();
    for (id, f) in functions(&t)? {
        let Some(events) = get(f, "Properties")
            .and_then(|p| get(p, "Events"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        for (name, e) in entries(events) {
            if get_str(e, "Type") != Some("HttpApi") {
                continue;
            }
            let props = get(e, "Properties");
            let method = props.and_then(|p| get_str(p, "Method"));
            let path = props.and_then(|p| get_str(p, "Path"));
            let (Some(method), Some(path)) = (method, path) else {
                bail!("{id} event {name}: an HttpApi event needs a plain Properties.Method and Path");
            };
            in_template.insert((id.clone(), method.to_uppercase(), path.to_owned()));
        }
    }
    let in_code: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.function.logical_id().to_owned(),
                r.method.to_uppercase(),
                r.path.to_owned(),
            )
        })
        .collect();
    let missing_in_template: Vec<String> = in_code.difference(&in_template).map(route_line).collect();
    let missing_in_code: Vec<String> = in_template.difference(&in_code).map(route_line).collect();
    ensure!(
        missing_in_template.is_empty() && missing_in_code.is_empty(),
        "template.yaml's HttpApi events and ROUTES (shared/http/src/routes.rs) differ \
         (function logical id, method, path):\n{}{}",
        listing("in ROUTES, missing from template.yaml", missing_in_template),
        listing("in template.yaml, missing from ROUTES", missing_in_code),
    );
    Ok(())
}

/// The binaries a package's Cargo.toml declares: its `[[bin]]` names, or the package name
/// when it has none and has src/main.rs (cargo's implicit binary).
fn cargo_bins(manifest: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(manifest).with_context(|| format!("{}", manifest.display()))?;
    let mut section = String::new();
    let mut bins = Vec::new();
    let mut package_name = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "name" {
            continue;
        }
        let value = value.trim().trim_matches('"').to_owned();
        match section.as_str() {
            "[[bin]]" => bins.push(value),
            "[package]" => package_name = Some(value),
            _ => {}
        }
    }
    if bins.is_empty() {
        let has_main = manifest.with_file_name("src").join("main.rs").exists();
        if let (Some(name), true) = (package_name, has_main) {
            bins.push(name);
        }
    }
    Ok(bins)
}

#[test]
fn template_binaries_match_the_cargo_bins_under_functions() -> anyhow::Result<()> {
    let t = template()?;
    // Binary -> the functions that build it.
    let mut in_template: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (id, f) in functions(&t)? {
        let Some(meta) = get(f, "Metadata") else {
            continue;
        };
        if get_str(meta, "BuildMethod") != Some("rust-cargolambda") {
            continue;
        }
        match get(meta, "BuildProperties").and_then(|b| get_str(b, "Binary")) {
            Some(bin) => in_template.entry(bin.to_owned()).or_default().push(id),
            None => problems.push(format!(
                "{id}: BuildMethod rust-cargolambda without Metadata.BuildProperties.Binary"
            )),
        }
    }

    let functions_dir = repo_root().join("functions");
    let mut in_cargo: BTreeMap<String, PathBuf> = BTreeMap::new();
    let dir = std::fs::read_dir(&functions_dir).with_context(|| format!("{}", functions_dir.display()))?;
    for entry in dir {
        let manifest = entry?.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        for bin in cargo_bins(&manifest)? {
            let rel = manifest.strip_prefix(repo_root()).unwrap_or(&manifest).to_path_buf();
            in_cargo.insert(bin, rel);
        }
    }

    for (bin, ids) in &in_template {
        if ids.len() > 1 {
            problems.push(format!("binary {bin:?} is built by several functions: {ids:?}"));
        }
    }
    let template_bins: BTreeSet<&String> = in_template.keys().collect();
    let cargo_bins: BTreeSet<&String> = in_cargo.keys().collect();
    let no_crate: Vec<String> = template_bins
        .difference(&cargo_bins)
        .map(|b| format!("{b} (built by {})", in_template[*b].join(", ")))
        .collect();
    let no_function: Vec<String> = cargo_bins
        .difference(&template_bins)
        .map(|b| format!("{b} (declared in {})", in_cargo[*b].display()))
        .collect();
    ensure!(
        problems.is_empty() && no_crate.is_empty() && no_function.is_empty(),
        "template.yaml's BuildProperties.Binary and the [[bin]]s in functions/*/Cargo.toml \
         differ:\n{}{}{}",
        problems.iter().map(|p| format!("{p}\n")).collect::<String>(),
        listing("in template.yaml, no [[bin]] in functions/*/Cargo.toml", no_crate),
        listing("in functions/*/Cargo.toml, no function in template.yaml", no_function),
    );
    Ok(())
}

/// Each function's binary and environment variable names: Globals.Function's merged with its own.
fn environments(t: &Value) -> anyhow::Result<BTreeMap<String, (String, BTreeSet<String>)>> {
    fn names(env_parent: Option<&Value>) -> BTreeSet<String> {
        env_parent
            .and_then(|p| get(p, "Environment"))
            .and_then(|e| get(e, "Variables"))
            .and_then(Value::as_mapping)
            .map(|m| entries(m).map(|(k, _)| k).collect())
            .unwrap_or_default()
    }
    let globals = names(get(t, "Globals").and_then(|g| get(g, "Function")));
    functions(t)?
        .into_iter()
        .map(|(id, f)| {
            let binary = get(f, "Metadata")
                .and_then(|m| get(m, "BuildProperties"))
                .and_then(|b| get_str(b, "Binary"))
                .with_context(|| format!("{id}: Metadata.BuildProperties.Binary"))?
                .to_owned();
            let mut vars = globals.clone();
            vars.extend(names(get(f, "Properties")));
            Ok((id, (binary, vars)))
        })
        .collect()
}

#[test]
fn function_environments_only_set_variables_the_code_reads() -> anyhow::Result<()> {
    let t = template()?;
    let mut unknown = BTreeSet::new();
    for (id, (binary, vars)) in environments(&t)? {
        let reads = code_env(&binary).with_context(|| format!("{id}: no function crate for binary {binary}"))?;
        for v in vars {
            if !reads.iter().any(|r| r.name == v) {
                unknown.insert((id.clone(), v));
            }
        }
    }
    ensure!(
        unknown.is_empty(),
        "template.yaml sets environment variables the function's code does not read \
         (Globals included):\n{}",
        listing(
            "(function logical id, variable)",
            unknown.iter().map(|(id, v)| format!("{id} {v}"))
        ),
    );
    Ok(())
}

#[test]
fn every_function_gets_the_variables_start_up_requires() -> anyhow::Result<()> {
    let t = template()?;
    let mut missing = BTreeSet::new();
    for (id, (binary, vars)) in environments(&t)? {
        let reads = code_env(&binary).with_context(|| format!("{id}: no function crate for binary {binary}"))?;
        for v in reads.iter().filter(|v| v.required) {
            if !vars.contains(v.name) {
                missing.insert((id.clone(), v.name));
            }
        }
    }
    ensure!(
        missing.is_empty(),
        "functions in template.yaml miss variables their start-up requires (Globals \
         included):\n{}",
        listing(
            "(function logical id, variable)",
            missing.iter().map(|(id, v)| format!("{id} {v}"))
        ),
    );
    Ok(())
}

/// What each function's IAM policy in template.yaml allows, as `action resource` pairs in the
/// `Recorder`'s terms: inline `Statement`s on the tables (and the index), and the SAM SQS
/// policy templates on the queues.
fn allowed(function: &Value) -> anyhow::Result<BTreeSet<String>> {
    let label = |v: &Value| {
        untag(v)
            .as_str()
            .map(|r| r.replace("${", "").replace(".Arn}", "").replace(".Arn", ""))
    };
    let mut out = BTreeSet::new();
    let props = get(function, "Properties").context("Properties")?;
    for p in get(props, "Policies")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let p = untag(p);
        if let Some(statements) = get(p, "Statement").and_then(Value::as_sequence) {
            // The secrets are read at init, not through the ports (`secrets_reach_…` checks them).
            for st in statements.iter().filter(|st| get_str(st, "Sid") != Some("Secrets")) {
                let resource = get(st, "Resource").and_then(label).context("a statement's Resource")?;
                for a in get(st, "Action").and_then(Value::as_sequence).into_iter().flatten() {
                    out.insert(format!("{} {resource}", a.as_str().context("an action")?));
                }
            }
        }
        for (template, actions) in [
            ("SQSSendMessagePolicy", &["sqs:SendMessage"][..]),
            (
                "SQSPollerPolicy",
                &[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ][..],
            ),
        ] {
            if let Some(q) = get(p, template).and_then(|t| get(t, "QueueName")).and_then(label) {
                let q = q.replace(".QueueName", "");
                out.extend(actions.iter().map(|a| format!("{a} {q}")));
            }
        }
        ensure!(
            get(p, "DynamoDBCrudPolicy").is_none() && get(p, "DynamoDBWritePolicy").is_none(),
            "a broad DynamoDB policy template"
        );
    }
    Ok(out)
}

/// Least privilege that works: every function's flows run over recording ports, and each call
/// they make must be allowed by that function's policy in template.yaml (a missing action
/// would be an AccessDenied in AWS), while no policy holds DynamoDB's broad templates.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn each_function_policy_allows_what_its_code_does() -> anyhow::Result<()> {
    use futures::TryStreamExt;
    use mcamp_core::recipient::Recipient;
    use mcamp_http::tokens::form_token;
    use mcamp_tests::{IPHONE_SAFARI, KAKAO_SCRAPER, Recorder, RecordingQueue, RecordingTable, call, text};
    use std::sync::Arc;

    let b = mcamp_tests::Backend::embedded();
    let recorder = Arc::new(Recorder::default());
    let clock = mcamp_tests::TestClock::new();
    let app = mcamp_app::App::new(
        Arc::new(RecordingTable {
            inner: b.table.clone(),
            recorder: recorder.clone(),
        }),
        Arc::new(RecordingQueue {
            inner: b.queue.clone(),
            recorder: recorder.clone(),
        }),
    )
    .with_clock(clock.clock());
    let web = mcamp_http::Web::new(
        app.clone(),
        mcamp_http::Site::local(
            "http://127.0.0.1:3000",
            mcamp_tests::TEST_SECRET,
            mcamp_tests::phone_key(),
        )
        .with_console_keys(mcamp_http::session::SessionKeys::parse(
            "a-console-key-of-at-least-thirty-two-chars",
        )?),
    );
    let form = [("content-type", "application/x-www-form-urlencoded")];

    // Set-up, as the CLI does it (not a function).
    recorder.now_running("cli");
    let mdm = mcamp_tests::demo_campaign("iam-mdm")?;
    app.db.push_campaign(&mdm, app.now()).await?;
    mcamp_tests::import_csv(&app.db, &mdm, "이름,휴대폰\n김민지,010-3600-0001\n").await?;
    let r: Recipient = app.db.recipients(&mdm.id).try_collect::<Vec<_>>().await?.remove(0);
    let path = format!("{}/../examples/survey/campaign.yaml", env!("CARGO_MANIFEST_DIR"));
    let mut survey = mcamp_ops::campaign_file::load(Path::new(&path))?;
    survey.id = mcamp_core::values::CampaignId::parse("iam-survey")?;
    app.db.push_campaign(&survey, app.now()).await?;
    mcamp_tests::import_csv(&app.db, &survey, "이름,휴대폰\n김민지,010-3600-0001\n").await?;
    let sr: Recipient = app.db.recipients(&survey.id).try_collect::<Vec<_>>().await?.remove(0);
    let store = mcamp_core::values::StoreId::parse("iam-store")?;
    let key = mcamp_ops::stores::add_store(&app.db, &store, "강남점", false, app.now()).await?;
    let mut ended = mcamp_tests::campaign_with_coupon("iam-ended", 5)?;
    ended.ends_at = Some(app.now() - chrono::Duration::days(30));
    ended.retention_days = 1;
    app.db.push_campaign(&ended, app.now()).await?;
    mcamp_tests::import_csv(&app.db, &ended, "이름,휴대폰\n박서연,010-3600-0002\n").await?;

    recorder.now_running("RedirectFunction");
    for ua in [IPHONE_SAFARI, KAKAO_SCRAPER] {
        call(&web, "GET", &format!("/{}", r.code), &[("user-agent", ua)], "").await?;
    }

    recorder.now_running("PageFunction");
    let page = format!("/p/{}", r.code);
    let token = form_token(&web.site.secret, r.code.as_str());
    let ok = |what: &str, resp: &lambda_http::Response<lambda_http::Body>| {
        ensure!(resp.status().as_u16() < 400, "{what}: {} {}", resp.status(), text(resp));
        anyhow::Ok(())
    };
    ok(
        "view",
        &call(&web, "GET", &page, &[("user-agent", IPHONE_SAFARI)], "").await?,
    )?;
    let body = format!(
        "token={token}&name=%EA%B9%80%EB%AF%BC%EC%A7%80&phone=010-3600-0001&gender=female&birth_year=1990&privacy=yes&marketing=yes"
    );
    ok(
        "form",
        &call(&web, "POST", &format!("{page}/form"), &form, &body).await?,
    )?;
    let coupon = &mdm.coupons.first().context("a coupon")?.id;
    let body = format!("token={token}&coupon={coupon}");
    ok(
        "claim",
        &call(&web, "POST", &format!("{page}/claim"), &form, &body).await?,
    )?;
    ok(
        "poll",
        &call(
            &web,
            "GET",
            &format!("{page}/coupon"),
            &[("accept", "application/json")],
            "",
        )
        .await?,
    )?;
    let share = call(
        &web,
        "POST",
        &format!("{page}/share"),
        &[form[0], ("accept", "application/json")],
        &format!("token={token}&channel=copy_link"),
    )
    .await?;
    ok("share", &share)?;
    let share_code: String = serde_json::from_str::<serde_json::Value>(&text(&share))?["code"]
        .as_str()
        .context("share code")?
        .to_owned();

    recorder.now_running("RedirectFunction");
    call(
        &web,
        "GET",
        &format!("/{share_code}"),
        &[("user-agent", IPHONE_SAFARI)],
        "",
    )
    .await?;

    recorder.now_running("CouponIssuerFunction");
    mcamp_coupon_issuer::consume(&app, std::time::Duration::from_millis(50), std::time::Duration::ZERO).await;
    let issued = app
        .db
        .claim(&r.id, coupon, 1)
        .await?
        .and_then(|c| c.code)
        .context("issued")?;

    recorder.now_running("RedeemFunction");
    let resp = call(
        &web,
        "POST",
        &format!("/api/stores/{store}/redeem"),
        &[
            ("authorization", &format!("Bearer {key}")),
            ("content-type", "application/json"),
        ],
        &serde_json::json!({ "code": issued.to_string() }).to_string(),
    )
    .await?;
    ok("redeem", &resp)?;

    recorder.now_running("SurveyFunction");
    let s = format!("/s/{}", sr.code);
    let stoken = form_token(&web.site.secret, sr.code.as_str());
    ok(
        "survey",
        &call(&web, "GET", &s, &[("user-agent", IPHONE_SAFARI)], "").await?,
    )?;
    for screen in [
        "q=_demo&gender=female&age_band=30s",
        "q=tried&v=no",
        "q=pick&v=matcha",
        "q=visits&v=lunch",
        "q=nps&v=9",
        "q=comment&skip=1",
    ] {
        ok(
            screen,
            &call(&web, "POST", &s, &form, &format!("token={stoken}&{screen}")).await?,
        )?;
    }

    recorder.now_running("PageFunction");
    let body = format!("token={token}&phone=010-3600-0001");
    ok(
        "opt-out",
        &call(&web, "POST", &format!("{page}/optout"), &form, &body).await?,
    )?;

    // A claim whose job was lost, found by the sweeper a minute later.
    recorder.now_running("cli");
    let lost = mcamp_tests::campaign_with_coupon("iam-lost", 5)?;
    app.db.push_campaign(&lost, app.now()).await?;
    let lr = mcamp_tests::recipients(&app.db, &lost, 1).await?.remove(0);
    let flaky = mcamp_tests::FlakyQueue::new(b.queue.clone(), 1.0, 1);
    let lost_coupon = &lost.coupons.first().context("coupon")?.id;
    mcamp_store::claims::claim(&app.db, &flaky, &lost, &lr, None, lost_coupon, app.now()).await?;
    clock.advance(chrono::Duration::seconds(61));
    recorder.now_running("ClaimSweeperFunction");
    let swept = mcamp_claim_sweeper::handle(&app, serde_json::json!({}))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(swept.resent >= 1, "the sweeper resent the lost job: {swept:?}");

    // A campaign with a segment, run by the hourly actions.
    recorder.now_running("cli");
    let mut seg = mcamp_tests::demo_campaign("iam-segments")?;
    seg.segments = vec![mcamp_core::campaign::SegmentDef {
        id: mcamp_core::values::SegmentId::parse("not-clicked")?,
        name: None,
        rule: mcamp_core::segment::parse("not clicked")?,
        message: None,
    }];
    // And a follow-up (a notice, so the imported customer gets it without marketing consent).
    seg.follow_ups = vec![serde_json::from_value(serde_json::json!({
        "id": "reminder", "after": "not clicked", "ad": false,
        "steps": [{"channel": "sms", "message": "{name}님, 안내드려요 {link}"}],
    }))?];
    app.db.push_campaign(&seg, app.now()).await?;
    mcamp_tests::import_csv(&app.db, &seg, "이름,휴대폰\n이준호,010-3600-0009\n").await?;
    recorder.now_running("ActionsFunction");
    let settings = mcamp_actions::Settings {
        base_url: "https://go.brand.kr".into(),
    };
    let acted = mcamp_actions::handle(&app, &settings, serde_json::json!({}))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(
        acted
            .segments
            .iter()
            .any(|r| r.segment == "not-clicked" && r.added == 1),
        "the segment ran: {acted:?}"
    );
    ensure!(
        acted
            .follow_ups
            .iter()
            .any(|r| r.follow_up == "reminder" && r.sent == 1),
        "the follow-up sent its job: {acted:?}"
    );

    recorder.now_running("PrivacyPurgeFunction");
    clock.advance(chrono::Duration::days(2));
    let purged = mcamp_privacy_purge::handle(&app, serde_json::json!({}))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(
        purged.recipients_erased >= 1,
        "the purge erased the ended campaign's people: {purged:?}"
    );

    // The console: a user added by the CLI signs in (after a wrong try) and lists campaigns.
    recorder.now_running("cli");
    let pass = crate::console::PASS;
    app.db
        .add_user(&mcamp_core::users::User {
            email: mcamp_core::users::Email::parse("kim@brand.kr")?,
            role: mcamp_core::users::Role::Admin,
            campaigns: vec![],
            password_hash: mcamp_core::users::Password::parse(pass)?.hash()?,
            created_at: app.now(),
            password_set_at: app.now(),
            disabled_at: None,
        })
        .await?;
    recorder.now_running("ConsoleFunction");
    let wrong = call(
        &web,
        "POST",
        "/console/sign-in",
        &form,
        "email=kim%40brand.kr&password=wrong-password-1",
    )
    .await?;
    ensure!(wrong.status() == 401, "a wrong password: {}", wrong.status());
    let cookie = crate::console::session_of(&web, "kim@brand.kr").await?;
    let campaigns = call(&web, "GET", "/console/campaigns", &[("cookie", &cookie)], "").await?;
    ok("console campaigns", &campaigns)?;
    let csrf = crate::console::html_value(&text(&campaigns), "csrf").context("csrf")?;
    let admin = [("cookie", cookie.as_str())];
    let posted = [form[0], ("cookie", cookie.as_str())];
    let dash = format!("/console/campaigns/{}", mdm.id);
    for path in [
        dash.clone(),
        format!("/console/campaigns/{}/survey", survey.id),
        format!("{dash}/people?filter=clicked-no-coupon"),
        format!("{dash}/people/{}", r.id),
        format!("{dash}/export?what=report&format=xlsx"),
        format!("{dash}/export?what=people&format=csv"),
        format!("{dash}/send-list?format=nhn"),
    ] {
        ok(&path, &call(&web, "GET", &path, &admin, "").await?)?;
    }
    for status in ["paused", "active"] {
        let body = format!("csrf={csrf}&status={status}");
        ok(
            status,
            &call(&web, "POST", &format!("{dash}/status"), &posted, &body).await?,
        )?;
    }
    let made = call(
        &web,
        "POST",
        &format!("{dash}/view-links"),
        &posted,
        &format!("csrf={csrf}"),
    )
    .await?;
    ok("view link", &made)?;
    let html = text(&made);
    let link = html
        .split("/console/view/")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .context("the link")?
        .to_owned();
    ok(
        "read-only",
        &call(&web, "GET", &format!("/console/view/{link}"), &[], "").await?,
    )?;
    let id = mcamp_core::view_link::ViewLink::id_of(&link);
    let body = format!("csrf={csrf}&id={id}");
    ok(
        "revoke",
        &call(&web, "POST", &format!("{dash}/view-links/revoke"), &posted, &body).await?,
    )?;
    let upload = format!(
        "--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"more.csv\"\r\nContent-Type: text/csv\r\n\r\n이름,휴대폰\n이준호,010-3600-0003\n\r\n--b--\r\n"
    );
    let multipart = [
        ("content-type", "multipart/form-data; boundary=b"),
        ("cookie", cookie.as_str()),
    ];
    ok(
        "upload",
        &call(&web, "POST", &format!("{dash}/recipients"), &multipart, &upload).await?,
    )?;
    // Store staff look the coupon up and redeem it again at their till (a repeat).
    recorder.now_running("cli");
    app.db
        .add_user(&mcamp_core::users::User {
            email: mcamp_core::users::Email::parse("staff@brand.kr")?,
            role: mcamp_core::users::Role::Store(store.clone()),
            campaigns: vec![],
            password_hash: mcamp_core::users::Password::parse(pass)?.hash()?,
            created_at: app.now(),
            password_set_at: app.now(),
            disabled_at: None,
        })
        .await?;
    recorder.now_running("ConsoleFunction");
    let staff = crate::console::session_of(&web, "staff@brand.kr").await?;
    let till = format!("/console/stores/{store}");
    let page = call(&web, "GET", &till, &[("cookie", &staff)], "").await?;
    ok("store page", &page)?;
    let csrf = crate::console::html_value(&text(&page), "csrf").context("staff csrf")?;
    for step in ["lookup", "redeem"] {
        let body = format!("csrf={csrf}&code={issued}");
        let resp = call(
            &web,
            "POST",
            &format!("{till}/{step}"),
            &[form[0], ("cookie", &staff)],
            &body,
        )
        .await?;
        ok(step, &resp)?;
    }

    // Every event so far, through the stream's aggregator.
    recorder.now_running("AggregatorFunction");
    let changes = b
        .feed
        .changes(mcamp_store::ports::TableId::Events, None, 10_000)
        .await?;
    let resp = mcamp_aggregator::handle(&app, mcamp_tests::stream_event(&changes)?).await;
    ensure!(resp.batch_item_failures.is_empty(), "the aggregator took every event");

    let t = template()?;
    let fns = functions(&t)?;
    for (function, used) in recorder.seen() {
        println!("{function}: {}", used.into_iter().collect::<Vec<_>>().join(", "));
    }
    let mut problems = String::new();
    for (function, used) in recorder.seen() {
        if function == "cli" {
            continue;
        }
        let def = fns
            .get(&function)
            .with_context(|| format!("{function} in template.yaml"))?;
        let allowed = allowed(def)?;
        let missing: Vec<String> = used.difference(&allowed).cloned().collect();
        if !missing.is_empty() {
            problems += &listing(&format!("{function} does but may not"), missing);
        }
    }
    ensure!(
        problems.is_empty(),
        "IAM policies short of what the code does:\n{problems}"
    );
    let ran: BTreeSet<String> = recorder.seen().into_keys().collect();
    for f in fns.keys() {
        ensure!(ran.contains(f), "{f}: no flow exercised it");
    }
    Ok(())
}

/// Secrets reach the functions only as Secrets Manager ARNs: no template parameter carries a
/// secret value, no function is given a plain secret variable, every HTTP function gets the
/// ARNs its start-up needs and may read exactly those secrets, and no other function may read
/// any.
#[test]
fn secrets_reach_functions_only_as_secret_arns() -> anyhow::Result<()> {
    use mcamp_http::site::SiteSecrets;
    let t = template()?;
    let no_echo: Vec<String> = get(&t, "Parameters")
        .and_then(Value::as_mapping)
        .map(|m| {
            entries(m)
                .filter(|(_, p)| get(p, "NoEcho").is_some())
                .map(|(k, _)| k)
                .collect()
        })
        .unwrap_or_default();
    ensure!(no_echo.is_empty(), "secret values as template parameters: {no_echo:?}");
    let secrets = [
        SiteSecrets::SECRET,
        SiteSecrets::PHONE_KEY,
        SiteSecrets::KAKAO_ADMIN_KEY,
    ];
    let fns = functions(&t)?;
    for (id, (binary, vars)) in environments(&t)? {
        let reads = code_env(&binary).with_context(|| format!("{id}: no crate for {binary}"))?;
        for s in &secrets {
            ensure!(!vars.contains(s.plain), "{id} is given {} as a plain value", s.plain);
        }
        let needs = reads.iter().any(|v| v.name == SiteSecrets::SECRET.arn);
        for required in [SiteSecrets::SECRET.arn, SiteSecrets::PHONE_KEY.arn] {
            ensure!(!needs || vars.contains(required), "{id} starts without {required}");
        }
        let def = fns.get(&id).context("the function")?;
        let statements: Vec<&Value> = get(def, "Properties")
            .and_then(|p| get(p, "Policies"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|p| get(p, "Statement").and_then(Value::as_sequence))
            .flatten()
            .collect();
        let secret_statements: Vec<&&Value> = statements
            .iter()
            .filter(|st| format!("{:?}", get(st, "Action")).contains("secretsmanager"))
            .collect();
        if !needs {
            ensure!(secret_statements.is_empty(), "{id} may read secrets it never reads");
            continue;
        }
        ensure!(secret_statements.len() == 1, "{id}: one statement for its secrets");
        let st = secret_statements[0];
        let actions: Vec<&str> = get(st, "Action")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        ensure!(actions == ["secretsmanager:GetSecretValue"], "{id}: {actions:?}");
        let resources = format!("{:?}", get(st, "Resource"));
        ensure!(
            resources.contains("AppSecret") && resources.contains("PhoneKey") && !resources.contains('*'),
            "{id} reads other secrets than its own: {resources}"
        );
        let kakao = vars.contains(SiteSecrets::KAKAO_ADMIN_KEY.arn);
        ensure!(
            kakao == resources.contains("KakaoAdminKeySecretArn"),
            "{id}: the Kakao admin key's ARN and its permission go together"
        );
    }
    Ok(())
}

/// Floods are refused by API Gateway before any function runs: every route has a default
/// throttle, and each per-route setting names a route that exists (a stale key fails the
/// deployment).
#[test]
fn the_api_throttles_every_route() -> anyhow::Result<()> {
    let t = template()?;
    let api = get(&t, "Resources")
        .and_then(|r| get(r, "HttpApi"))
        .and_then(|a| get(a, "Properties"))
        .context("HttpApi")?;
    let default = get(api, "DefaultRouteSettings").context("DefaultRouteSettings")?;
    ensure!(
        get(default, "ThrottlingRateLimit").is_some() && get(default, "ThrottlingBurstLimit").is_some(),
        "a default rate and burst"
    );
    let routes: BTreeSet<String> = ROUTES.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    for (key, setting) in get(api, "RouteSettings")
        .and_then(Value::as_mapping)
        .map(entries)
        .into_iter()
        .flatten()
    {
        ensure!(
            routes.contains(&key),
            "RouteSettings for a route that does not exist: {key}"
        );
        ensure!(get(setting, "ThrottlingRateLimit").is_some(), "{key}: a rate");
    }
    Ok(())
}
