//! `mcamp sends import FILE --campaign ID --format nhn|solapi|sens|aligo|generic [--dry-run]
//! [--sent-at TIME]`: the sender console's result file as `message_sent`,
//! `message_delivered` and `message_failed` events, each recorded once however often it is
//! imported.

use std::path::PathBuf;

use clap::Subcommand;
use mcamp_core::sends::Sender;
use mcamp_ops::adlaw;
use mcamp_ops::sends::{MAX_FILE_BYTES, SendsError, SendsOptions, SendsReport, import_sends};

use super::{campaign_id, unknown_campaign};
use crate::failure::Failure;
use crate::output::{self, n};
use crate::say;
use crate::{Global, backend};

/// Rejected rows listed on screen (`--json` lists them all).
const SHOWN_REJECTS: usize = 20;

#[derive(Subcommand)]
pub enum SendsCommand {
    /// Import the result file your SMS sender's console exports after a send (CSV, UTF-8 or
    /// CP949): each row's recipient_id (NHN's recipientGroupingKey, Solapi's custom field, the
    /// column you kept for SENS and Aligo) and status become sent, delivered and failed events.
    /// Importing the same rows again, or a later file with their final results, writes
    /// nothing twice. Bad rows are listed by row number and write nothing.
    Import {
        file: PathBuf,
        /// The campaign the send list was exported from.
        #[arg(long)]
        campaign: String,
        /// Whose export: nhn, solapi, sens, aligo or generic.
        #[arg(long, default_value = "generic")]
        format: String,
        /// Read and report everything, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// When the messages were sent, in KST (2026-03-02T10:00), for a file without a
        /// request-time column.
        #[arg(long, value_name = "TIME")]
        sent_at: Option<String>,
    },
}

pub async fn run(g: &Global, cmd: SendsCommand) -> Result<(), Failure> {
    let SendsCommand::Import {
        file,
        campaign,
        format,
        dry_run,
        sent_at,
    } = cmd;
    let id = campaign_id(&campaign)?;
    let format = Sender::parse(&format).map_err(Failure::user)?;
    let sent_at = sent_at.map(|s| adlaw::parse_send_at(&s)).transpose()?;
    let shown = file.display().to_string();
    let input = std::fs::File::open(&file).map_err(|e| Failure::user(format!("{shown}: cannot read: {e}")))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return Err(Failure::user(format!(
            "{shown}: {} MB is over the {} MB a result file may have: split it",
            size / (1024 * 1024),
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    let db = backend::open(g).await?;
    let opts = SendsOptions {
        format,
        dry_run,
        sent_at,
    };
    let report = import_sends(&db, &id, &opts, input).await.map_err(|e| match e {
        SendsError::Db(d) => Failure::from(d),
        SendsError::UnknownCampaign(c) => unknown_campaign(&c),
        other => Failure::user(format!("{shown}: {other}")),
    })?;
    if g.json {
        return output::json(&serde_json::json!({ "file": shown, "report": &report }));
    }
    say!("{}", human(&shown, &report));
    Ok(())
}

fn human(file: &str, r: &SendsReport) -> String {
    let mut lines = vec![format!(
        "{file} ({}, {}) for campaign {}: {} rows{}",
        r.encoding,
        r.format.name(),
        r.campaign,
        n(r.rows),
        if r.dry_run { " (dry run: nothing written)" } else { "" }
    )];
    let verb = if r.dry_run { "to record" } else { "recorded" };
    lines.push(format!("  sent             {:>8} {verb}", n(r.sent)));
    lines.push(format!("  delivered        {:>8} {verb}", n(r.delivered)));
    let reasons: Vec<String> = r
        .failed
        .iter()
        .map(|(reason, count)| format!("{} {}", reason.as_str(), n(*count)))
        .collect();
    lines.push(format!(
        "  failed           {:>8} {verb}{}",
        n(r.failed_total()),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    ));
    lines.push(format!(
        "  already imported {:>8} events (recorded before; nothing written twice)",
        n(r.already_imported)
    ));
    if r.not_sent > 0 {
        lines.push(format!(
            "  not sent         {:>8} rows (cancelled or a duplicate at the sender)",
            n(r.not_sent)
        ));
    }
    lines.push(format!("  rejected         {:>8} rows", n(r.rejected.len())));
    for x in r.rejected.iter().take(SHOWN_REJECTS) {
        lines.push(format!("    row {}: {}", x.row, x.reason));
    }
    if r.rejected.len() > SHOWN_REJECTS {
        lines.push(format!(
            "    … and {} more (--json lists them all)",
            n(r.rejected.len() - SHOWN_REJECTS)
        ));
    }
    lines.join("\n")
}
