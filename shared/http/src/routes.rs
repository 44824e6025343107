//! The route table: every HTTP route of every function, in one place. The local gateway
//! dispatches with it, and a test checks template.yaml's HttpApi events against it, so local
//! and deployed routes cannot drift.

/// The Lambda functions that serve HTTP, by their binary names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Redirect,
    Page,
    Redeem,
    Survey,
    Console,
}

impl Function {
    /// The function's logical id in template.yaml.
    pub fn logical_id(self) -> &'static str {
        match self {
            Function::Redirect => "RedirectFunction",
            Function::Page => "PageFunction",
            Function::Redeem => "RedeemFunction",
            Function::Survey => "SurveyFunction",
            Function::Console => "ConsoleFunction",
        }
    }
}

/// What a route does; the function that serves it dispatches on this, never on the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A short link opened (click or preview).
    Open,
    /// The M-DM page.
    Page,
    /// The info form with its consents.
    SubmitForm,
    Claim,
    /// Coupon states for the page's script.
    CouponStates,
    Share,
    OptOutPage,
    OptOut,
    /// "본인이 아니신가요?": a forwarded link's reader becomes a visitor of their own.
    NotMe,
    /// The consent confirmation link: the page, and the tap that confirms.
    ConfirmPage,
    Confirm,
    /// Client-side interaction beacons.
    Beacon,
    /// Kakao's share callback.
    KakaoShare,
    /// NHN Cloud's delivery-result webhook (`MESSAGE_RESULT_UPDATE`).
    NhnMessageResult,
    /// Solapi's delivery-report webhook (`MessageReport`).
    SolapiMessageReport,
    Redeem,
    SurveyScreen,
    SurveyAnswer,
    /// The console: `/console` sends on to the campaigns or the sign-in page.
    ConsoleHome,
    ConsoleSignInPage,
    ConsoleSignIn,
    ConsoleSignOut,
    ConsoleCampaigns,
    /// One campaign's dashboard.
    ConsoleDashboard,
    /// The survey or MCS report of a campaign that has one.
    ConsoleSurveyReport,
    ConsolePeople,
    /// One person's timeline.
    ConsolePerson,
    /// Admin: pause or resume.
    ConsoleStatus,
    /// Admin: a CSV or xlsx upload of recipients.
    ConsoleImport,
    /// Admin: the send list in a sender's preset.
    ConsoleSendList,
    /// Admin: the report or the people as xlsx or CSV.
    ConsoleExport,
    /// Admin: a read-only link for the brand's client, made or revoked.
    ConsoleViewLinkCreate,
    ConsoleViewLinkRevoke,
    /// The dashboard through a read-only link: no session, no names.
    ConsoleViewLink,
    /// Store staff: the redeem page, a code looked up, and redeemed.
    ConsoleStore,
    ConsoleStoreLookup,
    ConsoleStoreRedeem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway syntax: `/p/{code}`.
    pub path: &'static str,
    pub function: Function,
    pub action: Action,
}

const fn r(method: &'static str, path: &'static str, function: Function, action: Action) -> Route {
    Route {
        method,
        path,
        function,
        action,
    }
}

pub const ROUTES: &[Route] = &[
    r("GET", "/{code}", Function::Redirect, Action::Open),
    r("HEAD", "/{code}", Function::Redirect, Action::Open),
    r("GET", "/p/{code}", Function::Page, Action::Page),
    r("POST", "/p/{code}/form", Function::Page, Action::SubmitForm),
    r("POST", "/p/{code}/claim", Function::Page, Action::Claim),
    r("GET", "/p/{code}/coupon", Function::Page, Action::CouponStates),
    r("POST", "/p/{code}/share", Function::Page, Action::Share),
    r("GET", "/p/{code}/optout", Function::Page, Action::OptOutPage),
    r("POST", "/p/{code}/optout", Function::Page, Action::OptOut),
    r("POST", "/p/{code}/notme", Function::Page, Action::NotMe),
    r("GET", "/c/{token}", Function::Page, Action::ConfirmPage),
    r("POST", "/c/{token}", Function::Page, Action::Confirm),
    r("POST", "/e", Function::Page, Action::Beacon),
    r("GET", "/hooks/kakao/share", Function::Page, Action::KakaoShare),
    r("POST", "/hooks/kakao/share", Function::Page, Action::KakaoShare),
    r(
        "POST",
        "/hooks/nhn/message-result",
        Function::Page,
        Action::NhnMessageResult,
    ),
    r(
        "POST",
        "/hooks/solapi/message-report",
        Function::Page,
        Action::SolapiMessageReport,
    ),
    r("POST", "/api/stores/{store}/redeem", Function::Redeem, Action::Redeem),
    r("GET", "/s/{code}", Function::Survey, Action::SurveyScreen),
    r("POST", "/s/{code}", Function::Survey, Action::SurveyAnswer),
    r("GET", "/console", Function::Console, Action::ConsoleHome),
    r("GET", "/console/sign-in", Function::Console, Action::ConsoleSignInPage),
    r("POST", "/console/sign-in", Function::Console, Action::ConsoleSignIn),
    r("POST", "/console/sign-out", Function::Console, Action::ConsoleSignOut),
    r("GET", "/console/campaigns", Function::Console, Action::ConsoleCampaigns),
    r(
        "GET",
        "/console/campaigns/{campaign}",
        Function::Console,
        Action::ConsoleDashboard,
    ),
    r(
        "GET",
        "/console/campaigns/{campaign}/survey",
        Function::Console,
        Action::ConsoleSurveyReport,
    ),
    r(
        "GET",
        "/console/campaigns/{campaign}/people",
        Function::Console,
        Action::ConsolePeople,
    ),
    r(
        "GET",
        "/console/campaigns/{campaign}/people/{recipient}",
        Function::Console,
        Action::ConsolePerson,
    ),
    r(
        "POST",
        "/console/campaigns/{campaign}/status",
        Function::Console,
        Action::ConsoleStatus,
    ),
    r(
        "POST",
        "/console/campaigns/{campaign}/recipients",
        Function::Console,
        Action::ConsoleImport,
    ),
    r(
        "GET",
        "/console/campaigns/{campaign}/send-list",
        Function::Console,
        Action::ConsoleSendList,
    ),
    r(
        "GET",
        "/console/campaigns/{campaign}/export",
        Function::Console,
        Action::ConsoleExport,
    ),
    r(
        "POST",
        "/console/campaigns/{campaign}/view-links",
        Function::Console,
        Action::ConsoleViewLinkCreate,
    ),
    r(
        "POST",
        "/console/campaigns/{campaign}/view-links/revoke",
        Function::Console,
        Action::ConsoleViewLinkRevoke,
    ),
    r(
        "GET",
        "/console/view/{token}",
        Function::Console,
        Action::ConsoleViewLink,
    ),
    r(
        "GET",
        "/console/stores/{store}",
        Function::Console,
        Action::ConsoleStore,
    ),
    r(
        "POST",
        "/console/stores/{store}/lookup",
        Function::Console,
        Action::ConsoleStoreLookup,
    ),
    r(
        "POST",
        "/console/stores/{store}/redeem",
        Function::Console,
        Action::ConsoleStoreRedeem,
    ),
];

/// The action of a request, by the route table (in Lambda, API Gateway already picked the
/// function; this picks the action within it).
pub fn action_of(req: &lambda_http::Request) -> Option<Action> {
    match_route(req.method().as_str(), req.uri().path())
        .ok()
        .map(|(route, _)| route.action)
}

/// The route for a request and its path parameters. A literal segment beats a parameter, as in
/// API Gateway, so `/e` is never taken for a short code. `None` for an unknown path; a known
/// path with another method gives the route list's `Err` of allowed methods.
pub fn match_route(method: &str, path: &str) -> Result<(Route, Vec<(&'static str, String)>), Vec<&'static str>> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<(usize, Route, Vec<(&'static str, String)>)> = None;
    let mut allowed = Vec::new();
    for route in ROUTES {
        let pattern: Vec<&'static str> = route.path.trim_start_matches('/').split('/').collect();
        if pattern.len() != segs.len() {
            continue;
        }
        let mut params = Vec::new();
        let mut literals = 0;
        let mut ok = true;
        for (p, s) in pattern.iter().zip(&segs) {
            if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                if s.is_empty() {
                    ok = false;
                    break;
                }
                params.push((name, (*s).to_owned()));
            } else if p == s {
                literals += 1;
            } else {
                ok = false;
                break;
            }
        }
        if !ok {
            continue;
        }
        if route.method != method {
            allowed.push(route.method);
            continue;
        }
        if best.as_ref().is_none_or(|(l, _, _)| literals > *l) {
            best = Some((literals, *route, params));
        }
    }
    match best {
        Some((_, route, params)) => Ok((route, params)),
        None => Err(allowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_beat_parameters() {
        let (r, p) = match_route("POST", "/e").map_err(|_| ()).unwrap_or((ROUTES[0], vec![]));
        assert_eq!((r.function, p.len()), (Function::Page, 0));
        let (r, p) = match_route("GET", "/aZ3")
            .map_err(|_| ())
            .unwrap_or((ROUTES[2], vec![]));
        assert_eq!(r.function, Function::Redirect);
        assert_eq!(p, vec![("code", "aZ3".to_owned())]);
        assert!(match_route("GET", "/a/b/c/d").is_err());
        assert_eq!(match_route("DELETE", "/p/x").err(), Some(vec!["GET"]));
    }
}
