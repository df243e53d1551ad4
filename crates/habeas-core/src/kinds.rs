//! The entry kinds the domain writes. A kind never changes meaning once entries of it exist.

/// An occurrence-book note.
pub const LOGBOOK_NOTE: &str = "logbook.note";
