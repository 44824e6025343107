//! Survey results laid out for the marketer: one self-contained HTML page (inline CSS and SVG
//! charts drawn here, no script, nothing fetched, so it can be mailed or printed as is) and a
//! long-format CSV for spreadsheets. The statistics come computed from
//! `mcamp_domain::survey_report`; this module only presents them.
//!
//! All markup goes through maud, SVG included, so every title, label and id from the report is
//! HTML-escaped. Every CSV text cell goes through `csv_safe` (no formula injection); numbers are
//! written as numbers so a negative NPS stays a number in the spreadsheet.

use std::collections::{BTreeMap, BTreeSet};

use maud::{DOCTYPE, Markup, PreEscaped, html};
use mcamp_domain::survey::QuestionType;
use mcamp_domain::survey_report::{AGES, DropOff, GENDERS, McsReport, MeanCi, Nps, QuestionStats, Report, StoreStats};

use crate::export::{BOM, csv_safe};

/// The segment name of the all-respondents rows in the CSV.
const TOTAL: &str = "전체";

/// Layout of the horizontal bar charts, in SVG user units (the chart scales to the page).
const CHART_W: f64 = 600.0;
/// Right edge of the label column.
const LABEL_X: f64 = 168.0;
const BAR_X: f64 = 176.0;
/// The width of a bar that stands for every respondent.
const BAR_W: f64 = 300.0;
const ROW_H: f64 = 26.0;
const BAR_H: f64 = 18.0;
/// Where the count and percentage of each bar start (a fixed column, so they line up).
const VALUE_X: f64 = BAR_X + BAR_W + 8.0;
/// Labels longer than this are shortened in charts (the tables show them whole).
const LABEL_CHARS: usize = 12;

const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 32.0;
const SPARK_PAD: f64 = 3.0;

const BLUE: &str = "#3f83f8";
const TRACK: &str = "#eef2f7";
const RED: &str = "#e02424";
const GREY: &str = "#9ca3af";
const GREEN: &str = "#0e9f6e";
const ORANGE: &str = "#ff8a4c";

/// Mobile first, readable in print; colours kept in print because the charts need them.
const CSS: &str = r#"*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Apple SD Gothic Neo","Malgun Gothic","Noto Sans KR",sans-serif;color:#1f2933;background:#fff;line-height:1.5;-webkit-print-color-adjust:exact;print-color-adjust:exact}
main{max-width:900px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.5rem 0}
h2{font-size:1.2rem;margin:1.75rem 0 .5rem;border-bottom:2px solid #e4e7eb;padding-bottom:.25rem}
h3{font-size:1.05rem;margin:1rem 0 .25rem;overflow-wrap:anywhere}
p{margin:.35rem 0}
.muted{color:#616e7c;font-size:.9rem}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:8px;margin:0}
.kpis div{border:1px solid #e4e7eb;border-radius:6px;padding:8px}
.kpis dt{font-size:.85rem;color:#616e7c}
.kpis dd{margin:0;font-size:1.3rem;font-weight:600}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5rem 0}
table{border-collapse:collapse;font-size:.85rem;width:100%}
caption{text-align:left;padding:2px 0}
th,td{border:1px solid #e4e7eb;padding:4px 6px;text-align:right;white-space:nowrap;vertical-align:middle}
th:first-child,td:first-child{text-align:left}
thead th{background:#f5f7fa}
tr.total{font-weight:600;background:#fafbfc}
th.name{text-align:left}
td.name{text-align:left;white-space:normal;min-width:8em}
.zero{color:#b0b8c1}
.q{border-top:1px solid #e4e7eb;margin-top:1rem;padding-top:.25rem}
svg.chart{display:block;width:100%;min-width:480px;height:auto}
svg.spark{display:block}
.badge{display:inline-block;padding:0 6px;border-radius:4px;background:#fde8e8;color:#9b1c1c;font-size:.8rem;font-weight:600}
tr.low{color:#616e7c}
@media print{main{max-width:none;padding:0}.scroll{overflow:visible}svg.chart{min-width:0}.q,tr{break-inside:avoid}}"#;

/// One self-contained HTML page with the whole survey report.
pub fn report_html(r: &Report) -> String {
    page(
        &r.title,
        html! {
            (page_header(r))
            (report_body(r))
        },
    )
}

/// The MCS page: the store ranking with weekly NPS trends, then the report of all stores.
pub fn mcs_html(r: &McsReport, store_names: &BTreeMap<String, String>) -> String {
    page(
        &r.overall.title,
        html! {
            (page_header(&r.overall))
            (store_ranking(r, store_names))
            (report_body(&r.overall))
        },
    )
}

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

// ---------------------------------------------------------------------------------------------
// CSV

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

// ---------------------------------------------------------------------------------------------
// Numbers and words

/// One decimal; adding 0.0 turns a negative zero into "0.0".
fn dec1(x: f64) -> String {
    format!("{:.1}", x + 0.0)
}

/// Two decimals, for means of a short scale, where one decimal hides real differences.
fn dec2(x: f64) -> String {
    format!("{:.2}", x + 0.0)
}

/// An NPS score with its sign: `+16.7`, `-50.0`.
fn signed(x: f64) -> String {
    format!("{:+.1}", x + 0.0)
}

fn pct_text(p: f64) -> String {
    format!("{}%", dec1(p))
}

/// A ratio (0..=1) as a percentage, or a dash when there is nothing to divide by.
fn rate_text(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| pct_text(r * 100.0))
}

/// SVG coordinates: one decimal is plenty and keeps the markup short.
fn num(x: f64) -> String {
    dec1(x)
}

/// A label shortened for a chart, with an ellipsis.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn is_text(k: QuestionType) -> bool {
    matches!(k, QuestionType::ShortText | QuestionType::LongText)
}

fn kind_label(k: QuestionType) -> &'static str {
    match k {
        QuestionType::Single => "단일 선택",
        QuestionType::Multiple => "복수 선택",
        QuestionType::Picture => "이미지 선택",
        QuestionType::Rating => "별점 (1–5)",
        QuestionType::Nps => "추천 의향 NPS (0–10)",
        QuestionType::ShortText => "단답형",
        QuestionType::LongText => "서술형",
    }
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

// ---------------------------------------------------------------------------------------------
// HTML

fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="ko" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Nothing to load and nothing to run: even a failure to escape could not execute.
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                title { (title) " — 설문 결과" }
                style { (PreEscaped(CSS)) }
            }
            body { main { (body) } }
        }
    }
    .into_string()
}

fn page_header(r: &Report) -> Markup {
    html! {
        h1 { (r.title) }
        p.muted { "설문 결과 · 캠페인 " (r.campaign_id) }
    }
}

/// Summary, segments, questions and drop-off: the body shared by both pages.
fn report_body(r: &Report) -> Markup {
    html! {
        (summary(r))
        (segments(r))
        section {
            h2 { "질문별 결과" }
            @for (i, q) in r.questions.iter().enumerate() { (question(i, q)) }
        }
        (dropoff(&r.dropoff))
    }
}

fn summary(r: &Report) -> Markup {
    let (base_label, base) = match (r.invited, r.scans) {
        (Some(n), _) => ("초대", Some(n)),
        (None, Some(n)) => ("스캔", Some(n)),
        (None, None) => ("초대/스캔", None),
    };
    html! {
        section {
            h2 { "요약" }
            dl.kpis {
                div { dt { (base_label) } dd { @if let Some(n) = base { (n) } @else { "–" } } }
                div { dt { "응답 시작" } dd { (r.started) } }
                div { dt { "완료" } dd { (r.completed) } }
                div { dt { "응답률" } dd { (rate_text(r.response_rate)) } }
                div { dt { "완료율" } dd { (rate_text(r.completion_rate)) } }
            }
            p.muted { "응답률 = 응답 시작 ÷ " (base_label) ", 완료율 = 완료 ÷ 응답 시작." }
        }
    }
}

/// Completed responses in a gender × age grid, with totals.
fn segments(r: &Report) -> Markup {
    let total = |keep: &dyn Fn(&mcamp_domain::survey_report::Segment) -> bool| {
        r.segments.iter().filter(|s| keep(s)).map(|s| s.completed).sum::<u64>()
    };
    let count = |g: &str, a: &str| total(&|s| s.gender == g && s.age == a);
    let gender_total = |g: &str| total(&|s| s.gender == g);
    let age_total = |a: &str| total(&|s| s.age == a);
    html! {
        section {
            h2 { "응답자 구성 (완료, 성별 × 연령)" }
            @if r.segments.is_empty() {
                p.muted { "완료된 응답이 아직 없어요." }
            } @else {
                div.scroll {
                    table {
                        thead {
                            tr {
                                th scope="col" { "성별 \\ 연령" }
                                @for (_, a) in AGES { th scope="col" { (a) } }
                                th scope="col" { "합계" }
                            }
                        }
                        tbody {
                            @for (g, gl) in GENDERS {
                                tr {
                                    th scope="row" { (gl) }
                                    @for (a, _) in AGES {
                                        @let n = count(g, a);
                                        td class=[(n == 0).then_some("zero")] { (n) }
                                    }
                                    td { (gender_total(g)) }
                                }
                            }
                            tr.total {
                                th scope="row" { "합계" }
                                @for (a, _) in AGES { td { (age_total(a)) } }
                                td { (r.completed) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn question(i: usize, q: &QuestionStats) -> Markup {
    // Several choices per respondent make the percentages add up to more than 100.
    let over_100 = q.values.iter().map(|v| v.pct).sum::<f64>() > 100.05;
    html! {
        section.q id=(format!("q-{}", q.id)) {
            h3 { (i + 1) ". " (q.title) }
            p.muted { (kind_label(q.kind)) " · 응답자 수 " strong { (q.respondents) "명" } }
            @if is_text(q.kind) {
                p.muted { "주관식 질문은 응답자 수만 집계해요." }
            } @else {
                @if over_100 { p.muted { "복수 응답: 비율의 합이 100%를 넘을 수 있어요." } }
                (value_bars(q))
                @if let Some(n) = &q.nps { (nps_bar(&q.title, n)) }
                @if let Some(m) = &q.mean {
                    (mean_line(m))
                } @else if matches!(q.kind, QuestionType::Rating | QuestionType::Nps) {
                    p.muted { "평균과 신뢰구간은 응답이 2건 이상일 때 계산해요." }
                }
                (crosstab(q))
            }
        }
    }
}

/// The width of a bar of `count` when `scale` fills the chart.
fn bar_width(count: u64, scale: u64) -> f64 {
    if scale == 0 {
        0.0
    } else {
        BAR_W * count as f64 / scale as f64
    }
}

/// One horizontal bar per option or scale value.
fn value_bars(q: &QuestionStats) -> Markup {
    // Full width stands for all respondents, so bars read alike across questions; counters
    // that disagree (a value above the respondents) widen the scale rather than overflow.
    let scale = q.values.iter().map(|v| v.count).max().unwrap_or(0).max(q.respondents);
    let height = ROW_H * q.values.len() as f64 + 8.0;
    let parts: Vec<String> = q
        .values
        .iter()
        .map(|v| format!("{} {}명 ({})", v.label, v.count, pct_text(v.pct)))
        .collect();
    let label = format!("{} — 응답 분포: {}", q.title, parts.join(", "));
    html! {
        div.scroll {
            svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label)
                viewBox=(format!("0 0 {} {}", num(CHART_W), num(height))) width=(num(CHART_W)) height=(num(height))
                font-size="13" {
                title { (label) }
                @for (i, v) in q.values.iter().enumerate() {
                    @let y = 4.0 + ROW_H * i as f64;
                    @let text_y = num(y + BAR_H / 2.0 + 5.0);
                    g {
                        title { (v.label) ": " (v.count) "명 (" (pct_text(v.pct)) ")" }
                        text x=(num(LABEL_X)) y=(text_y) text-anchor="end" fill="currentColor" { (short(&v.label, LABEL_CHARS)) }
                        rect x=(num(BAR_X)) y=(num(y)) width=(num(BAR_W)) height=(num(BAR_H)) fill=(TRACK) {}
                        rect.bar x=(num(BAR_X)) y=(num(y)) width=(num(bar_width(v.count, scale))) height=(num(BAR_H)) fill=(BLUE) {}
                        text x=(num(VALUE_X)) y=(text_y) fill="currentColor" { (v.count) "명 (" (pct_text(v.pct)) ")" }
                    }
                }
            }
        }
    }
}

/// Detractors, passives and promoters as one stacked bar, with the score.
fn nps_bar(title: &str, n: &Nps) -> Markup {
    let total = n.n.max(1) as f64;
    let parts = [
        ("비추천", "0–6", n.detractors, RED),
        ("중립", "7–8", n.passives, GREY),
        ("추천", "9–10", n.promoters, GREEN),
    ];
    let full = CHART_W - 2.0;
    let mut x = 1.0;
    let segs: Vec<(f64, f64, &str)> = parts
        .iter()
        .map(|&(_, _, count, colour)| {
            let w = full * count as f64 / total;
            let seg = (x, w, colour);
            x += w;
            seg
        })
        .collect();
    let label = format!(
        "{title} — NPS {}: 비추천 {}명, 중립 {}명, 추천 {}명 (응답 {}명)",
        signed(n.score),
        n.detractors,
        n.passives,
        n.promoters,
        n.n
    );
    html! {
        div.scroll {
            svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label)
                viewBox=(format!("0 0 {} 84", num(CHART_W))) width=(num(CHART_W)) height="84" font-size="13" {
                title { (label) }
                text x="1" y="16" font-weight="600" font-size="15" fill="currentColor" { "NPS " (signed(n.score)) }
                @for (x, w, colour) in &segs {
                    rect.nps x=(num(*x)) y="24" width=(num(*w)) height="24" fill=(colour) {}
                }
                @for (i, (name, range, count, colour)) in parts.iter().enumerate() {
                    @let lx = 1.0 + 200.0 * i as f64;
                    rect x=(num(lx)) y="62" width="12" height="12" fill=(colour) {}
                    text x=(num(lx + 16.0)) y="73" fill="currentColor" {
                        (name) " (" (range) ") " (count) "명 · " (pct_text(*count as f64 * 100.0 / total))
                    }
                }
            }
        }
    }
}

fn mean_line(m: &MeanCi) -> Markup {
    html! {
        p {
            "평균 " strong { (dec2(m.mean)) }
            " (95% 신뢰구간 " (dec2(m.lo)) "–" (dec2(m.hi))
            ", 표준편차 " (dec2(m.sd)) ", n=" (m.n) ")"
        }
    }
}

/// Values by gender × age cell: "count (pct%)" of the cell's respondents.
fn crosstab(q: &QuestionStats) -> Markup {
    let rating = q.kind == QuestionType::Rating;
    let nps = q.kind == QuestionType::Nps;
    let or_dash = |x: Option<String>| x.unwrap_or_else(|| "–".to_owned());
    html! {
        @if q.crosstab.is_empty() {
            p.muted { "성별·연령별로 나눌 응답이 아직 없어요." }
        } @else {
            div.scroll {
                table {
                    caption.muted { "성별·연령별 응답: 건수 (그 세그먼트 응답자 중 비율)" }
                    thead {
                        tr {
                            th scope="col" { "세그먼트" }
                            th scope="col" { "응답자" }
                            @for v in &q.values { th scope="col" { (v.label) } }
                            @if rating { th scope="col" { "평균" } }
                            @if nps { th scope="col" { "NPS" } }
                        }
                    }
                    tbody {
                        tr.total {
                            th scope="row" { (TOTAL) }
                            td { (q.respondents) }
                            @for v in &q.values { td { (v.count) " (" (pct_text(v.pct)) ")" } }
                            @if rating { td { (or_dash(q.mean.map(|m| dec2(m.mean)))) } }
                            @if nps { td { (or_dash(q.nps.map(|n| signed(n.score)))) } }
                        }
                        @for row in &q.crosstab {
                            tr {
                                th scope="row" { (row.label) }
                                td { (row.respondents) }
                                @for (count, pct) in row.counts.iter().zip(&row.pcts) {
                                    td class=[(*count == 0).then_some("zero")] { (count) " (" (pct_text(*pct)) ")" }
                                }
                                @if rating { td { (or_dash(row.mean.map(dec2))) } }
                                @if nps { td { (or_dash(row.nps.map(signed))) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Answered vs stopped per question, as a funnel of stacked bars, and the numbers in a table.
fn dropoff(d: &[DropOff]) -> Markup {
    let scale = d.iter().map(|x| x.answered + x.waiting).max().unwrap_or(0);
    let height = ROW_H * d.len() as f64 + 8.0;
    let parts: Vec<String> = d
        .iter()
        .enumerate()
        .map(|(i, x)| {
            format!(
                "{}. {}: 응답 {}명, 이탈 {}명 (이탈률 {})",
                i + 1,
                x.title,
                x.answered,
                x.waiting,
                rate_text(x.drop_rate)
            )
        })
        .collect();
    let label = format!("질문별 이탈: {}", parts.join("; "));
    html! {
        section {
            h2 { "질문별 이탈" }
            p.muted {
                "파란색은 그 질문에 답한 사람, 주황색은 그 질문에서 멈춘 사람이에요 (돌아와 이어서 답하면 줄어요). "
                "이탈률 = 멈춤 ÷ (답함 + 멈춤)."
            }
            @if d.is_empty() {
                p.muted { "질문이 없어요." }
            } @else {
                div.scroll {
                    svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label)
                        viewBox=(format!("0 0 {} {}", num(CHART_W), num(height))) width=(num(CHART_W)) height=(num(height))
                        font-size="13" {
                        title { (label) }
                        @for (i, x) in d.iter().enumerate() {
                            @let y = 4.0 + ROW_H * i as f64;
                            @let text_y = num(y + BAR_H / 2.0 + 5.0);
                            @let answered_w = bar_width(x.answered, scale);
                            g {
                                title { (parts.get(i).map_or("", String::as_str)) }
                                text x=(num(LABEL_X)) y=(text_y) text-anchor="end" fill="currentColor" {
                                    (i + 1) ". " (short(&x.title, LABEL_CHARS - 3))
                                }
                                rect.answered x=(num(BAR_X)) y=(num(y)) width=(num(answered_w)) height=(num(BAR_H)) fill=(BLUE) {}
                                rect.waiting x=(num(BAR_X + answered_w)) y=(num(y)) width=(num(bar_width(x.waiting, scale))) height=(num(BAR_H)) fill=(ORANGE) {}
                                text x=(num(VALUE_X)) y=(text_y) fill="currentColor" { "이탈 " (rate_text(x.drop_rate)) }
                            }
                        }
                    }
                }
                div.scroll {
                    table {
                        thead {
                            tr {
                                th.name scope="col" { "질문" }
                                th scope="col" { "답함" }
                                th scope="col" { "멈춤" }
                                th scope="col" { "이탈률" }
                            }
                        }
                        tbody {
                            @for (i, x) in d.iter().enumerate() {
                                tr {
                                    td.name { (i + 1) ". " (x.title) }
                                    td { (x.answered) }
                                    td { (x.waiting) }
                                    td { (rate_text(x.drop_rate)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn store_ranking(r: &McsReport, names: &BTreeMap<String, String>) -> Markup {
    // One week axis for every store, so the sparklines line up and a missing week is a gap.
    let axis: Vec<&str> = r
        .stores
        .iter()
        .flat_map(|s| s.weeks.iter().map(|w| w.week.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    html! {
        section {
            h2 { "매장 순위" }
            p.muted {
                "NPS가 높은 순서예요. 응답이 " (r.min_responses) "건 미만인 매장은 '표본 부족'으로 표시하고 "
                "응답 수 순서로 맨 뒤에 두었어요."
                @if let (Some(first), Some(last)) = (axis.first(), axis.last()) {
                    " 주별 NPS: " (first) " ~ " (last) " (세로축 −100 ~ +100, 빈 곳은 NPS 응답이 없던 주)."
                }
            }
            @if r.stores.is_empty() {
                p.muted { "매장 응답이 아직 없어요." }
            } @else {
                div.scroll {
                    table {
                        thead {
                            tr {
                                th scope="col" { "순위" }
                                th.name scope="col" { "매장" }
                                th scope="col" { "스캔" }
                                th scope="col" { "응답" }
                                th scope="col" { "NPS" }
                                th scope="col" { "추천 / 중립 / 비추천" }
                                th scope="col" { "주별 NPS" }
                            }
                        }
                        tbody {
                            @for s in ranked(r) {
                                @let low = s.completed < r.min_responses;
                                @let name = store_name(s, names);
                                tr class=[low.then_some("low")] id=(format!("store-{}", s.store_id)) {
                                    td { (s.rank) }
                                    td.name {
                                        (name)
                                        @if name != s.store_id { br; span.muted { (s.store_id) } }
                                    }
                                    td { (s.scans) }
                                    td { (s.completed) }
                                    td {
                                        @if low { span.badge { "표본 부족" } " " }
                                        @if let Some(n) = &s.nps { (signed(n.score)) } @else { "–" }
                                    }
                                    td {
                                        @if let Some(n) = &s.nps {
                                            (n.promoters) " / " (n.passives) " / " (n.detractors)
                                        } @else { "–" }
                                    }
                                    td { (sparkline(s, &axis)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Weekly NPS of a store on the shared week axis; weeks without a score break the line.
fn sparkline(s: &StoreStats, axis: &[&str]) -> Markup {
    let inner_w = SPARK_W - 2.0 * SPARK_PAD;
    let inner_h = SPARK_H - 2.0 * SPARK_PAD;
    let x_of = |i: usize| {
        if axis.len() <= 1 {
            SPARK_W / 2.0
        } else {
            SPARK_PAD + inner_w * i as f64 / (axis.len() - 1) as f64
        }
    };
    let y_of = |nps: f64| SPARK_PAD + (100.0 - nps.clamp(-100.0, 100.0)) / 200.0 * inner_h;
    let score_of = |week: &str| s.weeks.iter().find(|w| w.week == week).and_then(|w| w.nps);
    let points: Vec<Option<(f64, f64)>> = axis
        .iter()
        .enumerate()
        .map(|(i, w)| score_of(w).map(|v| (x_of(i), y_of(v))))
        .collect();
    // Runs of consecutive weeks with a score become lines; a lone week is only its dot.
    let lines: Vec<String> = points
        .split(Option::is_none)
        .filter(|run| run.len() >= 2)
        .map(|run| {
            run.iter()
                .flatten()
                .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let weeks: Vec<String> = axis
        .iter()
        .map(|w| format!("{w} {}", score_of(w).map_or_else(|| "응답 없음".to_owned(), signed)))
        .collect();
    let label = format!("주별 NPS 추이: {}", weeks.join(", "));
    html! {
        svg.spark xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label)
            viewBox=(format!("0 0 {} {}", num(SPARK_W), num(SPARK_H))) width=(num(SPARK_W)) height=(num(SPARK_H)) {
            title { (label) }
            line x1=(num(SPARK_PAD)) x2=(num(SPARK_W - SPARK_PAD)) y1=(num(y_of(0.0))) y2=(num(y_of(0.0)))
                stroke=(GREY) stroke-width="0.5" stroke-dasharray="2 2" {}
            @for pts in &lines {
                polyline points=(pts) fill="none" stroke=(BLUE) stroke-width="1.5" {}
            }
            @for (x, y) in points.iter().flatten() {
                circle cx=(num(*x)) cy=(num(*y)) r="2" fill=(BLUE) {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcamp_domain::survey::SurveyDef;
    use mcamp_domain::survey_report::{
        Cell, Counters, INVITED, SCANS, STARTED, answered, cell, done, mcs_report, respondents, survey_report, value,
        waiting,
    };
    use mcamp_domain::values::{AgeBand, Gender};

    const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"클릭\")";
    const SCRIPT: &str = "<script>alert(1)</script> 추천할까요?";

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
    fn report() -> Report {
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

    /// The HTML of one question's section.
    fn section<'a>(html: &'a str, id: &str) -> &'a str {
        let start = html
            .find(&format!("id=\"q-{id}\""))
            .unwrap_or_else(|| panic!("no section {id}"));
        let end = start + html[start..].find("</section>").unwrap();
        &html[start..end]
    }

    /// `width` of every `<rect>` of class `class`, in order.
    fn rect_widths(html: &str, class: &str) -> Vec<f64> {
        html.split("<rect")
            .skip(1)
            .map(|t| &t[..t.find('>').unwrap()])
            .filter(|t| t.contains(&format!("class=\"{class}\"")))
            .map(|t| {
                let w = &t[t.find(" width=\"").unwrap() + 8..];
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect()
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
    fn html_draws_proportional_bars_and_escapes_titles() {
        let r = report();
        let html = report_html(&r);
        assert!(html.starts_with("<!DOCTYPE html><html lang=\"ko\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        // No script at all; the title's tag is shown as text.
        assert!(!html.contains("<script"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; 추천할까요?"));
        // Summary: 8 of 10 started, 6 of 8 completed.
        assert!(html.contains("80.0%") && html.contains("75.0%"));
        // Every chart is accessible.
        let svgs: Vec<&str> = html.split("<svg").skip(1).map(|t| &t[..t.find('>').unwrap()]).collect();
        assert_eq!(
            svgs.len(),
            3 + 1 + 1,
            "three value charts, the NPS bar, the drop-off funnel"
        );
        assert!(
            svgs.iter()
                .all(|t| t.contains("role=\"img\"") && t.contains("aria-label=\""))
        );
        // A chart per counted question, none for text.
        for q in ["visit", "taste", "rec"] {
            assert!(section(&html, q).contains("<svg"), "{q}");
        }
        assert!(!section(&html, "why").contains("<svg"));
        assert!(section(&html, "why").contains("3명"));
        // yes 4 : no 2 → widths 2 : 1, full width being the 6 respondents.
        let w = rect_widths(section(&html, "visit"), "bar");
        assert_eq!(w.len(), 2);
        assert!(
            (w[0] - BAR_W * 4.0 / 6.0).abs() < 0.05 && (w[0] / w[1] - 2.0).abs() < 1e-3,
            "{w:?}"
        );
        // Rating: values 1..=5 are 0, 1, 1, 2, 2 of 6.
        let w = rect_widths(section(&html, "taste"), "bar");
        assert_eq!(w, [0.0, 50.0, 50.0, 100.0, 100.0]);
        // Cross-tab cell "count (pct%)", and the mean with its interval.
        assert!(section(&html, "visit").contains("<td>3 (75.0%)</td>"));
        assert!(section(&html, "taste").contains("95% 신뢰구간"));
        // NPS: score, and the stacked bar in 2 : 1 : 3.
        let rec = section(&html, "rec");
        assert!(rec.contains("NPS +16.7"));
        let w = rect_widths(rec, "nps");
        assert!(
            (w[0] / w[1] - 2.0).abs() < 1e-2 && (w[2] / w[1] - 3.0).abs() < 1e-2,
            "{w:?}"
        );
        // Drop-off: visit 7 answered + 1 stopped is the longest bar.
        let a = rect_widths(&html, "answered");
        let s = rect_widths(&html, "waiting");
        assert_eq!(a.len(), 4);
        assert!((a[0] + s[0] - BAR_W).abs() < 0.05 && (a[0] / s[0] - 7.0).abs() < 1e-2);
        assert!(html.contains("이탈 12.5%"));
    }

    fn mcs() -> McsReport {
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

    fn names() -> BTreeMap<String, String> {
        [("gangnam", "강남점 <1층>"), ("hongdae", "홍대점")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect()
    }

    #[test]
    fn mcs_html_ranks_stores_with_sparklines() {
        let html = mcs_html(&mcs(), &names());
        let row = |id: &str| {
            let start = html
                .find(&format!("id=\"store-{id}\""))
                .unwrap_or_else(|| panic!("{id}"));
            let end = start + html[start..].find("</tr>").unwrap();
            (start, &html[start..end])
        };
        let ((h, hongdae), (g, gangnam), (j, jamsil)) = (row("hongdae"), row("gangnam"), row("jamsil"));
        assert!(h < g && g < j, "rank order");
        assert!(hongdae.contains("<td>1</td>") && hongdae.contains("+100.0"));
        assert!(gangnam.contains("강남점 &lt;1층&gt;") && gangnam.contains("+33.3"));
        // Name fallback to the id; the small store is flagged and only it.
        assert!(jamsil.contains("<td class=\"name\">jamsil"));
        assert!(jamsil.contains("표본 부족"));
        assert_eq!(html.matches("표본 부족</span>").count(), 1);
        // A sparkline per store: a line over gangnam's two weeks, a lone dot for hongdae (its
        // second week has no score) and for jamsil (only in the second week).
        for r in [hongdae, gangnam, jamsil] {
            assert!(r.contains("<svg class=\"spark\"") && r.contains("role=\"img\""));
            assert_eq!(r.matches("<circle").count(), 1 + usize::from(r == gangnam));
        }
        assert!(gangnam.contains("<polyline"));
        assert!(!hongdae.contains("<polyline") && hongdae.contains("2026-W02 응답 없음"));
        // The overall report follows.
        assert!(html.contains("질문별 결과") && html.contains("이 매장을 추천할까요?"));
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
