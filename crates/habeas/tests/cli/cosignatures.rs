//! The witnesses' cosignatures travel with the register: `habeas copy` (SQLite to SQLite, and
//! to PostgreSQL and back when there is one) and `habeas export` then `habeas import` carry
//! every one, each checked against its checkpoint; a damaged one stops them, naming it.

use crate::support::{bin, Reg, Run};
use habeas_register::store::{Store as _, StoredCosignature};
use habeas_register::witness::CosignerKey;
use habeas_store_sqlite::SqliteStore;
use std::path::Path;

const FIRST: &str = "habeas.test/witness/first";
const SECOND: &str = "habeas.test/witness/second";

/// A witness's key, made by `habeas witness keygen` in the register's directory; the key and
/// its verifier key.
fn keygen(reg: &Reg, name: &str, file: &str) -> (CosignerKey, String) {
    let r = reg.ok(&["witness", "keygen", "--name", name, "--out", file]);
    let vkey = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("verifier key: "))
        .expect("keygen prints the verifier key")
        .to_owned();
    let key = CosignerKey::parse(&std::fs::read_to_string(reg.path(file)).unwrap()).unwrap();
    assert_eq!(key.verifier().to_string(), vkey);
    (key, vkey)
}

/// The cosignature by `key` of the register's checkpoint of `size` at `timestamp`, as the
/// witness answers it (`habeas witness serve` signs with the same key type and code).
fn cosignature(db: &Path, key: &CosignerKey, size: u64, timestamp: u64) -> StoredCosignature {
    let store = SqliteStore::open(db).unwrap();
    let cp = store
        .checkpoints()
        .unwrap()
        .into_iter()
        .rev()
        .find(|c| c.size == size)
        .unwrap_or_else(|| panic!("no checkpoint of size {size}"));
    let (text, _) = cp.note.split_once("\n\n").unwrap();
    StoredCosignature {
        size,
        witness: key.verifier().to_string(),
        timestamp,
        line: key.cosign(&format!("{text}\n"), timestamp).unwrap(),
    }
}

/// Keeps cosignatures in the register's file, as `habeas serve --witness` does once each
/// verifies.
fn keep(db: &Path, rows: &[StoredCosignature]) {
    let kept = SqliteStore::open(db)
        .unwrap()
        .put_cosignatures(rows)
        .unwrap();
    assert_eq!(kept, rows.len());
}

fn kept(db: &Path) -> Vec<StoredCosignature> {
    SqliteStore::open(db).unwrap().cosignatures().unwrap()
}

/// Appends `n` notes and signs a checkpoint over them; the register's size.
fn grow(reg: &Reg, n: usize) -> u64 {
    reg.ok(&[
        "stress-append",
        "--threads",
        "2",
        "--count",
        &n.to_string(),
        "--facility",
        "CECOT",
    ]);
    reg.ok(&["checkpoint"]);
    reg.size()
}

/// A register with two checkpoints cosigned: the first by one witness, the latest by two.
struct Witnessed {
    reg: Reg,
    keys: [String; 2],
    second: CosignerKey,
    sizes: [u64; 2],
    cosignatures: Vec<StoredCosignature>,
}

fn witnessed() -> Witnessed {
    let reg = Reg::init(&[]);
    let (first, first_vkey) = keygen(&reg, FIRST, "first.key");
    let (second, second_vkey) = keygen(&reg, SECOND, "second.key");
    let early = grow(&reg, 30);
    let late = grow(&reg, 12);
    assert!(late > early);
    let cosignatures = vec![
        cosignature(&reg.db(), &first, early, 1_767_225_600),
        cosignature(&reg.db(), &first, late, 1_767_225_660),
        cosignature(&reg.db(), &second, late, 1_767_225_661),
    ];
    keep(&reg.db(), &cosignatures);
    // Entries after the latest checkpoint: no cosignature covers them.
    reg.note("después del último punto de control");
    Witnessed {
        reg,
        keys: [first_vkey, second_vkey],
        second,
        sizes: [early, late],
        cosignatures,
    }
}

impl Witnessed {
    /// `habeas verify --witness` with both witnesses, on `db` (a file or an address): what it
    /// says of them.
    fn witnesses_of(&self, db: &str) -> String {
        let r = self.reg.ok(&[
            "--db",
            db,
            "verify",
            "--verifier-key",
            &self.reg.verifier_key,
            "--witness",
            &self.keys[0],
            "--witness",
            &self.keys[1],
        ]);
        r.stdout
            .lines()
            .find(|l| l.starts_with("witnesses:"))
            .unwrap_or_else(|| panic!("no witnesses line in {}", r.stdout))
            .to_owned()
    }

    /// What `verify --witness` must say of a store holding the three cosignatures.
    fn assert_all_three(&self, said: &str) {
        assert!(said.contains("3 cosignatures checked"), "{said}");
        assert!(
            said.contains(&format!(
                "of size {}, is cosigned by {FIRST}, {SECOND}",
                self.sizes[1]
            )),
            "{said}"
        );
    }

    /// A cosignature by the second witness of the first checkpoint with one character of its
    /// signature changed.
    fn damaged(&self) -> StoredCosignature {
        let mut c = cosignature(&self.reg.db(), &self.second, self.sizes[0], 1_767_225_700);
        c.line = changed_signature(&c.line);
        c
    }
}

/// A signature line with one base64 character of its signature changed.
fn changed_signature(line: &str) -> String {
    let mut bytes = line.as_bytes().to_vec();
    let at = bytes.len() - 6;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn copy_carries_every_cosignature_and_checks_each() {
    let w = witnessed();
    let source = w.witnesses_of("habeas.db");
    w.assert_all_three(&source);

    let r = w
        .reg
        .ok(&["copy", "--from", "habeas.db", "--to", "copy.db"]);
    assert!(r.stdout.contains("and 3 cosignatures from"), "{}", r.stdout);
    assert_eq!(kept(&w.reg.path("copy.db")), w.cosignatures);
    assert_eq!(w.witnesses_of("copy.db"), source);
}

#[test]
fn copy_refuses_a_source_with_a_damaged_cosignature() {
    let w = witnessed();
    let bad = w.damaged();
    keep(&w.reg.db(), std::slice::from_ref(&bad));
    let r = w
        .reg
        .run(&["copy", "--from", "habeas.db", "--to", "copy.db"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "the cosignature by {} of the checkpoint of size {} does not verify",
            bad.witness, bad.size
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("not copied"), "{}", r.stderr);
    assert!(!r.stdout.contains("copied"), "{}", r.stdout);
    assert!(
        !w.reg.path("copy.db").exists(),
        "nothing is written when a cosignature does not verify"
    );

    // One kept for a checkpoint the register never signed is damage too.
    let w = witnessed();
    let mut orphan = cosignature(&w.reg.db(), &w.second, w.sizes[0], 1_767_225_700);
    orphan.size = w.sizes[0] + 1;
    keep(&w.reg.db(), std::slice::from_ref(&orphan));
    let r = w
        .reg
        .run(&["copy", "--from", "habeas.db", "--to", "copy.db"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "kept for a checkpoint of size {}, but the register has no checkpoint of that size",
            orphan.size
        )),
        "{}",
        r.stderr
    );
    assert!(!w.reg.path("copy.db").exists());
}

#[test]
fn export_then_import_carries_every_cosignature() {
    let w = witnessed();
    let r = w.reg.ok(&["export", "--out", "register.jsonl"]);
    assert!(r.stdout.contains("and 3 cosignatures to"), "{}", r.stdout);
    let text = std::fs::read_to_string(w.reg.path("register.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["version"], 2, "an export with cosignatures");
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    let first_cosignature = types.iter().position(|t| *t == "cosignature").unwrap();
    assert!(
        types[first_cosignature..]
            .iter()
            .all(|t| *t == "cosignature"),
        "cosignatures come last: {types:?}"
    );
    assert_eq!(types.len() - first_cosignature, 3);
    assert_eq!(lines[first_cosignature]["witness"], w.keys[0].as_str());
    assert_eq!(
        lines[first_cosignature]["line"],
        w.cosignatures[0].line.as_str()
    );

    let r = w.reg.ok(&[
        "--db",
        "imported.db",
        "import",
        "--in",
        "register.jsonl",
        "--verifier-key",
        &w.reg.verifier_key,
    ]);
    assert!(r.stdout.contains("and 3 cosignatures into"), "{}", r.stdout);
    assert_eq!(kept(&w.reg.path("imported.db")), w.cosignatures);
    assert_eq!(w.witnesses_of("imported.db"), w.witnesses_of("habeas.db"));

    // An export written before cosignatures were exported (version 1, none of their lines)
    // still imports.
    let old: Vec<String> = lines
        .iter()
        .filter(|l| l["type"] != "cosignature")
        .map(|l| {
            let mut l = l.clone();
            if l["type"] == "header" {
                l["version"] = 1.into();
            }
            l.to_string()
        })
        .collect();
    std::fs::write(w.reg.path("old.jsonl"), old.join("\n") + "\n").unwrap();
    let r = w.reg.ok(&[
        "--db",
        "old.db",
        "import",
        "--in",
        "old.jsonl",
        "--verifier-key",
        &w.reg.verifier_key,
    ]);
    assert!(r.stdout.contains("and 0 cosignatures into"), "{}", r.stdout);
    assert!(kept(&w.reg.path("old.db")).is_empty());
    // A version 1 export holds no cosignature lines.
    let mut mixed = old.clone();
    mixed.push(lines[first_cosignature].to_string());
    std::fs::write(w.reg.path("mixed.jsonl"), mixed.join("\n") + "\n").unwrap();
    let r = w
        .reg
        .run(&["--db", "mixed.db", "import", "--in", "mixed.jsonl"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("holds no cosignatures"), "{}", r.stderr);
    assert!(!w.reg.path("mixed.db").exists());

    // A register nobody cosigned still exports as version 1.
    let plain = Reg::init(&[]);
    grow(&plain, 5);
    let r = plain.ok(&["export", "--out", "plain.jsonl"]);
    assert!(r.stdout.contains("and 0 cosignatures to"), "{}", r.stdout);
    let header = std::fs::read_to_string(plain.path("plain.jsonl")).unwrap();
    let header: serde_json::Value = serde_json::from_str(header.lines().next().unwrap()).unwrap();
    assert_eq!(header["version"], 1);
}

#[test]
fn an_export_with_a_changed_cosignature_imports_nothing() {
    let w = witnessed();
    w.reg.ok(&["export", "--out", "register.jsonl"]);
    let text = std::fs::read_to_string(w.reg.path("register.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len() - 1;
    let mut last: serde_json::Value = serde_json::from_str(&lines[n]).unwrap();
    assert_eq!(last["type"], "cosignature");
    last["line"] = changed_signature(last["line"].as_str().unwrap()).into();
    lines[n] = last.to_string();
    std::fs::write(w.reg.path("changed.jsonl"), lines.join("\n") + "\n").unwrap();
    let r = w
        .reg
        .run(&["--db", "copy.db", "import", "--in", "changed.jsonl"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let c = &w.cosignatures[2];
    assert!(
        r.stderr.contains(&format!(
            "line {}: the cosignature by {} of the checkpoint of size {} does not verify",
            n + 1,
            c.witness,
            c.size
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was imported"), "{}", r.stderr);
    assert!(!w.reg.path("copy.db").exists());

    // Nor does a register whose kept cosignature is damaged export.
    keep(&w.reg.db(), &[w.damaged()]);
    let r = w.reg.run(&["export", "--out", "again.jsonl"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("does not verify"), "{}", r.stderr);
    assert!(!w.reg.path("again.jsonl").exists());
}

/// The independent verifier (tools/verify_export.py) on `file` in the register's directory,
/// with the register's key.
fn python_verifier(reg: &Reg, file: &str) -> Run {
    python_verifier_with(reg, file, &[])
}

/// The independent verifier with more arguments (`--witness`, `--witness-quorum`).
fn python_verifier_with(reg: &Reg, file: &str, args: &[&str]) -> Run {
    std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tools/verify_export.py"
        ))
        .arg(reg.path(file))
        .args(["--verifier-key", &reg.verifier_key])
        .args(args)
        .output()
        .expect("python3 runs (scripts/test installs it with the cryptography package)")
        .into()
}

#[test]
fn the_independent_verifier_checks_every_cosignature_of_an_export() {
    let w = witnessed();
    w.reg.ok(&["export", "--out", "register.jsonl"]);
    let r = python_verifier(&w.reg, "register.jsonl");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("OK"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("cosignatures: 3 verified, by 2 witnesses"),
        "{}",
        r.stdout
    );
    for (key, n) in [
        (&w.keys[0], "2 cosignatures"),
        (&w.keys[1], "1 cosignature"),
    ] {
        let said = format!(
            "  {key}: {n}, the largest of size {} (the latest checkpoint)",
            w.sizes[1]
        );
        assert!(r.stdout.contains(&said), "{said:?} in {}", r.stdout);
    }

    let text = std::fs::read_to_string(w.reg.path("register.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Line numbers count from 1: the cosignature at position i is on line i + 1.
    let first = lines
        .iter()
        .position(|l| l["type"] == "cosignature")
        .unwrap();
    let last = lines.len() - 1;
    assert_eq!(lines[first]["size"], w.sizes[0]);
    assert_eq!(lines[last]["witness"], w.keys[1].as_str());
    let refused = |file: &str, edit: &dyn Fn(&mut Vec<serde_json::Value>), want: &str| {
        let mut changed = lines.clone();
        edit(&mut changed);
        let body: String = changed.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(w.reg.path(file), body).unwrap();
        let r = python_verifier(&w.reg, file);
        assert_eq!(
            r.code, 1,
            "{file} passed the independent verifier: {}",
            r.stdout
        );
        assert!(r.stderr.contains(want), "{file}: {want:?} in {}", r.stderr);
    };

    // One character of the second witness's signature changed.
    refused(
        "changed.jsonl",
        &|l| l[last]["line"] = changed_signature(l[last]["line"].as_str().unwrap()).into(),
        &format!(
            "line {}: the cosignature by {} of the checkpoint of size {} does not verify",
            last + 1,
            w.keys[1],
            w.sizes[1]
        ),
    );
    // A cosignature said to be of a size the register never signed a checkpoint of.
    refused(
        "orphan.jsonl",
        &|l| l[first]["size"] = (w.sizes[0] + 1).into(),
        &format!(
            "line {}: the cosignature by {} is of a checkpoint of size {}, but the export holds no checkpoint of that size",
            first + 1,
            w.keys[0],
            w.sizes[0] + 1
        ),
    );
    // Its timestamp differs from the one inside the cosignature.
    refused(
        "timestamp.jsonl",
        &|l| l[first]["timestamp"] = 1_767_225_601.into(),
        &format!(
            "line {}: the cosignature by {} of the checkpoint of size {} does not verify: it was made at 1767225600",
            first + 1,
            w.keys[0],
            w.sizes[0]
        ),
    );
    // A version 1 export has no cosignature lines.
    refused(
        "version1.jsonl",
        &|l| l[0]["version"] = 1.into(),
        &format!(
            "line {}: a cosignature line in a version 1 export",
            first + 1
        ),
    );
    // Without them it is a version 1 export as before, and says so.
    let plain: String = lines
        .iter()
        .filter(|l| l["type"] != "cosignature")
        .map(|l| {
            let mut l = l.clone();
            if l["type"] == "header" {
                l["version"] = 1.into();
            }
            format!("{l}\n")
        })
        .collect();
    std::fs::write(w.reg.path("plain.jsonl"), plain).unwrap();
    let r = python_verifier(&w.reg, "plain.jsonl");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("cosignatures: none (a version 1 export carries none)"),
        "{}",
        r.stdout
    );
}

/// An inspector who holds the witnesses' keys, obtained from the witnesses themselves, asks the
/// independent verifier which entries a quorum of them has seen.
#[test]
fn the_independent_verifier_names_what_a_quorum_of_trusted_witnesses_has_seen() {
    let w = witnessed();
    w.reg.ok(&["export", "--out", "register.jsonl"]);
    let both = ["--witness", &w.keys[0], "--witness", &w.keys[1]];
    let r = python_verifier_with(&w.reg, "register.jsonl", &both);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let size = w.sizes[1];
    let said = format!(
        "witnessed: the checkpoint of size {size} is cosigned by {FIRST}, {SECOND} (2 of the 2 witnesses given required); it vouches for the first {size} entries"
    );
    assert!(r.stdout.contains(&said), "{said:?} in {}", r.stdout);
    // What was written after the latest cosigned checkpoint is not witnessed.
    let text = std::fs::read_to_string(w.reg.path("register.jsonl")).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let n = header["size"].as_u64().unwrap();
    // The note written after the latest checkpoint.
    assert_eq!(n, size + 1);
    let said = format!("not witnessed: 1 entry (index {size})");
    assert!(r.stdout.contains(&said), "{said:?} in {}", r.stdout);
    assert!(!r.stdout.contains("compare each with"), "{}", r.stdout);

    // Without the second witness's cosignature, both are not a quorum; the first alone is.
    let kept: String = text
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            !(v["type"] == "cosignature" && v["witness"] == w.keys[1].as_str())
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(w.reg.path("one.jsonl"), kept).unwrap();
    let r = python_verifier_with(&w.reg, "one.jsonl", &both);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains(
            "no checkpoint is cosigned by 2 of the 2 witnesses given (2 of their cosignatures verified)"
        ),
        "{}",
        r.stderr
    );
    let mut quorum = both.to_vec();
    quorum.extend(["--witness-quorum", "1"]);
    let r = python_verifier_with(&w.reg, "one.jsonl", &quorum);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "witnessed: the checkpoint of size {size} is cosigned by {FIRST} (1 of the 2 witnesses given required)"
        )),
        "{}",
        r.stdout
    );
    // A witness who cosigned nothing in the export: the second, named alone.
    let r = python_verifier_with(&w.reg, "one.jsonl", &["--witness", &w.keys[1]]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("no checkpoint is cosigned by 1 of the 1 witnesses given (0 of their cosignatures verified)"),
        "{}",
        r.stderr
    );
}

#[test]
fn postgres_copy_carries_every_cosignature_there_and_back() {
    let schema = match habeas_store_postgres::testing::ScratchSchema::new() {
        Ok(s) => s,
        Err(e) if std::env::var_os(habeas_store_postgres::testing::TEST_DATABASE_VAR).is_none() => {
            eprintln!("skipped: no PostgreSQL ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let w = witnessed();
    let source = w.witnesses_of("habeas.db");
    let url = schema.url();
    let r = w.reg.ok(&["copy", "--from", "habeas.db", "--to", &url]);
    assert!(r.stdout.contains("and 3 cosignatures from"), "{}", r.stdout);
    let on_pg = habeas_store_postgres::PostgresStore::open(&url)
        .unwrap()
        .cosignatures()
        .unwrap();
    assert_eq!(on_pg, w.cosignatures);
    // `verify --witness` reads them from PostgreSQL.
    let r: Run = bin()
        .current_dir(w.reg.dir.path())
        .env("HABEAS_DB", &url)
        .args([
            "verify",
            "--verifier-key",
            &w.reg.verifier_key,
            "--witness",
            &w.keys[0],
            "--witness",
            &w.keys[1],
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&source), "{}", r.stdout);

    let r = w.reg.ok(&["copy", "--from", &url, "--to", "back.db"]);
    assert!(r.stdout.contains("and 3 cosignatures from"), "{}", r.stdout);
    assert_eq!(kept(&w.reg.path("back.db")), w.cosignatures);
    assert_eq!(w.witnesses_of("back.db"), source);
}
