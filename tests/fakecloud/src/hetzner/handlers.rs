//! HTTP: the router, the gate every request passes (request count, rate limit, token),
//! request parsing and validation, and one handler per endpoint.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

use super::catalog::{self, IdOrName};
use super::errors::{ApiError, FieldError};
use super::labels;
use super::model::{Action, Server};
use super::state::{CreateServer, Shared};

/// The largest `user_data` the API accepts: 32 KiB.
pub const MAX_USER_DATA: usize = 32 * 1024;

type Shr = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/v1/servers",
            get(list_servers)
                .post(create_server)
                .fallback(method_not_allowed),
        )
        .route(
            "/v1/servers/{id}",
            get(get_server)
                .delete(delete_server)
                .fallback(method_not_allowed),
        )
        .route(
            "/v1/servers/actions",
            get(list_server_actions).fallback(method_not_allowed),
        )
        .route(
            "/v1/servers/actions/{id}",
            get(get_servers_action).fallback(method_not_allowed),
        )
        .route(
            "/v1/servers/{id}/actions",
            get(list_actions_of_server).fallback(method_not_allowed),
        )
        .route(
            "/v1/servers/{id}/actions/{action_id}",
            get(get_server_action).fallback(method_not_allowed),
        )
        .route(
            "/v1/actions",
            get(list_actions).fallback(method_not_allowed),
        )
        .route(
            "/v1/actions/{id}",
            get(get_action).fallback(method_not_allowed),
        )
        .fallback(unknown_path)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// Every request, known path or not: counted, rate limited (all requests are, whether
/// authenticated or not), then authenticated. Every answer carries the `RateLimit-*`
/// headers (when a limit is configured) and an `X-Correlation-Id`.
async fn gate(State(shared): Shr, req: Request, next: Next) -> Response {
    shared.count_request();
    let rate = shared
        .lock()
        .limiter
        .as_mut()
        .map(|l| l.take(Instant::now(), SystemTime::now()));
    let mut resp = if rate.is_some_and(|r| !r.allowed) {
        ApiError::rate_limited().into_response()
    } else if !authorized(&shared.token, req.headers()) {
        ApiError::unauthorized().into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    if let Some(r) = rate {
        h.insert("ratelimit-limit", HeaderValue::from(r.limit));
        h.insert("ratelimit-remaining", HeaderValue::from(r.remaining));
        h.insert("ratelimit-reset", HeaderValue::from(r.reset));
    }
    let correlation = format!("{:016x}", rand::random::<u64>());
    if let Ok(v) = HeaderValue::from_str(&correlation) {
        h.insert("x-correlation-id", v);
    }
    resp
}

/// `Authorization: Bearer <token>`, the token compared in constant time (only its length
/// can leak, which says nothing about its content).
fn authorized(token: &str, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let Some((scheme, given)) = value.split_at_checked(7) else {
        return false;
    };
    scheme.eq_ignore_ascii_case(b"bearer ") && bool::from(given.ct_eq(token.as_bytes()))
}

async fn unknown_path() -> ApiError {
    ApiError::not_found("resource")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

// ---------------------------------------------------------------------------------------
// Query strings

/// The query string's pairs, in order; keys may repeat (`status=a&status=b`).
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<String>) -> Self {
        let raw = raw.unwrap_or_default();
        Self(
            form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The last value given for `key`.
    fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// `page` (from 1) and `per_page` (default 25, at most 50).
struct Paging {
    page: u64,
    per_page: u64,
}

impl Paging {
    const DEFAULT_PER_PAGE: u64 = 25;
    const MAX_PER_PAGE: u64 = 50;

    fn from_query(q: &Query) -> Result<Self, ApiError> {
        let number = |key: &str, default: u64| -> Result<u64, ApiError> {
            match q.one(key) {
                None | Some("") => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => Err(ApiError::invalid_field(
                        key,
                        "must be an integer of at least 1",
                    )),
                },
            }
        };
        Ok(Self {
            page: number("page", 1)?,
            per_page: number("per_page", Self::DEFAULT_PER_PAGE)?.min(Self::MAX_PER_PAGE),
        })
    }

    /// This page of `items`, the `meta` object, and the `Link` header's value.
    fn apply<T>(
        &self,
        items: Vec<T>,
        q: &Query,
        headers: &HeaderMap,
        path: &str,
    ) -> (Vec<T>, Value, Option<String>) {
        let total = items.len() as u64;
        let last_page = total.div_ceil(self.per_page).max(1);
        let previous_page = (self.page > 1).then(|| (self.page - 1).min(last_page));
        let next_page = (self.page < last_page).then_some(self.page + 1);
        let skip = ((self.page - 1) * self.per_page).min(total) as usize;
        let page: Vec<T> = items
            .into_iter()
            .skip(skip)
            .take(self.per_page as usize)
            .collect();
        let meta = json!({
            "pagination": {
                "page": self.page,
                "per_page": self.per_page,
                "previous_page": previous_page,
                "next_page": next_page,
                "last_page": last_page,
                "total_entries": total,
            }
        });
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("http://{h}"))
            .unwrap_or_default();
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.0.iter().filter(|(k, _)| k != "page" && k != "per_page") {
            ser.append_pair(k, v);
        }
        let others = ser.finish();
        let url = |page: u64| {
            let sep = if others.is_empty() { "" } else { "&" };
            format!(
                "<{host}{path}?{others}{sep}page={page}&per_page={}>",
                self.per_page
            )
        };
        let mut links = Vec::new();
        if let Some(p) = previous_page {
            links.push(format!("{}; rel=\"prev\"", url(p)));
        }
        if let Some(p) = next_page {
            links.push(format!("{}; rel=\"next\"", url(p)));
        }
        links.push(format!("{}; rel=\"last\"", url(last_page)));
        (page, meta, Some(links.join(", ")))
    }
}

/// `sort=field`, `field:asc`, `field:desc`, repeatable; unknown fields are refused.
fn sort_keys<'q>(q: &'q Query, allowed: &[&str]) -> Result<Vec<(&'q str, bool)>, ApiError> {
    q.all("sort")
        .into_iter()
        .map(|s| {
            let (field, desc) = match s.split_once(':') {
                Some((f, "asc")) => (f, false),
                Some((f, "desc")) => (f, true),
                Some(_) => {
                    return Err(ApiError::invalid_field(
                        "sort",
                        format!("invalid sort '{s}'"),
                    ));
                }
                None => (s, false),
            };
            if allowed.contains(&field) {
                Ok((field, desc))
            } else {
                Err(ApiError::invalid_field(
                    "sort",
                    format!("invalid sort '{s}'"),
                ))
            }
        })
        .collect()
}

fn with_link(body: Value, link: Option<String>) -> Response {
    let mut resp = axum::Json(body).into_response();
    if let Some(v) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

fn path_id(raw: &str, what: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .map_err(|_| ApiError::invalid_field(what, "must be an integer"))
}

// ---------------------------------------------------------------------------------------
// Servers

const SERVER_STATUSES: &[&str] = &[
    "initializing",
    "starting",
    "running",
    "stopping",
    "off",
    "deleting",
    "migrating",
    "rebuilding",
    "unknown",
];

/// `GET /v1/servers?name=&label_selector=&status=&sort=&page=&per_page=`
async fn list_servers(
    State(shared): Shr,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw);
    let name = q.one("name");
    let selector = labels::parse_selector(q.one("label_selector").unwrap_or(""))
        .map_err(|e| ApiError::invalid_field("label_selector", e.to_string()))?;
    let statuses = q.all("status");
    if let Some(bad) = statuses.iter().find(|s| !SERVER_STATUSES.contains(s)) {
        return Err(ApiError::invalid_field(
            "status",
            format!("invalid status '{bad}'"),
        ));
    }
    let sort = sort_keys(&q, &["id", "name", "created"])?;
    let paging = Paging::from_query(&q)?;

    let now = Instant::now();
    let st = shared.lock();
    let mut servers: Vec<&Server> = st
        .servers
        .values()
        .filter(|s| name.is_none_or(|n| s.name == n))
        .filter(|s| selector.matches(&s.labels))
        .filter(|s| statuses.is_empty() || statuses.contains(&s.status_at(now)))
        .collect();
    for (field, desc) in sort.iter().rev() {
        servers.sort_by(|a, b| {
            let o = match *field {
                "name" => a.name.cmp(&b.name),
                "created" => a.created.cmp(&b.created).then(a.id.cmp(&b.id)),
                _ => a.id.cmp(&b.id),
            };
            if *desc { o.reverse() } else { o }
        });
    }
    let (page, meta, link) = paging.apply(servers, &q, &headers, "/v1/servers");
    let body = json!({
        "servers": page.iter().map(|s| s.to_json(now)).collect::<Vec<_>>(),
        "meta": meta,
    });
    Ok(with_link(body, link))
}

/// `GET /v1/servers/{id}`
async fn get_server(State(shared): Shr, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(&id, "id")?;
    let st = shared.lock();
    let server = st
        .servers
        .get(&id)
        .ok_or_else(|| ApiError::not_found("server"))?;
    Ok(axum::Json(json!({ "server": server.to_json(Instant::now()) })).into_response())
}

/// `POST /v1/servers`: 201 with `server`, `action`, `next_actions`, `root_password`.
async fn create_server(State(shared): Shr, body: Bytes) -> Result<Response, ApiError> {
    {
        let mut st = shared.lock();
        if st.fail_next_creates > 0 {
            st.fail_next_creates -= 1;
            return Err(ApiError::unavailable(
                "server creation is currently not available (injected failure)",
            ));
        }
    }
    let req = parse_create(&body)?;
    let (now, wall) = (Instant::now(), SystemTime::now());
    let mut st = shared.lock();
    let created = st.create_server(req, now, wall)?;
    let action = |id: u64| st.actions[&id].to_json(now);
    let body = json!({
        "server": st.servers[&created.server].to_json(now),
        "action": action(created.action),
        "next_actions": created.next_actions.iter().map(|id| action(*id)).collect::<Vec<_>>(),
        "root_password": created.root_password,
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `DELETE /v1/servers/{id}`: `{"action": ...}` (the server is gone at once, see
/// `State::delete_server`).
async fn delete_server(State(shared): Shr, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(&id, "id")?;
    let now = Instant::now();
    let mut st = shared.lock();
    let action = st.delete_server(id, now, SystemTime::now())?;
    Ok(axum::Json(json!({ "action": st.actions[&action].to_json(now) })).into_response())
}

/// `GET /v1/servers/{id}/actions/{action_id}`: the action must concern that server.
async fn get_server_action(
    State(shared): Shr,
    Path((id, action_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, "id")?;
    let action_id = path_id(&action_id, "action_id")?;
    let st = shared.lock();
    let action = st
        .actions
        .get(&action_id)
        .filter(|a| a.concerns(id, "server"))
        .ok_or_else(|| ApiError::not_found("action"))?;
    Ok(axum::Json(json!({ "action": action.to_json(Instant::now()) })).into_response())
}

// ---------------------------------------------------------------------------------------
// Actions

/// `GET /v1/actions/{id}`
async fn get_action(State(shared): Shr, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(&id, "id")?;
    let st = shared.lock();
    let action = st
        .actions
        .get(&id)
        .ok_or_else(|| ApiError::not_found("action"))?;
    Ok(axum::Json(json!({ "action": action.to_json(Instant::now()) })).into_response())
}

/// `GET /v1/servers/actions/{id}`: an action that concerns a server (hcloud-python's
/// `client.servers.actions.get_by_id`).
async fn get_servers_action(
    State(shared): Shr,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, "id")?;
    let st = shared.lock();
    let action = st
        .actions
        .get(&id)
        .filter(|a| a.resources.iter().any(|(_, kind)| *kind == "server"))
        .ok_or_else(|| ApiError::not_found("action"))?;
    Ok(axum::Json(json!({ "action": action.to_json(Instant::now()) })).into_response())
}

/// `GET /v1/actions?id=1&id=2&status=running&sort=&page=&per_page=` (hcloud-go's action
/// waiter polls this way).
async fn list_actions(
    shared: Shr,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    actions_page(shared, headers, raw, "/v1/actions", |_| true)
}

/// `GET /v1/servers/actions`: actions that concern servers.
async fn list_server_actions(
    shared: Shr,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    actions_page(shared, headers, raw, "/v1/servers/actions", |a| {
        a.resources.iter().any(|(_, kind)| *kind == "server")
    })
}

/// `GET /v1/servers/{id}/actions`: the actions of one server (it must exist).
async fn list_actions_of_server(
    shared: Shr,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let id = path_id(&id, "id")?;
    if !shared.0.lock().servers.contains_key(&id) {
        return Err(ApiError::not_found("server"));
    }
    let path = format!("/v1/servers/{id}/actions");
    actions_page(shared, headers, raw, &path, |a| a.concerns(id, "server"))
}

fn actions_page(
    State(shared): Shr,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    path: &str,
    keep: impl Fn(&Action) -> bool,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw);
    let ids = q
        .all("id")
        .into_iter()
        .map(|s| path_id(s, "id"))
        .collect::<Result<Vec<_>, _>>()?;
    let statuses = q.all("status");
    if let Some(bad) = statuses
        .iter()
        .find(|s| !["running", "success", "error"].contains(s))
    {
        return Err(ApiError::invalid_field(
            "status",
            format!("invalid status '{bad}'"),
        ));
    }
    let sort = sort_keys(
        &q,
        &["id", "command", "status", "progress", "started", "finished"],
    )?;
    let paging = Paging::from_query(&q)?;

    let now = Instant::now();
    let st = shared.lock();
    let mut actions: Vec<&Action> = st
        .actions
        .values()
        .filter(|a| keep(a))
        .filter(|a| ids.is_empty() || ids.contains(&a.id))
        .filter(|a| statuses.is_empty() || statuses.contains(&a.status_at(now).0))
        .collect();
    for (field, desc) in sort.iter().rev() {
        actions.sort_by(|a, b| {
            let o = match *field {
                "command" => a.command.cmp(b.command),
                "status" => a.status_at(now).0.cmp(b.status_at(now).0),
                "progress" => a.status_at(now).1.cmp(&b.status_at(now).1),
                "started" => a.started_wall.cmp(&b.started_wall),
                "finished" => (a.started_wall + a.duration).cmp(&(b.started_wall + b.duration)),
                _ => a.id.cmp(&b.id),
            };
            if *desc { o.reverse() } else { o }
        });
    }
    let (page, meta, link) = paging.apply(actions, &q, &headers, path);
    let body = json!({
        "actions": page.iter().map(|a| a.to_json(now)).collect::<Vec<_>>(),
        "meta": meta,
    });
    Ok(with_link(body, link))
}

// ---------------------------------------------------------------------------------------
// Create request validation

/// A server name must be a valid hostname as per RFC 1123.
fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn id_or_name(v: &Value) -> Option<IdOrName> {
    match v {
        Value::String(s) if !s.is_empty() => Some(IdOrName::Name(s.clone())),
        Value::Number(n) => n.as_u64().map(IdOrName::Id),
        _ => None,
    }
}

fn id_list(v: &Value) -> Option<Vec<u64>> {
    v.as_array()?.iter().map(Value::as_u64).collect()
}

/// Validates a `POST /v1/servers` body; every problem found is reported at once.
pub(crate) fn parse_create(body: &[u8]) -> Result<CreateServer, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::json_error(format!("invalid JSON in request body: {e}")))?;
    let Value::Object(o) = value else {
        return Err(ApiError::json_error("request body must be a JSON object"));
    };
    let mut errs: Vec<FieldError> = Vec::new();
    // Absent and null are the same for optional fields.
    let field = |k: &str| o.get(k).filter(|v| !v.is_null());
    let mut bad = |name: &str, msg: String| errs.push(FieldError::new(name, msg));

    let name = match field("name") {
        None => {
            bad("name", "is required".into());
            None
        }
        Some(Value::String(s)) if valid_hostname(s) => Some(s.clone()),
        Some(Value::String(_)) => {
            bad("name", "must be a valid hostname as per RFC 1123".into());
            None
        }
        Some(_) => {
            bad("name", "must be a string".into());
            None
        }
    };

    let server_type = match field("server_type").map(|v| (v, id_or_name(v))) {
        None => {
            bad("server_type", "is required".into());
            None
        }
        Some((_, None)) => {
            bad("server_type", "must be a name or an ID".into());
            None
        }
        Some((_, Some(r))) => {
            let t = catalog::server_type(&r);
            if t.is_none() {
                bad("server_type", format!("server type '{r}' not found"));
            }
            t
        }
    };

    let architecture = server_type.map_or("x86", |t| t.architecture);
    let image = match field("image").map(|v| (v, id_or_name(v))) {
        None => {
            bad("image", "is required".into());
            None
        }
        Some((_, None)) => {
            bad("image", "must be a name or an ID".into());
            None
        }
        Some((_, Some(r))) => {
            let i = catalog::image(&r, architecture);
            if i.is_none() {
                bad("image", format!("image '{r}' not found for {architecture}"));
            }
            i
        }
    };

    let (location, datacenter) = match (field("location"), field("datacenter")) {
        (Some(_), Some(_)) => {
            bad(
                "datacenter",
                "must not be used together with location".into(),
            );
            (None, None)
        }
        (Some(v), None) => match id_or_name(v).as_ref().and_then(catalog::location) {
            Some(l) => (Some(l), Some(catalog::datacenter_in(l))),
            None => {
                bad("location", format!("location {v} not found"));
                (None, None)
            }
        },
        (None, Some(v)) => match id_or_name(v).as_ref().and_then(catalog::datacenter) {
            Some(d) => (Some(catalog::location_by_name(d.location)), Some(d)),
            None => {
                bad("datacenter", format!("datacenter {v} not found"));
                (None, None)
            }
        },
        (None, None) => {
            let l = catalog::location_by_name(catalog::DEFAULT_LOCATION);
            (Some(l), Some(catalog::datacenter_in(l)))
        }
    };

    let mut flag = |key: &str, default: bool| match field(key) {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            bad(key, "must be a boolean".into());
            default
        }
    };
    let start_after_create = flag("start_after_create", true);
    let automount = flag("automount", false);

    let user_data = match field("user_data") {
        None => None,
        Some(Value::String(s)) if s.len() > MAX_USER_DATA => {
            bad(
                "user_data",
                format!("is too long (at most {MAX_USER_DATA} bytes)"),
            );
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            bad("user_data", "must be a string".into());
            None
        }
    };

    let labels = match field("labels") {
        None => BTreeMap::new(),
        Some(Value::Object(m)) => parse_labels(m, &mut bad),
        Some(_) => {
            bad("labels", "must be an object of string values".into());
            BTreeMap::new()
        }
    };

    let ssh_keys = match field("ssh_keys") {
        None => Vec::new(),
        Some(v) => match v
            .as_array()
            .and_then(|a| a.iter().map(id_or_name).collect::<Option<Vec<_>>>())
        {
            Some(keys) => keys.iter().map(ToString::to_string).collect(),
            None => {
                bad("ssh_keys", "must be a list of SSH key names or IDs".into());
                Vec::new()
            }
        },
    };

    let mut ids = |key: &str| match field(key) {
        None => Vec::new(),
        Some(v) => id_list(v).unwrap_or_else(|| {
            bad(key, "must be a list of IDs".into());
            Vec::new()
        }),
    };
    let networks = ids("networks");
    let volumes = ids("volumes");

    let firewalls = match field("firewalls") {
        None => Vec::new(),
        Some(v) => match v.as_array().and_then(|a| {
            a.iter()
                .map(|f| f.get("firewall").and_then(Value::as_u64))
                .collect::<Option<Vec<_>>>()
        }) {
            Some(f) => f,
            None => {
                bad("firewalls", "must be a list of {\"firewall\": ID}".into());
                Vec::new()
            }
        },
    };

    let placement_group = match field("placement_group") {
        None => None,
        Some(v) => {
            let id = v.as_u64();
            if id.is_none() {
                bad("placement_group", "must be an ID".into());
            }
            id
        }
    };

    let (mut enable_ipv4, mut enable_ipv6) = (true, true);
    match field("public_net") {
        None => {}
        Some(Value::Object(p)) => {
            for (key, slot) in [
                ("enable_ipv4", &mut enable_ipv4),
                ("enable_ipv6", &mut enable_ipv6),
            ] {
                match p.get(key).filter(|v| !v.is_null()) {
                    None => {}
                    Some(Value::Bool(b)) => *slot = *b,
                    Some(_) => bad("public_net", format!("{key} must be a boolean")),
                }
            }
            for key in ["ipv4", "ipv6"] {
                if p.get(key)
                    .is_some_and(|v| !v.is_null() && v.as_u64().is_none())
                {
                    bad(
                        "public_net",
                        format!("{key} must be a Primary IP ID or null"),
                    );
                }
            }
        }
        Some(_) => bad("public_net", "must be an object".into()),
    }
    if !enable_ipv4 && !enable_ipv6 && networks.is_empty() {
        bad(
            "public_net",
            "a server without public IPs must be attached to at least one network".into(),
        );
    }

    match (name, server_type, image, location, datacenter) {
        (Some(name), Some(server_type), Some(image), Some(location), Some(datacenter))
            if errs.is_empty() =>
        {
            Ok(CreateServer {
                name,
                server_type,
                image,
                location,
                datacenter,
                start_after_create,
                user_data,
                labels,
                ssh_keys,
                networks,
                firewalls,
                volumes,
                automount,
                placement_group,
                enable_ipv4,
                enable_ipv6,
            })
        }
        _ => Err(ApiError::invalid_input(errs)),
    }
}

fn parse_labels(
    m: &Map<String, Value>,
    bad: &mut impl FnMut(&str, String),
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in m {
        let Some(v) = v.as_str() else {
            bad("labels", format!("value of '{k}' must be a string"));
            continue;
        };
        if let Some(why) = labels::key_error(k) {
            bad("labels", format!("key '{k}' {why}"));
        } else if let Some(why) = labels::value_error(v) {
            bad("labels", format!("value '{v}' of '{k}' {why}"));
        } else {
            out.insert(k.clone(), v.to_string());
        }
    }
    out
}
