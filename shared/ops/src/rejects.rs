//! The rejected rows of a recipient import as a CSV the marketer can fix and import again:
//! `row` and `reason` first (import ignores both columns), then the row as it was in the file.

use std::collections::HashMap;
use std::io::{Read, Write};

use crate::export::{ExportError, SheetWriter};
use crate::import::ImportReport;
use crate::line_endings::spreadsheet_lines;

/// Writes every rejected row of `report`, re-reading the imported file `source` for the
/// original cells. Returns the number of rows written. Reads through `spreadsheet_lines`, as the import
/// should have, so the row numbers agree.
pub fn write_rejects<R: Read, W: Write>(report: &ImportReport, source: R, out: W) -> Result<usize, ExportError> {
    // `import` names the encoding it detected; read the file back the same way.
    let encoding = if report.encoding.starts_with("UTF-8") {
        encoding_rs::UTF_8
    } else {
        encoding_rs::EUC_KR
    };
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .build(spreadsheet_lines(source));
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(decoded);
    let header: Vec<String> = csv
        .headers()
        .map(|h| h.iter().map(|c| c.trim_start_matches('\u{feff}').to_owned()).collect())
        .unwrap_or_default();
    let mut wanted: HashMap<usize, Vec<String>> = report.rejected.iter().map(|r| (r.row, Vec::new())).collect();
    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let row = record.position().map_or(0, |p| p.line() as usize);
                if let Some(cells) = wanted.get_mut(&row) {
                    *cells = record.iter().map(str::to_owned).collect();
                }
            }
            // An unreadable line is reported by its row and reason alone.
            Err(_) => continue,
        }
    }
    let mut columns = vec!["row", "reason"];
    columns.extend(header.iter().map(String::as_str));
    let mut sheet = SheetWriter::new(out, &columns)?;
    for r in &report.rejected {
        let mut cells = vec![r.row.to_string(), r.reason.clone()];
        if let Some(original) = wanted.get(&r.row) {
            cells.extend(original.iter().cloned());
        }
        sheet.row(&cells)?;
    }
    sheet.finish()?.flush()?;
    Ok(report.rejected.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::RejectedRow;

    #[test]
    fn rejected_rows_come_back_with_their_cells() {
        let file = "이름,휴대폰\n김민지,010-1234-5678\n잘못,02-123-4567\n\"따옴표, 이름\",=1+1\n";
        let (euckr, _, _) = encoding_rs::EUC_KR.encode(file);
        for (bytes, encoding) in [
            (file.as_bytes().to_vec(), "UTF-8"),
            (euckr.into_owned(), "CP949 (EUC-KR)"),
        ] {
            let report = ImportReport {
                encoding: encoding.into(),
                rows: 3,
                imported: 1,
                duplicates: 0,
                consents_changed: 0,
                rejected: vec![
                    RejectedRow {
                        row: 3,
                        reason: "phone: bad".into(),
                    },
                    RejectedRow {
                        row: 4,
                        reason: "phone: bad".into(),
                    },
                ],
            };
            let mut out = Vec::new();
            assert_eq!(write_rejects(&report, bytes.as_slice(), &mut out).unwrap(), 2);
            let text = String::from_utf8(out).unwrap();
            assert_eq!(
                text,
                "\u{feff}row,reason,이름,휴대폰\n3,phone: bad,잘못,02-123-4567\n4,phone: bad,\"따옴표, 이름\",'=1+1\n",
                "{encoding}"
            );
        }
    }
}
