//! `POST /p/{code}/notme`: "본인이 아니신가요?". Whoever reads a forwarded link joins as a
//! visitor of their own through the owner's share link (credited to the owner), and never
//! touches the owner's record.

use lambda_http::{Body, Request, Response};
use mcamp_http::personal::Personal;
use mcamp_http::request::form;
use mcamp_http::response::see_other;
use mcamp_http::{HttpError, Web, tokens};
use serde::Deserialize;

#[derive(Deserialize)]
struct NotMePost {
    #[serde(default)]
    token: String,
}

pub(crate) async fn not_me(web: &Web, req: &Request, p: &Personal) -> Result<Response<Body>, HttpError> {
    let post: NotMePost = form(req)?;
    tokens::check(&web.site.secret, p.code.as_str(), &post.token)?;
    let share = web.app.db.share_code(&p.recipient, web.app.now()).await?;
    // The redirect mints the visitor and remembers them in this browser.
    Ok(see_other(format!("/{share}")))
}
