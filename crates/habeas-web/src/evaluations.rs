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
    pub(crate) tally: std::sync::OnceLock<Arc<crate::ui::Tally>>,
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
