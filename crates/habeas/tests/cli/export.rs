//! Export, import and the independent verifier.

use crate::support::Reg;
use std::process::Command;

fn register_with_notes(n: usize) -> Reg {
    let reg = Reg::init(&[]);
    reg.ok(&[
        "stress-append",
        "--threads",
        "2",
        "--count",
        &n.to_string(),
        "--facility",
        "CECOT",
    ]);
    reg.ok(&[
        "logbook",
        "add",
        "--facility",
        "CECOT",
        "--text",
        "Llegada de 261 personas trasladadas",
        "--place",
        "Módulo 8",
    ]);
    reg.ok(&["checkpoint"]);
    reg
}

fn root_of(verify_stdout: &str) -> String {
    verify_stdout
        .lines()
        .find_map(|l| l.strip_prefix("root: "))
        .unwrap()
        .to_string()
}

#[test]
fn export_then_import_gives_the_same_root() {
    let reg = register_with_notes(40);
    let before = reg.verify();
    assert_eq!(before.code, 0, "{}", before.stderr);
    reg.ok(&["export", "--out", "register.jsonl"]);
    let lines = std::fs::read_to_string(reg.path("register.jsonl")).unwrap();
    assert!(lines
        .lines()
        .next()
        .unwrap()
        .contains("\"format\":\"habeas-register-export\""));
    let stranger =
        habeas_register::note::Signer::from_seed("habeas.test/register/cli", [9; 32]).unwrap();
    let refused = reg.run(&[
        "--db",
        "other.db",
        "import",
        "--in",
        "register.jsonl",
        "--verifier-key",
        &stranger.verifier().to_string(),
    ]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("not by the key you trust"),
        "{}",
        refused.stderr
    );
    assert!(!reg.path("other.db").exists());
    let imported = reg.ok(&[
        "--db",
        "copy.db",
        "import",
        "--in",
        "register.jsonl",
        "--verifier-key",
        &reg.verifier_key,
    ]);
    let copy = reg.run(&[
        "--db",
        "copy.db",
        "verify",
        "--verifier-key",
        &reg.verifier_key,
    ]);
    assert_eq!(copy.code, 0, "{}", copy.stderr);
    assert_eq!(root_of(&copy.stdout), root_of(&before.stdout));
    assert!(imported.stdout.contains(&root_of(&before.stdout)));
    let listed = reg
        .ok(&["--db", "copy.db", "logbook", "list", "--limit", "1"])
        .stdout;
    assert!(
        listed.contains("Llegada de 261 personas"),
        "projections are rebuilt on import: {listed}"
    );
    let again = reg.run(&["--db", "copy.db", "import", "--in", "register.jsonl"]);
    assert_eq!(again.code, 1, "import only into a new store");
}

#[test]
fn a_damaged_export_imports_nothing() {
    let reg = register_with_notes(10);
    reg.ok(&["export", "--out", "register.jsonl"]);
    let text = std::fs::read_to_string(reg.path("register.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.swap(3, 4);
    std::fs::write(reg.path("swapped.jsonl"), lines.join("\n") + "\n").unwrap();
    let r = reg.run(&["--db", "copy.db", "import", "--in", "swapped.jsonl"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("line 4") && r.stderr.contains("nothing was imported"),
        "{}",
        r.stderr
    );
    assert!(
        !reg.path("copy.db").exists(),
        "a failed import left a store behind"
    );
    assert!(!reg.path("copy.db.importing").exists());
}

fn python_verifier() -> Command {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/verify_export.py");
    let mut c = Command::new("python3");
    c.arg(script);
    c
}

#[test]
fn an_export_verifies_with_the_independent_python_verifier() {
    let reg = register_with_notes(25);
    reg.ok(&["export", "--out", "register.jsonl"]);
    let root = root_of(&reg.verify().stdout);
    let out = python_verifier()
        .arg(reg.path("register.jsonl"))
        .args(["--verifier-key", &reg.verifier_key])
        .output()
        .expect("python3 runs (scripts/test installs it with the cryptography package)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("OK"), "{stdout}");
    assert!(
        stdout.contains(&root),
        "the independent verifier computes root {root}: {stdout}"
    );

    // One changed letter in one entry's bytes.
    let text = std::fs::read_to_string(reg.path("register.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut v: serde_json::Value = serde_json::from_str(&lines[6]).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let bytes = b64.decode(v["bytes"].as_str().unwrap()).unwrap();
    let changed = String::from_utf8(bytes).unwrap().replace("carga", "cargo");
    v["bytes"] = b64.encode(changed).into();
    lines[6] = v.to_string();
    std::fs::write(reg.path("changed.jsonl"), lines.join("\n") + "\n").unwrap();
    let out = python_verifier()
        .arg(reg.path("changed.jsonl"))
        .args(["--verifier-key", &reg.verifier_key])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a changed entry passed the independent verifier"
    );
    let other =
        habeas_register::note::Signer::from_seed("habeas.test/register/cli", [9; 32]).unwrap();
    let out = python_verifier()
        .arg(reg.path("register.jsonl"))
        .args(["--verifier-key", &other.verifier().to_string()])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "an export verified against someone else's key"
    );
    let selftest = python_verifier().arg("--self-test").output().unwrap();
    assert!(
        selftest.status.success(),
        "{}",
        String::from_utf8_lossy(&selftest.stderr)
    );
}
