//! The single writer: every append goes through one thread that commits whatever has queued
//! up in one durable transaction (group commit), and signs checkpoints every N entries or
//! T milliseconds and on demand.

use crate::entry::{Draft, PreparedDraft, SealedEntry};
use crate::merkle::{Frontier, Hash};
use crate::note::{Checkpoint, Signer};
use crate::store::{AppendError, Rejection, Store, StoreError, StoredCheckpoint};
use crate::time::{Clock, Timestamp};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The source of salts. The binary passes the operating system's generator.
pub trait Entropy: Send + Sync {
    fn fill(&self, buf: &mut [u8]);
}

/// Deterministic salts from a seed (tests and the reproducible demo). Not for production.
#[derive(Debug)]
pub struct SeededEntropy {
    seed: [u8; 32],
    counter: AtomicU64,
}

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        Self {
            seed: Sha256::digest(seed.to_be_bytes()).into(),
            counter: AtomicU64::new(0),
        }
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let mut h = Sha256::new();
            h.update(self.seed);
            h.update(n.to_be_bytes());
            let d = h.finalize();
            chunk.copy_from_slice(&d[..chunk.len()]);
        }
    }
}

/// When the writer signs checkpoints by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// Most appends committed in one transaction.
    pub max_batch: usize,
    /// Sign a checkpoint once this many entries have been added since the last one (0: never).
    pub checkpoint_every_entries: u64,
    /// Sign a checkpoint once this many milliseconds have passed since the last one and there
    /// are new entries (0: never).
    pub checkpoint_every_millis: i64,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            max_batch: 4096,
            checkpoint_every_entries: 10_000,
            checkpoint_every_millis: 60_000,
        }
    }
}

/// What an acknowledged append returns: the entry is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    pub time: Timestamp,
    pub leaf: Hash,
}

/// Entries queued by [`Register::submit`].
#[derive(Debug)]
pub struct Pending(Result<mpsc::Receiver<Result<Vec<Receipt>, AppendError>>, AppendError>);

impl Pending {
    /// Waits until the entries are durable (or refused).
    pub fn wait(self) -> Result<Vec<Receipt>, AppendError> {
        self.0?.recv().map_err(|_| StoreError::Closed)?
    }
}

/// Counters for metrics and benchmarks.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub entries: AtomicU64,
    pub checkpoints: AtomicU64,
    /// Commits by how many entries they carried: `batch_sizes[k]` counts those of at most
    /// [`BATCH_BUCKETS`]`[k]` entries and more than the bucket before; the last counts the rest.
    pub batch_sizes: [AtomicU64; BATCH_BUCKETS.len() + 1],
}

/// The upper bounds of [`WriterStats::batch_sizes`].
pub const BATCH_BUCKETS: [u64; 13] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

type Reply<T> = mpsc::SyncSender<T>;

/// What the writer calls once a request's entries are durable (or refused): a channel for a
/// waiting thread, or any callback (an async task's wake-up), so that nobody need block.
struct AppendReply(Box<dyn FnOnce(Result<Vec<Receipt>, AppendError>) + Send>);

impl AppendReply {
    fn send(self, outcome: Result<Vec<Receipt>, AppendError>) {
        (self.0)(outcome);
    }
}

enum Msg {
    /// Drafts, and the time to record them at when the caller replays history (else the clock).
    Append(Vec<PreparedDraft>, Option<Timestamp>, AppendReply),
    Checkpoint(Reply<Result<Option<StoredCheckpoint>, StoreError>>),
    Shutdown,
}

/// The handle to a running writer. Cloning shares the same writer.
#[derive(Clone)]
pub struct Register {
    tx: mpsc::Sender<Msg>,
    stats: Arc<WriterStats>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register")
            .field("stats", &self.stats)
            .finish()
    }
}

/// Everything the writer needs.
pub struct WriterParts {
    pub sink: Box<dyn crate::store::LogSink>,
    pub store: Arc<dyn Store>,
    pub signer: Signer,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub config: WriterConfig,
}

struct State {
    sink: Box<dyn crate::store::LogSink>,
    signer: Signer,
    origin: String,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    config: WriterConfig,
    frontier: Frontier,
    last_time: Timestamp,
    last_checkpoint: Option<StoredCheckpoint>,
    stats: Arc<WriterStats>,
    /// Set when a commit failed: whether the batch reached the disk is unknown, so the writer
    /// takes nothing more until it is restarted (which recovers from the store).
    stopped: Option<StoreError>,
    /// Where a batch's sealed entries go once applied: freeing their payloads (trees of JSON
    /// values) took a sixteenth of the writer's time, which another thread now spends
    /// (`None`: that thread could not be started, and they are freed here).
    spent: Option<mpsc::Sender<Vec<SealedEntry>>>,
}

/// Frees what the writer has finished with, off the writer's thread.
fn spent_entries() -> Option<mpsc::Sender<Vec<SealedEntry>>> {
    let (tx, rx) = mpsc::channel::<Vec<SealedEntry>>();
    std::thread::Builder::new()
        .name("habeas-register-free".into())
        .spawn(move || {
            for batch in rx {
                drop(batch);
            }
        })
        .ok()
        .map(|_| tx)
}

impl Register {
    /// Recovers the tree from the store and starts the writer thread. Refuses to start if the
    /// stored entries do not match the latest checkpoint (a tampered register is never
    /// extended).
    pub fn start(parts: WriterParts) -> Result<Self, StoreError> {
        let info = parts.store.info()?;
        if info.verifier != parts.signer.verifier() {
            return Err(StoreError::Corrupt(
                "the signing key does not belong to this register (its verifier key differs)"
                    .into(),
            ));
        }
        let size = parts.store.size()?;
        let last_checkpoint = parts.store.latest_checkpoint()?;
        let want = match &last_checkpoint {
            Some(cp) => Some((
                cp.size,
                Checkpoint::open(&cp.note, &info.verifier).map_err(|e| {
                    StoreError::Corrupt(format!("the latest checkpoint does not verify: {e}"))
                })?,
            )),
            None => None,
        };
        if let Some((cp_size, _)) = &want {
            if *cp_size > size {
                return Err(StoreError::Corrupt(format!(
                    "the register holds {size} entries but its latest checkpoint covers {cp_size}: entries from index {size} are missing"
                )));
            }
        }
        // The frontier kept with the latest checkpoint, if its root is that checkpoint's signed
        // root: only the leaf hashes after it are read. Otherwise every leaf hash is, and the
        // tree they make is checked against the checkpoint as it grows past its size.
        let kept = match (&want, parts.store.frontier()?) {
            (Some((cp_size, cp)), Some((kept_size, hashes))) if kept_size == *cp_size => {
                Frontier::from_hashes(kept_size, &hashes).filter(|f| f.root() == cp.root)
            }
            _ => None,
        };
        let (mut frontier, check) = match kept {
            Some(f) => (f, None),
            None => (Frontier::new(), want),
        };
        let from = frontier.size();
        let mismatch = |cp_size: u64| {
            StoreError::Corrupt(format!(
                "the stored entries do not match the checkpoint of size {cp_size}; run `habeas verify`"
            ))
        };
        let leaves = parts.store.leaf_hashes_from(from, size)?;
        if from + leaves.len() as u64 != size {
            return Err(StoreError::Corrupt(format!(
                "the register says it holds {size} entries but {} could be read",
                from + leaves.len() as u64
            )));
        }
        for leaf in leaves {
            if let Some((cp_size, cp)) = &check {
                if frontier.size() == *cp_size && frontier.root() != cp.root {
                    return Err(mismatch(*cp_size));
                }
            }
            frontier.push(leaf);
        }
        if let Some((cp_size, cp)) = &check {
            if frontier.size() == *cp_size && frontier.root() != cp.root {
                return Err(mismatch(*cp_size));
            }
        }
        let last_time = match size {
            0 => Timestamp(i64::MIN),
            n => {
                let bytes = parts
                    .store
                    .entry(n - 1)?
                    .ok_or_else(|| StoreError::Corrupt(format!("entry {} is missing", n - 1)))?;
                crate::entry::decode_header(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("entry {}: {e}", n - 1)))?
                    .1
            }
        };
        let stats = Arc::new(WriterStats::default());
        let mut state = State {
            sink: parts.sink,
            signer: parts.signer,
            origin: info.origin,
            clock: parts.clock,
            entropy: parts.entropy,
            config: parts.config,
            frontier,
            last_time,
            last_checkpoint,
            stats: stats.clone(),
            stopped: None,
            spent: spent_entries(),
        };
        let (tx, rx) = mpsc::channel::<Msg>();
        let thread = std::thread::Builder::new()
            .name("habeas-register-writer".into())
            .spawn(move || state.run(rx))
            .map_err(|e| StoreError::Backend(format!("could not start the writer thread: {e}")))?;
        Ok(Self {
            tx,
            stats,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Appends one entry and waits until it is durable.
    pub fn append(&self, draft: Draft) -> Result<Receipt, AppendError> {
        let mut receipts = self.append_all(vec![draft])?;
        receipts.pop().ok_or(AppendError::Store(StoreError::Closed))
    }

    /// Appends several entries atomically (all or none) and waits until they are durable.
    pub fn append_all(&self, drafts: Vec<Draft>) -> Result<Vec<Receipt>, AppendError> {
        self.submit(drafts).wait()
    }

    /// Queues entries (all or none) without waiting; [`Pending::wait`] returns when they are
    /// durable. Lets a bulk loader keep the writer busy while it prepares the next request.
    pub fn submit(&self, drafts: Vec<Draft>) -> Pending {
        self.submit_at(drafts, None)
    }

    /// Like [`Register::submit`], recording the entries at `at` instead of the clock's time
    /// (never earlier than the entry before). For replaying history: the demo generator and
    /// imports of records kept elsewhere; users' commands always take the clock.
    pub fn submit_at(&self, drafts: Vec<Draft>, at: Option<Timestamp>) -> Pending {
        let (reply, rx) = mpsc::sync_channel(1);
        match self.submit_then(drafts, at, move |outcome| {
            let _ = reply.send(outcome);
        }) {
            Ok(()) => Pending(Ok(rx)),
            Err(e) => Pending(Err(e)),
        }
    }

    /// Queues entries (all or none) and returns at once; the writer calls `done` with the
    /// outcome once they are durable (or refused), on its own thread: `done` must be quick
    /// (a channel send, a task's wake-up). A draft that cannot be encoded, or a writer that
    /// has stopped, is an error here and `done` is not called.
    pub fn submit_then(
        &self,
        drafts: Vec<Draft>,
        at: Option<Timestamp>,
        done: impl FnOnce(Result<Vec<Receipt>, AppendError>) + Send + 'static,
    ) -> Result<(), AppendError> {
        // The canonical encoding is prepared here, on the caller's thread; a bad draft is
        // refused without reaching the writer.
        let prepared = drafts
            .into_iter()
            .map(Draft::prepare)
            .collect::<Result<Vec<_>, _>>()
            .map_err(draft_rejection)?;
        self.tx
            .send(Msg::Append(prepared, at, AppendReply(Box::new(done))))
            .map_err(|_| AppendError::Store(StoreError::Closed))
    }

    /// Signs a checkpoint for the current size if the register grew since the last one, and
    /// returns the latest checkpoint.
    pub fn checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Checkpoint(reply))
            .map_err(|_| StoreError::Closed)?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Stops the writer once everything queued so far is committed.
    pub fn shutdown(self) {
        let _ = self.tx.send(Msg::Shutdown);
        let handle = self.thread.lock().ok().and_then(|mut guard| guard.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl State {
    fn run(&mut self, rx: mpsc::Receiver<Msg>) {
        loop {
            let first = match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.maybe_checkpoint(false);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if matches!(first, Msg::Shutdown) {
                break;
            }
            let mut batch = vec![first];
            let mut drafts = match &batch[0] {
                Msg::Append(d, _, _) => d.len(),
                Msg::Checkpoint(_) | Msg::Shutdown => 0,
            };
            let mut stop = false;
            while drafts < self.config.max_batch {
                match rx.try_recv() {
                    Ok(Msg::Shutdown) => {
                        stop = true;
                        break;
                    }
                    Ok(m) => {
                        if let Msg::Append(d, _, _) = &m {
                            drafts += d.len();
                        }
                        batch.push(m);
                    }
                    Err(_) => break,
                }
            }
            self.process(batch);
            if stop {
                break;
            }
        }
        let _ = self.maybe_checkpoint(false);
    }

    fn process(&mut self, batch: Vec<Msg>) {
        if let Some(e) = &self.stopped {
            let e = StoreError::Backend(format!(
                "the register stopped after a failed commit ({e}); restart to recover"
            ));
            for msg in batch {
                match msg {
                    Msg::Append(_, _, reply) => {
                        reply.send(Err(AppendError::Store(e.clone())));
                    }
                    Msg::Checkpoint(reply) => {
                        let _ = reply.send(Err(e.clone()));
                    }
                    Msg::Shutdown => {}
                }
            }
            return;
        }
        let mut waiting_checkpoint = Vec::new();
        let mut acked: Vec<(AppendReply, Vec<Receipt>)> = Vec::new();
        let mut leaves: Vec<Hash> = Vec::new();
        let mut next = self.frontier.size();
        let mut last_time = self.last_time;
        let mut failed: Option<StoreError> = None;
        let mut began = false;
        let mut rest = batch.into_iter();
        for msg in rest.by_ref() {
            let (drafts, at, reply) = match msg {
                Msg::Checkpoint(r) => {
                    waiting_checkpoint.push(r);
                    continue;
                }
                Msg::Shutdown => continue,
                Msg::Append(d, t, r) => (d, t, r),
            };
            if !began {
                if let Err(e) = self.sink.begin() {
                    failed = Some(e);
                    reply.send(Err(AppendError::Store(StoreError::Backend(
                        "the batch could not start".into(),
                    ))));
                    break;
                }
                began = true;
            }
            match self.seal_and_apply(drafts, at, next, &mut last_time) {
                Ok(sealed) => {
                    next += sealed.len() as u64;
                    let receipts = sealed
                        .iter()
                        .map(|s| Receipt {
                            index: s.entry.index,
                            time: s.entry.time,
                            leaf: s.leaf,
                        })
                        .collect();
                    leaves.extend(sealed.iter().map(|s| s.leaf));
                    acked.push((reply, receipts));
                    self.free(sealed);
                }
                Err(AppendError::Rejected(r)) => {
                    reply.send(Err(AppendError::Rejected(r)));
                }
                Err(AppendError::Store(e)) => {
                    reply.send(Err(AppendError::Store(e.clone())));
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            if began {
                self.sink.rollback();
            }
            for (reply, _) in acked {
                reply.send(Err(AppendError::Store(e.clone())));
            }
            for msg in rest {
                match msg {
                    Msg::Append(_, _, reply) => {
                        reply.send(Err(AppendError::Store(e.clone())));
                    }
                    Msg::Checkpoint(r) => waiting_checkpoint.push(r),
                    Msg::Shutdown => {}
                }
            }
        } else if began {
            // A checkpoint that falls due with this batch is written in the same transaction:
            // one durable commit covers the entries and the signed tree head over them.
            let mut grown = self.frontier.clone();
            for leaf in &leaves {
                grown.push(*leaf);
            }
            let mut outcome = self.due_checkpoint(&grown, false, self.clock.now());
            if let Ok(Some(cp)) = &outcome {
                if let Err(e) = self
                    .sink
                    .put_checkpoint(cp)
                    .and_then(|()| self.sink.put_frontier(grown.size(), &grown.hashes()))
                {
                    outcome = Err(e);
                }
            }
            let committed = match outcome {
                Ok(cp) => self.sink.commit().map(|()| cp),
                Err(e) => Err(e),
            };
            match committed {
                Ok(cp) => {
                    self.frontier = grown;
                    if let Some(cp) = cp {
                        self.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
                        self.last_checkpoint = Some(cp);
                    }
                    self.last_time = last_time;
                    self.stats.batches.fetch_add(1, Ordering::Relaxed);
                    let n = leaves.len() as u64;
                    let bucket = BATCH_BUCKETS
                        .iter()
                        .position(|b| n <= *b)
                        .unwrap_or(BATCH_BUCKETS.len());
                    if let Some(c) = self.stats.batch_sizes.get(bucket) {
                        c.fetch_add(1, Ordering::Relaxed);
                    }
                    self.stats
                        .entries
                        .fetch_add(leaves.len() as u64, Ordering::Relaxed);
                    // The batch is durable: each request is told so here. Handing this to
                    // another thread cost more than it saved: under load the tasks' workers
                    // are awake and a wake-up is cheap, while that thread slept between
                    // commits and had to be woken every time (docs/benchmarks.md).
                    for (reply, receipts) in acked {
                        reply.send(Ok(receipts));
                    }
                }
                Err(e) => {
                    self.sink.rollback();
                    for (reply, _) in acked {
                        reply.send(Err(AppendError::Store(e.clone())));
                    }
                    self.stopped = Some(e);
                }
            }
        }
        if waiting_checkpoint.is_empty() {
            return;
        }
        let result = self.maybe_checkpoint(true);
        for reply in waiting_checkpoint {
            let _ = reply.send(result.clone().map(|()| self.last_checkpoint.clone()));
        }
    }

    /// Hands sealed entries to the thread that frees them.
    fn free(&mut self, sealed: Vec<SealedEntry>) {
        if let Some(tx) = &self.spent {
            if let Err(mpsc::SendError(back)) = tx.send(sealed) {
                self.spent = None;
                drop(back);
            }
        }
    }

    /// Seals the drafts of one request at consecutive indices and hands them to the sink.
    /// If one is refused, the others of the same request are undone with it.
    fn seal_and_apply(
        &mut self,
        drafts: Vec<PreparedDraft>,
        at: Option<Timestamp>,
        first: u64,
        last_time: &mut Timestamp,
    ) -> Result<Vec<SealedEntry>, AppendError> {
        let time = at.unwrap_or_else(|| self.clock.now()).max(*last_time);
        let time_text = time.to_string();
        let mut sealed = Vec::with_capacity(drafts.len());
        let mut salts = vec![0u8; 16 * drafts.len()];
        self.entropy.fill(&mut salts);
        for (i, (d, salt)) in drafts.into_iter().zip(salts.chunks_exact(16)).enumerate() {
            let salt: [u8; 16] = salt.try_into().unwrap_or([0; 16]);
            sealed.push(SealedEntry::seal_prepared(
                d,
                first + i as u64,
                time,
                &time_text,
                &salt,
            ));
        }
        self.sink.append_group(&sealed)?;
        *last_time = time;
        Ok(sealed)
    }

    /// Signs and stores a checkpoint now if one is due (or `forced`), in its own commit.
    fn maybe_checkpoint(&mut self, forced: bool) -> Result<(), StoreError> {
        if let Some(e) = &self.stopped {
            return Err(e.clone());
        }
        let now = self.clock.now();
        if let Some(cp) = self.due_checkpoint(&self.frontier, forced, now)? {
            self.sink.put_checkpoint(&cp)?;
            self.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
            self.last_checkpoint = Some(cp);
            // Beside it, in a commit of its own: the checkpoint stands (and is never signed
            // twice) even if this fails; the next start then reads every leaf hash.
            self.sink
                .put_frontier(self.frontier.size(), &self.frontier.hashes())?;
        }
        Ok(())
    }

    /// The signed checkpoint for `tree` if one is due at `now` (or `forced`).
    fn due_checkpoint(
        &self,
        tree: &Frontier,
        forced: bool,
        now: Timestamp,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let size = tree.size();
        let last_size = self.last_checkpoint.as_ref().map_or(0, |c| c.size);
        match &self.last_checkpoint {
            Some(c) if c.size == size => return Ok(None),
            None if size == 0 && !forced => return Ok(None),
            _ => {}
        }
        let due_entries = self.config.checkpoint_every_entries > 0
            && size - last_size >= self.config.checkpoint_every_entries;
        let due_time = self.config.checkpoint_every_millis > 0
            && self.last_checkpoint.as_ref().is_none_or(|c| {
                now.0.saturating_sub(c.made_at.0) >= self.config.checkpoint_every_millis
            });
        if !(forced || due_entries || due_time) {
            return Ok(None);
        }
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size,
            root: tree.root(),
        };
        let note = cp
            .sign(&self.signer)
            .map_err(|e| StoreError::Backend(format!("signing failed: {e}")))?;
        // The time a checkpoint was made never goes back, whatever the clock does.
        let made_at = self
            .last_checkpoint
            .as_ref()
            .map_or(now, |c| c.made_at.max(now));
        Ok(Some(StoredCheckpoint {
            size,
            made_at,
            note,
        }))
    }
}

fn draft_rejection(e: crate::entry::DraftError) -> AppendError {
    let field = match &e {
        crate::entry::DraftError::Field { field, .. } => Some((*field).to_owned()),
        crate::entry::DraftError::Canonical(crate::canonical::CanonicalError::Number { path }) => {
            Some(path.clone())
        }
        crate::entry::DraftError::TooLarge(_) => None,
    };
    AppendError::Rejected(Rejection {
        code: "invalid_field".into(),
        field,
        message: e.to_string(),
        words: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;
    use crate::note::Signer;
    use crate::store::{LogSink, RegisterInfo, StoredRow};
    use crate::time::ManualClock;
    use std::sync::atomic::AtomicBool;

    /// A register held in memory, whose commits can be made to fail.
    #[derive(Default)]
    struct Mem {
        info: Option<RegisterInfo>,
        rows: Mutex<Vec<(Vec<u8>, Hash)>>,
        cps: Mutex<Vec<StoredCheckpoint>>,
    }

    impl Store for Mem {
        fn info(&self) -> Result<RegisterInfo, StoreError> {
            self.info.clone().ok_or(StoreError::Closed)
        }
        fn size(&self) -> Result<u64, StoreError> {
            Ok(self.rows.lock().unwrap().len() as u64)
        }
        fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self
                .rows
                .lock()
                .unwrap()
                .get(index as usize)
                .map(|r| r.0.clone()))
        }
        fn scan(
            &self,
            from: u64,
            visit: &mut dyn FnMut(StoredRow<'_>) -> Result<bool, StoreError>,
        ) -> Result<(), StoreError> {
            for (i, (bytes, leaf)) in self
                .rows
                .lock()
                .unwrap()
                .iter()
                .enumerate()
                .skip(from as usize)
            {
                if !visit(StoredRow {
                    index: i as u64,
                    leaf,
                    bytes,
                })? {
                    break;
                }
            }
            Ok(())
        }
        fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
            Ok(self.cps.lock().unwrap().clone())
        }
    }

    struct MemSink {
        mem: Arc<Mem>,
        pending: Vec<(Vec<u8>, Hash)>,
        fail: Arc<AtomicBool>,
    }

    impl LogSink for MemSink {
        fn begin(&mut self) -> Result<(), StoreError> {
            self.pending.clear();
            Ok(())
        }
        fn append_group(&mut self, entries: &[SealedEntry]) -> Result<(), AppendError> {
            self.pending
                .extend(entries.iter().map(|e| (e.bytes.clone(), e.leaf)));
            Ok(())
        }
        fn commit(&mut self) -> Result<(), StoreError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(StoreError::Backend("disk I/O error".into()));
            }
            self.mem.rows.lock().unwrap().append(&mut self.pending);
            Ok(())
        }
        fn rollback(&mut self) {
            self.pending.clear();
        }
        fn put_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
            self.mem.cps.lock().unwrap().push(cp.clone());
            Ok(())
        }
    }

    fn draft() -> Draft {
        Draft {
            actor: "a".into(),
            facility: "F".into(),
            kind: "test.note".into(),
            subject: "s".into(),
            payload: serde_json::json!({"n": 1}),
            corrects: None,
        }
    }

    fn start(mem: &Arc<Mem>, fail: &Arc<AtomicBool>) -> Register {
        let signer = Signer::from_seed("habeas.test/mem", [1; 32]).unwrap();
        Register::start(WriterParts {
            sink: Box::new(MemSink {
                mem: mem.clone(),
                pending: Vec::new(),
                fail: fail.clone(),
            }),
            store: mem.clone(),
            signer,
            clock: Arc::new(ManualClock::new(Timestamp(0))),
            entropy: Arc::new(SeededEntropy::new(1)),
            config: WriterConfig {
                checkpoint_every_millis: 0,
                ..WriterConfig::default()
            },
        })
        .unwrap()
    }

    #[test]
    fn after_a_failed_commit_the_writer_takes_nothing_until_restarted() {
        let signer = Signer::from_seed("habeas.test/mem", [1; 32]).unwrap();
        let mem = Arc::new(Mem {
            info: Some(RegisterInfo {
                origin: "habeas.test/mem".into(),
                verifier: signer.verifier(),
            }),
            ..Mem::default()
        });
        let fail = Arc::new(AtomicBool::new(false));
        let r = start(&mem, &fail);
        assert_eq!(r.append(draft()).unwrap().index, 0);
        fail.store(true, Ordering::SeqCst);
        assert!(
            matches!(r.append(draft()), Err(AppendError::Store(_))),
            "a failed commit is never acknowledged"
        );
        fail.store(false, Ordering::SeqCst);
        match r.append(draft()) {
            Err(AppendError::Store(StoreError::Backend(m))) => {
                assert!(m.contains("restart"), "{m}")
            }
            other => panic!("the writer went on after a failed commit: {other:?}"),
        }
        assert!(r.checkpoint().is_err());
        r.shutdown();
        assert_eq!(
            mem.rows.lock().unwrap().len(),
            1,
            "nothing unacknowledged was kept"
        );
        let r = start(&mem, &fail);
        let next = r.append(draft()).unwrap();
        assert_eq!(next.index, 1);
        assert_eq!(next.leaf, leaf_hash(&mem.rows.lock().unwrap()[1].0));
        r.shutdown();
    }

    #[test]
    fn submit_then_calls_back_only_after_the_commit_and_with_its_failure() {
        let signer = Signer::from_seed("habeas.test/mem", [1; 32]).unwrap();
        let mem = Arc::new(Mem {
            info: Some(RegisterInfo {
                origin: "habeas.test/mem".into(),
                verifier: signer.verifier(),
            }),
            ..Mem::default()
        });
        let fail = Arc::new(AtomicBool::new(false));
        let r = start(&mem, &fail);
        let (tx, rx) = mpsc::channel();
        for _ in 0..3 {
            let tx = tx.clone();
            let mem = mem.clone();
            r.submit_then(vec![draft()], None, move |outcome| {
                // Called back on the writer's thread, once the entry is in the store.
                let rows = mem.rows.lock().unwrap().len();
                tx.send((outcome.map(|rs| rs[0].index), rows)).unwrap();
            })
            .unwrap();
        }
        let mut got: Vec<(u64, usize)> = (0..3)
            .map(|_| {
                let (o, rows) = rx.recv().unwrap();
                (o.unwrap(), rows)
            })
            .collect();
        got.sort_unstable();
        for (k, (index, rows)) in got.iter().enumerate() {
            assert_eq!(*index, k as u64);
            assert!(*rows > *index as usize, "called back before the commit");
        }
        // A failed commit is reported to the callback, never acknowledged.
        fail.store(true, Ordering::SeqCst);
        r.submit_then(vec![draft()], None, move |outcome| {
            tx.send((outcome.map(|rs| rs[0].index), 0)).unwrap();
        })
        .unwrap();
        assert!(matches!(rx.recv().unwrap().0, Err(AppendError::Store(_))));
        // A draft that cannot be encoded is refused at once, and nothing is called back.
        let mut bad = draft();
        bad.kind = String::new();
        assert!(r.submit_then(vec![bad], None, |_| unreachable!()).is_err());
        r.shutdown();
        assert_eq!(mem.rows.lock().unwrap().len(), 3);
    }
}
