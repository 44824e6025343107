//! `mcamp stores add ID NAME [--replace-key]`.

use chrono::Utc;
use clap::Subcommand;
use mcamp_core::values::StoreId;
use mcamp_ops::stores::add_store;
use serde_json::json;

use crate::failure::Failure;
use crate::output;
use crate::say;
use crate::{Global, backend};

#[derive(Subcommand)]
pub enum StoresCommand {
    /// Add a store that redeems coupons and print its API key (shown once; only a hash is kept).
    Add {
        /// Store id, e.g. gangnam-01 (a-z, 0-9, '-').
        id: String,
        /// Store name, e.g. 강남점.
        name: String,
        /// Give an existing store a new key; its old key stops working.
        #[arg(long)]
        replace_key: bool,
    },
}

pub async fn run(g: &Global, cmd: StoresCommand) -> Result<(), Failure> {
    let StoresCommand::Add { id, name, replace_key } = cmd;
    let id = StoreId::parse(&id)?;
    let db = backend::open(g).await?;
    let key = add_store(&db, &id, &name, replace_key, Utc::now()).await?;
    if g.json {
        return output::json(&json!({"store": id, "name": name.trim(), "api_key": key}));
    }
    let verb = if replace_key { "has a new key" } else { "added" };
    say!("store {id} ({}) {verb}.", name.trim());
    say!("API key, shown only this once (mcamp keeps only its hash):");
    say!();
    say!("    {key}");
    say!();
    say!(
        "Give it to the store's redeem screen or POS. Lost it? `mcamp stores add {id} '{}' --replace-key` issues a new one.",
        name.trim()
    );
    Ok(())
}
