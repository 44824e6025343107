//! `GET`/`POST /c/{code}`: the consent confirmation link a send list's confirmation message
//! carries. The page names what is to be confirmed; only the tap (a post) confirms, so a link
//! preview's fetch changes nothing. A forged, expired or spent link gets a Korean page and
//! changes nothing.

use lambda_http::{Body, Request, Response};
use mcamp_core::consent;
use mcamp_core::events::EventData;
use mcamp_core::values::ShortCode;
use mcamp_http::pages::confirm::{self, ConfirmView};
use mcamp_http::request::path_param;
use mcamp_http::response::html_response;
use mcamp_http::{HttpError, Web};
use mcamp_store::customers::{Confirmation, CustomerChange};

fn page(status: u16, view: &ConfirmView<'_>) -> Response<Body> {
    html_response(status, confirm::render(view).into_string())
}

/// The confirmation behind the path's code, with the customer's unconfirmed consents.
async fn load(
    web: &Web,
    req: &Request,
) -> Result<Option<(ShortCode, Confirmation, Vec<consent::ConsentChange>, String)>, HttpError> {
    let Some(code) = path_param(req, "token").and_then(|c| ShortCode::parse(&c).ok()) else {
        return Ok(None);
    };
    let db = &web.app.db;
    let Some(confirmation) = db.confirmation(&code, web.app.now()).await? else {
        return Ok(None);
    };
    let Some(customer) = db.customer(&confirmation.brand, &confirmation.customer).await? else {
        return Ok(None);
    };
    let brand = web
        .app
        .campaign(&confirmation.campaign_id)
        .await?
        .map(|c| c.campaign.sender.brand.clone())
        .unwrap_or_default();
    Ok(Some((
        code,
        confirmation,
        consent::confirmations(&customer.consents),
        brand,
    )))
}

pub(crate) async fn show(web: &Web, req: &Request) -> Result<Response<Body>, HttpError> {
    Ok(match load(web, req).await? {
        None => page(404, &ConfirmView::Invalid),
        Some((_, _, pending, brand)) if pending.is_empty() => page(200, &ConfirmView::Done { brand: &brand }),
        Some((code, _, pending, brand)) => page(
            200,
            &ConfirmView::Ask {
                brand: &brand,
                code: code.as_str(),
                purposes: pending.iter().map(|c| c.purpose.label_ko()).collect(),
            },
        ),
    })
}

pub(crate) async fn confirm(web: &Web, req: &Request) -> Result<Response<Body>, HttpError> {
    let Some((_, confirmation, pending, brand)) = load(web, req).await? else {
        return Ok(page(404, &ConfirmView::Invalid));
    };
    if !pending.is_empty() {
        let purposes = pending.iter().map(|c| c.purpose).collect();
        let change = CustomerChange {
            consents: pending,
            campaign: Some(&confirmation.campaign_id),
            events: vec![EventData::ConsentConfirmed { purposes }],
            ..CustomerChange::new(&confirmation.brand, &confirmation.customer, web.app.now())
        };
        web.app.db.change_customer(&change).await?;
    }
    Ok(page(200, &ConfirmView::Done { brand: &brand }))
}
