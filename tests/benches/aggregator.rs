//! The aggregator (issue 16): stream records per second it applies on the embedded backend,
//! the time `mcamp report` takes, and the console dashboard's server time and gzip size (issue
//! 17), for a campaign of 10^3, 10^5 and 10^7 events, each
//! campaign built through the aggregator's own code path (`Db::aggregate`, batches of 100 as
//! the stream's event source delivers them, four shards at once), never by writing counters.
//!
//! The events are a campaign's life over 7 days: per person a send, a delivery, clicks from
//! several in-app browsers, page views, and for some a form, a claim, an issue, a redemption
//! at one of 20 stores, a share; one person in ten arrives through another's share. Each
//! store is a temporary embedded database (`synchronous=OFF`).
//!
//! A throughput run, not a criterion bench: prints `bench: <figure> | <value> | <goal> |
//! <command>` lines. `cargo test` runs a small smoke version (10^3 and 10^4).

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use mcamp_core::client::{ClientInfo, InApp};
use mcamp_core::events::{Event, EventData, MessageChannel, ShareChannel};
use mcamp_core::values::{CampaignId, CouponCode, CouponId, RecipientId, ShortCode, StoreId};
use mcamp_store::aggregate::Record;
use mcamp_tests::{Backend, campaign_with_coupon};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const COMMAND: &str = "cargo bench -p mcamp-tests --bench aggregator";
/// Records in one invocation (the template's `BatchSize`).
const BATCH: usize = 100;
/// Stream shards applied at once.
const SHARDS: usize = 4;
/// Reports timed per size; the median is the figure.
const REPORT_RUNS: usize = 15;

fn client(rng: &mut StdRng) -> ClientInfo {
    let in_app = match rng.gen_range(0..10) {
        0..=5 => Some(InApp::Kakaotalk),
        6 => Some(InApp::Naver),
        7 => Some(InApp::Band),
        _ => None,
    };
    mcamp_tests::android_phone(in_app)
}

/// A campaign's events, whole people's journeys at a time, made in chunks so that 10^7 events
/// never sit in memory at once.
struct Story {
    rng: StdRng,
    campaign: CampaignId,
    start: DateTime<Utc>,
    code: ShortCode,
    coupon: CouponId,
    coupon_code: CouponCode,
    stores: Vec<StoreId>,
    people: Vec<RecipientId>,
    clicks: i64,
}

impl Story {
    fn new(campaign: &CampaignId, seed: u64) -> anyhow::Result<Story> {
        Ok(Story {
            rng: StdRng::seed_from_u64(seed),
            campaign: campaign.clone(),
            start: DateTime::parse_from_rfc3339("2026-11-23T09:00:00+09:00")?.with_timezone(&Utc),
            code: ShortCode::parse("aZ3kP9qLm2")?,
            coupon: CouponId::parse("welcome")?,
            coupon_code: CouponCode::parse("7KQ3M9XH2TRA")?,
            stores: (0..20)
                .map(|i| StoreId::parse(&format!("store-{i:02}")))
                .collect::<Result<_, _>>()?,
            people: Vec::new(),
            clicks: 0,
        })
    }

    /// At least `n` more events.
    fn chunk(&mut self, n: usize) -> Vec<Record> {
        let mut out = Vec::with_capacity(n + 16);
        while out.len() < n {
            self.person(&mut out);
        }
        out
    }

    fn person(&mut self, out: &mut Vec<Record>) {
        let rng = &mut self.rng;
        let person = RecipientId::generate();
        let referrer = (!self.people.is_empty() && rng.gen_bool(0.1))
            .then(|| self.people[rng.gen_range(0..self.people.len())].clone());
        self.people.push(person.clone());
        let mut at = self.start + chrono::Duration::seconds(rng.gen_range(0..7 * 24 * 3600));
        let campaign = &self.campaign;
        let mut push = |data: EventData, step: i64, out: &mut Vec<Record>| {
            at += chrono::Duration::seconds(step);
            let mut e = Event::new(campaign.clone(), at, data);
            e.recipient_id = Some(person.clone());
            e.referrer_id = referrer.clone();
            e.chain_head = referrer.clone().or_else(|| Some(person.clone()));
            out.push(Record::Event(Box::new(e)));
        };
        if referrer.is_none() {
            let (channel, sender) = (MessageChannel::Lms, "nhn".to_owned());
            push(
                EventData::MessageSent {
                    channel,
                    sender: sender.clone(),
                    message_id: None,
                },
                0,
                out,
            );
            push(
                EventData::MessageDelivered {
                    channel,
                    sender,
                    message_id: None,
                },
                5,
                out,
            );
        }
        if !rng.gen_bool(0.6) {
            return;
        }
        for i in 0..rng.gen_range(1..3) {
            self.clicks += 1;
            let c = client(rng);
            push(
                EventData::Click {
                    code: self.code.clone(),
                    client: c,
                    first: i == 0,
                },
                600,
                out,
            );
            push(EventData::PageView { page: "mdm".into() }, 2, out);
        }
        if rng.gen_bool(0.3) {
            push(
                EventData::Interaction {
                    action: "cta_tap".into(),
                    target: None,
                },
                20,
                out,
            );
        }
        if rng.gen_bool(0.2) {
            push(
                EventData::ShareIntent {
                    channel: ShareChannel::Kakao,
                    share_code: self.code.clone(),
                },
                10,
                out,
            );
        }
        if rng.gen_bool(0.3) {
            let claim = mcamp_core::values::random_base62(20);
            push(
                EventData::CouponClaimed {
                    coupon_id: self.coupon.clone(),
                    claim_id: claim.clone(),
                },
                30,
                out,
            );
            push(
                EventData::CouponIssued {
                    coupon_id: self.coupon.clone(),
                    claim_id: claim,
                    code: self.coupon_code.clone(),
                },
                1,
                out,
            );
            if rng.gen_bool(0.5) {
                let store = self.stores[rng.gen_range(0..self.stores.len())].clone();
                push(
                    EventData::CouponRedeemed {
                        coupon_id: self.coupon.clone(),
                        code: self.coupon_code.clone(),
                        store_id: store,
                    },
                    86_400,
                    out,
                );
            }
        }
    }
}

/// Applies `records` as the event source would: batches of `BATCH`, `SHARDS` at once.
async fn apply(backend: &Backend, records: &[Record]) -> anyhow::Result<Duration> {
    let app = backend.app();
    let start = Instant::now();
    stream::iter(records.chunks(BATCH))
        .map(|batch| {
            let app = &app;
            async move { app.db.aggregate(batch, app.now()).await.context("aggregate") }
        })
        .buffer_unordered(SHARDS)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(start.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

async fn report_time(backend: &Backend, campaign: &CampaignId) -> anyhow::Result<(Duration, i64, usize, Duration)> {
    let db = backend.app().db;
    let mut times = Vec::with_capacity(REPORT_RUNS);
    let mut reads = Vec::with_capacity(REPORT_RUNS);
    let mut clicks = 0;
    let mut scopes = 0;
    for _ in 0..REPORT_RUNS {
        let start = Instant::now();
        let r = mcamp_ops::campaign_report::campaign_report(&db, campaign).await?;
        times.push(start.elapsed());
        clicks = r.clicks;
        let start = Instant::now();
        let (c, _) = db.campaign_counters(campaign).await?;
        reads.push(start.elapsed());
        scopes = c.0.len();
    }
    Ok((median(times), clicks, scopes, median(reads)))
}

/// The console's dashboard of the campaign as an admin opens it: server time (median of
/// `REPORT_RUNS`, through the gateway's dispatch, so the session and role checks count) and the
/// page's gzip size.
async fn dashboard_time(backend: &Backend, campaign: &CampaignId) -> anyhow::Result<(Duration, usize)> {
    use mcamp_core::users::{Email, Password, Role, User};
    let keys = mcamp_http::session::SessionKeys::parse("a-bench-console-key-of-at-least-32-chars")?;
    let web = mcamp_http::Web::new(
        backend.app(),
        mcamp_http::Site::local(
            "http://127.0.0.1:3000",
            mcamp_tests::TEST_SECRET,
            mcamp_tests::phone_key(),
        )
        .with_console_keys(keys),
    );
    let now = Utc::now();
    let password = "a-bench-password-long-enough";
    let user = User {
        email: Email::parse("bench@brand.kr")?,
        role: Role::Admin,
        campaigns: Vec::new(),
        password_hash: Password::parse(password)?.hash()?,
        created_at: now,
        password_set_at: now,
        disabled_at: None,
    };
    web.app.db.add_user(&user).await?;
    let form = ("content-type", "application/x-www-form-urlencoded");
    let resp = mcamp_tests::call(
        &web,
        "POST",
        "/console/sign-in",
        &[form],
        &format!("email=bench@brand.kr&password={password}"),
    )
    .await?;
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("signed in")?
        .to_owned();
    let path = format!("/console/campaigns/{campaign}");
    let mut times = Vec::with_capacity(REPORT_RUNS);
    let mut gzipped = 0;
    for _ in 0..REPORT_RUNS {
        let start = Instant::now();
        let resp = mcamp_tests::call(&web, "GET", &path, &[("cookie", &cookie)], "").await?;
        times.push(start.elapsed());
        ensure!(resp.status() == 200, "dashboard: {}", resp.status());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, mcamp_tests::text(&resp).as_bytes())?;
        gzipped = gz.finish()?.len();
    }
    Ok((median(times), gzipped))
}

async fn run(sizes: &[usize]) -> anyhow::Result<()> {
    let mut report_times = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let backend = Backend::embedded();
        let campaign = campaign_with_coupon("bench-report", 1_000_000)?;
        backend.app().db.push_campaign(&campaign, Utc::now()).await?;
        let mut story = Story::new(&campaign.id, i as u64)?;
        let (mut applied, mut took) = (0usize, Duration::ZERO);
        while applied < n {
            let chunk = story.chunk((n - applied).min(100_000));
            took += apply(&backend, &chunk).await?;
            applied += chunk.len();
        }
        println!(
            "bench: aggregator records/s, embedded, {applied} events ({SHARDS} batches of {BATCH} at once) | {:.0} records/s ({:.1} s) | none | {COMMAND}",
            applied as f64 / took.as_secs_f64(),
            took.as_secs_f64()
        );
        let (t, clicks, scopes, read) = report_time(&backend, &campaign.id).await?;
        ensure!(
            clicks == story.clicks,
            "the report counts {clicks} clicks of {}",
            story.clicks
        );
        report_times.push((applied, t, scopes, read));
        let (took, gzipped) = dashboard_time(&backend, &campaign.id).await?;
        let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
        println!(
            "bench: console dashboard server time, {applied} events (admin, embedded, median of {REPORT_RUNS}) | {:.2} ms | <= 100 ms: {} | {COMMAND}",
            took.as_secs_f64() * 1e3,
            verdict(took <= Duration::from_millis(100))
        );
        println!(
            "bench: console dashboard first response, {applied} events (gzip) | {:.1} KB | <= 30 KB: {} | {COMMAND}",
            gzipped as f64 / 1024.0,
            verdict(gzipped <= 30 * 1024)
        );
    }
    // Flat means: the report reads counters, so its work does not grow with the events. The
    // number of counter scopes it reads is bounded by the campaign's days and hours (a sparse
    // small campaign has fewer); the time also follows the embedded file's size.
    let fastest = report_times.iter().map(|(_, t, ..)| *t).min().unwrap_or_default();
    for (n, t, scopes, read) in &report_times {
        let ratio = t.as_secs_f64() / fastest.as_secs_f64().max(1e-9);
        let verdict = if ratio <= 2.0 {
            "ok".to_owned()
        } else {
            format!(
                "MISSED ({ratio:.1}x the smallest: {scopes} counter scopes read against the smallest campaign's fewer, in a larger SQLite file)"
            )
        };
        println!(
            "bench: report time, {n} events (campaign_report, embedded, median of {REPORT_RUNS}; {scopes} counter scopes x 8 shards read in {:.2} ms) | {:.2} ms | flat (<= 2x the smallest): {verdict} | {COMMAND}",
            read.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e3
        );
    }
    Ok(())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full {
        &[1_000, 100_000, 10_000_000]
    } else {
        &[1_000, 10_000]
    };
    // Other sizes for a look (`AGGREGATOR_BENCH_SIZES=100000,1000000`).
    let sizes: Vec<usize> = match std::env::var("AGGREGATOR_BENCH_SIZES") {
        Ok(v) => v.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        Err(_) => sizes.to_vec(),
    };
    let sizes = &sizes[..];
    // Several shards' batches in flight need threads: the embedded store commits on its
    // callers' threads.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("bench: aggregator FAILED: no runtime: {e} | – | – | {COMMAND}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(sizes)) {
        println!("bench: aggregator FAILED: {e:#} | – | – | {COMMAND}");
        std::process::exit(1);
    }
}
