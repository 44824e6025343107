//! A campaign's people, a page at a time and filtered by stage, with names and phones masked
//! (the console never shows them whole; the send list is the one place phones go, to the
//! sender). One person's page is their timeline from the journey, and who they shared with.

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use mcamp_core::analytics::Stage;
use mcamp_core::values::{CampaignId, RecipientId};
use mcamp_http::HttpError;
use mcamp_http::request::{path_param, query_param};
use mcamp_http::response::html_response;
use mcamp_ops::campaign_report::share_tree;
use mcamp_ops::people::{PeopleError, PeopleFilter, Person, Reveal, mask_name, people_page, person_of};

use crate::dashboard::head;
use crate::pages::{bar, page};
use crate::{Answer, Console, ConsoleError};

/// People on one page.
const PAGE: usize = 50;

impl From<PeopleError> for ConsoleError {
    fn from(e: PeopleError) -> Self {
        match e {
            PeopleError::UnknownCampaign(_) => HttpError::NotFound.into(),
            PeopleError::BadCursor(_) => HttpError::BadRequest("after: not a cursor this list gave".into()).into(),
            PeopleError::Db(e) => e.into(),
        }
    }
}

/// The filters offered, in the marketer's words.
const FILTERS: [(&str, &str); 7] = [
    ("all", "모두"),
    ("not-clicked", "클릭 안 함"),
    ("clicked-no-coupon", "클릭, 쿠폰 없음"),
    ("coupon-not-redeemed", "쿠폰 받고 안 씀"),
    ("redeemed", "쿠폰 사용"),
    ("viewed", "페이지만 봄"),
    ("failed", "발송 실패"),
];

fn kst(at: Option<DateTime<Utc>>) -> String {
    at.map(mcamp_ops::adlaw::format_kst).unwrap_or_default()
}

pub(crate) async fn people(c: &Console<'_>) -> Answer {
    let who = c.user().await?;
    let id = c.campaign_of(&who)?;
    let filter_name = query_param(c.req, "filter").unwrap_or_else(|| "all".into());
    let filter = PeopleFilter::parse(&filter_name).map_err(HttpError::BadRequest)?;
    let after = query_param(c.req, "after");
    let db = &c.web.app.db;
    let stored = db.campaign(&id).await?.ok_or(HttpError::NotFound)?;
    let page_of = people_page(db, &id, &filter, after.as_deref(), PAGE, &Reveal::Masked, c.now).await?;
    let next = page_of.next.as_ref().map(|n| {
        format!(
            "/console/campaigns/{id}/people?filter={}&after={}",
            enc(&filter_name),
            enc(n)
        )
    });
    Ok(html_response(
        200,
        page(
            &format!("사람별 - {}", stored.campaign.name),
            html! {
                (bar(&who.user, &who.session))
                div.pad {
                    p.crumbs { a href=(format!("/console/campaigns/{id}")) { "← " (stored.campaign.name) } }
                    h1 { "사람별 보기" }
                    form method="get" action=(format!("/console/campaigns/{id}/people")) {
                        label for="filter" { "보기" }
                        select #filter name="filter" {
                            @for (value, label) in FILTERS {
                                option value=(value) selected[value == filter_name] { (label) }
                            }
                        }
                        " "
                        button.btn.small type="submit" { "보기" }
                    }
                    p.muted { "이름과 번호는 가려서 보여요. 한 쪽에 " (PAGE) "명씩." }
                    @if page_of.people.is_empty() {
                        p { "해당하는 사람이 없어요." }
                    } @else {
                        (table(&id, &page_of.people))
                    }
                    div.pager {
                        @if after.is_some() { a href=(format!("/console/campaigns/{id}/people?filter={}", enc(&filter_name))) { "처음으로" } }
                        @if let Some(next) = next { a href=(next) rel="next" { "다음 " (PAGE) "명 →" } }
                    }
                }
            },
        ),
    ))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn table(id: &CampaignId, people: &[Person]) -> Markup {
    html! {
        div.wrap {
            table {
                (head(&["사람", "번호", "단계", "첫 클릭", "조회", "공유", "쿠폰 사용"]))
                tbody {
                    @for p in people {
                        tr data-stage=(p.stage.as_str()) {
                            td { a href=(format!("/console/campaigns/{id}/people/{}", p.recipient_id)) { (p.name.as_deref().unwrap_or("이름 없음")) } }
                            td { (p.phone.as_deref().unwrap_or("")) }
                            td { (p.stage.korean()) }
                            td { (kst(p.first_click_at)) }
                            td { (p.views) }
                            td { (p.shares) }
                            td { (kst(p.redeemed_at)) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn person(c: &Console<'_>) -> Answer {
    let who = c.user().await?;
    let id = c.campaign_of(&who)?;
    let rid = path_param(c.req, "recipient")
        .and_then(|r| RecipientId::parse(&r).ok())
        .ok_or(HttpError::NotFound)?;
    let db = &c.web.app.db;
    let (p, _journey) = person_of(db, &id, &rid, c.now).await?.ok_or(HttpError::NotFound)?;
    // Who they brought in, over the hops credit is given for; and who brought them in.
    let tree = share_tree(db, &rid).await?;
    let mut ids: Vec<RecipientId> = tree.iter().skip(1).map(|t| t.recipient_id.clone()).collect();
    ids.extend(p.referrer_id.clone());
    let profiles = db.recipients_of(&ids).await?;
    let name_of = |r: &RecipientId| {
        profiles
            .get(r)
            .and_then(|x| x.name.as_deref())
            .map_or_else(|| "이름 없음".to_owned(), mask_name)
    };
    let steps: Vec<(&str, Option<DateTime<Utc>>)> = vec![
        ("발송", p.sent_at),
        ("수신", p.delivered_at),
        ("첫 클릭", p.first_click_at),
        ("정보 입력", p.form_at),
        ("마케팅 동의", p.consent_at),
        ("쿠폰 신청", p.claimed_at),
        ("쿠폰 발급", p.issued_at),
        ("쿠폰 사용", p.redeemed_at),
        ("수신 거부", p.opted_out_at),
    ];
    let mut timeline: Vec<(DateTime<Utc>, &str)> = steps.iter().filter_map(|(l, at)| at.map(|t| (t, *l))).collect();
    timeline.sort();
    let name = p.name.clone().unwrap_or_else(|| "이름 없음".into());
    Ok(html_response(
        200,
        page(
            &format!("{name} - 사람별"),
            html! {
                (bar(&who.user, &who.session))
                div.pad {
                    p.crumbs { a href=(format!("/console/campaigns/{id}/people")) { "← 사람별 보기" } }
                    h1 { (name) span.st { (p.stage.korean()) } }
                    p.muted { (p.phone.as_deref().unwrap_or("번호 없음")) }
                    dl.kpis {
                        div { dt { "클릭" } dd { (p.clicks) } }
                        div { dt { "조회" } dd { (p.views) } }
                        div { dt { "최근 7일 조회" } dd { (p.views_7d) } }
                        div { dt { "공유" } dd { (p.shares) } }
                        div { dt { "데려온 사람" } dd { (p.brought) } }
                        div { dt { "이어진 쿠폰 사용" } dd { (p.credited_redeemed) } }
                    }
                    h2 { "지나온 길" }
                    @if timeline.is_empty() {
                        p.muted { "아직 기록이 없어요." }
                    } @else {
                        ol.timeline {
                            @for (at, label) in &timeline {
                                li { b { (label) } " " span.muted { (mcamp_ops::adlaw::format_kst(*at)) } }
                            }
                        }
                    }
                    @if let Some(store) = &p.redeemed_store { p { "사용한 매장: " (store) } }
                    @if let Some(app) = &p.in_app { p.muted { "처음 연 곳: " (crate::dashboard::in_app_name(app)) } }
                    @if let Some(r) = &p.referrer_id {
                        p { "이 사람을 데려온 사람: " a href=(format!("/console/campaigns/{id}/people/{r}")) { (name_of(r)) } }
                    }
                    h2 { "공유로 데려온 사람" }
                    @if tree.len() <= 1 {
                        p.muted { "아직 없어요." }
                    } @else {
                        ul.tree {
                            @for t in tree.iter().skip(1) {
                                li style=(format!("margin-left:{}em", (t.hop - 1) * 2)) {
                                    a href=(format!("/console/campaigns/{id}/people/{}", t.recipient_id)) { (name_of(&t.recipient_id)) }
                                    " · " (t.hop) "단계 · " (t.stage.korean())
                                    @if t.stage == Stage::Redeemed { " ✓" }
                                }
                            }
                        }
                    }
                }
            },
        ),
    ))
}
