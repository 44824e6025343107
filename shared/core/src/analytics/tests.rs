use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::client::{AgentKind, Browser, ClientInfo, Device, InApp, Os};
use crate::values::{CouponCode, CouponId, ShortCode};

fn rid(i: usize) -> RecipientId {
    RecipientId::parse(&format!("R{i:015}")).unwrap_or_else(|e| unreachable!("{e}"))
}

fn client(in_app: Option<InApp>) -> ClientInfo {
    ClientInfo {
        agent: AgentKind::Human,
        os: Os::Android,
        device: Device::Phone,
        in_app,
        browser: Browser::Webview,
        bot_name: None,
    }
}

/// An event of person `who` (`kind` picks the type) at minute `minute` of 2026-11-30 KST.
fn event(n: usize, who: usize, kind: u8, minute: i64, referrer: Option<usize>) -> Event {
    let at = DateTime::parse_from_rfc3339("2026-11-30T00:00:00+09:00")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
        + Duration::minutes(minute);
    let code = ShortCode::parse("aZ3kP9qLm2").unwrap_or_else(|e| unreachable!("{e}"));
    let coupon = CouponId::parse("welcome").unwrap_or_else(|e| unreachable!("{e}"));
    let data = match kind % 8 {
        0 => EventData::Click {
            code,
            client: client(if who.is_multiple_of(2) {
                Some(InApp::Kakaotalk)
            } else {
                None
            }),
            first: minute.rem_euclid(3) == 0,
        },
        1 => EventData::PageView { page: "mdm".into() },
        2 => EventData::Interaction {
            action: "cta_tap".into(),
            target: None,
        },
        3 => EventData::CouponClaimed {
            coupon_id: coupon,
            claim_id: format!("c{n}"),
        },
        4 => EventData::CouponIssued {
            coupon_id: coupon,
            claim_id: format!("c{n}"),
            code: CouponCode::parse("7KQ3M9XH2TRA").unwrap_or_else(|e| unreachable!("{e}")),
        },
        5 => EventData::CouponRedeemed {
            coupon_id: coupon,
            code: CouponCode::parse("7KQ3M9XH2TRA").unwrap_or_else(|e| unreachable!("{e}")),
            store_id: StoreId::parse(if minute.rem_euclid(2) == 0 {
                "gangnam-01"
            } else {
                "hongdae-02"
            })
            .unwrap_or_else(|e| unreachable!("{e}")),
        },
        6 => EventData::ShareIntent {
            channel: crate::events::ShareChannel::Kakao,
            share_code: ShortCode::parse("Sh4Re9Cd2x").unwrap_or_else(|e| unreachable!("{e}")),
        },
        _ => EventData::MessageSent {
            channel: crate::events::MessageChannel::Sms,
            sender: "nhn".into(),
            message_id: None,
        },
    };
    let mut e = Event::new(
        CampaignId::parse("spring").unwrap_or_else(|e| unreachable!("{e}")),
        at,
        data,
    );
    e.event_id = format!("E{n:019}");
    e.recipient_id = Some(rid(who));
    e.referrer_id = referrer.map(rid);
    e
}

/// What the store does, without storage: journeys by person, counters from events and from
/// journey changes.
fn fold(events: &[Event]) -> (Counters, BTreeMap<RecipientId, Journey>) {
    let mut counters = Counters::default();
    let mut journeys: BTreeMap<RecipientId, Journey> = BTreeMap::new();
    for e in events {
        counters.add_all(event_counts(e));
        let Some(r) = &e.recipient_id else { continue };
        let before = journeys.get(r).cloned();
        let mut after = before
            .clone()
            .unwrap_or_else(|| Journey::new(e.campaign_id.clone(), r.clone()));
        after.apply(e);
        counters.add_all(people_delta(before.as_ref(), &after));
        journeys.insert(r.clone(), after);
    }
    (counters.without_zeros(), journeys)
}

fn arb_events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec((0usize..12, any::<u8>(), 0i64..3000), 1..80).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(n, (who, kind, minute))| {
                // A person's envelope is the same on all their events: 7..12 came through 12 or 13.
                let referrer = (who > 6).then_some(12 + who % 2);
                event(n, who, kind, minute, referrer)
            })
            .collect()
    })
}

proptest! {
    /// The stream orders nothing: any order of the same events gives the same counters and
    /// journeys.
    #[test]
    fn counters_and_journeys_do_not_depend_on_order(events in arb_events(), seed in any::<u64>()) {
        let (c1, j1) = fold(&events);
        let mut shuffled = events.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let (c2, j2) = fold(&shuffled);
        prop_assert_eq!(c1, c2);
        prop_assert_eq!(j1, j2);
    }

    /// The people counters equal what one computes from the raw events directly.
    #[test]
    fn people_counters_count_people(events in arb_events()) {
        let (c, _) = fold(&events);
        let people = |pick: &dyn Fn(&EventData) -> bool| -> i64 {
            events.iter().filter(|e| pick(&e.data)).filter_map(|e| e.recipient_id.clone()).collect::<BTreeSet<_>>().len() as i64
        };
        prop_assert_eq!(c.total(metric::people::CLICKED), people(&|d| matches!(d, EventData::Click { .. })));
        prop_assert_eq!(c.total(metric::people::VIEWED), people(&|d| matches!(d, EventData::PageView { .. })));
        prop_assert_eq!(c.total(metric::people::REDEEMED), people(&|d| matches!(d, EventData::CouponRedeemed { .. })));
        prop_assert_eq!(c.total(metric::people::SENT), people(&|d| matches!(d, EventData::MessageSent { .. })));
        let viewers: BTreeSet<_> = events.iter().filter(|e| matches!(e.data, EventData::PageView { .. })).filter_map(|e| e.recipient_id.clone()).collect();
        let engaged: BTreeSet<_> = events.iter().filter(|e| matches!(e.data, EventData::Interaction { .. } | EventData::CouponClaimed { .. } | EventData::ShareIntent { .. })).filter_map(|e| e.recipient_id.clone()).collect();
        prop_assert_eq!(c.total(metric::people::BOUNCED), viewers.difference(&engaged).count() as i64);
        let clicks = events.iter().filter(|e| matches!(e.data, EventData::Click { .. })).count() as i64;
        prop_assert_eq!(c.total(metric::CLICKS), clicks);
        let by_day: i64 = c.scopes(Scope::day).map(|(_, m)| m.get(metric::CLICKS).copied().unwrap_or(0)).sum();
        prop_assert_eq!(by_day, clicks);
        let by_in_app: i64 = c.scopes(Scope::in_app).map(|(_, m)| m.get(metric::people::CLICKED).copied().unwrap_or(0)).sum();
        prop_assert_eq!(by_in_app, c.total(metric::people::CLICKED));
    }

    /// A board offered every sharer's growing score in any order ends as the true top.
    #[test]
    fn the_board_keeps_the_true_top(steps in prop::collection::vec((0usize..80, 0u32..3), 1..400)) {
        let mut scores: BTreeMap<usize, SharerScore> = BTreeMap::new();
        let mut board = SharerBoard::default();
        for (who, what) in steps {
            let s = scores.entry(who).or_insert_with(|| SharerScore { recipient_id: rid(who), redeemed: 0, visitors: 0, claims: 0, shares: 0 });
            match what { 0 => s.redeemed += 1, 1 => s.visitors += 1, _ => s.shares += 1 }
            board.offer(s.clone());
        }
        let mut all: Vec<SharerScore> = scores.into_values().collect();
        all.sort_by(|a, b| a.rank_key().cmp(&b.rank_key()));
        all.truncate(BOARD_SIZE);
        prop_assert_eq!(board.top, all);
    }
}

#[test]
fn scopes_round_trip_through_their_keys() {
    for s in [
        Scope::Total,
        Scope::Day("20261130".into()),
        Scope::Hour("2026113014".into()),
        Scope::InApp("kakaotalk".into()),
        Scope::Variant("b".into()),
        Scope::Coupon("welcome".into()),
        Scope::Store("gangnam-01".into()),
    ] {
        assert_eq!(Scope::parse(&s.key()), Some(s));
    }
    assert_eq!(Scope::parse("X#1"), None);
}

#[test]
fn days_and_hours_are_korean() {
    // 15:30 UTC is 00:30 the next day in Seoul.
    let at = DateTime::parse_from_rfc3339("2026-11-29T15:30:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    assert_eq!(kst_day(at), "20261130");
    assert_eq!(kst_hour(at), "2026113000");
}

#[test]
fn rolling_views_keep_recent_days_only() {
    let mut j = Journey::new(
        CampaignId::parse("spring").unwrap_or_else(|e| unreachable!("{e}")),
        rid(1),
    );
    for (n, day) in [0i64, 1, 1, 5, 40].into_iter().enumerate() {
        j.apply(&event(n, 1, 1, day * 24 * 60, None));
    }
    // The 40th day's view pushed days 0 and 1 out of the 35 kept.
    assert_eq!(j.views, 5);
    assert_eq!(j.views_by_day.len(), 1);
    let now = DateTime::parse_from_rfc3339("2026-11-30T00:00:00+09:00")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    assert_eq!(j.views_within(now + Duration::days(41), 7), 1);
    assert_eq!(j.views_within(now + Duration::days(50), 7), 0);
}

#[test]
fn the_stage_is_the_furthest_reached() {
    let mut j = Journey::new(
        CampaignId::parse("spring").unwrap_or_else(|e| unreachable!("{e}")),
        rid(1),
    );
    assert_eq!(j.stage(), Stage::Known);
    j.apply(&event(1, 1, 7, 0, None));
    assert_eq!(j.stage(), Stage::Sent);
    j.apply(&event(2, 1, 3, 5, None));
    assert_eq!(j.stage(), Stage::Claimed);
    j.apply(&event(3, 1, 0, 1, None));
    assert_eq!(j.stage(), Stage::Claimed, "an earlier click does not move it back");
    assert_eq!(j.in_app.as_deref(), Some("none"));
}

/// The learning offer's counts: a person offered a coupon counts once in their segment, and
/// as redeeming it whichever of the two events comes first; a redemption of another coupon
/// does not count; the holdout counts apart.
#[test]
fn offer_counts_hold_whatever_the_order() {
    use crate::experiment::Segment;
    use crate::values::{AgeBand, Gender};
    let seg = Segment::new(Some(Gender::Female), Some(AgeBand::Thirties));
    let offered = |n: usize, who: usize, coupon: &str, holdout: bool| {
        let mut e = event(n, who, 1, 0, None);
        e.data = EventData::CouponOffered {
            coupon_id: CouponId::parse(coupon).unwrap_or_else(|e| unreachable!("{e}")),
            segment: seg,
            holdout,
        };
        e
    };
    let redeemed = |n: usize, who: usize, coupon: &str| {
        let mut e = event(n, who, 5, 10, None);
        if let EventData::CouponRedeemed { coupon_id, .. } = &mut e.data {
            *coupon_id = CouponId::parse(coupon).unwrap_or_else(|e| unreachable!("{e}"));
        }
        e
    };
    let story = vec![
        offered(1, 1, "latte-20", false),
        redeemed(2, 1, "latte-20"),
        // Redeemed before the offer's event arrived.
        redeemed(3, 2, "latte-20"),
        offered(4, 2, "latte-20", false),
        // Offered one coupon, redeemed another.
        offered(5, 3, "latte-20", false),
        redeemed(6, 3, "welcome"),
        // The holdout, on the baseline.
        offered(7, 4, "latte-1000", true),
        redeemed(8, 4, "latte-1000"),
        offered(9, 5, "latte-1000", true),
    ];
    let mut twice = story.clone();
    twice.reverse();
    for events in [story.clone(), twice] {
        let (counters, _) = fold(&events);
        let counts = bandit_counts(&counters);
        let t = counts.offered[&seg]["latte-20"];
        assert_eq!((t.offers, t.redemptions), (3, 2), "{counts:?}");
        assert!(!counts.offered[&seg].contains_key("latte-1000"), "holdout apart");
        assert_eq!((counts.holdout[&seg].offers, counts.holdout[&seg].redemptions), (2, 1));
    }
}
