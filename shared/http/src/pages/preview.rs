//! What link-preview crawlers (KakaoTalk, Slack, …) get: Open Graph tags so the message's
//! preview card shows the campaign's title, description and image. No recipient data.

use maud::{Markup, html};

pub struct Card<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub image: Option<&'a str>,
    pub url: &'a str,
    pub site_name: &'a str,
}

pub fn render(c: &Card<'_>) -> Markup {
    super::layout(
        c.title,
        html! {
            meta name="robots" content="noindex";
            meta property="og:type" content="website";
            meta property="og:title" content=(c.title);
            meta property="og:description" content=(c.description);
            meta property="og:url" content=(c.url);
            meta property="og:site_name" content=(c.site_name);
            meta property="og:locale" content="ko_KR";
            @if let Some(img) = c.image {
                meta property="og:image" content=(img);
                meta name="twitter:card" content="summary_large_image";
            }
            meta name="description" content=(c.description);
        },
        html! {
            main.pad {
                h1 { (c.title) }
                p { (c.description) }
            }
        },
    )
}
