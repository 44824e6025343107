//! `mcamp privacy export|erase --phone NUMBER [--brand ID]` answers a data subject's request
//! (PIPA §35 access, §36 erasure) in one command; `mcamp privacy purge` erases what the
//! campaigns' retention promises no longer cover (the scheduled job does the same).
//! `mcamp suppress import FILE --format nhn|sens|generic` imports the sender's 080 list.

use std::path::PathBuf;

use chrono::Utc;
use clap::Subcommand;
use mcamp_core::values::{BrandId, PhoneNumber};
use mcamp_ops::unsubscribe::{UnsubscribeFormat, import_unsubscribes};
use serde_json::json;

use crate::failure::Failure;
use crate::output;
use crate::say;
use crate::{Global, backend};

#[derive(Subcommand)]
pub enum PrivacyCommand {
    /// Print everything kept about the person with this phone (JSON): their customer record,
    /// consent ledger, recipient records in every campaign, survey responses.
    Export {
        #[arg(long, value_name = "NUMBER")]
        phone: String,
        /// The brand (sender.brand_id of its campaigns).
        #[arg(long, default_value = "default")]
        brand: String,
    },
    /// Erase the person's name, phone, birth year, region and free-text answers in every
    /// campaign of the brand. Counts, events and the hashed consent ledger stay.
    Erase {
        #[arg(long, value_name = "NUMBER")]
        phone: String,
        #[arg(long, default_value = "default")]
        brand: String,
    },
    /// Erase what the ended campaigns' retention no longer covers (run on a schedule in AWS).
    Purge,
}

#[derive(Subcommand)]
pub enum SuppressCommand {
    /// Import the 080 unsubscribe list exported from the sender's console: every number stops
    /// getting ads from the brand, in every campaign. Bad rows are listed and change nothing.
    Import {
        file: PathBuf,
        /// Whose export: nhn, sens or generic (a phone column).
        #[arg(long, default_value = "generic")]
        format: String,
        #[arg(long, default_value = "default")]
        brand: String,
    },
}

async fn person(
    g: &Global,
    phone: &str,
    brand: &str,
) -> Result<(BrandId, mcamp_core::customer::CustomerKey, PhoneNumber), Failure> {
    let brand = BrandId::parse(brand)?;
    let phone = PhoneNumber::parse(phone)?;
    let key = backend::phone_key(g).await?.customer_key(&brand, &phone);
    Ok((brand, key, phone))
}

pub async fn privacy(g: &Global, cmd: PrivacyCommand) -> Result<(), Failure> {
    let db = backend::open(g).await?;
    match cmd {
        PrivacyCommand::Export { phone, brand } => {
            let (brand, key, phone) = person(g, &phone, &brand).await?;
            let data = db.personal_data(&brand, &key).await?.ok_or_else(|| {
                Failure::user(format!(
                    "no customer of brand {brand} has the number {}",
                    phone.masked()
                ))
            })?;
            output::json(&data)
        }
        PrivacyCommand::Erase { phone, brand } => {
            let (brand, key, phone) = person(g, &phone, &brand).await?;
            let erased = db.erase_person(&brand, &key, Utc::now()).await?.ok_or_else(|| {
                Failure::user(format!(
                    "no customer of brand {brand} has the number {}",
                    phone.masked()
                ))
            })?;
            if g.json {
                return output::json(&json!({"brand": brand, "phone": phone.masked(), "recipients_erased": erased}));
            }
            say!(
                "erased {} and {erased} recipient records of brand {brand}",
                phone.masked()
            );
            say!("kept: counts, events (ids only) and the consent ledger (hashed key, no number)");
            Ok(())
        }
        PrivacyCommand::Purge => {
            let report = db.purge(Utc::now()).await?;
            if g.json {
                return output::json(&report);
            }
            say!(
                "campaigns past their retention: {}; recipients erased: {}; customers erased: {}; kept by a standing consent or another campaign: {}",
                report.campaigns,
                report.recipients_erased,
                report.customers_erased,
                report.customers_kept
            );
            Ok(())
        }
    }
}

pub async fn suppress(g: &Global, cmd: SuppressCommand) -> Result<(), Failure> {
    let SuppressCommand::Import { file, format, brand } = cmd;
    let format = UnsubscribeFormat::parse(&format).map_err(Failure::user)?;
    let brand = BrandId::parse(&brand)?;
    let shown = file.display().to_string();
    let input = std::fs::File::open(&file).map_err(|e| Failure::user(format!("{shown}: cannot read: {e}")))?;
    let key = backend::phone_key(g).await?;
    let db = backend::open(g).await?;
    let report = import_unsubscribes(&db, &brand, &key, format, input, Utc::now())
        .await
        .map_err(|e| match e {
            mcamp_ops::unsubscribe::UnsubscribeError::Db(d) => Failure::from(d),
            other => Failure::user(format!("{shown}: {other}")),
        })?;
    if g.json {
        return output::json(&report);
    }
    say!(
        "{shown} ({}): {} rows, {} numbers suppressed for brand {brand}, {} already, {} rejected",
        report.encoding,
        report.rows,
        report.suppressed,
        report.already_suppressed,
        report.rejected.len()
    );
    for r in report.rejected.iter().take(20) {
        say!("  row {}: {}", r.row, r.reason);
    }
    Ok(())
}
