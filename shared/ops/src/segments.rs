//! Running a campaign's segment: every person of the campaign whose journey matches the rule
//! now becomes a member (and so may claim the segment's coupon, once per customer). A run
//! reads each recipient once, a page at a time; members are written only if absent, so a
//! run repeated, or two at once, gives the same members.

use chrono::{DateTime, Utc};
use mcamp_core::analytics::Journey;
use mcamp_core::values::{CampaignId, RecipientId, SegmentId};
use mcamp_store::segments::Membership;
use mcamp_store::{Db, DbError, keys};
use serde::Serialize;

/// Recipients read at once.
const PAGE: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("unknown campaign '{0}' (`mcamp campaign list` shows the campaigns)")]
    UnknownCampaign(CampaignId),
    #[error("campaign '{campaign}' has no segment '{segment}' (its segments: {known})")]
    UnknownSegment {
        campaign: CampaignId,
        segment: SegmentId,
        known: String,
    },
    #[error("storage: {0}")]
    Db(#[from] DbError),
}

/// What a run found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SegmentRun {
    pub campaign: String,
    pub segment: String,
    /// The rule as it was evaluated (canonical form).
    pub rule: String,
    /// People of the campaign looked at.
    pub people: usize,
    /// Those the rule matches now.
    pub matched: usize,
    /// Of them, members for the first time (0 on a dry run).
    pub added: usize,
    /// Of them, members already.
    pub already: usize,
    pub dry_run: bool,
}

/// Evaluates `segment` over every person of `campaign` at `now`; with `dry_run`, writes nothing.
pub async fn run_segment(
    db: &Db,
    campaign: &CampaignId,
    segment: &SegmentId,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<SegmentRun, SegmentError> {
    let stored = db
        .campaign(campaign)
        .await?
        .ok_or_else(|| SegmentError::UnknownCampaign(campaign.clone()))?;
    let c = stored.campaign;
    let def = c.segment(segment).ok_or_else(|| SegmentError::UnknownSegment {
        campaign: campaign.clone(),
        segment: segment.clone(),
        known: if c.segments.is_empty() {
            "none".into()
        } else {
            c.segments
                .iter()
                .map(|s| s.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        },
    })?;
    let mut out = SegmentRun {
        campaign: campaign.to_string(),
        segment: segment.to_string(),
        rule: def.rule.to_string(),
        dry_run,
        ..SegmentRun::default()
    };
    for shard in 0..keys::SHARDS {
        let mut after: Option<RecipientId> = None;
        loop {
            let (people, next) = db.recipients_page(campaign, shard, after.as_ref(), PAGE).await?;
            let ids: Vec<RecipientId> = people.iter().map(|r| r.id.clone()).collect();
            let journeys = db.journeys_of(&ids).await?;
            for r in &people {
                out.people += 1;
                // Someone the aggregator has not seen yet has done nothing: an empty journey.
                let empty;
                let j = match journeys.get(&r.id) {
                    Some(j) => j,
                    None => {
                        empty = Journey::new(campaign.clone(), r.id.clone());
                        &empty
                    }
                };
                if !def.rule.matches(j, now) || r.erased_at.is_some() {
                    continue;
                }
                out.matched += 1;
                if dry_run {
                    continue;
                }
                let m = Membership {
                    campaign_id: campaign.clone(),
                    segment: segment.clone(),
                    recipient_id: r.id.clone(),
                    at: now,
                };
                if db.add_segment_member(&m).await? {
                    out.added += 1;
                } else {
                    out.already += 1;
                }
            }
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    Ok(out)
}
