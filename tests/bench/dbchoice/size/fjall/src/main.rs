use fjall::{KeyspaceCreateOptions, PersistMode, Readable, SingleWriterTxDatabase};
fn main() {
    let v: serde_json::Value = serde_json::from_str(&std::env::args().nth(1).unwrap_or("{\"clicks\":1}".into())).unwrap();
    let db = SingleWriterTxDatabase::builder("/tmp/size-fjall").open().unwrap();
    let items = db.keyspace("items", KeyspaceCreateOptions::default).unwrap();
    let mut tx = db.write_tx().durability(Some(PersistMode::Buffer));
    tx.insert(&items, "LINK#1\0META", serde_json::to_vec(&v).unwrap());
    tx.commit().unwrap();
    let n = db.read_tx().get(&items, "LINK#1\0META").unwrap().unwrap().len();
    println!("{n}");
}
