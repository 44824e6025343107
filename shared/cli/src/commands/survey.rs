//! `mcamp survey report CAMPAIGN [--html FILE] [--csv FILE]` and
//! `mcamp mcs report|posters CAMPAIGN …`: survey statistics and the MCS store tools.
//! Reports read the maintained aggregates only, so they take the same time at any size.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::Utc;
use clap::Subcommand;
use mcamp_core::survey::QuestionType;
use mcamp_core::survey_report::{McsReport, Report};
use mcamp_core::values::StoreId;
use mcamp_ops::report::{mcs_csv, mcs_html, report_csv, report_html};
use mcamp_ops::surveys::{load_mcs_report, load_survey_report, poster_svg, store_link};
use serde_json::json;

use super::campaign_id;
use crate::failure::Failure;
use crate::output;
use crate::say;
use crate::{Global, backend};

#[derive(Subcommand)]
pub enum SurveyCommand {
    /// Counts and percentages per question, gender × age cross-tab, NPS, mean with 95% CI,
    /// response and completion rates, drop-off per question.
    Report {
        /// Campaign id (kind survey), e.g. spring-survey.
        campaign: String,
        /// Also write the report as an HTML page with charts here.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Also write it as CSV (UTF-8 with BOM, opens in Excel) here.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum McsCommand {
    /// Store ranking by loyalty index (NPS) with weekly trends, and all stores' answers.
    Report {
        /// Campaign id (kind mcs), e.g. store-rating.
        campaign: String,
        /// Stores with fewer completed responses are ranked last ("표본 부족").
        #[arg(long, default_value_t = 30)]
        min_responses: u64,
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
    },
    /// Each store's permanent link and an A4 QR poster (SVG; --png adds it as a 150 dpi PNG).
    Posters {
        campaign: String,
        /// Store ids (registered with `mcamp stores add`); none: every store that has a link.
        stores: Vec<String>,
        /// A file of store ids, one per line (a CSV's first column; a header line is skipped).
        #[arg(long, value_name = "FILE")]
        stores_file: Option<PathBuf>,
        /// Public base of the short links, e.g. https://go.brand.kr.
        #[arg(long, env = "MCAMP_BASE_URL")]
        base_url: String,
        /// Folder for the posters (`{store}.svg`, and `{store}.png` with --png).
        #[arg(long, short, default_value = "posters")]
        out: PathBuf,
        #[arg(long)]
        png: bool,
    },
}

fn write_extras(
    html: Option<PathBuf>,
    page: impl FnOnce() -> String,
    csv: Option<PathBuf>,
    sheet: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<String>, Failure> {
    let mut wrote = Vec::new();
    if let Some(p) = html {
        output::write_file(&p, page().as_bytes())?;
        wrote.push(p.display().to_string());
    }
    if let Some(p) = csv {
        output::write_file(&p, &sheet())?;
        wrote.push(p.display().to_string());
    }
    Ok(wrote)
}

pub async fn survey(g: &Global, cmd: SurveyCommand) -> Result<(), Failure> {
    let SurveyCommand::Report { campaign, html, csv } = cmd;
    let id = campaign_id(&campaign)?;
    let db = backend::open(g).await?;
    let started = std::time::Instant::now();
    let report = load_survey_report(&db, &id).await?;
    let took = started.elapsed();
    let wrote = write_extras(html, || report_html(&report), csv, || report_csv(&report))?;
    if g.json {
        return output::json(&report);
    }
    let mut text = human(&report);
    for w in wrote {
        let _ = writeln!(text, "wrote {w}");
    }
    let _ = writeln!(text, "(read the maintained aggregates in {} ms)", took.as_millis());
    output::print_str(&text);
    Ok(())
}

fn rate(r: Option<f64>) -> String {
    r.map_or("–".into(), |x| format!("{:.1}%", x * 100.0))
}

fn human(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}  {}", r.campaign_id, r.title);
    let _ = writeln!(o);
    if let Some(i) = r.invited {
        let _ = writeln!(o, "invited          {:>9}", output::n(i));
    }
    if let Some(s) = r.scans {
        let _ = writeln!(o, "scans            {:>9}", output::n(s));
    }
    let _ = writeln!(
        o,
        "started          {:>9}  (response rate {})",
        output::n(r.started),
        rate(r.response_rate)
    );
    let _ = writeln!(
        o,
        "completed        {:>9}  (completion rate {})",
        output::n(r.completed),
        rate(r.completion_rate)
    );
    if !r.segments.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "completed by gender × age");
        for s in &r.segments {
            let _ = writeln!(o, "  {:<16} {:>7}", s.label, output::n(s.completed));
        }
    }
    for q in &r.questions {
        let _ = writeln!(o);
        let _ = writeln!(o, "[{}] {}  (n = {})", q.id, q.title, output::n(q.respondents));
        for v in &q.values {
            let _ = writeln!(o, "  {:<18} {:>7}  {:>5.1}%", v.label, output::n(v.count), v.pct);
        }
        if let Some(n) = &q.nps {
            let _ = writeln!(
                o,
                "  NPS {:+.1}  (promoters {}, passives {}, detractors {})",
                n.score, n.promoters, n.passives, n.detractors
            );
        }
        if let Some(m) = &q.mean {
            let _ = writeln!(
                o,
                "  mean {:.2}  95% CI {:.2}–{:.2}  (sd {:.2})",
                m.mean, m.lo, m.hi, m.sd
            );
        }
        if q.kind != QuestionType::ShortText && q.kind != QuestionType::LongText && !q.crosstab.is_empty() {
            let _ = writeln!(o, "  by gender × age:");
            for row in &q.crosstab {
                let cells: Vec<String> = q
                    .values
                    .iter()
                    .zip(row.pcts.iter())
                    .map(|(v, p)| format!("{} {:.0}%", v.label, p))
                    .collect();
                let extra = match (row.nps, row.mean) {
                    (Some(n), _) => format!("  NPS {n:+.0}"),
                    (None, Some(m)) => format!("  mean {m:.2}"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    o,
                    "    {:<16} n={:<5} {}{extra}",
                    row.label,
                    row.respondents,
                    cells.join(" · ")
                );
            }
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "drop-off (answered / stopped here)");
    for d in &r.dropoff {
        let _ = writeln!(
            o,
            "  {:<14} {:>7} / {:<7} {}",
            d.question_id,
            output::n(d.answered),
            output::n(d.waiting),
            rate(d.drop_rate)
        );
    }
    o
}

pub async fn mcs(g: &Global, cmd: McsCommand) -> Result<(), Failure> {
    match cmd {
        McsCommand::Report {
            campaign,
            min_responses,
            html,
            csv,
        } => {
            let id = campaign_id(&campaign)?;
            let db = backend::open(g).await?;
            let (report, names) = load_mcs_report(&db, &id, min_responses).await?;
            let wrote = write_extras(html, || mcs_html(&report, &names), csv, || mcs_csv(&report, &names))?;
            if g.json {
                return output::json(&json!({"report": report, "store_names": names}));
            }
            let mut text = ranking(&report, &names);
            text.push_str(&human(&report.overall));
            for w in wrote {
                let _ = writeln!(text, "wrote {w}");
            }
            output::print_str(&text);
            Ok(())
        }
        McsCommand::Posters {
            campaign,
            stores,
            stores_file,
            base_url,
            out,
            png,
        } => {
            let id = campaign_id(&campaign)?;
            let base = base_url.trim().trim_end_matches('/').to_owned();
            if !(base.starts_with("https://") || base.starts_with("http://")) {
                return Err(Failure::user(format!(
                    "base URL '{base}' must look like https://go.brand.kr"
                )));
            }
            let mut ids = stores;
            if let Some(f) = stores_file {
                let text = std::fs::read_to_string(&f)
                    .map_err(|e| Failure::user(format!("cannot read {}: {e}", f.display())))?;
                for (i, line) in text.lines().enumerate() {
                    let first = line
                        .split(',')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .trim_start_matches('\u{feff}');
                    if first.is_empty() || (i == 0 && StoreId::parse(first).is_err()) {
                        continue;
                    }
                    ids.push(first.to_owned());
                }
            }
            let mut parsed: Vec<StoreId> = ids.iter().map(|s| StoreId::parse(s)).collect::<Result<_, _>>()?;
            let db = backend::open(g).await?;
            if parsed.is_empty() {
                // No stores named: redraw the posters of every store that has a link already.
                parsed = db.store_links(&id).await?.into_iter().map(|(s, _)| s).collect();
            }
            if parsed.is_empty() {
                return Err(Failure::user(
                    "name at least one store (or --stores-file); this campaign has no store links yet",
                ));
            }
            std::fs::create_dir_all(&out)
                .map_err(|e| Failure::user(format!("cannot create {}: {e}", out.display())))?;
            let mut rows = Vec::new();
            for store in &parsed {
                let (code, name, c) = store_link(&db, &id, store, Utc::now()).await?;
                let url = format!("{base}/{code}");
                let headline = c
                    .survey
                    .as_ref()
                    .map_or("매장을 평가해 주세요".to_owned(), |s| s.intro.title.clone());
                let svg = poster_svg(&c.sender.brand, &name, &headline, &url)?;
                let svg_path = out.join(format!("{store}.svg"));
                output::write_file(&svg_path, svg.as_bytes())?;
                if png {
                    output::write_file(&out.join(format!("{store}.png")), &poster_png(&svg)?)?;
                }
                rows.push(json!({"store": store, "name": name, "link": url, "poster": svg_path.display().to_string()}));
            }
            if g.json {
                return output::json(&rows);
            }
            for r in &rows {
                say!(
                    "{}  {}  {}  -> {}",
                    r["store"].as_str().unwrap_or(""),
                    r["name"].as_str().unwrap_or(""),
                    r["link"].as_str().unwrap_or(""),
                    r["poster"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

fn ranking(r: &McsReport, names: &std::collections::BTreeMap<String, String>) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "store ranking by loyalty index (NPS); fewer than {} responses ranked last",
        r.min_responses
    );
    for s in &r.stores {
        let name = names.get(&s.store_id).map_or(s.store_id.as_str(), String::as_str);
        let nps = s.nps.map_or("–".to_owned(), |n| format!("{:+.1}", n.score));
        let trend: Vec<String> = s
            .weeks
            .iter()
            .map(|w| format!("{} {}", w.week, w.nps.map_or("–".to_owned(), |n| format!("{n:+.0}"))))
            .collect();
        let thin = if s.completed < r.min_responses {
            "  (표본 부족)"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "  {:>3}. {:<16} NPS {:>6}  responses {:>6}  scans {:>6}  {}{thin}",
            s.rank,
            name,
            nps,
            output::n(s.completed),
            output::n(s.scans),
            trend.join(", ")
        );
    }
    let _ = writeln!(o);
    o
}

/// Print resolution of a PNG poster: A4 at 150 dpi is 1240 x 1754 pixels.
const POSTER_DPI: f32 = 150.0;

/// The poster rasterised (resvg, system fonts). Its Korean text needs a Korean font on this
/// machine (Noto Sans CJK, Apple SD Gothic Neo, Malgun Gothic…); without one, it says so.
fn poster_png(svg: &str) -> Result<Vec<u8>, Failure> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    let korean = opt.fontdb.faces().any(|f| {
        f.families.iter().any(|(name, _)| {
            ["CJK", "Gothic", "Nanum", "Malgun", "Noto Sans KR"]
                .iter()
                .any(|k| name.contains(k))
        })
    });
    if !korean {
        crate::output::report(
            true,
            "warning: no Korean font found; the PNG posters' text may be missing (install fonts-noto-cjk, or print the SVG)",
        );
    }
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| Failure::user(format!("drawing the poster: {e}")))?;
    let scale = POSTER_DPI / 96.0;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).round() as u32,
        (size.height() * scale).round() as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(w, h).ok_or_else(|| Failure::user("cannot allocate the poster image"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| Failure::user(format!("encoding the poster PNG: {e}")))
}
