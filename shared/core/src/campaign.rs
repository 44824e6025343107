//! Campaign definitions, as marketers write them (YAML, see examples/) and as stored.
//!
//! Unknown fields are rejected so a typo in a campaign file is an error, not a silent default.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{BrandId, CampaignId, CouponId, ParseError, SegmentId, StoreId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    pub id: CampaignId,
    /// Internal name, shown to marketers.
    pub name: String,
    #[serde(default)]
    pub kind: CampaignKind,
    #[serde(default)]
    pub status: CampaignStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Who sends; required by the ad law in every message.
    pub sender: Sender,
    /// Title, description and image of the link preview card (Open Graph) and the Kakao share.
    pub share: ShareCard,
    /// The M-DM page.
    #[serde(default)]
    pub page: PageDef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<InfoForm>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coupons: Vec<CouponDef>,
    /// Groups of this campaign's people by what they did (`mcamp segments run`): a coupon with
    /// `eligibility: !segment ID` is offered to its members only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentDef>,
    /// Messages sent on the schedule to those whose journey matches, e.g. a day after the send:
    /// the clickers one message, the others another (`follow_up`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<crate::follow_up::FollowUp>,
    /// A/B test of the page: 2 to 4 variants with weights adding up to 100. Each person is
    /// assigned one when they are created, for good, and their events carry its name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<PageVariant>,
    /// The offer that learns: its coupons are those with `eligibility: offered` (2 to 4, the
    /// first the baseline); each person is offered one, picked per gender × age band by what
    /// redeems best so far, except a random holdout who get the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferDef>,
    /// The M-Survey (kind `survey`) or the store rating (kind `mcs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<crate::survey::SurveyDef>,
    /// SMS/LMS text with `{link}` and `{name}` placeholders; `(광고)` and the opt-out line are added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The LMS subject (at most 40 bytes in EUC-KR); the brand name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_subject: Option<String>,
    /// Days after the campaign ends that its recipients' personal data is kept (what the
    /// privacy notice promises, e.g. 180 for "이벤트 종료 후 6개월"); then it is erased unless
    /// a standing marketing consent keeps the customer's contact details.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

/// Six months, what Korean event privacy notices usually promise.
pub const DEFAULT_RETENTION_DAYS: u32 = 180;
/// Five years at most: the longest a marketer may promise in a campaign file.
pub const MAX_RETENTION_DAYS: u32 = 1825;

fn default_retention_days() -> u32 {
    DEFAULT_RETENTION_DAYS
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    #[default]
    Mdm,
    Survey,
    Mcs,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    #[default]
    Active,
    Paused,
    Ended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    /// Brand name as the law wants it in the message, e.g. `봄꽃커피`.
    pub brand: String,
    /// The brand whose customers these are: consent and opt-outs count per brand, across its
    /// campaigns. `default` when a deployment serves one brand.
    #[serde(default)]
    pub brand_id: BrandId,
    /// Free opt-out number, `080-…`.
    pub opt_out_080: String,
    /// Business contact shown in the page footer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareCard {
    pub title: String,
    pub description: String,
    /// Absolute https URL of an image (800×400 works for Kakao feed cards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Most new visitors one share link brings in (a group chat reaches hundreds; a script
    /// would reach the whole coupon stock). Past it the link shows a Korean 429 page.
    #[serde(default = "default_visitors_per_share")]
    pub max_visitors: u32,
    /// Most new visitors one network (a source address; an IPv6 /64) mints through share and
    /// store links, and forwarded personal links, per hour: what a family, an office or a
    /// store's Wi-Fi brings in, far below what a script would.
    #[serde(default = "default_visitors_per_network_hour")]
    pub visitors_per_network_hour: u32,
}

/// `share.visitors_per_network_hour` when the file sets none.
pub const VISITORS_PER_NETWORK_HOUR: u32 = 60;

fn default_visitors_per_network_hour() -> u32 {
    VISITORS_PER_NETWORK_HOUR
}

/// `share.max_visitors` when the file sets none.
pub const VISITORS_PER_SHARE: u32 = 300;

fn default_visitors_per_share() -> u32 {
    VISITORS_PER_SHARE
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageDef {
    /// `{name}` is replaced by the recipient's name (escaped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    #[serde(default)]
    pub blocks: Vec<Block>,
    /// Brand colour for buttons, `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent: Option<String>,
}

/// One content block of the M-DM page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Block {
    Hero {
        image: Image,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    Gallery {
        images: Vec<Image>,
    },
    Video {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mp4: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        youtube_id: Option<String>,
        poster: Image,
    },
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heading: Option<String>,
        body: String,
    },
    Products {
        items: Vec<Product>,
    },
    Button {
        label: String,
        url: String,
    },
    Store {
        name: String,
        address: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        map_url: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    pub src: String,
    pub alt: String,
    /// Intrinsic size, so the page reserves the space (no layout shift).
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    /// Price in won before discount.
    pub price: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The info form: what the campaign asks, and the consent wording it asks it with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfoForm {
    pub fields: Vec<FormField>,
    /// Version of the consent wording, recorded in the ledger with every consent.
    pub consent_version: String,
    /// Required: collection and use of personal information (PIPA §15).
    pub privacy_consent: String,
    /// Optional and separate: marketing messages (PIPA §22).
    pub marketing_consent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stores: Option<Vec<StoreOption>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormField {
    Name,
    Phone,
    Gender,
    BirthYear,
    AgeBand,
    Region,
    PreferredStore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreOption {
    pub id: StoreId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponDef {
    pub id: CouponId,
    pub title: String,
    pub benefit: Benefit,
    /// Hard cap on coupons issued, all recipients together.
    pub stock: u32,
    /// Coupons one recipient may hold.
    #[serde(default = "one")]
    pub per_person: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub codes: CodeSource,
    #[serde(default)]
    pub eligibility: Eligibility,
    /// Offered only to eligible recipients; others never see it.
    #[serde(default)]
    pub secret: bool,
    /// Declares the coupon a marketing benefit: only then may it require marketing consent.
    #[serde(default)]
    pub requires_marketing_consent: bool,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Benefit {
    AmountOff { won: u64 },
    PercentOff { percent: u8 },
    Gift { item: String },
}

impl Benefit {
    pub fn label_ko(&self) -> String {
        match self {
            Benefit::AmountOff { won } => format!("{} 할인", format_won(*won)),
            Benefit::PercentOff { percent } => format!("{percent}% 할인"),
            Benefit::Gift { item } => format!("{item} 증정"),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSource {
    /// mcamp generates unguessable codes.
    #[default]
    Generated,
    /// Codes imported from the store's POS (`mcamp coupons import-codes`).
    Pool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    #[default]
    Everyone,
    FormCompleted,
    SurveyCompleted,
    /// Survey done and the info form sent (an MCS thank-you coupon needs the phone number).
    SurveyAndFormCompleted,
    /// Members of the campaign's segment (`mcamp segments run` makes them members).
    Segment(SegmentId),
    /// One of the learning offer's coupons: only the person it was offered to sees it.
    Offered,
}

/// The learning offer's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferDef {
    /// People, in whole percent (0 to 50), offered the baseline whatever their segment: what
    /// the learned offer's redemption is measured against.
    #[serde(default = "default_holdout_percent")]
    pub holdout_percent: u32,
}

fn default_holdout_percent() -> u32 {
    crate::experiment::HoldoutShare::DEFAULT.percent()
}

/// The arm name of the offer's holdout in counters and reports; no offered coupon may take it.
pub const HOLDOUT_ARM: &str = "holdout";

/// One page variant of an A/B test. What it leaves out is the campaign's own `page:`, so a
/// variant may change only the hero image, or only the greeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageVariant {
    /// `A`, `B`, `봄-할인`: what reports and rules (`variant = B`) call it.
    pub name: String,
    /// Share of new people who get it, in whole percent; the variants' weights add up to 100.
    pub weight: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<Block>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent: Option<String>,
}

/// A segment: the people of the campaign whose journey matches `rule` when it is run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    pub id: SegmentId,
    /// What the marketer calls it (shown in reports and the console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub rule: crate::segment::Rule,
    /// The text message of the segment's send list (`{name}`, `{link}`, checked as the
    /// campaign's `message`); the campaign's `message` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Segments one campaign may define.
pub const MAX_SEGMENTS: usize = 20;

/// Longest URL a campaign file may carry.
pub const MAX_URL: usize = 2048;

/// Where a link may take a recipient: the web over TLS (`https:`), or with `apps` the phone's
/// own apps (`tel:`, `sms:`, `kakaotalk:`). Never `javascript:`, `data:` or plain `http:`.
pub fn check_link(field: &'static str, url: &str, apps: bool) -> Result<(), ParseError> {
    let bad = |why: &str| Err(ParseError::new(field, why));
    if url.len() > MAX_URL || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("must be one URL without spaces, at most 2048 characters");
    }
    let lower = url.to_ascii_lowercase();
    let web = lower.starts_with("https://") && url.len() > "https://".len();
    let app = apps && ["tel:", "sms:", "kakaotalk:"].iter().any(|s| lower.starts_with(s));
    if web || app {
        Ok(())
    } else if apps {
        bad("must start with https:// (or tel:, sms:, kakaotalk:)")
    } else {
        bad("must start with https://")
    }
}

/// Where an image may come from: `https:`, or an inline raster or SVG image (`data:image/…`,
/// which an `<img>` shows but never runs).
pub fn check_image(field: &'static str, img: &Image) -> Result<(), ParseError> {
    let lower = img.src.to_ascii_lowercase();
    let inline = ["png", "jpeg", "gif", "webp", "svg+xml"]
        .iter()
        .any(|t| lower.starts_with(&format!("data:image/{t}")));
    if inline && !img.src.chars().any(char::is_control) {
        return Ok(());
    }
    check_link(field, &img.src, false)
}

/// Every URL of a page's blocks, checked (`check_link`, `check_image`).
fn check_block_urls(blocks: &[Block]) -> Result<(), ParseError> {
    for b in blocks {
        match b {
            Block::Hero { image, .. } => check_image("page.blocks.image.src", image)?,
            Block::Gallery { images } => {
                for i in images {
                    check_image("page.blocks.images.src", i)?;
                }
            }
            Block::Video { mp4, poster, .. } => {
                check_image("page.blocks.poster.src", poster)?;
                if let Some(u) = mp4 {
                    check_link("page.blocks.mp4", u, false)?;
                }
            }
            Block::Products { items } => {
                for p in items {
                    if let Some(i) = &p.image {
                        check_image("page.blocks.items.image.src", i)?;
                    }
                    if let Some(u) = &p.url {
                        check_link("page.blocks.items.url", u, false)?;
                    }
                }
            }
            Block::Button { url, .. } => check_link("page.blocks.url", url, true)?,
            Block::Store { map_url, .. } => {
                if let Some(u) = map_url {
                    check_link("page.blocks.map_url", u, false)?;
                }
            }
            Block::Text { .. } => {}
        }
    }
    Ok(())
}

fn check_accent(field: &'static str, accent: &str) -> Result<(), ParseError> {
    let ok = accent.len() == 7 && accent.starts_with('#') && accent[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(ParseError::new(field, "must be a colour such as #FF5A00"))
    }
}

impl Campaign {
    /// Every URL of the pages and the share card, checked (`check_link`, `check_image`).
    fn check_urls(&self) -> Result<(), ParseError> {
        if let Some(img) = &self.share.image {
            check_link("share.image", img, false)?;
        }
        check_block_urls(&self.page.blocks)?;
        for v in &self.variants {
            if let Some(blocks) = &v.blocks {
                check_block_urls(blocks)?;
            }
        }
        Ok(())
    }

    /// The salt of the page's A/B assignment: another campaign, another draw.
    fn variant_salt(&self) -> String {
        format!("{}/page", self.id)
    }

    /// The page variant a new person gets (`None` without an A/B test): a hash of the campaign
    /// and the person, weighted; kept on the recipient from then on.
    pub fn assign_variant(&self, who: &crate::values::RecipientId) -> Option<String> {
        if self.variants.is_empty() {
            return None;
        }
        let arms: Vec<(&str, u32)> = self.variants.iter().map(|v| (v.name.as_str(), v.weight)).collect();
        Some(crate::experiment::assign(&self.variant_salt(), who.as_str(), &arms).to_owned())
    }

    /// The page a person of `variant` sees: the campaign's page with the variant's parts.
    /// An unknown or absent variant (a person from before the test) sees the campaign's page.
    pub fn page_for(&self, variant: Option<&str>) -> std::borrow::Cow<'_, PageDef> {
        let Some(v) = variant.and_then(|name| self.variants.iter().find(|v| v.name == name)) else {
            return std::borrow::Cow::Borrowed(&self.page);
        };
        std::borrow::Cow::Owned(PageDef {
            greeting: v.greeting.clone().or_else(|| self.page.greeting.clone()),
            blocks: v.blocks.clone().unwrap_or_else(|| self.page.blocks.clone()),
            accent: v.accent.clone().or_else(|| self.page.accent.clone()),
        })
    }

    /// The learning offer's coupons, the baseline first; empty without an offer.
    pub fn offered_coupons(&self) -> Vec<&CouponId> {
        self.coupons
            .iter()
            .filter(|c| c.eligibility == Eligibility::Offered)
            .map(|c| &c.id)
            .collect()
    }

    /// The salt of the offer's holdout draw.
    pub fn offer_salt(&self) -> String {
        format!("{}/offer", self.id)
    }

    /// The offer's holdout share (the default when `offer:` is left out).
    pub fn offer_holdout(&self) -> crate::experiment::HoldoutShare {
        let percent = self
            .offer
            .as_ref()
            .map_or_else(default_holdout_percent, |o| o.holdout_percent);
        crate::experiment::HoldoutShare::new(percent).unwrap_or(crate::experiment::HoldoutShare::DEFAULT)
    }

    /// What replacing `before` with this definition does to people already in its A/B test
    /// and its learning offer, which a push should say: offers and variants are kept on the
    /// people, so a removed coupon or variant leaves them without it.
    pub fn experiment_warnings(&self, before: &Campaign) -> Vec<String> {
        let mut out = Vec::new();
        let offered = self.offered_coupons();
        for gone in before.offered_coupons().into_iter().filter(|c| !offered.contains(c)) {
            out.push(format!(
                "offer: '{gone}' is no longer offered; people it was offered to see no offered coupon now"
            ));
        }
        if let (Some(was), Some(now)) = (before.offered_coupons().first(), offered.first())
            && was != now
        {
            out.push(format!(
                "offer: the baseline is now '{now}', not '{was}'; the holdout's counts so far are of '{was}'"
            ));
        }
        for gone in before
            .variants
            .iter()
            .filter(|v| !self.variants.iter().any(|n| n.name == v.name))
        {
            out.push(format!(
                "variants: '{}' is gone; its people see the campaign's page now",
                gone.name
            ));
        }
        let weights = |c: &Campaign| {
            c.variants
                .iter()
                .map(|v| (v.name.clone(), v.weight))
                .collect::<Vec<_>>()
        };
        if !before.variants.is_empty() && !self.variants.is_empty() && weights(before) != weights(self) {
            out.push(
                "variants: new weights apply to people created from now on; those already in keep their variant"
                    .to_owned(),
            );
        }
        out
    }

    fn check_offer(&self) -> Result<(), ParseError> {
        let offered = self.offered_coupons();
        if let Some(o) = &self.offer {
            crate::experiment::HoldoutShare::new(o.holdout_percent)?;
            if offered.is_empty() {
                return Err(ParseError::new(
                    "offer",
                    "an offer needs 2 to 4 coupons with eligibility: offered",
                ));
            }
        }
        if offered.is_empty() {
            return Ok(());
        }
        if self.kind != CampaignKind::Mdm {
            return Err(ParseError::new(
                "coupons.eligibility",
                "only an M-DM page (kind mdm) makes a learning offer",
            ));
        }
        let (min, max) = (crate::experiment::MIN_ARMS, crate::experiment::MAX_ARMS);
        if !(min..=max).contains(&offered.len()) {
            return Err(ParseError::new(
                "coupons.eligibility",
                format!(
                    "the learning offer needs {min} to {max} coupons with eligibility: offered, not {}",
                    offered.len()
                ),
            ));
        }
        // A journey remembers this many redeemed coupons: enough to know an offered one was.
        if self.coupons.len() > crate::analytics::MAX_COUPONS_KEPT {
            return Err(ParseError::new(
                "coupons",
                format!(
                    "a campaign with a learning offer has at most {} coupons",
                    crate::analytics::MAX_COUPONS_KEPT
                ),
            ));
        }
        if offered.iter().any(|c| c.as_str() == HOLDOUT_ARM) {
            return Err(ParseError::new(
                "coupons.id",
                format!("'{HOLDOUT_ARM}' names the offer's holdout; call the coupon something else"),
            ));
        }
        Ok(())
    }

    fn check_variants(&self) -> Result<(), ParseError> {
        if !self.variants.is_empty() {
            if self.kind != CampaignKind::Mdm {
                return Err(ParseError::new(
                    "variants",
                    "only an M-DM page (kind mdm) has page variants",
                ));
            }
            let arms: Vec<(&str, u32)> = self.variants.iter().map(|v| (v.name.as_str(), v.weight)).collect();
            crate::experiment::check_arms("variants", &arms)?;
            for v in &self.variants {
                if let Some(a) = &v.accent {
                    check_accent("variants.accent", a)?;
                }
            }
        }
        for s in &self.segments {
            for name in s.rule.variant_names() {
                if !self.variants.iter().any(|v| v.name == name) {
                    let known: Vec<&str> = self.variants.iter().map(|v| v.name.as_str()).collect();
                    return Err(ParseError::new(
                        "segments.rule",
                        format!(
                            "segment '{}' names variant '{name}', which variants: does not define ({})",
                            s.id,
                            if known.is_empty() {
                                "none defined".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn brand(&self) -> &BrandId {
        &self.sender.brand_id
    }

    /// Until when its recipients' personal data is kept: `retention_days` after the end, or
    /// `None` while the campaign has no end.
    pub fn keep_until(&self) -> Option<DateTime<Utc>> {
        self.ends_at
            .map(|end| end + chrono::Duration::days(i64::from(self.retention_days)))
    }

    /// Checks what types cannot: cross-field rules. Errors name the field.
    pub fn check(&self) -> Result<(), ParseError> {
        if let Some(form) = &self.form
            && !form.fields.contains(&FormField::Phone)
        {
            return Err(ParseError::new(
                "form.fields",
                "must include phone: consent is kept per customer, who is known by their phone",
            ));
        }
        self.check_urls()?;
        self.check_segments()?;
        self.check_variants()?;
        self.check_offer()?;
        crate::follow_up::check_all(self)?;
        if !(1..=MAX_RETENTION_DAYS).contains(&self.retention_days) {
            return Err(ParseError::new(
                "retention_days",
                format!("must be 1 to {MAX_RETENTION_DAYS} days after the campaign ends"),
            ));
        }
        if self.name.trim().is_empty() {
            return Err(ParseError::new("name", "must not be empty"));
        }
        if self.share.max_visitors == 0 {
            return Err(ParseError::new("share.max_visitors", "must be at least 1"));
        }
        if self.share.visitors_per_network_hour == 0 {
            return Err(ParseError::new("share.visitors_per_network_hour", "must be at least 1"));
        }
        if self.sender.brand.trim().is_empty() {
            return Err(ParseError::new("sender.brand", "must not be empty"));
        }
        let digits: String = self.sender.opt_out_080.chars().filter(|c| c.is_ascii_digit()).collect();
        if !digits.starts_with("080") || !(10..=11).contains(&digits.len()) {
            return Err(ParseError::new(
                "sender.opt_out_080",
                "must be a free 080 number such as 080-123-4567",
            ));
        }
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at)
            && e <= s
        {
            return Err(ParseError::new("ends_at", "must be after starts_at"));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.coupons {
            if !seen.insert(&c.id) {
                return Err(ParseError::new("coupons.id", format!("'{}' is used twice", c.id)));
            }
            if c.per_person == 0 {
                return Err(ParseError::new("coupons.per_person", "must be at least 1"));
            }
            if let Benefit::PercentOff { percent } = c.benefit
                && (percent == 0 || percent > 100)
            {
                return Err(ParseError::new("coupons.benefit.percent", "must be 1 to 100"));
            }
            if let (Some(f), Some(u)) = (c.valid_from, c.valid_until)
                && u <= f
            {
                return Err(ParseError::new("coupons.valid_until", "must be after valid_from"));
            }
        }
        match (&self.survey, self.kind) {
            (None, CampaignKind::Survey | CampaignKind::Mcs) => {
                return Err(ParseError::new(
                    "survey",
                    "a survey or mcs campaign needs a survey section",
                ));
            }
            (Some(_), CampaignKind::Mdm) => {
                return Err(ParseError::new("survey", "only survey and mcs campaigns have a survey"));
            }
            (Some(s), kind) => {
                s.check()?;
                if let Some(r) = &s.reward
                    && self.coupon(r).is_none()
                {
                    return Err(ParseError::new("survey.reward", format!("no coupon '{r}' in coupons")));
                }
                if kind == CampaignKind::Mcs && s.loyalty_question().is_none() {
                    return Err(ParseError::new(
                        "survey",
                        "an mcs campaign needs an nps question (the store's loyalty index)",
                    ));
                }
            }
            (None, CampaignKind::Mdm) => {}
        }
        if let Some(accent) = &self.page.accent {
            check_accent("page.accent", accent)?;
        }
        Ok(())
    }

    /// Whether links of this campaign work at `now`: active and inside its window.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status == CampaignStatus::Active
            && self.starts_at.is_none_or(|s| now >= s)
            && self.ends_at.is_none_or(|e| now < e)
    }

    pub fn coupon(&self, id: &CouponId) -> Option<&CouponDef> {
        self.coupons.iter().find(|c| &c.id == id)
    }

    pub fn segment(&self, id: &SegmentId) -> Option<&SegmentDef> {
        self.segments.iter().find(|s| &s.id == id)
    }

    /// Whether a coupon is offered by segment, so a person's memberships are worth reading.
    pub fn has_segment_coupons(&self) -> bool {
        self.coupons
            .iter()
            .any(|c| matches!(c.eligibility, Eligibility::Segment(_)))
    }

    fn check_segments(&self) -> Result<(), ParseError> {
        if self.segments.len() > MAX_SEGMENTS {
            return Err(ParseError::new("segments", format!("at most {MAX_SEGMENTS} segments")));
        }
        for (i, s) in self.segments.iter().enumerate() {
            if self.segments[..i].iter().any(|o| o.id == s.id) {
                return Err(ParseError::new(
                    "segments",
                    format!("segment '{}' is defined twice", s.id),
                ));
            }
        }
        for c in &self.coupons {
            if let Eligibility::Segment(id) = &c.eligibility
                && self.segment(id).is_none()
            {
                return Err(ParseError::new(
                    "coupons.eligibility",
                    format!(
                        "coupon '{}' is for segment '{id}', which segments: does not define",
                        c.id
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `5,000원`: how a benefit's amount reads (pages, send lists and reports all use it).
pub fn format_won(won: u64) -> String {
    format!("{}원", grouped(won))
}

/// `12,345`: a count as Koreans write it, in thousands.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn links_are_https_or_the_phones_own_apps() {
        for ok in ["https://example.com/menu", "HTTPS://EXAMPLE.COM"] {
            assert!(check_link("url", ok, false).is_ok(), "{ok}");
        }
        for ok in ["tel:025551234", "sms:01012345678", "kakaotalk://plusfriend/home/@brand"] {
            assert!(check_link("url", ok, true).is_ok(), "{ok}");
            assert!(check_link("url", ok, false).is_err(), "{ok} only where apps make sense");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "http://example.com",
            "data:text/html,<script>alert(1)</script>",
            "https://",
            "https://a b",
            "//example.com",
            "vbscript:x",
        ] {
            assert!(check_link("url", bad, true).is_err(), "{bad}");
        }
        let img = |src: &str| Image {
            src: src.into(),
            alt: "a".into(),
            width: 1,
            height: 1,
        };
        assert!(check_image("src", &img("data:image/svg+xml,%3Csvg%3E")).is_ok());
        assert!(check_image("src", &img("https://cdn.example.com/a.png")).is_ok());
        assert!(check_image("src", &img("data:text/html,x")).is_err());
        assert!(check_image("src", &img("javascript:alert(1)")).is_err());
    }
}
