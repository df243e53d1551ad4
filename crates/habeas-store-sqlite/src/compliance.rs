//! The facts the compliance engine measures, read from the projections.

use habeas_core::compliance::{day_number, regime_minutes, Policy, RegimeOutcome, RegimePeriod};
use habeas_core::compliance::{
    CellFacts, ComplaintFacts, ConsularFacts, CustodyFacts, DeathFacts, Facts, HealthFacts,
    HearingFacts, IncidentFacts, IntakeFacts, NonAssociationFacts, OrderFacts, Place, RegimeFacts,
    RegimeMove, SanctionFacts, SeparationFacts,
};
use habeas_core::dates::Date;
use habeas_register::Timestamp;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};

fn date_of(field: &str, raw: &str) -> rusqlite::Result<Date> {
    Date::parse(field, raw.get(..10).unwrap_or(raw)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn time_of(field: &str, raw: &str) -> rusqlite::Result<Timestamp> {
    Timestamp::parse(raw).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("{field}: {e}").into(),
        )
    })
}

/// A custody held at the end of the day bound to `?2` (`YYYY-MM-DDT99`): open, or ended by an
/// entry whose `at` (or, without one, its own time) is after that day. So a past `--as-of`
/// sees the people released, transferred or dead since.
const HELD: &str = "(c.ended IS NULL OR (SELECT coalesce(json_extract(CAST(l.bytes AS TEXT), '$.payload.at'), json_extract(CAST(l.bytes AS TEXT), '$.time')) FROM register_log l WHERE l.idx = c.ended) > ?2)";

/// The people each facility held at the end of `as_of` (admitted by then and not ended by
/// then; in a cell or not): the one head count of a day, the same as the findings' and the
/// statistics'.
pub(crate) fn held_on(
    conn: &Connection,
    as_of: Date,
) -> rusqlite::Result<std::collections::BTreeMap<String, u64>> {
    let end = format!("{as_of}T99");
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.facility, count(*) FROM custodies c
         WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1) AND c.admitted_at <= ?2
         GROUP BY c.facility"
    ))?;
    let mut rows = st.query(rusqlite::params![None::<String>, end])?;
    let mut out = std::collections::BTreeMap::new();
    while let Some(r) = rows.next()? {
        out.insert(r.get(0)?, r.get::<_, i64>(1)? as u64);
    }
    Ok(out)
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
        separations: separation_facts(conn, facility)?,
        non_associations: non_association_facts(conn, facility)?,
        sanctions: sanction_facts(conn, facility, as_of)?,
        health: health_facts(conn, facility, as_of)?,
        consular: consular_facts(conn, facility, as_of)?,
        incidents: incident_facts(conn, facility, as_of)?,
        whereabouts: whereabouts_facts(conn, facility, as_of)?,
        visits: visit_facts(conn, facility, as_of)?,
        family_visit_requests: family_visit_request_facts(conn, facility, as_of)?,
        activities: activity_facts(conn, facility, as_of)?,
        family_informed: family_informed_facts(conn, facility, as_of)?,
        harms: harm_facts(conn, facility, as_of)?,
        custodies_begun: custodies_begun_facts(conn, facility, as_of)?,
        hot_days: cell_day_maxima(conn, facility, as_of, "temperature_dc")?,
        heat_index_days: cell_day_maxima(conn, facility, as_of, "heat_index_dc")?,
        lit_readings: lit_reading_facts(conn, facility, as_of)?,
        food_services: food_service_facts(conn, facility, as_of)?,
        occupied_units: occupied_units(conn, facility)?,
        sentence_plans: sentence_plan_facts(conn, facility, as_of)?,
    })
}

/// The people held as of `as_of` with a sentence order issued by then, each with their first
/// sentence and their latest sentence plan drawn up by then.
fn sentence_plan_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::SentencePlanFacts>> {
    let end = format!("{as_of}T99");
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.booking, c.admitted_at, o.issued, o.idx, p.at, p.next_review, p.idx
         FROM custodies c
         JOIN (SELECT booking, MIN(issued) AS issued, idx FROM commitment_orders
               WHERE kind = 'sentence' AND issued <= ?2 GROUP BY booking) o ON o.booking = c.booking
         LEFT JOIN (SELECT booking, MAX(at) AS at, next_review, idx FROM sentence_plans
                    WHERE at <= ?2 GROUP BY booking) p ON p.booking = c.booking
         WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1) AND c.admitted_at <= ?2
         ORDER BY c.booking"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let plan = match (r.get::<_, Option<String>>(4)?, r.get::<_, Option<i64>>(6)?) {
            (Some(at), Some(idx)) => Some((
                date_of("at", &at)?,
                optional_date(r.get(5)?, "next_review")?,
                idx as u64,
            )),
            _ => None,
        };
        out.push(habeas_core::compliance::SentencePlanFacts {
            booking: r.get::<_, i64>(0)? as u64,
            admitted: date_of("admitted_at", &r.get::<_, String>(1)?)?,
            sentenced: (
                date_of("issued", &r.get::<_, String>(2)?)?,
                r.get::<_, i64>(3)? as u64,
            ),
            plan,
        });
    }
    Ok(out)
}

/// A custody recorded as it began: an admission written at the time, not transcribed from an
/// earlier register; or a transfer in (the entry that ended the custody before it).
const BEGUN_HERE: &str = "(c.recorded_at IS NOT NULL OR c.booking IN (SELECT ended FROM custodies WHERE ended IS NOT NULL))";

/// The custodies held as of `as_of` that were recorded as they began, each with the family
/// contacts that may be its first to count (the first written to the register and those dated
/// before it was written) and its first decline to have anyone told (with when the decline was
/// written to the register and who witnessed it).
fn family_informed_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::FamilyInformedFacts>> {
    let end = format!("{as_of}T99");
    // A contact dated on or after the first one written counts no earlier than that one, so
    // only the first written and those dated before it are read.
    let mut st = conn.prepare_cached(&format!(
        "WITH k AS (SELECT k.booking, k.at, k.recorded_at, k.idx FROM contacts k
                    JOIN custodies c ON c.booking = k.booking
                    WHERE k.party IN ('family', 'designated')
                      AND {HELD} AND (?1 IS NULL OR c.facility = ?1) AND c.admitted_at <= ?2
                      AND {BEGUN_HERE}),
              w AS (SELECT booking, MIN(recorded_at) AS first FROM k GROUP BY booking)
         SELECT k.booking, k.at, k.recorded_at, k.idx FROM k JOIN w ON w.booking = k.booking
         WHERE k.at < w.first OR k.recorded_at = w.first"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut contacts: std::collections::HashMap<u64, Vec<habeas_core::compliance::Contacted>> =
        std::collections::HashMap::new();
    while let Some(r) = rows.next()? {
        contacts
            .entry(r.get::<_, i64>(0)? as u64)
            .or_default()
            .push(habeas_core::compliance::Contacted {
                at: time_of("at", &r.get::<_, String>(1)?)?,
                recorded: time_of("recorded_at", &r.get::<_, String>(2)?)?,
                idx: r.get::<_, i64>(3)? as u64,
            });
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.booking, c.admitted_at, c.recorded_at IS NULL,
                d.at, d.idx, d.witnessed_by,
                (SELECT json_extract(CAST(l.bytes AS TEXT), '$.time') FROM register_log l WHERE l.idx = d.idx)
         FROM custodies c
         LEFT JOIN (SELECT booking, MIN(at) AS at, idx, witnessed_by FROM notification_declines
                    GROUP BY booking) d ON d.booking = c.booking
         WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1) AND c.admitted_at <= ?2
           AND {BEGUN_HERE}
         ORDER BY c.booking"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let booking = r.get::<_, i64>(0)? as u64;
        let declined = match (
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, Option<String>>(6)?,
        ) {
            (Some(at), Some(idx), Some(recorded)) => Some(habeas_core::compliance::Declined {
                at: time_of("at", &at)?,
                recorded: time_of("time", &recorded)?,
                idx: idx as u64,
                witnessed_by: r.get(5)?,
            }),
            _ => None,
        };
        out.push(habeas_core::compliance::FamilyInformedFacts {
            booking,
            admitted_at: time_of("admitted_at", &r.get::<_, String>(1)?)?,
            transfer: r.get(2)?,
            contacts: contacts.remove(&booking).unwrap_or_default(),
            declined,
        });
    }
    Ok(out)
}

/// The serious-harm cases opened by the end of `as_of`, each with every step recorded for it.
fn harm_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::HarmFacts>> {
    let end = format!("{as_of}T99");
    let mut st = conn.prepare_cached(
        "SELECT h.idx, h.booking, h.at, h.kind, s.step, s.at, s.recorded_at, s.idx
         FROM harm_cases h LEFT JOIN harm_steps s ON s.harm_case = h.idx
         WHERE (?1 IS NULL OR h.facility = ?1) AND h.at <= ?2
         ORDER BY h.idx, s.idx",
    )?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out: Vec<habeas_core::compliance::HarmFacts> = Vec::new();
    while let Some(r) = rows.next()? {
        let idx = r.get::<_, i64>(0)? as u64;
        if out.last().is_none_or(|h| h.idx != idx) {
            out.push(habeas_core::compliance::HarmFacts {
                booking: r.get::<_, i64>(1)? as u64,
                idx,
                at: time_of("at", &r.get::<_, String>(2)?)?,
                kind: r.get(3)?,
                steps: Vec::new(),
            });
        }
        if let (Some(step), Some(case)) = (r.get::<_, Option<String>>(4)?, out.last_mut()) {
            case.steps.push(habeas_core::compliance::HarmStepDone {
                step,
                at: time_of("at", &r.get::<_, String>(5)?)?,
                recorded: time_of("recorded_at", &r.get::<_, String>(6)?)?,
                idx: r.get::<_, i64>(7)? as u64,
            });
        }
    }
    Ok(out)
}

/// The custodies that began (recorded as they began) in the 366 days up to `as_of`, held or
/// not now, each with its first decline to have anyone told: the engine counts those of the
/// policy's window at each facility.
fn custodies_begun_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::CustodyBegun>> {
    let (from, end) = (as_of.plus_days(-365).to_string(), format!("{as_of}T99"));
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.facility, c.booking, c.admitted_at, d.at, d.idx
         FROM custodies c
         LEFT JOIN (SELECT booking, MIN(at) AS at, idx FROM notification_declines
                    GROUP BY booking) d ON d.booking = c.booking
         WHERE (?1 IS NULL OR c.facility = ?1) AND c.admitted_at >= ?2 AND c.admitted_at <= ?3
           AND {BEGUN_HERE}
         ORDER BY c.booking"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, from, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let declined = match (r.get::<_, Option<String>>(3)?, r.get::<_, Option<i64>>(4)?) {
            (Some(at), Some(idx)) => Some((time_of("at", &at)?, idx as u64)),
            _ => None,
        };
        out.push(habeas_core::compliance::CustodyBegun {
            facility: r.get(0)?,
            booking: r.get::<_, i64>(1)? as u64,
            began: time_of("admitted_at", &r.get::<_, String>(2)?)?,
            declined,
        });
    }
    Ok(out)
}

/// The people held as of `as_of`, each with their latest programme attendance up to it.
fn activity_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::ActivityFacts>> {
    let end = format!("{as_of}T99");
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.booking, c.facility, c.admitted_at, p.at, p.idx,
                CASE WHEN c.recorded_at IS NULL THEN
                    (SELECT json_extract(CAST(l.bytes AS TEXT), '$.time')
                     FROM register_log l WHERE l.idx = c.booking) END
         FROM custodies c
         LEFT JOIN (SELECT booking, MAX(at) AS at, idx FROM programme_attendance
                    WHERE at <= ?2 GROUP BY booking) p ON p.booking = c.booking
         WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1) AND c.admitted_at <= ?2
         ORDER BY c.booking"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let last = match (r.get::<_, Option<String>>(3)?, r.get::<_, Option<i64>>(4)?) {
            (Some(at), Some(idx)) => Some((date_of("at", &at)?, idx as u64)),
            _ => None,
        };
        out.push(habeas_core::compliance::ActivityFacts {
            booking: r.get::<_, i64>(0)? as u64,
            facility: r.get(1)?,
            admitted: date_of("admitted_at", &r.get::<_, String>(2)?)?,
            records_from: match r.get::<_, Option<String>>(5)? {
                Some(t) => date_of("time", &t)?,
                None => date_of("admitted_at", &r.get::<_, String>(2)?)?,
            },
            last,
        });
    }
    Ok(out)
}

/// The visits from outside up to `as_of` (the engine judges those of the year up to it, and
/// compares each with the others of its window).
fn visit_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::VisitFacts>> {
    use habeas_core::record::{Exposure, VisitOutcome, VisitorKind};
    let end = format!("{as_of}T99");
    let mut st = conn.prepare_cached(
        "SELECT v.facility, v.idx, v.at, v.visitor_kind, v.visitor, v.independent, v.outcome,
                v.reason, v.authority, v.people_exposed, v.people_shown, v.requested_at, a.at, a.idx
         FROM oversight_visits v
         LEFT JOIN oversight_visits a ON v.outcome = 'pending' AND a.answers = v.idx
         WHERE (?1 IS NULL OR v.facility = ?1) AND v.at <= ?2 ORDER BY v.idx",
    )?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let named = |field: &str, raw: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("{field}: {raw:?} is not known").into(),
        )
    };
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (kind, outcome, exposed): (String, String, String) = (r.get(3)?, r.get(6)?, r.get(9)?);
        out.push(habeas_core::compliance::VisitFacts {
            facility: r.get(0)?,
            idx: r.get::<_, i64>(1)? as u64,
            at: time_of("at", &r.get::<_, String>(2)?)?,
            kind: VisitorKind::parse(&kind).ok_or_else(|| named("visitor_kind", &kind))?,
            visitor: r.get(4)?,
            independent: r.get(5)?,
            outcome: VisitOutcome::parse(&outcome).ok_or_else(|| named("outcome", &outcome))?,
            reason: r.get(7)?,
            authority: r.get(8)?,
            exposed: Exposure::parse(&exposed).ok_or_else(|| named("people_exposed", &exposed))?,
            people_shown: r.get::<_, i64>(10)?.clamp(0, i64::from(u32::MAX)) as u32,
            requested: r
                .get::<_, Option<String>>(11)?
                .map(|t| time_of("requested_at", &t))
                .transpose()?,
            answered: match (
                r.get::<_, Option<String>>(12)?,
                r.get::<_, Option<i64>>(13)?,
            ) {
                (Some(at), Some(idx)) => Some((time_of("at", &at)?, idx as u64)),
                _ => None,
            },
        });
    }
    Ok(out)
}

/// The family visit requests of the year up to `as_of`, with each refusal's reason (the
/// engine counts those of its window).
fn family_visit_request_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::FamilyVisitRequestFacts>> {
    let end = format!("{as_of}T99");
    let from = as_of.plus_days(-366).to_string();
    let mut st = conn.prepare_cached(
        "SELECT c.facility, r.idx, r.booking, r.at, r.granted, r.reason, r.authority
         FROM contact_requests r JOIN custodies c ON c.booking = r.booking
         WHERE r.at >= ?2 AND r.at <= ?3 AND r.kind = 'visit' AND r.party = 'family'
           AND (?1 IS NULL OR c.facility = ?1)
         ORDER BY r.idx",
    )?;
    let mut rows = st.query(rusqlite::params![facility, from, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let granted: bool = r.get(4)?;
        out.push(habeas_core::compliance::FamilyVisitRequestFacts {
            facility: r.get(0)?,
            idx: r.get::<_, i64>(1)? as u64,
            booking: r.get::<_, i64>(2)? as u64,
            at: time_of("at", &r.get::<_, String>(3)?)?,
            refused: if granted {
                None
            } else {
                Some(r.get::<_, Option<String>>(5)?.unwrap_or_default())
            },
            authority: r.get(6)?,
        });
    }
    Ok(out)
}

/// For each cell and each day (the facility's local day) of the year up to `as_of`, the
/// reading with the highest
/// `column` (`temperature_dc`, or `heat_index_dc` for the readings that have a humidity), with
/// that reading's entry: the engine counts the days over the policy's threshold in its window.
fn cell_day_maxima(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
    column: &'static str,
) -> rusqlite::Result<Vec<habeas_core::compliance::CellDayReading>> {
    let end = format!("{as_of}T99");
    let from = as_of.plus_days(-366).to_string();
    // SQLite gives the bare column `e.idx` of the row holding the max().
    // The day is the facility's (its local time).
    let mut st = conn.prepare_cached(&format!(
        "SELECT e.facility, e.place, date(e.at, f.utc_offset_minutes || ' minutes') AS day,
                max(e.{column}), e.idx
         FROM environment e JOIN cells c ON c.facility = e.facility AND c.code = e.place
         JOIN facilities f ON f.code = e.facility
         WHERE e.{column} IS NOT NULL AND e.at >= ?2 AND e.at <= ?3
           AND (?1 IS NULL OR e.facility = ?1)
         GROUP BY e.facility, e.place, day
         ORDER BY e.facility, e.place, day"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, from, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let raw: String = r.get(2)?;
        let day = Date::parse("at", &raw).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("{e}").into(),
            )
        })?;
        out.push(habeas_core::compliance::CellDayReading {
            facility: r.get(0)?,
            cell: r.get(1)?,
            day,
            tenths_c: r.get(3)?,
            evidence: r.get::<_, i64>(4)? as u64,
        });
    }
    Ok(out)
}

/// The readings of the year up to `as_of` (and the night before it) showing the light on in a
/// cell certified as lit by day only, between 18:00 and 09:00 in its facility's local time (the
/// widest night a policy may give): few rows, since a cell lit constantly is certified so and
/// found by `light.constant`, and a cell dark at night gives none.
fn lit_reading_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::LitReading>> {
    let end = format!("{as_of}T99");
    let from = as_of.plus_days(-367).to_string();
    let mut st = conn.prepare_cached(
        "SELECT facility, place, at, utc_offset, idx FROM (
             SELECT e.facility, e.place, e.at, f.utc_offset_minutes AS utc_offset, e.idx,
                    ((CAST(substr(e.at, 12, 2) AS INTEGER) * 60 + CAST(substr(e.at, 15, 2) AS INTEGER)
                      + f.utc_offset_minutes) % 1440 + 1440) % 1440 AS local_minute
             FROM environment e
             JOIN cells c ON c.facility = e.facility AND c.code = e.place
             JOIN facilities f ON f.code = e.facility
             WHERE e.lighting_on = 1 AND c.lighting = 'cycle' AND e.at >= ?2 AND e.at <= ?3
               AND (?1 IS NULL OR e.facility = ?1))
         WHERE local_minute < 540 OR local_minute >= 1080
         ORDER BY idx",
    )?;
    let mut rows = st.query(rusqlite::params![facility, from, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(habeas_core::compliance::LitReading {
            facility: r.get(0)?,
            cell: r.get(1)?,
            at: time_of("at", &r.get::<_, String>(2)?)?,
            utc_offset_minutes: r.get(3)?,
            evidence: r.get::<_, i64>(4)? as u64,
        });
    }
    Ok(out)
}

/// Each unit's daily record of food and water of the year up to `as_of`, in the order
/// recorded (the engine reads the latest of a unit's day).
fn food_service_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::FoodServiceFacts>> {
    let from = as_of.plus_days(-366).to_string();
    let mut st = conn.prepare_cached(
        "SELECT facility, unit, day, meals, water_available, water_hours, water_litres, idx
         FROM food_services
         WHERE day >= ?2 AND day <= ?3 AND (?1 IS NULL OR facility = ?1) ORDER BY idx",
    )?;
    let mut rows = st.query(rusqlite::params![facility, from, as_of.to_string()])?;
    let mut out = Vec::new();
    let count = |v: Option<i64>| v.map(|n| n.clamp(0, i64::from(u32::MAX)) as u32);
    while let Some(r) = rows.next()? {
        out.push(habeas_core::compliance::FoodServiceFacts {
            facility: r.get(0)?,
            unit: r.get(1)?,
            day: date_of("day", &r.get::<_, String>(2)?)?,
            meals: count(r.get(3)?).unwrap_or(0),
            water_available: r.get(4)?,
            water_hours: count(r.get(5)?),
            water_litres: count(r.get(6)?),
            evidence: r.get::<_, i64>(7)? as u64,
        });
    }
    Ok(out)
}

/// The units holding people now, each with the day its earliest present occupant was placed
/// there (their placement's `at`, else its entry's time): it has held someone every day since.
fn occupied_units(
    conn: &Connection,
    facility: Option<&str>,
) -> rusqlite::Result<Vec<habeas_core::compliance::OccupiedUnit>> {
    let mut st = conn.prepare_cached(
        "SELECT u.facility, u.unit,
                (SELECT coalesce(json_extract(CAST(l.bytes AS TEXT), '$.payload.at'),
                                 json_extract(CAST(l.bytes AS TEXT), '$.time'))
                 FROM register_log l WHERE l.idx = u.first)
         FROM (SELECT facility, unit, min(allocated) AS first FROM custodies
               WHERE ended IS NULL AND cell IS NOT NULL AND allocated IS NOT NULL
                 AND (?1 IS NULL OR facility = ?1)
               GROUP BY facility, unit) u
         ORDER BY u.facility, u.unit",
    )?;
    let mut rows = st.query([facility])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (Some(unit), Some(since)) = (
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ) else {
            continue;
        };
        out.push(habeas_core::compliance::OccupiedUnit {
            facility: r.get(0)?,
            unit,
            since: date_of("allocated", &since)?,
        });
    }
    Ok(out)
}

/// The whereabouts requests received up to `as_of`, with their answers if any.
fn whereabouts_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<habeas_core::compliance::WhereaboutsFacts>> {
    let end = format!("{as_of}T99");
    let mut st = conn.prepare_cached(
        "SELECT facility, idx, at, replied_at, replied FROM whereabouts_requests
         WHERE (?1 IS NULL OR facility = ?1) AND at <= ?2 ORDER BY idx",
    )?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let replied = match (r.get::<_, Option<String>>(3)?, r.get::<_, Option<i64>>(4)?) {
            (Some(at), Some(idx)) => Some((time_of("replied_at", &at)?, idx as u64)),
            _ => None,
        };
        out.push(habeas_core::compliance::WhereaboutsFacts {
            facility: r.get(0)?,
            idx: r.get::<_, i64>(1)? as u64,
            received: time_of("at", &r.get::<_, String>(2)?)?,
            replied,
        });
    }
    Ok(out)
}

fn conversion(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
}

/// The time of the entry at `idx`, read from its header only.
fn entry_time(conn: &Connection, idx: u64) -> rusqlite::Result<Timestamp> {
    let bytes: Vec<u8> = conn
        .prepare_cached("SELECT bytes FROM register_log WHERE idx = ?1")?
        .query_row([idx], |r| r.get(0))?;
    let (_, time) = habeas_register::entry::decode_header(&bytes).map_err(conversion)?;
    Ok(time)
}

/// The (UTC) day of the entry at `idx`, read from its header only.
fn entry_day(conn: &Connection, idx: u64) -> rusqlite::Result<Date> {
    entry_time(conn, idx).map(Date::of)
}

fn optional_date(raw: Option<String>, field: &str) -> rusqlite::Result<Option<Date>> {
    raw.map(|s| date_of(field, &s)).transpose()
}

/// Every occupied cell's Rule 11 summary, with the overrides that placed its people.
fn separation_facts(
    conn: &Connection,
    facility: Option<&str>,
) -> rusqlite::Result<Vec<SeparationFacts>> {
    let mut overrides: HashMap<(String, String), Vec<(u64, String)>> = HashMap::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT c.facility, c.cell, o.idx, o.authority
             FROM allocation_overrides o JOIN custodies c ON c.allocated = o.idx
             WHERE c.ended IS NULL AND c.cell IS NOT NULL AND (?1 IS NULL OR c.facility = ?1)
             ORDER BY o.idx",
        )?;
        let mut rows = st.query([facility])?;
        while let Some(r) = rows.next()? {
            overrides
                .entry((r.get(0)?, r.get(1)?))
                .or_default()
                .push((r.get(2)?, r.get(3)?));
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT facility, code, population, sexes, groups, min_birth, max_birth FROM cells
         WHERE population > 1 AND (?1 IS NULL OR facility = ?1) ORDER BY facility, code",
    )?;
    let mut rows = st.query([facility])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let key: (String, String) = (r.get(0)?, r.get(1)?);
        out.push(SeparationFacts {
            population: r.get(2)?,
            sexes: r.get(3)?,
            groups: r.get(4)?,
            oldest_birth: optional_date(r.get(5)?, "min_birth")?,
            youngest_birth: optional_date(r.get(6)?, "max_birth")?,
            overrides: overrides.remove(&key).unwrap_or_default(),
            facility: key.0,
            cell: key.1,
        });
    }
    Ok(out)
}

/// Every active non-association between two people in custody, with where each is.
fn non_association_facts(
    conn: &Connection,
    facility: Option<&str>,
) -> rusqlite::Result<Vec<NonAssociationFacts>> {
    let mut st = conn.prepare_cached(
        "SELECT n.idx, n.facility, n.a, n.b, n.scope, ca.unit, ca.cell, cb.unit, cb.cell
         FROM non_associations n
         JOIN custodies ca ON ca.booking = n.a JOIN custodies cb ON cb.booking = n.b
         WHERE n.ended IS NULL AND ca.ended IS NULL AND cb.ended IS NULL
           AND (?1 IS NULL OR n.facility = ?1) ORDER BY n.idx",
    )?;
    let mut rows = st.query([facility])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let place = |u: usize, c: usize| -> rusqlite::Result<Option<Place>> {
            Ok(
                match (
                    r.get::<_, Option<String>>(u)?,
                    r.get::<_, Option<String>>(c)?,
                ) {
                    (Some(unit), Some(cell)) => Some(Place { unit, cell }),
                    _ => None,
                },
            )
        };
        out.push(NonAssociationFacts {
            idx: r.get(0)?,
            facility: r.get(1)?,
            a: r.get(2)?,
            b: r.get(3)?,
            scope: r.get(4)?,
            a_at: place(5, 6)?,
            b_at: place(7, 8)?,
        });
    }
    Ok(out)
}

/// The sanctions of the year up to `as_of` of people in custody.
fn sanction_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<SanctionFacts>> {
    let end = format!("{as_of}T99");
    let from = as_of.plus_days(-366).to_string();
    let mut st = conn.prepare_cached(&format!(
        "SELECT s.booking, s.idx, s.at, s.sanction, s.days, s.review
         FROM sanctions s JOIN custodies c ON c.booking = s.booking
         WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1) AND s.at <= ?2 AND s.at >= ?3
         ORDER BY s.idx"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, end, from])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(SanctionFacts {
            booking: r.get(0)?,
            idx: r.get(1)?,
            at: date_of("at", &r.get::<_, String>(2)?)?,
            kind: r.get(3)?,
            days: r.get(4)?,
            review: optional_date(r.get(5)?, "review")?,
        });
    }
    Ok(out)
}

/// The examination and injuries at admission of every open custody admitted by `as_of`.
/// Injuries at admission are read from the admission entry, only for people with no referred
/// injury on record.
fn health_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<HealthFacts>> {
    let end = format!("{as_of}T99");
    let mut examined: HashMap<u64, (Date, u64)> = HashMap::new();
    let mut referred: HashMap<u64, (Date, u64)> = HashMap::new();
    {
        let mut st = conn.prepare_cached(
            &format!("SELECT h.booking, h.kind, h.at, h.idx,
                    h.kind = 'injury' AND json_extract(CAST(l.bytes AS TEXT), '$.payload.referred_to') IS NOT NULL
             FROM health h JOIN custodies c ON c.booking = h.booking JOIN register_log l ON l.idx = h.idx
             WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1)
               AND h.kind IN ('admission_examination', 'injury') AND h.at <= ?2
             ORDER BY h.idx"),
        )?;
        let mut rows = st.query(rusqlite::params![facility, end])?;
        while let Some(r) = rows.next()? {
            let (booking, kind, idx): (u64, String, u64) = (r.get(0)?, r.get(1)?, r.get(3)?);
            let at = date_of("at", &r.get::<_, String>(2)?)?;
            if kind == "admission_examination" {
                examined.entry(booking).or_insert((at, idx));
            } else if r.get::<_, bool>(4)? {
                referred.entry(booking).or_insert((at, idx));
            }
        }
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.booking, c.admitted_at,
                coalesce(json_array_length(CAST(l.bytes AS TEXT), '$.payload.injuries'), 0)
             FROM custodies c JOIN register_log l ON l.idx = c.booking
             WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1) AND c.admitted_at <= ?2
             ORDER BY c.booking"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let booking: u64 = r.get(0)?;
        let injuries_referred = referred.remove(&booking);
        let injuries_at_admission: u32 = r.get(2)?;
        out.push(HealthFacts {
            booking,
            admitted: date_of("admitted_at", &r.get::<_, String>(1)?)?,
            examined: examined.remove(&booking),
            injuries_at_admission,
            injuries_referred,
            evidence: booking,
        });
    }
    Ok(out)
}

/// The consular steps of every foreign national in custody, from the admission entry and the
/// contact records.
fn consular_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<ConsularFacts>> {
    let end = format!("{as_of}T99");
    let mut contacts: HashMap<u64, (Date, u64)> = HashMap::new();
    {
        let mut st = conn.prepare_cached(
            &format!("SELECT k.booking, k.at, k.idx FROM contacts k JOIN custodies c ON c.booking = k.booking
             WHERE {HELD} AND c.foreign_national AND (?1 IS NULL OR c.facility = ?1)
               AND k.party = 'consular' AND k.at <= ?2"),
        )?;
        let mut rows = st.query(rusqlite::params![facility, end])?;
        while let Some(r) = rows.next()? {
            let seen = (date_of("at", &r.get::<_, String>(1)?)?, r.get(2)?);
            let last = contacts.entry(r.get(0)?).or_insert(seen);
            *last = (*last).max(seen);
        }
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.booking, c.admitted_at,
                coalesce(json_extract(CAST(l.bytes AS TEXT), '$.payload.consular.notification_requested'), 0),
                json_extract(CAST(l.bytes AS TEXT), '$.payload.consular.notified_at'),
                json_type(CAST(l.bytes AS TEXT), '$.payload.consular') IS NOT NULL,
                json_extract(CAST(l.bytes AS TEXT), '$.payload.consular.rights_advised_at')
             FROM custodies c JOIN register_log l ON l.idx = c.booking
             WHERE {HELD} AND c.foreign_national AND (?1 IS NULL OR c.facility = ?1)
               AND c.admitted_at <= ?2
             ORDER BY c.booking"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let booking: u64 = r.get(0)?;
        let last_contact = contacts.remove(&booking);
        out.push(ConsularFacts {
            booking,
            admitted: date_of("admitted_at", &r.get::<_, String>(1)?)?,
            notification_requested: r.get(2)?,
            notified: optional_date(r.get(3)?, "consular.notified_at")?,
            advice: if r.get(4)? {
                Some(optional_date(r.get(5)?, "consular.rights_advised_at")?)
            } else {
                None
            },
            last_contact,
            evidence: booking,
        });
    }
    Ok(out)
}

/// The incidents of the year up to `as_of`, with when each was reviewed.
fn incident_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<IncidentFacts>> {
    let end = format!("{as_of}T99");
    let from = as_of.plus_days(-366).to_string();
    let mut st = conn.prepare_cached(
        "SELECT i.facility, i.idx, i.at, i.force_used, i.reviewed,
                (SELECT count(*) FROM incident_people p WHERE p.idx = i.idx)
         FROM incidents i
         WHERE (?1 IS NULL OR i.facility = ?1) AND i.at <= ?2 AND i.at >= ?3 ORDER BY i.idx",
    )?;
    let mut rows = st.query(rusqlite::params![facility, end, from])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(IncidentFacts {
            facility: r.get(0)?,
            idx: r.get(1)?,
            at: date_of("at", &r.get::<_, String>(2)?)?,
            force_used: r.get(3)?,
            reviewed: r
                .get::<_, Option<u64>>(4)?
                .map(|i| entry_day(conn, i))
                .transpose()?,
            people: r.get(5)?,
        });
    }
    Ok(out)
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
        "SELECT facility, unit, code, area_cm2, population, cna, operational, lighting, certified,
                bunks, window, sanitation, mattresses, toilet_private, idx
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
            bunks: r.get::<_, i64>(9)?.max(0) as u64,
            window: r.get(10)?,
            sanitation: r.get(11)?,
            mattresses: r.get::<_, Option<i64>>(12)?.map(|m| m.max(0) as u64),
            toilet_private: r.get(13)?,
            defined: r.get(14)?,
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
        let mut st = conn.prepare_cached(&format!(
            "SELECT o.booking, o.kind, o.issued, o.expires, o.review, o.idx,
                    o.emergency_name, o.emergency_decree
                 FROM commitment_orders o JOIN custodies c ON c.booking = o.booking
                 WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1)"
        ))?;
        let mut rows = st.query(rusqlite::params![facility, end])?;
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
                emergency: match (
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ) {
                    (Some(name), Some(decree)) => Some(format!("{name} ({decree})")),
                    (name, _) => name,
                },
            });
        }
    }
    let mut contacts: HashMap<(u64, String), (Date, u64)> = HashMap::new();
    {
        let mut st = conn.prepare_cached(&format!(
            "SELECT k.booking, k.party, MAX(k.at), MAX(k.idx)
             FROM contacts k JOIN custodies c ON c.booking = k.booking
             WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1)
               AND k.party IN ('family', 'designated', 'legal') AND k.at <= ?2
             GROUP BY k.booking, k.party"
        ))?;
        let mut rows = st.query(rusqlite::params![facility, end])?;
        while let Some(r) = rows.next()? {
            let at: String = r.get(2)?;
            // A contact person the one held designated counts as family (Rules 58 and 68).
            let party: String = r.get(1)?;
            let party = if party == "designated" {
                "family".to_owned()
            } else {
                party
            };
            let seen = (date_of("at", &at)?, r.get(3)?);
            let last = contacts.entry((r.get(0)?, party)).or_insert(seen);
            *last = (*last).max(seen);
        }
    }
    // The latest hearing (for the interval) and the first (for the first appearance).
    let mut hearings: HashMap<u64, (Date, u64)> = HashMap::new();
    let mut first_hearings: HashMap<u64, (Timestamp, u64)> = HashMap::new();
    {
        let mut st = conn.prepare_cached(&format!(
            "SELECT p.booking, MAX(h.at), MAX(h.idx), MIN(h.at), MIN(h.idx)
             FROM hearing_people p JOIN hearings h ON h.idx = p.idx
             JOIN custodies c ON c.booking = p.booking
             WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1) AND h.at <= ?2
             GROUP BY p.booking"
        ))?;
        let mut rows = st.query(rusqlite::params![facility, end])?;
        while let Some(r) = rows.next()? {
            let (last, first): (String, String) = (r.get(1)?, r.get(3)?);
            hearings.insert(r.get(0)?, (date_of("at", &last)?, r.get(2)?));
            first_hearings.insert(r.get(0)?, (time_of("at", &first)?, r.get(4)?));
        }
    }
    let mut charged: HashSet<u64> = HashSet::new();
    {
        let mut st = conn.prepare_cached(&format!(
            "SELECT DISTINCT k.booking FROM charges k JOIN custodies c ON c.booking = k.booking
             WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1) AND k.date <= ?2"
        ))?;
        let mut rows = st.query(rusqlite::params![facility, end])?;
        while let Some(r) = rows.next()? {
            charged.insert(r.get(0)?);
        }
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.booking, c.admitted_at, c.legal_status, c.release_date, p.birth_date, f.juvenile,
                c.pending_order, c.arrested_at, c.recorded_at, c.allocated IS NOT NULL OR c.cell IS NOT NULL
             FROM custodies c JOIN persons p ON p.person = c.person
             LEFT JOIN facilities f ON f.code = c.facility
             WHERE {HELD} AND (?1 IS NULL OR c.facility = ?1) AND c.admitted_at <= ?2
             ORDER BY c.booking"
    ))?;
    let mut rows = st.query(rusqlite::params![facility, end])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let booking: u64 = r.get(0)?;
        let admitted_at: String = r.get(1)?;
        let opt_time = |i: usize, field: &str| -> rusqlite::Result<Option<Timestamp>> {
            r.get::<_, Option<String>>(i)?
                .map(|t| time_of(field, &t))
                .transpose()
        };
        let intake = IntakeFacts {
            admitted_at: time_of("admitted_at", &admitted_at)?,
            pending_order: r.get(6)?,
            arrested_at: opt_time(7, "arrested_at")?,
            recorded_at: opt_time(8, "recorded_at")?,
            allocated: r.get(9)?,
            charged: charged.contains(&booking),
            first_hearing: first_hearings.remove(&booking),
        };
        out.push(CustodyFacts {
            booking,
            intake,
            admitted: date_of("admitted_at", &admitted_at)?,
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
            birth: r
                .get::<_, Option<String>>(4)?
                .and_then(|b| Date::parse("birth_date", &b).ok()),
            juvenile_facility: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
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

/// The daily regime of everyone in a cell on the last full day before `as_of`, each facility's
/// day being its local day: whole-cell movements of their current cell and their own
/// movements, out and back.
fn regime_facts(
    conn: &Connection,
    facility: Option<&str>,
    as_of: Date,
) -> rusqlite::Result<Vec<RegimeFacts>> {
    use habeas_register::Timestamp;
    const HOUR: i64 = 3_600_000;
    let offsets = facility_offsets(conn)?;
    let shift_of = |f: &str| i64::from(offsets.get(f).copied().unwrap_or(0)) * 60_000;
    let day = as_of.plus_days(-1);
    // Wide enough for every offset in use (-12:00 to +14:00); each movement is kept only if it
    // falls on the day at its own facility.
    let (from, to) = (
        Timestamp(day.start().millis() - 14 * HOUR).to_string(),
        Timestamp(as_of.start().millis() + 12 * HOUR).to_string(),
    );
    let on_the_day = |facility: &str, at: i64| {
        let local = at + shift_of(facility);
        local >= day.start().millis() && local < as_of.start().millis()
    };
    let mut by_cell: HashMap<(String, String), Vec<RegimeMove>> = HashMap::new();
    let mut by_booking: HashMap<u64, Vec<RegimeMove>> = HashMap::new();
    let mut st = conn.prepare_cached(
        "SELECT booking, cell, idx, at, kind, open_air, facility FROM movements
         WHERE at >= ?1 AND at < ?2 AND kind IN ('out_of_cell', 'back_to_cell')
           AND (?3 IS NULL OR facility = ?3)
         ORDER BY at, idx",
    )?;
    let mut rows = st.query(rusqlite::params![from, to, facility])?;
    while let Some(r) = rows.next()? {
        let at = time_of("at", r.get_ref(3)?.as_str()?)?;
        let moved_at: String = r.get(6)?;
        if !on_the_day(&moved_at, at.millis()) {
            continue;
        }
        let m = RegimeMove {
            at: at.millis(),
            out: r.get::<_, String>(4)? == "out_of_cell",
            open_air: r.get(5)?,
            idx: r.get(2)?,
        };
        match (r.get::<_, Option<u64>>(0)?, r.get::<_, Option<String>>(1)?) {
            (Some(b), _) => by_booking.entry(b).or_default().push(m),
            (None, Some(cell)) => by_cell.entry((moved_at, cell)).or_default().push(m),
            (None, None) => {}
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT c.booking, c.cell, c.allocated, l.population, c.facility, c.admitted_at
         FROM custodies c
         JOIN cells l ON l.facility = c.facility AND l.code = c.cell
         WHERE c.ended IS NULL AND c.away_to IS NULL
           AND (?1 IS NULL OR c.facility = ?1) AND c.admitted_at < ?2
         ORDER BY c.booking",
    )?;
    let mut rows = st.query(rusqlite::params![facility, to])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let booking: u64 = r.get(0)?;
        let cell: String = r.get(1)?;
        let held_at: String = r.get(4)?;
        let shift = shift_of(&held_at);
        // Admitted before the day began, in the facility's local time.
        let admitted = time_of("admitted_at", r.get_ref(5)?.as_str()?)?;
        if admitted.millis() + shift >= day.start().millis() {
            continue;
        }
        // Someone alone in a cell: since the (local) day of the allocation that put them there.
        let alone_since = match (r.get::<_, Option<u64>>(2)?, r.get::<_, u64>(3)?) {
            (Some(allocated), 1) => Some(Date::of(Timestamp(
                entry_time(conn, allocated)?.millis() + shift,
            ))),
            _ => None,
        };
        let mut moves: Vec<RegimeMove> = by_cell.get(&(held_at, cell)).cloned().unwrap_or_default();
        if let Some(own) = by_booking.get(&booking) {
            moves.extend_from_slice(own);
            moves.sort_by_key(|m| (m.at, m.idx));
        }
        let (out_of_cell_minutes, open_air_minutes, evidence) =
            habeas_core::compliance::regime_minutes(&moves, as_of.start().millis() - shift);
        out.push(RegimeFacts {
            booking,
            day,
            out_of_cell_minutes,
            open_air_minutes,
            alone_since,
            evidence,
        });
    }
    Ok(out)
}

/// One person measured over a period.
struct Measured {
    /// The slot of their cell.
    cell: usize,
    /// The first day measured (the first whole day after admission), as a day number.
    first_day: i64,
    /// Alone in the cell since (the allocation to it).
    alone_since: Option<Date>,
    /// The first day that begins after the allocation to the cell was recorded.
    covered_from: i64,
    /// The allocation's entry.
    allocated: Option<u64>,
}

/// Each facility's offset from UTC (its local time), in minutes, by code.
fn facility_offsets(conn: &Connection) -> rusqlite::Result<HashMap<String, i32>> {
    conn.prepare_cached("SELECT code, utc_offset_minutes FROM facilities")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// The slot of each cell measured, by facility and then by code (a cell's code is unique only
/// within its facility).
#[derive(Default)]
struct CellSlots(HashMap<String, HashMap<String, usize>>, usize);

impl CellSlots {
    fn slot(&mut self, facility: &str, cell: &str) -> usize {
        let next = self.1;
        let cells = self.0.entry(facility.to_owned()).or_default();
        if let Some(slot) = cells.get(cell) {
            return *slot;
        }
        cells.insert(cell.to_owned(), next);
        self.1 += 1;
        next
    }

    fn get(&self, facility: &str, cell: &str) -> Option<usize> {
        self.0.get(facility)?.get(cell).copied()
    }

    fn len(&self) -> usize {
        self.1
    }
}

/// The daily regime of everyone now in a cell, day by day from `from` to `to` (inclusive):
/// each facility's days are its local days (midnight to midnight at its offset from UTC).
/// The facilities are measured a group of the same offset at a time, each group in one ordered
/// scan of the period's movements (see `regime_period_at`).
pub(crate) fn regime_period(
    conn: &Connection,
    policy: &Policy,
    facility: Option<&str>,
    from: Date,
    to: Date,
) -> rusqlite::Result<RegimeOutcome> {
    let offsets = facility_offsets(conn)?;
    let mut groups: std::collections::BTreeMap<i32, Vec<String>> = Default::default();
    for (code, offset) in &offsets {
        if facility.is_none_or(|f| f == code) {
            groups.entry(*offset).or_default().push(code.clone());
        }
    }
    // One group of every facility (all of one offset, or the only facility): nothing to filter.
    if let Some((offset, codes)) = groups.iter().next() {
        if groups.len() == 1 && codes.len() == offsets.len() {
            return regime_period_at(conn, policy, None, *offset, from, to);
        }
    }
    let mut outcome = RegimeOutcome::default();
    for (offset, mut codes) in groups {
        codes.sort();
        let codes = serde_json::to_string(&codes).map_err(conversion)?;
        let part = regime_period_at(conn, policy, Some(&codes), offset, from, to)?;
        outcome.findings.extend(part.findings);
        outcome.no_records.extend(part.no_records);
    }
    outcome
        .no_records
        .sort_by(|a, b| (&a.facility, &a.from).cmp(&(&b.facility, &b.from)));
    Ok(outcome)
}

/// The daily regime, day by day from `from` to `to` (inclusive), of everyone now in a cell at
/// the facilities `facilities` names (a JSON array of codes; all when `None`), whose local time
/// is `offset` minutes from UTC, in one ordered scan of the period's movements: each day, each
/// cell's whole-cell movements are measured once and shared by its people; a person's own
/// movements are merged with them. Consecutive days breaking the same rule make one finding
/// (see `RegimePeriod`).
///
/// A person's day is measured only when the records say where they were: a movement of theirs
/// or of their cell that day (of any kind), a roll count of their cell that day, or the
/// allocation that placed them in the cell recorded before the day began. Any other day of
/// their custody is a day without records, listed apart: not a day of no time out of the cell.
fn regime_period_at(
    conn: &Connection,
    policy: &Policy,
    facilities_in: Option<&str>,
    offset: i32,
    from: Date,
    to: Date,
) -> rusqlite::Result<RegimeOutcome> {
    use habeas_register::Timestamp;
    const DAY: i64 = 86_400_000;
    let shift = i64::from(offset) * 60_000;
    // A local day's end, as an instant.
    let day_end_of = |d: Date| d.plus_days(1).start().millis() - shift;
    let begin = Timestamp(from.start().millis() - shift);
    let end = Timestamp(day_end_of(to));
    let mut cell_slot = CellSlots::default();
    let mut bookings = Vec::new();
    let mut facilities = Vec::new();
    let mut slot_of: HashMap<u64, usize> = HashMap::new();
    let mut people: Vec<Measured> = Vec::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT c.booking, c.cell, a.bytes, l.population, c.admitted_at, c.facility, c.allocated
             FROM custodies c
             JOIN cells l ON l.facility = c.facility AND l.code = c.cell
             LEFT JOIN register_log a ON a.idx = c.allocated
             WHERE c.ended IS NULL AND c.away_to IS NULL
               AND (?1 IS NULL OR c.facility IN (SELECT value FROM json_each(?1)))
               AND c.admitted_at < ?2
             ORDER BY c.booking",
        )?;
        let mut rows = st.query(rusqlite::params![facilities_in, end.to_string()])?;
        while let Some(r) = rows.next()? {
            let booking: u64 = r.get(0)?;
            let facility: String = r.get(5)?;
            let cell = cell_slot.slot(&facility, r.get_ref(1)?.as_str()?);
            // When the allocation that put them in the cell was recorded.
            let placed = match r.get_ref(2)?.as_blob_or_null()? {
                Some(bytes) => Some(
                    habeas_register::entry::decode_header(bytes)
                        .map_err(conversion)?
                        .1,
                ),
                None => None,
            };
            // Someone alone in a cell: since the (local) day of the allocation that put them
            // there.
            let alone_since = match (placed, r.get::<_, u64>(3)?) {
                (Some(t), 1) => Some(Date::of(Timestamp(t.millis() + shift))),
                _ => None,
            };
            // The first local day that begins at or after the allocation.
            let covered_from =
                placed.map_or(i64::MAX, |t| (t.millis() + shift + DAY - 1).div_euclid(DAY));
            // Measured from the first whole local day after admission.
            let admitted = time_of("admitted_at", r.get_ref(4)?.as_str()?)?;
            slot_of.insert(booking, bookings.len());
            bookings.push(booking);
            facilities.push(facility);
            people.push(Measured {
                cell,
                first_day: (admitted.millis() + shift).div_euclid(DAY) + 1,
                alone_since,
                covered_from,
                allocated: r.get(6)?,
            });
        }
    }
    // The cells counted each (local) day of the period, with the day's first count.
    let mut counted: HashMap<(usize, i64), u64> = HashMap::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT facility, cell, date(at, ?4), min(idx) FROM roll_counts
             WHERE at >= ?1 AND at < ?2
               AND (?3 IS NULL OR facility IN (SELECT value FROM json_each(?3)))
             GROUP BY facility, cell, date(at, ?4)",
        )?;
        let mut rows = st.query(rusqlite::params![
            begin.to_string(),
            end.to_string(),
            facilities_in,
            format!("{offset} minutes")
        ])?;
        while let Some(r) = rows.next()? {
            if let Some(slot) = cell_slot.get(r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?) {
                let day = date_of("at", r.get_ref(2)?.as_str()?)?;
                counted.insert((slot, day_number(day)), r.get(3)?);
            }
        }
    }
    let mut engine = RegimePeriod::new(policy, bookings, facilities);
    let mut cell_moves: Vec<Vec<RegimeMove>> = vec![Vec::new(); cell_slot.len()];
    // Whether a cell, or a person, had a movement of any kind on the day.
    let mut cell_seen: Vec<bool> = vec![false; cell_slot.len()];
    let mut own: HashMap<usize, Vec<RegimeMove>> = HashMap::new();
    let mut own_seen: std::collections::HashSet<usize> = Default::default();
    let mut day = from;
    let mut day_end = day_end_of(day);
    let mut flush = |day: Date,
                     day_end: i64,
                     cell_moves: &mut Vec<Vec<RegimeMove>>,
                     cell_seen: &mut Vec<bool>,
                     own: &mut HashMap<usize, Vec<RegimeMove>>,
                     own_seen: &mut std::collections::HashSet<usize>| {
        engine.begin_day(day);
        let today = day_number(day);
        let measured: Vec<(i64, i64, Vec<u64>)> = cell_moves
            .iter()
            .map(|m| regime_minutes(m, day_end))
            .collect();
        for (slot, p) in people.iter().enumerate() {
            let Measured {
                cell,
                first_day,
                alone_since,
                covered_from,
                allocated,
            } = p;
            if *first_day > today {
                continue;
            }
            let recorded = today >= *covered_from
                || cell_seen.get(*cell).copied().unwrap_or(false)
                || own_seen.contains(&slot)
                || counted.contains_key(&(*cell, today));
            if !recorded {
                engine.unrecorded(slot);
                continue;
            }
            let Some((out, air, evidence)) = measured.get(*cell) else {
                continue;
            };
            match own.get(&slot) {
                // No movement that day: the day rests on the cell's roll count, or on the
                // allocation that placed the person in the cell.
                None if evidence.is_empty() => {
                    let rests_on: Vec<u64> = counted
                        .get(&(*cell, today))
                        .copied()
                        .or(*allocated)
                        .into_iter()
                        .collect();
                    engine.person(slot, *out, *air, *alone_since, &rests_on);
                }
                None => engine.person(slot, *out, *air, *alone_since, evidence),
                Some(mine) => {
                    let mut moves = cell_moves.get(*cell).cloned().unwrap_or_default();
                    moves.extend_from_slice(mine);
                    moves.sort_by_key(|m| (m.at, m.idx));
                    let (out, air, evidence) = regime_minutes(&moves, day_end);
                    engine.person(slot, out, air, *alone_since, &evidence);
                }
            }
        }
        cell_moves.iter_mut().for_each(Vec::clear);
        cell_seen.iter_mut().for_each(|s| *s = false);
        own.clear();
        own_seen.clear();
    };
    let mut st = conn.prepare_cached(
        "SELECT booking, cell, idx, at, kind, open_air, facility FROM movements
         WHERE at >= ?1 AND at < ?2
           AND (?3 IS NULL OR facility IN (SELECT value FROM json_each(?3)))
         ORDER BY at, idx",
    )?;
    let mut rows = st.query(rusqlite::params![
        begin.to_string(),
        end.to_string(),
        facilities_in
    ])?;
    while let Some(r) = rows.next()? {
        let at: String = r.get(3)?;
        let at = Timestamp::parse(&at).map_err(conversion)?.millis();
        while at >= day_end {
            flush(
                day,
                day_end,
                &mut cell_moves,
                &mut cell_seen,
                &mut own,
                &mut own_seen,
            );
            day = day.plus_days(1);
            day_end = day_end_of(day);
        }
        // Out and back measure the day; any other movement (to court, back from hospital)
        // only shows where the person was.
        let regime = match r.get_ref(4)?.as_str()? {
            "out_of_cell" => Some(true),
            "back_to_cell" => Some(false),
            _ => None,
        };
        let m = match regime {
            Some(out) => Some(RegimeMove {
                at,
                out,
                open_air: r.get(5)?,
                idx: r.get(2)?,
            }),
            None => None,
        };
        match r.get::<_, Option<u64>>(0)? {
            Some(b) => {
                if let Some(slot) = slot_of.get(&b) {
                    own_seen.insert(*slot);
                    if let Some(m) = m {
                        own.entry(*slot).or_default().push(m);
                    }
                }
            }
            None => {
                let cell = r.get_ref(1)?.as_str_or_null()?;
                let facility = r.get_ref(6)?.as_str()?;
                if let Some(slot) = cell.and_then(|c| cell_slot.get(facility, c)) {
                    if let Some(seen) = cell_seen.get_mut(slot) {
                        *seen = true;
                    }
                    if let (Some(v), Some(m)) = (cell_moves.get_mut(slot), m) {
                        v.push(m);
                    }
                }
            }
        }
    }
    while day <= to {
        flush(
            day,
            day_end,
            &mut cell_moves,
            &mut cell_seen,
            &mut own,
            &mut own_seen,
        );
        day = day.plus_days(1);
        day_end = day_end_of(day);
    }
    Ok(engine.finish(to))
}
