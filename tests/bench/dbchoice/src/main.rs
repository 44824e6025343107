//! Embedded-DB benchmark for mcamp's "recorded click":
//! one logical transaction = conditional update of a link item (clicks += 1 if clicks < limit,
//! item read back) + conditional insert of an event item (attribute_not_exists) with one
//! secondary-index entry + one change-stream record for each of the two writes.
//! Conditions are all evaluated before any write, so a logical transaction that fails
//! writes nothing and several of them can share one physical transaction (group commit).

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod stores;
use stores::{Store, open_store};

pub const LIMIT: i64 = 1_000_000_000;
pub const LINK_SK: &str = "META";

#[derive(Clone, Copy, Debug)]
pub struct Click {
    pub link: u32,
    pub seq: u64,
}

#[derive(Debug)]
pub enum Outcome {
    Ok(#[allow(dead_code)] Vec<u8>),
    Failed(#[allow(dead_code)] String),
}

pub fn ts_of(seq: u64) -> u64 {
    1_780_000_000_000 + seq
}
pub fn link_pk(i: u32) -> String {
    format!("LINK#{i:06}")
}
pub fn event_pk(link: u32) -> String {
    format!("EVT#{link:06}")
}
pub fn event_sk(seq: u64) -> String {
    format!("{:020}#{:012}", ts_of(seq), seq)
}
fn campaign(link: u32) -> String {
    format!("CAMP#{:04}", link % 100)
}

pub fn link_item(i: u32) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "pk": link_pk(i), "sk": LINK_SK, "campaign": campaign(i),
        "slug": format!("s{:08x}", i.wrapping_mul(2654435761)),
        "target": format!("https://shop.example.com/c/{:04}/landing?utm_source=qr&id={}", i % 100, i),
        "clicks": 0, "limit": LIMIT, "status": "active",
        "created_at": "2026-11-01T09:00:00Z", "owner": "store-0042",
        "title": "Autumn sale poster, entrance A", "last_click": 0u64
    }))
    .unwrap()
}

pub fn event_item(c: &Click) -> Vec<u8> {
    let h = c.seq.wrapping_mul(0x9E3779B97F4A7C15);
    serde_json::to_vec(&json!({
        "pk": event_pk(c.link), "sk": event_sk(c.seq), "type": "click",
        "link": link_pk(c.link), "campaign": campaign(c.link), "ts": ts_of(c.seq),
        "ua": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "ip_hash": format!("{:016x}{:016x}", h, h.rotate_left(17)),
        "referer": "https://www.example.org/", "country": "JP",
        "visitor": format!("v{:016x}", h ^ 0xdead_beef),
        "gsi1pk": campaign(c.link), "gsi1sk": event_sk(c.seq)
    }))
    .unwrap()
}

fn change_rec(op: &str, pk: &str, sk: &str, img: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(img.len() + 64);
    write!(v, r#"{{"op":"{op}","pk":"{pk}","sk":"{sk}","new":"#).unwrap();
    // LEAN_CHANGES=1: key-only change records (workers read the item), to measure write volume's share.
    static LEAN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *LEAN.get_or_init(|| std::env::var("LEAN_CHANGES").is_ok()) {
        v.extend_from_slice(b"null");
    } else {
        v.extend_from_slice(img);
    }
    v.push(b'}');
    v
}

/// Primitive operations inside one physical write transaction.
pub trait Tx {
    fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>>;
    fn exists(&mut self, pk: &str, sk: &str) -> Result<bool> {
        Ok(self.get(pk, sk)?.is_some())
    }
    fn put(&mut self, pk: &str, sk: &str, val: &[u8], gsi: Option<(&str, &str)>) -> Result<()>;
    fn change(&mut self, rec: &[u8]) -> Result<()>;
}

/// One logical "recorded click" transaction (all conditions checked before any write).
pub fn click_in<T: Tx>(t: &mut T, c: &Click) -> Result<Outcome> {
    let lpk = link_pk(c.link);
    let Some(raw) = t.get(&lpk, LINK_SK)? else {
        return Ok(Outcome::Failed("link: attribute_exists(pk) failed".into()));
    };
    let mut link: Value = serde_json::from_slice(&raw)?;
    let clicks = link["clicks"].as_i64().unwrap_or(0);
    let limit = link["limit"].as_i64().unwrap_or(i64::MAX);
    if clicks >= limit {
        return Ok(Outcome::Failed("link: clicks < limit failed".into()));
    }
    let epk = event_pk(c.link);
    let esk = event_sk(c.seq);
    if t.exists(&epk, &esk)? {
        return Ok(Outcome::Failed("event: attribute_not_exists(pk) failed".into()));
    }
    let obj = link.as_object_mut().unwrap();
    obj.insert("clicks".into(), json!(clicks + 1));
    obj.insert("last_click".into(), json!(ts_of(c.seq)));
    let new_link = serde_json::to_vec(&link)?;
    t.put(&lpk, LINK_SK, &new_link, None)?;
    t.change(&change_rec("MODIFY", &lpk, LINK_SK, &new_link))?;
    let ev = event_item(c);
    let gpk = campaign(c.link);
    t.put(&epk, &esk, &ev, Some((&gpk, &esk)))?;
    t.change(&change_rec("INSERT", &epk, &esk, &ev))?;
    Ok(Outcome::Ok(new_link))
}

// ---------------------------------------------------------------- measurement helpers

fn proc_status(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for l in s.lines() {
        if let Some(rest) = l.strip_prefix(field) {
            return rest.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
        }
    }
    0
}
fn cpu_split() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() / 100.0, f[12].parse::<f64>().unwrap() / 100.0)
}
fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ut: f64 = f[11].parse().unwrap();
    let st: f64 = f[12].parse().unwrap();
    (ut + st) / 100.0
}
fn dir_size(p: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            n += if m.is_dir() { dir_size(&e.path()) } else { m.len() };
        }
    }
    n
}
fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

// ---------------------------------------------------------------- args

#[derive(Clone, Debug)]
struct Cfg {
    engine: String,
    dir: PathBuf,
    n: u64,
    links: u32,
    hot: bool,
    async_mode: bool,
    tasks: usize,
    batch: usize,
    max_secs: f64,
    trim_every: u64,
    durable: bool,
    print_acks: bool,
    seq_links: bool,
    label: String,
}

fn parse(args: &[String]) -> Result<Cfg> {
    let mut c = Cfg {
        engine: "sqlite".into(),
        dir: "/work/dbbench/data/run".into(),
        n: 1_000_000,
        links: 10_000,
        hot: false,
        async_mode: false,
        tasks: 32,
        batch: 256,
        max_secs: 150.0,
        trim_every: 10_000,
        durable: true,
        print_acks: false,
        seq_links: false,
        label: String::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let mut val = || {
            i += 1;
            args.get(i).cloned().context("missing value")
        };
        match a {
            "--engine" => c.engine = val()?,
            "--dir" => c.dir = val()?.into(),
            "--n" => c.n = val()?.parse()?,
            "--links" => c.links = val()?.parse()?,
            "--hot" => c.hot = true,
            "--async" => c.async_mode = true,
            "--tasks" => c.tasks = val()?.parse()?,
            "--batch" => c.batch = val()?.parse()?,
            "--max-secs" => c.max_secs = val()?.parse()?,
            "--trim-every" => c.trim_every = val()?.parse()?,
            "--no-durable" => c.durable = false,
            "--print-acks" => c.print_acks = true,
            "--seq-links" => c.seq_links = true,
            "--label" => c.label = val()?,
            x => bail!("unknown arg {x}"),
        }
        i += 1;
    }
    Ok(c)
}

// ---------------------------------------------------------------- runs

struct RunResult {
    ops: u64,
    failed: u64,
    secs: f64,
    cpu: f64,
    hist: Histogram<u64>,
    batches: u64,
}

fn pick_link(cfg: &Cfg, rng: &mut u64, seq: u64) -> u32 {
    if cfg.hot {
        0
    } else if cfg.seq_links {
        (seq % cfg.links as u64) as u32
    } else {
        (xorshift(rng) % cfg.links as u64) as u32
    }
}

fn run_single(cfg: &Cfg, store: &mut dyn Store, done: &AtomicU64) -> Result<RunResult> {
    let mut hist = Histogram::<u64>::new(3)?;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(1);
    let mut failed = 0;
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let mut ops = 0;
    for seq in 0..cfg.n {
        let c = Click { link: pick_link(cfg, &mut rng, seq), seq };
        let s = Instant::now();
        store.batch(&[c], &mut out)?;
        hist.record(s.elapsed().as_nanos() as u64)?;
        if let Some(Outcome::Failed(_)) = out.first() {
            failed += 1;
        }
        out.clear();
        ops += 1;
        done.store(ops, Ordering::Relaxed);
        if cfg.print_acks {
            println!("{seq}");
        }
        if cfg.trim_every > 0 && ops % cfg.trim_every == 0 {
            store.trim()?;
        }
        if ops % 1000 == 0 && t0.elapsed().as_secs_f64() > cfg.max_secs {
            break;
        }
    }
    Ok(RunResult { ops, failed, secs: t0.elapsed().as_secs_f64(), cpu: cpu_secs() - cpu0, hist, batches: ops })
}

type Req = (Click, tokio::sync::oneshot::Sender<Outcome>);

fn run_async(cfg: &Cfg, mut store: Box<dyn Store>, done: Arc<AtomicU64>) -> Result<(RunResult, Box<dyn Store>)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Req>(4096);
    let batch = cfg.batch;
    let trim_every = cfg.trim_every;
    let batches = Arc::new(AtomicU64::new(0));
    let b2 = batches.clone();
    // Dedicated writer thread: drains the channel, runs up to `batch` logical transactions in
    // one physical transaction, commits, then acknowledges each request (group commit).
    let writer = std::thread::spawn(move || -> Result<Box<dyn Store>> {
        let mut buf: Vec<Req> = Vec::with_capacity(batch);
        let mut clicks = Vec::with_capacity(batch);
        let mut outs = Vec::with_capacity(batch);
        let mut since_trim = 0u64;
        while let Some(first) = rx.blocking_recv() {
            buf.push(first);
            while buf.len() < batch {
                match rx.try_recv() {
                    Ok(x) => buf.push(x),
                    Err(_) => break,
                }
            }
            clicks.clear();
            clicks.extend(buf.iter().map(|(c, _)| *c));
            store.batch(&clicks, &mut outs)?;
            b2.fetch_add(1, Ordering::Relaxed);
            for ((_, s), o) in buf.drain(..).zip(outs.drain(..)) {
                let _ = s.send(o);
            }
            since_trim += clicks.len() as u64;
            if trim_every > 0 && since_trim >= trim_every {
                store.trim()?;
                since_trim = 0;
            }
        }
        Ok(store)
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let hist = rt.block_on(async {
        let mut hs = Vec::new();
        for t in 0..cfg.tasks {
            let tx = tx.clone();
            let next = next.clone();
            let stop = stop.clone();
            let done = done.clone();
            let failed = failed.clone();
            let cfg = cfg.clone();
            hs.push(tokio::spawn(async move {
                let mut h = Histogram::<u64>::new(3).unwrap();
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ ((t as u64 + 1) * 0x1234_5678_9abc);
                loop {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    if seq >= cfg.n || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let c = Click { link: pick_link(&cfg, &mut rng, seq), seq };
                    let (os, or) = tokio::sync::oneshot::channel();
                    let s = Instant::now();
                    if tx.send((c, os)).await.is_err() {
                        break;
                    }
                    let Ok(o) = or.await else { break };
                    h.record(s.elapsed().as_nanos() as u64).unwrap();
                    if let Outcome::Failed(_) = o {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    if cfg.print_acks {
                        let mut so = std::io::stdout().lock();
                        let _ = writeln!(so, "{seq}");
                    }
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if d % 1000 == 0 && t0.elapsed().as_secs_f64() > cfg.max_secs {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                h
            }));
        }
        let mut all = Histogram::<u64>::new(3).unwrap();
        for h in hs {
            all.add(h.await.unwrap()).unwrap();
        }
        all
    });
    drop(tx);
    let store = writer.join().unwrap()?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    let ops = done.load(Ordering::Relaxed);
    Ok((RunResult { ops, failed: failed.load(Ordering::Relaxed), secs, cpu, hist, batches: batches.load(Ordering::Relaxed) }, store))
}

fn bench(cfg: Cfg) -> Result<()> {
    let _ = std::fs::remove_dir_all(&cfg.dir);
    std::fs::create_dir_all(&cfg.dir)?;
    let mut store = open_store(&cfg.engine, &cfg.dir, cfg.durable)?;
    let t = Instant::now();
    store.preload(cfg.links)?;
    eprintln!(
        "[{}] preloaded {} links in {:.2}s (link item {} B, event item {} B)",
        cfg.engine,
        cfg.links,
        t.elapsed().as_secs_f64(),
        link_item(1).len(),
        event_item(&Click { link: 1, seq: 1 }).len()
    );
    let done = Arc::new(AtomicU64::new(0));
    // RSS sampler: prints VmRSS at each 10% of progress.
    let fin = Arc::new(AtomicBool::new(false));
    let (d2, f2, n) = (done.clone(), fin.clone(), cfg.n);
    let sampler = std::thread::spawn(move || {
        let mut next = n / 10;
        let mut samples = Vec::new();
        while !f2.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            if d2.load(Ordering::Relaxed) >= next {
                samples.push(proc_status("VmRSS:") / 1024);
                next += n / 10;
            }
        }
        samples
    });
    let (u0, s0) = cpu_split();
    let (r, store) = if cfg.async_mode {
        run_async(&cfg, store, done.clone())?
    } else {
        let r = run_single(&cfg, store.as_mut(), &done)?;
        (r, store)
    };
    let (u1, s1) = cpu_split();
    fin.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let hwm = proc_status("VmHWM:") / 1024;
    let rss = proc_status("VmRSS:") / 1024;
    let st = store.stats().unwrap_or_default();
    drop(store);
    let size = dir_size(&cfg.dir);
    let line = json!({
        "label": cfg.label, "engine": cfg.engine, "durable": cfg.durable, "hot": cfg.hot,
        "mode": if cfg.async_mode { format!("async{}x_writer_thread_batch{}", cfg.tasks, cfg.batch) } else { "single".to_string() },
        "ops": r.ops, "failed": r.failed, "secs": (r.secs * 100.0).round() / 100.0,
        "ops_per_s": (r.ops as f64 / r.secs).round(),
        "wall_us_per_op": ((r.secs * 1e6 / r.ops as f64) * 100.0).round() / 100.0,
        "cpu_us_per_op": ((r.cpu * 1e6 / r.ops as f64) * 100.0).round() / 100.0,
        "user_us_per_op": (((u1 - u0) * 1e6 / r.ops as f64) * 10.0).round() / 10.0,
        "sys_us_per_op": (((s1 - s0) * 1e6 / r.ops as f64) * 10.0).round() / 10.0,
        "p50_us": r.hist.value_at_quantile(0.5) as f64 / 1000.0,
        "p99_us": r.hist.value_at_quantile(0.99) as f64 / 1000.0,
        "max_us": r.hist.max() as f64 / 1000.0,
        "avg_batch": ((r.ops as f64 / r.batches.max(1) as f64) * 10.0).round() / 10.0,
        "hwm_mb": hwm, "rss_end_mb": rss, "rss_samples_mb": samples,
        "data_mb": ((size as f64 / 1048576.0) * 10.0).round() / 10.0, "store_stats": st,
    });
    println!("{line}");
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open("/work/dbbench/results.jsonl")?;
    writeln!(f, "{line}")?;
    Ok(())
}

/// Child of the crash test: fresh DB, preload, print READY, then record clicks forever,
/// printing each acknowledged sequence number.
fn child(mut cfg: Cfg) -> Result<()> {
    let _ = std::fs::remove_dir_all(&cfg.dir);
    std::fs::create_dir_all(&cfg.dir)?;
    let mut store = open_store(&cfg.engine, &cfg.dir, cfg.durable)?;
    store.preload(cfg.links)?;
    println!("READY");
    cfg.n = u64::MAX / 2;
    cfg.print_acks = true;
    cfg.trim_every = 0;
    cfg.seq_links = true;
    cfg.max_secs = 60.0;
    let done = Arc::new(AtomicU64::new(0));
    if cfg.async_mode {
        run_async(&cfg, store, done)?;
    } else {
        run_single(&cfg, store.as_mut(), &done)?;
    }
    Ok(())
}

fn crash(cfg: Cfg, rounds: usize) -> Result<()> {
    let exe = std::env::current_exe()?;
    let mut all_pass = true;
    for round in 0..rounds {
        let dir = cfg.dir.join(format!("crash{round}"));
        let mut args: Vec<String> = vec!["child".into(), "--engine".into(), cfg.engine.clone(), "--dir".into(), dir.display().to_string(), "--links".into(), "1000".into(), "--batch".into(), cfg.batch.to_string(), "--tasks".into(), cfg.tasks.to_string()];
        if cfg.async_mode {
            args.push("--async".into());
        }
        if !cfg.durable {
            args.push("--no-durable".into());
        }
        let mut ch = std::process::Command::new(&exe).args(&args).stdout(std::process::Stdio::piped()).spawn()?;
        let out = ch.stdout.take().unwrap();
        let (rtx, rrx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut acked = Vec::new();
            for l in std::io::BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if l == "READY" {
                    let _ = rtx.send(());
                } else if let Ok(s) = l.parse::<u64>() {
                    acked.push(s);
                }
            }
            acked
        });
        rrx.recv_timeout(Duration::from_secs(60)).context("child never READY")?;
        std::thread::sleep(Duration::from_millis(1500 + 700 * round as u64));
        ch.kill()?; // SIGKILL
        ch.wait()?;
        let acked = reader.join().unwrap();
        let max = acked.iter().copied().max().unwrap_or(0);
        let mut store = open_store(&cfg.engine, &dir, cfg.durable)?;
        let mut missing = 0u64;
        let mut present = 0u64;
        let ackset: std::collections::HashSet<u64> = acked.iter().copied().collect();
        for s in 0..=max + 20_000 {
            let ok = store.get(&event_pk((s % 1000) as u32), &event_sk(s))?.is_some();
            if ok {
                present += 1;
            } else if ackset.contains(&s) {
                missing += 1;
            }
        }
        let mut clicks = 0i64;
        for l in 0..1000u32 {
            let v: Value = serde_json::from_slice(&store.get(&link_pk(l), LINK_SK)?.context("link missing")?)?;
            clicks += v["clicks"].as_i64().unwrap();
        }
        let changes = store.count_changes()?;
        let pass = missing == 0 && clicks as u64 == present && changes == 2 * present;
        all_pass &= pass;
        let line = json!({"crash": cfg.engine, "durable": cfg.durable, "async": cfg.async_mode, "batch": cfg.batch, "round": round,
            "acked": acked.len(), "present": present, "missing_acked": missing, "sum_clicks": clicks, "changes": changes, "pass": pass});
        println!("{line}");
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open("/work/dbbench/results.jsonl")?;
        writeln!(f, "{line}")?;
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!("crash {} durable={} => {}", cfg.engine, cfg.durable, if all_pass { "PASS" } else { "FAIL" });
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(|s| s.as_str()) {
        Some("bench") => bench(parse(&args[1..])?),
        Some("child") => child(parse(&args[1..])?),
        Some("crash") => {
            let rounds = 3;
            crash(parse(&args[1..])?, rounds)
        }
        _ => bail!("usage: dbbench bench|crash|child --engine sqlite|redb|fjall [opts]"),
    }
}
