//! `habeas serve`: the real binary on a real socket; answers, refuses what it must, and stops
//! gracefully on SIGTERM.

use crate::support::{bin, Reg};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::Stdio;

pub fn http(addr: &str, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_on_loopback_and_stops_on_sigterm() {
    let reg = Reg::init(&[]);
    // Not on a public address without a TLS-terminating proxy.
    let r = reg.run(&["serve", "--listen", "0.0.0.0:0"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("listen:"), "{}", r.stderr);

    // An account made before the server starts.
    let mut add = bin();
    add.current_dir(reg.dir.path()).args([
        "user",
        "add",
        "--username",
        "carlos",
        "--role",
        "national",
    ]);
    assert_eq!(crate::support::fed(add, "otra-clave-larga\n").code, 0);

    let mut child = bin()
        .current_dir(reg.dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    let ok = http(
        &addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok
        .to_lowercase()
        .contains("x-content-type-options: nosniff"));
    let denied = http(
        &addr,
        "GET /api/persons/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    assert!(denied.contains("\"code\":\"unauthenticated\""), "{denied}");
    // A sign-in attempt is in the access log, which is a register of its own.
    let bad = r#"{"username":"nobody","password":"whatever-1"}"#;
    let refused = http(
        &addr,
        &format!("POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{bad}", bad.len()),
    );
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");

    // While the server holds the access log, the command line's changes to accounts are
    // logged through it (see many_hands.rs and users.rs): a token revoked from the console is
    // revoked by the server itself, so that no token owner it has cached outlives it.
    let r = reg.run(&[
        "user",
        "token",
        "--username",
        "carlos",
        "--name",
        "x",
        "--revoke",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("revoked 0 token(s)") && r.stdout.contains("control socket"),
        "{}",
        r.stdout
    );

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    assert_eq!(lines.next().unwrap().unwrap(), "stopped");
    // One line per request, by route pattern: no id, no password.
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("route=/api/persons/{person}") && log.contains("status=401"),
        "{log}"
    );
    assert!(
        !log.contains("/api/persons/1") && !log.contains("whatever-1"),
        "{log}"
    );
    let list = reg.ok(&["user", "list"]).stdout;
    assert!(
        list.lines()
            .any(|l| l.starts_with("carlos") && !l.contains("LOCKED")),
        "{list}"
    );
    let r = reg.ok(&["--db", "habeas.db.access", "verify"]);
    assert!(!r.stdout.contains("not yet signed"), "{}", r.stdout);
    // Entry 0 is the account made before; entry 1 the refused sign-in.
    let e = reg.ok(&["--db", "habeas.db.access", "entry", "1"]).stdout;
    assert!(
        e.contains("\"unknown_user\"") && !e.contains("whatever-1"),
        "{e}"
    );
}

/// A self-signed certificate for 127.0.0.1 and localhost, `c.pem` and `k.pem` in `dir`.
fn self_signed(dir: &std::path::Path, common_name: &str) {
    let made = std::process::Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-subj",
            &format!("/CN={common_name}"),
            "-days",
            "1",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .output()
        .expect("openssl makes the test certificate (Debian: apt-get install openssl)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
}

#[test]
fn serves_https_with_its_certificate_and_hsts() {
    let reg = Reg::init(&[]);
    let dir = reg.dir.path();
    self_signed(dir, "localhost");
    // Without both files, or with a bad one, it does not start.
    let r = reg.run(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", "c.pem"]);
    assert_ne!(r.code, 0);
    let r = reg.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "c.pem",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("tls-cert/tls-key"), "{}", r.stderr);

    let mut child = bin()
        .current_dir(dir)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on https://")
        .unwrap()
        .to_owned();
    let out = std::process::Command::new("curl")
        .current_dir(dir)
        .args([
            "-s",
            "-i",
            "--cacert",
            "c.pem",
            &format!("https://{addr}/healthz"),
        ])
        .output()
        .expect("curl is the TLS client of this test (Debian: apt-get install curl)");
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.contains(" 200"), "{text}");
    assert!(
        text.contains("strict-transport-security: max-age="),
        "{text}"
    );
    // Plain HTTP to the TLS port gets no answer from the API.
    let plain = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://{addr}/healthz"),
        ])
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");
    // A renewed certificate is taken on SIGHUP, without a restart.
    self_signed(dir, "renewed");
    std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(lines
        .next()
        .unwrap()
        .unwrap()
        .starts_with("reloaded the certificate"));
    let out = std::process::Command::new("curl")
        .current_dir(dir)
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            "c.pem",
            &format!("https://{addr}/healthz"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "the renewed certificate is served"
    );
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(lines.next().unwrap().unwrap(), "stopped");
}

/// Sign-ins for unknown users beyond the first 20 of a minute are counted, not logged one by
/// one; when the server stops, their count is written to the access log, so none is lost.
#[test]
fn counted_sign_ins_are_written_to_the_access_log_when_the_server_stops() {
    let reg = Reg::init(&[]);
    let mut child = bin()
        .current_dir(reg.dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    for k in 0..25 {
        let body = format!(r#"{{"username":"nadie-{k}","password":"whatever-1"}}"#);
        let refused = http(
            &addr,
            &format!("POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
        );
        assert!(refused.starts_with("HTTP/1.1 401"), "{k}: {refused}");
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    // 20 entries of their own and one summary of the other 5.
    let r = reg.ok(&["--db", "habeas.db.access", "verify"]);
    assert!(r.stdout.starts_with("OK: 21 entries"), "{}", r.stdout);
    let e = reg.ok(&["--db", "habeas.db.access", "entry", "20"]).stdout;
    assert!(
        e.contains("\"summary\"") && e.contains("\"unknown_user\":5"),
        "{e}"
    );
}
