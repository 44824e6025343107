//! Recipient import from CSV: UTF-8 (with or without BOM) or CP949/EUC-KR as Korean Excel
//! writes it, detected from the bytes. Phone numbers are normalised and de-duplicated; bad rows
//! are reported by row number (as Excel numbers them, header = row 1) and the good ones import.
//! Rows stream through in chunks, so memory stays bounded for 10^6 rows.

use std::io::{BufRead, BufReader, Read};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures::stream::{self, StreamExt};
use mcamp_core::campaign::Campaign;
use mcamp_core::consent;
use mcamp_core::customer::PhoneKey;
use mcamp_core::recipient::{CrmConsent, NewRecipient};
use mcamp_core::time::kst;
use mcamp_core::values::{AgeBand, BirthYear, Gender, ParseError, PhoneNumber};
use mcamp_store::customers::CustomerChange;
use mcamp_store::recipients::Added;
use mcamp_store::{Db, DbError};
use serde::Serialize;

/// Rows added at once (bounded concurrency against the store).
const CONCURRENCY: usize = 32;
const CHUNK: usize = 512;
const MAX_NAME: usize = 50;
/// Longest row kept (a real one is under 200 bytes; an unclosed quote swallows the rest of the
/// file into one row, which is then refused by its row number).
pub const MAX_ROW_BYTES: usize = 4096;

/// The next row of a spreadsheet, as `next_row` read it.
pub(crate) enum NextRow {
    End,
    /// Every cell empty: not counted.
    Blank,
    /// Unreadable (bad quoting, invalid bytes) or over `MAX_ROW_BYTES`: a bad row, not a
    /// failed file.
    Refused(RejectedRow),
    /// Read into the record, with its row number.
    Row(usize),
}

/// Reads the next row into `record`. `rows` is how many rows were counted so far (the row
/// number when the reader cannot tell it).
pub(crate) fn next_row<R: Read>(csv: &mut csv::Reader<R>, record: &mut csv::StringRecord, rows: usize) -> NextRow {
    let line = |p: Option<&csv::Position>| p.map_or(rows + 2, |p| p.line() as usize);
    match csv.read_record(record) {
        Err(e) => NextRow::Refused(RejectedRow {
            row: line(e.position()),
            reason: format!("unreadable line: {e}"),
        }),
        Ok(false) => NextRow::End,
        Ok(true) if record.iter().all(|f| f.trim().is_empty()) => NextRow::Blank,
        Ok(true) if record.as_slice().len() > MAX_ROW_BYTES => NextRow::Refused(RejectedRow {
            row: line(record.position()),
            reason: format!("row is over {MAX_ROW_BYTES} bytes (an unclosed quote?)"),
        }),
        Ok(true) => NextRow::Row(line(record.position())),
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImportReport {
    pub encoding: String,
    pub rows: usize,
    pub imported: usize,
    /// Phones already in the campaign: not added again, but their CRM consent is applied (a
    /// withdrawal in a re-import takes effect for the whole brand).
    pub duplicates: usize,
    /// Customers whose consent the file changed (grants and withdrawals).
    pub consents_changed: usize,
    pub rejected: Vec<RejectedRow>,
}

/// The wording version of consents that come from the brand's CRM.
pub const CRM_WORDING: &str = "crm";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RejectedRow {
    /// Row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the header has no phone column (phone, 휴대폰, 전화번호, 연락처)")]
    NoPhoneColumn,
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("storage: {0}")]
    Db(#[from] DbError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Phone,
    Gender,
    BirthYear,
    AgeBand,
    Region,
    Marketing,
    Night,
    ConsentDate,
    Ignored,
}

fn column(header: &str) -> Column {
    let h: String = header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .collect();
    match h.as_str() {
        "name" | "이름" | "성명" | "고객명" => Column::Name,
        "phone" | "mobile" | "휴대폰" | "휴대폰번호" | "핸드폰" | "핸드폰번호" | "전화번호" | "연락처" => {
            Column::Phone
        }
        "gender" | "sex" | "성별" => Column::Gender,
        "birthyear" | "출생연도" | "출생년도" | "생년" => Column::BirthYear,
        "ageband" | "연령대" => Column::AgeBand,
        "region" | "지역" => Column::Region,
        "marketingconsent" | "marketing" | "마케팅동의" | "마케팅수신동의" | "광고수신동의" => {
            Column::Marketing
        }
        "nightconsent" | "night" | "야간동의" | "야간수신동의" | "야간광고수신동의" => Column::Night,
        "consentdate" | "consentat" | "동의일" | "동의일자" | "동의날짜" => Column::ConsentDate,
        _ => Column::Ignored,
    }
}

fn yes_no(field: &'static str, s: &str) -> Result<bool, ParseError> {
    match s.trim().to_lowercase().as_str() {
        "y" | "yes" | "1" | "true" | "o" | "동의" | "예" => Ok(true),
        "" | "n" | "no" | "0" | "false" | "x" | "미동의" | "거부" | "아니오" => Ok(false),
        _ => Err(ParseError::new(field, "must be Y or N (동의/미동의)")),
    }
}

/// `2025-03-01`, `2025.03.01`, `2025/03/01` or `20250301`, as midnight in Korea.
pub(crate) fn consent_date(s: &str) -> Result<DateTime<Utc>, ParseError> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let d = NaiveDate::parse_from_str(&digits, "%Y%m%d")
        .map_err(|_| ParseError::new("consent_date", "must be a date such as 2025-03-01"))?;
    let local = d
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| ParseError::new("consent_date", "invalid"))?;
    kst()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ParseError::new("consent_date", "invalid"))
}

fn parse_row(columns: &[Column], record: &csv::StringRecord, now: DateTime<Utc>) -> Result<NewRecipient, ParseError> {
    let has_consent = columns.contains(&Column::Marketing);
    let this_year = now.format("%Y").to_string().parse().unwrap_or(2026);
    let mut r = NewRecipient::default();
    let (mut marketing, mut night, mut date) = (false, false, None);
    for (col, value) in columns.iter().zip(record.iter()) {
        // A leading ' is how our own exports neutralise formulas (CSV injection): strip one.
        let v = value.trim();
        let v = v.strip_prefix('\'').unwrap_or(v).trim();
        match col {
            Column::Name if !v.is_empty() => {
                if v.chars().count() > MAX_NAME {
                    return Err(ParseError::new("name", "is longer than 50 characters"));
                }
                if !mcamp_core::values::visible_text(v, false) {
                    return Err(ParseError::new("name", "has control or invisible characters"));
                }
                r.name = Some(v.to_owned());
            }
            Column::Phone => r.phone = Some(PhoneNumber::parse(v)?),
            Column::Gender if !v.is_empty() => r.gender = Some(Gender::parse(v)?),
            Column::BirthYear if !v.is_empty() => r.birth_year = Some(BirthYear::parse(v, this_year)?),
            Column::AgeBand if !v.is_empty() => r.age_band = Some(AgeBand::parse(v)?),
            Column::Region if !v.is_empty() => r.region = Some(v.chars().take(40).collect()),
            Column::Marketing => marketing = yes_no("marketing_consent", v)?,
            Column::Night => night = yes_no("night_consent", v)?,
            Column::ConsentDate if !v.is_empty() => date = Some(consent_date(v)?),
            _ => {}
        }
    }
    if r.age_band.is_none() {
        r.age_band = r.birth_year.map(|b| b.age_band(this_year));
    }
    // A file without a marketing column says nothing about consent: none is changed.
    r.consent = has_consent.then(|| CrmConsent {
        marketing,
        night: marketing && night,
        at: date.unwrap_or(now),
    });
    Ok(r)
}

/// Reads the head of the stream to tell UTF-8 from CP949/EUC-KR, then decodes the whole
/// stream as that, without holding it in memory. The reader is `Send` when `input` is, so an
/// import can run in a handler whose future must be (the console's upload).
pub(crate) fn decoding_reader<R: Read + 'static>(input: R) -> std::io::Result<(impl Read + use<R>, &'static str)> {
    // CRLF (Excel on Windows) to LF first, so csv's line numbers are the spreadsheet's rows.
    // Blank lines kept as empty records, so the rows after them keep their numbers.
    let mut buffered = BufReader::with_capacity(64 * 1024, crate::line_endings::spreadsheet_lines(input));
    let head = buffered.fill_buf()?;
    // A cut multi-byte character at the end of the sample is not evidence against UTF-8.
    let sample = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    let encoding = if sample {
        encoding_rs::UTF_8
    } else {
        encoding_rs::EUC_KR
    };
    let name = if sample { "UTF-8" } else { "CP949 (EUC-KR)" };
    let reader = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .build(buffered);
    Ok((reader, name))
}

/// Imports recipients into `campaign`, each as the brand's customer their phone is (`phone_key`
/// hashes it); `progress` is called with the rows done so far.
pub async fn import_recipients<R: Read + 'static>(
    db: &Db,
    campaign: &Campaign,
    phone_key: &PhoneKey,
    input: R,
    now: DateTime<Utc>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ImportReport, ImportError> {
    let (reader, encoding) = decoding_reader(input)?;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let columns: Vec<Column> = csv.headers()?.iter().map(column).collect();
    if !columns.contains(&Column::Phone) {
        return Err(ImportError::NoPhoneColumn);
    }
    let mut report = ImportReport {
        encoding: encoding.to_owned(),
        ..ImportReport::default()
    };
    let mut chunk: Vec<(usize, NewRecipient)> = Vec::with_capacity(CHUNK);
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
                match parse_row(&columns, &record, now) {
                    Ok(r) => chunk.push((row, r)),
                    Err(e) => report.rejected.push(RejectedRow {
                        row,
                        reason: e.to_string(),
                    }),
                }
                true
            }
        };
        if chunk.len() >= CHUNK || (!more && !chunk.is_empty()) {
            let results: Vec<(usize, Result<(Added, bool), DbError>)> = stream::iter(chunk.drain(..))
                .map(|(row, r)| async move { (row, import_row(db, campaign, phone_key, r, now).await) })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let mut created = 0i64;
            for (row, result) in results {
                match result {
                    Ok((added, changed)) => {
                        match added {
                            Added::Created(_) => {
                                report.imported += 1;
                                created += 1;
                            }
                            Added::Duplicate(_) => report.duplicates += 1,
                        }
                        report.consents_changed += usize::from(changed);
                    }
                    Err(e) => report.rejected.push(RejectedRow {
                        row,
                        reason: format!("not stored: {}", mcamp_store::error_text(&e)),
                    }),
                }
            }
            // The invitation count (a survey's response-rate base), chunk by chunk, so an
            // interrupted import counts what it stored.
            db.count_invited(&campaign.id, created).await?;
            progress(report.rows);
        }
        if !more {
            break;
        }
    }
    report.rejected.sort_by_key(|r| r.row);
    Ok(report)
}

/// One row: the recipient (unless the phone is already in the campaign) and their customer
/// with the CRM's consent, confirmed (the brand's own record). Returns whether a consent
/// changed.
async fn import_row(
    db: &Db,
    campaign: &Campaign,
    phone_key: &PhoneKey,
    new: NewRecipient,
    now: DateTime<Utc>,
) -> Result<(Added, bool), DbError> {
    let Some(phone) = new.phone.clone() else {
        return Ok((db.add_recipient(campaign, new, None, now).await?, false));
    };
    let brand = campaign.brand();
    let key = phone_key.customer_key(brand, &phone);
    let crm = new.consent.clone();
    let name = new.name.clone();
    let added = db.add_recipient(campaign, new, Some(key.clone()), now).await?;
    let recipient = match &added {
        Added::Created(r) => Some((**r).clone()),
        Added::Duplicate(id) => db.recipient(id).await?,
    };
    let before = db.customer(brand, &key).await?;
    let changes = match (&crm, &before) {
        (Some(crm), b) => consent::import_changes(
            &b.as_ref().map(|b| b.consents.clone()).unwrap_or_default(),
            crm.marketing,
            crm.night,
            CRM_WORDING,
        ),
        (None, _) => Vec::new(),
    };
    let changed = !changes.is_empty();
    let change = CustomerChange {
        phone: Some(phone),
        name,
        imported: true,
        consents: changes,
        given_at: crm.map_or(now, |c| c.at),
        keep_until: campaign.keep_until(),
        recipient: recipient.as_ref(),
        campaign: Some(&campaign.id),
        ..CustomerChange::new(brand, &key, now)
    };
    db.change_customer(&change).await?;
    Ok((added, changed))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use futures::TryStreamExt;
    use std::sync::Arc;

    /// A fresh embedded store (the ops modules' tests share these fixtures).
    pub(crate) fn db() -> Db {
        Db::new(Arc::new(mcamp_embedded::Embedded::temporary().unwrap()))
    }

    pub(crate) fn spring() -> Campaign {
        crate::campaign_file::parse(
            "test.yaml",
            "id: spring\nname: 봄\nsender: {brand: 봄꽃커피, opt_out_080: 080-000-0000}\nshare: {title: t, description: d}\n",
        )
        .unwrap()
    }

    pub(crate) fn key() -> PhoneKey {
        PhoneKey::parse("test-phone-key-0123456789abcdef-0123").unwrap()
    }

    #[tokio::test]
    async fn good_rows_import_and_bad_rows_are_reported_by_row() {
        let csv = "이름,휴대폰,성별,출생년도,마케팅동의\n김민지,010-1234-5678,여,1995,Y\n이준호,01099998888,M,1988,N\n잘못,02-123-4567,F,1990,Y\n중복,+82 10-1234-5678,F,1990,Y\n박,010-2222-3333,?,1990,Y\n";
        let c = spring();
        let r = import_recipients(
            &db(),
            &c,
            &key(),
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            Utc::now(),
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!((r.rows, r.imported, r.duplicates), (5, 2, 1));
        assert_eq!(r.rejected.iter().map(|x| x.row).collect::<Vec<_>>(), vec![4, 6]);
        assert!(r.rejected[0].reason.starts_with("phone"), "{:?}", r.rejected);
        assert!(r.rejected[1].reason.starts_with("gender"), "{:?}", r.rejected);
    }

    #[tokio::test]
    async fn cp949_is_detected() {
        let text = "이름,전화번호\n홍길동,010-5555-6666\n";
        let (bytes, _, _) = encoding_rs::EUC_KR.encode(text);
        let c = spring();
        let d = db();
        let r = import_recipients(
            &d,
            &c,
            &key(),
            std::io::Cursor::new(bytes.into_owned()),
            Utc::now(),
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!((r.encoding.as_str(), r.imported), ("CP949 (EUC-KR)", 1));
        let all: Vec<_> = d.recipients(&c.id).try_collect().await.unwrap();
        assert_eq!(all[0].name.as_deref(), Some("홍길동"));
    }

    /// Every line ending a spreadsheet saves (LF, Windows CRLF, old Mac CR) numbers the rows
    /// alike: the bad row is row 3 in each.
    #[tokio::test]
    async fn rows_are_numbered_whatever_the_line_endings() {
        for end in ["\n", "\r\n", "\r"] {
            let text = ["이름,전화번호", "김,010-5555-6666", "이,02-123", "박,010-5555-7777", ""].join(end);
            let r = import_recipients(
                &db(),
                &spring(),
                &key(),
                std::io::Cursor::new(text.into_bytes()),
                Utc::now(),
                &|_| {},
            )
            .await
            .unwrap();
            let rows: Vec<usize> = r.rejected.iter().map(|x| x.row).collect();
            assert_eq!((r.imported, rows), (2, vec![3]), "line ending {end:?}");
        }
    }

    #[tokio::test]
    async fn missing_phone_column_is_an_error() {
        let c = spring();
        let r = import_recipients(
            &db(),
            &c,
            &key(),
            std::io::Cursor::new(b"name\nx\n".to_vec()),
            Utc::now(),
            &|_| {},
        )
        .await;
        assert!(matches!(r, Err(ImportError::NoPhoneColumn)));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn campaign() -> Campaign {
        crate::campaign_file::parse(
            "test.yaml",
            "id: spring\nname: 봄\nsender: {brand: 봄꽃커피, opt_out_080: 080-000-0000}\nshare: {title: t, description: d}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any bytes after a valid header: the import never panics, every row is either
        /// imported, a duplicate or rejected with a row number, and a rejected row is named.
        #[test]
        fn any_file_imports_or_reports_rows(body in proptest::collection::vec(any::<u8>(), 0..2048),
                                            rows in proptest::collection::vec("[가-힣a-z0-9 ,\"+\\-]{0,20},(010-?[0-9]{4}-?[0-9]{4}|[0-9+ -]{0,14})", 0..20)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut input = b"\xef\xbb\xbf\xec\x9d\xb4\xeb\xa6\x84,\xed\x9c\xb4\xeb\x8c\x80\xed\x8f\xb0\n".to_vec();
            for r in &rows {
                input.extend_from_slice(r.as_bytes());
                input.push(b'\n');
            }
            input.extend_from_slice(&body);
            let db = Db::new(Arc::new(mcamp_embedded::Embedded::temporary().unwrap()));
            let key = PhoneKey::parse("test-phone-key-0123456789abcdef-0123").map_err(|e| TestCaseError::fail(e.to_string()))?;
            let report = rt.block_on(import_recipients(&db, &campaign(), &key, std::io::Cursor::new(input), Utc::now(), &|_| {}));
            if let Ok(r) = report {
                prop_assert!(r.imported + r.duplicates + r.rejected.len() <= r.rows + 1, "{r:?}");
                prop_assert!(r.rejected.iter().all(|x| x.row >= 2 && !x.reason.is_empty()), "{:?}", r.rejected);
            }
        }
    }
}
