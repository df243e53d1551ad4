//! Physical conditions measured by the environment readings (Mandela Rule 13).

use super::{day_number, Finding, Policy, Severity, Subject};
use crate::dates::Date;
use serde::{Deserialize, Serialize};

/// Mandela Rule 13: accommodation meets the requirements of health, with due regard to
/// climatic conditions (minimum floor space, lighting, heating and ventilation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionsPolicy {
    /// A cell reading over this temperature (°C) is a hot reading.
    #[serde(default = "default_heat_celsius")]
    pub heat_celsius: f64,
    /// Days with a hot reading, in the window, from which a cell is found too hot.
    #[serde(default = "default_heat_days")]
    pub heat_days: u32,
    /// The days up to the day evaluated over which hot readings are counted (at most 366).
    #[serde(default = "default_heat_window_days")]
    pub heat_window_days: u32,
}

fn default_heat_celsius() -> f64 {
    32.0
}

fn default_heat_days() -> u32 {
    3
}

fn default_heat_window_days() -> u32 {
    30
}

impl Default for ConditionsPolicy {
    fn default() -> Self {
        Self {
            heat_celsius: default_heat_celsius(),
            heat_days: default_heat_days(),
            heat_window_days: default_heat_window_days(),
        }
    }
}

/// The hottest environment reading of one cell on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct CellDayReading {
    pub facility: String,
    pub cell: String,
    pub day: Date,
    /// Tenths of a degree Celsius.
    pub temperature_dc: i64,
    /// The reading entry.
    pub evidence: u64,
}

/// Mandela Rule 13: a cell with a reading over the policy's heat threshold on `heat_days` or
/// more days of the `heat_window_days` up to `as_of` is not adequate to the climatic
/// conditions (serious). The evidence is the hottest reading of each of those days.
pub fn heat_findings(policy: &Policy, readings: &[CellDayReading], as_of: Date) -> Vec<Finding> {
    let c = &policy.conditions;
    let limit_dc = (c.heat_celsius * 10.0).round() as i64;
    let window = c.heat_window_days.clamp(1, 366);
    let last = day_number(as_of);
    let first = last - i64::from(window) + 1;
    let mut hot: std::collections::BTreeMap<(&str, &str), Vec<&CellDayReading>> =
        Default::default();
    for r in readings {
        let d = day_number(r.day);
        if d >= first && d <= last && r.temperature_dc > limit_dc {
            hot.entry((r.facility.as_str(), r.cell.as_str()))
                .or_default()
                .push(r);
        }
    }
    let mut out = Vec::new();
    for ((facility, cell), mut days) in hot {
        days.sort_by_key(|r| (r.day, std::cmp::Reverse(r.temperature_dc)));
        days.dedup_by_key(|r| r.day);
        if days.len() < c.heat_days.max(1) as usize {
            continue;
        }
        let hottest = days.iter().map(|r| r.temperature_dc).max().unwrap_or(0);
        out.push(Finding {
            code: "conditions.heat",
            rule: "Mandela Rule 13; accommodation adequate to the climatic conditions",
            subject: Subject::Cell {
                facility: facility.to_owned(),
                cell: cell.to_owned(),
            },
            severity: Severity::Serious,
            since: days.first().map(|r| r.day.to_string()),
            until: None,
            detail: format!(
                "readings over {} °C on {} of the {window} days up to {as_of} (up to {}.{} °C)",
                c.heat_celsius,
                days.len(),
                hottest / 10,
                (hottest % 10).abs()
            ),
            evidence: days.iter().map(|r| r.evidence).collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        match Policy::from_toml(super::super::MANDELA_MINIMUM) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn date(s: &str) -> Date {
        match Date::parse("day", s) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    fn reading(day: &str, temperature_dc: i64, evidence: u64) -> CellDayReading {
        CellDayReading {
            facility: "CECOT".into(),
            cell: "M1-C01".into(),
            day: date(day),
            temperature_dc,
            evidence,
        }
    }

    fn hot_days(days: usize, temperature_dc: i64) -> Vec<CellDayReading> {
        (0..days)
            .map(|i| {
                reading(
                    &format!("2026-06-{:02}", 10 + i),
                    temperature_dc,
                    i as u64 + 1,
                )
            })
            .collect()
    }

    #[test]
    fn heat_at_the_threshold_and_one_step_either_side() {
        let p = policy();
        assert_eq!(p.conditions.heat_celsius, 32.0);
        assert_eq!(p.conditions.heat_days, 3);
        assert_eq!(p.conditions.heat_window_days, 30);
        let as_of = date("2026-06-20");
        // Temperature: 32.0 °C is not over 32 °C; 32.1 °C is; 31.9 °C is not.
        assert!(heat_findings(&p, &hot_days(3, 320), as_of).is_empty());
        assert!(heat_findings(&p, &hot_days(3, 319), as_of).is_empty());
        let found = heat_findings(&p, &hot_days(3, 321), as_of);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "conditions.heat");
        assert_eq!(found[0].severity, Severity::Serious);
        assert_eq!(found[0].evidence, [1, 2, 3]);
        assert_eq!(found[0].since.as_deref(), Some("2026-06-10"));
        // Days: 2 hot days are not enough, 3 and 4 are.
        assert!(heat_findings(&p, &hot_days(2, 350), as_of).is_empty());
        assert_eq!(heat_findings(&p, &hot_days(4, 350), as_of).len(), 1);
        // Two hot readings on one day count once.
        let mut twice = hot_days(2, 350);
        twice.push(reading("2026-06-11", 360, 9));
        assert!(heat_findings(&p, &twice, as_of).is_empty());
    }

    #[test]
    fn heat_counts_only_the_window() {
        let p = policy();
        // The window is the 30 days up to the day: 2026-06-20 back to 2026-05-22.
        let days = |first: &str| {
            vec![
                reading(first, 340, 1),
                reading("2026-06-18", 340, 2),
                reading("2026-06-19", 340, 3),
            ]
        };
        let as_of = date("2026-06-20");
        assert_eq!(heat_findings(&p, &days("2026-05-22"), as_of).len(), 1);
        assert!(heat_findings(&p, &days("2026-05-21"), as_of).is_empty());
        // A reading after the day evaluated is not counted.
        assert!(heat_findings(&p, &days("2026-06-21"), as_of).is_empty());
        // A stricter policy's longer window sees the earlier day.
        let mut strict = p.clone();
        strict.conditions.heat_window_days = 31;
        assert_eq!(heat_findings(&strict, &days("2026-05-21"), as_of).len(), 1);
    }
}
