//! Calls that are not a recipient's page: `POST /e`, the page's interaction beacons, and
//! `POST /hooks/kakao/share`, Kakao's callback after a share message is sent.

use lambda_http::{Body, Request, RequestPayloadExt, Response};
use mcamp_core::events::{Attribution, Event, EventData};
use mcamp_core::link::LinkKind;
use mcamp_core::values::{ShortCode, constant_time_eq};
use mcamp_http::request::{body_bytes, header, pairs};
use mcamp_http::response::{json_response, no_content};
use mcamp_http::tokens::token_ok;
use mcamp_http::{HttpError, Web};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Beacon {
    code: String,
    token: String,
    action: String,
    #[serde(default)]
    target: Option<String>,
}

/// `POST /e` from `navigator.sendBeacon`: `{code, token, action, target}` as text or JSON.
pub(crate) async fn beacon(web: &Web, req: &Request) -> Result<Response<Body>, HttpError> {
    let bytes = body_bytes(req)?;
    // sendBeacon posts a string as text/plain: read the JSON whatever the content type.
    let b: Beacon = serde_json::from_slice(bytes).map_err(|e| HttpError::BadRequest(format!("body: {e}")))?;
    let code = ShortCode::parse(&b.code).map_err(|e| HttpError::BadRequest(e.to_string()))?;
    if !token_ok(&web.site.secret, code.as_str(), &b.token) {
        return Err(HttpError::Forbidden("token does not match the code".into()));
    }
    if !matches!(b.action.as_str(), "video_play" | "scroll_end" | "cta_tap") {
        return Err(HttpError::BadRequest(
            "action: must be video_play, scroll_end or cta_tap".into(),
        ));
    }
    let target = b.target.map(|t| t.chars().take(100).collect::<String>());
    let link = web.app.db.link(&code).await?.ok_or(HttpError::NotFound)?;
    if link.recipient_id.is_none() {
        return Err(HttpError::NotFound);
    }
    let event = Event::new(
        link.campaign_id.clone(),
        web.app.now(),
        EventData::Interaction {
            action: b.action,
            target,
        },
    )
    .by(Attribution::from(&link));
    web.app.db.append_event(&event).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct KakaoCallback {
    share_code: String,
}

/// `POST /hooks/kakao/share`: Kakao calls this after a share message is sent, with
/// `Authorization: KakaoAK <admin key>` and the `serverCallbackArgs` the page passed
/// (`share_code`). It needs a 2xx within 3 s, so it does one read and one write.
pub(crate) async fn kakao_share_delivered(web: &Web, req: &Request) -> Result<Response<Body>, HttpError> {
    let Some(admin_key) = web.site.kakao_admin_key.as_ref() else {
        return Err(HttpError::NotFound);
    };
    let presented = header(req, "authorization")
        .and_then(|h| h.strip_prefix("KakaoAK "))
        .unwrap_or("");
    if !constant_time_eq(presented, admin_key.expose()) {
        return Err(HttpError::Unauthorized);
    }
    let bytes = body_bytes(req)?;
    // Kakao posts the callback arguments as JSON or as a form, with or without a content type.
    let share_code = match req.payload::<KakaoCallback>() {
        Ok(Some(c)) => Some(c.share_code),
        _ => serde_json::from_slice::<KakaoCallback>(bytes)
            .ok()
            .map(|c| c.share_code)
            .or_else(|| {
                pairs(bytes)
                    .find(|(k, _)| k == "share_code")
                    .map(|(_, v)| v.into_owned())
            }),
    }
    .ok_or_else(|| HttpError::BadRequest("share_code: missing".into()))?;
    let code = ShortCode::parse(&share_code).map_err(|e| HttpError::BadRequest(e.to_string()))?;
    let link = web.app.db.link(&code).await?.ok_or(HttpError::NotFound)?;
    if link.kind != LinkKind::Share {
        return Err(HttpError::BadRequest("share_code: not a share link".into()));
    }
    let event = Event::new(
        link.campaign_id.clone(),
        web.app.now(),
        EventData::ShareDelivered { share_code: code },
    )
    .by(Attribution::owner(link.recipient_id.clone()));
    web.app.db.append_event(&event).await?;
    Ok(json_response(200, &json!({ "ok": true })))
}
