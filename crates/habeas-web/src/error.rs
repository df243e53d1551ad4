//! The one error answer of the API and the pages: `{"error": {"code", "message", "field"}}`
//! with its HTTP status; a 5xx body is generic and its detail goes to the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use habeas_register::store::StoreError;
use serde_json::json;

/// An error answer: `{"error": {"code", "message", "field"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    field: Option<String>,
    /// Seconds for `Retry-After` (a 429); small, so that the error stays small.
    retry_after: Option<u16>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }
    /// Adds `Retry-After` (at most 65,535 seconds).
    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(u16::try_from(seconds).unwrap_or(u16::MAX));
        self
    }
    /// The seconds of `Retry-After`, if the answer has one.
    pub(crate) fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(u64::from)
    }
    pub(crate) fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }
    pub(crate) fn field_owned(mut self, field: String) -> Self {
        self.field = Some(field);
        self
    }
    pub(crate) fn code_owned(&mut self, code: String) {
        self.code = code;
    }
    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first (POST /api/session) or give an API token",
        )
    }
    /// The input field at fault, when there is one.
    pub(crate) fn field_name(&self) -> Option<&str> {
        self.field.as_deref()
    }
    /// The error's code (`bad_credentials`, `forbidden`…).
    pub(crate) fn code(&self) -> &str {
        &self.code
    }
    /// The error's sentence.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(
                json!({"error": {"code": self.code, "message": self.message, "field": self.field}}),
            ),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// A query string that does not parse: 400 in the one error shape.
pub(crate) fn query_error(e: axum::extract::rejection::QueryRejection) -> ApiError {
    ApiError::bad_request("invalid_field", e.body_text()).field("query")
}
