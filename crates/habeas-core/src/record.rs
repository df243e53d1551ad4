//! The rest of the prisoner file (Rule 8) that this version records: charges, hearings
//! (including group hearings), detention reviews, contact and requests for it, complaints,
//! their replies and referrals. Each is JSON in, a checked register entry out.

use crate::dates::{optional_text, past_time, text, Date};
use crate::ids::{Actor, FacilityCode};
use crate::kinds;
use crate::DomainError;
use habeas_register::{Draft, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One record of the file, tagged by `"record"`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case", deny_unknown_fields)]
pub enum RecordInput {
    /// A charge: the offence and the legal provision.
    Charge {
        facility: String,
        booking: u64,
        offence: String,
        provision: String,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        date: String,
    },
    /// A court hearing of one person or many at once.
    Hearing {
        facility: String,
        bookings: Vec<u64>,
        court: String,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: Option<String>,
        mode: HearingMode,
        /// The counsel present, by name; none means no counsel was present.
        #[serde(default)]
        counsel: Option<String>,
        /// How many people were heard in the same hearing (at least those named here).
        people_heard: u32,
        #[serde(default)]
        outcome: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        next_date: Option<String>,
    },
    /// A review of pretrial detention.
    Review {
        facility: String,
        booking: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        authority: String,
        outcome: String,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        next_review: Option<String>,
    },
    /// A visit, call or letter that took place.
    Contact {
        facility: String,
        booking: u64,
        kind: ContactKind,
        party: Party,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        with: String,
        #[serde(default)]
        minutes: Option<u32>,
        /// What was said or brought; never for legal contact, which is confidential.
        #[serde(default)]
        notes: Option<String>,
    },
    /// A request for contact and its answer: a refusal names its reason and authority.
    ContactRequest {
        facility: String,
        booking: u64,
        kind: ContactKind,
        party: Party,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        granted: bool,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        authority: Option<String>,
    },
    /// A request or complaint (Rules 54–57).
    Complaint {
        facility: String,
        booking: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        /// Confidential complaints are routed to inspectors; only they read the text.
        #[serde(default)]
        confidential: bool,
        subject: String,
        text: String,
        /// An allegation of torture or ill-treatment, which must be referred to an independent authority.
        #[serde(default)]
        alleges_ill_treatment: bool,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        reply_due: String,
    },
    /// The reply to a complaint.
    ComplaintReply {
        facility: String,
        complaint: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        reply: String,
    },
    /// A person brought to the gate without an order in force and turned away there: never
    /// admitted, and never unrecorded (a person held instead is admitted with
    /// `held_pending_order`).
    GateRefusal {
        facility: String,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        /// The person's name as given, or a description when they gave none.
        name: String,
        /// Who brought them.
        brought_by: String,
        /// The papers shown, as described (none: nothing was shown).
        #[serde(default)]
        orders_shown: Vec<String>,
        /// Why they were not held, and to whom they were handed back.
        reason: String,
    },
    /// A question whether a person is held here, received from their family or anyone with a
    /// legitimate interest ("my son was taken on D; is he here?"): recorded whether or not the
    /// person is held, and answered within the policy's hours (Mandela Rules 68–69; CED arts.
    /// 17–18).
    WhereaboutsRequest {
        facility: String,
        /// When the question was received.
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        /// Who asks, and what they are to the person sought.
        requester: String,
        relationship: String,
        /// How to reach the one who asks (a telephone, an address).
        #[serde(default)]
        contact: Option<String>,
        /// The person sought, as the requester names them.
        sought_name: String,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        sought_birth_date: Option<String>,
        /// An identity document of the person sought, as given (`DUI 01234567-8`).
        #[serde(default)]
        sought_document: Option<String>,
        /// When and where the person was taken, as the requester tells it.
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        taken_on: Option<String>,
        #[serde(default)]
        taken_where: Option<String>,
    },
    /// The answer given to a whereabouts request: whether the person is held here (with their
    /// booking), and what the requester was told.
    WhereaboutsReply {
        facility: String,
        /// The request's entry.
        request: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        held: bool,
        /// The booking of the person, when held here.
        #[serde(default)]
        booking: Option<u64>,
        /// What the requester was told, and how (in person, by telephone, in writing).
        answer: String,
    },
    /// The referral of a complaint to an independent authority.
    ComplaintReferral {
        facility: String,
        complaint: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        authority: String,
    },
    /// An incident: what happened, where, who, injuries, force and restraints used.
    Incident {
        facility: String,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        place: String,
        description: String,
        #[serde(default)]
        bookings: Vec<u64>,
        #[serde(default)]
        staff: Vec<String>,
        #[serde(default)]
        injuries: Vec<String>,
        #[serde(default)]
        force_used: bool,
        #[serde(default)]
        restraints: Vec<String>,
        /// Who authorised the force, required when force was used.
        #[serde(default)]
        authorised_by: Option<String>,
    },
    /// The review of an incident (and of any force used).
    IncidentReview {
        facility: String,
        incident: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        reviewer: String,
        outcome: String,
    },
    /// An addendum to an incident: incidents are corrected by addendum only.
    IncidentAddendum {
        facility: String,
        incident: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        text: String,
    },
    /// A photograph of the person for identification (Rule 7): a JPEG or PNG image of at most
    /// [`PHOTO_MAX_BYTES`], base64-encoded. The image is kept in the entry itself, so that it
    /// is as tamper-evident as the rest of the file.
    Photo {
        facility: String,
        booking: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        taken_on: String,
        media_type: String,
        data: String,
    },
    /// A disciplinary sanction. Prohibited sanctions are refused (Rule 43).
    Sanction {
        facility: String,
        booking: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        offence: String,
        sanction: SanctionKind,
        #[serde(default)]
        days: Option<u32>,
        authority: String,
        /// When the sanction is reviewed (required for solitary confinement, Rules 45–46).
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        review: Option<String>,
        /// When the disciplinary hearing was held (the person heard before the sanction).
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        hearing: Option<String>,
    },
    /// A health record (restricted: only health staff and inspectors read its content).
    Health {
        facility: String,
        booking: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        kind: HealthKind,
        notes: String,
        #[serde(default)]
        referred_to: Option<String>,
    },
    /// Attendance at a programme (education, work, other activities).
    Programme {
        facility: String,
        booking: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        programme: String,
        kind: ProgrammeKind,
        minutes: u32,
    },
}

/// What a sanction is. Those Rule 43 prohibits are listed so that they can be refused by name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SanctionKind {
    Warning,
    LossOfPrivileges,
    ExtraWork,
    SolitaryConfinement,
    IndefiniteSolitaryConfinement,
    DarkCell,
    ConstantlyLitCell,
    CorporalPunishment,
    ReducedFoodOrWater,
    CollectivePunishment,
    FamilyContactBan,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthKind {
    AdmissionExamination,
    Injury,
    Visit,
    SolitaryHealthVisit,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeKind {
    Education,
    Work,
    Other,
}

impl SanctionKind {
    /// Why Rule 43 prohibits this sanction, if it does.
    pub fn prohibited(self) -> Option<&'static str> {
        match self {
            Self::IndefiniteSolitaryConfinement => {
                Some("Rule 43(1)(a): indefinite solitary confinement is prohibited")
            }
            Self::DarkCell => Some("Rule 43(1)(c): placement in a dark cell is prohibited"),
            Self::ConstantlyLitCell => {
                Some("Rule 43(1)(c): placement in a constantly lit cell is prohibited")
            }
            Self::CorporalPunishment => Some("Rule 43(1)(d): corporal punishment is prohibited"),
            Self::ReducedFoodOrWater => {
                Some("Rule 43(1)(e): reducing a prisoner's diet or drinking water is prohibited")
            }
            Self::CollectivePunishment => {
                Some("Rule 43(1)(e): collective punishment is prohibited")
            }
            Self::FamilyContactBan => {
                Some("Rule 43(3): sanctions may not include a ban on family contact")
            }
            Self::Warning
            | Self::LossOfPrivileges
            | Self::ExtraWork
            | Self::SolitaryConfinement => None,
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HearingMode {
    InPerson,
    Video,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Visit,
    Call,
    Letter,
}

/// Who the contact is with (Rules 58–62; inspectors, Rules 83–85; media and officials' tours
/// are logged like any visit).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Family,
    Legal,
    Consular,
    Inspector,
    Media,
    Official,
}

fn tag<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

use crate::ids::draft;

/// The largest photograph taken, in bytes (a portrait at identification quality fits well).
pub const PHOTO_MAX_BYTES: usize = 256 * 1024;

/// The image types a photograph may have, with the bytes every file of the type begins with.
const PHOTO_TYPES: [(&str, &[u8]); 2] = [
    ("image/jpeg", b"\xFF\xD8\xFF"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
];

/// Checks a photograph's image: its type is one we take, it decodes, it is not empty nor too
/// large, and its bytes are of the type it says. Returns the bytes.
pub fn check_photo(media_type: &str, data: &str) -> Result<Vec<u8>, DomainError> {
    use base64::Engine as _;
    let Some((_, magic)) = PHOTO_TYPES.iter().find(|(t, _)| *t == media_type) else {
        return Err(DomainError::invalid(
            "media_type",
            "a photograph is image/jpeg or image/png",
        ));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| DomainError::invalid("data", "is not base64"))?;
    if bytes.is_empty() {
        return Err(DomainError::invalid("data", "the image is empty"));
    }
    if bytes.len() > PHOTO_MAX_BYTES {
        return Err(DomainError::invalid(
            "data",
            format!(
                "the image is {} KiB; at most {} KiB",
                bytes.len().div_ceil(1024),
                PHOTO_MAX_BYTES / 1024
            ),
        ));
    }
    if !bytes.starts_with(magic) {
        return Err(DomainError::invalid(
            "data",
            format!("the image is not {media_type}"),
        ));
    }
    Ok(bytes)
}

/// Takes the images out of the photograph entries of a history (entries as JSON), leaving
/// what they are (type, size, date): an image is read on its own, and logged as such.
pub fn without_images(history: &mut [Value]) {
    for h in history.iter_mut() {
        if h["kind"] == kinds::PHOTO {
            if let Some(p) = h["payload"].as_object_mut() {
                p.remove("data");
            }
        }
    }
}

/// The image of a photograph entry's payload: its type and bytes.
pub fn photo_of(payload: &Value) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    let media_type = payload.get("media_type")?.as_str()?;
    let data = payload.get("data")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    Some((media_type.to_owned(), bytes))
}

fn date_not_future(field: &str, raw: &str, now: Timestamp) -> Result<Date, DomainError> {
    let d = Date::parse(field, raw)?;
    if d > Date::of(now) {
        return Err(DomainError::invalid(field, "is in the future"));
    }
    Ok(d)
}

impl RecordInput {
    /// Checks every field and makes the entry. `now` is the time of recording.
    pub fn validate(&self, now: Timestamp, actor: &Actor) -> Result<Draft, DomainError> {
        match self {
            Self::Charge {
                facility,
                booking,
                offence,
                provision,
                date,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let date = date_not_future("date", date, now)?;
                Ok(draft(
                    actor,
                    &f,
                    kinds::CHARGE,
                    format!("custody:{booking}"),
                    json!({
                        "booking": booking, "offence": text("offence", offence, 500)?, "provision": text("provision", provision, 200)?, "date": date.to_string()
                    }),
                ))
            }
            Self::Hearing {
                facility,
                bookings,
                court,
                at,
                mode,
                counsel,
                people_heard,
                outcome,
                next_date,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let Some(at) = at else {
                    return Err(DomainError::invalid("at", "a hearing has a date and time"));
                };
                let at = past_time("at", at, now)?;
                if bookings.is_empty() {
                    return Err(DomainError::invalid(
                        "bookings",
                        "name at least one person heard",
                    ));
                }
                if bookings.len() > 5000 {
                    return Err(DomainError::invalid(
                        "bookings",
                        "at most 5000 people in one entry",
                    ));
                }
                let mut sorted = bookings.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted.len() != bookings.len() {
                    return Err(DomainError::invalid("bookings", "a person is named twice"));
                }
                if (*people_heard as usize) < bookings.len() {
                    return Err(DomainError::invalid(
                        "people_heard",
                        format!(
                            "{} people are named but {people_heard} heard",
                            bookings.len()
                        ),
                    ));
                }
                let next = next_date
                    .as_deref()
                    .map(|d| Date::parse("next_date", d))
                    .transpose()?;
                if next.is_some_and(|n| n < Date::of(at)) {
                    return Err(DomainError::invalid(
                        "next_date",
                        "the next hearing is before this one",
                    ));
                }
                let mut p = json!({
                    "bookings": bookings, "court": text("court", court, 200)?, "at": at.to_string(), "mode": tag(mode), "people_heard": people_heard
                });
                if let Some(o) = p.as_object_mut() {
                    if let Some(c) = optional_text("counsel", counsel.as_deref(), 200)? {
                        o.insert("counsel".into(), json!(c));
                    }
                    if let Some(x) = optional_text("outcome", outcome.as_deref(), 2000)? {
                        o.insert("outcome".into(), json!(x));
                    }
                    if let Some(n) = next {
                        o.insert("next_date".into(), json!(n.to_string()));
                    }
                }
                let subject = match bookings.as_slice() {
                    [one] => format!("custody:{one}"),
                    _ => format!("hearing:{}", text("court", court, 200)?),
                };
                Ok(draft(actor, &f, kinds::HEARING, subject, p))
            }
            Self::Review {
                facility,
                booking,
                at,
                authority,
                outcome,
                next_review,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let next = next_review
                    .as_deref()
                    .map(|d| Date::parse("next_review", d))
                    .transpose()?;
                if next.is_some_and(|n| n < Date::of(at)) {
                    return Err(DomainError::invalid(
                        "next_review",
                        "the next review is before this one",
                    ));
                }
                let mut p = json!({"booking": booking, "at": at.to_string(), "authority": text("authority", authority, 200)?, "outcome": text("outcome", outcome, 500)?});
                if let (Some(n), Some(o)) = (next, p.as_object_mut()) {
                    o.insert("next_review".into(), json!(n.to_string()));
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::REVIEW,
                    format!("custody:{booking}"),
                    p,
                ))
            }
            Self::Contact {
                facility,
                booking,
                kind,
                party,
                at,
                with,
                minutes,
                notes,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                if *party == Party::Legal && notes.as_deref().is_some_and(|n| !n.trim().is_empty())
                {
                    return Err(DomainError::invalid("notes", "contact with a legal adviser is confidential (Rule 61): only the fact is recorded"));
                }
                if minutes.is_some_and(|m| m > 24 * 60) {
                    return Err(DomainError::invalid(
                        "minutes",
                        "a contact lasts at most a day",
                    ));
                }
                let mut p = json!({"booking": booking, "kind": tag(kind), "party": tag(party), "at": at.to_string(), "with": text("with", with, 200)?});
                if let Some(o) = p.as_object_mut() {
                    if let Some(m) = minutes {
                        o.insert("minutes".into(), json!(m));
                    }
                    if let Some(n) = optional_text("notes", notes.as_deref(), 2000)? {
                        o.insert("notes".into(), json!(n));
                    }
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::CONTACT,
                    format!("custody:{booking}"),
                    p,
                ))
            }
            Self::ContactRequest {
                facility,
                booking,
                kind,
                party,
                at,
                granted,
                reason,
                authority,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let mut p = json!({"booking": booking, "kind": tag(kind), "party": tag(party), "at": at.to_string(), "granted": granted});
                if !granted {
                    let reason = optional_text("reason", reason.as_deref(), 1000)?
                        .ok_or_else(|| DomainError::invalid("reason", "a refusal says why"))?;
                    let authority = optional_text("authority", authority.as_deref(), 200)?
                        .ok_or_else(|| {
                            DomainError::invalid(
                                "authority",
                                "a refusal names the authority that decided it",
                            )
                        })?;
                    if let Some(o) = p.as_object_mut() {
                        o.insert("reason".into(), json!(reason));
                        o.insert("authority".into(), json!(authority));
                    }
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::CONTACT_REQUEST,
                    format!("custody:{booking}"),
                    p,
                ))
            }
            Self::Complaint {
                facility,
                booking,
                at,
                confidential,
                subject,
                text: body,
                alleges_ill_treatment,
                reply_due,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let due = Date::parse("reply_due", reply_due)?;
                if due < Date::of(at) {
                    return Err(DomainError::invalid(
                        "reply_due",
                        "the reply is due before the complaint was made",
                    ));
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::COMPLAINT,
                    format!("custody:{booking}"),
                    json!({
                        "booking": booking, "at": at.to_string(), "confidential": confidential, "subject": text("subject", subject, 200)?,
                        "text": text("text", body, 8000)?, "alleges_ill_treatment": alleges_ill_treatment, "reply_due": due.to_string()
                    }),
                ))
            }
            Self::ComplaintReply {
                facility,
                complaint,
                at,
                reply,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                Ok(draft(
                    actor,
                    &f,
                    kinds::COMPLAINT_REPLY,
                    format!("complaint:{complaint}"),
                    json!({
                        "complaint": complaint, "at": at.to_string(), "reply": text("reply", reply, 8000)?
                    }),
                ))
            }
            Self::ComplaintReferral {
                facility,
                complaint,
                at,
                authority,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                Ok(draft(
                    actor,
                    &f,
                    kinds::COMPLAINT_REFERRAL,
                    format!("complaint:{complaint}"),
                    json!({
                        "complaint": complaint, "at": at.to_string(), "authority": text("authority", authority, 200)?
                    }),
                ))
            }
            Self::WhereaboutsRequest {
                facility,
                at,
                requester,
                relationship,
                contact,
                sought_name,
                sought_birth_date,
                sought_document,
                taken_on,
                taken_where,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let mut p = json!({
                    "at": at.to_string(),
                    "requester": crate::dates::line("requester", requester, 200)?,
                    "relationship": crate::dates::line("relationship", relationship, 100)?,
                    "sought_name": crate::dates::line("sought_name", sought_name, 200)?,
                });
                let o = p
                    .as_object_mut()
                    .ok_or_else(|| DomainError::invalid("at", "internal"))?;
                if let Some(c) = optional_text("contact", contact.as_deref(), 200)? {
                    o.insert("contact".into(), json!(c));
                }
                if let Some(b) = sought_birth_date {
                    o.insert(
                        "sought_birth_date".into(),
                        json!(date_not_future("sought_birth_date", b, now)?.to_string()),
                    );
                }
                if let Some(d) = optional_text("sought_document", sought_document.as_deref(), 100)?
                {
                    o.insert("sought_document".into(), json!(d));
                }
                if let Some(t) = taken_on {
                    let taken = date_not_future("taken_on", t, now)?;
                    if taken > Date::of(at) {
                        return Err(DomainError::invalid(
                            "taken_on",
                            "the person was taken after the question was asked",
                        ));
                    }
                    o.insert("taken_on".into(), json!(taken.to_string()));
                }
                if let Some(w) = optional_text("taken_where", taken_where.as_deref(), 200)? {
                    o.insert("taken_where".into(), json!(w));
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::WHEREABOUTS_REQUEST,
                    format!("facility:{f}"),
                    p,
                ))
            }
            Self::WhereaboutsReply {
                facility,
                request,
                at,
                held,
                booking,
                answer,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let mut p = json!({
                    "request": request, "at": at.to_string(), "held": held,
                    "answer": text("answer", answer, 2000)?,
                });
                match (held, booking) {
                    (true, Some(b)) => {
                        if let Some(o) = p.as_object_mut() {
                            o.insert("booking".into(), json!(b));
                        }
                    }
                    (true, None) => {
                        return Err(DomainError::invalid(
                            "booking",
                            "the person is held here: name their booking",
                        ))
                    }
                    (false, Some(_)) => {
                        return Err(DomainError::invalid(
                            "booking",
                            "a booking is named only when the person is held here",
                        ))
                    }
                    (false, None) => {}
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::WHEREABOUTS_REPLY,
                    format!("whereabouts:{request}"),
                    p,
                ))
            }
            Self::GateRefusal {
                facility,
                at,
                name,
                brought_by,
                orders_shown,
                reason,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let shown = orders_shown
                    .iter()
                    .enumerate()
                    .map(|(i, o)| text(&format!("orders_shown[{i}]"), o, 500))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(draft(
                    actor,
                    &f,
                    kinds::REFUSED_AT_GATE,
                    format!("facility:{f}"),
                    json!({
                        "at": at.to_string(),
                        "name": crate::dates::line("name", name, 200)?,
                        "brought_by": crate::dates::line("brought_by", brought_by, 200)?,
                        "orders_shown": shown,
                        "reason": text("reason", reason, 2000)?,
                    }),
                ))
            }
            Self::Incident {
                facility,
                at,
                place,
                description,
                bookings,
                staff,
                injuries,
                force_used,
                restraints,
                authorised_by,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let authorised = optional_text("authorised_by", authorised_by.as_deref(), 200)?;
                if *force_used && authorised.is_none() {
                    return Err(DomainError::invalid(
                        "authorised_by",
                        "force was used: name who authorised it",
                    ));
                }
                let each = |field: &str, v: &[String]| -> Result<Vec<String>, DomainError> {
                    v.iter()
                        .enumerate()
                        .map(|(i, x)| text(&format!("{field}[{i}]"), x, 500))
                        .collect()
                };
                let mut p = json!({
                    "at": at.to_string(), "place": text("place", place, 200)?, "description": text("description", description, 8000)?,
                    "bookings": bookings, "staff": each("staff", staff)?, "injuries": each("injuries", injuries)?,
                    "force_used": force_used, "restraints": each("restraints", restraints)?
                });
                if let (Some(a), Some(o)) = (authorised, p.as_object_mut()) {
                    o.insert("authorised_by".into(), json!(a));
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::INCIDENT,
                    format!("facility:{f}"),
                    p,
                ))
            }
            Self::IncidentReview {
                facility,
                incident,
                at,
                reviewer,
                outcome,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                Ok(draft(
                    actor,
                    &f,
                    kinds::INCIDENT_REVIEW,
                    format!("incident:{incident}"),
                    json!({
                        "incident": incident, "at": at.to_string(), "reviewer": text("reviewer", reviewer, 200)?, "outcome": text("outcome", outcome, 4000)?
                    }),
                ))
            }
            Self::Photo {
                facility,
                booking,
                taken_on,
                media_type,
                data,
            } => {
                use base64::Engine as _;
                let f = FacilityCode::parse("facility", facility)?;
                let taken_on = date_not_future("taken_on", taken_on, now)?;
                let bytes = check_photo(media_type, data)?;
                Ok(draft(
                    actor,
                    &f,
                    kinds::PHOTO,
                    format!("custody:{booking}"),
                    json!({
                        "booking": booking, "taken_on": taken_on.to_string(), "media_type": media_type,
                        "bytes": bytes.len(), "data": base64::engine::general_purpose::STANDARD.encode(&bytes)
                    }),
                ))
            }
            Self::IncidentAddendum {
                facility,
                incident,
                at,
                text: body,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                Ok(draft(
                    actor,
                    &f,
                    kinds::INCIDENT_ADDENDUM,
                    format!("incident:{incident}"),
                    json!({
                        "incident": incident, "at": at.to_string(), "text": text("text", body, 8000)?
                    }),
                ))
            }
            Self::Sanction {
                facility,
                booking,
                at,
                offence,
                sanction,
                days,
                authority,
                review,
                hearing,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                if let Some(why) = sanction.prohibited() {
                    return Err(DomainError {
                        code: "prohibited_sanction",
                        field: "sanction".into(),
                        message: why.into(),
                    });
                }
                let at = past_time("at", at, now)?;
                let review = review
                    .as_deref()
                    .map(|r| Date::parse("review", r))
                    .transpose()?;
                if *sanction == SanctionKind::SolitaryConfinement {
                    match days {
                        None => return Err(DomainError::invalid("days", "solitary confinement has a set length (Rule 43(1)(a))")),
                        Some(d) if *d > 15 => {
                            return Err(DomainError {
                                code: "prohibited_sanction",
                                field: "days".into(),
                                message: "Rules 43(1)(b) and 44: solitary confinement for more than 15 consecutive days is prolonged and prohibited".into(),
                            })
                        }
                        Some(_) => {}
                    }
                    if review.is_none() {
                        return Err(DomainError::invalid(
                            "review",
                            "solitary confinement is reviewed (Rules 45-46): give the review date",
                        ));
                    }
                }
                if review.is_some_and(|r| r < Date::of(at)) {
                    return Err(DomainError::invalid(
                        "review",
                        "the review is before the sanction",
                    ));
                }
                let hearing = hearing
                    .as_deref()
                    .map(|h| past_time("hearing", h, now))
                    .transpose()?;
                if hearing.is_some_and(|h| h > at) {
                    return Err(DomainError::invalid(
                        "hearing",
                        "the disciplinary hearing is after the sanction",
                    ));
                }
                let mut p = json!({"booking": booking, "at": at.to_string(), "offence": text("offence", offence, 1000)?, "sanction": tag(sanction), "authority": text("authority", authority, 200)?});
                if let Some(o) = p.as_object_mut() {
                    if let Some(d) = days {
                        o.insert("days".into(), json!(d));
                    }
                    if let Some(r) = review {
                        o.insert("review".into(), json!(r.to_string()));
                    }
                    if let Some(h) = hearing {
                        o.insert("hearing".into(), json!(h.to_string()));
                    }
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::SANCTION,
                    format!("custody:{booking}"),
                    p,
                ))
            }
            Self::Health {
                facility,
                booking,
                at,
                kind,
                notes,
                referred_to,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let mut p = json!({"booking": booking, "at": at.to_string(), "kind": tag(kind), "notes": text("notes", notes, 8000)?, "restricted": true});
                if let (Some(r), Some(o)) = (
                    optional_text("referred_to", referred_to.as_deref(), 200)?,
                    p.as_object_mut(),
                ) {
                    o.insert("referred_to".into(), json!(r));
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::HEALTH,
                    format!("custody:{booking}"),
                    p,
                ))
            }
            Self::Programme {
                facility,
                booking,
                at,
                programme,
                kind,
                minutes,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                if *minutes == 0 || *minutes > 24 * 60 {
                    return Err(DomainError::invalid(
                        "minutes",
                        "attendance lasts between 1 minute and a day",
                    ));
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::PROGRAMME,
                    format!("custody:{booking}"),
                    json!({
                        "booking": booking, "at": at.to_string(), "programme": text("programme", programme, 200)?, "kind": tag(kind), "minutes": minutes
                    }),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("2025-01-01T00:00:00.000Z").unwrap()
    }
    fn actor() -> Actor {
        Actor::parse("actor", "juridico.eva").unwrap()
    }
    fn check(v: Value) -> Result<Draft, DomainError> {
        serde_json::from_value::<RecordInput>(v)
            .unwrap()
            .validate(now(), &actor())
    }

    fn photo(media_type: &str, bytes: &[u8]) -> Result<Draft, DomainError> {
        use base64::Engine as _;
        check(
            json!({"record": "photo", "facility": "CECOT", "booking": 5, "taken_on": "2024-12-01",
            "media_type": media_type, "data": base64::engine::general_purpose::STANDARD.encode(bytes)}),
        )
    }

    #[test]
    fn a_photograph_is_checked_and_kept_in_the_entry() {
        let jpeg = [&b"\xFF\xD8\xFF\xE0"[..], &[7u8; 100]].concat();
        let d = photo("image/jpeg", &jpeg).unwrap();
        assert_eq!(d.kind, kinds::PHOTO);
        assert_eq!(d.subject, "custody:5");
        assert_eq!(d.payload["bytes"], 104);
        assert_eq!(
            photo_of(&d.payload),
            Some(("image/jpeg".to_owned(), jpeg.clone()))
        );
        let png = [&b"\x89PNG\r\n\x1a\n"[..], &[1u8; 10]].concat();
        assert!(photo("image/png", &png).is_ok());
        // Each refusal names its field.
        let field = |r: Result<Draft, DomainError>| r.unwrap_err().field;
        assert_eq!(field(photo("image/gif", b"GIF89a")), "media_type");
        assert_eq!(field(photo("image/png", &jpeg)), "data");
        assert_eq!(field(photo("image/jpeg", b"")), "data");
        let big = [&b"\xFF\xD8\xFF"[..], &vec![0u8; PHOTO_MAX_BYTES]].concat();
        assert_eq!(field(photo("image/jpeg", &big)), "data");
        let at_most = [&b"\xFF\xD8\xFF"[..], &vec![0u8; PHOTO_MAX_BYTES - 3]].concat();
        assert!(photo("image/jpeg", &at_most).is_ok());
        let bad = check(
            json!({"record": "photo", "facility": "CECOT", "booking": 5, "taken_on": "2024-12-01",
            "media_type": "image/jpeg", "data": "no es base64!"}),
        );
        assert_eq!(field(bad), "data");
        let future = check(
            json!({"record": "photo", "facility": "CECOT", "booking": 5, "taken_on": "2030-01-01",
            "media_type": "image/jpeg", "data": "/9j/4A=="}),
        );
        assert_eq!(field(future), "taken_on");
    }

    #[test]
    fn a_group_hearing_without_counsel_is_one_entry() {
        let d = check(json!({"record": "hearing", "facility": "CECOT", "bookings": [5, 6, 7], "court": "Tribunal virtual",
            "at": "2024-12-01T09:00:00.000Z", "mode": "video", "people_heard": 300})).unwrap();
        assert_eq!(d.payload["people_heard"], 300);
        assert!(d.payload.get("counsel").is_none());
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                json!({"record": "hearing", "facility": "CECOT", "bookings": [5], "court": "T", "mode": "video", "people_heard": 1}),
                "at",
            ),
            (
                json!({"record": "hearing", "facility": "CECOT", "bookings": [5, 6], "court": "T", "at": "2024-12-01T09:00:00.000Z", "mode": "video", "people_heard": 1}),
                "people_heard",
            ),
            (
                json!({"record": "contact", "facility": "CECOT", "booking": 5, "kind": "visit", "party": "legal", "at": "2024-12-01T09:00:00.000Z", "with": "Lcda. Ruiz", "notes": "estrategia"}),
                "notes",
            ),
            (
                json!({"record": "contact_request", "facility": "CECOT", "booking": 5, "kind": "visit", "party": "family", "at": "2024-12-01T09:00:00.000Z", "granted": false}),
                "reason",
            ),
            (
                json!({"record": "complaint", "facility": "CECOT", "booking": 5, "at": "2024-12-01T09:00:00.000Z", "subject": "s", "text": "t", "reply_due": "2024-11-01"}),
                "reply_due",
            ),
            (
                json!({"record": "charge", "facility": "CECOT", "booking": 5, "offence": "x", "provision": "y", "date": "2026-01-01"}),
                "date",
            ),
        ];
        let more = [
            (
                json!({"record": "sanction", "facility": "CECOT", "booking": 5, "at": "2024-12-01T09:00:00.000Z", "offence": "x", "sanction": "constantly_lit_cell", "authority": "D"}),
                "sanction",
            ),
            (
                json!({"record": "sanction", "facility": "CECOT", "booking": 5, "at": "2024-12-01T09:00:00.000Z", "offence": "x", "sanction": "solitary_confinement", "days": 30, "authority": "D", "review": "2024-12-05"}),
                "days",
            ),
            (
                json!({"record": "sanction", "facility": "CECOT", "booking": 5, "at": "2024-12-01T09:00:00.000Z", "offence": "x", "sanction": "solitary_confinement", "days": 5, "authority": "D"}),
                "review",
            ),
            (
                json!({"record": "incident", "facility": "CECOT", "at": "2024-12-01T09:00:00.000Z", "place": "M1", "description": "riña", "force_used": true}),
                "authorised_by",
            ),
            (
                json!({"record": "programme", "facility": "CECOT", "booking": 5, "at": "2024-12-01T09:00:00.000Z", "programme": "taller", "kind": "work", "minutes": 0}),
                "minutes",
            ),
        ];
        for (v, field) in cases.into_iter().chain(more) {
            assert_eq!(check(v.clone()).unwrap_err().field, field, "{v}");
        }
    }
}
