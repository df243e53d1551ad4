//! Mandela Rules 69 and 71(1): a person held who is seriously injured or seriously ill, or
//! taken to a health institution, has the person they designated to receive their health
//! information (or their family) told at once, unless they explicitly asked that nobody be; a
//! serious injury in custody, and any disappearance (an escape), is reported without delay to
//! an authority independent of the prison administration, mandated to investigate it. Each is
//! a case, opened by a `serious_harm` record or by a release whose reason is `escape`, and
//! closed step by step (`harm_step`).

use super::{Finding, Policy, Severity, Subject, HOUR_MS};
use crate::dates::Date;
use habeas_register::Timestamp;

/// A step of a serious-harm case (a `harm_step` record).
#[derive(Debug, Clone, PartialEq)]
pub struct HarmStepDone {
    /// `designated_informed`, `notice_declined` or `independent_authority_informed`.
    pub step: String,
    /// When it was done (or, for a decline, when the person said so).
    pub at: Timestamp,
    /// When it was written to the register.
    pub recorded: Timestamp,
    /// The step's entry.
    pub idx: u64,
}

/// One serious-harm case and the steps recorded for it.
#[derive(Debug, Clone, PartialEq)]
pub struct HarmFacts {
    pub booking: u64,
    /// The `serious_harm` entry, which is the case.
    pub idx: u64,
    pub at: Timestamp,
    /// `injury`, `illness`, `hospital_transfer`, or `escape` (a case the release opened).
    pub kind: String,
    pub steps: Vec<HarmStepDone>,
}

/// What a case's kind is called in a finding.
fn what(kind: &str) -> &str {
    match kind {
        "injury" => "serious injury",
        "illness" => "serious illness",
        "hospital_transfer" => "transfer to a health institution",
        other => other,
    }
}

/// What a case of `kind` owes, in the order the page and the lists give it: each step due,
/// with the steps that discharge it. A serious injury, illness or transfer to a health
/// institution owes the designated person (or the family) told, or the person's own request
/// that nobody be (Rule 69); a serious injury and an escape owe the report to an independent
/// authority (Rule 71(1)). An escape owes nothing under Rule 69: nobody is ill or hurt that
/// the records know of, and the person is not there to ask.
pub fn harm_owed(kind: &str) -> Vec<(&'static str, &'static [&'static str])> {
    let mut owed: Vec<(&'static str, &'static [&'static str])> = Vec::new();
    if kind != "escape" {
        owed.push((
            "designated_informed",
            &["designated_informed", "notice_declined"],
        ));
    }
    if matches!(kind, "injury" | "escape") {
        owed.push((
            "independent_authority_informed",
            &["independent_authority_informed"],
        ));
    }
    owed
}

/// The steps of a case of `kind` still due, given the steps recorded for it.
pub fn harm_pending<'a>(
    kind: &str,
    done: impl Iterator<Item = &'a str> + Clone,
) -> Vec<&'static str> {
    harm_owed(kind)
        .into_iter()
        .filter(|(_, by)| !done.clone().any(|d| by.contains(&d)))
        .map(|(step, _)| step)
        .collect()
}

/// Rules 69 and 71(1), as of the end of `as_of`:
/// - nobody the person designated (nor the family) told within `harm.designated_hours` of the
///   harm, and no decline by the person before then (serious, until one of them);
/// - a decline by the person, a notice so that inspectors can check it with them;
/// - a serious injury not reported to an independent authority within `harm.authority_hours`
///   (grave, until it is);
/// - an escape not reported to an independent authority within `harm.authority_hours` (grave,
///   until it is: Rule 71(1)'s "any disappearance").
///
/// A step counts from when it was done only when it was written to the register within
/// `harm.record_hours` of that, and from when it was written otherwise, so that a step dated
/// back cannot undo the hours in which the records showed none.
pub fn harm_findings(policy: &Policy, h: &HarmFacts, as_of: Date) -> Vec<Finding> {
    let day_end = as_of.plus_days(1).start();
    if h.at >= day_end {
        return Vec::new();
    }
    let grace = i64::from(policy.harm.record_hours) * HOUR_MS;
    let counts_from = |s: &HarmStepDone| {
        if s.recorded.millis() - s.at.millis() <= grace {
            s.at
        } else {
            s.recorded.max(s.at)
        }
    };
    // The first of the given steps known by the end of the day, and when it counts from.
    let first = |steps: &[&str]| {
        h.steps
            .iter()
            .filter(|s| steps.contains(&s.step.as_str()))
            .map(|s| (counts_from(s), s))
            .filter(|(from, _)| *from < day_end)
            .min_by_key(|(from, s)| (*from, s.idx))
    };
    let what = what(&h.kind);
    let subject = Subject::Person { booking: h.booking };
    let mut out = Vec::new();
    let mut overdue = |code: &'static str,
                       rule: &'static str,
                       severity: Severity,
                       hours: u32,
                       done: Option<(Timestamp, &HarmStepDone)>,
                       missing: &str| {
        let due = Timestamp(h.at.millis() + i64::from(hours) * HOUR_MS);
        let until = done.map_or(day_end, |(from, _)| from);
        if until <= due {
            return;
        }
        let waited = (until.millis() - h.at.millis()) / HOUR_MS;
        let mut evidence = vec![h.idx];
        let detail = match done {
            Some((from, s)) => {
                evidence.push(s.idx);
                let step = s.step.replace('_', " ");
                if from > s.at {
                    format!(
                        "{step} said to have been done {}, written to the register only {from}, {waited} hours after the {what} of {}, over {hours}",
                        s.at, h.at
                    )
                } else {
                    format!(
                        "{step} {from}, {waited} hours after the {what} of {}, over {hours}",
                        h.at
                    )
                }
            }
            None => format!(
                "{missing} in the {waited} hours since the {what} of {}, over {hours}",
                h.at
            ),
        };
        out.push(Finding {
            code,
            rule,
            subject: subject.clone(),
            severity,
            since: Some(due.to_string()),
            until: done.map(|(from, _)| from.to_string()),
            detail,
            evidence,
            words: Vec::new(),
        });
    };
    if h.kind == "escape" {
        overdue(
            "escape.not_reported",
            "Mandela Rule 71(1): any disappearance of a prisoner is reported without delay to an authority independent of the prison administration",
            Severity::Grave,
            policy.harm.authority_hours,
            first(&["independent_authority_informed"]),
            "not reported to an independent authority",
        );
        return out;
    }
    let informed = first(&["designated_informed", "notice_declined"]);
    overdue(
        "harm.designated_not_informed",
        "Mandela Rule 69: the person designated to receive a prisoner's health information is notified of a serious illness, injury or transfer to a health institution",
        Severity::Serious,
        policy.harm.designated_hours,
        informed,
        "nobody the person designated, nor the family, told",
    );
    if h.kind == "injury" {
        overdue(
            "harm.not_reported",
            "Mandela Rule 71(1): a serious injury in custody is reported without delay to an authority independent of the prison administration",
            Severity::Grave,
            policy.harm.authority_hours,
            first(&["independent_authority_informed"]),
            "not reported to an independent authority",
        );
    }
    if let Some((from, s)) = informed.filter(|(_, s)| s.step == "notice_declined") {
        // Someone told after it (the person changed their mind) ends the notice.
        let told = first(&["designated_informed"]).filter(|(at, _)| *at > from);
        let mut evidence = vec![h.idx, s.idx];
        let mut detail = format!(
            "the person asked that nobody be told of the {what} of {} ({}, recorded {}): ask the person whether they did",
            h.at, s.at, s.recorded
        );
        if let Some((at, t)) = told {
            evidence.push(t.idx);
            detail.push_str(&format!(
                "; the designated person or family told {at} after it"
            ));
        }
        out.push(Finding {
            code: "harm.notice_declined",
            rule: "Mandela Rule 69: a prisoner's explicit request that nobody be notified of an illness or injury is respected (inspectors check it with them, Rules 83-85)",
            subject,
            severity: Severity::Notice,
            since: Some(from.to_string()),
            until: told.map(|(at, _)| at.to_string()),
            detail,
            evidence,
            words: Vec::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::tests::{date, policy};

    fn at(start: Timestamp, hours: i64) -> Timestamp {
        Timestamp(start.millis() + hours * HOUR_MS)
    }

    fn step(name: &str, when: Timestamp, written: Timestamp, idx: u64) -> HarmStepDone {
        HarmStepDone {
            step: name.to_owned(),
            at: when,
            recorded: written,
            idx,
        }
    }

    fn codes(found: &[Finding]) -> Vec<&'static str> {
        found.iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_serious_injury_is_told_to_the_designated_person_and_reported_in_time() {
        let p = policy();
        assert_eq!((p.harm.designated_hours, p.harm.authority_hours), (24, 24));
        let hurt = date("2026-03-01").start();
        let case = |steps: Vec<HarmStepDone>| HarmFacts {
            booking: 7,
            idx: 20,
            at: hurt,
            kind: "injury".to_owned(),
            steps,
        };
        let day = date("2026-03-10");
        // Nothing done: both found, from when each fell due, with no end.
        let none = harm_findings(&p, &case(vec![]), day);
        assert_eq!(
            codes(&none),
            ["harm.designated_not_informed", "harm.not_reported"]
        );
        assert_eq!(
            (
                none[1].severity,
                none[1].since.clone(),
                none[1].until.clone(),
                none[1].evidence.clone()
            ),
            (
                Severity::Grave,
                Some(at(hurt, 24).to_string()),
                None,
                vec![20]
            )
        );
        assert!(
            none[1].detail.contains("serious injury"),
            "{}",
            none[1].detail
        );
        // Not yet found on the day of the injury: 24 hours not over by its end.
        assert_eq!(harm_findings(&p, &case(vec![]), date("2026-03-01")), []);
        assert_eq!(
            codes(&harm_findings(&p, &case(vec![]), date("2026-03-02"))),
            ["harm.designated_not_informed", "harm.not_reported"]
        );
        // Both done at 24 hours: on time. At 25: found for the hour, ending then.
        let both = |h: i64| {
            case(vec![
                step("designated_informed", at(hurt, h), at(hurt, h), 21),
                step(
                    "independent_authority_informed",
                    at(hurt, h),
                    at(hurt, h),
                    22,
                ),
            ])
        };
        assert_eq!(harm_findings(&p, &both(24), day), []);
        let late = harm_findings(&p, &both(25), day);
        assert_eq!(
            codes(&late),
            ["harm.designated_not_informed", "harm.not_reported"]
        );
        assert_eq!(
            (late[1].until.clone(), late[1].evidence.clone()),
            (Some(at(hurt, 25).to_string()), vec![20, 22])
        );
        // A report dated back to the first hour but written four days later counts from the
        // writing, and the detail says so.
        let back = case(vec![
            step("designated_informed", at(hurt, 2), at(hurt, 3), 21),
            step(
                "independent_authority_informed",
                at(hurt, 1),
                at(hurt, 96),
                22,
            ),
        ]);
        let back = harm_findings(&p, &back, day);
        assert_eq!(codes(&back), ["harm.not_reported"]);
        assert_eq!(back[0].until, Some(at(hurt, 96).to_string()));
        assert!(
            back[0].detail.contains("written to the register only"),
            "{}",
            back[0].detail
        );
        // A step after the day evaluated is not yet known.
        let later = harm_findings(&p, &both(24 * 5), date("2026-03-03"));
        assert!(later.iter().all(|f| f.until.is_none()), "{later:?}");
        // A stricter policy finds sooner.
        let mut strict = p.clone();
        strict.harm.authority_hours = 12;
        assert_eq!(
            codes(&harm_findings(&strict, &both(13), day)),
            ["harm.not_reported"]
        );
    }

    #[test]
    fn an_illness_or_a_hospital_transfer_is_told_and_a_decline_is_a_notice() {
        let p = policy();
        let ill = date("2026-03-01").start();
        let case = |kind: &str, steps: Vec<HarmStepDone>| HarmFacts {
            booking: 7,
            idx: 20,
            at: ill,
            kind: kind.to_owned(),
            steps,
        };
        let day = date("2026-03-10");
        // No report to an independent authority is due for an illness or a transfer.
        for kind in ["illness", "hospital_transfer"] {
            assert_eq!(
                codes(&harm_findings(&p, &case(kind, vec![]), day)),
                ["harm.designated_not_informed"],
                "{kind}"
            );
        }
        // The person asked that nobody be told: a notice in place of the finding.
        let declined = case(
            "illness",
            vec![step("notice_declined", at(ill, 3), at(ill, 3), 21)],
        );
        let found = harm_findings(&p, &declined, day);
        assert_eq!(codes(&found), ["harm.notice_declined"]);
        assert_eq!(
            (found[0].severity, found[0].evidence.clone()),
            (Severity::Notice, vec![20, 21])
        );
        // Told after the person declined: the decline came first and stands.
        let told_too = case(
            "illness",
            vec![
                step("designated_informed", at(ill, 30), at(ill, 30), 22),
                step("notice_declined", at(ill, 3), at(ill, 3), 21),
            ],
        );
        let changed_mind = harm_findings(&p, &told_too, day);
        assert_eq!(codes(&changed_mind), ["harm.notice_declined"]);
        // ...and the person changing their mind ends the notice.
        assert_eq!(
            (
                changed_mind[0].until.clone(),
                changed_mind[0].evidence.clone()
            ),
            (Some(at(ill, 30).to_string()), vec![20, 21, 22])
        );
        // Told first: no notice even if a decline follows.
        let told_first = case(
            "hospital_transfer",
            vec![
                step("designated_informed", at(ill, 2), at(ill, 2), 22),
                step("notice_declined", at(ill, 5), at(ill, 5), 21),
            ],
        );
        assert_eq!(harm_findings(&p, &told_first, day), []);
    }

    #[test]
    fn an_escape_is_reported_to_an_independent_authority_and_owes_nothing_else() {
        let p = policy();
        let gone = date("2026-03-01").start();
        let case = |steps: Vec<HarmStepDone>| HarmFacts {
            booking: 7,
            idx: 40,
            at: gone,
            kind: "escape".to_owned(),
            steps,
        };
        let day = date("2026-03-10");
        // Nothing reported: grave, from the 24th hour, with no end; no Rule 69 finding.
        let none = harm_findings(&p, &case(vec![]), day);
        assert_eq!(codes(&none), ["escape.not_reported"]);
        assert_eq!(
            (
                none[0].severity,
                none[0].since.clone(),
                none[0].until.clone()
            ),
            (Severity::Grave, Some(at(gone, 24).to_string()), None)
        );
        assert!(none[0].rule.contains("disappearance"), "{}", none[0].rule);
        assert!(
            none[0].detail.contains("since the escape of"),
            "{}",
            none[0].detail
        );
        // Reported in time: nothing. Reported at the 30th hour: six hours of the finding.
        let reported = |h: i64, written: i64| {
            case(vec![step(
                "independent_authority_informed",
                at(gone, h),
                at(gone, written),
                41,
            )])
        };
        assert_eq!(harm_findings(&p, &reported(20, 20), day), []);
        let late = harm_findings(&p, &reported(30, 31), day);
        assert_eq!(
            (late[0].until.clone(), late[0].evidence.clone()),
            (Some(at(gone, 30).to_string()), vec![40, 41])
        );
        // A report dated back to the first hour, written a week later, counts from the writing.
        let back = harm_findings(&p, &reported(1, 24 * 7), day);
        assert_eq!(back[0].until, Some(at(gone, 24 * 7).to_string()));
        // The family told is not a report.
        let family = case(vec![step(
            "designated_informed",
            at(gone, 1),
            at(gone, 1),
            42,
        )]);
        assert_eq!(
            codes(&harm_findings(&p, &family, day)),
            ["escape.not_reported"]
        );
    }

    #[test]
    fn each_kind_of_case_owes_its_own_steps() {
        let done = |steps: &'static [&'static str]| steps.iter().copied();
        assert_eq!(
            harm_pending("injury", done(&[])),
            ["designated_informed", "independent_authority_informed"]
        );
        assert_eq!(
            harm_pending("injury", done(&["notice_declined"])),
            ["independent_authority_informed"]
        );
        assert_eq!(harm_pending("illness", done(&[])), ["designated_informed"]);
        assert_eq!(
            harm_pending(
                "hospital_transfer",
                done(&["independent_authority_informed"])
            ),
            ["designated_informed"]
        );
        assert_eq!(
            harm_pending("escape", done(&["designated_informed"])),
            ["independent_authority_informed"]
        );
        assert!(harm_pending("escape", done(&["independent_authority_informed"])).is_empty());
    }
}
