//! Consent rules. A customer consents per purpose: the privacy notice (required for the form),
//! marketing by SMS, marketing by KakaoTalk, and ads at night (21:00–08:00 KST). Each consent
//! records when, how (`Source`), the wording version and whether the phone's owner confirmed
//! it. The ledger is append-only and holds no personal data (the customer's hashed key only),
//! so it outlives erasure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer::CustomerConsents;
use crate::events::EventData;
use crate::values::{CampaignId, RecipientId};

/// What a consent is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Collection and use of personal information (required for the form).
    Privacy,
    /// Advertising by SMS/LMS.
    MarketingSms,
    /// Advertising by KakaoTalk (Brand Message needs consent that covers Kakao).
    MarketingKakao,
    /// Advertising between 21:00 and 08:00 KST.
    Night,
}

impl Purpose {
    pub const ALL: [Purpose; 4] = [
        Purpose::Privacy,
        Purpose::MarketingSms,
        Purpose::MarketingKakao,
        Purpose::Night,
    ];
    /// The marketing purposes the page's one marketing box covers ("문자와 카카오톡으로").
    pub const MARKETING: [Purpose; 2] = [Purpose::MarketingSms, Purpose::MarketingKakao];
    pub fn label_ko(self) -> &'static str {
        match self {
            Purpose::Privacy => "개인정보 수집·이용",
            Purpose::MarketingSms => "문자 광고 수신",
            Purpose::MarketingKakao => "카카오톡 광고 수신",
            Purpose::Night => "야간(21~08시) 광고 수신",
        }
    }
}

/// How a consent was given, withdrawn or confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The brand's import (its CRM's record).
    Import,
    /// The info form on a recipient's page.
    Form,
    /// The confirmation link sent to the phone.
    ConfirmLink,
    /// The opt-out on a recipient's page.
    OptOutLink,
    /// The sender's 080 unsubscribe line (imported from its console).
    #[serde(rename = "080")]
    Unsubscribe080,
}

/// A consent in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentState {
    /// When it was given.
    pub at: DateTime<Utc>,
    pub how: Source,
    pub wording_version: String,
    /// When the phone's owner confirmed it: at once for the brand's own import and for a form
    /// on the customer's own imported link; by the confirmation link otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// One change of one consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub purpose: Purpose,
    pub granted: bool,
    pub wording_version: String,
    pub source: Source,
    /// A grant that needs no confirmation (or a confirmation itself).
    pub confirmed: bool,
}

/// One entry of a customer's consent ledger: append-only, never rewritten, no personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentEntry {
    pub purpose: Purpose,
    pub granted: bool,
    pub wording_version: String,
    /// How (`Source`).
    pub channel: Source,
    #[serde(default)]
    pub confirmed: bool,
    /// Where it happened, when it happened on a campaign's page or import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<CampaignId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<RecipientId>,
    pub at: DateTime<Utc>,
}

impl ConsentChange {
    pub fn entry(
        &self,
        campaign_id: Option<CampaignId>,
        recipient_id: Option<RecipientId>,
        at: DateTime<Utc>,
    ) -> ConsentEntry {
        ConsentEntry {
            purpose: self.purpose,
            granted: self.granted,
            wording_version: self.wording_version.clone(),
            channel: self.source,
            confirmed: self.confirmed,
            campaign_id,
            recipient_id,
            at,
        }
    }

    /// The consent in force after a grant (`None` after a withdrawal).
    pub fn state(&self, at: DateTime<Utc>) -> Option<ConsentState> {
        self.granted.then(|| ConsentState {
            at,
            how: self.source,
            wording_version: self.wording_version.clone(),
            confirmed_at: self.confirmed.then_some(at),
        })
    }

    /// The `consent_changed` event of this change.
    pub fn event(&self) -> EventData {
        EventData::ConsentChanged {
            purpose: self.purpose,
            granted: self.granted,
            wording_version: self.wording_version.clone(),
            channel: self.source,
            confirmed: self.confirmed,
        }
    }
}

fn change(purpose: Purpose, granted: bool, wording_version: &str, source: Source, confirmed: bool) -> ConsentChange {
    ConsentChange {
        purpose,
        granted,
        wording_version: wording_version.to_owned(),
        source,
        confirmed,
    }
}

/// Whether a grant of `p` changes anything: it is absent, or it is unconfirmed and this one is
/// confirmed.
fn grant_changes(before: &CustomerConsents, p: Purpose, confirmed: bool) -> bool {
    match before.get(p) {
        None => true,
        Some(s) => confirmed && s.confirmed_at.is_none(),
    }
}

/// The changes a submitted info form makes: privacy when not in force (the form requires it),
/// each marketing purpose when the box differs from the current state. `confirmed` when the
/// form stands on the customer's own imported link.
pub fn form_changes(
    before: &CustomerConsents,
    marketing: bool,
    wording_version: &str,
    confirmed: bool,
) -> Vec<ConsentChange> {
    let mut out = Vec::new();
    if grant_changes(before, Purpose::Privacy, confirmed) {
        out.push(change(Purpose::Privacy, true, wording_version, Source::Form, confirmed));
    }
    for p in Purpose::MARKETING {
        if marketing && grant_changes(before, p, confirmed) {
            out.push(change(p, true, wording_version, Source::Form, confirmed));
        } else if !marketing && before.get(p).is_some() {
            out.push(change(p, false, wording_version, Source::Form, true));
        }
    }
    out
}

/// The changes an opt-out makes: every marketing consent withdrawn.
pub fn opt_out_changes(before: &CustomerConsents, wording_version: &str, source: Source) -> Vec<ConsentChange> {
    Purpose::MARKETING
        .into_iter()
        .chain([Purpose::Night])
        .filter(|p| before.get(*p).is_some())
        .map(|p| change(p, false, wording_version, source, true))
        .collect()
}

/// The changes an import row makes: the CRM's marketing and night consent, confirmed (the
/// brand's own record), granted or withdrawn.
pub fn import_changes(
    before: &CustomerConsents,
    marketing: bool,
    night: bool,
    wording_version: &str,
) -> Vec<ConsentChange> {
    let mut out = Vec::new();
    for (p, want) in [
        (Purpose::MarketingSms, marketing),
        (Purpose::MarketingKakao, marketing),
        (Purpose::Night, night),
    ] {
        if want && grant_changes(before, p, true) {
            out.push(change(p, true, wording_version, Source::Import, true));
        } else if !want && before.get(p).is_some() {
            out.push(change(p, false, wording_version, Source::Import, true));
        }
    }
    out
}

/// The confirmations the confirm link makes: every granted, unconfirmed consent.
pub fn confirmations(before: &CustomerConsents) -> Vec<ConsentChange> {
    Purpose::ALL
        .into_iter()
        .filter_map(|p| {
            let s = before.get(p)?;
            s.confirmed_at
                .is_none()
                .then(|| change(p, true, &s.wording_version, Source::ConfirmLink, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(c: &[ConsentChange]) -> Vec<(Purpose, bool, bool)> {
        c.iter().map(|c| (c.purpose, c.granted, c.confirmed)).collect()
    }

    #[test]
    fn a_second_identical_submit_changes_nothing() {
        let now = Utc::now();
        let first = form_changes(&CustomerConsents::default(), true, "v1", false);
        assert_eq!(
            kinds(&first),
            vec![
                (Purpose::Privacy, true, false),
                (Purpose::MarketingSms, true, false),
                (Purpose::MarketingKakao, true, false)
            ]
        );
        let mut after = CustomerConsents::default();
        for c in &first {
            *after.slot(c.purpose) = c.state(now);
        }
        assert!(form_changes(&after, true, "v1", false).is_empty());
        // The owner's own imported link confirms what a visitor's form left unconfirmed.
        assert_eq!(form_changes(&after, true, "v1", true).len(), 3);
        let withdrawn = form_changes(&after, false, "v1", false);
        assert_eq!(
            kinds(&withdrawn),
            vec![
                (Purpose::MarketingSms, false, true),
                (Purpose::MarketingKakao, false, true)
            ]
        );
        let out = opt_out_changes(&after, "v1", Source::OptOutLink);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|c| !c.granted && c.source == Source::OptOutLink));
        assert!(opt_out_changes(&CustomerConsents::default(), "v1", Source::OptOutLink).is_empty());
        assert_eq!(confirmations(&after).len(), 3);
    }

    #[test]
    fn an_import_withdrawal_is_a_change() {
        let now = Utc::now();
        let mut c = CustomerConsents::default();
        for ch in import_changes(&c, true, false, "crm") {
            *c.slot(ch.purpose) = ch.state(now);
        }
        assert!(c.marketing_sms.as_ref().is_some_and(|s| s.confirmed_at.is_some()));
        let again = import_changes(&c, false, false, "crm");
        assert_eq!(
            kinds(&again),
            vec![
                (Purpose::MarketingSms, false, true),
                (Purpose::MarketingKakao, false, true)
            ]
        );
    }

    #[test]
    fn names_are_the_stored_strings() {
        let v = serde_json::to_value((Purpose::MarketingSms, Source::OptOutLink, Source::Unsubscribe080)).ok();
        assert_eq!(v, Some(serde_json::json!(["marketing_sms", "opt_out_link", "080"])));
    }
}
