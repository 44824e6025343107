//! `mcamp sends import`: the result file a sender's console exports after a send (NHN Cloud,
//! Solapi, Naver Cloud SENS, Aligo, or mcamp's generic layout), one row per message, becomes
//! the `message_sent`, `message_delivered` and `message_failed` events of the campaign's
//! recipients. Each row is tied to its recipient by the `recipient_id` the send list carried
//! (NHN's recipient grouping key, Solapi's custom field, the column kept for SENS and Aligo).
//!
//! The status and code mapping is `mcamp_core::sends` (a table in its doc comment, and in
//! docs/events.md); the webhooks use the same. Every event has a deterministic id and time
//! and is written with a conditional put, so importing a file again, or a later file that
//! repeats rows with their final results, records nothing twice: a row that went from sent to
//! delivered adds only its `message_delivered`.
//!
//! The file is UTF-8 (with or without BOM) or CP949 as Korean Excel saves it, detected from
//! the bytes; rows stream through in chunks. A bad row (unknown or malformed recipient id, a
//! recipient of another campaign, a missing or unknown status, a bad time) is reported by its
//! row number (header = row 1) and writes nothing; reasons never repeat a cell that could be a
//! phone number.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use mcamp_core::events::{Event, EventData, FailureReason};
use mcamp_core::recipient::Recipient;
use mcamp_core::sends::{self, DeliveryResult, Outcome, Reported, Sender};
use mcamp_core::values::{CampaignId, RecipientId};
use mcamp_store::{Db, DbError};
use serde::Serialize;

use crate::import::{MAX_ROW_BYTES, NextRow, RejectedRow, decoding_reader, next_row};

/// Largest file read (a result export of 10^6 messages is well under it).
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// Rows whose recipients are read and events written at once.
const CHUNK: usize = 512;
/// Storage calls under way at once.
const CONCURRENCY: usize = 32;

/// What a column of a result file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Recipient,
    Status,
    Code,
    Text,
    Reason,
    MessageId,
    MessageSeq,
    Channel,
    RequestedAt,
    ReceivedAt,
}

impl Role {
    const ALL: [Role; 10] = [
        Role::Recipient,
        Role::Status,
        Role::Code,
        Role::Text,
        Role::Reason,
        Role::MessageId,
        Role::MessageSeq,
        Role::Channel,
        Role::RequestedAt,
        Role::ReceivedAt,
    ];
}

/// The header names (as each console writes them) a preset reads for a role, preferred first.
/// They are matched without case, spaces, `_`, `-` or `.`.
fn aliases(sender: Sender, role: Role) -> &'static [&'static str] {
    use Role::*;
    match (sender, role) {
        (Sender::Generic, Recipient) => &["recipient_id", "수신자ID"],
        (Sender::Generic, Status) => &["status", "result", "상태", "결과"],
        (Sender::Generic, Code) => &["code", "result_code", "결과코드"],
        (Sender::Generic, Reason) => &["reason", "실패사유"],
        (Sender::Generic, MessageId) => &["message_id", "메시지ID"],
        (Sender::Generic, Channel) => &["channel", "kind", "type", "유형"],
        (Sender::Generic, RequestedAt) => &["sent_at", "requested_at", "발송일시", "요청일시"],
        (Sender::Generic, ReceivedAt) => &["delivered_at", "received_at", "수신일시"],
        (Sender::Nhn, Recipient) => &[
            "recipientGroupingKey",
            "recipient_grouping_key",
            "recipientGropuingKey",
            "수신자 그룹키",
        ],
        (Sender::Nhn, Status) => &[
            "messageStatus",
            "msgStatus",
            "msgStatusName",
            "메시지 상태",
            "발송 상태",
            "상태",
        ],
        (Sender::Nhn, Code) => &["resultCode", "수신 결과 코드", "결과 코드"],
        (Sender::Nhn, MessageId) => &["requestId", "요청 ID"],
        (Sender::Nhn, MessageSeq) => &["recipientSeq", "mtPr", "발송 상세 ID"],
        (Sender::Nhn, Channel) => &["messageType", "senderType", "sendType", "발송 유형", "메시지 유형"],
        (Sender::Nhn, RequestedAt) => &["requestDate", "요청 일시", "발신 일시", "발송 일시"],
        (Sender::Nhn, ReceivedAt) => &["receiveDate", "resultDate", "수신 일시"],
        (Sender::Solapi, Recipient) => &["customFields.recipient_id", "recipient_id", "recipientId"],
        (Sender::Solapi, Status) => &["statusCode", "상태 코드", "결과 코드"],
        (Sender::Solapi, MessageId) => &["messageId", "메시지 ID", "_id"],
        (Sender::Solapi, Channel) => &["type", "메시지 타입", "타입"],
        (Sender::Solapi, RequestedAt) => &["dateCreated", "dateProcessed", "접수 일시", "발송 일시"],
        (Sender::Solapi, ReceivedAt) => &["dateReceived", "dateReported", "수신 일시", "완료 일시"],
        (Sender::Sens, Recipient) => &["recipient_id", "recipientId"],
        (Sender::Sens, Status) => &["status", "발송 상태", "상태"],
        (Sender::Sens, Code) => &["statusCode", "상태 코드", "결과 코드"],
        (Sender::Sens, Text) => &["statusMessage", "statusName", "결과 메시지"],
        (Sender::Sens, MessageId) => &["messageId", "메시지 ID"],
        (Sender::Sens, Channel) => &["type", "메시지 타입", "유형"],
        (Sender::Sens, RequestedAt) => &["requestTime", "요청 시간", "요청 일시"],
        (Sender::Sens, ReceivedAt) => &["completeTime", "완료 시간", "완료 일시"],
        (Sender::Aligo, Recipient) => &["recipient_id"],
        (Sender::Aligo, Status) => &["sms_state", "전송 결과", "상태", "결과"],
        (Sender::Aligo, MessageId) => &["mdid", "msg_id", "mid"],
        (Sender::Aligo, Channel) => &["type", "msg_type", "구분"],
        (Sender::Aligo, RequestedAt) => &["reg_date", "reserve_date", "등록 일시", "요청 일시"],
        (Sender::Aligo, ReceivedAt) => &["send_date", "발송 일시", "전송 일시"],
        _ => &[],
    }
}

/// A header as it is matched: lower case, without the BOM, spaces, `_`, `-` or `.`.
fn normalised(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
        .collect()
}

/// Which column holds each role in this file.
struct Columns(HashMap<Role, usize>);

impl Columns {
    fn of(sender: Sender, headers: &[String]) -> Self {
        let mut found = HashMap::new();
        for role in Role::ALL {
            let column = aliases(sender, role)
                .iter()
                .find_map(|a| headers.iter().position(|h| *h == normalised(a)));
            if let Some(c) = column {
                found.insert(role, c);
            }
        }
        Columns(found)
    }

    fn has(&self, role: Role) -> bool {
        self.0.contains_key(&role)
    }

    /// The cell of `role`, trimmed, without the `'` mcamp's exports put before a cell that
    /// could start a formula; `None` when the column is absent or the cell empty.
    fn cell<'r>(&self, record: &'r csv::StringRecord, role: Role) -> Option<&'r str> {
        let v = record.get(*self.0.get(&role)?)?.trim();
        let v = v.strip_prefix('\'').unwrap_or(v).trim();
        (!v.is_empty()).then_some(v)
    }
}

/// How to import a result file.
#[derive(Debug, Clone)]
pub struct SendsOptions {
    pub format: Sender,
    /// Read and report everything, write nothing.
    pub dry_run: bool,
    /// When the messages were sent, for rows whose file gives no request time (otherwise such
    /// a row is refused: the import time would differ on every import).
    pub sent_at: Option<DateTime<Utc>>,
}

/// What an import did (in a dry run: would do). Counts are of events.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SendsReport {
    pub campaign: CampaignId,
    pub format: Sender,
    pub encoding: String,
    pub dry_run: bool,
    pub rows: usize,
    /// New `message_sent` events (every delivered or failed message was sent, too).
    pub sent: usize,
    /// New `message_delivered` events.
    pub delivered: usize,
    /// New `message_failed` events by reason.
    pub failed: BTreeMap<FailureReason, usize>,
    /// Rows the sender cancelled or refused as a duplicate: nothing to record.
    pub not_sent: usize,
    /// Events recorded already (by an earlier import, a webhook, or an earlier row).
    pub already_imported: usize,
    pub rejected: Vec<RejectedRow>,
}

impl SendsReport {
    pub fn failed_total(&self) -> usize {
        self.failed.values().sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendsError {
    #[error("unknown campaign '{0}' (`mcamp campaign list` shows the campaigns)")]
    UnknownCampaign(CampaignId),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the file is over {} MB: split it and import the parts (what was imported is kept, and importing it again writes nothing twice)",
        MAX_FILE_BYTES / (1024 * 1024)
    )]
    TooLarge,
    #[error("the header row is over {MAX_ROW_BYTES} bytes")]
    HeaderTooLong,
    #[error("the header has no {missing} column for format {format}; it needs {expected}")]
    MissingColumns {
        format: &'static str,
        missing: &'static str,
        expected: String,
    },
    #[error(
        "the file has no time column for format {format} ({expected}): give the send time (--sent-at) so every row has one"
    )]
    NoTimeColumn { format: &'static str, expected: String },
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Storage failed part way; what was written stays, and a second import is safe.
    #[error("storage")]
    Db(#[from] DbError),
}

/// `a | b | c`, the header names a role accepts.
fn listed(sender: Sender, role: Role) -> String {
    aliases(sender, role).join(" | ")
}

/// A file of any size read up to `MAX_FILE_BYTES`; past it the stream ends and `over` is set,
/// so the import stops rather than reading on.
struct Capped<R> {
    inner: R,
    left: u64,
    over: Arc<AtomicBool>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.over.store(true, Ordering::SeqCst);
            }
            return Ok(0);
        }
        let max = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// A cell for a message: quoted when it cannot be a phone number (fewer than 7 digits), so a
/// misplaced column never puts a number on screen or in a log.
fn shown(v: &str) -> String {
    if v.chars().filter(char::is_ascii_digit).count() >= 7 {
        "(a number, not shown)".to_owned()
    } else {
        format!("{:?}", v.chars().take(24).collect::<String>())
    }
}

/// One readable row: whose result, and what it says.
struct Parsed {
    row: usize,
    recipient: RecipientId,
    result: DeliveryResult,
}

fn parse_row(
    format: Sender,
    cols: &Columns,
    record: &csv::StringRecord,
) -> Result<(RecipientId, DeliveryResult), String> {
    let cell = |role| cols.cell(record, role);
    let recipient = cell(Role::Recipient).ok_or("recipient_id: missing")?;
    let recipient = RecipientId::parse(recipient)
        .map_err(|_| "recipient_id: not a recipient id (16 letters and digits, as the send list gave it)".to_owned())?;
    let reported = Reported {
        status: cell(Role::Status),
        code: cell(Role::Code),
        text: cell(Role::Text),
        reason: cell(Role::Reason),
    };
    let outcome = format
        .outcome(&reported)
        .ok_or_else(|| match (reported.status, reported.code) {
            (None, None) => "status: missing".to_owned(),
            (status, code) => {
                let said: Vec<String> = status.into_iter().chain(code).map(shown).collect();
                format!(
                    "status: {} is not a {} result mcamp knows",
                    said.join(" / "),
                    format.name()
                )
            }
        })?;
    let time = |role, what: &str| match cell(role) {
        None => Ok(None),
        Some(v) => sends::parse_time(v)
            .map(Some)
            .ok_or_else(|| format!("{what}: not a time such as 2026-03-02 10:00:00")),
    };
    let result = DeliveryResult {
        sender: format,
        channel: format.channel(cell(Role::Channel)),
        outcome,
        message_id: sends::message_id(cell(Role::MessageId), cell(Role::MessageSeq)),
        code: reported.code.or(reported.status).and_then(sends::result_code),
        requested_at: time(Role::RequestedAt, "request time")?,
        received_at: time(Role::ReceivedAt, "receive time")?,
    };
    Ok((recipient, result))
}

/// Imports the result file `input` of `campaign`'s send.
pub async fn import_sends<R: Read + 'static>(
    db: &Db,
    campaign: &CampaignId,
    opts: &SendsOptions,
    input: R,
) -> Result<SendsReport, SendsError> {
    if db.campaign(campaign).await?.is_none() {
        return Err(SendsError::UnknownCampaign(campaign.clone()));
    }
    let format = opts.format;
    let over = Arc::new(AtomicBool::new(false));
    let capped = Capped {
        inner: input,
        left: MAX_FILE_BYTES,
        over: over.clone(),
    };
    let (reader, encoding) = decoding_reader(capped)?;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = csv.headers()?;
    if header.as_slice().len() > MAX_ROW_BYTES {
        return Err(SendsError::HeaderTooLong);
    }
    let headers: Vec<String> = header.iter().map(normalised).collect();
    let cols = Columns::of(format, &headers);
    if !cols.has(Role::Recipient) {
        return Err(SendsError::MissingColumns {
            format: format.name(),
            missing: "recipient id",
            expected: format!("a recipient id ({})", listed(format, Role::Recipient)),
        });
    }
    if !cols.has(Role::Status) && !cols.has(Role::Code) {
        let mut expected = format!("a status ({})", listed(format, Role::Status));
        if !aliases(format, Role::Code).is_empty() {
            expected += &format!(" or a result code ({})", listed(format, Role::Code));
        }
        return Err(SendsError::MissingColumns {
            format: format.name(),
            missing: "status",
            expected,
        });
    }
    if !cols.has(Role::RequestedAt) && !cols.has(Role::ReceivedAt) && opts.sent_at.is_none() {
        return Err(SendsError::NoTimeColumn {
            format: format.name(),
            expected: format!(
                "{} or {}",
                listed(format, Role::RequestedAt),
                listed(format, Role::ReceivedAt)
            ),
        });
    }

    let mut report = SendsReport {
        campaign: campaign.clone(),
        format,
        encoding: encoding.to_owned(),
        dry_run: opts.dry_run,
        rows: 0,
        sent: 0,
        delivered: 0,
        failed: BTreeMap::new(),
        not_sent: 0,
        already_imported: 0,
        rejected: Vec::new(),
    };
    // The events met so far (a hash of each id), so a message on two rows of one file counts
    // once, in a dry run too.
    let mut seen: HashSet<u64> = HashSet::new();
    let mut chunk: Vec<Parsed> = Vec::with_capacity(CHUNK);
    let mut record = csv::StringRecord::new();
    loop {
        let more = match next_row(&mut csv, &mut record, report.rows) {
            NextRow::End => false,
            NextRow::Blank => continue,
            NextRow::Refused(rejected) => {
                report.rows += 1;
                report.rejected.push(rejected);
                continue;
            }
            NextRow::Row(row) => {
                report.rows += 1;
                match parse_row(format, &cols, &record) {
                    Ok((recipient, result)) => chunk.push(Parsed { row, recipient, result }),
                    Err(reason) => report.rejected.push(RejectedRow { row, reason }),
                }
                true
            }
        };
        // Past the size cap the last row read may be cut short: stop before recording it.
        if !more && over.load(Ordering::SeqCst) {
            return Err(SendsError::TooLarge);
        }
        if chunk.len() >= CHUNK || (!more && !chunk.is_empty()) {
            record_chunk(db, campaign, opts, &mut chunk, &mut seen, &mut report).await?;
        }
        if !more {
            break;
        }
    }
    report.rejected.sort_by_key(|r| r.row);
    Ok(report)
}

/// Reads the chunk's recipients, turns its rows into events and writes (or, in a dry run,
/// looks up) those not met yet.
async fn record_chunk(
    db: &Db,
    campaign: &CampaignId,
    opts: &SendsOptions,
    chunk: &mut Vec<Parsed>,
    seen: &mut HashSet<u64>,
    report: &mut SendsReport,
) -> Result<(), SendsError> {
    let ids: HashSet<RecipientId> = chunk.iter().map(|p| p.recipient.clone()).collect();
    let recipients: HashMap<RecipientId, Option<Recipient>> = stream::iter(ids)
        .map(|id| async move {
            let r = db.recipient(&id).await?;
            Ok::<_, DbError>((id, r))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut events: Vec<Event> = Vec::new();
    for p in chunk.drain(..) {
        let reject = |reason: String| RejectedRow { row: p.row, reason };
        let recipient = match recipients.get(&p.recipient) {
            Some(Some(r)) if r.campaign_id == *campaign => r,
            Some(Some(r)) => {
                report.rejected.push(reject(format!(
                    "recipient_id: a recipient of campaign {}, not {campaign}",
                    r.campaign_id
                )));
                continue;
            }
            _ => {
                report
                    .rejected
                    .push(reject(format!("recipient_id: no recipient of {campaign} has this id")));
                continue;
            }
        };
        if p.result.outcome == Outcome::NotSent {
            report.not_sent += 1;
            continue;
        }
        match p.result.events(campaign, recipient, opts.sent_at) {
            Ok(row_events) => {
                for e in row_events {
                    let mut h = DefaultHasher::new();
                    e.event_id.hash(&mut h);
                    if seen.insert(h.finish()) {
                        events.push(e);
                    } else {
                        report.already_imported += 1;
                    }
                }
            }
            Err(e) => report
                .rejected
                .push(reject(format!("{e}: add the time column or give --sent-at"))),
        }
    }
    let written: Vec<(Event, bool)> = stream::iter(events)
        .map(|e| async move {
            let new = if opts.dry_run {
                !db.has_event(&e).await?
            } else {
                db.append_event_new(&e).await?
            };
            Ok::<_, DbError>((e, new))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    for (e, new) in written {
        if !new {
            report.already_imported += 1;
            continue;
        }
        match e.data {
            EventData::MessageSent { .. } => report.sent += 1,
            EventData::MessageDelivered { .. } => report.delivered += 1,
            EventData::MessageFailed { reason, .. } => *report.failed.entry(reason).or_default() += 1,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::tests::{db, key, spring};
    use futures::TryStreamExt;
    use mcamp_core::campaign::Campaign;

    async fn with_recipients(db: &Db) -> (Campaign, Vec<Recipient>) {
        let c = spring();
        db.push_campaign(&c, Utc::now()).await.unwrap();
        let key = key();
        let csv = "이름,휴대폰\n김,010-1111-0001\n이,010-1111-0002\n";
        crate::import::import_recipients(
            db,
            &c,
            &key,
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            Utc::now(),
            &|_| {},
        )
        .await
        .unwrap();
        let mut all: Vec<Recipient> = db.recipients(&c.id).try_collect().await.unwrap();
        all.sort_by_key(|r| r.id.clone());
        (c, all)
    }

    fn opts(format: Sender) -> SendsOptions {
        SendsOptions {
            format,
            dry_run: false,
            sent_at: None,
        }
    }

    #[tokio::test]
    async fn nhn_rows_become_events_once_and_bad_rows_are_reported() {
        let d = db();
        let (c, r) = with_recipients(&d).await;
        let file = format!(
            "requestId,recipientSeq,requestDate,receiveDate,messageStatus,resultCode,recipientGroupingKey\n\
             R1,1,2026-03-02 10:00:00,2026-03-02 10:00:04,COMPLETED,1000,{a}\n\
             R1,2,2026-03-02 10:00:00,,FAILED,3003,{b}\n\
             R1,3,2026-03-02 10:00:00,,WHAT,,{a}\n\
             R1,4,2026-03-02 10:00:00,,COMPLETED,1000,01012345678\n",
            a = r[0].id,
            b = r[1].id
        );
        let nhn = opts(Sender::Nhn);
        let run = || import_sends(&d, &c.id, &nhn, std::io::Cursor::new(file.clone().into_bytes()));
        let first = run().await.unwrap();
        assert_eq!(
            (first.rows, first.sent, first.delivered, first.failed_total()),
            (4, 2, 1, 1)
        );
        assert_eq!(first.failed.get(&FailureReason::InvalidNumber), Some(&1));
        let rows: Vec<usize> = first.rejected.iter().map(|x| x.row).collect();
        assert_eq!(rows, vec![4, 5]);
        assert!(
            first.rejected.iter().all(|x| !x.reason.contains("01012345678")),
            "{:?}",
            first.rejected
        );
        let again = run().await.unwrap();
        assert_eq!(
            (
                again.sent,
                again.delivered,
                again.failed_total(),
                again.already_imported
            ),
            (0, 0, 0, 4)
        );
        assert_eq!(d.events_of(&c.id).await.unwrap().len(), 4);
    }

    #[tokio::test]
    async fn a_file_without_the_columns_names_them() {
        let d = db();
        let (c, _) = with_recipients(&d).await;
        let err = import_sends(
            &d,
            &c.id,
            &opts(Sender::Solapi),
            std::io::Cursor::new(b"to,text\n1,2\n".to_vec()),
        )
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("recipient_id") && err.contains("solapi"), "{err}");
        let err = import_sends(
            &d,
            &c.id,
            &opts(Sender::Generic),
            std::io::Cursor::new(b"recipient_id,status\nAAAAAAAAAAAAAAAA,sent\n".to_vec()),
        )
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("--sent-at"), "{err}");
        let unknown = import_sends(
            &d,
            &CampaignId::parse("nope").unwrap(),
            &opts(Sender::Generic),
            std::io::Cursor::new(Vec::new()),
        )
        .await;
        assert!(matches!(unknown, Err(SendsError::UnknownCampaign(_))));
    }

    #[test]
    fn a_capped_reader_stops_and_says_so() {
        let over = Arc::new(AtomicBool::new(false));
        let mut r = Capped {
            inner: std::io::Cursor::new(vec![b'x'; 10]),
            left: 4,
            over: over.clone(),
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!((out.len(), over.load(Ordering::SeqCst)), (4, true));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn campaign() -> mcamp_core::campaign::Campaign {
        crate::campaign_file::parse(
            "test.yaml",
            "id: spring\nname: 봄\nsender: {brand: 봄꽃커피, opt_out_080: 080-000-0000}\nshare: {title: t, description: d}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any bytes after a valid header, in every format: the import never panics, and every
        /// row is recorded, not sent or rejected with its row number and a reason.
        #[test]
        fn any_file_imports_or_reports_rows(format in 0usize..5,
                                            body in proptest::collection::vec(any::<u8>(), 0..2048),
                                            rows in proptest::collection::vec("[A-Za-z0-9]{14,17},(COMPLETED|FAILED|sent|delivered|4000|3104|발송완료|READY|x|),(1000|3003|0|),(2026-03-02 10:00:00|2026|)", 0..16)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let format = Sender::ALL[format];
            let header = match format {
                Sender::Nhn => "recipientGroupingKey,messageStatus,resultCode,requestDate\n",
                Sender::Solapi => "recipient_id,statusCode,결과 코드,dateCreated\n",
                Sender::Sens => "recipient_id,status,statusCode,requestTime\n",
                Sender::Aligo => "recipient_id,sms_state,code,reg_date\n",
                Sender::Generic => "recipient_id,status,code,sent_at\n",
            };
            let mut input = header.as_bytes().to_vec();
            for r in &rows {
                input.extend_from_slice(r.as_bytes());
                input.push(b'\n');
            }
            input.extend_from_slice(&body);
            let db = Db::new(Arc::new(mcamp_embedded::Embedded::temporary().map_err(|e| TestCaseError::fail(e.to_string()))?));
            let c = campaign();
            rt.block_on(db.push_campaign(&c, Utc::now())).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let opts = SendsOptions { format, dry_run: false, sent_at: None };
            let report = rt.block_on(import_sends(&db, &c.id, &opts, std::io::Cursor::new(input)));
            if let Ok(r) = report {
                prop_assert!(r.rejected.len() + r.not_sent <= r.rows, "{r:?}");
                prop_assert!(r.rejected.iter().all(|x| x.row >= 2 && !x.reason.is_empty()), "{:?}", r.rejected);
            }
        }
    }
}
