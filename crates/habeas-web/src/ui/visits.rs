//! The visit register of a facility: visits from outside (inspectors, the national preventive
//! mechanism, judges, NGOs, the press, influencers, media tours, officials), or the requests for
//! them, and what became of each. The registry and the direction record them; inspectors and
//! the national administration read them. An independent monitor refused while others are
//! admitted, and people held shown to the public, are findings (Mandela Rules 83–85; OPCAT
//! arts. 14 and 20; Rule 1, by analogy Rule 73(1)).

use super::*;
use habeas_core::record::{Exposure, RecordInput, VisitOutcome, VisitorKind};

/// Who records visits: the registry and the direction.
const STAFF: &[Role] = &[Role::Registry, Role::Director];

/// Who reads the register: the staff who keep it, inspectors and the national administration.
const READERS: &[Role] = &[
    Role::Registry,
    Role::Director,
    Role::Inspector,
    Role::National,
];

const KINDS: [VisitorKind; 9] = [
    VisitorKind::Inspector,
    VisitorKind::Npm,
    VisitorKind::Judge,
    VisitorKind::Ngo,
    VisitorKind::Journalist,
    VisitorKind::Influencer,
    VisitorKind::MediaTour,
    VisitorKind::Official,
    VisitorKind::Other,
];

const OUTCOMES: [VisitOutcome; 4] = [
    VisitOutcome::Admitted,
    VisitOutcome::Refused,
    VisitOutcome::Restricted,
    VisitOutcome::Pending,
];

const EXPOSURES: [Exposure; 3] = [
    Exposure::Nobody,
    Exposure::FacesHidden,
    Exposure::Identifiable,
];

#[derive(Template)]
#[template(path = "ui/visits.html")]
struct VisitsPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    facility: String,
    facilities: Vec<String>,
    summary: String,
    /// Each row's class (`expired` for a monitor refused or restricted, or people shown) and
    /// cells.
    rows: Vec<(&'static str, Vec<String>)>,
    /// Whether the caller records visits (the form is shown).
    can_record: bool,
    /// The choices of the form: (value, label).
    kinds: Vec<(&'static str, String)>,
    outcomes: Vec<(&'static str, String)>,
    exposures: Vec<(&'static str, String)>,
    done: Option<String>,
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VisitsQuery {
    facility: Option<String>,
    /// The entry just recorded.
    recorded: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VisitsForm {
    csrf: String,
    facility: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    requested_at: String,
    #[serde(default)]
    visitor_kind: String,
    #[serde(default)]
    visitor: String,
    /// `by_kind`, `yes` or `no` (stated only for the kind `other`).
    #[serde(default)]
    independent: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    authority: String,
    #[serde(default)]
    private_interviews: String,
    /// One area a line.
    #[serde(default)]
    areas_visited: String,
    #[serde(default)]
    areas_withheld: String,
    #[serde(default)]
    people_exposed: String,
    #[serde(default)]
    people_shown: String,
    #[serde(default)]
    notes: String,
    /// The entry of the pending request this record answers.
    #[serde(default)]
    answers: String,
}

/// A value of a known kind in the page's language (`visitor-kind-media_tour`), else as stored.
fn label(tr: &Tr, catalogue: &str, value: &str) -> String {
    tr.known(&format!("{catalogue}-{value}"))
        .unwrap_or_else(|| value.to_owned())
}

fn view(
    state: &AppState,
    caller: &Caller,
    asked: Option<String>,
) -> ApiResult<Result<VisitsPage, Response>> {
    let (facility, facilities) =
        match register_facility(state, caller, READERS, asked, "read the visit register")? {
            Ok(f) => f,
            Err(r) => return Ok(Err(r)),
        };
    let tr = local_tr(state, caller, &facility)?;
    let visits = state.store.oversight_visits(&facility, 500)?;
    state.listed(caller, &facility, "visits register", None, 0)?;
    let rows = visits
        .iter()
        .map(|v| {
            let monitor_kept_out =
                v.independent && v.outcome != "admitted" && v.outcome != "pending";
            let shown = v.people_exposed == "identifiable" && !v.independent;
            let mut outcome = label(&tr, "visit-outcome", &v.outcome);
            if let Some(r) = &v.reason {
                outcome.push_str(&format!(": {r}"));
            }
            if let Some(a) = &v.authority {
                outcome.push_str(&format!(" ({a})"));
            }
            let exposed = if v.people_exposed == "none" {
                label(&tr, "exposure", "none")
            } else {
                tr.t2(
                    "visits-shown",
                    "how",
                    &label(&tr, "exposure", &v.people_exposed),
                    "count",
                    &i18n::int(tr.lang, v.people_shown),
                )
            };
            (
                if monitor_kept_out || shown {
                    "expired"
                } else {
                    ""
                },
                vec![
                    v.idx.to_string(),
                    tr.time(&v.at),
                    v.requested_at
                        .as_deref()
                        .map(|t| tr.time(t))
                        .unwrap_or_default(),
                    format!(
                        "{} ({})",
                        v.visitor,
                        label(&tr, "visitor-kind", &v.visitor_kind)
                    ),
                    tr.t(if v.independent { "yes" } else { "no" }),
                    outcome,
                    tr.t(if v.private_interviews { "yes" } else { "no" }),
                    exposed,
                ],
            )
        })
        .collect();
    let choices = |catalogue: &str, values: &[&'static str]| {
        values
            .iter()
            .map(|v| (*v, label(&tr, catalogue, v)))
            .collect::<Vec<_>>()
    };
    let kinds = choices("visitor-kind", &KINDS.map(VisitorKind::as_str));
    let outcomes = choices("visit-outcome", &OUTCOMES.map(VisitOutcome::as_str));
    let exposures = choices("exposure", &EXPOSURES.map(Exposure::as_str));
    Ok(Ok(VisitsPage {
        who: who_at(state, caller, "/ui/visits", tr.offset),
        csrf: caller.csrf.clone().unwrap_or_default(),
        summary: tr.t1(
            "visits-summary",
            "count",
            &i18n::int(tr.lang, visits.len() as u64),
        ),
        can_record: STAFF.contains(&caller.role),
        facility,
        facilities,
        rows,
        kinds,
        outcomes,
        exposures,
        done: None,
        refusal: None,
        tr,
    }))
}

pub(crate) async fn visits_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<VisitsQuery>,
    headers: HeaderMap,
) -> Response {
    record_page_get(
        state,
        headers,
        (q.facility, q.recorded),
        view,
        "visits-done",
    )
    .await
}

/// The form's record, as the API would take it: empty fields are absent, times are read at the
/// page's local time (`tr`'s); a field the form cannot read (an unknown kind, a number that
/// is not one) is named.
fn input(form: &VisitsForm, now: &str, tr: &Tr) -> Result<RecordInput, (&'static str, String)> {
    let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_owned());
    let lines = |v: &str| -> Vec<String> {
        v.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let visitor_kind = VisitorKind::parse(&form.visitor_kind)
        .ok_or_else(|| ("visitor_kind", form.visitor_kind.clone()))?;
    let outcome =
        VisitOutcome::parse(&form.outcome).ok_or_else(|| ("outcome", form.outcome.clone()))?;
    let people_exposed = match opt(&form.people_exposed) {
        None => Exposure::Nobody,
        Some(e) => Exposure::parse(&e).ok_or(("people_exposed", e))?,
    };
    let people_shown = match opt(&form.people_shown) {
        None => None,
        Some(n) => Some(n.parse::<u32>().map_err(|_| ("people_shown", n))?),
    };
    let answers = match opt(&form.answers) {
        None => None,
        Some(n) => Some(n.parse::<u64>().map_err(|_| ("answers", n))?),
    };
    Ok(RecordInput::OversightVisit {
        facility: form.facility.clone(),
        at: opt(&form.at)
            .map(|t| tr.form_time(&t))
            .unwrap_or_else(|| now.to_owned()),
        requested_at: opt(&form.requested_at).map(|t| tr.form_time(&t)),
        visitor_kind,
        visitor: form.visitor.clone(),
        independent: match form.independent.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        outcome,
        reason: opt(&form.reason),
        authority: opt(&form.authority),
        private_interviews: form.private_interviews == "yes",
        areas_visited: lines(&form.areas_visited),
        areas_withheld: lines(&form.areas_withheld),
        people_exposed,
        people_shown,
        notes: opt(&form.notes),
        answers,
    })
}

record_page!(VisitsPage, "visits-field");

pub(crate) async fn visits_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<VisitsForm>,
) -> Response {
    record_form(
        state,
        headers,
        (form.csrf.clone(), form.facility.clone()),
        STAFF,
        ("record a visit", "/ui/visits"),
        view,
        move |state, caller, page: &VisitsPage| {
            Ok(
                match input(&form, &state.clock.now().to_string(), &page.tr) {
                    Ok(i) => i
                        .validate(state.clock.now(), &crate::api::actor(caller)?)
                        .map_err(|e| page.tr.refused(e)),
                    Err((field, value)) => Err((
                        field.to_owned(),
                        page.tr.t1("visits-not-known", "value", &value),
                    )),
                },
            )
        },
    )
    .await
}
