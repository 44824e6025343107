//! Snapshots (insta) of what is tedious to assert by hand: the shape of every stored item
//! and of the M-DM page. A change to either shows up as a diff to review; docs/data-model.md
//! explains the why of each item. The clock is pinned and every random identifier is replaced
//! by a name, so the snapshots are stable.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use mcamp_core::consent::{ConsentChange, Purpose, Source};
use mcamp_core::jobs::CouponIssueJob;
use mcamp_core::recipient::NewRecipient;
use mcamp_core::values::{BrandId, CouponId, PhoneNumber};
use mcamp_http::tokens::form_token;
use mcamp_store::customers::CustomerChange;
use mcamp_store::keys;
use mcamp_store::ports::{Key, QueueId, TableId};
use mcamp_store::recipients::Added;
use mcamp_tests::{Backend, call, campaign_with_coupon, phone_key, text};
use serde_json::Value;

fn at() -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339("2026-03-02T01:15:00Z")?.with_timezone(&Utc))
}

/// Replaces each random identifier in `s` by its name, and the two-digit shard after each of
/// `SHARDED` (a hash of a random id) by `{shard}`.
fn named(mut s: String, names: &[(String, &str)]) -> String {
    for (value, name) in names {
        s = s.replace(value.as_str(), &format!("{{{name}}}"));
    }
    for prefix in SHARDED {
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        while let Some(i) = rest.find(prefix) {
            let after = i + prefix.len();
            out.push_str(&rest[..after]);
            rest = &rest[after..];
            if rest.len() >= 2 && rest.as_bytes()[..2].iter().all(u8::is_ascii_digit) {
                out.push_str("{shard}");
                rest = &rest[2..];
            }
        }
        out.push_str(rest);
        s = out;
    }
    s
}

/// Key parts followed by a shard number.
const SHARDED: &[&str] = &["#R#", "EV#snap#", "#CPN#welcome#"];

#[tokio::test]
async fn item_shapes() -> anyhow::Result<()> {
    let b = Backend::embedded();
    let now = at()?;
    let app = b.app().with_clock(Arc::new(move || now));
    let campaign = campaign_with_coupon("snap", 10)?;
    app.db.push_campaign(&campaign, now).await?;
    let brand = BrandId::default();
    let phone = PhoneNumber::parse("010-1234-5678")?;
    let sharer_key = phone_key().customer_key(&brand, &phone);
    let new = NewRecipient {
        name: Some("김민지".into()),
        phone: Some(phone.clone()),
        ..NewRecipient::default()
    };
    let Added::Created(sharer) = app
        .db
        .add_recipient(&campaign, new, Some(sharer_key.clone()), now)
        .await?
    else {
        anyhow::bail!("created")
    };
    let share = app.db.share_code(&sharer, now).await?;
    let visitor = app.db.add_visitor(&sharer, &campaign, 300, None, now).await?;
    // The visitor types a number on the form: a customer with an unconfirmed consent.
    let visitor_phone = PhoneNumber::parse("010-9876-5432")?;
    let visitor_key = phone_key().customer_key(&brand, &visitor_phone);
    let consents = [Purpose::Privacy, Purpose::MarketingSms]
        .into_iter()
        .map(|purpose| ConsentChange {
            purpose,
            granted: true,
            wording_version: "v1".into(),
            source: Source::Form,
            confirmed: false,
        })
        .collect();
    let change = CustomerChange {
        phone: Some(visitor_phone),
        name: Some("박서연".into()),
        consents,
        keep_until: Some(now + chrono::Duration::days(180)),
        recipient: Some(&visitor),
        save_profile: true,
        campaign: Some(&campaign.id),
        ..CustomerChange::new(&brand, &visitor_key, now)
    };
    app.db.change_customer(&change).await?;
    let visitor = app.db.recipient(&visitor.id).await?.context("visitor")?;
    let coupon = CouponId::parse("welcome")?;
    let customer = app.db.customer(&brand, &visitor_key).await?;
    let claim = mcamp_store::claims::claim(
        &app.db,
        app.queue.as_ref(),
        &campaign,
        &visitor,
        customer.as_ref(),
        &coupon,
        now,
    )
    .await?;
    let job = app
        .queue
        .receive(
            QueueId::CouponIssue,
            1,
            std::time::Duration::from_secs(30),
            std::time::Duration::ZERO,
        )
        .await?;
    let job = CouponIssueJob::parse(&job.first().context("job")?.body)?;
    let mcamp_store::issue::IssueOutcome::Issued(code) =
        mcamp_store::issue::issue(&app.db, &campaign, &job, now).await?
    else {
        anyhow::bail!("issued")
    };
    let ledger = app.db.consent_ledger(&brand, &visitor_key).await?;
    let consent_sk = {
        let item = b
            .table
            .query(
                &mcamp_store::ports::Query::partition(TableId::Main, keys::customer(&brand, &visitor_key))
                    .prefix(keys::CONSENT_PREFIX),
            )
            .await?;
        item.items
            .first()
            .and_then(|i| i.get("sk"))
            .and_then(Value::as_str)
            .context("consent sk")?
            .to_owned()
    };
    anyhow::ensure!(ledger.len() == 2);

    let (stock_pk, stock_sk) = keys::coupon_stock(&campaign.id, &coupon);
    let (claim_pk, claim_sk) = keys::claim(&visitor.id, &coupon, claim.slot);
    let (issued_pk, issued_sk) = keys::issued_record(&visitor.id, &coupon, claim.slot);
    let items = [
        ("campaign", Key::new(keys::campaign(&campaign.id), keys::SK_META)),
        ("coupon stock counter", Key::new(stock_pk, stock_sk)),
        (
            "recipient (imported, with a share link)",
            Key::new(keys::recipient(&sharer.id), keys::SK_PROFILE),
        ),
        (
            "recipient (share visitor, linked to their customer)",
            Key::new(keys::recipient(&visitor.id), keys::SK_PROFILE),
        ),
        (
            "phone de-dup key",
            Key::new(keys::phone(&campaign.id, &sharer_key), keys::SK_PHONE),
        ),
        (
            "customer (typed on a form, unconfirmed)",
            Key::new(keys::customer(&brand, &visitor_key), keys::SK_CUSTOMER),
        ),
        (
            "customer's recipient",
            Key::new(
                keys::customer(&brand, &visitor_key),
                keys::customer_recipient_sk(&visitor.id),
            ),
        ),
        ("personal link", Key::new(keys::link(&sharer.code), keys::SK_LINK)),
        ("share link", Key::new(keys::link(&share), keys::SK_LINK)),
        (
            "visitor's personal link",
            Key::new(keys::link(&visitor.code), keys::SK_LINK),
        ),
        (
            "referral edge",
            Key::new(keys::referrals(&sharer.id), visitor.id.as_str()),
        ),
        (
            "consent ledger entry",
            Key::new(keys::customer(&brand, &visitor_key), consent_sk.clone()),
        ),
        ("claim", Key::new(claim_pk, claim_sk)),
        ("per-person issue record", Key::new(issued_pk, issued_sk)),
        ("issued coupon", Key::new(keys::issued_coupon(&code), keys::SK_COUPON)),
    ];
    let mut names: Vec<(String, &str)> = vec![
        (sharer.id.to_string(), "sharer"),
        (visitor.id.to_string(), "visitor"),
        (sharer.code.to_string(), "sharer-code"),
        (sharer_key.to_string(), "sharer-customer"),
        (visitor_key.to_string(), "visitor-customer"),
        (visitor.code.to_string(), "visitor-code"),
        (share.to_string(), "share-code"),
        (claim.claim_id.clone(), "claim-id"),
        (code.to_string(), "coupon-code"),
        (
            consent_sk.rsplit('#').next().unwrap_or_default().to_owned(),
            "ledger-seq",
        ),
    ];
    let mut out = String::new();
    for (what, key) in items {
        let item = b
            .table
            .get(TableId::Main, &key)
            .await?
            .with_context(|| format!("{what}: {key:?}"))?;
        out.push_str(&format!("## {what}\n{}\n\n", serde_json::to_string_pretty(&item)?));
    }
    // The events, in the order they were written (the stream's order).
    let events = b.feed.changes(TableId::Events, None, 100).await?;
    for (i, e) in events.iter().enumerate() {
        let image = e.new_image.clone().context("event image")?;
        if let Some(id) = image.get("event_id").and_then(Value::as_str) {
            names.push((
                id.to_owned(),
                ["event-1", "event-2", "event-3", "event-4", "event-5"]
                    .get(i)
                    .copied()
                    .unwrap_or("event"),
            ));
        }
        let kind = image.get("type").and_then(Value::as_str).unwrap_or("?").to_owned();
        out.push_str(&format!(
            "## event {kind}\n{}\n\n",
            serde_json::to_string_pretty(&image)?
        ));
    }
    insta::assert_snapshot!("item_shapes", named(out, &names));
    Ok(())
}

#[tokio::test]
async fn mdm_page() -> anyhow::Result<()> {
    let b = Backend::embedded();
    let now = at()?;
    let mut web = b.web();
    web.app = web.app.clone().with_clock(Arc::new(move || now));
    let app = &web.app;
    let mut campaign = mcamp_ops::campaign_file::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/demo/campaign.yaml"
    )))?;
    campaign.id = mcamp_core::values::CampaignId::parse("snap-page")?;
    app.db.push_campaign(&campaign, now).await?;
    let new = NewRecipient {
        name: Some("김민지".into()),
        phone: Some(PhoneNumber::parse("010-2468-1357")?),
        ..NewRecipient::default()
    };
    let key = phone_key().customer_key(&BrandId::default(), &PhoneNumber::parse("010-2468-1357")?);
    let Added::Created(r) = app.db.add_recipient(&campaign, new, Some(key), now).await? else {
        anyhow::bail!("created")
    };
    let page = call(
        &web,
        "GET",
        &format!("/p/{}", r.code),
        &[("user-agent", mcamp_tests::IPHONE_SAFARI)],
        "",
    )
    .await?;
    anyhow::ensure!(page.status() == 200);
    let token = form_token(&web.site.secret, r.code.as_str());
    let beacon = mcamp_http::tokens::beacon_token(&web.site.secret, r.code.as_str(), web.app.now());
    let names = vec![
        (token, "form-token"),
        (beacon, "beacon-token"),
        (r.code.to_string(), "code"),
    ];
    anyhow::ensure!(
        !text(&page).contains("2468-1357") && !text(&page).contains("24681357"),
        "no full phone on the page"
    );
    // One element per line, so a change reads as a small diff.
    insta::assert_snapshot!("mdm_page", named(text(&page).replace("><", ">\n<"), &names));
    Ok(())
}
