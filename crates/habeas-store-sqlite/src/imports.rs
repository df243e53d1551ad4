//! Admissions imported in bulk from an earlier register (`payload.imported`): where each came
//! from, so that an interrupted import run again writes nothing twice, and what an import
//! checks its rows against before it writes anything.

use crate::custody::{reject, s};
use crate::{backend, SqliteStore};
use habeas_core::kinds;
use habeas_register::store::{AppendError, StoreError};
use habeas_register::Entry;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

/// Records where an imported admission came from; any other entry is left alone.
pub(crate) fn apply(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    if e.kind != kinds::ADMITTED {
        return Ok(());
    }
    let Some(imported) = e.payload.get("imported") else {
        return Ok(());
    };
    let line = imported
        .get("line")
        .and_then(Value::as_u64)
        .ok_or_else(|| reject("imported.line", "is missing"))?;
    conn.prepare_cached(
        "INSERT INTO imported_admissions (booking, facility, ref, source, sha256, line)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut st| {
        st.execute(params![
            e.index as i64,
            e.facility,
            s(imported, "ref").unwrap_or(""),
            s(imported, "source").unwrap_or(""),
            s(imported, "sha256").unwrap_or(""),
            line as i64
        ])
    })
    .map_err(backend)?;
    Ok(())
}

/// A person of an earlier register already imported at a facility, by their number there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedAdmission {
    pub booking: u64,
    pub person: u64,
    pub sha256: String,
    pub line: u64,
    /// The cell the custody is in now, if it is still open and placed.
    pub cell: Option<String>,
    /// Whether the custody is still open.
    pub open: bool,
    /// When the custody began, as the admission says.
    pub admitted_at: String,
}

/// Who holds an identity document already: the person and, if a custody of theirs is open,
/// its booking and facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentHolder {
    pub person: u64,
    pub open: Option<(u64, String)>,
}

/// The latest admission imported at a facility (?1) under a number (?2).
pub(crate) const IMPORTED_ADMISSION: &str =
    "SELECT i.booking, c.person, i.sha256, i.line, c.cell, c.ended IS NULL, c.admitted_at
     FROM imported_admissions i JOIN custodies c ON c.booking = i.booking
     WHERE i.facility = ?1 AND i.ref = ?2 ORDER BY i.booking DESC LIMIT 1";

impl SqliteStore {
    /// Whether any admission was imported at `facility`: an import into a facility that has
    /// none need not look each of its numbers up.
    pub fn any_imported_admissions(&self, facility: &str) -> Result<bool, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM imported_admissions WHERE facility = ?1)",
            )
            .and_then(|mut st| st.query_row([facility], |r| r.get(0)))
            .map_err(backend)
        })
    }

    /// The admission imported at `facility` under the person's number in the earlier register
    /// (the latest when the number was imported more than once), read by the index on
    /// (facility, ref). An import asks for each of its numbers: loading every admission ever
    /// imported took most of the time of a small import into a store of two million.
    pub fn imported_admission(
        &self,
        facility: &str,
        reference: &str,
    ) -> Result<Option<ImportedAdmission>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached(IMPORTED_ADMISSION)
                .and_then(|mut st| {
                    st.query_row([facility, reference], |r| {
                        Ok(ImportedAdmission {
                            booking: r.get::<_, i64>(0)? as u64,
                            person: r.get::<_, i64>(1)? as u64,
                            sha256: r.get(2)?,
                            line: r.get::<_, i64>(3)? as u64,
                            cell: r.get(4)?,
                            open: r.get(5)?,
                            admitted_at: r.get(6)?,
                        })
                    })
                    .optional()
                })
                .map_err(backend)
        })
    }

    /// For each document (kind, number, issuer, as [`crate::custody::documents_of`] folds
    /// them), who holds it already, if anyone.
    pub fn document_holders(
        &self,
        documents: &[(String, String, String)],
    ) -> Result<Vec<Option<DocumentHolder>>, StoreError> {
        self.with_reader(|c| {
            let mut by_doc = c
                .prepare_cached(
                    "SELECT person FROM person_documents WHERE kind = ?1 AND number = ?2 AND issuer = ?3",
                )
                .map_err(backend)?;
            let mut open = c
                .prepare_cached(
                    "SELECT booking, facility FROM custodies WHERE person = ?1 AND ended IS NULL",
                )
                .map_err(backend)?;
            documents
                .iter()
                .map(|(kind, number, issuer)| {
                    let Some(person) = by_doc
                        .query_row([kind, number, issuer], |r| r.get::<_, i64>(0))
                        .optional()
                        .map_err(backend)?
                    else {
                        return Ok(None);
                    };
                    let custody = open
                        .query_row([person], |r| {
                            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
                        })
                        .optional()
                        .map_err(backend)?;
                    Ok(Some(DocumentHolder {
                        person: person as u64,
                        open: custody,
                    }))
                })
                .collect()
        })
    }

    /// For each (folded name, birth date), the people already recorded with both (at most
    /// five), as an admission's probable-match check finds them.
    pub fn same_name_and_birth(
        &self,
        people: &[(String, String)],
    ) -> Result<Vec<Vec<u64>>, StoreError> {
        self.with_reader(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT person FROM persons WHERE search_name = ?1 AND birth_date = ?2 ORDER BY person LIMIT 5",
                )
                .map_err(backend)?;
            people
                .iter()
                .map(|(key, birth)| {
                    st.query_map([key, birth], |r| r.get::<_, i64>(0).map(|p| p as u64))
                        .and_then(|rows| rows.collect())
                        .map_err(backend)
                })
                .collect()
        })
    }
}
