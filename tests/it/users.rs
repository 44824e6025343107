//! The console's users on both backends: an e-mail is taken once, the list is by e-mail, a
//! saved change (disabled, a new password) reads back, and the item never holds a password.

use anyhow::ensure;
use chrono::Utc;
use mcamp_core::users::{Email, Password, Role, User, verify_password};
use mcamp_core::values::CampaignId;
use mcamp_store::ports::{Key, TableId};
use mcamp_tests::{Backend, contract};

async fn users_are_stored_once_and_listed_by_email(b: Backend) -> anyhow::Result<()> {
    let db = b.app().db;
    let now = Utc::now();
    let user = |email: &str, role: &str| -> anyhow::Result<User> {
        Ok(User {
            email: Email::parse(email)?,
            role: Role::parse(role)?,
            campaigns: vec![CampaignId::parse("spring-demo")?],
            password_hash: Password::parse("벚꽃라떼는-봄에만-나와요")?.hash()?,
            created_at: now,
            password_set_at: now,
            disabled_at: None,
        })
    };
    ensure!(db.add_user(&user("lee@brand.kr", "viewer")?).await?);
    ensure!(db.add_user(&user("kim@brand.kr", "admin")?).await?);
    ensure!(
        !db.add_user(&user("kim@brand.kr", "viewer")?).await?,
        "{}: an e-mail is taken once",
        b.name
    );
    let listed: Vec<String> = db.users().await?.iter().map(|u| u.email.to_string()).collect();
    ensure!(listed == ["kim@brand.kr", "lee@brand.kr"], "{}: {listed:?}", b.name);
    let kim = Email::parse("kim@brand.kr")?;
    let mut stored = db.user(&kim).await?.ok_or_else(|| anyhow::anyhow!("kim"))?;
    ensure!(stored.role == Role::Admin && verify_password(&stored.password_hash, "벚꽃라떼는-봄에만-나와요"));
    stored.disabled_at = Some(now);
    db.save_user(&stored).await?;
    ensure!(db.user(&kim).await?.is_some_and(|u| !u.is_active()));
    // The item holds the hash and never the password itself.
    let raw = b
        .table
        .get(TableId::Main, &Key::new("USER#kim@brand.kr", "USER"))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the item"))?;
    let text = serde_json::to_string(&raw)?;
    ensure!(text.contains("$argon2id$") && !text.contains("벚꽃라떼"), "{text}");
    // Saving someone who is not a user creates nobody.
    let ghost = user("ghost@brand.kr", "viewer")?;
    ensure!(db.save_user(&ghost).await.is_err() && db.user(&ghost.email).await?.is_none());
    Ok(())
}
contract!(users_stored_once, super::users_are_stored_once_and_listed_by_email);
