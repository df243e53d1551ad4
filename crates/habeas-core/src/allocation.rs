//! Allocation to cells: capacity, Rule 11 separation, non-associations, and the batch planner
//! that places a whole arriving group.

use crate::custody::{Scope, Sex, StatusGroup};
use serde::Serialize;
use std::collections::HashMap;

/// What Rule 11 separates people by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Class {
    pub sex: Sex,
    /// Under 18 at the time of allocation.
    pub minor: bool,
    pub group: StatusGroup,
}

/// A person in a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occupant {
    pub booking: u64,
    pub class: Class,
}

/// A rule an allocation would break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breach {
    /// The rule, e.g. `Rule 11(a)`.
    pub rule: &'static str,
    /// The person it concerns.
    pub other: u64,
    pub what: String,
}

/// Rule 11 breaches of putting someone of `class` with `occupants`.
pub fn separation_breaches(class: Class, occupants: &[Occupant]) -> Vec<Breach> {
    let mut out = Vec::new();
    for o in occupants {
        if o.class.sex != class.sex {
            out.push(Breach {
                rule: "Rule 11(a)",
                other: o.booking,
                what: format!(
                    "men and women are held apart ({} with {})",
                    class.sex.as_str(),
                    o.class.sex.as_str()
                ),
            });
        }
        if o.class.minor != class.minor {
            out.push(Breach {
                rule: "Rule 11(d)",
                other: o.booking,
                what: "young people are held apart from adults".into(),
            });
        }
        match (class.group, o.class.group) {
            (a, b) if a == b => {}
            (StatusGroup::Civil, _) | (_, StatusGroup::Civil) => out.push(Breach {
                rule: "Rule 11(c)",
                other: o.booking,
                what: "people held for civil matters are held apart from those held for criminal offences".into(),
            }),
            _ => out.push(Breach {
                rule: "Rule 11(b)",
                other: o.booking,
                what: "untried people are held apart from convicted people".into(),
            }),
        }
    }
    out
}

/// An active non-association as the planner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apart {
    pub entry: u64,
    pub a: u64,
    pub b: u64,
    pub scope: Scope,
}

/// Where someone is: unit and cell.
pub type Location = (String, String);

/// Non-association breaches of putting `booking` in `cell` of `unit`, given where everyone
/// else is.
pub fn non_association_breaches(
    booking: u64,
    unit: &str,
    cell: &str,
    apart: &[Apart],
    located: &HashMap<u64, Location>,
) -> Vec<Breach> {
    let mut out = Vec::new();
    for n in apart {
        let other = if n.a == booking {
            n.b
        } else if n.b == booking {
            n.a
        } else {
            continue;
        };
        let Some((ou, oc)) = located.get(&other) else {
            continue;
        };
        let hit = match n.scope {
            Scope::Cell => oc == cell,
            Scope::Unit => ou == unit,
            Scope::Facility => true,
        };
        if hit {
            out.push(Breach {
                rule: "non-association",
                other,
                what: format!(
                    "kept apart from {other} ({} scope, entry {})",
                    n.scope.as_str(),
                    n.entry
                ),
            });
        }
    }
    out
}

/// A cell as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub cell: String,
    pub unit: String,
    /// Places left before operational capacity.
    pub free: u32,
    pub occupants: Vec<Occupant>,
}

/// Someone to place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    pub booking: u64,
    pub class: Class,
}

/// The planner's answer: who goes where, and who could not be placed and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub placed: Vec<(u64, String)>,
    pub unplaced: Vec<(u64, String)>,
}

/// Places `arrivals` in `slots` without exceeding operational capacity, mixing Rule 11 classes
/// or breaking a non-association: cells already holding the same class are filled first, then
/// empty cells. `located` holds everyone already in the facility.
pub fn plan(
    mut slots: Vec<Slot>,
    arrivals: &[Arrival],
    apart: &[Apart],
    located: &HashMap<u64, Location>,
) -> Plan {
    let mut located = located.clone();
    let mut classes: Vec<Option<Class>> = slots
        .iter()
        .map(|s| {
            let first = s.occupants.first().map(|o| o.class);
            // A cell already mixed (by an override) takes nobody automatically.
            if s.occupants.iter().any(|o| Some(o.class) != first) {
                None
            } else {
                first
            }
        })
        .collect();
    let mixed: Vec<bool> = slots
        .iter()
        .zip(&classes)
        .map(|(s, c)| !s.occupants.is_empty() && c.is_none())
        .collect();
    let involved: std::collections::HashSet<u64> = apart.iter().flat_map(|n| [n.a, n.b]).collect();
    let mut out = Plan::default();
    for a in arrivals {
        let fits = |i: usize,
                    slots: &[Slot],
                    classes: &[Option<Class>],
                    located: &HashMap<u64, Location>| {
            let s = &slots[i];
            s.free > 0
                && !mixed[i]
                && classes[i].is_none_or(|c| c == a.class)
                && (!involved.contains(&a.booking)
                    || non_association_breaches(a.booking, &s.unit, &s.cell, apart, located)
                        .is_empty())
        };
        let same = (0..slots.len())
            .find(|&i| classes[i] == Some(a.class) && fits(i, &slots, &classes, &located));
        let chosen = same.or_else(|| {
            (0..slots.len()).find(|&i| classes[i].is_none() && fits(i, &slots, &classes, &located))
        });
        match chosen {
            Some(i) => {
                let s = &mut slots[i];
                s.free -= 1;
                s.occupants.push(Occupant {
                    booking: a.booking,
                    class: a.class,
                });
                classes[i] = Some(a.class);
                located.insert(a.booking, (s.unit.clone(), s.cell.clone()));
                out.placed.push((a.booking, s.cell.clone()));
            }
            None => {
                let reason = if apart.iter().any(|n| {
                    n.scope == Scope::Facility
                        && ((n.a == a.booking && located.contains_key(&n.b))
                            || (n.b == a.booking && located.contains_key(&n.a)))
                }) {
                    "a non-association at facility scope: the other person is held here".to_string()
                } else if slots.iter().all(|s| s.free == 0) {
                    "every cell is at operational capacity".to_string()
                } else {
                    format!(
                        "no cell with room holds only {} {} {} people or is empty, without a non-association",
                        if a.class.minor { "young" } else { "adult" },
                        a.class.sex.as_str(),
                        match a.class.group {
                            StatusGroup::Untried => "untried",
                            StatusGroup::Convicted => "convicted",
                            StatusGroup::Civil => "civil",
                        }
                    )
                };
                out.unplaced.push((a.booking, reason));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn class(sex: Sex, minor: bool, group: StatusGroup) -> Class {
        Class { sex, minor, group }
    }

    #[test]
    fn separation_cites_rule_11() {
        let man_untried = class(Sex::Male, false, StatusGroup::Untried);
        let cases = [
            (
                class(Sex::Female, false, StatusGroup::Untried),
                "Rule 11(a)",
            ),
            (class(Sex::Male, true, StatusGroup::Untried), "Rule 11(d)"),
            (
                class(Sex::Male, false, StatusGroup::Convicted),
                "Rule 11(b)",
            ),
            (class(Sex::Male, false, StatusGroup::Civil), "Rule 11(c)"),
        ];
        for (other, rule) in cases {
            let b = separation_breaches(
                man_untried,
                &[Occupant {
                    booking: 9,
                    class: other,
                }],
            );
            assert_eq!(b.len(), 1);
            assert_eq!((b[0].rule, b[0].other), (rule, 9));
        }
        assert!(separation_breaches(
            man_untried,
            &[Occupant {
                booking: 1,
                class: man_untried
            }]
        )
        .is_empty());
    }

    #[test]
    fn the_planner_explains_who_could_not_be_placed() {
        let c = class(Sex::Male, false, StatusGroup::Untried);
        let w = class(Sex::Female, false, StatusGroup::Untried);
        let slots = vec![
            Slot {
                cell: "A-1".into(),
                unit: "A".into(),
                free: 2,
                occupants: vec![],
            },
            Slot {
                cell: "A-2".into(),
                unit: "A".into(),
                free: 1,
                occupants: vec![Occupant {
                    booking: 100,
                    class: c,
                }],
            },
        ];
        let arrivals = [
            Arrival {
                booking: 1,
                class: c,
            },
            Arrival {
                booking: 2,
                class: w,
            },
            Arrival {
                booking: 3,
                class: w,
            },
            Arrival {
                booking: 4,
                class: c,
            },
        ];
        let plan = plan(slots, &arrivals, &[], &HashMap::new());
        assert_eq!(
            plan.placed,
            vec![
                (1, "A-2".to_string()),
                (2, "A-1".to_string()),
                (3, "A-1".to_string())
            ]
        );
        assert_eq!(plan.unplaced.len(), 1);
        assert!(
            plan.unplaced[0]
                .1
                .contains("every cell is at operational capacity"),
            "{:?}",
            plan.unplaced
        );
    }

    #[test]
    fn non_associations_are_respected() {
        let c = class(Sex::Male, false, StatusGroup::Untried);
        let slots = vec![
            Slot {
                cell: "A-1".into(),
                unit: "A".into(),
                free: 5,
                occupants: vec![Occupant {
                    booking: 100,
                    class: c,
                }],
            },
            Slot {
                cell: "B-1".into(),
                unit: "B".into(),
                free: 5,
                occupants: vec![],
            },
        ];
        let mut located = HashMap::new();
        located.insert(100, ("A".to_string(), "A-1".to_string()));
        let apart = [
            Apart {
                entry: 7,
                a: 100,
                b: 1,
                scope: Scope::Unit,
            },
            Apart {
                entry: 8,
                a: 100,
                b: 2,
                scope: Scope::Facility,
            },
        ];
        let p = plan(
            slots,
            &[
                Arrival {
                    booking: 1,
                    class: c,
                },
                Arrival {
                    booking: 2,
                    class: c,
                },
            ],
            &apart,
            &located,
        );
        assert_eq!(p.placed, vec![(1, "B-1".to_string())]);
        assert!(p.unplaced[0].1.contains("facility scope"));
    }

    fn any_class() -> impl Strategy<Value = Class> {
        (
            prop_oneof![Just(Sex::Male), Just(Sex::Female), Just(Sex::Intersex)],
            any::<bool>(),
            prop_oneof![
                Just(StatusGroup::Untried),
                Just(StatusGroup::Convicted),
                Just(StatusGroup::Civil)
            ],
        )
            .prop_map(|(sex, minor, group)| Class { sex, minor, group })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// 2,000 random arrivals: no cell over operational capacity, no cell mixing Rule 11
        /// classes, no non-association broken, and everyone either placed or explained.
        #[test]
        fn batch_allocation_keeps_every_constraint(
            classes in proptest::collection::vec(any_class(), 2000),
            caps in proptest::collection::vec(0u32..40, 64),
            pairs in proptest::collection::vec((0u64..2000, 0u64..2000, 0u8..3), 0..60),
        ) {
            let slots: Vec<Slot> = caps.iter().enumerate().map(|(i, &free)| Slot {
                cell: format!("U{}-C{i:02}", i / 8),
                unit: format!("U{}", i / 8),
                free,
                occupants: vec![],
            }).collect();
            let arrivals: Vec<Arrival> = classes.iter().enumerate().map(|(i, &class)| Arrival { booking: i as u64, class }).collect();
            let apart: Vec<Apart> = pairs.iter().enumerate().filter(|(_, (a, b, _))| a != b).map(|(i, &(a, b, s))| Apart {
                entry: 10_000 + i as u64,
                a,
                b,
                scope: [Scope::Cell, Scope::Unit, Scope::Facility][s as usize],
            }).collect();
            let p = plan(slots.clone(), &arrivals, &apart, &HashMap::new());
            prop_assert_eq!(p.placed.len() + p.unplaced.len(), arrivals.len());
            let mut count: HashMap<&str, u32> = HashMap::new();
            let mut class_of: HashMap<&str, Class> = HashMap::new();
            let mut at: HashMap<u64, (&str, &str)> = HashMap::new();
            for (booking, cell) in &p.placed {
                *count.entry(cell).or_default() += 1;
                let c = classes[*booking as usize];
                let prev = class_of.entry(cell).or_insert(c);
                prop_assert_eq!(*prev, c, "cell {} mixes Rule 11 classes", cell);
                let slot = slots.iter().find(|s| &s.cell == cell).unwrap();
                at.insert(*booking, (slot.unit.as_str(), cell.as_str()));
            }
            for s in &slots {
                prop_assert!(count.get(s.cell.as_str()).copied().unwrap_or(0) <= s.free, "cell {} over capacity", s.cell);
            }
            for n in &apart {
                if let (Some(x), Some(y)) = (at.get(&n.a), at.get(&n.b)) {
                    let broken = match n.scope { Scope::Cell => x.1 == y.1, Scope::Unit => x.0 == y.0, Scope::Facility => true };
                    prop_assert!(!broken, "non-association {:?} broken", n);
                }
            }
        }
    }
}

/// A placement of one person in a cell, with the override that allows breaking Rule 11 or a
/// non-association (never operational capacity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub facility: crate::ids::FacilityCode,
    pub booking: u64,
    pub cell: String,
    pub override_: Option<(String, String)>,
    /// A second authority besides the first, which an override of Rule 11(a) (sex) or 11(d)
    /// (young people) needs.
    pub second_authority: Option<String>,
    /// When the person was placed in the cell, when that was before it was recorded (a
    /// placement written up afterwards); by default, the time of the record.
    pub at: Option<habeas_register::Timestamp>,
    /// The earlier register the placement is copied from (an import: "file, line N"). Such a
    /// placement records what was, over a cell's capacity or across Rule 11 as it may be:
    /// the store refuses neither, and the findings follow. Only an import sets it; the API
    /// and the pages have no field for it.
    pub transcribed_from: Option<String>,
}

impl Allocation {
    pub fn new(
        facility: &str,
        booking: u64,
        cell: &str,
        override_reason: Option<&str>,
        override_authority: Option<&str>,
    ) -> Result<Self, crate::DomainError> {
        use crate::dates::optional_text;
        let reason = optional_text("override_reason", override_reason, 1000)?;
        let authority = optional_text("override_authority", override_authority, 200)?;
        let override_ = match (reason, authority) {
            (None, None) => None,
            (Some(r), Some(a)) => Some((r, a)),
            (Some(_), None) => {
                return Err(crate::DomainError::invalid(
                    "override_authority",
                    "an override needs the authority that allows it",
                ))
            }
            (None, Some(_)) => {
                return Err(crate::DomainError::invalid(
                    "override_reason",
                    "an override needs a reason",
                ))
            }
        };
        Ok(Self {
            facility: crate::ids::FacilityCode::parse("facility", facility)?,
            booking,
            cell: crate::estate::place_code("cell", cell)?,
            override_,
            second_authority: None,
            at: None,
            transcribed_from: None,
        })
    }

    /// The earlier register the placement is copied from (see `transcribed_from`).
    pub fn transcribed_from(mut self, source: &str) -> Result<Self, crate::DomainError> {
        self.transcribed_from = Some(crate::dates::text("transcribed_from", source, 300)?);
        Ok(self)
    }

    /// The second authority of an override (Rule 11(a) and 11(d) need one): another than the
    /// first, and only with an override.
    /// The placement's own time (RFC 3339, not in the future); `None` leaves it the record's.
    pub fn with_at(
        mut self,
        at: Option<&str>,
        now: habeas_register::Timestamp,
    ) -> Result<Self, crate::DomainError> {
        self.at = match at.map(str::trim).filter(|a| !a.is_empty()) {
            Some(raw) => Some(crate::dates::past_time("at", raw, now)?),
            None => None,
        };
        Ok(self)
    }

    pub fn with_second_authority(
        mut self,
        second: Option<&str>,
    ) -> Result<Self, crate::DomainError> {
        let field = "override_second_authority";
        let second = crate::dates::optional_text(field, second, 200)?;
        match (&self.override_, &second) {
            (None, Some(_)) => {
                return Err(crate::DomainError::invalid(
                    field,
                    "a second authority goes with an override (a reason and an authority)",
                ))
            }
            (Some((_, first)), Some(s))
                if crate::ids::search_key(first) == crate::ids::search_key(s) =>
            {
                return Err(crate::DomainError::invalid(
                    field,
                    "the second authority is another than the first",
                ))
            }
            _ => {}
        }
        self.second_authority = second;
        Ok(self)
    }

    pub fn to_draft(&self, actor: &crate::ids::Actor) -> habeas_register::Draft {
        let mut payload = serde_json::json!({"booking": self.booking, "cell": self.cell});
        if let Some(at) = self.at {
            payload["at"] = serde_json::json!(at.to_string());
        }
        if let Some(source) = &self.transcribed_from {
            payload["transcribed_from"] = serde_json::json!(source);
        }
        if let (Some((reason, authority)), Some(obj)) = (&self.override_, payload.as_object_mut()) {
            let mut ov = serde_json::json!({"reason": reason, "authority": authority});
            if let Some(second) = &self.second_authority {
                ov["second_authority"] = serde_json::json!(second);
            }
            obj.insert("override".into(), ov);
        }
        habeas_register::Draft {
            actor: actor.to_string(),
            facility: self.facility.to_string(),
            kind: crate::kinds::ALLOCATED.into(),
            subject: format!("custody:{}", self.booking),
            payload,
            corrects: None,
        }
    }
}
