//! Calls that are not a recipient's page: `POST /e`, the page's interaction beacons, and
//! `POST /hooks/kakao/share`, Kakao's callback after a share message is sent.

use lambda_http::{Body, Request, RequestPayloadExt, Response};
use mcamp_core::events::{Attribution, Event, EventData};
use mcamp_core::link::LinkKind;
use mcamp_core::values::{ShortCode, constant_time_eq};
use mcamp_http::request::{body_bytes, header, pairs, query_param};
use mcamp_http::response::{json_response, no_content};
use mcamp_http::tokens::beacon_token_ok;
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
    if !beacon_token_ok(&web.site.secret, code.as_str(), &b.token, web.app.now()) {
        return Err(HttpError::Forbidden(
            "token does not match the code or has expired".into(),
        ));
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

/// What Kakao's share webhook sends: the page's `serverCallbackArgs` (`share_code`) and
/// Kakao's own `CHAT_TYPE` and `HASH_CHAT_ID`.
#[derive(Deserialize, Default)]
struct KakaoCallback {
    share_code: Option<String>,
    #[serde(rename = "CHAT_TYPE")]
    chat_type: Option<String>,
    #[serde(rename = "HASH_CHAT_ID")]
    chat: Option<String>,
}

impl KakaoCallback {
    /// From the query (the webhook configured as GET), or the body: JSON or a form, with or
    /// without a content type.
    fn read(req: &Request, bytes: &[u8]) -> Self {
        if req.method() == lambda_http::http::Method::GET {
            return KakaoCallback {
                share_code: query_param(req, "share_code"),
                chat_type: query_param(req, "CHAT_TYPE"),
                chat: query_param(req, "HASH_CHAT_ID"),
            };
        }
        if let Ok(Some(c)) = req.payload::<KakaoCallback>() {
            return c;
        }
        if let Ok(c) = serde_json::from_slice::<KakaoCallback>(bytes) {
            return c;
        }
        let mut c = KakaoCallback::default();
        for (k, v) in pairs(bytes) {
            match k.as_ref() {
                "share_code" => c.share_code = Some(v.into_owned()),
                "CHAT_TYPE" => c.chat_type = Some(v.into_owned()),
                "HASH_CHAT_ID" => c.chat = Some(v.into_owned()),
                _ => {}
            }
        }
        c
    }
}

/// An opaque id from Kakao kept only when it looks like one (bounded, no markup).
fn kakao_token(v: Option<String>, max: usize) -> Option<String> {
    v.filter(|v| {
        !v.is_empty() && v.len() <= max && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=_.-".contains(&b))
    })
}

/// `GET` or `POST /hooks/kakao/share`: Kakao calls this after a share message is sent, with
/// `Authorization: KakaoAK <admin key>`, its delivery id in `X-Kakao-Resource-ID`, the chat
/// (`CHAT_TYPE`, `HASH_CHAT_ID`) and the `serverCallbackArgs` the page passed (`share_code`).
/// Kakao sends once and never again, and needs a 2xx within 3 s: a transient write error is
/// retried here (three times, after 0.1, 0.3 and 0.9 s), and a repeated delivery records
/// nothing twice.
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
    let callback = KakaoCallback::read(req, body_bytes(req)?);
    let share_code = callback
        .share_code
        .ok_or_else(|| HttpError::BadRequest("share_code: missing".into()))?;
    let code = ShortCode::parse(&share_code).map_err(|e| HttpError::BadRequest(e.to_string()))?;
    let link = web.app.db.link(&code).await?.ok_or(HttpError::NotFound)?;
    if link.kind != LinkKind::Share {
        return Err(HttpError::BadRequest("share_code: not a share link".into()));
    }
    let event = Event::new(
        link.campaign_id.clone(),
        web.app.now(),
        EventData::ShareDelivered {
            share_code: code,
            chat_type: kakao_token(callback.chat_type, 32),
            chat: kakao_token(callback.chat, 128),
        },
    )
    .by(Attribution::owner(link.recipient_id.clone()));
    let delivery = kakao_token(header(req, "x-kakao-resource-id").map(str::to_owned), 128);
    let mut attempt = 0;
    loop {
        let written = match &delivery {
            Some(id) => web
                .app
                .db
                .append_event_once(&format!("kakao:{id}"), &event)
                .await
                .map(|_| ()),
            None => web.app.db.append_event(&event).await,
        };
        match written {
            Ok(()) => break,
            Err(e) if e.is_transient() && attempt < 3 => {
                attempt += 1;
                tracing::warn!(error = %mcamp_http::error::chain(&e), attempt, "share callback not written yet; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(100 * 3u64.pow(attempt - 1))).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(json_response(200, &json!({ "ok": true })))
}
