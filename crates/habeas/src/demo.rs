//! `habeas demo`: a living facility at real scale from one command.

use crate::custody_cli::{population, Out};
use crate::open::{write_signer, DbArgs};
use anyhow::{bail, Context as _, Result};
use habeas_demo::{generate, Options, Scenario};
use habeas_register::merkle::to_hex;
use habeas_register::note::Signer;
use habeas_register::store::{LogSink, RegisterInfo, StoreError};
use habeas_register::time::ManualClock;
use habeas_register::verify::verify;
use habeas_register::writer::{Register, SeededEntropy, WriterConfig, WriterParts};
use habeas_register::Timestamp;
use habeas_store_postgres::PostgresStore;
use habeas_store_sqlite::SqliteStore;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// cecot (the regime as reported), mandela (the same building within the rules) or
    /// national (25 facilities, for benchmarks).
    #[arg(long, default_value = "cecot")]
    scenario: String,
    /// People held at the end [default: 14,500 for cecot, 6,000 for mandela, 110,000 for national].
    #[arg(long, alias = "scale")]
    population: Option<u32>,
    /// Days of daily regime to generate, ending on 2025-05-31 [default: 90; 7 for national].
    #[arg(long)]
    days: Option<u32>,
    /// The same seed gives the same register.
    #[arg(long, default_value_t = 2025)]
    seed: u64,
    /// Replace an existing store at --db.
    #[arg(long)]
    replace: bool,
    /// Do not serve the web UI afterwards.
    #[arg(long)]
    no_serve: bool,
    /// Where the web UI is served afterwards.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
}

/// What every demo register's origin begins with.
const DEMO_ORIGIN: &str = "habeas.demo/";

/// The origin of the register at `path` (read without changing the file), or why there is
/// none: a file that is not a register is not replaced either.
fn demo_origin(path: &std::path::Path) -> Result<String> {
    if !path.exists() {
        // A signing key without its store: whose it is cannot be told, so it is kept.
        bail!(
            "--replace: {} does not exist but its signing key does; nothing was removed (move the key away if it is a demo's)",
            path.display()
        );
    }
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| {
            format!(
                "--replace: cannot read {}; nothing was removed",
                path.display()
            )
        })?;
    c.query_row(
        "SELECT value FROM register_meta WHERE key = 'origin'",
        [],
        |r| r.get(0),
    )
    .with_context(|| {
        format!(
            "--replace: {} is not a Habeas register; nothing was removed",
            path.display()
        )
    })
}

/// Renames the files `<db><suffix>` that exist to `<db><suffix>.replaced-N` (the first N
/// free for all of them); the new name of the first, if any was kept.
fn keep_aside(db: &std::path::Path, suffixes: &[&str]) -> Result<Option<String>> {
    let name = |suffix: &str, extra: &str| {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        p.push(extra);
        std::path::PathBuf::from(p)
    };
    let present: Vec<&str> = suffixes
        .iter()
        .copied()
        .filter(|s| name(s, "").exists())
        .collect();
    if present.is_empty() {
        return Ok(None);
    }
    let n = (1u32..)
        .find(|n| {
            present
                .iter()
                .all(|s| !name(s, &format!(".replaced-{n}")).exists())
        })
        .unwrap_or(0);
    for s in &present {
        let to = name(s, &format!(".replaced-{n}"));
        std::fs::rename(name(s, ""), &to)
            .with_context(|| format!("cannot keep {} aside", to.display()))?;
    }
    Ok(Some(
        name(present[0], &format!(".replaced-{n}"))
            .display()
            .to_string(),
    ))
}

pub fn run(db: &DbArgs, args: DemoArgs) -> Result<ExitCode> {
    let Some(scenario) = Scenario::parse(&args.scenario) else {
        bail!(
            "--scenario: {:?} is not cecot, mandela or national",
            args.scenario
        );
    };
    let people = args.population.unwrap_or(scenario.default_population());
    let days = args.days.unwrap_or(if scenario == Scenario::National {
        7
    } else {
        90
    });
    let key_path = db.signing_key_path()?;
    let local = db.local_path()?;
    // On PostgreSQL the demo goes into a database (or schema) that holds no register yet: a
    // register there is never replaced, and nothing here is removed if one is found.
    if let Some(url) = db.postgres_url() {
        match PostgresStore::open(url) {
            Err(StoreError::NotInitialised(_)) => {}
            Ok(p) => bail!("--db: the {} holds a register already; the demo on PostgreSQL goes into a database or schema that holds none (a register is never replaced)", p.place()),
            Err(e) => bail!("--db: {e}"),
        }
    }
    if local.exists() || key_path.exists() {
        if !args.replace {
            bail!("{} exists already; pass --replace to generate the demo over it, or choose another --db", local.display());
        }
        // Only a demo is replaced: nothing else in Habeas deletes a store.
        let origin = demo_origin(&local)?;
        if !origin.starts_with(DEMO_ORIGIN) {
            bail!(
                "--replace: {} is the register of {origin:?}, not a demo ({DEMO_ORIGIN}…); nothing was removed. --replace replaces only a demo's register",
                local.display()
            );
        }
        // An access log is never deleted: the demo's is kept beside it under a new name.
        let kept = keep_aside(
            &local,
            &[".access", ".access-wal", ".access-shm", ".access.key"],
        )?;
        if let Some(kept) = kept {
            println!("the replaced demo's access log is kept as {kept}");
        }
        if db.postgres_url().is_some() {
            // (On PostgreSQL the access log's key is beside the signing key.)
            keep_aside(&key_path, &[".access"])?;
        }
        // The demo's store (or replica) and its keys go together.
        // (The demo's witness goes too: the new demo has the same origin and key, and a
        // witness that kept the old one's tree would rightly refuse the new one as a fork.)
        for suffix in [
            "",
            "-wal",
            "-shm",
            "-writer.lock",
            ".access-writer.lock",
            ".session.key",
            ".secrets.key",
            ".witness.db",
            ".witness.db-wal",
            ".witness.db-shm",
            ".witness.key",
            ".witness.log",
        ] {
            let mut p = local.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        let _ = std::fs::remove_file(&key_path);
        if db.postgres_url().is_some() {
            for suffix in [".secrets", ".session"] {
                let mut p = key_path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
    let origin = format!("habeas.demo/{}/seed-{}", scenario.name(), args.seed);
    let seed: [u8; 32] = Sha256::digest(format!("habeas demo key {}", args.seed)).into();
    let signer = Signer::from_seed(&origin, seed).map_err(|e| anyhow::anyhow!("{e}"))?;
    let info = RegisterInfo {
        origin: origin.clone(),
        verifier: signer.verifier(),
    };
    let primary = match db.postgres_url() {
        Some(url) => {
            Some(PostgresStore::create(url, &info).map_err(|e| anyhow::anyhow!("--db: {e}"))?)
        }
        None => None,
    };
    write_signer(&key_path, &signer)?;
    let (store, sink): (Arc<SqliteStore>, Box<dyn LogSink>) = match &primary {
        Some(primary) => crate::replica::writer(
            primary,
            &local,
            Some(std::time::Duration::ZERO),
            "habeas demo",
        )?,
        None => {
            let store =
                Arc::new(SqliteStore::create(&local, &info).map_err(|e| anyhow::anyhow!("{e}"))?);
            let sink = store.sink().map_err(|e| anyhow::anyhow!("{e}"))?;
            (store, Box::new(sink))
        }
    };
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-01-01T00:00:00.000Z").map_err(|e| anyhow::anyhow!("{e}"))?,
    ));
    let register = Register::start(WriterParts {
        sink,
        store: store.clone(),
        signer,
        clock: clock.clone(),
        entropy: Arc::new(SeededEntropy::new(args.seed)),
        // One signed checkpoint per simulated day, and every 10,000 entries.
        config: WriterConfig {
            checkpoint_every_entries: 10_000,
            checkpoint_every_millis: 86_400_000,
            ..WriterConfig::default()
        },
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "Generating the {} scenario: {people} people, {} days ending 2025-05-31, seed {} (synthetic people only)",
        scenario.name(),
        days,
        args.seed
    );
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut stage = String::new();
    let mut progress = |name: &str, done: u64, total: u64| {
        if name != stage {
            stage = name.to_owned();
            bar.set_prefix(name.to_owned());
            bar.set_length(total);
        }
        bar.set_position(done);
    };
    let opts = Options {
        scenario,
        population: people,
        days,
        seed: args.seed,
    };
    let report = generate(&store, &register, &clock, opts, &mut progress);
    bar.finish_and_clear();
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            register.shutdown();
            bail!("{e}");
        }
    };
    register.checkpoint().map_err(|e| anyhow::anyhow!("{e}"))?;
    register.shutdown();
    // What is verified is the register itself: on PostgreSQL, the database, not the replica.
    let verified = match &primary {
        Some(p) => verify(p, &info.verifier),
        None => verify(&*store, &info.verifier),
    }
    .map_err(|e| anyhow::anyhow!("the generated register does not verify: {e}"))?;
    println!(
        "The {} scenario, {} to {}:",
        scenario.name(),
        report.first_day,
        report.last_day
    );
    println!(
        "  {} people admitted ({} under the custody agreement), {} deaths in custody, {} releases, {} escapes",
        report.admitted,
        report.foreign_under_agreement,
        report.deaths,
        report.releases,
        report.escapes
    );
    println!(
        "  {} whole-cell movements, {} roll counts, {} register entries",
        report.movements, report.counts, verified.entries
    );
    println!(
        "  register {} verified: root {}",
        origin,
        to_hex(&verified.root)
    );
    println!();
    if scenario == Scenario::National {
        println!(
            "  (population per unit of all 25 facilities: habeas {} population)",
            db.flags()
        );
    } else {
        population(db, Some("CECOT".into()), Out::Table)?;
    }
    println!();
    println!("Explore it from the command line:");
    let db_flag = db.flags();
    for (cmd, what) in [
        (
            "population",
            "population, capacity and m² per person per unit",
        ),
        (
            "estate show --facility CECOT",
            "every cell: area, bunks, CNA, population, lighting",
        ),
        (
            "person show 300",
            "a person's file: identity, legal basis, history",
        ),
        (
            "count report --facility CECOT --date 2025-05-31",
            "the day's roll counts",
        ),
        ("death list", "deaths in custody and their pending steps"),
        (
            "harm list",
            "serious injuries and illnesses and their pending steps",
        ),
        (
            "verify",
            "recompute the whole register and check every checkpoint",
        ),
    ] {
        println!("  habeas {db_flag} {cmd:<48} # {what}");
    }
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    // The scoped accounts work in CECOT (or, in a scenario without it, the first facility).
    let codes = db
        .open_store()?
        .facility_codes()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let facility = codes
        .iter()
        .find(|c| c.as_str() == "CECOT")
        .or(codes.first())
        .context("the demo has no facility")?;
    let accounts = crate::users::demo_accounts(db, facility, DEMO_PASSWORD)?;
    println!();
    println!(
        "The web UI: http://{}/ — every demo account's password is {DEMO_PASSWORD}",
        args.listen
    );
    for (role, username, totp) in &accounts {
        println!("  {username:<18} {role}");
        if let Some(uri) = totp {
            println!("  {:<18} second factor: {uri}", "");
            if let Some(secret) = uri
                .split("secret=")
                .nth(1)
                .and_then(|s| s.split('&').next())
            {
                println!("  {:<18} (the code: oathtool --totp -b {secret})", "");
            }
        }
    }
    // One witness beside the register, in a process and store of its own: the server sends it
    // every checkpoint, and `/checkpoint` serves the one it cosigned.
    let witness = DemoWitness::start(&local, &origin, &info.verifier.to_string())?;
    println!();
    println!(
        "A witness cosigns the register's checkpoints: its verifier key is {}",
        witness.vkey
    );
    println!(
        "The public tree: http://{}/checkpoint and /tile/… (check it: python3 tools/tlog_client.py check --url http://{}/ --key {} --witness {})",
        args.listen, args.listen, info.verifier, witness.vkey
    );
    println!("Stop it with Ctrl-C; `habeas {db_flag} serve` serves it again.");
    let served = crate::serve::run(
        db,
        crate::serve::ServeArgs::local(args.listen)
            .with_witness(format!("{}@{}", witness.vkey, witness.url)),
    );
    drop(witness);
    served
}

/// The demo's witness: `habeas witness serve` on `<db>.witness.db` with the key
/// `<db>.witness.key` (made the first time), stopped with the demo.
struct DemoWitness {
    child: std::process::Child,
    vkey: String,
    url: String,
}

impl Drop for DemoWitness {
    fn drop(&mut self) {
        // Its standard input closes with this process, which stops it too.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DemoWitness {
    fn start(local: &std::path::Path, origin: &str, register_vkey: &str) -> Result<Self> {
        use std::io::BufRead as _;
        let beside = |suffix: &str| {
            let mut p = local.as_os_str().to_owned();
            p.push(suffix);
            std::path::PathBuf::from(p)
        };
        let key = beside(".witness.key");
        if !key.exists() {
            let cosigner = habeas_register::witness::CosignerKey::from_seed(
                "habeas.demo/witness",
                crate::system::key_seed()?,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::open::write_secret_file(&key, &cosigner.to_secret_string())?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(beside(".witness.log"))
            .context("cannot open the witness's log")?;
        let mut child = std::process::Command::new(
            std::env::current_exe().context("cannot find this program to start the witness")?,
        )
        .env_remove("HABEAS_DB")
        .env_remove("HABEAS_KEY")
        .args(["witness", "serve", "--until-stdin-closes", "--key"])
        .arg(&key)
        .arg("--db")
        .arg(beside(".witness.db"))
        .args([
            "--log",
            &format!("{origin}={register_vkey}"),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .context("cannot start the demo's witness")?;
        let out = child.stdout.take().context("the witness's output")?;
        let (mut vkey, mut url) = (None, None);
        for line in std::io::BufReader::new(out).lines() {
            let line = line?;
            if let Some(k) = line.strip_prefix("verifier key: ") {
                vkey = Some(k.to_owned());
            } else if let Some(u) = line.strip_prefix("listening on ") {
                url = Some(u.to_owned());
                break;
            }
        }
        let (Some(vkey), Some(url)) = (vkey, url) else {
            let _ = child.kill();
            bail!(
                "the demo's witness stopped before listening (see {})",
                beside(".witness.log").display()
            );
        };
        Ok(Self { child, vkey, url })
    }
}

/// The demo accounts' password (a demo only: real accounts choose their own).
const DEMO_PASSWORD: &str = "demo-habeas-2025";
