//! Person search, the reason asked before a file opens, and the file page (with its printable
//! copy), its reading logged durably before the page is answered.

use super::*;
use axum::extract::Multipart;

pub struct PersonHitLine {
    pub person: u64,
    pub name: String,
    pub birth: String,
    /// Whether the person is held, where and since when (or that they are not).
    pub whereabouts: String,
    pub held: bool,
}

#[derive(Template)]
#[template(path = "ui/persons.html")]
struct PersonsPage {
    tr: Tr,
    who: Option<Who>,
    q: String,
    searched: bool,
    people: Vec<PersonHitLine>,
    /// How many were found, and whether the list is cut.
    count: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PersonsQuery {
    #[serde(default)]
    q: String,
}

pub(crate) async fn persons_page(
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
        let mut hits = if words.is_empty() {
            Vec::new()
        } else {
            // One more than is shown, to know whether the list is cut.
            crate::api::visible_people(state, &caller, &words, SHOWN + 1)?
        };
        let cut = hits.len() > SHOWN as usize;
        hits.truncate(SHOWN as usize);
        let mut people = Vec::with_capacity(hits.len());
        for h in hits {
            let file = state.store.person_file(h.person)?;
            let open = file
                .as_ref()
                .and_then(|f| f.custodies.iter().rev().find(|c| c.ended_by.is_none()));
            let whereabouts = match (open, &file) {
                (Some(c), _) => {
                    let place = match &c.cell {
                        Some(cell) => tr.t1("search-cell", "cell", cell),
                        None => tr.t("search-no-cell"),
                    };
                    format!(
                        "{}, {place}",
                        tr.t2(
                            "search-held",
                            "facility",
                            &c.facility,
                            "since",
                            &i18n::date(tr.lang, &c.admitted_at)
                        )
                    )
                }
                (None, Some(f)) if !f.custodies.is_empty() => tr.t("search-not-held"),
                _ => tr.t("search-never-held"),
            };
            people.push(PersonHitLine {
                person: h.person,
                name: format!("{} {}", h.given_names, h.surnames),
                birth: i18n::date(tr.lang, &h.birth_date),
                held: open.is_some(),
                whereabouts,
            });
        }
        let count = if cut {
            tr.t1("search-cut", "n", &i18n::int(tr.lang, SHOWN.into()))
        } else {
            tr.t1(
                "search-count",
                "n",
                &i18n::int(tr.lang, people.len() as u64),
            )
        };
        if !words.is_empty() {
            state.listed(
                &caller,
                EVERY_FACILITY,
                "person search",
                Some(&words.join(" ")),
                people.len() as u64,
            )?;
        }
        let page = PersonsPage {
            who: who(state, &caller, "/ui/persons"),
            searched: !words.is_empty(),
            q: q.q,
            people,
            count,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await
}

/// How many people a search shows at most.
const SHOWN: u32 = 100;

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
    /// The page that records the family told (or the person's decline), for a custody still
    /// open and a caller who keeps the file.
    pub notify_href: String,
    /// The page of the custody's serious injuries, illnesses and transfers to a health
    /// institution (Rules 69 and 71(1)), for a custody still open, or of its escape for one
    /// that ended so, and a caller who records them.
    pub harm_href: String,
    /// The page that ends the custody here (a release, a transfer or an escape), for a custody
    /// still open and a caller who releases or transfers.
    pub release_href: String,
    /// The page that records a death in custody (an open custody, for a caller who records
    /// one) or shows its case and its steps (a custody a death ended, for a caller who reads
    /// it).
    pub death_href: String,
    /// The custody ended by an escape: the link is to its case.
    pub escaped: bool,
    /// An escape's recapture (the custody that followed it), or the escape a custody
    /// follows, said.
    pub recapture: Option<String>,
    pub status: String,
    pub place: String,
    pub release: String,
    pub ended: String,
    /// Held pending an order, none recorded since (open custodies only).
    pub pending_order: bool,
    /// For a custody still open with no order in force on the day shown (and not held pending
    /// one, which has its own alarm): the banner, "no valid legal basis since …".
    pub no_basis: Option<String>,
    pub orders: Vec<OrderLine>,
}

/// A finding as the file lists it: code, rule, severity, since, detail.
/// A finding as the file lists it: code, rule, severity, since, detail, and whether the detail
/// is in the page's language (else it is the evaluator's English).
type FindingLine = (String, String, String, String, String, bool);

pub struct TimelineLine {
    pub when: String,
    pub what: String,
    /// What the entry says, as a sentence, when its kind has one.
    pub sentence: Option<String>,
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
    /// "Formerly recorded as": the names before a correction.
    formerly: String,
    logged: String,
    print_href: String,
    findings_href: String,
    /// Code, rule, severity, since, detail; `None` until asked for.
    findings: Option<Vec<FindingLine>>,
    custodies: Vec<CustodyBlock>,
    timeline: Vec<TimelineLine>,
    /// The latest photograph's address, when there is one.
    photo_href: Option<String>,
    /// The form to record a photograph, for registry staff and directors of the facility
    /// holding the person: the open custody and the session's CSRF token.
    photo_form: Option<(u64, String)>,
    photo_error: String,
    reason: String,
    detail: String,
    today: String,
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
    /// Why the last photograph sent was refused, to show beside its field.
    #[serde(default)]
    photo_error: String,
}

/// A value for a query string: everything but letters and digits percent-encoded.
fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The reason and detail a file was opened with, as a query string to carry on.
fn purpose_query(reason: &str, detail: &str) -> String {
    format!(
        "reason={}&detail={}",
        query_value(reason),
        query_value(detail)
    )
}

/// The signed-in caller of a page that reads a person's record, or the answer instead (the
/// sign-in page, or a refusal, logged, for a role that reads no files).
fn file_caller(
    state: &AppState,
    headers: &HeaderMap,
    action: &str,
) -> ApiResult<Result<Caller, Response>> {
    let Some(caller) = page_caller(state, headers) else {
        return to_sign_in().map(Err);
    };
    Ok(match file_reader(state, &caller, action) {
        Some(r) => Err(r),
        None => Ok(caller),
    })
}

/// The detail given with a reason (at most 150 characters), and the purpose the access log
/// keeps: the reason, and the detail after it.
fn purpose_of(reason: &str, detail: &str) -> (String, String) {
    let detail: String = detail.trim().chars().take(150).collect();
    let purpose = if detail.is_empty() {
        reason.to_owned()
    } else {
        format!("{reason}: {detail}")
    };
    (detail, purpose)
}

pub(crate) async fn person_page(
    State(state): State<Arc<AppState>>,
    Path(person): Path<u64>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let caller = match file_caller(&state, &headers, "read person file")? {
            Ok(c) => c,
            Err(r) => return Ok((r, None)),
        };
        let tr = Tr::new(lang_of(&caller))?;
        // No file without a stated reason: the reading is logged with it.
        let Some(reason) = q.reason.as_deref().filter(|r| REASONS.contains(r)) else {
            let reasons = REASONS
                .iter()
                .map(|r| (*r, tr.t(&format!("reason-{r}"))))
                .collect();
            let page = PurposePage {
                who: who(&state, &caller, &format!("/ui/persons/{person}")),
                person,
                reasons,
                tr,
            };
            return Ok((html(StatusCode::OK, &page), None));
        };
        let (detail, purpose) = purpose_of(reason, &q.detail);
        let (file, history, facility) = match readable(&state, &caller, person)? {
            Ok(f) => f,
            Err(page) => return Ok((page, None)),
        };
        // Each facility's times at its local time: the file's facility (the one it is read
        // for) gives the page's, each custody and entry its own.
        let mut offsets = std::collections::HashMap::new();
        for code in std::iter::once(facility.as_str())
            .chain(file.custodies.iter().map(|c| c.facility.as_str()))
            .chain(history.iter().filter_map(|h| h["facility"].as_str()))
        {
            if !offsets.contains_key(code) {
                offsets.insert(code.to_owned(), state.utc_offset(code)?);
            }
        }
        let tr = tr.at(offsets.get(&facility).copied().unwrap_or(0));
        let tr_of = |code: &str| tr.at(offsets.get(code).copied().unwrap_or(tr.offset));
        // The day the page shows (the facility's local today, or the register's last
        // recorded day when earlier).
        let today = state.default_day_at(tr.offset).day.to_string();
        let custodies = file
            .custodies
            .iter()
            .map(|c| CustodyBlock {
                no_basis: no_valid_basis(c, &today).map(|since| match since {
                    Some(d) => tr.t1("person-no-basis-since", "date", &i18n::date(tr.lang, &d)),
                    None => tr.t("person-no-basis"),
                }),
                allocate_href: if c.ended_by.is_none()
                    && matches!(caller.role, Role::Custody | Role::Director)
                    && caller.covers(&c.facility)
                {
                    format!("/ui/allocations?booking={}", c.booking)
                } else {
                    String::new()
                },
                notify_href: if c.ended_by.is_none()
                    && matches!(
                        caller.role,
                        Role::Registry | Role::Custody | Role::Legal | Role::Director
                    )
                    && caller.covers(&c.facility)
                {
                    format!("/ui/notify?booking={}", c.booking)
                } else {
                    String::new()
                },
                release_href: if c.ended_by.is_none()
                    && matches!(caller.role, Role::Registry | Role::Director | Role::National)
                    && caller.covers(&c.facility)
                {
                    format!("/ui/release?booking={}", c.booking)
                } else {
                    String::new()
                },
                death_href: if ((c.ended_by.is_none()
                    && matches!(caller.role, Role::Custody | Role::Health | Role::Director))
                    || (c.end_reason.as_deref() == Some("death")
                        && matches!(
                            caller.role,
                            Role::Custody
                                | Role::Health
                                | Role::Director
                                | Role::National
                                | Role::Inspector
                        )))
                    && caller.covers(&c.facility)
                {
                    format!("/ui/death?booking={}", c.booking)
                } else {
                    String::new()
                },
                harm_href: if (c.ended_by.is_none() || c.end_reason.as_deref() == Some("escape"))
                    && (super::harm::STAFF.contains(&caller.role) || caller.role == Role::Inspector)
                    && caller.covers(&c.facility)
                {
                    format!("/ui/harm?booking={}", c.booking)
                } else {
                    String::new()
                },
                heading: tr.i18n.message(
                    tr.lang,
                    "custody-heading",
                    &[
                        ("facility", c.facility.clone()),
                        ("date", tr_of(&c.facility).day_of(&c.admitted_at)),
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
                escaped: c.end_reason.as_deref() == Some("escape"),
                recapture: match (file.recapture_of(c.booking), file.escape_before(c.booking)) {
                    (Some(next), _) => Some(tr.i18n.message(
                        tr.lang,
                        "person-recaptured",
                        &[
                            ("date", tr_of(&next.facility).day_of(&next.admitted_at)),
                            ("facility", next.facility.clone()),
                            ("booking", next.booking.to_string()),
                        ],
                    )),
                    (None, Some(before)) => Some(tr.t1(
                        "person-after-escape",
                        "booking",
                        &before.booking.to_string(),
                    )),
                    (None, None) => None,
                },
                ended: c.end_reason.as_deref().map_or_else(String::new, |r| {
                    tr.known(&format!("release-reason-{r}"))
                        .unwrap_or_else(|| r.to_owned())
                }),
                pending_order: c.pending_order && c.ended_by.is_none(),
                orders: c
                    .orders
                    .iter()
                    .map(|o| OrderLine {
                        kind: {
                            let shown = tr.t(&format!("order-{}", o.kind));
                            if shown.starts_with("order-") {
                                o.kind.replace('_', " ")
                            } else {
                                shown
                            }
                        },
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
        // A person's file and copy name only that person: the other people of a group hearing,
        // a movement or an incident are counted, not named (Rule 9).
        let own: Vec<u64> = file.custodies.iter().map(|c| c.booking).collect();
        let timeline = history
            .iter()
            .map(|h| {
                let kind = h["kind"].as_str().unwrap_or("");
                let (payload, others) = only_this_person(&h["payload"], kind, &own, q.print);
                // The entry's facility: its own, or (an admission's) the custody it opened.
                let facility = h["facility"]
                    .as_str()
                    .or_else(|| {
                        file.custodies
                            .iter()
                            .find(|c| Some(c.booking) == h["index"].as_u64())
                            .map(|c| c.facility.as_str())
                    })
                    .unwrap_or("—");
                // The entry's times at its facility's local time.
                let etr = tr_of(facility);
                let said = sentence(&etr, kind, facility, &payload);
                let mut shown = details(&payload, &etr);
                if others > 0 {
                    let with = tr.t1("person-with-others", "n", &i18n::int(tr.lang, others));
                    shown = if shown.is_empty() {
                        with
                    } else {
                        format!("{shown}; {with}")
                    };
                }
                // An escape is recorded as the end of the custody, and is no release.
                let label = if kind == habeas_core::kinds::RELEASED && payload["reason"] == "escape" {
                    tr.t("kind-custody-escaped")
                } else {
                    tr.t(&format!("kind-{}", kind.replace('.', "-")))
                };
                // Health content was taken out for other roles (`redact_health`).
                let restricted = kind == habeas_core::kinds::HEALTH
                    && !matches!(caller.role, Role::Health | Role::Inspector);
                TimelineLine {
                    when: etr.time(h["time"].as_str().unwrap_or("")),
                    what: if label.starts_with("kind-") {
                        kind.to_owned()
                    } else {
                        label
                    },
                    sentence: if restricted { None } else { said },
                    details: if restricted {
                        tr.t("person-restricted")
                    } else {
                        shown
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
        let query = purpose_query(reason, &detail);
        // The person's current findings, when asked for: the facility's evaluation as of
        // today, kept to this person's open custodies.
        let findings = if q.findings {
            let open: Vec<u64> = file
                .custodies
                .iter()
                .filter(|c| c.ended_by.is_none())
                .map(|c| c.booking)
                .collect();
            let as_of = state.default_day_at(tr.offset).day;
            let evaluation =
                state
                    .evaluations
                    .get(&state.store, &*state.clock, Some(&facility), as_of)?;
            Some(
                evaluation
                    .findings
                    .iter()
                    .filter(|f| matches!(f.subject, habeas_core::compliance::Subject::Person { booking } if open.contains(&booking)))
                    .map(|f| {
                        let (detail, translated) = tr.finding_detail(f);
                        (
                            f.code.to_owned(),
                            tr.rule(f.code, f.rule),
                            tr.t(&format!("sev-{}", f.severity.as_str())),
                            f.since.as_deref().map_or(String::new(), |d| i18n::date(tr.lang, d)),
                            detail,
                            translated,
                        )
                    })
                    .collect(),
            )
        } else {
            None
        };
        let photo_href = state
            .store
            .photo_entry(person)?
            .map(|i| format!("/ui/persons/{person}/photo?{query}&entry={i}"));
        let photo_form = file
            .custodies
            .iter()
            .find(|c| {
                c.ended_by.is_none()
                    && matches!(caller.role, Role::Registry | Role::Director)
                    && caller.covers(&c.facility)
            })
            .and_then(|c| Some((c.booking, caller.csrf.clone()?)));
        let page = PersonPage {
            photo_href,
            photo_form,
            photo_error: q.photo_error.chars().take(300).collect(),
            reason: reason.to_owned(),
            detail: detail.clone(),
            today: today.clone(),
            findings_href: format!("/ui/persons/{person}?{query}&findings=true#findings"),
            findings,
            who: who_at(
                &state,
                &caller,
                &format!("/ui/persons/{person}?{query}"),
                tr.offset,
            ),
            person,
            name: format!("{} {}", file.given_names, file.surnames),
            birth: i18n::date(tr.lang, &file.birth_date),
            sex: tr.t(&format!("sex-{}", file.sex)),
            nationalities: file.nationalities.join(", "),
            formerly: file.formerly.join("; "),
            logged: tr.t1("person-logged", "purpose", &shown_purpose(&tr, &purpose)),
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
    // The file is shown only once its reading is logged durably.
    answer_once_logged(&shared, outcome, person, "file").await
}

/// An entry's payload as this person's file shows it: of the bookings it lists (`bookings`,
/// a count's `present`), only the person's own, and how many others there were; on the
/// printed copy handed to the person, a non-association does not name the other person.
fn only_this_person(
    payload: &serde_json::Value,
    kind: &str,
    own: &[u64],
    print: bool,
) -> (serde_json::Value, u64) {
    let mut p = payload.clone();
    let mut others = 0u64;
    if let Some(map) = p.as_object_mut() {
        for key in ["bookings", "present"] {
            if let Some(serde_json::Value::Array(list)) = map.get_mut(key) {
                let before = list.len();
                list.retain(|b| b.as_u64().is_some_and(|b| own.contains(&b)));
                others += (before - list.len()) as u64;
            }
        }
        if print && kind == habeas_core::kinds::NON_ASSOCIATION {
            for key in ["a", "b"] {
                if map
                    .get(key)
                    .and_then(serde_json::Value::as_u64)
                    .is_some_and(|b| !own.contains(&b))
                {
                    map.remove(key);
                }
            }
        }
    }
    (p, others)
}

/// Whether an open custody has no order in force on `day` (`YYYY-MM-DD`) although it is not
/// held pending one: `Some(Some(d))` when its last order expired on `d`, `Some(None)` when it
/// has no order in force at all (none recorded, or none issued yet), `None` when it has a
/// legal basis (or has ended).
fn no_valid_basis(c: &habeas_store_sqlite::CustodyRow, day: &str) -> Option<Option<String>> {
    if c.ended_by.is_some() || c.pending_order {
        return None;
    }
    let in_force = c
        .orders
        .iter()
        .any(|o| o.issued.as_str() <= day && o.expires.as_deref().is_none_or(|e| e >= day));
    if in_force {
        return None;
    }
    Some(
        c.orders
            .iter()
            .filter_map(|o| o.expires.clone())
            .filter(|e| e.as_str() < day)
            .max(),
    )
}

type ReadableFile = (
    habeas_store_sqlite::PersonFile,
    Vec<serde_json::Value>,
    String,
);

/// The person's file if the caller may read it; otherwise the page that says why (a refusal
/// is logged by `readable_file`).
fn readable(
    state: &AppState,
    caller: &Caller,
    person: u64,
) -> ApiResult<Result<ReadableFile, Response>> {
    match crate::file::readable_file(state, caller, person) {
        Ok(f) => Ok(Ok(f)),
        Err(e) if e.code() == "not_found" => Ok(Err(error_page(
            StatusCode::NOT_FOUND,
            caller,
            "error-not-found",
        ))),
        Err(e) if e.code() == "forbidden" => Ok(Err(error_page(
            StatusCode::FORBIDDEN,
            caller,
            "error-forbidden",
        ))),
        Err(e) => Err(e),
    }
}

/// What a reading page worked out: the answer, and (who, facility, purpose) when it shows a
/// part of a person's record.
type Reading = ApiResult<(Response, Option<(String, String, String)>)>;

/// Sends a reading's answer only once the reading is durable in the access log.
async fn answer_once_logged(
    state: &AppState,
    outcome: Reading,
    person: u64,
    part: &str,
) -> Response {
    match outcome {
        Err(e) => e.into_response(),
        Ok((answer, None)) => answer,
        Ok((answer, Some((username, facility, purpose)))) => {
            match state
                .log_async(&[crate::access::Event::Read {
                    username: &username,
                    facility: &facility,
                    person,
                    part,
                    purpose: Some(&purpose),
                }])
                .await
            {
                Ok(()) => answer,
                Err(e) => e.into_response(),
            }
        }
    }
}

/// `GET /ui/persons/{person}/photo?reason=…`: the person's latest photograph, for whoever may
/// read the file, with the same stated reason; the reading (part `photo`) is logged before the
/// image leaves, and the browser is told to keep no copy.
pub(crate) async fn photo_image(
    State(state): State<Arc<AppState>>,
    Path(person): Path<u64>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let caller = match file_caller(&state, &headers, "read person photo")? {
            Ok(c) => c,
            Err(r) => return Ok((r, None)),
        };
        let Some(reason) = q.reason.as_deref().filter(|r| REASONS.contains(r)) else {
            return Ok((
                error_page(StatusCode::BAD_REQUEST, &caller, "error-reason"),
                None,
            ));
        };
        let (_, _, facility) = match readable(&state, &caller, person)? {
            Ok(f) => f,
            Err(page) => return Ok((page, None)),
        };
        let Some((_, media_type, image)) = state.store.photo(person)? else {
            return Ok((
                error_page(StatusCode::NOT_FOUND, &caller, "error-not-found"),
                None,
            ));
        };
        let (_, purpose) = purpose_of(reason, &q.detail);
        let answer = (
            [
                (header::CONTENT_TYPE, media_type),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            image,
        )
            .into_response();
        Ok((answer, Some((caller.user.username, facility, purpose))))
    })
    .await;
    answer_once_logged(&shared, outcome, person, "photo").await
}

/// What the photograph form sends.
#[derive(Debug, Default)]
struct PhotoForm {
    csrf: String,
    booking: u64,
    taken_on: String,
    reason: String,
    detail: String,
    image: Vec<u8>,
}

async fn read_photo_form(mut multipart: Multipart) -> Result<PhotoForm, String> {
    let mut form = PhotoForm::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "photo" {
            form.image = field.bytes().await.map_err(|e| e.body_text())?.to_vec();
            continue;
        }
        let value = field.text().await.map_err(|e| e.body_text())?;
        match name.as_str() {
            "csrf" => form.csrf = value,
            "booking" => form.booking = value.trim().parse().map_err(|_| "booking".to_owned())?,
            "taken_on" => form.taken_on = value,
            "reason" => form.reason = value,
            "detail" => form.detail = value,
            _ => {}
        }
    }
    Ok(form)
}

/// `POST /ui/persons/{person}/photo` (multipart): records a photograph of the person in their
/// open custody, then shows the file again; a refusal is shown beside the field.
pub(crate) async fn photo_upload(
    State(state): State<Arc<AppState>>,
    Path(person): Path<u64>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    use base64::Engine as _;
    let form = match multipart {
        Ok(m) => read_photo_form(m).await,
        Err(e) => Err(e.body_text()),
    };
    let shared = state.clone();
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(|r| (r, None));
        };
        let form = match form {
            Ok(f) => f,
            Err(_) => {
                return Ok((
                    error_page(StatusCode::BAD_REQUEST, &caller, "error-csrf"),
                    None,
                ))
            }
        };
        if let Some(r) = super::check_form(&state, &caller, &form.csrf, "record photo") {
            return Ok((r, None));
        }
        if let Some(r) = super::only(
            &state,
            &caller,
            &[Role::Registry, Role::Director],
            "record photo",
        ) {
            return Ok((r, None));
        }
        let custody = state
            .store
            .person_file(person)?
            .and_then(|f| f.custodies.into_iter().find(|c| c.booking == form.booking));
        let Some(custody) = custody else {
            return Ok((
                error_page(StatusCode::NOT_FOUND, &caller, "error-not-found"),
                None,
            ));
        };
        if let Some(r) = super::scoped(&state, &caller, &custody.facility, "record photo") {
            return Ok((r, None));
        }
        let back = format!(
            "/ui/persons/{person}?{}",
            purpose_query(&form.reason, &form.detail)
        );
        // The type is read from the image itself; one of neither kind is refused by its field.
        let media_type = if form.image.starts_with(b"\x89PNG") {
            "image/png"
        } else {
            "image/jpeg"
        };
        let input = habeas_core::record::RecordInput::Photo {
            facility: custody.facility.clone(),
            booking: form.booking,
            taken_on: form.taken_on.clone(),
            media_type: media_type.to_owned(),
            data: base64::engine::general_purpose::STANDARD.encode(&form.image),
        };
        let actor = crate::api::actor(&caller)?;
        match input.validate(state.clock.now(), &actor) {
            Ok(draft) => Ok((Response::default(), Some((draft, back)))),
            Err(e) => {
                let tr = Tr::new(lang_of(&caller))?;
                let (field, why) = tr.refused(e);
                let message = if field == "data" {
                    format!("{}: {why}", tr.t("person-photo"))
                } else {
                    format!("{field}: {why}")
                };
                Ok((
                    Redirect::to(&format!(
                        "{back}&photo_error={}#photo",
                        query_value(&message)
                    ))
                    .into_response(),
                    None,
                ))
            }
        }
    })
    .await;
    let (draft, back) = match outcome {
        Err(e) => return e.into_response(),
        Ok((r, None)) => return r,
        Ok((_, Some(parts))) => parts,
    };
    match commit(&shared, draft).await {
        Ok(Ok(_)) => Redirect::to(&format!("{back}#photo")).into_response(),
        Ok(Err(r)) => Redirect::to(&format!(
            "{back}&photo_error={}#photo",
            query_value(&r.message)
        ))
        .into_response(),
        Err(answer) => answer,
    }
}
