//! Person search, the reason asked before a file opens, and the file page (with its printable
//! copy), its reading logged durably before the page is answered.

use super::*;

pub struct PersonHitLine {
    pub person: u64,
    pub name: String,
    pub birth: String,
}

#[derive(Template)]
#[template(path = "ui/persons.html")]
struct PersonsPage {
    tr: Tr,
    who: Option<Who>,
    q: String,
    searched: bool,
    people: Vec<PersonHitLine>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PersonsQuery {
    #[serde(default)]
    q: String,
}

pub(super) async fn persons_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<PersonsQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = file_reader(state, &caller, "search people") {
            return Ok(r);
        }
        let tr = Tr::new(lang_of(&caller))?;
        let words: Vec<String> = q.q.split_whitespace().map(String::from).collect();
        let people = if words.is_empty() {
            Vec::new()
        } else {
            crate::api::visible_people(state, &caller, &words, 100)?
                .into_iter()
                .map(|h| PersonHitLine {
                    person: h.person,
                    name: format!("{} {}", h.given_names, h.surnames),
                    birth: i18n::date(tr.lang, &h.birth_date),
                })
                .collect()
        };
        let page = PersonsPage {
            who: who(&caller, "/ui/persons"),
            searched: !words.is_empty(),
            q: q.q,
            people,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await
}

/// The reasons a file may be opened for, as codes of the access log.
const REASONS: [&str; 8] = [
    "hearing",
    "legal-basis",
    "health",
    "transfer",
    "complaint",
    "family",
    "inspection",
    "other",
];

#[derive(Template)]
#[template(path = "ui/purpose.html")]
struct PurposePage {
    tr: Tr,
    who: Option<Who>,
    person: u64,
    reasons: Vec<(&'static str, String)>,
}

pub struct OrderLine {
    pub kind: String,
    pub authority: String,
    pub reference: String,
    pub issued: String,
    pub expires: String,
    pub expired: bool,
}

pub struct CustodyBlock {
    pub heading: String,
    /// The allocation page, for a custody still open and a caller who allocates.
    pub allocate_href: String,
    pub status: String,
    pub place: String,
    pub release: String,
    pub ended: String,
    pub orders: Vec<OrderLine>,
}

/// A finding as the file lists it: code, rule, severity, since, detail.
type FindingLine = (String, String, String, String, String);

pub struct TimelineLine {
    pub when: String,
    pub what: String,
    pub details: String,
    pub corrects: String,
    pub index: u64,
}

#[derive(Template)]
#[template(path = "ui/person.html")]
struct PersonPage {
    tr: Tr,
    who: Option<Who>,
    person: u64,
    name: String,
    birth: String,
    sex: String,
    nationalities: String,
    logged: String,
    print_href: String,
    findings_href: String,
    /// Code, rule, severity, since, detail; `None` until asked for.
    findings: Option<Vec<FindingLine>>,
    custodies: Vec<CustodyBlock>,
    timeline: Vec<TimelineLine>,
}

#[derive(Template)]
#[template(path = "ui/person_print.html")]
struct PersonPrint {
    page: PersonPage,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FileQuery {
    reason: Option<String>,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    print: bool,
    /// Also evaluate the person's current findings (the facility is measured: slower).
    #[serde(default)]
    findings: bool,
}

pub(super) async fn person_page(
    State(state): State<Arc<AppState>>,
    Path(person): Path<u64>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(|r| (r, None));
        };
        if let Some(r) = file_reader(&state, &caller, "read person file") {
            return Ok((r, None));
        }
        let tr = Tr::new(lang_of(&caller))?;
        // No file without a stated reason: the reading is logged with it.
        let Some(reason) = q.reason.as_deref().filter(|r| REASONS.contains(r)) else {
            let reasons = REASONS
                .iter()
                .map(|r| (*r, tr.t(&format!("reason-{r}"))))
                .collect();
            let page = PurposePage {
                who: who(&caller, &format!("/ui/persons/{person}")),
                person,
                reasons,
                tr,
            };
            return Ok((html(StatusCode::OK, &page), None));
        };
        let detail: String = q.detail.trim().chars().take(150).collect();
        let purpose = if detail.is_empty() {
            reason.to_owned()
        } else {
            format!("{reason}: {detail}")
        };
        let (file, history, facility) = match crate::server::readable_file(&state, &caller, person)
        {
            Ok(f) => f,
            Err(e) if e.code() == "not_found" => {
                return Ok((
                    error_page(StatusCode::NOT_FOUND, &caller, "error-not-found"),
                    None,
                ))
            }
            Err(e) if e.code() == "forbidden" => {
                return Ok((
                    error_page(StatusCode::FORBIDDEN, &caller, "error-forbidden"),
                    None,
                ))
            }
            Err(e) => return Err(e),
        };
        let today = state.clock.now().date_string();
        let custodies = file
            .custodies
            .iter()
            .map(|c| CustodyBlock {
                allocate_href: if c.ended_by.is_none()
                    && matches!(caller.role, Role::Custody | Role::Director)
                    && caller.covers(&c.facility)
                {
                    format!("/ui/allocations?booking={}", c.booking)
                } else {
                    String::new()
                },
                heading: tr.i18n.message(
                    tr.lang,
                    "custody-heading",
                    &[
                        ("facility", c.facility.clone()),
                        ("date", i18n::date(tr.lang, &c.admitted_at)),
                        ("booking", c.booking.to_string()),
                    ],
                ),
                status: tr.t(&format!("status-{}", c.legal_status)),
                place: match (&c.unit, &c.cell) {
                    (Some(u), Some(k)) => format!(
                        "{u} · {k} · {}",
                        tr.t(&format!(
                            "presence-{}",
                            c.presence.as_deref().unwrap_or("in_cell")
                        ))
                    ),
                    _ => "—".to_owned(),
                },
                release: c
                    .release_date
                    .as_deref()
                    .map_or("—".to_owned(), |d| i18n::date(tr.lang, d)),
                ended: c.end_reason.clone().unwrap_or_default(),
                orders: c
                    .orders
                    .iter()
                    .map(|o| OrderLine {
                        kind: o.kind.clone(),
                        authority: o.authority.clone(),
                        reference: o.reference.clone(),
                        issued: i18n::date(tr.lang, &o.issued),
                        expires: o
                            .expires
                            .as_deref()
                            .map_or("—".to_owned(), |d| i18n::date(tr.lang, d)),
                        expired: o.expires.as_deref().is_some_and(|d| d < today.as_str()),
                    })
                    .collect(),
            })
            .collect();
        let timeline = history
            .iter()
            .map(|h| {
                let kind = h["kind"].as_str().unwrap_or("");
                let label = tr.t(&format!("kind-{}", kind.replace('.', "-")));
                // Health content was taken out for other roles (`redact_health`).
                let restricted = kind == habeas_core::kinds::HEALTH
                    && !matches!(caller.role, Role::Health | Role::Inspector);
                TimelineLine {
                    when: i18n::date_time(tr.lang, h["time"].as_str().unwrap_or("")),
                    what: if label.starts_with("kind-") {
                        kind.to_owned()
                    } else {
                        label
                    },
                    details: if restricted {
                        tr.t("person-restricted")
                    } else {
                        details(&h["payload"])
                    },
                    corrects: match h["corrects"]["index"].as_u64() {
                        Some(i) => tr.i18n.message(
                            tr.lang,
                            "person-corrects",
                            &[
                                ("index", i.to_string()),
                                (
                                    "reason",
                                    h["corrects"]["reason"].as_str().unwrap_or("").to_owned(),
                                ),
                            ],
                        ),
                        None => String::new(),
                    },
                    index: h["index"].as_u64().unwrap_or(0),
                }
            })
            .collect();
        let query = format!(
            "reason={reason}&detail={}",
            detail
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                })
                .collect::<String>()
        );
        // The person's current findings, when asked for: the facility's evaluation as of
        // today, kept to this person's open custodies.
        let findings = if q.findings {
            let open: Vec<u64> = file
                .custodies
                .iter()
                .filter(|c| c.ended_by.is_none())
                .map(|c| c.booking)
                .collect();
            let as_of = habeas_core::dates::Date::of(state.clock.now());
            let policy = habeas_core::compliance::Policy::mandela_minimum()
                .map_err(|e| ApiError::internal(e.message))?;
            let facts = state.store.compliance_facts(Some(&facility), as_of)?;
            Some(
                habeas_core::compliance::evaluate(&policy, &facts, as_of)
                    .into_iter()
                    .filter(|f| matches!(f.subject, habeas_core::compliance::Subject::Person { booking } if open.contains(&booking)))
                    .map(|f| {
                        (
                            f.code.to_owned(),
                            f.rule.to_owned(),
                            tr.t(&format!("sev-{}", f.severity.as_str())),
                            f.since.as_deref().map_or(String::new(), |d| i18n::date(tr.lang, d)),
                            f.detail,
                        )
                    })
                    .collect(),
            )
        } else {
            None
        };
        let page = PersonPage {
            findings_href: format!("/ui/persons/{person}?{query}&findings=true#findings"),
            findings,
            who: who(&caller, &format!("/ui/persons/{person}?{query}")),
            person,
            name: format!("{} {}", file.given_names, file.surnames),
            birth: i18n::date(tr.lang, &file.birth_date),
            sex: tr.t(&format!("sex-{}", file.sex)),
            nationalities: file.nationalities.join(", "),
            logged: tr.t1("person-logged", "purpose", &purpose),
            print_href: format!("/ui/persons/{person}?{query}&print=true"),
            custodies,
            timeline,
            tr,
        };
        let answer = if q.print {
            html(StatusCode::OK, &PersonPrint { page })
        } else {
            html(StatusCode::OK, &page)
        };
        Ok((answer, Some((caller.user.username, facility, purpose))))
    })
    .await;
    match outcome {
        Err(e) => e.into_response(),
        Ok((page, None)) => page,
        // The file is shown only once its reading is logged durably.
        Ok((page, Some((username, facility, purpose)))) => {
            match shared
                .log_async(&[crate::access::Event::Read {
                    username: &username,
                    facility: &facility,
                    person,
                    part: "file",
                    purpose: Some(&purpose),
                }])
                .await
            {
                Ok(()) => page,
                Err(e) => e.into_response(),
            }
        }
    }
}
