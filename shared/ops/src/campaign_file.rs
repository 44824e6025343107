//! Campaign files: YAML (see examples/ and docs/campaign-file.md). A file that does not parse
//! or does not check changes nothing; the error names the field and the line.

use std::path::Path;

use mcamp_core::campaign::Campaign;

/// Largest campaign file read (a real one is a few kilobytes; inline images make it larger).
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CampaignFileError {
    #[error("{path}: cannot read: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {bytes} bytes, over the {MAX_FILE_BYTES}-byte limit of a campaign file")]
    TooLarge { path: String, bytes: u64 },
    /// serde's message names the field path (`coupons[0].stock: …`).
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}{}: {field}: {reason}", at_line(*line))]
    Invalid {
        path: String,
        /// The line of the field's section (`variants:`, `coupons:`), 0 when not found.
        line: usize,
        field: String,
        reason: String,
    },
}

pub fn parse(path: &str, text: &str) -> Result<Campaign, CampaignFileError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(CampaignFileError::TooLarge {
            path: path.to_owned(),
            bytes: text.len() as u64,
        });
    }
    // Aliases are expanded by the parser under its own repetition limit, so a "billion
    // laughs" file is an error, not a blow-up (see the test below).
    let campaign: Campaign = serde_yaml_ng::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        CampaignFileError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: e.to_string(),
        }
    })?;
    campaign.check().map_err(|e| CampaignFileError::Invalid {
        path: path.to_owned(),
        line: section_line(text, e.field),
        field: e.field.to_owned(),
        reason: e.reason,
    })?;
    check_segment_messages(&campaign).map_err(|reason| CampaignFileError::Invalid {
        path: path.to_owned(),
        line: section_line(text, "segments"),
        field: "segments.message".into(),
        reason,
    })?;
    crate::follow_ups::check_messages(&campaign).map_err(|e| {
        let line = e.follow_up().map_or(0, |id| follow_up_line(text, id.as_str()));
        let message = format!("follow_ups: {e}");
        if line == 0 {
            CampaignFileError::Invalid {
                path: path.to_owned(),
                line: section_line(text, "follow_ups"),
                field: "follow_ups".into(),
                reason: e.to_string(),
            }
        } else {
            CampaignFileError::Syntax {
                path: path.to_owned(),
                line,
                column: 3,
                message,
            }
        }
    })?;
    Ok(campaign)
}

/// A segment's own message, checked as the campaign's `message` is: the ad law's rules, and
/// the LMS limit with a typical name and link.
fn check_segment_messages(c: &Campaign) -> Result<(), String> {
    for s in &c.segments {
        let Some(text) = &s.message else { continue };
        let why = |e: &dyn std::fmt::Display| format!("segment '{}': {e}", s.id);
        let template = crate::adlaw::AdTemplate::with_message(c, text).map_err(|e| why(&e))?;
        template
            .render(Some("홍길동"), "https://go.brand.kr/AbCdEfGhIj")
            .map_err(|e| why(&e))?;
    }
    Ok(())
}

/// `:12` after the path when the line is known.
fn at_line(line: usize) -> String {
    if line == 0 { String::new() } else { format!(":{line}") }
}

/// The line (1-based) of the top-level section a field is in (`coupons.eligibility` is in
/// `coupons:`); 0 when the file has no such line (a flow-style map, say).
fn section_line(text: &str, field: &str) -> usize {
    let top = field.split('.').next().unwrap_or(field);
    text.lines()
        .position(|l| l.strip_prefix(top).is_some_and(|rest| rest.starts_with(':')))
        .map_or(0, |i| i + 1)
}

/// The line (1-based) of the follow-up `id` in the file: the first `id: {id}` after
/// `follow_ups:`; 0 when not found (a flow-style list on one line, say).
fn follow_up_line(text: &str, id: &str) -> usize {
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("follow_ups:") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        let t = line.trim_start().trim_start_matches("- ").trim();
        if let Some(v) = t.strip_prefix("id:")
            && v.trim().trim_matches(['"', '\'']) == id
        {
            return i + 1;
        }
    }
    0
}

pub fn load(path: &Path) -> Result<Campaign, CampaignFileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::metadata(path)
        .map_err(|source| CampaignFileError::Read {
            path: shown.clone(),
            source,
        })?
        .len();
    if bytes > MAX_FILE_BYTES {
        return Err(CampaignFileError::TooLarge { path: shown, bytes });
    }
    let text = std::fs::read_to_string(path).map_err(|source| CampaignFileError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&shown, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "id: spring\nname: 봄 세일\nsender: {brand: 봄꽃커피, opt_out_080: 080-123-4567}\nshare: {title: 봄 세일, description: 최대 50%}\n";

    #[test]
    fn good_file_parses() {
        assert!(parse("c.yaml", GOOD).is_ok());
    }

    #[test]
    fn errors_name_field_and_line() {
        let bad = format!(
            "{GOOD}coupons:\n  - id: welcome\n    title: t\n    benefit: {{kind: amount_off, won: 5000}}\n    stock: many\n"
        );
        match parse("c.yaml", &bad) {
            Err(CampaignFileError::Syntax { line, message, .. }) => {
                assert_eq!(line, 9, "{message}");
                assert!(message.contains("stock") || message.contains("coupons"), "{message}");
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let typo = GOOD.replace("name:", "nmae:");
        assert!(matches!(parse("c.yaml", &typo), Err(CampaignFileError::Syntax { .. })));
        // A segment's rule that does not parse: the segment's line and the column in the rule.
        let rule = format!("{GOOD}segments:\n  - id: warm\n    rule: views >= x and not redeemed\n");
        match parse("c.yaml", &rule) {
            Err(CampaignFileError::Syntax { line, message, .. }) => {
                assert_eq!(line, 6, "{message}");
                assert!(
                    message.contains("segments[0]: column 10: expected a number"),
                    "{message}"
                );
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        // A coupon for a segment the file does not define.
        let orphan = format!(
            "{GOOD}coupons:\n  - id: secret\n    title: t\n    benefit: {{kind: amount_off, won: 5000}}\n    stock: 5\n    eligibility: !segment warm\n"
        );
        match parse("c.yaml", &orphan) {
            Err(CampaignFileError::Invalid { field, reason, .. }) => {
                assert_eq!(field, "coupons.eligibility");
                assert!(reason.contains("warm"), "{reason}");
            }
            other => panic!("expected invalid, got {other:?}"),
        }
        // A follow-up that would send an ad at night, or to people who have not consented: the
        // follow-up's line and the reason.
        let night = format!(
            "{GOOD}follow_ups:\n  - id: day-after\n    after: since sent >= 24h\n    send_hours: \"07:00-20:00\"\n    steps:\n      - {{when: clicked, channel: kakao, message: \"{{name}}님 {{link}}\"}}\n"
        );
        match parse("c.yaml", &night) {
            Err(CampaignFileError::Syntax { line, message, .. }) => {
                assert_eq!(line, 6, "{message}");
                assert!(
                    message.contains("follow-up 'day-after'") && message.contains("would send an ad at night"),
                    "{message}"
                );
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let unconsented = night
            .replace("    send_hours: \"07:00-20:00\"\n", "")
            .replace("when: clicked", "when: not consented");
        match parse("c.yaml", &unconsented) {
            Err(CampaignFileError::Syntax { line, message, .. }) => {
                assert_eq!(line, 6, "{message}");
                assert!(
                    message.contains("would send an ad to people who have not consented"),
                    "{message}"
                );
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let twice = format!(
            "{GOOD}follow_ups:\n  - {{id: again, after: sent, steps: [{{channel: sms, message: \"{{link}}\"}}]}}\n  - {{id: again, after: sent, steps: [{{channel: sms, message: \"{{link}}\"}}]}}\n"
        );
        match parse("c.yaml", &twice) {
            Err(CampaignFileError::Invalid { field, reason, .. }) => {
                assert_eq!(field, "follow_ups");
                assert!(reason.contains("'again' is defined twice"), "{reason}");
            }
            other => panic!("expected invalid, got {other:?}"),
        }
        // An ad step with its own ad label: the ad law's check of the campaign's message, at
        // the follow-up's line.
        let label = night
            .replace("    send_hours: \"07:00-20:00\"\n", "")
            .replace("\"{name}님 {link}\"", "\"[광고] {name}님 {link}\"");
        match parse("c.yaml", &label) {
            Err(CampaignFileError::Syntax { line, message, .. }) => {
                assert_eq!(line, 6, "{message}");
                assert!(message.contains("step 1: message: begins with '[광고]'"), "{message}");
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let bad080 = GOOD.replace("080-123-4567", "02-123-4567");
        match parse("c.yaml", &bad080) {
            Err(CampaignFileError::Invalid { field, .. }) => {
                assert_eq!(field, "sender.opt_out_080")
            }
            other => panic!("expected invalid, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    #[test]
    fn a_billion_laughs_is_refused_not_expanded() {
        let mut yaml =
            String::from("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for i in 1..9 {
            let p = i - 1;
            yaml += &format!("a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n");
        }
        yaml += "id: *a8\n";
        // The parser itself refuses the expansion (whatever the target type), so the campaign
        // parse that uses it cannot blow up either.
        let expanded = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&yaml);
        assert!(
            expanded
                .as_ref()
                .is_err_and(|e| e.to_string().contains("repetition limit")),
            "{:?}",
            expanded.map(|_| ())
        );
        assert!(parse("laughs.yaml", &yaml).is_err());
    }

    #[test]
    fn an_oversized_file_is_refused_before_parsing() {
        let big = "#".repeat(MAX_FILE_BYTES as usize + 1);
        assert!(matches!(
            parse("big.yaml", &big),
            Err(CampaignFileError::TooLarge { .. })
        ));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text, and any mutation of a good file: parsed or refused with a reason, never a
        /// panic.
        #[test]
        fn any_text_parses_or_is_refused(text in "\\PC{0,400}") {
            let _ = parse("any.yaml", &text);
        }

        #[test]
        fn a_good_file_mutated_parses_or_is_refused(at in 0usize..200, insert in "[\\[\\]{}:&*!|>'\"#,\\-\n 0-9a-z가]{0,12}") {
            let good = "id: spring\nname: 봄 세일\nsender: {brand: 봄꽃커피, opt_out_080: 080-123-4567}\nshare: {title: 봄 세일, description: 최대 50%}\n";
            let at = good.char_indices().map(|(i, _)| i).nth(at % good.chars().count()).unwrap_or(0);
            let text = format!("{}{insert}{}", &good[..at], &good[at..]);
            match parse("mutated.yaml", &text) {
                Ok(c) => prop_assert!(c.check().is_ok()),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}

#[cfg(test)]
mod variant_tests {
    use super::parse;
    use mcamp_core::campaign::Campaign;

    fn campaign(extra: &str) -> Result<Campaign, String> {
        let yaml = format!(
            "id: ab\nname: n\nsender: {{brand: b, opt_out_080: 080-000-0000}}\nshare: {{title: t, description: d}}\n\
             page: {{greeting: 기본, accent: '#112233', blocks: [{{type: text, body: 기본 본문}}]}}\n{extra}"
        );
        parse("ab.yaml", &yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn a_variant_changes_only_what_it_names() {
        let c = campaign("variants:\n  - {name: A, weight: 50}\n  - {name: B, weight: 50, greeting: B안}\n").unwrap();
        assert_eq!(c.page_for(Some("A")).as_ref(), &c.page);
        let b = c.page_for(Some("B"));
        assert_eq!(b.greeting.as_deref(), Some("B안"));
        assert_eq!((&b.blocks, &b.accent), (&c.page.blocks, &c.page.accent));
        // Someone from before the test, or of a variant since removed, sees the campaign's page.
        assert_eq!(c.page_for(None).as_ref(), &c.page);
        assert_eq!(c.page_for(Some("Z")).as_ref(), &c.page);
    }

    #[test]
    fn assignment_follows_the_weights_and_never_changes() {
        let c = campaign("variants:\n  - {name: A, weight: 20}\n  - {name: B, weight: 80}\n").unwrap();
        let mut b = 0;
        for i in 0..2000 {
            let id = mcamp_core::values::RecipientId::parse(&format!("R{i:015}")).unwrap();
            let v = c.assign_variant(&id).unwrap();
            assert_eq!(c.assign_variant(&id).as_deref(), Some(v.as_str()), "sticky");
            b += usize::from(v == "B");
        }
        assert!((1500..1700).contains(&b), "80% of 2000 get B: {b}");
        let plain = campaign("").unwrap();
        assert_eq!(plain.assign_variant(&mcamp_core::values::RecipientId::generate()), None);
    }

    #[test]
    fn a_push_says_what_it_does_to_people_in_the_test() {
        let offer = "offer: {holdout_percent: 10}\ncoupons:\n  - {id: aa, title: a, benefit: {kind: amount_off, won: 1000}, stock: 9, eligibility: offered}\n  - {id: bb, title: b, benefit: {kind: amount_off, won: 2000}, stock: 9, eligibility: offered}\n  - {id: cc, title: c, benefit: {kind: amount_off, won: 3000}, stock: 9, eligibility: offered}\n";
        let ab = "variants:\n  - {name: A, weight: 50}\n  - {name: B, weight: 50}\n";
        let before = campaign(&format!("{offer}{ab}")).unwrap();
        assert!(
            before.experiment_warnings(&before).is_empty(),
            "the same file says nothing"
        );
        // The baseline removed: its people lose their coupon, and the holdout's baseline moves.
        let after = campaign(&format!(
            "{}{}",
            offer.replace("  - {id: aa", "  - {id: zz").replace(
                "eligibility: offered}\n  - {id: bb",
                "eligibility: everyone}\n  - {id: bb"
            ),
            ab
        ))
        .unwrap();
        let w = after.experiment_warnings(&before).join("\n");
        assert!(
            w.contains("'aa' is no longer offered") && w.contains("baseline is now 'bb', not 'aa'"),
            "{w}"
        );
        // New weights, and a variant gone.
        let after = campaign(&format!(
            "{offer}variants:\n  - {{name: A, weight: 90}}\n  - {{name: C, weight: 10}}\n"
        ))
        .unwrap();
        let w = after.experiment_warnings(&before).join("\n");
        assert!(
            w.contains("'B' is gone") && w.contains("new weights apply to people created from now on"),
            "{w}"
        );
    }

    #[test]
    fn bad_variants_are_refused_with_the_reason() {
        for (extra, why) in [
            ("variants:\n  - {name: A, weight: 100}\n", "2 to 4"),
            (
                "variants:\n  - {name: A, weight: 50}\n  - {name: B, weight: 40}\n",
                "100",
            ),
            (
                "variants:\n  - {name: A, weight: 50}\n  - {name: A, weight: 50}\n",
                "twice",
            ),
            (
                "variants:\n  - {name: A, weight: 50}\n  - {name: B, weight: 50, accent: red}\n",
                "colour",
            ),
            (
                "variants:\n  - {name: A, weight: 50}\n  - {name: B, weight: 50, blocks: [{type: button, label: x, url: 'javascript:x'}]}\n",
                "https",
            ),
            (
                "variants:\n  - {name: A, weight: 50}\n  - {name: B, weight: 50}\nsegments:\n  - {id: cc, rule: variant = C}\n",
                "variant 'C'",
            ),
            (
                "segments:\n  - {id: bb, rule: variant = B and clicked}\n",
                "none defined",
            ),
        ] {
            let err = campaign(extra).expect_err(extra);
            assert!(err.contains(why), "{extra}: {err}");
        }
    }
}
