//! `mcamp segments run CAMPAIGN SEGMENT [--dry-run]`: who the segment's rule selects now; they
//! become members, and may claim the segment's coupon once per customer.

use clap::Subcommand;
use mcamp_core::values::SegmentId;
use mcamp_ops::segments::{SegmentError, SegmentRun, run_segment};

use super::campaign_id;
use crate::failure::Failure;
use crate::output::{self, n};
use crate::{Global, backend};

#[derive(Subcommand, Debug)]
pub enum SegmentsCommand {
    /// Evaluate a segment's rule over the campaign's people now and add the new members.
    Run {
        /// Campaign id, e.g. spring-demo.
        campaign: String,
        /// Segment id from the campaign file's `segments:`.
        segment: String,
        /// Count who would be members; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

impl From<SegmentError> for Failure {
    fn from(e: SegmentError) -> Self {
        match e {
            SegmentError::Db(d) => d.into(),
            other => Failure::User(other.to_string()),
        }
    }
}

pub async fn run(g: &Global, c: SegmentsCommand) -> Result<(), Failure> {
    match c {
        SegmentsCommand::Run {
            campaign,
            segment,
            dry_run,
        } => {
            let id = campaign_id(&campaign)?;
            let segment = SegmentId::parse(&segment).map_err(|e| Failure::user(e.to_string()))?;
            let db = backend::open(g).await?;
            let r = run_segment(&db, &id, &segment, chrono::Utc::now(), dry_run).await?;
            if g.json {
                return output::json(&r);
            }
            output::report(false, &human(&r));
            Ok(())
        }
    }
}

fn human(r: &SegmentRun) -> String {
    let mut s = format!("segment {} of {}: {}\n", r.segment, r.campaign, r.rule);
    s.push_str(&format!("  people looked at   {:>9}\n", n(r.people)));
    s.push_str(&format!("  matching now       {:>9}\n", n(r.matched)));
    if r.dry_run {
        s.push_str("  (dry run: nothing written)\n");
    } else {
        s.push_str(&format!("  new members        {:>9}\n", n(r.added)));
        s.push_str(&format!("  members already    {:>9}\n", n(r.already)));
    }
    s
}
