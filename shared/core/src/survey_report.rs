//! Survey statistics from the maintained counters: per-question counts and percentages, the
//! gender × age-band cross-tab, NPS, mean rating with a 95% confidence interval, response and
//! completion rates, drop-off per question; and the MCS store ranking with weekly trends.
//!
//! The counter names are the storage contract of `AGG#` items (docs/data-model.md). A report
//! reads a fixed number of aggregate items, so its cost does not grow with the responses.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::survey::{QuestionType, SurveyDef};
use crate::values::{AgeBand, Gender};

/// Responses started (first save).
pub const STARTED: &str = "st";
/// Invitations: recipients imported into the campaign.
pub const INVITED: &str = "inv";
/// MCS: visitors who scanned a store's poster.
pub const SCANS: &str = "sc";

/// Respondents who answered `q` the first time (drop-off: got past it).
pub fn answered(q: &str) -> String {
    format!("an|{q}")
}
/// Respondents standing at `q` right now (drop-off: stopped here, unless they come back).
pub fn waiting(q: &str) -> String {
    format!("at|{q}")
}
/// Completed responses of a cell.
pub fn done(c: Cell) -> String {
    format!("dn|{}|{}", c.gender, c.age)
}
/// Completed responses of a cell that answered `q` (not skipped, on their path).
pub fn respondents(q: &str, c: Cell) -> String {
    format!("rs|{q}|{}|{}", c.gender, c.age)
}
/// Completed responses of a cell that chose `value` at `q` (an option id or a scale value).
pub fn value(q: &str, value: &str, c: Cell) -> String {
    format!("v|{q}|{value}|{}|{}", c.gender, c.age)
}

/// A gender × age-band cell of the cross-tab, by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Cell {
    pub gender: &'static str,
    pub age: &'static str,
}

/// Gender codes and their Korean labels; other and not given are one column.
pub const GENDERS: [(&str, &str); 3] = [("f", "여성"), ("m", "남성"), ("x", "기타·무응답")];
pub const AGES: [(&str, &str); 7] = [
    ("10", "10대"),
    ("20", "20대"),
    ("30", "30대"),
    ("40", "40대"),
    ("50", "50대"),
    ("60", "60대 이상"),
    ("x", "무응답"),
];

pub fn cell(g: Option<Gender>, a: Option<AgeBand>) -> Cell {
    let gender = match g {
        Some(Gender::Female) => "f",
        Some(Gender::Male) => "m",
        Some(Gender::Other) | None => "x",
    };
    let age = match a {
        Some(AgeBand::Teens) => "10",
        Some(AgeBand::Twenties) => "20",
        Some(AgeBand::Thirties) => "30",
        Some(AgeBand::Forties) => "40",
        Some(AgeBand::Fifties) => "50",
        Some(AgeBand::SixtyPlus) => "60",
        None => "x",
    };
    Cell { gender, age }
}

fn all_cells() -> impl Iterator<Item = Cell> {
    GENDERS
        .iter()
        .flat_map(|(g, _)| AGES.iter().map(move |(a, _)| Cell { gender: g, age: a }))
}

fn cell_label(c: Cell) -> String {
    if c.gender == "x" && c.age == "x" {
        return "무응답".into();
    }
    let g = GENDERS.iter().find(|(k, _)| *k == c.gender).map_or("?", |(_, l)| *l);
    let a = AGES.iter().find(|(k, _)| *k == c.age).map_or("?", |(_, l)| *l);
    format!("{g} {a}")
}

/// Named counters, as summed from aggregate items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters(pub BTreeMap<String, i64>);

impl Counters {
    pub fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or(0)
    }
    fn getu(&self, name: &str) -> u64 {
        self.get(name).max(0) as u64
    }
    pub fn add(&mut self, name: &str, n: i64) {
        // Most names already exist when merging many scopes: look up before allocating a key.
        match self.0.get_mut(name) {
            Some(v) => *v += n,
            None => {
                self.0.insert(name.to_owned(), n);
            }
        }
    }
    /// `(rest, n)` of every counter whose name starts with `prefix`, without allocating.
    fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, i64)> + 'a {
        self.0
            .range::<str, _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(move |(k, v)| (&k[prefix.len()..], *v))
    }
    pub fn merge(&mut self, other: &Counters) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub campaign_id: String,
    pub title: String,
    /// Recipients invited (imported); `None` when not counted (MCS has scans instead).
    pub invited: Option<u64>,
    pub scans: Option<u64>,
    pub started: u64,
    pub completed: u64,
    /// Started ÷ invited (or ÷ scans for MCS).
    pub response_rate: Option<f64>,
    /// Completed ÷ started.
    pub completion_rate: Option<f64>,
    /// Completed responses per non-empty cell, in cross-tab order.
    pub segments: Vec<Segment>,
    pub questions: Vec<QuestionStats>,
    pub dropoff: Vec<DropOff>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub gender: &'static str,
    pub age: &'static str,
    pub label: String,
    pub completed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionStats {
    pub id: String,
    pub title: String,
    pub kind: QuestionType,
    /// Completed responses that answered it.
    pub respondents: u64,
    /// One per option or scale value, in order; empty for text questions.
    pub values: Vec<ValueCount>,
    /// One row per non-empty cell.
    pub crosstab: Vec<CrossRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nps: Option<Nps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<MeanCi>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueCount {
    pub value: String,
    pub label: String,
    pub count: u64,
    /// Of the question's respondents (several choices may add up to more than 100).
    pub pct: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossRow {
    pub gender: &'static str,
    pub age: &'static str,
    pub label: String,
    pub respondents: u64,
    /// Per value, in the order of `QuestionStats::values`.
    pub counts: Vec<u64>,
    pub pcts: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nps: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Nps {
    pub n: u64,
    /// 9–10.
    pub promoters: u64,
    /// 7–8.
    pub passives: u64,
    /// 0–6.
    pub detractors: u64,
    /// % promoters − % detractors, −100 to 100.
    pub score: f64,
}

impl Nps {
    /// From counts of the values 0..=10.
    pub fn from_counts(counts: &[u64]) -> Option<Nps> {
        let n: u64 = counts.iter().sum();
        if n == 0 {
            return None;
        }
        let sum = |r: std::ops::RangeInclusive<usize>| r.filter_map(|i| counts.get(i)).sum::<u64>();
        let (detractors, passives, promoters) = (sum(0..=6), sum(7..=8), sum(9..=10));
        Some(Nps {
            n,
            promoters,
            passives,
            detractors,
            score: (promoters as f64 - detractors as f64) * 100.0 / n as f64,
        })
    }
}

/// Mean of a scale with its 95% confidence interval (Student's t; normal beyond 30 d.f.).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanCi {
    pub n: u64,
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Two-sided 95% critical values of Student's t for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

impl MeanCi {
    /// From `(value, count)` pairs; `None` below two answers (no spread to estimate).
    pub fn from_counts(counts: &[(f64, u64)]) -> Option<MeanCi> {
        let n: u64 = counts.iter().map(|(_, c)| c).sum();
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let mean = counts.iter().map(|(v, c)| v * *c as f64).sum::<f64>() / nf;
        let ss = counts.iter().map(|(v, c)| (v - mean).powi(2) * *c as f64).sum::<f64>();
        let sd = (ss / (nf - 1.0)).sqrt();
        let df = (n - 1) as usize;
        let t = T95.get(df - 1).copied().unwrap_or(1.960);
        let half = t * sd / nf.sqrt();
        Some(MeanCi {
            n,
            mean,
            sd,
            lo: mean - half,
            hi: mean + half,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropOff {
    pub question_id: String,
    pub title: String,
    /// Respondents who answered it (at least once).
    pub answered: u64,
    /// Respondents who stand at it and have not answered: stopped here, so far.
    pub waiting: u64,
    /// waiting ÷ (answered + waiting).
    pub drop_rate: Option<f64>,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 * 100.0 / b as f64 }
}

/// The survey report of `counters` (one scope or several merged).
pub fn survey_report(campaign_id: &str, title: &str, def: &SurveyDef, counters: &Counters, mcs: bool) -> Report {
    let started = counters.getu(STARTED);
    let cells: Vec<Cell> = all_cells().collect();
    let segments: Vec<Segment> = cells
        .iter()
        .map(|&c| Segment {
            gender: c.gender,
            age: c.age,
            label: cell_label(c),
            completed: counters.getu(&done(c)),
        })
        .filter(|s| s.completed > 0)
        .collect();
    let completed: u64 = segments.iter().map(|s| s.completed).sum();
    let (invited, scans) = if mcs {
        (None, Some(counters.getu(SCANS)))
    } else {
        (Some(counters.getu(INVITED)), None)
    };
    let base = invited.or(scans).unwrap_or(0);
    let questions = def
        .questions
        .iter()
        .map(|q| {
            let values: Vec<(String, String)> = match q.scale() {
                Some((lo, hi)) => (lo..=hi).map(|v| (v.to_string(), v.to_string())).collect(),
                None => q.options.iter().map(|o| (o.id.clone(), o.label.clone())).collect(),
            };
            let respondents_of = |c: Cell| counters.getu(&respondents(&q.id, c));
            let count_of = |v: &str, c: Cell| counters.getu(&value(&q.id, v, c));
            let total_resp: u64 = cells.iter().map(|&c| respondents_of(c)).sum();
            let totals: Vec<u64> = values
                .iter()
                .map(|(v, _)| cells.iter().map(|&c| count_of(v, c)).sum())
                .collect();
            let scale_pairs = |counts: &[u64]| -> Vec<(f64, u64)> {
                values
                    .iter()
                    .zip(counts)
                    .map(|((v, _), c)| (v.parse::<f64>().unwrap_or(0.0), *c))
                    .collect()
            };
            let is_nps = q.kind == QuestionType::Nps;
            let crosstab = cells
                .iter()
                .filter(|&&c| respondents_of(c) > 0)
                .map(|&c| {
                    let n = respondents_of(c);
                    let counts: Vec<u64> = values.iter().map(|(v, _)| count_of(v, c)).collect();
                    let scale = q.scale().is_some();
                    CrossRow {
                        gender: c.gender,
                        age: c.age,
                        label: cell_label(c),
                        respondents: n,
                        pcts: counts.iter().map(|&k| pct(k, n)).collect(),
                        mean: if scale {
                            let p = scale_pairs(&counts);
                            let k: u64 = p.iter().map(|(_, c)| c).sum();
                            (k > 0).then(|| p.iter().map(|(v, c)| v * *c as f64).sum::<f64>() / k as f64)
                        } else {
                            None
                        },
                        nps: if is_nps {
                            Nps::from_counts(&counts).map(|x| x.score)
                        } else {
                            None
                        },
                        counts,
                    }
                })
                .collect();
            QuestionStats {
                id: q.id.clone(),
                title: q.title.clone(),
                kind: q.kind,
                respondents: total_resp,
                values: values
                    .iter()
                    .zip(&totals)
                    .map(|((v, l), &count)| ValueCount {
                        value: v.clone(),
                        label: l.clone(),
                        count,
                        pct: pct(count, total_resp),
                    })
                    .collect(),
                crosstab,
                nps: if is_nps { Nps::from_counts(&totals) } else { None },
                // The interval is clamped to the scale: a mean of 1–5 ratings is never above 5.
                mean: q.scale().and_then(|(lo, hi)| {
                    MeanCi::from_counts(&scale_pairs(&totals)).map(|m| MeanCi {
                        lo: m.lo.max(f64::from(lo)),
                        hi: m.hi.min(f64::from(hi)),
                        ..m
                    })
                }),
            }
        })
        .collect();
    let dropoff = def
        .questions
        .iter()
        .map(|q| {
            let answered = counters.getu(&answered(&q.id));
            let waiting = counters.getu(&waiting(&q.id));
            DropOff {
                question_id: q.id.clone(),
                title: q.title.clone(),
                answered,
                waiting,
                drop_rate: ratio(waiting, answered + waiting),
            }
        })
        .collect();
    Report {
        campaign_id: campaign_id.to_owned(),
        title: title.to_owned(),
        invited,
        scans,
        started,
        completed,
        response_rate: ratio(started, base),
        completion_rate: ratio(completed, started),
        segments,
        questions,
        dropoff,
    }
}

/// One store of an MCS campaign: its loyalty index (NPS) overall and by week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreStats {
    pub store_id: String,
    pub rank: usize,
    pub scans: u64,
    pub completed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nps: Option<Nps>,
    pub weeks: Vec<WeekPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekPoint {
    /// ISO week in Korea, `2026-W47`.
    pub week: String,
    pub completed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nps: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McsReport {
    /// All stores together.
    pub overall: Report,
    /// Ranked by NPS (stores with fewer than `min_responses` last, by responses).
    pub stores: Vec<StoreStats>,
    pub min_responses: u64,
}

/// NPS of the loyalty question over all cells: one pass over its `v|{q}|` counters (a report
/// computes this for every store and week, so no name is formatted per lookup).
fn nps_of(def: &SurveyDef, c: &Counters) -> Option<Nps> {
    let q = def.loyalty_question()?;
    let prefix = format!("v|{}|", q.id);
    let mut counts = [0u64; 11];
    for (rest, n) in c.with_prefix(&prefix) {
        // rest = `{value}|{gender}|{age}`
        if let Some(v) = rest.split('|').next().and_then(|v| v.parse::<usize>().ok())
            && let Some(slot) = counts.get_mut(v)
        {
            *slot += n.max(0) as u64;
        }
    }
    Nps::from_counts(&counts)
}

/// The MCS report from counters by scope (`ST#{store}#{week}`).
pub fn mcs_report(
    campaign_id: &str,
    title: &str,
    def: &SurveyDef,
    by_scope: &BTreeMap<String, Counters>,
    min_responses: u64,
) -> McsReport {
    let mut all = Counters::default();
    let mut stores: BTreeMap<String, (Counters, Vec<(String, Counters)>)> = BTreeMap::new();
    for (scope, c) in by_scope {
        let Some(rest) = scope.strip_prefix("ST#") else {
            continue;
        };
        let Some((store, week)) = rest.rsplit_once('#') else {
            continue;
        };
        all.merge(c);
        let slot = stores.entry(store.to_owned()).or_default();
        slot.0.merge(c);
        slot.1.push((week.to_owned(), c.clone()));
    }
    let completed_of = |c: &Counters| c.with_prefix("dn|").map(|(_, n)| n.max(0) as u64).sum::<u64>();
    let mut list: Vec<StoreStats> = stores
        .into_iter()
        .map(|(store_id, (total, weeks))| StoreStats {
            store_id,
            rank: 0,
            scans: total.getu(SCANS),
            completed: completed_of(&total),
            nps: nps_of(def, &total),
            weeks: weeks
                .iter()
                .map(|(w, c)| WeekPoint {
                    week: w.clone(),
                    completed: completed_of(c),
                    nps: nps_of(def, c).map(|n| n.score),
                })
                .collect(),
        })
        .collect();
    let score = |s: &StoreStats| s.nps.map_or(f64::NEG_INFINITY, |n| n.score);
    list.sort_by(|a, b| {
        let (qa, qb) = (a.completed >= min_responses, b.completed >= min_responses);
        qb.cmp(&qa)
            .then_with(|| {
                if qa && qb {
                    score(b).total_cmp(&score(a))
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| b.completed.cmp(&a.completed))
            .then_with(|| a.store_id.cmp(&b.store_id))
    });
    for (i, s) in list.iter_mut().enumerate() {
        s.rank = i + 1;
    }
    McsReport {
        overall: survey_report(campaign_id, title, def, &all, true),
        stores: list,
        min_responses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nps_follows_its_definition() {
        // 0..=10 counts: 2 detractors (0, 6), 1 passive (7), 3 promoters (9, 10, 10).
        let mut counts = [0u64; 11];
        for v in [0, 6, 7, 9, 10, 10] {
            counts[v] += 1;
        }
        let n = Nps::from_counts(&counts).unwrap_or_else(|| panic!("some"));
        assert_eq!((n.n, n.promoters, n.passives, n.detractors), (6, 3, 1, 2));
        assert!((n.score - 100.0 / 6.0).abs() < 1e-9);
        assert_eq!(Nps::from_counts(&[0; 11]), None);
    }

    #[test]
    fn mean_ci_matches_a_hand_computed_interval() {
        // 1, 2, 3, 4, 5: mean 3, sd sqrt(2.5), t(4) = 2.776.
        let m =
            MeanCi::from_counts(&[(1.0, 1), (2.0, 1), (3.0, 1), (4.0, 1), (5.0, 1)]).unwrap_or_else(|| panic!("some"));
        let half = 2.776 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((m.mean - 3.0).abs() < 1e-12);
        assert!((m.lo - (3.0 - half)).abs() < 1e-9 && (m.hi - (3.0 + half)).abs() < 1e-9);
        assert_eq!(MeanCi::from_counts(&[(4.0, 1)]), None);
        // Large n uses the normal quantile.
        let big = MeanCi::from_counts(&[(1.0, 500), (5.0, 500)]).unwrap_or_else(|| panic!("some"));
        assert!((big.hi - big.mean - 1.96 * big.sd / 1000f64.sqrt()).abs() < 1e-9);
    }
}
