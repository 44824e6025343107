//! The M-DM page function: `GET /p/{code}` renders the recipient's page; the posts under it
//! save the info form (with the consent ledger), claim a coupon, mint a share link, and opt
//! out; `GET /p/{code}/coupon` reports coupon states to the page's script; `POST /e` takes
//! client-side interaction beacons. Everything important is also recorded server-side.

pub mod form;

use chrono::Datelike;
use lambda_http::{Body, Request, Response};
use mcamp_domain::coupons::{self, ClaimError};
use mcamp_domain::db::coupons::{ClaimRecord, ClaimStatus};
use mcamp_domain::db::links::LinkKind;
use mcamp_domain::db::recipients::{ConsentEntry, Recipient};
use mcamp_domain::events::{Event, EventData, ShareChannel};
use mcamp_domain::ua::{self, InApp, Os};
use mcamp_domain::values::{CouponId, ShortCode};
use mcamp_http::error::{html_response, json_response};
use mcamp_http::pages::mdm::{self, CouponState, CouponView, FormValues, FormView, MdmView};
use mcamp_http::personal::{self, Opened, Personal, see_other, wants_json};
use mcamp_http::request::{body_bytes, form as form_fields, header, origin, query_param};
use mcamp_http::tokens::{form_token, token_ok};
use mcamp_http::{App, Flavor, HttpError};
use serde_json::json;

/// The recipient behind the page's link, with their campaign.
type Ctx = Personal;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let json = wants_json(&req) || path == "/e" || path.starts_with("/hooks/");
    let flavor = if json { Flavor::Json } else { Flavor::Html };
    let result = if path == "/e" {
        beacon(app, &req).await
    } else if path == "/hooks/kakao/share" {
        kakao_share_delivered(app, &req).await
    } else {
        match personal::open(app, &req).await {
            Err(e) => Err(e),
            Ok(Opened::Redirect(code)) => Ok(see_other(format!("/{code}"))),
            Ok(Opened::Personal(ctx)) => {
                let action = path.rsplit('/').next().unwrap_or("");
                let post = req.method() == lambda_http::http::Method::POST;
                match (post, action) {
                    (false, "coupon") => coupon_states(app, &ctx).await,
                    (false, "optout") => Ok(html_response(
                        200,
                        mdm::optout(
                            &ctx.campaign().sender.brand,
                            ctx.code.as_str(),
                            &form_token(&app.config.secret, ctx.code.as_str()),
                            false,
                        )
                        .into_string(),
                    )),
                    (false, _) => page(app, &req, &ctx, None, None, 200).await,
                    (true, "form") => submit_form(app, &req, &ctx).await,
                    (true, "claim") => claim(app, &req, &ctx).await,
                    (true, "share") => share(app, &req, &ctx).await,
                    (true, "optout") => opt_out(app, &req, &ctx).await,
                    (true, _) => Err(HttpError::MethodNotAllowed),
                }
            }
        }
    };
    result.unwrap_or_else(|e| e.into_response(flavor))
}

/// Refuses a post whose token is not the one for this link.
fn check_token(app: &App, ctx: &Ctx, fields: &[(String, String)]) -> Result<(), HttpError> {
    let presented = fields
        .iter()
        .find(|(k, _)| k == "token")
        .map_or("", |(_, v)| v.as_str());
    if token_ok(&app.config.secret, ctx.code.as_str(), presented) {
        Ok(())
    } else {
        Err(HttpError::Forbidden(
            "the form token does not match this link; reload the page".into(),
        ))
    }
}

/// The latest claim of each of the recipient's coupons.
async fn latest_claim(
    app: &App,
    ctx: &Ctx,
    coupon: &CouponId,
    per_person: u32,
) -> Result<Option<ClaimRecord>, HttpError> {
    Ok(app.db.claims(&ctx.recipient.id, coupon, per_person).await?.pop())
}

async fn coupon_views<'a>(app: &App, ctx: &'a Ctx) -> Result<Vec<CouponView<'a>>, HttpError> {
    let now = app.now();
    let mut out = Vec::new();
    for def in &ctx.campaign().coupons {
        let state = match latest_claim(app, ctx, &def.id, def.per_person).await? {
            Some(c) => match c.status {
                ClaimStatus::Pending => CouponState::Pending,
                ClaimStatus::SoldOut => CouponState::SoldOut,
                ClaimStatus::Issued => {
                    let code = c.code.map(|c| c.to_string()).unwrap_or_default();
                    let qr_svg = mcamp_http::pages::qr::svg(&code).unwrap_or_default();
                    CouponState::Issued { code, qr_svg }
                }
            },
            None => match coupons::eligible(def, &ctx.recipient, now) {
                Ok(()) => CouponState::Available,
                // A secret coupon is shown only to those who may claim it.
                Err(_) if def.secret => continue,
                Err(ClaimError::NotEligible(why)) => CouponState::Blocked(why),
                Err(_) => continue,
            },
        };
        out.push(CouponView { def, state });
    }
    Ok(out)
}

fn current_values(r: &Recipient) -> FormValues {
    let snake = |v: serde_json::Value| v.as_str().unwrap_or("").to_owned();
    FormValues {
        name: r.name.clone().unwrap_or_default(),
        phone: r.phone.as_ref().map(|p| p.dashed()).unwrap_or_default(),
        gender: r.gender.map(|g| snake(json!(g))).unwrap_or_default(),
        birth_year: r.birth_year.map(|b| b.year().to_string()).unwrap_or_default(),
        age_band: r.age_band.map(|a| snake(json!(a))).unwrap_or_default(),
        region: r.region.clone().unwrap_or_default(),
        store: r.preferred_store.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        privacy: r.consent.privacy_at.is_some(),
        marketing: r.consent.marketing_at.is_some(),
        errors: Vec::new(),
    }
}

/// "Open in the external browser" for in-app browsers that trap the page.
fn escape_url(req: &Request, url: &str) -> Option<String> {
    let class = ua::classify(false, header(req, "user-agent"));
    let encoded: String = url
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    match (class.in_app, class.os) {
        (Some(InApp::Kakaotalk), _) => Some(format!("kakaotalk://web/openExternal?url={encoded}")),
        (Some(_), Os::Android) => {
            let rest = url.split_once("://").map_or(url, |(_, r)| r);
            Some(format!(
                "intent://{rest}#Intent;scheme=https;package=com.android.chrome;end"
            ))
        }
        _ => None,
    }
}

const NOTICES: &[(&str, &str)] = &[
    ("saved", "정보가 저장되었어요."),
    ("claimed", "쿠폰 발급을 요청했어요."),
    ("shared", "공유 링크가 만들어졌어요. 친구에게 보내 주세요."),
];

async fn page(
    app: &App,
    req: &Request,
    ctx: &Ctx,
    form_values: Option<FormValues>,
    notice: Option<&str>,
    status: u16,
) -> Result<Response<Body>, HttpError> {
    let now = app.now();
    let c = ctx.campaign();
    let token = form_token(&app.config.secret, ctx.code.as_str());
    let coupons = coupon_views(app, ctx).await?;
    // Each reload asks for the next `w`, so the refresh is a real navigation every time.
    let refresh = coupons
        .iter()
        .any(|c| matches!(c.state, CouponState::Pending))
        .then(|| {
            let w: u32 = query_param(req, "w").and_then(|w| w.parse().ok()).unwrap_or(0);
            format!("/p/{}?w={}#coupon", ctx.code, w.saturating_add(1))
        });
    let base = origin(req, app.config.base_url.as_deref());
    let share_url = ctx.recipient.share_code.as_ref().map(|s| format!("{base}/{s}"));
    let notice =
        notice.or_else(|| query_param(req, "m").and_then(|m| NOTICES.iter().find(|(k, _)| *k == m).map(|(_, v)| *v)));
    let form = c.form.as_ref().map(|def| FormView {
        def,
        values: form_values.unwrap_or_else(|| current_values(&ctx.recipient)),
        completed: ctx.recipient.form_completed_at.is_some(),
    });
    let view = MdmView {
        campaign: c,
        name: ctx.recipient.name.as_deref(),
        code: ctx.code.as_str(),
        token: &token,
        form,
        coupons,
        share_url: share_url.as_deref(),
        kakao_app_key: app.config.kakao_app_key.as_deref(),
        escape_url: escape_url(req, &format!("{base}/p/{}", ctx.code)),
        notice,
        refresh,
    };
    let html = mdm::render(&view).into_string();
    if req.method() == lambda_http::http::Method::GET
        && let Err(e) = app
            .db
            .append_event(&ctx.event(now, EventData::PageView { page: "mdm".into() }))
            .await
    {
        tracing::error!(error = %e, "page view not recorded");
    }
    Ok(html_response(status, html))
}

async fn submit_form(app: &App, req: &Request, ctx: &Ctx) -> Result<Response<Body>, HttpError> {
    let fields = form_fields(req)?;
    check_token(app, ctx, &fields)?;
    let Some(def) = ctx.campaign().form.as_ref() else {
        return Err(HttpError::NotFound);
    };
    let now = app.now();
    let submitted = match form::parse(def, &fields, now.year().max(1900) as u32) {
        Ok(s) => s,
        // Nothing stored: the form comes back with the typed values and a message per field.
        Err(values) => {
            return page(app, req, ctx, Some(*values), Some("입력한 내용을 확인해 주세요."), 400).await;
        }
    };
    let mut r = ctx.recipient.clone();
    let was_privacy = r.consent.privacy_at.is_some();
    let was_marketing = r.consent.marketing_at.is_some();
    r.name = submitted.name.or(r.name);
    r.phone = submitted.phone.or(r.phone);
    r.gender = submitted.gender.or(r.gender);
    r.birth_year = submitted.birth_year.or(r.birth_year);
    r.age_band = submitted.age_band.or(r.age_band);
    r.region = submitted.region.or(r.region);
    r.preferred_store = submitted.store.or(r.preferred_store);
    r.form_completed_at = r.form_completed_at.or(Some(now));
    app.db.save_profile(&r).await?;
    // The ledger gets an entry only when a consent changes, so a double submit adds nothing.
    let mut changes = Vec::new();
    if !was_privacy {
        changes.push(("privacy", true));
    }
    if was_marketing != submitted.marketing {
        changes.push(("marketing", submitted.marketing));
    }
    for (purpose, granted) in changes {
        let entry = ConsentEntry {
            recipient_id: r.id.clone(),
            purpose: purpose.into(),
            granted,
            wording_version: def.consent_version.clone(),
            channel: "form".into(),
            at: now,
        };
        app.db.record_consent(&entry).await?;
        app.db
            .append_event(&ctx.event(
                now,
                EventData::ConsentChanged {
                    purpose: purpose.into(),
                    granted,
                    wording_version: def.consent_version.clone(),
                    channel: "form".into(),
                },
            ))
            .await?;
    }
    let names: Vec<String> = def
        .fields
        .iter()
        .map(|f| json!(f).as_str().unwrap_or("").to_owned())
        .collect();
    app.db
        .append_event(&ctx.event(now, EventData::FormSubmitted { fields: names }))
        .await?;
    Ok(see_other(format!("/p/{}?m=saved#coupon", ctx.code)))
}

async fn claim(app: &App, req: &Request, ctx: &Ctx) -> Result<Response<Body>, HttpError> {
    let fields = form_fields(req)?;
    check_token(app, ctx, &fields)?;
    let coupon = fields
        .iter()
        .find(|(k, _)| k == "coupon")
        .and_then(|(_, v)| CouponId::parse(v).ok())
        .ok_or_else(|| HttpError::BadRequest("coupon: missing or malformed".into()))?;
    // Re-read the recipient: the form may have just been completed.
    let recipient = app.db.recipient(&ctx.recipient.id).await?.ok_or(HttpError::NotFound)?;
    match coupons::claim(
        &app.db,
        app.queue.as_ref(),
        ctx.campaign(),
        &recipient,
        &coupon,
        app.now(),
    )
    .await
    {
        Ok(c) => {
            if wants_json(req) {
                Ok(json_response(
                    202,
                    &json!({ "coupon": c.coupon_id, "status": c.status, "code": c.code }),
                ))
            } else {
                Ok(see_other(format!("/p/{}?m=claimed#coupon", ctx.code)))
            }
        }
        Err(ClaimError::Storage(e)) => Err(HttpError::Internal(e)),
        Err(ClaimError::UnknownCoupon) => Err(HttpError::BadRequest("coupon: unknown".into())),
        Err(e) => {
            let msg = e.to_string();
            if wants_json(req) {
                return Err(HttpError::Forbidden(msg));
            }
            let ctx2 = Ctx {
                code: ctx.code.clone(),
                recipient,
                campaign: ctx.campaign.clone(),
            };
            page(app, req, &ctx2, None, Some(&msg), 403).await
        }
    }
}

async fn coupon_states(app: &App, ctx: &Ctx) -> Result<Response<Body>, HttpError> {
    let mut list = Vec::new();
    let mut pending = false;
    for def in &ctx.campaign().coupons {
        if let Some(c) = latest_claim(app, ctx, &def.id, def.per_person).await? {
            pending |= c.status == ClaimStatus::Pending;
            list.push(json!({ "coupon": c.coupon_id, "status": c.status, "code": c.code }));
        }
    }
    Ok(json_response(200, &json!({ "pending": pending, "coupons": list })))
}

async fn share(app: &App, req: &Request, ctx: &Ctx) -> Result<Response<Body>, HttpError> {
    let fields = form_fields(req)?;
    check_token(app, ctx, &fields)?;
    let channel = match fields.iter().find(|(k, _)| k == "channel").map(|(_, v)| v.as_str()) {
        Some("kakao") => ShareChannel::Kakao,
        Some("copy_link") => ShareChannel::CopyLink,
        Some("sms") => ShareChannel::Sms,
        _ => {
            return Err(HttpError::BadRequest("channel: must be kakao, copy_link or sms".into()));
        }
    };
    let now = app.now();
    let code = app.db.share_code(&ctx.recipient, now).await?;
    app.db
        .append_event(&ctx.event(
            now,
            EventData::ShareIntent {
                channel,
                share_code: code.clone(),
            },
        ))
        .await?;
    let c = ctx.campaign();
    let url = format!("{}/{code}", origin(req, app.config.base_url.as_deref()));
    if wants_json(req) {
        Ok(json_response(
            200,
            &json!({ "url": url, "code": code, "title": c.share.title, "description": c.share.description, "image": c.share.image }),
        ))
    } else if channel == ShareChannel::Sms {
        Ok(see_other(format!("sms:?&body={}", url)))
    } else {
        Ok(see_other(format!("/p/{}?m=shared#share", ctx.code)))
    }
}

async fn opt_out(app: &App, req: &Request, ctx: &Ctx) -> Result<Response<Body>, HttpError> {
    let fields = form_fields(req)?;
    check_token(app, ctx, &fields)?;
    let now = app.now();
    let mut r = app.db.recipient(&ctx.recipient.id).await?.ok_or(HttpError::NotFound)?;
    if r.opted_out_at.is_none() {
        r.opted_out_at = Some(now);
        app.db.save_profile(&r).await?;
        if r.consent.marketing_at.is_some() {
            let version = ctx
                .campaign()
                .form
                .as_ref()
                .map_or("opt-out".to_owned(), |f| f.consent_version.clone());
            let entry = ConsentEntry {
                recipient_id: r.id.clone(),
                purpose: "marketing".into(),
                granted: false,
                wording_version: version,
                channel: "opt_out_link".into(),
                at: now,
            };
            app.db.record_consent(&entry).await?;
            let changed = EventData::ConsentChanged {
                purpose: "marketing".into(),
                granted: false,
                wording_version: entry.wording_version.clone(),
                channel: "opt_out_link".into(),
            };
            app.db.append_event(&ctx.event(now, changed)).await?;
        }
        app.db
            .append_event(&ctx.event(
                now,
                EventData::OptedOut {
                    channel: "opt_out_link".into(),
                },
            ))
            .await?;
    }
    Ok(html_response(
        200,
        mdm::optout(&ctx.campaign().sender.brand, ctx.code.as_str(), "", true).into_string(),
    ))
}

#[derive(serde::Deserialize)]
struct Beacon {
    code: String,
    token: String,
    action: String,
    #[serde(default)]
    target: Option<String>,
}

/// `POST /e` from `navigator.sendBeacon`: `{code, token, action, target}` as text or JSON.
async fn beacon(app: &App, req: &Request) -> Result<Response<Body>, HttpError> {
    let bytes = body_bytes(req)?;
    let b: Beacon = serde_json::from_slice(bytes).map_err(|e| HttpError::BadRequest(format!("body: {e}")))?;
    let code = ShortCode::parse(&b.code).map_err(|e| HttpError::BadRequest(e.to_string()))?;
    if !token_ok(&app.config.secret, code.as_str(), &b.token) {
        return Err(HttpError::Forbidden("token does not match the code".into()));
    }
    if !matches!(b.action.as_str(), "video_play" | "scroll_end" | "cta_tap") {
        return Err(HttpError::BadRequest(
            "action: must be video_play, scroll_end or cta_tap".into(),
        ));
    }
    let target = b.target.map(|t| t.chars().take(100).collect::<String>());
    let link = app.db.link(&code).await?.ok_or(HttpError::NotFound)?;
    let owner = link.recipient_id.clone().ok_or(HttpError::NotFound)?;
    let event = Event::new(
        link.campaign_id.clone(),
        app.now(),
        EventData::Interaction {
            action: b.action,
            target,
        },
    )
    .by(
        Some(owner.clone()),
        link.referrer_id.clone(),
        Some(link.chain_head.clone().unwrap_or(owner)),
    );
    app.db.append_event(&event).await?;
    Ok(Response::builder().status(204).body(Body::Empty).unwrap_or_default())
}

/// `POST /hooks/kakao/share`: Kakao calls this after a share message is sent, with
/// `Authorization: KakaoAK <admin key>` and the `serverCallbackArgs` the page passed
/// (`share_code`). It needs a 2xx within 3 s, so it does one read and one write.
async fn kakao_share_delivered(app: &App, req: &Request) -> Result<Response<Body>, HttpError> {
    let Some(admin_key) = app.config.kakao_admin_key.as_ref() else {
        return Err(HttpError::NotFound);
    };
    let presented = header(req, "authorization")
        .and_then(|h| h.strip_prefix("KakaoAK "))
        .unwrap_or("");
    if !mcamp_domain::values::constant_time_eq(presented, admin_key.expose()) {
        return Err(HttpError::Unauthorized);
    }
    let bytes = body_bytes(req)?;
    // Kakao posts the callback arguments as JSON or as a form; accept both.
    let share_code = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("share_code").and_then(|c| c.as_str()).map(str::to_owned))
        .or_else(|| {
            mcamp_http::request::form_urlencoded(bytes)
                .into_iter()
                .find(|(k, _)| k == "share_code")
                .map(|(_, v)| v)
        })
        .ok_or_else(|| HttpError::BadRequest("share_code: missing".into()))?;
    let code = ShortCode::parse(&share_code).map_err(|e| HttpError::BadRequest(e.to_string()))?;
    let link = app.db.link(&code).await?.ok_or(HttpError::NotFound)?;
    if link.kind != LinkKind::Share {
        return Err(HttpError::BadRequest("share_code: not a share link".into()));
    }
    let event = Event::new(
        link.campaign_id.clone(),
        app.now(),
        EventData::ShareDelivered { share_code: code },
    )
    .by(link.recipient_id.clone(), None, None);
    app.db.append_event(&event).await?;
    Ok(json_response(200, &json!({ "ok": true })))
}
