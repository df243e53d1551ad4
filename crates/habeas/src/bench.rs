//! `habeas bench register`: the register's figures from docs/benchmarks.md, each a ratio to a
//! baseline measured in the same run on the same machine.

use crate::system::{OsEntropy, Stopwatch, SystemClock};
use anyhow::{Context, Result};
use habeas_core::logbook::NewNote;
use habeas_register::note::Signer;
use habeas_register::store::LogSink;
use habeas_register::store::{RegisterInfo, Store};
use habeas_register::time::Clock;
use habeas_register::verify::verify;
use habeas_register::writer::{Register, WriterConfig, WriterParts};
use habeas_register::{Draft, Timestamp};
use habeas_store_postgres::testing::ScratchSchema;
use habeas_store_postgres::PostgresStore;
use habeas_store_sqlite::SqliteStore;
use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Clone, clap::Args)]
pub struct RegisterBenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Entries in the bulk-append and verification runs.
    #[arg(long, default_value_t = 50_000)]
    entries: usize,
    /// Entries per transaction in the bulk runs (the same for register and baseline).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Concurrent appending threads.
    #[arg(long, default_value_t = 64)]
    threads: usize,
    /// Appends per thread in the concurrency runs.
    #[arg(long, default_value_t = 30)]
    per_thread: usize,
    /// Repetitions of each measurement (the median is reported, with the spread).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Scratch directory [default: a new directory under the system's temporary directory].
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Figure {
    name: String,
    value: f64,
    unit: String,
    baseline: f64,
    ratio: f64,
    target: f64,
    pass: bool,
    ratio_min: f64,
    ratio_max: f64,
    runs: Vec<f64>,
    /// Latency at a fixed request rate, where the bar sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    latency: Option<Latency>,
}

/// Latency measured open-loop at a fixed rate (half the closed-loop maximum), from each
/// request's intended start.
#[derive(Debug, Serialize)]
pub(crate) struct Latency {
    /// Each run's median and 99th percentile, in milliseconds.
    p50_ms: Vec<f64>,
    p99_ms: Vec<f64>,
    /// The median over the runs of their 99th percentiles.
    p99_median_ms: f64,
    /// The bar: the median p99 under this.
    p99_target_ms: f64,
    pass: bool,
}

impl Figure {
    /// Adds a latency bar (each run's (p50, p99) in milliseconds): the figure passes only if
    /// its ratio does and the median p99 is under `target_ms`.
    pub(crate) fn with_p99(mut self, runs: &[(f64, f64)], target_ms: f64) -> Self {
        let p50_ms: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let p99_ms: Vec<f64> = runs.iter().map(|r| r.1).collect();
        let p99_median_ms = median(&mut p99_ms.clone());
        let pass = p99_median_ms < target_ms;
        self.pass &= pass;
        self.latency = Some(Latency {
            p50_ms,
            p99_ms,
            p99_median_ms,
            p99_target_ms: target_ms,
            pass,
        });
        self
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub(crate) fn figure(name: &str, unit: &str, target: f64, samples: &[(f64, f64)]) -> Figure {
    let mut values: Vec<f64> = samples.iter().map(|s| s.0).collect();
    let mut bases: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let runs: Vec<f64> = samples.iter().map(|(v, b)| v / b).collect();
    let mut sorted = runs.clone();
    let ratio = median(&mut sorted);
    Figure {
        name: name.into(),
        value: median(&mut values),
        unit: unit.into(),
        baseline: median(&mut bases),
        ratio,
        target,
        pass: ratio >= target,
        ratio_min: sorted.first().copied().unwrap_or(0.0),
        ratio_max: sorted.last().copied().unwrap_or(0.0),
        runs,
        latency: None,
    }
}

const PLACES: [&str; 8] = [
    "Pabellón 1",
    "Pabellón 2",
    "Pabellón 3",
    "Pabellón 4",
    "Pabellón 5",
    "Pabellón 6",
    "Pabellón 7",
    "Pabellón 8",
];

/// Realistic occurrence-book notes (about 300 bytes per entry).
fn drafts(n: usize, seed: usize) -> Result<Vec<Draft>> {
    (0..n)
        .map(|i| {
            let k = i + seed * 1_000_003;
            NewNote {
                facility: "CECOT".into(),
                actor: format!("custodia.{:03}", k % 97),
                text: format!(
                    "Recuento de las {:02}:00 en la celda {}: {} personas presentes, {} en audiencia virtual, sin novedad.",
                    k % 24,
                    k % 32 + 1,
                    80 + k % 77,
                    k % 5
                ),
                place: Some(PLACES[k % PLACES.len()].into()),
                corrects: None,
            }
            .validate()
            .map(|n| n.to_draft())
            .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect()
}

pub(crate) struct Fresh {
    /// The SQLite store, or on PostgreSQL the replica, whose projections are read.
    pub(crate) store: Arc<SqliteStore>,
    pub(crate) register: Register,
    signer_verifier: habeas_register::note::VerifierKey,
    /// On PostgreSQL, the register there and its scratch schema (dropped with this).
    pub(crate) postgres: Option<(PostgresStore, ScratchSchema)>,
}

fn fresh(dir: &Path, name: &str, config: WriterConfig) -> Result<Fresh> {
    fresh_at(Place::Dir(dir), dir, name, config)
}

/// A new register named `name` (its origin `habeas.bench/<name>`): a SQLite file in `dir`, or
/// a scratch schema of a PostgreSQL database written through a replica in `dir`.
pub(crate) fn fresh_at(
    place: Place<'_>,
    dir: &Path,
    name: &str,
    config: WriterConfig,
) -> Result<Fresh> {
    let path = dir.join(name);
    let signer =
        Signer::from_seed("habeas.bench/register", [3; 32]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let info = RegisterInfo {
        origin: "habeas.bench/register".into(),
        verifier: signer.verifier(),
    };
    let verifier = signer.verifier();
    let (store, sink, postgres): (Arc<SqliteStore>, Box<dyn LogSink>, _) = match place {
        Place::Dir(_) => {
            let store =
                Arc::new(SqliteStore::create(&path, &info).map_err(|e| anyhow::anyhow!("{e}"))?);
            let sink = store.sink().map_err(|e| anyhow::anyhow!("{e}"))?;
            (store, Box::new(sink), None)
        }
        Place::Postgres(base) => {
            let schema = ScratchSchema::in_database(base, "habeas_bench")
                .map_err(|e| anyhow::anyhow!("--db: {e}"))?;
            let primary =
                PostgresStore::create(&schema.url(), &info).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (store, sink) = crate::replica::writer(
                &primary,
                &path,
                Some(std::time::Duration::ZERO),
                "habeas bench",
            )?;
            (store, sink, Some((primary, schema)))
        }
    };
    let register = Register::start(WriterParts {
        sink,
        store: store.clone(),
        signer,
        clock: Arc::new(SystemClock),
        entropy: Arc::new(OsEntropy::default()),
        config,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Fresh {
        store,
        register,
        signer_verifier: verifier,
        postgres,
    })
}

/// Where the register benchmark runs: SQLite files in a scratch directory, or scratch schemas
/// of a PostgreSQL database (dropped afterwards).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place<'a> {
    Dir(&'a Path),
    Postgres(&'a str),
}

/// A new register for the register benchmark, on either backend.
struct RegisterFresh {
    store: Arc<dyn Store>,
    register: Register,
    verifier: habeas_register::note::VerifierKey,
    /// Where a PostgreSQL run's tables are (the schema goes when this does).
    schema: Option<ScratchSchema>,
}

fn fresh_register(place: Place<'_>, name: &str, config: WriterConfig) -> Result<RegisterFresh> {
    let (store, sink, schema): (Arc<dyn Store>, Box<dyn LogSink>, _) = match place {
        Place::Dir(dir) => {
            let f = fresh(dir, name, config)?;
            return Ok(RegisterFresh {
                store: f.store,
                register: f.register,
                verifier: f.signer_verifier,
                schema: None,
            });
        }
        Place::Postgres(base) => {
            let schema = ScratchSchema::in_database(base, "habeas_bench")
                .map_err(|e| anyhow::anyhow!("--db: {e}"))?;
            let (signer, info) = bench_identity()?;
            let _ = signer;
            let store =
                PostgresStore::create(&schema.url(), &info).map_err(|e| anyhow::anyhow!("{e}"))?;
            let sink = store.sink().map_err(|e| anyhow::anyhow!("{e}"))?;
            (Arc::new(store), Box::new(sink), Some(schema))
        }
    };
    let (signer, _) = bench_identity()?;
    let verifier = signer.verifier();
    let register = Register::start(WriterParts {
        sink,
        store: store.clone(),
        signer,
        clock: Arc::new(SystemClock),
        entropy: Arc::new(OsEntropy::default()),
        config,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(RegisterFresh {
        store,
        register,
        verifier,
        schema,
    })
}

fn bench_identity() -> Result<(Signer, RegisterInfo)> {
    let signer =
        Signer::from_seed("habeas.bench/register", [3; 32]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let info = RegisterInfo {
        origin: "habeas.bench/register".into(),
        verifier: signer.verifier(),
    };
    Ok((signer, info))
}

/// Bare PostgreSQL: the same bytes into one table of a scratch schema, one batched INSERT per
/// batch (each its own transaction), `synchronous_commit=on`.
pub(crate) fn bare_postgres(base: &str, rows: &[Vec<u8>], batch: usize) -> Result<f64> {
    let schema = ScratchSchema::in_database(base, "habeas_bench")
        .map_err(|e| anyhow::anyhow!("--db: {e}"))?;
    let mut client = schema.client().map_err(|e| anyhow::anyhow!("{e}"))?;
    client.batch_execute(
        "SET synchronous_commit = on;
         CREATE TABLE t (idx BIGINT PRIMARY KEY, bytes BYTEA NOT NULL);",
    )?;
    let insert = client
        .prepare("INSERT INTO t (idx, bytes) SELECT * FROM unnest($1::bigint[], $2::bytea[])")?;
    let clock = Stopwatch::start();
    let mut idx = 0i64;
    for chunk in rows.chunks(batch) {
        let indices: Vec<i64> = (idx..idx + chunk.len() as i64).collect();
        let bytes: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        client.execute(&insert, &[&indices, &bytes])?;
        idx += chunk.len() as i64;
    }
    let rate = rows.len() as f64 / clock.secs();
    drop(client);
    drop(schema);
    Ok(rate)
}

/// Flushes dirty pages to disk, so that a measurement does not pay for the one before it.
pub(crate) fn settle() {
    let _ = std::process::Command::new("sync").status();
}

/// Bare SQLite: the same bytes into one table, same batch size, WAL with synchronous=FULL.
pub(crate) fn bare_inserts(path: &Path, rows: &[Vec<u8>], batch: usize) -> Result<f64> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;
         CREATE TABLE t (idx INTEGER PRIMARY KEY, bytes BLOB NOT NULL) STRICT;",
    )?;
    let clock = Stopwatch::start();
    let mut idx = 0i64;
    for chunk in rows.chunks(batch) {
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached("INSERT INTO t (idx, bytes) VALUES (?1, ?2)")?;
            for r in chunk {
                st.execute(params![idx, r])?;
                idx += 1;
            }
        }
        tx.commit()?;
    }
    Ok(rows.len() as f64 / clock.secs())
}

fn concurrent(
    place: Place<'_>,
    name: &str,
    config: WriterConfig,
    threads: usize,
    per: usize,
    seed: usize,
) -> Result<f64> {
    let f = fresh_register(place, name, config)?;
    let work: Vec<Vec<Draft>> = (0..threads)
        .map(|t| drafts(per, seed * 1000 + t))
        .collect::<Result<_>>()?;
    settle();
    let clock = Stopwatch::start();
    let handles: Vec<_> = work
        .into_iter()
        .map(|ds| {
            let reg = f.register.clone();
            std::thread::spawn(move || -> Result<()> {
                for d in ds {
                    reg.append(d).map_err(|e| anyhow::anyhow!("{e}"))?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("an appending thread panicked"))??;
    }
    let rate = (threads * per) as f64 / clock.secs();
    f.register.shutdown();
    drop(f.schema);
    Ok(rate)
}

/// `habeas bench register`, on SQLite, or on the PostgreSQL database `postgres` names.
pub fn register(args: &RegisterBenchArgs, postgres: Option<&str>) -> Result<ExitCode> {
    match postgres {
        None => {
            let figures = register_figures(args)?;
            report(&figures, args.json.as_deref(), &[REGISTER_BASELINES])
        }
        Some(base) => {
            eprintln!(
                "on {} (scratch schemas habeas_bench_*, dropped afterwards)",
                habeas_store_postgres::redacted(base)
            );
            let figures = run(args, Place::Postgres(base))?;
            report(
                &figures,
                args.json.as_deref(),
                &[REGISTER_BASELINES_POSTGRES],
            )
        }
    }
}

fn register_figures(args: &RegisterBenchArgs) -> Result<Vec<Figure>> {
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("habeas-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = run(args, Place::Dir(&dir));
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn run(args: &RegisterBenchArgs, place: Place<'_>) -> Result<Vec<Figure>> {
    let runs = args.runs.max(1);
    let mut bulk = Vec::new();
    let mut group = Vec::new();
    let mut verif = Vec::new();
    eprintln!(
        "habeas bench register: {} entries in batches of {}, {} threads x {} appends, {} runs",
        args.entries, args.batch, args.threads, args.per_thread, runs
    );
    for run in 0..runs {
        // Bulk append through the register (entries, leaf hashes, projections, checkpoints)
        // against bare inserts of bytes of the same size; the order alternates between runs
        // and dirty pages are flushed before each, so neither pays for the other's writes.
        let ds = drafts(args.entries, run)?;
        let bytes: Vec<Vec<u8>> = ds
            .iter()
            .enumerate()
            .map(|(i, d)| d.encode(i as u64, Timestamp(1_764_000_000_000), &[run as u8; 16]))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let bare = |place: Place<'_>| -> Result<f64> {
            settle();
            match place {
                Place::Dir(dir) => {
                    bare_inserts(&dir.join(format!("bare-{run}.db")), &bytes, args.batch)
                }
                Place::Postgres(base) => bare_postgres(base, &bytes, args.batch),
            }
        };
        let mut base_rate = 0.0;
        if run % 2 == 1 {
            base_rate = bare(place)?;
        }
        let config = WriterConfig {
            max_batch: args.batch,
            ..WriterConfig::default()
        };
        let f = fresh_register(place, &format!("bulk-{run}.db"), config)?;
        settle();
        let clock = Stopwatch::start();
        let mut it = ds.into_iter().peekable();
        let mut in_flight = std::collections::VecDeque::new();
        while it.peek().is_some() {
            let chunk: Vec<Draft> = it.by_ref().take(args.batch).collect();
            in_flight.push_back(f.register.submit(chunk));
            if in_flight.len() >= 4 {
                if let Some(p) = in_flight.pop_front() {
                    p.wait().map_err(|e| anyhow::anyhow!("{e}"))?;
                }
            }
        }
        for p in in_flight {
            p.wait().map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let reg_rate = args.entries as f64 / clock.secs();
        f.register
            .checkpoint()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        f.register.clone().shutdown();
        if run % 2 == 0 {
            base_rate = bare(place)?;
        }
        bulk.push((reg_rate, base_rate));

        // Verification against a plain SHA-256 scan of the same stored entries, in
        // alternating order.
        let plain_scan = || -> Result<f64> {
            settle();
            let clock = Stopwatch::start();
            let mut scanned = 0u64;
            let mut sink = [0u8; 32];
            f.store
                .scan(0, &mut |row| {
                    let d = Sha256::digest(row.bytes);
                    sink[0] ^= d[0];
                    scanned += row.bytes.len() as u64;
                    Ok(true)
                })
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::hint::black_box(sink);
            Ok(scanned as f64 / clock.secs())
        };
        // Warm the caches once, untimed, so that neither measurement pays for cold reads.
        f.store
            .scan(0, &mut |_| Ok(true))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut scan_rate = if run % 2 == 1 { plain_scan()? } else { 0.0 };
        settle();
        let clock = Stopwatch::start();
        let report = verify(&*f.store, &f.verifier).map_err(|e| anyhow::anyhow!("{e}"))?;
        let verify_rate = report.bytes as f64 / clock.secs();
        if run % 2 == 0 {
            scan_rate = plain_scan()?;
        }
        verif.push((verify_rate, scan_rate));

        // Concurrent single appends: group commit against one commit per append.
        let g = concurrent(
            place,
            &format!("group-{run}.db"),
            WriterConfig::default(),
            args.threads,
            args.per_thread,
            run,
        )?;
        let single = concurrent(
            place,
            &format!("single-{run}.db"),
            WriterConfig {
                max_batch: 1,
                ..WriterConfig::default()
            },
            args.threads,
            args.per_thread,
            run,
        )?;
        group.push((g, single));
        eprintln!(
            "  run {}: bulk {:.2}, group commit {:.1}x, verify {:.2}",
            run + 1,
            reg_rate / base_rate,
            g / single,
            verify_rate / scan_rate
        );
    }
    let prefix = match place {
        Place::Dir(_) => "register",
        Place::Postgres(_) => "postgres.register",
    };
    Ok(vec![
        figure(&format!("{prefix}.bulk_append"), "rows/s", 0.5, &bulk),
        figure(&format!("{prefix}.group_commit"), "appends/s", 5.0, &group),
        figure(&format!("{prefix}.verify"), "bytes/s", 0.7, &verif),
    ])
}

const REGISTER_BASELINES: &str = "register: bare SQLite inserts of the same bytes (same batch, WAL, synchronous=FULL); the same register with one commit per append; a scan computing only SHA-256 of each stored entry";
const REGISTER_BASELINES_POSTGRES: &str = "register on PostgreSQL: bare batched INSERTs (unnest) of the same bytes into one table on the same server (same batch, synchronous_commit=on); the same register with one commit per append; a scan computing only SHA-256 of each stored entry";
const CUSTODY_BASELINE: &str =
    "custody: bare SQLite inserts of the same entries' bytes, same batch, WAL, synchronous=FULL";

/// Prints the one table of figures, writes them as JSON, and says whether all passed.
pub(crate) fn report(figures: &[Figure], json: Option<&Path>, notes: &[&str]) -> Result<ExitCode> {
    println!(
        "{:<24} {:>14} {:>10} {:>14} {:>8} {:>15} {:>7} {:>5}",
        "figure", "value", "unit", "baseline", "ratio", "spread", "target", "pass"
    );
    for f in figures {
        println!(
            "{:<24} {:>14.0} {:>10} {:>14.0} {:>8.2} {:>7.2}..{:<6.2} {:>7} {:>5}",
            f.name,
            f.value,
            f.unit,
            f.baseline,
            f.ratio,
            f.ratio_min,
            f.ratio_max,
            format!(">={}", f.target),
            if f.pass { "yes" } else { "NO" }
        );
        if let Some(l) = &f.latency {
            let mut p50 = l.p50_ms.clone();
            let spread = |v: &[f64], pick: fn(f64, f64) -> f64| {
                v.iter().copied().reduce(pick).unwrap_or(0.0)
            };
            println!(
                "{:<24} at a fixed rate of half the maximum: p50 {:.1} ms, p99 {:.1} ms ({:.1}..{:.1}), target p99 < {} ms: {}",
                "",
                median(&mut p50),
                l.p99_median_ms,
                spread(&l.p99_ms, f64::min),
                spread(&l.p99_ms, f64::max),
                l.p99_target_ms,
                if l.pass { "yes" } else { "NO" }
            );
        }
    }
    for n in notes {
        println!("baselines: {n}");
    }
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(figures)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if figures.iter().all(|f| f.pass) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// `habeas bench all`: every benchmark that exists, with default sizes, in one table.
pub fn all(json: Option<&Path>, runs: usize) -> Result<ExitCode> {
    let reg = RegisterBenchArgs {
        json: None,
        entries: 50_000,
        batch: 500,
        threads: 64,
        per_thread: 30,
        runs,
        dir: None,
    };
    let mut figures = register_figures(&reg)?;
    let cus = CustodyBenchArgs {
        json: None,
        people: 20_000,
        batch: 500,
        runs,
        dir: None,
    };
    figures.extend(custody_figures(&cus)?);
    figures.extend(crate::bench_import::import_figures(
        &crate::bench_import::ImportBenchArgs::defaults(runs),
        None,
    )?);
    figures.extend(crate::bench_api::api_figures(
        &crate::bench_api::ApiBenchArgs::defaults(runs),
    )?);
    figures.extend(crate::bench_ui::ui_figures(
        &crate::bench_ui::UiBenchArgs::defaults(runs),
    )?);
    figures.extend(crate::bench_compliance::compliance_figures(
        &crate::bench_compliance::ComplianceBenchArgs::defaults(runs),
    )?);
    figures.extend(crate::bench_search::search_figures(
        &crate::bench_search::SearchBenchArgs::defaults(runs),
    )?);
    figures.extend(crate::bench_signin::signin_flood_figures(
        &crate::bench_signin::SigninFloodArgs::defaults(runs),
    )?);
    figures.extend(crate::bench_witness::witness_figures(
        &crate::bench_witness::WitnessBenchArgs::defaults(runs),
    )?);
    figures.extend(crate::bench_whereabouts::whereabouts_figures(
        &crate::bench_whereabouts::WhereaboutsBenchArgs::defaults(runs),
    )?);
    report(
        &figures,
        json,
        &[
            REGISTER_BASELINES,
            CUSTODY_BASELINE,
            crate::bench_import::IMPORT_BASELINE,
            crate::bench_compliance::COMPLIANCE_BASELINE,
            crate::bench_api::API_BASELINES,
            crate::bench_ui::UI_BASELINES,
            crate::bench_search::SEARCH_BASELINE,
            crate::bench_signin::SIGNIN_FLOOD_BASELINE,
            crate::bench_witness::WITNESS_BASELINE,
            crate::bench_whereabouts::WHEREABOUTS_BASELINE,
        ],
    )
}

#[derive(Debug, Clone, clap::Args)]
pub struct CustodyBenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// People admitted and allocated per run.
    #[arg(long, default_value_t = 20_000)]
    people: usize,
    /// Entries per transaction (the same for the register and the baseline).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Submits requests of `batch` drafts with up to four in flight; returns every receipt index.
pub(crate) fn pipelined(register: &Register, drafts: Vec<Draft>, batch: usize) -> Result<Vec<u64>> {
    let mut out = Vec::with_capacity(drafts.len());
    let mut it = drafts.into_iter().peekable();
    let mut in_flight = std::collections::VecDeque::new();
    let wait = |p: habeas_register::writer::Pending, out: &mut Vec<u64>| -> Result<()> {
        out.extend(
            p.wait()
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .into_iter()
                .map(|r| r.index),
        );
        Ok(())
    };
    while it.peek().is_some() {
        let chunk: Vec<Draft> = it.by_ref().take(batch).collect();
        in_flight.push_back(register.submit(chunk));
        if in_flight.len() >= 4 {
            if let Some(p) = in_flight.pop_front() {
                wait(p, &mut out)?;
            }
        }
    }
    for p in in_flight {
        wait(p, &mut out)?;
    }
    Ok(out)
}

/// `habeas bench custody`: admissions and allocations through the register (entries and every
/// custody projection) against bare SQLite inserts of the same bytes.
pub fn custody(args: &CustodyBenchArgs) -> Result<ExitCode> {
    let figures = custody_figures(args)?;
    report(&figures, args.json.as_deref(), &[CUSTODY_BASELINE])
}

fn custody_figures(args: &CustodyBenchArgs) -> Result<Vec<Figure>> {
    use habeas_core::allocation::Allocation;
    use habeas_core::ids::Actor;
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("habeas-bench-custody-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let actor = Actor::parse("actor", "bench").map_err(|e| anyhow::anyhow!("{e}"))?;
    let estate = cecot_estate()?;
    let cells: Vec<String> = estate.cells.iter().map(|c| c.code.clone()).collect();
    let now = SystemClock.now();
    let runs = args.runs.max(1);
    let mut samples = Vec::new();
    eprintln!(
        "habeas bench custody: {} admissions + {} allocations in batches of {}, {runs} runs",
        args.people, args.people, args.batch
    );
    for run in 0..runs {
        let admissions = admission_drafts(args.people, run, now, &actor)?;
        let (f, first) = fresh_cecot(
            &dir,
            &format!("custody-{run}.db"),
            args.batch,
            &estate,
            &actor,
        )?;
        settle();
        let clock = Stopwatch::start();
        let bookings = pipelined(&f.register, admissions, args.batch)?;
        let allocations: Vec<Draft> = bookings
            .iter()
            .enumerate()
            .map(|(i, b)| {
                Allocation {
                    facility: estate.facility.code.clone(),
                    booking: *b,
                    cell: cells[i % cells.len()].clone(),
                    override_: None,
                    second_authority: None,
                    at: None,
                    transcribed_from: None,
                }
                .to_draft(&actor)
            })
            .collect();
        pipelined(&f.register, allocations, args.batch)?;
        let rate = (2 * args.people) as f64 / clock.secs();
        let base = bare_of(
            &f,
            first,
            &dir.join(format!("custody-bare-{run}.db")),
            args.batch,
        )?;
        eprintln!(
            "  run {}: {:.0} rows/s against {:.0} bare: {:.2}",
            run + 1,
            rate,
            base,
            rate / base
        );
        samples.push((rate, base));
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(vec![figure("custody.ingest", "rows/s", 0.5, &samples)])
}

#[derive(Debug, Clone, clap::Args)]
pub struct EnvironmentBenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Readings in the CSV file imported per run.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Entries per transaction (the same for the register and the baseline).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    #[arg(long, default_value_t = 2)]
    runs: usize,
    #[arg(long)]
    dir: Option<PathBuf>,
}

pub fn environment(args: &EnvironmentBenchArgs) -> Result<ExitCode> {
    let figures = environment_figures(args)?;
    report(&figures, args.json.as_deref(), &[ENVIRONMENT_BASELINE])
}

const ENVIRONMENT_BASELINE: &str = "environment: bare SQLite inserts of the same entries' bytes, same batch, WAL, synchronous=FULL";

/// Importing sensor CSV (parse, check, append with projections) against bare inserts.
fn environment_figures(args: &EnvironmentBenchArgs) -> Result<Vec<Figure>> {
    use habeas_core::ids::Actor;
    use std::io::Write as _;
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("habeas-bench-environment-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let actor = Actor::parse("actor", "bench").map_err(|e| anyhow::anyhow!("{e}"))?;
    let estate = cecot_estate()?;
    let cells: Vec<String> = estate.cells.iter().map(|c| c.code.clone()).collect();
    let mut samples = Vec::new();
    eprintln!(
        "habeas bench environment: {} readings from CSV in batches of {}, {} runs",
        args.rows,
        args.batch,
        args.runs.max(1)
    );
    for run in 0..args.runs.max(1) {
        let csv_path = dir.join(format!("readings-{run}.csv"));
        {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&csv_path)?);
            writeln!(w, "at,place,temperature_c,lighting,ventilation")?;
            let start = habeas_register::Timestamp::parse("2024-01-01T00:00:00.000Z")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for i in 0..args.rows {
                let t = habeas_register::Timestamp(start.0 + (i / cells.len()) as i64 * 60_000);
                writeln!(
                    w,
                    "{t},{},{}.{},on,{}",
                    cells[i % cells.len()],
                    28 + i % 9,
                    i % 10,
                    if i % 3 == 0 { "off" } else { "on" }
                )?;
            }
        }
        let (f, first) = fresh_cecot(
            &dir,
            &format!("environment-{run}.db"),
            args.batch,
            &estate,
            &actor,
        )?;
        settle();
        let now = SystemClock.now();
        let clock = Stopwatch::start();
        let input = std::io::BufReader::new(std::fs::File::open(&csv_path)?);
        let drafts: Vec<Draft> = habeas_core::environment::readings_from_csv("CECOT", input, now)
            .map(|r| r.map(|r| r.to_draft(&actor)))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        pipelined(&f.register, drafts, args.batch)?;
        let rate = args.rows as f64 / clock.secs();
        let base = bare_of(
            &f,
            first,
            &dir.join(format!("environment-bare-{run}.db")),
            args.batch,
        )?;
        eprintln!(
            "  run {}: {:.0} rows/s against {:.0} bare: {:.2}",
            run + 1,
            rate,
            base,
            rate / base
        );
        samples.push((rate, base));
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(vec![figure("environment.import", "rows/s", 0.5, &samples)])
}

/// `n` admissions of untried people on 1 June 2024, distinct for each `run`.
pub(crate) fn admission_drafts(
    n: usize,
    run: usize,
    now: Timestamp,
    actor: &habeas_core::ids::Actor,
) -> Result<Vec<Draft>> {
    use habeas_core::custody::AdmissionInput;
    (0..n)
        .map(|i| {
            let v = serde_json::json!({
                "facility": "CECOT",
                "person": {"given_names": format!("Persona {}", i + run * 1_000_000), "surnames": ["Hernández", "López"],
                           "birth_date": "1990-05-17", "sex": "male", "nationalities": ["SV"]},
                "admitted_at": "2024-06-01T10:00:00.000Z",
                "legal_status": "remand",
                "orders": [{"kind": "pretrial_detention", "authority": "Juzgado Especializado de Instrucción A", "reference": format!("{i}-2024"), "issued": "2024-05-30", "expires": "2024-11-30"}],
                "arrest": {"at": "2024-05-28T06:00:00.000Z", "place": "Soyapango", "authority": "PNC"},
                "property": [{"item": "reloj"}]
            });
            serde_json::from_value::<AdmissionInput>(v)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .validate(now)
                .map(|a| a.to_draft(actor))
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect()
}

/// A fresh register holding the CECOT estate; returns it and the index of its first free entry.
pub(crate) fn fresh_cecot(
    dir: &Path,
    name: &str,
    batch: usize,
    estate: &habeas_core::estate::Estate,
    actor: &habeas_core::ids::Actor,
) -> Result<(Fresh, u64)> {
    fresh_cecot_at(Place::Dir(dir), dir, name, batch, estate, actor)
}

/// [`fresh_cecot`] on either backend.
pub(crate) fn fresh_cecot_at(
    place: Place<'_>,
    dir: &Path,
    name: &str,
    batch: usize,
    estate: &habeas_core::estate::Estate,
    actor: &habeas_core::ids::Actor,
) -> Result<(Fresh, u64)> {
    let f = fresh_at(
        place,
        dir,
        name,
        WriterConfig {
            max_batch: batch,
            ..WriterConfig::default()
        },
    )?;
    let mut setup = vec![estate.facility.to_draft(actor)];
    setup.extend(
        estate
            .units
            .iter()
            .map(|u| u.to_draft(&estate.facility.code, actor)),
    );
    setup.extend(
        estate
            .cells
            .iter()
            .map(|c| c.to_draft(&estate.facility.code, actor)),
    );
    let first = setup.len() as u64;
    f.register
        .append_all(setup)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((f, first))
}

/// Stops the register and measures bare inserts of the bytes it stored from `first` on.
fn bare_of(f: &Fresh, first: u64, path: &Path, batch: usize) -> Result<f64> {
    f.register.clone().shutdown();
    let mut bytes = Vec::new();
    f.store
        .scan(first, &mut |row| {
            bytes.push(row.bytes.to_vec());
            Ok(true)
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    settle();
    bare_inserts(path, &bytes, batch)
}

/// The CECOT estate of the benchmarks: 8 pavilions of 32 cells.
pub(crate) fn cecot_estate() -> Result<habeas_core::estate::Estate> {
    use habeas_core::estate::{
        CellKind, CellTemplate, EstateFile, FacilityInput, Lighting, UnitInput, Ventilation,
    };
    EstateFile {
        facility: FacilityInput {
            code: "CECOT".into(),
            name: "Centro de Confinamiento del Terrorismo".into(),
            country: "SV".into(),
            juvenile: false,
        },
        units: (1..=8)
            .map(|m| UnitInput {
                code: format!("M{m}"),
                name: format!("Módulo {m}"),
                cell_count: 32,
                cell_template: Some(CellTemplate {
                    area_m2: 100.0,
                    bunks: 80,
                    cna: 24,
                    operational_capacity: 160,
                    kind: CellKind::Normal,
                    lighting: Lighting::Constant,
                    window: false,
                    ventilation: Ventilation::Mechanical,
                    sanitation: true,
                }),
            })
            .collect(),
        cells: Vec::new(),
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("{e}"))
}
