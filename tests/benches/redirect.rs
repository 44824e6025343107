//! Handler CPU per redirect on the embedded backend (in memory, so no I/O is timed): a human
//! click (counter update + click event + 302) and a preview crawler's card (link read + preview
//! event + Open Graph HTML), through the gateway's route table as the harness calls it; then
//! `ua::classify`, `ShortCode::parse` and `random_base62(20)` (the event id every redirect
//! mints) alone. Target: <= 20 µs per redirect.
//!
//! Besides criterion's own report, each bench prints one `bench:` line with its estimate, which
//! `make bench` collects into bench-out/summary.txt.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mcamp_core::values::{ShortCode, random_base62};
use mcamp_http::{Web, ua};
use mcamp_tests::bench::{Samples, runtime};
use mcamp_tests::{Backend, KAKAO_SCRAPER, KAKAOTALK_ANDROID, call, campaign_with_coupon, recipients};

/// The redirect's target (from the issue).
const TARGET_US: f64 = 20.0;
/// Recipients the clicks rotate over, so no single link is the only hot key.
const PEOPLE: usize = 1000;

/// An app over a fresh in-memory embedded store with one live campaign and its recipients'
/// codes. `cache` is the campaign cache: the harness turns it off (every click reads the
/// campaign), a warm Lambda keeps it (MCAMP_CAMPAIGN_CACHE_SECS, 30 s by default).
async fn setup(cache: Duration) -> anyhow::Result<(Web, Vec<String>)> {
    let mut web = Backend::embedded().web();
    web.app = web.app.with_campaign_cache(cache);
    let app = &web.app;
    let campaign = campaign_with_coupon("bench-redirect", 100_000)?;
    app.db.push_campaign(&campaign, app.now()).await?;
    let people = recipients(&app.db, &campaign.id, PEOPLE).await?;
    let paths = people.iter().map(|r| format!("/{}", r.code)).collect();
    // Check once that the paths do what is timed.
    let click = call(
        &web,
        "GET",
        &format!("/{}", people[0].code),
        &[("user-agent", KAKAOTALK_ANDROID)],
        "",
    )
    .await?;
    anyhow::ensure!(click.status() == 302, "a click is a 302, got {}", click.status());
    let preview = call(
        &web,
        "GET",
        &format!("/{}", people[0].code),
        &[("user-agent", KAKAO_SCRAPER)],
        "",
    )
    .await?;
    anyhow::ensure!(preview.status() == 200, "a preview is a 200, got {}", preview.status());
    Ok((web, paths))
}

fn verdict(us: f64) -> &'static str {
    if us <= TARGET_US { "ok" } else { "MISSED" }
}

fn bench_redirect(c: &mut Criterion) {
    let rt = runtime("redirect");
    let mut figures = Vec::new();
    for (label, cache) in [
        ("harness app, campaign cache off", Duration::ZERO),
        ("campaign cache on, as a warm Lambda", Duration::from_secs(30)),
    ] {
        let (app, paths) = match rt.block_on(setup(cache)) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("bench: redirect setup failed: {e:#}");
                std::process::exit(1);
            }
        };
        let suffix = if cache.is_zero() { "" } else { "-cached" };
        let mut group = c.benchmark_group("redirect");
        for (name, ua) in [("click", KAKAOTALK_ANDROID), ("preview", KAKAO_SCRAPER)] {
            let samples = Samples::default();
            let (app, paths, rec) = (&app, &paths, samples.clone());
            let mut next = 0usize;
            group.bench_function(format!("{name}{suffix}"), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let start_at = next;
                    next = next.wrapping_add(iters as usize);
                    let rec = rec.clone();
                    async move {
                        let start = Instant::now();
                        for i in 0..iters as usize {
                            let path = &paths[(start_at + i) % paths.len()];
                            let resp = call(app, "GET", path, &[("user-agent", ua)], "").await;
                            black_box(resp.map(|r| r.status()).ok());
                        }
                        let took = start.elapsed();
                        rec.record(iters, took);
                        took
                    }
                });
            });
            figures.push((format!("{name} ({label})"), samples.per_iter_secs() * 1e6));
        }
        group.finish();
    }
    for (name, us) in figures {
        println!(
            "bench: redirect {name}: {us:.2} µs/op [target <= {TARGET_US} µs: {}]",
            verdict(us)
        );
    }
}

fn bench_parts(c: &mut Criterion) {
    let uas = [
        ("kakaotalk-android", KAKAOTALK_ANDROID),
        ("kakao-scraper", KAKAO_SCRAPER),
        ("iphone-safari", mcamp_tests::IPHONE_SAFARI),
    ];
    let mut group = c.benchmark_group("parts");
    let mut figures = Vec::new();
    for (name, ua_string) in uas {
        let samples = Samples::default();
        let rec = samples.clone();
        group.bench_function(format!("classify/{name}"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(ua::classify(false, black_box(Some(ua_string))));
                }
                let took = start.elapsed();
                rec.record(iters, took);
                took
            });
        });
        figures.push((format!("ua::classify {name}"), samples.per_iter_secs() * 1e9));
    }
    let samples = Samples::default();
    let rec = samples.clone();
    group.bench_function("ShortCode::parse", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let _ = black_box(ShortCode::parse(black_box("aZ3kQ9xP0m")));
            }
            let took = start.elapsed();
            rec.record(iters, took);
            took
        });
    });
    figures.push(("ShortCode::parse".to_owned(), samples.per_iter_secs() * 1e9));
    // Every click and preview event mints its event id this way (OsRng: a getrandom call per
    // character), so it is part of each redirect's CPU.
    let samples = Samples::default();
    let rec = samples.clone();
    group.bench_function("random_base62(20) (event id)", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(random_base62(black_box(20)));
            }
            let took = start.elapsed();
            rec.record(iters, took);
            took
        });
    });
    figures.push((
        "random_base62(20), an event id".to_owned(),
        samples.per_iter_secs() * 1e9,
    ));
    group.finish();
    for (name, ns) in figures {
        println!("bench: {name}: {ns:.1} ns/op");
    }
}

criterion_group!(benches, bench_redirect, bench_parts);
criterion_main!(benches);
