//! The registers the pages list: hearings by month, contacts and refused contact requests
//! between two days, complaints, and the units' food and water — each of one facility, bounded
//! in size.

use rusqlite::{params, Connection};

/// A hearing of the facility.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HearingRow {
    pub idx: u64,
    pub at: String,
    pub court: String,
    pub mode: String,
    pub counsel: Option<String>,
    pub people_heard: u64,
    pub outcome: Option<String>,
    pub next_date: Option<String>,
}

/// A contact (visit, call, letter) of someone held in the facility.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContactRow {
    pub idx: u64,
    pub booking: u64,
    pub name: String,
    pub kind: String,
    pub party: String,
    pub at: String,
    pub minutes: Option<u64>,
    /// For a request: whether it was granted, and the reason and authority of a refusal.
    pub granted: Option<bool>,
    pub reason: Option<String>,
    pub authority: Option<String>,
}

/// A complaint and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ComplaintRow {
    pub idx: u64,
    pub booking: u64,
    pub name: String,
    pub at: String,
    pub confidential: bool,
    pub alleges_ill_treatment: bool,
    pub reply_due: String,
    pub replied: Option<u64>,
    pub referred: Option<u64>,
}

/// The hearings of `facility` from `from` up to `to` (times in UTC, `to` excluded: a month of
/// the facility's local time is a range of UTC instants), in order.
pub(crate) fn hearings(
    conn: &Connection,
    facility: &str,
    from: &str,
    to: &str,
) -> rusqlite::Result<Vec<HearingRow>> {
    conn.prepare_cached(
        "SELECT idx, at, court, mode, counsel, people_heard, outcome, next_date FROM hearings
         WHERE facility = ?1 AND at >= ?2 AND at < ?3 ORDER BY at, idx",
    )?
    .query_map(params![facility, from, to], |r| {
        Ok(HearingRow {
            idx: r.get::<_, i64>(0)? as u64,
            at: r.get(1)?,
            court: r.get(2)?,
            mode: r.get(3)?,
            counsel: r.get(4)?,
            people_heard: r.get::<_, i64>(5)? as u64,
            outcome: r.get(6)?,
            next_date: r.get(7)?,
        })
    })?
    .collect()
}

/// Contacts and contact requests of people held in `facility` from `from` up to `to` (times in
/// UTC, `to` excluded: days of the facility's local time are a range of UTC instants), newest
/// first, at most `limit`; `party` narrows to one party.
pub(crate) fn contacts(
    conn: &Connection,
    facility: &str,
    from: &str,
    to: &str,
    party: Option<&str>,
    limit: u32,
) -> rusqlite::Result<Vec<ContactRow>> {
    conn.prepare_cached(
        "SELECT x.idx, x.booking, p.given_names || ' ' || p.surnames, x.kind, x.party, x.at, x.minutes,
                x.granted, x.reason, x.authority
         FROM (SELECT idx, booking, kind, party, at, minutes, NULL AS granted, NULL AS reason, NULL AS authority
               FROM contacts WHERE at >= ?2 AND at < ?3
               UNION ALL
               SELECT idx, booking, kind, party, at, NULL, granted, reason, authority
               FROM contact_requests WHERE at >= ?2 AND at < ?3) x
         CROSS JOIN custodies c ON c.booking = x.booking
         CROSS JOIN persons p ON p.person = c.person
         WHERE c.facility = ?1 AND (?4 IS NULL OR x.party = ?4)
         ORDER BY x.at DESC, x.idx DESC LIMIT ?5",
    )?
    .query_map(params![facility, from, to, party, limit], |r| {
        Ok(ContactRow {
            idx: r.get::<_, i64>(0)? as u64,
            booking: r.get::<_, i64>(1)? as u64,
            name: r.get(2)?,
            kind: r.get(3)?,
            party: r.get(4)?,
            at: r.get(5)?,
            minutes: r.get::<_, Option<i64>>(6)?.map(|m| m as u64),
            granted: r.get::<_, Option<i64>>(7)?.map(|g| g != 0),
            reason: r.get(8)?,
            authority: r.get(9)?,
        })
    })?
    .collect()
}

/// Complaints of `facility`, newest first, at most `limit`; `open` keeps those not replied to.
pub(crate) fn complaints(
    conn: &Connection,
    facility: &str,
    open: bool,
    limit: u32,
) -> rusqlite::Result<Vec<ComplaintRow>> {
    conn.prepare_cached(
        "SELECT k.idx, k.booking, p.given_names || ' ' || p.surnames, k.at, k.confidential,
                k.alleges_ill_treatment, k.reply_due, k.replied, k.referred
         FROM complaints k
         JOIN custodies c ON c.booking = k.booking
         JOIN persons p ON p.person = c.person
         WHERE k.facility = ?1 AND (?2 = 0 OR k.replied IS NULL)
         ORDER BY k.at DESC, k.idx DESC LIMIT ?3",
    )?
    .query_map(params![facility, open, limit], |r| {
        Ok(ComplaintRow {
            idx: r.get::<_, i64>(0)? as u64,
            booking: r.get::<_, i64>(1)? as u64,
            name: r.get(2)?,
            at: r.get(3)?,
            confidential: r.get(4)?,
            alleges_ill_treatment: r.get(5)?,
            reply_due: r.get(6)?,
            replied: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
            referred: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        })
    })?
    .collect()
}

/// One unit's record of one day's food and drinking water.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoodServiceRow {
    pub idx: u64,
    pub unit: String,
    pub day: String,
    pub meals: u64,
    pub water_available: bool,
    pub water_hours: Option<u64>,
    pub water_litres: Option<u64>,
    pub recorded_by: String,
}

/// The food and water records of `facility` from `from` (a day) on, newest day first, at most
/// `limit`.
pub(crate) fn food_services(
    conn: &Connection,
    facility: &str,
    from: &str,
    limit: u32,
) -> rusqlite::Result<Vec<FoodServiceRow>> {
    let mut st = conn.prepare_cached(
        "SELECT idx, unit, day, meals, water_available, water_hours, water_litres, recorded_by
         FROM food_services WHERE facility = ?1 AND day >= ?2
         ORDER BY day DESC, unit, idx DESC LIMIT ?3",
    )?;
    let count = |v: Option<i64>| v.map(|n| n.max(0) as u64);
    let rows = st.query_map(params![facility, from, limit], |r| {
        Ok(FoodServiceRow {
            idx: r.get::<_, i64>(0)? as u64,
            unit: r.get(1)?,
            day: r.get(2)?,
            meals: count(r.get(3)?).unwrap_or(0),
            water_available: r.get(4)?,
            water_hours: count(r.get(5)?),
            water_litres: count(r.get(6)?),
            recorded_by: r.get(7)?,
        })
    })?;
    rows.collect()
}
