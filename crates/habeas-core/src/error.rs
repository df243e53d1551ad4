//! Errors that name the field at fault.

use habeas_register::store::Rejection;

/// Input the domain refuses. `field` names the input field, `message` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    pub code: &'static str,
    pub field: String,
    pub message: String,
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: "invalid_field",
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<DomainError> for Rejection {
    fn from(e: DomainError) -> Self {
        Rejection {
            code: e.code.into(),
            field: Some(e.field),
            message: e.message,
        }
    }
}
