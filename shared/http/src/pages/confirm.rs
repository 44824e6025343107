//! The consent confirmation page (`/c/{code}`): the link a customer gets by text after giving
//! marketing consent on a form for a number the brand did not import. The page asks for one
//! tap (a link preview's fetch confirms nothing); the tap confirms.

use maud::{Markup, html};

pub enum ConfirmView<'a> {
    /// What is to be confirmed, with the button.
    Ask {
        brand: &'a str,
        code: &'a str,
        purposes: Vec<&'static str>,
    },
    Done {
        brand: &'a str,
    },
    /// Forged, expired, or nothing left to confirm: nothing changes.
    Invalid,
}

pub fn render(v: &ConfirmView<'_>) -> Markup {
    super::layout(
        "수신 동의 확인",
        html! { meta name="robots" content="noindex"; },
        html! {
            main.pad {
                @match v {
                    ConfirmView::Ask { brand, code, purposes } => {
                        h1 { (brand) " 광고성 정보 수신 동의 확인" }
                        p { "이 번호로 다음 수신에 동의하셨어요:" }
                        ul { @for p in purposes { li { (p) } } }
                        p { "본인이 동의하셨다면 아래 버튼을 눌러 확인해 주세요. 본인이 아니라면 아무것도 하지 않으셔도 돼요. 확인하기 전에는 광고를 보내지 않아요." }
                        form method="post" action=(format!("/c/{code}")) {
                            button.btn type="submit" { "동의를 확인합니다" }
                        }
                    }
                    ConfirmView::Done { brand } => {
                        h1 { "확인되었어요" }
                        p { (brand) "의 광고성 정보 수신 동의가 확인되었습니다. 언제든 문자 속 무료 수신거부 번호나 링크로 거부할 수 있어요." }
                    }
                    ConfirmView::Invalid => {
                        h1 { "확인할 수 없는 링크예요" }
                        p { "링크가 만료되었거나 올바르지 않아요. 아무것도 바뀌지 않았습니다." }
                    }
                }
            }
        },
    )
}
