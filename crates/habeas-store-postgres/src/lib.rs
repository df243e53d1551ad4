//! The PostgreSQL store: the register's log and its checkpoints in a PostgreSQL database, for
//! national systems that run one database server with replicas.
//!
//! The same tables as the SQLite store (`register_meta`, `register_log`,
//! `register_checkpoints`), append-only by trigger, in the schema the connection's
//! `search_path` names. One writer at a time: [`PostgresStore::sink`] takes a session advisory
//! lock on the writer's own connection, so a second process pointed at the same database is
//! refused (or, with [`PostgresStore::sink_waiting`], waits to take over when the first
//! writer's connection goes away). The writer's connection commits with
//! `synchronous_commit=on`: an acknowledged entry is on the server's disk.
//!
//! A batch is one statement: the writer's rows go in as three arrays through `unnest`, and a
//! checkpoint that falls due with the batch is inserted by the same statement, so a group
//! commit costs one round trip and one durable commit however many requests it holds.

pub mod accounts;
mod cosignatures;
mod migrate;
pub mod testing;

use habeas_register::note::VerifierKey;
use habeas_register::store::{
    AppendError, LogSink, RegisterInfo, Store, StoreError, StoredCheckpoint, StoredRow,
};
use habeas_register::{Hash, SealedEntry, Timestamp};
use postgres::fallible_iterator::FallibleIterator as _;
use postgres::{Client, Config, NoTls, Statement};
use std::sync::Mutex;
use std::time::Duration;

/// Whether `db` names a PostgreSQL database (`postgres://…` or `postgresql://…`) rather than
/// a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// A `postgres://` address without its password, for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// The advisory-lock class of the register's writer; the second key is the schema's hash, so
/// that registers in different schemas of one database have different writers.
const WRITER_LOCK: i32 = 0x4862_7772;

/// How long [`PostgresStore::sink`] waits for another writer's lock before refusing.
pub const TAKE_OVER_WAIT: Duration = Duration::from_secs(2);

/// Idle reader connections kept for reuse.
const POOL_MAX: usize = 32;

fn backend(e: postgres::Error) -> StoreError {
    StoreError::Backend(describe(&e))
}

/// A PostgreSQL error as one sentence: the server's own message where there is one (it never
/// carries the password of the connection string).
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
        None => format!("PostgreSQL: {e}"),
    }
}

/// The register in a PostgreSQL database.
pub struct PostgresStore {
    config: Config,
    /// Where the store is, without credentials, for messages.
    place: String,
    readers: Mutex<Vec<Client>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("place", &self.place)
            .finish()
    }
}

/// Parses a `postgres://` address into a connection configuration, naming the problem when it
/// cannot.
fn parse_config(url: &str) -> Result<(Config, String), StoreError> {
    let mut config: Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("--db: not a usable PostgreSQL address: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("habeas");
    }
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let place = format!(
        "PostgreSQL database {} on {}",
        config.get_dbname().unwrap_or("(default)"),
        if hosts.is_empty() {
            "localhost".to_owned()
        } else {
            hosts.join(",")
        }
    );
    Ok((config, place))
}

impl PostgresStore {
    fn connect_config(config: &Config, place: &str) -> Result<Client, StoreError> {
        config.connect(NoTls).map_err(|e| {
            StoreError::Backend(format!("cannot connect to the {place}: {}", describe(&e)))
        })
    }

    fn connect(&self) -> Result<Client, StoreError> {
        Self::connect_config(&self.config, &self.place)
    }

    /// Creates a new register in the database `url` names. Refuses if one is already there.
    pub fn create(url: &str, info: &RegisterInfo) -> Result<Self, StoreError> {
        let (config, place) = parse_config(url)?;
        Self::create_config(config, place, info)
    }

    fn create_config(
        config: Config,
        place: String,
        info: &RegisterInfo,
    ) -> Result<Self, StoreError> {
        let mut client = Self::connect_config(&config, &place)?;
        migrate::run(&mut client).map_err(backend)?;
        let mut tx = client.transaction().map_err(backend)?;
        let existing = tx
            .query_opt("SELECT value FROM register_meta WHERE key = 'origin'", &[])
            .map_err(backend)?;
        if existing.is_some() {
            return Err(StoreError::Backend(format!(
                "the {place} already holds a register"
            )));
        }
        tx.execute(
            "INSERT INTO register_meta (key, value) VALUES ('origin', $1), ('verifier_key', $2)",
            &[&info.origin, &info.verifier.to_string()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        drop(client);
        Self::open_config(config, place)
    }

    /// Opens an existing register (applying any new migrations).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let (config, place) = parse_config(url)?;
        Self::open_config(config, place)
    }

    fn open_config(config: Config, place: String) -> Result<Self, StoreError> {
        let mut client = Self::connect_config(&config, &place)?;
        let has_meta: bool = client
            .query_one("SELECT to_regclass('register_meta') IS NOT NULL", &[])
            .and_then(|r| r.try_get(0))
            .map_err(backend)?;
        if !has_meta {
            return Err(StoreError::NotInitialised(format!(
                "the {place} holds no Habeas register; create one with `habeas init`"
            )));
        }
        migrate::run(&mut client).map_err(backend)?;
        let store = Self {
            config,
            place,
            readers: Mutex::new(vec![client]),
        };
        store.info()?;
        Ok(store)
    }

    /// Opens the register `url` names, creating it with `info` if the database holds none.
    pub fn open_or_create(url: &str, info: &RegisterInfo) -> Result<Self, StoreError> {
        match Self::open(url) {
            Err(StoreError::NotInitialised(_)) => Self::create(url, info),
            other => other,
        }
    }

    /// A register of its own beside this one (the access log is one), in the schema
    /// `<this register's schema>_<suffix>` of the same database. `None` when there is none yet.
    pub fn open_companion(&self, suffix: &str) -> Result<Option<Self>, StoreError> {
        let (config, place) = self.companion_config(suffix, false)?;
        match Self::open_config(config, place) {
            Ok(store) => Ok(Some(store)),
            Err(StoreError::NotInitialised(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates the register [`Self::open_companion`] opens, with its own identity.
    pub fn create_companion(&self, suffix: &str, info: &RegisterInfo) -> Result<Self, StoreError> {
        let (config, place) = self.companion_config(suffix, true)?;
        Self::create_config(config, place, info)
    }

    /// The connection settings of a companion register: this one's, with the companion's
    /// schema first on the search path (made when `make`).
    fn companion_config(&self, suffix: &str, make: bool) -> Result<(Config, String), StoreError> {
        if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(StoreError::Backend(format!(
                "{suffix:?} is not a companion register's name (lower-case letters and _)"
            )));
        }
        let schema: String = self.with_reader(|c| {
            c.query_one("SELECT current_schema()::text", &[])
                .and_then(|r| r.try_get::<_, Option<String>>(0))
                .map_err(backend)?
                .ok_or_else(|| {
                    StoreError::Backend(format!("the {} has no current schema", self.place))
                })
        })?;
        if !schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(StoreError::Backend(format!(
                "the register's schema {schema:?} has characters a companion schema's name cannot carry"
            )));
        }
        let name = format!("{schema}_{suffix}");
        if make {
            self.with_reader(|c| {
                c.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {name}"))
                    .map_err(backend)
            })?;
        }
        let mut config = self.config.clone();
        let options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} -csearch_path={name}"),
            _ => format!("-csearch_path={name}"),
        };
        config.options(&options);
        Ok((config, format!("{} (schema {name})", self.place)))
    }

    /// Where the store is, without credentials.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// The writer's connection, refused while another process (or another sink of this one)
    /// writes the register. A writer whose process has just died may still hold the lock for
    /// a moment, until the server notices its connection is gone: this waits up to
    /// [`TAKE_OVER_WAIT`] for that before refusing.
    pub fn sink(&self) -> Result<PostgresSink, StoreError> {
        self.sink_within(TAKE_OVER_WAIT, "habeas")
    }

    /// The writer's connection, waiting up to `wait` (at least [`TAKE_OVER_WAIT`]) for the
    /// writer that holds the lock to let it go. The holder's connection is named `holder`
    /// (its `application_name`: process, command, since when), so that a wait that runs out
    /// says who holds it.
    pub fn sink_within(&self, wait: Duration, holder: &str) -> Result<PostgresSink, StoreError> {
        let mut client = self.connect()?;
        let locked = client
            .batch_execute(&format!(
                "SET lock_timeout = {}; SELECT pg_advisory_lock({WRITER_LOCK}, hashtext(current_schema())); RESET lock_timeout",
                wait.max(TAKE_OVER_WAIT).as_millis()
            ))
            .map(|()| true)
            .or_else(|e| match e.code() {
                Some(c) if *c == postgres::error::SqlState::LOCK_NOT_AVAILABLE => Ok(false),
                _ => Err(backend(e)),
            })?;
        if !locked {
            let held_by = client
                .query_opt(
                    &format!("SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'), to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {WRITER_LOCK} AND l.objid = hashtext(current_schema())::oid AND l.objsubid = 2"),
                    &[],
                )
                .ok()
                .flatten()
                .and_then(|r| {
                    let pid: i32 = r.try_get(0).ok()?;
                    let name: String = r.try_get(1).ok()?;
                    let host: String = r.try_get(2).ok()?;
                    let since: String = r.try_get(3).ok()?;
                    Some(format!(" by {name} (server process {pid}, from {host}, connected since {since})"))
                })
                .unwrap_or_default();
            let waited = format!(
                " after waiting {} s (--wait)",
                wait.max(TAKE_OVER_WAIT).as_secs_f64()
            );
            return Err(StoreError::Backend(format!(
                "another process is writing this register: the writer's lock in the {} is held{held_by}{waited}",
                self.place
            )));
        }
        // application_name holds 63 bytes.
        let mut name: String = String::new();
        for c in holder.chars() {
            if name.len() + c.len_utf8() > 63 {
                break;
            }
            name.push(c);
        }
        client
            .execute("SELECT set_config('application_name', $1, false)", &[&name])
            .map_err(backend)?;
        PostgresSink::new(client)
    }

    /// The writer's connection, waiting for the writer that holds the lock to go away (its
    /// process ends or its connection drops), then taking over.
    pub fn sink_waiting(&self) -> Result<PostgresSink, StoreError> {
        let mut client = self.connect()?;
        client
            .execute(
                "SELECT pg_advisory_lock($1, hashtext(current_schema()))",
                &[&WRITER_LOCK],
            )
            .map_err(backend)?;
        PostgresSink::new(client)
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().map_err(|_| StoreError::Closed)?.pop();
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.connect()?,
        };
        let out = f(&mut client);
        if !client.is_closed() {
            if let Ok(mut pool) = self.readers.lock() {
                if pool.len() < POOL_MAX {
                    pool.push(client);
                }
            }
        }
        out
    }
}

fn checkpoint_of(row: &postgres::Row) -> Result<StoredCheckpoint, StoreError> {
    let size: i64 = row.try_get(0).map_err(backend)?;
    let made_at: String = row.try_get(1).map_err(backend)?;
    let note: String = row.try_get(2).map_err(backend)?;
    let made_at = Timestamp::parse(&made_at)
        .map_err(|e| StoreError::Corrupt(format!("checkpoint time: {e}")))?;
    Ok(StoredCheckpoint {
        size: size as u64,
        made_at,
        note,
    })
}

fn index_param(index: u64) -> Result<i64, StoreError> {
    i64::try_from(index)
        .map_err(|_| StoreError::Backend(format!("index {index} is beyond the register's range")))
}

impl Store for PostgresStore {
    fn info(&self) -> Result<RegisterInfo, StoreError> {
        self.with_reader(|c| {
            let mut get = |k: &str| -> Result<String, StoreError> {
                c.query_opt("SELECT value FROM register_meta WHERE key = $1", &[&k])
                    .map_err(backend)?
                    .map(|r| r.try_get::<_, String>(0).map_err(backend))
                    .transpose()?
                    .ok_or_else(|| StoreError::NotInitialised(format!("the register has no {k}")))
            };
            let origin = get("origin")?;
            let verifier = VerifierKey::parse(&get("verifier_key")?).map_err(|e| {
                StoreError::Corrupt(format!("the stored verifier key is unreadable: {e}"))
            })?;
            Ok(RegisterInfo { origin, verifier })
        })
    }

    fn size(&self) -> Result<u64, StoreError> {
        self.with_reader(|c| {
            let n: i64 = c
                .query_one("SELECT coalesce(max(idx) + 1, 0) FROM register_log", &[])
                .and_then(|r| r.try_get(0))
                .map_err(backend)?;
            Ok(n as u64)
        })
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let idx = index_param(index)?;
        self.with_reader(|c| {
            c.query_opt("SELECT bytes FROM register_log WHERE idx = $1", &[&idx])
                .map_err(backend)?
                .map(|r| r.try_get::<_, Vec<u8>>(0).map_err(backend))
                .transpose()
        })
    }

    fn scan(
        &self,
        from: u64,
        visit: &mut dyn FnMut(StoredRow<'_>) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let from = index_param(from)?;
        self.with_reader(|c| {
            // The rows stream from the server as they are read; nothing holds the whole log.
            let mut rows = c
                .query_raw(
                    "SELECT idx, leaf, bytes FROM register_log WHERE idx >= $1 ORDER BY idx",
                    [&from],
                )
                .map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let index: i64 = row.try_get(0).map_err(backend)?;
                let leaf: &[u8] = row.try_get(1).map_err(backend)?;
                let bytes: &[u8] = row.try_get(2).map_err(backend)?;
                if !visit(StoredRow {
                    index: index as u64,
                    leaf,
                    bytes,
                })? {
                    break;
                }
            }
            Ok(())
        })
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.with_reader(|c| {
            c.query(
                "SELECT size, made_at, note FROM register_checkpoints ORDER BY id",
                &[],
            )
            .map_err(backend)?
            .iter()
            .map(checkpoint_of)
            .collect()
        })
    }

    fn frontier(&self) -> Result<Option<(u64, Vec<Hash>)>, StoreError> {
        let kept = self.with_reader(|c| {
            c.query_opt(
                "SELECT size, hashes FROM register_frontier WHERE id = 1",
                &[],
            )
            .map_err(backend)?
            .map(|r| -> Result<(i64, Vec<u8>), StoreError> {
                Ok((
                    r.try_get(0).map_err(backend)?,
                    r.try_get(1).map_err(backend)?,
                ))
            })
            .transpose()
        })?;
        Ok(kept.and_then(|(size, bytes)| {
            let hashes = bytes
                .chunks(32)
                .map(|h| h.try_into().ok())
                .collect::<Option<Vec<Hash>>>()?;
            Some((u64::try_from(size).ok()?, hashes))
        }))
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.with_reader(|c| {
            c.query_opt(
                "SELECT size, made_at, note FROM register_checkpoints ORDER BY id DESC LIMIT 1",
                &[],
            )
            .map_err(backend)?
            .as_ref()
            .map(checkpoint_of)
            .transpose()
        })
    }

    fn leaf_hashes_from(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        let (above, below) = (index_param(from)?, index_param(to)?);
        self.with_reader(|c| {
            let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
            let mut rows = c
                .query_raw(
                    "SELECT idx, leaf FROM register_log WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                    [&above, &below],
                )
                .map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let index: i64 = row.try_get(0).map_err(backend)?;
                let leaf: &[u8] = row.try_get(1).map_err(backend)?;
                let leaf: Hash = leaf.try_into().map_err(|_| {
                    StoreError::Corrupt(format!("entry {index}: the leaf hash is not 32 bytes"))
                })?;
                out.push(leaf);
            }
            Ok(out)
        })
    }
}

/// The writer's side of the PostgreSQL store. It holds the writer's advisory lock for as long
/// as it lives (the lock goes with its connection).
pub struct PostgresSink {
    client: Client,
    in_tx: bool,
    indices: Vec<i64>,
    leaves: Vec<Hash>,
    bytes: Vec<Vec<u8>>,
    checkpoint: Option<StoredCheckpoint>,
    /// The frontier kept with the batch's checkpoint: its size and hashes, concatenated.
    frontier: Option<(i64, Vec<u8>)>,
    insert_log: Statement,
    insert_log_and_checkpoint: Statement,
    insert_log_checkpoint_and_frontier: Statement,
    insert_checkpoint: Statement,
    put_frontier: Statement,
}

/// Replaces the one frontier kept (`$1` its size, `$2` its hashes).
const PUT_FRONTIER: &str = "INSERT INTO register_frontier (id, size, hashes) VALUES (1, $1, $2)
     ON CONFLICT (id) DO UPDATE SET size = excluded.size, hashes = excluded.hashes";

const INSERT_LOG: &str = "INSERT INTO register_log (idx, leaf, bytes)
     SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])";

impl PostgresSink {
    fn new(mut client: Client) -> Result<Self, StoreError> {
        // Durable commits whatever the server's default: an acknowledged entry is on disk.
        client
            .batch_execute("SET synchronous_commit = on")
            .map_err(backend)?;
        let insert_log = client.prepare(INSERT_LOG).map_err(backend)?;
        let insert_log_and_checkpoint = client
            .prepare(&format!(
                "WITH log AS ({INSERT_LOG})
                 INSERT INTO register_checkpoints (size, made_at, note) VALUES ($4, $5, $6)"
            ))
            .map_err(backend)?;
        // The entries, their checkpoint and its frontier in one statement, one commit.
        let insert_log_checkpoint_and_frontier = client
            .prepare(&format!(
                "WITH log AS ({INSERT_LOG}),
                      checkpoint AS (INSERT INTO register_checkpoints (size, made_at, note)
                                     VALUES ($4, $5, $6))
                 INSERT INTO register_frontier (id, size, hashes) VALUES (1, $4, $7)
                 ON CONFLICT (id) DO UPDATE SET size = excluded.size, hashes = excluded.hashes"
            ))
            .map_err(backend)?;
        let insert_checkpoint = client
            .prepare("INSERT INTO register_checkpoints (size, made_at, note) VALUES ($1, $2, $3)")
            .map_err(backend)?;
        let put_frontier = client.prepare(PUT_FRONTIER).map_err(backend)?;
        Ok(Self {
            client,
            in_tx: false,
            indices: Vec::new(),
            leaves: Vec::new(),
            bytes: Vec::new(),
            checkpoint: None,
            frontier: None,
            insert_log,
            insert_log_and_checkpoint,
            insert_log_checkpoint_and_frontier,
            insert_checkpoint,
            put_frontier,
        })
    }

    /// Writes entries that were sealed elsewhere (a copy or an import) in one transaction,
    /// without checking them against the tree (the caller verifies afterwards).
    pub fn import_batch(&mut self, entries: &[SealedEntry]) -> Result<(), AppendError> {
        self.begin()?;
        if let Err(e) = self.append_group(entries) {
            self.rollback();
            return Err(e);
        }
        self.commit()?;
        Ok(())
    }

    /// The writer connection's `synchronous_commit` (always `on`).
    pub fn synchronous_commit(&mut self) -> Result<String, StoreError> {
        self.client
            .query_one("SHOW synchronous_commit", &[])
            .and_then(|r| r.try_get(0))
            .map_err(backend)
    }

    fn clear(&mut self) {
        self.indices.clear();
        self.leaves.clear();
        self.bytes.clear();
        self.checkpoint = None;
        self.frontier = None;
        self.in_tx = false;
    }

    fn write_frontier(&mut self, size: i64, hashes: &[u8]) -> Result<(), StoreError> {
        self.client
            .execute(&self.put_frontier, &[&size, &hashes])
            .map_err(backend)?;
        Ok(())
    }

    fn write_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        let size = index_param(cp.size)?;
        self.client
            .execute(
                &self.insert_checkpoint,
                &[&size, &cp.made_at.to_string(), &cp.note],
            )
            .map_err(backend)?;
        Ok(())
    }
}

impl LogSink for PostgresSink {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.clear();
        self.in_tx = true;
        Ok(())
    }

    /// Keeps the request's rows for the batch's one statement. The PostgreSQL store has no
    /// projections yet, so nothing here can refuse a request.
    fn append_group(&mut self, entries: &[SealedEntry]) -> Result<(), AppendError> {
        for e in entries {
            self.indices.push(index_param(e.entry.index)?);
            self.leaves.push(e.leaf);
            self.bytes.push(e.bytes.clone());
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        let checkpoint = self.checkpoint.take();
        let frontier = self.frontier.take();
        let result = if self.indices.is_empty() {
            match (&checkpoint, &frontier) {
                (Some(cp), kept) => self.write_checkpoint(cp).and_then(|()| match kept {
                    Some((size, hashes)) => self.write_frontier(*size, hashes),
                    None => Ok(()),
                }),
                (None, _) => Ok(()),
            }
        } else {
            let leaves: Vec<&[u8]> = self.leaves.iter().map(|l| &l[..]).collect();
            let bytes: Vec<&[u8]> = self.bytes.iter().map(Vec::as_slice).collect();
            match &checkpoint {
                None => self
                    .client
                    .execute(&self.insert_log, &[&self.indices, &leaves, &bytes]),
                Some(cp) => {
                    let size = index_param(cp.size)?;
                    let made_at = cp.made_at.to_string();
                    let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                        vec![&self.indices, &leaves, &bytes, &size, &made_at, &cp.note];
                    // With the frontier kept beside the checkpoint, by the same statement.
                    let statement = match &frontier {
                        Some((_, hashes)) => {
                            params.push(hashes);
                            &self.insert_log_checkpoint_and_frontier
                        }
                        None => &self.insert_log_and_checkpoint,
                    };
                    self.client.execute(statement, &params)
                }
            }
            .map(|_| ())
            .map_err(backend)
        };
        self.clear();
        result
    }

    fn rollback(&mut self) {
        self.clear();
    }

    fn put_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        if self.in_tx {
            // Written by the batch's own statement, in the same commit as its entries.
            self.checkpoint = Some(cp.clone());
            Ok(())
        } else {
            self.write_checkpoint(cp)
        }
    }

    fn put_frontier(&mut self, size: u64, hashes: &[Hash]) -> Result<(), StoreError> {
        let kept = (index_param(size)?, hashes.concat());
        if self.in_tx {
            // Written with the batch's checkpoint, by the same statement.
            self.frontier = Some(kept);
            Ok(())
        } else {
            self.write_frontier(kept.0, &kept.1)
        }
    }
}
