//! The one test harness: backends to run a suite on (embedded, and DynamoDB/SQS over the
//! wire against a moto server it starts on 127.0.0.1), isolated per test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mcamp_app::App;
use mcamp_aws::{Aws, Names};
use mcamp_embedded::Embedded;
use mcamp_http::{Site, Web};
use mcamp_store::ports::{
    ChangeFeed, Cond, Item, JobQueue, Key, Page, Query, StoreResult, Table, TableId, TxWrite, Update,
};

pub mod faults;
pub mod metered;
pub use faults::{Faults, FaultyTable, FlakyQueue, Recorder, RecordingQueue, RecordingTable};

/// One backend under test: the ports, and what it is.
#[derive(Clone)]
pub struct Backend {
    pub name: &'static str,
    pub table: Arc<dyn Table>,
    pub queue: Arc<dyn JobQueue>,
    /// The events table's change stream, read in process.
    pub feed: Arc<dyn ChangeFeed>,
}

impl Backend {
    pub fn embedded() -> Self {
        #[allow(clippy::panic, reason = "the harness: no test can run without a temporary directory")]
        let e = Arc::new(Embedded::temporary().unwrap_or_else(|e| panic!("a temporary embedded store: {e}")));
        Backend {
            name: "embedded",
            table: e.clone(),
            queue: e.clone(),
            feed: e,
        }
    }

    /// Fresh tables and queues (unique names) on the shared moto server.
    pub async fn moto() -> anyhow::Result<Self> {
        let aws = Arc::new(moto_aws().await?);
        Ok(Backend {
            name: "dynamodb",
            table: aws.clone(),
            queue: aws.clone(),
            feed: aws,
        })
    }
}

/// An `Aws` with fresh, uniquely named tables and queues on the shared moto server.
pub async fn moto_aws() -> anyhow::Result<Aws> {
    let endpoint = moto_endpoint()?;
    let prefix = format!("t{}", mcamp_core::values::random_base62(10).to_lowercase());
    let config = mcamp_aws::sdk_config(Some(&endpoint)).await;
    let mut aws = Aws::new(&config, Names::prefixed(&prefix));
    mcamp_aws::create_tables(&aws).await?;
    mcamp_aws::create_queues(&mut aws, &prefix).await?;
    Ok(aws)
}

static MOTO: OnceLock<Result<String, String>> = OnceLock::new();

/// The URL of the moto server for this test binary, started on first use.
pub fn moto_endpoint() -> anyhow::Result<String> {
    // A server someone already runs (for profiling moto, say).
    if let Ok(url) = std::env::var("MOTO_ENDPOINT") {
        return Ok(url);
    }
    MOTO.get_or_init(start_moto).clone().map_err(anyhow::Error::msg)
}

/// The Python with moto installed: `MOTO_PYTHON`, else the project venv's.
fn moto_python() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("MOTO_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    if venv.exists() {
        return Ok(venv);
    }
    Err("no Python with moto: run `make venv` (or set MOTO_PYTHON)".into())
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Starts moto (tests/moto_serial.py) under a watchdog shell that kills it when this test process exits, since a
/// static's destructor never runs.
fn start_moto() -> Result<String, String> {
    let python = moto_python()?;
    let server = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto_serial.py");
    let port = free_port()?;
    let script = format!(
        "'{}' '{}' 127.0.0.1 {port} >/dev/null 2>&1 & M=$!; while kill -0 {} 2>/dev/null; do sleep 1; done; kill $M",
        python.display(),
        server.display(),
        std::process::id()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting moto: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("moto did not listen on 127.0.0.1:{port} within 30 s"))
}

/// Runs a contract test on both backends: `contract!(name, |backend| async { … })` makes
/// `name::embedded` and `name::dynamodb`. The embedded twin runs under paused tokio time: its
/// queue keeps time with tokio's clock, so a visibility timeout or an idle receive passes at
/// once instead of in real seconds (moto keeps real time).
#[macro_export]
macro_rules! contract {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "current_thread", start_paused = true)]
            async fn embedded() -> anyhow::Result<()> {
                $body($crate::Backend::embedded()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn dynamodb() -> anyhow::Result<()> {
                $body($crate::Backend::moto().await?).await
            }
        }
    };
}

/// The secret the test sites sign form tokens with.
pub const TEST_SECRET: &str = "test-secret-0123456789abcdef";

/// The phone key the test sites and fixtures hash phones with.
pub fn phone_key() -> mcamp_core::customer::PhoneKey {
    mcamp_core::customer::PhoneKey::parse("test-phone-key-0123456789abcdef-0123")
        .unwrap_or_else(|e| unreachable!("a 32+ character key: {e}"))
}

impl Backend {
    /// The application over this backend, as the functions and the gateway build it, reading
    /// campaigns afresh every time.
    pub fn app(&self) -> App {
        App::new(self.table.clone(), self.queue.clone()).with_campaign_cache(Duration::ZERO)
    }

    /// The application with the web edge's settings, as the HTTP functions run.
    pub fn web(&self) -> Web {
        Web::new(
            self.app(),
            Site::local("http://127.0.0.1:3000", TEST_SECRET, phone_key()),
        )
    }
}

/// A `Table` that counts every call made through it (reads included), for tests that assert
/// storage was never touched.
pub struct CountingTable {
    inner: Arc<dyn Table>,
    calls: std::sync::atomic::AtomicUsize,
}

impl CountingTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        CountingTable {
            inner,
            calls: std::sync::atomic::AtomicUsize::new(0),
        }
    }
    pub fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn count(&self) {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Table for CountingTable {
    async fn get(&self, table: TableId, key: &Key) -> StoreResult<Option<Item>> {
        self.count();
        self.inner.get(table, key).await
    }
    async fn get_many(&self, table: TableId, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.count();
        self.inner.get_many(table, keys).await
    }
    async fn put(&self, table: TableId, item: Item, cond: Option<Cond>) -> StoreResult<()> {
        self.count();
        self.inner.put(table, item, cond).await
    }
    async fn update(&self, table: TableId, key: &Key, update: Update, cond: Option<Cond>) -> StoreResult<Item> {
        self.count();
        self.inner.update(table, key, update, cond).await
    }
    async fn delete(&self, table: TableId, key: &Key, cond: Option<Cond>) -> StoreResult<()> {
        self.count();
        self.inner.delete(table, key, cond).await
    }
    async fn transact(&self, writes: Vec<TxWrite>) -> StoreResult<()> {
        self.count();
        self.inner.transact(writes).await
    }
    async fn query(&self, query: &Query) -> StoreResult<Page> {
        self.count();
        self.inner.query(query).await
    }
    async fn put_many(&self, table: TableId, items: Vec<Item>) -> StoreResult<()> {
        self.count();
        self.inner.put_many(table, items).await
    }
}

/// A clock a test moves forward (`advance`), for the App.
#[derive(Clone)]
pub struct TestClock(Arc<std::sync::atomic::AtomicI64>);

impl TestClock {
    pub fn new() -> Self {
        TestClock(Arc::new(std::sync::atomic::AtomicI64::new(
            chrono::Utc::now().timestamp_millis(),
        )))
    }
    pub fn advance(&self, by: chrono::Duration) {
        self.0
            .fetch_add(by.num_milliseconds(), std::sync::atomic::Ordering::SeqCst);
    }
    pub fn clock(&self) -> mcamp_app::Clock {
        let at = self.0.clone();
        Arc::new(move || {
            chrono::DateTime::from_timestamp_millis(at.load(std::sync::atomic::Ordering::SeqCst)).unwrap_or_default()
        })
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

/// A minimal live M-DM campaign with one coupon of `stock`, open to everyone.
pub fn campaign_with_coupon(id: &str, stock: u32) -> anyhow::Result<mcamp_core::campaign::Campaign> {
    let yaml = format!(
        "id: {id}\nname: 테스트 캠페인\nsender: {{brand: 테스트브랜드, opt_out_080: 080-000-0000}}\n\
         share: {{title: 테스트, description: 설명}}\n\
         coupons:\n  - id: welcome\n    title: 웰컴 쿠폰\n    benefit: {{kind: amount_off, won: 3000}}\n    stock: {stock}\n"
    );
    Ok(mcamp_ops::campaign_file::parse("test.yaml", &yaml)?)
}

/// A live M-DM campaign whose three coupons are a learning offer (`eligibility: offered`, a
/// 10 % holdout on the first): 천원 할인, 이십퍼센트 할인, 케이크 증정.
pub fn offer_campaign(id: &str) -> anyhow::Result<mcamp_core::campaign::Campaign> {
    let yaml = format!(
        "id: {id}\nname: 학습하는 쿠폰\nsender: {{brand: 테스트브랜드, opt_out_080: 080-000-0000}}\n\
         share: {{title: 테스트, description: 설명}}\noffer: {{holdout_percent: 10}}\ncoupons:\n\
         \x20 - {{id: amount-1000, title: 천원 할인, benefit: {{kind: amount_off, won: 1000}}, stock: 100000, eligibility: offered}}\n\
         \x20 - {{id: percent-20, title: 이십퍼센트 할인, benefit: {{kind: percent_off, percent: 20}}, stock: 100000, eligibility: offered}}\n\
         \x20 - {{id: free-cake, title: 케이크 증정, benefit: {{kind: gift, item: 케이크}}, stock: 100000, eligibility: offered}}\n"
    );
    Ok(mcamp_ops::campaign_file::parse("offer.yaml", &yaml)?)
}

/// `n` recipients of `campaign` with distinct phone numbers.
pub async fn recipients(
    db: &mcamp_store::Db,
    campaign: &mcamp_core::campaign::Campaign,
    n: usize,
) -> anyhow::Result<Vec<mcamp_core::recipient::Recipient>> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    use mcamp_core::recipient::NewRecipient;
    use mcamp_store::recipients::Added;
    let now = chrono::Utc::now();
    stream::iter(0..n)
        .map(|i| async move {
            let phone = mcamp_core::values::PhoneNumber::parse(&format!("010{:08}", 10_000_000 + i))?;
            let new = NewRecipient {
                name: Some(format!("고객{i}")),
                phone: Some(phone),
                ..NewRecipient::default()
            };
            let key = new
                .phone
                .as_ref()
                .map(|p| phone_key().customer_key(&mcamp_core::values::BrandId::default(), p));
            match db.add_recipient(campaign, new, key, now).await? {
                Added::Created(r) => Ok(*r),
                Added::Duplicate(_) => anyhow::bail!("duplicate phone in fixture"),
            }
        })
        .buffer_unordered(32)
        .try_collect()
        .await
}

/// The demo campaign (examples/demo) under another id.
pub fn demo_campaign(id: &str) -> anyhow::Result<mcamp_core::campaign::Campaign> {
    let mut c = mcamp_ops::campaign_file::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/campaign.yaml"),
    )?;
    c.id = mcamp_core::values::CampaignId::parse(id)?;
    Ok(c)
}

/// A send list as the CLI writes it (generic layout): the report, the ad rows and the notice
/// rows, each row as `phone, name, message, bytes, kind, reconfirm, recipient_id`.
pub async fn send_list(
    db: &mcamp_store::Db,
    campaign: &mcamp_core::values::CampaignId,
    send_at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(mcamp_ops::export::LinkExport, Vec<Vec<String>>, Vec<Vec<String>>)> {
    segment_send_list(db, campaign, send_at, None).await
}

/// `send_list`, of a segment's members only when `segment` is given.
pub async fn segment_send_list(
    db: &mcamp_store::Db,
    campaign: &mcamp_core::values::CampaignId,
    send_at: chrono::DateTime<chrono::Utc>,
    segment: Option<mcamp_core::values::SegmentId>,
) -> anyhow::Result<(mcamp_ops::export::LinkExport, Vec<Vec<String>>, Vec<Vec<String>>)> {
    use std::sync::Mutex;
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (ads, notices) = (Buf::default(), Buf::default());
    let opts = mcamp_ops::export::LinkExportOptions {
        base_url: "https://go.brand.kr".into(),
        send_at,
        allow_night: false,
        format: mcamp_ops::export::SendFormat::Generic,
        segment,
    };
    let (a, n) = (ads.clone(), notices.clone());
    let report = mcamp_ops::export::export_links(
        db,
        campaign,
        &opts,
        move |_| Ok(a.clone()),
        Some(move |_| Ok(n.clone())),
    )
    .await?;
    let rows = |buf: &Buf| -> anyhow::Result<Vec<Vec<String>>> {
        let bytes = buf.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
        let body = bytes.strip_prefix(mcamp_ops::export::BOM).unwrap_or(&bytes);
        csv::Reader::from_reader(body)
            .records()
            .map(|r| Ok(r?.iter().map(str::to_owned).collect()))
            .collect()
    };
    Ok((report, rows(&ads)?, rows(&notices)?))
}

/// Imports `csv` into `campaign` as the marketer's import does (customers, CRM consents).
pub async fn import_csv(
    db: &mcamp_store::Db,
    campaign: &mcamp_core::campaign::Campaign,
    csv: &str,
) -> anyhow::Result<mcamp_ops::import::ImportReport> {
    Ok(mcamp_ops::import::import_recipients(
        db,
        campaign,
        &phone_key(),
        std::io::Cursor::new(csv.as_bytes().to_vec()),
        chrono::Utc::now(),
        &|_| {},
    )
    .await?)
}

/// A request as API Gateway would hand it to a function, routed by the gateway's route table.
pub async fn call(
    web: &Web,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<lambda_http::Response<lambda_http::Body>> {
    request(web, None, method, uri, headers, body).await
}

/// `call` from the source address `ip` (as the local gateway's socket, or API Gateway, gives it).
pub async fn call_from(
    web: &Web,
    ip: &str,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<lambda_http::Response<lambda_http::Body>> {
    let peer = std::net::SocketAddr::new(ip.parse()?, 50_000);
    request(web, Some(peer), method, uri, headers, body).await
}

async fn request(
    web: &Web,
    peer: Option<std::net::SocketAddr>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<lambda_http::Response<lambda_http::Body>> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1:3000{uri}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let (mut parts, ()) = b.body(())?.into_parts();
    if let Some(peer) = peer {
        parts.extensions.insert(axum::extract::ConnectInfo(peer));
    }
    let req = mcamp_gateway::to_lambda(parts, bytes::Bytes::from(body.to_owned()));
    Ok(mcamp_gateway::dispatch(web, req).await)
}

/// The text of a response body.
pub fn text(resp: &lambda_http::Response<lambda_http::Body>) -> String {
    match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        lambda_http::Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// Real user agents used across tests.
pub const KAKAOTALK_ANDROID: &str = "Mozilla/5.0 (Linux; Android 13; SM-S918N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36;KAKAOTALK 2410700";
pub const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
pub const KAKAO_SCRAPER: &str = "facebookexternalhit/1.1;kakaotalk-scrap/1.0; +https://devtalk.kakao.com/t/scrap/33984";

/// What the benches (`tests/benches`, `make bench`) share.
pub mod bench {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    /// Criterion's default `sample_size`, which the benches keep.
    pub const SAMPLE_SIZE: usize = 100;

    /// Every run criterion timed (iterations, seconds), warm-up included, for a plain figure
    /// at the end.
    #[derive(Clone, Default)]
    pub struct Samples(Rc<RefCell<Vec<(f64, f64)>>>);

    impl Samples {
        pub fn record(&self, iters: u64, took: Duration) {
            self.0.borrow_mut().push((iters as f64, took.as_secs_f64()));
        }
        /// Seconds per iteration as criterion estimates it (the slope of time over iterations,
        /// through the origin), from the measurement samples: the last `SAMPLE_SIZE` runs,
        /// after the warm-up ones.
        pub fn per_iter_secs(&self) -> f64 {
            let v = self.0.borrow();
            let measured = &v[v.len().saturating_sub(SAMPLE_SIZE)..];
            let xt: f64 = measured.iter().map(|(x, t)| x * t).sum();
            let xx: f64 = measured.iter().map(|(x, _)| x * x).sum();
            if xx > 0.0 { xt / xx } else { f64::NAN }
        }
    }

    /// A current-thread tokio runtime; a bench that cannot have one exits with a message.
    pub fn runtime(bench: &str) -> tokio::runtime::Runtime {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("bench: {bench}: cannot build a tokio runtime: {e}");
                std::process::exit(1);
            }
        }
    }
}

/// Stream records as Lambda's DynamoDB event source hands them to a function: `INSERT`s (and
/// `REMOVE`s) with the image in DynamoDB's typed JSON.
pub fn stream_event(
    changes: &[mcamp_store::ports::ChangeRecord],
) -> anyhow::Result<aws_lambda_events::dynamodb::Event> {
    use mcamp_store::ports::ChangeKind;
    let typed = |item: &Item| -> anyhow::Result<serde_json::Value> {
        let i: serde_dynamo::Item = serde_dynamo::to_item(item)?;
        Ok(serde_json::to_value(i)?)
    };
    let records = changes
        .iter()
        .map(|c| {
            let keys = serde_json::Map::from_iter([
                ("pk".to_owned(), serde_json::Value::from(c.key.pk.clone())),
                ("sk".to_owned(), serde_json::Value::from(c.key.sk.clone())),
            ]);
            let mut dynamodb = serde_json::json!({
                "ApproximateCreationDateTime": 1_764_500_000.0,
                "Keys": typed(&keys)?,
                "SequenceNumber": c.sequence,
                "SizeBytes": 100,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            });
            if let Some(image) = &c.new_image {
                dynamodb["NewImage"] = typed(image)?;
            }
            let name = match c.kind {
                ChangeKind::Insert => "INSERT",
                ChangeKind::Modify => "MODIFY",
                ChangeKind::Remove => "REMOVE",
            };
            Ok(serde_json::json!({
                "eventID": c.sequence,
                "eventName": name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "ap-northeast-2",
                "eventSourceARN": "arn:aws:dynamodb:ap-northeast-2:123456789012:table/events/stream/2026-11-30T00:00:00.000",
                "dynamodb": dynamodb,
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(serde_json::from_value(serde_json::json!({ "Records": records }))?)
}

/// A person's Android phone, in `in_app` (or its browser), as the classifier names it.
pub fn android_phone(in_app: Option<mcamp_core::client::InApp>) -> mcamp_core::client::ClientInfo {
    use mcamp_core::client::{AgentKind, Browser, ClientInfo, Device, Os};
    ClientInfo {
        agent: AgentKind::Human,
        bot_name: None,
        os: Os::Android,
        device: Device::Phone,
        in_app,
        browser: Browser::Webview,
    }
}
