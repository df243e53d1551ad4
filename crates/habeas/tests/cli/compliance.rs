//! `habeas report compliance` on the demo scenarios: every condition the CECOT scenario plants
//! is found, with its rule and evidence; the scenario within the rules gives no finding.

use crate::support::bin;
use serde_json::Value;
use std::collections::BTreeSet;

fn run(dir: &std::path::Path, args: &[&str]) -> Vec<u8> {
    crate::support::run_in(dir, args)
}

fn generate(dir: &std::path::Path, db: &str, scenario: &str, population: &str, days: &str) {
    crate::support::demo_in(dir, db, scenario, population, days);
}

fn report(dir: &std::path::Path, db: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--db", db, "report", "compliance", "--format", "json"];
    // A period ends on its own day; otherwise the last day of the scenarios.
    if !extra.contains(&"--period") && !extra.contains(&"--as-of") {
        args.extend_from_slice(&["--as-of", "2025-05-31"]);
    }
    args.extend_from_slice(extra);
    serde_json::from_slice(&run(dir, &args)).unwrap()
}

#[test]
fn every_planted_cecot_condition_is_found_with_its_rule_and_evidence() {
    let dir = tempfile::tempdir().unwrap();
    // 80 days take in the transfer of 16 March 2025 (foreign nationals under the agreement).
    generate(dir.path(), "cecot.db", "cecot", "1500", "80");
    // A death in custody on 20 May whose case steps are never recorded.
    let held = report(dir.path(), "cecot.db", &[]);
    // The CSV has a row per finding, each naming the policy and its file's SHA-256.
    let csv = run(
        dir.path(),
        &[
            "--db",
            "cecot.db",
            "report",
            "compliance",
            "--as-of",
            "2025-05-31",
            "--format",
            "csv",
        ],
    );
    let mut rows = csv::Reader::from_reader(csv.as_slice());
    let header = rows.headers().unwrap().clone();
    assert_eq!(header.get(8), Some("policy"));
    assert_eq!(header.get(9), Some("policy_sha256"));
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), held["findings"].as_array().unwrap().len());
    let shipped = sha256(habeas_core::compliance::MANDELA_MINIMUM.as_bytes());
    for r in &rows {
        assert_eq!(r.get(8), Some("mandela-minimum"), "{r:?}");
        assert_eq!(r.get(9), Some(shipped.as_str()), "{r:?}");
    }
    let someone = held["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "regime.out_of_cell")
        .unwrap()["subject"]["booking"]
        .as_u64()
        .unwrap()
        .to_string();
    run(
        dir.path(),
        &[
            "--db",
            "cecot.db",
            "death",
            "record",
            "--facility",
            "CECOT",
            "--booking",
            &someone,
            "--at",
            "2025-05-20T03:00:00.000Z",
            "--place",
            "celda",
            "--circumstances",
            "hallado sin vida en la celda",
        ],
    );
    let r = report(dir.path(), "cecot.db", &[]);
    assert_eq!(r["policy"], "mandela-minimum");
    let findings = r["findings"].as_array().unwrap();
    let codes: BTreeSet<&str> = findings
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for planted in [
        "light.constant",
        "contact.family",
        "contact.legal",
        "legal.order_expired",
        "legal.pretrial_over_maximum",
        "hearing.mass",
        "regime.open_air",
        "hearing.none_in_interval",
        "hearing.no_counsel",
        "complaint.reply_overdue",
        "complaint.ill_treatment_not_referred",
        "regime.out_of_cell",
        "space.cpt",
        "space.icrc",
        "space.ecthr",
        "capacity.cna",
        "separation.untried_convicted",
        "consular.not_notified",
        "health.examination_overdue",
        "incident.force_not_reviewed",
        "death.step_overdue",
        "whereabouts.unanswered",
        "oversight.access_refused",
        "privacy.public_exposure",
        "contact.collective_refusal",
        "regime.no_activity",
        "notification.family_not_informed",
        "harm.designated_not_informed",
        "harm.not_reported",
        "escape.not_reported",
        "conditions.heat",
        "conditions.no_window",
        "conditions.bedding",
        "conditions.sanitation",
        "regime.no_sentence_plan",
        "oversight.request_unanswered",
        "oversight.request_answered_late",
        "conditions.heat_index",
        "conditions.light_at_night",
        "conditions.no_mattress",
        "conditions.open_toilet",
        "conditions.food",
    ] {
        assert!(codes.contains(planted), "{planted} not found in {codes:?}");
    }
    for f in findings {
        assert!(f["rule"].as_str().unwrap().contains("Mandela Rule"), "{f}");
        assert!(!f["detail"].as_str().unwrap().is_empty());
        if f["subject"]["kind"] != "facility" {
            assert!(!f["evidence"].as_array().unwrap().is_empty(), "{f}");
        }
    }
    // The evidence of a finding is a real entry of the register, about its subject.
    let expired = findings
        .iter()
        .find(|f| f["code"] == "legal.order_expired")
        .unwrap();
    // The order invoked the régimen de excepción: the finding stands, and says why.
    assert!(
        expired["detail"]
            .as_str()
            .unwrap()
            .contains("régimen de excepción (Decreto Legislativo 333): ICCPR 4(2) and HRC GC 29: habeas corpus and judicial review cannot be suspended"),
        "{expired}"
    );
    let booking = expired["subject"]["booking"].as_u64().unwrap();
    let idx = expired["evidence"][0].as_u64().unwrap();
    let out = run(dir.path(), &["--db", "cecot.db", "entry", &idx.to_string()]);
    let entry = String::from_utf8_lossy(&out);
    assert!(entry.contains(&booking.to_string()), "{entry}");

    // A facility filter keeps the same findings; an unknown facility is refused by name.
    let only = report(dir.path(), "cecot.db", &["--facility", "CECOT"]);
    assert_eq!(only["findings"].as_array().unwrap().len(), findings.len());
    let out = bin()
        .current_dir(dir.path())
        .args([
            "--db",
            "cecot.db",
            "report",
            "compliance",
            "--facility",
            "NOPE",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("facility"));

    // Released today, the person was still held on the day reported: the finding stays as of
    // then, and is gone as of a day after the release.
    run(
        dir.path(),
        &[
            "--db",
            "cecot.db",
            "release",
            "--facility",
            "CECOT",
            "--booking",
            &booking.to_string(),
            "--reason",
            "detention_order_expired",
            "--authority",
            "Juzgado de Vigilancia",
            "--reference",
            "R-1",
        ],
    );
    let expired_for = |r: &Value| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "legal.order_expired" && f["subject"]["booking"] == booking)
    };
    assert!(expired_for(&report(dir.path(), "cecot.db", &[])));
    // Any day after the release (which is recorded now) will do.
    let tomorrow = "2099-01-01";
    assert!(!expired_for(&report(
        dir.path(),
        "cecot.db",
        &["--as-of", tomorrow]
    )));
}

#[test]
fn the_scenario_within_the_rules_has_no_finding_and_bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "mandela.db", "mandela", "800", "30");
    let r = report(dir.path(), "mandela.db", &[]);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0, "{r}");
    // Every unit's food and water is on record, every day.
    assert_eq!(r["no_food_records"], serde_json::json!([]), "{r}");
    // Every day of the window, measured one by one, is within the rules too.
    let r = report(
        dir.path(),
        "mandela.db",
        &["--period", "2025-05-02..2025-05-31"],
    );
    assert_eq!(r["findings"].as_array().unwrap().len(), 0, "{r}");

    // A stricter policy finds what the default does not: every cell under 1,000 m² a person.
    let strict = habeas_core::compliance::MANDELA_MINIMUM
        .replace("cpt_m2 = 4.0", "cpt_m2 = 1000.0")
        .replace("name = \"mandela-minimum\"", "name = \"strict\"");
    std::fs::write(dir.path().join("strict.toml"), strict).unwrap();
    let r = report(dir.path(), "mandela.db", &["--policy", "strict.toml"]);
    assert_eq!(r["policy"], "strict");
    let findings = r["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["code"] == "space.cpt"), "{r}");

    for (args, field) in [
        (vec!["--as-of", "2025-02-30"], "as_of"),
        (vec!["--period", "2025-05-31..2025-05-01"], "period"),
        (vec!["--period", "2025-05-01"], "period"),
        (vec!["--policy", "bad.toml"], "space.ecthr_m2"),
    ] {
        std::fs::write(
            dir.path().join("bad.toml"),
            habeas_core::compliance::MANDELA_MINIMUM.replace("ecthr_m2 = 3.0", "ecthr_m2 = 0.0"),
        )
        .unwrap();
        let out = bin()
            .current_dir(dir.path())
            .args(["--db", "mandela.db", "report", "compliance"])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(field), "{err}");
    }
}

/// The SHA-256 of some bytes, in lowercase hex, computed here rather than by the binary.
fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A policy may only be stricter than the Mandela minimum unless it lists what it relaxes and
/// under which law; every report names the policy, the SHA-256 of its file and each relaxation.
#[test]
fn a_weakened_policy_is_refused_unless_it_names_what_it_relaxes() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "m.db", "mandela", "120", "2");
    let shipped = habeas_core::compliance::MANDELA_MINIMUM;
    // The default report names the shipped file by its SHA-256, relaxing nothing.
    let r = report(dir.path(), "m.db", &[]);
    assert_eq!(r["policy"], "mandela-minimum");
    assert_eq!(r["policy_sha256"], sha256(shipped.as_bytes()));
    assert_eq!(r["policy_relaxes"], serde_json::json!([]));
    let text = String::from_utf8(run(
        dir.path(),
        &[
            "--db",
            "m.db",
            "report",
            "compliance",
            "--as-of",
            "2025-05-31",
        ],
    ))
    .unwrap();
    assert!(
        text.contains(&format!(
            "policy mandela-minimum sha256 {}",
            sha256(shipped.as_bytes())
        )),
        "{text}"
    );

    // The case reported: family contact every 100,000 days and 0.1 m² a person, still called
    // the minimum. Refused, naming the first threshold relaxed.
    let weak = shipped
        .replace("family_days = 30", "family_days = 100000")
        .replace("icrc_m2 = 3.4", "icrc_m2 = 0.1")
        .replace("cpt_m2 = 4.0", "cpt_m2 = 0.1")
        .replace("ecthr_m2 = 3.0", "ecthr_m2 = 0.1");
    std::fs::write(dir.path().join("weak.toml"), &weak).unwrap();
    let refused = |file: &str| {
        let out = bin()
            .current_dir(dir.path())
            .args(["--db", "m.db", "report", "compliance", "--policy", file])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{file} accepted");
        assert!(out.stdout.is_empty());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused("weak.toml");
    assert!(
        err.contains("weak.toml: space.icrc_m2: 0.1 is less strict than the Mandela minimum of 3.4; list it in relaxes = [...] with a legal reference to use it"),
        "{err}"
    );
    assert!(err.contains("contact.family_days = 100000"), "{err}");

    // Listing each with its law, under the jurisdiction's own name: taken, and every report
    // says what it relaxes.
    let relaxes = "relaxes = [\n  { key = \"contact.family_days\", reference = \"Ley Penitenciaria art. 12\" },\n  { key = \"space.icrc_m2\", reference = \"Decreto 7 art. 3\" },\n  { key = \"space.cpt_m2\", reference = \"Decreto 7 art. 3\" },\n  { key = \"space.ecthr_m2\", reference = \"Decreto 7 art. 4\" },\n]\n";
    let listed = weak.replace(
        "name = \"mandela-minimum\"",
        &format!("name = \"ejemplo\"\n{relaxes}"),
    );
    std::fs::write(dir.path().join("listed.toml"), &listed).unwrap();
    let r = report(dir.path(), "m.db", &["--policy", "listed.toml"]);
    assert_eq!(r["policy"], "ejemplo");
    assert_eq!(r["policy_sha256"], sha256(listed.as_bytes()));
    assert_eq!(
        r["policy_relaxes"],
        serde_json::json!([
            {"key": "space.icrc_m2", "value": 0.1, "minimum": 3.4, "reference": "Decreto 7 art. 3"},
            {"key": "space.cpt_m2", "value": 0.1, "minimum": 4.0, "reference": "Decreto 7 art. 3"},
            {"key": "space.ecthr_m2", "value": 0.1, "minimum": 3.0, "reference": "Decreto 7 art. 4"},
            {"key": "contact.family_days", "value": 100000, "minimum": 30, "reference": "Ley Penitenciaria art. 12"},
        ])
    );
    let text = String::from_utf8(run(
        dir.path(),
        &[
            "--db",
            "m.db",
            "report",
            "compliance",
            "--as-of",
            "2025-05-31",
            "--policy",
            "listed.toml",
        ],
    ))
    .unwrap();
    assert!(
        text.contains(&format!(
            "policy ejemplo sha256 {}",
            sha256(listed.as_bytes())
        )),
        "{text}"
    );
    assert!(
        text.contains("RELAXED contact.family_days: 100000 (Mandela minimum 30) under Ley Penitenciaria art. 12"),
        "{text}"
    );
    let page = String::from_utf8(run(
        dir.path(),
        &[
            "--db",
            "m.db",
            "report",
            "compliance",
            "--as-of",
            "2025-05-31",
            "--policy",
            "listed.toml",
            "--format",
            "html",
        ],
    ))
    .unwrap();
    assert!(
        page.contains("Thresholds relaxed below the Mandela minimum"),
        "{page}"
    );
    assert!(page.contains("<tr><td>contact.family_days</td><td class=\"n\">100000</td><td class=\"n\">30</td><td>Ley Penitenciaria art. 12</td></tr>"), "{page}");
    assert!(page.contains(&sha256(listed.as_bytes())));

    // The same relaxations under the minimum's name are refused by the name.
    std::fs::write(
        dir.path().join("claimed.toml"),
        weak.replace(
            "name = \"mandela-minimum\"",
            &format!("name = \"mandela-minimum\"\n{relaxes}"),
        ),
    )
    .unwrap();
    let err = refused("claimed.toml");
    assert!(
        err.contains(
            "claimed.toml: name: \"mandela-minimum\" is the name of the shipped Mandela minimum"
        ),
        "{err}"
    );
}

#[test]
fn a_period_gives_each_breach_its_first_and_last_day_and_a_page() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "cecot.db", "cecot", "400", "20");
    let r = report(
        dir.path(),
        "cecot.db",
        &["--period", "2025-05-12..2025-05-31"],
    );
    assert_eq!(r["period"], serde_json::json!(["2025-05-12", "2025-05-31"]));
    let findings = r["findings"].as_array().unwrap();
    // Thirty minutes out every day: one ongoing finding per person for the whole period, not
    // one per day.
    let out: Vec<&Value> = findings
        .iter()
        .filter(|f| f["code"] == "regime.out_of_cell")
        .collect();
    assert!(!out.is_empty());
    let people: BTreeSet<u64> = out
        .iter()
        .map(|f| f["subject"]["booking"].as_u64().unwrap())
        .collect();
    assert_eq!(people.len(), out.len(), "one run per person");
    let first = out
        .iter()
        .find(|f| f["since"] == "2025-05-12")
        .expect("someone held from the first day");
    assert!(first["until"].is_null(), "{first}");
    assert!(
        first["detail"]
            .as_str()
            .unwrap()
            .contains("each of 20 days"),
        "{first}"
    );
    // The same report as a page: every finding a row, the text escaped.
    let page = run(
        dir.path(),
        &[
            "--db",
            "cecot.db",
            "report",
            "compliance",
            "--period",
            "2025-05-12..2025-05-31",
            "--format",
            "html",
        ],
    );
    let page = String::from_utf8(page).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        page.matches("<tr><td class=").count(),
        findings.len() + {
            let codes: BTreeSet<(&str, &str)> = findings
                .iter()
                .map(|f| (f["severity"].as_str().unwrap(), f["code"].as_str().unwrap()))
                .collect();
            codes.len()
        }
    );
    assert!(page.contains("regime.out_of_cell"));
    assert!(!page.contains("<script"));
}

/// Days before a register's records begin are days without records, listed as missing
/// evidence rather than found as days in the cell; a day recorded in the cell all day (a roll
/// count and no movement out) is still found.
#[test]
fn days_without_records_are_listed_not_found_and_a_day_recorded_in_the_cell_is_found() {
    let dir = tempfile::tempdir().unwrap();
    // The records of 30 days begin on 2025-05-02; everyone held then was admitted before.
    generate(dir.path(), "m.db", "mandela", "300", "30");
    let regime = |r: &Value| -> Vec<Value> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                let code = f["code"].as_str().unwrap();
                code.starts_with("regime.") || code.starts_with("solitary.")
            })
            .cloned()
            .collect()
    };
    // Inside the records: no regime finding, and no day without records (a period ending
    // before the scenario's first month is out has contact findings as of its end, as the
    // scenario's first visits are yet to come).
    for period in [
        "2025-05-02..2025-05-31",
        "2025-05-10..2025-05-20",
        "2025-05-02..2025-05-02",
    ] {
        let r = report(dir.path(), "m.db", &["--period", period]);
        assert_eq!(regime(&r), Vec::<Value>::new(), "{period}");
        assert_eq!(r["no_records"], serde_json::json!([]), "{period}");
    }
    let r = report(dir.path(), "m.db", &["--period", "2025-05-02..2025-05-31"]);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0, "{r}");
    // Two days before them: still no finding, and the two days listed for who was held.
    let r = report(dir.path(), "m.db", &["--period", "2025-04-30..2025-05-31"]);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0, "{r}");
    let gaps = r["no_records"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let gap = &gaps[0];
    assert_eq!(gap["facility"], "CECOT");
    assert_eq!(
        (gap["from"].as_str(), gap["to"].as_str()),
        (Some("2025-04-30"), Some("2025-05-01"))
    );
    assert_eq!(gap["days"], 2);
    let bookings: Vec<u64> = gap["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect();
    assert!(bookings.len() > 200, "{}", bookings.len());
    assert_eq!(gap["people"], bookings.len());
    assert!(bookings.windows(2).all(|w| w[0] < w[1]));
    // The text and the page say so apart from the findings.
    let args = [
        "--db",
        "m.db",
        "report",
        "compliance",
        "--period",
        "2025-04-30..2025-05-31",
    ];
    let text = String::from_utf8(run(dir.path(), &args)).unwrap();
    assert!(
        text.contains("days without records (missing evidence, not findings"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "NO RECORDS CECOT 2025-04-30..2025-05-01 (2 days): {} people, bookings {} ",
            bookings.len(),
            bookings[0]
        )),
        "{text}"
    );
    let mut html = args.to_vec();
    html.extend(["--format", "html"]);
    let page = String::from_utf8(run(dir.path(), &html)).unwrap();
    assert!(
        page.contains("Days without records: missing evidence, not findings"),
        "{page}"
    );
    assert!(
        page.contains(&format!("<td class=\"n\">{}</td>", bookings.len())),
        "{page}"
    );

    // A roll count of a cell on 2025-04-30 records its people in it; with no movement that
    // day, they spent it in the cell: found, resting on the count; 2025-05-01 stays unrecorded.
    let counts = String::from_utf8(run(
        dir.path(),
        &[
            "--db",
            "m.db",
            "count",
            "report",
            "--facility",
            "CECOT",
            "--date",
            "2025-05-31",
        ],
    ))
    .unwrap();
    let (cell, people) = counts
        .lines()
        .find_map(|l| {
            // `#IDX TIME CELL counted N, recorded N`
            let w: Vec<&str> = l.split_whitespace().collect();
            let n: u64 = w.get(6)?.parse().ok()?;
            (w.get(3) == Some(&"counted") && n > 0).then(|| (w[2].to_owned(), n))
        })
        .unwrap_or_else(|| unreachable!("no cell counted: {counts}"));
    let out = String::from_utf8(run(
        dir.path(),
        &[
            "--db",
            "m.db",
            "count",
            "record",
            "--facility",
            "CECOT",
            "--at",
            "2025-04-30T21:00:00.000Z",
            &format!("{cell}={people}"),
        ],
    ))
    .unwrap();
    let count_entry: u64 = out.split_whitespace().nth(4).unwrap().parse().unwrap();
    let r = report(dir.path(), "m.db", &["--period", "2025-04-30..2025-05-31"]);
    let found = regime(&r);
    let codes: BTreeSet<&str> = found.iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        BTreeSet::from(["regime.open_air", "regime.out_of_cell"]),
        "{found:?}"
    );
    for f in &found {
        assert_eq!(f["since"], "2025-04-30", "{f}");
        assert_eq!(f["until"], "2025-04-30", "{f}");
        assert_eq!(f["evidence"], serde_json::json!([count_entry]), "{f}");
        let b = f["subject"]["booking"].as_u64().unwrap();
        assert!(bookings.contains(&b), "{b}");
    }
    let found_people: BTreeSet<u64> = found
        .iter()
        .map(|f| f["subject"]["booking"].as_u64().unwrap())
        .collect();
    assert!(!found_people.is_empty() && found_people.len() as u64 <= people);
    // Those people's 2025-04-30 is no longer without records; their 2025-05-01 still is.
    let listed: Vec<(String, String, Vec<u64>)> = r["no_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["from"].as_str().unwrap().to_owned(),
                g["to"].as_str().unwrap().to_owned(),
                g["bookings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_u64().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for (from, to, who) in &listed {
        if from == "2025-05-01" {
            assert_eq!(to, "2025-05-01");
            assert_eq!(who.iter().copied().collect::<BTreeSet<u64>>(), found_people);
        } else {
            assert_eq!((from.as_str(), to.as_str()), ("2025-04-30", "2025-05-01"));
            assert_eq!(who.len() + found_people.len(), bookings.len());
            assert!(who.iter().all(|b| !found_people.contains(b)));
        }
    }
}

/// Injuries recorded at admission are found until a health record of an injury names where it
/// was referred (read from the entries themselves, not the projections).
#[test]
fn injuries_at_admission_are_found_until_referred() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "i.db", "cecot", "60", "2");
    std::fs::write(
        dir.path().join("adm.json"),
        r#"{"facility":"CECOT","person":{"given_names":"Lesionado","surnames":["Pérez"],"birth_date":"1990-01-01","sex":"male","nationalities":["SV"]},
 "admitted_at":"2025-05-20T10:00:00.000Z","legal_status":"remand","injuries":["hematoma en la cara","corte en el brazo"],
 "orders":[{"kind":"pretrial_detention","authority":"Juzgado","reference":"1-2025","issued":"2025-05-19","expires":"2025-11-19"}],
 "arrest":{"at":"2025-05-18T06:00:00.000Z","place":"San Salvador","authority":"PNC"}}"#,
    )
    .unwrap();
    let out = String::from_utf8(run(
        dir.path(),
        &["--db", "i.db", "admit", "--json", "adm.json"],
    ))
    .unwrap();
    let booking: u64 = out.split_whitespace().nth(2).unwrap().parse().unwrap();
    let injuries = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["code"] == "health.injuries_not_referred" && f["subject"]["booking"] == booking
            })
            .map(|f| f["detail"].as_str().unwrap().to_owned())
            .collect()
    };
    let found = injuries(&report(dir.path(), "i.db", &[]));
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("2 injuries"), "{found:?}");
    // An injury record without a referral changes nothing; one naming it ends the finding.
    for (name, referral) in [("h1.json", ""), ("h2.json", r#","referred_to":"Fiscalía""#)] {
        std::fs::write(
            dir.path().join(name),
            format!(r#"{{"record":"health","facility":"CECOT","booking":{booking},"at":"2025-05-20T12:00:00.000Z","kind":"injury","notes":"lesiones documentadas"{referral}}}"#),
        )
        .unwrap();
        run(dir.path(), &["--db", "i.db", "record", "--json", name]);
        let left = injuries(&report(dir.path(), "i.db", &[]));
        assert_eq!(left.is_empty(), !referral.is_empty(), "{name}: {left:?}");
    }
}
