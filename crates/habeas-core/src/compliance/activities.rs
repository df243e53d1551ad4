//! Findings on the regime offered: work, education and recreation (Mandela Rules 4, 96 and
//! 104–105), per person and per facility; and a sentenced person's individual plan (Rules 89
//! and 93–94).

use super::{days_between, Finding, Policy, Severity, Subject, Words};
use crate::dates::Date;
use std::collections::BTreeMap;

const RULE: &str = "Mandela Rules 4, 96 and 104-105: work, education and recreation are offered to every person held";

/// One person held as of the day, with their latest programme attendance.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityFacts {
    /// The admission entry.
    pub booking: u64,
    pub facility: String,
    pub admitted: Date,
    /// The day the records of the custody begin: the admission's, or for one transcribed from
    /// an earlier register, the day it was transcribed (attendance before it is not recorded,
    /// and absence of records is not evidence).
    pub records_from: Date,
    /// The day and entry of the latest attendance (work, education or other) up to the day.
    pub last: Option<(Date, u64)>,
}

/// Rules 4, 96 and 104–105: a person held with no programme attendance (work, education,
/// recreation) for more than `activities.days` days up to the day (counted from the latest
/// attendance, or from admission); and, per facility, one where nobody held attended any
/// programme in those days while someone is found.
pub fn activity_findings(policy: &Policy, facts: &[ActivityFacts], as_of: Date) -> Vec<Finding> {
    let limit = i64::from(policy.activities.days);
    let mut out = Vec::new();
    // Per facility: (people found, anyone attended within the days).
    let mut facilities: BTreeMap<&str, (u64, bool)> = BTreeMap::new();
    for a in facts.iter().filter(|a| a.admitted <= as_of) {
        let last = a.last.filter(|(d, _)| *d <= as_of);
        let start = a.admitted.max(a.records_from);
        let from = last.map_or(start, |(d, _)| d.max(start));
        let idle = days_between(from, as_of);
        let entry = facilities.entry(a.facility.as_str()).or_default();
        if idle <= limit {
            entry.1 |= last.is_some_and(|(d, _)| days_between(d, as_of) <= limit);
            continue;
        }
        entry.0 += 1;
        let mut evidence = vec![a.booking];
        let detail = match last {
            Some((d, idx)) => {
                evidence.push(idx);
                format!("no work, education or recreation attended since {d}, {idle} days, over {limit}")
            }
            None if start > a.admitted => format!(
                "no work, education or recreation attended since the records began on {start}, {idle} days, over {limit}"
            ),
            None => format!(
                "no work, education or recreation attended since admission on {}, {idle} days, over {limit}",
                a.admitted
            ),
        };
        out.push(Finding {
            code: "regime.no_activity",
            rule: RULE,
            subject: Subject::Person { booking: a.booking },
            severity: Severity::Serious,
            since: Some(from.plus_days(limit).to_string()),
            until: None,
            detail,
            evidence,
            words: vec![Words::new(
                match last {
                    Some(_) => "no-activity-since",
                    None if start > a.admitted => "no-activity-records",
                    None => "no-activity-admission",
                },
                &[
                    ("date", &last.map_or(start, |(d, _)| d)),
                    ("days", &idle),
                    ("limit", &limit),
                ],
            )],
        });
    }
    for (facility, (found, offered)) in facilities {
        if found > 0 && !offered {
            out.push(Finding {
                code: "regime.no_activity",
                rule: RULE,
                subject: Subject::Facility {
                    facility: facility.to_string(),
                },
                severity: Severity::Grave,
                since: None,
                until: None,
                detail: format!(
                    "nobody held attended work, education or recreation in the {limit} days up to {as_of}; {found} held longer without any"
                ),
                evidence: Vec::new(),
                words: Vec::new(),
            });
        }
    }
    out
}

/// One sentenced person held as of the day, with their latest sentence plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SentencePlanFacts {
    /// The admission entry.
    pub booking: u64,
    pub admitted: Date,
    /// The day of the first sentence order, and the entry that recorded it.
    pub sentenced: (Date, u64),
    /// The latest plan drawn up by the day: when, its next review if set, and its entry.
    pub plan: Option<(Date, Option<Date>, u64)>,
}

/// Rules 89 and 93–94: a person sentenced and held more than `regime.sentence_plan_days` days
/// since the sentence (or since admission, when sentenced before it: a plan drawn up where
/// they were before is redrawn here) with no plan; or whose latest plan's review date passed
/// more than that many days ago. A custody transcribed from an earlier register counts from the
/// sentence too: a plan in force is a standing document, transcribed with the custody like its
/// orders, and none transcribed is none.
pub fn sentence_plan_findings(
    policy: &Policy,
    facts: &[SentencePlanFacts],
    as_of: Date,
) -> Vec<Finding> {
    let limit = i64::from(policy.regime.sentence_plan_days);
    let mut out = Vec::new();
    for f in facts
        .iter()
        .filter(|f| f.admitted <= as_of && f.sentenced.0 <= as_of)
    {
        let plan = f.plan.filter(|(at, _, _)| *at <= as_of);
        let (due, (detail, words), mut evidence) = match plan {
            None => {
                let from = f.sentenced.0.max(f.admitted);
                let days = days_between(from, as_of);
                if days <= limit {
                    continue;
                }
                let since = if from > f.sentenced.0 {
                    format!("sentenced on {}, admitted on {from}", f.sentenced.0)
                } else {
                    format!("sentenced on {from}")
                };
                (
                    from.plus_days(limit),
                    (
                        format!(
                            "{since}: no individual sentence plan in {days} days, over {limit}"
                        ),
                        vec![Words::new(
                            "no-sentence-plan",
                            &[("date", &f.sentenced.0), ("days", &days), ("limit", &limit)],
                        )],
                    ),
                    vec![f.booking, f.sentenced.1],
                )
            }
            Some((at, Some(review), idx)) => {
                let days = days_between(review, as_of);
                if days <= limit {
                    continue;
                }
                (
                    review.plus_days(limit),
                    (
                        format!("the sentence plan of {at} was due for review on {review}, {days} days ago, over {limit}"),
                        vec![Words::new(
                            "plan-review-overdue",
                            &[("plan", &at), ("date", &review), ("days", &days), ("limit", &limit)],
                        )],
                    ),
                    vec![f.booking, idx],
                )
            }
            Some((_, None, _)) => continue,
        };
        evidence.sort_unstable();
        evidence.dedup();
        out.push(Finding {
            code: "regime.no_sentence_plan",
            rule: "Mandela Rules 89 and 93-94: the treatment of a sentenced person follows an individual programme, drawn up and reviewed",
            subject: Subject::Person { booking: f.booking },
            severity: Severity::Serious,
            since: Some(due.to_string()),
            until: None,
            detail,
            evidence,
            words,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::tests::{codes, date, policy};

    fn person(booking: u64, admitted: &str, last: Option<&str>) -> ActivityFacts {
        ActivityFacts {
            booking,
            facility: "F".into(),
            admitted: date(admitted),
            records_from: date(admitted),
            last: last.map(|d| (date(d), booking + 100)),
        }
    }

    fn sentenced(
        admitted: &str,
        on: &str,
        plan: Option<(&str, Option<&str>)>,
    ) -> SentencePlanFacts {
        SentencePlanFacts {
            booking: 5,
            admitted: date(admitted),
            sentenced: (date(on), 6),
            plan: plan.map(|(at, review)| (date(at), review.map(date), 8)),
        }
    }

    #[test]
    fn no_sentence_plan_at_the_policys_days_and_one_either_side() {
        let p = policy();
        assert_eq!(p.regime.sentence_plan_days, 90);
        let day = date("2026-03-31");
        let found = |f: SentencePlanFacts| sentence_plan_findings(&p, &[f], day);
        // Sentenced 89 or 90 days before the day: within the days; 91: a finding.
        assert!(found(sentenced("2025-06-01", "2026-01-01", None)).is_empty());
        assert!(found(sentenced("2025-06-01", "2025-12-31", None)).is_empty());
        let f = found(sentenced("2025-06-01", "2025-12-30", None));
        assert_eq!(codes(&f), ["regime.no_sentence_plan"]);
        assert_eq!(f[0].subject, Subject::Person { booking: 5 });
        assert_eq!(f[0].severity, Severity::Serious);
        assert_eq!(f[0].evidence, [5, 6]);
        assert_eq!(f[0].since.as_deref(), Some("2026-03-30"));
        // Sentenced before admission (a transfer in): counted from the admission.
        assert!(found(sentenced("2025-12-31", "2024-01-01", None)).is_empty());
        let f = found(sentenced("2025-12-30", "2024-01-01", None));
        assert!(
            f[0].detail.contains("admitted on 2025-12-30"),
            "{}",
            f[0].detail
        );
        // A plan, with no review date or one not yet passed by more than the days: nothing.
        assert!(found(sentenced(
            "2024-01-01",
            "2024-01-01",
            Some(("2024-02-01", None))
        ))
        .is_empty());
        assert!(found(sentenced(
            "2024-01-01",
            "2024-01-01",
            Some(("2024-02-01", Some("2025-12-31")))
        ))
        .is_empty());
        // Its review passed 91 days before the day: a finding, on the plan.
        let f = found(sentenced(
            "2024-01-01",
            "2024-01-01",
            Some(("2024-02-01", Some("2025-12-30"))),
        ));
        assert_eq!(f[0].evidence, [5, 8]);
        assert!(
            f[0].detail.contains("due for review on 2025-12-30"),
            "{}",
            f[0].detail
        );
        // A plan drawn up after the day is not seen on it; a sentence after the day neither.
        assert_eq!(
            found(sentenced(
                "2024-01-01",
                "2024-01-01",
                Some(("2026-04-01", None))
            ))
            .len(),
            1
        );
        assert!(found(sentenced("2024-01-01", "2026-04-01", None)).is_empty());
        // A stricter policy finds sooner.
        let mut strict = p.clone();
        strict.regime.sentence_plan_days = 89;
        assert_eq!(
            sentence_plan_findings(&strict, &[sentenced("2025-06-01", "2025-12-31", None)], day)
                .len(),
            1
        );
    }

    #[test]
    fn no_activity_at_the_policys_days_per_person_and_per_facility() {
        let p = policy();
        assert_eq!(p.activities.days, 30);
        let day = date("2026-03-31");
        // Attended 30 days before the day: at the threshold, no finding; 31: a finding.
        assert!(
            activity_findings(&p, &[person(1, "2026-01-01", Some("2026-03-01"))], day).is_empty()
        );
        assert!(
            activity_findings(&p, &[person(1, "2026-01-01", Some("2026-03-02"))], day).is_empty()
        );
        let f = activity_findings(&p, &[person(1, "2026-01-01", Some("2026-02-28"))], day);
        assert_eq!(codes(&f), ["regime.no_activity", "regime.no_activity"]);
        assert_eq!(f[0].subject, Subject::Person { booking: 1 });
        assert_eq!(f[0].evidence, [1, 101]);
        assert_eq!(f[0].severity, Severity::Serious);
        assert_eq!(
            f[1].subject,
            Subject::Facility {
                facility: "F".into()
            }
        );
        assert_eq!(f[1].severity, Severity::Grave);
        // Never attended: counted from admission, the same either side.
        assert!(activity_findings(&p, &[person(2, "2026-03-01", None)], day).is_empty());
        assert!(activity_findings(&p, &[person(2, "2026-03-02", None)], day).is_empty());
        let f = activity_findings(&p, &[person(2, "2026-02-28", None)], day);
        assert_eq!(f.len(), 2);
        assert!(f[0].detail.contains("since admission"), "{}", f[0].detail);
        // Transcribed from an earlier register: counted from the day the records begin.
        let mut transcribed = person(2, "2025-06-01", None);
        transcribed.records_from = date("2026-03-01");
        assert!(activity_findings(&p, &[transcribed.clone()], day).is_empty());
        transcribed.records_from = date("2026-02-28");
        let f = activity_findings(&p, &[transcribed], day);
        assert!(
            f[0].detail.contains("records began on 2026-02-28"),
            "{}",
            f[0].detail
        );
        // Someone else attending in the days: the person is found, the facility is not.
        let f = activity_findings(
            &p,
            &[
                person(2, "2026-02-28", None),
                person(3, "2026-01-01", Some("2026-03-30")),
            ],
            day,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].subject, Subject::Person { booking: 2 });
        // A stricter policy finds sooner.
        let mut strict = p.clone();
        strict.activities.days = 29;
        assert_eq!(
            activity_findings(
                &strict,
                &[
                    person(1, "2026-01-01", Some("2026-03-01")),
                    person(3, "2026-01-01", Some("2026-03-30"))
                ],
                day
            )
            .len(),
            1
        );
    }
}
