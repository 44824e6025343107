//! The SVG charts of the pages: horizontal bars per value, the NPS stacked bar, the drop-off
//! funnel and the stores' weekly sparklines. Drawn as maud markup like the rest of the page.

use maud::{Markup, html};
use mcamp_core::survey_report::{DropOff, Nps, QuestionStats, StoreStats};

use super::format::{dec1, pct_text, rate_text, signed};

/// Layout of the horizontal bar charts, in SVG user units (the chart scales to the page).
const CHART_W: f64 = 600.0;
/// Right edge of the label column.
const LABEL_X: f64 = 168.0;
const BAR_X: f64 = 176.0;
/// The width of a bar that stands for every respondent.
pub(super) const BAR_W: f64 = 300.0;
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

/// The width of a bar of `count` when `scale` fills the chart.
fn bar_width(count: u64, scale: u64) -> f64 {
    if scale == 0 {
        0.0
    } else {
        BAR_W * count as f64 / scale as f64
    }
}

/// One horizontal bar per option or scale value.
pub(super) fn value_bars(q: &QuestionStats) -> Markup {
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
pub(super) fn nps_bar(title: &str, n: &Nps) -> Markup {
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

/// Answered vs stopped per question, as a funnel of stacked bars.
pub(super) fn dropoff_chart(d: &[DropOff]) -> Markup {
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
    }
}

/// Weekly NPS of a store on the shared week axis; weeks without a score break the line.
pub(super) fn sparkline(s: &StoreStats, axis: &[&str]) -> Markup {
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

/// One bar of `count_bars`: a label, a count and what is written after it.
pub struct Bar {
    pub label: String,
    pub count: u64,
    pub note: String,
}

/// The console's charts are drawn for a phone's width (360 units at about one unit per CSS
/// pixel), so their text stays readable there and scales up on a desktop.
const NARROW_W: f64 = 360.0;

/// Horizontal bars of counts scaled to the largest (the console's funnel and breakdowns).
pub fn count_bars(title: &str, bars: &[Bar]) -> Markup {
    const LABEL_END: f64 = 84.0;
    const BAR_START: f64 = 90.0;
    const BAR_LEN: f64 = 140.0;
    let scale = bars.iter().map(|b| b.count).max().unwrap_or(0);
    let height = ROW_H * bars.len() as f64 + 8.0;
    let parts: Vec<String> = bars
        .iter()
        .map(|b| format!("{} {} {}", b.label, b.count, b.note))
        .collect();
    let label = format!("{title}: {}", parts.join(", "));
    let width = |count: u64| {
        if scale == 0 {
            0.0
        } else {
            BAR_LEN * count as f64 / scale as f64
        }
    };
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label)
            viewBox=(format!("0 0 {} {}", num(NARROW_W), num(height))) width=(num(NARROW_W)) height=(num(height))
            font-size="12" {
            @for (i, b) in bars.iter().enumerate() {
                @let y = 4.0 + ROW_H * i as f64;
                @let text_y = num(y + BAR_H / 2.0 + 4.0);
                text x=(num(LABEL_END)) y=(text_y) text-anchor="end" fill="currentColor" { (short(&b.label, 7)) }
                rect x=(num(BAR_START)) y=(num(y)) width=(num(BAR_LEN)) height=(num(BAR_H)) fill=(TRACK) {}
                rect x=(num(BAR_START)) y=(num(y)) width=(num(width(b.count))) height=(num(BAR_H)) fill=(BLUE) {}
                text x=(num(BAR_START + BAR_LEN + 6.0)) y=(text_y) fill="currentColor" { (b.count) " " (b.note) }
            }
        }
    }
}

/// Columns over time (clicks per hour): one column per label, the first and every
/// `tick_every`-th label written under the axis.
pub fn columns(title: &str, points: &[(String, u64)], tick_every: usize) -> Markup {
    const H: f64 = 150.0;
    const AXIS_Y: f64 = 124.0;
    const LEFT: f64 = 30.0;
    let scale = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let step = (NARROW_W - LEFT - 4.0) / points.len().max(1) as f64;
    let peak = points.iter().max_by_key(|p| p.1);
    let label = match peak {
        Some((at, n)) if *n > 0 => format!("{title}: 가장 많은 때 {at} {n}"),
        _ => format!("{title}: 아직 없어요"),
    };
    let tick = tick_every.max(1);
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label)
            viewBox=(format!("0 0 {} {}", num(NARROW_W), num(H))) width=(num(NARROW_W)) height=(num(H)) font-size="10" {
            text x=(num(LEFT - 4.0)) y="14" text-anchor="end" fill="currentColor" { (scale) }
            text x=(num(LEFT - 4.0)) y=(num(AXIS_Y)) text-anchor="end" fill="currentColor" { "0" }
            line x1=(num(LEFT)) y1=(num(AXIS_Y)) x2=(num(NARROW_W - 2.0)) y2=(num(AXIS_Y)) stroke=(GREY) {}
            @for (i, (at, n)) in points.iter().enumerate() {
                @let h = (AXIS_Y - 10.0) * *n as f64 / scale as f64;
                @let x = LEFT + step * i as f64;
                rect x=(num(x + 0.5)) y=(num(AXIS_Y - h)) width=(num((step - 1.0).max(0.5))) height=(num(h)) fill=(BLUE) {
                    title { (at) " " (n) }
                }
                @if i % tick == 0 {
                    text x=(num(x)) y=(num(AXIS_Y + 16.0)) text-anchor="start" fill="currentColor" { (at) }
                }
            }
        }
    }
}
