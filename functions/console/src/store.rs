//! The store staff's redeem page (being built).

use crate::{Answer, Console};
use mcamp_http::HttpError;

pub(crate) async fn page(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}

pub(crate) async fn lookup(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}

pub(crate) async fn redeem(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
