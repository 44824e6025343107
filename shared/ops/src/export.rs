//! Exports the marketer opens in a spreadsheet: the send list (every recipient's ad with their
//! link) and the event log. Every CSV mcamp writes goes through `SheetWriter`: UTF-8 with a BOM
//! (so Korean Excel reads it as UTF-8) and `csv_safe` on every cell (no formula injection).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::pin::pin;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use mcamp_core::campaign::{Campaign, CampaignStatus};
use mcamp_core::consent::{self, Purpose};
use mcamp_core::customer::{AdDecision, AdExclusion, Customer, CustomerKey};
use mcamp_core::recipient::Recipient;
use mcamp_core::time::kst;
use mcamp_core::values::{CampaignId, PhoneNumber, RecipientId, SegmentId};
use mcamp_store::{Db, DbError};
use serde::Serialize;
use serde_json::Value;

use crate::adlaw::{self, AdMessage, AdTemplate, MessageKind, NAME_FALLBACK, TemplateError, TooLong};

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
    #[error("campaign '{0}' has no segment '{1}'")]
    UnknownSegment(CampaignId, SegmentId),
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

/// The sender whose bulk upload a send list is laid out for: the same senders whose result
/// files come back (`mcamp sends import`). Each preset names its columns as that console's
/// template does, writes digits-only phone numbers where the service wants them, carries the
/// LMS subject and the recipient id (so results can come back), and splits the list into files
/// of the service's batch size (`SendLayout`).
pub use mcamp_core::sends::Sender as SendFormat;

/// How a send list is laid out for each sender.
pub trait SendLayout {
    /// The file's columns, as the sender's upload template names them (NHN: `recipient_no`
    /// plus one column per `##key##` of the template).
    fn columns(self) -> &'static [&'static str];
    /// Rows per file: what one call or upload of the service takes.
    fn batch(self) -> Option<usize>;
}

impl SendLayout for SendFormat {
    fn columns(self) -> &'static [&'static str] {
        match self {
            SendFormat::Generic => &[
                "phone",
                "name",
                "message",
                "bytes_euckr",
                "kind",
                "reconfirm_consent",
                "recipient_id",
            ],
            SendFormat::Nhn => &["recipient_no", "title", "body", "recipient_grouping_key"],
            SendFormat::Solapi => &["to", "subject", "text", "recipient_id"],
            SendFormat::Sens => &["to", "subject", "content", "recipient_id"],
            SendFormat::Aligo => &["receiver", "title", "msg", "recipient_id"],
        }
    }

    fn batch(self) -> Option<usize> {
        match self {
            SendFormat::Generic => None,
            SendFormat::Nhn => Some(1_000),
            SendFormat::Solapi => Some(10_000),
            SendFormat::Sens => Some(100),
            SendFormat::Aligo => Some(500),
        }
    }
}

/// A row's cells as `format` lays them out.
fn cells(format: SendFormat, row: &SendRow<'_>) -> Vec<String> {
    // The LMS subject goes with LMS only: an SMS has none.
    let subject = match row.message.kind {
        MessageKind::Lms => row.subject.to_owned(),
        MessageKind::Sms => String::new(),
    };
    let id = row.recipient.to_string();
    match format {
        SendFormat::Generic => vec![
            row.phone.dashed(),
            row.name.to_owned(),
            row.message.text.clone(),
            row.message.bytes.to_string(),
            row.message.kind.as_str().to_owned(),
            if row.reconfirm { "Y" } else { "N" }.to_owned(),
            id,
        ],
        _ => vec![row.phone.as_str().to_owned(), subject, row.message.text.clone(), id],
    }
}

/// One row of a send list, before a preset lays it out (the follow-ups' send list too).
pub(crate) struct SendRow<'a> {
    pub(crate) phone: &'a PhoneNumber,
    pub(crate) name: &'a str,
    pub(crate) message: &'a AdMessage,
    pub(crate) subject: &'a str,
    pub(crate) recipient: &'a RecipientId,
    pub(crate) reconfirm: bool,
}

/// A list written in parts of a preset's batch size: part `n` (1-based) is opened when the
/// part before it is full.
pub(crate) struct Parts<W: Write, F: FnMut(usize) -> std::io::Result<W>> {
    open: F,
    format: SendFormat,
    current: Option<SheetWriter<W>>,
    rows_in_part: usize,
    parts: usize,
}

impl<W: Write, F: FnMut(usize) -> std::io::Result<W>> Parts<W, F> {
    pub(crate) fn new(open: F, format: SendFormat) -> Self {
        Parts {
            open,
            format,
            current: None,
            rows_in_part: 0,
            parts: 0,
        }
    }

    pub(crate) fn row(&mut self, row: &SendRow<'_>) -> Result<(), ExportError> {
        let full = self.format.batch().is_some_and(|b| self.rows_in_part >= b);
        if self.current.is_none() || full {
            if let Some(done) = self.current.take() {
                done.finish()?.flush()?;
            }
            self.parts += 1;
            self.rows_in_part = 0;
            self.current = Some(SheetWriter::new((self.open)(self.parts)?, self.format.columns())?);
        }
        if let Some(sheet) = self.current.as_mut() {
            sheet.row(cells(self.format, row))?;
        }
        self.rows_in_part += 1;
        Ok(())
    }

    /// Finishes the last part; a list with no row still gets one file with its header.
    pub(crate) fn finish(mut self) -> Result<usize, ExportError> {
        if self.current.is_none() {
            self.parts += 1;
            self.current = Some(SheetWriter::new((self.open)(self.parts)?, self.format.columns())?);
        }
        if let Some(done) = self.current.take() {
            done.finish()?.flush()?;
        }
        Ok(self.parts)
    }
}

/// The parts of one list in memory, filled by `export_links` through `opener` (part `n` is
/// `take()[n - 1]`): the CLI writes them to files, the console answers with them.
#[derive(Clone, Default)]
pub struct MemoryParts(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

/// Writes into the last part.
pub struct PartWriter(MemoryParts);

impl std::io::Write for PartWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut parts = self.0.0.lock().map_err(|_| std::io::Error::other("poisoned"))?;
        match parts.last_mut() {
            Some(p) => p.extend_from_slice(buf),
            None => return Err(std::io::Error::other("no part open")),
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl MemoryParts {
    pub fn opener(&self) -> impl FnMut(usize) -> std::io::Result<PartWriter> + use<> {
        let parts = self.clone();
        move |_| {
            parts
                .0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .push(Vec::new());
            Ok(PartWriter(parts.clone()))
        }
    }

    pub fn take(&self) -> Vec<Vec<u8>> {
        self.0.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default()
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
    pub format: SendFormat,
    /// Only the members of this segment of the campaign (`mcamp segments run`).
    pub segment: Option<SegmentId>,
}

/// Recipients left out of the ad list, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Excluded {
    /// Opted out or unsubscribed (080), for the whole brand.
    pub suppressed: usize,
    pub no_phone: usize,
    pub no_marketing_consent: usize,
    /// Consent given on a form, not yet confirmed by the phone's owner: on the confirmation
    /// list instead.
    pub unconfirmed: usize,
    pub night_without_consent: usize,
    /// The same customer already has a row (another recipient with the same phone).
    pub duplicate: usize,
}

impl Excluded {
    pub fn total(&self) -> usize {
        self.suppressed
            + self.no_phone
            + self.no_marketing_consent
            + self.unconfirmed
            + self.night_without_consent
            + self.duplicate
    }
    fn count(&mut self, e: AdExclusion) {
        match e {
            AdExclusion::Suppressed => self.suppressed += 1,
            AdExclusion::NoPhone => self.no_phone += 1,
            AdExclusion::NoMarketingConsent => self.no_marketing_consent += 1,
            AdExclusion::NightWithoutConsent => self.night_without_consent += 1,
        }
    }
}

/// What a send list holds and what it left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkExport {
    pub campaign: CampaignId,
    pub format: SendFormat,
    /// Files the ad list was split into (the preset's batch size).
    pub files: usize,
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
    /// Names that were not safe in an ad (a URL, digits, control or invisible characters,
    /// too long) and went out as `고객`.
    pub names_replaced: usize,
    /// Consent confirmation messages (unconfirmed consents) on the notice list.
    pub confirmations: usize,
    /// Opt-out result notices (opt-outs of the last 14 days) on the notice list.
    pub opt_out_notices: usize,
    /// The segment the list was limited to, and the recipients left out as not its members
    /// (not counted in `recipients`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentId>,
    pub outside_segment: usize,
    /// The template did not name the brand; `[brand] ` was added after `(광고)`.
    pub brand_inserted: bool,
    /// Characters EUC-KR cannot encode (sent as `？`), and how many messages have one.
    pub unmappable: Vec<String>,
    pub unmappable_messages: usize,
    pub warnings: Vec<String>,
}

impl LinkExport {
    pub fn format_name(&self) -> &'static str {
        self.format.name()
    }
}

/// Opt-outs at most this old get a result notice on the notice list (Network Act §50⑦, 시행령 §62의2).
pub const NOTICE_DAYS: i64 = 14;
/// Recipients whose customers are read at once.
const CUSTOMER_BATCH: usize = 100;

/// Writes the send list of `campaign`: one row per customer who may get the ad at the send
/// time, with the composed message, in the preset's layout and files (`ads(n)` opens part
/// `n`). With `notices`, also the non-ad notice list: a confirmation message with its link for
/// each unconfirmed consent, and the result notice of each recent opt-out. Fails (naming the
/// row) if any message is over the LMS limit; the caller should discard the files then.
pub async fn export_links<W, F, N, G>(
    db: &Db,
    campaign: &CampaignId,
    opts: &LinkExportOptions,
    ads: F,
    notices: Option<G>,
) -> Result<LinkExport, ExportError>
where
    W: Write,
    F: FnMut(usize) -> std::io::Result<W>,
    N: Write,
    G: FnMut(usize) -> std::io::Result<N>,
{
    let stored = db
        .campaign(campaign)
        .await?
        .ok_or_else(|| ExportError::UnknownCampaign(campaign.clone()))?;
    let c = &stored.campaign;
    // A segment's list carries the segment's own message when it has one.
    let template = match opts
        .segment
        .as_ref()
        .and_then(|s| c.segment(s))
        .and_then(|s| s.message.as_deref())
    {
        Some(text) => AdTemplate::with_message(c, text)?,
        None => AdTemplate::new(c)?,
    };
    let base = opts.base_url.trim_end_matches('/');
    let night = adlaw::is_night(opts.send_at);
    let mut report = LinkExport {
        campaign: campaign.clone(),
        format: opts.format,
        files: 0,
        send_at_kst: adlaw::format_kst(opts.send_at),
        night,
        recipients: 0,
        exported: 0,
        sms: 0,
        lms: 0,
        max_bytes: 0,
        reconfirm_consent: 0,
        excluded: Excluded::default(),
        night_override: 0,
        names_replaced: 0,
        confirmations: 0,
        opt_out_notices: 0,
        segment: opts.segment.clone(),
        outside_segment: 0,
        brand_inserted: template.brand_inserted,
        unmappable: Vec::new(),
        unmappable_messages: 0,
        warnings: campaign_warnings(c, opts.send_at),
    };
    let mut unmappable = BTreeSet::new();
    // One row per customer: a person with two recipient records gets one ad.
    let mut seen: HashSet<CustomerKey> = HashSet::new();
    let mut ad_parts = Parts::new(ads, opts.format);
    let mut notice_parts = notices.map(|n| Parts::new(n, opts.format));
    let members: Option<HashSet<RecipientId>> = match &opts.segment {
        Some(seg) if c.segment(seg).is_none() => {
            return Err(ExportError::UnknownSegment(campaign.clone(), seg.clone()));
        }
        Some(seg) => Some(
            db.segment_members(campaign, seg)
                .await?
                .into_iter()
                .map(|m| m.recipient_id)
                .collect(),
        ),
        None => None,
    };
    let mut recipients = pin!(db.recipients(campaign));
    let mut batch: Vec<Recipient> = Vec::with_capacity(CUSTOMER_BATCH);
    loop {
        let next = recipients.try_next().await?;
        let done = next.is_none();
        batch.extend(next);
        if batch.len() < CUSTOMER_BATCH && !done {
            continue;
        }
        let keys: Vec<CustomerKey> = batch.iter().filter_map(|r| r.customer.clone()).collect();
        let customers: HashMap<CustomerKey, Customer> = db.customers_by_key(c.brand(), &keys).await?;
        for r in batch.drain(..) {
            if members.as_ref().is_some_and(|m| !m.contains(&r.id)) {
                report.outside_segment += 1;
                continue;
            }
            report.recipients += 1;
            let customer = r.customer.as_ref().and_then(|k| customers.get(k));
            let Some(customer) = customer else {
                report.excluded.count(if r.phone.is_none() {
                    AdExclusion::NoPhone
                } else {
                    AdExclusion::NoMarketingConsent
                });
                continue;
            };
            if !seen.insert(customer.key.clone()) {
                report.excluded.duplicate += 1;
                continue;
            }
            match customer.ad_decision(Purpose::MarketingSms, night, opts.allow_night) {
                AdDecision::Exclude(e) => {
                    report.excluded.count(e);
                    if let (AdExclusion::Suppressed, Some(parts), Some(phone), Some(s)) =
                        (e, notice_parts.as_mut(), &customer.phone, &customer.suppressed)
                        && s.at > opts.send_at - chrono::Duration::days(NOTICE_DAYS)
                    {
                        let m = adlaw::opt_out_notice(&c.sender.brand, s.at)
                            .map_err(|source| too_long(&report, &r, phone, source))?;
                        parts.row(&SendRow {
                            phone,
                            name: "",
                            message: &m,
                            subject: &template.subject,
                            recipient: &r.id,
                            reconfirm: false,
                        })?;
                        report.opt_out_notices += 1;
                    }
                }
                AdDecision::Confirm => {
                    report.excluded.unconfirmed += 1;
                    let (Some(parts), Some(phone)) = (notice_parts.as_mut(), &customer.phone) else {
                        continue;
                    };
                    let pending = consent::confirmations(&customer.consents);
                    let labels: Vec<&str> = pending.iter().map(|p| p.purpose.label_ko()).collect();
                    let given = customer
                        .consents
                        .get(Purpose::MarketingSms)
                        .map_or(opts.send_at, |s| s.at);
                    let code = db
                        .mint_confirmation(c.brand(), &customer.key, &c.id, opts.send_at)
                        .await?;
                    let link = format!("{base}/c/{code}");
                    let m = adlaw::confirmation_message(&c.sender.brand, given, &labels, &link)
                        .map_err(|source| too_long(&report, &r, phone, source))?;
                    parts.row(&SendRow {
                        phone,
                        name: "",
                        message: &m,
                        subject: &template.subject,
                        recipient: &r.id,
                        reconfirm: false,
                    })?;
                    report.confirmations += 1;
                }
                AdDecision::Send { night_override } => {
                    let Some(phone) = &customer.phone else {
                        continue;
                    };
                    let name = r.name.as_deref().or(customer.name.as_deref());
                    let link = format!("{base}/{}", r.code);
                    let m = template
                        .render(name, &link)
                        .map_err(|source| too_long(&report, &r, phone, source))?;
                    let reconfirm = customer
                        .consents
                        .get(Purpose::MarketingSms)
                        .is_some_and(|s| adlaw::needs_reconfirmation(s.at, opts.send_at));
                    ad_parts.row(&SendRow {
                        phone,
                        name: if m.name_replaced {
                            NAME_FALLBACK
                        } else {
                            name.unwrap_or_default()
                        },
                        message: &m,
                        subject: &template.subject,
                        recipient: &r.id,
                        reconfirm,
                    })?;
                    report.exported += 1;
                    match m.kind {
                        MessageKind::Sms => report.sms += 1,
                        MessageKind::Lms => report.lms += 1,
                    }
                    report.max_bytes = report.max_bytes.max(m.bytes);
                    report.reconfirm_consent += usize::from(reconfirm);
                    report.night_override += usize::from(night_override);
                    report.names_replaced += usize::from(m.name_replaced);
                    if !m.unmappable.is_empty() {
                        report.unmappable_messages += 1;
                        unmappable.extend(m.unmappable);
                    }
                }
            }
        }
        if done {
            break;
        }
    }
    report.files = ad_parts.finish()?;
    if let Some(parts) = notice_parts {
        parts.finish()?;
    }
    report.unmappable = unmappable.into_iter().map(String::from).collect();
    Ok(report)
}

/// A message over the LMS limit, named by the row it would have had (header = row 1).
fn too_long(report: &LinkExport, r: &Recipient, phone: &PhoneNumber, source: TooLong) -> ExportError {
    ExportError::TooLong {
        row: report.exported + 2,
        recipient: r.id.clone(),
        phone: phone.masked(),
        source,
    }
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
