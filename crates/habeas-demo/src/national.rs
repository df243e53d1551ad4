//! The `national` scenario: many facilities summing to a national prison population (110,000
//! by default; up to 2,000,000 for benchmarks), under the same daily regime.

use crate::names::Rng;
use crate::{
    admission, allocate, at, day_start, DemoError, Gen, Options, Progress, Report, Scenario,
    LAST_DAY,
};
use crate::{cell_movements, evening_count};
use habeas_core::dates::Date;
use habeas_core::estate::{
    CellKind, CellTemplate, EstateFile, FacilityInput, Lighting, UnitInput, Ventilation,
};
use habeas_core::events::Death;
use habeas_core::ids::Actor;
use habeas_register::time::ManualClock;
use habeas_register::writer::Register;
use habeas_store_sqlite::SqliteStore;
use std::collections::VecDeque;

/// Facilities in the system.
pub const FACILITIES: u32 = 25;
const CELLS_PER_UNIT: u32 = 32;
const PER_CELL: u32 = 20;

pub(crate) fn generate(
    store: &SqliteStore,
    register: &Register,
    clock: &ManualClock,
    opts: Options,
    progress: Progress<'_>,
) -> Result<Report, DemoError> {
    let actor =
        Actor::parse("actor", "demo:national").map_err(|e| DemoError::Options(e.message))?;
    let mut rng = Rng::new(opts.seed);
    let last = Date::parse("last", LAST_DAY).map_err(|e| DemoError::Options(e.message))?;
    let first = day_start(last, opts.days, 0);
    let mut g = Gen {
        register,
        clock,
        store,
        actor: actor.clone(),
        in_flight: VecDeque::new(),
        done: Vec::new(),
        report: Report::default(),
    };
    g.report.first_day = first.date_string();
    g.report.last_day = last.to_string();
    let t0 = at(first, 5, 0);
    // Shares of the population, largest first, as in a real system (a few very large
    // facilities and many small ones).
    let weights: Vec<u32> = (0..FACILITIES).map(|i| 40 / (i + 1) + 3).collect();
    let total_weight: u32 = weights.iter().sum();
    let mut shares: Vec<u32> = weights
        .iter()
        .map(|w| opts.population / total_weight * w)
        .collect();
    let assigned: u32 = shares.iter().sum();
    shares[0] += opts.population - assigned;
    let codes: Vec<String> = (1..=FACILITIES).map(|i| format!("CP{i:02}")).collect();
    let mut admitted_total = 0u64;
    let mut alive: Vec<Vec<u64>> = Vec::new();
    let mut n = 0u64;
    for (i, (code, share)) in codes.iter().zip(&shares).enumerate() {
        let units = (*share * 11 / 10)
            .div_ceil(CELLS_PER_UNIT * PER_CELL)
            .max(1);
        let estate = EstateFile {
            facility: FacilityInput {
                code: code.clone(),
                name: format!("Centro Penal {:02} (demostración)", i + 1),
                country: "SV".into(),
                juvenile: false,
            },
            units: (1..=units)
                .map(|u| UnitInput {
                    code: format!("S{u}"),
                    name: format!("Sector {u}"),
                    cell_count: CELLS_PER_UNIT,
                    cell_template: Some(CellTemplate {
                        area_m2: 40.0,
                        bunks: 20,
                        cna: 10,
                        operational_capacity: PER_CELL,
                        kind: CellKind::Normal,
                        lighting: Lighting::Cycle,
                        window: true,
                        ventilation: Ventilation::Natural,
                        sanitation: true,
                    }),
                })
                .collect(),
            cells: Vec::new(),
        }
        .validate()
        .map_err(|e| DemoError::Options(e.to_string()))?;
        let mut drafts = vec![estate.facility.to_draft(&actor)];
        drafts.extend(
            estate
                .units
                .iter()
                .map(|u| u.to_draft(&estate.facility.code, &actor)),
        );
        drafts.extend(
            estate
                .cells
                .iter()
                .map(|c| c.to_draft(&estate.facility.code, &actor)),
        );
        g.append(t0, drafts)?;
        let mut people = Vec::with_capacity(*share as usize);
        for _ in 0..*share {
            n += 1;
            let admitted = crate::ramp_date(&mut rng, t0);
            let sentenced = rng.below(100) < 40;
            let (d, _) = admission(
                &mut rng,
                code,
                Scenario::Cecot,
                n,
                admitted,
                t0,
                None,
                sentenced,
                true,
                &actor,
            )?;
            people.push(d);
        }
        let bookings = g.append(t0, people)?;
        allocate(&mut g, Scenario::Cecot, code, &bookings, t0)?;
        admitted_total += bookings.len() as u64;
        alive.push(bookings);
        progress("facilities", i as u64 + 1, u64::from(FACILITIES));
    }
    g.report.admitted = admitted_total;
    let deaths_per_person_day = 470.0 / (110_000.0 * 1_370.0);
    for d in 0..opts.days {
        let day = day_start(last, opts.days, d);
        for (f, code) in codes.iter().enumerate() {
            cell_movements(&mut g, code, day, 60, true)?;
            let expected = deaths_per_person_day * alive[f].len() as f64;
            let dying = (expected.floor() as u64)
                + u64::from((rng.next() % 1_000_000) as f64 / 1e6 < expected.fract());
            for _ in 0..dying {
                if alive[f].is_empty() {
                    break;
                }
                let i = (rng.next() % alive[f].len() as u64) as usize;
                let booking = alive[f].swap_remove(i);
                let t = at(day, 3 + rng.below(18) as i64, rng.below(60) as i64);
                let death = Death::new(
                    code,
                    booking,
                    &t.to_string(),
                    "celda",
                    "causa en estudio",
                    rng.below(100) < 40,
                    t,
                )
                .map_err(|e| DemoError::Refused(e.to_string()))?;
                g.append(t, vec![death.to_draft(&actor)])?;
                g.report.deaths += 1;
            }
        }
        g.drain()?;
        for code in &codes {
            evening_count(&mut g, code, day)?;
        }
        progress("days", u64::from(d) + 1, u64::from(opts.days));
    }
    g.drain()?;
    Ok(g.report)
}
