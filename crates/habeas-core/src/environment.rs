//! Environment readings per cell or unit (Rules 12–14): temperature, lighting, ventilation,
//! entered by hand or imported as CSV from sensors.

use crate::dates::past_time;
use crate::estate::place_code;
use crate::ids::{Actor, FacilityCode};
use crate::kinds;
use crate::DomainError;
use habeas_register::{Draft, Timestamp};
use serde::Deserialize;
use serde_json::json;

/// One reading. Temperatures in tenths of a degree Celsius (the register holds integers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub facility: FacilityCode,
    /// A cell code, or a unit code when the sensor covers a unit.
    pub place: String,
    pub at: Timestamp,
    pub temperature_dc: Option<i32>,
    pub lighting_on: Option<bool>,
    pub ventilation_on: Option<bool>,
}

fn temperature(field: &str, raw: &str) -> Result<i32, DomainError> {
    let t: f64 = raw
        .trim()
        .parse()
        .map_err(|_| DomainError::invalid(field, format!("{raw:?} is not a temperature in °C")))?;
    if !(-50.0..=70.0).contains(&t) {
        return Err(DomainError::invalid(
            field,
            format!("{t} °C is outside -50..70"),
        ));
    }
    Ok((t * 10.0).round() as i32)
}

fn on_off(field: &str, raw: &str) -> Result<Option<bool>, DomainError> {
    match raw.trim() {
        "" => Ok(None),
        "on" | "1" | "true" => Ok(Some(true)),
        "off" | "0" | "false" => Ok(Some(false)),
        other => Err(DomainError::invalid(
            field,
            format!("{other:?} is not on or off"),
        )),
    }
}

impl Reading {
    pub fn new(
        facility: &str,
        place: &str,
        at: &str,
        temperature_c: Option<&str>,
        lighting: Option<&str>,
        ventilation: Option<&str>,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        let r = Self {
            facility: FacilityCode::parse("facility", facility)?,
            place: place_code("place", place)?,
            at: past_time("at", at, now)?,
            temperature_dc: temperature_c
                .filter(|t| !t.trim().is_empty())
                .map(|t| temperature("temperature_c", t))
                .transpose()?,
            lighting_on: lighting
                .map(|l| on_off("lighting", l))
                .transpose()?
                .flatten(),
            ventilation_on: ventilation
                .map(|v| on_off("ventilation", v))
                .transpose()?
                .flatten(),
        };
        if r.temperature_dc.is_none() && r.lighting_on.is_none() && r.ventilation_on.is_none() {
            return Err(DomainError::invalid(
                "temperature_c",
                "a reading has a temperature, lighting or ventilation",
            ));
        }
        Ok(r)
    }

    pub fn to_draft(&self, actor: &Actor) -> Draft {
        let mut p = json!({"place": self.place, "at": self.at.to_string()});
        if let Some(o) = p.as_object_mut() {
            if let Some(t) = self.temperature_dc {
                o.insert("temperature_dc".into(), json!(t));
            }
            if let Some(l) = self.lighting_on {
                o.insert("lighting_on".into(), json!(l));
            }
            if let Some(v) = self.ventilation_on {
                o.insert("ventilation_on".into(), json!(v));
            }
        }
        Draft {
            actor: actor.to_string(),
            facility: self.facility.to_string(),
            kind: kinds::ENVIRONMENT.into(),
            subject: format!("cell:{}", self.place),
            payload: p,
            corrects: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct CsvRow {
    at: String,
    place: String,
    #[serde(default)]
    temperature_c: String,
    #[serde(default)]
    lighting: String,
    #[serde(default)]
    ventilation: String,
}

/// Reads sensor CSV with the header `at,place,temperature_c,lighting,ventilation`; an error
/// names the line and the field.
pub fn readings_from_csv<R: std::io::Read>(
    facility: &str,
    input: R,
    now: Timestamp,
) -> impl Iterator<Item = Result<Reading, DomainError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers_ok = reader
        .headers()
        .map(|h| h.iter().any(|x| x == "at") && h.iter().any(|x| x == "place"))
        .unwrap_or(false);
    let facility = facility.to_owned();
    let mut line = 1usize;
    let mut failed_header = !headers_ok;
    let rows = reader.into_deserialize::<CsvRow>();
    std::iter::once(()).filter(move |()| std::mem::take(&mut failed_header)).map(|()| {
        Err(DomainError::invalid("line 1", "the header must name at least the columns at and place (and temperature_c, lighting, ventilation)"))
    })
    .chain(rows.map(move |row| {
        line += 1;
        let here = format!("line {line}");
        let row = row.map_err(|e| DomainError::invalid(&here, e.to_string()))?;
        Reading::new(&facility, &row.place, &row.at, Some(&row.temperature_c), Some(&row.lighting), Some(&row.ventilation), now)
            .map_err(|e| DomainError::invalid(&here, format!("{}: {}", e.field, e.message)))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("2025-01-01T00:00:00.000Z").unwrap()
    }

    #[test]
    fn csv_readings_and_their_errors() {
        let csv = "at,place,temperature_c,lighting,ventilation\n\
                   2024-12-01T12:00:00.000Z,M1-C01,34.5,on,off\n\
                   2024-12-01T13:00:00.000Z,M1-C02,,on,\n";
        let rows: Vec<Reading> = readings_from_csv("CECOT", csv.as_bytes(), now())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].temperature_dc, Some(345));
        assert_eq!(rows[1].lighting_on, Some(true));
        let bad = csv.replace("34.5", "hot");
        let e = readings_from_csv("CECOT", bad.as_bytes(), now())
            .find_map(Result::err)
            .unwrap();
        assert_eq!(e.field, "line 2");
        assert!(e.message.contains("temperature_c"));
        let e = readings_from_csv("CECOT", "when,where\n1,2\n".as_bytes(), now())
            .find_map(Result::err)
            .unwrap();
        assert_eq!(e.field, "line 1");
        let e = readings_from_csv(
            "CECOT",
            csv.replace(",on,off", ",dim,off").as_bytes(),
            now(),
        )
        .find_map(Result::err)
        .unwrap();
        assert!(e.message.contains("lighting"), "{e}");
    }
}
