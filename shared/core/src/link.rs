//! Short links: a recipient's personal link, their share link, or a store's MCS poster link.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::recipient::Recipient;
use crate::values::{CampaignId, RecipientId, ShortCode, StoreId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A recipient's own link (from the SMS, or minted for a visitor).
    Personal,
    /// A recipient's share link: visitors arriving through it are credited to them.
    Share,
    /// A store's permanent MCS poster link: each scanning customer becomes a new visitor.
    Store,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub code: ShortCode,
    pub campaign_id: CampaignId,
    /// The owner: the recipient for a personal link, the sharer for a share link; none for a
    /// store link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<RecipientId>,
    /// The store of a store link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<StoreId>,
    pub kind: LinkKind,
    /// For a visitor's personal link: who shared to them. Copied here at mint so a click
    /// needs no profile read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_id: Option<RecipientId>,
    /// Head of the owner's share chain; absent when the owner is the head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_head: Option<RecipientId>,
    /// The owner's page variant, copied at mint so a click's event carries it without a read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Human clicks, counted atomically.
    #[serde(default)]
    pub clicks: u64,
}

impl Link {
    /// The personal link of `r`, unclicked, with the share credit a click needs copied in;
    /// `store_id` for a store visitor.
    pub fn personal(r: &Recipient, store_id: Option<StoreId>) -> Link {
        Link {
            code: r.code.clone(),
            campaign_id: r.campaign_id.clone(),
            recipient_id: Some(r.id.clone()),
            store_id,
            kind: LinkKind::Personal,
            referrer_id: r.referrer_id.clone(),
            chain_head: r.chain.first().cloned(),
            variant: r.variant.clone(),
            created_at: r.created_at,
            clicks: 0,
        }
    }

    /// `sharer`'s share link.
    pub fn share(sharer: &Recipient, code: ShortCode, now: DateTime<Utc>) -> Link {
        Link {
            code,
            campaign_id: sharer.campaign_id.clone(),
            recipient_id: Some(sharer.id.clone()),
            store_id: None,
            kind: LinkKind::Share,
            referrer_id: None,
            chain_head: None,
            variant: sharer.variant.clone(),
            created_at: now,
            clicks: 0,
        }
    }

    /// `store`'s permanent poster link in a campaign.
    pub fn store(campaign_id: CampaignId, store: StoreId, code: ShortCode, now: DateTime<Utc>) -> Link {
        Link {
            code,
            campaign_id,
            recipient_id: None,
            store_id: Some(store),
            kind: LinkKind::Store,
            referrer_id: None,
            chain_head: None,
            variant: None,
            created_at: now,
            clicks: 0,
        }
    }
}
