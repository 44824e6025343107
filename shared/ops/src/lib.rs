//! Marketer operations shared by the `mcamp` CLI and the local gateway.

pub mod campaign_file;
pub mod import;
pub mod seed;
