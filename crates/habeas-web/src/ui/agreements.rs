//! Custody agreements with other states: the list (a director's facilities', or all), and the
//! account of one for a period — who was held under it, person-days, the amount due at its
//! rate, the references recorded and the findings about them — with the API's rules
//! (`crate::agreements`): the same roles, an agreement of another facility not found, the
//! account in the access log before it is shown.

use super::*;
use crate::agreements::{account, in_scope, visible, ROLES};
use habeas_store_sqlite::{Agreement, AgreementReport};

#[derive(Template)]
#[template(path = "ui/agreements.html")]
struct AgreementsPage {
    tr: Tr,
    who: Option<Who>,
    /// Id, facility, counterpart, reference, dates, rate, people.
    rows: Vec<AgreementLine>,
}

struct AgreementLine {
    id: u64,
    facility: String,
    counterpart: String,
    reference: String,
    dates: String,
    rate: String,
    people: String,
}

/// One person of the account, as the page shows them.
struct PersonLine {
    person: u64,
    name: String,
    nationalities: String,
    /// Each custody: booking, facility, how it began, how it ended.
    custodies: Vec<String>,
    references: String,
    person_days: String,
    amount: String,
    /// Severity (for the class), code, the rule in the page's language (empty where the
    /// catalogue lacks it), since, and in English the detail (with the rule where it is not
    /// translated).
    findings: Vec<(&'static str, String, String, String, String)>,
}

struct Summary {
    people: String,
    person_days: String,
    amount: String,
    findings: String,
    counted: String,
    findings_note: String,
}

#[derive(Template)]
#[template(path = "ui/agreement.html")]
struct AgreementPage {
    tr: Tr,
    who: Option<Who>,
    title: String,
    id: u64,
    facility: String,
    counterpart: String,
    reference: String,
    dates: String,
    rate: String,
    terms: String,
    from: String,
    to: String,
    problem: Option<String>,
    summary: Option<Summary>,
    people: Vec<PersonLine>,
}

/// The digits after the point of a currency's main unit (ISO 4217): most have two.
fn minor_digits(currency: &str) -> u32 {
    const NONE: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
        "VUV", "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NONE.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

/// An amount kept in the smallest unit of its currency, written in the main unit as the
/// language writes numbers: `2.298.900` cents → `22.989,00 USD`.
fn money(lang: i18n::Lang, amount: u64, currency: &str) -> String {
    let digits = minor_digits(currency);
    let scale = 10u64.pow(digits);
    let whole = i18n::int(lang, amount / scale);
    if digits == 0 {
        return format!("{whole} {currency}");
    }
    let point = match lang {
        i18n::Lang::Es => ',',
        i18n::Lang::En => '.',
    };
    format!(
        "{whole}{point}{:0width$} {currency}",
        amount % scale,
        width = digits as usize
    )
}

fn rate_of(tr: &Tr, a: &Agreement) -> String {
    match (a.per_capita_rate, a.currency.as_deref()) {
        (Some(r), Some(c)) => tr.t1("agr-rate-per-day", "amount", &money(tr.lang, r, c)),
        _ => tr.t("agr-no-rate"),
    }
}

fn dates_of(tr: &Tr, a: &Agreement) -> String {
    match &a.ends {
        Some(e) => tr.t2(
            "agr-dates-ending",
            "starts",
            &i18n::date(tr.lang, &a.starts),
            "ends",
            &i18n::date(tr.lang, e),
        ),
        None => tr.t1("agr-dates-open", "starts", &i18n::date(tr.lang, &a.starts)),
    }
}

/// Refuses (logged) a role that does not read agreements, as a page.
fn reader(state: &AppState, caller: &Caller) -> Option<Response> {
    only(state, caller, ROLES, "read agreements")
}

pub(crate) async fn agreements_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = reader(state, &caller) {
            return Ok(r);
        }
        let tr = Tr::new(lang_of(&caller))?;
        let rows = visible(state, &caller)?
            .iter()
            .map(|a| AgreementLine {
                id: a.id,
                facility: a.facility.clone(),
                counterpart: a.counterpart.clone(),
                reference: a.reference.clone(),
                dates: dates_of(&tr, a),
                rate: rate_of(&tr, a),
                people: i18n::int(tr.lang, a.people),
            })
            .collect();
        let page = AgreementsPage {
            who: who(state, &caller, "/ui/agreements"),
            rows,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// How a custody began and ended, in the page's language, at the local time of the facility
/// that held it (`offsets`: each facility's, in minutes from UTC).
fn custody_line(
    tr: &Tr,
    offsets: &std::collections::HashMap<String, i32>,
    c: &habeas_store_sqlite::AgreementCustody,
) -> String {
    let tr = &tr.at(offsets.get(&c.facility).copied().unwrap_or(0));
    let began = match &c.transferred_from {
        Some(from) => tr.t2(
            "agr-began-transfer",
            "at",
            &tr.time(&c.began_at),
            "from",
            from,
        ),
        None => tr.t1("agr-began", "at", &tr.time(&c.began_at)),
    };
    let ended = match (&c.ended_at, c.end_reason.as_deref()) {
        (Some(at), reason) => {
            let why = match reason {
                Some("death") => tr.t("kind-custody-death"),
                Some(r) => tr
                    .known(&format!("release-reason-{r}"))
                    .unwrap_or_else(|| r.to_owned()),
                None => String::new(),
            };
            format!("; {}", tr.t2("agr-ended", "at", &tr.time(at), "why", &why))
        }
        (None, _) => String::new(),
    };
    format!(
        "{} {}, {}: {began}{ended}",
        tr.t("cell-booking"),
        c.booking,
        c.facility
    )
}

fn people_lines(
    tr: &Tr,
    offsets: &std::collections::HashMap<String, i32>,
    r: &AgreementReport,
) -> Vec<PersonLine> {
    let currency = r.currency.as_deref().unwrap_or("");
    r.people
        .iter()
        .map(|p| PersonLine {
            person: p.person,
            name: p.name.clone(),
            nationalities: p.nationalities.join(", "),
            custodies: p
                .custodies
                .iter()
                .map(|c| custody_line(tr, offsets, c))
                .collect(),
            references: p
                .custodies
                .iter()
                .flat_map(|c| c.references.iter())
                .map(|x| format!("{}: {}", x.authority, x.reference))
                .collect::<Vec<_>>()
                .join("; "),
            person_days: i18n::int(tr.lang, p.person_days),
            amount: p
                .amount_due
                .map_or_else(String::new, |a| money(tr.lang, a, currency)),
            findings: p
                .findings
                .iter()
                .map(|f| {
                    let rule = tr.known(&format!("rule-{}", f.code.replace('.', "-")));
                    let detail = match rule {
                        Some(_) => f.detail.clone(),
                        None => format!("{} ({})", f.detail, f.rule),
                    };
                    (
                        match f.severity.as_str() {
                            "grave" => "sev-grave",
                            "serious" => "sev-serious",
                            _ => "sev-notice",
                        },
                        f.code.clone(),
                        rule.unwrap_or_default(),
                        f.since
                            .as_deref()
                            .map_or_else(String::new, |s| i18n::date(tr.lang, s)),
                        detail,
                    )
                })
                .collect(),
        })
        .collect()
}

pub(crate) async fn agreement_page(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<PeriodQuery>,
    headers: HeaderMap,
) -> Response {
    signed_in(state, headers, move |state, caller| {
        if let Some(r) = reader(state, &caller) {
            return Ok(r);
        }
        // Not a number, not an agreement, another facility's: the same page, the refusal
        // logged.
        let found = match id.parse::<u64>() {
            Ok(n) => match in_scope(state, &caller, n) {
                Ok(a) => Some(a),
                Err(e) if e.code() == "not_found" => None,
                Err(e) => return Err(e),
            },
            Err(_) => {
                state.refuse(
                    &caller,
                    crate::access::EVERY_FACILITY,
                    "read an agreement",
                    "not an agreement's number",
                )?;
                None
            }
        };
        let Some(agreement) = found else {
            return Ok(error_page(
                StatusCode::NOT_FOUND,
                &caller,
                "error-not-found",
            ));
        };
        let tr = Tr::new(lang_of(&caller))?;
        let (report, problem) = match account(
            state,
            &caller,
            &agreement,
            q.from.as_deref(),
            q.to.as_deref(),
        ) {
            Ok(r) => (Some(r), None),
            // A period refused: the page says so beside the picker (the reason in English,
            // as the API gives it).
            Err(e) if e.field_name().is_some() => (None, Some(e.message().to_owned())),
            Err(e) => return Err(e),
        };
        let (from, to) = match &report {
            Some(r) => (r.from.clone(), r.to.clone()),
            None => (
                q.from.clone().unwrap_or_default(),
                q.to.clone().unwrap_or_default(),
            ),
        };
        let summary = report.as_ref().map(|r| Summary {
            people: i18n::int(tr.lang, r.people.len() as u64),
            person_days: i18n::int(tr.lang, r.person_days),
            amount: match (r.amount_due, r.currency.as_deref()) {
                (Some(v), Some(c)) => money(tr.lang, v, c),
                _ => tr.t("agr-no-rate"),
            },
            findings: i18n::int(tr.lang, r.findings() as u64),
            counted: match (&r.counted_from, &r.counted_to) {
                (Some(a), Some(b)) => tr.t2(
                    "agr-counted",
                    "from",
                    &i18n::date(tr.lang, a),
                    "to",
                    &i18n::date(tr.lang, b),
                ),
                _ => String::new(),
            },
            findings_note: tr.t1(
                "agr-findings-as-of",
                "date",
                &i18n::date(tr.lang, &r.findings_as_of),
            ),
        });
        // Each custody's times at its facility's local time.
        let mut offsets = std::collections::HashMap::new();
        if let Some(r) = &report {
            for c in r.people.iter().flat_map(|p| p.custodies.iter()) {
                if !offsets.contains_key(&c.facility) {
                    offsets.insert(c.facility.clone(), state.utc_offset(&c.facility)?);
                }
            }
        }
        let people = report
            .as_ref()
            .map(|r| people_lines(&tr, &offsets, r))
            .unwrap_or_default();
        let page = AgreementPage {
            title: tr.t2(
                "agr-title",
                "reference",
                &agreement.reference,
                "counterpart",
                &agreement.counterpart,
            ),
            who: who(state, &caller, &format!("/ui/agreements/{}", agreement.id)),
            id: agreement.id,
            facility: agreement.facility.clone(),
            counterpart: agreement.counterpart.clone(),
            reference: agreement.reference.clone(),
            dates: dates_of(&tr, &agreement),
            rate: rate_of(&tr, &agreement),
            terms: agreement.terms.clone(),
            from,
            to,
            problem,
            summary,
            people,
            tr,
        };
        Ok(html(StatusCode::OK, &page))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_in_the_main_unit_of_their_currency() {
        assert_eq!(money(i18n::Lang::Es, 2_298_900, "USD"), "22.989,00 USD");
        assert_eq!(money(i18n::Lang::En, 2_298_905, "USD"), "22,989.05 USD");
        assert_eq!(money(i18n::Lang::En, 1_500, "JPY"), "1,500 JPY");
        assert_eq!(money(i18n::Lang::Es, 1_500, "KWD"), "1,500 KWD");
    }
}
