//! Running the real binary against a register in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Reg {
    pub dir: tempfile::TempDir,
    pub verifier_key: String,
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_habeas"));
    c.env_remove("HABEAS_DB")
        .env_remove("HABEAS_KEY")
        .env("HABEAS_ACTOR", "test.officer");
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Reg {
    /// `habeas init` in a new directory.
    pub fn init(extra: &[&str]) -> Reg {
        let dir = tempfile::tempdir().unwrap();
        let origin = "habeas.test/register/cli".to_string();
        let mut c = bin();
        c.current_dir(dir.path())
            .args(["init", "--origin", &origin])
            .args(extra);
        let r: Run = c.output().unwrap().into();
        assert_eq!(r.code, 0, "init failed: {}", r.stderr);
        let verifier_key = r
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("verifier key: "))
            .expect("init prints the verifier key")
            .to_string();
        Reg { dir, verifier_key }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("habeas.db")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut c = bin();
        c.current_dir(self.dir.path()).args(args);
        c.output().unwrap().into()
    }

    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "habeas {args:?} failed:\n{}\n{}",
            r.stdout, r.stderr
        );
        r
    }

    pub fn note(&self, text: &str) -> u64 {
        let r = self.ok(&[
            "logbook",
            "add",
            "--facility",
            "CECOT",
            "--text",
            text,
            "--place",
            "Pabellón 2",
        ]);
        r.stdout
            .split_whitespace()
            .nth(3)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected output {:?}", r.stdout))
    }

    /// `habeas verify` against the key printed at init.
    pub fn verify(&self) -> Run {
        self.run(&["verify", "--verifier-key", &self.verifier_key])
    }

    /// The number of entries, read through the store directly.
    pub fn size(&self) -> u64 {
        use habeas_register::store::Store;
        habeas_store_sqlite::SqliteStore::open(&self.db())
            .unwrap()
            .size()
            .unwrap()
    }
}

/// Opens the SQLite file the way a tamperer would (no triggers).
pub fn raw(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch(
        "DROP TRIGGER register_log_no_update; DROP TRIGGER register_log_no_delete;
         DROP TRIGGER register_checkpoints_no_update; DROP TRIGGER register_checkpoints_no_delete;",
    )
    .unwrap();
    c
}

/// Runs the binary in `dir`, asserting success; its standard output.
pub fn run_in(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = bin().current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Generates a demo scenario of `population` people over `days` days (seed 5) into `db`.
pub fn demo_in(dir: &Path, db: &str, scenario: &str, population: &str, days: &str) {
    run_in(
        dir,
        &[
            "--db",
            db,
            "demo",
            "--no-serve",
            "--scenario",
            scenario,
            "--population",
            population,
            "--days",
            days,
            "--seed",
            "5",
        ],
    );
}

/// Runs `cmd` with `input` on its standard input.
pub fn fed(mut cmd: Command, input: &str) -> Run {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap().into()
}
