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

/// A cell as entered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellInput {
    pub code: String,
    pub unit: String,
    #[serde(flatten)]
    pub attributes: CellTemplate,
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

/// An estate file (TOML): one facility, its units and cells.
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

/// A valid facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facility {
    pub code: FacilityCode,
    pub name: String,
    pub country: String,
    pub juvenile: bool,
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

impl FacilityInput {
    pub fn validate(&self) -> Result<Facility, DomainError> {
        Ok(Facility {
            code: FacilityCode::parse("facility.code", &self.code)?,
            name: text("facility.name", &self.name, 200)?,
            country: country("facility.country", &self.country)?,
            juvenile: self.juvenile,
        })
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
        })
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
            cells.push(c.attributes.validate(&field, &code, &unit)?);
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
/// `code,unit,area_m2,bunks,cna,operational_capacity,kind,lighting,window,ventilation,sanitation`.
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
            payload: if self.juvenile {
                json!({"name": self.name, "country": self.country, "juvenile": true})
            } else {
                json!({"name": self.name, "country": self.country})
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
        Draft {
            actor: actor.to_string(),
            facility: facility.to_string(),
            kind: kinds::CELL.into(),
            subject: format!("cell:{}", self.code),
            payload: json!({
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
            }),
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
    fn cells_load_from_csv() {
        let csv = "code,unit,area_m2,bunks,cna,operational_capacity,kind,lighting,window,ventilation,sanitation\n\
                   M2-C01,M2,100,80,24,80,normal,constant,false,mechanical,true\n";
        let cells = cells_from_csv(csv).unwrap();
        assert_eq!(cells[0].attributes.lighting, Lighting::Constant);
        let e = cells_from_csv(&csv.replace("constant", "dim")).unwrap_err();
        assert_eq!(e.field, "line 2");
    }
}
