//! Physical conditions: the environment readings (Mandela Rule 13) and the cell's own
//! attributes as the estate records them: a window (Rule 14(a)), bunks and mattresses (Rule 21)
//! and sanitation and its privacy (Rules 15–16).

use super::{day_number, CellFacts, Finding, Policy, Severity, Subject};
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
    /// The days up to the day evaluated over which hot readings are counted (at most 366),
    /// for the temperature and for the heat index.
    #[serde(default = "default_heat_window_days")]
    pub heat_window_days: u32,
    /// A cell reading whose heat index (temperature and humidity together) is over this (°C)
    /// is a dangerous reading.
    #[serde(default = "default_heat_index_celsius")]
    pub heat_index_celsius: f64,
    /// Days with a dangerous heat index, in the window, from which a cell is found.
    #[serde(default = "default_heat_days")]
    pub heat_index_days: u32,
    /// Rules 14 and 43(1)(c): the hour, in the facility's local time, at which its night
    /// begins (18 to 23)...
    #[serde(default = "default_night_from_hour")]
    pub night_from_hour: u32,
    /// ...and the hour at which it ends (4 to 9): a cell certified as lit by day only
    /// (`lighting = "cycle"`) whose readings show the light on between them was lit that night.
    #[serde(default = "default_night_until_hour")]
    pub night_until_hour: u32,
    /// Nights with the light on, in the window, from which a cell is found.
    #[serde(default = "default_heat_days")]
    pub lit_nights: u32,
    /// The nights (by the day each ends) up to the day evaluated over which lit nights are
    /// counted (at most 366).
    #[serde(default = "default_heat_window_days")]
    pub lit_nights_window_days: u32,
    /// Rule 21: bunks a cell has for each person held in it (1.0: a bed each). A cell with
    /// fewer is found.
    #[serde(default = "default_bunks_per_person")]
    pub bunks_per_person: f64,
}

fn default_bunks_per_person() -> f64 {
    1.0
}

fn default_heat_celsius() -> f64 {
    32.0
}

/// 41 °C (about 105 °F): where the US National Weather Service's "danger" band began on its
/// chart (105-129 °F; today's chart begins it at 103 °F, 39.4 °C).
fn default_heat_index_celsius() -> f64 {
    41.0
}

fn default_night_from_hour() -> u32 {
    22
}

fn default_night_until_hour() -> u32 {
    6
}

/// The hours a policy may give its night: it begins in the evening and ends in the morning, so
/// that an earlier beginning or a later end is always a longer night (and stricter).
pub(crate) const NIGHT_FROM_HOURS: std::ops::RangeInclusive<u32> = 18..=23;
pub(crate) const NIGHT_UNTIL_HOURS: std::ops::RangeInclusive<u32> = 4..=9;

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
            heat_index_celsius: default_heat_index_celsius(),
            heat_index_days: default_heat_days(),
            night_from_hour: default_night_from_hour(),
            night_until_hour: default_night_until_hour(),
            lit_nights: default_heat_days(),
            lit_nights_window_days: default_heat_window_days(),
            bunks_per_person: default_bunks_per_person(),
        }
    }
}

/// The hottest environment reading of one cell on one day: by its temperature, or by the heat
/// index of its temperature and humidity.
#[derive(Debug, Clone, PartialEq)]
pub struct CellDayReading {
    pub facility: String,
    pub cell: String,
    pub day: Date,
    /// Tenths of a degree Celsius: the day's highest temperature, or highest heat index.
    pub tenths_c: i64,
    /// The reading entry.
    pub evidence: u64,
}

/// Mandela Rule 13: a cell with a reading over the policy's heat threshold on `heat_days` or
/// more days of the `heat_window_days` up to `as_of` is not adequate to the climatic
/// conditions (serious). The evidence is the hottest reading of each of those days.
pub fn heat_findings(policy: &Policy, readings: &[CellDayReading], as_of: Date) -> Vec<Finding> {
    let c = &policy.conditions;
    days_over(
        HotDays {
            code: "conditions.heat",
            what: "readings",
            limit_c: c.heat_celsius,
            days: c.heat_days,
            window_days: c.heat_window_days,
        },
        readings,
        as_of,
    )
}

/// Mandela Rule 13: a cell whose readings give a heat index (temperature and relative humidity
/// together, [`crate::environment::heat_index_c`]) over the policy's `heat_index_celsius` on
/// `heat_index_days` or more days of the `heat_window_days` up to `as_of` (serious). Only
/// readings with both a temperature and a humidity have one. The evidence is the reading of
/// each of those days with the highest heat index.
pub fn heat_index_findings(
    policy: &Policy,
    readings: &[CellDayReading],
    as_of: Date,
) -> Vec<Finding> {
    let c = &policy.conditions;
    days_over(
        HotDays {
            code: "conditions.heat_index",
            what: "a heat index",
            limit_c: c.heat_index_celsius,
            days: c.heat_index_days,
            window_days: c.heat_window_days,
        },
        readings,
        as_of,
    )
}

/// A finding of days, in a window, whose hottest reading is over a limit.
struct HotDays {
    code: &'static str,
    /// What was over the limit, as the detail says it.
    what: &'static str,
    limit_c: f64,
    days: u32,
    window_days: u32,
}

/// Each cell with a day's value over `spec.limit_c` on `spec.days` or more of the
/// `spec.window_days` up to `as_of` (serious); the evidence is each such day's hottest reading.
fn days_over(spec: HotDays, readings: &[CellDayReading], as_of: Date) -> Vec<Finding> {
    let limit_dc = (spec.limit_c * 10.0).round() as i64;
    let window = spec.window_days.clamp(1, 366);
    let last = day_number(as_of);
    let first = last - i64::from(window) + 1;
    let mut hot: std::collections::BTreeMap<(&str, &str), Vec<&CellDayReading>> =
        Default::default();
    for r in readings {
        let d = day_number(r.day);
        if d >= first && d <= last && r.tenths_c > limit_dc {
            hot.entry((r.facility.as_str(), r.cell.as_str()))
                .or_default()
                .push(r);
        }
    }
    let mut out = Vec::new();
    for ((facility, cell), mut days) in hot {
        days.sort_by_key(|r| (r.day, std::cmp::Reverse(r.tenths_c)));
        days.dedup_by_key(|r| r.day);
        if days.len() < spec.days.max(1) as usize {
            continue;
        }
        let hottest = days.iter().map(|r| r.tenths_c).max().unwrap_or(0);
        out.push(Finding {
            code: spec.code,
            rule: "Mandela Rule 13; accommodation adequate to the climatic conditions",
            subject: Subject::Cell {
                facility: facility.to_owned(),
                cell: cell.to_owned(),
            },
            severity: Severity::Serious,
            since: days.first().map(|r| r.day.to_string()),
            until: None,
            detail: format!(
                "{} over {} °C on {} of the {window} days up to {as_of} (up to {}{}.{} °C)",
                spec.what,
                spec.limit_c,
                days.len(),
                if hottest < 0 { "-" } else { "" },
                hottest.abs() / 10,
                hottest.abs() % 10
            ),
            evidence: days.iter().map(|r| r.evidence).collect(),
            words: Vec::new(),
        });
    }
    out
}

/// An environment reading showing the light on, in a cell whose estate certifies it as lit by
/// day only (`lighting = "cycle"`), with the offset of its facility's local time.
#[derive(Debug, Clone, PartialEq)]
pub struct LitReading {
    pub facility: String,
    pub cell: String,
    pub at: habeas_register::Timestamp,
    /// The facility's local time, minutes from UTC.
    pub utc_offset_minutes: i32,
    /// The reading entry.
    pub evidence: u64,
}

const DAY_MS: i64 = 86_400_000;

/// The night a reading falls in, by the day number of the morning it ends (local time), or
/// `None` when the reading is by day: from `from_hour` in the evening to `until_hour` in the
/// morning, in the facility's local time.
pub fn night_of(r: &LitReading, from_hour: u32, until_hour: u32) -> Option<i64> {
    let local = r.at.millis() + i64::from(r.utc_offset_minutes) * 60_000;
    let (day, minute) = (local.div_euclid(DAY_MS), local.rem_euclid(DAY_MS) / 60_000);
    if minute >= i64::from(from_hour) * 60 {
        Some(day + 1)
    } else if minute < i64::from(until_hour) * 60 {
        Some(day)
    } else {
        None
    }
}

/// Mandela Rules 14 and 43(1)(c): a cell certified as lit by day only whose readings show the
/// light on during the night (`night_from_hour` to `night_until_hour`, the facility's local
/// time) on `lit_nights` or more of the `lit_nights_window_days` nights up to `as_of` (a night
/// counted by the day it ends): serious; grave when the light was on more than half of those
/// nights, a cell lit day and night whatever its certification says. The evidence is the first
/// reading showing the light on in each such night. (A cell certified as lit constantly is
/// `light.constant`.)
pub fn light_at_night_findings(
    policy: &Policy,
    readings: &[LitReading],
    as_of: Date,
) -> Vec<Finding> {
    let c = &policy.conditions;
    let window = c.lit_nights_window_days.clamp(1, 366);
    let last = day_number(as_of);
    let first = last - i64::from(window) + 1;
    let mut lit: std::collections::BTreeMap<
        (&str, &str),
        std::collections::BTreeMap<i64, &LitReading>,
    > = Default::default();
    for r in readings {
        let Some(night) = night_of(r, c.night_from_hour, c.night_until_hour) else {
            continue;
        };
        if night < first || night > last {
            continue;
        }
        let nights = lit
            .entry((r.facility.as_str(), r.cell.as_str()))
            .or_default();
        let first_reading = nights.entry(night).or_insert(r);
        if r.at < first_reading.at {
            *first_reading = r;
        }
    }
    let mut out = Vec::new();
    for ((facility, cell), nights) in lit {
        let n = nights.len();
        if n < c.lit_nights.max(1) as usize {
            continue;
        }
        let offset = nights.values().next().map_or(0, |r| r.utc_offset_minutes);
        out.push(Finding {
            code: "conditions.light_at_night",
            rule: "Mandela Rules 14 and 43(1)(c): light by day; a cell is not lit constantly",
            subject: Subject::Cell {
                facility: facility.to_owned(),
                cell: cell.to_owned(),
            },
            severity: if n * 2 > window as usize {
                Severity::Grave
            } else {
                Severity::Serious
            },
            since: nights.values().map(|r| r.at).min().map(|t| t.to_string()),
            until: None,
            detail: format!(
                "the light on at night ({:02}:00-{:02}:00, UTC{}) on {n} of the {window} nights up to {as_of}, in a cell certified as lit by day only",
                c.night_from_hour,
                c.night_until_hour,
                crate::estate::offset_text(offset)
            ),
            evidence: nights.values().map(|r| r.evidence).collect(),
            words: Vec::new(),
        });
    }
    out
}

const RULES_15_16: &str = "Mandela Rules 15-16: sanitary installations adequate for the needs of nature in a clean and decent manner";

const RULE_21: &str =
    "Mandela Rule 21: a separate bed and separate, sufficient bedding for every person";

/// `1 bunk`, `80 bunks`.
fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// People held without something there is `enough` of for some of them: serious, grave when
/// more than half are without it.
fn more_than_half_without(held: u64, enough: u64) -> Severity {
    if held.saturating_sub(enough) * 2 > held {
        Severity::Grave
    } else {
        Severity::Serious
    }
}

/// The findings on an occupied cell's own attributes, as the estate records them (one cell, not
/// one person-day: the cell is measured once however many people it holds):
///
/// * `conditions.no_window` (Rule 14(a), serious): people held in a cell without a window;
/// * `conditions.bedding` (Rule 21): more people than the cell's bunks allow at the policy's
///   `bunks_per_person` (serious; grave when the bunks are for fewer than half of them);
/// * `conditions.sanitation` (Rules 15–16, grave): people held in a cell without sanitation in
///   or adjoining it (a bucket, nothing);
/// * `conditions.no_mattress` (Rule 21): where the estate records the cell's mattresses, more
///   people held than mattresses (serious; grave when more than half are without one);
/// * `conditions.open_toilet` (Rules 15–16, serious): where the estate records the cell's
///   toilet as open (`toilet_private = false`), two or more people held, who use it in front of
///   one another.
pub fn cell_condition_findings(policy: &Policy, c: &CellFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    if c.population == 0 {
        return out;
    }
    let subject = || Subject::Cell {
        facility: c.facility.clone(),
        cell: c.cell.clone(),
    };
    let held = c.population;
    let people = count(held, "person", "people");
    if !c.window {
        out.push(Finding {
            code: "conditions.no_window",
            rule: "Mandela Rule 14(a): windows large enough to read or work by natural light, letting in fresh air",
            subject: subject(),
            severity: Severity::Serious,
            since: None,
            until: None,
            detail: format!("{people} held in a cell without a window"),
            evidence: vec![c.defined],
            words: vec![super::Words::new("no-window", &[("count", &held)])],
        });
    }
    let per_person = policy.conditions.bunks_per_person;
    // The people the bunks serve at the policy's ratio (a small tolerance: 3 bunks at 1.5 a
    // person serve 2 people, not 1.9999).
    let served = ((c.bunks as f64) / per_person + 1e-9).floor().max(0.0) as u64;
    let bunks = count(c.bunks, "bunk", "bunks");
    if held > served {
        out.push(Finding {
            code: "conditions.bedding",
            rule: RULE_21,
            subject: subject(),
            severity: more_than_half_without(held, served),
            since: None,
            until: None,
            detail: format!(
                "{people} held for {bunks} ({per_person} a person): {} without one",
                held - served
            ),
            evidence: vec![c.defined],
            words: Vec::new(),
        });
    }
    if let Some(mattresses) = c.mattresses.filter(|m| held > *m) {
        let bare = c.bunks.saturating_sub(mattresses);
        out.push(Finding {
            code: "conditions.no_mattress",
            rule: RULE_21,
            subject: subject(),
            severity: more_than_half_without(held, mattresses),
            since: None,
            until: None,
            detail: format!(
                "{people} held with {} ({bunks}, {bare} of them bare): {} without a mattress",
                count(mattresses, "mattress", "mattresses"),
                held - mattresses
            ),
            evidence: vec![c.defined],
            words: Vec::new(),
        });
    }
    if c.sanitation && c.toilet_private == Some(false) && held > 1 {
        out.push(Finding {
            code: "conditions.open_toilet",
            rule: RULES_15_16,
            subject: subject(),
            severity: Severity::Serious,
            since: None,
            until: None,
            detail: format!(
                "{people} held in a cell whose toilet is open, without privacy: each uses it in front of the others"
            ),
            evidence: vec![c.defined],
            words: vec![super::Words::new("open-toilet", &[("count", &held)])],
        });
    }
    if !c.sanitation {
        out.push(Finding {
            code: "conditions.sanitation",
            rule: RULES_15_16,
            subject: subject(),
            severity: Severity::Grave,
            since: None,
            until: None,
            detail: format!("{people} held in a cell with no toilet in or adjoining it"),
            evidence: vec![c.defined],
            words: vec![super::Words::new("no-toilet", &[("count", &held)])],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::tests::{date, policy};

    fn reading(day: &str, tenths_c: i64, evidence: u64) -> CellDayReading {
        CellDayReading {
            facility: "CECOT".into(),
            cell: "M1-C01".into(),
            day: date(day),
            tenths_c,
            evidence,
        }
    }

    fn hot_days(days: usize, tenths_c: i64) -> Vec<CellDayReading> {
        (0..days)
            .map(|i| reading(&format!("2026-06-{:02}", 10 + i), tenths_c, i as u64 + 1))
            .collect()
    }

    #[test]
    fn heat_index_at_the_threshold_and_one_step_either_side() {
        let p = policy();
        assert_eq!(p.conditions.heat_index_celsius, 41.0);
        assert_eq!(p.conditions.heat_index_days, 3);
        let as_of = date("2026-06-20");
        // A heat index of 41.0 °C is not over 41 °C; 41.1 °C is; 40.9 °C is not.
        assert!(heat_index_findings(&p, &hot_days(3, 410), as_of).is_empty());
        assert!(heat_index_findings(&p, &hot_days(3, 409), as_of).is_empty());
        let found = heat_index_findings(&p, &hot_days(3, 411), as_of);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "conditions.heat_index");
        assert_eq!(found[0].severity, Severity::Serious);
        assert_eq!(found[0].evidence, [1, 2, 3]);
        assert_eq!(
            found[0].detail,
            "a heat index over 41 °C on 3 of the 30 days up to 2026-06-20 (up to 41.1 °C)"
        );
        // Days: 2 are not enough, 3 and 4 are.
        assert!(heat_index_findings(&p, &hot_days(2, 450), as_of).is_empty());
        assert_eq!(heat_index_findings(&p, &hot_days(4, 450), as_of).len(), 1);
        // The same readings as temperatures are conditions.heat, with its own threshold.
        assert_eq!(
            heat_findings(&p, &hot_days(3, 411), as_of)[0].code,
            "conditions.heat"
        );
        // A stricter policy finds a lower heat index.
        let mut strict = p.clone();
        strict.conditions.heat_index_celsius = 39.4;
        assert_eq!(
            heat_index_findings(&strict, &hot_days(3, 400), as_of).len(),
            1
        );
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

    fn cell(population: u64, bunks: u64, window: bool, sanitation: bool) -> CellFacts {
        CellFacts {
            facility: "CECOT".into(),
            unit: "M1".into(),
            cell: "M1-C01".into(),
            area_cm2: 1_000_000,
            population,
            cna: 100,
            operational_capacity: 200,
            constant_light: false,
            bunks,
            window,
            sanitation,
            mattresses: None,
            toilet_private: None,
            evidence: 6,
            defined: 7,
        }
    }

    fn found(p: &Policy, c: &CellFacts) -> Vec<(&'static str, Severity)> {
        cell_condition_findings(p, c)
            .iter()
            .map(|f| (f.code, f.severity))
            .collect()
    }

    #[test]
    fn no_window_and_no_sanitation_when_anyone_is_held_and_not_when_the_cell_is_empty() {
        let p = policy();
        // The threshold is one person held: none, one, two.
        assert!(found(&p, &cell(0, 80, false, false)).is_empty());
        let one = cell_condition_findings(&p, &cell(1, 80, false, false));
        assert_eq!(
            one.iter().map(|f| (f.code, f.severity)).collect::<Vec<_>>(),
            [
                ("conditions.no_window", Severity::Serious),
                ("conditions.sanitation", Severity::Grave)
            ]
        );
        assert_eq!(one[0].evidence, [7]);
        assert!(one[0].detail.contains("1 person held"), "{}", one[0].detail);
        assert_eq!(
            found(&p, &cell(2, 80, false, true)),
            [("conditions.no_window", Severity::Serious)]
        );
        assert_eq!(
            found(&p, &cell(2, 80, true, false)),
            [("conditions.sanitation", Severity::Grave)]
        );
        // A window and sanitation: nothing.
        assert!(found(&p, &cell(2, 80, true, true)).is_empty());
    }

    #[test]
    fn bedding_at_the_bunks_and_one_step_either_side_grave_past_half() {
        let p = policy();
        assert_eq!(p.conditions.bunks_per_person, 1.0);
        let bedding = |held, bunks| {
            found(&p, &cell(held, bunks, true, true))
                .into_iter()
                .map(|(_, s)| s)
                .collect::<Vec<_>>()
        };
        // 80 bunks: 79 and 80 people have a bed each; 81 do not.
        assert!(bedding(79, 80).is_empty());
        assert!(bedding(80, 80).is_empty());
        assert_eq!(bedding(81, 80), [Severity::Serious]);
        // Grave when more than half are without: 160 for 80 bunks is half (serious), 161 is
        // more; 159 is under.
        assert_eq!(bedding(159, 80), [Severity::Serious]);
        assert_eq!(bedding(160, 80), [Severity::Serious]);
        assert_eq!(bedding(161, 80), [Severity::Grave]);
        // No bunk at all: grave for one person.
        assert_eq!(bedding(1, 0), [Severity::Grave]);
        let f = cell_condition_findings(&p, &cell(81, 80, true, true));
        assert_eq!(f[0].code, "conditions.bedding");
        assert!(f[0].detail.contains("1 without one"), "{}", f[0].detail);
        // A stricter policy (a bunk and a half a person) serves 2 people with 3 bunks, not 3.
        let mut strict = p.clone();
        strict.conditions.bunks_per_person = 1.5;
        assert!(found(&strict, &cell(2, 3, true, true)).is_empty());
        assert_eq!(found(&strict, &cell(3, 3, true, true)).len(), 1);
    }

    #[test]
    fn no_mattress_at_the_mattresses_and_one_step_either_side_grave_past_half() {
        let p = policy();
        let found = |held, mattresses| {
            let mut c = cell(held, 200, true, true);
            c.mattresses = mattresses;
            found(&p, &c)
        };
        // 80 mattresses: 79 and 80 people have one each; 81 do not.
        assert!(found(79, Some(80)).is_empty());
        assert!(found(80, Some(80)).is_empty());
        assert_eq!(
            found(81, Some(80)),
            [("conditions.no_mattress", Severity::Serious)]
        );
        // Grave when more than half are without: 160 for 80 is half, 161 more.
        assert_eq!(found(160, Some(80))[0].1, Severity::Serious);
        assert_eq!(found(161, Some(80))[0].1, Severity::Grave);
        // CECOT: 80 bare bunks, no mattress, 80 people.
        let mut cecot = cell(80, 80, true, true);
        cecot.mattresses = Some(0);
        let f = cell_condition_findings(&p, &cecot);
        assert_eq!(
            f.iter().map(|f| (f.code, f.severity)).collect::<Vec<_>>(),
            [("conditions.no_mattress", Severity::Grave)]
        );
        assert_eq!(
            f[0].detail,
            "80 people held with 0 mattresses (80 bunks, 80 of them bare): 80 without a mattress"
        );
        assert_eq!(f[0].evidence, [7]);
        // Not recorded: nothing is found; an empty cell neither.
        assert!(found(150, None).is_empty());
        assert!(found(0, Some(0)).is_empty());
    }

    #[test]
    fn an_open_toilet_is_found_when_two_share_the_cell() {
        let p = policy();
        let found = |held, toilet_private| {
            let mut c = cell(held, 80, true, true);
            c.toilet_private = toilet_private;
            found(&p, &c)
        };
        // One person alone: not found; two: found; three: found.
        assert!(found(1, Some(false)).is_empty());
        assert_eq!(
            found(2, Some(false)),
            [("conditions.open_toilet", Severity::Serious)]
        );
        assert_eq!(found(3, Some(false)).len(), 1);
        // A private toilet, or one whose privacy is not recorded: nothing.
        assert!(found(80, Some(true)).is_empty());
        assert!(found(80, None).is_empty());
        // No toilet at all is conditions.sanitation, not an open one.
        let mut bucket = cell(3, 80, true, false);
        bucket.toilet_private = Some(false);
        assert_eq!(
            self::found(&p, &bucket),
            [("conditions.sanitation", Severity::Grave)]
        );
    }

    /// A reading with the light on in M1-C01 of a facility at UTC-06:00, at `at` (UTC).
    fn lit(at: &str, evidence: u64) -> LitReading {
        LitReading {
            facility: "CECOT".into(),
            cell: "M1-C01".into(),
            at: habeas_register::Timestamp::parse(at).unwrap(),
            utc_offset_minutes: -360,
            evidence,
        }
    }

    /// Readings at 02:00 local time (08:00 UTC) on the mornings of `nights` days ending on
    /// 2026-06-20.
    fn lit_nights(nights: u32) -> Vec<LitReading> {
        let last = date("2026-06-20");
        (0..nights)
            .map(|i| {
                let day = last.plus_days(-i64::from(i));
                lit(&format!("{day}T08:00:00.000Z"), u64::from(i) + 1)
            })
            .collect()
    }

    #[test]
    fn light_at_night_at_the_threshold_and_one_step_either_side() {
        let p = policy();
        assert_eq!(
            (
                p.conditions.night_from_hour,
                p.conditions.night_until_hour,
                p.conditions.lit_nights,
                p.conditions.lit_nights_window_days
            ),
            (22, 6, 3, 30)
        );
        let as_of = date("2026-06-20");
        let found = |r: &[LitReading]| {
            light_at_night_findings(&p, r, as_of)
                .iter()
                .map(|f| (f.code, f.severity))
                .collect::<Vec<_>>()
        };
        // Nights: 2 are not enough; 3 are, serious; grave past half the window (15 of 30 is
        // half, 16 more).
        assert!(found(&lit_nights(2)).is_empty());
        assert_eq!(
            found(&lit_nights(3)),
            [("conditions.light_at_night", Severity::Serious)]
        );
        assert_eq!(found(&lit_nights(15))[0].1, Severity::Serious);
        assert_eq!(found(&lit_nights(16))[0].1, Severity::Grave);
        let f = light_at_night_findings(&p, &lit_nights(3), as_of);
        assert_eq!(f[0].evidence, [3, 2, 1]);
        assert_eq!(f[0].since.as_deref(), Some("2026-06-18T08:00:00.000Z"));
        assert_eq!(
            f[0].detail,
            "the light on at night (22:00-06:00, UTC-06:00) on 3 of the 30 nights up to 2026-06-20, in a cell certified as lit by day only"
        );
        // Two readings in one night count once; the first is the evidence.
        let mut twice = lit_nights(2);
        twice.push(lit("2026-06-20T05:00:00.000Z", 9));
        assert!(found(&twice).is_empty());
        // Local time (UTC-06:00): 21:59 on 06-19 is evening, 22:00 the night ending on 06-20,
        // and so is 05:59 on 06-20; 06:00 is morning.
        let at = |utc: &str| {
            let r = lit(utc, 1);
            night_of(&r, 22, 6)
        };
        let day = day_number(date("2026-06-20"));
        assert_eq!(at("2026-06-20T03:59:00.000Z"), None);
        assert_eq!(at("2026-06-20T04:00:00.000Z"), Some(day));
        assert_eq!(at("2026-06-20T11:59:00.000Z"), Some(day));
        assert_eq!(at("2026-06-20T12:00:00.000Z"), None);
        // In UTC (a facility without an offset) 03:00 is night.
        let mut utc = lit("2026-06-20T03:00:00.000Z", 1);
        utc.utc_offset_minutes = 0;
        assert_eq!(night_of(&utc, 22, 6), Some(day));
        // A stricter night (from 21:00) takes in 21:30.
        let evening: Vec<LitReading> = (0..3)
            .map(|i| {
                let d = date("2026-06-19").plus_days(-i);
                lit(&format!("{d}T03:30:00.000Z"), 1)
            })
            .collect();
        assert!(found(&evening).is_empty());
        let mut strict = p.clone();
        strict.conditions.night_from_hour = 21;
        assert_eq!(light_at_night_findings(&strict, &evening, as_of).len(), 1);
    }

    #[test]
    fn light_at_night_counts_only_the_window_and_the_policy_bounds_the_night() {
        let p = policy();
        let as_of = date("2026-06-20");
        // The 30 nights up to 06-20 end on 05-22 to 06-20: the night ending on 05-22 is in it,
        // the one ending on 05-21 is not, nor one ending after the day evaluated.
        let nights = |first: &str| {
            vec![
                lit(&format!("{first}T08:00:00.000Z"), 1),
                lit("2026-06-18T08:00:00.000Z", 2),
                lit("2026-06-19T08:00:00.000Z", 3),
            ]
        };
        assert_eq!(
            light_at_night_findings(&p, &nights("2026-05-22"), as_of).len(),
            1
        );
        assert!(light_at_night_findings(&p, &nights("2026-05-21"), as_of).is_empty());
        assert!(light_at_night_findings(&p, &nights("2026-06-21"), as_of).is_empty());
        let mut strict = p.clone();
        strict.conditions.lit_nights_window_days = 31;
        assert_eq!(
            light_at_night_findings(&strict, &nights("2026-05-21"), as_of).len(),
            1
        );
        // The night's hours are bounded, each refused by name.
        for (from, to, field) in [
            ("22", "3", "conditions.night_until_hour"),
            ("22", "10", "conditions.night_until_hour"),
            ("17", "6", "conditions.night_from_hour"),
            ("24", "6", "conditions.night_from_hour"),
        ] {
            let text = super::super::MANDELA_MINIMUM
                .replace("night_from_hour = 22", &format!("night_from_hour = {from}"))
                .replace("night_until_hour = 6", &format!("night_until_hour = {to}"))
                .replace("name = \"mandela-minimum\"", "name = \"x\"");
            let e = Policy::from_toml(&text).unwrap_err();
            assert_eq!(e.field, field, "{from}-{to}");
        }
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
