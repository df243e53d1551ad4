//! The shapes of the API's answers, for its OpenAPI document: what the handlers answer and
//! the document describes. Depends on no handler.

/// Every error: `{"error": {"code", "message", "field"}}`.
#[derive(Debug, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code, e.g. `invalid_field`, `forbidden`, `over_capacity`.
    pub code: String,
    /// A sentence for the user.
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
}

/// The schema of a text that is one of `values`.
pub(crate) fn one_of(values: &[&str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// The answer to a write: the register entry that records it.
#[derive(Debug, utoipa::ToSchema)]
pub struct Recorded {
    /// The entry's index in the register.
    pub entry: u64,
}

/// The answer to a roll count: its entry and the count's report.
#[derive(Debug, utoipa::ToSchema)]
pub struct RecordedCount {
    /// The entry's index in the register.
    pub entry: u64,
    /// The day's counts of the facility as this one left them, and the cells not yet counted.
    pub report: habeas_store_sqlite::CountReport,
}

/// The answer of `GET /api/users`: every account (never a password hash or a second
/// factor's secret).
#[derive(Debug, utoipa::ToSchema)]
pub struct Users {
    pub users: Vec<habeas_core::accounts::User>,
}

/// The answer of `GET /api/persons/{person}`: the file and the history of every custody.
/// (Described here; the server writes it from the stored entries.)
#[derive(Debug, utoipa::ToSchema)]
pub struct PersonFileAnswer {
    /// Every register entry of every custody of the person's, oldest first. Health content is
    /// only for health staff and inspectors (for others its payload is `{"kind", "restricted":
    /// true}`); photographs are left out of the payloads.
    pub history: Vec<HistoryEntry>,
    pub person: habeas_store_sqlite::PersonFile,
}

/// One register entry in a person's history.
#[derive(Debug, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// The entry's index in the register.
    pub index: u64,
    /// When it was recorded (UTC, to the millisecond).
    pub time: String,
    /// What it records, e.g. `admitted`, `allocated`, `contact`, `health`.
    pub kind: String,
    /// Who recorded it, e.g. `user:reg.cecot`.
    pub actor: String,
    /// The custody (booking) it belongs to.
    pub booking: u64,
    /// The earlier entry it corrects, and why; entries are never edited in place.
    pub corrects: Option<CorrectionNote>,
    /// What was recorded, as the kind defines it.
    pub payload: serde_json::Value,
}

/// An entry's correction of an earlier one.
#[derive(Debug, utoipa::ToSchema)]
pub struct CorrectionNote {
    pub index: u64,
    pub reason: String,
}

/// The answer of `GET /api/population`: every cell, with its capacity and population.
#[derive(Debug, utoipa::ToSchema)]
pub struct Cells {
    /// The facility asked for (none: every facility the caller may read).
    pub facility: Option<String>,
    pub cells: Vec<habeas_store_sqlite::CellRow>,
    /// Each facility's people held now: in its cells, and each person in none.
    pub head_counts: Vec<habeas_store_sqlite::HeadCount>,
}

/// The answer of `GET /api/deaths`: each death in custody and the state of its steps.
#[derive(Debug, utoipa::ToSchema)]
pub struct DeathCases {
    pub facility: Option<String>,
    pub cases: Vec<habeas_store_sqlite::DeathCase>,
}

/// The answer of `GET /api/harms`: each serious injury, serious illness or transfer to a health
/// institution, its steps and what is still pending.
#[derive(Debug, utoipa::ToSchema)]
pub struct HarmCases {
    pub facility: Option<String>,
    pub cases: Vec<habeas_store_sqlite::HarmCase>,
}

/// The answer of `GET /api/logbook`: notes of the occurrence book, newest first.
#[derive(Debug, utoipa::ToSchema)]
pub struct LogbookNotes {
    pub notes: Vec<habeas_store_sqlite::LogbookRow>,
}

/// The answer of `GET /api/reports/compliance`: every finding of the policy on the day.
#[derive(Debug, utoipa::ToSchema)]
pub struct ComplianceReport {
    /// The policy the records were measured against.
    pub policy: String,
    /// The SHA-256 of the policy file's bytes (lowercase hex): for the built-in policy, of
    /// the shipped `policy/mandela-minimum.toml`.
    pub policy_sha256: String,
    /// Every threshold the policy relaxes below the Mandela minimum, with the law it cites
    /// (none for the built-in policy).
    pub policy_relaxes: Vec<habeas_core::compliance::Relaxed>,
    pub as_of: String,
    pub facility: Option<String>,
    pub findings: Vec<habeas_core::compliance::Finding>,
    /// The days on which a unit held people and nobody recorded its food and water (Rule 22):
    /// missing evidence, not findings.
    pub no_food_records: Vec<habeas_core::compliance::NoFoodRecords>,
}

/// Who is signed in (the answers of `POST` and `GET /api/session`).
#[derive(Debug, utoipa::ToSchema)]
pub struct Who {
    pub username: String,
    pub role: String,
    pub facilities: Vec<String>,
    pub language: String,
    /// Whether a second factor is enrolled.
    pub mfa: bool,
    /// The token to send as the `x-csrf-token` header with every change made with this
    /// session's cookie (none for an API token).
    pub csrf: Option<String>,
}

/// The answer of `GET /api/register`: what an overseer checks the register against.
#[derive(Debug, utoipa::ToSchema)]
pub struct RegisterStatus {
    /// The register's origin, as its checkpoints name it.
    pub origin: String,
    /// The key its checkpoints are signed with (a C2SP verifier key).
    pub verifier_key: String,
    /// How many entries it holds.
    pub size: u64,
    pub latest_checkpoint: Option<CheckpointSummary>,
    /// How many entries the access log holds.
    pub access_log_size: u64,
}

/// A signed checkpoint of the register.
#[derive(Debug, utoipa::ToSchema)]
pub struct CheckpointSummary {
    pub size: u64,
    pub made_at: String,
    /// The signed note.
    pub note: String,
}

/// The answer of `POST /api/register/verify`: the whole register recomputed.
#[derive(Debug, utoipa::ToSchema)]
pub struct Verification {
    /// Whether every entry, the tree and every checkpoint verify, and the projections agree.
    pub ok: bool,
    pub entries: Option<u64>,
    pub checkpoints: Option<u64>,
    /// The root of the whole tree, in hexadecimal.
    pub root: Option<String>,
    /// What failed, when something did.
    pub failure: Option<String>,
    /// The first entry that does not verify, when one does not.
    pub first_bad_index: Option<u64>,
}

/// The answer of `POST /api/estate`: the entries written and the cells left as they were.
#[derive(Debug, utoipa::ToSchema)]
pub struct EstateRecorded {
    pub entries: Vec<u64>,
    pub unchanged: u64,
}

/// The answer to a change of accounts.
#[derive(Debug, utoipa::ToSchema)]
pub struct AccountDone {
    pub username: String,
    /// What was done, e.g. `added`, `locked`, `token_issued`.
    pub action: String,
    /// A secret shown this once and never again (a token, a second factor's address).
    pub show_once: Option<String>,
}

/// The answer of `GET /api/tokens`: API tokens as listed (never a token or its hash).
#[derive(Debug, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<habeas_core::accounts::TokenInfo>,
}

/// The answer of `POST /api/tokens`: a token for the account that asked, shown this once.
#[derive(Debug, utoipa::ToSchema)]
pub struct TokenIssued {
    pub username: String,
    pub name: String,
    /// When it stops working (milliseconds since 1970, UTC).
    pub expires_at: i64,
    /// The token, for `Authorization: Bearer …`: shown this once, kept only as its SHA-256.
    pub token: String,
}

/// The answer of `DELETE /api/tokens/{name}`: how many tokens of that name were revoked.
#[derive(Debug, utoipa::ToSchema)]
pub struct TokensRevoked {
    pub username: String,
    pub name: String,
    pub revoked: u64,
}

/// The answer of `GET /api/access-log`: a page of the access log.
#[derive(Debug, utoipa::ToSchema)]
pub struct AccessLogPage {
    /// How many entries the access log holds.
    pub size: u64,
    pub entries: Vec<AccessEntry>,
}

/// One entry of the access log.
#[derive(Debug, utoipa::ToSchema)]
pub struct AccessEntry {
    pub index: u64,
    pub time: String,
    /// Who, e.g. `user:ins.nacional`.
    pub actor: String,
    pub facility: String,
    /// What, e.g. `access.read`, `access.refused`, `access.sign_in`.
    pub kind: String,
    /// About whom, e.g. `person:12`.
    pub subject: String,
    pub payload: serde_json::Value,
}

/// The answer of `GET /api/persons`: the people found, among those the caller may read.
#[derive(Debug, utoipa::ToSchema)]
pub struct PeopleFound {
    pub people: Vec<habeas_store_sqlite::PersonHit>,
}
