//! `habeas serve`: the JSON API over HTTP, until SIGINT or SIGTERM (graceful: requests in flight
//! finish, then the access log signs a checkpoint and stops).

use crate::open::DbArgs;
use crate::system::SystemClock;
use anyhow::{bail, Context, Result};
use habeas_web::routes::router;
use habeas_web::state::{AppState, Metrics};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM); with --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Allow plain HTTP on an address other than loopback: only behind a reverse proxy that
    /// terminates TLS.
    #[arg(long)]
    behind_proxy: bool,
    /// The longest an API token issued by this server works, in days, and the lifetime of one
    /// issued without `days` (1 to 366).
    #[arg(long, default_value_t = habeas_store_sqlite::DEFAULT_TOKEN_DAYS, value_parser = clap::value_parser!(u32).range(1..=i64::from(habeas_store_sqlite::MAX_TOKEN_DAYS)))]
    token_days: u32,
    /// A witness to send every new checkpoint to, as `<verifier key>@http://HOST:PORT` (its
    /// verifier key, `<name>+<key id>+<key>`, and the address `habeas witness serve`
    /// listens on); repeat for several. `/checkpoint` then serves the latest checkpoint a
    /// quorum of them cosigned.
    #[arg(long = "witness", value_name = "VKEY@URL")]
    witnesses: Vec<String>,
    /// How many of the witnesses must cosign a checkpoint before it is published [default:
    /// all of them].
    #[arg(long, requires = "witnesses")]
    witness_quorum: Option<usize>,
}

/// Ctrl-C or SIGTERM: how `habeas serve` and `habeas witness serve` are asked to stop.
pub(crate) async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// How long an idle thread of the blocking pool (where SQLite is read and written) is kept:
/// five minutes, not tokio's ten seconds, so that a burst after a pause does not pay for new
/// threads (a new thread's first allocations fault in fresh memory).
pub const BLOCKING_KEEP_ALIVE_SECS: u64 = 300;

impl ServeArgs {
    /// Plain HTTP on a loopback address (the demo's way).
    pub fn local(listen: SocketAddr) -> Self {
        Self {
            listen,
            tls_cert: None,
            tls_key: None,
            behind_proxy: false,
            token_days: habeas_store_sqlite::DEFAULT_TOKEN_DAYS,
            witnesses: Vec::new(),
            witness_quorum: None,
        }
    }

    /// With a witness (`<verifier key>@<url>`) to send the checkpoints to.
    pub fn with_witness(mut self, witness: String) -> Self {
        self.witnesses.push(witness);
        self
    }
}

/// The witnesses named on the command line and their quorum.
pub fn transparency(
    witnesses: &[String],
    quorum: Option<usize>,
    url_required: bool,
) -> Result<habeas_web::transparency::Transparency> {
    let parsed = witnesses
        .iter()
        .map(|w| {
            habeas_web::transparency::Witness::parse(w, url_required)
                .map_err(|e| anyhow::anyhow!("--witness {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    habeas_web::transparency::Transparency::new(parsed, quorum)
        .map_err(|e| anyhow::anyhow!("--witness-quorum: {e}"))
}

pub fn run(db: &DbArgs, args: ServeArgs) -> Result<ExitCode> {
    // One line per request on standard error (method, route pattern, status, milliseconds);
    // `HABEAS_LOG=warn` quiets it.
    let level = match std::env::var("HABEAS_LOG").as_deref() {
        Ok("warn") => tracing::Level::WARN,
        Ok("error") => tracing::Level::ERROR,
        Ok("debug") => tracing::Level::DEBUG,
        _ => tracing::Level::INFO,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let tls = args.tls_cert.is_some();
    if !tls && !args.listen.ip().is_loopback() && !args.behind_proxy {
        bail!(
            "listen: {} is not a loopback address; give --tls-cert and --tls-key, or serve behind a reverse proxy that terminates TLS and pass --behind-proxy",
            args.listen
        );
    }
    let transparency = transparency(&args.witnesses, args.witness_quorum, true)?;
    // The server is the register's one writer while it runs (the lock file says so to others;
    // on PostgreSQL, the writer's advisory lock: a second server waits to take over).
    let (store, register) = db.open_writer_waiting(true)?;
    // The public tree's level-1 hashes are kept beside the store (or the replica) between runs.
    let mut tiles = store.path().as_os_str().to_owned();
    tiles.push(".tiles");
    let transparency = Arc::new(transparency.with_cache_file(std::path::PathBuf::from(tiles)));
    transparency
        .load_statuses(&store)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Cosignatures are durable in PostgreSQL first when the register is there.
    let primary = match db.postgres_url() {
        Some(url) if !args.witnesses.is_empty() => Some(Arc::new(
            habeas_store_postgres::PostgresStore::open(url).map_err(|e| anyhow::anyhow!("{e}"))?,
        )),
        _ => None,
    };
    let round = Arc::new(crate::witnessing::Round::new(
        transparency.clone(),
        store.clone(),
        primary,
        Arc::new(SystemClock),
    ));
    let accounts = db.open_accounts()?.with_token_days(args.token_days);
    let (access_store, access) = db.open_access_log()?;
    // The break-glass channel: account commands from this machine's console while serving.
    #[cfg(unix)]
    let control = {
        let path = crate::control::socket_path(db)?;
        let listener = crate::control::bind(&path)?;
        (listener, path)
    };
    let state = Arc::new(AppState {
        store,
        register: Some(register.clone()),
        accounts: Arc::new(accounts),
        access: access.clone(),
        access_store,
        clock: Arc::new(SystemClock),
        metrics: Metrics::default(),
        tls,
        cookie_key: db.session_key()?,
        evaluations: Default::default(),
        // Behind a reverse proxy every connection comes from the proxy: the client is the
        // address the proxy appended to X-Forwarded-For.
        signin_limits: habeas_web::limits::SignInLimits::new(habeas_web::limits::LimitsConfig {
            trust_forwarded: args.behind_proxy,
            ..Default::default()
        }),
        transparency: transparency.clone(),
        // The register's key signs the whereabouts answers.
        signer: Some(Arc::new(crate::open::read_signer(&db.signing_key_path()?)?)),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_keep_alive(std::time::Duration::from_secs(BLOCKING_KEEP_ALIVE_SECS))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The state's last reference is dropped here, outside the runtime: the PostgreSQL client
    // behind the accounts runs a runtime of its own, which cannot be stopped from inside one.
    let kept = state.clone();
    #[cfg(unix)]
    let control_path = control.1.clone();
    #[cfg(unix)]
    let control_state = state.clone();
    let summaries = state.clone();
    let served = runtime.block_on(async move {
        // The tree's hashes for the public tiles and the proofs, computed ahead; then the
        // witnesses, each sent every new checkpoint.
        let (t, s) = (transparency.clone(), state.store.clone());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = t.warm(&s) {
                eprintln!("the public tiles: {e}");
            }
        });
        for w in transparency.witnesses() {
            eprintln!(
                "witness {} at {} (a checkpoint is published once {} of {} cosigned it)",
                w.name,
                w.url.as_deref().unwrap_or(""),
                transparency.quorum(),
                transparency.witnesses().len()
            );
        }
        if !transparency.witnesses().is_empty() {
            round.spawn();
        }
        #[cfg(unix)]
        tokio::spawn(crate::control::serve(control.0, control.1, control_state));
        // The counts of sign-in attempts not logged one by one are written when their window
        // closes, even if no other sign-in comes (`habeas_web::limits`).
        let window = state.signin_limits.config().window_ms.max(1_000).unsigned_abs();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(window));
            loop {
                every.tick().await;
                if let Err(e) = habeas_web::session::write_due(&summaries, false).await {
                    eprintln!("access log: the sign-in summary: {e:?}");
                }
            }
        });
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listen: cannot bind {}", args.listen))?;
        let addr = listener.local_addr()?;
        match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                // rustls with the ring provider; TLS 1.2 and 1.3.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .with_context(|| {
                        format!(
                            "tls-cert/tls-key: cannot load {} and {}",
                            cert.display(),
                            key.display()
                        )
                    })?;
                // SIGHUP reloads the certificate and key (a renewed certificate without a
                // restart); if the new files do not load, the old ones stay in use.
                #[cfg(unix)]
                {
                    let (config, cert, key) = (config.clone(), cert.clone(), key.clone());
                    let mut hangups = tokio::signal::unix::signal(
                        tokio::signal::unix::SignalKind::hangup(),
                    )
                    .context("cannot listen for SIGHUP")?;
                    tokio::spawn(async move {
                        while hangups.recv().await.is_some() {
                            match config.reload_from_pem_file(&cert, &key).await {
                                Ok(()) => println!("reloaded the certificate {}", cert.display()),
                                Err(e) => eprintln!(
                                    "tls-cert/tls-key: cannot reload {} and {} ({e}); the certificate in use stays",
                                    cert.display(),
                                    key.display()
                                ),
                            }
                        }
                    });
                }
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    stop_signal().await;
                    stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
                });
                println!("listening on https://{addr}");
                axum_server::from_tcp_rustls(listener.into_std()?, config)?
                    .handle(handle)
                    .serve(router(state.clone()).into_make_service_with_connect_info::<SocketAddr>())
                    .await
                    .context("the server stopped with an error")
            }
            _ => {
                println!("listening on http://{addr}");
                axum::serve(
                    listener,
                    router(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(stop_signal())
                .await
                .context("the server stopped with an error")
            }
        }?;
        // Stopping: the counts not yet written go to the access log before it closes.
        habeas_web::session::write_due(&state, true)
            .await
            .map_err(|e| anyhow::anyhow!("access log: the sign-in summary: {e:?}"))
    });
    drop(runtime);
    drop(kept);
    #[cfg(unix)]
    let _ = std::fs::remove_file(&control_path);
    served?;
    access
        .checkpoint()
        .map_err(|e| anyhow::anyhow!("access log: {e}"))?;
    access.shutdown();
    register
        .checkpoint()
        .map_err(|e| anyhow::anyhow!("register: {e}"))?;
    register.shutdown();
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}
