//! In-process requests to a fake's router for its unit tests: no socket, the answer's status,
//! headers and JSON body.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;

/// What a fake answered.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The JSON body; `Null` when empty.
    pub(crate) body: Value,
}

/// Send one request through `app`; a body that is not JSON fails the test.
pub(crate) async fn send(
    app: &Router,
    method: Method,
    target: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(target);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let req = req.body(Body::from(body)).expect("a valid request");
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("the body is readable");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "answer is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Answer {
        status,
        headers,
        body,
    }
}
