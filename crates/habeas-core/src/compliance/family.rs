//! Mandela Rule 68: a person held informs their family (or a person they designate) at once of
//! the imprisonment and of a transfer. It is their right, not a duty: a person may decline to
//! have anyone told. A decline stands in place of the contact, and is itself a notice, so that
//! inspectors can check it with the person (Rules 83–85); a facility that records declines for
//! many of the people it takes in is found.

use super::{Finding, Policy, Severity, Subject, HOUR_MS};
use crate::dates::Date;
use habeas_register::Timestamp;

/// A person's decline to have anyone told of their imprisonment (a `notification_declined`
/// record).
#[derive(Debug, Clone, PartialEq)]
pub struct Declined {
    /// When the person said so.
    pub at: Timestamp,
    /// When it was written to the register.
    pub recorded: Timestamp,
    /// The decline's entry.
    pub idx: u64,
    /// A second person present, if any.
    pub witnessed_by: Option<String>,
}

/// A family contact: a visit, call or letter with the family or a designated contact person
/// (a `contact` record).
#[derive(Debug, Clone, PartialEq)]
pub struct Contacted {
    /// When it happened.
    pub at: Timestamp,
    /// When it was written to the register.
    pub recorded: Timestamp,
    /// The contact's entry.
    pub idx: u64,
}

/// One custody recorded as it began (an admission written at the time, or a transfer in),
/// with the family contacts that may be its first and its first decline to have anyone told.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyInformedFacts {
    /// The admission or transfer entry.
    pub booking: u64,
    pub admitted_at: Timestamp,
    /// A transfer in rather than an admission.
    pub transfer: bool,
    /// The family contacts from the admission on that may be the first to count: the first one
    /// written to the register and those dated before it was written (any other is dated, and
    /// so counts, no earlier than that one does). In no particular order.
    pub contacts: Vec<Contacted>,
    /// The first decline to have anyone told, from the admission on.
    pub declined: Option<Declined>,
}

/// Rule 68: no family contact within `notification.family_hours` hours of an admission or a
/// transfer in (as of the end of `as_of`), or the first one late (serious); a decline made
/// before then stands in place of the contact, and a later one ends the finding as a contact
/// does. A decline not preceded by a contact is a notice from when it was made until the first
/// contact after it (the person changed their mind), if any.
///
/// A decline counts from when the person said so only when it was written to the register
/// within `notification.decline_record_hours` of that, and a contact from when it happened only
/// when it was written within `notification.contact_record_hours`; either written later counts
/// from when it was written, so that an entry dated back cannot undo hours in which the
/// records showed neither a contact nor a decline.
pub fn family_informed_findings(
    policy: &Policy,
    f: &FamilyInformedFacts,
    as_of: Date,
) -> Vec<Finding> {
    let day_end = as_of.plus_days(1).start();
    if f.admitted_at >= day_end {
        return Vec::new();
    }
    let limit = i64::from(policy.notification.family_hours);
    let due = Timestamp(f.admitted_at.millis() + limit * HOUR_MS);
    let counts = |at: Timestamp, recorded: Timestamp, hours: u32| {
        if recorded.millis() - at.millis() <= i64::from(hours) * HOUR_MS {
            at
        } else {
            recorded.max(at)
        }
    };
    let counts_from =
        |d: &Declined| counts(d.at, d.recorded, policy.notification.decline_record_hours);
    // The contact that counts first, and when it counts from.
    let first = f
        .contacts
        .iter()
        .map(|c| {
            let from = counts(c.at, c.recorded, policy.notification.contact_record_hours);
            (from, c)
        })
        .min_by_key(|(from, c)| (*from, c.idx))
        .filter(|(from, _)| *from < day_end);
    let contact = first.map(|(from, c)| (from, c.idx));
    // A decline made after the family was told stands in place of nothing.
    let declined = f
        .declined
        .as_ref()
        .filter(|d| counts_from(d) < day_end && contact.is_none_or(|(at, _)| at > d.at));
    let what = if f.transfer { "transfer" } else { "admission" };
    let mut out = Vec::new();
    // The contact was due until the first contact or decline, whichever came first (a
    // decline written late counts from when it was written, and a contact may come first).
    let ended = [
        declined.map(|d| (counts_from(d), d.idx, true)),
        contact.map(|(at, idx)| (at, idx, false)),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|(at, _, _)| *at);
    let until = ended.map_or(day_end, |(at, _, _)| at);
    if until > due {
        let waited = (until.millis() - f.admitted_at.millis()) / HOUR_MS;
        let mut evidence = vec![f.booking];
        let detail = match ended {
            Some((at, idx, by_decline)) => {
                evidence.push(idx);
                match (declined, first) {
                    (Some(d), _) if by_decline && at > d.at => format!(
                        "a decline to have anyone told, said to have been made {}, written to the register only {at}, {waited} hours after the {what} of {}, over {limit}: until then the records showed neither a contact nor a decline",
                        d.at, f.admitted_at
                    ),
                    (_, Some((_, c))) if !by_decline && at > c.at => format!(
                        "a family contact said to have happened {}, written to the register only {at}, {waited} hours after the {what} of {}, over {limit}: until then the records showed neither a contact nor a decline",
                        c.at, f.admitted_at
                    ),
                    _ => {
                        let first = if by_decline {
                            "the person declined to have anyone told"
                        } else {
                            "first family contact"
                        };
                        format!(
                            "{first} {at}, {waited} hours after the {what} of {}, over {limit}",
                            f.admitted_at
                        )
                    }
                }
            }
            None => format!(
                "no family contact in the {waited} hours since the {what} of {}, over {limit}",
                f.admitted_at
            ),
        };
        out.push(Finding {
            code: "notification.family_not_informed",
            rule:
                "Mandela Rule 68: the family is informed at once of an imprisonment and of a transfer",
            subject: Subject::Person { booking: f.booking },
            severity: Severity::Serious,
            since: Some(due.to_string()),
            until: ended.map(|(at, _, _)| at.to_string()),
            detail,
            evidence,
            words: if ended.is_none() {
                vec![super::Words::new(
                    if f.transfer {
                        "family-not-told-transfer"
                    } else {
                        "family-not-told-admission"
                    },
                    &[("hours", &waited), ("at", &f.admitted_at), ("limit", &limit)],
                )]
            } else {
                Vec::new()
            },
        });
    }
    if let Some(d) = declined {
        // Any contact found is after the decline: the person changed their mind.
        let mut evidence = vec![f.booking, d.idx];
        let witness = d.witnessed_by.as_deref().map_or_else(
            || "with no witness recorded".to_owned(),
            |w| format!("witnessed by {w}"),
        );
        let when = if d.at <= due {
            format!(
                "within the {limit} hours of the {what} of {}",
                f.admitted_at
            )
        } else {
            format!(
                "{} hours after the {what} of {}, when the contact was already due",
                (d.at.millis() - f.admitted_at.millis()) / HOUR_MS,
                f.admitted_at
            )
        };
        let recorded = if counts_from(d) > d.at {
            format!(
                "recorded {}, {} hours after it, late",
                d.recorded,
                (d.recorded.millis() - d.at.millis()) / HOUR_MS
            )
        } else {
            format!("recorded {}", d.recorded)
        };
        let mut detail = format!(
            "the person declined to have anyone told {} ({recorded}), {witness}, {when}: ask the person whether they did",
            d.at
        );
        if let Some((at, idx)) = contact {
            evidence.push(idx);
            detail.push_str(&format!("; family contact {at} after it"));
        }
        out.push(Finding {
            code: "notification.declined",
            rule: "Mandela Rule 68: informing the family or a designated contact person is the person's right; a decline is theirs alone to make (inspectors check it with them, Rules 83-85)",
            subject: Subject::Person { booking: f.booking },
            severity: Severity::Notice,
            since: Some(d.at.to_string()),
            until: contact.map(|(at, _)| at.to_string()),
            detail,
            evidence,
            words: Vec::new(),
        });
    }
    out
}

/// One custody that began at a facility (recorded as it began: an admission written at the
/// time, or a transfer in), held or not now, with the first decline recorded for it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustodyBegun {
    pub facility: String,
    /// The admission or transfer entry.
    pub booking: u64,
    pub began: Timestamp,
    /// The first decline to have anyone told: when the person said so, and its entry.
    pub declined: Option<(Timestamp, u64)>,
}

/// Rule 68 with Rules 83–85: of the custodies that began at a facility in the
/// `notification.declines_window_days` days up to the day, more than
/// `notification.declines_max_pct` % with a decline recorded by the day, when at least
/// `notification.declines_min_custodies` began (serious): a rate that high suggests declines
/// recorded for people who did not decline, a matter for inspectors. One finding per facility;
/// the evidence is the declines.
pub fn declines_frequent_findings(
    policy: &Policy,
    custodies: &[CustodyBegun],
    as_of: Date,
) -> Vec<Finding> {
    use std::collections::BTreeMap;
    let n = &policy.notification;
    let days = i64::from(n.declines_window_days.clamp(1, 366));
    let (from, to) = (
        as_of.plus_days(1 - days).start(),
        as_of.plus_days(1).start(),
    );
    /// How many custodies began at a facility, and their declines (when, entry).
    type Counted = (u64, Vec<(Timestamp, u64)>);
    let mut by_facility: BTreeMap<&str, Counted> = BTreeMap::new();
    for c in custodies.iter().filter(|c| c.began >= from && c.began < to) {
        let e = by_facility.entry(c.facility.as_str()).or_default();
        e.0 += 1;
        if let Some(d) = c.declined.filter(|(at, _)| *at < to) {
            e.1.push(d);
        }
    }
    let mut out = Vec::new();
    for (facility, (total, mut declines)) in by_facility {
        let count = declines.len() as u64;
        if total < u64::from(n.declines_min_custodies)
            || count * 100 <= u64::from(n.declines_max_pct) * total
        {
            continue;
        }
        declines.sort_unstable();
        let Some((first, _)) = declines.first().copied() else {
            continue;
        };
        let mut evidence: Vec<u64> = declines.iter().map(|(_, idx)| *idx).collect();
        evidence.sort_unstable();
        out.push(Finding {
            code: "notification.declines_frequent",
            rule: "Mandela Rule 68 with Rules 83-85: the right to inform the family is the person's; declines recorded for many suggest declines recorded for people who did not decline, for inspectors to check with them",
            subject: Subject::Facility {
                facility: facility.to_owned(),
            },
            severity: Severity::Serious,
            since: Some(first.to_string()),
            until: None,
            detail: format!(
                "a decline to have anyone told is recorded for {count} of the {total} custodies that began in the {days} days up to {as_of} ({}%), over {}% (counted from {} custodies)",
                count * 100 / total.max(1),
                n.declines_max_pct,
                n.declines_min_custodies,
            ),
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

    /// A family contact written to the register as it happened.
    fn told(when: Timestamp, idx: u64) -> Contacted {
        Contacted {
            at: when,
            recorded: when,
            idx,
        }
    }

    #[test]
    fn family_informed_at_the_policys_hours_after_admission_or_transfer() {
        let p = policy();
        assert_eq!(p.notification.family_hours, 24);
        let admitted = date("2026-03-01").start();
        let facts = |contact_after_hours: Option<i64>| FamilyInformedFacts {
            booking: 7,
            admitted_at: admitted,
            transfer: false,
            contacts: contact_after_hours
                .map(|h| told(at(admitted, h), 9))
                .into_iter()
                .collect(),
            declined: None,
        };
        let one = |f: &FamilyInformedFacts, day: Date| -> Option<Finding> {
            let mut found = family_informed_findings(&p, f, day);
            assert!(found.len() <= 1, "{found:?}");
            found.pop()
        };
        let day = date("2026-03-10");
        // 23 and 24 hours: on time; 25: late.
        assert_eq!(one(&facts(Some(23)), day), None);
        assert_eq!(one(&facts(Some(24)), day), None);
        let late = one(&facts(Some(25)), day).expect("a finding");
        assert_eq!(
            (late.code, late.severity, late.evidence.clone()),
            (
                "notification.family_not_informed",
                Severity::Serious,
                vec![7, 9]
            )
        );
        assert!(late.until.is_some());
        // None at all: found once the hours are over by the end of the day, not before.
        assert_eq!(one(&facts(None), date("2026-02-28")), None);
        let none = one(&facts(None), date("2026-03-01"));
        assert_eq!(none, None, "24 hours by the end of the day of admission");
        let none = one(&facts(None), date("2026-03-02")).expect("48 hours without");
        assert_eq!(none.evidence, [7]);
        assert!(none.detail.contains("admission"), "{}", none.detail);
        // A contact after the day evaluated is not yet known.
        let later = one(&facts(Some(24 * 20)), day).expect("a finding");
        assert_eq!(later.until, None);
        // A transfer in says so; a stricter policy finds sooner.
        let moved = FamilyInformedFacts {
            transfer: true,
            ..facts(Some(24))
        };
        assert_eq!(one(&moved, day), None);
        let mut strict = p.clone();
        strict.notification.family_hours = 23;
        let f = family_informed_findings(&strict, &moved, day);
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("transfer"), "{}", f[0].detail);
    }

    #[test]
    fn a_decline_before_the_contact_fell_due_is_a_notice_in_its_place() {
        let p = policy();
        let admitted = date("2026-03-01").start();
        let facts = |declined_after: i64, witness: Option<&str>, contact: Option<i64>| {
            FamilyInformedFacts {
                booking: 7,
                admitted_at: admitted,
                transfer: false,
                contacts: contact
                    .map(|h| told(at(admitted, h), 9))
                    .into_iter()
                    .collect(),
                declined: Some(Declined {
                    at: at(admitted, declined_after),
                    recorded: at(admitted, declined_after + 1),
                    idx: 8,
                    witnessed_by: witness.map(str::to_owned),
                }),
            }
        };
        let day = date("2026-03-10");
        let codes = |f: &FamilyInformedFacts, day: Date| -> Vec<&'static str> {
            family_informed_findings(&p, f, day)
                .iter()
                .map(|f| f.code)
                .collect()
        };
        // Declined at 23 and 24 hours: on time, a notice and no serious finding.
        for hours in [23, 24] {
            assert_eq!(
                codes(&facts(hours, None, None), day),
                ["notification.declined"],
                "{hours}"
            );
        }
        let notice = family_informed_findings(&p, &facts(24, Some("Lcda. Ruiz"), None), day);
        let notice = &notice[0];
        assert_eq!(
            (
                notice.severity,
                notice.evidence.clone(),
                notice.since.clone(),
                notice.until.clone()
            ),
            (
                Severity::Notice,
                vec![7, 8],
                Some("2026-03-02T00:00:00.000Z".to_owned()),
                None
            )
        );
        assert!(
            notice.detail.contains("recorded 2026-03-02T01:00:00.000Z")
                && notice.detail.contains("witnessed by Lcda. Ruiz")
                && notice.detail.contains("within the 24 hours"),
            "{}",
            notice.detail
        );
        let unwitnessed = family_informed_findings(&p, &facts(2, None, None), day);
        assert!(
            unwitnessed[0].detail.contains("with no witness recorded"),
            "{}",
            unwitnessed[0].detail
        );
        // At 25 hours the contact was due: serious until the decline, and the notice from it.
        let late = family_informed_findings(&p, &facts(25, None, None), day);
        assert_eq!(
            late.iter().map(|f| f.code).collect::<Vec<_>>(),
            ["notification.family_not_informed", "notification.declined"]
        );
        assert_eq!(
            (late[0].until.clone(), late[0].evidence.clone()),
            (Some(at(admitted, 25).to_string()), vec![7, 8])
        );
        assert!(
            late[0].detail.contains("declined") && late[1].detail.contains("already due"),
            "{late:?}"
        );
        // A contact after the decline ends the notice (the person changed their mind).
        let changed = family_informed_findings(&p, &facts(2, None, Some(100)), day);
        assert_eq!(changed.len(), 1);
        assert_eq!(
            (changed[0].until.clone(), changed[0].evidence.clone()),
            (Some(at(admitted, 100).to_string()), vec![7, 8, 9])
        );
        // A decline after the family was told stands in place of nothing.
        assert!(codes(&facts(30, None, Some(20)), day).is_empty());
        // A contact late, then a decline: serious until the contact, no notice.
        assert_eq!(
            codes(&facts(40, None, Some(30)), day),
            ["notification.family_not_informed"]
        );
        // A decline after the day evaluated is not yet known: 48 hours without contact.
        let unknown = family_informed_findings(&p, &facts(24 * 5, None, None), date("2026-03-02"));
        assert_eq!(
            unknown.iter().map(|f| f.code).collect::<Vec<_>>(),
            ["notification.family_not_informed"]
        );
        assert_eq!(unknown[0].until, None);
        // Declined within the hours of a stricter policy's 23 hours, or not.
        let mut strict = p.clone();
        strict.notification.family_hours = 23;
        let found = family_informed_findings(&strict, &facts(24, None, None), day);
        assert_eq!(found[0].code, "notification.family_not_informed");
    }

    #[test]
    fn a_decline_written_down_late_counts_from_when_it_was_written() {
        let p = policy();
        assert_eq!(p.notification.decline_record_hours, 2);
        let admitted = date("2026-03-01").start();
        // Said 2 hours after the admission, written `lag` hours after that.
        let facts = |lag: i64| FamilyInformedFacts {
            booking: 7,
            admitted_at: admitted,
            transfer: false,
            contacts: Vec::new(),
            declined: Some(Declined {
                at: at(admitted, 2),
                recorded: at(admitted, 2 + lag),
                idx: 8,
                witnessed_by: None,
            }),
        };
        let day = date("2026-03-10");
        let found =
            |f: &FamilyInformedFacts, p: &Policy, day: Date| family_informed_findings(p, f, day);
        // Within 2 hours: counts from when it was said, a notice alone.
        let prompt = found(&facts(2), &p, day);
        assert_eq!(prompt.len(), 1, "{prompt:?}");
        assert_eq!(prompt[0].code, "notification.declined");
        assert!(!prompt[0].detail.contains("late"), "{}", prompt[0].detail);
        // 3 hours: counts from when it was written, still before the contact fell due; the
        // notice says it was written late.
        let slow = found(&facts(3), &p, day);
        assert_eq!(slow.len(), 1, "{slow:?}");
        assert!(
            slow[0]
                .detail
                .contains("recorded 2026-03-01T05:00:00.000Z, 3 hours after it, late"),
            "{}",
            slow[0].detail
        );
        // Written three days later, dated back to the second hour: serious from when the
        // contact fell due until it was written, and the notice.
        let back = found(&facts(70), &p, day);
        assert_eq!(
            back.iter().map(|f| f.code).collect::<Vec<_>>(),
            ["notification.family_not_informed", "notification.declined"]
        );
        assert_eq!(
            (
                back[0].since.clone(),
                back[0].until.clone(),
                back[0].evidence.clone()
            ),
            (
                Some(at(admitted, 24).to_string()),
                Some(at(admitted, 72).to_string()),
                vec![7, 8]
            )
        );
        assert!(
            back[0]
                .detail
                .contains("said to have been made 2026-03-01T02:00:00.000Z")
                && back[0]
                    .detail
                    .contains("written to the register only 2026-03-04T00:00:00.000Z"),
            "{}",
            back[0].detail
        );
        // Before it was written, it was not known: no contact, and no end.
        let before = found(&facts(70), &p, date("2026-03-03"));
        assert_eq!(
            before
                .iter()
                .map(|f| (f.code, f.until.clone()))
                .collect::<Vec<_>>(),
            [("notification.family_not_informed", None)]
        );
        // A family contact before the late decline was written ends the finding at the contact.
        let mut with_contact = facts(70);
        with_contact.contacts = vec![told(at(admitted, 30), 9)];
        let with_contact = found(&with_contact, &p, day);
        assert_eq!(with_contact[0].until, Some(at(admitted, 30).to_string()));
        assert_eq!(with_contact[0].evidence, [7, 9]);
        // A stricter policy, no hours to write it down: an hour late counts from the writing.
        let mut strict = p.clone();
        strict.notification.decline_record_hours = 0;
        let strict_found = found(&facts(1), &strict, day);
        assert!(strict_found[0].detail.contains("late"), "{strict_found:?}");
        assert!(found(&facts(0), &strict, day)[0]
            .detail
            .contains("recorded 2026-03-01T02:00:00.000Z)"));
    }

    #[test]
    fn a_contact_written_down_late_counts_from_when_it_was_written() {
        let p = policy();
        assert_eq!(p.notification.contact_record_hours, 24);
        let admitted = date("2026-03-01").start();
        let day = date("2026-03-10");
        // A call 2 hours after the admission, written `lag` hours after it.
        let call = |lag: i64, idx: u64| Contacted {
            at: at(admitted, 2),
            recorded: at(admitted, 2 + lag),
            idx,
        };
        let facts = |contacts: Vec<Contacted>| FamilyInformedFacts {
            booking: 7,
            admitted_at: admitted,
            transfer: false,
            contacts,
            declined: None,
        };
        let found =
            |f: &FamilyInformedFacts, p: &Policy, day: Date| family_informed_findings(p, f, day);
        // Written within 24 hours (the next morning's batch): counts from the call.
        assert_eq!(found(&facts(vec![call(24, 9)]), &p, day), []);
        // Written 25 hours after: counts from 27 hours after the admission, three late.
        let slow = found(&facts(vec![call(25, 9)]), &p, day);
        assert_eq!(slow.len(), 1, "{slow:?}");
        assert_eq!(
            (
                slow[0].code,
                slow[0].since.clone(),
                slow[0].until.clone(),
                slow[0].evidence.clone()
            ),
            (
                "notification.family_not_informed",
                Some(at(admitted, 24).to_string()),
                Some(at(admitted, 27).to_string()),
                vec![7, 9]
            )
        );
        // Typed in three days later and dated back to the second hour: serious until then,
        // and the detail gives both times.
        let back = found(&facts(vec![call(70, 9)]), &p, day);
        assert_eq!(back[0].until, Some(at(admitted, 72).to_string()));
        assert!(
            back[0]
                .detail
                .contains("said to have happened 2026-03-01T02:00:00.000Z")
                && back[0]
                    .detail
                    .contains("written to the register only 2026-03-04T00:00:00.000Z"),
            "{}",
            back[0].detail
        );
        // Before it was written it was not known: found with no end.
        let before = found(&facts(vec![call(70, 9)]), &p, date("2026-03-02"));
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].until, None);
        // Of a late entry and a later call written on time, the one that counts first wins.
        let both = facts(vec![call(70, 9), told(at(admitted, 30), 10)]);
        let both = found(&both, &p, day);
        assert_eq!(
            (both[0].until.clone(), both[0].evidence.clone()),
            (Some(at(admitted, 30).to_string()), vec![7, 10])
        );
        assert!(
            both[0].detail.contains("first family contact"),
            "{}",
            both[0].detail
        );
        // A decline said before the late contact was written stands in its place.
        let mut declined = facts(vec![call(70, 9)]);
        declined.declined = Some(Declined {
            at: at(admitted, 5),
            recorded: at(admitted, 5),
            idx: 8,
            witnessed_by: None,
        });
        let declined = found(&declined, &p, day);
        assert_eq!(
            declined.iter().map(|f| f.code).collect::<Vec<_>>(),
            ["notification.declined"]
        );
        // A stricter policy, 0 hours: a call written an hour after counts from the writing.
        let mut strict = p.clone();
        strict.notification.contact_record_hours = 0;
        assert_eq!(found(&facts(vec![call(1, 9)]), &strict, day), []);
        let strict_late = facts(vec![Contacted {
            at: at(admitted, 24),
            recorded: at(admitted, 25),
            idx: 9,
        }]);
        assert_eq!(found(&strict_late, &strict, day).len(), 1);
        assert_eq!(found(&strict_late, &p, day), []);
    }

    /// `n` custodies that began at F on `day`, the first `declined` of them with a decline.
    fn begun(n: u64, declined: u64, day: Date) -> Vec<CustodyBegun> {
        (0..n)
            .map(|i| CustodyBegun {
                facility: "F".into(),
                booking: 100 + i,
                began: at(day.start(), 10),
                declined: (i < declined).then(|| (at(day.start(), 12), 1000 + i)),
            })
            .collect()
    }

    #[test]
    fn declines_for_more_than_the_policys_share_of_custodies_are_found_for_the_facility() {
        let p = policy();
        let n = &p.notification;
        assert_eq!(
            (
                n.declines_window_days,
                n.declines_max_pct,
                n.declines_min_custodies
            ),
            (90, 10, 20)
        );
        let day = date("2026-06-30");
        let found = |c: &[CustodyBegun]| declines_frequent_findings(&p, c, day);
        // Share: 10 of 100 is not over 10%; 11 is; 9 is not.
        assert!(found(&begun(100, 9, day)).is_empty());
        assert!(found(&begun(100, 10, day)).is_empty());
        let f = found(&begun(100, 11, day));
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].code, f[0].severity, &f[0].subject, f[0].evidence.len()),
            (
                "notification.declines_frequent",
                Severity::Serious,
                &Subject::Facility {
                    facility: "F".into()
                },
                11
            )
        );
        assert!(
            f[0].detail.contains("11 of the 100 custodies") && f[0].detail.contains("(11%)"),
            "{}",
            f[0].detail
        );
        // Custodies: 3 of 19 (15%) is too few to count; of 20 and of 21, found.
        assert!(found(&begun(19, 3, day)).is_empty());
        assert_eq!(found(&begun(20, 3, day)).len(), 1);
        assert_eq!(found(&begun(21, 3, day)).len(), 1);
        // Window: 90 days up to the day, the day itself included.
        let edge = |days_before: i64| begun(20, 20, day.plus_days(-days_before));
        assert_eq!(found(&edge(88)).len(), 1);
        assert_eq!(found(&edge(89)).len(), 1);
        assert!(found(&edge(90)).is_empty());
        // Custodies that begin or declines made after the day are not yet known.
        assert!(found(&begun(20, 20, day.plus_days(1))).is_empty());
        let mut later = begun(20, 3, day);
        for c in &mut later {
            c.declined = c.declined.map(|(t, i)| (at(t, 24 * 2), i));
        }
        assert!(found(&later).is_empty());
        // Each facility on its own.
        let mut two = begun(20, 3, day);
        two.extend(begun(20, 1, day).into_iter().map(|mut c| {
            c.facility = "G".into();
            c
        }));
        assert_eq!(found(&two).len(), 1);
        // A stricter policy finds sooner.
        let mut strict = p.clone();
        strict.notification.declines_max_pct = 9;
        strict.notification.declines_min_custodies = 19;
        assert_eq!(
            declines_frequent_findings(&strict, &begun(19, 2, day), day).len(),
            1
        );
    }

    #[test]
    fn a_policy_that_counts_declines_less_strictly_says_what_it_relaxes() {
        use crate::compliance::MANDELA_MINIMUM;
        let with = |from: &str, to: &str| {
            MANDELA_MINIMUM
                .replace("name = \"mandela-minimum\"", "name = \"ejemplo\"")
                .replace(from, to)
        };
        for (from, stricter, weaker) in [
            (
                "declines_max_pct = 10",
                "declines_max_pct = 9",
                "declines_max_pct = 11",
            ),
            (
                "declines_min_custodies = 20",
                "declines_min_custodies = 19",
                "declines_min_custodies = 21",
            ),
            (
                "declines_window_days = 90",
                "declines_window_days = 91",
                "declines_window_days = 89",
            ),
        ] {
            assert!(
                Policy::from_toml(&with(from, stricter)).is_ok(),
                "{stricter}"
            );
            let key = format!("notification.{}", from.split(' ').next().unwrap_or(""));
            match Policy::from_toml(&with(from, weaker)) {
                Err(e) => assert_eq!(e.field, key, "{e}"),
                Ok(_) => unreachable!("{weaker} is taken without relaxes"),
            }
        }
    }
}
