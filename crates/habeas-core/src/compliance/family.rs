//! Mandela Rule 68: a person held informs their family (or a person they designate) at once of
//! the imprisonment and of a transfer.

use super::{Finding, Policy, Severity, Subject, HOUR_MS};
use crate::dates::Date;
use habeas_register::Timestamp;

/// One custody recorded as it began (an admission written at the time, or a transfer in),
/// with its first family contact.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyInformedFacts {
    /// The admission or transfer entry.
    pub booking: u64,
    pub admitted_at: Timestamp,
    /// A transfer in rather than an admission.
    pub transfer: bool,
    /// The first family contact (visit, call or letter) from the admission on, and its entry.
    pub first_contact: Option<(Timestamp, u64)>,
}

/// Rule 68: no family contact within `notification.family_hours` hours of an admission or a
/// transfer in (as of the end of `as_of`), or the first one late.
pub fn family_informed_findings(
    policy: &Policy,
    f: &FamilyInformedFacts,
    as_of: Date,
) -> Option<Finding> {
    let day_end = as_of.plus_days(1).start();
    let limit = i64::from(policy.notification.family_hours);
    let due = Timestamp(f.admitted_at.millis() + limit * HOUR_MS);
    let contact = f.first_contact.filter(|(at, _)| *at < day_end);
    let until = contact.map_or(day_end, |(at, _)| at);
    if f.admitted_at >= day_end || until <= due {
        return None;
    }
    let what = if f.transfer { "transfer" } else { "admission" };
    let waited = (until.millis() - f.admitted_at.millis()) / HOUR_MS;
    let mut evidence = vec![f.booking];
    let detail = match contact {
        Some((at, idx)) => {
            evidence.push(idx);
            format!(
                "first family contact {at}, {waited} hours after the {what} of {}, over {limit}",
                f.admitted_at
            )
        }
        None => format!(
            "no family contact in the {waited} hours since the {what} of {}, over {limit}",
            f.admitted_at
        ),
    };
    Some(Finding {
        code: "notification.family_not_informed",
        rule:
            "Mandela Rule 68: the family is informed at once of an imprisonment and of a transfer",
        subject: Subject::Person { booking: f.booking },
        severity: Severity::Serious,
        since: Some(due.to_string()),
        until: contact.map(|(at, _)| at.to_string()),
        detail,
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::tests::{date, policy};

    #[test]
    fn family_informed_at_the_policys_hours_after_admission_or_transfer() {
        let p = policy();
        assert_eq!(p.notification.family_hours, 24);
        let admitted = date("2026-03-01").start();
        let facts = |contact_after_hours: Option<i64>| FamilyInformedFacts {
            booking: 7,
            admitted_at: admitted,
            transfer: false,
            first_contact: contact_after_hours
                .map(|h| (Timestamp(admitted.millis() + h * HOUR_MS), 9)),
        };
        let day = date("2026-03-10");
        // 23 and 24 hours: on time; 25: late.
        assert_eq!(family_informed_findings(&p, &facts(Some(23)), day), None);
        assert_eq!(family_informed_findings(&p, &facts(Some(24)), day), None);
        let late = family_informed_findings(&p, &facts(Some(25)), day).expect("a finding");
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
        assert_eq!(
            family_informed_findings(&p, &facts(None), date("2026-02-28")),
            None
        );
        let none = family_informed_findings(&p, &facts(None), date("2026-03-01"));
        assert_eq!(none, None, "24 hours by the end of the day of admission");
        let none = family_informed_findings(&p, &facts(None), date("2026-03-02"))
            .expect("48 hours without");
        assert_eq!(none.evidence, [7]);
        assert!(none.detail.contains("admission"), "{}", none.detail);
        // A contact after the day evaluated is not yet known.
        let later = family_informed_findings(&p, &facts(Some(24 * 20)), day).expect("a finding");
        assert_eq!(later.until, None);
        // A transfer in says so; a stricter policy finds sooner.
        let moved = FamilyInformedFacts {
            transfer: true,
            ..facts(Some(24))
        };
        assert_eq!(family_informed_findings(&p, &moved, day), None);
        let mut strict = p.clone();
        strict.notification.family_hours = 23;
        let f = family_informed_findings(&strict, &moved, day).expect("a finding");
        assert!(f.detail.contains("transfer"), "{}", f.detail);
    }
}
