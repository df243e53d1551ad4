//! Projections of what happens during a custody: movements, roll counts, new orders,
//! transfers, agreements, deaths and death cases, identity corrections.

use crate::backend;
use crate::custody::{
    b, end_custody, event, facility_country, not_held_here, open_here, refresh_cell, reject, s, u,
};
use habeas_core::dates::Date;
use habeas_core::events::{release_date, DEATH_STEPS};
use habeas_core::ids::search_key;
use habeas_core::kinds;
use habeas_register::store::AppendError;
use habeas_register::Entry;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

pub(crate) fn apply(conn: &Connection, e: &Entry) -> Result<bool, AppendError> {
    match e.kind.as_str() {
        kinds::MOVEMENT => movement(conn, e)?,
        kinds::COUNT => count(conn, e)?,
        kinds::ORDER => order(conn, e)?,
        kinds::TRANSFERRED => transfer(conn, e)?,
        kinds::AGREEMENT => agreement(conn, e)?,
        kinds::DEATH => death(conn, e)?,
        kinds::DEATH_STEP => death_step(conn, e)?,
        kinds::IDENTITY_CORRECTED => identity(conn, e)?,
        _ => return crate::record::apply(conn, e),
    }
    Ok(true)
}

/// A custody's cell, its own presence (`in_cell` means "with the cell") and where it
/// actually is (the cell's presence when it follows the cell).
/// (The fourth is when the custody began.)
type Whereabouts = (Option<String>, Option<String>, Option<String>, String);

/// Where an open custody in `facility` is.
fn presence(
    conn: &Connection,
    facility: &str,
    booking: u64,
) -> Result<Option<Whereabouts>, AppendError> {
    conn.prepare_cached(
        "SELECT c.cell, c.presence, CASE WHEN c.presence = 'in_cell' THEN coalesce(k.presence, 'in_cell') ELSE c.presence END, c.admitted_at
         FROM custodies c LEFT JOIN cells k ON k.facility = c.facility AND k.code = c.cell
         WHERE c.booking = ?1 AND c.facility = ?2 AND c.ended IS NULL",
    )
    .and_then(|mut st| st.query_row(params![booking as i64, facility], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).optional())
    .map_err(|e| backend(e).into())
}

/// People following a cell (not out alone, not away).
fn following(conn: &Connection, facility: &str, cell: &str) -> Result<i64, AppendError> {
    conn.prepare_cached("SELECT count(*) FROM custodies WHERE facility = ?1 AND cell = ?2 AND presence = 'in_cell' AND ended IS NULL")
        .and_then(|mut st| st.query_row([facility, cell], |r| r.get(0)))
        .map_err(|e| backend(e).into())
}

fn movement(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let kind = s(p, "kind")?;
    let at = s(p, "at")?;
    let open_air = b(p, "open_air");
    let destination = p.get("destination").and_then(Value::as_str);
    if let Some(cell) = p.get("cell").and_then(Value::as_str) {
        // A whole cell moves together: one row for the cell, whoever follows it.
        let (from, to) = match kind {
            "out_of_cell" => ("in_cell", "out_of_cell"),
            "back_to_cell" => ("out_of_cell", "in_cell"),
            _ => return Err(reject("cell", "a whole cell moves out of the cell or back to it; people leave the facility one by one")),
        };
        let people = following(conn, &e.facility, cell)?;
        let moved = conn
            .prepare_cached("UPDATE cells SET presence = ?4 WHERE facility = ?1 AND code = ?2 AND presence = ?3")
            .and_then(|mut st| st.execute(params![e.facility, cell, from, to]))
            .map_err(backend)?;
        if moved == 0 || people == 0 {
            return Err(reject(
                "cell",
                format!("cell {cell} has nobody who can move {kind}"),
            ));
        }
        conn.prepare_cached(
            "INSERT INTO movements (idx, booking, cell, people, kind, open_air, destination, at, facility) VALUES (?1, NULL, ?2, ?3, ?4, ?5, NULL, ?6, ?7)",
        )
        .and_then(|mut st| st.execute(params![e.index as i64, cell, people, kind, open_air, at, e.facility]))
        .map_err(backend)?;
        return Ok(());
    }
    let bookings: Vec<u64> = p
        .get("bookings")
        .and_then(Value::as_array)
        .ok_or_else(|| reject("booking", "a movement names bookings or a cell"))?
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    for booking in &bookings {
        let Some((cell, own, now, began)) = presence(conn, &e.facility, *booking)? else {
            return Err(not_held_here(
                "booking",
                format_args!("booking {booking} is not an open custody"),
                &e.facility,
            )
            .said(
                "not-open-custody",
                &[("booking", &booking), ("facility", &e.facility)],
            ));
        };
        if at < began.as_str() {
            return Err(crate::custody::reject_code(
                "before_custody",
                "at",
                format!("{at} is before booking {booking} began ({began}): what happens in a custody happens after its admission"),
            )
            .said("before-custody", &[("at", &at), ("booking", &booking), ("began", &began)]));
        }
        let next = match (kind, own.as_deref(), now.as_deref()) {
            ("out_of_cell", _, Some("in_cell")) => Some("out_of_cell"),
            ("back_to_cell", Some("out_of_cell"), _) => Some("in_cell"),
            ("out", _, Some("in_cell" | "out_of_cell") | None) => Some("away"),
            ("return", Some("away"), _) => {
                if cell.is_some() {
                    Some("in_cell")
                } else {
                    None
                }
            }
            _ => {
                return Err(reject(
                    "booking",
                    format!(
                        "booking {booking} cannot move {kind}: it is {}",
                        now.as_deref().unwrap_or("not yet in a cell")
                    ),
                ))
            }
        };
        let away_to = if kind == "out" { destination } else { None };
        conn.prepare_cached("UPDATE custodies SET presence = ?2, away_to = ?3 WHERE booking = ?1")
            .and_then(|mut st| st.execute(params![*booking as i64, next, away_to]))
            .map_err(backend)?;
        conn.prepare_cached(
            "INSERT INTO movements (idx, booking, cell, people, kind, open_air, destination, at, facility) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut st| st.execute(params![e.index as i64, *booking as i64, cell, kind, open_air, destination, at, e.facility]))
        .map_err(backend)?;
        event(conn, *booking, e.index)?;
    }
    Ok(())
}

fn count(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let at = s(p, "at")?;
    for c in p
        .get("counts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let cell = s(c, "cell")?;
        let counted = u(c, "counted")?;
        let known: bool = conn
            .prepare_cached("SELECT count(*) > 0 FROM cells WHERE facility = ?1 AND code = ?2")
            .and_then(|mut st| st.query_row([&e.facility, cell], |r| r.get(0)))
            .map_err(backend)?;
        if !known {
            return Err(
                reject("cell", format!("there is no cell {cell} in {}", e.facility))
                    .said("no-cell", &[("cell", &cell), ("facility", &e.facility)]),
            );
        }
        let expected: i64 = conn
            .prepare_cached(
                "SELECT count(*) FROM custodies c JOIN cells k ON k.facility = c.facility AND k.code = c.cell
                 WHERE c.facility = ?1 AND c.cell = ?2 AND c.presence = 'in_cell' AND k.presence = 'in_cell' AND c.ended IS NULL",
            )
            .and_then(|mut st| st.query_row([&e.facility, cell], |r| r.get(0)))
            .map_err(backend)?;
        if let Some(present) = c.get("present").and_then(Value::as_array) {
            let present: Vec<i64> = present.iter().filter_map(Value::as_i64).collect();
            let recorded: Vec<i64> = conn
                .prepare_cached(
                    "SELECT c.booking FROM custodies c JOIN cells k ON k.facility = c.facility AND k.code = c.cell
                     WHERE c.facility = ?1 AND c.cell = ?2 AND c.presence = 'in_cell' AND k.presence = 'in_cell' AND c.ended IS NULL",
                )
                .and_then(|mut st| st.query_map([&e.facility, cell], |r| r.get(0))?.collect())
                .map_err(backend)?;
            let missing = recorded
                .iter()
                .filter(|b| !present.contains(b))
                .map(|b| (*b, "missing"));
            let extra = present
                .iter()
                .filter(|b| !recorded.contains(b))
                .map(|b| (*b, "extra"));
            for (booking, finding) in missing.chain(extra) {
                conn.prepare_cached("INSERT INTO roll_count_people (idx, cell, booking, finding) VALUES (?1, ?2, ?3, ?4)")
                    .and_then(|mut st| st.execute(params![e.index as i64, cell, booking, finding]))
                    .map_err(backend)?;
            }
        }
        conn.prepare_cached(
            "INSERT INTO roll_counts (idx, facility, at, cell, counted, expected) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut st| st.execute(params![e.index as i64, e.facility, at, cell, counted as i64, expected]))
        .map_err(backend)?;
    }
    Ok(())
}

fn order(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let booking = u(p, "booking")?;
    let o = p.get("order").ok_or_else(|| reject("order", "missing"))?;
    let admitted: Option<String> = conn
        .prepare_cached("SELECT admitted_at FROM custodies WHERE booking = ?1 AND facility = ?2 AND ended IS NULL")
        .and_then(|mut st| st.query_row(params![booking as i64, e.facility], |r| r.get(0)).optional())
        .map_err(backend)?;
    let Some(admitted) = admitted else {
        return Err(not_held_here(
            "booking",
            format_args!("booking {booking} is not an open custody"),
            &e.facility,
        )
        .said(
            "not-open-custody",
            &[("booking", &booking), ("facility", &e.facility)],
        ));
    };
    let n: i64 = conn
        .prepare_cached("SELECT coalesce(max(n) + 1, 0) FROM commitment_orders WHERE booking = ?1")
        .and_then(|mut st| st.query_row([booking as i64], |r| r.get(0)))
        .map_err(backend)?;
    let sentence_days = p.get("sentence_days").and_then(Value::as_u64);
    conn.prepare_cached(
        "INSERT INTO commitment_orders (booking, n, kind, authority, reference, issued, expires, review, sentence_days, idx,
             emergency_name, emergency_decree, emergency_declared, emergency_ends)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )
    .and_then(|mut st| {
        let em = |k: &str| o.get("emergency").and_then(|x| x.get(k)).and_then(Value::as_str);
        st.execute(params![
            booking as i64,
            n,
            s(o, "kind").unwrap_or(""),
            s(o, "authority").unwrap_or(""),
            s(o, "reference").unwrap_or(""),
            s(o, "issued").unwrap_or(""),
            o.get("expires").and_then(Value::as_str),
            o.get("review").and_then(Value::as_str),
            sentence_days.map(|d| d as i64),
            e.index as i64,
            em("name"),
            em("decree"),
            em("declared"),
            em("ends")
        ])
    })
    .map_err(backend)?;
    let release = match (sentence_days, Date::parse("order.issued", s(o, "issued")?)) {
        (Some(days), Ok(issued)) => {
            let admitted =
                Date::parse("admitted_at", admitted.get(..10).unwrap_or("")).unwrap_or(issued);
            Some(release_date(admitted, issued, days as u32).to_string())
        }
        _ => None,
    };
    let status = s(p, "legal_status")?;
    conn.prepare_cached("UPDATE custodies SET legal_status = ?2, release_date = coalesce(?3, release_date) WHERE booking = ?1")
        .and_then(|mut st| st.execute(params![booking as i64, status, release]))
        .map_err(backend)?;
    refresh_cells_of(conn, "booking", booking)?;
    event(conn, booking, e.index)
}

fn transfer(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let booking = u(p, "booking")?;
    let to = s(p, "to")?;
    let open = open_here(conn, e, booking, Date::of(e.time))?;
    let Some(country) = facility_country(conn, to)? else {
        return Err(reject("to", format!("facility {to} is not defined")));
    };
    let (person, status, agreement): (i64, String, Option<i64>) = conn
        .prepare_cached("SELECT person, legal_status, agreement FROM custodies WHERE booking = ?1")
        .and_then(|mut st| {
            st.query_row([booking as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        })
        .map_err(backend)?;
    let at = s(p, "at")?;
    end_custody(
        conn,
        &e.facility,
        booking,
        open.cell.as_deref(),
        e.index,
        "transfer_out",
    )?;
    let nats: String = conn
        .prepare_cached("SELECT nationalities FROM persons WHERE person = ?1")
        .and_then(|mut st| st.query_row([person], |r| r.get(0)))
        .map_err(backend)?;
    let foreign =
        habeas_core::custody::foreign_national(nats.split(',').filter(|n| !n.is_empty()), &country);
    conn.prepare_cached(
        "INSERT INTO custodies (booking, person, facility, admitted_at, legal_status, foreign_national, agreement)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut st| st.execute(params![e.index as i64, person, to, at, status, foreign, agreement]))
    .map_err(backend)?;
    conn.prepare_cached(
        "INSERT INTO commitment_orders (booking, n, kind, authority, reference, issued, expires, review, sentence_days, idx,
             emergency_name, emergency_decree, emergency_declared, emergency_ends)
         SELECT ?2, n, kind, authority, reference, issued, expires, review, sentence_days, idx,
             emergency_name, emergency_decree, emergency_declared, emergency_ends
         FROM commitment_orders WHERE booking = ?1",
    )
    .and_then(|mut st| st.execute(params![booking as i64, e.index as i64]))
    .map_err(backend)?;
    conn.prepare_cached(
        "UPDATE custodies SET release_date = (SELECT release_date FROM custodies WHERE booking = ?1) WHERE booking = ?2",
    )
    .and_then(|mut st| st.execute(params![booking as i64, e.index as i64]))
    .map_err(backend)?;
    event(conn, e.index, e.index)
}

fn agreement(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    if facility_country(conn, &e.facility)?.is_none() {
        return Err(reject(
            "facility",
            format!("facility {} is not defined", e.facility),
        ));
    }
    let (counterpart, reference, starts) =
        (s(p, "counterpart")?, s(p, "reference")?, s(p, "starts")?);
    conn.prepare_cached(
        "INSERT INTO agreements (idx, facility, counterpart, reference, starts, ends, per_capita_rate, currency)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut st| {
        st.execute(params![
            e.index as i64,
            e.facility,
            counterpart,
            reference,
            starts,
            p.get("ends").and_then(Value::as_str),
            p.get("per_capita_rate").and_then(Value::as_u64).map(|r| r as i64),
            p.get("currency").and_then(Value::as_str)
        ])
    })
    .map_err(backend)?;
    Ok(())
}

fn death(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let booking = u(p, "booking")?;
    let open = open_here(conn, e, booking, Date::of(e.time))?;
    end_custody(
        conn,
        &e.facility,
        booking,
        open.cell.as_deref(),
        e.index,
        "death",
    )?;
    let at = s(p, "at")?;
    conn.prepare_cached(
        "INSERT INTO death_cases (idx, booking, facility, at, violent) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut st| {
        st.execute(params![
            e.index as i64,
            booking as i64,
            e.facility,
            at,
            b(p, "violent")
        ])
    })
    .map_err(backend)?;
    Ok(())
}

fn death_step(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let p = &e.payload;
    let case = u(p, "case")?;
    let step = s(p, "step")?;
    if !DEATH_STEPS.contains(&step) {
        return Err(reject(
            "step",
            format!("{step:?} is not a step of a death case"),
        ));
    }
    let current: Option<(i64, Option<String>)> = conn
        .prepare_cached(&format!(
            "SELECT booking, {step} FROM death_cases WHERE idx = ?1 AND facility = ?2"
        ))
        .and_then(|mut st| {
            st.query_row(params![case as i64, e.facility], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(backend)?;
    let Some((booking, done)) = current else {
        return Err(not_held_here(
            "case",
            format_args!("entry {case} is not a death case"),
            &e.facility,
        ));
    };
    if let Some(at) = done {
        return Err(
            reject("step", format!("{step} was already recorded at {at}"))
                .said("step-done", &[("step", &step), ("at", &at)]),
        );
    }
    let at = s(p, "at")?;
    let died: String = conn
        .prepare_cached("SELECT at FROM death_cases WHERE idx = ?1")
        .and_then(|mut st| st.query_row([case as i64], |r| r.get(0)))
        .map_err(backend)?;
    if at < died.as_str() {
        return Err(crate::custody::reject_code(
            "before_custody",
            "at",
            format!("{at} is before the death it follows ({died})"),
        )
        .said("before-case", &[("at", &at), ("began", &died)]));
    }
    conn.prepare_cached(&format!(
        "UPDATE death_cases SET {step} = ?2 WHERE idx = ?1"
    ))
    .and_then(|mut st| st.execute(params![case as i64, at]))
    .map_err(backend)?;
    event(conn, booking as u64, e.index)
}

fn identity(conn: &Connection, e: &Entry) -> Result<(), AppendError> {
    let Some(c) = &e.corrects else {
        return Err(reject(
            "corrects",
            "an identity correction names the admission it corrects",
        ));
    };
    // The facility that holds the person (or held them last) corrects their identity; a
    // person of another facility is refused as one who does not exist.
    let row: Option<(String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT p.given_names, p.surnames,
                    (SELECT c.facility FROM custodies c WHERE c.person = p.person
                     ORDER BY c.ended IS NULL DESC, c.booking DESC LIMIT 1)
             FROM persons p WHERE p.person = ?1",
        )
        .and_then(|mut st| {
            st.query_row([c.index as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(backend)?;
    let Some((mut given, mut surnames, Some(_))) =
        row.filter(|(_, _, held)| held.as_deref() == Some(e.facility.as_str()))
    else {
        return Err(not_held_here(
            "person",
            format_args!("person {} is not held", c.index),
            &e.facility,
        ));
    };
    let p = &e.payload;
    let former = format!("{given} {surnames}");
    if let Some(g) = p.get("given_names").and_then(Value::as_str) {
        given = g.to_owned();
    }
    if let Some(sn) = p.get("surnames").and_then(Value::as_array) {
        surnames = sn
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ");
    }
    let nats = p.get("nationalities").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(",")
    });
    // A name corrected is a name kept: the former one stays searchable, "formerly recorded as".
    let renamed = former != format!("{given} {surnames}");
    let (former_names, former_search): (String, String) = conn
        .prepare_cached("SELECT former_names, former_search FROM persons WHERE person = ?1")
        .and_then(|mut st| st.query_row([c.index as i64], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(backend)?;
    let (former_names, former_search) = if renamed {
        let join = |a: &str, b: &str, sep: &str| {
            if a.is_empty() {
                b.to_owned()
            } else {
                format!("{a}{sep}{b}")
            }
        };
        (
            join(&former_names, &former, "\n"),
            join(&former_search, &search_key(&former), " "),
        )
    } else {
        (former_names, former_search)
    };
    let key = search_key(&format!("{given} {surnames}"));
    conn.prepare_cached(
        "UPDATE persons SET given_names = ?2, surnames = ?3, birth_date = coalesce(?4, birth_date), sex = coalesce(?5, sex),
         nationalities = coalesce(?6, nationalities), search_name = ?7, former_names = ?8, former_search = ?9 WHERE person = ?1",
    )
    .and_then(|mut st| {
        st.execute(params![
            c.index as i64,
            given,
            surnames,
            p.get("birth_date").and_then(Value::as_str),
            p.get("sex").and_then(Value::as_str),
            nats,
            key,
            former_names,
            former_search
        ])
    })
    .map_err(backend)?;
    // The search index follows `persons` by its triggers (migration 24).
    let fields: Vec<&str> = p
        .as_object()
        .map(|o| {
            o.keys()
                .map(String::as_str)
                .filter(|k| *k != "authority")
                .collect()
        })
        .unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO identity_corrections (idx, person, facility, at, former, fields, reason, authority)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut st| {
        st.execute(params![
            e.index as i64,
            c.index as i64,
            e.facility,
            e.time.to_string(),
            former,
            fields.join(","),
            c.reason,
            p.get("authority").and_then(Value::as_str).unwrap_or("")
        ])
    })
    .map_err(backend)?;
    let bookings: Vec<i64> = conn
        .prepare_cached("SELECT booking FROM custodies WHERE person = ?1")
        .and_then(|mut st| st.query_map([c.index as i64], |r| r.get(0))?.collect())
        .map_err(backend)?;
    for booking in bookings {
        event(conn, booking as u64, e.index)?;
    }
    refresh_cells_of(conn, "person", c.index)?;
    Ok(())
}

/// Recomputes the Rule 11 summary of the cells where a booking (or a person) is held now.
fn refresh_cells_of(conn: &Connection, column: &str, id: u64) -> Result<(), AppendError> {
    let cells: Vec<(String, String)> = conn
        .prepare_cached(&format!(
            "SELECT facility, cell FROM custodies WHERE {column} = ?1 AND ended IS NULL AND cell IS NOT NULL"
        ))
        .and_then(|mut st| st.query_map([id as i64], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(backend)?;
    for (facility, cell) in cells {
        refresh_cell(conn, &facility, &cell)?;
    }
    Ok(())
}

/// One cell's line in a roll count, reconciled against the records.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CountLine {
    pub idx: u64,
    pub at: String,
    pub cell: String,
    pub counted: u64,
    pub expected: u64,
    /// Bookings recorded in the cell but not found (when the count named people).
    pub missing: Vec<u64>,
    /// Bookings found but recorded elsewhere.
    pub extra: Vec<u64>,
}

/// The counts of one facility on one day, and the cells not counted that day.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CountReport {
    pub date: String,
    pub lines: Vec<CountLine>,
    pub not_counted: Vec<String>,
    /// The facility's total now, reconciled against its open custodies: the people in its
    /// cells, and each person held in none (whom no cell's count can find).
    pub head_count: Option<crate::custody::HeadCount>,
}

pub(crate) fn count_report(
    conn: &Connection,
    facility: &str,
    date: &str,
) -> rusqlite::Result<CountReport> {
    let mut st = conn.prepare_cached(
        "SELECT idx, at, cell, counted, expected FROM roll_counts WHERE facility = ?1 AND substr(at, 1, 10) = ?2 ORDER BY idx, cell",
    )?;
    let lines: Vec<CountLine> = st
        .query_map([facility, date], |r| {
            Ok(CountLine {
                idx: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                cell: r.get(2)?,
                counted: r.get::<_, i64>(3)? as u64,
                expected: r.get::<_, i64>(4)? as u64,
                missing: Vec::new(),
                extra: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut lines = lines;
    for l in &mut lines {
        let mut st = conn.prepare_cached("SELECT booking, finding FROM roll_count_people WHERE idx = ?1 AND cell = ?2 ORDER BY booking")?;
        let rows = st.query_map(params![l.idx as i64, l.cell], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (b, f) = row?;
            if f == "missing" {
                l.missing.push(b);
            } else {
                l.extra.push(b);
            }
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT code FROM cells WHERE facility = ?1 AND code NOT IN
         (SELECT cell FROM roll_counts WHERE facility = ?1 AND substr(at, 1, 10) = ?2) ORDER BY code",
    )?;
    let not_counted = st
        .query_map([facility, date], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(CountReport {
        date: date.to_owned(),
        lines,
        not_counted,
        head_count: crate::custody::head_counts(conn, Some(facility))?.pop(),
    })
}

/// A death in custody and the state of its mandatory steps.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeathCase {
    pub case: u64,
    pub booking: u64,
    pub facility: String,
    pub at: String,
    pub violent: bool,
    /// Each mandatory step and when it was done (`null`: still pending).
    pub steps: Vec<(String, Option<String>)>,
}

/// A serious injury, a serious illness or a transfer to a health institution (Rules 69 and
/// 71(1)), or an escape (Rule 71(1)), the steps recorded for it and the obligations still
/// open.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HarmCase {
    /// The `harm.recorded` entry, or the `custody.released` entry of an escape.
    pub case: u64,
    pub booking: u64,
    pub facility: String,
    pub at: String,
    /// injury, illness, hospital_transfer or escape.
    pub kind: String,
    /// Each step recorded, in the order written.
    pub steps: Vec<HarmCaseStep>,
    /// What no step has done yet: `designated_informed` (nobody told and no request that
    /// nobody be; not for an escape) and, for an injury or an escape,
    /// `independent_authority_informed`.
    pub pending: Vec<String>,
    /// For an escape, the booking of the person's next custody, once recaptured (a new
    /// admission); none while they are at large.
    pub recaptured: Option<u64>,
}

/// A step of a serious-harm case.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HarmCaseStep {
    pub entry: u64,
    pub step: String,
    /// When it was done (or the person said so).
    pub at: String,
    /// When it was written to the register.
    pub recorded_at: String,
}

pub(crate) fn harm_cases(
    conn: &Connection,
    facility: Option<&str>,
) -> rusqlite::Result<Vec<HarmCase>> {
    let mut st = conn.prepare_cached(
        "SELECT h.idx, h.booking, h.facility, h.at, h.kind, s.idx, s.step, s.at, s.recorded_at,
           CASE WHEN h.kind = 'escape' THEN
             (SELECT min(n.booking) FROM custodies e JOIN custodies n ON n.person = e.person
              WHERE e.booking = h.booking AND n.booking > h.idx) END
         FROM harm_cases h LEFT JOIN harm_steps s ON s.harm_case = h.idx
         WHERE ?1 IS NULL OR h.facility = ?1 ORDER BY h.idx, s.idx",
    )?;
    let mut rows = st.query([facility])?;
    let mut out: Vec<HarmCase> = Vec::new();
    while let Some(r) = rows.next()? {
        let case = r.get::<_, i64>(0)? as u64;
        if out.last().is_none_or(|c| c.case != case) {
            out.push(HarmCase {
                case,
                booking: r.get::<_, i64>(1)? as u64,
                facility: r.get(2)?,
                at: r.get(3)?,
                kind: r.get(4)?,
                steps: Vec::new(),
                pending: Vec::new(),
                recaptured: r.get::<_, Option<i64>>(9)?.map(|b| b as u64),
            });
        }
        if let (Some(entry), Some(c)) = (r.get::<_, Option<i64>>(5)?, out.last_mut()) {
            c.steps.push(HarmCaseStep {
                entry: entry as u64,
                step: r.get(6)?,
                at: r.get(7)?,
                recorded_at: r.get(8)?,
            });
        }
    }
    for c in &mut out {
        c.pending =
            habeas_core::compliance::harm_pending(&c.kind, c.steps.iter().map(|s| s.step.as_str()))
                .into_iter()
                .map(str::to_owned)
                .collect();
    }
    Ok(out)
}

pub(crate) fn death_cases(
    conn: &Connection,
    facility: Option<&str>,
) -> rusqlite::Result<Vec<DeathCase>> {
    let mut st = conn.prepare_cached(
        "SELECT idx, booking, facility, at, violent, family_informed, independent_authority_informed, investigation_opened,
         post_mortem, remains_returned FROM death_cases WHERE ?1 IS NULL OR facility = ?1 ORDER BY idx",
    )?;
    let rows = st.query_map([facility], |r| {
        let mut steps = Vec::new();
        for (i, name) in DEATH_STEPS.iter().enumerate() {
            steps.push(((*name).to_owned(), r.get::<_, Option<String>>(5 + i)?));
        }
        Ok(DeathCase {
            case: r.get::<_, i64>(0)? as u64,
            booking: r.get::<_, i64>(1)? as u64,
            facility: r.get(2)?,
            at: r.get(3)?,
            violent: r.get(4)?,
            steps,
        })
    })?;
    rows.collect()
}
