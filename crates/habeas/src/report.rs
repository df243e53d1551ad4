//! `habeas report`: the compliance findings of a facility (or all), as of a day.

use crate::open::DbArgs;
use crate::system::SystemClock;
use anyhow::{Context, Result};
use habeas_core::compliance::{Finding, Policy};
use habeas_core::dates::Date;
use habeas_register::time::Clock;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Every finding against the Mandela Rules, with the rule, subject, period and evidence.
    Compliance(ComplianceArgs),
}

#[derive(Debug, clap::Args)]
pub struct ComplianceArgs {
    #[arg(long)]
    facility: Option<String>,
    /// YYYY-MM-DD [default: today].
    #[arg(long)]
    as_of: Option<String>,
    /// A policy file [default: the built-in policy/mandela-minimum.toml].
    #[arg(long)]
    policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(db: &DbArgs, command: ReportCommand) -> Result<ExitCode> {
    match command {
        ReportCommand::Compliance(args) => compliance(db, args),
    }
}

/// Evaluates the policy over the store's facts as of a day, most severe first.
pub fn evaluate(
    store: &habeas_store_sqlite::SqliteStore,
    policy: &Policy,
    facility: Option<&str>,
    as_of: Date,
) -> Result<Vec<Finding>> {
    let facts = store
        .compliance_facts(facility, as_of)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(habeas_core::compliance::evaluate(policy, &facts, as_of))
}

fn compliance(db: &DbArgs, args: ComplianceArgs) -> Result<ExitCode> {
    let policy = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => Policy::mandela_minimum().map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let as_of = match &args.as_of {
        Some(raw) => Date::parse("as_of", raw).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => Date::of(SystemClock.now()),
    };
    let store = db.open_store()?;
    if let Some(f) = &args.facility {
        if store
            .facility(f)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_none()
        {
            anyhow::bail!("facility: no facility {f:?} in this register");
        }
    }
    let findings = evaluate(&store, &policy, args.facility.as_deref(), as_of)?;
    match args.format {
        Format::Json => emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "policy": policy.name,
                "as_of": as_of.to_string(),
                "findings": findings,
            }))?
        ))?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "severity", "code", "rule", "subject", "since", "until", "detail", "evidence",
            ])?;
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
                ])?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
            emit(&String::from_utf8(bytes)?)?;
        }
        Format::Table => {
            use std::fmt::Write as _;
            let mut t = String::new();
            writeln!(
                t,
                "compliance as of {as_of} under policy {}: {} findings",
                policy.name,
                findings.len()
            )?;
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
                    "{:<8} {:<28} {:<24} since {:<10} {}  [{}]  evidence #{}",
                    f.severity.as_str(),
                    f.code,
                    f.subject.to_string(),
                    f.since.as_deref().unwrap_or("-"),
                    f.detail,
                    f.rule,
                    f.evidence
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(" #")
                )?;
            }
            if findings.len() > 200 {
                writeln!(
                    t,
                    "… {} more (use --format csv or json for all)",
                    findings.len() - 200
                )?;
            }
            emit(&t)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a report to standard output; a reader that stops early (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
