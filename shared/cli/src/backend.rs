//! Opens the store the global flags name: the embedded data file (default), an emulator
//! (`--aws-endpoint`, tables `mcamp-local-*` created when missing, as the gateway does), or
//! AWS (`--aws`, names from the environment).

use std::sync::Arc;

use mcamp_domain::db::Db;

use crate::Global;
use crate::failure::Failure;

pub async fn open(g: &Global) -> Result<Db, Failure> {
    if g.aws || g.aws_endpoint.is_some() {
        let config = mcamp_aws::sdk_config(g.aws_endpoint.as_deref()).await;
        let aws = if g.aws {
            let names = mcamp_aws::Names::from_env().map_err(|e| Failure::user(e.to_string()))?;
            mcamp_aws::Aws::new(&config, names)
        } else {
            let mut aws = mcamp_aws::Aws::new(&config, mcamp_aws::Names::prefixed("mcamp-local"));
            let unreachable = |e: mcamp_domain::ports::StoreError| {
                Failure::Storage(format!(
                    "DynamoDB/SQS at {}: {}",
                    g.aws_endpoint.as_deref().unwrap_or_default(),
                    without_debug_dump(&e.to_string())
                ))
            };
            mcamp_aws::create_tables(&aws).await.map_err(unreachable)?;
            mcamp_aws::create_queues(&mut aws, "mcamp-local")
                .await
                .map_err(unreachable)?;
            aws
        };
        return Ok(Db::new(Arc::new(aws)));
    }
    let embedded = mcamp_embedded::Embedded::open(&g.data)
        .map_err(|e| Failure::Storage(format!("opening {}: {e}", g.data.display())))?;
    Ok(Db::new(Arc::new(embedded)))
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
