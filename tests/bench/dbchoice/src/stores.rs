use crate::{Click, LINK_SK, Outcome, Tx, click_in, link_item, link_pk};
use anyhow::{Result, bail};
use std::path::Path;

pub trait Store: Send {
    fn preload(&mut self, n: u32) -> Result<()>;
    /// One physical write transaction holding `clicks.len()` logical click transactions.
    fn batch(&mut self, clicks: &[Click], out: &mut Vec<Outcome>) -> Result<()>;
    /// Change-stream consumer: read every record after the cursor (in order), then trim them.
    fn trim(&mut self) -> Result<u64>;
    fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>>;
    fn count_changes(&mut self) -> Result<u64>;
    fn stats(&self) -> Option<serde_json::Value> {
        None
    }
}

pub fn open_store(engine: &str, dir: &Path, durable: bool) -> Result<Box<dyn Store>> {
    Ok(match engine {
        "sqlite" => Box::new(sqlite::Sqlite::open(dir, durable)?),
        "redb" => Box::new(redb_store::Redb::open(dir, durable)?),
        "fjall" => Box::new(fjall_store::Fjall::open(dir, durable)?),
        "mem" => Box::new(mem::Mem::default()),
        e => bail!("unknown engine {e}"),
    })
}

// ------------------------------------------------------------------------------- SQLite
mod sqlite {
    use super::*;
    use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

    pub struct Sqlite {
        conn: Connection,
    }

    struct T<'a>(&'a rusqlite::Transaction<'a>);

    impl Tx for T<'_> {
        fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>> {
            let mut st = self.0.prepare_cached("SELECT data FROM items WHERE pk=?1 AND sk=?2")?;
            Ok(st.query_row(params![pk, sk], |r| r.get::<_, Vec<u8>>(0)).optional()?)
        }
        fn exists(&mut self, pk: &str, sk: &str) -> Result<bool> {
            let mut st = self.0.prepare_cached("SELECT 1 FROM items WHERE pk=?1 AND sk=?2")?;
            Ok(st.exists(params![pk, sk])?)
        }
        fn put(&mut self, pk: &str, sk: &str, val: &[u8], gsi: Option<(&str, &str)>) -> Result<()> {
            let mut st = self.0.prepare_cached(
                "INSERT INTO items(pk, sk, data, gsi1pk, gsi1sk) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(pk, sk) DO UPDATE SET data=excluded.data, gsi1pk=excluded.gsi1pk, gsi1sk=excluded.gsi1sk",
            )?;
            st.execute(params![pk, sk, val, gsi.map(|g| g.0), gsi.map(|g| g.1)])?;
            Ok(())
        }
        fn change(&mut self, rec: &[u8]) -> Result<()> {
            let mut st = self.0.prepare_cached("INSERT INTO changes(data) VALUES (?1)")?;
            st.execute(params![rec])?;
            Ok(())
        }
    }

    impl Sqlite {
        pub fn open(dir: &Path, durable: bool) -> Result<Self> {
            let conn = Connection::open(dir.join("db.sqlite"))?;
            if let Ok(pre) = std::env::var("SQLITE_PRE") {
                conn.execute_batch(&pre)?;
            }
            let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
            assert_eq!(mode, "wal");
            conn.execute_batch(if durable { "PRAGMA synchronous=NORMAL;" } else { "PRAGMA synchronous=OFF;" })?;
            conn.execute_batch(
                "PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=4000;
                 CREATE TABLE IF NOT EXISTS items(pk TEXT NOT NULL, sk TEXT NOT NULL, data BLOB NOT NULL,
                    gsi1pk TEXT, gsi1sk TEXT, PRIMARY KEY (pk, sk)) WITHOUT ROWID;
                 CREATE INDEX IF NOT EXISTS items_gsi1 ON items(gsi1pk, gsi1sk) WHERE gsi1pk IS NOT NULL;
                 CREATE TABLE IF NOT EXISTS changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL);
                 CREATE TABLE IF NOT EXISTS cursors(name TEXT PRIMARY KEY, seq INTEGER NOT NULL);",
            )?;
            if let Ok(extra) = std::env::var("SQLITE_EXTRA") {
                conn.execute_batch(&extra)?;
            }
            conn.set_prepared_statement_cache_capacity(32);
            Ok(Self { conn })
        }
    }

    impl Store for Sqlite {
        fn preload(&mut self, n: u32) -> Result<()> {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut t = T(&tx);
                for i in 0..n {
                    t.put(&link_pk(i), LINK_SK, &link_item(i), None)?;
                }
            }
            tx.commit()?;
            Ok(())
        }
        fn batch(&mut self, clicks: &[Click], out: &mut Vec<Outcome>) -> Result<()> {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut t = T(&tx);
                for c in clicks {
                    out.push(click_in(&mut t, c)?);
                }
            }
            tx.commit()?;
            Ok(())
        }
        fn trim(&mut self) -> Result<u64> {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let cursor: i64 =
                tx.query_row("SELECT seq FROM cursors WHERE name='w'", [], |r| r.get(0)).optional()?.unwrap_or(0);
            let (mut last, mut n, mut bytes) = (cursor, 0u64, 0usize);
            {
                let mut st = tx.prepare_cached("SELECT seq, data FROM changes WHERE seq > ?1 ORDER BY seq")?;
                let mut rows = st.query([cursor])?;
                while let Some(r) = rows.next()? {
                    last = r.get(0)?;
                    bytes += r.get_ref(1)?.as_blob()?.len();
                    n += 1;
                }
            }
            std::hint::black_box(bytes);
            tx.execute("DELETE FROM changes WHERE seq <= ?1", [last])?;
            tx.execute(
                "INSERT INTO cursors(name, seq) VALUES ('w', ?1) ON CONFLICT(name) DO UPDATE SET seq=excluded.seq",
                [last],
            )?;
            tx.commit()?;
            Ok(n)
        }
        fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>> {
            let mut st = self.conn.prepare_cached("SELECT data FROM items WHERE pk=?1 AND sk=?2")?;
            Ok(st.query_row(params![pk, sk], |r| r.get::<_, Vec<u8>>(0)).optional()?)
        }
        fn count_changes(&mut self) -> Result<u64> {
            Ok(self.conn.query_row("SELECT count(*) FROM changes", [], |r| r.get::<_, i64>(0))? as u64)
        }
    }
}

// ------------------------------------------------------------------------------- redb
mod redb_store {
    use super::*;
    use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, Table, TableDefinition};

    const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");
    const GSI: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi1");
    const CHANGES: TableDefinition<u64, &[u8]> = TableDefinition::new("changes");
    const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

    pub struct Redb {
        db: Database,
        durable: bool,
        next_seq: u64,
    }

    struct T<'a, 'b> {
        items: Table<'a, (&'static str, &'static str), &'static [u8]>,
        gsi: Table<'a, (&'static str, &'static str, &'static str, &'static str), ()>,
        changes: Table<'a, u64, &'static [u8]>,
        next_seq: &'b mut u64,
    }

    impl Tx for T<'_, '_> {
        fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>> {
            Ok(self.items.get((pk, sk))?.map(|g| g.value().to_vec()))
        }
        fn put(&mut self, pk: &str, sk: &str, val: &[u8], gsi: Option<(&str, &str)>) -> Result<()> {
            self.items.insert((pk, sk), val)?;
            if let Some((g, s)) = gsi {
                self.gsi.insert((g, s, pk, sk), ())?;
            }
            Ok(())
        }
        fn change(&mut self, rec: &[u8]) -> Result<()> {
            self.changes.insert(*self.next_seq, rec)?;
            *self.next_seq += 1;
            Ok(())
        }
    }

    impl Redb {
        pub fn open(dir: &Path, durable: bool) -> Result<Self> {
            let db = Database::builder().set_cache_size(64 << 20).create(dir.join("db.redb"))?;
            let w = db.begin_write()?;
            let next_seq;
            {
                w.open_table(ITEMS)?;
                w.open_table(GSI)?;
                let ch = w.open_table(CHANGES)?;
                let meta = w.open_table(META)?;
                let last = ch.last()?.map(|(k, _)| k.value());
                let trimmed = meta.get("cursor")?.map(|v| v.value()).unwrap_or(0);
                next_seq = last.unwrap_or(trimmed) + 1;
            }
            w.commit()?;
            Ok(Self { db, durable, next_seq })
        }
        fn begin(&self) -> Result<redb::WriteTransaction> {
            let mut w = self.db.begin_write()?;
            if !self.durable {
                w.set_durability(Durability::None)?;
            }
            Ok(w)
        }
    }

    impl Store for Redb {
        fn preload(&mut self, n: u32) -> Result<()> {
            let w = self.db.begin_write()?;
            {
                let mut items = w.open_table(ITEMS)?;
                for i in 0..n {
                    items.insert((link_pk(i).as_str(), LINK_SK), link_item(i).as_slice())?;
                }
            }
            w.commit()?;
            Ok(())
        }
        fn batch(&mut self, clicks: &[Click], out: &mut Vec<Outcome>) -> Result<()> {
            let w = self.begin()?;
            {
                let mut t = T {
                    items: w.open_table(ITEMS)?,
                    gsi: w.open_table(GSI)?,
                    changes: w.open_table(CHANGES)?,
                    next_seq: &mut self.next_seq,
                };
                for c in clicks {
                    out.push(click_in(&mut t, c)?);
                }
            }
            w.commit()?;
            Ok(())
        }
        fn trim(&mut self) -> Result<u64> {
            // Always an Immediate commit: with Durability::None pages freed by earlier
            // non-durable commits are only reclaimed after a durable one.
            let w = self.db.begin_write()?;
            let mut n = 0;
            {
                let mut ch = w.open_table(CHANGES)?;
                let mut meta = w.open_table(META)?;
                let cursor = meta.get("cursor")?.map(|v| v.value()).unwrap_or(0);
                let (mut last, mut bytes) = (cursor, 0usize);
                for r in ch.range(cursor + 1..)? {
                    let (k, v) = r?;
                    last = k.value();
                    bytes += v.value().len();
                    n += 1;
                }
                std::hint::black_box(bytes);
                ch.retain_in(..=last, |_, _| false)?;
                meta.insert("cursor", last)?;
            }
            w.commit()?;
            Ok(n)
        }
        fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>> {
            let r = self.db.begin_read()?;
            let t = r.open_table(ITEMS)?;
            Ok(t.get((pk, sk))?.map(|g| g.value().to_vec()))
        }
        fn count_changes(&mut self) -> Result<u64> {
            let r = self.db.begin_read()?;
            Ok(r.open_table(CHANGES)?.len()?)
        }
    }
}

// ------------------------------------------------------------------------------- fjall
mod fjall_store {
    use super::*;
    use fjall::{
        KeyspaceCreateOptions, PersistMode, Readable, SingleWriterTxDatabase, SingleWriterTxKeyspace,
        SingleWriterWriteTx,
    };

    pub struct Fjall {
        db: SingleWriterTxDatabase,
        items: SingleWriterTxKeyspace,
        gsi: SingleWriterTxKeyspace,
        changes: SingleWriterTxKeyspace,
        meta: SingleWriterTxKeyspace,
        durable: bool,
        next_seq: u64,
    }

    fn key(parts: &[&str]) -> Vec<u8> {
        let mut k = Vec::with_capacity(64);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                k.push(0);
            }
            k.extend_from_slice(p.as_bytes());
        }
        k
    }

    struct T<'a, 'b> {
        tx: &'b mut SingleWriterWriteTx<'a>,
        items: &'b SingleWriterTxKeyspace,
        gsi: &'b SingleWriterTxKeyspace,
        changes: &'b SingleWriterTxKeyspace,
        next_seq: &'b mut u64,
    }

    impl Tx for T<'_, '_> {
        fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>> {
            Ok(self.tx.get(self.items, key(&[pk, sk]))?.map(|v| v.to_vec()))
        }
        fn exists(&mut self, pk: &str, sk: &str) -> Result<bool> {
            Ok(self.tx.contains_key(self.items, key(&[pk, sk]))?)
        }
        fn put(&mut self, pk: &str, sk: &str, val: &[u8], gsi: Option<(&str, &str)>) -> Result<()> {
            self.tx.insert(self.items, key(&[pk, sk]), val);
            if let Some((g, s)) = gsi {
                self.tx.insert(self.gsi, key(&[g, s, pk, sk]), b"".as_slice());
            }
            Ok(())
        }
        fn change(&mut self, rec: &[u8]) -> Result<()> {
            self.tx.insert(self.changes, self.next_seq.to_be_bytes(), rec);
            *self.next_seq += 1;
            Ok(())
        }
    }

    impl Fjall {
        pub fn open(dir: &Path, durable: bool) -> Result<Self> {
            let mt: u64 = std::env::var("FJALL_MEMTABLE_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
            #[allow(deprecated)]
            let db = SingleWriterTxDatabase::builder(dir)
                .cache_size(32 << 20)
                .max_write_buffer_size(Some(4 * mt << 20))
                .max_journaling_size(128 << 20)
                .open()?;
            let opts = move || KeyspaceCreateOptions::default().max_memtable_size(mt << 20);
            let items = db.keyspace("items", opts)?;
            let gsi = db.keyspace("gsi1", opts)?;
            let changes = db.keyspace("changes", opts)?;
            let meta = db.keyspace("meta", opts)?;
            let last = match changes.last_key_value() {
                Some(g) => Some(u64::from_be_bytes(g.key()?.as_ref().try_into()?)),
                None => None,
            };
            let trimmed = meta.get("cursor")?.map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap())).unwrap_or(0);
            let next_seq = last.unwrap_or(trimmed) + 1;
            Ok(Self { db, items, gsi, changes, meta, durable, next_seq })
        }
    }

    impl Store for Fjall {
        fn preload(&mut self, n: u32) -> Result<()> {
            let mut tx = self.db.write_tx().durability(Some(PersistMode::Buffer));
            for i in 0..n {
                tx.insert(&self.items, key(&[&link_pk(i), LINK_SK]), link_item(i));
            }
            tx.commit()?;
            Ok(())
        }
        fn batch(&mut self, clicks: &[Click], out: &mut Vec<Outcome>) -> Result<()> {
            let Fjall { db, items, gsi, changes, durable, next_seq, .. } = self;
            let tx = db.write_tx();
            // Buffer = flush the journal to the OS on commit: survives a process crash (not power
            // loss). It is also fjall's default for write_tx(); None leaves it in an 8 KiB BufWriter.
            let mut tx = tx.durability(if *durable { Some(PersistMode::Buffer) } else { None });
            {
                let mut t = T { tx: &mut tx, items, gsi, changes, next_seq };
                for c in clicks {
                    out.push(click_in(&mut t, c)?);
                }
            }
            tx.commit()?;
            Ok(())
        }
        fn trim(&mut self) -> Result<u64> {
            let mut tx = self.db.write_tx().durability(Some(PersistMode::Buffer));
            let cursor =
                tx.get(&self.meta, "cursor")?.map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap())).unwrap_or(0);
            let mut keys = Vec::new();
            let mut bytes = 0usize;
            for g in tx.range(&self.changes, (cursor + 1).to_be_bytes()..) {
                let (k, v) = g.into_inner()?;
                bytes += v.len();
                keys.push(k);
            }
            std::hint::black_box(bytes);
            let n = keys.len() as u64;
            let last = keys.last().map(|k| u64::from_be_bytes(k.as_ref().try_into().unwrap())).unwrap_or(cursor);
            for k in keys {
                tx.remove(&self.changes, k);
            }
            tx.insert(&self.meta, "cursor", last.to_be_bytes());
            tx.commit()?;
            Ok(n)
        }
        fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>> {
            Ok(self.items.get(key(&[pk, sk]))?.map(|v| v.to_vec()))
        }
        fn count_changes(&mut self) -> Result<u64> {
            let r = self.db.read_tx();
            Ok(r.iter(&self.changes).count() as u64)
        }
        fn stats(&self) -> Option<serde_json::Value> {
            Some(serde_json::json!({"write_buffer_mb": self.db.write_buffer_size() / 1048576, "journals": self.db.journal_count()}))
        }
    }
}

// ------------------------------------------------------------------------------- in-memory reference
// Same logical work (JSON parse/modify/serialize, keys, change records) against a BTreeMap,
// no persistence: the floor that any engine adds its cost on top of.
mod mem {
    use super::*;
    use std::collections::{BTreeMap, VecDeque};

    #[derive(Default)]
    pub struct Mem {
        items: BTreeMap<(String, String), Vec<u8>>,
        gsi: BTreeMap<(String, String, String, String), ()>,
        changes: VecDeque<(u64, Vec<u8>)>,
        next: u64,
    }
    impl Tx for Mem {
        fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>> {
            Ok(self.items.get(&(pk.to_string(), sk.to_string())).cloned())
        }
        fn put(&mut self, pk: &str, sk: &str, val: &[u8], gsi: Option<(&str, &str)>) -> Result<()> {
            self.items.insert((pk.into(), sk.into()), val.to_vec());
            if let Some((g, s)) = gsi {
                self.gsi.insert((g.into(), s.into(), pk.into(), sk.into()), ());
            }
            Ok(())
        }
        fn change(&mut self, rec: &[u8]) -> Result<()> {
            self.next += 1;
            self.changes.push_back((self.next, rec.to_vec()));
            Ok(())
        }
    }
    impl Store for Mem {
        fn preload(&mut self, n: u32) -> Result<()> {
            for i in 0..n {
                self.put(&link_pk(i), LINK_SK, &link_item(i), None)?;
            }
            Ok(())
        }
        fn batch(&mut self, clicks: &[Click], out: &mut Vec<Outcome>) -> Result<()> {
            for c in clicks {
                out.push(click_in(self, c)?);
            }
            Ok(())
        }
        fn trim(&mut self) -> Result<u64> {
            let n = self.changes.len() as u64;
            self.changes.clear();
            Ok(n)
        }
        fn get(&mut self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>> {
            Tx::get(self, pk, sk)
        }
        fn count_changes(&mut self) -> Result<u64> {
            Ok(self.changes.len() as u64)
        }
    }
}
