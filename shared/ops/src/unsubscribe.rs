//! Imports the 080 unsubscribe list a sender's console exports (NHN Cloud, Naver Cloud SENS, or
//! any file with a phone column): each number is suppressed for the whole brand, its marketing
//! consents withdrawn, in the customer's ledger with the channel `080`. A bad row is reported by
//! its row number and changes nothing; the good rows apply.

use std::io::Read;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use mcamp_core::consent::{self, Source};
use mcamp_core::customer::PhoneKey;
use mcamp_core::time::kst;
use mcamp_core::values::{BrandId, ParseError, PhoneNumber};
use mcamp_store::customers::CustomerChange;
use mcamp_store::{Db, DbError};
use serde::Serialize;

use crate::import::{NextRow, RejectedRow, decoding_reader, next_row};

/// Whose export the file is: which header names its phone and date columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsubscribeFormat {
    /// NHN Cloud Notification (the console's 080 list, or its `UNSUBSCRIBE` webhook fields).
    Nhn,
    /// Naver Cloud SENS (its `/unsubscribes` list).
    Sens,
    /// Any file with a `phone` (휴대폰, 전화번호) column.
    Generic,
}

impl UnsubscribeFormat {
    pub const ALL: [UnsubscribeFormat; 3] = [
        UnsubscribeFormat::Nhn,
        UnsubscribeFormat::Sens,
        UnsubscribeFormat::Generic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UnsubscribeFormat::Nhn => "nhn",
            UnsubscribeFormat::Sens => "sens",
            UnsubscribeFormat::Generic => "generic",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s.trim().to_lowercase())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
                format!("unknown format '{s}': use one of {}", names.join(", "))
            })
    }

    /// Header names (lowercase, without spaces and `_`) of the phone column.
    fn phone_headers(self) -> &'static [&'static str] {
        match self {
            UnsubscribeFormat::Nhn => &["recipientno", "수신번호", "수신자번호", "수신거부번호", "휴대폰번호"],
            UnsubscribeFormat::Sens => &["clienttelno", "telno", "number", "전화번호", "수신번호"],
            UnsubscribeFormat::Generic => &["phone", "mobile", "휴대폰", "휴대폰번호", "전화번호", "연락처"],
        }
    }

    /// Header names of the column saying when the person unsubscribed (optional).
    fn date_headers(self) -> &'static [&'static str] {
        &[
            "createddatetime",
            "registertime",
            "createdat",
            "date",
            "등록일시",
            "수신거부일시",
            "등록일",
        ]
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct UnsubscribeReport {
    pub encoding: String,
    pub rows: usize,
    /// Numbers suppressed by this file (already suppressed ones are not counted again).
    pub suppressed: usize,
    pub already_suppressed: usize,
    pub rejected: Vec<RejectedRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum UnsubscribeError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the header has no phone column for format {format} (one of: {expected})")]
    NoPhoneColumn { format: &'static str, expected: String },
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("storage")]
    Db(#[from] DbError),
}

fn normalised(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .collect()
}

/// `2026-03-02 10:00[:00]`, `2026-03-02T10:00:00` (KST) or a date alone; RFC 3339 with an
/// offset as it says.
fn unsubscribed_at(s: &str) -> Result<DateTime<Utc>, ParseError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y.%m.%d %H:%M:%S",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(s, f)
            && let Some(t) = kst().from_local_datetime(&local).single()
        {
            return Ok(t.with_timezone(&Utc));
        }
    }
    crate::import::consent_date(s).map_err(|_| ParseError::new("date", "must be a date such as 2026-03-02 10:00"))
}

/// Suppresses every number of the file for `brand`.
pub async fn import_unsubscribes<R: Read + 'static>(
    db: &Db,
    brand: &BrandId,
    phone_key: &PhoneKey,
    format: UnsubscribeFormat,
    input: R,
    now: DateTime<Utc>,
) -> Result<UnsubscribeReport, UnsubscribeError> {
    let (reader, encoding) = decoding_reader(input)?;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers: Vec<String> = csv.headers()?.iter().map(normalised).collect();
    let phone_col = headers
        .iter()
        .position(|h| format.phone_headers().contains(&h.as_str()))
        .ok_or_else(|| UnsubscribeError::NoPhoneColumn {
            format: format.name(),
            expected: format.phone_headers().join(", "),
        })?;
    let date_col = headers.iter().position(|h| format.date_headers().contains(&h.as_str()));
    let mut report = UnsubscribeReport {
        encoding: encoding.to_owned(),
        ..UnsubscribeReport::default()
    };
    let mut record = csv::StringRecord::new();
    loop {
        let row = match next_row(&mut csv, &mut record, report.rows) {
            NextRow::End => break,
            NextRow::Blank => continue,
            NextRow::Refused(rejected) => {
                report.rows += 1;
                report.rejected.push(rejected);
                continue;
            }
            NextRow::Row(row) => row,
        };
        report.rows += 1;
        let phone = match PhoneNumber::parse(record.get(phone_col).unwrap_or_default()) {
            Ok(p) => p,
            Err(e) => {
                report.rejected.push(RejectedRow {
                    row,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let at = match date_col.and_then(|c| record.get(c)).filter(|d| !d.trim().is_empty()) {
            None => now,
            Some(d) => match unsubscribed_at(d) {
                Ok(at) => at,
                Err(e) => {
                    report.rejected.push(RejectedRow {
                        row,
                        reason: e.to_string(),
                    });
                    continue;
                }
            },
        };
        let key = phone_key.customer_key(brand, &phone);
        let before = db.customer(brand, &key).await?;
        if before.as_ref().is_some_and(|b| b.is_suppressed()) {
            report.already_suppressed += 1;
            continue;
        }
        let consents = before.map(|b| b.consents).unwrap_or_default();
        // No phone is stored for a number known only from the 080 list: its key is enough.
        let change = CustomerChange {
            consents: consent::opt_out_changes(&consents, "080", Source::Unsubscribe080),
            suppress: Some(Source::Unsubscribe080),
            ..CustomerChange::new(brand, &key, at)
        };
        db.change_customer(&change).await?;
        report.suppressed += 1;
    }
    Ok(report)
}
