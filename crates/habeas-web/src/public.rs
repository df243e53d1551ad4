//! The public answers: the published checkpoint and the tiles of hashes of the register's tree
//! (C2SP `tlog-tiles`, docs/register-format.md §15), to anyone, without signing in, and
//! cacheable. Only hashes and the signed checkpoint: an entry is never answered here.

use crate::state::{blocking, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use habeas_register::tiles::{parse_tile_path, TILE_WIDTH};
use std::sync::Arc;

/// How long the checkpoint may be cached: it changes when a new one is published.
pub const CHECKPOINT_CACHE: &str = "public, max-age=5";
/// A full tile never changes.
pub const FULL_TILE_CACHE: &str = "public, max-age=31536000, immutable";
/// A partial tile never changes either, but stops being served once its full tile exists.
pub const PARTIAL_TILE_CACHE: &str = "public, max-age=86400";

/// Why entry bundles are refused.
pub const NO_ENTRIES: &str = "Entry bundles are not public: the register's entries hold personal data about detained people. Only the tiles of hashes and the checkpoint are published (docs/register-format.md §15.6).\n";

fn text(status: StatusCode, body: String, cache: &'static str) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /checkpoint`: the published checkpoint.
#[utoipa::path(get, path = "/checkpoint", tag = "transparency", responses((status = 200, description = "The published checkpoint (docs/register-format.md §8, §16): the register's signed note, then the cosignature lines of the witnesses that cosigned it. With witnesses configured, the latest checkpoint a quorum of them cosigned; otherwise the latest signed one. Cache-Control: public, max-age=5", body = String, content_type = "text/plain"), (status = 404, description = "No checkpoint is published yet", body = String, content_type = "text/plain")))]
pub(crate) async fn checkpoint(State(state): State<Arc<AppState>>) -> Response {
    let s = state.clone();
    match blocking(move || Ok(s.transparency.published(&s.store)?)).await {
        Ok(Some(p)) => text(StatusCode::OK, p.note, CHECKPOINT_CACHE),
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            "No checkpoint is published yet: none has been signed, or the witnesses have not cosigned one.\n".into(),
            "no-store",
        ),
        Err(e) => e.into_response(),
    }
}

/// `GET /tile/<L>/<N>[.p/<W>]`: a tile of the published tree.
#[utoipa::path(get, path = "/tile/{path}", tag = "transparency", params(("path" = String, Path, description = "The rest of a C2SP tlog-tiles path, `<L>/<N>[.p/<W>]` (several segments: `0/x001/234.p/17`)")), responses((status = 200, description = "The tile's hashes, 32 bytes each, concatenated. Served for every tile of the published checkpoint's size and for the partial tiles of smaller sizes. Cache-Control: public, max-age=31536000, immutable for a full tile; public, max-age=86400 for a partial one", body = Vec<u8>, content_type = "application/octet-stream"), (status = 404, description = "No such tile in the published tree, not a tile path, or an entry bundle (entries are not public)", body = String, content_type = "text/plain")))]
pub(crate) async fn tile(State(state): State<Arc<AppState>>, Path(path): Path<String>) -> Response {
    if path == "entries" || path.starts_with("entries/") {
        return text(
            StatusCode::NOT_FOUND,
            NO_ENTRIES.into(),
            "public, max-age=86400",
        );
    }
    let full = format!("tile/{path}");
    let (level, index, width) = match parse_tile_path(&full) {
        Ok(t) => t,
        Err(e) => return text(StatusCode::NOT_FOUND, format!("{e}\n"), "no-store"),
    };
    let s = state.clone();
    let answer = blocking(move || {
        let Some(p) = s.transparency.published(&s.store)? else {
            return Ok(None);
        };
        Ok(s.transparency.tile(&s.store, p.size, level, index, width)?)
    })
    .await;
    match answer {
        Ok(Some(bytes)) => (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(if width == TILE_WIDTH {
                        FULL_TILE_CACHE
                    } else {
                        PARTIAL_TILE_CACHE
                    }),
                ),
                (
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            format!("{full} is not in the published tree\n"),
            "no-store",
        ),
        Err(e) => e.into_response(),
    }
}
