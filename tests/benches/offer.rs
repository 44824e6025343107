//! A person's first look at the M-DM page on the embedded backend, through the gateway's
//! route table: a campaign without a learning offer against one with three offered coupons
//! (the offer's counts read from the aggregator's counters, Thompson sampling, and the
//! transaction that keeps the pick with its `coupon_offered` event). The counts are cached for
//! the campaign cache's lifetime, as in a warm Lambda (30 s), or read at every first look with
//! the cache off. Each look is a new person's, so every one picks and keeps an offer.
//!
//! Prints `bench: <figure> | <value> | <goal: verdict> | <command>` lines for `make bench`.

use std::time::{Duration, Instant};

use mcamp_tests::bench::runtime;
use mcamp_tests::{Backend, IPHONE_SAFARI, call, recipients};

const COMMAND: &str = "cargo bench -p mcamp-tests --bench offer";
/// First looks timed per case.
const PEOPLE: usize = 1500;
/// The offer may add at most this to a first look's median.
const GOAL_EXTRA_MS: f64 = 1.0;

const PLAIN: &str = "id: bench-plain
name: 쿠폰 하나
sender: {brand: 테스트브랜드, opt_out_080: 080-000-0000}
share: {title: 테스트, description: 설명}
coupons:
  - {id: welcome, title: 웰컴 쿠폰, benefit: {kind: amount_off, won: 1000}, stock: 100000}
";

/// Median and 95th percentile of the first looks, in milliseconds.
async fn first_looks(offer: bool, cache: Duration) -> anyhow::Result<(f64, f64)> {
    let mut web = Backend::embedded().web();
    web.app = web.app.with_campaign_cache(cache);
    let campaign = if offer {
        mcamp_tests::offer_campaign("bench-offer")?
    } else {
        mcamp_ops::campaign_file::parse("bench.yaml", PLAIN)?
    };
    web.app.db.push_campaign(&campaign, web.app.now()).await?;
    let people = recipients(&web.app.db, &campaign, PEOPLE).await?;
    let mut took = Vec::with_capacity(PEOPLE);
    for p in &people {
        let start = Instant::now();
        let resp = call(
            &web,
            "GET",
            &format!("/p/{}", p.code),
            &[("user-agent", IPHONE_SAFARI)],
            "",
        )
        .await?;
        took.push(start.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(resp.status() == 200, "a page, got {}", resp.status());
    }
    if !campaign.offered_coupons().is_empty() {
        let kept = web.app.db.recipient(&people[0].id).await?.and_then(|r| r.offer);
        anyhow::ensure!(kept.is_some(), "the first look keeps an offer");
    }
    took.sort_by(f64::total_cmp);
    Ok((took[PEOPLE / 2], took[PEOPLE * 95 / 100]))
}

fn main() {
    let rt = runtime("offer");
    let mut lines = Vec::new();
    let mut plain_median = f64::NAN;
    let cases = [
        ("no offer, campaign cache on", false, Duration::from_secs(30)),
        (
            "3-coupon offer, counts cached 30 s (warm Lambda)",
            true,
            Duration::from_secs(30),
        ),
        ("3-coupon offer, counts read every first look", true, Duration::ZERO),
    ];
    for (label, offer, cache) in cases {
        match rt.block_on(first_looks(offer, cache)) {
            Ok((median, p95)) => {
                if !offer {
                    plain_median = median;
                }
                let extra = median - plain_median;
                let verdict = if !offer {
                    "baseline".to_owned()
                } else if extra <= GOAL_EXTRA_MS {
                    format!("+{extra:.2} ms over no offer <= {GOAL_EXTRA_MS} ms: ok")
                } else {
                    format!("+{extra:.2} ms over no offer > {GOAL_EXTRA_MS} ms: MISSED")
                };
                lines.push(format!(
                    "bench: first page view, {label} | median {median:.2} ms, p95 {p95:.2} ms | {verdict} | {COMMAND}"
                ));
            }
            Err(e) => {
                println!("bench: offer FAILED: {e:#}");
                std::process::exit(1);
            }
        }
    }
    for l in lines {
        println!("{l}");
    }
}
