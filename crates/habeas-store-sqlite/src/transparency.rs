//! What publishing the register's tree needs from the store: leaf hashes by index range (the
//! tiles and proofs are computed from them), the checkpoint of a size, and the witnesses'
//! cosignatures kept with the checkpoints (migration 17).

use crate::{backend, open_rw, SqliteStore};
use habeas_register::merkle::Hash;
use habeas_register::store::{StoreError, StoredCheckpoint, StoredCosignature};
use habeas_register::Timestamp;
use rusqlite::{params, OptionalExtension};

fn cosignature_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCosignature> {
    Ok(StoredCosignature {
        size: r.get::<_, i64>(0)? as u64,
        witness: r.get(1)?,
        timestamp: r.get::<_, i64>(2)? as u64,
        line: r.get(3)?,
    })
}

fn param(n: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Backend(format!("{what} {n} is out of range")))
}

impl SqliteStore {
    /// The recorded leaf hashes of entries `from..to`, in order, read by primary key. Refused
    /// (as damage) when an entry of the range is missing or its leaf hash is not 32 bytes.
    pub fn leaf_range(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        if to <= from {
            return Ok(Vec::new());
        }
        let (lo, hi) = (param(from, "index")?, param(to, "index")?);
        self.with_reader(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT idx, leaf FROM register_log WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
                )
                .map_err(backend)?;
            let mut rows = st.query(params![lo, hi]).map_err(backend)?;
            let mut out: Vec<Hash> = Vec::with_capacity((to - from) as usize);
            while let Some(row) = rows.next().map_err(backend)? {
                let idx: i64 = row.get(0).map_err(backend)?;
                let want = from + out.len() as u64;
                if idx as u64 != want {
                    return Err(StoreError::Corrupt(format!("entry {want} is missing")));
                }
                let leaf = row
                    .get_ref(1)
                    .map_err(backend)?
                    .as_blob()
                    .map_err(|e| backend(e.into()))?;
                out.push(leaf.try_into().map_err(|_| {
                    StoreError::Corrupt(format!("entry {idx}: the leaf hash is not 32 bytes"))
                })?);
            }
            if out.len() as u64 != to - from {
                return Err(StoreError::Corrupt(format!(
                    "entry {} is missing: the register holds fewer than {to} entries",
                    from + out.len() as u64
                )));
            }
            Ok(out)
        })
    }

    /// The (latest) checkpoint of tree size `size`.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let size = param(size, "size")?;
        let row: Option<(i64, String, String)> = self.with_reader(|c| {
            c.prepare_cached(
                "SELECT size, made_at, note FROM register_checkpoints WHERE size = ?1 ORDER BY id DESC LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row([size], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(backend)
        })?;
        row.map(|(size, made_at, note)| {
            Ok(StoredCheckpoint {
                size: size as u64,
                made_at: Timestamp::parse(&made_at)
                    .map_err(|e| StoreError::Corrupt(format!("checkpoint time: {e}")))?,
                note,
            })
        })
        .transpose()
    }

    /// Keeps cosignatures (each once per checkpoint size and witness: one already kept stays
    /// as it is), durably, in one transaction of their own. Returns how many were new.
    pub fn put_cosignatures(&self, rows: &[StoredCosignature]) -> Result<usize, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut conn = open_rw(self.path(), self.durability)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut added = 0;
        {
            let mut st = tx
                .prepare(
                    "INSERT OR IGNORE INTO register_cosignatures (size, witness, timestamp, line)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(backend)?;
            for r in rows {
                added += st
                    .execute(params![
                        param(r.size, "size")?,
                        r.witness,
                        param(r.timestamp, "timestamp")?,
                        r.line
                    ])
                    .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
        Ok(added)
    }

    /// Every cosignature kept, in the order they were kept.
    pub fn cosignatures(&self) -> Result<Vec<StoredCosignature>, StoreError> {
        self.with_reader(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT size, witness, timestamp, line FROM register_cosignatures ORDER BY id",
                )
                .map_err(backend)?;
            let rows = st.query_map([], cosignature_of).map_err(backend)?;
            rows.collect::<rusqlite::Result<_>>().map_err(backend)
        })
    }

    /// The cosignatures kept for the checkpoint of size `size`.
    pub fn cosignatures_at(&self, size: u64) -> Result<Vec<StoredCosignature>, StoreError> {
        let size = param(size, "size")?;
        self.with_reader(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT size, witness, timestamp, line FROM register_cosignatures WHERE size = ?1 ORDER BY id",
                )
                .map_err(backend)?;
            let rows = st.query_map([size], cosignature_of).map_err(backend)?;
            rows.collect::<rusqlite::Result<_>>().map_err(backend)
        })
    }

    /// The largest checkpoint size cosigned by at least `quorum` of `witnesses` (verifier
    /// keys), if any.
    pub fn largest_cosigned(
        &self,
        witnesses: &[String],
        quorum: usize,
    ) -> Result<Option<u64>, StoreError> {
        let keys = serde_json::to_string(witnesses)
            .map_err(|e| StoreError::Backend(format!("witness keys: {e}")))?;
        let quorum = param(quorum as u64, "quorum")?;
        self.with_reader(|c| {
            c.prepare_cached(
                "SELECT size FROM register_cosignatures
                 WHERE witness IN (SELECT value FROM json_each(?1))
                 GROUP BY size HAVING count(DISTINCT witness) >= ?2
                 ORDER BY size DESC LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row(params![keys, quorum], |r| r.get::<_, i64>(0))
                    .optional()
            })
            .map(|s| s.map(|s| s as u64))
            .map_err(backend)
        })
    }

    /// The largest checkpoint size `witness` (a verifier key) cosigned, if any.
    pub fn cosigned_size(&self, witness: &str) -> Result<Option<u64>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached("SELECT max(size) FROM register_cosignatures WHERE witness = ?1")
                .and_then(|mut st| st.query_row([witness], |r| r.get::<_, Option<i64>>(0)))
                .map(|s| s.map(|s| s as u64))
                .map_err(backend)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use habeas_register::merkle::leaf_hash;
    use habeas_register::note::Signer;
    use habeas_register::store::{LogSink, RegisterInfo, Store};
    use habeas_register::SealedEntry;

    fn store(dir: &std::path::Path) -> SqliteStore {
        let signer = Signer::from_seed("habeas.test/tiles", [1; 32]).unwrap();
        SqliteStore::create(
            &dir.join("t.db"),
            &RegisterInfo {
                origin: "habeas.test/tiles".into(),
                verifier: signer.verifier(),
            },
        )
        .unwrap()
    }

    fn entries(n: u64) -> Vec<SealedEntry> {
        (0..n)
            .map(|i| {
                let draft = habeas_register::Draft {
                    actor: "a".into(),
                    facility: "F".into(),
                    kind: "test.note".into(),
                    subject: format!("s{i}"),
                    payload: serde_json::json!({}),
                    corrects: None,
                };
                SealedEntry::seal(&draft, i, Timestamp(0), &[i as u8; 16]).unwrap()
            })
            .collect()
    }

    #[test]
    fn leaf_ranges_and_cosignatures() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let all = entries(600);
        let mut sink = s.sink().unwrap();
        sink.import_batch(&all).unwrap();
        drop(sink);
        let range = s.leaf_range(250, 520).unwrap();
        assert_eq!(range.len(), 270);
        assert_eq!(range[0], leaf_hash(&all[250].bytes));
        assert_eq!(range[269], all[519].leaf);
        assert_eq!(s.leaf_range(5, 5).unwrap(), Vec::<Hash>::new());
        assert_eq!(s.leaf_range(0, 600).unwrap(), s.leaf_hashes(600).unwrap());
        assert!(matches!(
            s.leaf_range(590, 601),
            Err(StoreError::Corrupt(m)) if m.contains("600")
        ));

        let cos = |size, witness: &str, line: &str| StoredCosignature {
            size,
            witness: witness.into(),
            timestamp: 1_767_225_600 + size,
            line: line.into(),
        };
        assert_eq!(s.largest_cosigned(&["a".into()], 1).unwrap(), None);
        assert_eq!(
            s.put_cosignatures(&[cos(10, "a", "la10\n"), cos(10, "b", "lb10\n")])
                .unwrap(),
            2
        );
        // Kept once: the same checkpoint and witness again is ignored.
        assert_eq!(s.put_cosignatures(&[cos(10, "a", "other\n")]).unwrap(), 0);
        s.put_cosignatures(&[cos(20, "a", "la20\n")]).unwrap();
        assert_eq!(s.cosignatures_at(10).unwrap().len(), 2);
        assert_eq!(s.cosignatures_at(10).unwrap()[0].line, "la10\n");
        assert_eq!(s.cosignatures().unwrap().len(), 3);
        let ab = ["a".to_owned(), "b".to_owned()];
        assert_eq!(s.largest_cosigned(&ab, 2).unwrap(), Some(10));
        assert_eq!(s.largest_cosigned(&ab, 1).unwrap(), Some(20));
        assert_eq!(s.largest_cosigned(&["b".into()], 1).unwrap(), Some(10));
        assert_eq!(s.largest_cosigned(&["c".into()], 1).unwrap(), None);
        assert_eq!(s.cosigned_size("a").unwrap(), Some(20));
        assert_eq!(s.cosigned_size("c").unwrap(), None);
        // Append-only.
        let c = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
        assert!(c.execute("DELETE FROM register_cosignatures", []).is_err());
        assert!(c
            .execute("UPDATE register_cosignatures SET line = 'x'", [])
            .is_err());

        let cp = StoredCheckpoint {
            size: 600,
            made_at: Timestamp(5),
            note: "n\n".into(),
        };
        let mut sink = s.sink().unwrap();
        sink.put_checkpoint(&cp).unwrap();
        drop(sink);
        assert_eq!(s.checkpoint_at(600).unwrap(), Some(cp));
        assert_eq!(s.checkpoint_at(599).unwrap(), None);
        assert_eq!(s.latest_checkpoint().unwrap().unwrap().size, 600);
    }
}
