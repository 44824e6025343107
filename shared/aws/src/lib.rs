//! mcamp's ports over AWS: DynamoDB (items mapped by `serde_dynamo`), SQS, and with the
//! `streams` feature DynamoDB Streams (for the tests).
//!
//! The same code talks to AWS or to an emulator (moto server) given an endpoint URL.

mod dynamo;
mod expr;
mod provision;
mod secrets;
mod sqs;
#[cfg(feature = "streams")]
mod streams;

use std::collections::HashMap;

use aws_config::BehaviorVersion;
use mcamp_env::{EnvError, Var, optional, required};
use mcamp_store::ports::{QueueId, TableId};

pub use provision::{create_queues, create_tables};
pub use secrets::{SecretError, secret_string};

/// Real names of the tables and queues, from the environment in Lambda.
#[derive(Debug, Clone)]
pub struct Names {
    pub tables: HashMap<TableId, String>,
    pub queues: HashMap<QueueId, String>,
}

impl Names {
    /// What `from_env` reads.
    pub const ENV: &[Var] = &[
        Var::required("MCAMP_MAIN_TABLE"),
        Var::required("MCAMP_EVENTS_TABLE"),
        Var::optional("MCAMP_COUPON_QUEUE_URL"),
        Var::optional("MCAMP_COUPON_DLQ_URL"),
        Var::optional("MCAMP_SEND_QUEUE_URL"),
        Var::optional("MCAMP_SEND_DLQ_URL"),
    ];

    /// `MCAMP_MAIN_TABLE`, `MCAMP_EVENTS_TABLE`, `MCAMP_COUPON_QUEUE_URL`, `MCAMP_COUPON_DLQ_URL`,
    /// `MCAMP_SEND_QUEUE_URL`, `MCAMP_SEND_DLQ_URL`.
    /// A function that does not use the queue may leave the queue variables unset.
    pub fn from_env() -> Result<Self, EnvError> {
        let mut tables = HashMap::new();
        tables.insert(TableId::Main, required("MCAMP_MAIN_TABLE")?);
        tables.insert(TableId::Events, required("MCAMP_EVENTS_TABLE")?);
        let mut queues = HashMap::new();
        if let Some(u) = optional("MCAMP_COUPON_QUEUE_URL") {
            queues.insert(QueueId::CouponIssue, u);
        }
        if let Some(u) = optional("MCAMP_COUPON_DLQ_URL") {
            queues.insert(QueueId::CouponIssueDlq, u);
        }
        if let Some(u) = optional("MCAMP_SEND_QUEUE_URL") {
            queues.insert(QueueId::SendMessage, u);
        }
        if let Some(u) = optional("MCAMP_SEND_DLQ_URL") {
            queues.insert(QueueId::SendMessageDlq, u);
        }
        Ok(Names { tables, queues })
    }

    /// Names with a common prefix, for emulators and tests (`{prefix}-main`, …); queue URLs
    /// are filled in by `create_queues`.
    pub fn prefixed(prefix: &str) -> Self {
        let tables = TableId::ALL
            .iter()
            .map(|t| (*t, format!("{prefix}-{}", t.as_str())))
            .collect();
        Names {
            tables,
            queues: HashMap::new(),
        }
    }

    fn table(&self, t: TableId) -> &str {
        self.tables.get(&t).map_or("", String::as_str)
    }
}

/// DynamoDB and SQS clients (and DynamoDB Streams with `streams`) with the names they act on.
#[derive(Clone)]
pub struct Aws {
    ddb: aws_sdk_dynamodb::Client,
    #[cfg(feature = "streams")]
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    names: Names,
}

impl Aws {
    pub fn new(config: &aws_config::SdkConfig, names: Names) -> Self {
        Aws {
            ddb: aws_sdk_dynamodb::Client::new(config),
            #[cfg(feature = "streams")]
            streams: aws_sdk_dynamodbstreams::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            names,
        }
    }

    pub fn set_queue_url(&mut self, q: QueueId, url: String) {
        self.names.queues.insert(q, url);
    }

    /// Opens the connection (DNS, TCP, TLS) during init so the first request does not pay it.
    pub async fn warm_up(&self) {
        let started = std::time::Instant::now();
        let r = self.ddb.describe_endpoints().send().await;
        tracing::debug!(
            ok = r.is_ok(),
            ms = started.elapsed().as_millis() as u64,
            "DynamoDB connection warmed"
        );
    }
}

/// The roots AWS service endpoints chain to: Amazon Root CA 1 to 4 and Starfield Services Root
/// CA G2 (Amazon Trust Services, <https://www.amazontrust.com/repository/>; valid to 2037-2040).
const AMAZON_TRUST_ROOTS: &[u8] = include_bytes!("amazon-trust-roots.pem");

/// `sdk_config` for a Lambda function: its HTTPS client (the SDK's default, rustls with aws-lc)
/// trusts only `AMAZON_TRUST_ROOTS`. With the system's store the SDK reads and parses every
/// certificate of the CA bundle on each cold start, about 3 ms of a 5 ms init
/// (docs/coldstart.md); a function only ever calls AWS endpoints. The CLI and the gateway keep
/// `sdk_config` and the system store (a TLS-inspecting proxy, an emulator behind another CA).
pub async fn lambda_sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let context = tls::TlsContext::builder()
        .with_trust_store(tls::TrustStore::empty().with_pem_certificate(AMAZON_TRUST_ROOTS))
        .build();
    match context {
        Ok(context) => {
            let https = aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context)
                .build_https();
            sdk_config_loader(endpoint).http_client(https).load().await
        }
        Err(e) => {
            tracing::warn!(error = %e, "the Amazon roots did not load; using the system store");
            sdk_config(endpoint).await
        }
    }
}

/// SDK config from the normal credential chain, or for an emulator at `endpoint`
/// (static test credentials, region us-east-1, so the SDK never probes instance metadata).
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    sdk_config_loader(endpoint).load().await
}

fn sdk_config_loader(endpoint: Option<&str>) -> aws_config::ConfigLoader {
    match endpoint {
        None => aws_config::defaults(BehaviorVersion::latest()),
        Some(url) => {
            let creds = aws_credential_types::Credentials::from_keys("testing", "testing", None);
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(url)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(creds)
        }
    }
}

#[cfg(test)]
mod trust_roots_tests {
    /// The five roots, each a whole PEM block (the TLS client parses them at its first
    /// connection and panics on a bad one).
    #[test]
    fn the_amazon_trust_roots_are_five_pem_certificates() {
        let pem = String::from_utf8_lossy(super::AMAZON_TRUST_ROOTS);
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert_eq!(pem.matches("-----END CERTIFICATE-----").count(), 5);
    }
}
