//! `habeas user`: accounts with the checklist's password rule, second factors for the
//! privileged roles, tokens kept as hashes, and every change in the access log, which is a
//! register of its own that `habeas verify` checks. Secrets appear nowhere on disk.

use crate::support::{bin, Reg, Run};

fn with_stdin(reg: &Reg, args: &[&str], input: &str) -> Run {
    let mut cmd = bin();
    cmd.current_dir(reg.dir.path()).args(args);
    crate::support::fed(cmd, input)
}

/// Every byte of every file beside the register, as text (lossy).
fn all_bytes(reg: &Reg) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(reg.dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && !p.to_string_lossy().ends_with(".key") {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
        }
    }
    out
}

#[test]
fn accounts_follow_the_checklist_and_every_change_is_logged() {
    let reg = Reg::init(&[]);
    std::fs::write(
        reg.path("estate.toml"),
        "[facility]\ncode = \"CECOT\"\nname = \"Centro\"\ncountry = \"SV\"\n\n[[unit]]\ncode = \"M1\"\nname = \"Módulo 1\"\ncell_count = 1\ncell_template = { area_m2 = 100, bunks = 80, cna = 24, operational_capacity = 160 }\n",
    )
    .unwrap();
    reg.ok(&["estate", "load", "estate.toml"]);

    // An inspector gets a second factor whether asked or not.
    let r = with_stdin(
        &reg,
        &["user", "add", "--username", "ines", "--role", "inspector"],
        "velero-azul-9\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let uri = r
        .stdout
        .lines()
        .find(|l| l.contains("otpauth://"))
        .unwrap()
        .trim()
        .to_owned();
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    // Custody staff work in named, existing facilities.
    let r = with_stdin(
        &reg,
        &[
            "user",
            "add",
            "--username",
            "carlos",
            "--role",
            "custody",
            "--facility",
            "CECOT",
        ],
        "río-lempa-1932\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("otpauth"), "{}", r.stdout);

    // Refusals name the field and write nothing.
    for (args, input, field) in [
        (
            vec!["--username", "eva", "--role", "national"],
            "123456789\n",
            "password",
        ),
        (
            vec!["--username", "eva", "--role", "national"],
            "corta\n",
            "password",
        ),
        (
            vec!["--username", "eva", "--role", "national"],
            "\n",
            "password",
        ),
        (
            vec!["--username", "eva", "--role", "custody"],
            "velero-azul-9\n",
            "facility",
        ),
        (
            vec![
                "--username",
                "eva",
                "--role",
                "custody",
                "--facility",
                "NOPE",
            ],
            "velero-azul-9\n",
            "facility",
        ),
        (
            vec![
                "--username",
                "eva",
                "--role",
                "inspector",
                "--facility",
                "CECOT",
            ],
            "velero-azul-9\n",
            "facility",
        ),
        (
            vec!["--username", "eva", "--role", "warden"],
            "velero-azul-9\n",
            "role",
        ),
        (
            vec!["--username", "Eva Díaz", "--role", "national"],
            "velero-azul-9\n",
            "username",
        ),
        (
            vec!["--username", "ines", "--role", "national"],
            "velero-azul-9\n",
            "username",
        ),
    ] {
        let mut full = vec!["user", "add"];
        full.extend(args);
        let r = with_stdin(&reg, &full, input);
        assert_ne!(r.code, 0, "{full:?}");
        assert!(
            r.stderr.contains(&format!("{field}:")),
            "{full:?}: {}",
            r.stderr
        );
    }
    let list = reg.ok(&["user", "list", "--format", "json"]);
    let users: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["carlos", "ines"]);
    assert_eq!(users[1]["mfa"], true);
    assert_eq!(users[0]["facilities"], serde_json::json!(["CECOT"]));
    assert!(!list.stdout.contains("argon2") && !list.stdout.contains(&secret));

    // Lock, unlock, a new password, a token.
    reg.ok(&["user", "lock", "--username", "carlos"]);
    let list = reg.ok(&["user", "list"]);
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with("carlos") && l.contains("LOCKED")),
        "{}",
        list.stdout
    );
    reg.ok(&["user", "unlock", "--username", "carlos"]);
    let r = with_stdin(
        &reg,
        &["user", "reset-password", "--username", "carlos"],
        "otra-clave-larga\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A token is a machine account's: never a person's (they issue their own, signed in).
    let r = reg.run(&[
        "user",
        "token",
        "--username",
        "ines",
        "--name",
        "court feed",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("username:"), "{}", r.stderr);
    // A machine account takes no password and no privileged role.
    let r = reg.run(&[
        "user",
        "add",
        "--machine",
        "--username",
        "feed",
        "--role",
        "inspector",
    ]);
    assert!(r.code != 0 && r.stderr.contains("role:"), "{}", r.stderr);
    reg.ok(&[
        "user",
        "add",
        "--machine",
        "--username",
        "court.feed",
        "--role",
        "legal",
        "--facility",
        "CECOT",
    ]);
    let r = reg.run(&[
        "user",
        "token",
        "--username",
        "court.feed",
        "--name",
        "court feed",
        "--days",
        "400",
    ]);
    assert!(r.code != 0 && r.stderr.contains("days:"), "{}", r.stderr);
    let r = reg.ok(&[
        "user",
        "token",
        "--username",
        "court.feed",
        "--name",
        "court feed",
        "--days",
        "30",
    ]);
    let token = r.stdout.lines().last().unwrap().trim().to_owned();
    assert_eq!(token.len(), 43);
    let listed = reg.ok(&["user", "token", "--list", "--format", "json"]);
    let tokens: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(tokens[0]["username"], "court.feed");
    assert_eq!(tokens[0]["issued_by"], "test.officer");
    assert_eq!(
        tokens[0]["expires_at"].as_i64().unwrap() - tokens[0]["created_at"].as_i64().unwrap(),
        30 * 86_400_000
    );
    assert!(!listed.stdout.contains(&token));
    let table = reg.ok(&["user", "token", "--list"]).stdout;
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("court.feed") && l.ends_with("live")),
        "{table}"
    );
    assert_ne!(reg.run(&["user", "lock", "--username", "nobody"]).code, 0);

    // No password or token is stored or logged in the clear. (A TOTP secret must be kept to
    // check codes: it is in the accounts table, never in the access log or any output after
    // enrolment.)
    let bytes = all_bytes(&reg);
    for secret_text in [
        "velero-azul-9",
        "río-lempa-1932",
        "otra-clave-larga",
        &token,
    ] {
        assert!(!bytes.contains(secret_text), "{secret_text} found on disk");
    }
    let mut log_bytes = std::fs::read(reg.path("habeas.db.access")).unwrap();
    if let Ok(wal) = std::fs::read(reg.path("habeas.db.access-wal")) {
        log_bytes.extend(wal);
    }
    assert!(!String::from_utf8_lossy(&log_bytes).contains(&secret));

    // The access log is a register of its own: it verifies, and holds each change by whom.
    let r = reg.ok(&["--db", "habeas.db.access", "verify"]);
    assert!(!r.stdout.contains("not yet signed"), "{}", r.stdout);
    reg.ok(&[
        "--db",
        "habeas.db.access",
        "export",
        "--out",
        "access.jsonl",
    ]);
    let log = std::fs::read_to_string(reg.path("access.jsonl")).unwrap();
    let actions: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|l| {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(l["bytes"].as_str()?)
                .ok()?;
            serde_json::from_slice::<serde_json::Value>(&bytes).ok()
        })
        .filter(|e| e["kind"] == "access.account")
        .map(|e| {
            assert_eq!(e["actor"], "test.officer");
            format!(
                "{}:{}",
                e["payload"]["username"].as_str().unwrap(),
                e["payload"]["action"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            "ines:added",
            "carlos:added",
            "carlos:locked",
            "carlos:unlocked",
            "carlos:password_reset",
            "court.feed:added",
            "court.feed:token_issued"
        ]
    );
}

#[test]
fn reading_a_file_and_exporting_the_register_are_in_the_access_log() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::demo_in(dir.path(), "d.db", "cecot", "60", "2");
    let report: serde_json::Value = serde_json::from_slice(&crate::support::run_in(
        dir.path(),
        &[
            "--db",
            "d.db",
            "report",
            "compliance",
            "--as-of",
            "2025-05-31",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    let booking = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|f| f["subject"]["booking"].as_u64())
        .unwrap();
    crate::support::run_in(
        dir.path(),
        &[
            "--db",
            "d.db",
            "person",
            "show",
            &booking.to_string(),
            "--booking",
        ],
    );
    crate::support::run_in(dir.path(), &["--db", "d.db", "export", "--out", "r.jsonl"]);
    crate::support::run_in(
        dir.path(),
        &["--db", "d.db.access", "export", "--out", "a.jsonl"],
    );
    assert!(
        !dir.path().join("d.db.access.access").exists(),
        "an access log logs itself nowhere"
    );
    let kinds: Vec<(String, String, String)> = std::fs::read_to_string(dir.path().join("a.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|l| {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(l["bytes"].as_str()?)
                .ok()?;
            serde_json::from_slice::<serde_json::Value>(&bytes).ok()
        })
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    // The report names people: listed, with who asked.
    assert_eq!(
        (kinds[0].0.as_str(), kinds[0].2.as_str()),
        ("access.listed", "list:compliance report")
    );
    assert_eq!(kinds[1].0, "access.read");
    assert_eq!(kinds[1].1, "user:test.officer");
    assert!(kinds[1].2.starts_with("person:"));
    assert_eq!(kinds[2].0, "access.disclosure");
}

/// The access log's entries, decoded, from an export of `<db>.access`.
fn access_entries(reg: &Reg) -> Vec<serde_json::Value> {
    let _ = std::fs::remove_file(reg.path("access-now.jsonl"));
    reg.ok(&[
        "--db",
        "habeas.db.access",
        "export",
        "--out",
        "access-now.jsonl",
    ]);
    std::fs::read_to_string(reg.path("access-now.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|l| {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(l["bytes"].as_str()?)
                .ok()?;
            serde_json::from_slice::<serde_json::Value>(&bytes).ok()
        })
        .collect()
}

#[test]
fn a_locked_out_administrator_is_unlocked_from_the_console_while_the_server_runs() {
    use std::io::BufRead as _;
    let reg = Reg::init(&[]);
    let r = with_stdin(
        &reg,
        &[
            "user",
            "add",
            "--username",
            "admin",
            "--role",
            "administrator",
        ],
        "velero-azul-9\n",
    );
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
    // The only administrator is never locked by hand.
    let r = reg.run(&["user", "lock", "--username", "admin"]);
    assert!(
        r.code != 0 && r.stderr.contains("username:") && r.stderr.contains("last active"),
        "{}",
        r.stderr
    );

    let mut child = crate::support::bin()
        .current_dir(reg.dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    // Only the server's user may connect to its control socket.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(reg.path("habeas.db.control.sock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let sign_in = |body: &str| {
        crate::serve::http(
            &addr,
            &format!("POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
        )
    };
    // Five bad passwords lock the administrator; then even the right one is refused.
    for _ in 0..5 {
        let r = sign_in(r#"{"username":"admin","password":"no-es-la-clave"}"#);
        assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    }
    let r = sign_in(r#"{"username":"admin","password":"velero-azul-9"}"#);
    // (One answer for every failed sign-in: the access log says it was locked.)
    assert!(
        r.starts_with("HTTP/1.1 401") && r.contains("\"code\":\"bad_credentials\""),
        "{r}"
    );

    // The break-glass: from the console, through the running server.
    let r = reg.ok(&["user", "unlock", "--username", "admin"]);
    assert!(r.stdout.contains("control socket"), "{}", r.stdout);
    let list = reg.ok(&["user", "list"]).stdout;
    assert!(
        list.lines()
            .any(|l| l.starts_with("admin") && !l.contains("LOCKED")),
        "{list}"
    );
    // And the rule holds there too.
    let r = reg.run(&["user", "lock", "--username", "admin"]);
    assert!(
        r.code != 0 && r.stderr.contains("last active"),
        "{}",
        r.stderr
    );
    #[expect(
        clippy::disallowed_methods,
        reason = "the server's clock checks the code"
    )]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = habeas_web::auth::totp_code(&secret, now).unwrap();
    let r = sign_in(&format!(
        r#"{{"username":"admin","password":"velero-azul-9","code":"{code}"}}"#
    ));
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        !reg.path("habeas.db.control.sock").exists(),
        "the socket goes with the server"
    );
    // The access log has the unlock, by the operating-system user who ran it.
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8(me.stdout).unwrap().trim().to_owned();
    let unlocks: Vec<String> = access_entries(&reg)
        .iter()
        .filter(|e| e["kind"] == "access.account" && e["payload"]["action"] == "unlocked")
        .map(|e| {
            format!(
                "{} {}",
                e["actor"].as_str().unwrap(),
                e["subject"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(unlocks, [format!("os:{me} user:admin")]);
    // After the server, the command line does it itself again.
    let r = reg.ok(&["user", "unlock", "--username", "admin"]);
    assert!(!r.stdout.contains("control socket"), "{}", r.stdout);
}
