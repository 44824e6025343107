//! mcamp's domain: values parsed at the edge, campaign definitions, events, the ports that
//! storage and queues implement, and the logic over them. No AWS types here.

pub mod campaign;
pub mod coupons;
pub mod db;
pub mod env;
pub mod events;
pub mod jobs;
pub mod ports;
pub mod survey;
pub mod survey_report;
pub mod ua;
pub mod values;

/// `5,000원`.
pub fn format_won(won: u64) -> String {
    let digits = won.to_string();
    let mut out = String::with_capacity(digits.len() + 4);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out.push('원');
    out
}
