//! The long tables for spreadsheets: UTF-8 with a BOM, every text cell through `csv_safe`,
//! numbers as numbers.

use std::collections::BTreeMap;

use mcamp_core::survey_report::{McsReport, Report};

use super::format::{dec1, dec2};
use super::{TOTAL, is_text, ranked, store_name};
use crate::export::{BOM, csv_safe};

/// The report as one long table (UTF-8 with BOM): per question, the totals (`전체`), NPS and
/// mean, then the same per gender × age cell.
pub fn report_csv(r: &Report) -> Vec<u8> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for q in &r.questions {
        let (qid, title) = (text(&q.id), text(&q.title));
        let row = |value: &str, label: &str, segment: &str, respondents: u64, count: String, pct: String| {
            vec![
                qid.clone(),
                title.clone(),
                text(value),
                text(label),
                text(segment),
                respondents.to_string(),
                count,
                pct,
            ]
        };
        if is_text(q.kind) {
            // No values to count: the respondents are all there is.
            rows.push(row("", "", TOTAL, q.respondents, String::new(), String::new()));
            for c in &q.crosstab {
                rows.push(row("", "", &c.label, c.respondents, String::new(), String::new()));
            }
            continue;
        }
        for v in &q.values {
            rows.push(row(
                &v.value,
                &v.label,
                TOTAL,
                q.respondents,
                v.count.to_string(),
                dec1(v.pct),
            ));
        }
        if let Some(n) = &q.nps {
            rows.push(row("nps", "NPS", TOTAL, q.respondents, n.n.to_string(), dec1(n.score)));
        }
        if let Some(m) = &q.mean {
            rows.push(row("mean", "평균", TOTAL, q.respondents, m.n.to_string(), dec2(m.mean)));
        }
        for c in &q.crosstab {
            for ((v, count), pct) in q.values.iter().zip(&c.counts).zip(&c.pcts) {
                rows.push(row(
                    &v.value,
                    &v.label,
                    &c.label,
                    c.respondents,
                    count.to_string(),
                    dec1(*pct),
                ));
            }
            // The cell's NPS and mean are over its scale answers.
            let answers: u64 = c.counts.iter().sum();
            if let Some(score) = c.nps {
                rows.push(row(
                    "nps",
                    "NPS",
                    &c.label,
                    c.respondents,
                    answers.to_string(),
                    dec1(score),
                ));
            }
            if let Some(mean) = c.mean {
                rows.push(row(
                    "mean",
                    "평균",
                    &c.label,
                    c.respondents,
                    answers.to_string(),
                    dec2(mean),
                ));
            }
        }
    }
    sheet(
        &[
            "question_id",
            "question",
            "value",
            "label",
            "segment",
            "respondents",
            "count",
            "pct",
        ],
        &rows,
    )
}

/// The store ranking as one table (UTF-8 with BOM): one row per store and week, the store's
/// columns repeated, stores in rank order.
pub fn mcs_csv(r: &McsReport, store_names: &BTreeMap<String, String>) -> Vec<u8> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for s in ranked(r) {
        let (nps, promoters, passives, detractors) = match &s.nps {
            Some(n) => (
                dec1(n.score),
                n.promoters.to_string(),
                n.passives.to_string(),
                n.detractors.to_string(),
            ),
            None => Default::default(),
        };
        let store = vec![
            s.rank.to_string(),
            text(&s.store_id),
            text(store_name(s, store_names)),
            s.scans.to_string(),
            s.completed.to_string(),
            nps,
            promoters,
            passives,
            detractors,
        ];
        if s.weeks.is_empty() {
            // Not produced by `mcs_report`, but a store without weeks still gets its row.
            rows.push([store.clone(), vec![String::new(); 3]].concat());
        }
        for w in &s.weeks {
            let week = vec![
                text(&w.week),
                w.completed.to_string(),
                w.nps.map(dec1).unwrap_or_default(),
            ];
            rows.push([store.clone(), week].concat());
        }
    }
    sheet(
        &[
            "rank",
            "store_id",
            "store",
            "scans",
            "responses",
            "nps",
            "promoters",
            "passives",
            "detractors",
            "week",
            "week_responses",
            "week_nps",
        ],
        &rows,
    )
}

/// A text cell, safe to open in a spreadsheet.
fn text(s: &str) -> String {
    csv_safe(s).into_owned()
}

/// BOM, header and rows. Text cells are already `csv_safe`; numbers go as they are.
fn sheet(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    // Flexible so that no record can be refused for its length; writing to memory does no I/O,
    // so nothing below can fail in practice and there is no error to hand back.
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(BOM.to_vec());
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{FORMULA, mcs, names, report};

    fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
        let body = bytes.strip_prefix(BOM).unwrap_or_else(|| panic!("no BOM at the start"));
        let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(body);
        let header = r.headers().unwrap().iter().map(str::to_owned).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn csv_is_one_long_table_with_bom_totals_and_cells() {
        let (header, rows) = parse_csv(&report_csv(&report()));
        assert!(report_csv(&report()).starts_with("\u{FEFF}".as_bytes()));
        assert_eq!(
            header,
            [
                "question_id",
                "question",
                "value",
                "label",
                "segment",
                "respondents",
                "count",
                "pct"
            ]
        );
        let find = |q: &str, v: &str, seg: &str| {
            rows.iter()
                .find(|r| r[0] == q && r[2] == v && r[4] == seg)
                .unwrap_or_else(|| panic!("no row {q} {v} {seg}"))
                .clone()
        };
        // Cells: respondents, count, pct of the cell's respondents.
        assert_eq!(find("visit", "yes", "여성 20대")[5..], ["4", "3", "75.0"]);
        assert_eq!(find("visit", "yes", "남성 30대")[5..], ["2", "1", "50.0"]);
        assert_eq!(find("visit", "no", "여성 20대")[5..], ["4", "1", "25.0"]);
        // Totals, with the option label.
        assert_eq!(find("visit", "yes", "전체")[3..], ["예", "전체", "6", "4", "66.7"]);
        // NPS: count = answers, pct = score; a negative score stays a number (no quote).
        assert_eq!(find("rec", "nps", "전체")[5..], ["6", "6", "16.7"]);
        assert_eq!(find("rec", "nps", "남성 30대")[5..], ["2", "2", "-50.0"]);
        assert_eq!(find("rec", "nps", "여성 20대")[7], "50.0");
        // Mean of the rating: (5+5+4+4+3+2) / 6.
        assert_eq!(find("taste", "mean", "전체")[5..], ["6", "6", "3.83"]);
        assert_eq!(find("taste", "mean", "남성 30대")[7], "2.50");
        // A text question has its respondents only.
        assert_eq!(find("why", "", "전체")[5..], ["3", "", ""]);
        // 2 values × (total + 2 cells) for visit; 5 + 1 mean for taste ×3; 11 + nps + mean ×3; why 2.
        assert_eq!(rows.len(), 6 + 18 + 39 + 2);
    }

    #[test]
    fn csv_neutralises_formula_titles() {
        let bytes = report_csv(&report());
        let (_, rows) = parse_csv(&bytes);
        let visit: Vec<_> = rows.iter().filter(|r| r[0] == "visit").collect();
        assert!(!visit.is_empty());
        for r in visit {
            assert_eq!(r[1], format!("'{FORMULA}"));
        }
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains(",=HYPERLINK") && !text.contains(",\"=HYPERLINK"));
    }

    #[test]
    fn mcs_csv_has_a_row_per_store_week_in_rank_order() {
        let (header, rows) = parse_csv(&mcs_csv(&mcs(), &names()));
        assert_eq!(header[0], "rank");
        assert_eq!(header[11], "week_nps");
        let got: Vec<(&str, &str, &str, &str)> = rows
            .iter()
            .map(|r| (r[0].as_str(), r[1].as_str(), r[9].as_str(), r[11].as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("1", "hongdae", "2026-W01", "100.0"),
                ("1", "hongdae", "2026-W02", ""),
                ("2", "gangnam", "2026-W01", "100.0"),
                ("2", "gangnam", "2026-W02", "-100.0"),
                ("3", "jamsil", "2026-W02", "100.0"),
            ]
        );
        // Store columns: name (or id), scans, responses, NPS and its parts.
        assert_eq!(rows[2][2..9], ["강남점 <1층>", "18", "3", "33.3", "2", "0", "1"]);
        assert_eq!(rows[4][2], "jamsil");
    }
}
