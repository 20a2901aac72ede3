//! Errors in Tailscale's shape: the status code and `{"message": "..."}` (the API reference's
//! `Error` schema; the token endpoint answers the same way, not with OAuth 2.0's `error` codes).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Which failure to inject (see `Options::fail_next_requests`, `Running::fail_next_requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// 500 `{"message":"internal server error"}`.
    #[default]
    InternalServerError,
    /// 503 `{"message":"service unavailable"}`.
    ServiceUnavailable,
    /// 429 `{"message":"too many requests"}`.
    TooManyRequests,
}

/// One error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

/// The message Tailscale answers for a token (or OAuth client secret) it does not accept.
pub const INVALID_TOKEN: &str = "API token invalid";

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401 `API token invalid`: missing, unknown or expired credentials (the reason is
    /// recorded, not answered).
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, INVALID_TOKEN)
    }

    /// 403: the credentials are valid but lack the scope.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    }

    /// 400 `requested tags [tag:a tag:b] are invalid or not permitted`, the real API's words
    /// for tags that are malformed or that the credential may not use.
    pub fn tags_not_permitted(tags: &[String]) -> Self {
        Self::bad_request(format!(
            "requested tags [{}] are invalid or not permitted",
            tags.join(" ")
        ))
    }

    /// The answer for an injected fault.
    pub fn fault(f: Fault) -> Self {
        match f {
            Fault::InternalServerError => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            }
            Fault::ServiceUnavailable => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "service unavailable")
            }
            Fault::TooManyRequests => Self::new(StatusCode::TOO_MANY_REQUESTS, "too many requests"),
        }
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Value {
        json!({ "message": self.message })
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
    fn errors_are_a_status_and_a_message_only() {
        let table = [
            (ApiError::bad_request("x"), 400),
            (ApiError::unauthorized(), 401),
            (ApiError::forbidden("x"), 403),
            (ApiError::not_found("x"), 404),
            (ApiError::method_not_allowed(), 405),
            (ApiError::fault(Fault::InternalServerError), 500),
            (ApiError::fault(Fault::ServiceUnavailable), 503),
            (ApiError::fault(Fault::TooManyRequests), 429),
        ];
        for (e, status) in table {
            assert_eq!(e.status.as_u16(), status);
            let body = e.body();
            assert!(body["message"].is_string());
            assert_eq!(body.as_object().map(|o| o.len()), Some(1));
        }
        assert_eq!(ApiError::unauthorized().message, "API token invalid");
        assert_eq!(
            ApiError::tags_not_permitted(&["tag:a".into(), "tag:b".into()]).message,
            "requested tags [tag:a tag:b] are invalid or not permitted"
        );
    }
}
