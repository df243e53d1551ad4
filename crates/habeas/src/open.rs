//! Opening the store, the signing key and the writer from the command line's options.

use crate::system::{OsEntropy, SystemClock};
use anyhow::{bail, Context, Result};
use habeas_register::note::Signer;
use habeas_register::store::{LogSink, Store};
use habeas_register::writer::{Register, WriterConfig, WriterParts};
use habeas_store_postgres::PostgresStore;
use habeas_store_sqlite::SqliteStore;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a command refuses a PostgreSQL `--db`.
pub const NOT_ON_POSTGRES: &str = "--db: this command works on a SQLite file only (import makes a new SQLite store: use `habeas copy` to move a register to PostgreSQL; the benchmarks other than `bench register` and `bench api` make their own stores)";

/// Where the register is and how its writer behaves.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// The register: a SQLite file, or a PostgreSQL database (`postgres://user@host/db`; see
    /// docs/deployment.md for what runs there).
    #[arg(long, global = true, env = "HABEAS_DB", default_value = "habeas.db")]
    pub db: PathBuf,
    /// The signing key file [default: <db>.key; required with a PostgreSQL --db].
    #[arg(long, global = true, env = "HABEAS_KEY")]
    pub key: Option<PathBuf>,
    /// With a PostgreSQL --db: the local SQLite file that replicates the register and holds its
    /// projections, made and caught up as needed (one per process that writes).
    #[arg(long, global = true, env = "HABEAS_REPLICA")]
    pub replica: Option<PathBuf>,
    /// Sign a checkpoint automatically every N entries (0: never).
    #[arg(
        long,
        global = true,
        env = "HABEAS_CHECKPOINT_EVERY",
        default_value_t = 10_000
    )]
    pub checkpoint_every: u64,
    /// Sign a checkpoint automatically every T seconds when there are new entries (0: never).
    #[arg(
        long,
        global = true,
        env = "HABEAS_CHECKPOINT_INTERVAL",
        default_value_t = 60
    )]
    pub checkpoint_interval: u64,
}

impl DbArgs {
    pub fn key_path(&self) -> PathBuf {
        self.key.clone().unwrap_or_else(|| {
            let mut s = self.db.as_os_str().to_owned();
            s.push(".key");
            PathBuf::from(s)
        })
    }

    pub fn writer_config(&self) -> WriterConfig {
        WriterConfig {
            checkpoint_every_entries: self.checkpoint_every,
            checkpoint_every_millis: (self.checkpoint_interval as i64).saturating_mul(1000),
            ..WriterConfig::default()
        }
    }

    /// The PostgreSQL address `--db` names, if it names one rather than a SQLite file.
    pub fn postgres_url(&self) -> Option<&str> {
        self.db
            .to_str()
            .filter(|s| habeas_store_postgres::is_postgres_url(s))
    }

    /// Where the register is, for messages: the file, or the address without its password.
    pub fn shown(&self) -> String {
        match self.postgres_url() {
            Some(url) => habeas_store_postgres::redacted(url),
            None => self.db.display().to_string(),
        }
    }

    /// The options that name this store on a command line (no password).
    pub fn flags(&self) -> String {
        match (self.postgres_url(), &self.replica) {
            (Some(_), replica) => format!(
                "--db '{}' --key {} --replica {}",
                self.shown(),
                self.key_path().display(),
                replica
                    .as_deref()
                    .map_or("REPLICA".into(), |r| r.display().to_string())
            ),
            (None, _) => format!("--db {}", self.db.display()),
        }
    }

    /// The signing key's file: `--key`, or `<db>.key` beside a SQLite file. A PostgreSQL
    /// register has no file to put it beside, so there `--key` is required.
    pub fn signing_key_path(&self) -> Result<PathBuf> {
        if self.key.is_none() && self.postgres_url().is_some() {
            bail!("--key: a register on PostgreSQL needs its signing key's file named with --key (or HABEAS_KEY); the key is never kept in the database");
        }
        Ok(self.key_path())
    }

    /// The local file the store's companions are named after (`<file>.access`,
    /// `<file>.session.key`, …) and the accounts are kept in: the SQLite store itself, or the
    /// replica of a register on PostgreSQL.
    pub fn local_path(&self) -> Result<PathBuf> {
        match (self.postgres_url(), &self.replica) {
            (None, _) => Ok(self.db.clone()),
            (Some(_), Some(replica)) => Ok(replica.clone()),
            (Some(_), None) => bail!("--replica: a register on PostgreSQL is read through a local SQLite replica that holds its projections; name its file with --replica (or HABEAS_REPLICA); it is made the first time"),
        }
    }

    fn open_postgres(url: &str) -> Result<PostgresStore> {
        PostgresStore::open(url).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The accounts: in the SQLite file, or in the PostgreSQL database (shared by every server
    /// pointed at it). Their second factors are sealed with `<db>.secrets.key`, or on
    /// PostgreSQL `<key>.secrets`, beside the signing key (every server host needs it).
    pub fn open_accounts(&self) -> Result<habeas_store_sqlite::Accounts> {
        match self.postgres_url() {
            Some(url) => {
                let mut secrets = self.signing_key_path()?.into_os_string();
                secrets.push(".secrets");
                habeas_store_sqlite::Accounts::with_rows(
                    Box::new(Self::open_postgres(url)?.accounts()),
                    Path::new(&secrets),
                )
            }
            None => habeas_store_sqlite::Accounts::open(&self.db),
        }
        .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The SQLite store with its projections, which every command about people, places and
    /// findings reads: the file, or the caught-up replica of a register on PostgreSQL.
    pub fn open_store(&self) -> Result<SqliteStore> {
        match self.postgres_url() {
            Some(url) => {
                let replica =
                    crate::replica::open(&Self::open_postgres(url)?, &self.local_path()?)?;
                Arc::try_unwrap(replica).map_err(|_| anyhow::anyhow!("the replica is shared"))
            }
            None => SqliteStore::open(&self.db).map_err(|e| anyhow::anyhow!("{e}")),
        }
    }

    /// The register alone (entries and checkpoints), on either backend.
    pub fn open_register(&self) -> Result<Arc<dyn Store>> {
        Ok(match self.postgres_url() {
            Some(url) => Arc::new(PostgresStore::open(url).map_err(|e| anyhow::anyhow!("{e}"))?),
            None => Arc::new(self.open_store()?),
        })
    }

    /// The register alone and its writer, on either backend.
    pub fn open_register_writer(&self) -> Result<(Arc<dyn Store>, Register)> {
        let signer = read_signer(&self.signing_key_path()?)?;
        let (store, sink): (Arc<dyn Store>, Box<dyn LogSink>) = match self.postgres_url() {
            Some(url) => {
                let store = PostgresStore::open(url).map_err(|e| anyhow::anyhow!("{e}"))?;
                let sink = store.sink().map_err(|e| anyhow::anyhow!("{e}"))?;
                (Arc::new(store), Box::new(sink))
            }
            None => {
                let store = self.open_store()?;
                let sink = store.sink().map_err(|e| anyhow::anyhow!("{e}"))?;
                (Arc::new(store), Box::new(sink))
            }
        };
        let register = Register::start(WriterParts {
            sink,
            store: store.clone(),
            signer,
            clock: Arc::new(SystemClock),
            entropy: Arc::new(OsEntropy::default()),
            config: self.writer_config(),
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((store, register))
    }

    /// Opens the store and starts its writer with the signing key. On PostgreSQL the writer
    /// takes the register's writer lock (refused while another process holds it) and writes
    /// through the replica.
    pub fn open_writer(&self) -> Result<(Arc<SqliteStore>, Register)> {
        self.open_writer_waiting(false)
    }

    /// As [`Self::open_writer`]; on PostgreSQL, when `wait`, waiting for the process that
    /// writes the register to stop rather than refusing.
    pub fn open_writer_waiting(&self, wait: bool) -> Result<(Arc<SqliteStore>, Register)> {
        match self.postgres_url() {
            Some(url) => {
                let key = self.signing_key_path()?;
                let signer = read_signer(&key)?;
                let primary = Self::open_postgres(url)?;
                let (local, sink) = crate::replica::writer(&primary, &self.local_path()?, wait)?;
                self.start_writer_with(local, sink, signer)
            }
            None => self.start_writer(Arc::new(self.open_store()?), &self.key_path()),
        }
    }
}

/// The identity of a new access log beside the register `main` (origin `<main's>/access`), its
/// signing key written to `key_path`.
fn new_access_log(
    main: &dyn Store,
    key_path: &Path,
) -> Result<habeas_register::store::RegisterInfo> {
    let origin = format!(
        "{}/access",
        main.info().map_err(|e| anyhow::anyhow!("{e}"))?.origin
    );
    let signer = Signer::from_seed(&origin, crate::system::key_seed()?)
        .map_err(|e| anyhow::anyhow!("access log: {e}"))?;
    write_signer(key_path, &signer)?;
    Ok(habeas_register::store::RegisterInfo {
        origin,
        verifier: signer.verifier(),
    })
}

/// Reads a `PRIVATE+KEY+…` signing key, refusing a file others can read.
pub fn read_signer(path: &Path) -> Result<Signer> {
    let text = read_secret_file(path)?;
    Signer::parse(&text)
        .map_err(|e| anyhow::anyhow!("the signing key {} is not valid: {e}", path.display()))
}

/// Reads a key file, refusing one others can read.
fn read_secret_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "the key {} can be read by others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    Ok(text)
}

/// Writes a new signing key with mode 0600. Refuses to overwrite.
pub fn write_signer(path: &Path, signer: &Signer) -> Result<()> {
    write_secret_file(path, &signer.to_secret_string())
}

/// Writes a new key file with mode 0600. Refuses to overwrite.
fn write_secret_file(path: &Path, text: &str) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| {
        format!(
            "cannot create the key {} (does it exist already?)",
            path.display()
        )
    })?;
    writeln!(f, "{text}")?;
    f.sync_all()?;
    Ok(())
}

impl DbArgs {
    /// The access log's file: `<db>.access`, a register of its own (on PostgreSQL, its
    /// replica: `<replica>.access`).
    pub fn access_path(&self) -> Result<PathBuf> {
        let mut s = self.local_path()?.into_os_string();
        s.push(".access");
        Ok(PathBuf::from(s))
    }

    /// The access log's signing key: `<db>.access.key` (on PostgreSQL, `<key>.access`, beside
    /// the register's own key: every process that serves needs both).
    pub fn access_key_path(&self) -> Result<PathBuf> {
        let mut s = match self.postgres_url() {
            Some(_) => self.signing_key_path()?.into_os_string(),
            None => self.access_path()?.into_os_string(),
        };
        s.push(if self.postgres_url().is_some() {
            ".access"
        } else {
            ".key"
        });
        Ok(PathBuf::from(s))
    }

    /// The access log of a register on PostgreSQL: a register of its own in the schema
    /// `<schema>_access` of the same database, made the first time with its own key, and its
    /// writer through its replica `<replica>.access`.
    fn open_postgres_access_log(&self, url: &str) -> Result<(Arc<SqliteStore>, Register)> {
        let main = Self::open_postgres(url)?;
        let key_path = self.access_key_path()?;
        let primary = match main
            .open_companion("access")
            .map_err(|e| anyhow::anyhow!("{e}"))?
        {
            Some(p) => p,
            None => {
                let info = new_access_log(&main, &key_path)?;
                let created = main
                    .create_companion("access", &info)
                    .map_err(|e| anyhow::anyhow!("cannot create the access log: {e}"))?;
                eprintln!(
                    "created the access log in the {} (origin {}); its verifier key: {}",
                    created.place(),
                    info.origin,
                    info.verifier
                );
                created
            }
        };
        let signer = read_signer(&key_path)?;
        let (local, sink) = crate::replica::writer(&primary, &self.access_path()?, false)?;
        self.start_writer_with(local, sink, signer)
    }

    /// Opens the access log and starts its writer, creating it (with its own signing key, the
    /// verifier key printed to standard error) the first time.
    pub fn open_access_log(&self) -> Result<(Arc<SqliteStore>, Register)> {
        if let Some(url) = self.postgres_url() {
            return self.open_postgres_access_log(url);
        }
        let path = self.access_path()?;
        let key_path = self.access_key_path()?;
        if !path.exists() {
            let info = new_access_log(&self.open_store()?, &key_path)?;
            SqliteStore::create(&path, &info)
                .map_err(|e| anyhow::anyhow!("cannot create the access log: {e}"))?;
            eprintln!(
                "created the access log {} (origin {}); its verifier key: {}",
                path.display(),
                info.origin,
                info.verifier
            );
        }
        let store = Arc::new(SqliteStore::open(&path).map_err(|e| anyhow::anyhow!("{e}"))?);
        self.start_writer(store, &key_path)
    }

    /// The key that signs session cookies: `<db>.session.key` (on PostgreSQL `<key>.session`),
    /// made (mode 0600) the first time the server starts. Replacing it signs everyone out.
    pub fn session_key(&self) -> Result<habeas_web::auth::CookieKey> {
        // On PostgreSQL the sessions are shared by every server, so the key that signs their
        // cookies is too: `<key>.session`, beside the signing key, copied to every host.
        let (mut s, suffix) = match self.postgres_url() {
            Some(_) => (self.signing_key_path()?.into_os_string(), ".session"),
            None => (self.local_path()?.into_os_string(), ".session.key"),
        };
        s.push(suffix);
        let path = PathBuf::from(s);
        if !path.exists() {
            let key =
                habeas_web::auth::CookieKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
            write_secret_file(&path, &key.to_text())?;
        }
        habeas_web::auth::CookieKey::parse(&read_secret_file(&path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Whether this store is itself an access log (`<db>.access`).
    pub fn is_access_log(&self) -> bool {
        self.db.to_string_lossy().ends_with(".access")
    }

    /// Appends events to the access log, durably and under a signed checkpoint, before the
    /// command goes on. An access log's own reads and exports are not logged in itself.
    pub fn log_access(&self, events: &[habeas_web::access::Event<'_>]) -> Result<()> {
        if self.is_access_log() {
            return Ok(());
        }
        let log = self.access_log_for_change()?;
        Self::log_to(log, events)
    }

    /// Opens the access log's writer before a change is made, so that a change is never made
    /// that could not be logged (while `habeas serve` runs it holds the writer: use the API).
    pub fn access_log_for_change(&self) -> Result<Register> {
        self.open_access_log().map(|(_, log)| log).map_err(|e| {
            anyhow::anyhow!("the access log cannot be written, so nothing was done ({e}); while `habeas serve` runs, go through its API (`habeas user list|lock|unlock|reset-password` go through its control socket)")
        })
    }

    /// Appends to an open access log, signs a checkpoint and stops its writer.
    pub fn log_to(log: Register, events: &[habeas_web::access::Event<'_>]) -> Result<()> {
        let result = log
            .append_all(
                events
                    .iter()
                    .map(habeas_web::access::Event::to_draft)
                    .collect(),
            )
            .map_err(|e| anyhow::anyhow!("access log: {e}"))
            .and_then(|_| {
                log.checkpoint()
                    .map(|_| ())
                    .map_err(|e| anyhow::anyhow!("access log: {e}"))
            });
        log.shutdown();
        result
    }

    /// Starts the writer of `store` with the signing key at `key_path`.
    fn start_writer(
        &self,
        store: Arc<SqliteStore>,
        key_path: &Path,
    ) -> Result<(Arc<SqliteStore>, Register)> {
        let signer = read_signer(key_path)?;
        let sink = store.sink().map_err(|e| anyhow::anyhow!("{e}"))?;
        self.start_writer_with(store, Box::new(sink), signer)
    }

    /// Starts the writer of `store` over `sink`.
    fn start_writer_with(
        &self,
        store: Arc<SqliteStore>,
        sink: Box<dyn LogSink>,
        signer: Signer,
    ) -> Result<(Arc<SqliteStore>, Register)> {
        let register = Register::start(WriterParts {
            sink,
            store: store.clone(),
            signer,
            clock: Arc::new(SystemClock),
            entropy: Arc::new(OsEntropy::default()),
            config: self.writer_config(),
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((store, register))
    }
}
