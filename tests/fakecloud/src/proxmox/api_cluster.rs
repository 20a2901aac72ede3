//! `GET /version`, `GET /nodes`, `GET /cluster/nextid`, `GET /cluster/resources` and the
//! task endpoints `GET /nodes/{node}/tasks/{upid}[/status|/log]`.

use axum::extract::{Path, Request, State};
use axum::response::Response;
use serde_json::json;

use super::errors::{ApiError, ok, ok_with};
use super::params::{Params, Prop, STRING, Ty, Values, validate};
use super::routes::{Shr, read_params};
use super::views;

const NO_PARAMS: &[Prop] = &[];

/// `GET /version`: `{version, release, repoid}`.
pub(crate) async fn version(req: Request) -> Result<Response, ApiError> {
    validate(read_params(req).await?, &[], NO_PARAMS, None)?;
    Ok(ok(views::version()))
}

/// `GET /nodes`: this node, online, with its certificate fingerprint.
pub(crate) async fn nodes(State(shared): Shr, req: Request) -> Result<Response, ApiError> {
    validate(read_params(req).await?, &[], NO_PARAMS, None)?;
    let fp = shared.fingerprint.clone();
    Ok(ok(shared.at_now(|st, clock| st.nodes_json(clock, &fp))))
}

/// `GET /cluster/nextid[?vmid=N]`.
pub(crate) async fn nextid(State(shared): Shr, req: Request) -> Result<Response, ApiError> {
    let v = validate(
        read_params(req).await?,
        &[],
        &[Prop::opt("vmid", Ty::Vmid)],
        None,
    )?;
    let id = shared.at_now(|st, _| st.next_id(v.vmid("vmid")))?;
    Ok(ok(id))
}

/// `GET /cluster/resources[?type=vm|storage|node|sdn]`.
pub(crate) async fn resources(State(shared): Shr, req: Request) -> Result<Response, ApiError> {
    let v = validate(
        read_params(req).await?,
        &[],
        &[Prop::opt(
            "type",
            Ty::Enum(&["vm", "storage", "node", "sdn"]),
        )],
        None,
    )?;
    let kind = v.str("type").map(String::from);
    Ok(ok(json!(shared.at_now(|st, clock| {
        match kind.as_deref() {
            Some("sdn") => Vec::new(),
            k => st.resources_json(k, clock),
        }
    }))))
}

fn task_params(node: &str, upid: &str, params: Params, extra: &[Prop]) -> Result<Values, ApiError> {
    let mut props = vec![Prop::req("node", Ty::Node), Prop::req("upid", STRING)];
    props.extend_from_slice(extra);
    validate(params, &[("node", node), ("upid", upid)], &props, None)
}

/// `GET /nodes/{node}/tasks/{upid}`: the directory index.
pub(crate) async fn task_index(
    Path((node, upid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    task_params(&node, &upid, read_params(req).await?, &[])?;
    Ok(ok(json!([{ "name": "log" }, { "name": "status" }])))
}

/// `GET /nodes/{node}/tasks/{upid}/status`.
pub(crate) async fn task_status(
    State(shared): Shr,
    Path((node, upid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    task_params(&node, &upid, read_params(req).await?, &[])?;
    Ok(ok(shared.at_now(|st, _| st.task_status_json(&upid))?))
}

/// `GET /nodes/{node}/tasks/{upid}/log?start=&limit=`: `{"data": [{n, t}], "total": N}`.
pub(crate) async fn task_log(
    State(shared): Shr,
    Path((node, upid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let count = Ty::Int {
        min: Some(0),
        max: None,
    };
    let v = task_params(
        &node,
        &upid,
        read_params(req).await?,
        &[
            Prop::opt("start", count),
            Prop::opt("limit", count),
            Prop::opt("download", Ty::Bool),
        ],
    )?;
    let start = v
        .int("start")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let limit = v
        .int("limit")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(50);
    let (lines, total) = shared.at_now(|st, _| st.task_log_json(&upid, start, limit))?;
    Ok(ok_with(json!({ "data": lines, "total": total })))
}
