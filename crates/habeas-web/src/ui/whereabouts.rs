//! The court's and the ombudsman's page: where is this person held, since when, on what legal
//! basis (the whereabouts answer, `crate::whereabouts`), in the reader's language, with the
//! signed answer file to take away and check (`/verify`, `habeas check-answer`).

use super::*;
use crate::whereabouts::{ask, DocumentQuestion, Question, ASKERS};
use serde_json::Value;

#[derive(Template)]
#[template(path = "ui/whereabouts.html")]
struct WhereaboutsPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    form: WhereaboutsForm,
    /// Problems beside their fields: (field, message).
    errors: Vec<(String, String)>,
    answer: Option<ShownAnswer>,
}

/// What the page says of an answer.
struct ShownAnswer {
    status: String,
    /// The answer in sentences of the reader's language.
    lines: Vec<String>,
    checkpoint: String,
    /// The signed answer file, as JSON, to save and check.
    file: String,
    file_name: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct WhereaboutsForm {
    #[serde(default)]
    csrf: String,
    /// `document` or `name`.
    #[serde(default)]
    by: String,
    #[serde(default)]
    doc_kind: String,
    #[serde(default)]
    doc_number: String,
    #[serde(default)]
    doc_issuer: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    case_reference: String,
}

impl WhereaboutsPage {
    fn error(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn page(caller: &Caller, form: WhereaboutsForm) -> ApiResult<WhereaboutsPage> {
    Ok(WhereaboutsPage {
        tr: Tr::new(lang_of(caller))?,
        who: who_without_day(caller, "/ui/whereabouts"),
        csrf: caller.csrf.clone().unwrap_or_default(),
        form: WhereaboutsForm {
            by: if form.by.is_empty() {
                "document".to_owned()
            } else {
                form.by
            },
            ..form
        },
        errors: Vec::new(),
        answer: None,
    })
}

pub(crate) async fn whereabouts_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = only(state, &caller, ASKERS, "ask whereabouts") {
            return Ok(r);
        }
        Ok(html(
            StatusCode::OK,
            &page(&caller, WhereaboutsForm::default())?,
        ))
    })
    .await
}

/// The answer in the reader's words.
fn shown(tr: &Tr, file: &Value) -> ShownAnswer {
    let a = &file["answer"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let status = s(&a["status"]);
    let mut lines = Vec::new();
    let lang = tr.lang;
    match status.as_str() {
        "held" => {
            lines.push(tr.t2(
                "where-held",
                "facility",
                &s(&a["facility"]),
                "since",
                &i18n::date_time(lang, &s(&a["since"])),
            ));
            let b = &a["legal_basis"];
            if b.is_object() {
                let kind = tr
                    .known(&format!("order-{}", s(&b["kind"])))
                    .unwrap_or_else(|| s(&b["kind"]));
                lines.push(tr.t2(
                    "where-basis",
                    "kind",
                    &kind,
                    "reference",
                    &format!("{} ({})", s(&b["reference"]), s(&b["authority"])),
                ));
                lines.push(match b["expires"].as_str() {
                    Some(e) if b["in_force"] == true => {
                        tr.t1("where-basis-until", "date", &i18n::date(lang, e))
                    }
                    Some(e) => tr.t1("where-basis-expired", "date", &i18n::date(lang, e)),
                    None => tr.t("where-basis-open"),
                });
            } else {
                lines.push(tr.t("where-no-basis"));
            }
            lines.push(match a["next_hearing"]["date"].as_str() {
                Some(d) => tr.t2(
                    "where-next-hearing",
                    "date",
                    &i18n::date(lang, d),
                    "court",
                    &s(&a["next_hearing"]["court"]),
                ),
                None => tr.t("where-no-hearing"),
            });
        }
        "released" | "transferred" | "dead" | "escaped" => {
            let ended = &a["ended"];
            let at = ended["at"]
                .as_str()
                .map_or_else(String::new, |t| i18n::date_time(lang, t));
            lines.push(tr.t2(
                &format!("where-{status}"),
                "facility",
                &s(&a["facility"]),
                "at",
                &at,
            ));
            if let Some(to) = ended["to"].as_str() {
                lines.push(tr.t1("where-to", "to", to));
            }
        }
        "ambiguous" => lines.push(tr.t1(
            "where-ambiguous",
            "count",
            &a["matches"].as_u64().unwrap_or(0).to_string(),
        )),
        _ => lines.push(tr.t("where-not-held")),
    }
    let size = a["checkpoint"]["size"].as_u64().unwrap_or(0);
    ShownAnswer {
        status: status.clone(),
        lines,
        checkpoint: tr.t1("where-checkpoint", "size", &i18n::int(lang, size)),
        file: serde_json::to_string_pretty(file).unwrap_or_default(),
        file_name: format!(
            "whereabouts-{}.json",
            s(&a["asked"]["case_reference"])
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
        ),
    }
}

pub(crate) async fn whereabouts_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<WhereaboutsForm>,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = check_form(state, &caller, &form.csrf, "ask whereabouts") {
            return Ok(r);
        }
        if let Some(r) = only(state, &caller, ASKERS, "ask whereabouts") {
            return Ok(r);
        }
        let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_owned());
        let question = if form.by == "name" {
            Question {
                document: None,
                name: opt(&form.name),
                birth_date: opt(&form.birth_date),
                purpose: form.purpose.clone(),
                case_reference: form.case_reference.clone(),
            }
        } else {
            Question {
                document: Some(DocumentQuestion {
                    kind: form.doc_kind.clone(),
                    number: form.doc_number.clone(),
                    issuer: opt(&form.doc_issuer),
                }),
                name: None,
                birth_date: None,
                purpose: form.purpose.clone(),
                case_reference: form.case_reference.clone(),
            }
        };
        let mut p = page(&caller, form)?;
        match ask(state, &caller, &question) {
            Ok(file) => {
                p.answer = Some(shown(&p.tr, &file));
                Ok(html(StatusCode::OK, &p))
            }
            Err(e) if e.code() == "invalid_field" || e.code() == "bad_request" => {
                let field = e.field_name().unwrap_or("document").to_owned();
                let message =
                    p.tr.known(&format!("where-error-{}", field.replace('.', "-")))
                        .unwrap_or_else(|| e.message().to_owned());
                p.errors.push((field, message));
                Ok(html(StatusCode::BAD_REQUEST, &p))
            }
            Err(e) => Err(e),
        }
    })
    .await
}

/// The answer file shown on the page, handed back as a file to save (nothing is asked again:
/// the page posts the text it shows).
pub(crate) async fn whereabouts_file(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<std::collections::BTreeMap<String, String>>,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = check_form(
            state,
            &caller,
            form.get("csrf").map_or("", String::as_str),
            "save a whereabouts answer",
        ) {
            return Ok(r);
        }
        if let Some(r) = only(state, &caller, ASKERS, "save a whereabouts answer") {
            return Ok(r);
        }
        let text = form.get("file").cloned().unwrap_or_default();
        // Only an answer file goes back: JSON with the format's name.
        let parsed: Value = serde_json::from_str(&text).map_err(|_| {
            ApiError::bad_request("invalid_field", "not an answer file").field("file")
        })?;
        if parsed["answer"]["format"] != crate::whereabouts::FORMAT {
            return Err(ApiError::bad_request("invalid_field", "not an answer file").field("file"));
        }
        let name = form
            .get("name")
            .filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            })
            .cloned()
            .unwrap_or_else(|| "whereabouts.json".to_owned());
        Ok((
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            text,
        )
            .into_response())
    })
    .await
}
