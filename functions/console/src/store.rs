//! The store staff's redeem page: a coupon's code, typed (or scanned, where the browser has a
//! camera and a `BarcodeDetector`), is looked up to show what it is and whether it may be used
//! now, then marked used for this store under the redeem API's rules and per-minute budget
//! (`mcamp_store::redeem`). Staff reach only their own store; an admin may open any store's
//! page to help a shop; a viewer none. Nothing about the coupon's holder is shown.

use chrono::{DateTime, Utc};
use maud::{Markup, PreEscaped, html};
use mcamp_core::coupon::{IssuedCoupon, Store};
use mcamp_core::time::kst;
use mcamp_core::users::{Role, User};
use mcamp_core::values::{CampaignId, CouponCode, StoreId};
use mcamp_http::HttpError;
use mcamp_http::request::{form, path_param};
use mcamp_http::response::html_response;
use mcamp_store::Db;
use mcamp_store::redeem::{self, Checked, RedeemError, Standing};
use serde_json::json;

use crate::pages::{bar, page_with_css};
use crate::{Answer, Console, ConsoleError, SignedIn};

/// Big type and touch targets for a till; result colours keep 4.5:1 contrast or more.
const CSS: &str = concat!(
    "[hidden]{display:none!important}",
    ".till .shop{font-size:18px;font-weight:700;margin:0 0 16px}.till label{font-size:16px}",
    ".out{border:2px solid;border-radius:14px;padding:16px 18px;margin:0 0 16px}",
    ".out .big{font-size:26px;font-weight:800;line-height:1.3;margin:0 0 4px}.out .when{font-size:20px;font-weight:700}",
    ".out.ok{background:#e8f5e9;color:#1b5e20;border-color:#2e7d32}",
    ".out.warn{background:#fff4e5;color:#7a3e00;border-color:#b26a00}",
    ".out.bad{background:#fdecea;color:#b71c1c;border-color:#c62828}",
    ".out dl{display:grid;grid-template-columns:auto 1fr;gap:4px 14px;margin:12px 0 0;color:var(--ink)}",
    ".out dt{font-weight:600}.out dd{margin:0}",
    "#code{width:100%;font-size:24px;padding:14px;border:2px solid #767680;border-radius:12px;letter-spacing:.08em;text-transform:uppercase;font-family:ui-monospace,Menlo,Consolas,monospace}",
    ".till .btn{font-size:20px;min-height:56px;margin-top:12px}.till .btn.go{background:#1b5e20}",
    "#cam{width:100%;border-radius:12px;margin-top:12px;background:#000}",
);

/// `GET /console/stores/{store}`: the code field, and the camera button where it can work.
pub(crate) async fn page(c: &Console<'_>) -> Answer {
    let who = c.user().await?;
    let store = store_of(c, &who).await?;
    Ok(html_response(200, render(&who, &store, "", None)))
}

/// `POST /console/stores/{store}/lookup` (csrf, code): what the coupon is and whether this
/// store may redeem it now. Writes nothing but the store's per-minute count.
pub(crate) async fn lookup(c: &Console<'_>) -> Answer {
    let who = c.poster(&c.posted_csrf()).await?;
    let store = store_of(c, &who).await?;
    let typed = typed_code(c);
    let Ok(code) = CouponCode::parse(&typed) else {
        return Ok(answer(&who, &store, &typed, Shown::bad_code(), false));
    };
    let db = &c.web.app.db;
    // A lookup spends the store's per-minute budget like a redemption: a stolen session
    // cannot walk guessable pool codes faster than a till could.
    match redeem::spend(db, &store.id, c.now).await {
        Ok(()) => {}
        Err(RedeemError::TooMany) => {
            return Ok(answer(
                &who,
                &store,
                "",
                Shown::of(Outcome::TooMany, Some(code), None),
                false,
            ));
        }
        Err(e) => return Err(failed(e)),
    }
    let shown = match redeem::check(db, &store.id, &code, c.now).await {
        Ok(checked) if may_redeem(&who.user, &checked.coupon.campaign_id) => checked_shown(db, code, checked).await?,
        // A coupon of a campaign this admin does not see is as unknown as a wrong code.
        Ok(_) | Err(RedeemError::NotFound) => Shown::of(Outcome::Unknown, Some(code), None),
        Err(e) => return Err(failed(e)),
    };
    Ok(answer(&who, &store, "", shown, false))
}

/// `POST /console/stores/{store}/redeem` (csrf, code): marks the coupon used by this store,
/// as the till's API would, and says so in large type.
pub(crate) async fn redeem(c: &Console<'_>) -> Answer {
    let who = c.poster(&c.posted_csrf()).await?;
    let store = store_of(c, &who).await?;
    let typed = typed_code(c);
    let Ok(code) = CouponCode::parse(&typed) else {
        return Ok(answer(&who, &store, &typed, Shown::bad_code(), true));
    };
    let db = &c.web.app.db;
    let unknown = |code| Shown::of(Outcome::Unknown, Some(code), None);
    // An admin kept to some campaigns redeems only their coupons, so the check comes before
    // anything is written.
    if !matches!(who.user.role, Role::Store(_))
        && let Some(coupon) = db.issued_coupon(&code).await?
        && !may_redeem(&who.user, &coupon.campaign_id)
    {
        return Ok(answer(&who, &store, "", unknown(code), true));
    }
    let outcome = match redeem::redeem_as(db, &store.id, &code, c.now).await {
        Ok(r) if r.repeat => Outcome::RedeemedHere {
            at: r.coupon.redeemed_at.unwrap_or(c.now),
            repeat: true,
        },
        Ok(r) => {
            c.audit(
                &who,
                "coupon.redeemed",
                json!({
                    "store": store.id, "code": last4(&code), "coupon": r.coupon.coupon_id,
                    "campaign": r.coupon.campaign_id,
                }),
            )
            .await?;
            Outcome::Redeemed(c.now)
        }
        Err(RedeemError::NotFound) => return Ok(answer(&who, &store, "", unknown(code), true)),
        Err(RedeemError::AlreadyUsed { at, store: by }) => Outcome::UsedElsewhere {
            at,
            store: store_name(db, &by).await?,
        },
        Err(RedeemError::Expired(until)) => Outcome::Expired(until),
        Err(RedeemError::NotYetValid(from)) => Outcome::NotYetValid(from),
        Err(RedeemError::TooMany) => Outcome::TooMany,
        Err(e) => return Err(failed(e)),
    };
    let about = about_code(db, &code).await?;
    Ok(answer(&who, &store, "", Shown::of(outcome, Some(code), about), true))
}

/// The `{store}` of the path, which this user may serve: its own staff, or an admin. Others
/// are refused before the store is looked up, so store ids are not confirmed to them.
async fn store_of(c: &Console<'_>, who: &SignedIn) -> Result<Store, ConsoleError> {
    let id = path_param(c.req, "store")
        .and_then(|s| StoreId::parse(&s).ok())
        .ok_or(HttpError::NotFound)?;
    match &who.user.role {
        Role::Admin => {}
        Role::Store(own) if *own == id => {}
        Role::Store(_) => return Err(HttpError::Forbidden("store staff serve their own store only".into()).into()),
        Role::Viewer => return Err(HttpError::Forbidden("a viewer redeems no coupons".into()).into()),
    }
    Ok(c.web.app.db.store(&id).await?.ok_or(HttpError::NotFound)?)
}

/// Store staff redeem any campaign's coupon, as the till does; an admin those of the
/// campaigns they see.
fn may_redeem(user: &User, campaign: &CampaignId) -> bool {
    matches!(user.role, Role::Store(_)) || user.sees(campaign)
}

#[derive(serde::Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// The code as typed; a form that cannot be read is an empty code (refused as one).
fn typed_code(c: &Console<'_>) -> String {
    form::<CodeForm>(c.req).map(|f| f.code).unwrap_or_default()
}

/// Only the last four characters, for the audit log: enough to find the coupon with the staff
/// member, not enough to use it.
fn last4(code: &CouponCode) -> String {
    let s = code.as_str();
    format!("…{}", s.get(s.len().saturating_sub(4)..).unwrap_or_default())
}

fn failed(e: RedeemError) -> ConsoleError {
    match e {
        RedeemError::Storage(e) => e.into(),
        e => HttpError::Internal(Box::new(e)).into(),
    }
}

/// A store's name as staff know it; its id if it is gone.
async fn store_name(db: &Db, id: &StoreId) -> Result<String, ConsoleError> {
    Ok(db.store(id).await?.map_or_else(|| id.to_string(), |s| s.name))
}

/// What a coupon is, as staff see it: never whose it is.
struct About {
    title: String,
    benefit: String,
    campaign: String,
    valid_until: Option<DateTime<Utc>>,
}

impl About {
    fn of(checked: &Checked) -> Self {
        About {
            title: checked.def.title.clone(),
            benefit: checked.def.benefit.label_ko(),
            campaign: checked.campaign_name.clone(),
            valid_until: checked.coupon.valid_until,
        }
    }
}

/// What the coupon behind `code` is, for a result page (none when it or its campaign is gone).
async fn about_code(db: &Db, code: &CouponCode) -> Result<Option<About>, ConsoleError> {
    let Some(coupon) = db.issued_coupon(code).await? else {
        return Ok(None);
    };
    about_coupon(db, &coupon).await
}

async fn about_coupon(db: &Db, coupon: &IssuedCoupon) -> Result<Option<About>, ConsoleError> {
    let Some(campaign) = db.campaign(&coupon.campaign_id).await? else {
        return Ok(None);
    };
    Ok(campaign.campaign.coupon(&coupon.coupon_id).map(|def| About {
        title: def.title.clone(),
        benefit: def.benefit.label_ko(),
        campaign: campaign.campaign.name.clone(),
        valid_until: coupon.valid_until,
    }))
}

/// The answer to a lookup or a redemption.
enum Outcome {
    /// Looked up: this store may redeem it now.
    Valid,
    /// Marked used by this store just now.
    Redeemed(DateTime<Utc>),
    /// This store had redeemed it then; `repeat` when a redemption was asked again.
    RedeemedHere {
        at: DateTime<Utc>,
        repeat: bool,
    },
    UsedElsewhere {
        at: DateTime<Utc>,
        store: String,
    },
    Expired(DateTime<Utc>),
    NotYetValid(DateTime<Utc>),
    Unknown,
    TooMany,
    BadCode,
}

/// A result page's content: the outcome, the code it is about and what that coupon is.
struct Shown {
    outcome: Outcome,
    code: Option<CouponCode>,
    about: Option<About>,
}

impl Shown {
    fn of(outcome: Outcome, code: Option<CouponCode>, about: Option<About>) -> Self {
        Shown { outcome, code, about }
    }

    fn bad_code() -> Self {
        Shown::of(Outcome::BadCode, None, None)
    }

    /// A lookup that found a coupon succeeded whatever it says; a redemption it refused is a
    /// conflict, as the redeem API answers.
    fn status(&self, redeeming: bool) -> u16 {
        match self.outcome {
            Outcome::Valid | Outcome::Redeemed(_) | Outcome::RedeemedHere { .. } => 200,
            Outcome::UsedElsewhere { .. } | Outcome::Expired(_) | Outcome::NotYetValid(_) if redeeming => 409,
            Outcome::UsedElsewhere { .. } | Outcome::Expired(_) | Outcome::NotYetValid(_) => 200,
            Outcome::Unknown => 404,
            Outcome::TooMany => 429,
            Outcome::BadCode => 400,
        }
    }
}

async fn checked_shown(db: &Db, code: CouponCode, checked: Checked) -> Result<Shown, ConsoleError> {
    let about = About::of(&checked);
    let outcome = match checked.standing {
        Standing::Valid => Outcome::Valid,
        Standing::RedeemedHere(at) => Outcome::RedeemedHere { at, repeat: false },
        Standing::UsedElsewhere { at, store } => Outcome::UsedElsewhere {
            at,
            store: store_name(db, &store).await?,
        },
        Standing::Expired(until) => Outcome::Expired(until),
        Standing::NotYetValid(from) => Outcome::NotYetValid(from),
    };
    Ok(Shown::of(outcome, Some(code), Some(about)))
}

fn answer(
    who: &SignedIn,
    store: &Store,
    typed: &str,
    shown: Shown,
    redeeming: bool,
) -> lambda_http::Response<lambda_http::Body> {
    html_response(shown.status(redeeming), render(who, store, typed, Some(&shown)))
}

/// `2026년 11월 30일 14:05`, in KST.
fn kst_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&kst()).format("%Y년 %-m월 %-d일 %H:%M").to_string()
}

/// The headline, what it is about (when and where) and the box's tone.
fn words(o: &Outcome) -> (&'static str, &'static str, Option<String>, &'static str) {
    match o {
        Outcome::Valid => ("✓", "사용 가능", None, "ok"),
        Outcome::Redeemed(at) => ("✓", "사용 처리 완료", Some(format!("{} 사용", kst_time(*at))), "ok"),
        Outcome::RedeemedHere { at, .. } => (
            "!",
            "이미 이 매장에서 사용 처리된 쿠폰이에요",
            Some(format!("{} 사용", kst_time(*at))),
            "warn",
        ),
        Outcome::UsedElsewhere { at, store } => (
            "✕",
            "이미 사용된 쿠폰이에요",
            Some(format!("{} {}에서 사용", kst_time(*at), store)),
            "bad",
        ),
        Outcome::Expired(until) => (
            "✕",
            "기간이 지난 쿠폰이에요",
            Some(format!("{}까지 사용할 수 있었어요", kst_time(*until))),
            "bad",
        ),
        Outcome::NotYetValid(from) => (
            "!",
            "아직 사용할 수 없는 쿠폰이에요",
            Some(format!("{}부터 사용할 수 있어요", kst_time(*from))),
            "warn",
        ),
        Outcome::Unknown => ("✕", "없는 쿠폰이에요", None, "bad"),
        Outcome::TooMany => ("!", "잠시 후 다시 시도해 주세요", None, "warn"),
        Outcome::BadCode => ("✕", "쿠폰 번호를 확인해 주세요", None, "bad"),
    }
}

/// What to do next.
fn hint(o: &Outcome) -> &'static str {
    match o {
        Outcome::Valid => "아래 ‘사용 처리’를 누르면 이 매장에서 사용한 것으로 기록돼요.",
        Outcome::Redeemed(_) => "고객에게 혜택을 드려 주세요.",
        Outcome::RedeemedHere { repeat: true, .. } => {
            "다시 처리하지 않았어요. 같은 쿠폰으로 혜택을 두 번 드리지 마세요."
        }
        Outcome::RedeemedHere { repeat: false, .. } | Outcome::UsedElsewhere { .. } => {
            "한 번 사용한 쿠폰은 다시 사용할 수 없어요."
        }
        Outcome::Expired(_) => "사용 기한이 지나 사용할 수 없어요.",
        Outcome::NotYetValid(_) => "사용 시작일부터 사용할 수 있어요.",
        Outcome::Unknown => "쿠폰 번호를 다시 확인해 주세요.",
        Outcome::TooMany => "1분에 처리할 수 있는 횟수를 넘었어요.",
        Outcome::BadCode => "쿠폰 번호는 영문과 숫자 4~32자예요.",
    }
}

fn result(who: &SignedIn, store: &Store, shown: &Shown) -> Markup {
    let (icon, headline, detail, tone) = words(&shown.outcome);
    let action = format!("/console/stores/{}/redeem", store.id);
    html! {
        section class=(format!("out {tone}")) role="alert" {
            p.big { span aria-hidden="true" { (icon) " " } (headline) }
            @if let Some(d) = detail { p.when { (d) } }
            p { (hint(&shown.outcome)) }
            @if shown.about.is_some() || shown.code.is_some() {
                dl {
                    @if let Some(a) = &shown.about {
                        dt { "쿠폰" } dd { (a.title) }
                        dt { "혜택" } dd { (a.benefit) }
                        dt { "캠페인" } dd { (a.campaign) }
                        dt { "사용 기한" }
                        dd { @match a.valid_until { Some(u) => { (kst_time(u)) "까지" } None => { "기한 없음" } } }
                    }
                    @if let Some(code) = &shown.code { dt { "쿠폰 번호" } dd { (code.as_str()) } }
                }
            }
        }
        @if let (Outcome::Valid, Some(code)) = (&shown.outcome, &shown.code) {
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(who.session.csrf);
                input type="hidden" name="code" value=(code.as_str());
                button.btn.go type="submit" { "사용 처리" }
            }
            hr;
        }
    }
}

/// The page, with `typed` back in the field (a code that could not be one, to correct).
fn render(who: &SignedIn, store: &Store, typed: &str, shown: Option<&Shown>) -> String {
    let lookup = format!("/console/stores/{}/lookup", store.id);
    // Enough to correct a typo; a pasted essay is not echoed whole.
    let typed: String = typed.chars().take(64).collect();
    page_with_css(
        &format!("쿠폰 사용 처리 - {} - mcamp 콘솔", store.name),
        CSS,
        html! {
            (bar(&who.user, &who.session))
            div.pad.till {
                h1 { "쿠폰 사용 처리" }
                p.shop { (store.name) " " span.muted { "(" (store.id) ")" } }
                @if let Some(s) = shown { (result(who, store, s)) }
                form #look method="post" action=(lookup) {
                    input type="hidden" name="csrf" value=(who.session.csrf);
                    label for="code" { "쿠폰 번호" }
                    input #code type="text" name="code" value=(typed) inputmode="text"
                        autocapitalize="characters" autocomplete="off" autocorrect="off" spellcheck="false"
                        enterkeyhint="search" maxlength="40" required aria-describedby="code-help";
                    p #code-help .muted { "고객 화면의 쿠폰 번호를 입력하거나 QR 코드를 스캔해 주세요." }
                    button.btn type="submit" { "쿠폰 조회" }
                }
                button #scan .btn.ghost type="button" hidden { "카메라로 스캔" }
                video #cam hidden playsinline muted aria-label="카메라 화면" {}
            }
            script { (PreEscaped(mcamp_http::pages::staff::SCRIPT)) }
        },
    )
}
