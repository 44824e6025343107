//! Segments on both backends: a simulated population's page views and redemptions go through
//! the aggregator, and `views between 3 and 5 within 7d and not redeemed` selects exactly the
//! people a straightforward count over the simulation names; repeated runs add nobody twice;
//! members (only) see and claim the secret coupon, once.

use std::collections::BTreeSet;

use anyhow::{Context, ensure};
use chrono::{DateTime, Duration, Utc};
use mcamp_core::coupon::Ineligible;
use mcamp_core::events::{Attribution, Event, EventData};
use mcamp_core::values::{CouponCode, CouponId, RecipientId, SegmentId, StoreId};
use mcamp_ops::segments::run_segment;
use mcamp_store::aggregate::Record;
use mcamp_store::claims::{self, ClaimError};
use mcamp_tests::{Backend, call, contract, text};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CAMPAIGN: &str = "id: seg-test
name: 세그먼트 테스트
sender: {brand: 테스트브랜드, opt_out_080: 080-000-0000}
share: {title: 테스트, description: 설명}
message: \"[테스트브랜드] {name}님, 다시 찾아주셔서 감사해요 {link}\"
segments:
  - id: warm
    name: 7일간 3~5번 본 고객
    rule: views >= 3 and views <= 5 within 7d and not redeemed
coupons:
  - id: welcome
    title: 웰컴 쿠폰
    benefit: {kind: amount_off, won: 3000}
    stock: 100
  - id: secret
    title: 비밀 쿠폰
    benefit: {kind: amount_off, won: 5000}
    stock: 100
    secret: true
    eligibility: !segment warm
";

async fn a_segment_selects_exactly_the_people_its_rule_describes(b: Backend) -> anyhow::Result<()> {
    let web = b.web();
    let app = &web.app;
    let campaign = mcamp_ops::campaign_file::parse("seg.yaml", CAMPAIGN)?;
    // Noon in Seoul, so a view `d` whole days ago falls on the KST day `d` days back.
    let now: DateTime<Utc> = "2026-11-30T03:00:00Z".parse()?;
    app.db.push_campaign(&campaign, now).await?;
    let people = mcamp_tests::recipients(&app.db, &campaign, 40).await?;

    // Each person views the page 0 to 7 times, each view 0 to 12 days ago; one in five has
    // redeemed a coupon.
    let mut rng = StdRng::seed_from_u64(18);
    let mut records = Vec::new();
    let mut expected = BTreeSet::new();
    for (i, p) in people.iter().enumerate() {
        let who = Attribution::from(p);
        let mut recent = 0;
        for _ in 0..rng.gen_range(0..=7) {
            let days = rng.gen_range(0..=12);
            if days <= 6 {
                recent += 1;
            }
            let at = now - Duration::days(days) - Duration::minutes(rng.gen_range(0..60));
            let e = Event::new(campaign.id.clone(), at, EventData::PageView { page: "mdm".into() }).by(who.clone());
            records.push(Record::Event(Box::new(e)));
        }
        let redeemed = rng.gen_bool(0.2);
        if redeemed {
            let e = Event::new(
                campaign.id.clone(),
                now - Duration::hours(3),
                EventData::CouponRedeemed {
                    coupon_id: CouponId::parse("welcome")?,
                    code: CouponCode::parse(&format!("SEGTEST{i:05}"))?,
                    store_id: StoreId::parse("gangnam-01")?,
                },
            )
            .by(who);
            records.push(Record::Event(Box::new(e)));
        }
        if (3..=5).contains(&recent) && !redeemed {
            expected.insert(p.id.clone());
        }
    }
    ensure!(
        expected.len() >= 5 && expected.len() < people.len() / 2,
        "a population with members and non-members: {}",
        expected.len()
    );
    app.db.aggregate(&records, now).await?;

    let warm = SegmentId::parse("warm")?;
    let members = |ms: Vec<mcamp_store::segments::Membership>| -> BTreeSet<RecipientId> {
        ms.into_iter().map(|m| m.recipient_id).collect()
    };
    // A dry run counts them and writes nothing.
    let dry = run_segment(&app.db, &campaign.id, &warm, now, true).await?;
    ensure!(dry.people == people.len() && dry.matched == expected.len(), "{dry:?}");
    ensure!(app.db.segment_members(&campaign.id, &warm).await?.is_empty());
    // The run makes exactly them members; a second run adds nobody.
    let first = run_segment(&app.db, &campaign.id, &warm, now, false).await?;
    ensure!(first.added == expected.len() && first.already == 0, "{first:?}");
    ensure!(members(app.db.segment_members(&campaign.id, &warm).await?) == expected);
    let again = run_segment(&app.db, &campaign.id, &warm, now, false).await?;
    ensure!(again.added == 0 && again.already == expected.len(), "{again:?}");
    ensure!(app.db.segment_members(&campaign.id, &warm).await?.len() == expected.len());
    // An unknown segment is named with the known ones.
    let unknown = run_segment(&app.db, &campaign.id, &SegmentId::parse("cold")?, now, true).await;
    ensure!(
        unknown
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("warm")
    );

    // The send list of the segment takes its members only (here none has marketing consent,
    // so all of them are left out for that, and the others are not looked at).
    let opts = mcamp_ops::export::LinkExportOptions {
        base_url: "https://go.brand.kr".into(),
        send_at: now,
        allow_night: false,
        format: mcamp_ops::export::SendFormat::Generic,
        segment: Some(warm.clone()),
    };
    let list = mcamp_ops::export::export_links(
        &app.db,
        &campaign.id,
        &opts,
        |_| Ok(std::io::sink()),
        None::<fn(usize) -> std::io::Result<std::io::Sink>>,
    )
    .await?;
    ensure!(
        list.recipients == expected.len() && list.outside_segment == people.len() - expected.len(),
        "{list:?}"
    );
    ensure!(
        list.excluded.no_marketing_consent == expected.len(),
        "{:?}",
        list.excluded
    );

    // The secret coupon: a member sees it and claims it once; others neither see nor claim it.
    let secret = CouponId::parse("secret")?;
    let member = people.iter().find(|p| expected.contains(&p.id)).context("a member")?;
    let outsider = people
        .iter()
        .find(|p| !expected.contains(&p.id))
        .context("an outsider")?;
    let page = |code: String| {
        let web = &web;
        async move {
            let resp = call(
                web,
                "GET",
                &format!("/p/{code}"),
                &[("user-agent", mcamp_tests::IPHONE_SAFARI)],
                "",
            )
            .await?;
            anyhow::Ok(text(&resp))
        }
    };
    ensure!(page(member.code.to_string()).await?.contains("비밀 쿠폰"));
    ensure!(!page(outsider.code.to_string()).await?.contains("비밀 쿠폰"));
    let queue = app.queue.as_ref();
    let first = claims::claim(&app.db, queue, &campaign, member, None, &secret, app.now()).await?;
    let second = claims::claim(&app.db, queue, &campaign, member, None, &secret, app.now()).await?;
    ensure!(first.claim_id == second.claim_id, "one claim, answered again");
    match claims::claim(&app.db, queue, &campaign, outsider, None, &secret, app.now()).await {
        Err(ClaimError::Ineligible(Ineligible::NotInSegment)) => {}
        other => anyhow::bail!("an outsider's claim: {other:?}"),
    }
    Ok(())
}

/// A segment with its own message: its send list carries that text, checked and composed as
/// the campaign's message (`(광고)`, the brand, the 080 line); the campaign's list keeps its own.
async fn a_segment_sends_its_own_message(b: Backend) -> anyhow::Result<()> {
    let app = b.app();
    let mut c = mcamp_tests::demo_campaign("seg-message")?;
    c.segments = vec![mcamp_core::campaign::SegmentDef {
        id: SegmentId::parse("not-yet")?,
        name: None,
        rule: mcamp_core::segment::parse("not clicked")?,
        message: Some("{name}님, 아직 쿠폰을 안 보셨어요 {link}".into()),
    }];
    app.db.push_campaign(&c, app.now()).await?;
    let list = "이름,휴대폰,마케팅동의\n김민지,010-3100-0001,Y\n이준호,010-3100-0002,Y\n";
    mcamp_tests::import_csv(&app.db, &c, list).await?;
    let seg = SegmentId::parse("not-yet")?;
    let run = run_segment(&app.db, &c.id, &seg, app.now(), false).await?;
    ensure!(run.added == 2, "{}: {run:?}", b.name);
    let day: DateTime<Utc> = "2026-12-01T01:00:00Z".parse()?;
    let (_, rows, _) = mcamp_tests::segment_send_list(&app.db, &c.id, day, Some(seg)).await?;
    ensure!(rows.len() == 2, "{}: {rows:?}", b.name);
    for r in &rows {
        let m = &r[2];
        ensure!(
            m.starts_with("(광고)[봄꽃커피] ")
                && m.contains("님, 아직 쿠폰을 안 보셨어요")
                && m.contains("무료수신거부 080-123-4567"),
            "{}: {m}",
            b.name
        );
    }
    let (_, all, _) = mcamp_tests::send_list(&app.db, &c.id, day).await?;
    ensure!(
        all.iter().all(|r| r[2].contains("벚꽃 라떼 출시")),
        "{}: the campaign's own",
        b.name
    );
    // A segment message that breaks the ad law is refused with the file.
    let bad = mcamp_ops::campaign_file::parse(
        "c.yaml",
        "id: seg-bad\nname: n\nsender: {brand: 봄꽃커피, opt_out_080: 080-123-4567}\nshare: {title: t, description: d}\nsegments:\n  - {id: late, rule: not clicked, message: '[광고] 쿠폰 {link}'}\n",
    );
    ensure!(
        bad.as_ref()
            .err()
            .map(|e| e.to_string())
            .is_some_and(|e| e.contains(":5: segments.message: segment 'late': message: begins with '[광고]'")),
        "{}: {bad:?}",
        b.name
    );
    Ok(())
}

contract!(segments, super::a_segment_selects_exactly_the_people_its_rule_describes);
contract!(segment_message, super::a_segment_sends_its_own_message);
