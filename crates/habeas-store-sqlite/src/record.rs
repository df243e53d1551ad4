//! Projections of charges, hearings, reviews, contact, requests and complaints.

use crate::backend;
use crate::custody::{b, event, not_held_here, open_here, reject, s, u};
use habeas_core::dates::Date;
use habeas_core::kinds;
use habeas_register::store::AppendError;
use habeas_register::Entry;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

pub(crate) fn apply(conn: &Connection, e: &Entry) -> Result<bool, AppendError> {
    let p = &e.payload;
    let on = Date::of(e.time);
    match e.kind.as_str() {
        kinds::CHARGE => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (offence, provision, date) = (s(p, "offence")?, s(p, "provision")?, s(p, "date")?);
            conn.prepare_cached("INSERT INTO charges (idx, booking, offence, provision, date) VALUES (?1, ?2, ?3, ?4, ?5)")
                .and_then(|mut st| st.execute(params![e.index as i64, booking as i64, offence, provision, date]))
                .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::REFUSED_AT_GATE => {
            if crate::custody::facility_country(conn, &e.facility)?.is_none() {
                return Err(reject(
                    "facility",
                    format!("facility {} is not defined", e.facility),
                ));
            }
            let (at, name, by) = (s(p, "at")?, s(p, "name")?, s(p, "brought_by")?);
            conn.prepare_cached(
                "INSERT INTO gate_refusals (idx, facility, at, name, brought_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| st.execute(params![e.index as i64, e.facility, at, name, by]))
            .map_err(backend)?;
        }
        kinds::WHEREABOUTS_REQUEST => {
            if crate::custody::facility_country(conn, &e.facility)?.is_none() {
                return Err(reject(
                    "facility",
                    format!("facility {} is not defined", e.facility),
                ));
            }
            let (at, requester, relationship, sought) = (
                s(p, "at")?,
                s(p, "requester")?,
                s(p, "relationship")?,
                s(p, "sought_name")?,
            );
            conn.prepare_cached(
                "INSERT INTO whereabouts_requests (idx, facility, at, requester, relationship, sought_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| {
                st.execute(params![e.index as i64, e.facility, at, requester, relationship, sought])
            })
            .map_err(backend)?;
        }
        kinds::WHEREABOUTS_REPLY => {
            let request = u(p, "request")?;
            let at = s(p, "at")?;
            let found: Option<(String, Option<i64>)> = conn
                .prepare_cached(
                    "SELECT at, replied FROM whereabouts_requests WHERE idx = ?1 AND facility = ?2",
                )
                .and_then(|mut st| {
                    st.query_row(params![request as i64, e.facility], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                })
                .map_err(backend)?;
            let Some((asked, replied)) = found else {
                return Err(not_held_here(
                    "request",
                    format_args!("entry {request} is not a whereabouts request"),
                    &e.facility,
                ));
            };
            if let Some(r) = replied {
                return Err(reject(
                    "request",
                    format!("the request was answered already (entry {r})"),
                )
                .said("answered-already", &[("entry", &r)]));
            }
            if at < asked.as_str() {
                return Err(reject(
                    "at",
                    format!("{at} is before the request was received ({asked})"),
                )
                .said("before-request", &[("at", &at), ("began", &asked)]));
            }
            let held = b(p, "held");
            let booking = p.get("booking").and_then(Value::as_u64);
            if let Some(booking) = booking {
                open_here(conn, e, booking, on)?;
                event(conn, booking, e.index)?;
            }
            conn.prepare_cached(
                "UPDATE whereabouts_requests SET replied = ?2, replied_at = ?3, held = ?4, booking = ?5 WHERE idx = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    request as i64,
                    e.index as i64,
                    at,
                    held,
                    booking.map(|b| b as i64)
                ])
            })
            .map_err(backend)?;
        }
        kinds::OVERSIGHT_VISIT => {
            if crate::custody::facility_country(conn, &e.facility)?.is_none() {
                return Err(reject(
                    "facility",
                    format!("facility {} is not defined", e.facility),
                ));
            }
            let text = |k: &str| p.get(k).and_then(Value::as_str);
            let (at, kind, visitor, outcome) = (
                s(p, "at")?,
                s(p, "visitor_kind")?,
                s(p, "visitor")?,
                s(p, "outcome")?,
            );
            let answers = p.get("answers").and_then(Value::as_u64);
            if let Some(request) = answers {
                // The request answered: a pending one of this facility, not answered before.
                let state: Option<(String, String, bool)> = conn
                    .prepare_cached(
                        "SELECT facility, outcome, EXISTS (SELECT 1 FROM oversight_visits a WHERE a.answers = v.idx)
                         FROM oversight_visits v WHERE v.idx = ?1",
                    )
                    .and_then(|mut st| {
                        st.query_row([request as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                            .optional()
                    })
                    .map_err(backend)?;
                match state {
                    Some((f, outcome, answered))
                        if f == e.facility && outcome == "pending" && !answered => {}
                    Some((f, _, _)) if f == e.facility => {
                        return Err(reject(
                            "answers",
                            format!("entry {request} is not a pending request to visit, or it has been answered"),
                        ))
                    }
                    _ => {
                        return Err(reject(
                            "answers",
                            format!("entry {request} is not a request to visit {}", e.facility),
                        ))
                    }
                }
            }
            conn.prepare_cached(
                "INSERT INTO oversight_visits (idx, facility, at, requested_at, visitor_kind, visitor, independent,
                     outcome, reason, authority, private_interviews, people_exposed, people_shown, answers)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.index as i64,
                    e.facility,
                    at,
                    text("requested_at"),
                    kind,
                    visitor,
                    b(p, "independent"),
                    outcome,
                    text("reason"),
                    text("authority"),
                    b(p, "private_interviews"),
                    text("people_exposed").unwrap_or("none"),
                    p.get("people_shown").and_then(Value::as_i64).unwrap_or(0),
                    answers.map(|a| a as i64)
                ])
            })
            .map_err(backend)?;
        }
        kinds::HEARING => {
            let bookings: Vec<u64> = p
                .get("bookings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            for booking in &bookings {
                open_here(conn, e, *booking, on)?;
            }
            let (court, at, mode) = (s(p, "court")?, s(p, "at")?, s(p, "mode")?);
            conn.prepare_cached(
                "INSERT INTO hearings (idx, facility, court, at, mode, counsel, people_heard, outcome, next_date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.index as i64,
                    e.facility,
                    court,
                    at,
                    mode,
                    p.get("counsel").and_then(Value::as_str),
                    p.get("people_heard").and_then(Value::as_i64).unwrap_or(0),
                    p.get("outcome").and_then(Value::as_str),
                    p.get("next_date").and_then(Value::as_str)
                ])
            })
            .map_err(backend)?;
            for booking in &bookings {
                conn.prepare_cached("INSERT INTO hearing_people (booking, idx) VALUES (?1, ?2)")
                    .and_then(|mut st| st.execute(params![*booking as i64, e.index as i64]))
                    .map_err(backend)?;
                event(conn, *booking, e.index)?;
            }
        }
        kinds::PHOTO => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (taken_on, media_type) = (s(p, "taken_on")?, s(p, "media_type")?);
            conn.prepare_cached(
                "INSERT INTO photos (idx, booking, taken_on, media_type) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.index as i64,
                    booking as i64,
                    taken_on,
                    media_type
                ])
            })
            .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::REVIEW => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (at, authority, outcome) = (s(p, "at")?, s(p, "authority")?, s(p, "outcome")?);
            conn.prepare_cached("INSERT INTO reviews (idx, booking, at, authority, outcome, next_review) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .and_then(|mut st| {
                    st.execute(params![e.index as i64, booking as i64, at, authority, outcome, p.get("next_review").and_then(Value::as_str)])
                })
                .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::CONTACT => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (kind, party, at) = (s(p, "kind")?, s(p, "party")?, s(p, "at")?);
            conn.prepare_cached("INSERT INTO contacts (idx, booking, kind, party, at, minutes, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .and_then(|mut st| {
                    st.execute(params![e.index as i64, booking as i64, kind, party, at, p.get("minutes").and_then(Value::as_i64), e.time.to_string()])
                })
                .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::NOTIFICATION_DECLINED => {
            let booking = u(p, "booking")?;
            // Held here, and said after the custody began (`open_here` checks `at`).
            open_here(conn, e, booking, on)?;
            let at = s(p, "at")?;
            conn.prepare_cached(
                "INSERT INTO notification_declines (idx, booking, at, witnessed_by) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.index as i64,
                    booking as i64,
                    at,
                    p.get("witnessed_by").and_then(Value::as_str)
                ])
            })
            .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::HARM => {
            let booking = u(p, "booking")?;
            // Held here, and after the custody began (`open_here` checks `at`).
            open_here(conn, e, booking, on)?;
            let (at, kind) = (s(p, "at")?, s(p, "kind")?);
            conn.prepare_cached(
                "INSERT INTO harm_cases (idx, booking, facility, at, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| {
                st.execute(params![e.index as i64, booking as i64, e.facility, at, kind])
            })
            .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::HARM_STEP => {
            let case = u(p, "case")?;
            let at = s(p, "at")?;
            // The facility that recorded the harm keeps its case, whether or not it still
            // holds the person.
            let found: Option<(i64, String, String)> = conn
                .prepare_cached(
                    "SELECT booking, at, kind FROM harm_cases WHERE idx = ?1 AND facility = ?2",
                )
                .and_then(|mut st| {
                    st.query_row(params![case as i64, e.facility], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
                })
                .map_err(backend)?;
            let Some((booking, harmed, kind)) = found else {
                return Err(not_held_here(
                    "case",
                    format_args!("entry {case} is not a serious-harm case nor an escape"),
                    &e.facility,
                ));
            };
            if at < harmed.as_str() {
                return Err(reject(
                    "at",
                    format!("{at} is before the harm it follows ({harmed})"),
                )
                .said("before-case", &[("at", &at), ("began", &harmed)]));
            }
            let step = s(p, "step")?;
            if kind == "escape" && step == "notice_declined" {
                return Err(reject(
                    "step",
                    format!("entry {case} is an escape: the person is not here to ask that nobody be told"),
                )
                .said("escape-no-decline", &[("entry", &case)]));
            }
            conn.prepare_cached(
                "INSERT INTO harm_steps (idx, harm_case, step, at, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| {
                st.execute(params![e.index as i64, case as i64, step, at, e.time.to_string()])
            })
            .map_err(backend)?;
            event(conn, booking as u64, e.index)?;
        }
        kinds::CONTACT_REQUEST => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (kind, party, at) = (s(p, "kind")?, s(p, "party")?, s(p, "at")?);
            conn.prepare_cached(
                "INSERT INTO contact_requests (idx, booking, kind, party, at, granted, reason, authority) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.index as i64,
                    booking as i64,
                    kind,
                    party,
                    at,
                    b(p, "granted"),
                    p.get("reason").and_then(Value::as_str),
                    p.get("authority").and_then(Value::as_str)
                ])
            })
            .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::COMPLAINT => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (at, due) = (s(p, "at")?, s(p, "reply_due")?);
            conn.prepare_cached(
                "INSERT INTO complaints (idx, facility, booking, at, confidential, alleges_ill_treatment, reply_due) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut st| {
                st.execute(params![e.index as i64, e.facility, booking as i64, at, b(p, "confidential"), b(p, "alleges_ill_treatment"), due])
            })
            .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::COMPLAINT_REPLY | kinds::COMPLAINT_REFERRAL => {
            let complaint = u(p, "complaint")?;
            let at = s(p, "at")?;
            let found: Option<(i64, String)> = conn
                .prepare_cached(
                    "SELECT booking, at FROM complaints WHERE idx = ?1 AND facility = ?2",
                )
                .and_then(|mut st| {
                    st.query_row(params![complaint as i64, e.facility], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                })
                .map_err(backend)?;
            let Some((booking, filed)) = found else {
                return Err(not_held_here(
                    "complaint",
                    format_args!("entry {complaint} is not a complaint"),
                    &e.facility,
                ));
            };
            if at < filed.as_str() {
                return Err(reject(
                    "at",
                    format!("{at} is before the complaint was made ({filed})"),
                )
                .said("before-complaint", &[("at", &at), ("began", &filed)]));
            }
            let column = if e.kind == kinds::COMPLAINT_REPLY {
                "replied"
            } else {
                "referred"
            };
            conn.prepare_cached(&format!(
                "UPDATE complaints SET {column} = coalesce({column}, ?2) WHERE idx = ?1"
            ))
            .and_then(|mut st| st.execute(params![complaint as i64, e.index as i64]))
            .map_err(backend)?;
            event(conn, booking as u64, e.index)?;
        }
        kinds::INCIDENT => {
            let bookings: Vec<u64> = p
                .get("bookings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            for booking in &bookings {
                open_here(conn, e, *booking, on)?;
            }
            let at = s(p, "at")?;
            conn.prepare_cached(
                "INSERT INTO incidents (idx, facility, at, force_used) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| {
                st.execute(params![e.index as i64, e.facility, at, b(p, "force_used")])
            })
            .map_err(backend)?;
            for booking in &bookings {
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO incident_people (booking, idx) VALUES (?1, ?2)",
                )
                .and_then(|mut st| st.execute(params![*booking as i64, e.index as i64]))
                .map_err(backend)?;
                event(conn, *booking, e.index)?;
            }
        }
        kinds::INCIDENT_REVIEW | kinds::INCIDENT_ADDENDUM => {
            let incident = u(p, "incident")?;
            let set = if e.kind == kinds::INCIDENT_REVIEW {
                "reviewed = coalesce(reviewed, ?2)"
            } else {
                "addenda = addenda + 1 + 0 * ?2"
            };
            let n = conn
                .prepare_cached(&format!(
                    "UPDATE incidents SET {set} WHERE idx = ?1 AND facility = ?3"
                ))
                .and_then(|mut st| st.execute(params![incident as i64, e.index as i64, e.facility]))
                .map_err(backend)?;
            if n == 0 {
                return Err(not_held_here(
                    "incident",
                    format_args!("entry {incident} is not an incident"),
                    &e.facility,
                ));
            }
            let people: Vec<i64> = conn
                .prepare_cached("SELECT booking FROM incident_people WHERE idx = ?1")
                .and_then(|mut st| st.query_map([incident as i64], |r| r.get(0))?.collect())
                .map_err(backend)?;
            for booking in people {
                event(conn, booking as u64, e.index)?;
            }
        }
        kinds::SANCTION => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (at, sanction) = (s(p, "at")?, s(p, "sanction")?);
            conn.prepare_cached("INSERT INTO sanctions (idx, booking, at, sanction, days, review) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .and_then(|mut st| {
                    st.execute(params![e.index as i64, booking as i64, at, sanction, p.get("days").and_then(Value::as_i64), p.get("review").and_then(Value::as_str)])
                })
                .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::HEALTH => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (at, kind) = (s(p, "at")?, s(p, "kind")?);
            conn.prepare_cached(
                "INSERT INTO health (idx, booking, at, kind) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| st.execute(params![e.index as i64, booking as i64, at, kind]))
            .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::SENTENCE_PLAN => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (at, by) = (s(p, "at")?, s(p, "drawn_up_by")?);
            conn.prepare_cached(
                "INSERT INTO sentence_plans (idx, booking, at, drawn_up_by, next_review) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.index as i64,
                    booking as i64,
                    at,
                    by,
                    p.get("next_review").and_then(Value::as_str)
                ])
            })
            .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::FOOD_SERVICE => {
            let unit = s(p, "unit")?;
            let known: bool = conn
                .prepare_cached("SELECT count(*) > 0 FROM units WHERE facility = ?1 AND code = ?2")
                .and_then(|mut st| st.query_row([&e.facility, unit], |r| r.get(0)))
                .map_err(backend)?;
            if !known {
                return Err(reject(
                    "unit",
                    format!("{unit} is not a unit of {}", e.facility),
                ));
            }
            conn.prepare_cached(
                "INSERT INTO food_services (idx, facility, unit, day, meals, water_available, water_hours, water_litres, recorded_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.index as i64,
                    e.facility,
                    unit,
                    s(p, "day").unwrap_or(""),
                    u(p, "meals").unwrap_or(0) as i64,
                    b(p, "water_available"),
                    p.get("water_hours").and_then(Value::as_i64),
                    p.get("water_litres").and_then(Value::as_i64),
                    s(p, "recorded_by").unwrap_or("")
                ])
            })
            .map_err(backend)?;
        }
        kinds::PROGRAMME => {
            let booking = u(p, "booking")?;
            open_here(conn, e, booking, on)?;
            let (at, programme, kind) = (s(p, "at")?, s(p, "programme")?, s(p, "kind")?);
            conn.prepare_cached("INSERT INTO programme_attendance (idx, booking, at, programme, kind, minutes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .and_then(|mut st| {
                    st.execute(params![e.index as i64, booking as i64, at, programme, kind, p.get("minutes").and_then(Value::as_i64).unwrap_or(0)])
                })
                .map_err(backend)?;
            event(conn, booking, e.index)?;
        }
        kinds::ENVIRONMENT => {
            let (place, at) = (s(p, "place")?, s(p, "at")?);
            let known: bool = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM cells WHERE facility = ?1 AND code = ?2) OR EXISTS (SELECT 1 FROM units WHERE facility = ?1 AND code = ?2)",
                )
                .and_then(|mut st| st.query_row([&e.facility, place], |r| r.get(0)))
                .map_err(backend)?;
            if !known {
                return Err(reject(
                    "place",
                    format!("{place} is not a cell or unit of {}", e.facility),
                ));
            }
            let (temperature, humidity) = (
                p.get("temperature_dc").and_then(Value::as_i64),
                p.get("humidity_permille").and_then(Value::as_i64),
            );
            // The heat index of a reading with both (Rule 13), worked out once, here.
            let heat_index = temperature
                .zip(humidity)
                .map(|(t, h)| habeas_core::environment::heat_index_dc(t, h));
            conn.prepare_cached(
                "INSERT INTO environment (idx, facility, place, at, temperature_dc, lighting_on, ventilation_on,
                 humidity_permille, heat_index_dc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.index as i64,
                    e.facility,
                    place,
                    at,
                    temperature,
                    p.get("lighting_on").and_then(Value::as_bool),
                    p.get("ventilation_on").and_then(Value::as_bool),
                    humidity,
                    heat_index
                ])
            })
            .map_err(backend)?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}
