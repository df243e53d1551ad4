//! `habeas bench whereabouts`: the court's question over a national register (2,000,000
//! people by default), through the server as a court asks it (`POST /api/whereabouts` with an
//! API token), each answer found by identity document, signed, resting on the person's entries
//! with their inclusion proofs in the published checkpoint, and logged before it leaves.
//!
//! The people, their documents, custodies and orders are written straight into a scratch
//! store's log and projection tables, with a signed checkpoint over the real tree (generating
//! two million admissions through the register would take most of an hour and measure
//! something else). Figures:
//!
//! * `whereabouts.p99`: the slowest hundredth of the answers at a fixed rate, against the bar
//!   of 20 ms (the ratio is 20 ms over the p99, so ≥ 1 meets it);
//! * `whereabouts.rate`: answers per second, closed loop, against the same server's constant
//!   page of the answer's size (the HTTP path alone), as `bench ui` measures pages.

use crate::bench::{figure, report, Figure};
use crate::bench_api::{listen, load, start_client};
use crate::system::{Stopwatch, SystemClock};
use anyhow::{Context as _, Result};
use habeas_register::merkle::{leaf_hash, Frontier};
use habeas_register::note::{Checkpoint, Signer};
use habeas_register::store::RegisterInfo;
use habeas_register::time::Clock as _;
use habeas_store_sqlite::{Accounts, NewUser, SqliteStore};
use habeas_web::routes::{router, with_layers};
use habeas_web::state::{AppState, Metrics};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub const WHEREABOUTS_BASELINE: &str = "whereabouts: answers per second against a constant page of the answer's size on the same server; whereabouts.p99 at a fixed rate against the bar of 20 ms";

#[derive(Debug, Clone, clap::Args)]
pub struct WhereaboutsBenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// People in the register.
    #[arg(long, default_value_t = 2_000_000)]
    people: u64,
    /// Seconds each measurement lasts.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Answers per second of the fixed-rate run.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

impl WhereaboutsBenchArgs {
    pub fn defaults(runs: usize) -> Self {
        Self {
            json: None,
            people: 2_000_000,
            seconds: 3.0,
            rate: 100.0,
            runs,
        }
    }
}

pub fn whereabouts(args: &WhereaboutsBenchArgs) -> Result<ExitCode> {
    let figures = whereabouts_figures(args)?;
    report(&figures, args.json.as_deref(), &[WHEREABOUTS_BASELINE])
}

fn e(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

pub(crate) fn whereabouts_figures(args: &WhereaboutsBenchArgs) -> Result<Vec<Figure>> {
    let dir = std::env::temp_dir().join(format!("habeas-bench-where-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = run(args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The document number of person `i`.
fn document(i: u64) -> String {
    format!("{:08}-{}", i, i % 10)
}

/// Writes `people` admissions (tiny entries: the answer reads only their bytes and leaf
/// hashes) with their projections, and signs a checkpoint over them.
fn populate(path: &std::path::Path, people: u64, signer: &Signer) -> Result<()> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;")?;
    let tx = conn.transaction()?;
    let mut frontier = Frontier::new();
    {
        let mut log =
            tx.prepare("INSERT INTO register_log (idx, leaf, bytes) VALUES (?1, ?2, ?3)")?;
        let mut person = tx.prepare(
            "INSERT INTO persons (person, given_names, surnames, birth_date, sex, nationalities, search_name)
             VALUES (?1, ?2, ?3, '1990-01-01', 'male', 'SV', ?4)",
        )?;
        let mut doc = tx.prepare(
            "INSERT INTO person_documents (kind, number, issuer, person) VALUES ('DUI', ?1, 'SV', ?2)",
        )?;
        let mut custody = tx.prepare(
            "INSERT INTO custodies (booking, person, facility, admitted_at, legal_status, foreign_national)
             VALUES (?1, ?1, ?2, '2024-03-01T10:00:00.000Z', 'remand', 0)",
        )?;
        let mut order = tx.prepare(
            "INSERT INTO commitment_orders (booking, n, kind, authority, reference, issued, expires, review, sentence_days, idx)
             VALUES (?1, 0, 'pretrial_detention', 'Juzgado Especializado de Instrucción', ?2, '2024-03-01', '2026-03-01', NULL, NULL, ?1)",
        )?;
        let names = habeas_demo::salvadoran_names(2027);
        for (i, (given, surnames)) in (0..people).zip(names) {
            let bytes = format!(
                "{{\"index\":{i},\"kind\":\"custody.admitted\",\"facility\":\"F{:02}\",\"bench\":true}}",
                i % 25
            );
            let leaf = leaf_hash(bytes.as_bytes());
            frontier.push(leaf);
            log.execute(rusqlite::params![i as i64, &leaf[..], bytes.as_bytes()])?;
            let folded = habeas_core::ids::search_key(&format!("{given} {}", surnames.join(" ")));
            person.execute(rusqlite::params![
                i as i64,
                given,
                surnames.join(" "),
                folded
            ])?;
            doc.execute(rusqlite::params![document(i).replace('-', ""), i as i64])?;
            custody.execute(rusqlite::params![i as i64, format!("F{:02}", i % 25)])?;
            order.execute(rusqlite::params![i as i64, format!("{i}-2024")])?;
        }
    }
    let note = Checkpoint {
        origin: signer.name().to_owned(),
        size: frontier.size(),
        root: frontier.root(),
    }
    .sign(signer)
    .map_err(e)?;
    tx.execute(
        "INSERT INTO register_checkpoints (size, made_at, note) VALUES (?1, ?2, ?3)",
        rusqlite::params![frontier.size() as i64, SystemClock.now().to_string(), note],
    )?;
    tx.commit()?;
    conn.execute_batch("ANALYZE")?;
    Ok(())
}

fn run(args: &WhereaboutsBenchArgs, dir: &std::path::Path) -> Result<Vec<Figure>> {
    let origin = "habeas.bench/whereabouts";
    let signer = Signer::from_seed(origin, [8; 32]).map_err(e)?;
    let path = dir.join("where.db");
    SqliteStore::create(
        &path,
        &RegisterInfo {
            origin: origin.into(),
            verifier: signer.verifier(),
        },
    )
    .map_err(e)?;
    eprintln!(
        "habeas bench whereabouts: writing {} people, their documents, custodies and orders, and a checkpoint…",
        args.people
    );
    let clock = Stopwatch::start();
    populate(&path, args.people, &signer)?;
    eprintln!("  written in {:.0} s", clock.secs());
    let store = Arc::new(SqliteStore::open(&path).map_err(e)?);
    // The access log: every answer is logged, durably, before it leaves.
    let (access_store, access) = crate::bench_ui::access_log(
        &dir.join("where.db.access"),
        "habeas.bench/whereabouts/access",
        [9; 32],
    )?;
    let accounts = Accounts::open(&path).map_err(e)?;
    let now = SystemClock.now().millis();
    accounts
        .add_user(
            &NewUser {
                username: "bench.court",
                role: "court",
                facilities: &[],
                password_hash: &habeas_web::auth::hash_password("bench-password-1").map_err(e)?,
                totp_secret: None,
                language: "es",
            },
            now,
        )
        .map_err(e)?;
    let token = habeas_web::auth::new_secret().map_err(e)?;
    accounts
        .add_token(
            &habeas_web::auth::secret_hash(&token),
            "bench.court",
            "bench",
            now,
        )
        .map_err(e)?;
    let transparency = Arc::new(habeas_web::transparency::Transparency::without_witnesses());
    // The tile cache warmed as `habeas serve` warms it at start.
    let warm = Stopwatch::start();
    transparency.warm(&store).map_err(e)?;
    eprintln!("  tile cache warmed in {:.1} s", warm.secs());
    let state = Arc::new(AppState {
        store,
        register: None,
        accounts: Arc::new(accounts),
        access: access.clone(),
        access_store,
        clock: Arc::new(SystemClock),
        metrics: Metrics::default(),
        tls: false,
        cookie_key: habeas_web::auth::CookieKey::generate().map_err(e)?,
        evaluations: Default::default(),
        signin_limits: Default::default(),
        transparency,
        signer: Some(Arc::new(signer)),
    });
    start_client()?;
    let runtime = crate::bench_api::server_runtime()?;
    let people = args.people.max(1);
    let ask: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync> = {
        let token = token.clone();
        Arc::new(move |i| {
            // Spread over the register: a multiplicative walk, so that proofs touch every part
            // of the tree.
            let who = (i as u64).wrapping_mul(2_654_435_761) % people;
            let body = format!(
                "{{\"document\":{{\"kind\":\"DUI\",\"number\":\"{}\"}},\"purpose\":\"bench\",\"case_reference\":\"B-{i}\"}}",
                document(who)
            );
            format!(
                "POST /api/whereabouts HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        })
    };
    let mut rates = Vec::new();
    let mut p99s = Vec::new();
    for run in 0..args.runs.max(1) {
        let (fixed, closed, constant) = runtime.block_on(async {
            let addr = listen(router(state.clone())).await?;
            let probe = load(addr, 1, 0.2, None, ask.clone()).await?;
            let page = "x".repeat(probe.body_bytes.max(1));
            let app = with_layers(
                axum::Router::new().route(
                    "/constant",
                    axum::routing::get(move || {
                        let body = page.clone();
                        async move { ([("content-type", "application/json")], body) }
                    }),
                ),
                state.clone(),
            );
            let caddr = listen(app).await?;
            crate::bench::settle();
            let fixed = load(addr, 8, args.seconds, Some(args.rate), ask.clone()).await?;
            let closed = load(addr, 8, args.seconds, None, ask.clone()).await?;
            let constant = load(
                caddr,
                8,
                args.seconds,
                None,
                Arc::new(|_| b"GET /constant HTTP/1.1\r\nHost: bench\r\n\r\n".to_vec()),
            )
            .await?;
            Ok::<_, anyhow::Error>((fixed, closed, constant))
        })?;
        eprintln!(
            "  run {}: at {:.0}/s p50 {:.1} ms p99 {:.1} ms; closed loop {:.0} answers/s ({} bytes) against a constant page {:.0}/s: {:.3}",
            run + 1,
            args.rate,
            fixed.p50_ms,
            fixed.p99_ms,
            closed.per_second,
            closed.body_bytes,
            constant.per_second,
            closed.per_second / constant.per_second
        );
        rates.push((closed.per_second, constant.per_second));
        p99s.push((20.0 / fixed.p99_ms.max(1e-6), 1.0));
    }
    runtime.shutdown_background();
    access.shutdown();
    Ok(vec![
        figure("whereabouts.rate", "answers/s", 0.0, &rates),
        figure("whereabouts.p99", "20ms/p99", 1.0, &p99s),
    ])
}
