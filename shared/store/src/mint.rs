//! Minting a fresh short code: every new link is a transaction with a conditional put of
//! `LINK#{code}`; on the rare collision the caller's transaction is tried again with a new code.

use std::future::Future;

use mcamp_core::values::ShortCode;

use crate::{DbError, DbResult};

/// Attempts before giving up; a collision is 1 in 62^10 per attempt.
const MINT_ATTEMPTS: usize = 5;

/// Runs `attempt` with a fresh code until it returns `Some` (done) rather than `None` (the
/// code collided with a live link).
pub(crate) async fn with_fresh_code<T, F, Fut>(mut attempt: F) -> DbResult<T>
where
    F: FnMut(ShortCode) -> Fut,
    Fut: Future<Output = DbResult<Option<T>>>,
{
    for _ in 0..MINT_ATTEMPTS {
        if let Some(done) = attempt(ShortCode::generate()).await? {
            return Ok(done);
        }
    }
    Err(DbError::MintExhausted)
}
