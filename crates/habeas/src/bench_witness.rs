//! `habeas bench witness`: checkpoints per second through a witness round, against signing
//! them alone. A register of 100,000 entries grows by a few entries per checkpoint; each
//! checkpoint is signed and stored, then taken through the round `habeas serve` runs for each
//! witness (`witnessing::Round::cosign`): the consistency proof from the witness's size
//! (computed from the cached tree), the add-checkpoint exchange over a real socket with a
//! real `habeas witness serve` process (which verifies the register's signature and the proof,
//! cosigns and commits its state durably before answering), the cosignature verified, kept
//! durably beside the checkpoint, and the published checkpoint worked out again.
//!
//! * `witness.round`: against the baseline of signing the same checkpoints alone (an Ed25519
//!   signature of the checkpoint note);
//! * `witness.round_vs_commit`: against signing each checkpoint and committing it durably,
//!   what the writer does for a checkpoint of its own;
//! * `witness.proof_p99`: the slowest hundredth of inclusion proofs of entries spread over the
//!   register, from a fresh cache (`Transparency::inclusion_proof`, as the whereabouts answer
//!   proves its entries), against the bar of 20 ms (the ratio is 20 ms over the p99).

use crate::bench::{figure, report, Figure};
use crate::system::{key_seed, Stopwatch, SystemClock};
use crate::witnessing::Round;
use anyhow::{bail, Context as _, Result};
use habeas_register::note::{Checkpoint, Signer};
use habeas_register::store::{LogSink, RegisterInfo, StoredCheckpoint};
use habeas_register::witness::CosignerKey;
use habeas_register::{Draft, SealedEntry, Timestamp};
use habeas_store_sqlite::SqliteStore;
use habeas_web::transparency::{Transparency, Witness};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

pub const WITNESS_BASELINE: &str = "witness: the same checkpoints signed alone (Ed25519 over the note); round_vs_commit: signed and committed durably (SQLite, synchronous=FULL), as the writer does for its own; proof_p99 against the bar of 20 ms";

#[derive(Debug, Clone, clap::Args)]
pub struct WitnessBenchArgs {
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Entries in the register before the first checkpoint.
    #[arg(long, default_value_t = 100_000)]
    entries: u64,
    /// Checkpoints per run.
    #[arg(long, default_value_t = 200)]
    checkpoints: u64,
    /// Entries added before each checkpoint.
    #[arg(long, default_value_t = 16)]
    between: u64,
    /// Inclusion proofs timed per run.
    #[arg(long, default_value_t = 2_000)]
    proofs: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

impl WitnessBenchArgs {
    pub fn defaults(runs: usize) -> Self {
        Self {
            json: None,
            entries: 100_000,
            checkpoints: 200,
            between: 16,
            proofs: 2_000,
            runs,
        }
    }
}

pub fn witness(args: &WitnessBenchArgs) -> Result<ExitCode> {
    let figures = witness_figures(args)?;
    report(&figures, args.json.as_deref(), &[WITNESS_BASELINE])
}

/// The `habeas witness serve` process, stopped when this goes.
struct WitnessProcess {
    child: std::process::Child,
    url: String,
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_witness(
    dir: &Path,
    origin: &str,
    register: &Signer,
) -> Result<(WitnessProcess, CosignerKey)> {
    let key = CosignerKey::from_seed("habeas.bench/witness", key_seed()?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let key_path = dir.join("witness.key");
    crate::open::write_secret_file(&key_path, &key.to_secret_string())?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["witness", "serve", "--key"])
        .arg(&key_path)
        .arg("--db")
        .arg(dir.join("witness.db"))
        .args([
            "--log",
            &format!("{origin}={}", register.verifier()),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start habeas witness serve")?;
    let out = child.stdout.take().context("the witness's output")?;
    let mut url = None;
    for line in std::io::BufReader::new(out).lines() {
        let line = line?;
        if let Some(addr) = line.strip_prefix("listening on ") {
            url = Some(addr.to_owned());
            break;
        }
    }
    let Some(url) = url else {
        let _ = child.kill();
        bail!("the witness stopped before listening");
    };
    Ok((WitnessProcess { child, url }, key))
}

fn entries(from: u64, n: u64) -> Result<Vec<SealedEntry>> {
    (from..from + n)
        .map(|i| {
            let draft = Draft {
                actor: "bench".into(),
                facility: "CECOT".into(),
                kind: "logbook.note".into(),
                subject: "facility:CECOT".into(),
                payload: serde_json::json!({"text": format!("Recuento {i}: sin novedad.")}),
                corrects: None,
            };
            let mut salt = [0u8; 16];
            salt[..8].copy_from_slice(&i.to_be_bytes());
            SealedEntry::seal(&draft, i, Timestamp(1_767_225_600_000), &salt)
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect()
}

pub(crate) fn witness_figures(args: &WitnessBenchArgs) -> Result<Vec<Figure>> {
    let dir = std::env::temp_dir().join(format!("habeas-bench-witness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = (0..args.runs.max(1))
        .map(|run| {
            let d = dir.join(format!("run-{run}"));
            std::fs::create_dir_all(&d)?;
            one_run(args, &d, run)
        })
        .collect::<Result<Vec<_>>>();
    let _ = std::fs::remove_dir_all(&dir);
    let runs = result?;
    let signing: Vec<(f64, f64)> = runs.iter().map(|r| (r.0, r.1)).collect();
    let commit: Vec<(f64, f64)> = runs.iter().map(|r| (r.0, r.2)).collect();
    let proofs: Vec<(f64, f64)> = runs.iter().map(|r| (20.0 / r.3.max(1e-6), 1.0)).collect();
    Ok(vec![
        figure("witness.round", "ckpts/s", 0.0, &signing),
        figure("witness.round_vs_commit", "ckpts/s", 0.0, &commit),
        figure("witness.proof_p99", "20ms/p99", 1.0, &proofs),
    ])
}

/// One run: (checkpoints/s through the round, signed alone, signed and committed, the p99 of
/// an inclusion proof in ms).
fn one_run(args: &WitnessBenchArgs, dir: &Path, run: usize) -> Result<(f64, f64, f64, f64)> {
    let origin = "habeas.bench/witnessed";
    let signer = Signer::from_seed(origin, [7; 32]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Arc::new(
        SqliteStore::create(
            &dir.join("register.db"),
            &RegisterInfo {
                origin: origin.into(),
                verifier: signer.verifier(),
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let mut sink = store.sink().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut size = 0u64;
    while size < args.entries {
        let n = (args.entries - size).min(5_000);
        sink.import_batch(&entries(size, n)?)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        size += n;
    }
    let mut tree = habeas_register::merkle::Tree::from_leaves(
        store
            .leaf_range(0, size)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let (witness, cosigner) = start_witness(dir, origin, &signer)?;
    let w = Witness::parse(&format!("{}@{}", cosigner.verifier(), witness.url), true)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let transparency =
        Arc::new(Transparency::new(vec![w], None).map_err(|e| anyhow::anyhow!("{e}"))?);
    transparency
        .warm(&store)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let round = Round::new(
        transparency.clone(),
        store.clone(),
        None,
        Arc::new(SystemClock),
    );
    let sign = |tree: &habeas_register::merkle::Tree, size: u64| -> Result<String> {
        Checkpoint {
            origin: origin.into(),
            size,
            root: tree.root_at(size)?,
        }
        .sign(&signer)
        .map_err(|e| anyhow::anyhow!("{e}"))
    };
    // The round: the register grows (not timed), then a checkpoint is signed, stored and
    // taken through the witness, and the published checkpoint worked out again (timed).
    let mut old = 0u64;
    let mut timed = 0.0;
    let mut stored = Vec::new();
    for k in 0..args.checkpoints {
        let batch = entries(size, args.between)?;
        for e in &batch {
            tree.push(e.leaf);
        }
        sink.import_batch(&batch)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        size += args.between;
        let clock = Stopwatch::start();
        let cp = StoredCheckpoint {
            size,
            made_at: Timestamp(1_767_225_600_000 + k as i64),
            note: sign(&tree, size)?,
        };
        sink.put_checkpoint(&cp)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        round
            .cosign(0, &cp, &mut old)
            .map_err(|e| anyhow::anyhow!("checkpoint {size}: {e}"))?;
        transparency
            .refresh(&store)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        timed += clock.secs();
        stored.push(size);
    }
    let round_rate = args.checkpoints as f64 / timed;
    let published = transparency
        .published(&store)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .context("a published checkpoint")?;
    if published.size != size || published.cosigners.len() != 1 {
        bail!("the last checkpoint was not published with its cosignature");
    }
    // Signing alone, the same checkpoints.
    let clock = Stopwatch::start();
    for s in &stored {
        std::hint::black_box(sign(&tree, *s)?);
    }
    let signing_rate = stored.len() as f64 / clock.secs();
    // Signed and committed durably, as the writer stores its own.
    let clock = Stopwatch::start();
    for (k, s) in stored.iter().enumerate() {
        let cp = StoredCheckpoint {
            size: *s,
            made_at: Timestamp(1_767_225_700_000 + k as i64),
            note: sign(&tree, *s)?,
        };
        sink.put_checkpoint(&cp)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let commit_rate = stored.len() as f64 / clock.secs();
    // Inclusion proofs in the published tree, as the whereabouts answer asks for them: entries
    // spread over the whole register, with a fresh cache (only the hashes above the leaves
    // computed ahead, as at the server's start), so that most leaf tiles are read.
    let proofs = Transparency::without_witnesses();
    proofs.warm(&store).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut times = Vec::with_capacity(args.proofs);
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ run as u64;
    for _ in 0..args.proofs {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let index = x % size;
        let clock = Stopwatch::start();
        let proof = proofs
            .inclusion_proof(&store, index, size)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(clock.secs() * 1000.0);
        if !habeas_register::merkle::verify_inclusion(
            index,
            size,
            &tree.leaf(index).unwrap_or_default(),
            &proof,
            &published.root,
        ) {
            bail!("the inclusion proof of {index} does not verify");
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        times
            .get(((times.len() as f64 * p) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let (p50, p99) = (pct(0.5), pct(0.99));
    eprintln!(
        "  run {}: {round_rate:.0} checkpoints/s through the witness round, {signing_rate:.0}/s signed alone ({:.4}), {commit_rate:.0}/s signed and committed ({:.3})",
        run + 1,
        round_rate / signing_rate,
        round_rate / commit_rate
    );
    eprintln!(
        "  run {}: inclusion proofs in the tree of {size}: p50 {p50:.3} ms, p99 {p99:.3} ms",
        run + 1
    );
    drop(witness);
    drop(sink);
    Ok((round_rate, signing_rate, commit_rate, p99))
}
