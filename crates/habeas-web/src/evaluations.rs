//! Compliance evaluations kept for a short while, for the pages that show them.
//!
//! Measuring a facility of 40,000 people against the policy takes most of a second (the facts
//! of every custody, cell and day, then every rule). The dashboard, the national overview and
//! a person's current findings are asked for far more often than that, so an evaluation is
//! kept and shown again while the register has not grown, or for at most
//! [`FRESH_FOR_MILLIS`] after it was made; the pages say when it was made and over how many
//! entries.

use habeas_core::compliance::{Facts, Finding, Policy, PolicySource};
use habeas_core::dates::Date;
use habeas_register::store::{Store as _, StoreError};
use habeas_register::time::Clock;
use habeas_register::Timestamp;
use habeas_store_sqlite::SqliteStore;
use std::sync::{Arc, Mutex};

/// How long an evaluation is shown again after the register has grown.
pub const FRESH_FOR_MILLIS: i64 = 60_000;

/// Evaluations kept at most (a facility or the whole system, as of a day, each).
const KEPT: usize = 8;

/// One evaluation: the facts measured, the findings, when and over how many entries.
#[derive(Debug)]
pub struct Evaluation {
    pub facility: Option<String>,
    pub as_of: Date,
    pub facts: Facts,
    pub findings: Vec<Finding>,
    /// The policy measured against: its name, the SHA-256 of its file, what it relaxes.
    pub policy: PolicySource,
    pub made_at: Timestamp,
    pub register_size: u64,
    /// What the dashboard counts of it, the first time a dashboard shows it.
    pub(crate) tally: std::sync::OnceLock<Arc<Tally>>,
    /// What the national overview counts of it (an evaluation of every facility), the first
    /// time the overview shows it: per facility, held, CNA, operational capacity, then the
    /// grave, serious and notice findings.
    pub(crate) national: std::sync::OnceLock<Arc<std::collections::BTreeMap<String, [u64; 6]>>>,
}

/// The evaluations kept, newest last.
#[derive(Debug, Default)]
pub struct Evaluations {
    kept: Mutex<Vec<Arc<Evaluation>>>,
}

impl Evaluations {
    /// The evaluation of `facility` (every facility for `None`) as of `as_of`: a kept one
    /// that is still fresh, or a new one.
    pub fn get(
        &self,
        store: &SqliteStore,
        clock: &dyn Clock,
        facility: Option<&str>,
        as_of: Date,
    ) -> Result<Arc<Evaluation>, StoreError> {
        let now = clock.now();
        let size = store.size()?;
        let fresh = |e: &Evaluation| {
            e.facility.as_deref() == facility
                && e.as_of == as_of
                && (e.register_size == size || now.0 - e.made_at.0 < FRESH_FOR_MILLIS)
        };
        if let Some(e) = self
            .kept
            .lock()
            .map_err(|_| StoreError::Closed)?
            .iter()
            .rev()
            .find(|e| fresh(e))
        {
            return Ok(e.clone());
        }
        let policy = Policy::mandela_minimum().map_err(|e| StoreError::Backend(e.message))?;
        let facts = store.compliance_facts(facility, as_of)?;
        let findings = habeas_core::compliance::evaluate(&policy, &facts, as_of);
        let made = Arc::new(Evaluation {
            facility: facility.map(str::to_owned),
            as_of,
            facts,
            findings,
            policy: policy.source().clone(),
            made_at: now,
            register_size: size,
            tally: std::sync::OnceLock::new(),
            national: std::sync::OnceLock::new(),
        });
        let mut kept = self.kept.lock().map_err(|_| StoreError::Closed)?;
        kept.retain(|e| !(e.facility.as_deref() == facility && e.as_of == as_of));
        kept.push(made.clone());
        if kept.len() > KEPT {
            kept.remove(0);
        }
        Ok(made)
    }
}
/// The bins of the day's minutes out of the cell: (upper bounds, labels).
pub(crate) const OUT_OF_CELL: ([i64; 5], [&str; 5]) = (
    [0, 29, 59, 119, i64::MAX],
    ["0 min", "1–29 min", "30–59 min", "60–119 min", "≥ 120 min"],
);
/// The bins of the day's minutes in the open air.
pub(crate) const OPEN_AIR: ([i64; 4], [&str; 4]) = (
    [0, 29, 59, i64::MAX],
    ["0 min", "1–29 min", "30–59 min", "≥ 60 min"],
);
/// The bins of days since a last contact (a last bin counts those never contacted).
pub(crate) const GAPS: ([i64; 5], [&str; 5]) = (
    [30, 90, 180, 365, i64::MAX],
    ["≤ 30 d", "31–90 d", "91–180 d", "181–365 d", "> 365 d"],
);

/// What the compliance dashboard shows of one evaluation, counted once and kept with it (no
/// words of any language: the page adds those).
#[derive(Debug)]
pub(crate) struct Tally {
    pub(crate) out_of_cell: Vec<u64>,
    pub(crate) open_air: Vec<u64>,
    pub(crate) family_gaps: Vec<u64>,
    pub(crate) legal_gaps: Vec<u64>,
    /// Code, rule, findings; most first.
    pub(crate) rules: Vec<(String, String, u64)>,
    /// Unit (`None`: the facility as a whole), then grave, serious, notice.
    pub(crate) by_unit: Vec<(Option<String>, [u64; 3])>,
    pub(crate) by_severity: [u64; 3],
    pub(crate) held: u64,
    pub(crate) cna: u64,
    pub(crate) held_by_month: Vec<(String, f64)>,
    pub(crate) deaths: Vec<habeas_store_sqlite::DeathCase>,
    /// The serious-harm cases and the escapes, oldest first.
    pub(crate) harms: Vec<habeas_store_sqlite::HarmCase>,
}

impl Tally {
    pub(crate) fn of(
        store: &SqliteStore,
        facility: &str,
        evaluation: &Evaluation,
    ) -> crate::error::ApiResult<Self> {
        use habeas_core::compliance::{Severity, Subject};
        let (facts, findings, as_of) = (&evaluation.facts, &evaluation.findings, evaluation.as_of);
        let binned = |bounds: &[i64], values: &mut dyn Iterator<Item = i64>| {
            let mut counts = vec![0u64; bounds.len()];
            for m in values {
                if let Some(k) = bounds.iter().position(|upto| m <= *upto) {
                    counts[k] += 1;
                }
            }
            counts
        };
        // The regime facts are of the last whole day before `as_of`, every one of them.
        let today = || facts.regime.iter();
        let out_of_cell = binned(&OUT_OF_CELL.0, &mut today().map(|r| r.out_of_cell_minutes));
        let open_air = binned(&OPEN_AIR.0, &mut today().map(|r| r.open_air_minutes));
        let gaps = |pick: &dyn Fn(
            &habeas_core::compliance::CustodyFacts,
        ) -> Option<habeas_core::dates::Date>| {
            let mut counts = binned(
                &GAPS.0,
                &mut facts
                    .custodies
                    .iter()
                    .filter_map(pick)
                    .map(|d| habeas_core::compliance::days_between(d, as_of)),
            );
            counts.push(facts.custodies.iter().filter(|c| pick(c).is_none()).count() as u64);
            counts
        };
        let family_gaps = gaps(&|c| c.last_family_contact.map(|(d, _)| d));
        let legal_gaps = gaps(&|c| c.last_legal_contact.map(|(d, _)| d));
        let mut by_rule: std::collections::BTreeMap<(&str, &str), u64> = Default::default();
        for f in findings {
            *by_rule.entry((f.code, f.rule)).or_default() += 1;
        }
        let mut rules: Vec<(String, String, u64)> = by_rule
            .into_iter()
            .map(|((code, rule), n)| (code.to_owned(), rule.to_owned(), n))
            .collect();
        rules.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        // By unit: a person's by their cell's unit now, a cell's or unit's by its own.
        let bookings = store.booking_units(facility)?;
        let cells = store.cells(Some(facility))?;
        let unit_of_cell: std::collections::HashMap<&str, &str> = cells
            .iter()
            .map(|c| (c.code.as_str(), c.unit.as_str()))
            .collect();
        let mut by_unit: std::collections::BTreeMap<Option<&str>, [u64; 3]> = Default::default();
        let mut by_severity = [0u64; 3];
        for f in findings {
            let unit = match &f.subject {
                Subject::Person { booking } => bookings.get(booking).map(String::as_str),
                Subject::Cell { cell, .. } => unit_of_cell.get(cell.as_str()).copied(),
                Subject::Unit { unit, .. } => Some(unit.as_str()),
                _ => None,
            };
            let k = match f.severity {
                Severity::Grave => 0,
                Severity::Serious => 1,
                Severity::Notice => 2,
            };
            by_unit.entry(unit).or_default()[k] += 1;
            by_severity[k] += 1;
        }
        let stats = store.statistics(Some(facility), as_of, 12)?;
        let cna: u64 = cells.iter().map(|c| c.cna).sum();
        let held = stats.population.total;
        Ok(Self {
            out_of_cell,
            open_air,
            family_gaps,
            legal_gaps,
            rules,
            by_unit: by_unit
                .into_iter()
                .map(|(u, n)| (u.map(str::to_owned), n))
                .collect(),
            by_severity,
            held,
            cna,
            held_by_month: held_by_month(held, &stats.flows),
            deaths: store.death_cases(Some(facility))?,
            harms: store.harm_cases(Some(facility))?,
        })
    }
}

/// People held at the end of each month, from the people held on `as_of` and each later
/// month's flows, oldest first.
fn held_by_month(
    held_now: u64,
    flows: &[habeas_core::statistics::MonthFlow],
) -> Vec<(String, f64)> {
    let mut held = held_now as i64;
    let mut out = Vec::with_capacity(flows.len());
    for f in flows.iter().rev() {
        out.push((f.month.clone(), held.max(0) as f64));
        held -= f.admissions as i64 + f.transfers_in as i64
            - f.releases as i64
            - f.transfers_out as i64
            - f.escapes as i64
            - f.deaths as i64;
    }
    out.reverse();
    out
}
