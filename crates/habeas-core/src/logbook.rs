//! The occurrence book: the facility's running log of what happened, who wrote it, when and
//! about which place. A note is never edited: a correction is a new note naming the old one.

use crate::ids::{Actor, FacilityCode};
use crate::kinds::LOGBOOK_NOTE;
use crate::DomainError;
use habeas_register::{Correction, Draft, Entry};
use serde_json::{json, Value};

/// Longest note, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest place name, in characters.
pub const MAX_PLACE_CHARS: usize = 100;

/// A note to be written in the occurrence book, as typed by a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewNote {
    pub facility: String,
    pub actor: String,
    pub text: String,
    /// The place within the facility (a unit, cell, yard…); the whole facility if empty.
    pub place: Option<String>,
    /// The note this one corrects, and why.
    pub corrects: Option<(u64, String)>,
}

/// A valid occurrence-book note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub facility: FacilityCode,
    pub actor: Actor,
    pub text: String,
    pub place: Option<String>,
    pub corrects: Option<Correction>,
}

impl NewNote {
    /// Checks every field and names the first that is wrong.
    pub fn validate(&self) -> Result<Note, DomainError> {
        let facility = FacilityCode::parse("facility", &self.facility)?;
        let actor = Actor::parse("actor", &self.actor)?;
        let text = self.text.trim();
        if text.is_empty() {
            return Err(DomainError::invalid("text", "the note is empty"));
        }
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(DomainError::invalid(
                "text",
                format!("the note has {chars} characters; the occurrence book takes at most {MAX_TEXT_CHARS}"),
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(DomainError::invalid(
                "text",
                "the note contains control characters",
            ));
        }
        let place = match self.place.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) if p.chars().count() > MAX_PLACE_CHARS => {
                return Err(DomainError::invalid(
                    "place",
                    format!("a place name has at most {MAX_PLACE_CHARS} characters"),
                ))
            }
            Some(p) if p.chars().any(char::is_control) => {
                return Err(DomainError::invalid(
                    "place",
                    "the place contains control characters",
                ))
            }
            Some(p) => Some(p.to_owned()),
        };
        let corrects = match &self.corrects {
            None => None,
            Some((_, reason)) if reason.trim().is_empty() => {
                return Err(DomainError::invalid(
                    "reason",
                    "a correction must say why the earlier note was wrong",
                ))
            }
            Some((index, reason)) => Some(Correction {
                index: *index,
                reason: reason.trim().to_owned(),
            }),
        };
        Ok(Note {
            facility,
            actor,
            text: text.to_owned(),
            place,
            corrects,
        })
    }
}

impl Note {
    /// The register entry for this note.
    pub fn to_draft(&self) -> Draft {
        let mut payload = json!({ "text": self.text });
        if let (Some(place), Some(obj)) = (&self.place, payload.as_object_mut()) {
            obj.insert("place".into(), Value::String(place.clone()));
        }
        Draft {
            actor: self.actor.to_string(),
            facility: self.facility.to_string(),
            kind: LOGBOOK_NOTE.into(),
            subject: match &self.place {
                Some(p) => format!("place:{p}"),
                None => format!("facility:{}", self.facility),
            },
            payload,
            corrects: self.corrects.clone(),
        }
    }

    /// Reads a note back from a register entry of kind [`LOGBOOK_NOTE`].
    pub fn from_entry(e: &Entry) -> Result<Self, DomainError> {
        let text = e
            .payload
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| DomainError::invalid("payload.text", "missing"))?;
        let place = match e.payload.get("place") {
            None => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => return Err(DomainError::invalid("payload.place", "must be a string")),
        };
        NewNote {
            facility: e.facility.clone(),
            actor: e.actor.clone(),
            text: text.to_owned(),
            place,
            corrects: e.corrects.as_ref().map(|c| (c.index, c.reason.clone())),
        }
        .validate()
    }
}

/// A note read from a register entry without copying: what the projections need. Entries
/// were validated when they were written; this only checks the payload's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteRef<'a> {
    pub facility: &'a str,
    pub actor: &'a str,
    pub text: &'a str,
    pub place: Option<&'a str>,
    pub corrects: Option<&'a Correction>,
}

impl<'a> NoteRef<'a> {
    pub fn from_entry(e: &'a Entry) -> Result<Self, DomainError> {
        let text = e
            .payload
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| DomainError::invalid("payload.text", "missing"))?;
        let place = match e.payload.get("place") {
            None => None,
            Some(Value::String(p)) => Some(p.as_str()),
            Some(_) => return Err(DomainError::invalid("payload.place", "must be a string")),
        };
        Ok(Self {
            facility: &e.facility,
            actor: &e.actor,
            text,
            place,
            corrects: e.corrects.as_ref(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use habeas_register::{SealedEntry, Timestamp};

    fn note() -> NewNote {
        NewNote {
            facility: "CECOT".into(),
            actor: "custodia.luis".into(),
            text: "  Recuento de las 06:00: 14 532, sin novedad  ".into(),
            place: Some("Pabellón 3".into()),
            corrects: None,
        }
    }

    #[test]
    fn a_note_round_trips_through_the_register_entry() {
        let n = note().validate().unwrap();
        assert_eq!(n.text, "Recuento de las 06:00: 14 532, sin novedad");
        let d = n.to_draft();
        assert_eq!(d.subject, "place:Pabellón 3");
        let sealed = SealedEntry::seal(&d, 0, Timestamp(0), &[0; 16]).unwrap();
        let entry = Entry::decode(&sealed.bytes).unwrap();
        let back = Note::from_entry(&entry).unwrap();
        assert_eq!(back, n);
        let view = NoteRef::from_entry(&entry).unwrap();
        assert_eq!(
            (view.facility, view.place, view.text),
            ("CECOT", Some("Pabellón 3"), n.text.as_str())
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        type Breaker = fn(&mut NewNote);
        let cases: [(Breaker, &str); 6] = [
            (|n| n.facility = "".into(), "facility"),
            (|n| n.actor = "two words".into(), "actor"),
            (|n| n.text = "   ".into(), "text"),
            (|n| n.text = "x".repeat(MAX_TEXT_CHARS + 1), "text"),
            (|n| n.place = Some("p".repeat(MAX_PLACE_CHARS + 1)), "place"),
            (|n| n.corrects = Some((3, " ".into())), "reason"),
        ];
        for (break_it, field) in cases {
            let mut n = note();
            break_it(&mut n);
            assert_eq!(n.validate().unwrap_err().field, field);
        }
    }
}
