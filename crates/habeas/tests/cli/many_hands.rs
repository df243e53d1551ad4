//! Many hands on one register: every command works beside a running server (its writer and
//! access log take the entries, in the name of the operating-system user), and without a
//! server concurrent writers wait their turn for the writer's lock.

use crate::support::{bin, run_in, Reg, Run};
use serde_json::{json, Value};
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Stdio};

/// The operating-system user running the tests.
fn me() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `habeas serve` on `dir`'s store `db`; waits until it listens and its control socket is up.
fn serve(dir: &Path, db: &str) -> Child {
    let mut child = bin()
        .current_dir(dir)
        .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on http://"), "{line:?}");
    // The rest of what it prints ("stopped") is read, so that it can say it.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    assert!(dir.join(format!("{db}.control.sock")).exists());
    child
}

fn stop(mut child: Child) {
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn run(dir: &Path, args: &[&str]) -> Run {
    bin().current_dir(dir).args(args).output().unwrap().into()
}

fn ok(dir: &Path, args: &[&str]) -> Run {
    let r = run(dir, args);
    assert_eq!(
        r.code, 0,
        "habeas {args:?} failed beside the server:\n{}\n{}",
        r.stdout, r.stderr
    );
    r
}

/// The entries of a SQLite register, decoded.
fn entries(db: &Path) -> Vec<Value> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut st = conn
        .prepare("SELECT bytes FROM register_log ORDER BY idx")
        .unwrap();
    let rows: Vec<Vec<u8>> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.iter()
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect()
}

#[test]
fn every_command_the_demo_prints_and_every_custody_command_works_beside_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = String::from_utf8(run_in(
        d,
        &[
            "--db",
            "d.db",
            "demo",
            "--no-serve",
            "--scenario",
            "cecot",
            "--population",
            "60",
            "--days",
            "2",
            "--seed",
            "5",
        ],
    ))
    .unwrap();
    let printed: Vec<Vec<String>> = out
        .lines()
        .skip_while(|l| !l.starts_with("Explore it from the command line:"))
        .filter_map(|l| l.trim().strip_prefix("habeas "))
        .map(|l| {
            l.split('#')
                .next()
                .unwrap()
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    assert!(printed.len() >= 6, "{out}");
    let before = entries(&d.join("d.db")).len();
    let server = serve(d, "d.db");
    let me = format!("os:{}", me());

    // What the demo tells a newcomer to try next, while it serves.
    for args in &printed {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = ok(d, &args);
        assert!(!r.stdout.trim().is_empty(), "{args:?} printed nothing");
        match args[2] {
            "person" => assert!(r.stdout.contains("person 300"), "{}", r.stdout),
            "verify" => assert!(r.stdout.starts_with("OK: "), "{}", r.stdout),
            "count" => assert!(r.stdout.contains("held now:"), "{}", r.stdout),
            // A list of cases, or that there are none yet.
            "harm" => assert!(
                r.stdout.contains("case ") || r.stdout.contains("no serious injury"),
                "{}",
                r.stdout
            ),
            "death" | "population" | "estate" => {}
            other => panic!("a command the test does not know: {other}"),
        }
    }
    let r = ok(
        d,
        &["--db", "d.db", "report", "compliance", "--format", "json"],
    );
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(report["findings"].is_array(), "{}", r.stdout);

    // The custody commands, through the server's writer.
    let db = ["--db", "d.db"];
    let with = |rest: &[&str]| -> Vec<String> {
        db.iter()
            .chain(rest.iter())
            .map(|s| (*s).to_owned())
            .collect()
    };
    let ok_with = |rest: &[&str]| {
        let args = with(rest);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(d, &args)
    };
    let r = ok_with(&[
        "logbook",
        "add",
        "--facility",
        "CECOT",
        "--text",
        "relevo de guardia",
    ]);
    assert!(r.stdout.starts_with("recorded as entry "), "{}", r.stdout);
    // The actor named on the command line is not who the server records.
    assert!(
        r.stderr.contains(&format!("recorded as {me}")),
        "{}",
        r.stderr
    );
    std::fs::write(
        d.join("admission.json"),
        json!({
            "new_person": true,
            "facility": "CECOT",
            "person": {"given_names": "Nery", "surnames": ["Portillo"], "birth_date": "1990-01-02", "sex": "male", "nationalities": ["SV"]},
            "admitted_at": "2025-05-31T10:00:00Z",
            "legal_status": "remand",
            "orders": [{"kind": "pretrial_detention", "authority": "Juzgado Especializado A", "reference": "77-2025", "issued": "2025-05-30", "expires": "2030-11-30"}],
            "arrest": {"at": "2025-05-30T06:00:00Z", "place": "Soyapango", "authority": "PNC"}
        })
        .to_string(),
    )
    .unwrap();
    let r = ok_with(&["admit", "--json", "admission.json"]);
    let booking: u64 = r.stdout.split_whitespace().nth(2).unwrap().parse().unwrap();
    let b = booking.to_string();
    let r = ok_with(&["person", "show", &b, "--booking"]);
    assert!(r.stdout.contains("Nery"), "{}", r.stdout);
    // The same person again, without saying whether they are new, is refused by the server's
    // writer naming the probable match, and nothing is written.
    let size = entries(&d.join("d.db")).len();
    let mut again: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("admission.json")).unwrap()).unwrap();
    again.as_object_mut().unwrap().remove("new_person");
    std::fs::write(d.join("again.json"), again.to_string()).unwrap();
    let args = with(&["admit", "--json", "again.json"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(d, &args);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains(&b), "{}", r.stderr);
    assert_eq!(entries(&d.join("d.db")).len(), size);
    std::fs::write(
        d.join("hearing.json"),
        json!({"record": "hearing", "facility": "CECOT", "bookings": [booking], "court": "Tribunal virtual de Tecoluca",
            "at": "2025-05-31T11:00:00Z", "mode": "video", "people_heard": 1})
        .to_string(),
    )
    .unwrap();
    let r = ok_with(&["record", "--json", "hearing.json"]);
    assert!(
        r.stdout.contains("custody.hearing recorded"),
        "{}",
        r.stdout
    );
    let r = ok_with(&["allocate", "--facility", "CECOT", "--batch"]);
    assert!(r.stdout.starts_with("placed "), "{}", r.stdout);
    let r = ok_with(&["checkpoint"]);
    assert!(
        r.stdout.starts_with("habeas.demo/cecot/seed-5\n"),
        "{}",
        r.stdout
    );
    let r = ok_with(&[
        "release",
        "--facility",
        "CECOT",
        "--booking",
        &b,
        "--reason",
        "court_order",
        "--authority",
        "Juzgado Especializado A",
        "--reference",
        "77-2025-L",
    ]);
    assert!(r.stdout.contains("released (court_order)"), "{}", r.stdout);
    // An account made and unlocked from the console.
    let mut add = bin();
    add.current_dir(d).args([
        "--db",
        "d.db",
        "user",
        "add",
        "--username",
        "jefa",
        "--role",
        "national",
    ]);
    let r = crate::support::fed(add, "velero-azul-9\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    ok_with(&["user", "unlock", "--username", "jefa"]);
    // A rebuild replaces what the server reads: refused while it runs, saying why.
    let r = run(d, &["--db", "d.db", "rebuild"]);
    assert!(
        r.code != 0 && r.stderr.contains("stop it first"),
        "{}",
        r.stderr
    );
    stop(server);

    // Every entry of the command line is the operating-system user's.
    let all = entries(&d.join("d.db"));
    let ours: Vec<&Value> = all[before..].iter().collect();
    let kinds: Vec<&str> = ours.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in [
        "logbook.note",
        "custody.admitted",
        "custody.hearing",
        "custody.allocated",
        "custody.released",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert!(ours.iter().all(|e| e["actor"] == me.as_str()), "{ours:?}");
    // The reads were logged by the server, in the same name, before they were shown.
    let access = entries(&d.join("d.db.access"));
    let by_me = |kind: &str| {
        access
            .iter()
            .filter(|e| e["kind"] == kind && e["actor"].as_str().unwrap().ends_with(&me))
            .count()
    };
    assert!(by_me("access.read") >= 2, "{access:?}");
    assert!(by_me("access.listed") >= 2, "{access:?}");
    assert!(by_me("access.account") >= 2, "{access:?}");
    let r = ok(d, &["--db", "d.db", "verify"]);
    assert!(
        r.stdout.contains("every projection matches"),
        "{}",
        r.stdout
    );
    let r = ok(d, &["--db", "d.db.access", "verify"]);
    assert!(r.stdout.starts_with("OK: "), "{}", r.stdout);
}

#[test]
fn two_hundred_writers_at_once_wait_their_turn_and_those_killed_lose_nothing_acknowledged() {
    let reg = Reg::init(&[]);
    let children: Vec<(usize, Child)> = (0..200)
        .map(|i| {
            let child = bin()
                .current_dir(reg.dir.path())
                .args([
                    "--wait",
                    "300",
                    "logbook",
                    "add",
                    "--facility",
                    "TEST",
                    "--text",
                    &format!("writer-{i:03}"),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (i, child)
        })
        .collect();
    // Some are killed outright, wherever they are: waiting, writing or done.
    let mut children = children;
    for (i, child) in &mut children {
        if *i % 20 == 7 {
            let _ = child.kill();
        }
    }
    let mut acknowledged = Vec::new();
    let mut killed = 0;
    for (i, child) in children {
        let out = child.wait_with_output().unwrap();
        use std::os::unix::process::ExitStatusExt as _;
        if out.status.signal() == Some(9) {
            killed += 1;
            continue;
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "writer {i} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let index: u64 = stdout
            .strip_prefix("recorded as entry ")
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("writer {i}: {stdout}"));
        acknowledged.push((index, format!("writer-{i:03}")));
    }
    assert!(killed > 0 && acknowledged.len() >= 190 - killed, "{killed}");
    let all = entries(&reg.db());
    for (index, text) in &acknowledged {
        assert_eq!(
            all[*index as usize]["payload"]["text"],
            text.as_str(),
            "entry {index}"
        );
    }
    let r = reg.verify();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_writer_that_waits_too_long_says_who_holds_the_lock() {
    let reg = Reg::init(&[]);
    let d = reg.dir.path();
    let server = serve(d, "habeas.db");
    // A server whose control socket has gone (moved away by hand, say) still holds the lock.
    std::fs::remove_file(d.join("habeas.db.control.sock")).unwrap();
    let add = [
        "--wait",
        "1",
        "logbook",
        "add",
        "--facility",
        "X",
        "--text",
        "x",
    ];
    let r = reg.run(&add);
    assert_ne!(r.code, 0, "{}", r.stdout);
    for needle in [
        "another process is writing this register",
        &format!(
            "process {}: habeas --db habeas.db serve --listen",
            server.id()
        ),
        "after waiting 1 s (--wait)",
    ] {
        assert!(r.stderr.contains(needle), "{needle:?}: {}", r.stderr);
    }
    stop(server);
    // With the server gone, the command does it itself.
    reg.ok(&add);
}
