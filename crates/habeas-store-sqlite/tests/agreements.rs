//! The account of a custody agreement: person-days at the edges of a period (a custody that
//! begins or ends within it, a transfer between facilities counted once, a period before the
//! agreement), the amount due at its rate, and the findings about its people only.
#![expect(clippy::unwrap_used, reason = "test code fails loudly")]

use habeas_core::compliance::{Finding, Policy, Severity, Subject};
use habeas_core::custody::{AdmissionInput, Release};
use habeas_core::dates::Date;
use habeas_core::events::{AgreementInput, Transfer};
use habeas_register::Timestamp;
use serde_json::json;

mod support;
use support::World;

/// 2025-07-31T00:00:00Z: every date of the test is before it.
const NOW: i64 = 1_753_920_000_000;

impl World {
    /// A Venezuelan sent under `agreement` (or a Salvadoran on remand without one).
    fn admit(&self, name: &str, at: &str, agreement: Option<u64>) -> u64 {
        let mut v = json!({
            "facility": "CECOT",
            "person": {"given_names": name, "surnames": ["Pérez"], "birth_date": "1990-01-01", "sex": "male",
                "nationalities": [if agreement.is_some() { "VE" } else { "SV" }]},
            "admitted_at": at,
            "legal_status": if agreement.is_some() { "held_for_another_state" } else { "remand" },
            "orders": [if agreement.is_some() {
                json!({"kind": "transfer_agreement", "authority": "Ministerio", "reference": format!("ACU-{name}"), "issued": "2025-03-15"})
            } else {
                json!({"kind": "pretrial_detention", "authority": "Juzgado", "reference": "1-2025", "issued": "2025-03-15", "expires": "2025-12-31"})
            }],
        });
        if let Some(a) = agreement {
            v["agreement"] = json!(a);
            v["consular"] = json!({"rights_advised_at": at, "notification_requested": false});
        }
        let input: AdmissionInput = serde_json::from_value(v).unwrap();
        self.append(
            input
                .validate(Timestamp(NOW))
                .unwrap()
                .to_draft(&self.actor),
        )
    }
}

fn d(s: &str) -> Date {
    Date::parse("day", s).unwrap()
}

#[test]
fn person_days_at_the_edges_of_a_period_and_the_amount_due() {
    let w = World::new(
        "habeas.test/agreements",
        NOW,
        &[("CECOT", 1, ""), ("IZALCO", 1, "")],
    );
    let agreement = w.append(
        AgreementInput {
            facility: "CECOT".into(),
            counterpart: "US".into(),
            reference: "Acuerdo 2025-01".into(),
            starts: "2025-03-14".into(),
            ends: Some("2025-06-30".into()),
            terms: "custodia temporal".into(),
            per_capita_rate: Some(1_500),
            currency: Some("USD".into()),
        }
        .validate(&w.actor)
        .unwrap(),
    );
    // Ana: from 16 March, still held. Bruno: 20 March to 10 April (released). Carla: from 16
    // March at CECOT, transferred to IZALCO on 5 April (two custodies, one person). Diego: held
    // under no agreement.
    let ana = w.admit("Ana", "2025-03-16T04:00:00.000Z", Some(agreement));
    let bruno = w.admit("Bruno", "2025-03-20T10:00:00.000Z", Some(agreement));
    let carla = w.admit("Carla", "2025-03-16T23:30:00.000Z", Some(agreement));
    let diego = w.admit("Diego", "2025-03-16T04:00:00.000Z", None);
    w.append(
        Release::new(
            "CECOT",
            bruno,
            Some("transfer_to_another_state"),
            "Ministerio",
            "DEV-1",
            "2025-04-10T08:00:00.000Z",
            Timestamp(NOW),
            &w.actor,
        )
        .unwrap()
        .to_draft(&w.actor),
    );
    let carla_izalco = w.append(
        Transfer::new(
            "CECOT",
            carla,
            "IZALCO",
            "DGCP",
            "T-7",
            "2025-04-05T12:00:00.000Z",
            Timestamp(NOW),
        )
        .unwrap()
        .to_draft(&w.actor),
    );

    // March: the agreement starts on the 14th, so 14..31 count. Ana 16..31 (16 days), Bruno
    // 20..31 (12), Carla 16..31 (16).
    let march = w
        .store
        .agreement_report(agreement, d("2025-03-01"), d("2025-03-31"))
        .unwrap()
        .unwrap();
    assert_eq!(march.counted_from.as_deref(), Some("2025-03-14"));
    assert_eq!(march.counted_to.as_deref(), Some("2025-03-31"));
    let days: Vec<(u64, u64)> = march
        .people
        .iter()
        .map(|p| (p.custodies[0].booking, p.person_days))
        .collect();
    assert_eq!(days, [(ana, 16), (bruno, 12), (carla, 16)]);
    assert_eq!(march.person_days, 44);
    assert_eq!(march.amount_due, Some(44 * 1_500));
    assert_eq!(march.currency.as_deref(), Some("USD"));
    assert!(march.people.iter().all(|p| p.custodies[0].booking != diego));
    assert_eq!(march.people[0].amount_due, Some(16 * 1_500));
    assert_eq!(march.people[0].nationalities, ["VE"]);
    assert_eq!(march.people[0].name, "Ana Pérez");
    // The order under the agreement is the reference of the custody.
    assert_eq!(
        march.people[0].custodies[0].references[0].reference,
        "ACU-Ana"
    );

    // April: Ana all 30 days; Bruno 1..10, his release day counted; Carla 30 days over two
    // custodies, the day of the transfer once.
    let april = w
        .store
        .agreement_report(agreement, d("2025-04-01"), d("2025-04-30"))
        .unwrap()
        .unwrap();
    let days: Vec<u64> = april.people.iter().map(|p| p.person_days).collect();
    assert_eq!(days, [30, 10, 30]);
    assert_eq!(april.amount_due, Some(70 * 1_500));
    let carla_file = &april.people[2];
    assert_eq!(carla_file.custodies.len(), 2);
    let (first, second) = (&carla_file.custodies[0], &carla_file.custodies[1]);
    assert_eq!(first.end_reason.as_deref(), Some("transfer_out"));
    assert_eq!(first.ended_at.as_deref(), Some("2025-04-05T12:00:00.000Z"));
    assert_eq!(
        (
            second.booking,
            second.facility.as_str(),
            second.began_by.as_str()
        ),
        (carla_izalco, "IZALCO", "transferred_in")
    );
    assert_eq!(second.transferred_from.as_deref(), Some("CECOT"));
    assert!(second
        .references
        .iter()
        .any(|r| r.kind == "transfer" && r.reference == "T-7"));
    let bruno_file = &april.people[1];
    assert_eq!(
        bruno_file.custodies[0].end_reason.as_deref(),
        Some("transfer_to_another_state")
    );
    assert_eq!(april.facilities(), ["CECOT", "IZALCO"]);

    // A period that ends before the agreement starts counts nothing, and is refused by name.
    let before = w
        .store
        .agreement_report(agreement, d("2025-01-01"), d("2025-03-13"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (before.counted_from, before.people.len(), before.person_days),
        (None, 0, 0)
    );
    let a = w.store.agreement(agreement).unwrap().unwrap();
    assert_eq!(a.people, 3);
    let refused = a
        .period(
            Some(d("2025-01-01")),
            Some(d("2025-03-13")),
            d("2025-07-30"),
            d("2025-07-30"),
        )
        .unwrap_err();
    assert_eq!(refused.field, "to");
    // One day of a period past the agreement's end counts only to its end: Ana on 30 June.
    let end = w
        .store
        .agreement_report(agreement, d("2025-06-30"), d("2025-07-15"))
        .unwrap()
        .unwrap();
    assert_eq!(end.counted_to.as_deref(), Some("2025-06-30"));
    assert_eq!(
        end.people.iter().map(|p| p.person_days).collect::<Vec<_>>(),
        [1, 1]
    );
    // By default: from its first day to the day shown.
    assert_eq!(
        a.period(None, None, d("2025-05-31"), d("2025-07-30")),
        Ok((d("2025-03-14"), d("2025-05-31")))
    );

    // Not an agreement: none.
    assert!(w
        .store
        .agreement_report(ana, d("2025-03-01"), d("2025-03-31"))
        .unwrap()
        .is_none());
    assert!(w.store.agreement(ana).unwrap().is_none());
    assert_eq!(w.store.agreements(Some("CECOT")).unwrap().len(), 1);
    assert!(w.store.agreements(Some("IZALCO")).unwrap().is_empty());

    // Findings: only those about the report's people are kept.
    let mut r = april.clone();
    let policy = Policy::mandela_minimum().unwrap();
    let finding = |booking| Finding {
        code: "hearing.none_in_interval",
        rule: "Mandela Rule 119",
        subject: Subject::Person { booking },
        severity: Severity::Serious,
        since: Some("2025-04-01".into()),
        until: None,
        detail: "x".into(),
        evidence: vec![booking],
        words: Vec::new(),
    };
    r.add_findings(policy.source(), &[finding(ana), finding(diego)]);
    assert_eq!(r.findings(), 1);
    assert_eq!(r.people[0].findings[0].booking, ana);
    assert_eq!(r.policy.as_deref(), Some("mandela-minimum"));
    let evaluated = w
        .store
        .agreement_report_evaluated(&policy, agreement, d("2025-04-01"), d("2025-04-30"))
        .unwrap()
        .unwrap();
    let ours: Vec<u64> = evaluated
        .people
        .iter()
        .flat_map(|p| p.custodies.iter().map(|c| c.booking))
        .collect();
    for p in &evaluated.people {
        assert!(p.findings.iter().all(|f| ours.contains(&f.booking)));
    }
    assert_eq!(evaluated.person_days, april.person_days);
    w.register.shutdown();
}
