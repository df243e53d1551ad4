//! The witnesses' cosignatures kept with the register's checkpoints (migration 5): PostgreSQL
//! is where they are durable and shared; each server's replica holds a copy it publishes from.

use crate::{backend, index_param, PostgresStore};
use habeas_register::store::{StoreError, StoredCosignature};

impl PostgresStore {
    /// Keeps cosignatures (each once per checkpoint size and witness), durably, in one
    /// transaction. Returns how many were new.
    pub fn put_cosignatures(&self, rows: &[StoredCosignature]) -> Result<usize, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        self.with_reader(|c| {
            let mut tx = c.transaction().map_err(backend)?;
            tx.batch_execute("SET LOCAL synchronous_commit = on")
                .map_err(backend)?;
            let st = tx
                .prepare(
                    "INSERT INTO register_cosignatures (size, witness, timestamp, line)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (size, witness) DO NOTHING",
                )
                .map_err(backend)?;
            let mut added = 0;
            for r in rows {
                added += tx
                    .execute(
                        &st,
                        &[
                            &index_param(r.size)?,
                            &r.witness,
                            &index_param(r.timestamp)?,
                            &r.line,
                        ],
                    )
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(added as usize)
        })
    }

    /// Every cosignature kept, in the order they were kept.
    pub fn cosignatures(&self) -> Result<Vec<StoredCosignature>, StoreError> {
        self.with_reader(|c| {
            c.query(
                "SELECT size, witness, timestamp, line FROM register_cosignatures ORDER BY id",
                &[],
            )
            .map_err(backend)?
            .iter()
            .map(|r| {
                Ok(StoredCosignature {
                    size: r.try_get::<_, i64>(0).map_err(backend)? as u64,
                    witness: r.try_get(1).map_err(backend)?,
                    timestamp: r.try_get::<_, i64>(2).map_err(backend)? as u64,
                    line: r.try_get(3).map_err(backend)?,
                })
            })
            .collect()
        })
    }
}
