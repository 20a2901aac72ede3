//! The router and the gate every request passes, in the order `PVE::APIServer::AnyEvent`
//! checks things: the method (GET/POST/PUT/DELETE, else 501 "method 'X' not available"),
//! the transfer encoding (chunked is refused), the path (`/api2/{format}/...`, else 501
//! "no such file"/"no such uri"), the authentication (401, delayed like PVE's 3 s), the
//! format (`json` only, else 501 "no formatter for uri ..."), then the injected failures,
//! then the handler. A path no handler serves is 501 "Method 'GET /x' not implemented".
//!
//! Handlers read the body themselves ([`read_params`]): content on GET/DELETE is refused
//! ("Unexpected content for method 'GET'"), bodies over 64 KiB too ("for data too large"),
//! except uploads.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::api_cluster as cluster;
use super::api_qemu as qemu;
use super::api_storage as storage;
use super::errors::ApiError;
use super::params::Params;
use super::state::Shared;

pub(crate) type Shr = State<Arc<Shared>>;

/// Where the JSON API lives.
pub(crate) const BASE: &str = "/api2/json";

/// The largest non-upload body PVE reads (`$limit_max_post`).
const MAX_POST: usize = 64 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let r = |path: &str| format!("{BASE}{path}");
    Router::new()
        .route(&r("/version"), get(cluster::version))
        .route(&r("/nodes"), get(cluster::nodes))
        .route(&r("/cluster/nextid"), get(cluster::nextid))
        .route(&r("/cluster/resources"), get(cluster::resources))
        .route(&r("/nodes/{node}/tasks/{upid}"), get(cluster::task_index))
        .route(
            &r("/nodes/{node}/tasks/{upid}/status"),
            get(cluster::task_status),
        )
        .route(&r("/nodes/{node}/tasks/{upid}/log"), get(cluster::task_log))
        .route(&r("/nodes/{node}/qemu"), get(qemu::list))
        .route(
            &r("/nodes/{node}/qemu/{vmid}"),
            get(qemu::index).delete(qemu::destroy),
        )
        .route(&r("/nodes/{node}/qemu/{vmid}/clone"), post(qemu::clone))
        .route(
            &r("/nodes/{node}/qemu/{vmid}/config"),
            get(qemu::config)
                .post(qemu::update_config_async)
                .put(qemu::update_config_sync),
        )
        .route(
            &r("/nodes/{node}/qemu/{vmid}/resize"),
            axum::routing::put(qemu::resize),
        )
        .route(
            &r("/nodes/{node}/qemu/{vmid}/status/current"),
            get(qemu::status_current),
        )
        .route(
            &r("/nodes/{node}/qemu/{vmid}/status/start"),
            post(qemu::start),
        )
        .route(
            &r("/nodes/{node}/qemu/{vmid}/status/stop"),
            post(qemu::stop),
        )
        .route(
            &r("/nodes/{node}/qemu/{vmid}/status/shutdown"),
            post(qemu::shutdown),
        )
        .route(&r("/nodes/{node}/storage"), get(storage::list))
        .route(
            &r("/nodes/{node}/storage/{storage}/upload"),
            post(storage::upload),
        )
        .route(
            &r("/nodes/{node}/storage/{storage}/content"),
            get(storage::content),
        )
        .route(
            &r("/nodes/{node}/storage/{storage}/content/{*volume}"),
            axum::routing::delete(storage::delete_volume),
        )
        .fallback(not_implemented)
        .method_not_allowed_fallback(not_implemented)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

async fn gate(State(shared): Shr, req: Request, next: Next) -> Response {
    shared.count_request();
    let headers = req.headers().clone();
    if let Err(e) = check_request(&shared, req.method(), &headers, req.uri().path()).await {
        return e.into_response();
    }
    let injected = {
        let mut st = shared.lock();
        if st.fail_next_requests > 0 {
            st.fail_next_requests -= 1;
            Some(injected_failure(st.fail_status))
        } else {
            None
        }
    };
    match injected {
        Some(e) => e.into_response(),
        None => next.run(req).await,
    }
}

/// Everything before the handler: method, encoding, path, authentication, format.
async fn check_request(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    raw_path: &str,
) -> Result<(), ApiError> {
    if ![Method::GET, Method::POST, Method::PUT, Method::DELETE].contains(method) {
        return Err(ApiError::http(
            501,
            format!("method '{method}' not available"),
        ));
    }
    if let Some(te) = headers.get(header::TRANSFER_ENCODING) {
        let te = String::from_utf8_lossy(te.as_bytes()).to_string();
        return Err(ApiError::http(
            501,
            if te.eq_ignore_ascii_case("chunked") {
                "chunked transfer encoding not supported".to_string()
            } else {
                format!("Unknown transfer encoding '{te}'")
            },
        ));
    }
    let path = percent_decode(raw_path);
    if !path.starts_with("/api2") {
        return Err(ApiError::http(501, format!("no such file '{path}'")));
    }
    let Some((format, rel)) = split_api_path(&path) else {
        return Err(ApiError::http(501, "no such uri"));
    };
    if let Err(msg) = shared.auth.check(headers) {
        if !shared.auth_failure_delay.is_zero() {
            tokio::time::sleep(shared.auth_failure_delay).await;
        }
        return Err(ApiError::unauthorized(msg));
    }
    if format != "json" {
        return Err(ApiError::http(
            501,
            format!("no formatter for uri {rel}, {format}"),
        ));
    }
    Ok(())
}

/// `/api2/FORMAT/REST` → `(FORMAT, /REST)` as `$split_abs_uri` does it.
fn split_api_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/api2/")?.trim_start_matches('/');
    let (format, rel) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let ok = format.starts_with(|c: char| c.is_ascii_lowercase())
        && format
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    ok.then(|| (format.to_string(), rel.to_string()))
}

/// What a failure injected with `fail_next_requests` looks like, by status.
fn injected_failure(status: u16) -> ApiError {
    match status {
        500 => ApiError::die("cluster not ready - no quorum?"),
        595 => ApiError::status(595, "Connection refused"),
        596 => ApiError::status(596, "Connection timed out"),
        code => {
            let canonical = axum::http::StatusCode::from_u16(code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("injected failure");
            ApiError::status(code, canonical)
        }
    }
}

async fn not_implemented(req: Request) -> ApiError {
    let path = percent_decode(req.uri().path());
    let rel = match path.strip_prefix(BASE) {
        Some("") => "/",
        Some(rel) => rel,
        None => &path,
    };
    ApiError::not_implemented(req.method().as_str(), rel)
}

/// Reads the query and the body of a non-upload request.
pub(crate) async fn read_params(req: Request) -> Result<Params, ApiError> {
    let (parts, body) = req.into_parts();
    let len: usize = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if len > 0 && parts.method != Method::POST && parts.method != Method::PUT {
        return Err(ApiError::http(
            501,
            format!("Unexpected content for method '{}'", parts.method),
        ));
    }
    if len > MAX_POST {
        return Err(ApiError::http(501, "for data too large"));
    }
    let bytes = axum::body::to_bytes(body, MAX_POST)
        .await
        .map_err(|_| ApiError::http(501, "for data too large"))?;
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    Params::parse(parts.uri.query(), ct, &bytes)
}

/// `%XX` decoding of a path (`uri_unescape`; `+` stays a `+`).
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_split_like_pve() {
        assert_eq!(
            split_api_path("/api2/json/nodes/pve"),
            Some(("json".into(), "/nodes/pve".into()))
        );
        assert_eq!(
            split_api_path("/api2/extjs"),
            Some(("extjs".into(), "/".into()))
        );
        assert_eq!(split_api_path("/api2/"), None);
        assert_eq!(split_api_path("/api2/JSON/x"), None);
    }

    #[test]
    fn paths_are_percent_decoded() {
        assert_eq!(percent_decode("/a%3Ab%2Fc+d%"), "/a:b/c+d%");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn injected_failures_look_like_pve_errors() {
        assert_eq!(
            injected_failure(500).reason(),
            "cluster not ready - no quorum?"
        );
        assert_eq!(injected_failure(503).reason(), "Service Unavailable");
        assert_eq!(injected_failure(595).status.as_u16(), 595);
    }
}
