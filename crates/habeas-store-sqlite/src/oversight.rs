//! The visit register read back: the visits to a facility from outside, newest first.

use rusqlite::Connection;

/// One visit from outside, or the request for one, as the register page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRow {
    pub idx: u64,
    pub at: String,
    pub requested_at: Option<String>,
    pub visitor_kind: String,
    pub visitor: String,
    pub independent: bool,
    pub outcome: String,
    pub reason: Option<String>,
    pub authority: Option<String>,
    pub private_interviews: bool,
    pub people_exposed: String,
    pub people_shown: u64,
}

/// The visits of `facility`, newest first, at most `limit`.
pub(crate) fn visits(
    conn: &Connection,
    facility: &str,
    limit: u32,
) -> rusqlite::Result<Vec<VisitRow>> {
    let mut st = conn.prepare_cached(
        "SELECT idx, at, requested_at, visitor_kind, visitor, independent, outcome, reason, authority,
                private_interviews, people_exposed, people_shown
         FROM oversight_visits WHERE facility = ?1 ORDER BY at DESC, idx DESC LIMIT ?2",
    )?;
    let rows = st.query_map(rusqlite::params![facility, limit], |r| {
        Ok(VisitRow {
            idx: r.get::<_, i64>(0)? as u64,
            at: r.get(1)?,
            requested_at: r.get(2)?,
            visitor_kind: r.get(3)?,
            visitor: r.get(4)?,
            independent: r.get(5)?,
            outcome: r.get(6)?,
            reason: r.get(7)?,
            authority: r.get(8)?,
            private_interviews: r.get(9)?,
            people_exposed: r.get(10)?,
            people_shown: r.get::<_, i64>(11)?.max(0) as u64,
        })
    })?;
    rows.collect()
}
