//! The end of a custody here, from the person's file: a release with its legal reason, the
//! authority that ordered or certified it and its reference; an escape (the person left custody
//! unlawfully: not a release, and a Rule 71(1) case owing its report to an independent
//! authority); or a transfer to another facility of the register, where a new custody begins.
//! The forms write the `custody.released` or `custody.transferred` entry of the facility holding
//! the person, checked as `POST /api/releases` and `POST /api/transfers` check them; once the
//! custody has ended the page says how, and for an escape links to its case.

use super::*;
use habeas_core::custody::{Release, ReleaseReason};
use habeas_register::store::Store as _;

#[derive(Template)]
#[template(path = "ui/release.html")]
pub(crate) struct ReleasePage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    subject: String,
    person: u64,
    booking: u64,
    /// The custody's legal basis as the form should weigh it: its latest order and any
    /// computed release date.
    basis: Vec<String>,
    /// How the custody ended, when it has (the form is not shown then).
    ended: Option<String>,
    /// The page of the escape's case, when an escape ended the custody.
    case_href: Option<String>,
    /// What an escape owes, said once beside the form.
    escape_hint: String,
    /// Each reason's value and its words in the reader's language (empty when the caller does
    /// not release: the national administration transfers only).
    reasons: Vec<(&'static str, String)>,
    /// The facilities a transfer may go to (empty when the caller does not transfer).
    destinations: Vec<String>,
    /// What the form sent, shown again when it is refused.
    form: ReleaseForm,
    said: Said,
}

/// The roles that release (as `POST /api/releases`).
const RELEASERS: &[Role] = &[Role::Registry, Role::Director];
/// The roles that transfer (as `POST /api/transfers`), and so read the page.
const TRANSFERRERS: &[Role] = &[Role::Registry, Role::Director, Role::National];

/// One of the page's forms: `what` is `release` (a release or an escape: the reason, who
/// ordered or certified it, its reference and when) or `transfer` (to another facility, who
/// ordered it, its reference and when).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct ReleaseForm {
    #[serde(default)]
    csrf: String,
    booking: u64,
    #[serde(default)]
    what: String,
    /// The facility a transfer goes to.
    #[serde(default)]
    to: String,
    /// Filled from the custody, never from the form.
    #[serde(skip)]
    facility: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    authority: String,
    #[serde(default)]
    reference: String,
    /// When (`YYYY-MM-DDTHH:MM`, the facility's local time, or a time with its offset); now
    /// when empty.
    #[serde(default)]
    at: String,
}

/// The page of a custody of the caller's facility (open: the form; ended: how), or why it
/// cannot be shown.
fn release_view(
    state: &AppState,
    caller: &Caller,
    form: ReleaseForm,
) -> ApiResult<Result<ReleasePage, Response>> {
    let booking = form.booking;
    let (roles, action) = match form.what.as_str() {
        "release" => (RELEASERS, "release"),
        _ => (TRANSFERRERS, "transfer"),
    };
    let OpenCustody {
        file,
        custody,
        tr,
        who,
        csrf,
        subject,
    } = match custody_page(state, caller, (booking, "/ui/release", true), roles, action)? {
        Ok(found) => found,
        Err(r) => return Ok(Err(r)),
    };
    let mut basis = Vec::new();
    if let Some(o) = custody.orders.last() {
        basis.push(
            tr.t2(
                "release-latest-order",
                "order",
                &format!(
                    "{} {} ({})",
                    tr.known(&format!("order-{}", o.kind))
                        .unwrap_or_else(|| o.kind.clone()),
                    o.reference,
                    o.authority
                ),
                "expires",
                &o.expires
                    .as_deref()
                    .map_or_else(|| "—".to_owned(), |d| i18n::date(tr.lang, d)),
            ),
        );
    }
    if let Some(d) = &custody.release_date {
        basis.push(tr.t1("release-date-due", "date", &i18n::date(tr.lang, d)));
    }
    let ended = match custody.ended_by {
        None => None,
        Some(idx) => {
            let entry = state
                .store
                .entry(idx)?
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .unwrap_or_default();
            let said = sentence(
                &tr,
                entry["kind"].as_str().unwrap_or_default(),
                &custody.facility,
                &entry["payload"],
            );
            Some(tr.t2(
                "release-ended",
                "entry",
                &idx.to_string(),
                "what",
                &said.unwrap_or_else(|| custody.end_reason.clone().unwrap_or_default()),
            ))
        }
    };
    let policy = habeas_core::compliance::Policy::mandela_minimum()
        .map_err(|e| ApiError::internal(e.message))?;
    Ok(Ok(ReleasePage {
        subject,
        escape_hint: tr.t1(
            "release-escape-hint",
            "hours",
            &policy.harm.authority_hours.to_string(),
        ),
        reasons: if RELEASERS.contains(&caller.role) {
            ReleaseReason::ALL
                .iter()
                .map(|r| {
                    let value = r.as_str();
                    (
                        value,
                        tr.known(&format!("release-reason-{value}"))
                            .unwrap_or_else(|| value.to_owned()),
                    )
                })
                .collect()
        } else {
            Vec::new()
        },
        destinations: state
            .store
            .facility_codes()?
            .into_iter()
            .filter(|f| *f != custody.facility)
            .collect(),
        case_href: (custody.end_reason.as_deref() == Some("escape"))
            .then(|| format!("/ui/harm?booking={booking}")),
        ended,
        basis,
        who,
        csrf,
        person: file.person,
        booking,
        form: ReleaseForm {
            facility: custody.facility,
            ..form
        },
        said: Said::default(),
        tr,
    }))
}

impl FilePage for ReleasePage {
    const PREFIX: &'static str = "release";
    fn tr(&self) -> &Tr {
        &self.tr
    }
    fn said(&mut self) -> &mut Said {
        &mut self.said
    }
    /// The release or the transfer the form describes, checked as `POST /api/releases` or
    /// `POST /api/transfers` checks it; none for a custody that has ended.
    fn draft(
        &self,
        now: habeas_register::Timestamp,
        actor: &habeas_core::ids::Actor,
    ) -> Result<habeas_register::Draft, (String, String)> {
        let f = &self.form;
        if let Some(ended) = &self.ended {
            // Said in the reader's language: how it ended, as the page says it.
            return Err(("booking".to_owned(), ended.clone()));
        }
        let at = self.tr.form_time_or(&f.at, now);
        match f.what.as_str() {
            "release" => Release::new(
                &f.facility,
                f.booking,
                Some(f.reason.as_str()),
                &f.authority,
                &f.reference,
                &at,
                now,
                actor,
            )
            .map(|r| r.to_draft(actor))
            .map_err(|e| self.tr.refused(e)),
            "transfer" => habeas_core::events::Transfer::new(
                &f.facility,
                f.booking,
                &f.to,
                &f.authority,
                &f.reference,
                &at,
                now,
            )
            .map(|t| t.to_draft(actor))
            .map_err(|e| self.tr.refused(e)),
            other => Err((
                "what".to_owned(),
                format!("{other:?} is neither a release nor a transfer"),
            )),
        }
    }
    fn recorded(&self) -> &'static str {
        if self.form.what == "transfer" {
            "release-transferred"
        } else {
            "release-done"
        }
    }
}

impl FileForm for ReleaseForm {
    type Page = ReleasePage;
    const VIEW: FileView<ReleasePage, Self> = release_view;
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
        if self.what == "release" {
            "release"
        } else {
            "transfer"
        }
    }
}
