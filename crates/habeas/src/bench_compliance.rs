//! `habeas bench compliance`: a year of every person's day measured against the policy, as a
//! ratio to a plain scan that only sums the same movement minutes per person per day.

use crate::bench::{
    admission_drafts, cecot_estate, figure, fresh_cecot, pipelined, report, settle, Figure,
};
use crate::system::{Stopwatch, SystemClock};
use anyhow::{Context, Result};
use habeas_core::compliance::Policy;
use habeas_core::dates::Date;
use habeas_core::events::Movement;
use habeas_register::time::Clock;
use habeas_register::{Draft, Timestamp};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub const COMPLIANCE_BASELINE: &str = "compliance.regime: the same movements read in the same order, each day's minutes out of cell summed per person (cell movements shared by the cell's people, own movements added), with no rule, run or finding";

#[derive(Debug, Clone, clap::Args)]
pub struct ComplianceBenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// People held, 160 to a cell (CECOT's 256 cells hold up to 40,960).
    #[arg(long, default_value_t = 40_000)]
    people: usize,
    /// Days of movements, from 2 June 2024.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// People taken out alone each day for an hour in the yard (their own movements).
    #[arg(long, default_value_t = 400)]
    yard: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl ComplianceBenchArgs {
    /// The sizes of the issue: 40,000 people, a year.
    pub fn defaults(runs: usize) -> Self {
        Self {
            json: None,
            people: 40_000,
            days: 365,
            yard: 400,
            runs,
            dir: None,
        }
    }
}

pub fn compliance(args: &ComplianceBenchArgs) -> Result<ExitCode> {
    let figures = compliance_figures(args)?;
    report(&figures, args.json.as_deref(), &[COMPLIANCE_BASELINE])
}

fn at(day: Date, minutes: i64) -> String {
    Timestamp(day.start().0 + minutes * 60_000).to_string()
}

/// Builds the store once: the estate, the people, their cells and a year of movements.
fn build(args: &ComplianceBenchArgs, dir: &Path) -> Result<(PathBuf, Date, Date)> {
    use habeas_core::allocation::Allocation;
    use habeas_core::ids::Actor;
    let actor = Actor::parse("actor", "bench").map_err(|e| anyhow::anyhow!("{e}"))?;
    let estate = cecot_estate()?;
    let cells: Vec<String> = estate.cells.iter().map(|c| c.code.clone()).collect();
    let per_cell = 160;
    if args.people > cells.len() * per_cell {
        anyhow::bail!(
            "people: at most {} fit the benchmark's estate",
            cells.len() * per_cell
        );
    }
    let now = SystemClock.now();
    let (f, _) = fresh_cecot(dir, "compliance.db", 1000, &estate, &actor)?;
    let bookings = pipelined(
        &f.register,
        admission_drafts(args.people, 0, now, &actor)?,
        1000,
    )?;
    let allocations: Vec<Draft> = bookings
        .iter()
        .enumerate()
        .map(|(i, b)| {
            Allocation {
                facility: estate.facility.code.clone(),
                booking: *b,
                cell: cells[i / per_cell].clone(),
                override_: None,
                second_authority: None,
                at: None,
                transcribed_from: None,
            }
            .to_draft(&actor)
        })
        .collect();
    pipelined(&f.register, allocations, 1000)?;
    let occupied = args.people.div_ceil(per_cell);
    let from = Date::parse("from", "2024-06-02").map_err(|e| anyhow::anyhow!("{e}"))?;
    let to = from.plus_days(i64::from(args.days) - 1);
    let progress = indicatif::ProgressBar::new(u64::from(args.days));
    for d in 0..args.days {
        let day = from.plus_days(i64::from(d));
        let mut drafts = Vec::with_capacity(occupied * 2 + 2);
        // Each cell out together for 30 minutes, eight cells every two minutes from 07:00.
        for (k, cell) in cells.iter().take(occupied).enumerate() {
            let out = 7 * 60 + (k as i64 / 8) * 2;
            for (kind, t) in [("out_of_cell", out), ("back_to_cell", out + 30)] {
                drafts.push(
                    Movement::new(
                        "CECOT",
                        kind,
                        &[],
                        Some(cell),
                        false,
                        None,
                        &at(day, t),
                        now,
                    )
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .to_draft(&actor),
                );
            }
        }
        // A few people each day an hour in the yard, alone.
        let start = (d as usize * args.yard) % bookings.len().max(1);
        let yard: Vec<u64> = bookings
            .iter()
            .cycle()
            .skip(start)
            .take(args.yard.min(bookings.len()))
            .copied()
            .collect();
        if !yard.is_empty() {
            for (kind, t, air) in [
                ("out_of_cell", 14 * 60, true),
                ("back_to_cell", 15 * 60, false),
            ] {
                drafts.push(
                    Movement::new("CECOT", kind, &yard, None, air, None, &at(day, t), now)
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .to_draft(&actor),
                );
            }
        }
        pipelined(&f.register, drafts, 1000)?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let path = f.store.path().to_path_buf();
    f.register.clone().shutdown();
    Ok((path, from, to))
}

/// The baseline: the same movements, in the same order, summed per person per day.
fn plain_scan(path: &Path, from: Date, to: Date) -> Result<(u64, i64)> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut cell_of: HashMap<String, usize> = HashMap::new();
    let mut people: Vec<usize> = Vec::new();
    let mut slot_of: HashMap<u64, usize> = HashMap::new();
    {
        let mut st = conn.prepare(
            "SELECT booking, cell FROM custodies WHERE ended IS NULL AND cell IS NOT NULL ORDER BY booking",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let cell: String = r.get(1)?;
            let n = cell_of.len();
            let c = *cell_of.entry(cell).or_insert(n);
            slot_of.insert(r.get(0)?, people.len());
            people.push(c);
        }
    }
    let end = to.plus_days(1);
    let mut day_end = from.plus_days(1).start().millis();
    let mut cell_out: Vec<(i64, i64)> = vec![(0, -1); cell_of.len()];
    let mut own_out: HashMap<usize, (i64, i64)> = HashMap::new();
    let (mut person_days, mut total) = (0u64, 0i64);
    let mut flush = |cell_out: &mut Vec<(i64, i64)>, own_out: &mut HashMap<usize, (i64, i64)>| {
        for (slot, cell) in people.iter().enumerate() {
            let mut minutes = cell_out.get(*cell).map_or(0, |c| c.0);
            if let Some(o) = own_out.get(&slot) {
                minutes += o.0;
            }
            total += minutes;
            person_days += 1;
        }
        cell_out.iter_mut().for_each(|c| *c = (0, -1));
        own_out.clear();
    };
    let mut st = conn.prepare(
        "SELECT booking, cell, idx, at, kind, open_air FROM movements
         WHERE at >= ?1 AND at < ?2 AND kind IN ('out_of_cell', 'back_to_cell')
         ORDER BY at, idx",
    )?;
    let mut rows = st.query(rusqlite::params![
        from.start().to_string(),
        end.start().to_string()
    ])?;
    let mut day = from;
    while let Some(r) = rows.next()? {
        let at = Timestamp::parse(r.get_ref(3)?.as_str()?)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .millis();
        while at >= day_end {
            flush(&mut cell_out, &mut own_out);
            day = day.plus_days(1);
            day_end = day.plus_days(1).start().millis();
        }
        let out = r.get_ref(4)?.as_str()? == "out_of_cell";
        let _: bool = r.get(5)?;
        let _: u64 = r.get(2)?;
        // (minutes so far, open since): an `out` opens, a `back` closes and adds the minutes.
        let slot = match r.get::<_, Option<u64>>(0)? {
            Some(b) => slot_of
                .get(&b)
                .map(|s| own_out.entry(*s).or_insert((0, -1))),
            None => r
                .get_ref(1)?
                .as_str_or_null()?
                .and_then(|c| cell_of.get(c))
                .and_then(|s| cell_out.get_mut(*s)),
        };
        if let Some(acc) = slot {
            if out {
                acc.1 = at;
            } else if acc.1 >= 0 {
                acc.0 += (at - acc.1) / 60_000;
                acc.1 = -1;
            }
        }
    }
    while day <= to {
        flush(&mut cell_out, &mut own_out);
        day = day.plus_days(1);
    }
    Ok((person_days, total))
}

pub(crate) fn compliance_figures(args: &ComplianceBenchArgs) -> Result<Vec<Figure>> {
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("habeas-bench-compliance-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    eprintln!(
        "habeas bench compliance: {} people × {} days of movements, {} runs",
        args.people, args.days, args.runs
    );
    let (path, from, to) = build(args, &dir)?;
    let store =
        habeas_store_sqlite::SqliteStore::open(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let policy = Policy::mandela_minimum().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut samples = Vec::new();
    for run in 0..args.runs.max(1) {
        settle();
        let clock = Stopwatch::start();
        let (person_days, total) = plain_scan(&path, from, to)?;
        let base = person_days as f64 / clock.secs();
        settle();
        let clock = Stopwatch::start();
        let findings = store
            .regime_period(&policy, Some("CECOT"), from, to)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .findings;
        let rate = person_days as f64 / clock.secs();
        eprintln!(
            "  run {}: {:.0} person-days/s evaluated ({} findings) against {:.0} summed ({} minutes): {:.2}",
            run + 1,
            rate,
            findings.len(),
            base,
            total,
            rate / base
        );
        samples.push((rate, base));
    }
    drop(store);
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(vec![figure("compliance.regime", "pdays/s", 0.5, &samples)])
}
