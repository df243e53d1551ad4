//! Rule 68 from the person's file: the family (or a person they designate) told of the
//! imprisonment, by a call, a letter or a visit; or the person's own decline to have anyone
//! told, in their words, with a witness. Either is a register entry of the facility holding
//! the person, checked as `POST /api/records` checks it.

use super::*;

#[derive(Template)]
#[template(path = "ui/notify.html")]
struct NotifyPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    subject: String,
    /// When the contact falls due: the admission plus the policy's hours.
    due: String,
    person: u64,
    booking: u64,
    /// What the form sent, shown again when it is refused.
    form: NotifyForm,
    done: Option<String>,
    refusal: Option<String>,
}

/// The roles that keep the person's file (as `POST /api/records` for a contact).
const KEEPERS: &[Role] = &[Role::Registry, Role::Custody, Role::Legal, Role::Director];

/// The page of an open custody, or why it cannot be shown.
fn notify_view(
    state: &AppState,
    caller: &Caller,
    booking: u64,
    form: NotifyForm,
) -> ApiResult<Result<NotifyPage, Response>> {
    if let Some(r) = only(state, caller, KEEPERS, "record contact.notification") {
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
            .find(|c| c.booking == booking && c.ended_by.is_none())?
            .clone();
        Some((f, c))
    }) else {
        return Ok(Err(error_page(
            StatusCode::NOT_FOUND,
            caller,
            "error-not-found",
        )));
    };
    // The facility that holds the person, never one the form names.
    if let Some(r) = scoped(
        state,
        caller,
        &custody.facility,
        "record contact.notification",
    ) {
        return Ok(Err(r));
    }
    let tr = local_tr(state, caller, &custody.facility)?;
    let hours = habeas_core::compliance::Policy::mandela_minimum()
        .map_err(|e| ApiError::internal(e.message))?
        .notification
        .family_hours;
    let due = habeas_register::Timestamp::parse(&custody.admitted_at)
        .map(|t| habeas_register::Timestamp(t.millis() + i64::from(hours) * 3_600_000))
        .map_or_else(|_| custody.admitted_at.clone(), |t| t.to_string());
    let name = format!("{} {}", file.given_names, file.surnames);
    Ok(Ok(NotifyPage {
        subject: tr.i18n.message(
            tr.lang,
            "allocate-subject",
            &[
                ("name", name),
                ("booking", booking.to_string()),
                ("facility", custody.facility.clone()),
            ],
        ),
        due: tr.i18n.message(
            tr.lang,
            "notify-due",
            &[
                ("admitted", tr.time(&custody.admitted_at)),
                ("hours", hours.to_string()),
                ("due", tr.time(&due)),
            ],
        ),
        who: who_at(
            state,
            caller,
            &format!("/ui/notify?booking={booking}"),
            tr.offset,
        ),
        csrf: caller.csrf.clone().unwrap_or_default(),
        person: file.person,
        booking,
        form: NotifyForm {
            facility: custody.facility,
            ..form
        },
        done: None,
        refusal: None,
        tr,
    }))
}

pub(crate) async fn notify_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<super::allocate::BookingQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        let blank = NotifyForm {
            booking: q.booking,
            ..NotifyForm::default()
        };
        Ok(match notify_view(state, &caller, q.booking, blank)? {
            Ok(page) => html(StatusCode::OK, &page),
            Err(r) => r,
        })
    })
    .await
}

/// One of the page's two forms: `what` is `contact` (a family or designated contact) or
/// `decline` (the person's own decline to have anyone told).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct NotifyForm {
    #[serde(default)]
    csrf: String,
    booking: u64,
    #[serde(default)]
    what: String,
    /// Filled from the custody, never from the form.
    #[serde(skip)]
    facility: String,
    /// When it happened (`YYYY-MM-DDTHH:MM`, the facility's local time, or a time with its
    /// offset); now when empty.
    #[serde(default)]
    at: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    party: String,
    #[serde(default)]
    with: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    statement: String,
    #[serde(default)]
    witnessed_by: String,
}

impl NotifyForm {
    /// The record the form describes, as `POST /api/records` takes it (its time read at the
    /// page's local time, `tr`'s).
    fn record(
        &self,
        now: habeas_register::Timestamp,
        tr: &Tr,
    ) -> Result<serde_json::Value, (String, String)> {
        let at = match self.at.trim() {
            "" => now.to_string(),
            t => tr.form_time(t),
        };
        fn text(s: &str) -> Option<&str> {
            Some(s.trim()).filter(|s| !s.is_empty())
        }
        match self.what.as_str() {
            "contact" => {
                let minutes = match text(&self.minutes) {
                    None => None,
                    Some(m) => Some(m.parse::<u32>().map_err(|_| {
                        (
                            "minutes".to_owned(),
                            format!("{m:?} is not a number of minutes"),
                        )
                    })?),
                };
                let mut r = serde_json::json!({
                    "record": "contact", "facility": self.facility, "booking": self.booking,
                    "kind": self.kind, "party": self.party, "at": at, "with": self.with,
                });
                if let Some(m) = minutes {
                    r["minutes"] = m.into();
                }
                Ok(r)
            }
            "decline" => {
                let mut r = serde_json::json!({
                    "record": "notification_declined", "facility": self.facility,
                    "booking": self.booking, "at": at, "statement": self.statement,
                });
                if let Some(w) = text(&self.witnessed_by) {
                    r["witnessed_by"] = w.into();
                }
                Ok(r)
            }
            other => Err((
                "what".to_owned(),
                format!("{other:?} is neither a contact nor a decline"),
            )),
        }
    }
}

/// A field of the forms by its label in the reader's language (the field's name otherwise).
fn field_label(tr: &Tr, field: &str) -> String {
    let key = match field {
        "witnessed_by" => "witness",
        other => other,
    };
    tr.known(&format!("notify-{key}"))
        .unwrap_or_else(|| field.to_owned())
}

pub(crate) async fn notify_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<NotifyForm>,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(|r| (r, None));
        };
        if let Some(r) = check_form(&state, &caller, &form.csrf, "record contact.notification") {
            return Ok((r, None));
        }
        let mut page = match notify_view(&state, &caller, form.booking, form.clone())? {
            Ok(p) => p,
            Err(r) => return Ok((r, None)),
        };
        let now = state.clock.now();
        let actor = crate::api::actor(&caller)?;
        let draft = page
            .form
            .record(now, &page.tr)
            .and_then(|r| {
                serde_json::from_value::<habeas_core::record::RecordInput>(r)
                    .map_err(|e| ("form".to_owned(), e.to_string()))
            })
            .and_then(|input| {
                input
                    .validate(now, &actor)
                    .map_err(|e| (e.field.to_string(), e.message))
            });
        match draft {
            Ok(d) => Ok((Response::default(), Some((page, d)))),
            Err((field, message)) => {
                let label = field_label(&page.tr, &field);
                page.refusal = Some(page.tr.t1(
                    "notify-refused",
                    "reason",
                    &format!("{label}: {message}"),
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
    // The writer checks it against the custody (held here, not before it began).
    match commit(&shared, draft).await {
        Ok(Ok(entry)) => {
            let key = if page.form.what == "decline" {
                "notify-declined"
            } else {
                "notify-contacted"
            };
            page.done = Some(page.tr.t1(key, "entry", &entry.to_string()));
            page.form = NotifyForm {
                booking: page.booking,
                facility: page.form.facility.clone(),
                ..NotifyForm::default()
            };
            html(StatusCode::CREATED, &page)
        }
        Ok(Err(r)) => {
            page.refusal = Some(page.tr.t1(
                "notify-refused",
                "reason",
                &match &r.field {
                    Some(field) => format!("{}: {}", field_label(&page.tr, field), r.message),
                    None => r.message.clone(),
                },
            ));
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(answer) => answer,
    }
}
