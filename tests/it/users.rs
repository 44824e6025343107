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

async fn signing_in_checks_the_password_and_limits_failures(b: Backend) -> anyhow::Result<()> {
    use mcamp_http::sign_in::{ACCOUNT_FAILURES, NETWORK_FAILURES, SignInError, sign_in};
    let db = b.app().db;
    let now = Utc::now();
    let pass = "벚꽃라떼는-봄에만-나와요";
    for (email, role) in [("kim@brand.kr", "admin"), ("off@brand.kr", "viewer")] {
        db.add_user(&User {
            email: Email::parse(email)?,
            role: Role::parse(role)?,
            campaigns: vec![],
            password_hash: Password::parse(pass)?.hash()?,
            created_at: now,
            password_set_at: now,
            disabled_at: (email == "off@brand.kr").then_some(now),
        })
        .await?;
    }
    let session = sign_in(&db, " KIM@brand.kr", pass, "net-a", now).await?;
    ensure!(session.email.as_str() == "kim@brand.kr" && session.role == Role::Admin);
    // Wrong password, unknown e-mail, disabled user, malformed e-mail: the same answer.
    for (email, password) in [
        ("kim@brand.kr", "wrong-password-1234"),
        ("nobody@brand.kr", pass),
        ("off@brand.kr", pass),
        ("not an email", pass),
    ] {
        let r = sign_in(&db, email, password, "net-b", now).await;
        ensure!(matches!(r, Err(SignInError::Invalid)), "{}: {email}: {r:?}", b.name);
    }
    // The account is refused after its failures, even with the right password, until the
    // window passes.
    for _ in 1..ACCOUNT_FAILURES {
        let r = sign_in(&db, "kim@brand.kr", "wrong-password-1234", "net-c", now).await;
        ensure!(matches!(r, Err(SignInError::Invalid)), "{r:?}");
    }
    let r = sign_in(&db, "kim@brand.kr", pass, "net-d", now).await;
    ensure!(matches!(r, Err(SignInError::TooMany)), "{}: {r:?}", b.name);
    let later = now + chrono::Duration::minutes(16);
    ensure!(
        sign_in(&db, "kim@brand.kr", pass, "net-d", later).await.is_ok(),
        "a new window"
    );
    // One network guessing across accounts is refused too.
    for i in 0..NETWORK_FAILURES {
        let _ = sign_in(
            &db,
            &format!("guess{i}@brand.kr"),
            "wrong-password-1234",
            "net-e",
            later,
        )
        .await;
    }
    let r = sign_in(&db, "kim@brand.kr", pass, "net-e", later).await;
    ensure!(matches!(r, Err(SignInError::TooMany)), "{}: {r:?}", b.name);
    ensure!(sign_in(&db, "kim@brand.kr", pass, "net-f", later).await.is_ok());
    // Every attempt is in the audit log, never a password.
    let month = now.with_timezone(&mcamp_core::time::kst()).format("%Y%m").to_string();
    let log = db.audit_log(&month).await?;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    ensure!(
        actions.iter().filter(|a| **a == "console.sign_in").count() >= 2
            && actions.contains(&"console.sign_in_failed")
            && actions.contains(&"console.sign_in_refused"),
        "{actions:?}"
    );
    ensure!(!serde_json::to_string(&log)?.contains("벚꽃"), "no password in the log");
    Ok(())
}
contract!(
    sign_in_limits,
    super::signing_in_checks_the_password_and_limits_failures
);
