//! The campaign report as tables with Korean headers, for spreadsheets: an .xlsx with one sheet
//! for the funnel, one per breakdown and one of people, or one long CSV (표, 행, 열, 값) that a
//! pivot table reads. Both come from the same tables (`report_tables`).

use std::io::Write;

use chrono::{DateTime, Utc};
use mcamp_core::analytics::report::CampaignReport;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::export::{ExportError, SheetWriter};
use crate::people::Person;

/// One cell of a report table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A share, shown as a percentage; empty when undefined (nothing to divide by).
    Ratio(Option<f64>),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Ratio(Some(r)) => format!("{:.1}%", r * 100.0),
            Cell::Ratio(None) => String::new(),
        }
    }
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn n(v: impl Into<i64>) -> Cell {
    Cell::Int(v.into())
}

/// A table: a sheet of the workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: &'static str,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

const TIME_HEADER: [&str; 10] = [
    "시각(KST)",
    "발송",
    "수신",
    "클릭",
    "순 클릭",
    "미리보기",
    "페이지 조회",
    "정보 입력",
    "쿠폰 신청",
    "쿠폰 사용",
];

/// The report's tables, in the workbook's order.
pub fn report_tables(r: &CampaignReport) -> Vec<Table> {
    let time_rows = |rows: &[mcamp_core::analytics::report::TimeRow]| -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|h| {
                vec![
                    t(h.at.clone()),
                    n(h.sent),
                    n(h.delivered),
                    n(h.clicks),
                    n(h.unique_clicks),
                    n(h.previews),
                    n(h.page_views),
                    n(h.forms),
                    n(h.claimed),
                    n(h.redeemed),
                ]
            })
            .collect()
    };
    let pairs = |rows: Vec<(String, i64)>| rows.into_iter().map(|(k, v)| vec![t(k), n(v)]).collect();
    let mut sends = vec![
        ("발송".to_owned(), r.sends.sent),
        ("수신".to_owned(), r.sends.delivered),
        ("실패".to_owned(), r.sends.failed),
    ];
    sends.extend(r.sends.sent_by_channel.iter().map(|(k, v)| (format!("발송: {k}"), *v)));
    sends.extend(r.sends.failed_by_reason.iter().map(|(k, v)| (format!("실패: {k}"), *v)));
    let mut shares = vec![
        ("공유 버튼 탭".to_owned(), r.shares.taps),
        ("카카오톡 전송".to_owned(), r.shares.kakao_deliveries),
        ("나와의 채팅".to_owned(), r.shares.kakao_to_self),
        ("도달한 채팅방".to_owned(), r.shares.kakao_rooms),
        ("공유한 사람".to_owned(), r.shares.sharers),
        ("공유로 온 방문자".to_owned(), r.shares.visitors),
    ];
    shares.extend(r.shares.by_channel.iter().map(|(k, v)| (format!("채널: {k}"), *v)));
    vec![
        Table {
            name: "퍼널",
            header: vec!["단계", "인원", "이전 단계 대비", "발송 대비"],
            rows: r
                .funnel
                .iter()
                .map(|s| {
                    vec![
                        t(s.label),
                        n(s.people),
                        Cell::Ratio(s.of_previous),
                        Cell::Ratio(s.of_sent),
                    ]
                })
                .collect(),
        },
        Table {
            name: "요약",
            header: vec!["항목", "값"],
            rows: pairs(vec![
                ("클릭".into(), r.clicks),
                ("순 클릭".into(), r.unique_clicks),
                ("링크 미리보기(클릭 아님)".into(), r.previews),
                ("페이지 조회".into(), r.page_views),
                ("정보 입력".into(), r.forms),
                ("수신거부".into(), r.opt_outs),
                ("설문 시작".into(), r.survey.starts),
                ("설문 완료".into(), r.survey.completions),
            ]),
        },
        Table {
            name: "일별",
            header: TIME_HEADER.to_vec(),
            rows: time_rows(&r.by_day),
        },
        Table {
            name: "시간대별",
            header: TIME_HEADER.to_vec(),
            rows: time_rows(&r.by_hour),
        },
        Table {
            name: "인앱 브라우저",
            header: vec![
                "브라우저",
                "클릭",
                "순 클릭",
                "조회 인원",
                "참여 인원",
                "이탈 인원",
                "이탈률",
            ],
            rows: r
                .in_app
                .iter()
                .map(|a| {
                    vec![
                        t(a.in_app.clone()),
                        n(a.clicks),
                        n(a.unique_clicks),
                        n(a.viewed),
                        n(a.engaged),
                        n(a.bounced),
                        Cell::Ratio(a.bounce_rate),
                    ]
                })
                .collect(),
        },
        Table {
            name: "페이지 블록",
            header: vec![
                "블록",
                "내용",
                "본 사람",
                "여기서 나간 사람",
                "아무것도 안 하고 나간 사람",
            ],
            rows: r
                .blocks
                .iter()
                .map(|b| {
                    vec![
                        n(b.block + 1),
                        t(b.label.clone()),
                        n(b.reached),
                        n(b.left_here),
                        n(b.bounced_here),
                    ]
                })
                .collect(),
        },
        Table {
            name: "쿠폰",
            header: vec!["쿠폰", "이름", "재고", "신청", "발급", "소진", "사용"],
            rows: r
                .coupons
                .iter()
                .map(|c| {
                    vec![
                        t(c.coupon.clone()),
                        t(c.title.clone()),
                        n(c.stock),
                        n(c.claimed),
                        n(c.issued),
                        n(c.sold_out),
                        n(c.redeemed),
                    ]
                })
                .collect(),
        },
        Table {
            name: "매장",
            header: vec!["매장", "쿠폰 사용", "설문 시작", "설문 완료", "설문 취소"],
            rows: r
                .stores
                .iter()
                .map(|s| {
                    vec![
                        t(s.store.clone()),
                        n(s.redeemed),
                        n(s.survey_starts),
                        n(s.survey_completions),
                        n(s.survey_withdrawn),
                    ]
                })
                .collect(),
        },
        Table {
            name: "공유",
            header: vec!["항목", "값"],
            rows: pairs(shares),
        },
        Table {
            name: "추천인 순위",
            header: vec![
                "순위",
                "수신자 ID",
                "체인 쿠폰 사용",
                "체인 방문자",
                "체인 쿠폰 신청",
                "공유",
            ],
            rows: r
                .top_sharers
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    vec![
                        n(i64::try_from(i + 1).unwrap_or(i64::MAX)),
                        t(s.recipient_id.to_string()),
                        n(s.redeemed),
                        n(s.visitors),
                        n(s.claims),
                        n(s.shares),
                    ]
                })
                .collect(),
        },
        Table {
            name: "공유 트리",
            header: vec![
                "수신자 ID",
                "데려온 사람",
                "단계(홉)",
                "진행 단계",
                "쿠폰 사용",
                "체인 방문자",
                "체인 쿠폰 사용",
            ],
            rows: r
                .share_tree
                .iter()
                .map(|x| {
                    vec![
                        t(x.recipient_id.to_string()),
                        t(x.parent.as_ref().map(ToString::to_string).unwrap_or_default()),
                        n(x.hop),
                        t(x.stage.korean()),
                        n(x.redeemed),
                        n(x.visitors),
                        n(x.credited_redeemed),
                    ]
                })
                .collect(),
        },
        Table {
            name: "A-B 변형",
            header: vec!["변형", "단계", "인원", "이전 단계 대비"],
            rows: r
                .variants
                .iter()
                .flat_map(|v| {
                    v.funnel.iter().map(|s| {
                        vec![
                            t(v.variant.clone()),
                            t(s.label),
                            n(s.people),
                            Cell::Ratio(s.of_previous),
                        ]
                    })
                })
                .collect(),
        },
        Table {
            name: "발송 결과",
            header: vec!["항목", "값"],
            rows: pairs(sends),
        },
    ]
}

/// The people sheet's columns.
pub const PEOPLE_HEADER: [&str; 20] = [
    "수신자 ID",
    "이름",
    "휴대폰",
    "유입",
    "진행 단계",
    "데려온 사람",
    "인앱 브라우저",
    "발송",
    "수신",
    "첫 클릭",
    "클릭",
    "조회",
    "최근 7일 조회",
    "정보 입력",
    "마케팅 동의",
    "쿠폰 신청",
    "쿠폰 발급",
    "쿠폰 사용",
    "사용 매장",
    "데려온 방문자",
];

/// A time as the marketer reads it (`adlaw::format_kst`), empty when there is none.
fn kst_minute(at: Option<DateTime<Utc>>) -> String {
    at.map(crate::adlaw::format_kst).unwrap_or_default()
}

pub fn person_cells(p: &Person) -> Vec<Cell> {
    let source = match p.source {
        mcamp_core::recipient::RecipientSource::Import => "명단",
        mcamp_core::recipient::RecipientSource::Share => "공유",
        mcamp_core::recipient::RecipientSource::Store => "매장 QR",
    };
    vec![
        t(p.recipient_id.to_string()),
        t(p.name.clone().unwrap_or_default()),
        t(p.phone.clone().unwrap_or_default()),
        t(source),
        t(p.stage.korean()),
        t(p.referrer_id.as_ref().map(ToString::to_string).unwrap_or_default()),
        t(p.in_app.clone().unwrap_or_default()),
        t(kst_minute(p.sent_at)),
        t(kst_minute(p.delivered_at)),
        t(kst_minute(p.first_click_at)),
        n(p.clicks),
        n(p.views),
        n(p.views_7d),
        t(kst_minute(p.form_at)),
        t(kst_minute(p.consent_at)),
        t(kst_minute(p.claimed_at)),
        t(kst_minute(p.issued_at)),
        t(kst_minute(p.redeemed_at)),
        t(p.redeemed_store.clone().unwrap_or_default()),
        n(p.brought),
    ]
}

/// Writes people as a CSV (BOM, safe cells), page after page through `rows`.
pub fn people_csv<W: Write>(out: W) -> Result<PeopleCsv<W>, ExportError> {
    Ok(PeopleCsv {
        sheet: SheetWriter::new(out, &PEOPLE_HEADER)?,
    })
}

pub struct PeopleCsv<W: Write> {
    sheet: SheetWriter<W>,
}

impl<W: Write> PeopleCsv<W> {
    pub fn write(&mut self, p: &Person) -> Result<(), ExportError> {
        self.sheet.row(person_cells(p).iter().map(Cell::text))
    }
    pub fn finish(self) -> Result<W, ExportError> {
        self.sheet.finish()
    }
}

/// The report as one long CSV: a row per number (표, 행, 열, 값).
pub fn report_csv<W: Write>(r: &CampaignReport, out: W) -> Result<W, ExportError> {
    let mut sheet = SheetWriter::new(out, &["표", "행", "열", "값"])?;
    for table in report_tables(r) {
        for row in &table.rows {
            let label = row.first().map(Cell::text).unwrap_or_default();
            for (h, cell) in table.header.iter().zip(row).skip(1) {
                sheet.row([table.name.to_owned(), label.clone(), (*h).to_owned(), cell.text()])?;
            }
        }
    }
    sheet.finish()
}

/// The most rows a sheet holds below its header.
pub const XLSX_MAX_ROWS: usize = 1_048_575;

#[derive(Debug, thiserror::Error)]
pub enum XlsxExportError {
    #[error(
        "{0} people do not fit one sheet ({XLSX_MAX_ROWS} rows): export them as CSV with `mcamp people CAMPAIGN -o people.csv`"
    )]
    TooManyPeople(usize),
    #[error("writing the workbook")]
    Xlsx(#[from] XlsxError),
}

/// The report as a workbook: a sheet per table, then the people (masked as given).
pub fn report_xlsx(r: &CampaignReport, people: &[Person]) -> Result<Vec<u8>, XlsxExportError> {
    workbook(report_tables(r), people)
}

/// A workbook of the people sheet alone.
pub fn people_xlsx(people: &[Person]) -> Result<Vec<u8>, XlsxExportError> {
    workbook(Vec::new(), people)
}

fn workbook(mut sheets: Vec<Table>, people: &[Person]) -> Result<Vec<u8>, XlsxExportError> {
    if people.len() > XLSX_MAX_ROWS {
        return Err(XlsxExportError::TooManyPeople(people.len()));
    }
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    sheets.push(Table {
        name: "사람",
        header: PEOPLE_HEADER.to_vec(),
        rows: Vec::new(),
    });
    for table in &sheets {
        let ws = if table.name == "사람" {
            wb.add_worksheet_with_constant_memory()?
        } else {
            wb.add_worksheet()
        };
        ws.set_name(table.name)?;
        for (c, h) in table.header.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string_with_format(0, c, *h, &bold)?;
            ws.set_column_width(c, if c == 0 { 22 } else { 14 })?;
        }
        let rows: Box<dyn Iterator<Item = Vec<Cell>>> = if table.name == "사람" {
            Box::new(people.iter().map(person_cells))
        } else {
            Box::new(table.rows.iter().cloned())
        };
        for (i, row) in rows.enumerate() {
            let r = u32::try_from(i + 1).unwrap_or(u32::MAX);
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).unwrap_or(u16::MAX);
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Cell::Int(v) => {
                        ws.write_number(r, c, *v as f64)?;
                    }
                    Cell::Ratio(Some(v)) => {
                        ws.write_number_with_format(r, c, *v, &pct)?;
                    }
                    Cell::Ratio(None) => {}
                }
            }
        }
    }
    Ok(wb.save_to_buffer()?)
}
