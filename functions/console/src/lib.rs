//! The marketer's console under `/console/…`: sign-in with an e-mail and password, a session in
//! an encrypted cookie (`mcamp_http::session`), and the campaigns at a glance from the
//! aggregator's counters. Server-rendered with maud, Korean, no script.
//!
//! Every request is checked on the server: no session (or one that no longer holds: expired,
//! a disabled user, a new password) sees the sign-in page and nothing else; every post carries
//! the session's CSRF token and comes from this origin. Without session keys configured
//! (`MCAMP_CONSOLE_KEYS`), the console answers 404.

mod admin;
mod dashboard;
mod pages;
mod people;
mod store;
mod upload;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use mcamp_core::users::{Role, User};
use mcamp_core::values::CampaignId;
use mcamp_http::request::{cookie, form, header, origin, path_param, source_network};
use mcamp_http::response::{html_response, see_other};
use mcamp_http::routes::{Action, action_of};
use mcamp_http::session::{COOKIE, Session, SessionKeys, sign_out_cookie};
use mcamp_http::sign_in::{SignInError, sign_in};
use mcamp_http::tokens::network_tag;
use mcamp_http::{Flavor, HttpError, Web};
use mcamp_store::DbError;

pub use pages::CampaignRow;

pub async fn handle(web: &Web, req: Request) -> Response<Body> {
    let Some(keys) = web.site.console_keys.clone() else {
        return HttpError::NotFound.into_response(Flavor::Html);
    };
    let c = Console {
        web,
        keys: &keys,
        req: &req,
        now: web.app.now(),
    };
    let result = match action_of(&req) {
        Some(Action::ConsoleHome) => home(&c).await,
        Some(Action::ConsoleSignInPage) => Ok(html_response(200, pages::sign_in(None, ""))),
        Some(Action::ConsoleSignIn) => post_sign_in(&c).await,
        Some(Action::ConsoleSignOut) => sign_out(&c).await,
        Some(Action::ConsoleCampaigns) => campaigns(&c).await,
        Some(Action::ConsoleDashboard) => dashboard::dashboard(&c).await,
        Some(Action::ConsoleSurveyReport) => dashboard::survey_report(&c).await,
        Some(Action::ConsoleViewLink) => dashboard::view_link(&c).await,
        Some(Action::ConsolePeople) => people::people(&c).await,
        Some(Action::ConsolePerson) => people::person(&c).await,
        Some(Action::ConsoleStatus) => admin::status(&c).await,
        Some(Action::ConsoleSendList) => admin::send_list(&c).await,
        Some(Action::ConsoleExport) => admin::export(&c).await,
        Some(Action::ConsoleViewLinkCreate) => admin::create_view_link(&c).await,
        Some(Action::ConsoleViewLinkRevoke) => admin::revoke_view_link(&c).await,
        Some(Action::ConsoleImport) => upload::import(&c).await,
        Some(Action::ConsoleStore) => store::page(&c).await,
        Some(Action::ConsoleStoreLookup) => store::lookup(&c).await,
        Some(Action::ConsoleStoreRedeem) => store::redeem(&c).await,
        _ => Err(HttpError::NotFound.into()),
    };
    result.unwrap_or_else(|e| match e {
        ConsoleError::SignIn => to_sign_in(),
        ConsoleError::Http(e) => e.into_response(Flavor::Html),
    })
}

/// Why a console request is not answered with its page.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConsoleError {
    /// No session, or one that no longer holds: the sign-in page, never data.
    #[error("not signed in")]
    SignIn,
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl From<DbError> for ConsoleError {
    fn from(e: DbError) -> Self {
        ConsoleError::Http(e.into())
    }
}

pub(crate) type Answer = Result<Response<Body>, ConsoleError>;

/// One console request and what it is checked against.
pub(crate) struct Console<'a> {
    pub web: &'a Web,
    pub keys: &'a SessionKeys,
    pub req: &'a Request,
    pub now: DateTime<Utc>,
}

/// Who is asking, once checked.
pub(crate) struct SignedIn {
    pub session: Session,
    pub user: User,
}

impl Console<'_> {
    /// The signed-in user, when the request's session still holds for them.
    async fn session(&self) -> Result<Option<SignedIn>, ConsoleError> {
        let Some(value) = cookie(self.req, COOKIE) else {
            return Ok(None);
        };
        let Some(session) = Session::open(self.keys, &format!("{COOKIE}={value}"), self.now) else {
            return Ok(None);
        };
        let Some(user) = self.web.app.db.user(&session.email).await? else {
            return Ok(None);
        };
        Ok(session.holds_for(&user, self.now).then_some(SignedIn { session, user }))
    }

    /// The signed-in user; without one, the sign-in page.
    pub async fn user(&self) -> Result<SignedIn, ConsoleError> {
        self.session().await?.ok_or(ConsoleError::SignIn)
    }

    /// A post's user: from this origin, signed in, with the session's CSRF token (`csrf`, as
    /// the form sent it). A missing or wrong token is 403 and nothing changes.
    pub async fn poster(&self, csrf: &str) -> Result<SignedIn, ConsoleError> {
        self.same_origin()?;
        let who = self.user().await?;
        if !who.session.csrf_ok(csrf) {
            return Err(HttpError::Forbidden("the form's token is not this session's".into()).into());
        }
        Ok(who)
    }

    /// The `csrf` field of a form-encoded post ("" when there is none).
    pub fn posted_csrf(&self) -> String {
        form::<CsrfForm>(self.req).map(|f| f.csrf).unwrap_or_default()
    }

    /// A post must come from a page of this origin (the browser says which, when it says).
    fn same_origin(&self) -> Result<(), HttpError> {
        let ours = origin(self.req, self.web.site.base_url.as_deref());
        match header(self.req, "origin") {
            Some(o) if o != ours => Err(HttpError::Forbidden("the form came from another site".into())),
            _ => Ok(()),
        }
    }

    /// The `{campaign}` of the path, which the user must see (store staff see none); 404 for
    /// a campaign that is not there or not theirs, so ids are not confirmed to outsiders.
    pub fn campaign_of(&self, who: &SignedIn) -> Result<CampaignId, ConsoleError> {
        let id = path_param(self.req, "campaign")
            .and_then(|s| CampaignId::parse(&s).ok())
            .ok_or(HttpError::NotFound)?;
        if let Role::Store(_) = who.user.role {
            return Err(HttpError::Forbidden("store staff use the store's redeem page only".into()).into());
        }
        if !who.user.sees(&id) {
            return Err(HttpError::NotFound.into());
        }
        Ok(id)
    }

    /// An admin's request about a campaign they see; a viewer's is 403.
    pub fn admin_campaign(&self, who: &SignedIn) -> Result<CampaignId, ConsoleError> {
        let id = self.campaign_of(who)?;
        if who.user.role != Role::Admin {
            return Err(HttpError::Forbidden("only an admin may do this".into()).into());
        }
        Ok(id)
    }

    /// Writes who did what to the audit log.
    pub async fn audit(&self, who: &SignedIn, action: &str, detail: serde_json::Value) -> Result<(), ConsoleError> {
        self.web
            .app
            .db
            .audit(&mcamp_store::audit::AuditEntry {
                at: self.now,
                actor: who.user.email.to_string(),
                action: action.into(),
                detail,
            })
            .await?;
        Ok(())
    }
}

/// A post's CSRF token; a post without one is refused like a wrong one (403).
#[derive(serde::Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Where a user starts: store staff at their store's redeem page, others at the campaigns.
pub(crate) fn store_home(role: &Role) -> String {
    match role {
        Role::Store(s) => format!("/console/stores/{s}"),
        _ => "/console/campaigns".into(),
    }
}

fn to_sign_in() -> Response<Body> {
    see_other("/console/sign-in".into())
}

async fn home(c: &Console<'_>) -> Answer {
    Ok(match c.session().await? {
        Some(SignedIn { user, .. }) if matches!(user.role, Role::Store(_)) => see_other(store_home(&user.role)),
        Some(_) => see_other("/console/campaigns".into()),
        None => to_sign_in(),
    })
}

#[derive(serde::Deserialize)]
struct SignInForm {
    email: String,
    password: String,
}

async fn post_sign_in(c: &Console<'_>) -> Answer {
    c.same_origin()?;
    let f: SignInForm = form(c.req)?;
    let network = network_tag(&c.web.site.secret, &source_network(c.req).unwrap_or_default());
    match sign_in(&c.web.app.db, &f.email, &f.password, &network, c.now).await {
        Ok(session) => {
            // Store staff go straight to their redeem page.
            let mut resp = see_other(store_home(&session.role));
            if let Ok(v) = session.seal(c.keys).parse() {
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

async fn sign_out(c: &Console<'_>) -> Answer {
    c.poster(&c.posted_csrf()).await?;
    let mut resp = to_sign_in();
    if let Ok(v) = sign_out_cookie().parse() {
        resp.headers_mut().insert("set-cookie", v);
    }
    Ok(resp)
}

async fn campaigns(c: &Console<'_>) -> Answer {
    let who = c.user().await?;
    if let Role::Store(_) = who.user.role {
        return Ok(see_other(store_home(&who.user.role)));
    }
    let db = &c.web.app.db;
    let seen: Vec<_> = db
        .campaigns()
        .await?
        .into_iter()
        .filter(|s| who.user.sees(&s.campaign.id))
        .collect();
    let ids: Vec<_> = seen.iter().map(|s| s.campaign.id.clone()).collect();
    let totals = db.campaign_totals(&ids).await?;
    let rows: Vec<CampaignRow> = seen
        .iter()
        .map(|s| {
            let t = totals.get(&s.campaign.id);
            let g = |k: &str| t.and_then(|m| m.get(k)).copied().unwrap_or(0);
            CampaignRow {
                id: s.campaign.id.to_string(),
                name: s.campaign.name.clone(),
                status: s.campaign.status,
                sent: g("people.sent"),
                clicked: g("people.clicked"),
                issued: g("issued"),
                redeemed: g("redeemed"),
            }
        })
        .collect();
    Ok(html_response(200, pages::campaigns(&who.user, &who.session, &rows)))
}

/// Every environment variable this function reads at start-up (template.yaml is checked
/// against it).
pub fn env() -> Vec<mcamp_env::Var> {
    mcamp_http::lambda::env()
}
