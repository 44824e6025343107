//! `GET`/`POST /p/{code}/optout`: the opt-out page and the opt-out itself. The person types
//! their full number (a forwarded link must not opt its owner out); the opt-out suppresses ads
//! to that customer in every campaign of the brand, withdraws their marketing consents, and
//! records the ledger entries and events, in one transaction.

use lambda_http::{Body, Request, Response};
use mcamp_core::consent::{self, Source};
use mcamp_core::events::EventData;
use mcamp_core::values::PhoneNumber;
use mcamp_http::pages::mdm::{self, OptOutView};
use mcamp_http::personal::Personal;
use mcamp_http::request::form;
use mcamp_http::response::html_response;
use mcamp_http::tokens::{self, form_token};
use mcamp_http::{HttpError, Web};
use mcamp_store::customers::CustomerChange;
use serde::Deserialize;

#[derive(Deserialize)]
struct OptOutPost {
    #[serde(default)]
    token: String,
    #[serde(default)]
    phone: String,
}

fn render(web: &Web, p: &Personal, error: Option<&str>, done: bool, status: u16) -> Response<Body> {
    let token = form_token(&web.site.secret, p.code.as_str());
    let masked = p
        .customer
        .as_ref()
        .and_then(|c| c.phone.as_ref())
        .or(p.recipient.phone.as_ref())
        .map(PhoneNumber::masked);
    let c = p.campaign();
    let view = OptOutView {
        brand: &c.sender.brand,
        code: p.code.as_str(),
        token: if done { "" } else { &token },
        phone_on_record: masked.as_deref(),
        opt_out_080: &c.sender.opt_out_080,
        error,
        done,
    };
    html_response(status, mdm::optout(&view).into_string())
}

pub(crate) fn page(web: &Web, p: &Personal) -> Response<Body> {
    render(web, p, None, false, 200)
}

pub(crate) async fn opt_out(web: &Web, req: &Request, p: &Personal) -> Result<Response<Body>, HttpError> {
    let post: OptOutPost = form(req)?;
    tokens::check(&web.site.secret, p.code.as_str(), &post.token)?;
    let Ok(phone) = PhoneNumber::parse(&post.phone) else {
        return Ok(render(
            web,
            p,
            Some("휴대폰 번호를 010-1234-5678 형식으로 입력해 주세요."),
            false,
            400,
        ));
    };
    let c = p.campaign();
    let key = web.site.phone_key.customer_key(c.brand(), &phone);
    if p.recipient.customer.as_ref().is_some_and(|k| *k != key) {
        // Not the number of this link: nothing changes (their own number can be refused by
        // the 080 line, or on their own link).
        return Ok(render(
            web,
            p,
            Some("이 링크에 등록된 번호와 달라요. 본인 번호는 무료 수신거부 전화로도 거부할 수 있어요."),
            false,
            400,
        ));
    }
    let db = &web.app.db;
    let now = web.app.now();
    let before = match &p.customer {
        Some(customer) => Some(customer.clone()),
        None => db.customer(c.brand(), &key).await?,
    };
    if p.recipient.opted_out_at.is_some() && before.as_ref().is_some_and(|b| b.is_suppressed()) {
        // Done before: a repeat changes nothing and records nothing.
        return Ok(render(web, p, None, true, 200));
    }
    let version = c
        .form
        .as_ref()
        .map_or("opt-out".to_owned(), |f| f.consent_version.clone());
    let consents = before.map(|b| b.consents).unwrap_or_default();
    let mut r = p.recipient.clone();
    r.opted_out_at = r.opted_out_at.or(Some(now));
    let change = CustomerChange {
        consents: consent::opt_out_changes(&consents, &version, Source::OptOutLink),
        suppress: Some(Source::OptOutLink),
        recipient: Some(&r),
        save_profile: true,
        campaign: Some(&c.id),
        events: vec![EventData::OptedOut {
            channel: Source::OptOutLink,
        }],
        ..CustomerChange::new(c.brand(), &key, now)
    };
    db.change_customer(&change).await?;
    Ok(render(web, p, None, true, 200))
}
