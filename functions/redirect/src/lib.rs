//! `GET /{code}`: the short link. A person's click is counted and redirected (302) to their
//! page; a preview crawler gets an Open Graph page (200) and a `preview` event instead.
//!
//! Critical path of a click: one `UpdateItem` on the link (counts the click and returns the
//! link in the same round trip), the campaign from the warm function's cache, then the click
//! event's `PutItem`. A share link also mints the visitor (one transaction) on their first click.

use cookie::Cookie;
use cookie::time::Duration as CookieAge;
use lambda_http::{Body, Request, Response};
use mcamp_core::campaign::{Campaign, CampaignKind};
use mcamp_core::events::{Attribution, ClientInfo, Event, EventData};
use mcamp_core::link::{Link, LinkKind};
use mcamp_core::recipient::Recipient;
use mcamp_core::values::ShortCode;
use mcamp_http::pages::preview::{self, Card};
use mcamp_http::request::{cookie, header, origin, path_param};
use mcamp_http::response::html_response;
use mcamp_http::ua;
use mcamp_http::{Flavor, HttpError, Web};

/// Remembers, per campaign, which visitor this browser became through a share link, so a
/// second tap on the same share link is the same person.
fn visitor_cookie(link: &Link) -> String {
    match &link.store_id {
        // MCS: per store, kept a day, so a regular can rate the store again on their next visit.
        Some(store) if link.kind == LinkKind::Store => {
            format!("mcs_{}_{}", link.campaign_id.as_str(), store.as_str()).replace('-', "_")
        }
        _ => format!("mcv_{}", link.campaign_id.as_str().replace('-', "_")),
    }
}

/// How long the visitor cookie keeps a browser the same person.
fn visitor_cookie_age(link: &Link) -> CookieAge {
    if link.kind == LinkKind::Store {
        CookieAge::days(1)
    } else {
        CookieAge::days(365)
    }
}

pub async fn handle(web: &Web, req: Request) -> Response<Body> {
    match redirect(web, &req).await {
        Ok(r) => r,
        Err(e) => e.into_response(Flavor::Html),
    }
}

async fn redirect(web: &Web, req: &Request) -> Result<Response<Body>, HttpError> {
    // Malformed codes never touch storage.
    let code = path_param(req, "code")
        .and_then(|c| ShortCode::parse(&c).ok())
        .ok_or(HttpError::NotFound)?;
    let is_head = req.method() == lambda_http::http::Method::HEAD;
    let client = ua::classify(is_head, header(req, "user-agent"));
    if client.counts_as_click() {
        click(web, req, code, client).await
    } else {
        preview_card(web, req, code, client, is_head).await
    }
}

fn page_path(kind: CampaignKind, code: &ShortCode) -> String {
    match kind {
        CampaignKind::Survey | CampaignKind::Mcs => format!("/s/{code}"),
        CampaignKind::Mdm => format!("/p/{code}"),
    }
}

async fn click(web: &Web, req: &Request, code: ShortCode, client: ClientInfo) -> Result<Response<Body>, HttpError> {
    let app = &web.app;
    let now = app.now();
    let link = app.db.record_click(&code, now).await?.ok_or(HttpError::NotFound)?;
    let stored = app.campaign(&link.campaign_id).await?.ok_or(HttpError::NotFound)?;
    if !stored.campaign.is_live(now) {
        return Err(HttpError::Gone);
    }
    let (credit, target_code, first, set_cookie) = match link.kind {
        LinkKind::Personal => {
            if link.recipient_id.is_none() {
                return Err(HttpError::NotFound);
            }
            (Attribution::from(&link), link.code.clone(), link.clicks == 1, None)
        }
        LinkKind::Share | LinkKind::Store => {
            let (visitor, first) = visitor_for(web, req, &link, &stored.campaign).await?;
            let cookie = Cookie::build((visitor_cookie(&link), visitor.code.to_string()))
                .path("/")
                .max_age(visitor_cookie_age(&link))
                .http_only(true)
                .secure(true)
                .same_site(cookie::SameSite::Lax)
                .build();
            let credit = Attribution {
                // Credit the share link's owner (a store link has none).
                referrer: link.recipient_id.clone(),
                ..Attribution::from(&visitor)
            };
            (credit, visitor.code.clone(), first, Some(cookie.to_string()))
        }
    };
    let event = Event::new(link.campaign_id.clone(), now, EventData::Click { code, client, first }).by(credit);
    // The person gets their page whatever happens to the event (the link's counter already
    // holds the click).
    app.record(&event).await;
    let mut resp = Response::builder()
        .status(302)
        .header("location", page_path(stored.campaign.kind, &target_code))
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer");
    if let Some(c) = set_cookie {
        resp = resp.header("set-cookie", c);
    }
    resp.body(Body::Empty).map_err(|e| HttpError::Internal(Box::new(e)))
}

/// The visitor this browser is for this share link: the one remembered in its cookie, or a new
/// one minted now. Returns whether this is their first click.
async fn visitor_for(
    web: &Web,
    req: &Request,
    link: &Link,
    campaign: &Campaign,
) -> Result<(Recipient, bool), HttpError> {
    let app = &web.app;
    let now = app.now();
    // A returning visitor's tap counts on their own link as well (its `clicks` are the
    // visitor's visits, as a recipient's are theirs), and the update reads the link back.
    if let Some(code) = cookie(req, &visitor_cookie(link)).and_then(|c| ShortCode::parse(&c).ok())
        && let Some(own) = app.db.record_click(&code, now).await?
        && own.campaign_id == link.campaign_id
        && own.kind == LinkKind::Personal
        && let Some(owner) = &own.recipient_id
        && let Some(r) = app.db.recipient(owner).await?
    {
        return Ok((r, false));
    }
    // A browser without the cookie is a new person, up to the network's hourly window.
    let network = web.network_window(req, campaign);
    let visitor = match &link.recipient_id {
        Some(sharer) if link.kind == LinkKind::Share => {
            let sharer = app.db.recipient(sharer).await?.ok_or(HttpError::NotFound)?;
            app.db
                .add_visitor(&sharer, campaign, campaign.share.max_visitors, network, now)
                .await?
        }
        _ if link.kind == LinkKind::Store => app.db.add_store_visitor(link, campaign, network, now).await?,
        _ => return Err(HttpError::NotFound),
    };
    Ok((visitor, true))
}

async fn preview_card(
    web: &Web,
    req: &Request,
    code: ShortCode,
    client: ClientInfo,
    is_head: bool,
) -> Result<Response<Body>, HttpError> {
    let app = &web.app;
    let now = app.now();
    let link = app.db.link(&code).await?.ok_or(HttpError::NotFound)?;
    let stored = app.campaign(&link.campaign_id).await?.ok_or(HttpError::NotFound)?;
    if !stored.campaign.is_live(now) {
        return Err(HttpError::Gone);
    }
    let url = format!("{}/{}", origin(req, web.site.base_url.as_deref()), code);
    // A messenger fetches a card again and again (every chat that shows the link): one preview
    // per link, bot and hour is what it tells, the rest would only fill the log.
    let once = format!(
        "preview:{code}:{}:{}",
        client.bot_name.as_deref().unwrap_or("unknown"),
        now.format("%Y%m%d%H")
    );
    let event =
        Event::new(link.campaign_id.clone(), now, EventData::Preview { code, client }).by(Attribution::owner_of(&link));
    app.record_once(&once, &event).await;
    let c = &stored.campaign;
    let html = preview::render(&Card {
        title: &c.share.title,
        description: &c.share.description,
        image: c.share.image.as_deref(),
        url: &url,
        site_name: &c.sender.brand,
    })
    .into_string();
    Ok(html_response(200, if is_head { String::new() } else { html }))
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_http::lambda::env()
}
