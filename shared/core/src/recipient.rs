//! A recipient: one person in one campaign, imported or arrived by a link, with what they told
//! us, their consents and the share chain that brought them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer::CustomerKey;
use crate::values::{AgeBand, BirthYear, CampaignId, Gender, PhoneNumber, RecipientId, ShortCode, StoreId};

/// Longest share chain kept on a recipient: the head and the nearest 31 sharers.
pub const MAX_CHAIN: usize = 32;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientSource {
    /// Imported by the marketer (CSV or campaign file).
    #[default]
    Import,
    /// Arrived through someone's share link.
    Share,
    /// Scanned a store's MCS poster.
    Store,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub id: RecipientId,
    pub campaign_id: CampaignId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<BirthYear>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_band: Option<AgeBand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_store: Option<StoreId>,
    /// The personal short link.
    pub code: ShortCode,
    /// This recipient's own share link, minted on their first share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_code: Option<ShortCode>,
    /// Who shared the link this recipient arrived through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_id: Option<RecipientId>,
    /// Everyone up the share chain, head first, nearest last (at most `MAX_CHAIN`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<RecipientId>,
    /// The brand's customer this recipient is (known once a phone is known): the consents,
    /// the opt-out and the contact details that count for the brand live there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerKey>,
    /// This recipient used the opt-out on their page (the brand-wide suppression is on the
    /// customer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub source: RecipientSource,
    /// The page variant they were assigned when created (`Campaign::assign_variant`), kept so
    /// a change of weights never moves them; absent without an A/B test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The coupon the learning offer picked for them, when they first saw the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<crate::coupon::OfferMark>,
    /// Their name, phone, birth year, region and free text were erased (retention or request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
}

impl Recipient {
    /// A new recipient who has told us nothing yet, with their personal link `code`.
    pub fn new(
        id: RecipientId,
        campaign_id: CampaignId,
        code: ShortCode,
        source: RecipientSource,
        now: DateTime<Utc>,
    ) -> Self {
        Recipient {
            id,
            campaign_id,
            name: None,
            phone: None,
            gender: None,
            birth_year: None,
            age_band: None,
            region: None,
            preferred_store: None,
            code,
            share_code: None,
            referrer_id: None,
            chain: Vec::new(),
            customer: None,
            opted_out_at: None,
            form_completed_at: None,
            survey_completed_at: None,
            created_at: now,
            source,
            variant: None,
            offer: None,
            erased_at: None,
        }
    }

    /// Assigns the person their page variant of `campaign`'s A/B test, if it has one.
    pub fn in_variant_of(mut self, campaign: &crate::campaign::Campaign) -> Self {
        self.variant = campaign.assign_variant(&self.id);
        self
    }

    /// An imported recipient: what the marketer knows about them, as the customer `customer`.
    pub fn imported(
        id: RecipientId,
        campaign_id: CampaignId,
        code: ShortCode,
        new: &NewRecipient,
        customer: Option<CustomerKey>,
        now: DateTime<Utc>,
    ) -> Self {
        Recipient {
            name: new.name.clone(),
            phone: new.phone.clone(),
            gender: new.gender,
            birth_year: new.birth_year,
            age_band: new.age_band,
            region: new.region.clone(),
            customer,
            ..Recipient::new(id, campaign_id, code, RecipientSource::Import, now)
        }
    }

    /// A visitor who arrived through `sharer`'s share link: the chain extended by the sharer,
    /// keeping the head (credited for everything) and the nearest `MAX_CHAIN - 1` sharers.
    pub fn shared_by(sharer: &Recipient, id: RecipientId, code: ShortCode, now: DateTime<Utc>) -> Self {
        let mut chain = sharer.chain.clone();
        chain.push(sharer.id.clone());
        if chain.len() > MAX_CHAIN {
            let excess = chain.len() - MAX_CHAIN;
            chain.drain(1..=excess);
        }
        Recipient {
            referrer_id: Some(sharer.id.clone()),
            chain,
            ..Recipient::new(id, sharer.campaign_id.clone(), code, RecipientSource::Share, now)
        }
    }

    /// A customer who scanned `store`'s MCS poster.
    pub fn store_visitor(
        store: StoreId,
        id: RecipientId,
        campaign_id: CampaignId,
        code: ShortCode,
        now: DateTime<Utc>,
    ) -> Self {
        Recipient {
            preferred_store: Some(store),
            ..Recipient::new(id, campaign_id, code, RecipientSource::Store, now)
        }
    }

    /// The first recipient of the chain that brought this one; themself when they came directly.
    pub fn chain_head(&self) -> RecipientId {
        self.chain.first().cloned().unwrap_or_else(|| self.id.clone())
    }
}

/// What the marketer knows about a new recipient (an import row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRecipient {
    pub name: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub gender: Option<Gender>,
    pub birth_year: Option<BirthYear>,
    pub age_band: Option<AgeBand>,
    pub region: Option<String>,
    /// The CRM's consents, when the import carries them.
    pub consent: Option<CrmConsent>,
}

/// Consents as the brand's CRM records them, for one import row.
#[derive(Debug, Clone, PartialEq)]
pub struct CrmConsent {
    pub marketing: bool,
    pub night: bool,
    /// When the person consented (the CRM's date), or the import time.
    pub at: DateTime<Utc>,
}
