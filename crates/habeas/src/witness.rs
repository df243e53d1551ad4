//! `habeas witness`: a C2SP `tlog-witness` that cosigns registers' checkpoints, and the client
//! a register uses to ask a witness for a cosignature.
//!
//! The witness keeps, in its own SQLite file, one row per log it witnesses: the latest
//! checkpoint it cosigned. A request is decided by `habeas_register::witness::Witness` inside
//! one write transaction that reads that row and replaces it, so that two requests cannot roll
//! each other back, and the answer goes out only after the commit. Requests that carry a
//! validly signed checkpoint the witness will not cosign (a fork, or a tree that does not
//! extend the one it holds) are kept as evidence.

use crate::open::DbArgs;
use crate::system::{key_seed, SystemClock};
use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use habeas_register::note::VerifierKey;
use habeas_register::time::Clock;
use habeas_register::witness::{
    parse_cosignature_lines, parse_size_body, AddCheckpoint, CosignerKey, LogState, Refusal,
    Witness,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, clap::Subcommand)]
pub enum WitnessCommand {
    /// Make a new cosigner key (file mode 0600) and print its verifier key.
    Keygen {
        /// The witness's name (e.g. `witness.example.org/habeas`): no spaces, no `+`.
        #[arg(long)]
        name: String,
        /// The new key file (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Answer `POST /add-checkpoint` (C2SP tlog-witness) until SIGINT or SIGTERM. The cosigner
    /// key is `--key FILE`; the witness's state is the SQLite file `--db PATH` (made if absent;
    /// never a register's file).
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A log to witness, as ORIGIN=VERIFIER_KEY (the register's origin line and verifier key);
    /// repeat for several logs.
    #[arg(long = "log", value_name = "ORIGIN=VKEY", required = true)]
    logs: Vec<String>,
    /// Address to listen on (port 0: any free port, printed).
    #[arg(long, default_value = "127.0.0.1:7380")]
    listen: SocketAddr,
    /// Stop also when standard input closes (a witness started by another process, as
    /// `habeas demo` starts one, goes with it).
    #[arg(long, hide = true)]
    until_stdin_closes: bool,
}

pub fn run(db: &DbArgs, command: WitnessCommand) -> Result<ExitCode> {
    match command {
        WitnessCommand::Keygen { name, out } => keygen(&name, &out),
        WitnessCommand::Serve(args) => serve(db, args),
    }
}

fn keygen(name: &str, out: &Path) -> Result<ExitCode> {
    let key =
        CosignerKey::from_seed(name, key_seed()?).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut file = opts
        .open(out)
        .with_context(|| format!("--out: cannot create {} (it must not exist)", out.display()))?;
    use std::io::Write as _;
    writeln!(file, "{}", key.to_secret_string())?;
    file.sync_all()?;
    println!(
        "cosigner key: {} (keep it secret; mode 0600)",
        out.display()
    );
    println!("verifier key: {}", key.verifier());
    Ok(ExitCode::SUCCESS)
}

fn read_key(path: &Path) -> Result<CosignerKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--key: cannot read {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "--key: {} can be read by others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    CosignerKey::parse(&text).map_err(|e| {
        anyhow::anyhow!(
            "--key: {} is not a cosigner key (made by `habeas witness keygen`): {e}",
            path.display()
        )
    })
}

/// `ORIGIN=VKEY` → (origin, key).
fn parse_log(arg: &str) -> Result<(String, VerifierKey)> {
    let (origin, vkey) = arg
        .split_once('=')
        .with_context(|| format!("--log {arg}: expected ORIGIN=VERIFIER_KEY"))?;
    if origin.is_empty() || origin.contains(char::is_whitespace) {
        bail!("--log {arg}: the origin is one line without spaces");
    }
    let key = VerifierKey::parse(vkey).map_err(|e| anyhow::anyhow!("--log {origin}: {e}"))?;
    Ok((origin.to_owned(), key))
}

/// The witness's state: one row per log, and the refused requests kept as evidence.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS witness_logs (
    origin     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,   -- the latest cosigned checkpoint's tree size
    root       BLOB NOT NULL,      -- its root hash (32 bytes)
    note       TEXT NOT NULL,      -- the signed checkpoint note as the log sent it
    updated_at TEXT NOT NULL       -- when it was cosigned (YYYY-MM-DDTHH:MM:SS.mmmZ)
) STRICT;
CREATE TABLE IF NOT EXISTS witness_evidence (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    origin      TEXT NOT NULL,
    status      INTEGER NOT NULL,  -- 409 (fork) or 422 (not an extension)
    reason      TEXT NOT NULL,
    request     TEXT NOT NULL,     -- the whole request body: the log's own signed checkpoint
    received_at TEXT NOT NULL
) STRICT;
";

/// The witness and its database, shared by the request handlers.
pub struct Shared {
    witness: Witness,
    db: Mutex<Connection>,
    clock: Arc<dyn Clock>,
}

impl Shared {
    /// Opens (or creates) the witness's database. Refuses a register's SQLite file.
    pub fn open(path: &Path, witness: Witness, clock: Arc<dyn Clock>) -> Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("--db: cannot open {}", path.display()))?;
        let register: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'register_meta'",
                [],
                |r| r.get(0),
            )
            .with_context(|| format!("--db: {} is not a SQLite database", path.display()))?;
        if register {
            bail!(
                "--db: {} holds a register; a witness keeps its state in a file of its own",
                path.display()
            );
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)
            .context("cannot create the witness's tables")?;
        Ok(Self {
            witness,
            db: Mutex::new(conn),
            clock,
        })
    }

    /// Decides one request body and returns the status, content type and body to answer.
    fn handle(&self, body: &[u8]) -> (StatusCode, &'static str, String) {
        const TEXT: &str = "text/plain; charset=utf-8";
        let Ok(body) = std::str::from_utf8(body) else {
            return (
                StatusCode::BAD_REQUEST,
                TEXT,
                "the body is not UTF-8\n".into(),
            );
        };
        let req = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(e) => return (StatusCode::BAD_REQUEST, TEXT, format!("{e}\n")),
        };
        match self.decide(body, &req) {
            Ok(Ok((origin, size, cosignature))) => {
                eprintln!("cosigned {origin} at size {size}");
                (StatusCode::OK, TEXT, cosignature)
            }
            Ok(Err(refusal)) => {
                eprintln!(
                    "refused ({}) {}: {refusal}",
                    refusal.status(),
                    req.origin().unwrap_or("(no origin)")
                );
                let (content_type, body) = refusal.response();
                let status = StatusCode::from_u16(refusal.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, content_type, body)
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    TEXT,
                    "the witness could not record the checkpoint\n".into(),
                )
            }
        }
    }

    /// Reads the held state, decides, and stores the new state (or the evidence) in one
    /// write transaction; the decision is final only once it has committed.
    fn decide(
        &self,
        body: &str,
        req: &AddCheckpoint,
    ) -> Result<Result<(String, u64, String), Refusal>> {
        let now = self.clock.now();
        let secs = u64::try_from(now.0.div_euclid(1000)).unwrap_or(0);
        let mut conn = self
            .db
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = match req.origin() {
            Some(origin) => load(&tx, origin)?,
            None => None,
        };
        match self.witness.decide(req, stored.as_ref(), secs) {
            Ok(accepted) => {
                let Ok(size) = i64::try_from(accepted.state.size) else {
                    return Ok(Err(Refusal::Malformed(
                        "this witness keeps tree sizes up to 2^63 - 1".into(),
                    )));
                };
                tx.execute(
                    "INSERT INTO witness_logs (origin, size, root, note, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (origin) DO UPDATE SET size = excluded.size,
                         root = excluded.root, note = excluded.note,
                         updated_at = excluded.updated_at",
                    params![
                        accepted.origin,
                        size,
                        &accepted.state.root[..],
                        accepted.state.note,
                        now.to_string()
                    ],
                )?;
                tx.commit()?;
                Ok(Ok((
                    accepted.origin,
                    accepted.state.size,
                    accepted.cosignature,
                )))
            }
            Err(refusal) => {
                if refusal.is_evidence() {
                    tx.execute(
                        "INSERT INTO witness_evidence (origin, status, reason, request, received_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            req.origin().unwrap_or_default(),
                            refusal.status(),
                            refusal.to_string(),
                            body,
                            now.to_string()
                        ],
                    )?;
                    tx.commit()?;
                }
                Ok(Err(refusal))
            }
        }
    }
}

/// The latest checkpoint the witness cosigned for `origin`.
fn load(conn: &Connection, origin: &str) -> Result<Option<LogState>> {
    let row = conn
        .query_row(
            "SELECT size, root, note FROM witness_logs WHERE origin = ?1",
            [origin],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((size, root, note)) = row else {
        return Ok(None);
    };
    let size = u64::try_from(size).context("the witness database is damaged: a negative size")?;
    let root = root
        .try_into()
        .map_err(|_| anyhow::anyhow!("the witness database is damaged: a root is not 32 bytes"))?;
    Ok(Some(LogState { size, root, note }))
}

async fn add_checkpoint_route(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let answer = tokio::task::spawn_blocking(move || shared.handle(&body)).await;
    let (status, content_type, body) = answer.unwrap_or_else(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            "the witness failed\n".into(),
        )
    });
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `POST /add-checkpoint`, with request bodies up to 64 KiB.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint_route))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(shared)
}

fn serve(db: &DbArgs, args: ServeArgs) -> Result<ExitCode> {
    let key_path = db
        .key
        .as_deref()
        .context("--key: the witness's cosigner key file (made by `habeas witness keygen`)")?;
    if db.postgres_url().is_some() || db.db == Path::new("habeas.db") {
        bail!("--db: name the witness's own SQLite file (not a register's)");
    }
    let key = read_key(key_path)?;
    let mut logs = BTreeMap::new();
    for arg in &args.logs {
        let (origin, vkey) = parse_log(arg)?;
        if logs.insert(origin.clone(), vkey).is_some() {
            bail!("--log {origin}: given twice");
        }
    }
    let vkey = key.verifier();
    let origins: Vec<String> = logs.keys().cloned().collect();
    let shared = Arc::new(Shared::open(
        &db.db,
        Witness::new(key, logs),
        Arc::new(SystemClock),
    )?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listen: cannot bind {}", args.listen))?;
        let addr = listener.local_addr()?;
        println!("verifier key: {vkey}");
        for origin in &origins {
            println!("witnessing: {origin}");
        }
        println!("listening on http://{addr}");
        let (closed, stdin_closed) = tokio::sync::oneshot::channel::<()>();
        if args.until_stdin_closes {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
                let _ = closed.send(());
            });
        } else {
            // (A closed channel disables its branch below.)
            drop(closed);
        }
        let stop = async move {
            tokio::select! {
                () = crate::serve::stop_signal() => {},
                Ok(()) = stdin_closed => {},
            }
        };
        axum::serve(listener, router(shared))
            .with_graceful_shutdown(stop)
            .await
            .context("the witness stopped with an error")
    })?;
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// What a witness answered to an add-checkpoint request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// 200: the cosignature line(s), each ending in a newline, to append to the checkpoint
    /// note. The caller checks them with `habeas_register::witness::verify_cosignature`
    /// against the witness's verifier key before relying on them.
    Cosigned(String),
    /// 409: the witness holds a checkpoint of another size; ask again with that old size
    /// and a consistency proof from it.
    Conflict { witness_size: u64 },
    /// 409 at the request's own size: the witness holds a different root for this size
    /// (the log has forked, or the caller's view of the witness is wrong).
    Fork { size: u64 },
    /// Any other answer (400, 403, 404, 422, 5xx…), with the witness's message.
    Refused { status: u16, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the witness at {url}: {message}")]
    Transport { url: String, message: String },
    #[error("the witness at {url} answered {status} with a body that is not valid: {message}")]
    Response {
        url: String,
        status: u16,
        message: String,
    },
}

/// Asks the witness at `url` (its submission prefix, e.g. `http://witness.example:7380`, or
/// the full `…/add-checkpoint` address) to cosign `req`'s checkpoint, waiting at most
/// `timeout` for the whole exchange. Plain HTTP only: the answer is authenticated by the
/// cosignature itself. (The server keeps one [`Client`] for its connections.)
#[cfg(test)]
pub fn add_checkpoint(
    url: &str,
    req: &AddCheckpoint,
    timeout: Duration,
) -> Result<AddOutcome, ClientError> {
    Client::new(timeout).add_checkpoint(url, req)
}

/// A witness client that keeps its connections open between requests.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    /// Each exchange waits at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    /// Asks the witness at `url` (its submission prefix, e.g. `http://witness.example:7380`,
    /// or the full `…/add-checkpoint` address) to cosign `req`'s checkpoint. Plain HTTP only:
    /// the answer is authenticated by the cosignature itself.
    pub fn add_checkpoint(
        &self,
        url: &str,
        req: &AddCheckpoint,
    ) -> Result<AddOutcome, ClientError> {
        let endpoint = if url.ends_with("/add-checkpoint") {
            url.to_owned()
        } else {
            format!("{}/add-checkpoint", url.trim_end_matches('/'))
        };
        let transport = |e: ureq::Error| ClientError::Transport {
            url: endpoint.clone(),
            message: e.to_string(),
        };
        let mut resp = self
            .agent
            .post(&endpoint)
            .header("Content-Type", "text/plain; charset=utf-8")
            .send(req.to_body())
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .map_err(transport)?;
        let invalid = |message: String| ClientError::Response {
            url: endpoint.clone(),
            status,
            message,
        };
        match status {
            200 => {
                parse_cosignature_lines(&body).map_err(|e| invalid(e.to_string()))?;
                Ok(AddOutcome::Cosigned(body))
            }
            409 => match parse_size_body(&body) {
                Ok(size) if size == req.old_size => Ok(AddOutcome::Fork { size }),
                Ok(witness_size) => Ok(AddOutcome::Conflict { witness_size }),
                Err(_) => Ok(AddOutcome::Refused {
                    status,
                    message: body.trim().to_owned(),
                }),
            },
            _ => Ok(AddOutcome::Refused {
                status,
                message: body.trim().to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use habeas_register::merkle::{leaf_hash, Tree};
    use habeas_register::note::{Checkpoint, Signer};
    use habeas_register::time::ManualClock;
    use habeas_register::witness::verify_cosignature;
    use habeas_register::Timestamp;

    const ORIGIN: &str = "habeas.test/register/witness";

    struct Running {
        url: String,
        _runtime: tokio::runtime::Runtime,
        _dir: tempfile::TempDir,
    }

    fn start(cosigner: CosignerKey, register: &Signer) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let mut logs = BTreeMap::new();
        logs.insert(ORIGIN.to_owned(), register.verifier());
        let clock = Arc::new(ManualClock::new(Timestamp(1_767_225_600_000)));
        let shared = Arc::new(
            Shared::open(
                &dir.path().join("w.db"),
                Witness::new(cosigner, logs),
                clock,
            )
            .unwrap(),
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, router(shared)).await });
        Running {
            url: format!("http://{addr}"),
            _runtime: runtime,
            _dir: dir,
        }
    }

    fn request(tree: &Tree, old: u64, size: u64, signer: &Signer) -> AddCheckpoint {
        let note = Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root: tree.root_at(size).unwrap(),
        }
        .sign(signer)
        .unwrap();
        AddCheckpoint {
            old_size: old,
            proof: if old == 0 || old == size {
                vec![]
            } else {
                tree.consistency_proof(old, size).unwrap()
            },
            note,
        }
    }

    #[test]
    fn the_client_gets_cosignatures_conflicts_forks_and_refusals() {
        let register = Signer::from_seed(ORIGIN, [3; 32]).unwrap();
        let cosigner = CosignerKey::from_seed("habeas.test/witness", [4; 32]).unwrap();
        let vkey = cosigner.verifier();
        let w = start(cosigner, &register);
        let t =
            |salt: u8| Tree::from_leaves((0..40u64).map(|i| leaf_hash(&[i as u8, salt])).collect());
        let (tree, other) = (t(0), t(1));
        let timeout = Duration::from_secs(10);

        let req = request(&tree, 0, 10, &register);
        let AddOutcome::Cosigned(lines) = add_checkpoint(&w.url, &req, timeout).unwrap() else {
            panic!("not cosigned");
        };
        let ts = verify_cosignature(&format!("{}{lines}", req.note), &vkey).unwrap();
        assert_eq!(ts, 1_767_225_600);

        // The full address works too; a stale old size is a conflict naming the held size.
        let url = format!("{}/add-checkpoint", w.url);
        assert_eq!(
            add_checkpoint(&url, &request(&tree, 0, 20, &register), timeout).unwrap(),
            AddOutcome::Conflict { witness_size: 10 }
        );
        assert_eq!(
            add_checkpoint(&w.url, &request(&other, 10, 10, &register), timeout).unwrap(),
            AddOutcome::Fork { size: 10 }
        );
        let AddOutcome::Refused { status, .. } =
            add_checkpoint(&w.url, &request(&other, 10, 30, &register), timeout).unwrap()
        else {
            panic!("a rewrite was not refused");
        };
        assert_eq!(status, 422);
        let stranger = Signer::from_seed("habeas.test/register/other", [3; 32]).unwrap();
        let AddOutcome::Refused { status, message } =
            add_checkpoint(&w.url, &request(&tree, 0, 10, &stranger), timeout).unwrap()
        else {
            panic!("an unknown log was not refused");
        };
        assert_eq!(status, 404, "{message}");
        let impostor = Signer::from_seed(ORIGIN, [5; 32]).unwrap();
        let AddOutcome::Refused { status, .. } =
            add_checkpoint(&w.url, &request(&tree, 10, 30, &impostor), timeout).unwrap()
        else {
            panic!("a bad signature was not refused");
        };
        assert_eq!(status, 403);

        let AddOutcome::Cosigned(lines) =
            add_checkpoint(&w.url, &request(&tree, 10, 30, &register), timeout).unwrap()
        else {
            panic!("the extension was not cosigned");
        };
        assert!(lines.starts_with("\u{2014} habeas.test/witness "));

        // Nobody listening.
        assert!(matches!(
            add_checkpoint("http://127.0.0.1:1", &req, timeout),
            Err(ClientError::Transport { .. })
        ));
    }
}
