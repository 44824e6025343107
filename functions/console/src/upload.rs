//! Recipients uploaded as CSV or xlsx (admins): the file is read and imported by
//! `mcamp_ops::upload` under the CLI import's rules, and the page shows what came in and each
//! rejected row by its spreadsheet row number.
//!
//! The post is `multipart/form-data`, so its CSRF token is read from the multipart body, and
//! checked (with the session and the origin) before anything of the file is looked at further.
//! The body is taken whole from the request (not through `body_bytes`, which caps form posts
//! at 16 KB); `mcamp_ops::upload::UPLOAD_LIMIT` bounds the file.

use lambda_http::Body;
use maud::{Markup, html};
use mcamp_core::values::CampaignId;
use mcamp_http::HttpError;
use mcamp_http::request::header;
use mcamp_http::response::html_response;
use mcamp_ops::import::{ImportReport, RejectedRow};
use mcamp_ops::upload::{UPLOAD_LIMIT, UploadError, UploadKind, import_file, mask_digits, parse_form};
use serde_json::json;

use crate::pages::{bar, page};
use crate::{Answer, Console, SignedIn};

/// Rejected rows listed on the page; the rest are counted.
const SHOWN_REJECTS: usize = 200;

/// What the file picker offers.
const ACCEPT: &str = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub(crate) async fn import(c: &Console<'_>) -> Answer {
    let body: &[u8] = match c.req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    let form = parse_form(body, header(c.req, "content-type").unwrap_or_default()).await;
    // Origin, session and token first: a post that fails them is refused as such, whatever
    // its file.
    let who = c.poster(&form.csrf).await?;
    let id = c.admin_campaign(&who)?;
    let db = &c.web.app.db;
    let stored = db.campaign(&id).await?.ok_or(HttpError::NotFound)?;
    let file = match form.file {
        Ok(f) => f,
        Err(e) => return Ok(refused(&who, &id, &e)),
    };
    let name = file.name.clone();
    match import_file(db, &stored.campaign, &c.web.site.phone_key, file, c.now).await {
        Ok((report, kind)) => {
            c.audit(
                &who,
                "recipients.imported",
                json!({
                    "campaign": id.as_str(),
                    "file": name,
                    "kind": kind.as_str(),
                    "rows": report.rows,
                    "imported": report.imported,
                    "duplicates": report.duplicates,
                    "consents_changed": report.consents_changed,
                    "rejected": report.rejected.len(),
                }),
            )
            .await?;
            Ok(html_response(200, imported(&who, &id, &name, kind, &report)))
        }
        Err(UploadError::Db(e)) => {
            // Rows before the failure may be in: say so in the log of who did what.
            let _ = c
                .audit(
                    &who,
                    "recipients.import_failed",
                    json!({"campaign": id.as_str(), "file": name}),
                )
                .await;
            Err(e.into())
        }
        Err(e) => Ok(refused(&who, &id, &e)),
    }
}

/// The upload form, for a campaign's dashboard. The token comes before the file so a browser
/// sends it first, and a refused file still has its post checked.
pub(crate) fn form(campaign: &str, csrf: &str) -> Markup {
    html! {
        form.upload method="post" action=(format!("/console/campaigns/{campaign}/recipients")) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf);
            label for="recipients-file" { "수신자 명단 파일 (CSV 또는 엑셀 .xlsx)" }
            input #recipients-file type="file" name="file" accept=(ACCEPT) required;
            p.muted {
                "파일은 " (UPLOAD_LIMIT / (1024 * 1024)) "MB까지 올릴 수 있어요. 엑셀은 첫 번째 시트를 읽어요. "
                "첫 줄은 머리글이고, 휴대폰(필수), 이름, 성별, 출생연도, 연령대, 지역, 마케팅동의, 야간동의, 동의일 열을 읽어요. "
                "그 밖의 열은 읽지 않아요. 이미 들어 있는 번호는 다시 더하지 않아요."
            }
            button.btn type="submit" { "명단 올리기" }
        }
    }
}

fn kind_ko(kind: UploadKind, report: &ImportReport) -> String {
    match kind {
        UploadKind::Csv => format!("CSV ({})", report.encoding),
        UploadKind::Xlsx => "엑셀 (.xlsx, 첫 번째 시트)".into(),
    }
}

/// The import's result: the counts, and the rejected rows by row number.
fn imported(who: &SignedIn, id: &CampaignId, name: &str, kind: UploadKind, report: &ImportReport) -> String {
    let more = report.rejected.len().saturating_sub(SHOWN_REJECTS);
    let n = |x: usize| mcamp_core::campaign::grouped(x as u64);
    page(
        "명단 올리기 - mcamp 콘솔",
        html! {
            (bar(&who.user, &who.session))
            div.pad {
                h1 { "명단을 가져왔어요" }
                p.muted { (id) " 캠페인" }
                div.wrap {
                    table.summary {
                        tbody {
                            tr { th scope="row" { "파일" } td { (name) } }
                            tr { th scope="row" { "형식" } td { (kind_ko(kind, report)) } }
                            tr { th scope="row" { "읽은 행" } td { (n(report.rows)) } }
                            tr { th scope="row" { "새로 추가" } td { (n(report.imported)) } }
                            tr { th scope="row" { "이미 있던 번호" } td { (n(report.duplicates)) } }
                            tr { th scope="row" { "수신 동의가 바뀐 고객" } td { (n(report.consents_changed)) } }
                            tr { th scope="row" { "가져오지 못한 행" } td { (n(report.rejected.len())) } }
                        }
                    }
                }
                @if !report.rejected.is_empty() {
                    h2 { "가져오지 못한 행" }
                    p.muted { "행 번호는 엑셀에서 보이는 번호예요(머리글이 1행). 고쳐서 다시 올리면 그 행만 더해져요." }
                    div.wrap {
                        table.rejects {
                            thead { tr { th { "행 번호" } th { "이유" } } }
                            tbody {
                                @for r in report.rejected.iter().take(SHOWN_REJECTS) {
                                    tr { td { (r.row) } td { (reason_ko(r)) } }
                                }
                            }
                        }
                    }
                    @if more > 0 {
                        p.muted { "그 밖에 " (n(more)) "개 행을 더 가져오지 못했어요." }
                    }
                }
                p { a href=(format!("/console/campaigns/{id}")) { "캠페인으로 돌아가기" } }
            }
        },
    )
}

/// A refused upload: why, in Korean, and the form to try again. Nothing was imported.
fn refused(who: &SignedIn, id: &CampaignId, e: &UploadError) -> lambda_http::Response<Body> {
    let html = page(
        "명단 올리기 - mcamp 콘솔",
        html! {
            (bar(&who.user, &who.session))
            div.pad {
                h1 { "명단을 올리지 못했어요" }
                div.err role="alert" { (e.message()) }
                p.muted { "아무도 추가하지 않았어요." }
                (form(id.as_str(), &who.session.csrf))
                p { a href=(format!("/console/campaigns/{id}")) { "캠페인으로 돌아가기" } }
            }
        },
    );
    html_response(e.status(), html)
}

/// A rejected row's reason in Korean, as far as it is known; never a phone number.
fn reason_ko(r: &RejectedRow) -> String {
    let reason = r.reason.as_str();
    let text = if reason.starts_with("unreadable line") {
        "읽을 수 없는 줄이에요 (따옴표나 글자 인코딩을 확인해 주세요)".to_owned()
    } else if reason.starts_with("row is over") {
        "줄이 너무 길어요 (닫히지 않은 따옴표가 있나요?)".to_owned()
    } else if reason.starts_with("not stored") {
        "저장하지 못했어요. 다시 올리면 이 행만 더해져요".to_owned()
    } else if let Some((field, why)) = reason.split_once(": ") {
        match field_ko(field) {
            Some(label) => format!("{label}: {}", why_ko(why)),
            None => reason.to_owned(),
        }
    } else {
        reason.to_owned()
    };
    mask_digits(&text)
}

fn field_ko(field: &str) -> Option<&'static str> {
    Some(match field {
        "phone" => "휴대폰",
        "name" => "이름",
        "gender" => "성별",
        "birth_year" => "출생연도",
        "age_band" => "연령대",
        "marketing_consent" => "마케팅 동의",
        "night_consent" => "야간 동의",
        "consent_date" => "동의일",
        _ => return None,
    })
}

fn why_ko(why: &str) -> String {
    let ko = match why {
        "is not a Korean mobile number (010-XXXX-XXXX)" => "휴대폰 번호가 아니에요 (010-XXXX-XXXX)",
        "may contain only digits, spaces, '-' and a leading '+'" => "숫자, 띄어쓰기, '-'만 쓸 수 있어요",
        "is too long" => "너무 길어요",
        "is longer than 50 characters" => "50자를 넘어요",
        "has control or invisible characters" => "보이지 않는 문자나 제어 문자가 들어 있어요",
        "must be 여/남/기타 (F/M/other)" => "여/남/기타 중 하나로 적어 주세요",
        "must be a year such as 1990" => "1990처럼 연도로 적어 주세요",
        "must be one of 10s, 20s, 30s, 40s, 50s, 60+" => {
            "10대, 20대, 30대, 40대, 50대, 60대 이상 중 하나로 적어 주세요"
        }
        "must be Y or N (동의/미동의)" => "Y 또는 N(동의/미동의)으로 적어 주세요",
        "must be a date such as 2025-03-01" => "2025-03-01처럼 날짜로 적어 주세요",
        w if w.starts_with("must be between 1900 and") => "1900년부터 올해 사이의 연도로 적어 주세요",
        w => return w.to_owned(),
    };
    ko.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(reason: &str) -> RejectedRow {
        RejectedRow {
            row: 3,
            reason: reason.into(),
        }
    }

    #[test]
    fn reasons_read_in_korean_without_phone_numbers() {
        assert_eq!(
            reason_ko(&rejected("phone: is not a Korean mobile number (010-XXXX-XXXX)")),
            "휴대폰: 휴대폰 번호가 아니에요 (010-XXXX-XXXX)"
        );
        assert_eq!(
            reason_ko(&rejected("birth_year: must be between 1900 and 2026")),
            "출생연도: 1900년부터 올해 사이의 연도로 적어 주세요"
        );
        assert_eq!(
            reason_ko(&rejected("something: about 010-1234-5678")),
            "something: about ***-****-****"
        );
        assert!(reason_ko(&rejected("unreadable line: CSV error")).starts_with("읽을 수 없는"));
    }
}
