//! `habeas bench soak`: the server under a sustained load at a fixed rate for minutes — appends
//! and person files mixed, every answer checked — sampling the process's memory, so that a
//! leak, an error that only shows after a while or a latency that creeps up is seen.
//!
//! Any answer other than 2xx stops the run with an error naming the request. The figure
//! `soak.memory` is the resident memory half-way through against the memory at the end (≥ 0.8:
//! at most a quarter more in the second half). SQLite's page caches fill as the store grows
//! (64 MiB for each writer's connection, 2 MiB for each pooled reader), so a short run shows
//! them filling; a leak keeps growing after they are full. Each interval's latency and memory
//! are printed.

use crate::bench::{figure, report, Figure};
use crate::bench_api::{build, get, listen, load, start_client, visit};
use anyhow::{Context as _, Result};
use habeas_web::routes::router;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub const SOAK_BASELINE: &str =
    "soak: the process's resident memory half-way through the run, against the same at the end";

#[derive(Debug, Clone, clap::Args)]
pub struct SoakBenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Minutes of load after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Requests per second (appends and person files, three to one); 0: half of what the
    /// server answers closed-loop, measured first.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    #[arg(long, default_value_t = 64)]
    connections: usize,
}

/// The process's resident memory, in MiB (Linux).
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn soak(args: &SoakBenchArgs) -> Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("habeas-bench-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = run(args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    report(&result?, args.json.as_deref(), &[SOAK_BASELINE])
}

fn run(args: &SoakBenchArgs, dir: &std::path::Path) -> Result<Vec<Figure>> {
    let runtime = crate::bench_api::server_runtime()?;
    start_client()?;
    let conns = args.connections.max(1);
    let served = build(dir, "soak", 4096, 2 * conns)?;
    let (writers, readers) = served.bookings.split_at(conns);
    let appends = visit(writers, &served.token);
    let (readers, token) = (readers.to_vec(), served.token.clone());
    let mixed: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync> = Arc::new(move |i| {
        if i % 4 == 3 {
            get(
                &format!(
                    "/api/persons/{}?purpose=soak",
                    readers[(i / 4) % readers.len()]
                ),
                &token,
            )
        } else {
            appends(i)
        }
    });
    let interval = 10.0;
    let intervals = ((args.minutes * 60.0) / interval).ceil().max(1.0) as usize;
    let (half_mib, end_mib) = runtime.block_on(async {
        let addr = listen(router(served.state.clone())).await?;
        let rate = if args.rate > 0.0 {
            args.rate
        } else {
            load(addr, conns, 3.0, None, mixed.clone()).await?.per_second / 2.0
        };
        eprintln!(
            "habeas bench soak: {rate:.0} requests/s (appends and person files, 3:1) on {conns} connections, {intervals} intervals of {interval} s after a warm-up of 30 s"
        );
        load(addr, conns, 30.0, Some(rate), mixed.clone()).await?;
        let mut half = resident_mib();
        let mut end = half;
        for k in 0..intervals {
            let l = load(addr, conns, interval, Some(rate), mixed.clone()).await?;
            end = resident_mib();
            eprintln!(
                "  {:>4} s: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, no error; resident {end:.0} MiB",
                (k + 1) * interval as usize,
                l.per_second,
                l.p50_ms,
                l.p99_ms
            );
            if k + 1 == intervals / 2 {
                half = end;
            }
        }
        Ok::<_, anyhow::Error>((half, end))
    })?;
    eprintln!(
        "  register: {} entries; access log: {} entries",
        served
            .register
            .stats()
            .entries
            .load(std::sync::atomic::Ordering::Relaxed),
        served
            .access
            .stats()
            .entries
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    runtime.shutdown_background();
    served.access.shutdown();
    served.register.shutdown();
    Ok(vec![figure(
        "soak.memory",
        "MiB",
        0.8,
        &[(half_mib, end_mib)],
    )])
}
