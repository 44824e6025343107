//! User-agent classification for the short-link redirect: was this request a person's click?
//!
//! Link-preview fetchers (KakaoTalk, Slack, LINE, ...), crawlers, scanners and HTTP libraries
//! open our links too; none of them is a click. A person opening the link in an in-app browser
//! (KakaoTalk, NAVER, BAND, ...) or an ordinary browser is.
//!
//! # Why by hand
//!
//! Checked before writing this: `isbot` (crates.io 0.1.3) is a single `regex` alternation
//! (not a dependency here, and too slow for the 20 µs budget), says only bot / not bot and knows no
//! Kakao, Naver or Daum agent; `woothee` is unmaintained and does not know Kakao either. Neither
//! says which in-app browser a click came from. So this is a short ordered rule list over one
//! ASCII-lowercased copy of the header on the stack: no regex, no heap allocation.
//!
//! # Rules, in order (first match wins)
//!
//! Only the first [`MAX_INSPECTED`] bytes (cut back to a char boundary) are looked at, so a huge
//! header costs nothing; the copy is ASCII-lowercased and trimmed, and every test below is a
//! substring test on it.
//!
//! 1. Missing or blank header: `http_client` (`empty`). Browsers always send one.
//! 2. Named link-preview bots ([`AgentKind::PreviewBot`]). These run before everything else
//!    because they imitate other agents: KakaoTalk's scraper is
//!    `facebookexternalhit/1.1;kakaotalk-scrap/1.0` (so `kakaotalk-scrap` before
//!    `facebookexternalhit`, and before the in-app rule, since it contains `kakaotalk`); LINE's is
//!    `facebookexternalhit/1.1;line-poker/1.0`; iMessage sends a full desktop Safari string plus
//!    `facebookexternalhit ... Twitterbot`; `TelegramBot (like TwitterBot)` must be named before
//!    `twitterbot`; `LinkedInBot/1.0 (...; Apache-HttpClient ...)` before the HTTP-client rules.
//!    `WhatsApp/` counts only as a prefix (that is the fetcher; WhatsApp has no in-app browser).
//! 3. Named crawlers and scanners ([`AgentKind::Crawler`]): Naver `Yeti`, Daum (`Daumoa`, and
//!    `compatible; Daum/`), Googlebot and Google's other fetchers, bingbot, BingPreview, Applebot,
//!    `HeadlessChrome`, and `Chrome-Lighthouse`. Lighthouse (PageSpeed Insights) is counted as a
//!    crawler, not a person: it is an automated audit, and a marketer testing a link in PageSpeed
//!    must not add clicks. Googlebot-smartphone carries a full Android Chrome string, so this too
//!    runs before the browser rules.
//! 4. Named HTTP clients ([`AgentKind::HttpClient`]): curl, wget, python-requests/urllib/httpx,
//!    aiohttp, Go-http-client, okhttp (only without a `Mozilla/` browser token), Apache-HttpClient
//!    (before `Java/`, which it contains), `Java/`, axios, node-fetch, undici, libwww-perl, Postman,
//!    Insomnia, HTTPie, Guzzle, Scrapy, Android `Dalvik/` and iOS `CFNetwork/` (native app code,
//!    never a browser).
//! 5. Generic words: `bot` (except the phone brand `CUBOT`), `crawl`, `spider`, `slurp`, `scraper`,
//!    `headless` give `crawler`; `http-client` / `httpclient` give `http_client`.
//! 6. A HEAD request with an otherwise human-looking agent: `crawler` (`head-request`). Browsers
//!    navigate with GET; HEAD comes from link checkers and mail scanners. A HEAD from a named bot
//!    keeps that bot's name (rules 1-5 run first). Either way it is not a click.
//! 7. Everything else is a person ([`AgentKind::Human`]), described by:
//!    - in-app browser, in this order: `KAKAOTALK`, `NAVER(inapp`, ` BAND/`, ` Line/`,
//!      `Instagram`, Facebook (`FBAN/`, `FBAV/`, `FB_IAB/`), `DaumApps`, `everytimeApp`.
//!      Instagram before Facebook because Instagram's browser is Facebook's code. The in-app
//!      tokens sit at the end of a full mobile Safari/Chrome string, so this runs before the
//!      browser rule.
//!    - OS: iPhone/iPad/iPod before macOS (iOS strings say `like Mac OS X`), Android before Linux
//!      (Android strings say `Linux`). iPadOS Safari in its default "desktop" mode sends a Mac
//!      string and is reported as macOS desktop; nothing in the header tells them apart.
//!    - device: iPad, or Android without `Mobile`, or any `Tablet` token: tablet; iPhone/iPod and
//!      Android `Mobile`: phone; Windows/macOS/Linux: desktop.
//!    - browser: an in-app browser, an Android `; wv)` web view, or an iOS string without `Safari/`
//!      is a [`Browser::Webview`] (so `in_app.is_some()` implies `Webview`). Otherwise
//!      SamsungBrowser, then Whale, Edge and Firefox (all also say `Chrome/` or `Safari/`), Opera
//!      and Yandex (other), Chrome (`CriOS/` on iOS), Safari. NAVER Whale is a browser, not an
//!      in-app browser (NAVER's own app is `in_app: naver`).

use mcamp_core::client::{AgentKind, Browser, ClientInfo, Device, InApp, Os};

/// Bytes of the header that are inspected. Real agents are 100 to 400 bytes; every token we
/// look for sits well inside this.
pub const MAX_INSPECTED: usize = 512;

/// How a rule tests the lowercased header.
enum Pat {
    /// Contains the needle.
    Has(&'static str),
    /// Starts with the needle.
    Starts(&'static str),
    /// Contains the first needle and not the second.
    HasNot(&'static str, &'static str),
}

impl Pat {
    fn matches(&self, s: &str) -> bool {
        match *self {
            Pat::Has(n) => s.contains(n),
            Pat::Starts(n) => s.starts_with(n),
            Pat::HasNot(n, not) => s.contains(n) && !s.contains(not),
        }
    }
}

use AgentKind::{Crawler, HttpClient, PreviewBot};
use Pat::{Has, HasNot, Starts};

/// Rules 2 to 5 of the module documentation, in order. Needles are lowercase.
const BOT_RULES: &[(Pat, AgentKind, &str)] = &[
    // 2. Link previews. Order within matters: see the module documentation.
    (Has("kakaotalk-scrap"), PreviewBot, "kakaotalk-scrap"),
    (Has("kakaoopenapi"), PreviewBot, "kakao-open-api"),
    (Has("line-poker"), PreviewBot, "line-poker"),
    (Has("facebookexternalhit"), PreviewBot, "facebookexternalhit"),
    (Has("facebookcatalog"), PreviewBot, "facebookcatalog"),
    (Has("slackbot"), PreviewBot, "slackbot"),
    (Has("slack-imgproxy"), PreviewBot, "slackbot"),
    (Has("telegrambot"), PreviewBot, "telegrambot"),
    (Has("twitterbot"), PreviewBot, "twitterbot"),
    (Starts("whatsapp/"), PreviewBot, "whatsapp"),
    (Has("discordbot"), PreviewBot, "discordbot"),
    (Has("linkedinbot"), PreviewBot, "linkedinbot"),
    (Has("skypeuripreview"), PreviewBot, "skypeuripreview"),
    (Has("snap url preview"), PreviewBot, "snapchat"),
    (Has("pinterest"), PreviewBot, "pinterest"),
    (Has("vkshare"), PreviewBot, "vkshare"),
    (Has("embedly"), PreviewBot, "embedly"),
    (Has("iframely"), PreviewBot, "iframely"),
    // 3. Crawlers and scanners.
    (Has("yeti/"), Crawler, "yeti"),
    (Has("daumoa"), Crawler, "daumoa"),
    (Has("compatible; daum/"), Crawler, "daumoa"),
    (Has("googlebot"), Crawler, "googlebot"),
    (Has("adsbot-google"), Crawler, "googlebot"),
    (Has("mediapartners-google"), Crawler, "googlebot"),
    (Has("google-inspectiontool"), Crawler, "googlebot"),
    (Has("googleother"), Crawler, "googlebot"),
    (Has("bingbot"), Crawler, "bingbot"),
    (Has("bingpreview"), Crawler, "bingpreview"),
    (Has("applebot"), Crawler, "applebot"),
    (Has("chrome-lighthouse"), Crawler, "lighthouse"),
    (Has("headlesschrome"), Crawler, "headless-chrome"),
    // 4. HTTP clients.
    (Has("curl/"), HttpClient, "curl"),
    (Has("wget/"), HttpClient, "wget"),
    (Has("python-requests"), HttpClient, "python-requests"),
    (Has("python-urllib"), HttpClient, "python-urllib"),
    (Has("python-httpx"), HttpClient, "python-httpx"),
    (Has("aiohttp"), HttpClient, "aiohttp"),
    (Has("go-http-client"), HttpClient, "go-http-client"),
    (HasNot("okhttp", "mozilla/"), HttpClient, "okhttp"),
    (Has("apache-httpclient"), HttpClient, "apache-httpclient"),
    (Has("java/"), HttpClient, "java"),
    (Has("axios/"), HttpClient, "axios"),
    (Has("node-fetch"), HttpClient, "node-fetch"),
    (Has("undici"), HttpClient, "undici"),
    (Has("libwww"), HttpClient, "libwww-perl"),
    (Has("postmanruntime"), HttpClient, "postman"),
    (Has("insomnia/"), HttpClient, "insomnia"),
    (Has("httpie/"), HttpClient, "httpie"),
    (Has("guzzlehttp"), HttpClient, "guzzle"),
    (Has("scrapy"), HttpClient, "scrapy"),
    (Has("dalvik/"), HttpClient, "dalvik"),
    (Has("cfnetwork/"), HttpClient, "cfnetwork"),
    // 5. Generic words.
    (HasNot("bot", "cubot"), Crawler, "generic-bot"),
    (Has("crawl"), Crawler, "generic-crawler"),
    (Has("spider"), Crawler, "generic-spider"),
    (Has("slurp"), Crawler, "generic-crawler"),
    (Has("scraper"), Crawler, "generic-crawler"),
    (Has("headless"), Crawler, "generic-headless"),
    (Has("http-client"), HttpClient, "generic-http-client"),
    (Has("httpclient"), HttpClient, "generic-http-client"),
];

/// In-app browser tokens, in order. Needles are lowercase.
const IN_APP_RULES: &[(&str, InApp)] = &[
    ("kakaotalk", InApp::Kakaotalk),
    ("naver(inapp", InApp::Naver),
    (" band/", InApp::Band),
    (" line/", InApp::Line),
    ("instagram", InApp::Instagram),
    ("fban/", InApp::Facebook),
    ("fbav/", InApp::Facebook),
    ("fb_iab/", InApp::Facebook),
    ("daumapps", InApp::Daum),
    ("everytimeapp", InApp::Everytime),
];

/// Classifies a request by its method and `User-Agent` header. Never panics; never allocates.
pub fn classify(method_is_head: bool, user_agent: Option<&str>) -> ClientInfo {
    let ua = user_agent.unwrap_or("");
    let mut cut = ua.len().min(MAX_INSPECTED);
    while !ua.is_char_boundary(cut) {
        cut -= 1;
    }
    let src = ua.get(..cut).unwrap_or_default();
    let mut buf = [0u8; MAX_INSPECTED];
    for (dst, b) in buf.iter_mut().zip(src.bytes()) {
        *dst = b.to_ascii_lowercase();
    }
    // `src` ends on a char boundary and ASCII lowercasing keeps UTF-8 valid: this never fails.
    let s = std::str::from_utf8(buf.get(..src.len()).unwrap_or_default())
        .unwrap_or("")
        .trim();

    if s.is_empty() {
        return ClientInfo::bot(HttpClient, "empty");
    }
    if let Some((_, agent, name)) = BOT_RULES.iter().find(|(pat, _, _)| pat.matches(s)) {
        return ClientInfo::bot(*agent, name);
    }
    if method_is_head {
        return ClientInfo::bot(Crawler, "head-request");
    }
    human(s)
}

/// Rule 7: describes a person's browser. `s` is lowercased.
fn human(s: &str) -> ClientInfo {
    let in_app = IN_APP_RULES
        .iter()
        .find(|(needle, _)| s.contains(needle))
        .map(|(_, app)| *app);

    let os = if s.contains("iphone") || s.contains("ipad") || s.contains("ipod") {
        Os::Ios
    } else if s.contains("android") {
        Os::Android
    } else if s.contains("windows") {
        Os::Windows
    } else if s.contains("macintosh") || s.contains("mac os x") {
        Os::Macos
    } else if s.contains("linux") || s.contains("x11") || s.contains("cros") {
        Os::Linux
    } else {
        Os::Other
    };

    let device = match os {
        _ if s.contains("ipad") || s.contains("tablet") => Device::Tablet,
        Os::Ios => Device::Phone,
        Os::Android if s.contains("mobile") => Device::Phone,
        Os::Android => Device::Tablet,
        Os::Windows | Os::Macos | Os::Linux => Device::Desktop,
        Os::Other if s.contains("mobile") => Device::Phone,
        Os::Other => Device::Other,
    };

    let webview = in_app.is_some()
        || (os == Os::Android && (s.contains("; wv)") || s.contains("version/4.0 chrome/")))
        || (os == Os::Ios && !s.contains("safari/"));
    let browser = if webview {
        Browser::Webview
    } else if s.contains("samsungbrowser/") {
        Browser::SamsungInternet
    } else if s.contains("whale/") {
        Browser::Whale
    } else if s.contains("edg/") || s.contains("edga/") || s.contains("edgios/") || s.contains("edge/") {
        Browser::Edge
    } else if s.contains("firefox/") || s.contains("fxios/") {
        Browser::Firefox
    } else if s.contains("opr/") || s.contains("opios/") || s.contains("yabrowser/") {
        Browser::Other
    } else if s.contains("chrome/") || s.contains("crios/") {
        Browser::Chrome
    } else if s.contains("safari/") {
        Browser::Safari
    } else {
        Browser::Other
    };

    ClientInfo {
        agent: AgentKind::Human,
        bot_name: None,
        os,
        device,
        in_app,
        browser,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Expected class of a person.
    fn person(os: Os, device: Device, in_app: Option<InApp>, browser: Browser) -> ClientInfo {
        ClientInfo {
            agent: AgentKind::Human,
            bot_name: None,
            os,
            device,
            in_app,
            browser,
        }
    }

    fn bot(agent: AgentKind, name: &'static str) -> ClientInfo {
        ClientInfo::bot(agent, name)
    }

    use Browser as B;
    use Device::{Desktop, Phone, Tablet};
    use Os::{Android, Ios, Linux, Macos, Windows};

    /// Real user agents seen in the wild, and what each must classify as (GET requests).
    fn fixtures() -> Vec<(&'static str, ClientInfo)> {
        vec![
            // KakaoTalk in-app browser.
            (
                "Mozilla/5.0 (Linux; Android 13; SM-S918N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36;KAKAOTALK 2410700",
                person(Android, Phone, Some(InApp::Kakaotalk), B::Webview),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.4.5",
                person(Ios, Phone, Some(InApp::Kakaotalk), B::Webview),
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.3.8",
                person(Ios, Tablet, Some(InApp::Kakaotalk), B::Webview),
            ),
            // NAVER app.
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 NAVER(inapp; search; 2000; 12.1.5; 14PRO)",
                person(Ios, Phone, Some(InApp::Naver), B::Webview),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-S911N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Whale/1.0.0.0 Crosswalk/28.119.6045.16 Mobile Safari/537.36 NAVER(inapp; search; 2000; 12.1.6)",
                person(Android, Phone, Some(InApp::Naver), B::Webview),
            ),
            // BAND.
            (
                "Mozilla/5.0 (Linux; Android 12; SM-G991N Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.111 Mobile Safari/537.36 BAND/13.3.1 (ko_KR; Android 12)",
                person(Android, Phone, Some(InApp::Band), B::Webview),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 BAND/13.2.0 (ko_KR; iPhone; iOS 16.5)",
                person(Ios, Phone, Some(InApp::Band), B::Webview),
            ),
            // LINE.
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.19.0",
                person(Ios, Phone, Some(InApp::Line), B::Webview),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-S901N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Line/13.20.1/IAB",
                person(Android, Phone, Some(InApp::Line), B::Webview),
            ),
            // Instagram.
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.0.0.25.108 (iPhone14,2; iOS 17_1_1; ko_KR; ko; scale=3.00; 1170x2532; 537288532)",
                person(Ios, Phone, Some(InApp::Instagram), B::Webview),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-S918N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Instagram 309.0.0.40.113 Android (33/13; 450dpi; 1080x2115; samsung; SM-S918N; dm3q; qcom; ko_KR; 541635890)",
                person(Android, Phone, Some(InApp::Instagram), B::Webview),
            ),
            // Facebook.
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;FBLC/ko_KR;FBOP/5;FBRV/0]",
                person(Ios, Phone, Some(InApp::Facebook), B::Webview),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-S908N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/442.0.0.33.113;]",
                person(Android, Phone, Some(InApp::Facebook), B::Webview),
            ),
            // Daum, Everytime.
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 DaumApps/6.9.2 DaumDevice/mobile",
                person(Ios, Phone, Some(InApp::Daum), B::Webview),
            ),
            (
                "Mozilla/5.0 (Linux; Android 12; SM-A536N Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.111 Mobile Safari/537.36 everytimeApp",
                person(Android, Phone, Some(InApp::Everytime), B::Webview),
            ),
            // Samsung Internet.
            (
                "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
                person(Android, Phone, None, B::SamsungInternet),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X706N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/22.0 Chrome/111.0.5563.116 Safari/537.36",
                person(Android, Tablet, None, B::SamsungInternet),
            ),
            // iOS browsers.
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
                person(Ios, Phone, None, B::Safari),
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
                person(Ios, Tablet, None, B::Safari),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/119.0.6045.169 Mobile/15E148 Safari/604.1",
                person(Ios, Phone, None, B::Chrome),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/120.0 Mobile/15E148 Safari/605.1.15",
                person(Ios, Phone, None, B::Firefox),
            ),
            // Android browsers.
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36",
                person(Android, Phone, None, B::Chrome),
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
                person(Android, Tablet, None, B::Chrome),
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 EdgA/119.0.2151.78",
                person(Android, Phone, None, B::Edge),
            ),
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0",
                person(Android, Phone, None, B::Firefox),
            ),
            (
                "Mozilla/5.0 (Linux; Android 9; CUBOT_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.120 Mobile Safari/537.36",
                person(Android, Phone, None, B::Chrome),
            ),
            // Desktop browsers. The Mac Safari string is also what iPadOS sends by default.
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
                person(Windows, Desktop, None, B::Chrome),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.72",
                person(Windows, Desktop, None, B::Edge),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
                person(Windows, Desktop, None, B::Firefox),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Whale/3.23.214.10 Safari/537.36",
                person(Windows, Desktop, None, B::Whale),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
                person(Windows, Desktop, None, B::Other),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
                person(Macos, Desktop, None, B::Chrome),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                person(Macos, Desktop, None, B::Safari),
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
                person(Linux, Desktop, None, B::Firefox),
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
                person(Linux, Desktop, None, B::Chrome),
            ),
            // Link previews.
            (
                "facebookexternalhit/1.1;kakaotalk-scrap/1.0; +https://devtalk.kakao.com/t/scrap/33984",
                bot(PreviewBot, "kakaotalk-scrap"),
            ),
            ("KakaoOpenAPI/1.0", bot(PreviewBot, "kakao-open-api")),
            ("facebookexternalhit/1.1;line-poker/1.0", bot(PreviewBot, "line-poker")),
            (
                "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
                bot(PreviewBot, "facebookexternalhit"),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
                bot(PreviewBot, "facebookexternalhit"),
            ),
            (
                "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
                bot(PreviewBot, "slackbot"),
            ),
            (
                "Slackbot 1.0 (+https://api.slack.com/robots)",
                bot(PreviewBot, "slackbot"),
            ),
            ("Twitterbot/1.0", bot(PreviewBot, "twitterbot")),
            ("TelegramBot (like TwitterBot)", bot(PreviewBot, "telegrambot")),
            ("WhatsApp/2.23.20.0", bot(PreviewBot, "whatsapp")),
            (
                "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
                bot(PreviewBot, "discordbot"),
            ),
            (
                "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
                bot(PreviewBot, "linkedinbot"),
            ),
            (
                "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com",
                bot(PreviewBot, "skypeuripreview"),
            ),
            // Crawlers.
            (
                "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)",
                bot(Crawler, "yeti"),
            ),
            (
                "Mozilla/5.0 (compatible; Daum/4.1; +http://cs.daum.net/faq/15/4118.html?faqId=28966)",
                bot(Crawler, "daumoa"),
            ),
            (
                "Mozilla/5.0 (compatible; MSIE or Firefox mutant; not on Windows server;) Daumoa 4.0",
                bot(Crawler, "daumoa"),
            ),
            (
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                bot(Crawler, "googlebot"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.199 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                bot(Crawler, "googlebot"),
            ),
            (
                "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                bot(Crawler, "bingbot"),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
                bot(Crawler, "applebot"),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/119.0.6045.105 Safari/537.36",
                bot(Crawler, "headless-chrome"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
                bot(Crawler, "lighthouse"),
            ),
            (
                "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
                bot(Crawler, "generic-bot"),
            ),
            (
                "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
                bot(Crawler, "generic-spider"),
            ),
            // HTTP clients.
            ("curl/8.4.0", bot(HttpClient, "curl")),
            ("Wget/1.21.4", bot(HttpClient, "wget")),
            ("python-requests/2.31.0", bot(HttpClient, "python-requests")),
            ("Python-urllib/3.11", bot(HttpClient, "python-urllib")),
            ("Go-http-client/1.1", bot(HttpClient, "go-http-client")),
            ("okhttp/4.12.0", bot(HttpClient, "okhttp")),
            (
                "Apache-HttpClient/4.5.14 (Java/17.0.9)",
                bot(HttpClient, "apache-httpclient"),
            ),
            ("Java/17.0.9", bot(HttpClient, "java")),
            ("axios/1.6.2", bot(HttpClient, "axios")),
            (
                "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
                bot(HttpClient, "node-fetch"),
            ),
            ("libwww-perl/6.72", bot(HttpClient, "libwww-perl")),
            (
                "Dalvik/2.1.0 (Linux; U; Android 13; SM-S918N Build/TP1A.220624.014)",
                bot(HttpClient, "dalvik"),
            ),
            ("", bot(HttpClient, "empty")),
            ("   ", bot(HttpClient, "empty")),
        ]
    }

    #[test]
    fn fixtures_classify_as_expected() {
        let table = fixtures();
        assert!(table.len() >= 40, "{}", table.len());
        for (ua, want) in table {
            assert_eq!(classify(false, Some(ua)), want, "{ua}");
        }
    }

    #[test]
    fn only_people_count_as_clicks() {
        for (ua, want) in fixtures() {
            assert_eq!(
                classify(false, Some(ua)).counts_as_click(),
                want.agent == AgentKind::Human,
                "{ua}"
            );
        }
    }

    #[test]
    fn missing_header_is_an_http_client() {
        assert_eq!(classify(false, None), bot(HttpClient, "empty"));
        assert!(!classify(false, None).counts_as_click());
    }

    #[test]
    fn head_is_a_crawler_unless_the_agent_names_itself() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36";
        assert_eq!(classify(true, Some(chrome)), bot(Crawler, "head-request"));
        let slack = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
        assert_eq!(classify(true, Some(slack)), bot(PreviewBot, "slackbot"));
    }

    #[test]
    fn okhttp_inside_a_browser_string_is_not_a_client() {
        let ua = "Mozilla/5.0 (Linux; Android 13; SM-S918N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 okhttp/4.9.0";
        assert!(classify(false, Some(ua)).counts_as_click());
    }

    #[test]
    fn only_the_first_bytes_are_inspected() {
        // A token past the cap is not seen; a multi-byte character across the cap does not panic.
        let far = format!("{}curl/8.4.0", "a".repeat(MAX_INSPECTED));
        assert_eq!(classify(false, Some(&far)).agent, AgentKind::Human);
        let korean = format!("curl/8.4.0 {}", "가".repeat(MAX_INSPECTED));
        assert_eq!(classify(false, Some(&korean)), bot(HttpClient, "curl"));
    }

    #[test]
    fn serialises_in_snake_case() {
        let c = classify(false, Some(fixtures()[0].0));
        let json = serde_json::to_value(&c).ok();
        // The event contract (docs/events.md): absent options are left out.
        let want = serde_json::json!({
            "agent": "human", "os": "android", "device": "phone",
            "in_app": "kakaotalk", "browser": "webview",
        });
        assert_eq!(json, Some(want));
        let scrap = classify(false, Some("facebookexternalhit/1.1;kakaotalk-scrap/1.0"));
        let json = serde_json::to_string(&scrap).unwrap_or_default();
        assert!(json.contains(r#""agent":"preview_bot""#), "{json}");
        assert_eq!(serde_json::from_str::<ClientInfo>(&json).ok(), Some(scrap));
    }

    /// `needle` with each ASCII letter's case chosen by `upper`.
    fn recase(needle: &str, upper: &[bool]) -> String {
        needle
            .chars()
            .zip(upper.iter().chain(std::iter::repeat(&false)))
            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
            .collect()
    }

    proptest! {
        #[test]
        fn never_panics(ua in ".{0,2000}", head: bool) {
            let c = classify(head, Some(&ua));
            prop_assert_eq!(c.in_app.is_some() && c.browser != Browser::Webview, false);
            prop_assert_eq!(c.agent != AgentKind::Human, c.device == Device::Bot);
        }

        #[test]
        fn never_panics_on_huge_headers(unit in ".{1,8}", times in 1usize..20_000) {
            let ua = unit.repeat(times);
            let _ = classify(false, Some(&ua));
        }

        #[test]
        fn head_is_never_a_click(ua in ".{0,600}") {
            prop_assert!(!classify(true, Some(&ua)).counts_as_click());
        }

        /// Anywhere in the inspected window (a prefix of up to 100 characters, 400 bytes), in any case.
        #[test]
        fn kakaotalk_scrap_is_never_a_click(
            prefix in ".{0,100}",
            suffix in ".{0,2000}",
            upper in proptest::collection::vec(any::<bool>(), 15),
            head: bool,
        ) {
            let ua = format!("{prefix}{}{suffix}", recase("kakaotalk-scrap", &upper));
            prop_assert!(!classify(head, Some(&ua)).counts_as_click(), "{}", ua);
        }
    }
}
