//! Responses every function builds: pages, JSON, and the 303 after a form post. Each carries
//! `no-store`: a recipient's page is personal, never cached by an intermediary.

use lambda_http::{Body, Request, Response};

use crate::request::header;

pub fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

pub fn html_response(status: u16, html: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "strict-origin-when-cross-origin")
        .header("content-security-policy", crate::pages::content_security_policy())
        .header("x-frame-options", "DENY")
        .body(Body::from(html))
        .unwrap_or_default()
}

/// 303 to `location`, not cached: the answer to a form post.
pub fn see_other(location: String) -> Response<Body> {
    Response::builder()
        .status(303)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .unwrap_or_default()
}

/// 204, for beacons.
pub fn no_content() -> Response<Body> {
    Response::builder().status(204).body(Body::Empty).unwrap_or_default()
}

/// A program asking for JSON (`Accept: application/json`) rather than a page.
pub fn wants_json(req: &Request) -> bool {
    header(req, "accept").is_some_and(|a| a.contains("application/json"))
}
