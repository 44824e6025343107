//! `mcamp links export CAMPAIGN [--format PRESET] [--base-url URL] [--send-at TIME]
//! [--allow-night] [-o FILE] [--notices FILE]`.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::Utc;
use clap::Subcommand;
use mcamp_ops::adlaw;

use mcamp_ops::export::{LinkExport, LinkExportOptions, MemoryParts, SendFormat, export_links};

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
        /// Write the CSV here (default: stdout). A preset's list longer than one batch is
        /// split into FILE-001.csv, FILE-002.csv, …
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// The sender's upload layout: generic, nhn, solapi, sens or aligo.
        #[arg(long, default_value = "generic", value_name = "PRESET")]
        format: String,
        /// Also write the notice list (not ads): a confirmation message with its link for each
        /// marketing consent given on a form and not yet confirmed, and the result notice of
        /// each opt-out of the last 14 days (정보통신망법 §50⑦, 시행령 §62의2).
        #[arg(long, value_name = "FILE")]
        notices: Option<PathBuf>,
        /// Only the members of this segment (`mcamp segments run` first), e.g. for its secret
        /// coupon's message.
        #[arg(long, value_name = "SEGMENT")]
        segment: Option<String>,
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
            format,
            notices,
            segment,
        } => {
            let format = SendFormat::parse(&format).map_err(Failure::user)?;
            let segment = segment
                .map(|s| mcamp_core::values::SegmentId::parse(&s))
                .transpose()
                .map_err(|e| Failure::user(e.to_string()))?;
            let list = ListOptions {
                send_at,
                allow_night,
                format,
                segment,
            };
            export(g, &campaign, base_url, list, output, notices).await
        }
    }
}

/// The files a list goes to: the path itself for one part, `name-001.csv`… for several.
fn part_paths(path: &std::path::Path, parts: usize) -> Vec<PathBuf> {
    if parts <= 1 {
        return vec![path.to_owned()];
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (1..=parts)
        .map(|n| path.with_file_name(format!("{stem}-{n:03}{ext}")))
        .collect()
}

/// Writes the parts of a list: to files, or all to stdout.
pub(crate) fn write_parts(target: &CsvTarget, parts: &[Vec<u8>]) -> Result<Vec<String>, Failure> {
    match target {
        CsvTarget::Stdout => {
            for p in parts {
                target.write(p)?;
            }
            Ok(Vec::new())
        }
        CsvTarget::File(path) => {
            let mut written = Vec::new();
            for (p, file) in parts.iter().zip(part_paths(path, parts.len())) {
                output::write_file(&file, p)?;
                written.push(file.display().to_string());
            }
            Ok(written)
        }
    }
}

pub(crate) fn base_url(given: Option<String>) -> Result<(String, bool), Failure> {
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

/// Who goes on the list, and when it is sent.
struct ListOptions {
    send_at: Option<String>,
    allow_night: bool,
    format: SendFormat,
    segment: Option<mcamp_core::values::SegmentId>,
}

async fn export(
    g: &Global,
    campaign: &str,
    base: Option<String>,
    list: ListOptions,
    output: Option<PathBuf>,
    notices: Option<PathBuf>,
) -> Result<(), Failure> {
    let ListOptions {
        send_at,
        allow_night,
        format,
        segment,
    } = list;
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
        format,
        segment,
    };
    let ads = MemoryParts::default();
    let notice_parts = MemoryParts::default();
    let report = export_links(
        &db,
        &id,
        &opts,
        ads.opener(),
        notices.as_ref().map(|_| notice_parts.opener()),
    )
    .await?;
    let files = write_parts(&target, &ads.take())?;
    let notice_files = match &notices {
        Some(path) => write_parts(&CsvTarget::File(path.clone()), &notice_parts.take())?,
        None => Vec::new(),
    };

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
            "files": files, "notice_files": notice_files,
        }))
        .map_err(|e| Failure::Storage(format!("printing JSON: {e}")))?;
        output::report(to_stderr, &format!("{text}\n"));
        return Ok(());
    }
    let mut text = human(&report, &base_url, local);
    for f in &files {
        let _ = writeln!(text, "wrote {f} (UTF-8 with BOM: opens in Excel as is)");
    }
    for f in &notice_files {
        let _ = writeln!(text, "wrote {f}: notices, not ads; send them as informational messages");
    }
    output::report(to_stderr, &text);
    Ok(())
}

fn human(r: &LinkExport, base_url: &str, local: bool) -> String {
    let mut s = String::new();
    let when = if r.night { "night: 21:00-08:00" } else { "daytime" };
    let _ = writeln!(
        s,
        "send list for {} at {} KST ({when}), {} layout",
        r.campaign,
        r.send_at_kst,
        r.format_name()
    );
    if let Some(seg) = &r.segment {
        let _ = writeln!(
            s,
            "  segment {seg}: {} members; {} others not listed",
            n(r.recipients),
            n(r.outside_segment)
        );
    }
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
    let _ = writeln!(s, "    opted out (brand)    {:>8}", n(e.suppressed));
    let _ = writeln!(
        s,
        "    not yet confirmed    {:>8}  (consent typed on a form; {} confirmation messages on the notice list)",
        n(e.unconfirmed),
        n(r.confirmations)
    );
    if e.duplicate > 0 {
        let _ = writeln!(s, "    same phone again     {:>8}", n(e.duplicate));
    }
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
    if r.opt_out_notices > 0 {
        let _ = writeln!(
            s,
            "  opt-out notices       {:>9}  (opt-outs of the last 14 days)",
            n(r.opt_out_notices)
        );
    }
    if r.names_replaced > 0 {
        let _ = writeln!(
            s,
            "note: {} names were not safe in an ad (a link, digits, hidden characters, too long) and went out as 고객",
            n(r.names_replaced)
        );
    }
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
