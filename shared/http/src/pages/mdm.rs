//! The M-DM page: what a recipient sees after tapping the SMS link, usually inside
//! KakaoTalk's in-app browser. One HTML response with inlined CSS and a small inline script;
//! every action is a plain form post, so it all works with JavaScript off. The Kakao SDK is
//! loaded only when the share button is tapped.

use maud::{Markup, PreEscaped, html};
use mcamp_core::campaign::format_won;
use mcamp_core::campaign::{Block, Campaign, CouponDef, FormField, Image, InfoForm, PageDef};

/// A coupon as this recipient sees it.
pub enum CouponState {
    /// Can be claimed now.
    Available,
    /// Can be claimed after something (the reason, in Korean).
    Blocked(&'static str),
    Pending,
    /// Pending for longer than a job takes: no more waiting on the page, a button to ask again.
    Delayed,
    Issued {
        code: String,
        qr_svg: String,
    },
    SoldOut,
}

pub struct CouponView<'a> {
    pub def: &'a CouponDef,
    pub state: CouponState,
}

/// The info form's current values and field errors.
#[derive(Debug, Default)]
pub struct FormValues {
    pub name: String,
    pub phone: String,
    pub gender: String,
    pub birth_year: String,
    pub age_band: String,
    pub region: String,
    pub store: String,
    pub privacy: bool,
    pub marketing: bool,
    /// `(field, message)`, shown beside the field.
    pub errors: Vec<(&'static str, String)>,
}

pub struct FormView<'a> {
    pub def: &'a InfoForm,
    pub values: FormValues,
    pub completed: bool,
    /// The number on record, masked (`010-****-5678`): never the full number, since a link can
    /// be forwarded. Changing anything takes typing the full number again.
    pub phone_on_record: Option<String>,
}

pub struct MdmView<'a> {
    pub campaign: &'a Campaign,
    /// The page this person sees: the campaign's, or their A/B variant's
    /// (`Campaign::page_for`).
    pub page: &'a PageDef,
    pub name: Option<&'a str>,
    pub code: &'a str,
    pub token: &'a str,
    /// The expiring token the page's beacons carry (`tokens::beacon_token`).
    pub beacon: &'a str,
    pub form: Option<FormView<'a>>,
    pub coupons: Vec<CouponView<'a>>,
    /// The recipient's share link once minted.
    pub share_url: Option<&'a str>,
    pub kakao_app_key: Option<&'a str>,
    /// "Open in the external browser" link for in-app browsers.
    pub escape_url: Option<String>,
    /// A message at the top (a refused claim, a saved form).
    pub notice: Option<&'a str>,
    /// Reload while a coupon is pending (no-JS browsers).
    /// Reload this URL in 3 s while a coupon is pending (no-JS browsers). It must differ from
    /// the current URL by more than its fragment, or the refresh is only a jump to `#coupon`.
    pub refresh: Option<String>,
}

const CSS: &str = concat!(
    ".top{display:flex;justify-content:space-between;align-items:center;padding:12px 20px;font-weight:700;border-bottom:1px solid var(--line)}",
    ".esc{font-size:13px;font-weight:400;color:var(--muted)}",
    ".hero{position:relative}.hero h2{position:absolute;left:20px;bottom:16px;color:#fff;font-size:24px;text-shadow:0 1px 8px rgba(0,0,0,.35);margin:0}",
    ".gal{display:flex;gap:8px;overflow-x:auto;padding:0 20px 20px}.gal img{width:70%;flex:none;border-radius:12px}",
    ".card{border:1px solid var(--line);border-radius:14px;padding:16px;margin:0 20px 16px}",
    ".prods{display:grid;grid-template-columns:1fr 1fr;gap:12px;padding:0 20px 20px}.prod{border:1px solid var(--line);border-radius:12px;padding:12px}",
    ".was{color:var(--muted);text-decoration:line-through;font-size:13px}.now{font-weight:700;font-size:17px}.off{color:var(--accent);font-weight:700;margin-right:4px}",
    ".cpn{border:2px dashed var(--accent);border-radius:16px;padding:18px;margin:0 20px 16px;text-align:center}",
    ".cpn b{display:block;font-size:22px;color:var(--accent)}.code{font:700 22px ui-monospace,Menlo,monospace;letter-spacing:2px;margin:10px 0}",
    ".qr{width:160px;height:160px;margin:8px auto}.qr svg{width:100%;height:100%}",
    "form{margin:0}label{display:block;font-size:14px;margin:12px 0 4px;font-weight:600}",
    "input[type=text],input[type=tel],select{width:100%;font-size:16px;padding:12px;border:1px solid var(--line);border-radius:10px;background:#fff}",
    ".chk{display:flex;gap:10px;align-items:flex-start;font-weight:400;margin:14px 0}.chk input{width:22px;height:22px;flex:none;margin:0}",
    ".err{color:#c62828;font-size:13px;margin-top:4px}.notice{background:#fff4e5;padding:12px 20px;font-size:15px}",
    ".row{display:flex;gap:8px}.row>*{flex:1}.sec{padding:8px 0 12px}.sec>h2{padding:0 20px}",
    ".vid{position:relative;padding-top:56.25%;margin:0 20px 20px}.vid>*{position:absolute;inset:0;width:100%;height:100%;border:0;border-radius:12px}",
    ".linkbtn{background:none;border:0;padding:0;color:var(--muted);font-size:14px;text-decoration:underline;cursor:pointer}.notme{padding-top:0}",
);

/// Inline script (kept small): beacons for interactions and, once when the page is left, the
/// last content block it had on screen (`page_depth`); claim without reload; lazy Kakao share.
/// The SDK is pinned by version and Subresource Integrity (the sha384 Kakao publishes for 2.7.4
/// in its getting-started page): a changed file on the CDN is refused, and sharing falls back
/// to nothing rather than running it. The page's CSP allows this script by its hash.
pub(crate) const SCRIPT: &str = r#"(function(){var d=document,b=d.querySelector('main'),c=b.dataset.code,t=b.dataset.token;
function ev(a,x){try{navigator.sendBeacon('/e',JSON.stringify({code:c,token:b.dataset.beacon,action:a,target:x||null}))}catch(e){}}
d.querySelectorAll('video').forEach(function(v){v.addEventListener('play',function(){ev('video_play',v.dataset.id)},{once:true})});
d.querySelectorAll('[data-cta]').forEach(function(a){a.addEventListener('click',function(){ev('cta_tap',a.dataset.cta)})});
var end=d.getElementById('end');if(end&&'IntersectionObserver'in window){var o=new IntersectionObserver(function(e){if(e[0].isIntersecting){ev('scroll_end');o.disconnect()}});o.observe(end)}
var m=-1,left=0;if('IntersectionObserver'in window){var q=new IntersectionObserver(function(es){es.forEach(function(x){if(x.isIntersecting)m=Math.max(m,+x.target.dataset.b)})});d.querySelectorAll('[data-b]').forEach(function(x){q.observe(x)})}
function leave(){if(!left&&m>=0){left=1;ev('page_depth',String(m))}}d.addEventListener('visibilitychange',function(){if(d.visibilityState==='hidden')leave()});addEventListener('pagehide',leave);
d.querySelectorAll('form[data-claim]').forEach(function(f){f.addEventListener('submit',function(e){e.preventDefault();var btn=f.querySelector('button');btn.disabled=true;btn.textContent='발급 중…';
fetch(f.action,{method:'POST',headers:{'Accept':'application/json'},body:new URLSearchParams(new FormData(f))}).then(function(r){return r.json()}).then(function(){poll(0)}).catch(function(){f.submit()})})});
function poll(n){fetch('/p/'+c+'/coupon',{headers:{'Accept':'application/json'}}).then(function(r){return r.json()}).then(function(j){if(j.pending&&n<20){setTimeout(function(){poll(n+1)},700)}else{location.reload()}})}
var sh=d.getElementById('share');if(sh){sh.addEventListener('click',function(e){var ch=e.target.dataset&&e.target.dataset.ch;if(!ch)return;e.preventDefault();
fetch('/p/'+c+'/share',{method:'POST',headers:{'Accept':'application/json','Content-Type':'application/x-www-form-urlencoded'},body:'token='+t+'&channel='+ch}).then(function(r){return r.json()}).then(function(j){
if(ch==='copy_link'){navigator.clipboard&&navigator.clipboard.writeText(j.url);e.target.textContent='링크를 복사했어요'}
else if(ch==='sms'){location.href='sms:?&body='+encodeURIComponent(j.title+' '+j.url)}
else if(ch==='kakao'){var k=b.dataset.kakao;if(!k){location.href='sms:?&body='+encodeURIComponent(j.title+' '+j.url);return}
var s=d.createElement('script');s.src='https://t1.kakaocdn.net/kakao_js_sdk/2.7.4/kakao.min.js';s.integrity='sha384-DKYJZ8NLiK8MN4/C5P2dtSmLQ4KwPaoqAfyA/DfmEc1VDxu4yyC7wy6K1Hs90nka';s.crossOrigin='anonymous';s.onload=function(){if(!Kakao.isInitialized())Kakao.init(k);
Kakao.Share.sendDefault({objectType:'feed',content:{title:j.title,description:j.description,imageUrl:j.image||'',link:{mobileWebUrl:j.url,webUrl:j.url}},buttons:[{title:'자세히 보기',link:{mobileWebUrl:j.url,webUrl:j.url}}],serverCallbackArgs:{share_code:j.code}})};d.head.appendChild(s)}})})}
})();"#;

pub(crate) fn image(img: &Image, eager: bool) -> Markup {
    html! {
        img src=(img.src) alt=(img.alt) width=(img.width) height=(img.height)
            loading=(if eager { "eager" } else { "lazy" }) decoding="async"
            fetchpriority=[eager.then_some("high")];
    }
}

fn discount(price: u64, sale: u64) -> Option<u64> {
    (price > 0 && sale < price).then(|| (price - sale) * 100 / price)
}

pub(crate) fn block(b: &Block, first: bool, idx: usize) -> Markup {
    match b {
        Block::Hero { image: img, title } => html! {
            div.hero { (image(img, first)) @if let Some(t) = title { h2 { (t) } } }
        },
        Block::Gallery { images } => html! {
            div.gal { @for i in images { (image(i, false)) } }
        },
        Block::Video {
            mp4,
            youtube_id,
            poster,
        } => html! {
            @if let Some(src) = mp4 {
                div.vid { video controls preload="none" playsinline poster=(poster.src) data-id=(idx) { source src=(src) type="video/mp4"; } }
            } @else if let Some(id) = youtube_id {
                div.vid { iframe src=(format!("https://www.youtube-nocookie.com/embed/{}", id)) title=(poster.alt) loading="lazy" allow="encrypted-media; picture-in-picture" allowfullscreen {} }
            }
        },
        Block::Text { heading, body } => html! {
            div.pad { @if let Some(h) = heading { h2 { (h) } } p { (body) } }
        },
        Block::Products { items } => html! {
            div.prods {
                @for p in items {
                    div.prod {
                        @if let Some(img) = &p.image { (image(img, false)) }
                        div { (p.name) }
                        @match p.sale_price {
                            Some(sale) => {
                                div.was { (format_won(p.price)) }
                                div.now { @if let Some(off) = discount(p.price, sale) { span.off { (off) "%" } } (format_won(sale)) }
                            }
                            None => div.now { (format_won(p.price)) },
                        }
                        @if let Some(u) = &p.url { a href=(u) data-cta=(p.name) rel="noopener" { "보러 가기" } }
                    }
                }
            }
        },
        Block::Button { label, url } => html! {
            div.pad { a.btn href=(url) data-cta=(label) rel="noopener" { (label) } }
        },
        Block::Store {
            name,
            address,
            phone,
            map_url,
        } => html! {
            div.card {
                h2 { (name) }
                p.muted { (address) }
                @if let Some(ph) = phone { p { a href=(format!("tel:{}", ph.replace(['-', ' '], ""))) { (ph) } } }
                @if let Some(m) = map_url { a.btn.ghost href=(m) data-cta="map" rel="noopener" { "지도에서 보기" } }
            }
        },
    }
}

fn field_error(values: &FormValues, field: &str) -> Markup {
    html! { @for (f, msg) in &values.errors { @if *f == field { div.err role="alert" { (msg) } } } }
}

fn info_form(v: &MdmView<'_>, f: &FormView<'_>) -> Markup {
    let vals = &f.values;
    let has = |x: FormField| f.def.fields.contains(&x);
    html! {
        section.sec #info {
            h2 { @if f.completed { "입력한 정보" } @else { "정보 입력" } }
            form.pad method="post" action=(format!("/p/{}/form", v.code)) {
                input type="hidden" name="token" value=(v.token);
                @if has(FormField::Name) {
                    label for="f-name" { "이름" }
                    input #f-name type="text" name="name" value=(vals.name) autocomplete="name" maxlength="50" required;
                    (field_error(vals, "name"))
                }
                @if has(FormField::Phone) {
                    label for="f-phone" { "휴대폰 번호" }
                    @if let Some(masked) = &f.phone_on_record {
                        p.muted #f-phone-note { "등록된 번호 " (masked) " · 본인 확인을 위해 번호 전체를 입력해 주세요." }
                    }
                    input #f-phone type="tel" name="phone" value=(vals.phone) autocomplete="tel" inputmode="tel" placeholder="010-1234-5678" maxlength="20" required;
                    (field_error(vals, "phone"))
                }
                @if has(FormField::Gender) {
                    label for="f-gender" { "성별" }
                    select #f-gender name="gender" {
                        option value="" { "선택" }
                        @for (val, label) in [("female", "여성"), ("male", "남성"), ("other", "기타")] {
                            option value=(val) selected[vals.gender == val] { (label) }
                        }
                    }
                    (field_error(vals, "gender"))
                }
                @if has(FormField::BirthYear) {
                    label for="f-birth" { "출생연도" }
                    input #f-birth type="text" name="birth_year" value=(vals.birth_year) inputmode="numeric" placeholder="1990" maxlength="4";
                    (field_error(vals, "birth_year"))
                }
                @if has(FormField::AgeBand) {
                    label for="f-age" { "연령대" }
                    select #f-age name="age_band" {
                        option value="" { "선택" }
                        @for band in ["10s", "20s", "30s", "40s", "50s", "60+"] {
                            option value=(band) selected[vals.age_band == band] { (band.replace('s', "대").replace('+', "대 이상")) }
                        }
                    }
                    (field_error(vals, "age_band"))
                }
                @if has(FormField::Region) {
                    label for="f-region" { "지역" }
                    input #f-region type="text" name="region" value=(vals.region) maxlength="40";
                    (field_error(vals, "region"))
                }
                @if has(FormField::PreferredStore) {
                    @if let Some(stores) = &f.def.stores {
                        label for="f-store" { "자주 가는 매장" }
                        select #f-store name="store" {
                            option value="" { "선택" }
                            @for s in stores { option value=(s.id) selected[vals.store == s.id.as_str()] { (s.name) } }
                        }
                        (field_error(vals, "store"))
                    }
                }
                label.chk {
                    input type="checkbox" name="privacy" value="yes" checked[vals.privacy] required;
                    span { (f.def.privacy_consent) }
                }
                (field_error(vals, "privacy"))
                label.chk {
                    input type="checkbox" name="marketing" value="yes" checked[vals.marketing];
                    span { (f.def.marketing_consent) }
                }
                button.btn type="submit" { @if f.completed { "정보 수정" } @else { "입력 완료" } }
            }
            @if f.phone_on_record.is_some() {
                form.pad.notme method="post" action=(format!("/p/{}/notme", v.code)) {
                    input type="hidden" name="token" value=(v.token);
                    button.linkbtn type="submit" { "본인이 아니신가요? 내 정보로 새로 참여하기" }
                }
            }
        }
    }
}

fn coupon(v: &MdmView<'_>, c: &CouponView<'_>) -> Markup {
    html! {
        div.cpn {
            div { (c.def.title) }
            b { (c.def.benefit.label_ko()) }
            @if let Some(until) = c.def.valid_until {
                div.muted { ((until + chrono::Duration::hours(9)).format("%Y.%m.%d %H:%M")) "까지" }
            }
            @match &c.state {
                CouponState::Available => {
                    form method="post" action=(format!("/p/{}/claim", v.code)) data-claim {
                        input type="hidden" name="token" value=(v.token);
                        input type="hidden" name="coupon" value=(c.def.id);
                        button.btn type="submit" { "쿠폰 받기" }
                    }
                }
                CouponState::Blocked(why) => { p.muted { (why) } a.btn.ghost href="#info" { "정보 입력하러 가기" } }
                CouponState::Pending => { p { "쿠폰을 발급하고 있어요. 잠시만 기다려 주세요." } }
                CouponState::Delayed => {
                    p { "발급이 늦어지고 있어요. 다시 요청해 주세요." }
                    form method="post" action=(format!("/p/{}/claim", v.code)) {
                        input type="hidden" name="token" value=(v.token);
                        input type="hidden" name="coupon" value=(c.def.id);
                        button.btn.ghost type="submit" { "다시 요청하기" }
                    }
                }
                CouponState::Issued { code, qr_svg } => {
                    div.code aria-label="쿠폰 번호" { (code) }
                    div.qr role="img" aria-label="쿠폰 QR 코드" { (PreEscaped(qr_svg)) }
                    p.muted { "매장에서 이 화면을 보여 주세요." }
                }
                CouponState::SoldOut => { p { "선착순 마감되었어요. 다음 이벤트에서 만나요!" } }
            }
        }
    }
}

/// WCAG relative luminance of `#RRGGBB`.
fn luminance(rgb: [f64; 3]) -> f64 {
    let lin = |c: f64| {
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])
}

/// The brand colour, darkened just enough for white button text (and accent text on white) to
/// reach WCAG AA contrast 4.5:1: marketers pick brand colours, the page stays readable.
pub fn readable_accent(hex: &str) -> String {
    let parse = |i: usize| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok());
    let (Some(r), Some(g), Some(b)) = (parse(1), parse(3), parse(5)) else {
        return "#d9480f".into();
    };
    let mut rgb = [f64::from(r) / 255.0, f64::from(g) / 255.0, f64::from(b) / 255.0];
    for _ in 0..40 {
        if 1.05 / (luminance(rgb) + 0.05) >= 4.5 {
            break;
        }
        rgb = rgb.map(|c| c * 0.95);
    }
    let byte = |c: f64| (c * 255.0).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", byte(rgb[0]), byte(rgb[1]), byte(rgb[2]))
}

pub fn render(v: &MdmView<'_>) -> Markup {
    let c = v.campaign;
    let accent = readable_accent(v.page.accent.as_deref().unwrap_or("#ff5a00"));
    let greeting = v
        .page
        .greeting
        .as_deref()
        .map(|g| g.replace("{name}", v.name.unwrap_or("고객")));
    let head = html! {
        meta name="robots" content="noindex";
        meta name="referrer" content="strict-origin-when-cross-origin";
        meta name="theme-color" content=(&accent);
        style { (PreEscaped(CSS)) ":root{--accent:" (accent) "}" }
        @if let Some(url) = &v.refresh { meta http-equiv="refresh" content=(format!("3;url={url}")); }
    };
    let body = html! {
        main data-code=(v.code) data-token=(v.token) data-beacon=(v.beacon) data-kakao=[v.kakao_app_key] {
            div.top {
                span { (c.sender.brand) }
                @if let Some(u) = &v.escape_url { a.esc href=(u) { "외부 브라우저로 열기" } }
            }
            @if let Some(n) = v.notice { div.notice role="status" { (n) } }
            @if let Some(g) = greeting { div.pad { h1 { (g) } } }
            @for (i, b) in v.page.blocks.iter().enumerate() { div data-b=(i) { (block(b, i == 0, i)) } }
            @if !v.coupons.is_empty() {
                section.sec #coupon { h2 { "쿠폰" } @for cp in &v.coupons { (coupon(v, cp)) } }
            }
            @if let Some(f) = &v.form { (info_form(v, f)) }
            section.sec #share {
                h2 { "친구에게 알리기" }
                div.pad {
                    @if let Some(u) = v.share_url { p.muted { "내 공유 링크: " a href=(u) { (u) } } }
                    form method="post" action=(format!("/p/{}/share", v.code)) {
                        input type="hidden" name="token" value=(v.token);
                        button.btn type="submit" name="channel" value="kakao" data-ch="kakao" { "카카오톡으로 공유" }
                        div.row style="margin-top:8px" {
                            button.btn.ghost type="submit" name="channel" value="copy_link" data-ch="copy_link" { "링크 복사" }
                            button.btn.ghost type="submit" name="channel" value="sms" data-ch="sms" { "문자로 공유" }
                        }
                    }
                }
            }
            footer #end {
                p { "(광고) " (c.sender.brand) @if let Some(ct) = &c.sender.contact { " · " (ct) } }
                p { "무료 수신거부 " (c.sender.opt_out_080) " · " a href=(format!("/p/{}/optout", v.code)) { "수신거부" } }
            }
        }
    };
    let script = html! { script { (PreEscaped(SCRIPT)) } };
    super::layout(&c.share.title, head, html! { (body) (script) })
}

/// The opt-out page. Opting out takes the full phone number (a forwarded link must not opt
/// its owner out), then applies to the brand's every campaign.
pub struct OptOutView<'a> {
    pub brand: &'a str,
    pub code: &'a str,
    pub token: &'a str,
    /// The number on record, masked.
    pub phone_on_record: Option<&'a str>,
    pub opt_out_080: &'a str,
    pub error: Option<&'a str>,
    pub done: bool,
}

pub fn optout(v: &OptOutView<'_>) -> Markup {
    super::layout(
        "수신거부",
        html! { meta name="robots" content="noindex"; style { (PreEscaped(CSS)) } },
        html! {
            main.pad {
                @if v.done {
                    h1 { "수신거부되었어요" }
                    p { (v.brand) "의 광고성 정보를 더 이상 보내지 않아요. 모든 이벤트에 바로 적용되었습니다." }
                } @else {
                    h1 { (v.brand) " 광고 수신거부" }
                    p { "휴대폰 번호를 입력하고 버튼을 누르면 " (v.brand) "의 모든 광고 수신이 거부돼요. 이미 받은 쿠폰은 그대로 쓸 수 있어요." }
                    form method="post" action=(format!("/p/{}/optout", v.code)) {
                        input type="hidden" name="token" value=(v.token);
                        label for="o-phone" { "휴대폰 번호" }
                        @if let Some(masked) = v.phone_on_record {
                            p.muted { "등록된 번호 " (masked) }
                        }
                        input #o-phone type="tel" name="phone" autocomplete="tel" inputmode="tel" placeholder="010-1234-5678" maxlength="20" required;
                        @if let Some(e) = v.error { p.err role="alert" { (e) } }
                        button.btn type="submit" { "수신거부하기" }
                    }
                    p.muted { "전화로도 거부할 수 있어요: 무료 수신거부 " (v.opt_out_080) }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_are_darkened_to_aa_contrast_and_dark_ones_kept() {
        let contrast = |hex: &str| {
            let p = |i: usize| f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
            1.05 / (luminance([p(1), p(3), p(5)]) + 0.05)
        };
        for light in ["#e8577e", "#ff5a00", "#ffe000", "#ffffff"] {
            let a = readable_accent(light);
            assert!(contrast(&a) >= 4.5, "{light} -> {a}: {}", contrast(&a));
        }
        assert_eq!(readable_accent("#1b5e20"), "#1b5e20");
        assert_eq!(readable_accent("nonsense"), "#d9480f");
    }
}
