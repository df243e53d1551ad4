//! Signing in: password, then the second factor where the account has one (required for the
//! roles that need it), with the lockout of the checklist: 5 failures within 15 minutes lock the
//! account until an administrator unlocks it. Each attempt becomes an access-log event.

use crate::access::SignInOutcome;
use crate::auth::{totp_steps, verify_password, Role};
use habeas_register::store::StoreError;
use habeas_store_sqlite::{Accounts, User};

/// Failed attempts that lock an account…
pub const LOCK_AFTER: u32 = 5;
/// …within this many milliseconds.
pub const LOCK_WINDOW_MS: i64 = 15 * 60_000;
/// Idle timeout of a session.
pub const SESSION_IDLE_MS: i64 = 30 * 60_000;
/// Absolute lifetime of a session.
pub const SESSION_LIFETIME_MS: i64 = 12 * 3_600_000;

/// The result of an attempt: the account when it succeeded, and the outcome to log.
#[derive(Debug)]
pub struct Attempt {
    pub user: Option<User>,
    pub outcome: SignInOutcome,
}

/// Checks a sign-in at `now` (milliseconds since the epoch). A wrong password and a wrong,
/// missing or replayed code count as failures alike; a locked account is refused before its
/// password is checked, so that guessing cannot continue (a dummy hash is checked instead,
/// so that it takes as long). A code is accepted once: its time step is taken for the account
/// by one conditional update, and a code of that step or an earlier one is refused after
/// (RFC 6238 §5.2).
pub fn sign_in(
    accounts: &Accounts,
    username: &str,
    password: &str,
    code: Option<&str>,
    now: i64,
) -> Result<Attempt, StoreError> {
    let refused = |outcome| Attempt {
        user: None,
        outcome,
    };
    let Some(user) = accounts.user(username)? else {
        // Hash anyway, so that an unknown name takes as long as a known one.
        let _ = verify_password(DUMMY_HASH, password);
        return Ok(refused(SignInOutcome::UnknownUser));
    };
    if user.locked_at.is_some() {
        let _ = verify_password(DUMMY_HASH, password);
        return Ok(refused(SignInOutcome::Locked));
    }
    if user.machine {
        // No person signs in as a machine account: refused like a wrong password (the answer
        // does not say which), without counting a failure that could lock the machine out.
        let _ = verify_password(DUMMY_HASH, password);
        return Ok(refused(SignInOutcome::MachineAccount));
    }
    let fail = |outcome| -> Result<Attempt, StoreError> {
        let locked = accounts.record_failure(username, now, LOCK_AFTER, LOCK_WINDOW_MS)?;
        Ok(refused(if locked {
            SignInOutcome::LockedNow
        } else {
            outcome
        }))
    };
    if !verify_password(&user.password_hash, password) {
        return fail(SignInOutcome::BadPassword);
    }
    let role = Role::parse("role", &user.role).ok();
    let needs_code = user.totp_secret.is_some() || role.is_none_or(Role::requires_mfa);
    if needs_code {
        let Some(secret) = &user.totp_secret else {
            // A role that requires a second factor without one enrolled cannot sign in.
            return fail(SignInOutcome::MissingCode);
        };
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            return fail(SignInOutcome::MissingCode);
        };
        let seconds = u64::try_from(now / 1000).unwrap_or(0);
        let steps = totp_steps(secret, code, seconds);
        if steps.is_empty() {
            return fail(SignInOutcome::BadCode);
        }
        let mut taken = false;
        for step in steps {
            if accounts.claim_totp_step(username, step)? {
                taken = true;
                break;
            }
        }
        if !taken {
            return fail(SignInOutcome::ReplayedCode);
        }
    }
    accounts.clear_failures(username)?;
    Ok(Attempt {
        user: Some(user),
        outcome: SignInOutcome::Ok,
    })
}

/// An Argon2id hash of a random password nobody knows, with the same parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2TuYHPeZ0Myd5PdzgpCAWRrcsNcEEQZYpTZd1sQfmR8";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{hash_password, new_totp_secret, totp_code};
    use habeas_register::note::Signer;
    use habeas_register::store::RegisterInfo;
    use habeas_store_sqlite::NewUser;

    fn accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let signer = Signer::from_seed("habeas.test/signin", [3; 32]).unwrap();
        habeas_store_sqlite::SqliteStore::create(
            &path,
            &RegisterInfo {
                origin: "habeas.test/signin".into(),
                verifier: signer.verifier(),
            },
        )
        .unwrap();
        (dir, Accounts::open(&path).unwrap())
    }

    fn add(a: &Accounts, name: &str, role: &str, totp: Option<&str>) {
        let hash = hash_password("velero-azul").unwrap();
        a.add_user(
            &NewUser {
                username: name,
                role,
                facilities: &[],
                password_hash: &hash,
                totp_secret: totp,
                language: "es",
            },
            0,
        )
        .unwrap();
    }

    #[test]
    fn the_second_factor_is_checked_and_required_for_privileged_roles() {
        let (_d, a) = accounts();
        let secret = new_totp_secret().unwrap();
        add(&a, "insp", "inspector", Some(&secret));
        add(&a, "nomfa", "director", None);
        add(&a, "guard", "custody", None);
        let now = 1_764_000_000_000;
        let code = totp_code(&secret, 1_764_000_000).unwrap();
        let outcome = |u, p, c| sign_in(&a, u, p, c, now).unwrap().outcome;
        assert_eq!(
            outcome("insp", "velero-azul", Some(code.as_str())),
            SignInOutcome::Ok
        );
        assert_eq!(
            outcome("insp", "velero-azul", None),
            SignInOutcome::MissingCode
        );
        assert_eq!(
            outcome("insp", "velero-azul", Some("123456")),
            SignInOutcome::BadCode
        );
        assert_eq!(
            outcome("insp", "wrong-pass", Some(code.as_str())),
            SignInOutcome::BadPassword
        );
        // A director without an enrolled factor cannot sign in at all.
        assert_eq!(
            outcome("nomfa", "velero-azul", None),
            SignInOutcome::MissingCode
        );
        // Custody staff without a factor sign in with the password.
        assert!(sign_in(&a, "guard", "velero-azul", None, now)
            .unwrap()
            .user
            .is_some());
        assert_eq!(
            outcome("nobody", "velero-azul", None),
            SignInOutcome::UnknownUser
        );
    }

    #[test]
    fn a_code_signs_in_once_and_a_replay_counts_as_a_failure() {
        let (_d, a) = accounts();
        let secret = new_totp_secret().unwrap();
        add(&a, "insp", "inspector", Some(&secret));
        let now = 1_764_000_000_000;
        let code = totp_code(&secret, 1_764_000_000).unwrap();
        let outcome = |c: &str, at| sign_in(&a, "insp", "velero-azul", Some(c), at).unwrap();
        assert_eq!(outcome(&code, now).outcome, SignInOutcome::Ok);
        let again = outcome(&code, now + 1_000);
        assert_eq!(again.outcome, SignInOutcome::ReplayedCode);
        assert!(again.user.is_none());
        // Still within the skew a step later, but used.
        assert_eq!(
            outcome(&code, now + 30_000).outcome,
            SignInOutcome::ReplayedCode
        );
        let next = totp_code(&secret, 1_764_000_030).unwrap();
        assert_eq!(outcome(&next, now + 30_000).outcome, SignInOutcome::Ok);
        // Replays are failures: four, and a fifth locks the account.
        for k in 0..4 {
            assert_eq!(
                outcome(&next, now + 31_000 + k).outcome,
                SignInOutcome::ReplayedCode
            );
        }
        assert_eq!(
            outcome(&next, now + 35_000).outcome,
            SignInOutcome::LockedNow
        );
    }

    #[test]
    fn five_failures_lock_and_then_even_the_right_password_is_refused() {
        let (_d, a) = accounts();
        add(&a, "guard", "custody", None);
        let t0 = 1_764_000_000_000;
        for k in 0..4 {
            let r = sign_in(&a, "guard", "bad-password", None, t0 + k * 60_000).unwrap();
            assert_eq!(r.outcome, SignInOutcome::BadPassword);
        }
        let r = sign_in(&a, "guard", "bad-password", None, t0 + 4 * 60_000).unwrap();
        assert_eq!(r.outcome, SignInOutcome::LockedNow);
        let r = sign_in(&a, "guard", "velero-azul", None, t0 + 5 * 60_000).unwrap();
        assert_eq!(r.outcome, SignInOutcome::Locked);
        assert!(r.user.is_none());
        a.set_locked("guard", None).unwrap();
        let r = sign_in(&a, "guard", "velero-azul", None, t0 + 6 * 60_000).unwrap();
        assert_eq!(r.outcome, SignInOutcome::Ok);
        // A success forgets earlier failures: four more do not lock.
        for k in 0..4 {
            let r = sign_in(&a, "guard", "bad-password", None, t0 + (7 + k) * 60_000).unwrap();
            assert_eq!(r.outcome, SignInOutcome::BadPassword);
        }
    }

    #[test]
    fn the_dummy_hash_is_a_valid_argon2id_hash() {
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password(DUMMY_HASH, "velero-azul"));
    }
}
