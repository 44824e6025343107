//! `mcamp recipients import CAMPAIGN FILE.csv [--rejects rejects.csv]`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use mcamp_ops::import::{ImportReport, import_recipients};
use mcamp_ops::line_endings::LfReader;
use mcamp_ops::rejects::write_rejects;
use serde::Serialize;

use super::{campaign_id, stored_campaign};
use crate::failure::Failure;
use crate::output::{self, n};
use crate::say;
use crate::{Global, backend};

/// Rejected rows listed on screen; `--rejects` writes all of them.
const SHOWN_REJECTS: usize = 20;

#[derive(Subcommand)]
pub enum RecipientsCommand {
    /// Import recipients from a CSV: UTF-8 or CP949 (Korean Excel), header in Korean or English
    /// (이름/name, 휴대폰/phone, 성별, 출생년도, 마케팅동의, 야간동의, 동의일자, …).
    Import {
        campaign: String,
        file: PathBuf,
        /// Write every rejected row (row, reason and the row as it was) to this CSV.
        #[arg(long, value_name = "FILE")]
        rejects: Option<PathBuf>,
    },
}

pub async fn run(g: &Global, cmd: RecipientsCommand) -> Result<(), Failure> {
    match cmd {
        RecipientsCommand::Import {
            campaign,
            file,
            rejects,
        } => import(g, &campaign, &file, rejects.as_deref()).await,
    }
}

/// Data lines in the file (lines less the header), for the progress bar's length. Quoted
/// line breaks make it an estimate; the bar is only a guide.
fn estimate_rows(path: &Path) -> u64 {
    std::fs::File::open(path)
        .map(|f| {
            BufReader::new(f)
                .split(b'\n')
                .filter(|l| l.as_ref().is_ok_and(|l| !l.is_empty()))
                .count()
                .saturating_sub(1) as u64
        })
        .unwrap_or(0)
}

#[derive(Serialize)]
struct Imported<'a> {
    campaign: &'a str,
    file: String,
    #[serde(flatten)]
    report: &'a ImportReport,
    seconds: f64,
    rejects_file: Option<String>,
}

async fn import(g: &Global, campaign: &str, file: &Path, rejects: Option<&Path>) -> Result<(), Failure> {
    let id = campaign_id(campaign)?;
    let shown = file.display().to_string();
    let input = std::fs::File::open(file).map_err(|e| Failure::user(format!("{shown}: cannot read: {e}")))?;
    let db = backend::open(g).await?;
    let stored = stored_campaign(&db, &id).await?;
    let phone_key = backend::phone_key(g).await?;

    let bar = if g.json {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(estimate_rows(file));
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} importing [{bar:30}] {human_pos}/{human_len} rows  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    };
    let started = Instant::now();
    let progress = |rows: usize| bar.set_position(rows as u64);
    // CRLF (Excel on Windows) read as LF, so rejected rows get their right row numbers.
    let input = LfReader::new(input);
    let result = import_recipients(&db, &stored.campaign, &phone_key, input, Utc::now(), &progress).await;
    bar.finish_and_clear();
    let report = result.map_err(|e| match Failure::from(e) {
        Failure::User(m) => Failure::User(format!("{shown}: {m}")),
        storage => storage,
    })?;
    let seconds = started.elapsed().as_secs_f64();

    let rejects_file = match rejects {
        Some(path) => {
            let source = std::fs::File::open(file).map_err(|e| Failure::user(format!("{shown}: cannot read: {e}")))?;
            let mut bytes = Vec::new();
            write_rejects(&report, source, &mut bytes)?;
            output::write_file(path, &bytes)?;
            Some(path.display().to_string())
        }
        None => None,
    };

    if g.json {
        return output::json(&Imported {
            campaign: id.as_str(),
            file: shown,
            report: &report,
            seconds,
            rejects_file,
        });
    }
    let rate = if seconds >= 1.0 {
        format!("  ({} rows/s)", n((report.rows as f64 / seconds) as u64))
    } else {
        String::new()
    };
    say!("imported {shown} into {id} in {seconds:.1} s{rate}");
    say!("  encoding     {}", report.encoding);
    say!("  rows         {:>9}", n(report.rows));
    say!("  imported     {:>9}", n(report.imported));
    say!(
        "  duplicates   {:>9}  (phone already in this campaign)",
        n(report.duplicates)
    );
    say!("  rejected     {:>9}", n(report.rejected.len()));
    if report.rejected.is_empty() {
        return Ok(());
    }
    let shown_count = report.rejected.len().min(SHOWN_REJECTS);
    say!();
    if report.rejected.len() > SHOWN_REJECTS {
        say!(
            "rejected rows (first {SHOWN_REJECTS} of {}; row numbers as in Excel, header = row 1):",
            n(report.rejected.len())
        );
    } else {
        say!("rejected rows (row numbers as in Excel, header = row 1):");
    }
    for r in report.rejected.iter().take(shown_count) {
        say!("  row {:>7}  {}", r.row, r.reason);
    }
    let more = report.rejected.len() - shown_count;
    match &rejects_file {
        Some(path) => say!(
            "all {} rejected rows written to {path}: fix them there and import that file again",
            n(report.rejected.len())
        ),
        None if more > 0 => say!("  … and {} more: `--rejects rejects.csv` writes them all", n(more)),
        None => {}
    }
    Ok(())
}
