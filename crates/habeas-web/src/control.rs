//! The server's local control channel: commands from the machine's console, carried out by the
//! running server under the same rules as the API and logged in its access log. `habeas serve`
//! listens on a Unix domain socket beside the store (`<db>.control.sock`, mode 0600) and
//! reads each peer's operating-system user from the socket (SO_PEERCRED); the binary does the
//! listening, this module the commands.
//!
//! The protocol is one JSON line each way:
//!
//! ```text
//! → {"command": "user.unlock", "args": {"username": "admin"}}
//! ← {"ok": true, "result": {"username": "admin", "action": "unlocked"}}
//! ← {"ok": false, "error": {"code": "invalid_field", "message": "…", "field": "username"}}
//! ```
//!
//! Commands are named `<noun>.<verb>`; those of accounts are `user.list`, `user.lock`,
//! `user.unlock` and `user.reset-password` (args `username`, and `password` for the last).
//! Each change is an `access.account` entry whose actor is the peer, `os:<user>`.

use crate::access::Event;
use crate::server::AppState;
use serde_json::{json, Value};

/// The commands this channel carries out.
pub const COMMANDS: &[&str] = &[
    "user.list",
    "user.lock",
    "user.unlock",
    "user.reset-password",
];

/// The longest request line taken, in bytes.
pub const MAX_REQUEST: usize = 64 * 1024;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    command: String,
    #[serde(default)]
    args: serde_json::Map<String, Value>,
}

fn failed(code: &str, message: impl Into<String>, field: Option<&str>) -> Value {
    json!({"ok": false, "error": {"code": code, "message": message.into(), "field": field}})
}

/// The answer to one request line from `actor` (`os:<user>`), as one JSON line (without its
/// newline). Blocking: it reads the accounts and waits for the access log.
pub fn answer(state: &AppState, actor: &str, line: &str) -> String {
    let v = match serde_json::from_str::<Request>(line.trim()) {
        Ok(r) => carry_out(state, actor, &r),
        Err(e) => failed(
            "invalid_field",
            format!("request: {e}; send {{\"command\": …, \"args\": {{…}}}}"),
            Some("request"),
        ),
    };
    v.to_string()
}

fn carry_out(state: &AppState, actor: &str, r: &Request) -> Value {
    let arg = |name: &'static str| -> Result<String, Value> {
        r.args
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                failed(
                    "invalid_field",
                    format!("{name}: required (a string) for {}", r.command),
                    Some(name),
                )
            })
    };
    let now = state.now();
    let a = &state.accounts;
    let done = match r.command.as_str() {
        "user.list" => {
            return match a.users() {
                Ok(users) => json!({"ok": true, "result": {"users": users}}),
                Err(e) => failed("internal", e.to_string(), None),
            }
        }
        "user.lock" | "user.unlock" => match arg("username") {
            Ok(u) => crate::users::set_locked(a, &u, r.command == "user.lock", now),
            Err(e) => return e,
        },
        "user.reset-password" => match (arg("username"), arg("password")) {
            (Ok(u), Ok(p)) => crate::users::reset_password(a, &u, &p, now),
            (Err(e), _) | (_, Err(e)) => return e,
        },
        other => {
            return failed(
                "invalid_field",
                format!("command: {other:?} is not one of {}", COMMANDS.join(", ")),
                Some("command"),
            )
        }
    };
    let done = match done {
        Ok(d) => d,
        Err(e) => {
            let code = match &e {
                crate::users::UserError::Conflict(_) => "conflict",
                crate::users::UserError::Forbidden(_) => "forbidden",
                crate::users::UserError::Store(_) => "internal",
                crate::users::UserError::Invalid(_) => "invalid_field",
            };
            return failed(code, e.to_string(), e.field());
        }
    };
    // Done only once it is durable in the access log, as through the API.
    let logged = state.log(&[Event::Account {
        by: actor,
        username: &done.username,
        action: done.action,
        detail: done.detail.clone(),
    }]);
    match logged {
        Ok(()) => json!({"ok": true, "result": {"username": done.username, "action": done.action}}),
        Err(e) => failed(
            "internal",
            format!("done, but the access log failed: {}", e.code()),
            None,
        ),
    }
}
