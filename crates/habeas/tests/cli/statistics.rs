//! `habeas report statistics` (Rule 10): on the demo scenarios, every breakdown adds up to the
//! population and the population is the one `habeas population` shows; on a small register
//! built by hand, the people held on a past day include those who left since, and deaths,
//! transfers and releases fall in their month.

use crate::support::{bin, Reg};
use serde_json::{json, Value};

fn run(dir: &std::path::Path, args: &[&str]) -> Vec<u8> {
    crate::support::run_in(dir, args)
}

fn generate(dir: &std::path::Path, db: &str, scenario: &str) {
    crate::support::demo_in(dir, db, scenario, "600", "30");
}

fn statistics(dir: &std::path::Path, db: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--db", db, "report", "statistics", "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_slice(&run(dir, &args)).unwrap()
}

fn people(v: &Value) -> u64 {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["people"].as_u64().unwrap())
        .sum()
}

fn count(v: &Value, key: &str) -> u64 {
    v.as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .map_or(0, |c| c["people"].as_u64().unwrap())
}

/// Every breakdown of the population adds up to its total; returns the total.
fn breakdowns_add_up(s: &Value) -> u64 {
    let p = &s["population"];
    let total = p["total"].as_u64().unwrap();
    for b in [
        "by_legal_status",
        "by_sex",
        "by_age_band",
        "by_nationality",
        "by_placement",
    ] {
        assert_eq!(people(&p[b]), total, "{b} does not add up: {p}");
    }
    assert_eq!(p["by_age_band"].as_array().unwrap().len(), 7);
    assert!(p["foreign_nationals"].as_u64().unwrap() <= total);
    total
}

fn flow_sum(s: &Value, field: &str) -> u64 {
    s["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[field].as_u64().unwrap())
        .sum()
}

fn refused(dir: &std::path::Path, db: &str, args: &[&str], field: &str) {
    let out = bin()
        .current_dir(dir)
        .args(["--db", db, "report", "statistics"])
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} was accepted");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(field),
        "{args:?}: {err:?} does not name {field}"
    );
}

#[test]
fn cecot_population_adds_up_matches_the_cells_and_nobody_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, "cecot.db", "cecot");
    let s = statistics(d, "cecot.db", &["--as-of", "2025-05-31"]);
    assert_eq!(s["as_of"], "2025-05-31");
    let total = breakdowns_add_up(&s);
    assert!(total > 500, "{total}");
    // Everyone arrested here is held under the régimen de excepción (Decreto Legislativo 333
    // of 27 March 2022); the people flown in on a transfer agreement are not.
    let p = &s["population"];
    let under = p["under_emergency"].as_u64().unwrap();
    assert_eq!(
        under + count(&p["by_legal_status"], "held_for_another_state"),
        total,
        "{p}"
    );
    assert_eq!(count(&p["by_emergency"], "régimen de excepción"), under);
    assert!(under > 0);

    // The people held are the ones `habeas population` shows in the cells, plus anyone not
    // allocated yet; none is away or has left since the last day.
    let units: Value = serde_json::from_slice(&run(
        d,
        &["--db", "cecot.db", "population", "--format", "json"],
    ))
    .unwrap();
    let in_cells: u64 = units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["population"].as_u64().unwrap())
        .sum();
    let placement = &s["population"]["by_placement"];
    assert_eq!(count(placement, "left_since"), 0);
    assert_eq!(
        in_cells + count(placement, "not_allocated"),
        total,
        "{placement}"
    );
    // Occupancy: the facility line is its units' sum, and each unit is what `population` says.
    let occupancy = s["occupancy"].as_array().unwrap();
    let facility = occupancy.iter().find(|o| o["unit"].is_null()).unwrap();
    assert_eq!(facility["population"].as_u64().unwrap(), total);
    for u in units.as_array().unwrap() {
        let o = occupancy.iter().find(|o| o["unit"] == u["unit"]).unwrap();
        for k in ["population", "cna", "operational_capacity"] {
            assert_eq!(o[k], u[k], "{k} of {}", u["unit"]);
        }
        let rate = 100.0 * u["population"].as_f64().unwrap() / u["cna"].as_f64().unwrap();
        assert!((o["occupancy_pct"].as_f64().unwrap() - rate).abs() < 0.06);
    }

    // Twelve months by default, the last the month of the day; admissions in the window of the
    // scenario and no release at all (CECOT releases nobody).
    let flows = s["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 12);
    assert_eq!(flows[11]["month"], "2025-05");
    assert_eq!(flows[0]["month"], "2024-06");
    assert!(flows[11]["admissions"].as_u64().unwrap() > 0);
    assert_eq!(flow_sum(&s, "releases"), 0);

    // The same in CSV: one row per figure, and the figures agree with the JSON.
    let csv = run(
        d,
        &[
            "--db",
            "cecot.db",
            "report",
            "statistics",
            "--as-of",
            "2025-05-31",
            "--months",
            "3",
            "--format",
            "csv",
        ],
    );
    let mut rows = csv::Reader::from_reader(&csv[..]);
    assert_eq!(
        rows.headers().unwrap(),
        vec!["section", "scope", "key", "value"]
    );
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    let total_row = rows
        .iter()
        .find(|r| &r[0] == "population" && &r[2] == "total")
        .unwrap();
    assert_eq!(total_row[3].parse::<u64>().unwrap(), total);
    let sexes: u64 = rows
        .iter()
        .filter(|r| &r[0] == "sex")
        .map(|r| r[3].parse::<u64>().unwrap())
        .sum();
    assert_eq!(sexes, total);
    assert_eq!(
        rows.iter()
            .filter(|r| &r[0] == "flow" && &r[2] == "admissions")
            .count(),
        3
    );

    // The table names the day and the total.
    let table = String::from_utf8(run(
        d,
        &[
            "--db",
            "cecot.db",
            "report",
            "statistics",
            "--as-of",
            "2025-05-31",
        ],
    ))
    .unwrap();
    assert!(
        table.contains(&format!("held at the end of 2025-05-31: {total} people")),
        "{table}"
    );

    // A facility filter gives the same figures; bad input is refused naming the field.
    let only = statistics(
        d,
        "cecot.db",
        &["--as-of", "2025-05-31", "--facility", "CECOT"],
    );
    assert_eq!(only["population"], s["population"]);
    assert_eq!(only["facility"], "CECOT");
    refused(d, "cecot.db", &["--facility", "NOPE"], "facility");
    refused(d, "cecot.db", &["--as-of", "2025-02-30"], "as_of");
    refused(d, "cecot.db", &["--months", "0"], "months");
    // Before the first admission nobody is held.
    let before = statistics(d, "cecot.db", &["--as-of", "2023-01-31"]);
    assert_eq!(before["population"]["total"], 0);
}

#[test]
fn mandela_releases_are_counted_and_the_released_were_held_before() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, "mandela.db", "mandela");
    let end = statistics(d, "mandela.db", &["--as-of", "2025-05-31", "--months", "1"]);
    breakdowns_add_up(&end);
    // Within the rules no order invokes a state of exception.
    assert_eq!(end["population"]["under_emergency"], 0);
    assert_eq!(end["population"]["by_emergency"], serde_json::json!([]));
    let released = flow_sum(&end, "releases");
    assert!(released > 0, "{}", end["flows"]);
    assert_eq!(
        count(
            &end["flows"][0]["ended_by_reason"],
            "detention_order_expired"
        ),
        released
    );
    // The scenario's one escape, half-way through the window, is an escape and not a release.
    assert_eq!(flow_sum(&end, "escapes"), 1, "{}", end["flows"]);
    assert_eq!(count(&end["flows"][0]["ended_by_reason"], "escape"), 1);
    // Mid-May, the people released (or escaped) in the rest of the month who had been
    // admitted by then were held (and the projections no longer say where); the population
    // moves from the one day to the other by exactly the admissions, releases and escapes in
    // between.
    let mid = statistics(d, "mandela.db", &["--as-of", "2025-05-15", "--months", "1"]);
    breakdowns_add_up(&mid);
    let released_after_mid = released - flow_sum(&mid, "releases");
    assert!(released_after_mid > 0);
    let escaped_after_mid = 1 - flow_sum(&mid, "escapes");
    let left_since = count(&mid["population"]["by_placement"], "left_since");
    assert!(left_since > 0 && left_since <= released_after_mid + escaped_after_mid);
    let admitted_after_mid = flow_sum(&end, "admissions") - flow_sum(&mid, "admissions");
    assert_eq!(
        mid["population"]["total"].as_u64().unwrap() + admitted_after_mid,
        end["population"]["total"].as_u64().unwrap() + released_after_mid + escaped_after_mid,
    );
}

const ESTATES: [&str; 2] = [
    r#"
[facility]
code = "CECOT"
name = "Centro de Confinamiento del Terrorismo"
country = "SV"

[[unit]]
code = "M1"
name = "Módulo 1"
cell_count = 1
cell_template = { area_m2 = 10, bunks = 4, cna = 2, operational_capacity = 4 }
"#,
    r#"
[facility]
code = "IZALCO"
name = "Centro Penal de Izalco"
country = "SV"

[[unit]]
code = "A"
name = "Sector A"
cell_count = 1
cell_template = { area_m2 = 40, bunks = 10, cna = 10, operational_capacity = 10 }
"#,
];

fn admit(reg: &Reg, given: &str, birth: &str) -> String {
    let mut v = json!({
        "facility": "CECOT",
        "person": {"given_names": given, "surnames": ["Hernández"], "birth_date": birth, "sex": "male", "nationalities": ["SV"]},
        "admitted_at": "2024-06-01T10:00:00.000Z",
        "legal_status": "remand",
        "orders": [{"kind": "pretrial_detention", "authority": "Juzgado Especializado A", "reference": "123-2024", "issued": "2024-05-30", "expires": "2030-11-30"}],
    });
    // A child in CECOT, which holds adults: recorded only with the rule named (and a finding).
    if birth >= "2007" {
        v["confirm"] = json!(["Rule 11(d)"]);
    }
    std::fs::write(reg.path("admission.json"), v.to_string()).unwrap();
    let r = reg.ok(&["admit", "--json", "admission.json"]);
    r.stdout.split_whitespace().nth(2).unwrap().to_string()
}

fn allocate(reg: &Reg, booking: &str) {
    reg.ok(&[
        "allocate",
        "--facility",
        "CECOT",
        "--booking",
        booking,
        "--cell",
        "M1-C01",
    ]);
}

fn stats(reg: &Reg, extra: &[&str]) -> Value {
    let mut args = vec!["report", "statistics", "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&reg.ok(&args).stdout).unwrap()
}

#[test]
fn people_who_left_after_the_day_were_held_on_it_and_each_flow_falls_in_its_month() {
    let reg = Reg::init(&[]);
    for (i, estate) in ESTATES.iter().enumerate() {
        let name = format!("estate{i}.toml");
        std::fs::write(reg.path(&name), estate).unwrap();
        reg.ok(&["estate", "load", &name]);
    }
    let [a, b, c, d] = ["Ana", "Beto", "Carlos", "Dario"].map(|n| admit(&reg, n, "1995-03-02"));
    // Turns 18 on 2025-02-28; never allocated.
    let _e = admit(&reg, "Ernesto", "2007-02-28");
    let g = admit(&reg, "Gustavo", "1995-03-02");
    for booking in [&a, &b, &c, &d] {
        allocate(&reg, booking);
    }
    reg.ok(&[
        "death",
        "record",
        "--facility",
        "CECOT",
        "--booking",
        &a,
        "--at",
        "2025-01-10T03:00:00.000Z",
        "--place",
        "Celda M1-C01",
        "--circumstances",
        "Encontrado sin vida",
    ]);
    let f = admit(&reg, "Fabio", "1995-03-02");
    allocate(&reg, &f);
    reg.ok(&[
        "transfer",
        "--facility",
        "CECOT",
        "--booking",
        &g,
        "--to",
        "IZALCO",
        "--authority",
        "DGCP",
        "--reference",
        "T-1",
        "--at",
        "2025-02-10T08:00:00.000Z",
    ]);
    reg.ok(&[
        "release",
        "--facility",
        "CECOT",
        "--booking",
        &b,
        "--reason",
        "bail",
        "--authority",
        "Juez",
        "--reference",
        "R-1",
        "--at",
        "2025-03-05T12:00:00.000Z",
    ]);

    // On 28 February: Beto (released in March) was held; Ana (dead in January) and Gustavo
    // (transferred on the 10th) were not at CECOT; Gustavo was at Izalco.
    let s = stats(
        &reg,
        &[
            "--facility",
            "CECOT",
            "--as-of",
            "2025-02-28",
            "--months",
            "3",
        ],
    );
    assert_eq!(breakdowns_add_up(&s), 5, "{s}");
    let p = &s["population"];
    let placement = &p["by_placement"];
    assert_eq!(
        [
            count(placement, "in_cell"),
            count(placement, "not_allocated"),
            count(placement, "left_since"),
            count(placement, "away"),
        ],
        [3, 1, 1, 0]
    );
    assert_eq!(count(&p["by_age_band"], "18-20"), 1);
    assert_eq!(count(&p["by_age_band"], "21-29"), 4);
    assert_eq!(count(&p["by_nationality"], "SV"), 5);
    // The cell holds three (Carlos, Dario, Fabio) for a CNA of two: over 100%, in 10 m².
    let occupancy = s["occupancy"].as_array().unwrap();
    assert_eq!(occupancy.len(), 2, "{occupancy:?}");
    let unit = &occupancy[1];
    assert_eq!(unit["unit"], "M1");
    assert_eq!(
        (unit["population"].as_u64(), unit["cna"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(unit["occupancy_pct"].as_f64(), Some(150.0));
    assert_eq!(unit["area_m2"].as_f64(), Some(10.0));
    assert_eq!(unit["m2_per_person"].as_f64(), Some(3.33));
    assert_eq!(occupancy[0]["occupancy_pct"].as_f64(), Some(250.0));
    // The flows: the death in January, the transfer out in February, the release (in March)
    // not yet.
    let months: Vec<&str> = s["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2024-12", "2025-01", "2025-02"]);
    let jan = &s["flows"][1];
    assert_eq!(
        (jan["deaths"].as_u64(), jan["releases"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(count(&jan["ended_by_reason"], "death"), 1);
    let feb = &s["flows"][2];
    assert_eq!(feb["transfers_out"].as_u64(), Some(1));
    assert_eq!(feb["transfers_in"].as_u64(), Some(0));
    assert_eq!(flow_sum(&s, "admissions"), 0);

    // The day before, Ernesto was 17.
    let s = stats(&reg, &["--facility", "CECOT", "--as-of", "2025-02-27"]);
    assert_eq!(count(&s["population"]["by_age_band"], "under 18"), 1);

    // Every facility: Gustavo is at Izalco, arrived by transfer.
    let s = stats(&reg, &["--as-of", "2025-02-28", "--months", "1"]);
    assert_eq!(breakdowns_add_up(&s), 6);
    assert_eq!(s["flows"][0]["transfers_in"].as_u64(), Some(1));
    assert_eq!(s["flows"][0]["admissions"].as_u64(), Some(0));
    let izalco = s["occupancy"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["facility"] == "IZALCO" && o["unit"].is_null())
        .unwrap();
    assert_eq!(izalco["population"].as_u64(), Some(1));

    // At the end of March Beto has been released on bail.
    let s = stats(
        &reg,
        &[
            "--facility",
            "CECOT",
            "--as-of",
            "2025-03-31",
            "--months",
            "1",
        ],
    );
    assert_eq!(breakdowns_add_up(&s), 4);
    assert_eq!(count(&s["population"]["by_placement"], "left_since"), 0);
    let mar = &s["flows"][0];
    assert_eq!(mar["releases"].as_u64(), Some(1));
    assert_eq!(count(&mar["ended_by_reason"], "bail"), 1);
    // Today, the cell and the people not allocated are what `habeas population` shows.
    let now = stats(&reg, &["--facility", "CECOT"]);
    assert_eq!(now["population"]["total"].as_u64(), Some(4));
    let units: Value = serde_json::from_str(
        &reg.ok(&["population", "--facility", "CECOT", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(units[0]["population"].as_u64(), Some(3));
}

#[test]
fn cecot_records_admissions_and_deaths_over_the_whole_period_since_opening() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::support::demo_in(d, "cecot.db", "cecot", "3000", "30");
    // Every month from the opening (February 2023) to the last day has admissions: no gap
    // between the last reported figure (June 2024) and the window.
    let s = statistics(d, "cecot.db", &["--as-of", "2025-05-31", "--months", "28"]);
    let flows = s["flows"].as_array().unwrap();
    assert_eq!(flows[0]["month"], "2023-02");
    for f in flows {
        assert!(f["admissions"].as_u64().unwrap() > 0, "{f}");
    }
    // Deaths in custody before the window too, each with its case.
    let deaths: Value = serde_json::from_slice(&run(
        d,
        &["--db", "cecot.db", "death", "list", "--format", "json"],
    ))
    .unwrap();
    let before: Vec<&str> = deaths
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["at"].as_str())
        .filter(|at| *at < "2025-05-02")
        .collect();
    assert!(!before.is_empty(), "{deaths}");
    assert!(before.iter().any(|at| *at < "2025-01-01"), "{before:?}");
    // The month's serious injuries are the injury cases that happened in it.
    let harms: Value = serde_json::from_slice(&run(
        d,
        &["--db", "cecot.db", "harm", "list", "--format", "json"],
    ))
    .unwrap();
    let in_may = harms
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "injury" && c["at"].as_str().unwrap().starts_with("2025-05"))
        .count() as u64;
    assert!(in_may > 0, "{harms}");
    assert_eq!(
        flows.last().unwrap()["serious_injuries"].as_u64(),
        Some(in_may),
        "{s}"
    );
}
