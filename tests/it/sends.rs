//! Delivery results on both backends: the senders' result files through `mcamp sends import`'s
//! operation (every preset, CP949 included), re-imports and late results that add nothing
//! twice, bad rows reported by row number with nothing written, and the NHN and Solapi
//! delivery webhooks through the page function (signature, 404 when unconfigured, duplicate
//! deliveries written once).

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mcamp_core::events::{Event, EventData, FailureReason, MessageChannel};
use mcamp_core::recipient::Recipient;
use mcamp_core::sends::Sender;
use mcamp_core::values::CampaignId;
use mcamp_http::Web;
use mcamp_http::site::Secret;
use mcamp_ops::sends::{SendsOptions, SendsReport, import_sends};
use mcamp_tests::{Backend, call, contract, import_csv, text};
use serde_json::{Value, json};

/// A campaign with three imported recipients, sorted by id.
async fn setup(b: &Backend, id: &str) -> anyhow::Result<(Web, CampaignId, Vec<Recipient>)> {
    let web = b.web();
    let campaign = mcamp_tests::demo_campaign(id)?;
    web.app.db.push_campaign(&campaign, web.app.now()).await?;
    import_csv(
        &web.app.db,
        &campaign,
        "이름,휴대폰,마케팅동의\n김민지,010-4100-0001,Y\n이준호,010-4100-0002,Y\n박서연,010-4100-0003,Y\n",
    )
    .await?;
    let mut people: Vec<Recipient> = web.app.db.recipients(&campaign.id).try_collect().await?;
    people.sort_by_key(|r| r.id.clone());
    ensure!(people.len() == 3, "three recipients");
    Ok((web, campaign.id, people))
}

async fn import(
    web: &Web,
    campaign: &CampaignId,
    format: Sender,
    dry_run: bool,
    file: Vec<u8>,
) -> anyhow::Result<SendsReport> {
    let opts = SendsOptions {
        format,
        dry_run,
        sent_at: None,
    };
    Ok(import_sends(&web.app.db, campaign, &opts, std::io::Cursor::new(file)).await?)
}

/// The campaign's delivery events, as (type, recipient, reason) for easy comparison.
async fn deliveries(web: &Web, campaign: &CampaignId) -> anyhow::Result<Vec<Event>> {
    Ok(web
        .app
        .db
        .events_of(campaign)
        .await?
        .into_iter()
        .filter(|e| e.kind().starts_with("message_"))
        .collect())
}

fn count(events: &[Event], kind: &str) -> usize {
    events.iter().filter(|e| e.kind() == kind).count()
}

fn reason_of(e: &Event) -> Option<FailureReason> {
    match &e.data {
        EventData::MessageFailed { reason, .. } => Some(*reason),
        _ => None,
    }
}

fn kst(s: &str) -> anyhow::Result<DateTime<Utc>> {
    mcamp_core::sends::parse_time(s).context("a time")
}

/// CP949 as Korean Excel saves it: ASCII as is, and the few Korean words these files use.
fn cp949(s: &str) -> Vec<u8> {
    const WORDS: [(&str, &[u8]); 5] = [
        ("전송 결과", b"\xc0\xfc\xbc\xdb\x20\xb0\xe1\xb0\xfa"),
        ("등록 일시", b"\xb5\xee\xb7\xcf\x20\xc0\xcf\xbd\xc3"),
        ("발송 일시", b"\xb9\xdf\xbc\xdb\x20\xc0\xcf\xbd\xc3"),
        ("발송완료", b"\xb9\xdf\xbc\xdb\xbf\xcf\xb7\xe1"),
        ("결번", b"\xb0\xe1\xb9\xf8"),
    ];
    let mut out = Vec::new();
    let mut rest = s;
    'outer: while let Some(c) = rest.chars().next() {
        for (word, bytes) in WORDS {
            if let Some(after) = rest.strip_prefix(word) {
                out.extend_from_slice(bytes);
                rest = after;
                continue 'outer;
            }
        }
        assert!(c.is_ascii(), "no CP949 bytes for {c:?} in this test");
        out.push(c as u8);
        rest = &rest[c.len_utf8()..];
    }
    out
}

async fn every_format_imports(b: Backend) -> anyhow::Result<()> {
    let (web, campaign, r) = setup(&b, "sends-formats").await?;
    let (a, bb, c) = (&r[0].id, &r[1].id, &r[2].id);

    // NHN's console export, UTF-8 with a BOM: delivered, failed (number gone), ad window.
    let nhn = format!(
        "\u{feff}requestId,recipientSeq,requestDate,receiveDate,messageStatus,resultCode,senderType,recipientGroupingKey\n\
         20260302100000abc,1,2026-03-02 10:00:00,2026-03-02 10:00:04,COMPLETED,1000,AD_MMS,{a}\n\
         20260302100000abc,2,2026-03-02 10:00:00,2026-03-02 10:01:00,FAILED,3003,AD_MMS,{bb}\n\
         20260302100000abc,3,2026-03-02 10:00:00,,FAILED_AD,,AD_MMS,{c}\n"
    );
    let rep = import(&web, &campaign, Sender::Nhn, false, nhn.into_bytes()).await?;
    ensure!(
        (
            rep.rows,
            rep.sent,
            rep.delivered,
            rep.failed_total(),
            rep.rejected.len()
        ) == (3, 3, 1, 2, 0),
        "{}: nhn {rep:?}",
        b.name
    );
    ensure!(
        rep.failed.get(&FailureReason::InvalidNumber) == Some(&1)
            && rep.failed.get(&FailureReason::AdWindow) == Some(&1),
        "{}: nhn reasons {:?}",
        b.name,
        rep.failed
    );
    let events = deliveries(&web, &campaign).await?;
    let delivered = events
        .iter()
        .find(|e| e.kind() == "message_delivered")
        .context("a delivered event")?;
    ensure!(
        delivered.recipient_id.as_ref() == Some(a)
            && delivered.chain_head.as_ref() == Some(a)
            && delivered.at == kst("2026-03-02 10:00:04")?,
        "{}: the envelope from the profile, the time from the file: {delivered:?}",
        b.name
    );
    ensure!(
        matches!(&delivered.data, EventData::MessageDelivered { channel: MessageChannel::Lms, sender, message_id: Some(m) }
            if sender == "nhn" && m == "20260302100000abc-1"),
        "{}: {delivered:?}",
        b.name
    );
    let sent = events
        .iter()
        .find(|e| e.kind() == "message_sent" && e.recipient_id.as_ref() == Some(a))
        .context("a sent event")?;
    ensure!(
        sent.at == kst("2026-03-02 10:00:00")?,
        "{}: sent at the request time",
        b.name
    );

    // Solapi: the send list's recipient_id as a custom field; status codes.
    let solapi = format!(
        "messageId,type,statusCode,dateCreated,dateReceived,customFields.recipient_id\n\
         M4V1,LMS,4000,2026-03-03T01:00:00.000Z,2026-03-03T01:00:03.000Z,{a}\n\
         M4V2,LMS,3000,2026-03-03T01:00:00.000Z,,{bb}\n\
         M4V3,ATA,3104,2026-03-03T01:00:00.000Z,2026-03-03T01:00:09.000Z,{c}\n"
    );
    let rep = import(&web, &campaign, Sender::Solapi, false, solapi.into_bytes()).await?;
    ensure!(
        (
            rep.sent,
            rep.delivered,
            rep.failed.get(&FailureReason::NotKakaoUser).copied()
        ) == (3, 1, Some(1)),
        "{}: solapi {rep:?}",
        b.name
    );

    // SENS: the recipient_id column the marketer kept.
    let sens = format!(
        "messageId,requestTime,completeTime,status,statusCode,statusMessage,type,recipient_id\n\
         S1,2026-03-04 10:00:00,2026-03-04 10:00:02,COMPLETED,0,성공,SMS,{a}\n\
         S2,2026-03-04 10:00:00,,READY,,,SMS,{bb}\n"
    );
    let rep = import(&web, &campaign, Sender::Sens, false, sens.into_bytes()).await?;
    ensure!((rep.sent, rep.delivered) == (2, 1), "{}: sens {rep:?}", b.name);

    // Aligo, saved by Korean Excel in CP949, with Korean headers and states.
    let aligo = format!(
        "mdid,recipient_id,전송 결과,등록 일시,발송 일시\n\
         A1,{a},발송완료,2026-03-05 09:00:00,2026-03-05 09:00:05\n\
         A2,{bb},결번,2026-03-05 09:00:00,2026-03-05 09:00:06\n"
    );
    let rep = import(&web, &campaign, Sender::Aligo, false, cp949(&aligo)).await?;
    ensure!(
        rep.encoding == "CP949 (EUC-KR)"
            && (
                rep.sent,
                rep.delivered,
                rep.failed.get(&FailureReason::InvalidNumber).copied()
            ) == (2, 1, Some(1)),
        "{}: aligo {rep:?}",
        b.name
    );

    // Generic: mcamp's own columns.
    let generic = format!(
        "recipient_id,status,reason,sent_at,delivered_at,kind\n\
         {a},delivered,,2026-03-06 10:00,2026-03-06 10:01,lms\n\
         {c},failed,opted_out,2026-03-06 10:00,2026-03-06 10:02,lms\n"
    );
    let rep = import(&web, &campaign, Sender::Generic, false, generic.into_bytes()).await?;
    ensure!(
        (
            rep.sent,
            rep.delivered,
            rep.failed.get(&FailureReason::OptedOut).copied()
        ) == (2, 1, Some(1)),
        "{}: generic {rep:?}",
        b.name
    );

    let all = deliveries(&web, &campaign).await?;
    ensure!(
        (
            count(&all, "message_sent"),
            count(&all, "message_delivered"),
            count(&all, "message_failed")
        ) == (12, 5, 5),
        "{}: every file's events: {} sent, {} delivered, {} failed",
        b.name,
        count(&all, "message_sent"),
        count(&all, "message_delivered"),
        count(&all, "message_failed")
    );
    Ok(())
}
contract!(every_format, super::every_format_imports);

async fn reimports_and_late_results_add_nothing_twice(b: Backend) -> anyhow::Result<()> {
    let (web, campaign, r) = setup(&b, "sends-again").await?;
    let (a, bb) = (&r[0].id, &r[1].id);
    let header = "requestId,recipientSeq,requestDate,receiveDate,messageStatus,resultCode,recipientGroupingKey\n";
    // Right after the send: both still on their way.
    let early = format!(
        "{header}R7,1,2026-03-02 10:00:00,,SENDING,,{a}\n\
         R7,2,2026-03-02 10:00:00,,SENDING,,{bb}\n"
    );
    let first = import(&web, &campaign, Sender::Nhn, false, early.clone().into_bytes()).await?;
    ensure!((first.sent, first.already_imported) == (2, 0), "{}: {first:?}", b.name);

    // The same file again: nothing new.
    let again = import(&web, &campaign, Sender::Nhn, false, early.into_bytes()).await?;
    ensure!(
        (again.sent, again.delivered, again.already_imported) == (0, 0, 2),
        "{}: {again:?}",
        b.name
    );
    ensure!(deliveries(&web, &campaign).await?.len() == 2, "{}: two events", b.name);

    // A day later the final results: only the delivered and failed events are new.
    let late = format!(
        "{header}R7,1,2026-03-02 10:00:00,2026-03-02 22:00:00,COMPLETED,1000,{a}\n\
         R7,2,2026-03-02 10:00:00,2026-03-03 11:00:00,FAILED,2003,{bb}\n"
    );
    // A dry run first: reports what would be new, writes nothing.
    let dry = import(&web, &campaign, Sender::Nhn, true, late.clone().into_bytes()).await?;
    ensure!(
        (dry.sent, dry.delivered, dry.failed_total(), dry.already_imported) == (0, 1, 1, 2),
        "{}: dry run {dry:?}",
        b.name
    );
    ensure!(
        deliveries(&web, &campaign).await?.len() == 2,
        "{}: the dry run wrote nothing",
        b.name
    );
    let moved = import(&web, &campaign, Sender::Nhn, false, late.clone().into_bytes()).await?;
    ensure!(
        (
            moved.sent,
            moved.delivered,
            moved.failed.get(&FailureReason::Timeout).copied(),
            moved.already_imported
        ) == (0, 1, Some(1), 2),
        "{}: {moved:?}",
        b.name
    );
    // And that file once more, as later exports repeat rows.
    let repeat = import(&web, &campaign, Sender::Nhn, false, late.into_bytes()).await?;
    ensure!(
        (
            repeat.sent,
            repeat.delivered,
            repeat.failed_total(),
            repeat.already_imported
        ) == (0, 0, 0, 4),
        "{}: {repeat:?}",
        b.name
    );
    let events = deliveries(&web, &campaign).await?;
    ensure!(
        (
            count(&events, "message_sent"),
            count(&events, "message_delivered"),
            count(&events, "message_failed")
        ) == (2, 1, 1),
        "{}: one of each, never doubled: {events:?}",
        b.name
    );
    let failed = events.iter().find(|e| e.kind() == "message_failed").context("failed")?;
    ensure!(
        failed.at == kst("2026-03-03 11:00:00")? && reason_of(failed) == Some(FailureReason::Timeout),
        "{}: {failed:?}",
        b.name
    );
    Ok(())
}
contract!(reimports, super::reimports_and_late_results_add_nothing_twice);

async fn bad_rows_are_reported_and_write_nothing(b: Backend) -> anyhow::Result<()> {
    let (web, campaign, r) = setup(&b, "sends-bad").await?;
    let (_, other_campaign, other) = setup(&b, "sends-other").await?;
    let a = &r[0].id;
    let file = format!(
        "recipient_id,status,sent_at\n\
         {a},delivered,2026-03-02 10:00\n\
         AAAAAAAAAAAAAAAA,delivered,2026-03-02 10:00\n\
         {foreign},delivered,2026-03-02 10:00\n\
         {a},,2026-03-02 10:00\n\
         {a},maybe,2026-03-02 10:00\n\
         010-4100-0002,sent,2026-03-02 10:00\n\
         {a},sent,yesterday-ish\n",
        foreign = other[0].id
    );
    let rep = import(&web, &campaign, Sender::Generic, false, file.into_bytes()).await?;
    let rows: Vec<usize> = rep.rejected.iter().map(|x| x.row).collect();
    ensure!(
        rows == vec![3, 4, 5, 6, 7, 8] && (rep.sent, rep.delivered) == (1, 1),
        "{}: {rep:?}",
        b.name
    );
    let reasons: Vec<&str> = rep.rejected.iter().map(|x| x.reason.as_str()).collect();
    ensure!(
        reasons[1].contains("sends-other") && reasons[2].contains("missing") && reasons[3].contains("maybe"),
        "{}: the reasons say why: {reasons:?}",
        b.name
    );
    ensure!(
        reasons.iter().all(|x| !x.contains("4100")),
        "{}: no phone number in a reason: {reasons:?}",
        b.name
    );
    ensure!(
        deliveries(&web, &campaign).await?.len() == 2 && deliveries(&web, &other_campaign).await?.is_empty(),
        "{}: only the good row's events",
        b.name
    );
    Ok(())
}
contract!(bad_rows, super::bad_rows_are_reported_and_write_nothing);

const NHN_SIGNATURE: &str = "nhn-webhook-signature-0123456789";
const SOLAPI_KEY: &str = "solapi-webhook-key-0123456789";

fn with_hook_secrets(web: &Web) -> Web {
    let mut site = (*web.site).clone();
    site.nhn_webhook_secret = Some(Secret::new(NHN_SIGNATURE));
    site.solapi_webhook_secret = Some(Secret::new(SOLAPI_KEY));
    Web::new(web.app.clone(), site)
}

fn nhn_hook(key: &str, seq: u32, status: &str, code: &str, receive: &str) -> Value {
    json!({
        "hookId": format!("hook-{seq}-{status}"),
        "hookEvent": "MESSAGE_RESULT_UPDATE",
        "senderType": "AD_SMS",
        "requestId": "20260302100000hookreq",
        "recipientSeq": seq,
        "requestDate": "2026-03-02T10:00:00",
        "receiveDate": receive,
        "sendNo": "15446859",
        "recipientNo": "01041000001",
        "messageStatus": status,
        "recipientGroupingKey": key,
        "resultCode": code,
        "messageCount": 1
    })
}

fn json_of(resp: &lambda_http::Response<lambda_http::Body>) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&text(resp))?)
}

async fn nhn_webhook_records_once(b: Backend) -> anyhow::Result<()> {
    let (plain, campaign, r) = setup(&b, "sends-nhn-hook").await?;
    let path = "/hooks/nhn/message-result";
    let body = json!({
        "hooksId": "h1", "productName": "SMS", "event": "MESSAGE_RESULT_UPDATE",
        "hooks": [
            nhn_hook(r[0].id.as_str(), 1, "COMPLETED", "1000", "2026-03-02T10:00:03"),
            nhn_hook(r[1].id.as_str(), 2, "FAILED", "3012", "2026-03-02T10:00:05"),
            nhn_hook("ZZZZZZZZZZZZZZZZ", 3, "COMPLETED", "1000", "2026-03-02T10:00:03"),
        ]
    })
    .to_string();
    let signed = [
        ("content-type", "application/json"),
        ("x-toast-webhook-signature", NHN_SIGNATURE),
    ];

    // No signature configured: the route is not there.
    let off = call(&plain, "POST", path, &signed, &body).await?;
    ensure!(off.status() == 404, "{}: unconfigured -> {}", b.name, off.status());

    let web = with_hook_secrets(&plain);
    for wrong in [
        vec![
            ("content-type", "application/json"),
            ("x-toast-webhook-signature", "nope"),
        ],
        vec![("content-type", "application/json")],
    ] {
        let resp = call(&web, "POST", path, &wrong, &body).await?;
        ensure!(resp.status() == 401, "{}: bad signature -> {}", b.name, resp.status());
    }
    ensure!(
        deliveries(&web, &campaign).await?.is_empty(),
        "{}: nothing written without the signature",
        b.name
    );

    let bad = call(&web, "POST", path, &signed, "{\"hooks\": [").await?;
    ensure!(bad.status() == 400, "{}: malformed -> {}", b.name, bad.status());
    ensure!(
        json_of(&bad)?["reason"].as_str().is_some_and(|r| r.starts_with("body")),
        "{}: a JSON reason: {}",
        b.name,
        text(&bad)
    );

    let ok = call(&web, "POST", path, &signed, &body).await?;
    ensure!(ok.status() == 200, "{}: {} {}", b.name, ok.status(), text(&ok));
    let answer = json_of(&ok)?;
    ensure!(
        answer["ok"] == true && answer["recorded"] == 4 && answer["unknown_recipients"] == 1,
        "{}: {answer}",
        b.name
    );
    // NHN delivers the same hook again: nothing is doubled.
    let again = json_of(&call(&web, "POST", path, &signed, &body).await?)?;
    ensure!(
        again["recorded"] == 0 && again["already_recorded"] == 4,
        "{}: {again}",
        b.name
    );
    let events = deliveries(&web, &campaign).await?;
    ensure!(
        (
            count(&events, "message_sent"),
            count(&events, "message_delivered"),
            count(&events, "message_failed")
        ) == (2, 1, 1),
        "{}: {events:?}",
        b.name
    );
    let failed = events.iter().find(|e| e.kind() == "message_failed").context("failed")?;
    ensure!(
        reason_of(failed) == Some(FailureReason::Blocked) && failed.recipient_id.as_ref() == Some(&r[1].id),
        "{}: {failed:?}",
        b.name
    );

    // The console's file for the same messages later: the webhook's events are recognised.
    let file = format!(
        "requestId,recipientSeq,requestDate,receiveDate,messageStatus,resultCode,recipientGroupingKey\n\
         20260302100000hookreq,1,2026-03-02 10:00:00,2026-03-02 10:00:03,COMPLETED,1000,{}\n",
        r[0].id
    );
    let rep = import(&web, &campaign, Sender::Nhn, false, file.into_bytes()).await?;
    ensure!(
        (rep.sent, rep.delivered, rep.already_imported) == (0, 0, 2),
        "{}: file after webhook {rep:?}",
        b.name
    );

    // An UNSUBSCRIBE hook on the same URL is not a delivery result.
    let unsubscribe =
        json!({"event": "UNSUBSCRIBE", "hooks": [{"recipientNo": "01041000001", "unsubscribeNo": "0801234567"}]});
    let ignored = json_of(&call(&web, "POST", path, &signed, &unsubscribe.to_string()).await?)?;
    ensure!(
        ignored["ignored"] == 1 && ignored["recorded"] == 0,
        "{}: {ignored}",
        b.name
    );

    // Bounded: more than 1,000 results in a call is refused whole.
    let many: Vec<Value> = (0..1001)
        .map(|i| nhn_hook("ZZZZZZZZZZZZZZZZ", i, "COMPLETED", "1000", ""))
        .collect();
    let resp = call(&web, "POST", path, &signed, &json!({ "hooks": many }).to_string()).await?;
    ensure!(resp.status() == 400, "{}: too many -> {}", b.name, resp.status());
    Ok(())
}
contract!(nhn_webhook, super::nhn_webhook_records_once);

async fn solapi_webhook_records_once(b: Backend) -> anyhow::Result<()> {
    let (plain, campaign, r) = setup(&b, "sends-solapi-hook").await?;
    let report = |id: &str, code: &str, message: &str| {
        json!({
            "messageId": message, "groupId": "G4V1", "type": "LMS", "to": "01041000001",
            "statusCode": code, "dateCreated": "2026-03-02T01:00:00.000Z",
            "dateReceived": "2026-03-02T01:00:04.000Z", "customFields": {"recipient_id": id}
        })
    };
    let body = json!([
        report(r[0].id.as_str(), "4000", "M4V20260302A"),
        report(r[1].id.as_str(), "2061", "M4V20260302B"),
        report("not-a-recipient", "4000", "M4V20260302C"),
        report("YYYYYYYYYYYYYYYY", "4000", "M4V20260302D"),
    ])
    .to_string();
    let json_type = ("content-type", "application/json");
    let keyed = format!("/hooks/solapi/message-report?key={SOLAPI_KEY}");

    let off = call(&plain, "POST", &keyed, &[json_type], &body).await?;
    ensure!(off.status() == 404, "{}: unconfigured -> {}", b.name, off.status());

    let web = with_hook_secrets(&plain);
    let wrong = call(
        &web,
        "POST",
        "/hooks/solapi/message-report?key=wrong",
        &[json_type],
        &body,
    )
    .await?;
    ensure!(wrong.status() == 401, "{}: wrong key -> {}", b.name, wrong.status());
    let none = call(&web, "POST", "/hooks/solapi/message-report", &[json_type], &body).await?;
    ensure!(none.status() == 401, "{}: no key -> {}", b.name, none.status());
    ensure!(
        deliveries(&web, &campaign).await?.is_empty(),
        "{}: nothing written",
        b.name
    );

    let ok = call(&web, "POST", &keyed, &[json_type], &body).await?;
    ensure!(ok.status() == 200, "{}: {} {}", b.name, ok.status(), text(&ok));
    let answer = json_of(&ok)?;
    ensure!(
        answer["recorded"] == 4 && answer["unknown_recipients"] == 1 && answer["invalid"] == 1 && answer["items"] == 4,
        "{}: {answer}",
        b.name
    );
    // The same report again, this time with the secret as a bearer token.
    let bearer = format!("Bearer {SOLAPI_KEY}");
    let again = call(
        &web,
        "POST",
        "/hooks/solapi/message-report",
        &[json_type, ("authorization", &bearer)],
        &body,
    )
    .await?;
    let again = json_of(&again)?;
    ensure!(
        again["recorded"] == 0 && again["already_recorded"] == 4,
        "{}: {again}",
        b.name
    );
    let events = deliveries(&web, &campaign).await?;
    ensure!(
        (
            count(&events, "message_sent"),
            count(&events, "message_delivered"),
            count(&events, "message_failed")
        ) == (2, 1, 1),
        "{}: {events:?}",
        b.name
    );
    ensure!(
        events.iter().filter_map(reason_of).eq([FailureReason::OptedOut]),
        "{}: 2061 is the 080 opt-out",
        b.name
    );

    let bad = call(&web, "POST", &keyed, &[json_type], "{\"nothing\": 1}").await?;
    ensure!(bad.status() == 400, "{}: not a report -> {}", b.name, bad.status());
    Ok(())
}
contract!(solapi_webhook, super::solapi_webhook_records_once);

/// A JSON value built from the words the hooks read, nested up to `depth`: bodies close
/// enough to real ones to reach every branch of the parsers.
fn random_json(rng: &mut rand::rngs::StdRng, depth: u32, words: &[String]) -> Value {
    use rand::Rng;
    let word = |rng: &mut rand::rngs::StdRng| words[rng.gen_range(0..words.len())].clone();
    match rng.gen_range(0..if depth == 0 { 4 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.gen_range(-5000i64..5000)),
        2 | 3 => json!(word(rng)),
        4 => Value::Array(
            (0..rng.gen_range(0..5))
                .map(|_| random_json(rng, depth - 1, words))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.gen_range(0..8))
                .map(|_| (word(rng), random_json(rng, depth - 1, words)))
                .collect(),
        ),
    }
}

/// Whatever a caller with the secret posts, the hooks answer 200 or 400 (413 past the size
/// cap), never fail or panic, and record only well-formed results.
async fn webhooks_take_any_body(b: Backend) -> anyhow::Result<()> {
    use rand::{Rng, SeedableRng};
    let (plain, campaign, r) = setup(&b, "sends-fuzz").await?;
    let web = with_hook_secrets(&plain);
    let mut words: Vec<String> = [
        "hooks",
        "event",
        "hookEvent",
        "MESSAGE_RESULT_UPDATE",
        "UNSUBSCRIBE",
        "messageStatus",
        "resultCode",
        "recipientGroupingKey",
        "requestId",
        "recipientSeq",
        "requestDate",
        "receiveDate",
        "senderType",
        "COMPLETED",
        "FAILED",
        "FAILED_AD",
        "SENDING",
        "1000",
        "3003",
        "E919",
        "messageList",
        "messages",
        "data",
        "messageId",
        "statusCode",
        "type",
        "customFields",
        "recipient_id",
        "dateCreated",
        "dateReceived",
        "4000",
        "2061",
        "3104",
        "LMS",
        "ATA",
        "2026-03-02T10:00:00",
        "2026-03-02T01:00:04.000Z",
        "",
        "\u{0}",
        "🙂",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    words.extend(r.iter().map(|x| x.id.to_string()));
    let mut rng = rand::rngs::StdRng::seed_from_u64(20260302);
    let nhn = [
        ("content-type", "application/json"),
        ("x-toast-webhook-signature", NHN_SIGNATURE),
    ];
    let solapi_path = format!("/hooks/solapi/message-report?key={SOLAPI_KEY}");
    let mut answered = 0;
    for i in 0..120 {
        let body = if i % 5 == 0 {
            let mut bytes = vec![0u8; rng.gen_range(0..300)];
            rng.fill(&mut bytes[..]);
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let v = random_json(&mut rng, 4, &words);
            // Every other body in the shape each hook expects, with random insides.
            match i % 3 {
                0 => json!({ "hooks": v }).to_string(),
                1 => json!([v]).to_string(),
                _ => v.to_string(),
            }
        };
        for (path, headers) in [
            ("/hooks/nhn/message-result", &nhn[..]),
            (solapi_path.as_str(), &nhn[..1]),
        ] {
            let resp = call(&web, "POST", path, headers, &body).await?;
            ensure!(
                matches!(resp.status().as_u16(), 200 | 400),
                "{}: {path} answered {} to {body:?}: {}",
                b.name,
                resp.status(),
                text(&resp)
            );
            answered += usize::from(resp.status() == 200);
        }
    }
    ensure!(answered > 20, "{}: only {answered} bodies got past the parsers", b.name);
    // Whatever was recorded is a well-formed delivery event of one of the campaign's people.
    for e in deliveries(&web, &campaign).await? {
        ensure!(
            e.event_id.len() == 20 && e.recipient_id.as_ref().is_some_and(|id| r.iter().any(|x| &x.id == id)),
            "{}: {e:?}",
            b.name
        );
    }
    Ok(())
}
contract!(webhook_bodies, super::webhooks_take_any_body);

/// The webhook secrets reach the page function as the Kakao admin key does: Secrets Manager
/// ARNs in the environment, read at init (moto over the wire); blank means not configured.
#[tokio::test]
async fn webhook_secrets_come_from_secrets_manager_by_arn() -> anyhow::Result<()> {
    use mcamp_http::Site;
    use mcamp_http::site::SiteSecrets;
    let config = mcamp_aws::lambda_sdk_config(Some(&mcamp_tests::moto_endpoint()?)).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let arn = async |value: &str| -> anyhow::Result<String> {
        let name = format!("mcamp/test/{}", mcamp_core::values::random_base62(12));
        let out = client.create_secret().name(name).secret_string(value).send().await?;
        out.arn().map(str::to_owned).context("moto returned no ARN")
    };
    let vars: Vec<(&'static str, String)> = vec![
        ("MCAMP_SECRET", "s".repeat(40)),
        ("MCAMP_PHONE_KEY", "p".repeat(40)),
        (SiteSecrets::NHN_WEBHOOK_SECRET.arn, arn(NHN_SIGNATURE).await?),
        (SiteSecrets::SOLAPI_WEBHOOK_SECRET.arn, arn("   ").await?),
    ];
    let env = move |name: &'static str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
    let site = Site::from_env(SiteSecrets::resolve_in(&config, &env).await?)?;
    ensure!(site.nhn_webhook_secret.as_ref().map(Secret::expose) == Some(NHN_SIGNATURE));
    ensure!(
        site.solapi_webhook_secret.is_none(),
        "a blank secret leaves the route unconfigured (404)"
    );
    Ok(())
}
