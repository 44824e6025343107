//! `mcamp stats CAMPAIGN`.

use std::fmt::Write as _;

use mcamp_ops::stats::{CampaignStats, NO_IN_APP, campaign_stats};

use super::campaign_id;
use crate::failure::Failure;
use crate::output::{self, n, pct};
use crate::{Global, backend};

pub async fn run(g: &Global, campaign: &str) -> Result<(), Failure> {
    let id = campaign_id(campaign)?;
    let db = backend::open(g).await?;
    let stats = campaign_stats(&db, &id).await?;
    if g.json {
        return output::json(&stats);
    }
    crate::output::print_str(&human(&stats));
    Ok(())
}

/// How a marketer knows the in-app browser.
fn in_app_label(name: &str) -> String {
    match name {
        NO_IN_APP => "regular browser".into(),
        "kakaotalk" => "KakaoTalk".into(),
        "naver" => "NAVER".into(),
        "band" => "BAND".into(),
        "line" => "LINE".into(),
        "instagram" => "Instagram".into(),
        "facebook" => "Facebook".into(),
        "daum" => "Daum".into(),
        "everytime" => "Everytime".into(),
        other => other.to_owned(),
    }
}

fn human(s: &CampaignStats) -> String {
    let mut o = String::new();
    let status = serde_json::to_value(s.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let _ = writeln!(o, "{}  {}  ({status})", s.campaign, s.name);
    let r = &s.recipients;
    let _ = writeln!(o);
    let _ = writeln!(o, "recipients        {:>9}", n(r.total));
    let _ = writeln!(o, "  imported        {:>9}", n(r.imported));
    let _ = writeln!(o, "  via shares      {:>9}", n(r.via_share));
    let _ = writeln!(
        o,
        "  marketing ok    {:>9}  ({})",
        n(r.marketing_consent),
        pct(r.marketing_consent, r.total)
    );
    let _ = writeln!(o, "  night ok        {:>9}", n(r.night_consent));
    let _ = writeln!(o, "  opted out       {:>9}", n(r.opted_out));
    let _ = writeln!(o, "  form completed  {:>9}", n(r.form_completed));
    let c = &s.clicks;
    let _ = writeln!(o);
    let _ = writeln!(o, "clicks            {:>9}", n(c.total));
    let _ = writeln!(
        o,
        "  unique          {:>9}  ({} of recipients)",
        n(c.unique),
        pct(c.unique, r.total)
    );
    for b in &c.by_in_app {
        let _ = writeln!(
            o,
            "  {:<16}{:>9}  (unique {})",
            in_app_label(&b.in_app),
            n(b.total),
            n(b.unique)
        );
    }
    let _ = writeln!(
        o,
        "link previews     {:>9}  (chat apps fetching the card; not clicks)",
        n(s.previews)
    );
    let _ = writeln!(o, "page views        {:>9}", n(s.page_views));
    let _ = writeln!(o, "form submits      {:>9}", n(s.form_submits));
    let _ = writeln!(o, "share intents     {:>9}", n(s.share_intents));
    let _ = writeln!(o, "opt-outs          {:>9}", n(s.opt_outs));
    if s.coupons.is_empty() {
        return o;
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "coupons");
    for cp in &s.coupons {
        let _ = writeln!(o, "  {}  {}", cp.coupon, cp.title);
        let _ = writeln!(
            o,
            "    claimed {}  issued {}  sold out {}  redeemed {}  stock {} of {} issued",
            n(cp.claimed),
            n(cp.issued),
            n(cp.sold_out),
            n(cp.redeemed),
            n(cp.stock_issued),
            n(cp.stock_total)
        );
    }
    o
}
