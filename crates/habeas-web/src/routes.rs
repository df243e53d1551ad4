//! The route table: every address the server answers, the API's, the pages' and the public
//! ones, and the layers every answer passes through (limits, metrics, security headers). It
//! depends on the handlers; no handler depends on it.

use crate::error::ApiError;
use crate::file::{access_log, person_file};
use crate::openapi::openapi;
use crate::service::{healthz, metrics};
use crate::session::{me, sign_in, sign_out};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::routing::post;
use axum::Router;
use std::sync::Arc;

/// The largest sign-in a client may send, in bytes (a username, a password of at most 256
/// characters and a code fit many times): a sign-in waiting for its turn holds little.
pub(crate) const SIGN_IN_BODY_MAX: usize = 8 * 1024;

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/checkpoint", get(crate::public::checkpoint))
        .route("/tile/{*path}", get(crate::public::tile))
        .route("/api/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route(
            "/api/session",
            axum::routing::post(sign_in)
                .layer(axum::extract::DefaultBodyLimit::max(SIGN_IN_BODY_MAX))
                .delete(sign_out)
                .get(me),
        )
        .route("/api/persons", get(crate::api::search))
        .route("/api/persons/{person}", get(person_file))
        .route(
            "/api/admissions",
            axum::routing::post(crate::api::admissions),
        )
        .route(
            "/api/allocations",
            axum::routing::post(crate::api::allocations),
        )
        .route("/api/movements", axum::routing::post(crate::api::movements))
        .route(
            "/api/counts",
            axum::routing::post(crate::api::counts).get(crate::api::count_report),
        )
        .route("/api/releases", axum::routing::post(crate::api::releases))
        .route("/api/records", axum::routing::post(crate::api::records))
        .route("/api/population", get(crate::api::population))
        .route("/api/reports/compliance", get(crate::api::compliance))
        .route("/api/reports/statistics", get(crate::api::statistics))
        .route(
            "/api/reports/agreement",
            get(crate::agreements::agreement_report),
        )
        .route(
            "/api/logbook",
            axum::routing::post(crate::api::logbook_add).get(crate::api::logbook_list),
        )
        .route(
            "/api/environment",
            axum::routing::post(crate::api::environment),
        )
        .route("/api/estate", axum::routing::post(crate::api::estate))
        .route(
            "/api/certifications",
            axum::routing::post(crate::api::certifications),
        )
        .route("/api/register", get(crate::api::register_status))
        .route(
            "/api/users",
            get(crate::api::users_list).post(crate::api::users_add),
        )
        .route(
            "/api/users/changes",
            axum::routing::post(crate::api::users_change),
        )
        .route(
            "/api/tokens",
            get(crate::api::tokens_list).post(crate::api::tokens_issue),
        )
        .route(
            "/api/tokens/{name}",
            axum::routing::delete(crate::api::tokens_revoke),
        )
        .route(
            "/api/register/verify",
            axum::routing::post(crate::api::register_verify),
        )
        .route("/api/orders", axum::routing::post(crate::api::orders))
        .route("/api/transfers", axum::routing::post(crate::api::transfers))
        .route(
            "/api/deaths",
            axum::routing::post(crate::api::deaths).get(crate::api::death_list),
        )
        .route("/api/harms", get(crate::api::harm_list))
        .route(
            "/api/death-steps",
            axum::routing::post(crate::api::death_steps),
        )
        .route(
            "/api/agreements",
            axum::routing::post(crate::api::agreements),
        )
        .route(
            "/api/non-associations",
            axum::routing::post(crate::api::non_associations),
        )
        .route(
            "/api/identity-corrections",
            axum::routing::post(crate::api::identity_corrections),
        )
        .route("/api/access-log", get(access_log))
        .route(
            "/api/whereabouts",
            axum::routing::post(crate::whereabouts::whereabouts),
        )
        .merge(page_routes())
        .fallback(|uri: axum::http::Uri| async move {
            // A page that does not exist is a page saying so, with the way back; the API's
            // unknown routes answer in its JSON error shape.
            if uri.path().starts_with("/ui/") {
                (
                    StatusCode::NOT_FOUND,
                    [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    NOT_FOUND_PAGE,
                )
                    .into_response()
            } else {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
            }
        });
    with_layers(routes, state)
}

/// What every answer passes through: the request's log line and metrics, and the security
/// headers. (The benchmarks put their constant handler behind the same.)
pub fn with_layers(routes: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    routes
        .layer(axum::middleware::from_fn(limits))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// The longest request target (path and query) the server reads.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) a request may carry.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Requests over the server's limits are answered in the one error shape: 414 for a request
/// target over [`MAX_URI_BYTES`], 431 for headers over [`MAX_HEADER_BYTES`]. (A body over its
/// limit is 413, in the same shape, from the handlers.) These limits sit well inside the HTTP
/// library's own (64 KiB of target, about 400 KiB of head), which close the connection with a
/// bare status before the request reaches the service.
async fn limits(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request's address has {target} bytes; at most {MAX_URI_BYTES}"),
        )
        .field("uri")
        .into_response();
    }
    let head: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if head > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request's headers have {head} bytes; at most {MAX_HEADER_BYTES}"),
        )
        .field("headers")
        .into_response();
    }
    next.run(req).await
}

/// The security headers of every answer.
async fn security_headers(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The pages may load the server's own style sheet and script (htmx), fetch from and post
    // forms to it; nothing else.
    let page = req.uri().path() == "/"
        || req.uri().path().starts_with("/ui/")
        || req.uri().path() == "/verify";
    // The public tiles and checkpoint say how long they may be cached (`public`); nothing
    // else may be.
    let public = req.uri().path() == "/checkpoint" || req.uri().path().starts_with("/tile/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let csp = if page {
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    h.insert("content-security-policy", HeaderValue::from_static(csp));
    if state.tls {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    for (k, v) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    if !(public && h.contains_key("cache-control")) {
        h.insert("cache-control", HeaderValue::from_static("no-store"));
    }
    res
}

/// Counts each request by its route (the pattern, never the path: no ids in metrics).
async fn observe(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // The state's clock, so that time stays a parameter (millisecond resolution).
    let started = state.now();
    let method = req.method().clone();
    // One span per request, named by the route's pattern: never a person's id, a query string,
    // a header or a body.
    let span = tracing::info_span!("request", %method, route = %route);
    let res = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let ms = state.now() - started;
    let status = res.status().as_u16();
    span.in_scope(|| tracing::info!(status, ms, "answered"));
    state.metrics.observe(&route, status, ms as f64 / 1000.0);
    res
}

/// The page of a `/ui/` address that does not exist, in both languages (it is answered before
/// anyone is known).
pub(crate) const NOT_FOUND_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"es\">\n<head><meta charset=\"utf-8\"><title>Página no encontrada · Page not found</title><link rel=\"stylesheet\" href=\"/ui/style.css\"></head>\n<body><main id=\"main\"><h1>Página no encontrada</h1><p>Esta dirección no existe. <a href=\"/ui/board\">Ir al tablero</a>.</p><h2 lang=\"en\">Page not found</h2><p lang=\"en\">There is no such page. <a href=\"/ui/board\">Go to the board</a>.</p></main></body>\n</html>\n";

/// The routes of the pages.
pub(crate) fn page_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/board") }))
        .route("/ui", get(|| async { Redirect::to("/ui/board") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/board") }))
        .route("/ui/style.css", get(crate::ui::style))
        .route("/verify", get(crate::ui::verify_page))
        .route("/verify.js", get(crate::ui::verify_script))
        .route("/ui/htmx.min.js", get(crate::ui::htmx))
        .route(
            "/ui/sign-in",
            get(crate::ui::sign_in_page)
                .post(crate::ui::sign_in_form)
                .layer(axum::extract::DefaultBodyLimit::max(SIGN_IN_BODY_MAX)),
        )
        .route("/ui/sign-out", post(crate::ui::sign_out_form))
        .route("/ui/language", post(crate::ui::language_form))
        .route("/ui/board", get(crate::ui::board))
        .route(
            "/ui/accounts",
            get(crate::ui::accounts::accounts_page).post(crate::ui::accounts::accounts_form),
        )
        .route("/ui/cells/{facility}/{cell}", get(crate::ui::cell_page))
        .route("/ui/persons", get(crate::ui::person::persons_page))
        .route(
            "/ui/notify",
            get(crate::ui::file_page::<crate::ui::notify::NotifyForm>)
                .post(crate::ui::file_post::<crate::ui::notify::NotifyForm>),
        )
        .route(
            "/ui/harm",
            get(crate::ui::file_page::<crate::ui::harm::HarmForm>)
                .post(crate::ui::file_post::<crate::ui::harm::HarmForm>),
        )
        .route(
            "/ui/death",
            get(crate::ui::file_page::<crate::ui::death::DeathForm>)
                .post(crate::ui::file_post::<crate::ui::death::DeathForm>),
        )
        .route(
            "/ui/release",
            get(crate::ui::file_page::<crate::ui::release::ReleaseForm>)
                .post(crate::ui::file_post::<crate::ui::release::ReleaseForm>),
        )
        .route(
            "/ui/admissions",
            get(crate::ui::admit::admit_page).post(crate::ui::admit::admit_form),
        )
        .route(
            "/ui/allocations",
            get(crate::ui::allocate::allocate_page).post(crate::ui::allocate::allocate_form),
        )
        .route(
            "/ui/counts",
            get(crate::ui::counts::counts_page).post(crate::ui::counts::counts_form),
        )
        .route("/ui/compliance", get(crate::ui::oversight::compliance_page))
        .route("/ui/register", get(crate::ui::oversight::register_page))
        .route(
            "/ui/register/verify",
            post(crate::ui::oversight::verify_form),
        )
        .route(
            "/ui/register/export",
            get(crate::ui::oversight::export_register),
        )
        .route("/ui/access-log", get(crate::ui::oversight::access_log_page))
        .route("/ui/national", get(crate::ui::oversight::national_page))
        .route(
            "/ui/agreements",
            get(crate::ui::agreements::agreements_page),
        )
        .route(
            "/ui/agreements/{id}",
            get(crate::ui::agreements::agreement_page),
        )
        .route("/ui/hearings", get(crate::ui::registers::hearings_page))
        .route("/ui/contacts", get(crate::ui::registers::contacts_page))
        .route("/ui/complaints", get(crate::ui::registers::complaints_page))
        .route(
            "/ui/whereabouts",
            get(crate::ui::whereabouts::whereabouts_page)
                .post(crate::ui::whereabouts::whereabouts_form),
        )
        .route(
            "/ui/whereabouts-requests",
            get(crate::ui::requests::requests_page).post(crate::ui::requests::requests_form),
        )
        .route(
            "/ui/visits",
            get(crate::ui::visits::visits_page).post(crate::ui::visits::visits_form),
        )
        .route(
            "/ui/food",
            get(crate::ui::food::food_page).post(crate::ui::food::food_form),
        )
        .route(
            "/ui/whereabouts/file",
            post(crate::ui::whereabouts::whereabouts_file),
        )
        .route("/ui/persons/{person}", get(crate::ui::person::person_page))
        .route(
            "/ui/persons/{person}/photo",
            get(crate::ui::person::photo_image).post(crate::ui::person::photo_upload),
        )
}
