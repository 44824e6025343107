//! Which store the local gateway and the CLI run on, chosen the same way by both: the
//! embedded data file (default), DynamoDB/SQS at an emulator's endpoint (tables and queues
//! `mcamp-local-*` created when missing), or AWS itself (names from the environment).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mcamp_env::EnvError;
use mcamp_store::ports::{ChangeFeed, JobQueue, StoreError, Table};

/// Prefix of the tables and queues made on an emulator.
pub const EMULATOR_PREFIX: &str = "mcamp-local";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store in this data file.
    Embedded(PathBuf),
    /// DynamoDB/SQS at this endpoint (moto).
    Emulator(String),
    /// DynamoDB/SQS in the AWS account of the environment's credentials.
    Aws,
}

impl Backend {
    /// From the `--aws` and `--aws-endpoint` flags, else the data file.
    pub fn from_flags(aws: bool, endpoint: Option<String>, data: PathBuf) -> Self {
        match (aws, endpoint) {
            (_, Some(e)) => Backend::Emulator(e),
            (true, None) => Backend::Aws,
            (false, None) => Backend::Embedded(data),
        }
    }
}

/// An opened store.
pub struct Opened {
    pub table: Arc<dyn Table>,
    pub queue: Arc<dyn JobQueue>,
    /// The change stream, where the backend offers one in process (the embedded store).
    pub feed: Option<Arc<dyn ChangeFeed>>,
    /// For people: `embedded store in .data/mcamp.db`, `DynamoDB/SQS at http://…`, `AWS`.
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("opening {path}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("DynamoDB/SQS at {endpoint}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: StoreError,
    },
}

/// A deployment key for local use: the environment variable `env` when set, else the file
/// `name` beside the data file, made with 32 random characters on first use (the gateway and
/// the CLI then agree on it). In AWS the key always comes from the environment.
pub fn local_key(data: &Path, env: &'static str, name: &str) -> std::io::Result<String> {
    if let Some(s) = mcamp_env::optional(env) {
        return Ok(s);
    }
    let path = data.with_file_name(name);
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(s.trim().to_owned());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let s = mcamp_core::values::random_base62(32);
    std::fs::write(&path, &s)?;
    Ok(s)
}

/// `MCAMP_SYNC`: how the embedded store's commits reach the disk. `normal` (the default)
/// survives the process being killed; `full` also a power loss, at an fsync per commit.
fn embedded_durability() -> Result<mcamp_embedded::Durability, EnvError> {
    match mcamp_env::optional("MCAMP_SYNC").as_deref().map(str::trim) {
        None | Some("normal") => Ok(mcamp_embedded::Durability::Process),
        Some("full") => Ok(mcamp_embedded::Durability::Power),
        Some(other) => Err(EnvError::Malformed(
            "MCAMP_SYNC",
            format!("{other:?}: use normal (survives a killed process) or full (also a power loss)"),
        )),
    }
}

pub async fn open(backend: &Backend) -> Result<Opened, OpenError> {
    match backend {
        Backend::Embedded(path) => {
            let durability = embedded_durability()?;
            let e =
                Arc::new(
                    mcamp_embedded::Embedded::open_with(path, durability).map_err(|source| OpenError::File {
                        path: path.clone(),
                        source,
                    })?,
                );
            Ok(Opened {
                table: e.clone(),
                queue: e.clone(),
                feed: Some(e),
                description: format!("embedded store in {}", path.display()),
            })
        }
        Backend::Emulator(endpoint) => {
            let config = mcamp_aws::sdk_config(Some(endpoint)).await;
            let mut aws = mcamp_aws::Aws::new(&config, mcamp_aws::Names::prefixed(EMULATOR_PREFIX));
            let unreachable = |source| OpenError::Unreachable {
                endpoint: endpoint.clone(),
                source,
            };
            mcamp_aws::create_tables(&aws).await.map_err(unreachable)?;
            mcamp_aws::create_queues(&mut aws, EMULATOR_PREFIX)
                .await
                .map_err(unreachable)?;
            let aws = Arc::new(aws);
            Ok(Opened {
                table: aws.clone(),
                queue: aws,
                feed: None,
                description: format!("DynamoDB/SQS at {endpoint}"),
            })
        }
        Backend::Aws => {
            let config = mcamp_aws::sdk_config(None).await;
            let aws = Arc::new(mcamp_aws::Aws::new(&config, mcamp_aws::Names::from_env()?));
            Ok(Opened {
                table: aws.clone(),
                queue: aws,
                feed: None,
                description: "AWS".into(),
            })
        }
    }
}
