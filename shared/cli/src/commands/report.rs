//! `mcamp report CAMPAIGN` (the numbers, from the aggregator's counters) and `mcamp people
//! CAMPAIGN` (each person's stage, masked). `mcamp stats` is the report's old name.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use mcamp_core::analytics::report::{CampaignReport, FunnelStep, TreeNode};
use mcamp_core::values::{CampaignId, RecipientId};
use mcamp_ops::campaign_report::{ReportError, campaign_report, share_tree};
use mcamp_ops::people::{PeopleError, PeopleFilter, Person, Reveal, mask_name, people_page};
use mcamp_ops::report_sheets::{people_csv, people_xlsx, report_csv, report_xlsx};
use mcamp_store::Db;

use super::campaign_id;
use crate::failure::Failure;
use crate::output::{self, n};
use crate::{Global, backend};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Campaign id, e.g. spring-demo.
    pub campaign: String,
    /// Also write the report as one long CSV (표, 행, 열, 값) to this file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also write the report as an Excel workbook (a sheet per table and one of people, masked).
    #[arg(long, value_name = "FILE")]
    pub xlsx: Option<PathBuf>,
    /// Show the share tree of this person (a recipient id) instead of the campaign's.
    #[arg(long, value_name = "RECIPIENT_ID")]
    pub tree: Option<String>,
}

#[derive(Args, Debug)]
pub struct PeopleArgs {
    /// Campaign id, e.g. spring-demo.
    pub campaign: String,
    /// Who: all, clicked-no-coupon, coupon-not-redeemed, not-clicked, or stages separated by
    /// commas (known, failed, sent, delivered, clicked, viewed, form, consent, claimed,
    /// issued, redeemed).
    #[arg(long, default_value = "all")]
    pub filter: String,
    /// People per page.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Go on from this cursor (the `next` a page printed).
    #[arg(long)]
    pub after: Option<String>,
    /// Write every page to this file (.csv or .xlsx) instead of printing one page.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show names and phone numbers in full. Written to the audit log with your OS user name.
    #[arg(long)]
    pub unmasked: bool,
}

impl From<ReportError> for Failure {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Db(d) => d.into(),
            other => Failure::User(other.to_string()),
        }
    }
}

impl From<PeopleError> for Failure {
    fn from(e: PeopleError) -> Self {
        match e {
            PeopleError::Db(d) => d.into(),
            other => Failure::User(other.to_string()),
        }
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Every person the filter picks, page after page from `after`.
async fn all_people(
    db: &Db,
    campaign: &CampaignId,
    filter: &PeopleFilter,
    mut after: Option<String>,
    reveal: &Reveal,
) -> Result<Vec<Person>, Failure> {
    let mut out = Vec::new();
    loop {
        let page = people_page(db, campaign, filter, after.as_deref(), 1000, reveal, now()).await?;
        out.extend(page.people);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

pub async fn report(g: &Global, args: &ReportArgs) -> Result<(), Failure> {
    let id = campaign_id(&args.campaign)?;
    let db = backend::open(g).await?;
    let mut r = campaign_report(&db, &id).await?;
    if let Some(root) = &args.tree {
        let root = RecipientId::parse(root)?;
        r.share_tree = share_tree(&db, &root).await?;
    }
    if let Some(path) = &args.csv {
        let bytes = report_csv(&r, Vec::new())?;
        output::write_file(path, &bytes)?;
    }
    if let Some(path) = &args.xlsx {
        let people = all_people(&db, &id, &PeopleFilter::All, None, &Reveal::Masked).await?;
        let bytes = report_xlsx(&r, &people).map_err(|e| Failure::user(e.to_string()))?;
        output::write_file(path, &bytes)?;
    }
    if g.json {
        return output::json(&r);
    }
    let ids: Vec<RecipientId> = r
        .top_sharers
        .iter()
        .map(|s| s.recipient_id.clone())
        .chain(r.share_tree.iter().map(|t| t.recipient_id.clone()))
        .collect();
    let names: HashMap<RecipientId, String> = db
        .recipients_of(&ids)
        .await?
        .into_iter()
        .filter_map(|(id, p)| p.name.map(|n| (id, mask_name(&n))))
        .collect();
    output::print_str(&human(&r, &names));
    Ok(())
}

pub async fn people(g: &Global, args: &PeopleArgs) -> Result<(), Failure> {
    let id = campaign_id(&args.campaign)?;
    let filter = PeopleFilter::parse(&args.filter).map_err(Failure::User)?;
    let db = backend::open(g).await?;
    let reveal = if args.unmasked {
        let actor = super::actor();
        eprintln!("note: names and phone numbers in full; this export is written to the audit log as {actor}");
        Reveal::Unmasked { actor }
    } else {
        Reveal::Masked
    };
    if let Some(path) = &args.output {
        let everyone = all_people(&db, &id, &filter, args.after.clone(), &reveal).await?;
        let xlsx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
        let bytes = if xlsx {
            people_xlsx(&everyone).map_err(|e| Failure::user(e.to_string()))?
        } else {
            let mut csv = people_csv(Vec::new())?;
            for p in &everyone {
                csv.write(p)?;
            }
            csv.finish()?
        };
        output::write_file(path, &bytes)?;
        let line = format!("{} people written to {}\n", n(everyone.len()), path.display());
        if g.json {
            return output::json(&serde_json::json!({"people": everyone.len(), "file": path}));
        }
        output::print_str(&line);
        return Ok(());
    }
    let page = people_page(&db, &id, &filter, args.after.as_deref(), args.limit, &reveal, now()).await?;
    if g.json {
        return output::json(&page);
    }
    let mut o = String::new();
    for p in &page.people {
        let _ = writeln!(
            o,
            "{}  {:<8} {:<15} {:<8} 클릭 {:>3}  조회 {:>3}{}",
            p.recipient_id,
            p.name.as_deref().unwrap_or("-"),
            p.phone.as_deref().unwrap_or("-"),
            p.stage.korean(),
            p.clicks,
            p.views,
            p.redeemed_store
                .as_deref()
                .map(|s| format!("  사용 매장 {s}"))
                .unwrap_or_default()
        );
    }
    match &page.next {
        Some(next) => {
            let _ = writeln!(
                o,
                "\nmore: mcamp people {} --filter {} --after {next}",
                args.campaign, args.filter
            );
        }
        None => {
            let _ = writeln!(o, "\n({} people on this page, the last one)", page.people.len());
        }
    }
    output::print_str(&o);
    Ok(())
}

fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn funnel_lines(o: &mut String, funnel: &[FunnelStep]) {
    let head = ["인원", "이전 대비", "발송 대비"].map(String::from);
    let _ = writeln!(o, "{}", output::row("단계", 12, &head, 11));
    for s in funnel {
        let cells = [n(s.people), ratio(s.of_previous), ratio(s.of_sent)];
        let _ = writeln!(o, "{}", output::row(s.label, 12, &cells, 11));
    }
}

fn who(id: &RecipientId, names: &HashMap<RecipientId, String>) -> String {
    match names.get(id) {
        Some(n) => format!("{n} ({id})"),
        None => id.to_string(),
    }
}

fn tree_lines(o: &mut String, tree: &[TreeNode], names: &HashMap<RecipientId, String>) {
    for t in tree {
        let indent = "    ".repeat(t.hop as usize);
        let mark = if t.hop == 0 { "" } else { "└ " };
        let _ = writeln!(
            o,
            "  {indent}{mark}{}  {}{}",
            who(&t.recipient_id, names),
            t.stage.korean(),
            if t.visitors > 0 {
                format!(
                    "  · 데려온 방문자 {} · 체인 쿠폰 사용 {}",
                    t.visitors, t.credited_redeemed
                )
            } else {
                String::new()
            }
        );
    }
}

fn human(r: &CampaignReport, names: &HashMap<RecipientId, String>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}  {}  ({})", r.campaign_id, r.name, r.status);
    let _ = writeln!(o, "\n퍼널 (사람 수)");
    funnel_lines(&mut o, &r.funnel);
    let _ = writeln!(
        o,
        "\n클릭 {} (순 클릭 {}) · 링크 미리보기 {} (메신저가 카드를 가져간 것, 클릭 아님) · 페이지 조회 {} · 정보 입력 {} · 수신거부 {}",
        n(r.clicks),
        n(r.unique_clicks),
        n(r.previews),
        n(r.page_views),
        n(r.forms),
        n(r.opt_outs)
    );
    if r.sends.sent + r.sends.failed > 0 {
        let failed: Vec<String> = r
            .sends
            .failed_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {}", n(*v)))
            .collect();
        let _ = writeln!(
            o,
            "발송 {} · 수신 {} · 실패 {}{}",
            n(r.sends.sent),
            n(r.sends.delivered),
            n(r.sends.failed),
            if failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", failed.join(", "))
            }
        );
    } else {
        let _ = writeln!(
            o,
            "발송 결과 없음: `mcamp sends import`로 발송사 결과 파일을 가져오면 발송·수신부터 보입니다."
        );
    }
    if !r.by_day.is_empty() {
        let head = ["클릭", "순 클릭", "조회", "쿠폰 신청", "쿠폰 사용"].map(String::from);
        let _ = writeln!(o, "\n{}", output::row("일별 (KST)", 14, &head, 11));
        for d in &r.by_day {
            let cells = [
                n(d.clicks),
                n(d.unique_clicks),
                n(d.page_views),
                n(d.claimed),
                n(d.redeemed),
            ];
            let _ = writeln!(o, "{}", output::row(&d.at, 14, &cells, 11));
        }
        if let Some(peak) = r
            .by_hour
            .iter()
            .max_by_key(|h| (h.clicks, std::cmp::Reverse(h.at.clone())))
        {
            let _ = writeln!(o, "  가장 많이 클릭한 시간: {}시 (클릭 {})", peak.at, n(peak.clicks));
        }
    }
    if !r.in_app.is_empty() {
        let head = ["클릭", "순 클릭", "조회 인원", "이탈 인원", "이탈률"].map(String::from);
        let _ = writeln!(o, "\n{}", output::row("인앱 브라우저", 14, &head, 11));
        for a in &r.in_app {
            let cells = [
                n(a.clicks),
                n(a.unique_clicks),
                n(a.viewed),
                n(a.bounced),
                ratio(a.bounce_rate),
            ];
            let _ = writeln!(o, "{}", output::row(&a.in_app, 14, &cells, 11));
        }
    }
    if r.blocks.iter().any(|b| b.reached > 0) {
        let head = ["본 사람", "여기서 나감", "바로 이탈"].map(String::from);
        let _ = writeln!(o, "\n{}", output::row("페이지 블록 (위에서부터)", 28, &head, 13));
        for b in &r.blocks {
            let label = format!("{}. {}", b.block + 1, b.label);
            let cells = [n(b.reached), n(b.left_here), n(b.bounced_here)];
            let _ = writeln!(o, "{}", output::row(&label, 28, &cells, 13));
        }
    }
    if !r.coupons.is_empty() {
        let head = ["재고", "신청", "발급", "소진", "사용"].map(String::from);
        let _ = writeln!(o, "\n{}", output::row("쿠폰", 20, &head, 8));
        for c in &r.coupons {
            let cells = [n(c.stock), n(c.claimed), n(c.issued), n(c.sold_out), n(c.redeemed)];
            let _ = writeln!(o, "{}", output::row(&c.coupon, 20, &cells, 8));
        }
    }
    if !r.stores.is_empty() {
        let head = ["쿠폰 사용", "설문 완료"].map(String::from);
        let _ = writeln!(o, "\n{}", output::row("매장", 20, &head, 11));
        for s in &r.stores {
            let cells = [n(s.redeemed), n(s.survey_completions)];
            let _ = writeln!(o, "{}", output::row(&s.store, 20, &cells, 11));
        }
    }
    let sh = &r.shares;
    let _ = writeln!(
        o,
        "\n공유 탭 {} · 카카오톡 전송 {} (나와의 채팅 {}) · 도달한 채팅방 {} · 공유한 사람 {} · 공유로 온 방문자 {}",
        n(sh.taps),
        n(sh.kakao_deliveries),
        n(sh.kakao_to_self),
        n(sh.kakao_rooms),
        n(sh.sharers),
        n(sh.visitors)
    );
    if !r.top_sharers.is_empty() {
        let _ = writeln!(o, "\n추천인 순위 (3단계까지 이어진 공유의 성과)");
        for (i, s) in r.top_sharers.iter().enumerate() {
            let _ = writeln!(
                o,
                "  {:>2}. {}  쿠폰 사용 {} · 방문자 {} · 쿠폰 신청 {} · 공유 {}",
                i + 1,
                who(&s.recipient_id, names),
                s.redeemed,
                s.visitors,
                s.claims,
                s.shares
            );
        }
    }
    if !r.share_tree.is_empty() {
        let _ = writeln!(o, "\n공유 트리");
        tree_lines(&mut o, &r.share_tree, names);
    }
    for v in &r.variants {
        let _ = writeln!(o, "\n변형 {}", v.variant);
        funnel_lines(&mut o, &v.funnel);
    }
    if let Some(ab) = &r.ab_test {
        let v = &ab.verdict;
        let _ = writeln!(
            o,
            "\nA/B 판정 ({} → {}): {}",
            ab.over.korean(),
            ab.to.korean(),
            v.sentence
        );
        for a in &v.arms {
            let rate = a.rate.map_or_else(|| "–".to_owned(), |x| format!("{:.1}%", x * 100.0));
            let _ = writeln!(
                o,
                "  {:<8} {:>8}명 중 {:>7}명  {:>6}  최고일 확률 {:.0}%",
                a.name,
                n(a.visitors),
                n(a.conversions),
                rate,
                a.probability_best * 100.0
            );
        }
        let _ = writeln!(o, "  {}", v.detail);
    }
    if let Some(offer) = &r.offer {
        offer_lines(&mut o, offer);
    }
    if !r.skipped.is_empty() {
        let s: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{k} {}", n(*v))).collect();
        let _ = writeln!(o, "\n읽지 못해 건너뛴 기록: {}", s.join(", "));
    }
    o
}

/// The learning offer: each coupon's redemption per segment, the holdout's, and the lift.
fn offer_lines(o: &mut String, offer: &mcamp_core::experiment::BanditReport) {
    let count = |t: &mcamp_core::experiment::Tally| {
        format!(
            "{}명 중 {}명 사용 {}",
            n(i64::try_from(t.offers).unwrap_or(i64::MAX)),
            n(i64::try_from(t.redemptions).unwrap_or(i64::MAX)),
            mcamp_ops::report::rate_text(t.rate())
        )
    };
    let _ = writeln!(o, "\n학습하는 쿠폰 (제안 → 사용)");
    for v in &offer.variants {
        let _ = writeln!(o, "  {:<16} {}", v.variant, count(&v.tally));
    }
    let _ = writeln!(o, "  {:<16} {}", "대조군", count(&offer.holdout));
    if let Some(l) = &offer.lift {
        let _ = writeln!(
            o,
            "  학습 효과: 사용률 {:+.1}%p (95% 구간 {:+.1}%p ~ {:+.1}%p)",
            l.difference * 100.0,
            l.low * 100.0,
            l.high * 100.0
        );
    }
    for row in &offer.segments {
        let best = row
            .variants
            .iter()
            .filter(|v| v.tally.offers > 0)
            .max_by(|a, b| a.rate.unwrap_or(0.0).total_cmp(&b.rate.unwrap_or(0.0)));
        let cells: Vec<String> = row
            .variants
            .iter()
            .map(|v| format!("{} {}/{}", v.variant, v.tally.redemptions, v.tally.offers))
            .collect();
        let _ = writeln!(
            o,
            "  {:<10} {}  · 대조군 {}/{}{}",
            row.label,
            cells.join(" · "),
            row.holdout.redemptions,
            row.holdout.offers,
            best.map(|b| format!("  → {}", b.variant)).unwrap_or_default()
        );
    }
}
