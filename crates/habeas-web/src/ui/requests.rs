//! The whereabouts requests of a facility, for its staff: a family's "is my son held here?"
//! recorded as it is received, answered within the policy's hours (Mandela Rules 68–69; CED
//! arts. 17–18), the unanswered ones marked overdue.

use super::*;

/// Who records and answers the requests: the staff who keep the file.
const STAFF: &[Role] = &[Role::Registry, Role::Custody, Role::Legal, Role::Director];

#[derive(Template)]
#[template(path = "ui/requests.html")]
struct RequestsPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    facility: String,
    facilities: Vec<String>,
    open: bool,
    summary: String,
    /// Each row's class (`expired` when overdue) and cells.
    rows: Vec<(&'static str, Vec<String>)>,
    /// The request to answer, when the page is asked for one (`?answer=N`).
    answering: Option<u64>,
    done: Option<String>,
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RequestsQuery {
    facility: Option<String>,
    #[serde(default)]
    status: String,
    answer: Option<u64>,
    /// The entry just recorded (a request), or the request just answered.
    recorded: Option<u64>,
    answered: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RequestsForm {
    csrf: String,
    facility: String,
    /// `request` or `reply`.
    action: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    requester: String,
    #[serde(default)]
    relationship: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    sought_name: String,
    #[serde(default)]
    sought_birth_date: String,
    #[serde(default)]
    sought_document: String,
    #[serde(default)]
    taken_on: String,
    #[serde(default)]
    taken_where: String,
    #[serde(default)]
    request: Option<u64>,
    #[serde(default)]
    held: String,
    #[serde(default)]
    booking: Option<u64>,
    #[serde(default)]
    answer: String,
}

fn view(
    state: &AppState,
    caller: &Caller,
    asked: Option<String>,
    open: bool,
    answering: Option<u64>,
) -> ApiResult<Result<RequestsPage, Response>> {
    if let Some(r) = file_reader(state, caller, "read whereabouts requests") {
        return Ok(Err(r));
    }
    let (facility, facilities) =
        match page_facility(state, caller, asked, "read whereabouts requests")? {
            Ok(f) => f,
            Err(r) => return Ok(Err(r)),
        };
    let tr = local_tr(state, caller, &facility)?;
    let requests = state.store.whereabouts_requests(&facility, open, 500)?;
    state.listed(
        caller,
        &facility,
        "whereabouts requests",
        Some(if open { "open" } else { "all" }),
        requests.len() as u64,
    )?;
    let hours = habeas_core::compliance::Policy::mandela_minimum()
        .map(|p| i64::from(p.whereabouts.reply_hours))
        .unwrap_or(24);
    let now = state.clock.now().millis();
    let rows = requests
        .iter()
        .map(|r| {
            let due = habeas_register::Timestamp::parse(&r.at)
                .map(|t| t.millis() + hours * 3_600_000)
                .unwrap_or(i64::MAX);
            let overdue = r.replied.is_none() && now > due;
            let answered = match (r.replied, &r.replied_at, r.held) {
                (Some(e), Some(at), held) => tr.t2(
                    if held == Some(true) {
                        "requests-answered-held"
                    } else {
                        "requests-answered-not-held"
                    },
                    "at",
                    &tr.time(at),
                    "entry",
                    &e.to_string(),
                ),
                _ if overdue => tr.t("requests-overdue"),
                _ => tr.t("requests-waiting"),
            };
            (
                if overdue { "expired" } else { "" },
                vec![
                    r.idx.to_string(),
                    tr.time(&r.at),
                    format!("{} ({})", r.requester, r.relationship),
                    r.sought_name.clone(),
                    answered,
                ],
            )
        })
        .collect();
    Ok(Ok(RequestsPage {
        who: who_at(state, caller, "/ui/whereabouts-requests", tr.offset),
        csrf: caller.csrf.clone().unwrap_or_default(),
        summary: tr.t1(
            "requests-summary",
            "count",
            &i18n::int(tr.lang, requests.len() as u64),
        ),
        facility,
        facilities,
        open,
        rows,
        answering,
        done: None,
        refusal: None,
        tr,
    }))
}

pub(crate) async fn requests_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<RequestsQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        match view(state, &caller, q.facility, q.status != "all", q.answer)? {
            Ok(mut p) => {
                p.done = match (q.recorded, q.answered) {
                    (Some(e), _) => Some(p.tr.t1("requests-done", "entry", &e.to_string())),
                    (_, Some(e)) => Some(p.tr.t1("requests-reply-done", "entry", &e.to_string())),
                    _ => None,
                };
                Ok(html(StatusCode::OK, &p))
            }
            Err(r) => Ok(r),
        }
    })
    .await
}

pub(crate) async fn requests_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<RequestsForm>,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let caller = match form_writer(
            &state,
            &headers,
            &form.csrf,
            STAFF,
            &form.facility,
            "record a whereabouts request",
        )? {
            Ok(c) => c,
            Err(r) => return Ok((r, None)),
        };
        let mut page = match view(
            &state,
            &caller,
            Some(form.facility.clone()),
            true,
            form.request.filter(|_| form.action == "reply"),
        )? {
            Ok(p) => p,
            Err(r) => return Ok((r, None)),
        };
        let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_owned());
        let at = opt(&form.at)
            .map(|t| page.tr.form_time(&t))
            .unwrap_or_else(|| state.clock.now().to_string());
        let input = if form.action == "reply" {
            habeas_core::record::RecordInput::WhereaboutsReply {
                facility: form.facility.clone(),
                request: form.request.unwrap_or(0),
                at,
                held: form.held == "yes",
                booking: form.booking.filter(|_| form.held == "yes"),
                answer: form.answer.clone(),
            }
        } else {
            habeas_core::record::RecordInput::WhereaboutsRequest {
                facility: form.facility.clone(),
                at,
                requester: form.requester.clone(),
                relationship: form.relationship.clone(),
                contact: opt(&form.contact),
                sought_name: form.sought_name.clone(),
                sought_birth_date: opt(&form.sought_birth_date),
                sought_document: opt(&form.sought_document),
                taken_on: opt(&form.taken_on),
                taken_where: opt(&form.taken_where),
            }
        };
        match input.validate(state.clock.now(), &crate::api::actor(&caller)?) {
            Ok(draft) => Ok((Response::default(), Some((page, draft)))),
            Err(e) => {
                page.refusal = Some(format!(
                    "{}: {}",
                    page.tr
                        .known(&format!("requests-field-{}", e.field))
                        .unwrap_or_else(|| e.field.to_string()),
                    page.tr.refusal(e.words.as_ref(), &e.message)
                ));
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
    let reply = draft.kind == habeas_core::kinds::WHEREABOUTS_REPLY;
    match commit(&shared, draft).await {
        // Post, redirect, get: the list shows what was just recorded.
        Ok(Ok(entry)) => Redirect::to(&format!(
            "/ui/whereabouts-requests?facility={}&{}={entry}",
            page.facility,
            if reply { "answered" } else { "recorded" }
        ))
        .into_response(),
        Ok(Err(r)) => {
            let why = page.tr.rejection(&r);
            page.refusal = Some(format!("{}: {why}", r.field.unwrap_or_default()));
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(r) => r,
    }
}
