//! Errors in the Hetzner Cloud API's shape:
//! `{"error": {"code": "...", "message": "...", "details": {...}}}`.
//!
//! Status codes follow the "Error Codes" table of the Hetzner Cloud API reference
//! (`400 json_error`, `401 unauthorized`, `404 not_found`, `405 method_not_allowed`,
//! `409 uniqueness_error`, `422 invalid_input`, `429 rate_limit_exceeded`,
//! `503 unavailable`, ...).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One error answer of the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

/// One entry of `details.fields` of an `invalid_input` (or `uniqueness_error`) error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub name: String,
    pub messages: Vec<String>,
}

impl FieldError {
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            messages: vec![message.into()],
        }
    }
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    /// 400 `json_error`: the body is not valid JSON.
    pub fn json_error(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "json_error", message)
    }

    /// 401 `unauthorized`: missing, malformed or unknown token.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unable to authenticate",
        )
    }

    /// 403 `resource_limit_exceeded`: e.g. the fake ran out of documentation addresses.
    pub fn resource_limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "resource_limit_exceeded", message)
    }

    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "The request method is not allowed",
        )
    }

    /// 409 `uniqueness_error` on one field.
    pub fn uniqueness(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::CONFLICT, "uniqueness_error", message);
        e.details = json!({ "fields": [ { "name": field } ] });
        e
    }

    /// 422 `invalid_input` with `details.fields`. The message names the first field,
    /// like the API's "invalid input in field 'broken_field': is too long".
    pub fn invalid_input(fields: Vec<FieldError>) -> Self {
        let message = match fields.first() {
            Some(f) => format!(
                "invalid input in field '{}': {}",
                f.name,
                f.messages.join(", ")
            ),
            None => "invalid input".to_string(),
        };
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message);
        e.details = json!({
            "fields": fields
                .iter()
                .map(|f| json!({ "name": f.name, "messages": f.messages }))
                .collect::<Vec<_>>()
        });
        e
    }

    /// 422 `invalid_input` on a single field.
    pub fn invalid_field(name: &str, message: impl Into<String>) -> Self {
        Self::invalid_input(vec![FieldError::new(name, message)])
    }

    /// 429 `rate_limit_exceeded`.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "limit of requests per hour reached",
        )
    }

    /// 503 `unavailable`: used for injected failures (`Options::fail_next_creates`).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_input_has_fields_and_a_message_naming_the_first_field() {
        let e = ApiError::invalid_input(vec![
            FieldError::new("user_data", "is too long"),
            FieldError::new("name", "is required"),
        ]);
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            e.body(),
            json!({"error": {
                "code": "invalid_input",
                "message": "invalid input in field 'user_data': is too long",
                "details": {"fields": [
                    {"name": "user_data", "messages": ["is too long"]},
                    {"name": "name", "messages": ["is required"]},
                ]}
            }})
        );
    }

    #[test]
    fn status_codes_follow_the_error_table() {
        let table = [
            (ApiError::json_error("x"), 400, "json_error"),
            (ApiError::unauthorized(), 401, "unauthorized"),
            (ApiError::not_found("server"), 404, "not_found"),
            (ApiError::method_not_allowed(), 405, "method_not_allowed"),
            (ApiError::uniqueness("name", "x"), 409, "uniqueness_error"),
            (ApiError::invalid_field("x", "y"), 422, "invalid_input"),
            (ApiError::rate_limited(), 429, "rate_limit_exceeded"),
            (ApiError::unavailable("x"), 503, "unavailable"),
        ];
        for (e, status, code) in table {
            assert_eq!(e.status.as_u16(), status, "{code}");
            assert_eq!(e.code, code);
            assert_eq!(e.body()["error"]["code"], code);
            assert!(e.body()["error"]["details"].is_object(), "{code}");
        }
    }
}
