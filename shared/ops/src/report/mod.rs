//! Survey results laid out for the marketer: one self-contained HTML page (inline CSS and SVG
//! charts drawn here, no script, nothing fetched, so it can be mailed or printed as is) and a
//! long-format CSV for spreadsheets. The statistics come computed from
//! `mcamp_core::survey_report`; this module only presents them.
//!
//! All markup goes through maud, SVG included, so every title, label and id from the report is
//! HTML-escaped. Every CSV text cell goes through `csv_safe` (no formula injection); numbers are
//! written as numbers so a negative NPS stays a number in the spreadsheet.
//!
//! `html` lays out the pages, `charts` draws their SVG charts, `csv` writes the tables and
//! `format` writes the numbers both show.

mod charts;
mod csv;
mod format;
mod html;

use std::collections::BTreeMap;

use mcamp_core::survey::QuestionType;
use mcamp_core::survey_report::{McsReport, StoreStats};

pub use self::charts::{Bar, columns, count_bars};
pub use self::csv::{mcs_csv, report_csv};
pub use self::format::rate_text;
pub use self::html::{mcs_html, report_html};

/// The segment name of the all-respondents rows (the CSV's, and the cross-tab's total row).
const TOTAL: &str = "전체";

fn is_text(k: QuestionType) -> bool {
    matches!(k, QuestionType::ShortText | QuestionType::LongText)
}

fn store_name<'a>(s: &'a StoreStats, names: &'a BTreeMap<String, String>) -> &'a str {
    names
        .get(&s.store_id)
        .map(String::as_str)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&s.store_id)
}

/// Stores by rank (the domain sorts them already; this does not rely on it).
fn ranked(r: &McsReport) -> Vec<&StoreStats> {
    let mut v: Vec<&StoreStats> = r.stores.iter().collect();
    v.sort_by_key(|s| s.rank);
    v
}

#[cfg(test)]
mod fixtures {
    use std::collections::BTreeMap;

    use mcamp_core::survey::SurveyDef;
    use mcamp_core::survey_report::{
        Cell, Counters, INVITED, McsReport, Report, SCANS, STARTED, answered, cell, done, mcs_report, respondents,
        survey_report, value, waiting,
    };
    use mcamp_core::values::{AgeBand, Gender};

    pub(super) const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"클릭\")";

    pub(super) const SCRIPT: &str = "<script>alert(1)</script> 추천할까요?";

    fn def() -> SurveyDef {
        let j = serde_json::json!({
            "intro": {"title": "설문"}, "thanks": {"title": "감사합니다"},
            "questions": [
                {"id": "visit", "type": "single", "title": FORMULA,
                 "options": [{"id": "yes", "label": "예"}, {"id": "no", "label": "아니오"}]},
                {"id": "taste", "type": "rating", "title": "맛은 어땠나요?"},
                {"id": "rec", "type": "nps", "title": SCRIPT},
                {"id": "why", "type": "long_text", "title": "이유", "required": false}
            ]
        });
        serde_json::from_value(j).unwrap_or_else(|e| panic!("{e}"))
    }

    fn f20() -> Cell {
        cell(Some(Gender::Female), Some(AgeBand::Twenties))
    }

    fn m30() -> Cell {
        cell(Some(Gender::Male), Some(AgeBand::Thirties))
    }

    /// Answers of `q` in cell `c`: `(value, how many)`, also counted as respondents.
    fn answers(k: &mut Counters, q: &str, c: Cell, vals: &[(&str, i64)]) {
        for (v, n) in vals {
            k.add(&value(q, v, c), *n);
        }
    }

    /// 6 completed (4 women in their 20s, 2 men in their 30s) of 8 started, 10 invited.
    pub(super) fn report() -> Report {
        let mut k = Counters::default();
        k.add(INVITED, 10);
        k.add(STARTED, 8);
        k.add(&done(f20()), 4);
        k.add(&done(m30()), 2);
        for q in ["visit", "taste", "rec"] {
            k.add(&respondents(q, f20()), 4);
            k.add(&respondents(q, m30()), 2);
        }
        // visit: yes 4, no 2 overall.
        answers(&mut k, "visit", f20(), &[("yes", 3), ("no", 1)]);
        answers(&mut k, "visit", m30(), &[("yes", 1), ("no", 1)]);
        answers(&mut k, "taste", f20(), &[("5", 2), ("4", 2)]);
        answers(&mut k, "taste", m30(), &[("3", 1), ("2", 1)]);
        // NPS: promoters 10, 10, 9; passive 7; detractors 6, 0 → (3 − 2) / 6 = +16.7.
        answers(&mut k, "rec", f20(), &[("10", 2), ("9", 1), ("6", 1)]);
        answers(&mut k, "rec", m30(), &[("7", 1), ("0", 1)]);
        k.add(&respondents("why", f20()), 3);
        for (q, a, w) in [("visit", 7, 1), ("taste", 6, 1), ("rec", 6, 0), ("why", 3, 0)] {
            k.add(&answered(q), a);
            k.add(&waiting(q), w);
        }
        survey_report("cmp1", "가을 만족도 조사", &def(), &k, false)
    }

    pub(super) fn mcs() -> McsReport {
        let def: SurveyDef = serde_json::from_value(serde_json::json!({
            "intro": {"title": "매장 설문"}, "thanks": {"title": "감사합니다"},
            "questions": [{"id": "rec", "type": "nps", "title": "이 매장을 추천할까요?"}]
        }))
        .unwrap();
        let scope = |store: &str, week: &str, scans: i64, vals: &[(&str, i64)]| {
            let mut k = Counters::default();
            k.add(SCANS, scans);
            let n: i64 = vals.iter().map(|(_, n)| n).sum();
            k.add(&done(f20()), n);
            k.add(&respondents("rec", f20()), n);
            answers(&mut k, "rec", f20(), vals);
            (format!("ST#{store}#{week}"), k)
        };
        let by_scope: BTreeMap<String, Counters> = [
            // gangnam: +33.3 over two weeks with scores.
            scope("gangnam", "2026-W01", 10, &[("10", 2)]),
            scope("gangnam", "2026-W02", 8, &[("0", 1)]),
            // hongdae: +100, no responses in its second week.
            scope("hongdae", "2026-W01", 6, &[("10", 3)]),
            scope("hongdae", "2026-W02", 4, &[]),
            // jamsil: one response, under the minimum.
            scope("jamsil", "2026-W02", 3, &[("10", 1)]),
        ]
        .into_iter()
        .collect();
        mcs_report("cmp2", "매장 NPS", &def, &by_scope, 2)
    }

    pub(super) fn names() -> BTreeMap<String, String> {
        [("gangnam", "강남점 <1층>"), ("hongdae", "홍대점")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect()
    }
}
