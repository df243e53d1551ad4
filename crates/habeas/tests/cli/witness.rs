//! `habeas witness`: the real binary on a real socket, cosigning a growing register, refusing
//! a fork and a rewritten history, and keeping its state across a crash.

use crate::support::bin;
use habeas_register::merkle::{leaf_hash, Tree};
use habeas_register::note::{Checkpoint, Signer};
use habeas_register::witness::{verify_cosignature, AddCheckpoint, CosignVerifierKey};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

const ORIGIN: &str = "habeas.test/register/witnessed";

/// A witness process, killed when dropped (also when a test fails).
struct Running {
    child: Child,
    /// The rest of its standard output (kept open: it prints `stopped` when it stops).
    lines: std::io::Lines<BufReader<ChildStdout>>,
    url: String,
    vkey: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, register_vkey: &str) -> Running {
    let mut child = bin()
        .current_dir(dir)
        .args([
            "witness",
            "serve",
            "--key",
            "witness.key",
            "--db",
            "witness.db",
            "--log",
            &format!("{ORIGIN}={register_vkey}"),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut vkey = None;
    let mut witnessing = None;
    let url = loop {
        let line = lines
            .next()
            .expect("the witness stopped before listening")
            .unwrap();
        if let Some(k) = line.strip_prefix("verifier key: ") {
            vkey = Some(k.to_owned());
        } else if let Some(o) = line.strip_prefix("witnessing: ") {
            witnessing = Some(o.to_owned());
        } else if let Some(addr) = line.strip_prefix("listening on ") {
            break addr.to_owned();
        }
    };
    assert_eq!(witnessing.as_deref(), Some(ORIGIN));
    Running {
        child,
        lines,
        url,
        vkey: vkey.expect("the witness prints its verifier key"),
    }
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

fn post(url: &str, body: &str) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut resp = agent
        .post(format!("{url}/add-checkpoint"))
        .send(body)
        .unwrap();
    Answer {
        status: resp.status().as_u16(),
        content_type: resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        body: resp.body_mut().read_to_string().unwrap(),
    }
}

fn tree(n: u64, salt: &str) -> Tree {
    Tree::from_leaves(
        (0..n)
            .map(|i| leaf_hash(format!("{{\"entry\":{i},\"salt\":\"{salt}\"}}").as_bytes()))
            .collect(),
    )
}

fn request(tree: &Tree, old: u64, size: u64, signer: &Signer) -> AddCheckpoint {
    AddCheckpoint {
        old_size: old,
        proof: if old == 0 || old == size {
            vec![]
        } else {
            tree.consistency_proof(old, size).unwrap()
        },
        note: Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root: tree.root_at(size).unwrap(),
        }
        .sign(signer)
        .unwrap(),
    }
}

/// Sends `req`, expects a cosignature by `vkey` and returns its timestamp.
fn cosigned(w: &Running, req: &AddCheckpoint, vkey: &CosignVerifierKey) -> u64 {
    let a = post(&w.url, &req.to_body());
    assert_eq!(a.status, 200, "{}", a.body);
    verify_cosignature(&format!("{}{}", req.note, a.body), vkey).unwrap()
}

/// What the witness's database holds for the register: (size, root).
fn held(dir: &Path) -> (u64, Vec<u8>) {
    let conn = rusqlite::Connection::open(dir.join("witness.db")).unwrap();
    conn.query_row(
        "SELECT size, root FROM witness_logs WHERE origin = ?1",
        [ORIGIN],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn cosigns_a_growing_register_refuses_forks_and_rewrites_and_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let register = Signer::from_seed(ORIGIN, [21; 32]).unwrap();
    let register_vkey = register.verifier().to_string();

    // A new cosigner key: mode 0600, never overwritten.
    let mut keygen = bin();
    keygen.current_dir(dir.path()).args([
        "witness",
        "keygen",
        "--name",
        "habeas.test/witness",
        "--out",
        "witness.key",
    ]);
    let r: crate::support::Run = keygen.output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let printed = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("verifier key: "))
        .expect("keygen prints the verifier key")
        .to_owned();
    let vkey = CosignVerifierKey::parse(&printed).unwrap();
    assert_eq!(vkey.name(), "habeas.test/witness");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("witness.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again: crate::support::Run = keygen.output().unwrap().into();
    assert_ne!(again.code, 0, "keygen overwrote a key");

    // Not without a key, and not on a register's file.
    let mut bad = bin();
    bad.current_dir(dir.path()).args([
        "witness",
        "serve",
        "--db",
        "w2.db",
        "--log",
        &format!("{ORIGIN}={register_vkey}"),
    ]);
    let r: crate::support::Run = bad.output().unwrap().into();
    assert!(r.code != 0 && r.stderr.contains("--key"), "{}", r.stderr);
    rusqlite::Connection::open(dir.path().join("register.db"))
        .unwrap()
        .execute_batch("CREATE TABLE register_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .unwrap();
    let mut bad = bin();
    bad.current_dir(dir.path()).args([
        "witness",
        "serve",
        "--key",
        "witness.key",
        "--db",
        "register.db",
        "--log",
        &format!("{ORIGIN}={register_vkey}"),
    ]);
    let r: crate::support::Run = bad.output().unwrap().into();
    assert!(
        r.code != 0 && r.stderr.contains("holds a register"),
        "{}",
        r.stderr
    );

    let w = start(dir.path(), &register_vkey);
    assert_eq!(w.vkey, printed);

    // A growing register: first contact at size 5, then extensions with proofs.
    let real = tree(1000, "real");
    let ts = cosigned(&w, &request(&real, 0, 5, &register), &vkey);
    assert!(ts > 1_700_000_000, "the timestamp is POSIX seconds: {ts}");
    cosigned(&w, &request(&real, 5, 17, &register), &vkey);
    cosigned(&w, &request(&real, 17, 300, &register), &vkey);
    // The same checkpoint again is cosigned again.
    cosigned(&w, &request(&real, 300, 300, &register), &vkey);
    assert_eq!(held(dir.path()), (300, real.root_at(300).unwrap().to_vec()));

    // A fork: another tree of the same size, validly signed by the register.
    let forged = tree(1000, "forged");
    let fork = post(&w.url, &request(&forged, 300, 300, &register).to_body());
    assert_eq!(fork.status, 409, "{}", fork.body);
    assert_eq!(fork.content_type, "text/x.tlog.size");
    assert_eq!(fork.body, "300\n");
    // A rewrite: a larger tree that does not contain the one the witness holds.
    let rewrite = post(&w.url, &request(&forged, 300, 400, &register).to_body());
    assert_eq!(rewrite.status, 422, "{}", rewrite.body);
    // A stale old size: 409 with the size the witness holds.
    let stale = post(&w.url, &request(&real, 17, 400, &register).to_body());
    assert_eq!(
        (
            stale.status,
            stale.content_type.as_str(),
            stale.body.as_str()
        ),
        (409, "text/x.tlog.size", "300\n")
    );
    // Unknown log, wrong key, old size beyond the checkpoint, garbage.
    let stranger = Signer::from_seed("habeas.test/register/stranger", [21; 32]).unwrap();
    assert_eq!(
        post(&w.url, &request(&real, 0, 5, &stranger).to_body()).status,
        404
    );
    let impostor = Signer::from_seed(ORIGIN, [22; 32]).unwrap();
    assert_eq!(
        post(&w.url, &request(&real, 300, 400, &impostor).to_body()).status,
        403
    );
    let mut beyond = request(&real, 300, 400, &register);
    beyond.old_size = 401;
    beyond.proof.clear();
    assert_eq!(post(&w.url, &beyond.to_body()).status, 400);
    assert_eq!(post(&w.url, "old 300\n").status, 400);
    assert_eq!(post(&w.url, "hello").status, 400);
    // None of that changed what the witness holds.
    assert_eq!(held(dir.path()), (300, real.root_at(300).unwrap().to_vec()));
    let conn = rusqlite::Connection::open(dir.path().join("witness.db")).unwrap();
    let evidence: i64 = conn
        .query_row("SELECT count(*) FROM witness_evidence", [], |r| r.get(0))
        .unwrap();
    assert_eq!(evidence, 2, "the fork and the rewrite are kept as evidence");
    drop(conn);

    // A crash (SIGKILL), then a restart on the same database.
    drop(w);
    let w = start(dir.path(), &register_vkey);
    let fork = post(&w.url, &request(&forged, 300, 300, &register).to_body());
    assert_eq!((fork.status, fork.body.as_str()), (409, "300\n"));
    let rewrite = post(&w.url, &request(&forged, 300, 500, &register).to_body());
    assert_eq!(rewrite.status, 422);
    cosigned(&w, &request(&real, 300, 500, &register), &vkey);
    assert_eq!(held(dir.path()), (500, real.root_at(500).unwrap().to_vec()));

    // SIGTERM stops it gracefully.
    let mut w = w;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &w.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(w.child.wait().unwrap().success());
    assert_eq!(w.lines.next().unwrap().unwrap(), "stopped");
}
