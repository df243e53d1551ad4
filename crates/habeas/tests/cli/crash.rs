//! Kill -9 in the middle of many concurrent appends: every acknowledged entry survives, and
//! the register verifies and accepts new entries after the restart.

use crate::support::{bin, Reg};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Runs `stress-append` with 16 threads, kills it (SIGKILL) after 400 acknowledgements, and
/// returns every (index, marker) it acknowledged before it died.
pub(crate) fn acknowledged_then_killed(mut command: Command) -> Vec<(u64, String)> {
    let mut child = command
        .args([
            "--checkpoint-every",
            "50",
            "stress-append",
            "--threads",
            "16",
            "--count",
            "1000000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut acked: Vec<(u64, String)> = Vec::new();
    let mut line = String::new();
    while acked.len() < 400 {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the appending process stopped early"
        );
        let mut parts = line.split_whitespace();
        assert_eq!(parts.next(), Some("ack"));
        acked.push((
            parts.next().unwrap().parse().unwrap(),
            parts.next().unwrap().to_string(),
        ));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Whatever the process printed before it died was acknowledged too.
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let mut parts = line.split_whitespace();
        if let (Some("ack"), Some(i), Some(m)) = (parts.next(), parts.next(), parts.next()) {
            acked.push((i.parse().unwrap(), m.to_string()));
        }
    }
    acked
}

#[test]
fn every_acknowledged_entry_survives_sigkill() {
    let reg = Reg::init(&[]);
    let mut command = bin();
    command.current_dir(reg.dir.path());
    let acked = acknowledged_then_killed(command);
    let store = habeas_store_sqlite::SqliteStore::open(&reg.db()).unwrap();
    use habeas_register::store::Store;
    let size = store.size().unwrap();
    assert!(
        size >= acked.len() as u64,
        "{size} entries stored, {} acknowledged",
        acked.len()
    );
    for (index, marker) in &acked {
        let bytes = store
            .entry(*index)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged entry {index} is lost"));
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains(marker.as_str()),
            "entry {index} does not hold {marker}"
        );
    }
    drop(store);
    let v = reg.verify();
    assert_eq!(v.code, 0, "after the crash: {}\n{}", v.stdout, v.stderr);
    let next = reg.note("después del reinicio");
    assert_eq!(
        next, size,
        "the writer continues right after the last durable entry"
    );
    assert_eq!(reg.verify().code, 0);
}
