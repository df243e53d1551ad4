//! `habeas report statistics`: Rule 10 statistics of the prison population (docs/policy.md).

use crate::open::DbArgs;
use crate::report::emit;
use anyhow::Result;
use habeas_core::dates::Date;
use habeas_core::statistics::{Count, Statistics};
use std::fmt::Write as _;
use std::process::ExitCode;

/// The most months of flows one report shows (a hundred years).
const MAX_MONTHS: u32 = 1200;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct StatisticsArgs {
    /// One facility [default: every facility of the register].
    #[arg(long)]
    facility: Option<String>,
    /// YYYY-MM-DD: the population held at the end of that day [default: today].
    #[arg(long)]
    as_of: Option<String>,
    /// How many calendar months of flows, ending with the month of --as-of.
    #[arg(long, default_value_t = 12)]
    months: u32,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(db: &DbArgs, args: StatisticsArgs) -> Result<ExitCode> {
    if !(1..=MAX_MONTHS).contains(&args.months) {
        anyhow::bail!("months: {} is not between 1 and {MAX_MONTHS}", args.months);
    }
    let store = db.open_store()?;
    let as_of = match &args.as_of {
        Some(raw) => Date::parse("as_of", raw).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => crate::open::default_day(&store, "--as-of")?,
    };
    crate::report::known_facility(&store, args.facility.as_deref())?;
    let stats = store
        .statistics(args.facility.as_deref(), as_of, args.months)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match args.format {
        Format::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&stats)?))?,
        Format::Csv => emit(&csv(&stats)?)?,
        Format::Table => emit(&table(&stats)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// One row per figure: `section,scope,key,value`.
fn csv(s: &Statistics) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["section", "scope", "key", "value"])?;
    let scope = s.facility.as_deref().unwrap_or("all");
    let p = &s.population;
    w.write_record(["population", scope, "total", &p.total.to_string()])?;
    w.write_record([
        "population",
        scope,
        "foreign_nationals",
        &p.foreign_nationals.to_string(),
    ])?;
    w.write_record([
        "population",
        scope,
        "under_emergency",
        &p.under_emergency.to_string(),
    ])?;
    for (section, counts) in [
        ("legal_status", &p.by_legal_status),
        ("sex", &p.by_sex),
        ("age_band", &p.by_age_band),
        ("nationality", &p.by_nationality),
        ("placement", &p.by_placement),
        ("emergency", &p.by_emergency),
    ] {
        for c in counts {
            w.write_record([section, scope, &c.key, &c.people.to_string()])?;
        }
    }
    for o in &s.occupancy {
        let place = match &o.unit {
            Some(u) => format!("{}/{u}", o.facility),
            None => o.facility.clone(),
        };
        for (key, value) in [
            ("cells", o.cells.to_string()),
            ("population", o.population.to_string()),
            ("cna", o.cna.to_string()),
            ("operational_capacity", o.operational_capacity.to_string()),
            ("occupancy_pct", opt(o.occupancy_pct)),
            ("area_m2", o.area_m2.to_string()),
            ("m2_per_person", opt(o.m2_per_person)),
        ] {
            w.write_record(["occupancy", &place, key, &value])?;
        }
    }
    for m in &s.flows {
        for (key, value) in [
            ("admissions", m.admissions),
            ("transfers_in", m.transfers_in),
            ("releases", m.releases),
            ("transfers_out", m.transfers_out),
            ("escapes", m.escapes),
            ("deaths", m.deaths),
            ("serious_injuries", m.serious_injuries),
        ] {
            w.write_record(["flow", &m.month, key, &value.to_string()])?;
        }
        for c in &m.ended_by_reason {
            w.write_record([
                "flow",
                &m.month,
                &format!("ended:{}", c.key),
                &c.people.to_string(),
            ])?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
    Ok(String::from_utf8(bytes)?)
}

fn share(t: &mut String, title: &str, counts: &[Count], total: u64) -> std::fmt::Result {
    writeln!(t, "  {title}")?;
    for c in counts {
        let pct = if total == 0 {
            0.0
        } else {
            100.0 * c.people as f64 / total as f64
        };
        writeln!(t, "    {:<26} {:>9} {:>6.1}%", c.key, c.people, pct)?;
    }
    Ok(())
}

fn table(s: &Statistics) -> Result<String> {
    let mut t = String::new();
    let p = &s.population;
    writeln!(
        t,
        "Rule 10 statistics of {} as of {}",
        s.facility.as_deref().unwrap_or("every facility"),
        s.as_of
    )?;
    writeln!(t)?;
    writeln!(
        t,
        "held at the end of {}: {} people, {} foreign nationals",
        s.as_of, p.total, p.foreign_nationals
    )?;
    share(&mut t, "by legal status", &p.by_legal_status, p.total)?;
    share(&mut t, "by sex", &p.by_sex, p.total)?;
    share(&mut t, "by age band (on the day)", &p.by_age_band, p.total)?;
    share(
        &mut t,
        "by nationality (the first recorded)",
        &p.by_nationality,
        p.total,
    )?;
    share(&mut t, "by placement", &p.by_placement, p.total)?;
    writeln!(
        t,
        "held under a state of exception (ICCPR 4): {} people",
        p.under_emergency
    )?;
    share(&mut t, "by state of exception", &p.by_emergency, p.total)?;
    writeln!(t)?;
    writeln!(
        t,
        "{:<10} {:<10} {:>6} {:>8} {:>7} {:>8} {:>10} {:>10} {:>9}",
        "facility", "unit", "cells", "pop.", "CNA", "oper.", "occupancy", "area m²", "m²/pers."
    )?;
    for o in &s.occupancy {
        writeln!(
            t,
            "{:<10} {:<10} {:>6} {:>8} {:>7} {:>8} {:>10} {:>10.1} {:>9}",
            o.facility,
            o.unit.as_deref().unwrap_or("(all)"),
            o.cells,
            o.population,
            o.cna,
            o.operational_capacity,
            o.occupancy_pct
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}%")),
            o.area_m2,
            o.m2_per_person
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}")),
        )?;
    }
    writeln!(t)?;
    writeln!(
        t,
        "{:<8} {:>10} {:>12} {:>9} {:>13} {:>7} {:>7} {:>16}  ended by reason (up to {})",
        "month",
        "admissions",
        "transfers in",
        "releases",
        "transfers out",
        "escapes",
        "deaths",
        "serious injuries",
        s.as_of
    )?;
    for m in &s.flows {
        let reasons: Vec<String> = m
            .ended_by_reason
            .iter()
            .map(|c| format!("{} {}", c.key, c.people))
            .collect();
        writeln!(
            t,
            "{:<8} {:>10} {:>12} {:>9} {:>13} {:>7} {:>7} {:>16}  {}",
            m.month,
            m.admissions,
            m.transfers_in,
            m.releases,
            m.transfers_out,
            m.escapes,
            m.deaths,
            m.serious_injuries,
            reasons.join(", ")
        )?;
    }
    Ok(t)
}
