//! An admin's actions on a campaign (being built).

use crate::{Answer, Console};
use mcamp_http::HttpError;

pub(crate) async fn status(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
pub(crate) async fn send_list(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
pub(crate) async fn export(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
pub(crate) async fn create_view_link(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
pub(crate) async fn revoke_view_link(_c: &Console<'_>) -> Answer {
    Err(HttpError::NotFound.into())
}
