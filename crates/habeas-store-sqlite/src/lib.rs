//! The embedded SQLite store: the register log, its checkpoints and the projections, in one
//! file. WAL mode with `synchronous=FULL` by default: an acknowledged entry survives a crash
//! or power loss. One writer connection (owned by the register's writer thread, guarded by a
//! lock file so that only one process writes), any number of read-only connections.

mod accounts;
mod agreements;
mod compliance;
mod custody;
mod events;
mod imports;
mod migrate;
mod oversight;
mod projection;
mod record;
mod registers;
mod statistics;
mod transparency;
mod whereabouts;

pub use accounts::{
    AccountRows, Accounts, NewUser, Session, SqliteAccounts, TokenInfo, TokenRow, User, DAY_MS,
    DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS,
};
pub use agreements::{
    Agreement, AgreementCustody, AgreementFinding, AgreementPerson, AgreementReference,
    AgreementReport, PeriodRefused,
};
pub use custody::{
    document_key, CellMovement, CellOccupant, CellRow, CellView, CorrectionRow, CustodyRow,
    FacilityRow, GateRefusal, HeadCount, OrderRow, PersonFile, PersonHit, PlanningState, Reading,
    Unplaced, NOT_HELD_HERE,
};
pub use events::{CountLine, CountReport, DeathCase, HarmCase, HarmCaseStep};
pub use imports::{DocumentHolder, ImportedAdmission};
pub use oversight::VisitRow;
pub use registers::{ComplaintRow, ContactRow, FoodServiceRow, HearingRow};
pub use whereabouts::{Basis, LastHearing, Sought, Whereabouts, WhereaboutsRequestRow};

pub use projection::{LogbookFilter, LogbookRow, ProjectionMismatch, PROJECTION_TABLES};

use habeas_register::note::VerifierKey;
use habeas_register::store::{
    AppendError, LogSink, RegisterInfo, Store, StoreError, StoredCheckpoint, StoredRow,
};
use habeas_register::{SealedEntry, Timestamp};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How hard SQLite works to make a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: an acknowledged commit survives power loss (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a process crash, may lose the last commits on power loss.
    Normal,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The register and projections in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    durability: Durability,
    readers: Mutex<Vec<Connection>>,
    /// The last head count answered, with the register size and facility it was counted at:
    /// every board and count page asks for it, and it changes only when the register grows.
    head_counts: Mutex<Option<HeadCountsAt>>,
}

/// A head count as of a register size, for one facility or all.
type HeadCountsAt = (u64, Option<String>, Vec<HeadCount>);

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn open_rw(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(backend)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={}; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;",
        durability.pragma()
    ))
    .map_err(backend)?;
    Ok(conn)
}

/// What [`SqliteStore::person_entries`] hands each entry to: (booking, index, stored bytes);
/// `false` stops the reading.
pub type EachEntry<'a> = dyn FnMut(u64, u64, &[u8]) -> Result<bool, StoreError> + 'a;

impl SqliteStore {
    /// Creates a new register at `path`. Refuses if one is already there.
    pub fn create(path: &Path, info: &RegisterInfo) -> Result<Self, StoreError> {
        let conn = open_rw(path, Durability::Full)?;
        migrate::run(&conn).map_err(backend)?;
        let existing: Option<String> = conn
            .query_row(
                "SELECT value FROM register_meta WHERE key = 'origin'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        if existing.is_some() {
            return Err(StoreError::Backend(format!(
                "{} already holds a register",
                path.display()
            )));
        }
        conn.execute(
            "INSERT INTO register_meta (key, value) VALUES ('origin', ?1), ('verifier_key', ?2)",
            params![info.origin, info.verifier.to_string()],
        )
        .map_err(backend)?;
        drop(conn);
        Self::open(path)
    }

    /// Opens an existing register (applying any new migrations).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::Full)
    }

    pub fn open_with(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotInitialised(format!(
                "{} does not exist; create it with `habeas init`",
                path.display()
            )));
        }
        let conn = open_rw(path, durability)?;
        let has_meta: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'register_meta'",
                [],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if !has_meta {
            return Err(StoreError::NotInitialised(format!(
                "{} is not a Habeas register; create one with `habeas init`",
                path.display()
            )));
        }
        migrate::run(&conn).map_err(backend)?;
        let store = Self {
            path: path.to_owned(),
            durability,
            readers: Mutex::new(Vec::new()),
            head_counts: Mutex::new(None),
        };
        store.info()?;
        Ok(store)
    }

    /// Opens the register at `path`, creating it with `info` if the file holds none.
    pub fn open_or_create(path: &Path, info: &RegisterInfo) -> Result<Self, StoreError> {
        match Self::open(path) {
            Err(StoreError::NotInitialised(_)) => Self::create(path, info),
            other => other,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the store, moving everything from the write-ahead log into the main file so
    /// that the file alone holds the register (before it is renamed or copied).
    pub fn close(self) -> Result<(), StoreError> {
        let path = self.path.clone();
        drop(self);
        let conn = Connection::open(&path).map_err(backend)?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(backend)?;
        conn.close().map_err(|(_, e)| backend(e))
    }

    /// The writer's connection. Only one process at a time may hold it: refused at once while
    /// another holds it.
    pub fn sink(&self) -> Result<SqliteSink, StoreError> {
        self.sink_within(std::time::Duration::ZERO, "")
    }

    /// The writer's connection, waiting up to `wait` for the process that holds the writer's
    /// lock to let it go. The holder writes `holder` (who it is: its process id, command and
    /// since when) into the lock file, so that a wait that runs out names it.
    pub fn sink_within(
        &self,
        wait: std::time::Duration,
        holder: &str,
    ) -> Result<SqliteSink, StoreError> {
        let lock_path = lock_path(&self.path);
        let mut lock = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                StoreError::Backend(format!("cannot open {}: {e}", lock_path.display()))
            })?;
        take_lock(&lock, wait).map_err(|()| {
            let held_by = std::fs::read_to_string(&lock_path)
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .map_or_else(String::new, |t| format!(" by {t}"));
            let waited = if wait.is_zero() {
                String::new()
            } else {
                format!(" after waiting {} s (--wait)", wait.as_secs_f64())
            };
            StoreError::Backend(format!(
                "another process is writing this register: lock {} is held{held_by}{waited}",
                lock_path.display()
            ))
        })?;
        {
            use std::io::{Seek as _, Write as _};
            // Who holds it now, for whoever waits; the lock itself is what counts.
            let _ = lock.set_len(0);
            let _ = lock.seek(std::io::SeekFrom::Start(0));
            let _ = lock.write_all(holder.as_bytes());
        }
        let conn = open_rw(&self.path, self.durability)?;
        // The background checkpointer moves the write-ahead log into the main file; the
        // writer only does it itself if the log grows past 40 MB.
        conn.execute_batch("PRAGMA wal_autocheckpoint=10000")
            .map_err(backend)?;
        // Each request runs in a savepoint, whose undo copy of every page it changes (the
        // sub-journal) is kept in memory rather than in a temporary file: it is a few megabytes
        // at most, and writing it to a file took an eighth of a bulk import's writer time.
        conn.execute_batch("PRAGMA temp_store=MEMORY")
            .map_err(backend)?;
        // The writer inserts into every index of the projections, at places spread over the
        // whole file: with two million people, the pages it needs outgrow the 64 MiB every
        // connection caches. It keeps up to 512 MiB.
        conn.execute_batch("PRAGMA cache_size=-524288")
            .map_err(backend)?;
        let checkpointer = WalCheckpointer::start(open_rw(&self.path, self.durability)?)?;
        Ok(SqliteSink {
            conn,
            _lock: lock,
            in_tx: false,
            full_insert: log_insert_sql(LOG_ROWS),
            one_insert: log_insert_sql(1),
            checkpointer,
        })
    }

    pub(crate) fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().map_err(|_| StoreError::Closed)?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(backend)?;
                c.busy_timeout(std::time::Duration::from_secs(10))
                    .map_err(backend)?;
                c
            }
        };
        let out = f(&conn);
        // A connection still inside a transaction (one that could not be ended) would keep
        // reading an old moment: it is not kept.
        if !conn.is_autocommit() {
            return out;
        }
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 128 {
                pool.push(conn);
            }
        }
        out
    }

    /// The occurrence book, newest first.
    pub fn logbook(&self, filter: &LogbookFilter) -> Result<Vec<LogbookRow>, StoreError> {
        self.with_reader(|c| projection::logbook(c, filter).map_err(backend))
    }

    /// Every cell (of one facility, or all), with capacity and population.
    pub fn cells(&self, facility: Option<&str>) -> Result<Vec<CellRow>, StoreError> {
        self.with_reader(|c| custody::cells(c, facility).map_err(backend))
    }

    /// The unit of every custody of a facility held in a cell now (booking → unit).
    pub fn booking_units(
        &self,
        facility: &str,
    ) -> Result<std::collections::HashMap<u64, String>, StoreError> {
        self.with_reader(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT booking, unit FROM custodies WHERE facility = ?1 AND unit IS NOT NULL",
                )
                .map_err(backend)?;
            let rows = st
                .query_map([facility], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
                })
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<_>>().map_err(backend)
        })
    }

    /// The hearings of a facility from `from` up to `to` (UTC times, `to` excluded).
    pub fn hearings(
        &self,
        facility: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<HearingRow>, StoreError> {
        self.with_reader(|c| registers::hearings(c, facility, from, to).map_err(backend))
    }

    /// Contacts and contact requests of a facility's people from `from` up to `to` (UTC times,
    /// `to` excluded), newest first.
    pub fn contacts(
        &self,
        facility: &str,
        from: &str,
        to: &str,
        party: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ContactRow>, StoreError> {
        self.with_reader(|c| {
            registers::contacts(c, facility, from, to, party, limit).map_err(backend)
        })
    }

    /// Complaints of a facility, newest first (`open`: not yet replied to).
    pub fn complaints(
        &self,
        facility: &str,
        open: bool,
        limit: u32,
    ) -> Result<Vec<ComplaintRow>, StoreError> {
        self.with_reader(|c| registers::complaints(c, facility, open, limit).map_err(backend))
    }

    /// The day (`YYYY-MM-DD`, UTC) of the register's last entry: the last day it has records
    /// of. `None` for an empty register.
    pub fn last_recorded_day(&self) -> Result<Option<String>, StoreError> {
        let bytes: Option<Vec<u8>> = self.with_reader(|c| {
            c.prepare_cached("SELECT bytes FROM register_log ORDER BY idx DESC LIMIT 1")
                .and_then(|mut st| st.query_row([], |r| r.get(0)).optional())
                .map_err(backend)
        })?;
        bytes
            .map(|b| {
                habeas_register::entry::decode_header(&b)
                    .map(|(_, time)| time.date_string())
                    .map_err(|e| StoreError::Corrupt(format!("the last entry: {e}")))
            })
            .transpose()
    }

    /// The codes of every facility, in order.
    pub fn facility_codes(&self) -> Result<Vec<String>, StoreError> {
        self.with_reader(|c| {
            let mut st = c
                .prepare_cached("SELECT code FROM facilities ORDER BY code")
                .map_err(backend)?;
            let rows = st.query_map([], |r| r.get(0)).map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
                .map_err(backend)
        })
    }

    /// A cell now: who is in it and since when, the movements of `day` (`YYYY-MM-DD`), and its
    /// latest `readings` environment readings, in one read transaction.
    pub fn cell_view(
        &self,
        facility: &str,
        cell: &str,
        day: &str,
        readings: u32,
    ) -> Result<CellView, StoreError> {
        self.with_reader(|c| {
            let tx = c.unchecked_transaction().map_err(backend)?;
            let v = custody::cell_view(&tx, facility, cell, day, readings).map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(v)
        })
    }

    /// The facts the compliance engine measures, as of a day.
    pub fn compliance_facts(
        &self,
        facility: Option<&str>,
        as_of: habeas_core::dates::Date,
    ) -> Result<habeas_core::compliance::Facts, StoreError> {
        self.with_reader(|c| compliance::facts(c, facility, as_of).map_err(backend))
    }

    /// The people each facility held at the end of `as_of`, in a cell or not.
    pub fn held_on(
        &self,
        as_of: habeas_core::dates::Date,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        self.with_reader(|c| compliance::held_on(c, as_of).map_err(backend))
    }

    /// Rule 10 statistics: the people held at the end of `as_of` by legal status, sex, age
    /// band, nationality and placement; occupancy per facility and unit; and the admissions,
    /// releases, transfers and deaths of each of the `months` months ending with its month.
    pub fn statistics(
        &self,
        facility: Option<&str>,
        as_of: habeas_core::dates::Date,
        months: u32,
    ) -> Result<habeas_core::statistics::Statistics, StoreError> {
        self.with_reader(|c| statistics::statistics(c, facility, as_of, months).map_err(backend))
    }

    /// The daily regime from `from` to `to` (inclusive) measured against `policy`, one finding
    /// per run of consecutive days breaking a rule, and the days whose records do not say where
    /// people were (listed, never found).
    pub fn regime_period(
        &self,
        policy: &habeas_core::compliance::Policy,
        facility: Option<&str>,
        from: habeas_core::dates::Date,
        to: habeas_core::dates::Date,
    ) -> Result<habeas_core::compliance::RegimeOutcome, StoreError> {
        self.with_reader(|c| {
            compliance::regime_period(c, policy, facility, from, to).map_err(backend)
        })
    }

    /// The custody agreements with other states of a facility (or of every facility), in the
    /// order recorded.
    pub fn agreements(&self, facility: Option<&str>) -> Result<Vec<Agreement>, StoreError> {
        self.with_reader(|c| agreements::agreements(c, facility).map_err(backend))
    }

    /// One custody agreement, by its entry.
    pub fn agreement(&self, id: u64) -> Result<Option<Agreement>, StoreError> {
        self.with_reader(|c| agreements::agreement(c, id).map_err(backend))
    }

    /// The account of agreement `id` from `from` to `to` (inclusive), in one read: the people
    /// held under it on the days counted (the period within the agreement's own dates), their
    /// custodies and references, person-days and the amount due at its rate. Without findings:
    /// [`AgreementReport::add_findings`] adds an evaluation's, or see
    /// [`Self::agreement_report_evaluated`]. `None` for an entry that is not an agreement.
    pub fn agreement_report(
        &self,
        id: u64,
        from: habeas_core::dates::Date,
        to: habeas_core::dates::Date,
    ) -> Result<Option<AgreementReport>, StoreError> {
        self.with_reader(|c| read_snapshot(c, |c| agreements::report(c, id, from, to)))
    }

    /// [`Self::agreement_report`] with the findings about its people: each facility that held
    /// them evaluated against `policy` as of `to`, by the compliance engine.
    pub fn agreement_report_evaluated(
        &self,
        policy: &habeas_core::compliance::Policy,
        id: u64,
        from: habeas_core::dates::Date,
        to: habeas_core::dates::Date,
    ) -> Result<Option<AgreementReport>, StoreError> {
        let Some(mut report) = self.agreement_report(id, from, to)? else {
            return Ok(None);
        };
        for facility in report.facilities() {
            let facts = self.compliance_facts(Some(&facility), to)?;
            let findings = habeas_core::compliance::evaluate(policy, &facts, to);
            report.add_findings(policy.source(), &findings);
        }
        if report.policy.is_none() {
            report.policy = Some(policy.source().name.clone());
            report.policy_sha256 = Some(policy.source().sha256.clone());
        }
        Ok(Some(report))
    }

    /// A person's file and the entries of every custody of theirs, as JSON values.
    pub fn person_record(
        &self,
        person: u64,
    ) -> Result<Option<(PersonFile, Vec<serde_json::Value>)>, StoreError> {
        let mut history = Vec::new();
        let file = self.person_entries(person, &mut |booking, idx, bytes| {
            let mut e: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| StoreError::Corrupt(format!("entry {idx}: {e}")))?;
            let mut take = |k: &str| e.get_mut(k).map(serde_json::Value::take);
            history.push(serde_json::json!({"index": idx, "time": take("time"), "kind": take("kind"), "actor": take("actor"), "booking": booking, "corrects": take("corrects"), "payload": take("payload")}));
            Ok(true)
        })?;
        Ok(file.map(|f| (f, history)))
    }

    /// A person's file, handing `each` the stored bytes of every entry of every custody of
    /// theirs (booking, index, bytes), in order, until it answers `false`. One reader and one
    /// read transaction: the file and its history are of the same moment. The bytes are as
    /// stored; their canonical form and hashes are `verify`'s business, not every read's.
    /// Each custody's `events` are the indexes handed to `each`: when it stops early, they
    /// stop there too.
    pub fn person_entries(
        &self,
        person: u64,
        each: &mut EachEntry<'_>,
    ) -> Result<Option<PersonFile>, StoreError> {
        self.with_reader(|conn| {
            read_snapshot(conn, |conn| {
                // The custodies without their entries' indexes: those come with the entries.
                let Some(mut file) =
                    custody::person_file_with(conn, person, false).map_err(backend)?
                else {
                    return Ok(None);
                };
                // Every custody's entries in one statement, custody by custody.
                let mut st = conn
                    .prepare_cached(
                        "SELECT c.booking, e.idx, l.bytes FROM custodies c
                         JOIN custody_events e ON e.booking = c.booking
                         LEFT JOIN register_log l ON l.idx = e.idx
                         WHERE c.person = ?1 ORDER BY c.booking, e.idx",
                    )
                    .map_err(backend)?;
                let mut rows = st.query([person as i64]).map_err(backend)?;
                while let Some(row) = rows.next().map_err(backend)? {
                    let booking = row.get::<_, i64>(0).map_err(backend)? as u64;
                    let idx: i64 = row.get(1).map_err(backend)?;
                    let bytes = row
                        .get_ref(2)
                        .map_err(backend)?
                        .as_blob_or_null()
                        .map_err(|e| StoreError::Corrupt(format!("entry {idx}: {e}")))?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("entry {idx}: not in the register"))
                        })?;
                    if let Some(c) = custody::custody_of(&mut file.custodies, booking) {
                        c.events.push(idx as u64);
                    }
                    if !each(booking, idx as u64, bytes)? {
                        break;
                    }
                }
                Ok(Some(file))
            })
        })
    }

    /// The entries that bring the register's estate to `estate`: the facility, units and cells
    /// that are new or changed (and how many cells are unchanged). A change of certified
    /// capacity is refused here: it is a certification, which names its authority.
    pub fn estate_changes(
        &self,
        estate: &habeas_core::estate::Estate,
        actor: &habeas_core::ids::Actor,
    ) -> Result<Result<(Vec<habeas_register::Draft>, usize), habeas_core::DomainError>, StoreError>
    {
        let code = estate.facility.code.as_str();
        let mut drafts = Vec::new();
        let known = self.facility(code)?;
        if known.as_ref().is_none_or(|k| {
            k.name != estate.facility.name
                || k.country != estate.facility.country
                || k.juvenile != estate.facility.juvenile
                || k.utc_offset_minutes != estate.facility.utc_offset_minutes
        }) {
            drafts.push(estate.facility.to_draft(actor));
        }
        for u in &estate.units {
            let same = known
                .as_ref()
                .is_some_and(|k| k.units.iter().any(|(c, n)| c == &u.code && n == &u.name));
            if !same {
                drafts.push(u.to_draft(&estate.facility.code, actor));
            }
        }
        let current = self.cells(Some(code))?;
        let mut unchanged = 0;
        for c in &estate.cells {
            match current.iter().find(|x| x.code == c.code) {
                None => drafts.push(c.to_draft(&estate.facility.code, actor)),
                Some(x) => {
                    if (x.cna, x.operational_capacity)
                        != (u64::from(c.cna), u64::from(c.operational_capacity))
                    {
                        return Ok(Err(habeas_core::DomainError::invalid(
                            format!("cell {}", c.code),
                            format!(
                                "its certified capacity is {} (operational {}); change it by a certification naming the authority (`habeas estate certify`)",
                                x.cna, x.operational_capacity
                            ),
                        )));
                    }
                    let same = x.unit == c.unit
                        && x.area_cm2 == c.area_cm2
                        && x.bunks == u64::from(c.bunks)
                        && x.kind == c.kind.as_str()
                        && x.lighting == c.lighting.as_str()
                        && x.window == c.window
                        && x.ventilation == c.ventilation.as_str()
                        && x.sanitation == c.sanitation
                        && x.mattresses == c.mattresses.map(u64::from)
                        && x.toilet_private == c.toilet_private;
                    if same {
                        unchanged += 1;
                    } else {
                        drafts.push(c.to_draft(&estate.facility.code, actor));
                    }
                }
            }
        }
        Ok(Ok((drafts, unchanged)))
    }

    /// A facility and its units.
    pub fn facility(&self, code: &str) -> Result<Option<FacilityRow>, StoreError> {
        self.with_reader(|c| custody::facility_row(c, code).map_err(backend))
    }

    /// What the batch allocation planner needs for one facility, as of `on`.
    pub fn planning_state(
        &self,
        facility: &str,
        on: habeas_core::dates::Date,
    ) -> Result<PlanningState, StoreError> {
        self.with_reader(|c| custody::planning_state(c, facility, on).map_err(backend))
    }

    /// A person's file.
    pub fn person_file(&self, person: u64) -> Result<Option<PersonFile>, StoreError> {
        self.with_reader(|c| custody::person_file(c, person).map_err(backend))
    }

    /// The people each facility (or one) holds now: in its cells and in none. The board, the
    /// national view, `population` and the roll count all count with this.
    pub fn head_counts(&self, facility: Option<&str>) -> Result<Vec<HeadCount>, StoreError> {
        let key = facility.map(str::to_owned);
        let (size, counts) = self.with_reader(|c| {
            read_snapshot(c, |c| {
                let size: i64 = c
                    .prepare_cached("SELECT coalesce(max(idx) + 1, 0) FROM register_log")
                    .and_then(|mut st| st.query_row([], |r| r.get(0)))
                    .map_err(backend)?;
                let size = size as u64;
                // The same register, the same answer (counted in this same read).
                if let Ok(cache) = self.head_counts.lock() {
                    if let Some((at, f, counts)) = cache.as_ref() {
                        if *at == size && *f == key {
                            return Ok((size, counts.clone()));
                        }
                    }
                }
                Ok((size, custody::head_counts(c, facility).map_err(backend)?))
            })
        })?;
        if let Ok(mut cache) = self.head_counts.lock() {
            *cache = Some((size, key, counts.clone()));
        }
        Ok(counts)
    }

    /// The corrections of identity (of one facility, or all), newest first: the inspectors'
    /// register of them.
    pub fn identity_corrections(
        &self,
        facility: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CorrectionRow>, StoreError> {
        self.with_reader(|c| custody::identity_corrections(c, facility, limit).map_err(backend))
    }

    /// The people refused at a facility's gate since `since` (a date or a time), newest first.
    pub fn gate_refusals(
        &self,
        facility: &str,
        since: &str,
    ) -> Result<Vec<GateRefusal>, StoreError> {
        self.with_reader(|c| custody::gate_refusals(c, facility, since).map_err(backend))
    }

    /// The roll counts of a facility on a day (`YYYY-MM-DD`) and the cells not counted.
    pub fn count_report(&self, facility: &str, date: &str) -> Result<CountReport, StoreError> {
        self.with_reader(|c| events::count_report(c, facility, date).map_err(backend))
    }

    /// Deaths in custody and the state of each case's steps.
    pub fn death_cases(&self, facility: Option<&str>) -> Result<Vec<DeathCase>, StoreError> {
        self.with_reader(|c| events::death_cases(c, facility).map_err(backend))
    }

    /// The serious-harm cases (Rules 69 and 71(1)) of a facility, or of every facility, with
    /// their steps and what is still pending.
    pub fn harm_cases(&self, facility: Option<&str>) -> Result<Vec<HarmCase>, StoreError> {
        self.with_reader(|c| events::harm_cases(c, facility).map_err(backend))
    }

    /// The people a whereabouts question names (by document, or by name and birth date), at
    /// most `limit`.
    pub fn whereabouts_people(&self, sought: &Sought, limit: u32) -> Result<Vec<u64>, StoreError> {
        self.with_reader(|c| whereabouts::people(c, sought, limit).map_err(backend))
    }

    /// The whereabouts requests of a facility, newest first (the unanswered only when `open`).
    pub fn whereabouts_requests(
        &self,
        facility: &str,
        open: bool,
        limit: u32,
    ) -> Result<Vec<WhereaboutsRequestRow>, StoreError> {
        self.with_reader(|c| whereabouts::requests(c, facility, open, limit).map_err(backend))
    }

    /// The units' records of food and drinking water of a facility from `from` (a day) on,
    /// newest day first (the food register).
    pub fn food_services(
        &self,
        facility: &str,
        from: habeas_core::dates::Date,
        limit: u32,
    ) -> Result<Vec<FoodServiceRow>, StoreError> {
        self.with_reader(|c| {
            registers::food_services(c, facility, &from.to_string(), limit).map_err(backend)
        })
    }

    /// The visits to a facility from outside (the visit register), newest first.
    pub fn oversight_visits(
        &self,
        facility: &str,
        limit: u32,
    ) -> Result<Vec<VisitRow>, StoreError> {
        self.with_reader(|c| oversight::visits(c, facility, limit).map_err(backend))
    }

    /// Where a person's latest custody stands, with the entries it rests on.
    pub fn whereabouts(&self, person: u64) -> Result<Option<Whereabouts>, StoreError> {
        self.with_reader(|c| whereabouts::whereabouts(c, person).map_err(backend))
    }

    /// People whose name (folded: lower case, no accents) contains every word.
    pub fn find_people(&self, words: &[String], limit: u32) -> Result<Vec<PersonHit>, StoreError> {
        self.with_reader(|c| custody::find_people(c, words, limit).map_err(backend))
    }

    /// The person held under a booking.
    /// The entry of the person's latest photograph, if any.
    pub fn photo_entry(&self, person: u64) -> Result<Option<u64>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached(
                "SELECT p.idx FROM photos p JOIN custodies c ON c.booking = p.booking
                 WHERE c.person = ?1 ORDER BY p.idx DESC LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row([person as i64], |r| r.get::<_, i64>(0))
                    .optional()
            })
            .map(|i| i.map(|i| i as u64))
            .map_err(backend)
        })
    }

    /// The person's latest photograph: its entry, type and image.
    pub fn photo(&self, person: u64) -> Result<Option<(u64, String, Vec<u8>)>, StoreError> {
        let Some(index) = self.photo_entry(person)? else {
            return Ok(None);
        };
        let bytes = self
            .entry(index)?
            .ok_or_else(|| StoreError::Corrupt(format!("entry {index} is missing")))?;
        let entry = habeas_register::Entry::decode(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("entry {index}: {e}")))?;
        let (media_type, image) = habeas_core::record::photo_of(&entry.payload)
            .ok_or_else(|| StoreError::Corrupt(format!("entry {index} holds no image")))?;
        Ok(Some((index, media_type, image)))
    }

    pub fn person_of(&self, booking: u64) -> Result<Option<u64>, StoreError> {
        self.with_reader(|c| custody::person_of(c, booking).map_err(backend))
    }

    /// Rebuilds every projection from the register in a scratch database and compares it
    /// with the live tables. Returns the first table that differs.
    pub fn check_projections(&self) -> Result<Result<(), ProjectionMismatch>, StoreError> {
        projection::check(self)
    }

    /// Drops and rebuilds every projection from the register (no writer may be running).
    pub fn rebuild_projections(&self) -> Result<u64, StoreError> {
        let _sink = self.sink()?;
        let mut conn = open_rw(&self.path, self.durability)?;
        projection::rebuild(&mut conn, self)
    }
}

/// Runs `f` in one read transaction on a reader's connection, so that all it reads is of the
/// same moment. `BEGIN` and `COMMIT` are prepared once per connection (a read's own cost is
/// small enough that parsing them each time showed in profiles).
fn read_snapshot<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.prepare_cached("BEGIN")
        .and_then(|mut st| st.execute([]))
        .map_err(backend)?;
    let out = f(conn);
    let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn
        .prepare_cached(end)
        .and_then(|mut st| st.execute([]))
        .map_err(backend);
    let out = out?;
    ended?;
    Ok(out)
}

/// Takes the exclusive lock on `file`, trying again for up to `wait` (short sleeps that grow
/// to 20 ms, so that a queue of writers each gets its turn soon after the last lets go).
fn take_lock(file: &File, wait: std::time::Duration) -> Result<(), ()> {
    let mut slept = std::time::Duration::ZERO;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if slept < wait => {
                let step = pause.min(wait - slept);
                std::thread::sleep(step);
                slept += step;
                pause = (pause * 2).min(std::time::Duration::from_millis(20));
            }
            Err(_) => return Err(()),
        }
    }
}

fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-writer.lock");
    PathBuf::from(s)
}

impl Store for SqliteStore {
    fn info(&self) -> Result<RegisterInfo, StoreError> {
        self.with_reader(|c| {
            let get = |k: &str| -> Result<String, StoreError> {
                c.query_row("SELECT value FROM register_meta WHERE key = ?1", [k], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?
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
                .query_row(
                    "SELECT coalesce(max(idx) + 1, 0) FROM register_log",
                    [],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            Ok(n as u64)
        })
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_reader(|c| {
            c.query_row(
                "SELECT bytes FROM register_log WHERE idx = ?1",
                [index as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)
        })
    }

    fn scan(
        &self,
        from: u64,
        visit: &mut dyn FnMut(StoredRow<'_>) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT idx, leaf, bytes FROM register_log WHERE idx >= ?1 ORDER BY idx",
                )
                .map_err(backend)?;
            let mut rows = stmt.query([from as i64]).map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let index: i64 = row.get(0).map_err(backend)?;
                let leaf = row
                    .get_ref(1)
                    .map_err(backend)?
                    .as_blob()
                    .map_err(|e| backend(e.into()))?;
                let bytes = row
                    .get_ref(2)
                    .map_err(backend)?
                    .as_blob()
                    .map_err(|e| backend(e.into()))?;
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

    /// The leaf hashes alone, not each entry's bytes with them: what a writer reads as it
    /// starts (all of them, four million in a register of two million people, when no frontier
    /// was kept with the latest checkpoint; those after it otherwise).
    fn leaf_hashes_from(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<habeas_register::merkle::Hash>, StoreError> {
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT idx, leaf FROM register_log WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
                )
                .map_err(backend)?;
            let mut rows = stmt
                .query([
                    i64::try_from(from).unwrap_or(i64::MAX),
                    i64::try_from(to).unwrap_or(i64::MAX),
                ])
                .map_err(backend)?;
            let mut out = Vec::with_capacity(usize::try_from(to.saturating_sub(from)).unwrap_or(0));
            while let Some(row) = rows.next().map_err(backend)? {
                let index: i64 = row.get(0).map_err(backend)?;
                let leaf: habeas_register::merkle::Hash = row
                    .get_ref(1)
                    .map_err(backend)?
                    .as_blob()
                    .map_err(|e| backend(e.into()))?
                    .try_into()
                    .map_err(|_| {
                        StoreError::Corrupt(format!("entry {index}: the leaf hash is not 32 bytes"))
                    })?;
                out.push(leaf);
            }
            Ok(out)
        })
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached("SELECT size, made_at, note FROM register_checkpoints ORDER BY id")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                let (size, made_at, note) = row.map_err(backend)?;
                let made_at = Timestamp::parse(&made_at)
                    .map_err(|e| StoreError::Corrupt(format!("checkpoint time: {e}")))?;
                out.push(StoredCheckpoint {
                    size: size as u64,
                    made_at,
                    note,
                });
            }
            Ok(out)
        })
    }

    fn frontier(&self) -> Result<Option<(u64, Vec<habeas_register::merkle::Hash>)>, StoreError> {
        let kept: Option<(i64, Vec<u8>)> = self.with_reader(|c| {
            c.query_row(
                "SELECT size, hashes FROM register_frontier WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(backend)
        })?;
        Ok(kept.and_then(|(size, bytes)| {
            let hashes = bytes
                .chunks(32)
                .map(|h| h.try_into().ok())
                .collect::<Option<Vec<habeas_register::merkle::Hash>>>()?;
            Some((u64::try_from(size).ok()?, hashes))
        }))
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.with_reader(|c| {
            c.query_row(
                "SELECT size, made_at, note FROM register_checkpoints ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(backend)?
            .map(|(size, made_at, note)| {
                let made_at = Timestamp::parse(&made_at)
                    .map_err(|e| StoreError::Corrupt(format!("checkpoint time: {e}")))?;
                Ok(StoredCheckpoint {
                    size: size as u64,
                    made_at,
                    note,
                })
            })
            .transpose()
        })
    }
}

/// Log rows per multi-row INSERT.
const LOG_ROWS: usize = 64;

/// `OR FAIL`, as the projections' multi-row INSERTs are ([`projection::RowBuffer`]): no
/// statement journal; a failure fails the request, whose savepoint is rolled back.
fn log_insert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT OR FAIL INTO register_log (idx, leaf, bytes) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(?{}, ?{}, ?{})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
    }
    sql
}

/// A thread that copies committed pages from the write-ahead log into the main file
/// (`PRAGMA wal_checkpoint(PASSIVE)`) after commits, at most ten times a second, so that the
/// writer thread does not.
struct WalCheckpointer {
    nudge: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalCheckpointer {
    fn start(conn: Connection) -> Result<Self, StoreError> {
        let (nudge, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("habeas-wal-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self {
            nudge: Some(nudge),
            thread: Some(thread),
        })
    }

    fn nudge(&self) {
        if let Some(n) = &self.nudge {
            let _ = n.try_send(());
        }
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        self.nudge.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer's side of the SQLite store.
pub struct SqliteSink {
    conn: Connection,
    _lock: File,
    in_tx: bool,
    full_insert: String,
    /// Most requests append one entry: its statement's text is made once.
    one_insert: String,
    checkpointer: WalCheckpointer,
}

impl SqliteSink {
    /// Writes entries that were sealed elsewhere (import) with their projections, in one
    /// transaction, without checking them against the tree (the caller verifies afterwards).
    pub fn import_batch(&mut self, entries: &[SealedEntry]) -> Result<(), AppendError> {
        self.begin()?;
        if let Err(e) = self.append_group(entries) {
            self.rollback();
            return Err(e);
        }
        self.commit()?;
        Ok(())
    }
}

impl LogSink for SqliteSink {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(backend)?;
        self.in_tx = true;
        Ok(())
    }

    fn append_group(&mut self, entries: &[SealedEntry]) -> Result<(), AppendError> {
        // Each request in its own savepoint; the statement is prepared once (this runs for every
        // request of every batch).
        self.conn
            .prepare_cached("SAVEPOINT request")
            .and_then(|mut st| st.execute([]))
            .map_err(backend)?;
        let result = (|| -> Result<(), AppendError> {
            // The log rows go in with multi-row INSERTs (one statement per LOG_ROWS entries);
            // the projections then see them entry by entry.
            for chunk in entries.chunks(LOG_ROWS) {
                let sql = if chunk.len() == LOG_ROWS {
                    std::borrow::Cow::Borrowed(self.full_insert.as_str())
                } else if chunk.len() == 1 {
                    std::borrow::Cow::Borrowed(self.one_insert.as_str())
                } else {
                    std::borrow::Cow::Owned(log_insert_sql(chunk.len()))
                };
                let mut insert = self.conn.prepare_cached(&sql).map_err(backend)?;
                for (i, e) in chunk.iter().enumerate() {
                    insert
                        .raw_bind_parameter(3 * i + 1, e.entry.index as i64)
                        .and_then(|()| insert.raw_bind_parameter(3 * i + 2, &e.leaf[..]))
                        .and_then(|()| insert.raw_bind_parameter(3 * i + 3, &e.bytes[..]))
                        .map_err(backend)?;
                }
                insert.raw_execute().map_err(backend)?;
            }
            let mut projector = projection::Projector::new(&self.conn);
            for e in entries {
                projector.apply(e)?;
            }
            projector.finish()?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.conn
                    .prepare_cached("RELEASE request")
                    .and_then(|mut st| st.execute([]))
                    .map_err(backend)?;
                Ok(())
            }
            Err(e) => {
                self.conn
                    .execute_batch("ROLLBACK TO request; RELEASE request")
                    .map_err(backend)?;
                Err(e)
            }
        }
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(backend)?;
        self.in_tx = false;
        self.checkpointer.nudge();
        Ok(())
    }

    fn rollback(&mut self) {
        if self.in_tx {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.in_tx = false;
        }
    }

    fn put_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO register_checkpoints (size, made_at, note) VALUES (?1, ?2, ?3)",
                params![cp.size as i64, cp.made_at.to_string(), cp.note],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn put_frontier(
        &mut self,
        size: u64,
        hashes: &[habeas_register::merkle::Hash],
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO register_frontier (id, size, hashes) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET size = excluded.size, hashes = excluded.hashes",
                params![
                    i64::try_from(size).map_err(|_| StoreError::Backend(format!(
                        "tree size {size} is out of range"
                    )))?,
                    hashes.concat()
                ],
            )
            .map_err(backend)?;
        Ok(())
    }
}
