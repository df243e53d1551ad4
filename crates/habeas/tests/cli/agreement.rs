//! `habeas report agreement` on the CECOT scenario: the 261 people flown in under the agreement
//! with the United States, their person-days and the amount due at its rate, the references
//! recorded and the findings about them; bad input names the field and logs nothing.

use crate::support::{bin, run_in};
use serde_json::Value;

fn access_log_size(dir: &std::path::Path) -> u64 {
    use habeas_register::store::Store as _;
    habeas_store_sqlite::SqliteStore::open(&dir.join("a.db.access"))
        .unwrap()
        .size()
        .unwrap()
}

fn json(dir: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["--db", "a.db", "report", "agreement", "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_slice(&run_in(dir, &args)).unwrap()
}

#[test]
fn the_account_of_the_cecot_agreement_names_everyone_sent_and_what_is_due() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 80 days take in the transfer of 16 March 2025; 1,500 people are enough for all 261.
    crate::support::demo_in(d, "a.db", "cecot", "1500", "80");

    // Without --id: the agreements, none of them naming anyone.
    let list = json(d, &[]);
    let agreements = list["agreements"].as_array().unwrap();
    assert_eq!(agreements.len(), 1, "{list}");
    let a = &agreements[0];
    assert_eq!(
        (a["facility"].as_str(), a["counterpart"].as_str()),
        (Some("CECOT"), Some("US"))
    );
    assert_eq!(a["people"], 261);
    let rate = a["per_capita_rate"].as_u64().unwrap();
    let id = a["id"].as_u64().unwrap().to_string();

    // The whole of it to the register's last day (31 May 2025): the 261, each day × the rate.
    let r = json(d, &["--id", &id]);
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (Some("2025-03-14"), Some("2025-05-31"))
    );
    let people = r["people"].as_array().unwrap();
    assert_eq!(people.len(), 261);
    let venezuelans = people
        .iter()
        .filter(|p| p["nationalities"][0] == "VE")
        .count();
    assert_eq!(venezuelans, 238);
    let days: u64 = people
        .iter()
        .map(|p| p["person_days"].as_u64().unwrap())
        .sum();
    assert_eq!(r["person_days"].as_u64(), Some(days));
    assert_eq!(r["amount_due"].as_u64(), Some(days * rate));
    assert_eq!(r["currency"], "USD");
    for p in people {
        let n = p["person_days"].as_u64().unwrap();
        // Arrived on 16 March: at most the 77 days to 31 May.
        assert!((1..=77).contains(&n), "{p}");
        assert_eq!(p["amount_due"].as_u64(), Some(n * rate), "{p}");
        let c = &p["custodies"][0];
        assert_eq!(c["began_by"], "admitted");
        assert!(c["began_at"].as_str().unwrap().starts_with("2025-03-16"));
        // The order under the agreement is recorded for each.
        assert_eq!(c["references"][0]["kind"], "order");
        assert!(
            c["references"][0]["reference"]
                .as_str()
                .unwrap()
                .starts_with(&format!("ACU-2025-{id}-")),
            "{c}"
        );
    }
    // Everyone held the whole time counts 77 days.
    assert!(people.iter().any(|p| p["person_days"] == 77));
    // Findings about them, from the compliance engine: never heard by a judge here, the
    // consulate never told.
    let codes: std::collections::BTreeSet<&str> = people
        .iter()
        .flat_map(|p| p["findings"].as_array().unwrap())
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!codes.is_empty(), "{r}");
    assert!(codes.contains("consular.not_notified"), "{codes:?}");
    assert_eq!(r["policy"], "mandela-minimum");

    // March: the agreement's days from the 14th; everyone arrived on the 16th.
    let logged = access_log_size(d);
    let march = json(d, &["--id", &id, "--period", "2025-03-01..2025-03-31"]);
    assert_eq!(access_log_size(d), logged + 1, "the account is logged");
    assert_eq!(march["counted_from"], "2025-03-14");
    let people = march["people"].as_array().unwrap();
    assert_eq!(people.len(), 261);
    assert!(people
        .iter()
        .all(|p| p["person_days"].as_u64().unwrap() <= 16));
    let days: u64 = people
        .iter()
        .map(|p| p["person_days"].as_u64().unwrap())
        .sum();
    assert_eq!(march["amount_due"].as_u64(), Some(days * rate));

    // CSV: one row per person, with person-days, amount and findings.
    let text = String::from_utf8(run_in(
        d,
        &[
            "--db",
            "a.db",
            "report",
            "agreement",
            "--id",
            &id,
            "--format",
            "csv",
        ],
    ))
    .unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let heads = rows.headers().unwrap().clone();
    let col = |name: &str| heads.iter().position(|h| h == name).unwrap();
    let (days_at, amount_at, findings_at) =
        (col("person_days"), col("amount_due"), col("findings"));
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 261);
    let mut with_findings = 0;
    for rec in &records {
        let n: u64 = rec[days_at].parse().unwrap();
        assert_eq!(rec[amount_at].parse::<u64>().unwrap(), n * rate);
        with_findings += usize::from(rec[findings_at].parse::<u64>().unwrap() > 0);
    }
    assert!(with_findings > 0);

    // The table says it in words.
    let table = String::from_utf8(run_in(
        d,
        &["--db", "a.db", "report", "agreement", "--id", &id],
    ))
    .unwrap();
    assert!(table.contains("261 people held under it"), "{table}");
    assert!(table.contains("findings as of 2025-05-31"), "{table}");

    // Bad input names the field and logs nothing.
    let logged = access_log_size(d);
    for (args, field) in [
        (vec!["--id", "1"], "id:"),
        (
            vec!["--id", &id, "--period", "2025-03-31..2025-03-01"],
            "period:",
        ),
        (vec!["--id", &id, "--period", "March"], "period:"),
        (
            vec!["--id", &id, "--period", "2024-01-01..2024-12-31"],
            "period:",
        ),
    ] {
        let mut all = vec!["--db", "a.db", "report", "agreement"];
        all.extend(args.iter().copied());
        let out = bin().current_dir(d).args(&all).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{all:?}");
        assert!(stderr.contains(field), "{all:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{all:?}");
    }
    assert_eq!(access_log_size(d), logged, "nothing logged for a refusal");
}
