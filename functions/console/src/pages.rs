//! The console's pages: small, Korean, usable on a phone and a desktop, no script. Every text
//! from a campaign file goes through maud's escaping.

use maud::{Markup, PreEscaped, html};
use mcamp_core::campaign::CampaignStatus;
use mcamp_core::users::User;
use mcamp_http::pages::layout;
use mcamp_http::session::Session;

const CSS: &str = concat!(
    "main{max-width:960px}.bar{display:flex;flex-wrap:wrap;gap:4px 12px;justify-content:space-between;align-items:center;padding:12px 20px;border-bottom:1px solid var(--line)}",
    ".btn{background:#b93c0b}.bar b{font-size:17px;white-space:nowrap}.bar a.home{color:inherit;text-decoration:none}.bar form{margin:0}.bar button{background:none;border:0;color:var(--muted);font-size:14px;text-decoration:underline;cursor:pointer}",
    "label{display:block;font-size:14px;font-weight:600;margin:14px 0 4px}",
    "input[type=email],input[type=password]{width:100%;font-size:16px;padding:12px;border:1px solid var(--line);border-radius:10px}",
    ".err{background:#fdecea;color:#b71c1c;padding:12px;border-radius:10px;margin-bottom:12px}",
    ".login{max-width:420px;margin:0 auto}.login .btn{margin-top:20px}",
    "table{width:100%;border-collapse:collapse;font-size:15px}th,td{padding:10px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}",
    "th:first-child,td:first-child{text-align:left;white-space:normal;min-width:7em}.id{white-space:nowrap}th{font-size:13px;color:var(--muted);font-weight:600;white-space:nowrap}",
    ".st{display:inline-block;font-size:12px;padding:2px 8px;border-radius:999px;background:var(--bg);margin-left:6px}",
    ".wrap{overflow-x:auto}h2{font-size:19px;margin:28px 0 10px;padding-bottom:6px;border-bottom:2px solid var(--line)}h3{font-size:16px;margin:18px 0 8px}",
    ".kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px;margin:0 0 8px}.kpis div{border:1px solid var(--line);border-radius:10px;padding:10px}",
    ".kpis dt{font-size:13px;color:var(--muted)}.kpis dd{margin:0;font-size:22px;font-weight:700}",
    ".scroll{overflow-x:auto}svg.chart{display:block;width:100%;max-width:480px;height:auto}",
    "details summary{cursor:pointer;padding:8px 0;color:var(--muted)}ul.tree{list-style:none;padding:0;font-size:14px}ul.tree li{padding:4px 0;border-bottom:1px dotted var(--line)}",
    ".crumbs{margin:0 0 4px;font-size:14px}.links a,.crumbs a,td a{color:#1a56db}.actions form{display:inline-block;margin:0 8px 8px 0}",
    ".actions .btn,.small{width:auto;padding:10px 16px;font-size:15px}select,input[type=number],input[type=file]{font-size:16px;padding:8px;border:1px solid var(--line);border-radius:8px;max-width:100%}",
    "ol.timeline{padding-left:20px}ol.timeline li{padding:4px 0}.ok{background:#e6f4ea;color:#0f5132;padding:12px;border-radius:10px;margin-bottom:12px;word-break:break-all}.pager{display:flex;gap:16px;margin:12px 0}",
);

/// A console page around `body`, with the console's stylesheet.
pub(crate) fn page(title: &str, body: Markup) -> String {
    page_with_css(title, "", body)
}

/// A console page with a stylesheet of its own after the console's.
pub(crate) fn page_with_css(title: &str, css: &str, body: Markup) -> String {
    layout(
        title,
        html! { style { (PreEscaped(CSS)) (PreEscaped(css)) } },
        html! { main { (body) } },
    )
    .into_string()
}

/// The sign-in page, with a message when the last try failed.
pub fn sign_in(error: Option<&str>, email: &str) -> String {
    page(
        "mcamp 콘솔 로그인",
        html! {
            div.pad.login {
                h1 { "mcamp 콘솔" }
                p.muted { "캠페인 결과를 보려면 로그인해 주세요." }
                @if let Some(e) = error { div.err role="alert" { (e) } }
                form method="post" action="/console/sign-in" {
                    label for="email" { "이메일" }
                    input #email type="email" name="email" value=(email) autocomplete="username" maxlength="254" required;
                    label for="password" { "비밀번호" }
                    input #password type="password" name="password" autocomplete="current-password" maxlength="128" required;
                    button.btn type="submit" { "로그인" }
                }
            }
        },
    )
}

/// A role as the bar names it.
fn role_ko(role: &mcamp_core::users::Role) -> String {
    match role {
        mcamp_core::users::Role::Admin => "관리자".into(),
        mcamp_core::users::Role::Viewer => "보기 전용".into(),
        mcamp_core::users::Role::Store(s) => format!("매장 직원 ({s})"),
    }
}

/// The top bar: where home is, who is signed in, and signing out.
pub(crate) fn bar(user: &User, session: &Session) -> Markup {
    let home = crate::store_home(&user.role);
    html! {
        nav.bar aria-label="콘솔 메뉴" {
            a.home href=(home) { b { "mcamp 콘솔" } }
            form method="post" action="/console/sign-out" {
                span.muted { (user.email) " · " (role_ko(&user.role)) " " }
                input type="hidden" name="csrf" value=(session.csrf);
                button type="submit" { "로그아웃" }
            }
        }
    }
}

/// One campaign at a glance.
pub struct CampaignRow {
    pub id: String,
    pub name: String,
    pub status: CampaignStatus,
    pub sent: i64,
    pub clicked: i64,
    pub issued: i64,
    pub redeemed: i64,
}

pub(crate) fn status_ko(s: CampaignStatus) -> &'static str {
    match s {
        CampaignStatus::Active => "진행 중",
        CampaignStatus::Paused => "일시 중지",
        CampaignStatus::Ended => "종료",
    }
}

/// A counter as shown: counters never go below zero.
pub(crate) fn n(x: i64) -> String {
    mcamp_core::campaign::grouped(u64::try_from(x).unwrap_or(0))
}

/// The campaigns the user sees, with their headline numbers.
pub fn campaigns(user: &User, session: &Session, rows: &[CampaignRow]) -> String {
    page(
        "캠페인 - mcamp 콘솔",
        html! {
            (bar(user, session))
            div.pad {
                h1 { "캠페인" }
                @if rows.is_empty() {
                    p.muted { "볼 수 있는 캠페인이 없어요." }
                } @else {
                    div.wrap {
                        table {
                            thead { tr { th { "캠페인" } th { "발송" } th { "클릭한 사람" } th { "쿠폰 발급" } th { "쿠폰 사용" } } }
                            tbody {
                                @for r in rows {
                                    tr {
                                        td { a href=(format!("/console/campaigns/{}", r.id)) { (r.name) } span.st { (status_ko(r.status)) } br; span.muted.id { (r.id) } }
                                        td { (n(r.sent)) }
                                        td { (n(r.clicked)) }
                                        td { (n(r.issued)) }
                                        td { (n(r.redeemed)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
