//! Segments: a rule the marketer writes in the campaign file, over one person's journey
//! (`analytics::Journey`), e.g. Bigin's "viewed a product 3–5 times in 7 days without buying":
//!
//! ```text
//! views >= 3 and views <= 5 within 7d and not redeemed
//! ```
//!
//! `parse` turns the text into a typed `Rule` or a `RuleError` naming the column; `Rule::matches`
//! says whether a journey is in the segment at a given moment. A rule prints (`Display`) in a
//! canonical form that parses back to the same rule, and is kept (serde) as that string.
//!
//! # Grammar
//!
//! Keywords and names are ASCII and case-insensitive (a variant name keeps its case); spaces
//! are free between tokens. `not` binds tighter than `and`, `and` tighter than `or`; `and` and
//! `or` group from the left.
//!
//! ```text
//! rule      = or ;
//! or        = and , { "or" , and } ;
//! and       = unary , { "and" , unary } ;
//! unary     = "not" , unary | primary ;
//! primary   = "(" , rule , ")" | condition ;
//! condition = views | count | flag | in_app | variant | since ;
//!
//! views     = "views" , test , [ "within" , days | "ever" ] ;
//! count     = metric , test ;
//! metric    = "clicks" | "shares" | "brought" | "claims" | "issued" | "redeemed" ;
//! test      = cmp , number | "between" , number , "and" , number ;
//! cmp       = ">=" | ">" | "<=" | "<" | "=" | "==" | "!=" ;
//! days      = number , "d" ;                      (* 1 to 35 (VIEW_DAYS_KEPT), no space: 7d *)
//!
//! flag      = "sent" | "delivered" | "failed" | "clicked" | "viewed" | "engaged" | "bounced"
//!           | "form" | "consented" | "claimed" | "issued" | "redeemed" | "shared"
//!           | "via_share" | "opted_out" | "survey_started" | "survey_completed" ;
//! in_app    = "in_app" , ( "=" | "!=" ) , app ;
//! app       = "kakaotalk" | "naver" | "band" | "line" | "instagram" | "facebook" | "daum"
//!           | "everytime" | "none" ;
//! variant   = "variant" , ( "=" | "!=" ) , name ;  (* 1 to 32 of A-Z a-z 0-9 _ - *)
//! since     = "since" , moment , ( ">=" | ">" | "<=" | "<" ) , age ;
//! moment    = "sent" | "delivered" | "failed" | "clicked" | "viewed" | "engaged" | "form"
//!           | "consented" | "claimed" | "issued" | "redeemed" | "opted_out"
//!           | "survey_started" | "survey_completed" | "last_click" | "last_view" ;
//! age       = number , ( "h" | "d" ) ;            (* at most 9999, no space: 24h *)
//! number    = digit , { digit } ;                 (* a whole number, at most 4294967295 *)
//! ```
//!
//! A rule is at most `MAX_RULE_CHARS` characters with at most `MAX_DEPTH` levels of
//! parentheses and `not`.
//!
//! # Meaning
//!
//! - **Counts** are the journey's totals: `views` (page views), `clicks`, `shares` (share
//!   taps), `brought` (visitors they brought in directly, hop 1 of their share chain),
//!   `claims`, `issued` and `redeemed` (coupons). `between 3 and 5` includes both ends.
//! - **`within Nd`** counts the views of the last N KST days, today included (the journey keeps
//!   views by KST day, `VIEW_DAYS_KEPT` of them). Only views have such a history: `within` on
//!   any other count is refused.
//! - **Which comparisons a `within` covers.** A `within Nd` sets the window of every `views`
//!   comparison at the same parenthesis level that has none of its own, whether it is written
//!   before or after them and whether they are joined by `and` or `or`. So
//!   `views >= 3 and views <= 5 within 7d` is "3 to 5 views in the last 7 days", as a marketer
//!   reads it (the same as `views between 3 and 5 within 7d`). To compare all views beside a
//!   window, write `ever` (`views >= 10 ever and views = 0 within 7d`: a fan who has not come
//!   back this week) or put it in parentheses, which start a level of their own. Two different
//!   windows at one level with a `views` comparison that has none is refused as ambiguous.
//! - **Flags** are true when the journey has the step, as the report's people counters count
//!   it: `clicked` (a click), `viewed` (a page view), `engaged` (did something on the page),
//!   `bounced` (viewed and did nothing), `form`, `consented` (marketing consent given through
//!   the campaign), `claimed`/`issued`/`redeemed` (a coupon), `shared` (a share tap),
//!   `via_share` (came through someone's share link), `opted_out`, `survey_started`,
//!   `survey_completed`, and the message's `sent`/`delivered`/`failed`.
//! - **`in_app = kakaotalk`**: the in-app browser of their first click (`none`: a regular
//!   browser). Someone who never clicked is in no browser: `in_app = none` does not select them.
//!   `!=` is `not … = …` (and so selects those who never clicked).
//! - **`variant = B`**: their page variant (A/B test), compared exactly (case kept).
//! - **`since clicked < 24h`**: the time since the step (its first time; `last_click` and
//!   `last_view` are the latest click and view), compared exactly with the age. False for a
//!   person who has not taken the step, whatever the comparison. A follow-up workflow's
//!   "24 h after sent: clicked → A; not clicked → B" is the schedule's trigger
//!   `since sent >= 24h` with `clicked` / `not clicked`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::analytics::{Journey, VIEW_DAYS_KEPT};
use crate::client::InApp;

/// Longest rule, in characters.
pub const MAX_RULE_CHARS: usize = 500;

/// Deepest nesting of parentheses and `not`.
pub const MAX_DEPTH: usize = 32;

/// Largest age a `since` compares with, in its unit.
pub const MAX_AGE: u32 = 9999;

/// Longest variant name.
pub const MAX_VARIANT: usize = 32;

/// A rule that does not parse: where (a 1-based character column) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {at}: {message}")]
pub struct RuleError {
    pub at: usize,
    pub message: String,
}

impl RuleError {
    fn new(at: usize, message: impl Into<String>) -> Self {
        RuleError {
            at,
            message: message.into(),
        }
    }
}

/// Unit enums with the word the rule spells them with.
macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $v,)+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)+];
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s,)+
                }
            }
            /// From its (lower-case) word.
            pub fn from_word(w: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|x| x.as_str() == w)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// A count of the journey other than views (views have their own window).
    Metric {
        Clicks = "clicks",
        Shares = "shares",
        /// Visitors brought in directly (hop 1 of their share chain).
        Brought = "brought",
        Claims = "claims",
        Issued = "issued",
        Redeemed = "redeemed",
    }
}

words! {
    /// A step the journey has or has not.
    Flag {
        Sent = "sent",
        Delivered = "delivered",
        Failed = "failed",
        Clicked = "clicked",
        Viewed = "viewed",
        Engaged = "engaged",
        /// Viewed the page and did nothing on it.
        Bounced = "bounced",
        Form = "form",
        /// Marketing consent given through the campaign's form or confirmation link.
        Consented = "consented",
        Claimed = "claimed",
        Issued = "issued",
        Redeemed = "redeemed",
        Shared = "shared",
        /// Came through someone's share link.
        ViaShare = "via_share",
        OptedOut = "opted_out",
        SurveyStarted = "survey_started",
        SurveyCompleted = "survey_completed",
    }
}

words! {
    /// A moment of the journey a `since` measures from.
    Moment {
        Sent = "sent",
        Delivered = "delivered",
        Failed = "failed",
        Clicked = "clicked",
        Viewed = "viewed",
        Engaged = "engaged",
        Form = "form",
        Consented = "consented",
        Claimed = "claimed",
        Issued = "issued",
        Redeemed = "redeemed",
        OptedOut = "opted_out",
        SurveyStarted = "survey_started",
        SurveyCompleted = "survey_completed",
        /// The latest click.
        LastClick = "last_click",
        /// The latest page view.
        LastView = "last_view",
    }
}

words! {
    /// A comparison.
    Cmp {
        Ge = ">=",
        Gt = ">",
        Le = "<=",
        Lt = "<",
        Eq = "=",
        Ne = "!=",
    }
}

words! {
    /// The unit of an age.
    AgeUnit {
        Hours = "h",
        Days = "d",
    }
}

impl Cmp {
    pub fn holds<T: Ord>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
            Cmp::Le => a <= b,
            Cmp::Lt => a < b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }
}

/// A test of a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Test {
    Cmp(Cmp, u32),
    /// Both ends included; `lo <= hi` when parsed.
    Between(u32, u32),
}

impl Test {
    pub fn holds(self, n: u32) -> bool {
        match self {
            Test::Cmp(c, k) => c.holds(n, k),
            Test::Between(lo, hi) => lo <= n && n <= hi,
        }
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Test::Cmp(c, n) => write!(f, "{c} {n}"),
            Test::Between(lo, hi) => write!(f, "between {lo} and {hi}"),
        }
    }
}

/// A window of KST days, 1 to `VIEW_DAYS_KEPT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Days(u32);

impl Days {
    pub fn new(n: u32) -> Option<Days> {
        (1..=VIEW_DAYS_KEPT).contains(&i64::from(n)).then_some(Days(n))
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A time since a moment: `24h`, `3d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Age {
    pub amount: u32,
    pub unit: AgeUnit,
}

impl Age {
    pub fn duration(self) -> chrono::Duration {
        let n = i64::from(self.amount);
        match self.unit {
            AgeUnit::Hours => chrono::Duration::hours(n),
            AgeUnit::Days => chrono::Duration::days(n),
        }
    }
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit)
    }
}

/// A page variant's name: 1 to `MAX_VARIANT` of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariantName(String);

impl VariantName {
    pub fn parse(s: &str) -> Option<VariantName> {
        let ok = !s.is_empty()
            && s.len() <= MAX_VARIANT
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        ok.then(|| VariantName(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An in-app browser's name as events and journeys spell it.
fn app_name(a: InApp) -> String {
    crate::analytics::snake(&a)
}

/// A segment rule over one person's journey. Built by `parse`; kept as its canonical string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Rule {
    /// Page views, all of them or those of the last days.
    Views {
        test: Test,
        within: Option<Days>,
    },
    Count {
        metric: Metric,
        test: Test,
    },
    Flag(Flag),
    /// The in-app browser of the first click; `None` is a regular browser (`none`).
    InApp(Option<InApp>),
    Variant(VariantName),
    /// The time since a moment; false when the moment has not happened.
    Since {
        moment: Moment,
        cmp: Cmp,
        age: Age,
    },
    Not(Box<Rule>),
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
}

/// Parses a rule (see the module's grammar).
pub fn parse(src: &str) -> Result<Rule, RuleError> {
    let len = src.chars().count();
    if len > MAX_RULE_CHARS {
        return Err(RuleError::new(
            MAX_RULE_CHARS + 1,
            format!("the rule is {len} characters long; at most {MAX_RULE_CHARS}"),
        ));
    }
    let toks = lex(src)?;
    if toks.first().is_some_and(|t| t.kind == Kind::End) {
        return Err(RuleError::new(1, "the rule is empty"));
    }
    let mut p = Parser { toks, pos: 0, depth: 0 };
    let e = p.or()?;
    let t = p.peek();
    match t.kind {
        Kind::End => {}
        Kind::RParen => return Err(RuleError::new(t.col, "')' without a matching '('")),
        _ => {
            return Err(RuleError::new(
                t.col,
                format!("expected 'and', 'or' or the end of the rule, found {}", t.show()),
            ));
        }
    }
    resolve_level(e)
}

impl FromStr for Rule {
    type Err = RuleError;
    fn from_str(s: &str) -> Result<Rule, RuleError> {
        parse(s)
    }
}

impl TryFrom<String> for Rule {
    type Error = RuleError;
    fn try_from(s: String) -> Result<Rule, RuleError> {
        parse(&s)
    }
}

impl From<Rule> for String {
    fn from(r: Rule) -> String {
        r.to_string()
    }
}

impl Rule {
    /// Whether the person of `j` is in the segment at `now`.
    pub fn matches(&self, j: &Journey, now: DateTime<Utc>) -> bool {
        match self {
            Rule::Views { test, within } => {
                let n = match within {
                    Some(d) => j.views_within(now, i64::from(d.get())),
                    None => j.views,
                };
                test.holds(n)
            }
            Rule::Count { metric, test } => test.holds(count(*metric, j)),
            Rule::Flag(f) => flag(*f, j),
            Rule::InApp(app) => {
                let want = app.map_or_else(|| crate::analytics::NO_IN_APP.to_owned(), app_name);
                j.in_app.as_deref() == Some(want.as_str())
            }
            Rule::Variant(v) => j.variant.as_deref() == Some(v.as_str()),
            Rule::Since { moment, cmp, age } => {
                moment_at(*moment, j).is_some_and(|at| cmp.holds(now - at, age.duration()))
            }
            Rule::Not(r) => !r.matches(j, now),
            Rule::And(a, b) => a.matches(j, now) && b.matches(j, now),
            Rule::Or(a, b) => a.matches(j, now) || b.matches(j, now),
        }
    }

    /// The longest `within` window of the rule, in days: how much of the journey's daily views
    /// it reads.
    pub fn views_window(&self) -> Option<u32> {
        match self {
            Rule::Views { within, .. } => within.map(Days::get),
            Rule::Not(r) => r.views_window(),
            Rule::And(a, b) | Rule::Or(a, b) => a.views_window().max(b.views_window()),
            _ => None,
        }
    }

    /// The page variants the rule names (`variant = B`), so a campaign file can check them.
    pub fn variant_names(&self) -> Vec<&str> {
        match self {
            Rule::Variant(v) => vec![v.as_str()],
            Rule::Not(r) => r.variant_names(),
            Rule::And(a, b) | Rule::Or(a, b) => {
                let mut names = a.variant_names();
                names.extend(b.variant_names());
                names
            }
            _ => Vec::new(),
        }
    }

    /// Whether the rule's answer can change with time alone (a `within` window or a `since`),
    /// so a schedule must evaluate it again even for a journey that did not change.
    pub fn depends_on_time(&self) -> bool {
        match self {
            Rule::Views { within, .. } => within.is_some(),
            Rule::Since { .. } => true,
            Rule::Not(r) => r.depends_on_time(),
            Rule::And(a, b) | Rule::Or(a, b) => a.depends_on_time() || b.depends_on_time(),
            _ => false,
        }
    }
}

fn count(m: Metric, j: &Journey) -> u32 {
    match m {
        Metric::Clicks => j.clicks,
        Metric::Shares => j.shares,
        Metric::Brought => j.credited.visitors[0],
        Metric::Claims => j.claims,
        Metric::Issued => j.issued,
        Metric::Redeemed => j.redeemed,
    }
}

/// The same tests as the report's people counters (`analytics::people_counts`).
fn flag(f: Flag, j: &Journey) -> bool {
    match f {
        Flag::Sent => j.sent_at.is_some(),
        Flag::Delivered => j.delivered_at.is_some(),
        Flag::Failed => j.failed_at.is_some(),
        Flag::Clicked => j.first_click.is_some(),
        Flag::Viewed => j.first_view_at.is_some(),
        Flag::Engaged => j.engaged(),
        Flag::Bounced => j.bounced(),
        Flag::Form => j.form_at.is_some(),
        Flag::Consented => j.consent_at.is_some(),
        Flag::Claimed => j.claimed_at.is_some(),
        Flag::Issued => j.issued_at.is_some(),
        Flag::Redeemed => j.redeemed_at.is_some(),
        Flag::Shared => j.shares > 0,
        Flag::ViaShare => j.referrer_id.is_some(),
        Flag::OptedOut => j.opted_out_at.is_some(),
        Flag::SurveyStarted => j.survey_started_at.is_some(),
        Flag::SurveyCompleted => j.survey_completed_at.is_some(),
    }
}

fn moment_at(m: Moment, j: &Journey) -> Option<DateTime<Utc>> {
    match m {
        Moment::Sent => j.sent_at,
        Moment::Delivered => j.delivered_at,
        Moment::Failed => j.failed_at,
        Moment::Clicked => j.first_click.as_ref().map(|s| s.at),
        Moment::Viewed => j.first_view_at,
        Moment::Engaged => j.engaged_at,
        Moment::Form => j.form_at,
        Moment::Consented => j.consent_at,
        Moment::Claimed => j.claimed_at,
        Moment::Issued => j.issued_at,
        Moment::Redeemed => j.redeemed_at,
        Moment::OptedOut => j.opted_out_at,
        Moment::SurveyStarted => j.survey_started_at,
        Moment::SurveyCompleted => j.survey_completed_at,
        Moment::LastClick => j.last_click_at,
        Moment::LastView => j.last_view_at,
    }
}

// ---- Printing -------------------------------------------------------------------------------

/// Whether `child` is printed in parentheses under `parent` (`right`: the right operand).
fn parenthesised(parent: &Rule, child: &Rule, right: bool) -> bool {
    let boolean = matches!(child, Rule::And(..) | Rule::Or(..));
    match parent {
        Rule::Not(_) => boolean,
        Rule::And(..) => matches!(child, Rule::Or(..)) || (right && boolean),
        Rule::Or(..) => right && matches!(child, Rule::Or(..)),
        _ => false,
    }
}

/// The operands of a boolean node, each with whether it is printed in parentheses.
fn operands(r: &Rule) -> Vec<(&Rule, bool)> {
    match r {
        Rule::Not(x) => vec![(x, parenthesised(r, x, false))],
        Rule::And(a, b) | Rule::Or(a, b) => vec![(a, parenthesised(r, a, false)), (b, parenthesised(r, b, true))],
        _ => Vec::new(),
    }
}

/// Whether a `views` comparison at the printed level of `r` has a window, so those without
/// one must say `ever`.
fn level_has_window(r: &Rule) -> bool {
    match r {
        Rule::Views { within, .. } => within.is_some(),
        _ => operands(r)
            .into_iter()
            .any(|(c, parens)| !parens && level_has_window(c)),
    }
}

fn write_level(r: &Rule, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write_node(r, level_has_window(r), f)
}

fn write_node(r: &Rule, ever: bool, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let child = |c: &Rule, parens: bool, f: &mut fmt::Formatter<'_>| {
        if parens {
            f.write_str("(")?;
            write_level(c, f)?;
            f.write_str(")")
        } else {
            write_node(c, ever, f)
        }
    };
    match r {
        Rule::Views { test, within } => {
            write!(f, "views {test}")?;
            match within {
                Some(d) => write!(f, " within {}d", d.get()),
                None if ever => f.write_str(" ever"),
                None => Ok(()),
            }
        }
        Rule::Count { metric, test } => write!(f, "{metric} {test}"),
        Rule::Flag(x) => write!(f, "{x}"),
        Rule::InApp(a) => match a {
            Some(a) => write!(f, "in_app = {}", app_name(*a)),
            None => write!(f, "in_app = {}", crate::analytics::NO_IN_APP),
        },
        Rule::Variant(v) => write!(f, "variant = {}", v.as_str()),
        Rule::Since { moment, cmp, age } => write!(f, "since {moment} {cmp} {age}"),
        Rule::Not(x) => {
            f.write_str("not ")?;
            child(x, parenthesised(r, x, false), f)
        }
        Rule::And(a, b) | Rule::Or(a, b) => {
            child(a, parenthesised(r, a, false), f)?;
            f.write_str(if matches!(r, Rule::And(..)) { " and " } else { " or " })?;
            child(b, parenthesised(r, b, true), f)
        }
    }
}

/// The canonical form: one space between tokens, parentheses only where needed, `within` on
/// every windowed `views` comparison (and `ever` on the others at a level that has one).
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_level(self, f)
    }
}

// ---- Lexing ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A run of `A-Z a-z 0-9 _ -`: a keyword, a name, a number (`3`) or a quantity (`7d`).
    Word(String),
    Op(Cmp),
    LParen,
    RParen,
    End,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    /// 1-based character column.
    col: usize,
}

impl Tok {
    /// The word, lower-cased.
    fn word(&self) -> Option<String> {
        match &self.kind {
            Kind::Word(w) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }
    fn is(&self, keyword: &str) -> bool {
        self.word().is_some_and(|w| w == keyword)
    }
    /// How an error names the token.
    fn show(&self) -> String {
        match &self.kind {
            Kind::Word(w) => format!("'{w}'"),
            Kind::Op(c) => format!("'{c}'"),
            Kind::LParen => "'('".into(),
            Kind::RParen => "')'".into(),
            Kind::End => "the end of the rule".into(),
        }
    }
}

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn lex(src: &str) -> Result<Vec<Tok>, RuleError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let next = chars.get(i + 1).copied();
        let (kind, width) = match (c, next) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('(', _) => (Kind::LParen, 1),
            (')', _) => (Kind::RParen, 1),
            ('>', Some('=')) => (Kind::Op(Cmp::Ge), 2),
            ('>', _) => (Kind::Op(Cmp::Gt), 1),
            ('<', Some('=')) => (Kind::Op(Cmp::Le), 2),
            ('<', _) => (Kind::Op(Cmp::Lt), 1),
            ('=', Some('=')) => (Kind::Op(Cmp::Eq), 2),
            ('=', _) => (Kind::Op(Cmp::Eq), 1),
            ('!', Some('=')) => (Kind::Op(Cmp::Ne), 2),
            ('!', _) => return Err(RuleError::new(col, "unexpected '!': write 'not'")),
            ('&', _) => return Err(RuleError::new(col, "unexpected '&': write 'and'")),
            ('|', _) => return Err(RuleError::new(col, "unexpected '|': write 'or'")),
            (c, _) if word_char(c) => {
                let n = chars[i..].iter().take_while(|c| word_char(**c)).count();
                (Kind::Word(chars[i..i + n].iter().collect()), n)
            }
            (c, _) => {
                return Err(RuleError::new(col, format!("unexpected character {c:?}")));
            }
        };
        out.push(Tok { kind, col });
        i += width;
    }
    out.push(Tok {
        kind: Kind::End,
        col: chars.len() + 1,
    });
    Ok(out)
}

// ---- Parsing --------------------------------------------------------------------------------

/// A `views` comparison's window as written, before its level is resolved.
#[derive(Debug, Clone, Copy)]
enum Window {
    Unset,
    Ever,
    Within(Days),
}

/// The parse before `within` windows are resolved per parenthesis level.
#[derive(Debug)]
enum Expr {
    Done(Rule),
    Views { test: Test, window: Window, col: usize },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Group(Box<Expr>),
}

/// Resolves the windows of one parenthesis level (and, through them, the levels inside).
fn resolve_level(e: Expr) -> Result<Rule, RuleError> {
    let mut windows = Vec::new();
    let mut unset = None;
    scan_level(&e, &mut windows, &mut unset);
    windows.sort();
    windows.dedup();
    if let (Some(col), [a, b, ..]) = (unset, windows.as_slice()) {
        return Err(RuleError::new(
            col,
            format!(
                "this 'views' comparison could take 'within {}d' or 'within {}d' from the others \
                 beside it: give it its own 'within', or 'ever' for all views",
                a.get(),
                b.get()
            ),
        ));
    }
    let default = match windows.as_slice() {
        [d] => Some(*d),
        _ => None,
    };
    resolve(e, default)
}

fn scan_level(e: &Expr, windows: &mut Vec<Days>, unset: &mut Option<usize>) {
    match e {
        Expr::Views { window, col, .. } => match window {
            Window::Within(d) => windows.push(*d),
            Window::Unset => {
                unset.get_or_insert(*col);
            }
            Window::Ever => {}
        },
        Expr::Not(x) => scan_level(x, windows, unset),
        Expr::And(a, b) | Expr::Or(a, b) => {
            scan_level(a, windows, unset);
            scan_level(b, windows, unset);
        }
        Expr::Done(_) | Expr::Group(_) => {}
    }
}

fn resolve(e: Expr, default: Option<Days>) -> Result<Rule, RuleError> {
    let both = |a: Box<Expr>, b: Box<Expr>| -> Result<(Box<Rule>, Box<Rule>), RuleError> {
        Ok((Box::new(resolve(*a, default)?), Box::new(resolve(*b, default)?)))
    };
    Ok(match e {
        Expr::Done(r) => r,
        Expr::Views { test, window, .. } => Rule::Views {
            test,
            within: match window {
                Window::Unset => default,
                Window::Ever => None,
                Window::Within(d) => Some(d),
            },
        },
        Expr::Not(x) => Rule::Not(Box::new(resolve(*x, default)?)),
        Expr::And(a, b) => {
            let (a, b) = both(a, b)?;
            Rule::And(a, b)
        }
        Expr::Or(a, b) => {
            let (a, b) = both(a, b)?;
            Rule::Or(a, b)
        }
        Expr::Group(x) => resolve_level(*x)?,
    })
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

/// Every word the grammar knows, for "did you mean".
fn vocabulary() -> Vec<&'static str> {
    let mut v = vec![
        "and", "or", "not", "views", "within", "ever", "between", "in_app", "variant", "since",
    ];
    v.extend(Metric::ALL.iter().map(|m| m.as_str()));
    v.extend(Flag::ALL.iter().map(|m| m.as_str()));
    v.extend(Moment::ALL.iter().map(|m| m.as_str()));
    v
}

/// Edit distance, for suggestions (words are short: the rule is bounded).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (k, cb) in b.iter().enumerate() {
            let here = row[k + 1];
            row[k + 1] = (prev + usize::from(ca != *cb)).min(row[k] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

fn did_you_mean(w: &str, among: &[&str]) -> String {
    among
        .iter()
        .map(|k| (distance(w, k), *k))
        .filter(|(d, _)| *d <= 2 && *d < w.len())
        .min()
        .map(|(_, k)| format!(" (did you mean '{k}'?)"))
        .unwrap_or_default()
}

/// A word's leading whole number and what follows it (`7d` → 7, `d`).
fn number(t: &Tok) -> Option<(Option<u32>, String)> {
    let w = t.word()?;
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    Some((w[..digits].parse().ok(), w[digits..].to_owned()))
}

impl Parser {
    fn peek(&self) -> &Tok {
        // The last token is always `End`, and the parser never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }
    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if t.kind != Kind::End {
            self.pos += 1;
        }
        t
    }
    fn deeper(&mut self, col: usize) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::new(
                col,
                format!("nested too deeply: at most {MAX_DEPTH} levels of parentheses and 'not'"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        let mut l = self.and()?;
        while self.peek().is("or") {
            self.bump();
            l = Expr::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let mut l = self.unary()?;
        while self.peek().is("and") {
            self.bump();
            l = Expr::And(Box::new(l), Box::new(self.unary()?));
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Expr, RuleError> {
        if self.peek().is("not") {
            let t = self.bump();
            self.deeper(t.col)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, RuleError> {
        let t = self.bump();
        let w = match &t.kind {
            Kind::LParen => {
                self.deeper(t.col)?;
                let inner = self.or()?;
                let close = self.bump();
                if close.kind != Kind::RParen {
                    return Err(RuleError::new(
                        close.col,
                        format!(
                            "expected ')' to close the '(' at column {}, found {}",
                            t.col,
                            close.show()
                        ),
                    ));
                }
                self.depth -= 1;
                return Ok(Expr::Group(Box::new(inner)));
            }
            Kind::Word(_) => t.word().unwrap_or_default(),
            _ => {
                return Err(RuleError::new(
                    t.col,
                    format!("expected a condition, found {}", t.show()),
                ));
            }
        };
        let next = self.peek().clone();
        let compared = matches!(next.kind, Kind::Op(_)) || next.is("between");
        if w == "views" {
            return self.views(&t);
        }
        if let Some(m) = Metric::from_word(&w)
            && (compared || Flag::from_word(&w).is_none())
        {
            let test = self.test(&t)?;
            if self.peek().is("within") || self.peek().is("ever") {
                let k = self.peek();
                return Err(RuleError::new(
                    k.col,
                    format!(
                        "'{}' applies only to views: the journey keeps views by day, and no \
                         history of {m}",
                        k.word().unwrap_or_default()
                    ),
                ));
            }
            return Ok(Expr::Done(Rule::Count { metric: m, test }));
        }
        if let Some(f) = Flag::from_word(&w) {
            return self.flag(f, &t, &next);
        }
        match w.as_str() {
            "in_app" => {
                let negate = self.equals(&t)?;
                let v = self.bump();
                let name = v.word().unwrap_or_default();
                let app = if name == crate::analytics::NO_IN_APP {
                    None
                } else if let Some(a) = InApp::ALL.into_iter().find(|a| app_name(*a) == name) {
                    Some(a)
                } else {
                    let names: Vec<String> = InApp::ALL
                        .into_iter()
                        .map(app_name)
                        .chain([crate::analytics::NO_IN_APP.to_owned()])
                        .collect();
                    return Err(RuleError::new(
                        v.col,
                        format!("expected an in-app browser ({}), found {}", names.join(", "), v.show()),
                    ));
                };
                Ok(not_if(negate, Rule::InApp(app)))
            }
            "variant" => {
                let negate = self.equals(&t)?;
                let v = self.bump();
                let name = match &v.kind {
                    Kind::Word(s) => VariantName::parse(s),
                    _ => None,
                };
                let Some(name) = name else {
                    return Err(RuleError::new(
                        v.col,
                        format!(
                            "expected a variant name (1 to {MAX_VARIANT} of A-Z a-z 0-9 _ -), found {}",
                            v.show()
                        ),
                    ));
                };
                Ok(not_if(negate, Rule::Variant(name)))
            }
            "since" => self.since(),
            "and" | "or" | "within" | "ever" | "between" => Err(RuleError::new(
                t.col,
                format!("expected a condition, found {}", t.show()),
            )),
            _ if number(&t).is_some() => Err(RuleError::new(
                t.col,
                format!("expected a condition, found the number {}", t.show()),
            )),
            _ => Err(RuleError::new(
                t.col,
                format!("unknown word {}{}", t.show(), did_you_mean(&w, &vocabulary())),
            )),
        }
    }

    /// `=` (false) or `!=` (true) after `in_app` / `variant`.
    fn equals(&mut self, after: &Tok) -> Result<bool, RuleError> {
        let op = self.bump();
        match op.kind {
            Kind::Op(Cmp::Eq) => Ok(false),
            Kind::Op(Cmp::Ne) => Ok(true),
            _ => Err(RuleError::new(
                op.col,
                format!("expected '=' or '!=' after {}, found {}", after.show(), op.show()),
            )),
        }
    }

    fn flag(&mut self, f: Flag, t: &Tok, next: &Tok) -> Result<Expr, RuleError> {
        let counted = match f {
            Flag::Clicked => Some("clicks"),
            Flag::Viewed => Some("views"),
            Flag::Shared => Some("shares"),
            Flag::Claimed => Some("claims"),
            _ => None,
        };
        if matches!(next.kind, Kind::Op(_)) || next.is("between") {
            let hint = counted.map_or_else(String::new, |c| format!(": to count, write '{c}' (e.g. '{c} >= 2')"));
            return Err(RuleError::new(
                next.col,
                format!("{} is a yes-or-no step{hint}", t.show()),
            ));
        }
        if next.is("within") {
            let hint = match (f, Moment::from_word(f.as_str())) {
                (Flag::Viewed, _) => " (views in a window: 'views >= 1 within 7d')".to_owned(),
                (_, Some(m)) => format!(" (time since it: 'since {m} < 24h')"),
                _ => String::new(),
            };
            return Err(RuleError::new(
                next.col,
                format!("'within' applies only to views comparisons{hint}"),
            ));
        }
        Ok(Expr::Done(Rule::Flag(f)))
    }

    /// A count's test: `>= 3`, `between 3 and 5`.
    fn test(&mut self, metric: &Tok) -> Result<Test, RuleError> {
        let t = self.bump();
        match &t.kind {
            Kind::Op(c) => {
                let n = self.count_number(&format!("'{c}'"))?;
                Ok(Test::Cmp(*c, n))
            }
            _ if t.is("between") => {
                let lo = self.count_number("'between'")?;
                let and = self.bump();
                if !and.is("and") {
                    return Err(RuleError::new(
                        and.col,
                        format!("expected 'and' in 'between {lo} and …', found {}", and.show()),
                    ));
                }
                let hi_col = self.peek().col;
                let hi = self.count_number("'and'")?;
                if lo > hi {
                    return Err(RuleError::new(
                        hi_col,
                        format!("'between {lo} and {hi}' is empty: write the smaller number first"),
                    ));
                }
                Ok(Test::Between(lo, hi))
            }
            _ => Err(RuleError::new(
                t.col,
                format!(
                    "expected a comparison (>=, >, <=, <, =, != or between) after {}, found {}",
                    metric.show(),
                    t.show()
                ),
            )),
        }
    }

    fn count_number(&mut self, after: &str) -> Result<u32, RuleError> {
        let t = self.bump();
        match number(&t) {
            Some((Some(n), unit)) if unit.is_empty() => Ok(n),
            Some((None, unit)) if unit.is_empty() => Err(RuleError::new(
                t.col,
                format!("{} is too large: at most {}", t.show(), u32::MAX),
            )),
            Some((_, unit)) => Err(RuleError::new(
                t.col,
                format!("a count has no unit: write a whole number, not {} ('{unit}')", t.show()),
            )),
            None => Err(RuleError::new(
                t.col,
                format!("expected a number after {after}, found {}", t.show()),
            )),
        }
    }

    fn views(&mut self, views: &Tok) -> Result<Expr, RuleError> {
        let next = self.peek().clone();
        if !(matches!(next.kind, Kind::Op(_)) || next.is("between")) {
            return Err(RuleError::new(
                next.col,
                format!(
                    "expected a comparison after 'views' (e.g. 'views >= 3'; 'viewed' for any), found {}",
                    next.show()
                ),
            ));
        }
        let test = self.test(views)?;
        let window = if self.peek().is("within") {
            self.bump();
            let t = self.bump();
            let days = match number(&t) {
                Some((Some(n), unit)) if unit == "d" => Days::new(n)
                    .ok_or_else(|| RuleError::new(t.col, format!("a window is 1 to {VIEW_DAYS_KEPT} days, not {n}")))?,
                Some((_, unit)) if unit == "d" => {
                    return Err(RuleError::new(t.col, format!("a window is 1 to {VIEW_DAYS_KEPT} days")));
                }
                Some((_, unit)) if unit == "h" => {
                    return Err(RuleError::new(
                        t.col,
                        "views are kept by KST day: write the window in days, like 'within 1d'",
                    ));
                }
                _ => {
                    return Err(RuleError::new(
                        t.col,
                        format!("expected a number of days like '7d' after 'within', found {}", t.show()),
                    ));
                }
            };
            Window::Within(days)
        } else if self.peek().is("ever") {
            self.bump();
            Window::Ever
        } else {
            Window::Unset
        };
        Ok(Expr::Views {
            test,
            window,
            col: views.col,
        })
    }

    fn since(&mut self) -> Result<Expr, RuleError> {
        let t = self.bump();
        let w = t.word().unwrap_or_default();
        let Some(moment) = Moment::from_word(&w) else {
            let why = if Flag::from_word(&w).is_some() {
                format!("{} has no time recorded", t.show())
            } else {
                let names: Vec<&str> = Moment::ALL.iter().map(|m| m.as_str()).collect();
                format!(
                    "expected a step after 'since' ({}), found {}{}",
                    names.join(", "),
                    t.show(),
                    did_you_mean(&w, &names)
                )
            };
            return Err(RuleError::new(t.col, why));
        };
        let op = self.bump();
        let cmp = match op.kind {
            Kind::Op(c @ (Cmp::Ge | Cmp::Gt | Cmp::Le | Cmp::Lt)) => c,
            _ => {
                return Err(RuleError::new(
                    op.col,
                    format!("an age is compared with >=, >, <= or <, found {}", op.show()),
                ));
            }
        };
        let a = self.bump();
        let unit = number(&a).and_then(|(n, u)| Some((n, AgeUnit::from_word(&u)?)));
        let age = match unit {
            Some((Some(amount), unit)) if amount <= MAX_AGE => Age { amount, unit },
            Some(_) => {
                return Err(RuleError::new(
                    a.col,
                    format!("an age is at most {MAX_AGE} (hours or days)"),
                ));
            }
            None => {
                return Err(RuleError::new(
                    a.col,
                    format!("expected an age like '24h' or '3d' after '{cmp}', found {}", a.show()),
                ));
            }
        };
        Ok(Expr::Done(Rule::Since { moment, cmp, age }))
    }
}

fn not_if(negate: bool, r: Rule) -> Expr {
    if negate {
        Expr::Not(Box::new(Expr::Done(r)))
    } else {
        Expr::Done(r)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{Duration, NaiveDate};
    use proptest::prelude::*;

    use super::*;
    use crate::analytics::{Credited, Stamp};
    use crate::events::{Event, EventData};
    use crate::time::kst;
    use crate::values::{CampaignId, CouponCode, CouponId, RecipientId, StoreId};

    fn ok(src: &str) -> Rule {
        parse(src).unwrap_or_else(|e| unreachable!("{src:?}: {e}"))
    }

    fn views(test: Test, days: Option<u32>) -> Rule {
        Rule::Views {
            test,
            within: days.and_then(Days::new),
        }
    }
    fn ge(n: u32) -> Test {
        Test::Cmp(Cmp::Ge, n)
    }
    fn le(n: u32) -> Test {
        Test::Cmp(Cmp::Le, n)
    }
    fn and(a: Rule, b: Rule) -> Rule {
        Rule::And(Box::new(a), Box::new(b))
    }
    fn or(a: Rule, b: Rule) -> Rule {
        Rule::Or(Box::new(a), Box::new(b))
    }
    fn not(a: Rule) -> Rule {
        Rule::Not(Box::new(a))
    }
    fn flag(f: Flag) -> Rule {
        Rule::Flag(f)
    }
    fn variant(v: &str) -> Rule {
        Rule::Variant(VariantName::parse(v).unwrap_or_else(|| unreachable!("{v}")))
    }

    /// The issue's example: 3 ≤ views in the last 7 KST days ≤ 5, and nothing redeemed.
    #[test]
    fn the_issue_example_is_three_to_five_views_in_seven_days_and_nothing_redeemed() {
        let r = ok("views >= 3 and views <= 5 within 7d and not redeemed");
        assert_eq!(
            r,
            and(
                and(views(ge(3), Some(7)), views(le(5), Some(7))),
                not(flag(Flag::Redeemed))
            )
        );
        assert_eq!(
            r.to_string(),
            "views >= 3 within 7d and views <= 5 within 7d and not redeemed"
        );
        assert_eq!(r.views_window(), Some(7));
        assert!(r.depends_on_time());
        // The same rule, said other ways.
        assert_eq!(ok("views >= 3 within 7d and views <= 5 and not redeemed"), r);
        assert_eq!(ok("VIEWS>=3 AND Views<=5 WITHIN 7D AND NOT Redeemed"), r);
    }

    #[test]
    fn each_form_parses_to_its_rule() {
        use Flag::*;
        let cases: Vec<(&str, Rule)> = vec![
            ("clicked and not claimed", and(flag(Clicked), not(flag(Claimed)))),
            ("not clicked", not(flag(Clicked))),
            (
                "shares >= 1 or brought >= 2",
                or(
                    Rule::Count {
                        metric: Metric::Shares,
                        test: ge(1),
                    },
                    Rule::Count {
                        metric: Metric::Brought,
                        test: ge(2),
                    },
                ),
            ),
            (
                "in_app = kakaotalk and viewed",
                and(Rule::InApp(Some(InApp::Kakaotalk)), flag(Viewed)),
            ),
            ("in_app = NONE", Rule::InApp(None)),
            ("in_app != naver", not(Rule::InApp(Some(InApp::Naver)))),
            ("issued and not redeemed", and(flag(Issued), not(flag(Redeemed)))),
            (
                "issued >= 2 or redeemed = 0",
                or(
                    Rule::Count {
                        metric: Metric::Issued,
                        test: ge(2),
                    },
                    Rule::Count {
                        metric: Metric::Redeemed,
                        test: Test::Cmp(Cmp::Eq, 0),
                    },
                ),
            ),
            (
                "(form or consented) and not opted_out",
                and(or(flag(Form), flag(Consented)), not(flag(OptedOut))),
            ),
            ("variant = B", variant("B")),
            ("variant != summer-26", not(variant("summer-26"))),
            ("views between 3 and 5 within 7d", views(Test::Between(3, 5), Some(7))),
            ("views == 0", views(Test::Cmp(Cmp::Eq, 0), None)),
            (
                "clicks != 1",
                Rule::Count {
                    metric: Metric::Clicks,
                    test: Test::Cmp(Cmp::Ne, 1),
                },
            ),
            (
                "claims > 0",
                Rule::Count {
                    metric: Metric::Claims,
                    test: Test::Cmp(Cmp::Gt, 0),
                },
            ),
            ("views < 2 within 35d", views(Test::Cmp(Cmp::Lt, 2), Some(35))),
            (
                "since sent >= 24h and not clicked",
                and(
                    Rule::Since {
                        moment: Moment::Sent,
                        cmp: Cmp::Ge,
                        age: Age {
                            amount: 24,
                            unit: AgeUnit::Hours,
                        },
                    },
                    not(flag(Clicked)),
                ),
            ),
            (
                "since last_view > 3d",
                Rule::Since {
                    moment: Moment::LastView,
                    cmp: Cmp::Gt,
                    age: Age {
                        amount: 3,
                        unit: AgeUnit::Days,
                    },
                },
            ),
            ("bounced or via_share", or(flag(Bounced), flag(ViaShare))),
            (
                "survey_started and not survey_completed",
                and(flag(SurveyStarted), not(flag(SurveyCompleted))),
            ),
            (
                "sent and not delivered or failed",
                or(and(flag(Sent), not(flag(Delivered))), flag(Failed)),
            ),
            ("not not engaged", not(not(flag(Engaged)))),
            ("shared", flag(Shared)),
        ];
        for (src, want) in cases {
            let got = ok(src);
            assert_eq!(got, want, "{src}");
            assert_eq!(ok(&got.to_string()), got, "{src} → {got}");
        }
    }

    #[test]
    fn not_binds_tighter_than_and_and_and_than_or() {
        use Flag::*;
        assert_eq!(
            ok("sent or clicked and not viewed"),
            or(flag(Sent), and(flag(Clicked), not(flag(Viewed))))
        );
        assert_eq!(ok("not sent and clicked"), and(not(flag(Sent)), flag(Clicked)));
        assert_eq!(ok("not (sent and clicked)"), not(and(flag(Sent), flag(Clicked))));
        assert_eq!(
            ok("sent or clicked or viewed"),
            or(or(flag(Sent), flag(Clicked)), flag(Viewed))
        );
        assert_eq!(
            ok("(sent or clicked) and viewed").to_string(),
            "(sent or clicked) and viewed"
        );
        assert_eq!(
            ok("sent and (clicked and viewed)").to_string(),
            "sent and (clicked and viewed)"
        );
        assert_eq!(ok("  ( ( sent ) )  ").to_string(), "sent");
    }

    #[test]
    fn a_within_covers_the_views_comparisons_of_its_parenthesis_level() {
        // Before or after, by `and` or `or`, through `not`.
        assert_eq!(
            ok("views < 3 or views > 5 within 7d"),
            or(
                views(Test::Cmp(Cmp::Lt, 3), Some(7)),
                views(Test::Cmp(Cmp::Gt, 5), Some(7))
            )
        );
        assert_eq!(
            ok("views >= 1 and not views > 5 within 14d"),
            and(views(ge(1), Some(14)), not(views(Test::Cmp(Cmp::Gt, 5), Some(14))))
        );
        // `ever` and parentheses keep all views.
        let lapsed = and(views(ge(10), None), views(Test::Cmp(Cmp::Eq, 0), Some(7)));
        assert_eq!(ok("views >= 10 ever and views = 0 within 7d"), lapsed);
        assert_eq!(ok("(views >= 10) and views = 0 within 7d"), lapsed);
        assert_eq!(lapsed.to_string(), "views >= 10 ever and views = 0 within 7d");
        // A window inside parentheses stays inside.
        assert_eq!(
            ok("views >= 10 and (views = 0 within 7d)"),
            and(views(ge(10), None), views(Test::Cmp(Cmp::Eq, 0), Some(7)))
        );
        assert_eq!(
            ok("views >= 10 and (views = 0 within 7d)").to_string(),
            "views >= 10 ever and views = 0 within 7d"
        );
        // Two windows each written out are fine; `ever` alone changes nothing.
        assert_eq!(
            ok("views >= 1 within 7d and views <= 9 within 30d"),
            and(views(ge(1), Some(7)), views(le(9), Some(30)))
        );
        assert_eq!(ok("views >= 3 ever"), views(ge(3), None));
        assert_eq!(ok("views >= 3 ever").to_string(), "views >= 3");
    }

    #[test]
    fn errors_name_the_column() {
        let long = "clicked or ".repeat(50) + "viewed";
        let deep = "(".repeat(33) + "clicked" + &")".repeat(33);
        let nots = "not ".repeat(33) + "clicked";
        let cases: Vec<(&str, usize, &str)> = vec![
            ("veiws >= 3", 1, "unknown word 'veiws' (did you mean 'views'?)"),
            (
                "clicked and bought",
                13,
                "unknown word 'bought' (did you mean 'brought'?)",
            ),
            ("views >= and clicked", 10, "expected a number after '>='"),
            ("views >=", 9, "expected a number after '>=', found the end of the rule"),
            ("clicks >= 2 within 7d", 13, "'within' applies only to views"),
            ("issued >= 1 within 7d", 13, "'within' applies only to views"),
            (
                "clicked within 7d",
                9,
                "'within' applies only to views comparisons (time since it: 'since clicked < 24h')",
            ),
            ("viewed within 7d", 8, "'views >= 1 within 7d'"),
            ("clicks >= 2 ever", 13, "'ever' applies only to views"),
            ("(clicked and viewed", 20, "expected ')' to close the '(' at column 1"),
            ("clicked)", 8, "')' without a matching '('"),
            ("()", 2, "expected a condition, found ')'"),
            (
                "clicked viewed",
                9,
                "expected 'and', 'or' or the end of the rule, found 'viewed'",
            ),
            ("clicked and", 12, "expected a condition, found the end of the rule"),
            ("and clicked", 1, "expected a condition, found 'and'"),
            ("", 1, "the rule is empty"),
            ("   ", 1, "the rule is empty"),
            (&long, 501, "the rule is 556 characters long; at most 500"),
            (&deep, 33, "nested too deeply"),
            (&nots, 129, "nested too deeply"),
            ("views >= 3 within 40d", 19, "a window is 1 to 35 days, not 40"),
            ("views >= 3 within 0d", 19, "a window is 1 to 35 days, not 0"),
            ("views >= 3 within 7h", 19, "views are kept by KST day"),
            ("views >= 3 within 7", 19, "expected a number of days like '7d'"),
            ("views between 5 and 3", 21, "'between 5 and 3' is empty"),
            ("views between 3 or 5", 17, "expected 'and' in 'between 3 and …'"),
            ("views >= 3d", 10, "a count has no unit"),
            ("views", 6, "expected a comparison after 'views'"),
            (
                "clicks",
                7,
                "expected a comparison (>=, >, <=, <, =, != or between) after 'clicks'",
            ),
            ("clicks >= 99999999999", 11, "'99999999999' is too large"),
            ("clicks >= -1", 11, "expected a number after '>=', found '-1'"),
            (
                "clicked >= 2",
                9,
                "'clicked' is a yes-or-no step: to count, write 'clicks'",
            ),
            ("form = 1", 6, "'form' is a yes-or-no step"),
            ("since sent = 24h", 12, "an age is compared with >=, >, <= or <"),
            ("since shared > 1h", 7, "'shared' has no time recorded"),
            ("since snet > 1h", 7, "(did you mean 'sent'?)"),
            ("since sent > 24", 14, "expected an age like '24h' or '3d'"),
            ("since sent > 10000h", 14, "an age is at most 9999"),
            (
                "in_app = kakao",
                10,
                "expected an in-app browser (kakaotalk, naver, band, line, instagram, facebook, daum, everytime, none), found 'kakao'",
            ),
            ("in_app kakaotalk", 8, "expected '=' or '!=' after 'in_app'"),
            ("variant = ", 11, "expected a variant name"),
            ("variant = (", 11, "expected a variant name"),
            ("clicked && viewed", 9, "unexpected '&': write 'and'"),
            ("clicked || viewed", 9, "unexpected '|': write 'or'"),
            ("!clicked", 1, "unexpected '!': write 'not'"),
            ("clicked and 조회", 13, "unexpected character '조'"),
            ("3 and clicked", 1, "expected a condition, found the number '3'"),
            (
                "views >= 3 within 7d and views <= 5 within 30d or views > 0",
                51,
                "could take 'within 7d' or 'within 30d'",
            ),
        ];
        for (src, at, msg) in cases {
            match parse(src) {
                Ok(r) => unreachable!("{src:?} parsed as {r}"),
                Err(e) => {
                    assert_eq!(e.at, at, "{src:?}: {e}");
                    assert!(e.message.contains(msg), "{src:?}: {e}");
                    assert!(e.to_string().starts_with(&format!("column {at}: ")), "{e}");
                }
            }
        }
        assert_eq!(
            parse("views >= x").err().map(|e| e.to_string()),
            Some("column 10: expected a number after '>=', found 'x'".to_owned())
        );
    }

    #[test]
    fn a_rule_is_kept_as_its_canonical_string() -> Result<(), serde_json::Error> {
        let r = ok("(form or consented)  AND NOT opted_out");
        let json = serde_json::to_string(&r)?;
        assert_eq!(json, "\"(form or consented) and not opted_out\"");
        assert_eq!(serde_json::from_str::<Rule>(&json)?, r);
        let bad = serde_json::from_str::<Rule>("\"views >=\"")
            .err()
            .map(|e| e.to_string());
        assert!(bad.is_some_and(|e| e.contains("column 9")));
        Ok(())
    }

    // ---- Evaluation ---------------------------------------------------------------------------

    fn cid() -> CampaignId {
        CampaignId::parse("spring-sale-2026").unwrap_or_else(|e| unreachable!("{e}"))
    }
    fn rid() -> RecipientId {
        RecipientId::parse("R000000000000001").unwrap_or_else(|e| unreachable!("{e}"))
    }
    /// 2026-11-30 15:00 KST.
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T15:00:00+09:00")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    /// A journey folded from page views at the given days before `now()`, and redemptions.
    fn folded(view_days_ago: &[i64], redeemed: usize) -> Journey {
        let mut j = Journey::new(cid(), rid());
        for d in view_days_ago {
            j.apply(&Event::new(
                cid(),
                now() - Duration::days(*d),
                EventData::PageView { page: "mdm".into() },
            ));
        }
        for _ in 0..redeemed {
            j.apply(&Event::new(
                cid(),
                now() - Duration::hours(1),
                EventData::CouponRedeemed {
                    coupon_id: CouponId::parse("welcome").unwrap_or_else(|e| unreachable!("{e}")),
                    code: CouponCode::parse("7KQ3M9XH2TRA").unwrap_or_else(|e| unreachable!("{e}")),
                    store_id: StoreId::parse("gangnam-01").unwrap_or_else(|e| unreachable!("{e}")),
                },
            ));
        }
        j
    }

    #[test]
    fn the_issue_example_selects_exactly_the_people_it_describes() {
        let r = ok("views >= 3 and views <= 5 within 7d and not redeemed");
        let yes = |j: &Journey| r.matches(j, now());
        assert!(
            yes(&folded(&[0, 1, 3, 6], 0)),
            "4 views in the last 7 days, none redeemed"
        );
        assert!(yes(&folded(&[0, 0, 0], 0)), "3 views today");
        assert!(yes(&folded(&[0, 0, 0, 0, 0], 0)), "5 views");
        assert!(!yes(&folded(&[0, 1, 2, 3, 4, 5], 0)), "6 views");
        assert!(!yes(&folded(&[0, 1], 0)), "2 views");
        assert!(!yes(&folded(&[10, 10, 11, 12], 0)), "4 views, 10 days ago");
        assert!(!yes(&folded(&[0, 1, 2, 3], 1)), "4 views, redeemed");
        // 4 in the window and 9 more before it: the window counts.
        let mut days = vec![0, 1, 2, 6];
        days.extend([8; 9]);
        assert!(yes(&folded(&days, 0)), "4 in the window, 13 in all");
        // The window is of KST days: 7 days ago is out, 6 days ago (at any hour) is in.
        assert!(!yes(&folded(&[0, 0, 7], 0)));
        assert!(yes(&folded(&[0, 0, 6], 0)));
    }

    #[test]
    fn a_follow_up_splits_by_click_after_24_hours() {
        let due = ok("since sent >= 24h");
        let mut j = Journey::new(cid(), rid());
        assert!(!due.matches(&j, now()), "never sent");
        j.sent_at = Some(now() - Duration::hours(23));
        assert!(!due.matches(&j, now()));
        j.sent_at = Some(now() - Duration::hours(24));
        assert!(due.matches(&j, now()));
        assert!(ok("not clicked").matches(&j, now()));
        assert!(!ok("since clicked < 24h").matches(&j, now()), "never clicked: false");
        assert!(!ok("in_app = none").matches(&j, now()), "never clicked: no browser");
        assert!(ok("in_app != none").matches(&j, now()));
        assert!(!due.matches(&j, now() - Duration::hours(1)));
    }

    // ---- Properties -----------------------------------------------------------------------------

    const IN_APP_NAMES: [&str; 9] = [
        "kakaotalk",
        "naver",
        "band",
        "line",
        "instagram",
        "facebook",
        "daum",
        "everytime",
        "none",
    ];

    /// A second interpreter, written from the module's documentation, that shares nothing with
    /// `Rule::matches` but the AST.
    fn expected(r: &Rule, j: &Journey, now: DateTime<Utc>) -> bool {
        let test = |t: &Test, n: u32| match *t {
            Test::Cmp(Cmp::Ge, k) => n >= k,
            Test::Cmp(Cmp::Gt, k) => n > k,
            Test::Cmp(Cmp::Le, k) => n <= k,
            Test::Cmp(Cmp::Lt, k) => n < k,
            Test::Cmp(Cmp::Eq, k) => n == k,
            Test::Cmp(Cmp::Ne, k) => n != k,
            Test::Between(lo, hi) => (lo..=hi).contains(&n),
        };
        match r {
            Rule::Views { test: t, within } => {
                let n = match within {
                    None => j.views,
                    Some(d) => {
                        let today = now.with_timezone(&kst()).date_naive();
                        j.views_by_day
                            .iter()
                            .filter(|(day, _)| {
                                NaiveDate::parse_from_str(day, "%Y%m%d")
                                    .map(|day| (0..i64::from(d.get())).contains(&(today - day).num_days()))
                                    .unwrap_or(false)
                            })
                            .map(|(_, n)| *n)
                            .sum()
                    }
                };
                test(t, n)
            }
            Rule::Count { metric, test: t } => test(
                t,
                match metric {
                    Metric::Clicks => j.clicks,
                    Metric::Shares => j.shares,
                    Metric::Brought => j.credited.visitors[0],
                    Metric::Claims => j.claims,
                    Metric::Issued => j.issued,
                    Metric::Redeemed => j.redeemed,
                },
            ),
            Rule::Flag(f) => match f {
                Flag::Sent => j.sent_at.is_some(),
                Flag::Delivered => j.delivered_at.is_some(),
                Flag::Failed => j.failed_at.is_some(),
                Flag::Clicked => j.clicks > 0,
                Flag::Viewed => j.views > 0,
                Flag::Engaged => j.engaged_at.is_some(),
                Flag::Bounced => j.views > 0 && j.engaged_at.is_none(),
                Flag::Form => j.form_at.is_some(),
                Flag::Consented => j.consent_at.is_some(),
                Flag::Claimed => j.claims > 0,
                Flag::Issued => j.issued > 0,
                Flag::Redeemed => j.redeemed > 0,
                Flag::Shared => j.shares > 0,
                Flag::ViaShare => j.referrer_id.is_some(),
                Flag::OptedOut => j.opted_out_at.is_some(),
                Flag::SurveyStarted => j.survey_started_at.is_some(),
                Flag::SurveyCompleted => j.survey_completed_at.is_some(),
            },
            Rule::InApp(a) => {
                let name = match a {
                    None => "none",
                    Some(InApp::Kakaotalk) => "kakaotalk",
                    Some(InApp::Naver) => "naver",
                    Some(InApp::Band) => "band",
                    Some(InApp::Line) => "line",
                    Some(InApp::Instagram) => "instagram",
                    Some(InApp::Facebook) => "facebook",
                    Some(InApp::Daum) => "daum",
                    Some(InApp::Everytime) => "everytime",
                };
                j.in_app.as_deref() == Some(name)
            }
            Rule::Variant(v) => j.variant.as_deref() == Some(v.as_str()),
            Rule::Since { moment, cmp, age } => {
                let at = match moment {
                    Moment::Sent => j.sent_at,
                    Moment::Delivered => j.delivered_at,
                    Moment::Failed => j.failed_at,
                    Moment::Clicked => j.first_click.as_ref().map(|s| s.at),
                    Moment::Viewed => j.first_view_at,
                    Moment::Engaged => j.engaged_at,
                    Moment::Form => j.form_at,
                    Moment::Consented => j.consent_at,
                    Moment::Claimed => j.claimed_at,
                    Moment::Issued => j.issued_at,
                    Moment::Redeemed => j.redeemed_at,
                    Moment::OptedOut => j.opted_out_at,
                    Moment::SurveyStarted => j.survey_started_at,
                    Moment::SurveyCompleted => j.survey_completed_at,
                    Moment::LastClick => j.last_click_at,
                    Moment::LastView => j.last_view_at,
                };
                let unit_ms: i64 = if age.unit == AgeUnit::Hours {
                    3_600_000
                } else {
                    86_400_000
                };
                let limit = i64::from(age.amount) * unit_ms;
                at.is_some_and(|at| {
                    let ms = (now - at).num_milliseconds();
                    match cmp {
                        Cmp::Ge => ms >= limit,
                        Cmp::Gt => ms > limit,
                        Cmp::Le => ms <= limit,
                        Cmp::Lt => ms < limit,
                        Cmp::Eq => ms == limit,
                        Cmp::Ne => ms != limit,
                    }
                })
            }
            Rule::Not(x) => !expected(x, j, now),
            Rule::And(a, b) => expected(a, j, now) && expected(b, j, now),
            Rule::Or(a, b) => expected(a, j, now) || expected(b, j, now),
        }
    }

    fn arb_test() -> impl Strategy<Value = Test> {
        prop_oneof![
            (prop::sample::select(Cmp::ALL), 0u32..8).prop_map(|(c, n)| Test::Cmp(c, n)),
            (0u32..6, 0u32..6).prop_map(|(a, b)| Test::Between(a.min(b), a.max(b))),
        ]
    }

    fn arb_rule() -> impl Strategy<Value = Rule> {
        let leaf = prop_oneof![
            (
                arb_test(),
                prop::option::of(prop::sample::select(vec![1u32, 2, 7, 14, 35]))
            )
                .prop_map(|(test, d)| Rule::Views {
                    test,
                    within: d.and_then(Days::new)
                }),
            (prop::sample::select(Metric::ALL), arb_test()).prop_map(|(metric, test)| Rule::Count { metric, test }),
            prop::sample::select(Flag::ALL).prop_map(Rule::Flag),
            prop::option::of(prop::sample::select(InApp::ALL.to_vec())).prop_map(Rule::InApp),
            prop::sample::select(vec!["A", "B", "b", "summer-26", "2"])
                .prop_map(|v| Rule::Variant(VariantName(v.to_owned()))),
            (
                prop::sample::select(Moment::ALL),
                prop::sample::select(vec![Cmp::Ge, Cmp::Gt, Cmp::Le, Cmp::Lt]),
                0u32..72,
                prop::sample::select(AgeUnit::ALL),
            )
                .prop_map(|(moment, cmp, amount, unit)| Rule::Since {
                    moment,
                    cmp,
                    age: Age { amount, unit }
                }),
        ];
        leaf.prop_recursive(5, 40, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|r| Rule::Not(Box::new(r))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Rule::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Rule::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    /// A moment up to 40 days before `now`, or none.
    fn arb_at() -> impl Strategy<Value = Option<i64>> {
        prop::option::of(0i64..40 * 24 * 60)
    }

    /// Journeys as the aggregator folds them: a step's time is set exactly when its count is
    /// above zero; daily views from up to 40 KST days back (and a few the window never sees).
    fn arb_journey() -> impl Strategy<Value = (Journey, DateTime<Utc>)> {
        let counts = (
            0u32..4,
            0u32..4,
            0u32..3,
            0u32..3,
            0u32..3,
            0u32..4,
            prop::collection::btree_map(0i64..40, 1u32..4, 0..8),
            0u32..3,
        );
        let moments = (
            arb_at(),
            arb_at(),
            arb_at(),
            arb_at(),
            arb_at(),
            arb_at(),
            arb_at(),
            arb_at(),
            arb_at(),
        );
        let names = (
            prop::sample::select(IN_APP_NAMES.to_vec()),
            prop::option::of(prop::sample::select(vec!["A", "B", "summer-26"])),
            any::<bool>(),
            0i64..3 * 24 * 60,
        );
        (counts, moments, names).prop_map(|(c, m, n)| {
            let (clicks, shares, claims, issued, redeemed, brought, by_day, old_views) = c;
            let (sent, delivered, failed, engaged, form, consent, opted_out, started, completed) = m;
            let (in_app, variant, via_share, minute) = n;
            let now = now() + Duration::minutes(minute);
            let at = |m: Option<i64>| m.map(|m| now - Duration::minutes(m));
            let today = now.with_timezone(&kst()).date_naive();
            let mut j = Journey::new(cid(), rid());
            j.views_by_day = by_day
                .iter()
                .map(|(back, n)| ((today - Duration::days(*back)).format("%Y%m%d").to_string(), *n))
                .collect::<BTreeMap<_, _>>();
            j.views = j.views_by_day.values().sum::<u32>() + old_views;
            let oldest_view = by_day.keys().next_back().copied().unwrap_or(50);
            j.first_view_at = (j.views > 0).then(|| now - Duration::days(oldest_view.max(1)));
            j.last_view_at = by_day
                .keys()
                .next()
                .map(|b| now - Duration::days(*b))
                .or(j.first_view_at);
            j.clicks = clicks;
            let first_click = now - Duration::hours(i64::from(clicks) * 11);
            j.first_click = (clicks > 0).then(|| Stamp {
                at: first_click,
                event: "e1".into(),
            });
            j.last_click_at = (clicks > 0).then(|| now - Duration::hours(3));
            j.in_app = (clicks > 0).then(|| in_app.to_owned());
            j.shares = shares;
            j.claims = claims;
            j.claimed_at = (claims > 0).then(|| now - Duration::hours(30));
            j.issued = issued;
            j.issued_at = (issued > 0).then(|| now - Duration::hours(29));
            j.redeemed = redeemed;
            j.redeemed_at = (redeemed > 0).then(|| now - Duration::hours(2));
            j.credited = Credited {
                visitors: [brought, 1, 2],
                ..Credited::default()
            };
            j.sent_at = at(sent);
            j.delivered_at = at(delivered);
            j.failed_at = at(failed);
            j.engaged_at = at(engaged);
            j.form_at = at(form);
            j.consent_at = at(consent);
            j.opted_out_at = at(opted_out);
            j.survey_started_at = at(started);
            j.survey_completed_at = at(completed);
            j.variant = variant.map(str::to_owned);
            j.referrer_id = via_share.then(rid);
            (j, now)
        })
    }

    /// Words and symbols of the grammar, and some that are not, to get deep into the parser.
    fn arb_soup() -> impl Strategy<Value = String> {
        let mut words = vocabulary();
        words.extend([
            "(",
            ")",
            ">=",
            ">",
            "<=",
            "<",
            "=",
            "==",
            "!=",
            "!",
            "&",
            "3",
            "0",
            "7d",
            "40d",
            "24h",
            "9999999999",
            "kakaotalk",
            "none",
            "B",
            "-",
            "조회",
            "in_app",
            "variant",
            "views",
            "between",
            "within",
            "ever",
        ]);
        prop::collection::vec(prop::sample::select(words), 0..30).prop_map(|w| w.join(" "))
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errs_without_panicking(s in any::<String>()) {
            if let Err(e) = parse(&s) {
                prop_assert!(e.at >= 1 && e.at <= s.chars().count().max(MAX_RULE_CHARS) + 1);
            }
        }

        /// Whatever parses prints in a form that parses to the same rule.
        #[test]
        fn grammar_soup_never_panics_and_what_parses_prints_back(s in arb_soup()) {
            match parse(&s) {
                Ok(r) => prop_assert_eq!(parse(&r.to_string()), Ok(r.clone()), "{} → {}", s, r),
                Err(e) => prop_assert!(e.at >= 1 && e.at <= s.chars().count() + 1, "{}: {}", s, e),
            }
        }

        #[test]
        fn a_rule_prints_and_parses_back_to_itself(r in arb_rule()) {
            let text = r.to_string();
            prop_assert_eq!(parse(&text), Ok(r.clone()), "{}", text);
        }

        #[test]
        fn matches_agrees_with_a_straightforward_reading(r in arb_rule(), (j, now) in arb_journey()) {
            prop_assert_eq!(r.matches(&j, now), expected(&r, &j, now), "{}", r);
        }
    }
}
