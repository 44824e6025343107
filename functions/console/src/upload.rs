//! Recipients uploaded as CSV or xlsx (being built).

use crate::{Answer, Console};
use mcamp_http::HttpError;

pub(crate) async fn import(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
