//! The web interface: server-rendered pages (askama) in Spanish and English (Fluent), working
//! without JavaScript. Sign-in with a second factor, the facility board, the cell page and the
//! language switch. The same sessions, roles, facility scope and access log as the API; forms
//! carry the session's CSRF token.

pub mod charts;
pub mod i18n;

use crate::access::EVERY_FACILITY;
use crate::auth::Role;
use crate::server::{
    blocking, end_session, start_session, ApiError, ApiResult, AppState, Caller, CLEAR_COOKIE,
};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use i18n::{I18n, Lang};
use serde::Deserialize;
use std::sync::{Arc, OnceLock};

static I18N: OnceLock<Result<I18n, String>> = OnceLock::new();

fn i18n() -> Result<&'static I18n, ApiError> {
    I18N.get_or_init(I18n::load)
        .as_ref()
        .map_err(|e| ApiError::internal(format!("the interface's messages: {e}")))
}

/// The routes of the pages.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/board") }))
        .route("/ui/style.css", get(style))
        .route("/ui/sign-in", get(sign_in_page).post(sign_in_form))
        .route("/ui/sign-out", post(sign_out_form))
        .route("/ui/language", post(language_form))
        .route("/ui/board", get(board))
        .route("/ui/cells/{facility}/{cell}", get(cell_page))
        .route("/ui/persons", get(persons_page))
        .route("/ui/admissions", get(admit_page).post(admit_form))
        .route("/ui/allocations", get(allocate_page).post(allocate_form))
        .route("/ui/counts", get(counts_page).post(counts_form))
        .route("/ui/compliance", get(compliance_page))
        .route("/ui/register", get(register_page))
        .route("/ui/register/verify", post(verify_form))
        .route("/ui/access-log", get(access_log_page))
        .route("/ui/national", get(national_page))
        .route("/ui/persons/{person}", get(person_page))
}

/// The messages of one language, for a template.
pub struct Tr {
    i18n: &'static I18n,
    lang: Lang,
}

impl Tr {
    fn new(lang: Lang) -> Result<Self, ApiError> {
        Ok(Self {
            i18n: i18n()?,
            lang,
        })
    }
    pub fn lang(&self) -> &'static str {
        self.lang.code()
    }
    pub fn t(&self, id: &str) -> String {
        self.i18n.message(self.lang, id, &[])
    }
    pub fn t1(&self, id: &str, k: &str, v: &str) -> String {
        self.i18n.message(self.lang, id, &[(k, v.to_owned())])
    }
    pub fn t2(&self, id: &str, k1: &str, v1: &str, k2: &str, v2: &str) -> String {
        self.i18n
            .message(self.lang, id, &[(k1, v1.to_owned()), (k2, v2.to_owned())])
    }
}

/// The signed-in user, for the page's header.
pub struct Who {
    pub username: String,
    pub role: String,
    pub csrf: String,
    /// Where the language switch comes back to.
    pub back: String,
}

fn who(caller: &Caller, back: &str) -> Option<Who> {
    Some(Who {
        username: caller.user.username.clone(),
        role: caller.role.as_str().to_owned(),
        csrf: caller.csrf.clone().unwrap_or_default(),
        back: back.to_owned(),
    })
}

fn lang_of(caller: &Caller) -> Lang {
    Lang::parse(&caller.user.language).unwrap_or(Lang::Es)
}

fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => ApiError::internal(format!("page: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "ui/error.html")]
struct ErrorPage {
    tr: Tr,
    who: Option<Who>,
    message: String,
}

/// A page that says why it cannot show what was asked.
fn error_page(status: StatusCode, caller: &Caller, message_id: &str) -> Response {
    match Tr::new(lang_of(caller)) {
        Ok(tr) => {
            let message = tr.t(message_id);
            html(
                status,
                &ErrorPage {
                    tr,
                    who: who(caller, "/ui/board"),
                    message,
                },
            )
        }
        Err(e) => e.into_response(),
    }
}

/// The caller of a page; `None` leads to the sign-in page.
fn page_caller(state: &AppState, headers: &HeaderMap) -> Option<Caller> {
    state.caller(&Method::GET, headers).ok()
}

fn to_sign_in() -> ApiResult<Response> {
    Ok(Redirect::to("/ui/sign-in").into_response())
}

/// A form's CSRF token must be the session's: `Some` refusal (logged) when it is not.
fn check_form(state: &AppState, caller: &Caller, csrf: &str, action: &str) -> Option<Response> {
    if caller.csrf.as_deref() == Some(csrf) {
        return None;
    }
    if let Err(e) = state.refuse(
        caller,
        EVERY_FACILITY,
        action,
        "missing or wrong CSRF token",
    ) {
        return Some(e.into_response());
    }
    Some(error_page(StatusCode::FORBIDDEN, caller, "error-csrf"))
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../templates/ui/style.css"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "ui/sign_in.html")]
struct SignInPage {
    tr: Tr,
    who: Option<Who>,
    error: Option<String>,
    code_error: bool,
    username: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

fn page_lang(q: &LangQuery, headers: &HeaderMap) -> Lang {
    q.lang.as_deref().and_then(Lang::parse).unwrap_or_else(|| {
        Lang::from_accept(
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    })
}

async fn sign_in_page(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    match Tr::new(page_lang(&q, &headers)) {
        Ok(tr) => html(
            StatusCode::OK,
            &SignInPage {
                tr,
                who: None,
                error: None,
                code_error: false,
                username: String::new(),
            },
        ),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

async fn sign_in_form(
    State(state): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let lang = page_lang(&q, &headers);
    let tr = match Tr::new(lang) {
        Ok(tr) => tr,
        Err(e) => return e.into_response(),
    };
    let again = |tr: Tr, message_id: &str, code_error: bool, username: String| {
        let error = Some(tr.t(message_id));
        html(
            StatusCode::UNAUTHORIZED,
            &SignInPage {
                tr,
                who: None,
                error,
                code_error,
                username,
            },
        )
    };
    if form.username.trim().is_empty() || form.password.is_empty() {
        return again(tr, "sign-in-fields", false, form.username);
    }
    let username = form.username.clone();
    let outcome = blocking(move || {
        let code = Some(form.code.trim()).filter(|c| !c.is_empty());
        start_session(&state, form.username.trim(), &form.password, code, "web")
    })
    .await;
    match outcome {
        Ok((_, cookie, _)) => {
            let mut res = Redirect::to("/ui/board").into_response();
            match HeaderValue::from_str(&cookie) {
                Ok(v) => {
                    res.headers_mut().insert(header::SET_COOKIE, v);
                    res
                }
                Err(e) => ApiError::internal(e).into_response(),
            }
        }
        Err(e) if e.code() == "code_required" => again(tr, "sign-in-code-required", true, username),
        Err(e) if e.code() == "locked" => again(tr, "sign-in-locked", false, username),
        Err(e) if e.code() == "bad_credentials" => again(tr, "sign-in-bad", false, username),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = check_form(&state, &caller, &form.csrf, "sign out") {
            return Ok(r);
        }
        end_session(&state, &headers)?;
        let mut res = Redirect::to("/ui/sign-in").into_response();
        res.headers_mut()
            .insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
        Ok(res)
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LanguageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    back: String,
}

async fn language_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<LanguageForm>,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = check_form(&state, &caller, &form.csrf, "change language") {
            return Ok(r);
        }
        let Some(lang) = Lang::parse(&form.language) else {
            return Err(
                ApiError::bad_request("invalid_field", "language: es or en").field("language")
            );
        };
        state
            .accounts
            .set_language(&caller.user.username, lang.code())?;
        // Back to the page the switch was on: a path of these pages only.
        let back = if form.back.starts_with("/ui/") && !form.back.contains("//") {
            form.back.as_str()
        } else {
            "/ui/board"
        };
        Ok(Redirect::to(back).into_response())
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

/// One cell on the board.
pub struct BoardCell {
    pub code: String,
    /// Square metres per person ("" for an empty cell).
    pub space: String,
    pub population: String,
    pub cna: String,
    pub class: &'static str,
    pub href: String,
    pub title: String,
}

/// One unit on the board: its cells in order.
pub struct BoardUnit {
    pub title: String,
    pub summary: String,
    pub cells: Vec<BoardCell>,
}

#[derive(Template)]
#[template(path = "ui/board.html")]
struct BoardPage {
    tr: Tr,
    who: Option<Who>,
    title: String,
    facility: String,
    facilities: Vec<String>,
    held: String,
    cna: String,
    occupancy: String,
    space: String,
    cell_count: String,
    units: Vec<BoardUnit>,
}

/// The colour class of a cell's occupancy against its CNA.
fn occupancy_class(population: u64, cna: u64) -> &'static str {
    if population == 0 {
        "empty"
    } else if population * 2 > cna * 3 {
        "severe"
    } else if population > cna {
        "over"
    } else {
        "ok"
    }
}

/// Square metres per person, as the page writes it.
fn space(area_cm2: u64, people: u64) -> String {
    if people == 0 {
        "—".to_owned()
    } else {
        format!(
            "{} m²",
            i18n::decimal(area_cm2 as f64 / 10_000.0 / people as f64, 2)
        )
    }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!("{} %", i18n::decimal(part as f64 * 100.0 / whole as f64, 0))
    }
}

/// Who may see the board and the cells: everyone who works with records (not administrators,
/// who manage accounts).
fn records_reader(state: &AppState, caller: &Caller, action: &str) -> Option<Response> {
    if caller.role != Role::Administrator {
        return None;
    }
    if let Err(e) = state.refuse(
        caller,
        EVERY_FACILITY,
        action,
        "administrators manage accounts, not records",
    ) {
        return Some(e.into_response());
    }
    Some(error_page(StatusCode::FORBIDDEN, caller, "error-forbidden"))
}

/// `None` for a facility the caller works in, else the refusal (logged).
fn scoped(state: &AppState, caller: &Caller, facility: &str, action: &str) -> Option<Response> {
    if caller.covers(facility) {
        return None;
    }
    if let Err(e) = state.refuse(caller, facility, action, "outside the caller's facilities") {
        return Some(e.into_response());
    }
    Some(error_page(StatusCode::FORBIDDEN, caller, "error-forbidden"))
}

#[derive(Debug, Deserialize)]
pub(crate) struct BoardQuery {
    facility: Option<String>,
}

async fn board(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BoardQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = records_reader(&state, &caller, "read the facility board") {
            return Ok(r);
        }
        let facilities: Vec<String> = if caller.role.scoped() {
            caller.user.facilities.clone()
        } else {
            state.store.facility_codes()?
        };
        let Some(facility) = q.facility.or_else(|| facilities.first().cloned()) else {
            return Ok(error_page(
                StatusCode::NOT_FOUND,
                &caller,
                "error-not-found",
            ));
        };
        if let Some(r) = scoped(&state, &caller, &facility, "read the facility board") {
            return Ok(r);
        }
        let Some(row) = state.store.facility(&facility)? else {
            return Ok(error_page(
                StatusCode::NOT_FOUND,
                &caller,
                "error-not-found",
            ));
        };
        let tr = Tr::new(lang_of(&caller))?;
        let cells = state.store.cells(Some(&facility))?;
        let (mut held, mut cna, mut area) = (0u64, 0u64, 0u64);
        let mut units: Vec<BoardUnit> = Vec::new();
        let mut unit_totals: Vec<(u64, u64)> = Vec::new();
        for c in &cells {
            held += c.population;
            cna += c.cna;
            area += c.area_cm2;
            if units.last().map(|u| u.title.as_str()) != Some(c.unit.as_str()) {
                units.push(BoardUnit {
                    title: c.unit.clone(),
                    summary: String::new(),
                    cells: Vec::new(),
                });
                unit_totals.push((0, 0));
            }
            if let (Some(u), Some(t)) = (units.last_mut(), unit_totals.last_mut()) {
                t.0 += c.population;
                t.1 += c.cna;
                u.cells.push(BoardCell {
                    code: c.code.clone(),
                    space: if c.population == 0 {
                        String::new()
                    } else {
                        space(c.area_cm2, c.population)
                    },
                    population: i18n::int(c.population),
                    cna: i18n::int(c.cna),
                    class: occupancy_class(c.population, c.cna),
                    href: format!("/ui/cells/{facility}/{}", c.code),
                    title: tr.i18n.message(
                        tr.lang,
                        "board-cell-title",
                        &[
                            ("cell", c.code.clone()),
                            ("population", i18n::int(c.population)),
                            ("cna", i18n::int(c.cna)),
                            ("space", space(c.area_cm2, c.population)),
                        ],
                    ),
                });
            }
        }
        for (u, (pop, cap)) in units.iter_mut().zip(unit_totals) {
            let name = row
                .units
                .iter()
                .find(|(code, _)| *code == u.title)
                .map(|(_, name)| name.clone())
                .unwrap_or_default();
            let label = tr.t1("board-unit", "unit", &u.title);
            u.title = if name.is_empty() {
                label
            } else {
                format!("{label} · {name}")
            };
            u.summary = format!(
                "{} / {} · {}",
                i18n::int(pop),
                i18n::int(cap),
                percent(pop, cap)
            );
        }
        let page = BoardPage {
            title: tr.t1(
                "board-title",
                "facility",
                &format!("{} ({})", row.name, row.code),
            ),
            who: who(&caller, &format!("/ui/board?facility={facility}")),
            held: i18n::int(held),
            cna: i18n::int(cna),
            occupancy: percent(held, cna),
            space: space(area, held),
            cell_count: i18n::int(cells.len() as u64),
            facility,
            facilities,
            units,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

pub struct PersonLine {
    pub person: u64,
    pub name: String,
    pub booking: u64,
    pub status: String,
    pub presence: String,
    pub since: String,
}

pub struct MovementLine {
    pub at: String,
    pub kind: String,
    pub people: String,
    pub open_air: String,
}

pub struct ReadingLine {
    pub at: String,
    pub temperature: String,
    pub lighting: String,
    pub ventilation: String,
}

#[derive(Template)]
#[template(path = "ui/cell.html")]
struct CellPage {
    tr: Tr,
    who: Option<Who>,
    title: String,
    facility: String,
    area: String,
    capacity: String,
    held: String,
    space: String,
    people: Vec<PersonLine>,
    movements_title: String,
    movements: Vec<MovementLine>,
    readings: Vec<ReadingLine>,
}

async fn cell_page(
    State(state): State<Arc<AppState>>,
    Path((facility, cell)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = records_reader(&state, &caller, "read a cell") {
            return Ok(r);
        }
        if let Some(r) = scoped(&state, &caller, &facility, "read a cell") {
            return Ok(r);
        }
        let cells = state.store.cells(Some(&facility))?;
        let Some(row) = cells.iter().find(|c| c.code == cell) else {
            return Ok(error_page(
                StatusCode::NOT_FOUND,
                &caller,
                "error-not-found",
            ));
        };
        let tr = Tr::new(lang_of(&caller))?;
        let today = state.clock.now().date_string();
        let view = state.store.cell_view(&facility, &cell, &today, 12)?;
        let yes_no = |b: bool| tr.t(if b { "yes" } else { "no" });
        let on_off =
            |b: Option<bool>| b.map_or("—".to_owned(), |b| tr.t(if b { "on" } else { "off" }));
        let people = view
            .occupants
            .iter()
            .map(|o| PersonLine {
                person: o.person,
                name: format!("{} {}", o.given_names, o.surnames),
                booking: o.booking,
                status: tr.t(&format!("status-{}", o.legal_status)),
                presence: tr.t(&format!("presence-{}", o.presence)),
                since: o
                    .since
                    .as_deref()
                    .map_or("—".to_owned(), |s| i18n::date_time(tr.lang, s)),
            })
            .collect();
        let movements = view
            .movements
            .iter()
            .map(|m| MovementLine {
                at: m.at.get(11..16).unwrap_or(&m.at).to_owned(),
                kind: tr.t(&format!("movement-{}", m.kind)),
                people: i18n::int(m.people),
                open_air: yes_no(m.open_air),
            })
            .collect();
        let readings = view
            .readings
            .iter()
            .map(|r| ReadingLine {
                at: i18n::date_time(tr.lang, &r.at),
                temperature: r.temperature_dc.map_or("—".to_owned(), |t| {
                    format!("{} °C", i18n::decimal(t as f64 / 10.0, 1))
                }),
                lighting: on_off(r.lighting_on),
                ventilation: on_off(r.ventilation_on),
            })
            .collect();
        let page = CellPage {
            title: tr.t2("cell-title", "cell", &cell, "facility", &facility),
            who: who(&caller, &format!("/ui/cells/{facility}/{cell}")),
            area: format!("{} m²", i18n::decimal(row.area_cm2 as f64 / 10_000.0, 1)),
            capacity: format!(
                "{} / {}",
                i18n::int(row.cna),
                i18n::int(row.operational_capacity)
            ),
            held: i18n::int(row.population),
            space: space(row.area_cm2, row.population),
            people,
            movements_title: tr.t1("cell-movements", "day", &i18n::date(tr.lang, &today)),
            movements,
            readings,
            facility,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

pub struct PersonHitLine {
    pub person: u64,
    pub name: String,
    pub birth: String,
}

#[derive(Template)]
#[template(path = "ui/persons.html")]
struct PersonsPage {
    tr: Tr,
    who: Option<Who>,
    q: String,
    searched: bool,
    people: Vec<PersonHitLine>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PersonsQuery {
    #[serde(default)]
    q: String,
}

/// Who may read people's files: the API's readers.
fn file_reader(state: &AppState, caller: &Caller, action: &str) -> Option<Response> {
    if crate::api::READERS.contains(&caller.role) {
        return None;
    }
    if let Err(e) = state.refuse(
        caller,
        EVERY_FACILITY,
        action,
        "this role does not read people's files",
    ) {
        return Some(e.into_response());
    }
    Some(error_page(StatusCode::FORBIDDEN, caller, "error-forbidden"))
}

async fn persons_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<PersonsQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = file_reader(&state, &caller, "search people") {
            return Ok(r);
        }
        let tr = Tr::new(lang_of(&caller))?;
        let words: Vec<String> = q.q.split_whitespace().map(String::from).collect();
        let people = if words.is_empty() {
            Vec::new()
        } else {
            crate::api::visible_people(&state, &caller, &words, 100)?
                .into_iter()
                .map(|h| PersonHitLine {
                    person: h.person,
                    name: format!("{} {}", h.given_names, h.surnames),
                    birth: i18n::date(tr.lang, &h.birth_date),
                })
                .collect()
        };
        let page = PersonsPage {
            who: who(&caller, "/ui/persons"),
            searched: !words.is_empty(),
            q: q.q,
            people,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

/// The reasons a file may be opened for, as codes of the access log.
const REASONS: [&str; 8] = [
    "hearing",
    "legal-basis",
    "health",
    "transfer",
    "complaint",
    "family",
    "inspection",
    "other",
];

#[derive(Template)]
#[template(path = "ui/purpose.html")]
struct PurposePage {
    tr: Tr,
    who: Option<Who>,
    person: u64,
    reasons: Vec<(&'static str, String)>,
}

pub struct OrderLine {
    pub kind: String,
    pub authority: String,
    pub reference: String,
    pub issued: String,
    pub expires: String,
    pub expired: bool,
}

pub struct CustodyBlock {
    pub heading: String,
    /// The allocation page, for a custody still open and a caller who allocates.
    pub allocate_href: String,
    pub status: String,
    pub place: String,
    pub release: String,
    pub ended: String,
    pub orders: Vec<OrderLine>,
}

pub struct TimelineLine {
    pub when: String,
    pub what: String,
    pub details: String,
    pub corrects: String,
    pub index: u64,
}

#[derive(Template)]
#[template(path = "ui/person.html")]
struct PersonPage {
    tr: Tr,
    who: Option<Who>,
    person: u64,
    name: String,
    birth: String,
    sex: String,
    nationalities: String,
    logged: String,
    print_href: String,
    custodies: Vec<CustodyBlock>,
    timeline: Vec<TimelineLine>,
}

#[derive(Template)]
#[template(path = "ui/person_print.html")]
struct PersonPrint {
    page: PersonPage,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FileQuery {
    reason: Option<String>,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    print: bool,
}

/// A payload's fields in one line: `key: value; …` (nested values as JSON).
fn details(payload: &serde_json::Value) -> String {
    match payload.as_object() {
        Some(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        None => payload.to_string(),
    }
}

async fn person_page(
    State(state): State<Arc<AppState>>,
    Path(person): Path<u64>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(|r| (r, None));
        };
        if let Some(r) = file_reader(&state, &caller, "read person file") {
            return Ok((r, None));
        }
        let tr = Tr::new(lang_of(&caller))?;
        // No file without a stated reason: the reading is logged with it.
        let Some(reason) = q.reason.as_deref().filter(|r| REASONS.contains(r)) else {
            let reasons = REASONS
                .iter()
                .map(|r| (*r, tr.t(&format!("reason-{r}"))))
                .collect();
            let page = PurposePage {
                who: who(&caller, &format!("/ui/persons/{person}")),
                person,
                reasons,
                tr,
            };
            return Ok((html(StatusCode::OK, &page), None));
        };
        let detail: String = q.detail.trim().chars().take(150).collect();
        let purpose = if detail.is_empty() {
            reason.to_owned()
        } else {
            format!("{reason}: {detail}")
        };
        let Some((file, mut history)) = state.store.person_record(person)? else {
            return Ok((
                error_page(StatusCode::NOT_FOUND, &caller, "error-not-found"),
                None,
            ));
        };
        let facility = file
            .custodies
            .last()
            .map_or(EVERY_FACILITY.to_owned(), |c| c.facility.clone());
        if !file.custodies.iter().any(|c| caller.covers(&c.facility)) {
            state.refuse(
                &caller,
                &facility,
                "read person file",
                "outside the caller's facilities",
            )?;
            return Ok((
                error_page(StatusCode::FORBIDDEN, &caller, "error-forbidden"),
                None,
            ));
        }
        crate::server::redact_health(&mut history, caller.role);
        let today = state.clock.now().date_string();
        let custodies = file
            .custodies
            .iter()
            .map(|c| CustodyBlock {
                allocate_href: if c.ended_by.is_none()
                    && matches!(caller.role, Role::Custody | Role::Director)
                    && caller.covers(&c.facility)
                {
                    format!("/ui/allocations?booking={}", c.booking)
                } else {
                    String::new()
                },
                heading: tr.i18n.message(
                    tr.lang,
                    "custody-heading",
                    &[
                        ("facility", c.facility.clone()),
                        ("date", i18n::date(tr.lang, &c.admitted_at)),
                        ("booking", c.booking.to_string()),
                    ],
                ),
                status: tr.t(&format!("status-{}", c.legal_status)),
                place: match (&c.unit, &c.cell) {
                    (Some(u), Some(k)) => format!(
                        "{u} · {k} · {}",
                        tr.t(&format!(
                            "presence-{}",
                            c.presence.as_deref().unwrap_or("in_cell")
                        ))
                    ),
                    _ => "—".to_owned(),
                },
                release: c
                    .release_date
                    .as_deref()
                    .map_or("—".to_owned(), |d| i18n::date(tr.lang, d)),
                ended: c.end_reason.clone().unwrap_or_default(),
                orders: c
                    .orders
                    .iter()
                    .map(|o| OrderLine {
                        kind: o.kind.clone(),
                        authority: o.authority.clone(),
                        reference: o.reference.clone(),
                        issued: i18n::date(tr.lang, &o.issued),
                        expires: o
                            .expires
                            .as_deref()
                            .map_or("—".to_owned(), |d| i18n::date(tr.lang, d)),
                        expired: o.expires.as_deref().is_some_and(|d| d < today.as_str()),
                    })
                    .collect(),
            })
            .collect();
        let timeline = history
            .iter()
            .map(|h| {
                let kind = h["kind"].as_str().unwrap_or("");
                let label = tr.t(&format!("kind-{}", kind.replace('.', "-")));
                // Health content was taken out for other roles (`redact_health`).
                let restricted = kind == habeas_core::kinds::HEALTH
                    && !matches!(caller.role, Role::Health | Role::Inspector);
                TimelineLine {
                    when: i18n::date_time(tr.lang, h["time"].as_str().unwrap_or("")),
                    what: if label.starts_with("kind-") {
                        kind.to_owned()
                    } else {
                        label
                    },
                    details: if restricted {
                        tr.t("person-restricted")
                    } else {
                        details(&h["payload"])
                    },
                    corrects: match h["corrects"]["index"].as_u64() {
                        Some(i) => tr.i18n.message(
                            tr.lang,
                            "person-corrects",
                            &[
                                ("index", i.to_string()),
                                (
                                    "reason",
                                    h["corrects"]["reason"].as_str().unwrap_or("").to_owned(),
                                ),
                            ],
                        ),
                        None => String::new(),
                    },
                    index: h["index"].as_u64().unwrap_or(0),
                }
            })
            .collect();
        let query = format!(
            "reason={reason}&detail={}",
            detail
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                })
                .collect::<String>()
        );
        let page = PersonPage {
            who: who(&caller, &format!("/ui/persons/{person}?{query}")),
            person,
            name: format!("{} {}", file.given_names, file.surnames),
            birth: i18n::date(tr.lang, &file.birth_date),
            sex: tr.t(&format!("sex-{}", file.sex)),
            nationalities: file.nationalities.join(", "),
            logged: tr.t1("person-logged", "purpose", &purpose),
            print_href: format!("/ui/persons/{person}?{query}&print=true"),
            custodies,
            timeline,
            tr,
        };
        let answer = if q.print {
            html(StatusCode::OK, &PersonPrint { page })
        } else {
            html(StatusCode::OK, &page)
        };
        Ok((answer, Some((caller.user.username, facility, purpose))))
    })
    .await;
    match outcome {
        Err(e) => e.into_response(),
        Ok((page, None)) => page,
        // The file is shown only once its reading is logged durably.
        Ok((page, Some((username, facility, purpose)))) => {
            match shared
                .log_async(&[crate::access::Event::Read {
                    username: &username,
                    facility: &facility,
                    person,
                    part: "file",
                    purpose: Some(&purpose),
                }])
                .await
            {
                Ok(()) => page,
                Err(e) => e.into_response(),
            }
        }
    }
}

/// The fields of the admission form, by step.
const ADMIT_FIELDS: [&[&str]; 3] = [
    &[
        "facility",
        "given_names",
        "surname1",
        "surname2",
        "birth_date",
        "sex",
        "nationalities",
    ],
    &[
        "legal_status",
        "order_kind",
        "order_authority",
        "order_reference",
        "order_issued",
        "order_expires",
    ],
    &[
        "arrest_at",
        "arrest_place",
        "arrest_authority",
        "admitted_at",
    ],
];

/// The fields a step must have before the next.
const ADMIT_REQUIRED: [&[&str]; 3] = [
    &["given_names", "surname1", "birth_date", "nationalities"],
    &[],
    &[
        "arrest_at",
        "arrest_place",
        "arrest_authority",
        "admitted_at",
    ],
];

#[derive(Template)]
#[template(path = "ui/admit.html")]
struct AdmitPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    step: usize,
    step_label: String,
    vals: std::collections::BTreeMap<String, String>,
    /// The other steps' values, carried along.
    hidden: Vec<(String, String)>,
    errors: std::collections::BTreeMap<String, String>,
    general: Option<String>,
    done: Option<String>,
    file_href: String,
    facilities: Vec<String>,
    sexes: Vec<(&'static str, String)>,
    statuses: Vec<(&'static str, String)>,
    order_kinds: Vec<(&'static str, String)>,
}

impl AdmitPage {
    fn v(&self, name: &str) -> &str {
        self.vals.get(name).map_or("", String::as_str)
    }

    fn err(&self, name: &str) -> Option<&String> {
        self.errors.get(name)
    }

    fn new(
        tr: Tr,
        caller: &Caller,
        step: usize,
        vals: std::collections::BTreeMap<String, String>,
    ) -> Self {
        let options = |codes: &[&'static str], prefix: &str| {
            codes
                .iter()
                .map(|c| (*c, tr.t(&format!("{prefix}{c}"))))
                .collect::<Vec<_>>()
        };
        let sexes = options(&["male", "female", "intersex"], "sex-");
        let statuses = options(
            &[
                "remand",
                "convicted_unsentenced",
                "sentenced",
                "immigration",
                "civil",
            ],
            "status-",
        );
        let mut order_kinds = vec![("none", tr.t("admit-order-none"))];
        order_kinds.extend(options(
            &[
                "pretrial_detention",
                "sentence",
                "immigration",
                "civil",
                "other",
            ],
            "order-",
        ));
        let step = step.clamp(1, 3);
        let hidden = ADMIT_FIELDS
            .iter()
            .enumerate()
            .filter(|(i, _)| i + 1 != step)
            .flat_map(|(_, names)| names.iter())
            .map(|n| ((*n).to_owned(), vals.get(*n).cloned().unwrap_or_default()))
            .collect();
        Self {
            step_label: tr.t1("admit-step", "step", &step.to_string()),
            who: who(caller, "/ui/admissions"),
            csrf: caller.csrf.clone().unwrap_or_default(),
            step,
            vals,
            hidden,
            errors: std::collections::BTreeMap::new(),
            general: None,
            done: None,
            file_href: String::new(),
            facilities: caller.user.facilities.clone(),
            sexes,
            statuses,
            order_kinds,
            tr,
        }
    }
}

/// Who records admissions: the registry and the direction, in their facilities.
fn admitter(state: &AppState, caller: &Caller) -> Option<Response> {
    if matches!(caller.role, Role::Registry | Role::Director) {
        return None;
    }
    if let Err(e) = state.refuse(
        caller,
        EVERY_FACILITY,
        "admit",
        &format!("the {} role may not admit", caller.role.as_str()),
    ) {
        return Some(e.into_response());
    }
    Some(error_page(StatusCode::FORBIDDEN, caller, "error-forbidden"))
}

async fn admit_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = admitter(&state, &caller) {
            return Ok(r);
        }
        let tr = Tr::new(lang_of(&caller))?;
        let now = state.clock.now().to_string();
        let mut vals = std::collections::BTreeMap::new();
        vals.insert("nationalities".to_owned(), "SV".to_owned());
        vals.insert(
            "admitted_at".to_owned(),
            now.get(0..16).unwrap_or("").to_owned(),
        );
        vals.insert("order_kind".to_owned(), "pretrial_detention".to_owned());
        vals.insert("legal_status".to_owned(), "remand".to_owned());
        if let Some(f) = caller.user.facilities.first() {
            vals.insert("facility".to_owned(), f.clone());
        }
        Ok(html(StatusCode::OK, &AdmitPage::new(tr, &caller, 1, vals)))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`) as a register time (UTC).
fn form_time(v: &str) -> String {
    if v.len() == 16 {
        format!("{v}:00.000Z")
    } else {
        v.to_owned()
    }
}

/// The form field, and its step, where a domain error about `field` is shown.
fn admit_field(field: &str) -> (&'static str, usize) {
    let f = field.trim_start_matches("person.");
    match f {
        "given_names" => ("given_names", 1),
        _ if f.starts_with("surnames") => ("surname1", 1),
        "birth_date" => ("birth_date", 1),
        "sex" => ("sex", 1),
        _ if f.starts_with("nationalities") => ("nationalities", 1),
        "facility" => ("facility", 1),
        "legal_status" => ("legal_status", 2),
        _ if f.ends_with(".authority") && f.starts_with("orders") => ("order_authority", 2),
        _ if f.ends_with(".reference") => ("order_reference", 2),
        _ if f.ends_with(".issued") => ("order_issued", 2),
        _ if f.ends_with(".expires") => ("order_expires", 2),
        _ if f.starts_with("orders") => ("order_kind", 2),
        "arrest.at" => ("arrest_at", 3),
        "arrest.place" => ("arrest_place", 3),
        "arrest.authority" => ("arrest_authority", 3),
        _ => ("admitted_at", 3),
    }
}

/// The admission a completed form asks for, as the JSON of `habeas admit`.
fn admission_json(v: &std::collections::BTreeMap<String, String>) -> serde_json::Value {
    let get = |k: &str| v.get(k).map_or("", |s| s.trim());
    let mut surnames = vec![get("surname1").to_owned()];
    if !get("surname2").is_empty() {
        surnames.push(get("surname2").to_owned());
    }
    let orders = if get("order_kind") == "none" {
        serde_json::json!([])
    } else {
        let mut o = serde_json::json!({
            "kind": get("order_kind"), "authority": get("order_authority"),
            "reference": get("order_reference"), "issued": get("order_issued"),
        });
        if !get("order_expires").is_empty() {
            o["expires"] = get("order_expires").into();
        }
        serde_json::json!([o])
    };
    serde_json::json!({
        "facility": get("facility"),
        "person": {
            "given_names": get("given_names"),
            "surnames": surnames,
            "birth_date": get("birth_date"),
            "sex": get("sex"),
            "nationalities": get("nationalities").split(',').map(str::trim).filter(|n| !n.is_empty()).collect::<Vec<_>>(),
        },
        "admitted_at": form_time(get("admitted_at")),
        "legal_status": get("legal_status"),
        "orders": orders,
        "arrest": {"at": form_time(get("arrest_at")), "place": get("arrest_place"), "authority": get("arrest_authority")},
    })
}

async fn admit_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<std::collections::BTreeMap<String, String>>,
) -> Response {
    let shared = state.clone();
    // The checks on the blocking pool; then the append awaits its commit.
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(|r| (r, None));
        };
        if let Some(r) = admitter(&state, &caller) {
            return Ok((r, None));
        }
        if let Some(r) = check_form(
            &state,
            &caller,
            form.get("csrf").map_or("", String::as_str),
            "admit",
        ) {
            return Ok((r, None));
        }
        let tr = Tr::new(lang_of(&caller))?;
        let step: usize = form
            .get("step")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .clamp(1, 3);
        let go = form.get("go").cloned().unwrap_or_default();
        let vals: std::collections::BTreeMap<String, String> = ADMIT_FIELDS
            .iter()
            .flat_map(|names| names.iter())
            .map(|n| ((*n).to_owned(), form.get(*n).cloned().unwrap_or_default()))
            .collect();
        if go == "back" {
            return Ok((
                html(StatusCode::OK, &AdmitPage::new(tr, &caller, step - 1, vals)),
                None,
            ));
        }
        // The step's own fields first.
        let missing: Vec<&str> = ADMIT_REQUIRED[step - 1]
            .iter()
            .copied()
            .filter(|n| vals.get(*n).is_none_or(|v| v.trim().is_empty()))
            .collect();
        if !missing.is_empty() {
            let required = tr.t("admit-required");
            let mut page = AdmitPage::new(tr, &caller, step, vals);
            for n in missing {
                page.errors.insert(n.to_owned(), required.clone());
            }
            return Ok((html(StatusCode::BAD_REQUEST, &page), None));
        }
        if go != "submit" || step < 3 {
            return Ok((
                html(StatusCode::OK, &AdmitPage::new(tr, &caller, step + 1, vals)),
                None,
            ));
        }
        // The whole admission, checked by the domain; an error goes beside its field.
        let refuse = |tr: Tr, field: &str, message: String| {
            let (name, at) = admit_field(field);
            let mut page = AdmitPage::new(tr, &caller, at, vals.clone());
            page.errors.insert(name.to_owned(), message);
            html(StatusCode::BAD_REQUEST, &page)
        };
        let input: habeas_core::custody::AdmissionInput =
            match serde_path_to_error::deserialize(admission_json(&vals)) {
                Ok(i) => i,
                Err(e) => {
                    let field = e.path().to_string();
                    let message = e.inner().to_string();
                    return Ok((refuse(tr, &field, message), None));
                }
            };
        let checked = match input.validate(state.clock.now()) {
            Ok(a) => a,
            Err(e) if e.field == "orders" => {
                let message = tr.t("admit-no-order");
                return Ok((refuse(tr, "orders", message), None));
            }
            Err(e) => return Ok((refuse(tr, &e.field, e.message), None)),
        };
        if !caller.covers(checked.facility.as_str()) {
            return Ok((
                scoped(&state, &caller, checked.facility.as_str(), "admit").unwrap_or_else(|| {
                    error_page(StatusCode::FORBIDDEN, &caller, "error-forbidden")
                }),
                None,
            ));
        }
        let actor =
            habeas_core::ids::Actor::parse("actor", &format!("user:{}", caller.user.username))
                .map_err(|e| ApiError::internal(e.message))?;
        let draft = checked.to_draft(&actor);
        Ok((Response::default(), Some((tr, caller, vals, draft))))
    })
    .await;
    let (tr, caller, vals, draft) = match outcome {
        Err(e) => return e.into_response(),
        Ok((page, None)) => return page,
        Ok((_, Some(parts))) => parts,
    };
    let Some(register) = shared.register.as_ref() else {
        return ApiError::internal("this server does not write the register").into_response();
    };
    match crate::server::durable(register, vec![draft]).await {
        Ok(receipts) => {
            let entry = receipts.first().map_or(0, |r| r.index);
            let mut page = AdmitPage::new(tr, &caller, 3, vals);
            page.done = Some(page.tr.t1("admit-done", "entry", &entry.to_string()));
            page.file_href = format!("/ui/persons/{entry}");
            html(StatusCode::CREATED, &page)
        }
        Err(habeas_register::store::AppendError::Rejected(r)) => {
            let (name, at) = admit_field(r.field.as_deref().unwrap_or(""));
            let mut page = AdmitPage::new(tr, &caller, at, vals);
            page.errors.insert(name.to_owned(), r.message);
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(habeas_register::store::AppendError::Store(e)) => {
            ApiError::internal(format!("nothing was recorded: {e}")).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "ui/allocate.html")]
struct AllocatePage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    subject: String,
    person: u64,
    booking: u64,
    facility: String,
    chosen: String,
    cells: Vec<(String, String)>,
    may_override: bool,
    done: Option<String>,
    refusal: Option<String>,
}

/// Who places people in cells: custody staff and the direction.
fn allocator(state: &AppState, caller: &Caller) -> Option<Response> {
    if matches!(caller.role, Role::Custody | Role::Director) {
        return None;
    }
    if let Err(e) = state.refuse(
        caller,
        EVERY_FACILITY,
        "allocate",
        &format!("the {} role may not allocate", caller.role.as_str()),
    ) {
        return Some(e.into_response());
    }
    Some(error_page(StatusCode::FORBIDDEN, caller, "error-forbidden"))
}

/// The allocation page of a booking, or why it cannot be shown.
fn allocate_view(
    state: &AppState,
    caller: &Caller,
    booking: u64,
    chosen: &str,
) -> ApiResult<Result<AllocatePage, Response>> {
    if let Some(r) = allocator(state, caller) {
        return Ok(Err(r));
    }
    let person = state.store.person_of(booking)?;
    let file = match person {
        Some(p) => state.store.person_file(p)?,
        None => None,
    };
    let Some((file, custody)) = file.and_then(|f| {
        let c = f.custodies.iter().find(|c| c.booking == booking)?.clone();
        Some((f, c))
    }) else {
        return Ok(Err(error_page(
            StatusCode::NOT_FOUND,
            caller,
            "error-not-found",
        )));
    };
    if let Some(r) = scoped(state, caller, &custody.facility, "allocate") {
        return Ok(Err(r));
    }
    let tr = Tr::new(lang_of(caller))?;
    let cells = state
        .store
        .cells(Some(&custody.facility))?
        .into_iter()
        .map(|c| {
            let label = format!(
                "{} — {} / {} / {}",
                c.code,
                i18n::int(c.population),
                i18n::int(c.cna),
                i18n::int(c.operational_capacity)
            );
            (c.code, label)
        })
        .collect();
    let name = format!("{} {}", file.given_names, file.surnames);
    Ok(Ok(AllocatePage {
        subject: tr.i18n.message(
            tr.lang,
            "allocate-subject",
            &[
                ("name", name),
                ("booking", booking.to_string()),
                ("facility", custody.facility.clone()),
            ],
        ),
        who: who(caller, &format!("/ui/allocations?booking={booking}")),
        csrf: caller.csrf.clone().unwrap_or_default(),
        person: file.person,
        booking,
        chosen: if chosen.is_empty() {
            custody.cell.clone().unwrap_or_default()
        } else {
            chosen.to_owned()
        },
        facility: custody.facility,
        cells,
        may_override: caller.role == Role::Director,
        done: None,
        refusal: None,
        tr,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct BookingQuery {
    booking: u64,
}

async fn allocate_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BookingQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        Ok(match allocate_view(&state, &caller, q.booking, "")? {
            Ok(page) => html(StatusCode::OK, &page),
            Err(r) => r,
        })
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Debug, Deserialize)]
pub(crate) struct AllocateForm {
    #[serde(default)]
    csrf: String,
    booking: u64,
    #[serde(default)]
    cell: String,
    #[serde(default)]
    override_reason: String,
    #[serde(default)]
    override_authority: String,
}

async fn allocate_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AllocateForm>,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(|r| (r, None));
        };
        if let Some(r) = check_form(&state, &caller, &form.csrf, "allocate") {
            return Ok((r, None));
        }
        let mut page = match allocate_view(&state, &caller, form.booking, &form.cell)? {
            Ok(p) => p,
            Err(r) => return Ok((r, None)),
        };
        let text = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
        let (reason, authority) = if caller.role == Role::Director {
            (text(&form.override_reason), text(&form.override_authority))
        } else {
            (None, None)
        };
        let allocation = match habeas_core::allocation::Allocation::new(
            &page.facility,
            form.booking,
            &form.cell,
            reason.as_deref(),
            authority.as_deref(),
        ) {
            Ok(a) => a,
            Err(e) => {
                page.refusal = Some(page.tr.t1(
                    "allocate-refused",
                    "reason",
                    &format!("{}: {}", e.field, e.message),
                ));
                return Ok((html(StatusCode::BAD_REQUEST, &page), None));
            }
        };
        let actor =
            habeas_core::ids::Actor::parse("actor", &format!("user:{}", caller.user.username))
                .map_err(|e| ApiError::internal(e.message))?;
        Ok((
            Response::default(),
            Some((page, allocation.to_draft(&actor))),
        ))
    })
    .await;
    let (mut page, draft) = match outcome {
        Err(e) => return e.into_response(),
        Ok((r, None)) => return r,
        Ok((_, Some(parts))) => parts,
    };
    let Some(register) = shared.register.as_ref() else {
        return ApiError::internal("this server does not write the register").into_response();
    };
    // The projections check capacity and separation in the writer's transaction: a refusal
    // comes back with its explanation, and nothing is written.
    match crate::server::durable(register, vec![draft]).await {
        Ok(receipts) => {
            let entry = receipts.first().map_or(0, |r| r.index);
            page.done = Some(page.tr.t2(
                "allocate-done",
                "cell",
                &page.chosen,
                "entry",
                &entry.to_string(),
            ));
            html(StatusCode::CREATED, &page)
        }
        Err(habeas_register::store::AppendError::Rejected(r)) => {
            page.refusal = Some(page.tr.t1("allocate-refused", "reason", &r.message));
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(habeas_register::store::AppendError::Store(e)) => {
            ApiError::internal(format!("nothing was recorded: {e}")).into_response()
        }
    }
}

pub struct CountRow {
    pub code: String,
    pub expected: String,
    pub label: String,
    pub value: String,
    pub error: String,
}

pub struct ReconciliationLine {
    pub at: String,
    pub cell: String,
    pub counted: String,
    pub expected: String,
    pub difference: String,
    pub off: bool,
}

#[derive(Template)]
#[template(path = "ui/counts.html")]
struct CountsPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    title: String,
    facility: String,
    at: String,
    general: Option<String>,
    lines: Vec<ReconciliationLine>,
    not_counted: String,
    cells: Vec<CountRow>,
}

/// Who counts: custody staff and the direction.
fn counter(state: &AppState, caller: &Caller) -> Option<Response> {
    if matches!(caller.role, Role::Custody | Role::Director) {
        return None;
    }
    if let Err(e) = state.refuse(
        caller,
        EVERY_FACILITY,
        "record a roll count",
        &format!("the {} role may not count", caller.role.as_str()),
    ) {
        return Some(e.into_response());
    }
    Some(error_page(StatusCode::FORBIDDEN, caller, "error-forbidden"))
}

/// The roll-count page of a facility today: the reconciliation so far and the form.
fn counts_view(
    state: &AppState,
    caller: &Caller,
    facility: Option<String>,
    values: &std::collections::BTreeMap<String, String>,
) -> ApiResult<Result<CountsPage, Response>> {
    if let Some(r) = counter(state, caller) {
        return Ok(Err(r));
    }
    let Some(facility) = facility.or_else(|| caller.user.facilities.first().cloned()) else {
        return Ok(Err(error_page(
            StatusCode::NOT_FOUND,
            caller,
            "error-not-found",
        )));
    };
    if let Some(r) = scoped(state, caller, &facility, "record a roll count") {
        return Ok(Err(r));
    }
    let tr = Tr::new(lang_of(caller))?;
    let now = state.clock.now();
    let today = now.date_string();
    let report = state.store.count_report(&facility, &today)?;
    let lines = report
        .lines
        .iter()
        .map(|l| ReconciliationLine {
            at: l.at.get(11..16).unwrap_or(&l.at).to_owned(),
            cell: l.cell.clone(),
            counted: i18n::int(l.counted),
            expected: i18n::int(l.expected),
            difference: format!("{:+}", l.counted as i64 - l.expected as i64),
            off: l.counted != l.expected,
        })
        .collect();
    let not_counted = if report.not_counted.is_empty() {
        tr.t("count-all-counted")
    } else {
        tr.t1("count-not-counted", "cells", &report.not_counted.join(", "))
    };
    let cells = state
        .store
        .cells(Some(&facility))?
        .into_iter()
        .map(|c| CountRow {
            expected: i18n::int(c.population),
            label: tr.t1("count-label", "cell", &c.code),
            value: values
                .get(&format!("count.{}", c.code))
                .cloned()
                .unwrap_or_default(),
            error: String::new(),
            code: c.code,
        })
        .collect();
    Ok(Ok(CountsPage {
        title: tr.t2(
            "count-title",
            "facility",
            &facility,
            "date",
            &i18n::date(tr.lang, &today),
        ),
        who: who(caller, &format!("/ui/counts?facility={facility}")),
        csrf: caller.csrf.clone().unwrap_or_default(),
        at: values
            .get("at")
            .cloned()
            .unwrap_or_else(|| now.to_string().get(0..16).unwrap_or("").to_owned()),
        facility,
        general: None,
        lines,
        not_counted,
        cells,
        tr,
    }))
}

async fn counts_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BoardQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        Ok(
            match counts_view(
                &state,
                &caller,
                q.facility,
                &std::collections::BTreeMap::new(),
            )? {
                Ok(page) => html(StatusCode::OK, &page),
                Err(r) => r,
            },
        )
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

async fn counts_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<std::collections::BTreeMap<String, String>>,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(|r| (r, None));
        };
        if let Some(r) = check_form(
            &state,
            &caller,
            form.get("csrf").map_or("", String::as_str),
            "record a roll count",
        ) {
            return Ok((r, None));
        }
        let mut page = match counts_view(&state, &caller, form.get("facility").cloned(), &form)? {
            Ok(p) => p,
            Err(r) => return Ok((r, None)),
        };
        // Each cell with a number; a value that is not one is named beside its cell.
        let mut counts = Vec::new();
        let mut bad = false;
        for row in &mut page.cells {
            let v = row.value.trim();
            if v.is_empty() {
                continue;
            }
            match v.parse::<u32>() {
                Ok(n) => counts.push(habeas_core::events::CellCount {
                    cell: row.code.clone(),
                    counted: n,
                    present: None,
                }),
                Err(_) => {
                    row.error = page.tr.t("count-not-number");
                    bad = true;
                }
            }
        }
        if bad {
            return Ok((html(StatusCode::BAD_REQUEST, &page), None));
        }
        if counts.is_empty() {
            page.general = Some(page.tr.t("count-empty"));
            return Ok((html(StatusCode::BAD_REQUEST, &page), None));
        }
        let count = match habeas_core::events::RollCount::new(
            &page.facility,
            &form_time(&page.at),
            &counts,
            state.clock.now(),
        ) {
            Ok(c) => c,
            Err(e) => {
                page.general = Some(format!("{}: {}", e.field, e.message));
                return Ok((html(StatusCode::BAD_REQUEST, &page), None));
            }
        };
        let actor =
            habeas_core::ids::Actor::parse("actor", &format!("user:{}", caller.user.username))
                .map_err(|e| ApiError::internal(e.message))?;
        let back = format!("/ui/counts?facility={}", page.facility);
        Ok((
            Response::default(),
            Some((page, back, count.to_draft(&actor))),
        ))
    })
    .await;
    let (mut page, back, draft) = match outcome {
        Err(e) => return e.into_response(),
        Ok((r, None)) => return r,
        Ok((_, Some(parts))) => parts,
    };
    let Some(register) = shared.register.as_ref() else {
        return ApiError::internal("this server does not write the register").into_response();
    };
    match crate::server::durable(register, vec![draft]).await {
        // Recorded: back to the page, which shows the day's reconciliation with it.
        Ok(_) => Redirect::to(&back).into_response(),
        Err(habeas_register::store::AppendError::Rejected(r)) => {
            page.general = Some(r.message);
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(habeas_register::store::AppendError::Store(e)) => {
            ApiError::internal(format!("nothing was recorded: {e}")).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "ui/compliance.html")]
struct CompliancePage {
    tr: Tr,
    who: Option<Who>,
    title: String,
    subtitle: String,
    total: String,
    grave: String,
    serious: String,
    notice: String,
    occupancy: String,
    rules_chart: String,
    /// Code, rule, count; most findings first.
    rules: Vec<(String, String, String)>,
    /// Unit, grave, serious, notice.
    units: Vec<(String, String, String, String)>,
    occupancy_chart: String,
    /// When, booking, pending steps.
    deaths: Vec<(String, String, String)>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ComplianceQuery {
    facility: Option<String>,
    as_of: Option<String>,
}

/// People held at the end of each month, from the people held on `as_of` and each later
/// month's flows, oldest first.
fn held_by_month(
    held_now: u64,
    flows: &[habeas_core::statistics::MonthFlow],
) -> Vec<(String, f64)> {
    let mut held = held_now as i64;
    let mut out = Vec::with_capacity(flows.len());
    for f in flows.iter().rev() {
        out.push((f.month.clone(), held.max(0) as f64));
        held -= f.admissions as i64 + f.transfers_in as i64
            - f.releases as i64
            - f.transfers_out as i64
            - f.deaths as i64;
    }
    out.reverse();
    out
}

async fn compliance_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ComplianceQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        use habeas_core::compliance::{Severity, Subject};
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = file_reader(&state, &caller, "read compliance") {
            return Ok(r);
        }
        let facilities: Vec<String> = if caller.role.scoped() {
            caller.user.facilities.clone()
        } else {
            state.store.facility_codes()?
        };
        let Some(facility) = q.facility.or_else(|| facilities.first().cloned()) else {
            return Ok(error_page(
                StatusCode::NOT_FOUND,
                &caller,
                "error-not-found",
            ));
        };
        if let Some(r) = scoped(&state, &caller, &facility, "read compliance") {
            return Ok(r);
        }
        let tr = Tr::new(lang_of(&caller))?;
        let as_of = match q.as_of.as_deref() {
            Some(d) => habeas_core::dates::Date::parse("as_of", d)
                .map_err(|e| ApiError::bad_request("invalid_field", e.message).field("as_of"))?,
            None => habeas_core::dates::Date::of(state.clock.now()),
        };
        let policy = habeas_core::compliance::Policy::mandela_minimum()
            .map_err(|e| ApiError::internal(e.message))?;
        let facts = state.store.compliance_facts(Some(&facility), as_of)?;
        let findings = habeas_core::compliance::evaluate(&policy, &facts, as_of);
        // By rule, most first.
        let mut by_rule: std::collections::BTreeMap<(&str, &str), u64> = Default::default();
        for f in &findings {
            *by_rule.entry((f.code, f.rule)).or_default() += 1;
        }
        let mut rules: Vec<((&str, &str), u64)> = by_rule.into_iter().collect();
        rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let rules_chart = charts::bars(
            &rules
                .iter()
                .take(20)
                .map(|((code, _), n)| ((*code).to_owned(), *n))
                .collect::<Vec<_>>(),
            900,
        )
        .map_err(ApiError::internal)?;
        // By unit: a person's by their cell's unit now, a cell's or unit's by its own.
        let bookings = state.store.booking_units(&facility)?;
        let cells = state.store.cells(Some(&facility))?;
        let unit_of_cell: std::collections::HashMap<&str, &str> = cells
            .iter()
            .map(|c| (c.code.as_str(), c.unit.as_str()))
            .collect();
        let everywhere = tr.t("dash-facility-wide");
        let mut by_unit: std::collections::BTreeMap<String, [u64; 3]> = Default::default();
        let mut by_severity = [0u64; 3];
        for f in &findings {
            let unit = match &f.subject {
                Subject::Person { booking } => bookings.get(booking).cloned(),
                Subject::Cell { cell, .. } => {
                    unit_of_cell.get(cell.as_str()).map(|u| (*u).to_owned())
                }
                Subject::Unit { unit, .. } => Some(unit.clone()),
                _ => None,
            }
            .unwrap_or_else(|| everywhere.clone());
            let k = match f.severity {
                Severity::Grave => 0,
                Severity::Serious => 1,
                Severity::Notice => 2,
            };
            by_unit.entry(unit).or_default()[k] += 1;
            by_severity[k] += 1;
        }
        let stats = state.store.statistics(Some(&facility), as_of, 12)?;
        let cna: u64 = cells.iter().map(|c| c.cna).sum();
        let held = stats.population.total;
        let occupancy_chart =
            charts::line(&held_by_month(held, &stats.flows), Some(cna as f64), 900)
                .map_err(ApiError::internal)?;
        let deaths = state
            .store
            .death_cases(Some(&facility))?
            .into_iter()
            .map(|d| {
                let pending: Vec<String> = d
                    .steps
                    .iter()
                    .filter(|(_, done)| done.is_none())
                    .map(|(step, _)| step.clone())
                    .collect();
                (
                    i18n::date_time(tr.lang, &d.at),
                    d.booking.to_string(),
                    if pending.is_empty() {
                        tr.t("dash-all-steps-done")
                    } else {
                        pending.join(", ")
                    },
                )
            })
            .collect();
        let page = CompliancePage {
            title: tr.t1("dash-title", "facility", &facility),
            subtitle: tr.t1(
                "dash-subtitle",
                "date",
                &i18n::date(tr.lang, &as_of.to_string()),
            ),
            who: who(&caller, &format!("/ui/compliance?facility={facility}")),
            total: i18n::int(findings.len() as u64),
            grave: i18n::int(by_severity[0]),
            serious: i18n::int(by_severity[1]),
            notice: i18n::int(by_severity[2]),
            occupancy: percent(held, cna),
            rules_chart,
            rules: rules
                .iter()
                .map(|((code, rule), n)| ((*code).to_owned(), (*rule).to_owned(), i18n::int(*n)))
                .collect(),
            units: by_unit
                .into_iter()
                .map(|(u, n)| (u, i18n::int(n[0]), i18n::int(n[1]), i18n::int(n[2])))
                .collect(),
            occupancy_chart,
            deaths,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "ui/register.html")]
struct RegisterPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    origin: String,
    key: String,
    size: String,
    checkpoint: String,
    access_size: String,
    may_verify: bool,
    may_read_log: bool,
    result: Option<String>,
    ok: bool,
}

/// Refuses (and logs) a role not in `roles`.
fn only(state: &AppState, caller: &Caller, roles: &[Role], action: &str) -> Option<Response> {
    if roles.contains(&caller.role) {
        return None;
    }
    if let Err(e) = state.refuse(
        caller,
        EVERY_FACILITY,
        action,
        &format!("the {} role may not {action}", caller.role.as_str()),
    ) {
        return Some(e.into_response());
    }
    Some(error_page(StatusCode::FORBIDDEN, caller, "error-forbidden"))
}

const OVERSEERS: &[Role] = &[Role::National, Role::Inspector, Role::Administrator];
const VERIFIERS: &[Role] = &[Role::Inspector, Role::National];
const LOG_READERS: &[Role] = &[Role::Inspector, Role::Administrator];

fn register_view(state: &AppState, caller: &Caller) -> ApiResult<RegisterPage> {
    use habeas_register::store::Store as _;
    let tr = Tr::new(lang_of(caller))?;
    let info = state.store.info()?;
    let checkpoint = match state.store.checkpoints()?.pop() {
        Some(c) => tr.t2(
            "reg-checkpoint-at",
            "size",
            &i18n::int(c.size),
            "at",
            &i18n::date_time(tr.lang, &c.made_at.to_string()),
        ),
        None => tr.t("reg-no-checkpoint"),
    };
    Ok(RegisterPage {
        who: who(caller, "/ui/register"),
        csrf: caller.csrf.clone().unwrap_or_default(),
        origin: info.origin,
        key: info.verifier.to_string(),
        size: i18n::int(state.store.size()?),
        checkpoint,
        access_size: i18n::int(state.access_store.size()?),
        may_verify: VERIFIERS.contains(&caller.role),
        may_read_log: LOG_READERS.contains(&caller.role),
        result: None,
        ok: false,
        tr,
    })
}

async fn register_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = only(&state, &caller, OVERSEERS, "read the register's status") {
            return Ok(r);
        }
        Ok(html(StatusCode::OK, &register_view(&state, &caller)?))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

async fn verify_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let outcome = blocking(move || {
        use habeas_register::store::Store as _;
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = only(&state, &caller, VERIFIERS, "verify the register") {
            return Ok(r);
        }
        if let Some(r) = check_form(&state, &caller, &form.csrf, "verify the register") {
            return Ok(r);
        }
        let mut page = register_view(&state, &caller)?;
        let info = state.store.info()?;
        let (ok, result) = match habeas_register::verify::verify(&*state.store, &info.verifier) {
            Err(e) => (
                false,
                page.tr.t1("reg-verify-failed", "failure", &e.to_string()),
            ),
            Ok(report) => match state.store.check_projections()? {
                Err(m) => (
                    false,
                    page.tr.t1(
                        "reg-verify-failed",
                        "failure",
                        &format!("table {}: {m}", m.table),
                    ),
                ),
                Ok(()) => (
                    true,
                    page.tr.i18n.message(
                        page.tr.lang,
                        "reg-verify-ok",
                        &[
                            ("entries", i18n::int(report.entries)),
                            ("checkpoints", i18n::int(report.checkpoints as u64)),
                            (
                                "root",
                                report.root.iter().map(|b| format!("{b:02x}")).collect(),
                            ),
                        ],
                    ),
                ),
            },
        };
        page.ok = ok;
        page.result = Some(result);
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "ui/access_log.html")]
struct AccessLogPage {
    tr: Tr,
    who: Option<Who>,
    user: String,
    kind: String,
    person: String,
    kinds: Vec<(String, String)>,
    summary: String,
    /// Index, time, who, kind, facility, details.
    entries: Vec<(String, String, String, String, String, String)>,
    older: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LogQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    person: String,
    before: Option<u64>,
}

/// Entries shown on one page of the access log, and entries looked at to find them.
const LOG_PAGE: usize = 100;
const LOG_SCAN: u64 = 20_000;

async fn access_log_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<LogQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        use habeas_register::store::Store as _;
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = only(&state, &caller, LOG_READERS, "read the access log") {
            return Ok(r);
        }
        let tr = Tr::new(lang_of(&caller))?;
        let size = state.access_store.size()?;
        // Newest first, from `before`; filtered here, a bounded stretch at a time.
        let end = q.before.unwrap_or(size).min(size);
        let stop = end.saturating_sub(LOG_SCAN);
        let user = q.user.trim().to_owned();
        let person: Option<u64> = q.person.trim().parse().ok();
        let mut entries = Vec::new();
        let mut next = end;
        while next > stop && entries.len() < LOG_PAGE {
            next -= 1;
            let Some(bytes) = state.access_store.entry(next)? else {
                continue;
            };
            let e: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
            let kind = e["kind"].as_str().unwrap_or("");
            let actor = e["actor"].as_str().unwrap_or("");
            if !q.kind.is_empty() && kind != format!("access.{}", q.kind) {
                continue;
            }
            if !user.is_empty() && actor.trim_start_matches("user:") != user {
                continue;
            }
            if let Some(p) = person {
                if e["payload"]["person"].as_u64() != Some(p) {
                    continue;
                }
            }
            let short = kind.trim_start_matches("access.");
            entries.push((
                next.to_string(),
                i18n::date_time(tr.lang, e["time"].as_str().unwrap_or("")),
                actor.trim_start_matches("user:").to_owned(),
                tr.t(&format!("access-{short}")),
                e["facility"].as_str().unwrap_or("").to_owned(),
                details(&e["payload"]),
            ));
        }
        let older = (next > 0).then(|| {
            format!(
                "/ui/access-log?user={}&kind={}&person={}&before={next}",
                user, q.kind, q.person
            )
        });
        let mut kinds = vec![(String::new(), tr.t("log-any"))];
        for k in ["sign_in", "read", "refused", "account", "disclosure"] {
            kinds.push((k.to_owned(), tr.t(&format!("access-{k}"))));
        }
        let page = AccessLogPage {
            summary: tr.t2(
                "log-summary",
                "shown",
                &i18n::int(entries.len() as u64),
                "size",
                &i18n::int(size),
            ),
            who: who(&caller, "/ui/access-log"),
            user,
            kind: q.kind,
            person: q.person,
            kinds,
            entries,
            older,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

pub struct FacilityLine {
    pub code: String,
    pub name: String,
    pub held: String,
    pub cna: String,
    pub operational: String,
    pub occupancy: String,
    pub class: &'static str,
    pub grave: String,
    pub serious: String,
    pub notice: String,
}

#[derive(Template)]
#[template(path = "ui/national.html")]
struct NationalPage {
    tr: Tr,
    who: Option<Who>,
    subtitle: String,
    held: String,
    cna: String,
    occupancy: String,
    findings: String,
    rows: Vec<FacilityLine>,
}

async fn national_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ComplianceQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        use habeas_core::compliance::{Severity, Subject};
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = only(
            &state,
            &caller,
            &[Role::National, Role::Inspector],
            "read the national overview",
        ) {
            return Ok(r);
        }
        let tr = Tr::new(lang_of(&caller))?;
        let as_of = match q.as_of.as_deref() {
            Some(d) => habeas_core::dates::Date::parse("as_of", d)
                .map_err(|e| ApiError::bad_request("invalid_field", e.message).field("as_of"))?,
            None => habeas_core::dates::Date::of(state.clock.now()),
        };
        // Every facility's findings in one evaluation; a person's counted in the facility
        // that holds them.
        let policy = habeas_core::compliance::Policy::mandela_minimum()
            .map_err(|e| ApiError::internal(e.message))?;
        let facts = state.store.compliance_facts(None, as_of)?;
        let findings = habeas_core::compliance::evaluate(&policy, &facts, as_of);
        let cells = state.store.cells(None)?;
        let mut per: std::collections::BTreeMap<String, [u64; 6]> = Default::default();
        for c in &cells {
            let e = per.entry(c.facility.clone()).or_default();
            e[0] += c.population;
            e[1] += c.cna;
            e[2] += c.operational_capacity;
        }
        let mut booking_facility = std::collections::HashMap::new();
        for code in per.keys() {
            for b in state.store.booking_units(code)?.into_keys() {
                booking_facility.insert(b, code.clone());
            }
        }
        for f in &findings {
            let facility = match &f.subject {
                Subject::Person { booking } => booking_facility.get(booking).cloned(),
                Subject::Cell { facility, .. }
                | Subject::Unit { facility, .. }
                | Subject::Facility { facility }
                | Subject::Hearing { facility, .. }
                | Subject::Incident { facility, .. } => Some(facility.clone()),
            };
            if let Some(e) = facility.and_then(|f| per.get_mut(&f)) {
                let k = match f.severity {
                    Severity::Grave => 3,
                    Severity::Serious => 4,
                    Severity::Notice => 5,
                };
                e[k] += 1;
            }
        }
        let (mut held, mut cna) = (0, 0);
        let mut rows = Vec::new();
        for (code, n) in &per {
            held += n[0];
            cna += n[1];
            let name = state
                .store
                .facility(code)?
                .map_or_else(|| code.clone(), |f| format!("{} ({code})", f.name));
            rows.push(FacilityLine {
                code: code.clone(),
                name,
                held: i18n::int(n[0]),
                cna: i18n::int(n[1]),
                operational: i18n::int(n[2]),
                occupancy: percent(n[0], n[1]),
                class: occupancy_class(n[0], n[1]),
                grave: i18n::int(n[3]),
                serious: i18n::int(n[4]),
                notice: i18n::int(n[5]),
            });
        }
        let page = NationalPage {
            subtitle: tr.t1(
                "nat-subtitle",
                "date",
                &i18n::date(tr.lang, &as_of.to_string()),
            ),
            who: who(&caller, "/ui/national"),
            held: i18n::int(held),
            cna: i18n::int(cna),
            occupancy: percent(held, cna),
            findings: i18n::int(findings.len() as u64),
            rows,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupancy_colours_at_their_thresholds() {
        assert_eq!(occupancy_class(0, 80), "empty");
        assert_eq!(occupancy_class(80, 80), "ok");
        assert_eq!(occupancy_class(81, 80), "over");
        assert_eq!(occupancy_class(120, 80), "over");
        assert_eq!(occupancy_class(121, 80), "severe");
        assert_eq!(occupancy_class(1, 0), "severe");
        assert_eq!(space(480_000, 80), "0.60 m²");
        assert_eq!(space(480_000, 0), "—");
        assert_eq!(percent(121, 80), "151 %");
    }
}
