//! The compliance dashboard, the inspector's view of the register and the access log, and the
//! national overview.

use super::*;

#[derive(Template)]
#[template(path = "ui/compliance.html")]
struct CompliancePage {
    tr: Tr,
    who: Option<Who>,
    facility: String,
    as_of: String,
    title: String,
    subtitle: String,
    /// When the evaluation shown was made, and over how many entries.
    evaluated: String,
    total: String,
    grave: String,
    serious: String,
    notice: String,
    occupancy: String,
    rules_chart: String,
    /// Code, rule, count; most findings first.
    rules: Vec<(String, String, String)>,
    /// Unit, grave, serious, notice.
    units: Vec<(String, String, String, String)>,
    occupancy_chart: String,
    /// People by minutes out of the cell, and in the open air, on the day.
    out_of_cell_chart: String,
    open_air_chart: String,
    /// People by days since their last family, and legal, contact.
    family_chart: String,
    legal_chart: String,
    /// What each chart draws, as a table beside it (label, count): for whoever cannot see the
    /// drawing, and for the tests that hold it to the report.
    out_of_cell_data: Vec<(String, String)>,
    open_air_data: Vec<(String, String)>,
    family_data: Vec<(String, String)>,
    legal_data: Vec<(String, String)>,
    /// The day the regime charts measure (the last whole day before the one shown).
    regime_day: String,
    /// When, booking, pending steps.
    deaths: Vec<(String, String, String)>,
    /// The deaths with every step recorded before the last month, counted.
    deaths_closed: Option<String>,
    /// When, what, booking, pending steps: the serious-harm cases and the escapes.
    harms: Vec<(String, String, String, String)>,
    /// The cases with every step recorded before the last month, counted.
    harms_closed: Option<String>,
    /// The corrections of identity of the facility, newest first: nobody renamed unseen.
    corrections: Vec<habeas_store_sqlite::CorrectionRow>,
}

use crate::evaluations::{Tally, GAPS, OPEN_AIR, OUT_OF_CELL};

/// The days back the dashboard lists deaths and cases whose steps are all recorded.
const CLOSED_SHOWN_DAYS: i64 = 30;

pub(crate) async fn compliance_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ComplianceQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = file_reader(&state, &caller, "read compliance") {
            return Ok(r);
        }
        let (facility, _) = match page_facility(&state, &caller, q.facility, "read compliance")? {
            Ok(f) => f,
            Err(r) => return Ok(r),
        };
        let tr = local_tr(&state, &caller, &facility)?;
        let as_of = as_of_day(&state, q.as_of.as_deref(), tr.offset)?;
        let evaluation =
            state
                .evaluations
                .get(&state.store, &*state.clock, Some(&facility), as_of)?;
        let tally = match evaluation.tally.get() {
            Some(t) => t.clone(),
            None => {
                let t = Arc::new(Tally::of(&state.store, &facility, &evaluation)?);
                let _ = evaluation.tally.set(t.clone());
                t
            }
        };
        let labelled = |labels: &[&str], counts: &[u64]| {
            labels
                .iter()
                .map(|l| (*l).to_owned())
                .zip(counts.iter().copied())
                .collect::<Vec<_>>()
        };
        let out_of_cell_chart =
            charts::bars(tr.lang, &labelled(&OUT_OF_CELL.1, &tally.out_of_cell), 640)
                .map_err(ApiError::internal)?;
        let open_air_chart = charts::bars(tr.lang, &labelled(&OPEN_AIR.1, &tally.open_air), 640)
            .map_err(ApiError::internal)?;
        // Days since the last family, and legal, contact; "never" last.
        let never = tr.t("dash-never");
        let mut gap_labels: Vec<&str> = GAPS.1.to_vec();
        gap_labels.push(&never);
        let family_chart = charts::bars(tr.lang, &labelled(&gap_labels, &tally.family_gaps), 640)
            .map_err(ApiError::internal)?;
        let legal_chart = charts::bars(tr.lang, &labelled(&gap_labels, &tally.legal_gaps), 640)
            .map_err(ApiError::internal)?;
        // Every rule with a finding: a grave one that is rare is the one to see.
        let rules_chart = charts::bars(
            tr.lang,
            &tally
                .rules
                .iter()
                .map(|(code, _, n)| (code.clone(), *n))
                .collect::<Vec<_>>(),
            900,
        )
        .map_err(ApiError::internal)?;
        let data = |labels: &[&str], counts: &[u64]| {
            labels
                .iter()
                .map(|l| (*l).to_owned())
                .zip(counts.iter().map(|n| i18n::int(tr.lang, *n)))
                .collect::<Vec<_>>()
        };
        let out_of_cell_data = data(&OUT_OF_CELL.1, &tally.out_of_cell);
        let open_air_data = data(&OPEN_AIR.1, &tally.open_air);
        let family_data = data(&gap_labels, &tally.family_gaps);
        let legal_data = data(&gap_labels, &tally.legal_gaps);
        let occupancy_chart =
            charts::line(tr.lang, &tally.held_by_month, Some(tally.cna as f64), 900)
                .map_err(ApiError::internal)?;
        let everywhere = tr.t("dash-facility-wide");
        // Every case with a step still due; of those done, the last month's (the rest counted):
        // a facility's years of closed cases do not bury the open ones.
        let since = as_of.plus_days(-CLOSED_SHOWN_DAYS).to_string();
        let shown = |pending: bool, at: &str| pending || at >= since.as_str();
        let deaths_closed = tally
            .deaths
            .iter()
            .filter(|d| !shown(d.steps.iter().any(|(_, done)| done.is_none()), &d.at))
            .count() as u64;
        let harms_closed = tally
            .harms
            .iter()
            .filter(|h| !shown(!h.pending.is_empty(), &h.at))
            .count() as u64;
        let closed = |n: u64| {
            (n > 0).then(|| {
                tr.t2(
                    "dash-closed-earlier",
                    "count",
                    &i18n::int(tr.lang, n),
                    "days",
                    &CLOSED_SHOWN_DAYS.to_string(),
                )
            })
        };
        let deaths = tally
            .deaths
            .iter()
            .filter(|d| shown(d.steps.iter().any(|(_, done)| done.is_none()), &d.at))
            .map(|d| {
                let pending: Vec<String> = d
                    .steps
                    .iter()
                    .filter(|(_, done)| done.is_none())
                    .map(|(step, _)| tr.t(&format!("death-step-{step}")))
                    .collect();
                (
                    tr.time(&d.at),
                    d.booking.to_string(),
                    if pending.is_empty() {
                        tr.t("dash-all-steps-done")
                    } else {
                        pending.join(", ")
                    },
                )
            })
            .collect();
        let harms = tally
            .harms
            .iter()
            .filter(|h| shown(!h.pending.is_empty(), &h.at))
            .map(|h| {
                let pending: Vec<String> = h
                    .pending
                    .iter()
                    .map(|step| tr.t(&format!("harm-step-{step}")))
                    .collect();
                (
                    tr.time(&h.at),
                    tr.known(&format!("harm-{}", h.kind))
                        .unwrap_or_else(|| h.kind.clone()),
                    h.booking.to_string(),
                    if pending.is_empty() {
                        tr.t("dash-all-steps-done")
                    } else {
                        pending.join(", ")
                    },
                )
            })
            .collect();
        let page = CompliancePage {
            title: tr.t1("dash-title", "facility", &facility),
            evaluated: evaluated(&tr, &evaluation),
            subtitle: tr.t1(
                "dash-subtitle",
                "date",
                &i18n::date(tr.lang, &as_of.to_string()),
            ),
            who: who_at(
                &state,
                &caller,
                &format!("/ui/compliance?facility={facility}"),
                tr.offset,
            ),
            total: i18n::int(tr.lang, evaluation.findings.len() as u64),
            grave: i18n::int(tr.lang, tally.by_severity[0]),
            serious: i18n::int(tr.lang, tally.by_severity[1]),
            notice: i18n::int(tr.lang, tally.by_severity[2]),
            occupancy: percent(tr.lang, tally.held, tally.cna),
            rules_chart,
            rules: tally
                .rules
                .iter()
                .map(|(code, rule, n)| (code.clone(), tr.rule(code, rule), i18n::int(tr.lang, *n)))
                .collect(),
            units: tally
                .by_unit
                .iter()
                .map(|(u, n)| {
                    (
                        u.clone().unwrap_or_else(|| everywhere.clone()),
                        i18n::int(tr.lang, n[0]),
                        i18n::int(tr.lang, n[1]),
                        i18n::int(tr.lang, n[2]),
                    )
                })
                .collect(),
            facility: facility.clone(),
            as_of: as_of.to_string(),
            occupancy_chart,
            out_of_cell_chart,
            open_air_chart,
            family_chart,
            legal_chart,
            out_of_cell_data,
            open_air_data,
            family_data,
            legal_data,
            regime_day: i18n::date(tr.lang, &as_of.plus_days(-1).to_string()),
            deaths,
            deaths_closed: closed(deaths_closed),
            harms,
            harms_closed: closed(harms_closed),
            corrections: state
                .store
                .identity_corrections(Some(&facility), 200)?
                .into_iter()
                .map(|c| habeas_store_sqlite::CorrectionRow {
                    at: tr.time(&c.at),
                    ..c
                })
                .collect(),
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "ui/register.html")]
struct RegisterPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    origin: String,
    key: String,
    size: String,
    checkpoint: String,
    access_size: String,
    published: String,
    witnesses: Vec<WitnessRow>,
    may_verify: bool,
    may_read_log: bool,
    result: Option<String>,
    ok: bool,
}

/// A witness on the register's page: its name, address and state (what went wrong, in
/// English, as the detail).
struct WitnessRow {
    name: String,
    url: String,
    state: String,
    detail: Option<String>,
    fork: bool,
}

/// The published checkpoint and each witness's state, in the page's language.
fn witness_rows(state: &AppState, tr: &Tr) -> ApiResult<(String, Vec<WitnessRow>)> {
    let t = &state.transparency;
    let msg = |id: &str, args: &[(&str, String)]| tr.i18n.message(tr.lang, id, args);
    let published = match t.published(&state.store)? {
        None => tr.t("reg-published-none"),
        Some(p) if t.witnesses().is_empty() => tr.t1(
            "reg-published-unwitnessed",
            "size",
            &i18n::int(tr.lang, p.size),
        ),
        Some(p) => msg(
            "reg-published",
            &[
                ("size", i18n::int(tr.lang, p.size)),
                ("cosigners", p.cosigners.join(", ")),
                ("quorum", format!("{}/{}", t.quorum(), t.witnesses().len())),
            ],
        ),
    };
    let when = |ms: i64| i18n::date_time(tr.lang, &habeas_register::Timestamp(ms).to_string());
    let rows = t
        .witnesses()
        .iter()
        .zip(t.statuses())
        .map(|(w, st)| {
            let (state, detail) = if let Some(reason) = &st.fork {
                (tr.t("reg-witness-fork"), Some(reason.clone()))
            } else if st.failing > 0 {
                (
                    msg(
                        "reg-witness-failing",
                        &[
                            ("failures", i18n::int(tr.lang, u64::from(st.failing))),
                            ("at", st.next_retry.map_or_else(String::new, |t| when(t.0))),
                        ],
                    ),
                    st.last_error.clone(),
                )
            } else if let Some(size) = st.cosigned_size {
                (
                    tr.t2(
                        "reg-witness-ok",
                        "size",
                        &i18n::int(tr.lang, size),
                        "at",
                        &st.cosigned_at.map_or_else(String::new, |s| {
                            when(i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000))
                        }),
                    ),
                    None,
                )
            } else {
                (tr.t("reg-witness-waiting"), None)
            };
            WitnessRow {
                name: w.name.clone(),
                url: w.url.clone().unwrap_or_default(),
                fork: st.fork.is_some(),
                state,
                detail,
            }
        })
        .collect();
    Ok((published, rows))
}

const OVERSEERS: &[Role] = &[Role::National, Role::Inspector, Role::Administrator];
const VERIFIERS: &[Role] = &[Role::Inspector, Role::National];
const LOG_READERS: &[Role] = &[Role::Inspector, Role::Administrator];

fn register_view(state: &AppState, caller: &Caller) -> ApiResult<RegisterPage> {
    use habeas_register::store::Store as _;
    let tr = Tr::new(lang_of(caller))?;
    let info = state.store.info()?;
    let checkpoint = match state.store.checkpoints()?.pop() {
        Some(c) => tr.t2(
            "reg-checkpoint-at",
            "size",
            &i18n::int(tr.lang, c.size),
            "at",
            &i18n::date_time(tr.lang, &c.made_at.to_string()),
        ),
        None => tr.t("reg-no-checkpoint"),
    };
    let (published, witnesses) = witness_rows(state, &tr)?;
    Ok(RegisterPage {
        who: who(state, caller, "/ui/register"),
        csrf: caller.csrf.clone().unwrap_or_default(),
        origin: info.origin,
        key: info.verifier.to_string(),
        size: i18n::int(tr.lang, state.store.size()?),
        checkpoint,
        access_size: i18n::int(tr.lang, state.access_store.size()?),
        published,
        witnesses,
        may_verify: VERIFIERS.contains(&caller.role),
        may_read_log: LOG_READERS.contains(&caller.role),
        result: None,
        ok: false,
        tr,
    })
}

pub(crate) async fn register_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = only(state, &caller, OVERSEERS, "read the register's status") {
            return Ok(r);
        }
        Ok(html(StatusCode::OK, &register_view(state, &caller)?))
    })
    .await
}

pub(crate) async fn verify_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let outcome = blocking(move || {
        use habeas_register::store::Store as _;
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = only(&state, &caller, VERIFIERS, "verify the register") {
            return Ok(r);
        }
        if let Some(r) = check_form(&state, &caller, &form.csrf, "verify the register") {
            return Ok(r);
        }
        let mut page = register_view(&state, &caller)?;
        let info = state.store.info()?;
        let (ok, result) = match habeas_register::verify::verify(&*state.store, &info.verifier) {
            Err(e) => (
                false,
                page.tr.t1("reg-verify-failed", "failure", &e.to_string()),
            ),
            Ok(report) => match state.store.check_projections()? {
                Err(m) => (
                    false,
                    page.tr.t1(
                        "reg-verify-failed",
                        "failure",
                        &format!("table {}: {m}", m.table),
                    ),
                ),
                Ok(()) => (
                    true,
                    page.tr.i18n.message(
                        page.tr.lang,
                        "reg-verify-ok",
                        &[
                            ("entries", i18n::int(page.tr.lang, report.entries)),
                            (
                                "checkpoints",
                                i18n::int(page.tr.lang, report.checkpoints as u64),
                            ),
                            (
                                "root",
                                report.root.iter().map(|b| format!("{b:02x}")).collect(),
                            ),
                        ],
                    ),
                ),
            },
        };
        page.ok = ok;
        page.result = Some(result);
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "ui/access_log.html")]
struct AccessLogPage {
    tr: Tr,
    who: Option<Who>,
    user: String,
    kind: String,
    person: String,
    kinds: Vec<(String, String)>,
    summary: String,
    /// Index, time, who, kind, facility, details.
    entries: Vec<(String, String, String, String, String, String)>,
    older: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LogQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    person: String,
    before: Option<u64>,
}

/// Entries shown on one page of the access log, and entries looked at to find them.
const LOG_PAGE: usize = 100;
const LOG_SCAN: u64 = 20_000;

pub(crate) async fn access_log_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<LogQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        use habeas_register::store::Store as _;
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = only(&state, &caller, LOG_READERS, "read the access log") {
            return Ok(r);
        }
        let tr = Tr::new(lang_of(&caller))?;
        let size = state.access_store.size()?;
        // Newest first, from `before`; filtered here, a bounded stretch at a time.
        let end = q.before.unwrap_or(size).min(size);
        let stop = end.saturating_sub(LOG_SCAN);
        let user = q.user.trim().to_owned();
        let person: Option<u64> = q.person.trim().parse().ok();
        let mut entries = Vec::new();
        let mut next = end;
        while next > stop && entries.len() < LOG_PAGE {
            next -= 1;
            let Some(bytes) = state.access_store.entry(next)? else {
                continue;
            };
            let e: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
            let kind = e["kind"].as_str().unwrap_or("");
            let actor = e["actor"].as_str().unwrap_or("");
            if !q.kind.is_empty() && kind != format!("access.{}", q.kind) {
                continue;
            }
            // Who asked where a person is, and about whom: for inspectors only.
            if kind == crate::access::kinds::WHEREABOUTS && caller.role != Role::Inspector {
                continue;
            }
            if !user.is_empty() && actor.trim_start_matches("user:") != user {
                continue;
            }
            if let Some(p) = person {
                if e["payload"]["person"].as_u64() != Some(p) {
                    continue;
                }
            }
            let short = kind.trim_start_matches("access.");
            entries.push((
                next.to_string(),
                i18n::date_time(tr.lang, e["time"].as_str().unwrap_or("")),
                actor.trim_start_matches("user:").to_owned(),
                tr.t(&format!("access-{short}")),
                e["facility"].as_str().unwrap_or("").to_owned(),
                details(&e["payload"], &tr),
            ));
        }
        let older = (next > 0).then(|| {
            format!(
                "/ui/access-log?user={}&kind={}&person={}&before={next}",
                user, q.kind, q.person
            )
        });
        let mut kinds = vec![(String::new(), tr.t("log-any"))];
        for k in [
            "sign_in",
            "read",
            "listed",
            "refused",
            "account",
            "disclosure",
        ] {
            kinds.push((k.to_owned(), tr.t(&format!("access-{k}"))));
        }
        let page = AccessLogPage {
            summary: tr.t2(
                "log-summary",
                "shown",
                &i18n::int(tr.lang, entries.len() as u64),
                "size",
                &i18n::int(tr.lang, size),
            ),
            who: who(&state, &caller, "/ui/access-log"),
            user,
            kind: q.kind,
            person: q.person,
            kinds,
            entries,
            older,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

pub struct FacilityLine {
    pub code: String,
    pub name: String,
    pub held: String,
    pub cna: String,
    pub operational: String,
    pub occupancy: String,
    pub class: &'static str,
    pub grave: String,
    pub serious: String,
    pub notice: String,
}

#[derive(Template)]
#[template(path = "ui/national.html")]
struct NationalPage {
    tr: Tr,
    who: Option<Who>,
    subtitle: String,
    evaluated: String,
    held: String,
    cna: String,
    occupancy: String,
    findings: String,
    rows: Vec<FacilityLine>,
}

pub(crate) async fn national_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ComplianceQuery>,
    headers: HeaderMap,
) -> Response {
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in();
        };
        if let Some(r) = only(
            &state,
            &caller,
            &[Role::National, Role::Inspector],
            "read the national overview",
        ) {
            return Ok(r);
        }
        // Every facility's page: its times in UTC, and its day UTC's (the page says so).
        let tr = Tr::new(lang_of(&caller))?;
        let as_of = as_of_day(&state, q.as_of.as_deref(), 0)?;
        // Every facility's findings in one evaluation; a person's counted in the facility
        // that holds them.
        let evaluation = state
            .evaluations
            .get(&state.store, &*state.clock, None, as_of)?;
        let findings = &evaluation.findings;
        // Counted once per evaluation and kept with it, as the dashboard's tally is.
        let per = match evaluation.national.get() {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(national_counts(&state, as_of, findings)?);
                let _ = evaluation.national.set(p.clone());
                p
            }
        };
        let (mut held, mut cna) = (0, 0);
        let mut rows = Vec::new();
        for (code, n) in per.iter() {
            held += n[0];
            cna += n[1];
            let name = state
                .store
                .facility(code)?
                .map_or_else(|| code.clone(), |f| format!("{} ({code})", f.name));
            rows.push(FacilityLine {
                code: code.clone(),
                name,
                held: i18n::int(tr.lang, n[0]),
                cna: i18n::int(tr.lang, n[1]),
                operational: i18n::int(tr.lang, n[2]),
                occupancy: percent(tr.lang, n[0], n[1]),
                class: occupancy_class(n[0], n[1]),
                grave: i18n::int(tr.lang, n[3]),
                serious: i18n::int(tr.lang, n[4]),
                notice: i18n::int(tr.lang, n[5]),
            });
        }
        let page = NationalPage {
            evaluated: evaluated(&tr, &evaluation),
            subtitle: tr.t1(
                "nat-subtitle",
                "date",
                &i18n::date(tr.lang, &as_of.to_string()),
            ),
            who: who(&state, &caller, "/ui/national"),
            held: i18n::int(tr.lang, held),
            cna: i18n::int(tr.lang, cna),
            occupancy: percent(tr.lang, held, cna),
            findings: i18n::int(tr.lang, findings.len() as u64),
            rows,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

/// Per facility: held on the day, CNA, operational capacity, then the grave, serious and
/// notice findings of an evaluation of every facility (a person's counted in the facility that
/// holds them).
fn national_counts(
    state: &AppState,
    as_of: habeas_core::dates::Date,
    findings: &[habeas_core::compliance::Finding],
) -> ApiResult<std::collections::BTreeMap<String, [u64; 6]>> {
    use habeas_core::compliance::{Severity, Subject};
    let cells = state.store.cells(None)?;
    let mut per: std::collections::BTreeMap<String, [u64; 6]> = Default::default();
    for c in &cells {
        let e = per.entry(c.facility.clone()).or_default();
        e[1] += c.cna;
        e[2] += c.operational_capacity;
    }
    // The head count of the day: every custody held at its end, in a cell or in none.
    for (code, n) in state.store.held_on(as_of)? {
        per.entry(code).or_default()[0] = n;
    }
    let mut booking_facility = std::collections::HashMap::new();
    for code in per.keys() {
        for b in state.store.booking_units(code)?.into_keys() {
            booking_facility.insert(b, code.clone());
        }
    }
    for h in state.store.head_counts(None)? {
        for u in h.not_in_a_cell {
            booking_facility.insert(u.booking, h.facility.clone());
        }
    }
    for f in findings {
        let facility = match &f.subject {
            Subject::Person { booking } => booking_facility.get(booking).cloned(),
            Subject::Cell { facility, .. }
            | Subject::Unit { facility, .. }
            | Subject::Facility { facility }
            | Subject::Hearing { facility, .. }
            | Subject::Incident { facility, .. } => Some(facility.clone()),
        };
        if let Some(e) = facility.and_then(|f| per.get_mut(&f)) {
            let k = match f.severity {
                Severity::Grave => 3,
                Severity::Serious => 4,
                Severity::Notice => 5,
            };
            e[k] += 1;
        }
    }
    Ok(per)
}

/// Bytes written on the blocking pool, handed to the answer's body as they come.
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(axum::body::Bytes::copy_from_slice(buf)))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the download was closed")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `GET /ui/register/export`: the whole register in the export format, streamed as it is read,
/// for inspectors and national administration. The disclosure is in the access log, durably,
/// before the first byte leaves.
pub(crate) async fn export_register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    use habeas_register::store::Store as _;
    let shared = state.clone();
    let checked = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(|r| (Some(r), String::new()));
        };
        if let Some(r) = only(&state, &caller, VERIFIERS, "export the register") {
            return Ok((Some(r), String::new()));
        }
        if state.store.checkpoints()?.is_empty() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no_checkpoint",
                "the register has no signed checkpoint yet",
            ));
        }
        state.log(&[crate::access::Event::Disclosure {
            username: &caller.user.username,
            facility: EVERY_FACILITY,
            what: "register export",
            to: "web download",
        }])?;
        Ok((None, format!("habeas-export-{}.jsonl", state.store.size()?)))
    })
    .await;
    let name = match checked {
        Err(e) => return e.into_response(),
        Ok((Some(r), _)) => return r,
        Ok((None, name)) => name,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::task::spawn_blocking(move || {
        let mut w = std::io::BufWriter::with_capacity(64 * 1024, ChannelWriter(tx.clone()));
        if let Err(e) = habeas_register::export::write_export(&*shared.store, &mut w) {
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// "Evaluated at … over … entries", and against which policy: what the pages say of a kept
/// evaluation.
fn evaluated(tr: &Tr, e: &crate::evaluations::Evaluation) -> String {
    let when = tr.t2(
        "dash-evaluated",
        "when",
        &tr.time(&e.made_at.to_string()),
        "size",
        &i18n::int(tr.lang, e.register_size),
    );
    let policy = tr.t2(
        "dash-policy",
        "name",
        &e.policy.name,
        "sha256",
        &e.policy.sha256,
    );
    format!("{when} {policy}")
}
