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

    fn source(&self) -> String {
        self.send("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn find(&self, css: &str) -> String {
        let v = self.send(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap().to_owned()
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

#[test]
fn in_chromium_sign_in_with_a_code_open_the_board_and_a_cell_and_switch_language() {
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
    let mut director_secret = None;
    let mut in_director = false;
    let addr = loop {
        let line = lines
            .next()
            .expect("the demo stopped before serving")
            .unwrap();
        if let Some(rest) = line.split("password is ").nth(1) {
            password = Some(rest.trim().to_owned());
        }
        if line.trim_start().starts_with("director.cecot") {
            in_director = true;
        } else if in_director && line.contains("secret=") {
            director_secret = line
                .split("secret=")
                .nth(1)
                .and_then(|s| s.split('&').next())
                .map(str::to_owned);
            in_director = false;
        }
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.to_owned();
        }
    };
    let password = password.expect("the demo printed its accounts' password");
    let secret = director_secret.expect("the director's second factor was printed");
    let site = format!("http://{addr}");
    let b = Browser::start();

    // Signing in: the page asks in Spanish; without the code the director is sent back with
    // the message beside the field.
    b.go(&format!("{site}/ui/board"));
    assert!(b.url().ends_with("/ui/sign-in"), "{}", b.url());
    assert!(b.source().contains("Iniciar sesión"), "{}", b.source());
    b.screenshot("01-sign-in");
    b.type_in("#username", "director.cecot");
    b.type_in("#password", &password);
    b.click("#sign-in");
    assert!(b.text("#code-error").contains("código"), "{}", b.source());
    b.screenshot("02-sign-in-code-required");
    #[expect(
        clippy::disallowed_methods,
        reason = "the code is for the real time the server's clock checks it against"
    )]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = habeas_web::auth::totp_code(&secret, now).unwrap();
    b.type_in("#password", &password);
    b.type_in("#code", &code);
    b.click("#sign-in");
    assert!(b.url().ends_with("/ui/board"), "{}", b.url());

    // The facility board: CECOT's cells, the people held, each cell a link.
    let held = b.text("#held");
    assert!(held.replace(',', "").parse::<u64>().unwrap() > 0, "{held}");
    assert!(b.source().contains("Tablero de"), "{}", b.source());
    b.screenshot("03-board");
    b.click("a.cell:not(.empty)");
    assert!(b.url().contains("/ui/cells/CECOT/"), "{}", b.url());
    assert!(b.source().contains("Personas en la celda"));
    b.screenshot("04-cell");

    // A person's file: first the reason (logged with the reading), then the file.
    b.click("table a[href^='/ui/persons/']");
    assert!(
        b.source().contains("Motivo de la consulta"),
        "{}",
        b.source()
    );
    b.screenshot("05-file-purpose");
    b.click("#reason option[value=hearing]");
    b.type_in("#detail", "audiencia de revisión");
    b.click("#open-file");
    assert!(
        b.source().contains("Base legal") && b.source().contains("Historia"),
        "{}",
        b.source()
    );
    assert!(b.text("#person-name").len() > 3);
    b.screenshot("06-file");
    let cell_url = format!("{site}/ui/board");
    b.go(&cell_url);
    b.click("a.cell:not(.empty)");

    // English, remembered for the account; then Spanish again.
    b.click("#language option[value=en]");
    b.click("#language-change");
    assert!(b.source().contains("People in the cell"), "{}", b.source());
    b.go(&format!("{site}/ui/board"));
    assert!(b.source().contains(" board"), "{}", b.source());
    b.screenshot("07-board-en");
    b.click("#language option[value=es]");
    b.click("#language-change");
    assert!(b.source().contains("Tablero de"));

    // Signing out ends the session.
    b.click("#sign-out");
    assert!(b.url().ends_with("/ui/sign-in"), "{}", b.url());
    b.go(&format!("{site}/ui/board"));
    assert!(b.url().ends_with("/ui/sign-in"), "{}", b.url());
}
