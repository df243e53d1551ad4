//! A death in custody from the person's file (Rules 69–72): the death recorded (when, where,
//! the circumstances, whether violent), which ends the custody and opens its case; then the
//! case's mandatory steps (the family informed, an independent authority informed, the
//! investigation opened, the post-mortem, the remains returned), each shown done or due by
//! when, and recorded from the page. Each form writes the entry `POST /api/deaths` or
//! `POST /api/death-steps` writes, for the facility that held the person, checked as they check
//! it.

use super::*;
use habeas_register::Timestamp;

const DAY_MS: i64 = 86_400_000;

#[derive(Template)]
#[template(path = "ui/death.html")]
pub(crate) struct DeathPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    subject: String,
    person: u64,
    booking: u64,
    /// The custody is open, and the caller records deaths: the form that records one.
    record_form: bool,
    /// The case, once the death is recorded.
    case: Option<CaseView>,
    /// The steps not yet recorded, for the step form (empty when the caller records none).
    offered: Vec<(&'static str, String)>,
    /// The policy's days, said once.
    hint: String,
    /// What the form sent, shown again when it is refused.
    form: DeathForm,
    said: Said,
}

/// The death and its case as the page shows them.
pub struct CaseView {
    /// The death's entry: the case.
    pub idx: u64,
    pub when: String,
    pub place: String,
    pub circumstances: String,
    pub violent: bool,
    /// Each step recorded: what, when, the detail, when written.
    pub steps: Vec<(String, String, String, String)>,
    /// Each step still due, with its day and whether it has passed.
    pub due: Vec<(String, bool)>,
    /// The steps still due, by name.
    pending: Vec<&'static str>,
}

/// The roles that record a death (as `POST /api/deaths`).
const RECORDERS: &[Role] = &[Role::Custody, Role::Health, Role::Director];
/// The roles that record a step of its case (as `POST /api/death-steps`).
const STEPPERS: &[Role] = &[Role::Health, Role::Director, Role::National];
/// The roles that read the page: either, and the inspectors (who change nothing).
const READERS: &[Role] = &[
    Role::Custody,
    Role::Health,
    Role::Director,
    Role::National,
    Role::Inspector,
];

/// The page's forms: `what` is `death` (the death) or `step` (a step of its case).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct DeathForm {
    #[serde(default)]
    csrf: String,
    booking: u64,
    #[serde(default)]
    what: String,
    /// Filled from the custody, never from the form.
    #[serde(skip)]
    facility: String,
    /// When (`YYYY-MM-DDTHH:MM`, the facility's local time, or a time with its offset); now
    /// when empty.
    #[serde(default)]
    at: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    circumstances: String,
    /// A checkbox: `on` when ticked.
    #[serde(default)]
    violent: Option<String>,
    #[serde(default)]
    step: String,
    #[serde(default)]
    detail: String,
}

/// The death of the custody `booking` of `person` and the steps of its case, read from their
/// entries (each step's detail is kept there, not in the projections).
fn case_of(
    state: &AppState,
    person: u64,
    booking: u64,
) -> ApiResult<Option<(habeas_register::Entry, Vec<habeas_register::Entry>)>> {
    let mut death: Option<habeas_register::Entry> = None;
    let mut steps = Vec::new();
    state.store.person_entries(person, &mut |b, idx, bytes| {
        if b != booking {
            return Ok(true);
        }
        let e = habeas_register::Entry::decode(bytes).map_err(|e| {
            habeas_register::store::StoreError::Corrupt(format!("entry {idx}: {e}"))
        })?;
        match e.kind.as_str() {
            habeas_core::kinds::DEATH => death = Some(e),
            habeas_core::kinds::DEATH_STEP => steps.push(e),
            _ => {}
        }
        Ok(true)
    })?;
    Ok(death.map(|d| {
        let steps = steps
            .into_iter()
            .filter(|s| s.payload["case"].as_u64() == Some(d.index))
            .collect();
        (d, steps)
    }))
}

/// The page of a custody of the caller's facility, or why it cannot be shown. What the form
/// would write decides the roles: a death its recorders, a step its own, a look either.
fn death_view(
    state: &AppState,
    caller: &Caller,
    form: DeathForm,
) -> ApiResult<Result<DeathPage, Response>> {
    let booking = form.booking;
    let (roles, action) = match form.what.as_str() {
        "death" => (RECORDERS, "record a death"),
        "step" => (STEPPERS, "record a death-case step"),
        _ => (READERS, "read a death case"),
    };
    let OpenCustody {
        file,
        custody,
        tr,
        who,
        csrf,
        subject,
    } = match custody_page(state, caller, (booking, "/ui/death", true), roles, action)? {
        Ok(found) => found,
        Err(r) => return Ok(Err(r)),
    };
    let policy = habeas_core::compliance::Policy::mandela_minimum()
        .map_err(|e| ApiError::internal(e.message))?
        .deaths;
    let now = state.clock.now();
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let step_name = |s: &str| {
        tr.known(&format!("death-step-{s}"))
            .unwrap_or_else(|| s.to_owned())
    };
    let case = case_of(state, file.person, booking)?.map(|(death, steps)| {
        let at = text(&death.payload, "at");
        let died = Timestamp::parse(&at).ok();
        let pending: Vec<&'static str> = habeas_core::events::DEATH_STEPS
            .into_iter()
            .filter(|s| !steps.iter().any(|d| d.payload["step"] == *s))
            .collect();
        let due = pending
            .iter()
            .map(|s| {
                let days = policy.days_for(s).unwrap_or(0);
                let by = died.map(|t| Timestamp(t.millis() + i64::from(days) * DAY_MS));
                let when = by.map_or_else(|| at.clone(), |t| tr.time(&t.to_string()));
                (
                    tr.i18n.message(
                        tr.lang,
                        if days == 1 {
                            "death-due-one"
                        } else {
                            "death-due"
                        },
                        &[
                            ("step", step_name(s)),
                            ("days", days.to_string()),
                            ("due", when),
                        ],
                    ),
                    by.is_some_and(|t| t < now),
                )
            })
            .collect();
        CaseView {
            idx: death.index,
            when: tr.time(&at),
            place: text(&death.payload, "place"),
            circumstances: text(&death.payload, "circumstances"),
            violent: death.payload["violent"] == true,
            steps: steps
                .iter()
                .map(|s| {
                    (
                        step_name(&text(&s.payload, "step")),
                        tr.time(&text(&s.payload, "at")),
                        text(&s.payload, "detail"),
                        tr.time(&s.time.to_string()),
                    )
                })
                .collect(),
            due,
            pending,
        }
    });
    let offered = match &case {
        Some(c) if STEPPERS.contains(&caller.role) => {
            c.pending.iter().map(|s| (*s, step_name(s))).collect()
        }
        _ => Vec::new(),
    };
    Ok(Ok(DeathPage {
        subject,
        hint: tr.i18n.message(
            tr.lang,
            "death-hint",
            &[
                ("family", policy.family_informed_days.to_string()),
                (
                    "authority",
                    policy.independent_authority_informed_days.to_string(),
                ),
                (
                    "investigation",
                    policy.investigation_opened_days.to_string(),
                ),
                ("post_mortem", policy.post_mortem_days.to_string()),
                ("remains", policy.remains_returned_days.to_string()),
            ],
        ),
        record_form: custody.ended_by.is_none() && RECORDERS.contains(&caller.role),
        who,
        csrf,
        person: file.person,
        booking,
        case,
        offered,
        form: DeathForm {
            facility: custody.facility,
            ..form
        },
        said: Said::default(),
        tr,
    }))
}

impl FilePage for DeathPage {
    const PREFIX: &'static str = "death";
    fn tr(&self) -> &Tr {
        &self.tr
    }
    fn said(&mut self) -> &mut Said {
        &mut self.said
    }
    /// The death, or a step of this custody's case (never one the form names), checked as the
    /// API checks it.
    fn draft(
        &self,
        now: Timestamp,
        actor: &habeas_core::ids::Actor,
    ) -> Result<habeas_register::Draft, (String, String)> {
        let f = &self.form;
        let at = self.tr.form_time_or(&f.at, now);
        match f.what.as_str() {
            "death" => habeas_core::events::Death::new(
                &f.facility,
                f.booking,
                &at,
                &f.place,
                &f.circumstances,
                f.violent.is_some(),
                now,
            )
            .map(|d| d.to_draft(actor))
            .map_err(|e| self.tr.refused(e)),
            "step" => {
                let case = self.case.as_ref().ok_or_else(|| {
                    (
                        "step".to_owned(),
                        "no death is recorded for this custody".to_owned(),
                    )
                })?;
                habeas_core::events::death_step(
                    &f.facility,
                    case.idx,
                    &f.step,
                    &at,
                    &f.detail,
                    now,
                    actor,
                )
                .map_err(|e| self.tr.refused(e))
            }
            other => Err((
                "what".to_owned(),
                format!("{other:?} is neither a death nor a step"),
            )),
        }
    }
    fn recorded(&self) -> &'static str {
        if self.form.what == "step" {
            "death-done-step"
        } else {
            "death-recorded"
        }
    }
}

impl FileForm for DeathForm {
    type Page = DeathPage;
    const VIEW: FileView<DeathPage, Self> = death_view;
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
        if self.what == "step" {
            "record a death-case step"
        } else {
            "record a death"
        }
    }
}
