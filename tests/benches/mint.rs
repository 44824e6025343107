//! Minting rate: `ShortCode::generate()` alone, and `Db::add_recipient` on the embedded
//! backend (an SQLite database in a temporary directory, `synchronous=OFF`; one transaction of
//! three items: phone key, link, profile).
//!
//! Besides criterion's report, prints `bench: <figure> | <value> | <goal> | <command>` lines
//! (codes/s, recipients/s, items/s) that `make bench` gathers into bench-out/summary.txt.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcamp_core::recipient::NewRecipient;
use mcamp_core::values::{PhoneNumber, ShortCode};
use mcamp_store::recipients::Added;
use mcamp_tests::bench::{Samples, runtime};
use mcamp_tests::{Backend, campaign_with_coupon};

/// Items one `add_recipient` writes: the phone key, the link and the profile.
const ITEMS_PER_RECIPIENT: u64 = 3;
/// The command that prints these figures (the table's last column).
const COMMAND: &str = "cargo bench -p mcamp-tests --bench mint";

fn bench_generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("mint");
    group.throughput(Throughput::Elements(1));
    let samples = Samples::default();
    let rec = samples.clone();
    group.bench_function("ShortCode::generate", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(ShortCode::generate());
            }
            let took = start.elapsed();
            rec.record(iters, took);
            took
        });
    });
    group.finish();
    let secs = samples.per_iter_secs();
    println!(
        "bench: mint ShortCode::generate | {:.0} ns/code = {:.2} M codes/s | none | {COMMAND}",
        secs * 1e9,
        1.0 / secs / 1e6
    );
}

fn bench_add_recipient(c: &mut Criterion) {
    let rt = runtime("mint");
    let app = Backend::embedded().app();
    let phone_key = &mcamp_tests::phone_key();
    let campaign = match campaign_with_coupon("bench-mint", 100) {
        Ok(c) => c,
        Err(e) => {
            println!("bench: mint FAILED: campaign: {e:#}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(app.db.push_campaign(&campaign, app.now())) {
        println!("bench: mint FAILED: pushing the campaign: {e}");
        std::process::exit(1);
    }
    let mut group = c.benchmark_group("mint");
    group.throughput(Throughput::Elements(1));
    let samples = Samples::default();
    let (rec, app, campaign) = (samples.clone(), &app, &campaign);
    // Every add is a new phone number; the store grows as the bench runs, as an import does.
    let mut next: u64 = 0;
    let failed = Rc::new(Cell::new(0u64));
    group.bench_function("Db::add_recipient (embedded)", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let first = next;
            next += iters;
            let (rec, failed) = (rec.clone(), failed.clone());
            let now = app.now();
            async move {
                let mut dups = 0u64;
                let start = Instant::now();
                for i in first..first + iters {
                    let new = NewRecipient {
                        name: Some("고객".to_owned()),
                        phone: PhoneNumber::parse(&format!("010{:08}", i % 90_000_000 + 10_000_000)).ok(),
                        ..NewRecipient::default()
                    };
                    let key = new
                        .phone
                        .as_ref()
                        .map(|p| phone_key.customer_key(&mcamp_core::values::BrandId::default(), p));
                    match app.db.add_recipient(campaign, new, key, now).await {
                        Ok(Added::Created(r)) => {
                            black_box(r);
                        }
                        _ => dups += 1,
                    }
                }
                let took = start.elapsed();
                rec.record(iters, took);
                failed.set(failed.get() + dups);
                took
            }
        });
    });
    group.finish();
    let duplicates = failed.get();
    let secs = samples.per_iter_secs();
    println!(
        "bench: mint Db::add_recipient (embedded SQLite store) | {:.2} µs/recipient = {:.0} recipients/s (codes/s) = {:.0} items/s | none | {COMMAND}",
        secs * 1e6,
        1.0 / secs,
        ITEMS_PER_RECIPIENT as f64 / secs
    );
    if duplicates > 0 {
        println!(
            "bench: mint Db::add_recipient: adds not created | {duplicates} (duplicate or error) | 0: MISSED (the figure above counts them) | {COMMAND}"
        );
    }
}

criterion_group!(benches, bench_generate, bench_add_recipient);
criterion_main!(benches);
