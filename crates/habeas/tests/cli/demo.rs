//! The demo scenarios: what they generate matches the scenario's parameters, the register
//! verifies, and the same seed gives the same register.

use crate::support::bin;
use serde_json::Value;

fn demo(dir: &std::path::Path, db: &str, extra: &[&str]) -> String {
    let out = bin()
        .current_dir(dir)
        .args(["--db", db, "demo", "--no-serve"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = bin().current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn root(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.split("root ").nth(1))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn the_cecot_scenario_matches_its_parameters_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        dir.path(),
        "cecot.db",
        &["--population", "1200", "--days", "4", "--seed", "11"],
    );
    // The 1,200 held in the window, and those who died in custody before it (admitted too).
    let number = |before: &str| -> u64 {
        let i = out.find(before).unwrap();
        out[..i].split_whitespace().last().unwrap().parse().unwrap()
    };
    let (admitted, deaths) = (number(" people admitted"), number(" deaths in custody"));
    assert!(
        admitted >= 1200 && admitted - 1200 <= deaths,
        "{admitted} {deaths}: {out}"
    );
    let cells = json(
        dir.path(),
        &[
            "--db",
            "cecot.db",
            "estate",
            "show",
            "--facility",
            "CECOT",
            "--format",
            "json",
        ],
    );
    let all = cells["cells"].as_array().unwrap();
    // El Salvador's time, UTC-6: the night of the sensors and the days of the kitchen.
    assert_eq!(cells["facility"]["utc_offset_minutes"], -360);
    // 8 pavilions of 32 cells, and 4 punishment cells (one slab, no window, no toilet).
    let (cells, punishment): (Vec<&Value>, Vec<&Value>) =
        all.iter().partition(|c| c["unit"] != "PC");
    assert_eq!(cells.len(), 256, "8 pavilions of 32 cells");
    assert_eq!(punishment.len(), 4);
    for c in &punishment {
        assert_eq!(
            (
                c["bunks"].as_u64(),
                c["window"].as_bool(),
                c["sanitation"].as_bool(),
                c["mattresses"].as_u64(),
                c["lighting"].as_str()
            ),
            (Some(1), Some(false), Some(false), Some(0), Some("cycle"))
        );
    }
    // One in a hundred of the 1,080 held when the register opened are in them: 3, 3, 2, 2.
    let punished: Vec<u64> = punishment
        .iter()
        .map(|c| c["population"].as_u64().unwrap())
        .collect();
    assert_eq!(punished, [3, 3, 2, 2]);
    for c in &cells {
        assert_eq!(
            (
                c["area_cm2"].as_u64(),
                c["bunks"].as_u64(),
                c["cna"].as_u64()
            ),
            (Some(1_000_000), Some(80), Some(24))
        );
        assert_eq!(
            (c["lighting"].as_str(), c["window"].as_bool()),
            (Some("constant"), Some(false))
        );
        // Bare metal bunks, and open toilets.
        assert_eq!(
            (c["mattresses"].as_u64(), c["toilet_private"].as_bool()),
            (Some(0), Some(false))
        );
    }
    // Cells are filled to their 80 bunks in turn: the other 1,190 people are 14 full cells
    // and one of 70, the rest empty; but for the one who escaped half-way through the window,
    // whose cell has one place free.
    assert_eq!(number(" escapes"), 1, "{out}");
    let mut populations: Vec<u64> = cells
        .iter()
        .map(|c| c["population"].as_u64().unwrap())
        .collect();
    populations.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(populations.iter().filter(|p| **p == 0).count(), 256 - 15);
    let filled: Vec<u64> = std::iter::repeat_n(80, 14).chain([70]).collect();
    let short: Vec<u64> = filled
        .iter()
        .zip(&populations)
        .map(|(full, held)| full - held)
        .collect();
    assert_eq!(
        (short.iter().sum::<u64>(), short.iter().max()),
        (1, Some(&1)),
        "{populations:?}"
    );
    let total: u64 = populations.iter().sum();
    assert_eq!(total, 1189);
    let units = json(
        dir.path(),
        &["--db", "cecot.db", "population", "--format", "json"],
    );
    let units = units.as_array().unwrap();
    assert_eq!(units.len(), 9);
    for u in units {
        if u["unit"] == "PC" {
            assert_eq!(u["population"].as_u64(), Some(10), "{u}");
            continue;
        }
        let (pop, cna, area) = (
            u["population"].as_u64().unwrap(),
            u["cna"].as_u64().unwrap(),
            u["area_cm2"].as_u64().unwrap(),
        );
        assert_eq!(
            (cna, area),
            (32 * 24, 32 * 1_000_000),
            "CNA and floor area per pavilion"
        );
        // Pavilion 1 holds the 15 cells filled (less the one who escaped); the others stand
        // empty.
        let expected = if u["unit"] == "M1" { 1189 } else { 0 };
        assert_eq!(pop, expected, "{u}");
    }
    // Every placement of untried with convicted people is an override by the direction.
    let file = json(
        dir.path(),
        &[
            "--db", "cecot.db", "person", "show", "300", "--format", "json",
        ],
    );
    assert_eq!(file["person"]["custodies"][0]["facility"], "CECOT");
    let v = bin()
        .current_dir(dir.path())
        .args(["--db", "cecot.db", "verify"])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    assert!(String::from_utf8_lossy(&v.stdout).contains(&root(&out)));
    // Online hearings of hundreds at a time, none with counsel; no family contact, only refusals.
    let c = rusqlite::Connection::open(dir.path().join("cecot.db")).unwrap();
    let (hearings, biggest, with_counsel): (i64, i64, i64) = c
        .query_row(
            "SELECT count(*), coalesce(max(people_heard), 0), count(counsel) FROM hearings",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(
        hearings >= 1 && biggest >= 50 && with_counsel == 0,
        "{hearings} hearings, biggest {biggest}, {with_counsel} with counsel"
    );
    let visits: i64 = c
        .query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(visits, 0);
    let lit_at_night: i64 = c
        .query_row(
            "SELECT count(*) FROM environment WHERE substr(at, 12, 2) = '08' AND lighting_on = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(lit_at_night > 0, "the sensors show cells lit in the night");
    // Hot and humid: every reading has a humidity, and a heat index over 41 °C by day.
    let (no_humidity, hottest): (i64, i64) = c
        .query_row(
            "SELECT count(*) FILTER (WHERE humidity_permille IS NULL), max(heat_index_dc) FROM environment",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(no_humidity == 0 && hottest > 410, "{no_humidity} {hottest}");
    // Two meals a day in every unit holding people, every day, water from the cells' basins.
    let (services, meals, dry): (i64, i64, i64) = c
        .query_row(
            "SELECT count(*), max(meals), count(*) FILTER (WHERE NOT water_available) FROM food_services",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (services, meals, dry),
        (2 * 4, 2, 0),
        "M1 and the punishment cells, 4 days"
    );
    let health: i64 = c
        .query_row("SELECT count(*) FROM health", [], |r| r.get(0))
        .unwrap();
    assert_eq!(health, 0, "no health visits are recorded at CECOT");
    drop(c);
    // A second run without --replace refuses to overwrite.
    let again = bin()
        .current_dir(dir.path())
        .args(["--db", "cecot.db", "demo"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));
}

#[test]
fn the_same_seed_gives_the_same_register() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--population", "400", "--days", "3", "--seed", "42"];
    let a = root(&demo(dir.path(), "a.db", &args));
    let b = root(&demo(dir.path(), "b.db", &args));
    assert_eq!(a, b);
    let c = root(&demo(
        dir.path(),
        "c.db",
        &["--population", "400", "--days", "3", "--seed", "43"],
    ));
    assert_ne!(a, c, "another seed, another register");
    let bad = bin()
        .current_dir(dir.path())
        .args(["--db", "d.db", "demo", "--population", "50000"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--population"));
}

/// `--replace` replaces a demo and nothing else, and never deletes an access log.
#[test]
fn replace_replaces_only_a_demo_and_keeps_its_access_log() {
    let dir = tempfile::tempdir().unwrap();
    // A real register: refused, and every file of it still there.
    let init = bin()
        .current_dir(dir.path())
        .args([
            "--db",
            "real.db",
            "init",
            "--origin",
            "ministerio.example/cecot",
        ])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let before: Vec<String> = files(dir.path());
    let key = std::fs::read(dir.path().join("real.db.key")).unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args([
            "--db",
            "real.db",
            "demo",
            "--no-serve",
            "--replace",
            "--population",
            "300",
            "--days",
            "2",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("ministerio.example/cecot") && err.contains("nothing was removed"),
        "{err}"
    );
    let after = files(dir.path());
    assert!(
        before.iter().all(|f| after.contains(f)),
        "nothing removed: {after:?}"
    );
    assert_eq!(std::fs::read(dir.path().join("real.db.key")).unwrap(), key);
    // A demo over a demo: the old one's access log is kept aside, not deleted.
    let args = ["--population", "300", "--days", "2", "--seed", "5"];
    demo(dir.path(), "d.db", &args);
    // A search: the access log records it (and so exists).
    let find = bin()
        .current_dir(dir.path())
        .args(["--db", "d.db", "person", "find", "jose"])
        .output()
        .unwrap();
    assert!(
        find.status.success(),
        "{}",
        String::from_utf8_lossy(&find.stderr)
    );
    let first_log = std::fs::read(dir.path().join("d.db.access")).unwrap();
    let mut again = args.to_vec();
    again.push("--replace");
    let out = demo(dir.path(), "d.db", &again);
    assert!(out.contains("d.db.access.replaced-1"), "{out}");
    assert_eq!(
        std::fs::read(dir.path().join("d.db.access.replaced-1")).unwrap(),
        first_log
    );
    assert!(dir.path().join("d.db.access.key.replaced-1").exists());
    assert!(dir.path().join("d.db").exists());
}

fn files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// At the scenario's full size every person admitted is placed in a cell and counted: the
/// generator once lost the indices of the admissions it had waited for (8 chunks of 500 people
/// admitted and never placed, counted or heard).
#[test]
fn at_40000_people_every_admitted_person_is_placed_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        dir.path(),
        "big.db",
        &["--population", "40000", "--days", "2", "--seed", "7"],
    );
    let admitted: u64 = out
        .split(" people admitted")
        .next()
        .and_then(|s| s.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let units = json(
        dir.path(),
        &["--db", "big.db", "population", "--format", "json"],
    );
    let in_cells: u64 = units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["population"].as_u64().unwrap())
        .sum();
    let stats = json(
        dir.path(),
        &["--db", "big.db", "report", "statistics", "--format", "json"],
    );
    let held = stats["population"]["total"].as_u64().unwrap();
    let c = rusqlite::Connection::open(dir.path().join("big.db")).unwrap();
    let (open, unplaced): (u64, u64) = c
        .query_row(
            "SELECT count(*), coalesce(sum(cell IS NULL), 0) FROM custodies WHERE ended IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(admitted >= 39_000, "{out}");
    assert_eq!(unplaced, 0, "admitted and never placed");
    assert_eq!((in_cells, held), (open, open), "{out}");
}

#[test]
fn the_mandela_scenario_stays_within_capacity_and_releases_on_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        dir.path(),
        "m.db",
        &[
            "--scenario",
            "mandela",
            "--population",
            "2000",
            "--days",
            "30",
            "--seed",
            "5",
        ],
    );
    let cells = json(
        dir.path(),
        &[
            "--db",
            "m.db",
            "estate",
            "show",
            "--facility",
            "CECOT",
            "--format",
            "json",
        ],
    );
    for c in cells["cells"].as_array().unwrap() {
        assert!(
            c["population"].as_u64() <= c["cna"].as_u64(),
            "within certified normal accommodation: {c}"
        );
        assert_eq!(c["lighting"], "cycle");
        // A mattress on every bunk; a screened toilet.
        assert_eq!(c["mattresses"], c["bunks"]);
        assert_eq!(c["toilet_private"], true);
    }
    let c = rusqlite::Connection::open(dir.path().join("m.db")).unwrap();
    let (hearings, alone_with_counsel): (i64, i64) = c
        .query_row("SELECT count(*), count(*) FILTER (WHERE people_heard = 1 AND counsel IS NOT NULL) FROM hearings", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert!(
        hearings > 0 && hearings == alone_with_counsel,
        "within the rules every hearing is individual with counsel"
    );
    let family: i64 = c
        .query_row(
            "SELECT count(*) FROM contacts WHERE party = 'family'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        family > 2000 * 3,
        "weekly family visits: {family} in 30 days"
    );
    let unanswered: i64 = c
        .query_row(
            "SELECT count(*) FROM complaints WHERE replied IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unanswered, 0, "every complaint is answered");
    let dark_at_night: i64 = c
        .query_row(
            "SELECT count(*) FROM environment WHERE substr(at, 12, 2) = '08' AND lighting_on = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dark_at_night, 0, "lights are off at night within the rules");
    let (services, fewest): (i64, i64) = c
        .query_row("SELECT count(*), min(meals) FROM food_services", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(
        services >= 30 && fewest == 3,
        "three meals a day: {services} {fewest}"
    );
    let (health, education, unreviewed): (i64, i64, i64) = c
        .query_row(
            "SELECT (SELECT count(*) FROM health), (SELECT count(*) FROM programme_attendance), (SELECT count(*) FROM incidents WHERE reviewed IS NULL)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(
        health > 0 && education > 0 && unreviewed == 0,
        "{health} health visits, {education} attendances, {unreviewed} unreviewed incidents"
    );
    drop(c);
    let released: u64 = out
        .split(" releases")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(released > 0, "orders expire and people are released: {out}");
}
