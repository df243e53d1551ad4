//! The register on PostgreSQL through the real binary: the tamper tests and the crash test of
//! the SQLite store, run against a scratch schema of `HABEAS_TEST_POSTGRES`, and `habeas copy`
//! between the two backends.

use crate::support::{bin, Reg, Run};
use habeas_store_postgres::testing::ScratchSchema;

/// A register in a scratch schema, with its signing key in a temporary directory.
struct PgReg {
    schema: ScratchSchema,
    dir: tempfile::TempDir,
}

impl PgReg {
    fn init() -> PgReg {
        let reg = PgReg {
            schema: ScratchSchema::new().unwrap(),
            dir: tempfile::tempdir().unwrap(),
        };
        let r = reg.run(&["init", "--origin", "habeas.test/register/postgres"]);
        assert_eq!(r.code, 0, "init failed: {}", r.stderr);
        assert!(r.stdout.contains("PostgreSQL database"), "{}", r.stdout);
        reg
    }

    fn command(&self) -> std::process::Command {
        let mut c = bin();
        c.current_dir(self.dir.path())
            .env("HABEAS_DB", self.schema.url())
            .env("HABEAS_KEY", self.dir.path().join("register.key"));
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        self.command().args(args).output().unwrap().into()
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "habeas {args:?} failed:\n{}\n{}",
            r.stdout, r.stderr
        );
        r
    }

    /// A connection that changes rows behind the register's back, as a database
    /// administrator could: the append-only triggers are bypassed.
    fn tamper(&self, sql: &str) {
        let mut c = self.schema.client().unwrap();
        c.batch_execute(&format!(
            "SET session_replication_role = replica; {sql}; SET session_replication_role = origin"
        ))
        .unwrap();
    }

    fn assert_caught(&self, needle: &str) {
        let r = self.run(&["verify"]);
        assert_eq!(
            r.code, 1,
            "tampering was not caught:\n{}\n{}",
            r.stdout, r.stderr
        );
        assert!(
            r.stderr.contains(needle),
            "{:?} does not say {needle:?}",
            r.stderr
        );
    }
}

fn register_of_20() -> PgReg {
    let reg = PgReg::init();
    let r = reg.ok(&["stress-append", "--threads", "1", "--count", "20"]);
    assert_eq!(r.stdout.lines().count(), 20);
    reg.ok(&["checkpoint"]);
    let ok = reg.ok(&["verify"]);
    assert!(ok.stdout.contains("OK: 20 entries"), "{}", ok.stdout);
    reg
}

#[test]
fn postgres_a_changed_byte_is_caught_at_its_index() {
    let reg = register_of_20();
    reg.tamper(
        "UPDATE register_log SET bytes = convert_to(replace(convert_from(bytes, 'UTF8'), 'stress-00000007', 'stress-00000009'), 'UTF8') WHERE idx = 7",
    );
    reg.assert_caught("at index 7");
}

#[test]
fn postgres_a_deleted_row_is_caught_at_its_index() {
    let reg = register_of_20();
    reg.tamper("DELETE FROM register_log WHERE idx = 5");
    reg.assert_caught("at index 5");
}

#[test]
fn postgres_two_swapped_rows_are_caught_at_the_first() {
    let reg = register_of_20();
    reg.tamper(
        "UPDATE register_log SET idx = 1000 WHERE idx = 3;
         UPDATE register_log SET idx = 3 WHERE idx = 9;
         UPDATE register_log SET idx = 9 WHERE idx = 1000",
    );
    reg.assert_caught("at index 3");
}

#[test]
fn postgres_a_truncated_log_is_caught_at_the_first_missing_index() {
    let reg = register_of_20();
    reg.tamper("DELETE FROM register_log WHERE idx >= 15");
    reg.assert_caught("at index 15");
}

#[test]
fn postgres_a_rewrite_that_also_fixes_the_leaf_hash_is_caught_by_the_signed_checkpoint() {
    let reg = register_of_20();
    let mut c = reg.schema.client().unwrap();
    let bytes: Vec<u8> = c
        .query_one("SELECT bytes FROM register_log WHERE idx = 12", &[])
        .unwrap()
        .get(0);
    let forged = String::from_utf8(bytes)
        .unwrap()
        .replace("stress-00000012", "stress-99999999");
    let leaf = habeas_register::merkle::leaf_hash(forged.as_bytes());
    c.batch_execute("SET session_replication_role = replica")
        .unwrap();
    c.execute(
        "UPDATE register_log SET bytes = $1, leaf = $2 WHERE idx = 12",
        &[&forged.as_bytes(), &&leaf[..]],
    )
    .unwrap();
    reg.assert_caught("do not hash to the signed root");
}

#[test]
fn postgres_the_writer_refuses_to_extend_a_tampered_register() {
    let reg = register_of_20();
    reg.tamper("DELETE FROM register_log WHERE idx = 19");
    let r = reg.run(&["stress-append", "--threads", "1", "--count", "1"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("missing"), "{}", r.stderr);
}

#[test]
fn postgres_every_acknowledged_entry_survives_sigkill() {
    let reg = PgReg::init();
    let acked = crate::crash::acknowledged_then_killed(reg.command());
    let mut c = reg.schema.client().unwrap();
    for (index, marker) in &acked {
        let row = c
            .query_opt(
                "SELECT bytes FROM register_log WHERE idx = $1",
                &[&(*index as i64)],
            )
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged entry {index} is lost"));
        let text = String::from_utf8(row.get::<_, Vec<u8>>(0)).unwrap();
        assert!(
            text.contains(marker.as_str()),
            "entry {index} does not hold {marker}"
        );
    }
    let size: i64 = c
        .query_one("SELECT count(*) FROM register_log", &[])
        .unwrap()
        .get(0);
    assert!(size as usize >= acked.len());
    // The killed writer's lock went with its connection: a new writer takes over and carries
    // on right after the last durable entry.
    let r = reg.ok(&["verify"]);
    assert!(
        r.stdout.contains(&format!("OK: {size} entries")),
        "{}",
        r.stdout
    );
    let next = reg.ok(&["stress-append", "--threads", "1", "--count", "1"]);
    assert!(
        next.stdout.starts_with(&format!("ack {size} ")),
        "{}",
        next.stdout
    );
    reg.ok(&["verify"]);
}

fn root_of(r: &Run) -> String {
    r.stdout
        .lines()
        .find_map(|l| l.strip_prefix("root: "))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
        .unwrap_or_else(|| panic!("no root in {}", r.stdout))
}

#[test]
fn postgres_copy_moves_a_register_there_and_back_with_the_same_root() {
    // A SQLite register with custody entries and an occurrence book.
    let sqlite = Reg::init(&[]);
    sqlite.ok(&[
        "stress-append",
        "--threads",
        "2",
        "--count",
        "120",
        "--facility",
        "CECOT",
    ]);
    sqlite.ok(&["checkpoint"]);
    let root = root_of(&sqlite.ok(&["verify"]));
    let schema = ScratchSchema::new().unwrap();
    let there = sqlite.ok(&["copy", "--from", "habeas.db", "--to", &schema.url()]);
    assert_eq!(root_of(&there), root, "{}", there.stdout);
    assert!(
        there.stdout.contains("copied 120 entries"),
        "{}",
        there.stdout
    );
    // The copy verifies on its own, with the same key.
    let on_pg: Run = bin()
        .current_dir(sqlite.dir.path())
        .env("HABEAS_DB", schema.url())
        .args(["verify", "--verifier-key", &sqlite.verifier_key])
        .output()
        .unwrap()
        .into();
    assert_eq!(on_pg.code, 0, "{}", on_pg.stderr);
    assert_eq!(root_of(&on_pg), root);
    // And back into a new SQLite file, whose projections are built from the entries.
    let back = sqlite.ok(&["copy", "--from", &schema.url(), "--to", "back.db"]);
    assert_eq!(root_of(&back), root);
    let checked = sqlite.ok(&["--db", "back.db", "verify"]);
    assert!(
        checked.stdout.contains("every projection matches"),
        "{}",
        checked.stdout
    );
    assert_eq!(root_of(&checked), root);
    // The copy is a disclosure in the source's access log.
    let logged = sqlite
        .ok(&["--db", "habeas.db.access", "entry", "0"])
        .stdout;
    assert!(logged.contains("register copy"), "{logged}");
    assert!(
        logged.contains("search_path"),
        "the target is named: {logged}"
    );
    // A target that holds a register already is refused, and nothing is written to it.
    let again = sqlite.run(&["copy", "--from", "habeas.db", "--to", &schema.url()]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("already holds a register"),
        "{}",
        again.stderr
    );
    let exists = sqlite.run(&["copy", "--from", &schema.url(), "--to", "back.db"]);
    assert_eq!(exists.code, 1);
    assert!(
        exists.stderr.contains("exists already"),
        "{}",
        exists.stderr
    );
}

#[test]
fn postgres_copy_refuses_a_source_that_does_not_verify() {
    let reg = register_of_20();
    reg.tamper("DELETE FROM register_log WHERE idx = 4");
    let r = reg.run(&["copy", "--from", &reg.schema.url(), "--to", "copy.db"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("does not verify"), "{}", r.stderr);
    assert!(!reg.dir.path().join("copy.db").exists());
}

#[test]
fn postgres_commands_that_need_projections_ask_for_a_replica_and_the_key_is_required() {
    let reg = PgReg::init();
    for args in [
        &["population"][..],
        &["demo", "--no-serve"],
        &["serve"],
        &["export", "--out", "x.jsonl"],
    ] {
        let r = reg.run(args);
        assert_eq!(r.code, 1, "{args:?}");
        assert!(r.stderr.contains("--replica"), "{args:?}: {}", r.stderr);
    }
    let r = reg.run(&["import", "--in", "x.jsonl"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("habeas copy"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(reg.dir.path()).unwrap().count(),
        1,
        "only the signing key is in the directory"
    );
    let mut c = bin();
    c.current_dir(reg.dir.path())
        .env("HABEAS_DB", reg.schema.url())
        .args(["checkpoint"]);
    let r: Run = c.output().unwrap().into();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--key"), "{}", r.stderr);
}

/// The number of entries `habeas verify` finds in PostgreSQL itself.
fn entries_in_postgres(reg: &PgReg) -> u64 {
    let out = reg.ok(&["verify"]).stdout;
    out.strip_prefix("OK: ")
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"))
}

/// A scratch schema holding no register yet, for the demo.
fn empty_schema() -> PgReg {
    PgReg {
        schema: ScratchSchema::new().unwrap(),
        dir: tempfile::tempdir().unwrap(),
    }
}

#[test]
fn postgres_demo_generates_through_a_replica_and_a_new_replica_reads_the_same() {
    let reg = empty_schema();
    let demo = [
        "--replica",
        "r1.db",
        "demo",
        "--no-serve",
        "--scenario",
        "mandela",
        "--population",
        "120",
        "--days",
        "3",
        "--seed",
        "5",
    ];
    let r = reg.ok(&demo);
    assert!(r.stdout.contains("verified: root"), "{}", r.stdout);
    // A second demo never replaces the register, and removes nothing.
    let again = reg.run(&demo);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("holds a register already"),
        "{}",
        again.stderr
    );
    assert!(reg.dir.path().join("r1.db").exists());
    let entries = entries_in_postgres(&reg);
    assert!(entries > 500, "{entries}");
    let checked = reg.ok(&["--replica", "r1.db", "verify"]).stdout;
    assert!(
        checked.contains("the replica holds the same entries and every projection matches"),
        "{checked}"
    );
    // A replica made afresh from PostgreSQL answers as the first one does.
    let first = reg.ok(&["--replica", "r1.db", "population"]).stdout;
    let fresh = reg.ok(&["--replica", "r2.db", "population"]).stdout;
    assert_eq!(first, fresh);
    assert!(first.contains("CECOT"), "{first}");

    // A write goes through the replica's checks: refused there, it never reaches PostgreSQL.
    let refused = reg.run(&[
        "--replica",
        "r2.db",
        "release",
        "--facility",
        "CECOT",
        "--booking",
        "999999",
        "--reason",
        "bail",
        "--authority",
        "Juez",
        "--reference",
        "R-1",
    ]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(refused.stderr.contains("booking"), "{}", refused.stderr);
    assert_eq!(entries_in_postgres(&reg), entries);
    // Accepted, it is in PostgreSQL, and the other replica catches up with it.
    reg.ok(&[
        "--replica",
        "r2.db",
        "logbook",
        "add",
        "--facility",
        "CECOT",
        "--text",
        "ronda nocturna sin novedad",
    ]);
    assert_eq!(entries_in_postgres(&reg), entries + 1);
    let listed = reg
        .ok(&[
            "--replica",
            "r1.db",
            "logbook",
            "list",
            "--facility",
            "CECOT",
        ])
        .stdout;
    assert!(listed.contains("ronda nocturna sin novedad"), "{listed}");
}

#[test]
fn postgres_a_replica_of_another_register_is_refused() {
    let a = register_of_20();
    let b = PgReg::init();
    a.ok(&["--replica", "shared.db", "logbook", "list"]);
    let replica = a.dir.path().join("shared.db");
    let r = b.run(&["--replica", replica.to_str().unwrap(), "logbook", "list"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("a replica of another register"),
        "{}",
        r.stderr
    );
    // One whose last entry is not PostgreSQL's, or that holds entries PostgreSQL does not
    // (a database restored from an earlier backup, say), is refused, never mended.
    a.tamper("UPDATE register_log SET bytes = bytes || '\\x20'::bytea WHERE idx = 19");
    let r = a.run(&["--replica", "shared.db", "logbook", "list"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("entry 19 of"), "{}", r.stderr);
    a.tamper("DELETE FROM register_log WHERE idx >= 15");
    let r = a.run(&["--replica", "shared.db", "logbook", "list"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("holds 20 entries and PostgreSQL only 15"),
        "{}",
        r.stderr
    );
}

/// `habeas serve` on the register in `reg`, with its own replica; its standard output's lines
/// and standard error.
fn serve(reg: &PgReg, replica: &str) -> std::process::Child {
    reg.command()
        .args(["--replica", replica, "serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn listening(child: &mut std::process::Child) -> String {
    use std::io::BufRead as _;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned()
}

#[test]
fn postgres_a_second_server_waits_and_takes_over_when_the_first_dies() {
    use crate::serve::http;
    use std::io::BufRead as _;
    let reg = register_of_20();
    // An account made from this host is in PostgreSQL: every server sees it.
    let mut add = reg.command();
    add.args([
        "--replica",
        "cli.db",
        "user",
        "add",
        "--username",
        "carlos",
        "--role",
        "national",
    ]);
    let added = crate::support::fed(add, "otra-clave-larga\n");
    assert_eq!(added.code, 0, "{}", added.stderr);
    let healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut one = serve(&reg, "one.db");
    let addr = listening(&mut one);
    assert!(http(&addr, healthz).starts_with("HTTP/1.1 200"));
    let mut two = serve(&reg, "two.db");
    let mut err = std::io::BufReader::new(two.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("waiting to take over"), "{line}");
    // The first server dies without a word; its connections go, and with them its locks.
    one.kill().unwrap();
    one.wait().unwrap();
    let addr = listening(&mut two);
    assert!(http(&addr, healthz).starts_with("HTTP/1.1 200"));
    // What the second server logs goes to the access log in PostgreSQL, and it knows the
    // account made elsewhere: a wrong password, not an unknown user.
    let bad = r#"{"username":"carlos","password":"whatever-1"}"#;
    let refused = http(
        &addr,
        &format!("POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{bad}", bad.len()),
    );
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &two.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(two.wait().unwrap().success());
    let name = reg.schema.name();
    let access = reg
        .schema
        .url()
        .replace(&format!("%3D{name}"), &format!("%3D{name}_access"));
    let key = reg.dir.path().join("register.key.access");
    let r = reg.ok(&["--db", &access, "--key", key.to_str().unwrap(), "verify"]);
    // Entry 0: the account added; entry 1: the refused sign-in.
    assert!(r.stdout.starts_with("OK: 2 entries"), "{}", r.stdout);
    let e = reg
        .ok(&[
            "--db",
            &access,
            "--key",
            key.to_str().unwrap(),
            "entry",
            "1",
        ])
        .stdout;
    assert!(
        e.contains("carlos") && e.contains("bad_password") && !e.contains("whatever-1"),
        "{e}"
    );
    // The key that signs session cookies is beside the signing key, for every server to share,
    // not beside a replica.
    assert!(reg.dir.path().join("register.key.session").exists());
    assert!(!reg.dir.path().join("two.db.session.key").exists());
    // No account is in a replica: it holds the register and its projections only.
    let local = crate::support::raw(&reg.dir.path().join("two.db"));
    let users: i64 = local
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 0);
}

#[test]
fn postgres_the_api_benchmark_runs_on_the_server() {
    let reg = empty_schema();
    let base = habeas_store_postgres::testing::test_database_url();
    let r = reg.run(&[
        "--db",
        &base,
        "bench",
        "api",
        "--runs",
        "1",
        "--seconds",
        "0.3",
        "--connections",
        "4",
    ]);
    // 3: a figure is below its bar, which such a short run says nothing about.
    assert!(matches!(r.code, 0 | 3), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("postgres.api.append") && r.stdout.contains("postgres.api.person_file"),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

/// The register in PostgreSQL, written through a replica that holds the projections.
impl crate::integrity::Register for PgReg {
    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--replica", "replica.db"];
        all.extend_from_slice(args);
        PgReg::run(self, &all)
    }
    fn file(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.path().join(name), text).unwrap();
        name.to_owned()
    }
    fn entries(&self) -> u64 {
        entries_in_postgres(self)
    }
}

#[test]
fn postgres_records_cannot_contradict_themselves_and_nobody_is_off_the_books() {
    crate::integrity::records_cannot_contradict_themselves(&PgReg::init());
}

#[test]
fn postgres_commands_beside_the_server_go_through_it_and_another_host_waits_its_turn() {
    let reg = register_of_20();
    let mut server = serve(&reg, "srv.db");
    listening(&mut server);
    let me = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    // On the server's host (its replica, so its control socket): through the server.
    let r = reg.ok(&[
        "--replica",
        "srv.db",
        "logbook",
        "add",
        "--facility",
        "TEST",
        "--text",
        "beside the server",
    ]);
    assert!(
        r.stdout.starts_with("recorded as entry 20 "),
        "{}",
        r.stdout
    );
    let r = reg.ok(&["--replica", "srv.db", "logbook", "list", "--limit", "1"]);
    assert!(
        r.stdout.contains(&format!("os:{me}: beside the server")),
        "{}",
        r.stdout
    );
    reg.ok(&["--replica", "srv.db", "checkpoint"]);
    // Another host (a replica of its own, no socket): it waits for the writer's lock, and a
    // wait that runs out says who holds it.
    let r = reg.run(&[
        "--replica",
        "other.db",
        "--wait",
        "1",
        "logbook",
        "add",
        "--facility",
        "TEST",
        "--text",
        "from afar",
    ]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    for needle in [
        "another process is writing this register",
        &format!("held by process {}: habeas", server.id()),
        "after waiting 2 s (--wait)",
    ] {
        assert!(r.stderr.contains(needle), "{needle:?}: {}", r.stderr);
    }
    // A longer wait: the server stops meanwhile, and the command goes on.
    let waiting = reg
        .command()
        .args([
            "--replica",
            "other.db",
            "--wait",
            "60",
            "logbook",
            "add",
            "--facility",
            "TEST",
            "--text",
            "from afar",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    server.wait().unwrap();
    let out = waiting.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("recorded as entry 21 "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = reg.ok(&["--replica", "other.db", "verify"]);
    assert!(r.stdout.contains("OK: 22 entries"), "{}", r.stdout);
}

/// `habeas import population` onto PostgreSQL, through a replica: every person admitted and
/// placed there, a second replica made afresh reads the same, and the register verifies.
#[test]
fn postgres_import_population_through_a_replica() {
    let reg = PgReg::init();
    std::fs::write(
        reg.dir.path().join("estate.toml"),
        "[facility]\ncode = \"IZALCO\"\nname = \"Centro Penal de Izalco\"\ncountry = \"SV\"\n\n\
         [[unit]]\ncode = \"A\"\nname = \"Sector A\"\ncell_count = 2\n\
         cell_template = { area_m2 = 40, bunks = 10, cna = 10, operational_capacity = 10 }\n",
    )
    .unwrap();
    reg.ok(&["--replica", "r1.db", "estate", "load", "estate.toml"]);
    let mut people = String::from("ref,given_names,surname_1,birth_date,sex,nationalities,document_kind,document_number,legal_status,admitted_at,order_kind,order_authority,order_reference,order_issued,cell\n");
    for i in 0..12 {
        people.push_str(&format!(
            "P{i},Persona {i},Apellido,1990-01-{:02},male,SV,DUI,{i:08}-1,remand,2024-02-01,pretrial_detention,Juzgado 1,{i}-2024,2024-01-31,A-C0{}\n",
            i + 1,
            1 + i % 2
        ));
    }
    std::fs::write(reg.dir.path().join("people.csv"), people).unwrap();
    let r = reg.ok(&[
        "--replica",
        "r1.db",
        "import",
        "population",
        "--facility",
        "IZALCO",
        "people.csv",
    ]);
    assert!(r.stderr.contains("12 admitted"), "{}", r.stderr);
    assert!(r.stderr.contains("12 placed"), "{}", r.stderr);
    // Run again: nothing is written twice.
    let before = reg.ok(&["--replica", "r1.db", "checkpoint"]).stdout;
    let again = reg.ok(&[
        "--replica",
        "r1.db",
        "import",
        "population",
        "--facility",
        "IZALCO",
        "people.csv",
    ]);
    assert!(
        again.stderr.contains("12 already imported"),
        "{}",
        again.stderr
    );
    assert_eq!(reg.ok(&["--replica", "r1.db", "checkpoint"]).stdout, before);
    let first = reg.ok(&["--replica", "r1.db", "population"]).stdout;
    let fresh = reg.ok(&["--replica", "r2.db", "population"]).stdout;
    assert_eq!(first, fresh);
    assert!(first.contains("12 people held"), "{first}");
    let v = reg.ok(&["--replica", "r2.db", "verify"]);
    assert!(
        v.stdout.contains("every projection matches"),
        "{}",
        v.stdout
    );
}
