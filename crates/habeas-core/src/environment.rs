//! Environment readings per cell or unit (Rules 12–14): temperature, relative humidity,
//! lighting, ventilation, entered by hand or imported as CSV from sensors; and the heat index
//! they give (Rule 13).

use crate::dates::past_time;
use crate::estate::place_code;
use crate::ids::{Actor, FacilityCode};
use crate::kinds;
use crate::DomainError;
use habeas_register::{Draft, Timestamp};
use serde::Deserialize;
use serde_json::json;

/// One reading. Temperatures in tenths of a degree Celsius, relative humidity in tenths of a
/// percent (the register holds integers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub facility: FacilityCode,
    /// A cell code, or a unit code when the sensor covers a unit.
    pub place: String,
    pub at: Timestamp,
    pub temperature_dc: Option<i32>,
    /// Relative humidity, in tenths of a percent (0 to 1000).
    pub humidity_permille: Option<i32>,
    pub lighting_on: Option<bool>,
    pub ventilation_on: Option<bool>,
}

/// What a reading measured, as entered (text, as typed or as a CSV field gives it): each
/// optional, at least one given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measured<'a> {
    /// °C, e.g. `34.5`.
    pub temperature_c: Option<&'a str>,
    /// Relative humidity in %, 0 to 100, e.g. `78.5`.
    pub humidity_pct: Option<&'a str>,
    /// `on` or `off`.
    pub lighting: Option<&'a str>,
    /// `on` or `off`.
    pub ventilation: Option<&'a str>,
}

/// The heat index (the temperature the body feels, heat and humidity together) in °C, of an
/// air temperature in °C and a relative humidity in %: the US National Weather Service's
/// formula. Steadman's simple formula is computed first (in °F) and averaged with the
/// temperature; from 80 °F on, the Rothfusz regression is used, less an adjustment below 13 %
/// humidity between 80 and 112 °F, plus one above 85 % between 80 and 87 °F. Beyond the range
/// of Steadman's tables (a heat index over about 137 °F, 58 °C) the regression is extrapolated.
pub fn heat_index_c(temperature_c: f64, humidity_pct: f64) -> f64 {
    let t = temperature_c * 9.0 / 5.0 + 32.0;
    let rh = humidity_pct;
    let simple = 0.5 * (t + 61.0 + (t - 68.0) * 1.2 + rh * 0.094);
    let f = if (simple + t) / 2.0 < 80.0 {
        simple
    } else {
        let regression = -42.379 + 2.049_015_23 * t + 10.143_331_27 * rh
            - 0.224_755_41 * t * rh
            - 0.006_837_83 * t * t
            - 0.054_817_17 * rh * rh
            + 0.001_228_74 * t * t * rh
            + 0.000_852_82 * t * rh * rh
            - 0.000_001_99 * t * t * rh * rh;
        if rh < 13.0 && (80.0..=112.0).contains(&t) {
            regression - (13.0 - rh) / 4.0 * ((17.0 - (t - 95.0).abs()) / 17.0).sqrt()
        } else if rh > 85.0 && (80.0..=87.0).contains(&t) {
            regression + (rh - 85.0) / 10.0 * ((87.0 - t) / 5.0)
        } else {
            regression
        }
    };
    (f - 32.0) * 5.0 / 9.0
}

/// The heat index of a reading's temperature (tenths of °C) and humidity (tenths of %), in
/// tenths of °C.
pub fn heat_index_dc(temperature_dc: i64, humidity_permille: i64) -> i64 {
    (heat_index_c(
        temperature_dc as f64 / 10.0,
        humidity_permille as f64 / 10.0,
    ) * 10.0)
        .round() as i64
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

fn humidity(field: &str, raw: &str) -> Result<i32, DomainError> {
    let h: f64 = raw.trim().parse().map_err(|_| {
        DomainError::invalid(field, format!("{raw:?} is not a relative humidity in %"))
    })?;
    if !(0.0..=100.0).contains(&h) {
        return Err(DomainError::invalid(
            field,
            format!("{h} % is outside 0..100: a relative humidity is a percentage"),
        ));
    }
    Ok((h * 10.0).round() as i32)
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

/// A field given and not blank.
fn given(v: Option<&str>) -> Option<&str> {
    v.filter(|t| !t.trim().is_empty())
}

impl Reading {
    pub fn new(
        facility: &str,
        place: &str,
        at: &str,
        measured: Measured<'_>,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        let r = Self {
            facility: FacilityCode::parse("facility", facility)?,
            place: place_code("place", place)?,
            at: past_time("at", at, now)?,
            temperature_dc: given(measured.temperature_c)
                .map(|t| temperature("temperature_c", t))
                .transpose()?,
            humidity_permille: given(measured.humidity_pct)
                .map(|h| humidity("humidity_pct", h))
                .transpose()?,
            lighting_on: measured
                .lighting
                .map(|l| on_off("lighting", l))
                .transpose()?
                .flatten(),
            ventilation_on: measured
                .ventilation
                .map(|v| on_off("ventilation", v))
                .transpose()?
                .flatten(),
        };
        if r.temperature_dc.is_none()
            && r.humidity_permille.is_none()
            && r.lighting_on.is_none()
            && r.ventilation_on.is_none()
        {
            return Err(DomainError::invalid(
                "temperature_c",
                "a reading has a temperature, humidity, lighting or ventilation",
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
            if let Some(h) = self.humidity_permille {
                o.insert("humidity_permille".into(), json!(h));
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
    humidity_pct: String,
    #[serde(default)]
    lighting: String,
    #[serde(default)]
    ventilation: String,
}

/// Reads sensor CSV with the header `at,place,temperature_c,lighting,ventilation` (and
/// optionally `humidity_pct`; every column but `at` and `place` may be left out, or empty); an
/// error names the line and the field.
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
        Err(DomainError::invalid("line 1", "the header must name at least the columns at and place (and temperature_c, humidity_pct, lighting, ventilation)"))
    })
    .chain(rows.map(move |row| {
        line += 1;
        let here = format!("line {line}");
        let row = row.map_err(|e| DomainError::invalid(&here, e.to_string()))?;
        let measured = Measured {
            temperature_c: Some(&row.temperature_c),
            humidity_pct: Some(&row.humidity_pct),
            lighting: Some(&row.lighting),
            ventilation: Some(&row.ventilation),
        };
        Reading::new(&facility, &row.place, &row.at, measured, now)
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
        // Humidity, optional: a column of its own, in %, to a tenth.
        let csv = "at,place,temperature_c,humidity_pct\n\
                   2024-12-01T12:00:00.000Z,M1-C01,34.5,78.5\n\
                   2024-12-01T13:00:00.000Z,M1-C02,34.5,\n";
        let rows: Vec<Reading> = readings_from_csv("CECOT", csv.as_bytes(), now())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            (rows[0].humidity_permille, rows[1].humidity_permille),
            (Some(785), None)
        );
        let e = readings_from_csv("CECOT", csv.replace("78.5", "101").as_bytes(), now())
            .find_map(Result::err)
            .unwrap();
        assert_eq!(e.field, "line 2");
        assert!(e.message.contains("humidity_pct"), "{e}");
    }

    fn reading(m: Measured<'_>) -> Result<Reading, DomainError> {
        Reading::new("CECOT", "M1-C01", "2024-12-01T02:00:00.000Z", m, now())
    }

    #[test]
    fn humidity_is_a_percentage_from_0_to_100_and_names_its_field() {
        let h = |raw| {
            reading(Measured {
                humidity_pct: Some(raw),
                ..Measured::default()
            })
        };
        assert_eq!(h("0").unwrap().humidity_permille, Some(0));
        assert_eq!(h("100").unwrap().humidity_permille, Some(1000));
        assert_eq!(h(" 72.46 ").unwrap().humidity_permille, Some(725));
        for bad in ["-0.1", "100.1", "húmedo", "NaN"] {
            let e = h(bad).unwrap_err();
            assert_eq!(e.field, "humidity_pct", "{bad}");
        }
        // Humidity alone is a reading; nothing at all is not.
        let d = h("80")
            .unwrap()
            .to_draft(&Actor::parse("a", "sensor").unwrap());
        assert_eq!(d.payload["humidity_permille"], 800);
        assert!(d.payload.get("temperature_dc").is_none());
        assert_eq!(
            reading(Measured::default()).unwrap_err().field,
            "temperature_c"
        );
    }

    /// The heat index against the US National Weather Service's published chart (°F, rounded
    /// to a degree): temperature, relative humidity, heat index.
    #[test]
    fn the_heat_index_reproduces_the_nws_chart() {
        let chart: [(f64, f64, f64); 16] = [
            (80.0, 40.0, 80.0),
            (90.0, 40.0, 91.0),
            (96.0, 40.0, 101.0),
            (100.0, 40.0, 109.0),
            (110.0, 40.0, 136.0),
            (90.0, 50.0, 95.0),
            (96.0, 50.0, 108.0),
            (104.0, 50.0, 131.0),
            (86.0, 60.0, 91.0),
            (90.0, 60.0, 100.0),
            (94.0, 60.0, 110.0),
            (88.0, 70.0, 100.0),
            (92.0, 70.0, 112.0),
            (86.0, 80.0, 100.0),
            (90.0, 80.0, 113.0),
            (94.0, 80.0, 129.0),
        ];
        for (t_f, rh, hi_f) in chart {
            let hi = heat_index_c((t_f - 32.0) * 5.0 / 9.0, rh) * 9.0 / 5.0 + 32.0;
            assert!(
                (hi - hi_f).abs() <= 0.5,
                "{t_f} °F at {rh} %: {hi:.2} °F, the chart says {hi_f}"
            );
        }
        // Below 80 °F Steadman's simple formula: 24 °C at 50 % feels 23.8 °C.
        assert_eq!(heat_index_dc(240, 500), 238);
        // The adjustments: dry heat (5 % at 100 °F) feels cooler than the regression says;
        // humid warmth (95 % at 82 °F) warmer.
        let regression = |t: f64, rh: f64| {
            -42.379 + 2.04901523 * t + 10.14333127 * rh
                - 0.22475541 * t * rh
                - 0.00683783 * t * t
                - 0.05481717 * rh * rh
                + 0.00122874 * t * t * rh
                + 0.00085282 * t * rh * rh
                - 0.00000199 * t * t * rh * rh
        };
        let f = |t_f: f64, rh: f64| heat_index_c((t_f - 32.0) * 5.0 / 9.0, rh) * 9.0 / 5.0 + 32.0;
        assert!(
            (regression(100.0, 5.0) - f(100.0, 5.0) - 2.0 * (12.0f64 / 17.0).sqrt()).abs() < 1e-6
        );
        assert!((f(82.0, 95.0) - regression(82.0, 95.0) - 1.0).abs() < 1e-6);
        // CECOT: 33 °C at 70 % feels 43.5 °C.
        assert_eq!(heat_index_dc(330, 700), 435);
    }
}
