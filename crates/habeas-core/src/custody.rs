//! People and their custodies: admission (Rule 7), legal status, commitment orders, release,
//! non-associations.

use crate::dates::{line, optional_text, past_time, text, Date};
use crate::error::Said;
use crate::estate::country;
use crate::ids::{Actor, FacilityCode};
use crate::kinds;
use crate::DomainError;
use habeas_register::{Draft, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
    Intersex,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
            Self::Intersex => "intersex",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "male" => Some(Self::Male),
            "female" => Some(Self::Female),
            "intersex" => Some(Self::Intersex),
            _ => None,
        }
    }
}

/// Legal status (the words of DOMAIN.md).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalStatus {
    /// Untried: held before or during trial.
    Remand,
    ConvictedUnsentenced,
    Sentenced,
    Immigration,
    Civil,
    HeldForAnotherState,
}

/// Rule 11's groups: untried and convicted apart, civil apart from criminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusGroup {
    Untried,
    Convicted,
    Civil,
}

impl LegalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remand => "remand",
            Self::ConvictedUnsentenced => "convicted_unsentenced",
            Self::Sentenced => "sentenced",
            Self::Immigration => "immigration",
            Self::Civil => "civil",
            Self::HeldForAnotherState => "held_for_another_state",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Remand,
            Self::ConvictedUnsentenced,
            Self::Sentenced,
            Self::Immigration,
            Self::Civil,
            Self::HeldForAnotherState,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
    pub fn group(self) -> StatusGroup {
        match self {
            Self::Remand | Self::HeldForAnotherState => StatusGroup::Untried,
            Self::ConvictedUnsentenced | Self::Sentenced => StatusGroup::Convicted,
            Self::Immigration | Self::Civil => StatusGroup::Civil,
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    PretrialDetention,
    Sentence,
    Immigration,
    TransferAgreement,
    Civil,
    Other,
}

/// The rules whose breach an admission may record knowingly, by naming them in `confirm`.
pub const CONFIRMABLE: &[&str] = &["Rule 11(d)"];

/// Whether someone with these nationalities is a foreign national where a facility of
/// `country` holds them (Vienna Convention art. 36; Rule 62): they have a nationality, and
/// none is the state's. A national of the state is not a foreign national, whatever other
/// nationality they hold.
pub fn foreign_national<'a>(
    nationalities: impl IntoIterator<Item = &'a str>,
    country: &str,
) -> bool {
    let mut any = false;
    for n in nationalities {
        if n == country {
            return false;
        }
        any = true;
    }
    any
}

/// Whether an order issued on `issued` and expiring on `expires` (the first day it no longer
/// holds) is in force on `day`.
pub fn order_in_force(issued: Date, expires: Option<Date>, day: Date) -> bool {
    issued <= day && expires.is_none_or(|e| e > day)
}

/// The legal basis of a custody (Rule 7(a)).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentOrder {
    pub kind: OrderKind,
    pub authority: String,
    pub reference: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
    pub issued: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
    pub review: Option<String>,
    /// The state of exception the order was issued under, if it invokes one (ICCPR 4). It
    /// suspends nothing the findings measure: habeas corpus and judicial review cannot be
    /// suspended (ICCPR 4(2); Human Rights Committee General Comment 29).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<EmergencyRegime>,
}

/// A state of exception (emergency regime) as an order names it: e.g. El Salvador's
/// "régimen de excepción", Decreto Legislativo 333 of 27 March 2022, extended monthly since.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyRegime {
    /// Its name, e.g. "régimen de excepción".
    pub name: String,
    /// The decree that declared or last extended it, e.g. "Decreto Legislativo 333".
    pub decree: String,
    /// The day it was declared.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
    pub declared: String,
    /// The day it ends (the first day it no longer holds), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
    pub ends: Option<String>,
}

impl EmergencyRegime {
    /// The regime with its texts trimmed and dates checked; `field` names it (e.g.
    /// `orders[0].emergency`).
    pub fn validated(&self, field: &str) -> Result<Self, DomainError> {
        let f = |n: &str| format!("{field}.{n}");
        let declared = Date::parse(&f("declared"), &self.declared)?;
        let ends = self
            .ends
            .as_deref()
            .map(|e| Date::parse(&f("ends"), e))
            .transpose()?;
        if ends.is_some_and(|e| e <= declared) {
            return Err(DomainError::invalid(
                f("ends"),
                "the emergency regime ends before it was declared",
            ));
        }
        Ok(Self {
            name: text(&f("name"), &self.name, 200)?,
            decree: text(&f("decree"), &self.decree, 200)?,
            declared: declared.to_string(),
            ends: ends.map(|d| d.to_string()),
        })
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityDocument {
    pub kind: String,
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// A person's identity, as entered at a first admission.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    pub given_names: String,
    /// One or two surnames.
    pub surnames: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
    pub birth_date: String,
    pub sex: Sex,
    /// Self-perceived gender, in the person's words (Rule 7(a)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    pub nationalities: Vec<String>,
    #[serde(default)]
    pub documents: Vec<IdentityDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrest {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
    pub at: String,
    pub place: String,
    pub authority: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyItem {
    pub item: String,
    #[serde(default = "one")]
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn one() -> u32 {
    1
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relative {
    pub name: String,
    pub relationship: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// A child of the person (Rule 7(f)): age, where they are, who cares for them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Child {
    pub age: u32,
    pub whereabouts: String,
    pub carer: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    pub name: String,
    pub relationship: String,
    pub phone: String,
}

/// Consular rights of a foreign national (Vienna Convention on Consular Relations art. 36;
/// Rule 62).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consular {
    /// When the person was told of the right to consular notification and access. Absent:
    /// they were not told (or no earlier register says they were), which is recorded as it is
    /// and found (`consular.not_advised`), never refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
    pub rights_advised_at: Option<String>,
    /// Whether the person asked for the consulate to be notified.
    #[serde(default)]
    pub notification_requested: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
    pub notified_at: Option<String>,
}

/// A person brought to the gate without a commitment order in force, and held while one is
/// sought (Rule 7(a)'s only exception, which hides nobody): who brought them and what papers
/// they showed. The custody is counted like any other, and `legal.no_valid_basis` is a grave
/// finding from its first minute until an order is recorded or the person released.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingOrder {
    /// The authority or officers who brought the person (e.g. "Policía Nacional Civil, patrulla 12").
    pub brought_by: String,
    /// The papers shown at the gate, as described (none: nothing was shown).
    #[serde(default)]
    pub orders_shown: Vec<String>,
}

/// Where an admission imported in bulk from an earlier register came from (`habeas import
/// population`): the file (its name and SHA-256), the line, and the person's number in the
/// earlier system. The register then tells when a fact was recorded (the entry's time) from
/// when it happened (`admitted_at`), and an interrupted import run again finds what it already
/// wrote.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedFrom {
    /// The file's name as the import was given it, e.g. "sigespe-2026-12.csv".
    pub source: String,
    /// The SHA-256 of the file's bytes, in lower-case hex.
    pub sha256: String,
    /// The line of the file the person's row is on (1 is the header of a CSV file).
    pub line: u64,
    /// The person's number in the earlier register.
    #[serde(rename = "ref")]
    pub reference: String,
}

impl ImportedFrom {
    fn validated(&self) -> Result<Self, DomainError> {
        let sha256 = self.sha256.trim().to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DomainError::invalid(
                "imported.sha256",
                "is not a SHA-256 in hex (64 characters)",
            ));
        }
        if self.line == 0 {
            return Err(DomainError::invalid(
                "imported.line",
                "lines are numbered from 1",
            ));
        }
        Ok(Self {
            source: line("imported.source", &self.source, 200)?,
            sha256,
            line: self.line,
            reference: line("imported.ref", &self.reference, 100)?,
        })
    }
}

/// An admission as entered by a registry officer (JSON).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionInput {
    pub facility: String,
    /// The identity of a person admitted for the first time…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonInput>,
    /// …or the id of a person already known (a new stay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_person: Option<u64>,
    /// With `person`: the registry has checked the probable matches (the same name and birth
    /// date as someone already recorded) and this is someone else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_person: bool,
    /// The rules the registry knowingly records a breach of, named: `"Rule 11(d)"` admits a
    /// person under 18 to a facility not designated for them (a grave finding all the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirm: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
    pub admitted_at: String,
    pub legal_status: LegalStatus,
    #[serde(default)]
    pub orders: Vec<CommitmentOrder>,
    pub arrest: Option<Arrest>,
    #[serde(default)]
    pub injuries: Vec<String>,
    #[serde(default)]
    pub ill_treatment_complaints: Vec<String>,
    #[serde(default)]
    pub property: Vec<PropertyItem>,
    #[serde(default)]
    pub family: Vec<Relative>,
    #[serde(default)]
    pub children: Vec<Child>,
    pub emergency_contact: Option<EmergencyContact>,
    pub consular: Option<Consular>,
    /// The custody agreement (its register index) a person held for another state is held under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<u64>,
    /// The earlier register this admission was first written in, when it is transcribed
    /// (a paper book, another system: e.g. "Libro de ingresos 2024, folio 112"). Its delay is
    /// not a late registration; an admission without it is measured against the time it is
    /// recorded (`intake.late_registration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcribed_from: Option<String>,
    /// Imported in bulk from an earlier register: the file, its line and the person's number
    /// there. An imported admission is transcribed (`transcribed_from` says from what).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<ImportedFrom>,
    /// Brought without an order in force and held pending one: the only admission without a
    /// valid order, recorded with its grave finding (`legal.no_valid_basis`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_pending_order: Option<PendingOrder>,
}

/// A checked admission, ready to become a register entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    pub facility: FacilityCode,
    pub admitted_at: Timestamp,
    pub legal_status: LegalStatus,
    /// The identity (first stay) or `None` for an existing person.
    pub person: Option<PersonInput>,
    pub existing_person: Option<u64>,
    pub sex: Option<Sex>,
    pub birth_date: Option<Date>,
    pub nationalities: Vec<String>,
    payload: Value,
}

fn each_text(field: &str, items: &[String], max: usize) -> Result<Vec<String>, DomainError> {
    items
        .iter()
        .enumerate()
        .map(|(i, t)| text(&format!("{field}[{i}]"), t, max))
        .collect()
}

/// Names, each on one line.
fn each_line(field: &str, items: &[String], max: usize) -> Result<Vec<String>, DomainError> {
    items
        .iter()
        .enumerate()
        .map(|(i, t)| line(&format!("{field}[{i}]"), t, max))
        .collect()
}

impl PersonInput {
    fn validate(&self, now: Timestamp) -> Result<(PersonInput, Date), DomainError> {
        let given_names = line("person.given_names", &self.given_names, 100)?;
        if self.surnames.is_empty() || self.surnames.len() > 2 {
            return Err(DomainError::invalid(
                "person.surnames",
                "give one or two surnames",
            ));
        }
        let surnames = each_line("person.surnames", &self.surnames, 100)?;
        let aliases = each_line("person.aliases", &self.aliases, 100)?;
        let birth = Date::parse("person.birth_date", &self.birth_date)?;
        let today = Date::of(now);
        if birth > today {
            return Err(
                DomainError::invalid("person.birth_date", "is in the future")
                    .said("future-date", &[]),
            );
        }
        if birth.age_on(today) > 120 {
            return Err(DomainError::invalid(
                "person.birth_date",
                "gives an age over 120 years",
            ));
        }
        if self.nationalities.is_empty() {
            return Err(DomainError::invalid(
                "person.nationalities",
                "give at least one nationality (or XX if stateless or unknown)",
            ));
        }
        let nationalities = self
            .nationalities
            .iter()
            .enumerate()
            .map(|(i, n)| country(&format!("person.nationalities[{i}]"), n))
            .collect::<Result<Vec<_>, _>>()?;
        let documents = self
            .documents
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Ok(IdentityDocument {
                    kind: text(&format!("person.documents[{i}].kind"), &d.kind, 50)?,
                    number: text(&format!("person.documents[{i}].number"), &d.number, 100)?,
                    issuer: optional_text(
                        &format!("person.documents[{i}].issuer"),
                        d.issuer.as_deref(),
                        100,
                    )?,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        Ok((
            PersonInput {
                given_names,
                surnames,
                aliases,
                birth_date: birth.to_string(),
                sex: self.sex,
                gender: optional_text("person.gender", self.gender.as_deref(), 100)?,
                nationalities,
                documents,
                language: optional_text("person.language", self.language.as_deref(), 50)?,
                photo: optional_text("person.photo", self.photo.as_deref(), 500)?,
            },
            birth,
        ))
    }
}

impl AdmissionInput {
    /// Checks every field against Rule 7 and names the first that is wrong. `now` is the time
    /// of recording: nothing may be dated after it.
    pub fn validate(&self, now: Timestamp) -> Result<Admission, DomainError> {
        let facility = FacilityCode::parse("facility", &self.facility)?;
        let admitted_at = past_time("admitted_at", &self.admitted_at, now)?;
        let (person, birth_date) = match (&self.person, self.existing_person) {
            (Some(p), None) => {
                let (p, b) = p.validate(now)?;
                (Some(p), Some(b))
            }
            (None, Some(_)) if self.new_person => {
                return Err(DomainError::invalid(
                    "new_person",
                    "new_person goes with the identity of someone not yet recorded, not with existing_person",
                ))
            }
            (None, Some(_)) => (None, None),
            (Some(_), Some(_)) => {
                return Err(DomainError::invalid(
                    "existing_person",
                    "give either person or existing_person, not both",
                ))
            }
            (None, None) => {
                return Err(DomainError::invalid(
                    "person",
                    "give the person's identity, or existing_person for a new stay",
                ))
            }
        };
        if self.legal_status == LegalStatus::HeldForAnotherState && self.agreement.is_none() {
            return Err(DomainError::invalid("agreement", "a person held for another state is held under a custody agreement: give its entry number"));
        }
        let pending = self
            .held_pending_order
            .as_ref()
            .map(|p| {
                Ok::<_, DomainError>(PendingOrder {
                    brought_by: line("held_pending_order.brought_by", &p.brought_by, 200)?,
                    orders_shown: each_text(
                        "held_pending_order.orders_shown",
                        &p.orders_shown,
                        500,
                    )?,
                })
            })
            .transpose()?;
        if self.orders.is_empty() && pending.is_none() {
            return Err(DomainError {
                code: "no_legal_basis",
                field: "orders".into(),
                message:
                    "Rule 7: nobody is admitted without a valid commitment order; give at least one (a person brought without one is recorded with held_pending_order, or refused at the gate with a gate_refusal record)"
                        .into(),
                words: None,
            }
            .said("no-order", &[]));
        }
        let admitted_date = Date::of(admitted_at);
        let mut orders = Vec::new();
        for (i, o) in self.orders.iter().enumerate() {
            let f = |n: &str| format!("orders[{i}].{n}");
            let issued = Date::parse(&f("issued"), &o.issued)?;
            if issued > admitted_date {
                return Err(DomainError::invalid(
                    f("issued"),
                    "the order is dated after the admission",
                ));
            }
            let expires = o
                .expires
                .as_deref()
                .map(|e| Date::parse(&f("expires"), e))
                .transpose()?;
            if expires.is_some_and(|e| e < issued) {
                return Err(DomainError::invalid(
                    f("expires"),
                    "the order expires before it was issued",
                ));
            }
            let review = o
                .review
                .as_deref()
                .map(|e| Date::parse(&f("review"), e))
                .transpose()?;
            if review.is_some_and(|r| r < issued) {
                return Err(DomainError::invalid(
                    f("review"),
                    "the review date is before the order was issued",
                ));
            }
            orders.push(CommitmentOrder {
                kind: o.kind,
                authority: text(&f("authority"), &o.authority, 200)?,
                reference: text(&f("reference"), &o.reference, 100)?,
                issued: issued.to_string(),
                expires: expires.map(|d| d.to_string()),
                review: review.map(|d| d.to_string()),
                emergency: o
                    .emergency
                    .as_ref()
                    .map(|e| e.validated(&f("emergency")))
                    .transpose()?,
            });
        }
        // Rule 7(a): at least one order is in force on the day of admission (issued by then,
        // not yet expired; the same test as the compliance findings'). An order that expired
        // before the admission is no basis for it.
        let any_in_force = orders.iter().any(|o| {
            let issued = Date::parse("issued", &o.issued).ok();
            let expires = o
                .expires
                .as_deref()
                .and_then(|e| Date::parse("expires", e).ok());
            issued.is_some_and(|i| order_in_force(i, expires, admitted_date))
        });
        if any_in_force && pending.is_some() {
            return Err(DomainError::invalid(
                "held_pending_order",
                format!("an order in force on {admitted_date} is given: the person is admitted on it, not held pending an order"),
            ));
        }
        if !any_in_force && pending.is_none() {
            return Err(DomainError {
                code: "no_legal_basis",
                field: "orders".into(),
                message: format!(
                    "Rule 7(a): no order is in force on {admitted_date}, the day of admission (every order given has expired); nobody is admitted without a valid commitment order (a person brought without one is recorded with held_pending_order, or refused at the gate)"
                ),
                words: None,
            }
            .said("no-order-in-force", &[("date", &admitted_date)]));
        }
        let arrest = match &self.arrest {
            None => None,
            Some(a) => {
                let at = past_time("arrest.at", &a.at, now)?;
                if at > admitted_at {
                    return Err(DomainError::invalid(
                        "arrest.at",
                        "the arrest is after the admission",
                    ));
                }
                Some(Arrest {
                    at: at.to_string(),
                    place: text("arrest.place", &a.place, 200)?,
                    authority: text("arrest.authority", &a.authority, 200)?,
                })
            }
        };
        let injuries = each_text("injuries", &self.injuries, 2000)?;
        let complaints = each_text(
            "ill_treatment_complaints",
            &self.ill_treatment_complaints,
            2000,
        )?;
        let property = self
            .property
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(PropertyItem {
                    item: text(&format!("property[{i}].item"), &p.item, 200)?,
                    quantity: p.quantity,
                    description: optional_text(
                        &format!("property[{i}].description"),
                        p.description.as_deref(),
                        500,
                    )?,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        let family = self
            .family
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(Relative {
                    name: text(&format!("family[{i}].name"), &r.name, 200)?,
                    relationship: text(&format!("family[{i}].relationship"), &r.relationship, 100)?,
                    contact: optional_text(
                        &format!("family[{i}].contact"),
                        r.contact.as_deref(),
                        200,
                    )?,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        let children = self
            .children
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if c.age > 17 {
                    return Err(DomainError::invalid(
                        format!("children[{i}].age"),
                        "a child is under 18",
                    ));
                }
                Ok(Child {
                    age: c.age,
                    whereabouts: text(&format!("children[{i}].whereabouts"), &c.whereabouts, 200)?,
                    carer: text(&format!("children[{i}].carer"), &c.carer, 200)?,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        let emergency = match &self.emergency_contact {
            None => None,
            Some(e) => Some(EmergencyContact {
                name: text("emergency_contact.name", &e.name, 200)?,
                relationship: text("emergency_contact.relationship", &e.relationship, 100)?,
                phone: text("emergency_contact.phone", &e.phone, 50)?,
            }),
        };
        let consular = match &self.consular {
            None => None,
            Some(c) => {
                let advised = c
                    .rights_advised_at
                    .as_deref()
                    .map(|a| past_time("consular.rights_advised_at", a, now))
                    .transpose()?;
                let notified = c
                    .notified_at
                    .as_deref()
                    .map(|n| past_time("consular.notified_at", n, now))
                    .transpose()?;
                if notified.is_some() && !c.notification_requested {
                    return Err(DomainError::invalid(
                        "consular.notified_at",
                        "the consulate was notified but the person did not ask for it",
                    ));
                }
                Some(Consular {
                    rights_advised_at: advised.map(|a| a.to_string()),
                    notification_requested: c.notification_requested,
                    notified_at: notified.map(|n| n.to_string()),
                })
            }
        };
        let mut payload = json!({
            "admitted_at": admitted_at.to_string(),
            "legal_status": self.legal_status.as_str(),
            "orders": orders,
            "injuries": injuries,
            "ill_treatment_complaints": complaints,
            "property": property,
            "family": family,
            "children": children,
        });
        if let Some(obj) = payload.as_object_mut() {
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    obj.insert(k.into(), v);
                }
            };
            put(
                "person",
                person.as_ref().and_then(|p| serde_json::to_value(p).ok()),
            );
            put("existing_person", self.existing_person.map(|p| json!(p)));
            put("new_person", self.new_person.then_some(json!(true)));
            for (i, rule) in self.confirm.iter().enumerate() {
                if !CONFIRMABLE.contains(&rule.as_str()) {
                    return Err(DomainError::invalid(
                        format!("confirm[{i}]"),
                        format!(
                            "{rule:?} is not a rule an admission confirms; one of {}",
                            CONFIRMABLE.join(", ")
                        ),
                    ));
                }
            }
            put(
                "confirm",
                (!self.confirm.is_empty()).then(|| json!(self.confirm)),
            );
            put(
                "arrest",
                arrest.as_ref().and_then(|a| serde_json::to_value(a).ok()),
            );
            put(
                "emergency_contact",
                emergency
                    .as_ref()
                    .and_then(|e| serde_json::to_value(e).ok()),
            );
            put(
                "consular",
                consular.as_ref().and_then(|c| serde_json::to_value(c).ok()),
            );
            put("agreement", self.agreement.map(|a| json!(a)));
            put(
                "transcribed_from",
                self.transcribed_from
                    .as_deref()
                    .map(|t| line("transcribed_from", t, 200))
                    .transpose()?
                    .map(|t| json!(t)),
            );
            put(
                "held_pending_order",
                pending.as_ref().and_then(|p| serde_json::to_value(p).ok()),
            );
            if let Some(imported) = &self.imported {
                if self.transcribed_from.is_none() {
                    return Err(DomainError::invalid(
                        "transcribed_from",
                        "an imported admission says what it was transcribed from",
                    ));
                }
                put("imported", serde_json::to_value(imported.validated()?).ok());
            }
        }
        Ok(Admission {
            facility,
            admitted_at,
            legal_status: self.legal_status,
            sex: person.as_ref().map(|p| p.sex),
            birth_date,
            nationalities: person
                .as_ref()
                .map(|p| p.nationalities.clone())
                .unwrap_or_default(),
            person,
            existing_person: self.existing_person,
            payload,
        })
    }
}

impl Admission {
    pub fn to_draft(&self, actor: &Actor) -> Draft {
        Draft {
            actor: actor.to_string(),
            facility: self.facility.to_string(),
            kind: kinds::ADMITTED.into(),
            subject: match self.existing_person {
                Some(p) => format!("person:{p}"),
                None => "person:new".into(),
            },
            payload: self.payload.clone(),
            corrects: None,
        }
    }
}

/// Why a custody ends other than by death (DOMAIN.md's release reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    SentenceServed,
    Bail,
    Acquittal,
    ChargesDropped,
    CourtOrder,
    DetentionOrderExpired,
    TransferOut,
    TransferToAnotherState,
    ReleasedInError,
    /// The person left custody unlawfully: an escape, or a person who cannot be found. It ends
    /// the custody as the records know it and opens a case (Mandela Rule 71(1): a disappearance
    /// is reported without delay to an authority independent of the prison administration);
    /// a recapture is a new admission.
    Escape,
}

impl ReleaseReason {
    /// Every reason, the releases first and the escape last.
    pub const ALL: [Self; 10] = [
        Self::SentenceServed,
        Self::Bail,
        Self::Acquittal,
        Self::ChargesDropped,
        Self::CourtOrder,
        Self::DetentionOrderExpired,
        Self::TransferOut,
        Self::TransferToAnotherState,
        Self::ReleasedInError,
        Self::Escape,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SentenceServed => "sentence_served",
            Self::Bail => "bail",
            Self::Acquittal => "acquittal",
            Self::ChargesDropped => "charges_dropped",
            Self::CourtOrder => "court_order",
            Self::DetentionOrderExpired => "detention_order_expired",
            Self::TransferOut => "transfer_out",
            Self::TransferToAnotherState => "transfer_to_another_state",
            Self::ReleasedInError => "released_in_error",
            Self::Escape => "escape",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }
}

/// A release: only with a legal reason, an authority and a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub booking: u64,
    pub facility: FacilityCode,
    pub reason: ReleaseReason,
    pub authority: String,
    pub reference: String,
    pub at: Timestamp,
}

impl Release {
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per field of the form"
    )]
    pub fn new(
        facility: &str,
        booking: u64,
        reason: Option<&str>,
        authority: &str,
        reference: &str,
        at: &str,
        now: Timestamp,
        _actor: &Actor,
    ) -> Result<Self, DomainError> {
        let reason = match reason.map(str::trim) {
            None | Some("") => {
                return Err(DomainError {
                    code: "no_legal_reason",
                    field: "reason".into(),
                    message: "a release needs its legal reason (sentence_served, bail, acquittal, charges_dropped, court_order, detention_order_expired, transfer_out, transfer_to_another_state, released_in_error, escape)".into(),
                    words: None,
                }
                .said("no-release-reason", &[]))
            }
            Some(r) => ReleaseReason::parse(r).ok_or_else(|| DomainError::invalid("reason", format!("{r:?} is not a release reason")).said("not-one-of", &[("value", &r)]))?,
        };
        Ok(Self {
            booking,
            facility: FacilityCode::parse("facility", facility)?,
            reason,
            authority: text("authority", authority, 200)?,
            reference: text("reference", reference, 100)?,
            at: past_time("at", at, now)?,
        })
    }

    pub fn to_draft(&self, actor: &Actor) -> Draft {
        Draft {
            actor: actor.to_string(),
            facility: self.facility.to_string(),
            kind: kinds::RELEASED.into(),
            subject: format!("custody:{}", self.booking),
            payload: json!({
                "booking": self.booking,
                "reason": self.reason.as_str(),
                "authority": self.authority,
                "reference": self.reference,
                "at": self.at.to_string(),
            }),
            corrects: None,
        }
    }
}

/// How far apart two people must be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Cell,
    Unit,
    Facility,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cell => "cell",
            Self::Unit => "unit",
            Self::Facility => "facility",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }
}

/// Two people who must be kept apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonAssociation {
    pub facility: FacilityCode,
    pub a: u64,
    pub b: u64,
    pub scope: Scope,
    pub reason: String,
    pub authority: String,
}

impl NonAssociation {
    pub fn new(
        facility: &str,
        a: u64,
        b: u64,
        scope: &str,
        reason: &str,
        authority: &str,
    ) -> Result<Self, DomainError> {
        if a == b {
            return Err(DomainError::invalid(
                "b",
                "a person cannot be kept apart from themselves",
            ));
        }
        Ok(Self {
            facility: FacilityCode::parse("facility", facility)?,
            a,
            b,
            scope: Scope::parse(scope.trim()).ok_or_else(|| {
                DomainError::invalid("scope", format!("{scope:?} is not cell, unit or facility"))
            })?,
            reason: text("reason", reason, 1000)?,
            authority: text("authority", authority, 200)?,
        })
    }

    pub fn to_draft(&self, actor: &Actor) -> Draft {
        Draft {
            actor: actor.to_string(),
            facility: self.facility.to_string(),
            kind: kinds::NON_ASSOCIATION.into(),
            subject: format!("custody:{}", self.a),
            payload: json!({"a": self.a, "b": self.b, "scope": self.scope.as_str(), "reason": self.reason, "authority": self.authority}),
            corrects: None,
        }
    }
}

/// The end of a non-association, with its reason.
pub fn end_non_association(
    facility: &str,
    entry: u64,
    reason: &str,
    actor: &Actor,
) -> Result<Draft, DomainError> {
    Ok(Draft {
        actor: actor.to_string(),
        facility: FacilityCode::parse("facility", facility)?.to_string(),
        kind: kinds::NON_ASSOCIATION_ENDED.into(),
        subject: format!("non_association:{entry}"),
        payload: json!({"non_association": entry, "reason": text("reason", reason, 1000)?}),
        corrects: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_national_holds_no_nationality_of_the_facilitys_state() {
        assert!(foreign_national(["VE"], "SV"));
        assert!(foreign_national(["VE", "CO"], "SV"));
        assert!(!foreign_national(["SV"], "SV"));
        assert!(
            !foreign_national(["VE", "SV"], "SV"),
            "a dual national is a national"
        );
        assert!(!foreign_national([], "SV"), "no nationality recorded");
    }

    pub(crate) fn admission_json() -> serde_json::Value {
        json!({
            "facility": "CECOT",
            "person": {
                "given_names": "José Antonio",
                "surnames": ["Hernández", "López"],
                "birth_date": "1995-03-02",
                "sex": "male",
                "nationalities": ["SV"],
                "documents": [{"kind": "DUI", "number": "01234567-8"}]
            },
            "admitted_at": "2024-06-01T10:00:00.000Z",
            "legal_status": "remand",
            "orders": [{"kind": "pretrial_detention", "authority": "Juzgado Especializado de Instrucción A", "reference": "123-2024", "issued": "2024-05-30", "expires": "2024-11-30"}],
            "arrest": {"at": "2024-05-28T06:00:00.000Z", "place": "Soyapango", "authority": "PNC"},
            "injuries": ["hematoma en el brazo izquierdo"],
            "property": [{"item": "reloj"}],
            "children": [{"age": 4, "whereabouts": "San Salvador", "carer": "abuela"}]
        })
    }

    fn now() -> Timestamp {
        Timestamp::parse("2025-01-01T00:00:00.000Z").unwrap()
    }

    #[test]
    fn an_admission_needs_an_order_in_force_on_its_day() {
        // Admitted on 2024-06-01.
        for (expires, ok) in [
            (None, true),
            (Some("2024-06-02"), true),
            (Some("2024-06-01"), false),
            (Some("2024-05-31"), false),
        ] {
            let mut j = admission_json();
            j["orders"][0]["expires"] = json!(expires);
            let a: AdmissionInput = serde_json::from_value(j).unwrap();
            match a.validate(now()) {
                Ok(_) => assert!(ok, "{expires:?} accepted"),
                Err(e) => {
                    assert!(!ok, "{expires:?}: {e:?}");
                    assert_eq!((e.code, e.field.as_str()), ("no_legal_basis", "orders"));
                    assert!(e.message.contains("Rule 7(a)"), "{}", e.message);
                }
            }
        }
        // One expired order beside one in force is enough.
        let mut j = admission_json();
        let expired = json!({"kind": "pretrial_detention", "authority": "Juzgado", "reference": "1-2023", "issued": "2023-01-01", "expires": "2023-06-01"});
        j["orders"] = json!([expired, j["orders"][0].clone()]);
        let a: AdmissionInput = serde_json::from_value(j).unwrap();
        assert!(a.validate(now()).is_ok());
    }

    #[test]
    fn names_are_one_line() {
        for (path, value) in [
            ("given_names", json!("José\nAntonio")),
            ("surnames", json!(["Hernández\r\nX", "López"])),
            ("aliases", json!(["el\u{0007}Chele"])),
        ] {
            let mut j = admission_json();
            j["person"][path] = value;
            let a: AdmissionInput = serde_json::from_value(j).unwrap();
            let e = a.validate(now()).unwrap_err();
            assert!(
                e.field.starts_with(&format!("person.{path}")),
                "{path}: {e:?}"
            );
        }
        // Notes of several lines stay possible where the text is not a name.
        let mut j = admission_json();
        j["injuries"] = json!(["hematoma\nen el brazo"]);
        let a: AdmissionInput = serde_json::from_value(j).unwrap();
        assert!(a.validate(now()).is_ok());
    }

    #[test]
    fn a_complete_admission_becomes_one_entry() {
        let a: AdmissionInput = serde_json::from_value(admission_json()).unwrap();
        let a = a.validate(now()).unwrap();
        let d = a.to_draft(&Actor::parse("actor", "registro.ana").unwrap());
        assert_eq!(d.kind, kinds::ADMITTED);
        assert_eq!(d.payload["orders"][0]["reference"], "123-2024");
        assert_eq!(d.payload["person"]["surnames"][1], "López");
        assert_eq!(d.payload["injuries"][0], "hematoma en el brazo izquierdo");
        assert_eq!(d.payload["property"][0]["quantity"], 1);
        assert!(d.prepare().is_ok(), "the payload is canonical");
    }

    #[test]
    fn admission_is_refused_without_a_commitment_order() {
        let mut j = admission_json();
        j["orders"] = json!([]);
        let e = serde_json::from_value::<AdmissionInput>(j)
            .unwrap()
            .validate(now())
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("orders", "no_legal_basis"));
        assert!(e.message.contains("Rule 7"));
    }

    #[test]
    fn each_bad_admission_field_is_named() {
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "/admitted_at",
                json!("2025-06-01T00:00:00.000Z"),
                "admitted_at",
            ),
            (
                "/person/surnames",
                json!(["A", "B", "C"]),
                "person.surnames",
            ),
            (
                "/person/birth_date",
                json!("1995-02-30"),
                "person.birth_date",
            ),
            (
                "/person/nationalities",
                json!(["Salvadoran"]),
                "person.nationalities[0]",
            ),
            ("/orders/0/issued", json!("2024-06-02"), "orders[0].issued"),
            ("/orders/0/authority", json!(" "), "orders[0].authority"),
            (
                "/orders/0/expires",
                json!("2024-01-01"),
                "orders[0].expires",
            ),
            ("/arrest/at", json!("2024-06-02T00:00:00.000Z"), "arrest.at"),
            ("/children/0/age", json!(19), "children[0].age"),
            ("/facility", json!("cecot"), "facility"),
        ];
        for (pointer, value, field) in cases {
            let mut j = admission_json();
            *j.pointer_mut(pointer).unwrap() = value;
            let e = serde_json::from_value::<AdmissionInput>(j)
                .unwrap()
                .validate(now())
                .unwrap_err();
            assert_eq!(e.field, field, "{pointer}: {e}");
        }
    }

    #[test]
    fn every_release_reason_reads_back_as_itself() {
        for r in ReleaseReason::ALL {
            assert_eq!(ReleaseReason::parse(r.as_str()), Some(r), "{r:?}");
        }
        assert_eq!(ReleaseReason::parse("escaped"), None);
    }

    #[test]
    fn releases_need_a_legal_reason() {
        let actor = Actor::parse("actor", "registro.ana").unwrap();
        let e = Release::new(
            "CECOT",
            4,
            None,
            "Juzgado",
            "55-2024",
            "2024-07-01T00:00:00.000Z",
            now(),
            &actor,
        )
        .unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("reason", "no_legal_reason"));
        let e = Release::new(
            "CECOT",
            4,
            Some("pardon"),
            "Juzgado",
            "55",
            "2024-07-01T00:00:00.000Z",
            now(),
            &actor,
        )
        .unwrap_err();
        assert_eq!(e.field, "reason");
        assert!(Release::new(
            "CECOT",
            4,
            Some("bail"),
            "Juzgado",
            "55",
            "2024-07-01T00:00:00.000Z",
            now(),
            &actor
        )
        .is_ok());
    }
}
