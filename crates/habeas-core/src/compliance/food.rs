//! Food and drinking water (Mandela Rule 22), from the daily record of each unit
//! (`food_service`): the meals served, and whether drinking water was available whenever needed.
//! Measured per unit and day, never per person: a unit's record speaks for everyone held in it.
//! A unit-day with no record is missing evidence, never a breach.

use super::{day_number, Finding, Policy, Severity, Subject};
use crate::dates::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Mandela Rule 22: food of nutritional value at the usual hours, and drinking water whenever
/// needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoodPolicy {
    /// Meals a day served to each person (Rule 22(1)'s "usual hours"): a unit's day with fewer
    /// is found.
    #[serde(default = "default_meals_per_day")]
    pub meals_per_day: u32,
    /// The days up to the day evaluated whose records are read (at most 366).
    #[serde(default = "default_window_days")]
    pub window_days: u32,
}

/// Three: the usual hours of Rule 22(1) are morning, midday and evening in the prison rules
/// of most states; a jurisdiction whose law provides otherwise says so in `relaxes`.
fn default_meals_per_day() -> u32 {
    3
}

fn default_window_days() -> u32 {
    30
}

impl Default for FoodPolicy {
    fn default() -> Self {
        Self {
            meals_per_day: default_meals_per_day(),
            window_days: default_window_days(),
        }
    }
}

/// One unit's record of one day's food and water.
#[derive(Debug, Clone, PartialEq)]
pub struct FoodServiceFacts {
    pub facility: String,
    pub unit: String,
    pub day: Date,
    pub meals: u32,
    pub water_available: bool,
    /// When water was not available whenever needed: the hours it was.
    pub water_hours: Option<u32>,
    /// When water was not available whenever needed: the litres each person had.
    pub water_litres: Option<u32>,
    /// The record's entry.
    pub evidence: u64,
}

/// A unit holding people now, and a day from which it has held someone every day (the earliest
/// placement of anyone in it now): the days its food ought to be on record.
#[derive(Debug, Clone, PartialEq)]
pub struct OccupiedUnit {
    pub facility: String,
    pub unit: String,
    pub since: Date,
}

/// Days on which a unit held people and nobody recorded its food and water: missing evidence,
/// not findings.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoFoodRecords {
    pub facility: String,
    pub unit: String,
    /// The first day of the run (YYYY-MM-DD).
    pub from: String,
    /// The last day of the run.
    pub to: String,
    pub days: u32,
}

/// The first and last day numbers of the policy's window up to `as_of`.
fn window(policy: &Policy, as_of: Date) -> (i64, i64) {
    let last = day_number(as_of);
    (
        last - i64::from(policy.food.window_days.clamp(1, 366)) + 1,
        last,
    )
}

/// Each unit's records in the window, one a day (a later record of the same unit and day
/// replaces an earlier one), by unit and day.
fn by_unit<'a>(
    policy: &Policy,
    services: &'a [FoodServiceFacts],
    as_of: Date,
) -> BTreeMap<(&'a str, &'a str), BTreeMap<i64, &'a FoodServiceFacts>> {
    let (first, last) = window(policy, as_of);
    let mut units: BTreeMap<(&str, &str), BTreeMap<i64, &FoodServiceFacts>> = BTreeMap::new();
    for s in services {
        let d = day_number(s.day);
        if d < first || d > last {
            continue;
        }
        let days = units
            .entry((s.facility.as_str(), s.unit.as_str()))
            .or_default();
        match days.get(&d) {
            Some(kept) if kept.evidence > s.evidence => {}
            _ => {
                days.insert(d, s);
            }
        }
    }
    units
}

/// Mandela Rule 22, per unit over the policy's window up to `as_of`, from its daily records:
///
/// * `conditions.food` (Rule 22(1)): days with fewer meals than `food.meals_per_day`; serious,
///   grave when on any of them fewer than half were served (one meal of three);
/// * `conditions.water` (Rule 22(2), grave): days on which drinking water was not available
///   whenever needed.
///
/// Each is one finding per unit, naming the days; its evidence is their records. It ends
/// (`until`) on the last such day when a later day's record is within the rule.
pub fn food_findings(policy: &Policy, services: &[FoodServiceFacts], as_of: Date) -> Vec<Finding> {
    let window_days = policy.food.window_days.clamp(1, 366);
    let meals = policy.food.meals_per_day;
    let mut out = Vec::new();
    for ((facility, unit), days) in by_unit(policy, services, as_of) {
        let recorded = days.len();
        let last_recorded = days.keys().next_back().copied();
        let finding = |code: &'static str, rule: &'static str, bad: &[&FoodServiceFacts]| {
            let last_bad = bad.last().map(|s| day_number(s.day));
            Finding {
                code,
                rule,
                subject: Subject::Unit {
                    facility: facility.to_owned(),
                    unit: unit.to_owned(),
                },
                severity: Severity::Serious,
                since: bad.first().map(|s| s.day.to_string()),
                until: if last_bad < last_recorded {
                    bad.last().map(|s| s.day.to_string())
                } else {
                    None
                },
                detail: String::new(),
                evidence: bad.iter().map(|s| s.evidence).collect(),
                words: Vec::new(),
            }
        };
        let of_days = |n: usize| {
            format!("{n} of the {recorded} days recorded in the {window_days} up to {as_of}")
        };
        let short: Vec<&FoodServiceFacts> =
            days.values().copied().filter(|s| s.meals < meals).collect();
        if let Some(fewest) = short.iter().map(|s| s.meals).min() {
            let mut f = finding(
                "conditions.food",
                "Mandela Rule 22(1): food of nutritional value adequate for health and strength, at the usual hours",
                &short,
            );
            if fewest * 2 < meals {
                f.severity = Severity::Grave;
            }
            f.detail = format!(
                "fewer than {meals} meals a day on {} (the fewest: {fewest})",
                of_days(short.len())
            );
            out.push(f);
        }
        let dry: Vec<&FoodServiceFacts> = days
            .values()
            .copied()
            .filter(|s| !s.water_available)
            .collect();
        if !dry.is_empty() {
            let mut f = finding(
                "conditions.water",
                "Mandela Rule 22(2): drinking water available to every prisoner whenever needed",
                &dry,
            );
            f.severity = Severity::Grave;
            let least = |v: fn(&FoodServiceFacts) -> Option<u32>, what: &str| {
                dry.iter()
                    .filter_map(|s| v(s))
                    .min()
                    .map(|n| format!("; as little as {n} {what}"))
                    .unwrap_or_default()
            };
            f.detail = format!(
                "drinking water not available whenever needed on {}{}{}",
                of_days(dry.len()),
                least(|s| s.water_hours, "hours a day"),
                least(|s| s.water_litres, "litres a person")
            );
            out.push(f);
        }
    }
    out
}

/// The days of the policy's window up to `as_of` on which a unit holding people (since the day
/// its earliest present occupant was placed) has no record of its food and water: runs of days
/// per unit, to be listed as missing evidence. No record is not no food.
pub fn food_gaps(
    policy: &Policy,
    services: &[FoodServiceFacts],
    units: &[OccupiedUnit],
    as_of: Date,
) -> Vec<NoFoodRecords> {
    let (first, last) = window(policy, as_of);
    let recorded = by_unit(policy, services, as_of);
    let mut out = Vec::new();
    for u in units {
        let days = recorded.get(&(u.facility.as_str(), u.unit.as_str()));
        let mut run: Option<(i64, i64)> = None;
        let from = first.max(day_number(u.since));
        for d in from..=last + 1 {
            let missing = d <= last && days.is_none_or(|r| !r.contains_key(&d));
            match (missing, run) {
                (true, Some((a, _))) => run = Some((a, d)),
                (true, None) => run = Some((d, d)),
                (false, Some((a, b))) => {
                    out.push(NoFoodRecords {
                        facility: u.facility.clone(),
                        unit: u.unit.clone(),
                        from: date_of(a).to_string(),
                        to: date_of(b).to_string(),
                        days: u32::try_from(b - a + 1).unwrap_or(u32::MAX),
                    });
                    run = None;
                }
                (false, None) => {}
            }
        }
    }
    out.sort_by(|a, b| (&a.facility, &a.unit, &a.from).cmp(&(&b.facility, &b.unit, &b.from)));
    out
}

fn date_of(day: i64) -> Date {
    Date::of(habeas_register::Timestamp::from_millis(day * 86_400_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::tests::{date, policy};

    /// Unit M1's record of `day`: `meals`, water whenever needed or not.
    fn served(day: &str, meals: u32, water: bool, evidence: u64) -> FoodServiceFacts {
        FoodServiceFacts {
            facility: "CECOT".into(),
            unit: "M1".into(),
            day: date(day),
            meals,
            water_available: water,
            water_hours: (!water).then_some(4),
            water_litres: None,
            evidence,
        }
    }

    fn found(p: &Policy, s: &[FoodServiceFacts]) -> Vec<(&'static str, Severity)> {
        food_findings(p, s, date("2025-05-31"))
            .iter()
            .map(|f| (f.code, f.severity))
            .collect()
    }

    #[test]
    fn a_policy_file_written_before_these_sections_gets_the_minimum() {
        let text = super::super::MANDELA_MINIMUM;
        let cut = text.find("\n[food]").unwrap();
        let older: String = text[..cut]
            .lines()
            .filter(|l| {
                !["heat_index_", "night_", "lit_nights"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .collect::<Vec<_>>()
            .join("\n")
            .replace("name = \"mandela-minimum\"", "name = \"anterior\"");
        let p = Policy::from_toml(&older).unwrap();
        let minimum = policy();
        assert_eq!(p.food, minimum.food);
        assert_eq!(p.conditions, minimum.conditions);
    }

    #[test]
    fn meals_at_the_policys_count_and_one_either_side() {
        let p = policy();
        assert_eq!((p.food.meals_per_day, p.food.window_days), (3, 30));
        // Three meals are the usual hours; four are more; two are fewer: serious.
        assert!(found(&p, &[served("2025-05-31", 3, true, 1)]).is_empty());
        assert!(found(&p, &[served("2025-05-31", 4, true, 1)]).is_empty());
        assert_eq!(
            found(&p, &[served("2025-05-31", 2, true, 1)]),
            [("conditions.food", Severity::Serious)]
        );
        // Fewer than half the meals (one of three, or none): grave.
        assert_eq!(
            found(&p, &[served("2025-05-31", 1, true, 1)]),
            [("conditions.food", Severity::Grave)]
        );
        assert_eq!(
            found(&p, &[served("2025-05-31", 0, true, 1)]),
            [("conditions.food", Severity::Grave)]
        );
        // A stricter policy's fourth meal finds three.
        let mut strict = p.clone();
        strict.food.meals_per_day = 4;
        assert_eq!(found(&strict, &[served("2025-05-31", 3, true, 1)]).len(), 1);
        // One finding per unit, naming its days; ended when a later day is within the rule.
        let days = [
            served("2025-05-28", 2, true, 1),
            served("2025-05-29", 2, true, 2),
            served("2025-05-30", 3, true, 3),
        ];
        let f = food_findings(&p, &days, date("2025-05-31"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence, [1, 2]);
        assert_eq!(
            (f[0].since.as_deref(), f[0].until.as_deref()),
            (Some("2025-05-28"), Some("2025-05-29"))
        );
        assert_eq!(
            f[0].subject,
            Subject::Unit {
                facility: "CECOT".into(),
                unit: "M1".into()
            }
        );
        assert_eq!(
            f[0].detail,
            "fewer than 3 meals a day on 2 of the 3 days recorded in the 30 up to 2025-05-31 (the fewest: 2)"
        );
        // Still short on the last day recorded: ongoing.
        let f = food_findings(&p, &days[..2], date("2025-05-31"));
        assert_eq!(f[0].until, None);
        // A later record of the same day replaces the earlier one.
        let corrected = [
            served("2025-05-30", 2, true, 1),
            served("2025-05-30", 3, true, 2),
        ];
        assert!(found(&p, &corrected).is_empty());
    }

    #[test]
    fn water_not_available_whenever_needed_is_grave_and_the_window_bounds_both() {
        let p = policy();
        assert!(found(&p, &[served("2025-05-31", 3, true, 1)]).is_empty());
        assert_eq!(
            found(&p, &[served("2025-05-31", 3, false, 1)]),
            [("conditions.water", Severity::Grave)]
        );
        let mut dry = served("2025-05-31", 3, false, 1);
        dry.water_litres = Some(2);
        let f = food_findings(&p, &[dry], date("2025-05-31"));
        assert_eq!(
            f[0].detail,
            "drinking water not available whenever needed on 1 of the 1 days recorded in the 30 up to 2025-05-31; as little as 4 hours a day; as little as 2 litres a person"
        );
        // The window: the 30 days up to 05-31 begin on 05-02; 05-01 is out, and a day after
        // the day evaluated too.
        assert_eq!(found(&p, &[served("2025-05-02", 2, false, 1)]).len(), 2);
        assert!(found(&p, &[served("2025-05-01", 2, false, 1)]).is_empty());
        assert!(found(&p, &[served("2025-06-01", 2, false, 1)]).is_empty());
        let mut strict = p.clone();
        strict.food.window_days = 31;
        assert_eq!(found(&strict, &[served("2025-05-01", 2, true, 1)]).len(), 1);
    }

    #[test]
    fn a_unit_holding_people_without_a_record_is_missing_evidence_not_a_finding() {
        let p = policy();
        let as_of = date("2025-05-31");
        let unit = |since: &str| OccupiedUnit {
            facility: "CECOT".into(),
            unit: "M1".into(),
            since: date(since),
        };
        // Held since long before the window; recorded on 05-10 and 05-20 only.
        let some = [
            served("2025-05-10", 3, true, 1),
            served("2025-05-20", 3, true, 2),
        ];
        assert!(food_findings(&p, &some, as_of).is_empty());
        let gaps = food_gaps(&p, &some, &[unit("2024-01-01")], as_of);
        let runs: Vec<(&str, &str, u32)> = gaps
            .iter()
            .map(|g| (g.from.as_str(), g.to.as_str(), g.days))
            .collect();
        assert_eq!(
            runs,
            [
                ("2025-05-02", "2025-05-09", 8),
                ("2025-05-11", "2025-05-19", 9),
                ("2025-05-21", "2025-05-31", 11)
            ]
        );
        // Held only since 05-25: the days before are not missing; a unit recorded every day
        // has no gap; a unit holding nobody is not listed.
        let gaps = food_gaps(&p, &some, &[unit("2025-05-25")], as_of);
        assert_eq!(
            gaps.iter()
                .map(|g| (g.from.as_str(), g.days))
                .collect::<Vec<_>>(),
            [("2025-05-25", 7)]
        );
        let every: Vec<FoodServiceFacts> = (0..30)
            .map(|i| {
                let d = as_of.plus_days(-i);
                served(&d.to_string(), 3, true, i as u64)
            })
            .collect();
        assert!(food_gaps(&p, &every, &[unit("2024-01-01")], as_of).is_empty());
        assert!(food_gaps(&p, &some, &[], as_of).is_empty());
    }
}
