//! The custody core end to end: estate, admission, allocation, movements, counts, orders,
//! transfers, releases, deaths, corrections — and every refusal names the field and writes
//! nothing.

use crate::support::Reg;
use serde_json::{json, Value};

const ESTATE: &str = r#"
[facility]
code = "CECOT"
name = "Centro de Confinamiento del Terrorismo"
country = "SV"

[[unit]]
code = "M1"
name = "Módulo 1"
cell_count = 3
cell_template = { area_m2 = 100, bunks = 80, cna = 2, operational_capacity = 2, lighting = "constant", ventilation = "mechanical", sanitation = true }

[[unit]]
code = "M2"
name = "Módulo 2"
cell_count = 2
cell_template = { area_m2 = 100, bunks = 80, cna = 2, operational_capacity = 3 }
"#;

const IZALCO: &str = r#"
[facility]
code = "IZALCO"
name = "Centro Penal de Izalco"
country = "SV"

[[unit]]
code = "A"
name = "Sector A"
cell_count = 1
cell_template = { area_m2 = 40, bunks = 10, cna = 10, operational_capacity = 10 }
"#;

/// An admission of someone new (the tests admit several people of the same name and birth
/// date: `new_person` says they are different people).
fn admission(given: &str, sex: &str, status: &str) -> Value {
    json!({
        "new_person": true,
        "facility": "CECOT",
        "person": {"given_names": given, "surnames": ["Hernández", "López"], "birth_date": "1995-03-02", "sex": sex, "nationalities": ["SV"]},
        "admitted_at": "2024-06-01T10:00:00.000Z",
        "legal_status": status,
        "orders": [{"kind": "pretrial_detention", "authority": "Juzgado Especializado A", "reference": "123-2024", "issued": "2024-05-30", "expires": "2030-11-30"}],
        "arrest": {"at": "2024-05-28T06:00:00.000Z", "place": "Soyapango", "authority": "PNC"},
        "injuries": ["hematoma en el brazo izquierdo"],
        "property": [{"item": "reloj"}],
        "children": [{"age": 4, "whereabouts": "San Salvador", "carer": "abuela"}]
    })
}

impl Reg {
    fn file(&self, name: &str, text: &str) -> String {
        std::fs::write(self.path(name), text).unwrap();
        name.to_string()
    }
    fn admit(&self, v: &Value) -> u64 {
        let f = self.file("admission.json", &v.to_string());
        let r = self.ok(&["admit", "--json", &f]);
        r.stdout.split_whitespace().nth(2).unwrap().parse().unwrap()
    }
    fn refused(&self, args: &[&str], needle: &str) {
        let before = self.size();
        let r = self.run(args);
        assert_ne!(r.code, 0, "{args:?} was accepted: {}", r.stdout);
        assert!(
            r.stderr.contains(needle),
            "{args:?}: {:?} does not say {needle:?}",
            r.stderr
        );
        assert_eq!(
            self.size(),
            before,
            "{args:?} was refused but wrote something"
        );
    }
    /// `habeas record` of `v`: its output.
    fn record(&self, v: &Value) -> String {
        let f = self.file("record.json", &v.to_string());
        self.ok(&["record", "--json", &f]).stdout
    }
    fn refused_record(&self, v: &Value, needle: &str) {
        let f = self.file("record.json", &v.to_string());
        self.refused(&["record", "--json", &f], needle);
    }
    fn refused_admission(&self, v: &Value, needle: &str) {
        let f = self.file("bad.json", &v.to_string());
        self.refused(&["admit", "--json", &f], needle);
    }
}

fn facility() -> Reg {
    let reg = Reg::init(&[]);
    let f = reg.file("cecot.toml", ESTATE);
    let r = reg.ok(&["estate", "load", &f]);
    assert!(
        r.stdout.contains("2 units, 5 cells; 8 entries recorded"),
        "{}",
        r.stdout
    );
    reg
}

#[test]
fn the_estate_loads_once_and_changes_only_by_certification() {
    let reg = facility();
    let again = reg.ok(&["estate", "load", "cecot.toml"]);
    assert!(
        again
            .stdout
            .contains("0 entries recorded, 5 cells unchanged"),
        "{}",
        again.stdout
    );
    reg.file(
        "bigger.toml",
        &ESTATE.replace(
            "cna = 2, operational_capacity = 3",
            "cna = 2, operational_capacity = 9",
        ),
    );
    reg.refused(&["estate", "load", "bigger.toml"], "habeas estate certify");
    reg.file(
        "bad.toml",
        &ESTATE.replace("country = \"SV\"", "country = \"El Salvador\""),
    );
    reg.refused(&["estate", "load", "bad.toml"], "facility.country");
    reg.file(
        "typo.toml",
        &ESTATE.replace("sanitation = true", "sanitaton = true"),
    );
    reg.refused(&["estate", "load", "typo.toml"], "unknown field");
    reg.ok(&[
        "estate",
        "certify",
        "--facility",
        "CECOT",
        "--cell",
        "M2-C01",
        "--cna",
        "2",
        "--operational",
        "9",
        "--authority",
        "Dirección General",
        "--reason",
        "literas nuevas",
    ]);
    reg.refused(
        &[
            "estate",
            "certify",
            "--facility",
            "CECOT",
            "--cell",
            "M9-C01",
            "--cna",
            "2",
            "--operational",
            "9",
            "--authority",
            "DG",
            "--reason",
            "x",
        ],
        "--cell",
    );
    let show: Value = serde_json::from_str(
        &reg.ok(&["estate", "show", "--facility", "CECOT", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let cell = show["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "M2-C01")
        .unwrap()
        .clone();
    assert_eq!(
        (
            cell["operational_capacity"].as_u64(),
            cell["area_cm2"].as_u64()
        ),
        (Some(9), Some(1_000_000))
    );
    assert_eq!(show["cells"][0]["lighting"], "constant");
}

#[test]
fn a_facilitys_local_time_and_a_cells_fittings_load_change_by_entry_and_are_found() {
    let reg = facility();
    // The offset and Module 1's fittings: a new facility entry and one for each of its cells.
    reg.file(
        "fitted.toml",
        &ESTATE
            .replace(
                "country = \"SV\"",
                "country = \"SV\"\nutc_offset = \"-06:00\"",
            )
            .replace(
                "sanitation = true }",
                "sanitation = true, mattresses = 0, toilet_private = false }",
            ),
    );
    let r = reg.ok(&["estate", "load", "fitted.toml"]);
    assert!(
        r.stdout.contains("4 entries recorded, 2 cells unchanged"),
        "{}",
        r.stdout
    );
    let again = reg.ok(&["estate", "load", "fitted.toml"]);
    assert!(
        again.stdout.contains("0 entries recorded"),
        "{}",
        again.stdout
    );
    let show: Value = serde_json::from_str(
        &reg.ok(&["estate", "show", "--facility", "CECOT", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(show["facility"]["utc_offset_minutes"], -360);
    let cell = |code: &str| {
        show["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            cell("M1-C01")["mattresses"].clone(),
            cell("M1-C01")["toilet_private"].clone()
        ),
        (json!(0), json!(false))
    );
    assert_eq!(
        (
            cell("M2-C01")["mattresses"].clone(),
            cell("M2-C01")["toilet_private"].clone()
        ),
        (Value::Null, Value::Null)
    );
    let table = reg.ok(&["estate", "show", "--facility", "CECOT"]).stdout;
    assert!(table.contains("local time UTC-06:00"), "{table}");
    assert!(table.contains("constant, open"), "{table}");
    // A bad offset, or a private toilet where there is none, is refused by name.
    reg.file(
        "bad-offset.toml",
        &ESTATE.replace("country = \"SV\"", "country = \"SV\"\nutc_offset = \"-6\""),
    );
    reg.refused(
        &["estate", "load", "bad-offset.toml"],
        "facility.utc_offset",
    );
    reg.file(
        "no-toilet.toml",
        &ESTATE.replace(
            "operational_capacity = 3 }",
            "operational_capacity = 3, toilet_private = true }",
        ),
    );
    reg.refused(
        &["estate", "load", "no-toilet.toml"],
        "unit[1].cell_template.toilet_private",
    );
    // Two people on two bare bunks sharing an open toilet.
    for name in ["Ana", "Beto"] {
        let b = reg.admit(&admission(name, "male", "remand"));
        reg.ok(&[
            "allocate",
            "--facility",
            "CECOT",
            "--booking",
            &b.to_string(),
            "--cell",
            "M1-C01",
        ]);
    }
    let report: Value =
        serde_json::from_str(&reg.ok(&["report", "compliance", "--format", "json"]).stdout)
            .unwrap();
    let found: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"]["cell"] == "M1-C01")
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["detail"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(code, _, _)| code == "conditions.no_mattress" || code == "conditions.open_toilet")
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1.as_str()),
        ("conditions.no_mattress", "grave")
    );
    assert!(
        found[0].2.contains("2 people held with 0 mattresses"),
        "{found:?}"
    );
    assert_eq!(
        (found[1].0.as_str(), found[1].1.as_str()),
        ("conditions.open_toilet", "serious")
    );
    // The projections equal a rebuild from the register.
    reg.ok(&["verify"]);
}

#[test]
fn admission_is_refused_without_a_legal_basis_and_names_each_bad_field() {
    let reg = facility();
    let mut v = admission("José", "male", "remand");
    v["orders"] = json!([]);
    reg.refused_admission(&v, "Rule 7");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/admitted_at",
            json!("2099-01-01T00:00:00.000Z"),
            "admitted_at",
        ),
        (
            "/person/birth_date",
            json!("1995-02-30"),
            "person.birth_date",
        ),
        ("/orders/0/issued", json!("2024-06-02"), "orders[0].issued"),
        (
            "/facility",
            json!("NOWHERE"),
            "facility NOWHERE is not defined",
        ),
        ("/legal_status", json!("detained"), "legal_status"),
        ("/person/nationalities", json!(["VE"]), "Vienna Convention"),
    ];
    for (pointer, value, needle) in cases {
        let mut v = admission("José", "male", "remand");
        *v.pointer_mut(pointer).unwrap() = value;
        reg.refused_admission(&v, needle);
    }
    let mut v = admission("José", "male", "remand");
    v["person"]["colour"] = json!("x");
    reg.refused_admission(&v, "person");
    reg.file("broken.json", "{\"facility\": ");
    reg.refused(&["admit", "--json", "broken.json"], "admission field");
    let mut v = admission("José", "male", "held_for_another_state");
    reg.refused_admission(&v, "agreement");
    v["agreement"] = json!(3);
    reg.refused_admission(&v, "not a custody agreement");
    let agreement = json!({"facility": "CECOT", "counterpart": "US", "reference": "ACU-2025", "starts": "2025-03-15",
        "terms": "custodia de personas enviadas", "per_capita_rate": 2_000_000, "currency": "USD"});
    reg.file("agreement.json", &agreement.to_string());
    let r = reg.ok(&["agreement", "--json", "agreement.json"]);
    let entry: u64 = r
        .stdout
        .split("entry ")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    v["agreement"] = json!(entry);
    v["person"]["nationalities"] = json!(["VE"]);
    v["consular"] =
        json!({"rights_advised_at": "2024-06-01T10:05:00.000Z", "notification_requested": true});
    let held = reg.admit(&v);
    let file: Value = serde_json::from_str(
        &reg.ok(&["person", "show", &held.to_string(), "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(file["person"]["custodies"][0]["agreement"], entry);
    assert_eq!(file["person"]["custodies"][0]["foreign_national"], true);

    let booking = reg.admit(&admission("José", "male", "remand"));
    let mut again = admission("José", "male", "remand");
    again.as_object_mut().unwrap().remove("person");
    again.as_object_mut().unwrap().remove("new_person");
    again["existing_person"] = json!(booking);
    reg.refused_admission(&again, "already in custody");
    let file: Value = serde_json::from_str(
        &reg.ok(&["person", "show", &booking.to_string(), "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(file["person"]["surnames"], "Hernández López");
    assert_eq!(
        file["person"]["custodies"][0]["orders"][0]["reference"],
        "123-2024"
    );
    assert_eq!(
        file["history"][0]["payload"]["injuries"][0],
        "hematoma en el brazo izquierdo"
    );
    assert_eq!(
        file["history"][0]["payload"]["children"][0]["carer"],
        "abuela"
    );
    // Found by name whatever the case and accents, words in any order.
    let found: Value = serde_json::from_str(
        &reg.ok(&["person", "find", "LOPEZ jose", "--format", "json"])
            .stdout,
    )
    .unwrap();
    // Two José Hernández López are held: the one admitted here and the one held for another state.
    assert_eq!(found.as_array().unwrap().len(), 2);
    assert!(found
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["person"] == booking));
    let none: Value = serde_json::from_str(
        &reg.ok(&["person", "find", "maria", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert!(none.as_array().unwrap().is_empty());
    // A word's beginning is enough ("hern jos"); the middle of a word is not a word.
    let find = |q: &str| -> usize {
        serde_json::from_str::<Value>(&reg.ok(&["person", "find", q, "--format", "json"]).stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(find("hern jos"), 2);
    assert_eq!(find("Hernández López José"), 2);
    assert_eq!(find("ernandez"), 0);
    assert!(reg
        .ok(&["person", "show", &booking.to_string()])
        .stdout
        .contains("Hernández López"));
}

#[test]
fn allocation_keeps_capacity_separation_and_non_associations() {
    let reg = facility();
    let a = reg.admit(&admission("Ana", "male", "remand"));
    let b = reg.admit(&admission("Beto", "male", "remand"));
    let c = reg.admit(&admission("Carlos", "male", "remand"));
    let w = reg.admit(&admission("Wendy", "female", "remand"));
    let s = reg.admit(&admission("Saúl", "male", "sentenced"));
    let place = |booking: u64, cell: &str| {
        reg.ok(&[
            "allocate",
            "--facility",
            "CECOT",
            "--booking",
            &booking.to_string(),
            "--cell",
            cell,
        ])
    };
    place(a, "M1-C01");
    place(b, "M1-C01");
    reg.refused(
        &[
            "allocate",
            "--facility",
            "CECOT",
            "--booking",
            &c.to_string(),
            "--cell",
            "M1-C01",
        ],
        "operational capacity",
    );
    reg.refused(
        &[
            "allocate",
            "--facility",
            "CECOT",
            "--booking",
            &c.to_string(),
            "--cell",
            "M7-C01",
        ],
        "--cell",
    );
    reg.refused(
        &[
            "allocate",
            "--facility",
            "CECOT",
            "--booking",
            "999",
            "--cell",
            "M1-C02",
        ],
        "--booking",
    );
    place(c, "M1-C02");
    reg.refused(
        &[
            "allocate",
            "--facility",
            "CECOT",
            "--booking",
            &w.to_string(),
            "--cell",
            "M1-C02",
        ],
        "Rule 11(a)",
    );
    reg.refused(
        &[
            "allocate",
            "--facility",
            "CECOT",
            "--booking",
            &s.to_string(),
            "--cell",
            "M1-C02",
        ],
        "Rule 11(b)",
    );
    reg.refused(
        &[
            "allocate",
            "--facility",
            "CECOT",
            "--booking",
            &s.to_string(),
            "--cell",
            "M1-C02",
            "--override-reason",
            "sin espacio",
        ],
        "--override-authority",
    );
    let r = reg.ok(&[
        "allocate",
        "--facility",
        "CECOT",
        "--booking",
        &s.to_string(),
        "--cell",
        "M1-C02",
        "--override-reason",
        "sin otra celda",
        "--override-authority",
        "Director",
    ]);
    assert!(r.stdout.contains("with an override"));
    reg.ok(&[
        "non-association",
        "add",
        "--facility",
        "CECOT",
        "--a",
        &a.to_string(),
        "--b",
        &w.to_string(),
        "--scope",
        "unit",
        "--reason",
        "amenazas",
        "--authority",
        "Director",
    ]);
    reg.refused(
        &[
            "allocate",
            "--facility",
            "CECOT",
            "--booking",
            &w.to_string(),
            "--cell",
            "M1-C03",
        ],
        "non-association",
    );
    reg.refused(
        &[
            "non-association",
            "add",
            "--facility",
            "CECOT",
            "--a",
            "1",
            "--b",
            "1",
            "--scope",
            "cell",
            "--reason",
            "x",
            "--authority",
            "y",
        ],
        "--b",
    );
    reg.refused(
        &[
            "non-association",
            "add",
            "--facility",
            "CECOT",
            "--a",
            &a.to_string(),
            "--b",
            &c.to_string(),
            "--scope",
            "pavilion",
            "--reason",
            "x",
            "--authority",
            "y",
        ],
        "--scope",
    );
    // The batch places the woman in unit M2, away from the person she must be kept from.
    let r = reg.ok(&["allocate", "--facility", "CECOT", "--batch"]);
    assert!(r.stdout.contains("placed 1 of 1"), "{}", r.stdout);
    let file: Value = serde_json::from_str(
        &reg.ok(&["person", "show", &w.to_string(), "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(file["person"]["custodies"][0]["unit"], "M2");
    let pop: Value = serde_json::from_str(
        &reg.ok(&["population", "--facility", "CECOT", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(pop[0]["population"], 4);
    assert_eq!(pop[1]["population"], 1);
    assert_eq!(reg.verify().code, 0);
}

#[test]
fn batch_allocation_explains_who_could_not_be_placed() {
    let reg = facility();
    for i in 0..14 {
        reg.admit(&admission(&format!("Persona {i}"), "male", "remand"));
    }
    let plan: Value = serde_json::from_str(
        &reg.ok(&["allocate", "--facility", "CECOT", "--batch", "--dry-run"])
            .stdout,
    )
    .unwrap();
    assert_eq!(
        plan["placed"].as_array().unwrap().len(),
        12,
        "3 cells of 2 and 2 of 3"
    );
    assert_eq!(plan["unplaced"].as_array().unwrap().len(), 2);
    let before = reg.size();
    let r = reg.ok(&["allocate", "--facility", "CECOT", "--batch"]);
    assert!(r.stdout.contains("placed 12 of 14"), "{}", r.stdout);
    assert_eq!(
        r.stdout
            .matches("every cell is at operational capacity")
            .count(),
        2,
        "{}",
        r.stdout
    );
    assert_eq!(reg.size(), before + 12);
    let cells: Value = serde_json::from_str(
        &reg.ok(&["estate", "show", "--facility", "CECOT", "--format", "json"])
            .stdout,
    )
    .unwrap();
    for c in cells["cells"].as_array().unwrap() {
        assert!(c["population"].as_u64() <= c["operational_capacity"].as_u64());
    }
}

#[test]
fn movements_counts_orders_transfers_releases_deaths_and_corrections() {
    let reg = facility();
    reg.file("izalco.toml", IZALCO);
    reg.ok(&["estate", "load", "izalco.toml"]);
    let a = reg.admit(&admission("Ana", "male", "remand"));
    let b = reg.admit(&admission("Beto", "male", "remand"));
    let (sa, sb) = (a.to_string(), b.to_string());
    reg.ok(&[
        "allocate",
        "--facility",
        "CECOT",
        "--booking",
        &sa,
        "--cell",
        "M1-C01",
    ]);
    reg.ok(&[
        "allocate",
        "--facility",
        "CECOT",
        "--booking",
        &sb,
        "--cell",
        "M1-C01",
    ]);
    // Movements: the whole cell out into the open air and back; invalid transitions refused.
    reg.ok(&[
        "move",
        "--facility",
        "CECOT",
        "--kind",
        "out_of_cell",
        "--cell",
        "M1-C01",
        "--open-air",
    ]);
    reg.refused(
        &[
            "move",
            "--facility",
            "CECOT",
            "--kind",
            "out_of_cell",
            "--booking",
            &sa,
        ],
        "cannot move out_of_cell",
    );
    reg.refused(
        &[
            "move",
            "--facility",
            "CECOT",
            "--kind",
            "out",
            "--booking",
            &sa,
        ],
        "--destination",
    );
    reg.refused(
        &[
            "move",
            "--facility",
            "CECOT",
            "--kind",
            "back_to_cell",
            "--booking",
            &sa,
            "--open-air",
        ],
        "--open-air",
    );
    reg.ok(&[
        "move",
        "--facility",
        "CECOT",
        "--kind",
        "back_to_cell",
        "--cell",
        "M1-C01",
    ]);
    reg.ok(&[
        "move",
        "--facility",
        "CECOT",
        "--kind",
        "out",
        "--booking",
        &sb,
        "--destination",
        "court",
    ]);
    // Roll count: one is at court, so the cell holds one person; counting two is one extra.
    let r = reg.ok(&["count", "record", "--facility", "CECOT", "M1-C01=2"]);
    assert!(r.stdout.contains("EXTRA 1"), "{}", r.stdout);
    let report: Value = serde_json::from_str(
        &reg.ok(&["count", "report", "--facility", "CECOT", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(report["lines"][0]["expected"], 1);
    assert_eq!(
        report["not_counted"].as_array().unwrap().len(),
        4,
        "five cells, one counted"
    );
    reg.refused(
        &["count", "record", "--facility", "CECOT", "M1-C99=1"],
        "--cell",
    );
    reg.refused(
        &["count", "record", "--facility", "CECOT", "M1-C01=uno"],
        "--cell",
    );
    // Naming who was found says who is missing and who is extra.
    let r = reg.ok(&[
        "count",
        "record",
        "--facility",
        "CECOT",
        &format!("M1-C01=@{sb}"),
    ]);
    assert!(
        r.stdout
            .contains(&format!("missing (recorded here, not found): {sa}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("extra (found here, recorded elsewhere): {sb}")),
        "{}",
        r.stdout
    );
    reg.refused(
        &["count", "record", "--facility", "CECOT", "M1-C01=@5,5"],
        "named twice",
    );
    reg.ok(&[
        "move",
        "--facility",
        "CECOT",
        "--kind",
        "return",
        "--booking",
        &sb,
    ]);
    // A sentence brings a release date, with credit for the time on remand.
    let order = json!({"facility": "CECOT", "booking": a, "legal_status": "sentenced", "sentence_days": 100,
        "order": {"kind": "sentence", "authority": "Tribunal de Sentencia", "reference": "TS-9", "issued": "2024-06-11"}});
    reg.file("order.json", &order.to_string());
    reg.ok(&["order", "--json", "order.json"]);
    let file: Value =
        serde_json::from_str(&reg.ok(&["person", "show", &sa, "--format", "json"]).stdout).unwrap();
    assert_eq!(
        file["person"]["custodies"][0]["release_date"], "2024-09-09",
        "100 days from 2024-06-01"
    );
    assert!(reg
        .ok(&["person", "show", &sa])
        .stdout
        .contains("PASSED, still held"));
    // Transfer: a new custody at Izalco with the same orders.
    let r = reg.ok(&[
        "transfer",
        "--facility",
        "CECOT",
        "--booking",
        &sa,
        "--to",
        "IZALCO",
        "--authority",
        "DGCP",
        "--reference",
        "T-1",
    ]);
    let new_booking: u64 = r
        .stdout
        .split("new booking ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let file: Value =
        serde_json::from_str(&reg.ok(&["person", "show", &sa, "--format", "json"]).stdout).unwrap();
    assert_eq!(file["person"]["custodies"][0]["end_reason"], "transfer_out");
    assert_eq!(file["person"]["custodies"][1]["booking"], new_booking);
    assert_eq!(file["person"]["custodies"][1]["facility"], "IZALCO");
    assert_eq!(
        file["person"]["custodies"][1]["orders"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Each custody lists its own entries, and the history gives each entry its custody.
    for (n, custody) in file["person"]["custodies"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let listed: Vec<u64> = custody["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_u64().unwrap())
            .collect();
        let given: Vec<u64> = file["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["booking"] == custody["booking"])
            .map(|h| h["index"].as_u64().unwrap())
            .collect();
        assert!(!listed.is_empty(), "custody {n} lists no entry");
        assert_eq!(listed, given, "custody {n}");
        assert_eq!(
            custody["orders"].as_array().unwrap().len(),
            2,
            "custody {n}"
        );
    }
    reg.refused(
        &[
            "transfer",
            "--facility",
            "CECOT",
            "--booking",
            &sb,
            "--to",
            "NOWHERE",
            "--authority",
            "x",
            "--reference",
            "y",
        ],
        "--to",
    );
    // Release needs a legal reason.
    reg.refused(
        &[
            "release",
            "--facility",
            "IZALCO",
            "--booking",
            &new_booking.to_string(),
            "--authority",
            "Juez",
            "--reference",
            "R-1",
        ],
        "--reason",
    );
    reg.ok(&[
        "release",
        "--facility",
        "IZALCO",
        "--booking",
        &new_booking.to_string(),
        "--reason",
        "sentence_served",
        "--authority",
        "Juez",
        "--reference",
        "R-1",
    ]);
    reg.refused(
        &[
            "release",
            "--facility",
            "IZALCO",
            "--booking",
            &new_booking.to_string(),
            "--reason",
            "bail",
            "--authority",
            "Juez",
            "--reference",
            "R-2",
        ],
        "not an open custody",
    );
    // A death opens a case whose steps are pending until recorded, once each.
    let r = reg.ok(&[
        "death",
        "record",
        "--facility",
        "CECOT",
        "--booking",
        &sb,
        "--at",
        "2025-01-02T03:00:00.000Z",
        "--place",
        "Celda M1-C01",
        "--circumstances",
        "Encontrado sin vida",
        "--violent",
    ]);
    let case = r
        .stdout
        .split("entry ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    reg.ok(&[
        "death",
        "step",
        "--facility",
        "CECOT",
        "--case",
        &case,
        "--step",
        "family_informed",
        "--detail",
        "llamada a la madre",
    ]);
    reg.refused(
        &[
            "death",
            "step",
            "--facility",
            "CECOT",
            "--case",
            &case,
            "--step",
            "family_informed",
            "--detail",
            "otra vez",
        ],
        "already recorded",
    );
    reg.refused(
        &[
            "death",
            "step",
            "--facility",
            "CECOT",
            "--case",
            &case,
            "--step",
            "burial",
            "--detail",
            "x",
        ],
        "--step",
    );
    let cases: Value =
        serde_json::from_str(&reg.ok(&["death", "list", "--format", "json"]).stdout).unwrap();
    assert!(
        cases[0]["steps"][0][1].is_string(),
        "the family was informed"
    );
    assert!(
        cases[0]["steps"][1][1].is_null(),
        "the other steps are pending"
    );
    // A correction of identity: the file shows the new value, the history both entries. The
    // facility that holds the person corrects it (IZALCO, since the transfer); CECOT, which
    // no longer holds them, is refused as for a person it never held.
    let corr = json!({"facility": "CECOT", "person": a, "reason": "error de transcripción", "authority": "RNPN, partida 44", "birth_date": "1994-03-02"});
    reg.file("corr.json", &corr.to_string());
    reg.refused(
        &["person", "correct", "--json", "corr.json"],
        &format!("person {a} is not held at CECOT"),
    );
    // Nobody's identity changes on a reason alone: the authority is named.
    let corr = json!({"facility": "IZALCO", "person": a, "reason": "error de transcripción", "birth_date": "1994-03-02"});
    reg.file("corr.json", &corr.to_string());
    reg.refused(&["person", "correct", "--json", "corr.json"], "authority");
    let corr = json!({"facility": "IZALCO", "person": a, "reason": "error de transcripción", "authority": "RNPN, partida 44", "birth_date": "1994-03-02"});
    reg.file("corr.json", &corr.to_string());
    reg.ok(&["person", "correct", "--json", "corr.json"]);
    let file: Value =
        serde_json::from_str(&reg.ok(&["person", "show", &sa, "--format", "json"]).stdout).unwrap();
    assert_eq!(file["person"]["birth_date"], "1994-03-02");
    let kinds: Vec<&str> = file["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"custody.admitted") && kinds.contains(&"person.identity_corrected"),
        "{kinds:?}"
    );
    // A corrected surname is found by the new name, and still by the old one: the file and
    // the search say "formerly recorded as".
    let found = |q: &str| -> Vec<u64> {
        serde_json::from_str::<Value>(&reg.ok(&["person", "find", q, "--format", "json"]).stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["person"].as_u64().unwrap())
            .collect()
    };
    assert!(found("ana hernandez").contains(&a));
    let corr = json!({"facility": "IZALCO", "person": a, "reason": "apellido mal escrito", "authority": "Juzgado de Familia, resolución 9-2025", "surnames": ["Fernández", "López"]});
    reg.file("corr.json", &corr.to_string());
    reg.ok(&["person", "correct", "--json", "corr.json"]);
    assert_eq!(found("ana fernandez"), vec![a]);
    assert!(
        found("ana hernandez").contains(&a),
        "the former name still finds her"
    );
    let hits: Value = serde_json::from_str(
        &reg.ok(&["person", "find", "ana hernandez", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let hit = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["person"] == a)
        .unwrap();
    assert_eq!(hit["surnames"], "Fernández López");
    assert!(
        hit["formerly"][0].as_str().unwrap().contains("Hernández"),
        "{hit}"
    );
    let file: Value =
        serde_json::from_str(&reg.ok(&["person", "show", &sa, "--format", "json"]).stdout).unwrap();
    assert!(file["person"]["formerly"][0]
        .as_str()
        .unwrap()
        .contains("Hernández"));
    // Everything verifies, and a rebuild gives the same projections.
    assert_eq!(reg.verify().code, 0);
    reg.ok(&["rebuild"]);
    let v = reg.verify();
    assert_eq!(v.code, 0, "{}", v.stderr);
}

#[test]
fn hearings_contact_and_complaints_are_recorded_and_refused_with_reasons() {
    let reg = facility();
    let a = reg.admit(&admission("Ana", "male", "remand"));
    let b = reg.admit(&admission("Beto", "male", "remand"));
    let rec = |v: Value| reg.record(&v);
    let refused = |v: Value, needle: &str| reg.refused_record(&v, needle);
    rec(
        json!({"record": "charge", "facility": "CECOT", "booking": a, "offence": "agrupaciones ilícitas", "provision": "Código Penal art. 345", "date": "2024-05-28"}),
    );
    let out = rec(
        json!({"record": "hearing", "facility": "CECOT", "bookings": [a, b], "court": "Tribunal virtual de Tecoluca",
        "at": "2024-07-01T09:00:00.000Z", "mode": "video", "people_heard": 400, "outcome": "detención provisional"}),
    );
    assert!(out.contains("custody.hearing recorded"), "{out}");
    refused(
        json!({"record": "hearing", "facility": "CECOT", "bookings": [a], "court": "T", "mode": "video", "people_heard": 1}),
        "record field at",
    );
    refused(
        json!({"record": "hearing", "facility": "CECOT", "bookings": [a, 999], "court": "T", "at": "2024-07-01T09:00:00.000Z", "mode": "video", "people_heard": 2}),
        "booking 999",
    );
    rec(
        json!({"record": "review", "facility": "CECOT", "booking": a, "at": "2024-08-01T09:00:00.000Z", "authority": "Juzgado", "outcome": "continúa", "next_review": "2024-11-01"}),
    );
    rec(
        json!({"record": "contact", "facility": "CECOT", "booking": a, "kind": "visit", "party": "legal", "at": "2024-08-02T10:00:00.000Z", "with": "Lcda. Ruiz", "minutes": 30}),
    );
    refused(
        json!({"record": "contact", "facility": "CECOT", "booking": a, "kind": "visit", "party": "legal", "at": "2024-08-02T10:00:00.000Z", "with": "Lcda. Ruiz", "notes": "estrategia"}),
        "confidential",
    );
    rec(
        json!({"record": "contact_request", "facility": "CECOT", "booking": a, "kind": "visit", "party": "family", "at": "2024-08-03T10:00:00.000Z", "granted": false, "reason": "régimen de excepción", "authority": "Dirección"}),
    );
    refused(
        json!({"record": "contact_request", "facility": "CECOT", "booking": a, "kind": "visit", "party": "family", "at": "2024-08-03T10:00:00.000Z", "granted": false}),
        "reason",
    );
    let out = rec(
        json!({"record": "complaint", "facility": "CECOT", "booking": a, "at": "2024-08-04T10:00:00.000Z", "confidential": true,
        "subject": "golpes", "text": "Denuncia golpes durante el traslado", "alleges_ill_treatment": true, "reply_due": "2024-08-19"}),
    );
    let complaint: u64 = out.split("entry ").nth(1).unwrap().trim().parse().unwrap();
    refused(
        json!({"record": "complaint_reply", "facility": "CECOT", "complaint": complaint, "at": "2024-08-03T10:00:00.000Z", "reply": "x"}),
        "before the complaint",
    );
    refused(
        json!({"record": "complaint_reply", "facility": "CECOT", "complaint": a, "at": "2024-08-05T10:00:00.000Z", "reply": "x"}),
        "not a complaint",
    );
    rec(
        json!({"record": "complaint_referral", "facility": "CECOT", "complaint": complaint, "at": "2024-08-05T10:00:00.000Z", "authority": "Procuraduría para la Defensa de los Derechos Humanos"}),
    );
    refused(
        json!({"record": "visit", "facility": "CECOT"}),
        "record field",
    );
    // A photograph for identification, kept in its entry; a GIF, or one for no custody, refused.
    rec(
        json!({"record": "photo", "facility": "CECOT", "booking": a, "taken_on": "2024-05-28", "media_type": "image/png",
        "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="}),
    );
    refused(
        json!({"record": "photo", "facility": "CECOT", "booking": a, "taken_on": "2024-05-28", "media_type": "image/gif", "data": "R0lGODlh"}),
        "media_type",
    );
    refused(
        json!({"record": "photo", "facility": "CECOT", "booking": 999, "taken_on": "2024-05-28", "media_type": "image/png",
        "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="}),
        "booking 999",
    );
    let file: Value = serde_json::from_str(
        &reg.ok(&["person", "show", &a.to_string(), "--format", "json"])
            .stdout,
    )
    .unwrap();
    let kinds: Vec<&str> = file["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    for k in [
        "custody.charge",
        "custody.hearing",
        "custody.review",
        "contact.recorded",
        "contact.request",
        "complaint.filed",
        "complaint.referred",
        "custody.photo",
    ] {
        assert!(
            kinds.contains(&k),
            "the file's timeline lacks {k}: {kinds:?}"
        );
    }
    assert!(
        !file["history"].to_string().contains("iVBORw0KGgo"),
        "the history names the photograph without carrying its image"
    );
    assert_eq!(reg.verify().code, 0);
    reg.ok(&["rebuild"]);
    assert_eq!(reg.verify().code, 0, "the photographs' projection rebuilds");
}

#[test]
fn incidents_discipline_health_and_programmes() {
    let reg = facility();
    let a = reg.admit(&admission("Ana", "male", "remand"));
    let rec = |v: Value| -> u64 {
        reg.file("record.json", &v.to_string());
        let out = reg.ok(&["record", "--json", "record.json"]).stdout;
        out.split("entry ").nth(1).unwrap().trim().parse().unwrap()
    };
    let refused = |v: Value, needle: &str| {
        reg.file("record.json", &v.to_string());
        reg.refused(&["record", "--json", "record.json"], needle);
    };
    let incident = rec(
        json!({"record": "incident", "facility": "CECOT", "at": "2024-08-01T03:00:00.000Z", "place": "Módulo 1, pasillo",
        "description": "Riña durante el recuento", "bookings": [a], "staff": ["custodio 17"], "injuries": ["contusión en la cara"],
        "force_used": true, "restraints": ["esposas"], "authorised_by": "jefe de turno"}),
    );
    refused(
        json!({"record": "incident", "facility": "CECOT", "at": "2024-08-01T03:00:00.000Z", "place": "M1", "description": "x", "force_used": true}),
        "authorised_by",
    );
    rec(
        json!({"record": "incident_addendum", "facility": "CECOT", "incident": incident, "at": "2024-08-02T03:00:00.000Z", "text": "El parte omitía la hora del traslado a enfermería"}),
    );
    rec(
        json!({"record": "incident_review", "facility": "CECOT", "incident": incident, "at": "2024-08-03T03:00:00.000Z", "reviewer": "Inspección General", "outcome": "uso de la fuerza proporcionado"}),
    );
    refused(
        json!({"record": "incident_review", "facility": "CECOT", "incident": a, "at": "2024-08-03T03:00:00.000Z", "reviewer": "x", "outcome": "y"}),
        "not an incident",
    );
    for (kind, rule) in [
        ("constantly_lit_cell", "Rule 43(1)(c)"),
        ("family_contact_ban", "Rule 43(3)"),
        ("corporal_punishment", "Rule 43(1)(d)"),
    ] {
        refused(
            json!({"record": "sanction", "facility": "CECOT", "booking": a, "at": "2024-08-04T10:00:00.000Z", "offence": "riña", "sanction": kind, "authority": "Consejo disciplinario"}),
            rule,
        );
    }
    refused(
        json!({"record": "sanction", "facility": "CECOT", "booking": a, "at": "2024-08-04T10:00:00.000Z", "offence": "riña", "sanction": "solitary_confinement", "days": 20, "authority": "Consejo", "review": "2024-08-10"}),
        "more than 15",
    );
    refused(
        json!({"record": "sanction", "facility": "CECOT", "booking": a, "at": "2024-08-04T10:00:00.000Z", "offence": "riña", "sanction": "warning", "authority": "Consejo", "hearing": "2024-08-05T09:00:00.000Z"}),
        "after the sanction",
    );
    rec(
        json!({"record": "sanction", "facility": "CECOT", "booking": a, "at": "2024-08-04T10:00:00.000Z", "offence": "riña", "sanction": "solitary_confinement", "days": 5, "authority": "Consejo disciplinario", "review": "2024-08-06", "hearing": "2024-08-04T09:00:00.000Z"}),
    );
    rec(
        json!({"record": "health", "facility": "CECOT", "booking": a, "at": "2024-08-05T10:00:00.000Z", "kind": "solitary_health_visit", "notes": "sin novedad"}),
    );
    rec(
        json!({"record": "programme", "facility": "CECOT", "booking": a, "at": "2024-08-06T10:00:00.000Z", "programme": "alfabetización", "kind": "education", "minutes": 90}),
    );
    refused(
        json!({"record": "charge", "facility": "CECOT", "booking": 999, "offence": "x", "provision": "y", "date": "2024-05-28"}),
        "booking 999",
    );
    refused(
        json!({"record": "review", "facility": "CECOT", "booking": a, "at": "2024-08-01T09:00:00.000Z", "authority": "J", "outcome": "o", "next_review": "2024-07-01"}),
        "next_review",
    );
    refused(
        json!({"record": "health", "facility": "CECOT", "booking": 999, "at": "2024-08-05T10:00:00.000Z", "kind": "injury", "notes": "x"}),
        "booking 999",
    );
    refused(
        json!({"record": "health", "facility": "CECOT", "booking": a, "at": "2024-08-05T10:00:00.000Z", "kind": "surgery", "notes": "x"}),
        "record field",
    );
    refused(
        json!({"record": "programme", "facility": "CECOT", "booking": a, "at": "2024-08-06T10:00:00.000Z", "programme": "taller", "kind": "work", "minutes": 0}),
        "minutes",
    );
    let file: Value = serde_json::from_str(
        &reg.ok(&["person", "show", &a.to_string(), "--format", "json"])
            .stdout,
    )
    .unwrap();
    let kinds: Vec<&str> = file["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    for k in [
        "incident.recorded",
        "incident.addendum",
        "incident.reviewed",
        "discipline.sanction",
        "health.recorded",
        "programme.attendance",
    ] {
        assert!(kinds.contains(&k), "the timeline lacks {k}: {kinds:?}");
    }
    let health = file["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "health.recorded")
        .unwrap();
    assert_eq!(health["payload"]["restricted"], true);
    assert_eq!(reg.verify().code, 0);
}

/// `habeas environment add` for cell M1-C01 of CECOT, with `extra`.
fn reading_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "environment",
        "add",
        "--facility",
        "CECOT",
        "--place",
        "M1-C01",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn environment_readings_by_hand_and_from_csv() {
    let reg = facility();
    reg.ok(&reading_args(&[
        "--temperature-c",
        "34.5",
        "--lighting",
        "on",
        "--at",
        "2024-08-01T12:00:00.000Z",
    ]));
    reg.refused(
        &reading_args(&["--temperature-c", "hot"]),
        "--temperature-c",
    );
    reg.refused(&reading_args(&[]), "a reading has");
    let csv = "at,place,temperature_c,lighting,ventilation\n2024-08-01T13:00:00.000Z,M1-C01,35.0,on,off\n2024-08-01T13:00:00.000Z,M2,31.2,on,on\n";
    reg.file("ok.csv", csv);
    let r = reg.ok(&["environment", "import", "--facility", "CECOT", "ok.csv"]);
    assert!(r.stdout.contains("2 readings imported"), "{}", r.stdout);
    reg.file(
        "bad.csv",
        &format!("{csv}2024-08-01T14:00:00.000Z,M1-C01,35.0,dim,off\n"),
    );
    reg.refused(
        &["environment", "import", "--facility", "CECOT", "bad.csv"],
        "line 4",
    );
    reg.file(
        "nowhere.csv",
        &format!("{csv}2024-08-01T14:00:00.000Z,M9-C01,35.0,on,off\n"),
    );
    reg.refused(
        &[
            "environment",
            "import",
            "--facility",
            "CECOT",
            "nowhere.csv",
        ],
        "line 4: place M9-C01",
    );
    let c = rusqlite::Connection::open(reg.db()).unwrap();
    let (n, hottest): (i64, i64) = c
        .query_row(
            "SELECT count(*), max(temperature_dc) FROM environment",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, hottest), (3, 350));
    drop(c);
    assert_eq!(reg.verify().code, 0);
}

#[test]
fn humidity_gives_each_reading_its_heat_index_and_three_dangerous_days_are_found() {
    let reg = facility();
    reg.ok(&reading_args(&[
        "--temperature-c",
        "33",
        "--humidity-pct",
        "70",
        "--at",
        "2024-08-01T20:00:00.000Z",
    ]));
    reg.refused(&reading_args(&["--humidity-pct", "120"]), "--humidity-pct");
    // Two more days at 34 °C and 70 %, and a reading without humidity (no heat index).
    let csv = "at,place,temperature_c,humidity_pct,lighting\n\
               2024-08-02T20:00:00.000Z,M1-C01,34.0,70,on\n\
               2024-08-03T20:00:00.000Z,M1-C01,34.0,70.0,on\n\
               2024-08-03T21:00:00.000Z,M1-C02,34.0,,on\n";
    reg.file("humid.csv", csv);
    reg.ok(&["environment", "import", "--facility", "CECOT", "humid.csv"]);
    reg.file("wet.csv", &csv.replace("70.0", "100.5"));
    reg.refused(
        &["environment", "import", "--facility", "CECOT", "wet.csv"],
        "line 3: humidity_pct",
    );
    let c = rusqlite::Connection::open(reg.db()).unwrap();
    let indices: Vec<(i64, Option<i64>, Option<i64>)> = c
        .prepare(
            "SELECT temperature_dc, humidity_permille, heat_index_dc FROM environment ORDER BY at",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        indices,
        [
            (330, Some(700), Some(435)),
            (340, Some(700), Some(468)),
            (340, Some(700), Some(468)),
            (340, None, None)
        ]
    );
    drop(c);
    let report: Value = serde_json::from_str(
        &reg.ok(&[
            "report",
            "compliance",
            "--as-of",
            "2024-08-03",
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    let found: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "conditions.heat_index")
        .collect();
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["subject"]["cell"], "M1-C01");
    assert_eq!(found[0]["evidence"].as_array().unwrap().len(), 3);
    assert!(
        found[0]["detail"].as_str().unwrap().starts_with(
            "a heat index over 41 °C on 3 of the 30 days up to 2024-08-03 (up to 46.8 °C)"
        ),
        "{}",
        found[0]["detail"]
    );
    // The projections, heat indices included, equal a rebuild.
    assert_eq!(reg.verify().code, 0);
}

#[test]
fn a_cell_lit_at_night_in_its_facilitys_local_time_is_found() {
    let reg = facility();
    // CECOT is six hours behind UTC; Module 2's cells are lit by day only (the default).
    reg.file(
        "local.toml",
        &ESTATE.replace(
            "country = \"SV\"",
            "country = \"SV\"\nutc_offset = \"-06:00\"",
        ),
    );
    reg.ok(&["estate", "load", "local.toml"]);
    // The light on at 02:00 local time (08:00 UTC) three nights running in M2-C01, at 21:00
    // (03:00 UTC: evening, not night) in M2-C02, and at 02:00 in M1-C01, certified as lit
    // constantly (light.constant's, when anyone is held there).
    let mut csv = String::from("at,place,lighting\n");
    for day in ["2024-08-01", "2024-08-02", "2024-08-03"] {
        csv.push_str(&format!("{day}T08:00:00.000Z,M2-C01,on\n"));
        csv.push_str(&format!("{day}T03:00:00.000Z,M2-C02,on\n"));
        csv.push_str(&format!("{day}T08:00:00.000Z,M1-C01,on\n"));
    }
    reg.file("night.csv", &csv);
    reg.ok(&["environment", "import", "--facility", "CECOT", "night.csv"]);
    let report = |as_of: &str| -> Vec<Value> {
        let r: Value = serde_json::from_str(
            &reg.ok(&["report", "compliance", "--as-of", as_of, "--format", "json"])
                .stdout,
        )
        .unwrap();
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "conditions.light_at_night")
            .cloned()
            .collect()
    };
    let found = report("2024-08-03");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["subject"]["cell"], "M2-C01");
    assert_eq!(found[0]["severity"], "serious");
    assert_eq!(found[0]["since"], "2024-08-01T08:00:00.000Z");
    assert!(
        found[0]["detail"]
            .as_str()
            .unwrap()
            .contains("(22:00-06:00, UTC-06:00) on 3 of the 30 nights up to 2024-08-03"),
        "{}",
        found[0]["detail"]
    );
    // As of the day before, two nights: not yet.
    assert!(report("2024-08-02").is_empty());
}

#[test]
fn a_units_food_and_water_are_recorded_day_by_day_found_and_missing_days_listed() {
    let reg = facility();
    let a = reg.admit(&admission("Ana", "male", "remand"));
    reg.ok(&[
        "allocate",
        "--facility",
        "CECOT",
        "--booking",
        &a.to_string(),
        "--cell",
        "M1-C01",
        "--at",
        "2024-06-02T08:00:00.000Z",
    ]);
    let served = |day: &str, meals: u32, water: Value| {
        let mut v = json!({"record": "food_service", "facility": "CECOT", "unit": "M1", "day": day,
            "meals": meals, "water_available": true, "recorded_by": "Sargento de cocina"});
        if let (Some(o), Some(w)) = (v.as_object_mut(), water.as_object()) {
            o.insert("water_available".into(), json!(false));
            o.extend(w.clone());
        }
        v
    };
    let out = reg.record(&served("2024-06-10", 2, json!(null)));
    assert!(out.contains("food.service recorded"), "{out}");
    reg.record(&served(
        "2024-06-11",
        3,
        json!({"water_hours": 4, "water_litres": 2}),
    ));
    reg.record(&served("2024-06-12", 3, json!(null)));
    // Bad input is refused by name, and nothing is written.
    let mut bad = served("2024-06-12", 3, json!(null));
    bad["unit"] = json!("M9");
    reg.refused_record(&bad, "unit");
    reg.refused_record(&served("2024-06-12", 11, json!(null)), "meals");
    reg.refused_record(
        &served("2024-06-12", 3, json!({"water_hours": 24})),
        "water_hours",
    );
    let r: Value = serde_json::from_str(
        &reg.ok(&[
            "report",
            "compliance",
            "--as-of",
            "2024-06-12",
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    let of = |code: &str| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code} not found in {r}"))
    };
    let food = of("conditions.food");
    assert_eq!(
        (
            &food["severity"],
            &food["subject"]["unit"],
            &food["since"],
            &food["until"]
        ),
        (
            &json!("serious"),
            &json!("M1"),
            &json!("2024-06-10"),
            &json!("2024-06-10")
        )
    );
    let water = of("conditions.water");
    assert_eq!(water["severity"], "grave");
    assert!(
        water["detail"]
            .as_str()
            .unwrap()
            .contains("as little as 4 hours a day; as little as 2 litres a person"),
        "{water}"
    );
    // The unit held Ana from 06-02; its days before 06-10 have no record: missing evidence.
    assert_eq!(
        r["no_food_records"],
        json!([{"facility": "CECOT", "unit": "M1", "from": "2024-06-02", "to": "2024-06-09", "days": 8}])
    );
    let table = reg
        .ok(&["report", "compliance", "--as-of", "2024-06-12"])
        .stdout;
    assert!(
        table.contains("NO FOOD RECORD CECOT M1 2024-06-02..2024-06-09 (8 days)"),
        "{table}"
    );
    let page = reg
        .ok(&[
            "report",
            "compliance",
            "--as-of",
            "2024-06-12",
            "--format",
            "html",
        ])
        .stdout;
    assert!(page.contains("id=\"no-food-records\""), "{page}");
    assert_eq!(reg.verify().code, 0);
}

impl crate::integrity::Register for Reg {
    fn run(&self, args: &[&str]) -> crate::support::Run {
        Reg::run(self, args)
    }
    fn file(&self, name: &str, text: &str) -> String {
        Reg::file(self, name, text)
    }
    fn entries(&self) -> u64 {
        self.size()
    }
}

#[test]
fn sqlite_records_cannot_contradict_themselves_and_nobody_is_off_the_books() {
    crate::integrity::records_cannot_contradict_themselves(&Reg::init(&[]));
}

/// Rule 68: a person may designate someone other than their family as their contact. A call
/// to that person counts as the family told, and as family contact for Rule 58(1); nobody
/// called at all is found.
#[test]
fn a_contact_person_the_one_held_designated_counts_as_the_family_told() {
    let reg = facility();
    let ana = reg.admit(&admission("Ana", "female", "remand"));
    let eva = reg.admit(&admission("Eva", "female", "remand"));
    let contact = |at: &str| {
        json!({"record": "contact", "facility": "CECOT", "booking": ana, "kind": "call",
               "party": "designated", "at": at, "with": "Marta Pérez (amiga)", "minutes": 5})
    };
    reg.record(&contact("2024-06-01T12:00:00.000Z"));
    reg.record(&contact("2024-06-20T12:00:00.000Z"));
    let found = |as_of: &str, code: &str| -> Vec<u64> {
        let v: Value = serde_json::from_str(
            &reg.ok(&["report", "compliance", "--as-of", as_of, "--format", "json"])
                .stdout,
        )
        .unwrap();
        let mut b: Vec<u64> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .filter_map(|f| f["subject"]["booking"].as_u64())
            .collect();
        b.sort_unstable();
        b
    };
    // 34 days after the admission: Eva has had no contact; Ana called her contact 15 days ago.
    assert_eq!(found("2024-07-05", "contact.family"), [eva]);
    // Rule 68 counts a contact from when it happened only if it was written down within a day
    // of it: Ana's call of 2024 was written to the register only now, so as of 2024-06-10 the
    // records held no contact for her either.
    assert_eq!(
        found("2024-06-10", "notification.family_not_informed"),
        [ana, eva]
    );
    // Two people admitted 23 hours before now, the call to Lía's contact person written an
    // hour after it was made: on time, and Sol, with no call, is found.
    let now: String =
        serde_json::from_str::<Value>(&reg.ok(&["entry", &(reg.size() - 1).to_string()]).stdout)
            .unwrap()["time"]
            .as_str()
            .unwrap()
            .to_owned();
    let now = habeas_register::Timestamp::parse(&now).unwrap();
    let ago = |hours: i64| habeas_register::Timestamp(now.millis() - hours * 3_600_000).to_string();
    let recent = |given: &str| {
        let mut v = admission(given, "female", "remand");
        v["admitted_at"] = json!(ago(23));
        reg.admit(&v)
    };
    let (lia, sol) = (recent("Lía"), recent("Sol"));
    reg.record(
        &json!({"record": "contact", "facility": "CECOT", "booking": lia, "kind": "call",
                       "party": "designated", "at": ago(22), "with": "Marta Pérez (amiga)"}),
    );
    let two_days_on = habeas_register::Timestamp(now.millis() + 2 * 86_400_000).date_string();
    let late = found(&two_days_on, "notification.family_not_informed");
    assert!(late.contains(&sol) && !late.contains(&lia), "{late:?}");
}

/// Rules 69 and 71(1) from the command line: a serious injury recorded with `habeas record`,
/// listed by `habeas harm list` with what is pending until its steps are recorded; a step for a
/// case that is not one is refused and writes nothing.
#[test]
fn a_serious_injury_is_listed_with_its_pending_steps_until_they_are_recorded() {
    let reg = facility();
    let ana = reg.admit(&admission("Ana", "female", "remand"));
    let out = reg.record(
        &json!({"record": "serious_harm", "facility": "CECOT", "booking": ana,
        "at": "2024-06-03T22:00:00.000Z", "kind": "injury",
        "circumstances": "fractura de muñeca en la celda; llevada al Hospital Rosales"}),
    );
    let case: u64 = out
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no entry in {out:?}"));
    let list = |format: &str| {
        reg.ok(&["harm", "list", "--facility", "CECOT", "--format", format])
            .stdout
    };
    let cases: Value = serde_json::from_str(&list("json")).unwrap();
    assert_eq!(
        (cases[0]["case"].as_u64(), cases[0]["pending"].clone()),
        (
            Some(case),
            json!(["designated_informed", "independent_authority_informed"])
        ),
        "{cases}"
    );
    assert!(list("table").contains("PENDING"), "{}", list("table"));
    reg.refused_record(
        &json!({"record": "harm_step", "facility": "CECOT", "case": ana, "step": "designated_informed",
                "at": "2024-06-04T08:00:00.000Z", "detail": "llamada a su madre"}),
        "not a serious-harm case",
    );
    for (step, detail) in [
        ("designated_informed", "llamada a su madre"),
        (
            "independent_authority_informed",
            "oficio a la Fiscalía General de la República",
        ),
    ] {
        reg.record(
            &json!({"record": "harm_step", "facility": "CECOT", "case": case, "step": step,
            "at": "2024-06-04T08:00:00.000Z", "detail": detail}),
        );
    }
    let cases: Value = serde_json::from_str(&list("json")).unwrap();
    assert_eq!(cases[0]["pending"], json!([]), "{cases}");
    assert_eq!(cases[0]["steps"].as_array().unwrap().len(), 2, "{cases}");
    assert!(!list("table").contains("PENDING"), "{}", list("table"));
}

#[test]
fn an_escape_is_listed_as_a_case_owing_its_report_until_it_is_recorded() {
    let reg = facility();
    let ana = reg.admit(&admission("Ana", "female", "remand"));
    let ana_s = ana.to_string();
    reg.ok(&[
        "release",
        "--facility",
        "CECOT",
        "--booking",
        &ana_s,
        "--reason",
        "escape",
        "--authority",
        "Dirección del CECOT",
        "--reference",
        "PARTE-12",
        "--at",
        "2024-06-03T22:40:00.000Z",
    ]);
    let list = |format: &str| {
        reg.ok(&["harm", "list", "--facility", "CECOT", "--format", format])
            .stdout
    };
    let cases: Value = serde_json::from_str(&list("json")).unwrap();
    assert_eq!(
        (
            cases[0]["booking"].as_u64(),
            cases[0]["kind"].as_str(),
            cases[0]["pending"].clone()
        ),
        (
            Some(ana),
            Some("escape"),
            json!(["independent_authority_informed"])
        ),
        "{cases}"
    );
    let case = cases[0]["case"].as_u64().unwrap();
    // The person is not here to ask that nobody be told.
    reg.refused_record(
        &json!({"record": "harm_step", "facility": "CECOT", "case": case, "step": "notice_declined",
                "at": "2024-06-03T23:00:00.000Z", "detail": "no quiero que se avise"}),
        "is an escape",
    );
    reg.record(
        &json!({"record": "harm_step", "facility": "CECOT", "case": case, "step": "independent_authority_informed",
                "at": "2024-06-03T23:10:00.000Z", "detail": "aviso a la Fiscalía General de la República"}),
    );
    let cases: Value = serde_json::from_str(&list("json")).unwrap();
    assert_eq!(cases[0]["pending"], json!([]), "{cases}");
}
