//! The server's local control channel (see `habeas_web::control` for the commands and the
//! protocol): `habeas serve` listens on `<db>.control.sock`, a Unix domain socket beside the
//! store, mode 0600, and carries out the commands of its own operating-system user (or root)
//! only, naming them `os:<user>` in the access log. `habeas user unlock|lock|list|
//! reset-password` try it first, so that they work while the server holds the access log.

use crate::open::DbArgs;
use anyhow::{bail, Context, Result};
use habeas_register::store::{AppendError, Rejection, StoreError};
use habeas_register::writer::Receipt;
use habeas_register::{Draft, Timestamp};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The control socket of the store `db` names: `<db>.control.sock` (on PostgreSQL, beside the
/// replica: `<replica>.control.sock`).
pub fn socket_path(db: &DbArgs) -> Result<PathBuf> {
    let mut s = db.local_path()?.into_os_string();
    s.push(".control.sock");
    Ok(PathBuf::from(s))
}

/// Binds the control socket (mode 0600), removing a stale one first; refused if a server
/// already answers on it.
#[cfg(unix)]
pub fn bind(path: &Path) -> Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "control socket: {} exists and is not a socket; move it away",
                path.display()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "control socket: a server already answers on {}",
                path.display()
            );
        }
        std::fs::remove_file(path).with_context(|| {
            format!("control socket: cannot remove the stale {}", path.display())
        })?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("control socket: cannot bind {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("control socket: cannot restrict {}", path.display()))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The name of the operating-system user `uid` (from `/etc/passwd`), or the number.
#[cfg(unix)]
fn os_user(uid: u32) -> String {
    let named = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                let id: u32 = f.nth(1)?.parse().ok()?;
                (id == uid && !name.is_empty()).then(|| name.to_owned())
            })
        });
    format!("os:{}", named.unwrap_or_else(|| uid.to_string()))
}

/// Answers the control socket until the runtime stops: each connection one request line and
/// one answer line, from the server's own user or root only.
#[cfg(unix)]
pub async fn serve(
    listener: std::os::unix::net::UnixListener,
    path: PathBuf,
    state: std::sync::Arc<habeas_web::state::AppState>,
) {
    use std::os::unix::fs::MetadataExt as _;
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
    let listener = match tokio::net::UnixListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("control socket: {e}; the break-glass commands will not reach this server");
            return;
        }
    };
    // The socket was made by this process: its owner is the server's user.
    let own = std::fs::metadata(&path).map(|m| m.uid()).ok();
    loop {
        let mut stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors, say: wait rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let uid = stream.peer_cred().map(|c| c.uid()).ok();
            let allowed = uid.is_some_and(|u| u == 0 || Some(u) == own);
            let (read, mut write) = stream.split();
            let reply = if let (true, Some(uid)) = (allowed, uid) {
                let mut line = String::new();
                let mut reader =
                    tokio::io::BufReader::new(read.take(habeas_web::control::MAX_REQUEST as u64));
                let got = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    reader.read_line(&mut line),
                )
                .await;
                match got {
                    Ok(Ok(_)) => {
                        let actor = os_user(uid);
                        tokio::task::spawn_blocking(move || {
                            habeas_web::control::answer(&state, &actor, &line)
                        })
                        .await
                        .unwrap_or_else(|e| {
                            serde_json::json!({"ok": false, "error": {"code": "internal", "message": e.to_string(), "field": null}}).to_string()
                        })
                    }
                    _ => serde_json::json!({"ok": false, "error": {"code": "invalid_field", "message": "request: one JSON line within 10 seconds", "field": "request"}}).to_string(),
                }
            } else {
                serde_json::json!({"ok": false, "error": {"code": "forbidden", "message": "only the server's own operating-system user, or root, may use its control socket", "field": null}}).to_string()
            };
            let _ = write.write_all(format!("{reply}\n").as_bytes()).await;
            let _ = write.shutdown().await;
        });
    }
}

/// Whether a server answers on the store's control socket.
#[cfg(unix)]
pub fn live(db: &DbArgs) -> bool {
    socket_path(db).is_ok_and(|p| std::os::unix::net::UnixStream::connect(p).is_ok())
}

#[cfg(not(unix))]
pub fn live(_db: &DbArgs) -> bool {
    false
}

/// Sends one command to the running server's control socket: its `result`, `Ok(None)` when
/// no server answers there (no socket, or a stale one), or the server's refusal as an error.
#[cfg(unix)]
pub fn call(db: &DbArgs, command: &str, args: Value) -> Result<Option<Value>> {
    let Some(answer) = exchange(db, command, args)? else {
        return Ok(None);
    };
    if answer["ok"] == true {
        return Ok(Some(answer["result"].clone()));
    }
    // The server's messages begin with the field at fault.
    bail!(
        "{} (the running server refused it)",
        answer["error"]["message"].as_str().unwrap_or("refused")
    )
}

/// Sends one command and returns the server's whole answer (`{"ok": …}`), or `Ok(None)` when
/// no server answers on the socket.
#[cfg(unix)]
pub fn exchange(db: &DbArgs, command: &str, args: Value) -> Result<Option<Value>> {
    use std::io::{BufRead as _, Write as _};
    let Ok(path) = socket_path(db) else {
        return Ok(None);
    };
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bail!(
            "habeas serve runs on this store as another operating-system user, and its control socket {} admits only that user and root: run this command as that user, or go through the API",
            path.display()
        ),
        Err(e) => bail!("control socket {}: {e}", path.display()),
    };
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
    let request = serde_json::json!({"command": command, "args": args});
    stream.write_all(format!("{request}\n").as_bytes())?;
    let mut line = String::new();
    std::io::BufReader::new(&stream)
        .read_line(&mut line)
        .with_context(|| format!("control socket {}: no answer", path.display()))?;
    let answer: Value = serde_json::from_str(line.trim())
        .with_context(|| format!("control socket {}: not an answer: {line:?}", path.display()))?;
    Ok(Some(answer))
}

#[cfg(not(unix))]
pub fn call(_db: &DbArgs, _command: &str, _args: Value) -> Result<Option<Value>> {
    Ok(None)
}

#[cfg(not(unix))]
pub fn exchange(_db: &DbArgs, _command: &str, _args: Value) -> Result<Option<Value>> {
    Ok(None)
}

/// The running server's writer, reached through its control socket: the command line's
/// entries, checked and appended by the server under the same rules as the API's.
#[derive(Debug, Clone)]
pub struct Remote {
    db: DbArgs,
}

fn store_error(message: impl Into<String>) -> AppendError {
    AppendError::Store(StoreError::Backend(message.into()))
}

/// The error of a `register.append` answer: the writer's rejection as it gave it, or a
/// failure to write.
fn append_error(error: &Value) -> AppendError {
    let message = error["message"].as_str().unwrap_or("refused").to_owned();
    match error["code"].as_str() {
        None | Some("store" | "internal") => store_error(format!("{message} (the running server)")),
        Some(code) => AppendError::Rejected(Rejection {
            code: code.to_owned(),
            field: error["field"].as_str().map(str::to_owned),
            message,
            words: None,
        }),
    }
}

fn receipt_of(v: &Value) -> Result<Receipt, AppendError> {
    let index = v["index"]
        .as_u64()
        .ok_or_else(|| store_error("the running server's receipt has no index"))?;
    let time = v["time"]
        .as_str()
        .and_then(|t| Timestamp::parse(t).ok())
        .ok_or_else(|| store_error("the running server's receipt has no time"))?;
    let leaf = v["leaf"]
        .as_str()
        .and_then(habeas_register::merkle::from_hex)
        .ok_or_else(|| store_error("the running server's receipt has no leaf hash"))?;
    Ok(Receipt { index, time, leaf })
}

impl Remote {
    /// The running server of `db`, with the name it records this process's entries in, or
    /// `None` when no server answers on the store's control socket.
    pub fn connect(db: &DbArgs) -> Result<Option<(Self, String)>> {
        let Some(result) = call(db, "session", serde_json::json!({}))? else {
            return Ok(None);
        };
        let actor = result["actor"]
            .as_str()
            .context("control socket: the server did not say whom it records")?
            .to_owned();
        Ok(Some((Self { db: db.clone() }, actor)))
    }

    fn send(&self, drafts: &[Draft], each: bool) -> Result<Value, AppendError> {
        let wire: Vec<Value> = drafts
            .iter()
            .map(habeas_web::control::draft_to_wire)
            .collect();
        match exchange(
            &self.db,
            "register.append",
            serde_json::json!({"drafts": wire, "each": each}),
        ) {
            Ok(Some(answer)) if answer["ok"] == true => Ok(answer["result"].clone()),
            Ok(Some(answer)) => Err(append_error(&answer["error"])),
            Ok(None) => Err(store_error(
                "the running server stopped before it took the entries; nothing was recorded by this command",
            )),
            Err(e) => Err(store_error(format!("{e:#}"))),
        }
    }

    /// Appends `drafts` all or nothing.
    pub fn append_all(&self, drafts: &[Draft]) -> Result<Vec<Receipt>, AppendError> {
        let result = self.send(drafts, false)?;
        result["receipts"]
            .as_array()
            .ok_or_else(|| store_error("the running server's answer has no receipts"))?
            .iter()
            .map(receipt_of)
            .collect()
    }

    /// Appends each of `drafts` on its own: a receipt or the refusal of each.
    pub fn append_each(
        &self,
        drafts: &[Draft],
    ) -> Result<Vec<Result<Receipt, AppendError>>, AppendError> {
        let result = self.send(drafts, true)?;
        let results = result["results"]
            .as_array()
            .ok_or_else(|| store_error("the running server's answer has no results"))?;
        Ok(results
            .iter()
            .map(|r| match r.get("error") {
                Some(e) => Err(append_error(e)),
                None => receipt_of(r),
            })
            .collect())
    }

    /// Signs a checkpoint if the register grew; the latest one's note.
    pub fn checkpoint(&self) -> Result<Option<String>> {
        let result = call(&self.db, "register.checkpoint", serde_json::json!({}))?
            .context("the running server stopped")?;
        Ok(result["checkpoint"].as_str().map(str::to_owned))
    }

    /// Logs reads in the access log under this process's name, before they are shown.
    pub fn log(&self, events: &[habeas_web::access::Event<'_>]) -> Result<()> {
        let wire: Vec<Value> = events
            .iter()
            .map(|e| {
                habeas_web::control::event_to_wire(e)
                    .context("the command line logs only reads through the running server")
            })
            .collect::<Result<_>>()?;
        call(&self.db, "access.log", serde_json::json!({"events": wire}))?
            .context("the running server stopped before it logged the read; nothing is shown")?;
        Ok(())
    }
}
