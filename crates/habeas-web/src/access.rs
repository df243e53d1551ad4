//! The access log: every sign-in, every read of a person's record, every search and report
//! that names people, every disclosure, every refused authorization and every change to an
//! account, appended to a second tamper-evident
//! register with its own key and checkpoints (the same mechanism as the records). Readable only
//! by inspectors and administrators. No password, code or token is ever written to it.

use habeas_register::Draft;
use serde_json::{json, Value};

/// The entry kinds of the access log.
pub mod kinds {
    pub const SIGN_IN: &str = "access.sign_in";
    pub const READ: &str = "access.read";
    pub const DISCLOSURE: &str = "access.disclosure";
    pub const REFUSED: &str = "access.refused";
    pub const ACCOUNT: &str = "access.account";
    pub const LISTED: &str = "access.listed";
    /// A court's or the ombudsman's question where a person is, and the answer given (with
    /// the checkpoint it was given against): readable by inspectors only.
    pub const WHEREABOUTS: &str = "access.whereabouts";
}

/// How a sign-in ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInOutcome {
    Ok,
    UnknownUser,
    BadPassword,
    MissingCode,
    BadCode,
    /// A right code whose time step (or a later one) had already signed the account in.
    ReplayedCode,
    Locked,
    /// The failure that locked the account.
    LockedNow,
    /// A machine account, which never signs in with a password (it works only by token).
    MachineAccount,
}

/// One event of the access log.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    SignIn {
        username: &'a str,
        outcome: SignInOutcome,
        /// `web`, `api` or `cli`.
        via: &'a str,
    },
    /// A read of a person's record: which part, and the purpose given where one was asked.
    Read {
        username: &'a str,
        facility: &'a str,
        person: u64,
        part: &'a str,
        purpose: Option<&'a str>,
    },
    /// Records taken out of the system (an export, a printed file).
    Disclosure {
        username: &'a str,
        facility: &'a str,
        what: &'a str,
        to: &'a str,
    },
    Refused {
        username: &'a str,
        facility: &'a str,
        action: &'a str,
        reason: &'a str,
    },
    /// A list that names people: a search (with the words searched), a report, a register.
    Listed {
        username: &'a str,
        facility: &'a str,
        what: &'a str,
        query: Option<&'a str>,
        people: u64,
    },
    /// Sign-in attempts counted rather than logged one by one, between `since` and `until`
    /// (ms since the epoch): unknown users beyond the first of a window, and attempts refused
    /// unchecked by a rate limit (`limited`) or because every password check was taken
    /// (`busy`). With the single entries, they add up to every attempt.
    SignInSummary {
        since: i64,
        until: i64,
        unknown_user: u64,
        limited: u64,
        busy: u64,
    },
    /// A whereabouts question and its answer: who asked, for what and in which case, whom
    /// they named, what they were told and against which checkpoint (`detail`). Only
    /// inspectors read these entries: a facility never learns who asked about whom.
    Whereabouts {
        username: &'a str,
        /// The person named, when the question named exactly one.
        person: Option<u64>,
        detail: Value,
    },
    /// A change to an account or its tokens: `by` is who made it (`user:…` for an account of
    /// the API, `os:…` for the server's control socket, the `--actor` of the command line).
    Account {
        by: &'a str,
        username: &'a str,
        action: &'a str,
        detail: Value,
    },
}

/// The facility of an event concerning no one facility.
pub const EVERY_FACILITY: &str = "*";

/// A label as given by whoever asked (a username typed at sign-in, a facility in a query),
/// made safe for an entry's header: control characters escaped, at most 64 characters, never
/// empty. The payload keeps what was given, as JSON.
fn label(raw: &str) -> String {
    let escaped: String = raw.chars().flat_map(char::escape_debug).take(64).collect();
    if escaped.trim().is_empty() {
        "-".to_owned()
    } else {
        escaped
    }
}

impl Event<'_> {
    /// The access-log entry of the event; `actor` is who did it.
    pub fn to_draft(&self) -> Draft {
        let (actor, facility, kind, subject, payload) = match self {
            Event::SignIn {
                username,
                outcome,
                via,
            } => (
                format!("user:{username}"),
                EVERY_FACILITY,
                kinds::SIGN_IN,
                format!("user:{username}"),
                json!({"username": username, "outcome": outcome, "via": via}),
            ),
            Event::Read {
                username,
                facility,
                person,
                part,
                purpose,
            } => (
                format!("user:{username}"),
                *facility,
                kinds::READ,
                format!("person:{person}"),
                json!({"person": person, "part": part, "purpose": purpose}),
            ),
            Event::Disclosure {
                username,
                facility,
                what,
                to,
            } => (
                format!("user:{username}"),
                *facility,
                kinds::DISCLOSURE,
                format!("disclosure:{what}"),
                json!({"what": what, "to": to}),
            ),
            Event::Refused {
                username,
                facility,
                action,
                reason,
            } => (
                format!("user:{username}"),
                *facility,
                kinds::REFUSED,
                format!("action:{action}"),
                json!({"action": action, "reason": reason}),
            ),
            Event::Listed {
                username,
                facility,
                what,
                query,
                people,
            } => (
                format!("user:{username}"),
                *facility,
                kinds::LISTED,
                format!("list:{what}"),
                json!({"what": what, "query": query, "people": people}),
            ),
            Event::SignInSummary {
                since,
                until,
                unknown_user,
                limited,
                busy,
            } => (
                "server".to_owned(),
                EVERY_FACILITY,
                kinds::SIGN_IN,
                "sign-in:summary".to_owned(),
                json!({"outcome": "summary", "since": since, "until": until, "unknown_user": unknown_user, "limited": limited, "busy": busy}),
            ),
            Event::Whereabouts {
                username,
                person,
                detail,
            } => (
                format!("user:{username}"),
                EVERY_FACILITY,
                kinds::WHEREABOUTS,
                match person {
                    Some(p) => format!("person:{p}"),
                    None => "whereabouts:nobody".to_owned(),
                },
                detail.clone(),
            ),
            Event::Account {
                by,
                username,
                action,
                detail,
            } => (
                (*by).to_owned(),
                EVERY_FACILITY,
                kinds::ACCOUNT,
                format!("user:{username}"),
                json!({"username": username, "action": action, "detail": detail}),
            ),
        };
        Draft {
            actor: label(&actor),
            facility: label(facility),
            kind: kind.to_owned(),
            subject: label(&subject),
            payload,
            corrects: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_entries_that_name_who_and_what() {
        let d = Event::Read {
            username: "ana",
            facility: "CECOT",
            person: 300,
            part: "file",
            purpose: Some("audiencia"),
        }
        .to_draft();
        assert_eq!(
            (
                d.actor.as_str(),
                d.facility.as_str(),
                d.kind.as_str(),
                d.subject.as_str()
            ),
            ("user:ana", "CECOT", kinds::READ, "person:300")
        );
        assert_eq!(d.payload["purpose"], "audiencia");
        let d = Event::SignIn {
            username: "ana",
            outcome: SignInOutcome::LockedNow,
            via: "cli",
        }
        .to_draft();
        assert_eq!(d.payload["outcome"], "locked_now");
        assert!(d.clone().prepare().is_ok(), "a valid register draft");
        // Whatever a stranger types becomes a valid entry, escaped.
        let d = Event::SignIn {
            username: "\u{13}x\n",
            outcome: SignInOutcome::UnknownUser,
            via: "api",
        }
        .to_draft();
        assert_eq!(d.subject, "user:\\u{13}x\\n");
        assert!(d.clone().prepare().is_ok());
        let d = Event::Refused {
            username: "ana",
            facility: "",
            action: "read",
            reason: "x",
        }
        .to_draft();
        assert_eq!(d.facility, "-");
        assert!(d.prepare().is_ok());
        let d = Event::SignInSummary {
            since: 1,
            until: 2,
            unknown_user: 30,
            limited: 4,
            busy: 5,
        }
        .to_draft();
        assert_eq!(
            (
                d.kind.as_str(),
                d.payload["outcome"].as_str(),
                d.payload["unknown_user"].as_u64()
            ),
            (kinds::SIGN_IN, Some("summary"), Some(30))
        );
        assert!(d.prepare().is_ok());
    }
}
