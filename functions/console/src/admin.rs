//! An admin's actions on a campaign: pause and resume, the send list in a sender's preset, the
//! report and the people as xlsx or CSV, and read-only links for the brand's client. Every one
//! is written to the audit log. A viewer's post is 403 and changes nothing.
//!
//! Exports are answered in the response, in pages: a Lambda's response is at most 6 MB, so the
//! people are written `EXPORT_PEOPLE` to a file (each file links the next), and a send list
//! whose files come to more than `MAX_FILE_BYTES` points to the CLI, which writes any size.

use std::io::Write;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Response};
use maud::{Markup, html};
use mcamp_core::campaign::CampaignStatus;
use mcamp_core::sends::Sender;
use mcamp_core::values::CampaignId;
use mcamp_core::view_link::{DEFAULT_DAYS, MAX_DAYS, ViewLink};
use mcamp_http::HttpError;
use mcamp_http::request::{form, origin, query_param};
use mcamp_http::response::{html_response, see_other};
use mcamp_ops::campaign_report::campaign_report;
use mcamp_ops::export::{ExportError, LinkExportOptions, MemoryParts, export_links};
use mcamp_ops::people::{PeopleError, PeopleFilter, Person, Reveal, people_page};
use mcamp_ops::report_sheets::{people_csv, people_xlsx, report_csv, report_xlsx};
use serde_json::json;

use crate::pages::page;
use crate::{Answer, Console, ConsoleError};

/// People in one export file.
pub(crate) const EXPORT_PEOPLE: usize = 10_000;
/// The largest file answered (a Lambda's response is 6 MB, and binary goes base64).
pub(crate) const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The admin's part of the dashboard.
pub(crate) fn panel(c: &mcamp_core::campaign::Campaign, csrf: &str, links: &[ViewLink], now: DateTime<Utc>) -> Markup {
    let (id, status) = (&c.id, c.status);
    let open: Vec<&ViewLink> = links.iter().filter(|l| l.state(now).is_ok()).collect();
    html! {
        section.actions aria-labelledby="h-admin" {
            h2 #h-admin { "관리" }
            form method="post" action=(format!("/console/campaigns/{id}/status")) {
                input type="hidden" name="csrf" value=(csrf);
                @if status == CampaignStatus::Active {
                    input type="hidden" name="status" value="paused";
                    button.btn.ghost.small type="submit" { "캠페인 일시 중지" }
                } @else if status == CampaignStatus::Paused {
                    input type="hidden" name="status" value="active";
                    button.btn.small type="submit" { "캠페인 다시 시작" }
                }
            }
            h3 { "내려받기" }
            p.links {
                a href=(format!("/console/campaigns/{id}/export?what=report&format=xlsx")) download { "보고서 엑셀(xlsx)" } " · "
                a href=(format!("/console/campaigns/{id}/export?what=report&format=csv")) download { "보고서 CSV" } " · "
                a href=(format!("/console/campaigns/{id}/export?what=people&format=xlsx")) download { "사람별 엑셀(xlsx)" } " · "
                a href=(format!("/console/campaigns/{id}/export?what=people&format=csv")) download { "사람별 CSV" }
            }
            p.muted { "사람별 파일은 이름과 번호를 가린 채로, 한 파일에 " (crate::pages::n(EXPORT_PEOPLE as i64)) "명씩 담겨요." }
            form method="get" action=(format!("/console/campaigns/{id}/send-list")) {
                label for="sender" { "발송 목록 (문자 발송사 양식)" }
                select #sender name="format" {
                    @for s in Sender::ALL { option value=(s.name()) { (s.name()) } }
                }
                @if !c.segments.is_empty() {
                    label for="segment" { "받는 사람" }
                    select #segment name="segment" {
                        option value="" { "모두" }
                        @for seg in &c.segments {
                            option value=(seg.id) { (seg.name.as_deref().unwrap_or(seg.id.as_str())) " (세그먼트)" }
                        }
                    }
                }
                " "
                button.btn.small type="submit" { "발송 목록 받기" }
            }
            p.muted { "지금 보내는 것으로 만들어요: 수신 거부·미동의·야간 미동의 고객은 빠져요. 파일이 4MB를 넘으면 CLI(mcamp links export)를 써 주세요." }
            h3 { "읽기 전용 링크 (광고주용)" }
            p.muted { "이름 없이 숫자만 보이는 링크예요. 로그인 없이 열려요." }
            @if !open.is_empty() {
                ul {
                    @for l in &open {
                        li {
                            (mcamp_ops::adlaw::format_kst(l.created_at)) " 만듦 (" (l.created_by) "), "
                            (mcamp_ops::adlaw::format_kst(l.expires_at)) "까지 "
                            form method="post" action=(format!("/console/campaigns/{id}/view-links/revoke")) {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="id" value=(l.id);
                                button.btn.ghost.small type="submit" { "취소" }
                            }
                        }
                    }
                }
            }
            form method="post" action=(format!("/console/campaigns/{id}/view-links")) {
                input type="hidden" name="csrf" value=(csrf);
                label for="days" { "사용 기간(일)" }
                input #days type="number" name="days" min="1" max=(MAX_DAYS) value=(DEFAULT_DAYS);
                " "
                button.btn.small type="submit" { "링크 만들기" }
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct StatusForm {
    status: String,
}

pub(crate) async fn status(c: &Console<'_>) -> Answer {
    let csrf = c.posted_csrf();
    let who = c.poster(&csrf).await?;
    let id = c.admin_campaign(&who)?;
    let f: StatusForm = form(c.req)?;
    let to = match f.status.as_str() {
        "paused" => CampaignStatus::Paused,
        "active" => CampaignStatus::Active,
        other => return Err(HttpError::BadRequest(format!("status: '{other}' is not paused or active")).into()),
    };
    let db = &c.web.app.db;
    let stored = db.campaign(&id).await?.ok_or(HttpError::NotFound)?;
    if stored.campaign.status == CampaignStatus::Ended {
        return Err(HttpError::Conflict(json!({ "reason": "ended" })).into());
    }
    db.set_campaign_status(&id, to, c.now).await?;
    c.audit(
        &who,
        "campaign.status",
        json!({ "campaign": id, "from": stored.campaign.status, "to": to }),
    )
    .await?;
    Ok(see_other(format!("/console/campaigns/{id}")))
}

fn file_response(bytes: Vec<u8>, content_type: &str, name: &str) -> Response<Body> {
    Response::builder()
        .status(200)
        .header("content-type", content_type)
        .header("content-disposition", format!("attachment; filename=\"{name}\""))
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .body(Body::from(bytes))
        .unwrap_or_default()
}

fn storage(e: impl std::error::Error + Send + Sync + 'static) -> ConsoleError {
    HttpError::Internal(Box::new(e)).into()
}

/// `?what=report|people&format=xlsx|csv[&after=cursor]`.
pub(crate) async fn export(c: &Console<'_>) -> Answer {
    let who = c.user().await?;
    let id = c.admin_campaign(&who)?;
    let what = query_param(c.req, "what").unwrap_or_else(|| "report".into());
    let format = query_param(c.req, "format").unwrap_or_else(|| "xlsx".into());
    if !matches!(format.as_str(), "xlsx" | "csv") {
        return Err(HttpError::BadRequest("format: xlsx or csv".into()).into());
    }
    let db = &c.web.app.db;
    let stamp = c.now.with_timezone(&mcamp_core::time::kst()).format("%Y%m%d-%H%M");
    let resp = match what.as_str() {
        "report" => {
            let report = campaign_report(db, &id).await?;
            let name = format!("{id}-report-{stamp}.{format}");
            let bytes = if format == "xlsx" {
                report_xlsx(&report, &[]).map_err(storage)?
            } else {
                report_csv(&report, Vec::new()).map_err(storage)?
            };
            (bytes, name, None)
        }
        "people" => {
            let after = query_param(c.req, "after");
            let (people, next) = people_file(c, &id, after.as_deref()).await?;
            let part = query_param(c.req, "part")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1);
            // A list of more than one file: a page that offers this file and links the next,
            // since a browser does not show a download's `Link` header.
            if (next.is_some() || part > 1) && query_param(c.req, "file").is_none() {
                return Ok(html_response(
                    200,
                    files_page(&id, &format, part, after.as_deref(), people.len(), next.as_deref()),
                ));
            }
            let name = format!("{id}-people-{stamp}-{part}.{format}");
            let bytes = if format == "xlsx" {
                people_xlsx(&people).map_err(storage)?
            } else {
                let mut w = people_csv(Vec::new()).map_err(storage)?;
                for p in &people {
                    w.write(p).map_err(storage)?;
                }
                w.finish().map_err(storage)?
            };
            let next = next.map(|n| {
                format!(
                    "/console/campaigns/{id}/export?what=people&format={format}&part={}&after={}",
                    part + 1,
                    form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
                )
            });
            (bytes, name, next)
        }
        _ => return Err(HttpError::BadRequest("what: report or people".into()).into()),
    };
    let (bytes, name, next) = resp;
    c.audit(
        &who,
        "export",
        json!({ "campaign": id, "what": what, "format": format, "file": name, "bytes": bytes.len() }),
    )
    .await?;
    let content_type = if format == "xlsx" {
        XLSX
    } else {
        "text/csv; charset=utf-8"
    };
    let mut resp = file_response(bytes, content_type, &name);
    // The next file of a long list, for the browser's download bar and for scripts.
    if let Some(next) = next
        && let Ok(v) = format!("<{next}>; rel=\"next\"").parse()
    {
        resp.headers_mut().insert("link", v);
    }
    Ok(resp)
}

/// One file of a long people export: its download, and the page of the next one.
fn files_page(
    id: &CampaignId,
    format: &str,
    part: u32,
    after: Option<&str>,
    people: usize,
    next: Option<&str>,
) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let here = format!(
        "/console/campaigns/{id}/export?what=people&format={format}&part={part}{}",
        after.map(|a| format!("&after={}", enc(a))).unwrap_or_default()
    );
    let first = (part as usize - 1) * EXPORT_PEOPLE + 1;
    page(
        "사람별 파일 - mcamp 콘솔",
        html! { div.pad {
            p.crumbs { a href=(format!("/console/campaigns/{id}")) { "← 대시보드" } }
            h1 { "사람별 파일 " (part) }
            p { "사람이 많아 " (crate::pages::n(EXPORT_PEOPLE as i64)) "명씩 나눠서 받아요. 이름과 번호는 가려져 있어요." }
            p { a.btn.small href=(format!("{here}&file=1")) download { (crate::pages::n(first as i64)) "~" (crate::pages::n((first + people - 1) as i64)) "번째 받기 (" (format) ")" } }
            @if let Some(n) = next {
                p { a href=(format!("/console/campaigns/{id}/export?what=people&format={format}&part={}&after={}", part + 1, enc(n))) rel="next" { "다음 파일 →" } }
            } @else {
                p.muted { "마지막 파일이에요." }
            }
        } },
    )
}

/// One file's worth of people (masked), and the cursor of the next file.
async fn people_file(
    c: &Console<'_>,
    id: &CampaignId,
    after: Option<&str>,
) -> Result<(Vec<Person>, Option<String>), ConsoleError> {
    let mut out = Vec::new();
    let mut cursor = after.map(str::to_owned);
    loop {
        let want = (EXPORT_PEOPLE - out.len()).min(1000);
        let page = people_page(
            &c.web.app.db,
            id,
            &PeopleFilter::All,
            cursor.as_deref(),
            want,
            &Reveal::Masked,
            c.now,
        )
        .await
        .map_err(|e| match e {
            PeopleError::UnknownCampaign(_) => ConsoleError::from(HttpError::NotFound),
            PeopleError::BadCursor(c) => HttpError::BadRequest(format!("after: not a cursor ('{c}')")).into(),
            PeopleError::Db(e) => e.into(),
        })?;
        out.extend(page.people);
        cursor = page.next;
        if cursor.is_none() || out.len() >= EXPORT_PEOPLE {
            return Ok((out, cursor));
        }
    }
}

/// The send list as of now, in a sender's preset: one CSV, or a ZIP of the preset's files.
pub(crate) async fn send_list(c: &Console<'_>) -> Answer {
    let who = c.user().await?;
    let id = c.admin_campaign(&who)?;
    let format = query_param(c.req, "format").unwrap_or_else(|| "generic".into());
    let format = Sender::parse(&format).map_err(HttpError::BadRequest)?;
    let base_url = origin(c.req, c.web.site.base_url.as_deref());
    let segment = match query_param(c.req, "segment").filter(|s| !s.is_empty()) {
        Some(s) => Some(mcamp_core::values::SegmentId::parse(&s).map_err(|e| HttpError::BadRequest(e.to_string()))?),
        None => None,
    };
    let opts = LinkExportOptions {
        base_url,
        send_at: c.now,
        allow_night: false,
        format,
        segment,
    };
    let parts = MemoryParts::default();
    let exported = export_links(
        &c.web.app.db,
        &id,
        &opts,
        parts.opener(),
        None::<fn(usize) -> std::io::Result<std::io::Sink>>,
    )
    .await;
    let report = match exported {
        Ok(r) => r,
        Err(ExportError::UnknownCampaign(_) | ExportError::UnknownSegment(..)) => {
            return Err(HttpError::NotFound.into());
        }
        Err(e @ (ExportError::Db(_) | ExportError::Csv(_) | ExportError::Io(_))) => return Err(storage(e)),
        // The campaign file's message cannot make this list: say why (never a phone number).
        Err(ExportError::Template(e)) => return Ok(cannot_export(&id, &format!("메시지 템플릿: {e}"))),
        Err(ExportError::TooLong { row, source, .. }) => {
            return Ok(cannot_export(
                &id,
                &format!("{row}번째 줄의 메시지가 너무 길어요: {source}"),
            ));
        }
    };
    let files = parts.take();
    let stamp = c.now.with_timezone(&mcamp_core::time::kst()).format("%Y%m%d-%H%M");
    let base = format!("{id}-send-{}-{stamp}", format.name());
    let (bytes, name, content_type) = if files.len() <= 1 {
        (
            files.into_iter().next().unwrap_or_default(),
            format!("{base}.csv"),
            "text/csv; charset=utf-8",
        )
    } else {
        (
            zip(&base, &files).map_err(storage)?,
            format!("{base}.zip"),
            "application/zip",
        )
    };
    if bytes.len() > MAX_FILE_BYTES {
        return Ok(html_response(
            413,
            page(
                "발송 목록이 너무 커요",
                html! { div.pad {
                    h1 { "발송 목록이 너무 커요" }
                    p { "웹에서는 4MB까지 내려받을 수 있어요. CLI로 만들어 주세요: " code { "mcamp links export " (id) " --format " (format.name()) } }
                    p { a href=(format!("/console/campaigns/{id}")) { "대시보드로 돌아가기" } }
                } },
            ),
        ));
    }
    c.audit(
        &who,
        "send_list.exported",
        json!({ "campaign": id, "format": format.name(), "rows": report.exported, "files": report.files, "night": report.night }),
    )
    .await?;
    Ok(file_response(bytes, content_type, &name))
}

fn cannot_export(id: &CampaignId, why: &str) -> Response<Body> {
    html_response(
        422,
        page(
            "발송 목록을 만들 수 없어요",
            html! { div.pad {
                h1 { "발송 목록을 만들 수 없어요" }
                p.err role="alert" { (why) }
                p { "캠페인 파일의 메시지를 고친 뒤 다시 올려 주세요(mcamp campaign push)." }
                p { a href=(format!("/console/campaigns/{id}")) { "대시보드로 돌아가기" } }
            } },
        ),
    )
}

fn zip(base: &str, files: &[Vec<u8>]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (i, f) in files.iter().enumerate() {
        out.start_file(format!("{base}-{}.csv", i + 1), opts)?;
        out.write_all(f)?;
    }
    Ok(out.finish()?.into_inner())
}

#[derive(serde::Deserialize)]
struct NewLinkForm {
    #[serde(default)]
    days: Option<String>,
}

/// Makes a read-only link and shows its URL once (only its hash is kept).
pub(crate) async fn create_view_link(c: &Console<'_>) -> Answer {
    let csrf = c.posted_csrf();
    let who = c.poster(&csrf).await?;
    let id = c.admin_campaign(&who)?;
    let f: NewLinkForm = form(c.req)?;
    let days = match f.days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => DEFAULT_DAYS,
        Some(d) => d
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| HttpError::BadRequest(format!("days: 1 to {MAX_DAYS}")))?,
    };
    let (link, token) = ViewLink::new(id.clone(), who.user.email.to_string(), days, c.now);
    c.web.app.db.add_view_link(&link).await?;
    c.audit(
        &who,
        "view_link.created",
        json!({ "campaign": id, "link": &link.id[..12], "expires_at": link.expires_at }),
    )
    .await?;
    let url = format!("{}/console/view/{token}", origin(c.req, c.web.site.base_url.as_deref()));
    Ok(html_response(
        200,
        page(
            "읽기 전용 링크를 만들었어요",
            html! { div.pad {
                h1 { "읽기 전용 링크를 만들었어요" }
                div.ok role="status" {
                    label for="view-link" { "이 주소를 광고주에게 보내 주세요" }
                    input #view-link type="text" readonly value=(url) style="width:100%;font-size:15px;padding:10px";
                }
                p { (mcamp_ops::adlaw::format_kst(link.expires_at)) "까지 열려요. 이 주소는 지금 한 번만 보여요." }
                p { a href=(format!("/console/campaigns/{id}")) { "대시보드로 돌아가기" } }
            } },
        ),
    ))
}

#[derive(serde::Deserialize)]
struct RevokeForm {
    id: String,
}

pub(crate) async fn revoke_view_link(c: &Console<'_>) -> Answer {
    let csrf = c.posted_csrf();
    let who = c.poster(&csrf).await?;
    let id = c.admin_campaign(&who)?;
    let f: RevokeForm = form(c.req)?;
    if !c.web.app.db.revoke_view_link(&id, f.id.trim(), c.now).await? {
        return Err(HttpError::NotFound.into());
    }
    c.audit(
        &who,
        "view_link.revoked",
        json!({ "campaign": id, "link": f.id.chars().take(12).collect::<String>() }),
    )
    .await?;
    Ok(see_other(format!("/console/campaigns/{id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_people_export_offers_each_file_and_links_the_next() -> Result<(), mcamp_core::values::ParseError> {
        let id = CampaignId::parse("spring")?;
        let html = files_page(&id, "xlsx", 2, Some("all.3.AAAA"), EXPORT_PEOPLE, Some("all.5.BBBB"));
        assert!(html.contains("part=2&amp;after=all.3.AAAA&amp;file=1"), "{html}");
        assert!(html.contains("10,001~20,000번째"), "{html}");
        assert!(html.contains("part=3&amp;after=all.5.BBBB"), "{html}");
        let last = files_page(&id, "csv", 3, Some("all.5.BBBB"), 12, None);
        assert!(
            last.contains("마지막 파일") && last.contains("20,001~20,012번째"),
            "{last}"
        );
        Ok(())
    }
}
