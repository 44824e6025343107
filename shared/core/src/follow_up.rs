//! Follow-up workflows: per campaign, rules such as "24 h after sent: clicked → message A by
//! channel X; not clicked → message B by channel Y", run on the schedule (`actions`).

use serde::{Deserialize, Serialize};

use crate::values::ParseError;

/// One follow-up of a campaign file (`follow_ups:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub id: String,
}

/// Checks a campaign's follow-ups (called by `Campaign::check`).
pub fn check_all(_c: &crate::campaign::Campaign) -> Result<(), ParseError> {
    Ok(())
}
