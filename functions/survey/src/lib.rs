//! The M-Survey function (also the MCS store rating): `GET /s/{code}` shows the respondent's
//! current screen (intro, demographics, the question they stand at, or thanks), `POST /s/{code}`
//! saves one answer and moves on. The respondent is who the link says, never what they type.
//!
//! Browsers get pages (303 after each save; a refused answer re-renders in Korean with status
//! 400 and nothing stored). Programs sending `Accept: application/json` get JSON: the next
//! question, or a 400 with the reason.

use lambda_http::{Body, Request, Response};
use mcamp_domain::campaign::Eligibility;
use mcamp_domain::coupons::{self, ClaimError};
use mcamp_domain::db::Db;
use mcamp_domain::db::coupons::ClaimStatus;
use mcamp_domain::db::recipients::Recipient;
use mcamp_domain::db::surveys::{Response as SurveyResponse, SurveyError};
use mcamp_domain::events::EventData;
use mcamp_domain::survey::{Next, SurveyDef};
use mcamp_domain::values::{AgeBand, Gender};
use mcamp_http::error::{html_response, json_response};
use mcamp_http::pages::survey::{self, Reward, Screen, SurveyView};
use mcamp_http::personal::{self, Opened, Personal, see_other, wants_json};
use mcamp_http::request::{form as form_fields, query_param};
use mcamp_http::tokens::{form_token, token_ok};
use mcamp_http::{App, Flavor, HttpError};
use serde_json::json;

type Ctx = Personal;

/// The survey of a campaign; `handle` refuses campaigns without one.
fn survey_of(ctx: &Ctx) -> Option<&SurveyDef> {
    ctx.campaign().survey.as_ref()
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let flavor = if wants_json(&req) { Flavor::Json } else { Flavor::Html };
    let result = match personal::open(app, &req).await {
        Err(e) => Err(e),
        Ok(Opened::Redirect(code)) => Ok(see_other(format!("/{code}"))),
        Ok(Opened::Personal(ctx)) if survey_of(&ctx).is_none() => Err(HttpError::NotFound),
        Ok(Opened::Personal(ctx)) => {
            if req.method() == lambda_http::http::Method::POST {
                submit(app, &req, &ctx).await
            } else {
                show(app, &req, &ctx).await
            }
        }
    };
    result.unwrap_or_else(|e| e.into_response(flavor))
}

/// The store an MCS visitor is rating, by name.
async fn store_name(db: &Db, r: &Recipient) -> Option<String> {
    let id = r.preferred_store.as_ref()?;
    db.store(id).await.ok().flatten().map(|s| s.name)
}

async fn render(
    app: &App,
    ctx: &Ctx,
    resp: Option<&SurveyResponse>,
    screen: Screen<'_>,
    status: u16,
) -> Result<Response<Body>, HttpError> {
    let def = survey_of(ctx).ok_or(HttpError::NotFound)?;
    let token = form_token(&app.config.secret, ctx.code.as_str());
    let store = store_name(&app.db, &ctx.recipient).await;
    let view = SurveyView {
        campaign: ctx.campaign(),
        survey: def,
        code: ctx.code.as_str(),
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
async fn reward(app: &App, req: &Request, ctx: &Ctx, def: &SurveyDef) -> Result<Option<Reward>, HttpError> {
    let Some(coupon) = def.reward.as_ref().and_then(|id| ctx.campaign().coupon(id)) else {
        return Ok(None);
    };
    let claim = app
        .db
        .claims(&ctx.recipient.id, &coupon.id, coupon.per_person)
        .await?
        .pop();
    Ok(Some(match claim {
        Some(c) => match c.status {
            ClaimStatus::Pending => {
                // Each reload asks for the next `w`, so the refresh is a real navigation.
                let w: u32 = query_param(req, "w").and_then(|w| w.parse().ok()).unwrap_or(0);
                Reward::Pending {
                    refresh: format!("/s/{}?w={}", ctx.code, w.saturating_add(1)),
                }
            }
            ClaimStatus::SoldOut => Reward::SoldOut,
            ClaimStatus::Issued => {
                let code = c.code.map(|c| c.to_string()).unwrap_or_default();
                let qr_svg = mcamp_http::pages::qr::svg(&code).unwrap_or_default();
                Reward::Issued { code, qr_svg }
            }
        },
        None if coupon.eligibility == Eligibility::SurveyAndFormCompleted => Reward::NeedsContact,
        None => match coupons::eligible(coupon, &ctx.recipient, app.now()) {
            Ok(()) => Reward::NeedsContact,
            Err(e) => Reward::Blocked(e.to_string()),
        },
    }))
}

async fn show(app: &App, req: &Request, ctx: &Ctx) -> Result<Response<Body>, HttpError> {
    let def = survey_of(ctx).ok_or(HttpError::NotFound)?;
    let resp = app.db.survey_response(&ctx.recipient.id).await?;
    if wants_json(req) {
        return Ok(json_response(200, &state_json(def, resp.as_ref())));
    }
    if resp.as_ref().is_some_and(|r| r.completed_at.is_some()) {
        // Re-opening a finished survey says so; `done` marks the redirect right after finishing.
        let already = query_param(req, "done").is_none() && query_param(req, "w").is_none();
        let reward = reward(app, req, ctx, def).await?;
        return render(app, ctx, resp.as_ref(), Screen::Thanks { already, reward }, 200).await;
    }
    let answers = resp.as_ref().map(|r| r.answers.clone()).unwrap_or_default();
    let (path, at) = def.walk(&answers);
    if resp.is_none() && query_param(req, "start").is_none() {
        let event = ctx.event(app.now(), EventData::PageView { page: "survey".into() });
        if let Err(e) = app.db.append_event(&event).await {
            tracing::error!(error = %e, "page view not recorded");
        }
        return render(app, ctx, None, Screen::Intro, 200).await;
    }
    if Db::needs_demographics(def, &ctx.recipient, resp.as_ref()) {
        return render(app, ctx, resp.as_ref(), Screen::Demographics { error: None }, 200).await;
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
    question_screen(app, ctx, resp.as_ref(), &path, index, None, None, 200).await
}

#[allow(clippy::too_many_arguments)]
async fn question_screen(
    app: &App,
    ctx: &Ctx,
    resp: Option<&SurveyResponse>,
    path: &[usize],
    index: usize,
    posted: Option<Vec<String>>,
    error: Option<String>,
    status: u16,
) -> Result<Response<Body>, HttpError> {
    let def = survey_of(ctx).ok_or(HttpError::NotFound)?;
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
    render(app, ctx, resp, screen, status).await
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

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn submit(app: &App, req: &Request, ctx: &Ctx) -> Result<Response<Body>, HttpError> {
    let def = survey_of(ctx).ok_or(HttpError::NotFound)?;
    let fields = form_fields(req)?;
    if !token_ok(
        &app.config.secret,
        ctx.code.as_str(),
        field(&fields, "token").unwrap_or(""),
    ) {
        return Err(HttpError::Forbidden(
            "the form token does not match this link; reload the page".into(),
        ));
    }
    let json = wants_json(req);
    let resp = app.db.survey_response(&ctx.recipient.id).await?;
    if resp.as_ref().is_some_and(|r| r.completed_at.is_some()) {
        return if json {
            Err(HttpError::Conflict(
                json!({"error": "already_completed", "reason": "설문에 이미 참여하셨어요."}),
            ))
        } else {
            Ok(see_other(format!("/s/{}", ctx.code)))
        };
    }
    // A page posts the revision it was drawn from: a post from a stale page (another tab
    // moved on) is refused and the current screen shown, never applied on top.
    if let (Some(posted), Some(current)) = (field(&fields, "rev").and_then(|r| r.parse::<u64>().ok()), resp.as_ref())
        && posted != current.rev
    {
        return refused(app, req, ctx, resp.as_ref(), SurveyError::Conflict, json).await;
    }
    let now = app.now();
    let qid = field(&fields, "q").unwrap_or("");
    let saved = if qid == "_demo" {
        let gender = match field(&fields, "gender").unwrap_or("") {
            "" => None,
            g => Some(Gender::parse(g).map_err(|e| HttpError::BadRequest(e.to_string()))?),
        };
        let age = match field(&fields, "age_band").unwrap_or("") {
            "" => None,
            a => Some(AgeBand::parse(a).map_err(|e| HttpError::BadRequest(e.to_string()))?),
        };
        app.db
            .save_demographics(def, &ctx.recipient, resp.clone(), gender, age, now)
            .await
    } else {
        let Some(index) = def.index_of(qid) else {
            return Err(HttpError::BadRequest(format!("q: no question '{qid}' in this survey")));
        };
        let q = &def.questions[index];
        let skip = field(&fields, "skip").is_some();
        let values: Vec<&str> = if skip {
            Vec::new()
        } else {
            fields
                .iter()
                .filter(|(k, _)| k == "v")
                .map(|(_, v)| v.as_str())
                .collect()
        };
        match q.parse_answer(&values) {
            Ok(answer) => {
                app.db
                    .save_answer(def, &ctx.recipient, resp.clone(), qid, answer, now)
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
                claim_reward(app, ctx, def, &r).await;
            }
            if json {
                Ok(json_response(200, &state_json(def, Some(&r))))
            } else if r.completed_at.is_some() {
                Ok(see_other(format!("/s/{}?done=1", ctx.code)))
            } else {
                Ok(see_other(format!("/s/{}", ctx.code)))
            }
        }
        Err(e) => refused(app, req, ctx, resp.as_ref(), e, json).await,
    }
}

/// A refused save: JSON with the reason, or the screen again with a Korean message.
async fn refused(
    app: &App,
    req: &Request,
    ctx: &Ctx,
    resp: Option<&SurveyResponse>,
    e: SurveyError,
    json: bool,
) -> Result<Response<Body>, HttpError> {
    let def = survey_of(ctx).ok_or(HttpError::NotFound)?;
    let (status, message) = match &e {
        SurveyError::Answer { reason, .. } => (400, reason.to_string()),
        SurveyError::UnknownQuestion(_) => (400, "알 수 없는 질문이에요.".to_owned()),
        SurveyError::NotOnPath(_) => (409, "앞의 질문에 먼저 답해 주세요.".to_owned()),
        SurveyError::Conflict => (
            409,
            "이 화면은 지난 화면이에요. 지금 답할 질문을 보여 드릴게요.".to_owned(),
        ),
        SurveyError::AlreadyCompleted if json => (409, "설문에 이미 참여하셨어요.".to_owned()),
        SurveyError::AlreadyCompleted => return Ok(see_other(format!("/s/{}", ctx.code))),
        SurveyError::Db(d) => return Err(HttpError::Internal(d.to_string())),
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
        (None, Next::End) => return Ok(see_other(format!("/s/{}", ctx.code))),
    };
    // Show what they typed (an over-long text stays editable), never store it.
    let posted = if matches!(e, SurveyError::Answer { .. }) {
        let fields = form_fields(req)?;
        Some(fields.into_iter().filter(|(k, _)| k == "v").map(|(_, v)| v).collect())
    } else {
        None
    };
    question_screen(app, ctx, resp, &path, index, posted, Some(message), status).await
}

/// Claims the reward coupon through the coupon pipeline. A refusal (sold out, needs the
/// contact form first) is shown on the thank-you screen, not an error of the save.
async fn claim_reward(app: &App, ctx: &Ctx, def: &SurveyDef, done: &SurveyResponse) {
    let Some(coupon) = &def.reward else {
        return;
    };
    // The recipient as the completing save left it: no second read of the profile.
    let recipient = Recipient {
        survey_completed_at: done.completed_at,
        ..ctx.recipient.clone()
    };
    match coupons::claim(
        &app.db,
        app.queue.as_ref(),
        ctx.campaign(),
        &recipient,
        coupon,
        app.now(),
    )
    .await
    {
        Ok(_) | Err(ClaimError::NotEligible(_)) | Err(ClaimError::OutsideWindow) => {}
        Err(e) => tracing::error!(error = %e, coupon = %coupon, "reward not claimed"),
    }
}
