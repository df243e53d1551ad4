//! The rest of the prisoner file (Rule 8) that this version records: charges, hearings
//! (including group hearings), detention reviews, contact and requests for it, a person's
//! decline to have anyone told of their imprisonment, complaints,
//! their replies and referrals. Each is JSON in, a checked register entry out.

use crate::dates::{optional_text, past_time, text, Date};
use crate::error::Said;
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
    /// The person's own decision that nobody (family or a designated contact person) be told
    /// of their imprisonment or transfer (Mandela Rule 68 is their right to inform, not a duty).
    /// It stands in place of the contact for the family notification, and inspectors are told
    /// of each so that they can check it with the person.
    NotificationDeclined {
        facility: String,
        booking: u64,
        /// When the person said so: not in the future, not before the custody began.
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        /// The person's words, or a summary of them (at most 1000 characters).
        statement: String,
        /// A second person present when the person said so: their name and post.
        #[serde(default)]
        witnessed_by: Option<String>,
    },
    /// A serious injury, a serious illness, or a transfer to a health institution of a person
    /// held (Mandela Rules 69 and 71(1)). It opens a case: the person they designated to receive
    /// their health information (or their family) is told, unless they ask that nobody be; a
    /// serious injury is reported to an authority independent of the prison administration.
    /// What happened, not the medical detail (a health record holds that).
    SeriousHarm {
        facility: String,
        booking: u64,
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        kind: HarmKind,
        /// Where and how it happened, or where the person was taken (at most 2000 characters).
        circumstances: String,
    },
    /// A step of a serious-harm case done: the designated person told, the person's own request
    /// that nobody be (in their words), the report to an independent authority.
    HarmStep {
        facility: String,
        /// The `serious_harm` entry.
        case: u64,
        step: HarmStepKind,
        /// When it was done, or when the person said so: not in the future, not before the harm.
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        /// Who was told, by what means and the reference of the report; or the person's words.
        detail: String,
        /// A second person present when the person asked that nobody be told.
        #[serde(default)]
        witnessed_by: Option<String>,
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
    /// A visit to the facility from outside, or the request for one, and what became of it:
    /// admitted, refused or restricted (a refusal or restriction says why and who decided it).
    /// Independent monitors have access to every place and private interviews (Mandela Rules
    /// 83–85; OPCAT arts. 14 and 20 where the state is party); people held are not shown to the
    /// public (Rule 1; by analogy Rule 73(1)).
    OversightVisit {
        facility: String,
        /// When the visit took place, or, for a refusal, when it was refused.
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        /// When the visit was asked for (none: unannounced, or invited by the administration).
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        requested_at: Option<String>,
        visitor_kind: VisitorKind,
        /// Who visited or asked: the person and their organisation or outlet.
        visitor: String,
        /// Whether the visitor is an independent monitor. Follows from the kind (inspector,
        /// npm, judge and ngo are; the others are not); stated only for the kind `other`.
        #[serde(default)]
        independent: Option<bool>,
        outcome: VisitOutcome,
        /// Why the visit was refused or restricted (required then, and only then).
        #[serde(default)]
        reason: Option<String>,
        /// Who decided a refusal or restriction (required then), or who authorised the visit.
        #[serde(default)]
        authority: Option<String>,
        /// Whether the visitors could speak with people held in private.
        #[serde(default)]
        private_interviews: bool,
        /// The areas visited, and those withheld (which make the visit restricted).
        #[serde(default)]
        areas_visited: Vec<String>,
        #[serde(default)]
        areas_withheld: Vec<String>,
        /// Whether people held were shown, photographed or filmed for the visitors.
        #[serde(default)]
        people_exposed: Exposure,
        /// How many people held were shown (required when any was).
        #[serde(default)]
        people_shown: Option<u32>,
        #[serde(default)]
        notes: Option<String>,
        /// The entry of the pending request this visit, refusal or restriction answers.
        #[serde(default)]
        answers: Option<u64>,
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
    /// A sentenced person's individual plan (Mandela Rules 89 and 93–94): the objectives of
    /// the sentence and the programmes (work, education, treatment) it offers, drawn up on the
    /// knowledge of the person, and when it is next reviewed. A review is a new plan.
    SentencePlan {
        facility: String,
        booking: u64,
        /// When it was drawn up (or reviewed).
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::time_schema))]
        at: String,
        /// Who drew it up: the person or board and their office.
        drawn_up_by: String,
        /// What the sentence is to achieve for the person (at least one).
        objectives: Vec<String>,
        /// The programmes it offers.
        #[serde(default)]
        programmes: Vec<String>,
        /// The date of its next review, if set.
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        next_review: Option<String>,
    },
    /// The day's food and drinking water in a unit (Mandela Rule 22), as the staff who served
    /// it record it: how many meals were served, and whether drinking water was available
    /// whenever needed (if not, for how many hours, and how many litres a person had).
    FoodService {
        facility: String,
        /// The unit (pavilion, module) served.
        unit: String,
        /// The day served.
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::dates::date_schema))]
        day: String,
        /// Meals served to each person that day (0 to 10).
        meals: u32,
        /// Whether drinking water was available to everyone whenever they needed it (Rule 22(2)).
        water_available: bool,
        /// When it was not: the hours it was available (0 to 23).
        #[serde(default)]
        water_hours: Option<u32>,
        /// When it was not: the litres of drinking water each person had (0 to 100).
        #[serde(default)]
        water_litres: Option<u32>,
        /// Who recorded it: the person and their post.
        recorded_by: String,
        #[serde(default)]
        notes: Option<String>,
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
pub enum HarmKind {
    Injury,
    Illness,
    HospitalTransfer,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HarmStepKind {
    /// The person designated to receive the prisoner's health information, or the family, told
    /// (Rule 69).
    DesignatedInformed,
    /// The prisoner's explicit request that nobody be told (Rule 69), in their words.
    NoticeDeclined,
    /// Reported to an authority independent of the prison administration (Rule 71(1)).
    IndependentAuthorityInformed,
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

/// Who visits a facility from outside.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitorKind {
    /// An inspectorate independent of the prison administration (Rule 83(1)(b)), or an
    /// international body (the SPT, the CPT, the ICRC).
    Inspector,
    /// The national preventive mechanism (OPCAT art. 17), or where there is none the national
    /// human-rights institution that visits places of detention.
    Npm,
    /// A judge visiting the place of detention.
    Judge,
    /// A non-governmental human-rights organisation.
    Ngo,
    Journalist,
    Influencer,
    /// A tour of the press organised by the authorities.
    MediaTour,
    /// Officials, politicians and guests of the government.
    Official,
    Other,
}

impl VisitorKind {
    /// Whether a visitor of this kind is an independent monitor (Rules 83–85).
    pub fn monitors(self) -> bool {
        matches!(self, Self::Inspector | Self::Npm | Self::Judge | Self::Ngo)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inspector => "inspector",
            Self::Npm => "npm",
            Self::Judge => "judge",
            Self::Ngo => "ngo",
            Self::Journalist => "journalist",
            Self::Influencer => "influencer",
            Self::MediaTour => "media_tour",
            Self::Official => "official",
            Self::Other => "other",
        }
    }

    /// The kind of its name (`media_tour`).
    pub fn parse(raw: &str) -> Option<Self> {
        serde_json::from_value(Value::String(raw.to_owned())).ok()
    }
}

/// What became of a visit.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitOutcome {
    Admitted,
    Refused,
    /// Admitted with limits: areas withheld, no private interviews, time cut short.
    Restricted,
    /// Asked for and not yet answered: the request as it was received. A later record
    /// (admitted, refused or restricted) names it in `answers`.
    Pending,
}

impl VisitOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admitted => "admitted",
            Self::Refused => "refused",
            Self::Restricted => "restricted",
            Self::Pending => "pending",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        serde_json::from_value(Value::String(raw.to_owned())).ok()
    }
}

/// Whether people held were shown, photographed or filmed for the visitors.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Nobody was shown.
    #[default]
    #[serde(rename = "none")]
    Nobody,
    /// Shown with their faces hidden or blurred: not identifiable.
    FacesHidden,
    /// Shown so that they can be recognised.
    Identifiable,
}

impl Exposure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nobody => "none",
            Self::FacesHidden => "faces_hidden",
            Self::Identifiable => "identifiable",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        serde_json::from_value(Value::String(raw.to_owned())).ok()
    }
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
    /// A person the one held designated as their contact instead of, or besides, their family
    /// (Rule 68: "or any other person designated as a contact person"): a friend, a partner,
    /// a neighbour. Counts as family for Rules 58 and 68.
    Designated,
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
        return Err(DomainError::invalid("data", "the image is empty").said("image-empty", &[]));
    }
    if bytes.len() > PHOTO_MAX_BYTES {
        return Err(DomainError::invalid(
            "data",
            format!(
                "the image is {} KiB; at most {} KiB",
                bytes.len().div_ceil(1024),
                PHOTO_MAX_BYTES / 1024
            ),
        )
        .said(
            "image-too-large",
            &[
                ("size", &bytes.len().div_ceil(1024)),
                ("max", &(PHOTO_MAX_BYTES / 1024)),
            ],
        ));
    }
    if !bytes.starts_with(magic) {
        return Err(
            DomainError::invalid("data", format!("the image is not {media_type}"))
                .said("image-not-of-type", &[]),
        );
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
        return Err(DomainError::invalid(field, "is in the future").said("future-date", &[]));
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
            Self::NotificationDeclined {
                facility,
                booking,
                at,
                statement,
                witnessed_by,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let mut p = json!({"booking": booking, "at": at.to_string(), "statement": text("statement", statement, 1000)?});
                if let (Some(w), Some(o)) = (
                    optional_text("witnessed_by", witnessed_by.as_deref(), 200)?,
                    p.as_object_mut(),
                ) {
                    o.insert("witnessed_by".into(), json!(w));
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::NOTIFICATION_DECLINED,
                    format!("custody:{booking}"),
                    p,
                ))
            }
            Self::SeriousHarm {
                facility,
                booking,
                at,
                kind,
                circumstances,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                Ok(draft(
                    actor,
                    &f,
                    kinds::HARM,
                    format!("custody:{booking}"),
                    json!({"booking": booking, "at": at.to_string(), "kind": tag(kind), "circumstances": text("circumstances", circumstances, 2000)?}),
                ))
            }
            Self::HarmStep {
                facility,
                case,
                step,
                at,
                detail,
                witnessed_by,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let mut p = json!({"case": case, "step": tag(step), "at": at.to_string(), "detail": text("detail", detail, 1000)?});
                if let Some(w) = optional_text("witnessed_by", witnessed_by.as_deref(), 200)? {
                    if *step != HarmStepKind::NoticeDeclined {
                        return Err(DomainError::invalid(
                            "witnessed_by",
                            "a witness is recorded for the person's request that nobody be told",
                        ));
                    }
                    if let Some(o) = p.as_object_mut() {
                        o.insert("witnessed_by".into(), json!(w));
                    }
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::HARM_STEP,
                    format!("harm_case:{case}"),
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
            Self::OversightVisit {
                facility,
                at,
                requested_at,
                visitor_kind,
                visitor,
                independent,
                outcome,
                reason,
                authority,
                private_interviews,
                areas_visited,
                areas_withheld,
                people_exposed,
                people_shown,
                notes,
                answers,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let by_kind = visitor_kind.monitors();
                let independent = match *independent {
                    None => by_kind,
                    Some(i) if i == by_kind || *visitor_kind == VisitorKind::Other => i,
                    Some(_) => {
                        return Err(DomainError::invalid(
                            "independent",
                            format!(
                                "a visitor of kind {} is {} independent monitor by its kind; state it only for the kind other",
                                visitor_kind.as_str(),
                                if by_kind { "an" } else { "not an" }
                            ),
                        ))
                    }
                };
                let visitor = crate::dates::line("visitor", visitor, 200)?;
                let reason = optional_text("reason", reason.as_deref(), 1000)?;
                let authority = optional_text("authority", authority.as_deref(), 200)?;
                let areas = |field: &str, list: &[String]| {
                    if list.len() > 100 {
                        return Err(DomainError::invalid(field, "at most 100 areas"));
                    }
                    list.iter()
                        .enumerate()
                        .map(|(i, a)| crate::dates::line(&format!("{field}[{i}]"), a, 200))
                        .collect::<Result<Vec<_>, _>>()
                };
                let visited = areas("areas_visited", areas_visited)?;
                let withheld = areas("areas_withheld", areas_withheld)?;
                let mut p = json!({
                    "at": at.to_string(), "visitor_kind": visitor_kind.as_str(), "visitor": visitor,
                    "independent": independent, "outcome": outcome.as_str(),
                    "private_interviews": private_interviews,
                    "people_exposed": people_exposed.as_str(),
                });
                let o = p
                    .as_object_mut()
                    .ok_or_else(|| DomainError::invalid("at", "internal"))?;
                if let Some(r) = requested_at {
                    let asked = past_time("requested_at", r, now)?;
                    if asked > at {
                        return Err(DomainError::invalid(
                            "requested_at",
                            format!("{asked} is after the visit or its refusal ({at})"),
                        ));
                    }
                    o.insert("requested_at".into(), json!(asked.to_string()));
                }
                match (outcome, answers) {
                    (VisitOutcome::Pending, Some(_)) => {
                        return Err(DomainError::invalid(
                            "answers",
                            "a pending request answers nothing: the answer (admitted, refused or restricted) names the request",
                        ))
                    }
                    (_, Some(request)) => {
                        o.insert("answers".into(), json!(request));
                    }
                    (_, None) => {}
                }
                match outcome {
                    VisitOutcome::Pending => {
                        let pending = "a pending request has not been answered yet: record the reason, areas and interviews with its answer";
                        if reason.is_some() {
                            return Err(DomainError::invalid("reason", pending));
                        }
                        if !withheld.is_empty() {
                            return Err(DomainError::invalid("areas_withheld", pending));
                        }
                    }
                    VisitOutcome::Admitted => {
                        if reason.is_some() {
                            return Err(DomainError::invalid(
                                "reason",
                                "an admitted visit has no reason for a refusal: a visit admitted with limits is restricted",
                            ));
                        }
                        if !withheld.is_empty() {
                            return Err(DomainError::invalid(
                                "areas_withheld",
                                "areas withheld make the visit restricted: record the outcome restricted, with the reason and the authority",
                            ));
                        }
                        if independent && !private_interviews {
                            return Err(DomainError::invalid(
                                "private_interviews",
                                "an independent monitor admitted without private interviews was restricted (Mandela Rule 84(1)(c)): record the outcome restricted, with the reason and the authority",
                            ));
                        }
                    }
                    VisitOutcome::Refused | VisitOutcome::Restricted => {
                        if reason.is_none() {
                            return Err(DomainError::invalid(
                                "reason",
                                "a refusal or a restriction says why",
                            ));
                        }
                        if authority.is_none() {
                            return Err(DomainError::invalid(
                                "authority",
                                "a refusal or a restriction names the authority that decided it",
                            ));
                        }
                    }
                }
                if matches!(outcome, VisitOutcome::Refused | VisitOutcome::Pending) {
                    let refused = if *outcome == VisitOutcome::Pending {
                        "a pending request has visited nothing yet"
                    } else {
                        "a refused visit visited nothing"
                    };
                    if !visited.is_empty() {
                        return Err(DomainError::invalid("areas_visited", refused));
                    }
                    if *private_interviews {
                        return Err(DomainError::invalid("private_interviews", refused));
                    }
                    if *people_exposed != Exposure::Nobody {
                        return Err(DomainError::invalid("people_exposed", refused));
                    }
                }
                match (people_exposed, people_shown.unwrap_or(0)) {
                    (Exposure::Nobody, 0) => {}
                    (Exposure::Nobody, _) => {
                        return Err(DomainError::invalid(
                            "people_shown",
                            "people were shown only when people_exposed says how",
                        ))
                    }
                    (_, 0) => {
                        return Err(DomainError::invalid(
                            "people_shown",
                            "say how many people held were shown",
                        ))
                    }
                    (_, n) => {
                        o.insert("people_shown".into(), json!(n));
                    }
                }
                for (k, v) in [("reason", reason), ("authority", authority)] {
                    if let Some(v) = v {
                        o.insert(k.into(), json!(v));
                    }
                }
                if !visited.is_empty() {
                    o.insert("areas_visited".into(), json!(visited));
                }
                if !withheld.is_empty() {
                    o.insert("areas_withheld".into(), json!(withheld));
                }
                if let Some(n) = optional_text("notes", notes.as_deref(), 2000)? {
                    o.insert("notes".into(), json!(n));
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::OVERSIGHT_VISIT,
                    format!("facility:{f}"),
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
                        words: None,
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
                                words: None,
                            }
                            .said("solitary-prolonged", &[]))
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
            Self::SentencePlan {
                facility,
                booking,
                at,
                drawn_up_by,
                objectives,
                programmes,
                next_review,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let at = past_time("at", at, now)?;
                let list = |field: &str, list: &[String]| {
                    if list.len() > 50 {
                        return Err(DomainError::invalid(field, "at most 50"));
                    }
                    list.iter()
                        .enumerate()
                        .map(|(i, a)| text(&format!("{field}[{i}]"), a, 500))
                        .collect::<Result<Vec<_>, _>>()
                };
                let objectives = list("objectives", objectives)?;
                if objectives.is_empty() {
                    return Err(DomainError::invalid(
                        "objectives",
                        "a sentence plan states at least one objective (Rule 94)",
                    ));
                }
                let programmes = list("programmes", programmes)?;
                let next = next_review
                    .as_deref()
                    .map(|d| Date::parse("next_review", d))
                    .transpose()?;
                if next.is_some_and(|n| n < Date::of(at)) {
                    return Err(DomainError::invalid(
                        "next_review",
                        "the next review is before the plan was drawn up",
                    ));
                }
                let mut p = json!({
                    "booking": booking, "at": at.to_string(),
                    "drawn_up_by": text("drawn_up_by", drawn_up_by, 200)?,
                    "objectives": objectives,
                });
                if let Some(o) = p.as_object_mut() {
                    if !programmes.is_empty() {
                        o.insert("programmes".into(), json!(programmes));
                    }
                    if let Some(n) = next {
                        o.insert("next_review".into(), json!(n.to_string()));
                    }
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::SENTENCE_PLAN,
                    format!("custody:{booking}"),
                    p,
                ))
            }
            Self::FoodService {
                facility,
                unit,
                day,
                meals,
                water_available,
                water_hours,
                water_litres,
                recorded_by,
                notes,
            } => {
                let f = FacilityCode::parse("facility", facility)?;
                let unit = crate::estate::place_code("unit", unit)?;
                let day = date_not_future("day", day, now)?;
                if *meals > 10 {
                    return Err(DomainError::invalid(
                        "meals",
                        format!(
                            "{meals} meals in a day: give the meals served to each person, 0 to 10"
                        ),
                    ));
                }
                if *water_available {
                    for (field, given) in [
                        ("water_hours", water_hours.is_some()),
                        ("water_litres", water_litres.is_some()),
                    ] {
                        if given {
                            return Err(DomainError::invalid(
                                field,
                                "only when drinking water was not available whenever needed (water_available = false)",
                            ));
                        }
                    }
                }
                if water_hours.is_some_and(|h| h > 23) {
                    return Err(DomainError::invalid(
                        "water_hours",
                        "0 to 23: water available all day is water_available = true",
                    ));
                }
                if water_litres.is_some_and(|l| l > 100) {
                    return Err(DomainError::invalid(
                        "water_litres",
                        "the litres a person had, 0 to 100",
                    ));
                }
                let mut p = json!({
                    "unit": unit, "day": day.to_string(), "meals": meals,
                    "water_available": water_available,
                    "recorded_by": text("recorded_by", recorded_by, 200)?,
                });
                if let Some(o) = p.as_object_mut() {
                    if let Some(h) = water_hours {
                        o.insert("water_hours".into(), json!(h));
                    }
                    if let Some(l) = water_litres {
                        o.insert("water_litres".into(), json!(l));
                    }
                    if let Some(n) = optional_text("notes", notes.as_deref(), 2000)? {
                        o.insert("notes".into(), json!(n));
                    }
                }
                Ok(draft(
                    actor,
                    &f,
                    kinds::FOOD_SERVICE,
                    format!("unit:{unit}"),
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

    /// `v` with the members of `extra` set over its own.
    fn merged(mut v: Value, extra: Value) -> Value {
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, x) in e {
                o.insert(k.clone(), x.clone());
            }
        }
        v
    }

    #[test]
    fn a_food_service_names_its_unit_day_meals_and_water_and_refuses_what_cannot_be() {
        let served = |extra: Value| {
            check(merged(
                json!({"record": "food_service", "facility": "CECOT", "unit": "M1",
                    "day": "2024-12-31", "meals": 3, "water_available": true,
                    "recorded_by": "Sargento de cocina"}),
                extra,
            ))
        };
        let d = served(json!({})).unwrap();
        assert_eq!(d.kind, kinds::FOOD_SERVICE);
        assert_eq!(d.subject, "unit:M1");
        assert_eq!(
            d.payload,
            json!({"unit": "M1", "day": "2024-12-31", "meals": 3, "water_available": true,
                "recorded_by": "Sargento de cocina"})
        );
        let d = served(
            json!({"meals": 2, "water_available": false, "water_hours": 4,
            "water_litres": 2, "notes": "corte de agua"}),
        )
        .unwrap();
        assert_eq!(
            (
                d.payload["water_hours"].as_u64(),
                d.payload["water_litres"].as_u64()
            ),
            (Some(4), Some(2))
        );
        let field = |r: Result<Draft, DomainError>| r.unwrap_err().field;
        // Meals: 0 and 10 are counts of meals; 11 is not.
        assert!(served(json!({"meals": 0})).is_ok());
        assert!(served(json!({"meals": 10})).is_ok());
        assert_eq!(field(served(json!({"meals": 11}))), "meals");
        // The hours and litres of water are for a day it was not available whenever needed.
        assert_eq!(field(served(json!({"water_hours": 4}))), "water_hours");
        assert_eq!(field(served(json!({"water_litres": 2}))), "water_litres");
        assert!(served(json!({"water_available": false, "water_hours": 23})).is_ok());
        assert_eq!(
            field(served(json!({"water_available": false, "water_hours": 24}))),
            "water_hours"
        );
        assert_eq!(
            field(served(
                json!({"water_available": false, "water_litres": 101})
            )),
            "water_litres"
        );
        // The day is not after the recording; the unit is a code; someone recorded it.
        assert!(served(json!({"day": "2025-01-01"})).is_ok());
        assert_eq!(field(served(json!({"day": "2025-01-02"}))), "day");
        assert_eq!(field(served(json!({"day": "2024-02-30"}))), "day");
        assert_eq!(field(served(json!({"unit": "módulo 1"}))), "unit");
        assert_eq!(field(served(json!({"recorded_by": " "}))), "recorded_by");
        assert!(
            serde_json::from_value::<RecordInput>(json!({"record": "food_service",
            "facility": "CECOT", "unit": "M1", "day": "2024-12-31", "meals": 3,
            "water_available": true, "recorded_by": "x", "water": "sí"}))
            .is_err()
        );
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

    #[test]
    fn a_decline_to_have_anyone_told_is_in_the_persons_words_with_its_witness() {
        let declined = |extra: Value| {
            check(merged(
                json!({"record": "notification_declined", "facility": "CECOT", "booking": 5,
                    "at": "2024-12-01T09:00:00Z",
                    "statement": "No quiero que mi familia sepa que estoy aquí."}),
                extra,
            ))
        };
        let d = declined(json!({})).unwrap();
        assert_eq!(d.kind, kinds::NOTIFICATION_DECLINED);
        assert_eq!(d.subject, "custody:5");
        assert_eq!(
            d.payload,
            json!({"booking": 5, "at": "2024-12-01T09:00:00.000Z",
                "statement": "No quiero que mi familia sepa que estoy aquí."})
        );
        let d = declined(json!({"witnessed_by": " Lcda. Ruiz, trabajo social "})).unwrap();
        assert_eq!(d.payload["witnessed_by"], "Lcda. Ruiz, trabajo social");
        // A blank witness is no witness.
        let d = declined(json!({"witnessed_by": " "})).unwrap();
        assert!(d.payload.get("witnessed_by").is_none());
        let field = |r: Result<Draft, DomainError>| r.unwrap_err().field;
        // The statement is required, and at most 1000 characters.
        assert_eq!(field(declined(json!({"statement": " "}))), "statement");
        assert!(declined(json!({"statement": "n".repeat(1000)})).is_ok());
        assert_eq!(
            field(declined(json!({"statement": "n".repeat(1001)}))),
            "statement"
        );
        assert_eq!(
            field(declined(json!({"witnessed_by": "w".repeat(201)}))),
            "witnessed_by"
        );
        // Not in the future (now is 2025-01-01T00:00Z).
        assert!(declined(json!({"at": "2025-01-01T00:00:00Z"})).is_ok());
        assert_eq!(
            field(declined(json!({"at": "2025-01-01T00:00:00.001Z"}))),
            "at"
        );
        assert_eq!(field(declined(json!({"at": "ayer"}))), "at");
        assert!(serde_json::from_value::<RecordInput>(
            json!({"record": "notification_declined", "facility": "CECOT", "booking": 5,
                "at": "2024-12-01T09:00:00Z"})
        )
        .is_err());
    }

    /// A visit from outside: what cannot be true, or is not complete, is refused naming the
    /// field; independence follows from the kind.
    #[test]
    fn a_sentence_plan_names_an_objective_and_a_review_not_before_it() {
        let plan = |extra: Value| {
            let v = json!({"record": "sentence_plan", "facility": "CECOT", "booking": 300,
                "at": "2024-05-01T10:00:00Z", "drawn_up_by": "Equipo técnico criminológico",
                "objectives": ["terminar la educación básica"], "programmes": ["educación básica"],
                "next_review": "2024-11-01"});
            check(merged(v, extra))
        };
        let d = plan(json!({})).unwrap();
        assert_eq!(d.kind, kinds::SENTENCE_PLAN);
        assert_eq!(d.payload["next_review"], "2024-11-01");
        let field = |r: Result<Draft, DomainError>| r.unwrap_err().field;
        assert_eq!(field(plan(json!({"objectives": []}))), "objectives");
        assert_eq!(field(plan(json!({"objectives": [" "]}))), "objectives[0]");
        assert_eq!(
            field(plan(json!({"next_review": "2024-04-30"}))),
            "next_review"
        );
        assert!(plan(json!({"next_review": "2024-05-01"})).is_ok());
        assert_eq!(field(plan(json!({"drawn_up_by": ""}))), "drawn_up_by");
    }

    #[test]
    fn a_pending_request_to_visit_answers_nothing_and_visits_nothing() {
        let visit = |extra: Value| {
            let v = json!({"record": "oversight_visit", "facility": "CECOT",
                "at": "2024-05-01T10:00:00Z", "visitor_kind": "ngo", "visitor": "Cristosal",
                "outcome": "pending"});
            check(merged(v, extra))
        };
        let d = visit(json!({})).unwrap();
        assert_eq!(d.payload["outcome"], "pending");
        let field = |r: Result<Draft, DomainError>| r.unwrap_err().field;
        assert_eq!(field(visit(json!({"answers": 12}))), "answers");
        assert_eq!(field(visit(json!({"reason": "no"}))), "reason");
        assert_eq!(
            field(visit(json!({"areas_visited": ["patio"]}))),
            "areas_visited"
        );
        assert_eq!(
            field(visit(json!({"private_interviews": true}))),
            "private_interviews"
        );
        // The answer names the request.
        let refused = visit(
            json!({"outcome": "refused", "reason": "régimen de excepción",
            "authority": "Dirección", "answers": 12}),
        )
        .unwrap();
        assert_eq!(refused.payload["answers"], 12);
    }

    #[test]
    fn an_oversight_visit_refuses_what_cannot_be_true_naming_the_field() {
        let visit = |changes: Value| {
            let mut v = json!({"record": "oversight_visit", "facility": "CECOT",
                "at": "2024-12-01T10:00:00.000Z", "requested_at": "2024-11-20T09:00:00.000Z",
                "visitor_kind": "npm", "visitor": "PDDH", "outcome": "refused",
                "reason": "régimen de excepción", "authority": "Dirección General de Centros Penales"});
            for (k, c) in changes.as_object().unwrap() {
                if c.is_null() {
                    v.as_object_mut().unwrap().remove(k);
                } else {
                    v[k] = c.clone();
                }
            }
            check(v)
        };
        let d = visit(json!({})).unwrap();
        assert_eq!(d.kind, kinds::OVERSIGHT_VISIT);
        assert_eq!(d.subject, "facility:CECOT");
        assert_eq!(d.payload["independent"], true);
        assert_eq!(d.payload["people_exposed"], "none");
        assert!(d.payload.get("people_shown").is_none());
        // A media tour admitted, its people filmed: not independent, by its kind.
        let tour = visit(
            json!({"visitor_kind": "media_tour", "visitor": "prensa", "outcome": "admitted",
            "reason": null, "authority": "Ministerio", "areas_visited": ["pabellón 1"],
            "people_exposed": "identifiable", "people_shown": 60}),
        )
        .unwrap();
        assert_eq!(tour.payload["independent"], false);
        assert_eq!(tour.payload["people_shown"], 60);
        // Independence is stated only for `other`.
        let other = visit(json!({"visitor_kind": "other", "independent": true})).unwrap();
        assert_eq!(other.payload["independent"], true);
        let field = |changes: Value| visit(changes).unwrap_err().field;
        assert_eq!(
            field(json!({"visitor_kind": "influencer", "independent": true})),
            "independent"
        );
        assert_eq!(
            field(json!({"visitor_kind": "npm", "independent": false})),
            "independent"
        );
        // Admitted before it was asked for.
        assert_eq!(
            field(json!({"requested_at": "2024-12-01T10:00:00.001Z"})),
            "requested_at"
        );
        assert_eq!(field(json!({"at": "2025-02-01T10:00:00.000Z"})), "at");
        // A refusal without its reason or its authority.
        assert_eq!(field(json!({"reason": null})), "reason");
        assert_eq!(field(json!({"reason": " "})), "reason");
        assert_eq!(field(json!({"authority": null})), "authority");
        assert_eq!(
            field(json!({"outcome": "restricted", "authority": null})),
            "authority"
        );
        // A refused visit visited nothing, interviewed nobody, showed nobody.
        assert_eq!(
            field(json!({"areas_visited": ["pabellón 1"]})),
            "areas_visited"
        );
        assert_eq!(
            field(json!({"private_interviews": true})),
            "private_interviews"
        );
        assert_eq!(
            field(json!({"people_exposed": "identifiable", "people_shown": 3})),
            "people_exposed"
        );
        // Admitted: no refusal reason, no areas withheld, and a monitor interviews in private.
        let admitted = json!({"outcome": "admitted", "reason": null, "private_interviews": true});
        assert!(visit(admitted.clone()).is_ok());
        let with = |extra: Value| {
            let mut v = admitted.clone();
            for (k, c) in extra.as_object().unwrap() {
                v[k] = c.clone();
            }
            v
        };
        assert_eq!(field(with(json!({"reason": "x"}))), "reason");
        assert_eq!(
            field(with(json!({"areas_withheld": ["celdas de castigo"]}))),
            "areas_withheld"
        );
        assert_eq!(
            field(with(json!({"private_interviews": false}))),
            "private_interviews"
        );
        // People shown: how many, and only when they were.
        assert_eq!(
            field(with(json!({"people_exposed": "faces_hidden"}))),
            "people_shown"
        );
        assert_eq!(
            field(with(
                json!({"people_exposed": "identifiable", "people_shown": 0})
            )),
            "people_shown"
        );
        assert_eq!(field(with(json!({"people_shown": 4}))), "people_shown");
        assert_eq!(field(with(json!({"visitor": ""}))), "visitor");
        assert_eq!(
            field(with(json!({"areas_visited": ["a\nb"]}))),
            "areas_visited[0]"
        );
    }
}
