//! A campaign's dashboard (being built).

use crate::{Answer, Console};
use mcamp_http::HttpError;

pub(crate) async fn dashboard(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
pub(crate) async fn survey_report(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
pub(crate) async fn view_link(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
