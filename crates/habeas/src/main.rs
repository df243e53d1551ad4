//! `habeas`: the one binary of the Habeas prisoner-records and detention-oversight system.

mod agreement_report;
mod bench;
mod bench_api;
mod bench_compliance;
mod bench_import;
mod bench_search;
mod bench_signin;
mod bench_soak;
mod bench_ui;
mod bench_whereabouts;
mod bench_witness;
mod control;
mod copy;
mod custody_cli;
mod demo;
mod export;
mod open;
mod population;
mod publish;
mod replica;
mod report;
mod serve;
mod statistics;
mod system;
mod users;
mod witness;
mod witnessing;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use habeas_core::logbook::NewNote;
use habeas_register::merkle::{leaf_hash, to_hex, verify_consistency, verify_inclusion, Tree};
use habeas_register::note::{Checkpoint, Signer, VerifierKey};
use habeas_register::store::{AppendError, RegisterInfo, Store};
use habeas_register::verify::verify;
use habeas_store_postgres::PostgresStore;
use habeas_store_sqlite::{LogbookFilter, SqliteStore};
use open::DbArgs;
use std::process::ExitCode;

/// The writer thread frees what request threads allocated; mimalloc does that without the
/// arena lock contention of the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "habeas",
    version,
    about = "Prisoner records and detention oversight, on a tamper-evident register"
)]
struct Cli {
    #[command(flatten)]
    db: DbArgs,
    /// Who records the entries [default: $HABEAS_ACTOR, or cli:$USER].
    #[arg(long, global = true, env = "HABEAS_ACTOR")]
    actor: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new register and its signing key; print its origin line and verifier key.
    Init {
        /// The register's origin line (unique per register) [default: habeas.local/register/<random>].
        #[arg(long)]
        origin: Option<String>,
    },
    /// Recompute the whole tree from the stored bytes, check every checkpoint and projection.
    Verify {
        /// The verifier key you trust (`<name>+<id>+<key>`); by default the one stored in the
        /// register, which only proves the register is consistent with itself.
        #[arg(long, env = "HABEAS_VERIFIER_KEY")]
        verifier_key: Option<String>,
        /// A witness you trust (its verifier key): every cosignature by it that the register
        /// keeps must verify, and some checkpoint must be cosigned by a quorum of those
        /// named; repeat for several.
        #[arg(long = "witness", value_name = "VKEY")]
        witnesses: Vec<String>,
        /// How many of the witnesses named must have cosigned a checkpoint [default: all].
        #[arg(long, requires = "witnesses")]
        witness_quorum: Option<usize>,
    },
    /// Print the latest signed checkpoint exactly (signing a new one first if the register grew).
    Checkpoint {
        /// Only print the latest checkpoint; do not sign a new one.
        #[arg(long)]
        no_new: bool,
    },
    /// Print the exact bytes of one entry.
    Entry { index: u64 },
    /// Inclusion and consistency proofs.
    Proof {
        #[command(subcommand)]
        proof: ProofCommand,
    },
    /// The facility's occurrence book.
    Logbook {
        #[command(subcommand)]
        command: LogbookCommand,
    },
    /// The estate: facilities, units and cells.
    Estate {
        #[command(subcommand)]
        command: custody_cli::EstateCommand,
    },
    /// Admit a person (Rule 7): JSON from a file, or `-` for standard input.
    #[command(after_long_help = custody_cli::admit_help())]
    Admit {
        /// The admission: a JSON file, or `-` for standard input.
        #[arg(long, required_unless_present = "example")]
        json: Option<std::path::PathBuf>,
        /// Print a complete example of an admission (every field shown) and stop.
        #[arg(long, conflicts_with = "json")]
        example: bool,
    },
    /// Place a person in a cell, or (--batch) everyone without a cell.
    Allocate(custody_cli::AllocateArgs),
    /// People who must be kept apart.
    NonAssociation {
        #[command(subcommand)]
        command: custody_cli::NonAssociationCommand,
    },
    /// End a custody by release, with its legal reason.
    Release(custody_cli::ReleaseArgs),
    /// People's files.
    Person {
        #[command(subcommand)]
        command: custody_cli::PersonCommand,
    },
    /// Record a charge, hearing, detention review, contact, request for contact, complaint,
    /// reply or referral: JSON with a "record" field naming which (`-` for standard input).
    #[command(after_long_help = custody_cli::record_help())]
    Record {
        /// The record: a JSON file, or `-` for standard input.
        #[arg(long, required_unless_present = "example")]
        json: Option<std::path::PathBuf>,
        /// Print a complete example of the record KIND (every field shown) and stop.
        #[arg(long, value_name = "KIND", conflicts_with = "json", value_parser = clap::builder::PossibleValuesParser::new(habeas_core::examples::RECORD_KINDS))]
        example: Option<String>,
    },
    /// Environment readings per cell or unit: by hand or imported from sensors' CSV.
    Environment {
        #[command(subcommand)]
        command: custody_cli::EnvironmentCommand,
    },
    /// Move people out of a cell and back, or out of the facility and back.
    Move(custody_cli::MoveArgs),
    /// Roll counts: record one (reconciled against the records), or report a day's.
    Count {
        #[command(subcommand)]
        command: custody_cli::CountCommand,
    },
    /// Add a commitment order to a custody (JSON), with the legal status it brings.
    Order {
        #[arg(long)]
        json: std::path::PathBuf,
    },
    /// Record a custody agreement with another state (JSON).
    Agreement {
        #[arg(long)]
        json: std::path::PathBuf,
    },
    /// Transfer a custody to another facility of the system.
    Transfer(custody_cli::TransferArgs),
    /// Deaths in custody and their cases (Rules 69–72).
    Death {
        #[command(subcommand)]
        command: custody_cli::DeathCommand,
    },
    /// Serious injuries, serious illnesses and transfers to a health institution (Rules 69 and
    /// 71(1)).
    Harm {
        #[command(subcommand)]
        command: custody_cli::HarmCommand,
    },
    /// Generate a demonstration scenario (synthetic people) into a new store, through the same
    /// commands users take, and print what it holds.
    Demo(demo::DemoArgs),
    /// Reports: compliance findings against the Mandela Rules; Rule 10 statistics; the account
    /// of a custody agreement.
    Report {
        #[command(subcommand)]
        command: report::ReportCommand,
    },
    /// Serve the JSON API (sign-in, person files under role and facility scope, the access
    /// log) until SIGINT or SIGTERM.
    Serve(serve::ServeArgs),
    /// The accounts of the people who use Habeas (the access log records every change).
    User {
        #[command(subcommand)]
        command: users::UserCommand,
    },
    /// Population, capacity and space per unit.
    Population {
        #[arg(long)]
        facility: Option<String>,
        #[arg(long, value_enum, default_value_t = custody_cli::Out::Table)]
        format: custody_cli::Out,
    },
    /// Write the published checkpoint and every tile of hashes of its tree (C2SP tlog-tiles,
    /// never the entries) into a directory, for any static web server or object store.
    Publish(publish::PublishArgs),
    /// Write the latest checkpoint, the verifier key, every entry's exact bytes, every
    /// checkpoint and the witnesses' cosignatures of them to a file (docs/register-format.md
    /// §9); each cosignature must verify over its checkpoint.
    Export {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Load an export into a new store (`--in`): the tree root must come out identical, and
    /// each witness's cosignature in it must verify over its checkpoint. Or take in a
    /// population held in an earlier register (`import population`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Import {
        #[arg(long = "in", required = true)]
        input: Option<std::path::PathBuf>,
        /// The verifier key you trust; the export's own key is used (and said so) otherwise.
        #[arg(long, env = "HABEAS_VERIFIER_KEY")]
        verifier_key: Option<String>,
        #[command(subcommand)]
        what: Option<ImportCommand>,
    },
    /// Copy a whole register into a new store, SQLite or PostgreSQL in either direction, with
    /// the witnesses' cosignatures of its checkpoints (each must verify over its checkpoint,
    /// or nothing is copied); the copy's root hash must come out identical.
    Copy {
        /// The register to copy: a SQLite file or a `postgres://` address.
        #[arg(long)]
        from: std::path::PathBuf,
        /// The new store: a SQLite file that does not exist yet, or a `postgres://` database
        /// that holds no register.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Drop every projection and rebuild it from the register.
    Rebuild,
    /// Append many occurrence-book notes from concurrent threads, printing `ack <index> <marker>`
    /// for each acknowledged one (used by the crash test).
    #[command(hide = true)]
    StressAppend {
        #[arg(long, default_value_t = 16)]
        threads: usize,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value = "TEST")]
        facility: String,
    },
    /// Check a whereabouts answer file (habeas.whereabouts/1) without trusting the server that
    /// gave it: the register's signature, the checkpoint and its witnesses' cosignatures, each
    /// entry's inclusion proof, and that the answer says what its entries say. Reads no
    /// register.
    CheckAnswer {
        /// The answer file (JSON), as `POST /api/whereabouts` or the page gave it.
        file: std::path::PathBuf,
        /// The register's verifier key you trust (`<name>+<id>+<key>`).
        #[arg(long, env = "HABEAS_VERIFIER_KEY")]
        verifier_key: String,
        /// A witness you trust (its cosignature verifier key); repeat for several.
        #[arg(long = "witness", value_name = "VKEY")]
        witnesses: Vec<String>,
        /// How many of the witnesses named must have cosigned [default: all].
        #[arg(long, requires = "witnesses")]
        quorum: Option<usize>,
    },
    /// A witness that cosigns registers' checkpoints (C2SP tlog-witness), and its keys.
    Witness {
        #[command(subcommand)]
        command: witness::WitnessCommand,
    },
    /// Run benchmarks and print ratios against baselines measured in the same run.
    Bench {
        #[command(subcommand)]
        bench: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// A population held in an earlier register, from CSV or JSON Lines: people (identity,
    /// documents, legal status, orders, admission date, cell), with more orders and the cells
    /// in files of their own if need be. Every row is checked first and every bad one named in
    /// a report (CSV); nothing is written while any is wrong, unless --accept-valid. Each
    /// admission keeps its real date and the file, line and number it came from; run again
    /// after an interruption, the import writes nothing twice. See docs/import.md.
    Population(population::PopulationArgs),
}

#[derive(Debug, Subcommand)]
enum ProofCommand {
    /// Prove that entry N is in the tree of size S [default: the latest checkpoint's size].
    Inclusion {
        index: u64,
        #[arg(long)]
        size: Option<u64>,
    },
    /// Prove that the tree of size A is a prefix of the tree of size B.
    Consistency { first: u64, second: u64 },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
enum LogbookCommand {
    /// Write a note in the occurrence book.
    Add {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        text: String,
        /// The place within the facility (unit, cell, yard…).
        #[arg(long)]
        place: Option<String>,
        /// The index of the note this one corrects.
        #[arg(long, requires = "reason")]
        corrects: Option<u64>,
        /// Why the earlier note was wrong.
        #[arg(long, requires = "corrects")]
        reason: Option<String>,
    },
    /// List notes, newest first.
    List {
        #[arg(long)]
        facility: Option<String>,
        #[arg(long)]
        place: Option<String>,
        /// Only notes before this register index (to page back).
        #[arg(long)]
        before: Option<u64>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// The register: bulk append, group commit, verification.
    Register(bench::RegisterBenchArgs),
    /// The custody core: ingest of admissions and allocations.
    Custody(bench::CustodyBenchArgs),
    /// Importing sensor readings from CSV.
    Environment(bench::EnvironmentBenchArgs),
    /// Importing a legacy population from CSV (`habeas import population`), on SQLite or, with
    /// a PostgreSQL --db, onto PostgreSQL through a replica.
    Import(bench_import::ImportBenchArgs),
    /// A year of every person's day measured against the policy.
    Compliance(bench_compliance::ComplianceBenchArgs),
    /// The server: appends with group commit, and person files, over 64 connections.
    Api(bench_api::ApiBenchArgs),
    /// The web UI's facility board and person file at 40,000 people, over 64 connections.
    Ui(bench_ui::UiBenchArgs),
    /// Person search by name over 2,000,000 people.
    Search(bench_search::SearchBenchArgs),
    /// The server under a sustained fixed-rate load for minutes: no error, stable memory.
    Soak(bench_soak::SoakBenchArgs),
    /// Person-file reads by an API-token holder while 128 connections flood sign-ins.
    SigninFlood(bench_signin::SigninFloodArgs),
    /// Checkpoints per second through a witness round (a real `habeas witness serve`),
    /// against signing them alone.
    Witness(bench_witness::WitnessBenchArgs),
    /// The court's whereabouts question over a register of 2,000,000 people, through the
    /// server: its latency at a fixed rate (p99 against 20 ms) and its rate.
    Whereabouts(bench_whereabouts::WhereaboutsBenchArgs),
    /// Every benchmark that exists, with default sizes, in one table.
    All {
        #[arg(long)]
        json: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn main() -> ExitCode {
    quiet_on_closed_output();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// A command whose output is cut short (`habeas population | head`) stops quietly, as other
/// Unix tools do, instead of reporting a crash: the standard library reports a write to a
/// closed pipe as a panic. Anything it had recorded is already durable.
fn quiet_on_closed_output() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}

fn run(cli: Cli) -> Result<ExitCode> {
    let given = cli.actor.clone().filter(|a| !a.trim().is_empty());
    // While `habeas serve` runs on the store, its writer and access log take this command's
    // entries, in the name of the operating-system user at its control socket.
    let server_actor = match &cli.command {
        Command::Serve(_)
        | Command::Init { .. }
        | Command::Demo(_)
        | Command::Bench { .. }
        | Command::Witness { .. }
        | Command::CheckAnswer { .. } => None,
        // A server this user may not reach: reads go on from the store; a write or a logged
        // read says why it cannot be done when it opens the writer.
        _ => control::Remote::connect(&cli.db)
            .ok()
            .flatten()
            .map(|(_, actor)| actor),
    };
    if let (Some(server), Some(given)) = (&server_actor, &given) {
        if server != given {
            eprintln!("note: habeas serve runs on this store: what this command records or reads is recorded as {server}, the operating-system user at its control socket, not as {given}");
        }
    }
    let actor_name = server_actor.or(given).unwrap_or_else(default_actor);
    let actor = || {
        habeas_core::ids::Actor::parse("actor", &actor_name)
            .map_err(|e| anyhow::anyhow!("--actor: {}", e.message))
    };
    if cli.db.postgres_url().is_some()
        && matches!(
            cli.command,
            Command::Import { what: None, .. }
                | Command::Bench {
                    bench: BenchCommand::Custody(_)
                        | BenchCommand::Environment(_)
                        | BenchCommand::Compliance(_)
                        | BenchCommand::Ui(_)
                        | BenchCommand::Search(_)
                        | BenchCommand::Soak(_)
                        | BenchCommand::SigninFlood(_)
                        | BenchCommand::Witness(_)
                        | BenchCommand::Whereabouts(_)
                        | BenchCommand::All { .. }
                }
        )
    {
        bail!("{}", open::NOT_ON_POSTGRES);
    }
    match cli.command {
        Command::Init { origin } => init(&cli.db, origin),
        Command::Verify {
            verifier_key,
            witnesses,
            witness_quorum,
        } => verify_cmd(&cli.db, verifier_key, &witnesses, witness_quorum),
        Command::Publish(args) => publish::publish(&cli.db, args),
        Command::Checkpoint { no_new } => {
            let note = if no_new {
                cli.db
                    .open_register()?
                    .latest_checkpoint()
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .map(|c| c.note)
            } else if let Some((server, _)) = control::Remote::connect(&cli.db)? {
                // The running server signs it: it holds the writer.
                server.checkpoint()?
            } else {
                let (_, register) = cli.db.open_register_writer()?;
                let cp = register.checkpoint().map_err(|e| anyhow::anyhow!("{e}"))?;
                register.shutdown();
                cp.map(|c| c.note)
            };
            match note {
                Some(note) => print!("{note}"),
                None => bail!("the register has no checkpoint yet"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Entry { index } => {
            let store = cli.db.open_register()?;
            match store.entry(index).map_err(|e| anyhow::anyhow!("{e}"))? {
                Some(bytes) => println!("{}", String::from_utf8_lossy(&bytes)),
                None => bail!(
                    "there is no entry {index}; the register holds {}",
                    store.size().unwrap_or(0)
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Proof { proof } => proof_cmd(&cli.db, proof),
        Command::Logbook { command } => logbook(&cli.db, &actor_name, command),
        Command::Estate { command } => custody_cli::estate(&cli.db, &actor()?, command),
        Command::Admit { example: true, .. } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&habeas_core::examples::admission())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Admit { json, .. } => custody_cli::admit(
            &cli.db,
            &actor()?,
            &json.context("--json: the admission's file (or - for standard input)")?,
        ),
        Command::Allocate(args) => custody_cli::allocate(&cli.db, &actor()?, args),
        Command::NonAssociation { command } => {
            custody_cli::non_association(&cli.db, &actor()?, command)
        }
        Command::Release(args) => custody_cli::release(&cli.db, &actor()?, args),
        Command::Person { command } => custody_cli::person(&cli.db, &actor()?, command),
        Command::Move(args) => custody_cli::movement(&cli.db, &actor()?, args),
        Command::Count { command } => custody_cli::count(&cli.db, &actor()?, command),
        Command::Order { json } => custody_cli::order(&cli.db, &actor()?, &json),
        Command::Agreement { json } => custody_cli::agreement(&cli.db, &actor()?, &json),
        Command::Transfer(args) => custody_cli::transfer(&cli.db, &actor()?, args),
        Command::Death { command } => custody_cli::death(&cli.db, &actor()?, command),
        Command::Harm { command } => custody_cli::harm(&cli.db, &actor()?, command),
        Command::Demo(args) => demo::run(&cli.db, args),
        Command::Record {
            example: Some(kind),
            ..
        } => {
            let example = habeas_core::examples::record(&kind)
                .with_context(|| format!("--example: {kind} is not a kind of record"))?;
            println!("{}", serde_json::to_string_pretty(&example)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Record { json, .. } => custody_cli::record(
            &cli.db,
            &actor()?,
            &json.context("--json: the record's file (or - for standard input)")?,
        ),
        Command::Environment { command } => custody_cli::environment(&cli.db, &actor()?, command),
        Command::Report { command } => report::run(&cli.db, &actor_name, command),
        Command::User { command } => users::run(&cli.db, &actor_name, command),
        Command::Serve(args) => serve::run(&cli.db, args),
        Command::Witness { command } => witness::run(&cli.db, command),
        Command::CheckAnswer {
            file,
            verifier_key,
            witnesses,
            quorum,
        } => check_answer(&file, &verifier_key, &witnesses, quorum),
        Command::Population { facility, format } => {
            custody_cli::population(&cli.db, facility, format)
        }
        Command::Export { out } => export::export(&cli.db, &actor_name, &out),
        Command::Import {
            what: Some(ImportCommand::Population(args)),
            ..
        } => {
            // A template needs no register (nor an actor).
            if args.template.is_some() {
                return population::run(
                    &cli.db,
                    &habeas_core::ids::Actor::parse("actor", "template")
                        .map_err(|e| anyhow::anyhow!("{}", e.message))?,
                    &args,
                );
            }
            population::run(&cli.db, &actor()?, &args)
        }
        Command::Import {
            input: Some(input),
            verifier_key,
            what: None,
        } => export::import(&cli.db, &input, verifier_key.as_deref()),
        Command::Import { .. } => {
            bail!("--in: give the export to load (or `habeas import population`)")
        }
        Command::Copy { from, to } => copy::copy(&cli.db, &actor_name, from, to),
        Command::Rebuild => {
            if control::live(&cli.db) {
                bail!("habeas serve runs on this store: stop it first (a rebuild replaces every projection the server reads, under the writer's lock)");
            }
            let store = cli.db.open_store()?;
            let n = store
                .rebuild_projections()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("rebuilt every projection from {n} entries");
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            bench: BenchCommand::Register(args),
        } => bench::register(&args, cli.db.postgres_url()),
        Command::Bench {
            bench: BenchCommand::Import(args),
        } => bench_import::import(&args, cli.db.postgres_url()),
        Command::Bench {
            bench: BenchCommand::Search(args),
        } => bench_search::search(&args),
        Command::Bench {
            bench: BenchCommand::Soak(args),
        } => bench_soak::soak(&args),
        Command::Bench {
            bench: BenchCommand::SigninFlood(args),
        } => bench_signin::signin_flood(&args),
        Command::Bench {
            bench: BenchCommand::Witness(args),
        } => bench_witness::witness(&args),
        Command::Bench {
            bench: BenchCommand::Whereabouts(args),
        } => bench_whereabouts::whereabouts(&args),
        Command::Bench {
            bench: BenchCommand::Custody(args),
        } => bench::custody(&args),
        Command::Bench {
            bench: BenchCommand::All { json, runs },
        } => bench::all(json.as_deref(), runs),
        Command::Bench {
            bench: BenchCommand::Environment(args),
        } => bench::environment(&args),
        Command::Bench {
            bench: BenchCommand::Compliance(args),
        } => bench_compliance::compliance(&args),
        Command::Bench {
            bench: BenchCommand::Api(args),
        } => bench_api::api(&args, cli.db.postgres_url()),
        Command::Bench {
            bench: BenchCommand::Ui(args),
        } => bench_ui::ui(&args),
        Command::StressAppend {
            threads,
            count,
            facility,
        } => stress_append(&cli.db, threads, count, &facility),
    }
}

fn init(db: &DbArgs, origin: Option<String>) -> Result<ExitCode> {
    let postgres = db.postgres_url();
    if postgres.is_none() && db.db.exists() {
        bail!(
            "{} exists already; choose another --db or remove it",
            db.db.display()
        );
    }
    let key_path = db.signing_key_path()?;
    if key_path.exists() {
        bail!(
            "the key file {} exists already; choose another --key",
            key_path.display()
        );
    }
    let origin = match origin {
        Some(o) => o,
        None => {
            let seed = system::key_seed()?;
            format!(
                "habeas.local/register/{}",
                &to_hex(&seed.map(|b| b ^ 0x5a))[..16]
            )
        }
    };
    let signer = Signer::from_seed(&origin, system::key_seed()?)
        .map_err(|e| anyhow::anyhow!("--origin: {e}"))?;
    let info = RegisterInfo {
        origin: origin.clone(),
        verifier: signer.verifier(),
    };
    open::write_signer(&key_path, &signer)?;
    let created = match postgres {
        Some(url) => PostgresStore::create(url, &info).map(|s| s.place().to_owned()),
        None => SqliteStore::create(&db.db, &info).map(|_| db.db.display().to_string()),
    };
    let place = match created {
        Ok(place) => place,
        Err(e) => {
            let _ = std::fs::remove_file(&key_path);
            bail!("cannot create the register: {e}");
        }
    };
    let (_, register) = db.open_register_writer()?;
    register.checkpoint().map_err(|e| anyhow::anyhow!("{e}"))?;
    register.shutdown();
    println!("Created the register in {place}");
    println!(
        "signing key: {} (keep it secret; mode 0600)",
        key_path.display()
    );
    println!("origin: {origin}");
    println!("verifier key: {}", signer.verifier());
    Ok(ExitCode::SUCCESS)
}

fn verify_cmd(
    db: &DbArgs,
    verifier_key: Option<String>,
    witnesses: &[String],
    witness_quorum: Option<usize>,
) -> Result<ExitCode> {
    let store = db.open_register()?;
    let info = store.info().map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = match verifier_key {
        Some(k) => VerifierKey::parse(&k).map_err(|e| anyhow::anyhow!("--verifier-key: {e}"))?,
        None => {
            eprintln!("note: checking against the verifier key stored in the register; pass --verifier-key to check against one you trust");
            info.verifier.clone()
        }
    };
    let report = match verify(&*store, &key) {
        Ok(r) => r,
        Err(e) => {
            match e.first_bad_index() {
                Some(i) => eprintln!("FAILED at index {i}: {e}"),
                None => eprintln!("FAILED: {e}"),
            }
            return Ok(ExitCode::from(1));
        }
    };
    let projections = if db.postgres_url().is_some() && db.replica.is_none() {
        "the projections are not checked: they are kept in each process's replica (pass --replica to check one)"
    } else {
        let store = db.open_store()?;
        if db.postgres_url().is_some() {
            // The replica holds the same entries as the database, or it is not used.
            match verify(&store, &key) {
                Ok(r) if r.root == report.root && r.entries == report.entries => {}
                Ok(r) => {
                    eprintln!(
                        "FAILED: the replica's {} entries (root {}) are not the database's",
                        r.entries,
                        to_hex(&r.root)
                    );
                    return Ok(ExitCode::from(1));
                }
                Err(e) => {
                    eprintln!("FAILED in the replica: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        match store
            .check_projections()
            .map_err(|e| anyhow::anyhow!("{e}"))?
        {
            Ok(()) if db.postgres_url().is_some() => {
                "the replica holds the same entries and every projection matches a rebuild"
            }
            Ok(()) => "every projection matches a rebuild",
            Err(m) => {
                eprintln!("FAILED in table {}: {m}", m.table);
                return Ok(ExitCode::from(1));
            }
        }
    };
    let witnessed = if witnesses.is_empty() {
        None
    } else {
        let checkpoints = store.checkpoints().map_err(|e| anyhow::anyhow!("{e}"))?;
        match publish::check_witnesses(db, witnesses, witness_quorum, &checkpoints, &key)? {
            Ok(what) => Some(what),
            Err(failure) => {
                eprintln!("FAILED: {failure}");
                return Ok(ExitCode::from(1));
            }
        }
    };
    println!(
        "OK: {} entries ({} bytes), {} checkpoints, {projections}",
        report.entries, report.bytes, report.checkpoints
    );
    println!("origin: {}", info.origin);
    println!("root: {}", to_hex(&report.root));
    if let Some(what) = witnessed {
        println!("{what}");
    }
    if let Some(s) = report.latest_checkpoint_size {
        if s < report.entries {
            println!("note: the latest checkpoint covers {s} entries; {} are not yet signed (run `habeas checkpoint`)", report.entries - s);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn load_tree(store: &dyn Store, size: u64) -> Result<Tree> {
    let leaves = store
        .leaf_hashes(size)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Tree::from_leaves(leaves))
}

fn proof_cmd(db: &DbArgs, proof: ProofCommand) -> Result<ExitCode> {
    let store = db.open_register()?;
    let info = store.info().map_err(|e| anyhow::anyhow!("{e}"))?;
    let size_now = store.size().map_err(|e| anyhow::anyhow!("{e}"))?;
    let checkpoints = store.checkpoints().map_err(|e| anyhow::anyhow!("{e}"))?;
    let signed_at = |size: u64| {
        checkpoints
            .iter()
            .rev()
            .find(|c| c.size == size)
            .map(|c| c.note.clone())
    };
    match proof {
        ProofCommand::Inclusion { index, size } => {
            let size = match size {
                Some(s) => s,
                None => checkpoints.last().map_or(0, |c| c.size),
            };
            if size > size_now {
                bail!("--size {size}: the register holds only {size_now} entries");
            }
            if index >= size {
                bail!("entry {index} is not in the tree of size {size}; sign a newer checkpoint with `habeas checkpoint` or pass --size");
            }
            let tree = load_tree(&*store, size)?;
            let bytes = store
                .entry(index)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .context("the entry is missing")?;
            let leaf = leaf_hash(&bytes);
            let path = tree.inclusion_proof(index, size)?;
            let root = tree.root_at(size)?;
            if !verify_inclusion(index, size, &leaf, &path, &root) {
                bail!("the proof does not verify: the register is damaged; run `habeas verify`");
            }
            if let Some(note) = signed_at(size) {
                let cp = Checkpoint::open(&note, &info.verifier)?;
                if cp.root != root {
                    bail!("the signed checkpoint of size {size} does not match the stored entries; run `habeas verify`");
                }
            }
            let out = serde_json::json!({
                "index": index,
                "size": size,
                "leaf_hash": to_hex(&leaf),
                "proof": path.iter().map(to_hex).collect::<Vec<_>>(),
                "root": to_hex(&root),
                "checkpoint": signed_at(size),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        ProofCommand::Consistency { first, second } => {
            if second > size_now {
                bail!("{second}: the register holds only {size_now} entries");
            }
            if first == 0 || first > second {
                bail!("a consistency proof needs 0 < A <= B (got A = {first}, B = {second})");
            }
            let tree = load_tree(&*store, second)?;
            let path = tree.consistency_proof(first, second)?;
            let (r1, r2) = (tree.root_at(first)?, tree.root_at(second)?);
            if !verify_consistency(first, second, &r1, &r2, &path) {
                bail!("the proof does not verify: the register is damaged; run `habeas verify`");
            }
            let out = serde_json::json!({
                "first": first,
                "second": second,
                "first_root": to_hex(&r1),
                "second_root": to_hex(&r2),
                "proof": path.iter().map(to_hex).collect::<Vec<_>>(),
                "first_checkpoint": signed_at(first),
                "second_checkpoint": signed_at(second),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn default_actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|a| !a.trim().is_empty())
        .map_or_else(|| "cli:unknown".into(), |u| format!("cli:{u}"))
}

fn logbook(db: &DbArgs, actor: &str, command: LogbookCommand) -> Result<ExitCode> {
    match command {
        LogbookCommand::Add {
            facility,
            text,
            place,
            corrects,
            reason,
        } => {
            let note = NewNote {
                facility,
                actor: actor.to_owned(),
                text,
                place,
                corrects: corrects.zip(reason),
            }
            .validate()
            .map_err(|e| anyhow::anyhow!("--{}: {}", flag_for(&e.field), e.message))?;
            let (_, register) = db.open_writer()?;
            let result = register.append(note.to_draft());
            register.shutdown();
            match result {
                Ok(r) => {
                    println!("recorded as entry {} at {}", r.index, r.time);
                    Ok(ExitCode::SUCCESS)
                }
                Err(AppendError::Rejected(rej)) => match rej.field {
                    Some(f) => bail!("--{}: {}", flag_for(&f), rej.message),
                    None => bail!("{}", rej.message),
                },
                Err(AppendError::Store(e)) => bail!("nothing was recorded: {e}"),
            }
        }
        LogbookCommand::List {
            facility,
            place,
            before,
            limit,
            format,
        } => {
            let store = db.open_store()?;
            let rows = store
                .logbook(&LogbookFilter {
                    facility,
                    place,
                    before,
                    limit: limit.clamp(1, 10_000),
                })
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Csv => {
                    println!("index,time,facility,actor,place,text,corrects,correction_reason,corrected_by");
                    for r in &rows {
                        let f = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
                        println!(
                            "{},{},{},{},{},{},{},{},{}",
                            r.index,
                            r.time,
                            f(&r.facility),
                            f(&r.actor),
                            f(r.place.as_deref().unwrap_or("")),
                            f(&r.text),
                            r.corrects.map(|c| c.to_string()).unwrap_or_default(),
                            f(r.correction_reason.as_deref().unwrap_or("")),
                            r.corrected_by.map(|c| c.to_string()).unwrap_or_default()
                        );
                    }
                }
                Format::Table => {
                    if rows.is_empty() {
                        println!("(no notes)");
                    }
                    for r in &rows {
                        let place = r
                            .place
                            .as_deref()
                            .map(|p| format!(" [{p}]"))
                            .unwrap_or_default();
                        let mark = match (r.corrects, r.corrected_by) {
                            (Some(c), _) => format!(
                                " (corrects #{c}: {})",
                                r.correction_reason.as_deref().unwrap_or("")
                            ),
                            (None, Some(by)) => format!(" (corrected by #{by})"),
                            _ => String::new(),
                        };
                        println!(
                            "#{:<7} {} {} {}{}: {}{}",
                            r.index, r.time, r.facility, r.actor, place, r.text, mark
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn stress_append(db: &DbArgs, threads: usize, count: usize, facility: &str) -> Result<ExitCode> {
    use std::io::Write as _;
    let (_, register) = db.open_register_writer()?;
    let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let handles: Vec<_> = (0..threads.max(1))
        .map(|t| {
            let register = register.clone();
            let out = out.clone();
            let facility = facility.to_owned();
            std::thread::spawn(move || -> Result<()> {
                for i in (t..count).step_by(threads.max(1)) {
                    let marker = format!("stress-{i:08}");
                    let note = NewNote {
                        facility: facility.clone(),
                        actor: "system:stress".into(),
                        text: format!("{marker} carga concurrente"),
                        place: None,
                        corrects: None,
                    }
                    .validate()
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let r = register
                        .append(note.to_draft())
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let mut o = out
                        .lock()
                        .map_err(|_| anyhow::anyhow!("stdout lock poisoned"))?;
                    writeln!(o, "ack {} {marker}", r.index)?;
                    o.flush()?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("a thread panicked"))??;
    }
    register.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// The command-line flag for a domain field name.
fn flag_for(field: &str) -> String {
    match field {
        "reason" | "corrects.reason" => "reason".into(),
        other => other.replace('_', "-"),
    }
}

/// `habeas check-answer`: checks a whereabouts answer file and says what it proves.
fn check_answer(
    file: &std::path::Path,
    key: &str,
    witnesses: &[String],
    quorum: Option<usize>,
) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let key = habeas_register::note::VerifierKey::parse(key)
        .map_err(|e| anyhow::anyhow!("--verifier-key: {e}"))?;
    let witnesses = witnesses
        .iter()
        .map(|w| {
            habeas_register::witness::CosignVerifierKey::parse(w)
                .map_err(|e| anyhow::anyhow!("--witness {w}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let quorum = quorum.unwrap_or(witnesses.len());
    match habeas_core::answer::check(&value, &key, &witnesses, quorum) {
        Ok(c) => {
            let a = &value["answer"];
            println!("OK: the answer verifies ({})", c.status);
            for p in &c.passed {
                println!("  ok  {p}");
            }
            for i in &c.unproven {
                println!("  --  entry {i} was recorded after the checkpoint: not proven by it");
            }
            if witnesses.is_empty() {
                println!("  note: no --witness given: the checkpoint is the register's word alone");
            }
            match c.status.as_str() {
                "held" => println!(
                    "held at {} since {}; legal basis {} {} ({})",
                    a["facility"].as_str().unwrap_or("?"),
                    a["since"].as_str().unwrap_or("?"),
                    a["legal_basis"]["kind"].as_str().unwrap_or("none"),
                    a["legal_basis"]["reference"].as_str().unwrap_or(""),
                    a["legal_basis"]["authority"].as_str().unwrap_or("")
                ),
                "not_held" => println!(
                    "not held: the register said so against its checkpoint of {} entries",
                    a["checkpoint"]["size"]
                ),
                other => println!(
                    "{other}: {}",
                    a["ended"]["at"]
                        .as_str()
                        .or(a["detail"].as_str())
                        .unwrap_or("")
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("FAILED: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
