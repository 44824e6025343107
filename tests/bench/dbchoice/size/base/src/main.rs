fn main() {
    let v: serde_json::Value = serde_json::from_str(&std::env::args().nth(1).unwrap_or("{\"clicks\":1}".into())).unwrap();
    let mut m = std::collections::BTreeMap::new();
    m.insert(("LINK#1".to_string(), "META".to_string()), serde_json::to_vec(&v).unwrap());
    println!("{}", m.len());
}
