//! Commands for the estate and custody: `estate`, `admit`, `allocate`, `non-association`,
//! `release`, `person`, `population`.

use crate::open::DbArgs;
use crate::system::SystemClock;
use anyhow::{bail, Context, Result};
use habeas_core::allocation::{plan, Allocation};
use habeas_core::custody::{end_non_association, AdmissionInput, NonAssociation, Release};
use habeas_core::dates::Date;
use habeas_core::estate::{cells_from_csv, offset_text, Certification, EstateDocument};
use habeas_core::ids::{Actor, FacilityCode};
use habeas_core::DomainError;
use habeas_register::store::AppendError;
use habeas_register::time::Clock;
use habeas_register::Draft;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Out {
    Table,
    Json,
}

#[derive(Debug, clap::Subcommand)]
pub enum EstateCommand {
    /// Load a facility, its units and cells from a TOML file (and cells from CSV); entries are
    /// written only for what is new or changed, all in one transaction.
    Load {
        file: PathBuf,
        /// More cells, as CSV: code,unit,area_m2,bunks,cna,operational_capacity,kind,lighting,window,ventilation,sanitation
        /// and optionally mattresses,toilet_private
        #[arg(long)]
        cells: Option<PathBuf>,
    },
    /// Change a cell's certified capacity, naming the approving authority.
    Certify {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        cell: String,
        #[arg(long)]
        cna: u32,
        #[arg(long)]
        operational: u32,
        #[arg(long)]
        authority: String,
        #[arg(long)]
        reason: String,
    },
    /// A facility's units and cells with capacity and population.
    Show {
        #[arg(long)]
        facility: String,
        #[arg(long, value_enum, default_value_t = Out::Table)]
        format: Out,
    },
}

#[derive(Debug, clap::Args)]
pub struct AllocateArgs {
    #[arg(long)]
    facility: String,
    /// The custody to place (its booking number).
    #[arg(long, required_unless_present = "batch")]
    booking: Option<u64>,
    #[arg(long, required_unless_present = "batch")]
    cell: Option<String>,
    /// Why the separation rules or a non-association may be set aside (needs --override-authority).
    #[arg(long)]
    override_reason: Option<String>,
    #[arg(long)]
    override_authority: Option<String>,
    /// A second authority besides --override-authority: an override of Rule 11(a) (sex) or
    /// 11(d) (young people) needs one.
    #[arg(long)]
    override_second_authority: Option<String>,
    /// When the person was placed there (RFC 3339), if before now: a placement written up
    /// afterwards [default: now].
    #[arg(long)]
    at: Option<String>,
    /// Place everyone in the facility who has no cell yet, respecting every constraint.
    #[arg(long, conflicts_with_all = ["booking", "cell", "override_reason", "override_authority", "override_second_authority", "at"])]
    batch: bool,
    /// With --batch: show the plan without writing it.
    #[arg(long, requires = "batch")]
    dry_run: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum NonAssociationCommand {
    /// Two people who must be kept apart.
    Add {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        a: u64,
        #[arg(long)]
        b: u64,
        /// cell, unit or facility
        #[arg(long)]
        scope: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        authority: String,
    },
    /// End a non-association (by the register index that recorded it).
    End {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        entry: u64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    #[arg(long)]
    facility: String,
    #[arg(long)]
    booking: u64,
    /// The legal reason: sentence_served, bail, acquittal, charges_dropped, court_order,
    /// detention_order_expired, transfer_out, transfer_to_another_state, released_in_error;
    /// or escape (the person left custody unlawfully: it opens a Rule 71(1) case, to be
    /// reported to an independent authority).
    #[arg(long)]
    reason: Option<String>,
    /// The authority that ordered or certified the release (for an escape, the one that
    /// certified it).
    #[arg(long)]
    authority: String,
    /// The order's reference.
    #[arg(long)]
    reference: String,
    /// When the person left [default: now].
    #[arg(long)]
    at: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum PersonCommand {
    /// Find people by name: case and accents do not matter, words in any order.
    Find {
        name: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, value_enum, default_value_t = Out::Table)]
        format: Out,
    },
    /// Correct a person's identity (JSON: facility, person, reason and the corrected fields);
    /// the file shows the correction and the history keeps both.
    Correct {
        #[arg(long)]
        json: PathBuf,
    },
    /// A person's file: identity, custodies, legal basis, cell, and every entry about them.
    Show {
        /// The person's id, or a booking number with --booking.
        id: u64,
        #[arg(long)]
        booking: bool,
        #[arg(long, value_enum, default_value_t = Out::Table)]
        format: Out,
    },
}

/// What `habeas record --help` says of the JSON: the kinds, the forms of times and dates, and
/// one example (the others with `--example KIND`).
pub fn record_help() -> String {
    let hearing = habeas_core::examples::record("hearing")
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default();
    format!(
        "The JSON is one object; its \"record\" field names the kind: {}.\n\
         Each kind has its own fields (the API's POST /api/records takes the same JSON, and its\n\
         OpenAPI document, GET /api/openapi.json, describes every field). Times are RFC 3339,\n\
         with or without milliseconds, in UTC (Z) or with an offset: 2025-05-31T09:30:00Z;\n\
         dates are YYYY-MM-DD. Bookings are the numbers `habeas person find` shows.\n\n\
         A complete example of each kind: habeas record --example KIND. The hearing:\n\n{hearing}",
        habeas_core::examples::RECORD_KINDS.join(", ")
    )
}

/// What `habeas admit --help` says of the JSON, with the complete example.
pub fn admit_help() -> String {
    let example =
        serde_json::to_string_pretty(&habeas_core::examples::admission()).unwrap_or_default();
    format!(
        "The JSON is one object: the facility, the person (or \"existing_person\": their id, or\n\
         \"new_person\": true when a probable match is someone else), when they were admitted,\n\
         their legal status, the orders in force (Rule 7(a): at least one, or\n\
         \"held_pending_order\": {{\"brought_by\", \"orders_shown\"}} to record a person brought\n\
         without one, a grave finding from the first minute), the arrest and what they brought.\n\
         The API's POST /api/admissions takes the same JSON. Times are RFC 3339 (with or without\n\
         milliseconds, Z or an offset); dates YYYY-MM-DD. A foreign national's admission adds\n\
         \"consular\": {{\"rights_advised_at\", \"notification_requested\", \"notified_at\"}}.\n\n\
         A complete example (habeas admit --example prints it alone):\n\n{example}"
    )
}

fn domain(e: DomainError) -> anyhow::Error {
    anyhow::anyhow!("--{}: {}", e.field.replace('_', "-"), e.message)
}

fn refused(e: AppendError) -> anyhow::Error {
    match e {
        AppendError::Rejected(r) => match r.field {
            Some(f) => anyhow::anyhow!("--{}: {}", f.replace('_', "-"), r.message),
            None => anyhow::anyhow!("{}", r.message),
        },
        AppendError::Store(e) => anyhow::anyhow!("nothing was recorded: {e}"),
    }
}

fn append_all(db: &DbArgs, drafts: Vec<Draft>) -> Result<Vec<u64>> {
    let (_, register) = db.open_writer()?;
    let result = register.append_all(drafts);
    register.shutdown();
    result
        .map(|r| r.into_iter().map(|x| x.index).collect())
        .map_err(refused)
}

fn now() -> habeas_register::Timestamp {
    SystemClock.now()
}

pub fn estate(db: &DbArgs, actor: &Actor, command: EstateCommand) -> Result<ExitCode> {
    match command {
        EstateCommand::Load { file, cells } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut parsed: EstateDocument =
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if let Some(csv) = cells {
                let csv_text = std::fs::read_to_string(&csv)
                    .with_context(|| format!("cannot read {}", csv.display()))?;
                parsed.cells.extend(cells_from_csv(&csv_text).map_err(|e| {
                    anyhow::anyhow!("{}: {}: {}", csv.display(), e.field, e.message)
                })?);
            }
            let estate = parsed
                .validate()
                .map_err(|e| anyhow::anyhow!("{}: {}: {}", file.display(), e.field, e.message))?;
            let store = db.open_store()?;
            let code = estate.facility.code.as_str();
            let (drafts, unchanged) = store
                .estate_changes(&estate, actor)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            let n = drafts.len();
            if n > 0 {
                append_all(db, drafts)?;
            }
            println!(
                "facility {code}: {} units, {} cells; {n} entries recorded, {unchanged} cells unchanged",
                estate.units.len(),
                estate.cells.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        EstateCommand::Certify {
            facility,
            cell,
            cna,
            operational,
            authority,
            reason,
        } => {
            let f = FacilityCode::parse("facility", &facility).map_err(domain)?;
            let c =
                Certification::new(&cell, cna, operational, &authority, &reason).map_err(domain)?;
            let idx = append_all(db, vec![c.to_draft(&f, actor)])?;
            println!(
                "cell {} certified for {cna} (operational {operational}) as entry {}",
                c.cell, idx[0]
            );
            Ok(ExitCode::SUCCESS)
        }
        EstateCommand::Show { facility, format } => {
            let store = db.open_store()?;
            let Some(f) = store
                .facility(&facility)
                .map_err(|e| anyhow::anyhow!("{e}"))?
            else {
                bail!("--facility: there is no facility {facility}");
            };
            let cells = store
                .cells(Some(&facility))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match format {
                Out::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"facility": f, "cells": cells})
                    )?
                ),
                Out::Table => {
                    println!(
                        "{} — {} ({}), local time UTC{}",
                        f.code,
                        f.name,
                        f.country,
                        offset_text(f.utc_offset_minutes)
                    );
                    println!(
                        "{:<10} {:<12} {:>8} {:>6} {:>6} {:>5} {:>6} {:>6} {:>9}  lighting, toilet",
                        "unit",
                        "cell",
                        "area m²",
                        "bunks",
                        "mattr.",
                        "CNA",
                        "oper.",
                        "pop.",
                        "m²/pers."
                    );
                    for c in &cells {
                        println!(
                            "{:<10} {:<12} {:>8.2} {:>6} {:>6} {:>5} {:>6} {:>6} {:>9}  {}, {}",
                            c.unit,
                            c.code,
                            c.area_cm2 as f64 / 10_000.0,
                            c.bunks,
                            c.mattresses.map_or("—".to_owned(), |m| m.to_string()),
                            c.cna,
                            c.operational_capacity,
                            c.population,
                            per_person(c.area_cm2, c.population),
                            c.lighting,
                            match (c.sanitation, c.toilet_private) {
                                (false, _) => "none",
                                (true, Some(true)) => "private",
                                (true, Some(false)) => "open",
                                (true, None) => "in the cell",
                            }
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn per_person(area_cm2: u64, population: u64) -> String {
    if population == 0 {
        "—".into()
    } else {
        format!("{:.2}", area_cm2 as f64 / 10_000.0 / population as f64)
    }
}

pub fn admit(db: &DbArgs, actor: &Actor, json: &std::path::Path) -> Result<ExitCode> {
    let mut text = String::new();
    if json.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(json)
            .with_context(|| format!("cannot read {}", json.display()))?;
    }
    let de = &mut serde_json::Deserializer::from_str(&text);
    let input: AdmissionInput = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        anyhow::anyhow!(
            "admission field {}: {}",
            if path == "." {
                "(document)".into()
            } else {
                path
            },
            e.inner()
        )
    })?;
    let admission = input
        .validate(now())
        .map_err(|e| anyhow::anyhow!("admission field {}: {}", e.field, e.message))?;
    let (store, register) = db.open_writer()?;
    let result = register.append(admission.to_draft(actor));
    register.shutdown();
    let receipt = result.map_err(|e| match e {
        AppendError::Rejected(r) => anyhow::anyhow!(
            "admission field {}: {}",
            r.field.unwrap_or_default(),
            r.message
        ),
        AppendError::Store(e) => anyhow::anyhow!("nothing was recorded: {e}"),
    })?;
    let person = store
        .person_of(receipt.index)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .unwrap_or(receipt.index);
    println!(
        "admitted: booking {} (person {person}) at {} as entry {}",
        receipt.index, admission.facility, receipt.index
    );
    Ok(ExitCode::SUCCESS)
}

pub fn allocate(db: &DbArgs, actor: &Actor, a: AllocateArgs) -> Result<ExitCode> {
    if !a.batch {
        let (Some(booking), Some(cell)) = (a.booking, a.cell.as_deref()) else {
            bail!("--booking and --cell are required (or --batch)");
        };
        let alloc = Allocation::new(
            &a.facility,
            booking,
            cell,
            a.override_reason.as_deref(),
            a.override_authority.as_deref(),
        )
        .and_then(|x| x.with_second_authority(a.override_second_authority.as_deref()))
        .and_then(|x| x.with_at(a.at.as_deref(), now()))
        .map_err(domain)?;
        let idx = append_all(db, vec![alloc.to_draft(actor)])?;
        println!(
            "booking {booking} placed in cell {} as entry {}{}",
            alloc.cell,
            idx[0],
            if alloc.override_.is_some() {
                " (with an override)"
            } else {
                ""
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let facility = FacilityCode::parse("facility", &a.facility).map_err(domain)?;
    let store = db.open_store()?;
    let state = store
        .planning_state(facility.as_str(), Date::of(now()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let p = plan(state.slots, &state.arrivals, &state.apart, &state.located);
    if a.dry_run {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(ExitCode::SUCCESS);
    }
    let (_, register) = db.open_writer()?;
    let bookings: Vec<u64> = p.placed.iter().map(|(booking, _)| *booking).collect();
    let drafts = p
        .placed
        .iter()
        .map(|(booking, cell)| {
            Allocation {
                facility: facility.clone(),
                booking: *booking,
                cell: cell.clone(),
                override_: None,
                second_authority: None,
                at: None,
                transcribed_from: None,
            }
            .to_draft(actor)
        })
        .collect();
    let results = register.append_each(drafts);
    register.shutdown();
    let results = results.map_err(|e| anyhow::anyhow!("nothing more was placed: {e}"))?;
    let mut placed = 0usize;
    let mut refused_now = Vec::new();
    for (booking, r) in bookings.into_iter().zip(results) {
        match r {
            Ok(_) => placed += 1,
            Err(AppendError::Rejected(r)) => refused_now.push((booking, r.message)),
            Err(AppendError::Store(e)) => bail!("stopped after {placed} placements: {e}"),
        }
    }
    println!(
        "placed {placed} of {} people without a cell",
        state.arrivals.len()
    );
    for (booking, why) in p.unplaced.iter().chain(refused_now.iter()) {
        println!("  not placed: booking {booking}: {why}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn non_association(db: &DbArgs, actor: &Actor, c: NonAssociationCommand) -> Result<ExitCode> {
    match c {
        NonAssociationCommand::Add {
            facility,
            a,
            b,
            scope,
            reason,
            authority,
        } => {
            let n = NonAssociation::new(&facility, a, b, &scope, &reason, &authority)
                .map_err(domain)?;
            let idx = append_all(db, vec![n.to_draft(actor)])?;
            println!(
                "bookings {a} and {b} are kept apart ({} scope) from entry {}",
                n.scope.as_str(),
                idx[0]
            );
        }
        NonAssociationCommand::End {
            facility,
            entry,
            reason,
        } => {
            let d = end_non_association(&facility, entry, &reason, actor).map_err(domain)?;
            let idx = append_all(db, vec![d])?;
            println!("non-association {entry} ended by entry {}", idx[0]);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn release(db: &DbArgs, actor: &Actor, r: ReleaseArgs) -> Result<ExitCode> {
    let at = r.at.clone().unwrap_or_else(|| now().to_string());
    let release = Release::new(
        &r.facility,
        r.booking,
        r.reason.as_deref(),
        &r.authority,
        &r.reference,
        &at,
        now(),
        actor,
    )
    .map_err(domain)?;
    let idx = append_all(db, vec![release.to_draft(actor)])?;
    println!(
        "booking {} released ({}) as entry {}",
        r.booking,
        release.reason.as_str(),
        idx[0]
    );
    Ok(ExitCode::SUCCESS)
}

pub fn person(db: &DbArgs, actor: &Actor, c: PersonCommand) -> Result<ExitCode> {
    let (id, booking, format) = match c {
        PersonCommand::Correct { json } => return correct_identity(db, actor, &json),
        PersonCommand::Find {
            name,
            limit,
            format,
        } => return find(db, actor, &name, limit, format),
        PersonCommand::Show {
            id,
            booking,
            format,
        } => (id, booking, format),
    };
    let store = db.open_store()?;
    let person = if booking {
        store
            .person_of(id)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .with_context(|| format!("there is no booking {id}"))?
    } else {
        id
    };
    let Some((file, mut history)) = store
        .person_record(person)
        .map_err(|e| anyhow::anyhow!("{e}"))?
    else {
        bail!("there is no person {person}");
    };
    habeas_core::record::without_images(&mut history);
    // A read of a person's record, in the access log before it is shown.
    let facility = file
        .custodies
        .last()
        .map_or(habeas_web::access::EVERY_FACILITY, |c| c.facility.as_str());
    db.log_access(&[habeas_web::access::Event::Read {
        username: actor.as_str(),
        facility,
        person,
        part: "file",
        purpose: None,
    }])?;
    match format {
        Out::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"person": file, "history": history}))?
        ),
        Out::Table => {
            println!(
                "person {}: {} {} — born {}, {}, {}",
                file.person,
                file.given_names,
                file.surnames,
                file.birth_date,
                file.sex,
                file.nationalities.join(", ")
            );
            // The rest of the identity is in the admission that first recorded the person.
            if let Some(p) = history.first().map(|h| &h["payload"]["person"]) {
                let list = |k: &str| {
                    p[k].as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default()
                };
                let docs: Vec<String> = p["documents"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        format!(
                            "{} {}",
                            d["kind"].as_str().unwrap_or(""),
                            d["number"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                for (label, value) in [
                    ("aliases", list("aliases")),
                    (
                        "self-perceived gender",
                        p["gender"].as_str().unwrap_or("").to_owned(),
                    ),
                    ("documents", docs.join(", ")),
                    ("language", p["language"].as_str().unwrap_or("").to_owned()),
                    ("photo", p["photo"].as_str().unwrap_or("").to_owned()),
                ] {
                    if !value.is_empty() {
                        println!("  {label}: {value}");
                    }
                }
            }
            for c in &file.custodies {
                let state = match (&c.end_reason, &c.cell, c.presence.as_deref()) {
                    (Some(r), _, _) => format!("ended ({r})"),
                    (None, _, Some("away")) => {
                        format!("away ({})", c.away_to.as_deref().unwrap_or(""))
                    }
                    (None, Some(cell), Some("out_of_cell")) => {
                        format!("in cell {cell}, now out of the cell")
                    }
                    (None, Some(cell), _) => format!("in cell {cell}"),
                    (None, None, _) => "not yet in a cell".into(),
                };
                println!(
                    "booking {} at {}: admitted {}, {}, {}",
                    c.booking, c.facility, c.admitted_at, c.legal_status, state
                );
                let today = now().date_string();
                if c.end_reason.is_none() {
                    if let Some(r) = c.release_date.as_deref() {
                        println!(
                            "  release date: {r}{}",
                            if r < today.as_str() {
                                " — PASSED, still held"
                            } else {
                                ""
                            }
                        );
                    }
                    let expiries: Option<Vec<&str>> =
                        c.orders.iter().map(|o| o.expires.as_deref()).collect();
                    if let Some(e) = expiries.and_then(|v| v.into_iter().max()) {
                        if e < today.as_str() && c.release_date.is_none() {
                            println!("  every commitment order has EXPIRED (latest {e}): no valid legal basis");
                        }
                    }
                }
                for o in &c.orders {
                    println!(
                        "  legal basis: {} {} by {} issued {}{}",
                        o.kind,
                        o.reference,
                        o.authority,
                        o.issued,
                        o.expires
                            .as_deref()
                            .map(|e| format!(", expires {e}"))
                            .unwrap_or_default()
                    );
                }
            }
            for h in &history {
                println!(
                    "  #{:<8} {} {} by {}",
                    h["index"],
                    h["time"].as_str().unwrap_or(""),
                    h["kind"].as_str().unwrap_or(""),
                    h["actor"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The unit line of the people held in no cell.
pub const NO_CELL: &str = "(no cell)";

pub fn population(db: &DbArgs, facility: Option<String>, format: Out) -> Result<ExitCode> {
    let store = db.open_store()?;
    let cells = store
        .cells(facility.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    #[derive(serde::Serialize, Default)]
    struct UnitRow {
        facility: String,
        unit: String,
        cells: u64,
        population: u64,
        cna: u64,
        operational_capacity: u64,
        area_cm2: u64,
        over_cna_cells: u64,
    }
    let mut units: Vec<UnitRow> = Vec::new();
    for c in &cells {
        if units
            .last()
            .is_none_or(|u| u.facility != c.facility || u.unit != c.unit)
        {
            units.push(UnitRow {
                facility: c.facility.clone(),
                unit: c.unit.clone(),
                ..UnitRow::default()
            });
        }
        if let Some(u) = units.last_mut() {
            u.cells += 1;
            u.population += c.population;
            u.cna += c.cna;
            u.operational_capacity += c.operational_capacity;
            u.area_cm2 += c.area_cm2;
            u.over_cna_cells += u64::from(c.population > c.cna);
        }
    }
    // The people held in no cell are held all the same: a line of their own, after the
    // facility's units, so that the total is every open custody.
    let heads = store
        .head_counts(facility.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for h in heads.iter().filter(|h| !h.not_in_a_cell.is_empty()) {
        let at = units
            .iter()
            .rposition(|u| u.facility == h.facility)
            .map_or(units.len(), |i| i + 1);
        units.insert(
            at,
            UnitRow {
                facility: h.facility.clone(),
                unit: NO_CELL.to_owned(),
                population: h.not_in_a_cell.len() as u64,
                ..UnitRow::default()
            },
        );
    }
    match format {
        Out::Json => println!("{}", serde_json::to_string_pretty(&units)?),
        Out::Table => {
            println!(
                "{:<10} {:<10} {:>6} {:>8} {:>7} {:>8} {:>10} {:>9} {:>10}",
                "facility",
                "unit",
                "cells",
                "pop.",
                "CNA",
                "oper.",
                "occupancy",
                "m²/pers.",
                "cells>CNA"
            );
            let (mut p, mut c) = (0, 0);
            for u in &units {
                p += u.population;
                c += u.cna;
                println!(
                    "{:<10} {:<10} {:>6} {:>8} {:>7} {:>8} {:>9.0}% {:>9} {:>10}",
                    u.facility,
                    u.unit,
                    u.cells,
                    u.population,
                    u.cna,
                    u.operational_capacity,
                    if u.cna == 0 {
                        0.0
                    } else {
                        100.0 * u.population as f64 / u.cna as f64
                    },
                    per_person(u.area_cm2, u.population),
                    u.over_cna_cells
                );
            }
            let in_no_cell: usize = heads.iter().map(|h| h.not_in_a_cell.len()).sum();
            println!(
                "total: {p} people held ({} in cells, {in_no_cell} in no cell) for a certified normal accommodation of {c}",
                p - in_no_cell as u64
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct MoveArgs {
    #[arg(long)]
    facility: String,
    /// out_of_cell, back_to_cell, out (of the facility) or return
    #[arg(long)]
    kind: String,
    /// One or more bookings (repeat the flag)…
    #[arg(long = "booking")]
    bookings: Vec<u64>,
    /// …or everyone recorded in a cell.
    #[arg(long)]
    cell: Option<String>,
    /// For out_of_cell: in the open air (Rule 23) rather than indoors.
    #[arg(long)]
    open_air: bool,
    /// For out: court, hospital or temporary_absence.
    #[arg(long)]
    destination: Option<String>,
    /// When [default: now].
    #[arg(long)]
    at: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum CountCommand {
    /// Record a roll count: CELL=NUMBER for each cell counted; prints the reconciliation.
    Record {
        #[arg(long)]
        facility: String,
        #[arg(required = true)]
        cells: Vec<String>,
        #[arg(long)]
        at: Option<String>,
    },
    /// The counts of a day, reconciled, and the cells not counted.
    Report {
        #[arg(long)]
        facility: String,
        /// YYYY-MM-DD [default: today].
        #[arg(long)]
        date: Option<String>,
        #[arg(long, value_enum, default_value_t = Out::Table)]
        format: Out,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum DeathCommand {
    /// Record a death in custody; opens a death case.
    Record {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        booking: u64,
        #[arg(long)]
        at: String,
        #[arg(long)]
        place: String,
        #[arg(long)]
        circumstances: String,
        #[arg(long)]
        violent: bool,
    },
    /// Record a step of a death case: family_informed, independent_authority_informed,
    /// investigation_opened, post_mortem, remains_returned.
    Step {
        #[arg(long)]
        facility: String,
        /// The death entry that opened the case.
        #[arg(long)]
        case: u64,
        #[arg(long)]
        step: String,
        #[arg(long)]
        detail: String,
        #[arg(long)]
        at: Option<String>,
    },
    /// Deaths in custody and their steps (pending steps are shown as such).
    List {
        #[arg(long)]
        facility: Option<String>,
        #[arg(long, value_enum, default_value_t = Out::Table)]
        format: Out,
    },
}

/// Serious injuries, serious illnesses and transfers to a health institution (Rules 69 and
/// 71(1)): recorded with `habeas record` (`serious_harm`, `harm_step`), listed here.
#[derive(Debug, clap::Subcommand)]
pub enum HarmCommand {
    /// List the cases, their steps and what is still pending.
    List {
        #[arg(long)]
        facility: Option<String>,
        #[arg(long, value_enum, default_value_t = Out::Table)]
        format: Out,
    },
}

#[derive(Debug, clap::Args)]
pub struct TransferArgs {
    #[arg(long)]
    facility: String,
    #[arg(long)]
    booking: u64,
    /// The facility of the system the person goes to.
    #[arg(long)]
    to: String,
    #[arg(long)]
    authority: String,
    #[arg(long)]
    reference: String,
    #[arg(long)]
    at: Option<String>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path, what: &str) -> Result<T> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        anyhow::anyhow!(
            "{what} field {}: {}",
            if path == "." {
                "(document)".into()
            } else {
                path
            },
            e.inner()
        )
    })
}

fn json_field(what: &str) -> impl Fn(DomainError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what} field {}: {}", e.field, e.message)
}

pub fn movement(db: &DbArgs, actor: &Actor, m: MoveArgs) -> Result<ExitCode> {
    let at = m.at.clone().unwrap_or_else(|| now().to_string());
    let mv = habeas_core::events::Movement::new(
        &m.facility,
        &m.kind,
        &m.bookings,
        m.cell.as_deref(),
        m.open_air,
        m.destination.as_deref(),
        &at,
        now(),
    )
    .map_err(domain)?;
    let idx = append_all(db, vec![mv.to_draft(actor)])?;
    println!("movement {} recorded as entry {}", mv.kind.as_str(), idx[0]);
    Ok(ExitCode::SUCCESS)
}

pub fn count(db: &DbArgs, actor: &Actor, c: CountCommand) -> Result<ExitCode> {
    match c {
        CountCommand::Record {
            facility,
            cells,
            at,
        } => {
            let mut parsed = Vec::new();
            for c in &cells {
                let Some((cell, n)) = c.split_once('=') else {
                    bail!("--cell: {c:?} is not CELL=NUMBER or CELL=@BOOKING,BOOKING…");
                };
                let n = n.trim();
                let count = if let Some(list) = n.strip_prefix('@') {
                    let present: Vec<u64> = list
                        .split(',')
                        .filter(|x| !x.trim().is_empty())
                        .map(|x| x.trim().parse::<u64>())
                        .collect::<Result<_, _>>()
                        .map_err(|_| {
                            anyhow::anyhow!("--cell: {c:?}: the bookings are not whole numbers")
                        })?;
                    habeas_core::events::CellCount {
                        cell: cell.trim().to_owned(),
                        counted: present.len() as u32,
                        present: Some(present),
                    }
                } else {
                    let counted: u32 = n.parse().map_err(|_| {
                        anyhow::anyhow!("--cell: {c:?}: the number counted is not a whole number")
                    })?;
                    habeas_core::events::CellCount {
                        cell: cell.trim().to_owned(),
                        counted,
                        present: None,
                    }
                };
                parsed.push(count);
            }
            let at = at.unwrap_or_else(|| now().to_string());
            let count = habeas_core::events::RollCount::new(&facility, &at, &parsed, now())
                .map_err(domain)?;
            let idx = append_all(db, vec![count.to_draft(actor)])?;
            let report = db
                .open_store()?
                .count_report(&facility, &count.at.date_string())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("count recorded as entry {}", idx[0]);
            for l in report.lines.iter().filter(|l| l.idx == idx[0]) {
                println!(
                    "  {:<12} counted {:>5}, recorded {:>5}{}",
                    l.cell,
                    l.counted,
                    l.expected,
                    discrepancy(l.counted, l.expected)
                );
                print_people(l);
            }
        }
        CountCommand::Report {
            facility,
            date,
            format,
        } => {
            let store = db.open_store()?;
            let date = match date {
                Some(d) => {
                    Date::parse("date", &d).map_err(domain)?;
                    d
                }
                None => crate::open::default_day(&store, "--date")?.to_string(),
            };
            let report = store
                .count_report(&facility, &date)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match format {
                Out::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Out::Table => {
                    println!("roll counts at {facility} on {date}");
                    for l in &report.lines {
                        println!(
                            "  #{:<8} {} {:<12} counted {:>5}, recorded {:>5}{}",
                            l.idx,
                            l.at,
                            l.cell,
                            l.counted,
                            l.expected,
                            discrepancy(l.counted, l.expected)
                        );
                        print_people(l);
                    }
                    println!(
                        "cells not counted: {}",
                        if report.not_counted.is_empty() {
                            "none".into()
                        } else {
                            report.not_counted.join(", ")
                        }
                    );
                    if let Some(h) = &report.head_count {
                        print_head_count(h);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The facility's total reconciled against its open custodies, and the people no cell's count
/// can find.
fn print_head_count(h: &habeas_store_sqlite::HeadCount) {
    println!(
        "held now: {} = {} in cells + {} in no cell",
        h.held,
        h.in_cells,
        h.not_in_a_cell.len()
    );
    if h.unreconciled != 0 {
        println!(
            "UNRECONCILED: {} custodies are neither in a cell's population nor in no cell; run habeas verify",
            h.unreconciled
        );
    }
    const SHOWN: usize = 20;
    for u in h.not_in_a_cell.iter().take(SHOWN) {
        println!(
            "  in no cell: booking {} (person {}), admitted {}{}",
            u.booking,
            u.person,
            u.admitted_at,
            if u.presence.as_deref() == Some("away") {
                ", away"
            } else {
                ""
            }
        );
    }
    if h.not_in_a_cell.len() > SHOWN {
        println!(
            "  and {} more in no cell (--format json lists them all)",
            h.not_in_a_cell.len() - SHOWN
        );
    }
}

fn print_people(l: &habeas_store_sqlite::CountLine) {
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    if !l.missing.is_empty() {
        println!(
            "      missing (recorded here, not found): {}",
            list(&l.missing)
        );
    }
    if !l.extra.is_empty() {
        println!(
            "      extra (found here, recorded elsewhere): {}",
            list(&l.extra)
        );
    }
}

fn discrepancy(counted: u64, expected: u64) -> String {
    match counted.cmp(&expected) {
        std::cmp::Ordering::Equal => String::new(),
        std::cmp::Ordering::Less => format!("  MISSING {}", expected - counted),
        std::cmp::Ordering::Greater => format!("  EXTRA {}", counted - expected),
    }
}

pub fn order(db: &DbArgs, actor: &Actor, json: &std::path::Path) -> Result<ExitCode> {
    let input: habeas_core::events::OrderInput = read_json(json, "order")?;
    let draft = input.validate(now(), actor).map_err(json_field("order"))?;
    let idx = append_all(db, vec![draft]).map_err(|e| anyhow::anyhow!("order {e}"))?;
    println!(
        "order recorded for booking {} as entry {}",
        input.booking, idx[0]
    );
    Ok(ExitCode::SUCCESS)
}

pub fn agreement(db: &DbArgs, actor: &Actor, json: &std::path::Path) -> Result<ExitCode> {
    let input: habeas_core::events::AgreementInput = read_json(json, "agreement")?;
    let draft = input.validate(actor).map_err(json_field("agreement"))?;
    let idx = append_all(db, vec![draft])?;
    println!(
        "custody agreement {} with {} recorded as entry {}",
        input.reference, input.counterpart, idx[0]
    );
    Ok(ExitCode::SUCCESS)
}

pub fn transfer(db: &DbArgs, actor: &Actor, t: TransferArgs) -> Result<ExitCode> {
    let at = t.at.clone().unwrap_or_else(|| now().to_string());
    let tr = habeas_core::events::Transfer::new(
        &t.facility,
        t.booking,
        &t.to,
        &t.authority,
        &t.reference,
        &at,
        now(),
    )
    .map_err(domain)?;
    let idx = append_all(db, vec![tr.to_draft(actor)])?;
    println!(
        "booking {} transferred to {}: new booking {} (entry {})",
        t.booking, tr.to, idx[0], idx[0]
    );
    Ok(ExitCode::SUCCESS)
}

/// The cases `read` gives for a facility (or every facility), logged as a list naming as many
/// people before they are shown.
fn listed<T>(
    db: &DbArgs,
    actor: &Actor,
    facility: Option<&str>,
    what: &str,
    read: impl FnOnce(
        &habeas_store_sqlite::SqliteStore,
        Option<&str>,
    ) -> std::result::Result<Vec<T>, habeas_register::store::StoreError>,
) -> Result<Vec<T>> {
    let cases = read(&db.open_store()?, facility).map_err(|e| anyhow::anyhow!("{e}"))?;
    db.log_access(&[habeas_web::access::Event::Listed {
        username: actor.as_str(),
        facility: facility.unwrap_or(habeas_web::access::EVERY_FACILITY),
        what,
        query: None,
        people: cases.len() as u64,
    }])?;
    Ok(cases)
}

pub fn harm(db: &DbArgs, actor: &Actor, c: HarmCommand) -> Result<ExitCode> {
    let HarmCommand::List { facility, format } = c;
    let cases = listed(db, actor, facility.as_deref(), "serious harms", |s, f| {
        s.harm_cases(f)
    })?;
    match format {
        Out::Json => println!("{}", serde_json::to_string_pretty(&cases)?),
        Out::Table => {
            for c in &cases {
                println!(
                    "case {} — booking {} at {}, {} {}",
                    c.case,
                    c.booking,
                    c.facility,
                    c.kind.replace('_', " "),
                    c.at
                );
                for s in &c.steps {
                    println!("    {:<32} {} (written {})", s.step, s.at, s.recorded_at);
                }
                for p in &c.pending {
                    println!("    {p:<32} PENDING");
                }
                if let Some(b) = c.recaptured {
                    println!("    recaptured: booking {b}");
                }
            }
            if cases.is_empty() {
                println!("(no serious injury, illness, hospital transfer or escape recorded)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn death(db: &DbArgs, actor: &Actor, c: DeathCommand) -> Result<ExitCode> {
    match c {
        DeathCommand::Record {
            facility,
            booking,
            at,
            place,
            circumstances,
            violent,
        } => {
            let d = habeas_core::events::Death::new(
                &facility,
                booking,
                &at,
                &place,
                &circumstances,
                violent,
                now(),
            )
            .map_err(domain)?;
            let idx = append_all(db, vec![d.to_draft(actor)])?;
            println!(
                "death of booking {booking} recorded as entry {}; death case {} opened with 5 pending steps",
                idx[0], idx[0]
            );
        }
        DeathCommand::Step {
            facility,
            case,
            step,
            detail,
            at,
        } => {
            let at = at.unwrap_or_else(|| now().to_string());
            let d =
                habeas_core::events::death_step(&facility, case, &step, &at, &detail, now(), actor)
                    .map_err(domain)?;
            let idx = append_all(db, vec![d])?;
            println!("death case {case}: {step} recorded as entry {}", idx[0]);
        }
        DeathCommand::List { facility, format } => {
            let cases = listed(db, actor, facility.as_deref(), "deaths", |s, f| {
                s.death_cases(f)
            })?;
            match format {
                Out::Json => println!("{}", serde_json::to_string_pretty(&cases)?),
                Out::Table => {
                    for c in &cases {
                        println!(
                            "case {} — booking {} at {}, died {}{}",
                            c.case,
                            c.booking,
                            c.facility,
                            c.at,
                            if c.violent { " (violent)" } else { "" }
                        );
                        for (step, done) in &c.steps {
                            println!("    {:<32} {}", step, done.as_deref().unwrap_or("PENDING"));
                        }
                    }
                    if cases.is_empty() {
                        println!("(no deaths in custody recorded)");
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn find(db: &DbArgs, actor: &Actor, name: &str, limit: u32, format: Out) -> Result<ExitCode> {
    let words: Vec<String> = habeas_core::ids::search_key(name)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    if words.is_empty() {
        bail!("--name: give at least one word of the name");
    }
    let found = db
        .open_store()?
        .find_people(&words, limit.clamp(1, 1000))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // A search names people: in the access log, with its words, before it is shown.
    db.log_access(&[habeas_web::access::Event::Listed {
        username: actor.as_str(),
        facility: habeas_web::access::EVERY_FACILITY,
        what: "person search",
        query: Some(&words.join(" ")),
        people: found.len() as u64,
    }])?;
    match format {
        Out::Json => println!("{}", serde_json::to_string_pretty(&found)?),
        Out::Table => {
            for p in &found {
                println!(
                    "person {:<8} {} {} — born {}",
                    p.person, p.given_names, p.surnames, p.birth_date
                );
            }
            if found.is_empty() {
                println!("(nobody found)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn record(db: &DbArgs, actor: &Actor, json: &std::path::Path) -> Result<ExitCode> {
    let input: habeas_core::record::RecordInput = read_json(json, "record")?;
    let draft = input.validate(now(), actor).map_err(json_field("record"))?;
    let kind = draft.kind.clone();
    let (_, register) = db.open_writer()?;
    let result = register.append(draft);
    register.shutdown();
    let receipt = result.map_err(|e| match e {
        AppendError::Rejected(r) => anyhow::anyhow!(
            "record field {}: {}",
            r.field.unwrap_or_default(),
            r.message
        ),
        AppendError::Store(e) => anyhow::anyhow!("nothing was recorded: {e}"),
    })?;
    println!("{kind} recorded as entry {}", receipt.index);
    Ok(ExitCode::SUCCESS)
}

pub fn correct_identity(db: &DbArgs, actor: &Actor, json: &std::path::Path) -> Result<ExitCode> {
    let input: habeas_core::events::IdentityCorrection = read_json(json, "correction")?;
    let draft = input
        .validate(now(), actor)
        .map_err(json_field("correction"))?;
    let idx = append_all(db, vec![draft])?;
    println!(
        "identity of person {} corrected by entry {}",
        input.person, idx[0]
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Subcommand)]
pub enum EnvironmentCommand {
    /// One reading, entered by hand.
    Add {
        #[arg(long)]
        facility: String,
        /// A cell, or a unit.
        #[arg(long)]
        place: String,
        /// Degrees Celsius.
        #[arg(long)]
        temperature_c: Option<String>,
        /// Relative humidity in %, 0 to 100 (with a temperature it gives the heat index).
        #[arg(long)]
        humidity_pct: Option<String>,
        /// on or off
        #[arg(long)]
        lighting: Option<String>,
        /// on or off
        #[arg(long)]
        ventilation: Option<String>,
        #[arg(long)]
        at: Option<String>,
    },
    /// Readings from sensors, as CSV with the header at,place,temperature_c,lighting,ventilation
    /// (and optionally humidity_pct). The whole file is checked first: a bad line is named and
    /// nothing is written.
    Import {
        #[arg(long)]
        facility: String,
        file: PathBuf,
    },
}

pub fn environment(db: &DbArgs, actor: &Actor, c: EnvironmentCommand) -> Result<ExitCode> {
    match c {
        EnvironmentCommand::Add {
            facility,
            place,
            temperature_c,
            humidity_pct,
            lighting,
            ventilation,
            at,
        } => {
            let at = at.unwrap_or_else(|| now().to_string());
            let measured = habeas_core::environment::Measured {
                temperature_c: temperature_c.as_deref(),
                humidity_pct: humidity_pct.as_deref(),
                lighting: lighting.as_deref(),
                ventilation: ventilation.as_deref(),
            };
            let r = habeas_core::environment::Reading::new(&facility, &place, &at, measured, now())
                .map_err(domain)?;
            let idx = append_all(db, vec![r.to_draft(actor)])?;
            println!("reading recorded as entry {}", idx[0]);
        }
        EnvironmentCommand::Import { facility, file } => {
            let n = import_readings(db, actor, &facility, &file, true)?;
            println!("{n} readings imported from {}", file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks every line of the CSV, then appends the readings in batches with a progress bar.
/// Returns how many were recorded.
pub fn import_readings(
    db: &DbArgs,
    actor: &Actor,
    facility: &str,
    file: &std::path::Path,
    progress: bool,
) -> Result<u64> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let readings: Vec<habeas_core::environment::Reading> =
        habeas_core::environment::readings_from_csv(facility, std::io::BufReader::new(f), now())
            .collect::<Result<_, _>>()
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: {}: {} (nothing was imported)",
                    file.display(),
                    e.field,
                    e.message
                )
            })?;
    let store = db.open_store()?;
    let mut places: std::collections::HashSet<String> = store
        .cells(Some(facility))
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .map(|c| c.code)
        .collect();
    if let Some(fac) = store
        .facility(facility)
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        places.extend(fac.units.into_iter().map(|(code, _)| code));
    }
    if let Some((i, r)) = readings
        .iter()
        .enumerate()
        .find(|(_, r)| !places.contains(&r.place))
    {
        bail!(
            "{}: line {}: place {} is not a cell or unit of {facility} (nothing was imported)",
            file.display(),
            i + 2,
            r.place
        );
    }
    let (_, writer) = db.open_writer()?;
    let register = match writer {
        crate::open::Writer::Local(register) => register,
        crate::open::Writer::Server(server) => {
            // Through the running server: a chunk at a time, each all or nothing.
            let mut done = 0u64;
            for chunk in readings.chunks(1000) {
                let drafts: Vec<_> = chunk.iter().map(|r| r.to_draft(actor)).collect();
                server
                    .append_all(&drafts)
                    .map_err(|e| anyhow::anyhow!("stopped after {done} readings: {e}"))?;
                done += chunk.len() as u64;
            }
            return Ok(done);
        }
    };
    let bar = if progress {
        indicatif::ProgressBar::new(readings.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("importing [{bar:40}] {pos}/{len} {per_sec} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut in_flight = std::collections::VecDeque::new();
    let mut done = 0u64;
    let mut failure = None;
    for chunk in readings.chunks(1000) {
        in_flight.push_back((
            chunk.len() as u64,
            register.submit(chunk.iter().map(|r| r.to_draft(actor)).collect()),
        ));
        if in_flight.len() >= 4 {
            if let Some((n, p)) = in_flight.pop_front() {
                match p.wait() {
                    Ok(_) => {
                        done += n;
                        bar.set_position(done);
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
    }
    for (n, p) in in_flight {
        match p.wait() {
            Ok(_) => done += n,
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    bar.finish_and_clear();
    register.shutdown();
    if let Some(e) = failure {
        bail!("stopped after {done} readings: {e}");
    }
    Ok(done)
}
