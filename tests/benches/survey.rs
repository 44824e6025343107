//! Survey throughput and report cost, on the embedded backend (an SQLite database in a
//! temporary directory, `synchronous=OFF`).
//!
//! 1. Submissions: 2000 recipients of the demo survey each answer it to the end through the
//!    survey function's handler (16 at a time): answers per second and responses per second.
//! 2. Report cost against the number of responses, at the MCS brand's shape (500 stores,
//!    4 weeks): real responses through the save path up to 10^5, the report timed at 10^3,
//!    10^4 and 10^5; then every aggregate counter is multiplied by 10, which is exactly the
//!    item set 10^6 such responses leave (same items, larger numbers), and timed again.
//!    Reports read the aggregate items only, so the time follows the number of store-weeks,
//!    not the responses.
//!
//! A throughput run, not a criterion bench: prints
//! `bench: survey … | <value> | <goal> | <command>` lines (`cargo test` runs a small smoke
//! version).

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use mcamp_core::survey::Answer;
use mcamp_core::values::{AgeBand, CampaignId, Gender, StoreId};
use mcamp_http::tokens::form_token;
use mcamp_store::keys;
use mcamp_store::ports::{Key, Query, TableId, Update};
use mcamp_tests::{Backend, call, recipients};

/// Respondents of the submission run (`--bench`).
const RESPONDENTS: usize = 2000;
const STORES: usize = 500;
/// The command that prints these figures (the table's last column).
const COMMAND: &str = "cargo bench -p mcamp-tests --bench survey";

fn example(dir: &str, id: &str) -> anyhow::Result<mcamp_core::campaign::Campaign> {
    let path = format!("{}/../examples/{dir}/campaign.yaml", env!("CARGO_MANIFEST_DIR"));
    let mut c = mcamp_ops::campaign_file::load(std::path::Path::new(&path))?;
    c.id = CampaignId::parse(id)?;
    Ok(c)
}

async fn submissions(respondents: usize) -> anyhow::Result<()> {
    let web = Backend::embedded().web();
    let app = &web.app;
    let c = example("survey", "bench-survey")?;
    app.db.push_campaign(&c, app.now()).await?;
    let people = recipients(&app.db, &c, respondents).await?;
    let screens = [
        "q=_demo&gender=female&age_band=30s",
        "q=tried&v=yes",
        "q=taste&v=4",
        "q=sweetness&v=right",
        "q=pick&v=matcha",
        "q=visits&v=lunch&v=weekend",
        "q=nps&v=9",
        "q=comment&skip=1",
    ];
    let start = Instant::now();
    stream::iter(people.iter())
        .map(|r| {
            let web = &web;
            async move {
                let code = r.code.as_str();
                let token = form_token(&web.site.secret, code);
                for s in screens {
                    let resp = call(
                        web,
                        "POST",
                        &format!("/s/{code}"),
                        &[("content-type", "application/x-www-form-urlencoded")],
                        &format!("token={token}&{s}"),
                    )
                    .await?;
                    ensure!(resp.status() == 303, "{s}: {}", resp.status());
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let took = start.elapsed();
    let report = mcamp_ops::surveys::load_survey_report(&app.db, &c.id).await?;
    ensure!(
        report.completed == respondents as u64,
        "all completed: {}",
        report.completed
    );
    let posts = respondents * screens.len();
    println!(
        "bench: survey submissions (handler, embedded SQLite store, 16 at a time) | {:.0} answers/s, {:.0} completed responses/s ({posts} posts in {:.2} s) | none | {COMMAND}",
        posts as f64 / took.as_secs_f64(),
        respondents as f64 / took.as_secs_f64(),
        took.as_secs_f64()
    );
    Ok(())
}

/// Median of 5 report generations, and of its part that reads the aggregate items.
async fn time_report(db: &mcamp_store::Db, c: &CampaignId) -> anyhow::Result<(Duration, Duration, u64)> {
    let (mut times, mut reads) = (Vec::new(), Vec::new());
    let mut completed = 0;
    for _ in 0..5 {
        let t = Instant::now();
        db.survey_counters(c).await?;
        reads.push(t.elapsed());
        let t = Instant::now();
        let (report, _) = mcamp_ops::surveys::load_mcs_report(db, c, 30).await?;
        times.push(t.elapsed());
        completed = report.overall.completed;
    }
    times.sort();
    reads.sort();
    Ok((times[2], reads[2], completed))
}

async fn report_scaling(steps: &[usize]) -> anyhow::Result<()> {
    let backend = Backend::embedded();
    // The raw table: the 10^6 step multiplies the aggregate counters in place.
    let table = backend.table.clone();
    let app = backend.app();
    let db = app.db.clone();
    let c = example("mcs", "bench-mcs")?;
    db.push_campaign(&c, app.now()).await?;
    let def = c.survey.clone().context("survey")?;
    let mut links = Vec::new();
    for i in 0..STORES {
        let store = StoreId::parse(&format!("store-{i:03}"))?;
        let code = db.store_link(&c.id, &store, app.now()).await?;
        links.push(db.link(&code).await?.context("store link")?);
    }
    let week0 = DateTime::parse_from_rfc3339("2026-11-02T03:00:00Z")?.with_timezone(&Utc);
    let mut done = 0usize;
    let save_start = Instant::now();
    for &target in steps {
        stream::iter(done..target)
            .map(|i| {
                let (db, def, links, c) = (&db, &def, &links, &c);
                async move {
                    // Store i % 500 in week (i / 500) % 4: every store-week fills up evenly.
                    let week = ((i / STORES) % 4) as i64;
                    let when = week0 + chrono::Duration::days(7 * week) + chrono::Duration::seconds((i % 3600) as i64);
                    let r = db.add_store_visitor(&links[i % STORES], c, None, when).await?;
                    let gender = [Gender::Female, Gender::Male][i % 2];
                    let age = AgeBand::ALL[i % 6];
                    let resp = db
                        .save_demographics(def, &r, None, Some(gender), Some(age), when)
                        .await?;
                    let nps = (i * 7 % 11) as u8;
                    let resp = db
                        .save_answer(def, &r, Some(resp), "nps", Some(Answer::Scale(nps)), when)
                        .await?;
                    let (q, v) = if nps >= 9 {
                        ("best", "taste")
                    } else {
                        ("improve", "wait")
                    };
                    let resp = db
                        .save_answer(def, &r, Some(resp), q, Some(Answer::Choices(vec![v.into()])), when)
                        .await?;
                    let resp = db
                        .save_answer(
                            def,
                            &r,
                            Some(resp),
                            "clean",
                            Some(Answer::Scale((i % 5 + 1) as u8)),
                            when,
                        )
                        .await?;
                    ensure!(resp.completed_at.is_some(), "completed");
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(16)
            .try_collect::<Vec<_>>()
            .await?;
        done = target;
        let (t, read, completed) = time_report(&db, &c.id).await?;
        ensure!(completed == target as u64, "report counts {completed}, want {target}");
        println!(
            "bench: survey mcs report at {target} responses ({STORES} stores x 4 weeks), median of 5 | {:.2} ms (reading the aggregates {:.2} ms) | none | {COMMAND}",
            t.as_secs_f64() * 1000.0,
            read.as_secs_f64() * 1000.0
        );
    }
    let saved = save_start.elapsed();
    println!(
        "bench: survey mcs responses saved (scan + 4 screens, domain path, embedded SQLite store, 16 at a time) | {:.0} responses/s | none | {COMMAND}",
        done as f64 / saved.as_secs_f64()
    );
    // 10^6: the same aggregate items with every counter ten times larger.
    let mut items = Vec::new();
    for shard in 0..keys::SHARDS {
        let mut q = Query::partition(TableId::Main, keys::aggregates(&c.id, shard));
        loop {
            let page = table.query(&q).await?;
            items.extend(page.items);
            match page.next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
    }
    let n_items = items.len();
    // Through atomic adds, as the saves themselves write them (a `put` of the read items would
    // measure the embedded store's rewritten-item layout, not the report).
    for item in items {
        let key = Key::of(&item).context("aggregate key")?;
        let mut update = Update::new();
        for (k, v) in &item {
            if let (false, Some(n)) = (k == "pk" || k == "sk", v.as_i64()) {
                update = update.add(k, 9 * n);
            }
        }
        table.update(TableId::Main, &key, update, None).await?;
    }
    let (t, read, completed) = time_report(&db, &c.id).await?;
    ensure!(completed == 10 * done as u64, "report counts {completed}");
    println!(
        "bench: survey mcs report at {} responses ({n_items} aggregate items), median of 5 | {:.2} ms (reading the aggregates {:.2} ms) | none | {COMMAND}",
        completed,
        t.as_secs_f64() * 1000.0,
        read.as_secs_f64() * 1000.0
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --all-targets` runs this without `--bench`: a small smoke run of the same
    // code (its figures mean nothing in a debug build).
    let full = std::env::args().any(|a| a == "--bench");
    let (respondents, steps) = if full {
        (RESPONDENTS, vec![1_000, 10_000, 100_000])
    } else {
        (20, vec![100, 1_000])
    };
    let run = async {
        submissions(respondents).await?;
        report_scaling(&steps).await
    };
    if let Err(e) = run.await {
        println!("bench: survey FAILED: {e:#}");
        std::process::exit(1);
    }
}
