//! Every page mcamp serves, as maud templates in one place. Pages are small (one TCP round
//! trip), Korean, mobile-first, and work without JavaScript. Recipient text is escaped by maud.

pub mod confirm;
pub mod error;
pub mod mdm;
pub mod preview;
pub mod qr;
pub mod staff;
pub mod survey;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use mcamp_core::coupon::{ClaimRecord, ClaimStatus};

/// Critical CSS, inlined in every page.
pub const BASE_CSS: &str = concat!(
    ":root{--accent:#d9480f;--ink:#1b1b1f;--muted:#6b6b75;--line:#e7e7ec;--bg:#f6f6f8}",
    "*{box-sizing:border-box}",
    "body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.55 -apple-system,BlinkMacSystemFont,'Apple SD Gothic Neo','Noto Sans KR','Malgun Gothic',sans-serif;-webkit-text-size-adjust:100%;word-break:keep-all;overflow-wrap:anywhere}",
    "main{max-width:480px;margin:0 auto;background:#fff;min-height:100vh}",
    ".pad{padding:20px}",
    "h1{font-size:22px;line-height:1.35;margin:0 0 8px}",
    "h2{font-size:18px;margin:0 0 8px}",
    "p{margin:0 0 12px}",
    ".muted{color:var(--muted);font-size:14px}",
    "img{max-width:100%;height:auto;display:block}",
    ".btn{display:block;width:100%;padding:14px 16px;border:0;border-radius:12px;background:var(--accent);color:#fff;font-size:17px;font-weight:700;text-align:center;text-decoration:none;cursor:pointer}",
    ".btn.ghost{background:#fff;color:var(--ink);border:1px solid var(--line)}",
    "footer{padding:20px;font-size:12px;color:var(--muted);border-top:1px solid var(--line)}",
    "footer a{color:var(--muted)}",
);

/// The Content-Security-Policy of every page: no script but the pages' own inline scripts (by
/// their SHA-256) and the pinned Kakao SDK; images and video over https or inline; requests
/// only to this origin (and Kakao's, for the share); never framed. Inline `style` stays
/// allowed: each page's accent colour is written into its stylesheet, and text is escaped.
pub fn content_security_policy() -> &'static str {
    static CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use base64::Engine;
        use sha2::Digest;
        let hashes: Vec<String> = [mdm::SCRIPT, survey::SCRIPT, staff::SCRIPT]
            .iter()
            .map(|s| {
                format!(
                    "'sha256-{}'",
                    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s))
                )
            })
            .collect();
        format!(
            "default-src 'none'; script-src {} {KAKAO_SDK}; style-src 'unsafe-inline'; \
             img-src https: data:; media-src https:; frame-src https://www.youtube-nocookie.com; \
             connect-src 'self' https://*.kakao.com; form-action 'self'; base-uri 'none'; \
             frame-ancestors 'none'",
            hashes.join(" ")
        )
    });
    &CSP
}

/// Where the Kakao SDK comes from (pinned; see `mdm::SCRIPT`).
const KAKAO_SDK: &str = "https://t1.kakaocdn.net/kakao_js_sdk/2.7.4/kakao.min.js";

/// The document around a page's body.
pub fn layout(title: &str, head_extra: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ko" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1,viewport-fit=cover";
                title { (title) }
                style { (PreEscaped(BASE_CSS)) }
                (head_extra)
            }
            body { (body) }
        }
    }
}

/// What a claim shows a recipient, on the M-DM page and on a survey's thank-you screen.
pub enum ClaimShown {
    Pending,
    SoldOut,
    Issued { code: String, qr_svg: String },
}

impl ClaimShown {
    pub fn of(c: &ClaimRecord) -> Self {
        match c.status {
            ClaimStatus::Pending => ClaimShown::Pending,
            ClaimStatus::SoldOut => ClaimShown::SoldOut,
            ClaimStatus::Issued => {
                let code = c.code.as_ref().map(|c| c.to_string()).unwrap_or_default();
                let qr_svg = qr::svg(&code).unwrap_or_default();
                ClaimShown::Issued { code, qr_svg }
            }
        }
    }
}

/// Where a page waiting on a pending coupon refreshes to: the next `?w=`, so each reload is a
/// real navigation (a same-URL refresh with a fragment is only a jump).
pub fn refresh_url(req: &lambda_http::Request, path: &str, fragment: &str) -> String {
    let w: u32 = crate::request::query_param(req, "w")
        .and_then(|w| w.parse().ok())
        .unwrap_or(0);
    format!("{path}?w={}{fragment}", w.saturating_add(1))
}
