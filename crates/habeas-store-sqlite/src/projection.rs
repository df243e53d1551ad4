//! Projections: current-state tables derived from the register, applied in the same
//! transaction as each entry, and rebuildable from the register alone.

use crate::{backend, migrate, SqliteStore};
use habeas_core::kinds;
use habeas_core::logbook::NoteRef;
use habeas_register::store::{AppendError, Rejection, Store, StoreError};
use habeas_register::{Entry, SealedEntry};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};

/// Every projection table, checked and rebuilt by `verify` and `rebuild`.
pub const PROJECTION_TABLES: &[&str] = &[
    "logbook",
    "facilities",
    "units",
    "cells",
    "persons",
    "person_documents",
    "custodies",
    "commitment_orders",
    "non_associations",
    "allocation_overrides",
    "custody_events",
    "photos",
    "movements",
    "roll_counts",
    "roll_count_people",
    "agreements",
    "death_cases",
    "charges",
    "hearings",
    "hearing_people",
    "reviews",
    "contacts",
    "contact_requests",
    "notification_declines",
    "harm_cases",
    "harm_steps",
    "complaints",
    "incidents",
    "incident_people",
    "sanctions",
    "health",
    "programme_attendance",
    "environment",
    "gate_refusals",
    "identity_corrections",
    "whereabouts_requests",
    "oversight_visits",
    "sentence_plans",
    "food_services",
    "imported_admissions",
];

/// Rows per multi-row INSERT into a projection table.
const ROWS: usize = 64;

/// Rows waiting to go into one table with multi-row INSERTs. Borrowed from the entries of the
/// group being applied; flushed when full, before any read of the table, and at the end.
///
/// The statements are `INSERT OR FAIL`: a multi-row INSERT that may abort (any key or NOT NULL
/// under SQLite's default `ABORT`) makes SQLite keep a statement journal to undo the statement
/// alone, and opening and releasing one per statement was about a fifth of the writer's time
/// on an import (`sqlite3BtreeSavepoint`, the sub-journal). Nothing needs the statement alone
/// undone: a statement that fails fails its whole request, whose savepoint is rolled back (or
/// the whole rebuild), rows written before the failure with it.
pub(crate) struct RowBuffer<'e> {
    head: &'static str,
    width: usize,
    /// Borrowed from the entries where a value is in them as written, owned where it is made.
    values: Vec<ToSqlOutput<'e>>,
}

fn values_sql(head: &str, width: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + rows * width * 6);
    sql.push_str(head);
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { " (" } else { ", (" });
        for c in 0..width {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('?');
            sql.push_str(&n.to_string());
        }
        sql.push(')');
    }
    sql
}

impl<'e> RowBuffer<'e> {
    /// `head` is `INSERT INTO table (col, …) VALUES` with `width` columns.
    pub(crate) fn new(head: &'static str, width: usize) -> Self {
        Self {
            head,
            width,
            // Nothing is allocated until a row comes: most groups fill few of the buffers.
            values: Vec::new(),
        }
    }

    pub(crate) fn push(
        &mut self,
        conn: &Connection,
        row: &[ValueRef<'e>],
    ) -> Result<(), StoreError> {
        self.push_row(conn, row.iter().map(|v| ToSqlOutput::Borrowed(*v)))
    }

    /// Adds one row of `width` values, some of them made for it.
    pub(crate) fn push_row(
        &mut self,
        conn: &Connection,
        row: impl IntoIterator<Item = ToSqlOutput<'e>>,
    ) -> Result<(), StoreError> {
        let before = self.values.len();
        self.values.extend(row);
        debug_assert_eq!(self.values.len() - before, self.width);
        if self.values.len() >= ROWS * self.width {
            self.flush(conn)?;
        }
        Ok(())
    }

    /// Whether rows are waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub(crate) fn flush(&mut self, conn: &Connection) -> Result<(), StoreError> {
        if self.values.is_empty() {
            return Ok(());
        }
        let rows = self.values.len() / self.width;
        let sql = values_sql(self.head, self.width, rows);
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        for (i, v) in self.values.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, v).map_err(backend)?;
        }
        stmt.raw_execute().map_err(backend)?;
        self.values.clear();
        Ok(())
    }
}

fn text(s: &str) -> ValueRef<'_> {
    ValueRef::Text(s.as_bytes())
}

fn opt_text(s: Option<&str>) -> ValueRef<'_> {
    s.map_or(ValueRef::Null, text)
}

/// Applies the entries of one group to the projections.
pub(crate) struct Projector<'c, 'e> {
    conn: &'c Connection,
    notes: RowBuffer<'e>,
    /// The custody projections' rows and facts kept for the group (see
    /// [`crate::custody::Pending`]); dropped unwritten with a group that fails.
    custody: crate::custody::Pending<'e>,
}

/// Prepared statements kept by a connection that applies entries: a group of admissions and
/// allocations uses some thirty (with the multi-row INSERTs of each table), more than
/// rusqlite's default of 16, which would prepare them again and again.
const STATEMENTS: usize = 128;

impl<'c, 'e> Projector<'c, 'e> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        Self {
            conn,
            notes: RowBuffer::new(
                "INSERT OR FAIL INTO logbook (idx, facility, place, actor, corrects) VALUES",
                5,
            ),
            custody: crate::custody::Pending::default(),
        }
    }

    /// Applies one entry to the projections.
    pub(crate) fn apply(&mut self, e: &'e SealedEntry) -> Result<(), AppendError> {
        let entry = &e.entry;
        match entry.kind.as_str() {
            kinds::LOGBOOK_NOTE => self.note(entry),
            // Kinds without a projection are kept in the register only.
            _ => {
                crate::custody::apply(self.conn, &mut self.custody, entry)?;
                crate::imports::apply(self.conn, entry)
            }
        }
    }

    /// Writes every buffered row.
    pub(crate) fn finish(mut self) -> Result<(), StoreError> {
        self.notes.flush(self.conn)?;
        self.custody.flush(self.conn)
    }

    fn note(&mut self, entry: &'e Entry) -> Result<(), AppendError> {
        let note = NoteRef::from_entry(entry).map_err(Rejection::from)?;
        if let Some(c) = &note.corrects {
            self.notes.flush(self.conn)?;
            let facility: Option<String> = self
                .conn
                .prepare_cached("SELECT facility FROM logbook WHERE idx = ?1")
                .and_then(|mut s| s.query_row([c.index as i64], |r| r.get(0)).optional())
                .map_err(backend)?;
            // A note of another facility is refused as one that does not exist.
            if facility.as_deref() != Some(note.facility) {
                return Err(crate::custody::not_held_here(
                    "corrects",
                    format_args!("entry {} is not a note of the occurrence book", c.index),
                    note.facility,
                ));
            }
            self.conn
                .prepare_cached("UPDATE logbook SET corrected_by = ?1 WHERE idx = ?2")
                .and_then(|mut s| s.execute(params![entry.index as i64, c.index as i64]))
                .map_err(backend)?;
        }
        self.notes.push(
            self.conn,
            &[
                ValueRef::Integer(entry.index as i64),
                text(note.facility),
                opt_text(note.place),
                text(note.actor),
                note.corrects
                    .map_or(ValueRef::Null, |c| ValueRef::Integer(c.index as i64)),
            ],
        )?;
        Ok(())
    }
}

/// Which notes to list.
#[derive(Debug, Clone, Default)]
pub struct LogbookFilter {
    pub facility: Option<String>,
    pub place: Option<String>,
    /// Only notes with a register index below this (for paging back).
    pub before: Option<u64>,
    pub limit: u32,
}

/// One note of the occurrence book, as listed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogbookRow {
    pub index: u64,
    pub time: String,
    pub facility: String,
    pub actor: String,
    pub place: Option<String>,
    pub text: String,
    pub corrects: Option<u64>,
    pub correction_reason: Option<String>,
    pub corrected_by: Option<u64>,
}

pub(crate) fn logbook(c: &Connection, f: &LogbookFilter) -> rusqlite::Result<Vec<LogbookRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT l.idx, l.facility, l.actor, l.place, l.corrects, l.corrected_by, r.bytes
         FROM logbook l JOIN register_log r ON r.idx = l.idx
         WHERE (?1 IS NULL OR l.facility = ?1) AND (?2 IS NULL OR l.place = ?2) AND (?3 IS NULL OR l.idx < ?3)
         ORDER BY l.idx DESC LIMIT ?4",
    )?;
    let mut rows = stmt.query(params![
        f.facility,
        f.place,
        f.before.map(|b| b as i64),
        if f.limit == 0 { 100 } else { f.limit }
    ])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let index = r.get::<_, i64>(0)? as u64;
        let bytes = r.get_ref(6)?.as_blob()?;
        let entry = Entry::decode(bytes).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Blob, Box::new(e))
        })?;
        let text = entry
            .payload
            .get("text")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_owned();
        out.push(LogbookRow {
            index,
            time: entry.time.to_string(),
            facility: r.get(1)?,
            actor: r.get(2)?,
            place: r.get(3)?,
            text,
            corrects: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
            correction_reason: entry.corrects.map(|c| c.reason),
            corrected_by: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
        });
    }
    Ok(out)
}

/// A projection table that differs from a rebuild of the register.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("projection table {table} differs from a rebuild of the register ({detail})")]
pub struct ProjectionMismatch {
    pub table: String,
    pub detail: String,
}

fn apply_all(conn: &Connection, batch: &[SealedEntry]) -> Result<(), StoreError> {
    let mut projector = Projector::new(conn);
    for sealed in batch {
        projector.apply(sealed).map_err(|e| {
            StoreError::Corrupt(format!(
                "entry {} no longer applies to the projections: {e}",
                sealed.entry.index
            ))
        })?;
    }
    projector.finish()
}

/// Applies every entry of the register to the projections, in order, in batches.
fn replay(conn: &Connection, store: &dyn Store) -> Result<u64, StoreError> {
    let mut n = 0u64;
    let mut batch: Vec<SealedEntry> = Vec::with_capacity(512);
    store.scan(0, &mut |row| {
        let entry = Entry::decode(row.bytes)
            .map_err(|e| StoreError::Corrupt(format!("entry {}: {e}", row.index)))?;
        let leaf = row.leaf.try_into().unwrap_or([0; 32]);
        batch.push(SealedEntry {
            entry,
            bytes: row.bytes.to_vec(),
            leaf,
        });
        if batch.len() == 512 {
            apply_all(conn, &batch)?;
            batch.clear();
        }
        n += 1;
        Ok(true)
    })?;
    apply_all(conn, &batch)?;
    Ok(n)
}

pub(crate) fn check(store: &SqliteStore) -> Result<Result<(), ProjectionMismatch>, StoreError> {
    let scratch = Connection::open_in_memory().map_err(backend)?;
    migrate::run(&scratch).map_err(backend)?;
    scratch.execute_batch("BEGIN").map_err(backend)?;
    replay(&scratch, store)?;
    scratch.execute_batch("COMMIT").map_err(backend)?;
    let path = store.path().to_string_lossy().into_owned();
    scratch
        .execute("ATTACH DATABASE ?1 AS live", [path])
        .map_err(backend)?;
    // The search index follows `persons` by triggers and keeps its words in FTS5's own
    // tables; its table of words per person is compared too (a person missing from the
    // index, or indexed under a name of another length).
    for table in PROJECTION_TABLES.iter().chain(&["person_search_docsize"]) {
        for (a, b, what) in [
            ("main", "live", "missing from"),
            ("live", "main", "not in a rebuild but present in"),
        ] {
            let first: Option<String> = scratch
                .query_row(
                    &format!("SELECT * FROM (SELECT * FROM {a}.{table} EXCEPT SELECT * FROM {b}.{table}) LIMIT 1"),
                    [],
                    |r| {
                        Ok(match r.get_ref(0)? {
                            ValueRef::Integer(i) => i.to_string(),
                            ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                            other => format!("{other:?}"),
                        })
                    },
                )
                .optional()
                .map_err(backend)?;
            if let Some(row) = first {
                return Ok(Err(ProjectionMismatch {
                    table: (*table).to_owned(),
                    detail: format!("a row whose first column is {row} is {what} the live table"),
                }));
            }
        }
    }
    Ok(Ok(()))
}

pub(crate) fn rebuild(conn: &mut Connection, store: &SqliteStore) -> Result<u64, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    // The search index follows `persons` by triggers; it is emptied whole first, whatever it
    // held (a damaged index is what a rebuild is for), and the replay fills it again.
    tx.execute_batch("INSERT INTO person_search (person_search) VALUES ('delete-all')")
        .map_err(backend)?;
    for table in PROJECTION_TABLES {
        tx.execute_batch(&format!("DELETE FROM {table}"))
            .map_err(backend)?;
    }
    let n = replay(&tx, store)?;
    tx.commit().map_err(backend)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A multi-row INSERT OR FAIL that fails half-way leaves the rows before the failure, and
    /// the request's savepoint takes them away with the rest: what the writer does with a
    /// request that fails.
    #[test]
    fn a_failed_statement_is_undone_with_its_request() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT;
             INSERT INTO t VALUES (0, 'before');
             BEGIN; SAVEPOINT request;",
        )
        .unwrap();
        let mut rows = RowBuffer::new("INSERT OR FAIL INTO t (k, v) VALUES", 2);
        for (k, v) in [(1, "a"), (2, "b"), (1, "the same key again"), (3, "c")] {
            rows.push_row(
                &conn,
                [
                    ToSqlOutput::Owned(rusqlite::types::Value::Integer(k)),
                    ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
                ],
            )
            .unwrap();
        }
        assert!(
            rows.flush(&conn).is_err(),
            "a duplicate key fails the statement"
        );
        let partial: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(partial, 3, "OR FAIL keeps the rows before the failure");
        conn.execute_batch("ROLLBACK TO request; RELEASE request; COMMIT")
            .unwrap();
        let kept: Vec<String> = conn
            .prepare("SELECT v FROM t ORDER BY k")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(kept, ["before"]);
    }
}
