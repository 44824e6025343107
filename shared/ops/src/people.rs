//! A campaign's people for the marketer, by name: each person's stage and journey, a page at a
//! time, filtered by stage ("clicked, no coupon", "coupon, not redeemed"). Names and phones
//! are masked unless the caller asks for them, and asking is written to the audit log.

use chrono::{DateTime, Utc};
use mcamp_core::analytics::{Journey, Stage};
use mcamp_core::recipient::{Recipient, RecipientSource};
use mcamp_core::values::{CampaignId, RecipientId};
use mcamp_store::audit::AuditEntry;
use mcamp_store::{Db, DbError, keys};
use serde::Serialize;

/// Which people to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeopleFilter {
    /// Every recipient of the campaign, with a journey or not yet.
    All,
    /// Those whose furthest stage is one of these.
    Stages(Vec<Stage>),
}

impl PeopleFilter {
    /// The named filters and their stages.
    pub const NAMED: [(&'static str, &'static [Stage]); 3] = [
        (
            "clicked-no-coupon",
            &[Stage::Clicked, Stage::Viewed, Stage::Form, Stage::Consent],
        ),
        ("coupon-not-redeemed", &[Stage::Claimed, Stage::Issued]),
        ("not-clicked", &[Stage::Sent, Stage::Delivered, Stage::Failed]),
    ];

    /// `all`, a named filter, or stages separated by commas (`claimed,issued`).
    pub fn parse(s: &str) -> Result<PeopleFilter, String> {
        let s = s.trim();
        if s == "all" {
            return Ok(PeopleFilter::All);
        }
        if let Some((_, stages)) = Self::NAMED.iter().find(|(n, _)| *n == s) {
            return Ok(PeopleFilter::Stages(stages.to_vec()));
        }
        let stages = s
            .split(',')
            .map(|x| {
                Stage::parse(x.trim()).ok_or_else(|| {
                    let names: Vec<&str> = Self::NAMED.iter().map(|(n, _)| *n).collect();
                    let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
                    format!(
                        "unknown filter '{x}': use all, {}, or stages ({})",
                        names.join(", "),
                        stages.join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PeopleFilter::Stages(stages))
    }
}

/// Whether names and phones are shown, and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reveal {
    Masked,
    /// Shown in full to `actor`; logged before anything is read.
    Unmasked {
        actor: String,
    },
}

/// One person of the campaign, as the marketer reads them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub recipient_id: RecipientId,
    /// Masked (`김*지`) unless revealed.
    pub name: Option<String>,
    /// Masked (`010-****-5678`) unless revealed.
    pub phone: Option<String>,
    pub source: RecipientSource,
    pub stage: Stage,
    /// Who brought them in, when they came through a share.
    pub referrer_id: Option<RecipientId>,
    pub in_app: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub first_click_at: Option<DateTime<Utc>>,
    pub clicks: u32,
    pub views: u32,
    /// Page views in the last 7 KST days.
    pub views_7d: u32,
    pub form_at: Option<DateTime<Utc>>,
    pub consent_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub issued_at: Option<DateTime<Utc>>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub redeemed_store: Option<String>,
    pub shares: u32,
    /// Visitors they brought in directly, and coupons redeemed by anyone down their chain.
    pub brought: u32,
    pub credited_redeemed: u32,
    pub opted_out_at: Option<DateTime<Utc>>,
}

/// One page of people, and the cursor of the next (`None` at the end).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeoplePage {
    pub people: Vec<Person>,
    pub next: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error("unknown campaign '{0}' (`mcamp campaign list` shows the campaigns)")]
    UnknownCampaign(CampaignId),
    #[error("not a cursor this listing gave: '{0}'")]
    BadCursor(String),
    #[error("storage")]
    Db(#[from] DbError),
}

/// A name as `김*지`: first and last character kept.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

fn person(r: Option<&Recipient>, id: &RecipientId, j: Option<&Journey>, reveal: &Reveal, now: DateTime<Utc>) -> Person {
    let shown = matches!(reveal, Reveal::Unmasked { .. });
    Person {
        recipient_id: id.clone(),
        name: r
            .and_then(|r| r.name.as_deref())
            .map(|n| if shown { n.to_owned() } else { mask_name(n) }),
        phone: r
            .and_then(|r| r.phone.as_ref())
            .map(|p| if shown { p.dashed() } else { p.masked() }),
        source: r.map(|r| r.source).unwrap_or_default(),
        stage: j.map_or(Stage::Known, Journey::stage),
        referrer_id: r
            .and_then(|r| r.referrer_id.clone())
            .or_else(|| j.and_then(|j| j.referrer_id.clone())),
        in_app: j.and_then(|j| j.in_app.clone()),
        sent_at: j.and_then(|j| j.sent_at),
        delivered_at: j.and_then(|j| j.delivered_at),
        first_click_at: j.and_then(|j| j.first_click.as_ref().map(|s| s.at)),
        clicks: j.map_or(0, |j| j.clicks),
        views: j.map_or(0, |j| j.views),
        views_7d: j.map_or(0, |j| j.views_within(now, 7)),
        form_at: j.and_then(|j| j.form_at),
        consent_at: j.and_then(|j| j.consent_at),
        claimed_at: j.and_then(|j| j.claimed_at),
        issued_at: j.and_then(|j| j.issued_at),
        redeemed_at: j.and_then(|j| j.redeemed_at),
        redeemed_store: j.and_then(|j| j.redeemed_store.as_ref().map(ToString::to_string)),
        shares: j.map_or(0, |j| j.shares),
        brought: j.map_or(0, |j| j.credited.visitors[0]),
        credited_redeemed: j.map_or(0, |j| j.credited.redeemed.iter().sum()),
        opted_out_at: r
            .and_then(|r| r.opted_out_at)
            .or_else(|| j.and_then(|j| j.opted_out_at)),
    }
}

/// One person of the campaign, masked, with their journey; `None` when they are not the
/// campaign's.
pub async fn person_of(
    db: &Db,
    campaign: &CampaignId,
    id: &RecipientId,
    now: DateTime<Utc>,
) -> Result<Option<(Person, Option<Journey>)>, PeopleError> {
    let ids = [id.clone()];
    let profiles = db.recipients_of(&ids).await?;
    let journey = db.journey(id).await?;
    let r = profiles.get(id).filter(|r| &r.campaign_id == campaign);
    let j = journey.filter(|j| &j.campaign_id == campaign);
    if r.is_none() && j.is_none() {
        return Ok(None);
    }
    Ok(Some((person(r, id, j.as_ref(), &Reveal::Masked, now), j)))
}

/// Where a listing goes on: which part (`all`, or a stage), which shard, after whom.
struct Cursor {
    part: usize,
    shard: u8,
    after: Option<RecipientId>,
}

fn parts(filter: &PeopleFilter) -> Vec<Option<Stage>> {
    match filter {
        PeopleFilter::All => vec![None],
        PeopleFilter::Stages(s) => s.iter().copied().map(Some).collect(),
    }
}

fn part_name(p: Option<Stage>) -> &'static str {
    p.map_or("all", Stage::as_str)
}

impl Cursor {
    fn encode(&self, parts: &[Option<Stage>]) -> String {
        let part = parts.get(self.part).copied().flatten();
        let after = self.after.as_ref().map_or("", RecipientId::as_str);
        format!("{}.{}.{after}", part_name(part), self.shard)
    }

    fn decode(s: &str, parts: &[Option<Stage>]) -> Option<Cursor> {
        let mut it = s.splitn(3, '.');
        let (name, shard, after) = (it.next()?, it.next()?, it.next()?);
        let part = parts.iter().position(|p| part_name(*p) == name)?;
        let shard: u8 = shard.parse().ok().filter(|s| *s < keys::SHARDS)?;
        let after = match after {
            "" => None,
            a => Some(RecipientId::parse(a).ok()?),
        };
        Some(Cursor { part, shard, after })
    }
}

/// One page of at most `limit` people (1 to 1,000) after `cursor`.
pub async fn people_page(
    db: &Db,
    campaign: &CampaignId,
    filter: &PeopleFilter,
    cursor: Option<&str>,
    limit: usize,
    reveal: &Reveal,
    now: DateTime<Utc>,
) -> Result<PeoplePage, PeopleError> {
    if db.campaign(campaign).await?.is_none() {
        return Err(PeopleError::UnknownCampaign(campaign.clone()));
    }
    let parts = parts(filter);
    let mut at = match cursor {
        Some(c) => Cursor::decode(c, &parts).ok_or_else(|| PeopleError::BadCursor(c.to_owned()))?,
        None => Cursor {
            part: 0,
            shard: 0,
            after: None,
        },
    };
    if let Reveal::Unmasked { actor } = reveal {
        db.audit(&AuditEntry {
            at: now,
            actor: actor.clone(),
            action: "people.unmasked".into(),
            detail: serde_json::json!({
                "campaign": campaign,
                "filter": parts.iter().map(|p| part_name(*p)).collect::<Vec<_>>(),
                "cursor": cursor,
                "limit": limit,
            }),
        })
        .await?;
    }
    let limit = limit.clamp(1, 1000);
    let mut out = Vec::with_capacity(limit);
    while out.len() < limit && at.part < parts.len() {
        let want = limit - out.len();
        let next = match parts[at.part] {
            None => {
                let (rs, next) = db.recipients_page(campaign, at.shard, at.after.as_ref(), want).await?;
                let ids: Vec<RecipientId> = rs.iter().map(|r| r.id.clone()).collect();
                let journeys = db.journeys_of(&ids).await?;
                out.extend(
                    rs.iter()
                        .map(|r| person(Some(r), &r.id, journeys.get(&r.id), reveal, now)),
                );
                next
            }
            Some(stage) => {
                let (js, next) = db
                    .journeys_at(campaign, stage, at.shard, at.after.as_ref(), want)
                    .await?;
                let ids: Vec<RecipientId> = js.iter().map(|j| j.recipient_id.clone()).collect();
                let profiles = db.recipients_of(&ids).await?;
                out.extend(
                    js.iter()
                        .map(|j| person(profiles.get(&j.recipient_id), &j.recipient_id, Some(j), reveal, now)),
                );
                next
            }
        };
        match next {
            Some(last) => at.after = Some(last),
            None => {
                at.after = None;
                at.shard += 1;
                if at.shard >= keys::SHARDS {
                    at.shard = 0;
                    at.part += 1;
                }
            }
        }
    }
    let next = (at.part < parts.len()).then(|| at.encode(&parts));
    Ok(PeoplePage { people: out, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_inside() {
        assert_eq!(mask_name("김민지"), "김*지");
        assert_eq!(mask_name("남궁민수"), "남**수");
        assert_eq!(mask_name("김민"), "김*");
        assert_eq!(mask_name("A"), "*");
        assert_eq!(mask_name(" "), "");
    }

    #[test]
    fn filters_parse_by_name_or_stage() {
        assert_eq!(PeopleFilter::parse("all"), Ok(PeopleFilter::All));
        assert_eq!(
            PeopleFilter::parse("coupon-not-redeemed"),
            Ok(PeopleFilter::Stages(vec![Stage::Claimed, Stage::Issued]))
        );
        assert_eq!(
            PeopleFilter::parse("clicked, redeemed"),
            Ok(PeopleFilter::Stages(vec![Stage::Clicked, Stage::Redeemed]))
        );
        let err = PeopleFilter::parse("clicked,bogus").err().unwrap_or_default();
        assert!(err.contains("bogus") && err.contains("clicked-no-coupon"), "{err}");
    }

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let parts = parts(&PeopleFilter::Stages(vec![Stage::Claimed, Stage::Issued]));
        let c = Cursor {
            part: 1,
            shard: 7,
            after: RecipientId::parse("AAAAAAAAAAAAAAAA").ok(),
        };
        let s = c.encode(&parts);
        assert_eq!(s, "issued.7.AAAAAAAAAAAAAAAA");
        let back = Cursor::decode(&s, &parts).map(|c| (c.part, c.shard, c.after));
        assert_eq!(back, Some((1, 7, c.after.clone())));
        for bad in ["", "viewed.1.", "issued.16.", "issued.1.short", "issued.x."] {
            assert!(Cursor::decode(bad, &parts).is_none(), "{bad}");
        }
    }
}
