#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

//! The web UI in a facility's local time, through the real router, a real SQLite store and a
//! fixed clock: a facility at UTC−06:00 whose clock reads 02:00 UTC is still on the evening
//! before. Its pages show that day as today and every time at its offset, naming it; its
//! forms read a typed time as its local time and record the UTC instant (a time typed with
//! its own offset or `Z` keeps it); a page of every facility says its times are UTC.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use habeas_register::note::Signer;
use habeas_register::store::Store as _;
use habeas_register::time::ManualClock;
use habeas_register::writer::Register;
use habeas_register::{Draft, Timestamp};
use habeas_store_sqlite::{Accounts, NewUser, SqliteStore};
use habeas_web::auth;
use habeas_web::routes::router;
use habeas_web::state::{AppState, Metrics};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt as _;

mod support;
use support::{actor, estate, start};

const PASSWORD: &str = "velero-azul-9";
/// 2026-12-08T02:00:00.000Z: 20:00 on 7 December at UTC−06:00.
const NOW: i64 = 1_796_695_200_000;
/// The offset as the pages name it (a true minus sign).
const ZONE: &str = "UTC\u{2212}06:00";

struct World {
    _dir: tempfile::TempDir,
    app: axum::Router,
    main: Arc<SqliteStore>,
    /// The writer the server uses, for records a test puts in place without a form.
    register: Register,
    ana: u64,
}

/// Ana, admitted at 09:30 local on 6 December on an order that runs to the end of the 7th.
fn admission() -> Draft {
    admission_of("Ana", "2026-12-06T15:30:00.000Z", "2026-12-07")
}

/// An admission at CECOT of `given` at `admitted_at` (arrested that morning), held on remand
/// until `expires`.
fn admission_of(given: &str, admitted_at: &str, expires: &str) -> Draft {
    let day = &admitted_at[..10];
    serde_json::from_value::<habeas_core::custody::AdmissionInput>(json!({
        "facility": "CECOT",
        "person": {"given_names": given, "surnames": ["López"], "birth_date": "1990-01-01", "sex": "female", "nationalities": ["SV"]},
        "admitted_at": admitted_at,
        "legal_status": "remand",
        "orders": [{"kind": "pretrial_detention", "authority": "Juzgado", "reference": "1-2026", "issued": day, "expires": expires}],
        "arrest": {"at": format!("{day}T12:00:00.000Z"), "place": "San Salvador", "authority": "PNC"}
    }))
    .unwrap()
    .validate(Timestamp(NOW))
    .unwrap()
    .to_draft(&actor())
}

/// A whole-cell movement of M1-C01 (`out_of_cell` into the open air, or `back_to_cell`) at
/// `at` (UTC).
fn movement(kind: &str, at: &str) -> Draft {
    habeas_core::events::Movement::new(
        "CECOT",
        kind,
        &[],
        Some("M1-C01"),
        kind == "out_of_cell",
        None,
        at,
        Timestamp(NOW),
    )
    .unwrap()
    .to_draft(&actor())
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp(NOW)));
    let (store, register) = start(&dir.path().join("h.db"), "habeas.test/ui", clock.clone());
    let (access_store, access) = start(
        &dir.path().join("h.db.access"),
        "habeas.test/ui/access",
        clock.clone(),
    );
    let mut drafts = estate("CECOT", Some("-06:00"));
    drafts.extend(estate("IZALCO", None));
    register.append_all(drafts).unwrap();
    let ana = register.append_all(vec![admission()]).unwrap()[0].index;
    register
        .append_all(vec![habeas_core::allocation::Allocation::new(
            "CECOT", ana, "M1-C01", None, None,
        )
        .unwrap()
        .with_at(Some("2026-12-07T16:00:00Z"), Timestamp(NOW))
        .unwrap()
        .to_draft(&actor())])
        .unwrap();
    // Out at 23:10 local on the 6th (05:10 UTC on the 7th: the UTC day, not the local one),
    // back at 19:00 local on the 7th (01:00 UTC on the 8th: the local day, not the UTC one).
    register
        .append_all(vec![movement("out_of_cell", "2026-12-07T05:10:00Z")])
        .unwrap();
    register
        .append_all(vec![movement("back_to_cell", "2026-12-08T01:00:00Z")])
        .unwrap();
    let accounts = Accounts::open(&dir.path().join("h.db")).unwrap();
    let hash = auth::hash_password(PASSWORD).unwrap();
    for (name, role, facilities, language) in [
        ("reg.cecot", "registry", vec!["CECOT"], "en"),
        ("cus.cecot", "custody", vec!["CECOT"], "en"),
        ("leg.cecot", "legal", vec!["CECOT"], "es"),
        ("reg.izalco", "registry", vec!["IZALCO"], "en"),
    ] {
        let facilities: Vec<String> = facilities.into_iter().map(String::from).collect();
        accounts
            .add_user(
                &NewUser {
                    username: name,
                    role,
                    facilities: &facilities,
                    password_hash: &hash,
                    totp_secret: None,
                    language,
                },
                NOW,
            )
            .unwrap();
    }
    let state = Arc::new(AppState {
        store: store.clone(),
        register: Some(register.clone()),
        accounts: Arc::new(accounts),
        access,
        access_store,
        clock,
        metrics: Metrics::default(),
        tls: false,
        cookie_key: auth::CookieKey::new([11; 32]),
        evaluations: Default::default(),
        signin_limits: Default::default(),
        transparency: Default::default(),
        signer: Some(Arc::new(
            Signer::from_seed("habeas.test/ui", [4; 32]).unwrap(),
        )),
    });
    World {
        _dir: dir,
        app: router(state),
        main: store,
        register,
        ana,
    }
}

struct Answer {
    status: StatusCode,
    location: String,
    body: String,
}

impl World {
    async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .map_or(String::new(), |l| l.to_str().unwrap().to_owned());
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Signs in (no second factor): the cookie and the CSRF token.
    async fn session(&self, user: &str) -> (String, String) {
        let req = Request::builder()
            .method("POST")
            .uri("/api/session")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"username": user, "password": PASSWORD}).to_string(),
            ))
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{user}");
        let cookie = res.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        (cookie, body["csrf"].as_str().unwrap().to_owned())
    }

    async fn get(&self, cookie: &str, uri: &str) -> String {
        let req = Request::builder()
            .uri(uri)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap();
        let a = self.send(req).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
        a.body
    }

    async fn post(&self, cookie: &str, uri: &str, body: &str) -> Answer {
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap();
        self.send(req).await
    }

    /// Posts a register's form that records an entry and leads back to its page: where it
    /// leads, and the time the entry recorded.
    async fn recorded(&self, cookie: &str, uri: &str, body: &str) -> (String, String) {
        let a = self.post(cookie, uri, body).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let at = self.last_entry()["payload"]["at"]
            .as_str()
            .unwrap()
            .to_owned();
        (a.location, at)
    }

    /// The register's last entry, decoded.
    fn last_entry(&self) -> Value {
        let n = self.main.size().unwrap();
        serde_json::from_slice(&self.main.entry(n - 1).unwrap().unwrap()).unwrap()
    }
}

/// Fails, showing the page, unless it says `text`.
fn says(page: &str, text: &str) {
    assert!(page.contains(text), "{text:?} is not in {page}");
}

/// A local time as the pages write it at CECOT: `7 Dec 2026 20:00 (UTC−06:00)`.
fn local(time: &str) -> String {
    format!("{time} ({ZONE})")
}

/// `2026-12-07T19:30` as a form sends it.
fn enc(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

#[tokio::test]
async fn a_facility_six_hours_behind_utc_shows_its_own_day_and_times_at_two_in_the_morning_utc() {
    let w = world();
    let (custody, _) = w.session("cus.cecot").await;
    // The cell page: today is still the 7th there; of the two movements, the one of the
    // local 7th (19:00), not the one of the UTC 7th (23:10 on the 6th).
    let cell = w.get(&custody, "/ui/cells/CECOT/M1-C01").await;
    says(
        &cell,
        &format!("Today&#39;s movements (7 Dec 2026, times {ZONE})"),
    );
    says(&cell, "<td>19:00</td>");
    assert!(
        !cell.contains("<td>23:10</td>") && !cell.contains("<td>05:10</td>"),
        "{cell}"
    );
    // Ana has been in the cell since 10:00 local (16:00 UTC).
    says(&cell, &local("7 Dec 2026 10:00"));
    assert!(!cell.contains("16:00 UTC"), "{cell}");
    // The counts' day is the local 7th, its form's time the wall clock's.
    let counts = w.get(&custody, "/ui/counts?facility=CECOT").await;
    says(&counts, "CECOT roll count, 7 Dec 2026");
    says(&counts, "value=\"2026-12-07T20:00\"");
    says(&counts, &local("Time of the count"));

    // The person file: the order runs to the end of the local 7th, so it is in force (at the
    // UTC day, the 8th, it would read as expired and the file as without a legal basis); the
    // admission reads at local time, in English and in Spanish.
    let (registry, _) = w.session("reg.cecot").await;
    let file = w
        .get(&registry, &format!("/ui/persons/{}?reason=other", w.ana))
        .await;
    assert!(!file.contains("id=\"no-basis-1\""), "{file}");
    assert!(!file.contains("class=\"expired\""), "{file}");
    says(&file, &local("6 Dec 2026 09:30"));
    says(&file, &local("6 Dec 2026 06:00"));
    // The entries were written at 02:00 UTC: 20:00 the evening before.
    says(&file, &local("7 Dec 2026 20:00"));
    assert!(
        !file.contains(" UTC<") && !file.contains("15:30 UTC"),
        "{file}"
    );
    let (legal, _) = w.session("leg.cecot").await;
    let file = w
        .get(&legal, &format!("/ui/persons/{}?reason=other", w.ana))
        .await;
    says(&file, &local("06/12/2026 09:30"));

    // The admission form starts at the facility's wall clock.
    let admit = w.get(&registry, "/ui/admissions").await;
    says(&admit, "value=\"2026-12-07T20:00\"");

    // A facility at UTC keeps saying UTC.
    let (izalco, _) = w.session("reg.izalco").await;
    let board = w.get(&izalco, "/ui/board?facility=IZALCO").await;
    assert!(!board.contains(ZONE), "{board}");
}

#[tokio::test]
async fn a_local_time_typed_in_a_form_is_recorded_as_its_utc_instant() {
    let w = world();
    let (registry, csrf) = w.session("reg.cecot").await;
    let ana = w.ana;
    // The Rule 68 page names the offset beside its time and shows the due hour locally.
    let page = w.get(&registry, &format!("/ui/notify?booking={ana}")).await;
    says(&page, &format!("the facility&#39;s time, {ZONE}"));
    // Admitted 09:30 local on the 6th, due 24 hours later.
    says(&page, &local("7 Dec 2026 09:30"));
    // A family call recorded from the page, at the time typed: what was recorded, or the
    // page's status when nothing was.
    let call_at = |typed: &'static str| {
        let body = format!(
            "csrf={csrf}&booking={ana}&what=contact&kind=call&party=family&with=madre&at={}",
            enc(typed)
        );
        let (w, registry) = (&w, &registry);
        async move {
            let size = w.main.size().unwrap();
            let a = w.post(registry, "/ui/notify", &body).await;
            if w.main.size().unwrap() == size {
                return Err(a.status);
            }
            assert_eq!(a.status, StatusCode::CREATED, "{typed}: {}", a.body);
            Ok(w.last_entry()["payload"]["at"].as_str().unwrap().to_owned())
        }
    };
    for (typed, stored) in [
        // 19:30 on the 7th at the facility is 01:30 UTC on the 8th.
        ("2026-12-07T19:30", "2026-12-08T01:30:00.000Z"),
        // A time that says its own offset, or Z, is the instant it says.
        ("2026-12-07T19:45:00Z", "2026-12-07T19:45:00.000Z"),
        ("2026-12-07T19:45:00-06:00", "2026-12-08T01:45:00.000Z"),
        ("2026-12-07T21:45:00+02:00", "2026-12-07T19:45:00.000Z"),
    ] {
        assert_eq!(call_at(typed).await.as_deref(), Ok(stored), "{typed}");
    }
    // A local time that is still to come (20:30 local is 02:30 UTC, after the clock's 02:00)
    // is refused as in the future, and nothing is written.
    assert_eq!(
        call_at("2026-12-07T20:30").await,
        Err(StatusCode::BAD_REQUEST)
    );

    // The visit register: the label names the offset; a local time is recorded in UTC and
    // shown again at local time.
    let visits = w.get(&registry, "/ui/visits?facility=CECOT").await;
    says(&visits, &local("Visit or refusal at"));
    let (back, at) = w
        .recorded(
            &registry,
            "/ui/visits",
            &format!(
                "csrf={csrf}&facility=CECOT&visitor_kind=inspector&visitor=Inspectora&independent=yes&private_interviews=yes&outcome=admitted&at={}",
                enc("2026-12-07T18:15")
            ),
        )
        .await;
    assert_eq!(at, "2026-12-08T00:15:00.000Z");
    let visits = w.get(&registry, &back).await;
    says(&visits, &local("7 Dec 2026 18:15"));

    // A roll count at 19:50 local goes to the local 7th's reconciliation.
    let (custody, csrf) = w.session("cus.cecot").await;
    let (back, at) = w
        .recorded(
            &custody,
            "/ui/counts",
            &format!(
                "csrf={csrf}&facility=CECOT&unit=M1&at={}&count.M1-C01=1",
                enc("2026-12-07T19:50")
            ),
        )
        .await;
    assert_eq!(at, "2026-12-08T01:50:00.000Z");
    assert!(back.contains("date=2026-12-07"), "{back}");
    let counts = w.get(&custody, &back).await;
    says(&counts, "<td>19:50</td>");
    says(&counts, "id=\"not-counted\"");
    // The UTC 8th, asked for, is another local day with no count.
    let counts = w
        .get(&custody, "/ui/counts?facility=CECOT&date=2026-12-08")
        .await;
    assert!(!counts.contains("<td>19:50</td>"), "{counts}");
}

/// The registers of hearings (by month) and of contacts (by days) take the facility's local
/// month and days: a call at 19:30 on the 7th there is the 7th's, though it is the 8th in UTC;
/// a hearing at 21:00 on 30 November there is November's, though it is 1 December in UTC.
#[tokio::test]
async fn the_registers_of_hearings_and_contacts_take_the_facilitys_local_month_and_days() {
    let w = world();
    let record = |v: Value| {
        serde_json::from_value::<habeas_core::record::RecordInput>(v)
            .unwrap()
            .validate(Timestamp(NOW), &actor())
            .unwrap()
    };
    let call = |at: &str, with: &str| {
        record(
            json!({"record": "contact", "facility": "CECOT", "booking": w.ana, "kind": "call",
                      "party": "family", "at": at, "with": with}),
        )
    };
    w.register
        .append_all(vec![
            call("2026-12-07T03:00:00Z", "madre (la noche del 6)"),
            call("2026-12-08T01:30:00Z", "hermana (la tarde del 7)"),
        ])
        .unwrap();
    let (legal, _) = w.session("leg.cecot").await;
    let day = w
        .get(
            &legal,
            "/ui/contacts?facility=CECOT&from=2026-12-07&to=2026-12-07",
        )
        .await;
    says(&day, &local("07/12/2026 19:30"));
    assert!(!day.contains("06/12/2026 21:00"), "{day}");
    let before = w
        .get(
            &legal,
            "/ui/contacts?facility=CECOT&from=2026-12-06&to=2026-12-06",
        )
        .await;
    says(&before, &local("06/12/2026 21:00"));
    assert!(!before.contains("07/12/2026 19:30"), "{before}");
    // Someone held since November, heard at 21:00 on 30 November there (03:00 UTC on
    // 1 December).
    let beta = w
        .register
        .append_all(vec![admission_of(
            "Beta",
            "2026-11-20T15:00:00.000Z",
            "2027-05-20",
        )])
        .unwrap()[0]
        .index;
    w.register
        .append_all(vec![record(
            json!({"record": "hearing", "facility": "CECOT", "bookings": [beta],
            "court": "Juzgado Especializado de Instrucción", "at": "2026-12-01T03:00:00Z",
            "mode": "video", "people_heard": 300}),
        )])
        .unwrap();
    let november = w
        .get(&legal, "/ui/hearings?facility=CECOT&month=2026-11")
        .await;
    says(&november, "Juzgado Especializado de Instrucción");
    let december = w
        .get(&legal, "/ui/hearings?facility=CECOT&month=2026-12")
        .await;
    assert!(
        !december.contains("Juzgado Especializado de Instrucción"),
        "{december}"
    );
}
