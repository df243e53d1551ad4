//! The web interface: server-rendered pages (askama) in Spanish and English (Fluent), working
//! without JavaScript. Sign-in with a second factor, the facility board, the cell page and the
//! language switch. The same sessions, roles, facility scope and access log as the API; forms
//! carry the session's CSRF token.

/// Implements [`RecordPage`] for a register's page with the fields `tr`, `facility`, `done` and
/// `refusal`, its form's labels under the catalogue prefix `$fields`.
macro_rules! record_page {
    ($page:ty, $fields:literal) => {
        impl RecordPage for $page {
            const FIELDS: &'static str = $fields;
            fn tr(&self) -> &Tr {
                &self.tr
            }
            fn facility(&self) -> &str {
                &self.facility
            }
            fn done(&mut self, message: String) {
                self.done = Some(message);
            }
            fn refuse(&mut self, why: String) {
                self.refusal = Some(why);
            }
        }
    };
}

pub(crate) mod accounts;
pub(crate) mod admit;
pub(crate) mod agreements;
pub(crate) mod allocate;
pub mod charts;
pub(crate) mod counts;
pub(crate) mod death;
pub(crate) mod food;
pub(crate) mod harm;
pub mod i18n;
pub(crate) mod notify;
pub(crate) mod oversight;
pub(crate) mod person;
pub(crate) mod registers;
pub(crate) mod release;
pub(crate) mod requests;
pub(crate) mod visits;
pub(crate) mod whereabouts;

use crate::access::EVERY_FACILITY;
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::session::{end_session, CLEAR_COOKIE};
use crate::state::{blocking, AppState, Caller};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use i18n::{I18n, Lang};
use serde::Deserialize;
use std::sync::{Arc, OnceLock};

static I18N: OnceLock<Result<I18n, String>> = OnceLock::new();

fn i18n() -> Result<&'static I18n, ApiError> {
    I18N.get_or_init(I18n::load)
        .as_ref()
        .map_err(|e| ApiError::internal(format!("the interface's messages: {e}")))
}

/// The messages of one language, for a template, and the local time its times are shown in:
/// UTC unless the page is of one facility ([`Tr::at`]).
pub struct Tr {
    i18n: &'static I18n,
    lang: Lang,
    /// The page's local time, in minutes from UTC.
    offset: i32,
    /// Its name (`UTC−06:00`), which any message may use as `{ $zone }`.
    zone: String,
}

impl Tr {
    fn new(lang: Lang) -> Result<Self, ApiError> {
        Ok(Self {
            i18n: i18n()?,
            lang,
            offset: 0,
            zone: i18n::zone(0),
        })
    }
    /// The same messages, with times at `offset` minutes from UTC (a facility's local time).
    pub fn at(&self, offset: i32) -> Self {
        Self {
            i18n: self.i18n,
            lang: self.lang,
            offset,
            zone: i18n::zone(offset),
        }
    }
    pub fn lang(&self) -> &'static str {
        self.lang.code()
    }
    /// The offset from UTC the page's times are in (`UTC`, `UTC−06:00`).
    pub fn zone(&self) -> &str {
        &self.zone
    }
    /// A register time (UTC) at the page's local time, naming it.
    pub fn time(&self, iso: &str) -> String {
        i18n::date_time_at(self.lang, iso, self.offset)
    }
    /// The local date of a register time, as the language writes it (a date as it is).
    pub fn day_of(&self, iso: &str) -> String {
        i18n::date(
            self.lang,
            &i18n::wall_clock(iso, self.offset).unwrap_or_else(|| iso.to_owned()),
        )
    }
    /// The local hour and minute of a register time (`20:05`).
    pub fn hour(&self, iso: &str) -> String {
        let local = i18n::wall_clock(iso, self.offset).unwrap_or_else(|| iso.to_owned());
        local.get(11..16).unwrap_or(&local).to_owned()
    }
    /// A time typed in one of the page's forms as a register time (UTC): the wall clock at
    /// the page's local time, unless it says its own offset ([`i18n::form_time`]).
    pub fn form_time(&self, v: &str) -> String {
        i18n::form_time(v, self.offset)
    }
    /// A form's time as [`Tr::form_time`] reads it, or `now` when the field is empty.
    pub fn form_time_or(&self, v: &str, now: habeas_register::Timestamp) -> String {
        match v.trim() {
            "" => now.to_string(),
            t => self.form_time(t),
        }
    }
    pub fn t(&self, id: &str) -> String {
        self.i18n
            .message(self.lang, id, &[("zone", self.zone.clone())])
    }
    pub fn t1(&self, id: &str, k: &str, v: &str) -> String {
        self.i18n.message(
            self.lang,
            id,
            &[(k, v.to_owned()), ("zone", self.zone.clone())],
        )
    }
    /// The rule a finding cites, in the page's language (the finding's own text, in English,
    /// where the catalogue lacks its code).
    pub fn rule(&self, code: &str, english: &str) -> String {
        self.known(&format!("rule-{}", code.replace('.', "-")))
            .unwrap_or_else(|| english.to_owned())
    }

    /// A sentence of the catalogue said with its words: `<prefix>-<id>`, its times at the
    /// page's local time, its dates and counts as the language writes them, a death case's
    /// step by its name; none where the catalogue lacks it.
    fn said(&self, prefix: &str, w: &habeas_register::store::Words) -> Option<String> {
        let id = format!("{prefix}-{}", w.id);
        let args: Vec<(&str, String)> = w
            .args
            .iter()
            .map(|(k, v)| {
                let said = match *k {
                    "at" | "now" | "began" if habeas_register::Timestamp::parse(v).is_ok() => {
                        self.time(v)
                    }
                    "date" | "as_of" | "plan" if v.len() == 10 => i18n::date(self.lang, v),
                    "days" | "hours" | "minutes" | "out" | "min" | "max" | "limit" | "size"
                    | "operational" | "count" | "cap" | "rate" => v
                        .parse::<u64>()
                        .map_or_else(|_| v.clone(), |n| i18n::int(self.lang, n)),
                    "m2" | "area" | "threshold" => v.parse::<f64>().map_or_else(
                        |_| v.clone(),
                        |x| {
                            let places = v.split_once('.').map_or(0, |(_, d)| d.len());
                            i18n::decimal(self.lang, x, places)
                        },
                    ),
                    "step" => self
                        .known(&format!("death-step-{v}"))
                        .unwrap_or_else(|| v.clone()),
                    _ => v.clone(),
                };
                (*k, said)
            })
            .chain([("zone", self.zone.clone())])
            .collect();
        let said = self.i18n.message(self.lang, &id, &args);
        (said != id).then_some(said)
    }
    /// Why the domain or the writer refused, in the page's language: the refusal's words
    /// (`refusal-<id>`) where the catalogue has them, else its English sentence.
    pub fn refusal(&self, words: Option<&habeas_register::store::Words>, message: &str) -> String {
        words
            .and_then(|w| self.said("refusal", w))
            .unwrap_or_else(|| message.to_owned())
    }
    /// A finding's detail in the page's language (`finding-<id>` for each of its sentences,
    /// joined with "; "), and whether it is; else its English detail.
    pub fn finding_detail(&self, f: &habeas_core::compliance::Finding) -> (String, bool) {
        let said: Option<Vec<String>> = (!f.words.is_empty())
            .then(|| f.words.iter().map(|w| self.said("finding", w)).collect())
            .flatten();
        match said {
            Some(parts) => (parts.join("; "), true),
            None => (f.detail.clone(), false),
        }
    }
    /// A refusal of the domain as a form shows it: the field, and why in the page's language.
    pub fn refused(&self, e: habeas_core::DomainError) -> (String, String) {
        let why = self.refusal(e.words.as_ref(), &e.message);
        (e.field, why)
    }
    /// A refusal of the writer (held here, not before the custody began…) in the page's
    /// language, without its field.
    pub fn rejection(&self, r: &habeas_register::store::Rejection) -> String {
        self.refusal(r.words.as_ref(), &r.message)
    }

    /// The message `id`, if the catalogue has it.
    pub fn known(&self, id: &str) -> Option<String> {
        let m = self.t(id);
        (m != id).then_some(m)
    }
    pub fn t2(&self, id: &str, k1: &str, v1: &str, k2: &str, v2: &str) -> String {
        self.i18n.message(
            self.lang,
            id,
            &[
                (k1, v1.to_owned()),
                (k2, v2.to_owned()),
                ("zone", self.zone.clone()),
            ],
        )
    }
}

/// The signed-in user, for the page's header.
pub struct Who {
    pub username: String,
    pub role: String,
    pub csrf: String,
    /// Where the language switch comes back to.
    pub back: String,
    /// When the register's last recorded day is before today, the day the pages show instead
    /// and why (every page says it, at the top).
    pub day_note: Option<String>,
    /// The role's name in the page's language.
    pub role_label: String,
}

/// A role's name in `lang`.
fn role_label(caller: &Caller) -> String {
    Tr::new(lang_of(caller)).map_or_else(
        |_| caller.role.as_str().to_owned(),
        |tr| tr.t(&format!("role-{}", caller.role.as_str())),
    )
}

/// Who is signed in, for a page that shows no day (an error, a form).
fn who_without_day(caller: &Caller, back: &str) -> Option<Who> {
    Some(Who {
        username: caller.user.username.clone(),
        role: caller.role.as_str().to_owned(),
        csrf: caller.csrf.clone().unwrap_or_default(),
        back: back.to_owned(),
        day_note: None,
        role_label: role_label(caller),
    })
}

fn who(state: &AppState, caller: &Caller, back: &str) -> Option<Who> {
    who_at(state, caller, back, 0)
}

/// Who is signed in, on a page of a facility `offset` minutes from UTC: the day note, when
/// there is one, names that facility's local days.
fn who_at(state: &AppState, caller: &Caller, back: &str, offset: i32) -> Option<Who> {
    let d = state.default_day_at(offset);
    let day_note = d
        .earlier()
        .then(|| {
            Tr::new(lang_of(caller)).ok().map(|tr| {
                tr.t2(
                    "day-note",
                    "day",
                    &d.day.to_string(),
                    "today",
                    &d.today.to_string(),
                )
            })
        })
        .flatten();
    Some(Who {
        username: caller.user.username.clone(),
        role: caller.role.as_str().to_owned(),
        csrf: caller.csrf.clone().unwrap_or_default(),
        back: back.to_owned(),
        day_note,
        role_label: role_label(caller),
    })
}

fn lang_of(caller: &Caller) -> Lang {
    Lang::parse(&caller.user.language).unwrap_or(Lang::Es)
}

/// The caller's messages on a page of `facility`: its times at the facility's local time.
fn local_tr(state: &AppState, caller: &Caller, facility: &str) -> ApiResult<Tr> {
    Ok(Tr::new(lang_of(caller))?.at(state.utc_offset(facility)?))
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
                    who: who_without_day(caller, "/ui/board"),
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

/// A page's work, on the blocking pool, for a signed-in caller (anyone else is led to the
/// sign-in page); an error becomes its own answer.
async fn signed_in(
    state: Arc<AppState>,
    headers: HeaderMap,
    work: impl FnOnce(&AppState, Caller) -> ApiResult<Response> + Send + 'static,
) -> Response {
    blocking(move || match page_caller(&state, &headers) {
        Some(caller) => work(&state, caller),
        None => to_sign_in(),
    })
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// Appends one checked draft and waits for its commit: `Ok(Ok(index))` when recorded,
/// `Ok(Err(refusal))` when the projections refuse it (nothing written), `Err(answer)` when
/// nothing can be recorded at all.
async fn commit(
    state: &AppState,
    draft: habeas_register::Draft,
) -> Result<Result<u64, habeas_register::store::Rejection>, Response> {
    let Some(register) = state.register.as_ref() else {
        return Err(ApiError::internal("this server does not write the register").into_response());
    };
    let (actor, facility, action) = (
        draft.actor.clone(),
        draft.facility.clone(),
        format!("write {}", draft.kind),
    );
    match crate::state::durable(register, vec![draft]).await {
        Ok(receipts) => Ok(Ok(receipts.first().map_or(0, |r| r.index))),
        Err(habeas_register::store::AppendError::Rejected(r)) => {
            // An object the facility does not hold (or that does not exist): the page says
            // so as for any refusal, and the access log keeps it as a refused authorization.
            if r.code == habeas_store_sqlite::NOT_HELD_HERE {
                let username = actor.strip_prefix("user:").unwrap_or(&actor);
                state
                    .log_async(&[crate::access::Event::Refused {
                        username,
                        facility: &facility,
                        action: &action,
                        reason: &r.message,
                    }])
                    .await
                    .map_err(IntoResponse::into_response)?;
            }
            Ok(Err(r))
        }
        Err(habeas_register::store::AppendError::Store(e)) => {
            Err(ApiError::internal(format!("nothing was recorded: {e}")).into_response())
        }
    }
}

/// The caller of a form that records something for `facility`: signed in, with the session's
/// CSRF token, in one of `roles`, working in that facility. Otherwise the answer to give
/// (the sign-in page, or a refusal, logged).
fn form_writer(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    roles: &[Role],
    facility: &str,
    action: &str,
) -> ApiResult<Result<Caller, Response>> {
    let Some(caller) = page_caller(state, headers) else {
        return to_sign_in().map(Err);
    };
    let refused = check_form(state, &caller, csrf, action)
        .or_else(|| only(state, &caller, roles, action))
        .or_else(|| scoped(state, &caller, facility, action));
    Ok(match refused {
        Some(r) => Err(r),
        None => Ok(caller),
    })
}

/// A register's page that shows a refusal beside its form (the visit and food registers).
trait RecordPage: Template + Send + 'static {
    /// The catalogue prefix of the form's field labels (`visits-field`).
    const FIELDS: &'static str;
    fn tr(&self) -> &Tr;
    /// The facility the page is of.
    fn facility(&self) -> &str;
    /// Shows what was just recorded.
    fn done(&mut self, message: String);
    /// Shows why the form's record was refused.
    fn refuse(&mut self, why: String);
}

/// The facility a register's page shows a caller of one of `readers`: the one asked for (in
/// the caller's scope) and those it may choose from; else the answer, a refusal, logged.
fn register_facility(
    state: &AppState,
    caller: &Caller,
    readers: &[Role],
    asked: Option<String>,
    action: &str,
) -> ApiResult<Result<(String, Vec<String>), Response>> {
    if let Some(r) = only(state, caller, readers, action) {
        return Ok(Err(r));
    }
    page_facility(state, caller, asked, action)
}

/// How a register's page is made for a caller and the facility asked for: the page, or the
/// answer to give instead (a refusal, logged).
type RegisterView<P> = fn(&AppState, &Caller, Option<String>) -> ApiResult<Result<P, Response>>;

/// A register's page (`view` of the facility asked for), saying so when the address names the
/// entry just recorded (the message `done`, with `entry`).
async fn record_page_get<P: RecordPage>(
    state: Arc<AppState>,
    headers: HeaderMap,
    (facility, recorded): (Option<String>, Option<u64>),
    view: RegisterView<P>,
    done: &'static str,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        match view(state, &caller, facility)? {
            Ok(mut p) => {
                if let Some(e) = recorded {
                    let message = p.tr().t1(done, "entry", &e.to_string());
                    p.done(message);
                }
                Ok(html(StatusCode::OK, &p))
            }
            Err(r) => Ok(r),
        }
    })
    .await
}

/// The post of a register's form that records one entry for `facility`: the caller checked as
/// one of `staff` writing for it (else refused, logged); the page made again by `view`; the
/// form's record made and checked by `check` (a refusal, `Err((field, message))`, shown beside
/// the form with the field's label — a list's line by its list's: 400); then committed (a
/// refusal of the records: 422), and the register shown again with the entry,
/// post-redirect-get (`{path}?facility=F&recorded=N`).
async fn record_form<P: RecordPage>(
    state: Arc<AppState>,
    headers: HeaderMap,
    (csrf, facility): (String, String),
    staff: &'static [Role],
    (action, path): (&'static str, &'static str),
    view: RegisterView<P>,
    check: impl FnOnce(
            &AppState,
            &Caller,
            &P,
        ) -> ApiResult<Result<habeas_register::Draft, (String, String)>>
        + Send
        + 'static,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let caller = match form_writer(&state, &headers, &csrf, staff, &facility, action)? {
            Ok(c) => c,
            Err(r) => return Ok((r, None)),
        };
        let mut page = match view(&state, &caller, Some(facility))? {
            Ok(p) => p,
            Err(r) => return Ok((r, None)),
        };
        match check(&state, &caller, &page)? {
            Ok(draft) => Ok((Response::default(), Some((page, draft)))),
            Err((field, message)) => {
                let list = field.split('[').next().unwrap_or(&field);
                let label = page
                    .tr()
                    .known(&format!("{}-{list}", P::FIELDS))
                    .unwrap_or_else(|| list.to_owned());
                page.refuse(format!("{label}: {message}"));
                Ok((html(StatusCode::BAD_REQUEST, &page), None))
            }
        }
    })
    .await;
    let (mut page, draft) = match outcome {
        Err(e) => return e.into_response(),
        Ok((r, None)) => return r,
        Ok((_, Some(parts))) => parts,
    };
    match commit(&shared, draft).await {
        Ok(Ok(entry)) => Redirect::to(&format!(
            "{path}?facility={}&recorded={entry}",
            page.facility()
        ))
        .into_response(),
        Ok(Err(r)) => {
            let why = page.tr().rejection(&r);
            page.refuse(format!("{}: {why}", r.field.unwrap_or_default()));
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(r) => r,
    }
}

/// An open custody as a page of the person's file that records something about it shows it
/// (Rule 68, serious harm).
struct OpenCustody {
    file: habeas_store_sqlite::PersonFile,
    custody: habeas_store_sqlite::CustodyRow,
    /// The caller's messages at the facility's local time.
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    /// Who the person is, under which booking, where.
    subject: String,
}

/// The open custody `booking`, for the page at `path`: the caller in one of `roles` and
/// working in the facility that holds the person — never one a form names —; else the answer
/// (a refusal, logged, or not found).
fn open_custody(
    state: &AppState,
    caller: &Caller,
    (booking, path): (u64, &str),
    roles: &[Role],
    action: &str,
) -> ApiResult<Result<OpenCustody, Response>> {
    custody_page(state, caller, (booking, path, false), roles, action)
}

/// As [`open_custody`], and with `ended_too` a custody that has ended as well (its cases
/// still take steps at the facility where it ended).
fn custody_page(
    state: &AppState,
    caller: &Caller,
    (booking, path, ended_too): (u64, &str, bool),
    roles: &[Role],
    action: &str,
) -> ApiResult<Result<OpenCustody, Response>> {
    if let Some(r) = only(state, caller, roles, action) {
        return Ok(Err(r));
    }
    let file = match state.store.person_of(booking)? {
        Some(p) => state.store.person_file(p)?,
        None => None,
    };
    let Some((file, custody)) = file.and_then(|f| {
        let c = f
            .custodies
            .iter()
            .find(|c| c.booking == booking && (ended_too || c.ended_by.is_none()))?
            .clone();
        Some((f, c))
    }) else {
        return Ok(Err(error_page(
            StatusCode::NOT_FOUND,
            caller,
            "error-not-found",
        )));
    };
    if let Some(r) = scoped(state, caller, &custody.facility, action) {
        return Ok(Err(r));
    }
    let tr = local_tr(state, caller, &custody.facility)?;
    let subject = tr.i18n.message(
        tr.lang,
        "allocate-subject",
        &[
            ("name", format!("{} {}", file.given_names, file.surnames)),
            ("booking", booking.to_string()),
            ("facility", custody.facility.clone()),
        ],
    );
    Ok(Ok(OpenCustody {
        who: who_at(
            state,
            caller,
            &format!("{path}?booking={booking}"),
            tr.offset,
        ),
        csrf: caller.csrf.clone().unwrap_or_default(),
        file,
        custody,
        tr,
        subject,
    }))
}

/// What a file page says of its last form: what was recorded, or why it was refused.
#[derive(Debug, Default)]
pub struct Said {
    pub done: Option<String>,
    pub refusal: Option<String>,
}

/// A page of a person's file whose forms each record one entry about a custody, as
/// `POST /api/records` takes it (Rule 68, serious harm), or as the API's own route for it takes
/// it (a release, a transfer, a death).
pub(crate) trait FilePage: Template + Send + 'static {
    /// The page's messages begin with it: `<PREFIX>-refused` says why a form was refused
    /// (with `reason`), `<PREFIX>-<field>` names a field.
    const PREFIX: &'static str;
    fn tr(&self) -> &Tr;
    /// What the page says of its last form.
    fn said(&mut self) -> &mut Said;
    /// The entry the page's form describes (its times read at the page's local time), checked
    /// as the API checks it, or the field it lacks and why.
    fn draft(
        &self,
        now: habeas_register::Timestamp,
        actor: &habeas_core::ids::Actor,
    ) -> Result<habeas_register::Draft, (String, String)>;
    /// A field of the page's forms by its label in the reader's language (`<PREFIX>-<field>`,
    /// or the field's name).
    fn label(&self, field: &str) -> String {
        let key = match field {
            "witnessed_by" => "witness",
            other => other,
        };
        self.tr()
            .known(&format!("{}-{key}", Self::PREFIX))
            .unwrap_or_else(|| field.to_owned())
    }
    /// The message that says what the form recorded (with `entry`).
    fn recorded(&self) -> &'static str;
    /// Shows why the form's record was refused (`reason`: the field's label and the why).
    fn refuse(&mut self, reason: &str) {
        let message = self
            .tr()
            .t1(&format!("{}-refused", Self::PREFIX), "reason", reason);
        self.said().refusal = Some(message);
    }
}

/// A file page's form: the page it belongs to and how that page is made, its booking, its
/// CSRF token and the action it is logged as. Empty but for the booking, it is the page as
/// first shown, and as shown again once it has recorded.
pub(crate) trait FileForm: Default + serde::de::DeserializeOwned + Send + 'static {
    type Page: FilePage;
    const VIEW: FileView<Self::Page, Self>;
    /// The form empty but for `booking`.
    fn of_booking(booking: u64) -> Self;
    fn booking(&self) -> u64;
    fn csrf(&self) -> String;
    fn action(&self) -> &'static str;
}

/// The query of a page about one custody: `?booking=N`.
#[derive(Debug, Deserialize)]
pub(crate) struct BookingQuery {
    pub(crate) booking: u64,
}

/// `GET` of a file page (`?booking=N`).
pub(crate) async fn file_page<F: FileForm>(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BookingQuery>,
    headers: HeaderMap,
) -> Response {
    file_page_get(state, headers, F::of_booking(q.booking), F::VIEW).await
}

/// `POST` of a file page's form.
pub(crate) async fn file_post<F: FileForm>(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<F>,
) -> Response {
    file_form(state, headers, form, F::VIEW).await
}

/// The entry of a record as `POST /api/records` takes it (`record`, or the field it lacks and
/// why), checked as that route checks it.
fn record_draft(
    tr: &Tr,
    record: Result<serde_json::Value, (String, String)>,
    now: habeas_register::Timestamp,
    actor: &habeas_core::ids::Actor,
) -> Result<habeas_register::Draft, (String, String)> {
    record
        .and_then(|r| {
            serde_json::from_value::<habeas_core::record::RecordInput>(r)
                .map_err(|e| ("form".to_owned(), e.to_string()))
        })
        .and_then(|input| input.validate(now, actor).map_err(|e| tr.refused(e)))
}

/// How a file's page is made for a caller and what its form sent: the page, or the answer to
/// give instead (a refusal, logged, or not found).
pub(crate) type FileView<P, F> = fn(&AppState, &Caller, F) -> ApiResult<Result<P, Response>>;

/// A file page as first shown, for `blank` (its form empty but for the booking).
async fn file_page_get<P: FilePage, F: Send + 'static>(
    state: Arc<AppState>,
    headers: HeaderMap,
    blank: F,
    view: FileView<P, F>,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        Ok(match view(state, &caller, blank)? {
            Ok(page) => html(StatusCode::OK, &page),
            Err(r) => r,
        })
    })
    .await
}

/// The post of a file page's form: the CSRF token checked; the page made by `view` for the
/// form (which checks the caller against the facility holding the person); the form's record
/// checked as `POST /api/records` checks it (a refusal names the field by its label: 400,
/// nothing written); committed (a refusal of the records: 422); then the page made again, for
/// `blank`, saying what was recorded (201).
async fn file_form<P: FilePage, F: FileForm>(
    state: Arc<AppState>,
    headers: HeaderMap,
    form: F,
    view: FileView<P, F>,
) -> Response {
    let (csrf, action, blank) = (form.csrf(), form.action(), F::of_booking(form.booking()));
    let shared = state.clone();
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(Err);
        };
        if let Some(r) = check_form(&state, &caller, &csrf, action) {
            return Ok(Err(r));
        }
        let mut page = match view(&state, &caller, form)? {
            Ok(p) => p,
            Err(r) => return Ok(Err(r)),
        };
        let now = state.clock.now();
        let actor = crate::api::actor(&caller)?;
        match page.draft(now, &actor) {
            Ok(d) => Ok(Ok((caller, page, d))),
            Err((field, message)) => {
                let why = format!("{}: {message}", page.label(&field));
                page.refuse(&why);
                Ok(Err(html(StatusCode::BAD_REQUEST, &page)))
            }
        }
    })
    .await;
    let (caller, mut page, draft) = match outcome {
        Err(e) => return e.into_response(),
        Ok(Err(r)) => return r,
        Ok(Ok(parts)) => parts,
    };
    // The writer checks it against the records (held here, not before the custody began…).
    match commit(&shared, draft).await {
        Ok(Ok(entry)) => {
            let recorded = page.recorded();
            blocking(move || {
                Ok(match view(&shared, &caller, blank)? {
                    Ok(mut p) => {
                        let message = p.tr().t1(recorded, "entry", &entry.to_string());
                        p.said().done = Some(message);
                        html(StatusCode::CREATED, &p)
                    }
                    Err(r) => r,
                })
            })
            .await
            .unwrap_or_else(IntoResponse::into_response)
        }
        Ok(Err(r)) => {
            let said = page.tr().rejection(&r);
            let why = match &r.field {
                Some(field) => format!("{}: {said}", page.label(field)),
                None => said,
            };
            page.refuse(&why);
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(answer) => answer,
    }
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

pub(crate) async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../templates/ui/style.css"),
    )
        .into_response()
}

/// The answer checker (`/verify`): a public page that checks a whereabouts answer file in the
/// browser, with nothing sent to the server (static/verify.html and verify.js).
pub(crate) async fn verify_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../static/verify.html"),
    )
        .into_response()
}

pub(crate) async fn verify_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../static/verify.js"),
    )
        .into_response()
}

/// htmx (static/README.md), for partial updates of the filter forms and search.
pub(crate) async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        include_str!("../static/htmx.min.js"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "ui/sign_in.html")]
struct SignInPage {
    tr: Tr,
    who: Option<Who>,
    error: Option<String>,
    username: String,
    /// The language was chosen on this page (a link), not taken from the browser: signing in
    /// keeps it, for the account too.
    chosen: bool,
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

pub(crate) async fn sign_in_page(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    match Tr::new(page_lang(&q, &headers)) {
        Ok(tr) => html(
            StatusCode::OK,
            &SignInPage {
                tr,
                who: None,
                error: None,
                username: String::new(),
                chosen: q.lang.as_deref().and_then(Lang::parse).is_some(),
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
    /// Set when the page's language was chosen on it.
    #[serde(default)]
    chosen: Option<String>,
}

pub(crate) async fn sign_in_form(
    State(state): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    peer: Result<
        axum::extract::ConnectInfo<std::net::SocketAddr>,
        axum::extract::rejection::ExtensionRejection,
    >,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let lang = page_lang(&q, &headers);
    let tr = match Tr::new(lang) {
        Ok(tr) => tr,
        Err(e) => return e.into_response(),
    };
    let chosen = form.chosen.is_some();
    let accounts = state.accounts.clone();
    let again = |tr: Tr, message_id: &str, username: String| {
        let error = Some(tr.t(message_id));
        html(
            StatusCode::UNAUTHORIZED,
            &SignInPage {
                tr,
                who: None,
                error,
                username,
                chosen,
            },
        )
    };
    if form.username.trim().is_empty() || form.password.is_empty() {
        return again(tr, "sign-in-fields", form.username);
    }
    let username = form.username.clone();
    // Under the same limits as the API's sign-in.
    let code = Some(form.code.trim().to_owned()).filter(|c| !c.is_empty());
    let outcome = crate::session::sign_in_limited(
        state,
        peer.ok().map(|axum::extract::ConnectInfo(a)| a),
        &headers,
        form.username.trim().to_owned(),
        form.password,
        code,
        "web",
    )
    .await;
    match outcome {
        Ok((_, cookie, _)) => {
            // A language chosen on the sign-in page is the one the pages go on in: the account
            // keeps it (as the language switch would), rather than its earlier one silently.
            if chosen {
                let name = username.trim().to_owned();
                let code = lang.code();
                let _ =
                    tokio::task::spawn_blocking(move || accounts.set_language(&name, code)).await;
            }
            let mut res = Redirect::to("/ui/board").into_response();
            match HeaderValue::from_str(&cookie) {
                Ok(v) => {
                    res.headers_mut().insert(header::SET_COOKIE, v);
                    res
                }
                Err(e) => ApiError::internal(e).into_response(),
            }
        }
        // One message for every failed sign-in, as the API's one answer.
        Err(e) if e.code() == "bad_credentials" => again(tr, "sign-in-bad", username),
        Err(e) if e.code() == "too_many_attempts" => {
            let retry = e.retry_after_secs();
            let mut res = again(tr, "sign-in-busy", username);
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            if let Some(secs) = retry {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            res
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn sign_out_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    // The session the cookie names is the one ended.
    let cookie = headers.clone();
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = check_form(state, &caller, &form.csrf, "sign out") {
            return Ok(r);
        }
        end_session(state, &cookie)?;
        let mut res = Redirect::to("/ui/sign-in").into_response();
        res.headers_mut()
            .insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
        Ok(res)
    })
    .await
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

pub(crate) async fn language_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<LanguageForm>,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = check_form(state, &caller, &form.csrf, "change language") {
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
    .await
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
    /// People held in no cell: admitted and not yet allocated, counted all the same.
    in_no_cell: String,
    unplaced: Vec<BoardUnplaced>,
    /// Not zero only when the cells and the custodies disagree.
    unreconciled: i64,
    /// People held pending an order: a grave finding each, on the board from the first minute.
    pending_order: Vec<BoardUnplaced>,
    /// People refused at the gate in the last 30 days: never admitted, never unrecorded.
    refused_at_gate: Vec<habeas_store_sqlite::GateRefusal>,
}

struct BoardUnplaced {
    booking: u64,
    href: String,
    admitted_at: String,
}

impl BoardUnplaced {
    fn of(tr: &Tr, u: habeas_store_sqlite::Unplaced) -> Self {
        Self {
            booking: u.booking,
            href: format!("/ui/persons/{}", u.person),
            admitted_at: tr.time(&u.admitted_at),
        }
    }
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
fn space(lang: Lang, area_cm2: u64, people: u64) -> String {
    if people == 0 {
        "—".to_owned()
    } else {
        format!(
            "{} m²",
            i18n::decimal(lang, area_cm2 as f64 / 10_000.0 / people as f64, 2)
        )
    }
}

fn percent(lang: Lang, part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!(
            "{} %",
            i18n::decimal(lang, part as f64 * 100.0 / whole as f64, 0)
        )
    }
}

/// Who may see the board and the cells: everyone who works with records (not administrators,
/// who manage accounts, nor courts and the ombudsman, who ask where a person is).
fn records_reader(state: &AppState, caller: &Caller, action: &str) -> Option<Response> {
    let reason = if caller.role == Role::Administrator {
        "administrators manage accounts, not records"
    } else if caller.role.asks_whereabouts() {
        "courts and the ombudsman ask where a person is, not for the records"
    } else {
        return None;
    };
    if let Err(e) = state.refuse(caller, EVERY_FACILITY, action, reason) {
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

/// The facility a page is about — the one asked for, else the caller's first — and every
/// facility the caller may choose; outside the caller's facilities, the refusal (logged).
fn page_facility(
    state: &AppState,
    caller: &Caller,
    asked: Option<String>,
    action: &str,
) -> ApiResult<Result<(String, Vec<String>), Response>> {
    let facilities: Vec<String> = if caller.role.scoped() {
        caller.user.facilities.clone()
    } else {
        state.store.facility_codes()?
    };
    let Some(facility) = asked
        .filter(|f| !f.is_empty())
        .or_else(|| facilities.first().cloned())
    else {
        return Ok(Err(error_page(
            StatusCode::NOT_FOUND,
            caller,
            "error-not-found",
        )));
    };
    if let Some(r) = scoped(state, caller, &facility, action) {
        return Ok(Err(r));
    }
    Ok(Ok((facility, facilities)))
}

/// The day a report is as of: the one asked for (`as_of`), else today at `offset` minutes
/// from UTC (the facility's local day), or the register's last recorded day when that is
/// earlier (the page says so at the top).
fn as_of_day(
    state: &AppState,
    asked: Option<&str>,
    offset: i32,
) -> ApiResult<habeas_core::dates::Date> {
    match asked {
        Some(d) => habeas_core::dates::Date::parse("as_of", d)
            .map_err(|e| ApiError::bad_request("invalid_field", e.message).field("as_of")),
        None => Ok(state.default_day_at(offset).day),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct BoardQuery {
    facility: Option<String>,
}

pub(crate) async fn board(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BoardQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        // An administrator keeps accounts, not records: their page is the accounts'.
        if caller.role == Role::Administrator {
            return Ok(Redirect::to("/ui/accounts").into_response());
        }
        // A court or the ombudsman asks where a person is: their page is that question.
        if caller.role.asks_whereabouts() {
            return Ok(Redirect::to("/ui/whereabouts").into_response());
        }
        if let Some(r) = records_reader(state, &caller, "read the facility board") {
            return Ok(r);
        }
        let (facility, facilities) =
            match page_facility(state, &caller, q.facility, "read the facility board")? {
                Ok(f) => f,
                Err(r) => return Ok(r),
            };
        let Some(row) = state.store.facility(&facility)? else {
            return Ok(error_page(
                StatusCode::NOT_FOUND,
                &caller,
                "error-not-found",
            ));
        };
        let tr = Tr::new(lang_of(&caller))?.at(row.utc_offset_minutes);
        let cells = state.store.cells(Some(&facility))?;
        // Each cell's title: the message formatted once with markers, filled per cell (a
        // Fluent formatting per cell was most of the page's time).
        let cell_title = tr.i18n.message(
            tr.lang,
            "board-cell-title",
            &["cell", "population", "cna", "space"].map(|k| (k, format!("\u{1}{k}"))),
        );
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
                        space(tr.lang, c.area_cm2, c.population)
                    },
                    population: i18n::int(tr.lang, c.population),
                    cna: i18n::int(tr.lang, c.cna),
                    class: occupancy_class(c.population, c.cna),
                    href: format!("/ui/cells/{facility}/{}", c.code),
                    title: cell_title
                        .replace("\u{1}cell", &c.code)
                        .replace("\u{1}population", &i18n::int(tr.lang, c.population))
                        .replace("\u{1}cna", &i18n::int(tr.lang, c.cna))
                        .replace("\u{1}space", &space(tr.lang, c.area_cm2, c.population)),
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
                i18n::int(tr.lang, pop),
                i18n::int(tr.lang, cap),
                percent(tr.lang, pop, cap)
            );
        }
        // One head count everywhere: every open custody, in a cell or in none.
        let head = state.store.head_counts(Some(&facility))?.pop();
        let (held, unplaced, unreconciled, pending_order) = match head {
            Some(h) => (h.held, h.not_in_a_cell, h.unreconciled, h.pending_order),
            None => (held, Vec::new(), 0, Vec::new()),
        };
        let month_ago = habeas_register::Timestamp(
            state
                .default_day_at(tr.offset)
                .day
                .plus_days(1)
                .start()
                .millis()
                - 30 * 86_400_000
                - i64::from(tr.offset) * 60_000,
        );
        let refused_at_gate = state
            .store
            .gate_refusals(&facility, &month_ago.to_string())?
            .into_iter()
            .map(|g| habeas_store_sqlite::GateRefusal {
                at: tr.time(&g.at),
                ..g
            })
            .collect();
        let page = BoardPage {
            refused_at_gate,
            in_no_cell: i18n::int(tr.lang, unplaced.len() as u64),
            unplaced: unplaced
                .into_iter()
                .map(|u| BoardUnplaced::of(&tr, u))
                .collect(),
            unreconciled,
            pending_order: pending_order
                .into_iter()
                .map(|u| BoardUnplaced::of(&tr, u))
                .collect(),
            title: tr.t1(
                "board-title",
                "facility",
                &format!("{} ({})", row.name, row.code),
            ),
            who: who_at(
                state,
                &caller,
                &format!("/ui/board?facility={facility}"),
                tr.offset,
            ),
            held: i18n::int(tr.lang, held),
            cna: i18n::int(tr.lang, cna),
            occupancy: percent(tr.lang, held, cna),
            space: space(tr.lang, area, held),
            cell_count: i18n::int(tr.lang, cells.len() as u64),
            facility,
            facilities,
            units,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await
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

/// A reading's value kept in tenths (°C, %), in the reader's way, or a dash.
fn tenths(lang: i18n::Lang, v: Option<i64>, unit: &str) -> String {
    v.map_or("—".to_owned(), |t| {
        format!("{} {unit}", i18n::decimal(lang, t as f64 / 10.0, 1))
    })
}

pub struct ReadingLine {
    pub at: String,
    pub temperature: String,
    pub humidity: String,
    pub heat_index: String,
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
    /// The page with the cell's findings.
    findings_href: String,
    /// On asking (`?findings=true`): the cell's findings of the day shown, each with its code,
    /// rule, severity, detail, and whether the detail is in the page's language.
    findings: Option<Vec<CellFinding>>,
}

/// A cell's finding as its page lists it: code, rule, severity, detail, and whether the detail
/// is in the page's language.
type CellFinding = (String, String, String, String, bool);

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CellQuery {
    /// Also the cell's findings (space, capacity, light, window, sanitation…).
    #[serde(default)]
    findings: bool,
}

pub(crate) async fn cell_page(
    State(state): State<Arc<AppState>>,
    Path((facility, cell)): Path<(String, String)>,
    Query(q): Query<CellQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = records_reader(state, &caller, "read a cell") {
            return Ok(r);
        }
        if let Some(r) = scoped(state, &caller, &facility, "read a cell") {
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
        let tr = local_tr(state, &caller, &facility)?;
        let day = state.default_day_at(tr.offset).day;
        let today = day.to_string();
        let view = local_cell_view(state, (&facility, &cell), day, tr.offset, 12)?;
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
                since: o.since.as_deref().map_or("—".to_owned(), |s| tr.time(s)),
            })
            .collect();
        let movements = view
            .movements
            .iter()
            .map(|m| MovementLine {
                at: tr.hour(&m.at),
                kind: tr.t(&format!("movement-{}", m.kind)),
                people: i18n::int(tr.lang, m.people),
                open_air: yes_no(m.open_air),
            })
            .collect();
        let readings = view
            .readings
            .iter()
            .map(|r| ReadingLine {
                at: tr.time(&r.at),
                temperature: tenths(tr.lang, r.temperature_dc, "°C"),
                humidity: tenths(tr.lang, r.humidity_permille, "%"),
                heat_index: tenths(tr.lang, r.heat_index_dc, "°C"),
                lighting: on_off(r.lighting_on),
                ventilation: on_off(r.ventilation_on),
            })
            .collect();
        // The cell's findings, on asking: the facility's evaluation of the day (kept, made
        // again at most once a minute as the register grows), this cell's.
        let findings = if q.findings {
            let evaluation = state
                .evaluations
                .get(&state.store, &*state.clock, Some(&facility), day)?;
            Some(
                evaluation
                    .findings
                    .iter()
                    .filter(|f| {
                        matches!(&f.subject, habeas_core::compliance::Subject::Cell { facility: of, cell: c }
                            if *of == facility && *c == cell)
                    })
                    .map(|f| {
                        let (detail, translated) = tr.finding_detail(f);
                        (
                            f.code.to_owned(),
                            tr.rule(f.code, f.rule),
                            tr.t(&format!("sev-{}", f.severity.as_str())),
                            detail,
                            translated,
                        )
                    })
                    .collect(),
            )
        } else {
            None
        };
        let page = CellPage {
            findings_href: format!("/ui/cells/{facility}/{cell}?findings=true#findings"),
            findings,
            title: tr.t2("cell-title", "cell", &cell, "facility", &facility),
            who: who_at(
                state,
                &caller,
                &format!("/ui/cells/{facility}/{cell}"),
                tr.offset,
            ),
            area: format!(
                "{} m²",
                i18n::decimal(tr.lang, row.area_cm2 as f64 / 10_000.0, 1)
            ),
            capacity: format!(
                "{} / {}",
                i18n::int(tr.lang, row.cna),
                i18n::int(tr.lang, row.operational_capacity)
            ),
            held: i18n::int(tr.lang, row.population),
            space: space(tr.lang, row.area_cm2, row.population),
            people,
            movements_title: tr.t1("cell-movements", "day", &i18n::date(tr.lang, &today)),
            movements,
            readings,
            facility,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await
}

/// A cell's view on `day`, a local day of a facility `offset` minutes from UTC: the store's
/// view of the UTC days that day spans, with the movements of the local day only.
fn local_cell_view(
    state: &AppState,
    (facility, cell): (&str, &str),
    day: habeas_core::dates::Date,
    offset: i32,
    readings: u32,
) -> ApiResult<habeas_store_sqlite::CellView> {
    let mut view = state
        .store
        .cell_view(facility, cell, &day.to_string(), readings)?;
    if offset == 0 {
        return Ok(view);
    }
    let other = day.plus_days(if offset < 0 { 1 } else { -1 });
    let more = state
        .store
        .cell_view(facility, cell, &other.to_string(), 0)?;
    let local_day = day.to_string();
    view.movements.extend(more.movements);
    view.movements
        .retain(|m| i18n::wall_clock(&m.at, offset).is_some_and(|w| w.starts_with(&local_day)));
    view.movements.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(view)
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

/// A payload's fields in one line, in the reader's language and `tr`'s local time:
/// `field: value; …`.
fn details(payload: &serde_json::Value, tr: &Tr) -> String {
    detail_value(payload, tr, 0, None)
}

/// What an entry of a person's file says, as one sentence in the reader's language (the
/// message `sentence-<kind>` with the payload's main fields as its arguments), or `None` for a
/// kind without one. The payload's every field stays readable beside it ([`details`]).
fn sentence(tr: &Tr, kind: &str, facility: &str, p: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let text = |v: &Value, key: &str| -> String {
        match v {
            Value::Null => "—".to_owned(),
            Value::Array(items) if items.is_empty() => "—".to_owned(),
            other => {
                let shown = detail_value(other, tr, 1, Some(key));
                if shown.is_empty() {
                    "—".to_owned()
                } else {
                    shown
                }
            }
        }
    };
    let field = |key: &str| text(&p[key], key);
    let (id, args): (&str, Vec<(&str, String)>) = match kind {
        habeas_core::kinds::ADMITTED => (
            "sentence-admitted",
            vec![
                ("facility", facility.to_owned()),
                ("at", field("admitted_at")),
                ("status", field("legal_status")),
                ("arrest_at", text(&p["arrest"]["at"], "at")),
                ("arrest_place", text(&p["arrest"]["place"], "place")),
                (
                    "arrest_authority",
                    text(&p["arrest"]["authority"], "authority"),
                ),
            ],
        ),
        habeas_core::kinds::ALLOCATED => ("sentence-allocated", vec![("cell", field("cell"))]),
        habeas_core::kinds::MOVEMENT => (
            "sentence-movement",
            vec![
                ("kind", text(&p["kind"], "kind")),
                ("at", field("at")),
                (
                    "where",
                    if p["open_air"] == true {
                        tr.t("field-open_air")
                    } else {
                        field("destination")
                    },
                ),
            ],
        ),
        habeas_core::kinds::ORDER => (
            "sentence-order",
            vec![
                ("kind", text(&p["order"]["kind"], "kind")),
                ("authority", text(&p["order"]["authority"], "authority")),
                ("reference", text(&p["order"]["reference"], "reference")),
                ("issued", text(&p["order"]["issued"], "issued")),
                ("expires", text(&p["order"]["expires"], "expires")),
                ("status", field("legal_status")),
            ],
        ),
        habeas_core::kinds::RELEASED => (
            if p["reason"] == "escape" {
                "sentence-escaped"
            } else {
                "sentence-released"
            },
            vec![
                ("at", field("at")),
                ("reason", field("reason")),
                ("authority", field("authority")),
                ("reference", field("reference")),
            ],
        ),
        habeas_core::kinds::TRANSFERRED => (
            "sentence-transferred",
            vec![
                ("to", field("to")),
                ("at", field("at")),
                ("authority", field("authority")),
                ("reference", field("reference")),
            ],
        ),
        habeas_core::kinds::DEATH => (
            "sentence-death",
            vec![
                ("at", field("at")),
                ("place", field("place")),
                ("circumstances", field("circumstances")),
            ],
        ),
        habeas_core::kinds::HEARING => (
            "sentence-hearing",
            vec![
                ("mode", field("mode")),
                ("court", field("court")),
                ("at", field("at")),
                ("heard", field("people_heard")),
                ("counsel", field("counsel")),
                ("outcome", field("outcome")),
            ],
        ),
        habeas_core::kinds::REVIEW => (
            "sentence-review",
            vec![
                ("authority", field("authority")),
                ("at", field("at")),
                ("outcome", field("outcome")),
            ],
        ),
        habeas_core::kinds::CHARGE => (
            "sentence-charge",
            vec![
                ("offence", field("offence")),
                ("provision", field("provision")),
                ("date", field("date")),
            ],
        ),
        habeas_core::kinds::CONTACT => (
            "sentence-contact",
            vec![
                ("kind", field("kind")),
                ("party", field("party")),
                ("with", field("with")),
                ("at", field("at")),
                ("minutes", field("minutes")),
            ],
        ),
        habeas_core::kinds::NOTIFICATION_DECLINED => (
            "sentence-notification-declined",
            vec![
                ("at", field("at")),
                ("statement", field("statement")),
                ("witness", field("witnessed_by")),
            ],
        ),
        habeas_core::kinds::CONTACT_REQUEST => (
            "sentence-contact-request",
            vec![
                ("kind", field("kind")),
                ("party", field("party")),
                ("at", field("at")),
                ("granted", field("granted")),
                ("reason", text(&p["reason"], "free")),
            ],
        ),
        habeas_core::kinds::COMPLAINT => (
            "sentence-complaint",
            vec![
                ("subject", field("subject")),
                ("at", field("at")),
                ("due", field("reply_due")),
            ],
        ),
        habeas_core::kinds::COMPLAINT_REPLY => (
            "sentence-complaint-reply",
            vec![("at", field("at")), ("reply", field("reply"))],
        ),
        habeas_core::kinds::COMPLAINT_REFERRAL => (
            "sentence-complaint-referral",
            vec![("authority", field("authority")), ("at", field("at"))],
        ),
        habeas_core::kinds::INCIDENT => (
            "sentence-incident",
            vec![
                ("place", field("place")),
                ("at", field("at")),
                ("description", field("description")),
                ("force", field("force_used")),
            ],
        ),
        habeas_core::kinds::SANCTION => (
            "sentence-sanction",
            vec![
                ("sanction", field("sanction")),
                ("offence", field("offence")),
                ("at", field("at")),
                ("authority", field("authority")),
            ],
        ),
        habeas_core::kinds::PROGRAMME => (
            "sentence-programme",
            vec![
                ("programme", field("programme")),
                ("at", field("at")),
                ("minutes", field("minutes")),
            ],
        ),
        habeas_core::kinds::SENTENCE_PLAN => (
            "sentence-sentence-plan",
            vec![
                ("by", field("drawn_up_by")),
                ("at", field("at")),
                ("objectives", field("objectives")),
                ("review", field("next_review")),
            ],
        ),
        habeas_core::kinds::DEATH_STEP => (
            "sentence-death-step",
            vec![("step", field("step")), ("at", field("at"))],
        ),
        habeas_core::kinds::HARM => (
            "sentence-harm",
            vec![
                // Not from the catalogue of kinds: a health record's `injury` is not serious.
                (
                    "kind",
                    p["kind"]
                        .as_str()
                        .and_then(|k| tr.known(&format!("harm-{k}")))
                        .unwrap_or_else(|| field("kind")),
                ),
                ("at", field("at")),
                ("circumstances", field("circumstances")),
            ],
        ),
        habeas_core::kinds::HARM_STEP => (
            "sentence-harm-step",
            vec![
                ("case", field("case")),
                ("step", field("step")),
                ("at", field("at")),
                ("detail", field("detail")),
            ],
        ),
        _ => return None,
    };
    Some(
        tr.i18n.message(
            tr.lang,
            id,
            &args
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect::<Vec<_>>(),
        ),
    )
}

/// The catalogues a field's values are named in, tried in order (`kind` is the kind of an
/// order, a contact, a movement…, whichever names the value).
fn value_catalogues(key: &str) -> &'static [&'static str] {
    match key {
        "legal_status" => &["status"],
        "sex" => &["sex"],
        "kind" => &["order", "contact", "movement", "health", "programme"],
        "mode" => &["mode"],
        "party" => &["party"],
        "step" => &["death-step", "harm-step"],
        "reason" => &["release-reason", "reason"],
        "scope" => &["scope"],
        "presence" => &["presence"],
        "part" => &["access-part"],
        "what" => &["access-what"],
        "sanction" => &["sanction"],
        "visitor_kind" => &["visitor-kind"],
        "outcome" => &["visit-outcome"],
        "people_exposed" => &["exposure"],
        _ => &[],
    }
}

/// One value of an entry's payload for reading: field names and the values of known kinds
/// in the reader's language, dates and times in their convention, nested records in
/// parentheses, empty things left out. What the catalogue does not name (free text, names)
/// is shown as it was written.
fn detail_value(v: &serde_json::Value, tr: &Tr, depth: usize, key: Option<&str>) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) if is_iso_time(s) => tr.time(s),
        Value::String(s) if is_iso_date(s) => i18n::date(tr.lang, s),
        Value::String(s) if key == Some("purpose") => shown_purpose(tr, s),
        Value::String(s) => key
            .map(value_catalogues)
            .unwrap_or_default()
            .iter()
            .find_map(|c| tr.known(&format!("{c}-{}", s.replace(' ', "_"))))
            .unwrap_or_else(|| s.clone()),
        Value::Bool(b) => tr.t(if *b { "yes" } else { "no" }),
        // Mostly register indexes and bookings, which are written without separators.
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| detail_value(i, tr, depth + 1, key))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(if depth == 0 { "; " } else { ", " }),
        Value::Object(map) => {
            let inner = map
                .iter()
                .filter_map(|(k, v)| {
                    let shown = detail_value(v, tr, depth + 1, Some(k));
                    let label = tr
                        .known(&format!("field-{k}"))
                        .unwrap_or_else(|| k.replace('_', " "));
                    (!shown.is_empty()).then(|| format!("{label}: {shown}"))
                })
                .collect::<Vec<_>>();
            if depth == 0 {
                inner.join("; ")
            } else if inner.is_empty() {
                String::new()
            } else {
                format!("({})", inner.join(", "))
            }
        }
        Value::Null => String::new(),
    }
}

/// `YYYY-MM-DD`.
fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// A register time, `YYYY-MM-DDTHH:MM:SS.sssZ`.
fn is_iso_time(s: &str) -> bool {
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && is_iso_date(&s[..10])
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

#[derive(Debug, Deserialize)]
pub(crate) struct ComplianceQuery {
    facility: Option<String>,
    as_of: Option<String>,
}

/// A purpose as the access log keeps it (`hearing: audiencia 5`), its reason in the reader's
/// language (`audiencia o trámite judicial: audiencia 5`).
pub(crate) fn shown_purpose(tr: &Tr, purpose: &str) -> String {
    let (reason, detail) = purpose.split_once(": ").unwrap_or((purpose, ""));
    match tr.known(&format!("reason-{reason}")) {
        Some(label) if detail.is_empty() => label,
        Some(label) => format!("{label}: {detail}"),
        None => purpose.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_details_read_as_text_in_the_readers_convention() {
        let payload = serde_json::json!({
            "admitted_at": "2025-05-30T10:00:00.000Z",
            "arrest": {"at": "2025-05-28T08:00:00.000Z", "authority": "PNC", "place": null},
            "children": [],
            "foreign_national": false,
            "orders": [{"kind": "pretrial_detention", "expires": "2025-11-29"}],
            "people_heard": 300,
        });
        assert_eq!(
            details(&payload, &Tr::new(Lang::Es).unwrap()),
            "ingreso: 30/05/2025 10:00 UTC; detención: (cuándo: 28/05/2025 08:00 UTC, autoridad: PNC); \
             extranjera: no; órdenes: (vence: 29/11/2025, tipo: detención provisional); \
             personas oídas: 300"
        );
        let en = details(&payload, &Tr::new(Lang::En).unwrap());
        let local = details(&payload, &Tr::new(Lang::Es).unwrap().at(-360));
        assert!(
            local.starts_with("ingreso: 30/05/2025 04:00 (UTC\u{2212}06:00); detención: (cuándo: 28/05/2025 02:00 (UTC\u{2212}06:00)"),
            "{local}"
        );
        assert!(
            en.contains("expires: 29 Nov 2025") && en.contains("kind: pretrial detention"),
            "{en}"
        );
        assert!(!is_iso_date("2025-5-30") && !is_iso_time("2025-05-30"));
    }

    #[test]
    fn months_step_across_years() {
        assert_eq!(
            registers::month_step("2025-12", 1).as_deref(),
            Some("2026-01")
        );
        assert_eq!(
            registers::month_step("2025-01", -1).as_deref(),
            Some("2024-12")
        );
        assert_eq!(
            registers::month_step("2025-05", 0).as_deref(),
            Some("2025-05")
        );
        assert_eq!(registers::month_step("2025-13", 1), None);
        assert_eq!(registers::month_step("2025-5", 1), None);
        assert_eq!(registers::days_before("2025-03-01", 1), "2025-02-28");
    }

    #[test]
    fn occupancy_colours_at_their_thresholds() {
        assert_eq!(occupancy_class(0, 80), "empty");
        assert_eq!(occupancy_class(80, 80), "ok");
        assert_eq!(occupancy_class(81, 80), "over");
        assert_eq!(occupancy_class(120, 80), "over");
        assert_eq!(occupancy_class(121, 80), "severe");
        assert_eq!(occupancy_class(1, 0), "severe");
        assert_eq!(space(Lang::En, 480_000, 80), "0.60 m²");
        assert_eq!(space(Lang::Es, 480_000, 80), "0,60 m²");
        assert_eq!(space(Lang::Es, 480_000, 0), "—");
        assert_eq!(percent(Lang::Es, 121, 80), "151 %");
    }
}
