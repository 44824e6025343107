//! mcamp's core: values parsed at the edge, campaign and survey definitions, the people, links
//! and coupons they describe, events and jobs, and the rules over them (eligibility, consent,
//! attribution, report maths). No storage, no I/O, no async: `mcamp-store` keeps these values,
//! the functions and tools move them.

pub mod analytics;
pub mod campaign;
pub mod client;
pub mod consent;
pub mod coupon;
pub mod customer;
pub mod events;
pub mod experiment;
pub mod follow_up;
pub mod jobs;
pub mod link;
pub mod recipient;
pub mod response;
pub mod segment;
pub mod sends;
pub mod survey;
pub mod survey_report;
pub mod time;
pub mod users;
pub mod values;
pub mod view_link;
