//! The audit log: who saw personal data unmasked, exported it or changed state, and when.
//! Append-only, kept like the events (two years); it names people by id only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use mcamp_core::time::kst;
use mcamp_core::values::random_base62;

use crate::ports::{Query, TableId};
use crate::{Db, DbResult, keys, to_item};

/// One audited action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// Who: a console user's e-mail, or `cli:{OS user}`.
    pub actor: String,
    /// What, e.g. `people.unmasked`.
    pub action: String,
    /// On what: a campaign, a filter, a count. Never a phone number or a name.
    pub detail: Value,
}

impl Db {
    pub async fn audit(&self, entry: &AuditEntry) -> DbResult<()> {
        let month = entry.at.with_timezone(&kst()).format("%Y%m").to_string();
        let mut item = to_item(
            entry,
            &keys::audit(&month),
            &keys::audit_sk(entry.at, &random_base62(6)),
        )?;
        item.insert(
            "ttl".into(),
            Value::from((entry.at + chrono::Duration::days(crate::events::EVENT_TTL_DAYS)).timestamp()),
        );
        self.table.put(TableId::Main, item, None).await?;
        Ok(())
    }

    /// The audit log of one KST month (`202611`), oldest first.
    pub async fn audit_log(&self, month: &str) -> DbResult<Vec<AuditEntry>> {
        self.query_all(Query::partition(TableId::Main, keys::audit(month)))
            .await
    }
}
