//! The deployed functions' secrets: read from Secrets Manager (moto over the wire) at init,
//! only their ARNs in the environment.

use std::collections::HashMap;

use anyhow::{Context, ensure};
use mcamp_http::Site;
use mcamp_http::site::SiteSecrets;
use mcamp_tests::moto_endpoint;

/// A secret with `value` under a fresh name on the moto server; its ARN.
async fn put_secret(config: &aws_config::SdkConfig, value: &str) -> anyhow::Result<String> {
    let name = format!("mcamp/test/{}", mcamp_core::values::random_base62(12));
    let out = aws_sdk_secretsmanager::Client::new(config)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await?;
    out.arn().map(str::to_owned).context("moto returned no ARN")
}

fn env_of(vars: &[(&'static str, String)]) -> impl Fn(&'static str) -> Option<String> + Sync + use<> {
    let map: HashMap<&'static str, String> = vars.iter().cloned().collect();
    move |name| map.get(name).cloned()
}

#[tokio::test]
async fn site_secrets_come_from_secrets_manager_by_arn() -> anyhow::Result<()> {
    // The functions' own SDK configuration (the HTTPS client trusting the Amazon roots only).
    let config = mcamp_aws::lambda_sdk_config(Some(&moto_endpoint()?)).await;
    let app_secret = "s".repeat(64);
    let phone_key = "p".repeat(64);
    let env = env_of(&[
        ("MCAMP_SECRET_ARN", put_secret(&config, &app_secret).await?),
        ("MCAMP_PHONE_KEY_ARN", put_secret(&config, &phone_key).await?),
        ("MCAMP_KAKAO_ADMIN_KEY_ARN", put_secret(&config, "kakao-admin").await?),
        // A plain value beside an ARN is ignored: the secret wins.
        ("MCAMP_SECRET", "plain-value-never-used".to_owned()),
    ]);
    let site = Site::from_env(SiteSecrets::resolve_in(&config, &env).await?)?;
    ensure!(site.secret.expose() == app_secret);
    ensure!(site.kakao_admin_key.as_ref().map(|k| k.expose()) == Some("kakao-admin"));
    let expected = mcamp_core::customer::PhoneKey::parse(&phone_key)?;
    // The key itself never prints: the two hash the same phone alike.
    let brand = mcamp_core::values::BrandId::parse("brand")?;
    let phone = mcamp_core::values::PhoneNumber::parse("010-1234-5678")?;
    ensure!(site.phone_key.customer_key(&brand, &phone) == expected.customer_key(&brand, &phone));
    Ok(())
}

#[tokio::test]
async fn a_missing_or_unreadable_secret_stops_start_up_with_its_name() -> anyhow::Result<()> {
    let config = mcamp_aws::sdk_config(Some(&moto_endpoint()?)).await;
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mcamp/none-AbCdEf";
    let env = env_of(&[
        ("MCAMP_SECRET_ARN", missing.to_owned()),
        ("MCAMP_PHONE_KEY", "p".repeat(40)),
    ]);
    let err = match SiteSecrets::resolve_in(&config, &env).await {
        Ok(_) => anyhow::bail!("an unknown secret resolved"),
        Err(e) => mcamp_app::error_chain(&e),
    };
    ensure!(err.contains(missing), "the error names the secret: {err}");

    // Neither the ARN nor a plain value: the error names what to set.
    let env = env_of(&[("MCAMP_PHONE_KEY", "p".repeat(40))]);
    let err = match Site::from_env(SiteSecrets::resolve_in(&config, &env).await?) {
        Ok(_) => anyhow::bail!("a site without its secret started"),
        Err(e) => e.to_string(),
    };
    ensure!(err.contains("MCAMP_SECRET_ARN"), "{err}");
    Ok(())
}
