//! Findings on how people are held: Rule 11 separation and non-association, solitary
//! confinement and sanctions (Rules 43–46), the examination at admission (Rules 30 and 34),
//! consular access (Rule 62) and the review of incidents and force (Rules 71 and 82).

use super::{days_between, Finding, Policy, Severity, Subject, Words};
use crate::dates::Date;

/// The Rule 11 classes present in one occupied cell, from the cell's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SeparationFacts {
    pub facility: String,
    pub cell: String,
    pub population: u64,
    /// Bit set of sexes: 1 male, 2 female, 4 other.
    pub sexes: u8,
    /// Bit set of status groups: 1 untried, 2 convicted, 4 civil.
    pub groups: u8,
    /// The earliest and latest birth dates of the people in the cell.
    pub oldest_birth: Option<Date>,
    pub youngest_birth: Option<Date>,
    /// The allocations of people now in the cell that overrode a rule, with who ordered them.
    pub overrides: Vec<(u64, String)>,
}

fn bits(x: u8) -> u32 {
    x.count_ones()
}

/// Rule 11: men and women, the untried and the convicted, civil and criminal prisoners, and
/// young people and adults are held apart. One finding for each class mixed in a cell, with
/// the overrides that put them there as evidence.
pub fn separation_findings(s: &SeparationFacts, as_of: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    if s.population < 2 {
        return out;
    }
    let adult = |birth: Date| birth.age_on(as_of) >= 18;
    let young_with_adults = matches!(
        (s.oldest_birth, s.youngest_birth),
        (Some(old), Some(young)) if adult(old) && !adult(young)
    );
    let overrides = if s.overrides.is_empty() {
        "no override recorded".to_owned()
    } else {
        let mut who: Vec<&str> = s.overrides.iter().map(|(_, a)| a.as_str()).collect();
        who.sort_unstable();
        who.dedup();
        format!(
            "{} placed by override of {}",
            s.overrides.len(),
            who.join(", ")
        )
    };
    for (code, rule, mixed, what, severity) in [
        (
            "separation.sexes",
            "Mandela Rule 11(a): men and women held apart",
            bits(s.sexes) > 1,
            "men and women",
            Severity::Grave,
        ),
        (
            "separation.untried_convicted",
            "Mandela Rules 11(b) and 112(1): the untried kept apart from the convicted",
            s.groups & 3 == 3,
            "untried and convicted people",
            Severity::Serious,
        ),
        (
            "separation.civil",
            "Mandela Rule 11(c): civil prisoners kept apart from criminal prisoners",
            s.groups & 4 == 4 && s.groups & 3 != 0,
            "civil and criminal prisoners",
            Severity::Serious,
        ),
        (
            "separation.young",
            "Mandela Rule 11(d); CRC 37(c): young people kept apart from adults",
            young_with_adults,
            "people under 18 and adults",
            Severity::Grave,
        ),
    ] {
        if mixed {
            out.push(Finding {
                code,
                rule,
                subject: Subject::Cell {
                    facility: s.facility.clone(),
                    cell: s.cell.clone(),
                },
                severity,
                since: None,
                until: None,
                detail: format!(
                    "{what} held together in a cell of {} ({overrides})",
                    s.population
                ),
                evidence: s.overrides.iter().map(|(i, _)| *i).collect(),
                words: Vec::new(),
            });
        }
    }
    out
}

/// Where one person is, as a non-association sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub unit: String,
    pub cell: String,
}

/// An active order to keep two people apart, and where each of them is.
#[derive(Debug, Clone, PartialEq)]
pub struct NonAssociationFacts {
    pub idx: u64,
    pub facility: String,
    pub a: u64,
    pub b: u64,
    /// `cell`, `unit` or `facility`.
    pub scope: String,
    pub a_at: Option<Place>,
    pub b_at: Option<Place>,
}

/// Rule 11 and the duty of care: two people ordered apart are together within the order's
/// scope.
pub fn non_association_findings(n: &NonAssociationFacts) -> Vec<Finding> {
    let (Some(a), Some(b)) = (&n.a_at, &n.b_at) else {
        return Vec::new();
    };
    let together = match n.scope.as_str() {
        "cell" => a.cell == b.cell,
        "unit" => a.unit == b.unit,
        _ => true,
    };
    if !together {
        return Vec::new();
    }
    vec![Finding {
        code: "separation.non_association",
        rule: "Mandela Rules 1 and 11: people ordered kept apart are held together",
        subject: Subject::Person { booking: n.a },
        severity: Severity::Grave,
        since: None,
        until: None,
        detail: format!(
            "booking {} and booking {} are to be kept apart ({} scope) but are in cell {} and cell {}",
            n.a, n.b, n.scope, a.cell, b.cell
        ),
        evidence: vec![n.idx],
        words: Vec::new(),
    }]
}

/// A disciplinary sanction as the findings see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SanctionFacts {
    pub booking: u64,
    pub idx: u64,
    pub at: Date,
    /// As recorded, e.g. `solitary_confinement`.
    pub kind: String,
    pub days: Option<u32>,
    pub review: Option<Date>,
}

/// Rules 43–46: a sanction the rules prohibit, solitary confinement beyond the policy's days,
/// one running past its review date, and back-to-back solitary sanctions that together make it
/// prolonged.
pub fn sanction_findings(
    policy: &Policy,
    sanctions: &[SanctionFacts],
    as_of: Date,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let max = policy.solitary.max_days;
    let mut solitary: Vec<&SanctionFacts> = Vec::new();
    for s in sanctions.iter().filter(|s| s.at <= as_of) {
        let subject = Subject::Person { booking: s.booking };
        let prohibited = serde_json::from_value::<crate::record::SanctionKind>(
            serde_json::Value::String(s.kind.clone()),
        )
        .ok()
        .and_then(|k| k.prohibited());
        if let Some(why) = prohibited {
            out.push(Finding {
                code: "sanction.prohibited",
                rule: "Mandela Rule 43: prohibited sanction",
                subject: subject.clone(),
                severity: Severity::Grave,
                since: Some(s.at.to_string()),
                until: None,
                detail: format!("{} on {}: {why}", s.kind.replace('_', " "), s.at),
                evidence: vec![s.idx],
                words: Vec::new(),
            });
        }
        if s.kind != "solitary_confinement" {
            continue;
        }
        solitary.push(s);
        let days = s.days.unwrap_or(0);
        let end = s.at.plus_days(i64::from(days));
        if days > max {
            out.push(Finding {
                code: "solitary.over_maximum",
                rule: "Mandela Rules 43(1)(b) and 44: solitary confinement over the maximum",
                subject: subject.clone(),
                severity: Severity::Grave,
                since: Some(s.at.to_string()),
                until: Some(end.to_string()),
                detail: format!("{days} days of solitary confinement, over {max}"),
                evidence: vec![s.idx],
                words: Vec::new(),
            });
        }
        if let Some(review) = s.review {
            if review < as_of && as_of < end {
                out.push(Finding {
                    code: "solitary.review_overdue",
                    rule: "Mandela Rules 45-46: solitary confinement reviewed",
                    subject,
                    severity: Severity::Serious,
                    since: Some(review.to_string()),
                    until: None,
                    detail: format!(
                        "solitary confinement since {} still running; its review was due {review}",
                        s.at
                    ),
                    evidence: vec![s.idx],
                    words: Vec::new(),
                });
            }
        }
    }
    // Back-to-back solitary sanctions of one person: a chain whose days add up past the
    // maximum is prolonged solitary confinement, whatever each sanction says.
    solitary.sort_by_key(|s| (s.booking, s.at, s.idx));
    let mut i = 0;
    while i < solitary.len() {
        let first = solitary[i];
        let mut end = first.at.plus_days(i64::from(first.days.unwrap_or(0)));
        let mut evidence = vec![first.idx];
        let mut j = i + 1;
        while j < solitary.len()
            && solitary[j].booking == first.booking
            && solitary[j].at <= end.plus_days(1)
        {
            let next = solitary[j];
            end = end.max(next.at.plus_days(i64::from(next.days.unwrap_or(0))));
            evidence.push(next.idx);
            j += 1;
        }
        let total = days_between(first.at, end);
        if evidence.len() > 1 && total > i64::from(max) {
            out.push(Finding {
                code: "solitary.prolonged",
                rule: "Mandela Rules 43(1)(b) and 44: prolonged solitary confinement",
                subject: Subject::Person {
                    booking: first.booking,
                },
                severity: Severity::Grave,
                since: Some(first.at.to_string()),
                until: Some(end.to_string()),
                detail: format!(
                    "{} solitary sanctions back to back: {total} consecutive days, over {max}",
                    evidence.len()
                ),
                evidence,
                words: Vec::new(),
            });
        }
        i = j;
    }
    out
}

/// The examination at admission and injuries seen then, for one open custody.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthFacts {
    pub booking: u64,
    pub admitted: Date,
    /// The first admission examination, if any.
    pub examined: Option<(Date, u64)>,
    /// How many injuries the admission recorded.
    pub injuries_at_admission: u32,
    /// The first health record of an injury referred to an authority, if any.
    pub injuries_referred: Option<(Date, u64)>,
    /// The admission entry.
    pub evidence: u64,
}

/// Rule 30: no examination by a health professional within the policy's days of admission;
/// Rules 30(b) and 34: injuries recorded at admission not documented and referred in time.
pub fn health_findings(policy: &Policy, h: &HealthFacts, as_of: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = Subject::Person { booking: h.booking };
    for (code, rule, limit, done, applies, severity, what) in [
        (
            "health.examination_overdue",
            "Mandela Rule 30: examined by a health professional on admission",
            policy.health.examination_days,
            h.examined,
            true,
            Severity::Serious,
            "no admission examination".to_owned(),
        ),
        (
            "health.injuries_not_referred",
            "Mandela Rules 30(b) and 34: injuries at admission documented and reported",
            policy.health.injury_referral_days,
            h.injuries_referred,
            h.injuries_at_admission > 0,
            Severity::Grave,
            format!(
                "{} injuries recorded at admission, not referred",
                h.injuries_at_admission
            ),
        ),
    ] {
        if !applies {
            continue;
        }
        let due = h.admitted.plus_days(i64::from(limit));
        let done_by = done.filter(|(d, _)| *d <= as_of);
        let late = match done_by {
            Some((d, _)) => d > due,
            None => as_of > due,
        };
        if late {
            let mut evidence = vec![h.evidence];
            evidence.extend(done_by.map(|(_, i)| i));
            out.push(Finding {
                code,
                rule,
                subject: subject.clone(),
                severity,
                since: Some(due.to_string()),
                until: done_by.map(|(d, _)| d.to_string()),
                detail: match done_by {
                    Some((d, _)) => format!(
                        "done on {d}, {} days after admission, over {limit}",
                        days_between(h.admitted, d)
                    ),
                    None => format!(
                        "{what} {} days after admission on {}, over {limit}",
                        days_between(h.admitted, as_of),
                        h.admitted
                    ),
                },
                evidence,
                words: match (done_by, code) {
                    (Some((d, _)), _) => vec![Words::new(
                        "done-late",
                        &[
                            ("date", &d),
                            ("days", &days_between(h.admitted, d)),
                            ("limit", &limit),
                        ],
                    )],
                    (None, "health.examination_overdue") => vec![Words::new(
                        "no-examination",
                        &[
                            ("days", &days_between(h.admitted, as_of)),
                            ("date", &h.admitted),
                            ("limit", &limit),
                        ],
                    )],
                    (None, _) => Vec::new(),
                },
            });
        }
    }
    out
}

/// The consular steps of one foreign national in custody.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsularFacts {
    pub booking: u64,
    pub admitted: Date,
    pub notification_requested: bool,
    pub notified: Option<Date>,
    /// What the admission recorded of the person being told of their consular rights: the
    /// day they were told, or `Some(None)`: not told. `None`: the entry that opened the custody
    /// records nothing of it (a transfer in), and nothing is found.
    pub advice: Option<Option<Date>>,
    pub last_contact: Option<(Date, u64)>,
    /// The admission entry.
    pub evidence: u64,
}

/// Rule 62; Vienna Convention art. 36: the consulate the person asked for is notified without
/// delay, and the person can communicate with it.
pub fn consular_findings(policy: &Policy, c: &ConsularFacts, as_of: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = Subject::Person { booking: c.booking };
    let limit = policy.consular.notification_days;
    let due = c.admitted.plus_days(i64::from(limit));
    if let Some(advised) = c.advice {
        let advised = advised.filter(|d| *d <= as_of);
        let late = match advised {
            Some(d) => d > due,
            None => as_of > due,
        };
        if late {
            out.push(Finding {
                code: "consular.not_advised",
                rule: "Mandela Rule 62(1); Vienna Convention art. 36(1)(b): the person told of their consular rights without delay",
                subject: subject.clone(),
                severity: Severity::Serious,
                since: Some(due.to_string()),
                until: advised.map(|d| d.to_string()),
                detail: match advised {
                    Some(d) => format!(
                        "told of the right to consular notification and access on {d}, {} days after admission, over {limit}",
                        days_between(c.admitted, d)
                    ),
                    None => format!(
                        "a foreign national admitted on {}, not told of the right to consular notification and access {} days later",
                        c.admitted,
                        days_between(c.admitted, as_of)
                    ),
                },
                evidence: vec![c.evidence],
                words: Vec::new(),
            });
        }
    }
    if c.notification_requested {
        let notified = c.notified.filter(|d| *d <= as_of);
        let late = match notified {
            Some(d) => d > due,
            None => as_of > due,
        };
        if late {
            out.push(Finding {
                code: "consular.not_notified",
                rule: "Mandela Rule 62; Vienna Convention art. 36(1)(b): consulate notified without delay",
                subject: subject.clone(),
                severity: Severity::Serious,
                since: Some(due.to_string()),
                until: notified.map(|d| d.to_string()),
                detail: match notified {
                    Some(d) => format!(
                        "consulate notified on {d}, {} days after admission, over {limit}",
                        days_between(c.admitted, d)
                    ),
                    None => format!(
                        "asked for the consulate to be notified on admission ({}); not notified {} days later",
                        c.admitted,
                        days_between(c.admitted, as_of)
                    ),
                },
                evidence: vec![c.evidence],
                words: Vec::new(),
            });
        }
    }
    let (since, evidence) = match c.last_contact {
        Some((d, idx)) => (d, vec![idx]),
        None => (c.admitted, vec![c.evidence]),
    };
    let days = days_between(since, as_of);
    let max = policy.consular.contact_days;
    if days > i64::from(max) {
        out.push(Finding {
            code: "consular.no_contact",
            rule: "Mandela Rule 62(1): communication with consular representatives",
            subject,
            severity: Severity::Serious,
            since: Some(since.to_string()),
            until: None,
            detail: match c.last_contact {
                Some(_) => format!("{days} days since the last consular contact, over {max}"),
                None => format!("no consular contact in {days} days held, over {max}"),
            },
            evidence,
            words: Vec::new(),
        });
    }
    out
}

/// One incident as its review finding sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFacts {
    pub facility: String,
    pub idx: u64,
    pub at: Date,
    pub force_used: bool,
    /// When the incident was reviewed, if it was.
    pub reviewed: Option<Date>,
    pub people: u32,
}

/// Rules 71 and 82: an incident, and above all a use of force, not reviewed in time.
pub fn incident_findings(policy: &Policy, i: &IncidentFacts, as_of: Date) -> Vec<Finding> {
    if i.at > as_of {
        return Vec::new();
    }
    let limit = policy.incidents.review_days;
    let due = i.at.plus_days(i64::from(limit));
    let reviewed = i.reviewed.filter(|d| *d <= as_of);
    let late = match reviewed {
        Some(d) => d > due,
        None => as_of > due,
    };
    if !late {
        return Vec::new();
    }
    let (code, rule, severity, what) = if i.force_used {
        (
            "incident.force_not_reviewed",
            "Mandela Rule 82(2)-(3): every use of force reported and reviewed",
            Severity::Serious,
            "use of force",
        )
    } else {
        (
            "incident.not_reviewed",
            "Mandela Rule 71: incidents investigated and reviewed",
            Severity::Notice,
            "incident",
        )
    };
    vec![Finding {
        code,
        rule,
        subject: Subject::Incident {
            facility: i.facility.clone(),
            incident: i.idx,
        },
        severity,
        since: Some(due.to_string()),
        until: reviewed.map(|d| d.to_string()),
        detail: match reviewed {
            Some(d) => format!("{what} of {} reviewed on {d}, over {limit} days", i.at),
            None => format!(
                "{what} of {} involving {} people not reviewed after {} days, over {limit}",
                i.at,
                i.people,
                days_between(i.at, as_of)
            ),
        },
        evidence: vec![i.idx],
        words: Vec::new(),
    }]
}

/// A run of consecutive days on which one person's day broke one rule (`days == 0`: none).
/// Kept small, since there are four per person and every person-day of a period touches them;
/// the run's evidence is kept aside, written only when a run starts.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    /// Day numbers (days since 1970-01-01) of the first and the latest day.
    since: i64,
    last: i64,
    days: u32,
    /// The least minutes measured on a day of the run (out of cell or in the open air).
    least: i32,
}

const REGIME_CODES: usize = 4;

/// The daily regime over a period, fed one day at a time, everyone's day in turn: each rule's
/// consecutive days of breach merge into one finding with its first and last day, so a year
/// of days is a handful of findings per person rather than one per day. Thresholds are checked
/// as numbers; text is written only when a run ends.
#[derive(Debug)]
pub struct RegimePeriod<'p> {
    policy: &'p Policy,
    bookings: Vec<u64>,
    facilities: Vec<String>,
    runs: Vec<[Run; REGIME_CODES]>,
    /// Each person's current run of days without records (first and latest day number).
    unrecorded: Vec<Option<(i64, i64)>>,
    /// The runs of days without records that ended: (slot, first day, last day).
    unrecorded_done: Vec<(usize, i64, i64)>,
    /// The entries of each open run's first day, by (slot, rule).
    evidence: std::collections::HashMap<(usize, usize), Vec<u64>>,
    day_number: i64,
    out: Vec<Finding>,
}

fn date_of_day(n: i64) -> Date {
    Date::of(habeas_register::Timestamp(n * 86_400_000))
}

impl<'p> RegimePeriod<'p> {
    /// `bookings[slot]` is the person measured in `slot`, held at `facilities[slot]`.
    pub fn new(policy: &'p Policy, bookings: Vec<u64>, facilities: Vec<String>) -> Self {
        let runs = vec![[Run::default(); REGIME_CODES]; bookings.len()];
        Self {
            policy,
            unrecorded: vec![None; bookings.len()],
            unrecorded_done: Vec::new(),
            bookings,
            facilities,
            runs,
            evidence: Default::default(),
            day_number: i64::MIN,
            out: Vec::new(),
        }
    }

    /// The day the following calls measure; days come in order.
    pub fn begin_day(&mut self, day: Date) {
        self.day_number = super::day_number(day);
    }

    /// One person's measured day: minutes out of the cell, of them in the open air, whether
    /// (and since when) alone in the cell, and the entries measured.
    pub fn person(
        &mut self,
        slot: usize,
        out_of_cell: i64,
        open_air: i64,
        alone_since: Option<Date>,
        evidence: &[u64],
    ) {
        let p = self.policy;
        let today = self.day_number;
        let alone_from = alone_since.map(super::day_number);
        let solitary =
            alone_from.is_some() && 24 * 60 - out_of_cell >= i64::from(p.solitary.hours) * 60;
        let prolonged =
            solitary && alone_from.is_some_and(|s| today - s + 1 > i64::from(p.solitary.max_days));
        let breaches = [
            (open_air < i64::from(p.daily.open_air_minutes), open_air),
            (
                out_of_cell < i64::from(p.daily.out_of_cell_minutes),
                out_of_cell,
            ),
            (solitary, out_of_cell),
            (prolonged, out_of_cell),
        ];
        let Some(runs) = self.runs.get_mut(slot) else {
            return;
        };
        for (k, (breach, minutes)) in breaches.into_iter().enumerate() {
            let r = &mut runs[k];
            let minutes = i32::try_from(minutes).unwrap_or(i32::MAX);
            if breach && r.days > 0 && r.last + 1 == today {
                r.last = today;
                r.days += 1;
                r.least = r.least.min(minutes);
                continue;
            }
            if r.days > 0 {
                let done = std::mem::take(r);
                let booking = self.bookings.get(slot).copied().unwrap_or(0);
                let ev = self.evidence.remove(&(slot, k)).unwrap_or_default();
                self.out.push(close(p, k, booking, done, ev, false));
            }
            if breach {
                *r = Run {
                    since: if k == 3 {
                        alone_from.unwrap_or(today)
                    } else {
                        today
                    },
                    last: today,
                    days: 1,
                    least: minutes,
                };
                self.evidence.insert((slot, k), evidence.to_vec());
            }
        }
    }

    /// A person's day of which the records say nothing: no movement of theirs or of their
    /// cell, no roll count of the cell, and nothing earlier that placed them in it. Not a day
    /// of no time out of the cell: missing evidence, listed apart and never a finding (a run
    /// of breaches does not go on across it).
    pub fn unrecorded(&mut self, slot: usize) {
        let today = self.day_number;
        let Some(run) = self.unrecorded.get_mut(slot) else {
            return;
        };
        match run {
            Some((_, last)) if *last + 1 == today => *last = today,
            _ => {
                if let Some((since, last)) = run.replace((today, today)) {
                    self.unrecorded_done.push((slot, since, last));
                }
            }
        }
    }

    /// Every run, ended or still open on `end` (the period's last day: open runs are ongoing),
    /// and the days without records, grouped by facility and days.
    pub fn finish(self, end: Date) -> RegimeOutcome {
        let mut gaps: std::collections::BTreeMap<(&str, i64, i64), Vec<u64>> = Default::default();
        let open = self
            .unrecorded
            .iter()
            .enumerate()
            .filter_map(|(slot, r)| r.map(|(a, b)| (slot, a, b)));
        for (slot, since, last) in self.unrecorded_done.iter().copied().chain(open) {
            let facility = self.facilities.get(slot).map_or("", String::as_str);
            let booking = self.bookings.get(slot).copied().unwrap_or(0);
            gaps.entry((facility, since, last))
                .or_default()
                .push(booking);
        }
        let no_records = gaps
            .into_iter()
            .map(|((facility, since, last), mut bookings)| {
                bookings.sort_unstable();
                NoRecords {
                    facility: facility.to_owned(),
                    from: date_of_day(since).to_string(),
                    to: date_of_day(last).to_string(),
                    days: u32::try_from(last - since + 1).unwrap_or(u32::MAX),
                    people: bookings.len() as u64,
                    bookings,
                }
            })
            .collect();
        let findings = self.findings(end);
        RegimeOutcome {
            findings,
            no_records,
        }
    }

    fn findings(mut self, end: Date) -> Vec<Finding> {
        let end_number = super::day_number(end);
        for (slot, runs) in self.runs.iter_mut().enumerate() {
            let booking = self.bookings.get(slot).copied().unwrap_or(0);
            for (k, r) in runs.iter_mut().enumerate() {
                if r.days > 0 {
                    let done = std::mem::take(r);
                    let ev = self.evidence.remove(&(slot, k)).unwrap_or_default();
                    let ongoing = done.last >= end_number;
                    self.out
                        .push(close(self.policy, k, booking, done, ev, ongoing));
                }
            }
        }
        self.out
    }
}

/// Days of a period on which the records do not say where people were: the same days for
/// every booking listed. Missing evidence, not a finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NoRecords {
    pub facility: String,
    /// The first and the last day, inclusive.
    pub from: String,
    pub to: String,
    pub days: u32,
    pub people: u64,
    pub bookings: Vec<u64>,
}

/// The daily regime over a period: the findings, and the days without records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegimeOutcome {
    pub findings: Vec<Finding>,
    pub no_records: Vec<NoRecords>,
}

/// The finding of a run that ended, or that is ongoing at the end of the period.
fn close(p: &Policy, k: usize, booking: u64, r: Run, evidence: Vec<u64>, ongoing: bool) -> Finding {
    let last = date_of_day(r.last);
    let span = if r.days == 1 {
        format!("on {last}")
    } else {
        format!("on each of {} days to {last}", r.days)
    };
    let (code, rule, severity, detail) = match k {
        0 => (
            "regime.open_air",
            "Mandela Rule 23(1): at least one hour a day of exercise in the open air",
            Severity::Serious,
            format!(
                "under {} minutes in the open air {span} (least {} minutes)",
                p.daily.open_air_minutes, r.least
            ),
        ),
        1 => (
            "regime.out_of_cell",
            "Mandela Rules 23 and 44; CPT standards: time out of the cell each day",
            Severity::Serious,
            format!(
                "under {} minutes out of the cell {span} (least {} minutes)",
                p.daily.out_of_cell_minutes, r.least
            ),
        ),
        2 => (
            "solitary.confinement",
            "Mandela Rules 44-45: solitary confinement, 22 hours or more a day alone",
            Severity::Serious,
            format!(
                "alone in the cell {} hours or more a day {span} (least {} minutes out)",
                p.solitary.hours, r.least
            ),
        ),
        _ => (
            "solitary.prolonged",
            "Mandela Rules 43(1)(b) and 44: prolonged solitary confinement",
            Severity::Grave,
            format!(
                "alone in the cell past {} consecutive days {span}",
                p.solitary.max_days
            ),
        ),
    };
    Finding {
        code,
        rule,
        subject: Subject::Person { booking },
        severity,
        since: Some(date_of_day(r.since).to_string()),
        until: if ongoing {
            None
        } else {
            Some(last.to_string())
        },
        detail,
        evidence,
        words: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::tests::{codes, date, policy};

    #[test]
    fn rule_11_classes_mixed_in_a_cell() {
        let as_of = date("2026-03-01");
        let cell = SeparationFacts {
            facility: "F".into(),
            cell: "C1".into(),
            population: 2,
            sexes: 1,
            groups: 1,
            oldest_birth: Some(date("1990-01-01")),
            youngest_birth: Some(date("2000-01-01")),
            overrides: vec![(41, "Dirección".into())],
        };
        assert!(separation_findings(&cell, as_of).is_empty());
        let mixed = SeparationFacts {
            groups: 3,
            ..cell.clone()
        };
        let f = separation_findings(&mixed, as_of);
        assert_eq!(codes(&f), ["separation.untried_convicted"]);
        assert_eq!(f[0].evidence, [41]);
        assert!(
            f[0].detail.contains("override of Dirección"),
            "{}",
            f[0].detail
        );
        // One person cannot be mixed with anyone.
        let alone = SeparationFacts {
            population: 1,
            ..mixed
        };
        assert!(separation_findings(&alone, as_of).is_empty());
        let sexes = SeparationFacts {
            sexes: 3,
            ..cell.clone()
        };
        assert_eq!(
            codes(&separation_findings(&sexes, as_of)),
            ["separation.sexes"]
        );
        let civil = SeparationFacts {
            groups: 5,
            ..cell.clone()
        };
        assert_eq!(
            codes(&separation_findings(&civil, as_of)),
            ["separation.civil"]
        );
        // The youngest turns 18 on the day: no longer a child; the day before, still one.
        let young = |birth: &str| SeparationFacts {
            youngest_birth: Some(date(birth)),
            ..cell.clone()
        };
        assert!(separation_findings(&young("2008-03-01"), as_of).is_empty());
        assert_eq!(
            codes(&separation_findings(&young("2008-03-02"), as_of)),
            ["separation.young"]
        );
    }

    #[test]
    fn non_associations_within_their_scope() {
        let at = |unit: &str, cell: &str| {
            Some(Place {
                unit: unit.into(),
                cell: cell.into(),
            })
        };
        let n = NonAssociationFacts {
            idx: 9,
            facility: "F".into(),
            a: 1,
            b: 2,
            scope: "cell".into(),
            a_at: at("U1", "C1"),
            b_at: at("U1", "C2"),
        };
        assert!(non_association_findings(&n).is_empty());
        let unit = NonAssociationFacts {
            scope: "unit".into(),
            ..n.clone()
        };
        assert_eq!(
            codes(&non_association_findings(&unit)),
            ["separation.non_association"]
        );
        let same_cell = NonAssociationFacts {
            b_at: at("U1", "C1"),
            ..n.clone()
        };
        assert_eq!(non_association_findings(&same_cell)[0].evidence, [9]);
        let unallocated = NonAssociationFacts { b_at: None, ..n };
        assert!(non_association_findings(&unallocated).is_empty());
    }

    #[test]
    fn sanctions_prohibited_too_long_unreviewed_or_back_to_back() {
        let p = policy();
        let as_of = date("2026-03-20");
        let s = |idx: u64, at: &str, kind: &str, days: Option<u32>, review: Option<&str>| {
            SanctionFacts {
                booking: 5,
                idx,
                at: date(at),
                kind: kind.into(),
                days,
                review: review.map(date),
            }
        };
        assert!(
            sanction_findings(&p, &[s(1, "2026-03-01", "warning", None, None)], as_of).is_empty()
        );
        assert_eq!(
            codes(&sanction_findings(
                &p,
                &[s(1, "2026-03-01", "dark_cell", None, None)],
                as_of
            )),
            ["sanction.prohibited"]
        );
        let max = p.solitary.max_days;
        let solo = |days: u32, review: &str| {
            s(
                2,
                "2026-03-10",
                "solitary_confinement",
                Some(days),
                Some(review),
            )
        };
        assert!(sanction_findings(&p, &[solo(max, "2026-03-25")], as_of).is_empty());
        assert_eq!(
            codes(&sanction_findings(
                &p,
                &[solo(max + 1, "2026-03-25")],
                as_of
            )),
            ["solitary.over_maximum"]
        );
        // Review due the day before the evaluation, sanction still running: overdue; due on
        // the day: not yet.
        assert_eq!(
            codes(&sanction_findings(&p, &[solo(max, "2026-03-19")], as_of)),
            ["solitary.review_overdue"]
        );
        assert!(sanction_findings(&p, &[solo(max, "2026-03-20")], as_of).is_empty());
        // Ten days, then ten more starting the day after the first ended: twenty in a row.
        let chain = [
            s(
                3,
                "2026-01-01",
                "solitary_confinement",
                Some(10),
                Some("2026-01-05"),
            ),
            s(
                4,
                "2026-01-12",
                "solitary_confinement",
                Some(10),
                Some("2026-01-15"),
            ),
        ];
        let f = sanction_findings(&p, &chain, as_of);
        assert_eq!(codes(&f), ["solitary.prolonged"]);
        assert_eq!(f[0].evidence, [3, 4]);
        // With a two-day break between them they are two sanctions.
        let apart = [
            chain[0].clone(),
            s(
                4,
                "2026-01-13",
                "solitary_confinement",
                Some(10),
                Some("2026-01-15"),
            ),
        ];
        assert!(sanction_findings(&p, &apart, as_of).is_empty());
    }

    #[test]
    fn examination_and_injuries_at_admission() {
        let p = policy();
        let admitted = date("2026-03-01");
        let h = HealthFacts {
            booking: 5,
            admitted,
            examined: None,
            injuries_at_admission: 0,
            injuries_referred: None,
            evidence: 5,
        };
        let due = admitted.plus_days(i64::from(p.health.examination_days));
        assert!(health_findings(&p, &h, due).is_empty());
        let f = health_findings(&p, &h, due.plus_days(1));
        assert_eq!(codes(&f), ["health.examination_overdue"]);
        assert_eq!(f[0].until, None);
        let examined = HealthFacts {
            examined: Some((due, 9)),
            ..h.clone()
        };
        assert!(health_findings(&p, &examined, due.plus_days(30)).is_empty());
        let late = HealthFacts {
            examined: Some((due.plus_days(1), 9)),
            ..h.clone()
        };
        let f = health_findings(&p, &late, due.plus_days(30));
        assert_eq!(codes(&f), ["health.examination_overdue"]);
        assert_eq!(f[0].evidence, [5, 9]);
        let injured = HealthFacts {
            injuries_at_admission: 2,
            ..examined.clone()
        };
        let due = admitted.plus_days(i64::from(p.health.injury_referral_days));
        assert!(health_findings(&p, &injured, due).is_empty());
        assert_eq!(
            codes(&health_findings(&p, &injured, due.plus_days(1))),
            ["health.injuries_not_referred"]
        );
        let referred = HealthFacts {
            injuries_referred: Some((due, 10)),
            ..injured
        };
        assert!(health_findings(&p, &referred, due.plus_days(9)).is_empty());
    }

    #[test]
    fn consular_notification_and_contact() {
        let p = policy();
        let admitted = date("2026-03-01");
        let c = ConsularFacts {
            booking: 5,
            admitted,
            notification_requested: true,
            notified: None,
            advice: Some(Some(admitted)),
            last_contact: Some((admitted, 3)),
            evidence: 5,
        };
        let due = admitted.plus_days(i64::from(p.consular.notification_days));
        assert!(consular_findings(&p, &c, due).is_empty());
        assert_eq!(
            codes(&consular_findings(&p, &c, due.plus_days(1))),
            ["consular.not_notified"]
        );
        // Not asked for: nothing to notify.
        let declined = ConsularFacts {
            notification_requested: false,
            ..c.clone()
        };
        assert!(consular_findings(&p, &declined, due.plus_days(1)).is_empty());
        let notified = ConsularFacts {
            notified: Some(admitted),
            ..c
        };
        let limit = i64::from(p.consular.contact_days);
        assert!(consular_findings(&p, &notified, admitted.plus_days(limit)).is_empty());
        let f = consular_findings(&p, &notified, admitted.plus_days(limit + 1));
        assert_eq!(codes(&f), ["consular.no_contact"]);
        assert_eq!(f[0].evidence, [3]);
    }

    #[test]
    fn consular_rights_not_advised_or_advised_late() {
        let p = policy();
        let admitted = date("2026-03-01");
        let limit = i64::from(p.consular.notification_days);
        let due = admitted.plus_days(limit);
        let c = ConsularFacts {
            booking: 5,
            admitted,
            notification_requested: false,
            notified: None,
            advice: Some(None),
            last_contact: Some((admitted, 3)),
            evidence: 5,
        };
        // Not told: found one day after the days allowed, not on the last of them.
        assert!(consular_findings(&p, &c, due).is_empty());
        let f = consular_findings(&p, &c, due.plus_days(1));
        assert_eq!(codes(&f), ["consular.not_advised"]);
        assert_eq!(
            (f[0].since.as_deref(), f[0].until.as_deref()),
            (Some(due.to_string().as_str()), None)
        );
        // Told on the last day allowed: nothing; one day later: found, ending that day.
        let on_time = ConsularFacts {
            advice: Some(Some(due)),
            ..c.clone()
        };
        assert!(consular_findings(&p, &on_time, due.plus_days(30)).is_empty());
        let late = ConsularFacts {
            advice: Some(Some(due.plus_days(1))),
            ..c.clone()
        };
        let f = consular_findings(&p, &late, due.plus_days(30));
        assert_eq!(codes(&f), ["consular.not_advised"]);
        assert_eq!(f[0].until, Some(due.plus_days(1).to_string()));
        // Told after the day evaluated: on that day they had not been told.
        let later = ConsularFacts {
            advice: Some(Some(due.plus_days(5))),
            ..c.clone()
        };
        let f = consular_findings(&p, &later, due.plus_days(1));
        assert_eq!(codes(&f), ["consular.not_advised"]);
        assert_eq!(f[0].until, None);
        // A custody opened by a transfer records nothing of it: nothing found.
        let transferred = ConsularFacts { advice: None, ..c };
        assert!(consular_findings(&p, &transferred, due.plus_days(30)).is_empty());
    }

    #[test]
    fn incidents_and_force_reviewed_in_time() {
        let p = policy();
        let at = date("2026-03-01");
        let i = IncidentFacts {
            facility: "F".into(),
            idx: 7,
            at,
            force_used: true,
            reviewed: None,
            people: 2,
        };
        let due = at.plus_days(i64::from(p.incidents.review_days));
        assert!(incident_findings(&p, &i, due).is_empty());
        let f = incident_findings(&p, &i, due.plus_days(1));
        assert_eq!(codes(&f), ["incident.force_not_reviewed"]);
        assert_eq!(f[0].severity, Severity::Serious);
        let no_force = IncidentFacts {
            force_used: false,
            ..i.clone()
        };
        assert_eq!(
            codes(&incident_findings(&p, &no_force, due.plus_days(1))),
            ["incident.not_reviewed"]
        );
        let reviewed = IncidentFacts {
            reviewed: Some(due),
            ..i
        };
        assert!(incident_findings(&p, &reviewed, due.plus_days(100)).is_empty());
    }

    #[test]
    fn a_period_merges_consecutive_days_into_runs() {
        let p = policy();
        let mut period = RegimePeriod::new(&p, vec![100, 200], vec!["F".into(), "F".into()]);
        let first = date("2026-03-01");
        // Person 100: 30 minutes out every day; person 200: three hours in the open air,
        // except on the second day.
        for d in 0..5 {
            period.begin_day(first.plus_days(d));
            period.person(0, 30, 0, None, &[d as u64]);
            let air = if d == 1 { 0 } else { 180 };
            period.person(1, 180, air, None, &[10 + d as u64]);
        }
        let outcome = period.finish(first.plus_days(4));
        assert!(outcome.no_records.is_empty());
        let mut f = outcome.findings;
        f.sort_by_key(|f| (f.subject.clone(), f.code));
        let summary: Vec<(String, &str, Option<String>, Option<String>)> = f
            .iter()
            .map(|f| {
                (
                    f.subject.to_string(),
                    f.code,
                    f.since.clone(),
                    f.until.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "booking 100".into(),
                    "regime.open_air",
                    Some("2026-03-01".into()),
                    None
                ),
                (
                    "booking 100".into(),
                    "regime.out_of_cell",
                    Some("2026-03-01".into()),
                    None
                ),
                (
                    "booking 200".into(),
                    "regime.open_air",
                    Some("2026-03-02".into()),
                    Some("2026-03-02".into())
                ),
            ]
        );
        assert_eq!(f[0].evidence, [0]);
        assert!(f[0].detail.contains("each of 5 days"), "{}", f[0].detail);
    }

    #[test]
    fn days_without_records_are_listed_apart_and_break_no_rule() {
        let p = policy();
        let f = |s: &str| s.to_owned();
        let mut period = RegimePeriod::new(&p, vec![100, 200, 300], vec![f("F"), f("F"), f("G")]);
        let first = date("2026-03-01");
        for d in 0..5 {
            period.begin_day(first.plus_days(d));
            // 100 and 200: nothing recorded on the first two days; then 100 is out 30
            // minutes a day and 200 three hours in the open air.
            if d < 2 {
                period.unrecorded(0);
                period.unrecorded(1);
            } else {
                period.person(0, 30, 0, None, &[d as u64]);
                period.person(1, 180, 180, None, &[d as u64]);
            }
            // 300: in the cell all day, recorded, except on the fourth day.
            if d == 3 {
                period.unrecorded(2);
            } else {
                period.person(2, 0, 0, None, &[20 + d as u64]);
            }
        }
        let outcome = period.finish(first.plus_days(4));
        let gap = |facility: &str, from: &str, to: &str, days, bookings: Vec<u64>| NoRecords {
            facility: facility.into(),
            from: from.into(),
            to: to.into(),
            days,
            people: bookings.len() as u64,
            bookings,
        };
        assert_eq!(
            outcome.no_records,
            [
                gap("F", "2026-03-01", "2026-03-02", 2, vec![100, 200]),
                gap("G", "2026-03-04", "2026-03-04", 1, vec![300]),
            ]
        );
        let mut found: Vec<(u64, &str, Option<String>, Option<String>)> = outcome
            .findings
            .iter()
            .map(|f| match f.subject {
                Subject::Person { booking } => (booking, f.code, f.since.clone(), f.until.clone()),
                _ => unreachable!("{f:?}"),
            })
            .collect();
        found.sort();
        let s = |d: &str| Some(d.to_owned());
        assert_eq!(
            found,
            [
                // From the first day recorded, not from the days without records.
                (100, "regime.open_air", s("2026-03-03"), None),
                (100, "regime.out_of_cell", s("2026-03-03"), None),
                // Recorded in the cell all day: found, the run broken by the day unrecorded.
                (300, "regime.open_air", s("2026-03-01"), s("2026-03-03")),
                (300, "regime.open_air", s("2026-03-05"), None),
                (300, "regime.out_of_cell", s("2026-03-01"), s("2026-03-03")),
                (300, "regime.out_of_cell", s("2026-03-05"), None),
            ]
        );
    }
}
