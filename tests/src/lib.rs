//! The one test harness: backends to run a suite on (embedded, and DynamoDB/SQS over the
//! wire against a moto server it starts on 127.0.0.1), isolated per test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mcamp_aws::{Aws, Names};
use mcamp_domain::ports::{JobQueue, Table};
use mcamp_embedded::Embedded;

/// One backend under test: the ports, and what it is.
#[derive(Clone)]
pub struct Backend {
    pub name: &'static str,
    pub table: Arc<dyn Table>,
    pub queue: Arc<dyn JobQueue>,
}

impl Backend {
    pub fn embedded() -> Self {
        let e = Arc::new(Embedded::in_memory());
        Backend {
            name: "embedded",
            table: e.clone(),
            queue: e,
        }
    }

    /// Fresh tables and queues (unique names) on the shared moto server.
    pub async fn moto() -> anyhow::Result<Self> {
        let aws = moto_aws().await?;
        Ok(Backend {
            name: "dynamodb",
            table: Arc::new(aws.clone()),
            queue: Arc::new(aws),
        })
    }
}

/// An `Aws` with fresh, uniquely named tables and queues on the shared moto server.
pub async fn moto_aws() -> anyhow::Result<Aws> {
    let endpoint = moto_endpoint()?;
    let prefix = format!(
        "t{}",
        mcamp_domain::values::random_base62(10).to_lowercase()
    );
    let config = mcamp_aws::sdk_config(Some(&endpoint)).await;
    let mut aws = Aws::new(&config, Names::prefixed(&prefix));
    mcamp_aws::create_tables(&aws).await?;
    mcamp_aws::create_queues(&mut aws, &prefix).await?;
    Ok(aws)
}

static MOTO: OnceLock<Result<String, String>> = OnceLock::new();

/// The URL of the moto server for this test binary, started on first use.
pub fn moto_endpoint() -> anyhow::Result<String> {
    MOTO.get_or_init(start_moto)
        .clone()
        .map_err(anyhow::Error::msg)
}

fn moto_binary() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("MOTO_SERVER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
    if venv.exists() {
        return Ok(venv);
    }
    Err("moto_server not found: run `make venv` (or set MOTO_SERVER_BIN)".into())
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Starts moto under a watchdog shell that kills it when this test process exits, since a
/// static's destructor never runs.
fn start_moto() -> Result<String, String> {
    let bin = moto_binary()?;
    let port = free_port()?;
    let script = format!(
        "'{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & M=$!; while kill -0 {} 2>/dev/null; do sleep 1; done; kill $M",
        bin.display(),
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
    Err(format!(
        "moto did not listen on 127.0.0.1:{port} within 30 s"
    ))
}

/// Runs a contract test on both backends: `contract!(name, |backend| async { … })` makes
/// `name::embedded` and `name::dynamodb`.
#[macro_export]
macro_rules! contract {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
