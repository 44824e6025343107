//! M-Survey and MCS on both backends, through the survey function's handler: the report's
//! figures against an independent count of seeded responses, bad input (nothing stored),
//! branching, resuming, the reward coupon, and MCS store scans to the store ranking.

use std::collections::BTreeMap;

use anyhow::{Context, ensure};
use chrono::{DateTime, Duration, Utc};
use mcamp_app::App;
use mcamp_core::campaign::Campaign;
use mcamp_core::values::{CampaignId, StoreId};
use mcamp_http::Web;
use mcamp_http::tokens::form_token;
use mcamp_tests::{Backend, IPHONE_SAFARI, call, contract, recipients, text};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

fn example(dir: &str, id: &str) -> anyhow::Result<Campaign> {
    let path = format!("{}/../examples/{dir}/campaign.yaml", env!("CARGO_MANIFEST_DIR"));
    let mut c = mcamp_ops::campaign_file::load(std::path::Path::new(&path))?;
    c.id = CampaignId::parse(id)?;
    Ok(c)
}

/// Posts one screen of the survey as a browser would; returns the status and body.
async fn post(web: &Web, code: &str, body: &str, json: bool) -> anyhow::Result<(u16, String)> {
    let token = form_token(&web.site.secret, code);
    let mut headers = vec![("content-type", FORM)];
    if json {
        headers.push(("accept", JSON));
    }
    let r = call(
        web,
        "POST",
        &format!("/s/{code}"),
        &headers,
        &format!("token={token}&{body}"),
    )
    .await?;
    Ok((r.status().as_u16(), text(&r)))
}

/// One seeded respondent's answers, as the test means to give them.
struct Plan {
    gender: &'static str,
    age: &'static str,
    tried: bool,
    taste: u8,
    nps: u8,
    /// Stops before answering this many screens (None: completes).
    stop_after: Option<usize>,
}

fn cell_of(p: &Plan) -> (&'static str, &'static str) {
    let g = match p.gender {
        "female" => "f",
        "male" => "m",
        _ => "x",
    };
    let a = match p.age {
        "20s" => "20",
        "30s" => "30",
        "40s" => "40",
        _ => "x",
    };
    (g, a)
}

async fn report_matches_an_independent_count(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let app = &web.app;
    let c = example("survey", "survey-report")?;
    app.db.push_campaign(&c, app.now()).await?;
    // 36 invited (counted as the import counts them), 30 of them answer.
    let people = recipients(&app.db, &c, 36).await?;
    app.db.count_invited(&c.id, 36).await?;
    let mut rng = StdRng::seed_from_u64(8);
    let mut plans = Vec::new();
    for (i, r) in people.iter().take(30).enumerate() {
        let plan = Plan {
            gender: ["female", "male", ""][rng.gen_range(0..3)],
            age: ["20s", "30s", "40s", ""][rng.gen_range(0..4)],
            tried: rng.gen_bool(0.6),
            taste: rng.gen_range(1..=5),
            nps: rng.gen_range(0..=10),
            // Every sixth stops early: after demographics + 1 or 2 answers.
            stop_after: (i % 6 == 5).then(|| 1 + i % 2),
        };
        let code = r.code.as_str();
        let (s, _) = post(
            &web,
            code,
            &format!("q=_demo&gender={}&age_band={}", plan.gender, plan.age),
            false,
        )
        .await?;
        ensure!(s == 303, "{}: demographics -> {s}", b.name);
        let mut screens = vec![format!("q=tried&v={}", if plan.tried { "yes" } else { "no" })];
        if plan.tried {
            screens.push(format!("q=taste&v={}", plan.taste));
            screens.push("q=sweetness&v=right".into());
        }
        screens.push("q=pick&v=matcha".into());
        screens.push("q=visits&v=lunch&v=weekend".into());
        screens.push(format!("q=nps&v={}", plan.nps));
        screens.push("q=comment&skip=1".into());
        let upto = plan.stop_after.unwrap_or(screens.len());
        for body in &screens[..upto] {
            let (s, t) = post(&web, code, body, false).await?;
            ensure!(s == 303, "{}: {body} -> {s} {t}", b.name);
        }
        plans.push(plan);
    }

    let report = mcamp_ops::surveys::load_survey_report(&app.db, &c.id).await?;
    // Independent count from the plans.
    let done: Vec<&Plan> = plans.iter().filter(|p| p.stop_after.is_none()).collect();
    ensure!(
        report.invited == Some(36) && report.started == 30,
        "{}: {report:?}",
        b.name
    );
    ensure!(
        report.completed == done.len() as u64,
        "{}: completed {}",
        b.name,
        report.completed
    );
    ensure!(
        (report.response_rate.unwrap_or(0.0) - 30.0 / 36.0).abs() < 1e-9,
        "response rate"
    );

    // NPS overall.
    let promoters = done.iter().filter(|p| p.nps >= 9).count() as u64;
    let detractors = done.iter().filter(|p| p.nps <= 6).count() as u64;
    let q = report.questions.iter().find(|q| q.id == "nps").context("nps")?;
    let nps = q.nps.context("nps figures")?;
    let expected = (promoters as f64 - detractors as f64) * 100.0 / done.len() as f64;
    ensure!(
        nps.promoters == promoters && nps.detractors == detractors && (nps.score - expected).abs() < 1e-9,
        "{}: NPS {nps:?}, expected {promoters}/{detractors} {expected}",
        b.name
    );
    // The NPS cross-tab: respondents and each value's count per gender × age cell.
    let mut cells: BTreeMap<(&str, &str), Vec<u8>> = BTreeMap::new();
    for p in &done {
        cells.entry(cell_of(p)).or_default().push(p.nps);
    }
    ensure!(
        q.crosstab.len() == cells.len(),
        "{}: {} cross-tab rows",
        b.name,
        q.crosstab.len()
    );
    for row in &q.crosstab {
        let answers = cells
            .get(&(row.gender, row.age))
            .context("a cell with no respondents")?;
        ensure!(row.respondents == answers.len() as u64, "{}: {}", b.name, row.label);
        for (v, count) in q.values.iter().zip(&row.counts) {
            let want = answers.iter().filter(|a| a.to_string() == v.value).count() as u64;
            ensure!(
                *count == want,
                "{}: {} value {} = {count}, want {want}",
                b.name,
                row.label,
                v.value
            );
        }
        let p = answers.iter().filter(|a| **a >= 9).count() as f64;
        let d = answers.iter().filter(|a| **a <= 6).count() as f64;
        let want = (p - d) * 100.0 / answers.len() as f64;
        ensure!(
            (row.nps.unwrap_or(f64::NAN) - want).abs() < 1e-9,
            "{}: cell NPS",
            b.name
        );
    }
    // Taste: only those who tried it (branching skipped the rest), mean and 95% CI.
    let tastes: Vec<f64> = done.iter().filter(|p| p.tried).map(|p| f64::from(p.taste)).collect();
    let taste = report.questions.iter().find(|q| q.id == "taste").context("taste")?;
    ensure!(taste.respondents == tastes.len() as u64, "{}: taste n", b.name);
    let n = tastes.len() as f64;
    let mean = tastes.iter().sum::<f64>() / n;
    let sd = (tastes.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let m = taste.mean.context("taste mean")?;
    ensure!(
        (m.mean - mean).abs() < 1e-9 && (m.sd - sd).abs() < 1e-9,
        "{}: {m:?}",
        b.name
    );
    ensure!(
        m.lo < mean && m.hi > mean && m.lo >= 1.0 && m.hi <= 5.0,
        "{}: CI {m:?}",
        b.name
    );
    // Multiple choice: both options counted per respondent, so each is 100%.
    let visits = report.questions.iter().find(|q| q.id == "visits").context("visits")?;
    let lunch = visits.values.iter().find(|v| v.value == "lunch").context("lunch")?;
    ensure!(
        lunch.count == done.len() as u64 && (lunch.pct - 100.0).abs() < 1e-9,
        "{}",
        b.name
    );
    // Drop-off: those who stopped stand at the next question.
    let stopped_at = |q: &str| {
        plans
            .iter()
            .filter(|p| match p.stop_after {
                Some(1) => q == if p.tried { "taste" } else { "pick" },
                Some(2) => q == if p.tried { "sweetness" } else { "visits" },
                _ => false,
            })
            .count() as u64
    };
    for d in &report.dropoff {
        ensure!(
            d.waiting == stopped_at(&d.question_id),
            "{}: waiting at {} = {}, want {}",
            b.name,
            d.question_id,
            d.waiting,
            stopped_at(&d.question_id)
        );
    }
    let tried = report
        .dropoff
        .iter()
        .find(|d| d.question_id == "tried")
        .context("tried")?;
    ensure!(tried.answered == 30, "{}: everyone answered the first question", b.name);
    Ok(())
}
contract!(report_figures, super::report_matches_an_independent_count);

async fn bad_input_is_refused_and_nothing_stored(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let app = &web.app;
    let c = example("survey", "survey-bad")?;
    app.db.push_campaign(&c, app.now()).await?;
    let r = recipients(&app.db, &c, 1).await?.remove(0);
    let code = r.code.as_str();
    let rev = |app: &App| {
        let app = app.clone();
        let id = r.id.clone();
        async move { anyhow::Ok(app.db.survey_response(&id).await?.map(|x| x.rev)) }
    };
    // Unknown question, out of range, a required question skipped, not on the path yet.
    let cases = [
        ("q=nope&v=1", 400, "no question"),
        ("q=tried&v=maybe", 400, "보기에 없는"),
        ("q=tried&skip=1", 400, "답변이 필요한"),
        ("q=nps&v=5", 409, "먼저"),
    ];
    for (body, status, says) in cases {
        let (s, t) = post(&web, code, body, true).await?;
        ensure!(s == status && t.contains(says), "{}: {body} -> {s} {t}", b.name);
    }
    ensure!(rev(app).await?.is_none(), "{}: nothing stored", b.name);
    // No token: 403, nothing stored.
    let no_token = call(
        &web,
        "POST",
        &format!("/s/{code}"),
        &[("content-type", FORM)],
        "q=tried&v=yes",
    )
    .await?;
    ensure!(no_token.status() == 403, "{}", b.name);
    // A page gets the question again with the Korean message and status 400.
    let (s, page) = post(&web, code, "q=tried&v=yes", false).await?;
    ensure!(s == 303, "{}: {s} {page}", b.name);
    // A post from a stale page (its revision is behind): refused, the current screen shown.
    let stale_from = rev(app).await?;
    let (s, t) = post(&web, code, "q=taste&v=3&rev=0", true).await?;
    ensure!(s == 409 && t.contains("지난 화면"), "{}: stale -> {s} {t}", b.name);
    ensure!(rev(app).await? == stale_from, "{}: nothing stored", b.name);
    let (s, page) = post(&web, code, "q=taste&v=6", false).await?;
    ensure!(
        s == 400 && page.contains("1부터 5까지 중에서 골라 주세요") && page.contains("벚꽃 라떼의 맛은"),
        "{}: {s}",
        b.name
    );
    let (s, _) = post(&web, code, "q=taste&v=4", false).await?;
    ensure!(s == 303, "{}", b.name);
    let (s, _) = post(&web, code, "q=sweetness&v=right", false).await?;
    ensure!(s == 303, "{}", b.name);
    let (s, _) = post(&web, code, "q=pick&v=mango", false).await?;
    ensure!(s == 303, "{}", b.name);
    let (s, t) = post(&web, code, "q=visits&v=morning&v=lunch&v=weekend", true).await?;
    ensure!(s == 400 && t.contains("최대 2개"), "{}: {t}", b.name);
    let (s, _) = post(&web, code, "q=visits&v=morning", false).await?;
    ensure!(s == 303, "{}", b.name);
    let (s, _) = post(&web, code, "q=nps&v=10", false).await?;
    ensure!(s == 303, "{}", b.name);
    // Text over the 500-character cap (Korean characters, not bytes).
    let before = rev(app).await?;
    let long = "가".repeat(501);
    let (s, t) = post(&web, code, &format!("q=comment&v={long}"), true).await?;
    ensure!(s == 400 && t.contains("500자"), "{}: {s}", b.name);
    ensure!(rev(app).await? == before, "{}: the refused text stored nothing", b.name);
    let ok = "가".repeat(500);
    let (s, t) = post(&web, code, &format!("q=comment&v={ok}"), true).await?;
    ensure!(s == 200 && t.contains("\"completed\":true"), "{}: {s} {t}", b.name);
    // A second response: refused, and the page says it is already done.
    let done = rev(app).await?;
    let (s, t) = post(&web, code, "q=tried&v=no", true).await?;
    ensure!(s == 409 && t.contains("already_completed"), "{}: {s} {t}", b.name);
    ensure!(rev(app).await? == done, "{}: nothing stored", b.name);
    let again = call(&web, "GET", &format!("/s/{code}"), &[], "").await?;
    ensure!(text(&again).contains("이미 참여하셨어요"), "{}", b.name);
    Ok(())
}
contract!(bad_input, super::bad_input_is_refused_and_nothing_stored);

async fn branching_resume_and_reward(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let app = &web.app;
    let c = example("survey", "survey-flow")?;
    app.db.push_campaign(&c, app.now()).await?;
    let r = recipients(&app.db, &c, 1).await?.remove(0);
    let code = r.code.as_str();
    let get = |q: &str| {
        let web = web.clone();
        let uri = format!("/s/{code}{q}");
        async move {
            anyhow::Ok(text(
                &call(&web, "GET", &uri, &[("user-agent", IPHONE_SAFARI)], "").await?,
            ))
        }
    };
    ensure!(get("").await?.contains("시작하기"), "{}: intro first", b.name);
    // No gender or age on record: asked first.
    ensure!(
        get("?start=1").await?.contains("시작하기 전에"),
        "{}: demographics",
        b.name
    );
    post(&web, code, "q=_demo&gender=male&age_band=40s", false).await?;
    let saved = app.db.recipient(&r.id).await?.context("r")?;
    ensure!(
        saved.gender.is_some() && saved.age_band.is_some(),
        "{}: kept on the recipient",
        b.name
    );
    // "No" skips the two taste questions.
    post(&web, code, "q=tried&v=no", false).await?;
    let page = get("").await?;
    ensure!(
        page.contains("다음 시즌에 가장 기대되는") && page.contains("4 / 7"),
        "{}: at pick",
        b.name
    );
    // Back to the first question, shown with the stored answer; change it, and the path
    // goes through the taste questions again.
    let back = get("?q=tried").await?;
    ensure!(back.contains(r#"value="no" checked"#), "{}: prefilled", b.name);
    post(&web, code, "q=tried&v=yes", false).await?;
    ensure!(
        get("").await?.contains("벚꽃 라떼의 맛은"),
        "{}: resumed at taste",
        b.name
    );
    for body in [
        "q=taste&v=5",
        "q=sweetness&v=less",
        "q=pick&v=matcha",
        "q=visits&v=afternoon",
        "q=nps&v=8",
    ] {
        let (s, t) = post(&web, code, body, false).await?;
        ensure!(s == 303, "{}: {body} {s} {t}", b.name);
    }
    let (s, _) = post(&web, code, "q=comment&v=%EB%A7%9B%EC%9E%88%EC%96%B4%EC%9A%94", false).await?;
    ensure!(s == 303, "{}", b.name);
    // The reward went through the coupon pipeline.
    mcamp_coupon_issuer::consume(app, std::time::Duration::from_secs(1), std::time::Duration::ZERO).await;
    let thanks = get("?done=1").await?;
    ensure!(
        thanks.contains("소중한 의견 감사합니다") && thanks.contains("감사 쿠폰이 발급되었어요"),
        "{}: {thanks}",
        b.name
    );
    let events = app.db.events_of(&c.id).await?;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind()).collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    ensure!(
        count("survey_started") == 1 && count("survey_completed") == 1 && count("survey_answered") == 8,
        "{}: {kinds:?}",
        b.name
    );
    ensure!(count("coupon_issued") == 1, "{}: {kinds:?}", b.name);
    Ok(())
}
contract!(branching_and_reward, super::branching_resume_and_reward);

/// The functions with their clock at `at`.
fn at(web: &Web, at: DateTime<Utc>) -> Web {
    Web {
        app: web.app.clone().with_clock(std::sync::Arc::new(move || at)),
        site: web.site.clone(),
    }
}

async fn mcs_scans_to_ranking(b: Backend) -> anyhow::Result<()> {
    let base_web = b.web();
    let base = &base_web.app;
    let c = example("mcs", "mcs-test")?;
    base.db.push_campaign(&c, base.now()).await?;
    let mut links = BTreeMap::new();
    for (id, name) in [("store-a", "가맹 A점"), ("store-b", "가맹 B점")] {
        let store = StoreId::parse(id)?;
        mcamp_ops::stores::add_store(&base.db, &store, name, false, base.now()).await?;
        let code = base.db.store_link(&c.id, &store, base.now()).await?;
        ensure!(
            base.db.store_link(&c.id, &store, base.now()).await? == code,
            "{}: permanent link",
            b.name
        );
        links.insert(id, code);
    }
    let week1 = DateTime::parse_from_rfc3339("2026-11-16T03:00:00Z")?.with_timezone(&Utc);
    let week2 = week1 + Duration::days(7);
    // (store, week, nps) of each scanning customer.
    let plan = [
        ("store-a", week1, 10),
        ("store-a", week1, 9),
        ("store-a", week2, 3),
        ("store-b", week1, 7),
        ("store-b", week2, 10),
        ("store-b", week2, 10),
        ("store-b", week2, 9),
    ];
    for (store, when, nps) in plan {
        let web = at(&base_web, when);
        let scan = call(
            &web,
            "GET",
            &format!("/{}", links[store]),
            &[("user-agent", IPHONE_SAFARI)],
            "",
        )
        .await?;
        let location = scan
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        ensure!(
            scan.status() == 302 && location.starts_with("/s/"),
            "{}: scan -> {location}",
            b.name
        );
        let cookie = scan
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        ensure!(cookie.contains("Max-Age=86400"), "{}: {cookie}", b.name);
        let code = location.trim_start_matches("/s/").to_owned();
        // The same phone scanning again the same day is the same person.
        let pair = cookie.split(';').next().unwrap_or("");
        let again = call(
            &web,
            "GET",
            &format!("/{}", links[store]),
            &[("user-agent", IPHONE_SAFARI), ("cookie", pair)],
            "",
        )
        .await?;
        ensure!(
            again.headers().get("location").and_then(|v| v.to_str().ok()) == Some(location),
            "{}: same visitor",
            b.name
        );
        let page = text(&call(&web, "GET", &format!("/s/{code}?start=1"), &[], "").await?);
        ensure!(
            page.contains(if store == "store-a" {
                "가맹 A점"
            } else {
                "가맹 B점"
            }),
            "{}: store named",
            b.name
        );
        let token = form_token(&web.site.secret, &code);
        let send = |body: String| {
            let web = web.clone();
            let code = code.clone();
            async move {
                let r = call(&web, "POST", &format!("/s/{code}"), &[("content-type", FORM)], &body).await?;
                anyhow::Ok(r.status().as_u16())
            }
        };
        ensure!(
            send(format!("token={token}&q=_demo&gender=female&age_band=30s")).await? == 303,
            "demo"
        );
        ensure!(send(format!("token={token}&q=nps&v={nps}")).await? == 303, "nps");
        if nps >= 9 {
            ensure!(send(format!("token={token}&q=best&v=taste")).await? == 303, "best");
        } else {
            ensure!(send(format!("token={token}&q=improve&v=wait")).await? == 303, "improve");
        }
        ensure!(send(format!("token={token}&q=clean&v=4")).await? == 303, "clean");
    }
    let (report, names) = mcamp_ops::surveys::load_mcs_report(&base.db, &c.id, 2).await?;
    // A: 2 promoters, 1 detractor of 3 -> +33.3; B: 3 promoters, 1 passive of 4 -> +75.
    let order: Vec<&str> = report.stores.iter().map(|s| s.store_id.as_str()).collect();
    ensure!(order == ["store-b", "store-a"], "{}: ranking {order:?}", b.name);
    let a = &report.stores[1];
    let b_ = &report.stores[0];
    ensure!(
        (a.nps.context("a")?.score - 100.0 / 3.0).abs() < 1e-9 && (b_.nps.context("b")?.score - 75.0).abs() < 1e-9,
        "{}: {a:?} {b_:?}",
        b.name
    );
    ensure!(
        a.scans == 3 && b_.scans == 4 && a.completed == 3,
        "{}: scans {a:?}",
        b.name
    );
    let trend: Vec<(String, Option<f64>)> = a.weeks.iter().map(|w| (w.week.clone(), w.nps)).collect();
    ensure!(
        trend
            == [
                ("2026-W47".to_owned(), Some(100.0)),
                ("2026-W48".to_owned(), Some(-100.0))
            ],
        "{}: {trend:?}",
        b.name
    );
    ensure!(
        names.get("store-a").map(String::as_str) == Some("가맹 A점"),
        "{}",
        b.name
    );
    ensure!(
        report.overall.completed == 7 && report.overall.scans == Some(7),
        "{}",
        b.name
    );
    Ok(())
}
contract!(mcs_ranking, super::mcs_scans_to_ranking);

/// MCS: one customer's rating counts once per store and KST day. Two browsers of one customer
/// rate the same store the same day (the phone comes after each rating): the second is taken
/// out of the store's counts with a `survey_withdrawn` event, idempotently; the next day, or
/// another customer, counts again.
async fn one_rating_per_customer_store_and_day(b: Backend) -> anyhow::Result<()> {
    let base_web = b.web();
    let c = example("mcs", "mcs-once")?;
    base_web.app.db.push_campaign(&c, base_web.app.now()).await?;
    let store = StoreId::parse("store-a")?;
    mcamp_ops::stores::add_store(&base_web.app.db, &store, "가맹 A점", false, base_web.app.now()).await?;
    let link = base_web.app.db.store_link(&c.id, &store, base_web.app.now()).await?;
    let day1 = DateTime::parse_from_rfc3339("2026-11-17T01:00:00Z")?.with_timezone(&Utc);
    // (when, phone, nps): the same phone twice on day 1, a friend on day 1, the same phone on day 2.
    let plan = [
        (day1, "010-2000-0001", 10),
        (day1 + Duration::hours(5), "010-2000-0001", 0),
        (day1 + Duration::hours(6), "010-2000-0002", 9),
        (day1 + Duration::days(1), "010-2000-0001", 10),
    ];
    let mut codes = Vec::new();
    for (when, phone, nps) in plan {
        let web = at(&base_web, when);
        // A new browser each time: no visitor cookie.
        let scan = call(&web, "GET", &format!("/{link}"), &[("user-agent", IPHONE_SAFARI)], "").await?;
        let location = scan
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let code = location.trim_start_matches("/s/").to_owned();
        ensure!(
            scan.status() == 302 && !code.is_empty(),
            "{}: scan -> {location}",
            b.name
        );
        for body in [
            "q=_demo&gender=female&age_band=30s".to_owned(),
            format!("q=nps&v={nps}"),
            if nps >= 9 { "q=best&v=taste" } else { "q=improve&v=wait" }.to_owned(),
            "q=clean&v=4".to_owned(),
        ] {
            let (status, _) = post(&web, &code, &body, false).await?;
            ensure!(status == 303, "{}: {body} -> {status}", b.name);
        }
        let token = form_token(&web.site.secret, &code);
        let form = format!("token={token}&phone={phone}&privacy=yes");
        let saved = call(
            &web,
            "POST",
            &format!("/p/{code}/form"),
            &[("content-type", FORM)],
            &form,
        )
        .await?;
        ensure!(saved.status() == 303, "{}: contact -> {}", b.name, saved.status());
        codes.push(code);
    }
    let (report, _) = mcamp_ops::surveys::load_mcs_report(&base_web.app.db, &c.id, 2).await?;
    let a = report.stores.first().context("store-a in the report")?;
    // Counted: 10 (day 1), 9 (the friend), 10 (day 2); the 0 of the second browser is out.
    ensure!(
        a.completed == 3 && a.nps.as_ref().is_some_and(|n| (n.score - 100.0).abs() < 1e-9),
        "{}: {a:?}",
        b.name
    );
    ensure!(report.overall.completed == 3, "{}: {:?}", b.name, report.overall);
    // The withdrawn response is marked; a second check changes nothing.
    let second = codes.get(1).context("second code")?;
    let link2 = base_web
        .app
        .db
        .link(&mcamp_core::values::ShortCode::parse(second)?)
        .await?
        .context("link")?;
    let owner = link2.recipient_id.context("owner")?;
    let resp = base_web.app.db.survey_response(&owner).await?.context("response")?;
    ensure!(resp.withdrawn_at.is_some(), "{}: marked withdrawn", b.name);
    let r = base_web.app.db.recipient(&owner).await?.context("recipient")?;
    let key = base_web
        .site
        .phone_key
        .customer_key(c.brand(), &mcamp_core::values::PhoneNumber::parse("010-2000-0001")?);
    let def = c.survey.as_ref().context("survey")?;
    let again = base_web
        .app
        .db
        .count_rating_once(def, c.brand(), &key, &r, None, base_web.app.now())
        .await?;
    ensure!(
        again == mcamp_store::surveys::RatingCount::Withdrawn,
        "{}: {again:?}",
        b.name
    );
    let (report, _) = mcamp_ops::surveys::load_mcs_report(&base_web.app.db, &c.id, 2).await?;
    ensure!(report.overall.completed == 3, "{}: withdrawn once only", b.name);
    let withdrawn = base_web
        .app
        .db
        .events_of(&c.id)
        .await?
        .into_iter()
        .filter(|e| e.kind() == "survey_withdrawn")
        .count();
    ensure!(withdrawn == 1, "{}: one survey_withdrawn event: {withdrawn}", b.name);
    Ok(())
}
contract!(mcs_once_a_day, super::one_rating_per_customer_store_and_day);
