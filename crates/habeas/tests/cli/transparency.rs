//! The register's tree in public and its witnesses, end to end over real sockets: a real
//! `habeas serve` sending its checkpoints to a real `habeas witness serve`; `/checkpoint` with
//! the cosignature and `/tile/…` read by the independent Python client (tools/tlog_client.py)
//! before and after the register grows; writing going on while the witness is down, and the
//! published checkpoint catching up once it is back; a fork (a restored backup written
//! differently) refused by the witness and reported; `habeas publish` and `habeas verify
//! --witness`; the same round on PostgreSQL.

use crate::support::{bin, fed, Reg, Run};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const ORIGIN: &str = "habeas.test/register/cli";
const WITNESS: &str = "habeas.test/witness";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A process killed when dropped (also when a test fails).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Killed {
    /// SIGTERM, and it exits successfully.
    fn stop(mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(self.0.wait().unwrap().success());
    }
}

/// A witness key in `dir` (`witness.key`); its verifier key.
fn witness_key(dir: &Path) -> String {
    let r: Run = bin()
        .current_dir(dir)
        .args([
            "witness",
            "keygen",
            "--name",
            WITNESS,
            "--out",
            "witness.key",
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .find_map(|l| l.strip_prefix("verifier key: "))
        .unwrap()
        .to_owned()
}

/// `habeas witness serve` on `dir/witness.db` for the register `register_vkey`, on `listen`;
/// the process and its URL.
fn witness(dir: &Path, register_vkey: &str, listen: &str) -> (Killed, String) {
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
            listen,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the witness stopped").unwrap();
        if let Some(u) = line.strip_prefix("listening on ") {
            break u.to_owned();
        }
    };
    (Killed(child), url)
}

/// `habeas serve` in `dir` with `extra` options first (e.g. a PostgreSQL register's); its
/// process, address and standard error (read on a thread, as it comes).
fn serve(
    mut cmd: std::process::Command,
    witness: &str,
) -> (Killed, String, std::sync::Arc<std::sync::Mutex<String>>) {
    let mut child = cmd
        .env("HABEAS_LOG", "warn")
        .args([
            "--checkpoint-interval",
            "1",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--witness",
            witness,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = err.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line:?}: {}", err.lock().unwrap()))
        .to_owned();
    (Killed(child), addr, err)
}

struct Answer {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// One HTTP/1.1 request (`Connection: close`), read whole.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        body = out;
    }
    Answer {
        status,
        headers: head,
        body,
    }
}

fn get(addr: &str, path: &str) -> Answer {
    request(addr, "GET", path, &[], "")
}

/// The tree size in a checkpoint note.
fn size_of(note: &str) -> u64 {
    note.lines().nth(1).unwrap().parse().unwrap()
}

/// Waits (up to a minute) until `/checkpoint` serves a checkpoint of at least `size`; its note.
fn published(addr: &str, size: u64) -> String {
    for _ in 0..600 {
        let a = get(addr, "/checkpoint");
        if a.status == 200 && size_of(&a.text()) >= size {
            return a.text();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no checkpoint of size {size} was published");
}

/// Runs the Python client; its output.
fn tlog(args: &[&str]) -> Run {
    std::process::Command::new("python3")
        .arg(repo().join("tools/tlog_client.py"))
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// Notes written through the running server (its control socket), or the command line's own
/// writer when none runs.
fn notes(reg: &Reg, n: usize, text: &str) {
    for i in 0..n {
        reg.note(&format!("{text} {i}"));
    }
}

/// An inspector (second factor) made before the server starts: its TOTP secret.
fn inspector(dir: &Path) -> String {
    let mut add = bin();
    add.current_dir(dir)
        .args(["user", "add", "--username", "ines", "--role", "inspector"]);
    let r = fed(add, "clave-de-inspeccion-7\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

/// Signs the inspector in; the session cookie.
fn sign_in(addr: &str, secret: &str) -> String {
    sign_in_as(addr, "ines", "clave-de-inspeccion-7", secret)
}

/// Signs an account with a second factor in; the session cookie.
fn sign_in_as(addr: &str, username: &str, password: &str, secret: &str) -> String {
    #[expect(
        clippy::disallowed_methods,
        reason = "the server's clock checks the code"
    )]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = habeas_web::auth::totp_code(secret, now).unwrap();
    let a = request(
        addr,
        "POST",
        "/api/session",
        &[],
        &format!(r#"{{"username":"{username}","password":"{password}","code":"{code}"}}"#),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    a.header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn tiles_and_cosigned_checkpoints_over_real_sockets_with_a_witness_that_goes_down_and_comes_back() {
    let reg = Reg::init(&[]);
    let wdir = tempfile::tempdir().unwrap();
    let wkey = witness_key(wdir.path());
    // 600 entries before the server: two full level-0 tiles.
    reg.ok(&["stress-append", "--threads", "4", "--count", "600"]);
    let (w, wurl) = witness(wdir.path(), &reg.verifier_key, "127.0.0.1:0");
    let mut cmd = bin();
    cmd.current_dir(reg.dir.path());
    let (server, addr, err) = serve(cmd, &format!("{wkey}@{wurl}"));

    // The first checkpoint the server signs (within a second) is cosigned and published.
    let note = published(&addr, 600);
    assert_eq!(size_of(&note), 600);
    let cosigned = note
        .lines()
        .filter(|l| l.starts_with(&format!("\u{2014} {WITNESS} ")))
        .count();
    assert_eq!(cosigned, 1, "{note}");
    assert!(note.starts_with(&format!("{ORIGIN}\n600\n")), "{note}");
    let a = get(&addr, "/checkpoint");
    assert_eq!(
        a.header("cache-control").as_deref(),
        Some("public, max-age=5")
    );
    assert!(a.header("content-type").unwrap().starts_with("text/plain"));

    // Tiles: full ones immutable; an earlier partial one still there; nothing beyond the
    // published tree; no entries; no other spelling.
    let t = get(&addr, "/tile/0/001");
    assert_eq!(t.status, 200);
    assert_eq!(t.body.len(), 8192);
    assert_eq!(
        t.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        t.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    let p = get(&addr, "/tile/0/002.p/88");
    assert_eq!((p.status, p.body.len()), (200, 88 * 32));
    assert_eq!(
        p.header("cache-control").as_deref(),
        Some("public, max-age=86400")
    );
    assert_eq!(get(&addr, "/tile/0/002.p/10").body, p.body[..320]);
    assert_eq!(get(&addr, "/tile/1/000.p/2").body.len(), 64);
    for missing in [
        "/tile/0/002.p/89",
        "/tile/0/002",
        "/tile/0/003.p/1",
        "/tile/1/000.p/3",
        "/tile/0/0",
        "/tile/0/001.p/256",
    ] {
        let a = get(&addr, missing);
        assert_eq!(a.status, 404, "{missing}");
        assert_eq!(
            a.header("cache-control").as_deref(),
            Some("no-store"),
            "{missing}"
        );
    }
    let e = get(&addr, "/tile/entries/000");
    assert_eq!(e.status, 404);
    assert!(e.text().contains("not public"), "{}", e.text());
    assert!(get(&addr, "/tile/entries/x001/000.p/3")
        .text()
        .contains("personal data"));
    // An entry's bytes are nowhere in a tile: only their hashes.
    let entry = reg.ok(&["entry", "256"]).stdout;
    let leaf = habeas_register::merkle::leaf_hash(entry.trim_end_matches('\n').as_bytes());
    assert_eq!(t.body[..32], leaf);

    // The independent client: the whole tree against the cosigned checkpoint, remembered.
    let state = reg.path("tlog.state");
    let url = format!("http://{addr}/");
    let check = |witness: &str| {
        tlog(&[
            "check",
            "--url",
            &url,
            "--key",
            &reg.verifier_key,
            "--witness",
            witness,
            "--state",
            state.to_str().unwrap(),
        ])
    };
    let r = check(&wkey);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("OK size=600") && r.stdout.contains("witnesses=1/1"),
        "{}",
        r.stdout
    );
    // Another witness's key is not satisfied.
    let other = witness_key(reg.dir.path());
    let r = tlog(&[
        "check",
        "--url",
        &url,
        "--key",
        &reg.verifier_key,
        "--witness",
        &other,
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);

    // More entries, through the server; the next checkpoint is cosigned from the witness's
    // size with a consistency proof, and the client proves it extends what it saw.
    notes(&reg, 3, "con testigo");
    let note = published(&addr, 603);
    assert_eq!(size_of(&note), 603);
    let r = check(&wkey);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK size=603"), "{}", r.stdout);
    // An entry's inclusion, proven from the tiles; a wrong leaf is not.
    let proof: serde_json::Value = serde_json::from_str(
        &reg.ok(&["proof", "inclusion", "601", "--size", "603"])
            .stdout,
    )
    .unwrap();
    let leaf_hex = proof["leaf_hash"].as_str().unwrap();
    let prove = |hex: &str| {
        tlog(&[
            "prove-inclusion",
            "--url",
            &url,
            "--key",
            &reg.verifier_key,
            "--witness",
            &wkey,
            "--index",
            "601",
            "--leaf-hash",
            hex,
        ])
    };
    let r = prove(leaf_hex);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let printed: serde_json::Value =
        serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(printed["proof"], proof["proof"]);
    let wrong = format!(
        "{}{}",
        if leaf_hex.starts_with('0') { "1" } else { "0" },
        &leaf_hex[1..]
    );
    assert_eq!(prove(&wrong).code, 1);

    // The witness goes down: writing goes on, the published checkpoint stays.
    let wport = wurl.rsplit(':').next().unwrap().to_owned();
    drop(w);
    notes(&reg, 4, "sin testigo");
    reg.ok(&["checkpoint"]);
    assert_eq!(reg.size(), 607);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(size_of(&get(&addr, "/checkpoint").text()), 603);
    assert!(
        err.lock().unwrap().contains(&format!("witness {WITNESS}:")),
        "{}",
        err.lock().unwrap()
    );
    // It comes back on the same address with its state: the server catches up.
    let (w, _) = witness(
        wdir.path(),
        &reg.verifier_key,
        &format!("127.0.0.1:{wport}"),
    );
    let note = published(&addr, 607);
    assert_eq!(size_of(&note), 607);
    let held: i64 = rusqlite::Connection::open(wdir.path().join("witness.db"))
        .unwrap()
        .query_row(
            "SELECT size FROM witness_logs WHERE origin = ?1",
            [ORIGIN],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(held, 607);
    let r = check(&wkey);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK size=607"), "{}", r.stdout);

    server.stop();
    drop(w);

    // `habeas verify --witness` checks every cosignature kept; another witness has none.
    let r = reg.ok(&[
        "verify",
        "--verifier-key",
        &reg.verifier_key,
        "--witness",
        &wkey,
    ]);
    assert!(
        r.stdout.contains("cosignatures checked")
            && r.stdout.contains(&format!("cosigned by {WITNESS}")),
        "{}",
        r.stdout
    );
    let r = reg.run(&["verify", "--witness", &other]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no checkpoint is cosigned"),
        "{}",
        r.stderr
    );

    // `habeas publish`: the same layout as files, checked by the same client.
    let out = reg.path("public");
    let r = reg.ok(&[
        "publish",
        "--out",
        out.to_str().unwrap(),
        "--witness",
        &wkey,
    ]);
    assert!(
        r.stdout.contains("published the checkpoint of size 607"),
        "{}",
        r.stdout
    );
    let r = tlog(&[
        "check",
        "--dir",
        out.to_str().unwrap(),
        "--key",
        &reg.verifier_key,
        "--witness",
        &wkey,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK size=607"), "{}", r.stdout);
    assert_eq!(
        std::fs::read(out.join("tile/0/001")).unwrap(),
        t.body,
        "the served tile and the published file are the same"
    );
    assert!(!out.join("tile/entries").exists());
    // Again: the tiles are there already and unchanged.
    let r = reg.ok(&[
        "publish",
        "--out",
        out.to_str().unwrap(),
        "--witness",
        &wkey,
    ]);
    assert!(r.stdout.contains("0 tiles written"), "{}", r.stdout);
    // A tile that changed is a tree that changed: refused.
    let mut bytes = std::fs::read(out.join("tile/0/000")).unwrap();
    bytes[5] ^= 1;
    std::fs::write(out.join("tile/0/000"), &bytes).unwrap();
    let r = reg.run(&[
        "publish",
        "--out",
        out.to_str().unwrap(),
        "--witness",
        &wkey,
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("differs"), "{}", r.stderr);
}

/// Copies a stopped register's files (the store, its key, the access log, the accounts) into
/// another directory: a backup.
fn backup(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("habeas.db") && !name.ends_with(".lock") && !name.ends_with(".sock") {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn a_fork_from_a_restored_backup_is_refused_by_the_witness_and_reported() {
    let reg = Reg::init(&[]);
    let secret = inspector(reg.dir.path());
    reg.ok(&["stress-append", "--threads", "1", "--count", "20"]);
    reg.ok(&["checkpoint"]);
    // A backup of the register at 20 entries.
    let restored = tempfile::tempdir().unwrap();
    backup(reg.dir.path(), restored.path());

    let wdir = tempfile::tempdir().unwrap();
    let wkey = witness_key(wdir.path());
    let (_w, wurl) = witness(wdir.path(), &reg.verifier_key, "127.0.0.1:0");
    let witness_arg = format!("{wkey}@{wurl}");
    let mut cmd = bin();
    cmd.current_dir(reg.dir.path());
    let (server, addr, _) = serve(cmd, &witness_arg);
    published(&addr, 20);
    notes(&reg, 5, "la historia verdadera");
    let real = published(&addr, 25);
    server.stop();

    // The backup is restored elsewhere and written differently: another tree of size 25,
    // validly signed by the register's key.
    let other = Reg {
        dir: restored,
        verifier_key: reg.verifier_key.clone(),
    };
    notes(&other, 5, "otra historia");
    other.ok(&["checkpoint"]);
    assert_eq!(other.size(), 25);
    let mut cmd = bin();
    cmd.current_dir(other.dir.path());
    let (server, addr, err) = serve(cmd, &witness_arg);
    let cookie = sign_in(&addr, &secret);
    let mut metrics = String::new();
    for _ in 0..300 {
        let a = request(&addr, "GET", "/metrics", &[("Cookie", &cookie)], "");
        assert_eq!(a.status, 200, "{}", a.text());
        metrics = a.text();
        if metrics.contains(&format!("habeas_witness_fork{{witness=\"{WITNESS}\"}} 1")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        metrics.contains(&format!("habeas_witness_fork{{witness=\"{WITNESS}\"}} 1")),
        "{metrics}"
    );
    assert!(
        !metrics.contains(&format!(
            "habeas_witness_failures_total{{witness=\"{WITNESS}\"}} 0"
        )),
        "{metrics}"
    );
    assert!(
        !metrics.contains("habeas_witness_cosigned_size{"),
        "{metrics}"
    );
    // Said on standard error and on the inspector's page; the forked history is never
    // published.
    assert!(
        err.lock()
            .unwrap()
            .contains("REFUSED THIS REGISTER'S HISTORY"),
        "{}",
        err.lock().unwrap()
    );
    let page = request(&addr, "GET", "/ui/register", &[("Cookie", &cookie)], "");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("data-fork=\"yes\"") && html.contains(WITNESS),
        "{html}"
    );
    assert!(
        html.contains("RECHAZÓ") || html.contains("REFUSED"),
        "{html}"
    );
    assert_eq!(get(&addr, "/checkpoint").status, 404);
    server.stop();
    // The witness still holds the real history, and kept the other as evidence.
    let c = rusqlite::Connection::open(wdir.path().join("witness.db")).unwrap();
    let (size, note): (i64, String) = c
        .query_row(
            "SELECT size, note FROM witness_logs WHERE origin = ?1",
            [ORIGIN],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(size, 25);
    assert!(real.starts_with(note.split("\n\n").next().unwrap()));
    let evidence: i64 = c
        .query_row(
            "SELECT count(*) FROM witness_evidence WHERE status = 409",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(evidence >= 1);
}

#[test]
fn postgres_a_witnessed_register_publishes_cosigned_checkpoints() {
    let schema = match habeas_store_postgres::testing::ScratchSchema::new() {
        Ok(s) => s,
        Err(e) if std::env::var_os(habeas_store_postgres::testing::TEST_DATABASE_VAR).is_none() => {
            eprintln!("skipped: no PostgreSQL ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let pg = |args: &[&str]| -> Run {
        bin()
            .current_dir(dir.path())
            .env("HABEAS_DB", schema.url())
            .env("HABEAS_KEY", dir.path().join("register.key"))
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let r = pg(&["init", "--origin", ORIGIN]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let vkey = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("verifier key: "))
        .unwrap()
        .to_owned();
    let r = pg(&["stress-append", "--threads", "2", "--count", "300"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let wdir = tempfile::tempdir().unwrap();
    let wkey = witness_key(wdir.path());
    let (w, wurl) = witness(wdir.path(), &vkey, "127.0.0.1:0");
    let mut cmd = bin();
    cmd.current_dir(dir.path())
        .env("HABEAS_DB", schema.url())
        .env("HABEAS_KEY", dir.path().join("register.key"))
        .args(["--replica", "srv.db"]);
    let (server, addr, _) = serve(cmd, &format!("{wkey}@{wurl}"));
    let note = published(&addr, 300);
    assert!(note.contains(&format!("\u{2014} {WITNESS} ")), "{note}");
    let url = format!("http://{addr}/");
    let r = tlog(&["check", "--url", &url, "--key", &vkey, "--witness", &wkey]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK size=300"), "{}", r.stdout);
    // More entries through the server (its control socket), cosigned too.
    for i in 0..3 {
        let r = pg(&[
            "--replica",
            "srv.db",
            "logbook",
            "add",
            "--facility",
            "TEST",
            "--text",
            &format!("nota {i}"),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    published(&addr, 303);
    let r = tlog(&["check", "--url", &url, "--key", &vkey, "--witness", &wkey]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // A court asks where a person is: the answer rests on the PostgreSQL register's entries,
    // proven in the witnessed checkpoint, and both checkers take it.
    std::fs::write(
        dir.path().join("estate.toml"),
        "[facility]\ncode = \"CECOT\"\nname = \"CECOT\"\ncountry = \"SV\"\n\n[[unit]]\ncode = \"M1\"\nname = \"Módulo 1\"\ncell_count = 1\ncell_template = { area_m2 = 100, bunks = 80, cna = 24, operational_capacity = 80 }\n",
    )
    .unwrap();
    let r = pg(&["--replica", "srv.db", "estate", "load", "estate.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(
        dir.path().join("admission.json"),
        serde_json::json!({
            "facility": "CECOT",
            "person": {"given_names": "Nery Alexander", "surnames": ["Portillo"], "birth_date": "1994-07-12", "sex": "male", "nationalities": ["SV"],
                       "documents": [{"kind": "DUI", "number": "04567890-1"}]},
            "admitted_at": "2025-05-30T18:00:00.000Z", "legal_status": "remand",
            "orders": [{"kind": "pretrial_detention", "authority": "Juzgado A", "reference": "123-2025", "issued": "2025-05-30", "expires": "2030-11-30"}],
            "arrest": {"at": "2025-05-29T06:00:00.000Z", "place": "Soyapango", "authority": "PNC"}
        })
        .to_string(),
    )
    .unwrap();
    let r = pg(&["--replica", "srv.db", "admit", "--json", "admission.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut add = bin();
    add.current_dir(dir.path())
        .env("HABEAS_DB", schema.url())
        .env("HABEAS_KEY", dir.path().join("register.key"))
        .args([
            "--replica",
            "srv.db",
            "user",
            "add",
            "--username",
            "juez",
            "--role",
            "court",
        ]);
    let r = fed(add, "clave-del-juzgado-7\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let secret = r
        .stdout
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let cookie = sign_in_as(&addr, "juez", "clave-del-juzgado-7", &secret);
    let csrf = request(&addr, "GET", "/api/session", &[("cookie", &cookie)], "").text();
    let csrf: serde_json::Value = serde_json::from_str(&csrf).unwrap();
    let a = request(
        &addr,
        "POST",
        "/api/whereabouts",
        &[
            ("cookie", &cookie),
            ("x-csrf-token", csrf["csrf"].as_str().unwrap()),
            ("content-type", "application/json"),
        ],
        r#"{"document": {"kind": "dui", "number": "04567890-1"}, "purpose": "hábeas corpus", "case_reference": "HC-9"}"#,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let answer: serde_json::Value = serde_json::from_str(&a.text()).unwrap();
    let answered_at = answer["answer"]["checkpoint"]["size"].as_u64().unwrap();
    assert_eq!(answer["answer"]["status"], "held", "{answer}");
    assert_eq!(answer["answer"]["facility"], "CECOT");
    assert!(answer["evidence"]["checkpoint"]
        .as_str()
        .unwrap()
        .contains(&format!("\u{2014} {WITNESS} ")));
    std::fs::write(dir.path().join("answer.json"), a.text()).unwrap();
    let r = pg(&[
        "check-answer",
        "answer.json",
        "--verifier-key",
        &vkey,
        "--witness",
        &wkey,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r: Run = std::process::Command::new("python3")
        .current_dir(dir.path())
        .args([
            repo().join("tools/verify_answer.py").to_str().unwrap(),
            "answer.json",
            "--key",
            &vkey,
            "--witness",
            &wkey,
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    server.stop();
    drop(w);
    // The cosignatures are durable in PostgreSQL, where `verify --witness` reads them.
    let mut c = schema.client().unwrap();
    let kept: i64 = c
        .query_one(
            "SELECT count(*) FROM register_cosignatures WHERE size IN (303, $1)",
            &[&(answered_at as i64)],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 2);
    let r = pg(&["verify", "--witness", &wkey]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(&format!("of size {answered_at}, is cosigned by")),
        "{}",
        r.stdout
    );
    // Published from a new host's replica: the cosignatures come from PostgreSQL.
    let r = pg(&[
        "--replica",
        "other.db",
        "publish",
        "--out",
        "public",
        "--witness",
        &wkey,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = dir.path().join("public");
    let r = tlog(&[
        "check",
        "--dir",
        out.to_str().unwrap(),
        "--key",
        &vkey,
        "--witness",
        &wkey,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let size: u64 = r
        .stdout
        .split("OK size=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(size >= answered_at, "{}", r.stdout);
}

#[test]
fn the_demo_runs_a_witness_beside_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Killed(
        bin()
            .current_dir(dir.path())
            .env("HABEAS_LOG", "warn")
            .args([
                "--db",
                "demo.db",
                "demo",
                "--population",
                "300",
                "--days",
                "2",
                "--listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(demo.0.stdout.take().unwrap()).lines();
    let (mut witness, mut key) = (None, None);
    let addr = loop {
        let line = lines
            .next()
            .expect("the demo stopped before serving")
            .unwrap();
        if let Some(k) = line.split("its verifier key is ").nth(1) {
            witness = Some(k.trim().to_owned());
        }
        if let Some(k) = line.split("--key ").nth(1) {
            key = k.split_whitespace().next().map(str::to_owned);
        }
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.to_owned();
        }
    };
    let (witness, key) = (witness.unwrap(), key.unwrap());
    assert!(witness.starts_with("habeas.demo/witness+"), "{witness}");
    // Its own process and store, beside the demo's.
    assert!(dir.path().join("demo.db.witness.db").exists());
    assert!(dir.path().join("demo.db.witness.key").exists());
    let note = published(&addr, 1);
    assert!(note.contains("\u{2014} habeas.demo/witness "), "{note}");
    let r = tlog(&[
        "check",
        "--url",
        &format!("http://{addr}/"),
        "--key",
        &key,
        "--witness",
        &witness,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("witnesses=1/1"), "{}", r.stdout);
}
