//! The Korean page for a status that a recipient may see (404, 410, 400, 500).

use maud::{Markup, html};

pub fn render(title: &str, message: &str) -> Markup {
    super::layout(
        title,
        html! { meta name="robots" content="noindex"; },
        html! {
            main.pad role="main" {
                h1 { (title) }
                p.muted { (message) }
            }
        },
    )
}
