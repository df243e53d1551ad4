//! A jurisdiction's policy may only be stricter than the Mandela minimum: each threshold is
//! compared with the shipped file's, in the direction the table below gives it, and one that
//! is less strict is refused unless the file lists it in `relaxes` with the legal reference
//! that allows it. Every report names the policy, the SHA-256 of its file and what it relaxes.

use super::Policy;
use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which way a threshold is stricter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stricter {
    /// A larger number asks more (square metres, minutes out of the cell).
    Higher,
    /// A smaller number asks more (days allowed, people per hearing, hours that make it
    /// solitary).
    Lower,
}

/// Every numeric key of the policy, in the order of the shipped file, and which way it is
/// stricter. A key added to the policy is added here: a policy holding a number this table does
/// not list is refused, and a test walks the shipped policy for any number missing here.
pub const THRESHOLDS: &[(&str, Stricter)] = &[
    ("space.icrc_m2", Stricter::Higher),
    ("space.cpt_m2", Stricter::Higher),
    ("space.ecthr_m2", Stricter::Higher),
    ("daily.open_air_minutes", Stricter::Higher),
    ("daily.out_of_cell_minutes", Stricter::Higher),
    ("contact.family_days", Stricter::Lower),
    ("contact.legal_days", Stricter::Lower),
    ("legal.pretrial_max_days", Stricter::Lower),
    ("legal.review_interval_days", Stricter::Lower),
    ("legal.max_people_per_hearing", Stricter::Lower),
    ("legal.judicial_order_hours", Stricter::Lower),
    ("legal.first_appearance_hours", Stricter::Lower),
    ("complaints.referral_days", Stricter::Lower),
    ("deaths.family_informed_days", Stricter::Lower),
    (
        "deaths.independent_authority_informed_days",
        Stricter::Lower,
    ),
    ("deaths.investigation_opened_days", Stricter::Lower),
    ("deaths.post_mortem_days", Stricter::Lower),
    ("deaths.remains_returned_days", Stricter::Lower),
    // Hours alone in a cell that make a day solitary confinement: fewer hours find more.
    ("solitary.hours", Stricter::Lower),
    ("solitary.max_days", Stricter::Lower),
    ("health.examination_days", Stricter::Lower),
    ("health.injury_referral_days", Stricter::Lower),
    ("consular.notification_days", Stricter::Lower),
    ("consular.contact_days", Stricter::Lower),
    ("incidents.review_days", Stricter::Lower),
    ("intake.registration_hours", Stricter::Lower),
    ("intake.allocation_hours", Stricter::Lower),
    ("whereabouts.reply_hours", Stricter::Lower),
    // A longer window around a monitor's refusal sees more visits admitted for others.
    ("oversight.window_days", Stricter::Higher),
    ("oversight.exposed_grave_people", Stricter::Lower),
    // More days of family visit requests counted find more refused for one reason.
    ("oversight.collective_refusal_days", Stricter::Higher),
    ("oversight.collective_refusal_people", Stricter::Lower),
    ("oversight.collective_refusal_percent", Stricter::Lower),
    ("oversight.answer_days", Stricter::Lower),
    ("activities.days", Stricter::Lower),
    ("notification.family_hours", Stricter::Lower),
    // A longer window counts more custodies (as the family visit requests' days do); a lower
    // share, or fewer custodies needed, find a facility recording declines sooner.
    ("notification.declines_window_days", Stricter::Higher),
    ("notification.declines_max_pct", Stricter::Lower),
    ("notification.declines_min_custodies", Stricter::Lower),
    // Fewer hours allowed to write a decline down count more declines from when they were
    // written.
    ("notification.decline_record_hours", Stricter::Lower),
    ("notification.contact_record_hours", Stricter::Lower),
    ("harm.designated_hours", Stricter::Lower),
    ("harm.authority_hours", Stricter::Lower),
    ("harm.record_hours", Stricter::Lower),
    // A lower temperature, fewer hot days and a longer window find more hot cells.
    ("conditions.heat_celsius", Stricter::Lower),
    ("conditions.heat_days", Stricter::Lower),
    ("conditions.heat_window_days", Stricter::Higher),
    // A lower heat index and fewer days find more.
    ("conditions.heat_index_celsius", Stricter::Lower),
    ("conditions.heat_index_days", Stricter::Lower),
    // A night that begins earlier or ends later, fewer lit nights and a longer window find
    // more (the night's hours are bounded so that this holds: 18-23 and 4-9).
    ("conditions.night_from_hour", Stricter::Lower),
    ("conditions.night_until_hour", Stricter::Higher),
    ("conditions.lit_nights", Stricter::Lower),
    ("conditions.lit_nights_window_days", Stricter::Higher),
    // More bunks a person asks more of a cell.
    ("conditions.bunks_per_person", Stricter::Higher),
    ("regime.sentence_plan_days", Stricter::Lower),
    // More meals a day, and more days of records read, find more.
    ("food.meals_per_day", Stricter::Higher),
    ("food.window_days", Stricter::Higher),
];

/// The direction of a key of the table.
pub fn direction(key: &str) -> Option<Stricter> {
    THRESHOLDS
        .iter()
        .find_map(|(k, d)| (*k == key).then_some(*d))
}

/// One threshold a policy file relaxes, as its `relaxes = [{ key, reference }]` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relaxation {
    /// The key, as in the table: `contact.family_days`.
    pub key: String,
    /// The law that allows it: `Ley Penitenciaria art. 12`.
    pub reference: String,
}

/// A threshold relaxed below the Mandela minimum, as every report lists it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relaxed {
    pub key: String,
    /// The policy's value.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub value: serde_json::Number,
    /// The Mandela minimum's value.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub minimum: serde_json::Number,
    /// The legal reference the policy file gives for it.
    pub reference: String,
}

/// Which policy a report measured against: its name, the SHA-256 of its file's bytes
/// (lowercase hex) and every threshold it relaxes below the Mandela minimum.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicySource {
    pub name: String,
    pub sha256: String,
    pub relaxed: Vec<Relaxed>,
}

/// The SHA-256 of a policy file's bytes, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hash: habeas_register::Hash = sha2::Sha256::digest(bytes).into();
    habeas_register::merkle::to_hex(&hash)
}

/// Every number of the policy by its dotted key (`contact.family_days`), in the order of the
/// serialized policy (`name` and `relaxes` are not thresholds).
pub fn numbers(policy: &Policy) -> Result<Vec<(String, serde_json::Number)>, DomainError> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, serde_json::Number)>) {
        match value {
            serde_json::Value::Number(n) => out.push((prefix.to_owned(), n.clone())),
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            _ => {}
        }
    }
    let mut value =
        serde_json::to_value(policy).map_err(|e| DomainError::invalid("policy", e.to_string()))?;
    if let Some(map) = value.as_object_mut() {
        map.remove("relaxes");
        map.remove("name");
    }
    let mut out = Vec::new();
    walk("", &value, &mut out);
    Ok(out)
}

/// Whether `value` is less strict than `minimum` in the direction given.
fn relaxes(direction: Stricter, value: &serde_json::Number, minimum: &serde_json::Number) -> bool {
    let (v, m) = (value.as_f64(), minimum.as_f64());
    match (v, m) {
        (Some(v), Some(m)) => match direction {
            Stricter::Higher => v < m,
            Stricter::Lower => v > m,
        },
        _ => false,
    }
}

/// Checks `policy` against `minimum`: every number is a threshold of the table; every
/// threshold less strict than the minimum's is listed in `relaxes` with a reference, and every
/// entry of `relaxes` names a threshold that is relaxed, once. Returns what is relaxed, in the
/// order of the table.
pub(super) fn check(policy: &Policy, minimum: &Policy) -> Result<Vec<Relaxed>, DomainError> {
    let ours = numbers(policy)?;
    for (key, _) in &ours {
        if direction(key).is_none() {
            return Err(DomainError::invalid(
                key.clone(),
                "a number the table of thresholds (compliance::strictness::THRESHOLDS) does not list: it cannot be compared with the Mandela minimum",
            ));
        }
    }
    let ours: BTreeMap<String, serde_json::Number> = ours.into_iter().collect();
    let base: BTreeMap<String, serde_json::Number> = numbers(minimum)?.into_iter().collect();
    let mut relaxed: Vec<(&str, &serde_json::Number, &serde_json::Number)> = Vec::new();
    for (key, dir) in THRESHOLDS {
        if let (Some(v), Some(m)) = (ours.get(*key), base.get(*key)) {
            if relaxes(*dir, v, m) {
                relaxed.push((key, v, m));
            }
        }
    }
    let mut listed: BTreeMap<&str, &str> = BTreeMap::new();
    for r in &policy.relaxes {
        let key = r.key.trim();
        if direction(key).is_none() || !ours.contains_key(key) {
            return Err(DomainError::invalid(
                "relaxes",
                format!("{:?} is not a threshold of the policy", r.key),
            ));
        }
        if listed.insert(key, r.reference.trim()).is_some() {
            return Err(DomainError::invalid(
                "relaxes",
                format!("{key} is listed more than once"),
            ));
        }
        if r.reference.trim().is_empty() {
            return Err(DomainError::invalid(
                "relaxes",
                format!("{key}: give the legal reference that allows it"),
            ));
        }
        if !relaxed.iter().any(|(k, _, _)| *k == key) {
            let (v, m) = (
                ours.get(key).map(ToString::to_string).unwrap_or_default(),
                base.get(key).map(ToString::to_string).unwrap_or_default(),
            );
            return Err(DomainError::invalid(
                "relaxes",
                format!(
                    "{key} is {v}, no less strict than the Mandela minimum of {m}: it relaxes nothing; remove it from relaxes"
                ),
            ));
        }
    }
    let unlisted: Vec<&(&str, &serde_json::Number, &serde_json::Number)> = relaxed
        .iter()
        .filter(|(k, _, _)| !listed.contains_key(k))
        .collect();
    if let Some((key, v, m)) = unlisted.first() {
        let also = if unlisted.len() > 1 {
            format!(
                " (also less strict: {})",
                unlisted
                    .iter()
                    .skip(1)
                    .map(|(k, v, _)| format!("{k} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        };
        return Err(DomainError::invalid(
            *key,
            format!(
                "{v} is less strict than the Mandela minimum of {m}; list it in relaxes = [...] with a legal reference to use it{also}"
            ),
        ));
    }
    Ok(relaxed
        .into_iter()
        .map(|(key, v, m)| Relaxed {
            key: key.to_owned(),
            value: v.clone(),
            minimum: m.clone(),
            reference: listed.get(key).copied().unwrap_or_default().to_owned(),
        })
        .collect())
}

/// The first threshold, in the order of the table, in which `policy` differs from `minimum`,
/// with both values.
pub(super) fn first_difference(
    policy: &Policy,
    minimum: &Policy,
) -> Result<Option<(String, String, String)>, DomainError> {
    let ours: BTreeMap<String, serde_json::Number> = numbers(policy)?.into_iter().collect();
    let base: BTreeMap<String, serde_json::Number> = numbers(minimum)?.into_iter().collect();
    for (key, _) in THRESHOLDS {
        let (v, m) = (ours.get(*key), base.get(*key));
        if v.and_then(serde_json::Number::as_f64) != m.and_then(serde_json::Number::as_f64) {
            let show = |n: Option<&serde_json::Number>| {
                n.map_or_else(|| "none".into(), ToString::to_string)
            };
            return Ok(Some(((*key).to_owned(), show(v), show(m))));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::MANDELA_MINIMUM;

    fn refused(text: &str) -> DomainError {
        match Policy::from_toml(text) {
            Err(e) => e,
            Ok(p) => unreachable!("accepted: {:?}", p.name),
        }
    }

    fn accepted(text: &str) -> Policy {
        Policy::from_toml(text).unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// The shipped file with `key` (`section.name`) set to `value` and the name given.
    fn with(name: &str, changes: &[(&str, toml::Value)]) -> String {
        let mut t: toml::Table = toml::from_str(MANDELA_MINIMUM).unwrap();
        t.insert("name".into(), toml::Value::String(name.into()));
        for (key, value) in changes {
            let (section, leaf) = key.split_once('.').unwrap();
            t.get_mut(section)
                .and_then(toml::Value::as_table_mut)
                .unwrap()
                .insert(leaf.into(), value.clone());
        }
        toml::to_string(&t).unwrap()
    }

    /// Every number of the shipped file, by dotted key, read from the TOML itself.
    fn leaves(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Integer(_) | toml::Value::Float(_) => out.push(prefix.to_owned()),
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&key, v, out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_number_of_the_policy_is_in_the_table_and_every_key_of_the_table_is_a_number() {
        let shipped: toml::Value = toml::from_str(MANDELA_MINIMUM).unwrap();
        let mut in_file = Vec::new();
        leaves("", &shipped, &mut in_file);
        let policy = Policy::mandela_minimum().unwrap();
        let serialized: Vec<String> = numbers(&policy)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for key in in_file.iter().chain(&serialized) {
            assert!(
                direction(key).is_some(),
                "{key} is a number of the policy with no direction in THRESHOLDS"
            );
        }
        for (key, _) in THRESHOLDS {
            assert!(
                serialized.iter().any(|k| k == key),
                "{key} is in THRESHOLDS but not in the policy"
            );
            assert!(
                in_file.iter().any(|k| k == key),
                "{key} is in THRESHOLDS but not in the shipped file"
            );
        }
        let mut keys: Vec<&str> = THRESHOLDS.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), THRESHOLDS.len(), "a key listed twice");
    }

    #[test]
    fn the_reported_weakened_policy_is_refused_naming_the_first_relaxed_key() {
        // family_days = 100000 and every m² at 0.1, still called the minimum.
        let weak = MANDELA_MINIMUM
            .replace("family_days = 30", "family_days = 100000")
            .replace("icrc_m2 = 3.4", "icrc_m2 = 0.1")
            .replace("cpt_m2 = 4.0", "cpt_m2 = 0.1")
            .replace("ecthr_m2 = 3.0", "ecthr_m2 = 0.1");
        let e = refused(&weak);
        assert_eq!(e.field, "space.icrc_m2");
        assert!(
            e.message.starts_with("0.1 is less strict than the Mandela minimum of 3.4; list it in relaxes = [...] with a legal reference to use it"),
            "{e}"
        );
        assert!(e.message.contains("space.cpt_m2 = 0.1"), "{e}");
        assert!(e.message.contains("contact.family_days = 100000"), "{e}");
        // Only the family days relaxed: that key is the one named.
        let e = refused(&MANDELA_MINIMUM.replace("family_days = 30", "family_days = 100000"));
        assert_eq!(
            e.to_string(),
            "contact.family_days: 100000 is less strict than the Mandela minimum of 30; list it in relaxes = [...] with a legal reference to use it"
        );

        // Listed with references, under the jurisdiction's name, it is taken, and says so.
        let relaxes = "relaxes = [\n  { key = \"contact.family_days\", reference = \"Ley Penitenciaria art. 12\" },\n  { key = \"space.icrc_m2\", reference = \"Decreto 7 art. 3\" },\n  { key = \"space.cpt_m2\", reference = \"Decreto 7 art. 3\" },\n  { key = \"space.ecthr_m2\", reference = \"Decreto 7 art. 4\" },\n]\n";
        let renamed = weak.replace(
            "name = \"mandela-minimum\"",
            &format!("name = \"ejemplo-2025\"\n{relaxes}"),
        );
        let p = accepted(&renamed);
        let s = p.source();
        assert_eq!(s.name, "ejemplo-2025");
        assert_eq!(s.sha256, sha256_hex(renamed.as_bytes()));
        assert_ne!(s.sha256, Policy::mandela_minimum().unwrap().source().sha256);
        let listed: Vec<(String, String, String, String)> = s
            .relaxed
            .iter()
            .map(|r| {
                (
                    r.key.clone(),
                    r.value.to_string(),
                    r.minimum.to_string(),
                    r.reference.clone(),
                )
            })
            .collect();
        let row = |k: &str, v: &str, m: &str, r: &str| (k.into(), v.into(), m.into(), r.into());
        assert_eq!(
            listed,
            [
                row("space.icrc_m2", "0.1", "3.4", "Decreto 7 art. 3"),
                row("space.cpt_m2", "0.1", "4.0", "Decreto 7 art. 3"),
                row("space.ecthr_m2", "0.1", "3.0", "Decreto 7 art. 4"),
                row(
                    "contact.family_days",
                    "100000",
                    "30",
                    "Ley Penitenciaria art. 12"
                ),
            ]
        );
        assert_eq!(p.contact.family_days, 100_000);

        // The same file still called the minimum is refused by its name.
        let claimed = weak.replace(
            "name = \"mandela-minimum\"",
            &format!("name = \"mandela-minimum\"\n{relaxes}"),
        );
        let e = refused(&claimed);
        assert_eq!(e.field, "name");
        assert!(
            e.message
                .contains("space.icrc_m2 is 0.1, the minimum's 3.4"),
            "{e}"
        );
    }

    #[test]
    fn a_stricter_policy_needs_no_relaxes_but_not_the_minimum_s_name() {
        let strict = MANDELA_MINIMUM
            .replace("family_days = 30", "family_days = 7")
            .replace("cpt_m2 = 4.0", "cpt_m2 = 6.0")
            .replace("hours = 22", "hours = 20")
            .replace("out_of_cell_minutes = 120", "out_of_cell_minutes = 480");
        let e = refused(&strict);
        assert_eq!(e.field, "name");
        assert!(
            e.message.contains("space.cpt_m2 is 6.0, the minimum's 4.0"),
            "{e}"
        );
        let p = accepted(&strict.replace("name = \"mandela-minimum\"", "name = \"cpt-8h\""));
        assert!(p.source().relaxed.is_empty());
        assert_eq!(p.source().name, "cpt-8h");
        // The shipped minimum itself, and a copy that only changes its comments.
        let shipped = Policy::mandela_minimum().unwrap();
        assert_eq!(
            shipped.source().sha256,
            sha256_hex(MANDELA_MINIMUM.as_bytes())
        );
        assert_eq!(shipped.source().sha256.len(), 64);
        assert!(shipped.source().relaxed.is_empty());
        let recommented = format!("# Copied for a jurisdiction.\n{MANDELA_MINIMUM}");
        let copy = accepted(&recommented);
        assert_eq!(copy.name, "mandela-minimum");
        assert_ne!(copy.source().sha256, shipped.source().sha256);
    }

    #[test]
    fn entries_of_relaxes_that_are_wrong_are_named() {
        let head = |relaxes: &str| {
            MANDELA_MINIMUM
                .replace("family_days = 30", "family_days = 60")
                .replace(
                    "name = \"mandela-minimum\"",
                    &format!("name = \"j\"\nrelaxes = [{relaxes}]"),
                )
        };
        let good = "{ key = \"contact.family_days\", reference = \"Ley 1 art. 2\" }";
        assert_eq!(accepted(&head(good)).source().relaxed.len(), 1);
        for (relaxes, says) in [
            (
                "{ key = \"contact.family_day\", reference = \"Ley 1\" }",
                "\"contact.family_day\" is not a threshold of the policy",
            ),
            (
                "{ key = \"name\", reference = \"Ley 1\" }",
                "\"name\" is not a threshold of the policy",
            ),
            (
                "{ key = \"contact.family_days\", reference = \"  \" }",
                "contact.family_days: give the legal reference that allows it",
            ),
            (
                &format!("{good}, {good}"),
                "contact.family_days is listed more than once",
            ),
            (
                &format!("{good}, {{ key = \"contact.legal_days\", reference = \"Ley 1\" }}"),
                "contact.legal_days is 30, no less strict than the Mandela minimum of 30: it relaxes nothing; remove it from relaxes",
            ),
        ] {
            let e = refused(&head(relaxes));
            assert_eq!(e.field, "relaxes", "{e}");
            assert_eq!(e.message, says);
        }
        // A relaxes entry with a key it does not know about is refused by the file's reader.
        let e = refused(&head(
            "{ key = \"contact.family_days\", reference = \"L\", why = \"x\" }",
        ));
        assert_eq!(e.field, "policy");
    }

    #[test]
    fn each_threshold_one_step_either_way_of_the_minimum() {
        let shipped: toml::Table = toml::from_str(MANDELA_MINIMUM).unwrap();
        for (key, dir) in THRESHOLDS {
            let (section, leaf) = key.split_once('.').unwrap();
            let v = &shipped[section][leaf];
            let (looser, stricter) = match (v, dir) {
                (toml::Value::Float(f), Stricter::Higher) => {
                    (toml::Value::Float(f - 0.1), toml::Value::Float(f + 0.1))
                }
                (toml::Value::Integer(i), Stricter::Higher) => {
                    (toml::Value::Integer(i - 1), toml::Value::Integer(i + 1))
                }
                (toml::Value::Integer(i), Stricter::Lower) => {
                    (toml::Value::Integer(i + 1), toml::Value::Integer(i - 1))
                }
                (toml::Value::Float(f), Stricter::Lower) => {
                    (toml::Value::Float(f + 0.1), toml::Value::Float(f - 0.1))
                }
                other => unreachable!("{key}: {other:?}"),
            };
            let e = refused(&with("j", &[(key, looser)]));
            assert_eq!(e.field, *key, "{e}");
            let p = accepted(&with("j", &[(key, stricter)]));
            assert!(p.source().relaxed.is_empty(), "{key}");
        }
    }

    #[test]
    fn sha256_of_the_bytes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
