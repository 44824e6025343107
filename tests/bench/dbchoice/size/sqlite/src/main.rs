fn main() {
    let v: serde_json::Value = serde_json::from_str(&std::env::args().nth(1).unwrap_or("{\"clicks\":1}".into())).unwrap();
    let c = rusqlite::Connection::open("/tmp/size-sqlite.db").unwrap();
    c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE IF NOT EXISTS items(pk TEXT, sk TEXT, data BLOB, PRIMARY KEY(pk, sk)) WITHOUT ROWID;").unwrap();
    c.execute("INSERT OR REPLACE INTO items VALUES (?1, ?2, ?3)", rusqlite::params!["LINK#1", "META", serde_json::to_vec(&v).unwrap()]).unwrap();
    let d: Vec<u8> = c.query_row("SELECT data FROM items WHERE pk=?1 AND sk=?2", ["LINK#1", "META"], |r| r.get(0)).unwrap();
    println!("{}", d.len());
}
