//! Coupon jobs per second through the issuer, on the embedded backend (an SQLite database in a
//! temporary directory, `synchronous=OFF`) and against moto (DynamoDB/SQS over the wire on
//! 127.0.0.1, started by the harness).
//!
//! For each backend: a campaign with a stock of 100 000, N recipients who each claim the
//! coupon (one job each, untimed), then the queue is drained with
//! `mcamp_coupon_issuer::consume` (one consumer, up to 10 jobs a receive) until it comes back
//! empty twice. The figure is jobs / time until the last non-empty receive was processed, so
//! the two closing empty long polls (100 ms each) are not counted.
//!
//! A throughput run, not a criterion bench: prints
//! `bench: issuer <backend> | X jobs/s (…) | none | <command>` per backend.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures::stream::{self, StreamExt, TryStreamExt};
use mcamp_core::values::CouponId;
use mcamp_coupon_issuer::consume;
use mcamp_store::claims;
use mcamp_store::ports::QueueId;
use mcamp_tests::{Backend, campaign_with_coupon, recipients};

const STOCK: u32 = 100_000;
const EMBEDDED_N: usize = 2000;
const MOTO_N: usize = 200;
/// The command that prints these figures (the table's last column).
const COMMAND: &str = "cargo bench -p mcamp-tests --bench issuer";

struct Run {
    jobs: usize,
    drain: Duration,
    idle_tail: Duration,
    receives: usize,
}

async fn run(backend: Backend, n: usize) -> anyhow::Result<Run> {
    let app = backend.app();
    let campaign = campaign_with_coupon("bench-issuer", STOCK)?;
    app.db.push_campaign(&campaign, app.now()).await?;
    let people = recipients(&app.db, &campaign, n).await?;
    let coupon = CouponId::parse("welcome")?;
    stream::iter(people.iter())
        .map(|r| {
            let (app, campaign, coupon) = (&app, &campaign, &coupon);
            async move { claims::claim(&app.db, app.queue.as_ref(), campaign, r, None, coupon, app.now()).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .context("claiming")?;

    let start = Instant::now();
    let mut last_work = start;
    let (mut jobs, mut receives, mut idle) = (0usize, 0usize, 0);
    while idle < 2 {
        let got = consume(&app, Duration::from_millis(100), Duration::ZERO).await;
        if got == 0 {
            idle += 1;
        } else {
            idle = 0;
            jobs += got;
            receives += 1;
            last_work = Instant::now();
        }
    }
    let end = Instant::now();

    let issued = app.db.issued_coupons(&campaign.id, &coupon).await?.len();
    ensure!(issued == n, "{}: {issued} coupons issued for {n} claims", backend.name);
    let dead = app.queue.depth(QueueId::CouponIssueDlq).await?;
    ensure!(dead == 0, "{}: {dead} jobs dead-lettered", backend.name);
    Ok(Run {
        jobs,
        drain: last_work - start,
        idle_tail: end - last_work,
        receives,
    })
}

fn report(name: &str, n: usize, r: &Run) {
    let secs = r.drain.as_secs_f64();
    println!(
        "bench: issuer {name}, one consumer | {:.0} jobs/s ({} jobs for {n} claims in {:.1} ms, {} receives, {:.2} ms/job; \
         closing idle polls {:.0} ms not counted) | none | {COMMAND}",
        r.jobs as f64 / secs,
        r.jobs,
        secs * 1e3,
        r.receives,
        secs * 1e3 / r.jobs.max(1) as f64,
        r.idle_tail.as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo bench` passes `--bench` (and any filter); this run takes no arguments.
    let rt = mcamp_tests::bench::runtime("issuer");
    let mut failed = false;
    // `cargo test --all-targets` runs this without `--bench`: a small smoke run, no figures.
    let full = std::env::args().any(|a| a == "--bench");
    let (embedded_n, moto_n) = if full { (EMBEDDED_N, MOTO_N) } else { (20, 5) };

    match rt.block_on(run(Backend::embedded(), embedded_n)) {
        Ok(r) => report("embedded", embedded_n, &r),
        Err(e) => {
            println!("bench: issuer embedded FAILED: {e:#}");
            failed = true;
        }
    }

    let moto = rt.block_on(async {
        let backend = Backend::moto()
            .await
            .context("starting moto (make venv, or MOTO_PYTHON)")?;
        run(backend, moto_n).await
    });
    match moto {
        Ok(r) => report("moto", moto_n, &r),
        Err(e) => {
            println!("bench: issuer moto FAILED: {e:#}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
