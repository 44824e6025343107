//! The two pages, report and MCS: self-contained HTML (inline CSS and SVG, no script, nothing
//! fetched) with the summary, the respondents' make-up, per-question results and tables, the
//! drop-off and the store ranking.

use std::collections::{BTreeMap, BTreeSet};

use maud::{DOCTYPE, Markup, PreEscaped, html};
use mcamp_core::survey::QuestionType;
use mcamp_core::survey_report::{AGES, DropOff, GENDERS, McsReport, MeanCi, QuestionStats, Report, Segment};

use super::charts::{dropoff_chart, nps_bar, sparkline, value_bars};
use super::format::{dec2, pct_text, rate_text, signed};
use super::{TOTAL, is_text, ranked, store_name};

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
    let total =
        |keep: &dyn Fn(&Segment) -> bool| r.segments.iter().filter(|s| keep(s)).map(|s| s.completed).sum::<u64>();
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

/// Answered vs stopped per question: the funnel chart and the numbers in a table.
fn dropoff(d: &[DropOff]) -> Markup {
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
                (dropoff_chart(d))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::BAR_W;
    use crate::report::fixtures::{mcs, names, report};

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
}
