//! Calls that are not a recipient's page: `POST /e`, the page's interaction beacons;
//! `POST /hooks/kakao/share`, Kakao's callback after a share message is sent; and the SMS
//! senders' delivery webhooks, `POST /hooks/nhn/message-result` and
//! `POST /hooks/solapi/message-report`.

use futures::stream::{self, StreamExt, TryStreamExt};
use lambda_http::{Body, Request, RequestPayloadExt, Response};
use mcamp_core::analytics::{PAGE_DEPTH, block_index};
use mcamp_core::events::{Attribution, Event, EventData};
use mcamp_core::link::LinkKind;
use mcamp_core::sends::{self, DeliveryResult, Outcome, Reported, Sender};
use mcamp_core::values::{RecipientId, ShortCode, constant_time_eq};
use mcamp_http::request::{body_bytes, header, pairs, query_param};
use mcamp_http::response::{json_response, no_content};
use mcamp_http::tokens::beacon_token_ok;
use mcamp_http::{HttpError, Web};
use mcamp_store::DbError;
use serde::Deserialize;
use serde_json::Value;
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
    if !matches!(b.action.as_str(), "video_play" | "scroll_end" | "cta_tap" | PAGE_DEPTH) {
        return Err(HttpError::BadRequest(
            "action: must be video_play, scroll_end, cta_tap or page_depth".into(),
        ));
    }
    // The page's depth names a block by its index: anything else would be a counter of the
    // sender's choosing.
    if b.action == PAGE_DEPTH && b.target.as_deref().and_then(block_index).is_none() {
        return Err(HttpError::BadRequest(
            "target: page_depth takes the index of a content block (0 to 63)".into(),
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
    .by(Attribution::owner_of(&link));
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

/// Largest delivery-webhook body: a sender's batch of results.
const MAX_HOOK_BODY: usize = 1024 * 1024;
/// Most results one delivery-webhook call may carry.
const MAX_HOOK_ITEMS: usize = 1000;
/// Results of one call recorded at once.
const HOOK_CONCURRENCY: usize = 16;

/// A delivery webhook's body, refused past `MAX_HOOK_BODY` (its results are read one by one,
/// so the 16 KB cap of forms does not fit).
fn hook_body(req: &Request) -> Result<&[u8], HttpError> {
    let bytes: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > MAX_HOOK_BODY {
        return Err(HttpError::TooLarge);
    }
    Ok(bytes)
}

/// The body as JSON, or 400 with the parser's position (never the body's content).
fn hook_json(req: &Request) -> Result<Value, HttpError> {
    serde_json::from_slice(hook_body(req)?).map_err(|e| HttpError::BadRequest(format!("body: not JSON ({e})")))
}

/// A field of a result as text, whether the sender wrote it as a string or a number.
fn field(item: &Value, key: &str) -> Option<String> {
    match item.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What became of one result of a call.
enum Recorded {
    /// Its events: how many were new, how many recorded before.
    Events { new: usize, already: usize },
    /// Cancelled or a duplicate at the sender: nothing to record.
    NotSent,
    /// No recipient has this id (a grouping key some other system set, say).
    UnknownRecipient,
    /// Not a result mcamp can record: no recipient id, an unknown status, no time.
    Invalid,
    /// Another kind of hook (NHN's 080 `UNSUBSCRIBE`): not a delivery result.
    Ignored,
}

/// What a call's results came to, as the webhook's answer says.
#[derive(Default, serde::Serialize)]
struct HookTally {
    items: usize,
    recorded: usize,
    already_recorded: usize,
    not_sent: usize,
    unknown_recipients: usize,
    invalid: usize,
    ignored: usize,
}

impl HookTally {
    fn add(&mut self, r: Recorded) {
        self.items += 1;
        match r {
            Recorded::Events { new, already } => {
                self.recorded += new;
                self.already_recorded += already;
            }
            Recorded::NotSent => self.not_sent += 1,
            Recorded::UnknownRecipient => self.unknown_recipients += 1,
            Recorded::Invalid => self.invalid += 1,
            Recorded::Ignored => self.ignored += 1,
        }
    }
}

/// Records one result for the recipient its id names, in that recipient's campaign, through
/// the same events and once-only writes as `mcamp sends import`.
async fn record_result(
    web: &Web,
    recipient: Option<String>,
    result: Option<DeliveryResult>,
) -> Result<Recorded, DbError> {
    let (Some(id), Some(result)) = (recipient.and_then(|r| RecipientId::parse(r.trim()).ok()), result) else {
        return Ok(Recorded::Invalid);
    };
    let Some(r) = web.app.db.recipient(&id).await? else {
        return Ok(Recorded::UnknownRecipient);
    };
    if result.outcome == Outcome::NotSent {
        return Ok(Recorded::NotSent);
    }
    // The report's own times only: a stand-in time would differ on a redelivery.
    let Ok(events) = result.events(&r.campaign_id, &r, None) else {
        return Ok(Recorded::Invalid);
    };
    let (mut new, mut already) = (0, 0);
    for e in &events {
        if web.app.db.append_event_new(e).await? {
            new += 1;
        } else {
            already += 1;
        }
    }
    Ok(Recorded::Events { new, already })
}

/// One result of a webhook call, as read from its JSON.
struct HookItem {
    /// The recipient id the send list carried (NHN's grouping key, Solapi's custom field).
    recipient: Option<String>,
    /// `None` when the status is not in the sender's table.
    result: Option<DeliveryResult>,
    /// False for another kind of hook sent to the same URL.
    delivery: bool,
}

/// Records a call's results, a few at once, and answers with the tally. A storage failure
/// fails the call (500), so the sender's retry, or the console's result file, brings the
/// rest; what was recorded is not recorded again.
async fn record_all(web: &Web, items: Vec<HookItem>) -> Result<Response<Body>, HttpError> {
    let outcomes: Vec<Recorded> = stream::iter(items)
        .map(|item| async move {
            if !item.delivery {
                return Ok(Recorded::Ignored);
            }
            record_result(web, item.recipient, item.result).await
        })
        .buffer_unordered(HOOK_CONCURRENCY)
        .try_collect()
        .await?;
    let mut tally = HookTally::default();
    for o in outcomes {
        tally.add(o);
    }
    let mut body = serde_json::to_value(&tally).unwrap_or_else(|_| json!({}));
    body["ok"] = json!(true);
    Ok(json_response(200, &body))
}

fn too_many(n: usize) -> Result<(), HttpError> {
    if n > MAX_HOOK_ITEMS {
        return Err(HttpError::BadRequest(format!(
            "{n} results in one call: at most {MAX_HOOK_ITEMS}"
        )));
    }
    Ok(())
}

/// `POST /hooks/nhn/message-result`: NHN Cloud Notification's webhook for
/// `MESSAGE_RESULT_UPDATE`, `{"event": …, "hooks": [{"messageStatus", "resultCode",
/// "recipientGroupingKey", "requestId", "recipientSeq", "requestDate", "receiveDate",
/// "senderType", …}]}`, with the signature set in NHN's console in `X-Toast-Webhook-Signature`
/// (compared in constant time). 404 when no signature is configured, 401 for a wrong one,
/// 400 for a body that is not such JSON; each hook's `recipientGroupingKey` is the recipient
/// id the send list carried. Other hook events (the 080 `UNSUBSCRIBE`) are counted as
/// ignored, and their phone numbers are never read.
pub(crate) async fn nhn_message_result(web: &Web, req: &Request) -> Result<Response<Body>, HttpError> {
    let Some(secret) = web.site.nhn_webhook_secret.as_ref() else {
        return Err(HttpError::NotFound);
    };
    let presented = header(req, "x-toast-webhook-signature").unwrap_or("");
    if !constant_time_eq(presented.trim(), secret.expose()) {
        return Err(HttpError::Unauthorized);
    }
    let body = hook_json(req)?;
    let Some(hooks) = body.get("hooks").and_then(Value::as_array) else {
        return Err(HttpError::BadRequest("body: expected {\"hooks\": [...]}".into()));
    };
    too_many(hooks.len())?;
    let event = body.get("event").and_then(Value::as_str);
    let items = hooks
        .iter()
        .map(|hook| {
            let kind = hook.get("hookEvent").and_then(Value::as_str).or(event);
            HookItem {
                // NHN's own example spells it `recipientGropuingKey`.
                recipient: field(hook, "recipientGroupingKey").or_else(|| field(hook, "recipientGropuingKey")),
                result: nhn_result(hook),
                delivery: kind.is_none_or(|k| k == "MESSAGE_RESULT_UPDATE"),
            }
        })
        .collect();
    record_all(web, items).await
}

/// One NHN hook as a delivery result; `None` when its status is not one NHN documents.
fn nhn_result(hook: &Value) -> Option<DeliveryResult> {
    let f = |k: &str| field(hook, k);
    let (status, code) = (f("messageStatus"), f("resultCode"));
    let reported = Reported {
        status: status.as_deref(),
        code: code.as_deref(),
        ..Reported::default()
    };
    Some(DeliveryResult {
        sender: Sender::Nhn,
        channel: Sender::Nhn.channel(f("senderType").or_else(|| f("messageType")).as_deref()),
        outcome: Sender::Nhn.outcome(&reported)?,
        message_id: sends::message_id(f("requestId").as_deref(), f("recipientSeq").as_deref()),
        code: code.or(status).as_deref().and_then(sends::result_code),
        requested_at: f("requestDate").as_deref().and_then(sends::parse_time),
        received_at: f("receiveDate").as_deref().and_then(sends::parse_time),
    })
}

/// `POST /hooks/solapi/message-report`: Solapi's `MessageReport` webhook, message records as
/// Solapi lists them (`messageId`, `statusCode`, `type`, `customFields`, `dateCreated`,
/// `dateReceived`), as a JSON array or under `messageList`, `messages` or `data`. Solapi's
/// console takes a URL only, so the secret the marketer configures rides in it
/// (`…/hooks/solapi/message-report?key=SECRET`; the API's access log records the path, not
/// the query); a caller that can set headers may present `Authorization: Bearer SECRET`
/// instead. Compared in constant time. 404 when no secret is configured, 401 for a wrong
/// one, 400 for a body that is not such JSON; `customFields.recipient_id` is the recipient
/// id the send list carried.
pub(crate) async fn solapi_message_report(web: &Web, req: &Request) -> Result<Response<Body>, HttpError> {
    let Some(secret) = web.site.solapi_webhook_secret.as_ref() else {
        return Err(HttpError::NotFound);
    };
    let bearer = header(req, "authorization").and_then(|h| h.strip_prefix("Bearer "));
    let key = query_param(req, "key");
    let matches = |p: Option<&str>| p.is_some_and(|p| constant_time_eq(p.trim(), secret.expose()));
    if !(matches(bearer) | matches(key.as_deref())) {
        return Err(HttpError::Unauthorized);
    }
    let reports = solapi_reports(hook_json(req)?)?;
    too_many(reports.len())?;
    let items = reports
        .iter()
        .map(|m| {
            let fields = m.get("customFields").unwrap_or(&Value::Null);
            HookItem {
                recipient: field(fields, "recipient_id")
                    .or_else(|| field(fields, "recipientId"))
                    .or_else(|| field(m, "recipient_id")),
                result: solapi_result(m),
                delivery: true,
            }
        })
        .collect();
    record_all(web, items).await
}

/// The message records of a Solapi report body.
fn solapi_reports(body: Value) -> Result<Vec<Value>, HttpError> {
    let bad = || HttpError::BadRequest("body: expected a list of message reports".into());
    match body {
        Value::Array(a) => Ok(a),
        Value::Object(mut m) => {
            for key in ["messageList", "messages", "data"] {
                match m.remove(key) {
                    Some(Value::Array(a)) => return Ok(a),
                    // `messageList` keyed by message id, as Solapi's list API answers.
                    Some(Value::Object(o)) => return Ok(o.into_iter().map(|(_, v)| v).collect()),
                    _ => {}
                }
            }
            if m.contains_key("messageId") {
                return Ok(vec![Value::Object(m)]);
            }
            Err(bad())
        }
        _ => Err(bad()),
    }
}

/// One Solapi message record as a delivery result; `None` for a status code not in Solapi's table.
fn solapi_result(m: &Value) -> Option<DeliveryResult> {
    let f = |k: &str| field(m, k);
    let status = f("statusCode");
    let reported = Reported {
        status: status.as_deref(),
        ..Reported::default()
    };
    Some(DeliveryResult {
        sender: Sender::Solapi,
        channel: Sender::Solapi.channel(f("type").as_deref()),
        outcome: Sender::Solapi.outcome(&reported)?,
        message_id: sends::message_id(f("messageId").as_deref(), None),
        code: status.as_deref().and_then(sends::result_code),
        requested_at: f("dateCreated").as_deref().and_then(sends::parse_time),
        received_at: f("dateReceived")
            .or_else(|| f("dateReported"))
            .as_deref()
            .and_then(sends::parse_time),
    })
}
