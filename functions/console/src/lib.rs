//! The marketer's console under `/console/…`: sign-in with an e-mail and password, a session in
//! an encrypted cookie (`mcamp_http::session`), and the campaigns at a glance from the
//! aggregator's counters. Server-rendered with maud, Korean, no script.
//!
//! Every request is checked on the server: no session (or one that no longer holds: expired,
//! a disabled user, a new password) sees the sign-in page and nothing else; every post carries
//! the session's CSRF token and comes from this origin. Without session keys configured
//! (`MCAMP_CONSOLE_KEYS`), the console answers 404.

mod pages;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use mcamp_core::users::{Role, User};
use mcamp_http::request::{cookie, form, header, origin, source_network};
use mcamp_http::response::{html_response, see_other};
use mcamp_http::routes::{Action, action_of};
use mcamp_http::session::{COOKIE, Session, SessionKeys, sign_out_cookie};
use mcamp_http::sign_in::{SignInError, sign_in};
use mcamp_http::tokens::network_tag;
use mcamp_http::{Flavor, HttpError, Web};

pub use pages::CampaignRow;

pub async fn handle(web: &Web, req: Request) -> Response<Body> {
    let Some(keys) = web.site.console_keys.clone() else {
        return HttpError::NotFound.into_response(Flavor::Html);
    };
    let now = web.app.now();
    let result = match action_of(&req) {
        Some(Action::ConsoleHome) => home(web, &keys, &req, now).await,
        Some(Action::ConsoleSignInPage) => Ok(html_response(200, pages::sign_in(None, ""))),
        Some(Action::ConsoleSignIn) => post_sign_in(web, &keys, &req, now).await,
        Some(Action::ConsoleSignOut) => sign_out(web, &keys, &req, now).await,
        Some(Action::ConsoleCampaigns) => campaigns(web, &keys, &req, now).await,
        _ => Err(HttpError::NotFound),
    };
    result.unwrap_or_else(|e| e.into_response(Flavor::Html))
}

/// The signed-in user, when the request's session still holds for them.
async fn signed_in(
    web: &Web,
    keys: &SessionKeys,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<Option<(Session, User)>, HttpError> {
    let Some(value) = cookie(req, COOKIE) else {
        return Ok(None);
    };
    let Some(session) = Session::open(keys, &format!("{COOKIE}={value}"), now) else {
        return Ok(None);
    };
    let Some(user) = web.app.db.user(&session.email).await? else {
        return Ok(None);
    };
    Ok(session.holds_for(&user, now).then_some((session, user)))
}

/// A post must come from a page of this origin (the browser says which, when it says).
fn same_origin(web: &Web, req: &Request) -> Result<(), HttpError> {
    let ours = origin(req, web.site.base_url.as_deref());
    match header(req, "origin") {
        Some(o) if o != ours => Err(HttpError::Forbidden("the form came from another site".into())),
        _ => Ok(()),
    }
}

fn to_sign_in() -> Response<Body> {
    see_other("/console/sign-in".into())
}

async fn home(web: &Web, keys: &SessionKeys, req: &Request, now: DateTime<Utc>) -> Result<Response<Body>, HttpError> {
    Ok(match signed_in(web, keys, req, now).await? {
        Some(_) => see_other("/console/campaigns".into()),
        None => to_sign_in(),
    })
}

#[derive(serde::Deserialize)]
struct SignInForm {
    email: String,
    password: String,
}

async fn post_sign_in(
    web: &Web,
    keys: &SessionKeys,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<Response<Body>, HttpError> {
    same_origin(web, req)?;
    let f: SignInForm = form(req)?;
    let network = network_tag(&web.site.secret, &source_network(req).unwrap_or_default());
    match sign_in(&web.app.db, &f.email, &f.password, &network, now).await {
        Ok(session) => {
            let mut resp = see_other("/console/campaigns".into());
            if let Ok(v) = session.seal(keys).parse() {
                resp.headers_mut().insert("set-cookie", v);
            }
            Ok(resp)
        }
        Err(SignInError::Invalid) => Ok(html_response(
            401,
            pages::sign_in(Some("이메일 또는 비밀번호가 맞지 않아요."), &f.email),
        )),
        Err(SignInError::TooMany) => Ok(html_response(
            429,
            pages::sign_in(
                Some("로그인 시도가 너무 많아요. 15분 뒤에 다시 시도해 주세요."),
                &f.email,
            ),
        )),
        Err(SignInError::Db(e)) => Err(e.into()),
    }
}

/// A post's CSRF token; a post without one is refused like a wrong one (403).
#[derive(serde::Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    web: &Web,
    keys: &SessionKeys,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<Response<Body>, HttpError> {
    same_origin(web, req)?;
    let Some((session, _)) = signed_in(web, keys, req, now).await? else {
        return Ok(to_sign_in());
    };
    // No body, or no token in it, is a post without the token: refused the same way.
    let token = form::<CsrfForm>(req).map(|f| f.csrf).unwrap_or_default();
    if !session.csrf_ok(&token) {
        return Err(HttpError::Forbidden("the form's token is not this session's".into()));
    }
    let mut resp = to_sign_in();
    if let Ok(v) = sign_out_cookie().parse() {
        resp.headers_mut().insert("set-cookie", v);
    }
    Ok(resp)
}

async fn campaigns(
    web: &Web,
    keys: &SessionKeys,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<Response<Body>, HttpError> {
    let Some((session, user)) = signed_in(web, keys, req, now).await? else {
        return Ok(to_sign_in());
    };
    if let Role::Store(_) = user.role {
        return Err(HttpError::Forbidden(
            "store staff use the store's redeem page only".into(),
        ));
    }
    let seen: Vec<_> = web
        .app
        .db
        .campaigns()
        .await?
        .into_iter()
        .filter(|c| user.sees(&c.campaign.id))
        .collect();
    let ids: Vec<_> = seen.iter().map(|c| c.campaign.id.clone()).collect();
    let totals = web.app.db.campaign_totals(&ids).await?;
    let rows: Vec<CampaignRow> = seen
        .iter()
        .map(|c| {
            let t = totals.get(&c.campaign.id);
            let g = |k: &str| t.and_then(|m| m.get(k)).copied().unwrap_or(0);
            CampaignRow {
                id: c.campaign.id.to_string(),
                name: c.campaign.name.clone(),
                status: c.campaign.status,
                sent: g("people.sent"),
                clicked: g("people.clicked"),
                issued: g("issued"),
                redeemed: g("redeemed"),
            }
        })
        .collect();
    Ok(html_response(200, pages::campaigns(&user, &session, &rows)))
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_http::lambda::env()
}
