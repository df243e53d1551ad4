//! Who may sign in and how: roles and their facility scope, the password rule, Argon2id hashes,
//! TOTP second factors, and the random secrets of sessions and API tokens (kept only as
//! SHA-256 digests). Time is always passed in.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A refusal that names the field and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

/// What a user does, which decides what they may read and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Registry,
    Custody,
    Legal,
    Health,
    Director,
    National,
    Inspector,
    Administrator,
    /// A judge or a court's clerk: asks where a person is held (the whereabouts answer), and
    /// nothing else of the records.
    Court,
    /// The national human-rights institution or preventive mechanism (NPM): asks where a
    /// person is held, as a court does.
    Ombudsman,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::Registry,
        Role::Custody,
        Role::Legal,
        Role::Health,
        Role::Director,
        Role::National,
        Role::Inspector,
        Role::Administrator,
        Role::Court,
        Role::Ombudsman,
    ];

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "{raw:?} is not a role; one of {}",
                        Self::ALL.map(Role::as_str).join(", ")
                    ),
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Registry => "registry",
            Role::Custody => "custody",
            Role::Legal => "legal",
            Role::Health => "health",
            Role::Director => "director",
            Role::National => "national",
            Role::Inspector => "inspector",
            Role::Administrator => "administrator",
            Role::Court => "court",
            Role::Ombudsman => "ombudsman",
        }
    }

    /// Whether the role works in named facilities only (every role but national
    /// administration, inspectors, administrators, courts and the ombudsman).
    pub fn scoped(self) -> bool {
        !matches!(
            self,
            Role::National | Role::Inspector | Role::Administrator | Role::Court | Role::Ombudsman
        )
    }

    /// Whether the role asks only where a person is (courts, the ombudsman): it works in no
    /// facility, so it covers none, and reads no file, list or register of the records.
    pub fn asks_whereabouts(self) -> bool {
        matches!(self, Role::Court | Role::Ombudsman)
    }

    /// Whether signing in needs a second factor.
    pub fn requires_mfa(self) -> bool {
        matches!(
            self,
            Role::Director
                | Role::National
                | Role::Inspector
                | Role::Administrator
                | Role::Court
                | Role::Ombudsman
        )
    }
}

/// A username: 3–64 characters of lowercase letters, digits, `.`, `_` and `-`.
pub fn username(raw: &str) -> Result<String, Invalid> {
    let ok = (3..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid(
            "username",
            "3 to 64 characters: lowercase letters, digits, '.', '_' or '-'",
        ))
    }
}

const COMMON: &str = include_str!("../data/common-passwords.txt");

/// The password rule: at least 8 characters (and at most 256), not the username, not a
/// common password. No composition rules.
pub fn check_password(password: &str, user: &str) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n < 8 {
        return Err(invalid("password", "at least 8 characters"));
    }
    if n > 256 {
        return Err(invalid("password", "at most 256 characters"));
    }
    let lower = password.to_lowercase();
    if lower == user.to_lowercase() {
        return Err(invalid("password", "must not be the username"));
    }
    let common = COMMON
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .any(|c| c == lower);
    if common {
        return Err(invalid(
            "password",
            "is one of the most common passwords; choose another",
        ));
    }
    Ok(())
}

/// Argon2id with m = 19 MiB, t = 2, p = 1 (the checklist's minimum).
fn argon2() -> Result<Argon2<'static>, Invalid> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| invalid("password", format!("hashing parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// `n` random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], Invalid> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| invalid("entropy", e.to_string()))?;
    Ok(b)
}

/// The PHC string of an Argon2id hash of `password` with a random salt.
pub fn hash_password(password: &str) -> Result<String, Invalid> {
    let salt =
        SaltString::encode_b64(&random::<16>()?).map_err(|e| invalid("password", e.to_string()))?;
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| invalid("password", e.to_string()))
}

/// Whether `password` matches a stored hash (in constant time; a malformed hash never does).
pub fn verify_password(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

fn totp(secret_base32: &str) -> Result<totp_rs::TOTP, Invalid> {
    let bytes = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| invalid("totp", format!("{e:?}")))?;
    // SHA-1, 6 digits, 30-second steps: what authenticator apps expect; one step of skew.
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .map_err(|e| invalid("totp", e.to_string()))
}

/// A new TOTP secret (160 random bits, base32).
pub fn new_totp_secret() -> Result<String, Invalid> {
    match totp_rs::Secret::Raw(random::<20>()?.to_vec()).to_encoded() {
        totp_rs::Secret::Encoded(s) => Ok(s),
        totp_rs::Secret::Raw(_) => Err(invalid("totp", "could not encode the secret")),
    }
}

/// The `otpauth://` address an authenticator app reads (usernames need no escaping).
pub fn totp_uri(secret_base32: &str, user: &str) -> String {
    format!("otpauth://totp/Habeas:{user}?secret={secret_base32}&issuer=Habeas&algorithm=SHA1&digits=6&period=30")
}

/// The code for `unix_seconds` (for tests and for enrolment checks).
pub fn totp_code(secret_base32: &str, unix_seconds: u64) -> Result<String, Invalid> {
    Ok(totp(secret_base32)?.generate(unix_seconds))
}

/// The length of a TOTP time step, in seconds.
pub const TOTP_STEP_SECS: u64 = 30;

/// Whether `code` is valid at `unix_seconds`, one 30-second step either side.
pub fn check_totp(secret_base32: &str, code: &str, unix_seconds: u64) -> bool {
    !totp_steps(secret_base32, code, unix_seconds).is_empty()
}

/// The time steps (unix seconds / 30) within one step of `unix_seconds` whose code is `code`,
/// earliest first: usually none or one (two steps share a code once in a million). A sign-in
/// takes the first step not yet used, so that a code is accepted once (RFC 6238 §5.2).
/// Codes are compared in constant time.
pub fn totp_steps(secret_base32: &str, code: &str, unix_seconds: u64) -> Vec<u64> {
    let Ok(t) = totp(secret_base32) else {
        return Vec::new();
    };
    let given = code.trim().as_bytes();
    let now = unix_seconds / TOTP_STEP_SECS;
    (now.saturating_sub(1)..=now.saturating_add(1))
        .filter(|step| {
            let expected = t.generate(step.saturating_mul(TOTP_STEP_SECS));
            constant_time_eq(expected.as_bytes(), given)
        })
        .collect()
}

/// Whether two byte strings are equal, in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new secret for a session cookie or an API token: 32 random bytes, base64url.
pub fn new_secret() -> Result<String, Invalid> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?))
}

/// The server's key for session cookies: a cookie carries the session id and an
/// HMAC-SHA256 of it, so that a cookie the server did not issue is refused before any lookup.
#[derive(Clone)]
pub struct CookieKey([u8; 32]);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

impl CookieKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn generate() -> Result<Self, Invalid> {
        random::<32>().map(Self)
    }

    /// The key as kept in its file (base64, one line).
    pub fn to_text(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| invalid("session key", e.to_string()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("session key", "not 32 bytes"))?;
        Ok(Self(bytes))
    }

    fn mac(&self, id: &str) -> Result<HmacSha256, Invalid> {
        use hmac::Mac as _;
        // (An HMAC takes a key of any length: this does not fail.)
        let mut mac = <HmacSha256 as hmac::Mac>::new_from_slice(&self.0)
            .map_err(|e| invalid("session key", e.to_string()))?;
        mac.update(id.as_bytes());
        Ok(mac)
    }

    /// The cookie value for a session id: `<id>.<mac>`.
    pub fn sign(&self, id: &str) -> Result<String, Invalid> {
        use hmac::Mac as _;
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.mac(id)?.finalize().into_bytes());
        Ok(format!("{id}.{tag}"))
    }

    /// The session id of a cookie value whose MAC is right (compared in constant time).
    pub fn verify<'a>(&self, value: &'a str) -> Option<&'a str> {
        use hmac::Mac as _;
        let (id, tag) = value.rsplit_once('.')?;
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(tag)
            .ok()?;
        self.mac(id).ok()?.verify_slice(&tag).ok().map(|()| id)
    }
}

/// What is stored of a session id or a token: its SHA-256.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_is_accepted_only_with_its_own_mac() {
        let key = CookieKey::new([3; 32]);
        let id = new_secret().unwrap();
        let cookie = key.sign(&id).unwrap();
        assert_eq!(key.verify(&cookie), Some(id.as_str()));
        // The bare id, a changed id, a changed tag, another key: refused.
        assert_eq!(key.verify(&id), None);
        let (_, tag) = cookie.rsplit_once('.').unwrap();
        let other_id = new_secret().unwrap();
        assert_eq!(key.verify(&format!("{other_id}.{tag}")), None);
        let mut flipped = cookie.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.verify(&String::from_utf8(flipped).unwrap()), None);
        assert_eq!(CookieKey::new([4; 32]).verify(&cookie), None);
        // The key survives its file.
        let again = CookieKey::parse(&key.to_text()).unwrap();
        assert_eq!(again.verify(&cookie), Some(id.as_str()));
        assert!(CookieKey::parse("c2hvcnQ=").is_err());
    }

    #[test]
    fn roles_parse_and_know_their_scope_and_factor() {
        assert_eq!(Role::parse("role", "health"), Ok(Role::Health));
        let e = Role::parse("role", "warden").err().map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.starts_with("role: ")),
            "{e:?}"
        );
        let scoped: Vec<&str> = Role::ALL
            .into_iter()
            .filter(|r| r.scoped())
            .map(Role::as_str)
            .collect();
        assert_eq!(
            scoped,
            ["registry", "custody", "legal", "health", "director"]
        );
        let mfa: Vec<&str> = Role::ALL
            .into_iter()
            .filter(|r| r.requires_mfa())
            .map(Role::as_str)
            .collect();
        assert_eq!(
            mfa,
            [
                "director",
                "national",
                "inspector",
                "administrator",
                "court",
                "ombudsman"
            ]
        );
        let asking: Vec<&str> = Role::ALL
            .into_iter()
            .filter(|r| r.asks_whereabouts())
            .map(Role::as_str)
            .collect();
        assert_eq!(asking, ["court", "ombudsman"]);
    }

    #[test]
    fn the_password_rule_at_its_edges() {
        assert_eq!(
            check_password("abcdefg", "ana").map_err(|e| e.field),
            Err("password")
        );
        assert!(check_password("velero-azul", "ana").is_ok());
        assert!(check_password("ocho8888", "ana").is_ok());
        assert!(
            check_password("Contraseña123", "ana").is_err(),
            "common, any case"
        );
        assert!(check_password("QWERTYUIOP", "ana").is_err());
        assert!(check_password("ana.lopez", "ana.lopez").is_err());
        assert!(check_password(&"x".repeat(256), "ana").is_ok());
        assert!(check_password(&"x".repeat(257), "ana").is_err());
        // No composition rules: a long phrase of lowercase words is fine.
        assert!(check_password("el río suena de noche", "ana").is_ok());
    }

    #[test]
    fn usernames_are_plain() {
        assert!(username("ana.lopez-2").is_ok());
        for bad in ["an", "Ana", "ana lopez", "ana@x", &"a".repeat(65)] {
            assert_eq!(username(bad).map_err(|e| e.field), Err("username"), "{bad}");
        }
    }

    #[test]
    fn argon2id_hashes_with_the_checklist_parameters() {
        let h = hash_password("velero-azul").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "velero-azul"));
        assert!(!verify_password(&h, "velero-azul "));
        assert!(!verify_password("not a hash", "velero-azul"));
        // A fresh salt each time.
        assert_ne!(h, hash_password("velero-azul").unwrap());
    }

    #[test]
    fn totp_codes_hold_one_step_either_side() {
        let secret = new_totp_secret().unwrap();
        assert_eq!(secret.len(), 32, "160 bits in base32");
        let t = 1_764_000_000;
        let code = totp_code(&secret, t).unwrap();
        assert!(check_totp(&secret, &code, t));
        assert!(check_totp(&secret, &code, t + 30));
        assert!(!check_totp(&secret, &code, t + 90));
        assert!(!check_totp(&secret, "000000x", t));
        // The step a code belongs to, whichever of the three it is checked in.
        let step = t / TOTP_STEP_SECS;
        assert_eq!(totp_steps(&secret, &code, t), [step]);
        assert_eq!(totp_steps(&secret, &code, t + 30), [step]);
        assert_eq!(totp_steps(&secret, &code, t - 30), [step]);
        assert!(totp_steps(&secret, &code, t + 60).is_empty());
        assert!(totp_steps(&secret, &code[..5], t).is_empty());
        assert!(totp_uri(&secret, "ana").contains(&format!("secret={secret}")));
        // RFC 6238 appendix B, SHA-1, 59 seconds: 94287082 (8 digits); our 6 are its last 6.
        let rfc = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(totp_code(rfc, 59).unwrap(), "287082");
    }

    #[test]
    fn secrets_are_random_and_stored_as_digests() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_ne!(secret_hash(&a), secret_hash(&b));
        assert_eq!(secret_hash(&a), secret_hash(&a.clone()));
    }
}
