//! Consent rules: which purposes a person consents to, through which channel, and which ledger
//! entries a form submission or an opt-out makes. The ledger is append-only; an entry is made
//! only when a consent changes, so a double submit adds nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::EventData;
use crate::recipient::Consents;
use crate::values::RecipientId;

/// What a consent is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Collection and use of personal information (required for the form).
    Privacy,
    /// Advertising messages.
    Marketing,
    /// Advertising messages between 21:00 and 08:00 KST.
    Night,
}

/// How a consent was given or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The info form on a recipient's page.
    Form,
    /// The marketer's import.
    Import,
    /// The opt-out link on a recipient's page.
    OptOutLink,
}

/// One change of one consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub purpose: Purpose,
    pub granted: bool,
    pub wording_version: String,
    pub channel: Channel,
}

/// One entry of the consent ledger: append-only, never rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentEntry {
    pub recipient_id: RecipientId,
    pub purpose: Purpose,
    pub granted: bool,
    pub wording_version: String,
    pub channel: Channel,
    pub at: DateTime<Utc>,
}

impl ConsentChange {
    pub fn entry(&self, recipient_id: RecipientId, at: DateTime<Utc>) -> ConsentEntry {
        ConsentEntry {
            recipient_id,
            purpose: self.purpose,
            granted: self.granted,
            wording_version: self.wording_version.clone(),
            channel: self.channel,
            at,
        }
    }

    /// The `consent_changed` event of this change.
    pub fn event(&self) -> EventData {
        EventData::ConsentChanged {
            purpose: self.purpose,
            granted: self.granted,
            wording_version: self.wording_version.clone(),
            channel: self.channel,
        }
    }
}

/// The changes a submitted info form makes: privacy on the first submit (the form requires it),
/// marketing when the box differs from the current state.
pub fn form_changes(before: &Consents, marketing: bool, wording_version: &str) -> Vec<ConsentChange> {
    let change = |purpose, granted| ConsentChange {
        purpose,
        granted,
        wording_version: wording_version.to_owned(),
        channel: Channel::Form,
    };
    let mut out = Vec::new();
    if before.privacy_at.is_none() {
        out.push(change(Purpose::Privacy, true));
    }
    if before.marketing_at.is_some() != marketing {
        out.push(change(Purpose::Marketing, marketing));
    }
    out
}

/// The changes an opt-out makes: marketing withdrawn, if it was given.
pub fn opt_out_changes(before: &Consents, wording_version: &str) -> Vec<ConsentChange> {
    before
        .marketing_at
        .map(|_| ConsentChange {
            purpose: Purpose::Marketing,
            granted: false,
            wording_version: wording_version.to_owned(),
            channel: Channel::OptOutLink,
        })
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_identical_submit_changes_nothing() {
        let now = Utc::now();
        let first = form_changes(&Consents::default(), true, "v1");
        let kinds: Vec<(Purpose, bool)> = first.iter().map(|c| (c.purpose, c.granted)).collect();
        assert_eq!(kinds, vec![(Purpose::Privacy, true), (Purpose::Marketing, true)]);
        let after = Consents {
            privacy_at: Some(now),
            marketing_at: Some(now),
            night_at: None,
        };
        assert!(form_changes(&after, true, "v1").is_empty());
        let withdrawn = form_changes(&after, false, "v1");
        assert_eq!(withdrawn.len(), 1);
        assert_eq!(
            (withdrawn[0].purpose, withdrawn[0].granted),
            (Purpose::Marketing, false)
        );
        assert_eq!(opt_out_changes(&after, "v1")[0].channel, Channel::OptOutLink);
        assert!(opt_out_changes(&Consents::default(), "v1").is_empty());
    }

    #[test]
    fn names_are_the_stored_strings() {
        let v = serde_json::to_value((Purpose::Marketing, Channel::OptOutLink)).ok();
        assert_eq!(v, Some(serde_json::json!(["marketing", "opt_out_link"])));
    }
}
