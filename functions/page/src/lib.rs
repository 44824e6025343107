//! The M-DM page function: `GET /p/{code}` renders the recipient's page; the posts under it
//! save the info form (with the consent ledger), claim a coupon, mint a share link, and opt
//! out; `GET /p/{code}/coupon` reports coupon states to the page's script; `POST /e` takes
//! client-side interaction beacons, `POST /hooks/kakao/share` Kakao's share callback, and the
//! SMS senders' delivery webhooks (`/hooks/nhn/message-result`, `/hooks/solapi/message-report`).
//! Everything important is also recorded server-side. One module per action.

mod claim;
mod confirm;
pub mod form;
mod hooks;
mod notme;
mod optout;
mod share;
mod view;

use lambda_http::{Body, Request, Response};
use mcamp_http::personal::{self, Opened, Personal};
use mcamp_http::response::{see_other, wants_json};
use mcamp_http::routes::{Action, action_of};
use mcamp_http::{Flavor, HttpError, Web};

pub async fn handle(web: &Web, req: Request) -> Response<Body> {
    let action = action_of(&req);
    let json = wants_json(&req)
        || matches!(
            action,
            Some(Action::Beacon | Action::KakaoShare | Action::NhnMessageResult | Action::SolapiMessageReport)
        );
    let flavor = if json { Flavor::Json } else { Flavor::Html };
    let result = match action {
        _ if let Err(e) = mcamp_http::request::utf8_query(&req) => Err(e),
        Some(Action::Beacon) => hooks::beacon(web, &req).await,
        Some(Action::KakaoShare) => hooks::kakao_share_delivered(web, &req).await,
        Some(Action::NhnMessageResult) => hooks::nhn_message_result(web, &req).await,
        Some(Action::SolapiMessageReport) => hooks::solapi_message_report(web, &req).await,
        Some(Action::ConfirmPage) => confirm::show(web, &req).await,
        Some(Action::Confirm) => confirm::confirm(web, &req).await,
        Some(action) => match personal::open(&web.app, &req).await {
            Err(e) => Err(e),
            Ok(Opened::Redirect(code)) => Ok(see_other(format!("/{code}"))),
            Ok(Opened::Personal(p)) => personal_action(web, &req, &p, action).await,
        },
        None => Err(HttpError::NotFound),
    };
    result.unwrap_or_else(|e| e.into_response(flavor))
}

async fn personal_action(web: &Web, req: &Request, p: &Personal, action: Action) -> Result<Response<Body>, HttpError> {
    match action {
        Action::Page => view::page(web, req, p, None, None, 200).await,
        Action::CouponStates => view::coupon_states(web, p).await,
        Action::SubmitForm => form::submit(web, req, p).await,
        Action::Claim => claim::claim(web, req, p).await,
        Action::Share => share::share(web, req, p).await,
        Action::OptOutPage => Ok(optout::page(web, p)),
        Action::OptOut => optout::opt_out(web, req, p).await,
        Action::NotMe => notme::not_me(web, req, p).await,
        _ => Err(HttpError::MethodNotAllowed),
    }
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_http::lambda::env()
}
