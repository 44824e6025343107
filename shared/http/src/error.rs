//! The one error type of the HTTP boundary and its mapping to a status, in one place.
//! Recipients get a Korean page; APIs get JSON with a reason.

use mcamp_store::{DbError, Limit};
use serde_json::json;

use crate::pages;
use crate::response::{html_response, json_response};

/// Who is asking: a person with a browser, or a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Html,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("not found")]
    NotFound,
    /// The campaign is paused or over.
    #[error("gone")]
    Gone,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict")]
    Conflict(serde_json::Value),
    #[error("payload too large")]
    TooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A limit that protects the campaign (a share link's visitors); nothing was written.
    #[error("too many requests: {0}")]
    TooMany(mcamp_store::Limit),
    /// Logged with its chain of causes; the client sees only that something failed.
    #[error("internal")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<DbError> for HttpError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::LimitReached(what) => HttpError::TooMany(what),
            e => HttpError::Internal(Box::new(e)),
        }
    }
}

pub use mcamp_app::error_chain as chain;

impl HttpError {
    pub fn status(&self) -> u16 {
        match self {
            HttpError::NotFound => 404,
            HttpError::Gone => 410,
            HttpError::BadRequest(_) => 400,
            HttpError::Unauthorized => 401,
            HttpError::Forbidden(_) => 403,
            HttpError::Conflict(_) => 409,
            HttpError::TooLarge => 413,
            HttpError::MethodNotAllowed => 405,
            HttpError::TooMany(_) => 429,
            HttpError::Internal(_) => 500,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            HttpError::NotFound => "not_found",
            HttpError::Gone => "gone",
            HttpError::BadRequest(_) => "bad_request",
            HttpError::Unauthorized => "unauthorized",
            HttpError::Forbidden(_) => "forbidden",
            HttpError::Conflict(_) => "conflict",
            HttpError::TooLarge => "payload_too_large",
            HttpError::MethodNotAllowed => "method_not_allowed",
            HttpError::TooMany(_) => "too_many_requests",
            HttpError::Internal(_) => "internal",
        }
    }

    pub fn into_response(self, flavor: Flavor) -> lambda_http::Response<lambda_http::Body> {
        if let HttpError::Internal(_) = &self {
            tracing::error!(error = %chain(&self), "request failed");
        }
        let status = self.status();
        match flavor {
            Flavor::Json => {
                let mut body = json!({ "error": self.code() });
                match &self {
                    HttpError::BadRequest(r) | HttpError::Forbidden(r) => body["reason"] = json!(r),
                    HttpError::TooMany(limit) => body["reason"] = json!(limit.to_string()),
                    HttpError::Conflict(detail) => body["detail"] = detail.clone(),
                    _ => {}
                }
                json_response(status, &body)
            }
            Flavor::Html => {
                let (title, message) = match &self {
                    HttpError::NotFound => ("페이지를 찾을 수 없어요", "링크 주소를 다시 확인해 주세요."),
                    HttpError::Gone => (
                        "지금은 참여할 수 없는 이벤트예요",
                        "이벤트가 종료되었거나 잠시 멈췄어요. 참여해 주셔서 감사합니다.",
                    ),
                    HttpError::BadRequest(_) => ("요청을 처리할 수 없어요", "입력하신 내용을 다시 확인해 주세요."),
                    HttpError::Unauthorized | HttpError::Forbidden(_) => {
                        ("접근할 수 없어요", "페이지를 새로 열어 다시 시도해 주세요.")
                    }
                    HttpError::Conflict(_) => ("이미 처리되었어요", "같은 요청이 이미 처리되었습니다."),
                    HttpError::TooLarge => ("입력이 너무 길어요", "내용을 줄여서 다시 보내 주세요."),
                    HttpError::MethodNotAllowed => ("잘못된 요청이에요", "링크를 다시 열어 주세요."),
                    HttpError::TooMany(Limit::ShareVisitors) => (
                        "이 링크로는 더 참여할 수 없어요",
                        "공유 링크 한 개로 참여할 수 있는 인원이 다 찼어요. 친구에게 새 링크를 받아 주세요.",
                    ),
                    HttpError::TooMany(Limit::NetworkVisitors) => (
                        "잠시 후 다시 시도해 주세요",
                        "같은 인터넷 연결에서 새로 참여하는 분이 너무 많아요. 한 시간쯤 뒤에 다시 열어 주세요.",
                    ),
                    HttpError::TooMany(Limit::StoreRedemptions) => (
                        "잠시 후 다시 시도해 주세요",
                        "짧은 시간에 요청이 너무 많았어요. 1분 뒤에 다시 시도해 주세요.",
                    ),
                    HttpError::Internal(_) => ("잠시 후 다시 시도해 주세요", "일시적인 문제가 생겼어요."),
                };
                html_response(status, pages::error::render(title, message).into_string())
            }
        }
    }
}
