//! The compliance engine: facts from the records measured against a jurisdiction's policy, with
//! findings that cite the rule, name the subject and the period, and point at the register
//! entries that are the evidence.
//!
//! Everything here is a pure function of the facts, the policy and the date of evaluation
//! (`as_of`); the store gathers the facts. See `docs/policy.md` for every rule.

use crate::dates::Date;
use crate::DomainError;
pub use habeas_register::store::Words;
use habeas_register::Timestamp;
use serde::{Deserialize, Serialize};

mod activities;
mod conditions;
mod family;
mod food;
mod harm;
pub mod strictness;
mod treatment;
pub use activities::{activity_findings, sentence_plan_findings, ActivityFacts, SentencePlanFacts};
pub use conditions::{
    cell_condition_findings, heat_findings, heat_index_findings, light_at_night_findings, night_of,
    CellDayReading, ConditionsPolicy, LitReading,
};
pub use family::{
    declines_frequent_findings, family_informed_findings, Contacted, CustodyBegun, Declined,
    FamilyInformedFacts,
};
pub use food::{
    food_findings, food_gaps, FoodPolicy, FoodServiceFacts, NoFoodRecords, OccupiedUnit,
};
pub use harm::{harm_findings, harm_owed, harm_pending, HarmFacts, HarmStepDone};
pub use strictness::{PolicySource, Relaxation, Relaxed};
pub use treatment::{
    consular_findings, health_findings, incident_findings, non_association_findings,
    sanction_findings, separation_findings, ConsularFacts, HealthFacts, IncidentFacts, NoRecords,
    NonAssociationFacts, Place, RegimeOutcome, RegimePeriod, SanctionFacts, SeparationFacts,
};

/// The thresholds of one jurisdiction. `policy/mandela-minimum.toml` is the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    pub space: SpacePolicy,
    pub daily: DailyPolicy,
    pub contact: ContactPolicy,
    pub legal: LegalPolicy,
    pub complaints: ComplaintPolicy,
    pub deaths: DeathPolicy,
    pub solitary: SolitaryPolicy,
    pub health: HealthPolicy,
    pub consular: ConsularPolicy,
    pub incidents: IncidentPolicy,
    /// Added after the first version: a file without it gets the minimum.
    #[serde(default)]
    pub intake: IntakePolicy,
    /// Added with the whereabouts requests: a file without it gets the minimum.
    #[serde(default)]
    pub whereabouts: WhereaboutsPolicy,
    /// Added with the visit register: a file without it gets the minimum.
    #[serde(default)]
    pub oversight: OversightPolicy,
    /// Added with the regime findings: a file without it gets the minimum.
    #[serde(default)]
    pub activities: ActivityPolicy,
    /// Added with the family notification: a file without it gets the minimum.
    #[serde(default)]
    pub notification: NotificationPolicy,
    /// Added with the environment readings' findings: a file without it gets the minimum.
    #[serde(default)]
    pub conditions: ConditionsPolicy,
    /// Added with the sentence plans: a file without it gets the minimum.
    #[serde(default)]
    pub regime: RegimePolicy,
    /// Added with the daily record of food and water: a file without it gets the minimum.
    #[serde(default)]
    pub food: FoodPolicy,
    /// Added with the serious-harm cases: a file without it gets the minimum.
    #[serde(default)]
    pub harm: HarmPolicy,
    /// The thresholds this policy relaxes below the Mandela minimum, each with the law that
    /// allows it (`relaxes = [{ key = "contact.family_days", reference = "…" }]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relaxes: Vec<Relaxation>,
    /// The name, the SHA-256 of the file and what it relaxes, set when the file is read.
    #[serde(skip)]
    source: PolicySource,
}

/// Mandela Rules 69 and 71(1): a serious injury or illness, or a transfer to a health
/// institution, is told to the person the prisoner designated; a serious injury is reported to
/// an independent authority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmPolicy {
    /// Hours after the harm by which the designated person (or the family) is told, or the
    /// person has asked that nobody be (Rule 69).
    #[serde(default = "default_harm_hours")]
    pub designated_hours: u32,
    /// Hours after a serious injury by which it is reported to an authority independent of the
    /// prison administration (Rule 71(1): "without delay").
    #[serde(default = "default_harm_hours")]
    pub authority_hours: u32,
    /// Hours within which a step is written to the register after it was done for it to count
    /// from when it was done; one written later counts from when it was written.
    #[serde(default = "default_harm_hours")]
    pub record_hours: u32,
}

fn default_harm_hours() -> u32 {
    24
}

impl Default for HarmPolicy {
    fn default() -> Self {
        Self {
            designated_hours: default_harm_hours(),
            authority_hours: default_harm_hours(),
            record_hours: default_harm_hours(),
        }
    }
}

/// Rules 6–8: the register entry is made at admission, and every person held is placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakePolicy {
    /// Hours after arrival by which the admission is in the register (Rule 7).
    #[serde(default = "default_registration_hours")]
    pub registration_hours: u32,
    /// Hours after admission by which a person held is allocated a cell (Rules 6-8 and 11).
    #[serde(default = "default_allocation_hours")]
    pub allocation_hours: u32,
}

fn default_registration_hours() -> u32 {
    24
}

fn default_allocation_hours() -> u32 {
    24
}

fn default_judicial_order_hours() -> u32 {
    48
}

fn default_first_appearance_hours() -> u32 {
    48
}

impl Default for IntakePolicy {
    fn default() -> Self {
        Self {
            registration_hours: default_registration_hours(),
            allocation_hours: default_allocation_hours(),
        }
    }
}

/// Mandela Rules 68–69; Convention against Enforced Disappearance arts. 17–18: whoever has a
/// legitimate interest learns at once whether a person is held, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhereaboutsPolicy {
    /// Hours after a whereabouts request is received by which it is answered.
    #[serde(default = "default_whereabouts_reply_hours")]
    pub reply_hours: u32,
}

fn default_whereabouts_reply_hours() -> u32 {
    24
}

impl Default for WhereaboutsPolicy {
    fn default() -> Self {
        Self {
            reply_hours: default_whereabouts_reply_hours(),
        }
    }
}

/// Mandela Rule 68: the family is informed at once of an imprisonment and of a transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationPolicy {
    /// Hours after an admission or a transfer in by which a family contact is recorded.
    #[serde(default = "default_family_hours")]
    pub family_hours: u32,
    /// The days up to the day evaluated over which the custodies that began at a facility are
    /// counted, with the declines recorded for them.
    #[serde(default = "default_declines_window_days")]
    pub declines_window_days: u32,
    /// The share (in %) of those custodies with a recorded decline above which the facility is
    /// found: a rate that high suggests declines recorded for people who did not decline...
    #[serde(default = "default_declines_max_pct")]
    pub declines_max_pct: u32,
    /// ...when at least this many custodies began in those days.
    #[serde(default = "default_declines_min_custodies")]
    pub declines_min_custodies: u32,
    /// Hours within which a decline is written to the register after the person said so for it
    /// to count from when they said so; one written later counts from when it was written (a
    /// decline dated back cannot undo a contact the records missed).
    #[serde(default = "default_decline_record_hours")]
    pub decline_record_hours: u32,
    /// Hours within which a family contact (a call, letter or visit) is written to the register
    /// after it happened for it to count from when it happened; one written later counts from
    /// when it was written (a contact dated back cannot undo hours in which the records showed
    /// none). Longer than for a decline: visits are logged at the gate and calls in batches.
    #[serde(default = "default_contact_record_hours")]
    pub contact_record_hours: u32,
}

fn default_family_hours() -> u32 {
    24
}

fn default_declines_window_days() -> u32 {
    90
}

fn default_declines_max_pct() -> u32 {
    10
}

fn default_declines_min_custodies() -> u32 {
    20
}

fn default_decline_record_hours() -> u32 {
    2
}

fn default_contact_record_hours() -> u32 {
    24
}

impl Default for NotificationPolicy {
    fn default() -> Self {
        Self {
            family_hours: default_family_hours(),
            declines_window_days: default_declines_window_days(),
            declines_max_pct: default_declines_max_pct(),
            declines_min_custodies: default_declines_min_custodies(),
            decline_record_hours: default_decline_record_hours(),
            contact_record_hours: default_contact_record_hours(),
        }
    }
}

/// Mandela Rules 4, 96 and 104–105: work, education and recreation are offered to all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityPolicy {
    /// Days without any programme attendance (work, education, recreation) after which a
    /// person held is found.
    #[serde(default = "default_activity_days")]
    pub days: u32,
}

fn default_activity_days() -> u32 {
    30
}

impl Default for ActivityPolicy {
    fn default() -> Self {
        Self {
            days: default_activity_days(),
        }
    }
}

/// Mandela Rules 83–85 (OPCAT arts. 14 and 20 where the state is party): independent monitors
/// visit every place and speak with people held in private; Rule 1 (and by analogy Rule 73(1)):
/// people held are not put on show; Rules 58 and 43(3): family visits are not refused to all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OversightPolicy {
    /// Days either side of an independent monitor's refusal within which a visit admitted for
    /// others (media tours, influencers, journalists, officials) shows the refusal selective.
    #[serde(default = "default_oversight_window_days")]
    pub window_days: u32,
    /// People held shown identifiably to the public in one visit above which the exposure is
    /// grave (any is serious).
    #[serde(default = "default_exposed_grave_people")]
    pub exposed_grave_people: u32,
    /// The days up to the day evaluated over which family visit requests are counted.
    #[serde(default = "default_collective_refusal_days")]
    pub collective_refusal_days: u32,
    /// People refused family visits for one same reason in those days above which the
    /// refusal is collective...
    #[serde(default = "default_collective_refusal_people")]
    pub collective_refusal_people: u32,
    /// ...when they are also more than this share (in %) of the family visit requests.
    #[serde(default = "default_collective_refusal_percent")]
    pub collective_refusal_percent: u32,
    /// Days after which an independent monitor's request to visit, recorded as pending, is
    /// found unanswered.
    #[serde(default = "default_answer_days")]
    pub answer_days: u32,
}

fn default_answer_days() -> u32 {
    30
}

/// Mandela Rules 89 and 93–94: a sentenced person's treatment follows an individual programme,
/// drawn up on the knowledge of the person and reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimePolicy {
    /// Days after the sentence (or the admission) by which a sentence plan is drawn up, and
    /// past a plan's review date by which it is reviewed.
    #[serde(default = "default_sentence_plan_days")]
    pub sentence_plan_days: u32,
}

fn default_sentence_plan_days() -> u32 {
    90
}

impl Default for RegimePolicy {
    fn default() -> Self {
        Self {
            sentence_plan_days: default_sentence_plan_days(),
        }
    }
}

fn default_oversight_window_days() -> u32 {
    90
}

fn default_exposed_grave_people() -> u32 {
    10
}

fn default_collective_refusal_days() -> u32 {
    30
}

fn default_collective_refusal_people() -> u32 {
    10
}

fn default_collective_refusal_percent() -> u32 {
    50
}

impl Default for OversightPolicy {
    fn default() -> Self {
        Self {
            window_days: default_oversight_window_days(),
            exposed_grave_people: default_exposed_grave_people(),
            collective_refusal_days: default_collective_refusal_days(),
            collective_refusal_people: default_collective_refusal_people(),
            collective_refusal_percent: default_collective_refusal_percent(),
            answer_days: default_answer_days(),
        }
    }
}

/// Rules 43–46: what counts as solitary confinement and how long it may last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolitaryPolicy {
    /// Hours a day alone in a cell that make it solitary confinement (Rule 44: 22).
    pub hours: u32,
    /// Consecutive days beyond which it is prolonged (Rule 44: 15).
    pub max_days: u32,
}

/// Rules 30 and 34: the examination at admission and injuries found then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthPolicy {
    /// Days after admission by which a health professional has examined the person.
    pub examination_days: u32,
    /// Days after admission by which injuries seen then are documented and referred.
    pub injury_referral_days: u32,
}

/// Rule 62; Vienna Convention on Consular Relations art. 36.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsularPolicy {
    /// Days after admission by which a consulate the person asked for is notified.
    pub notification_days: u32,
    /// Days without any consular contact after which a foreign national's access is found
    /// wanting.
    pub contact_days: u32,
}

/// Rules 82 and 71: incidents, and every use of force, are reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentPolicy {
    pub review_days: u32,
}

/// Days after a death in custody by which each step of the case is due (Rules 69–72).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeathPolicy {
    pub family_informed_days: u32,
    pub independent_authority_informed_days: u32,
    pub investigation_opened_days: u32,
    pub post_mortem_days: u32,
    pub remains_returned_days: u32,
}

impl DeathPolicy {
    /// The days allowed for a step named as in `events::DEATH_STEPS`.
    pub fn days_for(&self, step: &str) -> Option<u32> {
        match step {
            "family_informed" => Some(self.family_informed_days),
            "independent_authority_informed" => Some(self.independent_authority_informed_days),
            "investigation_opened" => Some(self.investigation_opened_days),
            "post_mortem" => Some(self.post_mortem_days),
            "remains_returned" => Some(self.remains_returned_days),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpacePolicy {
    pub icrc_m2: f64,
    pub cpt_m2: f64,
    pub ecthr_m2: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyPolicy {
    pub open_air_minutes: u32,
    /// Minutes a day out of the cell under which the day is found wanting.
    pub out_of_cell_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPolicy {
    pub family_days: u32,
    pub legal_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalPolicy {
    pub pretrial_max_days: u32,
    pub review_interval_days: u32,
    pub max_people_per_hearing: u32,
    /// Hours a person may be held on an order no court issued before a judicial order is
    /// recorded (ICCPR 9(3)-(4)).
    #[serde(default = "default_judicial_order_hours")]
    pub judicial_order_hours: u32,
    /// Hours from arrest to the first appearance before a judge (ICCPR 9(3); Human Rights
    /// Committee General Comment 35: 48 hours).
    #[serde(default = "default_first_appearance_hours")]
    pub first_appearance_hours: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintPolicy {
    /// Days after filing by which an allegation of ill-treatment goes to an independent
    /// authority.
    pub referral_days: u32,
}

/// The text of the default policy, shipped with the binary.
pub const MANDELA_MINIMUM: &str = include_str!("../../../policy/mandela-minimum.toml");

impl Policy {
    /// Reads a policy file, naming the field and the problem when it is wrong: unknown keys,
    /// areas that are not positive, a threshold less strict than the Mandela minimum that
    /// `relaxes` does not list with a legal reference, an entry of `relaxes` that relaxes
    /// nothing, and the name `mandela-minimum` on anything but the minimum's thresholds.
    pub fn from_toml(text: &str) -> Result<Self, DomainError> {
        let mut policy = Self::parse(text)?;
        let minimum = Self::parse(MANDELA_MINIMUM)?;
        let relaxed = strictness::check(&policy, &minimum)?;
        if policy.name.trim().is_empty() {
            return Err(DomainError::invalid(
                "name",
                "give the policy a name (its jurisdiction's)",
            ));
        }
        // The name of the minimum is the minimum's alone: a policy called so holds exactly its
        // thresholds (its comments may differ; the report's SHA-256 tells the file apart).
        if policy.name == minimum.name {
            if let Some((key, v, m)) = strictness::first_difference(&policy, &minimum)? {
                return Err(DomainError::invalid(
                    "name",
                    format!(
                        "{:?} is the name of the shipped Mandela minimum, and this policy differs from it ({key} is {v}, the minimum's {m}): name the policy for its jurisdiction",
                        minimum.name
                    ),
                ));
            }
            if !policy.relaxes.is_empty() {
                return Err(DomainError::invalid(
                    "name",
                    format!(
                        "{:?} is the name of the shipped Mandela minimum, which relaxes nothing: name the policy for its jurisdiction",
                        minimum.name
                    ),
                ));
            }
        }
        policy.source = PolicySource {
            name: policy.name.clone(),
            sha256: strictness::sha256_hex(text.as_bytes()),
            relaxed,
        };
        Ok(policy)
    }

    /// The file's keys and values, without comparing them with the minimum.
    fn parse(text: &str) -> Result<Self, DomainError> {
        let policy: Policy =
            toml::from_str(text).map_err(|e| DomainError::invalid("policy", e.message()))?;
        for (field, hour, range) in [
            (
                "conditions.night_from_hour",
                policy.conditions.night_from_hour,
                conditions::NIGHT_FROM_HOURS,
            ),
            (
                "conditions.night_until_hour",
                policy.conditions.night_until_hour,
                conditions::NIGHT_UNTIL_HOURS,
            ),
        ] {
            if !range.contains(&hour) {
                return Err(DomainError::invalid(
                    field,
                    format!(
                        "{hour} is not an hour from {} to {}: the night begins in the evening and ends in the morning",
                        range.start(),
                        range.end()
                    ),
                ));
            }
        }
        let bunks = policy.conditions.bunks_per_person;
        if !(bunks.is_finite() && bunks > 0.0 && bunks <= 10.0) {
            return Err(DomainError::invalid(
                "conditions.bunks_per_person",
                format!("{bunks} is not a number of bunks a person over 0 and at most 10"),
            ));
        }
        for (field, v) in [
            ("space.icrc_m2", policy.space.icrc_m2),
            ("space.cpt_m2", policy.space.cpt_m2),
            ("space.ecthr_m2", policy.space.ecthr_m2),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(DomainError::invalid(
                    field,
                    format!("{v} is not a positive number of square metres"),
                ));
            }
        }
        Ok(policy)
    }

    /// The default policy: the Mandela Rules' minimum.
    pub fn mandela_minimum() -> Result<Self, DomainError> {
        Self::from_toml(MANDELA_MINIMUM)
    }

    /// Which policy this is, as every report names it: the name, the SHA-256 of the file read
    /// and every threshold relaxed below the minimum, with its reference.
    pub fn source(&self) -> &PolicySource {
        &self.source
    }
}

/// How grave a finding is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Notice,
    Serious,
    Grave,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "notice",
            Severity::Serious => "serious",
            Severity::Grave => "grave",
        }
    }
}

/// What a finding is about.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Person { booking: u64 },
    Cell { facility: String, cell: String },
    Unit { facility: String, unit: String },
    Facility { facility: String },
    Hearing { facility: String, hearing: u64 },
    Incident { facility: String, incident: u64 },
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Person { booking } => write!(f, "booking {booking}"),
            Subject::Cell { facility, cell } => write!(f, "cell {facility}/{cell}"),
            Subject::Unit { facility, unit } => write!(f, "unit {facility}/{unit}"),
            Subject::Facility { facility } => write!(f, "facility {facility}"),
            Subject::Hearing { facility, hearing } => write!(f, "hearing {facility}#{hearing}"),
            Subject::Incident { facility, incident } => {
                write!(f, "incident {facility}#{incident}")
            }
        }
    }
}

/// One breach of one rule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// A stable code, e.g. `space.icrc`.
    pub code: &'static str,
    /// The rule cited, e.g. `Mandela Rule 13; ICRC 3.4 m²`.
    pub rule: &'static str,
    pub subject: Subject,
    pub severity: Severity,
    /// Since when the condition holds, when the records say.
    pub since: Option<String>,
    /// Until when, or `None` while it is ongoing.
    pub until: Option<String>,
    /// What was measured against what.
    pub detail: String,
    /// The register entries the finding rests on.
    pub evidence: Vec<u64>,
    /// `detail` as sentences of a catalogue and their values, for a reader in another
    /// language (joined with "; "); empty where only `detail` says it.
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub words: Vec<Words>,
}

impl Finding {
    /// The same finding, a sentence of its detail also said as the catalogue's `id` with
    /// `args` (`finding-<id>` in the web UI's catalogue), after those already said.
    #[must_use]
    pub fn said(
        mut self,
        id: &'static str,
        args: &[(&'static str, &dyn std::fmt::Display)],
    ) -> Self {
        self.words.push(Words::new(id, args));
        self
    }
}

/// The day number of a date (days since 1970-01-01).
pub fn day_number(d: Date) -> i64 {
    d.start().millis().div_euclid(86_400_000)
}

/// Whole days from `a` to `b`.
pub fn days_between(a: Date, b: Date) -> i64 {
    day_number(b) - day_number(a)
}

/// The facts about one cell that its findings rest on.
#[derive(Debug, Clone, PartialEq)]
pub struct CellFacts {
    pub facility: String,
    pub unit: String,
    pub cell: String,
    pub area_cm2: u64,
    pub population: u64,
    pub cna: u64,
    pub operational_capacity: u64,
    pub constant_light: bool,
    /// The bunks (beds) the estate records for the cell.
    pub bunks: u64,
    /// Whether the cell has a window (Rule 14(a)).
    pub window: bool,
    /// Whether the cell has a toilet in or adjoining it (Rules 15–16).
    pub sanitation: bool,
    /// The mattresses the estate records for the cell (Rule 21), when it records them.
    pub mattresses: Option<u64>,
    /// Whether the cell's toilet is private (`Some(false)`: an open toilet in the cell), when
    /// the estate records it.
    pub toilet_private: Option<bool>,
    /// The entry that certified the cell's capacity (its definition, until a certification).
    pub evidence: u64,
    /// The entry that last defined the cell: what its attributes (window, bunks, mattresses,
    /// sanitation) are read from.
    pub defined: u64,
}

/// Space, capacity and lighting of one cell (Mandela Rules 12–14).
pub fn cell_findings(policy: &Policy, c: &CellFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = || Subject::Cell {
        facility: c.facility.clone(),
        cell: c.cell.clone(),
    };
    if c.population > 0 {
        let m2 = c.area_cm2 as f64 / 10_000.0 / c.population as f64;
        // Checked from the most to the least demanding standard; each is its own finding, since
        // inspectors of each body cite their own.
        for (code, rule, threshold, severity) in [
            (
                "space.cpt",
                "Mandela Rule 13; CPT 4 m² per person in a shared cell",
                policy.space.cpt_m2,
                Severity::Notice,
            ),
            (
                "space.icrc",
                "Mandela Rule 13; ICRC 3.4 m² per person",
                policy.space.icrc_m2,
                Severity::Serious,
            ),
            (
                "space.ecthr",
                "Mandela Rule 13; ECtHR 3 m² per person (Muršić v. Croatia)",
                policy.space.ecthr_m2,
                Severity::Grave,
            ),
        ] {
            if m2 < threshold {
                out.push(Finding {
                    code,
                    rule,
                    subject: subject(),
                    severity,
                    since: None,
                    until: None,
                    detail: format!(
                        "{m2:.2} m² per person ({} people in {:.1} m²), under {threshold} m²",
                        c.population,
                        c.area_cm2 as f64 / 10_000.0
                    ),
                    evidence: vec![c.evidence],
                    words: vec![Words::new(
                        "space",
                        &[
                            ("m2", &format!("{m2:.2}")),
                            ("count", &c.population),
                            ("area", &format!("{:.1}", c.area_cm2 as f64 / 10_000.0)),
                            ("threshold", &threshold),
                        ],
                    )],
                });
            }
        }
    }
    out.extend(capacity_findings(
        ["capacity.cna", "capacity.operational"],
        subject(),
        (c.population, c.cna, c.operational_capacity),
        vec![c.evidence],
    ));
    if c.constant_light && c.population > 0 {
        out.push(Finding {
            code: "light.constant",
            rule: "Mandela Rule 43(1)(c) and 14; lights on around the clock",
            subject: subject(),
            severity: Severity::Grave,
            since: None,
            until: None,
            detail: format!("{} people in a cell lit day and night", c.population),
            evidence: vec![c.evidence],
            words: vec![Words::new("constant-light", &[("count", &c.population)])],
        });
    }
    out
}

/// Population over capacity, per facility: the sum of its cells (Mandela Rules 12–13).
pub fn facility_findings(cells: &[CellFacts]) -> Vec<Finding> {
    let mut totals: std::collections::BTreeMap<&str, (u64, u64, u64)> = Default::default();
    for c in cells {
        let t = totals.entry(c.facility.as_str()).or_default();
        t.0 += c.population;
        t.1 += c.cna;
        t.2 += c.operational_capacity;
    }
    let mut out = Vec::new();
    for (facility, counts) in totals {
        out.extend(capacity_findings(
            ["capacity.facility_cna", "capacity.facility_operational"],
            Subject::Facility {
                facility: facility.to_owned(),
            },
            counts,
            Vec::new(),
        ));
    }
    out
}

/// Population over certified normal accommodation (serious) and over operational capacity
/// (grave), with the occupancy rate.
fn capacity_findings(
    codes: [&'static str; 2],
    subject: Subject,
    (population, cna, operational): (u64, u64, u64),
    evidence: Vec<u64>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (code, rule, cap, severity, what, id) in [
        (
            codes[0],
            "Mandela Rules 12-13; population over certified normal accommodation",
            cna,
            Severity::Serious,
            "certified normal accommodation",
            "over-cna",
        ),
        (
            codes[1],
            "Mandela Rules 12-13; population over operational capacity",
            operational,
            Severity::Grave,
            "operational capacity",
            "over-operational",
        ),
    ] {
        if population > cap {
            let rate = if cap == 0 {
                f64::INFINITY
            } else {
                100.0 * population as f64 / cap as f64
            };
            out.push(Finding {
                code,
                rule,
                subject: subject.clone(),
                severity,
                since: None,
                until: None,
                detail: format!("{population} people for a {what} of {cap}: occupancy {rate:.0}%"),
                evidence: evidence.clone(),
                words: if cap == 0 {
                    Vec::new()
                } else {
                    vec![Words::new(
                        id,
                        &[
                            ("count", &population),
                            ("cap", &cap),
                            ("rate", &format!("{rate:.0}")),
                        ],
                    )]
                },
            });
        }
    }
    out
}

/// One commitment order as the custody's findings see it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderFacts {
    pub kind: String,
    pub issued: Date,
    pub expires: Option<Date>,
    pub review: Option<Date>,
    pub idx: u64,
    /// The state of exception the order invokes, as "name (decree)", if any.
    pub emergency: Option<String>,
}

/// The facts about one open custody.
#[derive(Debug, Clone, PartialEq)]
pub struct CustodyFacts {
    pub booking: u64,
    pub admitted: Date,
    pub legal_status: String,
    pub release_date: Option<Date>,
    pub orders: Vec<OrderFacts>,
    pub last_family_contact: Option<(Date, u64)>,
    pub last_legal_contact: Option<(Date, u64)>,
    /// The latest hearing up to the day, for the untried.
    pub last_hearing: Option<(Date, u64)>,
    /// The admission entry.
    pub evidence: u64,
    /// The person's date of birth, when recorded.
    pub birth: Option<Date>,
    /// Whether the facility is designated for people under 18.
    pub juvenile_facility: bool,
    /// How the custody began, to the minute, and what the intake findings measure.
    pub intake: IntakeFacts,
}

/// The times and facts of a custody's beginning that the legal-basis and intake findings
/// measure in hours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntakeFacts {
    /// The time of admission.
    pub admitted_at: Timestamp,
    /// Brought without an order in force and held pending one.
    pub pending_order: bool,
    /// The arrest, when recorded.
    pub arrested_at: Option<Timestamp>,
    /// When the admission was written to the register.
    pub recorded_at: Option<Timestamp>,
    /// Whether the custody has been allocated a cell (it is the current allocation that the
    /// projections keep: a custody allocated since `as_of` is taken as allocated).
    pub allocated: bool,
    /// Whether a charge is recorded for the custody.
    pub charged: bool,
    /// The first hearing before a court, when there has been one.
    pub first_hearing: Option<(Timestamp, u64)>,
}

/// Legal basis (Rules 7, 111–120) and contact (Rules 58, 61) of one open custody on `as_of`.
pub fn custody_findings(policy: &Policy, c: &CustodyFacts, as_of: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = Subject::Person { booking: c.booking };
    let finding = |code, rule, severity, since: Option<Date>, detail: String, evidence| Finding {
        code,
        rule,
        subject: subject.clone(),
        severity,
        since: since.map(|d| d.to_string()),
        until: None,
        detail,
        evidence,
        words: Vec::new(),
    };
    // A child held where children are not held (admitted knowingly, or grown no older).
    if let Some(birth) = c.birth {
        let age = birth.age_on(as_of);
        if age < 18 && !c.juvenile_facility {
            out.push(finding(
                "custody.minor_in_adult_facility",
                "Mandela Rule 11(d); CRC art. 37(c): a person under 18 is held apart from adults, in a facility for young people",
                Severity::Grave,
                Some(c.admitted),
                format!("a person of {age} held in a facility not designated for people under 18"),
                vec![c.evidence],
            ).said("minor", &[("age", &age)]));
        }
    }
    // The orders in force on `as_of`: issued by then, not yet expired.
    let in_force: Vec<&OrderFacts> = c
        .orders
        .iter()
        .filter(|o| crate::custody::order_in_force(o.issued, o.expires, as_of))
        .collect();
    // Brought without an order and held pending one: grave from the first minute, until an
    // order recorded since the admission is in force (an order that then lapses is
    // `legal.order_expired`).
    let ordered_since = c
        .orders
        .iter()
        .any(|o| o.idx != c.evidence && o.issued <= as_of);
    if c.intake.pending_order && in_force.is_empty() && !ordered_since {
        out.push(finding(
            "legal.no_valid_basis",
            "Mandela Rule 7(a); ICCPR 9(1): held without a valid order (brought without one, held pending it)",
            Severity::Grave,
            Some(c.admitted),
            format!(
                "brought without an order in force and held pending one since {}; none recorded by {as_of}",
                c.intake.admitted_at
            ),
            vec![c.evidence],
        ).said("pending-order", &[("at", &c.intake.admitted_at), ("as_of", &as_of)]));
    } else if c.orders.is_empty() {
        out.push(
            finding(
                "legal.no_order",
                "Mandela Rule 7(a); no commitment order recorded",
                Severity::Grave,
                Some(c.admitted),
                "held with no commitment order on record".to_owned(),
                vec![c.evidence],
            )
            .said("no-order", &[]),
        );
    } else if in_force.is_empty() {
        let last = c
            .orders
            .iter()
            .filter_map(|o| o.expires.map(|e| (e, o.idx)))
            .max();
        let f = finding(
            "legal.order_expired",
            "Mandela Rule 7(a); held after the commitment order expired",
            Severity::Grave,
            last.map(|(e, _)| e),
            match last {
                Some((e, _)) => format!(
                    "the last order expired on {e}, {} days before {as_of}",
                    days_between(e, as_of)
                ),
                None => "no order in force".to_owned(),
            },
            c.orders.iter().map(|o| o.idx).collect(),
        );
        out.push(match last {
            Some((e, _)) => f.said(
                "order-expired",
                &[
                    ("date", &e),
                    ("days", &days_between(e, as_of)),
                    ("as_of", &as_of),
                ],
            ),
            None => f.said("no-order-in-force", &[]),
        });
    }
    for o in &in_force {
        if let Some(review) = o.review {
            if review < as_of {
                out.push(finding(
                    "legal.review_overdue",
                    "Mandela Rule 111-120; ICCPR 9(3): detention review overdue",
                    Severity::Serious,
                    Some(review),
                    format!(
                        "review of {} order was due {review}, {} days ago",
                        o.kind,
                        days_between(review, as_of)
                    ),
                    vec![o.idx],
                ));
            }
        }
    }
    if c.legal_status == "remand" {
        let held = days_between(c.admitted, as_of);
        if held > i64::from(policy.legal.pretrial_max_days) {
            out.push(
                finding(
                    "legal.pretrial_over_maximum",
                    "Mandela Rule 111(2); ICCPR 9(3): pretrial detention over the maximum",
                    Severity::Grave,
                    Some(c.admitted),
                    format!(
                        "{held} days on remand, over the maximum of {}",
                        policy.legal.pretrial_max_days
                    ),
                    vec![c.evidence],
                )
                .said(
                    "pretrial-over-maximum",
                    &[("days", &held), ("max", &policy.legal.pretrial_max_days)],
                ),
            );
        }
    }
    if let Some(release) = c.release_date {
        if release < as_of {
            out.push(
                finding(
                    "legal.release_date_passed",
                    "Mandela Rule 7; ICCPR 9(1): held past the release date",
                    Severity::Grave,
                    Some(release),
                    format!(
                        "release date {release} passed {} days ago",
                        days_between(release, as_of)
                    ),
                    vec![c.evidence],
                )
                .said(
                    "release-date-passed",
                    &[("date", &release), ("days", &days_between(release, as_of))],
                ),
            );
        }
    }
    // Held and never placed: nobody is in the population without being where a roll count,
    // separation and space can see them.
    let day_end = as_of.plus_days(1).start();
    let allocation_ms = i64::from(policy.intake.allocation_hours) * 3_600_000;
    if !c.intake.allocated && day_end.millis() - c.intake.admitted_at.millis() > allocation_ms {
        out.push(finding(
            "custody.not_allocated",
            "Mandela Rules 6-8 and 11: every person held is recorded in a place of the facility",
            Severity::Serious,
            Some(c.admitted),
            format!(
                "admitted {} and not allocated a cell by the end of {as_of} ({} hours allowed)",
                c.intake.admitted_at, policy.intake.allocation_hours
            ),
            vec![c.evidence],
        ).said("not-allocated", &[("at", &c.intake.admitted_at), ("as_of", &as_of), ("hours", &policy.intake.allocation_hours)]));
    }
    // The untried: on remand, or held for another state (due process is the same for them).
    let untried = matches!(c.legal_status.as_str(), "remand" | "held_for_another_state");
    if untried {
        let (since, evidence) = match c.last_hearing {
            Some((d, idx)) => (d, vec![idx]),
            None => (c.admitted, vec![c.evidence]),
        };
        let days = days_between(since, as_of);
        let limit = policy.legal.review_interval_days;
        if days > i64::from(limit) {
            let f = finding(
                "hearing.none_in_interval",
                "Mandela Rule 111-120; ICCPR 9(3)-(4): brought before a judge at intervals",
                Severity::Serious,
                Some(since),
                match c.last_hearing {
                    Some(_) => format!("{days} days since the last hearing, over {limit}"),
                    None => format!("no hearing in {days} days held, over {limit}"),
                },
                evidence,
            );
            let args: [(&'static str, &dyn std::fmt::Display); 2] =
                [("days", &days), ("limit", &limit)];
            out.push(match c.last_hearing {
                Some(_) => f.said("since-last-hearing", &args),
                None => f.said("no-hearing", &args),
            });
        }
    }
    for (code, rule, limit, last, what, applies) in [
        (
            "contact.family",
            "Mandela Rule 58(1): contact with family at regular intervals",
            policy.contact.family_days,
            c.last_family_contact,
            "family",
            true,
        ),
        (
            "contact.legal",
            "Mandela Rules 61 and 119-120: an untried prisoner's access to legal advice",
            policy.contact.legal_days,
            c.last_legal_contact,
            "legal",
            untried,
        ),
    ] {
        if !applies {
            continue;
        }
        let (since, evidence) = match last {
            Some((d, idx)) => (d, vec![idx]),
            None => (c.admitted, vec![c.evidence]),
        };
        let days = days_between(since, as_of);
        if days > i64::from(limit) {
            let f = finding(
                code,
                rule,
                Severity::Serious,
                Some(since),
                match last {
                    Some(_) => {
                        format!("{days} days since the last {what} contact, over {limit}")
                    }
                    None => format!("no {what} contact in {days} days held, over {limit}"),
                },
                evidence,
            );
            let args: [(&'static str, &dyn std::fmt::Display); 2] =
                [("days", &days), ("limit", &limit)];
            out.push(match (last, what) {
                (Some(_), "family") => f.said("since-family-contact", &args),
                (None, "family") => f.said("no-family-contact", &args),
                (Some(_), _) => f.said("since-legal-contact", &args),
                (None, _) => f.said("no-legal-contact", &args),
            });
        }
    }
    out.extend(legal_quality_findings(policy, c, as_of, untried, &in_force));
    note_emergency(&mut out, c);
    out
}

/// Why a state of exception changes none of the findings on judicial control.
pub const NON_DEROGABLE: &str =
    "ICCPR 4(2) and HRC GC 29: habeas corpus and judicial review cannot be suspended";

/// The findings on the legal basis and judicial control of a custody whose orders invoke a
/// state of exception are the same, with a note saying so (ICCPR 4(2); Human Rights Committee
/// General Comment 29, paras. 11 and 16: the right to take proceedings before a court to
/// decide without delay on the lawfulness of detention is not diminished by a derogation).
fn note_emergency(out: &mut [Finding], c: &CustodyFacts) {
    let Some(regime) = c.orders.iter().rev().find_map(|o| o.emergency.as_deref()) else {
        return;
    };
    for f in out
        .iter_mut()
        .filter(|f| f.code.starts_with("legal.") || f.code.starts_with("hearing."))
    {
        f.detail
            .push_str(&format!("; the order invokes {regime}: {NON_DEROGABLE}"));
        if !f.words.is_empty() {
            f.words
                .push(Words::new("emergency", &[("regime", &regime)]));
        }
    }
}

/// The kinds of order a court issues. Any other (an executive transfer, an immigration or
/// prison authority's order, `other`) is a basis for `legal.judicial_order_hours` at most.
pub const JUDICIAL_ORDER_KINDS: &[&str] = &["pretrial_detention", "sentence", "civil"];

const HOUR_MS: i64 = 3_600_000;
/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// The quality of the legal basis and of the intake, beyond its presence: a court's order,
/// the first appearance before a judge, a charge, and an admission registered on time.
fn legal_quality_findings(
    policy: &Policy,
    c: &CustodyFacts,
    as_of: Date,
    untried: bool,
    in_force: &[&OrderFacts],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = Subject::Person { booking: c.booking };
    let day_end = as_of.plus_days(1).start();
    let finding = |code, rule, severity, since: Option<String>, detail: String, evidence| Finding {
        code,
        rule,
        subject: subject.clone(),
        severity,
        since,
        until: None,
        detail,
        evidence,
        words: Vec::new(),
    };
    let hours = |from: Timestamp, to: Timestamp| (to.millis() - from.millis()) / HOUR_MS;
    let judicial = |o: &&OrderFacts| JUDICIAL_ORDER_KINDS.contains(&o.kind.as_str());
    // Held on orders no court issued (the no-order findings above cover the rest).
    if !in_force.is_empty() && !in_force.iter().any(judicial) {
        let held = hours(c.intake.admitted_at, day_end);
        let limit = i64::from(policy.legal.judicial_order_hours);
        if held > limit {
            let kinds: Vec<&str> = in_force.iter().map(|o| o.kind.as_str()).collect();
            out.push(finding(
                "legal.no_judicial_order",
                "ICCPR 9(3)-(4); Mandela Rule 7(a): detention rests on a court's order",
                Severity::Grave,
                Some(c.intake.admitted_at.to_string()),
                format!(
                    "held {held} hours on {} order(s) no court issued, over {limit}",
                    kinds.join(", ")
                ),
                in_force.iter().map(|o| o.idx).collect(),
            ));
        }
    }
    if untried {
        // The first appearance: the first hearing, or the day a court ordered the detention
        // after the arrest (its end: the order is dated, not timed).
        if let Some(arrest) = c.intake.arrested_at {
            let ordered = c
                .orders
                .iter()
                .filter(|o| judicial(o) && o.issued >= Date::of(arrest))
                .map(|o| (o.issued.plus_days(1).start(), o.idx))
                .min();
            let appeared = [c.intake.first_hearing, ordered]
                .into_iter()
                .flatten()
                .min()
                .filter(|(at, _)| *at < day_end);
            let limit = i64::from(policy.legal.first_appearance_hours);
            let waited = hours(arrest, appeared.map_or(day_end, |(at, _)| at));
            if waited > limit {
                out.push(finding(
                    "legal.first_appearance_late",
                    "ICCPR 9(3); Mandela Rule 7: brought promptly before a judge after arrest",
                    Severity::Serious,
                    Some(arrest.to_string()),
                    match appeared {
                        Some(_) => format!(
                            "first brought before a judge {waited} hours after the arrest, over {limit}"
                        ),
                        None => format!(
                            "not brought before a judge in the {waited} hours since the arrest, over {limit}"
                        ),
                    },
                    match appeared {
                        Some((_, idx)) => vec![c.evidence, idx],
                        None => vec![c.evidence],
                    },
                ));
            }
        }
        let held = hours(c.intake.admitted_at, day_end);
        let limit = i64::from(policy.legal.first_appearance_hours);
        if !c.intake.charged && held > limit {
            out.push(
                finding(
                    "legal.no_charge",
                    "Mandela Rule 119(1); ICCPR 9(2): an untried prisoner is told the charges",
                    Severity::Serious,
                    Some(c.intake.admitted_at.to_string()),
                    format!("no charge recorded in {held} hours held untried, over {limit}"),
                    vec![c.evidence],
                )
                .said("no-charge", &[("hours", &held), ("limit", &limit)]),
            );
        }
    }
    if let Some(recorded) = c.intake.recorded_at {
        let late = hours(c.intake.admitted_at, recorded);
        let limit = i64::from(policy.intake.registration_hours);
        if late > limit {
            out.push(
                finding(
                    "intake.late_registration",
                    "Mandela Rule 7: the register entry is made upon admission",
                    Severity::Serious,
                    Some(c.intake.admitted_at.to_string()),
                    format!(
                        "admitted {} and registered {recorded}: {late} hours later, over {limit}",
                        c.intake.admitted_at
                    ),
                    vec![c.evidence],
                )
                .said(
                    "late-registration",
                    &[
                        ("at", &c.intake.admitted_at),
                        ("began", &recorded),
                        ("hours", &late),
                        ("limit", &limit),
                    ],
                ),
            );
        }
    }
    out
}

/// Everything the engine measures for one evaluation, as the store gathers it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub cells: Vec<CellFacts>,
    pub custodies: Vec<CustodyFacts>,
    pub hearings: Vec<HearingFacts>,
    pub complaints: Vec<ComplaintFacts>,
    pub deaths: Vec<DeathFacts>,
    pub regime: Vec<RegimeFacts>,
    pub separations: Vec<SeparationFacts>,
    pub non_associations: Vec<NonAssociationFacts>,
    pub sanctions: Vec<SanctionFacts>,
    pub health: Vec<HealthFacts>,
    pub consular: Vec<ConsularFacts>,
    pub incidents: Vec<IncidentFacts>,
    pub whereabouts: Vec<WhereaboutsFacts>,
    /// The visits from outside of every facility evaluated, up to the day.
    pub visits: Vec<VisitFacts>,
    /// The family visit requests of the year up to the day.
    pub family_visit_requests: Vec<FamilyVisitRequestFacts>,
    /// The hottest environment reading of each cell on each day of the year up to the day.
    pub hot_days: Vec<CellDayReading>,
    /// The reading of each cell on each day of the year up to the day with the highest heat
    /// index (of those with a temperature and a humidity).
    pub heat_index_days: Vec<CellDayReading>,
    /// The readings of the year up to the day showing the light on in the evening, night or
    /// early morning (18:00 to 09:00 local time), in cells certified as lit by day only.
    pub lit_readings: Vec<LitReading>,
    /// Each unit's daily record of food and water of the year up to the day.
    pub food_services: Vec<FoodServiceFacts>,
    /// The units holding people now, each since its earliest present occupant was placed.
    pub occupied_units: Vec<OccupiedUnit>,
    /// The people held as of the day, with their latest programme attendance.
    pub activities: Vec<ActivityFacts>,
    /// The custodies recorded as they began, with their first family contact and the first
    /// decline to have anyone told.
    pub family_informed: Vec<FamilyInformedFacts>,
    /// The serious-harm cases (injury, illness, transfer to a health institution) and the
    /// escapes opened by the day, with their steps.
    pub harms: Vec<HarmFacts>,
    /// The custodies recorded as they began in the year up to the day, held or not, each with
    /// whether a decline was recorded for it by the day.
    pub custodies_begun: Vec<CustodyBegun>,
    /// The sentenced people held as of the day, with their latest sentence plan.
    pub sentence_plans: Vec<SentencePlanFacts>,
}

/// How many people the findings name (each custody once).
pub fn people_named(findings: &[Finding]) -> u64 {
    findings
        .iter()
        .filter_map(|f| match f.subject {
            Subject::Person { booking } => Some(booking),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<u64>>()
        .len() as u64
}

/// Every finding on the facts as of a day, most severe first.
pub fn evaluate(policy: &Policy, facts: &Facts, as_of: Date) -> Vec<Finding> {
    let mut out = facility_findings(&facts.cells);
    out.extend(facts.cells.iter().flat_map(|c| cell_findings(policy, c)));
    out.extend(
        facts
            .cells
            .iter()
            .flat_map(|c| cell_condition_findings(policy, c)),
    );
    out.extend(
        facts
            .custodies
            .iter()
            .flat_map(|c| custody_findings(policy, c, as_of)),
    );
    out.extend(
        facts
            .hearings
            .iter()
            .flat_map(|h| hearing_findings(policy, h, as_of)),
    );
    out.extend(
        facts
            .complaints
            .iter()
            .flat_map(|c| complaint_findings(policy, c, as_of)),
    );
    out.extend(
        facts
            .deaths
            .iter()
            .flat_map(|d| death_findings(policy, d, as_of)),
    );
    out.extend(facts.regime.iter().flat_map(|r| regime_findings(policy, r)));
    out.extend(
        facts
            .separations
            .iter()
            .flat_map(|s| separation_findings(s, as_of)),
    );
    out.extend(
        facts
            .non_associations
            .iter()
            .flat_map(non_association_findings),
    );
    out.extend(sanction_findings(policy, &facts.sanctions, as_of));
    out.extend(
        facts
            .health
            .iter()
            .flat_map(|h| health_findings(policy, h, as_of)),
    );
    out.extend(
        facts
            .consular
            .iter()
            .flat_map(|c| consular_findings(policy, c, as_of)),
    );
    out.extend(
        facts
            .incidents
            .iter()
            .flat_map(|i| incident_findings(policy, i, as_of)),
    );
    out.extend(
        facts
            .whereabouts
            .iter()
            .filter_map(|w| whereabouts_findings(policy, w, as_of)),
    );
    out.extend(oversight_findings(policy, &facts.visits, as_of));
    out.extend(collective_refusal_findings(
        policy,
        &facts.family_visit_requests,
        as_of,
    ));
    out.extend(heat_findings(policy, &facts.hot_days, as_of));
    out.extend(heat_index_findings(policy, &facts.heat_index_days, as_of));
    out.extend(light_at_night_findings(policy, &facts.lit_readings, as_of));
    out.extend(food_findings(policy, &facts.food_services, as_of));
    out.extend(activity_findings(policy, &facts.activities, as_of));
    out.extend(sentence_plan_findings(policy, &facts.sentence_plans, as_of));
    out.extend(
        facts
            .family_informed
            .iter()
            .flat_map(|f| family_informed_findings(policy, f, as_of)),
    );
    out.extend(declines_frequent_findings(
        policy,
        &facts.custodies_begun,
        as_of,
    ));
    out.extend(
        facts
            .harms
            .iter()
            .flat_map(|h| harm_findings(policy, h, as_of)),
    );
    sort(&mut out);
    out
}

/// Most severe first, then by code and subject.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.code.cmp(b.code))
            .then(a.subject.cmp(&b.subject))
    });
}

/// One hearing as its findings see it.
#[derive(Debug, Clone, PartialEq)]
pub struct HearingFacts {
    pub facility: String,
    pub idx: u64,
    pub at: Date,
    pub counsel: bool,
    pub people_heard: u32,
}

/// Court process (Rule 61; ICCPR 14): hearings without counsel and hearings of more people at
/// once than policy allows, over the review interval up to `as_of`.
pub fn hearing_findings(policy: &Policy, h: &HearingFacts, as_of: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    let age = days_between(h.at, as_of);
    if age < 0 || age >= i64::from(policy.legal.review_interval_days) {
        return out;
    }
    let subject = Subject::Hearing {
        facility: h.facility.clone(),
        hearing: h.idx,
    };
    if !h.counsel {
        out.push(Finding {
            code: "hearing.no_counsel",
            rule: "Mandela Rules 61 and 119; ICCPR 14(3)(d): heard without counsel",
            subject: subject.clone(),
            severity: Severity::Serious,
            since: Some(h.at.to_string()),
            until: Some(h.at.to_string()),
            detail: format!("{} people heard with no counsel present", h.people_heard),
            evidence: vec![h.idx],
            words: Vec::new(),
        });
    }
    let max = policy.legal.max_people_per_hearing;
    if h.people_heard > max {
        out.push(Finding {
            code: "hearing.mass",
            rule: "Mandela Rule 111-120; ICCPR 14(1): a fair hearing for each person",
            subject,
            severity: Severity::Grave,
            since: Some(h.at.to_string()),
            until: Some(h.at.to_string()),
            detail: format!("{} people heard at once, over {max}", h.people_heard),
            evidence: vec![h.idx],
            words: Vec::new(),
        });
    }
    out
}

/// One whereabouts request as its finding sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct WhereaboutsFacts {
    pub facility: String,
    /// The request's entry.
    pub idx: u64,
    pub received: Timestamp,
    /// When it was answered, and the reply's entry.
    pub replied: Option<(Timestamp, u64)>,
}

/// Mandela Rules 68–69; CED arts. 17–18: a question whether a person is held here, not
/// answered within the policy's hours (as of the end of `as_of`), or answered late.
pub fn whereabouts_findings(policy: &Policy, w: &WhereaboutsFacts, as_of: Date) -> Option<Finding> {
    let day_end = as_of.plus_days(1).start();
    if w.received >= day_end {
        return None;
    }
    let limit = i64::from(policy.whereabouts.reply_hours);
    let due = Timestamp(w.received.millis() + limit * HOUR_MS);
    let answered = w.replied.filter(|(at, _)| *at < day_end);
    let until = answered.map_or(day_end, |(at, _)| at);
    if until <= due {
        return None;
    }
    let waited = (until.millis() - w.received.millis()) / HOUR_MS;
    let mut evidence = vec![w.idx];
    let detail = match answered {
        Some((at, reply)) => {
            evidence.push(reply);
            format!(
                "a whereabouts request received {} was answered {at}, {waited} hours later, over {limit}",
                w.received
            )
        }
        None => format!(
            "a whereabouts request received {} is unanswered after {waited} hours, over {limit}",
            w.received
        ),
    };
    Some(Finding {
        code: if answered.is_some() {
            "whereabouts.answered_late"
        } else {
            "whereabouts.unanswered"
        },
        rule: "Mandela Rules 68-69; CED arts. 17-18: those with a legitimate interest learn at once whether and where a person is held",
        subject: Subject::Facility {
            facility: w.facility.clone(),
        },
        severity: if answered.is_some() {
            Severity::Serious
        } else {
            Severity::Grave
        },
        since: Some(due.to_string()),
        until: answered.map(|(at, _)| at.to_string()),
        detail,
        evidence,
        words: Vec::new(),
    })
}

/// One visit from outside, or the request for one, as its findings see it.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitFacts {
    pub facility: String,
    /// The visit's entry.
    pub idx: u64,
    /// When the visit took place, or was refused.
    pub at: Timestamp,
    pub kind: crate::record::VisitorKind,
    pub visitor: String,
    pub independent: bool,
    pub outcome: crate::record::VisitOutcome,
    pub reason: Option<String>,
    pub authority: Option<String>,
    pub exposed: crate::record::Exposure,
    pub people_shown: u32,
    /// For a request recorded as pending: when it was asked for (`requested_at`, or when it
    /// was recorded).
    pub requested: Option<Timestamp>,
    /// For a request recorded as pending: the first record that answers it (its time and
    /// entry), if any.
    pub answered: Option<(Timestamp, u64)>,
}

/// Visits of more than this many days before the day evaluated are not judged on it (a
/// refusal or an exposure is a finding for the year after it).
const VISIT_YEAR_DAYS: i64 = 366;

/// Mandela Rules 83–85; OPCAT arts. 14 and 20: an independent monitor refused or restricted,
/// when the national preventive mechanism is the one refused or when others were admitted
/// within the policy's window of it; and Rule 1 (by analogy Rule 73(1)): people held shown
/// identifiably to visitors who are not monitors. Visits of the year up to the day are judged;
/// the visits admitted that make a refusal selective are those up to the end of the day.
pub fn oversight_findings(policy: &Policy, visits: &[VisitFacts], as_of: Date) -> Vec<Finding> {
    use crate::record::{Exposure, VisitOutcome, VisitorKind};
    let day_end = as_of.plus_days(1).start();
    let first = as_of.plus_days(-VISIT_YEAR_DAYS);
    let window = i64::from(policy.oversight.window_days);
    let seen: Vec<&VisitFacts> = visits.iter().filter(|v| v.at < day_end).collect();
    let mut out: Vec<Finding> = seen
        .iter()
        .filter(|v| v.outcome == VisitOutcome::Pending)
        .filter_map(|v| request_unanswered(policy, v, as_of))
        .collect();
    for v in seen.iter().filter(|v| Date::of(v.at) >= first) {
        let facility = Subject::Facility {
            facility: v.facility.clone(),
        };
        if v.outcome == VisitOutcome::Pending {
            // Judged below, however long ago it was asked for.
            continue;
        }
        let admitted = v.outcome != VisitOutcome::Refused;
        if v.independent && v.outcome != VisitOutcome::Admitted {
            let day = v.at.millis().div_euclid(DAY_MS);
            let others: Vec<&&VisitFacts> = seen
                .iter()
                .filter(|o| {
                    o.facility == v.facility
                        && !o.independent
                        && matches!(o.outcome, VisitOutcome::Admitted | VisitOutcome::Restricted)
                        && (o.at.millis().div_euclid(DAY_MS) - day).abs() <= window
                })
                .collect();
            let npm = v.kind == VisitorKind::Npm;
            if npm || !others.is_empty() {
                let what = format!(
                    "{} {} on {}: {}; by {}",
                    monitor(v),
                    v.outcome.as_str(),
                    Date::of(v.at),
                    v.reason.as_deref().unwrap_or("no reason recorded"),
                    v.authority.as_deref().unwrap_or("no authority recorded"),
                );
                let detail = if others.is_empty() {
                    format!("{what}; the mechanism has access to every place of detention and private interviews")
                } else {
                    let kinds: std::collections::BTreeSet<&str> =
                        others.iter().map(|o| o.kind.as_str()).collect();
                    format!(
                        "{what}; while {} visits by others ({}) were admitted within {window} days of it",
                        others.len(),
                        kinds.into_iter().collect::<Vec<_>>().join(", ")
                    )
                };
                let mut evidence = vec![v.idx];
                evidence.extend(others.iter().map(|o| o.idx));
                evidence.sort_unstable();
                out.push(Finding {
                    code: "oversight.access_refused",
                    rule: "Mandela Rules 83-85; OPCAT arts. 14 and 20 where the state is party: independent monitors have access to every place and to private interviews",
                    subject: facility.clone(),
                    severity: Severity::Grave,
                    since: Some(v.at.to_string()),
                    until: None,
                    detail,
                    evidence,
                    words: Vec::new(),
                });
            }
        }
        if !v.independent && admitted && v.exposed == Exposure::Identifiable && v.people_shown > 0 {
            let limit = policy.oversight.exposed_grave_people;
            out.push(Finding {
                code: "privacy.public_exposure",
                rule: "Mandela Rule 1 (dignity); by analogy Rule 73(1): people held are protected from insult, curiosity and publicity",
                subject: facility,
                severity: if v.people_shown > limit {
                    Severity::Grave
                } else {
                    Severity::Serious
                },
                since: Some(v.at.to_string()),
                until: None,
                detail: format!(
                    "{} people held shown identifiably to {} ({}) on {}{}",
                    v.people_shown,
                    v.visitor,
                    v.kind.as_str(),
                    Date::of(v.at),
                    if v.people_shown > limit {
                        format!(", over {limit}")
                    } else {
                        String::new()
                    }
                ),
                evidence: vec![v.idx],
                words: Vec::new(),
            });
        }
    }
    out
}

/// An independent monitor as a finding names it: "the national preventive mechanism PDDH (npm)",
/// "the independent monitor Cristosal (ngo)".
fn monitor(v: &VisitFacts) -> String {
    format!(
        "{} {} ({})",
        if v.kind == crate::record::VisitorKind::Npm {
            "the national preventive mechanism"
        } else {
            "the independent monitor"
        },
        v.visitor,
        v.kind.as_str()
    )
}

/// Mandela Rules 83–85; OPCAT arts. 14 and 20: an independent monitor's request to visit,
/// recorded as pending, with no record answering it (admitted, refused or restricted) by the
/// end of the day, more than `oversight.answer_days` days after it was asked for
/// (`oversight.request_unanswered`: serious; grave for the national preventive mechanism, whose
/// access the state cannot leave waiting); or answered, but more than those days after it was
/// asked for (`oversight.request_answered_late`, judged for a year after the answer: a notice;
/// serious for the national preventive mechanism).
fn request_unanswered(policy: &Policy, v: &VisitFacts, as_of: Date) -> Option<Finding> {
    if !v.independent {
        return None;
    }
    let day_end = as_of.plus_days(1).start();
    let asked = v.requested.unwrap_or(v.at);
    if asked >= day_end {
        return None;
    }
    let answered = v.answered.filter(|(at, _)| *at < day_end);
    if answered.is_some_and(|(at, _)| Date::of(at) < as_of.plus_days(-VISIT_YEAR_DAYS)) {
        return None;
    }
    let limit = i64::from(policy.oversight.answer_days);
    let waited = days_between(
        Date::of(asked),
        answered.map_or(as_of, |(at, _)| Date::of(at)),
    );
    if waited <= limit {
        return None;
    }
    let npm = v.kind == crate::record::VisitorKind::Npm;
    let who = format!("{} asked to visit on {}", monitor(v), Date::of(asked));
    let (code, severity, detail, mut evidence) = match answered {
        None => (
            "oversight.request_unanswered",
            if npm {
                Severity::Grave
            } else {
                Severity::Serious
            },
            format!("{who} and has had no answer in {waited} days, over {limit}"),
            vec![v.idx],
        ),
        Some((at, answer)) => (
            "oversight.request_answered_late",
            if npm {
                Severity::Serious
            } else {
                Severity::Notice
            },
            format!(
                "{who} and was answered on {} ({waited} days later, over {limit})",
                Date::of(at)
            ),
            vec![v.idx, answer],
        ),
    };
    evidence.sort_unstable();
    Some(Finding {
        code,
        rule: "Mandela Rules 83-85; OPCAT arts. 14 and 20 where the state is party: independent monitors have access to every place",
        subject: Subject::Facility {
            facility: v.facility.clone(),
        },
        severity,
        since: Some(Date::of(asked).plus_days(limit).to_string()),
        until: answered.map(|(at, _)| at.to_string()),
        detail,
        evidence,
        words: Vec::new(),
    })
}

/// One family visit request as the collective refusal sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyVisitRequestFacts {
    pub facility: String,
    /// The request's entry.
    pub idx: u64,
    pub booking: u64,
    pub at: Timestamp,
    /// Why it was refused, when it was.
    pub refused: Option<String>,
    pub authority: Option<String>,
}

/// Mandela Rules 58 and 43(3): family visits refused for one same reason to more than
/// `oversight.collective_refusal_people` people in the `oversight.collective_refusal_days`
/// days up to the day, who are more than `oversight.collective_refusal_percent` % of the family
/// visit requests of those days: family contact refused to all, not decided person by person.
/// One finding per facility and reason (reasons compared without case or extra spaces).
pub fn collective_refusal_findings(
    policy: &Policy,
    requests: &[FamilyVisitRequestFacts],
    as_of: Date,
) -> Vec<Finding> {
    use std::collections::{BTreeMap, BTreeSet};
    let o = &policy.oversight;
    let days = i64::from(o.collective_refusal_days.max(1));
    let (from, to) = (
        as_of.plus_days(1 - days).start(),
        as_of.plus_days(1).start(),
    );
    let mut asked: BTreeMap<&str, u64> = BTreeMap::new();
    let mut refused: BTreeMap<(&str, String), Vec<&FamilyVisitRequestFacts>> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.at >= from && r.at < to) {
        *asked.entry(r.facility.as_str()).or_default() += 1;
        if let Some(reason) = &r.refused {
            let key = reason
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            refused
                .entry((r.facility.as_str(), key))
                .or_default()
                .push(r);
        }
    }
    let mut out = Vec::new();
    for ((facility, _), group) in refused {
        let total = asked.get(facility).copied().unwrap_or(0);
        let people = group
            .iter()
            .map(|r| r.booking)
            .collect::<BTreeSet<_>>()
            .len() as u64;
        let count = group.len() as u64;
        if people <= u64::from(o.collective_refusal_people)
            || count * 100 <= u64::from(o.collective_refusal_percent) * total
        {
            continue;
        }
        let Some(first) = group.iter().min_by_key(|r| (r.at, r.idx)) else {
            continue;
        };
        let authorities: BTreeSet<&str> = group
            .iter()
            .filter_map(|r| r.authority.as_deref())
            .collect();
        let mut evidence: Vec<u64> = group.iter().map(|r| r.idx).collect();
        evidence.sort_unstable();
        out.push(Finding {
            code: "contact.collective_refusal",
            rule: "Mandela Rules 58 and 43(3): family visits at regular intervals; family contact is never prohibited as a restrictive measure",
            subject: Subject::Facility {
                facility: facility.to_owned(),
            },
            severity: Severity::Grave,
            since: Some(first.at.to_string()),
            until: None,
            detail: format!(
                "family visits refused to {people} people for one reason (\"{}\", by {}): {count} of the {total} family visit requests of the {days} days up to {as_of} ({}%), over {} people and {}%",
                first.refused.as_deref().unwrap_or_default(),
                if authorities.is_empty() {
                    "no authority recorded".to_owned()
                } else {
                    authorities.into_iter().collect::<Vec<_>>().join(", ")
                },
                count * 100 / total.max(1),
                o.collective_refusal_people,
                o.collective_refusal_percent,
            ),
            evidence,
            words: Vec::new(),
        });
    }
    out
}

/// One complaint as its findings see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplaintFacts {
    pub booking: u64,
    pub idx: u64,
    pub filed: Date,
    pub reply_due: Date,
    pub replied: bool,
    pub alleges_ill_treatment: bool,
    pub referred: bool,
}

/// Rules 56–57: a complaint not answered by its due date; an allegation of ill-treatment not
/// referred to an independent authority within the policy's days.
pub fn complaint_findings(policy: &Policy, c: &ComplaintFacts, as_of: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    if c.filed > as_of {
        return out;
    }
    let subject = Subject::Person { booking: c.booking };
    if !c.replied && c.reply_due < as_of {
        out.push(Finding {
            code: "complaint.reply_overdue",
            rule: "Mandela Rule 57(1): complaints dealt with promptly and replied to",
            subject: subject.clone(),
            severity: Severity::Serious,
            since: Some(c.reply_due.to_string()),
            until: None,
            detail: format!(
                "complaint of {} unanswered, due {}, {} days overdue",
                c.filed,
                c.reply_due,
                days_between(c.reply_due, as_of)
            ),
            evidence: vec![c.idx],
            words: Vec::new(),
        });
    }
    let limit = i64::from(policy.complaints.referral_days);
    if c.alleges_ill_treatment && !c.referred && days_between(c.filed, as_of) > limit {
        out.push(Finding {
            code: "complaint.ill_treatment_not_referred",
            rule: "Mandela Rule 57(3): allegations of ill-treatment go to an independent authority",
            subject,
            severity: Severity::Grave,
            since: Some(c.filed.to_string()),
            until: None,
            detail: format!(
                "allegation of ill-treatment filed {} not referred within {limit} days",
                c.filed
            ),
            evidence: vec![c.idx],
            words: Vec::new(),
        });
    }
    out
}

/// A death in custody and when each step of its case was done.
#[derive(Debug, Clone, PartialEq)]
pub struct DeathFacts {
    pub booking: u64,
    /// The death entry, which is the case.
    pub idx: u64,
    pub died: Date,
    /// (step, when done); `None` while pending.
    pub steps: Vec<(String, Option<Date>)>,
}

/// Rules 69–72: each step of a death case not done by its due date (a step done after the day
/// of evaluation counts as not done on it).
pub fn death_findings(policy: &Policy, d: &DeathFacts, as_of: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    if d.died > as_of {
        return out;
    }
    for (step, done) in &d.steps {
        let Some(limit) = policy.deaths.days_for(step) else {
            continue;
        };
        let done_by_then = done.is_some_and(|when| when <= as_of);
        let late = days_between(d.died, as_of) - i64::from(limit);
        if !done_by_then && late > 0 {
            out.push(Finding {
                code: "death.step_overdue",
                rule: "Mandela Rules 69-72: a death in custody is notified and investigated",
                subject: Subject::Person { booking: d.booking },
                severity: Severity::Grave,
                since: Some(d.died.to_string()),
                until: None,
                detail: format!(
                    "{} not done {late} days after its due date ({limit} days after the death on {})",
                    step.replace('_', " "),
                    d.died
                ),
                evidence: vec![d.idx],
                words: Vec::new(),
            });
        }
    }
    out
}

/// One movement out of or back to a cell, as the daily regime sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegimeMove {
    /// Milliseconds since the epoch.
    pub at: i64,
    pub out: bool,
    pub open_air: bool,
    pub idx: u64,
}

/// Minutes out of the cell and minutes of them in the open air, from a day's movements in time
/// order (an `out` closed by the next `back`; one left open is counted to `day_end`), and the
/// entries they rest on.
pub fn regime_minutes(moves: &[RegimeMove], day_end: i64) -> (i64, i64, Vec<u64>) {
    let (mut out_min, mut air_min, mut evidence) = (0, 0, Vec::new());
    let mut open: Option<RegimeMove> = None;
    for m in moves {
        evidence.push(m.idx);
        match (m.out, open) {
            (true, None) => open = Some(*m),
            (false, Some(o)) => {
                let minutes = (m.at - o.at) / 60_000;
                out_min += minutes;
                if o.open_air {
                    air_min += minutes;
                }
                open = None;
            }
            // A second `out` while out, or a `back` while in: the records are what they are;
            // the first `out` stands.
            _ => {}
        }
    }
    if let Some(o) = open {
        let minutes = (day_end - o.at).max(0) / 60_000;
        out_min += minutes;
        if o.open_air {
            air_min += minutes;
        }
    }
    (out_min, air_min, evidence)
}

/// One person's measured day.
#[derive(Debug, Clone, PartialEq)]
pub struct RegimeFacts {
    pub booking: u64,
    pub day: Date,
    pub out_of_cell_minutes: i64,
    pub open_air_minutes: i64,
    /// Alone in the cell that day, and since when (the allocation to the cell).
    pub alone_since: Option<Date>,
    pub evidence: Vec<u64>,
}

/// A person's day against the policy: Rule 23(1), an hour in the open air; out of the cell
/// under the policy's minutes; and, for someone alone in a cell, Rule 44: solitary confinement
/// when the hours in the cell reach the policy's, prolonged past its days.
pub fn regime_findings(policy: &Policy, r: &RegimeFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = Subject::Person { booking: r.booking };
    let day = Some(r.day.to_string());
    let finding = |code, rule, severity, since: Option<String>, detail: String| Finding {
        code,
        rule,
        subject: subject.clone(),
        severity,
        since,
        until: day.clone(),
        detail,
        evidence: r.evidence.clone(),
        words: Vec::new(),
    };
    let min = i64::from(policy.daily.open_air_minutes);
    if r.open_air_minutes < min {
        out.push(
            finding(
                "regime.open_air",
                "Mandela Rule 23(1): at least one hour a day of exercise in the open air",
                Severity::Serious,
                day.clone(),
                format!(
                    "{} minutes in the open air on {} (out of cell {} minutes), under {min}",
                    r.open_air_minutes, r.day, r.out_of_cell_minutes
                ),
            )
            .said(
                "open-air",
                &[
                    ("minutes", &r.open_air_minutes),
                    ("date", &r.day),
                    ("out", &r.out_of_cell_minutes),
                    ("min", &min),
                ],
            ),
        );
    }
    let min = i64::from(policy.daily.out_of_cell_minutes);
    if r.out_of_cell_minutes < min {
        out.push(
            finding(
                "regime.out_of_cell",
                "Mandela Rules 23 and 44; CPT standards: time out of the cell each day",
                Severity::Serious,
                day.clone(),
                format!(
                    "{} minutes out of the cell on {}, under {min}",
                    r.out_of_cell_minutes, r.day
                ),
            )
            .said(
                "out-of-cell",
                &[
                    ("minutes", &r.out_of_cell_minutes),
                    ("date", &r.day),
                    ("min", &min),
                ],
            ),
        );
    }
    if let Some(alone_since) = r.alone_since {
        let in_cell = 24 * 60 - r.out_of_cell_minutes;
        let hours = i64::from(policy.solitary.hours);
        if in_cell >= hours * 60 {
            out.push(finding(
                "solitary.confinement",
                "Mandela Rules 44-45: solitary confinement, 22 hours or more a day alone",
                Severity::Serious,
                day.clone(),
                format!(
                    "alone in the cell {}h{:02} on {} (at least {hours} hours), alone there since {alone_since}",
                    in_cell / 60,
                    in_cell % 60,
                    r.day
                ),
            )
            .said(
                "solitary",
                &[
                    ("time", &format!("{}h{:02}", in_cell / 60, in_cell % 60)),
                    ("date", &r.day),
                    ("hours", &hours),
                    ("as_of", &alone_since),
                ],
            ));
            let days = days_between(alone_since, r.day) + 1;
            let max = i64::from(policy.solitary.max_days);
            if days > max {
                out.push(
                    finding(
                        "solitary.prolonged",
                        "Mandela Rules 43(1)(b) and 44: prolonged solitary confinement",
                        Severity::Grave,
                        Some(alone_since.to_string()),
                        format!(
                            "alone in the cell for {days} days up to {}, over {max}",
                            r.day
                        ),
                    )
                    .said(
                        "solitary-prolonged",
                        &[("days", &days), ("date", &r.day), ("max", &max)],
                    ),
                );
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn date(s: &str) -> Date {
        Date::parse("date", s).unwrap_or(Date {
            year: 1970,
            month: 1,
            day: 1,
        })
    }

    pub(crate) fn policy() -> Policy {
        Policy::mandela_minimum().unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn cell(area_m2: u64, population: u64) -> CellFacts {
        CellFacts {
            facility: "F".into(),
            unit: "U".into(),
            cell: "C1".into(),
            area_cm2: area_m2 * 10_000,
            population,
            cna: 100,
            operational_capacity: 100,
            constant_light: false,
            bunks: 100,
            window: true,
            sanitation: true,
            mattresses: None,
            toilet_private: None,
            defined: 1,
            evidence: 7,
        }
    }

    pub(crate) fn codes(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.code).collect()
    }

    #[test]
    fn the_default_policy_parses_and_bad_policies_name_the_field() {
        let p = policy();
        assert_eq!(p.daily.open_air_minutes, 60);
        assert_eq!(p.space.icrc_m2, 3.4);
        let bad = MANDELA_MINIMUM.replace("icrc_m2 = 3.4", "icrc_m2 = -1.0");
        let e = Policy::from_toml(&bad).err().map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("space.icrc_m2")),
            "{e:?}"
        );
        let unknown = format!("{MANDELA_MINIMUM}\n[extra]\nx = 1\n");
        assert!(Policy::from_toml(&unknown).is_err());
    }

    #[test]
    fn space_at_each_threshold_and_one_step_either_side() {
        let p = policy();
        // 40 m² for 10 people is exactly 4.0: no CPT finding; for 11, 3.64: CPT only.
        assert!(cell_findings(&p, &cell(40, 10)).is_empty());
        assert_eq!(codes(&cell_findings(&p, &cell(40, 11))), ["space.cpt"]);
        // 34 m² for 10 is exactly 3.4: CPT but not ICRC; for 11, 3.09: ICRC too.
        assert_eq!(codes(&cell_findings(&p, &cell(34, 10))), ["space.cpt"]);
        assert_eq!(
            codes(&cell_findings(&p, &cell(34, 11))),
            ["space.cpt", "space.icrc"]
        );
        // 30 m² for 10 is exactly 3.0; 11 people make it 2.73.
        assert_eq!(
            codes(&cell_findings(&p, &cell(30, 10))),
            ["space.cpt", "space.icrc"]
        );
        let grave = cell_findings(&p, &cell(30, 11));
        assert_eq!(codes(&grave), ["space.cpt", "space.icrc", "space.ecthr"]);
        assert_eq!(grave[2].severity, Severity::Grave);
        assert_eq!(grave[2].evidence, [7]);
        // An empty cell has no space finding.
        assert!(cell_findings(&p, &cell(1, 0)).is_empty());
    }

    #[test]
    fn capacity_and_constant_light() {
        let p = policy();
        let mut c = cell(1000, 100);
        assert!(cell_findings(&p, &c).is_empty());
        c.population = 101;
        assert_eq!(
            codes(&cell_findings(&p, &c)),
            ["capacity.cna", "capacity.operational"]
        );
        c.operational_capacity = 101;
        assert_eq!(codes(&cell_findings(&p, &c)), ["capacity.cna"]);
        c.constant_light = true;
        assert_eq!(
            codes(&cell_findings(&p, &c)),
            ["capacity.cna", "light.constant"]
        );
        c.population = 0;
        assert!(cell_findings(&p, &c).is_empty());
    }

    #[test]
    fn hearings_without_counsel_or_of_too_many_people() {
        let p = policy();
        let max = p.legal.max_people_per_hearing;
        let day = date("2026-03-01");
        let mut h = HearingFacts {
            facility: "F".into(),
            idx: 9,
            at: day,
            counsel: true,
            people_heard: max,
        };
        assert!(hearing_findings(&p, &h, day).is_empty());
        h.people_heard = max + 1;
        assert_eq!(codes(&hearing_findings(&p, &h, day)), ["hearing.mass"]);
        h.people_heard = 1;
        h.counsel = false;
        let f = hearing_findings(&p, &h, day);
        assert_eq!(codes(&f), ["hearing.no_counsel"]);
        assert_eq!(f[0].evidence, [9]);
        // Only the review interval up to the day counts; a hearing after the day does not.
        let later = |days: i64| day.plus_days(days);
        let interval = i64::from(p.legal.review_interval_days);
        assert_eq!(hearing_findings(&p, &h, later(interval - 1)).len(), 1);
        assert!(hearing_findings(&p, &h, later(interval)).is_empty());
        assert!(hearing_findings(&p, &h, later(-1)).is_empty());
    }

    #[test]
    fn complaints_overdue_and_allegations_not_referred() {
        let p = policy();
        let mut c = ComplaintFacts {
            booking: 3,
            idx: 11,
            filed: date("2026-03-01"),
            reply_due: date("2026-03-15"),
            replied: false,
            alleges_ill_treatment: false,
            referred: false,
        };
        assert!(complaint_findings(&p, &c, date("2026-03-15")).is_empty());
        let f = complaint_findings(&p, &c, date("2026-03-16"));
        assert_eq!(codes(&f), ["complaint.reply_overdue"]);
        assert_eq!(f[0].evidence, [11]);
        c.replied = true;
        assert!(complaint_findings(&p, &c, date("2026-03-16")).is_empty());
        c.alleges_ill_treatment = true;
        let limit = i64::from(p.complaints.referral_days);
        let after = |days: i64| c.filed.plus_days(days);
        assert!(complaint_findings(&p, &c, after(limit)).is_empty());
        assert_eq!(
            codes(&complaint_findings(&p, &c, after(limit + 1))),
            ["complaint.ill_treatment_not_referred"]
        );
        c.referred = true;
        assert!(complaint_findings(&p, &c, after(limit + 1)).is_empty());
        // A complaint filed after the day is not judged on it.
        c.referred = false;
        assert!(complaint_findings(&p, &c, date("2026-02-28")).is_empty());
    }

    #[test]
    fn death_case_steps_at_their_due_dates() {
        let p = policy();
        let died = date("2026-03-01");
        let mut d = DeathFacts {
            booking: 5,
            idx: 77,
            died,
            steps: crate::events::DEATH_STEPS
                .iter()
                .map(|s| ((*s).to_owned(), None))
                .collect(),
        };
        let after = |days: i64| died.plus_days(days);
        let family = i64::from(p.deaths.family_informed_days);
        let on_due = death_findings(&p, &d, after(family));
        assert!(
            on_due
                .iter()
                .all(|f| !f.detail.starts_with("family informed")),
            "{on_due:?}"
        );
        let late = death_findings(&p, &d, after(family + 1));
        assert!(late
            .iter()
            .any(|f| f.detail.starts_with("family informed") && f.evidence == [77]));
        // Done in time: no finding; done after the day of evaluation: still overdue on it.
        d.steps[0].1 = Some(after(family + 3));
        assert!(death_findings(&p, &d, after(family + 3))
            .iter()
            .all(|f| !f.detail.starts_with("family informed")));
        assert!(death_findings(&p, &d, after(family + 2))
            .iter()
            .any(|f| f.detail.starts_with("family informed")));
        // Every step done: nothing, however late the day.
        for s in &mut d.steps {
            s.1 = Some(died);
        }
        assert!(death_findings(&p, &d, after(1000)).is_empty());
    }

    #[test]
    fn open_air_minutes_at_the_threshold() {
        let p = policy();
        let m = |min: i64, out: bool, open_air: bool, idx: u64| RegimeMove {
            at: min * 60_000,
            out,
            open_air,
            idx,
        };
        // 30 minutes indoors, then 59 in the open air: under the hour.
        let moves = [
            m(0, true, false, 1),
            m(30, false, false, 2),
            m(100, true, true, 3),
            m(159, false, false, 4),
        ];
        let (out, air, evidence) = regime_minutes(&moves, 24 * 60 * 60_000);
        assert_eq!((out, air, evidence), (89, 59, vec![1, 2, 3, 4]));
        let day = date("2026-03-01");
        // Out of the cell long enough, in the open air at the threshold and either side of it.
        let r = |air: i64| RegimeFacts {
            booking: 8,
            day,
            out_of_cell_minutes: 600,
            open_air_minutes: air,
            alone_since: None,
            evidence: vec![3, 4],
        };
        let min = i64::from(p.daily.open_air_minutes);
        assert_eq!(
            codes(&regime_findings(&p, &r(min - 1))),
            ["regime.open_air"]
        );
        assert!(regime_findings(&p, &r(min)).is_empty());
        assert!(regime_findings(&p, &r(min + 1)).is_empty());
        // Out of the cell at its threshold and either side (all of it in the open air).
        let o = |out: i64| RegimeFacts {
            out_of_cell_minutes: out,
            open_air_minutes: out,
            ..r(0)
        };
        let min = i64::from(p.daily.out_of_cell_minutes);
        assert_eq!(
            codes(&regime_findings(&p, &o(min - 1))),
            ["regime.out_of_cell"]
        );
        assert!(regime_findings(&p, &o(min)).is_empty());
        assert!(regime_findings(&p, &o(min + 1)).is_empty());
        // Alone in the cell: 22 hours in it is solitary confinement, 21h59 is not; past 15
        // days alone it is prolonged.
        let alone = |out: i64, since: &str| RegimeFacts {
            alone_since: Some(date(since)),
            ..o(out)
        };
        let solitary = |f: &[Finding]| {
            codes(f)
                .into_iter()
                .filter(|c| c.starts_with("solitary"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            solitary(&regime_findings(&p, &alone(120, "2026-03-01"))),
            ["solitary.confinement"]
        );
        assert!(solitary(&regime_findings(&p, &alone(121, "2026-01-01"))).is_empty());
        // 1 March is the 15th day counting from 15 February; the 16th from 14 February.
        assert_eq!(
            solitary(&regime_findings(&p, &alone(60, "2026-02-15"))),
            ["solitary.confinement"]
        );
        assert_eq!(
            solitary(&regime_findings(&p, &alone(60, "2026-02-14"))),
            ["solitary.confinement", "solitary.prolonged"]
        );
        // Still out at the end of the day: counted to the end.
        let (out, air, _) = regime_minutes(&[m(1380, true, true, 5)], 1440 * 60_000);
        assert_eq!((out, air), (60, 60));
    }

    #[test]
    fn facility_capacity_sums_its_cells() {
        let mut a = cell(1000, 60);
        let mut b = cell(1000, 40);
        b.cell = "C2".into();
        a.cna = 50;
        b.cna = 50;
        assert!(facility_findings(&[a.clone(), b.clone()]).is_empty());
        b.population = 41;
        let f = facility_findings(&[a.clone(), b.clone()]);
        assert_eq!(codes(&f), ["capacity.facility_cna"]);
        assert!(f[0].detail.contains("101 people"), "{}", f[0].detail);
        a.operational_capacity = 50;
        b.operational_capacity = 50;
        assert_eq!(
            codes(&facility_findings(&[a, b])),
            ["capacity.facility_cna", "capacity.facility_operational"]
        );
    }

    fn custody() -> CustodyFacts {
        CustodyFacts {
            birth: None,
            juvenile_facility: false,
            booking: 42,
            admitted: date("2026-01-01"),
            legal_status: "sentenced".into(),
            release_date: None,
            orders: vec![OrderFacts {
                kind: "sentence".into(),
                issued: date("2026-01-01"),
                expires: None,
                review: None,
                idx: 43,
                emergency: None,
            }],
            last_family_contact: Some((date("2026-01-10"), 50)),
            last_legal_contact: Some((date("2026-01-10"), 51)),
            last_hearing: None,
            evidence: 42,
            intake: IntakeFacts {
                admitted_at: date("2026-01-01").start(),
                allocated: true,
                charged: true,
                ..IntakeFacts::default()
            },
        }
    }

    #[test]
    fn legal_basis_at_each_threshold() {
        let p = policy();
        let day = date("2026-01-20");
        let mut c = custody();
        assert!(custody_findings(&p, &c, day).is_empty());
        c.orders.clear();
        assert_eq!(codes(&custody_findings(&p, &c, day)), ["legal.no_order"]);

        // An order expiring on the day of evaluation is no longer in force; one expiring the
        // day after still is.
        let mut c = custody();
        c.orders[0].expires = Some(date("2026-01-21"));
        assert!(custody_findings(&p, &c, day).is_empty());
        c.orders[0].expires = Some(date("2026-01-20"));
        let f = custody_findings(&p, &c, day);
        assert_eq!(codes(&f), ["legal.order_expired"]);
        assert_eq!(f[0].since.as_deref(), Some("2026-01-20"));
        assert_eq!(f[0].evidence, [43]);

        let mut c = custody();
        c.orders[0].review = Some(day);
        assert!(custody_findings(&p, &c, day).is_empty());
        c.orders[0].review = Some(date("2026-01-19"));
        assert_eq!(
            codes(&custody_findings(&p, &c, day)),
            ["legal.review_overdue"]
        );

        let mut c = custody();
        c.release_date = Some(day);
        assert!(custody_findings(&p, &c, day).is_empty());
        c.release_date = Some(date("2026-01-19"));
        assert_eq!(
            codes(&custody_findings(&p, &c, day)),
            ["legal.release_date_passed"]
        );
    }

    #[test]
    fn a_state_of_exception_suspends_no_finding_on_judicial_control() {
        let p = policy();
        let day = date("2026-06-01");
        // Remand on an order no court issued, expired, review overdue, no hearing, arrested
        // long before any judge: every finding on judicial control, with or without the regime.
        let mut c = custody();
        c.legal_status = "remand".into();
        c.orders[0].kind = "other".into();
        c.orders[0].review = Some(date("2026-02-01"));
        c.intake.arrested_at = Some(date("2026-01-01").start());
        let variants = |c: &CustodyFacts| {
            let mut expired = c.clone();
            expired.orders[0].expires = Some(date("2026-03-01"));
            vec![c.clone(), expired]
        };
        for plain in variants(&c) {
            let mut under = plain.clone();
            under.orders[0].emergency =
                Some("régimen de excepción (Decreto Legislativo 333)".into());
            for d in [
                date("2026-01-02"),
                date("2026-01-03"),
                date("2026-04-01"),
                day,
            ] {
                let without = custody_findings(&p, &plain, d);
                let with = custody_findings(&p, &under, d);
                assert_eq!(codes(&with), codes(&without), "on {d}");
                for (w, f) in with.iter().zip(&without) {
                    assert_eq!((w.severity, &w.evidence), (f.severity, &f.evidence));
                    let judicial = w.code.starts_with("legal.") || w.code.starts_with("hearing.");
                    assert_eq!(w.detail.contains(NON_DEROGABLE), judicial, "{}", w.detail);
                    assert!(!f.detail.contains(NON_DEROGABLE));
                }
            }
        }
        let codes_on_day = codes(&custody_findings(&p, &c, day));
        for code in [
            "legal.no_judicial_order",
            "legal.first_appearance_late",
            "legal.review_overdue",
            "hearing.none_in_interval",
        ] {
            assert!(codes_on_day.contains(&code), "{code} in {codes_on_day:?}");
        }
    }

    #[test]
    fn held_pending_an_order_is_grave_until_an_order_of_its_own_is_in_force() {
        let p = policy();
        let mut c = custody();
        c.orders.clear();
        c.intake.pending_order = true;
        let f = custody_findings(&p, &c, date("2026-01-01"));
        assert_eq!(codes(&f), ["legal.no_valid_basis"], "from the first day");
        assert_eq!(
            (f[0].severity, f[0].since.as_deref()),
            (Severity::Grave, Some("2026-01-01"))
        );
        // An order recorded since (its own entry) ends it from its day of issue, not before.
        c.orders.push(OrderFacts {
            kind: "pretrial_detention".into(),
            issued: date("2026-01-05"),
            expires: None,
            review: None,
            idx: 60,
            emergency: None,
        });
        assert_eq!(
            codes(&custody_findings(&p, &c, date("2026-01-04"))),
            ["legal.no_valid_basis"]
        );
        assert!(custody_findings(&p, &c, date("2026-01-05")).is_empty());
        // An expired order shown at the gate (recorded with the admission) is no basis.
        let mut c = custody();
        c.intake.pending_order = true;
        c.orders[0].idx = c.evidence;
        c.orders[0].expires = Some(date("2026-01-01"));
        assert_eq!(
            codes(&custody_findings(&p, &c, date("2026-01-02"))),
            ["legal.no_valid_basis"]
        );
    }

    #[test]
    fn the_quality_of_the_legal_basis_at_each_threshold() {
        let p = policy();
        let hour = |d: &str, h: i64| Timestamp(date(d).start().millis() + h * 3_600_000);
        let day = date("2026-01-02");
        // Admitted 2026-01-01 00:00 on a transfer order: 48 hours by the end of 01-02 is the
        // limit, one more hour beyond it.
        let mut c = custody();
        c.orders[0].kind = "transfer_agreement".into();
        assert!(custody_findings(&p, &c, day).is_empty());
        c.intake.admitted_at = hour("2025-12-31", 23);
        let f = custody_findings(&p, &c, day);
        assert_eq!(codes(&f), ["legal.no_judicial_order"]);
        assert_eq!(
            (f[0].severity, f[0].evidence.as_slice()),
            (Severity::Grave, &[43][..])
        );

        // The untried: brought before a judge within 48 hours of arrest, and told the charge.
        let mut c = custody();
        c.legal_status = "remand".into();
        c.orders[0].kind = "pretrial_detention".into();
        c.intake.arrested_at = Some(hour("2025-12-30", 0));
        // The order of 2026-01-01 counts as the appearance by the end of its day: 72 hours.
        assert_eq!(
            codes(&custody_findings(&p, &c, day)),
            ["legal.first_appearance_late"]
        );
        c.intake.arrested_at = Some(hour("2025-12-31", 0));
        assert!(custody_findings(&p, &c, day).is_empty());
        // Held for another state on a transfer, never heard and never charged.
        let mut c = custody();
        c.legal_status = "held_for_another_state".into();
        c.orders[0].kind = "transfer_agreement".into();
        c.intake.arrested_at = Some(hour("2025-12-01", 0));
        c.intake.charged = false;
        c.last_legal_contact = Some((date("2026-01-01"), 51));
        c.last_hearing = Some((date("2026-01-01"), 52));
        let f = custody_findings(&p, &c, date("2026-01-05"));
        assert_eq!(
            codes(&f),
            [
                "legal.no_judicial_order",
                "legal.first_appearance_late",
                "legal.no_charge"
            ]
        );
        // A hearing within 48 hours of the arrest is the appearance.
        c.intake.first_hearing = Some((hour("2025-12-02", 23), 70));
        assert!(!codes(&custody_findings(&p, &c, date("2026-01-05")))
            .contains(&"legal.first_appearance_late"));

        // Registered 24 hours after admission is on time; 25 is late; transcribed is neither.
        let mut c = custody();
        c.intake.recorded_at = Some(hour("2026-01-02", 0));
        assert!(custody_findings(&p, &c, day).is_empty());
        c.intake.recorded_at = Some(hour("2026-01-02", 1));
        assert_eq!(
            codes(&custody_findings(&p, &c, day)),
            ["intake.late_registration"]
        );
    }

    #[test]
    fn a_whereabouts_request_unanswered_or_answered_late_at_the_policys_hours() {
        let p = policy();
        assert_eq!(p.whereabouts.reply_hours, 24);
        let day = date("2026-01-01");
        let start = day.start().millis();
        let request = |received: i64, replied: Option<i64>| WhereaboutsFacts {
            facility: "CECOT".into(),
            idx: 7,
            received: Timestamp(received),
            replied: replied.map(|r| (Timestamp(r), 9)),
        };
        // Received at midnight: the 24 hours end exactly with the day shown.
        assert_eq!(whereabouts_findings(&p, &request(start, None), day), None);
        // One millisecond earlier: the day shown ends one millisecond after the answer was due.
        let f = whereabouts_findings(&p, &request(start - 1, None), day).expect("a finding");
        assert_eq!(
            (f.code, f.severity, f.evidence.clone()),
            ("whereabouts.unanswered", Severity::Grave, vec![7])
        );
        assert!(
            f.rule.contains("68") && f.rule.contains("CED"),
            "{}",
            f.rule
        );
        // One millisecond later: within the hours.
        assert_eq!(
            whereabouts_findings(&p, &request(start + 1, None), day),
            None
        );
        // Answered: on the hour, within; one millisecond past it, late (serious, not grave).
        let due = start - 10 * HOUR_MS + 24 * HOUR_MS;
        assert_eq!(
            whereabouts_findings(&p, &request(start - 10 * HOUR_MS, Some(due)), day),
            None
        );
        let late = whereabouts_findings(&p, &request(start - 10 * HOUR_MS, Some(due + 1)), day)
            .expect("late");
        assert_eq!(
            (late.code, late.severity, late.evidence.clone()),
            ("whereabouts.answered_late", Severity::Serious, vec![7, 9])
        );
        // An answer after the day shown is not yet seen: unanswered on that day.
        let f = whereabouts_findings(
            &p,
            &request(start - 48 * HOUR_MS, Some(start + 30 * HOUR_MS)),
            day,
        )
        .expect("unanswered");
        assert_eq!(f.code, "whereabouts.unanswered");
        // A request received after the day shown is not judged on it.
        assert_eq!(
            whereabouts_findings(&p, &request(start + 25 * HOUR_MS, None), day),
            None
        );
    }

    fn visit(
        idx: u64,
        kind: crate::record::VisitorKind,
        outcome: crate::record::VisitOutcome,
        at: Timestamp,
    ) -> VisitFacts {
        VisitFacts {
            facility: "CECOT".into(),
            idx,
            at,
            kind,
            visitor: "visitante".into(),
            independent: kind.monitors(),
            outcome,
            reason: (outcome != crate::record::VisitOutcome::Admitted)
                .then(|| "régimen de excepción".to_owned()),
            authority: Some("Dirección".into()),
            exposed: crate::record::Exposure::Nobody,
            people_shown: 0,
            requested: None,
            answered: None,
        }
    }

    /// 10:00 on the day `d` days from `day`.
    fn ten_am(day: Date, d: i64) -> Timestamp {
        Timestamp(day.plus_days(d).start().millis() + 10 * HOUR_MS)
    }

    /// A request to visit recorded as pending at 10:00, `d` days from `day` (entry 1).
    fn pending_request(day: Date, d: i64, kind: crate::record::VisitorKind) -> VisitFacts {
        let mut v = visit(
            1,
            kind,
            crate::record::VisitOutcome::Pending,
            ten_am(day, d),
        );
        v.reason = None;
        v
    }

    /// The code and severity of each oversight finding on `visits` as of `day`.
    fn oversight_codes(
        p: &Policy,
        visits: &[VisitFacts],
        day: Date,
    ) -> Vec<(&'static str, Severity)> {
        oversight_findings(p, visits, day)
            .into_iter()
            .map(|f| (f.code, f.severity))
            .collect()
    }

    #[test]
    fn a_monitors_request_unanswered_at_the_policys_days_and_one_either_side() {
        use crate::record::{VisitOutcome as O, VisitorKind as K};
        let p = policy();
        assert_eq!(p.oversight.answer_days, 30);
        let day = date("2025-05-31");
        let t = |d: i64| ten_am(day, d);
        let pending = |d: i64, kind: K| pending_request(day, d, kind);
        let found = |vs: &[VisitFacts]| oversight_codes(&p, vs, day);
        // Asked 29 or 30 days before the day: within the days; 31: unanswered.
        assert!(found(&[pending(-29, K::Ngo)]).is_empty());
        assert!(found(&[pending(-30, K::Ngo)]).is_empty());
        assert_eq!(
            found(&[pending(-31, K::Ngo)]),
            [("oversight.request_unanswered", Severity::Serious)]
        );
        let f = oversight_findings(&p, &[pending(-31, K::Ngo)], day);
        assert_eq!(f[0].evidence, [1]);
        assert_eq!(f[0].since.as_deref(), Some("2025-05-30"));
        // The national preventive mechanism left waiting is grave.
        assert_eq!(
            found(&[pending(-31, K::Npm)]),
            [("oversight.request_unanswered", Severity::Grave)]
        );
        // requested_at, when recorded, is when it was asked for.
        let mut asked_earlier = pending(-5, K::Inspector);
        asked_earlier.requested = Some(t(-40));
        assert_eq!(found(&[asked_earlier]).len(), 1);
        // Answered by the end of the day: no longer unanswered (60 days on, it was answered
        // late); answered after it: still unanswered then.
        let mut answered = pending(-60, K::Ngo);
        answered.answered = Some((t(0), 9));
        assert_eq!(
            found(&[answered.clone()]),
            [("oversight.request_answered_late", Severity::Notice)]
        );
        answered.answered = Some((t(1), 9));
        assert_eq!(
            found(&[answered]),
            [("oversight.request_unanswered", Severity::Serious)]
        );
        // Asked more than a year before the day: still unanswered. Not a monitor's (a
        // journalist waiting is not a monitor refused), or asked after the day: nothing. A
        // pending request is not a refusal, nor a visit admitted for others.
        assert_eq!(found(&[pending(-400, K::Ngo)]).len(), 1);
        assert!(found(&[pending(-60, K::Journalist)]).is_empty());
        assert!(found(&[pending(2, K::Ngo)]).is_empty());
        let refused = visit(2, K::Ngo, O::Refused, t(-3));
        let mut tour = pending(-2, K::MediaTour);
        tour.idx = 3;
        assert!(found(&[refused, tour]).is_empty());
        // A stricter policy finds sooner.
        let mut strict = policy();
        strict.oversight.answer_days = 29;
        assert_eq!(
            oversight_findings(&strict, &[pending(-30, K::Ngo)], day).len(),
            1
        );
    }

    #[test]
    fn a_monitors_request_answered_late_at_the_policys_days_and_one_either_side() {
        use crate::record::VisitorKind as K;
        let p = policy();
        assert_eq!(p.oversight.answer_days, 30);
        let day = date("2025-05-31");
        let t = |d: i64| ten_am(day, d);
        // Asked on 04-01, answered `after` days later (by a refusal, entry 9).
        let answered = |after: i64, kind: K| {
            let mut v = pending_request(day, -60, kind);
            v.answered = Some((t(-60 + after), 9));
            v
        };
        let found = |v: VisitFacts| oversight_codes(&p, &[v], day);
        // Answered 29 or 30 days after it was asked for: on time; 31: late.
        assert!(found(answered(29, K::Ngo)).is_empty());
        assert!(found(answered(30, K::Ngo)).is_empty());
        assert_eq!(
            found(answered(31, K::Ngo)),
            [("oversight.request_answered_late", Severity::Notice)]
        );
        // The national preventive mechanism kept waiting: serious.
        assert_eq!(
            found(answered(31, K::Npm)),
            [("oversight.request_answered_late", Severity::Serious)]
        );
        let f = oversight_findings(&p, &[answered(45, K::Inspector)], day);
        assert_eq!(f[0].evidence, [1, 9]);
        assert_eq!(f[0].since.as_deref(), Some("2025-05-01"));
        assert_eq!(f[0].until, Some(t(-15).to_string()));
        assert!(
            f[0].detail.contains("45 days later, over 30"),
            "{}",
            f[0].detail
        );
        // A journalist's late answer is not a monitor's. A late answer of more than a year
        // before the day is no longer judged.
        assert!(found(answered(45, K::Journalist)).is_empty());
        let mut old = answered(45, K::Ngo);
        old.requested = Some(t(-500));
        old.answered = Some((t(-400), 9));
        assert!(found(old).is_empty());
        // A stricter policy finds a 30-day answer late.
        let mut strict = policy();
        strict.oversight.answer_days = 29;
        assert_eq!(
            oversight_findings(&strict, &[answered(30, K::Ngo)], day).len(),
            1
        );
    }

    #[test]
    fn a_monitor_refused_while_others_are_admitted_within_the_window() {
        use crate::record::{VisitOutcome as O, VisitorKind as K};
        let p = policy();
        assert_eq!(p.oversight.window_days, 90);
        let day = date("2025-05-31");
        let t = |d: i64| Timestamp(day.plus_days(d).start().millis() + 10 * HOUR_MS);
        let refused = visit(1, K::Ngo, O::Refused, t(-100));
        let found = |vs: &[VisitFacts]| {
            oversight_findings(&p, vs, day)
                .into_iter()
                .filter(|f| f.code == "oversight.access_refused")
                .collect::<Vec<_>>()
        };
        // An NGO refused, nobody else admitted: no finding (its refusal alone is not selective).
        assert!(found(std::slice::from_ref(&refused)).is_empty());
        // A media tour 89 or 90 days after it: selective; 91 days after: outside the window.
        for (d, expected) in [(-11, 1), (-10, 1), (-9, 0)] {
            let tour = visit(2, K::MediaTour, O::Admitted, t(d));
            let f = found(&[refused.clone(), tour]);
            assert_eq!(f.len(), expected, "{d}");
            if let Some(f) = f.first() {
                assert_eq!(
                    (f.severity, f.evidence.clone()),
                    (Severity::Grave, vec![1, 2])
                );
                assert!(
                    f.rule.contains("83-85") && f.rule.contains("OPCAT"),
                    "{}",
                    f.rule
                );
                assert_eq!(
                    f.subject,
                    Subject::Facility {
                        facility: "CECOT".into()
                    }
                );
            }
        }
        // The same window before the refusal.
        let before = visit(2, K::Influencer, O::Admitted, t(-190));
        assert_eq!(found(&[refused.clone(), before]).len(), 1);
        let too_early = visit(2, K::Influencer, O::Admitted, t(-191));
        assert!(found(&[refused.clone(), too_early]).is_empty());
        // A visit admitted after the day evaluated is not seen on it; nor one refused itself,
        // nor one of another facility, nor another monitor's.
        let later = visit(2, K::MediaTour, O::Admitted, t(1));
        let mut elsewhere = visit(3, K::Official, O::Admitted, t(-50));
        elsewhere.facility = "IZALCO".into();
        let judge = visit(4, K::Judge, O::Admitted, t(-50));
        let tour_refused = visit(5, K::MediaTour, O::Refused, t(-50));
        assert!(found(&[refused.clone(), later, elsewhere, judge, tour_refused]).is_empty());
        // A monitor restricted (areas withheld, no private interviews) counts as refused.
        let restricted = visit(1, K::Inspector, O::Restricted, t(-100));
        let official = visit(2, K::Official, O::Restricted, t(-60));
        assert_eq!(found(&[restricted, official]).len(), 1);
        // The national preventive mechanism refused or restricted: a finding on its own.
        for outcome in [O::Refused, O::Restricted] {
            let f = found(&[visit(1, K::Npm, outcome, t(-3))]);
            assert_eq!(f.len(), 1, "{outcome:?}");
            assert!(
                f[0].detail.contains("national preventive mechanism"),
                "{}",
                f[0].detail
            );
        }
        assert!(found(&[visit(1, K::Npm, O::Admitted, t(-3))]).is_empty());
        // A refusal more than a year before the day is no longer judged on it.
        assert_eq!(found(&[visit(1, K::Npm, O::Refused, t(-366))]).len(), 1);
        assert!(found(&[visit(1, K::Npm, O::Refused, t(-367))]).is_empty());
        // A stricter policy's longer window finds the tour 91 days after.
        let mut strict = policy();
        strict.oversight.window_days = 91;
        let tour = visit(2, K::MediaTour, O::Admitted, t(-9));
        assert_eq!(oversight_findings(&strict, &[refused, tour], day).len(), 1);
    }

    #[test]
    fn people_held_shown_identifiably_serious_then_grave_over_the_policys_number() {
        use crate::record::{Exposure, VisitOutcome as O, VisitorKind as K};
        let p = policy();
        assert_eq!(p.oversight.exposed_grave_people, 10);
        let day = date("2025-05-31");
        let at = day.start();
        let shown = |kind: K, exposed: Exposure, people: u32| {
            let mut v = visit(7, kind, O::Admitted, at);
            v.exposed = exposed;
            v.people_shown = people;
            oversight_findings(&p, &[v], day)
        };
        for (people, severity) in [
            (1, Severity::Serious),
            (9, Severity::Serious),
            (10, Severity::Serious),
            (11, Severity::Grave),
        ] {
            let f = shown(K::Influencer, Exposure::Identifiable, people);
            assert_eq!(codes(&f), ["privacy.public_exposure"], "{people}");
            assert_eq!((f[0].severity, f[0].evidence.clone()), (severity, vec![7]));
            assert!(f[0].rule.contains("Rule 1") && f[0].rule.contains("73(1)"));
        }
        // Faces hidden, nobody shown, or a monitor's visit: no finding.
        assert!(shown(K::MediaTour, Exposure::FacesHidden, 50).is_empty());
        assert!(shown(K::MediaTour, Exposure::Nobody, 0).is_empty());
        assert!(shown(K::Inspector, Exposure::Identifiable, 50).is_empty());
        // A visit after the day is not judged on it.
        let mut v = visit(7, K::MediaTour, O::Admitted, day.plus_days(1).start());
        v.exposed = Exposure::Identifiable;
        v.people_shown = 50;
        assert!(oversight_findings(&p, &[v], day).is_empty());
    }

    #[test]
    fn family_visits_refused_to_all_for_one_reason_at_each_threshold() {
        let p = policy();
        let o = &p.oversight;
        assert_eq!(
            (
                o.collective_refusal_days,
                o.collective_refusal_people,
                o.collective_refusal_percent
            ),
            (30, 10, 50)
        );
        let day = date("2025-05-31");
        let request =
            |idx: u64, booking: u64, d: i64, refused: Option<&str>| FamilyVisitRequestFacts {
                facility: "CECOT".into(),
                idx,
                booking,
                at: Timestamp(day.plus_days(d).start().millis() + 16 * HOUR_MS),
                refused: refused.map(str::to_owned),
                authority: refused.map(|_| "Dirección del CECOT".to_owned()),
            };
        let reason = "régimen de excepción: visitas suspendidas";
        // n people refused for the reason today, and `granted` requests granted.
        let requests = |n: u64, granted: u64| {
            let mut out: Vec<FamilyVisitRequestFacts> = (0..n)
                .map(|i| request(100 + i, i, 0, Some(reason)))
                .collect();
            out.extend((0..granted).map(|i| request(500 + i, 1000 + i, 0, None)));
            out
        };
        let found = |rs: &[FamilyVisitRequestFacts]| collective_refusal_findings(&p, rs, day);
        // People: 10 is not over the threshold, 11 is; 9 is not.
        assert!(found(&requests(9, 0)).is_empty());
        assert!(found(&requests(10, 0)).is_empty());
        let f = found(&requests(11, 0));
        assert_eq!(codes(&f), ["contact.collective_refusal"]);
        assert_eq!(f[0].severity, Severity::Grave);
        assert_eq!(f[0].evidence, (100..111).collect::<Vec<u64>>());
        assert!(f[0].rule.contains("58") && f[0].rule.contains("43(3)"));
        // The same person refused twice is one person.
        let mut twice = requests(10, 0);
        twice.push(request(200, 0, -1, Some(reason)));
        assert!(found(&twice).is_empty());
        // Share: 12 refused of 24 requests is 50%, not over it; of 23, over; of 25, under.
        assert!(found(&requests(12, 12)).is_empty());
        assert_eq!(found(&requests(12, 11)).len(), 1);
        assert!(found(&requests(12, 13)).is_empty());
        // One same reason, however written; different reasons are not added up.
        let mut mixed = requests(6, 0);
        mixed.extend((0..5).map(|i| {
            request(
                300 + i,
                50 + i,
                0,
                Some("  Régimen de excepción:  VISITAS suspendidas "),
            )
        }));
        assert_eq!(found(&mixed).len(), 1);
        let mut other = requests(6, 0);
        other.extend((0..5).map(|i| request(300 + i, 50 + i, 0, Some("sin cupo"))));
        assert!(found(&other).is_empty());
        // The window: 29 days before the day is in it, 30 days before is not.
        let mut edge = requests(10, 0);
        edge.push(request(400, 77, -29, Some(reason)));
        assert_eq!(found(&edge).len(), 1);
        let mut outside = requests(10, 0);
        outside.push(request(400, 77, -30, Some(reason)));
        assert!(found(&outside).is_empty());
        // A request after the day is not counted on it.
        let mut later = requests(10, 0);
        later.push(request(400, 77, 1, Some(reason)));
        assert!(found(&later).is_empty());
    }

    #[test]
    fn held_in_no_cell_past_the_allocation_delay() {
        let p = policy();
        let mut c = custody();
        c.intake.allocated = false;
        c.intake.admitted_at = Timestamp(date("2026-01-01").start().millis() + 3_600_000);
        // Admitted at 01:00: 23 hours to the end of the day, within the 24 allowed.
        assert!(custody_findings(&p, &c, date("2026-01-01")).is_empty());
        c.intake.admitted_at = Timestamp(date("2026-01-01").start().millis() - 1);
        let f = custody_findings(&p, &c, date("2026-01-01"));
        assert_eq!(codes(&f), ["custody.not_allocated"]);
        assert_eq!(f[0].severity, Severity::Serious);
        c.intake.allocated = true;
        assert!(custody_findings(&p, &c, date("2026-01-01")).is_empty());
    }

    #[test]
    fn a_child_in_a_facility_for_adults_at_the_eighteenth_birthday() {
        let p = policy();
        let day = date("2026-01-20");
        let mut c = custody();
        // 18 the day after, the day itself, the day before.
        c.birth = Some(date("2008-01-21"));
        let f = custody_findings(&p, &c, day);
        assert_eq!(codes(&f), ["custody.minor_in_adult_facility"]);
        assert_eq!(f[0].severity, Severity::Grave);
        assert_eq!(f[0].since.as_deref(), Some("2026-01-01"));
        c.birth = Some(date("2008-01-20"));
        assert!(custody_findings(&p, &c, day).is_empty());
        c.birth = Some(date("2008-01-19"));
        assert!(custody_findings(&p, &c, day).is_empty());
        // A facility for young people holds them lawfully.
        c.birth = Some(date("2010-06-01"));
        c.juvenile_facility = true;
        assert!(custody_findings(&p, &c, day).is_empty());
    }

    #[test]
    fn pretrial_maximum_at_the_threshold() {
        let p = policy();
        let mut c = custody();
        c.legal_status = "remand".into();
        c.last_family_contact = None;
        c.last_legal_contact = None;
        let max = i64::from(p.legal.pretrial_max_days);
        let admitted = c.admitted;
        let at = |days: i64| admitted.plus_days(days);
        // Heard recently, so that only the length of pretrial detention is in question.
        c.last_hearing = Some((at(max - 10), 1));
        let p2 = Policy {
            contact: ContactPolicy {
                family_days: 100_000,
                legal_days: 100_000,
            },
            ..p
        };
        assert!(custody_findings(&p2, &c, at(max - 1)).is_empty());
        assert!(custody_findings(&p2, &c, at(max)).is_empty());
        assert_eq!(
            codes(&custody_findings(&p2, &c, at(max + 1))),
            ["legal.pretrial_over_maximum"]
        );
    }

    #[test]
    fn untried_without_a_hearing_in_the_review_interval() {
        let p = Policy {
            contact: ContactPolicy {
                family_days: 100_000,
                legal_days: 100_000,
            },
            ..policy()
        };
        let mut c = custody();
        let interval = i64::from(p.legal.review_interval_days);
        let after = |d: Date, days: i64| d.plus_days(days);
        // The sentenced are not concerned.
        assert!(custody_findings(&p, &c, after(c.admitted, interval + 5)).is_empty());
        c.legal_status = "remand".into();
        assert!(custody_findings(&p, &c, after(c.admitted, interval)).is_empty());
        let f = custody_findings(&p, &c, after(c.admitted, interval + 1));
        assert_eq!(codes(&f), ["hearing.none_in_interval"]);
        assert_eq!(f[0].evidence, [42]);
        let heard = date("2026-02-01");
        c.last_hearing = Some((heard, 99));
        assert!(custody_findings(&p, &c, after(heard, interval)).is_empty());
        let f = custody_findings(&p, &c, after(heard, interval + 1));
        assert_eq!(codes(&f), ["hearing.none_in_interval"]);
        assert_eq!(f[0].evidence, [99]);
    }

    #[test]
    fn contact_intervals_at_the_threshold() {
        let p = policy();
        let mut c = custody();
        c.last_legal_contact = Some((date("2026-02-01"), 60));
        // Family contact on 2026-01-10; 30 days later is 2026-02-09.
        assert!(custody_findings(&p, &c, date("2026-02-09")).is_empty());
        let f = custody_findings(&p, &c, date("2026-02-10"));
        assert_eq!(codes(&f), ["contact.family"]);
        assert_eq!(f[0].evidence, [50]);
        assert_eq!(f[0].since.as_deref(), Some("2026-01-10"));
        // Never any legal contact: counted from admission, and only for the untried.
        c.last_legal_contact = None;
        c.last_family_contact = Some((date("2026-03-14"), 50));
        assert!(custody_findings(&p, &c, date("2026-03-15")).is_empty());
        c.legal_status = "remand".into();
        c.admitted = date("2026-01-01");
        c.last_family_contact = Some((date("2026-01-30"), 50));
        assert!(custody_findings(&p, &c, date("2026-01-31")).is_empty());
        let f = custody_findings(&p, &c, date("2026-02-01"));
        assert_eq!(codes(&f), ["contact.legal"]);
        assert_eq!(f[0].evidence, [42]);
    }
}
