//! Opens the store the global flags name: the embedded data file (default), an emulator
//! (`--aws-endpoint`, tables `mcamp-local-*` created when missing), or AWS (`--aws`, names
//! from the environment). The choice is `mcamp_app::backend`'s, the one the gateway makes.

use mcamp_app::backend::{Backend, OpenError};
use mcamp_core::customer::PhoneKey;
use mcamp_store::Db;

use crate::Global;
use crate::failure::Failure;

pub async fn open(g: &Global) -> Result<Db, Failure> {
    Ok(open_with_queue(g).await?.0)
}

/// The data and the job queue.
pub async fn open_with_queue(g: &Global) -> Result<(Db, std::sync::Arc<dyn mcamp_store::ports::JobQueue>), Failure> {
    let backend = Backend::from_flags(g.aws, g.aws_endpoint.clone(), g.data.clone());
    let opened = mcamp_app::backend::open(&backend).await.map_err(failure)?;
    Ok((Db::new(opened.table), opened.queue))
}

/// The deployment's phone key (it hashes phones into customer keys). With `--aws`: the secret
/// `MCAMP_PHONE_KEY_ARN` names (the stack's output `PhoneKeySecretArn`), or `MCAMP_PHONE_KEY`;
/// locally the key file beside the data file that the gateway uses too.
pub async fn phone_key(g: &Global) -> Result<PhoneKey, Failure> {
    let text = if g.aws {
        let config = mcamp_aws::sdk_config(g.aws_endpoint.as_deref()).await;
        mcamp_app::lambda::PHONE_KEY
            .resolve(&config)
            .await
            .map_err(|e| Failure::Storage(mcamp_app::error_chain(&e)))?
            .ok_or_else(|| {
                Failure::user("set MCAMP_PHONE_KEY_ARN (the stack's output PhoneKeySecretArn) or MCAMP_PHONE_KEY")
            })?
    } else {
        mcamp_app::backend::local_key(&g.data, "MCAMP_PHONE_KEY", "phone-key")
            .map_err(|e| Failure::Storage(format!("the local phone key beside {}: {e}", g.data.display())))?
    };
    PhoneKey::parse(&text).map_err(|e| Failure::user(format!("MCAMP_PHONE_KEY: {}", e.reason)))
}

/// What the user sees: a missing environment variable is theirs to fix (exit 1); a data file
/// that cannot be opened or an emulator that cannot be reached is storage (exit 2).
fn failure(e: OpenError) -> Failure {
    match e {
        OpenError::Env(e) => Failure::user(e.to_string()),
        OpenError::File { path, source } => Failure::Storage(format!("opening {}: {source}", path.display())),
        OpenError::Unreachable { endpoint, source } => Failure::Storage(format!(
            "DynamoDB/SQS at {endpoint}: {}",
            without_debug_dump(&source.to_string())
        )),
    }
}

/// The SDK's message without the `Debug` dump of its error chain that follows it, e.g.
/// `… Connection refused (os error 111) (DispatchFailure(DispatchFailure { … }))`.
fn without_debug_dump(msg: &str) -> &str {
    let dump = msg.match_indices(" (").find(|(i, _)| {
        let rest = &msg[i + 2..];
        let word: String = rest.chars().take_while(char::is_ascii_alphanumeric).collect();
        word.starts_with(|c: char| c.is_ascii_uppercase()) && rest[word.len()..].starts_with(['(', ' ', '{'])
    });
    match dump {
        Some((i, _)) => &msg[..i],
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_debug_dumps_are_cut() {
        assert_eq!(
            without_debug_dump(
                "dispatch failure: io error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: x }))"
            ),
            "dispatch failure: io error: Connection refused (os error 111)"
        );
        assert_eq!(without_debug_dump("plain (note)"), "plain (note)");
    }
}
