//! `GET /p/{code}`: the recipient's page (blocks, the info form, coupons, share), and
//! `GET /p/{code}/coupon`: coupon states for the page's script.

use lambda_http::{Body, Request, Response};
use mcamp_core::client::{InApp, Os};
use mcamp_core::coupon::{ClaimRecord, ClaimStatus, Ineligible, eligible};
use mcamp_core::events::EventData;
use mcamp_core::values::CouponId;
use mcamp_core::values::PhoneNumber;
use mcamp_http::pages::mdm::{self, CouponState, CouponView, FormValues, FormView, MdmView};
use mcamp_http::pages::{ClaimShown, refresh_url};
use mcamp_http::personal::Personal;
use mcamp_http::request::{header, origin, query_param};
use mcamp_http::response::{html_response, json_response};
use mcamp_http::tokens::form_token;
use mcamp_http::ua;
use mcamp_http::{HttpError, Web};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::SeedableRng;
use serde_json::json;

/// The latest claim of one of the recipient's coupons.
async fn latest_claim(
    web: &Web,
    p: &Personal,
    coupon: &CouponId,
    per_person: u32,
) -> Result<Option<ClaimRecord>, HttpError> {
    Ok(web.app.db.claims(&p.recipient.id, coupon, per_person).await?.pop())
}

/// A claim pending this long is shown as delayed, with a button to ask again, rather than
/// refreshing forever.
const DELAYED_AFTER_SECS: i64 = 180;

/// Each coupon of the campaign with its state for this recipient; the per-coupon reads run at
/// once.
async fn coupon_views<'a>(web: &Web, p: &'a Personal) -> Result<Vec<CouponView<'a>>, HttpError> {
    let now = web.app.now();
    let defs = &p.campaign().coupons;
    let claims = futures::future::try_join_all(defs.iter().map(|d| latest_claim(web, p, &d.id, d.per_person))).await?;
    let mut out = Vec::new();
    for (def, claim) in defs.iter().zip(claims) {
        if let Some(c) = claim.as_ref().filter(|c| c.status == ClaimStatus::Pending) {
            p.redrive_pending(&web.app, c).await;
        }
        let state = match claim.as_ref().map(ClaimShown::of) {
            Some(ClaimShown::Pending)
                if claim
                    .as_ref()
                    .is_some_and(|c| (now - c.claimed_at).num_seconds() >= DELAYED_AFTER_SECS) =>
            {
                CouponState::Delayed
            }
            Some(ClaimShown::Pending) => CouponState::Pending,
            Some(ClaimShown::SoldOut) => CouponState::SoldOut,
            Some(ClaimShown::Issued { code, qr_svg }) => CouponState::Issued { code, qr_svg },
            None => match eligible(def, &p.recipient, p.customer.as_ref(), &p.segments, now) {
                Ok(()) => CouponState::Available,
                // A secret coupon is shown only to those who may claim it.
                Err(_) if def.secret => continue,
                Err(Ineligible::NotEligible(why)) => CouponState::Blocked(why),
                Err(
                    Ineligible::OutsideWindow
                    | Ineligible::TakenByThisPhone
                    | Ineligible::NotInSegment
                    | Ineligible::NotOffered,
                ) => continue,
            },
        };
        out.push(CouponView { def, state });
    }
    Ok(out)
}

fn current_values(p: &Personal) -> FormValues {
    let r = &p.recipient;
    let consents = p.customer.as_ref().map(|c| &c.consents);
    let snake = |v: serde_json::Value| v.as_str().unwrap_or("").to_owned();
    FormValues {
        name: r.name.clone().unwrap_or_default(),
        // Never the number itself: the masked one is shown beside the field.
        phone: String::new(),
        gender: r.gender.map(|g| snake(json!(g))).unwrap_or_default(),
        birth_year: r.birth_year.map(|b| b.year().to_string()).unwrap_or_default(),
        age_band: r.age_band.map(|a| snake(json!(a))).unwrap_or_default(),
        region: r.region.clone().unwrap_or_default(),
        store: r.preferred_store.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        privacy: consents.is_some_and(|c| c.privacy.is_some()),
        marketing: consents.is_some_and(|c| c.any_marketing()),
        errors: Vec::new(),
    }
}

/// The number this link's person is known by, masked.
fn phone_on_record(p: &Personal) -> Option<String> {
    p.customer
        .as_ref()
        .and_then(|c| c.phone.as_ref())
        .or(p.recipient.phone.as_ref())
        .map(PhoneNumber::masked)
}

/// Everything but RFC 3986's unreserved characters is escaped in the `url=` parameter.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// "Open in the external browser" for in-app browsers that trap the page.
fn escape_url(req: &Request, url: &str) -> Option<String> {
    let client = ua::classify(false, header(req, "user-agent"));
    match (client.in_app, client.os) {
        (Some(InApp::Kakaotalk), _) => Some(format!(
            "kakaotalk://web/openExternal?url={}",
            utf8_percent_encode(url, QUERY_VALUE)
        )),
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

/// The person with the learning offer's coupon picked for them, when the campaign has an
/// offer and this is their first look at the page (a GET, not the page's own poll); `None`
/// when nothing changes.
async fn with_offer(web: &Web, req: &Request, p: &Personal) -> Option<Personal> {
    let c = p.campaign();
    let first_look = req.method() == lambda_http::http::Method::GET && query_param(req, "w").is_none();
    if p.recipient.offer.is_some() || !first_look || c.offered_coupons().is_empty() {
        return None;
    }
    // The page never fails for the offer: without it this time, the next look picks one.
    let counts = match web.app.offer_counts(&c.id).await {
        Ok(counts) => counts,
        Err(e) => {
            tracing::warn!(error = %mcamp_store::error_text(&e), "offer counts not read; the page goes without an offer");
            return None;
        }
    };
    let mut rng = rand::rngs::StdRng::from_entropy();
    let offer = match web
        .app
        .db
        .offer_for(c, &p.recipient, &counts, &mut rng, web.app.now())
        .await
    {
        Ok(offer) => offer,
        Err(e) => {
            tracing::warn!(error = %mcamp_store::error_text(&e), "offer not kept; the page goes without an offer");
            return None;
        }
    };
    let mut recipient = p.recipient.clone();
    recipient.offer = offer;
    Some(Personal {
        code: p.code.clone(),
        recipient,
        customer: p.customer.clone(),
        stored: p.stored.clone(),
        segments: p.segments.clone(),
    })
}

/// The page. `form_values` re-fills a refused form; `notice` says what just happened.
pub(crate) async fn page(
    web: &Web,
    req: &Request,
    p: &Personal,
    form_values: Option<FormValues>,
    notice: Option<&str>,
    status: u16,
) -> Result<Response<Body>, HttpError> {
    let now = web.app.now();
    let c = p.campaign();
    // A page address pasted into a chat is fetched by the chat's preview crawler: it gets the
    // campaign's card, never the person's page.
    let client = ua::classify(false, header(req, "user-agent"));
    if req.method() == lambda_http::http::Method::GET && !client.counts_as_click() {
        let url = format!("{}/p/{}", origin(req, web.site.base_url.as_deref()), p.code);
        let card = mcamp_http::pages::preview::render(&mcamp_http::pages::preview::Card {
            title: &c.share.title,
            description: &c.share.description,
            image: c.share.image.as_deref(),
            url: &url,
            site_name: &c.sender.brand,
        });
        return Ok(html_response(200, card.into_string()));
    }
    let offered;
    let p = match with_offer(web, req, p).await {
        Some(o) => {
            offered = o;
            &offered
        }
        None => p,
    };
    let token = form_token(&web.site.secret, p.code.as_str());
    let coupons = coupon_views(web, p).await?;
    let refresh = coupons
        .iter()
        .any(|c| matches!(c.state, CouponState::Pending))
        .then(|| refresh_url(req, &format!("/p/{}", p.code), "#coupon"));
    let base = origin(req, web.site.base_url.as_deref());
    let share_url = p.recipient.share_code.as_ref().map(|s| format!("{base}/{s}"));
    let notice =
        notice.or_else(|| query_param(req, "m").and_then(|m| NOTICES.iter().find(|(k, _)| *k == m).map(|(_, v)| *v)));
    let form = c.form.as_ref().map(|def| FormView {
        def,
        values: form_values.unwrap_or_else(|| current_values(p)),
        completed: p.recipient.form_completed_at.is_some(),
        phone_on_record: phone_on_record(p),
    });
    let page = c.page_for(p.recipient.variant.as_deref());
    let view = MdmView {
        campaign: c,
        page: &page,
        name: p.recipient.name.as_deref(),
        code: p.code.as_str(),
        token: &token,
        beacon: &mcamp_http::tokens::beacon_token(&web.site.secret, p.code.as_str(), now),
        form,
        coupons,
        share_url: share_url.as_deref(),
        kakao_app_key: web.site.kakao_app_key.as_deref(),
        escape_url: escape_url(req, &format!("{base}/p/{}", p.code)),
        notice,
        refresh,
    };
    let html = mdm::render(&view).into_string();
    // A refresh while a coupon is pending (`?w=`) is the page polling, not a view.
    if req.method() == lambda_http::http::Method::GET && query_param(req, "w").is_none() {
        web.app
            .record(&p.event(now, EventData::PageView { page: "mdm".into() }))
            .await;
    }
    Ok(html_response(status, html))
}

/// `GET /p/{code}/coupon`: `{pending, coupons: [{coupon, status, code}]}`.
pub(crate) async fn coupon_states(web: &Web, p: &Personal) -> Result<Response<Body>, HttpError> {
    let defs = &p.campaign().coupons;
    let claims = futures::future::try_join_all(defs.iter().map(|d| latest_claim(web, p, &d.id, d.per_person))).await?;
    let mut list = Vec::new();
    let mut pending = false;
    for c in claims.into_iter().flatten() {
        if c.status == ClaimStatus::Pending {
            p.redrive_pending(&web.app, &c).await;
        }
        pending |= c.status == ClaimStatus::Pending;
        list.push(json!({ "coupon": c.coupon_id, "status": c.status, "code": c.code }));
    }
    Ok(json_response(200, &json!({ "pending": pending, "coupons": list })))
}
