//! Canonical JSON (the RFC 8785 "JCS" rules for the values the register uses).
//!
//! Objects have their keys sorted by UTF-16 code units, no insignificant whitespace, strings
//! escaped as ECMAScript `JSON.stringify` does, and numbers restricted to integers of magnitude
//! below 2^53 (so that every JSON implementation reads them exactly). Fractions are refused:
//! payloads carry decimals as strings or in integer units (e.g. square centimetres).

use serde_json::Value;
use std::fmt::Write as _;

/// The largest integer every JSON reader represents exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CanonicalError {
    #[error("field {path}: numbers in the register must be integers between -(2^53-1) and 2^53-1")]
    Number { path: String },
}

/// Encodes `value` canonically.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value, "$")?;
    Ok(out.into_bytes())
}

/// Appends the canonical encoding of `value` to `out`; `path` names `value` in errors.
pub fn write_value(out: &mut String, value: &Value, path: &str) -> Result<(), CanonicalError> {
    write_inner(out, value).map_err(|mut segments| {
        segments.reverse();
        CanonicalError::Number {
            path: format!("{path}{}", segments.concat()),
        }
    })
}

fn safe_integer(n: &serde_json::Number) -> bool {
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i.unsigned_abs() <= MAX_SAFE_INTEGER,
        (None, Some(u)) => u <= MAX_SAFE_INTEGER,
        _ => false,
    }
}

/// The happy path allocates nothing but the output; on error the path to the bad value is
/// collected innermost first.
fn write_inner(out: &mut String, value: &Value) -> Result<(), Vec<String>> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if !safe_integer(n) {
                return Err(Vec::new());
            }
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_inner(out, item).map_err(|mut p| {
                    p.push(format!("[{i}]"));
                    p
                })?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let ascii = map.keys().all(|k| k.is_ascii());
            let mut keys: Vec<&String> = map.keys().collect();
            if ascii {
                keys.sort_unstable();
            } else {
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            }
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_inner(out, v).map_err(|mut p| {
                        p.push(format!(".{key}"));
                        p
                    })?;
                }
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Writes a JSON string literal with the JCS escaping rules.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{09}' => out.push_str("\\t"),
            '\u{0A}' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\u{0D}' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_strips_whitespace() {
        let v = json!({"b": 1, "a": [true, null, "x"], "é": {"z": -3, "y": "\n\u{1}"}});
        let s = String::from_utf8(to_vec(&v).unwrap()).unwrap();
        assert_eq!(
            s,
            r#"{"a":[true,null,"x"],"b":1,"é":{"y":"\n\u0001","z":-3}}"#
        );
    }

    #[test]
    fn sorts_by_utf16_units_not_bytes() {
        // U+FB01 sorts after U+1F600 in UTF-8 bytes but before it in UTF-16 units? No: the
        // surrogate pair of U+1F600 starts with 0xD83D, below 0xFB01.
        let v = json!({"\u{fb01}": 1, "\u{1f600}": 2});
        let s = String::from_utf8(to_vec(&v).unwrap()).unwrap();
        assert_eq!(s, "{\"\u{1f600}\":2,\"\u{fb01}\":1}");
    }

    #[test]
    fn refuses_fractions_and_huge_integers() {
        assert_eq!(
            to_vec(&json!({"area": 1.5})),
            Err(CanonicalError::Number {
                path: "$.area".into()
            })
        );
        assert!(to_vec(&json!([9_007_199_254_740_992u64])).is_err());
        assert!(to_vec(&json!([9_007_199_254_740_991u64])).is_ok());
    }
}
