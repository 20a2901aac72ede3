//! HTTP: the router, the gate every request passes (request count, signature check,
//! throttling, `opc-request-id`), and one handler per operation.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::errors::{ApiError, Fault};
use super::launch;
use super::model::{self, Instance, Lifecycle};
use super::query::{Page, Query};
use super::signature::RequestParts;
use super::state::{MAX_RETRY_TOKEN_LEN, Shared};

/// The largest request body read (LaunchInstance bodies are well below).
pub const MAX_BODY: usize = 1 << 20;

type Shr = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/20160918/instances",
            get(list_instances)
                .post(launch_instance)
                .fallback(method_not_allowed),
        )
        .route(
            "/20160918/instances/{instanceId}",
            get(get_instance)
                .delete(terminate_instance)
                .fallback(method_not_allowed),
        )
        .route(
            "/20160918/vnicAttachments",
            get(list_vnic_attachments).fallback(method_not_allowed),
        )
        .route(
            "/20160918/vnicAttachments/{vnicAttachmentId}",
            get(get_vnic_attachment).fallback(method_not_allowed),
        )
        .route(
            "/20160918/vnics/{vnicId}",
            get(get_vnic).fallback(method_not_allowed),
        )
        .fallback(no_such_operation)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// Every request, known path or not: counted, authenticated by its signature (which
/// needs the whole body), then throttled (rate limit, injected faults). Every answer
/// carries an `opc-request-id`: the client's own, when it sent one, followed by the
/// fake's.
async fn gate(State(shared): Shr, req: Request, next: Next) -> Response {
    shared.count_request();
    let ours = format!("{:032X}", rand::random::<u128>());
    let request_id = match req
        .headers()
        .get("opc-request-id")
        .and_then(|v| v.to_str().ok())
    {
        Some(theirs) if !theirs.is_empty() => format!("{theirs}/{ours}"),
        _ => ours,
    };
    let (parts, body) = req.into_parts();
    let mut resp = match axum::body::to_bytes(body, MAX_BODY).await {
        Err(_) => ApiError::cannot_parse("The request body is too large or could not be read.")
            .into_response(),
        Ok(bytes) => {
            let checked = {
                let target = parts
                    .uri
                    .path_and_query()
                    .map_or(parts.uri.path(), |p| p.as_str());
                let request = RequestParts {
                    method: parts.method.as_str(),
                    target,
                    headers: &parts.headers,
                    authority: parts.uri.authority().map(|a| a.as_str()),
                    body: &bytes,
                };
                shared.verifier.verify(&request, SystemTime::now())
            };
            match checked {
                Err(why) => {
                    let why = why.to_string();
                    shared.lock().record_auth_failure(why.clone());
                    ApiError::not_authenticated(why).into_response()
                }
                Ok(()) => {
                    let throttled = shared.lock().throttle(Instant::now());
                    match throttled {
                        Some(e) => e.into_response(),
                        None => {
                            next.run(Request::from_parts(parts, Body::from(bytes)))
                                .await
                        }
                    }
                }
            }
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("opc-request-id", v);
    }
    resp
}

async fn no_such_operation() -> ApiError {
    ApiError::no_such_operation()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// A path parameter; one that cannot be decoded names nothing that exists.
fn path_param(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(s)| s).map_err(|_| ApiError::not_found())
}

/// 200 with a JSON body and, for single resources, their `etag`.
fn json_response(body: &Value, with_etag: bool) -> Response {
    let mut resp = axum::Json(body).into_response();
    if with_etag && let Ok(v) = HeaderValue::from_str(&model::etag(body)) {
        resp.headers_mut().insert("etag", v);
    }
    resp
}

/// 200 with a JSON array and `opc-next-page` when more items follow.
fn list_response(items: Vec<Value>, next: Option<String>) -> Response {
    let mut resp = axum::Json(Value::Array(items)).into_response();
    if let Some(v) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
        resp.headers_mut().insert("opc-next-page", v);
    }
    resp
}

// ---------------------------------------------------------------------------------------
// Instances

/// `opc-retry-token`: 1 to 64 characters.
fn retry_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("opc-retry-token") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(t) if (1..=MAX_RETRY_TOKEN_LEN).contains(&t.len()) => Ok(Some(t.to_string())),
        _ => Err(ApiError::invalid_parameter(format!(
            "opc-retry-token must be 1 to {MAX_RETRY_TOKEN_LEN} visible ASCII characters."
        ))),
    }
}

/// `POST /20160918/instances` (LaunchInstance): 200 with the Instance, `etag` and
/// `opc-work-request-id`.
async fn launch_instance(
    State(shared): Shr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let fault = shared.lock().take_launch_fault();
    if let Some(e) = fault {
        return Err(e);
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::cannot_parse(format!("The request body is not valid JSON: {e}.")))?;
    let token = retry_token(&headers)?;
    let spec = launch::parse(&value)?;
    let now = Instant::now();
    let mut st = shared.lock();
    let id = st.launch(spec, token.map(|t| (t, value)), now, SystemTime::now())?;
    if st.take_lost_answer() {
        return Err(ApiError::fault(Fault::ServiceUnavailable));
    }
    let json = st.instance(&id)?.to_json(now);
    let mut resp = json_response(&json, true);
    if let Ok(v) = HeaderValue::from_str(&st.ocid("coreservicesworkrequest")) {
        resp.headers_mut().insert("opc-work-request-id", v);
    }
    Ok(resp)
}

/// `GET /20160918/instances/{instanceId}` (GetInstance).
async fn get_instance(
    State(shared): Shr,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_param(id)?;
    let now = Instant::now();
    let mut st = shared.lock();
    st.purge(now);
    Ok(json_response(&st.instance(&id)?.to_json(now), true))
}

const LIFECYCLE_STATES: &[&str] = &[
    "MOVING",
    "PROVISIONING",
    "RUNNING",
    "STARTING",
    "STOPPING",
    "STOPPED",
    "CREATING_IMAGE",
    "TERMINATING",
    "TERMINATED",
];

/// `GET /20160918/instances?compartmentId=` (ListInstances) with the `availabilityDomain`,
/// `displayName`, `lifecycleState`, `capacityReservationId`, `computeClusterId` filters,
/// `sortBy`/`sortOrder` and pagination.
async fn list_instances(State(shared): Shr, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let compartment = q.required("compartmentId")?;
    let ad = q.one("availabilityDomain");
    let name = q.one("displayName");
    let state = q.choice("lifecycleState", LIFECYCLE_STATES, true)?;
    // The fake has no capacity reservations or compute clusters: these filters match
    // nothing.
    let unmatched = q.one("capacityReservationId").is_some() || q.one("computeClusterId").is_some();
    let sort_by = q
        .choice("sortBy", &["TIMECREATED", "DISPLAYNAME"], false)?
        .unwrap_or("TIMECREATED");
    let descending = match q.choice("sortOrder", &["ASC", "DESC"], false)? {
        Some(o) => o == "DESC",
        None => sort_by == "TIMECREATED",
    };
    let page = Page::from_query(&q)?;

    let now = Instant::now();
    let mut st = shared.lock();
    st.purge(now);
    let mut found: Vec<&Instance> = st
        .ordered()
        .filter(|_| !unmatched)
        .filter(|i| i.spec.compartment_id == compartment)
        .filter(|i| ad.is_none_or(|a| i.spec.availability_domain == a))
        .filter(|i| name.is_none_or(|n| i.display_name == n))
        .filter(|i| state.is_none_or(|s| i.lifecycle(now).as_str() == s))
        .collect();
    if sort_by == "DISPLAYNAME" {
        found.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.seq.cmp(&b.seq)));
    }
    if descending {
        found.reverse();
    }
    let (items, next) = page.apply(found);
    Ok(list_response(
        items.iter().map(|i| i.to_json(now)).collect(),
        next,
    ))
}

/// `DELETE /20160918/instances/{instanceId}` (TerminateInstance): 204. Query
/// `preserveBootVolume`, `preserveDataVolumesCreatedAtLaunch`; header `if-match`.
async fn terminate_instance(
    State(shared): Shr,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = path_param(id)?;
    let q = Query::parse(raw.as_deref());
    let preserve_boot_volume = q.bool("preserveBootVolume")?.unwrap_or(false);
    q.bool("preserveDataVolumesCreatedAtLaunch")?;
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok());
    shared
        .lock()
        .terminate(&id, if_match, preserve_boot_volume, Instant::now())?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------
// VNICs

/// `GET /20160918/vnicAttachments?compartmentId=` (ListVnicAttachments) with the
/// `availabilityDomain`, `instanceId`, `vnicId` filters and pagination; oldest first.
async fn list_vnic_attachments(
    State(shared): Shr,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let compartment = q.required("compartmentId")?;
    let ad = q.one("availabilityDomain");
    let instance = q.one("instanceId");
    let vnic = q.one("vnicId");
    let page = Page::from_query(&q)?;

    let now = Instant::now();
    let mut st = shared.lock();
    st.purge(now);
    let found: Vec<&Instance> = st
        .ordered()
        .filter(|i| i.spec.compartment_id == compartment)
        .filter(|i| ad.is_none_or(|a| i.spec.availability_domain == a))
        .filter(|i| instance.is_none_or(|id| i.id == id))
        // The VNIC id is only known once attached.
        .filter(|i| vnic.is_none_or(|v| i.vnic.id == v && i.lifecycle(now) >= Lifecycle::Running))
        .collect();
    let (items, next) = page.apply(found);
    Ok(list_response(
        items.iter().map(|i| i.attachment_json(now)).collect(),
        next,
    ))
}

/// `GET /20160918/vnicAttachments/{vnicAttachmentId}` (GetVnicAttachment).
async fn get_vnic_attachment(
    State(shared): Shr,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_param(id)?;
    let now = Instant::now();
    let mut st = shared.lock();
    st.purge(now);
    Ok(json_response(
        &st.by_attachment(&id)?.attachment_json(now),
        true,
    ))
}

/// `GET /20160918/vnics/{vnicId}` (GetVnic): the private and public IP.
async fn get_vnic(
    State(shared): Shr,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_param(id)?;
    let now = Instant::now();
    let mut st = shared.lock();
    st.purge(now);
    Ok(json_response(&st.by_vnic(&id)?.vnic_json(now), true))
}
