//! The `mcamp` binary as a marketer runs it, against a fresh embedded data file each test.

use std::process::Command;

use support::{BOM, Row, Run, demo_campaign, read_sheet, recipients_csv, text};

/// Helpers, under `cfg(test)` so clippy's allow-unwrap-in-tests covers them as it covers the tests.
#[cfg(test)]
mod support {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    use serde_json::Value;

    pub const BOM: &[u8] = b"\xEF\xBB\xBF";

    pub struct Run {
        dir: tempfile::TempDir,
    }

    impl Run {
        pub fn new() -> Self {
            Run {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        pub fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        /// Runs `mcamp --data <tmp>/data.db ARGS`.
        pub fn mcamp(&self, args: &[&str]) -> Output {
            Command::new(env!("CARGO_BIN_EXE_mcamp"))
                .arg("--data")
                .arg(self.path("data.db"))
                .args(args)
                .env_remove("MCAMP_BASE_URL")
                .env_remove("MCAMP_DATA")
                .output()
                .unwrap()
        }

        /// Runs `mcamp --data <tmp>/data.db ARGS` with `input` on standard input.
        pub fn mcamp_with_stdin(&self, args: &[&str], input: &str) -> Output {
            use std::io::Write;
            use std::process::Stdio;
            let mut child = Command::new(env!("CARGO_BIN_EXE_mcamp"))
                .arg("--data")
                .arg(self.path("data.db"))
                .args(args)
                .env_remove("MCAMP_DATA")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        }

        /// Runs with `--json`, expects success, and parses stdout.
        pub fn json(&self, args: &[&str]) -> Value {
            let mut all = vec!["--json"];
            all.extend_from_slice(args);
            let out = self.mcamp(&all);
            assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
            serde_json::from_slice(&out.stdout).unwrap()
        }
    }

    pub fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    pub fn demo_campaign() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/campaign.yaml")
    }

    /// One generated spreadsheet row and what import and export should make of it.
    pub struct Row {
        pub line: String,
        /// `Some(field)` when import must reject it, naming that field.
        pub bad: Option<&'static str>,
        pub duplicate: bool,
        pub marketing: bool,
        pub night: bool,
        pub old_consent: bool,
    }

    /// 1000 rows: every 10th row from the 4th, 7th and 10th is bad (30%), the last 5 repeat
    /// earlier phones, a quarter of the good rows have no marketing consent.
    pub fn recipients_csv() -> (String, Vec<Row>) {
        let mut rows = Vec::new();
        for i in 0..1000usize {
            let bad = match i % 10 {
                3 => Some("phone"),
                6 => Some("gender"),
                9 => Some("birth_year"),
                _ => None,
            };
            let duplicate = i >= 995;
            let phone = match (bad, duplicate) {
                (Some("phone"), _) => "02-123-4567".to_owned(),
                // Rows 0, 10, 20, … are good, so these repeat imported phones.
                (_, true) => {
                    let j = (i - 995) * 10;
                    format!("010-{:04}-{:04}", 1000 + j, 5000 + j)
                }
                _ => format!("010-{:04}-{:04}", 1000 + i, 5000 + i),
            };
            let gender = if bad == Some("gender") { "?" } else { "여" };
            let year = if bad == Some("birth_year") { "19x0" } else { "1990" };
            let marketing = i % 4 != 0;
            let night = i % 5 == 0;
            let old_consent = i % 7 == 0;
            let name = if i == 1 {
                "=HYPERLINK(\"http://evil\")".to_owned()
            } else {
                format!("고객{i}")
            };
            let line = format!(
                "\"{}\",{phone},{gender},{year},{},{},{}",
                name.replace('"', "\"\""),
                if marketing { "Y" } else { "N" },
                if night { "Y" } else { "N" },
                if old_consent { "2023-01-01" } else { "2025-06-01" },
            );
            rows.push(Row {
                line,
                bad,
                duplicate,
                marketing,
                night,
                old_consent,
            });
        }
        let mut csv = "이름,휴대폰,성별,출생년도,마케팅동의,야간동의,동의일자\n".to_owned();
        for r in &rows {
            csv.push_str(&r.line);
            csv.push('\n');
        }
        (csv, rows)
    }

    /// The data rows of a CSV the CLI wrote, after checking its BOM.
    pub fn read_sheet(path: &Path) -> Vec<csv::StringRecord> {
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.starts_with(BOM), "{} has no BOM", path.display());
        csv::Reader::from_reader(&bytes[BOM.len()..])
            .records()
            .map(Result::unwrap)
            .collect()
    }
}

#[test]
fn a_marketer_pushes_imports_exports_and_reads_stats() {
    let run = Run::new();
    let campaign = demo_campaign();
    let campaign = campaign.to_str().unwrap();

    // Validate, then push; a second push of the same file changes nothing.
    let v = run.json(&["campaign", "validate", campaign]);
    assert_eq!(v["campaign"], "spring-demo");
    assert_eq!(v["message"]["kind"], "LMS");
    let p = run.json(&["campaign", "push", campaign]);
    assert_eq!(
        (p["revision"].as_i64(), p["unchanged"].as_bool()),
        (Some(1), Some(false))
    );
    let again = run.json(&["campaign", "push", campaign]);
    assert_eq!(again["unchanged"], true);
    let list = run.json(&["campaign", "list"]);
    assert_eq!(list[0]["id"], "spring-demo");

    // Import 1000 rows, 30% bad, 5 duplicates.
    let (csv, rows) = recipients_csv();
    let csv_path = run.path("recipients.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let rejects_path = run.path("rejects.csv");
    let report = run.json(&[
        "recipients",
        "import",
        "spring-demo",
        csv_path.to_str().unwrap(),
        "--rejects",
        rejects_path.to_str().unwrap(),
    ]);
    let good: Vec<&Row> = rows.iter().filter(|r| r.bad.is_none()).collect();
    let expected_rejected: Vec<(u64, &str)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.bad.map(|f| (i as u64 + 2, f)))
        .collect();
    let duplicates = good.iter().filter(|r| r.duplicate).count();
    assert_eq!(report["rows"], 1000);
    assert_eq!(report["encoding"], "UTF-8");
    assert_eq!(expected_rejected.len(), 300);
    assert_eq!(report["duplicates"].as_u64(), Some(duplicates as u64));
    assert_eq!(report["imported"].as_u64(), Some((good.len() - duplicates) as u64));
    let rejected: Vec<(u64, String)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(rejected.len(), expected_rejected.len());
    for ((row, reason), (want_row, field)) in rejected.iter().zip(&expected_rejected) {
        assert_eq!(row, want_row);
        assert!(reason.starts_with(field), "row {row}: {reason}");
    }
    // The rejects file holds every rejected row with its original cells.
    let rejects = read_sheet(&rejects_path);
    assert_eq!(rejects.len(), 300);
    assert_eq!(&rejects[0][0], "5");
    assert_eq!(&rejects[0][2], "고객3");
    assert_eq!(&rejects[0][3], "02-123-4567");

    // The daytime send list: only marketing consent, every message ad-law shaped.
    let out_path = run.path("send.csv");
    let export = run.json(&[
        "links",
        "export",
        "spring-demo",
        "--base-url",
        "https://go.bomkkot.kr",
        "--send-at",
        "2026-03-02T10:00",
        "-o",
        out_path.to_str().unwrap(),
    ])["report"]
        .clone();
    let imported: Vec<&&Row> = good.iter().filter(|r| !r.duplicate).collect();
    // Consent is the brand customer's: a later row of the same phone (a duplicate) applies its
    // CRM consent too. A grant keeps the date of the first grant; a withdrawal ends it.
    let mut consent: std::collections::HashMap<String, (bool, bool)> = std::collections::HashMap::new();
    for r in &good {
        let phone = r.line.split(',').nth(1).unwrap().to_owned();
        let entry = consent.get(&phone).copied();
        let marketing = match (r.marketing, entry) {
            (true, Some((old, _))) => Some(old),
            (true, None) => Some(r.old_consent),
            (false, _) => None,
        };
        match marketing {
            Some(old) => {
                let night = r.night || entry.is_some_and(|(_, n)| n && r.night);
                consent.insert(phone, (old, night));
            }
            None => {
                consent.remove(&phone);
            }
        }
    }
    let with_consent = consent.len();
    assert_eq!(export["recipients"].as_u64(), Some(imported.len() as u64));
    assert_eq!(export["exported"].as_u64(), Some(with_consent as u64));
    assert_eq!(
        export["excluded"]["no_marketing_consent"].as_u64(),
        Some((imported.len() - with_consent) as u64)
    );
    assert_eq!(export["excluded"]["night_without_consent"], 0);
    assert_eq!(
        export["reconfirm_consent"].as_u64(),
        Some(consent.values().filter(|(old, _)| *old).count() as u64)
    );
    let sheet = read_sheet(&out_path);
    assert_eq!(sheet.len(), with_consent);
    let mut reconfirm = 0;
    for row in &sheet {
        let (phone, message, bytes, kind) = (&row[0], &row[2], &row[3], &row[4]);
        assert!(phone.starts_with("010-"), "{phone}");
        assert!(message.starts_with("(광고)"), "{message}");
        assert!(message.contains("봄꽃커피"), "{message}");
        assert!(message.contains("https://go.bomkkot.kr/"), "{message}");
        assert!(message.ends_with("\n무료수신거부 080-123-4567"), "{message}");
        let counted = encoding_rs::EUC_KR.encode(message).0.len();
        assert_eq!(bytes, counted.to_string());
        assert_eq!(kind, if counted <= 90 { "SMS" } else { "LMS" });
        reconfirm += usize::from(&row[5] == "Y");
        // No cell of the sheet starts a formula.
        for cell in row.iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
        }
    }
    assert_eq!(reconfirm as u64, export["reconfirm_consent"].as_u64().unwrap());
    // Names with digits or a formula are not safe in an ad: 고객 stands in, and the report
    // counts them.
    assert!(sheet.iter().all(|r| &r[1] == "고객"), "names replaced");
    assert_eq!(export["names_replaced"].as_u64(), Some(with_consent as u64));

    // At night, those without night consent drop out unless --allow-night, which shouts.
    let night_path = run.path("night.csv");
    let night = run.json(&[
        "links",
        "export",
        "spring-demo",
        "--send-at",
        "2026-03-02 22:30",
        "-o",
        night_path.to_str().unwrap(),
    ])["report"]
        .clone();
    let night_ok = consent.values().filter(|(_, night)| *night).count();
    assert_eq!(night["night"], true);
    assert_eq!(night["exported"].as_u64(), Some(night_ok as u64));
    assert_eq!(
        night["excluded"]["night_without_consent"].as_u64(),
        Some((with_consent - night_ok) as u64)
    );
    let loud = run.mcamp(&[
        "links",
        "export",
        "spring-demo",
        "--send-at",
        "2026-03-02T22:30",
        "--allow-night",
        "-o",
        night_path.to_str().unwrap(),
    ]);
    assert!(loud.status.success());
    let stderr = text(&loud.stderr);
    assert!(stderr.contains("WARNING: --allow-night"), "{stderr}");
    assert!(stderr.contains("AGAINST THE LAW"), "{stderr}");
    assert_eq!(read_sheet(&night_path).len(), with_consent);

    // The report (nothing aggregated here: no gateway ran) and the event log.
    let report = run.json(&["report", "spring-demo"]);
    assert_eq!(report["campaign_id"], "spring-demo");
    assert_eq!(report["coupons"][0]["stock"], 50);
    assert_eq!(report["funnel"][2]["stage"], "clicked");
    let human = run.mcamp(&["stats", "spring-demo"]);
    assert!(human.status.success(), "the report's old name still works");
    assert!(text(&human.stdout).contains("퍼널"));
    // People, a page at a time: every imported person once, masked.
    let mut seen = std::collections::BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec!["people", "spring-demo", "--limit", "100"];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let page = run.json(&args);
        for p in page["people"].as_array().unwrap() {
            assert!(p["phone"].as_str().unwrap().contains("****"), "masked: {p}");
            assert_eq!(p["stage"], "known");
            assert!(
                seen.insert(p["recipient_id"].as_str().unwrap().to_owned()),
                "listed once: {p}"
            );
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), imported.len());
    let people_csv = run.path("people.csv");
    let out = run.mcamp(&[
        "people",
        "spring-demo",
        "--filter",
        "coupon-not-redeemed",
        "-o",
        people_csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(read_sheet(&people_csv).len(), 0, "no one has a coupon yet");
    let events_path = run.path("events.csv");
    let ev = run.mcamp(&["events", "export", "spring-demo", "-o", events_path.to_str().unwrap()]);
    assert!(ev.status.success(), "{}", text(&ev.stderr));
    let bytes = std::fs::read(&events_path).unwrap();
    assert!(bytes.starts_with(BOM));
    assert!(text(&bytes[BOM.len()..]).starts_with("at,type,recipient_id,referrer_id,chain_head,detail\n"));
}

#[test]
fn excel_files_from_windows_number_rejected_rows_right() {
    // Korean Excel on Windows saves CP949 with CRLF line endings.
    let run = Run::new();
    run.json(&["campaign", "push", demo_campaign().to_str().unwrap()]);
    let (csv, rows) = recipients_csv();
    let crlf = csv.replace('\n', "\r\n");
    let (cp949, _, unmappable) = encoding_rs::EUC_KR.encode(&crlf);
    assert!(!unmappable);
    let path = run.path("windows.csv");
    std::fs::write(&path, cp949).unwrap();
    let report = run.json(&["recipients", "import", "spring-demo", path.to_str().unwrap()]);
    assert_eq!(report["encoding"], "CP949 (EUC-KR)");
    let rows_reported: Vec<u64> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.bad.is_some())
        .map(|(i, _)| i as u64 + 2)
        .collect();
    assert_eq!(rows_reported, expected);
}

#[test]
fn paused_campaigns_stay_paused_when_the_file_is_pushed_again() {
    let run = Run::new();
    let campaign = demo_campaign();
    let campaign = campaign.to_str().unwrap();
    run.json(&["campaign", "push", campaign]);
    run.json(&["campaign", "pause", "spring-demo"]);
    let pushed = run.json(&["campaign", "push", campaign]);
    assert_eq!(pushed["status"], "paused");
    assert_eq!(pushed["status_kept"], true);
    run.json(&["campaign", "resume", "spring-demo"]);
    let shown = run.json(&["campaign", "show", "spring-demo"]);
    assert_eq!(shown["campaign"]["status"], "active");
}

#[test]
fn user_errors_exit_1_and_storage_errors_exit_2_with_one_line() {
    let run = Run::new();
    let bad = run.path("bad.yaml");
    std::fs::write(
        &bad,
        "id: x1\nname: t\nsender: {brand: b, opt_out_080: 080-123-4567}\nshare: {title: a, description: b}\ncoupons:\n  - id: w1\n    title: t\n    benefit: {kind: amount_off, won: 5000}\n    stock: many\n",
    )
    .unwrap();
    let out = run.mcamp(&["campaign", "validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("bad.yaml:9:") && err.contains("stock"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let unknown = run.mcamp(&["stats", "no-such"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("unknown campaign 'no-such'"));

    let usage = run.mcamp(&["campaign", "frobnicate"]);
    assert_eq!(usage.status.code(), Some(1));

    // A data path under a regular file cannot be opened: the storage's fault.
    let file = run.path("plain");
    std::fs::write(&file, "x").unwrap();
    let storage = Command::new(env!("CARGO_BIN_EXE_mcamp"))
        .arg("--data")
        .arg(file.join("data.db"))
        .args(["campaign", "list"])
        .output()
        .unwrap();
    assert_eq!(storage.status.code(), Some(2));
    assert!(text(&storage.stderr).starts_with("error: opening"));
}

#[test]
fn a_store_key_is_printed_once_and_qr_codes_are_drawn() {
    let run = Run::new();
    let added = run.json(&["stores", "add", "gangnam-01", "강남점"]);
    let key = added["api_key"].as_str().unwrap();
    assert_eq!(key.len(), 32);
    // The database and its write-ahead log, if one is left.
    let mut data = std::fs::read(run.path("data.db")).unwrap();
    data.extend(std::fs::read(run.path("data.db-wal")).unwrap_or_default());
    assert!(
        !data.windows(key.len()).any(|w| w == key.as_bytes()),
        "the data file holds only the hash"
    );
    assert_eq!(
        run.mcamp(&["stores", "add", "gangnam-01", "강남점"]).status.code(),
        Some(1)
    );

    let svg = run.mcamp(&["qr", "https://go.bomkkot.kr/AbCdEfGhIj"]);
    assert!(svg.status.success());
    assert!(text(&svg.stdout).contains("<svg"));
    let png = run.path("qr.png");
    let out = run.mcamp(&["qr", "https://go.bomkkot.kr/AbCdEfGhIj", "--png", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn mcs_posters_and_survey_reports_are_written() {
    let run = Run::new();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mcs = examples.join("mcs/campaign.yaml");
    let survey = examples.join("survey/campaign.yaml");
    run.json(&["campaign", "push", mcs.to_str().unwrap()]);
    run.json(&["campaign", "push", survey.to_str().unwrap()]);
    run.json(&["stores", "add", "gangnam-01", "강남점"]);
    // An unregistered store is a clear error, and nothing is written for it.
    let out_dir = run.path("posters");
    let dir = out_dir.to_str().unwrap();
    let unknown = run.mcamp(&[
        "mcs",
        "posters",
        "store-rating",
        "nowhere-9",
        "--base-url",
        "https://go.brand.kr",
        "--out",
        dir,
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("unknown store 'nowhere-9'"),
        "{}",
        text(&unknown.stderr)
    );
    // A store's permanent link, the same on every run, and its A4 poster as SVG and PNG.
    let args = [
        "mcs",
        "posters",
        "store-rating",
        "gangnam-01",
        "--base-url",
        "https://go.brand.kr",
        "--out",
        dir,
        "--png",
    ];
    let first = run.json(&args);
    let again = run.json(&args);
    let link = first[0]["link"].as_str().unwrap();
    assert!(link.starts_with("https://go.brand.kr/") && link.len() == "https://go.brand.kr/".len() + 10);
    assert_eq!(again[0]["link"], first[0]["link"], "a store's link is permanent");
    let svg = std::fs::read_to_string(out_dir.join("gangnam-01.svg")).unwrap();
    assert!(svg.contains("강남점") && svg.contains(link));
    let png = std::fs::read(out_dir.join("gangnam-01.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    // The IHDR chunk: A4 at 150 dpi.
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1240, 1754));
    // No stores named: every store with a link is drawn again.
    let all = run.json(&[
        "mcs",
        "posters",
        "store-rating",
        "--base-url",
        "https://go.brand.kr",
        "--out",
        dir,
    ]);
    assert_eq!(all.as_array().unwrap().len(), 1);
    // Reports of campaigns with no answers yet; the wrong kind is named.
    let csv = run.path("report.csv");
    let html = run.path("report.html");
    let report = run.json(&[
        "survey",
        "report",
        "spring-survey",
        "--csv",
        csv.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(report["completed"], 0);
    assert!(std::fs::read(&csv).unwrap().starts_with(BOM));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
    let wrong = run.mcamp(&["survey", "report", "store-rating"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stderr).contains("mcs campaign"), "{}", text(&wrong.stderr));
    let ranking = run.json(&["mcs", "report", "store-rating"]);
    assert_eq!(ranking["report"]["stores"].as_array().unwrap().len(), 0);
}

#[test]
fn presets_notices_080_lists_and_privacy_requests() {
    let run = Run::new();
    let campaign = demo_campaign();
    run.json(&["campaign", "push", campaign.to_str().unwrap()]);
    let csv = run.path("people.csv");
    std::fs::write(
        &csv,
        "이름,휴대폰,마케팅동의,동의일자\n김민지,010-1111-0001,Y,2026-01-15\n이준호,010-1111-0002,Y,2026-01-15\n박서연,010-1111-0003,N,\n",
    )
    .unwrap();
    run.json(&["recipients", "import", "spring-demo", csv.to_str().unwrap()]);

    // An unknown preset is refused with the list.
    let bad = run.mcamp(&["links", "export", "spring-demo", "--format", "kakao"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = text(&bad.stderr);
    assert!(err.contains("generic, nhn, solapi, sens, aligo"), "{err}");

    // The sender's 080 list: a bad row is reported by its row number and changes nothing.
    let list = run.path("080.csv");
    std::fs::write(
        &list,
        "수신번호,등록일시\n01011110002,2026-03-01 09:00:00\n12345,2026-03-01 09:00:00\n",
    )
    .unwrap();
    let r = run.json(&["suppress", "import", list.to_str().unwrap(), "--format", "nhn"]);
    assert_eq!(
        (r["suppressed"].as_u64(), r["rejected"][0]["row"].as_u64()),
        (Some(1), Some(3))
    );
    let generic = run.path("phones.csv");
    std::fs::write(&generic, "phone\n010-1111-0009\n").unwrap();
    let wrong = run.mcamp(&["suppress", "import", generic.to_str().unwrap(), "--format", "nhn"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong.stderr).contains("no phone column"),
        "{}",
        text(&wrong.stderr)
    );

    // The NHN layout: its columns, digits-only numbers, the recipient id to join results on.
    let out = run.path("send.csv");
    let export = run.json(&[
        "links",
        "export",
        "spring-demo",
        "--format",
        "nhn",
        "--send-at",
        "2026-03-02T10:00",
        "-o",
        out.to_str().unwrap(),
        "--notices",
        run.path("notices.csv").to_str().unwrap(),
    ]);
    assert_eq!(export["report"]["exported"], 1, "{export}");
    assert_eq!(export["report"]["excluded"]["suppressed"], 1, "{export}");
    let bytes = std::fs::read(&out).unwrap();
    let body = String::from_utf8_lossy(&bytes[BOM.len()..]).into_owned();
    assert!(
        body.starts_with("recipient_no,title,body,recipient_grouping_key\n"),
        "{body}"
    );
    assert!(body.contains("\n01011110001,"), "{body}");
    let sheet = read_sheet(&out);
    assert_eq!(&sheet[0][1], "봄꽃커피", "an LMS carries the subject");
    assert_eq!(sheet[0][3].len(), 16, "the recipient id");

    // A data subject's requests: an unknown number says so; a known one is exported, then erased.
    let unknown = run.mcamp(&["privacy", "export", "--phone", "010-9999-9999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("010-****-9999"),
        "{}",
        text(&unknown.stderr)
    );
    let data = run.json(&["privacy", "export", "--phone", "010-1111-0001"]);
    assert_eq!(data["customer"]["phone"], "01011110001");
    assert_eq!(data["recipients"][0]["name"], "김민지");
    let erased = run.json(&["privacy", "erase", "--phone", "010-1111-0001"]);
    assert_eq!(erased["recipients_erased"], 1);
    let after = run.json(&["privacy", "export", "--phone", "010-1111-0001"]);
    assert!(
        after["customer"]["phone"].is_null() && after["recipients"][0]["name"].is_null(),
        "{after}"
    );
}

#[test]
fn a_marketer_imports_the_senders_result_file() {
    let run = Run::new();
    run.json(&["campaign", "push", demo_campaign().to_str().unwrap()]);
    let people = run.path("people.csv");
    std::fs::write(
        &people,
        "이름,휴대폰,마케팅동의,동의일자\n김민지,010-2222-0001,Y,2026-01-15\n이준호,010-2222-0002,Y,2026-01-15\n박서연,010-2222-0003,Y,2026-01-15\n",
    )
    .unwrap();
    run.json(&["recipients", "import", "spring-demo", people.to_str().unwrap()]);

    // The send list for NHN, which carries each recipient's id as the grouping key.
    let send = run.path("send.csv");
    run.json(&[
        "links",
        "export",
        "spring-demo",
        "--format",
        "nhn",
        "--send-at",
        "2026-03-02T10:00",
        "-o",
        send.to_str().unwrap(),
    ]);
    let sheet = read_sheet(&send);
    assert_eq!(sheet.len(), 3);

    // NHN's result export after the send, as its console writes it: one delivered, one failed
    // (no such number), one still on its way, and a row of someone else's send.
    let statuses = [("COMPLETED", "1000"), ("FAILED", "3003"), ("SENDING", "")];
    let mut result =
        "requestId,recipientSeq,requestDate,receiveDate,messageStatus,resultCode,recipientGroupingKey\n".to_owned();
    for (i, (row, (status, code))) in sheet.iter().zip(statuses).enumerate() {
        let received = if code.is_empty() { "" } else { "2026-03-02 10:00:09" };
        result += &format!(
            "20260302100000req,{},2026-03-02 10:00:00,{received},{status},{code},{}\n",
            i + 1,
            &row[3]
        );
    }
    result += "20260302100000req,9,2026-03-02 10:00:00,,COMPLETED,1000,someone-else\n";
    let file = run.path("result.csv");
    std::fs::write(&file, &result).unwrap();
    let args = [
        "sends",
        "import",
        file.to_str().unwrap(),
        "--campaign",
        "spring-demo",
        "--format",
        "nhn",
    ];

    // A dry run reports and writes nothing.
    let mut dry_args = args.to_vec();
    dry_args.push("--dry-run");
    let dry = run.json(&dry_args);
    assert_eq!(dry["report"]["dry_run"], true, "{dry}");
    assert_eq!(dry["report"]["sent"], 3, "{dry}");

    let out = run.json(&args);
    let r = &out["report"];
    assert_eq!(
        (r["rows"].as_u64(), r["sent"].as_u64(), r["delivered"].as_u64()),
        (Some(4), Some(3), Some(1)),
        "{out}"
    );
    assert_eq!(r["failed"]["invalid_number"], 1, "{out}");
    assert_eq!(r["already_imported"], 0, "{out}");
    assert_eq!(r["rejected"][0]["row"], 5, "{out}");
    assert!(
        !out.to_string().contains("2222"),
        "no phone number in the report: {out}"
    );

    // Importing it again writes nothing twice.
    let again = run.json(&args);
    assert_eq!(
        (
            again["report"]["sent"].as_u64(),
            again["report"]["already_imported"].as_u64()
        ),
        (Some(0), Some(5)),
        "{again}"
    );

    // The text report, for people.
    let shown = run.mcamp(&args);
    assert!(shown.status.success());
    let shown = text(&shown.stdout);
    assert!(
        shown.contains("already imported") && shown.contains("row 5:"),
        "{shown}"
    );

    // An unknown campaign points at the list; a file without the columns names them.
    let unknown = run.mcamp(&[
        "sends",
        "import",
        file.to_str().unwrap(),
        "--campaign",
        "nope",
        "--format",
        "nhn",
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("mcamp campaign list"),
        "{}",
        text(&unknown.stderr)
    );
    let wrong = run.mcamp(&[
        "sends",
        "import",
        send.to_str().unwrap(),
        "--campaign",
        "spring-demo",
        "--format",
        "solapi",
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stderr).contains("recipient_id"), "{}", text(&wrong.stderr));
}

#[test]
fn console_users_are_added_listed_disabled_and_reset_with_passwords_from_stdin() {
    let run = Run::new();
    run.json(&["campaign", "push", demo_campaign().to_str().unwrap()]);
    let added = run.mcamp_with_stdin(
        &[
            "--json",
            "users",
            "add",
            " Kim@Brand.kr ",
            "--role",
            "admin",
            "--campaign",
            "spring-demo",
        ],
        "벚꽃라떼는-봄에만-나와요\n",
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let added: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(added["email"], "kim@brand.kr");
    assert_eq!(added["role"], "admin");

    // Refused, with nothing written: taken, a short password, an unknown store or campaign, a
    // malformed e-mail or role.
    for (args, input, says) in [
        (
            vec!["users", "add", "kim@brand.kr", "--role", "viewer"],
            "another-password-1\n",
            "a user already",
        ),
        (
            vec!["users", "add", "lee@brand.kr", "--role", "viewer"],
            "short\n",
            "10 to 128",
        ),
        (
            vec!["users", "add", "lee@brand.kr", "--role", "store:nowhere"],
            "long-enough-pass\n",
            "unknown store",
        ),
        (
            vec!["users", "add", "lee@brand.kr", "--role", "viewer", "--campaign", "nope"],
            "long-enough-pass\n",
            "unknown campaign",
        ),
        (
            vec!["users", "add", "not-an-email", "--role", "viewer"],
            "long-enough-pass\n",
            "email",
        ),
        (
            vec!["users", "add", "lee@brand.kr", "--role", "owner"],
            "long-enough-pass\n",
            "role",
        ),
    ] {
        let out = run.mcamp_with_stdin(&args, input);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(says), "{args:?}: {}", text(&out.stderr));
    }
    let listed = run.json(&["users", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert!(!listed.to_string().contains("argon2"), "no hash is listed: {listed}");

    let disabled = run.json(&["users", "disable", "kim@brand.kr"]);
    assert!(disabled["disabled_at"].is_string());
    let listed = run.json(&["users", "list"]);
    assert!(listed[0]["disabled_at"].is_string());
    let reset = run.mcamp_with_stdin(&["--json", "users", "reset", "kim@brand.kr"], "새-비밀번호-2026\n");
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    let listed = run.json(&["users", "list"]);
    assert!(listed[0]["disabled_at"].is_null(), "reset enables again: {listed}");
    let human = run.mcamp(&["users", "list"]);
    assert!(text(&human.stdout).contains("kim@brand.kr") && text(&human.stdout).contains("spring-demo"));
    let nobody = run.mcamp_with_stdin(&["users", "reset", "ghost@brand.kr"], "long-enough-pass\n");
    assert_eq!(nobody.status.code(), Some(1));
}
