//! The facts the compliance engine measures, read from the projections.

use habeas_core::compliance::{
    CellFacts, ComplaintFacts, CustodyFacts, DeathFacts, Facts, HearingFacts, OrderFacts,
    RegimeFacts, RegimeMove,
};
use habeas_core::dates::Date;
use rusqlite::Connection;
use std::collections::HashMap;

fn date_of(field: &str, raw: &str) -> rusqlite::Result<Date> {
    Date::parse(field, raw.get(..10).unwrap_or(raw)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Everything the engine measures, as of `as_of`.
pub(crate) fn facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Facts> {
    Ok(Facts {
        cells: cell_facts(conn, facility)?,
        custodies: custody_facts(conn, facility, as_of)?,
        hearings: hearing_facts(conn, facility, as_of)?,
        complaints: complaint_facts(conn, facility, as_of)?,
        deaths: death_facts(conn, facility)?,
        regime: regime_facts(conn, facility, as_of)?,
    })
}

/// The hearings of the review interval's worth of days up to `as_of` (the engine narrows it to
/// the policy's interval; a year is read).
fn hearing_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<HearingFacts>> {
    let end = format!("{as_of}T99");
    let from = format!("{:04}-{:02}-{:02}", as_of.year - 1, as_of.month, as_of.day);
    let mut st = conn.prepare_cached(
        "SELECT facility, idx, at, counsel IS NOT NULL, people_heard FROM hearings
         WHERE (?1 IS NULL OR facility = ?1) AND at <= ?2 AND at >= ?3 ORDER BY idx",
    )?;
    let mut rows = st.query(rusqlite::params![facility, end, from])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(HearingFacts {
            facility: r.get(0)?,
            idx: r.get(1)?,
            at: date_of("at", &r.get::<_, String>(2)?)?,
            counsel: r.get(3)?,
            people_heard: r.get(4)?,
        });
    }
    Ok(out)
}

/// The complaints filed up to `as_of` that are unanswered or, alleging ill-treatment,
/// unreferred.
fn complaint_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<ComplaintFacts>> {
    let end = format!("{as_of}T99");
    let mut st = conn.prepare_cached(
        "SELECT booking, idx, at, reply_due, replied IS NOT NULL, alleges_ill_treatment,
                referred IS NOT NULL
         FROM complaints
         WHERE (?1 IS NULL OR facility = ?1) AND at <= ?2
           AND (replied IS NULL OR (alleges_ill_treatment AND referred IS NULL))
         ORDER BY idx",
    )?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(ComplaintFacts {
            booking: r.get(0)?,
            idx: r.get(1)?,
            filed: date_of("at", &r.get::<_, String>(2)?)?,
            reply_due: date_of("reply_due", &r.get::<_, String>(3)?)?,
            replied: r.get(4)?,
            alleges_ill_treatment: r.get(5)?,
            referred: r.get(6)?,
        });
    }
    Ok(out)
}

/// Every cell of one facility (or all), as the space, capacity and light findings see it.
fn cell_facts(conn: &Connection, facility: Option<&str>) -> rusqlite::Result<Vec<CellFacts>> {
    let mut st = conn.prepare_cached(
        "SELECT facility, unit, code, area_cm2, population, cna, operational, lighting, certified
         FROM cells WHERE ?1 IS NULL OR facility = ?1 ORDER BY facility, unit, code",
    )?;
    let rows = st.query_map([facility], |r| {
        Ok(CellFacts {
            facility: r.get(0)?,
            unit: r.get(1)?,
            cell: r.get(2)?,
            area_cm2: r.get(3)?,
            population: r.get(4)?,
            cna: r.get(5)?,
            operational_capacity: r.get(6)?,
            constant_light: r.get::<_, String>(7)? == "constant",
            evidence: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// Every custody open on `as_of` (admitted by then and not ended), with its orders and its
/// last family and legal contact up to `as_of`.
fn custody_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<CustodyFacts>> {
    let end = format!("{as_of}T99");
    let mut orders: HashMap<u64, Vec<OrderFacts>> = HashMap::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT o.booking, o.kind, o.issued, o.expires, o.review, o.idx
             FROM commitment_orders o JOIN custodies c ON c.booking = o.booking
             WHERE c.ended IS NULL AND (?1 IS NULL OR c.facility = ?1)",
        )?;
        let mut rows = st.query([facility])?;
        while let Some(r) = rows.next()? {
            let opt = |i: usize, field: &str| -> rusqlite::Result<Option<Date>> {
                r.get::<_, Option<String>>(i)?
                    .map(|s| date_of(field, &s))
                    .transpose()
            };
            orders.entry(r.get(0)?).or_default().push(OrderFacts {
                kind: r.get(1)?,
                issued: date_of("issued", &r.get::<_, String>(2)?)?,
                expires: opt(3, "expires")?,
                review: opt(4, "review")?,
                idx: r.get(5)?,
            });
        }
    }
    let mut contacts: HashMap<(u64, String), (Date, u64)> = HashMap::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT k.booking, k.party, MAX(k.at), MAX(k.idx)
             FROM contacts k JOIN custodies c ON c.booking = k.booking
             WHERE c.ended IS NULL AND (?1 IS NULL OR c.facility = ?1)
               AND k.party IN ('family', 'legal') AND k.at <= ?2
             GROUP BY k.booking, k.party",
        )?;
        let mut rows = st.query(rusqlite::params![facility, end])?;
        while let Some(r) = rows.next()? {
            let at: String = r.get(2)?;
            contacts.insert((r.get(0)?, r.get(1)?), (date_of("at", &at)?, r.get(3)?));
        }
    }
    let mut hearings: HashMap<u64, (Date, u64)> = HashMap::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT p.booking, MAX(h.at), MAX(h.idx)
             FROM hearing_people p JOIN hearings h ON h.idx = p.idx
             JOIN custodies c ON c.booking = p.booking
             WHERE c.ended IS NULL AND (?1 IS NULL OR c.facility = ?1) AND h.at <= ?2
             GROUP BY p.booking",
        )?;
        let mut rows = st.query(rusqlite::params![facility, end])?;
        while let Some(r) = rows.next()? {
            let at: String = r.get(1)?;
            hearings.insert(r.get(0)?, (date_of("at", &at)?, r.get(2)?));
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT booking, admitted_at, legal_status, release_date FROM custodies
         WHERE ended IS NULL AND (?1 IS NULL OR facility = ?1) AND admitted_at <= ?2
         ORDER BY booking",
    )?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let booking: u64 = r.get(0)?;
        out.push(CustodyFacts {
            booking,
            admitted: date_of("admitted_at", &r.get::<_, String>(1)?)?,
            legal_status: r.get(2)?,
            release_date: r
                .get::<_, Option<String>>(3)?
                .map(|s| date_of("release_date", &s))
                .transpose()?,
            orders: orders.remove(&booking).unwrap_or_default(),
            last_family_contact: contacts.remove(&(booking, "family".to_owned())),
            last_legal_contact: contacts.remove(&(booking, "legal".to_owned())),
            last_hearing: hearings.remove(&booking),
            evidence: booking,
        });
    }
    Ok(out)
}

/// Every death case, with the dates its steps were done.
fn death_facts(conn: &Connection, facility: Option<&str>) -> rusqlite::Result<Vec<DeathFacts>> {
    crate::events::death_cases(conn, facility)?
        .into_iter()
        .map(|c| {
            Ok(DeathFacts {
                booking: c.booking,
                idx: c.case,
                died: date_of("at", &c.at)?,
                steps: c
                    .steps
                    .into_iter()
                    .map(|(step, done)| Ok((step, done.map(|d| date_of("step", &d)).transpose()?)))
                    .collect::<rusqlite::Result<_>>()?,
            })
        })
        .collect()
}

/// The daily regime of everyone in a cell on the last full day before `as_of`: whole-cell
/// movements of their current cell and their own movements, out and back.
fn regime_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<RegimeFacts>> {
    use habeas_register::Timestamp;
    let end = as_of.start().millis();
    let day = as_of.plus_days(-1);
    let (from, to) = (day.start().to_string(), as_of.start().to_string());
    let mut by_cell: HashMap<String, Vec<RegimeMove>> = HashMap::new();
    let mut by_booking: HashMap<u64, Vec<RegimeMove>> = HashMap::new();
    let mut st = conn.prepare_cached(
        "SELECT booking, cell, idx, at, kind, open_air FROM movements
         WHERE at >= ?1 AND at < ?2 AND kind IN ('out_of_cell', 'back_to_cell')
         ORDER BY at, idx",
    )?;
    let mut rows = st.query(rusqlite::params![from, to])?;
    while let Some(r) = rows.next()? {
        let at: String = r.get(3)?;
        let at = Timestamp::parse(&at).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?;
        let m = RegimeMove {
            at: at.millis(),
            out: r.get::<_, String>(4)? == "out_of_cell",
            open_air: r.get(5)?,
            idx: r.get(2)?,
        };
        match (r.get::<_, Option<u64>>(0)?, r.get::<_, Option<String>>(1)?) {
            (Some(b), _) => by_booking.entry(b).or_default().push(m),
            (None, Some(cell)) => by_cell.entry(cell).or_default().push(m),
            (None, None) => {}
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT booking, cell FROM custodies
         WHERE ended IS NULL AND cell IS NOT NULL AND away_to IS NULL
           AND (?1 IS NULL OR facility = ?1) AND admitted_at < ?2
         ORDER BY booking",
    )?;
    let mut rows = st.query(rusqlite::params![facility, from])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let booking: u64 = r.get(0)?;
        let cell: String = r.get(1)?;
        let mut moves: Vec<RegimeMove> = by_cell.get(&cell).cloned().unwrap_or_default();
        if let Some(own) = by_booking.get(&booking) {
            moves.extend_from_slice(own);
            moves.sort_by_key(|m| (m.at, m.idx));
        }
        let (out_of_cell_minutes, open_air_minutes, evidence) =
            habeas_core::compliance::regime_minutes(&moves, end);
        out.push(RegimeFacts {
            booking,
            day,
            out_of_cell_minutes,
            open_air_minutes,
            evidence,
        });
    }
    Ok(out)
}
