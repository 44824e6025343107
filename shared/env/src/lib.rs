//! The one helper for required environment variables: the error names the variable.

/// A required environment variable was missing, empty or malformed.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable {0} must be set")]
    Missing(&'static str),
    #[error("environment variable {0} is malformed: {1}")]
    Malformed(&'static str, String),
}

pub fn required(name: &'static str) -> Result<String, EnvError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(EnvError::Missing(name)),
    }
}

pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A variable a piece of code reads at start-up: template.yaml is checked against these, so a
/// function is given exactly what its code reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    pub required: bool,
}

impl Var {
    pub const fn required(name: &'static str) -> Self {
        Var { name, required: true }
    }
    pub const fn optional(name: &'static str) -> Self {
        Var { name, required: false }
    }
}
