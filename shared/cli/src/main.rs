//! `mcamp`: the marketer's command line. Checks and pushes campaign files, imports recipients,
//! builds the send list (ad-law checked), shows stats, exports events, adds stores, draws QR
//! codes. Works on the embedded store that `make run` uses, an emulator, or AWS.
//!
//! Exit codes: 0 ok, 1 the user's input is wrong (bad file, unknown campaign), 2 storage failed.

mod backend;
mod commands;
mod failure;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::failure::Failure;

#[derive(Parser)]
#[command(
    name = "mcamp",
    version,
    about = "mcamp: campaigns, recipients, send lists, stats and store keys for marketers",
    after_help = "Examples:\n  mcamp campaign push examples/demo/campaign.yaml\n  mcamp recipients import spring-demo 고객명단.csv\n  mcamp links export spring-demo --base-url https://go.brand.kr --send-at \"2026-03-02T10:00\" -o 발송.csv\n  mcamp report spring-demo"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Where the data is, and how to print.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Data file of the embedded store (the one `make run` uses). Stop `make run` first: the
    /// embedded store belongs to one process at a time, and a running gateway would neither see
    /// these changes nor keep its own.
    #[arg(
        long,
        global = true,
        env = "MCAMP_DATA",
        value_name = "PATH",
        default_value = ".data/mcamp.db"
    )]
    pub data: PathBuf,
    /// Use DynamoDB/SQS at this endpoint (an emulator such as moto; tables `mcamp-local-*`).
    #[arg(long, global = true, value_name = "URL", conflicts_with = "aws")]
    pub aws_endpoint: Option<String>,
    /// Use DynamoDB/SQS in your AWS account (names from MCAMP_MAIN_TABLE, MCAMP_EVENTS_TABLE).
    #[arg(long, global = true)]
    pub aws: bool,
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Check, push, list, show, pause and resume campaigns.
    #[command(subcommand)]
    Campaign(commands::campaign::CampaignCommand),
    /// Import recipients from a spreadsheet (CSV, UTF-8 or Korean Excel's CP949).
    #[command(subcommand)]
    Recipients(commands::recipients::RecipientsCommand),
    /// The send list: each recipient's ad with their personal link, checked against the ad law.
    #[command(subcommand)]
    Links(commands::links::LinksCommand),
    /// A campaign's numbers from the aggregator's counters: the funnel from sent to redeemed,
    /// clicks by day and hour, in-app browsers and bounce, coupons, stores, shares and the top
    /// sharers (text, --json, --csv FILE, --xlsx FILE).
    #[command(alias = "stats")]
    Report(commands::report::ReportArgs),
    /// A campaign's people with their stage, masked, filterable ("clicked-no-coupon",
    /// "coupon-not-redeemed"), a page at a time or all to a CSV/xlsx file.
    People(commands::report::PeopleArgs),
    /// Export a campaign's event log.
    #[command(subcommand)]
    Events(commands::events::EventsCommand),
    /// Stores that redeem coupons, and their API keys.
    #[command(subcommand)]
    Stores(commands::stores::StoresCommand),
    /// Draw a QR code of a link (SVG to stdout unless --png or --svg).
    Qr(commands::qr::QrArgs),
    /// M-Survey results: per question, by gender × age, NPS, drop-off (text, HTML, CSV).
    #[command(subcommand)]
    Survey(commands::survey::SurveyCommand),
    /// MCS store rating: store links and QR posters, the loyalty ranking with weekly trends.
    #[command(subcommand)]
    Mcs(commands::survey::McsCommand),
    /// A person's data: export or erase it on request; purge what retention no longer covers.
    #[command(subcommand)]
    Privacy(commands::privacy::PrivacyCommand),
    /// Delivery results: import the sender's result file as sent, delivered and failed events.
    #[command(subcommand)]
    Sends(commands::sends::SendsCommand),
    /// Brand-wide opt-outs: import the sender's 080 unsubscribe list.
    #[command(subcommand)]
    Suppress(commands::privacy::SuppressCommand),
    /// Segments: who a rule of the campaign file selects now becomes a member (and may claim
    /// the segment's coupon).
    #[command(subcommand)]
    Segments(commands::segments::SegmentsCommand),
    /// Follow-ups: run them now (each due person's message job on the send-message queue, once
    /// per customer) or write the send list of those they chose, for a sender without an adapter.
    #[command(subcommand, name = "follow-ups")]
    FollowUps(commands::follow_ups::FollowUpsCommand),
    /// Who may sign in to the console: add, list, disable, reset a password.
    #[command(subcommand)]
    Users(commands::users::UsersCommand),
    /// Coupon jobs: send again those of claims pending too long; redrive the dead letters.
    #[command(subcommand)]
    Jobs(commands::jobs::JobsCommand),
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let g = &cli.global;
    match cli.command {
        Command::Campaign(c) => commands::campaign::run(g, c).await,
        Command::Recipients(c) => commands::recipients::run(g, c).await,
        Command::Links(c) => commands::links::run(g, c).await,
        Command::Report(a) => commands::report::report(g, &a).await,
        Command::People(a) => commands::report::people(g, &a).await,
        Command::Events(c) => commands::events::run(g, c).await,
        Command::Stores(c) => commands::stores::run(g, c).await,
        Command::Qr(a) => commands::qr::run(g, &a),
        Command::Survey(c) => commands::survey::survey(g, c).await,
        Command::Mcs(c) => commands::survey::mcs(g, c).await,
        Command::Privacy(c) => commands::privacy::privacy(g, c).await,
        Command::Sends(c) => commands::sends::run(g, c).await,
        Command::Suppress(c) => commands::privacy::suppress(g, c).await,
        Command::Jobs(c) => commands::jobs::run(g, c).await,
        Command::Users(c) => commands::users::run(g, c).await,
        Command::Segments(c) => commands::segments::run(g, c).await,
        Command::FollowUps(c) => commands::follow_ups::run(g, c).await,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are not errors; a wrong command line is the user's (exit 1).
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return Failure::Storage(format!("cannot start: {e}")).report(json),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(json),
    }
}
