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
//! Commands are named `<noun>.<verb>`:
//!
//! - `session`: who the server takes the peer to be (`{"actor": "os:<user>"}`): the command
//!   line builds its entries in that name.
//! - `register.append` (args `drafts`, a list of `{actor, facility, kind, subject, payload,
//!   corrects}`, and `each`): the command line's entries, checked by the server's own writer
//!   exactly as the API's are (the state of the records, the object's facility) and appended
//!   all or nothing, or with `each` one by one (`results`, a receipt or an error each). Every
//!   draft's actor must be the peer's.
//! - `register.checkpoint`: signs a checkpoint if the register grew; the latest one.
//! - `access.log` (args `events`, each `{"event": "read"|"listed"|"disclosure"|"account", …}`):
//!   a read the command line is about to show, or a change it made to an account, in the
//!   access log under the peer's name.
//! - `user.list`, `user.lock`, `user.unlock`, `user.reset-password` and `user.token-revoke`
//!   (args `username`, and `password` or the token's `name`). Each change is an `access.account` entry whose actor is the
//!   peer, `os:<user>`.
//!
//! The peer is the server's own operating-system user or root: those who can read the
//! register's signing key and so could write it without the server. The channel gives them
//! nothing more than that, only one writer and one access log.

use crate::access::Event;
use crate::state::AppState;
use serde_json::{json, Value};

/// The commands this channel carries out.
pub const COMMANDS: &[&str] = &[
    "session",
    "register.append",
    "register.checkpoint",
    "access.log",
    "user.list",
    "user.lock",
    "user.unlock",
    "user.reset-password",
    "user.token-revoke",
];

/// The longest request line taken, in bytes.
pub const MAX_REQUEST: usize = 32 * 1024 * 1024;

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
        "session" => return json!({"ok": true, "result": {"actor": actor}}),
        "register.append" => return append(state, actor, &r.args),
        "register.checkpoint" => return checkpoint(state),
        "access.log" => return log_reads(state, actor, &r.args),
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
        // Through the server, so that the token owners it has cached are forgotten at once.
        "user.token-revoke" => match (arg("username"), arg("name")) {
            (Ok(u), Ok(n)) => crate::users::revoke_tokens(a, &u, &n, now),
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
        Ok(()) => {
            json!({"ok": true, "result": {"username": done.username, "action": done.action, "detail": done.detail}})
        }
        Err(e) => failed(
            "internal",
            format!("done, but the access log failed: {}", e.code()),
            None,
        ),
    }
}

/// An entry the command line asks the register to record.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDraft {
    actor: String,
    facility: String,
    kind: String,
    subject: String,
    payload: Value,
    #[serde(default)]
    corrects: Option<habeas_register::Correction>,
}

/// The wire form of a draft (what [`answer`] takes in `register.append`).
pub fn draft_to_wire(d: &habeas_register::Draft) -> Value {
    json!({
        "actor": d.actor,
        "facility": d.facility,
        "kind": d.kind,
        "subject": d.subject,
        "payload": d.payload,
        "corrects": d.corrects,
    })
}

fn receipt(r: &habeas_register::writer::Receipt) -> Value {
    json!({"index": r.index, "time": r.time.to_string(), "leaf": habeas_register::merkle::to_hex(&r.leaf)})
}

/// A refusal or failure of the writer as the channel's error: the rejection's own code, field
/// and message, or `store` for a failure to write.
fn append_failed(e: &habeas_register::store::AppendError) -> Value {
    match e {
        habeas_register::store::AppendError::Rejected(r) => {
            json!({"code": r.code, "message": r.message, "field": r.field})
        }
        habeas_register::store::AppendError::Store(e) => {
            json!({"code": "store", "message": format!("nothing was recorded: {e}"), "field": null})
        }
    }
}

fn append(state: &AppState, actor: &str, args: &serde_json::Map<String, Value>) -> Value {
    let Some(register) = state.register.as_ref() else {
        return failed("internal", "this server does not write the register", None);
    };
    let drafts: Vec<WireDraft> = match args.get("drafts").cloned().map(serde_json::from_value) {
        Some(Ok(d)) => d,
        Some(Err(e)) => return failed("invalid_field", format!("drafts: {e}"), Some("drafts")),
        None => {
            return failed(
                "invalid_field",
                "drafts: required (a list of entries)",
                Some("drafts"),
            )
        }
    };
    if drafts.is_empty() {
        return failed(
            "invalid_field",
            "drafts: at least one entry",
            Some("drafts"),
        );
    }
    // Entries are recorded in the name of whoever is at the socket, never of another.
    if let Some(d) = drafts.iter().find(|d| d.actor != actor) {
        return failed(
            "forbidden",
            format!(
                "actor: this server records the command line's entries as {actor} (the operating-system user at its control socket), not as {}",
                d.actor
            ),
            Some("actor"),
        );
    }
    let each = args.get("each").and_then(Value::as_bool).unwrap_or(false);
    let drafts: Vec<habeas_register::Draft> = drafts
        .into_iter()
        .map(|d| habeas_register::Draft {
            actor: d.actor,
            facility: d.facility,
            kind: d.kind,
            subject: d.subject,
            payload: d.payload,
            corrects: d.corrects,
        })
        .collect();
    let refused = |facility: &str, kind: &str, e: &habeas_register::store::AppendError| {
        // An object the facility does not hold is a refusal of access, logged as the API does.
        if let habeas_register::store::AppendError::Rejected(r) = e {
            if r.code == habeas_store_sqlite::NOT_HELD_HERE {
                let _ = state.log(&[Event::Refused {
                    username: actor,
                    facility,
                    action: &format!("write {kind}"),
                    reason: &r.message,
                }]);
            }
        }
    };
    if each {
        let labels: Vec<(String, String)> = drafts
            .iter()
            .map(|d| (d.facility.clone(), d.kind.clone()))
            .collect();
        let pending: Vec<_> = drafts
            .into_iter()
            .map(|d| register.submit(vec![d]))
            .collect();
        let results: Vec<Value> = pending
            .into_iter()
            .zip(labels)
            .map(|(p, (facility, kind))| match p.wait() {
                Ok(r) => r.first().map_or_else(
                    || json!({"error": {"code": "store", "message": "no receipt", "field": null}}),
                    receipt,
                ),
                Err(e) => {
                    refused(&facility, &kind, &e);
                    json!({"error": append_failed(&e)})
                }
            })
            .collect();
        return json!({"ok": true, "result": {"results": results}});
    }
    let first = drafts
        .first()
        .map(|d| (d.facility.clone(), d.kind.clone()))
        .unwrap_or_default();
    match register.append_all(drafts) {
        Ok(receipts) => {
            json!({"ok": true, "result": {"receipts": receipts.iter().map(receipt).collect::<Vec<_>>()}})
        }
        Err(e) => {
            refused(&first.0, &first.1, &e);
            json!({"ok": false, "error": append_failed(&e)})
        }
    }
}

fn checkpoint(state: &AppState) -> Value {
    let Some(register) = state.register.as_ref() else {
        return failed("internal", "this server does not write the register", None);
    };
    match register.checkpoint() {
        Ok(cp) => json!({"ok": true, "result": {"checkpoint": cp.map(|c| c.note)}}),
        Err(e) => failed("store", e.to_string(), None),
    }
}

/// A read the command line logs before it shows it.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
enum WireRead {
    Read {
        facility: String,
        person: u64,
        part: String,
        #[serde(default)]
        purpose: Option<String>,
    },
    Listed {
        facility: String,
        what: String,
        #[serde(default)]
        query: Option<String>,
        people: u64,
    },
    Disclosure {
        facility: String,
        what: String,
        to: String,
    },
    /// A change the command line made to an account (`habeas user add`, `user token`).
    Account {
        username: String,
        action: String,
        #[serde(default)]
        detail: Value,
    },
}

/// The wire form of an event of the access log that the command line makes (`read`,
/// `listed`, `disclosure`, `account`); `None` for the others (sign-ins, refusals), which only
/// the server itself logs.
pub fn event_to_wire(e: &Event<'_>) -> Option<Value> {
    Some(match e {
        Event::Read {
            facility,
            person,
            part,
            purpose,
            ..
        } => {
            json!({"event": "read", "facility": facility, "person": person, "part": part, "purpose": purpose})
        }
        Event::Listed {
            facility,
            what,
            query,
            people,
            ..
        } => {
            json!({"event": "listed", "facility": facility, "what": what, "query": query, "people": people})
        }
        Event::Disclosure {
            facility, what, to, ..
        } => json!({"event": "disclosure", "facility": facility, "what": what, "to": to}),
        Event::Account {
            username,
            action,
            detail,
            ..
        } => json!({"event": "account", "username": username, "action": action, "detail": detail}),
        _ => return None,
    })
}

fn log_reads(state: &AppState, actor: &str, args: &serde_json::Map<String, Value>) -> Value {
    let reads: Vec<WireRead> = match args.get("events").cloned().map(serde_json::from_value) {
        Some(Ok(r)) => r,
        Some(Err(e)) => return failed("invalid_field", format!("events: {e}"), Some("events")),
        None => return failed("invalid_field", "events: required (a list)", Some("events")),
    };
    let events: Vec<Event<'_>> = reads
        .iter()
        .map(|r| match r {
            WireRead::Read {
                facility,
                person,
                part,
                purpose,
            } => Event::Read {
                username: actor,
                facility,
                person: *person,
                part,
                purpose: purpose.as_deref(),
            },
            WireRead::Listed {
                facility,
                what,
                query,
                people,
            } => Event::Listed {
                username: actor,
                facility,
                what,
                query: query.as_deref(),
                people: *people,
            },
            WireRead::Disclosure { facility, what, to } => Event::Disclosure {
                username: actor,
                facility,
                what,
                to,
            },
            WireRead::Account {
                username,
                action,
                detail,
            } => Event::Account {
                by: actor,
                username,
                action,
                detail: detail.clone(),
            },
        })
        .collect();
    match state.log(&events) {
        Ok(()) => json!({"ok": true, "result": {"logged": events.len()}}),
        Err(e) => failed("internal", format!("access log: {}", e.code()), None),
    }
}
