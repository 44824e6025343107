//! `mcamp links export CAMPAIGN [--base-url URL] [--send-at TIME] [--allow-night] [-o FILE]`.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::Utc;
use clap::Subcommand;
use mcamp_ops::adlaw;
use mcamp_ops::export::{LinkExport, LinkExportOptions, export_links};

use super::campaign_id;
use crate::failure::Failure;
use crate::output::{self, CsvTarget, n};
use crate::{Global, backend};

/// Links point here unless `--base-url` or `MCAMP_BASE_URL` says otherwise: the local gateway.
const LOCAL_BASE_URL: &str = "http://127.0.0.1:3000";

#[derive(Subcommand)]
pub enum LinksCommand {
    /// Write the send list: phone, name, message (with "(광고)", brand, link and 080 opt-out),
    /// EUC-KR bytes, SMS/LMS, and whether consent needs reconfirming. CSV, UTF-8 with BOM.
    Export {
        campaign: String,
        /// Public base of the short links, e.g. https://go.brand.kr.
        #[arg(long, env = "MCAMP_BASE_URL", value_name = "URL")]
        base_url: Option<String>,
        /// When the messages go out, in KST, e.g. "2026-03-02T10:00" (default: now).
        #[arg(long, value_name = "TIME")]
        send_at: Option<String>,
        /// At a night send time (21:00-08:00 KST), include recipients without night consent.
        #[arg(long)]
        allow_night: bool,
        /// Write the CSV here (default: stdout).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

pub async fn run(g: &Global, cmd: LinksCommand) -> Result<(), Failure> {
    match cmd {
        LinksCommand::Export {
            campaign,
            base_url,
            send_at,
            allow_night,
            output,
        } => export(g, &campaign, base_url, send_at, allow_night, output).await,
    }
}

fn base_url(given: Option<String>) -> Result<(String, bool), Failure> {
    let Some(url) = given else {
        return Ok((LOCAL_BASE_URL.to_owned(), true));
    };
    let url = url.trim().trim_end_matches('/').to_owned();
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            let local = host.starts_with("127.") || host.starts_with("localhost");
            Ok((url, local))
        }
        _ => Err(Failure::user(format!(
            "base URL '{url}' must look like https://go.brand.kr"
        ))),
    }
}

async fn export(
    g: &Global,
    campaign: &str,
    base: Option<String>,
    send_at: Option<String>,
    allow_night: bool,
    output: Option<PathBuf>,
) -> Result<(), Failure> {
    let id = campaign_id(campaign)?;
    let (base_url, local) = base_url(base)?;
    let send_at = match send_at {
        Some(s) => adlaw::parse_send_at(&s)?,
        None => Utc::now(),
    };
    let target = CsvTarget::new(output);
    let db = backend::open(g).await?;
    let opts = LinkExportOptions {
        base_url: base_url.clone(),
        send_at,
        allow_night,
    };
    let mut csv = Vec::new();
    let report = export_links(&db, &id, &opts, &mut csv).await?;
    target.write(&csv)?;

    if allow_night && report.night {
        eprintln!(
            "WARNING: --allow-night: THE SEND TIME {} KST IS IN THE NIGHT WINDOW (21:00-08:00). {} {} WITHOUT NIGHT-TIME AD CONSENT {} IN THIS LIST. SENDING THEM ADS AT NIGHT IS AGAINST THE LAW (정보통신망법 §50) UNLESS THEY SEPARATELY AGREED TO NIGHT ADS.",
            report.send_at_kst,
            n(report.night_override),
            if report.night_override == 1 {
                "RECIPIENT"
            } else {
                "RECIPIENTS"
            },
            if report.night_override == 1 { "IS" } else { "ARE" },
        );
    }
    let to_stderr = target.is_stdout();
    if g.json {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "report": &report, "base_url": base_url,
            "output": match &target { CsvTarget::File(p) => Some(p.display().to_string()), CsvTarget::Stdout => None },
        }))
        .map_err(|e| Failure::Storage(format!("printing JSON: {e}")))?;
        output::report(to_stderr, &format!("{text}\n"));
        return Ok(());
    }
    let mut text = human(&report, &base_url, local);
    if let CsvTarget::File(p) = &target {
        let _ = writeln!(text, "wrote {} (UTF-8 with BOM: opens in Excel as is)", p.display());
    }
    output::report(to_stderr, &text);
    Ok(())
}

fn human(r: &LinkExport, base_url: &str, local: bool) -> String {
    let mut s = String::new();
    let when = if r.night { "night: 21:00-08:00" } else { "daytime" };
    let _ = writeln!(s, "send list for {} at {} KST ({when})", r.campaign, r.send_at_kst);
    let _ = writeln!(s, "  recipients            {:>9}", n(r.recipients));
    let _ = writeln!(
        s,
        "  in the list           {:>9}  (SMS {}, LMS {}; longest {} bytes)",
        n(r.exported),
        n(r.sms),
        n(r.lms),
        r.max_bytes
    );
    let e = &r.excluded;
    let _ = writeln!(s, "  left out              {:>9}", n(e.total()));
    let _ = writeln!(s, "    no marketing consent {:>8}", n(e.no_marketing_consent));
    let _ = writeln!(s, "    opted out            {:>8}", n(e.opted_out));
    if e.no_phone > 0 {
        let _ = writeln!(s, "    no phone number      {:>8}", n(e.no_phone));
    }
    if r.night {
        let kept = if r.night_override > 0 {
            format!("  ({} kept in by --allow-night)", n(r.night_override))
        } else {
            String::new()
        };
        let _ = writeln!(s, "    night, no consent    {:>8}{kept}", n(e.night_without_consent));
    }
    let _ = writeln!(
        s,
        "  reconfirm consent     {:>9}  (consent 2+ years old: reconfirm_consent = Y)",
        n(r.reconfirm_consent)
    );
    if r.brand_inserted {
        let _ = writeln!(
            s,
            "note: the message did not name the brand, so \"[brand] \" was added after (광고)"
        );
    }
    if !r.unmappable.is_empty() {
        let _ = writeln!(
            s,
            "warning: {} messages have characters EUC-KR cannot send ({}); phones show ? instead, counted as 2 bytes each",
            n(r.unmappable_messages),
            r.unmappable.join(" ")
        );
    }
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    if local {
        let _ = writeln!(
            s,
            "note: links point at {base_url}; pass --base-url https://go.brand.kr (or set MCAMP_BASE_URL) for a real send"
        );
    }
    s
}
