//! The whereabouts answer's reading of the records: who is asked about (by identity document,
//! or by name and birth date), and where their latest custody stands — the facility, since
//! when, the legal basis in force, the next hearing, or how and when it ended — with the
//! register entries each of those rests on.

use rusqlite::{Connection, OptionalExtension};

/// How a court or the ombudsman names the person they ask about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sought {
    /// An identity document: kind (`DUI`, `passport`), number, and the issuing country when
    /// known (any issuer otherwise). Folded as admissions fold them.
    Document {
        kind: String,
        number: String,
        issuer: Option<String>,
    },
    /// Every word of a name (folded: case and accents ignored) and the exact birth date.
    NameAndBirth {
        words: Vec<String>,
        birth_date: String,
    },
}

/// The legal basis a custody rests on: its latest commitment order and that order's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    pub entry: u64,
    pub kind: String,
    pub authority: String,
    pub reference: String,
    pub issued: String,
    pub expires: Option<String>,
    pub review: Option<String>,
}

/// The latest hearing that named the person (in any of their custodies), and its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastHearing {
    pub entry: u64,
    pub at: String,
    pub court: String,
    pub next_date: Option<String>,
    pub people_heard: u32,
}

/// Where a person's latest custody stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whereabouts {
    pub person: u64,
    /// The custody: its first entry (the admission, or the transfer that opened it here).
    pub booking: u64,
    pub facility: String,
    pub since: String,
    pub legal_status: String,
    pub basis: Option<Basis>,
    pub hearing: Option<LastHearing>,
    /// The entry that ended the custody, and why (release reason, `transfer_out`, `death`…).
    pub ended: Option<(u64, String)>,
    /// How many custodies the person has had.
    pub custodies: u64,
}

/// The people the question names: at most `limit`, in the order they were first recorded.
pub(crate) fn people(conn: &Connection, sought: &Sought, limit: u32) -> rusqlite::Result<Vec<u64>> {
    match sought {
        Sought::Document {
            kind,
            number,
            issuer,
        } => {
            let kind = kind.trim().to_uppercase();
            let number: String = number
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.'))
                .flat_map(char::to_uppercase)
                .collect();
            let issuer = issuer.as_ref().map(|i| i.trim().to_uppercase());
            let mut st = conn.prepare_cached(
                "SELECT DISTINCT person FROM person_documents
                 WHERE kind = ?1 AND number = ?2 AND (?3 IS NULL OR issuer = ?3)
                 ORDER BY person LIMIT ?4",
            )?;
            let rows = st.query_map(rusqlite::params![kind, number, issuer, limit], |r| {
                r.get::<_, i64>(0)
            })?;
            rows.map(|r| r.map(|p| p as u64)).collect()
        }
        Sought::NameAndBirth { words, birth_date } => {
            // The name search (every word, current and former names) with the birth date: a
            // name alone is never enough, and however many share a common name, everyone
            // born that day is found.
            let hits = crate::custody::find_people_born(conn, words, Some(birth_date), limit)?;
            Ok(hits.into_iter().map(|h| h.person).collect())
        }
    }
}

/// Where `person`'s latest custody stands, with the entries it rests on.
pub(crate) fn whereabouts(conn: &Connection, person: u64) -> rusqlite::Result<Option<Whereabouts>> {
    let custody = conn
        .prepare_cached(
            "SELECT booking, facility, admitted_at, legal_status, ended, end_reason,
                    (SELECT count(*) FROM custodies WHERE person = ?1)
             FROM custodies WHERE person = ?1 ORDER BY booking DESC LIMIT 1",
        )?
        .query_row([person as i64], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(6)? as u64,
            ))
        })
        .optional()?;
    let Some((booking, facility, since, legal_status, ended, reason, custodies)) = custody else {
        return Ok(None);
    };
    let basis = conn
        .prepare_cached(
            "SELECT idx, kind, authority, reference, issued, expires, review
             FROM commitment_orders WHERE booking = ?1 ORDER BY n DESC LIMIT 1",
        )?
        .query_row([booking as i64], |r| {
            Ok(Basis {
                entry: r.get::<_, i64>(0)? as u64,
                kind: r.get(1)?,
                authority: r.get(2)?,
                reference: r.get(3)?,
                issued: r.get(4)?,
                expires: r.get(5)?,
                review: r.get(6)?,
            })
        })
        .optional()?;
    let hearing = conn
        .prepare_cached(
            "SELECT h.idx, h.at, h.court, h.next_date, h.people_heard
             FROM custodies c JOIN hearing_people p ON p.booking = c.booking
             JOIN hearings h ON h.idx = p.idx
             WHERE c.person = ?1 ORDER BY h.at DESC, h.idx DESC LIMIT 1",
        )?
        .query_row([person as i64], |r| {
            Ok(LastHearing {
                entry: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                court: r.get(2)?,
                next_date: r.get(3)?,
                people_heard: r.get(4)?,
            })
        })
        .optional()?;
    Ok(Some(Whereabouts {
        person,
        booking,
        facility,
        since,
        legal_status,
        basis,
        hearing,
        ended: ended.map(|e| (e as u64, reason.unwrap_or_default())),
        custodies,
    }))
}

/// One whereabouts request of a facility's register, with its answer if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WhereaboutsRequestRow {
    pub idx: u64,
    pub at: String,
    pub requester: String,
    pub relationship: String,
    pub sought_name: String,
    pub replied: Option<u64>,
    pub replied_at: Option<String>,
    pub held: Option<bool>,
    pub booking: Option<u64>,
}

/// The whereabouts requests of `facility`, newest first: the unanswered only when `open`.
pub(crate) fn requests(
    conn: &Connection,
    facility: &str,
    open: bool,
    limit: u32,
) -> rusqlite::Result<Vec<WhereaboutsRequestRow>> {
    let mut st = conn.prepare_cached(
        "SELECT idx, at, requester, relationship, sought_name, replied, replied_at, held, booking
         FROM whereabouts_requests WHERE facility = ?1 AND (NOT ?2 OR replied IS NULL)
         ORDER BY at DESC, idx DESC LIMIT ?3",
    )?;
    let rows = st.query_map(rusqlite::params![facility, open, limit], |r| {
        Ok(WhereaboutsRequestRow {
            idx: r.get::<_, i64>(0)? as u64,
            at: r.get(1)?,
            requester: r.get(2)?,
            relationship: r.get(3)?,
            sought_name: r.get(4)?,
            replied: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
            replied_at: r.get(6)?,
            held: r.get(7)?,
            booking: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        })
    })?;
    rows.collect()
}
