//! The entry kinds the domain writes. A kind never changes meaning once entries of it exist.

/// An occurrence-book note.
pub const LOGBOOK_NOTE: &str = "logbook.note";
/// A facility defined (name, country).
pub const FACILITY: &str = "estate.facility";
/// A unit (pavilion, module, wing) defined.
pub const UNIT: &str = "estate.unit";
/// A cell defined, with its physical attributes and certified capacity.
pub const CELL: &str = "estate.cell";
/// A cell's certified capacity changed, naming the approving authority.
pub const CELL_CERTIFIED: &str = "estate.cell.certified";
/// A person admitted: a new custody (Rule 7).
pub const ADMITTED: &str = "custody.admitted";
/// A person placed in (or moved to) a cell.
pub const ALLOCATED: &str = "custody.allocated";
/// Two people to be kept apart.
pub const NON_ASSOCIATION: &str = "custody.non_association";
/// A non-association ended.
pub const NON_ASSOCIATION_ENDED: &str = "custody.non_association.ended";
/// A custody ended by release, with its legal reason.
pub const RELEASED: &str = "custody.released";
/// People moved out of or back into a cell, or out of or back into the facility.
pub const MOVEMENT: &str = "custody.movement";
/// A roll count of who is physically present.
pub const COUNT: &str = "custody.count";
/// A new commitment order and the legal status it brings.
pub const ORDER: &str = "custody.order";
/// A family's (or anyone's) question whether a person is held here, received by staff: the
/// answer is due within the policy's hours (Mandela Rules 68–69; Convention against Enforced
/// Disappearance arts. 17–18).
pub const WHEREABOUTS_REQUEST: &str = "whereabouts.requested";
/// The answer given to a whereabouts request.
pub const WHEREABOUTS_REPLY: &str = "whereabouts.replied";
/// A visit to a facility from outside, or the request for one, and what became of it:
/// inspectors, the national preventive mechanism, judges, NGOs, the press, influencers, media
/// tours, officials (Mandela Rules 83–85; OPCAT arts. 14 and 20 where the state is party).
pub const OVERSIGHT_VISIT: &str = "oversight.visit";
/// A person brought without an order in force and refused at the gate (no custody).
pub const REFUSED_AT_GATE: &str = "custody.refused_at_gate";
/// A custody moved to another facility of the system.
pub const TRANSFERRED: &str = "custody.transferred";
/// A custody agreement with another state.
pub const AGREEMENT: &str = "agreement.recorded";
/// A death in custody; opens a death case.
pub const DEATH: &str = "custody.death";
/// A step of a death case done.
pub const DEATH_STEP: &str = "death_case.step";
/// A person's identity corrected (the entry names the admission it corrects).
pub const IDENTITY_CORRECTED: &str = "person.identity_corrected";
/// A charge: offence and legal provision.
pub const CHARGE: &str = "custody.charge";
/// A court hearing of one person or many at once.
pub const HEARING: &str = "custody.hearing";
/// A review of pretrial detention.
pub const REVIEW: &str = "custody.review";
/// A visit, call or letter.
pub const CONTACT: &str = "contact.recorded";
/// A request for contact and its answer.
pub const CONTACT_REQUEST: &str = "contact.request";
/// The person's own decision that nobody be told of their imprisonment or transfer (Mandela
/// Rule 68 is their right, not a duty): in their words, with who witnessed it.
pub const NOTIFICATION_DECLINED: &str = "contact.notification_declined";
/// A request or complaint.
pub const COMPLAINT: &str = "complaint.filed";
/// The reply to a complaint.
pub const COMPLAINT_REPLY: &str = "complaint.replied";
/// A complaint referred to an independent authority.
pub const COMPLAINT_REFERRAL: &str = "complaint.referred";
/// An incident, with any force and restraints used.
pub const INCIDENT: &str = "incident.recorded";
/// The review of an incident.
pub const INCIDENT_REVIEW: &str = "incident.reviewed";
/// An addendum to an incident (incidents are corrected by addendum only).
pub const INCIDENT_ADDENDUM: &str = "incident.addendum";
/// A photograph of the person for identification (Rule 7), the image in the entry.
pub const PHOTO: &str = "custody.photo";
/// A disciplinary sanction (prohibited ones are refused).
pub const SANCTION: &str = "discipline.sanction";
/// A health record (restricted content).
pub const HEALTH: &str = "health.recorded";
/// Attendance at a programme.
pub const PROGRAMME: &str = "programme.attendance";
/// A sentenced person's individual plan: objectives and programmes, who drew it up, when it is
/// next reviewed (Mandela Rules 89 and 93–94).
pub const SENTENCE_PLAN: &str = "custody.sentence_plan";
/// A unit's food and drinking water on one day: the meals served, whether water was available
/// whenever needed (Mandela Rule 22).
pub const FOOD_SERVICE: &str = "food.service";
/// A serious injury, a serious illness or a transfer to a health institution of a person held
/// (Mandela Rules 69 and 71(1)): it opens a case.
pub const HARM: &str = "harm.recorded";
/// A step of a serious-harm case: the designated person told, the person's request that nobody
/// be, the report to an independent authority.
pub const HARM_STEP: &str = "harm.step";
/// An environment reading (temperature, lighting, ventilation) for a cell or unit.
pub const ENVIRONMENT: &str = "environment.reading";
