//! `GET`/`POST /p/{code}/optout`: the opt-out page and the opt-out itself (the marketing
//! consent withdrawn, with its ledger entry and events).

use lambda_http::{Body, Request, Response};
use mcamp_core::consent::{self, Channel};
use mcamp_core::events::EventData;
use mcamp_http::pages::mdm;
use mcamp_http::personal::Personal;
use mcamp_http::request::form;
use mcamp_http::response::html_response;
use mcamp_http::tokens::{self, form_token};
use mcamp_http::{HttpError, Web};
use serde::Deserialize;

#[derive(Deserialize)]
struct OptOutPost {
    #[serde(default)]
    token: String,
}

pub(crate) fn page(web: &Web, p: &Personal) -> Response<Body> {
    let token = form_token(&web.site.secret, p.code.as_str());
    html_response(
        200,
        mdm::optout(&p.campaign().sender.brand, p.code.as_str(), &token, false).into_string(),
    )
}

pub(crate) async fn opt_out(web: &Web, req: &Request, p: &Personal) -> Result<Response<Body>, HttpError> {
    let post: OptOutPost = form(req)?;
    tokens::check(&web.site.secret, p.code.as_str(), &post.token)?;
    let db = &web.app.db;
    let now = web.app.now();
    // The recipient as this request opened it; `save_profile` only sets attributes, so a
    // concurrent change to anything else is kept.
    let mut r = p.recipient.clone();
    if r.opted_out_at.is_none() {
        r.opted_out_at = Some(now);
        db.save_profile(&r).await?;
        let version = p
            .campaign()
            .form
            .as_ref()
            .map_or("opt-out".to_owned(), |f| f.consent_version.clone());
        for change in consent::opt_out_changes(&r.consent, &version) {
            db.change_consent(&r, &change, now).await?;
        }
        db.append_event(&p.event(
            now,
            EventData::OptedOut {
                channel: Channel::OptOutLink,
            },
        ))
        .await?;
    }
    Ok(html_response(
        200,
        mdm::optout(&p.campaign().sender.brand, p.code.as_str(), "", true).into_string(),
    ))
}
