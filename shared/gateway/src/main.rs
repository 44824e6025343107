//! `mcamp-gateway`: the local gateway. Serves every HTTP function on 127.0.0.1:3000 (`PORT`
//! overrides) over the embedded store (default, kept in `.data/`) or DynamoDB/SQS, seeds the
//! demo campaign and prints each demo recipient's link.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use mcamp_app::App;
use mcamp_app::backend::{self, Backend};
use mcamp_core::customer::PhoneKey;
use mcamp_http::{Site, Web};

#[derive(Parser)]
#[command(about = "mcamp local gateway: every HTTP function on one port")]
struct Args {
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    /// Data file of the embedded store.
    #[arg(long, default_value = ".data/mcamp.db")]
    data: PathBuf,
    /// Use DynamoDB/SQS at this endpoint (an emulator such as moto) instead of the embedded store.
    #[arg(long, conflicts_with = "aws")]
    aws_endpoint: Option<String>,
    /// Use DynamoDB/SQS in your AWS account (names from MCAMP_MAIN_TABLE etc.).
    #[arg(long)]
    aws: bool,
    /// Demo folders to seed (campaign.yaml, recipients.csv, stores.yaml); repeat for several.
    #[arg(long)]
    seed: Vec<PathBuf>,
    /// With --aws: seed the demo stores' published keys into a real account anyway (for a
    /// throw-away stack only; existing stores always keep their keys).
    #[arg(long)]
    allow_demo_keys: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let args = Args::parse();
    if args.aws && !args.seed.is_empty() && !args.allow_demo_keys {
        anyhow::bail!(
            "refusing to seed demos into a real AWS account: their stores' keys are published in the \
             repository. Use a local store or an emulator, or pass --allow-demo-keys for a throw-away stack."
        );
    }
    if let Some(dir) = args.data.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let base = format!("http://127.0.0.1:{}", args.port);
    let opened = backend::open(&Backend::from_flags(
        args.aws,
        args.aws_endpoint.clone(),
        args.data.clone(),
    ))
    .await
    .map_err(|e| anyhow::anyhow!(mcamp_app::error_chain(&e)))?;
    let store_name = opened.description;
    let feed = opened.feed;
    let app = App::new(opened.table, opened.queue).with_campaign_cache(Duration::from_secs(1));
    let secret = backend::local_key(&args.data, "MCAMP_SECRET", "secret").context("the local secret")?;
    let phone_key = backend::local_key(&args.data, "MCAMP_PHONE_KEY", "phone-key")
        .context("the local phone key")
        .and_then(|k| PhoneKey::parse(&k).map_err(anyhow::Error::from))?;
    let console_keys = backend::local_key(&args.data, "MCAMP_CONSOLE_KEYS", "console-keys")
        .context("the local console session keys")
        .and_then(|k| mcamp_http::session::SessionKeys::parse(&k).map_err(anyhow::Error::from))?;
    let web = Web::new(
        app.clone(),
        Site::local(&base, &secret, phone_key.clone())
            .with_local_webhook_secrets()
            .with_console_keys(console_keys),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    println!("mcamp local gateway on {base} ({store_name})");
    for dir in &args.seed {
        let seeded = mcamp_ops::seed::seed_dir(&app.db, dir, &phone_key, app.now())
            .await
            .with_context(|| format!("seeding {}", dir.display()))?;
        println!(
            "\nDemo campaign {} ({}): open a link on your phone or browser",
            seeded.title, seeded.campaign
        );
        for (name, phone, code) in &seeded.recipients {
            println!("  {name:<8} {phone:<15} {base}/{code}");
        }
        for (store, name, code) in &seeded.store_links {
            println!("  {name} ({store}) poster link: {base}/{code}");
        }
        for (store, key) in &seeded.stores {
            println!("\n  Store {store} redeems a coupon with:");
            println!(
                "    curl -X POST {base}/api/stores/{store}/redeem -H 'Authorization: Bearer {key}' -d '{{\"code\":\"<coupon code>\"}}'"
            );
        }
        println!();
    }
    println!("Console: {base}/console (add a user with `mcamp users add you@brand.kr --role admin`)");
    mcamp_gateway::spawn_consumers(app.clone());
    match feed {
        Some(feed) => drop(mcamp_gateway::spawn_aggregator(app.clone(), feed)),
        None => println!(
            "Note: no change feed on this backend, so nothing counts events here: `mcamp report` shows what the aggregator counted in AWS."
        ),
    }
    mcamp_gateway::spawn_sweeper(app.clone(), Duration::from_secs(30));
    let settings = mcamp_actions::Settings { base_url: base.clone() };
    mcamp_gateway::spawn_actions(app.clone(), settings, Duration::from_secs(300));
    let outbox_path = args.data.with_file_name("outbox.jsonl");
    let outbox = mcamp_gateway::Outbox::open(outbox_path.clone())
        .with_context(|| format!("reading {}", outbox_path.display()))?;
    println!("Follow-up messages (send_message jobs) go to {}", outbox_path.display());
    mcamp_gateway::spawn_outbox(app.clone(), outbox);
    mcamp_gateway::spawn_purge(app, Duration::from_secs(3600));
    mcamp_gateway::serve(web, listener).await?;
    Ok(())
}
