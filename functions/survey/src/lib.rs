//! The M-Survey function (also the MCS store rating): `GET /s/{code}` shows the respondent's
//! current screen (intro, demographics, the question they stand at, or thanks), `POST /s/{code}`
//! saves one answer and moves on. The respondent is who the link says, never what they type.
//!
//! Browsers get pages (303 after each save; a refused answer re-renders in Korean with status
//! 400 and nothing stored). Programs sending `Accept: application/json` get JSON: the next
//! question, or a 400 with the reason.

use lambda_http::{Body, Request, Response};
use mcamp_core::campaign::Eligibility;
use mcamp_core::coupon::eligible;
use mcamp_core::events::EventData;
use mcamp_core::recipient::Recipient;
use mcamp_core::response::{Response as SurveyResponse, needs_demographics};
use mcamp_core::survey::{Next, SurveyDef};
use mcamp_core::values::{AgeBand, Gender};
use mcamp_http::pages::survey::{self, Reward, Screen, SurveyView};
use mcamp_http::pages::{ClaimShown, refresh_url};
use mcamp_http::personal::{self, Opened, Personal};
use mcamp_http::request::{form, query_param, repeated};
use mcamp_http::response::{html_response, json_response, see_other, wants_json};
use mcamp_http::routes::{Action, action_of};
use mcamp_http::tokens::{self, form_token};
use mcamp_http::{Flavor, HttpError, Web};
use mcamp_store::Db;
use mcamp_store::claims::{self, ClaimError};
use mcamp_store::surveys::SurveyError;
use serde::Deserialize;
use serde_json::json;

/// The survey of a campaign; `handle` refuses campaigns without one.
fn survey_of(p: &Personal) -> Option<&SurveyDef> {
    p.campaign().survey.as_ref()
}

pub async fn handle(web: &Web, req: Request) -> Response<Body> {
    let flavor = if wants_json(&req) { Flavor::Json } else { Flavor::Html };
    let opened = match mcamp_http::request::utf8_query(&req) {
        Ok(()) => personal::open(&web.app, &req).await,
        Err(e) => Err(e),
    };
    let result = match opened {
        Err(e) => Err(e),
        Ok(Opened::Redirect(code)) => Ok(see_other(format!("/{code}"))),
        Ok(Opened::Personal(p)) if survey_of(&p).is_none() => Err(HttpError::NotFound),
        Ok(Opened::Personal(p)) => match action_of(&req) {
            Some(Action::SurveyAnswer) => submit(web, &req, &p).await,
            Some(Action::SurveyScreen) => show(web, &req, &p).await,
            _ => Err(HttpError::MethodNotAllowed),
        },
    };
    result.unwrap_or_else(|e| e.into_response(flavor))
}

/// One screen's post: the answer's values come as repeated `v` fields (read apart).
#[derive(Deserialize)]
struct ScreenPost {
    #[serde(default)]
    token: String,
    /// The revision the page was drawn from.
    #[serde(default)]
    rev: Option<String>,
    /// The question id, or `_demo` for the demographics screen.
    #[serde(default)]
    q: String,
    /// Present when an optional question is skipped.
    #[serde(default)]
    skip: Option<String>,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    age_band: String,
}

/// The store an MCS visitor is rating, by name.
async fn store_name(db: &Db, r: &Recipient) -> Option<String> {
    let id = r.preferred_store.as_ref()?;
    db.store(id).await.ok().flatten().map(|s| s.name)
}

async fn render(
    web: &Web,
    p: &Personal,
    resp: Option<&SurveyResponse>,
    screen: Screen<'_>,
    status: u16,
) -> Result<Response<Body>, HttpError> {
    let def = survey_of(p).ok_or(HttpError::NotFound)?;
    let token = form_token(&web.site.secret, p.code.as_str());
    let store = store_name(&web.app.db, &p.recipient).await;
    let view = SurveyView {
        campaign: p.campaign(),
        survey: def,
        code: p.code.as_str(),
        token: &token,
        rev: resp.map_or(0, |r| r.rev),
        store_name: store.as_deref(),
        screen,
    };
    let mut r = html_response(status, survey::render(&view).into_string());
    r.headers_mut()
        .insert("cache-control", lambda_http::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The reward coupon's state for the thank-you screen.
async fn reward(web: &Web, req: &Request, p: &Personal, def: &SurveyDef) -> Result<Option<Reward>, HttpError> {
    let Some(coupon) = def.reward.as_ref().and_then(|id| p.campaign().coupon(id)) else {
        return Ok(None);
    };
    let claim = web
        .app
        .db
        .claims(&p.recipient.id, &coupon.id, coupon.per_person)
        .await?
        .pop();
    if let Some(c) = claim
        .as_ref()
        .filter(|c| c.status == mcamp_core::coupon::ClaimStatus::Pending)
    {
        p.redrive_pending(&web.app, c).await;
    }
    Ok(Some(match claim.as_ref().map(ClaimShown::of) {
        Some(ClaimShown::Pending) => Reward::Pending {
            refresh: refresh_url(req, &format!("/s/{}", p.code), ""),
        },
        Some(ClaimShown::SoldOut) => Reward::SoldOut,
        Some(ClaimShown::Issued { code, qr_svg }) => Reward::Issued { code, qr_svg },
        None if coupon.eligibility == Eligibility::SurveyAndFormCompleted => Reward::NeedsContact,
        None => match eligible(coupon, &p.recipient, p.customer.as_ref(), &p.segments, web.app.now()) {
            Ok(()) => Reward::NeedsContact,
            Err(e) => Reward::Blocked(e.to_string()),
        },
    }))
}

async fn show(web: &Web, req: &Request, p: &Personal) -> Result<Response<Body>, HttpError> {
    let def = survey_of(p).ok_or(HttpError::NotFound)?;
    let resp = web.app.db.survey_response(&p.recipient.id).await?;
    if wants_json(req) {
        return Ok(json_response(200, &state_json(def, resp.as_ref())));
    }
    if resp.as_ref().is_some_and(|r| r.completed_at.is_some()) {
        // Re-opening a finished survey says so; `done` marks the redirect right after finishing.
        let already = query_param(req, "done").is_none() && query_param(req, "w").is_none();
        let reward = reward(web, req, p, def).await?;
        return render(web, p, resp.as_ref(), Screen::Thanks { already, reward }, 200).await;
    }
    let answers = resp.as_ref().map(|r| r.answers.clone()).unwrap_or_default();
    let (path, at) = def.walk(&answers);
    if resp.is_none() && query_param(req, "start").is_none() {
        let event = p.event(web.app.now(), EventData::PageView { page: "survey".into() });
        web.app.record(&event).await;
        return render(web, p, None, Screen::Intro, 200).await;
    }
    if needs_demographics(def, &p.recipient, resp.as_ref()) {
        return render(web, p, resp.as_ref(), Screen::Demographics { error: None }, 200).await;
    }
    // `?q=` revisits an answered question on the path (the back link); anything else shows
    // where the respondent stands.
    let wanted = query_param(req, "q")
        .and_then(|q| def.index_of(&q))
        .filter(|i| path.contains(i));
    let index = match (wanted, at) {
        (Some(i), _) | (None, Next::Question(i)) => i,
        // A complete path is always saved as completed; show the last question if not.
        (None, Next::End) => path.last().copied().unwrap_or(0),
    };
    question_screen(web, p, resp.as_ref(), &path, index, None, None, 200).await
}

#[allow(clippy::too_many_arguments)]
async fn question_screen(
    web: &Web,
    p: &Personal,
    resp: Option<&SurveyResponse>,
    path: &[usize],
    index: usize,
    posted: Option<Vec<String>>,
    error: Option<String>,
    status: u16,
) -> Result<Response<Body>, HttpError> {
    let def = survey_of(p).ok_or(HttpError::NotFound)?;
    let q = def.questions.get(index).ok_or(HttpError::NotFound)?;
    let values = posted
        .unwrap_or_else(|| survey::answer_values(resp.and_then(|r| r.answers.get(&q.id)).and_then(Option::as_ref)));
    let pos = path.iter().position(|&i| i == index).unwrap_or(path.len());
    let back = pos
        .checked_sub(1)
        .and_then(|p| path.get(p))
        .map(|&i| def.questions[i].id.as_str());
    let screen = Screen::Question {
        index,
        values,
        error,
        back,
    };
    render(web, p, resp, screen, status).await
}

/// Where the respondent stands, for programs.
fn state_json(def: &SurveyDef, resp: Option<&SurveyResponse>) -> serde_json::Value {
    let answers = resp.map(|r| r.answers.clone()).unwrap_or_default();
    let (_, at) = def.walk(&answers);
    let next = match at {
        Next::Question(i) => Some(def.questions[i].id.clone()),
        Next::End => None,
    };
    json!({
        "completed": resp.is_some_and(|r| r.completed_at.is_some()),
        "next": next,
        "answers": answers,
        "rev": resp.map_or(0, |r| r.rev),
    })
}

async fn submit(web: &Web, req: &Request, p: &Personal) -> Result<Response<Body>, HttpError> {
    let def = survey_of(p).ok_or(HttpError::NotFound)?;
    let post: ScreenPost = form(req)?;
    tokens::check(&web.site.secret, p.code.as_str(), &post.token)?;
    let json = wants_json(req);
    let resp = web.app.db.survey_response(&p.recipient.id).await?;
    if resp.as_ref().is_some_and(|r| r.completed_at.is_some()) {
        return if json {
            Err(HttpError::Conflict(
                json!({"error": "already_completed", "reason": "설문에 이미 참여하셨어요."}),
            ))
        } else {
            Ok(see_other(format!("/s/{}", p.code)))
        };
    }
    // A page posts the revision it was drawn from: a post from a stale page (another tab
    // moved on) is refused and the current screen shown, never applied on top.
    if let (Some(posted), Some(current)) = (post.rev.as_deref().and_then(|r| r.parse::<u64>().ok()), resp.as_ref())
        && posted != current.rev
    {
        return refused(web, req, p, resp.as_ref(), SurveyError::Conflict, json).await;
    }
    let now = web.app.now();
    let qid = post.q.as_str();
    let saved = if qid == "_demo" {
        let gender = match post.gender.as_str() {
            "" => None,
            g => Some(Gender::parse(g).map_err(|e| HttpError::BadRequest(e.to_string()))?),
        };
        let age = match post.age_band.as_str() {
            "" => None,
            a => Some(AgeBand::parse(a).map_err(|e| HttpError::BadRequest(e.to_string()))?),
        };
        web.app
            .db
            .save_demographics(def, &p.recipient, resp.clone(), gender, age, now)
            .await
    } else {
        let Some(index) = def.index_of(qid) else {
            return Err(HttpError::BadRequest(format!("q: no question '{qid}' in this survey")));
        };
        let q = &def.questions[index];
        let values = if post.skip.is_some() {
            Vec::new()
        } else {
            repeated(req, "v")?
        };
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        match q.parse_answer(&values) {
            Ok(answer) => {
                web.app
                    .db
                    .save_answer(def, &p.recipient, resp.clone(), qid, answer, now)
                    .await
            }
            Err(e) => Err(SurveyError::Answer {
                question: qid.to_owned(),
                reason: e,
            }),
        }
    };
    match saved {
        Ok(r) => {
            if r.completed_at.is_some() {
                count_once(web, p, def, &r).await;
                claim_reward(web, p, def, &r).await;
            }
            if json {
                Ok(json_response(200, &state_json(def, Some(&r))))
            } else if r.completed_at.is_some() {
                Ok(see_other(format!("/s/{}?done=1", p.code)))
            } else {
                Ok(see_other(format!("/s/{}", p.code)))
            }
        }
        Err(e) => refused(web, req, p, resp.as_ref(), e, json).await,
    }
}

/// A refused save: JSON with the reason, or the screen again with a Korean message.
async fn refused(
    web: &Web,
    req: &Request,
    p: &Personal,
    resp: Option<&SurveyResponse>,
    e: SurveyError,
    json: bool,
) -> Result<Response<Body>, HttpError> {
    let def = survey_of(p).ok_or(HttpError::NotFound)?;
    let (status, message) = match &e {
        SurveyError::Answer { reason, .. } => (400, reason.to_string()),
        SurveyError::UnknownQuestion(_) => (400, "알 수 없는 질문이에요.".to_owned()),
        SurveyError::NotOnPath(_) => (409, "앞의 질문에 먼저 답해 주세요.".to_owned()),
        SurveyError::Conflict => (
            409,
            "이 화면은 지난 화면이에요. 지금 답할 질문을 보여 드릴게요.".to_owned(),
        ),
        SurveyError::AlreadyCompleted if json => (409, "설문에 이미 참여하셨어요.".to_owned()),
        SurveyError::AlreadyCompleted => return Ok(see_other(format!("/s/{}", p.code))),
        SurveyError::Db(_) => return Err(HttpError::Internal(Box::new(e))),
    };
    if json {
        let body = json!({ "error": e.to_string(), "reason": message });
        return Ok(json_response(status, &body));
    }
    let answers = resp.map(|r| r.answers.clone()).unwrap_or_default();
    let (path, at) = def.walk(&answers);
    let posted_q = match &e {
        SurveyError::Answer { question, .. } => def.index_of(question),
        _ => None,
    };
    let index = match (posted_q, at) {
        (Some(i), _) | (None, Next::Question(i)) => i,
        (None, Next::End) => return Ok(see_other(format!("/s/{}", p.code))),
    };
    // Show what they typed (an over-long text stays editable), never store it.
    let posted = if matches!(e, SurveyError::Answer { .. }) {
        Some(repeated(req, "v")?)
    } else {
        None
    };
    question_screen(web, p, resp, &path, index, posted, Some(message), status).await
}

/// MCS: a rater already known as a customer (their phone came first) counts once per store
/// and day; the others are checked when their phone comes (the page's form).
async fn count_once(web: &Web, p: &Personal, def: &SurveyDef, done: &SurveyResponse) {
    let Some(customer) = &p.recipient.customer else {
        return;
    };
    let c = p.campaign();
    if let Err(e) = web
        .app
        .db
        .count_rating_once(def, c.brand(), customer, &p.recipient, Some(done), web.app.now())
        .await
    {
        tracing::error!(error = %mcamp_http::error::chain(&e), "rating not checked against the customer's day");
    }
}

/// Claims the reward coupon through the coupon pipeline. A refusal (sold out, needs the
/// contact form first) is shown on the thank-you screen, not an error of the save.
async fn claim_reward(web: &Web, p: &Personal, def: &SurveyDef, done: &SurveyResponse) {
    let Some(coupon) = &def.reward else {
        return;
    };
    // The recipient as the completing save left it: no second read of the profile.
    let recipient = Recipient {
        survey_completed_at: done.completed_at,
        ..p.recipient.clone()
    };
    match claims::claim(
        &web.app.db,
        web.app.queue.as_ref(),
        p.campaign(),
        &recipient,
        p.customer.as_ref(),
        coupon,
        web.app.now(),
    )
    .await
    {
        Ok(_) | Err(ClaimError::Ineligible(_)) => {}
        Err(e) => tracing::error!(error = %mcamp_http::error::chain(&e), coupon = %coupon, "reward not claimed"),
    }
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_http::lambda::env()
}
