//! Rules 69 and 71(1) from the person's file: a serious injury, a serious illness or a
//! transfer to a health institution opens a case, and so does an escape (a release whose
//! reason is `escape`); its steps (the person they designated, or the family, told; the
//! person's own request that nobody be; the report of a serious injury or of the escape to an
//! independent authority) close it. The page lists the custody's cases, what each has had
//! done and what is still due by when; its forms write `serious_harm` and `harm_step` records
//! of the facility holding the person (or, for a custody that ended, of the facility where it
//! ended: its cases still take steps there, a new case needs the person held), checked as
//! `POST /api/records` checks them.

use super::*;
use habeas_register::Timestamp;

const HOUR_MS: i64 = 3_600_000;

#[derive(Template)]
#[template(path = "ui/harm.html")]
pub(crate) struct HarmPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    /// The page's title: an escape named when the custody ended by one.
    title: String,
    subject: String,
    /// The policy's hours, said once.
    hint: String,
    person: u64,
    booking: u64,
    /// The custody is open and the caller records: a new case can be opened.
    open: bool,
    /// The caller records cases and steps (an inspector reads them only).
    writes: bool,
    cases: Vec<CaseView>,
    /// What the form sent, shown again when it is refused.
    form: HarmForm,
    said: Said,
}

/// One case as the page shows it.
pub struct CaseView {
    /// The `serious_harm` entry, or the release of an escape.
    pub idx: u64,
    pub heading: String,
    pub when: String,
    pub circumstances: String,
    pub steps: Vec<StepView>,
    /// What is still due, each with its hour and whether it has passed.
    pub due: Vec<(String, bool)>,
    /// The steps the form offers for this case.
    pub offered: Vec<&'static str>,
    /// For an escape, the person's recapture (the custody that followed), once there is one.
    pub recaptured: Option<String>,
}

pub struct StepView {
    pub what: String,
    pub when: String,
    pub detail: String,
    pub witness: String,
    pub written: String,
    /// Written to the register later than the policy allows: it counts from then.
    pub late: Option<String>,
}

/// The roles that record a serious harm and its steps (as `POST /api/records`).
pub(crate) const STAFF: &[Role] = &[
    Role::Health,
    Role::Director,
    Role::Registry,
    Role::Custody,
    Role::Legal,
];

const ACTION: &str = "record harm";

/// The roles that read the page: those who record, and the inspectors (who change nothing).
const READERS: &[Role] = &[
    Role::Health,
    Role::Director,
    Role::Registry,
    Role::Custody,
    Role::Legal,
    Role::Inspector,
];

/// A case or a step as read from its entry.
struct Read {
    idx: u64,
    time: Timestamp,
    payload: serde_json::Value,
}

/// The serious-harm cases and the escape of the custody `booking` of `person`, each with its
/// steps, read from their entries (what happened and who was told are kept there, not in the
/// projections).
fn cases_of(state: &AppState, person: u64, booking: u64) -> ApiResult<Vec<(Read, Vec<Read>)>> {
    let mut cases: Vec<(Read, Vec<Read>)> = Vec::new();
    state.store.person_entries(person, &mut |b, idx, bytes| {
        if b != booking {
            return Ok(true);
        }
        let e = habeas_register::Entry::decode(bytes).map_err(|e| {
            habeas_register::store::StoreError::Corrupt(format!("entry {idx}: {e}"))
        })?;
        let read = Read {
            idx,
            time: e.time,
            payload: e.payload,
        };
        match e.kind.as_str() {
            habeas_core::kinds::HARM => cases.push((read, Vec::new())),
            habeas_core::kinds::RELEASED if read.payload["reason"] == "escape" => {
                cases.push((read, Vec::new()));
            }
            habeas_core::kinds::HARM_STEP => {
                let case = read.payload["case"].as_u64();
                if let Some((_, steps)) = cases.iter_mut().find(|(c, _)| Some(c.idx) == case) {
                    steps.push(read);
                }
            }
            _ => {}
        }
        Ok(true)
    })?;
    Ok(cases)
}

/// How a case reads on the page: its steps, and what is still due by when (`now` tells an
/// hour passed).
fn case_view(
    tr: &Tr,
    policy: &habeas_core::compliance::HarmPolicy,
    now: Timestamp,
    (case, steps): (Read, Vec<Read>),
) -> CaseView {
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let escape = case.payload["reason"] == "escape";
    let kind = if escape {
        "escape".to_owned()
    } else {
        text(&case.payload, "kind")
    };
    let at = text(&case.payload, "at");
    let harmed = Timestamp::parse(&at).ok();
    let mut due = Vec::new();
    let pending = habeas_core::compliance::harm_pending(
        &kind,
        steps
            .iter()
            .map(|s| s.payload["step"].as_str().unwrap_or_default()),
    );
    for step in pending {
        let (message, hours) = match step {
            "designated_informed" => ("harm-due-designated", policy.designated_hours),
            _ if escape => ("harm-due-authority-escape", policy.authority_hours),
            _ => ("harm-due-authority", policy.authority_hours),
        };
        let by = harmed.map(|t| Timestamp(t.millis() + i64::from(hours) * HOUR_MS));
        let when = by.map_or_else(|| at.clone(), |t| tr.time(&t.to_string()));
        due.push((
            tr.t2(message, "due", &when, "hours", &hours.to_string()),
            by.is_some_and(|t| t < now),
        ));
    }
    let grace = i64::from(policy.record_hours) * HOUR_MS;
    CaseView {
        idx: case.idx,
        heading: tr.t2(
            "harm-case-heading",
            "kind",
            &tr.known(&format!("harm-{kind}"))
                .unwrap_or_else(|| kind.clone()),
            "entry",
            &case.idx.to_string(),
        ),
        when: tr.time(&at),
        circumstances: if escape {
            tr.t2(
                "harm-escape-certified",
                "authority",
                &text(&case.payload, "authority"),
                "reference",
                &text(&case.payload, "reference"),
            )
        } else {
            text(&case.payload, "circumstances")
        },
        steps: steps
            .iter()
            .map(|s| {
                let step = text(&s.payload, "step");
                let at = text(&s.payload, "at");
                let after = Timestamp::parse(&at).map_or(0, |t| s.time.millis() - t.millis());
                StepView {
                    what: tr
                        .known(&format!("harm-step-{step}"))
                        .unwrap_or_else(|| step.clone()),
                    when: tr.time(&at),
                    detail: text(&s.payload, "detail"),
                    witness: text(&s.payload, "witnessed_by"),
                    written: tr.time(&s.time.to_string()),
                    late: (after > grace)
                        .then(|| tr.t1("harm-late", "hours", &(after / HOUR_MS).to_string())),
                }
            })
            .collect(),
        due,
        recaptured: None,
        offered: if escape {
            vec!["designated_informed", "independent_authority_informed"]
        } else {
            vec![
                "designated_informed",
                "notice_declined",
                "independent_authority_informed",
            ]
        },
    }
}

/// The page of a custody (open, or ended at the caller's facility), or why it cannot be
/// shown.
fn harm_view(
    state: &AppState,
    caller: &Caller,
    form: HarmForm,
) -> ApiResult<Result<HarmPage, Response>> {
    let booking = form.booking;
    // What the form would write decides the roles: a case or a step its staff, a look the
    // inspectors too.
    let (roles, action) = match form.what.as_str() {
        "" => (READERS, "read serious-harm cases"),
        _ => (STAFF, ACTION),
    };
    let OpenCustody {
        file,
        custody,
        tr,
        who,
        csrf,
        subject,
    } = match custody_page(state, caller, (booking, "/ui/harm", true), roles, action)? {
        Ok(found) => found,
        Err(r) => return Ok(Err(r)),
    };
    let policy = habeas_core::compliance::Policy::mandela_minimum()
        .map_err(|e| ApiError::internal(e.message))?
        .harm;
    let now = state.clock.now();
    let recaptured = file.recapture_of(booking).map(|next| {
        tr.i18n.message(
            tr.lang,
            "harm-recaptured",
            &[
                ("date", tr.day_of(&next.admitted_at)),
                ("facility", next.facility.clone()),
                ("booking", next.booking.to_string()),
            ],
        )
    });
    let cases = cases_of(state, file.person, booking)?
        .into_iter()
        .map(|c| {
            let escape = c.0.payload["reason"] == "escape";
            let mut view = case_view(&tr, &policy, now, c);
            if escape {
                view.recaptured.clone_from(&recaptured);
            }
            view
        })
        .collect();
    let escaped = custody.end_reason.as_deref() == Some("escape");
    Ok(Ok(HarmPage {
        title: tr.t(if escaped {
            "harm-title-escape"
        } else {
            "harm-title"
        }),
        subject,
        hint: tr.i18n.message(
            tr.lang,
            "harm-hint",
            &[
                ("designated", policy.designated_hours.to_string()),
                ("authority", policy.authority_hours.to_string()),
                ("record", policy.record_hours.to_string()),
            ],
        ),
        who,
        csrf,
        person: file.person,
        booking,
        open: custody.ended_by.is_none() && STAFF.contains(&caller.role),
        writes: STAFF.contains(&caller.role),
        cases,
        form: HarmForm {
            facility: custody.facility,
            ..form
        },
        said: Said::default(),
        tr,
    }))
}

/// One of the page's forms: `what` is `case` (a harm, opening a case) or `step` (a step of
/// the case `case`).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct HarmForm {
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
    circumstances: String,
    /// The case a step is of (its entry).
    #[serde(default)]
    case: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    witnessed_by: String,
}

impl HarmForm {
    /// Whether the form sent was the step form of `case` (to show its values again).
    pub fn of_case(&self, case: &u64) -> bool {
        self.what == "step" && self.case.trim() == case.to_string()
    }
}

impl FilePage for HarmPage {
    const PREFIX: &'static str = "harm";
    fn tr(&self) -> &Tr {
        &self.tr
    }
    fn said(&mut self) -> &mut Said {
        &mut self.said
    }
    /// The record the form describes, as `POST /api/records` takes it and checks it; a step
    /// only of one of this custody's cases.
    fn draft(
        &self,
        now: Timestamp,
        actor: &habeas_core::ids::Actor,
    ) -> Result<habeas_register::Draft, (String, String)> {
        record_draft(&self.tr, self.record(now), now, actor)
    }
    fn recorded(&self) -> &'static str {
        if self.form.what == "step" {
            "harm-done-step"
        } else {
            "harm-opened"
        }
    }
}

impl HarmPage {
    /// The record the form describes, as `POST /api/records` takes it; a step only of one of
    /// this custody's cases.
    fn record(&self, now: Timestamp) -> Result<serde_json::Value, (String, String)> {
        let f = &self.form;
        let at = self.tr.form_time_or(&f.at, now);
        match f.what.as_str() {
            "case" => Ok(serde_json::json!({
                "record": "serious_harm", "facility": f.facility, "booking": f.booking,
                "at": at, "kind": f.kind, "circumstances": f.circumstances,
            })),
            "step" => {
                let case = f
                    .case
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|c| self.cases.iter().any(|k| k.idx == *c))
                    .ok_or_else(|| {
                        (
                            "case".to_owned(),
                            format!("{:?} is not a serious-harm case of this custody", f.case),
                        )
                    })?;
                let mut r = serde_json::json!({
                    "record": "harm_step", "facility": f.facility, "case": case,
                    "step": f.step, "at": at, "detail": f.detail,
                });
                if let Some(w) = Some(f.witnessed_by.trim()).filter(|w| !w.is_empty()) {
                    r["witnessed_by"] = w.into();
                }
                Ok(r)
            }
            other => Err((
                "what".to_owned(),
                format!("{other:?} is neither a case nor a step"),
            )),
        }
    }
}

impl FileForm for HarmForm {
    type Page = HarmPage;
    const VIEW: FileView<HarmPage, Self> = harm_view;
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
        ACTION
    }
}
