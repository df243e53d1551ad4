//! Opening the store, the signing key and the writer from the command line's options.

use crate::system::{OsEntropy, SystemClock};
use anyhow::{bail, Context, Result};
use habeas_register::note::Signer;
use habeas_register::store::{AppendError, StoreError};
use habeas_register::store::{LogSink, Store};
use habeas_register::time::Clock as _;
use habeas_register::writer::Receipt;
use habeas_register::writer::{Register, WriterConfig, WriterParts};
use habeas_register::Draft;
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
    /// How long to wait, in seconds, for another process that is writing the register (or its
    /// access log) to let go of the writer's lock before giving up (0: not at all).
    #[arg(long, global = true, env = "HABEAS_WAIT", default_value_t = 30)]
    pub wait: u64,
}

/// Where a command's entries go: this process's own writer, or the running server's.
pub enum Writer {
    /// This process holds the writer's lock.
    Local(Register),
    /// `habeas serve` runs on the store: its writer takes the entries, through the control
    /// socket.
    Server(crate::control::Remote),
}

impl Writer {
    pub fn append(&self, draft: Draft) -> Result<Receipt, AppendError> {
        let mut r = self.append_all(vec![draft])?;
        r.pop()
            .ok_or_else(|| AppendError::Store(StoreError::Backend("no receipt".into())))
    }

    /// Appends `drafts` all or nothing.
    pub fn append_all(&self, drafts: Vec<Draft>) -> Result<Vec<Receipt>, AppendError> {
        match self {
            Writer::Local(r) => r.append_all(drafts),
            Writer::Server(s) => s.append_all(&drafts),
        }
    }

    /// Appends each draft on its own (one refused does not stop the others): a receipt or the
    /// refusal of each, or an error when the writer itself fails.
    pub fn append_each(
        &self,
        drafts: Vec<Draft>,
    ) -> Result<Vec<Result<Receipt, AppendError>>, AppendError> {
        match self {
            Writer::Local(r) => {
                let pending: Vec<_> = drafts.into_iter().map(|d| r.submit(vec![d])).collect();
                let mut out = Vec::with_capacity(pending.len());
                for p in pending {
                    match p.wait() {
                        Ok(mut receipts) => out.push(receipts.pop().ok_or_else(|| {
                            AppendError::Store(StoreError::Backend("no receipt".into()))
                        })),
                        Err(e @ AppendError::Rejected(_)) => out.push(Err(e)),
                        Err(e @ AppendError::Store(_)) => return Err(e),
                    }
                }
                Ok(out)
            }
            Writer::Server(s) => s.append_each(&drafts),
        }
    }

    /// Stops this process's writer (signing what it wrote); nothing to do for the server's.
    pub fn shutdown(self) {
        if let Writer::Local(r) = self {
            r.shutdown();
        }
    }
}

/// Where a command's events of the access log go: this process's own writer of it, or the
/// running server's.
pub enum AccessLog {
    Local(Register),
    Server(crate::control::Remote),
}

/// Who holds a writer's lock, written into it for whoever waits: the process, its command line
/// and since when (`process 4242: habeas logbook add --facility CECOT … (since …)`).
pub fn holder() -> String {
    let command: Vec<String> = std::env::args()
        .enumerate()
        .take(10)
        .map(|(i, a)| {
            if i == 0 {
                return "habeas".to_owned();
            }
            if a.chars().count() > 40 {
                format!("{}…", a.chars().take(40).collect::<String>())
            } else {
                a
            }
        })
        .collect();
    format!(
        "process {}: {} (since {})",
        std::process::id(),
        command.join(" "),
        SystemClock.now()
    )
}

impl DbArgs {
    pub fn key_path(&self) -> PathBuf {
        self.key.clone().unwrap_or_else(|| {
            let mut s = self.db.as_os_str().to_owned();
            s.push(".key");
            PathBuf::from(s)
        })
    }

    /// How long to wait for another writer's lock.
    pub fn lock_wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.wait)
    }

    /// The writer's connection to a SQLite store, waiting [`Self::lock_wait`] for it.
    pub fn sqlite_sink(&self, store: &SqliteStore) -> Result<habeas_store_sqlite::SqliteSink> {
        store
            .sink_within(self.lock_wait(), &holder())
            .map_err(|e| anyhow::anyhow!("{e}"))
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
                let sink = store
                    .sink_within(self.lock_wait(), &holder())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                (Arc::new(store), Box::new(sink))
            }
            None => {
                let store = self.open_store()?;
                let sink = self.sqlite_sink(&store)?;
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

    /// Opens the store and the writer its entries go to: the running server's when `habeas
    /// serve` runs on it (through its control socket, see [`crate::control`]), or this
    /// process's own, started with the signing key after waiting up to `--wait` for the
    /// writer's lock. On PostgreSQL this process's writer takes the register's writer lock and
    /// writes through the replica.
    pub fn open_writer(&self) -> Result<(Arc<SqliteStore>, Writer)> {
        if let Some((server, _)) = crate::control::Remote::connect(self)? {
            return Ok((Arc::new(self.open_store()?), Writer::Server(server)));
        }
        let (store, register) = self.open_writer_waiting(false)?;
        Ok((store, Writer::Local(register)))
    }

    /// This process's own writer, after waiting up to `--wait` for the writer's lock; on
    /// PostgreSQL, when `take_over`, waiting as long as it takes for the process that writes
    /// the register to stop (a second server, ready to take over).
    pub fn open_writer_waiting(&self, take_over: bool) -> Result<(Arc<SqliteStore>, Register)> {
        match self.postgres_url() {
            Some(url) => {
                let key = self.signing_key_path()?;
                let signer = read_signer(&key)?;
                let primary = Self::open_postgres(url)?;
                let wait = (!take_over).then(|| self.lock_wait());
                let (local, sink) =
                    crate::replica::writer(&primary, &self.local_path()?, wait, &holder())?;
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
pub fn write_secret_file(path: &Path, text: &str) -> Result<()> {
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
        let (local, sink) = crate::replica::writer(
            &primary,
            &self.access_path()?,
            Some(self.lock_wait()),
            &holder(),
        )?;
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
        // While the server runs it holds the access log: it logs the read, in the name of the
        // operating-system user at its control socket.
        if let Some((server, _)) = crate::control::Remote::connect(self)? {
            return server.log(events);
        }
        let log = self.access_log_for_change()?;
        Self::log_to(log, events)
    }

    /// Opens the access log's writer before a change is made, so that a change is never made
    /// that could not be logged: the running server's, or this process's own (after waiting
    /// up to `--wait` for its lock).
    pub fn access_log_for_change(&self) -> Result<AccessLog> {
        if let Some((server, _)) = crate::control::Remote::connect(self)? {
            return Ok(AccessLog::Server(server));
        }
        self.open_access_log()
            .map(|(_, log)| AccessLog::Local(log))
            .map_err(|e| {
                anyhow::anyhow!("the access log cannot be written, so nothing was done ({e})")
            })
    }

    /// Appends to an open access log and, for this process's own, signs a checkpoint and stops
    /// its writer.
    pub fn log_to(log: AccessLog, events: &[habeas_web::access::Event<'_>]) -> Result<()> {
        let log = match log {
            AccessLog::Server(server) => return server.log(events),
            AccessLog::Local(log) => log,
        };
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
        let sink = self.sqlite_sink(&store)?;
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

/// The day a command shows when none is asked for: today, or the register's last recorded day
/// when that is earlier, which standard error then says (naming `option`, which asks for
/// another).
pub fn default_day(store: &SqliteStore, option: &str) -> Result<habeas_core::dates::Date> {
    let last = store
        .last_recorded_day()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let d = habeas_core::dates::DefaultDay::new(
        habeas_core::dates::Date::of(SystemClock.now()),
        last.as_deref(),
    );
    if let Some(note) = d.note(option) {
        eprintln!("{note}");
    }
    Ok(d.day)
}
