//! What the brand's SMS sender reports about each message it carried: each sender's status and
//! result codes mapped to sent, delivered or failed (with a reason), and the `message_sent`,
//! `message_delivered` and `message_failed` events a result becomes. The console's result file
//! (`mcamp sends import`) and the delivery webhooks go through the same mapping and the same
//! events.
//!
//! Every event gets a deterministic id and time (see `DeliveryResult::events`), so its storage
//! key is the same however often the result is reported again: a re-imported file, a later file
//! that repeats rows (results arrive up to 25 h after an SMS, 80 h after an LMS at NHN, 3 days
//! for Kakao), a webhook delivered twice. Written with a put conditioned on the key not
//! existing, each event is recorded once.
//!
//! ## The mapping
//!
//! `Sent` is "accepted, the result not known yet"; a delivered or failed message is also sent,
//! so it gets a `message_sent` too. `NotSent` writes nothing. Anything else is unknown: a file
//! row is rejected by its row number, a webhook item counted as invalid; nothing is guessed.
//!
//! | Sender | Status / code | Outcome |
//! |---|---|---|
//! | NHN (`messageStatus` or `msgStatus`, `resultCode`) | `COMPLETED` (`3`, 성공) with `resultCode` 1000 or none | delivered |
//! | | `COMPLETED` or `FAILED` (`0`, 실패) with another `resultCode` | failed, by the code below |
//! | | `FAILED_AD` | failed: `ad_window` |
//! | | `READY`, `RESERVED`, `SENDING`, `RESEND_AD` (`1` 요청, `2` 처리중) | sent |
//! | | `CANCEL` (`4`, 취소), `DUPLICATED` (`5`, 중복) | not sent |
//! | | no status: `resultCode` 1000 | delivered; another known code: failed |
//! | NHN `resultCode` | 1002, 3001, 3003, -2019 | `invalid_number` |
//! | | 1019, 2000, 2003, 2004, 2005, 3005 | `timeout` |
//! | | 3006, 3012, 3013, 3017, 3018, 3019 | `blocked` |
//! | | -6001 | `opted_out` |
//! | | E919 | `ad_window` |
//! | | other 1xxx, 2xxx, 3xxx | `carrier` |
//! | | anything else (E9xx, negative) | `other` |
//! | Solapi (`statusCode`) | 2000, 3000 | sent |
//! | | 4000 | delivered |
//! | | 1061, 2061 | `opted_out` |
//! | | 1060, 2060, 1064, 2064, 2254, 3047, 3054, 3055, 3059 | `blocked` |
//! | | 3010, 3032, 3050 | `invalid_number` |
//! | | 3040, 3041, 3042, 3043, 3044, 3051 | `timeout` |
//! | | 3104, 3107 | `not_kakao_user` |
//! | | 3108 | `ad_window` |
//! | | other 30xx | `carrier` |
//! | | other 1xxx, 2xxx, 31xx | `other` |
//! | SENS (`status`, `statusCode`, `statusMessage`) | `READY`, `PROCESSING` | sent |
//! | | `COMPLETED` (or no status) with `statusCode` 0 or `statusName` success | delivered |
//! | | `COMPLETED` with another code, or `fail` | failed: by the message's words (below), else `carrier` |
//! | Aligo (`sms_state`, words) | 완료, 성공 | delivered |
//! | | 대기, 전송중, 발송중, 예약, 접수 | sent |
//! | | 취소 | not sent |
//! | | a failure (실패, 오류, 에러, or one of the words below) | failed: by the words below, else `other` |
//! | Words (SENS, Aligo) | 수신거부 | `opted_out` |
//! | | 결번, 없는 번호, 번호 오류, 형식 오류, 가입자 없음, 미가입 | `invalid_number` |
//! | | 전원, 음영, 시간 초과, 저장 초과, 응답 없음 | `timeout` |
//! | | 스팸, 차단, 착신 거절 | `blocked` |
//! | | 광고 | `ad_window` |
//! | Generic (`status`, `reason`) | `sent`, `accepted`, `pending`, 발송, 접수, 대기 | sent |
//! | | `delivered`, `received`, `success`, 수신, 성공 | delivered |
//! | | `failed`, 실패 | failed: the `reason` column if it names a reason, else `other` |
//! | | a reason's name (`opted_out`, `blocked`, …) | failed: that reason |
//! | | `cancelled`, 취소 | not sent |
//!
//! NHN's codes are its documented 수신 결과 코드 (TOAST-DOCS/SMS `error-code.md`) and message
//! statuses (`webhook.md`); Solapi's its 메시지 상태 코드 (`message-status-codes.md`). SENS
//! documents `statusCode` 0 as success but its failure codes were not available, and Aligo's
//! `sms_state` is free text, so those two go by words.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::events::{Attribution, Event, EventData, FailureReason, MessageChannel};
use crate::recipient::Recipient;
use crate::time::kst;
use crate::values::CampaignId;

/// Whose report it is: names the sender in the events and picks the code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// mcamp's own layout: `recipient_id`, `status` (sent, delivered, failed or a reason).
    Generic,
    /// NHN Cloud Notification.
    Nhn,
    /// Solapi / CoolSMS.
    Solapi,
    /// Naver Cloud SENS.
    Sens,
    /// Aligo.
    Aligo,
}

impl Sender {
    pub const ALL: [Sender; 5] = [
        Sender::Generic,
        Sender::Nhn,
        Sender::Solapi,
        Sender::Sens,
        Sender::Aligo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Sender::Generic => "generic",
            Sender::Nhn => "nhn",
            Sender::Solapi => "solapi",
            Sender::Sens => "sens",
            Sender::Aligo => "aligo",
        }
    }

    /// A sender by name; an unknown one is refused with the list.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s.trim().to_lowercase())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
                format!("unknown format '{s}': use one of {}", names.join(", "))
            })
    }

    /// What the report's status, code and words mean; `None` when this sender's table does
    /// not know them (never guessed).
    pub fn outcome(self, r: &Reported<'_>) -> Option<Outcome> {
        match self {
            Sender::Nhn => nhn(r),
            Sender::Solapi => solapi(r.status.or(r.code)?),
            Sender::Sens => sens(r),
            Sender::Aligo => aligo(r.status.or(r.text)?),
            Sender::Generic => generic(r),
        }
    }

    /// The channel named by the report's message type; `other` when absent or unknown.
    pub fn channel(self, kind: Option<&str>) -> MessageChannel {
        let Some(k) = kind.map(squash) else {
            return MessageChannel::Other;
        };
        match k.as_str() {
            // NHN: `sendType` 0 is SMS and 1 LMS/MMS; its "MMS" without an image is an LMS,
            // which is all mcamp sends.
            "0" if self == Sender::Nhn => MessageChannel::Sms,
            "1" if self == Sender::Nhn => MessageChannel::Lms,
            _ if self == Sender::Nhn && k.ends_with("MMS") => MessageChannel::Lms,
            _ if k.ends_with("SMS") || k == "단문" => MessageChannel::Sms,
            _ if k.ends_with("LMS") || k == "장문" => MessageChannel::Lms,
            _ if k.ends_with("MMS") || k == "포토" => MessageChannel::Mms,
            "ATA" | "ALIMTALK" | "알림톡" => MessageChannel::Alimtalk,
            "CTA" | "CTI" | "FRIENDTALK" | "친구톡" => MessageChannel::Friendtalk,
            _ if k.starts_with("BMS") || k == "BRANDMESSAGE" || k == "브랜드메시지" => {
                MessageChannel::BrandMessage
            }
            _ => MessageChannel::Other,
        }
    }
}

/// What one report says of a message, as the sender wrote it (cells or JSON fields).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reported<'a> {
    /// The status: NHN's `messageStatus`, Solapi's `statusCode`, SENS's `status`, Aligo's
    /// `sms_state`, the generic `status`.
    pub status: Option<&'a str>,
    /// The result code: NHN's `resultCode`, SENS's `statusCode`.
    pub code: Option<&'a str>,
    /// Words about the result: SENS's `statusMessage` or `statusName`.
    pub text: Option<&'a str>,
    /// The generic layout's `reason` column.
    pub reason: Option<&'a str>,
}

/// What happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the sender or handed to the carrier; the result is not known yet.
    Sent,
    /// Received by the handset (or KakaoTalk).
    Delivered,
    Failed(FailureReason),
    /// Cancelled before sending, or refused by the sender as a duplicate of a message it
    /// already sent: nothing reached the person, so nothing is recorded.
    NotSent,
}

/// Upper case without spaces, `_` or `-`: how statuses and types are compared.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn nhn(r: &Reported<'_>) -> Option<Outcome> {
    let code = r.code.map(str::trim).filter(|c| !c.is_empty());
    let completed = |code: Option<&str>| match code {
        None | Some("1000") => Outcome::Delivered,
        Some(c) => Outcome::Failed(nhn_reason(c)),
    };
    let Some(status) = r.status.map(squash).filter(|s| !s.is_empty()) else {
        // Only the result code: success, or a failure it names; nothing else is known.
        return match code? {
            "1000" => Some(Outcome::Delivered),
            c if nhn_known_failure(c) => Some(Outcome::Failed(nhn_reason(c))),
            _ => None,
        };
    };
    Some(match status.as_str() {
        "COMPLETED" | "3" | "성공" | "발송완료" | "완료" => completed(code),
        "FAILED" | "0" | "실패" | "발송실패" => Outcome::Failed(code.map_or(FailureReason::Other, nhn_reason)),
        "FAILEDAD" | "실패(광고제한)" | "광고제한" => Outcome::Failed(FailureReason::AdWindow),
        "READY" | "RESERVED" | "SENDING" | "RESENDAD" | "1" | "2" | "요청" | "처리중" | "발송중" | "예약" => {
            Outcome::Sent
        }
        "CANCEL" | "CANCELED" | "CANCELLED" | "4" | "취소" | "예약취소" | "DUPLICATED" | "5" | "중복" | "중복실패" => {
            Outcome::NotSent
        }
        _ => return None,
    })
}

/// A code NHN documents as a failure (receipt codes other than 1000, `E9xx`, API codes).
fn nhn_known_failure(code: &str) -> bool {
    let numeric = code.parse::<i32>().ok();
    code.starts_with('E') || numeric.is_some_and(|n| n < 0 || (1001..4000).contains(&n))
}

fn nhn_reason(code: &str) -> FailureReason {
    match code.trim() {
        "1002" | "3001" | "3003" | "-2019" => FailureReason::InvalidNumber,
        "1019" | "2000" | "2003" | "2004" | "2005" | "3005" => FailureReason::Timeout,
        "3006" | "3012" | "3013" | "3017" | "3018" | "3019" => FailureReason::Blocked,
        "-6001" => FailureReason::OptedOut,
        "E919" => FailureReason::AdWindow,
        c if c.parse::<u32>().is_ok_and(|n| (1000..4000).contains(&n)) => FailureReason::Carrier,
        _ => FailureReason::Other,
    }
}

fn solapi(status: &str) -> Option<Outcome> {
    let code: u32 = status.trim().parse().ok().filter(|c| (1000..5000).contains(c))?;
    Some(match code {
        2000 | 3000 => Outcome::Sent,
        4000 => Outcome::Delivered,
        1061 | 2061 => Outcome::Failed(FailureReason::OptedOut),
        1060 | 2060 | 1064 | 2064 | 2254 | 3047 | 3054 | 3055 | 3059 => Outcome::Failed(FailureReason::Blocked),
        3010 | 3032 | 3050 => Outcome::Failed(FailureReason::InvalidNumber),
        3040..=3044 | 3051 => Outcome::Failed(FailureReason::Timeout),
        3104 | 3107 => Outcome::Failed(FailureReason::NotKakaoUser),
        3108 => Outcome::Failed(FailureReason::AdWindow),
        3001..=3099 => Outcome::Failed(FailureReason::Carrier),
        1001..=2999 | 3100..=3999 => Outcome::Failed(FailureReason::Other),
        _ => return None,
    })
}

fn sens(r: &Reported<'_>) -> Option<Outcome> {
    let status = r.status.map(squash).filter(|s| !s.is_empty());
    match status.as_deref() {
        Some("READY" | "PROCESSING" | "대기" | "처리중") => return Some(Outcome::Sent),
        Some("COMPLETED" | "처리완료" | "완료") | None => {}
        Some(_) => return None,
    }
    let words = r.text.map(squash);
    let failed = || Outcome::Failed(r.text.and_then(reason_in_words).unwrap_or(FailureReason::Carrier));
    match r.code.map(str::trim).filter(|c| !c.is_empty()) {
        Some("0") => Some(Outcome::Delivered),
        Some(_) => Some(failed()),
        None => match words.as_deref() {
            Some("SUCCESS" | "성공") => Some(Outcome::Delivered),
            Some("FAIL" | "실패") => Some(failed()),
            // A completed message with no result: the status alone says it was sent.
            _ if status.is_some() => Some(Outcome::Sent),
            _ => None,
        },
    }
}

/// The reason some words name (SENS's `statusMessage`, Aligo's `sms_state`), if any.
fn reason_in_words(text: &str) -> Option<FailureReason> {
    let t = squash(text);
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["수신거부"]) {
        Some(FailureReason::OptedOut)
    } else if has(&["결번", "없는번호", "번호오류", "형식오류", "가입자없음", "미가입"]) {
        Some(FailureReason::InvalidNumber)
    } else if has(&["전원", "음영", "시간초과", "저장초과", "응답없음"]) {
        Some(FailureReason::Timeout)
    } else if has(&["스팸", "차단", "착신거절", "SPAM"]) {
        Some(FailureReason::Blocked)
    } else if has(&["광고"]) {
        Some(FailureReason::AdWindow)
    } else {
        None
    }
}

fn aligo(state: &str) -> Option<Outcome> {
    let s = squash(state);
    let has = |words: &[&str]| words.iter().any(|w| s.contains(w));
    if s.is_empty() {
        return None;
    }
    if has(&["취소"]) {
        return Some(Outcome::NotSent);
    }
    if let Some(reason) = reason_in_words(state) {
        return Some(Outcome::Failed(reason));
    }
    Some(if has(&["실패", "오류", "에러", "FAIL"]) {
        Outcome::Failed(FailureReason::Other)
    } else if has(&["대기", "전송중", "발송중", "예약", "접수"]) {
        Outcome::Sent
    } else if has(&["완료", "성공"]) {
        Outcome::Delivered
    } else {
        return None;
    })
}

/// A reason by its event name (`opted_out`, …).
pub fn reason_named(s: &str) -> Option<FailureReason> {
    let s = s.trim().to_lowercase();
    FailureReason::ALL.into_iter().find(|r| r.as_str() == s)
}

fn generic(r: &Reported<'_>) -> Option<Outcome> {
    let status = r.status?.trim().to_lowercase();
    if let Some(reason) = reason_named(&status) {
        return Some(Outcome::Failed(reason));
    }
    Some(match status.as_str() {
        "sent" | "accepted" | "pending" | "발송" | "접수" | "대기" => Outcome::Sent,
        "delivered" | "received" | "success" | "수신" | "수신완료" | "성공" => Outcome::Delivered,
        "failed" | "fail" | "실패" => {
            Outcome::Failed(r.reason.and_then(reason_named).unwrap_or(FailureReason::Other))
        }
        "cancelled" | "canceled" | "취소" => Outcome::NotSent,
        _ => return None,
    })
}

/// Longest message id or result code kept from a sender.
pub const MAX_TOKEN: usize = 64;

/// An id or code from a sender, kept only when it is one: 1 to `max` visible ASCII characters.
pub fn token(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())).then(|| s.to_owned())
}

/// The sender's message id as the events keep it: its id, with NHN's `recipientSeq` when
/// given (one NHN `requestId` covers up to 1,000 recipients), both `token`-checked. A file and
/// a webhook about the same message must give the same parts to be recognised as one.
pub fn message_id(id: Option<&str>, seq: Option<&str>) -> Option<String> {
    let id = token(id?, MAX_TOKEN)?;
    Some(match seq.and_then(|s| token(s, 16)) {
        Some(seq) => format!("{id}-{seq}"),
        None => id,
    })
}

/// A result code as `message_failed.code` keeps it: at most 32 characters of visible text.
pub fn result_code(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = !s.is_empty() && s.chars().all(|c| !c.is_control() && !c.is_whitespace() || c == ' ');
    ok.then(|| s.chars().take(32).collect())
}

/// A time as senders write it: RFC 3339 with an offset as it says (Solapi's `…Z`), or a
/// local time in KST (NHN's `2024-04-29T20:58:02`, `2018-08-10 10:06:30.0`, SENS's and
/// Aligo's `2026-03-02 10:00:00`, Excel's `2026.03.02 10:00`, `20260302100000`). Kept to
/// the millisecond, the precision of the event's storage key.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    let at = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            let local = [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
                "%Y.%m.%d %H:%M:%S",
                "%Y.%m.%d %H:%M",
                "%Y/%m/%d %H:%M:%S",
                "%Y/%m/%d %H:%M",
                "%Y%m%d%H%M%S",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
            kst().from_local_datetime(&local).single()?.with_timezone(&Utc)
        }
    };
    // A date outside these years is a wrong column, not a send time.
    let year = at.with_timezone(&kst()).format("%Y").to_string().parse::<i32>().ok()?;
    if !(2000..2100).contains(&year) {
        return None;
    }
    DateTime::from_timestamp_millis(at.timestamp_millis())
}

/// One message's result, read from a sender's file row or webhook item.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryResult {
    pub sender: Sender,
    pub channel: MessageChannel,
    pub outcome: Outcome,
    /// The sender's id of the message (`token`-checked).
    pub message_id: Option<String>,
    /// The sender's own result code, for `message_failed.code`.
    pub code: Option<String>,
    /// When the sender accepted it.
    pub requested_at: Option<DateTime<Utc>>,
    /// When the handset received it, or the sender gave up.
    pub received_at: Option<DateTime<Utc>>,
}

/// A result with no time to record it at: neither the report nor the caller gave one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no request or receive time")]
pub struct NoTime;

impl DeliveryResult {
    /// The events this result means for `recipient` of `campaign`, oldest first: a
    /// `message_sent` for every outcome but `NotSent`, then a `message_delivered` or
    /// `message_failed`.
    ///
    /// Each event is the same however often the result is reported, so a conditional put
    /// records it once: its `at` is the request time for `message_sent` and the receive time
    /// (else the request time) for the others, `sent_at` standing in for a missing request
    /// time (`NoTime` when there is none at all: the import time would differ on every
    /// import); its id is 20 base62 characters of a SHA-256 of the campaign, the recipient,
    /// the sender, the message (its id, else its request time) and the event type.
    pub fn events(
        &self,
        campaign: &CampaignId,
        recipient: &Recipient,
        sent_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Event>, NoTime> {
        if self.outcome == Outcome::NotSent {
            return Ok(Vec::new());
        }
        let requested = self.requested_at.or(sent_at).or(self.received_at).ok_or(NoTime)?;
        let received = self.received_at.unwrap_or(requested);
        let message = match &self.message_id {
            Some(id) => format!("id:{id}"),
            None => format!("at:{}", requested.timestamp_millis()),
        };
        let sender = self.sender.name().to_owned();
        let event = |at: DateTime<Utc>, data: EventData| {
            let mut e = Event::new(campaign.clone(), at, data).by(Attribution::from(recipient));
            e.event_id = event_id(&[
                campaign.as_str(),
                recipient.id.as_str(),
                self.sender.name(),
                &message,
                e.kind(),
            ]);
            e
        };
        let mut out = vec![event(
            requested,
            EventData::MessageSent {
                channel: self.channel,
                sender: sender.clone(),
                message_id: self.message_id.clone(),
            },
        )];
        match self.outcome {
            Outcome::Sent | Outcome::NotSent => {}
            Outcome::Delivered => out.push(event(
                received,
                EventData::MessageDelivered {
                    channel: self.channel,
                    sender,
                    message_id: self.message_id.clone(),
                },
            )),
            Outcome::Failed(reason) => out.push(event(
                received,
                EventData::MessageFailed {
                    channel: self.channel,
                    sender,
                    reason,
                    code: self.code.clone(),
                    message_id: self.message_id.clone(),
                },
            )),
        }
        Ok(out)
    }
}

/// 20 base62 characters of the SHA-256 of `parts`, each length-prefixed so no two lists of
/// parts hash alike.
fn event_id(parts: &[&str]) -> String {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut hash = Sha256::new();
    hash.update(b"mcamp-message-event-v1");
    for p in parts {
        hash.update((p.len() as u64).to_be_bytes());
        hash.update(p.as_bytes());
    }
    let digest = hash.finalize();
    let mut head = [0u8; 16];
    head.copy_from_slice(&digest[..16]);
    // 62^20 < 2^128: twenty digits of the first 128 bits.
    let mut n = u128::from_be_bytes(head);
    (0..20)
        .map(|_| {
            let d = (n % 62) as usize;
            n /= 62;
            BASE62[d] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{RecipientId, ShortCode};
    use proptest::prelude::*;

    fn reported(status: &'static str, code: &'static str) -> Reported<'static> {
        Reported {
            status: (!status.is_empty()).then_some(status),
            code: (!code.is_empty()).then_some(code),
            ..Reported::default()
        }
    }

    #[test]
    fn each_senders_codes_map_as_documented() {
        use FailureReason::*;
        use Outcome::*;
        let cases = [
            (Sender::Nhn, "COMPLETED", "1000", Some(Delivered)),
            (Sender::Nhn, "COMPLETED", "", Some(Delivered)),
            (Sender::Nhn, "COMPLETED", "3003", Some(Failed(InvalidNumber))),
            (Sender::Nhn, "FAILED", "2003", Some(Failed(Timeout))),
            (Sender::Nhn, "FAILED", "3012", Some(Failed(Blocked))),
            (Sender::Nhn, "FAILED", "3014", Some(Failed(Carrier))),
            (Sender::Nhn, "FAILED", "E999", Some(Failed(Other))),
            (Sender::Nhn, "FAILED_AD", "", Some(Failed(AdWindow))),
            (Sender::Nhn, "RESEND_AD", "", Some(Sent)),
            (Sender::Nhn, "SENDING", "", Some(Sent)),
            (Sender::Nhn, "DUPLICATED", "E915", Some(NotSent)),
            (Sender::Nhn, "3", "1000", Some(Delivered)),
            (Sender::Nhn, "", "1000", Some(Delivered)),
            (Sender::Nhn, "", "-6001", Some(Failed(OptedOut))),
            (Sender::Nhn, "", "abc", None),
            (Sender::Nhn, "LOST", "1000", None),
            (Sender::Solapi, "2000", "", Some(Sent)),
            (Sender::Solapi, "3000", "", Some(Sent)),
            (Sender::Solapi, "4000", "", Some(Delivered)),
            (Sender::Solapi, "1061", "", Some(Failed(OptedOut))),
            (Sender::Solapi, "2064", "", Some(Failed(Blocked))),
            (Sender::Solapi, "3104", "", Some(Failed(NotKakaoUser))),
            (Sender::Solapi, "3107", "", Some(Failed(NotKakaoUser))),
            (Sender::Solapi, "3043", "", Some(Failed(Timeout))),
            (Sender::Solapi, "3015", "", Some(Failed(Carrier))),
            (Sender::Solapi, "1030", "", Some(Failed(Other))),
            (Sender::Solapi, "TEST1000", "", None),
            (Sender::Sens, "READY", "", Some(Sent)),
            (Sender::Sens, "COMPLETED", "0", Some(Delivered)),
            (Sender::Sens, "COMPLETED", "3001", Some(Failed(Carrier))),
            (Sender::Sens, "", "0", Some(Delivered)),
            (Sender::Aligo, "발송완료", "", Some(Delivered)),
            (Sender::Aligo, "전송중", "", Some(Sent)),
            (Sender::Aligo, "실패(수신거부)", "", Some(Failed(OptedOut))),
            (Sender::Aligo, "결번", "", Some(Failed(InvalidNumber))),
            (Sender::Aligo, "발송실패", "", Some(Failed(Other))),
            (Sender::Aligo, "???", "", None),
            (Sender::Generic, "delivered", "", Some(Delivered)),
            (Sender::Generic, "sent", "", Some(Sent)),
            (Sender::Generic, "opted_out", "", Some(Failed(OptedOut))),
            (Sender::Generic, "failed", "", Some(Failed(Other))),
            (Sender::Generic, "maybe", "", None),
        ];
        for (sender, status, code, want) in cases {
            assert_eq!(
                sender.outcome(&reported(status, code)),
                want,
                "{sender:?} {status:?} {code:?}"
            );
        }
        let sens_words = Reported {
            status: Some("COMPLETED"),
            code: Some("9"),
            text: Some("수신거부 번호"),
            ..Reported::default()
        };
        assert_eq!(Sender::Sens.outcome(&sens_words), Some(Failed(OptedOut)));
        let generic_reason = Reported {
            status: Some("failed"),
            reason: Some("invalid_number"),
            ..Reported::default()
        };
        assert_eq!(Sender::Generic.outcome(&generic_reason), Some(Failed(InvalidNumber)));
    }

    #[test]
    fn channels_come_from_the_message_type() {
        assert_eq!(Sender::Nhn.channel(Some("NORMAL_MMS")), MessageChannel::Lms);
        assert_eq!(Sender::Nhn.channel(Some("AD_SMS")), MessageChannel::Sms);
        assert_eq!(Sender::Solapi.channel(Some("ATA")), MessageChannel::Alimtalk);
        assert_eq!(Sender::Solapi.channel(Some("BMS_TEXT")), MessageChannel::BrandMessage);
        assert_eq!(Sender::Solapi.channel(Some("MMS")), MessageChannel::Mms);
        assert_eq!(Sender::Generic.channel(Some("lms")), MessageChannel::Lms);
        assert_eq!(Sender::Generic.channel(None), MessageChannel::Other);
    }

    #[test]
    fn times_are_kst_unless_they_say_otherwise() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).ok();
        assert_eq!(parse_time("2024-04-29T20:58:02"), utc("2024-04-29T11:58:02Z"));
        assert_eq!(parse_time("2018-08-10 10:06:30.0"), utc("2018-08-10T01:06:30Z"));
        assert_eq!(parse_time("2020-09-09T05:23:20.686Z"), utc("2020-09-09T05:23:20.686Z"));
        assert_eq!(parse_time("2026.03.02 10:00"), utc("2026-03-02T01:00:00Z"));
        assert_eq!(parse_time("20260302100000"), utc("2026-03-02T01:00:00Z"));
        assert_eq!(parse_time("1899-01-01 00:00"), None);
        assert_eq!(parse_time("soon"), None);
    }

    fn recipient() -> Result<Recipient, Box<dyn std::error::Error>> {
        Ok(Recipient::new(
            RecipientId::parse("AAAAAAAAAAAAAAAA")?,
            CampaignId::parse("spring")?,
            ShortCode::parse("abc")?,
            crate::recipient::RecipientSource::Import,
            Utc::now(),
        ))
    }

    #[test]
    fn the_same_result_makes_the_same_events() -> Result<(), Box<dyn std::error::Error>> {
        let r = recipient()?;
        let at = parse_time("2026-03-02 10:00:00");
        let sent = DeliveryResult {
            sender: Sender::Nhn,
            channel: MessageChannel::Sms,
            outcome: Outcome::Sent,
            message_id: Some("req-1".into()),
            code: None,
            requested_at: at,
            received_at: None,
        };
        let delivered = DeliveryResult {
            outcome: Outcome::Delivered,
            received_at: parse_time("2026-03-02 10:00:05"),
            ..sent.clone()
        };
        let first = sent.events(&r.campaign_id, &r, None)?;
        let later = delivered.events(&r.campaign_id, &r, None)?;
        assert_eq!(first.len(), 1);
        assert_eq!(later.len(), 2);
        // The sent event is the very same (id and time): it is stored once.
        assert_eq!((&first[0].event_id, first[0].at), (&later[0].event_id, later[0].at));
        assert_ne!(later[0].event_id, later[1].event_id);
        assert_eq!(later[1].at, parse_time("2026-03-02 10:00:05").ok_or("time")?);
        assert!(
            later
                .iter()
                .all(|e| e.event_id.len() == 20 && e.recipient_id.as_ref() == Some(&r.id))
        );
        // Another message to the same person is another event.
        let other = DeliveryResult {
            message_id: Some("req-2".into()),
            ..sent.clone()
        };
        assert_ne!(other.events(&r.campaign_id, &r, None)?[0].event_id, first[0].event_id);
        // No time at all: nothing to record once.
        let timeless = DeliveryResult {
            requested_at: None,
            ..sent
        };
        assert_eq!(timeless.events(&r.campaign_id, &r, None), Err(NoTime));
        Ok(())
    }

    proptest! {
        /// Any cells: the mapping answers or declines, never panics; times parse or not.
        #[test]
        fn any_cells_map_or_decline(status in "\\PC{0,24}", code in "\\PC{0,12}", text in "\\PC{0,24}") {
            for sender in Sender::ALL {
                let r = Reported { status: Some(&status), code: Some(&code), text: Some(&text), reason: Some(&text) };
                let _ = sender.outcome(&r);
                let _ = sender.channel(Some(&status));
            }
            let _ = parse_time(&status);
            let _ = result_code(&text);
            prop_assert!(token(&code, MAX_TOKEN).is_none_or(|t| t.len() <= MAX_TOKEN));
        }
    }
}
