//! `GET /{code}`: the short link. A person's click is counted and redirected (302) to their
//! page; a preview crawler gets an Open Graph page (200) and a `preview` event instead.
//!
//! Critical path of a click: one `UpdateItem` on the link (counts the click and returns the
//! link in the same round trip), the campaign from the warm function's cache, then the click
//! event's `PutItem`. A share link also mints the visitor (one transaction) on their first click.

use lambda_http::{Body, Request, Response};
use mcamp_domain::campaign::CampaignKind;
use mcamp_domain::db::links::{Link, LinkKind};
use mcamp_domain::db::recipients::Recipient;
use mcamp_domain::events::{ClientInfo, Event, EventData};
use mcamp_domain::ua::{self, UaClass};
use mcamp_domain::values::ShortCode;
use mcamp_http::pages::preview::{self, Card};
use mcamp_http::request::{cookie, header, origin, path_param};
use mcamp_http::{App, Flavor, HttpError};

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
fn visitor_cookie_age(link: &Link) -> u32 {
    if link.kind == LinkKind::Store {
        86_400
    } else {
        31_536_000
    }
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    match redirect(app, &req).await {
        Ok(r) => r,
        Err(e) => e.into_response(Flavor::Html),
    }
}

async fn redirect(app: &App, req: &Request) -> Result<Response<Body>, HttpError> {
    // Malformed codes never touch storage.
    let code = path_param(req, "code")
        .and_then(|c| ShortCode::parse(&c).ok())
        .ok_or(HttpError::NotFound)?;
    let is_head = req.method() == lambda_http::http::Method::HEAD;
    let class = ua::classify(is_head, header(req, "user-agent"));
    if class.counts_as_click() {
        click(app, req, code, &class).await
    } else {
        preview_card(app, req, code, &class, is_head).await
    }
}

fn client_info(c: &UaClass) -> ClientInfo {
    ClientInfo {
        agent: c.agent.as_str().to_owned(),
        os: c.os.as_str().to_owned(),
        device: c.device.as_str().to_owned(),
        in_app: c.in_app.map(|a| a.as_str().to_owned()),
        browser: c.browser.as_str().to_owned(),
        bot_name: c.bot_name.as_ref().map(|b| b.to_string()),
    }
}

fn page_path(kind: CampaignKind, code: &ShortCode) -> String {
    match kind {
        CampaignKind::Survey | CampaignKind::Mcs => format!("/s/{code}"),
        CampaignKind::Mdm => format!("/p/{code}"),
    }
}

async fn click(app: &App, req: &Request, code: ShortCode, class: &UaClass) -> Result<Response<Body>, HttpError> {
    let now = app.now();
    let link = app.db.record_click(&code, now).await?.ok_or(HttpError::NotFound)?;
    let campaign = app.campaign(&link.campaign_id).await?.ok_or(HttpError::NotFound)?;
    if !campaign.campaign.is_live(now) {
        return Err(HttpError::Gone);
    }
    let (person, referrer, chain_head, target_code, first, set_cookie) = match link.kind {
        LinkKind::Personal => {
            let owner = link.recipient_id.clone().ok_or(HttpError::NotFound)?;
            let head = link.chain_head.clone().unwrap_or_else(|| owner.clone());
            (
                owner,
                link.referrer_id.clone(),
                Some(head),
                link.code.clone(),
                link.clicks == 1,
                None,
            )
        }
        LinkKind::Share | LinkKind::Store => {
            let (visitor, first) = visitor_for(app, req, &link).await?;
            let cookie = format!(
                "{}={}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
                visitor_cookie(&link),
                visitor.code,
                visitor_cookie_age(&link)
            );
            (
                visitor.id.clone(),
                // Credit the share link's owner (a store link has none).
                link.recipient_id.clone(),
                Some(visitor.chain_head()),
                visitor.code.clone(),
                first,
                Some(cookie),
            )
        }
    };
    let event = Event::new(
        link.campaign_id.clone(),
        now,
        EventData::Click {
            code: code.clone(),
            client: client_info(class),
            first,
        },
    )
    .by(Some(person), referrer, chain_head);
    if let Err(e) = app.db.append_event(&event).await {
        // The person still gets their page; the counter on the link already holds the click.
        tracing::error!(error = %e, "click event not recorded");
    }
    let mut resp = Response::builder()
        .status(302)
        .header("location", page_path(campaign.campaign.kind, &target_code))
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer");
    if let Some(c) = set_cookie {
        resp = resp.header("set-cookie", c);
    }
    resp.body(Body::Empty).map_err(|e| HttpError::Internal(e.to_string()))
}

/// The visitor this browser is for this share link: the one remembered in its cookie, or a new
/// one minted now. Returns whether this is their first click.
async fn visitor_for(app: &App, req: &Request, link: &Link) -> Result<(Recipient, bool), HttpError> {
    let now = app.now();
    if let Some(code) = cookie(req, &visitor_cookie(link)).and_then(|c| ShortCode::parse(&c).ok())
        && let Some(own) = app.db.record_click(&code, now).await?
        && own.campaign_id == link.campaign_id
        && own.kind == LinkKind::Personal
        && let Some(owner) = &own.recipient_id
        && let Some(r) = app.db.recipient(owner).await?
    {
        return Ok((r, false));
    }
    let visitor = match &link.recipient_id {
        Some(sharer) if link.kind == LinkKind::Share => {
            let sharer = app.db.recipient(sharer).await?.ok_or(HttpError::NotFound)?;
            app.db.add_visitor(&sharer, now).await?
        }
        _ if link.kind == LinkKind::Store => app.db.add_store_visitor(link, now).await?,
        _ => return Err(HttpError::NotFound),
    };
    Ok((visitor, true))
}

async fn preview_card(
    app: &App,
    req: &Request,
    code: ShortCode,
    class: &UaClass,
    is_head: bool,
) -> Result<Response<Body>, HttpError> {
    let now = app.now();
    let link = app.db.link(&code).await?.ok_or(HttpError::NotFound)?;
    let campaign = app.campaign(&link.campaign_id).await?.ok_or(HttpError::NotFound)?;
    if !campaign.campaign.is_live(now) {
        return Err(HttpError::Gone);
    }
    let event = Event::new(
        link.campaign_id.clone(),
        now,
        EventData::Preview {
            code: code.clone(),
            client: client_info(class),
        },
    )
    .by(link.recipient_id.clone(), None, None);
    if let Err(e) = app.db.append_event(&event).await {
        tracing::error!(error = %e, "preview event not recorded");
    }
    let c = &campaign.campaign;
    let url = format!("{}/{}", origin(req, app.config.base_url.as_deref()), code);
    let html = preview::render(&Card {
        title: &c.share.title,
        description: &c.share.description,
        image: c.share.image.as_deref(),
        url: &url,
        site_name: &c.sender.brand,
    })
    .into_string();
    let resp = mcamp_http::error::html_response(200, if is_head { String::new() } else { html });
    Ok(resp)
}
