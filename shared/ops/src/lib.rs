//! Marketer operations shared by the `mcamp` CLI and the local gateway.

pub mod adlaw;
pub mod campaign_file;
pub mod campaign_report;
pub mod cost;
pub mod export;
pub mod follow_ups;
pub mod import;
pub mod line_endings;
pub mod people;
pub mod qr;
pub mod rejects;
pub mod report;
pub mod report_sheets;
pub mod seed;
pub mod segments;
pub mod sends;
pub mod stores;
pub mod surveys;
pub mod unsubscribe;
pub mod upload;
