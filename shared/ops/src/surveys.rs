//! Survey and MCS operations for the CLI: reports from the maintained aggregates, store links
//! and the QR poster of a store.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use maud::html;
use mcamp_core::campaign::{Campaign, CampaignKind};
use mcamp_core::survey::SurveyDef;
use mcamp_core::survey_report::{McsReport, Report, mcs_report, survey_report};
use mcamp_core::values::{CampaignId, ShortCode, StoreId};
use mcamp_store::{Db, DbError};

use crate::qr::qr_code;

#[derive(Debug, thiserror::Error)]
pub enum SurveyOpsError {
    #[error("unknown campaign '{0}' (`mcamp campaign list` shows the campaigns)")]
    UnknownCampaign(CampaignId),
    #[error("campaign '{0}' has no survey (kind survey or mcs)")]
    NoSurvey(CampaignId),
    #[error("campaign '{0}' is a {1} campaign; this needs kind {2}")]
    WrongKind(CampaignId, &'static str, &'static str),
    #[error("unknown store '{0}' (`mcamp stores add {0} NAME` registers it)")]
    UnknownStore(StoreId),
    #[error("cannot draw a QR code of '{0}'")]
    Qr(String),
    #[error("storage: {0}")]
    Db(#[from] DbError),
}

fn kind_name(k: CampaignKind) -> &'static str {
    match k {
        CampaignKind::Mdm => "mdm",
        CampaignKind::Survey => "survey",
        CampaignKind::Mcs => "mcs",
    }
}

async fn survey_campaign(
    db: &Db,
    id: &CampaignId,
    want: CampaignKind,
) -> Result<(Campaign, SurveyDef), SurveyOpsError> {
    let c = db
        .campaign(id)
        .await?
        .ok_or_else(|| SurveyOpsError::UnknownCampaign(id.clone()))?
        .campaign;
    if c.kind != want {
        return Err(SurveyOpsError::WrongKind(
            id.clone(),
            kind_name(c.kind),
            kind_name(want),
        ));
    }
    let def = c.survey.clone().ok_or_else(|| SurveyOpsError::NoSurvey(id.clone()))?;
    Ok((c, def))
}

/// The report of a survey campaign: reads its aggregate items only (a fixed number).
pub async fn load_survey_report(db: &Db, id: &CampaignId) -> Result<Report, SurveyOpsError> {
    let (c, def) = survey_campaign(db, id, CampaignKind::Survey).await?;
    let all = db.survey_totals(id).await?;
    Ok(survey_report(id.as_str(), &c.name, &def, &all, false))
}

/// The MCS report (store ranking with weekly trends, and all stores' answers), with store names.
pub async fn load_mcs_report(
    db: &Db,
    id: &CampaignId,
    min_responses: u64,
) -> Result<(McsReport, BTreeMap<String, String>), SurveyOpsError> {
    let (c, def) = survey_campaign(db, id, CampaignKind::Mcs).await?;
    let by_scope = db.survey_counters(id).await?;
    let report = mcs_report(id.as_str(), &c.name, &def, &by_scope, min_responses);
    let ids: Vec<StoreId> = report
        .stores
        .iter()
        .filter_map(|s| StoreId::parse(&s.store_id).ok())
        .collect();
    let names = db.store_names(&ids).await?;
    Ok((report, names))
}

/// A store's permanent link in an MCS campaign (minted on first use) and its name.
pub async fn store_link(
    db: &Db,
    id: &CampaignId,
    store: &StoreId,
    now: DateTime<Utc>,
) -> Result<(ShortCode, String, Campaign), SurveyOpsError> {
    let (c, _) = survey_campaign(db, id, CampaignKind::Mcs).await?;
    let found = db
        .store(store)
        .await?
        .ok_or_else(|| SurveyOpsError::UnknownStore(store.clone()))?;
    let code = db.store_link(id, store, now).await?;
    Ok((code, found.name, c))
}

/// An A4 poster (SVG, 210 × 297 mm) for the store's counter: brand, store name, a call to
/// rate the store, the QR code and the link written out for those who type it.
pub fn poster_svg(brand: &str, store_name: &str, headline: &str, url: &str) -> Result<String, SurveyOpsError> {
    use qrcode::Color;
    let code = qr_code(url).map_err(|_| SurveyOpsError::Qr(url.to_owned()))?;
    let n = code.width();
    // The QR code is 120 mm wide with a 4-module quiet zone, centred.
    let side = 120.0;
    let module = side / (n as f64 + 8.0);
    let (x0, y0) = ((210.0 - side) / 2.0, 110.0);
    let mut path = String::new();
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = ((i % n) as f64 + 4.0, (i / n) as f64 + 4.0);
            path.push_str(&format!(
                "M{:.3} {:.3}h{m:.3}v{m:.3}h-{m:.3}z",
                x0 + x * module,
                y0 + y * module,
                m = module
            ));
        }
    }
    // maud escapes every name and the link; the elements are closed, as XML wants.
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297" role="img"
            aria-label=(format!("{store_name} 평가 QR")) {
            rect width="210" height="297" fill="#fff" {}
            g font-family="'Noto Sans KR','Noto Sans CJK KR','Apple SD Gothic Neo','Malgun Gothic',sans-serif"
                text-anchor="middle" fill="#1b1b1f" {
                text x="105" y="40" font-size="11" font-weight="700" { (brand) }
                text x="105" y="62" font-size="16" font-weight="700" { (store_name) }
                text x="105" y="88" font-size="10" { (headline) }
                text x="105" y="252" font-size="7" { "휴대폰 카메라로 QR 코드를 비춰 주세요" }
                text x="105" y="266" font-size="6" fill="#6b6b75" { (url) }
            }
            rect x=(x0) y=(y0) width=(side) height=(side) fill="#fff" {}
            path d=(path) fill="#000" {}
        }
    };
    Ok(svg.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poster_escapes_names_and_draws_every_dark_module() -> Result<(), Box<dyn std::error::Error>> {
        let url = "https://go.brand.kr/AbCdEfGhIj";
        let svg = poster_svg("봄꽃<커피>", "강남 & 역삼", "평가해 주세요", url)?;
        assert!(svg.contains("봄꽃&lt;커피&gt;") && svg.contains("강남 &amp; 역삼") && !svg.contains("<커피>"));
        assert!(svg.contains(url));
        let dark = qr_code(url)?
            .to_colors()
            .iter()
            .filter(|c| **c == qrcode::Color::Dark)
            .count();
        let d = svg
            .split("<path d=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or("no path")?;
        assert_eq!(d.matches('M').count(), dark, "one square per dark module");
        Ok(())
    }
}
