//! Errors that name the field at fault.

pub use habeas_register::store::Said;
use habeas_register::store::{Rejection, Words};

/// Input the domain refuses. `field` names the input field, `message` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    pub code: &'static str,
    pub field: String,
    pub message: String,
    /// `message` as a catalogue's message and its values, for a reader in another language.
    pub words: Option<Words>,
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: "invalid_field",
            field: field.into(),
            message: message.into(),
            words: None,
        }
    }
}

impl Said for DomainError {
    fn words_mut(&mut self) -> &mut Option<Words> {
        &mut self.words
    }
}

impl From<DomainError> for Rejection {
    fn from(e: DomainError) -> Self {
        Rejection {
            code: e.code.into(),
            field: Some(e.field),
            message: e.message,
            words: e.words,
        }
    }
}
