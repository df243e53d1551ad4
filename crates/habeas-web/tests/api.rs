#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

//! The API against a real SQLite store and real registers (the records and the access log),
//! through the real router, with a controlled clock: sign-in with a second factor, lockout,
//! sessions that expire and end, CSRF, API tokens, the person file under role × facility scope,
//! health content for health staff only, and every read and refusal in the access log.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use habeas_register::note::Signer;
use habeas_register::store::Store as _;
use habeas_register::time::{Clock, ManualClock};
use habeas_register::writer::Register;
use habeas_register::{Draft, Timestamp};
use habeas_store_sqlite::{Accounts, NewUser, SqliteStore};
use habeas_web::auth;
use habeas_web::routes::router;
use habeas_web::state::{AppState, Metrics, COOKIE, CSRF_HEADER};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt as _;

mod support;
use support::{actor, estate, start};

const PASSWORD: &str = "velero-azul-9";
const T0: i64 = 1_764_000_000_000;

struct World {
    _dir: tempfile::TempDir,
    app: axum::Router,
    clock: Arc<ManualClock>,
    access: Arc<SqliteStore>,
    /// Who is in which facility: (person, facility).
    people: Vec<(u64, &'static str)>,
    inspector_totp: String,
    /// The second factors of every account that has one.
    totp: std::collections::HashMap<&'static str, String>,
    main: Arc<SqliteStore>,
    /// The records' writer, for setting up a test's records directly.
    records: Register,
    state: Arc<AppState>,
}

fn admission(facility: &str, name: &str) -> Draft {
    let actor = actor();
    serde_json::from_value::<habeas_core::custody::AdmissionInput>(json!({
        "facility": facility,
        "person": {"given_names": name, "surnames": ["López"], "birth_date": "1990-01-01", "sex": "male", "nationalities": ["SV"]},
        "admitted_at": "2025-05-01T10:00:00.000Z",
        "legal_status": "remand",
        "orders": [{"kind": "pretrial_detention", "authority": "Juzgado", "reference": "1-2025", "issued": "2025-04-30", "expires": "2025-10-30"}],
        "arrest": {"at": "2025-04-29T06:00:00.000Z", "place": "San Salvador", "authority": "PNC"}
    }))
    .unwrap()
    .validate(Timestamp(T0))
    .unwrap()
    .to_draft(&actor)
}

fn health(facility: &str, booking: u64) -> Draft {
    let actor = actor();
    serde_json::from_value::<habeas_core::record::RecordInput>(json!({
        "record": "health", "facility": facility, "booking": booking, "at": "2025-05-02T10:00:00.000Z",
        "kind": "admission_examination", "notes": "hipertensión; tratamiento indicado"
    }))
    .unwrap()
    .validate(Timestamp(T0), &actor)
    .unwrap()
}

fn world() -> World {
    world_with(habeas_web::limits::SignInLimits::default())
}

/// A world whose server has these sign-in limits.
fn world_with(signin_limits: habeas_web::limits::SignInLimits) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp(T0)));
    let (store, register) = start(&dir.path().join("h.db"), "habeas.test/api", clock.clone());
    let (access_store, access) = start(
        &dir.path().join("h.db.access"),
        "habeas.test/api/access",
        clock.clone(),
    );
    let mut drafts = estate("CECOT", None);
    drafts.extend(estate("IZALCO", None));
    register.append_all(drafts).unwrap();
    let a = register
        .append_all(vec![admission("CECOT", "Ana")])
        .unwrap()[0]
        .index;
    let b = register
        .append_all(vec![admission("IZALCO", "Beto")])
        .unwrap()[0]
        .index;
    register.append_all(vec![health("CECOT", a)]).unwrap();
    let accounts = Accounts::open(&dir.path().join("h.db")).unwrap();
    let hash = auth::hash_password(PASSWORD).unwrap();
    let inspector_totp = auth::new_totp_secret().unwrap();
    let mut totps = std::collections::HashMap::new();
    for (name, role, facilities, totp) in [
        (
            "dir.cecot",
            "director",
            vec!["CECOT"],
            Some(auth::new_totp_secret().unwrap()),
        ),
        ("reg.cecot", "registry", vec!["CECOT"], None),
        ("cus.cecot", "custody", vec!["CECOT"], None),
        ("leg.cecot", "legal", vec!["CECOT"], None),
        ("hea.cecot", "health", vec!["CECOT"], None),
        ("cus.izalco", "custody", vec!["IZALCO"], None),
        (
            "nat",
            "national",
            vec![],
            Some(auth::new_totp_secret().unwrap()),
        ),
        ("ins", "inspector", vec![], Some(inspector_totp.clone())),
        (
            "adm",
            "administrator",
            vec![],
            Some(auth::new_totp_secret().unwrap()),
        ),
        (
            "cou",
            "court",
            vec![],
            Some(auth::new_totp_secret().unwrap()),
        ),
        (
            "omb",
            "ombudsman",
            vec![],
            Some(auth::new_totp_secret().unwrap()),
        ),
    ] {
        let facilities: Vec<String> = facilities.into_iter().map(String::from).collect();
        if let Some(t) = &totp {
            totps.insert(name, t.clone());
        }
        accounts
            .add_user(
                &NewUser {
                    username: name,
                    role,
                    facilities: &facilities,
                    password_hash: &hash,
                    totp_secret: totp.as_deref(),
                    language: "es",
                },
                T0,
            )
            .unwrap();
    }
    let state = Arc::new(AppState {
        store: store.clone(),
        register: Some(register.clone()),
        accounts: Arc::new(accounts),
        access,
        access_store: access_store.clone(),
        clock: clock.clone(),
        metrics: Metrics::default(),
        tls: false,
        cookie_key: habeas_web::auth::CookieKey::new([11; 32]),
        evaluations: Default::default(),
        signin_limits,
        transparency: Default::default(),
        signer: Some(Arc::new(
            Signer::from_seed("habeas.test/api", [4; 32]).unwrap(),
        )),
    });
    World {
        _dir: dir,
        app: router(state.clone()),
        state,
        clock,
        access: access_store,
        people: vec![(a, "CECOT"), (b, "IZALCO")],
        inspector_totp,
        totp: totps,
        main: store,
        records: register,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

impl World {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Signs in; the cookie header and the CSRF token.
    async fn sign_in(&self, user: &str, code: Option<String>) -> (String, String) {
        let a = self
            .call(
                "POST",
                "/api/session",
                &[],
                Some(json!({"username": user, "password": PASSWORD, "code": code})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{user}: {}", a.body);
        let cookie = a.headers["set-cookie"].to_str().unwrap().to_owned();
        for attr in ["HttpOnly", "Secure", "SameSite=Strict"] {
            assert!(cookie.contains(attr), "{cookie}");
        }
        let pair = cookie.split(';').next().unwrap().to_owned();
        assert!(pair.starts_with(&format!("{COOKIE}=")));
        (pair, a.body["csrf"].as_str().unwrap().to_owned())
    }

    fn code_for(&self, secret: &str) -> String {
        auth::totp_code(secret, (self.clock.now().millis() / 1000) as u64).unwrap()
    }

    /// Every access-log entry, decoded.
    fn log(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for i in 0..self.access.size().unwrap() {
            let bytes = self.access.entry(i).unwrap().unwrap();
            out.push(serde_json::from_slice(&bytes).unwrap());
        }
        out
    }
}

#[tokio::test]
async fn health_and_security_headers() {
    let w = world();
    let a = w.call("GET", "/healthz", &[], None).await;
    assert_eq!(a.status, StatusCode::OK);
    for h in [
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
        "x-frame-options",
    ] {
        assert!(a.headers.contains_key(h), "{h}");
    }
    assert!(a.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let a = w.call("GET", "/nowhere", &[], None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body["error"]["code"], "not_found");
}

#[tokio::test]
async fn the_person_file_by_role_and_facility_scope_with_every_refusal_logged() {
    let w = world();
    let (cecot, izalco) = (w.people[0].0, w.people[1].0);
    // (user, person, expected status)
    let mut cases = Vec::new();
    for user in ["reg.cecot", "cus.cecot", "leg.cecot", "hea.cecot"] {
        cases.push((user, cecot, StatusCode::OK));
        // Out of scope is answered as no such person: nothing said of another facility.
        cases.push((user, izalco, StatusCode::NOT_FOUND));
    }
    cases.push(("cus.izalco", izalco, StatusCode::OK));
    cases.push(("cus.izalco", cecot, StatusCode::NOT_FOUND));
    for (user, person, expected) in cases {
        let (cookie, _) = w.sign_in(user, None).await;
        let before = w.log().len();
        let a = w
            .call(
                "GET",
                &format!("/api/persons/{person}?purpose=revisi%C3%B3n"),
                &[("cookie", &cookie)],
                None,
            )
            .await;
        assert_eq!(a.status, expected, "{user} reading {person}: {}", a.body);
        let after = w.log();
        assert_eq!(
            after.len(),
            before + 1,
            "{user}: one access-log entry per answer"
        );
        let last = after.last().unwrap();
        assert_eq!(last["actor"], format!("user:{user}"));
        if expected == StatusCode::OK {
            assert_eq!(last["kind"], "access.read");
            assert_eq!(last["subject"], format!("person:{person}"));
            assert_eq!(last["payload"]["purpose"], "revisión");
        } else {
            assert_eq!(last["kind"], "access.refused");
            assert_eq!(a.body["error"]["code"], "not_found");
            assert_eq!(
                a.body["error"]["message"],
                format!("there is no person {person}"),
                "the same answer as for a person who does not exist"
            );
        }
    }
    // Health content: health staff see it, custody staff see that it exists.
    let (cookie, _) = w.sign_in("hea.cecot", None).await;
    let a = w
        .call(
            "GET",
            &format!("/api/persons/{cecot}?purpose=test"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    let notes = |a: &Answer| {
        a.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["kind"] == habeas_core::kinds::HEALTH)
            .map(|h| h["payload"].clone())
            .unwrap()
    };
    assert!(notes(&a)["notes"]
        .as_str()
        .unwrap()
        .contains("hipertensión"));
    let (cookie, _) = w.sign_in("cus.cecot", None).await;
    let a = w
        .call(
            "GET",
            &format!("/api/persons/{cecot}?purpose=test"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(
        notes(&a),
        json!({"kind": "admission_examination", "restricted": true})
    );
    // The answer is what the API's document says it is: every field documented, every
    // required one present, each of its documented type.
    let doc = serde_json::to_value(habeas_web::openapi::document()).unwrap();
    let schema = &doc["paths"]["/api/persons/{person}"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    conforms(&a.body, schema, &doc, "answer").unwrap();
    let mut undocumented = a.body.clone();
    undocumented["person"]["nickname"] = json!("x");
    assert!(conforms(&undocumented, schema, &doc, "answer").is_err());
    let mut missing = a.body.clone();
    missing["history"][0]
        .as_object_mut()
        .unwrap()
        .remove("time");
    assert!(conforms(&missing, schema, &doc, "answer").is_err());
    assert!(a.body["history"].as_array().unwrap().len() >= 2);
    // The answer is written from the stored entries: it is the file and history the store
    // decodes, with the health content replaced, byte for byte the same JSON value.
    let (file, mut history) = w.main.person_record(cecot).unwrap().unwrap();
    for h in history.iter_mut() {
        if h["kind"] == habeas_core::kinds::HEALTH {
            let kind = h["payload"]["kind"].clone();
            h["payload"] = json!({"kind": kind, "restricted": true});
        }
    }
    assert_eq!(a.body, json!({"person": file, "history": history}));
    // A machine client's token, once its owner is known, is read on the async thread: the
    // same answer, the same access-log entries, the same refusals.
    let token = auth::new_secret().unwrap();
    Accounts::open(&w._dir.path().join("h.db"))
        .unwrap()
        .add_token(&auth::secret_hash(&token), "cus.cecot", "lector", T0)
        .unwrap();
    let bearer = format!("Bearer {token}");
    for _ in 0..2 {
        let before = w.log().len();
        let b = w
            .call(
                "GET",
                &format!("/api/persons/{cecot}?purpose=test"),
                &[("authorization", &bearer)],
                None,
            )
            .await;
        assert_eq!((b.status, &b.body), (StatusCode::OK, &a.body));
        let refused = w
            .call(
                "GET",
                &format!("/api/persons/{izalco}?purpose=test"),
                &[("authorization", &bearer)],
                None,
            )
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        let log = w.log();
        assert_eq!(log.len(), before + 2);
        assert_eq!(log[before]["kind"], "access.read");
        assert_eq!(log[before + 1]["kind"], "access.refused");
    }
    // A long file (more entries than an async thread takes) is read on the blocking pool,
    // with the same answer as a signed-in reader gets.
    for _ in 0..110 {
        let r = w
            .call(
                "POST",
                "/api/records",
                &[("authorization", &bearer)],
                Some(json!({"record": "contact", "facility": "CECOT", "booking": cecot, "kind": "visit", "party": "family", "at": "2025-05-21T10:00:00.000Z", "with": "madre", "minutes": 30})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let recorded = &doc["paths"]["/api/records"]["post"]["responses"]["201"]["content"]
            ["application/json"]["schema"];
        conforms(&r.body, recorded, &doc, "recorded").unwrap();
    }
    let by_token = w
        .call(
            "GET",
            &format!("/api/persons/{cecot}?purpose=test"),
            &[("authorization", &bearer)],
            None,
        )
        .await;
    let by_session = w
        .call(
            "GET",
            &format!("/api/persons/{cecot}?purpose=test"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(by_token.status, StatusCode::OK);
    conforms(&by_token.body, schema, &doc, "long file").unwrap();
    assert!(by_token.body["history"].as_array().unwrap().len() > 110);
    assert_eq!(by_token.body, by_session.body);
    // System-wide roles: national administration and inspectors read everyone (with their
    // second factor); administrators manage accounts and read no person file.
    let code = w.code_for(&w.inspector_totp);
    let (cookie, _) = w.sign_in("ins", Some(code)).await;
    for p in [cecot, izalco] {
        let a = w
            .call(
                "GET",
                &format!("/api/persons/{p}?purpose=test"),
                &[("cookie", &cookie)],
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    let a = w
        .call(
            "GET",
            "/api/persons/999999?purpose=test",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::NOT_FOUND, Some("person"))
    );
    // Nobody signed in: 401, with the one error shape.
    let a = w
        .call(
            "GET",
            &format!("/api/persons/{cecot}?purpose=test"),
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"]["code"], "unauthenticated");
    // The access log itself: inspectors yes, custody staff no (and that refusal is logged).
    let a = w
        .call(
            "GET",
            "/api/access-log?limit=1000",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body["entries"].as_array().unwrap().len() > 10);
    let (cookie, _) = w.sign_in("cus.cecot", None).await;
    let a = w
        .call("GET", "/api/access-log", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(w.log().last().unwrap()["kind"], "access.refused");
    // No password ever reaches the access log.
    let all = serde_json::to_string(&w.log()).unwrap();
    assert!(!all.contains(PASSWORD));
}

#[tokio::test]
async fn second_factor_lockout_sessions_csrf_and_tokens() {
    let w = world();
    // The inspector needs the code; without it, or with a wrong one, the sign-in is refused
    // without saying which part failed.
    let a = w
        .call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "ins", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials"))
    );
    let a = w
        .call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "ins", "password": PASSWORD, "code": "000000"})),
        )
        .await;
    assert_eq!(a.body["error"]["code"], "bad_credentials");
    // Bad input names the field.
    let a = w
        .call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "ins"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("body"))
    );

    // Lockout: five failures (two above and three more) lock; then the right answer is refused.
    for _ in 0..3 {
        w.call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "ins", "password": "wrong-password"})),
        )
        .await;
    }
    let code = w.code_for(&w.inspector_totp);
    let a = w
        .call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "ins", "password": PASSWORD, "code": code})),
        )
        .await;
    assert_eq!(a.body["error"]["code"], "bad_credentials");
    let outcomes: Vec<String> = w
        .log()
        .iter()
        .filter(|e| e["kind"] == "access.sign_in")
        .map(|e| e["payload"]["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        outcomes,
        [
            "missing_code",
            "bad_code",
            "bad_password",
            "bad_password",
            "locked_now",
            "locked"
        ]
    );

    // A session: idle for 30 minutes it lives; a millisecond more and it is gone.
    let (cookie, _) = w.sign_in("cus.cecot", None).await;
    w.clock.advance_millis(30 * 60_000);
    assert_eq!(
        w.call("GET", "/api/session", &[("cookie", &cookie)], None)
            .await
            .status,
        StatusCode::OK
    );
    w.clock.advance_millis(30 * 60_000 + 1);
    assert_eq!(
        w.call("GET", "/api/session", &[("cookie", &cookie)], None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // The cookie is signed: the session id alone, or with another MAC, is refused although
    // the session lives.
    let (cookie, csrf) = w.sign_in("cus.cecot", None).await;
    let (id, tag) = cookie.rsplit_once('.').unwrap();
    let other_tag: String = tag
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    for forged in [id.to_owned(), format!("{id}.{other_tag}")] {
        assert_eq!(
            w.call("GET", "/api/session", &[("cookie", &forged)], None)
                .await
                .status,
            StatusCode::UNAUTHORIZED,
            "{forged}"
        );
    }
    assert_eq!(
        w.call("GET", "/api/session", &[("cookie", &cookie)], None)
            .await
            .status,
        StatusCode::OK
    );

    // Logout needs the CSRF token, and revokes.
    let a = w
        .call("DELETE", "/api/session", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::FORBIDDEN, Some(CSRF_HEADER))
    );
    assert_eq!(w.log().last().unwrap()["kind"], "access.refused");
    let a = w
        .call(
            "DELETE",
            "/api/session",
            &[("cookie", &cookie), (CSRF_HEADER, &csrf)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        w.call("GET", "/api/session", &[("cookie", &cookie)], None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // An API token: kept as a hash, works as a bearer, never logged.
    let token = auth::new_secret().unwrap();
    let accounts = Accounts::open(&w._dir.path().join("h.db")).unwrap();
    accounts
        .add_token(&auth::secret_hash(&token), "cus.cecot", "feed", T0)
        .unwrap();
    let bearer = format!("Bearer {token}");
    let a = w
        .call(
            "GET",
            &format!("/api/persons/{}?purpose=feed", w.people[0].0),
            &[("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = w
        .call(
            "GET",
            "/api/session",
            &[("authorization", "Bearer not-a-token")],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(!serde_json::to_string(&w.log()).unwrap().contains(&token));

    // Metrics count by route pattern, never by id; they are not public.
    let m = w.call("GET", "/metrics", &[], None).await;
    assert_eq!(m.status, StatusCode::UNAUTHORIZED, "{}", m.body);
    let m = w
        .call("GET", "/metrics", &[("authorization", &bearer)], None)
        .await;
    assert_eq!(m.status, StatusCode::FORBIDDEN, "custody staff: {}", m.body);
    let (national, _) = w.session("nat").await;
    let m = w
        .call("GET", "/metrics", &[("cookie", &national)], None)
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    let text = m.body.as_str().unwrap().to_owned();
    assert!(text.contains("route=\"/api/persons/{person}\""), "{text}");
    assert!(!text.contains(&format!("/api/persons/{}", w.people[0].0)));
    assert!(text.contains("habeas_access_log_entries"));
    // Commits and entries of each writer: the access log has written every sign-in and read.
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    let entries = value("habeas_writer_entries_total{register=\"access_log\"}");
    let commits = value("habeas_writer_commits_total{register=\"access_log\"}");
    assert!(entries >= commits && commits > 0.0, "{text}");
    // The histograms: a commit-size histogram whose count is the commits and whose sum is the
    // entries; a latency histogram per route whose buckets rise to its count.
    assert_eq!(
        value("habeas_writer_batch_entries_count{register=\"access_log\"}"),
        commits
    );
    assert_eq!(
        value("habeas_writer_batch_entries_sum{register=\"access_log\"}"),
        entries
    );
    let route = "route=\"/api/persons/{person}\",status=\"200\"";
    let count = value(&format!(
        "habeas_http_request_duration_seconds_count{{{route}}}"
    ));
    assert!(count >= 1.0, "{text}");
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| {
            l.starts_with(&format!(
                "habeas_http_request_duration_seconds_bucket{{{route},"
            ))
        })
        .filter_map(|l| l.split_whitespace().last()?.parse().ok())
        .collect();
    assert_eq!(buckets.len(), 13, "{text}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last().copied(), Some(count));
}

impl World {
    /// Signs in as `user`, with its code when it has a second factor.
    async fn session(&self, user: &str) -> (String, String) {
        let code = self.totp.get(user).map(|t| self.code_for(t));
        self.sign_in(user, code).await
    }
}

/// How a route is authorized, for the matrix below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// By the role alone (the register, the accounts, a search…).
    Global,
    /// By the facility the request names.
    Facility,
    /// By the facility named and by the facility that holds each booking, person or case the
    /// request touches.
    Object,
    /// By the facilities that have held the person the path names (or the facility of the
    /// agreement the query names): outside them, not found.
    Path,
}

/// Which facility a request names and whose objects it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// CECOT, with CECOT's people.
    Own,
    /// IZALCO, with IZALCO's people.
    Other,
    /// CECOT named, IZALCO's people touched: the attack the matrix exists for.
    Cross,
}

/// A facility's people for the matrix: two open custodies (person = booking) and a death case;
/// and its custody agreement with another state.
#[derive(Debug, Clone, Copy)]
struct Held {
    booking: u64,
    second: u64,
    case: u64,
    agreement: u64,
}

/// The request of an operation of the API's document, for a facility `f` and people `o`; the
/// roles that may make it; how it is authorized; and whether it names a booking that does not
/// exist on purpose (a release, a transfer or a death would end the custody the other requests
/// use), except in the cross variant, where it must be refused whatever it names.
struct Case {
    method: &'static str,
    uri: String,
    body: Option<Value>,
    roles: &'static [&'static str],
    scope: Scope,
    ends_custody: bool,
}

const READ: &[&str] = &["reg", "cus", "leg", "hea", "dir", "nat", "ins"];
const EVERYONE: &[&str] = &[
    "reg", "cus", "leg", "hea", "dir", "nat", "ins", "adm", "cou", "omb",
];

fn matrix_cases(op: &str, f: &str, o: Held, cross: bool) -> Vec<Case> {
    let case = |method, uri: String, body: Option<Value>, roles, scope| Case {
        method,
        uri,
        body,
        roles,
        scope,
        ends_custody: false,
    };
    // A booking that a release, transfer or death may name without ending a real custody.
    let ending = if cross {
        o.booking
    } else {
        o.booking + 1_000_000
    };
    let b = o.booking;
    match op {
        "person_file" => vec![case(
            "GET",
            format!("/api/persons/{b}?purpose=matrix"),
            None,
            READ,
            Scope::Path,
        )],
        "search" => vec![case(
            "GET",
            "/api/persons?q=ana".into(),
            None,
            READ,
            Scope::Global,
        )],
        "population" => vec![case(
            "GET",
            format!("/api/population?facility={f}"),
            None,
            READ,
            Scope::Facility,
        )],
        "compliance" => vec![case(
            "GET",
            format!("/api/reports/compliance?facility={f}&as_of=2025-05-31"),
            None,
            READ,
            Scope::Facility,
        )],
        "statistics" => vec![case(
            "GET",
            format!("/api/reports/statistics?facility={f}&as_of=2025-05-31"),
            None,
            READ,
            Scope::Facility,
        )],
        "count_report" => vec![case(
            "GET",
            format!("/api/counts?facility={f}&date=2025-05-21"),
            None,
            READ,
            Scope::Facility,
        )],
        "death_list" => vec![case(
            "GET",
            format!("/api/deaths?facility={f}"),
            None,
            READ,
            Scope::Facility,
        )],
        "harm_list" => vec![case(
            "GET",
            format!("/api/harms?facility={f}"),
            None,
            READ,
            Scope::Facility,
        )],
        "logbook_list" => vec![case(
            "GET",
            format!("/api/logbook?facility={f}"),
            None,
            READ,
            Scope::Facility,
        )],
        "admissions" => vec![case(
            "POST",
            "/api/admissions".into(),
            Some(json!({
                "facility": f,
                "person": {"given_names": "Nuevo", "surnames": ["Ingreso"], "birth_date": "1991-02-03", "sex": "male", "nationalities": ["SV"]},
                "admitted_at": "2025-05-20T10:00:00.000Z",
                "legal_status": "remand",
                "orders": [{"kind": "pretrial_detention", "authority": "Juzgado", "reference": "9-2025", "issued": "2025-05-19", "expires": "2025-11-19"}],
                "arrest": {"at": "2025-05-18T06:00:00.000Z", "place": "San Salvador", "authority": "PNC"}
            })),
            &["reg", "dir"],
            Scope::Facility,
        )],
        "allocations" => vec![case(
            "POST",
            "/api/allocations".into(),
            Some(json!({"facility": f, "booking": b, "cell": "M1-C02"})),
            &["cus", "dir"],
            Scope::Object,
        )],
        "movements" => vec![case(
            "POST",
            "/api/movements".into(),
            Some(
                json!({"facility": f, "kind": "out_of_cell", "bookings": [b], "at": "2025-05-21T09:00:00.000Z"}),
            ),
            &["cus", "dir"],
            Scope::Object,
        )],
        "counts" => vec![case(
            "POST",
            "/api/counts".into(),
            Some(
                json!({"facility": f, "at": "2025-05-21T21:00:00.000Z", "cells": [{"cell": "M1-C01", "counted": 0}]}),
            ),
            &["cus", "dir"],
            Scope::Facility,
        )],
        "records" => vec![
            case(
                "POST",
                "/api/records".into(),
                Some(
                    json!({"record": "contact", "facility": f, "booking": b, "kind": "visit", "party": "family", "at": "2025-05-21T10:00:00.000Z", "with": "madre", "minutes": 30}),
                ),
                &["reg", "cus", "leg", "dir"],
                Scope::Object,
            ),
            case(
                "POST",
                "/api/records".into(),
                Some(
                    json!({"record": "health", "facility": f, "booking": b, "at": "2025-05-21T11:00:00.000Z", "kind": "visit", "notes": "control"}),
                ),
                &["hea"],
                Scope::Object,
            ),
            case(
                "POST",
                "/api/records".into(),
                Some(
                    json!({"record": "serious_harm", "facility": f, "booking": b, "at": "2025-05-21T12:00:00.000Z", "kind": "injury", "circumstances": "caída en la celda"}),
                ),
                &["hea", "reg", "cus", "leg", "dir"],
                Scope::Object,
            ),
        ],
        "orders" => vec![case(
            "POST",
            "/api/orders".into(),
            Some(
                json!({"facility": f, "booking": b, "legal_status": "remand",
            "order": {"kind": "pretrial_detention", "authority": "Juzgado", "reference": "R-2", "issued": "2025-05-20", "expires": "2025-11-20"}}),
            ),
            &["reg", "leg", "dir"],
            Scope::Object,
        )],
        "non_associations" => vec![case(
            "POST",
            "/api/non-associations".into(),
            Some(
                json!({"facility": f, "a": b, "b": o.second, "scope": "cell", "reason": "amenazas", "authority": "Dirección"}),
            ),
            &["cus", "dir"],
            Scope::Object,
        )],
        "identity_corrections" => vec![case(
            "POST",
            "/api/identity-corrections".into(),
            Some(
                json!({"facility": f, "person": o.second, "reason": "partida de nacimiento", "authority": "RNPN", "given_names": "Nombre Corregido"}),
            ),
            &["reg", "dir"],
            Scope::Object,
        )],
        "death_steps" => vec![case(
            "POST",
            "/api/death-steps".into(),
            Some(
                json!({"facility": f, "case": o.case, "step": "family_informed", "detail": "llamada"}),
            ),
            &["hea", "dir", "nat"],
            Scope::Object,
        )],
        "releases" => vec![Case {
            ends_custody: true,
            ..case(
                "POST",
                "/api/releases".into(),
                Some(
                    json!({"facility": f, "booking": ending, "reason": "bail", "authority": "Juzgado", "reference": "L-1"}),
                ),
                &["reg", "dir"],
                Scope::Object,
            )
        }],
        "transfers" => vec![Case {
            ends_custody: true,
            ..case(
                "POST",
                "/api/transfers".into(),
                Some(
                    json!({"facility": f, "booking": ending, "to": if f == "CECOT" { "IZALCO" } else { "CECOT" }, "authority": "DGCP", "reference": "T-1"}),
                ),
                &["reg", "dir", "nat"],
                Scope::Object,
            )
        }],
        "deaths" => vec![Case {
            ends_custody: true,
            ..case(
                "POST",
                "/api/deaths".into(),
                Some(
                    json!({"facility": f, "booking": ending, "at": "2025-05-21T03:00:00.000Z", "place": "celda", "circumstances": "x"}),
                ),
                &["cus", "hea", "dir"],
                Scope::Object,
            )
        }],
        "agreement_report" => vec![case(
            "GET",
            format!("/api/reports/agreement?id={}", o.agreement),
            None,
            &["dir", "nat", "ins"],
            Scope::Path,
        )],
        "agreements" => vec![case(
            "POST",
            "/api/agreements".into(),
            Some(
                json!({"facility": f, "counterpart": "US", "reference": "A-1", "starts": "2025-03-01", "terms": "custodia temporal"}),
            ),
            &["nat"],
            Scope::Facility,
        )],
        "logbook_add" => vec![case(
            "POST",
            "/api/logbook".into(),
            Some(json!({"facility": f, "text": "recuento sin novedad", "place": "M1"})),
            &["reg", "cus", "leg", "hea", "dir"],
            Scope::Facility,
        )],
        "environment" => vec![case(
            "POST",
            "/api/environment".into(),
            Some(
                json!({"facility": f, "place": "M1-C01", "temperature_c": "31.5", "lighting": "on"}),
            ),
            &["cus", "dir"],
            Scope::Facility,
        )],
        "certifications" => vec![case(
            "POST",
            "/api/certifications".into(),
            Some(
                json!({"facility": f, "cell": "M1-C02", "cna": 8, "operational_capacity": 9, "authority": "Dirección General", "reason": "inspección de 2025"}),
            ),
            &["nat"],
            Scope::Facility,
        )],
        "estate" => vec![case(
            "POST",
            "/api/estate".into(),
            Some(json!({"facility": {"code": f, "name": f, "country": "SV"},
            "unit": [{"code": "M9", "name": "Módulo 9", "cell_count": 1, "cell_template": {"area_m2": 40, "bunks": 10, "cna": 10, "operational_capacity": 10}}]})),
            &["dir", "nat"],
            Scope::Facility,
        )],
        "register_status" => vec![case(
            "GET",
            "/api/register".into(),
            None,
            &["nat", "ins", "adm"],
            Scope::Global,
        )],
        "register_verify" => vec![case(
            "POST",
            "/api/register/verify".into(),
            None,
            &["nat", "ins"],
            Scope::Global,
        )],
        "users_list" => vec![case(
            "GET",
            "/api/users".into(),
            None,
            &["adm", "ins"],
            Scope::Global,
        )],
        "users_add" => vec![case(
            "POST",
            "/api/users".into(),
            Some(
                json!({"username": "nueva.insp", "role": "inspector", "password": "otra-clave-larga-1"}),
            ),
            &["adm"],
            Scope::Global,
        )],
        "users_change" => vec![case(
            "POST",
            "/api/users/changes".into(),
            // (A token is issued only to its own account or a machine's: see the tokens test.)
            Some(json!({"username": "cus.izalco", "action": "unlock"})),
            &["adm"],
            Scope::Global,
        )],
        "access_log" => vec![case(
            "GET",
            "/api/access-log".into(),
            None,
            &["ins", "adm"],
            Scope::Global,
        )],
        "metrics" => vec![case(
            "GET",
            "/metrics".into(),
            None,
            &["nat", "ins", "adm"],
            Scope::Global,
        )],
        "tokens_list" => vec![case(
            "GET",
            "/api/tokens".into(),
            None,
            EVERYONE,
            Scope::Global,
        )],
        "tokens_issue" => vec![case(
            "POST",
            "/api/tokens".into(),
            Some(json!({"name": "matrix", "days": 1})),
            EVERYONE,
            Scope::Global,
        )],
        "tokens_revoke" => vec![case(
            "DELETE",
            "/api/tokens/matrix".into(),
            None,
            EVERYONE,
            Scope::Global,
        )],
        "whereabouts" => vec![case(
            "POST",
            "/api/whereabouts".into(),
            Some(
                json!({"document": {"kind": "DUI", "number": "00000000-0"}, "purpose": "matrix", "case_reference": "M-1"}),
            ),
            &["cou", "omb"],
            Scope::Global,
        )],
        "me" => vec![case(
            "GET",
            "/api/session".into(),
            None,
            EVERYONE,
            Scope::Global,
        )],
        "sign_out" => vec![case(
            "DELETE",
            "/api/session".into(),
            None,
            EVERYONE,
            Scope::Global,
        )],
        other => unreachable!(
            "operation {other} of the API's document is not in the authorization matrix: add it"
        ),
    }
}

/// What a request should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Forbidden,
    NotFound,
}

#[tokio::test]
async fn the_authorization_matrix_every_route_every_role_inside_and_outside_scope() {
    let w = world();
    let actor = actor();
    // Each facility: the world's person, a second one, and a third who died (a death case).
    let mut held = Vec::new();
    for (facility, first, names) in [
        ("CECOT", w.people[0].0, ["Carlos", "Dora"]),
        ("IZALCO", w.people[1].0, ["Ernesto", "Fabia"]),
    ] {
        let second = w
            .records
            .append_all(vec![admission(facility, names[0])])
            .unwrap()[0]
            .index;
        let third = w
            .records
            .append_all(vec![admission(facility, names[1])])
            .unwrap()[0]
            .index;
        let death = habeas_core::events::Death::new(
            facility,
            third,
            "2025-05-20T03:00:00.000Z",
            "celda",
            "paro",
            false,
            Timestamp(T0),
        )
        .unwrap()
        .to_draft(&actor);
        let case = w.records.append_all(vec![death]).unwrap()[0].index;
        let agreement = w.records.append_all(vec![agreement_of(facility)]).unwrap()[0].index;
        held.push(Held {
            booking: first,
            second,
            case,
            agreement,
        });
    }
    let (cecot, izalco) = (held[0], held[1]);
    // Every operation of the document, the session's own last (signing out ends the loop's
    // session); the public ones are listed, so that a new public route is a decision too.
    let doc = serde_json::to_value(habeas_web::openapi::document()).unwrap();
    let public = ["healthz", "openapi", "sign_in", "checkpoint", "tile"];
    let mut ops: Vec<String> = Vec::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(
                secured,
                !public.contains(&id.as_str()),
                "{method} {path} ({id})"
            );
            if secured {
                ops.push(id);
            }
        }
    }
    ops.sort_by_key(|op| match op.as_str() {
        "me" => 1,
        "sign_out" => 2,
        _ => 0,
    });
    assert!(ops.len() >= 30, "{ops:?}");
    let users = [
        "reg.cecot",
        "cus.cecot",
        "leg.cecot",
        "hea.cecot",
        "dir.cecot",
        "cus.izalco",
        "nat",
        "ins",
        "adm",
        "cou",
        "omb",
    ];
    let facilities = |user: &str| -> Option<&'static str> {
        if user.ends_with(".cecot") {
            Some("CECOT")
        } else if user.ends_with(".izalco") {
            Some("IZALCO")
        } else {
            None
        }
    };
    let covers = |user: &str, f: &str| facilities(user).is_none_or(|mine| mine == f);
    let mut counted = std::collections::BTreeMap::<&str, usize>::new();
    let mut checked = 0;
    for user in users {
        let role = user.split('.').next().unwrap();
        let (cookie, csrf) = w.session(user).await;
        for variant in [Variant::Cross, Variant::Own, Variant::Other] {
            let (named, touched, people) = match variant {
                Variant::Own => ("CECOT", "CECOT", cecot),
                Variant::Other => ("IZALCO", "IZALCO", izalco),
                Variant::Cross => ("CECOT", "IZALCO", izalco),
            };
            for op in &ops {
                // The session's own routes once, in the last variant.
                if matches!(op.as_str(), "me" | "sign_out") && variant != Variant::Other {
                    continue;
                }
                for c in matrix_cases(op, named, people, variant == Variant::Cross) {
                    // Routes without a facility, once; a route without objects has no cross case.
                    let session = matches!(op.as_str(), "me" | "sign_out");
                    let skip = match c.scope {
                        Scope::Global => variant != Variant::Own && !session,
                        Scope::Facility => variant == Variant::Cross,
                        Scope::Path => variant == Variant::Cross,
                        Scope::Object => false,
                    };
                    if skip {
                        continue;
                    }
                    let expected = if !c.roles.contains(&role) {
                        Expect::Forbidden
                    } else {
                        match c.scope {
                            Scope::Global => Expect::Allowed,
                            Scope::Facility if covers(user, named) => Expect::Allowed,
                            Scope::Facility => Expect::Forbidden,
                            Scope::Path if covers(user, touched) => Expect::Allowed,
                            Scope::Path => Expect::NotFound,
                            Scope::Object if !covers(user, named) => Expect::Forbidden,
                            Scope::Object if named != touched => Expect::NotFound,
                            Scope::Object => Expect::Allowed,
                        }
                    };
                    let at = format!("{user} {op} {variant:?} {} {}", c.method, c.uri);
                    let before = w.log().len();
                    let a = w
                        .call(
                            c.method,
                            &c.uri,
                            &[("cookie", &cookie), (CSRF_HEADER, &csrf)],
                            c.body.clone(),
                        )
                        .await;
                    assert!(a.status.as_u16() < 500, "{at}: {} {}", a.status, a.body);
                    // Whatever the answer, it is what the document says it is.
                    if let Some(schema) = documented(&doc, c.method, &c.uri, a.status) {
                        conforms(&a.body, schema, &doc, &at).unwrap();
                        checked += 1;
                    }
                    match expected {
                        Expect::Allowed => {
                            assert!(
                                ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN]
                                    .contains(&a.status),
                                "{at} is allowed: {} {}",
                                a.status,
                                a.body
                            );
                            // Only a booking named not to exist is not found.
                            assert!(
                                a.status != StatusCode::NOT_FOUND || c.ends_custody,
                                "{at}: {} {}",
                                a.status,
                                a.body
                            );
                        }
                        Expect::Forbidden | Expect::NotFound => {
                            let status = if expected == Expect::Forbidden {
                                StatusCode::FORBIDDEN
                            } else {
                                StatusCode::NOT_FOUND
                            };
                            assert_eq!(a.status, status, "{at}: {}", a.body);
                            if expected == Expect::NotFound {
                                assert_eq!(a.body["error"]["code"], "not_found", "{at}");
                                // Nothing said of the facility that holds them.
                                assert!(
                                    !a.body.to_string().contains(touched),
                                    "{at} discloses {touched}: {}",
                                    a.body
                                );
                            }
                            // Nothing written, and the refusal logged.
                            let log = w.log();
                            assert_eq!(log.len(), before + 1, "{at}: one access-log entry");
                            let last = log.last().unwrap();
                            assert_eq!(
                                (last["kind"].as_str(), last["actor"].as_str()),
                                (
                                    Some("access.refused"),
                                    Some(format!("user:{user}").as_str())
                                ),
                                "{at}"
                            );
                        }
                    }
                    *counted
                        .entry(match expected {
                            Expect::Allowed => "allowed",
                            Expect::Forbidden => "forbidden",
                            Expect::NotFound => "not found",
                        })
                        .or_default() += 1;
                }
            }
        }
        // Signed out by the last route: the cookie opens nothing any more.
        let after = w
            .call("GET", "/api/session", &[("cookie", &cookie)], None)
            .await;
        assert_eq!(
            after.status,
            StatusCode::UNAUTHORIZED,
            "{user} after signing out"
        );
    }
    // Without credentials, every route asks to sign in, before it looks at what is asked.
    for op in &ops {
        for c in matrix_cases(op, "CECOT", cecot, false) {
            let a = w.call(c.method, &c.uri, &[], c.body.clone()).await;
            assert_eq!(
                a.status,
                StatusCode::UNAUTHORIZED,
                "{op} without credentials: {}",
                a.body
            );
        }
    }
    // The world is as the refused requests left it: IZALCO's people all still held there.
    for person in [izalco.booking, izalco.second] {
        let file = w.main.person_file(person).unwrap().unwrap();
        assert_eq!(file.custodies.len(), 1, "{person}");
        assert_eq!(file.custodies[0].facility, "IZALCO");
        assert!(file.custodies[0].ended_by.is_none(), "{person}");
    }
    assert!(counted["forbidden"] > 100, "{counted:?}");
    assert!(counted["not found"] > 30, "{counted:?}");
    assert!(counted["allowed"] > 100, "{counted:?}");
    assert!(
        checked > 300,
        "{checked} answers checked against the document"
    );
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let w = world();
    let (cookie, csrf) = w.session("reg.cecot").await;
    let h = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let before = w.main.size().unwrap();
    let no_order = json!({
        "facility": "CECOT",
        "person": {"given_names": "Sin", "surnames": ["Orden"], "birth_date": "1991-02-03", "sex": "male", "nationalities": ["SV"]},
        "admitted_at": "2025-05-20T10:00:00.000Z",
        "legal_status": "remand",
        "orders": [],
        "arrest": {"at": "2025-05-18T06:00:00.000Z", "place": "San Salvador", "authority": "PNC"}
    });
    let a = w
        .call("POST", "/api/admissions", &h, Some(no_order.clone()))
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("orders")),
        "{}",
        a.body
    );
    let mut typo = no_order.clone();
    typo["person"]["birth_date"] = json!(19910203);
    let a = w.call("POST", "/api/admissions", &h, Some(typo)).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("person.birth_date")),
        "{}",
        a.body
    );
    let a = w
        .call("POST", "/api/admissions", &h, Some(json!("not an object")))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // The projections refuse what the state forbids, naming the field: a cell that does not
    // exist.
    let (cookie, csrf) = w.session("cus.cecot").await;
    let h = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let a = w
        .call(
            "POST",
            "/api/allocations",
            &h,
            Some(json!({"facility": "CECOT", "booking": w.people[0].0, "cell": "NOPE"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cell")),
        "{}",
        a.body
    );
    // An override is for the direction only.
    let a = w
        .call(
            "POST",
            "/api/allocations",
            &h,
            Some(json!({"facility": "CECOT", "booking": w.people[0].0, "cell": "M1-C01", "override_reason": "x", "override_authority": "y"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        w.main.size().unwrap(),
        before,
        "nothing refused was written"
    );
    // What is accepted is written, once: an allocation, then a count that finds the person.
    let a = w
        .call(
            "POST",
            "/api/allocations",
            &h,
            Some(json!({"facility": "CECOT", "booking": w.people[0].0, "cell": "M1-C01"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w
        .call("POST", "/api/counts", &h, Some(json!({"facility": "CECOT", "at": "2025-05-21T21:00:00.000Z", "cells": [{"cell": "M1-C01", "counted": 1}]})))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["report"]["lines"][0]["expected"], 1);
    assert_eq!(w.main.size().unwrap(), before + 2);
}

/// What the fuzzer found once: an empty facility and a username with control characters
/// gave 500s (the access log refused the labels); a bad query gave plain text.
/// A request with raw bytes for a body and the headers given (no content type of its own).
async fn raw(
    w: &World,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = w
        .app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn requests_are_checked_in_order_who_then_what_and_odd_ones_get_the_error_shape() {
    let w = world();
    let (cecot, _) = w.people[0];
    // Who asks comes first: without credentials, 401 whatever the parameters.
    for uri in [
        "/api/persons",
        "/api/persons?limit=x",
        &format!("/api/persons/{cecot}"),
        "/api/persons/x",
        "/api/access-log?limit=x",
        "/api/reports/compliance?as_of=nonsense",
        "/metrics",
    ] {
        let a = w.call("GET", uri, &[], None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{uri}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "unauthenticated", "{uri}");
    }
    let a = raw(
        &w,
        "POST",
        "/api/logbook",
        &[("content-type", "text/plain")],
        b"not json".to_vec(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);

    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let size = w.main.size().unwrap();
    let note = json!({"facility": "CECOT", "text": "sin novedad"}).to_string();
    // A body is JSON, said so, and nothing follows it.
    let a = raw(
        &w,
        "POST",
        "/api/logbook",
        &signed,
        note.clone().into_bytes(),
    )
    .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("content-type")),
        "{}",
        a.body
    );
    let mut with_type = signed.to_vec();
    with_type.push(("content-type", "text/plain"));
    let a = raw(
        &w,
        "POST",
        "/api/logbook",
        &with_type,
        note.clone().into_bytes(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", a.body);
    let mut json_type = signed.to_vec();
    json_type.push(("content-type", "application/json; charset=utf-8"));
    for trailing in [
        format!("{note} {{}}"),
        format!("{note}x"),
        format!("{note}{note}"),
    ] {
        let a = raw(
            &w,
            "POST",
            "/api/logbook",
            &json_type,
            trailing.clone().into_bytes(),
        )
        .await;
        assert_eq!(
            (a.status, a.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("body")),
            "{trailing}: {}",
            a.body
        );
    }
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    let a = raw(
        &w,
        "POST",
        "/api/logbook",
        &json_type,
        format!("{note}\n").into_bytes(),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "white space after the value is fine: {}",
        a.body
    );

    // A name is one line.
    let size = w.main.size().unwrap();
    let mut admission = json!({
        "facility": "CECOT",
        "person": {"given_names": "Ana\nDROP", "surnames": ["López"], "birth_date": "1991-02-03", "sex": "female", "nationalities": ["SV"]},
        "admitted_at": "2025-05-20T10:00:00.000Z",
        "legal_status": "remand",
        "orders": [{"kind": "pretrial_detention", "authority": "Juzgado", "reference": "9-2025", "issued": "2025-05-19", "expires": "2025-11-19"}],
        "arrest": {"at": "2025-05-18T06:00:00.000Z", "place": "San Salvador", "authority": "PNC"}
    });
    let a = w
        .call("POST", "/api/admissions", &signed, Some(admission.clone()))
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("person.given_names")),
        "{}",
        a.body
    );
    admission["person"]["given_names"] = json!("Ana");
    admission["person"]["surnames"] = json!(["Ló\rpez"]);
    let a = w
        .call("POST", "/api/admissions", &signed, Some(admission))
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("person.surnames[0]")),
        "{}",
        a.body
    );
    let a = w.call("POST", "/api/identity-corrections", &signed, Some(json!({"facility": "CECOT", "person": cecot, "reason": "error", "authority": "RNPN", "given_names": "Ana\nMaría"}))).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("given_names")),
        "{}",
        a.body
    );
    assert_eq!(w.main.size().unwrap(), size, "nothing written");

    // Too large a body, address or head: the one error shape.
    let big = raw(
        &w,
        "POST",
        "/api/logbook",
        &json_type,
        vec![b' '; 3 * 1024 * 1024],
    )
    .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.body["error"]["code"], "body_too_large", "{}", big.body);
    let long = format!("/api/persons?q={}", "a".repeat(9000));
    let a = w.call("GET", &long, &signed, None).await;
    assert_eq!(a.status, StatusCode::URI_TOO_LONG);
    assert_eq!(a.body["error"]["code"], "uri_too_long", "{}", a.body);
    let filler = "x".repeat(33 * 1024);
    let mut heavy = signed.to_vec();
    heavy.push(("x-filler", filler.as_str()));
    let a = w.call("GET", "/api/session", &heavy, None).await;
    assert_eq!(a.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(a.body["error"]["code"], "headers_too_large", "{}", a.body);

    // A person file says why it is read; without a purpose nothing is read or logged as read.
    let before = w.log().len();
    for uri in [
        format!("/api/persons/{cecot}"),
        format!("/api/persons/{cecot}?purpose=%20%20"),
    ] {
        let a = w.call("GET", &uri, &signed, None).await;
        assert_eq!(
            (a.status, a.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("purpose")),
            "{uri}: {}",
            a.body
        );
    }
    assert_eq!(w.log().len(), before, "no read without a purpose");

    // A scoped search logs what it listed, and no refusal that did not happen.
    let before = w.log().len();
    let a = w.call("GET", "/api/persons?q=ana", &signed, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let log = w.log();
    let kinds: Vec<&str> = log[before..]
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["access.listed"], "{:?}", &log[before..]);
}

#[tokio::test]
async fn what_cannot_be_true_is_refused_naming_the_field_and_the_rule() {
    let w = world();
    let (cecot, _) = w.people[0];
    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let size = w.main.size().unwrap();
    // Admitted on 2025-05-01: a release on 2025-04-30 did not happen.
    let a = w
        .call("POST", "/api/releases", &signed, Some(json!({"facility": "CECOT", "booking": cecot, "reason": "bail", "authority": "Juzgado", "reference": "L-1", "at": "2025-04-30T10:00:00.000Z"})))
        .await;
    assert_eq!(
        (
            a.status,
            a.body["error"]["field"].as_str(),
            a.body["error"]["code"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("at"),
            Some("before_custody")
        ),
        "{}",
        a.body
    );
    // Nor a visit.
    let a = w
        .call("POST", "/api/records", &signed, Some(json!({"record": "contact", "facility": "CECOT", "booking": cecot, "kind": "visit", "party": "family", "at": "2025-05-01T09:59:59.999Z", "with": "madre", "minutes": 30})))
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("at")),
        "{}",
        a.body
    );
    // An admission on an order that had expired is no admission (Rule 7(a)).
    let a = w
        .call("POST", "/api/admissions", &signed, Some(json!({
            "facility": "CECOT",
            "person": {"given_names": "Otro", "surnames": ["Caso"], "birth_date": "1990-01-01", "sex": "male", "nationalities": ["SV"]},
            "admitted_at": "2025-05-31T10:00:00.000Z",
            "legal_status": "remand",
            "orders": [{"kind": "pretrial_detention", "authority": "Juzgado", "reference": "1-2024", "issued": "2024-12-01", "expires": "2025-01-01"}],
            "arrest": {"at": "2025-05-30T06:00:00.000Z", "place": "San Salvador", "authority": "PNC"}
        })))
        .await;
    assert_eq!(
        (
            a.status,
            a.body["error"]["field"].as_str(),
            a.body["error"]["code"].as_str()
        ),
        (
            StatusCode::BAD_REQUEST,
            Some("orders"),
            Some("no_legal_basis")
        ),
        "{}",
        a.body
    );
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Rule 7(a)"),
        "{}",
        a.body
    );
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    // The same release dated after the admission is recorded.
    let a = w
        .call("POST", "/api/releases", &signed, Some(json!({"facility": "CECOT", "booking": cecot, "reason": "bail", "authority": "Juzgado", "reference": "L-1", "at": "2025-05-02T10:00:00.000Z"})))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
}

/// Rule 68: a person who declines to have anyone told is not found uninformed; the decline is a
/// notice for inspectors instead. Only the facility holding the person records it.
#[tokio::test]
async fn a_decline_to_have_anyone_told_is_a_notice_in_place_of_the_finding() {
    let w = world();
    let (ana, _) = w.people[0];
    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let about_ana = |a: &Answer| -> Vec<(String, String)> {
        a.body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["subject"]["booking"] == ana)
            .filter(|f| f["code"].as_str().unwrap().starts_with("notification."))
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_owned(),
                    f["severity"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let report = "/api/reports/compliance?facility=CECOT&as_of=2025-05-20";
    // Admitted 2025-05-01T10:00 and no one called: found.
    let a = w.call("GET", report, &signed, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        about_ana(&a),
        [(
            "notification.family_not_informed".to_owned(),
            "serious".to_owned()
        )]
    );
    let declined = |facility: &str, booking: u64, at: &str| {
        json!({"record": "notification_declined", "facility": facility, "booking": booking,
            "at": at, "statement": "No quiero que mi familia sepa que estoy aquí.",
            "witnessed_by": "Lcda. Pérez, trabajo social"})
    };
    let size = w.main.size().unwrap();
    // Another facility's staff cannot record it: for the facility the body names (403), nor
    // for their own facility, which does not hold her (404, as if she did not exist).
    let (other, other_csrf) = w.session("cus.izalco").await;
    let elsewhere = [
        ("cookie", other.as_str()),
        (CSRF_HEADER, other_csrf.as_str()),
    ];
    let a = w
        .call(
            "POST",
            "/api/records",
            &elsewhere,
            Some(declined("CECOT", ana, "2025-05-01T12:00:00Z")),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = w
        .call(
            "POST",
            "/api/records",
            &elsewhere,
            Some(declined("IZALCO", ana, "2025-05-01T12:00:00Z")),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::NOT_FOUND, Some("booking")),
        "{}",
        a.body
    );
    // Not before the custody began, nor without the person's words.
    let a = w
        .call(
            "POST",
            "/api/records",
            &signed,
            Some(declined("CECOT", ana, "2025-05-01T09:00:00Z")),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("at")),
        "{}",
        a.body
    );
    let mut silent = declined("CECOT", ana, "2025-05-01T12:00:00Z");
    silent["statement"] = json!("  ");
    let a = w.call("POST", "/api/records", &signed, Some(silent)).await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("statement")),
        "{}",
        a.body
    );
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    // Her decline, said two hours after the admission but written to the register only now,
    // months later: on 2025-05-20 the records held neither a contact nor a decline, so that
    // day is still found.
    let a = w
        .call(
            "POST",
            "/api/records",
            &signed,
            Some(declined("CECOT", ana, "2025-05-01T12:00:00Z")),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let entry = a.body["entry"].as_u64().unwrap();
    let a = w.call("GET", report, &signed, None).await;
    assert_eq!(
        about_ana(&a),
        [(
            "notification.family_not_informed".to_owned(),
            "serious".to_owned()
        )]
    );
    // As of today the serious finding ends when the decline was written, and the notice says
    // it was written late.
    let today = format!(
        "/api/reports/compliance?facility=CECOT&as_of={}",
        w.clock.now().date_string()
    );
    let finding = |a: &Answer, code: &str| -> Value {
        a.body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code && f["subject"]["booking"] == ana)
            .unwrap()
            .clone()
    };
    let a = w.call("GET", &today, &signed, None).await;
    assert_eq!(
        about_ana(&a),
        [
            (
                "notification.family_not_informed".to_owned(),
                "serious".to_owned()
            ),
            ("notification.declined".to_owned(), "notice".to_owned())
        ]
    );
    let serious = finding(&a, "notification.family_not_informed");
    assert_eq!(serious["until"], Timestamp(T0).to_string(), "{serious}");
    assert!(
        serious["detail"]
            .as_str()
            .unwrap()
            .contains("said to have been made 2025-05-01T12:00:00.000Z"),
        "{serious}"
    );
    let notice = finding(&a, "notification.declined");
    assert_eq!(notice["evidence"], json!([ana, entry]));
    let detail = notice["detail"].as_str().unwrap();
    assert!(
        detail.contains("witnessed by Lcda. Pérez, trabajo social") && detail.contains("late"),
        "{notice}"
    );
    // Someone admitted three hours ago who declined an hour ago, written down now: a notice,
    // not the serious finding.
    let hours_ago = |h: i64| Timestamp(T0 - h * 3_600_000).to_string();
    let a = w
        .call(
            "POST",
            "/api/admissions",
            &signed,
            Some(json!({
                "facility": "CECOT",
                "person": {"given_names": "Carla", "surnames": ["Mejía"], "birth_date": "1994-02-03", "sex": "female", "nationalities": ["SV"]},
                "admitted_at": hours_ago(3), "legal_status": "remand",
                "orders": [{"kind": "pretrial_detention", "authority": "Juzgado", "reference": "12-2025", "issued": "2025-11-23", "expires": "2026-05-23"}],
                "arrest": {"at": "2025-11-23T06:00:00.000Z", "place": "San Salvador", "authority": "PNC"}
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let carla = a.body["entry"].as_u64().unwrap();
    let a = w
        .call(
            "POST",
            "/api/records",
            &signed,
            Some(declined("CECOT", carla, &hours_ago(1))),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w.call("GET", &today, &signed, None).await;
    let about_carla: Vec<&str> = a.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"]["booking"] == carla)
        .filter_map(|f| f["code"].as_str())
        .filter(|c| c.starts_with("notification."))
        .collect();
    assert_eq!(about_carla, ["notification.declined"]);
    // She changes her mind and calls her mother, half an hour ago, written down now: the
    // notice ends with the call.
    let half_an_hour_ago = Timestamp(T0 - 1_800_000).to_string();
    let a = w
        .call("POST", "/api/records", &signed, Some(json!({"record": "contact", "facility": "CECOT", "booking": ana, "kind": "call", "party": "family", "at": half_an_hour_ago, "with": "madre", "minutes": 10})))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w.call("GET", &today, &signed, None).await;
    let notice = finding(&a, "notification.declined");
    // The call came before the decline was written: it ends the serious finding.
    let serious = finding(&a, "notification.family_not_informed");
    assert_eq!(serious["until"], half_an_hour_ago, "{serious}");
    assert_eq!(notice["until"], half_an_hour_ago, "{notice}");
    // A call dated back months, written down now, counts from now (after the first call, it
    // changes nothing; alone, it would have ended the serious finding only now).
    let a = w
        .call("POST", "/api/records", &signed, Some(json!({"record": "contact", "facility": "CECOT", "booking": ana, "kind": "call", "party": "family", "at": "2025-05-02T09:00:00Z", "with": "madre", "minutes": 10})))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w.call("GET", &today, &signed, None).await;
    let serious = finding(&a, "notification.family_not_informed");
    assert_eq!(serious["until"], half_an_hour_ago, "{serious}");
    // The person's file holds it, in the person's words.
    let a = w
        .call(
            "GET",
            &format!("/api/persons/{ana}?purpose=test"),
            &signed,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let file = a.body.to_string();
    assert!(
        file.contains("contact.notification_declined")
            && file.contains("No quiero que mi familia sepa que estoy aquí."),
        "{file}"
    );
}

/// Rule 68 from the person's file: the family told, or the person's own decline, recorded by
/// the staff of the facility holding the person; a bad form names its field and writes
/// nothing; the findings follow.
#[tokio::test]
async fn the_family_told_or_the_persons_decline_is_recorded_from_the_file() {
    let w = world();
    let (ana, _) = w.people[0];
    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str())];
    let report = "/api/reports/compliance?facility=CECOT&as_of=2025-05-20";
    let uninformed = |a: &Answer| -> bool {
        a.body["findings"].as_array().unwrap().iter().any(|f| {
            f["code"] == "notification.family_not_informed" && f["subject"]["booking"] == ana
        })
    };
    let a = w.call("GET", report, &signed, None).await;
    assert!(uninformed(&a), "{}", a.body);
    // The file links to the page; the page says when the contact falls due.
    let file = w.file_page(ana, &signed).await;
    assert!(
        file.contains(&format!("/ui/notify?booking={ana}")),
        "{file}"
    );
    let a = w
        .call("GET", &format!("/ui/notify?booking={ana}"), &signed, None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(
        page(&a).contains("id=\"notify-contact\"") && page(&a).contains("id=\"notify-decline\""),
        "{}",
        page(&a)
    );
    assert!(page(&a).contains("24"), "{}", page(&a));
    // Another facility's staff, and health staff, do not get it.
    let (izalco, _) = w.session("cus.izalco").await;
    let a = w
        .call(
            "GET",
            &format!("/ui/notify?booking={ana}"),
            &[("cookie", izalco.as_str())],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    let (health, health_csrf) = w.session("hea.cecot").await;
    let size = w.main.size().unwrap();
    let a = w
        .form(
            "/ui/notify",
            &[("cookie", health.as_str())],
            &format!(
                "csrf={health_csrf}&booking={ana}&what=contact&kind=call&party=family&with=madre"
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    // A contact with nobody named, or minutes that are not a number: refused, naming the field
    // by its label in the reader's language.
    w.form_refused(
        "/ui/notify",
        &signed,
        &format!("csrf={csrf}&booking={ana}&what=contact&kind=call&party=family&with=+&at=2025-05-01T11:00"),
        ("notify-refused", "Nombre y parentesco: "),
    )
    .await;
    w.form_refused(
        "/ui/notify",
        &signed,
        &format!(
            "csrf={csrf}&booking={ana}&what=contact&kind=call&party=family&with=madre&minutes=diez"
        ),
        ("notify-refused", "Minutos (llamada o visita): "),
    )
    .await;
    // A decline without the person's words.
    w.form_refused(
        "/ui/notify",
        &signed,
        &format!("csrf={csrf}&booking={ana}&what=decline&statement=+"),
        ("notify-refused", "Palabras de la persona: "),
    )
    .await;
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    // Her mother called an hour after the admission: recorded.
    let a = w
        .form(
            "/ui/notify",
            &signed,
            &format!("csrf={csrf}&booking={ana}&what=contact&kind=call&party=family&with=Mar%C3%ADa+L%C3%B3pez%2C+madre&minutes=10&at=2025-05-01T11:00"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    assert!(page(&a).contains("id=\"notify-done\""), "{}", page(&a));
    let entry: Value = serde_json::from_slice(&w.main.entry(size).unwrap().unwrap()).unwrap();
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["facility"].as_str(),
            entry["payload"]["party"].as_str(),
            entry["payload"]["with"].as_str(),
            entry["payload"]["at"].as_str()
        ),
        (
            Some("contact.recorded"),
            Some("CECOT"),
            Some("family"),
            Some("María López, madre"),
            Some("2025-05-01T11:00:00.000Z")
        ),
        "{entry}"
    );
    // Written down only now, months after it was made: as of 2025-05-20 the records held no
    // contact, so she is still found that day; as of today the finding ends when the call was
    // written, and says so.
    let a = w.call("GET", report, &signed, None).await;
    assert!(uninformed(&a), "{}", a.body);
    let today = format!(
        "/api/reports/compliance?facility=CECOT&as_of={}",
        w.clock.now().date_string()
    );
    let a = w.call("GET", &today, &signed, None).await;
    let serious = a.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "notification.family_not_informed" && f["subject"]["booking"] == ana)
        .unwrap()
        .clone();
    assert_eq!(serious["until"], Timestamp(T0).to_string(), "{serious}");
    assert!(
        serious["detail"]
            .as_str()
            .unwrap()
            .contains("written to the register only"),
        "{serious}"
    );
    // A decline, in her words, witnessed, written now (the form's time left empty).
    let a = w
        .form(
            "/ui/notify",
            &signed,
            &format!("csrf={csrf}&booking={ana}&what=decline&statement=No+quiero+que+avisen+a+nadie&witnessed_by=Lcda.+P%C3%A9rez"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    let entry: Value = serde_json::from_slice(&w.main.entry(size + 1).unwrap().unwrap()).unwrap();
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["payload"]["statement"].as_str(),
            entry["payload"]["witnessed_by"].as_str(),
            entry["payload"]["at"].as_str()
        ),
        (
            Some("contact.notification_declined"),
            Some("No quiero que avisen a nadie"),
            Some("Lcda. Pérez"),
            Some(Timestamp(T0).to_string().as_str())
        ),
        "{entry}"
    );
}

#[tokio::test]
async fn one_document_is_one_person_and_probable_matches_are_named() {
    let w = world();
    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let person = |document: Option<&str>| {
        let mut p = json!({"given_names": "Mario José", "surnames": ["Pérez", "Gómez"], "birth_date": "1989-07-14", "sex": "male", "nationalities": ["SV"]});
        if let Some(d) = document {
            p["documents"] = json!([{"kind": "dui", "number": d}]);
        }
        p
    };
    let admit = |p: Value| {
        json!({
            "facility": "CECOT", "person": p,
            "admitted_at": "2025-05-20T10:00:00.000Z", "legal_status": "remand",
            "orders": [{"kind": "pretrial_detention", "authority": "Juzgado", "reference": "9-2025", "issued": "2025-05-19", "expires": "2025-11-19"}],
            "arrest": {"at": "2025-05-18T06:00:00.000Z", "place": "San Salvador", "authority": "PNC"}
        })
    };
    let a = w
        .call(
            "POST",
            "/api/admissions",
            &signed,
            Some(admit(person(Some("04512345-6")))),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let first = a.body["entry"].as_u64().unwrap();
    let size = w.main.size().unwrap();
    // The same document, written another way and with another name: the same person, held.
    let mut other = person(Some("04512345 6"));
    other["given_names"] = json!("Mario");
    let a = w
        .call("POST", "/api/admissions", &signed, Some(admit(other)))
        .await;
    assert_eq!(
        (
            a.status,
            a.body["error"]["code"].as_str(),
            a.body["error"]["field"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("known_person"),
            Some("person.documents[0]")
        ),
        "{}",
        a.body
    );
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("person {first}"))
            && message.contains(&format!("booking {first}")),
        "{message}"
    );
    // No document, the same name (accents and case aside) and birth date: a probable match,
    // named, until the registry says it is someone else.
    let mut same = person(None);
    same["given_names"] = json!("MARIO JOSE");
    same["surnames"] = json!(["Perez", "Gomez"]);
    let a = w
        .call(
            "POST",
            "/api/admissions",
            &signed,
            Some(admit(same.clone())),
        )
        .await;
    assert_eq!(
        (
            a.status,
            a.body["error"]["code"].as_str(),
            a.body["error"]["field"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("probable_match"),
            Some("person")
        ),
        "{}",
        a.body
    );
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("person {first}")),
        "{}",
        a.body
    );
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    let mut confirmed = admit(same);
    confirmed["new_person"] = json!(true);
    let a = w
        .call("POST", "/api/admissions", &signed, Some(confirmed))
        .await;
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "someone else, said so: {}",
        a.body
    );
    // Released, then brought back with the same document: admitted again as the same person.
    let a = w.call("POST", "/api/releases", &signed, Some(json!({"facility": "CECOT", "booking": first, "reason": "bail", "authority": "Juzgado", "reference": "L-9", "at": "2025-05-25T10:00:00.000Z"}))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let mut back = admit(person(Some("04512345-6")));
    back["admitted_at"] = json!("2025-06-01T10:00:00.000Z");
    back["orders"][0]["issued"] = json!("2025-05-31");
    let a = w
        .call("POST", "/api/admissions", &signed, Some(back.clone()))
        .await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("known_person")),
        "{}",
        a.body
    );
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("existing_person {first}")),
        "{}",
        a.body
    );
    back.as_object_mut().unwrap().remove("person");
    back["existing_person"] = json!(first);
    let a = w.call("POST", "/api/admissions", &signed, Some(back)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let file = w.main.person_file(first).unwrap().unwrap();
    assert_eq!(file.custodies.len(), 2, "two stays of one person");
    // A rebuild gives the same documents.
    assert_eq!(w.main.check_projections().unwrap(), Ok(()));
}

#[tokio::test]
async fn men_with_women_and_children_with_adults_need_two_authorities_and_are_grave_at_once() {
    let w = world();
    let (cecot, _) = w.people[0];
    let (cookie, csrf) = w.session("dir.cecot").await;
    let signed = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let admit = |given: &str, sex: &str, birth: &str| {
        json!({
            "facility": "CECOT",
            "person": {"given_names": given, "surnames": ["Rivas"], "birth_date": birth, "sex": sex, "nationalities": ["SV"]},
            "admitted_at": "2025-05-20T10:00:00.000Z", "legal_status": "remand",
            "orders": [{"kind": "pretrial_detention", "authority": "Juzgado", "reference": "9-2025", "issued": "2025-05-19", "expires": "2025-11-19"}],
            "arrest": {"at": "2025-05-18T06:00:00.000Z", "place": "San Salvador", "authority": "PNC"}
        })
    };
    let a = w
        .call(
            "POST",
            "/api/allocations",
            &signed,
            Some(json!({"facility": "CECOT", "booking": cecot, "cell": "M1-C01"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w
        .call(
            "POST",
            "/api/admissions",
            &signed,
            Some(admit("Marta", "female", "1990-03-03")),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let woman = a.body["entry"].as_u64().unwrap();
    let size = w.main.size().unwrap();
    // An override by the direction alone does not put a woman in a cell of men.
    let one = json!({"facility": "CECOT", "booking": woman, "cell": "M1-C01", "override_reason": "falta de espacio", "override_authority": "Dirección"});
    let a = w
        .call("POST", "/api/allocations", &signed, Some(one.clone()))
        .await;
    assert_eq!(
        (
            a.status,
            a.body["error"]["field"].as_str(),
            a.body["error"]["code"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("override_second_authority"),
            Some("second_authority")
        ),
        "{}",
        a.body
    );
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("breaks Rule 11(a)"), "{message}");
    let mut same = one.clone();
    same["override_second_authority"] = json!("dirección");
    let a = w
        .call("POST", "/api/allocations", &signed, Some(same))
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("override_second_authority")),
        "the same authority twice: {}",
        a.body
    );
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    let mut two = one;
    two["override_second_authority"] = json!("Juzgado de Vigilancia Penitenciaria");
    let a = w.call("POST", "/api/allocations", &signed, Some(two)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    // A child admitted where children are not held: only when the rule is named.
    let child = admit("Kevin", "male", "2012-01-10");
    let a = w
        .call("POST", "/api/admissions", &signed, Some(child.clone()))
        .await;
    assert_eq!(
        (
            a.status,
            a.body["error"]["field"].as_str(),
            a.body["error"]["code"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("confirm"),
            Some("minor")
        ),
        "{}",
        a.body
    );
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Rule 11(d)"),
        "{}",
        a.body
    );
    let mut confirmed = child;
    confirmed["confirm"] = json!(["Rule 11(d)"]);
    let a = w
        .call("POST", "/api/admissions", &signed, Some(confirmed))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let boy = a.body["entry"].as_u64().unwrap();
    // Both grave findings from the first day.
    let a = w
        .call(
            "GET",
            "/api/reports/compliance?facility=CECOT&as_of=2025-05-20",
            &signed,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // The answer names the built-in policy by the SHA-256 of the shipped file; it relaxes
    // nothing.
    let shipped = habeas_core::compliance::strictness::sha256_hex(
        habeas_core::compliance::MANDELA_MINIMUM.as_bytes(),
    );
    assert_eq!(a.body["policy"], "mandela-minimum");
    assert_eq!(a.body["policy_sha256"], json!(shipped));
    assert_eq!(a.body["policy_relaxes"], json!([]));
    let findings = a.body["findings"].as_array().unwrap();
    let grave = |code: &str| {
        findings
            .iter()
            .find(|f| f["code"] == code)
            .map(|f| f["severity"].clone())
    };
    assert_eq!(
        grave("separation.sexes"),
        Some(json!("grave")),
        "{findings:?}"
    );
    let minor = findings
        .iter()
        .find(|f| f["code"] == "custody.minor_in_adult_facility")
        .unwrap();
    assert_eq!(
        (
            minor["severity"].as_str(),
            minor["subject"]["booking"].as_u64()
        ),
        (Some("grave"), Some(boy))
    );
}

#[tokio::test]
async fn strange_input_gets_a_json_error_never_a_server_error() {
    let w = world();
    let (cookie, _) = w.session("nat").await;
    for uri in [
        "/api/population?facility=",
        "/api/deaths?facility=",
        "/api/reports/statistics?facility=&as_of=",
        "/api/persons?limit=-1&q=x",
        "/api/persons/-1",
        "/api/access-log?limit=-1",
    ] {
        let a = w.call("GET", uri, &[("cookie", &cookie)], None).await;
        assert!(a.status.is_client_error(), "{uri}: {}", a.status);
        assert!(a.body["error"]["code"].is_string(), "{uri}: {}", a.body);
    }
    let a = w
        .call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "\u{13}Ñ\u{80}", "password": "x", "code": ";`\u{13}"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert_eq!(
        w.log().last().unwrap()["payload"]["username"],
        "\u{13}Ñ\u{80}"
    );
}

#[tokio::test]
async fn an_inspector_verifies_the_register_from_the_api() {
    let w = world();
    let (cookie, csrf) = w.session("ins").await;
    let h = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let status = w.call("GET", "/api/register", &h, None).await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.body["size"].as_u64(), Some(w.main.size().unwrap()));
    assert!(status.body["verifier_key"]
        .as_str()
        .unwrap()
        .starts_with("habeas.test/api+"));
    let v = w.call("POST", "/api/register/verify", &h, None).await;
    assert_eq!(v.status, StatusCode::CREATED, "{}", v.body);
    assert_eq!(v.body["ok"], true, "{}", v.body);
    assert_eq!(v.body["entries"].as_u64(), Some(w.main.size().unwrap()));
    assert_eq!(v.body["root"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn administrators_manage_accounts_through_the_api_and_each_change_is_logged() {
    let w = world();
    let (cookie, csrf) = w.session("adm").await;
    let h = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let a = w
        .call("POST", "/api/users", &h, Some(json!({"username": "nueva.insp", "role": "inspector", "password": "otra-clave-larga-1"})))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert!(a.body["show_once"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Habeas:nueva.insp?"));
    // The rules hold here too, by field.
    for (body, field) in [
        (
            json!({"username": "x.y", "role": "custody", "password": "otra-clave-larga-1"}),
            "facility",
        ),
        (
            json!({"username": "x.y", "role": "custody", "facilities": ["CECOT"], "password": "password"}),
            "password",
        ),
        (
            json!({"username": "nueva.insp", "role": "national", "password": "otra-clave-larga-1"}),
            "username",
        ),
    ] {
        let a = w.call("POST", "/api/users", &h, Some(body)).await;
        assert_eq!(
            (a.status, a.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{}",
            a.body
        );
    }
    let a = w
        .call(
            "POST",
            "/api/users/changes",
            &h,
            Some(json!({"username": "cus.cecot", "action": "lock"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let r = w
        .call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "cus.cecot", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials"))
    );
    let last = w.log().last().unwrap().clone();
    assert_eq!(last["payload"]["outcome"], "locked", "the log says why");
    let a = w
        .call(
            "POST",
            "/api/users/changes",
            &h,
            Some(json!({"username": "cus.cecot", "action": "reset_password"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password"))
    );
    let accounts: Vec<(String, String)> = w
        .log()
        .iter()
        .filter(|e| e["kind"] == "access.account")
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["payload"]["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        accounts,
        [
            ("user:adm".to_owned(), "added".to_owned()),
            ("user:adm".to_owned(), "locked".to_owned())
        ]
    );
    // The list never shows a hash or a secret.
    let list = w.call("GET", "/api/users", &h, None).await;
    let text = list.body.to_string();
    assert!(
        text.contains("nueva.insp") && !text.contains("argon2") && !text.contains("totp_secret")
    );
}

impl World {
    /// A form post (`application/x-www-form-urlencoded`).
    async fn form(&self, uri: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut req = Request::builder().method("POST").uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap();
        self.page_answer(req).await
    }

    /// Sends a request whose answer is a page (text).
    async fn page_answer(&self, req: Request<Body>) -> Answer {
        let (status, headers, bytes) = self.send_raw(req).await;
        Answer {
            status,
            headers,
            body: Value::String(String::from_utf8_lossy(&bytes).into()),
        }
    }

    /// Sends a request and keeps the answer's bytes.
    async fn send_raw(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes.to_vec())
    }
}

/// The schema the API's document gives for the answer to `method uri` with `status`: the
/// path matched against the document's templates (`/api/persons/{person}`), the query left
/// out. `None` when the answer has no JSON body documented.
fn documented<'a>(
    doc: &'a Value,
    method: &str,
    uri: &str,
    status: StatusCode,
) -> Option<&'a Value> {
    let path = uri.split('?').next().unwrap_or(uri);
    let parts: Vec<&str> = path.split('/').collect();
    let (_, ops) = doc["paths"].as_object()?.iter().find(|(template, _)| {
        let t: Vec<&str> = template.split('/').collect();
        t.len() == parts.len()
            && t.iter()
                .zip(&parts)
                .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')))
    })?;
    let answer = &ops[method.to_ascii_lowercase()]["responses"][status.as_str()];
    assert!(
        answer.is_object(),
        "{method} {uri}: status {status} is not documented"
    );
    let schema = &answer["content"]["application/json"]["schema"];
    schema.is_object().then_some(schema)
}

/// Whether `v` is what `schema` (of the API's document `doc`) describes: every key of an
/// object documented, every required key present, every value of a documented type.
fn conforms(v: &Value, schema: &Value, doc: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return conforms(v, &doc["components"]["schemas"][name], doc, at);
    }
    if let Some(all) = schema["allOf"].as_array() {
        return all.iter().try_for_each(|s| conforms(v, s, doc, at));
    }
    if let Some(one) = schema["oneOf"].as_array() {
        return match one.iter().any(|s| conforms(v, s, doc, at).is_ok()) {
            true => Ok(()),
            false => Err(format!("{at}: {v} is none of the documented forms")),
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()), // any value
    };
    let fits = types.iter().any(|t| match *t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => false,
    });
    if !fits {
        return Err(format!("{at}: {v} is not of type {types:?}"));
    }
    if let (Some(o), Some(props)) = (v.as_object(), schema["properties"].as_object()) {
        for (k, x) in o {
            let p = props
                .get(k)
                .ok_or_else(|| format!("{at}.{k} is not documented"))?;
            conforms(x, p, doc, &format!("{at}.{k}"))?;
        }
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap_or_default();
            if !o.contains_key(r) {
                return Err(format!("{at}.{r} is required but missing"));
            }
        }
    }
    if let (Some(a), true) = (v.as_array(), schema["items"].is_object()) {
        for (i, x) in a.iter().enumerate() {
            conforms(x, &schema["items"], doc, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

fn page(a: &Answer) -> &str {
    a.body.as_str().unwrap_or("")
}

impl World {
    /// A register's page as its staff open it: the page, its form and its link in the menu.
    async fn register_page(&self, uri: &str, headers: &[(&str, &str)], form: &str, nav: &str) {
        let a = self.call("GET", uri, headers, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
        assert!(page(&a).contains(&format!("id=\"{form}\"")), "{}", page(&a));
        assert!(page(&a).contains(&format!("id=\"{nav}\"")), "{}", page(&a));
    }

    /// `POST /api/records` of `body`, recorded: its entry.
    /// The file page of `person` as `headers` reads it (answered 200), for its links and words.
    async fn file_page(&self, person: u64, headers: &[(&str, &str)]) -> String {
        let a = self
            .call(
                "GET",
                &format!("/ui/persons/{person}?reason=other"),
                headers,
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
        page(&a).to_owned()
    }

    /// The first case `GET /api/harms?facility=CECOT` lists (answered 200): its entry, kind
    /// and pending steps.
    async fn first_harm_case(
        &self,
        headers: &[(&str, &str)],
    ) -> (Option<u64>, Option<String>, Value) {
        let a = self
            .call("GET", "/api/harms?facility=CECOT", headers, None)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let case = &a.body["cases"][0];
        (
            case["case"].as_u64(),
            case["kind"].as_str().map(str::to_owned),
            case["pending"].clone(),
        )
    }

    async fn record(&self, headers: &[(&str, &str)], body: Value) -> u64 {
        let a = self.call("POST", "/api/records", headers, Some(body)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body["entry"].as_u64().unwrap()
    }

    /// `POST /api/records` of `body` refused with `status`, naming `field` (if any), and
    /// nothing written.
    async fn record_refused(
        &self,
        headers: &[(&str, &str)],
        body: Value,
        (status, field): (StatusCode, Option<&str>),
    ) {
        let before = self.main.size().unwrap();
        let a = self.call("POST", "/api/records", headers, Some(body)).await;
        assert_eq!(a.status, status, "{}", a.body);
        if field.is_some() {
            assert_eq!(a.body["error"]["field"].as_str(), field, "{}", a.body);
        }
        assert_eq!(self.main.size().unwrap(), before, "nothing written");
    }

    /// A register's form refused: 400, the refusal shown (`id="{refused}"`) naming `label`,
    /// and nothing written.
    async fn form_refused(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
        body: &str,
        (refused, label): (&str, &str),
    ) {
        let before = self.main.size().unwrap();
        let a = self.form(uri, headers, body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", page(&a));
        assert!(
            page(&a).contains(&format!("id=\"{refused}\"")),
            "{}",
            page(&a)
        );
        assert!(page(&a).contains(label), "{}", page(&a));
        assert_eq!(self.main.size().unwrap(), before);
    }
}

#[tokio::test]
async fn the_pages_sign_in_board_cell_person_file_admission_and_language() {
    let w = world();
    // Not signed in: every page leads to the sign-in page.
    let a = w.call("GET", "/ui/board", &[], None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.headers["location"], "/ui/sign-in");
    // The sign-in page in the browser's language, or the one asked for.
    let a = w
        .call(
            "GET",
            "/ui/sign-in",
            &[("accept-language", "en-GB,en;q=0.9")],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(page(&a).contains("<html lang=\"en\">") && page(&a).contains("Sign in"));
    let csp = a.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("style-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    // Scripts only from the server itself (htmx), never inline and never evaluated.
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(page(&a).contains("<script src=\"/ui/htmx.min.js\" defer></script>"));
    assert!(
        page(&a).contains("\"historyCacheSize\":0"),
        "no copy of a page in the browser's storage"
    );
    let a = w.call("GET", "/ui/sign-in?lang=es", &[], None).await;
    assert!(page(&a).contains("Iniciar sesión"));
    assert!(
        page(&a).contains("<label for=\"code\">"),
        "every field has a label"
    );
    let css = w.call("GET", "/ui/style.css", &[], None).await;
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    let js = w.call("GET", "/ui/htmx.min.js", &[], None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");

    // A director needs the code: without it, as with a wrong password, the page says nothing
    // about which part was wrong (the code's field is always there). Both are logged, via the
    // web, with what was wrong.
    let form =
        |code: &str, password: &str| format!("username=dir.cecot&password={password}&code={code}");
    let a = w
        .form("/ui/sign-in?lang=es", &[], &form("", PASSWORD))
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let without_code = page(&a).to_owned();
    assert!(without_code.contains("Usuario, contraseña o código incorrectos"));
    assert!(without_code.contains("<label for=\"code\">"));
    assert!(!without_code.contains("aria-invalid"), "{without_code}");
    assert_eq!(
        w.log().last().unwrap()["payload"]["outcome"],
        "missing_code"
    );
    assert!(
        page(&a).contains("value=\"dir.cecot\""),
        "the username is kept"
    );
    let a = w
        .form("/ui/sign-in?lang=es", &[], &form("000000", "otra-cosa-1"))
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(page(&a), without_code, "the same page");
    let last = w.log().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["payload"]["via"].as_str()),
        (Some("access.sign_in"), Some("web"))
    );
    let code = w.code_for(&w.totp["dir.cecot"]);
    let a = w.form("/ui/sign-in", &[], &form(&code, PASSWORD)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    assert_eq!(a.headers["location"], "/ui/board");
    let set = a.headers["set-cookie"].to_str().unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
    let cookie = set.split(';').next().unwrap().to_owned();
    let me = w
        .call("GET", "/api/session", &[("cookie", &cookie)], None)
        .await;
    let csrf = me.body["csrf"].as_str().unwrap().to_owned();

    // Put Ana in the first cell through the API, then look at the board and the cell.
    let cells = w.main.cells(Some("CECOT")).unwrap();
    let cell = cells[0].code.clone();
    let (ana, _) = w.people[0];
    let a = w
        .call(
            "POST",
            "/api/allocations",
            &[("cookie", &cookie), (CSRF_HEADER, &csrf)],
            Some(json!({"facility": "CECOT", "booking": ana, "cell": cell})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w
        .call("GET", "/ui/board", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let board = page(&a);
    assert!(board.contains("Tablero de CECOT"), "{board}");
    assert!(board.contains("<dd id=\"held\">1</dd>"), "{board}");
    for c in &cells {
        assert!(board.contains(&format!("href=\"/ui/cells/CECOT/{}\"", c.code)));
    }
    // One person in a cell of 10: green, and 40 m² for them.
    assert!(board.contains("class=\"cell ok\""), "{board}");
    assert!(board.contains("40,00 m²"), "{board}");
    assert!(
        board.contains(&format!(
            "title=\"Celda {}: 1 de 10, 40,00 m² por persona\"",
            cells[0].code
        )),
        "{board}"
    );
    let a = w
        .call(
            "GET",
            &format!("/ui/cells/CECOT/{cell}"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        page(&a).contains("Ana López") && page(&a).contains("prisión preventiva"),
        "{}",
        page(&a)
    );
    assert!(page(&a).contains("en la celda"));
    assert!(!page(&a).contains("id=\"cell-findings\""), "only on asking");
    // On asking, the cell's findings: those the report gives for this cell, each detail in
    // the reader's language.
    let report = w
        .call(
            "GET",
            &format!(
                "/api/reports/compliance?facility=CECOT&as_of={}",
                w.clock.now().date_string()
            ),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    let expected: Vec<&str> = report.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"]["kind"] == "cell" && f["subject"]["cell"] == cell.as_str())
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!expected.is_empty(), "{}", report.body);
    let a = w
        .call(
            "GET",
            &format!("/ui/cells/CECOT/{cell}?findings=true"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    let html = page(&a);
    let table = html
        .split("id=\"cell-findings\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_default();
    let listed: Vec<&str> = table
        .split("<tr><td>")
        .skip(1)
        .map(|row| row.split('<').next().unwrap())
        .collect();
    assert_eq!(listed, expected, "{html}");
    assert!(!table.contains("lang=\"en\""), "{table}");
    let a = w
        .call(
            "GET",
            "/ui/cells/CECOT/NO-SUCH",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // The file asks why first, and logs nothing until then.
    // Typed as people write names too: capitals and accents find the same person.
    for q in ["ana+lopez", "Ana+L%C3%B3pez"] {
        let a = w
            .call(
                "GET",
                &format!("/ui/persons?q={q}"),
                &[("cookie", &cookie)],
                None,
            )
            .await;
        assert!(
            page(&a).contains(&format!("href=\"/ui/persons/{ana}\"")),
            "{q}: {}",
            page(&a)
        );
        // A search names people: logged with its words and how many were found.
        let last = w.log().last().unwrap().clone();
        assert_eq!(last["kind"], "access.listed");
        assert_eq!(last["payload"]["what"], "person search");
        assert_eq!(
            last["payload"]["query"],
            q.replace('+', " ").replace("%C3%B3", "ó")
        );
        assert!(last["payload"]["people"].as_u64().unwrap() >= 1);
    }
    let logged = w.log().len();
    let a = w
        .call(
            "GET",
            &format!("/ui/persons/{ana}"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(page(&a).contains("Motivo de la consulta") && page(&a).contains("name=\"reason\""));
    assert_eq!(w.log().len(), logged, "no reading without a reason");
    let file = format!("/ui/persons/{ana}?reason=hearing&detail=audiencia+5");
    let a = w.call("GET", &file, &[("cookie", &cookie)], None).await;
    assert_eq!(a.status, StatusCode::OK);
    let html = page(&a);
    assert!(
        html.contains("Ana López") && html.contains("Juzgado") && html.contains("1-2025"),
        "{html}"
    );
    // A director does not read health content: its kind shows, not what it says.
    assert!(
        html.contains("reservado") && !html.contains("hipertensión"),
        "{html}"
    );
    let last = w.log().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["payload"]["purpose"].as_str()),
        (Some("access.read"), Some("hearing: audiencia 5"))
    );
    // Her current findings, on asking: no family contact, no hearing… each citing its rule.
    let a = w
        .call(
            "GET",
            &format!("{file}&findings=true"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    let html = page(&a);
    assert!(
        html.contains("id=\"findings-table\"") && html.contains("contact.family"),
        "{html}"
    );
    assert!(!html.contains("id=\"no-findings\""));
    // Each finding's detail in the reader's language where the catalogue has it.
    assert!(
        html.contains("<td>ningún contacto con la familia en ")
            && html.contains("días de detención, más de 30</td>"),
        "{html}"
    );
    assert!(
        html.contains("<td>la última orden venció el 30/10/2025, "),
        "{html}"
    );
    // Every one of her findings (legal basis, hearings, contact, regime, solitary
    // confinement, registration, the family told) is said in Spanish.
    let table = html
        .split("id=\"findings-table\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_default();
    assert!(
        table.contains("solitary.confinement") && !table.contains("lang=\"en\""),
        "{table}"
    );
    // The printable copy (Rule 9) is a reading too.
    let a = w
        .call(
            "GET",
            &format!("{file}&print=true"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert!(page(&a).contains("<body class=\"print\">") && page(&a).contains("Ana López"));
    assert_eq!(w.log().len(), logged + 3);

    // Another facility is refused, and the refusal logged.
    let a = w
        .call(
            "GET",
            "/ui/board?facility=IZALCO",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let last = w.log().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["facility"].as_str()),
        (Some("access.refused"), Some("IZALCO"))
    );

    // The language switch needs the form's token; then English is remembered for the account.
    let a = w
        .form(
            "/ui/language",
            &[("cookie", &cookie)],
            "language=en&back=/ui/board",
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = w
        .form(
            "/ui/language",
            &[("cookie", &cookie)],
            &format!("csrf={csrf}&language=en&back=/ui/board"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.headers["location"], "/ui/board");
    let a = w
        .call("GET", "/ui/board", &[("cookie", &cookie)], None)
        .await;
    assert!(page(&a).contains("<html lang=\"en\">") && page(&a).contains("CECOT (CECOT) board"));
    // An address elsewhere is not followed.
    let a = w
        .form(
            "/ui/language",
            &[("cookie", &cookie)],
            &format!("csrf={csrf}&language=es&back=//evil.example/"),
        )
        .await;
    assert_eq!(a.headers["location"], "/ui/board");

    // An admission in three steps: a missing field is named beside it; without a commitment
    // order the admission is refused (Rule 7) and nothing is written; with one, recorded.
    let a = w
        .call("GET", "/ui/admissions", &[("cookie", &cookie)], None)
        .await;
    assert!(page(&a).contains("Paso 1 de 4"), "{}", page(&a));
    let identity = "facility=CECOT&given_names=Carla&surname1=Ramos&surname2=&birth_date=1995-06-01&sex=female&nationalities=SV";
    let post = |body: String| {
        let cookie = cookie.clone();
        let w = &w;
        async move {
            w.form("/ui/admissions", &[("cookie", &cookie)], &body)
                .await
        }
    };
    let a = post(format!("csrf={csrf}&step=1&go=next&facility=CECOT&given_names=&surname1=Ramos&birth_date=1995-06-01&sex=female&nationalities=SV")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(page(&a).contains("id=\"given_names\" name=\"given_names\" type=\"text\" value=\"\" aria-invalid=\"true\""), "{}", page(&a));
    let a = post(format!("csrf={csrf}&step=1&go=next&{identity}")).await;
    assert!(
        page(&a).contains("Paso 2 de 4") && page(&a).contains("value=\"Carla\""),
        "{}",
        page(&a)
    );
    let legal_none = "legal_status=remand&order_kind=none&order_authority=&order_reference=&order_issued=&order_expires=";
    let arrest = "arrest_at=2025-11-22T08:00&arrest_place=San+Miguel&arrest_authority=PNC&admitted_at=2025-11-24T10:00";
    let size = w.main.size().unwrap();
    // The legal basis step does not pass empty: it names every field it lacks.
    let a = post(format!(
        "csrf={csrf}&step=2&go=next&{identity}&{legal_none}"
    ))
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(page(&a).contains("order_kind-error") && page(&a).contains("Paso 2 de 4"));
    let a = post(format!(
        "csrf={csrf}&step=2&go=next&{identity}&legal_status=remand&order_kind=pretrial_detention&order_authority=&order_reference=&order_issued=2025-13-01"
    ))
    .await;
    for field in [
        "order_authority-error",
        "order_reference-error",
        "order_issued-error",
    ] {
        assert!(page(&a).contains(field), "{field}: {}", page(&a));
    }
    let a = post(format!(
        "csrf={csrf}&step=4&go=submit&{identity}&{legal_none}&{arrest}"
    ))
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        page(&a).contains("Paso 2 de 4") && page(&a).contains("Regla 7"),
        "{}",
        page(&a)
    );
    assert!(page(&a).contains("order_kind-error"));
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    let legal = "legal_status=remand&order_kind=pretrial_detention&order_authority=Juzgado+2&order_reference=77-2025&order_issued=2025-11-23&order_expires=2026-05-23";
    let a = post(format!(
        "csrf={csrf}&step=4&go=submit&{identity}&{legal}&{arrest}"
    ))
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    assert!(page(&a).contains("Ingreso registrado"), "{}", page(&a));
    let carla = w.main.find_people(&["carla".to_owned()], 5).unwrap();
    assert_eq!(carla.len(), 1);
    // A foreign national: without a word of consular rights the admission is refused beside
    // the field, and nothing is written; "not told" records it as it is.
    let foreign = "facility=CECOT&given_names=Rosa&surname1=Mena&surname2=&birth_date=1990-01-01&sex=female&nationalities=NI";
    let size = w.main.size().unwrap();
    let a = post(format!(
        "csrf={csrf}&step=4&go=submit&{foreign}&{legal}&{arrest}"
    ))
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page(&a));
    assert!(
        page(&a).contains("consular_advised_at-error"),
        "{}",
        page(&a)
    );
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    let a = post(format!(
        "csrf={csrf}&step=4&go=submit&{foreign}&{legal}&{arrest}&consular_not_advised=on"
    ))
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    let rosa = w
        .main
        .find_people(&["rosa".to_owned(), "mena".to_owned()], 5)
        .unwrap();
    let f = w.main.person_file(rosa[0].person).unwrap().unwrap();
    let e: Value =
        serde_json::from_slice(&w.main.entry(f.custodies[0].booking).unwrap().unwrap()).unwrap();
    assert_eq!(
        e["payload"]["consular"],
        json!({"notification_requested": false})
    );
    let f = w.main.person_file(carla[0].person).unwrap().unwrap();
    assert_eq!(f.custodies[0].orders[0].reference, "77-2025");
    // Her placement: the file links to it; with a man in the cell it is refused with Rule 11's
    // explanation and nothing written; another cell takes her.
    let booking = f.custodies[0].booking;
    let a = w
        .call(
            "GET",
            &format!("/ui/persons/{}?reason=other", carla[0].person),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert!(
        page(&a).contains(&format!("/ui/allocations?booking={booking}")),
        "{}",
        page(&a)
    );
    let a = w
        .call(
            "GET",
            &format!("/ui/allocations?booking={booking}"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        page(&a).contains(&format!("<option value=\"{}\"", cells[1].code)),
        "{}",
        page(&a)
    );
    let size = w.main.size().unwrap();
    let a = w
        .form(
            "/ui/allocations",
            &[("cookie", &cookie)],
            &format!("csrf={csrf}&booking={booking}&cell={}", cells[0].code),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page(&a));
    assert!(page(&a).contains("id=\"allocate-refused\""), "{}", page(&a));
    // In the reader's language, each rule once.
    let refusal = page(&a)
        .split("id=\"allocate-refused\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    assert_eq!(refusal.matches("Regla 11(a)").count(), 1, "{refusal}");
    assert!(
        refusal.contains("hombres y mujeres se alojan separados"),
        "{refusal}"
    );
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    let a = w
        .form(
            "/ui/allocations",
            &[("cookie", &cookie)],
            &format!("csrf={csrf}&booking={booking}&cell={}", cells[1].code),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    let f = w.main.person_file(carla[0].person).unwrap().unwrap();
    assert_eq!(f.custodies[0].cell.as_deref(), Some(cells[1].code.as_str()));

    // A roll count: a count that is not a number is named beside its cell and nothing is
    // written; then the count is recorded and the day's reconciliation shows the difference.
    let a = w
        .call("GET", "/ui/counts", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        page(&a).contains("Todavía no hay recuentos hoy"),
        "{}",
        page(&a)
    );
    assert!(
        page(&a).contains("Celdas sin contar hoy: 2"),
        "{}",
        page(&a)
    );
    let (c0, c1) = (cells[0].code.clone(), cells[1].code.clone());
    let size = w.main.size().unwrap();
    let a = w
        .form(
            "/ui/counts",
            &[("cookie", &cookie)],
            &format!("csrf={csrf}&facility=CECOT&at=2025-11-24T15:00&count.{c0}=1&count.{c1}=dos"),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        page(&a).contains(&format!("id=\"count-{c1}-error\"")),
        "{}",
        page(&a)
    );
    assert_eq!(w.main.size().unwrap(), size);
    let a = w
        .form(
            "/ui/counts",
            &[("cookie", &cookie)],
            &format!("csrf={csrf}&facility=CECOT&at=2025-11-24T15:00&count.{c0}=1&count.{c1}=0"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    let a = w
        .call("GET", "/ui/counts", &[("cookie", &cookie)], None)
        .await;
    let html = page(&a);
    assert!(
        html.contains("id=\"reconciliation\"")
            && html.contains("<td>-1</td>")
            && html.contains("<td>+0</td>"),
        "{html}"
    );
    assert!(html.contains("Todas las celdas se contaron hoy"), "{html}");

    // The compliance dashboard: findings by rule (a chart and a table), by unit, people held by
    // month, deaths.
    let a = w
        .call("GET", "/ui/compliance", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    let html = page(&a);
    assert!(
        html.contains("id=\"chart-rules\"><svg") && html.contains("id=\"chart-occupancy\"><svg"),
        "{html}"
    );
    let total: u64 = html
        .split("id=\"findings-total\">")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .map(|t| t.replace(['.', ','], "").parse().unwrap())
        .unwrap();
    assert!(
        total > 0,
        "the test records hold findings (no hearing, no contact…)"
    );
    assert!(html.contains("No hay muertes registradas"));
    for chart in [
        "chart-out-of-cell",
        "chart-open-air",
        "chart-family",
        "chart-legal",
    ] {
        assert!(html.contains(&format!("id=\"{chart}\"><svg")), "{chart}");
    }
    // The contact gaps have a bar for people never contacted, in the page's language.
    assert!(html.contains("\nnunca\n"), "{html}");

    // The registers: hearings by month, contacts and complaints, each of one facility, and
    // another facility's refused.
    for (path, empty) in [
        (
            "/ui/hearings?month=2025-11",
            "No hay audiencias registradas este mes",
        ),
        (
            "/ui/contacts?from=2025-11-01&to=2025-11-30",
            "No hay contactos registrados",
        ),
        ("/ui/complaints?status=all", "No hay quejas"),
    ] {
        let a = w.call("GET", path, &[("cookie", &cookie)], None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert!(
            page(&a).contains(empty) && page(&a).contains("id=\"list-summary\""),
            "{path}: {}",
            page(&a)
        );
    }
    let a = w
        .call(
            "GET",
            "/ui/hearings?month=2025-11",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert!(page(&a).contains("month=2025-10") && page(&a).contains("month=2025-12"));
    let a = w
        .call(
            "POST",
            "/api/records",
            &[("cookie", &cookie), (CSRF_HEADER, &csrf)],
            Some(json!({"record": "contact", "facility": "CECOT", "booking": ana, "kind": "visit", "party": "family", "at": "2025-05-21T10:00:00.000Z", "with": "madre", "minutes": 30})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w
        .call(
            "GET",
            "/ui/contacts?from=2025-05-01&to=2025-05-31&party=family",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    let html = page(&a);
    assert!(
        html.contains("Ana López")
            && html.contains("<td>visita</td>")
            && html.contains("<td>familia</td>"),
        "{html}"
    );
    // The register names people: it is in the access log, with its filter and how many.
    let last = w.log().last().cloned().unwrap();
    assert_eq!(last["kind"], "access.listed", "{last}");
    assert_eq!(last["payload"]["what"], "contacts register", "{last}");
    assert_eq!(last["payload"]["people"], 1, "{last}");
    let a = w
        .call(
            "GET",
            "/ui/contacts?from=2025-05-01&to=2025-05-31&party=legal",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert!(!page(&a).contains("Ana López"), "the party filter holds");
    let a = w
        .call(
            "GET",
            "/ui/contacts?facility=IZALCO",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // Custody staff do not admit.
    let (cus, cus_csrf) = w.sign_in("cus.cecot", None).await;
    let a = w
        .form(
            "/ui/admissions",
            &[("cookie", &cus)],
            &format!("csrf={cus_csrf}&step=3&go=submit&{identity}&{legal}&{arrest}"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // Health staff read health content; a person never held in the caller's facilities is
    // refused, and the refusal logged.
    let (hea, _) = w.sign_in("hea.cecot", None).await;
    let a = w
        .call(
            "GET",
            &format!("/ui/persons/{ana}?reason=health"),
            &[("cookie", &hea)],
            None,
        )
        .await;
    assert!(page(&a).contains("hipertensión"), "{}", page(&a));
    // The record's kind in the reader's language, not as the register spells it.
    assert!(
        page(&a).contains("reconocimiento al ingreso")
            && !page(&a).contains("admission_examination"),
        "{}",
        page(&a)
    );
    let (beto, _) = w.people[1];
    let a = w
        .call(
            "GET",
            &format!("/ui/persons/{beto}?reason=other"),
            &[("cookie", &hea)],
            None,
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::NOT_FOUND,
        "as if there were no such person"
    );
    assert_eq!(w.log().last().unwrap()["kind"], "access.refused");

    // The inspector: the register's status and a verification now; the access log, filtered.
    let code = w.code_for(&w.inspector_totp);
    let a = w
        .form(
            "/ui/sign-in",
            &[],
            &format!("username=ins&password={PASSWORD}&code={code}"),
        )
        .await;
    let ins = a.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let ins_csrf = w
        .call("GET", "/api/session", &[("cookie", &ins)], None)
        .await
        .body["csrf"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = w
        .call("GET", "/ui/register", &[("cookie", &ins)], None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(page(&a).contains("id=\"register-size\"") && page(&a).contains("Verificar ahora"));
    let a = w
        .form(
            "/ui/register/verify",
            &[("cookie", &ins)],
            &format!("csrf={ins_csrf}"),
        )
        .await;
    assert!(
        page(&a).contains("id=\"verify-result\"") && page(&a).contains("Verificado"),
        "{}",
        page(&a)
    );
    let a = w
        .call(
            "GET",
            &format!("/ui/access-log?kind=read&person={ana}"),
            &[("cookie", &ins)],
            None,
        )
        .await;
    let html = page(&a);
    assert!(
        html.contains("audiencia o trámite judicial: audiencia 5"),
        "{html}"
    );
    assert!(
        !html.contains("<td>inicio de sesión</td>"),
        "only readings: {html}"
    );
    // The export streams every entry and checkpoint, the disclosure logged first; a director
    // may not export.
    let a = w
        .call("GET", "/ui/register/export", &[("cookie", &ins)], None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert_eq!(a.headers["content-type"], "application/x-ndjson");
    assert!(a.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = page(&a).to_owned();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["format"], "habeas-register-export");
    let size = lines[0]["size"].as_u64().unwrap();
    let entries = lines.iter().filter(|l| l["type"] == "entry").count() as u64;
    let checkpoints = lines.iter().filter(|l| l["type"] == "checkpoint").count();
    assert_eq!(entries, size);
    assert!(checkpoints >= 1);
    let last = w.log().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["payload"]["what"].as_str()),
        (Some("access.disclosure"), Some("register export"))
    );
    let a = w
        .call("GET", "/ui/register/export", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // National administration sees every facility; a director sees neither page.
    let code = w.code_for(&w.totp["nat"]);
    let a = w
        .form(
            "/ui/sign-in",
            &[],
            &format!("username=nat&password={PASSWORD}&code={code}"),
        )
        .await;
    let nat = a.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let a = w
        .call("GET", "/ui/national", &[("cookie", &nat)], None)
        .await;
    assert!(
        page(&a).contains("/ui/board?facility=CECOT")
            && page(&a).contains("/ui/board?facility=IZALCO"),
        "{}",
        page(&a)
    );
    for path in ["/ui/national", "/ui/register", "/ui/access-log"] {
        let a = w.call("GET", path, &[("cookie", &cookie)], None).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
    }

    // Administrators do not read records.
    let code = w.code_for(&w.totp["adm"]);
    let a = w
        .form(
            "/ui/sign-in",
            &[],
            &format!("username=adm&password={PASSWORD}&code={code}"),
        )
        .await;
    let adm = a.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // An administrator's board is the accounts page.
    let a = w.call("GET", "/ui/board", &[("cookie", &adm)], None).await;
    assert!(a.status.is_redirection(), "{}", a.status);
    assert_eq!(a.headers["location"], "/ui/accounts");

    // Signing out needs the token too, ends the session, and the pages lead to sign-in again.
    let a = w
        .form("/ui/sign-out", &[("cookie", &cookie)], "csrf=wrong")
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = w
        .form(
            "/ui/sign-out",
            &[("cookie", &cookie)],
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(a.headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let a = w
        .call("GET", "/ui/board", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
}

/// A 1×1 PNG image.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

impl World {
    /// A form post as `multipart/form-data`, with one file field `photo`.
    async fn multipart(
        &self,
        uri: &str,
        cookie: &str,
        fields: &[(&str, &str)],
        file: &[u8],
    ) -> Answer {
        let boundary = "habeas-test-boundary";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!("--{boundary}\r\ncontent-disposition: form-data; name=\"photo\"; filename=\"foto\"\r\ncontent-type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("cookie", cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.page_answer(req).await
    }

    /// A GET whose answer is kept as bytes.
    async fn bytes(&self, uri: &str, cookie: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let req = Request::builder()
            .uri(uri)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap();
        self.send_raw(req).await
    }
}

#[tokio::test]
async fn a_photograph_is_recorded_shown_logged_and_kept_out_of_the_history() {
    use base64::Engine as _;
    let w = world();
    let (ana, _) = w.people[0];
    let today = w.clock.now().date_string();
    let (cookie, csrf) = w.session("reg.cecot").await;
    let file = format!("/ui/persons/{ana}?reason=inspection&detail=foto");
    let a = w.call("GET", &file, &[("cookie", &cookie)], None).await;
    assert!(page(&a).contains("id=\"no-photo\""), "{}", page(&a));
    assert!(
        page(&a).contains("id=\"photo-file\""),
        "registry staff are offered the form"
    );
    let post = format!("/ui/persons/{ana}/photo");
    let booking = ana.to_string();
    let fields = [
        ("csrf", csrf.as_str()),
        ("booking", booking.as_str()),
        ("taken_on", today.as_str()),
        ("reason", "inspection"),
        ("detail", "foto"),
    ];

    // A GIF is refused, the problem shown beside the field, and nothing is written.
    let size = w.main.size().unwrap();
    let a = w
        .multipart(&post, &cookie, &fields, b"GIF89a\x01\x00\x01\x00")
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    let back = a.headers["location"].to_str().unwrap().to_owned();
    assert!(back.contains("photo_error="), "{back}");
    assert_eq!(w.main.size().unwrap(), size);
    let a = w.call("GET", &back, &[("cookie", &cookie)], None).await;
    assert!(page(&a).contains("id=\"photo-error\""), "{}", page(&a));
    assert!(
        page(&a).contains("Fotografía: el archivo no es una imagen JPEG ni PNG"),
        "{}",
        page(&a)
    );

    // A PNG is recorded, shown, and read only with a logged reason.
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG_1X1)
        .unwrap();
    let a = w.multipart(&post, &cookie, &fields, &png).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    assert_eq!(w.main.size().unwrap(), size + 1);
    let a = w.call("GET", &file, &[("cookie", &cookie)], None).await;
    let text = page(&a).to_owned();
    let src = text
        .split("id=\"person-photo\"")
        .next()
        .and_then(|before| before.rsplit("src=\"").next())
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        src.starts_with(&format!("/ui/persons/{ana}/photo?reason=inspection")),
        "{src}"
    );
    let (status, headers, image) = w.bytes(&src, &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(image, png);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["cache-control"], "no-store");
    let last = w.log().last().unwrap().clone();
    assert_eq!(last["kind"], "access.read");
    assert_eq!(last["payload"]["part"], "photo");
    assert_eq!(last["payload"]["purpose"], "inspection: foto");
    let (status, _, _) = w.bytes(&format!("/ui/persons/{ana}/photo"), &cookie).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no reason, no photograph");

    // The history names the photograph but does not carry the image.
    let api = w
        .call(
            "GET",
            &format!("/api/persons/{ana}?purpose=inspection"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(api.status, StatusCode::OK);
    let history = api.body["history"].to_string();
    assert!(
        history.contains("custody.photo") && history.contains("\"bytes\":"),
        "{history}"
    );
    assert!(
        !history.contains(PNG_1X1) && !history.contains("\"data\""),
        "{history}"
    );

    // Custody staff read it but do not record one: no form, and a post is refused (logged).
    let (cus, cus_csrf) = w.session("cus.cecot").await;
    let a = w.call("GET", &file, &[("cookie", &cus)], None).await;
    assert!(page(&a).contains("id=\"person-photo\"") && !page(&a).contains("id=\"photo-file\""));
    let mut theirs = fields;
    theirs[0] = ("csrf", cus_csrf.as_str());
    let a = w.multipart(&post, &cus, &theirs, &png).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(w.main.size().unwrap(), size + 1);
    assert_eq!(w.log().last().unwrap()["kind"], "access.refused");
    // A post without the session's token is refused.
    let a = w.multipart(&post, &cookie, &fields[1..], &png).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn evaluations_are_kept_until_the_register_grows_and_a_minute_passes() {
    use habeas_core::dates::Date;
    let w = world();
    let kept = habeas_web::evaluations::Evaluations::default();
    let day = Date::of(w.clock.now());
    let first = kept.get(&w.main, &*w.clock, Some("CECOT"), day).unwrap();
    let again = kept.get(&w.main, &*w.clock, Some("CECOT"), day).unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "the same register, the same evaluation"
    );
    let everywhere = kept.get(&w.main, &*w.clock, None, day).unwrap();
    assert!(
        !Arc::ptr_eq(&first, &everywhere),
        "each facility has its own"
    );
    // The register grows: the evaluation is shown for up to a minute, then made again.
    let (cookie, csrf) = w.session("cus.cecot").await;
    let a = w
        .call(
            "POST",
            "/api/logbook",
            &[("cookie", &cookie), (CSRF_HEADER, &csrf)],
            Some(json!({"facility": "CECOT", "text": "recuento sin novedad"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    w.clock.advance_millis(30_000);
    let later = kept.get(&w.main, &*w.clock, Some("CECOT"), day).unwrap();
    assert!(Arc::ptr_eq(&first, &later), "kept for a minute");
    w.clock.advance_millis(31_000);
    let fresh = kept.get(&w.main, &*w.clock, Some("CECOT"), day).unwrap();
    assert!(!Arc::ptr_eq(&first, &fresh));
    assert_eq!(fresh.register_size, first.register_size + 1);
    // The dashboard says when its evaluation was made, and over how many entries.
    let a = w
        .call("GET", "/ui/compliance", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(page(&a).contains("id=\"evaluated\""), "{}", page(&a));
    // And against which policy: the SHA-256 of the shipped file.
    let shipped = habeas_core::compliance::strictness::sha256_hex(
        habeas_core::compliance::MANDELA_MINIMUM.as_bytes(),
    );
    assert_eq!(fresh.policy.sha256, shipped);
    assert!(page(&a).contains(&shipped), "{}", page(&a));
}

/// The `access.account` entries of the log: (actor, username, action).
fn account_entries(w: &World) -> Vec<(String, String, String)> {
    w.log()
        .iter()
        .filter(|e| e["kind"] == "access.account")
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["payload"]["username"].as_str().unwrap().to_owned(),
                e["payload"]["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_administrator_never_receives_another_persons_token() {
    let w = world();
    let (cookie, csrf) = w.session("adm").await;
    let h = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    // A token of the inspector (or a director, or custody staff) would be that person's
    // credential, without their second factor: refused, logged, and nothing issued.
    for person in ["ins", "dir.cecot", "cus.cecot"] {
        let a = w
            .call(
                "POST",
                "/api/users/changes",
                &h,
                Some(json!({"username": person, "action": "issue_token", "name": "robo"})),
            )
            .await;
        assert_eq!(
            (a.status, a.body["error"]["field"].as_str()),
            (StatusCode::FORBIDDEN, Some("username")),
            "{person}: {}",
            a.body
        );
        assert!(a.body.get("show_once").is_none(), "{}", a.body);
        let last = w.log().last().cloned().unwrap();
        assert_eq!(
            (last["kind"].as_str(), last["actor"].as_str()),
            (Some("access.refused"), Some("user:adm")),
            "{person}"
        );
    }
    assert!(
        !account_entries(&w)
            .iter()
            .any(|(_, _, a)| a == "token_issued"),
        "{:?}",
        account_entries(&w)
    );
}

#[tokio::test]
async fn the_last_active_administrator_cannot_be_locked() {
    let w = world();
    let (cookie, csrf) = w.session("adm").await;
    let h = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let lock = |who: &str| json!({"username": who, "action": "lock"});
    // The only administrator locking itself would leave nobody to unlock anyone.
    let a = w
        .call("POST", "/api/users/changes", &h, Some(lock("adm")))
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("username")),
        "{}",
        a.body
    );
    // With a second administrator, either may be locked, but not both.
    let a = w
        .call(
            "POST",
            "/api/users",
            &h,
            Some(json!({"username": "adm.dos", "role": "administrator", "password": "otra-clave-larga-1"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w
        .call("POST", "/api/users/changes", &h, Some(lock("adm.dos")))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w
        .call("POST", "/api/users/changes", &h, Some(lock("adm")))
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    // Unlocked again, the other may go.
    let a = w
        .call(
            "POST",
            "/api/users/changes",
            &h,
            Some(json!({"username": "adm.dos", "action": "unlock"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w
        .call("POST", "/api/users/changes", &h, Some(lock("adm")))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let actions: Vec<String> = account_entries(&w)
        .into_iter()
        .map(|(by, u, a)| format!("{by} {u} {a}"))
        .collect();
    assert_eq!(
        actions,
        [
            "user:adm adm.dos added",
            "user:adm adm.dos locked",
            "user:adm adm.dos unlocked",
            "user:adm adm locked"
        ]
    );
}

#[tokio::test]
async fn tokens_are_ones_own_or_a_machines_they_end_and_are_listed_and_revoked() {
    let w = world();
    let day = 86_400_000;
    // An inspector issues a token for itself, signed in with its second factor.
    let (cookie, csrf) = w.session("ins").await;
    let own = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let a = w
        .call(
            "POST",
            "/api/tokens",
            &own,
            Some(json!({"name": "informe", "days": 7})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let doc = serde_json::to_value(habeas_web::openapi::document()).unwrap();
    conforms(
        &a.body,
        documented(&doc, "POST", "/api/tokens", a.status).unwrap(),
        &doc,
        "issued",
    )
    .unwrap();
    assert_eq!(a.body["username"], "ins");
    assert_eq!(a.body["expires_at"], T0 + 7 * day);
    let token = a.body["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let by_token = [("authorization", bearer.as_str())];
    let me = w.call("GET", "/api/session", &by_token, None).await;
    assert_eq!(me.body["username"], "ins");
    // More than the server's maximum, a name already live, a token asking for a token: refused.
    for (body, status, field) in [
        (
            json!({"name": "largo", "days": 91}),
            StatusCode::BAD_REQUEST,
            "days",
        ),
        (json!({"name": "informe"}), StatusCode::BAD_REQUEST, "name"),
    ] {
        let a = w.call("POST", "/api/tokens", &own, Some(body)).await;
        assert_eq!(
            (a.status, a.body["error"]["field"].as_str()),
            (status, Some(field)),
            "{}",
            a.body
        );
    }
    let a = w
        .call(
            "POST",
            "/api/tokens",
            &by_token,
            Some(json!({"name": "otro"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("authorization")),
        "{}",
        a.body
    );
    assert_eq!(w.log().last().unwrap()["kind"], "access.refused");
    // Its own tokens are listed, with no secret.
    let list = w.call("GET", "/api/tokens", &own, None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    conforms(
        &list.body,
        documented(&doc, "GET", "/api/tokens", list.status).unwrap(),
        &doc,
        "list",
    )
    .unwrap();
    assert_eq!(list.body["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["tokens"][0]["issued_by"], "user:ins");
    assert!(!list.body.to_string().contains(&token));
    // Another account's are not the inspector's to see.
    let a = w.call("GET", "/api/tokens?username=adm", &own, None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // It works until it ends, then it is refused like an unknown token.
    w.clock.advance_millis(7 * day - 1);
    let a = w.call("GET", "/api/session", &by_token, None).await;
    assert_eq!(a.status, StatusCode::OK);
    w.clock.advance_millis(1);
    let a = w.call("GET", "/api/session", &by_token, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    // The person file by the quick path (the owner kept from before) too.
    let a = w
        .call(
            "GET",
            &format!("/api/persons/{}", w.people[0].0),
            &by_token,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);

    // A machine account: added by an administrator, no password, no person's role.
    let (cookie, csrf) = w.session("adm").await;
    let adm = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    for (body, field) in [
        (
            json!({"username": "robot.ins", "role": "inspector", "machine": true}),
            "role",
        ),
        (
            json!({"username": "robot.adm", "role": "administrator", "machine": true}),
            "role",
        ),
        (
            json!({"username": "sensores", "role": "custody", "facilities": ["CECOT"], "machine": true, "password": "otra-clave-larga-1"}),
            "password",
        ),
    ] {
        let a = w.call("POST", "/api/users", &adm, Some(body)).await;
        assert_eq!(
            (a.status, a.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{}",
            a.body
        );
    }
    let a = w
        .call(
            "POST",
            "/api/users",
            &adm,
            Some(json!({"username": "sensores", "role": "custody", "facilities": ["CECOT"], "machine": true})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    // It never signs in with a password, and failing to does not lock it.
    for _ in 0..6 {
        let a = w
            .call(
                "POST",
                "/api/session",
                &[],
                Some(json!({"username": "sensores", "password": "cualquier-cosa"})),
            )
            .await;
        assert_eq!(a.body["error"]["code"], "bad_credentials", "{}", a.body);
    }
    // The administrator issues its token (for 30 days)…
    let a = w
        .call(
            "POST",
            "/api/users/changes",
            &adm,
            Some(json!({"username": "sensores", "action": "issue_token", "name": "lecturas", "days": 30})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let machine = format!("Bearer {}", a.body["show_once"].as_str().unwrap());
    // Not by the administrator's own token, though: a token mints no tokens.
    let a = w
        .call("POST", "/api/tokens", &adm, Some(json!({"name": "propio"})))
        .await;
    let adm_token = format!("Bearer {}", a.body["token"].as_str().unwrap());
    let a = w
        .call(
            "POST",
            "/api/users/changes",
            &[("authorization", adm_token.as_str())],
            Some(json!({"username": "sensores", "action": "issue_token", "name": "otra"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("authorization")),
        "{}",
        a.body
    );
    let a = w
        .call(
            "POST",
            "/api/environment",
            &[("authorization", machine.as_str())],
            Some(json!({"facility": "CECOT", "place": "M1-C01", "temperature_c": "31.5"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let users = w.call("GET", "/api/users", &adm, None).await;
    let sensores = users.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "sensores")
        .cloned()
        .unwrap();
    assert_eq!(
        (sensores["machine"].clone(), sensores["locked_at"].clone()),
        (json!(true), Value::Null)
    );
    // …lists every account's tokens, never a secret, and revokes any.
    let all = w.call("GET", "/api/tokens", &adm, None).await;
    let owners: Vec<(&str, &str, &str)> = all.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["username"].as_str().unwrap(),
                t["name"].as_str().unwrap(),
                t["issued_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        owners,
        [
            ("adm", "propio", "user:adm"),
            ("ins", "informe", "user:ins"),
            ("sensores", "lecturas", "user:adm")
        ]
    );
    assert!(!all.body.to_string().contains("hash"));
    let a = w
        .call(
            "DELETE",
            "/api/tokens/lecturas?username=sensores",
            &adm,
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.body["revoked"].clone()),
        (StatusCode::OK, json!(1)),
        "{}",
        a.body
    );
    let a = w
        .call(
            "DELETE",
            "/api/tokens/lecturas?username=sensores",
            &adm,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    let a = w
        .call(
            "GET",
            "/api/session",
            &[("authorization", machine.as_str())],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    // A person revokes their own; a new password revokes every token of the account.
    let (cookie, csrf) = w.session("cus.cecot").await;
    let cus = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let mut mine = Vec::new();
    for name in ["uno", "dos"] {
        let a = w
            .call("POST", "/api/tokens", &cus, Some(json!({"name": name})))
            .await;
        assert_eq!(a.body["expires_at"], w.clock.now().millis() + 90 * day);
        mine.push(format!("Bearer {}", a.body["token"].as_str().unwrap()));
    }
    let a = w.call("DELETE", "/api/tokens/uno", &cus, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(w.live(&mine[0]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(w.live(&mine[1]).await, StatusCode::OK);
    let a = w
        .call(
            "POST",
            "/api/users/changes",
            &adm,
            Some(json!({"username": "cus.cecot", "action": "reset_password", "password": "clave-nueva-larga-7"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(w.live(&mine[1]).await, StatusCode::UNAUTHORIZED);

    // Each issue and revocation is in the access log, naming who did it.
    let changes: Vec<String> = account_entries(&w)
        .into_iter()
        .map(|(by, u, a)| format!("{by} {u} {a}"))
        .collect();
    assert_eq!(
        changes,
        [
            "user:ins ins token_issued",
            "user:adm sensores added",
            "user:adm sensores token_issued",
            "user:adm adm token_issued",
            "user:adm sensores token_revoked",
            "user:cus.cecot cus.cecot token_issued",
            "user:cus.cecot cus.cecot token_issued",
            "user:cus.cecot cus.cecot token_revoked",
            "user:adm cus.cecot password_reset",
        ]
    );
    assert!(!serde_json::to_string(&w.log()).unwrap().contains(&token));
}

impl World {
    /// What `GET /api/session` answers to a bearer token.
    async fn live(&self, bearer: &str) -> StatusCode {
        self.call("GET", "/api/session", &[("authorization", bearer)], None)
            .await
            .status
    }
}

#[tokio::test]
async fn the_control_channel_carries_out_account_commands_under_the_apis_rules() {
    let w = world();
    let state = w.state.clone();
    let ask = move |line: &str| -> Value {
        serde_json::from_str(&habeas_web::control::answer(&state, "os:operador", line)).unwrap()
    };
    // Bad requests name what is wrong.
    for (line, field) in [
        ("no es json", "request"),
        (r#"{"command": "user.unlock"}"#, "username"),
        (
            r#"{"command": "user.delete", "args": {"username": "adm"}}"#,
            "command",
        ),
        (
            r#"{"command": "user.unlock", "args": {"username": "nadie"}}"#,
            "username",
        ),
    ] {
        let a = ask(line);
        assert_eq!(
            (a["ok"].clone(), a["error"]["field"].as_str()),
            (json!(false), Some(field)),
            "{line}: {a}"
        );
    }
    // The last administrator is not locked here either.
    let a = ask(r#"{"command": "user.lock", "args": {"username": "adm"}}"#);
    assert_eq!(a["error"]["code"], "conflict", "{a}");
    // Failed sign-ins lock it; the console unlocks it, and it signs in again.
    for _ in 0..5 {
        w.call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "adm", "password": "wrong-password"})),
        )
        .await;
    }
    let a = ask(r#"{"command": "user.list"}"#);
    let adm = a["result"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "adm")
        .cloned()
        .unwrap();
    assert!(adm["locked_at"].is_i64(), "{adm}");
    let a = ask(r#"{"command": "user.unlock", "args": {"username": "adm"}}"#);
    assert_eq!(
        (&a["ok"], &a["result"]["username"], &a["result"]["action"]),
        (&json!(true), &json!("adm"), &json!("unlocked")),
        "{a}"
    );
    w.session("adm").await;
    // A new password from the console: the rule holds, and the account's tokens end.
    let token = auth::new_secret().unwrap();
    w.state
        .accounts
        .add_token(&auth::secret_hash(&token), "cus.cecot", "feed", T0)
        .unwrap();
    let bearer = format!("Bearer {token}");
    assert_eq!(w.live(&bearer).await, StatusCode::OK);
    let a = ask(
        r#"{"command": "user.reset-password", "args": {"username": "cus.cecot", "password": "password"}}"#,
    );
    assert_eq!(a["error"]["field"], "password", "{a}");
    let a = ask(
        r#"{"command": "user.reset-password", "args": {"username": "cus.cecot", "password": "clave-nueva-larga-7"}}"#,
    );
    assert_eq!(a["ok"], true, "{a}");
    assert_eq!(w.live(&bearer).await, StatusCode::UNAUTHORIZED);
    let changes: Vec<String> = account_entries(&w)
        .into_iter()
        .map(|(by, u, a)| format!("{by} {u} {a}"))
        .collect();
    assert_eq!(
        changes,
        [
            "os:operador adm unlocked",
            "os:operador cus.cecot password_reset"
        ]
    );
}

#[tokio::test]
async fn a_totp_code_signs_in_once_and_a_replay_or_an_earlier_step_is_a_failure() {
    let w = world();
    let secret = w.inspector_totp.clone();
    let sign_in = |code: String| {
        w.call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "ins", "password": PASSWORD, "code": code})),
        )
    };
    let code = w.code_for(&secret);
    assert_eq!(sign_in(code.clone()).await.status, StatusCode::OK);
    // The same code again, within its step: refused, as any failure is.
    let a = sign_in(code.clone()).await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials")),
        "{}",
        a.body
    );
    // A step later the old code is still within the skew, but its step was used: refused.
    w.clock.advance_millis(30_000);
    assert_eq!(sign_in(code).await.status, StatusCode::UNAUTHORIZED);
    // The new step's code signs in, once.
    let next = w.code_for(&secret);
    assert_eq!(sign_in(next.clone()).await.status, StatusCode::OK);
    assert_eq!(sign_in(next).await.status, StatusCode::UNAUTHORIZED);
    let outcomes: Vec<String> = w
        .log()
        .iter()
        .filter(|e| e["kind"] == "access.sign_in")
        .map(|e| e["payload"]["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        outcomes,
        [
            "ok",
            "replayed_code",
            "replayed_code",
            "ok",
            "replayed_code"
        ]
    );
    // Replays count toward the lockout: two more failures make five, and the account locks.
    w.clock.advance_millis(30_000);
    let code = w.code_for(&secret);
    assert_eq!(sign_in(code.clone()).await.status, StatusCode::OK);
    for _ in 0..5 {
        assert_eq!(sign_in(code.clone()).await.status, StatusCode::UNAUTHORIZED);
    }
    let last = w.log().last().unwrap().clone();
    assert_eq!(last["payload"]["outcome"], "locked_now");
}

#[tokio::test]
async fn every_failed_sign_in_gets_the_same_answer_and_the_log_keeps_the_truth() {
    let w = world();
    let attempt = |user: &str, password: &str, code: Option<String>| {
        let body = json!({"username": user, "password": password, "code": code});
        w.call("POST", "/api/session", &[], Some(body))
    };
    let ins = w.inspector_totp.clone();
    let mut answers = Vec::new();
    // Unknown user; wrong password; right password without the code; with a wrong code;
    // with a replayed code.
    answers.push(attempt("nadie", PASSWORD, None).await);
    answers.push(attempt("ins", "otra-clave-9", Some(w.code_for(&ins))).await);
    answers.push(attempt("ins", PASSWORD, None).await);
    answers.push(attempt("ins", PASSWORD, Some("000000".into())).await);
    assert_eq!(
        attempt("ins", PASSWORD, Some(w.code_for(&ins)))
            .await
            .status,
        StatusCode::OK
    );
    answers.push(attempt("ins", PASSWORD, Some(w.code_for(&ins))).await);
    // A director without its code.
    answers.push(attempt("dir.cecot", PASSWORD, None).await);
    // Locked: by five failures, and then with the right password.
    for _ in 0..5 {
        attempt("cus.cecot", "otra-clave-9", None).await;
    }
    answers.push(attempt("cus.cecot", PASSWORD, None).await);
    let first = &answers[0];
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert_eq!(first.body["error"]["code"], "bad_credentials");
    for (k, a) in answers.iter().enumerate() {
        assert_eq!(
            (a.status, &a.body),
            (first.status, &first.body),
            "answer {k} differs from the unknown user's"
        );
    }
    let outcomes: Vec<String> = w
        .log()
        .iter()
        .filter(|e| e["kind"] == "access.sign_in")
        .map(|e| e["payload"]["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        outcomes,
        [
            "unknown_user",
            "bad_password",
            "missing_code",
            "bad_code",
            "ok",
            "replayed_code",
            "missing_code",
            "bad_password",
            "bad_password",
            "bad_password",
            "bad_password",
            "locked_now",
            "locked"
        ]
    );
    // The page shows the code's field to everyone, in both languages, and its one message.
    for (lang, hint) in [
        ("es", "si su cuenta lo tiene"),
        ("en", "if your account has one"),
    ] {
        let a = w
            .call("GET", &format!("/ui/sign-in?lang={lang}"), &[], None)
            .await;
        assert!(
            page(&a).contains("<input id=\"code\" name=\"code\""),
            "{lang}"
        );
        assert!(page(&a).contains(hint), "{lang}: {}", page(&a));
    }
}

#[tokio::test]
async fn a_flood_of_unknown_users_is_refused_unchecked_and_the_log_counts_it_without_an_entry_each()
{
    let w = world();
    // 32 sign-ins for unknown users at one instant, from one client: the first 30 are
    // checked (and refused as usual), the rest are refused unchecked with 429 and Retry-After.
    let mut statuses = Vec::new();
    for k in 0..32 {
        let a = w
            .call(
                "POST",
                "/api/session",
                &[],
                Some(json!({"username": format!("nadie-{k}"), "password": PASSWORD})),
            )
            .await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(a.body["error"]["code"], "too_many_attempts", "{}", a.body);
            assert!(a.headers.contains_key("retry-after"));
        }
        statuses.push(a.status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        30,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    // The access log has an entry for each of the first 20 only…
    let single = |log: &[Value]| {
        log.iter()
            .filter(|e| e["kind"] == "access.sign_in" && e["payload"]["outcome"] != "summary")
            .count() as u64
    };
    assert_eq!(single(&w.log()), 20);
    // …and once the window has closed, the next attempt brings the count of the others.
    w.clock.advance_millis(61_000);
    let a = w
        .call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "nadie-final", "password": PASSWORD})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let log = w.log();
    let summaries: Vec<&Value> = log
        .iter()
        .filter(|e| e["kind"] == "access.sign_in" && e["payload"]["outcome"] == "summary")
        .collect();
    assert_eq!(summaries.len(), 1);
    let p = &summaries[0]["payload"];
    assert_eq!(
        (
            p["unknown_user"].as_u64(),
            p["limited"].as_u64(),
            p["busy"].as_u64()
        ),
        (Some(10), Some(2), Some(0))
    );
    let counted: u64 = ["unknown_user", "limited", "busy"]
        .iter()
        .map(|k| p[*k].as_u64().unwrap())
        .sum();
    assert_eq!(single(&log) + counted, 33, "every attempt is accounted for");
}

/// Small limits for the tests: three attempts per username and five per address a minute,
/// two unknown users logged one by one a minute, refusals answered at once.
fn small_limits() -> habeas_web::limits::LimitsConfig {
    use habeas_web::limits::{LimitsConfig, Rate};
    LimitsConfig {
        hashing: 1,
        waiting: 8,
        wait_ms: 2_000,
        account: Rate {
            burst: 3,
            every_ms: 60_000,
        },
        address: Rate {
            burst: 5,
            every_ms: 60_000,
        },
        kept: 1_000,
        logged_unknown: 2,
        window_ms: 60_000,
        pause_ms: 0,
        paused: 0,
        trust_forwarded: false,
    }
}

impl World {
    /// A sign-in from a client at `from` (as `habeas serve` passes the peer's address), by
    /// the API or (`web`) the page's form.
    async fn sign_in_from(&self, from: &str, user: &str, password: &str, web: bool) -> Answer {
        let peer: std::net::SocketAddr = format!("{from}:40000").parse().unwrap();
        let mut req = if web {
            Request::builder()
                .method("POST")
                .uri("/ui/sign-in?lang=en")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "username={user}&password={password}&code="
                )))
        } else {
            Request::builder()
                .method("POST")
                .uri("/api/session")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"username": user, "password": password}).to_string(),
                ))
        }
        .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let (status, headers, bytes) = self.send_raw(req).await;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer {
            status,
            headers,
            body,
        }
    }
}

#[tokio::test]
async fn sign_ins_are_limited_per_username_and_per_address_in_the_api_and_the_page() {
    let w = world_with(habeas_web::limits::SignInLimits::new(small_limits()));
    let mut attempts = 0u64;
    // From one address: five attempts (any usernames), then refused unchecked.
    for k in 0..5 {
        let a = w
            .sign_in_from("10.0.0.1", &format!("nadie-{k}"), PASSWORD, false)
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        attempts += 1;
    }
    let a = w.sign_in_from("10.0.0.1", "nadie-5", PASSWORD, false).await;
    attempts += 1;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert_eq!(a.body["error"]["code"], "too_many_attempts");
    assert!(a.body["error"]["message"].is_string() && a.body["error"].get("field").is_some());
    assert_eq!(a.headers["retry-after"], "60");
    // The page's form is under the same limits: 429, with the message in its language.
    let a = w
        .sign_in_from("10.0.0.1", "cus.cecot", PASSWORD, true)
        .await;
    attempts += 1;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page(&a).contains("Too many sign-in attempts"),
        "{}",
        page(&a)
    );
    assert_eq!(a.headers["retry-after"], "60");
    // Another address is not limited by the first…
    let a = w
        .sign_in_from("10.0.0.2", "cus.cecot", PASSWORD, true)
        .await;
    attempts += 1;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    // …and successes use no attempt: six in a row from one address.
    for _ in 0..6 {
        let a = w
            .sign_in_from("10.0.0.3", "cus.cecot", PASSWORD, false)
            .await;
        attempts += 1;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    // One username, from many addresses: three failures, then refused unchecked, whether the
    // account exists or not (so the limit tells nothing about it).
    for name in ["reg.cecot", "no.existe"] {
        for k in 0..3 {
            let a = w
                .sign_in_from(&format!("10.1.{k}.1"), name, "otra-clave-9", false)
                .await;
            attempts += 1;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{name}");
        }
        let a = w.sign_in_from("10.2.0.1", name, PASSWORD, false).await;
        attempts += 1;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{name}");
    }
    // A minute later the buckets have refilled by one.
    w.clock.advance_millis(60_000);
    let a = w.sign_in_from("10.0.0.1", "nadie-6", PASSWORD, false).await;
    attempts += 1;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // Every attempt is in the access log: an entry each, or counted in a summary.
    let log = w.log();
    let sign_ins: Vec<&Value> = log
        .iter()
        .filter(|e| e["kind"] == "access.sign_in")
        .collect();
    let counted: u64 = sign_ins
        .iter()
        .filter(|e| e["payload"]["outcome"] == "summary")
        .map(|e| {
            ["unknown_user", "limited", "busy"]
                .iter()
                .map(|k| e["payload"][*k].as_u64().unwrap())
                .sum::<u64>()
        })
        .sum();
    let single = sign_ins
        .iter()
        .filter(|e| e["payload"]["outcome"] != "summary")
        .count() as u64;
    assert_eq!(single + counted, attempts, "{sign_ins:#?}");
    // No password ever reaches the log.
    assert!(!serde_json::to_string(&log).unwrap().contains(PASSWORD));
}

#[tokio::test]
async fn when_every_password_check_is_taken_a_sign_in_is_refused_unchecked_and_counted() {
    // No turn at all to check a password, and nobody may wait for one.
    let w = world_with(habeas_web::limits::SignInLimits::new(
        habeas_web::limits::LimitsConfig {
            hashing: 0,
            waiting: 0,
            ..small_limits()
        },
    ));
    let a = w
        .sign_in_from("10.0.0.1", "cus.cecot", PASSWORD, false)
        .await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts"))
    );
    assert_eq!(a.headers["retry-after"], "2");
    // Refused unchecked, the attempt used none of the client's: it may ask again.
    for _ in 0..6 {
        let a = w
            .sign_in_from("10.0.0.1", "cus.cecot", PASSWORD, false)
            .await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(w.log().len(), 0, "nothing written yet: counted");
    // The window closes; the next attempt brings the count.
    w.clock.advance_millis(60_000);
    w.sign_in_from("10.0.0.1", "cus.cecot", PASSWORD, false)
        .await;
    let log = w.log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            log[0]["payload"]["outcome"].as_str(),
            log[0]["payload"]["busy"].as_u64()
        ),
        (Some("summary"), Some(7))
    );
}

#[tokio::test]
async fn a_sign_in_of_more_than_8_kib_is_refused_before_anything_is_checked() {
    let w = world();
    let long = "x".repeat(9 * 1024);
    let a = w
        .call(
            "POST",
            "/api/session",
            &[],
            Some(json!({"username": "cus.cecot", "password": long})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("body")),
        "{}",
        a.body
    );
    let a = w
        .form(
            "/ui/sign-in",
            &[],
            &format!("username=cus.cecot&password={long}&code="),
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(w.log().is_empty(), "nothing was checked");
}

#[tokio::test]
async fn a_person_brought_without_an_order_is_held_counted_and_found_on_the_board_and_the_file() {
    let w = world();
    let (reg_cookie, reg_csrf) = w.session("reg.cecot").await;
    let registry = [
        ("cookie", reg_cookie.as_str()),
        (CSRF_HEADER, reg_csrf.as_str()),
    ];
    let a = w
        .call("POST", "/api/admissions", &registry, Some(json!({
            "facility": "CECOT",
            "person": {"given_names": "Óscar", "surnames": ["Rivas"], "birth_date": "1990-04-02", "sex": "male", "nationalities": ["SV"]},
            "admitted_at": "2025-11-20T10:00:00.000Z",
            "legal_status": "remand",
            "orders": [],
            "held_pending_order": {"brought_by": "PNC, patrulla 12", "orders_shown": ["acta sin firma"]}
        })))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let held = a.body["entry"].as_u64().unwrap();
    let a = w
        .call("POST", "/api/records", &registry, Some(json!({"record": "gate_refusal", "facility": "CECOT",
            "at": "2025-11-21T08:00:00.000Z", "name": "Desconocido", "brought_by": "PNC, patrulla 7",
            "orders_shown": [], "reason": "sin orden; devuelto a la PNC"})))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);

    // One head count: the person already in the world and the one held pending an order,
    // neither in a cell, both counted.
    let a = w
        .call("GET", "/api/population?facility=CECOT", &registry, None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let head = &a.body["head_counts"][0];
    assert_eq!(
        (head["held"].as_u64(), head["in_cells"].as_u64()),
        (Some(2), Some(0)),
        "{head}"
    );
    assert_eq!(head["not_in_a_cell"].as_array().unwrap().len(), 2);
    assert_eq!(head["pending_order"][0]["booking"], held);
    assert_eq!(head["unreconciled"], 0);

    let (cookie, _) = w.session("dir.cecot").await;
    let a = w
        .call(
            "GET",
            "/ui/board?facility=CECOT",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let board = page(&a);
    assert!(board.contains("<dd id=\"held\">2</dd>"), "{board}");
    assert!(board.contains("<dd id=\"in-no-cell\">2</dd>"), "{board}");
    assert!(board.contains("id=\"pending-order\""), "{board}");
    assert!(board.contains(&format!(">{held}</a>")), "{board}");
    assert!(
        board.contains("id=\"refused-at-gate\"") && board.contains("PNC, patrulla 7"),
        "{board}"
    );

    let a = w
        .call(
            "GET",
            &format!("/ui/persons/{held}?reason=hearing&detail=x"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(page(&a).contains("id=\"pending-order-1\""), "{}", page(&a));

    let a = w
        .call(
            "GET",
            "/api/reports/compliance?facility=CECOT",
            &registry,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let found = a.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "legal.no_valid_basis")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (
            found["subject"]["booking"].as_u64(),
            found["severity"].as_str()
        ),
        (Some(held), Some("grave")),
        "{}",
        a.body
    );

    // A renamed person is not hidden: the correction needs an authority, and it is in the
    // inspectors' register of corrections with the former name.
    let rename = json!({"facility": "CECOT", "person": held, "reason": "nombre mal escrito", "given_names": "Oscar Armando"});
    let a = w
        .call(
            "POST",
            "/api/identity-corrections",
            &registry,
            Some(rename.clone()),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authority")),
        "{}",
        a.body
    );
    let mut rename = rename;
    rename["authority"] = json!("RNPN, partida 77");
    let a = w
        .call("POST", "/api/identity-corrections", &registry, Some(rename))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w
        .call(
            "GET",
            "/ui/compliance?facility=CECOT",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let html = page(&a);
    assert!(
        html.contains("id=\"corrections\"")
            && html.contains("Óscar Rivas")
            && html.contains("RNPN, partida 77"),
        "{html}"
    );
}

/// A register whose records end before today (a demonstration, a restored backup): the pages
/// and reports show its last recorded day, and every page says so.
#[tokio::test]
async fn pages_and_reports_show_the_last_recorded_day_when_the_records_end_before_today() {
    let w = world();
    let (cookie, _) = w.session("dir.cecot").await;
    let signed = [("cookie", cookie.as_str())];
    let a = w.call("GET", "/ui/compliance", &signed, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!page(&a).contains("id=\"day-note\""), "{}", page(&a));
    let recorded = Timestamp(T0).date_string();
    // A year and more with nothing recorded.
    w.clock.advance_millis(400 * 86_400_000);
    let today = w.clock.now().date_string();
    let (cookie, _) = w.session("dir.cecot").await;
    let signed = [("cookie", cookie.as_str())];
    for path in ["/ui/compliance", "/ui/board", "/ui/counts?facility=CECOT"] {
        let a = w.call("GET", path, &signed, None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        let html = page(&a);
        let note = html
            .split("id=\"day-note\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{path}: {html}"));
        assert!(
            note.contains(&recorded) && note.contains(&today),
            "{path}: {note}"
        );
    }
    let a = w.call("GET", "/ui/compliance", &signed, None).await;
    let total: u64 = page(&a)
        .split("id=\"findings-total\">")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .map(|t| t.replace(['.', ','], "").parse().unwrap())
        .unwrap();
    assert!(total > 0, "the last recorded day has its findings");
    for path in [
        "/api/reports/compliance?facility=CECOT",
        "/api/reports/statistics?facility=CECOT",
    ] {
        let a = w.call("GET", path, &signed, None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        assert_eq!(a.body["as_of"], json!(recorded), "{path}: {}", a.body);
    }
    // A day asked for is the day shown.
    let a = w
        .call(
            "GET",
            "/api/reports/compliance?facility=CECOT&as_of=2025-05-20",
            &signed,
            None,
        )
        .await;
    assert_eq!(a.body["as_of"], "2025-05-20");
}

/// A person's file and the copy handed to them (Rule 9) name only that person: a group
/// hearing says how many others were heard with them, never their booking numbers.
#[tokio::test]
async fn a_persons_file_and_copy_name_no_one_else() {
    let w = world();
    let ana = w.people[0].0;
    let others: Vec<u64> = w
        .records
        .append_all(vec![
            admission("CECOT", "Carla"),
            admission("CECOT", "Dora"),
        ])
        .unwrap()
        .iter()
        .map(|r| r.index)
        .collect();
    let actor = actor();
    let hearing = serde_json::from_value::<habeas_core::record::RecordInput>(json!({
        "record": "hearing", "facility": "CECOT", "bookings": [ana, others[0], others[1]],
        "court": "Tribunal virtual de Tecoluca", "at": "2025-06-01T09:00:00Z", "mode": "video",
        "people_heard": 3
    }))
    .unwrap()
    .validate(Timestamp(T0), &actor)
    .unwrap();
    w.records.append_all(vec![hearing]).unwrap();
    let (cookie, _) = w.session("dir.cecot").await;
    let file = format!("/ui/persons/{ana}?reason=hearing");
    for path in [file.clone(), format!("{file}&print=true")] {
        let a = w.call("GET", &path, &[("cookie", &cookie)], None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        let html = page(&a);
        let row = html
            .split("<tr>")
            .find(|r| r.contains("Tecoluca"))
            .unwrap_or_else(|| panic!("{path}: no hearing in {html}"));
        assert!(row.contains("con 2 personas más"), "{path}: {row}");
        for b in &others {
            assert!(
                !row.contains(&format!(", {b}")) && !row.contains(&format!(": {b}")),
                "{path}: booking {b} is named: {row}"
            );
        }
        assert!(
            row.contains(&format!("expedientes de custodia: {ana}")),
            "{path}: {row}"
        );
    }
}

/// A search says how many it found, that the list is cut when it is, and whether each person
/// is held, where and since when.
#[tokio::test]
async fn a_search_counts_what_it_found_says_when_it_is_cut_and_where_each_person_is() {
    let w = world();
    let (cookie, _) = w.session("nat").await;
    let signed = [("cookie", cookie.as_str())];
    let a = w
        .call("GET", "/ui/persons?q=L%C3%B3pez", &signed, None)
        .await;
    let html = page(&a);
    assert!(
        html.contains("id=\"search-count\">2 encontradas<"),
        "{html}"
    );
    assert!(
        html.contains("detenida en CECOT desde 01/05/2025, aún sin celda")
            && html.contains("detenida en IZALCO desde 01/05/2025"),
        "{html}"
    );
    let many: Vec<Draft> = (0..101)
        .map(|i| admission("CECOT", &format!("Persona{i}")))
        .collect();
    w.records.append_all(many).unwrap();
    let a = w
        .call("GET", "/ui/persons?q=L%C3%B3pez", &signed, None)
        .await;
    let html = page(&a);
    assert!(
        html.contains("Se muestran las 100 primeras: hay más personas"),
        "{html}"
    );
    assert_eq!(html.matches("href=\"/ui/persons/").count(), 100);
}

/// `/ui/` leads to the board, and a page that does not exist is a page saying so (the API's
/// unknown routes keep their JSON shape).
#[tokio::test]
async fn the_ui_root_leads_to_the_board_and_an_unknown_page_is_a_page() {
    let w = world();
    for path in ["/ui", "/ui/"] {
        let a = w.call("GET", path, &[], None).await;
        assert!(a.status.is_redirection(), "{path}: {}", a.status);
        assert_eq!(a.headers["location"], "/ui/board", "{path}");
    }
    let a = w.call("GET", "/ui/no-such-page", &[], None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page(&a).contains("Página no encontrada") && page(&a).contains("href=\"/ui/board\""));
    let a = w.call("GET", "/api/no-such-route", &[], None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body["error"]["code"], "not_found");
}

/// A person held after their last order expired has a banner on their file saying since when,
/// and the order's kind reads in the user's language.
#[tokio::test]
async fn a_file_without_a_valid_legal_basis_says_so_at_the_top() {
    let w = world();
    let ana = w.people[0].0;
    let (cookie, _) = w.session("dir.cecot").await;
    // Her order ran to 2025-10-30; the clock is at 2025-11-24.
    let a = w
        .call(
            "GET",
            &format!("/ui/persons/{ana}?reason=legal-basis"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    let html = page(&a);
    let banner = html
        .split("id=\"no-basis-1\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no banner: {html}"));
    assert!(
        banner.starts_with("Sin base legal válida desde el 30/10/2025"),
        "{banner}"
    );
    assert!(html.contains("<td>detención provisional</td>"), "{html}");
    assert!(!html.contains("<td>pretrial_detention</td>"));
    // A new order in force ends the banner.
    let actor = actor();
    let order = serde_json::from_value::<habeas_core::events::OrderInput>(json!({
        "facility": "CECOT", "booking": ana,
        "order": {"kind": "pretrial_detention", "authority": "Juzgado", "reference": "2-2025", "issued": "2025-11-20", "expires": "2026-05-20"},
        "legal_status": "remand"
    }))
    .unwrap()
    .validate(Timestamp(T0), &actor)
    .unwrap();
    w.records.append_all(vec![order]).unwrap();
    let a = w
        .call(
            "GET",
            &format!("/ui/persons/{ana}?reason=legal-basis"),
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert!(!page(&a).contains("id=\"no-basis-1\""), "{}", page(&a));
}

/// The roll count takes a day (`?date=`, a date picker) and counts one unit at a time.
#[tokio::test]
async fn the_roll_count_page_takes_a_day_and_counts_a_unit_at_a_time() {
    let w = world();
    // A second unit in CECOT.
    let actor = actor();
    let file: habeas_core::estate::EstateFile = toml::from_str(
        "[facility]\ncode = \"CECOT\"\nname = \"CECOT\"\ncountry = \"SV\"\n[[unit]]\ncode = \"M2\"\nname = \"M2\"\ncell_count = 3\ncell_template = { area_m2 = 40, bunks = 10, cna = 10, operational_capacity = 10 }\n",
    )
    .unwrap();
    let e = file.validate().unwrap();
    let mut drafts: Vec<Draft> = e
        .units
        .iter()
        .map(|u| u.to_draft(&e.facility.code, &actor))
        .collect();
    drafts.extend(e.cells.iter().map(|c| c.to_draft(&e.facility.code, &actor)));
    w.records.append_all(drafts).unwrap();
    let (cookie, _) = w.session("cus.cecot").await;
    let signed = [("cookie", cookie.as_str())];
    let a = w
        .call("GET", "/ui/counts?facility=CECOT", &signed, None)
        .await;
    let html = page(&a);
    assert!(
        html.contains("id=\"count-M1-C01\"") && !html.contains("id=\"count-M2-C01\""),
        "the first unit by default: {html}"
    );
    let a = w
        .call(
            "GET",
            "/ui/counts?facility=CECOT&unit=M2&date=2025-05-20",
            &signed,
            None,
        )
        .await;
    let html = page(&a);
    assert!(
        html.contains("id=\"count-M2-C03\"") && !html.contains("id=\"count-M1-C01\""),
        "{html}"
    );
    assert!(
        html.contains("name=\"date\" type=\"date\" value=\"2025-05-20\"")
            && html.contains("20/05/2025"),
        "{html}"
    );
    assert!(html.contains("<option value=\"M2\" selected>"), "{html}");
}

/// Signing in from the page in English goes on in English: the language chosen on the sign-in
/// page is kept for the account; from the page in the browser's language, the account's own.
#[tokio::test]
async fn a_language_chosen_on_the_sign_in_page_is_the_one_the_pages_go_on_in() {
    let w = world();
    let a = w.call("GET", "/ui/sign-in?lang=en", &[], None).await;
    assert!(page(&a).contains("name=\"chosen\""), "{}", page(&a));
    let a = w.call("GET", "/ui/sign-in", &[], None).await;
    assert!(!page(&a).contains("name=\"chosen\""));
    let w = &w;
    let board = |cookie: String| async move {
        let a = w
            .call("GET", "/ui/board", &[("cookie", &cookie)], None)
            .await;
        page(&a).to_owned()
    };
    let sign_in = |path: &'static str, chosen: bool| async move {
        let body = format!(
            "username=reg.cecot&password={PASSWORD}&code={}",
            if chosen { "&chosen=1" } else { "" }
        );
        let a = w.form(path, &[], &body).await;
        assert!(a.status.is_redirection(), "{}", page(&a));
        a.headers["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    // Without a choice on the page: the account's language (Spanish).
    let html = board(sign_in("/ui/sign-in?lang=es", false).await).await;
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    // Chosen on the page: English, and the account keeps it.
    let html = board(sign_in("/ui/sign-in?lang=en", true).await).await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    let html = board(sign_in("/ui/sign-in?lang=es", false).await).await;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
}

/// The dashboard's charts draw what the report finds: every rule with a finding is in the
/// table by rule with the report's count, and the people under the open-air and out-of-cell
/// minimums in the charts' data are the report's findings of those rules.
#[tokio::test]
async fn the_dashboards_charts_hold_the_reports_numbers() {
    let w = world();
    let ana = w.people[0].0;
    let actor = actor();
    let now = Timestamp(T0);
    let place = habeas_core::allocation::Allocation::new("CECOT", ana, "M1-C01", None, None)
        .unwrap()
        .to_draft(&actor);
    w.records.append_all(vec![place]).unwrap();
    // Half an hour in the open air on 20 November, the whole cell.
    for (kind, at) in [
        ("out_of_cell", "2025-11-20T09:00:00Z"),
        ("back_to_cell", "2025-11-20T09:30:00Z"),
    ] {
        let m = habeas_core::events::Movement::new(
            "CECOT",
            kind,
            &[],
            Some("M1-C01"),
            kind == "out_of_cell",
            None,
            at,
            now,
        )
        .unwrap()
        .to_draft(&actor);
        w.records.append_all(vec![m]).unwrap();
    }
    let (cookie, _) = w.session("dir.cecot").await;
    let signed = [("cookie", cookie.as_str())];
    let report = w
        .call(
            "GET",
            "/api/reports/compliance?facility=CECOT&as_of=2025-11-21",
            &signed,
            None,
        )
        .await
        .body;
    let mut by_code: std::collections::BTreeMap<String, u64> = Default::default();
    for f in report["findings"].as_array().unwrap() {
        *by_code
            .entry(f["code"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(by_code.get("regime.open_air"), Some(&1), "{by_code:?}");
    let a = w
        .call(
            "GET",
            "/ui/compliance?facility=CECOT&as_of=2025-11-21",
            &signed,
            None,
        )
        .await;
    let html = page(&a).to_owned();
    let rows = |id: &str| -> Vec<(String, u64)> {
        let table = html
            .split(&format!("id=\"{id}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("no {id}"))
            .split("</tbody>")
            .next()
            .unwrap()
            .to_owned();
        table
            .split("<tr>")
            .skip(1)
            .map(|r| {
                let cells: Vec<String> = r
                    .split(['<', '>'])
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 0)
                    .map(|(_, t)| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
                let n = cells
                    .last()
                    .unwrap()
                    .replace(['.', ','], "")
                    .parse()
                    .unwrap();
                (cells[0].clone(), n)
            })
            .collect()
    };
    // Every rule, the report's count.
    let table: std::collections::BTreeMap<String, u64> = rows("rules-data").into_iter().collect();
    assert_eq!(table, by_code);
    // The open-air chart: Ana's half hour, under the hour of Rule 23.
    let open_air = rows("data-open-air");
    assert_eq!(open_air.len(), 4);
    assert_eq!(open_air[2], ("30–59 min".to_owned(), 1), "{open_air:?}");
    let under = |rows: &[(String, u64)], bins: usize| rows[..bins].iter().map(|r| r.1).sum::<u64>();
    assert_eq!(under(&open_air, 3), by_code["regime.open_air"]);
    let out = rows("data-out-of-cell");
    assert_eq!(
        under(&out, 4),
        by_code.get("regime.out_of_cell").copied().unwrap_or(0)
    );
    assert!(
        html.contains("20/11/2025, el último día completo"),
        "{html}"
    );
}

/// The visible text of a page: tags, scripts and styles out, entities as they read.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        let tail = &rest[i..];
        // Whole blocks whose content is not text for the reader, and text marked as English.
        let name: String = tail[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let open_tag = tail.split('>').next().unwrap_or("");
        let skip_to = (["style", "script", "svg"].contains(&name.as_str())
            || (!name.is_empty() && open_tag.contains(" lang=\"en\"")))
        .then(|| tail.find(&format!("</{name}>")).map(|e| e + name.len() + 3))
        .flatten();
        match skip_to {
            Some(e) => rest = &tail[e..],
            None => match tail.find('>') {
                Some(e) => rest = &tail[e + 1..],
                None => break,
            },
        }
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
}

/// English words a page in Spanish must not hold (codes such as `regime.open_air` and names
/// of the records are not words of the page's language, and are left out first).
const ENGLISH: &[&str] = &[
    "the",
    "and",
    "of",
    "with",
    "not",
    "held",
    "since",
    "found",
    "booking",
    "findings",
    "days",
    "none",
    "yes",
    "Rule",
    "person",
    "people",
    "order",
    "expired",
    "minutes",
    "for",
    "from",
    "to",
    "is",
    "are",
    "was",
    "no-one",
    "nobody",
    "never",
    "ongoing",
    "unknown",
    "records",
    "record",
    "hearing",
    "court",
    "visit",
    "call",
    "letter",
    "family",
    "released",
    "release",
    "remand",
    "sentenced",
    "male",
    "female",
    "registry",
    "custody",
    "administrator",
    "national",
    "step",
    "steps",
    "informed",
    "opened",
];

fn english_words(html: &str) -> Vec<String> {
    let text = visible_text(html);
    let mut found: Vec<String> = text
        .split_whitespace()
        // Codes, addresses and numbers are not words of a language.
        .map(|t| t.trim_end_matches(['.', ',', ';', ':', ')', '»']))
        .filter(|t| !t.contains(['.', '_', '/', '@', '=', ':']))
        .flat_map(|t| {
            t.split(|c: char| !c.is_alphabetic() && c != '-')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|w| ENGLISH.contains(&w.as_str()))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Every page in Spanish reads in Spanish: no word of a list of English ones appears in its
/// text, for each role's pages over the test's records.
#[tokio::test]
async fn every_page_in_spanish_is_in_spanish() {
    let w = world();
    let ana = w.people[0].0;
    let actor = actor();
    let place = habeas_core::allocation::Allocation::new("CECOT", ana, "M1-C01", None, None)
        .unwrap()
        .to_draft(&actor);
    w.records.append_all(vec![place]).unwrap();
    // A hearing, a family visit refused, a complaint and an incident: the registers and the
    // file have something of each to say.
    for record in [
        json!({"record": "hearing", "facility": "CECOT", "bookings": [ana], "court": "Tribunal virtual",
            "at": "2025-11-20T09:00:00Z", "mode": "video", "people_heard": 1}),
        json!({"record": "contact_request", "facility": "CECOT", "booking": ana, "kind": "visit",
            "party": "family", "at": "2025-11-21T09:00:00Z", "granted": false, "reason": "sin cupo",
            "authority": "Dirección"}),
        json!({"record": "complaint", "facility": "CECOT", "booking": ana, "at": "2025-11-21T10:00:00Z",
            "confidential": false, "subject": "comida", "text": "la comida llega fría",
            "alleges_ill_treatment": false, "reply_due": "2025-12-05"}),
        json!({"record": "incident", "facility": "CECOT", "at": "2025-11-22T10:00:00Z", "place": "M1-C01",
            "description": "riña", "bookings": [ana], "force_used": false}),
        json!({"record": "oversight_visit", "facility": "CECOT", "at": "2025-11-22T11:00:00Z",
            "visitor_kind": "npm", "visitor": "PDDH", "outcome": "restricted", "reason": "sin acceso al pabellón 2",
            "authority": "Dirección", "areas_visited": ["pabellón 1"], "areas_withheld": ["pabellón 2"]}),
    ] {
        let d = serde_json::from_value::<habeas_core::record::RecordInput>(record)
            .unwrap()
            .validate(Timestamp(T0), &actor)
            .unwrap();
        w.records.append_all(vec![d]).unwrap();
    }
    // A custody agreement and someone held under it: its list and its account.
    let agreement = w.records.append_all(vec![agreement_of("CECOT")]).unwrap()[0].index;
    w.records
        .append_all(vec![sent_under(
            "CECOT",
            "José",
            agreement,
            "2025-03-16T04:00:00.000Z",
        )])
        .unwrap();
    let mut failures = Vec::new();
    for (user, paths) in [
        (
            "dir.cecot",
            vec![
                "/ui/board".to_owned(),
                "/ui/cells/CECOT/M1-C01".to_owned(),
                "/ui/persons?q=L%C3%B3pez".to_owned(),
                format!("/ui/persons/{ana}"),
                format!("/ui/persons/{ana}?reason=hearing"),
                format!("/ui/persons/{ana}?reason=hearing&findings=true"),
                format!("/ui/persons/{ana}?reason=hearing&print=true"),
                "/ui/compliance".to_owned(),
                "/ui/counts".to_owned(),
                "/ui/hearings?month=2025-11".to_owned(),
                "/ui/contacts?from=2025-11-01&to=2025-11-30".to_owned(),
                "/ui/complaints".to_owned(),
                "/ui/admissions".to_owned(),
                format!("/ui/allocations?booking={ana}"),
                format!("/ui/notify?booking={ana}"),
                format!("/ui/harm?booking={ana}"),
                format!("/ui/release?booking={ana}"),
                format!("/ui/death?booking={ana}"),
                "/ui/visits".to_owned(),
                "/ui/agreements".to_owned(),
                format!("/ui/agreements/{agreement}?from=2025-04-01&to=2025-04-30"),
            ],
        ),
        (
            "ins",
            vec![
                "/ui/visits?facility=CECOT".to_owned(),
                "/ui/national".to_owned(),
                "/ui/register".to_owned(),
                "/ui/access-log".to_owned(),
            ],
        ),
        ("adm", vec!["/ui/accounts".to_owned()]),
    ] {
        let (cookie, _) = w.session(user).await;
        for path in paths {
            let a = w.call("GET", &path, &[("cookie", &cookie)], None).await;
            assert!(a.status.is_success(), "{path}: {}", a.status);
            let html = page(&a);
            if path.starts_with("/ui/contacts") {
                assert!(html.contains("sin cupo"), "{html}");
            }
            if path.ends_with("reason=hearing") {
                assert!(
                    html.contains("Tribunal virtual") && html.contains("riña"),
                    "{html}"
                );
                // Each entry reads as a sentence, its data folded beside it.
                for said in [
                    "Audiencia (en línea) ante Tribunal virtual el 20/11/2025 09:00 UTC, con 1 personas oídas",
                    "Incidente en M1-C01 el 22/11/2025 10:00 UTC: riña; uso de la fuerza: no.",
                    "Asignada a la celda M1-C01.",
                    "Ingresó en CECOT el 01/05/2025 10:00 UTC (prisión preventiva); detenida el 29/04/2025 06:00 UTC en San Salvador por PNC.",
                ] {
                    assert!(html.contains(said), "{said}: {html}");
                }
            }
            let words = english_words(html);
            if !words.is_empty() {
                failures.push(format!("{path}: {words:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "English on Spanish pages:\n{}",
        failures.join("\n")
    );
}

/// Administrators land on the accounts page, and manage accounts there: add one (its second
/// factor shown once as a QR code), lock and unlock it, each change in the access log; the
/// page is for administrators only and its forms need their token.
#[tokio::test]
async fn administrators_keep_the_accounts_on_a_page_of_their_own() {
    let w = world();
    let (cookie, csrf) = w.session("adm").await;
    let signed = [("cookie", cookie.as_str())];
    let a = w.call("GET", "/ui/board", &signed, None).await;
    assert!(a.status.is_redirection(), "{}", a.status);
    assert_eq!(a.headers["location"], "/ui/accounts");
    let a = w.call("GET", "/ui/accounts", &signed, None).await;
    assert_eq!(a.status, StatusCode::OK);
    let html = page(&a);
    assert!(
        html.contains("id=\"account-dir.cecot\"") && html.contains("dirección"),
        "{html}"
    );
    let a = w
        .form(
            "/ui/accounts",
            &signed,
            &format!("csrf={csrf}&action=add&username=dir.nuevo&role=director&facilities=CECOT&language=es&password=velero-rojo-42"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    let html = page(&a);
    assert!(html.contains("id=\"account-done\""), "{html}");
    let qr = html.split("id=\"totp-qr\">").nth(1).unwrap();
    assert!(qr.starts_with("<?xml") || qr.starts_with("<svg"), "{qr}");
    assert!(html.contains("id=\"totp-secret\""));
    let added = w.log().last().unwrap().clone();
    assert_eq!(
        (
            added["kind"].as_str(),
            added["actor"].as_str(),
            added["payload"]["action"].as_str()
        ),
        (Some("access.account"), Some("user:adm"), Some("added"))
    );
    // A refusal names its field, and the form keeps what was typed (never the password).
    let a = w
        .form(
            "/ui/accounts",
            &signed,
            &format!("csrf={csrf}&action=add&username=x&role=director&facilities=CECOT&password=velero-rojo-42"),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(page(&a).contains("id=\"account-error\"") && page(&a).contains("username"));
    let a = w
        .form(
            "/ui/accounts",
            &signed,
            &format!("csrf={csrf}&action=lock&username=dir.nuevo"),
        )
        .await;
    assert!(page(&a).contains("bloqueada desde"), "{}", page(&a));
    let a = w
        .form(
            "/ui/accounts",
            &signed,
            &format!("csrf={csrf}&action=unlock&username=dir.nuevo"),
        )
        .await;
    assert!(page(&a).contains("dir.nuevo: desbloqueada"), "{}", page(&a));
    // Without the form's token: refused, and logged.
    let a = w
        .form("/ui/accounts", &signed, "action=lock&username=dir.nuevo")
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Not for other roles.
    let (cookie, _) = w.session("dir.cecot").await;
    let a = w
        .call("GET", "/ui/accounts", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(w.log().last().unwrap()["kind"], "access.refused");
}

/// A placement written up afterwards says when it happened, and the cell shows that time as
/// "since"; a placement before the admission, or in the future, is refused naming `at`.
#[tokio::test]
async fn a_placement_may_say_when_it_happened_and_the_cell_shows_it() {
    let w = world();
    let ana = w.people[0].0;
    let (cookie, csrf) = w.session("cus.cecot").await;
    let h = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let place = |at: &str| json!({"facility": "CECOT", "booking": ana, "cell": "M1-C01", "at": at});
    let size = w.main.size().unwrap();
    let a = w
        .call(
            "POST",
            "/api/allocations",
            &h,
            Some(place("2025-04-01T08:00:00Z")),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(
        (
            a.body["error"]["field"].as_str(),
            a.body["error"]["code"].as_str()
        ),
        (Some("at"), Some("before_custody"))
    );
    let a = w
        .call(
            "POST",
            "/api/allocations",
            &h,
            Some(place("2099-01-01T08:00:00Z")),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert_eq!(a.body["error"]["field"], "at");
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    let a = w
        .call(
            "POST",
            "/api/allocations",
            &h,
            Some(place("2025-05-10T08:00:00Z")),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = w
        .call(
            "GET",
            "/ui/cells/CECOT/M1-C01",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert!(page(&a).contains("10/05/2025 08:00 UTC"), "{}", page(&a));
}

/// A court asks where a person is and gets a signed answer resting on proven entries; "not
/// held" and a released person are answers too; the question is in the access log, which only
/// inspectors read in full; bad questions name their field.
#[tokio::test]
async fn a_court_asks_where_a_person_is_and_gets_a_signed_answer_it_can_check() {
    use base64::Engine as _;
    use habeas_register::merkle::{from_hex, leaf_hash, verify_inclusion};
    let b64 = base64::engine::general_purpose::STANDARD;
    let w = world();
    let (cookie, csrf) = w.session("cou").await;
    let h = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let ask = |body: Value| w.call("POST", "/api/whereabouts", &h, Some(body));
    let ana = w.people[0].0;

    // Ana López, born 1990-01-01, held at CECOT on a pretrial order.
    let a = ask(json!({"name": "ana lopez", "birth_date": "1990-01-01", "purpose": "habeas corpus", "case_reference": "HC-12-2025"})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let answer = &a.body["answer"];
    assert_eq!(answer["format"], "habeas.whereabouts/1");
    assert_eq!(answer["status"], "held", "{answer}");
    assert_eq!(answer["person"], ana);
    assert_eq!(answer["facility"], "CECOT");
    assert_eq!(answer["since"], "2025-05-01T10:00:00.000Z");
    assert_eq!(answer["legal_basis"]["kind"], "pretrial_detention");
    assert_eq!(answer["legal_basis"]["reference"], "1-2025");
    assert_eq!(answer["asked"]["case_reference"], "HC-12-2025");
    // Nothing else of the file: no health record, no cell, no family.
    let text = a.body["answer"].to_string();
    for absent in ["hipertensión", "cell", "family", "unit"] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }

    // The signature: the register's key over the answer's canonical JSON.
    let key = w.state.store.info().unwrap().verifier;
    let signed = habeas_register::note::open_note(a.body["signature"].as_str().unwrap(), &key)
        .expect("signed by the register");
    let canonical = habeas_register::canonical::to_vec(answer).unwrap();
    let digest = b64.encode(<sha2::Sha256 as sha2::Digest>::digest(&canonical));
    assert_eq!(
        signed,
        format!("habeas.whereabouts/1\nhabeas.test/api\n{digest}\n")
    );
    // Every entry it rests on is in the checkpoint's tree, and says what the answer says.
    let cp = habeas_register::note::Checkpoint::open(
        a.body["evidence"]["checkpoint"].as_str().unwrap(),
        &key,
    )
    .unwrap();
    assert_eq!(answer["checkpoint"]["size"], cp.size);
    assert_eq!(answer["checkpoint"]["root"], b64.encode(cp.root));
    let entries = a.body["evidence"]["entries"].as_array().unwrap();
    assert!(!entries.is_empty(), "{entries:?}");
    for e in entries {
        let bytes = b64.decode(e["entry"].as_str().unwrap()).unwrap();
        let leaf = leaf_hash(&bytes);
        assert_eq!(e["leaf_hash"], habeas_register::merkle::to_hex(&leaf));
        let proof: Vec<_> = e["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| from_hex(p.as_str().unwrap()).unwrap())
            .collect();
        let index = e["index"].as_u64().unwrap();
        assert!(
            verify_inclusion(index, cp.size, &leaf, &proof, &cp.root),
            "{index}"
        );
        let mut wrong = leaf;
        wrong[0] ^= 1;
        assert!(!verify_inclusion(index, cp.size, &wrong, &proof, &cp.root));
    }
    let admission: Value = serde_json::from_slice(
        &b64.decode(
            entries.iter().find(|e| e["index"] == ana).unwrap()["entry"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(admission["kind"], "custody.admitted");
    assert_eq!(admission["facility"], "CECOT");

    // Not held: a document nobody has; also an answer, signed, against the checkpoint.
    let none = ask(json!({"document": {"kind": "DUI", "number": "99999999-9"}, "purpose": "habeas corpus", "case_reference": "HC-13-2025"})).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.body);
    assert_eq!(none.body["answer"]["status"], "not_held");
    assert!(none.body["evidence"]["entries"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(
        habeas_register::note::open_note(none.body["signature"].as_str().unwrap(), &key).is_ok()
    );

    // Released: the answer says when, and rests on the release.
    let (reg_cookie, reg_csrf) = w.session("reg.cecot").await;
    let r = w
        .call("POST", "/api/releases", &[("cookie", reg_cookie.as_str()), (CSRF_HEADER, reg_csrf.as_str())],
            Some(json!({"facility": "CECOT", "booking": ana, "reason": "bail", "authority": "Juzgado", "reference": "L-1"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let released = r.body["entry"].as_u64().unwrap();
    let a = ask(json!({"name": "Ana López", "birth_date": "1990-01-01", "purpose": "habeas corpus", "case_reference": "HC-12-2025"})).await;
    assert_eq!(a.body["answer"]["status"], "released", "{}", a.body);
    assert_eq!(a.body["answer"]["ended"]["entry"], released);
    assert_eq!(a.body["answer"]["ended"]["reason"], "bail");
    let ended = a.body["evidence"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["index"] == released)
        .unwrap()
        .clone();
    // Recorded after the checkpoint the answer rests on, or proven in it.
    assert!(
        ended["after_checkpoint"].as_bool().unwrap() || ended["proof"].is_array(),
        "{ended}"
    );

    // Bad questions name the field and log nothing.
    let before = w.log().len();
    for (body, field) in [
        (json!({"purpose": "x", "case_reference": "y"}), "document"),
        (
            json!({"name": "Ana López", "purpose": "x", "case_reference": "y"}),
            "birth_date",
        ),
        (
            json!({"name": "Ana", "birth_date": "1990-01-01", "purpose": "x", "case_reference": "y"}),
            "name",
        ),
        (
            json!({"name": "Ana López", "birth_date": "1990-13-01", "purpose": "x", "case_reference": "y"}),
            "birth_date",
        ),
        (
            json!({"document": {"kind": "DUI", "number": "1"}, "name": "Ana López", "birth_date": "1990-01-01", "purpose": "x", "case_reference": "y"}),
            "document",
        ),
        (
            json!({"document": {"kind": "DUI", "number": "1"}, "purpose": " ", "case_reference": "y"}),
            "purpose",
        ),
        (
            json!({"document": {"kind": "DUI", "number": "1"}, "purpose": "x"}),
            "body",
        ),
    ] {
        let a = ask(body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        assert_eq!(a.body["error"]["field"], field, "{body}: {}", a.body);
    }
    assert_eq!(w.log().len(), before);

    // The access log has each question and answer, in full for inspectors only.
    let asked: Vec<Value> = w
        .log()
        .into_iter()
        .filter(|e| e["kind"] == "access.whereabouts")
        .collect();
    assert_eq!(asked.len(), 3);
    assert_eq!(asked[0]["actor"], "user:cou");
    assert_eq!(asked[0]["subject"], format!("person:{ana}"));
    assert_eq!(asked[0]["payload"]["case_reference"], "HC-12-2025");
    assert_eq!(asked[1]["payload"]["status"], "not_held");
    assert_eq!(
        asked[1]["payload"]["checkpoint"]["size"],
        none.body["answer"]["checkpoint"]["size"]
    );
    let (adm, _) = w.session("adm").await;
    let log = w
        .call(
            "GET",
            "/api/access-log?limit=1000",
            &[("cookie", &adm)],
            None,
        )
        .await;
    let seen = log.body["entries"].as_array().unwrap();
    let hidden: Vec<&Value> = seen
        .iter()
        .filter(|e| e["kind"] == "access.whereabouts")
        .collect();
    assert_eq!(hidden.len(), 3);
    assert!(
        hidden
            .iter()
            .all(|e| e["subject"] == "-" && e["payload"].get("case_reference").is_none()),
        "{hidden:?}"
    );
    let (ins, _) = w.session("ins").await;
    let log = w
        .call(
            "GET",
            "/api/access-log?limit=1000",
            &[("cookie", &ins)],
            None,
        )
        .await;
    let full: Vec<&Value> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "access.whereabouts")
        .collect();
    assert_eq!(full[0]["payload"]["case_reference"], "HC-12-2025");
}

/// Staff record a family's whereabouts request when it is received and answer it; one left
/// unanswered past 24 hours is a grave finding citing Rules 68–69 and the CED; another
/// facility's staff cannot record for this one; a court's page asks and shows the answer.
#[tokio::test]
async fn whereabouts_requests_are_recorded_answered_and_found_when_unanswered() {
    let w = world();
    let (cookie, csrf) = w.session("reg.cecot").await;
    let h = [("cookie", cookie.as_str())];
    let a = w
        .form(
            "/ui/whereabouts-requests",
            &h,
            &format!("csrf={csrf}&facility=CECOT&action=request&requester=Rosa+Mart%C3%ADnez&relationship=madre&contact=7012-3456&sought_name=Kevin+Mart%C3%ADnez&taken_on=2025-11-20&taken_where=Soyapango"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    let location = a.headers["location"].to_str().unwrap().to_owned();
    let first: u64 = location.rsplit('=').next().unwrap().parse().unwrap();
    assert!(location.contains("recorded="), "{location}");
    let a = w.call("GET", &location, &h, None).await;
    assert!(page(&a).contains("Kevin Martínez"), "{}", page(&a));
    assert!(page(&a).contains("id=\"requests-done\""), "{}", page(&a));
    // A second request, answered: the person is held here.
    let a = w
        .form(
            "/ui/whereabouts-requests",
            &h,
            &format!("csrf={csrf}&facility=CECOT&action=request&requester=Juan+L%C3%B3pez&relationship=hermano&sought_name=Ana+L%C3%B3pez"),
        )
        .await;
    let second: u64 = a.headers["location"]
        .to_str()
        .unwrap()
        .rsplit('=')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let ana = w.people[0].0;
    // Held, without the booking: refused, naming the field; nothing written.
    let before = w.main.size().unwrap();
    let a = w
        .form(
            "/ui/whereabouts-requests",
            &h,
            &format!("csrf={csrf}&facility=CECOT&action=reply&request={second}&held=yes&answer=en+persona"),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", page(&a));
    assert!(page(&a).contains("id=\"requests-refused\""));
    assert_eq!(w.main.size().unwrap(), before);
    let a = w
        .form(
            "/ui/whereabouts-requests",
            &h,
            &format!("csrf={csrf}&facility=CECOT&action=reply&request={second}&held=yes&booking={ana}&answer=en+persona"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    // Answering it twice is refused.
    let a = w
        .form(
            "/ui/whereabouts-requests",
            &h,
            &format!(
                "csrf={csrf}&facility=CECOT&action=reply&request={second}&held=no&answer=otra+vez"
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page(&a));
    // Another facility's staff cannot record for CECOT (logged), nor answer its requests.
    let (izalco, izalco_csrf) = w.session("cus.izalco").await;
    let a = w
        .form(
            "/ui/whereabouts-requests",
            &[("cookie", izalco.as_str())],
            &format!("csrf={izalco_csrf}&facility=CECOT&action=request&requester=X+Y&relationship=t%C3%ADa&sought_name=Z+W"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    // A day and more later, the first is unanswered: a grave finding of the facility.
    w.clock.advance_millis(25 * 3_600_000);
    let today = w.clock.now().date_string();
    let (cookie, _) = w.session("dir.cecot").await;
    let a = w
        .call(
            "GET",
            &format!("/api/reports/compliance?facility=CECOT&as_of={today}"),
            &[("cookie", cookie.as_str())],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let found: Vec<&Value> = a.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"].as_str().unwrap_or("").starts_with("whereabouts."))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["code"], "whereabouts.unanswered");
    assert_eq!(found[0]["severity"], "grave");
    assert_eq!(found[0]["evidence"], json!([first]));
    assert!(found[0]["rule"].as_str().unwrap().contains("68-69"));
    let (cookie, _) = w.session("reg.cecot").await;
    let a = w
        .call(
            "GET",
            "/ui/whereabouts-requests?facility=CECOT",
            &[("cookie", cookie.as_str())],
            None,
        )
        .await;
    assert!(page(&a).contains("class=\"expired\""), "{}", page(&a));

    // The court's page: asks by name and birth date, and shows the answer in Spanish.
    let (court, court_csrf) = w.session("cou").await;
    let court = [("cookie", court.as_str())];
    let a = w.call("GET", "/ui/board", &court, None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.headers["location"], "/ui/whereabouts");
    let a = w.call("GET", "/ui/whereabouts", &court, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(
        !page(&a).contains("/ui/board\">"),
        "no records for a court: {}",
        page(&a)
    );
    let a = w
        .form(
            "/ui/whereabouts",
            &court,
            &format!("csrf={court_csrf}&by=name&name=Ana+L%C3%B3pez&birth_date=1990-01-01&purpose=h%C3%A1beas+corpus&case_reference=HC-1"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(page(&a).contains("data-status=\"held\""), "{}", page(&a));
    assert!(page(&a).contains("Detenida en CECOT desde"), "{}", page(&a));
    assert!(
        page(&a).contains("habeas.whereabouts/1"),
        "the file is on the page"
    );
    // Without the birth date: the field is named beside it.
    let a = w
        .form(
            "/ui/whereabouts",
            &court,
            &format!("csrf={court_csrf}&by=name&name=Ana+L%C3%B3pez&purpose=x&case_reference=HC-1"),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(page(&a).contains("id=\"birth_date-error\""), "{}", page(&a));
    // A director may not ask: the page is refused (a new time step for a new code).
    w.clock.advance_millis(31_000);
    let (dir, _) = w.session("dir.cecot").await;
    let a = w
        .call("GET", "/ui/whereabouts", &[("cookie", dir.as_str())], None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// The food register: custody staff record a unit's day on the page (a day of more than ten
/// meals refused naming the field, nothing written), it is listed, marked when short of water;
/// an inspector reads it without the form; another facility's staff cannot record for this one.
/// The day makes conditions.water for the unit.
#[tokio::test]
async fn the_food_register_is_kept_by_the_staff_and_read_by_inspectors() {
    let w = world();
    let (cookie, csrf) = w.session("cus.cecot").await;
    let h = [("cookie", cookie.as_str())];
    w.register_page("/ui/food", &h, "food-form", "nav-food")
        .await;
    let today = w.clock.now().date_string();
    w.form_refused(
        "/ui/food",
        &h,
        &format!("csrf={csrf}&facility=CECOT&unit=M1&day={today}&meals=11&water_available=yes&recorded_by=Cocina"),
        ("food-refused", "Comidas servidas a cada persona"),
    )
    .await;
    let a = w
        .form(
            "/ui/food",
            &h,
            &format!("csrf={csrf}&facility=CECOT&unit=M1&day={today}&meals=3&water_available=no&water_hours=4&recorded_by=Cocina"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    let location = a.headers["location"].to_str().unwrap().to_owned();
    let a = w.call("GET", &location, &h, None).await;
    assert!(page(&a).contains("id=\"food-done\""), "{}", page(&a));
    assert!(page(&a).contains("no (4 horas)"), "{}", page(&a));
    assert!(page(&a).contains("class=\"expired\""), "{}", page(&a));
    // Another facility's staff cannot record for CECOT.
    let (izalco, izalco_csrf) = w.session("cus.izalco").await;
    let a = w
        .form(
            "/ui/food",
            &[("cookie", izalco.as_str())],
            &format!("csrf={izalco_csrf}&facility=CECOT&unit=M1&day={today}&meals=3&water_available=yes&recorded_by=x"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    // The inspector reads it, without the form, and finds the unit without water.
    let (ins, _) = w.session("ins").await;
    let a = w
        .call(
            "GET",
            "/ui/food?facility=CECOT",
            &[("cookie", ins.as_str())],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(page(&a).contains("Cocina"), "{}", page(&a));
    assert!(!page(&a).contains("id=\"food-form\""), "{}", page(&a));
    let a = w
        .call(
            "GET",
            &format!("/api/reports/compliance?facility=CECOT&as_of={today}"),
            &[("cookie", ins.as_str())],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let water: Vec<&Value> = a.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "conditions.water")
        .collect();
    assert_eq!(water.len(), 1, "{}", a.body);
    assert_eq!(water[0]["subject"]["unit"], "M1");
    assert!(a.body["no_food_records"].is_array(), "{}", a.body);
}

/// The visit register: the registry records a monitor's refused visit on the page and a media
/// tour through the API, a refusal without its reason is refused naming the field (nothing
/// written); an inspector reads the register (not the form); a custody officer may neither
/// read nor record, and another facility's staff cannot record for this one. The two visits
/// make the selective refusal and the exposure findings of the facility.
#[tokio::test]
async fn the_visit_register_is_kept_by_the_registry_and_read_by_inspectors() {
    let w = world();
    let (cookie, csrf) = w.session("reg.cecot").await;
    let h = [("cookie", cookie.as_str())];
    w.register_page("/ui/visits", &h, "visit-form", "nav-visits")
        .await;
    // Refused without a reason: the field is named, nothing is written.
    let before = w.main.size().unwrap();
    w.form_refused(
        "/ui/visits",
        &h,
        &format!("csrf={csrf}&facility=CECOT&visitor_kind=ngo&visitor=Cristosal&independent=by_kind&outcome=refused&authority=Direcci%C3%B3n&requested_at=2025-11-20T09:00"),
        ("visits-refused", "Motivo del rechazo"),
    )
    .await;
    // With its reason: recorded, and listed.
    let a = w
        .form(
            "/ui/visits",
            &h,
            &format!("csrf={csrf}&facility=CECOT&visitor_kind=ngo&visitor=Cristosal&independent=by_kind&outcome=refused&reason=r%C3%A9gimen+de+excepci%C3%B3n&authority=Direcci%C3%B3n&requested_at=2025-11-20T09:00&private_interviews=no&people_exposed=none"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    let location = a.headers["location"].to_str().unwrap().to_owned();
    let refused: u64 = location.rsplit('=').next().unwrap().parse().unwrap();
    let a = w.call("GET", &location, &h, None).await;
    assert!(page(&a).contains("id=\"visits-done\""), "{}", page(&a));
    assert!(page(&a).contains("Cristosal (ONG)"), "{}", page(&a));
    assert!(
        page(&a).contains("rechazada: régimen de excepción"),
        "{}",
        page(&a)
    );
    // A media tour admitted through the API, people filmed identifiably.
    let signed = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let a = w
        .call(
            "POST",
            "/api/records",
            &signed,
            Some(json!({"record": "oversight_visit", "facility": "CECOT", "at": "2025-11-22T10:00:00Z",
                "visitor_kind": "media_tour", "visitor": "prensa", "outcome": "admitted",
                "authority": "Ministerio", "areas_visited": ["pabellón 1"],
                "people_exposed": "identifiable", "people_shown": 40})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let tour = a.body["entry"].as_u64().unwrap();
    // A custody officer may not record one (API and page) nor read the register; another
    // facility's registry cannot record for CECOT.
    let (cus, cus_csrf) = w.session("cus.cecot").await;
    let a = w
        .call(
            "POST",
            "/api/records",
            &[("cookie", cus.as_str()), (CSRF_HEADER, cus_csrf.as_str())],
            Some(json!({"record": "oversight_visit", "facility": "CECOT", "at": "2025-11-22T10:00:00Z",
                "visitor_kind": "official", "visitor": "diputados", "outcome": "admitted"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = w
        .call("GET", "/ui/visits", &[("cookie", cus.as_str())], None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    let a = w
        .form(
            "/ui/visits",
            &[("cookie", cus.as_str())],
            &format!(
                "csrf={cus_csrf}&facility=CECOT&visitor_kind=official&visitor=x&outcome=admitted"
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    let (izalco, izalco_csrf) = w.session("cus.izalco").await;
    let a = w
        .form(
            "/ui/visits",
            &[("cookie", izalco.as_str())],
            &format!("csrf={izalco_csrf}&facility=CECOT&visitor_kind=official&visitor=x&outcome=admitted"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    assert_eq!(w.main.size().unwrap(), before + 2);
    // The inspector reads both, without the form.
    let (ins, _) = w.session("ins").await;
    let a = w
        .call(
            "GET",
            "/ui/visits?facility=CECOT",
            &[("cookie", ins.as_str())],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(page(&a).contains("Cristosal") && page(&a).contains("recorrido de prensa"));
    assert!(page(&a).contains("reconocibles: 40"), "{}", page(&a));
    assert!(!page(&a).contains("id=\"visit-form\""), "{}", page(&a));
    assert!(page(&a).contains("class=\"expired\""), "{}", page(&a));
    // The findings: the NGO refused while the tour was admitted, and the people filmed.
    let today = w.clock.now().date_string();
    let a = w
        .call(
            "GET",
            &format!("/api/reports/compliance?facility=CECOT&as_of={today}"),
            &[("cookie", ins.as_str())],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let found = |code: &str| -> Vec<Value> {
        a.body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .cloned()
            .collect()
    };
    let refusals = found("oversight.access_refused");
    assert_eq!(refusals.len(), 1, "{}", a.body);
    assert_eq!(refusals[0]["severity"], "grave");
    assert_eq!(refusals[0]["evidence"], json!([refused, tour]));
    assert!(refusals[0]["rule"].as_str().unwrap().contains("83-85"));
    let exposure = found("privacy.public_exposure");
    assert_eq!(exposure.len(), 1, "{}", a.body);
    assert_eq!(exposure[0]["severity"], "grave");
    assert_eq!(exposure[0]["evidence"], json!([tour]));
}

/// A monitor's request to visit is recorded as pending (on the page) and found unanswered after
/// the policy's 30 days; a record naming it answers it, once, and the finding is gone. A
/// sentence plan is a record of the person's file.
#[tokio::test]
async fn a_pending_request_to_visit_is_found_until_answered_once() {
    let w = world();
    let (cookie, csrf) = w.session("reg.cecot").await;
    let h = [("cookie", cookie.as_str())];
    let a = w
        .form(
            "/ui/visits",
            &h,
            &format!("csrf={csrf}&facility=CECOT&visitor_kind=ngo&visitor=Human+Rights+Watch&independent=by_kind&outcome=pending&at=2025-10-01T09:00&private_interviews=no&people_exposed=none"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", page(&a));
    let location = a.headers["location"].to_str().unwrap().to_owned();
    let request: u64 = location.rsplit('=').next().unwrap().parse().unwrap();
    let a = w.call("GET", &location, &h, None).await;
    assert!(
        page(&a).contains("pendiente (sin respuesta aún)"),
        "{}",
        page(&a)
    );
    let (ins, _) = w.session("ins").await;
    let today = w.clock.now().date_string();
    let unanswered = || async {
        let a = w
            .call(
                "GET",
                &format!("/api/reports/compliance?facility=CECOT&as_of={today}"),
                &[("cookie", ins.as_str())],
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "oversight.request_unanswered")
            .cloned()
            .collect::<Vec<Value>>()
    };
    let found = unanswered().await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["severity"], "serious");
    assert_eq!(found[0]["evidence"], json!([request]));
    // Answered: refused, naming the request. The finding is gone; a second answer is refused
    // naming the field, and so is one naming an entry that is no pending request.
    let signed = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let answer = |to: u64| {
        json!({"record": "oversight_visit", "facility": "CECOT", "at": "2025-11-20T10:00:00Z",
            "visitor_kind": "ngo", "visitor": "Human Rights Watch", "outcome": "refused",
            "reason": "régimen de excepción", "authority": "Dirección", "answers": to})
    };
    let a = w
        .call("POST", "/api/records", &signed, Some(answer(request)))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let answered = a.body["entry"].as_u64().unwrap();
    assert!(unanswered().await.is_empty());
    for to in [request, answered] {
        let a = w
            .call("POST", "/api/records", &signed, Some(answer(to)))
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert_eq!(a.body["error"]["field"], "answers", "{}", a.body);
    }
    // A sentence plan for Ana: recorded and in her file.
    let ana = w.people[0].0;
    let a = w
        .call(
            "POST",
            "/api/records",
            &signed,
            Some(
                json!({"record": "sentence_plan", "facility": "CECOT", "booking": ana,
                "at": "2025-11-20T10:00:00Z", "drawn_up_by": "Equipo técnico",
                "objectives": ["terminar la educación básica"], "next_review": "2026-05-20"}),
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
}

/// A custody agreement of `facility` with the United States from 1 March 2025, at 10.00 USD a
/// person and day (1,000 cents).
fn agreement_of(facility: &str) -> Draft {
    let actor = actor();
    habeas_core::events::AgreementInput {
        facility: facility.into(),
        counterpart: "US".into(),
        reference: format!("Acuerdo {facility} 2025"),
        starts: "2025-03-01".into(),
        ends: None,
        terms: "custodia de personas enviadas por el otro Estado".into(),
        per_capita_rate: Some(1_000),
        currency: Some("USD".into()),
    }
    .validate(&actor)
    .unwrap()
}

/// Someone sent by the other state under `agreement`, admitted at `at`.
fn sent_under(facility: &str, name: &str, agreement: u64, at: &str) -> Draft {
    let actor = actor();
    serde_json::from_value::<habeas_core::custody::AdmissionInput>(json!({
        "facility": facility,
        "person": {"given_names": name, "surnames": ["Rondón"], "birth_date": "1994-06-01", "sex": "male", "nationalities": ["VE"]},
        "admitted_at": at,
        "legal_status": "held_for_another_state",
        "agreement": agreement,
        "orders": [{"kind": "transfer_agreement", "authority": "Ministerio", "reference": format!("ACU-{name}"), "issued": "2025-03-15"}],
        "consular": {"rights_advised_at": at, "notification_requested": true}
    }))
    .unwrap()
    .validate(Timestamp(T0))
    .unwrap()
    .to_draft(&actor)
}

/// The account of an agreement — its people, person-days, the amount due and the findings —
/// for the director of its facility, the national administration and inspectors, through the
/// API and the pages; a director of another facility is not found (logged), other roles are
/// refused, and a period outside the agreement names its field.
#[tokio::test]
async fn an_agreements_account_for_its_director_the_nation_and_inspectors() {
    let mut w = world();
    let actor = actor();
    let agreement = w.records.append_all(vec![agreement_of("CECOT")]).unwrap()[0].index;
    let jose = w
        .records
        .append_all(vec![sent_under(
            "CECOT",
            "José",
            agreement,
            "2025-03-16T04:00:00.000Z",
        )])
        .unwrap()[0]
        .index;
    let luis = w
        .records
        .append_all(vec![sent_under(
            "CECOT",
            "Luis",
            agreement,
            "2025-03-20T10:00:00.000Z",
        )])
        .unwrap()[0]
        .index;
    let release = habeas_core::custody::Release::new(
        "CECOT",
        luis,
        Some("transfer_to_another_state"),
        "Ministerio",
        "DEV-1",
        "2025-04-10T08:00:00.000Z",
        Timestamp(T0),
        &actor,
    )
    .unwrap()
    .to_draft(&actor);
    w.records.append_all(vec![release]).unwrap();
    // A director of IZALCO.
    let secret = auth::new_totp_secret().unwrap();
    Accounts::open(&w._dir.path().join("h.db"))
        .unwrap()
        .add_user(
            &NewUser {
                username: "dir.izalco",
                role: "director",
                facilities: &["IZALCO".to_owned()],
                password_hash: &auth::hash_password(PASSWORD).unwrap(),
                totp_secret: Some(&secret),
                language: "es",
            },
            T0,
        )
        .unwrap();
    w.totp.insert("dir.izalco", secret);

    let april = format!("/api/reports/agreement?id={agreement}&from=2025-04-01&to=2025-04-30");
    let doc = serde_json::to_value(habeas_web::openapi::document()).unwrap();
    // One session each (a second factor's code signs in once).
    let mut cookies = std::collections::HashMap::new();
    for user in ["dir.cecot", "nat", "ins"] {
        let (cookie, _) = w.session(user).await;
        cookies.insert(user, cookie.clone());
        let a = w.call("GET", &april, &[("cookie", &cookie)], None).await;
        assert_eq!(a.status, StatusCode::OK, "{user}: {}", a.body);
        let schema = documented(&doc, "GET", &april, a.status).unwrap();
        conforms(&a.body, schema, &doc, user).unwrap();
        let people = a.body["people"].as_array().unwrap();
        // José all thirty days of April; Luis to the day he was handed over, the 10th.
        let days: Vec<(u64, u64)> = people
            .iter()
            .map(|p| {
                (
                    p["person"].as_u64().unwrap(),
                    p["person_days"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(days, [(jose, 30), (luis, 10)], "{user}");
        assert_eq!(a.body["person_days"], 40);
        assert_eq!(a.body["amount_due"], 40 * 1_000);
        assert_eq!(a.body["currency"], "USD");
        assert_eq!(
            people[0]["custodies"][0]["references"][0]["reference"],
            "ACU-José"
        );
        assert_eq!(
            people[1]["custodies"][0]["end_reason"],
            "transfer_to_another_state"
        );
        // Findings about them from the compliance engine, none about anyone else.
        let findings: Vec<&Value> = people
            .iter()
            .flat_map(|p| p["findings"].as_array().unwrap())
            .collect();
        assert!(!findings.is_empty(), "{}", a.body);
        assert!(findings
            .iter()
            .all(|f| [jose, luis].contains(&f["booking"].as_u64().unwrap())));
        // Logged as a list that names people, before it was answered.
        let last = w.log().last().unwrap().clone();
        assert_eq!(
            (last["kind"].as_str(), last["actor"].as_str()),
            (Some("access.listed"), Some(format!("user:{user}").as_str()))
        );
        assert_eq!(last["payload"]["people"], 2);

        // The pages: the list and the account, in Spanish.
        let list = w
            .call("GET", "/ui/agreements", &[("cookie", &cookie)], None)
            .await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(page(&list).contains(&format!("href=\"/ui/agreements/{agreement}\"")));
        assert!(page(&list).contains("id=\"nav-agreements\""));
        let account = w
            .call(
                "GET",
                &format!("/ui/agreements/{agreement}?from=2025-04-01&to=2025-04-30"),
                &[("cookie", &cookie)],
                None,
            )
            .await;
        assert_eq!(account.status, StatusCode::OK);
        let html = page(&account);
        for needle in [
            "José Rondón",
            "Luis Rondón",
            "<dd id=\"agr-person-days\">40</dd>",
            "<dd id=\"agr-amount\">400,00 USD</dd>",
            "10,00 USD por persona y día",
            "entrega a otro Estado",
            "ACU-José",
        ] {
            assert!(html.contains(needle), "{user}: {needle}: {html}");
        }
        // A period before the agreement: said beside the picker, nothing counted.
        let before = w
            .call(
                "GET",
                &format!("/ui/agreements/{agreement}?from=2025-01-01&to=2025-02-28"),
                &[("cookie", &cookie)],
                None,
            )
            .await;
        assert_eq!(before.status, StatusCode::OK);
        assert!(page(&before).contains("id=\"period-problem\""));
        assert!(!page(&before).contains("José Rondón"));
    }

    // Bad input names the field and logs nothing.
    let nat = cookies["nat"].clone();
    for (query, field, status) in [
        (
            "from=2025-01-01&to=2025-02-28",
            "to",
            StatusCode::BAD_REQUEST,
        ),
        (
            "from=2025-04-30&to=2025-04-01",
            "to",
            StatusCode::BAD_REQUEST,
        ),
        ("to=2026-01-31", "to", StatusCode::BAD_REQUEST),
        ("from=April", "from", StatusCode::BAD_REQUEST),
    ] {
        let before = w.log().len();
        let a = w
            .call(
                "GET",
                &format!("/api/reports/agreement?id={agreement}&{query}"),
                &[("cookie", &nat)],
                None,
            )
            .await;
        assert_eq!(
            (a.status, a.body["error"]["field"].as_str()),
            (status, Some(field)),
            "{query}: {}",
            a.body
        );
        assert_eq!(w.log().len(), before, "{query}");
    }
    let a = w
        .call(
            "GET",
            "/api/reports/agreement?id=x",
            &[("cookie", &nat)],
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id"))
    );
    // Not an agreement (a booking): not found.
    let a = w
        .call(
            "GET",
            &format!("/api/reports/agreement?id={jose}"),
            &[("cookie", &nat)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // A director of IZALCO: CECOT's agreement is not found, as if there were none, and the
    // refusal is logged; the list shows none of CECOT's.
    let (izalco, _) = w.session("dir.izalco").await;
    let a = w.call("GET", &april, &[("cookie", &izalco)], None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    assert_eq!(a.body["error"]["code"], "not_found");
    assert!(!a.body.to_string().contains("CECOT"), "{}", a.body);
    let last = w.log().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["actor"].as_str()),
        (Some("access.refused"), Some("user:dir.izalco"))
    );
    let a = w
        .call(
            "GET",
            &format!("/ui/agreements/{agreement}"),
            &[("cookie", &izalco)],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(!page(&a).contains("José"));
    assert_eq!(w.log().last().unwrap()["kind"], "access.refused");
    let a = w
        .call("GET", "/ui/agreements", &[("cookie", &izalco)], None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(page(&a).contains("id=\"no-agreements\""), "{}", page(&a));

    // Other roles are refused (logged), and have no link to it.
    let (custody, _) = w.session("cus.cecot").await;
    let a = w.call("GET", &april, &[("cookie", &custody)], None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(w.log().last().unwrap()["kind"], "access.refused");
    let a = w
        .call("GET", "/ui/agreements", &[("cookie", &custody)], None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = w
        .call("GET", "/ui/board", &[("cookie", &custody)], None)
        .await;
    assert!(!page(&a).contains("id=\"nav-agreements\""));
}

/// Rules 69 and 71(1): a serious injury opens a case, found until the person's designated
/// contact is told and the injury is reported to an independent authority; each step is
/// checked against the case and the facility that keeps it; a refusal writes nothing.
#[tokio::test]
async fn a_serious_injury_is_told_and_reported_and_each_step_is_checked() {
    let w = world();
    let (ana, _) = w.people[0];
    let (beto, _) = w.people[1];
    let (health, health_csrf) = w.session("hea.cecot").await;
    let health = [
        ("cookie", health.as_str()),
        (CSRF_HEADER, health_csrf.as_str()),
    ];
    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let hours_ago = |h: i64| Timestamp(T0 - h * 3_600_000).to_string();
    let harm = |facility: &str, booking: u64, kind: &str| {
        json!({"record": "serious_harm", "facility": facility, "booking": booking, "at": hours_ago(30),
               "kind": kind, "circumstances": "caída desde la litera superior en la celda; llevada a la enfermería"})
    };
    let case = w.record(&health, harm("CECOT", ana, "injury")).await;
    let today = format!(
        "/api/reports/compliance?facility=CECOT&as_of={}",
        w.clock.now().date_string()
    );
    let harms = |a: &Answer| -> Vec<(String, Value)> {
        a.body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"].as_str().unwrap().starts_with("harm."))
            .map(|f| (f["code"].as_str().unwrap().to_owned(), f["until"].clone()))
            .collect()
    };
    let a = w.call("GET", &today, &signed, None).await;
    assert_eq!(
        harms(&a),
        [
            ("harm.not_reported".to_owned(), Value::Null),
            ("harm.designated_not_informed".to_owned(), Value::Null)
        ],
        "{}",
        a.body
    );
    // The list of cases says what is pending.
    assert_eq!(
        w.first_harm_case(&signed).await,
        (
            Some(case),
            Some("injury".to_owned()),
            json!(["designated_informed", "independent_authority_informed"])
        )
    );
    let step = |facility: &str, step: &str, at: String| {
        json!({"record": "harm_step", "facility": facility, "case": case, "step": step, "at": at,
               "detail": "llamada a Marta Pérez, hermana (contacto designado)"})
    };
    // Refused, and nothing written: another facility's staff, a case their facility does not
    // keep, a step before the harm, a witness where there is no decline, a step that does not
    // exist, a harm to a person another facility holds.
    let (izalco, izalco_csrf) = w.session("cus.izalco").await;
    let izalco = [
        ("cookie", izalco.as_str()),
        (CSRF_HEADER, izalco_csrf.as_str()),
    ];
    let a = w
        .call("GET", "/api/harms?facility=CECOT", &izalco, None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let told = |facility: &str, hours: i64| step(facility, "designated_informed", hours_ago(hours));
    for (who, body, refusal) in [
        (&izalco, told("CECOT", 2), (StatusCode::FORBIDDEN, None)),
        (
            &izalco,
            told("IZALCO", 2),
            (StatusCode::NOT_FOUND, Some("case")),
        ),
        (
            &signed,
            told("CECOT", 31),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("at")),
        ),
        (
            &signed,
            step("CECOT", "case_closed", hours_ago(2)),
            (StatusCode::BAD_REQUEST, None),
        ),
        (
            &health,
            harm("CECOT", beto, "injury"),
            (StatusCode::NOT_FOUND, Some("booking")),
        ),
    ] {
        w.record_refused(who, body, refusal).await;
    }
    let mut witnessed = told("CECOT", 2);
    witnessed["witnessed_by"] = json!("Lcda. Pérez");
    w.record_refused(
        &signed,
        witnessed,
        (StatusCode::BAD_REQUEST, Some("witnessed_by")),
    )
    .await;
    // Her sister told two hours ago, the report to the public prosecutor an hour ago: each
    // finding ends then.
    w.record(&signed, told("CECOT", 2)).await;
    w.record(
        &signed,
        step("CECOT", "independent_authority_informed", hours_ago(1)),
    )
    .await;
    let a = w
        .call("GET", "/api/harms?facility=CECOT", &signed, None)
        .await;
    assert_eq!(a.body["cases"][0]["pending"], json!([]), "{}", a.body);
    assert_eq!(
        a.body["cases"][0]["steps"][1]["step"], "independent_authority_informed",
        "{}",
        a.body
    );
    let a = w.call("GET", &today, &signed, None).await;
    assert_eq!(
        harms(&a),
        [
            ("harm.not_reported".to_owned(), json!(hours_ago(1))),
            (
                "harm.designated_not_informed".to_owned(),
                json!(hours_ago(2))
            )
        ],
        "{}",
        a.body
    );
    // An illness the person asked nobody be told of, in their words: a notice for inspectors.
    let illness = w.record(&health, harm("CECOT", ana, "illness")).await;
    let declined = w
        .record(
            &signed,
            json!({"record": "harm_step", "facility": "CECOT", "case": illness,
                   "step": "notice_declined", "at": hours_ago(29),
                   "detail": "No quiero que mi familia se preocupe.", "witnessed_by": "Dra. Ramos, médica"}),
        )
        .await;
    let a = w.call("GET", &today, &signed, None).await;
    let notice = a.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "harm.notice_declined")
        .unwrap()
        .clone();
    assert_eq!(
        (notice["severity"].as_str(), notice["evidence"].clone()),
        (Some("notice"), json!([illness, declined])),
        "{notice}"
    );
    // The person's file says it in the reader's language (Spanish here), and the findings
    // cite their rules.
    let file = w.file_page(ana, &signed).await;
    for said in [
        "Caso de lesión grave, el",
        "autoridad independiente informada",
        "la persona pidió que no se avisara a nadie",
    ] {
        assert!(file.contains(said), "{said}: {file}");
    }
    let a = w
        .call("GET", "/ui/compliance?facility=CECOT", &signed, None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    for rule in ["Regla Mandela 71(1)", "Regla Mandela 69: se notifica"] {
        assert!(page(&a).contains(rule), "{rule}: {}", page(&a));
    }
    // The dashboard lists this month's cases, done or not; an illness of forty days ago,
    // every step done, is only counted; one of forty days ago with a step due is listed.
    assert!(!page(&a).contains("id=\"harms-closed\""), "{}", page(&a));
    let old = |hours: i64| {
        let mut h = harm("CECOT", ana, "illness");
        h["at"] = json!(hours_ago(hours));
        h
    };
    let closed = w.record(&health, old(960)).await;
    w.record(
        &signed,
        json!({"record": "harm_step", "facility": "CECOT", "case": closed,
               "step": "notice_declined", "at": hours_ago(959),
               "detail": "Prefiero que no se avise.", "witnessed_by": "Dra. Ramos, médica"}),
    )
    .await;
    let pending = w.record(&health, old(961)).await;
    // The dashboard's evaluation is made again at most once a minute.
    w.clock.advance_millis(61_000);
    let a = w
        .call("GET", "/ui/compliance?facility=CECOT", &signed, None)
        .await;
    let listed: Vec<String> = page(&a)
        .split("<a href=\"/ui/harm?booking=")
        .skip(1)
        .map(|row| row.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(listed, vec![ana.to_string(); 3], "{}", page(&a));
    assert!(
        page(&a).contains("<p id=\"harms-closed\">Y 1 anteriores a los últimos 30 días"),
        "{}",
        page(&a)
    );
    let a = w
        .call("GET", "/api/harms?facility=CECOT", &signed, None)
        .await;
    let cases: Vec<u64> = a.body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case"].as_u64().unwrap())
        .collect();
    assert_eq!(cases, [case, illness, closed, pending], "{}", a.body);
}

/// An escape ends the custody without releasing anyone: it opens a Rule 71(1) case of the
/// facility that held the person, grave until it is reported to an independent authority; the
/// case takes no request that nobody be told, nor a step from another facility; a court's
/// whereabouts answer says "escaped" and checks; the month's flows count an escape, not a
/// release; a recapture is a new admission of the same person.
#[tokio::test]
async fn an_escape_ends_the_custody_and_is_grave_until_reported_to_an_independent_authority() {
    let w = world();
    let (ana, _) = w.people[0];
    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str()), (CSRF_HEADER, csrf.as_str())];
    let hours_ago = |h: i64| Timestamp(T0 - h * 3_600_000).to_string();
    let r = w
        .call(
            "POST",
            "/api/releases",
            &signed,
            Some(json!({"facility": "CECOT", "booking": ana, "reason": "escape",
                        "authority": "Dirección del CECOT", "reference": "PARTE-77-2025", "at": hours_ago(30)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let escape = r.body["entry"].as_u64().unwrap();
    let file = w.main.person_file(ana).unwrap().unwrap();
    assert_eq!(
        (
            file.custodies[0].ended_by,
            file.custodies[0].end_reason.as_deref()
        ),
        (Some(escape), Some("escape"))
    );
    // Grave from the 24th hour, with no end.
    let today = format!(
        "/api/reports/compliance?facility=CECOT&as_of={}",
        w.clock.now().date_string()
    );
    let escapes = |a: &Answer| -> Vec<(String, Value, Value, Value)> {
        a.body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"].as_str().unwrap().starts_with("escape."))
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_owned(),
                    f["severity"].clone(),
                    f["since"].clone(),
                    f["until"].clone(),
                )
            })
            .collect()
    };
    let a = w.call("GET", &today, &signed, None).await;
    assert_eq!(
        escapes(&a),
        [(
            "escape.not_reported".to_owned(),
            json!("grave"),
            json!(hours_ago(6)),
            Value::Null
        )],
        "{}",
        a.body
    );
    assert_eq!(
        w.first_harm_case(&signed).await,
        (
            Some(escape),
            Some("escape".to_owned()),
            json!(["independent_authority_informed"])
        )
    );
    let step = |facility: &str, step: &str, hours: i64| {
        json!({"record": "harm_step", "facility": facility, "case": escape, "step": step,
               "at": hours_ago(hours), "detail": "parte a la Fiscalía General, oficio 1203"})
    };
    // Refused, nothing written: the person is not there to ask that nobody be told; another
    // facility's staff, in their own facility's name, does not find the case.
    w.record_refused(
        &signed,
        step("CECOT", "notice_declined", 2),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("step")),
    )
    .await;
    let (izalco, izalco_csrf) = w.session("cus.izalco").await;
    let izalco = [
        ("cookie", izalco.as_str()),
        (CSRF_HEADER, izalco_csrf.as_str()),
    ];
    w.record_refused(
        &izalco,
        step("IZALCO", "independent_authority_informed", 2),
        (StatusCode::NOT_FOUND, Some("case")),
    )
    .await;
    // The family told is recorded, and is not the report.
    w.record(&signed, step("CECOT", "designated_informed", 3))
        .await;
    let a = w.call("GET", &today, &signed, None).await;
    assert_eq!(escapes(&a)[0].3, Value::Null, "{}", a.body);
    // Reported two hours ago: the finding ends then, nothing is pending.
    w.record(&signed, step("CECOT", "independent_authority_informed", 2))
        .await;
    let a = w.call("GET", &today, &signed, None).await;
    assert_eq!(escapes(&a)[0].3, json!(hours_ago(2)), "{}", a.body);
    assert_eq!(w.first_harm_case(&signed).await.2, json!([]));

    // A court asks: escaped, on the escape's entry, and the answer checks.
    let (court, court_csrf) = w.session("cou").await;
    let court = [
        ("cookie", court.as_str()),
        (CSRF_HEADER, court_csrf.as_str()),
    ];
    let asked = json!({"name": "Ana López", "birth_date": "1990-01-01", "purpose": "habeas corpus", "case_reference": "HC-40-2025"});
    let a = w
        .call("POST", "/api/whereabouts", &court, Some(asked.clone()))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        (
            a.body["answer"]["status"].as_str(),
            a.body["answer"]["ended"]["entry"].as_u64(),
            a.body["answer"]["ended"]["reason"].as_str()
        ),
        (Some("escaped"), Some(escape), Some("escape")),
        "{}",
        a.body
    );
    let key = w.state.store.info().unwrap().verifier;
    let checked = habeas_core::answer::check(&a.body, &key, &[], 0).unwrap();
    assert_eq!(checked.status, "escaped");
    assert!(
        checked
            .passed
            .iter()
            .any(|p| p == "the answer says what its entries say"),
        "{checked:?}"
    );
    // Said to be a release, even signed by the register's own key, it does not check.
    let mut lie = a.body.clone();
    lie["answer"]["status"] = json!("released");
    let canonical = habeas_register::canonical::to_vec(&lie["answer"]).unwrap();
    {
        use base64::Engine as _;
        let digest = base64::engine::general_purpose::STANDARD
            .encode(<sha2::Sha256 as sha2::Digest>::digest(&canonical));
        lie["signature"] = json!(habeas_register::note::Signer::from_seed(
            "habeas.test/api",
            [4; 32]
        )
        .unwrap()
        .sign_note(&format!(
            "habeas.whereabouts/1\nhabeas.test/api\n{digest}\n"
        ))
        .unwrap());
    }
    let refused = habeas_core::answer::check(&lie, &key, &[], 0).unwrap_err();
    assert!(refused.contains("the reason escape"), "{refused}");

    // The month's flows: an escape, not a release.
    let month = &hours_ago(30)[..7];
    let a = w
        .call(
            "GET",
            "/api/reports/statistics?facility=CECOT",
            &signed,
            None,
        )
        .await;
    let flow = a.body["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["month"] == month)
        .unwrap()
        .clone();
    assert_eq!(
        (&flow["escapes"], &flow["releases"]),
        (&json!(1), &json!(0)),
        "{flow}"
    );

    // Recaptured: a new admission of the same person, on the order in force.
    let back = json!({
        "facility": "CECOT", "existing_person": ana, "admitted_at": hours_ago(1), "legal_status": "remand",
        "orders": [{"kind": "pretrial_detention", "authority": "Juzgado Especializado", "reference": "1-2025", "issued": "2025-04-30", "expires": "2026-04-30"}],
        "arrest": {"at": hours_ago(2), "place": "Soyapango", "authority": "PNC"}
    });
    let a = w.call("POST", "/api/admissions", &signed, Some(back)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let again = w.main.size().unwrap() - 1;
    let a = w
        .call("POST", "/api/whereabouts", &court, Some(asked))
        .await;
    assert_eq!(a.body["answer"]["status"], "held", "{}", a.body);
    // The escape's case says the person was recaptured, and under which booking; the file
    // links the two custodies both ways; the case page says it.
    let a = w
        .call("GET", "/api/harms?facility=CECOT", &signed, None)
        .await;
    assert_eq!(
        (
            a.body["cases"][0]["case"].as_u64(),
            a.body["cases"][0]["recaptured"].as_u64()
        ),
        (Some(escape), Some(again)),
        "{}",
        a.body
    );
    let file = w.file_page(ana, &signed).await;
    for said in [
        format!("Recapturada: ingresó de nuevo el 24/11/2025 en CECOT (expediente {again})."),
        format!("Ingreso tras una evasión de la custodia (expediente {ana})."),
    ] {
        assert!(file.contains(&said), "{said}: {file}");
    }
    let a = w
        .call("GET", &format!("/ui/harm?booking={ana}"), &signed, None)
        .await;
    assert!(
        page(&a).contains(&format!(
            "id=\"harm-recaptured-{escape}\">La persona fue recapturada"
        )),
        "{}",
        page(&a)
    );
    assert_eq!(w.main.check_projections().unwrap(), Ok(()));
}

/// Rules 69 and 71(1) from the person's file: the staff of the facility holding the person
/// open a serious-harm case and record its steps through the page's forms; another facility's
/// staff and roles without access are refused; a refused form names its field and writes
/// nothing; the findings follow the steps.
#[tokio::test]
async fn a_serious_injury_is_opened_and_reported_from_the_file() {
    let w = world();
    let (ana, _) = w.people[0];
    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str())];
    let page_of = format!("/ui/harm?booking={ana}");
    // The file links to the page, for the registry and for health staff.
    let (health, health_csrf) = w.session("hea.cecot").await;
    let health = [("cookie", health.as_str())];
    for who in [&signed, &health] {
        let file = w.file_page(ana, who).await;
        assert!(file.contains(&page_of), "{file}");
    }
    let a = w.call("GET", &page_of, &signed, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(
        page(&a).contains("id=\"harm-open\"") && page(&a).contains("id=\"harm-none\""),
        "{}",
        page(&a)
    );
    // Another facility's staff, and a role without access, do not get it, nor write with it.
    let (izalco, izalco_csrf) = w.session("cus.izalco").await;
    let (national, _) = w.session("nat").await;
    for who in [&izalco, &national] {
        let a = w
            .call("GET", &page_of, &[("cookie", who.as_str())], None)
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    }
    let size = w.main.size().unwrap();
    let a = w
        .form(
            "/ui/harm",
            &[("cookie", izalco.as_str())],
            &format!(
                "csrf={izalco_csrf}&booking={ana}&what=case&kind=injury&circumstances=ca%C3%ADda"
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    // No circumstances: refused, naming the field by its label in the reader's language.
    w.form_refused(
        "/ui/harm",
        &signed,
        &format!(
            "csrf={csrf}&booking={ana}&what=case&kind=injury&circumstances=+&at=2025-11-23T10:00"
        ),
        ("harm-refused", "Qué ocurrió: "),
    )
    .await;
    // A serious injury 30 hours ago, opened by health staff.
    let a = w
        .form(
            "/ui/harm",
            &health,
            &format!("csrf={health_csrf}&booking={ana}&what=case&kind=injury&circumstances=Ca%C3%ADda+desde+la+litera&at=2025-11-23T10:00"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    assert!(page(&a).contains("id=\"harm-done\""), "{}", page(&a));
    let case = size;
    let entry: Value = serde_json::from_slice(&w.main.entry(case).unwrap().unwrap()).unwrap();
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["facility"].as_str(),
            entry["payload"]["booking"].as_u64(),
            entry["payload"]["kind"].as_str(),
            entry["payload"]["at"].as_str(),
            entry["payload"]["circumstances"].as_str()
        ),
        (
            Some("harm.recorded"),
            Some("CECOT"),
            Some(ana),
            Some("injury"),
            Some("2025-11-23T10:00:00.000Z"),
            Some("Caída desde la litera")
        ),
        "{entry}"
    );
    // The page shows the case, what is due and by when, overdue, and a form for its steps.
    let a = w.call("GET", &page_of, &signed, None).await;
    for said in [
        format!("id=\"harm-step-form-{case}\""),
        "Caída desde la litera".to_owned(),
        "Pendiente: comunicarlo a una autoridad independiente".to_owned(),
        "Pendiente: informar a la persona designada".to_owned(),
        "vencido".to_owned(),
    ] {
        assert!(page(&a).contains(&said), "{said}: {}", page(&a));
    }
    // A witness where the person asked nothing, and a case not of this custody: refused by
    // the form; a step before the harm: refused by the records (422). Nothing written.
    let step = |step: &str, at: &str, extra: &str| {
        format!("csrf={csrf}&booking={ana}&what=step&case={case}&step={step}&at={at}&detail=Fiscal%C3%ADa%2C+oficio+12-2025{extra}")
    };
    w.form_refused(
        "/ui/harm",
        &signed,
        &step(
            "designated_informed",
            "2025-11-24T14:00",
            "&witnessed_by=Lcda.+P%C3%A9rez",
        ),
        ("harm-refused", "Testigo (nombre y cargo): "),
    )
    .await;
    w.form_refused(
        "/ui/harm",
        &signed,
        &step("designated_informed", "2025-11-24T14:00", "")
            .replace(&format!("case={case}"), "case=1"),
        ("harm-refused", "Caso: "),
    )
    .await;
    let a = w
        .form(
            "/ui/harm",
            &signed,
            &step("independent_authority_informed", "2025-11-23T09:00", ""),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page(&a));
    assert!(page(&a).contains("Cuándo: "), "{}", page(&a));
    assert_eq!(w.main.size().unwrap(), size + 1, "nothing written");
    // Reported to the public prosecutor an hour ago.
    let a = w
        .form(
            "/ui/harm",
            &signed,
            &step("independent_authority_informed", "2025-11-24T15:00", ""),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    assert!(
        page(&a).contains("comunicada a una autoridad independiente")
            && !page(&a).contains("Pendiente: comunicarlo")
            && page(&a).contains("Pendiente: informar a la persona designada"),
        "{}",
        page(&a)
    );
    let entry: Value = serde_json::from_slice(&w.main.entry(case + 1).unwrap().unwrap()).unwrap();
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["facility"].as_str(),
            entry["payload"]["case"].as_u64(),
            entry["payload"]["step"].as_str(),
            entry["payload"]["at"].as_str(),
            entry["payload"]["detail"].as_str(),
            entry["payload"].get("witnessed_by")
        ),
        (
            Some("harm.step"),
            Some("CECOT"),
            Some(case),
            Some("independent_authority_informed"),
            Some("2025-11-24T15:00:00.000Z"),
            Some("Fiscalía, oficio 12-2025"),
            None
        ),
        "{entry}"
    );
    // The grave finding ends when it was reported; the designated person is still not told.
    let today = format!(
        "/api/reports/compliance?facility=CECOT&as_of={}",
        w.clock.now().date_string()
    );
    let a = w.call("GET", &today, &signed, None).await;
    let harms: Vec<(String, Value)> = a.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"].as_str().unwrap().starts_with("harm."))
        .map(|f| (f["code"].as_str().unwrap().to_owned(), f["until"].clone()))
        .collect();
    assert_eq!(
        harms,
        [
            (
                "harm.not_reported".to_owned(),
                json!("2025-11-24T15:00:00.000Z")
            ),
            ("harm.designated_not_informed".to_owned(), Value::Null)
        ],
        "{}",
        a.body
    );
}

/// The end of a custody from the file: for the registry and the direction of the facility
/// holding the person only; a form without its authority or with no such reason is refused by
/// its label, one dated before the admission by the records, nothing written. An escape
/// recorded there: the file says so (not "released") and links to its case; the case's page
/// shows the report due and overdue, offers no request that nobody be told and no new case (the
/// person is not held), and records the report; the court's answer page says "escaped".
#[tokio::test]
async fn an_escape_is_recorded_and_reported_from_the_file_of_the_custody_it_ended() {
    let w = world();
    let (ana, _) = w.people[0];
    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str())];
    let release_of = format!("/ui/release?booking={ana}");
    let file = w.file_page(ana, &signed).await;
    assert!(file.contains(&release_of), "{file}");
    let a = w.call("GET", &release_of, &signed, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    for said in ["id=\"release-form\"", "value=\"escape\"", "Regla 71(1)"] {
        assert!(page(&a).contains(said), "{said}: {}", page(&a));
    }
    // Custody staff, and another facility's, neither get the page nor write with it.
    for name in ["cus.cecot", "cus.izalco"] {
        let (other, other_csrf) = w.session(name).await;
        let a = w
            .call("GET", &release_of, &[("cookie", other.as_str())], None)
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{name}: {}", page(&a));
        let size = w.main.size().unwrap();
        let a = w
            .form(
                "/ui/release",
                &[("cookie", other.as_str())],
                &format!(
                    "csrf={other_csrf}&booking={ana}&what=release&reason=bail&authority=Juzgado&reference=L-1"
                ),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{name}: {}", page(&a));
        assert_eq!(w.main.size().unwrap(), size, "nothing written");
    }
    let form = |reason: &str, authority: &str, at: &str| {
        format!("csrf={csrf}&booking={ana}&what=release&reason={reason}&authority={authority}&reference=PARTE-77-2025&at={at}")
    };
    w.form_refused(
        "/ui/release",
        &signed,
        &form("escape", "+", "2025-11-23T04:40"),
        (
            "release-refused",
            "Autoridad que la ordenó o la certifica: es obligatorio",
        ),
    )
    .await;
    w.form_refused(
        "/ui/release",
        &signed,
        &form("fled", "Direcci%C3%B3n+del+CECOT", "2025-11-23T04:40"),
        ("release-refused", "Causa legal: "),
    )
    .await;
    let size = w.main.size().unwrap();
    let a = w
        .form(
            "/ui/release",
            &signed,
            &form("escape", "Direcci%C3%B3n+del+CECOT", "2025-04-01T04:40"),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page(&a));
    // The writer's refusal in the reader's language, its times at the facility's clock.
    assert!(
        page(&a).contains(&format!(
            "Cuándo: 01/04/2025 04:40 UTC es anterior al comienzo del expediente {ana}, el 01/05/2025 10:00 UTC"
        )),
        "{}",
        page(&a)
    );
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    // Escaped early on the 23rd, by the facility's clock.
    let a = w
        .form(
            "/ui/release",
            &signed,
            &form("escape", "Direcci%C3%B3n+del+CECOT", "2025-11-23T04:40"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    let case = size;
    for said in [
        "id=\"release-done\"",
        "id=\"release-ended\"",
        "Salió de la custodia ilegalmente",
        "id=\"release-case\"",
    ] {
        assert!(page(&a).contains(said), "{said}: {}", page(&a));
    }
    assert!(!page(&a).contains("id=\"release-form\""), "{}", page(&a));
    let entry: Value = serde_json::from_slice(&w.main.entry(case).unwrap().unwrap()).unwrap();
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["facility"].as_str(),
            entry["payload"]["booking"].as_u64(),
            entry["payload"]["reason"].as_str(),
            entry["payload"]["authority"].as_str(),
            entry["payload"]["at"].as_str()
        ),
        (
            Some("custody.released"),
            Some("CECOT"),
            Some(ana),
            Some("escape"),
            Some("Dirección del CECOT"),
            Some("2025-11-23T04:40:00.000Z")
        ),
        "{entry}"
    );
    // Once ended, the form takes nothing more.
    w.form_refused(
        "/ui/release",
        &signed,
        &form("bail", "Juzgado", "2025-11-23T05:00"),
        ("release-refused", "Esta custodia ha terminado (asiento"),
    )
    .await;
    let page_of = format!("/ui/harm?booking={ana}");
    let file = w.file_page(ana, &signed).await;
    for said in [
        page_of.as_str(),
        "La evasión y su comunicación a una autoridad independiente",
        "Salió de la custodia ilegalmente",
        "<dd>evasión</dd>",
    ] {
        assert!(file.contains(said), "{said}: {file}");
    }
    assert!(!file.contains(&release_of), "{file}");
    let a = w.call("GET", &page_of, &signed, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    for said in [
        format!("id=\"harm-step-form-{case}\""),
        "<h1>Lesión grave, enfermedad grave, traslado a un centro de salud o evasión".to_owned(),
        "Caso de evasión".to_owned(),
        "Certificada por Dirección del CECOT (PARTE-77-2025)".to_owned(),
        "Pendiente: comunicar la evasión a una autoridad independiente".to_owned(),
        "vencido".to_owned(),
    ] {
        assert!(page(&a).contains(&said), "{said}: {}", page(&a));
    }
    for absent in [
        "id=\"harm-open\"",
        "value=\"notice_declined\"",
        "name=\"witnessed_by\"",
        "Pendiente: informar a la persona designada",
    ] {
        assert!(!page(&a).contains(absent), "{absent}: {}", page(&a));
    }
    // Another facility's staff do not get the page; an inspector reads it, with no form, and
    // writes nothing with it.
    let (izalco, _) = w.session("cus.izalco").await;
    let a = w
        .call("GET", &page_of, &[("cookie", izalco.as_str())], None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    let (inspector, inspector_csrf) = w.session("ins").await;
    let a = w
        .call("GET", &page_of, &[("cookie", inspector.as_str())], None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(
        page(&a).contains("Caso de evasión")
            && !page(&a).contains("<form method=\"post\" action=\"/ui/harm\""),
        "{}",
        page(&a)
    );
    let size = w.main.size().unwrap();
    let a = w
        .form(
            "/ui/harm",
            &[("cookie", inspector.as_str())],
            &format!("csrf={inspector_csrf}&booking={ana}&what=step&case={case}&step=independent_authority_informed&detail=x"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    // The dashboard lists the case with what it still owes, linked to its page.
    let a = w
        .call("GET", "/ui/compliance?facility=CECOT", &signed, None)
        .await;
    assert!(
        page(&a).contains(&format!("<a href=\"{page_of}\">{ana}</a>"))
            && page(&a).contains("comunicada a una autoridad independiente"),
        "{}",
        page(&a)
    );
    // Reported to the public prosecutor: nothing is due.
    let a = w
        .form(
            "/ui/harm",
            &signed,
            &format!("csrf={csrf}&booking={ana}&what=step&case={case}&step=independent_authority_informed&at=2025-11-23T05:10&detail=Fiscal%C3%ADa%2C+oficio+13-2025"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    assert!(
        page(&a).contains("Nada pendiente") && !page(&a).contains("Pendiente: comunicar"),
        "{}",
        page(&a)
    );
    let entry: Value = serde_json::from_slice(&w.main.entry(case + 1).unwrap().unwrap()).unwrap();
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["payload"]["case"].as_u64(),
            entry["payload"]["step"].as_str()
        ),
        (
            Some("harm.step"),
            Some(case),
            Some("independent_authority_informed")
        ),
        "{entry}"
    );
    // A court's question, from the page: escaped, not released.
    let (court, court_csrf) = w.session("cou").await;
    let a = w
        .form(
            "/ui/whereabouts",
            &[("cookie", court.as_str())],
            &format!("csrf={court_csrf}&by=name&name=Ana+L%C3%B3pez&birth_date=1990-01-01&purpose=habeas+corpus&case_reference=HC-41-2025"),
        )
        .await;
    assert!(
        page(&a).contains("evadida (salió de la custodia ilegalmente"),
        "{}",
        page(&a)
    );
}

/// A death in custody from the file: recorded by custody or health staff or the direction of
/// the facility holding the person (a form without its place is refused by its label, nothing
/// written); it ends the custody and the page becomes its case, every step due by the policy's
/// day and overdue marked; its steps recorded by health staff or the direction (not by custody
/// staff, not twice); another facility's staff get nothing.
#[tokio::test]
async fn a_death_in_custody_is_recorded_and_its_case_followed_from_the_file() {
    let w = world();
    let (ana, _) = w.people[0];
    let (custody, custody_csrf) = w.session("cus.cecot").await;
    let custody_h = [("cookie", custody.as_str())];
    let death_of = format!("/ui/death?booking={ana}");
    let file = w.file_page(ana, &custody_h).await;
    assert!(file.contains(&death_of), "{file}");
    let a = w.call("GET", &death_of, &custody_h, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(page(&a).contains("id=\"death-form\""), "{}", page(&a));
    for name in ["reg.cecot", "cus.izalco"] {
        let (other, _) = w.session(name).await;
        let a = w
            .call("GET", &death_of, &[("cookie", other.as_str())], None)
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{name}: {}", page(&a));
    }
    let death = |place: &str| {
        format!("csrf={custody_csrf}&booking={ana}&what=death&at=2025-11-20T03:00&place={place}&circumstances=Hallado+sin+vida+en+la+celda&violent=on")
    };
    w.form_refused(
        "/ui/death",
        &custody_h,
        &death("+"),
        ("death-refused", "Dónde: "),
    )
    .await;
    let case = w.main.size().unwrap();
    let a = w
        .form("/ui/death", &custody_h, &death("celda+M1-C01"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    for said in [
        "id=\"death-done\"".to_owned(),
        format!("id=\"death-case-{case}\""),
        "Hallado sin vida en la celda".to_owned(),
        "Pendiente: familia informada, 1 día después de la muerte".to_owned(),
        "Pendiente: restos entregados a la familia, 14 días después".to_owned(),
        "vencido".to_owned(),
    ] {
        assert!(page(&a).contains(&said), "{said}: {}", page(&a));
    }
    // Custody staff record no step: no form, and a step sent anyway is refused (logged).
    assert!(!page(&a).contains("id=\"death-step-form\""), "{}", page(&a));
    let step = |csrf: &str, step: &str| {
        format!("csrf={csrf}&booking={ana}&what=step&step={step}&at=2025-11-20T09:00&detail=Llamada+a+su+hermana")
    };
    let size = w.main.size().unwrap();
    let a = w
        .form(
            "/ui/death",
            &custody_h,
            &step(&custody_csrf, "family_informed"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", page(&a));
    assert_eq!(w.main.size().unwrap(), size, "nothing written");
    // Health staff: the family told six hours after.
    let (health, health_csrf) = w.session("hea.cecot").await;
    let health_h = [("cookie", health.as_str())];
    let a = w
        .form(
            "/ui/death",
            &health_h,
            &step(&health_csrf, "family_informed"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    assert!(
        page(&a).contains("id=\"death-done\"")
            && !page(&a).contains("Pendiente: familia informada")
            && page(&a).contains("Llamada a su hermana")
            && page(&a).contains("id=\"death-step-form\""),
        "{}",
        page(&a)
    );
    let entry: Value = serde_json::from_slice(&w.main.entry(size).unwrap().unwrap()).unwrap();
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["facility"].as_str(),
            entry["payload"]["case"].as_u64(),
            entry["payload"]["step"].as_str(),
            entry["payload"]["at"].as_str()
        ),
        (
            Some("death_case.step"),
            Some("CECOT"),
            Some(case),
            Some("family_informed"),
            Some("2025-11-20T09:00:00.000Z")
        ),
        "{entry}"
    );
    // An inspector reads the case, with no form.
    let (inspector, _) = w.session("ins").await;
    let a = w
        .call("GET", &death_of, &[("cookie", inspector.as_str())], None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(
        page(&a).contains("Llamada a su hermana")
            && !page(&a).contains("<form method=\"post\" action=\"/ui/death\""),
        "{}",
        page(&a)
    );
    // Not twice: refused by the records.
    let a = w
        .form(
            "/ui/death",
            &health_h,
            &step(&health_csrf, "family_informed"),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page(&a));
    assert_eq!(w.main.size().unwrap(), size + 1, "nothing written");
    // The file links to the case, and the death's custody has ended.
    let file = w.file_page(ana, &health_h).await;
    assert!(
        file.contains(&death_of) && file.contains("La muerte bajo custodia y su caso"),
        "{file}"
    );
    assert_eq!(
        w.main.person_file(ana).unwrap().unwrap().custodies[0].ended_by,
        Some(case)
    );
}

/// A transfer from the file: to another facility of the register (not this one, and one must
/// be named), by the registry, the direction or the national administration (which releases
/// nobody: no release form for it); the custody here ends and the receiving facility holds the
/// person in a new custody.
#[tokio::test]
async fn a_transfer_from_the_file_ends_the_custody_here_and_begins_one_there() {
    let w = world();
    let (ana, _) = w.people[0];
    let release_of = format!("/ui/release?booking={ana}");
    let (national, _) = w.session("nat").await;
    let a = w
        .call("GET", &release_of, &[("cookie", national.as_str())], None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", page(&a));
    assert!(
        page(&a).contains("id=\"transfer-form\"")
            && page(&a).contains("<option value=\"IZALCO\"")
            && !page(&a).contains("<option value=\"CECOT\"")
            && !page(&a).contains("id=\"release-form\""),
        "{}",
        page(&a)
    );
    let (cookie, csrf) = w.session("reg.cecot").await;
    let signed = [("cookie", cookie.as_str())];
    let transfer = |to: &str| {
        format!("csrf={csrf}&booking={ana}&what=transfer&to={to}&authority=Direcci%C3%B3n+General+de+Centros+Penales&reference=DGCP-9-2025&at=2025-11-24T06:00")
    };
    for (to, label) in [("", "Al centro: "), ("CECOT", "Al centro: ")] {
        w.form_refused(
            "/ui/release",
            &signed,
            &transfer(to),
            ("release-refused", label),
        )
        .await;
    }
    let entry = w.main.size().unwrap();
    let a = w.form("/ui/release", &signed, &transfer("IZALCO")).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", page(&a));
    assert!(
        page(&a).contains("Traslado registrado")
            && page(&a).contains("id=\"release-ended\"")
            && page(&a).contains("Trasladada a IZALCO"),
        "{}",
        page(&a)
    );
    let file = w.main.person_file(ana).unwrap().unwrap();
    assert_eq!(
        file.custodies
            .iter()
            .map(|c| (c.facility.as_str(), c.ended_by))
            .collect::<Vec<_>>(),
        [("CECOT", Some(entry)), ("IZALCO", None)]
    );
}
