//! The one integration-test binary: every suite over the one harness (`mcamp_tests`), one moto
//! server per run, each test on its own freshly named tables and queues.

mod analytics;
mod console;
mod console_store;
mod console_upload;
mod contract;
mod cost;
mod coupons;
mod crash;
mod customers;
mod follow_ups;
mod hostile;
mod links;
mod offers;
mod page;
mod secrets;
mod segments;
mod sends;
mod snapshots;
mod survey;
mod template;
mod users;
mod variants;
