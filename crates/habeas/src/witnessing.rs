//! The register's side of witnessing (docs/register-format.md §16): while `habeas serve` runs,
//! every new checkpoint the writer signs is sent to each configured witness
//! (`--witness VKEY@URL`), and each cosignature that verifies is kept with its checkpoint; a
//! checkpoint is published once a quorum has cosigned it
//! (`habeas_web::transparency::Transparency::published`).
//!
//! Nothing here holds up the writer: one task watches the store for the latest checkpoint (every
//! quarter of a second, and at once when `Transparency::nudge` says one was signed), and
//! one task per witness sends it (its exchange on the blocking pool). A witness that cannot be
//! reached is asked again after 1 s, then 2 s, 4 s… up to 5 minutes, always with the latest
//! checkpoint; meanwhile entries are written and checkpoints signed as ever, and the published
//! checkpoint stays the last one cosigned. A witness that refuses this register's history (it
//! holds another tree of the same size, or a larger tree this one does not extend) is a fork:
//! said on standard error, on the inspector's page and in `/metrics`.

use crate::witness::{AddOutcome, Client};
use habeas_register::store::{Store as _, StoreError, StoredCheckpoint, StoredCosignature};
use habeas_register::time::Clock;
use habeas_register::witness::{verify_cosignature, AddCheckpoint};
use habeas_register::Timestamp;
use habeas_store_postgres::PostgresStore;
use habeas_store_sqlite::SqliteStore;
use habeas_web::transparency::Transparency;
use std::sync::Arc;
use std::time::Duration;

/// The first wait after a failed exchange; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How often the store is asked for its latest checkpoint.
const POLL: Duration = Duration::from_millis(250);
/// The longest one exchange with a witness may take.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a witness did not cosign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It could not be reached, or answered something other than a cosignature or a refusal
    /// of the history: asked again later.
    Down(String),
    /// It refused this register's history.
    Fork(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Down(m) | Self::Fork(m) => f.write_str(m),
        }
    }
}

fn down(e: impl std::fmt::Display) -> Failure {
    Failure::Down(e.to_string())
}

/// The witnesses of one register and where their cosignatures are kept.
pub struct Round {
    transparency: Arc<Transparency>,
    /// The store the server reads (on PostgreSQL, its replica).
    store: Arc<SqliteStore>,
    /// On PostgreSQL, where cosignatures are durable first.
    primary: Option<Arc<PostgresStore>>,
    clock: Arc<dyn Clock>,
    client: Client,
}

impl Round {
    pub fn new(
        transparency: Arc<Transparency>,
        store: Arc<SqliteStore>,
        primary: Option<Arc<PostgresStore>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            transparency,
            store,
            primary,
            clock,
            client: Client::new(EXCHANGE_TIMEOUT),
        }
    }

    /// Asks witness `i` to cosign `cp`, starting from `old`, the size it is believed to hold
    /// (updated as it answers); keeps the cosignature once it verifies and returns its
    /// timestamp. Blocking: the HTTP exchange and the store.
    pub fn cosign(&self, i: usize, cp: &StoredCheckpoint, old: &mut u64) -> Result<u64, Failure> {
        let w = self
            .transparency
            .witnesses()
            .get(i)
            .ok_or_else(|| down("no such witness"))?;
        let url = w
            .url
            .as_deref()
            .ok_or_else(|| down("the witness has no address"))?;
        // A 409 names the size the witness holds; asked again from there (a few times: a
        // witness that keeps moving is not followed forever).
        for _ in 0..4 {
            if *old > cp.size {
                return Err(Failure::Fork(format!(
                    "the witness holds a checkpoint of size {old}, larger than this register's latest ({}): this register was restored from an earlier backup, or rewritten",
                    cp.size
                )));
            }
            let proof = if *old == 0 || *old == cp.size {
                Vec::new()
            } else {
                self.transparency
                    .consistency_proof(&self.store, *old, cp.size)
                    .map_err(|e| down(format!("cannot prove consistency from size {old}: {e}")))?
            };
            let req = AddCheckpoint {
                old_size: *old,
                proof,
                note: cp.note.clone(),
            };
            match self.client.add_checkpoint(url, &req).map_err(down)? {
                AddOutcome::Cosigned(body) => {
                    let found = body.split_inclusive('\n').find_map(|line| {
                        verify_cosignature(&format!("{}{line}", cp.note), &w.key)
                            .ok()
                            .map(|ts| (line.to_owned(), ts))
                    });
                    let Some((line, timestamp)) = found else {
                        return Err(down(
                            "the witness answered without a valid cosignature by its key",
                        ));
                    };
                    self.keep(&StoredCosignature {
                        size: cp.size,
                        witness: w.key.to_string(),
                        timestamp,
                        line,
                    })
                    .map_err(|e| down(format!("cannot keep the cosignature: {e}")))?;
                    *old = cp.size;
                    return Ok(timestamp);
                }
                // Larger than this checkpoint: said as a fork at the top of the loop.
                AddOutcome::Conflict { witness_size } => *old = witness_size,
                AddOutcome::Fork { size } => {
                    return Err(Failure::Fork(format!(
                        "the witness holds another tree of size {size} (409): two histories of this register were signed"
                    )))
                }
                AddOutcome::Refused { status: 422, message } => {
                    return Err(Failure::Fork(format!(
                        "the witness refused the checkpoint of size {} as not extending the one of size {old} it holds (422: {message})",
                        cp.size
                    )))
                }
                AddOutcome::Refused { status, message } => {
                    return Err(down(format!("the witness refused ({status}): {message}")))
                }
            }
        }
        Err(down("the witness kept answering 409 with other sizes"))
    }

    /// Keeps a cosignature: in PostgreSQL first when the register is there, then in the store
    /// the server publishes from.
    fn keep(&self, c: &StoredCosignature) -> Result<(), StoreError> {
        if let Some(p) = &self.primary {
            p.put_cosignatures(std::slice::from_ref(c))?;
        }
        self.store.put_cosignatures(std::slice::from_ref(c))?;
        Ok(())
    }

    /// Starts the round on the current runtime: a task that watches for new checkpoints and
    /// one per witness.
    pub fn spawn(self: Arc<Self>) {
        let (tx, rx) = tokio::sync::watch::channel::<Option<StoredCheckpoint>>(None);
        tokio::spawn(watch(self.store.clone(), self.transparency.clone(), tx));
        for i in 0..self.transparency.witnesses().len() {
            tokio::spawn(self.clone().witness(i, rx.clone()));
        }
    }

    /// Sends the latest checkpoint to witness `i` whenever there is one it has not cosigned,
    /// backing off while it fails.
    async fn witness(
        self: Arc<Self>,
        i: usize,
        mut latest: tokio::sync::watch::Receiver<Option<StoredCheckpoint>>,
    ) {
        let name = self
            .transparency
            .witnesses()
            .get(i)
            .map(|w| w.name.clone())
            .unwrap_or_default();
        let mut old = self
            .transparency
            .statuses()
            .get(i)
            .and_then(|s| s.cosigned_size)
            .unwrap_or(0);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let cp = latest.borrow_and_update().clone();
            let cosigned = self
                .transparency
                .statuses()
                .get(i)
                .and_then(|s| s.cosigned_size);
            if let Some(cp) = cp.filter(|cp| cosigned != Some(cp.size)) {
                let round = self.clone();
                let size = cp.size;
                let mut at = old;
                let outcome = tokio::task::spawn_blocking(move || {
                    let r = round.cosign(i, &cp, &mut at);
                    (r, at)
                })
                .await;
                let (result, now_old) = outcome
                    .unwrap_or_else(|e| (Err(down(format!("the exchange failed: {e}"))), old));
                old = now_old;
                match result {
                    Ok(timestamp) => {
                        backoff = FIRST_BACKOFF;
                        let was_failing = self
                            .transparency
                            .statuses()
                            .get(i)
                            .is_some_and(|s| s.failing > 0);
                        self.transparency.update_status(i, |s| {
                            s.cosigned_size = Some(size);
                            s.cosigned_at = Some(timestamp);
                            s.failing = 0;
                            s.last_error = None;
                            s.next_retry = None;
                            s.fork = None;
                        });
                        if was_failing {
                            eprintln!("witness {name}: answers again; cosigned the checkpoint of size {size}");
                        }
                        tracing::info!(witness = %name, size, "cosigned");
                        let (t, store) = (self.transparency.clone(), self.store.clone());
                        let refreshed =
                            tokio::task::spawn_blocking(move || t.refresh(&store)).await;
                        if let Ok(Err(e)) = refreshed {
                            eprintln!("the published checkpoint could not be worked out: {e}");
                        }
                    }
                    Err(failure) => {
                        let retry = Timestamp(
                            self.clock
                                .now()
                                .0
                                .saturating_add(backoff.as_millis() as i64),
                        );
                        let failing = self.transparency.statuses().get(i).map_or(0, |s| s.failing);
                        self.transparency.update_status(i, |s| {
                            s.failures += 1;
                            s.failing += 1;
                            s.last_error = Some(failure.to_string());
                            s.next_retry = Some(retry);
                            if let Failure::Fork(m) = &failure {
                                s.fork = Some(m.clone());
                            }
                        });
                        match &failure {
                            Failure::Fork(m) => eprintln!(
                                "WITNESS {name} REFUSED THIS REGISTER'S HISTORY at size {size}: {m}. Checkpoints are not published until it cosigns; asking again in {} s",
                                backoff.as_secs()
                            ),
                            // Said when it starts failing, then at every longer wait.
                            Failure::Down(m) if failing == 0 || backoff >= Duration::from_secs(60) => eprintln!(
                                "witness {name}: {m}; asking again in {} s (entries are written meanwhile)",
                                backoff.as_secs()
                            ),
                            Failure::Down(_) => {}
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            }
            if latest.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Publishes the store's latest checkpoint to the witnesses' tasks whenever it changes.
async fn watch(
    store: Arc<SqliteStore>,
    transparency: Arc<Transparency>,
    tx: tokio::sync::watch::Sender<Option<StoredCheckpoint>>,
) {
    let mut said = false;
    loop {
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.latest_checkpoint()).await {
            Ok(Ok(Some(cp))) => {
                said = false;
                tx.send_if_modified(|cur| {
                    if cur.as_ref().map(|c| c.size) == Some(cp.size) {
                        false
                    } else {
                        *cur = Some(cp);
                        true
                    }
                });
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) if !said => {
                said = true;
                eprintln!("witnesses: cannot read the latest checkpoint: {e}");
            }
            _ => {}
        }
        if tx.is_closed() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {},
            () = transparency.nudged() => {},
        }
    }
}
