//! `habeas bench api`: the server over real sockets, driven by a small HTTP/1.1 client on 64
//! keep-alive connections. Two figures, each a ratio to a baseline measured in the same run:
//!
//! * `api.append`: single-entry appends (`POST /api/records`, a family visit) with the
//!   register's group commit, against the same endpoint with one commit per request;
//! * `api.person_file`: `GET /api/persons/{id}` (authorization, the file and its history, and the
//!   access-log entry made durable before the answer) against a constant handler that returns
//!   a body of the same size.
//!
//! Throughput is measured closed-loop (each connection sends as soon as it has its answer);
//! latency at a fixed rate of half that throughput, open-loop, from each request's intended
//! start (so that a stall counts against every request it delays).

use crate::bench::{
    admission_drafts, cecot_estate, figure, fresh_at, fresh_cecot_at, pipelined, report, Figure,
    Place,
};
use crate::system::{Stopwatch, SystemClock};
use anyhow::{bail, Context, Result};
use habeas_register::time::Clock;
use habeas_register::writer::{Register, WriterConfig};
use habeas_store_sqlite::{Accounts, NewUser};
use habeas_web::routes::router;
use habeas_web::state::{AppState, Metrics};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

pub const API_BASELINES: &str = "api.append: the same endpoint with the writer committing each request alone (max_batch 1), same durability; api.person_file: an axum handler returning a constant body of the same size, behind the same layers (request log, metrics, security headers), same client";

/// QUALITY.md's bar for appends at a fixed rate of half the maximum: p99 under 10 ms.
const APPEND_P99_MS: f64 = 10.0;

#[derive(Debug, Clone, clap::Args)]
pub struct ApiBenchArgs {
    #[arg(long)]
    json: Option<PathBuf>,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds each measurement lasts.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl ApiBenchArgs {
    pub fn defaults(runs: usize) -> Self {
        Self {
            json: None,
            connections: 64,
            seconds: 3.0,
            runs,
            dir: None,
        }
    }
}

pub fn api(args: &ApiBenchArgs, postgres: Option<&str>) -> Result<ExitCode> {
    let figures = api_figures_at(args, postgres)?;
    report(&figures, args.json.as_deref(), &[API_BASELINES])
}

/// One request over a keep-alive connection: its status and body length.
async fn exchange(conn: &mut BufStream<TcpStream>, request: &[u8]) -> Result<(u16, usize)> {
    conn.write_all(request).await?;
    conn.flush().await?;
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP answer: {line:?}"))?;
    let mut length = 0usize;
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).await?;
    Ok((status, length))
}

/// The client's own runtime, one thread apart from the server's workers (as a load generator
/// in another process would be): the two do not queue behind each other's tasks. Started by
/// [`api_figures`] before any load.
static CLIENT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();

pub(crate) fn start_client() -> Result<()> {
    if CLIENT.get().is_none() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-client")
            .enable_all()
            .build()?;
        let _ = CLIENT.set(rt);
    }
    Ok(())
}

/// The runtime a benchmark serves on, set up as `habeas serve` sets up its own.
pub(crate) fn server_runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .thread_keep_alive(std::time::Duration::from_secs(
            crate::serve::BLOCKING_KEEP_ALIVE_SECS,
        ))
        .enable_all()
        .build()?)
}

/// What a load run saw.
pub(crate) struct Load {
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) body_bytes: usize,
}

/// Drives `requests(i)` over `connections` connections for `seconds`: closed-loop when `rate`
/// is `None`, else at `rate` requests per second in total, latency from the intended start.
pub(crate) async fn load(
    addr: std::net::SocketAddr,
    connections: usize,
    seconds: f64,
    rate: Option<f64>,
    requests: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>,
) -> Result<Load> {
    let clock = Arc::new(Stopwatch::start());
    let mut tasks = Vec::new();
    for c in 0..connections {
        let requests = requests.clone();
        let clock = clock.clone();
        let client = CLIENT
            .get()
            .context("the benchmark's client runtime is not started")?;
        tasks.push(client.spawn(async move {
            let mut conn = BufStream::new(TcpStream::connect(addr).await?);
            let mut latencies = Vec::new();
            let mut body_bytes = 0;
            let mut k = 0usize;
            loop {
                let i = k * connections + c;
                let intended = match rate {
                    Some(r) => i as f64 / r,
                    None => clock.secs(),
                };
                if intended >= seconds {
                    break;
                }
                let wait = intended - clock.secs();
                if wait > 0.0 {
                    tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
                }
                let (status, len) = exchange(&mut conn, &requests(i)).await?;
                if !(200..300).contains(&status) {
                    bail!("request {i} answered {status}");
                }
                body_bytes = len;
                latencies.push((clock.secs() - intended) * 1000.0);
                k += 1;
            }
            Ok::<_, anyhow::Error>((latencies, body_bytes))
        }));
    }
    let mut all = Vec::new();
    let mut body_bytes = 0;
    for t in tasks {
        let (l, b) = t.await??;
        all.extend(l);
        body_bytes = body_bytes.max(b);
    }
    let elapsed = clock.secs().max(seconds);
    all.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Ok(Load {
        per_second: all.len() as f64 / elapsed,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        body_bytes,
    })
}

/// A store with the CECOT estate, `people` admitted, a custody account and its API token.
pub(crate) struct Served {
    pub(crate) register: Register,
    pub(crate) access: Register,
    pub(crate) state: Arc<AppState>,
    pub(crate) bookings: Vec<u64>,
    pub(crate) token: String,
    /// The registers' stores (on PostgreSQL, their scratch schemas go with them).
    _stores: [crate::bench::Fresh; 2],
}

pub(crate) fn build(dir: &Path, name: &str, batch: usize, people: usize) -> Result<Served> {
    build_at(Place::Dir(dir), dir, name, batch, people)
}

/// [`build`] on either backend: on PostgreSQL the records, the access log and the accounts are
/// there (scratch schemas), the replicas in `dir`.
pub(crate) fn build_at(
    place: Place<'_>,
    dir: &Path,
    name: &str,
    batch: usize,
    people: usize,
) -> Result<Served> {
    let actor =
        habeas_core::ids::Actor::parse("actor", "bench").map_err(|e| anyhow::anyhow!("{e}"))?;
    let estate = cecot_estate()?;
    let (f, _) = fresh_cecot_at(place, dir, &format!("{name}.db"), batch, &estate, &actor)?;
    let now = SystemClock.now();
    let bookings = pipelined(&f.register, admission_drafts(people, 0, now, &actor)?, 500)?;
    // The writer of the measurement: `batch` 4096 groups commits, 1 commits each request.
    let register = f.register.clone();
    let log = fresh_at(
        place,
        dir,
        &format!("{name}.db.access"),
        WriterConfig {
            max_batch: batch,
            ..WriterConfig::default()
        },
    )?;
    let (access, access_store) = (log.register.clone(), log.store.clone());
    let accounts = match &f.postgres {
        Some((primary, _)) => Accounts::with_rows(
            Box::new(primary.accounts()),
            &dir.join(format!("{name}.secrets")),
        ),
        None => Accounts::open(&dir.join(format!("{name}.db"))),
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash =
        habeas_web::auth::hash_password("bench-password-1").map_err(|e| anyhow::anyhow!("{e}"))?;
    accounts
        .add_user(
            &NewUser {
                username: "bench",
                role: "custody",
                facilities: &["CECOT".to_owned()],
                password_hash: &hash,
                totp_secret: None,
                language: "es",
            },
            now.millis(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = habeas_web::auth::new_secret().map_err(|e| anyhow::anyhow!("{e}"))?;
    accounts
        .add_token(
            &habeas_web::auth::secret_hash(&token),
            "bench",
            "bench",
            now.millis(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let state = Arc::new(AppState {
        store: f.store.clone(),
        register: Some(register.clone()),
        accounts: Arc::new(accounts),
        access: access.clone(),
        access_store,
        clock: Arc::new(SystemClock),
        metrics: Metrics::default(),
        tls: false,
        cookie_key: habeas_web::auth::CookieKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?,
        evaluations: Default::default(),
        signin_limits: Default::default(),
        transparency: Default::default(),
        signer: None,
    });
    Ok(Served {
        register,
        access,
        state,
        bookings,
        token,
        _stores: [f, log],
    })
}

/// A writer's entries and commits so far.
fn commits(r: &Register) -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (
        r.stats().entries.load(Relaxed),
        r.stats().batches.load(Relaxed),
    )
}

/// The entries, commits and mean batch between two readings of [`commits`].
fn batch_sizes(before: (u64, u64), after: (u64, u64)) -> String {
    let (entries, batches) = (after.0 - before.0, after.1 - before.1);
    format!(
        "{entries} entries in {batches} commits, {:.1} per commit",
        entries as f64 / batches.max(1) as f64
    )
}

pub(crate) async fn listen(app: axum::Router) -> Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

fn post(path: &str, token: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub(crate) fn get(path: &str, token: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n")
        .into_bytes()
}

pub(crate) fn visit(bookings: &[u64], token: &str) -> Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync> {
    let bookings = bookings.to_vec();
    let token = token.to_owned();
    Arc::new(move |i| {
        let b = bookings[i % bookings.len()];
        post(
            "/api/records",
            &token,
            &format!(
                r#"{{"record":"contact","facility":"CECOT","booking":{b},"kind":"visit","party":"family","at":"2025-05-21T10:00:00.000Z","with":"familia","minutes":30}}"#
            ),
        )
    })
}

pub(crate) fn api_figures(args: &ApiBenchArgs) -> Result<Vec<Figure>> {
    api_figures_at(args, None)
}

/// The API benchmark with its registers, access log and accounts in SQLite files, or (with a
/// `postgres://` address) on that server through replicas.
pub(crate) fn api_figures_at(args: &ApiBenchArgs, postgres: Option<&str>) -> Result<Vec<Figure>> {
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("habeas-bench-api-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let runtime = crate::bench_api::server_runtime()?;
    start_client()?;
    let conns = args.connections;
    eprintln!(
        "habeas bench api: {conns} connections, {} s per measurement, {} runs{}",
        args.seconds,
        args.runs,
        postgres.map_or(String::new(), |url| format!(
            ", on {} (scratch schemas habeas_bench_*, dropped afterwards)",
            habeas_store_postgres::redacted(url)
        ))
    );
    let mut appends = Vec::new();
    let mut append_latency = Vec::new();
    let mut reads = Vec::new();
    for run in 0..args.runs.max(1) {
        // Appends: group commit against one commit per request.
        // Twice as many people as connections: the first half receive the appends, the second
        // half keep files of a usual size for the reads.
        let place = match postgres {
            Some(url) => Place::Postgres(url),
            None => Place::Dir(&dir),
        };
        let grouped = build_at(place, &dir, &format!("grouped-{run}"), 4096, 2 * conns)?;
        let single = build_at(place, &dir, &format!("single-{run}"), 1, 2 * conns)?;
        let (writers, readers) = grouped.bookings.split_at(conns);
        let (g, s, fixed) = runtime.block_on(async {
            let ga = listen(router(grouped.state.clone())).await?;
            let sa = listen(router(single.state.clone())).await?;
            // A short run on each first, so that the servers' threads exist before the
            // measured ones.
            load(ga, conns, 0.5, None, visit(writers, &grouped.token)).await?;
            load(
                sa,
                conns,
                0.5,
                None,
                visit(&single.bookings[..conns], &single.token),
            )
            .await?;
            crate::bench::settle();
            let before = commits(&grouped.register);
            let g = load(
                ga,
                conns,
                args.seconds,
                None,
                visit(writers, &grouped.token),
            )
            .await?;
            eprintln!(
                "  appends grouped: {}",
                batch_sizes(before, commits(&grouped.register))
            );
            crate::bench::settle();
            let s = load(
                sa,
                conns,
                args.seconds,
                None,
                visit(&single.bookings[..conns], &single.token),
            )
            .await?;
            let fixed = load(
                ga,
                conns,
                args.seconds,
                Some(g.per_second / 2.0),
                visit(writers, &grouped.token),
            )
            .await?;
            Ok::<_, anyhow::Error>((g, s, fixed))
        })?;
        eprintln!(
            "  run {}: appends {:.0}/s grouped against {:.0}/s one commit each: {:.1}x; at {:.0}/s p50 {:.1} ms p99 {:.1} ms",
            run + 1,
            g.per_second,
            s.per_second,
            g.per_second / s.per_second,
            g.per_second / 2.0,
            fixed.p50_ms,
            fixed.p99_ms
        );
        appends.push((g.per_second, s.per_second));
        append_latency.push((fixed.p50_ms, fixed.p99_ms));
        // Person files against a constant of the same size.
        let served = &grouped;
        let persons = readers.to_vec();
        let token = served.token.clone();
        let (p, c, fixed) = runtime.block_on(async {
            let pa = listen(router(served.state.clone())).await?;
            let files: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync> = {
                let token = token.clone();
                Arc::new(move |i| {
                    get(
                        &format!("/api/persons/{}?purpose=bench", persons[i % persons.len()]),
                        &token,
                    )
                })
            };
            // The size of a file, for the constant.
            let probe = load(pa, 1, 0.2, None, files.clone()).await?;
            let constant = vec![b'x'; probe.body_bytes.max(1)];
            // Behind the server's own layers (request log, metrics, security headers): the
            // difference measured is the handler's.
            let app = habeas_web::routes::with_layers(
                axum::Router::new().route(
                    "/constant",
                    axum::routing::get(move || {
                        let body = constant.clone();
                        async move { ([("content-type", "application/json")], body) }
                    }),
                ),
                served.state.clone(),
            );
            let ca = listen(app).await?;
            crate::bench::settle();
            let before = commits(&served.access);
            // A short run first, so that the server's threads exist before the measured one.
            load(pa, conns, 0.5, None, files.clone()).await?;
            let p = load(pa, conns, args.seconds, None, files.clone()).await?;
            eprintln!(
                "  person files, the access log: {}",
                batch_sizes(before, commits(&served.access))
            );
            let c = load(
                ca,
                conns,
                args.seconds,
                None,
                Arc::new(move |_| get("/constant", "x")),
            )
            .await?;
            let fixed = load(pa, conns, args.seconds, Some(p.per_second / 2.0), files).await?;
            Ok::<_, anyhow::Error>((p, c, fixed))
        })?;
        eprintln!(
            "  run {}: person files {:.0}/s ({} bytes, each logged) against a constant {:.0}/s: {:.2}; at {:.0}/s p50 {:.1} ms p99 {:.1} ms",
            run + 1,
            p.per_second,
            p.body_bytes,
            c.per_second,
            p.per_second / c.per_second,
            p.per_second / 2.0,
            fixed.p50_ms,
            fixed.p99_ms
        );
        reads.push((p.per_second, c.per_second));
        for s in [grouped, single] {
            s.register.shutdown();
            s.access.shutdown();
        }
    }
    runtime.shutdown_background();
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let prefix = if postgres.is_some() { "postgres." } else { "" };
    Ok(vec![
        figure(&format!("{prefix}api.append"), "req/s", 5.0, &appends)
            .with_p99(&append_latency, APPEND_P99_MS),
        figure(&format!("{prefix}api.person_file"), "req/s", 0.3, &reads),
    ])
}
