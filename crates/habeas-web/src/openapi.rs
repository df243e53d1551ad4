//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations; served at
//! `/api/openapi.json` and kept as a snapshot (`openapi.json`) so that every change to the API
//! shows in review.

use crate::schema::{ErrorBody, ErrorDetail};
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[utoipa::path(get, path = "/api/openapi.json", tag = "service", responses((status = 200, description = "This document", body = Object)))]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::state::COOKIE,
                "The session cookie set by POST /api/session; requests that change something also send x-csrf-token",
            ))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token: an account's own (POST /api/tokens), or a machine account's (`habeas user token`, or an administrator's issue_token)"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Habeas",
        description = "Prisoner records and detention oversight: the records, kept in a tamper-evident register, measured against the Nelson Mandela Rules. Every read of a person's record and every refusal is in the access log."
    ),
    paths(
        crate::service::healthz,
        crate::openapi::openapi,
        crate::service::metrics,
        crate::public::checkpoint,
        crate::public::tile,
        crate::session::sign_in,
        crate::session::sign_out,
        crate::session::me,
        crate::file::person_file,
        crate::file::access_log,
        crate::api::admissions,
        crate::api::allocations,
        crate::api::movements,
        crate::api::counts,
        crate::api::releases,
        crate::api::records,
        crate::api::orders,
        crate::api::transfers,
        crate::api::deaths,
        crate::api::death_steps,
        crate::api::agreements,
        crate::api::non_associations,
        crate::api::identity_corrections,
        crate::api::population,
        crate::api::search,
        crate::api::compliance,
        crate::api::count_report,
        crate::api::death_list,
        crate::api::harm_list,
        crate::api::statistics,
        crate::agreements::agreement_report,
        crate::api::logbook_add,
        crate::api::logbook_list,
        crate::api::environment,
        crate::api::estate,
        crate::api::certifications,
        crate::api::register_status,
        crate::api::register_verify,
        crate::api::users_list,
        crate::api::users_add,
        crate::api::users_change,
        crate::api::tokens_list,
        crate::api::tokens_issue,
        crate::api::tokens_revoke,
        crate::whereabouts::whereabouts,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Security)
)]
struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    // The request bodies people write by hand carry the same complete examples as the command
    // line (`habeas record --example KIND`, `habeas admit --example`).
    let records = habeas_core::examples::RECORD_KINDS
        .iter()
        .filter_map(|k| habeas_core::examples::record(k).map(|v| ((*k).to_owned(), v)))
        .collect();
    with_examples(&mut doc, "/api/records", records);
    with_examples(
        &mut doc,
        "/api/admissions",
        vec![("admission".to_owned(), habeas_core::examples::admission())],
    );
    doc
}

/// Adds named examples to the JSON request body of `POST path`.
fn with_examples(
    doc: &mut utoipa::openapi::OpenApi,
    path: &str,
    examples: Vec<(String, serde_json::Value)>,
) {
    let Some(content) = doc
        .paths
        .paths
        .get_mut(path)
        .and_then(|p| p.post.as_mut())
        .and_then(|op| op.request_body.as_mut())
        .and_then(|b| match b {
            utoipa::openapi::RefOr::T(b) => b.content.get_mut("application/json"),
            utoipa::openapi::RefOr::Ref(_) => None,
        })
        .and_then(|c| match c {
            utoipa::openapi::RefOr::T(c) => Some(c),
            utoipa::openapi::RefOr::Ref(_) => None,
        })
    else {
        return;
    };
    for (name, value) in examples {
        let example = utoipa::openapi::example::ExampleBuilder::new()
            .summary(name.replace('_', " "))
            .value(Some(value))
            .build();
        content
            .examples
            .insert(name, utoipa::openapi::RefOr::T(example));
    }
}

#[cfg(test)]
mod tests {
    /// The snapshot: a change to the API changes `openapi.json`, which review sees. To accept
    /// a change, run with `UPDATE_OPENAPI=1`.
    #[test]
    fn the_document_matches_its_snapshot() {
        let doc = super::document().to_pretty_json().unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, format!("{doc}\n")).unwrap();
        }
        let snapshot = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            snapshot.trim_end(),
            doc,
            "the API changed: review it, then run `UPDATE_OPENAPI=1 cargo test -p habeas-web openapi`"
        );
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(v["paths"]["/api/persons/{person}"]["get"].is_object());
    }

    /// The records and the admission carry one complete example of each kind, the command
    /// line's, and the kinds are exactly the record type's.
    #[test]
    fn the_hand_written_bodies_carry_an_example_of_every_kind() {
        let v = serde_json::to_value(super::document()).unwrap();
        let kinds: Vec<String> = v["components"]["schemas"]["RecordInput"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                s["properties"]["record"]["enum"][0]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let mut listed: Vec<String> = habeas_core::examples::RECORD_KINDS
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        let mut sorted = kinds.clone();
        sorted.sort();
        listed.sort();
        assert_eq!(sorted, listed, "every kind of record has its example");
        let examples = &v["paths"]["/api/records"]["post"]["requestBody"]["content"]
            ["application/json"]["examples"];
        for k in &kinds {
            assert_eq!(examples[k]["value"]["record"], k.as_str(), "{k}");
        }
        let admission = &v["paths"]["/api/admissions"]["post"]["requestBody"]["content"]
            ["application/json"]["examples"]["admission"]["value"];
        assert_eq!(admission["facility"], "CECOT");
    }

    /// Every request body and every answer is described field by field (a named schema), so
    /// that a client, and the fuzzer, can tell a well-formed one from a bad one; none is a bare
    /// object.
    #[test]
    fn every_request_body_and_answer_has_a_schema_of_its_own() {
        let v = serde_json::to_value(super::document()).unwrap();
        let schemas = &v["components"]["schemas"];
        let mut bodies = 0;
        for (path, operations) in v["paths"].as_object().unwrap() {
            for (method, op) in operations.as_object().unwrap() {
                let Some(body) = op.get("requestBody") else {
                    continue;
                };
                bodies += 1;
                let reference = body["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path}: the body is not a named schema"));
                let name = reference.trim_start_matches("#/components/schemas/");
                assert!(
                    schemas[name].is_object(),
                    "{method} {path}: {name} is not in the document"
                );
            }
        }
        assert!(bodies >= 20, "only {bodies} request bodies found");
        // And every JSON answer, but the document itself.
        for (path, operations) in v["paths"].as_object().unwrap() {
            for (method, op) in operations.as_object().unwrap() {
                for (status, answer) in op["responses"].as_object().unwrap() {
                    let schema = &answer["content"]["application/json"]["schema"];
                    if path != "/api/openapi.json" && schema.is_object() {
                        assert!(
                            schema["$ref"].is_string(),
                            "{method} {path} {status}: the answer is not a named schema"
                        );
                    }
                }
            }
        }
        // One of the kinds of record, as `POST /api/records` takes it: tagged by `record`, with
        // its own required fields.
        let contact = schemas["RecordInput"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["properties"]["record"]["enum"][0] == "contact")
            .expect("a contact in RecordInput");
        let required: Vec<&str> = contact["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r.as_str())
            .collect();
        for field in [
            "record", "facility", "booking", "kind", "party", "at", "with",
        ] {
            assert!(
                required.contains(&field),
                "contact: {field} is not required"
            );
        }
        assert!(
            !required.contains(&"minutes"),
            "contact: minutes is optional"
        );
    }

    /// The values the document lists for an account's role and language are the ones the
    /// server takes.
    #[test]
    fn the_listed_roles_and_languages_are_the_servers() {
        let roles: Vec<&str> = crate::auth::Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(crate::users::ROLES, roles.as_slice());
        let v = serde_json::to_value(super::document()).unwrap();
        let account = &v["components"]["schemas"]["NewAccount"]["properties"];
        assert_eq!(account["role"]["enum"], serde_json::json!(roles));
        assert_eq!(account["language"]["enum"], serde_json::json!(["es", "en"]));
        let change = &v["components"]["schemas"]["AccountChange"]["properties"];
        assert_eq!(change["action"]["enum"].as_array().unwrap().len(), 5);
    }

    /// No two types of the document share a name: utoipa would keep one schema under it and
    /// silently describe the other type with it. Every type that derives `ToSchema`, in every
    /// crate of the workspace, by the name it would take.
    #[test]
    fn no_two_schemas_share_a_name() {
        fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    sources(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        sources(&crates, &mut files);
        let mut seen: std::collections::BTreeMap<String, String> = Default::default();
        let mut derived = 0;
        for f in files
            .iter()
            .filter(|f| f.components().any(|c| c.as_os_str() == "src"))
        {
            let text = std::fs::read_to_string(f).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                if !l.contains("utoipa::ToSchema)") || !l.trim_start().starts_with("#[") {
                    continue;
                }
                // The item the derive is on: the next line that declares a struct or an enum.
                let item = lines[i + 1..]
                    .iter()
                    .find(|l| l.contains("struct ") || l.contains("enum "))
                    .unwrap();
                let name = item
                    .split_whitespace()
                    .skip_while(|w| *w != "struct" && *w != "enum")
                    .nth(1)
                    .unwrap()
                    .trim_end_matches('{')
                    .to_owned();
                let place = format!("{}:{}", f.display(), i + 1);
                if let Some(other) = seen.insert(name.clone(), place.clone()) {
                    panic!("two schemas named {name}: {other} and {place}");
                }
                derived += 1;
            }
        }
        assert!(derived > 50, "only {derived} types found");
        let v = serde_json::to_value(super::document()).unwrap();
        for name in v["components"]["schemas"].as_object().unwrap().keys() {
            assert!(seen.contains_key(name), "{name} is not a type found here");
        }
    }

    /// Times and dates in request bodies state their form, and the example each gives is one
    /// the server's own parsers take.
    #[test]
    fn times_and_dates_state_their_form() {
        fn walk<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
            match v {
                serde_json::Value::Object(m) => {
                    if m.get("type") == Some(&"string".into()) && m.contains_key("examples") {
                        out.push(v);
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let v = serde_json::to_value(super::document()).unwrap();
        let mut found = Vec::new();
        walk(&v["components"]["schemas"], &mut found);
        let (mut times, mut dates) = (0, 0);
        for s in found {
            let example = s["examples"][0].as_str().unwrap();
            if s["format"] == "date" {
                habeas_core::dates::Date::parse("example", example).unwrap();
                dates += 1;
            } else {
                assert_eq!(s["format"], "date-time", "{s}");
                assert!(s["description"].as_str().unwrap().contains("RFC 3339"));
                assert!(
                    habeas_core::dates::parse_time(example).is_some(),
                    "{example}"
                );
                times += 1;
            }
        }
        // Every `at` of a record, a movement, a count…; every date of an order, a charge…
        assert!(times >= 25, "{times} times");
        assert!(dates >= 10, "{dates} dates");
        let hearing = v["components"]["schemas"]["RecordInput"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["properties"]["record"]["enum"][0] == "hearing")
            .unwrap();
        assert_eq!(hearing["properties"]["next_date"]["format"], "date");
        assert_eq!(hearing["properties"]["at"]["format"], "date-time");
    }
}
