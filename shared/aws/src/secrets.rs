//! Secrets Manager, read once while a function starts: the deployed functions hold only the
//! secrets' ARNs in their environment, never the values.

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {id} could not be read")]
    Read {
        id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("secret {0} holds no text (binary secrets are not used)")]
    NotText(String),
}

/// The text of the secret `id` (an ARN or a name), its current version.
pub async fn secret_string(config: &aws_config::SdkConfig, id: &str) -> Result<String, SecretError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| SecretError::Read {
            id: id.to_owned(),
            source: Box::new(e),
        })?;
    out.secret_string()
        .map(str::to_owned)
        .ok_or_else(|| SecretError::NotText(id.to_owned()))
}
