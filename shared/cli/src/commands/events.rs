//! `mcamp events export CAMPAIGN [-o FILE]`.

use std::path::PathBuf;

use clap::Subcommand;
use mcamp_ops::export::export_events;

use super::campaign_id;
use crate::failure::Failure;
use crate::output::{self, CsvTarget, n};
use crate::{Global, backend};

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Write every event of a campaign, oldest first: at (KST), type, recipient_id,
    /// referrer_id, chain_head, detail (JSON). CSV, UTF-8 with BOM.
    Export {
        campaign: String,
        /// Write the CSV here (default: stdout).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

pub async fn run(g: &Global, cmd: EventsCommand) -> Result<(), Failure> {
    let EventsCommand::Export { campaign, output } = cmd;
    let id = campaign_id(&campaign)?;
    let target = CsvTarget::new(output);
    let db = backend::open(g).await?;
    let mut csv = Vec::new();
    let count = export_events(&db, &id, &mut csv).await?;
    target.write(&csv)?;
    let to_stderr = target.is_stdout();
    let written_to = match &target {
        CsvTarget::File(p) => p.display().to_string(),
        CsvTarget::Stdout => "stdout".into(),
    };
    let text = if g.json {
        format!(
            "{}\n",
            serde_json::json!({"campaign": id, "events": count, "output": written_to})
        )
    } else {
        format!("wrote {} events of {id} to {written_to}\n", n(count))
    };
    output::report(to_stderr, &text);
    Ok(())
}
