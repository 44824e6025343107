//! Korean time: campaigns, ad-law windows and MCS weeks are reckoned in KST (UTC+9, no DST).

use chrono::{DateTime, Datelike, FixedOffset, Offset, Utc};

/// KST, UTC+9.
pub fn kst() -> FixedOffset {
    // 9 h is within ±24 h, so the offset always exists; UTC is only the type's fallback.
    FixedOffset::east_opt(9 * 3600).unwrap_or(Utc.fix())
}

/// The ISO week of `at` in Korea, `2026-W47`: the unit of an MCS store's trend.
pub fn kst_week(at: DateTime<Utc>) -> String {
    let w = at.with_timezone(&kst()).date_naive().iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_are_iso_weeks_in_korea() -> Result<(), Box<dyn std::error::Error>> {
        // Sunday 2026-11-22 16:00 UTC is Monday 01:00 in Seoul: the next ISO week.
        let sun = DateTime::parse_from_rfc3339("2026-11-22T14:00:00Z")?.with_timezone(&Utc);
        let mon = DateTime::parse_from_rfc3339("2026-11-22T16:00:00Z")?.with_timezone(&Utc);
        assert_eq!(kst_week(sun), "2026-W47");
        assert_eq!(kst_week(mon), "2026-W48");
        let new_year = DateTime::parse_from_rfc3339("2027-01-01T03:00:00Z")?.with_timezone(&Utc);
        assert_eq!(kst_week(new_year), "2026-W53");
        Ok(())
    }
}
