//! `POST /p/{code}/claim`: claims a coupon through the coupon pipeline (claim recorded and
//! queued, the issuer decides). A refusal is shown on the page in Korean.

use lambda_http::{Body, Request, Response};
use mcamp_core::values::CouponId;
use mcamp_http::personal::Personal;
use mcamp_http::request::form;
use mcamp_http::response::{json_response, see_other, wants_json};
use mcamp_http::{HttpError, Web, tokens};
use mcamp_store::claims::{self, ClaimError};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct ClaimPost {
    #[serde(default)]
    token: String,
    #[serde(default)]
    coupon: String,
}

pub(crate) async fn claim(web: &Web, req: &Request, p: &Personal) -> Result<Response<Body>, HttpError> {
    let post: ClaimPost = form(req)?;
    tokens::check(&web.site.secret, p.code.as_str(), &post.token)?;
    let coupon =
        CouponId::parse(&post.coupon).map_err(|_| HttpError::BadRequest("coupon: missing or malformed".into()))?;
    // The recipient as this request opened it: the form's save is a request of its own.
    match claims::claim(
        &web.app.db,
        web.app.queue.as_ref(),
        p.campaign(),
        &p.recipient,
        p.customer.as_ref(),
        &coupon,
        web.app.now(),
    )
    .await
    {
        Ok(c) if wants_json(req) => Ok(json_response(
            202,
            &json!({ "coupon": c.coupon_id, "status": c.status, "code": c.code }),
        )),
        Ok(_) => Ok(see_other(format!("/p/{}?m=claimed#coupon", p.code))),
        Err(ClaimError::Storage(e)) => Err(e.into()),
        Err(ClaimError::UnknownCoupon) => Err(HttpError::BadRequest("coupon: unknown".into())),
        Err(e @ ClaimError::Ineligible(_)) if wants_json(req) => Err(HttpError::Forbidden(e.to_string())),
        Err(e @ ClaimError::Ineligible(_)) => crate::view::page(web, req, p, None, Some(&e.to_string()), 403).await,
    }
}
