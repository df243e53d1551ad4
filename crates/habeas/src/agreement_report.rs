//! `habeas report agreement`: the account of a custody agreement with another state for a
//! period — the people held under it, their person-days, the amount due at its rate, the
//! references recorded for each and every finding about them — or, without `--id`, the
//! agreements the register holds.

use crate::open::DbArgs;
use crate::report::{emit, parse_period, Format};
use anyhow::Result;
use habeas_core::compliance::Policy;
use habeas_core::dates::{Date, DefaultDay};
use habeas_register::time::Clock as _;
use habeas_store_sqlite::{Agreement, AgreementPerson, AgreementReport};
use std::fmt::Write as _;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct AgreementArgs {
    /// The agreement's entry number [default: list the agreements].
    #[arg(long)]
    id: Option<u64>,
    /// FROM..TO (YYYY-MM-DD..YYYY-MM-DD, inclusive): the days counted are those of the
    /// agreement within it [default: from the agreement's first day to today, or to its last
    /// day when it has ended].
    #[arg(long, requires = "id")]
    period: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(db: &DbArgs, actor: &str, args: AgreementArgs) -> Result<ExitCode> {
    // Bad input is refused before anything is opened or logged.
    let asked = args.period.as_deref().map(parse_period).transpose()?;
    let store = db.open_store()?;
    let Some(id) = args.id else {
        let agreements = store.agreements(None).map_err(|e| anyhow::anyhow!("{e}"))?;
        emit(&list(&agreements, args.format)?)?;
        return Ok(ExitCode::SUCCESS);
    };
    let agreement = store
        .agreement(id)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| {
            anyhow::anyhow!("id: entry {id} is not a custody agreement of this register")
        })?;
    let last = store
        .last_recorded_day()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let day = DefaultDay::new(Date::of(crate::system::SystemClock.now()), last.as_deref());
    let (from, to) = agreement
        .period(
            asked.map(|(a, _)| a),
            asked.map(|(_, b)| b),
            day.day,
            day.today,
        )
        .map_err(|e| anyhow::anyhow!("period: {}", e.message))?;
    if asked.is_none() && to == day.day {
        if let Some(note) = day.note("--period") {
            eprintln!("{note}");
        }
    }
    let policy = Policy::mandela_minimum().map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = store
        .agreement_report_evaluated(&policy, id, from, to)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| {
            anyhow::anyhow!("id: entry {id} is not a custody agreement of this register")
        })?;
    // The account names people: in the access log before it is shown.
    db.log_access(&[habeas_web::access::Event::Listed {
        username: actor,
        facility: &agreement.facility,
        what: "agreement report",
        query: Some(&format!("agreement {id} {from}..{to}")),
        people: report.people.len() as u64,
    }])?;
    match args.format {
        Format::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Format::Csv => emit(&csv(&report)?)?,
        Format::Table => emit(&table(&report)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn opt(v: Option<impl ToString>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// The agreements, one a line.
fn list(agreements: &[Agreement], format: Format) -> Result<String> {
    match format {
        Format::Json => Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({ "agreements": agreements }))?
        )),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "id",
                "facility",
                "counterpart",
                "reference",
                "starts",
                "ends",
                "per_capita_rate",
                "currency",
                "people",
            ])?;
            for a in agreements {
                w.write_record([
                    &a.id.to_string(),
                    &a.facility,
                    &a.counterpart,
                    &a.reference,
                    &a.starts,
                    &opt(a.ends.as_deref()),
                    &opt(a.per_capita_rate),
                    &opt(a.currency.as_deref()),
                    &a.people.to_string(),
                ])?;
            }
            finish(w)
        }
        Format::Table => {
            let mut t = format!("custody agreements: {}\n", agreements.len());
            for a in agreements {
                writeln!(
                    t,
                    "  {:>8}  {:<10} {}  {:<32} {}..{}  {}  {} people",
                    a.id,
                    a.facility,
                    a.counterpart,
                    a.reference,
                    a.starts,
                    a.ends.as_deref().unwrap_or(""),
                    rate(a),
                    a.people
                )?;
            }
            if !agreements.is_empty() {
                t.push_str("(habeas report agreement --id N for the account of one)\n");
            }
            Ok(t)
        }
    }
}

/// An agreement's rate as recorded: in the smallest unit of its currency, per person-day.
fn rate(a: &Agreement) -> String {
    match (a.per_capita_rate, a.currency.as_deref()) {
        (Some(r), Some(c)) => format!("{r} {c} (smallest unit) per person-day"),
        _ => "no rate".to_owned(),
    }
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<String> {
    let bytes = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
    Ok(String::from_utf8(bytes)?)
}

/// The references of a person's custodies: `authority reference`, `; ` between.
fn references(p: &AgreementPerson) -> String {
    p.custodies
        .iter()
        .flat_map(|c| c.references.iter())
        .map(|r| format!("{} {}", r.authority, r.reference))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One row per person: who, their custodies, person-days, amount and how many findings.
fn csv(r: &AgreementReport) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "person",
        "name",
        "nationalities",
        "bookings",
        "facilities",
        "began",
        "ended",
        "end_reason",
        "references",
        "person_days",
        "amount_due",
        "currency",
        "findings",
    ])?;
    for p in &r.people {
        let (first, last) = (p.custodies.first(), p.custodies.last());
        w.write_record([
            &p.person.to_string(),
            &p.name,
            &p.nationalities.join(" "),
            &p.custodies
                .iter()
                .map(|c| c.booking.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            &p.custodies
                .iter()
                .map(|c| c.facility.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            &opt(first.map(|c| c.began_at.as_str())),
            &opt(last.and_then(|c| c.ended_at.as_deref())),
            &opt(last.and_then(|c| c.end_reason.as_deref())),
            &references(p),
            &p.person_days.to_string(),
            &opt(p.amount_due),
            &opt(r.currency.as_deref()),
            &p.findings.len().to_string(),
        ])?;
    }
    finish(w)
}

/// The account for reading: the agreement, the totals, one line a person, then the findings.
fn table(r: &AgreementReport) -> Result<String> {
    let a = &r.agreement;
    let mut t = String::new();
    writeln!(
        t,
        "agreement {} with {} ({}), facility {}, {}..{}",
        a.id,
        a.counterpart,
        a.reference,
        a.facility,
        a.starts,
        a.ends.as_deref().unwrap_or("")
    )?;
    writeln!(t, "rate: {}", rate(a))?;
    writeln!(
        t,
        "period {}..{}, days counted {}..{} (within the agreement's dates)",
        r.from,
        r.to,
        opt(r.counted_from.as_deref()),
        opt(r.counted_to.as_deref())
    )?;
    writeln!(
        t,
        "{} people held under it, {} person-days, amount due {}",
        r.people.len(),
        r.person_days,
        match (r.amount_due, r.currency.as_deref()) {
            (Some(v), Some(c)) => format!("{v} {c} (in its smallest unit, e.g. cents)"),
            _ => "none (the agreement has no rate)".to_owned(),
        }
    )?;
    writeln!(
        t,
        "findings as of {} under policy {} sha256 {}: {}",
        r.findings_as_of,
        opt(r.policy.as_deref()),
        opt(r.policy_sha256.as_deref()),
        r.findings()
    )?;
    writeln!(
        t,
        "{:>8} {:<32} {:<6} {:>8} {:<8} {:<10} {:<10} {:<26} {:>5} {:>14} {:>8}  references",
        "person",
        "name",
        "nat",
        "booking",
        "facility",
        "began",
        "ended",
        "why",
        "days",
        "amount",
        "findings"
    )?;
    for p in &r.people {
        let last = p.custodies.last();
        writeln!(
            t,
            "{:>8} {:<32} {:<6} {:>8} {:<8} {:<10} {:<10} {:<26} {:>5} {:>14} {:>8}  {}",
            p.person,
            p.name,
            p.nationalities.join(","),
            opt(last.map(|c| c.booking)),
            opt(last.map(|c| c.facility.as_str())),
            opt(p.custodies.first().and_then(|c| c.began_at.get(..10))),
            opt(last
                .and_then(|c| c.ended_at.as_deref())
                .and_then(|e| e.get(..10))),
            opt(last.and_then(|c| c.end_reason.as_deref())),
            p.person_days,
            opt(p.amount_due),
            p.findings.len(),
            references(p)
        )?;
    }
    let mut shown = 0;
    let total = r.findings();
    if total > 0 {
        writeln!(t, "findings:")?;
    }
    for p in &r.people {
        for f in &p.findings {
            if shown == 200 {
                break;
            }
            shown += 1;
            writeln!(
                t,
                "  {:<8} {:<28} person {} booking {} since {:<10} {}  [{}]",
                f.severity,
                f.code,
                p.person,
                f.booking,
                f.since.as_deref().unwrap_or("-"),
                f.detail,
                f.rule
            )?;
        }
    }
    if total > shown {
        writeln!(
            t,
            "… {} more (use --format csv or json for all)",
            total - shown
        )?;
    }
    Ok(t)
}
