//! `habeas report`: the compliance findings of a facility (or all), as of a day.

use crate::open::DbArgs;
use anyhow::{Context, Result};
use habeas_core::compliance::{self, Finding, Policy};
use habeas_core::dates::Date;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// The compliance report's formats: those of every report, and a page.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ComplianceFormat {
    Table,
    Json,
    Csv,
    /// One self-contained page, for reading in a browser or printing.
    Html,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Every finding against the Mandela Rules, with the rule, subject, period and evidence.
    Compliance(ComplianceArgs),
    /// Rule 10 statistics: population by legal status, sex, age band and nationality;
    /// occupancy; admissions, releases and deaths per month.
    Statistics(crate::statistics::StatisticsArgs),
    /// A custody agreement with another state: the people held under it, person-days, the
    /// amount due at its rate, the references recorded and every finding about those people
    /// (without --id: the agreements).
    Agreement(crate::agreement_report::AgreementArgs),
}

#[derive(Debug, clap::Args)]
pub struct ComplianceArgs {
    #[arg(long)]
    facility: Option<String>,
    /// YYYY-MM-DD [default: today].
    #[arg(long, conflicts_with = "period")]
    as_of: Option<String>,
    /// FROM..TO (YYYY-MM-DD..YYYY-MM-DD, inclusive): every day of the period is measured (time
    /// out of cell, open air, solitary), consecutive days of a breach making one finding; the
    /// other findings are as of TO.
    #[arg(long)]
    period: Option<String>,
    /// A policy file [default: the built-in policy/mandela-minimum.toml].
    #[arg(long)]
    policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ComplianceFormat::Table)]
    format: ComplianceFormat,
}

pub fn run(db: &DbArgs, actor: &str, command: ReportCommand) -> Result<ExitCode> {
    match command {
        ReportCommand::Compliance(args) => compliance(db, actor, args),
        ReportCommand::Statistics(args) => crate::statistics::run(db, args),
        ReportCommand::Agreement(args) => crate::agreement_report::run(db, actor, args),
    }
}

fn compliance(db: &DbArgs, actor: &str, args: ComplianceArgs) -> Result<ExitCode> {
    let policy = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => Policy::mandela_minimum().map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let period = args.period.as_deref().map(parse_period).transpose()?;
    let store = db.open_store()?;
    let as_of = match (&args.as_of, period) {
        (_, Some((_, to))) => to,
        (Some(raw), None) => Date::parse("as_of", raw).map_err(|e| anyhow::anyhow!("{e}"))?,
        (None, None) => crate::open::default_day(&store, "--as-of")?,
    };
    known_facility(&store, args.facility.as_deref())?;
    let facility = args.facility.as_deref();
    let facts = store
        .compliance_facts(facility, as_of)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The units' days whose food and water nobody recorded: missing evidence, as of the day.
    let no_food_records =
        compliance::food_gaps(&policy, &facts.food_services, &facts.occupied_units, as_of);
    let (findings, no_records) = match period {
        None => (compliance::evaluate(&policy, &facts, as_of), Vec::new()),
        Some((from, to)) => evaluate_period(&store, &policy, facility, from, to, facts)?,
    };
    let when = match period {
        Some((from, to)) => format!("{from}..{to}"),
        None => as_of.to_string(),
    };
    // The report names people: in the access log before it is shown.
    db.log_access(&[habeas_web::access::Event::Listed {
        username: actor,
        facility: facility.unwrap_or(habeas_web::access::EVERY_FACILITY),
        what: "compliance report",
        query: Some(&when),
        people: people_named(&findings, &no_records),
    }])?;
    match args.format {
        ComplianceFormat::Json => emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "policy": policy.name,
                "policy_sha256": policy.source().sha256,
                "policy_relaxes": policy.source().relaxed,
                "as_of": as_of.to_string(),
                "period": period.map(|(a, b)| [a.to_string(), b.to_string()]),
                "findings": findings,
                "no_records": no_records,
                "no_food_records": no_food_records,
            }))?
        ))?,
        ComplianceFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            // Each row names the policy it was measured under and its file's SHA-256, so that a
            // spreadsheet made of some of the rows still says which thresholds found them.
            w.write_record([
                "severity",
                "code",
                "rule",
                "subject",
                "since",
                "until",
                "detail",
                "evidence",
                "policy",
                "policy_sha256",
            ])?;
            let source = policy.source();
            for f in &findings {
                let evidence: Vec<String> = f.evidence.iter().map(u64::to_string).collect();
                w.write_record([
                    f.severity.as_str(),
                    f.code,
                    f.rule,
                    &f.subject.to_string(),
                    f.since.as_deref().unwrap_or(""),
                    f.until.as_deref().unwrap_or("ongoing"),
                    &f.detail,
                    &evidence.join(" "),
                    &policy.name,
                    &source.sha256,
                ])?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
            emit(&String::from_utf8(bytes)?)?;
        }
        ComplianceFormat::Table => {
            use std::fmt::Write as _;
            let mut t = String::new();
            writeln!(
                t,
                "compliance {} {when} under policy {}: {} findings",
                if period.is_some() { "over" } else { "as of" },
                policy.name,
                findings.len()
            )?;
            t.push_str(&policy_lines(policy.source()));
            let mut by_code: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
            for f in &findings {
                *by_code.entry((f.code, f.severity.as_str())).or_default() += 1;
            }
            for ((code, severity), n) in &by_code {
                writeln!(t, "  {n:>8}  {severity:<8} {code}")?;
            }
            for f in findings.iter().take(200) {
                writeln!(
                    t,
                    "{:<8} {:<28} {:<24} since {:<10} {}  [{}]  evidence: {}",
                    f.severity.as_str(),
                    f.code,
                    f.subject.to_string(),
                    f.since.as_deref().unwrap_or("-"),
                    f.detail,
                    f.rule,
                    if f.evidence.is_empty() {
                        "no entry recorded".to_owned()
                    } else {
                        f.evidence
                            .iter()
                            .map(|i| format!("#{i}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    }
                )?;
            }
            if findings.len() > 200 {
                writeln!(
                    t,
                    "… {} more (use --format csv or json for all)",
                    findings.len() - 200
                )?;
            }
            t.push_str(&no_records_lines(&no_records));
            t.push_str(&no_food_record_lines(&no_food_records));
            emit(&t)?;
        }
        ComplianceFormat::Html => emit(&html(
            &policy,
            args.facility.as_deref(),
            &when,
            &findings,
            (&no_records, &no_food_records),
            &unit_lookup(&store, facility)?,
        )?)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Which policy the report measured against: its name, the SHA-256 of its file, and each
/// threshold it relaxes below the Mandela minimum with the law it cites.
fn policy_lines(source: &compliance::PolicySource) -> String {
    let mut t = format!("policy {} sha256 {}\n", source.name, source.sha256);
    if source.relaxed.is_empty() {
        t.push_str("  no threshold relaxed below the Mandela minimum\n");
    }
    for r in &source.relaxed {
        t.push_str(&format!(
            "  RELAXED {}: {} (Mandela minimum {}) under {}\n",
            r.key, r.value, r.minimum, r.reference
        ));
    }
    t
}

/// How many people the report names: in its findings and in its days without records.
fn people_named(findings: &[Finding], no_records: &[compliance::NoRecords]) -> u64 {
    let mut named: std::collections::BTreeSet<u64> = findings
        .iter()
        .filter_map(|f| match f.subject {
            compliance::Subject::Person { booking } => Some(booking),
            _ => None,
        })
        .collect();
    named.extend(no_records.iter().flat_map(|g| g.bookings.iter().copied()));
    named.len() as u64
}

/// The days without records, apart from the findings: per facility, the days and who.
fn no_records_lines(no_records: &[compliance::NoRecords]) -> String {
    if no_records.is_empty() {
        return String::new();
    }
    let person_days: u64 = no_records
        .iter()
        .map(|g| g.people * u64::from(g.days))
        .sum();
    let mut t = format!(
        "days without records (missing evidence, not findings: nothing says where these people were, so their time out of the cell is not known): {person_days} person-days\n"
    );
    for g in no_records {
        let shown: Vec<String> = g.bookings.iter().take(20).map(u64::to_string).collect();
        let more = if g.bookings.len() > 20 {
            format!(
                " … {} more (use --format json for all)",
                g.bookings.len() - 20
            )
        } else {
            String::new()
        };
        t.push_str(&format!(
            "  NO RECORDS {} {}..{} ({} day{}): {} people, bookings {}{more}\n",
            g.facility,
            g.from,
            g.to,
            g.days,
            if g.days == 1 { "" } else { "s" },
            g.people,
            shown.join(" ")
        ));
    }
    t
}

/// The units' days without a record of their food and water, apart from the findings.
fn no_food_record_lines(gaps: &[compliance::NoFoodRecords]) -> String {
    if gaps.is_empty() {
        return String::new();
    }
    let days: u64 = gaps.iter().map(|g| u64::from(g.days)).sum();
    let mut t = format!(
        "unit-days without a record of food and water (missing evidence, not findings: no record is not no food): {days}\n"
    );
    for g in gaps {
        t.push_str(&format!(
            "  NO FOOD RECORD {} {} {}..{} ({} day{})\n",
            g.facility,
            g.unit,
            g.from,
            g.to,
            g.days,
            if g.days == 1 { "" } else { "s" }
        ));
    }
    t
}

/// `FROM..TO`, inclusive, named `period` when wrong.
pub(crate) fn parse_period(raw: &str) -> Result<(Date, Date)> {
    let Some((a, b)) = raw.split_once("..") else {
        anyhow::bail!("period: {raw:?} is not FROM..TO (e.g. 2025-03-01..2025-05-31)");
    };
    let from = Date::parse("period", a).map_err(|e| anyhow::anyhow!("{e}"))?;
    let to = Date::parse("period", b).map_err(|e| anyhow::anyhow!("{e}"))?;
    if to < from {
        anyhow::bail!("period: {to} is before {from}");
    }
    if compliance::days_between(from, to) > 3660 {
        anyhow::bail!("period: at most ten years at a time");
    }
    Ok((from, to))
}

/// Findings over a period: each day's regime from the movements of the period, consecutive
/// days merged; every other finding as of the period's last day (`facts` are the store's as
/// of it). With them, the days whose
/// records do not say where people were: listed, never found.
pub fn evaluate_period(
    store: &habeas_store_sqlite::SqliteStore,
    policy: &Policy,
    facility: Option<&str>,
    from: Date,
    to: Date,
    mut facts: compliance::Facts,
) -> Result<(Vec<Finding>, Vec<compliance::NoRecords>)> {
    facts.regime.clear();
    let mut findings = compliance::evaluate(policy, &facts, to);
    let regime = store
        .regime_period(policy, facility, from, to)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    findings.extend(regime.findings);
    compliance::sort(&mut findings);
    Ok((findings, regime.no_records))
}

#[derive(askama::Template)]
#[template(path = "compliance.html")]
struct HtmlReport<'a> {
    scope: String,
    when: &'a str,
    policy: &'a str,
    sha256: &'a str,
    relaxed: &'a [compliance::Relaxed],
    total: usize,
    no_records: Vec<HtmlGap>,
    person_days_without_records: u64,
    no_food_records: &'a [compliance::NoFoodRecords],
    summary: Vec<HtmlSummary>,
    /// The findings by rule, then by unit, each unit's in pages of [`PAGE`].
    groups: Vec<HtmlRuleGroup<'a>>,
    page_size: usize,
}

/// The findings of one rule.
struct HtmlRuleGroup<'a> {
    code: &'static str,
    rule: &'static str,
    severity: &'static str,
    count: usize,
    units: Vec<HtmlUnitGroup<'a>>,
}

/// The findings of one rule in one unit (or the facility as a whole), in pages.
struct HtmlUnitGroup<'a> {
    unit: String,
    count: usize,
    pages: Vec<HtmlPage<'a>>,
}

struct HtmlPage<'a> {
    /// `1–500`, `501–1000`, …
    label: String,
    rows: Vec<HtmlRow<'a>>,
}

/// The most findings in one table of the page (the rest in the next, folded).
const PAGE: usize = 500;

struct HtmlGap {
    facility: String,
    from: String,
    to: String,
    days: u32,
    people: u64,
    bookings: String,
}

struct HtmlSummary {
    count: usize,
    severity: &'static str,
    code: &'static str,
    rule: &'static str,
}

struct HtmlRow<'a> {
    severity: &'static str,
    code: &'static str,
    subject: String,
    since: &'a str,
    until: &'a str,
    detail: &'a str,
    evidence: String,
}

/// Where each finding's subject is: `(facility, booking)` → unit, `(facility, cell)` → unit.
type UnitLookup = (
    std::collections::HashMap<u64, (String, String)>,
    std::collections::HashMap<(String, String), String>,
);

/// The units of every booking and cell of the facility (or of every facility).
fn unit_lookup(
    store: &habeas_store_sqlite::SqliteStore,
    facility: Option<&str>,
) -> Result<UnitLookup> {
    let codes = match facility {
        Some(f) => vec![f.to_owned()],
        None => store.facility_codes().map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let (mut bookings, mut cells) = (
        std::collections::HashMap::new(),
        std::collections::HashMap::new(),
    );
    for f in codes {
        for (b, u) in store
            .booking_units(&f)
            .map_err(|e| anyhow::anyhow!("{e}"))?
        {
            bookings.insert(b, (f.clone(), u));
        }
        for c in store.cells(Some(&f)).map_err(|e| anyhow::anyhow!("{e}"))? {
            cells.insert((f.clone(), c.code), c.unit);
        }
    }
    Ok((bookings, cells))
}

/// The unit a finding is about, as the report groups it: `FACILITY unit` or `FACILITY` for
/// the facility as a whole (or a person in no cell).
fn unit_of(f: &Finding, units: &UnitLookup) -> String {
    use compliance::Subject;
    match &f.subject {
        Subject::Person { booking } => match units.0.get(booking) {
            Some((facility, unit)) => format!("{facility} {unit}"),
            None => "(in no cell)".to_owned(),
        },
        Subject::Cell { facility, cell } => match units.1.get(&(facility.clone(), cell.clone())) {
            Some(unit) => format!("{facility} {unit}"),
            None => facility.clone(),
        },
        Subject::Unit { facility, unit } => format!("{facility} {unit}"),
        Subject::Facility { facility }
        | Subject::Hearing { facility, .. }
        | Subject::Incident { facility, .. } => facility.clone(),
    }
}

/// The findings as one HTML page (escaped by the template engine): the summary by rule, then
/// each rule's findings by unit, in folded tables of at most [`PAGE`] rows, so that a report
/// of a whole prison opens at once and shows what it holds before any row.
fn html(
    policy: &Policy,
    facility: Option<&str>,
    when: &str,
    findings: &[Finding],
    (no_records, no_food_records): (&[compliance::NoRecords], &[compliance::NoFoodRecords]),
    units: &UnitLookup,
) -> Result<String> {
    use askama::Template as _;
    let mut by_code: std::collections::BTreeMap<(&str, &str), (usize, &'static str, &'static str)> =
        Default::default();
    for f in findings {
        by_code
            .entry((f.severity.as_str(), f.code))
            .or_insert((0, f.code, f.rule))
            .0 += 1;
    }
    let mut summary: Vec<HtmlSummary> = by_code
        .into_iter()
        .map(|((severity, _), (count, code, rule))| HtmlSummary {
            count,
            severity: match severity {
                "grave" => "grave",
                "serious" => "serious",
                _ => "notice",
            },
            code,
            rule,
        })
        .collect();
    summary.sort_by_key(|s| std::cmp::Reverse(s.count));
    let page = HtmlReport {
        scope: facility.map_or_else(|| "every facility".to_owned(), |f| format!("facility {f}")),
        when,
        policy: &policy.name,
        sha256: &policy.source().sha256,
        relaxed: &policy.source().relaxed,
        total: findings.len(),
        no_food_records,
        person_days_without_records: no_records
            .iter()
            .map(|g| g.people * u64::from(g.days))
            .sum(),
        no_records: no_records
            .iter()
            .map(|g| HtmlGap {
                facility: g.facility.clone(),
                from: g.from.clone(),
                to: g.to.clone(),
                days: g.days,
                people: g.people,
                bookings: g
                    .bookings
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            })
            .collect(),
        groups: groups(&summary, findings, units),
        summary,
        page_size: PAGE,
    };
    Ok(page.render()?)
}

/// The findings by rule (in the summary's order), then by unit, in pages.
fn groups<'a>(
    summary: &[HtmlSummary],
    findings: &'a [Finding],
    units: &UnitLookup,
) -> Vec<HtmlRuleGroup<'a>> {
    summary
        .iter()
        .map(|s| {
            let mut by_unit: std::collections::BTreeMap<String, Vec<HtmlRow<'a>>> =
                Default::default();
            for f in findings
                .iter()
                .filter(|f| f.code == s.code && f.severity.as_str() == s.severity)
            {
                by_unit.entry(unit_of(f, units)).or_default().push(HtmlRow {
                    severity: f.severity.as_str(),
                    code: f.code,
                    subject: f.subject.to_string(),
                    since: f.since.as_deref().unwrap_or("-"),
                    until: f.until.as_deref().unwrap_or("ongoing"),
                    detail: &f.detail,
                    evidence: f
                        .evidence
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(" "),
                });
            }
            HtmlRuleGroup {
                code: s.code,
                rule: s.rule,
                severity: s.severity,
                count: s.count,
                units: by_unit
                    .into_iter()
                    .map(|(unit, rows)| {
                        let count = rows.len();
                        let mut pages = Vec::new();
                        let mut rows = rows.into_iter().peekable();
                        let mut first = 1;
                        while rows.peek().is_some() {
                            let page: Vec<HtmlRow<'a>> = rows.by_ref().take(PAGE).collect();
                            let last = first + page.len() - 1;
                            pages.push(HtmlPage {
                                label: format!("{first}–{last}"),
                                rows: page,
                            });
                            first = last + 1;
                        }
                        HtmlUnitGroup { unit, count, pages }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Refuses a facility the register does not know, naming the field.
pub(crate) fn known_facility(
    store: &habeas_store_sqlite::SqliteStore,
    facility: Option<&str>,
) -> Result<()> {
    if let Some(f) = facility {
        if store
            .facility(f)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_none()
        {
            anyhow::bail!("facility: no facility {f:?} in this register");
        }
    }
    Ok(())
}

/// Writes a report to standard output; a reader that stops early (`| head`) is not an error.
pub(crate) fn emit(text: &str) -> Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use compliance::{Severity, Subject};

    fn finding(code: &'static str, subject: Subject) -> Finding {
        Finding {
            code,
            rule: "Mandela Rule 23(1)",
            subject,
            severity: Severity::Serious,
            since: Some("2025-05-01".into()),
            until: None,
            detail: "x".into(),
            evidence: vec![1],
            words: Vec::new(),
        }
    }

    #[test]
    fn the_page_groups_findings_by_rule_then_unit_in_folded_pages() {
        let mut units: UnitLookup = Default::default();
        for b in 0..1201u64 {
            units.0.insert(b, ("CECOT".into(), "M1".into()));
        }
        units.0.insert(5000, ("CECOT".into(), "M2".into()));
        units
            .1
            .insert(("CECOT".into(), "M2-C01".into()), "M2".into());
        let mut findings: Vec<Finding> = (0..1201u64)
            .map(|b| finding("regime.open_air", Subject::Person { booking: b }))
            .collect();
        findings.push(finding(
            "regime.open_air",
            Subject::Person { booking: 5000 },
        ));
        findings.push(finding(
            "regime.open_air",
            Subject::Person { booking: 9999 },
        ));
        findings.push(finding(
            "space.per_person",
            Subject::Cell {
                facility: "CECOT".into(),
                cell: "M2-C01".into(),
            },
        ));
        let policy = Policy::mandela_minimum().unwrap();
        let page = html(
            &policy,
            Some("CECOT"),
            "2025-05-31",
            &findings,
            (&[], &[]),
            &units,
        )
        .unwrap();
        // One folded group per rule, its units inside with their counts.
        assert_eq!(page.matches("<details class=\"rule\"").count(), 2);
        for needle in [
            "<strong>regime.open_air</strong>: 1203 findings",
            "<summary>CECOT M1: 1201</summary>",
            "<summary>CECOT M2: 1</summary>",
            "<summary>(in no cell): 1</summary>",
            "<strong>space.per_person</strong>: 1 findings",
            "findings 1–500 of 1201",
            "findings 501–1000 of 1201",
            "findings 1001–1201 of 1201",
        ] {
            assert!(page.contains(needle), "{needle}");
        }
        // Every finding is a row, once.
        assert_eq!(
            page.matches("<tr><td class=\"serious\">").count(),
            findings.len()
        );
    }
}
