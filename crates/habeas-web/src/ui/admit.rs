//! The admission in three steps, carried in the form between steps; checked by the domain, a
//! problem shown beside its field; appended through the group-committing writer.

use super::*;

/// The fields of the admission form, by step.
const ADMIT_FIELDS: [&[&str]; 3] = [
    &[
        "facility",
        "given_names",
        "surname1",
        "surname2",
        "birth_date",
        "sex",
        "nationalities",
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
    ],
];

/// The fields a step must have before the next.
const ADMIT_REQUIRED: [&[&str]; 3] = [
    &["given_names", "surname1", "birth_date", "nationalities"],
    &[],
    &[
        "arrest_at",
        "arrest_place",
        "arrest_authority",
        "admitted_at",
    ],
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
        let step = step.clamp(1, 3);
        let hidden = ADMIT_FIELDS
            .iter()
            .enumerate()
            .filter(|(i, _)| i + 1 != step)
            .flat_map(|(_, names)| names.iter())
            .map(|n| ((*n).to_owned(), vals.get(*n).cloned().unwrap_or_default()))
            .collect();
        Self {
            step_label: tr.t1("admit-step", "step", &step.to_string()),
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

pub(super) async fn admit_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = only(state, &caller, &[Role::Registry, Role::Director], "admit") {
            return Ok(r);
        }
        let tr = Tr::new(lang_of(&caller))?;
        let now = state.clock.now().to_string();
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
        "arrest.at" => ("arrest_at", 3),
        "arrest.place" => ("arrest_place", 3),
        "arrest.authority" => ("arrest_authority", 3),
        // A probable match: the registry says whether this is someone else.
        "person" | "new_person" => ("new_person", 3),
        _ => ("admitted_at", 3),
    }
}

/// The admission a completed form asks for, as the JSON of `habeas admit`.
fn admission_json(v: &std::collections::BTreeMap<String, String>) -> serde_json::Value {
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
        "admitted_at": form_time(get("admitted_at")),
        "legal_status": get("legal_status"),
        "orders": orders,
        "arrest": {"at": form_time(get("arrest_at")), "place": get("arrest_place"), "authority": get("arrest_authority")},
        "new_person": get("new_person") == "on",
    });
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

pub(super) async fn admit_form(
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
        let tr = Tr::new(lang_of(&caller))?;
        let step: usize = form
            .get("step")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .clamp(1, 3);
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
        // The step's own fields first.
        let missing: Vec<&str> = ADMIT_REQUIRED[step - 1]
            .iter()
            .copied()
            .filter(|n| vals.get(*n).is_none_or(|v| v.trim().is_empty()))
            .collect();
        if !missing.is_empty() {
            let required = tr.t("admit-required");
            let mut page = AdmitPage::new(tr, &caller, step, vals);
            for n in missing {
                page.errors.insert(n.to_owned(), required.clone());
            }
            return Ok((html(StatusCode::BAD_REQUEST, &page), None));
        }
        if go != "submit" || step < 3 {
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
            match serde_path_to_error::deserialize(admission_json(&vals)) {
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
            Err(e) => return Ok((refuse(tr, &e.field, e.message), None)),
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
            let mut page = AdmitPage::new(tr, &caller, 3, vals);
            page.done = Some(page.tr.t1("admit-done", "entry", &entry.to_string()));
            page.file_href = format!("/ui/persons/{entry}");
            html(StatusCode::CREATED, &page)
        }
        Ok(Err(r)) => {
            let (name, at) = admit_field(r.field.as_deref().unwrap_or(""));
            let mut page = AdmitPage::new(tr, &caller, at, vals);
            page.errors.insert(name.to_owned(), r.message);
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(answer) => answer,
    }
}
