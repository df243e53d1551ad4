//! Projections of the estate and of custody, and the queries over them. Constraints that need
//! the current state (capacity, Rule 11 separation, non-associations, one open custody per
//! person) are checked here, inside the writer's transaction, so concurrent requests cannot
//! both pass them.

use crate::backend;
use crate::projection::RowBuffer;
use habeas_core::allocation::{
    non_association_breaches, separation_breaches, Apart, Class, Occupant,
};
use habeas_core::custody::{LegalStatus, Scope, Sex};
use habeas_core::dates::Date;
use habeas_core::ids::search_key;
use habeas_core::kinds;
use habeas_register::store::StoreError;
use habeas_register::store::{AppendError, Rejection};
use habeas_register::Entry;
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::HashMap;

pub(crate) fn reject(field: &str, message: impl Into<String>) -> AppendError {
    Rejection::field(field, message).into()
}

pub(crate) fn reject_code(code: &str, field: &str, message: impl Into<String>) -> AppendError {
    Rejection {
        code: code.into(),
        field: Some(field.into()),
        message: message.into(),
        words: None,
    }
    .into()
}

/// The code of a refusal that names an object (a booking, a person, a case, a complaint…)
/// that the entry's facility does not hold. The answer is the same whether the object is held
/// elsewhere or does not exist at all, so that a refusal never tells one facility's staff
/// about another facility's people; the server answers it as "not found".
pub const NOT_HELD_HERE: &str = "not_found";

/// A refusal naming `what` as not held at `facility` (see [`NOT_HELD_HERE`]).
pub(crate) fn not_held_here(
    field: &str,
    what: impl std::fmt::Display,
    facility: &str,
) -> AppendError {
    reject_code(NOT_HELD_HERE, field, format!("{what} at {facility}"))
}

pub(crate) fn s<'a>(p: &'a Value, k: &str) -> Result<&'a str, AppendError> {
    p.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| reject(&format!("payload.{k}"), "missing or not a string"))
}

pub(crate) fn u(p: &Value, k: &str) -> Result<u64, AppendError> {
    p.get(k)
        .and_then(Value::as_u64)
        .ok_or_else(|| reject(&format!("payload.{k}"), "missing or not a whole number"))
}

pub(crate) fn b(p: &Value, k: &str) -> bool {
    p.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// What the projections of admissions and allocations keep while a group is applied, so that
/// a batch of them costs few statements: their rows, written with multi-row INSERTs; the facts
/// of facilities and cells, read once; the cells' populations and Rule 11 summaries as the
/// group changes them, written once at the end; the people the group recorded, by name and
/// birth date, for the probable-match check. Everything is written by [`Pending::flush`]
/// before any other kind of entry is applied (they read what they like) and at the end of the
/// group; a group that fails drops it unwritten, and its savepoint is rolled back.
pub(crate) struct Pending<'e> {
    persons: RowBuffer<'e>,
    custodies: RowBuffer<'e>,
    orders: RowBuffer<'e>,
    events: RowBuffer<'e>,
    /// People recorded by the group: (search name, birth date) → persons, in order.
    people: HashMap<(String, String), Vec<i64>>,
    /// A facility's country and whether it holds children (`None`: not defined).
    facilities: HashMap<String, Option<(String, bool)>>,
    /// Cells read or changed by the group, by (facility, code).
    cells: HashMap<(String, String), CellState>,
    /// Whether any non-association is active (read once).
    apart: Option<bool>,
}

/// A cell as allocation sees it, kept for a group.
struct CellState {
    unit: String,
    operational: i64,
    population: i64,
    summary: Summary,
    /// Changed by the group and not yet written.
    changed: bool,
}

impl Default for Pending<'_> {
    fn default() -> Self {
        Self {
            persons: RowBuffer::new(
                "INSERT OR FAIL INTO persons (person, given_names, surnames, birth_date, sex, nationalities, search_name) VALUES",
                7,
            ),
            custodies: RowBuffer::new(
                "INSERT OR FAIL INTO custodies (booking, person, facility, admitted_at, legal_status, foreign_national, agreement,
                                        pending_order, arrested_at, recorded_at) VALUES",
                10,
            ),
            orders: RowBuffer::new(
                "INSERT OR FAIL INTO commitment_orders (booking, n, kind, authority, reference, issued, expires, review, idx,
                     emergency_name, emergency_decree, emergency_declared, emergency_ends) VALUES",
                13,
            ),
            events: RowBuffer::new("INSERT OR IGNORE INTO custody_events (booking, idx) VALUES", 2),
            people: HashMap::new(),
            facilities: HashMap::new(),
            cells: HashMap::new(),
            apart: None,
        }
    }
}

impl<'e> Pending<'e> {
    /// Writes the rows waiting (the facts read stay).
    fn write_rows(&mut self, conn: &Connection) -> Result<(), StoreError> {
        self.persons.flush(conn)?;
        self.custodies.flush(conn)?;
        self.orders.flush(conn)?;
        self.events.flush(conn)
    }

    /// Writes everything waiting, the cells changed included, and forgets what was read.
    pub(crate) fn flush(&mut self, conn: &Connection) -> Result<(), StoreError> {
        self.write_rows(conn)?;
        for ((facility, code), c) in &self.cells {
            if !c.changed {
                continue;
            }
            conn.prepare_cached(
                "UPDATE cells SET population = ?3, sexes = ?4, groups = ?5, min_birth = ?6, max_birth = ?7
                 WHERE facility = ?1 AND code = ?2",
            )
            .and_then(|mut st| {
                st.execute(params![
                    facility,
                    code,
                    c.population,
                    c.summary.sexes,
                    c.summary.groups,
                    c.summary.min_birth,
                    c.summary.max_birth
                ])
            })
            .map_err(backend)?;
        }
        self.cells.clear();
        self.people.clear();
        self.facilities.clear();
        self.apart = None;
        Ok(())
    }

    fn is_idle(&self) -> bool {
        self.persons.is_empty()
            && self.custodies.is_empty()
            && self.orders.is_empty()
            && self.events.is_empty()
            && self.cells.is_empty()
            && self.people.is_empty()
            && self.facilities.is_empty()
            && self.apart.is_none()
    }

    /// A facility's country and whether it holds children.
    fn facility(
        &mut self,
        conn: &Connection,
        code: &str,
    ) -> Result<Option<(String, bool)>, AppendError> {
        if let Some(f) = self.facilities.get(code) {
            return Ok(f.clone());
        }
        let f: Option<(String, bool)> = conn
            .prepare_cached("SELECT country, juvenile FROM facilities WHERE code = ?1")
            .and_then(|mut st| {
                st.query_row([code], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(backend)?;
        self.facilities.insert(code.to_owned(), f.clone());
        Ok(f)
    }

    fn event(&mut self, conn: &Connection, booking: u64, idx: u64) -> Result<(), AppendError> {
        self.events.push_row(
            conn,
            [
                ToSqlOutput::Owned(SqlValue::Integer(booking as i64)),
                ToSqlOutput::Owned(SqlValue::Integer(idx as i64)),
            ],
        )?;
        Ok(())
    }
}

fn owned(s: String) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(SqlValue::Text(s))
}

fn borrowed(s: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
}

fn opt_borrowed(s: Option<&str>) -> ToSqlOutput<'_> {
    s.map_or(ToSqlOutput::Owned(SqlValue::Null), borrowed)
}

fn int(i: i64) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(SqlValue::Integer(i))
}

/// Applies an estate or custody entry; `Ok(false)` if the kind is not one of these.
pub(crate) fn apply<'e>(
    conn: &Connection,
    pending: &mut Pending<'e>,
    e: &'e Entry,
) -> Result<bool, AppendError> {
    match e.kind.as_str() {
        kinds::ADMITTED => return admit(conn, pending, e).map(|()| true),
        kinds::ALLOCATED => return allocate(conn, pending, e).map(|()| true),
        _ => {}
    }
    // Any other entry reads and writes what it likes: it sees everything written.
    if !pending.is_idle() {
        pending.flush(conn)?;
    }
    match e.kind.as_str() {
        kinds::FACILITY => facility(conn, e)?,
        kinds::UNIT => unit(conn, e)?,
        kinds::CELL => cell(conn, e)?,
        kinds::CELL_CERTIFIED => certify(conn, e)?,
        kinds::NON_ASSOCIATION => non_association(conn, e)?,
        kinds::NON_ASSOCIATION_ENDED => end_non_association(conn, e)?,
        kinds::RELEASED => release(conn, e)?,
        _ => return crate::events::apply(conn, e),
    }
    Ok(true)
}

fn facility(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    // Local time: a fixed offset from UTC (none: UTC).
    let offset = match e.payload.get("utc_offset").and_then(Value::as_str) {
        Some(o) => habeas_core::estate::utc_offset("payload.utc_offset", o)
            .map_err(|err| reject(&err.field, err.message))?,
        None => 0,
    };
    conn.prepare_cached(
        "INSERT OR REPLACE INTO facilities (code, idx, name, country, juvenile, utc_offset_minutes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut st| {
        st.execute(params![
            e.facility,
            e.index as i64,
            s(&e.payload, "name").unwrap_or(""),
            s(&e.payload, "country").unwrap_or(""),
            b(&e.payload, "juvenile"),
            offset
        ])
    })
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn facility_country(
    conn: &Connection,
    facility: &str,
) -> Result<Option<String>, AppendError> {
    conn.prepare_cached("SELECT country FROM facilities WHERE code = ?1")
        .and_then(|mut st| st.query_row([facility], |r| r.get(0)).optional())
        .map_err(|e| backend(e).into())
}

fn unit(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    if facility_country(conn, &e.facility)?.is_none() {
        return Err(reject(
            "facility",
            format!("facility {} is not defined; define it first", e.facility),
        ));
    }
    let (code, name) = (s(&e.payload, "code")?, s(&e.payload, "name")?);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO units (facility, code, idx, name) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut st| st.execute(params![e.facility, code, e.index as i64, name]))
    .map_err(backend)?;
    Ok(())
}

fn cell(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let (code, unit) = (s(p, "code")?, s(p, "unit")?);
    let unit_known: bool = conn
        .prepare_cached("SELECT count(*) > 0 FROM units WHERE facility = ?1 AND code = ?2")
        .and_then(|mut st| st.query_row([&e.facility, unit], |r| r.get(0)))
        .map_err(backend)?;
    if !unit_known {
        return Err(reject(
            "unit",
            format!("unit {unit} is not defined in {}", e.facility),
        ));
    }
    let current: Option<(i64, i64)> = conn
        .prepare_cached("SELECT cna, operational FROM cells WHERE facility = ?1 AND code = ?2")
        .and_then(|mut st| {
            st.query_row([&e.facility, code], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(backend)?;
    let (cna, operational) = (u(p, "cna")? as i64, u(p, "operational_capacity")? as i64);
    match current {
        Some((c, o)) => {
            if (c, o) != (cna, operational) {
                return Err(reject(
                    "cna",
                    format!("cell {code} is certified for {c} (operational {o}); a change of capacity is a certification naming its authority (habeas estate certify)"),
                ));
            }
            conn.prepare_cached(
                "UPDATE cells SET unit = ?3, idx = ?4, area_cm2 = ?5, bunks = ?6, kind = ?7, lighting = ?8, window = ?9,
                 ventilation = ?10, sanitation = ?11, mattresses = ?12, toilet_private = ?13 WHERE facility = ?1 AND code = ?2",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.facility, code, unit, e.index as i64, u(p, "area_cm2").unwrap_or(0) as i64, u(p, "bunks").unwrap_or(0) as i64,
                    s(p, "kind").unwrap_or("normal"), s(p, "lighting").unwrap_or("cycle"), b(p, "window"),
                    s(p, "ventilation").unwrap_or("natural"), b(p, "sanitation"),
                    p.get("mattresses").and_then(Value::as_i64), p.get("toilet_private").and_then(Value::as_bool)
                ])
            })
            .map_err(backend)?;
        }
        None => {
            let values = params![
                e.facility,
                code,
                unit,
                e.index as i64,
                u(p, "area_cm2")? as i64,
                u(p, "bunks")? as i64,
                cna,
                operational,
                s(p, "kind")?,
                s(p, "lighting")?,
                b(p, "window"),
                s(p, "ventilation")?,
                b(p, "sanitation"),
                p.get("mattresses").and_then(Value::as_i64),
                p.get("toilet_private").and_then(Value::as_bool)
            ];
            conn.prepare_cached(
                "INSERT INTO cells (facility, code, unit, idx, certified, area_cm2, bunks, cna, operational, kind, lighting,
                 window, ventilation, sanitation, mattresses, toilet_private, population)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0)",
            )
            .and_then(|mut st| st.execute(values))
            .map_err(backend)?;
        }
    }
    Ok(())
}

fn certify(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let cell = s(p, "cell")?;
    let (cna, operational) = (u(p, "cna")? as i64, u(p, "operational_capacity")? as i64);
    let n = conn
        .prepare_cached("UPDATE cells SET cna = ?3, operational = ?4, certified = ?5 WHERE facility = ?1 AND code = ?2")
        .and_then(|mut st| st.execute(params![e.facility, cell, cna, operational, e.index as i64]))
        .map_err(backend)?;
    if n == 0 {
        return Err(reject(
            "cell",
            format!("cell {cell} is not defined in {}", e.facility),
        ));
    }
    Ok(())
}

pub(crate) fn event(conn: &Connection, booking: u64, idx: u64) -> Result<(), AppendError> {
    conn.prepare_cached("INSERT OR IGNORE INTO custody_events (booking, idx) VALUES (?1, ?2)")
        .and_then(|mut st| st.execute(params![booking as i64, idx as i64]))
        .map_err(backend)?;
    Ok(())
}

fn admit<'e>(
    conn: &Connection,
    pending: &mut Pending<'e>,
    e: &'e Entry,
) -> Result<(), AppendError> {
    let p = &e.payload;
    let Some((country, juvenile)) = pending.facility(conn, &e.facility)? else {
        return Err(reject(
            "facility",
            format!("facility {} is not defined", e.facility),
        ));
    };
    let (person, nationalities) = match (
        p.get("person"),
        p.get("existing_person").and_then(Value::as_u64),
    ) {
        (Some(person), None) => {
            let given = s(person, "given_names")?;
            let documents = documents_of(person, &country);
            // Documents are written at once, so a document nobody holds is found so without
            // writing the rows waiting; only one somebody holds needs the custodies written, to
            // say where that person is.
            if !documents.is_empty() && known_documents(conn, e, &documents).is_err() {
                pending.write_rows(conn)?;
                known_documents(conn, e, &documents)?;
            }
            let surnames: Vec<&str> = person
                .get("surnames")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let nats: Vec<String> = person
                .get("nationalities")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let surnames = surnames.join(" ");
            let key = search_key(&format!("{given} {surnames}"));
            let birth = s(person, "birth_date").unwrap_or("");
            if !b(p, "new_person") {
                probable_matches(conn, pending, &key, birth)?;
            }
            for (kind, number, issuer) in &documents {
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO person_documents (kind, number, issuer, person) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut st| st.execute(params![kind, number, issuer, e.index as i64]))
                .map_err(backend)?;
            }
            pending
                .people
                .entry((key.clone(), birth.to_owned()))
                .or_default()
                .push(e.index as i64);
            pending.persons.push_row(
                conn,
                [
                    int(e.index as i64),
                    borrowed(given),
                    owned(surnames),
                    borrowed(birth),
                    borrowed(s(person, "sex").unwrap_or("")),
                    owned(nats.join(",")),
                    owned(key),
                ],
            )?;
            (e.index, nats)
        }
        (None, Some(existing)) => {
            // The person and their custodies are read as written.
            pending.write_rows(conn)?;
            let nats: Option<String> = conn
                .prepare_cached("SELECT nationalities FROM persons WHERE person = ?1")
                .and_then(|mut st| st.query_row([existing as i64], |r| r.get(0)).optional())
                .map_err(backend)?;
            // A person unknown and a person held at another facility get the same answer.
            let not_free = || {
                reject_code(
                    NOT_HELD_HERE,
                    "existing_person",
                    format!(
                        "there is no person {existing} free to be admitted at {}",
                        e.facility
                    ),
                )
            };
            let Some(nats) = nats else {
                return Err(not_free());
            };
            let open: Option<(i64, String)> = conn
                .prepare_cached(
                    "SELECT booking, facility FROM custodies WHERE person = ?1 AND ended IS NULL",
                )
                .and_then(|mut st| {
                    st.query_row([existing as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(backend)?;
            match open {
                Some((booking, facility)) if facility == e.facility => {
                    return Err(reject(
                        "existing_person",
                        format!("person {existing} is already in custody here (booking {booking}); end that custody first"),
                    )
                    .said("already-held", &[("person", &existing), ("booking", &booking)]));
                }
                Some(_) => return Err(not_free()),
                None => {}
            }
            (
                existing,
                nats.split(',')
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .collect(),
            )
        }
        _ => {
            return Err(reject(
                "person",
                "an admission names a new person or an existing one",
            ))
        }
    };
    // A child admitted where children are not held: recorded (nobody is turned away unrecorded),
    // but only when the registry names the rule it knowingly breaks.
    let birth: Option<String> = match p.get("person") {
        Some(person) => person
            .get("birth_date")
            .and_then(Value::as_str)
            .map(String::from),
        None => conn
            .prepare_cached("SELECT birth_date FROM persons WHERE person = ?1")
            .and_then(|mut st| st.query_row([person as i64], |r| r.get(0)).optional())
            .map_err(backend)?,
    };
    let admitted = s(p, "admitted_at")?;
    let age = birth.as_deref().and_then(|b| {
        let born = Date::parse("birth_date", b).ok()?;
        Some(born.age_on(Date::parse("admitted_at", admitted.get(..10)?).ok()?))
    });
    if let Some(age) = age.filter(|a| *a < 18) {
        let confirmed = p
            .get("confirm")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(|r| r == "Rule 11(d)"));
        if !juvenile && !confirmed {
            return Err(reject_code(
                "minor",
                "confirm",
                format!(
                    "the person is {age} on admission and {} is not designated for people under 18 (Mandela Rule 11(d); CRC art. 37(c)): to record the admission all the same, confirm [\"Rule 11(d)\"]; it is a grave finding from its first minute",
                    e.facility
                ),
            ));
        }
    }
    let foreign =
        habeas_core::custody::foreign_national(nationalities.iter().map(String::as_str), &country);
    if foreign && p.get("consular").is_none() {
        return Err(reject_code(
            "consular_rights",
            "consular",
            "a foreign national must be told of the right to consular notification and access without delay (Vienna Convention art. 36, Rule 62): give consular.rights_advised_at, or \"consular\": {} if they were not told (recorded as it is, and found: consular.not_advised)",
        ));
    }
    let agreement = p.get("agreement").and_then(Value::as_u64);
    if let Some(a) = agreement {
        let known: bool = conn
            .prepare_cached("SELECT count(*) > 0 FROM agreements WHERE idx = ?1")
            .and_then(|mut st| st.query_row([a as i64], |r| r.get(0)))
            .map_err(backend)?;
        if !known {
            return Err(reject(
                "agreement",
                format!("entry {a} is not a custody agreement"),
            ));
        }
    }
    pending.custodies.push_row(
        conn,
        [
            int(e.index as i64),
            int(person as i64),
            borrowed(&e.facility),
            borrowed(s(p, "admitted_at").unwrap_or("")),
            borrowed(s(p, "legal_status").unwrap_or("")),
            int(i64::from(foreign)),
            ToSqlOutput::Owned(agreement.map_or(SqlValue::Null, |a| SqlValue::Integer(a as i64))),
            int(i64::from(p.get("held_pending_order").is_some())),
            opt_borrowed(
                p.get("arrest")
                    .and_then(|a| a.get("at"))
                    .and_then(Value::as_str),
            ),
            ToSqlOutput::Owned(if p.get("transcribed_from").is_none() {
                SqlValue::Text(e.time.to_string())
            } else {
                SqlValue::Null
            }),
        ],
    )?;
    if let Some(orders) = p.get("orders").and_then(Value::as_array) {
        for (n, o) in orders.iter().enumerate() {
            let em = |k: &str| {
                opt_borrowed(
                    o.get("emergency")
                        .and_then(|x| x.get(k))
                        .and_then(Value::as_str),
                )
            };
            pending.orders.push_row(
                conn,
                [
                    int(e.index as i64),
                    int(n as i64),
                    borrowed(s(o, "kind").unwrap_or("")),
                    borrowed(s(o, "authority").unwrap_or("")),
                    borrowed(s(o, "reference").unwrap_or("")),
                    borrowed(s(o, "issued").unwrap_or("")),
                    opt_borrowed(o.get("expires").and_then(Value::as_str)),
                    opt_borrowed(o.get("review").and_then(Value::as_str)),
                    int(e.index as i64),
                    em("name"),
                    em("decree"),
                    em("declared"),
                    em("ends"),
                ],
            )?;
        }
    }
    pending.event(conn, e.index, e.index)
}

/// A person's identity documents as matched: (kind, number, issuer), kind and number
/// upper-cased, the number without spaces, dots or hyphens, and a document that names no
/// issuer taken as issued by `country` (the admitting facility's).
pub(crate) fn documents_of(person: &Value, country: &str) -> Vec<(String, String, String)> {
    person
        .get("documents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some(document_key(
                d.get("kind")?.as_str()?,
                d.get("number")?.as_str()?,
                d.get("issuer").and_then(Value::as_str),
                country,
            ))
        })
        .collect()
}

/// One identity document as documents are matched (see [`documents_of`]): whoever checks
/// for the same document before writing (a bulk import) folds it the same way.
pub fn document_key(
    kind: &str,
    number: &str,
    issuer: Option<&str>,
    country: &str,
) -> (String, String, String) {
    (
        kind.trim().to_uppercase(),
        number
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.'))
            .flat_map(char::to_uppercase)
            .collect(),
        issuer.unwrap_or(country).trim().to_uppercase(),
    )
}

/// Refuses a first admission whose identity document is already someone's: the same document
/// is the same person. Held here, the answer names the open booking; held at another facility,
/// it says only that; released, it says how to admit them again (as the same person).
fn known_documents(
    conn: &Connection,
    e: &Entry,
    documents: &[(String, String, String)],
) -> Result<(), AppendError> {
    for (i, (kind, number, issuer)) in documents.iter().enumerate() {
        let known: Option<i64> = conn
            .prepare_cached(
                "SELECT person FROM person_documents WHERE kind = ?1 AND number = ?2 AND issuer = ?3",
            )
            .and_then(|mut st| st.query_row([kind, number, issuer], |r| r.get(0)).optional())
            .map_err(backend)?;
        let Some(known) = known else { continue };
        let open: Option<(i64, String)> = conn
            .prepare_cached(
                "SELECT booking, facility FROM custodies WHERE person = ?1 AND ended IS NULL",
            )
            .and_then(|mut st| {
                st.query_row([known], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(backend)?;
        let field = format!("person.documents[{i}]");
        let what = format!("{kind} {number} ({issuer}) is the document of person {known}");
        return Err(reject_code(
            "known_person",
            &field,
            match open {
                Some((booking, facility)) if facility == e.facility => format!(
                    "{what}, already in custody here (booking {booking}): one person is held once"
                ),
                Some(_) => format!(
                    "{what}, already in custody at another facility: that custody ends, or a transfer brings them here, before another begins"
                ),
                None => format!(
                    "{what}, held before and released: admit them again as existing_person {known}, the same person"
                ),
            },
        ));
    }
    Ok(())
}

/// Refuses a first admission of someone with the same folded name and birth date as people
/// already recorded, naming them: the registry says which one this is (`existing_person`) or
/// that it is someone else (`new_person: true`).
fn probable_matches(
    conn: &Connection,
    pending: &Pending<'_>,
    key: &str,
    birth: &str,
) -> Result<(), AppendError> {
    let mut candidates: Vec<i64> = conn
        .prepare_cached(
            "SELECT person FROM persons WHERE search_name = ?1 AND birth_date = ?2 ORDER BY person LIMIT 10",
        )
        .and_then(|mut st| st.query_map([key, birth], |r| r.get(0))?.collect())
        .map_err(backend)?;
    // And the people of this group not yet written (or written: each is named once).
    if let Some(mine) = pending.people.get(&(key.to_owned(), birth.to_owned())) {
        candidates.extend(mine);
        candidates.sort_unstable();
        candidates.dedup();
        candidates.truncate(10);
    }
    if candidates.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = candidates.iter().map(i64::to_string).collect();
    Err(reject_code(
        "probable_match",
        "person",
        format!(
            "probably someone already recorded: person {} with the same name and birth date; admit them again with existing_person, or say new_person: true if this is someone else",
            ids.join(", ")
        ),
    ))
}

/// A custody still open, as allocation needs it.
pub(crate) struct Open {
    /// The Rule 11 bits of the person: sex, status group, birth date.
    pub(crate) bits: (i64, i64, String),
    pub(crate) facility: String,
    /// When the custody began (admission or transfer in).
    pub(crate) admitted_at: String,
    pub(crate) cell: Option<String>,
    pub(crate) class: Class,
}

fn class_of(sex: &str, birth: &str, status: &str, on: Date) -> Class {
    let minor = Date::parse("birth_date", birth)
        .map(|b| b.age_on(on) < 18)
        .unwrap_or(false);
    Class {
        sex: Sex::parse(sex).unwrap_or(Sex::Intersex),
        minor,
        group: LegalStatus::parse(status)
            .unwrap_or(LegalStatus::Remand)
            .group(),
    }
}

/// The open custody `booking` at the entry's facility, or a refusal naming the booking.
pub(crate) fn open_here(
    conn: &Connection,
    e: &Entry,
    booking: u64,
    on: Date,
) -> Result<Open, AppendError> {
    open_at(conn, e, "booking", booking, on)
}

/// The open custody `booking` (the payload's `field`) at the entry's facility. One held
/// elsewhere is refused exactly as one that does not exist ([`NOT_HELD_HERE`]).
pub(crate) fn open_at(
    conn: &Connection,
    e: &Entry,
    field: &str,
    booking: u64,
    on: Date,
) -> Result<Open, AppendError> {
    let open = match open_custody(conn, booking, on)? {
        Some(open) if open.facility == e.facility => open,
        _ => {
            return Err(not_held_here(
                field,
                format_args!("booking {booking} is not an open custody"),
                &e.facility,
            )
            .said(
                "not-open-custody",
                &[("booking", &booking), ("facility", &e.facility)],
            ))
        }
    };
    // What happens during a custody happens after it began.
    if let Some(at) = e.payload.get("at").and_then(Value::as_str) {
        within(&open, booking, at)?;
    }
    Ok(open)
}

/// Refuses a time `at` before the custody `booking` began (its admission or transfer in).
pub(crate) fn within(open: &Open, booking: u64, at: &str) -> Result<(), AppendError> {
    if at < open.admitted_at.as_str() {
        return Err(reject_code(
            "before_custody",
            "at",
            format!(
                "{at} is before booking {booking} began ({}): what happens in a custody happens after its admission",
                open.admitted_at
            ),
        )
        .said("before-custody", &[("at", &at), ("booking", &booking), ("began", &open.admitted_at)]));
    }
    Ok(())
}

pub(crate) fn open_custody(
    conn: &Connection,
    booking: u64,
    on: Date,
) -> Result<Option<Open>, AppendError> {
    conn.prepare_cached(
        "SELECT c.facility, c.cell, p.sex, p.birth_date, c.legal_status, c.admitted_at
         FROM custodies c JOIN persons p ON p.person = c.person WHERE c.booking = ?1 AND c.ended IS NULL",
    )
    .and_then(|mut st| {
        st.query_row([booking as i64], |r| {
            let (sex, birth, status) = (r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?);
            Ok(Open {
                bits: (sex_bit(&sex), group_bit(&status), birth.clone()),
                facility: r.get(0)?,
                admitted_at: r.get(5)?,
                cell: r.get(1)?,
                class: class_of(&sex, &birth, &status, on),
            })
        })
        .optional()
    })
    .map_err(|e| backend(e).into())
}

/// The people in a cell now, as Rule 11 sees them: for each sex and legal status present, the
/// youngest and the oldest (enough to find every breach without reading every occupant).
pub(crate) fn occupants(
    conn: &Connection,
    facility: &str,
    cell: &str,
    on: Date,
) -> rusqlite::Result<Vec<Occupant>> {
    let mut out = Vec::new();
    for agg in ["max", "min"] {
        let mut st = conn.prepare_cached(&format!(
            "SELECT p.sex, c.legal_status, {agg}(p.birth_date), c.booking FROM custodies c JOIN persons p ON p.person = c.person
             WHERE c.facility = ?1 AND c.cell = ?2 AND c.ended IS NULL GROUP BY p.sex, c.legal_status"
        ))?;
        let rows = st.query_map([facility, cell], |r| {
            Ok(Occupant {
                booking: r.get::<_, i64>(3)? as u64,
                class: class_of(
                    &r.get::<_, String>(0)?,
                    &r.get::<_, String>(2)?,
                    &r.get::<_, String>(1)?,
                    on,
                ),
            })
        })?;
        for o in rows {
            let o = o?;
            if !out.contains(&o) {
                out.push(o);
            }
        }
    }
    Ok(out)
}

/// A cell's occupants in brief (see the `cells` table).
pub(crate) struct Summary {
    sexes: i64,
    groups: i64,
    min_birth: Option<String>,
    max_birth: Option<String>,
}

pub(crate) fn sex_bit(sex: &str) -> i64 {
    match Sex::parse(sex) {
        Some(Sex::Male) => 1,
        Some(Sex::Female) => 2,
        _ => 4,
    }
}

pub(crate) fn group_bit(status: &str) -> i64 {
    match LegalStatus::parse(status).map(LegalStatus::group) {
        Some(habeas_core::custody::StatusGroup::Untried) | None => 1,
        Some(habeas_core::custody::StatusGroup::Convicted) => 2,
        Some(habeas_core::custody::StatusGroup::Civil) => 4,
    }
}

impl Summary {
    /// Whether putting someone of `class` here could break Rule 11 on `on`.
    fn mixes_with(&self, class: Class, on: Date) -> bool {
        let me_sex = match class.sex {
            Sex::Male => 1,
            Sex::Female => 2,
            Sex::Intersex => 4,
        };
        let me_group = match class.group {
            habeas_core::custody::StatusGroup::Untried => 1,
            habeas_core::custody::StatusGroup::Convicted => 2,
            habeas_core::custody::StatusGroup::Civil => 4,
        };
        let minor = |birth: &Option<String>| {
            birth
                .as_deref()
                .and_then(|b| Date::parse("birth_date", b).ok())
                .is_some_and(|b| b.age_on(on) < 18)
        };
        // The latest birth date is the youngest occupant, the earliest the oldest.
        let has_minor = minor(&self.max_birth);
        let has_adult = self.min_birth.is_some() && !minor(&self.min_birth);
        self.sexes & !me_sex != 0
            || self.groups & !me_group != 0
            || (class.minor && has_adult)
            || (!class.minor && has_minor)
    }
}

/// Recomputes a cell's population and Rule 11 summary from the custodies in it.
pub(crate) fn refresh_cell(
    conn: &Connection,
    facility: &str,
    cell: &str,
) -> Result<(), AppendError> {
    conn.prepare_cached(
        "UPDATE cells SET (population, sexes, groups, min_birth, max_birth) = (
            SELECT count(*),
                   coalesce(sum(DISTINCT CASE p.sex WHEN 'male' THEN 1 WHEN 'female' THEN 2 ELSE 4 END), 0),
                   coalesce(sum(DISTINCT CASE WHEN c.legal_status IN ('remand', 'held_for_another_state') THEN 1
                                              WHEN c.legal_status IN ('convicted_unsentenced', 'sentenced') THEN 2 ELSE 4 END), 0),
                   min(p.birth_date), max(p.birth_date)
            FROM custodies c JOIN persons p ON p.person = c.person
            WHERE c.facility = ?1 AND c.cell = ?2 AND c.ended IS NULL)
         WHERE facility = ?1 AND code = ?2",
    )
    .and_then(|mut st| st.execute([facility, cell]))
    .map_err(backend)?;
    Ok(())
}

/// Active non-associations involving `booking`, and where the others are.
fn apart_of(
    conn: &Connection,
    booking: u64,
) -> rusqlite::Result<(Vec<Apart>, HashMap<u64, habeas_core::allocation::Location>)> {
    let mut st = conn.prepare_cached(
        "SELECT idx, a, b, scope FROM non_associations WHERE ended IS NULL AND (a = ?1 OR b = ?1)",
    )?;
    let apart: Vec<Apart> = st
        .query_map([booking as i64], |r| {
            Ok(Apart {
                entry: r.get::<_, i64>(0)? as u64,
                a: r.get::<_, i64>(1)? as u64,
                b: r.get::<_, i64>(2)? as u64,
                scope: Scope::parse(&r.get::<_, String>(3)?).unwrap_or(Scope::Cell),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut located = HashMap::new();
    for n in &apart {
        let other = if n.a == booking { n.b } else { n.a };
        let at: Option<(Option<String>, Option<String>)> = conn
            .prepare_cached(
                "SELECT unit, cell FROM custodies WHERE booking = ?1 AND ended IS NULL",
            )?
            .query_row([other as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((Some(u), Some(c))) = at {
            located.insert(other, (u, c));
        }
    }
    Ok((apart, located))
}

fn allocate<'e>(
    conn: &Connection,
    pending: &mut Pending<'e>,
    e: &'e Entry,
) -> Result<(), AppendError> {
    let p = &e.payload;
    let (booking, cell) = (u(p, "booking")?, s(p, "cell")?);
    let on = Date::of(e.time);
    // The custody and its person are read as written, and so are the occupants if read.
    if !(pending.persons.is_empty() && pending.custodies.is_empty()) {
        pending.write_rows(conn)?;
    }
    let open = open_here(conn, e, booking, on)?;
    if open.cell.as_deref() == Some(cell) {
        return Err(reject(
            "cell",
            format!("booking {booking} is already in cell {cell}"),
        )
        .said("already-in-cell", &[("booking", &booking), ("cell", &cell)]));
    }
    if open.cell.is_some() {
        // The cell left is summed up again from its custodies: the cells are written first.
        pending.flush(conn)?;
    }
    let key = (e.facility.clone(), cell.to_owned());
    if !pending.cells.contains_key(&key) {
        let target: Option<CellState> = conn
            .prepare_cached(
                "SELECT unit, operational, population, sexes, groups, min_birth, max_birth FROM cells WHERE facility = ?1 AND code = ?2",
            )
            .and_then(|mut st| {
                st.query_row([&e.facility, cell], |r| {
                    Ok(CellState {
                        unit: r.get(0)?,
                        operational: r.get(1)?,
                        population: r.get(2)?,
                        summary: Summary { sexes: r.get(3)?, groups: r.get(4)?, min_birth: r.get(5)?, max_birth: r.get(6)? },
                        changed: false,
                    })
                })
                .optional()
            })
            .map_err(backend)?;
        let Some(target) = target else {
            return Err(
                reject("cell", format!("there is no cell {cell} in {}", e.facility))
                    .said("no-cell", &[("cell", &cell), ("facility", &e.facility)]),
            );
        };
        pending.cells.insert(key.clone(), target);
    }
    let Some(target) = pending.cells.get(&key) else {
        return Err(
            reject("cell", format!("there is no cell {cell} in {}", e.facility))
                .said("no-cell", &[("cell", &cell), ("facility", &e.facility)]),
        );
    };
    let (operational, population) = (target.operational, target.population);
    let unit = target.unit.clone();
    // A placement transcribed from an earlier register (an import) records what was: a cell
    // over its capacity, or people Rule 11 keeps apart placed together, is a fact to record
    // and find (`capacity.operational`, `separation.*`), not a placement to refuse.
    let transcribed = p.get("transcribed_from").and_then(Value::as_str);
    if population >= operational && transcribed.is_none() {
        return Err(reject_code(
            "over_capacity",
            "cell",
            format!("cell {cell} is at its operational capacity ({operational}); choose another cell or certify a new capacity"),
        )
        .said("over-capacity", &[("cell", &cell), ("operational", &operational)]));
    }
    // The summary says whether anyone of another Rule 11 class is there; only then are the
    // occupants read, to name them.
    let mut breaches = if target.summary.mixes_with(open.class, on) {
        separation_breaches(
            open.class,
            &occupants(conn, &e.facility, cell, on).map_err(backend)?,
        )
    } else {
        Vec::new()
    };
    // Non-associations are read only while some are active.
    let any_apart = match pending.apart {
        Some(a) => a,
        None => {
            let a: bool = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM non_associations WHERE ended IS NULL)",
                )
                .and_then(|mut st| st.query_row([], |r| r.get(0)))
                .map_err(backend)?;
            pending.apart = Some(a);
            a
        }
    };
    if any_apart {
        let (apart, located) = apart_of(conn, booking).map_err(backend)?;
        breaches.extend(non_association_breaches(
            booking, &unit, cell, &apart, &located,
        ));
    }
    if !breaches.is_empty() {
        let mut rules: Vec<&str> = breaches.iter().map(|b| b.rule).collect();
        rules.sort_unstable();
        rules.dedup();
        let (reason, authority) = match (p.get("override"), transcribed) {
            (Some(ov), _) => {
                // Men with women, children with adults: the gravest breaches, set aside only
                // by two authorities (a grave finding from the first minute all the same).
                let grave: Vec<&str> = rules
                    .iter()
                    .copied()
                    .filter(|r| matches!(*r, "Rule 11(a)" | "Rule 11(d)"))
                    .collect();
                if !grave.is_empty() && ov.get("second_authority").and_then(Value::as_str).is_none()
                {
                    return Err(reject_code(
                        "second_authority",
                        "override_second_authority",
                        format!(
                            "placing booking {booking} in cell {cell} breaks {}: an override of Rule 11(a) or 11(d) needs a second authority besides the direction's, and is a grave finding from its first minute",
                            grave.join(" and ")
                        ),
                    ));
                }
                (
                    s(ov, "reason").unwrap_or("").to_owned(),
                    s(ov, "authority").unwrap_or("").to_owned(),
                )
            }
            // Nobody decided it here: the earlier register is the evidence.
            (None, Some(source)) => (
                format!("transcribed from {source}: placed so in the earlier register"),
                "the earlier register".to_owned(),
            ),
            (None, None) => {
                // Each rule once, with what it keeps apart.
                let explained: Vec<String> = rules
                    .iter()
                    .filter_map(|r| breaches.iter().find(|b| b.rule == *r))
                    .map(|b| format!("{} ({})", b.rule, b.what))
                    .collect();
                return Err(reject_code(
                    "separation",
                    "cell",
                    format!(
                        "placing booking {booking} in cell {cell} breaks {}; an override needs a reason and an authority",
                        explained.join(" and ")
                    ),
                ));
            }
        };
        conn.prepare_cached(
            "INSERT INTO allocation_overrides (idx, booking, cell, rules, reason, authority) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut st| st.execute(params![e.index as i64, booking as i64, cell, rules.join(","), reason, authority]))
        .map_err(backend)?;
    }
    let (sex_bit, group_bit, birth) = open.bits;
    if let Some(target) = pending.cells.get_mut(&key) {
        // As `population + 1, sexes | bit, …, min(coalesce(min_birth, b), b)` would in SQL.
        let sum = &mut target.summary;
        target.population += 1;
        sum.sexes |= sex_bit;
        sum.groups |= group_bit;
        if sum.min_birth.as_ref().is_none_or(|m| birth < *m) {
            sum.min_birth = Some(birth.clone());
        }
        if sum.max_birth.as_ref().is_none_or(|m| birth > *m) {
            sum.max_birth = Some(birth);
        }
        target.changed = true;
    }
    conn.prepare_cached(
        "UPDATE custodies SET unit = ?2, cell = ?3, allocated = ?4, presence = coalesce(presence, 'in_cell')
         WHERE booking = ?1",
    )
    .and_then(|mut st| st.execute(params![booking as i64, unit, cell, e.index as i64]))
    .map_err(backend)?;
    if let Some(old) = &open.cell {
        refresh_cell(conn, &e.facility, old)?;
    }
    pending.event(conn, booking, e.index)
}

fn non_association(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let (a, b_) = (u(p, "a")?, u(p, "b")?);
    let on = Date::of(e.time);
    // Both people are held where the entry says: a facility keeps apart only its own.
    for (field, booking) in [("a", a), ("b", b_)] {
        open_at(conn, e, field, booking, on)?;
    }
    let scope = s(p, "scope")?;
    conn.prepare_cached(
        "INSERT INTO non_associations (idx, facility, a, b, scope) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut st| {
        st.execute(params![
            e.index as i64,
            e.facility,
            a as i64,
            b_ as i64,
            scope
        ])
    })
    .map_err(backend)?;
    event(conn, a, e.index)?;
    event(conn, b_, e.index)
}

fn end_non_association(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let entry = u(&e.payload, "non_association")?;
    let pair: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT a, b FROM non_associations WHERE idx = ?1 AND facility = ?2 AND ended IS NULL",
        )
        .and_then(|mut st| {
            st.query_row(params![entry as i64, e.facility], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(backend)?;
    let Some((a, b_)) = pair else {
        return Err(not_held_here(
            "non_association",
            format_args!("entry {entry} is not an active non-association"),
            &e.facility,
        ));
    };
    conn.prepare_cached("UPDATE non_associations SET ended = ?2 WHERE idx = ?1")
        .and_then(|mut st| st.execute(params![entry as i64, e.index as i64]))
        .map_err(backend)?;
    event(conn, a as u64, e.index)?;
    event(conn, b_ as u64, e.index)
}

fn release(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let booking = u(p, "booking")?;
    let open = open_here(conn, e, booking, Date::of(e.time))?;
    let reason = s(p, "reason")?;
    if reason == "escape" {
        let at = s(p, "at")?;
        // An escape opens a Rule 71(1) case of the facility that held the person: its steps
        // (the report to an independent authority) are `harm_step`s of the release's entry.
        conn.prepare_cached(
            "INSERT INTO harm_cases (idx, booking, facility, at, kind) VALUES (?1, ?2, ?3, ?4, 'escape')",
        )
        .and_then(|mut st| {
            st.execute(params![e.index as i64, booking as i64, e.facility, at])
        })
        .map_err(backend)?;
    }
    end_custody(
        conn,
        &e.facility,
        booking,
        open.cell.as_deref(),
        e.index,
        reason,
    )
}

/// Ends an open custody: the cell loses a person, the custody its cell and presence.
pub(crate) fn end_custody(
    conn: &Connection,
    facility: &str,
    booking: u64,
    cell: Option<&str>,
    idx: u64,
    reason: &str,
) -> Result<(), AppendError> {
    conn.prepare_cached(
        "UPDATE custodies SET ended = ?2, end_reason = ?3, unit = NULL, cell = NULL, presence = NULL, away_to = NULL
         WHERE booking = ?1",
    )
    .and_then(|mut st| st.execute(params![booking as i64, idx as i64, reason]))
    .map_err(backend)?;
    if let Some(cell) = cell {
        refresh_cell(conn, facility, cell)?;
    }
    event(conn, booking, idx)
}

/// A person refused at the gate for want of a valid order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GateRefusal {
    /// The refusal's entry.
    pub entry: u64,
    pub facility: String,
    pub at: String,
    pub name: String,
    pub brought_by: String,
}

/// The refusals at a facility's gate since `since` (a time or a date), newest first.
pub(crate) fn gate_refusals(
    conn: &Connection,
    facility: &str,
    since: &str,
) -> rusqlite::Result<Vec<GateRefusal>> {
    let mut st = conn.prepare_cached(
        "SELECT idx, facility, at, name, brought_by FROM gate_refusals
         WHERE facility = ?1 AND at >= ?2 ORDER BY at DESC, idx DESC",
    )?;
    let rows = st.query_map([facility, since], |r| {
        Ok(GateRefusal {
            entry: r.get::<_, i64>(0)? as u64,
            facility: r.get(1)?,
            at: r.get(2)?,
            name: r.get(3)?,
            brought_by: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// Of a custody `c`: held pending an order and none recorded since the admission.
const PENDING: &str = "(c.pending_order AND NOT EXISTS (SELECT 1 FROM commitment_orders o WHERE o.booking = c.booking AND o.idx <> c.booking))";

/// A person held and not in any cell (admitted or transferred in, and not yet allocated), or
/// held pending an order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unplaced {
    pub booking: u64,
    pub person: u64,
    pub facility: String,
    pub admitted_at: String,
    /// `away` when out of the facility (court, hospital…) before any cell, else `null`.
    pub presence: Option<String>,
}

/// The people one facility holds now, by the one definition every view uses: every open
/// custody, those in a cell (the sum of its cells' populations) and those in none.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeadCount {
    pub facility: String,
    /// Every open custody of the facility.
    pub held: u64,
    /// The sum of its cells' populations.
    pub in_cells: u64,
    /// Held and in no cell, oldest admission first.
    pub not_in_a_cell: Vec<Unplaced>,
    /// Held pending an order, with none recorded since (`legal.no_valid_basis`).
    pub pending_order: Vec<Unplaced>,
    /// `held - in_cells - not_in_a_cell`: zero when the cells and the custodies agree. Any
    /// other number is a fault of the projections that `habeas verify` names.
    pub unreconciled: i64,
}

fn unplaced(r: &rusqlite::Row<'_>) -> rusqlite::Result<Unplaced> {
    Ok(Unplaced {
        booking: r.get::<_, i64>(0)? as u64,
        person: r.get::<_, i64>(1)? as u64,
        facility: r.get(2)?,
        admitted_at: r.get(3)?,
        presence: r.get(4)?,
    })
}

pub(crate) fn head_counts(
    conn: &Connection,
    facility: Option<&str>,
) -> rusqlite::Result<Vec<HeadCount>> {
    let mut out: Vec<HeadCount> = Vec::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT f.code,
                    (SELECT count(*) FROM custodies c WHERE c.facility = f.code AND c.ended IS NULL),
                    (SELECT coalesce(sum(population), 0) FROM cells k WHERE k.facility = f.code)
             FROM facilities f WHERE ?1 IS NULL OR f.code = ?1 ORDER BY f.code",
        )?;
        let mut rows = st.query([facility])?;
        while let Some(r) = rows.next()? {
            out.push(HeadCount {
                facility: r.get(0)?,
                held: r.get::<_, i64>(1)? as u64,
                in_cells: r.get::<_, i64>(2)? as u64,
                not_in_a_cell: Vec::new(),
                pending_order: Vec::new(),
                unreconciled: 0,
            });
        }
    }
    // One facility's by its index (`?1 IS NULL OR …` would scan every open custody).
    let one = if facility.is_some() {
        "facility = ?1"
    } else {
        "?1 IS NULL"
    };
    let mut st = conn.prepare_cached(&format!(
        "SELECT booking, person, facility, admitted_at, presence FROM custodies
         WHERE ended IS NULL AND cell IS NULL AND {one}
         ORDER BY facility, admitted_at, booking"
    ))?;
    let mut rows = st.query([facility])?;
    while let Some(r) = rows.next()? {
        let u = unplaced(r)?;
        if let Some(h) = out.iter_mut().find(|h| h.facility == u.facility) {
            h.not_in_a_cell.push(u);
        }
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.booking, c.person, c.facility, c.admitted_at, c.presence FROM custodies c
         WHERE c.ended IS NULL AND c.pending_order AND {one} AND {PENDING}
         ORDER BY c.booking",
        one = if facility.is_some() {
            "c.facility = ?1"
        } else {
            "?1 IS NULL"
        }
    ))?;
    let mut rows = st.query([facility])?;
    while let Some(r) = rows.next()? {
        let u = unplaced(r)?;
        if let Some(h) = out.iter_mut().find(|h| h.facility == u.facility) {
            h.pending_order.push(u);
        }
    }
    for h in &mut out {
        h.unreconciled = h.held as i64 - h.in_cells as i64 - h.not_in_a_cell.len() as i64;
    }
    Ok(out)
}

/// One cell with its certified capacity and population.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CellRow {
    pub facility: String,
    pub unit: String,
    pub code: String,
    pub area_cm2: u64,
    pub bunks: u64,
    pub cna: u64,
    pub operational_capacity: u64,
    pub kind: String,
    pub lighting: String,
    pub window: bool,
    pub ventilation: String,
    pub sanitation: bool,
    pub population: u64,
    /// The mattresses in the cell, when recorded (Rule 21).
    pub mattresses: Option<u64>,
    /// Whether its toilet is private, when recorded (Rules 15–16).
    pub toilet_private: Option<bool>,
}

pub(crate) fn cells(conn: &Connection, facility: Option<&str>) -> rusqlite::Result<Vec<CellRow>> {
    let mut st = conn.prepare_cached(
        "SELECT facility, unit, code, area_cm2, bunks, cna, operational, kind, lighting, window, ventilation, sanitation, population,
                mattresses, toilet_private
         FROM cells WHERE ?1 IS NULL OR facility = ?1 ORDER BY facility, unit, code",
    )?;
    let rows = st.query_map([facility], |r| {
        Ok(CellRow {
            facility: r.get(0)?,
            unit: r.get(1)?,
            code: r.get(2)?,
            area_cm2: r.get::<_, i64>(3)? as u64,
            bunks: r.get::<_, i64>(4)? as u64,
            cna: r.get::<_, i64>(5)? as u64,
            operational_capacity: r.get::<_, i64>(6)? as u64,
            kind: r.get(7)?,
            lighting: r.get(8)?,
            window: r.get(9)?,
            ventilation: r.get(10)?,
            sanitation: r.get(11)?,
            population: r.get::<_, i64>(12)? as u64,
            mattresses: r.get::<_, Option<i64>>(13)?.map(|m| m.max(0) as u64),
            toilet_private: r.get(14)?,
        })
    })?;
    rows.collect()
}

/// A facility as defined.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FacilityRow {
    pub code: String,
    pub name: String,
    pub country: String,
    /// Designated for people under 18.
    pub juvenile: bool,
    /// Its local time's offset from UTC, in minutes (0: UTC).
    pub utc_offset_minutes: i32,
    pub units: Vec<(String, String)>,
}

pub(crate) fn facility_row(conn: &Connection, code: &str) -> rusqlite::Result<Option<FacilityRow>> {
    let head: Option<(String, String, bool, i32)> = conn
        .prepare_cached(
            "SELECT name, country, juvenile, utc_offset_minutes FROM facilities WHERE code = ?1",
        )?
        .query_row([code], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((name, country, juvenile, utc_offset_minutes)) = head else {
        return Ok(None);
    };
    let mut st =
        conn.prepare_cached("SELECT code, name FROM units WHERE facility = ?1 ORDER BY code")?;
    let units = st
        .query_map([code], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(FacilityRow {
        code: code.to_owned(),
        name,
        country,
        juvenile,
        utc_offset_minutes,
        units,
    }))
}

/// What the batch planner needs: open custodies without a cell, the cells, who is where, and
/// the active non-associations.
pub struct PlanningState {
    pub arrivals: Vec<habeas_core::allocation::Arrival>,
    pub slots: Vec<habeas_core::allocation::Slot>,
    pub located: HashMap<u64, (String, String)>,
    pub apart: Vec<Apart>,
}

pub(crate) fn planning_state(
    conn: &Connection,
    facility: &str,
    on: Date,
) -> rusqlite::Result<PlanningState> {
    let mut arrivals = Vec::new();
    let mut located = HashMap::new();
    let mut by_cell: HashMap<String, Vec<Occupant>> = HashMap::new();
    let mut st = conn.prepare_cached(
        "SELECT c.booking, p.sex, p.birth_date, c.legal_status, c.unit, c.cell FROM custodies c
         JOIN persons p ON p.person = c.person WHERE c.facility = ?1 AND c.ended IS NULL ORDER BY c.booking",
    )?;
    let mut rows = st.query([facility])?;
    while let Some(r) = rows.next()? {
        let booking = r.get::<_, i64>(0)? as u64;
        let class = class_of(
            &r.get::<_, String>(1)?,
            &r.get::<_, String>(2)?,
            &r.get::<_, String>(3)?,
            on,
        );
        match (
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ) {
            (Some(unit), Some(cell)) => {
                by_cell
                    .entry(cell.clone())
                    .or_default()
                    .push(Occupant { booking, class });
                located.insert(booking, (unit, cell));
            }
            _ => arrivals.push(habeas_core::allocation::Arrival { booking, class }),
        }
    }
    let slots = cells(conn, Some(facility))?
        .into_iter()
        .map(|c| habeas_core::allocation::Slot {
            free: c.operational_capacity.saturating_sub(c.population) as u32,
            occupants: by_cell.remove(&c.code).unwrap_or_default(),
            cell: c.code,
            unit: c.unit,
        })
        .collect();
    let mut st = conn.prepare_cached(
        "SELECT idx, a, b, scope FROM non_associations WHERE ended IS NULL AND facility = ?1",
    )?;
    let apart = st
        .query_map([facility], |r| {
            Ok(Apart {
                entry: r.get::<_, i64>(0)? as u64,
                a: r.get::<_, i64>(1)? as u64,
                b: r.get::<_, i64>(2)? as u64,
                scope: Scope::parse(&r.get::<_, String>(3)?).unwrap_or(Scope::Cell),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(PlanningState {
        arrivals,
        slots,
        located,
        apart,
    })
}

/// A custody as the person's file shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CustodyRow {
    pub booking: u64,
    pub facility: String,
    pub admitted_at: String,
    pub legal_status: String,
    pub foreign_national: bool,
    pub unit: Option<String>,
    pub cell: Option<String>,
    /// in_cell, out_of_cell or away.
    pub presence: Option<String>,
    pub away_to: Option<String>,
    pub agreement: Option<u64>,
    /// From the latest sentence, with credit for time on remand.
    pub release_date: Option<String>,
    pub ended_by: Option<u64>,
    pub end_reason: Option<String>,
    pub orders: Vec<OrderRow>,
    /// Every register entry about this custody, oldest first.
    pub events: Vec<u64>,
    /// Brought without an order in force, held pending one, and none recorded since: the
    /// grave finding `legal.no_valid_basis` stands.
    pub pending_order: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrderRow {
    pub kind: String,
    pub authority: String,
    pub reference: String,
    pub issued: String,
    pub expires: Option<String>,
    pub review: Option<String>,
}

/// A person's file: identity and every custody.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PersonFile {
    pub person: u64,
    pub given_names: String,
    pub surnames: String,
    pub birth_date: String,
    pub sex: String,
    pub nationalities: Vec<String>,
    /// The names recorded before a correction, oldest first ("formerly recorded as").
    pub formerly: Vec<String>,
    pub custodies: Vec<CustodyRow>,
}

impl PersonFile {
    /// The custody that began after the custody `booking` ended by an escape: the person
    /// recaptured (a new admission), if they have been.
    pub fn recapture_of(&self, booking: u64) -> Option<&CustodyRow> {
        let escaped = self
            .custodies
            .iter()
            .find(|c| c.booking == booking && c.end_reason.as_deref() == Some("escape"))?;
        let ended = escaped.ended_by?;
        self.custodies
            .iter()
            .filter(|c| c.booking > ended)
            .min_by_key(|c| c.booking)
    }
    /// The custody ended by an escape that the custody `booking` follows (the one before it
    /// ended so): the custody is the person's recapture.
    pub fn escape_before(&self, booking: u64) -> Option<&CustodyRow> {
        self.custodies
            .iter()
            .filter(|c| c.booking < booking)
            .max_by_key(|c| c.booking)
            .filter(|c| c.end_reason.as_deref() == Some("escape"))
    }
}

pub(crate) fn person_file(conn: &Connection, person: u64) -> rusqlite::Result<Option<PersonFile>> {
    person_file_with(conn, person, true)
}

/// [`person_file`], with each custody's `events` left empty unless `events` is set (for a
/// caller that reads the entries themselves and fills them in as it goes).
pub(crate) fn person_file_with(
    conn: &Connection,
    person: u64,
    events: bool,
) -> rusqlite::Result<Option<PersonFile>> {
    // The person and their custodies in one statement (a person without a custody gives one
    // row with NULLs on the right), their orders in another and, when asked, their entries'
    // indexes in a third: three statements however many custodies the person has had.
    let mut st = conn.prepare_cached(&format!(
        "SELECT p.given_names, p.surnames, p.birth_date, p.sex, p.nationalities,
         c.booking, c.facility, c.admitted_at, c.legal_status, c.foreign_national, c.unit, c.cell, c.ended, c.end_reason,
         CASE WHEN c.presence = 'in_cell' THEN coalesce(k.presence, 'in_cell') ELSE c.presence END,
         c.away_to, c.agreement, c.release_date, {PENDING}, p.former_names
         FROM persons p
         LEFT JOIN custodies c ON c.person = p.person
         LEFT JOIN cells k ON k.facility = c.facility AND k.code = c.cell
         WHERE p.person = ?1 ORDER BY c.booking"
    ))?;
    let mut rows = st.query([person as i64])?;
    let mut head = None;
    let mut custodies: Vec<CustodyRow> = Vec::new();
    while let Some(r) = rows.next()? {
        if head.is_none() {
            head = Some((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(19)?,
            ));
        }
        let Some(booking) = r.get::<_, Option<i64>>(5)? else {
            continue;
        };
        custodies.push(CustodyRow {
            booking: booking as u64,
            facility: r.get(6)?,
            admitted_at: r.get(7)?,
            legal_status: r.get(8)?,
            foreign_national: r.get(9)?,
            unit: r.get(10)?,
            cell: r.get(11)?,
            ended_by: r.get::<_, Option<i64>>(12)?.map(|v| v as u64),
            end_reason: r.get(13)?,
            presence: r.get(14)?,
            away_to: r.get(15)?,
            agreement: r.get::<_, Option<i64>>(16)?.map(|v| v as u64),
            release_date: r.get(17)?,
            pending_order: r.get::<_, Option<bool>>(18)?.unwrap_or(false),
            orders: Vec::new(),
            events: Vec::new(),
        });
    }
    drop(rows);
    drop(st);
    let Some((given_names, surnames, birth_date, sex, nats, former)) = head else {
        return Ok(None);
    };
    if !custodies.is_empty() {
        let mut st = conn.prepare_cached(
            "SELECT c.booking, o.kind, o.authority, o.reference, o.issued, o.expires, o.review
             FROM custodies c JOIN commitment_orders o ON o.booking = c.booking
             WHERE c.person = ?1 ORDER BY c.booking, o.n",
        )?;
        let mut rows = st.query([person as i64])?;
        while let Some(r) = rows.next()? {
            let booking = r.get::<_, i64>(0)? as u64;
            if let Some(c) = custody_of(&mut custodies, booking) {
                c.orders.push(OrderRow {
                    kind: r.get(1)?,
                    authority: r.get(2)?,
                    reference: r.get(3)?,
                    issued: r.get(4)?,
                    expires: r.get(5)?,
                    review: r.get(6)?,
                });
            }
        }
    }
    if events && !custodies.is_empty() {
        let mut st = conn.prepare_cached(
            "SELECT c.booking, e.idx FROM custodies c JOIN custody_events e ON e.booking = c.booking
             WHERE c.person = ?1 ORDER BY c.booking, e.idx",
        )?;
        let mut rows = st.query([person as i64])?;
        while let Some(r) = rows.next()? {
            let booking = r.get::<_, i64>(0)? as u64;
            if let Some(c) = custody_of(&mut custodies, booking) {
                c.events.push(r.get::<_, i64>(1)? as u64);
            }
        }
    }
    Ok(Some(PersonFile {
        person,
        formerly: former
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        given_names,
        surnames,
        birth_date,
        sex,
        nationalities: nats
            .split(',')
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect(),
        custodies,
    }))
}

/// The custody of `booking` among a person's custodies (few, and in booking order).
pub(crate) fn custody_of(custodies: &mut [CustodyRow], booking: u64) -> Option<&mut CustodyRow> {
    custodies.iter_mut().find(|c| c.booking == booking)
}

/// The person held under a booking.
pub(crate) fn person_of(conn: &Connection, booking: u64) -> rusqlite::Result<Option<u64>> {
    conn.prepare_cached("SELECT person FROM custodies WHERE booking = ?1")?
        .query_row([booking as i64], |r| Ok(r.get::<_, i64>(0)? as u64))
        .optional()
}

/// A person found by name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PersonHit {
    pub person: u64,
    pub given_names: String,
    pub surnames: String,
    pub birth_date: String,
    /// The names the person was recorded under before a correction, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub formerly: Vec<String>,
}

/// People one of whose words (of their folded name, or of a name they were formerly recorded
/// under) begins with each word searched for, in the order they were first recorded.
pub(crate) fn find_people(
    conn: &Connection,
    words: &[String],
    limit: u32,
) -> rusqlite::Result<Vec<PersonHit>> {
    find_people_born(conn, words, None, limit)
}

/// The same, of those born on `born` when it is given: the date is checked on each person the
/// words find, before the limit, so a common name finds everyone born that day however many
/// share it.
/// The letters of a word the search index keeps as a word of its own (migration 24's `prefix`).
const HEAD: usize = 4;

/// How many people a search's words' beginnings may find before the search asks for the
/// whole words instead, when too few of them are the people asked for.
const CANDIDATES: i64 = 200;

/// Whether the search index keeps `c` inside a word (migration 24's tokenizer: letters,
/// digits, and `-`, `'`, `.`): a search word of only these is, whole, the beginning of an
/// index word exactly when it begins a word of the name.
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '\'' | '.')
}

pub(crate) fn find_people_born(
    conn: &Connection,
    words: &[String],
    born: Option<&str>,
    limit: u32,
) -> rusqlite::Result<Vec<PersonHit>> {
    // The words are folded as the names were ("Hernández" finds "hernandez"), whoever asks.
    let words: Vec<String> = words
        .iter()
        .flat_map(|w| {
            search_key(w)
                .split(' ')
                // A word of nothing but signs ("¿", "-") is no word of any name.
                .filter(|p| p.chars().any(char::is_alphanumeric))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    // Each word is the beginning of some word of the name (words are what the folded name
    // splits into at spaces). The full-text index (migration 24) keeps every word's first
    // four letters as a word of its own, so a query of the words' beginnings (quoted, a quote
    // doubled: nothing in a word is read as the query language) reads ready lists of people
    // and intersects them lazily, skipping ahead in the longer ones. Each person it finds is
    // then checked for the whole words on the name itself, so what is found does not depend
    // on how the index splits words. A prefix query of the whole word would first merge the
    // lists of every word it begins (p99 13 ms at two million people, against 1.5 ms), so it
    // is asked only when the beginnings find too many people who are not the ones asked for.
    // The rows come in the index's order, each with whether it is a person asked for (born
    // that day, when a date is given, and with every whole word).
    let quoted = |w: &str| format!("\"{}\"", w.replace('"', "\"\""));
    let heads = words
        .iter()
        .map(|w| format!("{}*", quoted(&w.chars().take(HEAD).collect::<String>())))
        .collect::<Vec<_>>()
        .join(" AND ");
    let mut asked = String::from("(?2 IS NULL OR p.birth_date = ?2)");
    for i in 0..words.len() {
        asked.push_str(&format!(
            " AND instr(' ' || p.search_name || ' ' || p.former_search, ' ' || ?{}) > 0",
            i + 3
        ));
    }
    let mut sql = format!("SELECT s.rowid, {asked}");
    sql.push_str(&format!(
        " FROM person_search s JOIN persons p ON p.person = s.rowid
         WHERE person_search MATCH ?1 ORDER BY s.rowid LIMIT ?{}",
        words.len() + 3
    ));
    let mut st = conn.prepare_cached(&sql)?;
    // The people the query finds who are the ones asked for, in order, looking at only the
    // first `candidates` people it finds; and whether there were that many.
    let mut read = |query: &str, candidates: i64| -> rusqlite::Result<(Vec<i64>, bool)> {
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&query, &born];
        values.extend(words.iter().map(|w| w as &dyn rusqlite::ToSql));
        values.push(&candidates);
        let mut rows = st.query(values.as_slice())?;
        let (mut found, mut seen) = (Vec::new(), 0i64);
        while let Some(r) = rows.next()? {
            seen += 1;
            if r.get::<_, bool>(1)? {
                found.push(r.get::<_, i64>(0)?);
                if found.len() >= limit as usize {
                    break;
                }
            }
        }
        Ok((found, seen >= candidates))
    };
    // The people found, as the answer names them, read at once (in the same order: the
    // index's is the order of their ids).
    let hits = |people: Vec<i64>| -> rusqlite::Result<Vec<PersonHit>> {
        if people.is_empty() {
            return Ok(Vec::new());
        }
        let ids = format!(
            "[{}]",
            people
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut st = conn.prepare_cached(
            "SELECT person, given_names, surnames, birth_date, former_names FROM persons
             WHERE person IN (SELECT value FROM json_each(?1)) ORDER BY person",
        )?;
        let rows = st.query_map([ids], |r| {
            Ok(PersonHit {
                person: r.get::<_, i64>(0)? as u64,
                given_names: r.get(1)?,
                surnames: r.get(2)?,
                birth_date: r.get(3)?,
                formerly: r
                    .get::<_, String>(4)?
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })?;
        rows.collect()
    };
    // First the words' beginnings, for the first CANDIDATES people they find: enough for a
    // common name, whose people mostly are the ones asked for.
    let (found, more) = read(&heads, CANDIDATES)?;
    if found.len() >= limit as usize || !more {
        return hits(found);
    }
    // Too few of those were asked for: a word is rare among the people its beginning finds
    // ("maria", when thousands are "mario"). Then the whole words are asked for, each as the
    // beginning of a word of the index (FTS5 merges the lists of the words it begins: cheap
    // for a rare word, and no longer a check of every "mario").
    let whole = words
        .iter()
        .map(|w| {
            if w.chars().count() > HEAD && w.chars().all(is_token_char) {
                format!("{}*", quoted(w))
            } else {
                format!("{}*", quoted(&w.chars().take(HEAD).collect::<String>()))
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ");
    let found = read(&whole, i64::MAX)?.0;
    hits(found)
}

/// A correction of identity, as the inspectors' register of corrections lists it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CorrectionRow {
    pub entry: u64,
    pub person: u64,
    pub facility: String,
    pub at: String,
    /// The name before the correction.
    pub former: String,
    /// The fields changed.
    pub fields: Vec<String>,
    pub reason: String,
    pub authority: String,
}

/// The corrections of identity (of one facility, or all), newest first.
pub(crate) fn identity_corrections(
    conn: &Connection,
    facility: Option<&str>,
    limit: u32,
) -> rusqlite::Result<Vec<CorrectionRow>> {
    let mut st = conn.prepare_cached(
        "SELECT idx, person, facility, at, former, fields, reason, authority FROM identity_corrections
         WHERE ?1 IS NULL OR facility = ?1 ORDER BY idx DESC LIMIT ?2",
    )?;
    let rows = st.query_map(rusqlite::params![facility, limit], |r| {
        Ok(CorrectionRow {
            entry: r.get::<_, i64>(0)? as u64,
            person: r.get::<_, i64>(1)? as u64,
            facility: r.get(2)?,
            at: r.get(3)?,
            former: r.get(4)?,
            fields: r
                .get::<_, String>(5)?
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            reason: r.get(6)?,
            authority: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Someone in a cell now: who, under which custody, and since when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CellOccupant {
    pub person: u64,
    pub booking: u64,
    pub given_names: String,
    pub surnames: String,
    pub legal_status: String,
    /// `in_cell`, `out_of_cell` or `away`.
    pub presence: String,
    /// When the allocation to this cell was recorded.
    pub since: Option<String>,
}

/// A movement of a cell, or of someone in it, on one day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CellMovement {
    pub at: String,
    pub kind: String,
    pub people: u64,
    pub open_air: bool,
    pub booking: Option<u64>,
    pub destination: Option<String>,
}

/// An environment reading of a place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reading {
    pub at: String,
    pub temperature_dc: Option<i64>,
    /// Relative humidity, tenths of a percent.
    pub humidity_permille: Option<i64>,
    /// The heat index of the temperature and humidity, tenths of °C.
    pub heat_index_dc: Option<i64>,
    pub lighting_on: Option<bool>,
    pub ventilation_on: Option<bool>,
}

/// What the cell page shows: the people held in the cell now, the movements of `day`
/// (`YYYY-MM-DD`), and the latest environment readings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CellView {
    pub occupants: Vec<CellOccupant>,
    pub movements: Vec<CellMovement>,
    pub readings: Vec<Reading>,
}

pub(crate) fn cell_view(
    conn: &Connection,
    facility: &str,
    cell: &str,
    day: &str,
    readings: u32,
) -> rusqlite::Result<CellView> {
    let occupants = conn
        .prepare_cached(
            "SELECT c.person, c.booking, p.given_names, p.surnames, c.legal_status,
                    CASE WHEN c.presence = 'in_cell' THEN coalesce(k.presence, 'in_cell') ELSE coalesce(c.presence, 'in_cell') END,
                    coalesce(json_extract(CAST(l.bytes AS TEXT), '$.payload.at'), json_extract(CAST(l.bytes AS TEXT), '$.time'))
             FROM custodies c
             JOIN persons p ON p.person = c.person
             LEFT JOIN cells k ON k.facility = c.facility AND k.code = c.cell
             LEFT JOIN register_log l ON l.idx = c.allocated
             WHERE c.facility = ?1 AND c.cell = ?2 AND c.ended IS NULL
             ORDER BY p.surnames, p.given_names, c.booking",
        )?
        .query_map(params![facility, cell], |r| {
            Ok(CellOccupant {
                person: r.get::<_, i64>(0)? as u64,
                booking: r.get::<_, i64>(1)? as u64,
                given_names: r.get(2)?,
                surnames: r.get(3)?,
                legal_status: r.get(4)?,
                presence: r.get(5)?,
                since: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // The cell's own movements, and those of the people in it, on the day (a cell's code is
    // unique only within its facility).
    let movements = conn
        .prepare_cached(
            "SELECT m.at, m.kind, m.people, m.open_air, m.booking, m.destination FROM movements m
             WHERE m.at >= ?3 AND m.at < ?3 || 'T99'
               AND ((m.booking IS NULL AND m.facility = ?1 AND m.cell = ?2)
                    OR m.booking IN (SELECT booking FROM custodies WHERE facility = ?1 AND cell = ?2 AND ended IS NULL))
             ORDER BY m.at, m.idx",
        )?
        .query_map(params![facility, cell, day], |r| {
            Ok(CellMovement {
                at: r.get(0)?,
                kind: r.get(1)?,
                people: r.get::<_, i64>(2)? as u64,
                open_air: r.get(3)?,
                booking: r.get::<_, Option<i64>>(4)?.map(|b| b as u64),
                destination: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut readings_v = conn
        .prepare_cached(
            "SELECT at, temperature_dc, lighting_on, ventilation_on, humidity_permille, heat_index_dc
             FROM environment WHERE facility = ?1 AND place = ?2 ORDER BY at DESC LIMIT ?3",
        )?
        .query_map(params![facility, cell, readings], |r| {
            Ok(Reading {
                at: r.get(0)?,
                temperature_dc: r.get(1)?,
                lighting_on: r.get(2)?,
                ventilation_on: r.get(3)?,
                humidity_permille: r.get(4)?,
                heat_index_dc: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    readings_v.reverse();
    Ok(CellView {
        occupants,
        movements,
        readings: readings_v,
    })
}
