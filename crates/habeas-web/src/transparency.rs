//! The register's tree made public (docs/register-format.md §15–§16): C2SP `tlog-tiles` and
//! RFC 6962 proofs computed from a cache of the tree's hashes, the witnesses whose
//! cosignatures publish a checkpoint and what the server knows of each, and the published
//! checkpoint itself.
//!
//! A leaf of the web crate: it depends on the register and the SQLite store only (the server's
//! store is always SQLite; on PostgreSQL it is the local replica, so tiles come from there).
//!
//! * **The cache.** Every hash of the tree above the leaves that covers a complete run of
//!   256^L leaves (L ≥ 1: the hashes of the tiles of level 1 and up) is computed once and kept
//!   in memory: they never change, and there are size/255 of them (250 KB at 2,000,000
//!   entries). They are computed from the recorded leaf hashes, read by index range, when a
//!   size beyond what is cached is first asked for; [`Transparency::warm`] does it ahead (the
//!   server calls it at start, in the background). Leaf hashes (level 0) are read from the
//!   store; a bounded number of full level-0 tiles is kept.
//! * **Proofs** (`inclusion_proof`, `consistency_proof`) are RFC 6962's PATH and PROOF, every
//!   hash they need being either a cached hash, the root of at most 128 of them, or the root
//!   of at most 128 consecutive leaves of one tile: one range read of at most 256 leaf hashes
//!   per tile touched, whatever the register's size.
//! * **The published checkpoint** ([`Transparency::published`]) is the latest checkpoint that a
//!   quorum of the configured witnesses cosigned, with their cosignature lines appended; with
//!   no witnesses, the latest signed checkpoint. Its root is checked against the cached tree
//!   before it is handed out, so the tiles served always give the checkpoint served.

use habeas_register::merkle::{empty_root, node_hash, root, Hash};
use habeas_register::note::{Checkpoint, VerifierKey};
use habeas_register::store::{Store as _, StoreError};
use habeas_register::witness::{verify_cosignature, CosignVerifierKey};
use habeas_register::Timestamp;
use habeas_store_sqlite::SqliteStore;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Hashes in a full tile.
const TILE: u64 = 256;
/// Leaves read at a time while the cache grows (2 MiB of hashes).
const CHUNK: u64 = 256 * 256;
/// Full level-0 tiles kept by default (8 MiB).
pub const LEAF_TILES_KEPT: usize = 1024;

/// A witness the register sends its checkpoints to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The witness's name (its key's name).
    pub name: String,
    pub key: CosignVerifierKey,
    /// Where it answers `POST <url>/add-checkpoint` (plain HTTP); `None` where only its
    /// cosignatures are checked (`habeas publish`, `habeas verify`).
    pub url: Option<String>,
}

impl Witness {
    /// Parses `<verifier key>@<url>`: the witness's verifier key (`<name>+<key id>+<key>`,
    /// docs/register-format.md §16.1) and the `http://` address of its add-checkpoint prefix,
    /// split at the `@` before `http://`. Without `url_required`, a bare verifier key is taken
    /// too.
    pub fn parse(text: &str, url_required: bool) -> Result<Self, String> {
        let text = text.trim();
        let (vkey, url) = match text.find("@http") {
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        };
        if let Some(url) = url {
            let rest = url.strip_prefix("http://").ok_or_else(|| {
                format!("{url}: a witness is reached over plain http:// (its answers are authenticated by the cosignatures)")
            })?;
            if rest.is_empty() || rest.starts_with('/') {
                return Err(format!("{url}: the address names no host"));
            }
        } else if url_required {
            return Err(format!(
                "{text}: expected <verifier key>@http://<host>:<port>, the witness's verifier key and address"
            ));
        }
        let key = CosignVerifierKey::parse(vkey).map_err(|e| format!("{vkey}: {e}"))?;
        Ok(Self {
            name: key.name().to_owned(),
            key,
            url: url.map(|u| u.trim_end_matches('/').to_owned()),
        })
    }
}

/// What the server knows of a witness, for the inspector's page and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessStatus {
    /// The largest checkpoint size it cosigned (kept in the store).
    pub cosigned_size: Option<u64>,
    /// When it cosigned that one (POSIX seconds, from the cosignature).
    pub cosigned_at: Option<u64>,
    /// Failed exchanges since the server started.
    pub failures: u64,
    /// Failed exchanges since the last cosignature (the back-off grows with them).
    pub failing: u32,
    /// What went wrong last, while it is failing.
    pub last_error: Option<String>,
    /// When it is asked again, while it is failing.
    pub next_retry: Option<Timestamp>,
    /// The witness refused this register's history: it holds another tree of the same size,
    /// or a larger tree this one does not extend. What it said.
    pub fork: Option<String>,
}

/// The checkpoint the register publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub size: u64,
    pub root: Hash,
    /// The register's signed note followed by the cosignature lines of the witnesses that
    /// cosigned it (in the order they are configured).
    pub note: String,
    /// Their names.
    pub cosigners: Vec<String>,
}

/// The hashes above the leaves: `levels[L - 1]` holds the level-L hashes of the first
/// `covered` leaves (each the root of 256^L of them).
#[derive(Debug, Default)]
struct Upper {
    covered: u64,
    levels: Vec<Vec<Hash>>,
}

/// Full level-0 tiles, the oldest forgotten first.
#[derive(Debug, Default)]
struct LeafTiles {
    tiles: HashMap<u64, Arc<Vec<Hash>>>,
    order: VecDeque<u64>,
}

/// The tiles, proofs, witnesses and published checkpoint of one register.
#[derive(Debug)]
pub struct Transparency {
    witnesses: Vec<Witness>,
    quorum: usize,
    status: Mutex<Vec<WitnessStatus>>,
    upper: RwLock<Upper>,
    /// One thread grows the cache at a time.
    grow: Mutex<()>,
    leaf_tiles: Mutex<LeafTiles>,
    leaf_tiles_kept: usize,
    /// The register's size as last read (proofs refuse sizes beyond it).
    known_size: AtomicU64,
    published: Mutex<Option<Published>>,
    verifier: OnceLock<VerifierKey>,
    /// Wakes the witnesses' round at once (a checkpoint was just signed).
    signed: tokio::sync::Notify,
    /// A file that keeps the level-1 hashes between runs, 32 bytes each, in order.
    cache_file: Option<std::path::PathBuf>,
    /// How many leaf hashes growing the cache has read from the store.
    leaves_read: AtomicU64,
}

impl Default for Transparency {
    fn default() -> Self {
        Self::without_witnesses()
    }
}

fn backend(message: impl Into<String>) -> StoreError {
    StoreError::Backend(message.into())
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Whether the tile (`level`, `index`, `width`) lies within the tree of `size` leaves: all its
/// hashes are of complete subtrees of it. Those are the tiles of that size (§15.3) and the
/// partial tiles of smaller sizes, prefixes of them, which a client holding an older
/// checkpoint may still ask for.
pub fn tile_within(size: u64, level: u8, index: u64, width: u16) -> bool {
    if !(1..=256).contains(&width) {
        return false;
    }
    let hashes = size.checked_shr(8 * u32::from(level)).unwrap_or(0);
    index
        .checked_mul(TILE)
        .and_then(|first| first.checked_add(u64::from(width)))
        .is_some_and(|end| end <= hashes)
}

impl Transparency {
    /// No witnesses: the latest signed checkpoint is the published one.
    pub fn without_witnesses() -> Self {
        Self {
            witnesses: Vec::new(),
            quorum: 0,
            status: Mutex::new(Vec::new()),
            upper: RwLock::new(Upper::default()),
            grow: Mutex::new(()),
            leaf_tiles: Mutex::new(LeafTiles::default()),
            leaf_tiles_kept: LEAF_TILES_KEPT,
            known_size: AtomicU64::new(0),
            published: Mutex::new(None),
            verifier: OnceLock::new(),
            signed: tokio::sync::Notify::new(),
            cache_file: None,
            leaves_read: AtomicU64::new(0),
        }
    }

    /// With witnesses, of which `quorum` (default: all) must cosign a checkpoint before it is
    /// published.
    pub fn new(witnesses: Vec<Witness>, quorum: Option<usize>) -> Result<Self, String> {
        for (i, w) in witnesses.iter().enumerate() {
            if witnesses[..i].iter().any(|o| o.key == w.key) {
                return Err(format!("{}: the same witness is named twice", w.key));
            }
        }
        let quorum = quorum.unwrap_or(witnesses.len());
        if witnesses.is_empty() {
            if quorum > 0 {
                return Err("a quorum needs witnesses (--witness)".into());
            }
        } else if quorum == 0 || quorum > witnesses.len() {
            return Err(format!(
                "the quorum is 1 to {} (the witnesses named), not {quorum}",
                witnesses.len()
            ));
        }
        Ok(Self {
            status: Mutex::new(vec![WitnessStatus::default(); witnesses.len()]),
            witnesses,
            quorum,
            ..Self::without_witnesses()
        })
    }

    /// Keeps the level-1 hashes in `path` between runs, so that a server starting again reads
    /// them (32 bytes for each 256 entries) instead of every leaf hash. What the file holds is
    /// used only once the tree it makes gives the latest signed checkpoint's root; otherwise
    /// it is made again from the leaf hashes. A cache: failing to write it stops nothing.
    pub fn with_cache_file(mut self, path: std::path::PathBuf) -> Self {
        self.cache_file = Some(path);
        self
    }

    /// How many leaf hashes growing the cache has read from the store so far.
    pub fn leaves_read(&self) -> u64 {
        self.leaves_read.load(Ordering::Relaxed)
    }

    /// Keeps at most `tiles` full level-0 tiles (8 KiB each) in memory.
    pub fn with_leaf_tiles(mut self, tiles: usize) -> Self {
        self.leaf_tiles_kept = tiles;
        self
    }

    pub fn witnesses(&self) -> &[Witness] {
        &self.witnesses
    }

    /// How many witnesses must cosign a checkpoint for it to be published (0: none named).
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// What is known of each witness, in the order they are configured.
    pub fn statuses(&self) -> Vec<WitnessStatus> {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Changes what is known of witness `i`.
    pub fn update_status(&self, i: usize, change: impl FnOnce(&mut WitnessStatus)) {
        if let Ok(mut s) = self.status.lock() {
            if let Some(s) = s.get_mut(i) {
                change(s);
            }
        }
    }

    /// Reads what the store keeps of each witness (the largest size it cosigned).
    pub fn load_statuses(&self, store: &SqliteStore) -> Result<(), StoreError> {
        for (i, w) in self.witnesses.iter().enumerate() {
            let size = store.cosigned_size(&w.key.to_string())?;
            let at = match size {
                Some(s) => store
                    .cosignatures_at(s)?
                    .into_iter()
                    .find(|c| c.witness == w.key.to_string())
                    .map(|c| c.timestamp),
                None => None,
            };
            self.update_status(i, |st| {
                st.cosigned_size = size;
                st.cosigned_at = at;
            });
        }
        Ok(())
    }

    fn verifier(&self, store: &SqliteStore) -> Result<&VerifierKey, StoreError> {
        if let Some(v) = self.verifier.get() {
            return Ok(v);
        }
        let v = store.info()?.verifier;
        Ok(self.verifier.get_or_init(|| v))
    }

    /// The published checkpoint: the latest that a quorum of the witnesses cosigned, with
    /// their cosignatures; with no witnesses, the latest signed checkpoint as it is. `None`
    /// before there is one.
    pub fn published(&self, store: &SqliteStore) -> Result<Option<Published>, StoreError> {
        let cached = self.published.lock().ok().and_then(|p| p.clone());
        if self.witnesses.is_empty() {
            let Some(cp) = store.latest_checkpoint()? else {
                return Ok(None);
            };
            if let Some(p) = cached.filter(|p| p.size == cp.size && p.note == cp.note) {
                return Ok(Some(p));
            }
            let p = self.checked(store, cp.size, cp.note, Vec::new())?;
            if let Ok(mut c) = self.published.lock() {
                *c = Some(p.clone());
            }
            return Ok(Some(p));
        }
        match cached {
            Some(p) => Ok(Some(p)),
            None => self.refresh(store),
        }
    }

    /// Says that a checkpoint was just signed: the witnesses' round (`habeas serve`) looks for
    /// it at once instead of at its next poll (a quarter of a second), and
    /// [`Transparency::published`] shows it once a quorum has cosigned it.
    pub fn nudge(&self) {
        self.signed.notify_one();
    }

    /// Resolves at the next [`Transparency::nudge`] (or at once if one came since the last).
    pub async fn nudged(&self) {
        self.signed.notified().await;
    }

    /// Works out the published checkpoint again from the cosignatures the store keeps (after
    /// a new one was kept) and returns it.
    pub fn refresh(&self, store: &SqliteStore) -> Result<Option<Published>, StoreError> {
        if self.witnesses.is_empty() {
            return self.published(store);
        }
        let keys: Vec<String> = self.witnesses.iter().map(|w| w.key.to_string()).collect();
        let Some(size) = store.largest_cosigned(&keys, self.quorum)? else {
            return Ok(None);
        };
        let cp = store.checkpoint_at(size)?.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "cosignatures are kept for a checkpoint of size {size}, but the register has no such checkpoint"
            ))
        })?;
        let kept = store.cosignatures_at(size)?;
        let mut note = cp.note.clone();
        let mut cosigners = Vec::new();
        for (w, key) in self.witnesses.iter().zip(&keys) {
            let Some(c) = kept.iter().find(|c| &c.witness == key) else {
                continue;
            };
            if verify_cosignature(&format!("{}{}", cp.note, c.line), &w.key).is_err() {
                return Err(StoreError::Corrupt(format!(
                    "the cosignature kept from {} for the checkpoint of size {size} does not verify",
                    w.name
                )));
            }
            note.push_str(&c.line);
            cosigners.push(w.name.clone());
        }
        let p = self.checked(store, size, note, cosigners)?;
        if let Ok(mut c) = self.published.lock() {
            *c = Some(p.clone());
        }
        Ok(Some(p))
    }

    /// The published checkpoint from its note, once its signature and its root (against the
    /// tree the tiles are made of) are checked.
    fn checked(
        &self,
        store: &SqliteStore,
        size: u64,
        note: String,
        cosigners: Vec<String>,
    ) -> Result<Published, StoreError> {
        let cp = Checkpoint::open(&note, self.verifier(store)?).map_err(|e| {
            StoreError::Corrupt(format!(
                "the checkpoint of size {size} does not verify: {e}"
            ))
        })?;
        if cp.size != size {
            return Err(StoreError::Corrupt(format!(
                "the checkpoint kept as size {size} is of size {}",
                cp.size
            )));
        }
        if self.root_at(store, size)? != cp.root {
            return Err(StoreError::Corrupt(format!(
                "the recorded leaf hashes do not give the root of the checkpoint of size {size}; run `habeas verify`"
            )));
        }
        Ok(Published {
            size,
            root: cp.root,
            note,
            cosigners,
        })
    }

    /// Computes the cache up to the register's current size; returns that size.
    pub fn warm(&self, store: &SqliteStore) -> Result<u64, StoreError> {
        let size = store.size()?;
        self.known_size.fetch_max(size, Ordering::Relaxed);
        self.ensure(store, size)?;
        Ok(size)
    }

    /// Refuses a size beyond the register.
    fn check_size(&self, store: &SqliteStore, size: u64) -> Result<(), StoreError> {
        if size <= self.known_size.load(Ordering::Relaxed) {
            return Ok(());
        }
        let now = store.size()?;
        self.known_size.fetch_max(now, Ordering::Relaxed);
        if size > now {
            return Err(backend(format!(
                "the tree of size {size} is larger than the register ({now} entries)"
            )));
        }
        Ok(())
    }

    /// The level-1 hashes the cache file holds, at most the `want` leaves' and those under the
    /// latest checkpoint, if the tree they begin gives that checkpoint's signed root with the
    /// recorded leaf hashes after them; none otherwise (the file is then made again).
    fn kept_level1(&self, store: &SqliteStore, want: u64) -> Result<Vec<Hash>, StoreError> {
        let Some(path) = &self.cache_file else {
            return Ok(Vec::new());
        };
        let Ok(bytes) = std::fs::read(path) else {
            return Ok(Vec::new());
        };
        let Some(cp) = store.latest_checkpoint()? else {
            return Ok(Vec::new());
        };
        let Ok(signed) = Checkpoint::open(&cp.note, self.verifier(store)?) else {
            return Ok(Vec::new());
        };
        let tiles = (bytes.len() as u64 / 32)
            .min(cp.size / TILE)
            .min(want / TILE);
        let level1: Vec<Hash> = bytes
            .chunks_exact(32)
            .take(tiles as usize)
            .filter_map(|h| h.try_into().ok())
            .collect();
        // The frontier of the first `tiles` × 256 leaves: the root of each perfect run of
        // level-1 hashes, one per bit set in `tiles`, largest first.
        let mut roots = Vec::new();
        let mut start = 0usize;
        for bit in (0..64u32).rev().filter(|b| tiles & (1u64 << b) != 0) {
            let end = start + (1usize << bit);
            roots.push(root(level1.get(start..end).unwrap_or(&[])));
            start = end;
        }
        let Some(mut frontier) =
            habeas_register::merkle::Frontier::from_hashes(tiles * TILE, &roots)
        else {
            return Ok(Vec::new());
        };
        let after = store.leaf_range(tiles * TILE, cp.size)?;
        self.leaves_read
            .fetch_add(after.len() as u64, Ordering::Relaxed);
        for leaf in after {
            frontier.push(leaf);
        }
        if frontier.root() != signed.root {
            tracing::warn!(
                file = %path.display(),
                "the kept tile hashes do not give the latest checkpoint's root: made again from the leaf hashes"
            );
            return Ok(Vec::new());
        }
        Ok(level1)
    }

    /// Writes the level-1 hashes from tile `first` on to the cache file (cut to `first` hashes
    /// before), if there is one; a failure is logged and stops nothing.
    fn keep_level1(&self, first: u64, hashes: &[Hash]) {
        use std::io::{Seek as _, Write as _};
        let Some(path) = &self.cache_file else {
            return;
        };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .and_then(|mut f| {
                f.set_len(first * 32)?;
                f.seek(std::io::SeekFrom::End(0))?;
                f.write_all(&hashes.concat())
            });
        if let Err(e) = written {
            tracing::warn!(file = %path.display(), "the tile hashes could not be kept: {e}");
        }
    }

    /// Makes sure every hash above the leaves of the tree of `size` leaves is cached.
    fn ensure(&self, store: &SqliteStore, size: u64) -> Result<(), StoreError> {
        let want = size / TILE * TILE;
        let covered = |t: &Self| t.upper.read().map(|u| u.covered).unwrap_or(0);
        if covered(self) >= want {
            return Ok(());
        }
        let _one = self.grow.lock().map_err(|_| StoreError::Closed)?;
        let from = covered(self);
        if from >= want {
            return Ok(());
        }
        // The level-1 hashes kept from an earlier run, once checked; then those of the new
        // leaves, read and hashed without holding the cache.
        let mut level1 = Vec::with_capacity(((want - from) / TILE) as usize);
        if from == 0 {
            level1 = self.kept_level1(store, want)?;
        }
        let kept = level1.len();
        let mut at = from + kept as u64 * TILE;
        while at < want {
            let to = (at + CHUNK).min(want);
            let leaves = store.leaf_range(at, to)?;
            self.leaves_read
                .fetch_add(leaves.len() as u64, Ordering::Relaxed);
            level1.extend(leaves.chunks(TILE as usize).map(root));
            at = to;
        }
        self.keep_level1(from / TILE + kept as u64, &level1[kept..]);
        let mut upper = self.upper.write().map_err(|_| StoreError::Closed)?;
        if upper.levels.is_empty() {
            upper.levels.push(Vec::new());
        }
        upper.levels[0].extend(level1);
        // Each full run of 256 hashes of a level is one hash of the level above.
        let mut l = 0;
        while upper.levels[l].len() as u64 >= TILE {
            if upper.levels.len() == l + 1 {
                upper.levels.push(Vec::new());
            }
            let have = upper.levels[l + 1].len();
            let can = upper.levels[l].len() / TILE as usize;
            let new: Vec<Hash> = (have..can)
                .map(|i| root(&upper.levels[l][i * TILE as usize..(i + 1) * TILE as usize]))
                .collect();
            upper.levels[l + 1].extend(new);
            l += 1;
        }
        upper.covered = want;
        Ok(())
    }

    fn view<'a>(&'a self, store: &'a SqliteStore, size: u64) -> View<'a> {
        View {
            t: self,
            store,
            size,
            partial: None,
        }
    }

    /// MTH of the first `size` entries.
    pub fn root_at(&self, store: &SqliteStore, size: u64) -> Result<Hash, StoreError> {
        if size == 0 {
            return Ok(empty_root());
        }
        self.check_size(store, size)?;
        self.ensure(store, size)?;
        self.view(store, size).mth(0, size)
    }

    /// The RFC 6962 inclusion proof (audit path) of entry `index` in the tree of the first
    /// `size` entries: the same hashes as `merkle::Tree::inclusion_proof`.
    pub fn inclusion_proof(
        &self,
        store: &SqliteStore,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        if index >= size {
            return Err(backend(format!(
                "entry {index} is not in the tree of size {size}"
            )));
        }
        self.check_size(store, size)?;
        self.ensure(store, size)?;
        let mut out = Vec::new();
        self.view(store, size).path(index, 0, size, &mut out)?;
        Ok(out)
    }

    /// The RFC 6962 consistency proof from the tree of the first `first` entries to that of
    /// the first `second` (0 < first ≤ second): the same hashes as
    /// `merkle::Tree::consistency_proof`.
    pub fn consistency_proof(
        &self,
        store: &SqliteStore,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        if first == 0 || first > second {
            return Err(backend(format!(
                "a consistency proof needs 0 < first ({first}) <= second ({second})"
            )));
        }
        self.check_size(store, second)?;
        self.ensure(store, second)?;
        let mut out = Vec::new();
        self.view(store, second)
            .subproof(first, 0, second, true, &mut out)?;
        Ok(out)
    }

    /// The bytes of tile (`level`, `index`, `width`) if it lies within the tree of `size`
    /// leaves ([`tile_within`]), else `None`.
    pub fn tile(
        &self,
        store: &SqliteStore,
        size: u64,
        level: u8,
        index: u64,
        width: u16,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if !tile_within(size, level, index, width) {
            return Ok(None);
        }
        self.check_size(store, size)?;
        let first = index * TILE;
        let hashes = if level == 0 {
            self.view(store, size).leaves(first, u64::from(width))?
        } else {
            self.ensure(store, size)?;
            self.view(store, size)
                .level(u32::from(level), first, u64::from(width))?
        };
        Ok(Some(hashes.concat()))
    }

    /// A full level-0 tile from the kept ones, or read and kept.
    fn full_leaf_tile(&self, store: &SqliteStore, tile: u64) -> Result<Arc<Vec<Hash>>, StoreError> {
        if let Some(t) = self
            .leaf_tiles
            .lock()
            .ok()
            .and_then(|k| k.tiles.get(&tile).cloned())
        {
            return Ok(t);
        }
        let leaves = Arc::new(store.leaf_range(tile * TILE, (tile + 1) * TILE)?);
        if self.leaf_tiles_kept > 0 {
            if let Ok(mut k) = self.leaf_tiles.lock() {
                if k.tiles.insert(tile, leaves.clone()).is_none() {
                    k.order.push_back(tile);
                }
                while k.order.len() > self.leaf_tiles_kept {
                    if let Some(old) = k.order.pop_front() {
                        k.tiles.remove(&old);
                    }
                }
            }
        }
        Ok(leaves)
    }
}

/// One computation over the tree of `size` leaves: the leaves of its last, partial tile are
/// read once.
struct View<'a> {
    t: &'a Transparency,
    store: &'a SqliteStore,
    size: u64,
    partial: Option<(u64, Vec<Hash>)>,
}

impl View<'_> {
    /// Leaf hashes `first..first + count` (all below the size).
    fn leaves(&mut self, first: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let end = first + count;
        let mut out = Vec::with_capacity(count as usize);
        let mut at = first;
        while at < end {
            let tile = at / TILE;
            let upto = end.min((tile + 1) * TILE);
            let (lo, hi) = ((at - tile * TILE) as usize, (upto - tile * TILE) as usize);
            if (tile + 1) * TILE <= self.size {
                let t = self.t.full_leaf_tile(self.store, tile)?;
                out.extend_from_slice(&t[lo..hi]);
            } else {
                if self.partial.as_ref().is_none_or(|(t, _)| *t != tile) {
                    let leaves = self.store.leaf_range(tile * TILE, self.size)?;
                    self.partial = Some((tile, leaves));
                }
                let part = self
                    .partial
                    .as_ref()
                    .map(|(_, l)| l.as_slice())
                    .unwrap_or(&[]);
                out.extend_from_slice(
                    part.get(lo..hi).ok_or_else(|| {
                        backend(format!("leaves {at}..{upto} are beyond the tree"))
                    })?,
                );
            }
            at = upto;
        }
        Ok(out)
    }

    /// Cached hashes `first..first + count` of `level` (≥ 1).
    fn level(&self, level: u32, first: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let upper = self.t.upper.read().map_err(|_| StoreError::Closed)?;
        upper
            .levels
            .get(level as usize - 1)
            .and_then(|l| l.get(first as usize..(first + count) as usize))
            .map(<[Hash]>::to_vec)
            .ok_or_else(|| {
                backend(format!(
                    "level-{level} hashes {first}+{count} are not cached"
                ))
            })
    }

    /// The root of the perfect subtree of 2^`height` leaves starting at `start` (a multiple
    /// of its size): one cached hash of level height/8, or the root of 2^(height mod 8)
    /// consecutive hashes of that level (leaves for level 0).
    fn perfect(&mut self, start: u64, height: u32) -> Result<Hash, StoreError> {
        let level = height / 8;
        let count = 1u64 << (height % 8);
        let first = start >> (8 * level);
        let hashes = if level == 0 {
            self.leaves(first, count)?
        } else {
            self.level(level, first, count)?
        };
        Ok(if count == 1 { hashes[0] } else { root(&hashes) })
    }

    /// MTH(D[lo:hi]) for the ranges RFC 6962's recursion makes (`lo < hi`; `lo` a multiple of
    /// the largest power of two below `hi - lo`).
    fn mth(&mut self, lo: u64, hi: u64) -> Result<Hash, StoreError> {
        let n = hi - lo;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            return self.perfect(lo, n.trailing_zeros());
        }
        let k = split(n);
        let left = self.mth(lo, lo + k)?;
        let right = self.mth(lo + k, hi)?;
        Ok(node_hash(&left, &right))
    }

    /// RFC 6962 PATH(m, D[start:end]).
    fn path(
        &mut self,
        m: u64,
        start: u64,
        end: u64,
        out: &mut Vec<Hash>,
    ) -> Result<(), StoreError> {
        let n = end - start;
        if n <= 1 {
            return Ok(());
        }
        let k = split(n);
        if m < k {
            self.path(m, start, start + k, out)?;
            out.push(self.mth(start + k, end)?);
        } else {
            self.path(m - k, start + k, end, out)?;
            out.push(self.mth(start, start + k)?);
        }
        Ok(())
    }

    /// RFC 6962 SUBPROOF(m, D[start:end], whole).
    fn subproof(
        &mut self,
        m: u64,
        start: u64,
        end: u64,
        whole: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), StoreError> {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(self.mth(start, end)?);
            }
            return Ok(());
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, out)?;
            out.push(self.mth(start + k, end)?);
        } else {
            self.subproof(m - k, start + k, end, false, out)?;
            out.push(self.mth(start, start + k)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use habeas_register::merkle::Tree;
    use habeas_register::note::Signer;
    use habeas_register::store::{LogSink, RegisterInfo, StoredCheckpoint, StoredCosignature};
    use habeas_register::tiles::{tile_bytes, tiles_for_size};
    use habeas_register::witness::CosignerKey;
    use habeas_register::{Draft, SealedEntry};
    use proptest::prelude::*;

    const ORIGIN: &str = "habeas.test/transparency";

    fn signer() -> Signer {
        Signer::from_seed(ORIGIN, [9; 32]).unwrap()
    }

    /// A register of `n` entries (no checkpoint) in a temporary directory.
    fn register(n: u64) -> (tempfile::TempDir, SqliteStore, Vec<Hash>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::create(
            &dir.path().join("r.db"),
            &RegisterInfo {
                origin: ORIGIN.into(),
                verifier: signer().verifier(),
            },
        )
        .unwrap();
        let entries: Vec<SealedEntry> = (0..n)
            .map(|i| {
                let draft = Draft {
                    actor: "a".into(),
                    facility: "F".into(),
                    kind: "test.note".into(),
                    subject: format!("s{i}"),
                    payload: serde_json::json!({}),
                    corrects: None,
                };
                let mut salt = [0u8; 16];
                salt[..8].copy_from_slice(&i.to_be_bytes());
                SealedEntry::seal(&draft, i, Timestamp(0), &salt).unwrap()
            })
            .collect();
        let leaves = entries.iter().map(|e| e.leaf).collect();
        let mut sink = store.sink().unwrap();
        for chunk in entries.chunks(5_000) {
            sink.import_batch(chunk).unwrap();
        }
        drop(sink);
        (dir, store, leaves)
    }

    fn checkpoint(store: &SqliteStore, tree: &Tree, size: u64) -> String {
        let note = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: tree.root_at(size).unwrap(),
        }
        .sign(&signer())
        .unwrap();
        let mut sink = store.sink().unwrap();
        sink.put_checkpoint(&StoredCheckpoint {
            size,
            made_at: Timestamp(size as i64),
            note: note.clone(),
        })
        .unwrap();
        note
    }

    /// A server started again reads the level-1 hashes it kept instead of every leaf hash,
    /// once the tree they make gives the latest checkpoint's root; changed ones are not used.
    #[test]
    fn the_tile_hashes_kept_in_a_file_spare_reading_the_leaves_and_are_checked() {
        let n = 70_000u64;
        let (dir, store, leaves) = register(n);
        let tree = Tree::from_leaves(leaves);
        checkpoint(&store, &tree, 69_000);
        let path = dir.path().join("r.db.tiles");
        let cached = || Transparency::without_witnesses().with_cache_file(path.clone());
        let agrees = |t: &Transparency| {
            for size in [1u64, 256, 65_536, 68_999, 69_000, 70_000] {
                assert_eq!(
                    t.root_at(&store, size).unwrap(),
                    tree.root_at(size).unwrap()
                );
                let index = size / 2;
                assert_eq!(
                    t.inclusion_proof(&store, index, size).unwrap(),
                    tree.inclusion_proof(index, size).unwrap()
                );
            }
        };
        // The first run reads every leaf of the full tiles (273 of them) and keeps their hashes.
        let first = cached();
        assert_eq!(first.warm(&store).unwrap(), n);
        assert_eq!(first.leaves_read(), 273 * 256);
        let kept = std::fs::read(&path).unwrap();
        assert_eq!(kept.len(), 273 * 32);
        agrees(&first);
        // Started again: the 269 tiles under the checkpoint are taken from the file, checked
        // with the 136 leaves after them up to the checkpoint; the 4 tiles after are read.
        let again = cached();
        again.warm(&store).unwrap();
        assert_eq!(again.leaves_read(), 136 + 4 * 256);
        assert_eq!(std::fs::read(&path).unwrap(), kept);
        agrees(&again);
        // One changed byte: the file is not used, and it is made again from the leaves.
        let mut changed = kept.clone();
        changed[100] ^= 1;
        std::fs::write(&path, &changed).unwrap();
        let third = cached();
        third.warm(&store).unwrap();
        assert_eq!(third.leaves_read(), 136 + 273 * 256);
        assert_eq!(std::fs::read(&path).unwrap(), kept);
        agrees(&third);
        // A file cut short in the middle of a hash: its whole hashes are used.
        std::fs::write(&path, &kept[..100 * 32 + 7]).unwrap();
        let fourth = cached();
        fourth.warm(&store).unwrap();
        assert_eq!(fourth.leaves_read(), (69_000 - 100 * 256) + 173 * 256);
        assert_eq!(std::fs::read(&path).unwrap(), kept);
        agrees(&fourth);
    }

    #[test]
    fn proofs_and_tiles_of_a_tree_of_three_levels_match_the_merkle_tree() {
        let n = 70_000u64;
        let (_dir, store, leaves) = register(n);
        let tree = Tree::from_leaves(leaves.clone());
        // A small leaf cache, to go through forgetting too.
        let t = Transparency::without_witnesses().with_leaf_tiles(4);
        assert_eq!(t.warm(&store).unwrap(), n);
        for size in [
            1u64, 2, 255, 256, 257, 65_535, 65_536, 65_537, 69_999, 70_000,
        ] {
            assert_eq!(
                t.root_at(&store, size).unwrap(),
                tree.root_at(size).unwrap()
            );
            for index in [0, size / 3, size / 2, size - 1] {
                assert_eq!(
                    t.inclusion_proof(&store, index, size).unwrap(),
                    tree.inclusion_proof(index, size).unwrap(),
                    "inclusion {index} in {size}"
                );
            }
            for first in [1, size / 2 + 1, size] {
                assert_eq!(
                    t.consistency_proof(&store, first, size).unwrap(),
                    tree.consistency_proof(first, size).unwrap(),
                    "consistency {first} to {size}"
                );
            }
        }
        // Every tile of the whole tree and of a smaller one; nothing beyond.
        for size in [n, 66_000] {
            for (l, i, w) in tiles_for_size(size) {
                assert_eq!(
                    t.tile(&store, size, l, i, w).unwrap().unwrap(),
                    tile_bytes(&leaves[..size as usize], l, i, w).unwrap(),
                    "tile {l}/{i}.p/{w} of {size}"
                );
            }
        }
        assert_eq!(t.tile(&store, n, 0, 273, 113).unwrap(), None);
        assert_eq!(t.tile(&store, n, 1, 1, 18).unwrap(), None);
        assert_eq!(t.tile(&store, n, 2, 0, 2).unwrap(), None);
        assert_eq!(t.tile(&store, n, 3, 0, 1).unwrap(), None);
        // An older partial tile, a prefix of the full one, is still served.
        assert_eq!(
            t.tile(&store, n, 0, 5, 17).unwrap().unwrap(),
            tile_bytes(&leaves[..5 * 256 + 17], 0, 5, 17).unwrap()
        );
        // Sizes and indexes out of range are refused.
        assert!(t.inclusion_proof(&store, 5, 5).is_err());
        assert!(t.inclusion_proof(&store, 0, n + 1).is_err());
        assert!(t.consistency_proof(&store, 0, 5).is_err());
        assert!(t.consistency_proof(&store, 6, 5).is_err());
    }

    #[test]
    fn the_cache_grows_with_the_register() {
        let (_dir, store, leaves) = register(1_000);
        let tree = Tree::from_leaves(leaves.clone());
        let t = Transparency::without_witnesses();
        // Asked about a small tree first: only that much is computed.
        assert_eq!(
            t.inclusion_proof(&store, 3, 300).unwrap(),
            tree.inclusion_proof(3, 300).unwrap()
        );
        assert_eq!(t.upper.read().unwrap().covered, 256);
        assert_eq!(
            t.inclusion_proof(&store, 999, 1_000).unwrap(),
            tree.inclusion_proof(999, 1_000).unwrap()
        );
        assert_eq!(t.upper.read().unwrap().covered, 768);
        assert_eq!(t.upper.read().unwrap().levels[0].len(), 3);
    }

    #[test]
    fn the_published_checkpoint_without_and_with_witnesses() {
        let (_dir, store, leaves) = register(600);
        let tree = Tree::from_leaves(leaves);
        let t = Transparency::without_witnesses();
        assert_eq!(t.published(&store).unwrap(), None);
        let note = checkpoint(&store, &tree, 300);
        let p = t.published(&store).unwrap().unwrap();
        assert_eq!((p.size, p.root), (300, tree.root_at(300).unwrap()));
        assert_eq!(p.note, note);
        assert!(p.cosigners.is_empty());
        let n600 = checkpoint(&store, &tree, 600);
        assert_eq!(t.published(&store).unwrap().unwrap().note, n600);

        // Two witnesses, both required.
        let a = CosignerKey::from_seed("habeas.test/witness/a", [1; 32]).unwrap();
        let b = CosignerKey::from_seed("habeas.test/witness/b", [2; 32]).unwrap();
        let wit = |k: &CosignerKey| {
            Witness::parse(&format!("{}@http://127.0.0.1:9", k.verifier()), true).unwrap()
        };
        let both = Transparency::new(vec![wit(&a), wit(&b)], None).unwrap();
        assert_eq!(both.quorum(), 2);
        assert_eq!(both.published(&store).unwrap(), None);
        let cosign = |k: &CosignerKey, size: u64, note: &str| {
            let text = note.split("\n\n").next().unwrap().to_owned() + "\n";
            StoredCosignature {
                size,
                witness: k.verifier().to_string(),
                timestamp: 1_767_225_600,
                line: k.cosign(&text, 1_767_225_600).unwrap(),
            }
        };
        store
            .put_cosignatures(&[
                cosign(&a, 300, &note),
                cosign(&b, 300, &note),
                cosign(&a, 600, &n600),
            ])
            .unwrap();
        let p = both.refresh(&store).unwrap().unwrap();
        assert_eq!(p.size, 300);
        assert_eq!(
            p.cosigners,
            ["habeas.test/witness/a", "habeas.test/witness/b"]
        );
        assert!(p.note.starts_with(&note));
        assert_eq!(p.note.lines().count(), note.lines().count() + 2);
        verify_cosignature(&p.note, &a.verifier()).unwrap();
        verify_cosignature(&p.note, &b.verifier()).unwrap();
        Checkpoint::open(&p.note, &signer().verifier()).unwrap();
        // One of two suffices with a quorum of one: the larger checkpoint.
        let one = Transparency::new(vec![wit(&a), wit(&b)], Some(1)).unwrap();
        let p = one.published(&store).unwrap().unwrap();
        assert_eq!((p.size, p.cosigners.len()), (600, 1));
        // A kept cosignature that does not verify is damage, said as such.
        let c = cosign(&b, 600, &note);
        store.put_cosignatures(&[c]).unwrap();
        assert!(matches!(both.refresh(&store), Err(StoreError::Corrupt(_))));

        assert!(Transparency::new(vec![wit(&a), wit(&a)], None).is_err());
        assert!(Transparency::new(vec![wit(&a)], Some(2)).is_err());
        assert!(Transparency::new(vec![wit(&a)], Some(0)).is_err());
        assert!(Transparency::new(vec![], Some(1)).is_err());
    }

    #[test]
    fn witnesses_parse_from_the_command_line() {
        let a = CosignerKey::from_seed("habeas.test/witness/a", [1; 32]).unwrap();
        let v = a.verifier().to_string();
        let w = Witness::parse(&format!("{v}@http://127.0.0.1:7380/"), true).unwrap();
        assert_eq!(w.name, "habeas.test/witness/a");
        assert_eq!(w.url.as_deref(), Some("http://127.0.0.1:7380"));
        assert_eq!(w.key, a.verifier());
        assert!(Witness::parse(&v, true).is_err());
        assert_eq!(Witness::parse(&v, false).unwrap().url, None);
        assert!(Witness::parse(&format!("{v}@https://x"), true).is_err());
        assert!(Witness::parse(&format!("{v}@http://"), true).is_err());
        // A register's key is not a witness's.
        let reg = signer().verifier().to_string();
        assert!(Witness::parse(&format!("{reg}@http://127.0.0.1:1"), true).is_err());
    }

    #[test]
    fn tiles_within_a_size() {
        assert!(tile_within(70_000, 0, 272, 256));
        assert!(tile_within(70_000, 0, 273, 112));
        assert!(tile_within(70_000, 0, 273, 1));
        assert!(!tile_within(70_000, 0, 273, 113));
        assert!(!tile_within(70_000, 0, 273, 256));
        assert!(tile_within(70_000, 2, 0, 1));
        assert!(!tile_within(70_000, 2, 0, 2));
        assert!(!tile_within(70_000, 0, 0, 0));
        assert!(!tile_within(70_000, 0, 0, 257));
        assert!(!tile_within(u64::MAX, 0, u64::MAX, 256));
        assert!(!tile_within(u64::MAX, 63, 0, 1));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// For registers of random sizes across tile boundaries, every inclusion and
        /// consistency proof is merkle::Tree's.
        #[test]
        fn proofs_equal_the_merkle_trees(n in 1u64..1_400, picks in proptest::collection::vec(any::<u64>(), 24)) {
            let (_dir, store, leaves) = register(n);
            let tree = Tree::from_leaves(leaves);
            let t = Transparency::without_witnesses().with_leaf_tiles(2);
            for pair in picks.chunks(2) {
                let size = 1 + pair[0] % n;
                let index = pair[1] % size;
                prop_assert_eq!(
                    t.inclusion_proof(&store, index, size).unwrap(),
                    tree.inclusion_proof(index, size).unwrap()
                );
                let first = 1 + pair[1] % size;
                prop_assert_eq!(
                    t.consistency_proof(&store, first, size).unwrap(),
                    tree.consistency_proof(first, size).unwrap()
                );
                prop_assert_eq!(t.root_at(&store, size).unwrap(), tree.root_at(size).unwrap());
            }
        }
    }
}
