//! `habeas import population`: a population held in an earlier register (a spreadsheet, another
//! system's export) taken in from CSV or JSON Lines. Every row of every file is checked before
//! anything is written, and every bad row is named in one report (its file, line, column and
//! reason). Then the people are admitted and placed in batches; each admission keeps its real
//! date and names the file (name and SHA-256), the line and the person's number in the earlier
//! register, so that an import that was interrupted, run again, writes nothing twice.

use crate::open::{DbArgs, Writer};
use crate::system::SystemClock;
use anyhow::{bail, Context as _, Result};
use habeas_core::allocation::Allocation;
use habeas_core::custody::{
    Admission, AdmissionInput, CommitmentOrder, Consular, EmergencyRegime, IdentityDocument,
    ImportedFrom, LegalStatus, OrderKind, PendingOrder, PersonInput, Sex,
};
use habeas_core::dates::{parse_time, Date};
use habeas_core::ids::{search_key, Actor};
use habeas_core::DomainError;
use habeas_register::store::AppendError;
use habeas_register::time::Clock;
use habeas_register::{Draft, Timestamp};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PopulationArgs {
    /// The facility that holds the people (it must be in the estate, with its cells).
    #[arg(long, required_unless_present = "template")]
    pub facility: Option<String>,
    /// The people, one per row: CSV with a header, or JSON Lines (`.jsonl`, `.ndjson`).
    #[arg(required_unless_present = "template")]
    pub people: Option<PathBuf>,
    /// More commitment orders, one per row, joined to the people by `ref`.
    #[arg(long)]
    pub orders: Option<PathBuf>,
    /// The cells people are in, one per row, joined to the people by `ref`.
    #[arg(long)]
    pub placements: Option<PathBuf>,
    /// A TOML file naming the files' own columns (and values, and date order) in Habeas's
    /// words; `--template mapping` prints one.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Write the valid rows even though others are wrong; the report names those left out.
    #[arg(long)]
    pub accept_valid: bool,
    /// Where the report (CSV) goes [default: the people file's name with `.report.csv`].
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The name the register keeps for the source [default: the people file's name].
    #[arg(long)]
    pub source: Option<String>,
    /// Entries per request to the register's writer.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Print a template and stop: the people file (with an example row), the orders file, the
    /// placements file, or a mapping file.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "people")]
    pub template: Option<Template>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    People,
    Orders,
    Placements,
    Mapping,
}

/// The files an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    People,
    Orders,
    Placements,
}

/// Every column an import takes, in Habeas's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum F {
    Ref,
    GivenNames,
    Surname1,
    Surname2,
    Aliases,
    BirthDate,
    Sex,
    Gender,
    Nationalities,
    DocumentKind,
    DocumentNumber,
    DocumentIssuer,
    Language,
    NewPerson,
    LegalStatus,
    AdmittedAt,
    OrderKind,
    OrderAuthority,
    OrderReference,
    OrderIssued,
    OrderExpires,
    OrderReview,
    EmergencyName,
    EmergencyDecree,
    EmergencyDeclared,
    BroughtBy,
    Agreement,
    ConsularRightsAdvisedAt,
    ConsularNotificationRequested,
    ConsularNotifiedAt,
    Cell,
    PlacedAt,
}

/// (column, required in the people file, example, what it holds).
const COLUMNS: [(F, &str, bool, &str, &str); 32] = [
    (F::Ref, "ref", true, "EXP-2023-004512", "the person's number in the earlier register (unique per facility): it joins the files and is kept with the admission"),
    (F::GivenNames, "given_names", true, "Nery Alexander", "given names"),
    (F::Surname1, "surname_1", true, "Portillo", "first surname"),
    (F::Surname2, "surname_2", false, "Menjívar", "second surname, if any"),
    (F::Aliases, "aliases", false, "el Flaco", "other names, separated by ;"),
    (F::BirthDate, "birth_date", true, "1994-07-12", "date of birth"),
    (F::Sex, "sex", true, "male", "female, male or intersex"),
    (F::Gender, "gender", false, "hombre", "self-perceived gender, in the person's words"),
    (F::Nationalities, "nationalities", true, "SV", "ISO 3166 codes separated by ; (XX: stateless or unknown)"),
    (F::DocumentKind, "document_kind", false, "DUI", "identity document: kind"),
    (F::DocumentNumber, "document_number", false, "04567890-1", "identity document: number (the same document is the same person)"),
    (F::DocumentIssuer, "document_issuer", false, "SV", "identity document: issuing state [default: the facility's]"),
    (F::Language, "language", false, "es", "the language the person understands"),
    (F::NewPerson, "new_person", false, "", "yes: someone else than a person with the same name and birth date (for a row without a document)"),
    (F::LegalStatus, "legal_status", true, "remand", "remand, convicted_unsentenced, sentenced, immigration, civil or held_for_another_state"),
    (F::AdmittedAt, "admitted_at", true, "2023-03-14", "when the person was admitted: a date, or a date and time (UTC unless an offset is given)"),
    (F::OrderKind, "order_kind", false, "pretrial_detention", "commitment order: pretrial_detention, sentence, immigration, transfer_agreement, civil or other"),
    (F::OrderAuthority, "order_authority", false, "Juzgado Especializado de Instrucción A, San Salvador", "commitment order: the authority that issued it"),
    (F::OrderReference, "order_reference", false, "123-2023", "commitment order: its reference"),
    (F::OrderIssued, "order_issued", false, "2023-03-13", "commitment order: the day it was issued"),
    (F::OrderExpires, "order_expires", false, "2025-03-13", "commitment order: the first day it no longer holds, if it expires"),
    (F::OrderReview, "order_review", false, "", "commitment order: the day it is to be reviewed"),
    (F::EmergencyName, "emergency_name", false, "régimen de excepción", "the state of exception the order invokes, if any"),
    (F::EmergencyDecree, "emergency_decree", false, "Decreto Legislativo 333", "the decree of that state of exception"),
    (F::EmergencyDeclared, "emergency_declared", false, "2022-03-27", "the day it was declared"),
    (F::BroughtBy, "brought_by", false, "", "for a person held without an order in force: who brought them"),
    (F::Agreement, "agreement", false, "", "the custody agreement (its register entry) a person held for another state is held under"),
    (F::ConsularRightsAdvisedAt, "consular_rights_advised_at", false, "", "a foreign national: when told of the right to consular notification (Rule 62)"),
    (F::ConsularNotificationRequested, "consular_notification_requested", false, "", "yes if the person asked for the consulate to be told"),
    (F::ConsularNotifiedAt, "consular_notified_at", false, "", "when the consulate was told"),
    (F::Cell, "cell", false, "M1-C01", "the cell the person is in now"),
    (F::PlacedAt, "placed_at", false, "", "since when [default: the admission]"),
];

const ORDER_COLUMNS: [F; 10] = [
    F::Ref,
    F::OrderKind,
    F::OrderAuthority,
    F::OrderReference,
    F::OrderIssued,
    F::OrderExpires,
    F::OrderReview,
    F::EmergencyName,
    F::EmergencyDecree,
    F::EmergencyDeclared,
];
const PLACEMENT_COLUMNS: [F; 3] = [F::Ref, F::Cell, F::PlacedAt];

fn name(f: F) -> &'static str {
    COLUMNS[f as usize].1
}

fn column(name: &str) -> Option<F> {
    COLUMNS.iter().find(|c| c.1 == name).map(|c| c.0)
}

/// The columns a file of `kind` takes.
fn columns_of(kind: Kind) -> Vec<F> {
    match kind {
        Kind::People => COLUMNS.iter().map(|c| c.0).collect(),
        Kind::Orders => ORDER_COLUMNS.to_vec(),
        Kind::Placements => PLACEMENT_COLUMNS.to_vec(),
    }
}

fn required_in(kind: Kind, f: F) -> bool {
    match kind {
        Kind::People => COLUMNS[f as usize].2,
        Kind::Orders => matches!(
            f,
            F::Ref | F::OrderKind | F::OrderAuthority | F::OrderReference | F::OrderIssued
        ),
        Kind::Placements => matches!(f, F::Ref | F::Cell),
    }
}

/// The order of day, month and year in the files' dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum DateOrder {
    /// 2023-03-14 (ISO 8601).
    #[default]
    Ymd,
    /// 14/03/2023.
    Dmy,
    /// 03/14/2023.
    Mdy,
}

/// The mapping file: the files' own column names and values, in Habeas's words.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Mapping {
    /// Their column name → Habeas's.
    #[serde(default)]
    columns: HashMap<String, String>,
    /// Per Habeas column: their value → Habeas's.
    #[serde(default)]
    values: HashMap<String, HashMap<String, String>>,
    #[serde(default)]
    dates: Dates,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Dates {
    #[serde(default)]
    order: DateOrder,
}

struct Rules {
    columns: HashMap<String, F>,
    values: Vec<HashMap<String, String>>,
    dates: DateOrder,
}

impl Rules {
    fn load(path: Option<&Path>) -> Result<Self> {
        let mapping: Mapping = match path {
            None => Mapping::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
            }
        };
        let mut columns = HashMap::new();
        for (theirs, ours) in &mapping.columns {
            let Some(f) = column(ours.trim()) else {
                bail!(
                    "mapping: columns.{theirs:?} = {ours:?}: {ours:?} is not a column Habeas takes (habeas import population --template shows them)"
                );
            };
            columns.insert(theirs.trim().to_owned(), f);
        }
        let mut values = vec![HashMap::new(); COLUMNS.len()];
        for (ours, map) in mapping.values {
            let Some(f) = column(ours.trim()) else {
                bail!("mapping: values.{ours}: {ours:?} is not a column Habeas takes");
            };
            values[f as usize] = map;
        }
        Ok(Self {
            columns,
            values,
            dates: mapping.dates.order,
        })
    }

    /// The column a header names: the mapping's, or Habeas's own name.
    fn header(&self, h: &str) -> Option<F> {
        let h = h.trim().trim_start_matches('\u{feff}');
        self.columns
            .get(h)
            .copied()
            .or_else(|| column(&h.to_lowercase()))
    }
}

/// A problem with a row (or a file), for the report.
#[derive(Debug, Clone)]
struct Problem {
    file: Kind,
    line: u64,
    column: String,
    reference: String,
    outcome: Outcome,
    reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Not written: the row is wrong.
    Error,
    /// Written, with something the registry should know.
    Warning,
    /// Already in the register (an import run before): not written again.
    Already,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Already => "already_imported",
        }
    }
}

/// One row of a file: its line and its values by column (empty cells are `None`).
struct Row {
    line: u64,
    values: Vec<Option<String>>,
}

impl Row {
    fn get(&self, f: F) -> Option<&str> {
        self.values[f as usize].as_deref()
    }
}

/// The rows of one file, CSV or JSON Lines, with the bytes read so far (for progress).
struct Rows<'r> {
    kind: Kind,
    rules: &'r Rules,
    inner: RowsInner,
    /// Column index in the file → Habeas's column (CSV).
    header: Vec<Option<F>>,
}

enum RowsInner {
    Csv(csv::Reader<std::io::BufReader<std::fs::File>>),
    Jsonl {
        reader: std::io::BufReader<std::fs::File>,
        line: u64,
        pos: u64,
        buf: String,
    },
}

fn is_jsonl(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "ndjson")
    )
}

impl<'r> Rows<'r> {
    /// Opens a file and reads its header; the problems with the header itself are returned
    /// (a required column missing stops the import; a column not taken is a warning).
    fn open(path: &Path, kind: Kind, rules: &'r Rules) -> Result<(Self, Vec<Problem>)> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        let mut problems = Vec::new();
        if is_jsonl(path) {
            return Ok((
                Self {
                    kind,
                    rules,
                    inner: RowsInner::Jsonl {
                        reader,
                        line: 0,
                        pos: 0,
                        buf: String::new(),
                    },
                    header: Vec::new(),
                },
                problems,
            ));
        }
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(reader);
        let headers = csv
            .headers()
            .map_err(|e| anyhow::anyhow!("{}: line 1: {e}", path.display()))?
            .clone();
        let takes = columns_of(kind);
        let mut header = Vec::with_capacity(headers.len());
        for h in &headers {
            let f = rules.header(h).filter(|f| takes.contains(f));
            if f.is_none() && !h.trim().is_empty() {
                problems.push(Problem {
                    file: kind,
                    line: 1,
                    column: h.to_owned(),
                    reference: String::new(),
                    outcome: Outcome::Warning,
                    reason: "not a column this file takes (or the mapping names): ignored".into(),
                });
            }
            header.push(f);
        }
        for f in takes {
            if required_in(kind, f) && !header.contains(&Some(f)) {
                problems.push(Problem {
                    file: kind,
                    line: 1,
                    column: name(f).into(),
                    reference: String::new(),
                    outcome: Outcome::Error,
                    reason: "the header has no such column (nor one the mapping names for it)"
                        .into(),
                });
            }
        }
        Ok((
            Self {
                kind,
                rules,
                inner: RowsInner::Csv(csv),
                header,
            },
            problems,
        ))
    }

    /// Bytes read so far.
    fn position(&self) -> u64 {
        match &self.inner {
            RowsInner::Csv(c) => c.position().byte(),
            RowsInner::Jsonl { pos, .. } => *pos,
        }
    }

    /// The value as the mapping translates it.
    fn value(&self, f: F, raw: &str) -> Option<String> {
        let t = raw.trim();
        if t.is_empty() {
            return None;
        }
        let map = &self.rules.values[f as usize];
        Some(map.get(t).cloned().unwrap_or_else(|| t.to_owned()))
    }

    /// The next row, or a problem with it (a line that is not a row), or `None` at the end.
    fn next_row(&mut self) -> Option<std::result::Result<Row, Problem>> {
        let kind = self.kind;
        let mut values = vec![None; COLUMNS.len()];
        match &mut self.inner {
            RowsInner::Csv(csv) => {
                let mut record = csv::StringRecord::new();
                match csv.read_record(&mut record) {
                    Ok(false) => None,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        // A CSV error past which the reader cannot go is the end of the file.
                        Some(Err(Problem {
                            file: kind,
                            line,
                            column: String::new(),
                            reference: String::new(),
                            outcome: Outcome::Error,
                            reason: format!("not a CSV row: {e}"),
                        }))
                    }
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line());
                        if record.len() != self.header.len() {
                            return Some(Err(Problem {
                                file: kind,
                                line,
                                column: String::new(),
                                reference: String::new(),
                                outcome: Outcome::Error,
                                reason: format!(
                                    "has {} fields where the header has {}",
                                    record.len(),
                                    self.header.len()
                                ),
                            }));
                        }
                        let header = std::mem::take(&mut self.header);
                        for (i, raw) in record.iter().enumerate() {
                            if let Some(f) = header[i] {
                                values[f as usize] = self.value(f, raw);
                            }
                        }
                        self.header = header;
                        Some(Ok(Row { line, values }))
                    }
                }
            }
            RowsInner::Jsonl {
                reader,
                line,
                pos,
                buf,
            } => loop {
                buf.clear();
                let n = match reader.read_line(buf) {
                    Ok(0) => return None,
                    Ok(n) => n,
                    Err(e) => {
                        return Some(Err(Problem {
                            file: kind,
                            line: *line + 1,
                            column: String::new(),
                            reference: String::new(),
                            outcome: Outcome::Error,
                            reason: format!("cannot be read: {e}"),
                        }))
                    }
                };
                *line += 1;
                *pos += n as u64;
                if buf.trim().is_empty() {
                    continue;
                }
                let at = *line;
                let object: serde_json::Map<String, serde_json::Value> =
                    match serde_json::from_str(buf) {
                        Ok(o) => o,
                        Err(e) => {
                            return Some(Err(Problem {
                                file: kind,
                                line: at,
                                column: String::new(),
                                reference: String::new(),
                                outcome: Outcome::Error,
                                reason: format!("not a JSON object: {e}"),
                            }))
                        }
                    };
                let takes = columns_of(kind);
                let mut strings = Vec::new();
                for (k, v) in &object {
                    let Some(f) = self.rules.header(k).filter(|f| takes.contains(f)) else {
                        continue;
                    };
                    let raw = match v {
                        serde_json::Value::Null => continue,
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
                        serde_json::Value::Number(n) => n.to_string(),
                        serde_json::Value::Array(items) => {
                            let mut parts = Vec::new();
                            for item in items {
                                match item {
                                    serde_json::Value::String(s) => parts.push(s.clone()),
                                    serde_json::Value::Number(n) => parts.push(n.to_string()),
                                    _ => {
                                        return Some(Err(Problem {
                                            file: kind,
                                            line: at,
                                            column: k.clone(),
                                            reference: String::new(),
                                            outcome: Outcome::Error,
                                            reason: "a list holds strings or numbers".into(),
                                        }))
                                    }
                                }
                            }
                            parts.join(";")
                        }
                        serde_json::Value::Object(_) => {
                            return Some(Err(Problem {
                                file: kind,
                                line: at,
                                column: k.clone(),
                                reference: String::new(),
                                outcome: Outcome::Error,
                                reason: "is an object; the columns are flat (see --template)"
                                    .into(),
                            }))
                        }
                    };
                    strings.push((f, raw));
                }
                for (f, raw) in strings {
                    values[f as usize] = self.value(f, &raw);
                }
                return Some(Ok(Row { line: at, values }));
            },
        }
    }
}

/// A date in the mapping's order, as YYYY-MM-DD.
fn date_of(raw: &str, order: DateOrder, field: &str) -> std::result::Result<String, String> {
    let parts: Vec<&str> = raw
        .split(['-', '/', '.'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let bad = || {
        format!(
            "{raw:?} is not a date ({})",
            match order {
                DateOrder::Ymd => "YYYY-MM-DD",
                DateOrder::Dmy => "DD/MM/YYYY, as the mapping says",
                DateOrder::Mdy => "MM/DD/YYYY, as the mapping says",
            }
        )
    };
    if parts.len() != 3 || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let (y, m, d) = match order {
        DateOrder::Ymd => (parts[0], parts[1], parts[2]),
        DateOrder::Dmy => (parts[2], parts[1], parts[0]),
        DateOrder::Mdy => (parts[2], parts[0], parts[1]),
    };
    if y.len() != 4 || m.len() > 2 || d.len() > 2 {
        return Err(bad());
    }
    let iso = format!("{y}-{m:0>2}-{d:0>2}");
    Date::parse(field, &iso).map_err(|_| bad())?;
    Ok(iso)
}

/// A time: a date alone is its midnight UTC; a date and time without an offset is UTC.
fn time_of(raw: &str, order: DateOrder, field: &str) -> std::result::Result<String, String> {
    let raw = raw.trim();
    if let Some(t) = parse_time(raw) {
        return Ok(t.to_string());
    }
    let (day, clock) = match raw.split_once(['T', ' ']) {
        Some((d, c)) => (d, Some(c.trim())),
        None => (raw, None),
    };
    let day = date_of(day, order, field)?;
    let clock = match clock {
        None => "00:00:00".to_owned(),
        Some(c) if c.len() == 5 => format!("{c}:00"),
        Some(c) => c.trim_end_matches('Z').to_owned(),
    };
    parse_time(&format!("{day}T{clock}Z"))
        .map(|t| t.to_string())
        .ok_or_else(|| format!("{raw:?} is not a date, or a date and time (2023-03-14T08:30:00Z)"))
}

fn yes(raw: Option<&str>) -> bool {
    matches!(
        raw.map(str::to_lowercase).as_deref(),
        Some("yes" | "y" | "true" | "1" | "sí" | "si" | "s")
    )
}

/// What the import knows of the file and the facility while it builds admissions.
struct Context<'a> {
    facility: &'a str,
    /// The facility's state: the issuer of a document that names none.
    country: String,
    source: &'a str,
    sha256: &'a str,
    order: DateOrder,
    now: Timestamp,
}

/// An order of the orders file, with the line it is on.
struct OrderRow {
    line: u64,
    order: CommitmentOrder,
}

/// Where a field of an admission came from: the people file's row or an orders-file line.
fn problem_at(
    row: &Row,
    reference: &str,
    orders: &[OrderRow],
    inline_order: bool,
    e: &DomainError,
) -> Problem {
    let field = e.field.as_str();
    let mut file = Kind::People;
    let mut line = row.line;
    let column = if let Some(rest) = field.strip_prefix("orders[") {
        let (n, sub) = rest.split_once("].").unwrap_or((rest, "kind"));
        let n: usize = n.trim_end_matches(']').parse().unwrap_or(0);
        let from_file = if inline_order {
            n.checked_sub(1)
        } else {
            Some(n)
        };
        if let Some(o) = from_file.and_then(|i| orders.get(i)) {
            file = Kind::Orders;
            line = o.line;
        }
        match sub.split('.').next().unwrap_or(sub) {
            "emergency" => format!("emergency_{}", sub.rsplit('.').next().unwrap_or("name")),
            s => format!("order_{s}"),
        }
    } else {
        match field {
            "person.given_names" => "given_names".into(),
            "person.surnames" | "person.surnames[0]" => "surname_1".into(),
            "person.surnames[1]" => "surname_2".into(),
            "person.birth_date" => "birth_date".into(),
            "person.gender" => "gender".into(),
            "person.language" => "language".into(),
            "orders" => "order_kind".into(),
            "held_pending_order.brought_by" => "brought_by".into(),
            "consular.rights_advised_at" | "consular" => "consular_rights_advised_at".into(),
            "consular.notified_at" => "consular_notified_at".into(),
            "imported.ref" => "ref".into(),
            f if f.starts_with("person.aliases") => "aliases".into(),
            f if f.starts_with("person.nationalities") => "nationalities".into(),
            f if f.starts_with("person.documents") => {
                format!("document_{}", f.rsplit('.').next().unwrap_or("number"))
            }
            f => f.to_owned(),
        }
    };
    Problem {
        file,
        line,
        column,
        reference: reference.to_owned(),
        outcome: Outcome::Error,
        reason: e.message.clone(),
    }
}

fn bad(row: &Row, f: F, reason: impl Into<String>) -> Problem {
    Problem {
        file: Kind::People,
        line: row.line,
        column: name(f).into(),
        reference: row.get(F::Ref).unwrap_or("").to_owned(),
        outcome: Outcome::Error,
        reason: reason.into(),
    }
}

/// An order from the columns of a row (people or orders file); `None` if it has none.
fn order_of(
    row: &Row,
    order: DateOrder,
    file: Kind,
) -> std::result::Result<Option<CommitmentOrder>, Problem> {
    let given = [
        F::OrderKind,
        F::OrderAuthority,
        F::OrderReference,
        F::OrderIssued,
        F::OrderExpires,
        F::OrderReview,
        F::EmergencyName,
        F::EmergencyDecree,
        F::EmergencyDeclared,
    ]
    .iter()
    .any(|f| row.get(*f).is_some());
    if !given {
        return Ok(None);
    }
    let at = |f: F, reason: String| Problem {
        file,
        ..bad(row, f, reason)
    };
    let need = |f: F| {
        row.get(f)
            .map(str::to_owned)
            .ok_or_else(|| at(f, "is required for an order".into()))
    };
    let kind_raw = need(F::OrderKind)?;
    let kind: OrderKind = serde_json::from_value(serde_json::Value::String(kind_raw.clone()))
        .map_err(|_| {
            at(
                F::OrderKind,
                format!("{kind_raw:?} is not one of pretrial_detention, sentence, immigration, transfer_agreement, civil, other"),
            )
        })?;
    let day = |f: F| -> std::result::Result<Option<String>, Problem> {
        row.get(f)
            .map(|d| date_of(d, order, name(f)).map_err(|e| at(f, e)))
            .transpose()
    };
    let issued = day(F::OrderIssued)?
        .ok_or_else(|| at(F::OrderIssued, "is required for an order".into()))?;
    let emergency = match row.get(F::EmergencyName) {
        None => None,
        Some(n) => Some(EmergencyRegime {
            name: n.to_owned(),
            decree: need(F::EmergencyDecree)?,
            declared: day(F::EmergencyDeclared)?.ok_or_else(|| {
                at(
                    F::EmergencyDeclared,
                    "is required with emergency_name".into(),
                )
            })?,
            ends: None,
        }),
    };
    Ok(Some(CommitmentOrder {
        kind,
        authority: need(F::OrderAuthority)?,
        reference: need(F::OrderReference)?,
        issued,
        expires: day(F::OrderExpires)?,
        review: day(F::OrderReview)?,
        emergency,
    }))
}

/// How a row of the people file is to be written, once checked against the file and the
/// register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Wrong: not written.
    Skip,
    /// Imported before: its booking (placed now if it is not yet).
    Already { booking: u64 },
    /// Admitted: as a person known already (their document) or as a new person.
    Write {
        existing: Option<u64>,
        new_person: bool,
        /// Placed in the row's cell after admission.
        place: bool,
    },
}

/// The admission a row of the people file asks for, checked as `habeas admit` checks one; with
/// the warnings it brings (held without an order, a child in an adult facility).
#[expect(clippy::too_many_lines, reason = "one column after another")]
fn admission_of(
    row: &Row,
    orders: &[OrderRow],
    cx: &Context<'_>,
    juvenile: bool,
    existing: Option<u64>,
    new_person: bool,
) -> std::result::Result<(AdmissionInput, Admission, Vec<Problem>), Problem> {
    let reference = row.get(F::Ref).unwrap_or("");
    let order = cx.order;
    let need = |f: F| row.get(f).ok_or_else(|| bad(row, f, "is required"));
    let mut warnings = Vec::new();
    let birth =
        date_of(need(F::BirthDate)?, order, "birth_date").map_err(|e| bad(row, F::BirthDate, e))?;
    let sex_raw = need(F::Sex)?;
    let sex = Sex::parse(&sex_raw.to_lowercase()).ok_or_else(|| {
        bad(
            row,
            F::Sex,
            format!("{sex_raw:?} is not one of female, male, intersex (a mapping's [values.sex] can translate)"),
        )
    })?;
    let status_raw = need(F::LegalStatus)?;
    let legal_status = LegalStatus::parse(&status_raw.to_lowercase()).ok_or_else(|| {
        bad(
            row,
            F::LegalStatus,
            format!("{status_raw:?} is not one of remand, convicted_unsentenced, sentenced, immigration, civil, held_for_another_state (a mapping's [values.legal_status] can translate)"),
        )
    })?;
    let admitted_at = time_of(need(F::AdmittedAt)?, order, "admitted_at")
        .map_err(|e| bad(row, F::AdmittedAt, e))?;
    let list = |f: F| -> Vec<String> {
        row.get(f)
            .map(|v| {
                v.split([';', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let nationalities: Vec<String> = list(F::Nationalities)
        .into_iter()
        .map(|n| n.to_uppercase())
        .collect();
    let documents = match (row.get(F::DocumentKind), row.get(F::DocumentNumber)) {
        (None, None) => Vec::new(),
        (Some(kind), Some(number)) => vec![IdentityDocument {
            kind: kind.to_owned(),
            number: number.to_owned(),
            issuer: row.get(F::DocumentIssuer).map(str::to_owned),
        }],
        (Some(_), None) => {
            return Err(bad(
                row,
                F::DocumentNumber,
                "a document kind needs its number",
            ))
        }
        (None, Some(_)) => {
            return Err(bad(
                row,
                F::DocumentKind,
                "a document number needs its kind",
            ))
        }
    };
    let person = PersonInput {
        given_names: need(F::GivenNames)?.to_owned(),
        surnames: [F::Surname1, F::Surname2]
            .iter()
            .filter_map(|f| row.get(*f).map(str::to_owned))
            .collect(),
        aliases: list(F::Aliases),
        birth_date: birth.clone(),
        sex,
        gender: row.get(F::Gender).map(str::to_owned),
        nationalities,
        documents,
        language: row.get(F::Language).map(str::to_owned),
        photo: None,
    };
    let inline = order_of(row, order, Kind::People)?;
    let inline_order = inline.is_some();
    let mut all_orders: Vec<CommitmentOrder> = inline.into_iter().collect();
    all_orders.extend(orders.iter().map(|o| o.order.clone()));
    // Nobody is left off the books because the earlier register kept no order: a person
    // without one in force on the day of admission is recorded as held pending an order, and
    // `legal.no_valid_basis` is a grave finding from now.
    let admitted_day = admitted_at.get(..10).unwrap_or("");
    let in_force = all_orders.iter().any(|o| {
        o.issued.as_str() <= admitted_day && o.expires.as_deref().is_none_or(|e| e > admitted_day)
    });
    let held_pending_order = if in_force {
        if row.get(F::BroughtBy).is_some() {
            return Err(bad(
                row,
                F::BroughtBy,
                "goes with a person held without an order in force, and this one has one",
            ));
        }
        None
    } else {
        warnings.push(Problem {
            outcome: Outcome::Warning,
            reason: if all_orders.is_empty() {
                "no commitment order: recorded as held pending an order (legal.no_valid_basis, a grave finding from now; Rule 7(a))".into()
            } else {
                format!("no order in force on {admitted_day}: recorded as held pending an order (legal.no_valid_basis, a grave finding from now; Rule 7(a))")
            },
            ..bad(row, F::OrderKind, "")
        });
        Some(PendingOrder {
            brought_by: row
                .get(F::BroughtBy)
                .map_or_else(|| format!("not recorded in {}", cx.source), str::to_owned),
            orders_shown: Vec::new(),
        })
    };
    let foreign = habeas_core::custody::foreign_national(
        person.nationalities.iter().map(String::as_str),
        &cx.country,
    );
    let advised = row
        .get(F::ConsularRightsAdvisedAt)
        .map(|a| time_of(a, order, "consular_rights_advised_at"))
        .transpose()
        .map_err(|e| bad(row, F::ConsularRightsAdvisedAt, e))?;
    let requested = yes(row.get(F::ConsularNotificationRequested));
    let notified_at = row
        .get(F::ConsularNotifiedAt)
        .map(|n| time_of(n, order, "consular_notified_at"))
        .transpose()
        .map_err(|e| bad(row, F::ConsularNotifiedAt, e))?;
    // Nobody is left off the books because the earlier register does not say a foreign
    // national was told of their consular rights: they are recorded as not told, and
    // `consular.not_advised` is found.
    if foreign && advised.is_none() {
        warnings.push(Problem {
            outcome: Outcome::Warning,
            reason: "a foreign national, and no consular_rights_advised_at: recorded as not told of the right to consular notification and access (consular.not_advised; Rule 62)".into(),
            ..bad(row, F::ConsularRightsAdvisedAt, "")
        });
    }
    let consular =
        (foreign || advised.is_some() || requested || notified_at.is_some()).then_some(Consular {
            rights_advised_at: advised,
            notification_requested: requested,
            notified_at,
        });
    let agreement = row
        .get(F::Agreement)
        .map(|a| {
            a.parse::<u64>()
                .map_err(|_| bad(row, F::Agreement, format!("{a:?} is not an entry number")))
        })
        .transpose()?;
    // A child held in a facility not designated for children is recorded all the same, with
    // its grave finding (Rule 11(d)): the earlier register says where the child is.
    let minor = Date::parse("birth_date", &birth)
        .ok()
        .zip(Date::parse("admitted_at", admitted_day).ok())
        .is_some_and(|(b, a)| b.age_on(a) < 18);
    let confirm = if minor && !juvenile && existing.is_none() {
        warnings.push(Problem {
            outcome: Outcome::Warning,
            reason: "under 18 on admission to a facility not designated for children: recorded, and a grave finding (Rule 11(d))".into(),
            ..bad(row, F::BirthDate, "")
        });
        vec!["Rule 11(d)".to_owned()]
    } else {
        Vec::new()
    };
    let input = AdmissionInput {
        facility: cx.facility.to_owned(),
        person: existing.is_none().then_some(person),
        existing_person: existing,
        new_person: new_person && existing.is_none(),
        confirm,
        admitted_at,
        legal_status,
        orders: all_orders,
        arrest: None,
        injuries: Vec::new(),
        ill_treatment_complaints: Vec::new(),
        property: Vec::new(),
        family: Vec::new(),
        children: Vec::new(),
        emergency_contact: None,
        consular,
        agreement,
        transcribed_from: Some(format!("{}, line {}", cx.source, row.line)),
        imported: Some(ImportedFrom {
            source: cx.source.to_owned(),
            sha256: cx.sha256.to_owned(),
            line: row.line,
            reference: reference.to_owned(),
        }),
        held_pending_order,
    };
    let admission = input
        .validate(cx.now)
        .map_err(|e| problem_at(row, reference, orders, inline_order, &e))?;
    Ok((input, admission, warnings))
}

/// A 64-bit digest of a key (documents, names and birth dates) for the file-wide duplicate
/// checks, which hold millions of them.
fn digest(parts: &[&str]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(habeas_register::merkle::to_hex(&h.finalize().into()))
}

fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what:<22} [{{bar:40}}] {{percent:>3}}% {{per_sec}} {{eta}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

fn bytes_bar(path: &Path, what: &str) -> indicatif::ProgressBar {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let b = bar(len, what);
    b.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what:<22} [{{bar:40}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}} {{eta}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    b
}

/// The totals an import prints and a benchmark reads.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    pub rows: u64,
    pub admitted: u64,
    pub placed: u64,
    pub already: u64,
    pub errors: u64,
    pub warnings: u64,
    /// Written (the report says why not, when not).
    pub written: bool,
}

fn kind_file<'p>(kind: Kind, args: &'p PopulationArgs) -> String {
    let p: Option<&'p PathBuf> = match kind {
        Kind::People => args.people.as_ref(),
        Kind::Orders => args.orders.as_ref(),
        Kind::Placements => args.placements.as_ref(),
    };
    p.and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn write_report(path: &Path, problems: &[Problem], args: &PopulationArgs) -> Result<()> {
    let tmp = path.with_extension("csv.partial");
    {
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write the report {}", tmp.display()))?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
        w.write_record(["file", "line", "column", "ref", "outcome", "reason"])?;
        let mut sorted: Vec<&Problem> = problems.iter().collect();
        sorted.sort_by_key(|p| (p.file as u8, p.line));
        for p in sorted {
            w.write_record([
                kind_file(p.file, args).as_str(),
                &p.line.to_string(),
                &p.column,
                &p.reference,
                p.outcome.as_str(),
                &p.reason,
            ])?;
        }
        w.flush()?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot write the report {}", path.display()))?;
    Ok(())
}

pub fn template(which: Template) -> String {
    let row = |cols: &[F]| -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(cols.iter().map(|f| name(*f)));
        let _ = w.write_record(cols.iter().map(|f| COLUMNS[*f as usize].3));
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    };
    match which {
        Template::People => row(&COLUMNS.map(|c| c.0)),
        Template::Orders => row(&ORDER_COLUMNS),
        Template::Placements => row(&PLACEMENT_COLUMNS),
        Template::Mapping => {
            let mut t = String::from(
                "# habeas import population --mapping FILE: the files' own words in Habeas's.\n\
                 # [columns]: their column name = Habeas's column. Habeas's columns:\n",
            );
            for (_, n, required, _, help) in COLUMNS {
                t.push_str(&format!(
                    "#   {n}{}: {help}\n",
                    if required { " (required)" } else { "" }
                ));
            }
            t.push_str(
                "\n[columns]\nNUM_EXPEDIENTE = \"ref\"\nNOMBRES = \"given_names\"\nPRIMER_APELLIDO = \"surname_1\"\n\
                 SEGUNDO_APELLIDO = \"surname_2\"\nFECHA_NACIMIENTO = \"birth_date\"\nSEXO = \"sex\"\n\
                 NACIONALIDAD = \"nationalities\"\nDUI = \"document_number\"\nSITUACION_JURIDICA = \"legal_status\"\n\
                 FECHA_INGRESO = \"admitted_at\"\nCELDA = \"cell\"\n\n\
                 # [values.<column>]: their value = Habeas's.\n[values.sex]\nM = \"male\"\nF = \"female\"\n\n\
                 [values.legal_status]\nPROCESADO = \"remand\"\nCONDENADO = \"sentenced\"\n\n\
                 # The order of day, month and year in their dates: ymd (2023-03-14, the default), dmy (14/03/2023) or mdy.\n\
                 [dates]\norder = \"dmy\"\n",
            );
            t
        }
    }
}

/// `habeas import population`.
pub fn run(db: &DbArgs, actor: &Actor, args: &PopulationArgs) -> Result<ExitCode> {
    if let Some(which) = args.template {
        print!("{}", template(which));
        return Ok(ExitCode::SUCCESS);
    }
    let totals = import(db, actor, args, true)?;
    Ok(if totals.written || (totals.errors == 0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report's path for a people file.
pub fn report_path(args: &PopulationArgs) -> Option<PathBuf> {
    args.report.clone().or_else(|| {
        args.people.as_ref().map(|p| {
            let mut s = p.clone().into_os_string();
            s.push(".report.csv");
            PathBuf::from(s)
        })
    })
}

/// Checks the files whole, then (if nothing is wrong, or `--accept-valid`) admits and places
/// the people. `progress` draws the bars.
pub fn import(db: &DbArgs, actor: &Actor, args: &PopulationArgs, progress: bool) -> Result<Totals> {
    let store = db.open_store()?;
    import_with(&store, || Ok(db.open_writer()?.1), actor, args, progress)
}

/// [`import`] on a store already open, with the writer `writer` opens once the files are
/// checked.
#[expect(clippy::too_many_lines, reason = "the phases of an import, in order")]
pub fn import_with(
    store: &habeas_store_sqlite::SqliteStore,
    writer: impl FnOnce() -> Result<Writer>,
    actor: &Actor,
    args: &PopulationArgs,
    progress: bool,
) -> Result<Totals> {
    let (Some(facility), Some(people)) = (args.facility.as_deref(), args.people.as_deref()) else {
        bail!("--facility and the people file are required");
    };
    let say = |s: String| {
        if progress {
            eprintln!("{s}");
        }
    };
    let hidden = |b: indicatif::ProgressBar| {
        if !progress {
            b.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        b
    };
    let rules = Rules::load(args.mapping.as_deref())?;
    let now = SystemClock.now();
    let sha256 = sha256_of(people)?;
    let source = match &args.source {
        Some(s) => s.clone(),
        None => people
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| people.display().to_string()),
    };
    let report = report_path(args).unwrap_or_else(|| PathBuf::from("import.report.csv"));
    let Some(fac) = store
        .facility(facility)
        .map_err(|e| anyhow::anyhow!("{e}"))?
    else {
        bail!("--facility: there is no facility {facility} in the estate (habeas estate load)");
    };
    let juvenile = fac.juvenile;
    // Cells: capacity left, which placements spend as they are planned.
    let mut room: HashMap<String, i64> = store
        .cells(Some(facility))
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .map(|c| (c.code, c.operational_capacity as i64 - c.population as i64))
        .collect();
    let imported = Earlier {
        store,
        facility,
        any: store
            .any_imported_admissions(facility)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let cx = Context {
        facility,
        country: fac.country.clone(),
        source: &source,
        sha256: &sha256,
        order: rules.dates,
        now,
    };
    let mut problems: Vec<Problem> = Vec::new();

    // The orders and the placements, by the person's number.
    let mut orders: HashMap<String, Vec<OrderRow>> = HashMap::new();
    if let Some(path) = &args.orders {
        let (mut rows, header) = Rows::open(path, Kind::Orders, &rules)?;
        problems.extend(header);
        let b = hidden(bytes_bar(path, "reading orders"));
        while let Some(r) = rows.next_row() {
            b.set_position(rows.position());
            match r {
                Err(p) => problems.push(p),
                Ok(row) => match (row.get(F::Ref), order_of(&row, cx.order, Kind::Orders)) {
                    (_, Err(p)) => problems.push(p),
                    (None, _) => problems.push(Problem {
                        file: Kind::Orders,
                        ..bad(&row, F::Ref, "is required")
                    }),
                    (Some(_), Ok(None)) => problems.push(Problem {
                        file: Kind::Orders,
                        ..bad(&row, F::OrderKind, "the row gives no order")
                    }),
                    (Some(r), Ok(Some(order))) => {
                        orders.entry(r.to_owned()).or_default().push(OrderRow {
                            line: row.line,
                            order,
                        })
                    }
                },
            }
        }
        b.finish_and_clear();
    }
    let mut placements: HashMap<String, (u64, String, Option<String>)> = HashMap::new();
    if let Some(path) = &args.placements {
        let (mut rows, header) = Rows::open(path, Kind::Placements, &rules)?;
        problems.extend(header);
        while let Some(r) = rows.next_row() {
            match r {
                Err(p) => problems.push(p),
                Ok(row) => {
                    let at = |f: F, reason: &str| Problem {
                        file: Kind::Placements,
                        ..bad(&row, f, reason)
                    };
                    let (Some(reference), Some(cell)) = (row.get(F::Ref), row.get(F::Cell)) else {
                        problems.push(at(
                            if row.get(F::Ref).is_none() {
                                F::Ref
                            } else {
                                F::Cell
                            },
                            "is required",
                        ));
                        continue;
                    };
                    if let Some((first, _, _)) = placements.get(reference) {
                        problems.push(at(
                            F::Ref,
                            &format!(
                                "the person is placed already on line {first}: one cell per person"
                            ),
                        ));
                        continue;
                    }
                    placements.insert(
                        reference.to_owned(),
                        (
                            row.line,
                            cell.to_owned(),
                            row.get(F::PlacedAt).map(str::to_owned),
                        ),
                    );
                }
            }
        }
    }

    // The people, each checked as an admission and against the file and the register.
    let (mut rows, header) = Rows::open(people, Kind::People, &rules)?;
    let header_broken = header.iter().any(|p| p.outcome == Outcome::Error);
    problems.extend(header);
    let mut plans: Vec<(u64, Plan)> = Vec::new();
    let mut refs: HashMap<u64, u64> = HashMap::new();
    let mut documents: HashMap<u64, u64> = HashMap::new();
    let mut names: HashMap<u64, u64> = HashMap::new();
    let mut totals = Totals::default();
    let clock = crate::system::Stopwatch::start();
    let b = hidden(bytes_bar(people, "checking people"));
    while let Some(r) = if header_broken { None } else { rows.next_row() } {
        if totals.rows % 1024 == 0 {
            b.set_position(rows.position());
        }
        totals.rows += 1;
        let row = match r {
            Ok(row) => row,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let line = row.line;
        let plan = check_row(
            &row,
            &cx,
            store,
            juvenile,
            &imported,
            &orders,
            &placements,
            &mut room,
            &mut refs,
            &mut documents,
            &mut names,
            &mut problems,
        )?;
        plans.push((line, plan));
    }
    b.finish_and_clear();
    totals.errors = problems
        .iter()
        .filter(|p| p.outcome == Outcome::Error)
        .count() as u64;
    totals.warnings = problems
        .iter()
        .filter(|p| p.outcome == Outcome::Warning)
        .count() as u64;
    totals.already = problems
        .iter()
        .filter(|p| p.outcome == Outcome::Already)
        .count() as u64;
    // A placement for nobody in the people file is named.
    if !header_broken {
        for (reference, (line, _, _)) in &placements {
            if !refs.contains_key(&digest(&[reference])) {
                problems.push(Problem {
                    file: Kind::Placements,
                    line: *line,
                    column: "ref".into(),
                    reference: reference.clone(),
                    outcome: Outcome::Error,
                    reason: "no person of the people file has this number".into(),
                });
                totals.errors += 1;
            }
        }
    }
    write_report(&report, &problems, args)?;
    let to_write = plans
        .iter()
        .filter(|(_, p)| matches!(p, Plan::Write { .. }))
        .count() as u64;
    say(format!(
        "{}: {} rows checked in {:.1} s: {} to admit, {} already imported, {} with errors, {} warnings; report: {}",
        people.display(),
        totals.rows,
        clock.secs(),
        to_write,
        totals.already,
        totals.errors,
        totals.warnings,
        report.display()
    ));
    if totals.errors > 0 && !args.accept_valid {
        eprintln!(
            "nothing was written: {} errors (each named in {}); correct them and run again, or give --accept-valid to write the {} valid rows",
            totals.errors,
            report.display(),
            to_write
        );
        return Ok(totals);
    }
    drop(rows);
    if sha256_of(people)? != sha256 {
        bail!(
            "{} changed while it was being checked: nothing was written; run again",
            people.display()
        );
    }

    // The writing: admissions in batches, then the placements.
    let sink = Sink::new(writer()?);
    let batch = args.batch.max(1);
    let (mut rows, _) = Rows::open(people, Kind::People, &rules)?;
    let mut plan_of = plans.into_iter();
    let clock = crate::system::Stopwatch::start();
    let b = hidden(bar(to_write, "admitting"));
    let mut chunk: Vec<(Draft, Meta)> = Vec::with_capacity(batch);
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut to_place: Vec<Placing> = Vec::new();
    let no_orders = Vec::new();
    let settle = |pending: InFlight,
                  problems: &mut Vec<Problem>,
                  to_place: &mut Vec<Placing>,
                  totals: &mut Totals|
     -> Result<()> {
        let (meta, ticket, drafts) = pending;
        let outcomes = sink.settle(ticket, drafts)?;
        for ((place, line, reference), outcome) in meta.into_iter().zip(outcomes) {
            match outcome {
                Ok(booking) => {
                    totals.admitted += 1;
                    if let Some((cell, at)) = place {
                        to_place.push(Placing {
                            booking,
                            cell,
                            at,
                            line,
                            reference,
                        });
                    }
                }
                Err(reason) => {
                    totals.errors += 1;
                    problems.push(Problem {
                        file: Kind::People,
                        line,
                        column: String::new(),
                        reference,
                        outcome: Outcome::Error,
                        reason: format!("refused when written: {reason}"),
                    });
                }
            }
        }
        b.set_position(totals.admitted);
        Ok(())
    };
    while let Some(r) = rows.next_row() {
        let Ok(row) = r else {
            continue;
        };
        let Some((line, plan)) = plan_of.next() else {
            break;
        };
        if line != row.line {
            bail!("{} changed while it was being imported", people.display());
        }
        let reference = row.get(F::Ref).unwrap_or("").to_owned();
        let place = |admitted_at: &str| -> Option<(String, String)> {
            cell_of(&row, &placements).map(|(cell, at)| {
                (
                    cell,
                    at.and_then(|a| time_of(&a, cx.order, "placed_at").ok())
                        .unwrap_or_else(|| admitted_at.to_owned()),
                )
            })
        };
        match plan {
            Plan::Skip => {}
            Plan::Already { booking } => {
                if let Some(a) = imported.get(&reference)? {
                    if a.open && a.cell.is_none() {
                        if let Some((cell, at)) = place("") {
                            let at = if at.is_empty() {
                                a.admitted_at.clone()
                            } else {
                                at
                            };
                            to_place.push(Placing {
                                booking,
                                cell,
                                at,
                                line,
                                reference: reference.clone(),
                            });
                        }
                    }
                }
            }
            Plan::Write {
                existing,
                new_person,
                place: placed,
            } => {
                let ords = orders.get(&reference).unwrap_or(&no_orders);
                let (_, admission, _) =
                    admission_of(&row, ords, &cx, juvenile, existing, new_person).map_err(|p| {
                        anyhow::anyhow!(
                            "line {}: {}: {} (it was valid when checked)",
                            p.line,
                            p.column,
                            p.reason
                        )
                    })?;
                let at = admission.admitted_at.to_string();
                chunk.push((
                    admission.to_draft(actor),
                    (if placed { place(&at) } else { None }, line, reference),
                ));
                if chunk.len() == batch {
                    let (drafts, meta) = split(std::mem::take(&mut chunk));
                    in_flight.push_back((meta, sink.submit(drafts.clone()), drafts));
                    if in_flight.len() >= 4 {
                        if let Some(p) = in_flight.pop_front() {
                            settle(p, &mut problems, &mut to_place, &mut totals)?;
                        }
                    }
                }
            }
        }
    }
    if !chunk.is_empty() {
        let (drafts, meta) = split(std::mem::take(&mut chunk));
        in_flight.push_back((meta, sink.submit(drafts.clone()), drafts));
    }
    while let Some(p) = in_flight.pop_front() {
        settle(p, &mut problems, &mut to_place, &mut totals)?;
    }
    b.finish_and_clear();

    let admitting = clock.secs();
    let clock = crate::system::Stopwatch::start();
    let b = hidden(bar(to_place.len() as u64, "placing"));
    let mut in_flight: VecDeque<(&[Placing], Ticket, Vec<Draft>)> = VecDeque::new();
    let place_settle = |(part, ticket, drafts): (&[Placing], Ticket, Vec<Draft>),
                        problems: &mut Vec<Problem>,
                        totals: &mut Totals|
     -> Result<()> {
        for (p, outcome) in part.iter().zip(sink.settle(ticket, drafts)?) {
            match outcome {
                Ok(_) => totals.placed += 1,
                Err(reason) => {
                    totals.warnings += 1;
                    problems.push(Problem {
                        file: Kind::People,
                        line: p.line,
                        column: "cell".into(),
                        reference: p.reference.clone(),
                        outcome: Outcome::Warning,
                        reason: format!("admitted, not placed: {reason}"),
                    });
                }
            }
        }
        b.set_position(totals.placed);
        Ok(())
    };
    for part in to_place.chunks(batch) {
        let mut drafts = Vec::with_capacity(part.len());
        for p in part {
            // Copied from the earlier register: a cell over its capacity, or people Rule 11
            // keeps apart placed together, is recorded as it was, and found.
            let allocation = Allocation::new(facility, p.booking, &p.cell, None, None)
                .and_then(|a| a.with_at(Some(&p.at), now))
                .and_then(|a| a.transcribed_from(&format!("{source}, line {}", p.line)))
                .map_err(|e| anyhow::anyhow!("line {}: {}: {}", p.line, e.field, e.message))?;
            drafts.push(allocation.to_draft(actor));
        }
        in_flight.push_back((part, sink.submit(drafts.clone()), drafts));
        if in_flight.len() >= 4 {
            if let Some(p) = in_flight.pop_front() {
                place_settle(p, &mut problems, &mut totals)?;
            }
        }
    }
    while let Some(p) = in_flight.pop_front() {
        place_settle(p, &mut problems, &mut totals)?;
    }
    b.finish_and_clear();
    sink.shutdown();
    totals.written = true;
    write_report(&report, &problems, args)?;
    say(format!(
        "{} admitted in {:.1} s, {} placed in {:.1} s, {} already imported, {} rows not written; report: {}",
        totals.admitted,
        admitting,
        totals.placed,
        clock.secs(),
        totals.already,
        totals.errors,
        report.display()
    ));
    let _ = std::io::stderr().flush();
    Ok(totals)
}

type Meta = (Option<(String, String)>, u64, String);

/// A person admitted (now or by an earlier run) and still to be placed in a cell.
struct Placing {
    booking: u64,
    cell: String,
    at: String,
    line: u64,
    reference: String,
}

fn split(chunk: Vec<(Draft, Meta)>) -> (Vec<Draft>, Vec<Meta>) {
    chunk.into_iter().unzip()
}

/// A batch of admissions sent to the writer: each row's placement, line and ref; the answer
/// to wait for; the drafts, sent again one by one if the batch is refused whole.
type InFlight = (Vec<Meta>, Ticket, Vec<Draft>);

/// The cell a row places the person in: the placements file's, or the row's own.
fn cell_of(
    row: &Row,
    placements: &HashMap<String, (u64, String, Option<String>)>,
) -> Option<(String, Option<String>)> {
    let reference = row.get(F::Ref)?;
    match placements.get(reference) {
        Some((_, cell, at)) => Some((cell.clone(), at.clone())),
        None => row
            .get(F::Cell)
            .map(|c| (c.to_owned(), row.get(F::PlacedAt).map(str::to_owned))),
    }
}

/// Checks one row of the people file as an admission, against the rows before it and against
/// the register; says how it is to be written.
#[expect(
    clippy::too_many_arguments,
    reason = "the state of the check, passed along"
)]
#[expect(clippy::too_many_lines, reason = "one check after another")]
fn check_row(
    row: &Row,
    cx: &Context<'_>,
    store: &habeas_store_sqlite::SqliteStore,
    juvenile: bool,
    imported: &Earlier<'_>,
    orders: &HashMap<String, Vec<OrderRow>>,
    placements: &HashMap<String, (u64, String, Option<String>)>,
    room: &mut HashMap<String, i64>,
    refs: &mut HashMap<u64, u64>,
    documents: &mut HashMap<u64, u64>,
    names: &mut HashMap<u64, u64>,
    problems: &mut Vec<Problem>,
) -> Result<Plan> {
    let Some(reference) = row.get(F::Ref) else {
        problems.push(bad(
            row,
            F::Ref,
            "is required: the person's number in the earlier register",
        ));
        return Ok(Plan::Skip);
    };
    let ref_key = digest(&[reference]);
    if let Some(first) = refs.insert(ref_key, row.line) {
        problems.push(bad(
            row,
            F::Ref,
            format!("the same number as line {first}: one row per person"),
        ));
        return Ok(Plan::Skip);
    }
    if let Some(a) = imported.get(reference)? {
        problems.push(Problem {
            outcome: Outcome::Already,
            reason: if a.sha256 == cx.sha256 {
                format!("imported already from this line, as booking {} (person {})", a.booking, a.person)
            } else {
                format!(
                    "imported already from line {} of another file (SHA-256 {}…), as booking {} (person {})",
                    a.line,
                    a.sha256.get(..12).unwrap_or(""),
                    a.booking,
                    a.person
                )
            },
            ..bad(row, F::Ref, "")
        });
        return Ok(Plan::Already { booking: a.booking });
    }
    let no_orders = Vec::new();
    let own_orders = orders.get(reference).unwrap_or(&no_orders);
    // The row as an admission of a new person first: every field checked.
    let (input, _, mut warnings) = match admission_of(row, own_orders, cx, juvenile, None, true) {
        Ok(x) => x,
        Err(p) => {
            problems.push(p);
            return Ok(Plan::Skip);
        }
    };
    let Some(person) = &input.person else {
        return Ok(Plan::Skip);
    };
    // Its identity document: once in the file; someone's already in the register?
    let country = &cx.country;
    let docs: Vec<(String, String, String)> = person
        .documents
        .iter()
        .map(|d| {
            habeas_store_sqlite::document_key(&d.kind, &d.number, d.issuer.as_deref(), country)
        })
        .collect();
    let mut existing = None;
    for (kind, number, issuer) in &docs {
        let key = digest(&[kind, number, issuer]);
        if let Some(first) = documents.insert(key, row.line) {
            problems.push(bad(
                row,
                F::DocumentNumber,
                format!("{kind} {number} ({issuer}) is on line {first} too: the same document is the same person"),
            ));
            return Ok(Plan::Skip);
        }
    }
    for (holder, (kind, number, issuer)) in store
        .document_holders(&docs)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .zip(&docs)
    {
        let Some(holder) = holder else { continue };
        let what = format!(
            "{kind} {number} ({issuer}) is the document of person {}",
            holder.person
        );
        match holder.open {
            Some((booking, at)) if at == cx.facility => {
                problems.push(bad(
                    row,
                    F::DocumentNumber,
                    format!("{what}, already in custody here (booking {booking}): one person is held once"),
                ));
                return Ok(Plan::Skip);
            }
            Some(_) => {
                problems.push(bad(
                    row,
                    F::DocumentNumber,
                    format!("{what}, in custody at another facility: that custody ends, or a transfer brings them here, before another begins"),
                ));
                return Ok(Plan::Skip);
            }
            None => {
                problems.push(Problem {
                    outcome: Outcome::Warning,
                    reason: format!(
                        "{what}, held before and released: admitted again as the same person"
                    ),
                    ..bad(row, F::DocumentNumber, "")
                });
                existing = Some(holder.person);
            }
        }
    }
    // The same name and birth date: someone else, if the documents differ; without a document,
    // the file must say so (new_person).
    let key = search_key(&format!(
        "{} {}",
        person.given_names,
        person.surnames.join(" ")
    ));
    let name_key = digest(&[&key, &person.birth_date]);
    let mut new_person = existing.is_none();
    if existing.is_none() {
        let in_register = store
            .same_name_and_birth(&[(key.clone(), person.birth_date.clone())])
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .pop()
            .unwrap_or_default();
        let in_file = names.get(&name_key).copied();
        let said = yes(row.get(F::NewPerson));
        if in_register.is_empty() && in_file.is_none() {
            new_person = docs.is_empty() && said || !docs.is_empty();
        } else {
            let whom = match (in_register.first(), in_file) {
                (Some(p), _) => format!("person {p} of the register"),
                (None, Some(l)) => format!("the person on line {l}"),
                (None, None) => String::new(),
            };
            if docs.is_empty() && !said {
                problems.push(bad(
                    row,
                    F::NewPerson,
                    format!("probably {whom}: the same name and birth date, and no document; give a document, or new_person=yes if this is someone else"),
                ));
                return Ok(Plan::Skip);
            }
            problems.push(Problem {
                outcome: Outcome::Warning,
                reason: format!(
                    "the same name and birth date as {whom}; recorded as someone else ({})",
                    if said {
                        "new_person=yes"
                    } else {
                        "another document"
                    }
                ),
                ..bad(row, F::NewPerson, "")
            });
            new_person = true;
        }
    }
    names.entry(name_key).or_insert(row.line);
    // The agreement.
    if let Some(a) = input.agreement {
        if store
            .agreement(a)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_none()
        {
            problems.push(bad(
                row,
                F::Agreement,
                format!("entry {a} is not a custody agreement"),
            ));
            return Ok(Plan::Skip);
        }
    }
    // The cell: one of the facility's, with room.
    let mut place = false;
    if let Some((cell, at)) = cell_of(row, placements) {
        let from_file = placements.get(reference).map(|(l, _, _)| *l);
        let at_place = |f: F, reason: String| match from_file {
            Some(line) => Problem {
                file: Kind::Placements,
                line,
                ..bad(row, f, reason)
            },
            None => bad(row, f, reason),
        };
        let Some(left) = room.get_mut(&cell) else {
            problems.push(at_place(
                F::Cell,
                format!("there is no cell {cell} in {}", cx.facility),
            ));
            return Ok(Plan::Skip);
        };
        if let Some(at) = at {
            match time_of(&at, cx.order, "placed_at") {
                Err(e) => {
                    problems.push(at_place(F::PlacedAt, e));
                    return Ok(Plan::Skip);
                }
                Ok(t) if t < input.admitted_at => {
                    problems.push(at_place(
                        F::PlacedAt,
                        format!("{t} is before the admission ({})", input.admitted_at),
                    ));
                    return Ok(Plan::Skip);
                }
                Ok(t) if parse_time(&t).is_some_and(|t| t > cx.now) => {
                    problems.push(at_place(F::PlacedAt, format!("{t} is in the future")));
                    return Ok(Plan::Skip);
                }
                Ok(_) => {}
            }
        }
        if *left <= 0 {
            warnings.push(Problem {
                outcome: Outcome::Warning,
                reason: format!("cell {cell} is over its operational capacity: placed as the earlier register has it, and capacity.operational is found (Rules 12–13)"),
                ..at_place(F::Cell, String::new())
            });
        }
        *left -= 1;
        place = true;
    }
    problems.extend(warnings);
    Ok(Plan::Write {
        existing,
        new_person,
        place,
    })
}

/// The admissions imported at the facility by earlier runs, looked up by number.
struct Earlier<'s> {
    store: &'s habeas_store_sqlite::SqliteStore,
    facility: &'s str,
    /// Whether there are any (none: nothing to look up).
    any: bool,
}

impl Earlier<'_> {
    fn get(&self, reference: &str) -> Result<Option<habeas_store_sqlite::ImportedAdmission>> {
        if !self.any {
            return Ok(None);
        }
        self.store
            .imported_admission(self.facility, reference)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// A request to the register's writer, in flight.
enum Ticket {
    Local(habeas_register::writer::Pending),
    Done(std::result::Result<Vec<u64>, AppendError>),
}

/// This process's writer, or the running server's.
struct Sink(Writer);

impl Sink {
    fn new(w: Writer) -> Self {
        Self(w)
    }

    fn submit(&self, drafts: Vec<Draft>) -> Ticket {
        match &self.0 {
            Writer::Local(r) => Ticket::Local(r.submit(drafts)),
            Writer::Server(s) => Ticket::Done(
                s.append_all(&drafts)
                    .map(|r| r.into_iter().map(|x| x.index).collect()),
            ),
        }
    }

    /// Each draft's index, or why it was refused: a request refused whole is sent again one
    /// draft at a time, so that one bad row costs only itself.
    fn settle(
        &self,
        ticket: Ticket,
        drafts: Vec<Draft>,
    ) -> Result<Vec<std::result::Result<u64, String>>> {
        let outcome = match ticket {
            Ticket::Local(p) => p.wait().map(|r| r.into_iter().map(|x| x.index).collect()),
            Ticket::Done(r) => r,
        };
        match outcome {
            Ok(indices) => Ok(indices.into_iter().map(Ok).collect()),
            Err(AppendError::Store(e)) => bail!("the register's store failed: {e} (what was written before stays; run the import again to go on)"),
            Err(AppendError::Rejected(_)) if drafts.len() > 1 => {
                let mut out = Vec::with_capacity(drafts.len());
                for d in drafts {
                    let one = self.submit(vec![d.clone()]);
                    out.extend(self.settle(one, vec![d])?);
                }
                Ok(out)
            }
            Err(AppendError::Rejected(r)) => Ok(vec![Err(match r.field {
                Some(f) => format!("{f}: {}", r.message),
                None => r.message,
            })]),
        }
    }

    fn shutdown(self) {
        if let Writer::Local(r) = self.0 {
            r.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_each_order() {
        assert_eq!(
            date_of("2023-03-14", DateOrder::Ymd, "d").unwrap(),
            "2023-03-14"
        );
        assert_eq!(
            date_of("14/03/2023", DateOrder::Dmy, "d").unwrap(),
            "2023-03-14"
        );
        assert_eq!(
            date_of("3/14/2023", DateOrder::Mdy, "d").unwrap(),
            "2023-03-14"
        );
        assert!(date_of("14/03/2023", DateOrder::Ymd, "d").is_err());
        assert!(date_of("31/02/2023", DateOrder::Dmy, "d").is_err());
        assert!(date_of("2023-03", DateOrder::Ymd, "d").is_err());
    }

    #[test]
    fn times_from_a_date_or_a_date_and_time() {
        assert_eq!(
            time_of("2023-03-14", DateOrder::Ymd, "t").unwrap(),
            "2023-03-14T00:00:00.000Z"
        );
        assert_eq!(
            time_of("14/03/2023 08:30", DateOrder::Dmy, "t").unwrap(),
            "2023-03-14T08:30:00.000Z"
        );
        assert_eq!(
            time_of("2023-03-14T08:30:00-06:00", DateOrder::Ymd, "t").unwrap(),
            "2023-03-14T14:30:00.000Z"
        );
        assert!(time_of("yesterday", DateOrder::Ymd, "t").is_err());
    }

    #[test]
    fn every_column_has_one_name_and_its_place() {
        for (i, c) in COLUMNS.iter().enumerate() {
            assert_eq!(c.0 as usize, i, "{}", c.1);
            assert_eq!(column(c.1), Some(c.0));
        }
    }

    #[test]
    fn docs_import_md_names_every_column() {
        let doc = include_str!("../../../docs/import.md");
        for (_, n, _, _, _) in COLUMNS {
            assert!(
                doc.contains(&format!("`{n}`")),
                "docs/import.md does not name {n}"
            );
        }
    }

    #[test]
    fn the_people_template_is_a_header_and_an_example() {
        let t = template(Template::People);
        let mut r = csv::Reader::from_reader(t.as_bytes());
        let header = r.headers().unwrap().clone();
        assert_eq!(header.len(), COLUMNS.len());
        assert_eq!(r.records().count(), 1);
        let mapping: Mapping = toml::from_str(&template(Template::Mapping)).unwrap();
        assert_eq!(mapping.dates.order, DateOrder::Dmy);
        assert_eq!(mapping.columns["NOMBRES"], "given_names");
    }
}
