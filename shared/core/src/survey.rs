//! M-Survey definitions (the `survey:` section of a campaign file), answers parsed from what a
//! respondent posts, and the path through a survey with its branching.
//!
//! A survey is a list of questions. Each question goes to the next one unless a branch rule
//! sends it elsewhere; branches only jump forward, so every path ends.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::campaign::Image;
use crate::values::{CouponId, ParseError};

/// Longest short text, in characters, when the question sets no cap.
pub const SHORT_TEXT_MAX: usize = 100;
/// Longest long text, in characters, when the question sets no cap.
pub const LONG_TEXT_MAX: usize = 1000;
/// Largest `max_len` a text question may set: Korean text is 9 bytes a character once
/// form-encoded, and the page takes posts up to 16 KB.
pub const MAX_TEXT_CAP: usize = 1500;
/// Most questions one survey may have (keeps the completing save's ADD expression, one term
/// per answered question and chosen value, well under DynamoDB's 4 KB).
pub const MAX_QUESTIONS: usize = 40;
/// Most options one question may have.
pub const MAX_OPTIONS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyDef {
    pub intro: Screen,
    pub questions: Vec<Question>,
    pub thanks: Screen,
    /// Ask gender and age band first when the recipient record lacks them (default true).
    #[serde(default = "yes")]
    pub ask_demographics: bool,
    /// A coupon of this campaign claimed for the respondent on completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<CouponId>,
}

fn yes() -> bool {
    true
}

/// The intro or thank-you screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Screen {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    Single,
    Multiple,
    /// Images as options; `multiple: true` allows several.
    Picture,
    /// 1 to 5.
    Rating,
    /// 0 to 10: how likely to recommend.
    Nps,
    ShortText,
    LongText,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingStyle {
    #[default]
    Stars,
    Faces,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// `[a-z0-9_-]`, 1..=32; names the question in answers, events and reports.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    /// single, multiple, picture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// picture: several may be chosen.
    #[serde(default)]
    pub multiple: bool,
    /// multiple: most options one may choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_choices: Option<usize>,
    /// rating.
    #[serde(default)]
    pub style: RatingStyle,
    /// short_text, long_text: cap in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
    /// Labels of the ends of a rating or NPS scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_label: Option<String>,
    /// First matching rule wins; otherwise `next`, otherwise the following question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branch: Vec<Branch>,
    /// A question id or `end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A picture or video shown with a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Media {
    Image {
        image: Image,
    },
    Video {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mp4: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        youtube_id: Option<String>,
        poster: Image,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// `[a-z0-9_-]`, 1..=32; what is stored and counted.
    pub id: String,
    pub label: String,
    /// picture questions: the option's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

/// `when` an answer matches, go to `goto` (a later question id, or `end`).
///
/// `when` is an option id (choice questions: any chosen option matching), a value (`5`) or an
/// inclusive range (`0-6`) for rating and NPS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    pub when: String,
    pub goto: String,
}

/// One answer, as stored: option ids, a scale value, or text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Scale(u8),
    Choices(Vec<String>),
    Text(String),
}

impl Answer {
    /// The values this answer counts under in the report: each chosen option, or the scale
    /// value; nothing for text (only its presence is counted).
    pub fn counted_values(&self) -> Vec<String> {
        match self {
            Answer::Scale(v) => vec![v.to_string()],
            Answer::Choices(c) => c.clone(),
            Answer::Text(_) => Vec::new(),
        }
    }
}

/// Why a posted answer was refused, in Korean for the page (the API adds the question id).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("답변이 필요한 질문이에요.")]
    Required,
    #[error("보기에 없는 답이에요.")]
    UnknownOption,
    #[error("하나만 고를 수 있어요.")]
    OnlyOne,
    #[error("최대 {0}개까지 고를 수 있어요.")]
    TooMany(usize),
    #[error("{0}부터 {1}까지 중에서 골라 주세요.")]
    OutOfRange(u8, u8),
    #[error("{0}자 이내로 적어 주세요.")]
    TooLong(usize),
    #[error("보이지 않는 문자나 제어 문자는 쓸 수 없어요.")]
    Invisible,
}

/// Where a survey goes after a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Question(usize),
    End,
}

pub const END: &str = "end";

fn is_id(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `5` or `0-6` as an inclusive range.
fn scale_range(when: &str) -> Option<(u8, u8)> {
    match when.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => when.trim().parse().ok().map(|v| (v, v)),
    }
}

impl Question {
    /// The inclusive scale of a rating or NPS question.
    pub fn scale(&self) -> Option<(u8, u8)> {
        match self.kind {
            QuestionType::Rating => Some((1, 5)),
            QuestionType::Nps => Some((0, 10)),
            _ => None,
        }
    }

    pub fn is_choice(&self) -> bool {
        matches!(
            self.kind,
            QuestionType::Single | QuestionType::Multiple | QuestionType::Picture
        )
    }

    pub fn allows_several(&self) -> bool {
        self.kind == QuestionType::Multiple || (self.kind == QuestionType::Picture && self.multiple)
    }

    pub fn text_cap(&self) -> Option<usize> {
        match self.kind {
            QuestionType::ShortText => Some(self.max_len.unwrap_or(SHORT_TEXT_MAX)),
            QuestionType::LongText => Some(self.max_len.unwrap_or(LONG_TEXT_MAX)),
            _ => None,
        }
    }

    pub fn option(&self, id: &str) -> Option<&Choice> {
        self.options.iter().find(|o| o.id == id)
    }

    /// Parses the values posted for this question (`v`, repeated for several choices).
    /// `Ok(None)` is a skipped optional question.
    pub fn parse_answer(&self, values: &[&str]) -> Result<Option<Answer>, AnswerError> {
        let values: Vec<&str> = values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
        if values.is_empty() {
            return if self.required {
                Err(AnswerError::Required)
            } else {
                Ok(None)
            };
        }
        if let Some((lo, hi)) = self.scale() {
            let [one] = values.as_slice() else {
                return Err(AnswerError::OnlyOne);
            };
            return match one.parse::<u8>() {
                Ok(v) if (lo..=hi).contains(&v) => Ok(Some(Answer::Scale(v))),
                _ => Err(AnswerError::OutOfRange(lo, hi)),
            };
        }
        if let Some(cap) = self.text_cap() {
            let [one] = values.as_slice() else {
                return Err(AnswerError::OnlyOne);
            };
            // Line endings as one character, the way a person counts them.
            let text = one.replace("\r\n", "\n");
            if text.chars().count() > cap {
                return Err(AnswerError::TooLong(cap));
            }
            if !crate::values::visible_text(&text, self.kind == QuestionType::LongText) {
                return Err(AnswerError::Invisible);
            }
            return Ok(Some(Answer::Text(text)));
        }
        let mut chosen: Vec<String> = Vec::new();
        for v in &values {
            if self.option(v).is_none() {
                return Err(AnswerError::UnknownOption);
            }
            if !chosen.iter().any(|c| c == v) {
                chosen.push((*v).to_owned());
            }
        }
        if !self.allows_several() && chosen.len() > 1 {
            return Err(AnswerError::OnlyOne);
        }
        if let Some(max) = self.max_choices
            && chosen.len() > max
        {
            return Err(AnswerError::TooMany(max));
        }
        // Stored in the order of the options, so equal answers compare equal.
        chosen.sort_by_key(|c| self.options.iter().position(|o| &o.id == c));
        Ok(Some(Answer::Choices(chosen)))
    }

    /// Whether a stored answer still fits this question (a campaign edited after answers came
    /// in may have dropped an option).
    pub fn accepts(&self, a: &Answer) -> bool {
        match a {
            Answer::Scale(v) => self.scale().is_some_and(|(lo, hi)| (lo..=hi).contains(v)),
            Answer::Choices(c) => self.is_choice() && c.iter().all(|id| self.option(id).is_some()),
            Answer::Text(t) => self.text_cap().is_some_and(|cap| t.chars().count() <= cap),
        }
    }

    fn branch_matches(&self, b: &Branch, a: &Answer) -> bool {
        match a {
            Answer::Scale(v) => scale_range(&b.when).is_some_and(|(lo, hi)| (lo..=hi).contains(v)),
            Answer::Choices(c) => c.iter().any(|id| id == &b.when),
            Answer::Text(_) => false,
        }
    }
}

impl SurveyDef {
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.questions.iter().position(|q| q.id == id)
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    fn target(&self, goto: &str) -> Option<Next> {
        if goto == END {
            Some(Next::End)
        } else {
            self.index_of(goto).map(Next::Question)
        }
    }

    /// Where the survey goes after question `i` answered with `a` (`None`: skipped).
    pub fn next_after(&self, i: usize, a: Option<&Answer>) -> Next {
        let Some(q) = self.questions.get(i) else {
            return Next::End;
        };
        if let Some(a) = a
            && let Some(b) = q.branch.iter().find(|b| q.branch_matches(b, a))
            && let Some(n) = self.target(&b.goto)
        {
            return n;
        }
        if let Some(n) = q.next.as_deref().and_then(|g| self.target(g)) {
            return n;
        }
        if i + 1 < self.questions.len() {
            Next::Question(i + 1)
        } else {
            Next::End
        }
    }

    /// The questions on the respondent's path so far, in order, and where they stand: the first
    /// question without an answer, or `End` when the path is complete. A skipped optional
    /// question is stored as `None` and counts as answered.
    pub fn walk(&self, answers: &BTreeMap<String, Option<Answer>>) -> (Vec<usize>, Next) {
        let mut path = Vec::new();
        let mut at = if self.questions.is_empty() {
            Next::End
        } else {
            Next::Question(0)
        };
        while let Next::Question(i) = at {
            let Some(a) = answers.get(&self.questions[i].id) else {
                break;
            };
            path.push(i);
            at = self.next_after(i, a.as_ref());
            // Branches only jump forward (checked), so this ends; guard against a bad definition.
            if path.len() > self.questions.len() {
                return (path, Next::End);
            }
        }
        (path, at)
    }

    /// The first NPS question: the loyalty question of an MCS campaign.
    pub fn loyalty_question(&self) -> Option<&Question> {
        self.questions.iter().find(|q| q.kind == QuestionType::Nps)
    }

    /// Checks what types cannot. Errors name the question.
    pub fn check(&self) -> Result<(), ParseError> {
        let bad = |why: String| Err(ParseError::new("survey", why));
        if self.questions.is_empty() {
            return bad("needs at least one question".into());
        }
        if self.questions.len() > MAX_QUESTIONS {
            return bad(format!("has more than {MAX_QUESTIONS} questions"));
        }
        let mut ids = HashSet::new();
        for q in &self.questions {
            if !is_id(&q.id) || q.id == END {
                return bad(format!(
                    "question id '{}' must be 1-32 of a-z 0-9 _ - and not 'end'",
                    q.id
                ));
            }
            if !ids.insert(q.id.as_str()) {
                return bad(format!("question id '{}' is used twice", q.id));
            }
            if q.title.trim().is_empty() {
                return bad(format!("question '{}': title must not be empty", q.id));
            }
            match &q.media {
                Some(Media::Image { image }) => {
                    crate::campaign::check_image("survey.questions.media.image.src", image)?
                }
                Some(Media::Video { mp4, poster, .. }) => {
                    crate::campaign::check_image("survey.questions.media.poster.src", poster)?;
                    if let Some(u) = mp4 {
                        crate::campaign::check_link("survey.questions.media.mp4", u, false)?;
                    }
                }
                None => {}
            }
            for o in &q.options {
                if let Some(img) = &o.image {
                    crate::campaign::check_image("survey.questions.options.image.src", img)?;
                }
            }
        }
        for (i, q) in self.questions.iter().enumerate() {
            let name = &q.id;
            if q.is_choice() {
                if q.options.len() < 2 || q.options.len() > MAX_OPTIONS {
                    return bad(format!("question '{name}': needs 2 to {MAX_OPTIONS} options"));
                }
                let mut seen = HashSet::new();
                for o in &q.options {
                    if !is_id(&o.id) || !seen.insert(o.id.as_str()) {
                        return bad(format!(
                            "question '{name}': option id '{}' must be unique, 1-32 of a-z 0-9 _ -",
                            o.id
                        ));
                    }
                    if q.kind == QuestionType::Picture && o.image.is_none() {
                        return bad(format!("question '{name}': picture option '{}' needs an image", o.id));
                    }
                }
            } else if !q.options.is_empty() {
                return bad(format!("question '{name}': only choice questions have options"));
            }
            if q.max_choices.is_some() && !q.allows_several() {
                return bad(format!("question '{name}': max_choices is for multiple choice"));
            }
            if q.max_choices == Some(0) {
                return bad(format!("question '{name}': max_choices must be at least 1"));
            }
            if q.max_len.is_some() && q.text_cap().is_none() {
                return bad(format!("question '{name}': max_len is for text questions"));
            }
            if q.max_len.is_some_and(|m| m == 0 || m > MAX_TEXT_CAP) {
                return bad(format!("question '{name}': max_len must be 1 to {MAX_TEXT_CAP}"));
            }
            let forward = |goto: &str| goto == END || self.index_of(goto).is_some_and(|j| j > i);
            for b in &q.branch {
                if !forward(&b.goto) {
                    return bad(format!(
                        "question '{name}': branch goto '{}' must be a later question or 'end'",
                        b.goto
                    ));
                }
                let ok = match q.scale() {
                    Some((lo, hi)) => scale_range(&b.when).is_some_and(|(a, z)| a <= z && a >= lo && z <= hi),
                    None => q.is_choice() && q.option(&b.when).is_some(),
                };
                if !ok {
                    return bad(format!(
                        "question '{name}': branch when '{}' must be one of its options (or a value/range on its scale)",
                        b.when
                    ));
                }
            }
            if let Some(n) = &q.next
                && !forward(n)
            {
                return bad(format!(
                    "question '{name}': next '{n}' must be a later question or 'end'"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn survey() -> SurveyDef {
        let j = serde_json::json!({
            "intro": {"title": "설문"}, "thanks": {"title": "감사합니다"},
            "questions": [
                {"id": "visit", "type": "single", "title": "방문?", "options": [{"id": "yes", "label": "예"}, {"id": "no", "label": "아니오"}],
                 "branch": [{"when": "no", "goto": "nps"}]},
                {"id": "taste", "type": "rating", "title": "맛은?"},
                {"id": "menu", "type": "multiple", "title": "메뉴", "max_choices": 2,
                 "options": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}, {"id": "c", "label": "C"}]},
                {"id": "nps", "type": "nps", "title": "추천?", "branch": [{"when": "9-10", "goto": "end"}]},
                {"id": "why", "type": "long_text", "title": "이유", "required": false, "max_len": 10}
            ]
        });
        serde_json::from_value(j).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_test_survey_is_valid() {
        assert_eq!(survey().check(), Ok(()));
    }

    #[test]
    fn answers_are_checked_against_the_question() {
        let s = survey();
        let q = |id: &str| s.question(id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(q("visit").parse_answer(&[]), Err(AnswerError::Required));
        assert_eq!(q("visit").parse_answer(&["maybe"]), Err(AnswerError::UnknownOption));
        assert_eq!(q("visit").parse_answer(&["yes", "no"]), Err(AnswerError::OnlyOne));
        assert_eq!(
            q("visit").parse_answer(&[" yes "]),
            Ok(Some(Answer::Choices(vec!["yes".into()])))
        );
        assert_eq!(q("taste").parse_answer(&["6"]), Err(AnswerError::OutOfRange(1, 5)));
        assert_eq!(q("taste").parse_answer(&["0"]), Err(AnswerError::OutOfRange(1, 5)));
        assert_eq!(q("taste").parse_answer(&["5"]), Ok(Some(Answer::Scale(5))));
        assert_eq!(q("nps").parse_answer(&["0"]), Ok(Some(Answer::Scale(0))));
        assert_eq!(q("nps").parse_answer(&["11"]), Err(AnswerError::OutOfRange(0, 10)));
        assert_eq!(q("menu").parse_answer(&["a", "b", "c"]), Err(AnswerError::TooMany(2)));
        assert_eq!(
            q("menu").parse_answer(&["c", "a", "c"]),
            Ok(Some(Answer::Choices(vec!["a".into(), "c".into()])))
        );
        assert_eq!(q("why").parse_answer(&[""]), Ok(None));
        assert_eq!(
            q("why").parse_answer(&["가나다라마바사아자차카"]),
            Err(AnswerError::TooLong(10))
        );
        assert_eq!(
            q("why").parse_answer(&["가\r\n나"]),
            Ok(Some(Answer::Text("가\n나".into())))
        );
        assert_eq!(q("why").parse_answer(&["가\u{200B}나"]), Err(AnswerError::Invisible));
        assert_eq!(q("why").parse_answer(&["\u{202E}나가"]), Err(AnswerError::Invisible));
    }

    #[test]
    fn branching_skips_forward_and_walk_finds_the_current_question() {
        let s = survey();
        let mut answers = BTreeMap::new();
        assert_eq!(s.walk(&answers), (vec![], Next::Question(0)));
        answers.insert("visit".to_owned(), Some(Answer::Choices(vec!["no".into()])));
        assert_eq!(s.walk(&answers), (vec![0], Next::Question(3)));
        answers.insert("nps".to_owned(), Some(Answer::Scale(10)));
        assert_eq!(s.walk(&answers), (vec![0, 3], Next::End));
        answers.insert("nps".to_owned(), Some(Answer::Scale(3)));
        assert_eq!(s.walk(&answers), (vec![0, 3], Next::Question(4)));
        answers.insert("why".to_owned(), None);
        assert_eq!(s.walk(&answers), (vec![0, 3, 4], Next::End));
        // Changing the first answer re-routes through the skipped questions.
        answers.insert("visit".to_owned(), Some(Answer::Choices(vec!["yes".into()])));
        assert_eq!(s.walk(&answers), (vec![0], Next::Question(1)));
    }

    #[test]
    fn bad_definitions_are_refused_with_the_question_named() {
        let mut s = survey();
        s.questions[3].branch[0].goto = "visit".into();
        assert!(
            s.check()
                .is_err_and(|e| e.reason.contains("'nps'") && e.reason.contains("later"))
        );
        let mut s = survey();
        s.questions[1].id = "visit".into();
        assert!(s.check().is_err_and(|e| e.reason.contains("twice")));
        let mut s = survey();
        s.questions[3].branch[0].when = "9-11".into();
        assert!(s.check().is_err());
        let mut s = survey();
        s.questions[0].branch[0].when = "nope".into();
        assert!(s.check().is_err());
        let mut s = survey();
        s.questions[0].options.pop();
        assert!(s.check().is_err_and(|e| e.reason.contains("2 to")));
    }

    proptest! {
        #[test]
        fn parse_answer_never_panics_and_what_it_accepts_fits(values in proptest::collection::vec(".{0,12}", 0..4), which in 0usize..5) {
            let s = survey();
            let q = &s.questions[which];
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            if let Ok(Some(a)) = q.parse_answer(&refs) {
                prop_assert!(q.accepts(&a));
            }
        }

        #[test]
        fn every_walk_ends(answers in proptest::collection::btree_map("(visit|taste|menu|nps|why)", 0u8..11, 0..5)) {
            let s = survey();
            let stored: BTreeMap<String, Option<Answer>> =
                answers.into_iter().map(|(k, v)| (k, Some(Answer::Scale(v)))).collect();
            let (path, _) = s.walk(&stored);
            prop_assert!(path.len() <= s.questions.len());
            prop_assert!(path.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
