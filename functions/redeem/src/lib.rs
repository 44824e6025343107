//! `POST /api/stores/{store}/redeem` with `Authorization: Bearer <store key>` and
//! `{"code": "…"}`: marks a coupon used. Idempotent for the same store; a second use elsewhere
//! is 409 with when and where; a wrong key is 401 and says nothing about the coupon.

use lambda_http::{Body, Request, RequestPayloadExt, Response};
use mcamp_core::values::{CouponCode, StoreId};
use mcamp_http::request::{body_bytes, header, path_param};
use mcamp_http::response::json_response;
use mcamp_http::{Flavor, HttpError, Web};
use mcamp_store::redeem::{self, RedeemError};
use serde_json::json;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    code: String,
}

pub async fn handle(web: &Web, req: Request) -> Response<Body> {
    redeem(web, &req)
        .await
        .unwrap_or_else(|e| e.into_response(Flavor::Json))
}

async fn redeem(web: &Web, req: &Request) -> Result<Response<Body>, HttpError> {
    let app = &web.app;
    // Authentication comes first: nothing about the coupon is read without a valid key.
    let store = path_param(req, "store")
        .and_then(|s| StoreId::parse(&s).ok())
        .ok_or(HttpError::Unauthorized)?;
    let key = header(req, "authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(HttpError::Unauthorized)?;
    body_bytes(req)?;
    // JSON whatever the content type says: the till's client may send none.
    let body: RedeemBody = req
        .json()
        .map_err(|e| {
            HttpError::BadRequest(
                format!("body: {}", lambda_http::ext::PayloadError::from(e))
                    .trim_end()
                    .to_owned(),
            )
        })?
        .ok_or_else(|| HttpError::BadRequest("body: expected {\"code\": \"…\"}".into()))?;
    let code = CouponCode::parse(&body.code).map_err(|e| HttpError::BadRequest(e.to_string()))?;
    match redeem::redeem(&app.db, &store, key, &code, app.now()).await {
        Ok(r) => Ok(json_response(
            200,
            &json!({
                "code": r.coupon.code, "coupon_id": r.coupon.coupon_id, "campaign_id": r.coupon.campaign_id,
                "redeemed_at": r.coupon.redeemed_at, "store": r.coupon.redeemed_store, "repeat": r.repeat,
            }),
        )),
        Err(RedeemError::Unauthorized) => Err(HttpError::Unauthorized),
        Err(RedeemError::NotFound) => Err(HttpError::NotFound),
        Err(RedeemError::AlreadyUsed { at, store }) => Err(HttpError::Conflict(
            json!({ "reason": "already_used", "redeemed_at": at, "store": store }),
        )),
        Err(RedeemError::Expired(until)) => Err(HttpError::Conflict(
            json!({ "reason": "expired", "valid_until": until }),
        )),
        Err(RedeemError::TooMany) => Err(HttpError::TooMany(mcamp_store::Limit::StoreRedemptions)),
        Err(RedeemError::NotYetValid(from)) => Err(HttpError::Conflict(
            json!({ "reason": "not_yet_valid", "valid_from": from }),
        )),
        Err(RedeemError::Storage(e)) => Err(e.into()),
    }
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_http::lambda::env()
}
