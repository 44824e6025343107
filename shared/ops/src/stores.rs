//! Stores that redeem coupons. A store's API key is shown once, when it is made; only its
//! SHA-256 hash is kept, so a leaked data file leaks no key.

use chrono::{DateTime, Utc};
use mcamp_core::coupon::{Store, hash_key};
use mcamp_core::values::{StoreId, random_base62};
use mcamp_store::{Db, DbError};

/// Length of a store API key: 32 base62 characters, about 190 bits.
pub const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum StoreAddError {
    #[error("store name: must not be empty")]
    EmptyName,
    #[error("store '{0}' exists; pass --replace-key to give it a new key (the old key stops working)")]
    Exists(StoreId),
    #[error("storage: {0}")]
    Db(#[from] DbError),
}

/// Adds a store (or gives an existing one a new key, when `replace_key`) and returns the key:
/// the only time it is ever seen.
pub async fn add_store(
    db: &Db,
    id: &StoreId,
    name: &str,
    replace_key: bool,
    now: DateTime<Utc>,
) -> Result<String, StoreAddError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreAddError::EmptyName);
    }
    if !replace_key && db.store(id).await?.is_some() {
        return Err(StoreAddError::Exists(id.clone()));
    }
    let key = random_base62(KEY_LEN);
    db.put_store(&Store {
        id: id.clone(),
        name: name.to_owned(),
        key_hash: hash_key(&key),
        created_at: now,
    })
    .await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcamp_core::values::constant_time_eq as same_hash;
    use std::sync::Arc;

    #[tokio::test]
    async fn only_the_hash_is_kept_and_a_second_add_needs_replace() {
        let db = Db::new(Arc::new(mcamp_embedded::Embedded::temporary().unwrap()));
        let id = StoreId::parse("gangnam-01").unwrap();
        let key = add_store(&db, &id, "강남점", false, Utc::now()).await.unwrap();
        assert_eq!(key.len(), KEY_LEN);
        assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()));
        let stored = db.store(&id).await.unwrap().unwrap();
        assert_ne!(stored.key_hash, key);
        assert!(same_hash(&stored.key_hash, &hash_key(&key)));
        assert!(matches!(
            add_store(&db, &id, "강남점", false, Utc::now()).await,
            Err(StoreAddError::Exists(_))
        ));
        let new = add_store(&db, &id, "강남점", true, Utc::now()).await.unwrap();
        assert_ne!(new, key);
        assert!(matches!(
            add_store(&db, &id, " ", true, Utc::now()).await,
            Err(StoreAddError::EmptyName)
        ));
    }
}
