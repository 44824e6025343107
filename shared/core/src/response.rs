//! A respondent's survey response, saved question by question.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::recipient::Recipient;
use crate::survey::{Answer, SurveyDef};
use crate::values::{AgeBand, CampaignId, Gender, RecipientId, StoreId};

/// One respondent's response, saved question by question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub campaign_id: CampaignId,
    pub recipient_id: RecipientId,
    /// Aggregate scope and shard this response counts in, fixed when it starts.
    pub scope: String,
    pub shard: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<StoreId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_band: Option<AgeBand>,
    /// The demographics screen was answered (or not needed).
    #[serde(default)]
    pub demographics_done: bool,
    /// Question id to answer; `None` for a skipped optional question.
    #[serde(default)]
    pub answers: BTreeMap<String, Option<Answer>>,
    /// The question the respondent stands at (drop-off), absent once complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// MCS: set when this rating was taken out of the store's counts, because the same
    /// customer had already rated the store that day (`Db::count_rating_once`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Revision: every save is conditional on the one it read.
    pub rev: u64,
}

/// Whether the survey should ask gender and age band before its questions.
pub fn needs_demographics(def: &SurveyDef, r: &Recipient, resp: Option<&Response>) -> bool {
    def.ask_demographics
        && !resp.is_some_and(|x| x.demographics_done || !x.answers.is_empty() || x.completed_at.is_some())
        && (r.gender.is_none() || r.age_band.is_none())
}
