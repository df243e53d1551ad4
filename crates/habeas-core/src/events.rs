//! What happens during a custody: movements, roll counts, new orders and legal status,
//! transfers (within the system and under custody agreements), deaths and their cases, and
//! corrections of identity.

use crate::custody::{CommitmentOrder, LegalStatus, OrderKind};
use crate::dates::{line, optional_text, past_time, text, Date};
use crate::error::Said;
use crate::estate::{country, place_code};
use crate::ids::{Actor, FacilityCode};
use crate::kinds;
use crate::DomainError;
use habeas_register::{Correction, Draft, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ids::draft;

/// A movement out of a cell and back, or out of the facility and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Out of the cell, within the facility (exercise, showers, visits…).
    OutOfCell,
    /// Back into the cell.
    BackToCell,
    /// Out of the facility: to court, hospital or a temporary absence.
    Out,
    /// Back into the facility.
    Return,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    Court,
    Hospital,
    TemporaryAbsence,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutOfCell => "out_of_cell",
            Self::BackToCell => "back_to_cell",
            Self::Out => "out",
            Self::Return => "return",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }
}

impl Destination {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Court => "court",
            Self::Hospital => "hospital",
            Self::TemporaryAbsence => "temporary_absence",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }
}

/// A movement of one person, several, or everyone in a cell at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub facility: FacilityCode,
    pub kind: MovementKind,
    pub bookings: Vec<u64>,
    pub cell: Option<String>,
    pub open_air: bool,
    pub destination: Option<Destination>,
    pub at: Timestamp,
}

impl Movement {
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per field of the form"
    )]
    pub fn new(
        facility: &str,
        kind: &str,
        bookings: &[u64],
        cell: Option<&str>,
        open_air: bool,
        destination: Option<&str>,
        at: &str,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        let kind = MovementKind::parse(kind.trim()).ok_or_else(|| {
            DomainError::invalid(
                "kind",
                format!("{kind:?} is not out_of_cell, back_to_cell, out or return"),
            )
        })?;
        let cell = cell.map(|c| place_code("cell", c)).transpose()?;
        match (bookings.is_empty(), &cell) {
            (true, None) => {
                return Err(DomainError::invalid(
                    "booking",
                    "name who moves: one or more bookings, or a whole cell",
                ))
            }
            (false, Some(_)) => {
                return Err(DomainError::invalid(
                    "cell",
                    "give bookings or a cell, not both",
                ))
            }
            _ => {}
        }
        let destination = match (kind, destination.map(str::trim)) {
            (MovementKind::Out, Some(d)) => Some(Destination::parse(d).ok_or_else(|| {
                DomainError::invalid(
                    "destination",
                    format!("{d:?} is not court, hospital or temporary_absence"),
                )
            })?),
            (MovementKind::Out, None) => {
                return Err(DomainError::invalid(
                    "destination",
                    "a movement out of the facility needs its destination",
                ))
            }
            (_, Some(_)) => {
                return Err(DomainError::invalid(
                    "destination",
                    "only a movement out of the facility has a destination",
                ))
            }
            (_, None) => None,
        };
        if open_air && kind != MovementKind::OutOfCell {
            return Err(DomainError::invalid(
                "open_air",
                "only a movement out of the cell is indoors or in the open air",
            ));
        }
        Ok(Self {
            facility: FacilityCode::parse("facility", facility)?,
            kind,
            bookings: bookings.to_vec(),
            cell,
            open_air,
            destination,
            at: past_time("at", at, now)?,
        })
    }

    pub fn to_draft(&self, actor: &Actor) -> Draft {
        let mut p = json!({"kind": self.kind.as_str(), "at": self.at.to_string()});
        if let Some(o) = p.as_object_mut() {
            if let Some(c) = &self.cell {
                o.insert("cell".into(), json!(c));
            } else {
                o.insert("bookings".into(), json!(self.bookings));
            }
            if self.kind == MovementKind::OutOfCell {
                o.insert("open_air".into(), json!(self.open_air));
            }
            if let Some(d) = self.destination {
                o.insert("destination".into(), json!(d.as_str()));
            }
        }
        let subject = match (&self.cell, self.bookings.as_slice()) {
            (Some(c), _) => format!("cell:{c}"),
            (None, [one]) => format!("custody:{one}"),
            (None, _) => "custody:several".into(),
        };
        draft(actor, &self.facility, kinds::MOVEMENT, subject, p)
    }
}

/// One cell's count: the number of people found, and optionally who they are (their
/// bookings), so that the reconciliation can say who is missing and who is extra.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellCount {
    pub cell: String,
    pub counted: u32,
    #[serde(default)]
    pub present: Option<Vec<u64>>,
}

/// A roll count: who is physically present, per cell, at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollCount {
    pub facility: FacilityCode,
    pub at: Timestamp,
    pub cells: Vec<CellCount>,
}

impl RollCount {
    pub fn new(
        facility: &str,
        at: &str,
        cells: &[CellCount],
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        if cells.is_empty() {
            return Err(DomainError::invalid(
                "cell",
                "a count covers at least one cell (CELL=NUMBER or CELL=@BOOKING,BOOKING…)",
            ));
        }
        let mut out: Vec<CellCount> = Vec::new();
        for c in cells {
            let cell = place_code("cell", &c.cell)?;
            if out.iter().any(|x| x.cell == cell) {
                return Err(DomainError::invalid(
                    "cell",
                    format!("cell {cell} is counted twice"),
                ));
            }
            if let Some(p) = &c.present {
                if p.len() as u32 != c.counted {
                    return Err(DomainError::invalid(
                        "cell",
                        format!(
                            "cell {cell}: {} people named but {} counted",
                            p.len(),
                            c.counted
                        ),
                    ));
                }
                let mut sorted = p.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted.len() != p.len() {
                    return Err(DomainError::invalid(
                        "cell",
                        format!("cell {cell}: a booking is named twice"),
                    ));
                }
            }
            out.push(CellCount {
                cell,
                counted: c.counted,
                present: c.present.clone(),
            });
        }
        Ok(Self {
            facility: FacilityCode::parse("facility", facility)?,
            at: past_time("at", at, now)?,
            cells: out,
        })
    }

    pub fn to_draft(&self, actor: &Actor) -> Draft {
        let counts: Vec<Value> = self
            .cells
            .iter()
            .map(|c| match &c.present {
                Some(p) => json!({"cell": c.cell, "counted": c.counted, "present": p}),
                None => json!({"cell": c.cell, "counted": c.counted}),
            })
            .collect();
        draft(
            actor,
            &self.facility,
            kinds::COUNT,
            format!("facility:{}", self.facility),
            json!({"at": self.at.to_string(), "counts": counts}),
        )
    }
}

/// A new commitment order during a custody (a conviction, a sentence, an extension), with the
/// legal status it brings. A sentence gives its length in days so that the release date can
/// be computed, with credit for time on remand.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    pub facility: String,
    pub booking: u64,
    pub order: CommitmentOrder,
    pub legal_status: LegalStatus,
    #[serde(default)]
    pub sentence_days: Option<u32>,
}

impl OrderInput {
    pub fn validate(&self, now: Timestamp, actor: &Actor) -> Result<Draft, DomainError> {
        let facility = FacilityCode::parse("facility", &self.facility)?;
        let issued = Date::parse("order.issued", &self.order.issued)?;
        if issued > Date::of(now) {
            return Err(
                DomainError::invalid("order.issued", "is in the future").said("future-date", &[])
            );
        }
        let expires = self
            .order
            .expires
            .as_deref()
            .map(|e| Date::parse("order.expires", e))
            .transpose()?;
        if expires.is_some_and(|e| e < issued) {
            return Err(DomainError::invalid(
                "order.expires",
                "the order expires before it was issued",
            ));
        }
        let review = self
            .order
            .review
            .as_deref()
            .map(|e| Date::parse("order.review", e))
            .transpose()?;
        match (self.order.kind, self.sentence_days) {
            (OrderKind::Sentence, None) => {
                return Err(DomainError::invalid(
                    "sentence_days",
                    "a sentence gives its length in days",
                ))
            }
            (OrderKind::Sentence, Some(0)) => {
                return Err(DomainError::invalid(
                    "sentence_days",
                    "a sentence lasts at least one day",
                ))
            }
            (OrderKind::Sentence, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(DomainError::invalid(
                    "sentence_days",
                    "only a sentence has a length",
                ))
            }
        }
        let order = CommitmentOrder {
            kind: self.order.kind,
            authority: text("order.authority", &self.order.authority, 200)?,
            reference: text("order.reference", &self.order.reference, 100)?,
            issued: issued.to_string(),
            expires: expires.map(|d| d.to_string()),
            review: review.map(|d| d.to_string()),
            emergency: self
                .order
                .emergency
                .as_ref()
                .map(|e| e.validated("order.emergency"))
                .transpose()?,
        };
        let mut p = json!({"booking": self.booking, "order": order, "legal_status": self.legal_status.as_str()});
        if let (Some(d), Some(o)) = (self.sentence_days, p.as_object_mut()) {
            o.insert("sentence_days".into(), json!(d));
        }
        Ok(draft(
            actor,
            &facility,
            kinds::ORDER,
            format!("custody:{}", self.booking),
            p,
        ))
    }
}

/// The release date of a sentence: the day it was imposed plus its length, less the days
/// already spent on remand in this custody (credit for time served).
pub fn release_date(admitted: Date, sentence_issued: Date, sentence_days: u32) -> Date {
    let remand_days = ((sentence_issued.start().0 - admitted.start().0) / 86_400_000).max(0);
    let end = sentence_issued.start().0 + (i64::from(sentence_days) - remand_days) * 86_400_000;
    Date::of(Timestamp(end))
}

/// A transfer of a custody to another facility of the system: one entry ends the custody here
/// and opens one there, with the same person, legal status and orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub facility: FacilityCode,
    pub booking: u64,
    pub to: FacilityCode,
    pub authority: String,
    pub reference: String,
    pub at: Timestamp,
}

impl Transfer {
    pub fn new(
        facility: &str,
        booking: u64,
        to: &str,
        authority: &str,
        reference: &str,
        at: &str,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        let facility = FacilityCode::parse("facility", facility)?;
        let to = FacilityCode::parse("to", to)?;
        if to == facility {
            return Err(DomainError::invalid(
                "to",
                "a transfer goes to another facility",
            ));
        }
        Ok(Self {
            facility,
            booking,
            to,
            authority: text("authority", authority, 200)?,
            reference: text("reference", reference, 100)?,
            at: past_time("at", at, now)?,
        })
    }

    pub fn to_draft(&self, actor: &Actor) -> Draft {
        draft(
            actor,
            &self.facility,
            kinds::TRANSFERRED,
            format!("custody:{}", self.booking),
            json!({"booking": self.booking, "to": self.to.as_str(), "authority": self.authority, "reference": self.reference, "at": self.at.to_string()}),
        )
    }
}

/// An arrangement with another state to hold its detainees (or send ours).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementInput {
    pub facility: String,
    /// The other state (ISO 3166-1 alpha-2).
    pub counterpart: String,
    pub reference: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
    pub starts: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
    pub ends: Option<String>,
    pub terms: String,
    /// The price per person held per day (a person-day: held at any time that day, UTC), in
    /// the smallest unit of `currency` (e.g. cents), if any.
    #[serde(default)]
    pub per_capita_rate: Option<u64>,
    #[serde(default)]
    pub currency: Option<String>,
}

impl AgreementInput {
    pub fn validate(&self, actor: &Actor) -> Result<Draft, DomainError> {
        let facility = FacilityCode::parse("facility", &self.facility)?;
        let starts = Date::parse("starts", &self.starts)?;
        let ends = self
            .ends
            .as_deref()
            .map(|e| Date::parse("ends", e))
            .transpose()?;
        if ends.is_some_and(|e| e < starts) {
            return Err(DomainError::invalid(
                "ends",
                "the agreement ends before it starts",
            ));
        }
        let currency = optional_text("currency", self.currency.as_deref(), 3)?;
        if self.per_capita_rate.is_some() && currency.is_none() {
            return Err(DomainError::invalid(
                "currency",
                "a rate needs its currency (e.g. USD)",
            ));
        }
        let mut p = json!({
            "counterpart": country("counterpart", &self.counterpart)?,
            "reference": text("reference", &self.reference, 100)?,
            "starts": starts.to_string(),
            "terms": text("terms", &self.terms, 4000)?,
        });
        if let Some(o) = p.as_object_mut() {
            if let Some(e) = ends {
                o.insert("ends".into(), json!(e.to_string()));
            }
            if let (Some(r), Some(c)) = (self.per_capita_rate, currency) {
                o.insert("per_capita_rate".into(), json!(r));
                o.insert("currency".into(), json!(c));
            }
        }
        Ok(draft(
            actor,
            &facility,
            kinds::AGREEMENT,
            format!("facility:{}", facility),
            p,
        ))
    }
}

/// A death in custody (Rules 69–72). It ends the custody and opens a death case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    pub facility: FacilityCode,
    pub booking: u64,
    pub at: Timestamp,
    pub place: String,
    pub circumstances: String,
    pub violent: bool,
}

impl Death {
    pub fn new(
        facility: &str,
        booking: u64,
        at: &str,
        place: &str,
        circumstances: &str,
        violent: bool,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        Ok(Self {
            facility: FacilityCode::parse("facility", facility)?,
            booking,
            at: past_time("at", at, now)?,
            place: text("place", place, 200)?,
            circumstances: text("circumstances", circumstances, 4000)?,
            violent,
        })
    }

    pub fn to_draft(&self, actor: &Actor) -> Draft {
        draft(
            actor,
            &self.facility,
            kinds::DEATH,
            format!("custody:{}", self.booking),
            json!({"booking": self.booking, "at": self.at.to_string(), "place": self.place, "circumstances": self.circumstances, "violent": self.violent}),
        )
    }
}

/// The mandatory steps after a death in custody (Rules 69–72).
pub const DEATH_STEPS: [&str; 5] = [
    "family_informed",
    "independent_authority_informed",
    "investigation_opened",
    "post_mortem",
    "remains_returned",
];

/// A step of a death case done.
pub fn death_step(
    facility: &str,
    case: u64,
    step: &str,
    at: &str,
    detail: &str,
    now: Timestamp,
    actor: &Actor,
) -> Result<Draft, DomainError> {
    let facility = FacilityCode::parse("facility", facility)?;
    let step = step.trim();
    if !DEATH_STEPS.contains(&step) {
        return Err(DomainError::invalid(
            "step",
            format!("{step:?} is not one of {}", DEATH_STEPS.join(", ")),
        ));
    }
    let at = past_time("at", at, now)?;
    Ok(draft(
        actor,
        &facility,
        kinds::DEATH_STEP,
        format!("death_case:{case}"),
        json!({"case": case, "step": step, "at": at.to_string(), "detail": text("detail", detail, 2000)?}),
    ))
}

/// A correction of a person's identity: a new entry naming the admission that recorded it and
/// why. The file shows the corrected identity and the history shows both.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityCorrection {
    pub facility: String,
    pub person: u64,
    pub reason: String,
    /// Who decided it, on what document (a judge's order, the civil registry's certificate):
    /// a person's identity is not changed on a reason alone.
    #[serde(default)]
    pub authority: String,
    #[serde(default)]
    pub given_names: Option<String>,
    #[serde(default)]
    pub surnames: Option<Vec<String>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
    pub birth_date: Option<String>,
    #[serde(default)]
    pub sex: Option<crate::custody::Sex>,
    #[serde(default)]
    pub nationalities: Option<Vec<String>>,
}

impl IdentityCorrection {
    pub fn validate(&self, now: Timestamp, actor: &Actor) -> Result<Draft, DomainError> {
        let facility = FacilityCode::parse("facility", &self.facility)?;
        let mut p = serde_json::Map::new();
        if self.authority.trim().is_empty() {
            return Err(DomainError::invalid(
                "authority",
                "a correction of identity names the authority that decided it and its document (e.g. \"Registro Nacional de las Personas Naturales, partida 123\")",
            ));
        }
        p.insert(
            "authority".into(),
            json!(line("authority", &self.authority, 200)?),
        );
        if let Some(g) = &self.given_names {
            p.insert("given_names".into(), json!(line("given_names", g, 100)?));
        }
        if let Some(s) = &self.surnames {
            if s.is_empty() || s.len() > 2 {
                return Err(DomainError::invalid("surnames", "give one or two surnames"));
            }
            let s: Vec<String> = s
                .iter()
                .map(|x| line("surnames", x, 100))
                .collect::<Result<_, _>>()?;
            p.insert("surnames".into(), json!(s));
        }
        if let Some(b) = &self.birth_date {
            let d = Date::parse("birth_date", b)?;
            if d > Date::of(now) {
                return Err(
                    DomainError::invalid("birth_date", "is in the future").said("future-date", &[])
                );
            }
            p.insert("birth_date".into(), json!(d.to_string()));
        }
        if let Some(s) = self.sex {
            p.insert("sex".into(), json!(s.as_str()));
        }
        if let Some(n) = &self.nationalities {
            if n.is_empty() {
                return Err(DomainError::invalid("nationalities", "give at least one"));
            }
            let n: Vec<String> = n
                .iter()
                .map(|x| country("nationalities", x))
                .collect::<Result<_, _>>()?;
            p.insert("nationalities".into(), json!(n));
        }
        if p.len() == 1 {
            return Err(DomainError::invalid(
                "given_names",
                "a correction changes at least one field",
            ));
        }
        Ok(Draft {
            actor: actor.to_string(),
            facility: facility.to_string(),
            kind: kinds::IDENTITY_CORRECTED.into(),
            subject: format!("person:{}", self.person),
            payload: Value::Object(p),
            corrects: Some(Correction {
                index: self.person,
                reason: text("reason", &self.reason, 1000)?,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("2025-01-01T00:00:00.000Z").unwrap()
    }

    #[test]
    fn movements_check_their_fields() {
        let t = "2024-12-01T08:00:00.000Z";
        assert!(Movement::new(
            "CECOT",
            "out_of_cell",
            &[],
            Some("M1-C01"),
            false,
            None,
            t,
            now()
        )
        .is_ok());
        type Case<'a> = (
            &'a str,
            &'a [u64],
            Option<&'a str>,
            bool,
            Option<&'a str>,
            &'a str,
            &'a str,
        );
        let cases: [Case; 6] = [
            ("walk", &[1], None, false, None, t, "kind"),
            ("out", &[1], None, false, None, t, "destination"),
            ("return", &[1], None, false, Some("court"), t, "destination"),
            ("back_to_cell", &[1], None, true, None, t, "open_air"),
            ("out_of_cell", &[], None, false, None, t, "booking"),
            (
                "out_of_cell",
                &[1],
                None,
                false,
                None,
                "2026-01-01T00:00:00.000Z",
                "at",
            ),
        ];
        for (kind, bookings, cell, air, dest, at, field) in cases {
            let e = Movement::new("CECOT", kind, bookings, cell, air, dest, at, now()).unwrap_err();
            assert_eq!(e.field, field, "{kind}");
        }
    }

    #[test]
    fn release_dates_credit_time_on_remand() {
        let admitted = Date::parse("a", "2024-01-01").unwrap();
        let sentenced = Date::parse("s", "2024-03-01").unwrap(); // 60 days on remand
        assert_eq!(
            release_date(admitted, sentenced, 365).to_string(),
            "2024-12-31"
        );
        assert_eq!(
            release_date(sentenced, sentenced, 10).to_string(),
            "2024-03-11"
        );
    }

    #[test]
    fn a_sentence_needs_its_length() {
        let actor = Actor::parse("actor", "juridico.eva").unwrap();
        let order = CommitmentOrder {
            kind: OrderKind::Sentence,
            authority: "Tribunal".into(),
            reference: "S-1".into(),
            issued: "2024-10-01".into(),
            expires: None,
            review: None,
            emergency: None,
        };
        let mut input = OrderInput {
            facility: "CECOT".into(),
            booking: 5,
            order,
            legal_status: LegalStatus::Sentenced,
            sentence_days: None,
        };
        assert_eq!(
            input.validate(now(), &actor).unwrap_err().field,
            "sentence_days"
        );
        input.sentence_days = Some(3650);
        assert_eq!(
            input.validate(now(), &actor).unwrap().payload["sentence_days"],
            3650
        );
    }

    #[test]
    fn death_steps_are_the_mandatory_ones() {
        let actor = Actor::parse("actor", "director").unwrap();
        assert!(death_step(
            "CECOT",
            9,
            "family_informed",
            "2024-12-01T08:00:00.000Z",
            "por teléfono",
            now(),
            &actor
        )
        .is_ok());
        assert_eq!(
            death_step(
                "CECOT",
                9,
                "burial",
                "2024-12-01T08:00:00.000Z",
                "x",
                now(),
                &actor
            )
            .unwrap_err()
            .field,
            "step"
        );
    }

    #[test]
    fn identity_corrections_name_the_entry_they_correct() {
        let actor = Actor::parse("actor", "registro.ana").unwrap();
        let c = IdentityCorrection {
            facility: "CECOT".into(),
            person: 5,
            reason: "error de transcripción".into(),
            authority: "RNPN, partida 12".into(),
            birth_date: Some("1994-03-02".into()),
            ..Default::default()
        };
        let d = c.validate(now(), &actor).unwrap();
        assert_eq!(d.corrects.unwrap().index, 5);
        let empty = IdentityCorrection {
            facility: "CECOT".into(),
            person: 5,
            reason: "x".into(),
            authority: "RNPN".into(),
            ..Default::default()
        };
        assert!(empty.validate(now(), &actor).is_err());
        let unauthorized = IdentityCorrection {
            authority: " ".into(),
            ..c
        };
        assert_eq!(
            unauthorized.validate(now(), &actor).unwrap_err().field,
            "authority"
        );
    }
}
