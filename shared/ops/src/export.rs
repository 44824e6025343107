//! Exports the marketer opens in a spreadsheet: the send list (every recipient's ad with their
//! link) and the event log. Every CSV mcamp writes goes through `SheetWriter`: UTF-8 with a BOM
//! (so Korean Excel reads it as UTF-8) and `csv_safe` on every cell (no formula injection).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::Write;
use std::pin::pin;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use mcamp_core::campaign::{Campaign, CampaignStatus};
use mcamp_core::time::kst;
use mcamp_core::values::{CampaignId, RecipientId};
use mcamp_store::{Db, DbError};
use serde::Serialize;
use serde_json::Value;

use crate::adlaw::{self, AdTemplate, Decision, Exclusion, MessageKind, TemplateError, TooLong};

/// The byte-order mark that tells Excel a CSV is UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// First characters that make a spreadsheet read a cell as a formula (or that hide one), with
/// their full-width forms, which some CJK spreadsheet versions treat alike.
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];

/// A cell safe to open in a spreadsheet: one that could start a formula gets a leading `'`,
/// which makes the spreadsheet show it as text.
pub fn csv_safe(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(c) if FORMULA_STARTS.contains(&c) => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Writes a CSV for spreadsheets: BOM, header, and every cell through `csv_safe`.
pub struct SheetWriter<W: Write> {
    csv: csv::Writer<W>,
}

impl<W: Write> SheetWriter<W> {
    pub fn new(mut out: W, header: &[&str]) -> Result<Self, ExportError> {
        out.write_all(BOM)?;
        let mut w = SheetWriter {
            csv: csv::Writer::from_writer(out),
        };
        w.row(header.iter().copied())?;
        Ok(w)
    }

    pub fn row<I, S>(&mut self, cells: I) -> Result<(), ExportError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for cell in cells {
            self.csv.write_field(csv_safe(cell.as_ref()).as_bytes())?;
        }
        self.csv.write_record(None::<&[u8]>)?;
        Ok(())
    }

    /// Flushes and hands back the writer.
    pub fn finish(self) -> Result<W, ExportError> {
        self.csv
            .into_inner()
            .map_err(|e| ExportError::Io(std::io::Error::other(e.to_string())))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown campaign '{0}' (`mcamp campaign list` shows the campaigns)")]
    UnknownCampaign(CampaignId),
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Names the row the recipient would have had in the export (header = row 1).
    #[error("row {row} (recipient {recipient}, {phone}): {source}")]
    TooLong {
        row: usize,
        recipient: RecipientId,
        phone: String,
        source: TooLong,
    },
    #[error("storage: {0}")]
    Db(#[from] DbError),
    #[error("writing the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing the CSV: {0}")]
    Io(#[from] std::io::Error),
}

impl ExportError {
    /// Whether the storage failed (rather than the input).
    pub fn is_storage(&self) -> bool {
        matches!(self, ExportError::Db(_))
    }
}

/// How to build a send list.
#[derive(Debug, Clone)]
pub struct LinkExportOptions {
    /// `https://go.brand.kr`; each link is `{base_url}/{code}`.
    pub base_url: String,
    pub send_at: DateTime<Utc>,
    /// Include recipients without night consent at a night send time (against the law's
    /// default; the caller warns loudly).
    pub allow_night: bool,
}

/// Recipients left out of a send list, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Excluded {
    pub opted_out: usize,
    pub no_phone: usize,
    pub no_marketing_consent: usize,
    pub night_without_consent: usize,
}

impl Excluded {
    pub fn total(&self) -> usize {
        self.opted_out + self.no_phone + self.no_marketing_consent + self.night_without_consent
    }
    fn count(&mut self, e: Exclusion) {
        match e {
            Exclusion::OptedOut => self.opted_out += 1,
            Exclusion::NoPhone => self.no_phone += 1,
            Exclusion::NoMarketingConsent => self.no_marketing_consent += 1,
            Exclusion::NightWithoutConsent => self.night_without_consent += 1,
        }
    }
}

/// What a send list holds and what it left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkExport {
    pub campaign: CampaignId,
    /// The send time in KST, `2026-03-02 10:00`.
    pub send_at_kst: String,
    /// The send time falls in 21:00–08:00 KST.
    pub night: bool,
    /// Recipients looked at.
    pub recipients: usize,
    pub exported: usize,
    pub sms: usize,
    pub lms: usize,
    pub max_bytes: usize,
    /// Exported rows whose marketing consent is two years old or more.
    pub reconfirm_consent: usize,
    pub excluded: Excluded,
    /// Exported at night without night consent, because of `allow_night`.
    pub night_override: usize,
    /// The template did not name the brand; `[brand] ` was added after `(광고)`.
    pub brand_inserted: bool,
    /// Characters EUC-KR cannot encode (sent as `？`), and how many messages have one.
    pub unmappable: Vec<String>,
    pub unmappable_messages: usize,
    pub warnings: Vec<String>,
}

pub const LINK_COLUMNS: [&str; 6] = ["phone", "name", "message", "bytes_euckr", "kind", "reconfirm_consent"];

/// Writes the send list of `campaign` to `out`: one row per recipient who may get the ad at
/// the send time, with the composed message. Fails (naming the row) if any message is over
/// the LMS limit; the caller should discard `out` then.
pub async fn export_links<W: Write>(
    db: &Db,
    campaign: &CampaignId,
    opts: &LinkExportOptions,
    out: W,
) -> Result<LinkExport, ExportError> {
    let stored = db
        .campaign(campaign)
        .await?
        .ok_or_else(|| ExportError::UnknownCampaign(campaign.clone()))?;
    let c = &stored.campaign;
    let template = AdTemplate::new(c)?;
    let base = opts.base_url.trim_end_matches('/');
    let mut report = LinkExport {
        campaign: campaign.clone(),
        send_at_kst: adlaw::format_kst(opts.send_at),
        night: adlaw::is_night(opts.send_at),
        recipients: 0,
        exported: 0,
        sms: 0,
        lms: 0,
        max_bytes: 0,
        reconfirm_consent: 0,
        excluded: Excluded::default(),
        night_override: 0,
        brand_inserted: template.brand_inserted,
        unmappable: Vec::new(),
        unmappable_messages: 0,
        warnings: campaign_warnings(c, opts.send_at),
    };
    let mut unmappable = BTreeSet::new();
    let mut sheet = SheetWriter::new(out, &LINK_COLUMNS)?;
    let mut recipients = pin!(db.recipients(campaign));
    while let Some(r) = recipients.try_next().await? {
        report.recipients += 1;
        let night_override = match adlaw::decide(&r, opts.send_at, opts.allow_night) {
            Decision::Exclude(e) => {
                report.excluded.count(e);
                continue;
            }
            Decision::Send { night_override } => night_override,
        };
        let (Some(phone), Some(consented)) = (&r.phone, r.consent.marketing_at) else {
            continue;
        };
        let link = format!("{base}/{}", r.code);
        let m = template
            .render(r.name.as_deref(), &link)
            .map_err(|source| ExportError::TooLong {
                row: report.exported + 2,
                recipient: r.id.clone(),
                phone: phone.masked(),
                source,
            })?;
        let reconfirm = adlaw::needs_reconfirmation(consented, opts.send_at);
        sheet.row([
            phone.dashed().as_str(),
            r.name.as_deref().unwrap_or_default(),
            m.text.as_str(),
            m.bytes.to_string().as_str(),
            m.kind.as_str(),
            if reconfirm { "Y" } else { "N" },
        ])?;
        report.exported += 1;
        match m.kind {
            MessageKind::Sms => report.sms += 1,
            MessageKind::Lms => report.lms += 1,
        }
        report.max_bytes = report.max_bytes.max(m.bytes);
        report.reconfirm_consent += usize::from(reconfirm);
        report.night_override += usize::from(night_override);
        if !m.unmappable.is_empty() {
            report.unmappable_messages += 1;
            unmappable.extend(m.unmappable);
        }
    }
    sheet.finish()?.flush()?;
    report.unmappable = unmappable.into_iter().map(String::from).collect();
    Ok(report)
}

/// What about the campaign itself would make the send list go wrong.
fn campaign_warnings(c: &Campaign, send_at: DateTime<Utc>) -> Vec<String> {
    let mut w = Vec::new();
    match c.status {
        CampaignStatus::Active => {}
        CampaignStatus::Paused => w.push(format!(
            "the campaign is paused: its links show the ended-event page until `mcamp campaign resume {}`",
            c.id
        )),
        CampaignStatus::Ended => w.push("the campaign has ended: its links no longer work".into()),
    }
    if c.starts_at.is_some_and(|s| send_at < s) {
        w.push("the send time is before the campaign starts (starts_at)".into());
    }
    if c.ends_at.is_some_and(|e| send_at >= e) {
        w.push("the send time is after the campaign ends (ends_at)".into());
    }
    w
}

pub const EVENT_COLUMNS: [&str; 6] = ["at", "type", "recipient_id", "referrer_id", "chain_head", "detail"];

/// Writes every event of `campaign`, oldest first; `at` in KST with milliseconds, `detail`
/// the event's remaining fields as JSON. Returns the number of events.
pub async fn export_events<W: Write>(db: &Db, campaign: &CampaignId, out: W) -> Result<usize, ExportError> {
    if db.campaign(campaign).await?.is_none() {
        return Err(ExportError::UnknownCampaign(campaign.clone()));
    }
    let events = db.events_of(campaign).await?;
    let mut sheet = SheetWriter::new(out, &EVENT_COLUMNS)?;
    let id = |r: &Option<RecipientId>| r.as_ref().map(|r| r.to_string()).unwrap_or_default();
    for e in &events {
        let mut detail = match serde_json::to_value(e) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        for shown in ["at", "type", "recipient_id", "referrer_id", "chain_head", "campaign_id"] {
            detail.remove(shown);
        }
        sheet.row([
            e.at.with_timezone(&kst()).to_rfc3339_opts(SecondsFormat::Millis, true),
            e.kind().to_owned(),
            id(&e.recipient_id),
            id(&e.referrer_id),
            id(&e.chain_head),
            Value::Object(detail).to_string(),
        ])?;
    }
    sheet.finish()?.flush()?;
    Ok(events.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formula_starts_are_quoted_and_others_kept() {
        assert_eq!(csv_safe("=1+1"), "'=1+1");
        assert_eq!(csv_safe("+82 10"), "'+82 10");
        assert_eq!(csv_safe("-5"), "'-5");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("\tx"), "'\tx");
        assert_eq!(csv_safe("\rx"), "'\rx");
        assert_eq!(csv_safe("＝HYPERLINK()"), "'＝HYPERLINK()");
        assert_eq!(csv_safe("010-1234-5678"), "010-1234-5678");
        assert_eq!(csv_safe("(광고)[봄꽃커피]"), "(광고)[봄꽃커피]");
        assert_eq!(csv_safe(""), "");
        assert!(matches!(csv_safe("김민지"), Cow::Borrowed(_)));
    }

    #[test]
    fn sheet_has_a_bom_and_safe_cells() {
        let mut sheet = SheetWriter::new(Vec::new(), &["a", "b"]).unwrap();
        sheet.row(["=cmd|' /C calc'!A0", "줄\n바꿈"]).unwrap();
        let bytes = sheet.finish().unwrap();
        assert!(bytes.starts_with(BOM));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(text, "a,b\n'=cmd|' /C calc'!A0,\"줄\n바꿈\"\n");
    }

    proptest! {
        #[test]
        fn safe_cells_never_start_a_formula(s in "[=+\\-@\t\r＝＋－＠a-z0-9 ]{0,4}\\PC{0,12}") {
            let out = csv_safe(&s);
            let first = out.chars().next();
            prop_assert!(first.is_none_or(|c| !FORMULA_STARTS.contains(&c)), "{:?}", out);
            // Only ever a prefix: the text itself is kept.
            prop_assert!(out.ends_with(s.as_str()));
            prop_assert!(out.len() <= s.len() + 1);
        }
    }
}
