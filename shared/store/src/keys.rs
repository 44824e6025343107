//! Every key mcamp writes, in one place. docs/data-model.md is this file in prose: keep both true.

use chrono::{DateTime, Utc};
use mcamp_core::customer::CustomerKey;
use mcamp_core::values::{BrandId, CampaignId, CouponCode, CouponId, RecipientId, ShortCode, StoreId};

/// Shards of write-sharded partitions (recipient listing, events): spreads 10^6 writes of one
/// campaign over 16 partitions; readers query all 16.
pub const SHARDS: u8 = 16;

/// Shard of an identifier: FNV-1a of its bytes, modulo `SHARDS` (even for any alphabet, unlike
/// a last character of base62 or base32).
pub fn shard_of(id: &str) -> u8 {
    let h = id
        .bytes()
        .fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    (h % u32::from(SHARDS)) as u8
}

pub const SK_META: &str = "META";
pub const SK_PROFILE: &str = "PROFILE";
pub const SK_LINK: &str = "LINK";
pub const SK_STORE: &str = "STORE";
pub const SK_COUPON: &str = "COUPON";

pub fn campaign(c: &CampaignId) -> String {
    format!("CAMP#{c}")
}
pub const CAMPAIGN_LIST: &str = "CAMPAIGNS";

pub fn recipient(r: &RecipientId) -> String {
    format!("RCPT#{r}")
}
/// GSI1 partition listing a campaign's recipients, shard by shard.
pub fn recipients_of(c: &CampaignId, shard: u8) -> String {
    format!("CAMP#{c}#R#{shard:02}")
}
/// De-duplicates recipients by customer within a campaign (`PHONE#{c}#{customer key}` /
/// `PHONE`): the customer key is a keyed hash, so no phone number is ever a key.
pub fn phone(c: &CampaignId, customer: &CustomerKey) -> String {
    format!("PHONE#{c}#{customer}")
}
pub const SK_PHONE: &str = "PHONE";
pub fn link(code: &ShortCode) -> String {
    format!("LINK#{code}")
}
/// Who a recipient brought in: items `REF#{sharer}` / `{visitor}`.
pub fn referrals(sharer: &RecipientId) -> String {
    format!("REF#{sharer}")
}
/// A brand's customer: `CUST#{brand}#{key}` / `CUSTOMER`; the same partition holds their
/// consent ledger (`CONSENT#…`), the recipients that are them (`RCPT#{id}`) and the coupons
/// they took (`CLAIM#…`).
pub fn customer(brand: &BrandId, key: &CustomerKey) -> String {
    format!("CUST#{brand}#{key}")
}
pub const SK_CUSTOMER: &str = "CUSTOMER";
/// A recipient that is this customer (`campaign_id`, `recipient_id`).
pub fn customer_recipient_sk(r: &RecipientId) -> String {
    format!("{CUSTOMER_RECIPIENT_PREFIX}{r}")
}
pub const CUSTOMER_RECIPIENT_PREFIX: &str = "RCPT#";
/// A coupon slot this customer took in a campaign, whichever of their recipients claimed it:
/// once per person is once per customer.
pub fn customer_claim_sk(c: &CampaignId, coupon: &CouponId, slot: u32) -> String {
    format!("{}{slot:03}", customer_claims_prefix(c, coupon))
}
/// The prefix of a customer's slots of one coupon.
pub fn customer_claims_prefix(c: &CampaignId, coupon: &CouponId) -> String {
    format!("CLAIM#{c}#{coupon}#")
}

/// Something already recorded once (`ONCE#{key}` / `ONCE`, expiring): a webhook's delivery id
/// (`kakao:{X-Kakao-Resource-ID}`), or a crawler's preview of a link in one hour
/// (`preview:{code}:{bot}:{hour}`), so a repeat records nothing.
pub fn once(key: &str) -> String {
    format!("ONCE#{key}")
}
pub const SK_ONCE: &str = "ONCE";
/// How long such a key is remembered.
pub const ONCE_TTL_DAYS: i64 = 7;

/// A consent confirmation link's code: `CONFIRM#{code}` / `CONFIRM`, expiring (`ttl`).
pub fn confirmation(code: &ShortCode) -> String {
    format!("CONFIRM#{code}")
}
pub const SK_CONFIRM: &str = "CONFIRM";

/// A consent ledger entry on the customer, ordered by time to the microsecond (a grant and a
/// withdrawal in the same millisecond still read in order).
pub fn consent_sk(at_micros: i64, seq: &str) -> String {
    format!("{CONSENT_PREFIX}{at_micros:018}#{seq}")
}
pub const CONSENT_PREFIX: &str = "CONSENT#";
pub fn events(c: &CampaignId, shard: u8) -> String {
    format!("EV#{c}#{shard:02}")
}
/// An event's sort key: time order to the millisecond, then its id.
pub fn event_sk(at: DateTime<Utc>, event_id: &str) -> String {
    format!("{}#{event_id}", at.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
}
pub fn coupon_stock(c: &CampaignId, coupon: &CouponId) -> (String, String) {
    (campaign(c), format!("STOCK#{coupon}"))
}
/// The per-person claim record: permanent, so a redelivered job never issues twice.
pub fn claim(r: &RecipientId, coupon: &CouponId, n: u32) -> (String, String) {
    (recipient(r), format!("CLAIM#{coupon}#{n:03}"))
}
/// GSI1 partition of the claims still pending (a sparse index: the decision removes the
/// attributes), write-sharded by claim id and sorted by claim time, for the sweeper.
pub fn pending_claims(shard: u8) -> String {
    format!("PENDING#{shard:02}")
}
/// A pending claim's place in `pending_claims`: its time, then its id.
pub fn pending_claim_sk(claimed_at: DateTime<Utc>, claim_id: &str) -> String {
    format!("{}#{claim_id}", claimed_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
}

/// The per-person issue record of a slot: created once, so a slot is never issued twice.
pub fn issued_record(r: &RecipientId, coupon: &CouponId, n: u32) -> (String, String) {
    (recipient(r), format!("ISSUED#{coupon}#{n:03}"))
}
pub fn issued_coupon(code: &CouponCode) -> String {
    format!("COUPON#{code}")
}
/// GSI1 partition listing a coupon definition's issued coupons, write-sharded by code.
pub fn issued_coupons_of(c: &CampaignId, coupon: &CouponId, shard: u8) -> String {
    format!("CAMP#{c}#CPN#{coupon}#{shard:02}")
}
pub fn code_pool(c: &CampaignId, coupon: &CouponId) -> String {
    format!("POOL#{c}#{coupon}")
}
pub fn store(s: &StoreId) -> String {
    format!("STORE#{s}")
}
/// A store's redemptions in one minute (`STORE#{id}` / `RATE#{%Y%m%d%H%M}`, expiring).
pub fn store_rate_sk(minute: DateTime<Utc>) -> String {
    format!("RATE#{}", minute.format("%Y%m%d%H%M"))
}

/// New visitors one network brought into a campaign (`NET#{campaign}#{tag}` / `H#{%Y%m%d%H}`,
/// expiring): the tag is a keyed hash of the source address, never the address.
pub fn network_window(c: &CampaignId, tag: &str) -> String {
    format!("NET#{c}#{tag}")
}
pub fn hour_sk(at: DateTime<Utc>) -> String {
    format!("H#{}", at.format("%Y%m%d%H"))
}

/// A respondent's survey response: `RCPT#{id}` / `SURVEY`.
pub const SK_SURVEY: &str = "SURVEY";
/// One partition of a campaign's maintained survey aggregates, `AGG#{c}#{shard:02}`: 16 of
/// them, so a survey's writes spread over 16 partition keys. Reports read these, never the
/// responses.
pub fn aggregates(c: &CampaignId, shard: u8) -> String {
    format!("AGG#{c}#{shard:02}")
}
/// The answer counts of a scope (`dn|`, `rs|`, `v|`): large, written once per response, by
/// the save that completes it.
pub fn answers_sk(scope: &str) -> String {
    format!("{scope}#A")
}
/// The progress counters of a scope (`st`, `an|`, `at|`, `sc`, `inv`): small, moved by every
/// save, so most saves write a small item.
pub fn progress_sk(scope: &str) -> String {
    format!("{scope}#P")
}
/// Aggregate scope of a plain survey: the whole campaign (in each of the `SHARDS` partitions,
/// by the respondent's shard).
pub const SCOPE_ALL: &str = "ALL";
/// Aggregate scope of one MCS store in one ISO week (KST), e.g. `ST#gangnam#2026-W47`, in
/// the store's shard.
pub fn store_week_scope(store: &StoreId, week: &str) -> String {
    format!("ST#{store}#{week}")
}
/// Invitations (imported recipients) of a campaign, counted by the import.
pub const SCOPE_INVITED: &str = "INV";
/// A store's permanent MCS link: `CAMP#{c}` / `STORELINK#{store}`.
pub fn store_link_sk(store: &StoreId) -> String {
    format!("{STORE_LINK_PREFIX}{store}")
}
pub const STORE_LINK_PREFIX: &str = "STORELINK#";

/// Shards of a campaign's counters (`STAT#{c}#{shard:02}`): each aggregator write goes to one
/// picked at random, so a blast of clicks spreads over 8 partitions; the report reads all 8.
pub const STAT_SHARDS: u8 = 8;
/// One partition of a campaign's counters. Its items are `analytics::Scope::key` (`T`,
/// `D#{day}`, `H#{hour}`, `I#…`, `V#…`, `C#…`, `S#…`) and `BOARD`, the top sharers of the
/// sharers whose `shard_of(id) % STAT_SHARDS` is this shard.
pub fn stats(c: &CampaignId, shard: u8) -> String {
    format!("STAT#{c}#{shard:02}")
}
pub const SK_BOARD: &str = "BOARD";
/// Counters of stream records that named no campaign the aggregator could read.
pub const STATS_UNREADABLE: &str = "STAT#-";
/// A person's journey in their campaign: `RCPT#{id}` / `JOURNEY`.
pub const SK_JOURNEY: &str = "JOURNEY";
/// GSI1 partition listing a campaign's journeys at one stage, write-sharded by recipient.
pub fn journeys_at(c: &CampaignId, stage: &str, shard: u8) -> String {
    format!("CAMP#{c}#J#{stage}#{shard:02}")
}
/// An event the aggregator has counted (`AGGSEEN#{event_id}` / `SEEN`, expiring): a redelivered
/// stream record finds it and counts nothing.
pub fn aggregated(event_id: &str) -> String {
    format!("AGGSEEN#{event_id}")
}
pub const SK_SEEN: &str = "SEEN";
/// How long the aggregator remembers a counted event: the stream keeps records 24 hours.
pub const AGGREGATED_TTL_DAYS: i64 = 3;
/// A KakaoTalk chat room a campaign's share reached (`ROOM#{c}#{hashed chat id}` / `ROOM`), to
/// count distinct rooms.
pub fn share_room(c: &CampaignId, chat: &str) -> String {
    format!("ROOM#{c}#{chat}")
}
pub const SK_ROOM: &str = "ROOM";
/// Where a change-feed consumer of the local gateway got to (`CURSOR#{name}` / `CURSOR`).
pub fn cursor(name: &str) -> String {
    format!("CURSOR#{name}")
}
pub const SK_CURSOR: &str = "CURSOR";
/// The audit log of one KST month (`AUDIT#{%Y%m}` / `{at}#{random}`): who saw or exported
/// what. Read by month.
pub fn audit(month: &str) -> String {
    format!("AUDIT#{month}")
}
pub fn audit_sk(at: DateTime<Utc>, nonce: &str) -> String {
    format!("{}#{nonce}", at.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
}
/// A console user: `USER#{email}` / `USER`, listed in GSI1 under `USERS` by e-mail.
pub fn user(email: &mcamp_core::users::Email) -> String {
    format!("USER#{email}")
}
pub const SK_USER: &str = "USER";
pub const USER_LIST: &str = "USERS";

/// A segment membership in the recipient's partition: `RCPT#{recipient}` / `SEG#{segment}`.
pub fn segment_member_sk(s: &mcamp_core::values::SegmentId) -> String {
    format!("{SEGMENT_MEMBER_PREFIX}{s}")
}
pub const SEGMENT_MEMBER_PREFIX: &str = "SEG#";
/// GSI1 partition listing a segment's members, shard by shard.
pub fn segment_members(c: &CampaignId, s: &mcamp_core::values::SegmentId, shard: u8) -> String {
    format!("CAMP#{c}#SEG#{s}#{shard:02}")
}

/// A read-only link, by the SHA-256 of its token.
pub fn view_link(id: &str) -> String {
    format!("VIEW#{id}")
}
pub const SK_VIEW_LINK: &str = "VIEW";
/// GSI1 partition listing a campaign's read-only links.
pub fn view_links_of(c: &CampaignId) -> String {
    format!("CAMP#{c}#VIEWS")
}
/// Failed console sign-ins of one account or network in one window (`LOGIN#{who}` /
/// `W#{%Y%m%d%H%M}` of the window's start, expiring): `who` is `acct:{email}` or `net:{tag}`, the
/// network's keyed hash, never an address.
pub fn sign_ins(who: &str) -> String {
    format!("LOGIN#{who}")
}
pub fn sign_in_window_sk(start: DateTime<Utc>) -> String {
    format!("W#{}", start.format("%Y%m%d%H%M"))
}

/// A follow-up's record of one customer (`FU#{campaign}#{follow-up}#{customer}` / `FOLLOWUP`):
/// put only if absent, so a customer gets a follow-up once, whichever of their recipients it
/// would have gone to and however often it runs.
pub fn follow_up_marker(c: &CampaignId, f: &mcamp_core::follow_up::FollowUpId, customer: &CustomerKey) -> String {
    format!("FU#{c}#{f}#{customer}")
}
pub const SK_FOLLOW_UP: &str = "FOLLOWUP";
/// GSI1 partition listing a follow-up's records, shard by shard (by customer).
pub fn follow_up_markers(c: &CampaignId, f: &mcamp_core::follow_up::FollowUpId, shard: u8) -> String {
    format!("CAMP#{c}#FU#{f}#{shard:02}")
}
