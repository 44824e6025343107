//! `POST /p/{code}/form`: the info form, parsed (every field the campaign asks for, checked,
//! with Korean messages for each field that fails) and saved with the consent changes it
//! makes. Nothing is stored unless the whole form parses.

use chrono::Datelike;
use lambda_http::{Body, Request, Response};
use mcamp_core::campaign::{FormField, InfoForm};
use mcamp_core::consent;
use mcamp_core::events::EventData;
use mcamp_core::recipient::RecipientSource;
use mcamp_core::values::{AgeBand, BirthYear, Gender, PhoneNumber, StoreId};
use mcamp_http::pages::mdm::FormValues;
use mcamp_http::personal::Personal;
use mcamp_http::request::form;
use mcamp_http::response::see_other;
use mcamp_http::{HttpError, Web, tokens};
use mcamp_store::customers::CustomerChange;
use serde::Deserialize;
use serde_json::json;

/// The posted form, as typed; every field optional so a missing one gets its Korean message.
#[derive(Debug, Default, Deserialize)]
pub struct InfoPost {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub gender: String,
    #[serde(default)]
    pub birth_year: String,
    #[serde(default)]
    pub age_band: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub store: String,
    #[serde(default)]
    pub privacy: String,
    #[serde(default)]
    pub marketing: String,
}

const MAX_NAME: usize = 50;
const MAX_REGION: usize = 40;

/// A submitted form that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct InfoSubmission {
    pub name: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub gender: Option<Gender>,
    pub birth_year: Option<BirthYear>,
    pub age_band: Option<AgeBand>,
    pub region: Option<String>,
    pub store: Option<StoreId>,
    pub marketing: bool,
}

/// No control or invisible characters (`values::visible_text`).
fn clean_text(s: &str) -> bool {
    mcamp_core::values::visible_text(s, false)
}

/// Parses the posted fields against the campaign's form. On failure returns the values as typed
/// (to fill the form again) with an error per field.
pub fn parse(def: &InfoForm, post: &InfoPost, this_year: u32) -> Result<InfoSubmission, Box<FormValues>> {
    let v = |s: &str| s.trim().to_owned();
    let mut shown = FormValues {
        name: v(&post.name),
        phone: v(&post.phone),
        gender: v(&post.gender),
        birth_year: v(&post.birth_year),
        age_band: v(&post.age_band),
        region: v(&post.region),
        store: v(&post.store),
        privacy: post.privacy.trim() == "yes",
        marketing: post.marketing.trim() == "yes",
        errors: Vec::new(),
    };
    let asks = |f: FormField| def.fields.contains(&f);
    let mut out = InfoSubmission {
        name: None,
        phone: None,
        gender: None,
        birth_year: None,
        age_band: None,
        region: None,
        store: None,
        marketing: shown.marketing,
    };
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    if asks(FormField::Name) {
        let n = shown.name.as_str();
        if n.is_empty() {
            errors.push(("name", "이름을 입력해 주세요.".into()));
        } else if n.chars().count() > MAX_NAME {
            errors.push(("name", "이름은 50자까지 입력할 수 있어요.".into()));
        } else if !clean_text(n) {
            errors.push(("name", "이름에 쓸 수 없는 문자가 있어요.".into()));
        } else {
            out.name = Some(n.to_owned());
        }
    }
    if asks(FormField::Phone) {
        match PhoneNumber::parse(&shown.phone) {
            Ok(p) => out.phone = Some(p),
            Err(_) => errors.push(("phone", "휴대폰 번호를 010-1234-5678 형식으로 입력해 주세요.".into())),
        }
    }
    if asks(FormField::Gender) && !shown.gender.is_empty() {
        match Gender::parse(&shown.gender) {
            Ok(g) => out.gender = Some(g),
            Err(_) => errors.push(("gender", "성별을 다시 선택해 주세요.".into())),
        }
    }
    if asks(FormField::BirthYear) && !shown.birth_year.is_empty() {
        match BirthYear::parse(&shown.birth_year, this_year) {
            Ok(b) => {
                out.birth_year = Some(b);
                out.age_band = Some(b.age_band(this_year));
            }
            Err(_) => errors.push((
                "birth_year",
                format!("출생연도를 1990처럼 네 자리로 입력해 주세요 (1900~{this_year})."),
            )),
        }
    }
    if asks(FormField::AgeBand) && !shown.age_band.is_empty() {
        match AgeBand::parse(&shown.age_band) {
            Ok(a) => out.age_band = Some(a),
            Err(_) => errors.push(("age_band", "연령대를 다시 선택해 주세요.".into())),
        }
    }
    if asks(FormField::Region) && !shown.region.is_empty() {
        if shown.region.chars().count() > MAX_REGION || !clean_text(&shown.region) {
            errors.push(("region", "지역은 40자까지 입력할 수 있어요.".into()));
        } else {
            out.region = Some(shown.region.clone());
        }
    }
    if asks(FormField::PreferredStore) && !shown.store.is_empty() {
        let known = def
            .stores
            .as_ref()
            .is_some_and(|s| s.iter().any(|o| o.id.as_str() == shown.store));
        match StoreId::parse(&shown.store) {
            Ok(s) if known => out.store = Some(s),
            _ => errors.push(("store", "매장을 목록에서 선택해 주세요.".into())),
        }
    }
    if !shown.privacy {
        errors.push(("privacy", "개인정보 수집·이용에 동의해야 참여할 수 있어요.".into()));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        shown.errors = errors;
        // A page never carries a phone number back, not even the one just typed.
        shown.phone = String::new();
        Err(Box::new(shown))
    }
}

/// Saves the form in one transaction: the profile (set only), the customer the typed phone
/// is (created when new), the consent changes with their ledger entries, and the events.
///
/// The typed phone decides who this is. On a link whose recipient has a number on record, a
/// different number is somebody else (a forwarded link): they join as a new visitor, credited
/// to the link's owner, and the owner's record and consent are untouched. A marketing consent
/// is confirmed only when the number is the one the brand imported for this very link;
/// otherwise it waits for the confirmation link the next send list carries.
pub(crate) async fn submit(web: &Web, req: &Request, p: &Personal) -> Result<Response<Body>, HttpError> {
    let post: InfoPost = form(req)?;
    tokens::check(&web.site.secret, p.code.as_str(), &post.token)?;
    let c = p.campaign();
    let Some(def) = c.form.as_ref() else {
        return Err(HttpError::NotFound);
    };
    let db = &web.app.db;
    let now = web.app.now();
    let submitted = match parse(def, &post, now.year().max(1900) as u32) {
        Ok(s) => s,
        // Nothing stored: the form comes back with the typed values and a message per field.
        Err(values) => {
            return crate::view::page(web, req, p, Some(*values), Some("입력한 내용을 확인해 주세요."), 400).await;
        }
    };
    // `Campaign::check` requires the phone in every form; the parse requires it filled.
    let phone = submitted
        .phone
        .clone()
        .ok_or_else(|| HttpError::BadRequest("phone: required".into()))?;
    let key = web.site.phone_key.customer_key(c.brand(), &phone);
    let owner = p.recipient.customer.as_ref().is_none_or(|k| *k == key);
    let mut r = if owner {
        p.recipient.clone()
    } else {
        // Not a share: the reader of a forwarded link joins as themself, whatever its fan-out,
        // within their network's hourly window of new visitors.
        let network = web.network_window(req, c);
        db.add_visitor(&p.recipient, c, u32::MAX, network, now).await?
    };
    // The customer the typed number is: the one on record, or whoever it is in the brand.
    let before = match &p.customer {
        Some(known) if owner && known.key == key => Some(known.clone()),
        _ => db.customer(c.brand(), &key).await?,
    };
    // Linked to this customer before the submit: the number on record was typed again.
    let linked = r.customer.as_ref() == Some(&key);
    let confirmed = owner && linked && r.source == RecipientSource::Import;
    r.name = submitted.name.clone().or(r.name);
    r.phone = Some(phone.clone());
    r.gender = submitted.gender.or(r.gender);
    r.birth_year = submitted.birth_year.or(r.birth_year);
    r.age_band = submitted.age_band.or(r.age_band);
    r.region = submitted.region.or(r.region);
    r.preferred_store = submitted.store.or(r.preferred_store);
    r.form_completed_at = r.form_completed_at.or(Some(now));
    let known = before.is_some();
    let consents = before.map(|b| b.consents).unwrap_or_default();
    let mut changes = consent::form_changes(&consents, submitted.marketing, &def.consent_version, confirmed);
    if !linked {
        // Typing somebody's number on a new link may add an unconfirmed consent, never take
        // one away or rename them.
        changes.retain(|c| c.granted);
    }
    let names: Vec<String> = def
        .fields
        .iter()
        .map(|f| json!(f).as_str().unwrap_or("").to_owned())
        .collect();
    let change = CustomerChange {
        phone: Some(phone),
        name: if linked || !known { submitted.name } else { None },
        consents: changes,
        keep_until: c.keep_until(),
        recipient: Some(&r),
        save_profile: true,
        campaign: Some(&c.id),
        events: vec![EventData::FormSubmitted { fields: names }],
        ..CustomerChange::new(c.brand(), &key, now)
    };
    db.change_customer(&change).await?;
    if let Some(survey) = &c.survey {
        // MCS: now that the rater is a known customer, their rating counts once per store
        // and day. The contact is saved whatever happens here.
        if let Err(e) = db.count_rating_once(survey, c.brand(), &key, &r, None, now).await {
            tracing::error!(error = %mcamp_http::error::chain(&e), "rating not checked against the customer's day");
        }
    }
    Ok(see_other(format!("/p/{}?m=saved#coupon", r.code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> InfoForm {
        InfoForm {
            fields: vec![
                FormField::Name,
                FormField::Phone,
                FormField::Gender,
                FormField::BirthYear,
            ],
            consent_version: "v1".into(),
            privacy_consent: "p".into(),
            marketing_consent: "m".into(),
            stores: None,
        }
    }

    fn f(pairs: &[(&str, &str)]) -> InfoPost {
        let mut post = InfoPost::default();
        for (k, v) in pairs {
            let v = (*v).to_owned();
            match *k {
                "name" => post.name = v,
                "phone" => post.phone = v,
                "gender" => post.gender = v,
                "birth_year" => post.birth_year = v,
                "privacy" => post.privacy = v,
                _ => {}
            }
        }
        post
    }

    #[test]
    fn a_good_form_parses_with_marketing_off() {
        let s = parse(
            &def(),
            &f(&[
                ("name", "김민지"),
                ("phone", "010-1234-5678"),
                ("gender", "female"),
                ("birth_year", "1995"),
                ("privacy", "yes"),
            ]),
            2026,
        )
        .unwrap();
        assert_eq!(s.name.as_deref(), Some("김민지"));
        assert_eq!(s.phone.map(|p| p.as_str().to_owned()).as_deref(), Some("01012345678"));
        assert!(!s.marketing);
        assert_eq!(s.age_band, Some(AgeBand::Thirties));
    }

    #[test]
    fn every_bad_field_gets_a_korean_message() {
        let e = parse(
            &def(),
            &f(&[
                ("name", ""),
                ("phone", "02-123"),
                ("gender", "x"),
                ("birth_year", "3000"),
            ]),
            2026,
        )
        .unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["name", "phone", "gender", "birth_year", "privacy"]);
        assert_eq!(e.phone, "", "a typed phone is never sent back in a page");
    }
}
