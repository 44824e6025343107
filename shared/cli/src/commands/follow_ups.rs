//! `mcamp follow-ups run CAMPAIGN [FOLLOW_UP] [--dry-run]`: the follow-ups' due people get
//! their step's `send_message` job on the send-message queue (once per customer);
//! `mcamp follow-ups send-list CAMPAIGN FOLLOW_UP --preset P [-o FILE]`: the same people and
//! messages as a sender's upload file, for a sender without an adapter.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::Utc;
use clap::Subcommand;
use mcamp_ops::adlaw;
use mcamp_ops::export::{MemoryParts, SendFormat};
use mcamp_ops::follow_ups::{
    FollowUpError, FollowUpRun, FollowUpSendList, RunOptions, SendListOptions, run_follow_up, write_send_list,
};

use super::campaign_id;
use super::links::{base_url, write_parts};
use crate::failure::Failure;
use crate::output::{self, CsvTarget, n};
use crate::{Global, backend};

#[derive(Subcommand, Debug)]
pub enum FollowUpsCommand {
    /// Run a campaign's follow-ups now (all, or the one named): each due person's job goes on
    /// the send-message queue, once per customer.
    Run {
        /// Campaign id, e.g. spring-demo.
        campaign: String,
        /// Follow-up id from the campaign file's `follow_ups:` (default: all of them).
        follow_up: Option<String>,
        /// Count who is due and would get a job; write and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Public base of the short links, e.g. https://go.brand.kr.
        #[arg(long, env = "MCAMP_BASE_URL", value_name = "URL")]
        base_url: Option<String>,
    },
    /// Write the send list of those a follow-up chose (`follow-ups run` first), each with their
    /// step's message: CSV in the sender's upload layout, UTF-8 with BOM.
    SendList {
        campaign: String,
        follow_up: String,
        /// The sender's upload layout: generic, nhn, solapi, sens or aligo.
        #[arg(long, default_value = "generic", value_name = "PRESET")]
        preset: String,
        /// When the messages go out, in KST, e.g. "2026-03-02T10:00" (default: now); must be
        /// within the follow-up's send hours.
        #[arg(long, value_name = "TIME")]
        send_at: Option<String>,
        #[arg(long, env = "MCAMP_BASE_URL", value_name = "URL")]
        base_url: Option<String>,
        /// Write the CSV here (default: stdout); a list longer than the preset's batch is split
        /// into FILE-001.csv, FILE-002.csv, …
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

impl From<FollowUpError> for Failure {
    fn from(e: FollowUpError) -> Self {
        match e {
            FollowUpError::Db(d) => d.into(),
            FollowUpError::Export(x) => x.into(),
            e @ FollowUpError::Queue(_) => Failure::Storage(mcamp_app::error_chain(&e)),
            other => Failure::User(other.to_string()),
        }
    }
}

pub async fn run(g: &Global, c: FollowUpsCommand) -> Result<(), Failure> {
    match c {
        FollowUpsCommand::Run {
            campaign,
            follow_up,
            dry_run,
            base_url: base,
        } => {
            let id = campaign_id(&campaign)?;
            let (base_url, _) = base_url(base)?;
            let (db, queue) = backend::open_with_queue(g).await?;
            let which: Vec<String> = match follow_up {
                Some(f) => vec![f],
                None => {
                    let stored = super::stored_campaign(&db, &id).await?;
                    stored.campaign.follow_ups.iter().map(|f| f.id.to_string()).collect()
                }
            };
            let opts = RunOptions { base_url, dry_run };
            let now = Utc::now();
            let mut runs = Vec::new();
            for f in &which {
                runs.push(run_follow_up(&db, queue.as_ref(), &id, f, now, &opts).await?);
            }
            if g.json {
                return output::json(&runs);
            }
            if runs.is_empty() {
                output::report(false, &format!("campaign {id} has no follow-ups\n"));
            }
            for r in &runs {
                output::report(false, &human(r));
            }
            Ok(())
        }
        FollowUpsCommand::SendList {
            campaign,
            follow_up,
            preset,
            send_at,
            base_url: base,
            out,
        } => {
            let id = campaign_id(&campaign)?;
            let format = SendFormat::parse(&preset).map_err(Failure::user)?;
            let (base_url, _) = base_url(base)?;
            let send_at = match send_at {
                Some(s) => adlaw::parse_send_at(&s)?,
                None => Utc::now(),
            };
            let target = CsvTarget::new(out);
            let db = backend::open(g).await?;
            let parts = MemoryParts::default();
            let opts = SendListOptions {
                base_url,
                send_at,
                format,
            };
            let list = write_send_list(&db, &id, &follow_up, &opts, parts.opener()).await?;
            let files = write_parts(&target, &parts.take())?;
            let to_stderr = target.is_stdout();
            if g.json {
                let text = serde_json::to_string_pretty(&serde_json::json!({ "report": &list, "files": files }))
                    .map_err(|e| Failure::Storage(format!("printing JSON: {e}")))?;
                output::report(to_stderr, &format!("{text}\n"));
                return Ok(());
            }
            let mut text = list_human(&list);
            for f in &files {
                let _ = writeln!(text, "wrote {f} (UTF-8 with BOM: opens in Excel as is)");
            }
            output::report(to_stderr, &text);
            Ok(())
        }
    }
}

fn human(r: &FollowUpRun) -> String {
    let mut s = format!(
        "follow-up {} of {} ({})\n",
        r.follow_up,
        r.campaign,
        if r.ad { "ad" } else { "notice" }
    );
    let _ = writeln!(s, "  people looked at   {:>9}", n(r.people));
    let _ = writeln!(s, "  due now            {:>9}", n(r.due));
    for (i, k) in r.by_step.iter().enumerate() {
        let _ = writeln!(s, "    step {}           {:>9}", i + 1, n(*k));
    }
    let sent = if r.dry_run { "would be sent" } else { "jobs sent" };
    let _ = writeln!(s, "  {sent:<18} {:>9}", n(r.sent));
    if r.resent > 0 {
        let _ = writeln!(
            s,
            "  sent again         {:>9}  (an earlier run's, same job id)",
            n(r.resent)
        );
    }
    let _ = writeln!(
        s,
        "  had it already     {:>9}  (an earlier run, or the same customer)",
        n(r.already)
    );
    let k = &r.skipped;
    let _ = writeln!(s, "  skipped            {:>9}", n(k.total()));
    let _ = writeln!(s, "    no phone           {:>7}", n(k.no_phone));
    let _ = writeln!(s, "    opted out (brand)  {:>7}", n(k.suppressed));
    let _ = writeln!(
        s,
        "    not confirmed      {:>7}  (phone typed on a form, never confirmed)",
        n(k.unconfirmed)
    );
    let _ = writeln!(s, "    no consent         {:>7}", n(k.no_consent));
    if let Some(at) = r.not_before {
        let _ = writeln!(s, "  not before         {} KST", adlaw::format_kst(at));
    }
    if r.dry_run {
        s.push_str("  (dry run: nothing written or sent)\n");
    }
    s
}

fn list_human(l: &FollowUpSendList) -> String {
    let mut s = format!(
        "send list of follow-up {} of {} at {} KST, {} layout\n",
        l.follow_up,
        l.campaign,
        l.send_at_kst,
        l.format.name()
    );
    let _ = writeln!(s, "  chosen by the follow-up {:>6}", n(l.chosen));
    let _ = writeln!(
        s,
        "  in the list             {:>6}  (longest {} bytes)",
        n(l.rows),
        l.max_bytes
    );
    for (i, k) in l.by_step.iter().enumerate() {
        let _ = writeln!(s, "    step {}                {:>6}", i + 1, n(*k));
    }
    let _ = writeln!(
        s,
        "  left out since          {:>6}  (opted out, unconfirmed or no consent now)",
        n(l.skipped.total())
    );
    s
}
