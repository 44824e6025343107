//! `mcamp campaign validate|push|list|show|pause|resume`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Subcommand;
use mcamp_core::campaign::{Campaign, CampaignStatus};
use mcamp_ops::adlaw::{self, AdMessage, AdTemplate, TemplateError};
use mcamp_ops::campaign_file;
use mcamp_store::DbError;
use serde::Serialize;
use serde_json::json;

use super::{campaign_id, stored_campaign, unknown_campaign};
use crate::failure::Failure;
use crate::output::{self, n};
use crate::say;
use crate::{Global, backend};

#[derive(Subcommand)]
pub enum CampaignCommand {
    /// Check a campaign file (YAML) without pushing it; errors name the field and the line.
    Validate { file: PathBuf },
    /// Check a campaign file and push it (all of it, or nothing).
    Push { file: PathBuf },
    /// List the campaigns.
    List,
    /// Show a campaign: status, sender, message as sent, coupons and stock.
    Show { campaign: String },
    /// Pause a campaign: its links show the ended-event page and take no coupon claims.
    Pause { campaign: String },
    /// Resume a paused campaign.
    Resume { campaign: String },
}

pub async fn run(g: &Global, cmd: CampaignCommand) -> Result<(), Failure> {
    match cmd {
        CampaignCommand::Validate { file } => validate(g, &file),
        CampaignCommand::Push { file } => push(g, &file).await,
        CampaignCommand::List => list(g).await,
        CampaignCommand::Show { campaign } => show(g, &campaign).await,
        CampaignCommand::Pause { campaign } => set_status(g, &campaign, CampaignStatus::Paused).await,
        CampaignCommand::Resume { campaign } => set_status(g, &campaign, CampaignStatus::Active).await,
    }
}

/// The link used to show a message's length before real links exist: the base URL from
/// `MCAMP_BASE_URL` (or a typical one) and a 10-character code.
fn sample_link() -> String {
    let base = mcamp_env::optional("MCAMP_BASE_URL").unwrap_or_else(|| "https://go.brand.kr".into());
    format!("{}/AbCdEfGhIj", base.trim_end_matches('/'))
}
const SAMPLE_NAME: &str = "홍길동";

/// The message as one recipient would get it; `None` when the campaign has no message.
fn sample(c: &Campaign, shown_path: &str) -> Result<Option<AdMessage>, Failure> {
    let template = match AdTemplate::new(c) {
        Ok(t) => t,
        Err(TemplateError::Missing) => return Ok(None),
        Err(e) => return Err(Failure::user(format!("{shown_path}: {e}"))),
    };
    template
        .render(Some(SAMPLE_NAME), &sample_link())
        .map(Some)
        .map_err(|e| Failure::user(format!("{shown_path}: message: {e}")))
}

/// Reads, parses and checks a campaign file, its message included.
fn check_file(path: &Path) -> Result<(Campaign, String, Option<AdMessage>), Failure> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Failure::user(format!("{shown}: cannot read: {e}")))?;
    let campaign = campaign_file::parse(&shown, &text)?;
    let message = sample(&campaign, &shown)?;
    Ok((campaign, text, message))
}

fn describe_message(m: &Option<AdMessage>) -> String {
    match m {
        None => "none (add `message:` before `mcamp links export`)".into(),
        Some(m) => format!(
            "{}, {} bytes with the name {SAMPLE_NAME} and a {}-character link",
            m.kind.as_str(),
            m.bytes,
            sample_link().chars().count()
        ),
    }
}

fn validate(g: &Global, file: &Path) -> Result<(), Failure> {
    let (c, _, message) = check_file(file)?;
    if g.json {
        return output::json(&json!({
            "file": file.display().to_string(), "ok": true, "campaign": c.id, "name": c.name,
            "coupons": c.coupons.len(),
            "message": message.as_ref().map(|m| json!({"sample": m.text, "bytes": m.bytes, "kind": m.kind})),
        }));
    }
    say!("ok  {}: campaign {} ({})", file.display(), c.id, c.name);
    say!("    coupons   {}", c.coupons.len());
    if let Some(line) = describe_survey(&c) {
        say!("    survey    {line}");
    }
    say!("    message   {}", describe_message(&message));
    Ok(())
}

/// `7 questions (2 branch), reward survey-americano` for a survey or MCS campaign.
fn describe_survey(c: &Campaign) -> Option<String> {
    let s = c.survey.as_ref()?;
    let branching = s
        .questions
        .iter()
        .filter(|q| !q.branch.is_empty() || q.next.is_some())
        .count();
    let mut line = format!("{} questions", s.questions.len());
    if branching > 0 {
        line.push_str(&format!(" ({branching} branch)"));
    }
    if let Some(r) = &s.reward {
        line.push_str(&format!(", reward {r}"));
    }
    if s.ask_demographics {
        line.push_str(", asks gender and age band when unknown");
    }
    Some(line)
}

/// Whether the file sets `status:` itself. When it does not, a push keeps the stored status,
/// so fixing a typo in a paused campaign does not resume it.
fn sets_status(text: &str) -> bool {
    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
        .ok()
        .is_some_and(|v| v.get("status").is_some())
}

#[derive(Serialize)]
struct Pushed {
    campaign: String,
    revision: i64,
    unchanged: bool,
    status: CampaignStatus,
    status_kept: bool,
    /// What the push does to people already in the A/B test or the learning offer.
    warnings: Vec<String>,
}

async fn push(g: &Global, file: &Path) -> Result<(), Failure> {
    let (mut c, text, message) = check_file(file)?;
    let db = backend::open(g).await?;
    let current = db.campaign(&c.id).await?;
    let mut status_kept = false;
    if let Some(cur) = &current
        && !sets_status(&text)
        && cur.campaign.status != c.status
    {
        c.status = cur.campaign.status;
        status_kept = true;
    }
    let (revision, unchanged) = match &current {
        Some(cur) if cur.campaign == c => (cur.revision, true),
        _ => (db.push_campaign(&c, Utc::now()).await?, false),
    };
    let warnings = current
        .as_ref()
        .map(|cur| c.experiment_warnings(&cur.campaign))
        .unwrap_or_default();
    let pushed = Pushed {
        campaign: c.id.to_string(),
        revision,
        unchanged,
        status: c.status,
        status_kept,
        warnings: warnings.clone(),
    };
    if g.json {
        return output::json(&pushed);
    }
    if unchanged {
        say!(
            "{}: unchanged, still revision {revision} ({})",
            c.id,
            status_label(c.status)
        );
        return Ok(());
    }
    say!("pushed {} ({}) as revision {revision}", c.id, c.name);
    say!(
        "  status    {}{}",
        status_label(c.status),
        if status_kept {
            " (kept: the file sets no status)"
        } else {
            ""
        }
    );
    say!("  coupons   {} (issued counts kept)", c.coupons.len());
    if let Some(line) = describe_survey(&c) {
        say!("  survey    {line}");
    }
    say!("  message   {}", describe_message(&message));
    for w in &warnings {
        say!("  warning   {w}");
    }
    Ok(())
}

fn status_label(s: CampaignStatus) -> &'static str {
    match s {
        CampaignStatus::Active => "active",
        CampaignStatus::Paused => "paused",
        CampaignStatus::Ended => "ended",
    }
}

async fn list(g: &Global) -> Result<(), Failure> {
    let db = backend::open(g).await?;
    let mut all = db.campaigns().await?;
    all.sort_by(|a, b| a.campaign.id.cmp(&b.campaign.id));
    let now = Utc::now();
    if g.json {
        let rows: Vec<_> = all
            .iter()
            .map(|s| {
                json!({
                    "id": s.campaign.id, "name": s.campaign.name, "status": s.campaign.status,
                    "live": s.campaign.is_live(now), "revision": s.revision, "updated_at": s.updated_at,
                })
            })
            .collect();
        return output::json(&rows);
    }
    if all.is_empty() {
        say!("no campaigns yet: push one with `mcamp campaign push FILE`");
        return Ok(());
    }
    let width = all
        .iter()
        .map(|s| s.campaign.id.as_str().len())
        .max()
        .unwrap_or(2)
        .max(2);
    say!(
        "{:<width$}  {:<7}  {:>4}  {:<16}  NAME",
        "ID",
        "STATUS",
        "REV",
        "UPDATED (KST)"
    );
    for s in &all {
        say!(
            "{:<width$}  {:<7}  {:>4}  {:<16}  {}",
            s.campaign.id.as_str(),
            status_label(s.campaign.status),
            s.revision,
            adlaw::format_kst(s.updated_at),
            s.campaign.name
        );
    }
    Ok(())
}

async fn show(g: &Global, id: &str) -> Result<(), Failure> {
    let id = campaign_id(id)?;
    let db = backend::open(g).await?;
    let stored = stored_campaign(&db, &id).await?;
    let c = &stored.campaign;
    let mut stock = Vec::new();
    for def in &c.coupons {
        let s = match db.coupon_stock(&id, &def.id).await {
            Ok(s) => s,
            Err(DbError::NotFound(_)) => (0, i64::from(def.stock)),
            Err(e) => return Err(e.into()),
        };
        stock.push(s);
    }
    let message = sample(c, "stored campaign").ok().flatten();
    let now = Utc::now();
    if g.json {
        let coupons: Vec<_> = c
            .coupons
            .iter()
            .zip(&stock)
            .map(|(d, (issued, total))| json!({"id": d.id, "title": d.title, "issued": issued, "stock": total}))
            .collect();
        return output::json(&json!({
            "campaign": c, "revision": stored.revision, "updated_at": stored.updated_at,
            "live": c.is_live(now), "stock": coupons,
            "message_sample": message.as_ref().map(|m| json!({"text": m.text, "bytes": m.bytes, "kind": m.kind})),
        }));
    }
    let mut out = String::new();
    let _ = writeln!(out, "{}  {}", c.id, c.name);
    let live = if c.is_live(now) {
        "links work now"
    } else {
        "links do not work now"
    };
    let _ = writeln!(out, "  status    {} ({live})", status_label(c.status));
    let _ = writeln!(
        out,
        "  revision  {}, pushed {} KST",
        stored.revision,
        adlaw::format_kst(stored.updated_at)
    );
    let window = match (c.starts_at, c.ends_at) {
        (None, None) => "no start or end".to_owned(),
        (s, e) => format!(
            "{} – {} KST",
            s.map(adlaw::format_kst).unwrap_or_default(),
            e.map(adlaw::format_kst).unwrap_or_default()
        ),
    };
    let _ = writeln!(out, "  window    {window}");
    let _ = writeln!(out, "  sender    {}, opt-out {}", c.sender.brand, c.sender.opt_out_080);
    match &message {
        Some(m) => {
            let _ = writeln!(
                out,
                "  message   {}\n            = {}, {} bytes in EUC-KR (sample for {SAMPLE_NAME})",
                m.text.replace('\n', "\n            "),
                m.kind.as_str(),
                m.bytes
            );
        }
        None => {
            let _ = writeln!(out, "  message   {}", describe_message(&None));
        }
    }
    let _ = writeln!(out, "  form      {}", if c.form.is_some() { "yes" } else { "no" });
    if c.coupons.is_empty() {
        let _ = writeln!(out, "  coupons   none");
    }
    for (i, (d, (issued, total))) in c.coupons.iter().zip(&stock).enumerate() {
        let _ = writeln!(
            out,
            "  {}  {}  {} ({})  issued {} of {}",
            if i == 0 { "coupons " } else { "        " },
            d.id,
            d.title,
            d.benefit.label_ko(),
            n(*issued),
            n(*total)
        );
    }
    crate::output::print_str(&out);
    Ok(())
}

async fn set_status(g: &Global, id: &str, status: CampaignStatus) -> Result<(), Failure> {
    let id = campaign_id(id)?;
    let db = backend::open(g).await?;
    match db.set_campaign_status(&id, status, Utc::now()).await {
        Err(DbError::NotFound(_)) => return Err(unknown_campaign(&id)),
        other => other?,
    }
    if g.json {
        return output::json(&json!({"campaign": id, "status": status}));
    }
    match status {
        CampaignStatus::Paused => say!(
            "{id} paused: its links and pages now answer with the ended-event page (종료된 이벤트예요) and take no new coupon claims; running functions notice within their campaign cache time (30 s by default)"
        ),
        _ => say!("{id} active again: its links work"),
    }
    Ok(())
}
