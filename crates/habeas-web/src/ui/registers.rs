//! The registers listed by facility: hearings by month, contacts and complaints.

use super::*;

/// A filter of a list page: a text or date input, or a choice.
pub struct Filter {
    pub name: &'static str,
    pub label: String,
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "ui/list.html")]
struct ListPage {
    tr: Tr,
    who: Option<Who>,
    title: String,
    action: &'static str,
    filters: Vec<Filter>,
    summary: String,
    empty: String,
    headers: Vec<String>,
    /// Each row's class ("" or `expired` to mark it) and cells.
    rows: Vec<(&'static str, Vec<String>)>,
    previous: Option<String>,
    next: Option<String>,
}

/// The column headings of a list, in the page's language.
fn column_heads(tr: &Tr, ids: &[&str]) -> Vec<String> {
    ids.iter().map(|h| tr.t(h)).collect()
}

/// The facility a register page lists, for a caller who reads records there.
fn register_facility(
    state: &AppState,
    caller: &Caller,
    asked: Option<String>,
    action: &str,
) -> ApiResult<Result<String, Response>> {
    if let Some(r) = file_reader(state, caller, action) {
        return Ok(Err(r));
    }
    Ok(page_facility(state, caller, asked, action)?.map(|(f, _)| f))
}

/// The month after (`step` 1) or before (`step` -1) a `YYYY-MM`.
/// The UTC instant at which the day `day` (`YYYY-MM-DD`) begins at a facility `offset` minutes
/// from UTC; a day that does not parse gives the empty string, before every time.
fn local_start(day: &str, offset: i32) -> String {
    habeas_core::dates::Date::parse("day", day)
        .map(|d| {
            habeas_register::Timestamp(d.start().millis() - i64::from(offset) * 60_000).to_string()
        })
        .unwrap_or_default()
}

pub(super) fn month_step(month: &str, step: i32) -> Option<String> {
    let y: i32 = month.get(0..4)?.parse().ok()?;
    let m: i32 = month.get(5..7)?.parse().ok()?;
    if !(1..=12).contains(&m) || month.len() != 7 {
        return None;
    }
    let k = y * 12 + (m - 1) + step;
    Some(format!(
        "{:04}-{:02}",
        k.div_euclid(12),
        k.rem_euclid(12) + 1
    ))
}

fn facility_filter(tr: &Tr, facility: &str) -> Filter {
    Filter {
        name: "facility",
        label: tr.t("board-facility"),
        kind: "text",
        value: facility.to_owned(),
        options: Vec::new(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct HearingsQuery {
    facility: Option<String>,
    month: Option<String>,
}

pub(crate) async fn hearings_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HearingsQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        let facility = match register_facility(state, &caller, q.facility, "read hearings")? {
            Ok(f) => f,
            Err(r) => return Ok(r),
        };
        let tr = local_tr(state, &caller, &facility)?;
        let this_month = state
            .default_day_at(tr.offset)
            .day
            .to_string()
            .get(0..7)
            .unwrap_or("")
            .to_owned();
        let month = q
            .month
            .filter(|m| month_step(m, 0).is_some())
            .unwrap_or(this_month);
        // The facility's local month, as the UTC instants it spans.
        let (from, to) = (
            local_start(&format!("{month}-01"), tr.offset),
            local_start(
                &format!("{}-01", month_step(&month, 1).unwrap_or_default()),
                tr.offset,
            ),
        );
        let hearings = state.store.hearings(&facility, &from, &to)?;
        let rows = hearings
            .iter()
            .map(|h| {
                let marked = h.people_heard > 10 || h.counsel.is_none();
                (
                    if marked { "expired" } else { "" },
                    vec![
                        tr.time(&h.at),
                        h.court.clone(),
                        tr.t(&format!("mode-{}", h.mode)),
                        h.counsel.clone().unwrap_or_else(|| "—".to_owned()),
                        i18n::int(tr.lang, h.people_heard),
                        h.outcome.clone().unwrap_or_default(),
                        h.next_date
                            .as_deref()
                            .map_or(String::new(), |d| i18n::date(tr.lang, d)),
                    ],
                )
            })
            .collect();
        let link =
            |m: Option<String>| m.map(|m| format!("/ui/hearings?facility={facility}&month={m}"));
        let page = ListPage {
            title: tr.t2("hear-title", "facility", &facility, "month", &month),
            who: who_at(
                state,
                &caller,
                &format!("/ui/hearings?facility={facility}&month={month}"),
                tr.offset,
            ),
            action: "/ui/hearings",
            filters: vec![
                facility_filter(&tr, &facility),
                Filter {
                    name: "month",
                    label: tr.t("list-month"),
                    kind: "month",
                    value: month.clone(),
                    options: Vec::new(),
                },
            ],
            summary: tr.t1(
                "hear-summary",
                "count",
                &i18n::int(tr.lang, hearings.len() as u64),
            ),
            empty: tr.t("hear-none"),
            headers: column_heads(
                &tr,
                &[
                    "person-when",
                    "hear-court",
                    "hear-mode",
                    "hear-counsel",
                    "hear-people",
                    "hear-outcome",
                    "hear-next",
                ],
            ),
            rows,
            previous: link(month_step(&month, -1)),
            next: link(month_step(&month, 1)),
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContactsQuery {
    facility: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    party: String,
}

/// The day `days` before a `YYYY-MM-DD`.
pub(super) fn days_before(day: &str, days: i64) -> String {
    match habeas_core::dates::Date::parse("day", day) {
        Ok(d) => habeas_register::Timestamp(d.start().millis() - days * 86_400_000).date_string(),
        Err(_) => day.to_owned(),
    }
}

pub(crate) async fn contacts_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ContactsQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        let facility = match register_facility(state, &caller, q.facility, "read contacts")? {
            Ok(f) => f,
            Err(r) => return Ok(r),
        };
        let tr = local_tr(state, &caller, &facility)?;
        let valid = |d: &Option<String>| {
            d.as_deref()
                .filter(|d| habeas_core::dates::Date::parse("day", d).is_ok())
                .map(str::to_owned)
        };
        let to = valid(&q.to).unwrap_or_else(|| state.default_day_at(tr.offset).day.to_string());
        let from = valid(&q.from).unwrap_or_else(|| days_before(&to, 30));
        const PARTIES: [&str; 7] = [
            "family",
            "designated",
            "legal",
            "consular",
            "inspector",
            "media",
            "official",
        ];
        let party = PARTIES.iter().find(|p| **p == q.party).copied();
        // The facility's local days, as the UTC instants they span.
        let contacts = state.store.contacts(
            &facility,
            &local_start(&from, tr.offset),
            &local_start(&days_before(&to, -1), tr.offset),
            party,
            500,
        )?;
        // The register names the people it lists: logged before it is shown.
        state.listed(
            &caller,
            &facility,
            "contacts register",
            Some(&format!("{from}..{to} {}", party.unwrap_or("all"))),
            distinct(contacts.iter().map(|c| c.booking)),
        )?;
        let rows = contacts
            .iter()
            .map(|c| {
                let request = match c.granted {
                    None => String::new(),
                    Some(true) => tr.t("contacts-granted"),
                    Some(false) => tr.t2(
                        "contacts-refused",
                        "reason",
                        c.reason.as_deref().unwrap_or("—"),
                        "authority",
                        c.authority.as_deref().unwrap_or("—"),
                    ),
                };
                (
                    if c.granted == Some(false) {
                        "expired"
                    } else {
                        ""
                    },
                    vec![
                        tr.time(&c.at),
                        format!("{} ({})", c.name, c.booking),
                        tr.t(&format!("contact-{}", c.kind)),
                        tr.t(&format!("party-{}", c.party)),
                        c.minutes.map_or(String::new(), |m| i18n::int(tr.lang, m)),
                        request,
                    ],
                )
            })
            .collect();
        let mut parties = vec![(String::new(), tr.t("party-any"))];
        parties.extend(
            PARTIES
                .iter()
                .map(|p| ((*p).to_owned(), tr.t(&format!("party-{p}")))),
        );
        let page = ListPage {
            title: tr.t1("contacts-title", "facility", &facility),
            who: who_at(state, &caller, "/ui/contacts", tr.offset),
            action: "/ui/contacts",
            filters: vec![
                facility_filter(&tr, &facility),
                Filter {
                    name: "from",
                    label: tr.t("list-from"),
                    kind: "date",
                    value: from.clone(),
                    options: Vec::new(),
                },
                Filter {
                    name: "to",
                    label: tr.t("list-to"),
                    kind: "date",
                    value: to.clone(),
                    options: Vec::new(),
                },
                Filter {
                    name: "party",
                    label: tr.t("list-party"),
                    kind: "text",
                    value: party.unwrap_or("").to_owned(),
                    options: parties,
                },
            ],
            summary: tr.i18n.message(
                tr.lang,
                "contacts-summary",
                &[
                    ("count", i18n::int(tr.lang, contacts.len() as u64)),
                    ("from", i18n::date(tr.lang, &from)),
                    ("to", i18n::date(tr.lang, &to)),
                ],
            ),
            empty: tr.t("contacts-none"),
            headers: column_heads(
                &tr,
                &[
                    "person-when",
                    "cell-person",
                    "contacts-kind",
                    "list-party",
                    "contacts-minutes",
                    "contacts-request",
                ],
            ),
            rows,
            previous: None,
            next: None,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct ComplaintsQuery {
    facility: Option<String>,
    #[serde(default)]
    status: String,
}

pub(crate) async fn complaints_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ComplaintsQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        let facility = match register_facility(state, &caller, q.facility, "read complaints")? {
            Ok(f) => f,
            Err(r) => return Ok(r),
        };
        let tr = local_tr(state, &caller, &facility)?;
        let open = q.status != "all";
        // Overdue once the facility's local day is past the reply's due day.
        let today = state.default_day_at(tr.offset).day.to_string();
        let complaints = state.store.complaints(&facility, open, 500)?;
        state.listed(
            &caller,
            &facility,
            "complaints register",
            Some(if open { "open" } else { "all" }),
            distinct(complaints.iter().map(|k| k.booking)),
        )?;
        let yes_no = |b: bool| tr.t(if b { "yes" } else { "no" });
        let rows = complaints
            .iter()
            .map(|k| {
                let overdue = k.replied.is_none() && k.reply_due.as_str() < today.as_str();
                (
                    if overdue { "expired" } else { "" },
                    vec![
                        tr.time(&k.at),
                        format!("{} ({})", k.name, k.booking),
                        i18n::date(tr.lang, &k.reply_due),
                        k.replied
                            .map_or_else(|| tr.t("no"), |e| format!("{} ({e})", tr.t("yes"))),
                        yes_no(k.alleges_ill_treatment),
                        k.referred
                            .map_or_else(|| tr.t("no"), |e| format!("{} ({e})", tr.t("yes"))),
                        yes_no(k.confidential),
                    ],
                )
            })
            .collect();
        let page = ListPage {
            title: tr.t1("complaints-title", "facility", &facility),
            who: who_at(state, &caller, "/ui/complaints", tr.offset),
            action: "/ui/complaints",
            filters: vec![
                facility_filter(&tr, &facility),
                Filter {
                    name: "status",
                    label: tr.t("list-status"),
                    kind: "text",
                    value: if open { "open" } else { "all" }.to_owned(),
                    options: vec![
                        ("open".to_owned(), tr.t("complaints-open")),
                        ("all".to_owned(), tr.t("complaints-all")),
                    ],
                },
            ],
            summary: tr.t1(
                "complaints-summary",
                "count",
                &i18n::int(tr.lang, complaints.len() as u64),
            ),
            empty: tr.t("complaints-none"),
            headers: column_heads(
                &tr,
                &[
                    "person-when",
                    "cell-person",
                    "complaints-due",
                    "complaints-replied",
                    "complaints-ill-treatment",
                    "complaints-referred",
                    "complaints-confidential",
                ],
            ),
            rows,
            previous: None,
            next: None,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await
}

/// How many different bookings (people in custody) a list names.
fn distinct(bookings: impl Iterator<Item = u64>) -> u64 {
    bookings.collect::<std::collections::BTreeSet<_>>().len() as u64
}
