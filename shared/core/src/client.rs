//! Who made a request, in words the events and reports share: the agent kind, OS, device,
//! in-app browser and browser. The web edge classifies a `User-Agent` into a `ClientInfo`
//! (`mcamp_http::ua`); a click or preview event carries it as is.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Who sent the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// A person in a browser or in-app browser.
    Human,
    /// A messenger or social network fetching the page for a link preview.
    PreviewBot,
    /// A search engine, scanner, auditing tool or headless browser.
    Crawler,
    /// An HTTP library or command-line tool, or no user agent at all.
    HttpClient,
}

/// Operating system, as far as the header tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Os {
    Ios,
    Android,
    Windows,
    Macos,
    /// Linux desktops, including ChromeOS.
    Linux,
    Other,
}

/// Kind of device. Every non-human agent is `Bot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Phone,
    Tablet,
    Desktop,
    Bot,
    Other,
}

/// The app whose built-in browser opened the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InApp {
    Kakaotalk,
    Naver,
    Band,
    Line,
    Instagram,
    Facebook,
    Daum,
    Everytime,
}

impl InApp {
    /// Every in-app browser the classifier knows.
    pub const ALL: [InApp; 8] = [
        InApp::Kakaotalk,
        InApp::Naver,
        InApp::Band,
        InApp::Line,
        InApp::Instagram,
        InApp::Facebook,
        InApp::Daum,
        InApp::Everytime,
    ];
}

/// Browser. In-app browsers and other embedded web views are `Webview`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Browser {
    SamsungInternet,
    Chrome,
    Safari,
    Firefox,
    Edge,
    Whale,
    Webview,
    Other,
}

/// What a request's user agent says about its sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub agent: AgentKind,
    /// For non-human agents, which rule matched, e.g. `kakaotalk-scrap`, `yeti`, `curl`,
    /// `generic-bot`, `head-request`, `empty`. `None` for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_name: Option<Cow<'static, str>>,
    pub os: Os,
    pub device: Device,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_app: Option<InApp>,
    pub browser: Browser,
}

impl ClientInfo {
    /// Only people count as clicks: never a preview bot, crawler, HTTP client or HEAD request.
    pub fn counts_as_click(&self) -> bool {
        self.agent == AgentKind::Human
    }

    pub fn bot(agent: AgentKind, name: &'static str) -> Self {
        ClientInfo {
            agent,
            bot_name: Some(Cow::Borrowed(name)),
            os: Os::Other,
            device: Device::Bot,
            in_app: None,
            browser: Browser::Other,
        }
    }
}
