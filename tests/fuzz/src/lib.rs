//! The fuzz targets: each takes arbitrary bytes to one parser of outside input and checks what
//! must hold whatever the input (no panic, and the parser's own promise). `cargo fuzz` drives
//! them (`make fuzz`); the tests below replay the committed corpus and every regression on
//! stable, in `make test`.

use std::sync::{Arc, OnceLock};

use lambda_http::{Body, Request};
use mcamp_core::campaign::Campaign;
use mcamp_core::customer::PhoneKey;
use mcamp_core::values::ShortCode;

/// A short code from a request path: parsed, it is exactly what was given and parses again.
pub fn short_code(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = ShortCode::parse(text) {
        assert_eq!(code.as_str(), text);
        assert!(ShortCode::parse(code.as_str()).is_ok());
        assert!(code.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}

/// The user-agent classifier (the first byte picks GET or HEAD): a HEAD is never a click,
/// and the same header always classifies the same.
pub fn user_agent(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    // Header values reach the classifier only as visible text.
    let Ok(ua) = std::str::from_utf8(rest) else {
        return;
    };
    let head = first & 1 == 1;
    let info = mcamp_http::ua::classify(head, Some(ua));
    assert!(!(head && info.counts_as_click()), "a HEAD counted as a click: {ua:?}");
    assert_eq!(info, mcamp_http::ua::classify(head, Some(ua)));
}

fn info_form() -> mcamp_core::campaign::InfoForm {
    mcamp_core::campaign::InfoForm {
        fields: vec![
            mcamp_core::campaign::FormField::Name,
            mcamp_core::campaign::FormField::Phone,
            mcamp_core::campaign::FormField::Gender,
            mcamp_core::campaign::FormField::BirthYear,
        ],
        consent_version: "v1".into(),
        privacy_consent: "p".into(),
        marketing_consent: "m".into(),
        stores: None,
    }
}

/// A form post's body through the real decoder and the info form's parser: whatever decodes
/// is valid UTF-8 within the body cap, and a parsed submission holds only checked values.
pub fn form(data: &[u8]) {
    let mut req = Request::new(Body::Binary(data.to_vec()));
    req.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Ok(vs) = mcamp_http::request::repeated(&req, "v") {
        assert!(data.len() <= mcamp_http::request::MAX_BODY);
        assert!(vs.len() <= data.len());
    }
    let Ok(post) = mcamp_http::request::form::<mcamp_page::form::InfoPost>(&req) else {
        return;
    };
    assert!(data.len() <= mcamp_http::request::MAX_BODY);
    if let Ok(s) = mcamp_page::form::parse(&info_form(), &post, 2026) {
        // A canonical domestic mobile number (010, or the older 011/016-019), stable on reparse.
        let phone = s.phone.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default();
        assert!(
            (10..=11).contains(&phone.len()) && phone.starts_with("01") && phone.bytes().all(|b| b.is_ascii_digit()),
            "{phone:?}"
        );
        assert!(mcamp_core::values::PhoneNumber::parse(&phone).is_ok_and(|p| p.as_str() == phone));
        if let Some(name) = &s.name {
            assert!(mcamp_core::values::visible_text(name, false), "{name:?}");
        }
    }
}

fn example(dir: &str) -> Option<Campaign> {
    let path = format!("{}/../../examples/{dir}/campaign.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).ok()?;
    mcamp_ops::campaign_file::parse("example", &text).ok()
}

fn survey_campaign() -> Option<&'static Campaign> {
    static SURVEY: OnceLock<Option<Campaign>> = OnceLock::new();
    SURVEY.get_or_init(|| example("survey")).as_ref()
}

/// A survey answer (the first byte picks the question of the example survey, the rest is its
/// values split at NUL): an accepted answer fits its question.
pub fn survey_answer(data: &[u8]) {
    let Some(def) = survey_campaign().and_then(|c| c.survey.as_ref()) else {
        return;
    };
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Some(q) = def.questions.get(usize::from(first) % def.questions.len().max(1)) else {
        return;
    };
    // Posted values reach the parser as text (invalid UTF-8 is refused before).
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let values: Vec<&str> = text.split('\0').collect();
    if let Ok(Some(answer)) = q.parse_answer(&values) {
        assert!(q.accepts(&answer), "{answer:?} does not fit {}", q.id);
    }
}

/// A recipients file through the importer, into an in-memory store: it never panics, and
/// every row is imported, a duplicate or rejected with its row number and a reason.
pub fn csv_import(data: &[u8]) {
    static DEMO: OnceLock<Option<Campaign>> = OnceLock::new();
    let Some(campaign) = DEMO.get_or_init(|| example("demo")).as_ref() else {
        return;
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return;
    };
    let Ok(key) = PhoneKey::parse("fuzz-phone-key-0123456789abcdef-0123") else {
        return;
    };
    let Ok(store) = mcamp_embedded::Embedded::temporary() else {
        return;
    };
    let db = mcamp_store::Db::new(Arc::new(store));
    let input = std::io::Cursor::new(data.to_vec());
    let now = chrono::Utc::now();
    if let Ok(r) = rt.block_on(mcamp_ops::import::import_recipients(
        &db,
        campaign,
        &key,
        input,
        now,
        &|_| {},
    )) {
        assert!(r.imported + r.duplicates + r.rejected.len() <= r.rows + 1, "{r:?}");
        assert!(
            r.rejected.iter().all(|x| x.row >= 2 && !x.reason.is_empty()),
            "{:?}",
            r.rejected
        );
    }
}

/// A campaign file: whatever parses passes the campaign's own checks, and reads back the same
/// after it is stored as JSON (what `campaign push` writes).
pub fn campaign_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = mcamp_ops::campaign_file::parse("fuzz.yaml", text) {
        assert!(c.check().is_ok());
        if let Ok(json) = serde_json::to_string(&c) {
            let back: Result<Campaign, _> = serde_json::from_str(&json);
            assert!(back.is_ok_and(|b| b == c), "{json}");
        }
    }
}

#[cfg(test)]
mod replay {
    use std::path::Path;

    /// Every committed input of `target`: its corpus (seeds and what fuzzing kept) and the
    /// inputs that once crashed it (`regressions/`).
    fn replay(target: &str, run: fn(&[u8])) -> std::io::Result<usize> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for dir in ["corpus", "regressions"] {
            let dir = root.join(dir).join(target);
            if !dir.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_file() {
                    run(&std::fs::read(&path)?);
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    macro_rules! replays {
        ($($target:ident),*) => {$(
            #[test]
            fn $target() -> std::io::Result<()> {
                let n = replay(stringify!($target), super::$target)?;
                assert!(n > 0, "no corpus for {}", stringify!($target));
                Ok(())
            }
        )*};
    }
    replays!(short_code, user_agent, form, survey_answer, csv_import, campaign_file);
}
