//! Records that cannot contradict themselves, and nobody off the books, run the same way on
//! both backends: SQLite (a register file) and PostgreSQL (through a replica). What cannot be
//! true is refused naming the field and the rule, and nothing is written; a person brought
//! without a valid order is recorded, counted and found at once.

use crate::support::Run;
use serde_json::{json, Value};

/// A register the binary writes to, whichever the backend.
pub trait Register {
    fn run(&self, args: &[&str]) -> Run;
    fn file(&self, name: &str, text: &str) -> String;
    /// Entries in the register itself.
    fn entries(&self) -> u64;

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "habeas {args:?} failed:\n{}\n{}",
            r.stdout, r.stderr
        );
        r
    }

    /// Refused with `needle` in the message, and nothing written.
    fn refused(&self, args: &[&str], needle: &str) {
        let before = self.entries();
        let r = self.run(args);
        assert_ne!(r.code, 0, "{args:?} was accepted: {}", r.stdout);
        assert!(
            r.stderr.contains(needle),
            "{args:?}: {:?} does not say {needle:?}",
            r.stderr
        );
        assert_eq!(self.entries(), before, "{args:?} was refused but wrote");
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args).stdout).unwrap()
    }

    /// Writes `v` and records it with `habeas <command> --json`; the entry number.
    fn record(&self, command: &str, v: &Value) -> u64 {
        let f = self.file(&format!("{command}.json"), &v.to_string());
        let out = self.ok(&[command, "--json", &f]).stdout;
        out.split(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    }
}

const ESTATE: &str = r#"
[facility]
code = "CECOT"
name = "Centro de Confinamiento del Terrorismo"
country = "SV"

[[unit]]
code = "M1"
name = "Módulo 1"
cell_count = 2
cell_template = { area_m2 = 100, bunks = 80, cna = 20, operational_capacity = 20 }
"#;

fn admission(given: &str) -> Value {
    json!({
        "facility": "CECOT",
        "person": {"given_names": given, "surnames": ["Rivas"], "birth_date": "1990-04-02", "sex": "male",
                   "nationalities": ["SV"], "documents": [{"kind": "DUI", "number": "04512345-6"}]},
        "admitted_at": "2025-05-31T10:00:00.000Z",
        "legal_status": "remand",
        "orders": [{"kind": "pretrial_detention", "authority": "Juzgado Especializado A", "reference": "77-2025", "issued": "2025-05-30"}],
        "arrest": {"at": "2025-05-30T06:00:00.000Z", "place": "Soyapango", "authority": "PNC"},
        // Recorded long after 2025: transcribed from the book it was written in at the time.
        "transcribed_from": "Libro de ingresos 2025, folio 3"
    })
}

fn findings_of(reg: &dyn Register, as_of: &str, booking: u64) -> Vec<(String, String)> {
    let report = reg.json(&[
        "report",
        "compliance",
        "--facility",
        "CECOT",
        "--as-of",
        as_of,
        "--format",
        "json",
    ]);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"]["booking"] == booking)
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The whole scenario: each impossible record refused, the unlawful one recorded and found.
pub fn records_cannot_contradict_themselves(reg: &dyn Register) {
    let estate = reg.file("cecot.toml", ESTATE);
    reg.ok(&["estate", "load", &estate]);

    // 1. An order that expired before the admission is no basis for it (Rule 7(a)).
    let mut expired = admission("Mario");
    expired["orders"][0]["issued"] = json!("2024-12-01");
    expired["orders"][0]["expires"] = json!("2025-01-01");
    let f = reg.file("expired.json", &expired.to_string());
    reg.refused(&["admit", "--json", &f], "Rule 7(a)");

    // Recorded today without saying where it was first written: a late registration.
    let mut late = admission("Mario");
    late.as_object_mut().unwrap().remove("transcribed_from");
    let booking = reg.record("admit", &late);
    assert!(findings_of(reg, "2025-05-31", booking)
        .iter()
        .any(|(c, _)| c == "intake.late_registration"));

    // 2. A release before the admission did not happen.
    reg.refused(
        &[
            "release",
            "--facility",
            "CECOT",
            "--booking",
            &booking.to_string(),
            "--reason",
            "bail",
            "--authority",
            "Juzgado",
            "--reference",
            "L-1",
            "--at",
            "2025-05-30T10:00:00.000Z",
        ],
        "at",
    );

    // 3. The same identity document is the same person: a second admission while the first
    // custody is open names it.
    let mut twice = admission("Mario Ernesto");
    twice["person"]["birth_date"] = json!("1991-01-01");
    let f = reg.file("twice.json", &twice.to_string());
    reg.refused(&["admit", "--json", &f], &booking.to_string());

    // 5. Brought without any order: recorded, held pending one, counted, and a grave finding
    // from the first minute.
    let mut pending = admission("Óscar");
    pending["person"]["documents"] = json!([]);
    pending["orders"] = json!([]);
    let f = reg.file("no-order.json", &pending.to_string());
    reg.refused(&["admit", "--json", &f], "held_pending_order");
    pending["held_pending_order"] =
        json!({"brought_by": "PNC, patrulla 12", "orders_shown": ["acta de captura sin firma"]});
    let held = reg.record("admit", &pending);
    assert_eq!(
        findings_of(reg, "2025-05-31", held),
        [("legal.no_valid_basis".to_owned(), "grave".to_owned())],
        "from the day of admission"
    );
    // …and an order already in force makes it an ordinary admission.
    let mut both = admission("Luis");
    both["person"]["documents"] = json!([]);
    both["held_pending_order"] = json!({"brought_by": "PNC"});
    let f = reg.file("both.json", &both.to_string());
    reg.refused(&["admit", "--json", &f], "held_pending_order");

    // 6. One head count: both people are held, neither yet in a cell, and both are counted.
    let population = reg.ok(&["population"]).stdout;
    assert!(population.contains("(no cell)"), "{population}");
    assert!(
        population.contains("2 people held (0 in cells, 2 in no cell)"),
        "{population}"
    );
    let counts = reg
        .ok(&[
            "count",
            "report",
            "--facility",
            "CECOT",
            "--date",
            "2025-06-01",
        ])
        .stdout;
    assert!(
        counts.contains("held now: 2 = 0 in cells + 2 in no cell"),
        "{counts}"
    );
    assert!(
        counts.contains(&format!("in no cell: booking {held}")),
        "{counts}"
    );
    // Past the allocation delay, each is a finding of its own.
    assert!(findings_of(reg, "2025-06-02", booking)
        .iter()
        .any(|(c, _)| c == "custody.not_allocated"));

    // A person refused at the gate is recorded, though never admitted.
    let refusal = json!({"record": "gate_refusal", "facility": "CECOT", "at": "2025-06-01T08:00:00.000Z",
        "name": "Desconocido, unos 30 años", "brought_by": "PNC, patrulla 12", "orders_shown": [],
        "reason": "sin orden; devuelto a la PNC"});
    let before = reg.entries();
    reg.record("record", &refusal);
    assert_eq!(reg.entries(), before + 1);

    // An order recorded ends the finding from its day.
    let order = json!({"facility": "CECOT", "booking": held, "legal_status": "remand",
        "order": {"kind": "pretrial_detention", "authority": "Juzgado Especializado A", "reference": "80-2025", "issued": "2025-06-01"}});
    reg.record("order", &order);
    assert!(findings_of(reg, "2025-06-01", held)
        .iter()
        .all(|(c, _)| c != "legal.no_valid_basis"));
    assert_eq!(
        findings_of(reg, "2025-05-31", held),
        [("legal.no_valid_basis".to_owned(), "grave".to_owned())],
        "the days before the order stay found"
    );
}
