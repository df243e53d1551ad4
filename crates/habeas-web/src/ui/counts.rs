//! The roll count, cell by cell, and the day's reconciliation against the records.

use super::*;

pub struct CountRow {
    pub code: String,
    pub expected: String,
    pub label: String,
    pub value: String,
    pub error: String,
}

pub struct ReconciliationLine {
    pub at: String,
    pub cell: String,
    pub counted: String,
    pub expected: String,
    pub difference: String,
    pub off: bool,
}

#[derive(Template)]
#[template(path = "ui/counts.html")]
struct CountsPage {
    tr: Tr,
    who: Option<Who>,
    csrf: String,
    title: String,
    facility: String,
    at: String,
    general: Option<String>,
    lines: Vec<ReconciliationLine>,
    not_counted: String,
    /// The cells not yet counted today, listed under the summary.
    not_counted_cells: String,
    /// The facility's total reconciled against its open custodies.
    head_count: String,
    /// The bookings held in no cell, whom no cell's count finds.
    in_no_cell: String,
    cells: Vec<CountRow>,
    /// The day whose reconciliation is shown (`YYYY-MM-DD`, the date picker's value).
    day: String,
    /// The facility's units, and the one whose cells the form counts.
    units: Vec<String>,
    unit: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CountsQuery {
    facility: Option<String>,
    /// The day of the reconciliation shown (default: the day the pages show).
    date: Option<String>,
    /// The unit whose cells the form counts (default: the first).
    unit: Option<String>,
}

/// The roll-count page of a facility: the reconciliation of a day (today by default) and the
/// form, which counts the cells of one unit at a time.
fn counts_view(
    state: &AppState,
    caller: &Caller,
    facility: Option<String>,
    day: Option<&str>,
    unit: Option<&str>,
    values: &std::collections::BTreeMap<String, String>,
) -> ApiResult<Result<CountsPage, Response>> {
    if let Some(r) = only(
        state,
        caller,
        &[Role::Custody, Role::Director],
        "record a roll count",
    ) {
        return Ok(Err(r));
    }
    let Some(facility) = facility.or_else(|| caller.user.facilities.first().cloned()) else {
        return Ok(Err(error_page(
            StatusCode::NOT_FOUND,
            caller,
            "error-not-found",
        )));
    };
    if let Some(r) = scoped(state, caller, &facility, "record a roll count") {
        return Ok(Err(r));
    }
    let tr = local_tr(state, caller, &facility)?;
    let now = state.clock.now();
    let today = day
        .filter(|d| habeas_core::dates::Date::parse("date", d).is_ok())
        .map_or_else(
            || state.default_day_at(tr.offset).day.to_string(),
            str::to_owned,
        );
    let all = state.store.cells(Some(&facility))?;
    let report = local_count_report(state, &facility, &today, tr.offset, &all)?;
    let lines = report
        .lines
        .iter()
        .map(|l| ReconciliationLine {
            at: tr.hour(&l.at),
            cell: l.cell.clone(),
            counted: i18n::int(tr.lang, l.counted),
            expected: i18n::int(tr.lang, l.expected),
            difference: format!("{:+}", l.counted as i64 - l.expected as i64),
            off: l.counted != l.expected,
        })
        .collect();
    let not_counted = if report.not_counted.is_empty() {
        tr.t("count-all-counted")
    } else {
        tr.t1(
            "count-not-counted",
            "cells",
            &i18n::int(tr.lang, report.not_counted.len() as u64),
        )
    };
    let (head_count, in_no_cell) = match &report.head_count {
        Some(h) => (
            tr.i18n.message(
                tr.lang,
                "count-head",
                &[
                    ("held", i18n::int(tr.lang, h.held)),
                    ("cells", i18n::int(tr.lang, h.in_cells)),
                    ("none", i18n::int(tr.lang, h.not_in_a_cell.len() as u64)),
                ],
            ),
            h.not_in_a_cell
                .iter()
                .map(|u| u.booking.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        None => (String::new(), String::new()),
    };
    let mut units: Vec<String> = all.iter().map(|c| c.unit.clone()).collect();
    units.dedup();
    let unit = unit
        .filter(|u| units.iter().any(|x| x == u))
        .map(str::to_owned)
        .or_else(|| units.first().cloned())
        .unwrap_or_default();
    let cells = all
        .into_iter()
        .filter(|c| c.unit == unit)
        .map(|c| CountRow {
            expected: i18n::int(tr.lang, c.population),
            label: tr.t1("count-label", "cell", &c.code),
            value: values
                .get(&format!("count.{}", c.code))
                .cloned()
                .unwrap_or_default(),
            error: String::new(),
            code: c.code,
        })
        .collect();
    Ok(Ok(CountsPage {
        title: tr.t2(
            "count-title",
            "facility",
            &facility,
            "date",
            &i18n::date(tr.lang, &today),
        ),
        who: who_at(
            state,
            caller,
            &format!("/ui/counts?facility={facility}&date={today}&unit={unit}"),
            tr.offset,
        ),
        csrf: caller.csrf.clone().unwrap_or_default(),
        at: values.get("at").cloned().unwrap_or_else(|| {
            i18n::wall_clock(&now.to_string(), tr.offset)
                .and_then(|t| t.get(0..16).map(str::to_owned))
                .unwrap_or_default()
        }),
        facility,
        general: None,
        head_count,
        in_no_cell,
        lines,
        not_counted,
        not_counted_cells: report.not_counted.join(", "),
        cells,
        day: today,
        units,
        unit,
        tr,
    }))
}

/// The counts of `day`, a local day of a facility `offset` minutes from UTC: the store's
/// reports of the UTC days it spans, with the counts made that local day only, and the cells
/// (of `cells`, the facility's) none of them counted.
fn local_count_report(
    state: &AppState,
    facility: &str,
    day: &str,
    offset: i32,
    cells: &[habeas_store_sqlite::CellRow],
) -> ApiResult<habeas_store_sqlite::CountReport> {
    let mut report = state.store.count_report(facility, day)?;
    if offset == 0 {
        return Ok(report);
    }
    let Ok(date) = habeas_core::dates::Date::parse("date", day) else {
        return Ok(report);
    };
    let other = date.plus_days(if offset < 0 { 1 } else { -1 }).to_string();
    let more = state.store.count_report(facility, &other)?;
    report.lines.extend(more.lines);
    report
        .lines
        .retain(|l| i18n::wall_clock(&l.at, offset).is_some_and(|w| w.starts_with(day)));
    report
        .lines
        .sort_by(|a, b| (a.idx, &a.cell).cmp(&(b.idx, &b.cell)));
    let counted: std::collections::BTreeSet<&str> =
        report.lines.iter().map(|l| l.cell.as_str()).collect();
    let mut not_counted: Vec<String> = cells
        .iter()
        .map(|c| c.code.clone())
        .filter(|c| !counted.contains(c.as_str()))
        .collect();
    not_counted.sort();
    report.not_counted = not_counted;
    Ok(report)
}

pub(crate) async fn counts_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CountsQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        Ok(
            match counts_view(
                state,
                &caller,
                q.facility,
                q.date.as_deref(),
                q.unit.as_deref(),
                &std::collections::BTreeMap::new(),
            )? {
                Ok(page) => html(StatusCode::OK, &page),
                Err(r) => r,
            },
        )
    })
    .await
}

pub(crate) async fn counts_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<std::collections::BTreeMap<String, String>>,
) -> Response {
    let shared = state.clone();
    let outcome = blocking(move || {
        let Some(caller) = page_caller(&state, &headers) else {
            return to_sign_in().map(|r| (r, None));
        };
        if let Some(r) = check_form(
            &state,
            &caller,
            form.get("csrf").map_or("", String::as_str),
            "record a roll count",
        ) {
            return Ok((r, None));
        }
        let mut page = match counts_view(
            &state,
            &caller,
            form.get("facility").cloned(),
            None,
            form.get("unit").map(String::as_str),
            &form,
        )? {
            Ok(p) => p,
            Err(r) => return Ok((r, None)),
        };
        // Each cell with a number; a value that is not one is named beside its cell.
        let mut counts = Vec::new();
        let mut bad = false;
        for row in &mut page.cells {
            let v = row.value.trim();
            if v.is_empty() {
                continue;
            }
            match v.parse::<u32>() {
                Ok(n) => counts.push(habeas_core::events::CellCount {
                    cell: row.code.clone(),
                    counted: n,
                    present: None,
                }),
                Err(_) => {
                    row.error = page.tr.t("count-not-number");
                    bad = true;
                }
            }
        }
        if bad {
            return Ok((html(StatusCode::BAD_REQUEST, &page), None));
        }
        if counts.is_empty() {
            page.general = Some(page.tr.t("count-empty"));
            return Ok((html(StatusCode::BAD_REQUEST, &page), None));
        }
        let at = page.tr.form_time(&page.at);
        let count = match habeas_core::events::RollCount::new(
            &page.facility,
            &at,
            &counts,
            state.clock.now(),
        ) {
            Ok(c) => c,
            Err(e) => {
                let why = page.tr.refusal(e.words.as_ref(), &e.message);
                page.general = Some(format!("{}: {why}", e.field));
                return Ok((html(StatusCode::BAD_REQUEST, &page), None));
            }
        };
        let actor = crate::api::actor(&caller)?;
        let back = format!(
            "/ui/counts?facility={}&date={}&unit={}",
            page.facility,
            i18n::wall_clock(&at, page.tr.offset)
                .and_then(|t| t.get(0..10).map(str::to_owned))
                .unwrap_or_default(),
            page.unit
        );
        Ok((
            Response::default(),
            Some((page, back, count.to_draft(&actor))),
        ))
    })
    .await;
    let (mut page, back, draft) = match outcome {
        Err(e) => return e.into_response(),
        Ok((r, None)) => return r,
        Ok((_, Some(parts))) => parts,
    };
    match commit(&shared, draft).await {
        // Recorded: back to the page, which shows the day's reconciliation with it.
        Ok(Ok(_)) => Redirect::to(&back).into_response(),
        Ok(Err(r)) => {
            page.general = Some(page.tr.rejection(&r));
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(answer) => answer,
    }
}
