//! `/nodes/{node}/storage...`: list, upload (multipart, an `imgcopy` task), content list
//! and volume delete (an `imgdel` task).

use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::Response;
use serde_json::json;

use super::errors::{ApiError, ok};
use super::multipart;
use super::params::{Params, Prop, Ty, Values, validate};
use super::routes::{Shr, read_params};
use super::storage_ops::{CONTENT_TYPES, UPLOAD_BODY_LIMIT, UploadArgs};

const NODE_STORAGE: [Prop; 2] = [
    Prop::req("node", Ty::Node),
    Prop::req("storage", Ty::StorageId),
];

/// `GET /nodes/{node}/storage[?content=iso&storage=local]`.
pub(crate) async fn list(
    State(shared): Shr,
    Path(node): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let v = validate(
        read_params(req).await?,
        &[("node", &node)],
        &[
            Prop::req("node", Ty::Node),
            Prop::opt("storage", Ty::StorageId),
            Prop::opt("content", Ty::Enum(CONTENT_TYPES)),
            Prop::opt("enabled", Ty::Bool),
            Prop::opt("format", Ty::Bool),
            Prop::opt("target", Ty::Node),
        ],
        None,
    )?;
    let (content, only) = (v.str("content"), v.str("storage"));
    if let Some(s) = only {
        shared.at_now(|st, _| {
            if st.storages.contains_key(s) {
                Ok(())
            } else {
                Err(ApiError::param("storage", "No such storage."))
            }
        })?;
    }
    Ok(ok(json!(
        shared.at_now(|st, _| st.storage_list(content, only))
    )))
}

/// `POST /nodes/{node}/storage/{storage}/upload` (`multipart/form-data`: `content`, then
/// optionally `checksum-algorithm` and `checksum`, then the file as `filename`).
pub(crate) async fn upload(
    State(shared): Shr,
    Path((node, storage)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let bytes = axum::body::to_bytes(body, UPLOAD_BODY_LIMIT)
        .await
        .map_err(|_| {
            ApiError::http(
                501,
                format!("upload larger than the fake's {UPLOAD_BODY_LIMIT} byte limit"),
            )
        })?;
    let mut params = Params::parse(parts.uri.query(), None, b"")?;
    let data = if bytes.is_empty() {
        None
    } else {
        let form = multipart::parse(content_type.as_deref(), &bytes)?;
        params.0.extend(form.fields);
        Some(form.data)
    };
    let v = upload_params(&node, &storage, params)?;
    shared.check_node(&node)?;
    let Some(data) = data else {
        return Err(ApiError::die("missing temporary file name"));
    };
    let own = |k: &str| v.str(k).map(String::from);
    let args = UploadArgs {
        storage: storage.clone(),
        content: own("content").unwrap_or_default(),
        filename: own("filename").unwrap_or_default(),
        checksum: own("checksum"),
        checksum_algorithm: own("checksum-algorithm"),
        data,
    };
    let upid = shared.at_now(|st, clock| st.upload(args, clock))?;
    Ok(ok(json!(upid)))
}

fn upload_params(node: &str, storage: &str, params: Params) -> Result<Values, ApiError> {
    let v = validate(
        params,
        &[("node", node), ("storage", storage)],
        &[
            NODE_STORAGE[0],
            NODE_STORAGE[1],
            Prop::req("content", Ty::Enum(&["iso", "vztmpl", "import"])),
            Prop::req("filename", Ty::Str { max_len: Some(255) }),
            Prop::opt("checksum", super::params::STRING),
            Prop::opt(
                "checksum-algorithm",
                Ty::Enum(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
            ),
        ],
        None,
    )?;
    for (a, b) in [
        ("checksum", "checksum-algorithm"),
        ("checksum-algorithm", "checksum"),
    ] {
        if v.str(a).is_some() && v.str(b).is_none() {
            return Err(ApiError::param(
                b,
                format!("missing property - '{a}' requires this property"),
            ));
        }
    }
    Ok(v)
}

/// `GET /nodes/{node}/storage/{storage}/content[?content=iso&vmid=N]`.
pub(crate) async fn content(
    State(shared): Shr,
    Path((node, storage)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    let v = validate(
        read_params(req).await?,
        &[("node", &node), ("storage", &storage)],
        &[
            NODE_STORAGE[0],
            NODE_STORAGE[1],
            Prop::opt("content", Ty::Enum(CONTENT_TYPES)),
            Prop::opt("vmid", Ty::Vmid),
        ],
        None,
    )?;
    let (kind, vmid) = (v.str("content"), v.vmid("vmid"));
    Ok(ok(json!(shared.at_now(|st, _| {
        st.storage_content(&storage, kind, vmid)
    })?)))
}

/// `DELETE /nodes/{node}/storage/{storage}/content/{volume}` (the volume as
/// `iso/NAME.iso` or as the full `STORAGE:iso/NAME.iso`).
pub(crate) async fn delete_volume(
    State(shared): Shr,
    Path((node, storage, volume)): Path<(String, String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    shared.check_node(&node)?;
    validate(
        read_params(req).await?,
        &[("node", &node), ("storage", &storage), ("volume", &volume)],
        &[
            NODE_STORAGE[0],
            NODE_STORAGE[1],
            Prop::req("volume", super::params::STRING),
            Prop::opt(
                "delay",
                Ty::Int {
                    min: Some(1),
                    max: Some(30),
                },
            ),
        ],
        None,
    )?;
    let upid = shared.at_now(|st, clock| st.delete_volume(&storage, &volume, clock))?;
    Ok(ok(json!(upid)))
}
