//! template.yaml against the code: the HttpApi routes against the route table
//! (`mcamp_http::routes::ROUTES`), the functions' binaries against the cargo `[[bin]]`s under
//! functions/, and each function's environment against the variables its code reads (each
//! function crate's `env()`, built from what its start-up reads).
//!
//! CloudFormation's short tags (`!Ref`, `!Sub`, `!GetAtt`, `!If`, ...) parse as
//! `Value::Tagged`; the checks look through them where a plain value is expected.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use mcamp_http::routes::ROUTES;
use serde_yaml_ng::{Mapping, Value};

/// What each function's code reads at start-up, by its binary name.
fn code_env(binary: &str) -> Option<Vec<mcamp_env::Var>> {
    Some(match binary {
        "redirect" => mcamp_redirect::env(),
        "page" => mcamp_page::env(),
        "survey" => mcamp_survey::env(),
        "redeem" => mcamp_redeem::env(),
        "coupon-issuer" => mcamp_coupon_issuer::env(),
        "privacy-purge" => mcamp_privacy_purge::env(),
        "claim-sweeper" => mcamp_claim_sweeper::env(),
        _ => return None,
    })
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

fn template() -> anyhow::Result<Value> {
    let path = repo_root().join("template.yaml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The value under a tag (`!Ref X` -> `X`), or the value itself.
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        v => v,
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    untag(v).as_mapping().and_then(|m| m.get(key)).map(untag)
}

fn get_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    get(v, key).and_then(Value::as_str)
}

fn entries(m: &Mapping) -> impl Iterator<Item = (String, &Value)> {
    m.iter().map(|(k, v)| {
        let k = match untag(k) {
            Value::String(s) => s.clone(),
            other => format!("{other:?}"),
        };
        (k, untag(v))
    })
}

/// The template's `AWS::Serverless::Function` resources by logical id.
fn functions(t: &Value) -> anyhow::Result<BTreeMap<String, &Value>> {
    let resources = get(t, "Resources")
        .and_then(Value::as_mapping)
        .context("template.yaml has no Resources mapping")?;
    Ok(entries(resources)
        .filter(|(_, r)| get_str(r, "Type") == Some("AWS::Serverless::Function"))
        .collect())
}

/// Lines listing one side of a set difference, for failure messages.
fn listing(title: &str, items: impl IntoIterator<Item = String>) -> String {
    let lines: Vec<String> = items.into_iter().map(|i| format!("    {i}\n")).collect();
    if lines.is_empty() {
        format!("{title}: none\n")
    } else {
        format!("{title}:\n{}", lines.concat())
    }
}

fn route_line((id, method, path): &(String, String, String)) -> String {
    format!("{id} {method} {path}")
}

#[test]
fn http_api_events_match_the_route_table() -> anyhow::Result<()> {
    let t = template()?;
    let mut in_template = BTreeSet::new();
    for (id, f) in functions(&t)? {
        let Some(events) = get(f, "Properties")
            .and_then(|p| get(p, "Events"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        for (name, e) in entries(events) {
            if get_str(e, "Type") != Some("HttpApi") {
                continue;
            }
            let props = get(e, "Properties");
            let method = props.and_then(|p| get_str(p, "Method"));
            let path = props.and_then(|p| get_str(p, "Path"));
            let (Some(method), Some(path)) = (method, path) else {
                bail!("{id} event {name}: an HttpApi event needs a plain Properties.Method and Path");
            };
            in_template.insert((id.clone(), method.to_uppercase(), path.to_owned()));
        }
    }
    let in_code: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.function.logical_id().to_owned(),
                r.method.to_uppercase(),
                r.path.to_owned(),
            )
        })
        .collect();
    let missing_in_template: Vec<String> = in_code.difference(&in_template).map(route_line).collect();
    let missing_in_code: Vec<String> = in_template.difference(&in_code).map(route_line).collect();
    ensure!(
        missing_in_template.is_empty() && missing_in_code.is_empty(),
        "template.yaml's HttpApi events and ROUTES (shared/http/src/routes.rs) differ \
         (function logical id, method, path):\n{}{}",
        listing("in ROUTES, missing from template.yaml", missing_in_template),
        listing("in template.yaml, missing from ROUTES", missing_in_code),
    );
    Ok(())
}

/// The binaries a package's Cargo.toml declares: its `[[bin]]` names, or the package name
/// when it has none and has src/main.rs (cargo's implicit binary).
fn cargo_bins(manifest: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(manifest).with_context(|| format!("{}", manifest.display()))?;
    let mut section = String::new();
    let mut bins = Vec::new();
    let mut package_name = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "name" {
            continue;
        }
        let value = value.trim().trim_matches('"').to_owned();
        match section.as_str() {
            "[[bin]]" => bins.push(value),
            "[package]" => package_name = Some(value),
            _ => {}
        }
    }
    if bins.is_empty() {
        let has_main = manifest.with_file_name("src").join("main.rs").exists();
        if let (Some(name), true) = (package_name, has_main) {
            bins.push(name);
        }
    }
    Ok(bins)
}

#[test]
fn template_binaries_match_the_cargo_bins_under_functions() -> anyhow::Result<()> {
    let t = template()?;
    // Binary -> the functions that build it.
    let mut in_template: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (id, f) in functions(&t)? {
        let Some(meta) = get(f, "Metadata") else {
            continue;
        };
        if get_str(meta, "BuildMethod") != Some("rust-cargolambda") {
            continue;
        }
        match get(meta, "BuildProperties").and_then(|b| get_str(b, "Binary")) {
            Some(bin) => in_template.entry(bin.to_owned()).or_default().push(id),
            None => problems.push(format!(
                "{id}: BuildMethod rust-cargolambda without Metadata.BuildProperties.Binary"
            )),
        }
    }

    let functions_dir = repo_root().join("functions");
    let mut in_cargo: BTreeMap<String, PathBuf> = BTreeMap::new();
    let dir = std::fs::read_dir(&functions_dir).with_context(|| format!("{}", functions_dir.display()))?;
    for entry in dir {
        let manifest = entry?.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        for bin in cargo_bins(&manifest)? {
            let rel = manifest.strip_prefix(repo_root()).unwrap_or(&manifest).to_path_buf();
            in_cargo.insert(bin, rel);
        }
    }

    for (bin, ids) in &in_template {
        if ids.len() > 1 {
            problems.push(format!("binary {bin:?} is built by several functions: {ids:?}"));
        }
    }
    let template_bins: BTreeSet<&String> = in_template.keys().collect();
    let cargo_bins: BTreeSet<&String> = in_cargo.keys().collect();
    let no_crate: Vec<String> = template_bins
        .difference(&cargo_bins)
        .map(|b| format!("{b} (built by {})", in_template[*b].join(", ")))
        .collect();
    let no_function: Vec<String> = cargo_bins
        .difference(&template_bins)
        .map(|b| format!("{b} (declared in {})", in_cargo[*b].display()))
        .collect();
    ensure!(
        problems.is_empty() && no_crate.is_empty() && no_function.is_empty(),
        "template.yaml's BuildProperties.Binary and the [[bin]]s in functions/*/Cargo.toml \
         differ:\n{}{}{}",
        problems.iter().map(|p| format!("{p}\n")).collect::<String>(),
        listing("in template.yaml, no [[bin]] in functions/*/Cargo.toml", no_crate),
        listing("in functions/*/Cargo.toml, no function in template.yaml", no_function),
    );
    Ok(())
}

/// Each function's binary and environment variable names: Globals.Function's merged with its own.
fn environments(t: &Value) -> anyhow::Result<BTreeMap<String, (String, BTreeSet<String>)>> {
    fn names(env_parent: Option<&Value>) -> BTreeSet<String> {
        env_parent
            .and_then(|p| get(p, "Environment"))
            .and_then(|e| get(e, "Variables"))
            .and_then(Value::as_mapping)
            .map(|m| entries(m).map(|(k, _)| k).collect())
            .unwrap_or_default()
    }
    let globals = names(get(t, "Globals").and_then(|g| get(g, "Function")));
    functions(t)?
        .into_iter()
        .map(|(id, f)| {
            let binary = get(f, "Metadata")
                .and_then(|m| get(m, "BuildProperties"))
                .and_then(|b| get_str(b, "Binary"))
                .with_context(|| format!("{id}: Metadata.BuildProperties.Binary"))?
                .to_owned();
            let mut vars = globals.clone();
            vars.extend(names(get(f, "Properties")));
            Ok((id, (binary, vars)))
        })
        .collect()
}

#[test]
fn function_environments_only_set_variables_the_code_reads() -> anyhow::Result<()> {
    let t = template()?;
    let mut unknown = BTreeSet::new();
    for (id, (binary, vars)) in environments(&t)? {
        let reads = code_env(&binary).with_context(|| format!("{id}: no function crate for binary {binary}"))?;
        for v in vars {
            if !reads.iter().any(|r| r.name == v) {
                unknown.insert((id.clone(), v));
            }
        }
    }
    ensure!(
        unknown.is_empty(),
        "template.yaml sets environment variables the function's code does not read \
         (Globals included):\n{}",
        listing(
            "(function logical id, variable)",
            unknown.iter().map(|(id, v)| format!("{id} {v}"))
        ),
    );
    Ok(())
}

#[test]
fn every_function_gets_the_variables_start_up_requires() -> anyhow::Result<()> {
    let t = template()?;
    let mut missing = BTreeSet::new();
    for (id, (binary, vars)) in environments(&t)? {
        let reads = code_env(&binary).with_context(|| format!("{id}: no function crate for binary {binary}"))?;
        for v in reads.iter().filter(|v| v.required) {
            if !vars.contains(v.name) {
                missing.insert((id.clone(), v.name));
            }
        }
    }
    ensure!(
        missing.is_empty(),
        "functions in template.yaml miss variables their start-up requires (Globals \
         included):\n{}",
        listing(
            "(function logical id, variable)",
            missing.iter().map(|(id, v)| format!("{id} {v}"))
        ),
    );
    Ok(())
}
