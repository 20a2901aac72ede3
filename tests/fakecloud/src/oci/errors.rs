//! Errors in OCI's shape: `{"code": "...", "message": "..."}`, with the status codes and
//! codes of the "API Errors" reference page (common errors returned by all services).
//! Every answer, errors included, also carries `opc-request-id` (added by the router).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Which failure to inject (see `Options::fail_next_launches`, `Running::fail_next_requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// 500 `InternalServerError`.
    #[default]
    InternalServerError,
    /// 503 `ServiceUnavailable`.
    ServiceUnavailable,
    /// 429 `TooManyRequests`.
    TooManyRequests,
}

/// One error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `CannotParseRequest`: the body is not JSON, or not the documented shape.
    pub fn cannot_parse(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "CannotParseRequest", message)
    }

    /// 400 `InvalidParameter`.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }

    /// 400 `MissingParameter`: `name` is required.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!("Missing required parameter '{name}'."),
        )
    }

    /// 401 `NotAuthenticated`; `why` says what was wrong with the signature.
    pub fn not_authenticated(why: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "NotAuthenticated", why)
    }

    /// 404 `NotAuthorizedOrNotFound`: the resource named in the path does not exist.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotAuthorizedOrNotFound",
            "Authorization failed or requested resource not found.",
        )
    }

    /// 404 `NotFound`: no operation at this path.
    pub fn no_such_operation() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "There is no operation supported at the URI path and HTTP method you specified in the request.",
        )
    }

    /// 405 `MethodNotAllowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The target resource does not support the HTTP method.",
        )
    }

    /// 409 `InvalidatedRetryToken`: the `opc-retry-token` belongs to another request, or
    /// its resource is gone.
    pub fn invalidated_retry_token(why: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "InvalidatedRetryToken", why)
    }

    /// 412 `NoEtagMatch`: `if-match` is not the resource's current etag.
    pub fn no_etag_match() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "NoEtagMatch",
            "The ETag specified in the request does not match the ETag for the resource.",
        )
    }

    /// 429 `TooManyRequests`.
    pub fn too_many_requests() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests for the user.",
        )
    }

    /// The answer for an injected fault.
    pub fn fault(f: Fault) -> Self {
        match f {
            Fault::InternalServerError => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "An internal server error occurred (injected failure).",
            ),
            Fault::ServiceUnavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service is currently unavailable (injected failure).",
            ),
            Fault::TooManyRequests => Self::too_many_requests(),
        }
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
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
    fn status_codes_follow_the_api_errors_table() {
        let table = [
            (ApiError::cannot_parse("x"), 400, "CannotParseRequest"),
            (ApiError::invalid_parameter("x"), 400, "InvalidParameter"),
            (ApiError::missing_parameter("x"), 400, "MissingParameter"),
            (ApiError::not_authenticated("x"), 401, "NotAuthenticated"),
            (ApiError::not_found(), 404, "NotAuthorizedOrNotFound"),
            (ApiError::no_such_operation(), 404, "NotFound"),
            (ApiError::method_not_allowed(), 405, "MethodNotAllowed"),
            (
                ApiError::invalidated_retry_token("x"),
                409,
                "InvalidatedRetryToken",
            ),
            (ApiError::no_etag_match(), 412, "NoEtagMatch"),
            (ApiError::too_many_requests(), 429, "TooManyRequests"),
            (
                ApiError::fault(Fault::InternalServerError),
                500,
                "InternalServerError",
            ),
            (
                ApiError::fault(Fault::ServiceUnavailable),
                503,
                "ServiceUnavailable",
            ),
            (
                ApiError::fault(Fault::TooManyRequests),
                429,
                "TooManyRequests",
            ),
        ];
        for (e, status, code) in table {
            assert_eq!(e.status.as_u16(), status, "{code}");
            assert_eq!(e.body()["code"], code);
            assert!(e.body()["message"].is_string());
            assert_eq!(e.body().as_object().map(|o| o.len()), Some(2));
        }
    }
}
