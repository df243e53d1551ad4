//! `habeas bench import`: a legacy population imported from CSV (`habeas import population`:
//! every row checked, then admitted and placed) against bare inserts of the same entries'
//! bytes, on SQLite or, with a PostgreSQL `--db`, onto PostgreSQL through a replica.

use crate::bench::{fresh_at, report, settle, Figure, Place};
use crate::population::{import_with, PopulationArgs};
use crate::system::Stopwatch;
use anyhow::{Context as _, Result};
use habeas_register::store::Store;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub const IMPORT_BASELINE: &str = "import.population: bare inserts of the same entries' bytes (admissions and placements), same batch, same durability (SQLite WAL synchronous=FULL, or PostgreSQL synchronous_commit=on), measured on up to 400,000 of them";

#[derive(Debug, Clone, clap::Args)]
pub struct ImportBenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// People in the file.
    #[arg(long, default_value_t = 110_000)]
    people: usize,
    /// Entries per request to the writer (and per transaction of the baseline).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where the files go [default: a new directory under the system's temporary one].
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl ImportBenchArgs {
    pub fn defaults(runs: usize) -> Self {
        Self {
            json: None,
            people: 110_000,
            batch: 1000,
            runs,
            dir: None,
        }
    }
}

/// People per cell of the benchmark's estate, and cells per unit.
const PER_CELL: usize = 200;
const CELLS_PER_UNIT: usize = 32;

/// An estate with room for `people`: units of 32 cells of 200 places.
pub(crate) fn estate(people: usize) -> Result<habeas_core::estate::Estate> {
    use habeas_core::estate::{
        CellKind, CellTemplate, EstateFile, FacilityInput, Lighting, UnitInput, Ventilation,
    };
    let units = people.div_ceil(PER_CELL * CELLS_PER_UNIT).max(1);
    EstateFile {
        facility: FacilityInput {
            code: "SISTEMA".into(),
            name: "Sistema penitenciario (importación)".into(),
            country: "SV".into(),
            juvenile: false,
        },
        units: (1..=units)
            .map(|m| UnitInput {
                code: format!("U{m}"),
                name: format!("Unidad {m}"),
                cell_count: CELLS_PER_UNIT as u32,
                cell_template: Some(CellTemplate {
                    area_m2: 400.0,
                    bunks: PER_CELL as u32,
                    cna: PER_CELL as u32,
                    operational_capacity: PER_CELL as u32,
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
    .map_err(|e| anyhow::anyhow!("{e}"))
}

/// A people file of `n` rows in Habeas's columns: unique documents, placed round-robin over
/// the estate's cells, untried and convicted in units of their own (Rule 11(b)).
pub(crate) fn write_people(path: &Path, n: usize, cells: &[(String, bool)]) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(
        w,
        "ref,given_names,surname_1,surname_2,birth_date,sex,nationalities,document_kind,document_number,legal_status,admitted_at,order_kind,order_authority,order_reference,order_issued,order_expires,cell"
    )?;
    // Names as the demo draws them (Salvadoran given names and surnames by their frequency).
    let mut names = habeas_demo::salvadoran_names(2024);
    for i in 0..n {
        let (given, surnames) = names.next().unwrap_or_default();
        let (cell, convicted) = &cells[i % cells.len()];
        let year = 2015 + i % 9;
        let (status, kind, expires) = if *convicted {
            ("sentenced", "sentence", format!("{}-01-01", year + 20))
        } else {
            ("remand", "pretrial_detention", "2030-01-01".to_owned())
        };
        writeln!(
            w,
            "EXP-{i:07},{given},{},{},{}-{:02}-{:02},male,SV,DUI,{:08}-{},{status},{year}-{:02}-{:02},{kind},Juzgado Especializado de Instrucción {},{i}-{year},{year}-{:02}-{:02},{expires},{cell}",
            surnames.first().map_or("", String::as_str),
            surnames.get(1).map_or("", String::as_str),
            1960 + (i / 7) % 45,
            1 + (i / 3) % 12,
            1 + (i / 11) % 28,
            i,
            i % 10,
            1 + (i / 7) % 12,
            2 + i % 26,
            ["A", "B", "C", "D"][i % 4],
            1 + (i / 7) % 12,
            1 + i % 26,
        )?;
    }
    w.flush()?;
    Ok(())
}

/// The estate's cells, each with whether its unit holds convicted people (even units).
pub(crate) fn cells_of(estate: &habeas_core::estate::Estate) -> Vec<(String, bool)> {
    estate
        .cells
        .iter()
        .map(|c| {
            let unit: usize = c.unit.trim_start_matches('U').parse().unwrap_or(0);
            (c.code.clone(), unit.is_multiple_of(2))
        })
        .collect()
}

/// `habeas bench import`.
pub fn import(args: &ImportBenchArgs, postgres: Option<&str>) -> Result<ExitCode> {
    let figures = import_figures(args, postgres)?;
    report(&figures, args.json.as_deref(), &[IMPORT_BASELINE])
}

pub(crate) fn import_figures(
    args: &ImportBenchArgs,
    postgres: Option<&str>,
) -> Result<Vec<Figure>> {
    use habeas_core::ids::Actor;
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("habeas-bench-import-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let actor = Actor::parse("actor", "bench").map_err(|e| anyhow::anyhow!("{e}"))?;
    let estate = estate(args.people)?;
    let cells = cells_of(&estate);
    let people = dir.join("people.csv");
    let clock = Stopwatch::start();
    write_people(&people, args.people, &cells)?;
    let size = std::fs::metadata(&people).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "habeas bench import: {} people ({:.0} MB of CSV, written in {:.1} s) into {} cells, batches of {}, {} runs{}",
        args.people,
        size as f64 / 1e6,
        clock.secs(),
        cells.len(),
        args.batch,
        args.runs.max(1),
        if postgres.is_some() { ", onto PostgreSQL through a replica" } else { "" }
    );
    // The import says how long each phase took (and draws its bars on a terminal).
    let progress = true;
    let mut samples = Vec::new();
    for run in 0..args.runs.max(1) {
        let place = match postgres {
            Some(base) => Place::Postgres(base),
            None => Place::Dir(&dir),
        };
        let f = fresh_at(
            place,
            &dir,
            &format!("import-{run}.db"),
            habeas_register::writer::WriterConfig {
                max_batch: args.batch,
                ..habeas_register::writer::WriterConfig::default()
            },
        )?;
        let mut setup = vec![estate.facility.to_draft(&actor)];
        setup.extend(
            estate
                .units
                .iter()
                .map(|u| u.to_draft(&estate.facility.code, &actor)),
        );
        setup.extend(
            estate
                .cells
                .iter()
                .map(|c| c.to_draft(&estate.facility.code, &actor)),
        );
        let first = setup.len() as u64;
        for chunk in setup.chunks(5000) {
            f.register
                .append_all(chunk.to_vec())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let pargs = PopulationArgs {
            facility: Some(estate.facility.code.to_string()),
            people: Some(people.clone()),
            orders: None,
            placements: None,
            mapping: None,
            accept_valid: false,
            report: Some(dir.join(format!("report-{run}.csv"))),
            source: None,
            batch: args.batch,
            template: None,
        };
        settle();
        let clock = Stopwatch::start();
        let register = f.register.clone();
        let totals = import_with(
            &f.store,
            move || Ok(crate::open::Writer::Local(register)),
            &actor,
            &pargs,
            progress,
        )?;
        let secs = clock.secs();
        let peak = crate::bench_signin::status_mib("VmHWM:");
        if !totals.written
            || totals.admitted != args.people as u64
            || totals.placed != args.people as u64
        {
            anyhow::bail!(
                "the import did not take everyone in: {totals:?} (see {})",
                dir.join(format!("report-{run}.csv")).display()
            );
        }
        let entries = totals.admitted + totals.placed;
        let rate = entries as f64 / secs;
        // The baseline: the same entries' bytes (up to 400,000 of them), bare.
        let mut bytes = Vec::new();
        f.store
            .scan(first, &mut |row| {
                bytes.push(row.bytes.to_vec());
                Ok(bytes.len() < 400_000)
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        settle();
        let base = match postgres {
            Some(base) => crate::bench::bare_postgres(base, &bytes, args.batch)?,
            None => {
                crate::bench::bare_inserts(&dir.join(format!("bare-{run}.db")), &bytes, args.batch)?
            }
        };
        drop(bytes);
        eprintln!(
            "  run {}: {} people in {:.1} s ({:.0} entries/s against {:.0} bare: {:.2}); peak resident memory so far {:.0} MiB",
            run + 1,
            args.people,
            secs,
            rate,
            base,
            rate / base,
            peak
        );
        samples.push((rate, base));
        drop(f);
        if args.dir.is_none() {
            for suffix in ["", "-wal", "-shm", ".lock"] {
                let _ = std::fs::remove_file(dir.join(format!("import-{run}.db{suffix}")));
                let _ = std::fs::remove_file(dir.join(format!("bare-{run}.db{suffix}")));
            }
        }
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let name = if postgres.is_some() {
        "postgres.import.population"
    } else {
        "import.population"
    };
    Ok(vec![crate::bench::figure(name, "entries/s", 0.5, &samples)])
}
