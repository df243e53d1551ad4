//! Identifiers with their rules checked once, at the edge.

use crate::DomainError;
use std::fmt;

/// A facility code: 1–32 characters of A–Z, 0–9, `-` and `_` (e.g. `CECOT`, `LA-ESPERANZA`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct FacilityCode(String);

impl FacilityCode {
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::invalid(field, "a facility code is required"));
        }
        if s.len() > 32 {
            return Err(DomainError::invalid(
                field,
                "a facility code has at most 32 characters",
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(DomainError::invalid(
                field,
                format!(
                    "{s:?} is not a facility code: use capital letters A-Z, digits, '-' and '_'"
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FacilityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who records an entry: a user name or a system account, 1–64 printable characters without
/// spaces (e.g. `registro.ana`, `system:demo`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Actor(String);

impl Actor {
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::invalid(
                field,
                "who is recording this is required",
            ));
        }
        if s.chars().count() > 64 {
            return Err(DomainError::invalid(
                field,
                "an actor name has at most 64 characters",
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::invalid(
                field,
                "an actor name has no spaces or control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_codes() {
        assert_eq!(
            FacilityCode::parse("facility", " CECOT ").unwrap().as_str(),
            "CECOT"
        );
        let e = FacilityCode::parse("facility", "cecot").unwrap_err();
        assert_eq!(e.field, "facility");
        assert!(e.message.contains("capital letters"));
        assert!(FacilityCode::parse("facility", "").is_err());
        assert!(FacilityCode::parse("facility", &"A".repeat(33)).is_err());
    }

    #[test]
    fn actors() {
        assert!(Actor::parse("actor", "registro.ana").is_ok());
        assert_eq!(
            Actor::parse("actor", "ana maria").unwrap_err().field,
            "actor"
        );
        assert!(Actor::parse("actor", "").is_err());
    }
}

/// A name folded for search: lower case, Latin accents removed, spaces collapsed
/// ("José  Hernández" → "jose hernandez").
pub fn search_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let base = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            // A control character (a NUL from a form, a tab) is no letter of a name.
            c if c.is_whitespace() || c.is_control() => ' ',
            c => c,
        };
        if base == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(base);
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod search_tests {
    #[test]
    fn search_keys_fold_case_and_accents() {
        assert_eq!(
            super::search_key("  José  Hernández LÓPEZ Núñez "),
            "jose hernandez lopez nunez"
        );
        assert_eq!(super::search_key("jos\u{0}é\tlópez\u{86}"), "jos e lopez");
    }
}

/// A register draft for `kind` about `subject` at `facility`, recorded by `actor`.
pub(crate) fn draft(
    actor: &Actor,
    facility: &FacilityCode,
    kind: &str,
    subject: String,
    payload: serde_json::Value,
) -> habeas_register::Draft {
    habeas_register::Draft {
        actor: actor.to_string(),
        facility: facility.to_string(),
        kind: kind.into(),
        subject,
        payload,
        corrects: None,
    }
}
