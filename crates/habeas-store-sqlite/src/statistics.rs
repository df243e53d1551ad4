//! Rule 10 statistics read from the projections: who was held at the end of a day, occupancy
//! of each facility and unit, and the flows of each month.
//!
//! A custody that has ended has no end time in the projections, only `ended`, the entry that
//! ended it: its time is that entry's `at` (when the release, transfer or death happened, as
//! `admitted_at` is when the admission happened), or the entry's own time if it has no `at`.
//! So a custody ended after the day is counted as held on the day.

use habeas_core::dates::Date;
use habeas_core::statistics::{
    held_on, FlowTally, Held, Occupancy, Placement, PopulationTally, Statistics,
};
use habeas_register::entry::Entry;
use habeas_register::Timestamp;
use rusqlite::types::Type;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap};

fn bad(column: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(e))
}

fn time_of(column: usize, raw: &str) -> rusqlite::Result<Timestamp> {
    Timestamp::parse(raw).map_err(|e| bad(column, e))
}

/// When the entry that ended a custody says it happened.
fn end_time(column: usize, bytes: &[u8]) -> rusqlite::Result<Timestamp> {
    let entry = Entry::decode(bytes).map_err(|e| bad(column, e))?;
    Ok(entry
        .payload
        .get("at")
        .and_then(serde_json::Value::as_str)
        .and_then(|at| Timestamp::parse(at).ok())
        .unwrap_or(entry.time))
}

/// The statistics of one facility (or all) at the end of `as_of`, with the flows of the
/// `months` months ending with its month.
pub(crate) fn statistics(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
    months: u32,
) -> rusqlite::Result<Statistics> {
    // When and why each ended custody ended.
    let mut ends: HashMap<u64, (Timestamp, String)> = HashMap::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT c.booking, coalesce(c.end_reason, ''), l.bytes
             FROM custodies c JOIN register_log l ON l.idx = c.ended
             WHERE c.ended IS NOT NULL AND (?1 IS NULL OR c.facility = ?1)",
        )?;
        let mut rows = st.query([facility])?;
        while let Some(r) = rows.next()? {
            let bytes = r.get_ref(2)?.as_blob().map_err(|e| bad(2, e))?;
            ends.insert(r.get(0)?, (end_time(2, bytes)?, r.get(1)?));
        }
    }

    let mut population = PopulationTally::new(as_of);
    let mut flows = FlowTally::new(as_of, months);
    let mut per_facility: HashMap<String, u64> = HashMap::new();
    let mut per_unit: HashMap<(String, String), u64> = HashMap::new();
    {
        // A custody whose booking is the entry that ended another custody came in by transfer.
        // The state of exception: that of the latest order issued by the day invoking one not
        // ended by then (held under it even once the order lapsed).
        let mut st = conn.prepare_cached(
            "SELECT c.booking, c.facility, c.admitted_at, c.legal_status, c.foreign_national,
                    c.unit, c.cell, c.away_to, c.ended IS NOT NULL,
                    c.booking IN (SELECT ended FROM custodies WHERE ended IS NOT NULL),
                    p.sex, p.birth_date, p.nationalities,
                    (SELECT o.emergency_name FROM commitment_orders o
                     WHERE o.booking = c.booking AND o.emergency_name IS NOT NULL
                       AND o.issued <= ?2
                       AND (o.emergency_ends IS NULL OR o.emergency_ends > ?2)
                     ORDER BY o.n DESC LIMIT 1)
             FROM custodies c JOIN persons p ON p.person = c.person
             WHERE ?1 IS NULL OR c.facility = ?1",
        )?;
        let mut rows = st.query(rusqlite::params![facility, as_of.to_string()])?;
        while let Some(r) = rows.next()? {
            let booking: u64 = r.get(0)?;
            let admitted = time_of(2, r.get_ref(2)?.as_str().map_err(|e| bad(2, e))?)?;
            let ended: bool = r.get(8)?;
            let end = if ended { ends.get(&booking) } else { None };
            flows.admitted(admitted, r.get(9)?);
            if let Some((at, reason)) = end {
                flows.ended(*at, reason);
            }
            if !held_on(admitted, end.map(|e| e.0), as_of) {
                continue;
            }
            let facility: String = r.get(1)?;
            let unit: Option<String> = r.get(5)?;
            let placement = if ended {
                Placement::LeftSince
            } else if r.get::<_, Option<String>>(7)?.is_some() {
                Placement::Away
            } else if r.get::<_, Option<String>>(6)?.is_some() {
                Placement::InCell
            } else {
                Placement::NotAllocated
            };
            let birth: String = r.get(11)?;
            let birth = Date::parse("birth_date", &birth).map_err(|e| bad(11, e))?;
            population.add(&Held {
                legal_status: r.get_ref(3)?.as_str().map_err(|e| bad(3, e))?,
                sex: r.get_ref(10)?.as_str().map_err(|e| bad(10, e))?,
                birth,
                nationalities: r.get_ref(12)?.as_str().map_err(|e| bad(12, e))?,
                foreign_national: r.get(4)?,
                placement,
                emergency: r.get_ref(13)?.as_str_or_null().map_err(|e| bad(13, e))?,
            });
            if let (Some(unit), false) = (unit, ended) {
                *per_unit.entry((facility.clone(), unit)).or_default() += 1;
            }
            *per_facility.entry(facility).or_default() += 1;
        }
    }
    {
        let mut st =
            conn.prepare_cached("SELECT at FROM death_cases WHERE ?1 IS NULL OR facility = ?1")?;
        let mut rows = st.query([facility])?;
        while let Some(r) = rows.next()? {
            flows.death(time_of(0, r.get_ref(0)?.as_str().map_err(|e| bad(0, e))?)?);
        }
    }
    {
        let mut st = conn.prepare_cached(
            "SELECT at FROM harm_cases WHERE kind = 'injury' AND (?1 IS NULL OR facility = ?1)",
        )?;
        let mut rows = st.query([facility])?;
        while let Some(r) = rows.next()? {
            flows.serious_injury(time_of(0, r.get_ref(0)?.as_str().map_err(|e| bad(0, e))?)?);
        }
    }

    Ok(Statistics {
        facility: facility.map(str::to_owned),
        as_of: as_of.to_string(),
        months,
        population: population.finish(),
        occupancy: occupancy(conn, facility, &per_facility, &per_unit)?,
        flows: flows.finish(),
    })
}

/// Each facility, then its units: the people held against the cells' capacity and area.
fn occupancy(
    conn: &Connection,
    facility: Option<&str>,
    per_facility: &HashMap<String, u64>,
    per_unit: &HashMap<(String, String), u64>,
) -> rusqlite::Result<Vec<Occupancy>> {
    // (cells, cna, operational, area) per unit, units of each facility in order.
    let mut units: BTreeMap<String, Vec<(String, [u64; 4])>> = BTreeMap::new();
    {
        let mut st =
            conn.prepare_cached("SELECT code FROM facilities WHERE ?1 IS NULL OR code = ?1")?;
        let mut rows = st.query([facility])?;
        while let Some(r) = rows.next()? {
            units.entry(r.get(0)?).or_default();
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT u.facility, u.code, count(c.code), coalesce(sum(c.cna), 0),
                coalesce(sum(c.operational), 0), coalesce(sum(c.area_cm2), 0)
         FROM units u LEFT JOIN cells c ON c.facility = u.facility AND c.unit = u.code
         WHERE ?1 IS NULL OR u.facility = ?1
         GROUP BY u.facility, u.code ORDER BY u.facility, u.code",
    )?;
    let mut rows = st.query([facility])?;
    while let Some(r) = rows.next()? {
        let sums = [
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
        ]
        .map(|v| u64::try_from(v).unwrap_or(0));
        units.entry(r.get(0)?).or_default().push((r.get(1)?, sums));
    }
    let mut out = Vec::new();
    for (f, us) in &units {
        let total = us.iter().fold([0u64; 4], |mut acc, (_, s)| {
            for (a, v) in acc.iter_mut().zip(s) {
                *a += v;
            }
            acc
        });
        let held = per_facility.get(f).copied().unwrap_or(0);
        out.push(Occupancy::new(
            f, None, total[0], held, total[1], total[2], total[3],
        ));
        for (u, [cells, cna, operational, area]) in us {
            let held = per_unit.get(&(f.clone(), u.clone())).copied().unwrap_or(0);
            out.push(Occupancy::new(
                f,
                Some(u),
                *cells,
                held,
                *cna,
                *operational,
                *area,
            ));
        }
    }
    Ok(out)
}
