//! Placing a person in a cell: the refusal of the projections shown with its rule, the
//! direction's override with a reason and an authority.

use super::*;

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

/// The allocation page of a booking, or why it cannot be shown.
fn allocate_view(
    state: &AppState,
    caller: &Caller,
    booking: u64,
    chosen: &str,
) -> ApiResult<Result<AllocatePage, Response>> {
    if let Some(r) = only(state, caller, &[Role::Custody, Role::Director], "allocate") {
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
    let tr = local_tr(state, caller, &custody.facility)?;
    let cells = state
        .store
        .cells(Some(&custody.facility))?
        .into_iter()
        .map(|c| {
            let label = format!(
                "{} — {} / {} / {}",
                c.code,
                i18n::int(tr.lang, c.population),
                i18n::int(tr.lang, c.cna),
                i18n::int(tr.lang, c.operational_capacity)
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
        who: who_at(
            state,
            caller,
            &format!("/ui/allocations?booking={booking}"),
            tr.offset,
        ),
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

pub(crate) async fn allocate_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<BookingQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        Ok(match allocate_view(state, &caller, q.booking, "")? {
            Ok(page) => html(StatusCode::OK, &page),
            Err(r) => r,
        })
    })
    .await
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
    #[serde(default)]
    override_second_authority: String,
    /// When the person was placed, if before now (`YYYY-MM-DDTHH:MM`).
    #[serde(default)]
    at: String,
}

pub(crate) async fn allocate_form(
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
        let (reason, authority, second) = if caller.role == Role::Director {
            (
                text(&form.override_reason),
                text(&form.override_authority),
                text(&form.override_second_authority),
            )
        } else {
            (None, None, None)
        };
        let allocation = match habeas_core::allocation::Allocation::new(
            &page.facility,
            form.booking,
            &form.cell,
            reason.as_deref(),
            authority.as_deref(),
        )
        .and_then(|a| a.with_second_authority(second.as_deref()))
        .and_then(|a| {
            let at = (!form.at.trim().is_empty()).then(|| page.tr.form_time(form.at.trim()));
            a.with_at(at.as_deref(), state.clock.now())
        }) {
            Ok(a) => a,
            Err(e) => {
                page.refusal = Some(page.tr.t1(
                    "allocate-refused",
                    "reason",
                    &format!(
                        "{}: {}",
                        e.field,
                        page.tr.refusal(e.words.as_ref(), &e.message)
                    ),
                ));
                return Ok((html(StatusCode::BAD_REQUEST, &page), None));
            }
        };
        let actor = crate::api::actor(&caller)?;
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
    // The projections check capacity and separation in the writer's transaction: a refusal
    // comes back with its explanation, and nothing is written.
    match commit(&shared, draft).await {
        Ok(Ok(entry)) => {
            page.done = Some(page.tr.t2(
                "allocate-done",
                "cell",
                &page.chosen,
                "entry",
                &entry.to_string(),
            ));
            html(StatusCode::CREATED, &page)
        }
        Ok(Err(r)) => {
            let reason = refusal_reason(&page.tr, &page.chosen, &r);
            page.refusal = Some(page.tr.t1("allocate-refused", "reason", &reason));
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(answer) => answer,
    }
}

/// Why the writer refused a placement, in the reader's language: by the refusal's code, the
/// rules it names each said once (`Regla 11(a): hombres y mujeres separados`); the writer's own
/// words where the catalogue has none.
fn refusal_reason(tr: &Tr, cell: &str, r: &habeas_register::store::Rejection) -> String {
    match r.code.as_str() {
        "separation" | "second_authority" => {
            let rules: Vec<String> = [
                ("Rule 11(a)", "11a"),
                ("Rule 11(b)", "11b"),
                ("Rule 11(c)", "11c"),
                ("Rule 11(d)", "11d"),
                ("non-association", "apart"),
            ]
            .iter()
            .filter(|(english, _)| r.message.contains(english))
            .map(|(_, key)| tr.t(&format!("allocate-rule-{key}")))
            .collect();
            tr.t2(
                &format!("allocate-refused-{}", r.code.replace('_', "-")),
                "cell",
                cell,
                "rules",
                &rules.join("; "),
            )
        }
        "over_capacity" => tr.t1("allocate-refused-over-capacity", "cell", cell),
        _ => tr.rejection(r),
    }
}
