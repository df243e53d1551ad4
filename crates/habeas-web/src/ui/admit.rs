//! The admission in three steps, carried in the form between steps; checked by the domain, a
//! problem shown beside its field; appended through the group-committing writer.

use super::*;

/// The fields of the admission form, by step (Rule 7: identity; legal basis; arrest,
/// admission and the person's state; belongings, family and consular assistance).
const ADMIT_FIELDS: [&[&str]; 4] = [
    &[
        "facility",
        "given_names",
        "surname1",
        "surname2",
        "aliases",
        "birth_date",
        "sex",
        "gender",
        "nationalities",
        "documents",
        "language",
    ],
    &[
        "legal_status",
        "order_kind",
        "order_authority",
        "order_reference",
        "order_issued",
        "order_expires",
        "pending_order",
        "brought_by",
        "orders_shown",
    ],
    &[
        "arrest_at",
        "arrest_place",
        "arrest_authority",
        "admitted_at",
        "injuries",
        "ill_treatment",
    ],
    &[
        "property",
        "family",
        "children",
        "emergency_name",
        "emergency_relationship",
        "emergency_phone",
        "consular_advised_at",
        "consular_not_advised",
        "consular_requested",
        "consular_notified_at",
    ],
];

/// The steps.
const STEPS: usize = ADMIT_FIELDS.len();

/// The fields a step must have before the next.
const ADMIT_REQUIRED: [&[&str]; 4] = [
    &["given_names", "surname1", "birth_date", "nationalities"],
    &[],
    &[
        "arrest_at",
        "arrest_place",
        "arrest_authority",
        "admitted_at",
    ],
    &[],
];

/// The list fields, one entry a line and its parts separated by `;`: how many parts a line
/// has at least and at most.
const LINES: [(&str, usize, usize); 4] = [
    ("documents", 2, 3),
    ("property", 1, 3),
    ("family", 2, 3),
    ("children", 3, 3),
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
        let step = step.clamp(1, STEPS);
        let hidden = ADMIT_FIELDS
            .iter()
            .enumerate()
            .filter(|(i, _)| i + 1 != step)
            .flat_map(|(_, names)| names.iter())
            .map(|n| ((*n).to_owned(), vals.get(*n).cloned().unwrap_or_default()))
            .collect();
        Self {
            step_label: tr.t2(
                "admit-step",
                "step",
                &step.to_string(),
                "steps",
                &STEPS.to_string(),
            ),
            who: who_without_day(caller, "/ui/admissions"),
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

pub(crate) async fn admit_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = only(state, &caller, &[Role::Registry, Role::Director], "admit") {
            return Ok(r);
        }
        let tr = admit_tr(state, &caller, caller.user.facilities.first())?;
        let now = i18n::wall_clock(&state.clock.now().to_string(), tr.offset).unwrap_or_default();
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
    .await
}

/// The caller's messages for an admission to `facility`: its times at that facility's local
/// time when the caller works there, else in UTC.
fn admit_tr(state: &AppState, caller: &Caller, facility: Option<&String>) -> ApiResult<Tr> {
    match facility.map(|f| f.trim()) {
        Some(f) if caller.covers(f) => local_tr(state, caller, f),
        _ => Tr::new(lang_of(caller)),
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
        _ if f.starts_with("held_pending_order") => ("brought_by", 2),
        _ if f.starts_with("aliases") => ("aliases", 1),
        "gender" => ("gender", 1),
        "language" => ("language", 1),
        _ if f.starts_with("documents") => ("documents", 1),
        "arrest.at" => ("arrest_at", 3),
        "arrest.place" => ("arrest_place", 3),
        "arrest.authority" => ("arrest_authority", 3),
        _ if f.starts_with("injuries") => ("injuries", 3),
        _ if f.starts_with("ill_treatment_complaints") => ("ill_treatment", 3),
        _ if f.starts_with("property") => ("property", 4),
        _ if f.starts_with("family") => ("family", 4),
        _ if f.starts_with("children") => ("children", 4),
        "emergency_contact.name" => ("emergency_name", 4),
        "emergency_contact.relationship" => ("emergency_relationship", 4),
        _ if f.starts_with("emergency_contact") => ("emergency_phone", 4),
        "consular.notified_at" => ("consular_notified_at", 4),
        _ if f.starts_with("consular") => ("consular_advised_at", 4),
        // A probable match: the registry says whether this is someone else.
        "person" | "new_person" => ("new_person", 4),
        _ => ("admitted_at", 3),
    }
}

/// The lines of a text area, trimmed, the empty ones left out.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The lines of a list field, each split at `;` into its trimmed parts.
fn parts(text: &str) -> Vec<Vec<String>> {
    lines(text)
        .iter()
        .map(|l| l.split(';').map(|p| p.trim().to_owned()).collect())
        .collect()
}

/// Every problem of a step's own fields, by field, in the reader's language: what is
/// required, dates and times that are not, list lines with too few or too many parts, and a
/// legal basis that is neither an order nor a person held pending one.
fn step_problems(
    tr: &Tr,
    step: usize,
    v: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    let get = |k: &str| v.get(k).map_or("", |s| s.trim());
    let mut out = std::collections::BTreeMap::new();
    for n in ADMIT_REQUIRED.get(step - 1).copied().unwrap_or_default() {
        if get(n).is_empty() {
            out.insert((*n).to_owned(), tr.t("admit-required"));
        }
    }
    let date = |out: &mut std::collections::BTreeMap<String, String>, n: &str| {
        if !get(n).is_empty() && habeas_core::dates::Date::parse(n, get(n)).is_err() {
            out.insert(n.to_owned(), tr.t("admit-bad-date"));
        }
    };
    let time = |out: &mut std::collections::BTreeMap<String, String>, n: &str| {
        if !get(n).is_empty() && habeas_core::dates::parse_time(&tr.form_time(get(n))).is_none() {
            out.insert(n.to_owned(), tr.t("admit-bad-time"));
        }
    };
    for (name, min, max) in LINES {
        if ADMIT_FIELDS[step - 1].contains(&name) {
            if let Some(i) = parts(get(name))
                .iter()
                .position(|p| p.len() < min || p.len() > max || p.iter().any(String::is_empty))
            {
                out.insert(
                    name.to_owned(),
                    tr.t1(&format!("admit-{name}-line"), "line", &(i + 1).to_string()),
                );
            }
        }
    }
    match step {
        1 => date(&mut out, "birth_date"),
        2 => {
            if get("pending_order") == "on" {
                if get("brought_by").is_empty() {
                    out.insert("brought_by".to_owned(), tr.t("admit-required"));
                }
            } else if get("order_kind") == "none" {
                out.insert("order_kind".to_owned(), tr.t("admit-no-order"));
            } else {
                for n in ["order_authority", "order_reference", "order_issued"] {
                    if get(n).is_empty() {
                        out.insert(n.to_owned(), tr.t("admit-required"));
                    }
                }
            }
            date(&mut out, "order_issued");
            date(&mut out, "order_expires");
        }
        3 => {
            time(&mut out, "arrest_at");
            time(&mut out, "admitted_at");
        }
        4 => {
            time(&mut out, "consular_advised_at");
            time(&mut out, "consular_notified_at");
            if !get("emergency_name").is_empty() {
                for n in ["emergency_relationship", "emergency_phone"] {
                    if get(n).is_empty() {
                        out.insert(n.to_owned(), tr.t("admit-required"));
                    }
                }
            }
            if let Some(i) = parts(get("children"))
                .iter()
                .position(|p| p.first().is_none_or(|a| a.parse::<u32>().is_err()))
            {
                out.entry("children".to_owned())
                    .or_insert_with(|| tr.t1("admit-children-line", "line", &(i + 1).to_string()));
            }
        }
        _ => {}
    }
    out
}

/// A refusal of the domain in the reader's language where the catalogue has it (by its
/// field, else by its words), else as the domain gave it.
fn domain_message(tr: &Tr, e: &habeas_core::DomainError) -> String {
    let field = e.field.as_str();
    let key = format!(
        "admit-refused-{}",
        field
            .split(['.', '['])
            .next()
            .unwrap_or(field)
            .replace('_', "-")
    );
    tr.known(&key)
        .unwrap_or_else(|| tr.refusal(e.words.as_ref(), &e.message))
}

/// The admission a completed form asks for, as the JSON of `habeas admit` (its times read at
/// `tr`'s local time).
fn admission_json(v: &std::collections::BTreeMap<String, String>, tr: &Tr) -> serde_json::Value {
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
    let mut admission = serde_json::json!({
        "facility": get("facility"),
        "person": {
            "given_names": get("given_names"),
            "surnames": surnames,
            "birth_date": get("birth_date"),
            "sex": get("sex"),
            "nationalities": get("nationalities").split(',').map(str::trim).filter(|n| !n.is_empty()).collect::<Vec<_>>(),
        },
        "admitted_at": tr.form_time(get("admitted_at")),
        "legal_status": get("legal_status"),
        "orders": orders,
        "arrest": {"at": tr.form_time(get("arrest_at")), "place": get("arrest_place"), "authority": get("arrest_authority")},
        "new_person": get("new_person") == "on",
        "injuries": lines(get("injuries")),
        "ill_treatment_complaints": lines(get("ill_treatment")),
        "property": parts(get("property")).iter().map(|p| {
            serde_json::json!({"item": p[0], "quantity": p.get(1).and_then(|q| q.parse::<u32>().ok()).unwrap_or(1), "description": p.get(2)})
        }).collect::<Vec<_>>(),
        "family": parts(get("family")).iter().map(|p| {
            serde_json::json!({"name": p[0], "relationship": p.get(1), "contact": p.get(2)})
        }).collect::<Vec<_>>(),
        "children": parts(get("children")).iter().map(|p| {
            serde_json::json!({"age": p[0].parse::<u32>().unwrap_or(u32::MAX), "whereabouts": p.get(1), "carer": p.get(2)})
        }).collect::<Vec<_>>(),
    });
    let person = &mut admission["person"];
    person["aliases"] = lines(get("aliases")).into();
    person["documents"] = parts(get("documents"))
        .iter()
        .map(|p| serde_json::json!({"kind": p[0], "number": p.get(1), "issuer": p.get(2)}))
        .collect::<Vec<_>>()
        .into();
    for (field, key) in [("gender", "gender"), ("language", "language")] {
        if !get(field).is_empty() {
            person[key] = get(field).into();
        }
    }
    if !get("emergency_name").is_empty() {
        admission["emergency_contact"] = serde_json::json!({
            "name": get("emergency_name"), "relationship": get("emergency_relationship"),
            "phone": get("emergency_phone"),
        });
    }
    // Not told of consular rights is recorded as it is (and found), never left off the books.
    let not_advised = get("consular_not_advised") == "on";
    if !get("consular_advised_at").is_empty() || not_advised {
        let mut c = serde_json::json!({
            "notification_requested": get("consular_requested") == "on",
        });
        if !get("consular_advised_at").is_empty() {
            c["rights_advised_at"] = tr.form_time(get("consular_advised_at")).into();
        }
        if !get("consular_notified_at").is_empty() {
            c["notified_at"] = tr.form_time(get("consular_notified_at")).into();
        }
        admission["consular"] = c;
    }
    if get("pending_order") == "on" {
        let shown: Vec<&str> = [get("orders_shown")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        admission["held_pending_order"] =
            serde_json::json!({"brought_by": get("brought_by"), "orders_shown": shown});
    }
    admission
}

pub(crate) async fn admit_form(
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
        if let Some(r) = only(&state, &caller, &[Role::Registry, Role::Director], "admit") {
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
        let tr = admit_tr(&state, &caller, form.get("facility"))?;
        let step: usize = form
            .get("step")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .clamp(1, STEPS);
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
        // The step's own fields first, every problem beside its field.
        let problems = step_problems(&tr, step, &vals);
        if !problems.is_empty() {
            let mut page = AdmitPage::new(tr, &caller, step, vals);
            page.errors = problems;
            return Ok((html(StatusCode::BAD_REQUEST, &page), None));
        }
        if go != "submit" || step < STEPS {
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
            match serde_path_to_error::deserialize(admission_json(&vals, &tr)) {
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
            Err(e) => {
                let message = domain_message(&tr, &e);
                return Ok((refuse(tr, &e.field, message), None));
            }
        };
        if !caller.covers(checked.facility.as_str()) {
            return Ok((
                scoped(&state, &caller, checked.facility.as_str(), "admit").unwrap_or_else(|| {
                    error_page(StatusCode::FORBIDDEN, &caller, "error-forbidden")
                }),
                None,
            ));
        }
        let actor = crate::api::actor(&caller)?;
        let draft = checked.to_draft(&actor);
        Ok((Response::default(), Some((tr, caller, vals, draft))))
    })
    .await;
    let (tr, caller, vals, draft) = match outcome {
        Err(e) => return e.into_response(),
        Ok((page, None)) => return page,
        Ok((_, Some(parts))) => parts,
    };
    match commit(&shared, draft).await {
        Ok(Ok(entry)) => {
            let mut page = AdmitPage::new(tr, &caller, STEPS, vals);
            page.done = Some(page.tr.t1("admit-done", "entry", &entry.to_string()));
            page.file_href = format!("/ui/persons/{entry}");
            html(StatusCode::CREATED, &page)
        }
        Ok(Err(r)) => {
            let (name, at) = admit_field(r.field.as_deref().unwrap_or(""));
            let mut page = AdmitPage::new(tr, &caller, at, vals);
            let why = page.tr.rejection(&r);
            page.errors.insert(name.to_owned(), why);
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(answer) => answer,
    }
}
