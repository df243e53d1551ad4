//! A failing fsync gives the caller an error, never an acknowledgement, and leaves the
//! register consistent. Faults are injected with strace (Debian package `strace`).

use crate::support::Reg;
use std::process::Command;

#[test]
fn a_failing_fsync_is_an_error_and_writes_nothing() {
    let reg = Reg::init(&[]);
    reg.note("antes del fallo");
    let out = Command::new("strace")
        .current_dir(reg.dir.path())
        .env("HABEAS_ACTOR", "test.officer")
        .args([
            "-f",
            "-o",
            "/dev/null",
            "-e",
            "trace=fsync,fdatasync",
            "-e",
            "inject=fsync,fdatasync:error=EIO",
        ])
        .arg(env!("CARGO_BIN_EXE_habeas"))
        .args([
            "logbook",
            "add",
            "--facility",
            "CECOT",
            "--text",
            "durante el fallo",
        ])
        .output()
        .expect("strace runs (.ci/run installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("nothing was recorded") && stderr.contains("I/O error"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("recorded as entry"));
    let v = reg.verify();
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert_eq!(reg.size(), 1, "the failed append is not in the register");
    assert_eq!(reg.note("después del fallo"), 1, "the register goes on");
    assert_eq!(reg.verify().code, 0);
}

#[test]
fn a_full_disk_is_an_error_and_writes_nothing() {
    let reg = Reg::init(&[]);
    reg.note("antes del disco lleno");
    let out = Command::new("strace")
        .current_dir(reg.dir.path())
        .env("HABEAS_ACTOR", "test.officer")
        .args([
            "-f",
            "-o",
            "/dev/null",
            "-e",
            "trace=pwrite64,write",
            "-e",
            "inject=pwrite64:error=ENOSPC",
        ])
        .arg(env!("CARGO_BIN_EXE_habeas"))
        .args([
            "logbook",
            "add",
            "--facility",
            "CECOT",
            "--text",
            "con el disco lleno",
        ])
        .output()
        .expect("strace runs (.ci/run installs it)");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("recorded as entry"));
    assert_eq!(reg.verify().code, 0);
    assert_eq!(reg.size(), 1, "nothing was written");
    assert_eq!(reg.note("con espacio otra vez"), 1);
}
