//! Recipients uploaded in the console, on both backends: an admin's CSV or xlsx imports its good
//! rows and lists the bad ones by their spreadsheet row numbers (a phone Excel stored as a
//! number included); a viewer's post, a post without the session's token and a post without a
//! session import nothing; an image is refused with a reason and a file over 4 MB with 413.

use anyhow::{Context, ensure};
use chrono::Utc;
use futures::TryStreamExt;
use mcamp_core::time::kst;
use mcamp_core::values::CampaignId;
use mcamp_http::Web;
use mcamp_ops::upload::UPLOAD_LIMIT;
use mcamp_tests::{Backend, call, campaign_with_coupon, contract, text};

use crate::console::{add_user, console_web, location, session_of};

const BOUNDARY: &str = "----WebKitFormBoundaryMcampUpload42";
const PATH: &str = "/console/campaigns/upload-spring/recipients";

/// The upload form's body as a browser posts it: the token, then the file.
fn multipart(csrf: Option<&str>, file: (&str, &str, &[u8])) -> Vec<u8> {
    let (name, content_type, bytes) = file;
    let mut b = Vec::new();
    if let Some(t) = csrf {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{t}\r\n").as_bytes(),
        );
    }
    b.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(bytes);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// Posts `body` (bytes, as API Gateway hands a binary body over) to the upload.
async fn post(
    web: &Web,
    cookie: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<lambda_http::Response<lambda_http::Body>> {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(format!("http://127.0.0.1:3000{PATH}"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("origin", "http://127.0.0.1:3000");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    let (parts, ()) = b.body(())?.into_parts();
    let req = mcamp_gateway::to_lambda(parts, bytes::Bytes::from(body));
    Ok(mcamp_gateway::dispatch(web, req).await)
}

async fn count(web: &Web) -> anyhow::Result<usize> {
    let all: Vec<_> = web
        .app
        .db
        .recipients(&CampaignId::parse("upload-spring")?)
        .try_collect()
        .await?;
    Ok(all.len())
}

/// The session's CSRF token, from a page that carries it.
async fn csrf_of(web: &Web, cookie: &str) -> anyhow::Result<String> {
    let html = text(&call(web, "GET", "/console/campaigns", &[("cookie", cookie)], "").await?);
    let at = html.find("name=\"csrf\"").context("a csrf field")?;
    let v = html[at..].split("value=\"").nth(1).context("its value")?;
    Ok(v.split('"').next().unwrap_or_default().to_owned())
}

/// An xlsx of `rows`, numbers written as numbers (as Excel keeps a phone typed without quotes).
fn xlsx(rows: &[&[Result<&str, f64>]]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, cells) in rows.iter().enumerate() {
        for (c, cell) in cells.iter().enumerate() {
            let (r, c) = (u32::try_from(r)?, u16::try_from(c)?);
            match cell {
                Ok(s) => sheet.write_string(r, c, *s)?,
                Err(n) => sheet.write_number(r, c, *n)?,
            };
        }
    }
    Ok(book.save_to_buffer()?)
}

async fn admins_upload_recipients_and_see_the_rejected_rows(b: Backend) -> anyhow::Result<()> {
    let web = console_web(&b)?;
    let db = &web.app.db;
    db.push_campaign(&campaign_with_coupon("upload-spring", 10)?, Utc::now())
        .await?;
    add_user(&web, "kim@brand.kr", "admin", &[]).await?;
    add_user(&web, "lee@agency.kr", "viewer", &["upload-spring"]).await?;
    let csv =
        "이름,휴대폰,성별\n김민지,010-1234-5678,여\n잘못,02-123-4567,F\n이준호,01099998888,M\n박,010-2222-3333,?\n";
    let as_csv = |csrf: Option<&str>| multipart(csrf, ("봄 고객.csv", "text/csv", csv.as_bytes()));

    // No session: the sign-in page, and nothing imported.
    let resp = post(&web, None, as_csv(Some("whatever"))).await?;
    ensure!(
        resp.status() == 303 && location(&resp) == "/console/sign-in",
        "no session: {}",
        resp.status()
    );
    ensure!(count(&web).await? == 0);

    let admin = session_of(&web, "kim@brand.kr").await?;
    let csrf = csrf_of(&web, &admin).await?;
    // Without the session's token (none, or another): 403, nothing imported.
    for token in [None, Some("forged-token")] {
        let resp = post(&web, Some(&admin), as_csv(token)).await?;
        ensure!(resp.status() == 403, "token {token:?}: {}", resp.status());
    }
    ensure!(count(&web).await? == 0);
    // A viewer of the campaign may not import: 403, nothing imported.
    let viewer = session_of(&web, "lee@agency.kr").await?;
    let viewer_csrf = csrf_of(&web, &viewer).await?;
    let resp = post(&web, Some(&viewer), as_csv(Some(&viewer_csrf))).await?;
    ensure!(resp.status() == 403, "viewer: {}", resp.status());
    ensure!(count(&web).await? == 0);

    // The admin's CSV: the good rows in, the two bad ones listed by row number.
    let resp = post(&web, Some(&admin), as_csv(Some(&csrf))).await?;
    let html = text(&resp);
    ensure!(resp.status() == 200, "csv: {} {html}", resp.status());
    ensure!(count(&web).await? == 2);
    for needle in [
        "봄 고객.csv",
        "행 번호",
        "<td>3</td><td>휴대폰: 휴대폰 번호가 아니에요",
        "<td>5</td><td>성별:",
    ] {
        ensure!(html.contains(needle), "{needle} in {html}");
    }
    ensure!(
        !html.contains("1234-5678") && !html.contains("02-123") && !html.contains("9999"),
        "no phone on the page: {html}"
    );
    let month = Utc::now().with_timezone(&kst()).format("%Y%m").to_string();
    let log = db.audit_log(&month).await?;
    let entry = log
        .iter()
        .find(|e| e.action == "recipients.imported")
        .context("the import in the audit log")?;
    ensure!(entry.actor == "kim@brand.kr");
    ensure!(
        entry.detail["imported"] == 2
            && entry.detail["rejected"] == 2
            && entry.detail["kind"] == "csv"
            && entry.detail["campaign"] == "upload-spring",
        "{}",
        entry.detail
    );

    // An xlsx under the same rule: the phone stored as a number (its 0 lost) imports, the bad
    // row is named by its sheet row (an empty row 3 counts), the repeated phone is a duplicate.
    let book = xlsx(&[
        &[Ok("이름"), Ok("휴대폰")],
        &[Ok("최"), Err(1033334444.0)],
        &[],
        &[Ok("정"), Err(12345.0)],
        &[Ok("김민지"), Ok("010-1234-5678")],
    ])?;
    let resp = post(
        &web,
        Some(&admin),
        multipart(
            Some(&csrf),
            (
                "명단.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &book,
            ),
        ),
    )
    .await?;
    let html = text(&resp);
    ensure!(resp.status() == 200, "xlsx: {} {html}", resp.status());
    ensure!(count(&web).await? == 3, "the number-stored phone imported");
    ensure!(
        html.contains("<td>4</td><td>휴대폰:")
            && html.contains("엑셀")
            && html.matches("</td><td>휴대폰:").count() == 1,
        "{html}"
    );
    let all: Vec<_> = db
        .recipients(&CampaignId::parse("upload-spring")?)
        .try_collect()
        .await?;
    ensure!(
        all.iter()
            .any(|r| r.phone.as_ref().map(|p| p.as_str()) == Some("01033334444")),
        "01033334444 stored with its 0"
    );

    // An image: 400 with the reason, and the form to try again; nothing imported.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let resp = post(
        &web,
        Some(&admin),
        multipart(Some(&csrf), ("명단.png", "image/png", &png)),
    )
    .await?;
    let html = text(&resp);
    ensure!(
        resp.status() == 400 && html.contains("이미지 파일") && html.contains("multipart/form-data"),
        "png: {} {html}",
        resp.status()
    );
    // A legacy .xls: 400, told to save it as xlsx or CSV.
    let xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0".to_vec();
    let resp = post(
        &web,
        Some(&admin),
        multipart(Some(&csrf), ("old.xls", "application/vnd.ms-excel", &xls)),
    )
    .await?;
    ensure!(
        resp.status() == 400 && text(&resp).contains(".xlsx"),
        "xls: {}",
        resp.status()
    );
    // Over 4 MB: 413 with the limit in the message.
    let mut big = csv.as_bytes().to_vec();
    big.resize(UPLOAD_LIMIT + 1, b'\n');
    let resp = post(
        &web,
        Some(&admin),
        multipart(Some(&csrf), ("big.csv", "text/csv", &big)),
    )
    .await?;
    let html = text(&resp);
    ensure!(
        resp.status() == 413 && html.contains("4MB"),
        "big: {} {html}",
        resp.status()
    );
    ensure!(count(&web).await? == 3, "nothing more imported");
    // Under 4 MB but over the rows one request imports: 413, pointing to the CLI.
    let mut long = String::from("이름,휴대폰\n");
    for i in 0..=mcamp_ops::upload::UPLOAD_ROWS {
        long.push_str(&format!("고객,010{:08}\n", 20_000_000 + i));
    }
    let resp = post(
        &web,
        Some(&admin),
        multipart(Some(&csrf), ("long.csv", "text/csv", long.as_bytes())),
    )
    .await?;
    let html = text(&resp);
    ensure!(
        resp.status() == 413 && html.contains("mcamp recipients import"),
        "long: {} {html}",
        resp.status()
    );
    ensure!(count(&web).await? == 3, "nothing more imported");
    Ok(())
}

contract!(
    console_upload,
    super::admins_upload_recipients_and_see_the_rejected_rows
);
