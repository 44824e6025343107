//! A campaign's numbers for the marketer: recipients and consents, clicks (total, unique, by
//! in-app browser), page activity, shares and coupons. Counted from the recipient listing and
//! the event log (`Db::events_of` reads every event: fine for one campaign's report, not for a
//! dashboard at 10^6 events).

use std::collections::BTreeMap;
use std::pin::pin;

use futures::TryStreamExt;
use mcamp_core::campaign::CampaignStatus;
use mcamp_core::client::InApp;
use mcamp_core::events::EventData;
use mcamp_core::recipient::RecipientSource;
use mcamp_core::values::CampaignId;
use mcamp_store::{Db, DbError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("unknown campaign '{0}' (`mcamp campaign list` shows the campaigns)")]
    UnknownCampaign(CampaignId),
    #[error("storage: {0}")]
    Db(#[from] DbError),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignStats {
    pub campaign: CampaignId,
    pub name: String,
    pub status: CampaignStatus,
    pub recipients: RecipientCounts,
    pub clicks: ClickCounts,
    /// Link-preview crawlers (KakaoTalk, Slack…) that fetched a link: not clicks.
    pub previews: usize,
    pub page_views: usize,
    pub form_submits: usize,
    pub share_intents: usize,
    pub opt_outs: usize,
    pub coupons: Vec<CouponCounts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecipientCounts {
    pub total: usize,
    /// Imported by the marketer.
    pub imported: usize,
    /// Arrived through someone's share link.
    pub via_share: usize,
    /// Scanned a store's MCS poster.
    pub via_store: usize,
    pub marketing_consent: usize,
    pub night_consent: usize,
    pub opted_out: usize,
    pub form_completed: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClickCounts {
    pub total: usize,
    /// Recipients who clicked at least once (click events with `first`).
    pub unique: usize,
    /// By in-app browser (`kakaotalk`, `naver`, …; `none` for a regular browser), most first.
    pub by_in_app: Vec<InAppClicks>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InAppClicks {
    pub in_app: String,
    pub total: usize,
    pub unique: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CouponCounts {
    pub coupon: String,
    pub title: String,
    pub claimed: usize,
    pub issued: usize,
    pub sold_out: usize,
    pub redeemed: usize,
    /// From the stock counter: coupons issued against the stock, and the stock.
    pub stock_issued: i64,
    pub stock_total: i64,
}

/// In-app name of a click from a regular browser.
pub const NO_IN_APP: &str = "none";

/// The line of a coupon; a coupon removed from the campaign file since still gets its own.
fn coupon_line<'a>(coupons: &'a mut Vec<CouponCounts>, id: &str) -> &'a mut CouponCounts {
    let i = match coupons.iter().position(|c| c.coupon == id) {
        Some(i) => i,
        None => {
            coupons.push(CouponCounts {
                coupon: id.to_owned(),
                ..CouponCounts::default()
            });
            coupons.len() - 1
        }
    };
    &mut coupons[i]
}

/// An in-app browser's name as events spell it (`kakaotalk`, `naver`, …), `NO_IN_APP` for a
/// regular browser.
fn in_app_name(in_app: Option<InApp>) -> String {
    in_app
        .and_then(|a| serde_json::to_value(a).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| NO_IN_APP.to_owned())
}

pub async fn campaign_stats(db: &Db, id: &CampaignId) -> Result<CampaignStats, StatsError> {
    let stored = db
        .campaign(id)
        .await?
        .ok_or_else(|| StatsError::UnknownCampaign(id.clone()))?;
    let c = stored.campaign;

    let mut recipients = RecipientCounts::default();
    let mut all = pin!(db.recipients(id));
    // Consent lives on the brand's customer: read those of each 100 recipients at once.
    let mut keys = Vec::with_capacity(100);
    loop {
        let next = all.try_next().await?;
        let done = next.is_none();
        if let Some(r) = next {
            recipients.total += 1;
            match r.source {
                RecipientSource::Import => recipients.imported += 1,
                RecipientSource::Share => recipients.via_share += 1,
                RecipientSource::Store => recipients.via_store += 1,
            }
            recipients.opted_out += usize::from(r.opted_out_at.is_some());
            recipients.form_completed += usize::from(r.form_completed_at.is_some());
            keys.extend(r.customer);
        }
        if keys.len() >= 100 || (done && !keys.is_empty()) {
            for customer in db.customers(c.brand(), &keys).await? {
                recipients.marketing_consent += usize::from(customer.standing_consent());
                recipients.night_consent +=
                    usize::from(customer.consents.night.is_some() && customer.standing_consent());
            }
            keys.clear();
        }
        if done {
            break;
        }
    }

    let mut coupons: Vec<CouponCounts> = c
        .coupons
        .iter()
        .map(|d| CouponCounts {
            coupon: d.id.to_string(),
            title: d.title.clone(),
            stock_total: i64::from(d.stock),
            ..CouponCounts::default()
        })
        .collect();
    let mut clicks = ClickCounts::default();
    let mut in_app: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut previews, mut page_views, mut form_submits, mut share_intents, mut opt_outs) = (0, 0, 0, 0, 0);
    for e in db.events_of(id).await? {
        match &e.data {
            EventData::Click { client, first, .. } => {
                clicks.total += 1;
                clicks.unique += usize::from(*first);
                let key = in_app_name(client.in_app);
                let slot = in_app.entry(key).or_default();
                slot.0 += 1;
                slot.1 += usize::from(*first);
            }
            EventData::Preview { .. } => previews += 1,
            EventData::PageView { .. } => page_views += 1,
            EventData::FormSubmitted { .. } => form_submits += 1,
            EventData::ShareIntent { .. } => share_intents += 1,
            EventData::OptedOut { .. } => opt_outs += 1,
            EventData::CouponClaimed { coupon_id, .. } => {
                coupon_line(&mut coupons, coupon_id.as_str()).claimed += 1;
            }
            EventData::CouponIssued { coupon_id, .. } => {
                coupon_line(&mut coupons, coupon_id.as_str()).issued += 1;
            }
            EventData::CouponSoldOut { coupon_id, .. } => {
                coupon_line(&mut coupons, coupon_id.as_str()).sold_out += 1;
            }
            EventData::CouponRedeemed { coupon_id, .. } => {
                coupon_line(&mut coupons, coupon_id.as_str()).redeemed += 1;
            }
            // Surveys are reported from their maintained aggregates (`mcamp survey report`).
            EventData::Interaction { .. }
            | EventData::ConsentChanged { .. }
            | EventData::ConsentConfirmed { .. }
            | EventData::Suppressed { .. }
            | EventData::ShareDelivered { .. }
            | EventData::SurveyStarted { .. }
            | EventData::SurveyAnswered { .. }
            | EventData::SurveyCompleted { .. }
            | EventData::SurveyWithdrawn { .. }
            | EventData::MessageSent { .. }
            | EventData::MessageDelivered { .. }
            | EventData::MessageFailed { .. } => {}
        }
    }
    clicks.by_in_app = in_app
        .into_iter()
        .map(|(in_app, (total, unique))| InAppClicks { in_app, total, unique })
        .collect();
    clicks
        .by_in_app
        .sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.in_app.cmp(&b.in_app)));

    for def in &c.coupons {
        let (issued, stock) = match db.coupon_stock(id, &def.id).await {
            Ok(s) => s,
            // Pushed before stock counters existed, or never pushed: nothing issued yet.
            Err(DbError::NotFound(_)) => (0, i64::from(def.stock)),
            Err(e) => return Err(e.into()),
        };
        if let Some(cc) = coupons.iter_mut().find(|x| x.coupon == def.id.as_str()) {
            cc.stock_issued = issued;
            cc.stock_total = stock;
        }
    }

    Ok(CampaignStats {
        campaign: id.clone(),
        name: c.name,
        status: c.status,
        recipients,
        clicks,
        previews,
        page_views,
        form_submits,
        share_intents,
        opt_outs,
        coupons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_app_browsers_are_named_as_events_name_them() {
        assert_eq!(in_app_name(Some(InApp::Kakaotalk)), "kakaotalk");
        assert_eq!(in_app_name(Some(InApp::Everytime)), "everytime");
        assert_eq!(in_app_name(None), NO_IN_APP);
    }
}
