//! A campaign's report for the marketer, read from the aggregator's counters and sharer boards
//! (`mcamp_core::analytics::report`): the same few reads at 10^3 events as at 10^7. Share
//! trees are read from the referrals, bounded.

use mcamp_core::analytics::report::{CampaignMeta, CampaignReport, TreeNode};
use mcamp_core::analytics::{SHARE_HOPS, SharerBoard, Stage};
use mcamp_core::campaign::{Block, Campaign};
use mcamp_core::values::{CampaignId, RecipientId};
use mcamp_store::{Db, DbError};

/// How many sharers the report names.
pub const TOP_SHARERS: usize = 20;
/// Chains the campaign's share tree starts from (the best sharers who were not brought in).
pub const TREE_ROOTS: usize = 3;
/// People one share tree shows at most.
pub const TREE_NODES: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown campaign '{0}' (`mcamp campaign list` shows the campaigns)")]
    UnknownCampaign(CampaignId),
    #[error("storage")]
    Db(#[from] DbError),
}

pub async fn campaign_report(db: &Db, id: &CampaignId) -> Result<CampaignReport, ReportError> {
    let stored = db
        .campaign(id)
        .await?
        .ok_or_else(|| ReportError::UnknownCampaign(id.clone()))?;
    report_of(db, &stored.campaign).await
}

/// `campaign_report` of a campaign already read (the console's pages read it for access).
pub async fn report_of(db: &Db, c: &Campaign) -> Result<CampaignReport, ReportError> {
    let id = &c.id;
    let meta = CampaignMeta {
        campaign_id: c.id.to_string(),
        name: c.name.clone(),
        status: serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        coupons: c
            .coupons
            .iter()
            .map(|d| (d.id.to_string(), d.title.clone(), d.stock))
            .collect(),
        blocks: c.page.blocks.iter().map(block_label).collect(),
        offered: c.offered_coupons().iter().map(|id| id.to_string()).collect(),
    };
    let (counters, boards) = db.campaign_counters(id).await?;
    let mut report = CampaignReport::build(&meta, &counters, SharerBoard::merged(boards, TOP_SHARERS));
    // The chains of the best sharers who started one.
    let starters: Vec<RecipientId> = report.top_sharers.iter().map(|s| s.recipient_id.clone()).collect();
    let journeys = db.journeys_of(&starters).await?;
    for root in starters
        .iter()
        .filter(|r| journeys.get(*r).is_some_and(|j| j.referrer_id.is_none()))
        .take(TREE_ROOTS)
    {
        report.share_tree.extend(share_tree(db, root).await?);
    }
    Ok(report)
}

/// What a content block is, as the report names it.
fn block_label(b: &Block) -> String {
    let titled = |kind: &str, title: Option<&String>| match title {
        Some(t) => format!("{kind}: {t}"),
        None => kind.to_owned(),
    };
    match b {
        Block::Hero { title, .. } => titled("대표 이미지", title.as_ref()),
        Block::Gallery { images } => format!("갤러리 {}장", images.len()),
        Block::Video { poster, .. } => titled("영상", Some(&poster.alt).filter(|a| !a.is_empty())),
        Block::Text { heading, .. } => titled("글", heading.as_ref()),
        Block::Products { items } => format!("상품 {}개", items.len()),
        Block::Button { label, .. } => format!("버튼: {label}"),
        Block::Store { name, .. } => format!("매장: {name}"),
    }
}

/// Who `root` brought in, and who they brought in, to `SHARE_HOPS` hops and at most
/// `TREE_NODES` people, with each one's stage and credit.
pub async fn share_tree(db: &Db, root: &RecipientId) -> Result<Vec<TreeNode>, ReportError> {
    let hops = u32::try_from(SHARE_HOPS).unwrap_or(u32::MAX);
    let mut edges = db.share_tree(root, hops).await?;
    edges.truncate(TREE_NODES.saturating_sub(1));
    let mut people: Vec<(RecipientId, Option<RecipientId>, u32)> = vec![(root.clone(), None, 0)];
    people.extend(edges.into_iter().map(|(from, to, hop)| (to, Some(from), hop)));
    let ids: Vec<RecipientId> = people.iter().map(|(p, ..)| p.clone()).collect();
    let journeys = db.journeys_of(&ids).await?;
    Ok(people
        .into_iter()
        .map(|(p, parent, hop)| {
            let j = journeys.get(&p);
            TreeNode {
                stage: j.map_or(Stage::Known, |j| j.stage()),
                redeemed: j.map_or(0, |j| j.redeemed),
                visitors: j.map_or(0, |j| j.credited.visitors.iter().sum()),
                credited_redeemed: j.map_or(0, |j| j.credited.redeemed.iter().sum()),
                recipient_id: p,
                parent,
                hop,
            }
        })
        .collect())
}
