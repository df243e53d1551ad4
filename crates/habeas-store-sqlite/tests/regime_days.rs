//! A person's day is measured on their facility's local day, and a cell's movements are its
//! own: two facilities with a cell of the same code (S1-C01 exists wherever one template built
//! the estate) are measured apart, in a report over both and on each cell's page.
#![expect(clippy::unwrap_used, reason = "test code fails loudly")]

use habeas_core::allocation::Allocation;
use habeas_core::compliance::{Finding, Policy, Subject};
use habeas_core::custody::AdmissionInput;
use habeas_core::dates::Date;
use habeas_core::events::{CellCount, Movement, RollCount};
use habeas_register::Timestamp;
use serde_json::json;

mod support;
use support::World;

/// 2025-06-01T00:00:00Z: every time of the test is before it.
const NOW: i64 = 1_748_736_000_000;
const CELL: &str = "M1-C01";

impl World {
    /// Someone admitted at `facility` on 2025-05-01 and placed in its cell.
    fn admit(&self, facility: &str, name: &str) -> u64 {
        let input: AdmissionInput = serde_json::from_value(json!({
            "facility": facility,
            "person": {"given_names": name, "surnames": ["Pérez"], "birth_date": "1990-01-01", "sex": "male", "nationalities": ["SV"]},
            "admitted_at": "2025-05-01T12:00:00Z",
            "legal_status": "remand",
            "orders": [{"kind": "pretrial_detention", "authority": "Juzgado", "reference": "1-2025", "issued": "2025-04-30", "expires": "2025-12-31"}],
        }))
        .unwrap();
        let booking = self.append(
            input
                .validate(Timestamp(NOW))
                .unwrap()
                .to_draft(&self.actor),
        );
        let allocation = Allocation::new(facility, booking, CELL, None, None).unwrap();
        self.append(allocation.to_draft(&self.actor));
        booking
    }

    /// The whole cell of `facility` out at `at` and back two hours later, in the open air.
    fn outing(&self, facility: &str, at: i64) -> [u64; 2] {
        [("out_of_cell", at), ("back_to_cell", at + 2 * 3_600_000)].map(|(kind, t)| {
            let m = Movement::new(
                facility,
                kind,
                &[],
                Some(CELL),
                kind == "out_of_cell",
                None,
                &Timestamp(t).to_string(),
                Timestamp(NOW),
            )
            .unwrap();
            self.append(m.to_draft(&self.actor))
        })
    }

    fn count(&self, facility: &str, at: &str) -> u64 {
        let cells = [CellCount {
            cell: CELL.into(),
            counted: 1,
            present: None,
        }];
        let c = RollCount::new(facility, at, &cells, Timestamp(NOW)).unwrap();
        self.append(c.to_draft(&self.actor))
    }
}

fn d(s: &str) -> Date {
    Date::parse("day", s).unwrap()
}

fn millis(s: &str) -> i64 {
    Timestamp::parse(&s.replace(":00Z", ":00.000Z"))
        .unwrap()
        .millis()
}

/// The regime findings of `booking`: code, first day, last day.
fn regime_of(findings: &[Finding], booking: u64) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = findings
        .iter()
        .filter(|f| f.subject == Subject::Person { booking })
        .filter(|f| f.code.starts_with("regime."))
        .map(|f| {
            (
                f.code.to_owned(),
                f.since.clone().unwrap_or_default(),
                f.until.clone().unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn each_facility_is_measured_on_its_local_day_and_by_its_own_cells() {
    // ALFA six hours behind UTC (El Salvador), BETA on UTC; each with one cell, `M1-C01`.
    let w = World::new(
        "habeas.test/regime-days",
        NOW,
        &[("ALFA", 1, "utc_offset = \"-06:00\""), ("BETA", 1, "")],
    );
    let ana = w.admit("ALFA", "Ana");
    let beto = w.admit("BETA", "Beto");
    // ALFA's cell goes out from 19:00 to 21:00 local time on 05-10 (01:00-03:00 UTC on
    // 05-11); it was counted at 09:00 local that morning.
    let out = w.outing("ALFA", millis("2025-05-11T01:00:00Z"));
    w.count("ALFA", "2025-05-10T15:00:00Z");
    // BETA's cell of the same code never goes out; it is counted each day.
    w.count("BETA", "2025-05-10T12:00:00Z");
    w.count("BETA", "2025-05-11T12:00:00Z");
    let policy = Policy::mandela_minimum().unwrap();

    let both = w
        .store
        .regime_period(&policy, None, d("2025-05-10"), d("2025-05-11"))
        .unwrap();
    // Ana had her two hours on her 05-10; her 05-11 has no record and is listed, not found.
    assert_eq!(regime_of(&both.findings, ana), []);
    let gaps: Vec<(&str, &str, &str)> = both
        .no_records
        .iter()
        .map(|g| (g.facility.as_str(), g.from.as_str(), g.to.as_str()))
        .collect();
    assert_eq!(gaps, [("ALFA", "2025-05-11", "2025-05-11")]);
    assert_eq!(both.no_records[0].bookings, [ana]);
    // Beto spent both days in his cell: ALFA's cell going out is not his. (Ongoing at the end
    // of the period: no last day.)
    let beto_found = vec![
        (
            "regime.open_air".to_owned(),
            "2025-05-10".to_owned(),
            String::new(),
        ),
        (
            "regime.out_of_cell".to_owned(),
            "2025-05-10".to_owned(),
            String::new(),
        ),
    ];
    assert_eq!(regime_of(&both.findings, beto), beto_found);
    for f in both
        .findings
        .iter()
        .filter(|f| f.code.starts_with("regime."))
    {
        assert!(
            f.detail.contains("on each of 2 days to 2025-05-11"),
            "{}",
            f.detail
        );
    }
    // The same, one facility at a time.
    let alfa = w
        .store
        .regime_period(&policy, Some("ALFA"), d("2025-05-10"), d("2025-05-11"))
        .unwrap();
    assert_eq!(regime_of(&alfa.findings, ana), []);
    assert_eq!(alfa.no_records.len(), 1);
    let beta = w
        .store
        .regime_period(&policy, Some("BETA"), d("2025-05-10"), d("2025-05-11"))
        .unwrap();
    assert_eq!(regime_of(&beta.findings, beto), beto_found);
    assert_eq!(regime_of(&beta.findings, ana), []);

    // The day before a report: 05-10, then 05-11, each person on their own facility's day.
    let day_of = |as_of: &str| -> Vec<(u64, i64, i64, Vec<u64>)> {
        let facts = w.store.compliance_facts(None, d(as_of)).unwrap();
        let mut out: Vec<_> = facts
            .regime
            .iter()
            .map(|r| {
                (
                    r.booking,
                    r.out_of_cell_minutes,
                    r.open_air_minutes,
                    r.evidence.clone(),
                )
            })
            .collect();
        out.sort();
        out
    };
    assert_eq!(
        day_of("2025-05-11"),
        [(ana, 120, 120, out.to_vec()), (beto, 0, 0, vec![])]
    );
    assert_eq!(
        day_of("2025-05-12"),
        [(ana, 0, 0, vec![]), (beto, 0, 0, vec![])]
    );

    // Each cell's page shows its own facility's movements only.
    let page = |facility: &str| {
        w.store
            .cell_view(facility, CELL, "2025-05-11", 5)
            .unwrap()
            .movements
            .len()
    };
    assert_eq!((page("ALFA"), page("BETA")), (2, 0));
}
