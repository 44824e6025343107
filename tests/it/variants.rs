//! A/B page variants on both backends: people are assigned a variant when they are created
//! (imported, or arrived through a share link), keep it when the weights change, see their
//! variant's page, and every event about them carries it, the coupon's issue and redemption
//! included; the report's variant funnels count them as a plain tally of the events does.

use std::collections::BTreeMap;

use anyhow::{Context, ensure};
use mcamp_core::analytics::Stage;
use mcamp_core::events::EventData;
use mcamp_core::jobs::CouponIssueJob;
use mcamp_core::recipient::Recipient;
use mcamp_core::values::{CouponId, RecipientId, StoreId};
use mcamp_store::aggregate::Record;
use mcamp_store::ports::QueueId;
use mcamp_tests::{Backend, call, contract, text};

const CAMPAIGN: &str = "id: ab-test
name: A/B 테스트
sender: {brand: 테스트브랜드, opt_out_080: 080-000-0000}
share: {title: 테스트, description: 설명}
page:
  greeting: \"{name}님, 봄 신메뉴를 만나보세요\"
  blocks:
    - {type: text, body: 공통 안내}
variants:
  - {name: A, weight: 50}
  - name: B
    weight: 50
    greeting: \"{name}님만을 위한 봄 혜택\"
    blocks:
      - {type: text, heading: B안, body: 오늘만 두 배 적립}
coupons:
  - id: welcome
    title: 웰컴 쿠폰
    benefit: {kind: amount_off, won: 3000}
    stock: 100
";

async fn page(web: &mcamp_http::Web, path: String) -> anyhow::Result<String> {
    let resp = call(web, "GET", &path, &[("user-agent", mcamp_tests::IPHONE_SAFARI)], "").await?;
    ensure!(
        resp.status().is_success() || resp.status().is_redirection(),
        "{path}: {}",
        resp.status()
    );
    Ok(text(&resp))
}

async fn variants_are_sticky_and_every_event_carries_them(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let app = &web.app;
    let campaign = mcamp_ops::campaign_file::parse("ab.yaml", CAMPAIGN)?;
    app.db.push_campaign(&campaign, app.now()).await?;
    let people = mcamp_tests::recipients(&app.db, &campaign, 40).await?;

    // Everyone has a variant, about half each, kept on the stored recipient.
    let mut split: BTreeMap<String, usize> = BTreeMap::new();
    for p in &people {
        *split.entry(p.variant.clone().context("assigned")?).or_default() += 1;
    }
    ensure!(
        split.len() == 2 && split.values().all(|n| (8..=32).contains(n)),
        "{}: 40 people over 50/50: {split:?}",
        b.name
    );
    // Sticky: new weights move nobody already assigned.
    let mut reweighted = campaign.clone();
    reweighted.variants[0].weight = 90;
    reweighted.variants[1].weight = 10;
    app.db.push_campaign(&reweighted, app.now()).await?;
    for p in &people {
        let stored = app.db.recipient(&p.id).await?.context("stored")?;
        ensure!(stored.variant == p.variant, "{}: {} moved", b.name, p.id);
    }

    // Each sees their variant's page.
    let of = |v: &'static str| people.iter().filter(move |p| p.variant.as_deref() == Some(v));
    let a: Vec<&Recipient> = of("A").take(3).collect();
    let bs: Vec<&Recipient> = of("B").take(2).collect();
    for p in &a {
        let html = page(&web, format!("/p/{}", p.code)).await?;
        ensure!(
            html.contains("봄 신메뉴") && !html.contains("두 배 적립"),
            "{}: A sees A",
            b.name
        );
    }
    for p in &bs {
        let html = page(&web, format!("/p/{}", p.code)).await?;
        ensure!(
            html.contains("봄 혜택") && html.contains("두 배 적립"),
            "{}: B sees B",
            b.name
        );
    }

    // A's first and B's first click, and claim, get and use a coupon.
    let welcome = CouponId::parse("welcome")?;
    let store = StoreId::parse("gangnam-01")?;
    let buyers = [a[0], bs[0]];
    for p in buyers {
        // A chat's link-preview crawler fetches it first: the preview is about its owner too.
        let card = call(
            &web,
            "GET",
            &format!("/{}", p.code),
            &[("user-agent", mcamp_tests::KAKAO_SCRAPER)],
            "",
        )
        .await?;
        ensure!(card.status() == 200, "{}: a preview card", b.name);
        page(&web, format!("/{}", p.code)).await?;
        mcamp_store::claims::claim(&app.db, app.queue.as_ref(), &campaign, p, None, &welcome, app.now()).await?;
    }
    // The job carries the variant (v2).
    let mut jobs = Vec::new();
    for _ in 0..5 {
        if jobs.len() == 2 {
            break;
        }
        let wait = std::time::Duration::from_secs(1);
        jobs.extend(
            app.queue
                .receive(QueueId::CouponIssue, 10, std::time::Duration::from_secs(30), wait)
                .await?,
        );
    }
    ensure!(jobs.len() == 2, "{}: {} jobs", b.name, jobs.len());
    for m in &jobs {
        let job = CouponIssueJob::parse(&m.body)?;
        let owner = buyers
            .iter()
            .find(|p| p.id == job.recipient_id)
            .context("a buyer's job")?;
        ensure!(
            job.schema_version == 2 && job.variant == owner.variant,
            "{}: {job:?}",
            b.name
        );
        app.queue
            .retry_later(QueueId::CouponIssue, &m.receipt, std::time::Duration::ZERO)
            .await?;
    }
    mcamp_coupon_issuer::consume(app, std::time::Duration::from_secs(1), std::time::Duration::ZERO).await;
    for coupon in app.db.issued_coupons(&campaign.id, &welcome).await? {
        mcamp_store::redeem::redeem_as(&app.db, &store, &coupon.code, app.now()).await?;
    }
    // A visitor through B's share link gets a variant of their own.
    let visitor = app.db.add_visitor(bs[1], &reweighted, 300, None, app.now()).await?;
    ensure!(visitor.variant == reweighted.assign_variant(&visitor.id) && visitor.variant.is_some());
    page(&web, format!("/p/{}", visitor.code)).await?;

    // Every event about a person carries their variant, whatever wrote it.
    let variant_of: BTreeMap<RecipientId, Option<String>> = people
        .iter()
        .chain(std::iter::once(&visitor))
        .map(|p| (p.id.clone(), p.variant.clone()))
        .collect();
    let events = app.db.events_of(&campaign.id).await?;
    let mut kinds = std::collections::BTreeSet::new();
    for e in &events {
        let who = e.recipient_id.as_ref().context("every event here is someone's")?;
        ensure!(
            Some(&e.variant) == variant_of.get(who),
            "{}: a {} of {who} in {:?}",
            b.name,
            e.kind(),
            e.variant
        );
        kinds.insert(e.kind());
    }
    for k in [
        "click",
        "page_view",
        "coupon_claimed",
        "coupon_issued",
        "coupon_redeemed",
    ] {
        ensure!(kinds.contains(k), "{}: no {k} among {kinds:?}", b.name);
    }

    // The report's variant funnels: viewers and claimers per variant, as the events count them.
    let mut expected: BTreeMap<(String, Stage), std::collections::BTreeSet<RecipientId>> = BTreeMap::new();
    for e in &events {
        let stage = match e.data {
            EventData::PageView { .. } => Stage::Viewed,
            EventData::CouponClaimed { .. } => Stage::Claimed,
            EventData::CouponRedeemed { .. } => Stage::Redeemed,
            _ => continue,
        };
        let (Some(v), Some(who)) = (&e.variant, &e.recipient_id) else {
            continue;
        };
        expected.entry((v.clone(), stage)).or_default().insert(who.clone());
    }
    let records: Vec<Record> = events.into_iter().map(|e| Record::Event(Box::new(e))).collect();
    app.db.aggregate(&records, app.now()).await?;
    let report = mcamp_ops::campaign_report::campaign_report(&app.db, &campaign.id).await?;
    ensure!(report.variants.len() == 2, "{}: {:?}", b.name, report.variants);
    for row in &report.variants {
        for stage in [Stage::Viewed, Stage::Claimed, Stage::Redeemed] {
            let want = expected.get(&(row.variant.clone(), stage)).map_or(0, |s| s.len()) as i64;
            let got = row.funnel.iter().find(|s| s.stage == stage).map_or(0, |s| s.people);
            ensure!(
                got == want,
                "{}: variant {} {stage:?}: {got} != {want}",
                b.name,
                row.variant
            );
        }
    }
    ensure!(
        report.ab_test.is_some(),
        "{}: two variants get a verdict section",
        b.name
    );
    Ok(())
}

contract!(variants, super::variants_are_sticky_and_every_event_carries_them);
