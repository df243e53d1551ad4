//! `habeas serve`: the JSON API over HTTP, until SIGINT or SIGTERM (graceful: requests in flight
//! finish, then the access log signs a checkpoint and stops).

use crate::open::DbArgs;
use crate::system::SystemClock;
use anyhow::{bail, Context, Result};
use habeas_store_sqlite::Accounts;
use habeas_web::server::{router, AppState, Metrics};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Allow an address other than loopback: only behind a reverse proxy that terminates TLS
    /// (built-in TLS is not there yet).
    #[arg(long)]
    behind_proxy: bool,
}

async fn stop_signal() {
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

pub fn run(db: &DbArgs, args: ServeArgs) -> Result<ExitCode> {
    if !args.listen.ip().is_loopback() && !args.behind_proxy {
        bail!(
            "listen: {} is not a loopback address; Habeas has no built-in TLS yet, so serve it behind a reverse proxy that terminates TLS and pass --behind-proxy",
            args.listen
        );
    }
    // The server is the register's one writer while it runs (the lock file says so to others).
    let (store, register) = db.open_writer()?;
    let accounts = Accounts::open(&db.db).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (access_store, access) = db.open_access_log()?;
    let state = Arc::new(AppState {
        store,
        register: Some(register.clone()),
        accounts: Arc::new(accounts),
        access: access.clone(),
        access_store,
        clock: Arc::new(SystemClock),
        metrics: Metrics::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listen: cannot bind {}", args.listen))?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr}");
        axum::serve(listener, router(state))
            .with_graceful_shutdown(stop_signal())
            .await
            .context("the server stopped with an error")
    })?;
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
