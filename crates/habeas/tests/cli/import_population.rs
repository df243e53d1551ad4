//! `habeas import population`: a legacy population taken in from CSV or JSON Lines, checked
//! whole first, with its real dates and where each row came from, and never twice.

use crate::support::{bin, Reg, Run};
use serde_json::Value;

const ESTATE: &str = r#"
[facility]
code = "CECOT"
name = "Centro de Confinamiento del Terrorismo"
country = "SV"

[[unit]]
code = "M1"
name = "Módulo 1"
cell_count = 4
cell_template = { area_m2 = 100, bunks = 80, cna = 40, operational_capacity = 2000 }
"#;

const HEADER: &str = "ref,given_names,surname_1,surname_2,birth_date,sex,nationalities,document_kind,document_number,legal_status,admitted_at,order_kind,order_authority,order_reference,order_issued,order_expires,cell";

fn person(n: u32) -> String {
    format!(
        "EXP-{n:05},Persona {n},Apellido{},Segundo,{}-0{}-1{},male,SV,DUI,{:08}-{},remand,2023-03-14,pretrial_detention,Juzgado Especializado A,{n}-2023,2023-03-13,2030-03-13,M1-C0{}",
        n % 97,
        1970 + n % 30,
        1 + n % 9,
        n % 10,
        n,
        n % 10,
        1 + n % 4
    )
}

fn facility() -> Reg {
    let reg = Reg::init(&[]);
    std::fs::write(reg.path("estate.toml"), ESTATE).unwrap();
    reg.ok(&["estate", "load", "estate.toml"]);
    reg
}

fn write(reg: &Reg, name: &str, text: &str) -> String {
    std::fs::write(reg.path(name), text).unwrap();
    name.to_owned()
}

fn report(reg: &Reg, name: &str) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(reg.path(name)).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["file", "line", "column", "ref", "outcome", "reason"]
    );
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn db(reg: &Reg) -> rusqlite::Connection {
    rusqlite::Connection::open(reg.db()).unwrap()
}

fn count(reg: &Reg, sql: &str) -> i64 {
    db(reg).query_row(sql, [], |r| r.get(0)).unwrap()
}

fn entry(reg: &Reg, index: i64) -> Value {
    let r = reg.ok(&["entry", &index.to_string()]);
    serde_json::from_str(&r.stdout).unwrap()
}

#[test]
fn a_bad_row_writes_nothing_and_the_report_names_each_line_column_and_reason() {
    let reg = facility();
    let mut rows = vec![HEADER.to_owned(), person(1), person(2)];
    // Line 4: a date that does not exist. Line 5: the document of line 2. Line 6: a cell that
    // is not there. Line 7: a sex the file's words do not give.
    rows.push(person(3).replace("1973-04-13", "1973-13-13"));
    rows.push(person(4).replace("00000004-4", "00000001-1"));
    rows.push(person(5).replace("M1-C02", "M9-C99"));
    rows.push(person(6).replace(",male,", ",varón,"));
    let file = write(&reg, "people.csv", &(rows.join("\n") + "\n"));
    let before = reg.size();
    let r = reg.run(&["import", "population", "--facility", "CECOT", &file]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("nothing was written: 4 errors"),
        "{}",
        r.stderr
    );
    assert_eq!(reg.size(), before, "a file with errors wrote something");
    let rep = report(&reg, "people.csv.report.csv");
    let errors: Vec<(&str, &str, &str)> = rep
        .iter()
        .filter(|r| r[4] == "error")
        .map(|r| (r[1].as_str(), r[2].as_str(), r[3].as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            ("4", "birth_date", "EXP-00003"),
            ("5", "document_number", "EXP-00004"),
            ("6", "cell", "EXP-00005"),
            ("7", "sex", "EXP-00006"),
        ],
        "{rep:?}"
    );
    let reason = |line: &str| rep.iter().find(|r| r[1] == line).unwrap()[5].clone();
    assert!(reason("4").contains("not a date"), "{}", reason("4"));
    assert!(reason("5").contains("on line 2 too"), "{}", reason("5"));
    assert!(reason("6").contains("no cell M9-C99"), "{}", reason("6"));

    // --accept-valid writes the two good rows and keeps the report.
    let r = reg.ok(&[
        "import",
        "population",
        "--facility",
        "CECOT",
        &file,
        "--accept-valid",
    ]);
    assert!(r.stderr.contains("2 admitted in"), "{}", r.stderr);
    assert!(r.stderr.contains("2 placed in"), "{}", r.stderr);
    assert_eq!(count(&reg, "SELECT count(*) FROM imported_admissions"), 2);
    assert_eq!(
        report(&reg, "people.csv.report.csv")
            .iter()
            .filter(|r| r[4] == "error")
            .count(),
        4
    );
    assert!(reg.verify().code == 0);
}

#[test]
fn an_imported_admission_keeps_its_real_date_and_says_where_it_came_from() {
    let reg = facility();
    let file = write(&reg, "sigespe.csv", &format!("{HEADER}\n{}\n", person(7)));
    reg.ok(&["import", "population", "--facility", "CECOT", &file]);
    let (booking, line, sha): (i64, i64, String) = db(&reg)
        .query_row(
            "SELECT booking, line, sha256 FROM imported_admissions WHERE ref = 'EXP-00007'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(line, 2);
    use sha2::Digest as _;
    let bytes = std::fs::read(reg.path("sigespe.csv")).unwrap();
    assert_eq!(sha, hex(&sha2::Sha256::digest(&bytes)));
    let e = entry(&reg, booking);
    assert_eq!(e["kind"], "custody.admitted");
    assert_eq!(e["payload"]["admitted_at"], "2023-03-14T00:00:00.000Z");
    assert_eq!(e["payload"]["transcribed_from"], "sigespe.csv, line 2");
    assert_eq!(e["payload"]["imported"]["ref"], "EXP-00007");
    assert_eq!(e["payload"]["imported"]["sha256"], sha);
    // Recorded now, happened in 2023: the entry's own time is the recording.
    assert!(e["time"].as_str().unwrap() > "2026", "{}", e["time"]);
    // The placement keeps the admission's date too.
    let placed: String = db(&reg)
        .query_row(
            "SELECT json_extract(CAST(l.bytes AS TEXT), '$.payload.at') FROM register_log l
             WHERE json_extract(CAST(l.bytes AS TEXT), '$.kind') = 'custody.allocated'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(placed, "2023-03-14T00:00:00.000Z");
    // Transcribed: no late registration is measured against it.
    let recorded: Option<String> = db(&reg)
        .query_row(
            "SELECT recorded_at FROM custodies WHERE booking = ?1",
            [booking],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recorded, None);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn a_mapping_file_takes_the_earlier_registers_own_columns_values_and_dates() {
    let reg = facility();
    let mapping = write(
        &reg,
        "map.toml",
        r#"
[columns]
NUM_EXPEDIENTE = "ref"
NOMBRES = "given_names"
PRIMER_APELLIDO = "surname_1"
FECHA_NACIMIENTO = "birth_date"
SEXO = "sex"
NACIONALIDAD = "nationalities"
DUI = "document_number"
TIPO_DOC = "document_kind"
SITUACION = "legal_status"
FECHA_INGRESO = "admitted_at"
TIPO_ORDEN = "order_kind"
JUZGADO = "order_authority"
CAUSA = "order_reference"
FECHA_ORDEN = "order_issued"

[values.sex]
M = "male"
F = "female"

[values.legal_status]
PROCESADO = "remand"
CONDENADO = "sentenced"

[values.order_kind]
DETENCION = "pretrial_detention"
CONDENA = "sentence"

[dates]
order = "dmy"
"#,
    );
    let file = write(
        &reg,
        "legado.csv",
        "NUM_EXPEDIENTE,NOMBRES,PRIMER_APELLIDO,FECHA_NACIMIENTO,SEXO,NACIONALIDAD,TIPO_DOC,DUI,SITUACION,FECHA_INGRESO,TIPO_ORDEN,JUZGADO,CAUSA,FECHA_ORDEN,OBSERVACIONES\n\
         101,Rosa,Martínez,02/05/1988,F,SV,DUI,01234567-8,CONDENADO,14/03/2023,CONDENA,Tribunal 3,55-2022,01/03/2023,ninguna\n",
    );
    let r = reg.ok(&[
        "import",
        "population",
        "--facility",
        "CECOT",
        &file,
        "--mapping",
        &mapping,
    ]);
    assert!(r.stderr.contains("1 admitted"), "{}", r.stderr);
    let booking: i64 = count(&reg, "SELECT booking FROM imported_admissions");
    let e = entry(&reg, booking);
    assert_eq!(e["payload"]["person"]["sex"], "female");
    assert_eq!(e["payload"]["person"]["birth_date"], "1988-05-02");
    assert_eq!(e["payload"]["legal_status"], "sentenced");
    assert_eq!(e["payload"]["orders"][0]["kind"], "sentence");
    assert_eq!(e["payload"]["orders"][0]["issued"], "2023-03-01");
    assert_eq!(e["payload"]["admitted_at"], "2023-03-14T00:00:00.000Z");
    // The column nobody mapped is named once in the report, as ignored.
    let rep = report(&reg, "legado.csv.report.csv");
    assert!(
        rep.iter()
            .any(|r| r[1] == "1" && r[2] == "OBSERVACIONES" && r[4] == "warning"),
        "{rep:?}"
    );
    // A mapping that names a column Habeas does not take is refused, naming it.
    let bad = write(&reg, "bad.toml", "[columns]\nX = \"nombre\"\n");
    let r = reg.run(&[
        "import",
        "population",
        "--facility",
        "CECOT",
        &file,
        "--mapping",
        &bad,
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("\"nombre\" is not a column"),
        "{}",
        r.stderr
    );
}

#[test]
fn json_lines_orders_and_placements_files_and_the_template() {
    let reg = facility();
    // The template's example row is one the import takes.
    let t = reg.ok(&["import", "population", "--template"]);
    let template = write(&reg, "template.csv", &t.stdout);
    let r = reg.ok(&["import", "population", "--facility", "CECOT", &template]);
    assert!(r.stderr.contains("1 admitted in"), "{}", r.stderr);
    assert!(r.stderr.contains("1 placed in"), "{}", r.stderr);
    for which in ["orders", "placements", "mapping"] {
        assert!(!reg
            .ok(&["import", "population", "--template", which])
            .stdout
            .is_empty());
    }

    let people = write(
        &reg,
        "people.jsonl",
        concat!(
            r#"{"ref": "J1", "given_names": "Ana", "surname_1": "Gómez", "birth_date": "1990-01-02", "sex": "female", "nationalities": ["SV", "GT"], "document_kind": "DUI", "document_number": "99999999-1", "legal_status": "remand", "admitted_at": "2024-01-05T10:00:00Z"}"#,
            "\n",
            r#"{"ref": "J2", "given_names": "Berta", "surname_1": "Díaz", "birth_date": "1991-01-02", "sex": "female", "nationalities": "SV", "legal_status": "sentenced", "admitted_at": "2024-02-05"}"#,
            "\n\n",
            r#"{"ref": "J3", "given_names": 7}"#,
            "\n",
        ),
    );
    let orders = write(
        &reg,
        "orders.csv",
        "ref,order_kind,order_authority,order_reference,order_issued,order_expires\n\
         J1,pretrial_detention,Juzgado 1,1-2024,2024-01-04,2030-01-01\n\
         J2,sentence,Tribunal 2,2-2023,2023-12-01,\n\
         J2,other,Tribunal 2,2b-2023,2023-12-01,\n",
    );
    let placements = write(
        &reg,
        "cells.csv",
        "ref,cell,placed_at\nJ1,M1-C03,2024-01-06\nJ2,M1-C04,\n",
    );
    let r = reg.run(&[
        "import",
        "population",
        "--facility",
        "CECOT",
        &people,
        "--orders",
        &orders,
        "--placements",
        &placements,
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let rep = report(&reg, "people.jsonl.report.csv");
    assert!(
        rep.iter()
            .any(|r| r[1] == "4" && r[3] == "J3" && r[4] == "error"),
        "{rep:?}"
    );
    reg.ok(&[
        "import",
        "population",
        "--facility",
        "CECOT",
        &people,
        "--orders",
        &orders,
        "--placements",
        &placements,
        "--accept-valid",
    ]);
    let conn = db(&reg);
    let (booking, cell): (i64, String) = conn
        .query_row(
            "SELECT i.booking, c.cell FROM imported_admissions i JOIN custodies c USING (booking) WHERE ref = 'J2'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(cell, "M1-C04");
    let e = entry(&reg, booking);
    assert_eq!(e["payload"]["orders"].as_array().unwrap().len(), 2);
    let j1: i64 = count(
        &reg,
        "SELECT booking FROM imported_admissions WHERE ref = 'J1'",
    );
    assert_eq!(
        entry(&reg, j1)["payload"]["person"]["nationalities"],
        serde_json::json!(["SV", "GT"])
    );
    assert!(reg.verify().code == 0);
}

#[test]
fn a_person_without_an_order_is_recorded_held_pending_one_not_left_off_the_books() {
    let reg = facility();
    let row = "X1,Carlos,Ruiz,,1980-02-02,male,SV,DUI,11111111-1,remand,2023-01-01,,,,,,M1-C01";
    let file = write(&reg, "p.csv", &format!("{HEADER}\n{row}\n"));
    reg.ok(&["import", "population", "--facility", "CECOT", &file]);
    let rep = report(&reg, "p.csv.report.csv");
    assert!(
        rep.iter()
            .any(|r| r[4] == "warning" && r[5].contains("held pending an order")),
        "{rep:?}"
    );
    let booking = count(&reg, "SELECT booking FROM imported_admissions");
    let e = entry(&reg, booking);
    assert_eq!(
        e["payload"]["held_pending_order"]["brought_by"],
        "not recorded in p.csv"
    );
    let r = reg.ok(&[
        "report",
        "compliance",
        "--facility",
        "CECOT",
        "--format",
        "json",
    ]);
    assert!(r.stdout.contains("legal.no_valid_basis"), "{}", r.stdout);
}

#[test]
fn a_foreign_national_never_told_of_consular_rights_is_recorded_and_found() {
    let reg = facility();
    // A Venezuelan deportee whose earlier record says nothing of consular rights, and a
    // Guatemalan who was told and asked for the consulate.
    let header = format!("{HEADER},consular_rights_advised_at,consular_notification_requested");
    let rows = [
        "V1,José,Pérez,,1990-02-02,male,VE,passport,V123456,remand,2025-03-16,pretrial_detention,Juzgado A,1-2025,2025-03-15,2030-03-15,M1-C01,,",
        "G1,Ana,López,,1991-02-02,female,GT,passport,G654321,remand,2025-03-16,pretrial_detention,Juzgado A,2-2025,2025-03-15,2030-03-15,M1-C02,2025-03-16T10:00:00Z,yes",
    ];
    let file = write(&reg, "p.csv", &format!("{header}\n{}\n", rows.join("\n")));
    reg.ok(&["import", "population", "--facility", "CECOT", &file]);
    let rep = report(&reg, "p.csv.report.csv");
    assert!(
        rep.iter().any(|r| r[3] == "V1"
            && r[4] == "warning"
            && r[2] == "consular_rights_advised_at"
            && r[5].contains("consular.not_advised")),
        "{rep:?}"
    );
    assert!(!rep.iter().any(|r| r[3] == "G1"), "{rep:?}");
    assert_eq!(count(&reg, "SELECT count(*) FROM custodies"), 2);
    let bookings: Vec<i64> = {
        let c = db(&reg);
        let mut st = c
            .prepare("SELECT booking FROM imported_admissions ORDER BY booking")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let e = entry(&reg, bookings[0]);
    assert_eq!(
        e["payload"]["consular"],
        serde_json::json!({"notification_requested": false})
    );
    let r = reg.ok(&[
        "report",
        "compliance",
        "--facility",
        "CECOT",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let not_advised: Vec<u64> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "consular.not_advised")
        .filter_map(|f| f["subject"]["booking"].as_u64())
        .collect();
    assert_eq!(not_advised, [bookings[0] as u64], "{}", r.stdout);
}

#[test]
fn placements_copied_from_the_earlier_register_are_recorded_as_they_were_and_found() {
    let reg = Reg::init(&[]);
    std::fs::write(
        reg.path("estate.toml"),
        r#"
[facility]
code = "IZALCO"
name = "Centro Penal de Izalco"
country = "SV"

[[unit]]
code = "A"
name = "Sector A"
cell_count = 1
cell_template = { area_m2 = 12, bunks = 2, cna = 2, operational_capacity = 2 }
"#,
    )
    .unwrap();
    reg.ok(&["estate", "load", "estate.toml"]);
    // Three people in a cell for two: a man on remand, a convicted man, and a woman.
    let rows = [
        "R1,Mario,Cruz,,1980-01-01,male,SV,DUI,00000001-1,remand,2024-01-10,pretrial_detention,Juzgado 1,1-2024,2024-01-09,2030-01-09,A-C01",
        "R2,Pedro,Cruz,,1981-01-01,male,SV,DUI,00000002-2,sentenced,2024-01-10,sentence,Juzgado 1,2-2024,2024-01-09,2034-01-09,A-C01",
        "R3,Ana,Cruz,,1982-01-01,female,SV,DUI,00000003-3,remand,2024-01-10,pretrial_detention,Juzgado 1,3-2024,2024-01-09,2030-01-09,A-C01",
    ];
    let file = write(&reg, "p.csv", &format!("{HEADER}\n{}\n", rows.join("\n")));
    reg.ok(&["import", "population", "--facility", "IZALCO", &file]);
    let rep = report(&reg, "p.csv.report.csv");
    assert!(
        rep.iter().any(|r| r[3] == "R3"
            && r[2] == "cell"
            && r[4] == "warning"
            && r[5].contains("over its operational capacity")),
        "{rep:?}"
    );
    // Everyone is in the cell the earlier register has them in: nobody is left in no cell.
    assert_eq!(
        count(&reg, "SELECT count(*) FROM custodies WHERE cell = 'A-C01'"),
        3
    );
    assert_eq!(
        count(&reg, "SELECT population FROM cells WHERE code = 'A-C01'"),
        3
    );
    // The placements that broke Rule 11 keep the earlier register as their evidence.
    assert_eq!(
        count(
            &reg,
            "SELECT count(*) FROM allocation_overrides WHERE reason LIKE 'transcribed from p.csv, line %' AND authority = 'the earlier register'"
        ),
        2
    );
    let r = reg.ok(&[
        "report",
        "compliance",
        "--facility",
        "IZALCO",
        "--format",
        "json",
    ]);
    for code in [
        "capacity.operational",
        "separation.sexes",
        "separation.untried_convicted",
    ] {
        assert!(r.stdout.contains(code), "{code}: {}", r.stdout);
    }
    assert!(reg.verify().code == 0);
}

#[test]
fn duplicates_against_the_register_are_found_by_document() {
    let reg = facility();
    let first = write(&reg, "a.csv", &format!("{HEADER}\n{}\n", person(1)));
    reg.ok(&["import", "population", "--facility", "CECOT", &first]);
    // Another file: the same document under another number.
    let again = person(1).replace("EXP-00001", "OTRO-1");
    let second = write(&reg, "b.csv", &format!("{HEADER}\n{again}\n"));
    let before = reg.size();
    let r = reg.run(&["import", "population", "--facility", "CECOT", &second]);
    assert_eq!(r.code, 1);
    assert_eq!(reg.size(), before);
    let rep = report(&reg, "b.csv.report.csv");
    assert!(
        rep.iter()
            .any(|r| r[2] == "document_number" && r[5].contains("already in custody here")),
        "{rep:?}"
    );
}

/// Killed with SIGKILL in the middle of writing, then run again: every person once, none lost.
#[test]
fn an_import_killed_in_the_middle_and_run_again_writes_nothing_twice_and_loses_nothing() {
    let reg = facility();
    let n = 4000u32;
    let mut text = String::from(HEADER);
    text.push('\n');
    for i in 1..=n {
        text.push_str(&person(i));
        text.push('\n');
    }
    let file = write(&reg, "big.csv", &text);
    let mut child = bin()
        .current_dir(reg.dir.path())
        .args([
            "import",
            "population",
            "--facility",
            "CECOT",
            &file,
            "--batch",
            "50",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some admissions are durable, then kill it.
    // At most two minutes, in steps of 20 ms.
    for _ in 0..6000 {
        let written = rusqlite::Connection::open(reg.db())
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM imported_admissions", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap_or(0);
        if written >= 200 {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = count(&reg, "SELECT count(*) FROM imported_admissions");
    assert!(partial > 0, "nothing was written before the kill");
    assert!(
        partial < i64::from(n),
        "the import finished before it was killed: the test proves nothing"
    );
    let r: Run = reg.ok(&[
        "import",
        "population",
        "--facility",
        "CECOT",
        &file,
        "--batch",
        "50",
    ]);
    assert!(r.stderr.contains("already imported"), "{}", r.stderr);
    assert_eq!(
        count(&reg, "SELECT count(*) FROM imported_admissions"),
        i64::from(n)
    );
    assert_eq!(
        count(&reg, "SELECT count(DISTINCT ref) FROM imported_admissions"),
        i64::from(n)
    );
    assert_eq!(count(&reg, "SELECT count(*) FROM custodies"), i64::from(n));
    assert_eq!(
        count(&reg, "SELECT count(*) FROM custodies WHERE cell IS NULL"),
        0,
        "someone admitted before the kill was not placed after the rerun"
    );
    let v = reg.verify();
    assert_eq!(v.code, 0, "{}", v.stderr);
}

/// While `habeas serve` runs on the store, the import goes through its writer (the control
/// socket), and the server's own projections hold everyone at once.
#[test]
fn an_import_while_the_server_runs_goes_through_its_writer() {
    use std::io::BufRead as _;
    let reg = facility();
    let mut server = bin()
        .current_dir(reg.dir.path())
        .env("HABEAS_LOG", "warn")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on"), "{line:?}");
    let mut text = format!("{HEADER}\n");
    for i in 1..=30 {
        text.push_str(&person(i));
        text.push('\n');
    }
    let file = write(&reg, "p.csv", &text);
    let r = reg.run(&[
        "import",
        "population",
        "--facility",
        "CECOT",
        &file,
        "--batch",
        "7",
    ]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("30 admitted in"), "{}", r.stderr);
    assert!(r.stderr.contains("30 placed in"), "{}", r.stderr);
    assert_eq!(count(&reg, "SELECT count(*) FROM imported_admissions"), 30);
    assert_eq!(
        count(
            &reg,
            "SELECT count(*) FROM custodies WHERE cell IS NOT NULL"
        ),
        30
    );
}
