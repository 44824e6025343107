//! `POST /p/{code}/share`: mints the recipient's share link (once) and records the intent.

use lambda_http::{Body, Request, Response};
use mcamp_core::events::{EventData, ShareChannel};
use mcamp_http::personal::Personal;
use mcamp_http::request::{form, origin};
use mcamp_http::response::{json_response, see_other, wants_json};
use mcamp_http::{HttpError, Web, tokens};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct SharePost {
    #[serde(default)]
    token: String,
    #[serde(default)]
    channel: String,
}

pub(crate) async fn share(web: &Web, req: &Request, p: &Personal) -> Result<Response<Body>, HttpError> {
    let post: SharePost = form(req)?;
    tokens::check(&web.site.secret, p.code.as_str(), &post.token)?;
    let channel = match post.channel.as_str() {
        "kakao" => ShareChannel::Kakao,
        "copy_link" => ShareChannel::CopyLink,
        "sms" => ShareChannel::Sms,
        _ => {
            return Err(HttpError::BadRequest("channel: must be kakao, copy_link or sms".into()));
        }
    };
    let db = &web.app.db;
    let now = web.app.now();
    let code = db.share_code(&p.recipient, now).await?;
    db.append_event(&p.event(
        now,
        EventData::ShareIntent {
            channel,
            share_code: code.clone(),
        },
    ))
    .await?;
    let c = p.campaign();
    let url = format!("{}/{code}", origin(req, web.site.base_url.as_deref()));
    if wants_json(req) {
        Ok(json_response(
            200,
            &json!({ "url": url, "code": code, "title": c.share.title, "description": c.share.description, "image": c.share.image }),
        ))
    } else if channel == ShareChannel::Sms {
        Ok(see_other(format!("sms:?&body={url}")))
    } else {
        Ok(see_other(format!("/p/{}?m=shared#share", p.code)))
    }
}
