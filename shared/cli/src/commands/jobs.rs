//! `mcamp jobs sweep` sends again the jobs of claims pending too long (a lost send); `mcamp
//! jobs redrive` moves the coupon jobs of the dead-letter queue back to the queue once the
//! cause is fixed. In AWS the claim-sweeper function sweeps every 5 minutes.

use chrono::Utc;
use clap::Subcommand;
use mcamp_store::claims;
use serde_json::json;

use crate::failure::Failure;
use crate::output;
use crate::say;
use crate::{Global, backend};

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Send again the job of every claim pending longer than a minute.
    Sweep {
        /// Most claims a run.
        #[arg(long, default_value_t = 10_000)]
        limit: usize,
    },
    /// Move the jobs in the coupon queue's dead-letter queue back to the queue.
    Redrive {
        /// Most jobs to move.
        #[arg(long, default_value_t = 10_000)]
        max: usize,
    },
}

pub async fn run(g: &Global, cmd: JobsCommand) -> Result<(), Failure> {
    let (db, queue) = backend::open_with_queue(g).await?;
    let fail = |e: claims::ClaimError| Failure::Storage(mcamp_store::error_text(&e));
    match cmd {
        JobsCommand::Sweep { limit } => {
            let r = claims::sweep(&db, queue.as_ref(), Utc::now(), limit)
                .await
                .map_err(fail)?;
            if g.json {
                return output::json(&r);
            }
            say!(
                "pending claims older than a minute: {}; jobs sent again: {}",
                r.stale,
                r.resent
            );
        }
        JobsCommand::Redrive { max } => {
            let moved = claims::redrive_dead_letters(queue.as_ref(), max).await.map_err(fail)?;
            if g.json {
                return output::json(&json!({ "moved": moved }));
            }
            say!("moved {moved} jobs from the dead-letter queue back to the coupon queue");
        }
    }
    Ok(())
}
