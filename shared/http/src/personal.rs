//! Opening a personal link under a page path (`/p/{code}`, `/s/{code}`): the link, its owner
//! and their live campaign, as the page and survey functions both need them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::Request;
use mcamp_core::campaign::Campaign;
use mcamp_core::coupon::ClaimRecord;
use mcamp_core::customer::Customer;
use mcamp_core::events::{Event, EventData};
use mcamp_core::link::LinkKind;
use mcamp_core::recipient::Recipient;
use mcamp_core::values::ShortCode;
use mcamp_store::campaigns::StoredCampaign;
use mcamp_store::claims;

use crate::request::path_param;
use crate::{App, HttpError};

/// The recipient behind a personal link, with their campaign and (once their phone is known)
/// the brand's customer they are.
pub struct Personal {
    pub code: ShortCode,
    pub recipient: Recipient,
    pub customer: Option<Customer>,
    pub stored: Arc<StoredCampaign>,
    /// The campaign's segments this person is a member of; read only when a coupon is
    /// offered by segment.
    pub segments: std::collections::BTreeSet<mcamp_core::values::SegmentId>,
}

impl Personal {
    pub fn campaign(&self) -> &Campaign {
        &self.stored.campaign
    }
    /// An event of this person, credited to their share chain.
    pub fn event(&self, now: DateTime<Utc>, data: EventData) -> Event {
        Event::new(self.recipient.campaign_id.clone(), now, data).by((&self.recipient).into())
    }

    /// Sends again the job of this person's pending claim `c`, which may have been lost (once a
    /// minute at most, however often the page polls). A failure only logs: the page still
    /// answers, and the sweeper sends it later.
    pub async fn redrive_pending(&self, app: &App, c: &ClaimRecord) {
        if let Err(e) = claims::redrive(&app.db, app.queue.as_ref(), c, Some(&self.recipient), app.now()).await {
            tracing::error!(error = %crate::error::chain(&e), claim = %c.claim_id, "pending claim not sent again");
        }
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
    let stored = app.campaign(&link.campaign_id).await?.ok_or(HttpError::NotFound)?;
    if !stored.campaign.is_live(app.now()) {
        return Err(HttpError::Gone);
    }
    let customer = match &recipient.customer {
        Some(key) => app.db.customer(stored.campaign.brand(), key).await?,
        None => None,
    };
    let segments = if stored.campaign.has_segment_coupons() {
        app.db.segments_of(&recipient.id).await?
    } else {
        Default::default()
    };
    Ok(Opened::Personal(Box::new(Personal {
        code,
        recipient,
        customer,
        stored,
        segments,
    })))
}
