//! The M-Survey page (and the MCS store rating): one screen per question on a phone, with a
//! progress bar. Every screen is a plain form post that answers and moves on, so it works
//! with JavaScript off; a small inline script posts in the background and swaps the page, and
//! submits single-tap questions (choice, stars, NPS) as soon as they are tapped.

use maud::{Markup, PreEscaped, html};
use mcamp_core::campaign::{Block, Campaign};
use mcamp_core::survey::{Answer, Media, Question, QuestionType, RatingStyle, SurveyDef};

use super::mdm::{block, image, readable_accent};

/// The reward coupon as the thank-you screen shows it.
pub enum Reward {
    Pending {
        refresh: String,
    },
    Issued {
        code: String,
        qr_svg: String,
    },
    SoldOut,
    /// Claimable on the M-DM page once the person leaves their contact (MCS).
    NeedsContact,
    /// Not given, with the reason in Korean.
    Blocked(String),
}

pub enum Screen<'a> {
    Intro,
    Demographics {
        error: Option<&'a str>,
    },
    Question {
        index: usize,
        /// Values to show selected or typed: the stored answer, or what was just posted.
        values: Vec<String>,
        error: Option<String>,
        /// The question before it on the path.
        back: Option<&'a str>,
    },
    Thanks {
        already: bool,
        reward: Option<Reward>,
    },
}

pub struct SurveyView<'a> {
    pub campaign: &'a Campaign,
    pub survey: &'a SurveyDef,
    pub code: &'a str,
    pub token: &'a str,
    pub rev: u64,
    /// MCS: the store being rated.
    pub store_name: Option<&'a str>,
    pub screen: Screen<'a>,
}

const CSS: &str = concat!(
    ".top{display:flex;justify-content:space-between;align-items:center;padding:12px 20px;font-weight:700;border-bottom:1px solid var(--line)}",
    ".bar{height:6px;background:var(--line)}.bar i{display:block;height:6px;background:var(--accent)}",
    ".step{font-size:13px;color:var(--muted);padding:12px 20px 0}",
    "fieldset{border:0;margin:0;padding:0}legend{font-size:20px;font-weight:700;line-height:1.4;padding:0;margin:0 0 6px}",
    ".opts{display:grid;gap:10px;margin:16px 0}.opt{display:flex;gap:12px;align-items:center;border:1px solid var(--line);border-radius:12px;padding:14px;font-size:16px}",
    ".opt input{width:22px;height:22px;margin:0;flex:none;accent-color:var(--accent)}",
    ".pics{grid-template-columns:1fr 1fr}.pics .opt{flex-direction:column;align-items:stretch;padding:8px}.pics img{border-radius:8px}",
    ".scale{display:flex;gap:6px;margin:16px 0 6px}.scale label{flex:1;text-align:center}.scale input{position:absolute;opacity:0}",
    ".scale span{display:block;border:1px solid var(--line);border-radius:10px;padding:10px 0;font-size:18px}",
    ".scale input:checked+span{background:var(--accent);color:#fff;border-color:var(--accent)}.scale input:focus-visible+span{outline:2px solid var(--ink)}",
    ".nps{display:grid;grid-template-columns:repeat(6,1fr);gap:6px;margin:16px 0 6px}.nps label{text-align:center}.nps input{position:absolute;opacity:0}",
    ".nps span{display:block;border:1px solid var(--line);border-radius:10px;padding:10px 0;font-size:17px}",
    ".nps input:checked+span{background:var(--accent);color:#fff}.nps input:focus-visible+span{outline:2px solid var(--ink)}",
    ".ends{display:flex;justify-content:space-between;font-size:13px;color:var(--muted)}",
    "textarea,input[type=text]{width:100%;font:16px/1.5 inherit;padding:12px;border:1px solid var(--line);border-radius:10px;margin:16px 0 4px}",
    "select{width:100%;font-size:16px;padding:12px;border:1px solid var(--line);border-radius:10px;background:#fff;margin:4px 0 12px}",
    ".err{color:#c62828;font-size:15px;margin:8px 0}.nav{display:flex;gap:8px;margin-top:16px}.nav>*{flex:1}",
    ".media{margin:0 0 12px}.media .vid{margin:0}.cpn{border:2px dashed var(--accent);border-radius:16px;padding:18px;margin:16px 0;text-align:center}",
    ".code{font:700 22px ui-monospace,Menlo,monospace;letter-spacing:2px;margin:10px 0}.qr{width:160px;height:160px;margin:8px auto}.qr svg{width:100%;height:100%}",
    ".vid{position:relative;padding-top:56.25%}.vid>*{position:absolute;inset:0;width:100%;height:100%;border:0;border-radius:12px}",
);

/// Posts forms in the background and swaps the page; taps on single-choice scales submit.
/// Listeners sit on `document`, which survives the swap, so the swapped-in copy of this
/// script (inert under `innerHTML`) never binds twice. A swapped-in meta refresh is inert
/// too, so the script follows it itself.
pub(crate) const SCRIPT: &str = r#"(function(){var d=document;
d.addEventListener('change',function(e){var i=e.target;if(i.type==='radio'&&i.form&&i.form.dataset.auto){i.form.requestSubmit?i.form.requestSubmit():i.form.submit()}});
d.addEventListener('submit',function(e){var f=e.target;if(!window.fetch||!window.FormData)return;e.preventDefault();var b=new FormData(f),s=e.submitter;if(s&&s.name)b.append(s.name,s.value);
d.body.style.opacity='.6';fetch(f.action,{method:'POST',body:new URLSearchParams(b)}).then(function(r){return r.text().then(function(t){history.replaceState(null,'',r.url);d.documentElement.innerHTML=t;scrollTo(0,0);
var m=d.querySelector('meta[http-equiv=refresh]');if(m){setTimeout(function(){location.href=m.content.split('url=')[1]},2000)}})}).catch(function(){f.submit()})});
})();"#;

fn progress(v: &SurveyView<'_>, index: usize) -> Markup {
    let total = v.survey.questions.len().max(1);
    let pct = (index * 100 / total).min(100);
    html! {
        div.bar role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=(pct) aria-label="진행률" { i style=(format!("width:{pct}%")) {} }
        div.step { (index + 1) " / " (total) }
    }
}

fn media(m: &Media) -> Markup {
    html! {
        div.media {
            @match m {
                Media::Image { image: img } => { (image(img, true)) }
                Media::Video { mp4, youtube_id, poster } => {
                    (block(&Block::Video { mp4: mp4.clone(), youtube_id: youtube_id.clone(), poster: poster.clone() }, false, 0))
                }
            }
        }
    }
}

const FACES: [&str; 5] = ["😞", "🙁", "😐", "🙂", "😄"];

fn inputs(q: &Question, values: &[String]) -> Markup {
    let on = |v: &str| values.iter().any(|x| x == v);
    match q.kind {
        QuestionType::Single | QuestionType::Multiple => {
            let kind = if q.allows_several() { "checkbox" } else { "radio" };
            html! {
                div.opts {
                    @for o in &q.options {
                        label.opt { input type=(kind) name="v" value=(o.id) checked[on(&o.id)]; span { (o.label) } }
                    }
                }
            }
        }
        QuestionType::Picture => {
            let kind = if q.allows_several() { "checkbox" } else { "radio" };
            html! {
                div.opts.pics {
                    @for o in &q.options {
                        label.opt {
                            @if let Some(img) = &o.image { (image(img, false)) }
                            span { input type=(kind) name="v" value=(o.id) checked[on(&o.id)]; " " (o.label) }
                        }
                    }
                }
            }
        }
        QuestionType::Rating => html! {
            div.scale {
                @for v in 1..=5u8 {
                    @let s = v.to_string();
                    label {
                        input type="radio" name="v" value=(s) checked[on(&s)] aria-label=(format!("{v}점"));
                        span aria-hidden="true" {
                            @match q.style {
                                RatingStyle::Stars => { (PreEscaped("&#9733;")) small { (v) } }
                                RatingStyle::Faces => { (FACES[usize::from(v - 1)]) }
                            }
                        }
                    }
                }
            }
            div.ends { span { (q.low_label.as_deref().unwrap_or("매우 불만족")) } span { (q.high_label.as_deref().unwrap_or("매우 만족")) } }
        },
        QuestionType::Nps => html! {
            div.nps {
                @for v in 0..=10u8 {
                    @let s = v.to_string();
                    label { input type="radio" name="v" value=(s) checked[on(&s)] aria-label=(format!("{v}점")); span aria-hidden="true" { (v) } }
                }
            }
            div.ends { span { "0 " (q.low_label.as_deref().unwrap_or("전혀 아니다")) } span { "10 " (q.high_label.as_deref().unwrap_or("매우 그렇다")) } }
        },
        QuestionType::ShortText => html! {
            input type="text" name="v" maxlength=[q.text_cap()] value=(values.first().map_or("", String::as_str)) aria-label=(q.title);
        },
        QuestionType::LongText => html! {
            textarea name="v" rows="5" maxlength=[q.text_cap()] aria-label=(q.title) { (values.first().map_or("", String::as_str)) }
        },
    }
}

fn question(v: &SurveyView<'_>, index: usize, values: &[String], error: Option<&str>, back: Option<&str>) -> Markup {
    let Some(q) = v.survey.questions.get(index) else {
        return html! {};
    };
    let last = index + 1 == v.survey.questions.len();
    // One tap answers: a single choice or a scale submits itself (with the script on).
    let auto = matches!(q.kind, QuestionType::Single | QuestionType::Rating | QuestionType::Nps)
        || (q.kind == QuestionType::Picture && !q.multiple);
    html! {
        (progress(v, index))
        div.pad {
            form method="post" action=(format!("/s/{}", v.code)) data-auto=[auto.then_some("1")] {
                input type="hidden" name="token" value=(v.token);
                input type="hidden" name="rev" value=(v.rev);
                input type="hidden" name="q" value=(q.id);
                fieldset {
                    legend { (q.title) @if !q.required { " " span.muted { "(선택)" } } }
                    @if let Some(h) = &q.help { p.muted { (h) } }
                    @if let Some(m) = &q.media { (media(m)) }
                    @if let Some(e) = error { p.err role="alert" { (e) } }
                    (inputs(q, values))
                }
                div.nav {
                    @if let Some(b) = back { a.btn.ghost href=(format!("/s/{}?q={b}", v.code)) { "이전" } }
                    @if !q.required { button.btn.ghost type="submit" name="skip" value="1" { "건너뛰기" } }
                    button.btn type="submit" { @if last { "제출" } @else { "다음" } }
                }
            }
        }
    }
}

fn demographics(v: &SurveyView<'_>, error: Option<&str>) -> Markup {
    html! {
        div.pad {
            form method="post" action=(format!("/s/{}", v.code)) {
                input type="hidden" name="token" value=(v.token);
                input type="hidden" name="rev" value=(v.rev);
                input type="hidden" name="q" value="_demo";
                h1 { "시작하기 전에" }
                p.muted { "결과를 성별·연령대별로 살펴보는 데만 써요. 답하지 않아도 괜찮아요." }
                @if let Some(e) = error { p.err role="alert" { (e) } }
                label for="d-g" { "성별" }
                select #d-g name="gender" { option value="" { "응답 안 함" } option value="female" { "여성" } option value="male" { "남성" } option value="other" { "기타" } }
                label for="d-a" { "연령대" }
                select #d-a name="age_band" {
                    option value="" { "응답 안 함" }
                    @for (v, l) in [("10s", "10대"), ("20s", "20대"), ("30s", "30대"), ("40s", "40대"), ("50s", "50대"), ("60+", "60대 이상")] {
                        option value=(v) { (l) }
                    }
                }
                button.btn type="submit" { "다음" }
            }
        }
    }
}

fn thanks(v: &SurveyView<'_>, already: bool, reward: Option<&Reward>) -> Markup {
    let s = &v.survey.thanks;
    html! {
        div.pad {
            @if let Some(img) = &s.image { (image(img, true)) }
            h1 { @if already { "이미 참여하셨어요" } @else { (s.title) } }
            @if already { p { (s.title) } }
            @if let Some(b) = &s.body { p { (b) } }
            @if let Some(r) = reward {
                div.cpn #coupon {
                    @match r {
                        Reward::Pending { .. } => { p { "감사 쿠폰을 발급하고 있어요…" } a.btn.ghost href=(format!("/s/{}", v.code)) { "새로고침" } }
                        Reward::Issued { code, qr_svg } => {
                            p { "감사 쿠폰이 발급되었어요" }
                            div.code { (code) }
                            div.qr { (PreEscaped(qr_svg)) }
                            a.btn href=(format!("/p/{}#coupon", v.code)) { "쿠폰함에서 보기" }
                        }
                        Reward::SoldOut => { p { "아쉽게도 감사 쿠폰이 모두 소진되었어요." } }
                        Reward::NeedsContact => {
                            p { "연락처를 남기면 감사 쿠폰을 보내 드려요." }
                            a.btn href=(format!("/p/{}#coupon", v.code)) { "연락처 남기고 쿠폰 받기" }
                        }
                        Reward::Blocked(why) => { p { (why) } }
                    }
                }
            }
        }
    }
}

pub fn render(v: &SurveyView<'_>) -> Markup {
    let c = v.campaign;
    let accent = readable_accent(c.page.accent.as_deref().unwrap_or("#ff5a00"));
    let refresh = match &v.screen {
        Screen::Thanks {
            reward: Some(Reward::Pending { refresh }),
            ..
        } => Some(refresh.clone()),
        _ => None,
    };
    let head = html! {
        meta name="robots" content="noindex";
        meta name="theme-color" content=(&accent);
        style { (PreEscaped(CSS)) ":root{--accent:" (accent) "}" }
        @if let Some(url) = &refresh { meta http-equiv="refresh" content=(format!("2;url={url}")); }
    };
    let intro = &v.survey.intro;
    let body = html! {
        main {
            div.top { span { (c.sender.brand) } @if let Some(s) = v.store_name { span.muted { (s) } } }
            @match &v.screen {
                Screen::Intro => {
                    @if let Some(img) = &intro.image { (image(img, true)) }
                    div.pad {
                        h1 { (intro.title) }
                        @if let Some(b) = &intro.body { p { (b) } }
                        p.muted { (v.survey.questions.len()) "문항 · 약 1분" }
                        a.btn href=(format!("/s/{}?start=1", v.code)) { "시작하기" }
                    }
                }
                Screen::Demographics { error } => { (demographics(v, *error)) }
                Screen::Question { index, values, error, back } => { (question(v, *index, values, error.as_deref(), *back)) }
                Screen::Thanks { already, reward } => { (thanks(v, *already, reward.as_ref())) }
            }
            footer {
                p { "(광고) " (c.sender.brand) @if let Some(ct) = &c.sender.contact { " · " (ct) } }
                p { "무료 수신거부 " (c.sender.opt_out_080) " · " a href=(format!("/p/{}/optout", v.code)) { "수신거부" } }
            }
        }
    };
    let title = match &v.screen {
        Screen::Question { index, .. } => v
            .survey
            .questions
            .get(*index)
            .map_or_else(|| intro.title.clone(), |q| q.title.clone()),
        _ => intro.title.clone(),
    };
    super::layout(&title, head, html! { (body) script { (PreEscaped(SCRIPT)) } })
}

/// The values a stored answer shows as selected or typed.
pub fn answer_values(a: Option<&Answer>) -> Vec<String> {
    match a {
        Some(Answer::Scale(v)) => vec![v.to_string()],
        Some(Answer::Choices(c)) => c.clone(),
        Some(Answer::Text(t)) => vec![t.clone()],
        None => Vec::new(),
    }
}
