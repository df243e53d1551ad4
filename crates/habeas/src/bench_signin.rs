//! `habeas bench signin-flood`: what an unauthenticated flood of sign-ins does to everyone else.
//! A machine client with an API token reads person files (`GET /api/persons/{id}`) over
//! keep-alive connections, first alone, then while 128 other connections send
//! `POST /api/session` for unknown users as fast as they are answered:
//!
//! * `signin_flood.one_address`: the flood from one client address (127.0.0.1), which the
//!   per-address limit soon refuses unchecked;
//! * `signin_flood.many_addresses`: the flood from as many addresses as connections
//!   (127.0.0.2, 127.0.0.3, …), each under its limit for a while, so that the gate on Argon2
//!   is what holds;
//!
//! each the reads per second during the flood against the reads alone, in the same run (target
//! ≥ 0.5). `signin_flood.memory` is the process's resident memory (VmRSS) just before the
//! floods against the most sampled every 100 ms during them (≥ 0.5: at most double); the
//! peak (VmHWM) before and after is printed too. Every flood request's answer
//! is counted, and the access log is checked to account for every attempt (an entry each, or
//! in a summary's counts). `--without-limits` runs the one-address flood once more, after the
//! last run, against a server whose limits are set out of reach, as the server was before it
//! had them, and prints what that does (no figure: it is the problem the limits solve).

use crate::bench::{figure, report, Figure};
use crate::bench_api::{build, get, load, start_client, Served};
use anyhow::{bail, Context as _, Result};
use habeas_register::store::Store as _;
use habeas_web::limits::{LimitsConfig, Rate, SignInLimits};
use habeas_web::routes::router;
use habeas_web::state::{AppState, Metrics};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};

pub const SIGNIN_FLOOD_BASELINE: &str = "signin_flood.*: the same person-file reads by the same API-token holder, same connections, without the flood, in the same run; signin_flood.memory: the process's resident memory (VmRSS) just before the floods, against the most sampled during them";

#[derive(Debug, Clone, clap::Args)]
pub struct SigninFloodArgs {
    #[arg(long)]
    json: Option<PathBuf>,
    /// Connections flooding `POST /api/session`.
    #[arg(long, default_value_t = 128)]
    flood: usize,
    /// Connections reading person files with an API token.
    #[arg(long, default_value_t = 16)]
    readers: usize,
    /// Seconds each measurement lasts.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also flood a server without limits (the server before it had them), once, and print.
    #[arg(long)]
    without_limits: bool,
}

impl SigninFloodArgs {
    pub fn defaults(runs: usize) -> Self {
        Self {
            json: None,
            flood: 128,
            readers: 16,
            seconds: 3.0,
            runs,
            without_limits: false,
        }
    }
}

pub fn signin_flood(args: &SigninFloodArgs) -> Result<ExitCode> {
    let figures = signin_flood_figures(args)?;
    report(&figures, args.json.as_deref(), &[SIGNIN_FLOOD_BASELINE])
}

/// A field of `/proc/self/status` (Linux), in MiB.
pub(crate) fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The answers a flood got, by status.
#[derive(Debug, Default)]
struct Answers {
    unauthorized: AtomicU64,
    too_many: AtomicU64,
    other: AtomicU64,
}

impl Answers {
    fn total(&self) -> u64 {
        self.unauthorized.load(Ordering::Relaxed)
            + self.too_many.load(Ordering::Relaxed)
            + self.other.load(Ordering::Relaxed)
    }
}

/// One request over a keep-alive connection: its status, and whether the server keeps the
/// connection open.
async fn exchange(conn: &mut BufStream<tokio::net::TcpStream>, request: &[u8]) -> Result<u16> {
    conn.write_all(request).await?;
    conn.flush().await?;
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        bail!("closed");
    }
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
    Ok(status)
}

/// The flood's source address for connection `c`: 127.0.0.1 for all, or one each.
fn source(c: usize, many: bool) -> Ipv4Addr {
    if many {
        Ipv4Addr::new(127, 0, 1 + (c / 250) as u8, 2 + (c % 250) as u8)
    } else {
        Ipv4Addr::LOCALHOST
    }
}

/// Starts `connections` connections sending sign-ins for unknown users, each as soon as the
/// last is answered, until `stop`; each finishes the request it has in flight.
fn flood(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    connections: usize,
    many: bool,
    stop: Arc<AtomicBool>,
    answers: Arc<Answers>,
) -> Vec<tokio::task::JoinHandle<Result<()>>> {
    (0..connections)
        .map(|c| {
            let (stop, answers) = (stop.clone(), answers.clone());
            runtime.spawn(async move {
                let connect = || async {
                    let socket = tokio::net::TcpSocket::new_v4()?;
                    socket.bind(SocketAddr::new(IpAddr::V4(source(c, many)), 0))?;
                    Ok::<_, anyhow::Error>(BufStream::new(socket.connect(addr).await?))
                };
                let mut conn = connect().await?;
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let body = format!(
                        r#"{{"username":"flood-{c}-{k}","password":"not-the-password-{k}"}}"#
                    );
                    let request = format!(
                        "POST /api/session HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    k += 1;
                    match exchange(&mut conn, request.as_bytes()).await {
                        Ok(401) => answers.unauthorized.fetch_add(1, Ordering::Relaxed),
                        Ok(429) => answers.too_many.fetch_add(1, Ordering::Relaxed),
                        Ok(_) => answers.other.fetch_add(1, Ordering::Relaxed),
                        Err(_) => {
                            conn = connect().await?;
                            continue;
                        }
                    };
                }
                Ok(())
            })
        })
        .collect()
}

/// Serves `app` on loopback with each connection's peer address (as `habeas serve` does).
async fn listen_with_peers(app: axum::Router) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Ok(addr)
}

/// The sign-in attempts the access log accounts for: entries of their own, and the counts of
/// the summaries.
fn logged_attempts(state: &AppState) -> Result<u64> {
    let store = &state.access_store;
    let mut n = 0;
    for i in 0..store.size().map_err(|e| anyhow::anyhow!("{e}"))? {
        let Some(bytes) = store.entry(i).map_err(|e| anyhow::anyhow!("{e}"))? else {
            continue;
        };
        let e: serde_json::Value = serde_json::from_slice(&bytes)?;
        if e["kind"] != "access.sign_in" {
            continue;
        }
        let p = &e["payload"];
        if p["outcome"] == "summary" {
            n += ["unknown_user", "limited", "busy"]
                .iter()
                .filter_map(|k| p[*k].as_u64())
                .sum::<u64>();
        } else {
            n += 1;
        }
    }
    Ok(n)
}

/// A server on the same stores with other sign-in limits.
fn with_limits(served: &Served, limits: LimitsConfig) -> Arc<AppState> {
    let s = &served.state;
    Arc::new(AppState {
        store: s.store.clone(),
        register: s.register.clone(),
        accounts: s.accounts.clone(),
        access: s.access.clone(),
        access_store: s.access_store.clone(),
        clock: s.clock.clone(),
        metrics: Metrics::default(),
        tls: s.tls,
        cookie_key: s.cookie_key.clone(),
        evaluations: Default::default(),
        signin_limits: SignInLimits::new(limits),
        transparency: Default::default(),
        signer: None,
    })
}

/// Limits out of reach: every sign-in checked at once, none refused, every one logged.
fn no_limits() -> LimitsConfig {
    let open = Rate {
        burst: u32::MAX / 2,
        every_ms: 1,
    };
    LimitsConfig {
        hashing: 100_000,
        waiting: 100_000,
        account: open,
        address: open,
        logged_unknown: u32::MAX,
        pause_ms: 0,
        ..LimitsConfig::default()
    }
}

/// What one flood did.
struct Flooded {
    reads: f64,
    answers: Arc<Answers>,
    peak_rss: f64,
}

pub(crate) fn signin_flood_figures(args: &SigninFloodArgs) -> Result<Vec<Figure>> {
    let dir = std::env::temp_dir().join(format!("habeas-bench-signin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = run(args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(args: &SigninFloodArgs, dir: &std::path::Path) -> Result<Vec<Figure>> {
    let runtime = crate::bench_api::server_runtime()?;
    start_client()?;
    // The flood's own client thread, apart from the reader's (an attacker is elsewhere).
    let attacker = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-flood")
        .enable_all()
        .build()?;
    let defaults = LimitsConfig::default();
    eprintln!(
        "habeas bench signin-flood: {} readers, {} flooding connections, {} s per measurement, {} runs; limits: {} Argon2 checks at once (of {} cores), {} waiting, {} per address, {} per username, then one per {} s and {} s",
        args.readers,
        args.flood,
        args.seconds,
        args.runs,
        defaults.hashing,
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        defaults.waiting,
        defaults.address.burst,
        defaults.account.burst,
        defaults.address.every_ms / 1000,
        defaults.account.every_ms / 1000,
    );
    let mut one = Vec::new();
    let mut many = Vec::new();
    let mut memory = Vec::new();
    for r in 0..args.runs.max(1) {
        let served = build(dir, &format!("flood-{r}"), 4096, args.readers * 4)?;
        let persons = served.bookings.clone();
        let token = served.token.clone();
        let files: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync> = Arc::new(move |i| {
            get(
                &format!("/api/persons/{}", persons[i % persons.len()]),
                &token,
            )
        });
        let state = served.state.clone();
        let (alone, floods, before) = runtime.block_on(async {
            let addr = listen_with_peers(router(state.clone())).await?;
            load(addr, args.readers, 0.5, None, files.clone()).await?;
            crate::bench::settle();
            let alone = load(addr, args.readers, args.seconds, None, files.clone()).await?;
            let before = (status_mib("VmHWM:"), status_mib("VmRSS:"));
            let mut floods = Vec::new();
            for many in [false, true] {
                floods.push(flooded(args, &attacker, addr, many, &files).await?);
            }
            habeas_web::session::write_due(&state, true)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            Ok::<_, anyhow::Error>((alone, floods, before))
        })?;
        let after = status_mib("VmHWM:");
        let (before, before_rss) = before;
        let during_rss = floods.iter().map(|f| f.peak_rss).fold(0.0, f64::max);
        let answered: u64 = floods.iter().map(|f| f.answers.total()).sum();
        let logged = logged_attempts(&state)?;
        for (f, name) in floods.iter().zip(["one address", "many addresses"]) {
            eprintln!(
                "  run {}: {name}: reads {:.0}/s against {:.0}/s alone: {:.2}; the flood got {} answers ({} 401, {} 429, {} other); resident at most {:.0} MiB",
                r + 1,
                f.reads,
                alone.per_second,
                f.reads / alone.per_second,
                f.answers.total(),
                f.answers.unauthorized.load(Ordering::Relaxed),
                f.answers.too_many.load(Ordering::Relaxed),
                f.answers.other.load(Ordering::Relaxed),
                f.peak_rss
            );
        }
        eprintln!(
            "  run {}: resident {before_rss:.0} MiB before the floods, at most {during_rss:.0} MiB during them; the process's peak (VmHWM) {before:.0} MiB before, {after:.0} MiB after; the access log accounts for {logged} sign-ins of {answered} answered ({} entries in all)",
            r + 1,
            state.access_store.size().map_err(|e| anyhow::anyhow!("{e}"))?
        );
        if logged != answered {
            bail!("the access log accounts for {logged} sign-in attempts, the flood was answered {answered} times");
        }
        if let [o, m] = &floods[..] {
            one.push((o.reads, alone.per_second));
            many.push((m.reads, alone.per_second));
        }
        memory.push((before_rss, during_rss));
        // Last, so that its memory does not count in the runs' peaks.
        if args.without_limits && r + 1 == args.runs.max(1) {
            let open = with_limits(&served, no_limits());
            let (alone, floods) = runtime.block_on(async {
                let addr = listen_with_peers(router(open.clone())).await?;
                let alone = load(addr, args.readers, args.seconds, None, files.clone()).await?;
                let f = flooded(args, &attacker, addr, false, &files).await?;
                Ok::<_, anyhow::Error>((alone, f))
            })?;
            eprintln!(
                "  without limits: reads {:.0}/s against {:.0}/s alone: {:.2}; the flood got {} answers; resident at most {:.0} MiB, peak {:.0} MiB",
                floods.reads,
                alone.per_second,
                floods.reads / alone.per_second,
                floods.answers.total(),
                floods.peak_rss,
                status_mib("VmHWM:")
            );
        }
        served.register.shutdown();
        served.access.shutdown();
    }
    attacker.shutdown_background();
    runtime.shutdown_background();
    Ok(vec![
        figure("signin_flood.one_address", "req/s", 0.5, &one),
        figure("signin_flood.many_addresses", "req/s", 0.5, &many),
        // Lower is better for memory: the ratio is before / during.
        figure("signin_flood.memory", "MiB", 0.5, &memory),
    ])
}

/// The reads during one flood, the flood's answers and the highest resident memory sampled.
async fn flooded(
    args: &SigninFloodArgs,
    attacker: &tokio::runtime::Runtime,
    addr: SocketAddr,
    many: bool,
    files: &Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>,
) -> Result<Flooded> {
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Answers::default());
    let tasks = flood(
        attacker,
        addr,
        args.flood,
        many,
        stop.clone(),
        answers.clone(),
    );
    // Sample the resident memory every 100 ms while the flood lasts.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0f64;
            while sampling.load(Ordering::Relaxed) {
                peak = peak.max(status_mib("VmRSS:"));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            peak
        })
    };
    // A second for the flood to be under way, then the measured reads.
    load(addr, args.readers, 1.0, None, files.clone()).await?;
    let during = load(addr, args.readers, args.seconds, None, files.clone()).await?;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    sampling.store(false, Ordering::Relaxed);
    let peak_rss = sampler.await?;
    Ok(Flooded {
        reads: during.per_second,
        answers,
        peak_rss,
    })
}
