//! The web UI in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver), against the real `habeas demo` serving a generated `cecot` scenario. Signs in
//! with a code, opens the facility board and a cell, switches to English and back. Screenshots
//! of each page go to `<target>/screenshots/` for a reviewer.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`); `.ci/run` installs them and `scripts/test` says so when they are missing.

use crate::support::bin;
use serde_json::{json, Value};
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PNG image of one pixel, uploaded as a photograph.
const PHOTO_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x64, 0x60, 0xF8, 0x5F,
    0x0F, 0x00, 0x02, 0x87, 0x01, 0x80, 0xEB, 0x47, 0xBA, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// A WebDriver session with chromedriver.
struct Browser {
    agent: ureq::Agent,
    base: String,
    shots: PathBuf,
    _driver: Killed,
}

impl Browser {
    fn start() -> Browser {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: install Debian's chromium and chromium-driver (.ci/run does)"
            );
        }
        let port = free_port();
        let driver = Killed(
            Command::new("/usr/bin/chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let root = format!("http://127.0.0.1:{port}");
        // Wait for the driver to answer.
        let mut ready = false;
        for _ in 0..100 {
            if agent.get(format!("{root}/status")).call().is_ok() {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(ready, "chromedriver did not start");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "prefs": {"intl.accept_languages": "es-SV,es"},
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--lang=es"]
            }
        }}});
        let v: Value = agent
            .post(format!("{root}/session"))
            .send_json(&caps)
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_owned();
        // `<target>/screenshots/`.
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            agent,
            base: format!("{root}/session/{id}"),
            shots,
            _driver: driver,
        }
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut res = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, b) => self.agent.post(&url).send_json(b.unwrap_or(json!({}))),
        }
        .unwrap();
        let v: Value = res.body_mut().read_json().unwrap();
        assert!(
            v["value"].get("error").is_none(),
            "{method} {path}: {}",
            v["value"]
        );
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.send("POST", "/url", Some(json!({"url": url})));
    }

    fn url(&self) -> String {
        self.send("GET", "/url", None).as_str().unwrap().to_owned()
    }

    /// Whether `check` holds within 10 s (a click's navigation may still be under way).
    fn eventually(&self, check: impl Fn() -> bool) -> bool {
        (0..100).any(|_| {
            let ok = check();
            if !ok {
                std::thread::sleep(Duration::from_millis(100));
            }
            ok
        })
    }

    /// Whether the page's address comes to end with `suffix`.
    fn at(&self, suffix: &str) -> bool {
        self.eventually(|| self.url().ends_with(suffix))
    }

    /// Whether the page's address comes to end otherwise than with `suffix` (the page left it:
    /// right after a click the address is still the old one).
    fn left(&self, suffix: &str) -> bool {
        self.eventually(|| !self.url().ends_with(suffix))
    }

    /// Whether the page comes to show `needle`.
    fn shows(&self, needle: &str) -> bool {
        self.eventually(|| self.source().contains(needle))
    }

    fn source(&self) -> String {
        self.send("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The element `css` selects, waiting up to 10 s for it (a page a click led to may still
    /// be loading).
    fn find(&self, css: &str) -> String {
        let url = format!("{}/element", self.base);
        for _ in 0..100 {
            let v: Value = self
                .agent
                .post(&url)
                .send_json(json!({"using": "css selector", "value": css}))
                .unwrap()
                .body_mut()
                .read_json()
                .unwrap();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_owned();
            }
            assert_eq!(v["value"]["error"], "no such element", "{css}: {v}");
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no element {css} in {}", self.source());
    }

    fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.send(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.send("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.send("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Sets a field's value directly (date and time inputs take typed keys by locale).
    fn set(&self, id: &str, value: &str) {
        self.send(
            "POST",
            "/execute/sync",
            Some(json!({"script": "document.getElementById(arguments[0]).value = arguments[1];", "args": [id, value]})),
        );
    }

    /// Runs a script in the page and returns what it returns.
    fn script(&self, script: &str) -> Value {
        self.send(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let png = self.send("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.base).call();
    }
}

/// The second factor's code of `secret` now: for the real time the server's clock checks it
/// against.
fn code_now(secret: &str) -> String {
    #[expect(
        clippy::disallowed_methods,
        reason = "the code is for the real time the server's clock checks it against"
    )]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    habeas_web::auth::totp_code(secret, now).unwrap()
}

#[test]
fn in_chromium_sign_in_board_cell_file_admit_allocate_count_dashboard_language() {
    let dir = tempfile::tempdir().unwrap();
    // The demo generates its scenario, makes an account for each role and serves the UI.
    let mut demo = Command::new(bin().get_program());
    demo.current_dir(dir.path())
        .env("HABEAS_LOG", "warn")
        .args([
            "--db",
            "demo.db",
            "demo",
            "--scenario",
            "cecot",
            "--population",
            "400",
            "--days",
            "3",
            "--seed",
            "7",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = Killed(demo.spawn().unwrap());
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut password = None;
    // The second factors the demo prints under each account: (account, its secret).
    let mut secrets: Vec<(String, String)> = Vec::new();
    let mut account: Option<String> = None;
    // The register's and the witness's verifier keys, as the demo prints them.
    let (mut register_key, mut witness_key): (Option<String>, Option<String>) = (None, None);
    let addr = loop {
        let line = lines
            .next()
            .expect("the demo stopped before serving")
            .unwrap();
        if let Some(rest) = line.split("password is ").nth(1) {
            password = Some(rest.trim().to_owned());
        }
        match line.split("secret=").nth(1) {
            Some(rest) => {
                if let (Some(a), Some(secret)) = (account.take(), rest.split('&').next()) {
                    secrets.push((a, secret.to_owned()));
                }
            }
            None if line.starts_with("  ") && !line.trim_start().starts_with('(') => {
                account = line.split_whitespace().next().map(str::to_owned);
            }
            None => {}
        }
        if line.contains("tlog_client.py check") {
            let after = |flag: &str| {
                line.split(flag)
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .map(|k| k.trim_end_matches(')').to_owned())
            };
            register_key = after("--key ");
            witness_key = after("--witness ");
        }
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.to_owned();
        }
    };
    let password = password.expect("the demo printed its accounts' password");
    let secret_of = |name: &str| {
        secrets
            .iter()
            .find(|(a, _)| a == name)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("the second factor of {name} was printed"))
    };
    let secret = secret_of("director.cecot");
    let site = format!("http://{addr}");
    let b = Browser::start();

    // Signing in: the page asks in Spanish, and always shows the code's field; without the
    // code the director is sent back with the one message of every failed sign-in.
    b.go(&format!("{site}/ui/board"));
    assert!(b.at("/ui/sign-in"), "{}", b.url());
    assert!(b.shows("Iniciar sesión"), "{}", b.source());
    b.screenshot("01-sign-in");
    b.type_in("#username", "director.cecot");
    b.type_in("#password", &password);
    b.click("#sign-in");
    assert!(
        b.text("#sign-in-error").contains("incorrectos"),
        "{}",
        b.source()
    );
    b.screenshot("02-sign-in-refused");
    let code = code_now(&secret);
    b.type_in("#password", &password);
    b.type_in("#code", &code);
    b.click("#sign-in");
    assert!(b.at("/ui/board"), "{}", b.url());

    // The facility board: CECOT's cells, the people held, each cell a link.
    let held = b.text("#held");
    assert!(
        held.replace(['.', ','], "").parse::<u64>().unwrap() > 0,
        "{held}"
    );
    assert!(b.shows("Tablero de"), "{}", b.source());
    b.screenshot("03-board");
    b.click("a.cell:not(.empty)");
    assert!(b.shows("Personas en la celda"), "{}", b.url());
    assert!(b.shows("Personas en la celda"));
    b.screenshot("04-cell");

    // A person's file: first the reason (logged with the reading), then the file.
    b.click("table a[href^='/ui/persons/']");
    assert!(b.shows("Motivo de la consulta"), "{}", b.source());
    b.screenshot("05-file-purpose");
    b.click("#reason option[value=hearing]");
    b.type_in("#detail", "audiencia de revisión");
    b.click("#open-file");
    assert!(
        b.shows("Base legal") && b.shows("Historia"),
        "{}",
        b.source()
    );
    assert!(b.text("#person-name").len() > 3);
    b.screenshot("06-file");
    b.click("#show-findings");
    assert!(b.shows("Hallazgos actuales"), "{}", b.source());
    b.screenshot("06-file-findings");

    // The whole admission of a foreign national in four steps: identity with her passport;
    // the legal basis, which does not pass empty; the arrest and what was seen; belongings,
    // family, children and the consular assistance of Rule 62.
    b.go(&format!("{site}/ui/admissions"));
    b.type_in("#given_names", "Carla Beatriz");
    b.type_in("#surname1", "Ramos");
    b.set("birth_date", "1995-06-01");
    b.click("#sex option[value=female]");
    b.set("nationalities", "VE");
    b.type_in("#documents", "Pasaporte; 123456789; VE");
    b.type_in("#aliases", "la Flaca");
    b.screenshot("07-admission-identity");
    b.click("#admit-next");
    assert!(b.shows("Paso 2 de 4"), "{}", b.source());
    b.click("#order_kind option[value=none]");
    b.click("#admit-next");
    assert!(
        b.text("#order_kind-error").contains("Regla 7"),
        "{}",
        b.source()
    );
    b.screenshot("08-admission-refused");
    b.click("#order_kind option[value=pretrial_detention]");
    b.type_in("#order_authority", "Juzgado Especializado de Instrucción");
    b.type_in("#order_reference", "77-2025");
    b.set("order_issued", "2025-05-29");
    b.set("order_expires", "2025-11-29");
    b.click("#admit-next");
    b.find("#arrest_at");
    b.set("arrest_at", "2025-05-28T08:00");
    b.type_in("#arrest_place", "San Miguel");
    b.type_in("#arrest_authority", "PNC");
    b.set("admitted_at", "2025-05-30T10:00");
    b.type_in("#injuries", "hematoma en el brazo izquierdo");
    b.click("#admit-next");
    assert!(b.shows("Paso 4 de 4"), "{}", b.source());
    // A line with too few parts is named beside its field, with every other problem.
    b.type_in("#children", "cuatro");
    b.type_in("#emergency_name", "Rosa Ramos");
    b.click("#admit-submit");
    assert!(
        b.text("#children-error").contains("Línea 1"),
        "{}",
        b.source()
    );
    b.find("#emergency_phone-error");
    b.set("children", "4; Caracas; abuela");
    b.type_in("#property", "reloj; 1; Casio");
    b.type_in("#family", "Rosa Ramos; madre; +58 412 0000000");
    b.type_in("#emergency_relationship", "madre");
    b.type_in("#emergency_phone", "+58 412 0000000");
    b.set("consular_advised_at", "2025-05-30T10:30");
    b.click("#consular_requested");
    b.set("consular_notified_at", "2025-05-30T12:00");
    b.screenshot("08b-admission-belongings-consular");
    b.click("#admit-submit");
    assert!(
        b.text("#admit-done").contains("Ingreso registrado"),
        "{}",
        b.source()
    );
    b.screenshot("09-admission-done");
    b.click("#open-file");
    assert!(b.shows("Motivo de la consulta"), "{}", b.source());
    b.click("#open-file");
    assert!(
        b.shows("Carla Beatriz Ramos") && b.shows("77-2025"),
        "{}",
        b.source()
    );
    // Everything the form took is in her file: the passport, the belongings, the consulate.
    for recorded in ["Pasaporte", "Casio", "abuela", "asistencia consular"] {
        assert!(b.shows(recorded), "{recorded}: {}", b.source());
    }
    // Her photograph, taken at admission: recorded, then shown on the file.
    assert!(b.shows("id=\"no-photo\""), "{}", b.source());
    let photo = std::env::temp_dir().join(format!("habeas-photo-{}.png", std::process::id()));
    std::fs::write(&photo, PHOTO_PNG).unwrap();
    b.click("#photo-add summary");
    b.type_in("#photo-file", photo.to_str().unwrap());
    b.click("#photo-save");
    b.find("#person-photo");
    assert_eq!(
        b.script("const i = document.getElementById('person-photo'); return i.complete && i.naturalWidth > 0;"),
        Value::Bool(true),
        "the photograph did not load"
    );
    let _ = std::fs::remove_file(&photo);
    b.screenshot("09b-file-with-photo");

    // Placing her: a cell of men is refused with its rule; an empty cell takes her.
    b.click("a.allocate");
    // Her booking, for the pages of her custody below.
    let booking = b
        .url()
        .split("booking=")
        .nth(1)
        .and_then(|n| n.split('&').next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no booking in {}", b.url()));
    b.click("#cell option[value='M1-C01']");
    b.click("#allocate");
    assert!(
        b.text("#allocate-refused")
            .contains("Regla 11(a): hombres y mujeres"),
        "{}",
        b.source()
    );
    b.screenshot("10-allocation-refused");
    b.click("#cell option[value='M8-C32']");
    b.click("#allocate");
    assert!(
        b.text("#allocate-done").contains("M8-C32"),
        "{}",
        b.source()
    );
    b.screenshot("11-allocation-done");

    // Searching for her updates only the results (htmx): the page stays, its address says what
    // was searched.
    b.go(&format!("{site}/ui/persons"));
    b.find("#results");
    b.script("window.habeasStayed = true;");
    b.type_in("#q", "Carla Beatriz Ramos");
    b.click("#search");
    b.find("#results a[href^='/ui/persons/']");
    assert!(b.shows("Carla Beatriz Ramos"), "{}", b.source());
    assert_eq!(
        b.script("return window.habeasStayed === true;"),
        Value::Bool(true),
        "the search loaded a whole new page"
    );
    assert!(b.at("/ui/persons?q=Carla%20Beatriz%20Ramos"), "{}", b.url());
    b.screenshot("11b-person-search");

    // A roll count unit by unit (the form counts the cells of one unit; the picker chooses
    // the unit and the day), and the day's reconciliation with both.
    b.go(&format!("{site}/ui/counts"));
    b.type_in("#count-M1-C01", "79");
    b.click("#count-submit");
    assert!(b.shows("id=\"reconciliation\""), "{}", b.source());
    b.click("#count-unit option[value=\"M8\"]");
    b.click("#count-show");
    assert!(b.shows("<option value=\"M8\" selected"), "{}", b.source());
    b.type_in("#count-M8-C32", "1");
    b.click("#count-submit");
    assert!(b.shows("id=\"reconciliation\""), "{}", b.source());
    assert!(
        b.shows("<td>-1</td>") && b.shows("<td>M8-C32</td>"),
        "{}",
        b.source()
    );
    b.screenshot("12-roll-count");

    // The compliance dashboard, with its charts.
    b.go(&format!("{site}/ui/compliance?as_of=2025-05-31"));
    assert!(b.shows("Hallazgos por regla"), "{}", b.source());
    let findings = b.text("#findings-total").replace(['.', ','], "");
    assert!(findings.parse::<u64>().unwrap() > 0, "{findings}");
    b.find("#chart-rules svg");
    b.screenshot("13-compliance");

    // The registers on the scenario's last days: refused family visits are in the contacts.
    b.go(&format!("{site}/ui/contacts?from=2025-05-01&to=2025-05-31"));
    assert!(b.shows("id=\"list-summary\""), "{}", b.source());
    b.screenshot("14-contacts");
    b.go(&format!("{site}/ui/hearings?month=2025-05"));
    assert!(b.shows("id=\"list-summary\""), "{}", b.source());
    b.screenshot("15-hearings");
    b.go(&format!("{site}/ui/complaints?status=all"));
    assert!(b.shows("id=\"list-summary\""), "{}", b.source());
    b.screenshot("16-complaints");

    b.go(&format!("{site}/ui/board"));
    b.click("a.cell:not(.empty)");

    // English, remembered for the account; then Spanish again.
    b.click("#language option[value=en]");
    b.click("#language-change");
    assert!(b.shows("People in the cell"), "{}", b.source());
    b.go(&format!("{site}/ui/board"));
    assert!(b.shows(" board"), "{}", b.source());
    b.screenshot("17-board-en");
    // Every page of the director's, in English and then in Spanish, each a screenshot.
    let pages = [
        ("board", "/ui/board".to_owned()),
        ("persons", "/ui/persons?q=Carla".to_owned()),
        ("compliance", "/ui/compliance?as_of=2025-05-31".to_owned()),
        ("counts", "/ui/counts".to_owned()),
        ("hearings", "/ui/hearings?month=2025-05".to_owned()),
        (
            "contacts",
            "/ui/contacts?from=2025-05-01&to=2025-05-31".to_owned(),
        ),
        ("complaints", "/ui/complaints?status=all".to_owned()),
        ("admission", "/ui/admissions".to_owned()),
        (
            "whereabouts-requests",
            "/ui/whereabouts-requests".to_owned(),
        ),
        ("visits", "/ui/visits".to_owned()),
        ("agreements", "/ui/agreements".to_owned()),
        ("harm", format!("/ui/harm?booking={booking}")),
        ("release", format!("/ui/release?booking={booking}")),
        ("death", format!("/ui/death?booking={booking}")),
    ];
    let walk = |lang: &str| {
        for (name, path) in &pages {
            b.go(&format!("{site}{path}"));
            b.find("#main");
            assert!(
                b.shows(&format!("<html lang=\"{lang}\"")),
                "{path}: {}",
                b.source()
            );
            b.screenshot(&format!("page-{lang}-{name}"));
        }
    };
    walk("en");
    b.click("#language option[value=es]");
    b.click("#language-change");
    assert!(b.shows("lang=\"es\""));
    walk("es");
    b.go(&format!("{site}/ui/board"));
    assert!(b.shows("Tablero de"));

    // Signing out ends the session.
    b.click("#sign-out");
    assert!(b.at("/ui/sign-in"), "{}", b.url());
    b.go(&format!("{site}/ui/board"));
    assert!(b.at("/ui/sign-in"), "{}", b.url());

    // An administrator lands on the accounts, adds one, and sees its second factor once.
    let admin_secret = secret_of("admin");
    b.type_in("#username", "admin");
    b.type_in("#password", &password);
    b.type_in("#code", &code_now(&admin_secret));
    b.click("#sign-in");
    assert!(b.at("/ui/accounts"), "{}", b.url());
    assert!(b.shows("id=\"account-director.cecot\""), "{}", b.source());
    b.type_in("#new-username", "directora.nueva");
    b.click("#new-role option[value=director]");
    b.type_in("#new-facilities", "CECOT");
    b.type_in("#new-password", "velero-rojo-42");
    b.click("#add-submit");
    b.find("#totp-qr svg");
    assert!(b.shows("id=\"account-directora.nueva\""), "{}", b.source());
    b.screenshot("18-accounts");
    // The administrator's page in both languages.
    let switch = |lang: &str| {
        b.click(&format!("#language option[value={lang}]"));
        b.click("#language-change");
        assert!(b.shows(&format!("lang=\"{lang}\"")), "{}", b.source());
    };
    let shoot = |who: &str, pages: &[(&str, &str)], lang: &str| {
        for (name, path) in pages {
            b.go(&format!("{site}{path}"));
            b.find("#main");
            assert!(
                b.shows(&format!("<html lang=\"{lang}\"")),
                "{path}: {}",
                b.source()
            );
            b.screenshot(&format!("page-{lang}-{who}-{name}"));
        }
    };
    let accounts = [("accounts", "/ui/accounts")];
    switch("en");
    shoot("admin", &accounts, "en");
    switch("es");
    shoot("admin", &accounts, "es");
    b.click("#sign-out");
    assert!(b.at("/ui/sign-in"), "{}", b.url());

    // Every page of the inspector's, in both languages.
    b.type_in("#username", "inspector");
    b.type_in("#password", &password);
    b.type_in("#code", &code_now(&secret_of("inspector")));
    b.click("#sign-in");
    assert!(b.left("/ui/sign-in"), "{}", b.source());
    let inspector = [
        ("national", "/ui/national"),
        ("board", "/ui/board?facility=CECOT"),
        (
            "compliance",
            "/ui/compliance?facility=CECOT&as_of=2025-05-31",
        ),
        ("register", "/ui/register"),
        ("access-log", "/ui/access-log"),
        ("hearings", "/ui/hearings?facility=CECOT&month=2025-05"),
        ("complaints", "/ui/complaints?facility=CECOT&status=all"),
        ("visits", "/ui/visits?facility=CECOT"),
        ("agreements", "/ui/agreements"),
    ];
    switch("en");
    shoot("inspector", &inspector, "en");
    switch("es");
    shoot("inspector", &inspector, "es");
    b.click("#sign-out");

    // A court asks where Carla Beatriz Ramos (admitted above, passport 123456789 of VE) is held,
    // gets the signed answer, and checks it on /verify with the keys it trusts.
    b.type_in("#username", "juzgado");
    b.type_in("#password", &password);
    b.type_in("#code", &code_now(&secret_of("juzgado")));
    b.click("#sign-in");
    assert!(b.at("/ui/whereabouts"), "{}", b.url());
    b.screenshot("page-es-court-whereabouts");
    b.type_in("#doc_kind", "Pasaporte");
    b.type_in("#doc_number", "123456789");
    b.type_in("#doc_issuer", "VE");
    b.type_in("#purpose", "hábeas corpus");
    b.type_in("#case_reference", "HC-77-2025");
    b.click("#ask");
    b.find("#answer");
    assert!(b.shows("data-status=\"held\""), "{}", b.source());
    assert!(b.shows("Detenida en CECOT desde"), "{}", b.source());
    b.screenshot("page-es-court-answer");
    let file = b.script("return document.getElementById('answer-file').value;");
    let file = file.as_str().unwrap().to_owned();
    let answer: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(answer["answer"]["status"], "held");
    assert_eq!(answer["answer"]["legal_basis"]["reference"], "77-2025");
    let register_key = register_key.expect("the demo printed the register's key");
    let witness_key = witness_key.expect("the demo printed the witness's key");
    let check = |text: &str| {
        b.go(&format!("{site}/verify"));
        b.find("#check");
        b.set("answer-text", text);
        b.set("register-key", &register_key);
        b.set("witness-keys", &witness_key);
        b.click("#check");
        assert!(
            b.eventually(|| b
                .script("return document.getElementById('result').dataset.verified || '';")
                != json!("")),
            "{}",
            b.source()
        );
        b.script("return document.getElementById('result').dataset.verified;")
    };
    // The cosignature may still be on its way: the page checks what the file carries.
    let verdict = check(&file);
    assert_eq!(verdict, json!("true"), "{}", b.source());
    assert!(b.shows("data-status=\"held\""), "{}", b.source());
    b.screenshot("page-es-verify");
    // A file changed after it was signed does not verify.
    let forged = file.replacen("\"facility\": \"CECOT\"", "\"facility\": \"IZALCO\"", 1);
    assert_ne!(forged, file);
    assert_eq!(check(&forged), json!("false"), "{}", b.source());
    b.screenshot("page-es-verify-forged");
    b.go(&format!("{site}/verify?lang=en"));
    b.find("#check");
    b.screenshot("page-en-verify");
    // The same answer checks on the command line and in the independent checker; the forged
    // one fails both.
    let path = std::env::temp_dir().join(format!("habeas-answer-{}.json", std::process::id()));
    let checkers = |text: &str| {
        std::fs::write(&path, text).unwrap();
        let ours = bin()
            .args([
                "check-answer",
                path.to_str().unwrap(),
                "--verifier-key",
                &register_key,
            ])
            .output()
            .unwrap();
        let theirs = Command::new("python3")
            .args([
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/verify_answer.py"),
                path.to_str().unwrap(),
                "--key",
                &register_key,
            ])
            .output()
            .unwrap();
        [ours, theirs].map(|o| {
            (
                o.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
            )
        })
    };
    for (ok, said) in checkers(&file) {
        assert!(ok, "{said}");
    }
    for (ok, said) in checkers(&forged) {
        assert!(!ok && said.contains("FAILED"), "{said}");
    }

    // She escapes (recorded from the command line beside the server). Asked again, the answer
    // says "escaped", not "released", and it checks on the page and in both checkers.
    let out = bin()
        .current_dir(dir.path())
        .args([
            "--db",
            "demo.db",
            "release",
            "--facility",
            "CECOT",
            "--booking",
            &booking,
            "--reason",
            "escape",
            "--authority",
            "Dirección del CECOT",
            "--reference",
            "PARTE-1-2025",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    b.go(&format!("{site}/ui/whereabouts"));
    b.type_in("#doc_kind", "Pasaporte");
    b.type_in("#doc_number", "123456789");
    b.type_in("#doc_issuer", "VE");
    b.type_in("#purpose", "hábeas corpus");
    b.type_in("#case_reference", "HC-78-2025");
    b.click("#ask");
    b.find("#answer");
    assert!(b.shows("data-status=\"escaped\""), "{}", b.source());
    let file = b.script("return document.getElementById('answer-file').value;");
    let file = file.as_str().unwrap().to_owned();
    assert_eq!(check(&file), json!("true"), "{}", b.source());
    assert!(
        b.shows("data-status=\"escaped\"") && b.shows("evasión"),
        "{}",
        b.source()
    );
    b.screenshot("page-es-verify-escaped");
    for (ok, said) in checkers(&file) {
        assert!(ok, "{said}");
    }
    let _ = std::fs::remove_file(&path);
}
