//! A recipient file uploaded through the console: the `multipart/form-data` post read with
//! bounds (`UPLOAD_LIMIT`), the file told apart by its content (xlsx, CSV, or something else
//! refused with a reason), and imported by `import::import_recipients` under the same rules as
//! the CLI's CSV. An xlsx becomes CSV first: its first worksheet, row for row, so a rejected
//! row's number is the row Excel shows (the header is row 1).

use std::convert::Infallible;
use std::io::Cursor;

use bytes::Bytes;
use calamine::{DataRef, Reader, Xlsx};
use chrono::{DateTime, Utc};
use mcamp_core::campaign::Campaign;
use mcamp_core::customer::PhoneKey;
use mcamp_core::values::PhoneNumber;
use mcamp_store::{Db, DbError};
use serde::Serialize;

use crate::import::{ImportError, ImportReport, import_recipients};

/// The largest file taken, in bytes. Lambda's synchronous payload is 6 MB and a binary body
/// arrives base64-encoded (4/3 larger), so 4 MB of file fits with the form around it.
pub const UPLOAD_LIMIT: usize = 4 * 1024 * 1024;
/// Most lines one upload imports: an import runs inside the request (API Gateway waits 30 s),
/// and about 20,000 rows fit with room; longer lists go through `mcamp recipients import`.
pub const UPLOAD_ROWS: usize = 20_000;
/// Room for the form's other field and the multipart framing on top of the file.
const FORM_SLACK: usize = 64 * 1024;
/// The CSRF token's field (a token is 43 characters).
const TEXT_FIELD_LIMIT: u64 = 256;
/// The form has two fields; a few more parts is a malformed post.
const MAX_FIELDS: usize = 4;
/// A file name as shown, in characters.
const MAX_FILE_NAME: usize = 100;
/// How much of the file is looked at to tell text from a binary.
const SNIFF: usize = 8 * 1024;
/// The most an xlsx may unpack to, by the sizes its parts declare (the zip reader holds them
/// to it): a 4 MB workbook of real rows unpacks to well under this.
const XLSX_UNPACKED_LIMIT: u64 = 128 * 1024 * 1024;
/// The most parts an xlsx may have (a workbook has a dozen or two).
const XLSX_MAX_PARTS: usize = 1000;
/// Columns read from a sheet; the importer reads nine, so cells further right are ignored.
const MAX_COLUMNS: usize = 256;
/// The most CSV an xlsx turns into.
const CSV_LIMIT: usize = 32 * 1024 * 1024;
/// The body is handed to the parser in chunks, so the size limits stop it early.
const CHUNK: usize = 64 * 1024;

/// What the uploaded file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadKind {
    Csv,
    Xlsx,
}

impl UploadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadKind::Csv => "csv",
            UploadKind::Xlsx => "xlsx",
        }
    }
}

/// What a refused binary looks like, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looks {
    Image,
    Pdf,
    /// A zip that is not a workbook, or another archive.
    Archive,
    Binary,
}

/// The uploaded file: its name as the browser gave it (cleaned) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The upload form as posted. `csrf` is read even when the file is refused, so the post is
/// checked (and a foreign post refused as such) before anything about the file is said.
#[derive(Debug)]
pub struct UploadForm {
    /// The `csrf` field; "" when the post has none.
    pub csrf: String,
    pub file: Result<UploadedFile, UploadError>,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("not a multipart/form-data post")]
    NotMultipart,
    #[error("malformed form: {0}")]
    Malformed(String),
    #[error("the form has no file")]
    NoFile,
    #[error("the file is over {UPLOAD_LIMIT} bytes")]
    TooLarge,
    #[error("the workbook unpacks to more than can be read at once")]
    TooLargeUnpacked,
    #[error("the file is empty")]
    Empty,
    #[error("a legacy .xls (or a password-protected) workbook")]
    LegacyXls,
    #[error("UTF-16 text (Excel's \"Unicode text\")")]
    Utf16,
    #[error("not CSV or xlsx: {0:?}")]
    NotTabular(Looks),
    #[error("unreadable xlsx: {0}")]
    BadXlsx(String),
    #[error("unreadable CSV: {0}")]
    BadCsv(String),
    #[error("the header has no phone column")]
    NoPhoneColumn,
    #[error("more than {UPLOAD_ROWS} lines")]
    TooManyRows,
    #[error("storage: {0}")]
    Db(#[from] DbError),
}

impl From<ImportError> for UploadError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::NoPhoneColumn => UploadError::NoPhoneColumn,
            ImportError::Db(e) => UploadError::Db(e),
            ImportError::Io(e) => UploadError::BadCsv(e.to_string()),
            ImportError::Csv(e) => UploadError::BadCsv(e.to_string()),
        }
    }
}

impl UploadError {
    /// The HTTP status that answers it: 413 too large, 500 storage, else 400.
    pub fn status(&self) -> u16 {
        match self {
            UploadError::TooLarge | UploadError::TooLargeUnpacked | UploadError::TooManyRows => 413,
            UploadError::Db(_) => 500,
            _ => 400,
        }
    }

    /// What the marketer is told, in Korean. Never quotes the file's content.
    pub fn message(&self) -> String {
        match self {
            UploadError::NotMultipart | UploadError::Malformed(_) => {
                "파일이 제대로 전송되지 않았어요. 페이지를 새로 고친 뒤 다시 올려 주세요.".into()
            }
            UploadError::NoFile => "올릴 파일을 골라 주세요.".into(),
            UploadError::TooLarge => format!(
                "파일이 {}MB를 넘어요. 명단을 나눠서 여러 번 올려 주세요.",
                UPLOAD_LIMIT / (1024 * 1024)
            ),
            UploadError::TooLargeUnpacked => {
                "엑셀 파일 안의 내용이 너무 커요. 명단을 나누거나 CSV로 저장해서 올려 주세요.".into()
            }
            UploadError::Empty => "빈 파일이에요. 명단이 들어 있는 파일을 올려 주세요.".into(),
            UploadError::LegacyXls => "예전 엑셀 형식(.xls)이거나 암호가 걸린 파일이에요. 엑셀에서 암호를 풀고 \
                 'Excel 통합 문서(.xlsx)' 또는 'CSV'로 저장해서 올려 주세요."
                .into(),
            UploadError::Utf16 => "유니코드 텍스트(UTF-16) 파일이에요. 엑셀에서 'CSV UTF-8(쉼표로 분리)' 또는 \
                 'Excel 통합 문서(.xlsx)'로 저장해서 올려 주세요."
                .into(),
            UploadError::NotTabular(looks) => {
                let what = match looks {
                    Looks::Image => "이미지 파일",
                    Looks::Pdf => "PDF 파일",
                    Looks::Archive => "압축 파일",
                    Looks::Binary => "CSV나 엑셀 파일이 아닌 것",
                };
                format!("{what}이에요. 명단은 CSV 또는 엑셀(.xlsx) 파일로 올려 주세요.")
            }
            UploadError::BadXlsx(_) => {
                "엑셀 파일을 열 수 없어요. 엑셀에서 다시 저장하거나 CSV로 저장해서 올려 주세요.".into()
            }
            UploadError::BadCsv(_) => {
                "CSV 파일을 읽을 수 없어요. 'CSV UTF-8(쉼표로 분리)'로 다시 저장해서 올려 주세요.".into()
            }
            UploadError::NoPhoneColumn => "첫 줄(머리글)에 휴대폰 번호 열이 없어요. 휴대폰, 전화번호, 연락처 또는 \
                 phone이라는 머리글을 붙여 주세요."
                .into(),
            UploadError::TooManyRows => format!(
                "한 번에 {}줄까지 올릴 수 있어요. 명단을 나눠서 올리거나, 큰 명단은 CLI(mcamp recipients import)로 넣어 주세요.",
                mcamp_core::campaign::grouped(UPLOAD_ROWS as u64)
            ),
            UploadError::Db(_) => "저장하는 중에 문제가 생겼어요. 잠시 뒤 다시 올려 주세요. 이미 들어간 사람은 \
                 다시 올려도 한 번만 들어가요."
                .into(),
        }
    }
}

/// Reads the upload form (`csrf` and `file`) from a `multipart/form-data` body. Every refusal
/// is in `file`; `csrf` is whatever was read before it.
pub async fn parse_form(body: &[u8], content_type: &str) -> UploadForm {
    let mut form = UploadForm {
        csrf: String::new(),
        file: Err(UploadError::NoFile),
    };
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        form.file = Err(UploadError::NotMultipart);
        return form;
    };
    let limits = multer::SizeLimit::new()
        .whole_stream((UPLOAD_LIMIT + FORM_SLACK) as u64)
        .per_field(TEXT_FIELD_LIMIT)
        .for_field("file", UPLOAD_LIMIT as u64);
    let constraints = multer::Constraints::new()
        .allowed_fields(vec!["csrf", "file"])
        .size_limit(limits);
    let chunks = futures::stream::iter(
        body.chunks(CHUNK)
            .map(|c| Ok::<Bytes, Infallible>(Bytes::copy_from_slice(c))),
    );
    let mut multipart = multer::Multipart::with_constraints(chunks, boundary, constraints);
    let (mut fields, mut csrf_seen, mut file) = (0usize, false, None);
    let outcome: Result<(), UploadError> = async {
        while let Some(field) = multipart.next_field().await.map_err(refusal)? {
            fields += 1;
            if fields > MAX_FIELDS {
                return Err(UploadError::Malformed("too many parts".into()));
            }
            match field.name() {
                Some("csrf") if !csrf_seen => {
                    csrf_seen = true;
                    let bytes = field.bytes().await.map_err(refusal)?;
                    form.csrf = String::from_utf8(bytes.to_vec()).unwrap_or_default();
                }
                Some("file") if file.is_none() => {
                    let name = clean_name(field.file_name());
                    let bytes = field.bytes().await.map_err(refusal)?;
                    file = Some(UploadedFile {
                        name,
                        bytes: bytes.to_vec(),
                    });
                }
                _ => return Err(UploadError::Malformed("a repeated or unknown part".into())),
            }
        }
        Ok(())
    }
    .await;
    form.file = match (outcome, file) {
        (Err(e), _) => Err(e),
        (Ok(()), None) => Err(UploadError::NoFile),
        (Ok(()), Some(f)) => Ok(f),
    };
    form
}

/// A multipart error as the upload's refusal: the file's own limit (or the whole post's) is
/// "too large"; anything else is a malformed post.
fn refusal(e: multer::Error) -> UploadError {
    match e {
        multer::Error::FieldSizeExceeded {
            field_name: Some(ref n),
            ..
        } if n == "file" => UploadError::TooLarge,
        multer::Error::StreamSizeExceeded { .. } => UploadError::TooLarge,
        e => UploadError::Malformed(e.to_string()),
    }
}

/// The file name as shown: the last path segment (old browsers send the whole path), without
/// control or invisible characters, at most `MAX_FILE_NAME` characters.
fn clean_name(name: Option<&str>) -> String {
    let name = name.unwrap_or_default();
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| mcamp_core::values::visible_text(&c.to_string(), false))
        .take(MAX_FILE_NAME)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "이름 없는 파일".into()
    } else {
        cleaned.into()
    }
}

/// Tells the file's kind from its content, the name aside: a zip is an xlsx (opening it
/// tells for sure), text is CSV; anything else is refused with what it looks like.
pub fn kind_of(bytes: &[u8]) -> Result<UploadKind, UploadError> {
    const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(UploadError::Empty);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(UploadKind::Xlsx);
    }
    if bytes.starts_with(OLE) {
        return Err(UploadError::LegacyXls);
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(UploadError::Utf16);
    }
    let image = bytes.starts_with(b"\x89PNG")
        || bytes.starts_with(b"\xFF\xD8\xFF")
        || bytes.starts_with(b"GIF8")
        || bytes.starts_with(b"BM")
        || (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
        || bytes.get(4..8) == Some(b"ftyp");
    if image {
        return Err(UploadError::NotTabular(Looks::Image));
    }
    if bytes.starts_with(b"%PDF") {
        return Err(UploadError::NotTabular(Looks::Pdf));
    }
    let archive = bytes.starts_with(b"PK\x05\x06")
        || bytes.starts_with(b"\x1F\x8B")
        || bytes.starts_with(b"Rar!")
        || bytes.starts_with(b"7z\xBC\xAF");
    if archive {
        return Err(UploadError::NotTabular(Looks::Archive));
    }
    if bytes[..bytes.len().min(SNIFF)].contains(&0) {
        return Err(UploadError::NotTabular(Looks::Binary));
    }
    Ok(UploadKind::Csv)
}

/// Imports an uploaded file into `campaign`: CSV as it is, an xlsx's first worksheet turned
/// into CSV; the rows, the rules and the row numbers are the CLI import's.
pub async fn import_file(
    db: &Db,
    campaign: &Campaign,
    phone_key: &PhoneKey,
    file: UploadedFile,
    now: DateTime<Utc>,
) -> Result<(ImportReport, UploadKind), UploadError> {
    let kind = kind_of(&file.bytes)?;
    let csv = match kind {
        UploadKind::Csv => file.bytes,
        UploadKind::Xlsx => xlsx_to_csv(&file.bytes)?,
    };
    // Lines, counted before anything is imported (a quoted line break counts twice: erring
    // on the side of the CLI).
    if csv.iter().filter(|b| **b == b'\n').count() > UPLOAD_ROWS {
        return Err(UploadError::TooManyRows);
    }
    let report = import_recipients(db, campaign, phone_key, Cursor::new(csv), now, &|_| {}).await?;
    Ok((report, kind))
}

/// Reads an upload post and imports its file: the report, what the file was read as and its
/// name. The CSRF token is not checked here: a caller that must check it reads the form with
/// `parse_form` and imports with `import_file` once it has.
pub async fn import_upload(
    db: &Db,
    campaign: &Campaign,
    phone_key: &PhoneKey,
    body: &[u8],
    content_type: &str,
    now: DateTime<Utc>,
) -> Result<(ImportReport, UploadKind, String), UploadError> {
    let file = parse_form(body, content_type).await.file?;
    let name = file.name.clone();
    let (report, kind) = import_file(db, campaign, phone_key, file, now).await?;
    Ok((report, kind, name))
}

/// The first worksheet of an xlsx as CSV, one line per spreadsheet row (empty rows kept as
/// empty lines, line breaks inside cells made spaces), so the importer's row numbers are the
/// sheet's. A workbook the reader cannot open is refused, never a panic.
pub fn xlsx_to_csv(bytes: &[u8]) -> Result<Vec<u8>, UploadError> {
    check_unpacked_size(bytes)?;
    std::panic::catch_unwind(|| convert(bytes))
        .unwrap_or_else(|_| Err(UploadError::BadXlsx("the reader failed".into())))
}

/// Refuses a workbook whose parts declare more than `XLSX_UNPACKED_LIMIT` in all (a zip bomb).
fn check_unpacked_size(bytes: &[u8]) -> Result<(), UploadError> {
    let bad = |e: zip::result::ZipError| UploadError::BadXlsx(e.to_string());
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    if zip.len() > XLSX_MAX_PARTS {
        return Err(UploadError::BadXlsx("too many parts".into()));
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        total = total.saturating_add(zip.by_index_raw(i).map_err(bad)?.size());
    }
    if total > XLSX_UNPACKED_LIMIT {
        return Err(UploadError::TooLargeUnpacked);
    }
    Ok(())
}

fn convert(bytes: &[u8]) -> Result<Vec<u8>, UploadError> {
    let bad = |e: calamine::XlsxError| UploadError::BadXlsx(e.to_string());
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(bad)?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| UploadError::BadXlsx("no worksheet".into()))?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(bad)?;
    let mut out = csv::WriterBuilder::new().flexible(true).from_writer(Lines::default());
    let csv_err = |e: csv::Error| UploadError::BadXlsx(e.to_string());
    // The cells of sheet row `at` (0-based), by column.
    let mut row: Vec<String> = Vec::new();
    let mut at: u32 = 0;
    let mut header_written = false;
    while let Some(cell) = cells.next_cell().map_err(bad)? {
        let (r, c) = cell.get_position();
        if r < at {
            return Err(UploadError::BadXlsx("rows out of order".into()));
        }
        if r > at {
            write_row(&mut out, &row, &mut header_written).map_err(csv_err)?;
            for _ in at + 1..r {
                write_row(&mut out, &[], &mut header_written).map_err(csv_err)?;
                if written(&out) > CSV_LIMIT {
                    return Err(UploadError::TooLargeUnpacked);
                }
            }
            row.clear();
            at = r;
            if written(&out) > CSV_LIMIT {
                return Err(UploadError::TooLargeUnpacked);
            }
        }
        let Ok(c) = usize::try_from(c) else { continue };
        if c >= MAX_COLUMNS {
            continue;
        }
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = cell_text(cell.get_value());
    }
    if !row.is_empty() {
        write_row(&mut out, &row, &mut header_written).map_err(csv_err)?;
    }
    let out = out
        .into_inner()
        .map_err(|e| UploadError::BadXlsx(e.error().to_string()))?
        .0
        .into_inner();
    if out.len() > CSV_LIMIT {
        return Err(UploadError::TooLargeUnpacked);
    }
    Ok(out)
}

/// The CSV being written, reachable while the writer holds it (an empty row is an empty line,
/// which the csv writer does not write).
#[derive(Default)]
struct Lines(std::cell::RefCell<Vec<u8>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.get_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One row. An empty row above the header is an empty line (the reader skips it and counts
/// it); below the header, `""`, a row the importer skips uncounted: the csv reader would number
/// a row that follows skipped empty lines by the first of them.
fn write_row(out: &mut csv::Writer<Lines>, row: &[String], header_written: &mut bool) -> csv::Result<()> {
    if !row.iter().all(String::is_empty) {
        *header_written = true;
        out.write_record(row)
    } else if *header_written {
        out.write_record([""])
    } else {
        out.flush()?;
        out.get_ref().0.borrow_mut().push(b'\n');
        Ok(())
    }
}

/// Bytes written so far (up to the writer's buffer).
fn written(out: &csv::Writer<Lines>) -> usize {
    out.get_ref().0.borrow().len()
}

/// A cell as the CSV's text: numbers without a trailing `.0` (a phone typed as a number has
/// lost its leading 0: it gets it back), dates as ISO dates, text on one line.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => whole_number(i.to_string()),
        DataRef::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => {
            whole_number(format!("{}", *f as i64))
        }
        DataRef::Float(f) => f.to_string(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => one_line(s),
        DataRef::SharedString(s) => one_line(s),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        DataRef::DateTime(d) if d.is_datetime() => {
            let (y, mo, day, h, mi, s, _) = d.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{day:02}")
            } else {
                format!("{y:04}-{mo:02}-{day:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        DataRef::DateTime(d) => d.as_f64().to_string(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

/// A whole number; a Korean mobile number stored as a number (`1012345678`, Excel dropped the
/// 0) gets its leading 0 back.
fn whole_number(digits: String) -> String {
    let lost_zero = matches!(digits.len(), 9 | 10)
        && digits.starts_with('1')
        && PhoneNumber::parse(&digits).is_err()
        && PhoneNumber::parse(&format!("0{digits}")).is_ok();
    if lost_zero { format!("0{digits}") } else { digits }
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// `reason` with every run of seven or more digits (with the separators a phone number is
/// written with) masked, so no phone number reaches a screen from a rejection reason.
pub fn mask_digits(reason: &str) -> String {
    let is_part = |c: char| c.is_ascii_digit() || matches!(c, '-' | '.' | ' ' | '(' | ')' | '+');
    let mut out = String::with_capacity(reason.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().filter(char::is_ascii_digit).count() >= 7 {
            out.extend(run.chars().map(|c| if c.is_ascii_digit() { '*' } else { c }));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in reason.chars() {
        if is_part(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::tests::{db, key, spring};
    use futures::TryStreamExt;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

    const BOUNDARY: &str = "----mcampTestBoundary7MA4YWxk";

    fn content_type() -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }

    /// A multipart body as a browser sends the upload form.
    fn body(csrf: Option<&str>, file: Option<(&str, &[u8])>) -> Vec<u8> {
        let mut b = Vec::new();
        if let Some(t) = csrf {
            b.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{t}\r\n").as_bytes(),
            );
        }
        if let Some((name, bytes)) = file {
            b.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            b.extend_from_slice(bytes);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        b
    }

    fn xlsx(rows: &[&[Cell]]) -> Vec<u8> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        for (r, cells) in rows.iter().enumerate() {
            for (c, cell) in cells.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell {
                    Cell::Text(s) => sheet.write_string(r, c, *s).map(|_| ()),
                    Cell::Number(n) => sheet.write_number(r, c, *n).map(|_| ()),
                    Cell::Date(y, m, d) => {
                        let dt = ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
                        sheet.write_datetime_with_format(r, c, &dt, &date).map(|_| ())
                    }
                    Cell::None => Ok(()),
                }
                .unwrap();
            }
        }
        book.save_to_buffer().unwrap()
    }

    enum Cell {
        Text(&'static str),
        Number(f64),
        Date(u16, u8, u8),
        None,
    }
    use Cell::{Date, None as Skip, Number, Text};

    #[tokio::test]
    async fn the_form_is_read_with_its_file_name() {
        let f = parse_form(
            &body(Some("tok"), Some(("C:\\명단\\봄 고객.csv", b"a,b\n"))),
            &content_type(),
        )
        .await;
        assert_eq!(f.csrf, "tok");
        let file = f.file.unwrap();
        assert_eq!(
            (file.name.as_str(), file.bytes.as_slice()),
            ("봄 고객.csv", &b"a,b\n"[..])
        );
    }

    #[tokio::test]
    async fn a_refused_form_still_gives_its_token() {
        let big = vec![b'a'; UPLOAD_LIMIT + 1];
        let f = parse_form(&body(Some("tok"), Some(("big.csv", &big))), &content_type()).await;
        assert_eq!(f.csrf, "tok");
        assert!(matches!(f.file, Err(UploadError::TooLarge)), "{:?}", f.file);
        assert_eq!(UploadError::TooLarge.status(), 413);
        // Exactly the limit is taken.
        let just = vec![b'a'; UPLOAD_LIMIT];
        assert!(
            parse_form(&body(Some("t"), Some(("ok.csv", &just))), &content_type())
                .await
                .file
                .is_ok()
        );

        let f = parse_form(&body(Some("tok"), None), &content_type()).await;
        assert!(matches!(f.file, Err(UploadError::NoFile)));
        let f = parse_form(b"csrf=tok", "application/x-www-form-urlencoded").await;
        assert!(matches!(f.file, Err(UploadError::NotMultipart)) && f.csrf.is_empty());
        // A long token, an unknown field or a repeated file: malformed.
        let long = "x".repeat(300);
        let f = parse_form(&body(Some(&long), Some(("a.csv", b"a"))), &content_type()).await;
        assert!(matches!(f.file, Err(UploadError::Malformed(_))), "{:?}", f.file);
        let mut twice = body(Some("t"), Some(("a.csv", b"a")));
        twice.truncate(twice.len() - format!("--{BOUNDARY}--\r\n").len());
        twice.extend_from_slice(&body(None, Some(("b.csv", b"b"))));
        let f = parse_form(&twice, &content_type()).await;
        assert!(matches!(f.file, Err(UploadError::Malformed(_))), "{:?}", f.file);
        let other =
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--{BOUNDARY}--\r\n");
        let f = parse_form(other.as_bytes(), &content_type()).await;
        assert!(matches!(f.file, Err(UploadError::Malformed(_))), "{:?}", f.file);
    }

    #[test]
    fn kinds_are_told_by_content() {
        assert_eq!(kind_of(b"name,phone\n").unwrap(), UploadKind::Csv);
        assert_eq!(kind_of("이름,휴대폰\n".as_bytes()).unwrap(), UploadKind::Csv);
        assert_eq!(kind_of(b"PK\x03\x04rest").unwrap(), UploadKind::Xlsx);
        assert!(matches!(kind_of(b""), Err(UploadError::Empty)));
        assert!(matches!(kind_of(b" \r\n"), Err(UploadError::Empty)));
        assert!(matches!(
            kind_of(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1...."),
            Err(UploadError::LegacyXls)
        ));
        assert!(matches!(
            kind_of(b"\x89PNG\r\n\x1a\n"),
            Err(UploadError::NotTabular(Looks::Image))
        ));
        assert!(matches!(
            kind_of(b"%PDF-1.7\n"),
            Err(UploadError::NotTabular(Looks::Pdf))
        ));
        assert!(matches!(kind_of(b"\xFF\xFEa\0b\0"), Err(UploadError::Utf16)));
        assert!(matches!(
            kind_of(b"abc\0def"),
            Err(UploadError::NotTabular(Looks::Binary))
        ));
        for e in [
            UploadError::LegacyXls,
            UploadError::NotTabular(Looks::Image),
            UploadError::TooLarge,
        ] {
            assert!(!e.message().is_empty() && e.message().is_char_boundary(0));
        }
    }

    #[test]
    fn an_xlsx_turns_into_csv_row_for_row() {
        let book = xlsx(&[
            &[Text("이름"), Text("휴대폰"), Text("동의일")],
            &[Text("김\n민지"), Number(1012345678.0), Date(2025, 3, 1)],
            &[],
            &[Text("이"), Text("010-1111-2222"), Number(20250301.0)],
            &[Skip, Number(3.5), Number(1995.0)],
        ]);
        let csv = String::from_utf8(xlsx_to_csv(&book).unwrap()).unwrap();
        assert_eq!(
            csv,
            "이름,휴대폰,동의일\n김 민지,01012345678,2025-03-01\n\"\"\n이,010-1111-2222,20250301\n,3.5,1995\n"
        );
    }

    /// A sheet whose header is not on row 1: the rows above are empty lines, the numbers hold.
    #[tokio::test]
    async fn a_header_further_down_keeps_the_row_numbers() {
        let book = xlsx(&[&[], &[], &[Text("휴대폰")], &[Number(1055556666.0)], &[Text("02-1")]]);
        let csv = xlsx_to_csv(&book).unwrap();
        assert_eq!(
            String::from_utf8(csv.clone()).unwrap(),
            "\n\n휴대폰\n01055556666\n02-1\n"
        );
        let r = import_recipients(&db(), &spring(), &key(), Cursor::new(csv), Utc::now(), &|_| {})
            .await
            .unwrap();
        assert_eq!(
            (r.imported, r.rejected.iter().map(|x| x.row).collect::<Vec<_>>()),
            (1, vec![5])
        );
    }

    #[test]
    fn whole_numbers_and_lost_zeros() {
        assert_eq!(whole_number("1012345678".into()), "01012345678");
        assert_eq!(whole_number("111234567".into()), "0111234567");
        assert_eq!(whole_number("1995".into()), "1995");
        assert_eq!(whole_number("821012345678".into()), "821012345678");
        assert_eq!(whole_number("2012345678".into()), "2012345678");
    }

    #[test]
    fn long_digit_runs_are_masked() {
        assert_eq!(
            mask_digits("phone: 010-1234-5678 is bad"),
            "phone: ***-****-**** is bad"
        );
        assert_eq!(mask_digits("x 01012345678"), "x ***********");
        assert_eq!(
            mask_digits("record 2 (line 3, byte: 40)"),
            "record 2 (line 3, byte: 40)"
        );
        assert_eq!(
            mask_digits("birth_year: must be between 1900 and 2026"),
            "birth_year: must be between 1900 and 2026"
        );
    }

    #[test]
    fn a_zip_that_is_no_workbook_is_refused() {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file("a.txt", zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut w, b"hello").unwrap();
        let bytes = w.finish().unwrap().into_inner();
        assert!(matches!(xlsx_to_csv(&bytes), Err(UploadError::BadXlsx(_))));
        assert!(matches!(
            xlsx_to_csv(b"PK\x03\x04 truncated"),
            Err(UploadError::BadXlsx(_))
        ));
    }

    #[tokio::test]
    async fn an_xlsx_imports_with_the_csv_rules_and_row_numbers() {
        let book = xlsx(&[
            &[Text("이름"), Text("휴대폰"), Text("성별"), Text("마케팅동의")],
            &[Text("김민지"), Number(1012345678.0), Text("여"), Text("Y")],
            &[Text("잘못"), Text("02-123-4567"), Text("F"), Text("Y")],
            &[],
            // Right after an empty row: still its own row number.
            &[Text("박"), Text("010-2222-3333"), Text("?"), Text("Y")],
            &[Text("이준호"), Text("010-9999-8888"), Text("M"), Text("N")],
        ]);
        let (d, c) = (db(), spring());
        let body = body(Some("t"), Some(("고객.xlsx", &book)));
        let (r, kind, name) = import_upload(&d, &c, &key(), &body, &content_type(), Utc::now())
            .await
            .unwrap();
        assert_eq!((kind, name.as_str()), (UploadKind::Xlsx, "고객.xlsx"));
        assert_eq!((r.rows, r.imported), (4, 2));
        assert_eq!(r.rejected.iter().map(|x| x.row).collect::<Vec<_>>(), vec![3, 5]);
        let all: Vec<_> = d.recipients(&c.id).try_collect().await.unwrap();
        let mut phones: Vec<_> = all
            .iter()
            .filter_map(|r| r.phone.as_ref().map(|p| p.as_str().to_owned()))
            .collect();
        phones.sort();
        assert_eq!(phones, vec!["01012345678", "01099998888"]);
    }

    #[tokio::test]
    async fn a_csv_upload_imports_as_the_cli_does() {
        let text = "이름,전화번호\n\n김,010-5555-6666\n이,02-123\n";
        let (bytes, _, _) = encoding_rs::EUC_KR.encode(text);
        let body = body(Some("t"), Some(("명단.csv", &bytes)));
        let (r, kind, _) = import_upload(&db(), &spring(), &key(), &body, &content_type(), Utc::now())
            .await
            .unwrap();
        assert_eq!(
            (kind, r.encoding.as_str(), r.imported),
            (UploadKind::Csv, "CP949 (EUC-KR)", 1)
        );
        assert_eq!(r.rejected.iter().map(|x| x.row).collect::<Vec<_>>(), vec![4]);
        // Without a phone column, nothing is imported.
        let body = super::tests::body(Some("t"), Some(("x.csv", b"name\nkim\n")));
        let r = import_upload(&db(), &spring(), &key(), &body, &content_type(), Utc::now()).await;
        assert!(matches!(r, Err(UploadError::NoPhoneColumn)));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn small_book() -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for r in 0..4u32 {
            for c in 0..3u16 {
                let _ = sheet.write_string(r, c, format!("셀{r}{c}"));
            }
        }
        book.save_to_buffer().unwrap_or_default()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Any bytes as a post with any boundary: the parser never panics and never hands over
        /// a file over the limit.
        #[test]
        fn the_form_parser_takes_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..4096),
                                           boundary in "[a-zA-Z0-9'()+_,./:=?-]{0,80}",
                                           framed in any::<bool>()) {
            let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut bytes = Vec::new();
            if framed {
                bytes.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n").as_bytes());
            }
            bytes.extend_from_slice(&body);
            let f = rt.block_on(parse_form(&bytes, &format!("multipart/form-data; boundary={boundary}")));
            if let Ok(file) = f.file {
                prop_assert!(file.bytes.len() <= UPLOAD_LIMIT);
                let _ = kind_of(&file.bytes);
            }
        }

        /// Any bytes as an xlsx, and a real workbook with bytes changed: a refusal or CSV,
        /// never a panic.
        #[test]
        fn xlsx_reading_takes_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..2048),
                                        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8)) {
            let mut zipped = b"PK\x03\x04".to_vec();
            zipped.extend_from_slice(&body);
            let _ = convert(&zipped);
            let mut book = small_book();
            for (at, b) in &flips {
                if !book.is_empty() {
                    let i = at.index(book.len());
                    book[i] = *b;
                }
            }
            // `convert` directly: a panic there is a failure here, not caught.
            if check_unpacked_size(&book).is_ok() {
                let _ = convert(&book);
            }
        }
    }
}
