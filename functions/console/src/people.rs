//! A campaign's people (being built).

use crate::{Answer, Console};
use mcamp_http::HttpError;

pub(crate) async fn people(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
pub(crate) async fn person(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
