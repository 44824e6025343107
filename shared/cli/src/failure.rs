//! Why a command failed, as the exit code and one line for the user.

use std::process::ExitCode;

use mcamp_core::values::ParseError;
use mcamp_ops::campaign_file::CampaignFileError;
use mcamp_ops::export::ExportError;
use mcamp_ops::import::ImportError;
use mcamp_ops::stores::StoreAddError;
use mcamp_store::DbError;

#[derive(Debug)]
pub enum Failure {
    /// The input is wrong: a bad file, an unknown campaign, a bad argument. Exit 1.
    User(String),
    /// The store could not be read or written. Exit 2.
    Storage(String),
}

impl Failure {
    pub fn user(msg: impl Into<String>) -> Self {
        Failure::User(msg.into())
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::User(_) => 1,
            Failure::Storage(_) => 2,
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::User(m) | Failure::Storage(m) => m,
        }
    }

    /// Prints the one line (JSON with `--json`) on stderr and gives the exit code.
    pub fn report(&self, json: bool) -> ExitCode {
        let code = self.exit_code();
        if json {
            let kind = match self {
                Failure::User(_) => "user",
                Failure::Storage(_) => "storage",
            };
            eprintln!(
                "{}",
                serde_json::json!({"error": self.message(), "kind": kind, "exit_code": code})
            );
        } else {
            // One line, whatever the message holds.
            eprintln!("error: {}", self.message().replace('\n', " "));
        }
        ExitCode::from(code)
    }
}

impl From<ParseError> for Failure {
    fn from(e: ParseError) -> Self {
        Failure::User(e.to_string())
    }
}

impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound(what) => Failure::User(format!("{what} not found")),
            other => Failure::Storage(format!("storage: {other}")),
        }
    }
}

impl From<CampaignFileError> for Failure {
    fn from(e: CampaignFileError) -> Self {
        Failure::User(e.to_string())
    }
}

impl From<ImportError> for Failure {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Db(d) => d.into(),
            other => Failure::User(other.to_string()),
        }
    }
}

impl From<ExportError> for Failure {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Db(d) => d.into(),
            other => Failure::User(other.to_string()),
        }
    }
}

impl From<StoreAddError> for Failure {
    fn from(e: StoreAddError) -> Self {
        match e {
            StoreAddError::Db(d) => d.into(),
            other => Failure::User(other.to_string()),
        }
    }
}

impl From<mcamp_ops::surveys::SurveyOpsError> for Failure {
    fn from(e: mcamp_ops::surveys::SurveyOpsError) -> Self {
        match e {
            mcamp_ops::surveys::SurveyOpsError::Db(d) => d.into(),
            other => Failure::User(other.to_string()),
        }
    }
}
