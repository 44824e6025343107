use redb::{ReadableDatabase, TableDefinition};
const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");
fn main() {
    let v: serde_json::Value = serde_json::from_str(&std::env::args().nth(1).unwrap_or("{\"clicks\":1}".into())).unwrap();
    let db = redb::Database::create("/tmp/size-redb.db").unwrap();
    let w = db.begin_write().unwrap();
    w.open_table(ITEMS).unwrap().insert(("LINK#1", "META"), serde_json::to_vec(&v).unwrap().as_slice()).unwrap();
    w.commit().unwrap();
    let r = db.begin_read().unwrap();
    let n = r.open_table(ITEMS).unwrap().get(("LINK#1", "META")).unwrap().unwrap().value().len();
    println!("{n}");
}
