//! `habeas bench ui`: the web UI's pages on the `cecot` scenario at 40,000 people, over real
//! sockets on 64 keep-alive connections. Every page a figure, a ratio to a constant page of the
//! same size served behind the same layers in the same run:
//!
//! * `ui.board`: the facility board (`/ui/board`): every cell with population, CNA and m²;
//! * `ui.person_file`: a person's file page (`/ui/persons/{id}?reason=…`), its reading made
//!   durable in the access log before the page is answered;
//! * `ui.compliance`: the compliance dashboard (`/ui/compliance`), drawn per request from the
//!   kept evaluation and its tally (the register does not grow during the load, so both are
//!   made once; the time an evaluation takes is printed beside the figures);
//! * `ui.cell`, `ui.search`, `ui.counts`, `ui.hearings`, `ui.contacts`, `ui.complaints`: a
//!   cell, a search by a common name, the roll count of a unit, and the three registers;
//! * `ui.harm`, `ui.death`: the case pages of the file (the scenario's escape, its first
//!   death), each read from the person's entries. Each page's p50 and p99 are printed beside
//!   its ratio.

use crate::bench::{figure, report, Figure};
use crate::bench_api::{get, listen, load, start_client};
use crate::system::{OsEntropy, SystemClock};
use anyhow::{Context as _, Result};
use habeas_demo::{generate, Options, Scenario};
use habeas_register::note::Signer;
use habeas_register::store::RegisterInfo;
use habeas_register::time::{Clock, ManualClock};
use habeas_register::writer::{Register, SeededEntropy, WriterConfig, WriterParts};
use habeas_register::Timestamp;
use habeas_store_sqlite::{Accounts, NewUser, SqliteStore};
use habeas_web::routes::{router, with_layers};
use habeas_web::state::{AppState, Metrics};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Seconds of load before each measured page load.
const WARM_UP: f64 = 0.5;

pub const UI_BASELINES: &str = "every ui.* page: an axum handler returning a constant HTML page of the same size, behind the same layers (request log, metrics, security headers), same client";

#[derive(Debug, Clone, clap::Args)]
pub struct UiBenchArgs {
    #[arg(long)]
    json: Option<PathBuf>,
    /// People held in the generated `cecot` scenario.
    #[arg(long, default_value_t = 40_000)]
    people: u32,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds each measurement lasts.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

impl UiBenchArgs {
    pub fn defaults(runs: usize) -> Self {
        Self {
            json: None,
            people: 40_000,
            connections: 64,
            seconds: 3.0,
            runs,
        }
    }
}

pub fn ui(args: &UiBenchArgs) -> Result<ExitCode> {
    let figures = ui_figures(args)?;
    report(&figures, args.json.as_deref(), &[UI_BASELINES])
}

fn e(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The scenario generated into `dir`, and a server state over it with a director's token.
/// The API tokens of the accounts the pages are read as.
struct Tokens {
    director: String,
    inspector: String,
    administrator: String,
}

/// A benchmark's access log: a register of its own, durable, with the system's clock.
pub(crate) fn access_log(
    path: &std::path::Path,
    origin: &str,
    seed: [u8; 32],
) -> Result<(Arc<SqliteStore>, Register)> {
    let signer = Signer::from_seed(origin, seed).map_err(e)?;
    let store = Arc::new(
        SqliteStore::create(
            path,
            &RegisterInfo {
                origin: origin.into(),
                verifier: signer.verifier(),
            },
        )
        .map_err(e)?,
    );
    let register = Register::start(WriterParts {
        sink: Box::new(store.sink().map_err(e)?),
        store: store.clone(),
        signer,
        clock: Arc::new(SystemClock),
        entropy: Arc::new(OsEntropy::default()),
        config: WriterConfig::default(),
    })
    .map_err(e)?;
    Ok((store, register))
}

fn served(dir: &std::path::Path, people: u32) -> Result<(Arc<AppState>, Register, Tokens, u64)> {
    let path = dir.join("ui.db");
    let origin = "habeas.bench/ui";
    let signer = Signer::from_seed(origin, [6; 32]).map_err(e)?;
    let store = Arc::new(
        SqliteStore::create(
            &path,
            &RegisterInfo {
                origin: origin.into(),
                verifier: signer.verifier(),
            },
        )
        .map_err(e)?,
    );
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-01-01T00:00:00.000Z").map_err(e)?,
    ));
    let register = Register::start(WriterParts {
        sink: Box::new(store.sink().map_err(e)?),
        store: store.clone(),
        signer,
        clock: clock.clone(),
        entropy: Arc::new(SeededEntropy::new(11)),
        config: WriterConfig::default(),
    })
    .map_err(e)?;
    eprintln!("habeas bench ui: generating cecot with {people} people (1 day)…");
    let generated = generate(
        &store,
        &register,
        &clock,
        Options {
            scenario: Scenario::Cecot,
            population: people,
            days: 1,
            seed: 11,
        },
        &mut |_, _, _| {},
    );
    register.shutdown();
    generated.map_err(e)?;
    // The access log, and a director of CECOT with an API token.
    let (access_store, access) =
        access_log(&dir.join("ui.db.access"), "habeas.bench/ui/access", [7; 32])?;
    let accounts = Accounts::open(&path).map_err(e)?;
    let now = SystemClock.now().millis();
    // A director of the facility, an inspector and an administrator, each with a token: every
    // page is measured as the role that uses it.
    let mut tokens = Vec::new();
    for (username, role, facilities) in [
        ("bench", "director", vec!["CECOT".to_owned()]),
        ("bench.inspector", "inspector", vec![]),
        ("bench.admin", "administrator", vec![]),
    ] {
        accounts
            .add_user(
                &NewUser {
                    username,
                    role,
                    facilities: &facilities,
                    password_hash: &habeas_web::auth::hash_password("bench-password-1")
                        .map_err(e)?,
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
                username,
                "bench",
                now,
            )
            .map_err(e)?;
        tokens.push(token);
    }
    let tokens = Tokens {
        director: tokens[0].clone(),
        inspector: tokens[1].clone(),
        administrator: tokens[2].clone(),
    };
    // A person held in the first cell, for the file page.
    let cells = store.cells(Some("CECOT")).map_err(e)?;
    let first = cells.first().context("the scenario has no cells")?;
    let view = store
        .cell_view("CECOT", &first.code, "2025-01-01", 1)
        .map_err(e)?;
    let person = view
        .occupants
        .first()
        .map(|o| o.person)
        .context("the first cell is empty")?;
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
        transparency: Default::default(),
        signer: None,
    });
    Ok((state, access, tokens, person))
}

pub(crate) fn ui_figures(args: &UiBenchArgs) -> Result<Vec<Figure>> {
    let dir = std::env::temp_dir().join(format!("habeas-bench-ui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    start_client()?;
    let (state, access, tokens, person) = served(&dir, args.people)?;
    let first_cell = state
        .store
        .cells(Some("CECOT"))
        .map_err(e)?
        .first()
        .map(|c| c.code.clone())
        .context("the scenario has no cells")?;
    // The custody the scenario's escape ended, and the first death's: the file's case pages.
    let escaped = state
        .store
        .harm_cases(Some("CECOT"))
        .map_err(e)?
        .into_iter()
        .find(|c| c.kind == "escape")
        .map(|c| c.booking)
        .context("the scenario has no escape")?;
    let died = state
        .store
        .death_cases(Some("CECOT"))
        .map_err(e)?
        .first()
        .map(|c| c.booking)
        .context("the scenario has no death")?;
    let runtime = crate::bench_api::server_runtime()?;
    let conns = args.connections;
    // Each page's runs: (figure, [(page/s, constant/s)]).
    let mut measured: Vec<(&str, Vec<(f64, f64)>)> = Vec::new();
    // What a page pays when the evaluation it shows must be made again.
    let clock = crate::system::Stopwatch::start();
    let made = habeas_web::evaluations::Evaluations::default()
        .get(
            &state.store,
            &*state.clock,
            Some("CECOT"),
            habeas_core::dates::Date::of(state.clock.now()),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "  one compliance evaluation of CECOT: {:.0} ms ({} findings)",
        clock.secs() * 1000.0,
        made.findings.len()
    );
    for run in 0..args.runs.max(1) {
        let director = tokens.director.as_str();
        let inspector = tokens.inspector.as_str();
        let pages: [(&str, &str, String, &str); 16] = [
            (
                "board",
                "ui.board",
                "/ui/board?facility=CECOT".to_owned(),
                director,
            ),
            (
                "person file",
                "ui.person_file",
                format!("/ui/persons/{person}?reason=inspection"),
                director,
            ),
            (
                "compliance",
                "ui.compliance",
                "/ui/compliance?facility=CECOT".to_owned(),
                director,
            ),
            (
                "cell",
                "ui.cell",
                format!("/ui/cells/CECOT/{first_cell}"),
                director,
            ),
            (
                "search",
                "ui.search",
                "/ui/persons?q=Mar%C3%ADa".to_owned(),
                director,
            ),
            (
                "counts",
                "ui.counts",
                "/ui/counts?facility=CECOT".to_owned(),
                director,
            ),
            (
                "hearings",
                "ui.hearings",
                "/ui/hearings?facility=CECOT".to_owned(),
                director,
            ),
            (
                "contacts",
                "ui.contacts",
                "/ui/contacts?facility=CECOT".to_owned(),
                director,
            ),
            (
                "complaints",
                "ui.complaints",
                "/ui/complaints?facility=CECOT&status=all".to_owned(),
                director,
            ),
            (
                "escape case",
                "ui.harm",
                format!("/ui/harm?booking={escaped}"),
                director,
            ),
            (
                "death case",
                "ui.death",
                format!("/ui/death?booking={died}"),
                director,
            ),
            (
                "admission",
                "ui.admission",
                "/ui/admissions?facility=CECOT".to_owned(),
                director,
            ),
            (
                "national",
                "ui.national",
                "/ui/national".to_owned(),
                inspector,
            ),
            (
                "register",
                "ui.register",
                "/ui/register".to_owned(),
                inspector,
            ),
            (
                "access log",
                "ui.access_log",
                "/ui/access-log".to_owned(),
                inspector,
            ),
            (
                "accounts",
                "ui.accounts",
                "/ui/accounts".to_owned(),
                tokens.administrator.as_str(),
            ),
        ];
        for (name, figure_name, path, token) in pages {
            let (p, c) = runtime.block_on(async {
                let addr = listen(router(state.clone())).await?;
                let requests: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync> = {
                    let (path, token) = (path.clone(), token.to_owned());
                    Arc::new(move |_| get(&path, &token))
                };
                let probe = load(addr, 1, 0.2, None, requests.clone()).await?;
                let constant = "x".repeat(probe.body_bytes.max(1));
                let app = with_layers(
                    axum::Router::new().route(
                        "/ui/constant",
                        axum::routing::get(move || {
                            let body = constant.clone();
                            async move { ([("content-type", "text/html; charset=utf-8")], body) }
                        }),
                    ),
                    state.clone(),
                );
                let caddr = listen(app).await?;
                crate::bench::settle();
                // A short run first, so that the server's threads exist before the measured one.
                load(addr, conns, WARM_UP, None, requests.clone()).await?;
                let p = load(addr, conns, args.seconds, None, requests).await?;
                let c = load(
                    caddr,
                    conns,
                    args.seconds,
                    None,
                    Arc::new(|_| get("/ui/constant", "x")),
                )
                .await?;
                Ok::<_, anyhow::Error>((p, c))
            })?;
            eprintln!(
                "  run {}: {name} {:.0}/s ({} bytes) against a constant page {:.0}/s: {:.2}; p50 {:.1} ms p99 {:.1} ms",
                run + 1,
                p.per_second,
                p.body_bytes,
                c.per_second,
                p.per_second / c.per_second,
                p.p50_ms,
                p.p99_ms
            );
            match measured.iter_mut().find(|(f, _)| *f == figure_name) {
                Some((_, runs)) => runs.push((p.per_second, c.per_second)),
                None => measured.push((figure_name, vec![(p.per_second, c.per_second)])),
            }
        }
    }
    runtime.shutdown_background();
    access.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(measured
        .iter()
        .map(|(name, runs)| figure(name, "req/s", 0.0, runs))
        .collect())
}
