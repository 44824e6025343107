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
