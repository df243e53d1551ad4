//! The service's own answers: health and the metrics.

use crate::access::EVERY_FACILITY;
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::state::{blocking, histogram, AppState, LATENCY_BUCKETS};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use habeas_register::store::Store as _;
use std::sync::Arc;

#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "The service answers", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, description = "Prometheus text: requests by route pattern and status, their seconds, register and access-log sizes, the published checkpoint's size and each witness's state (cosigned size, failures, fork)", body = String, content_type = "text/plain"), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let s = state.clone();
    let (size, access, published) = blocking(move || {
        // Not public: the service's figures are for those who oversee it (a scraper uses an
        // API token of such an account).
        let caller = s.caller(&method, &headers)?;
        if !matches!(
            caller.role,
            Role::National | Role::Inspector | Role::Administrator
        ) {
            s.refuse(
                &caller,
                EVERY_FACILITY,
                "read metrics",
                "only national administration, inspectors and administrators",
            )?;
            return Err(ApiError::forbidden(
                "the metrics are for national administration, inspectors and administrators",
            ));
        }
        let published = s.transparency.published(&s.store)?.map(|p| p.size);
        Ok((s.store.size()?, s.access_store.size()?, published))
    })
    .await?;
    let mut out = String::new();
    out.push_str("# TYPE habeas_http_requests_total counter\n");
    let m = state
        .metrics
        .requests
        .lock()
        .map_err(|_| ApiError::internal("metrics"))?
        .clone();
    for ((route, status), series) in &m {
        out.push_str(&format!(
            "habeas_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {}\n",
            series.count
        ));
    }
    out.push_str("# TYPE habeas_http_request_duration_seconds histogram\n");
    let bounds: Vec<String> = LATENCY_BUCKETS.iter().map(|b| b.to_string()).collect();
    for ((route, status), series) in &m {
        histogram(
            &mut out,
            "habeas_http_request_duration_seconds",
            &format!("route=\"{route}\",status=\"{status}\""),
            &bounds,
            &series.buckets,
            series.seconds,
        );
    }
    out.push_str(&format!(
        "# TYPE habeas_register_entries gauge\nhabeas_register_entries {size}\n# TYPE habeas_access_log_entries gauge\nhabeas_access_log_entries {access}\n"
    ));
    // Group commit at work: entries written and the commits that carried them (their ratio is
    // the mean batch size), for the records and for the access log.
    out.push_str("# TYPE habeas_writer_entries_total counter\n# TYPE habeas_writer_commits_total counter\n# TYPE habeas_writer_checkpoints_total counter\n");
    let writers = [
        ("records", state.register.as_ref()),
        ("access_log", Some(&state.access)),
    ];
    let batch_bounds: Vec<String> = habeas_register::writer::BATCH_BUCKETS
        .iter()
        .map(|b| b.to_string())
        .collect();
    let mut batches = String::from("# TYPE habeas_writer_batch_entries histogram\n");
    for (name, register) in writers {
        if let Some(r) = register {
            let counts: Vec<u64> = r
                .stats()
                .batch_sizes
                .iter()
                .map(|a| a.load(std::sync::atomic::Ordering::Relaxed))
                .collect();
            histogram(
                &mut batches,
                "habeas_writer_batch_entries",
                &format!("register=\"{name}\""),
                &batch_bounds,
                &counts,
                r.stats().entries.load(std::sync::atomic::Ordering::Relaxed) as f64,
            );
            let st = r.stats();
            let get =
                |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
            out.push_str(&format!(
                "habeas_writer_entries_total{{register=\"{name}\"}} {}\nhabeas_writer_commits_total{{register=\"{name}\"}} {}\nhabeas_writer_checkpoints_total{{register=\"{name}\"}} {}\n",
                get(&st.entries),
                get(&st.batches),
                get(&st.checkpoints)
            ));
        }
    }
    out.push_str(&batches);
    witness_metrics(&mut out, &state.transparency, published);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

/// The published checkpoint's size and each witness's state: the largest size it cosigned,
/// its failed exchanges, and whether it refused this register's history (a fork).
fn witness_metrics(
    out: &mut String,
    t: &crate::transparency::Transparency,
    published: Option<u64>,
) {
    use std::fmt::Write as _;
    if let Some(size) = published {
        let _ = writeln!(
            out,
            "# TYPE habeas_published_size gauge\nhabeas_published_size {size}"
        );
    }
    if t.witnesses().is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "# TYPE habeas_witness_quorum gauge\nhabeas_witness_quorum {}",
        t.quorum()
    );
    let rows: Vec<(String, crate::transparency::WitnessStatus)> = t
        .witnesses()
        .iter()
        .map(|w| w.name.replace('\\', "\\\\").replace('"', "\\\""))
        .zip(t.statuses())
        .collect();
    out.push_str("# TYPE habeas_witness_cosigned_size gauge\n");
    for (name, st) in &rows {
        if let Some(size) = st.cosigned_size {
            let _ = writeln!(
                out,
                "habeas_witness_cosigned_size{{witness=\"{name}\"}} {size}"
            );
        }
    }
    out.push_str("# TYPE habeas_witness_failures_total counter\n");
    for (name, st) in &rows {
        let _ = writeln!(
            out,
            "habeas_witness_failures_total{{witness=\"{name}\"}} {}",
            st.failures
        );
    }
    out.push_str("# TYPE habeas_witness_up gauge\n");
    for (name, st) in &rows {
        let up = u8::from(st.failing == 0 && st.cosigned_size.is_some());
        let _ = writeln!(out, "habeas_witness_up{{witness=\"{name}\"}} {up}");
    }
    out.push_str("# TYPE habeas_witness_fork gauge\n");
    for (name, st) in &rows {
        let fork = u8::from(st.fork.is_some());
        let _ = writeln!(out, "habeas_witness_fork{{witness=\"{name}\"}} {fork}");
    }
}
