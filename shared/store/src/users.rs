//! The console's users (`USER#{email}` / `USER`, listed in GSI1 under `USERS`). The item holds
//! the argon2id hash, never a password.

use mcamp_core::users::{Email, User};
use serde_json::Value;

use crate::ports::{Cond, Key, Query, StoreError, TableId};
use crate::{Db, DbResult, from_item, keys, to_item};

impl Db {
    fn user_item(&self, u: &User) -> DbResult<crate::ports::Item> {
        let mut item = to_item(u, &keys::user(&u.email), keys::SK_USER)?;
        item.insert("gsi1pk".into(), Value::String(keys::USER_LIST.into()));
        item.insert("gsi1sk".into(), Value::String(u.email.to_string()));
        Ok(item)
    }

    /// Adds a user; false when the e-mail is taken (nothing written).
    pub async fn add_user(&self, u: &User) -> DbResult<bool> {
        match self
            .table
            .put(TableId::Main, self.user_item(u)?, Some(Cond::NotExists))
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Saves a changed user (a reset password, a disabling); the user must exist.
    pub async fn save_user(&self, u: &User) -> DbResult<()> {
        self.table
            .put(TableId::Main, self.user_item(u)?, Some(Cond::Exists))
            .await?;
        Ok(())
    }

    pub async fn user(&self, email: &Email) -> DbResult<Option<User>> {
        let key = Key::new(keys::user(email), keys::SK_USER);
        self.table.get(TableId::Main, &key).await?.map(from_item).transpose()
    }

    /// Every user, by e-mail.
    pub async fn users(&self) -> DbResult<Vec<User>> {
        self.query_all(Query::gsi1(TableId::Main, keys::USER_LIST)).await
    }
}

/// The window failed sign-ins are counted in.
pub const SIGN_IN_WINDOW_MINUTES: i64 = 15;

fn window_start(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    let secs = SIGN_IN_WINDOW_MINUTES * 60;
    let start = now.timestamp() - now.timestamp().rem_euclid(secs);
    chrono::DateTime::from_timestamp(start, 0).unwrap_or(now)
}

impl Db {
    /// Failed sign-ins of each of `who` (`acct:{email}`, `net:{tag}`) in the current window,
    /// in one read.
    pub async fn failed_sign_ins(&self, who: &[&str], now: chrono::DateTime<chrono::Utc>) -> DbResult<Vec<i64>> {
        let sk = keys::sign_in_window_sk(window_start(now));
        let wanted: Vec<Key> = who.iter().map(|w| Key::new(keys::sign_ins(w), sk.clone())).collect();
        let items = self.table.get_many(TableId::Main, &wanted).await?;
        Ok(wanted
            .iter()
            .map(|k| {
                items
                    .iter()
                    .find(|i| i.get("pk").and_then(Value::as_str) == Some(k.pk.as_str()))
                    .and_then(|i| i.get("n").and_then(Value::as_i64))
                    .unwrap_or(0)
            })
            .collect())
    }

    /// Counts one failed sign-in of `who` in the current window (kept until the window ends).
    pub async fn count_failed_sign_in(&self, who: &str, now: chrono::DateTime<chrono::Utc>) -> DbResult<()> {
        let start = window_start(now);
        let key = Key::new(keys::sign_ins(who), keys::sign_in_window_sk(start));
        let ttl = (start + chrono::Duration::minutes(SIGN_IN_WINDOW_MINUTES)).timestamp();
        self.table
            .update(
                TableId::Main,
                &key,
                crate::ports::Update::new().add("n", 1).set("ttl", ttl),
                None,
            )
            .await?;
        Ok(())
    }
}
