//! The estate: facilities, their units (pavilions, modules, wings) and cells, with the
//! attributes the rules measure (Rules 12–14: floor space, light, air, sanitation).

use crate::dates::text;
use crate::ids::{Actor, FacilityCode};
use crate::kinds;
use crate::DomainError;
use habeas_register::Draft;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A code of a unit or cell: 1–32 characters of A–Z, 0–9, `-`, `_` and `.`.
pub fn place_code(field: &str, raw: &str) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 32 {
        return Err(DomainError::invalid(field, "a code has 1 to 32 characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(DomainError::invalid(
            field,
            format!("{s:?} is not a code: use capital letters A-Z, digits, '-', '_' and '.'"),
        ));
    }
    Ok(s.to_owned())
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    Normal,
    Segregation,
    Health,
}

/// Rule 43(1)(c): a constantly lit cell is prohibited as a sanction and is a finding.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lighting {
    /// Lights follow day and night.
    Cycle,
    /// Lights on around the clock.
    Constant,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ventilation {
    Natural,
    Mechanical,
    None,
}

impl CellKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Segregation => "segregation",
            Self::Health => "health",
        }
    }
}
impl Lighting {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cycle => "cycle",
            Self::Constant => "constant",
        }
    }
}
impl Ventilation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Natural => "natural",
            Self::Mechanical => "mechanical",
            Self::None => "none",
        }
    }
}

/// A facility as entered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityInput {
    pub code: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 country of the facility (foreign nationals are those of other states).
    pub country: String,
    /// Designated for people under 18 (Rule 11(d); CRC art. 37(c)): anywhere else a child's
    /// admission asks for confirmation and is a grave finding.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub juvenile: bool,
}

/// The physical attributes of a cell, as entered (area in square metres).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellTemplate {
    pub area_m2: f64,
    pub bunks: u32,
    /// Certified normal accommodation: the uncrowded capacity.
    pub cna: u32,
    /// The most people the cell can hold safely.
    pub operational_capacity: u32,
    #[serde(default = "normal")]
    pub kind: CellKind,
    #[serde(default = "cycle")]
    pub lighting: Lighting,
    #[serde(default)]
    pub window: bool,
    #[serde(default = "natural")]
    pub ventilation: Ventilation,
    #[serde(default)]
    pub sanitation: bool,
}

fn normal() -> CellKind {
    CellKind::Normal
}
fn cycle() -> Lighting {
    Lighting::Cycle
}
fn natural() -> Ventilation {
    Ventilation::Natural
}

/// What a cell holds that the first estate files did not say, each optional (absent: not
/// recorded, and nothing is found on it): its mattresses (Rule 21) and whether its toilet is
/// private (Rules 15–16). Given beside the other attributes of a cell or a unit's template
/// (always flattened into one that refuses unknown fields).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CellFittings {
    /// The mattresses in the cell: a bunk without one is bare, and a person held beyond them
    /// sleeps without one.
    #[serde(default, deserialize_with = "count_or_blank")]
    pub mattresses: Option<u32>,
    /// Whether the toilet (`sanitation`) is screened from the rest of the cell: `false` for an
    /// open toilet in the cell, used in front of everyone held in it.
    #[serde(default, deserialize_with = "flag_or_blank")]
    pub toilet_private: Option<bool>,
}

/// A value as TOML, JSON or a CSV field gives it.
enum Scalar<'a> {
    Bool(bool),
    Int(i128),
    Str(&'a str),
}

/// An optional value read by `convert`, or nothing when left out, null or an empty CSV field.
struct OrBlank<T>(fn(Scalar<'_>) -> Result<T, String>);

impl<'de, T> serde::de::Visitor<'de> for OrBlank<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value or nothing")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        (self.0)(Scalar::Bool(v)).map(Some).map_err(E::custom)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        (self.0)(Scalar::Int(v.into())).map(Some).map_err(E::custom)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        (self.0)(Scalar::Int(v.into())).map(Some).map_err(E::custom)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        (self.0)(Scalar::Str(v.trim())).map(Some).map_err(E::custom)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A count of mattresses (0 or more), or nothing.
fn count_or_blank<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    d.deserialize_any(OrBlank(|v| {
        let n = match v {
            Scalar::Int(n) => n,
            Scalar::Str(s) => s
                .parse::<i128>()
                .map_err(|_| format!("mattresses: {s:?} is not a count"))?,
            Scalar::Bool(b) => return Err(format!("mattresses: {b} is not a count")),
        };
        u32::try_from(n).map_err(|_| format!("mattresses: {n} is not a count (0 or more)"))
    }))
}

/// `true` or `false` for a private toilet, or nothing.
fn flag_or_blank<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(OrBlank(|v| match v {
        Scalar::Bool(b) => Ok(b),
        Scalar::Str("true") => Ok(true),
        Scalar::Str("false") => Ok(false),
        Scalar::Str(s) => Err(format!("toilet_private: {s:?} is not true or false")),
        Scalar::Int(n) => Err(format!("toilet_private: {n} is not true or false")),
    }))
}

/// A cell as entered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellInput {
    pub code: String,
    pub unit: String,
    #[serde(flatten)]
    pub attributes: CellTemplate,
    #[serde(flatten)]
    pub fittings: CellFittings,
}

/// A unit's cell template as an estate file gives it: the attributes every cell has, and its
/// fittings.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateEntry {
    #[serde(flatten)]
    pub attributes: CellTemplate,
    #[serde(flatten)]
    pub fittings: CellFittings,
}

/// A unit as entered, optionally with `cell_count` cells made from `cell_template`
/// (codes `<unit>-C01`, `<unit>-C02`, …).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub cell_count: u32,
    pub cell_template: Option<CellTemplate>,
}

/// An estate as built in code (the demos', the benchmarks'): one facility, its units and cells,
/// with the attributes every estate has had from the first. What `habeas estate load` and
/// `POST /api/estate` read is an [`EstateDocument`], which adds what has been recorded since (a
/// facility's UTC offset, a template's fittings); an `EstateFile` is one with none of those.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstateFile {
    pub facility: FacilityInput,
    #[serde(default, rename = "unit")]
    pub units: Vec<UnitInput>,
    #[serde(default, rename = "cell")]
    pub cells: Vec<CellInput>,
}

/// A facility as an estate file gives it: its name, country and designation, and the offset of
/// its local time from UTC.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityEntry {
    #[serde(flatten)]
    pub facility: FacilityInput,
    /// The facility's local time, as a fixed offset from UTC (`-06:00` for El Salvador): what
    /// its night is (the hours of darkness of Rules 14 and 43(1)(c)). Absent: UTC.
    #[serde(default)]
    pub utc_offset: Option<String>,
}

/// A unit as an estate file gives it, optionally with `cell_count` cells made from
/// `cell_template` (codes `<unit>-C01`, `<unit>-C02`, …).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitEntry {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub cell_count: u32,
    pub cell_template: Option<TemplateEntry>,
}

/// An estate file (TOML; JSON for the API): one facility, its units and cells, every attribute.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstateDocument {
    pub facility: FacilityEntry,
    #[serde(default, rename = "unit")]
    pub units: Vec<UnitEntry>,
    #[serde(default, rename = "cell")]
    pub cells: Vec<CellInput>,
}

impl From<EstateFile> for EstateDocument {
    fn from(f: EstateFile) -> Self {
        Self {
            facility: FacilityEntry {
                facility: f.facility,
                utc_offset: None,
            },
            units: f
                .units
                .into_iter()
                .map(|u| UnitEntry {
                    code: u.code,
                    name: u.name,
                    cell_count: u.cell_count,
                    cell_template: u.cell_template.map(|attributes| TemplateEntry {
                        attributes,
                        fittings: CellFittings::default(),
                    }),
                })
                .collect(),
            cells: f.cells,
        }
    }
}

/// A valid facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facility {
    pub code: FacilityCode,
    pub name: String,
    pub country: String,
    pub juvenile: bool,
    /// Its local time's offset from UTC, in minutes (`-360` for El Salvador); 0: UTC.
    pub utc_offset_minutes: i32,
}

/// A valid unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
}

/// A valid cell. Area in square centimetres (the register holds integers only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub code: String,
    pub unit: String,
    pub area_cm2: u64,
    pub bunks: u32,
    pub cna: u32,
    pub operational_capacity: u32,
    pub kind: CellKind,
    pub lighting: Lighting,
    pub window: bool,
    pub ventilation: Ventilation,
    pub sanitation: bool,
    /// Mattresses in the cell, when recorded.
    pub mattresses: Option<u32>,
    /// Whether its toilet is private, when recorded (only for a cell with sanitation).
    pub toilet_private: Option<bool>,
}

/// An ISO 3166-1 alpha-2 country code.
pub fn country(field: &str, raw: &str) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(DomainError::invalid(
            field,
            format!("{s:?} is not a two-letter country code (ISO 3166-1, e.g. SV)"),
        ));
    }
    Ok(s.to_owned())
}

/// A fixed offset from UTC, `+HH:MM` or `-HH:MM` (`Z` or `00:00` for UTC), from -12:00 to
/// +14:00 in quarters of an hour, as minutes.
pub fn utc_offset(field: &str, raw: &str) -> Result<i32, DomainError> {
    let s = raw.trim();
    if s == "Z" {
        return Ok(0);
    }
    let bad = || {
        DomainError::invalid(
            field,
            format!("{s:?} is not an offset from UTC: write +HH:MM or -HH:MM, e.g. -06:00"),
        )
    };
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ if s == "00:00" => (1, s),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let minutes = sign * (h * 60 + m);
    if m >= 60 || m % 15 != 0 || !(-12 * 60..=14 * 60).contains(&minutes) {
        return Err(DomainError::invalid(
            field,
            format!("{s} is not an offset in use: from -12:00 to +14:00, in quarters of an hour"),
        ));
    }
    Ok(minutes)
}

/// An offset from UTC in minutes as `+HH:MM` or `-HH:MM` (`+00:00` for UTC).
pub fn offset_text(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

impl FacilityInput {
    pub fn validate(&self) -> Result<Facility, DomainError> {
        Ok(Facility {
            code: FacilityCode::parse("facility.code", &self.code)?,
            name: text("facility.name", &self.name, 200)?,
            country: country("facility.country", &self.country)?,
            juvenile: self.juvenile,
            utc_offset_minutes: 0,
        })
    }
}

impl FacilityEntry {
    pub fn validate(&self) -> Result<Facility, DomainError> {
        let mut f = self.facility.validate()?;
        if let Some(o) = &self.utc_offset {
            f.utc_offset_minutes = utc_offset("facility.utc_offset", o)?;
        }
        Ok(f)
    }
}

impl CellFittings {
    /// The fittings of a cell whose other attributes are `cell`, checked.
    fn apply(&self, field: &str, mut cell: Cell) -> Result<Cell, DomainError> {
        if self.mattresses.is_some_and(|m| m > 10_000) {
            return Err(DomainError::invalid(
                format!("{field}.mattresses"),
                "a cell holds at most 10000 mattresses",
            ));
        }
        if self.toilet_private.is_some() && !cell.sanitation {
            return Err(DomainError::invalid(
                format!("{field}.toilet_private"),
                "a cell without sanitation has no toilet to be private or open: set sanitation = true, or leave toilet_private out",
            ));
        }
        cell.mattresses = self.mattresses;
        cell.toilet_private = self.toilet_private;
        Ok(cell)
    }
}

impl CellTemplate {
    fn validate(&self, field: &str, code: &str, unit: &str) -> Result<Cell, DomainError> {
        let f = |name: &str| format!("{field}.{name}");
        if !self.area_m2.is_finite() || self.area_m2 <= 0.0 || self.area_m2 > 100_000.0 {
            return Err(DomainError::invalid(
                f("area_m2"),
                "the floor area must be more than 0 and at most 100000 m²",
            ));
        }
        if self.cna == 0 {
            return Err(DomainError::invalid(
                f("cna"),
                "certified normal accommodation must be at least 1",
            ));
        }
        if self.operational_capacity < self.cna {
            return Err(DomainError::invalid(
                f("operational_capacity"),
                format!(
                    "operational capacity ({}) is below certified normal accommodation ({})",
                    self.operational_capacity, self.cna
                ),
            ));
        }
        if self.operational_capacity > 10_000 || self.bunks > 10_000 {
            return Err(DomainError::invalid(
                f("operational_capacity"),
                "a cell holds at most 10000 people",
            ));
        }
        Ok(Cell {
            code: code.to_owned(),
            unit: unit.to_owned(),
            area_cm2: (self.area_m2 * 10_000.0).round() as u64,
            bunks: self.bunks,
            cna: self.cna,
            operational_capacity: self.operational_capacity,
            kind: self.kind,
            lighting: self.lighting,
            window: self.window,
            ventilation: self.ventilation,
            sanitation: self.sanitation,
            mattresses: None,
            toilet_private: None,
        })
    }
}

impl TemplateEntry {
    fn validate(&self, field: &str, code: &str, unit: &str) -> Result<Cell, DomainError> {
        self.fittings
            .apply(field, self.attributes.validate(field, code, unit)?)
    }
}

/// An estate file, checked: the facility, its units and every cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estate {
    pub facility: Facility,
    pub units: Vec<Unit>,
    pub cells: Vec<Cell>,
}

impl EstateFile {
    pub fn validate(&self) -> Result<Estate, DomainError> {
        EstateDocument::from(self.clone()).validate()
    }
}

impl EstateDocument {
    pub fn validate(&self) -> Result<Estate, DomainError> {
        let facility = self.facility.validate()?;
        let mut units = Vec::new();
        let mut cells = Vec::new();
        for (i, u) in self.units.iter().enumerate() {
            let field = format!("unit[{i}]");
            let code = place_code(&format!("{field}.code"), &u.code)?;
            if units.iter().any(|x: &Unit| x.code == code) {
                return Err(DomainError::invalid(
                    format!("{field}.code"),
                    format!("unit {code} appears twice"),
                ));
            }
            units.push(Unit {
                code: code.clone(),
                name: text(&format!("{field}.name"), &u.name, 200)?,
            });
            match (&u.cell_template, u.cell_count) {
                (None, 0) => {}
                (Some(t), n) if n > 0 && n <= 1000 => {
                    for k in 1..=n {
                        cells.push(t.validate(
                            &format!("{field}.cell_template"),
                            &format!("{code}-C{k:02}"),
                            &code,
                        )?);
                    }
                }
                (None, _) => {
                    return Err(DomainError::invalid(
                        format!("{field}.cell_template"),
                        "cell_count needs a cell_template",
                    ))
                }
                (Some(_), _) => {
                    return Err(DomainError::invalid(
                        format!("{field}.cell_count"),
                        "give between 1 and 1000 cells with a template",
                    ))
                }
            }
        }
        for (i, c) in self.cells.iter().enumerate() {
            let field = format!("cell[{i}]");
            let code = place_code(&format!("{field}.code"), &c.code)?;
            let unit = place_code(&format!("{field}.unit"), &c.unit)?;
            if !units.iter().any(|u| u.code == unit) {
                return Err(DomainError::invalid(
                    format!("{field}.unit"),
                    format!("unit {unit} is not in the file"),
                ));
            }
            let cell = c.attributes.validate(&field, &code, &unit)?;
            cells.push(c.fittings.apply(&field, cell)?);
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &cells {
            if !seen.insert(c.code.as_str()) {
                return Err(DomainError::invalid(
                    "cell.code",
                    format!("cell {} appears twice", c.code),
                ));
            }
        }
        Ok(Estate {
            facility,
            units,
            cells,
        })
    }
}

/// Reads cells from CSV with the header
/// `code,unit,area_m2,bunks,cna,operational_capacity,kind,lighting,window,ventilation,sanitation`
/// and, optionally, `mattresses` and `toilet_private` (an empty field: not recorded).
pub fn cells_from_csv(text: &str) -> Result<Vec<CellInput>, DomainError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, row) in reader.deserialize::<CellInput>().enumerate() {
        let row =
            row.map_err(|e| DomainError::invalid(format!("line {}", i + 2), e.to_string()))?;
        out.push(row);
    }
    Ok(out)
}

impl Facility {
    pub fn to_draft(&self, actor: &Actor) -> Draft {
        Draft {
            actor: actor.to_string(),
            facility: self.code.to_string(),
            kind: kinds::FACILITY.into(),
            subject: format!("facility:{}", self.code),
            payload: {
                let mut p = json!({"name": self.name, "country": self.country});
                if let Some(o) = p.as_object_mut() {
                    if self.juvenile {
                        o.insert("juvenile".into(), json!(true));
                    }
                    if self.utc_offset_minutes != 0 {
                        o.insert(
                            "utc_offset".into(),
                            json!(offset_text(self.utc_offset_minutes)),
                        );
                    }
                }
                p
            },
            corrects: None,
        }
    }
}

impl Unit {
    pub fn to_draft(&self, facility: &FacilityCode, actor: &Actor) -> Draft {
        Draft {
            actor: actor.to_string(),
            facility: facility.to_string(),
            kind: kinds::UNIT.into(),
            subject: format!("unit:{}", self.code),
            payload: json!({"code": self.code, "name": self.name}),
            corrects: None,
        }
    }
}

impl Cell {
    pub fn to_draft(&self, facility: &FacilityCode, actor: &Actor) -> Draft {
        let mut payload = json!({
            "code": self.code,
            "unit": self.unit,
            "area_cm2": self.area_cm2,
            "bunks": self.bunks,
            "cna": self.cna,
            "operational_capacity": self.operational_capacity,
            "kind": self.kind.as_str(),
            "lighting": self.lighting.as_str(),
            "window": self.window,
            "ventilation": self.ventilation.as_str(),
            "sanitation": self.sanitation,
        });
        // The fittings go into the entry only when recorded.
        if let Some(o) = payload.as_object_mut() {
            if let Some(m) = self.mattresses {
                o.insert("mattresses".into(), json!(m));
            }
            if let Some(t) = self.toilet_private {
                o.insert("toilet_private".into(), json!(t));
            }
        }
        Draft {
            actor: actor.to_string(),
            facility: facility.to_string(),
            kind: kinds::CELL.into(),
            subject: format!("cell:{}", self.code),
            payload,
            corrects: None,
        }
    }
}

/// A change of a cell's certified capacity, naming the approving authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certification {
    pub cell: String,
    pub cna: u32,
    pub operational_capacity: u32,
    pub authority: String,
    pub reason: String,
}

impl Certification {
    pub fn new(
        cell: &str,
        cna: u32,
        operational_capacity: u32,
        authority: &str,
        reason: &str,
    ) -> Result<Self, DomainError> {
        let cell = place_code("cell", cell)?;
        if cna == 0 {
            return Err(DomainError::invalid(
                "cna",
                "certified normal accommodation must be at least 1",
            ));
        }
        if operational_capacity < cna {
            return Err(DomainError::invalid(
                "operational_capacity",
                "operational capacity is below certified normal accommodation",
            ));
        }
        Ok(Self {
            cell,
            cna,
            operational_capacity,
            authority: text("authority", authority, 200)?,
            reason: text("reason", reason, 1000)?,
        })
    }

    pub fn to_draft(&self, facility: &FacilityCode, actor: &Actor) -> Draft {
        Draft {
            actor: actor.to_string(),
            facility: facility.to_string(),
            kind: kinds::CELL_CERTIFIED.into(),
            subject: format!("cell:{}", self.cell),
            payload: json!({
                "cell": self.cell,
                "cna": self.cna,
                "operational_capacity": self.operational_capacity,
                "authority": self.authority,
                "reason": self.reason,
            }),
            corrects: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CECOT: &str = r#"
[facility]
code = "CECOT"
name = "Centro de Confinamiento del Terrorismo"
country = "SV"

[[unit]]
code = "M1"
name = "Módulo 1"
cell_count = 32
cell_template = { area_m2 = 100, bunks = 80, cna = 24, operational_capacity = 80, lighting = "constant", window = false, ventilation = "mechanical", sanitation = true }

[[unit]]
code = "AIS"
name = "Aislamiento"

[[cell]]
code = "AIS-01"
unit = "AIS"
area_m2 = 6.25
bunks = 1
cna = 1
operational_capacity = 1
kind = "segregation"
lighting = "constant"
"#;

    #[test]
    fn an_estate_file_expands_templates() {
        let file: EstateFile = toml::from_str(CECOT).unwrap();
        let estate = file.validate().unwrap();
        assert_eq!(estate.units.len(), 2);
        assert_eq!(estate.cells.len(), 33);
        assert_eq!(estate.cells[31].code, "M1-C32");
        assert_eq!(estate.cells[0].area_cm2, 1_000_000);
        assert_eq!(estate.cells[32].area_cm2, 62_500);
        assert_eq!(estate.cells[32].kind, CellKind::Segregation);
    }

    #[test]
    fn bad_estates_name_the_field() {
        let bad = CECOT.replace(
            "cna = 24, operational_capacity = 80",
            "cna = 24, operational_capacity = 20",
        );
        let e = toml::from_str::<EstateFile>(&bad)
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(e.field, "unit[0].cell_template.operational_capacity");
        let bad = CECOT.replace("unit = \"AIS\"", "unit = \"NOPE\"");
        assert_eq!(
            toml::from_str::<EstateFile>(&bad)
                .unwrap()
                .validate()
                .unwrap_err()
                .field,
            "cell[0].unit"
        );
        let bad = CECOT.replace("country = \"SV\"", "country = \"El Salvador\"");
        assert_eq!(
            toml::from_str::<EstateFile>(&bad)
                .unwrap()
                .validate()
                .unwrap_err()
                .field,
            "facility.country"
        );
        assert!(toml::from_str::<EstateFile>(
            &CECOT.replace("bunks = 1\n", "bunks = 1\ncolour = 3\n")
        )
        .is_err());
    }

    #[test]
    fn a_facilitys_local_time_and_a_cells_fittings_are_read_and_checked() {
        let file = CECOT
            .replace(
                "country = \"SV\"",
                "country = \"SV\"\nutc_offset = \"-06:00\"",
            )
            .replace(
                "sanitation = true }",
                "sanitation = true, mattresses = 0, toilet_private = false }",
            );
        let doc: EstateDocument = toml::from_str(&file).unwrap();
        let estate = doc.validate().unwrap();
        assert_eq!(estate.facility.utc_offset_minutes, -360);
        assert_eq!(estate.cells[0].mattresses, Some(0));
        assert_eq!(estate.cells[0].toilet_private, Some(false));
        // Not recorded: nothing said (the punishment cell says neither).
        assert_eq!(estate.cells[32].mattresses, None);
        assert_eq!(estate.cells[32].toilet_private, None);
        let d = estate
            .facility
            .to_draft(&Actor::parse("a", "registro").unwrap());
        assert_eq!(d.payload["utc_offset"], "-06:00");
        let c = estate.cells[0].to_draft(
            &estate.facility.code,
            &Actor::parse("a", "registro").unwrap(),
        );
        assert_eq!(
            (
                c.payload["mattresses"].as_u64(),
                c.payload["toilet_private"].as_bool()
            ),
            (Some(0), Some(false))
        );
        let c = estate.cells[32].to_draft(
            &estate.facility.code,
            &Actor::parse("a", "registro").unwrap(),
        );
        assert!(c.payload.get("mattresses").is_none() && c.payload.get("toilet_private").is_none());
        // The same file without them, as code builds it, and as a file without the new keys.
        let plain: EstateFile = toml::from_str(CECOT).unwrap();
        let estate = plain.validate().unwrap();
        assert_eq!(estate.facility.utc_offset_minutes, 0);
        assert!(estate
            .facility
            .to_draft(&Actor::parse("a", "registro").unwrap())
            .payload
            .get("utc_offset")
            .is_none());
        assert_eq!(
            toml::from_str::<EstateDocument>(CECOT)
                .unwrap()
                .validate()
                .unwrap(),
            estate
        );
        // Bad values name the field.
        let field = |text: &str| {
            toml::from_str::<EstateDocument>(text)
                .map_err(|e| e.to_string())
                .and_then(|d| d.validate().map_err(|e| e.field))
                .unwrap_err()
        };
        for bad in ["-6", "-06", "+15:00", "-06:10", "UTC-6", "-13:00"] {
            assert_eq!(
                field(&file.replace("\"-06:00\"", &format!("{bad:?}"))),
                "facility.utc_offset",
                "{bad}"
            );
        }
        assert!(field(&file.replace("mattresses = 0", "mattresses = -1"))
            .contains("mattresses: -1 is not a count"));
        assert!(
            field(&file.replace("toilet_private = false", "toilet_private = \"no\""))
                .contains("toilet_private")
        );
        assert!(
            field(&file.replace("toilet_private = false", "toilett_private = false"))
                .contains("unknown field")
        );
        assert_eq!(
            field(&file.replace(
                "sanitation = true, mattresses",
                "sanitation = false, mattresses"
            )),
            "unit[0].cell_template.toilet_private"
        );
        assert_eq!(
            field(&file.replace("mattresses = 0", "mattresses = 10001")),
            "unit[0].cell_template.mattresses"
        );
    }

    #[test]
    fn offsets_from_utc_in_and_out() {
        for (raw, minutes, text) in [
            ("-06:00", -360, "-06:00"),
            ("+05:30", 330, "+05:30"),
            ("+05:45", 345, "+05:45"),
            ("Z", 0, "+00:00"),
            ("00:00", 0, "+00:00"),
            ("+14:00", 840, "+14:00"),
            ("-12:00", -720, "-12:00"),
        ] {
            assert_eq!(utc_offset("o", raw).unwrap(), minutes, "{raw}");
            assert_eq!(offset_text(minutes), text);
        }
        for bad in [
            "", "6", "+6:00", "+14:15", "-12:15", "+05:60", "+aa:00", "--06:00",
        ] {
            assert_eq!(utc_offset("o", bad).unwrap_err().field, "o", "{bad}");
        }
    }

    #[test]
    fn cells_load_from_csv() {
        let csv = "code,unit,area_m2,bunks,cna,operational_capacity,kind,lighting,window,ventilation,sanitation\n\
                   M2-C01,M2,100,80,24,80,normal,constant,false,mechanical,true\n";
        let cells = cells_from_csv(csv).unwrap();
        assert_eq!(cells[0].attributes.lighting, Lighting::Constant);
        let e = cells_from_csv(&csv.replace("constant", "dim")).unwrap_err();
        assert_eq!(e.field, "line 2");
        // The fittings, optional: a column left empty is not recorded.
        let csv = "code,unit,area_m2,bunks,cna,operational_capacity,kind,lighting,window,ventilation,sanitation,mattresses,toilet_private\n\
                   M2-C01,M2,100,80,24,80,normal,constant,false,mechanical,true,0,false\n\
                   M2-C02,M2,100,80,24,80,normal,constant,false,mechanical,true,,\n";
        let cells = cells_from_csv(csv).unwrap();
        assert_eq!(
            (
                cells[0].fittings.mattresses,
                cells[0].fittings.toilet_private
            ),
            (Some(0), Some(false))
        );
        assert_eq!(cells[1].fittings, CellFittings::default());
        let e = cells_from_csv(&csv.replace(",0,false", ",none,false")).unwrap_err();
        assert_eq!(e.field, "line 2");
        assert!(e.message.contains("mattresses"), "{e}");
    }
}
