//! One campaign's dashboard, read from the aggregator's counters (`campaign_report`): the same
//! few reads at 10^3 events as at 10^7. Signed-in users see masked names of the top sharers and
//! can open one sharer's tree; the read-only link for the brand's client shows the same
//! numbers with no names and no person at all.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use maud::{Markup, html};
use mcamp_core::analytics::report::{CampaignReport, TreeNode};
use mcamp_core::campaign::CampaignKind;
use mcamp_core::users::Role;
use mcamp_core::values::{CampaignId, RecipientId, StoreId};
use mcamp_core::view_link::Closed;
use mcamp_http::HttpError;
use mcamp_http::request::{path_param, query_param};
use mcamp_http::response::html_response;
use mcamp_ops::campaign_report::{ReportError, report_of, share_tree};
use mcamp_ops::people::mask_name;
use mcamp_ops::report::{Bar, columns, count_bars, rate_text};
use mcamp_ops::surveys::{SurveyOpsError, load_mcs_report, load_survey_report};

use crate::pages::{bar, n, page, status_ko};
use crate::{Answer, Console, ConsoleError, SignedIn, admin, upload};

/// Hours the clicks-per-hour chart shows, ending at the campaign's latest hour.
const HOURS: usize = 48;
/// Responses a store needs to be ranked in the MCS report (the CLI's default).
const MCS_MIN_RESPONSES: u64 = 30;

/// Who is looking: a signed-in user, or the brand's client through a read-only link.
pub(crate) enum Viewer<'a> {
    User(&'a SignedIn),
    Link,
}

impl From<ReportError> for ConsoleError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::UnknownCampaign(_) => HttpError::NotFound.into(),
            ReportError::Db(e) => e.into(),
        }
    }
}

pub(crate) async fn dashboard(c: &Console<'_>) -> Answer {
    let who = c.user().await?;
    let id = c.campaign_of(&who)?;
    let tree_of = query_param(c.req, "tree").and_then(|t| RecipientId::parse(&t).ok());
    let body = render(c, &id, Viewer::User(&who), tree_of).await?;
    Ok(html_response(200, body))
}

/// The dashboard through a read-only link: no session needed, no names shown.
pub(crate) async fn view_link(c: &Console<'_>) -> Answer {
    let token = path_param(c.req, "token").unwrap_or_default();
    let link = if token.len() == mcamp_core::view_link::TOKEN_LEN && token.chars().all(|ch| ch.is_ascii_alphanumeric())
    {
        c.web.app.db.view_link(&token).await?
    } else {
        None
    };
    let closed = |title: &str, message: &str| {
        html_response(410, page(title, html! { div.pad { h1 { (title) } p { (message) } } }))
    };
    let Some(link) = link else {
        return Ok(closed(
            "없는 링크예요",
            "링크 주소를 다시 확인하거나, 링크를 보낸 담당자에게 새 링크를 요청해 주세요.",
        ));
    };
    match link.state(c.now) {
        Err(Closed::Expired) => Ok(closed(
            "기간이 끝난 링크예요",
            "이 읽기 전용 링크는 사용 기간이 지났어요. 담당자에게 새 링크를 요청해 주세요.",
        )),
        Err(Closed::Revoked) => Ok(closed(
            "더 이상 볼 수 없는 링크예요",
            "담당자가 이 링크를 취소했어요. 필요하면 새 링크를 요청해 주세요.",
        )),
        Ok(()) => {
            let body = render(c, &link.campaign_id, Viewer::Link, None).await?;
            let mut resp = html_response(200, body);
            // The token is in the path: never sent on as a referrer.
            if let Ok(v) = "no-referrer".parse() {
                resp.headers_mut().insert("referrer-policy", v);
            }
            Ok(resp)
        }
    }
}

/// The survey or MCS report of a survey campaign, as the CLI writes it.
pub(crate) async fn survey_report(c: &Console<'_>) -> Answer {
    let who = c.user().await?;
    let id = c.campaign_of(&who)?;
    let stored = c.web.app.db.campaign(&id).await?.ok_or(HttpError::NotFound)?;
    let html = match stored.campaign.kind {
        CampaignKind::Survey => load_survey_report(&c.web.app.db, &id)
            .await
            .map(|r| mcamp_ops::report::report_html(&r)),
        CampaignKind::Mcs => load_mcs_report(&c.web.app.db, &id, MCS_MIN_RESPONSES)
            .await
            .map(|(r, names)| mcamp_ops::report::mcs_html(&r, &names)),
        CampaignKind::Mdm => return Err(HttpError::NotFound.into()),
    }
    .map_err(|e| match e {
        SurveyOpsError::Db(e) => ConsoleError::from(e),
        _ => HttpError::NotFound.into(),
    })?;
    Ok(html_response(200, html))
}

async fn render(
    c: &Console<'_>,
    id: &CampaignId,
    viewer: Viewer<'_>,
    tree_of: Option<RecipientId>,
) -> Result<String, ConsoleError> {
    let db = &c.web.app.db;
    let stored = db.campaign(id).await?.ok_or(HttpError::NotFound)?;
    let report = report_of(db, &stored.campaign).await?;
    // Names of the top sharers, masked; none through a read-only link.
    let names: BTreeMap<RecipientId, String> = match viewer {
        Viewer::User(_) => {
            let ids: Vec<RecipientId> = report.top_sharers.iter().map(|s| s.recipient_id.clone()).collect();
            db.recipients_of(&ids)
                .await?
                .into_iter()
                .filter_map(|(rid, r)| r.name.as_deref().map(|n| (rid, mask_name(n))))
                .collect()
        }
        Viewer::Link => BTreeMap::new(),
    };
    let store_ids: Vec<StoreId> = report
        .stores
        .iter()
        .filter_map(|s| StoreId::parse(&s.store).ok())
        .collect();
    let store_names = db.store_names(&store_ids).await?;
    let tree = match (&viewer, tree_of) {
        (Viewer::User(_), Some(root)) => Some((root.clone(), share_tree(db, &root).await?)),
        _ => None,
    };
    let admin_part = match viewer {
        Viewer::User(who) if who.user.role == Role::Admin => {
            let links = db.view_links(id).await?;
            Some(admin::panel(&stored.campaign, &who.session.csrf, &links, c.now))
        }
        _ => None,
    };
    let upload_form = match viewer {
        Viewer::User(who) if who.user.role == Role::Admin => Some(upload::form(id.as_str(), &who.session.csrf)),
        _ => None,
    };
    let kst_now = mcamp_ops::adlaw::format_kst(c.now);
    let title = format!("{} - mcamp 콘솔", stored.campaign.name);
    Ok(page(
        &title,
        html! {
            @match viewer {
                Viewer::User(who) => (bar(&who.user, &who.session)),
                Viewer::Link => nav.bar aria-label="읽기 전용" { b { "mcamp 캠페인 결과" } span.muted { "읽기 전용 링크" } },
            }
            div.pad {
                @if let Viewer::User(_) = viewer { p.crumbs { a href="/console/campaigns" { "← 캠페인 목록" } } }
                h1 { (stored.campaign.name) span.st { (status_ko(stored.campaign.status)) } }
                p.muted { (id) " · " (kst_now) " 기준 (몇 초 늦을 수 있어요)" }
                @if let Viewer::User(_) = viewer {
                    p.links {
                        a href=(format!("/console/campaigns/{id}/people")) { "사람별 보기" }
                        @if !matches!(stored.campaign.kind, CampaignKind::Mdm) {
                            " · " a href=(format!("/console/campaigns/{id}/survey")) { "설문 결과 보고서" }
                        }
                    }
                }
                (kpis(&report))
                (funnel(&report))
                (hourly(&report))
                (in_app(&report))
                (blocks(&report))
                (shares(&report, &viewer, &names, id))
                @if let Some((root, nodes)) = &tree { (tree_section(root, nodes, &names)) }
                (coupons(&report, &store_names))
                (ab_test(&report))
                (offer(&report))
                (survey(&report))
                (sends(&report))
                @if let Some(panel) = admin_part { (panel) }
                @if let Some(form) = upload_form { section { h2 { "대상자 올리기" } (form) } }
            }
        },
    ))
}

/// A table's column headings.
pub(crate) fn head(cols: &[&str]) -> Markup {
    html! { thead { tr { @for c in cols { th scope="col" { (c) } } } } }
}

fn metric(label: &str, key: &str, value: i64) -> Markup {
    html! { div { dt { (label) } dd data-metric=(key) data-n=(value) { (n(value)) } } }
}

fn kpis(r: &CampaignReport) -> Markup {
    let people = |stage: &str| {
        r.funnel
            .iter()
            .find(|s| s.stage.as_str() == stage)
            .map_or(0, |s| s.people)
    };
    let issued: i64 = r.coupons.iter().map(|c| c.issued).sum();
    let redeemed: i64 = r.coupons.iter().map(|c| c.redeemed).sum();
    html! {
        section aria-labelledby="h-kpi" {
            h2 #h-kpi { "한눈에" }
            dl.kpis {
                (metric("발송한 사람", "people.sent", people("sent")))
                (metric("클릭한 사람", "unique_clicks", r.unique_clicks))
                (metric("클릭 수", "clicks", r.clicks))
                (metric("페이지 조회", "page_views", r.page_views))
                (metric("정보 입력", "forms", r.forms))
                (metric("쿠폰 발급", "issued", issued))
                (metric("쿠폰 사용", "redeemed", redeemed))
                (metric("수신 거부", "opt_outs", r.opt_outs))
            }
            p.muted { "링크 미리보기(메신저가 링크를 미리 읽은 것) " span data-metric="previews" data-n=(r.previews) { (n(r.previews)) } "회는 클릭에서 뺐어요." }
        }
    }
}

fn funnel(r: &CampaignReport) -> Markup {
    let bars: Vec<Bar> = r
        .funnel
        .iter()
        .map(|s| Bar {
            label: s.label.to_owned(),
            count: u64::try_from(s.people).unwrap_or(0),
            note: match s.of_sent {
                Some(_) => format!("명 · {}", rate_text(s.of_sent)),
                None => "명".into(),
            },
        })
        .collect();
    html! {
        section aria-labelledby="h-funnel" {
            h2 #h-funnel { "퍼널" }
            (count_bars("퍼널", &bars))
            div.wrap {
                table {
                    (head(&["단계", "사람", "이전 단계 대비", "발송 대비"]))
                    tbody {
                        @for s in &r.funnel {
                            tr data-stage=(s.stage.as_str()) data-n=(s.people) {
                                th scope="row" { (s.label) }
                                td { (n(s.people)) }
                                td { (rate_text(s.of_previous)) }
                                td { (rate_text(s.of_sent)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The last `HOURS` hours up to the latest hour with clicks, gaps filled with zero.
fn hour_points(r: &CampaignReport) -> Vec<(String, u64)> {
    let parse = |at: &str| NaiveDateTime::parse_from_str(&format!("{at}:00"), "%Y-%m-%d %H:%M").ok();
    let by: BTreeMap<NaiveDateTime, i64> = r
        .by_hour
        .iter()
        .filter_map(|h| parse(&h.at).map(|t| (t, h.clicks)))
        .collect();
    let Some(last) = by.keys().next_back().copied() else {
        return Vec::new();
    };
    (0..HOURS)
        .rev()
        .map(|back| {
            let t = last - Duration::hours(i64::try_from(back).unwrap_or(0));
            let label = t.format("%-m/%-d %H시").to_string();
            (label, u64::try_from(by.get(&t).copied().unwrap_or(0)).unwrap_or(0))
        })
        .collect()
}

fn hourly(r: &CampaignReport) -> Markup {
    let points = hour_points(r);
    html! {
        section aria-labelledby="h-hours" {
            h2 #h-hours { "시간대별 클릭" }
            @if points.is_empty() {
                p.muted { "아직 클릭이 없어요." }
            } @else {
                p.muted { "최근 " (HOURS) "시간, 한국 시간" }
                (columns("시간대별 클릭", &points, 16))
            }
            @if !r.by_day.is_empty() {
                details {
                    summary { "날짜별 표" }
                    div.wrap {
                        table {
                            (head(&["날짜", "발송", "클릭", "클릭한 사람", "조회", "쿠폰 신청", "쿠폰 사용"]))
                            tbody {
                                @for d in r.by_day.iter().rev() {
                                    tr { th scope="row" { (d.at) } td { (n(d.sent)) } td { (n(d.clicks)) } td { (n(d.unique_clicks)) } td { (n(d.page_views)) } td { (n(d.claimed)) } td { (n(d.redeemed)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// In-app browsers as people know them.
pub(crate) fn in_app_name(s: &str) -> &str {
    match s {
        "kakaotalk" => "카카오톡",
        "naver" => "네이버 앱",
        "line" => "라인",
        "instagram" => "인스타그램",
        "facebook" => "페이스북",
        "band" => "밴드",
        "daum" => "다음 앱",
        "none" => "일반 브라우저",
        other => other,
    }
}

fn in_app(r: &CampaignReport) -> Markup {
    html! {
        section aria-labelledby="h-inapp" {
            h2 #h-inapp { "어디서 열었나요 (인앱 브라우저)" }
            @if r.in_app.is_empty() {
                p.muted { "아직 클릭이 없어요." }
            } @else {
                div.wrap {
                    table {
                        (head(&["브라우저", "클릭", "클릭한 사람", "조회", "바로 나감", "이탈률"]))
                        tbody {
                            @for a in &r.in_app {
                                tr data-in-app=(a.in_app) data-n=(a.clicks) {
                                    th scope="row" { (in_app_name(&a.in_app)) }
                                    td { (n(a.clicks)) } td { (n(a.unique_clicks)) } td { (n(a.viewed)) } td { (n(a.bounced)) } td { (rate_text(a.bounce_rate)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn blocks(r: &CampaignReport) -> Markup {
    html! {
        @if !r.blocks.is_empty() {
            section aria-labelledby="h-blocks" {
                h2 #h-blocks { "페이지에서 어디까지 봤나요" }
                div.wrap {
                    table {
                        (head(&["콘텐츠", "도달", "여기서 나감"]))
                        tbody {
                            @for b in &r.blocks {
                                tr { th scope="row" { (b.block + 1) ". " (b.label) } td { (n(b.reached)) } td { (n(b.left_here)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn channel_name(s: &str) -> &str {
    match s {
        "kakao" => "카카오톡",
        "copy_link" => "링크 복사",
        "sms" => "문자",
        other => other,
    }
}

fn shares(r: &CampaignReport, viewer: &Viewer<'_>, names: &BTreeMap<RecipientId, String>, id: &CampaignId) -> Markup {
    let s = &r.shares;
    let signed_in = matches!(viewer, Viewer::User(_));
    html! {
        section aria-labelledby="h-shares" {
            h2 #h-shares { "공유" }
            dl.kpis {
                (metric("공유한 사람", "shares.sharers", s.sharers))
                (metric("공유 횟수", "shares.taps", s.taps))
                (metric("공유로 온 사람", "shares.visitors", s.visitors))
                (metric("카톡 대화방", "shares.kakao_rooms", s.kakao_rooms))
            }
            @if !s.by_channel.is_empty() {
                p.muted {
                    @for (i, (ch, count)) in s.by_channel.iter().enumerate() {
                        @if i > 0 { " · " }
                        (channel_name(ch)) " " (n(*count)) "회"
                    }
                }
            }
            @if !r.top_sharers.is_empty() {
                h3 { "많이 퍼뜨린 사람" }
                div.wrap {
                    table {
                        (head(&["순위", "사람", "공유", "데려온 방문", "쿠폰 신청", "쿠폰 사용(3단계까지)"]))
                        tbody {
                            @for (i, t) in r.top_sharers.iter().enumerate() {
                                tr {
                                    th scope="row" { (i + 1) }
                                    td {
                                        @if signed_in {
                                            a href=(format!("/console/campaigns/{id}?tree={}#tree", t.recipient_id)) {
                                                (names.get(&t.recipient_id).map_or("이름 없음", String::as_str))
                                            }
                                        } @else {
                                            "공유자 " (i + 1)
                                        }
                                    }
                                    td { (t.shares) } td { (t.visitors) } td { (t.claims) } td { (t.redeemed) }
                                }
                            }
                        }
                    }
                }
                @if signed_in { p.muted { "이름을 누르면 그 사람이 퍼뜨린 공유 나무를 볼 수 있어요." } }
            }
        }
    }
}

fn tree_section(root: &RecipientId, nodes: &[TreeNode], names: &BTreeMap<RecipientId, String>) -> Markup {
    html! {
        section #tree aria-labelledby="h-tree" {
            h2 #h-tree { "공유 나무: " (names.get(root).map_or("이 사람", String::as_str)) }
            @if nodes.len() <= 1 {
                p.muted { "이 사람의 공유로 들어온 사람이 아직 없어요." }
            } @else {
                ul.tree {
                    @for t in nodes {
                        li style=(format!("margin-left:{}em", t.hop * 2)) {
                            @if t.hop == 0 { "시작" } @else { (t.hop) "단계" }
                            " · " (t.stage.korean())
                            @if t.visitors > 0 { " · 데려온 방문 " (t.visitors) }
                            @if t.credited_redeemed > 0 { " · 쿠폰 사용 " (t.credited_redeemed) }
                        }
                    }
                }
            }
        }
    }
}

fn coupons(r: &CampaignReport, store_names: &BTreeMap<String, String>) -> Markup {
    html! {
        @if !r.coupons.is_empty() {
            section aria-labelledby="h-coupons" {
                h2 #h-coupons { "쿠폰" }
                div.wrap {
                    table {
                        (head(&["쿠폰", "수량", "신청", "발급", "품절로 못 받음", "사용"]))
                        tbody {
                            @for cp in &r.coupons {
                                tr data-coupon=(cp.coupon) data-issued=(cp.issued) data-redeemed=(cp.redeemed) {
                                    th scope="row" { (cp.title) }
                                    td { (n(i64::from(cp.stock))) } td { (n(cp.claimed)) } td { (n(cp.issued)) } td { (n(cp.sold_out)) } td { (n(cp.redeemed)) }
                                }
                            }
                        }
                    }
                }
                @if !r.stores.iter().all(|s| s.redeemed == 0) {
                    h3 { "매장별 사용" }
                    div.wrap {
                        table {
                            (head(&["매장", "사용", "쿠폰별"]))
                            tbody {
                                @for s in r.stores.iter().filter(|s| s.redeemed > 0) {
                                    tr data-store=(s.store) data-n=(s.redeemed) {
                                        th scope="row" { (store_names.get(&s.store).unwrap_or(&s.store)) }
                                        td { (n(s.redeemed)) }
                                        td {
                                            @for (i, (cp, k)) in s.redeemed_by_coupon.iter().enumerate() {
                                                @if i > 0 { ", " }
                                                (r.coupons.iter().find(|c| &c.coupon == cp).map_or(cp.as_str(), |c| c.title.as_str())) " " (k)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn outcome_name(o: &mcamp_core::experiment::Outcome) -> &'static str {
    use mcamp_core::experiment::Outcome;
    match o {
        Outcome::NotEnoughData => "not_enough_data",
        Outcome::NoClearWinner => "no_clear_winner",
        Outcome::Winner { .. } => "winner",
    }
}

/// The page variants' A/B verdict, in plain Korean, with what it rests on.
fn ab_test(r: &CampaignReport) -> Markup {
    html! {
        @if let Some(ab) = &r.ab_test {
            section aria-labelledby="h-ab" {
                h2 #h-ab { "A/B 테스트" }
                p.verdict data-outcome=(outcome_name(&ab.verdict.outcome)) {
                    b { (ab.verdict.sentence) }
                }
                p.muted { (ab.over.korean()) "한 사람 중 " (ab.to.korean()) "까지 간 비율 · " (ab.verdict.detail) }
                div.wrap {
                    table {
                        (head(&["안", "본 사람", "전환", "전환율", "최고일 확률"]))
                        tbody {
                            @for a in &ab.verdict.arms {
                                tr data-variant=(a.name) {
                                    th scope="row" { (a.name) }
                                    td { (n(i64::try_from(a.visitors).unwrap_or(i64::MAX))) }
                                    td { (n(i64::try_from(a.conversions).unwrap_or(i64::MAX))) }
                                    td { (rate_text(a.rate)) }
                                    td { (format!("{:.0}%", a.probability_best * 100.0)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The learning offer: redemption of each coupon overall and per segment, the holdout's, and
/// what learning gained over it.
fn offer(r: &CampaignReport) -> Markup {
    let people = |x: u64| n(i64::try_from(x).unwrap_or(i64::MAX));
    // Coupons by their title, as the marketer wrote it.
    let title = |id: &str| {
        r.coupons
            .iter()
            .find(|c| c.coupon == id && !c.title.is_empty())
            .map_or_else(|| id.to_owned(), |c| c.title.clone())
    };
    html! {
        @if let Some(o) = &r.offer {
            section aria-labelledby="h-offer" {
                h2 #h-offer { "학습하는 쿠폰" }
                @if let Some(l) = &o.lift {
                    p.verdict data-metric="offer.lift" data-n=(format!("{:.4}", l.difference)) {
                        b { "고객별로 고른 쿠폰의 사용률이 대조군보다 " (format!("{:+.1}%p", l.difference * 100.0)) }
                    }
                    p.muted { "95% 구간 " (format!("{:+.1}%p ~ {:+.1}%p", l.low * 100.0, l.high * 100.0)) " · 대조군: 무작위로 고른 일부 고객에게는 학습 없이 기본 쿠폰을 보여 줘요" }
                } @else {
                    p.muted { "아직 판단하기에 데이터가 부족해요" }
                }
                div.wrap {
                    table {
                        (head(&["쿠폰", "제안", "사용", "사용률"]))
                        tbody {
                            @for v in &o.variants {
                                tr data-offer=(v.variant) {
                                    th scope="row" { (title(&v.variant)) }
                                    td { (people(v.tally.offers)) }
                                    td { (people(v.tally.redemptions)) }
                                    td { (rate_text(v.rate)) }
                                }
                            }
                            tr data-offer="holdout" {
                                th scope="row" { "대조군(기본 쿠폰)" }
                                td { (people(o.holdout.offers)) }
                                td { (people(o.holdout.redemptions)) }
                                td { (rate_text(o.holdout.rate())) }
                            }
                        }
                    }
                }
                div.wrap {
                    table {
                        (head(&["고객군", "쿠폰별 사용/제안", "대조군", "사용률이 가장 높은 쿠폰"]))
                        tbody {
                            @for row in &o.segments {
                                tr {
                                    th scope="row" { (row.label) }
                                    td {
                                        @for v in &row.variants {
                                            div { (title(&v.variant)) " " (v.tally.redemptions) "/" (v.tally.offers) }
                                        }
                                    }
                                    td { (row.holdout.redemptions) "/" (row.holdout.offers) }
                                    td {
                                        (row.variants.iter().filter(|v| v.tally.offers > 0)
                                            .max_by(|a, b| a.rate.unwrap_or(0.0).total_cmp(&b.rate.unwrap_or(0.0)))
                                            .map_or_else(|| "–".to_owned(), |v| title(&v.variant)))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn survey(r: &CampaignReport) -> Markup {
    let s = &r.survey;
    html! {
        @if s.starts > 0 {
            section aria-labelledby="h-survey" {
                h2 #h-survey { "설문" }
                dl.kpis {
                    (metric("시작", "survey.starts", s.starts))
                    (metric("완료", "survey.completions", s.completions))
                    (metric("응답 철회", "survey.withdrawn", s.withdrawn))
                }
            }
        }
    }
}

fn reason_name(s: &str) -> &str {
    match s {
        "opted_out" => "080 수신 거부",
        "blocked" => "차단(스팸·발신번호)",
        "invalid_number" => "없는 번호",
        "not_kakao_user" => "카카오톡 미사용",
        "ad_window" => "광고 시간 아님",
        "timeout" => "전원 꺼짐·연결 안 됨",
        "carrier" => "통신사 오류",
        "other" => "기타",
        other => other,
    }
}

fn sends(r: &CampaignReport) -> Markup {
    let s = &r.sends;
    html! {
        @if s.sent > 0 || s.failed > 0 {
            section aria-labelledby="h-sends" {
                h2 #h-sends { "발송 결과" }
                dl.kpis {
                    (metric("발송", "sends.sent", s.sent))
                    (metric("수신 확인", "sends.delivered", s.delivered))
                    (metric("실패", "sends.failed", s.failed))
                }
                @if !s.failed_by_reason.is_empty() {
                    p.muted {
                        "실패 이유: "
                        @for (i, (why, k)) in s.failed_by_reason.iter().enumerate() {
                            @if i > 0 { " · " }
                            (reason_name(why)) " " (n(*k))
                        }
                    }
                }
            }
        }
    }
}
