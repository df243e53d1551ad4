//! Rule 68 from the person's file: the family (or a person they designate) told of the
//! imprisonment, by a call, a letter or a visit; or the person's own decline to have anyone
//! told, in their words, with a witness. Either is a register entry of the facility holding
//! the person, checked as `POST /api/records` checks it.

use super::*;

#[derive(Template)]
#[template(path = "ui/notify.html")]
pub(crate) struct NotifyPage {
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
    said: Said,
}

/// The roles that keep the person's file (as `POST /api/records` for a contact).
const KEEPERS: &[Role] = &[Role::Registry, Role::Custody, Role::Legal, Role::Director];

/// The page of an open custody, or why it cannot be shown.
fn notify_view(
    state: &AppState,
    caller: &Caller,
    form: NotifyForm,
) -> ApiResult<Result<NotifyPage, Response>> {
    let booking = form.booking;
    let OpenCustody {
        file,
        custody,
        tr,
        who,
        csrf,
        subject,
    } = match open_custody(
        state,
        caller,
        (booking, "/ui/notify"),
        KEEPERS,
        "record contact.notification",
    )? {
        Ok(found) => found,
        Err(r) => return Ok(Err(r)),
    };
    let hours = habeas_core::compliance::Policy::mandela_minimum()
        .map_err(|e| ApiError::internal(e.message))?
        .notification
        .family_hours;
    let due = habeas_register::Timestamp::parse(&custody.admitted_at)
        .map(|t| habeas_register::Timestamp(t.millis() + i64::from(hours) * 3_600_000))
        .map_or_else(|_| custody.admitted_at.clone(), |t| t.to_string());
    Ok(Ok(NotifyPage {
        subject,
        due: tr.i18n.message(
            tr.lang,
            "notify-due",
            &[
                ("admitted", tr.time(&custody.admitted_at)),
                ("hours", hours.to_string()),
                ("due", tr.time(&due)),
            ],
        ),
        who,
        csrf,
        person: file.person,
        booking,
        form: NotifyForm {
            facility: custody.facility,
            ..form
        },
        said: Said::default(),
        tr,
    }))
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
        let at = tr.form_time_or(&self.at, now);
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

impl FilePage for NotifyPage {
    const PREFIX: &'static str = "notify";
    fn tr(&self) -> &Tr {
        &self.tr
    }
    fn said(&mut self) -> &mut Said {
        &mut self.said
    }
    fn draft(
        &self,
        now: habeas_register::Timestamp,
        actor: &habeas_core::ids::Actor,
    ) -> Result<habeas_register::Draft, (String, String)> {
        record_draft(&self.tr, self.form.record(now, &self.tr), now, actor)
    }
    fn recorded(&self) -> &'static str {
        if self.form.what == "decline" {
            "notify-declined"
        } else {
            "notify-contacted"
        }
    }
}

impl FileForm for NotifyForm {
    type Page = NotifyPage;
    const VIEW: FileView<NotifyPage, Self> = notify_view;
    fn of_booking(booking: u64) -> Self {
        Self {
            booking,
            ..Self::default()
        }
    }
    fn booking(&self) -> u64 {
        self.booking
    }
    fn csrf(&self) -> String {
        self.csrf.clone()
    }
    fn action(&self) -> &'static str {
        "record contact.notification"
    }
}
