//! One complete example of every JSON document a user writes by hand: an admission and each
//! kind of record. The command line prints them (`habeas record --example hearing`,
//! `habeas admit --example`), the API's document carries them as the request bodies' examples,
//! and the tests hold them to the input types themselves ([`crate::record::RecordInput`],
//! [`crate::custody::AdmissionInput`]), so that an example is always one the system takes.
//!
//! Every field is shown, optional ones too. Bookings and entry numbers are placeholders: use
//! the person's booking (`habeas person find`) and the entry a reply or review is about.

use serde_json::{json, Value};

/// The record kinds, as the `"record"` field names them, in the order of the documentation.
pub const RECORD_KINDS: &[&str] = &[
    "charge",
    "hearing",
    "review",
    "contact",
    "contact_request",
    "notification_declined",
    "serious_harm",
    "harm_step",
    "complaint",
    "complaint_reply",
    "complaint_referral",
    "gate_refusal",
    "whereabouts_request",
    "whereabouts_reply",
    "oversight_visit",
    "incident",
    "incident_review",
    "incident_addendum",
    "photo",
    "sanction",
    "health",
    "programme",
    "sentence_plan",
    "food_service",
];

/// The example of the record `kind` (see [`RECORD_KINDS`]), or `None` for a kind that does
/// not exist.
pub fn record(kind: &str) -> Option<Value> {
    Some(match kind {
        "charge" => json!({
            "record": "charge", "facility": "CECOT", "booking": 300,
            "offence": "agrupaciones ilícitas", "provision": "Código Penal, art. 345",
            "date": "2025-05-30"
        }),
        "hearing" => json!({
            "record": "hearing", "facility": "CECOT", "bookings": [300, 301],
            "court": "Tribunal Especializado de Instrucción, San Salvador",
            "at": "2025-05-31T09:30:00Z", "mode": "video", "counsel": "Lcda. Marta Ruiz",
            "people_heard": 2, "outcome": "detención provisional", "next_date": "2025-11-30"
        }),
        "review" => json!({
            "record": "review", "facility": "CECOT", "booking": 300,
            "at": "2025-05-31T10:00:00Z", "authority": "Juzgado Especializado A",
            "outcome": "se mantiene la detención provisional", "next_review": "2025-08-31"
        }),
        "contact" => json!({
            "record": "contact", "facility": "CECOT", "booking": 300, "kind": "visit",
            "party": "family", "at": "2025-05-31T14:00:00Z", "with": "Rosa López (madre)",
            "minutes": 30, "notes": "visita en locutorio"
        }),
        "notification_declined" => json!({
            "record": "notification_declined", "facility": "CECOT", "booking": 300,
            "at": "2025-05-31T10:00:00Z",
            "statement": "No quiere que se avise a nadie de su detención: «mi madre está enferma y no quiero que se preocupe».",
            "witnessed_by": "Lcda. Ana Pérez, trabajo social"
        }),
        "serious_harm" => json!({
            "record": "serious_harm", "facility": "CECOT", "booking": 300,
            "at": "2025-05-31T14:20:00Z", "kind": "injury",
            "circumstances": "Caída desde la litera superior en la celda S1-C03; fractura de muñeca, llevado a la enfermería y luego al Hospital Nacional Rosales."
        }),
        "harm_step" => json!({
            "record": "harm_step", "facility": "CECOT", "case": 301,
            "step": "independent_authority_informed", "at": "2025-05-31T18:00:00Z",
            "detail": "Informe enviado a la Fiscalía General de la República, oficio FGR-UDV-1234-2025."
        }),
        "contact_request" => json!({
            "record": "contact_request", "facility": "CECOT", "booking": 300, "kind": "call",
            "party": "legal", "at": "2025-05-31T08:00:00Z", "granted": false,
            "reason": "sin línea disponible hoy; se programa para mañana",
            "authority": "Jefe de seguridad, turno A"
        }),
        "complaint" => json!({
            "record": "complaint", "facility": "CECOT", "booking": 300,
            "at": "2025-05-31T11:00:00Z", "confidential": true, "subject": "trato",
            "text": "golpes durante el registro de la celda", "alleges_ill_treatment": true,
            "reply_due": "2025-06-14"
        }),
        "complaint_reply" => json!({
            "record": "complaint_reply", "facility": "CECOT", "complaint": 1200,
            "at": "2025-06-10T09:00:00Z",
            "reply": "se abrió una investigación interna; se informa a la Procuraduría"
        }),
        "complaint_referral" => json!({
            "record": "complaint_referral", "facility": "CECOT", "complaint": 1200,
            "at": "2025-06-01T09:00:00Z",
            "authority": "Procuraduría para la Defensa de los Derechos Humanos"
        }),
        "gate_refusal" => json!({
            "record": "gate_refusal", "facility": "CECOT", "at": "2025-05-31T22:00:00Z",
            "name": "José Antonio Ramírez", "brought_by": "PNC, delegación Soyapango",
            "orders_shown": ["orden administrativa sin firma judicial"],
            "reason": "sin orden judicial de detención vigente"
        }),
        "whereabouts_request" => json!({
            "record": "whereabouts_request", "facility": "CECOT", "at": "2025-05-31T10:15:00Z",
            "requester": "Rosa Elena Martínez", "relationship": "madre",
            "contact": "7012-3456", "sought_name": "Kevin Alexander Martínez",
            "sought_birth_date": "2001-04-12", "sought_document": "DUI 05123456-7",
            "taken_on": "2025-05-20", "taken_where": "colonia Las Margaritas, Soyapango"
        }),
        "whereabouts_reply" => json!({
            "record": "whereabouts_reply", "facility": "CECOT", "request": 1200,
            "at": "2025-05-31T16:00:00Z", "held": true, "booking": 300,
            "answer": "se le informó en persona que está detenido aquí, y el tribunal que ordenó su detención"
        }),
        "oversight_visit" => json!({
            "record": "oversight_visit", "facility": "CECOT", "at": "2025-05-31T10:00:00Z",
            "requested_at": "2025-05-20T09:00:00Z", "visitor_kind": "journalist",
            "visitor": "Equipo de un canal de televisión extranjero", "independent": false,
            "outcome": "restricted", "reason": "solo se autorizó el recorrido del pabellón de muestra",
            "authority": "Ministerio de Justicia y Seguridad Pública",
            "private_interviews": false, "areas_visited": ["pabellón 1", "patio central"],
            "areas_withheld": ["celdas de aislamiento"], "people_exposed": "identifiable",
            "people_shown": 60,
            "notes": "filmaron a las personas detenidas en formación, sin camisa y con el rostro visible"
        }),
        "incident" => json!({
            "record": "incident", "facility": "CECOT", "at": "2025-05-31T16:20:00Z",
            "place": "M1-C01", "description": "riña entre dos personas durante el conteo",
            "bookings": [300, 301], "staff": ["custodio 114", "custodio 207"],
            "injuries": ["contusión en el rostro (booking 301)"], "force_used": true,
            "restraints": ["esposas, 20 minutos"], "authorised_by": "Jefe de turno"
        }),
        "incident_review" => json!({
            "record": "incident_review", "facility": "CECOT", "incident": 1300,
            "at": "2025-06-02T10:00:00Z", "reviewer": "Dirección del centro",
            "outcome": "uso de la fuerza proporcionado; se remite a la Inspectoría"
        }),
        "incident_addendum" => json!({
            "record": "incident_addendum", "facility": "CECOT", "incident": 1300,
            "at": "2025-06-01T08:00:00Z",
            "text": "el médico confirma la contusión; sin fractura"
        }),
        "photo" => json!({
            "record": "photo", "facility": "CECOT", "booking": 300, "taken_on": "2025-05-30",
            "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP//2Q=="
        }),
        "sanction" => json!({
            "record": "sanction", "facility": "CECOT", "booking": 300,
            "at": "2025-05-31T12:00:00Z", "offence": "posesión de un teléfono",
            "sanction": "loss_of_privileges", "days": 7, "authority": "Consejo disciplinario",
            "review": "2025-06-07", "hearing": "2025-05-31T11:00:00Z"
        }),
        "health" => json!({
            "record": "health", "facility": "CECOT", "booking": 300,
            "at": "2025-05-30T18:00:00Z", "kind": "admission_examination",
            "notes": "hematoma en el brazo izquierdo; sin tratamiento en curso",
            "referred_to": "Hospital Nacional Rosales"
        }),
        "programme" => json!({
            "record": "programme", "facility": "CECOT", "booking": 300,
            "at": "2025-05-31T08:00:00Z", "programme": "alfabetización",
            "kind": "education", "minutes": 90
        }),
        "sentence_plan" => json!({
            "record": "sentence_plan", "facility": "CECOT", "booking": 300,
            "at": "2025-05-31T09:00:00Z", "drawn_up_by": "Equipo técnico criminológico del centro",
            "objectives": ["terminar la educación básica", "mantener el contacto con la familia"],
            "programmes": ["alfabetización", "taller de carpintería"],
            "next_review": "2025-11-30"
        }),
        "food_service" => json!({
            "record": "food_service", "facility": "CECOT", "unit": "M1", "day": "2025-05-31",
            "meals": 2, "water_available": false, "water_hours": 4, "water_litres": 2,
            "recorded_by": "Sargento de turno, cocina del módulo 1",
            "notes": "desayuno y cena; el agua se corta de 10:00 a 16:00"
        }),
        _ => return None,
    })
}

/// The example of an admission (Rule 7): identity, the order it rests on, the arrest, and
/// what the person brought, with every optional part shown.
pub fn admission() -> Value {
    json!({
        "new_person": true,
        "facility": "CECOT",
        "person": {
            "given_names": "Nery Alexander",
            "surnames": ["Portillo", "Menjívar"],
            "aliases": ["el Flaco"],
            "birth_date": "1994-07-12",
            "sex": "male",
            "gender": "hombre",
            "nationalities": ["SV"],
            "documents": [{"kind": "DUI", "number": "04567890-1", "issuer": "SV"}],
            "language": "es",
            "photo": "fotografía de ingreso, expediente 123-2025"
        },
        "admitted_at": "2025-05-30T18:00:00Z",
        "legal_status": "remand",
        "orders": [{
            "kind": "pretrial_detention",
            "authority": "Juzgado Especializado de Instrucción A, San Salvador",
            "reference": "123-2025",
            "issued": "2025-05-30",
            "expires": "2025-11-30",
            "emergency": {"name": "régimen de excepción", "decree": "Decreto Legislativo 333", "declared": "2022-03-27"}
        }],
        "arrest": {"at": "2025-05-29T06:00:00Z", "place": "Soyapango", "authority": "PNC"},
        "injuries": ["hematoma en el brazo izquierdo"],
        "ill_treatment_complaints": ["dice que lo golpearon al detenerlo"],
        "property": [{"item": "reloj", "quantity": 1, "description": "Casio, correa negra"}],
        "family": [{"name": "Rosa López", "relationship": "madre", "contact": "+503 7000 0000"}],
        "children": [{"age": 4, "whereabouts": "San Salvador", "carer": "abuela"}],
        "emergency_contact": {"name": "Rosa López", "relationship": "madre", "phone": "+503 7000 0000"},
        "consular": null
    })
}

/// The example of an admission of a foreign national: the consular part (Rule 62) filled in.
pub fn consular() -> Value {
    json!({"rights_advised_at": "2025-05-30T18:30:00Z", "notification_requested": true, "notified_at": "2025-05-30T20:00:00Z"})
}

#[cfg(test)]
mod tests {
    use super::*;
    use habeas_register::Timestamp;

    fn now() -> Timestamp {
        Timestamp::from_millis(1_764_000_000_000)
    }

    #[test]
    fn every_record_example_is_one_the_record_type_takes() {
        let actor = crate::ids::Actor::parse("actor", "registro.ana").unwrap();
        for kind in RECORD_KINDS {
            let v = record(kind).unwrap();
            assert_eq!(v["record"], *kind);
            let input: crate::record::RecordInput =
                serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{kind}: {e}"));
            input
                .validate(now(), &actor)
                .unwrap_or_else(|e| panic!("{kind}: {}: {}", e.field, e.message));
        }
        assert!(record("nonsense").is_none());
    }

    #[test]
    fn the_admission_example_is_one_the_admission_type_takes() {
        for consular_part in [false, true] {
            let mut v = admission();
            if consular_part {
                v["consular"] = consular();
                v["person"]["nationalities"] = json!(["VE"]);
            }
            let input: crate::custody::AdmissionInput =
                serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
            input
                .validate(now())
                .unwrap_or_else(|e| panic!("{}: {}", e.field, e.message));
        }
    }
}
