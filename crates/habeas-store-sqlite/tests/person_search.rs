//! Person search by name through the full-text index (migration 24): words are the beginnings
//! of words of the folded name or of a former name, every word must match, accents and case
//! do not matter, a correction of identity re-indexes the person, a question of whereabouts by
//! name and birth date finds the one person among many of that name, and `habeas verify` catches
//! an index that no longer follows `persons`.

use habeas_core::custody::AdmissionInput;
use habeas_core::events::IdentityCorrection;
use habeas_core::ids::Actor;
use habeas_register::time::ManualClock;
use habeas_register::Timestamp;
use habeas_store_sqlite::Sought;
use serde_json::json;
use std::sync::Arc;

mod backends;
use backends::Backend;

const ESTATE: &str = r#"
[facility]
code = "CECOT"
name = "Centro"
country = "SV"
[[unit]]
code = "M1"
name = "Módulo 1"
cell_count = 1
cell_template = { area_m2 = 100, bunks = 8, cna = 8, operational_capacity = 8 }
"#;

#[test]
fn people_are_found_by_the_beginnings_of_their_words_and_former_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-01-01T08:00:00.000Z").unwrap(),
    ));
    let started = backends::start(Backend::Sqlite, &path, "habeas.test/search", 7, clock, 1);
    let (store, register) = (started.store.clone(), started.register.clone());
    let actor = Actor::parse("actor", "prueba").unwrap();
    backends::load_estate(&register, ESTATE);
    // A new person's admission, as the registry writes it.
    let draft_of = |given: &str, surnames: &[&str], born: &str| {
        let admission: AdmissionInput = serde_json::from_value(json!({
            "facility": "CECOT",
            "person": {"given_names": given, "surnames": surnames, "birth_date": born,
                       "sex": "male", "nationalities": ["SV"]},
            "new_person": true,
            "admitted_at": "2025-01-01T07:00:00.000Z",
            "legal_status": "remand",
            "orders": [{"kind": "pretrial_detention", "authority": "J", "reference": "R", "issued": "2024-12-30"}]
        }))
        .unwrap();
        admission
            .validate(Timestamp::parse("2025-01-01T08:00:00.000Z").unwrap())
            .unwrap()
            .to_draft(&actor)
    };
    let admit = |given: &str, surnames: &[&str], born: &str| -> u64 {
        let r = register.append(draft_of(given, surnames, born)).unwrap();
        store.person_of(r.index).unwrap().unwrap()
    };
    let people: Vec<u64> = [
        ("José Édgar", ["Flores", "Villalta"]),
        ("Edgardo", ["Flores", "Martínez"]),
        ("María", ["García-López", "O'Neill"]),
        ("Ana", ["Villalta", "Flores"]),
    ]
    .iter()
    .map(|(given, surnames)| admit(given, surnames, "1990-01-01"))
    .collect();
    let find = |q: &str| -> Vec<u64> {
        let words: Vec<String> = q.split_whitespace().map(str::to_owned).collect();
        store
            .find_people(&words, 20)
            .unwrap()
            .iter()
            .map(|h| h.person)
            .collect()
    };
    // Every word must begin some word of the name, in any order; accents and case are folded.
    assert_eq!(find("EDGAR flores"), vec![people[0], people[1]]);
    assert_eq!(find("édgar villalta"), vec![people[0]]);
    assert_eq!(find("flores villalta"), vec![people[0], people[3]]);
    assert_eq!(find("flor vill"), vec![people[0], people[3]]);
    assert_eq!(
        find("lores"),
        Vec::<u64>::new(),
        "the middle of a word finds nothing"
    );
    // Hyphens and apostrophes stay inside a word, as they are written.
    assert_eq!(find("garcia-lopez"), vec![people[2]]);
    assert_eq!(find("o'neill maria"), vec![people[2]]);
    assert_eq!(
        find("\"garcia* o'neill"),
        Vec::<u64>::new(),
        "quotes and stars are letters to find, not the index's query language"
    );
    assert_eq!(find("garcia-l o'n"), vec![people[2]]);
    assert_eq!(
        find("lopez"),
        Vec::<u64>::new(),
        "a word begins after a space"
    );
    assert_eq!(
        find("maria OR ana"),
        Vec::<u64>::new(),
        "OR is a word to find, not an operator"
    );
    assert_eq!(find("¿ -"), Vec::<u64>::new(), "signs alone are no words");
    // A NUL or another control character in the words is no letter of a name, and no error
    // of the index's query either.
    assert_eq!(find("flores\u{0}villalta"), vec![people[0], people[3]]);
    // (What the API's fuzzer sent: "ò" is the word, and it begins O'Neill.)
    assert_eq!(find("\u{f2}\u{0}\u{f34c9}\u{86}"), vec![people[2]]);
    assert_eq!(find("ana ixtepeque"), Vec::<u64>::new());
    assert_eq!(store.find_people(&["flores".into()], 1).unwrap().len(), 1);

    // A word that only begins like a common one: after a thousand "Mario", the one
    // "Mariano" is found by his whole word, and a word nobody's begins finds nobody.
    let marios: Vec<_> = (0..1_050)
        .map(|_| draft_of("Mario", &["Rivas"], "1985-05-05"))
        .collect();
    register.append_all(marios).unwrap();
    let mariano = admit("Mariano", &["Rivas"], "1985-05-05");
    assert_eq!(find("marian"), vec![mariano]);
    assert_eq!(find("mariano rivas"), vec![mariano]);
    assert_eq!(find("rivas mariano"), vec![mariano]);
    assert_eq!(find("marianela"), Vec::<u64>::new());
    assert_eq!(find("maria"), vec![people[2], mariano]);
    assert_eq!(find("mario").len(), 20, "the limit");
    assert_eq!(
        store.find_people(&["mario".into()], 2_000).unwrap().len(),
        1_050
    );

    // A correction: the new name is found, and so is the former one.
    let correction = IdentityCorrection {
        facility: "CECOT".into(),
        person: people[1],
        reason: "mal escrito".into(),
        authority: "RNPN, partida 12".into(),
        surnames: Some(vec!["Flores".into(), "Menjívar".into()]),
        ..IdentityCorrection::default()
    };
    let now = Timestamp::parse("2025-01-02T08:00:00.000Z").unwrap();
    register
        .append(correction.validate(now, &actor).unwrap())
        .unwrap();
    assert_eq!(find("edgardo menjivar"), vec![people[1]]);
    assert_eq!(
        find("edgardo martinez"),
        vec![people[1]],
        "a former name hides nobody"
    );

    // A family asks by name and birth date: everyone with that name born that day is found,
    // however many others share the name (the date is checked before the limit, not after).
    for _ in 0..205 {
        admit("Juan", &["Pérez", "López"], "1990-01-01");
    }
    let sought = admit("Juan", &["Pérez", "López"], "1985-05-05");
    let asked = |born: &str| {
        store
            .whereabouts_people(
                &Sought::NameAndBirth {
                    words: vec!["juan".into(), "perez".into()],
                    birth_date: born.into(),
                },
                5,
            )
            .unwrap()
    };
    assert_eq!(asked("1985-05-05"), vec![sought]);
    assert_eq!(asked("1990-01-01").len(), 5, "at most the limit");
    assert_eq!(asked("1985-05-06"), Vec::<u64>::new());
    register.shutdown();
    assert_eq!(store.check_projections().unwrap(), Ok(()));

    // An index that lost a person is a projection fault that verify names.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute(
        "INSERT INTO person_search (person_search, rowid, search_name, former_search)
         SELECT 'delete', person, search_name, former_search FROM persons WHERE person = ?1",
        [people[3] as i64],
    )
    .unwrap();
    assert_eq!(find("ana"), Vec::<u64>::new());
    let fault = store.check_projections().unwrap().unwrap_err();
    assert_eq!(fault.table, "person_search_docsize", "{fault:?}");
    // A rebuild from the register mends it.
    store.rebuild_projections().unwrap();
    assert_eq!(find("ana"), vec![people[3]]);
    assert_eq!(store.check_projections().unwrap(), Ok(()));
}
