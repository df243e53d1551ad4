//! Custody agreements with other states, and the account of one for a period: the people held
//! under it, their person-days, the amount due at its rate, the references recorded for each
//! (the orders under the agreement, a transfer's papers) and the findings about them.
//!
//! A day counts for a person when they were held under the agreement at any time that day
//! (UTC): from the day a custody began to the day it ended (a custody that ends at midnight
//! exactly is not counted on the day it ends). A person held twice the same day under the
//! agreement (a transfer from one facility to another) counts that day once. Only the days of
//! the agreement's own dates count, however long the period asked for.

use habeas_core::compliance::{day_number, Finding, PolicySource, Subject};
use habeas_core::dates::Date;
use habeas_register::store::StoreError;
use habeas_register::Timestamp;
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeMap;

/// The most days one report covers (ten years).
pub const MAX_PERIOD_DAYS: i64 = 3660;

/// A custody agreement with another state, as recorded.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Agreement {
    /// The agreement's id: its register entry (`agreement.recorded`).
    pub id: u64,
    /// The facility that holds the people sent under it.
    pub facility: String,
    /// The other state (ISO 3166-1 alpha-2).
    pub counterpart: String,
    pub reference: String,
    /// Its first day (YYYY-MM-DD).
    pub starts: String,
    /// Its last day, if it has one.
    pub ends: Option<String>,
    /// The price per person and day held, in the smallest unit of `currency` (cents for USD),
    /// as recorded.
    pub per_capita_rate: Option<u64>,
    pub currency: Option<String>,
    /// Its terms, as recorded.
    pub terms: String,
    /// How many people have been held under it, at any time.
    pub people: u64,
}

/// Why a period cannot be reported on: the field at fault (`from` or `to`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodRefused {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for PeriodRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl Agreement {
    /// Its first and last days (`None` when it has no end).
    fn days(&self) -> Option<(Date, Option<Date>)> {
        let starts = Date::parse("starts", &self.starts).ok()?;
        let ends = match &self.ends {
            Some(e) => Some(Date::parse("ends", e).ok()?),
            None => None,
        };
        Some((starts, ends))
    }

    /// `from..to` within the agreement's own dates; `None` when they do not meet.
    pub fn clip(&self, from: Date, to: Date) -> Option<(Date, Date)> {
        let (starts, ends) = self.days()?;
        let from = from.max(starts);
        let to = ends.map_or(to, |e| to.min(e));
        (from <= to).then_some((from, to))
    }

    /// The period a report covers: `from` and `to` as asked, by default from the agreement's
    /// first day to `day` (today, or the register's last recorded day when that is earlier)
    /// or to its last day when it ended before. Refused, naming the field: a period that ends
    /// before it begins, after `today`, spans more than ten years, or does not meet the
    /// agreement's dates.
    pub fn period(
        &self,
        from: Option<Date>,
        to: Option<Date>,
        day: Date,
        today: Date,
    ) -> Result<(Date, Date), PeriodRefused> {
        let refused = |field, message: String| PeriodRefused { field, message };
        let Some((starts, ends)) = self.days() else {
            return Err(refused(
                "id",
                format!("agreement {} has no valid dates", self.id),
            ));
        };
        let from = from.unwrap_or(starts);
        let to = to.unwrap_or_else(|| ends.map_or(day, |e| e.min(day)).max(from));
        if to < from {
            return Err(refused("to", format!("{to} is before {from}")));
        }
        if to > today {
            return Err(refused(
                "to",
                format!("{to} is after today ({today}): the days to come are not held yet"),
            ));
        }
        if day_number(to) - day_number(from) > MAX_PERIOD_DAYS {
            return Err(refused("to", "at most ten years at a time".to_owned()));
        }
        if self.clip(from, to).is_none() {
            let field = if to < starts { "to" } else { "from" };
            return Err(refused(
                field,
                format!(
                    "{from}..{to} is outside agreement {} ({}..{})",
                    self.id,
                    self.starts,
                    self.ends.as_deref().unwrap_or("")
                ),
            ));
        }
        Ok((from, to))
    }
}

/// A reference recorded for a custody under the agreement: an order under it (the authority
/// that issued it and its reference), or the papers of a transfer between facilities.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgreementReference {
    /// `order` (an order of kind `transfer_agreement`) or `transfer`.
    pub kind: String,
    pub authority: String,
    pub reference: String,
    /// The day the order was issued (none for a transfer).
    pub issued: Option<String>,
}

/// One custody held under the agreement.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgreementCustody {
    /// The booking (the entry that opened the custody).
    pub booking: u64,
    pub facility: String,
    /// When it began (UTC).
    pub began_at: String,
    /// `admitted`, or `transferred_in` from another facility of the system.
    pub began_by: String,
    /// The facility a transfer came from.
    pub transferred_from: Option<String>,
    pub references: Vec<AgreementReference>,
    /// When it ended (UTC), if it has: the time the ending entry gives.
    pub ended_at: Option<String>,
    /// Why: a release's legal reason, `transfer_out` or `death`.
    pub end_reason: Option<String>,
    /// The entry that ended it.
    pub ended_by: Option<u64>,
}

/// A finding about a person held under the agreement.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgreementFinding {
    pub booking: u64,
    /// The finding's stable code, e.g. `hearing.none_in_interval`.
    pub code: String,
    /// The rule cited.
    pub rule: String,
    /// `grave`, `serious` or `notice`.
    pub severity: String,
    pub since: Option<String>,
    pub until: Option<String>,
    /// What was measured against what (in English, as the engine writes it).
    pub detail: String,
    /// The register entries it rests on.
    pub evidence: Vec<u64>,
}

/// A person held under the agreement during the period.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgreementPerson {
    pub person: u64,
    pub name: String,
    pub birth_date: String,
    /// ISO 3166-1 codes.
    pub nationalities: Vec<String>,
    /// Their custodies under the agreement, oldest first.
    pub custodies: Vec<AgreementCustody>,
    /// The days of the period (within the agreement's dates) they were held under it.
    pub person_days: u64,
    /// `person_days` × the rate, in the smallest unit of the currency; none without a rate.
    pub amount_due: Option<u64>,
    /// The findings about them as of the period's last day, most severe first.
    pub findings: Vec<AgreementFinding>,
}

/// The account of an agreement for a period.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgreementReport {
    pub agreement: Agreement,
    /// The period asked for (YYYY-MM-DD, inclusive).
    pub from: String,
    pub to: String,
    /// The days counted: the period within the agreement's own dates (none when they do not
    /// meet).
    pub counted_from: Option<String>,
    pub counted_to: Option<String>,
    /// Everyone held under it on at least one day counted.
    pub people: Vec<AgreementPerson>,
    pub person_days: u64,
    /// `person_days` × `per_capita_rate`, in the smallest unit of `currency` (cents for USD);
    /// none when the agreement has no rate.
    pub amount_due: Option<u64>,
    pub currency: Option<String>,
    /// The day the findings are as of: the period's last day.
    pub findings_as_of: String,
    /// The policy the findings measure against, and the SHA-256 of its file.
    pub policy: Option<String>,
    pub policy_sha256: Option<String>,
}

impl AgreementReport {
    /// The facilities where its people were held: where to evaluate the findings.
    pub fn facilities(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .people
            .iter()
            .flat_map(|p| p.custodies.iter().map(|c| c.facility.clone()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Adds the findings of an evaluation (`policy`'s) that are about people of the report.
    pub fn add_findings(&mut self, policy: &PolicySource, findings: &[Finding]) {
        self.policy = Some(policy.name.clone());
        self.policy_sha256 = Some(policy.sha256.clone());
        let mut whose: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, p) in self.people.iter().enumerate() {
            for c in &p.custodies {
                whose.insert(c.booking, i);
            }
        }
        for f in findings {
            let Subject::Person { booking } = f.subject else {
                continue;
            };
            let Some(person) = whose.get(&booking).and_then(|i| self.people.get_mut(*i)) else {
                continue;
            };
            let found = AgreementFinding {
                booking,
                code: f.code.to_owned(),
                rule: f.rule.to_owned(),
                severity: f.severity.as_str().to_owned(),
                since: f.since.clone(),
                until: f.until.clone(),
                detail: f.detail.clone(),
                evidence: f.evidence.clone(),
            };
            if !person.findings.contains(&found) {
                person.findings.push(found);
            }
        }
        let rank = |s: &str| match s {
            "grave" => 0,
            "serious" => 1,
            _ => 2,
        };
        for p in &mut self.people {
            p.findings.sort_by(|a, b| {
                rank(&a.severity)
                    .cmp(&rank(&b.severity))
                    .then_with(|| a.code.cmp(&b.code))
                    .then_with(|| a.booking.cmp(&b.booking))
            });
        }
    }

    /// How many findings it lists.
    pub fn findings(&self) -> usize {
        self.people.iter().map(|p| p.findings.len()).sum()
    }
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

const AGREEMENT: &str = "SELECT a.idx, a.facility, a.counterpart, a.reference, a.starts, a.ends,
     a.per_capita_rate, a.currency, coalesce(json_extract(CAST(l.bytes AS TEXT), '$.payload.terms'), ''),
     (SELECT count(DISTINCT c.person) FROM custodies c WHERE c.agreement = a.idx)
     FROM agreements a JOIN register_log l ON l.idx = a.idx";

fn agreement_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Agreement> {
    Ok(Agreement {
        id: r.get::<_, i64>(0)? as u64,
        facility: r.get(1)?,
        counterpart: r.get(2)?,
        reference: r.get(3)?,
        starts: r.get(4)?,
        ends: r.get(5)?,
        per_capita_rate: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
        currency: r.get(7)?,
        terms: r.get(8)?,
        people: r.get::<_, i64>(9)? as u64,
    })
}

/// The agreements of a facility (or of every facility), in the order recorded.
pub(crate) fn agreements(
    conn: &Connection,
    facility: Option<&str>,
) -> rusqlite::Result<Vec<Agreement>> {
    let mut st = conn.prepare_cached(&format!(
        "{AGREEMENT} WHERE ?1 IS NULL OR a.facility = ?1 ORDER BY a.idx"
    ))?;
    let rows = st.query_map([facility], agreement_row)?;
    rows.collect()
}

/// One agreement.
pub(crate) fn agreement(conn: &Connection, id: u64) -> rusqlite::Result<Option<Agreement>> {
    conn.prepare_cached(&format!("{AGREEMENT} WHERE a.idx = ?1"))?
        .query_row([id as i64], agreement_row)
        .optional()
}

/// The days (day numbers, inclusive) a custody was held: from the day it began to the day it
/// ended (the day before, when it ended at midnight exactly); to `None` while it is open.
/// `None` for a custody that ended the instant it began.
fn held_days(began: Timestamp, ended: Option<Timestamp>) -> Option<(i64, Option<i64>)> {
    let first = began.millis().div_euclid(86_400_000);
    match ended {
        None => Some((first, None)),
        Some(e) if e.millis() <= began.millis() => None,
        Some(e) => Some((first, Some((e.millis() - 1).div_euclid(86_400_000)))),
    }
}

/// How many days of `from..=to` (day numbers) fall in at least one of `spans`.
fn days_in(spans: &[(i64, Option<i64>)], from: i64, to: i64) -> u64 {
    let mut clipped: Vec<(i64, i64)> = spans
        .iter()
        .filter_map(|(a, b)| {
            let a = (*a).max(from);
            let b = b.map_or(to, |b| b.min(to));
            (a <= b).then_some((a, b))
        })
        .collect();
    clipped.sort_unstable();
    let mut total = 0u64;
    let mut upto = i64::MIN;
    for (a, b) in clipped {
        let a = a.max(upto.saturating_add(1));
        if a <= b {
            total += (b - a + 1) as u64;
        }
        upto = upto.max(b);
    }
    total
}

fn times(v: u64, rate: Option<u64>) -> Result<Option<u64>, StoreError> {
    rate.map(|r| {
        v.checked_mul(r).ok_or_else(|| {
            corrupt(format!(
                "{v} person-days at {r} is more than can be counted"
            ))
        })
    })
    .transpose()
}

/// The account of agreement `id` from `from` to `to` (inclusive), without findings (see
/// [`AgreementReport::add_findings`]); `None` for an agreement the register does not hold.
pub(crate) fn report(
    conn: &Connection,
    id: u64,
    from: Date,
    to: Date,
) -> Result<Option<AgreementReport>, StoreError> {
    let Some(agreement) = agreement(conn, id).map_err(backend)? else {
        return Ok(None);
    };
    let counted = agreement.clip(from, to);
    let mut st = conn
        .prepare_cached(
            "SELECT c.booking, c.person, c.facility, c.admitted_at, c.ended, c.end_reason,
             p.given_names || ' ' || p.surnames, p.birth_date, p.nationalities,
             json_extract(CAST(s.bytes AS TEXT), '$.kind'),
             json_extract(CAST(s.bytes AS TEXT), '$.facility'),
             json_extract(CAST(s.bytes AS TEXT), '$.payload.authority'),
             json_extract(CAST(s.bytes AS TEXT), '$.payload.reference'),
             (SELECT coalesce(json_extract(CAST(l.bytes AS TEXT), '$.payload.at'),
                              json_extract(CAST(l.bytes AS TEXT), '$.time'))
              FROM register_log l WHERE l.idx = c.ended)
             FROM custodies c JOIN persons p ON p.person = c.person
             LEFT JOIN register_log s ON s.idx = c.booking
             WHERE c.agreement = ?1 ORDER BY c.person, c.booking",
        )
        .map_err(backend)?;
    struct Row {
        booking: u64,
        person: u64,
        facility: String,
        began_at: String,
        ended: Option<u64>,
        end_reason: Option<String>,
        name: String,
        birth_date: String,
        nationalities: String,
        kind: Option<String>,
        opened_in: Option<String>,
        authority: Option<String>,
        reference: Option<String>,
        ended_at: Option<String>,
    }
    let rows = st
        .query_map([id as i64], |r| {
            Ok(Row {
                booking: r.get::<_, i64>(0)? as u64,
                person: r.get::<_, i64>(1)? as u64,
                facility: r.get(2)?,
                began_at: r.get(3)?,
                ended: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                end_reason: r.get(5)?,
                name: r.get(6)?,
                birth_date: r.get(7)?,
                nationalities: r.get(8)?,
                kind: r.get(9)?,
                opened_in: r.get(10)?,
                authority: r.get(11)?,
                reference: r.get(12)?,
                ended_at: r.get(13)?,
            })
        })
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<Row>>>()
        .map_err(backend)?;
    let mut orders = conn
        .prepare_cached(
            "SELECT authority, reference, issued FROM commitment_orders
             WHERE booking = ?1 AND kind = 'transfer_agreement' ORDER BY n",
        )
        .map_err(backend)?;
    let time = |what: &str, booking: u64, raw: &str| {
        Timestamp::parse(raw)
            .map_err(|e| corrupt(format!("booking {booking}: {what} {raw:?}: {e}")))
    };
    let (counted_from, counted_to) = match counted {
        Some((a, b)) => (day_number(a), day_number(b)),
        // Nothing counts: an empty range.
        None => (1, 0),
    };
    let mut people: Vec<AgreementPerson> = Vec::new();
    let mut spans: Vec<Vec<(i64, Option<i64>)>> = Vec::new();
    for row in rows {
        let began = time("began", row.booking, &row.began_at)?;
        let ended = row
            .ended_at
            .as_deref()
            .map(|t| time("ended", row.booking, t))
            .transpose()?;
        let transferred = row.kind.as_deref() == Some(habeas_core::kinds::TRANSFERRED);
        let mut references = orders
            .query_map([row.booking as i64], |r| {
                Ok(AgreementReference {
                    kind: "order".to_owned(),
                    authority: r.get(0)?,
                    reference: r.get(1)?,
                    issued: r.get(2)?,
                })
            })
            .map_err(backend)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(backend)?;
        if let (true, Some(authority), Some(reference)) =
            (transferred, row.authority, row.reference)
        {
            references.push(AgreementReference {
                kind: "transfer".to_owned(),
                authority,
                reference,
                issued: None,
            });
        }
        let custody = AgreementCustody {
            booking: row.booking,
            facility: row.facility,
            began_at: row.began_at,
            began_by: if transferred {
                "transferred_in"
            } else {
                "admitted"
            }
            .to_owned(),
            transferred_from: if transferred { row.opened_in } else { None },
            references,
            ended_at: ended.map(|t| t.to_string()),
            end_reason: row.end_reason,
            ended_by: row.ended,
        };
        let held = held_days(began, ended);
        // The rows come by person: another custody of the last person, or someone new.
        if let Some(p) = people.last_mut().filter(|p| p.person == row.person) {
            p.custodies.push(custody);
            if let (Some(h), Some(s)) = (held, spans.last_mut()) {
                s.push(h);
            }
        } else {
            people.push(AgreementPerson {
                person: row.person,
                name: row.name,
                birth_date: row.birth_date,
                nationalities: row
                    .nationalities
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect(),
                custodies: vec![custody],
                person_days: 0,
                amount_due: None,
                findings: Vec::new(),
            });
            spans.push(held.into_iter().collect());
        }
    }
    let rate = agreement.per_capita_rate;
    let mut total = 0u64;
    let mut kept = Vec::with_capacity(people.len());
    for (mut p, s) in people.into_iter().zip(spans) {
        p.person_days = days_in(&s, counted_from, counted_to);
        if p.person_days == 0 {
            continue;
        }
        p.amount_due = times(p.person_days, rate)?;
        total += p.person_days;
        kept.push(p);
    }
    Ok(Some(AgreementReport {
        from: from.to_string(),
        to: to.to_string(),
        counted_from: counted.map(|(a, _)| a.to_string()),
        counted_to: counted.map(|(_, b)| b.to_string()),
        people: kept,
        person_days: total,
        amount_due: times(total, rate)?,
        currency: agreement.currency.clone(),
        findings_as_of: to.to_string(),
        policy: None,
        policy_sha256: None,
        agreement,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_once_however_many_custodies_cover_them() {
        // Days 10..=12 and 12..=15 overlap on day 12: six days in all.
        assert_eq!(days_in(&[(10, Some(12)), (12, Some(15))], 0, 100), 6);
        // Clipped to the period.
        assert_eq!(days_in(&[(10, Some(12)), (12, Some(15))], 11, 13), 3);
        // Open: to the period's end.
        assert_eq!(days_in(&[(10, None)], 0, 19), 10);
        // Disjoint spans, nested spans.
        assert_eq!(days_in(&[(1, Some(2)), (5, Some(5))], 0, 10), 3);
        assert_eq!(days_in(&[(1, Some(10)), (3, Some(4))], 0, 10), 10);
        // An empty period.
        assert_eq!(days_in(&[(1, None)], 1, 0), 0);
    }

    #[test]
    fn a_day_counts_when_held_at_any_time_that_day() {
        let t = |s: &str| Timestamp::parse(s).unwrap_or_default();
        let day = |s: &str| day_number(Date::parse("d", s).unwrap_or(Date::of(Timestamp(0))));
        // Admitted at 23:59, released at 00:01 two days later: three days.
        let h = held_days(
            t("2025-03-16T23:59:00.000Z"),
            Some(t("2025-03-18T00:01:00.000Z")),
        );
        assert_eq!(h, Some((day("2025-03-16"), Some(day("2025-03-18")))));
        // Released at midnight exactly: not held on the day that begins then.
        let h = held_days(
            t("2025-03-16T10:00:00.000Z"),
            Some(t("2025-03-18T00:00:00.000Z")),
        );
        assert_eq!(h, Some((day("2025-03-16"), Some(day("2025-03-17")))));
        // Ended the instant it began: no day.
        let h = held_days(
            t("2025-03-16T10:00:00.000Z"),
            Some(t("2025-03-16T10:00:00.000Z")),
        );
        assert_eq!(h, None);
    }

    fn agreement(starts: &str, ends: Option<&str>) -> Agreement {
        Agreement {
            id: 7,
            facility: "CECOT".into(),
            counterpart: "US".into(),
            reference: "A-1".into(),
            starts: starts.into(),
            ends: ends.map(str::to_owned),
            per_capita_rate: Some(100),
            currency: Some("USD".into()),
            terms: "t".into(),
            people: 0,
        }
    }

    fn d(s: &str) -> Date {
        Date::parse("d", s).unwrap_or(Date::of(Timestamp(0)))
    }

    #[test]
    fn a_period_is_the_agreements_by_default_and_refused_outside_it() {
        let a = agreement("2025-03-14", Some("2026-03-13"));
        let today = d("2026-12-07");
        // By default: from its first day to the day shown, or its last day if earlier.
        assert_eq!(
            a.period(None, None, d("2025-05-31"), today),
            Ok((d("2025-03-14"), d("2025-05-31")))
        );
        assert_eq!(
            a.period(None, None, today, today),
            Ok((d("2025-03-14"), d("2026-03-13")))
        );
        // A period partly outside is clipped when counted, not refused.
        assert_eq!(
            a.clip(d("2025-03-01"), d("2025-03-31")),
            Some((d("2025-03-14"), d("2025-03-31")))
        );
        // Wholly before it, after it, backwards, in the future: refused, naming the field.
        let refused = |from: &str, to: &str| {
            a.period(Some(d(from)), Some(d(to)), today, today)
                .map_err(|e| e.field)
        };
        assert_eq!(refused("2025-01-01", "2025-03-13"), Err("to"));
        assert_eq!(refused("2026-03-14", "2026-04-30"), Err("from"));
        assert_eq!(refused("2025-04-30", "2025-04-01"), Err("to"));
        assert_eq!(refused("2026-12-01", "2026-12-31"), Err("to"));
        assert_eq!(
            refused("2025-03-13", "2025-03-14"),
            Ok((d("2025-03-13"), d("2025-03-14")))
        );
        // An agreement without an end runs on.
        let open = agreement("2025-03-14", None);
        assert_eq!(
            open.clip(d("2026-01-01"), d("2026-01-31")),
            Some((d("2026-01-01"), d("2026-01-31")))
        );
    }
}
