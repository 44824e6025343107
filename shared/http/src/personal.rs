//! Opening a personal link under a page path (`/p/{code}`, `/s/{code}`): the link, its owner
//! and their live campaign, as the page and survey functions both need them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use mcamp_domain::db::campaigns::StoredCampaign;
use mcamp_domain::db::links::LinkKind;
use mcamp_domain::db::recipients::Recipient;
use mcamp_domain::events::{Event, EventData};
use mcamp_domain::values::ShortCode;

use crate::request::{header, path_param};
use crate::{App, HttpError};

/// The recipient behind a personal link, with their campaign.
pub struct Personal {
    pub code: ShortCode,
    pub recipient: Recipient,
    pub campaign: Arc<StoredCampaign>,
}

impl Personal {
    pub fn campaign(&self) -> &mcamp_domain::campaign::Campaign {
        &self.campaign.campaign
    }
    /// An event of this person, credited to their share chain.
    pub fn event(&self, now: DateTime<Utc>, data: EventData) -> Event {
        let r = &self.recipient;
        Event::new(r.campaign_id.clone(), now, data).by(Some(r.id.clone()), r.referrer_id.clone(), Some(r.chain_head()))
    }
}

pub enum Opened {
    Personal(Box<Personal>),
    /// A share or store code opened under a page path: send it through the redirect
    /// (`/{code}`), which mints the visitor.
    Redirect(ShortCode),
}

/// The `{code}` path parameter's personal link; 404 for a malformed or unknown code (storage
/// untouched for a malformed one), 410 when the campaign is paused or over.
pub async fn open(app: &App, req: &Request) -> Result<Opened, HttpError> {
    let code = path_param(req, "code")
        .and_then(|c| ShortCode::parse(&c).ok())
        .ok_or(HttpError::NotFound)?;
    let link = app.db.link(&code).await?.ok_or(HttpError::NotFound)?;
    if link.kind != LinkKind::Personal {
        return Ok(Opened::Redirect(code));
    }
    let owner = link.recipient_id.as_ref().ok_or(HttpError::NotFound)?;
    let recipient = app.db.recipient(owner).await?.ok_or(HttpError::NotFound)?;
    let campaign = app.campaign(&link.campaign_id).await?.ok_or(HttpError::NotFound)?;
    if !campaign.campaign.is_live(app.now()) {
        return Err(HttpError::Gone);
    }
    Ok(Opened::Personal(Box::new(Personal {
        code,
        recipient,
        campaign,
    })))
}

/// A program asking for JSON (`Accept: application/json`) rather than a page.
pub fn wants_json(req: &Request) -> bool {
    header(req, "accept").is_some_and(|a| a.contains("application/json"))
}

/// 303 to `location`, not cached: the answer to a form post.
pub fn see_other(location: String) -> Response<Body> {
    Response::builder()
        .status(303)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .unwrap_or_default()
}
