//! Running a campaign's segment: every person of the campaign whose journey matches the rule
//! now becomes a member (and so may claim the segment's coupon, once per customer). A run
//! reads each recipient once, a page at a time; members are written only if absent, so a
//! run repeated, or two at once, gives the same members.

use chrono::{DateTime, Utc};
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
            let (people, next) = db.people_page(campaign, shard, after.as_ref(), PAGE).await?;
            let mut matching = Vec::new();
            for (r, j) in &people {
                out.people += 1;
                if !def.rule.matches(j, now) || r.erased_at.is_some() {
                    continue;
                }
                out.matched += 1;
                matching.push(r.id.clone());
            }
            if !dry_run && !matching.is_empty() {
                let (added, already) = add_members(db, campaign, segment, &matching, now).await?;
                out.added += added;
                out.already += already;
            }
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    Ok(out)
}

/// Members written at once.
const PUTS_AT_ONCE: usize = 8;

/// Makes `matching` members: those who are not yet (one batched read) are put, a few at
/// once, each only if absent (a run alongside may have put them since). Returns (added,
/// already), so an hourly run over members it found before writes nothing.
async fn add_members(
    db: &Db,
    campaign: &CampaignId,
    segment: &SegmentId,
    matching: &[RecipientId],
    now: DateTime<Utc>,
) -> Result<(usize, usize), SegmentError> {
    let members = db.segment_members_among(segment, matching).await?;
    let new: Vec<&RecipientId> = matching.iter().filter(|r| !members.contains(*r)).collect();
    let mut put = Vec::with_capacity(new.len());
    for chunk in new.chunks(PUTS_AT_ONCE) {
        let ms: Vec<Membership> = chunk
            .iter()
            .map(|r| Membership {
                campaign_id: campaign.clone(),
                segment: segment.clone(),
                recipient_id: (*r).clone(),
                at: now,
            })
            .collect();
        put.extend(futures::future::try_join_all(ms.iter().map(|m| db.add_segment_member(m))).await?);
    }
    let added = put.iter().filter(|fresh| **fresh).count();
    Ok((added, matching.len() - added))
}
