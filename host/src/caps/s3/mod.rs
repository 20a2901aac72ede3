//! The S3 capability: where the encrypted archive (and, later, Vault snapshots and run state)
//! live. Credentials come from aws-config's default chain: environment, profiles, AWS SSO (the
//! MFA step of the rebirth), instance roles. `--endpoint-url` or `AWS_ENDPOINT_URL` points it at
//! an S3-compatible server, with path-style addressing.
//!
//! Writes are conditional, so two operators never silently overwrite each other: creating uses
//! `If-None-Match: *`, replacing uses `If-Match: <etag we read>`. Where the bucket is
//! versioned, the previous object stays as an older version. The SDK retries 5xx answers and
//! timeouts with backoff. Large objects stream through [`transfer`] in bounded memory.

mod listing;
mod location;
mod transfer;

pub use listing::Listed;
pub use location::{LocationError, S3Location};
pub use transfer::{ObjectReader, ObjectWriter, PARALLEL_PARTS, PART_SIZE, Upload};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

/// An object as read.
#[derive(Debug)]
pub struct S3Object {
    /// Its bytes (ciphertext: archives are encrypted before they reach S3).
    pub bytes: Vec<u8>,
    /// Its ETag, for a later `If-Match`.
    pub etag: Option<String>,
    /// Its version, where the bucket is versioned.
    pub version_id: Option<String>,
    /// Its user metadata (`x-amz-meta-*`), keys lowercased.
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// How a write may treat an existing object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// Only if no object exists (`If-None-Match: *`).
    CreateNew,
    /// Only if the object still has this ETag (`If-Match`).
    Replace(String),
    /// Whatever is there (an explicit `--force`).
    Overwrite,
}

/// What a write produced.
#[derive(Debug, Clone)]
pub struct Written {
    /// New ETag.
    pub etag: Option<String>,
    /// New version, where versioned.
    pub version_id: Option<String>,
}

/// An S3 call failed. Messages name the location and S3's error code, never credentials.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// No such object or bucket.
    #[error("{0} does not exist")]
    NotFound(S3Location),
    /// A conditional write lost: someone else wrote first.
    #[error(
        "{0} was changed by someone else since it was read (or already exists): nothing was overwritten; read it again and retry"
    )]
    Conflict(S3Location),
    /// Credentials missing or refused.
    #[error(
        "S3 refused access to {location} ({code}); check the AWS credentials (profile, SSO login, environment)"
    )]
    AccessDenied {
        /// Where.
        location: S3Location,
        /// S3's error code.
        code: String,
    },
    /// The server could not be reached.
    #[error("S3 endpoint unreachable for {location}: {reason}")]
    Unreachable {
        /// Where.
        location: S3Location,
        /// What failed (connect, timeout, DNS).
        reason: String,
    },
    /// The contents could not be produced, so the upload was cancelled.
    #[error("the upload to {0} was cancelled before it completed; nothing was written")]
    Abandoned(S3Location),
    /// Anything else S3 said.
    #[error("S3 error on {location}: {code}: {message}")]
    Other {
        /// Where.
        location: S3Location,
        /// S3's error code.
        code: String,
        /// S3's message.
        message: String,
    },
}

/// A client for one endpoint and credential chain.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    /// Load configuration the way the AWS CLI does; `endpoint_url` (or `AWS_ENDPOINT_URL`)
    /// selects an S3-compatible server and path-style addressing.
    pub async fn from_env(endpoint_url: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let shared = loader.load().await;
        let custom_endpoint = endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|v| !v.is_empty());
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        if shared.region().is_none() {
            // S3-compatible servers rarely care; AWS needs one, and us-east-1 is its default.
            config = config.region(aws_sdk_s3::config::Region::new("us-east-1"));
        }
        // Fail fast on a dead endpoint. No read timeout: it runs from the start of a request to
        // the first byte of the answer, so on a slow uplink it would fail every 8 MiB part.
        // A server that stops mid-transfer is caught by the SDK's stalled-stream protection
        // (on by default: no progress for 5 s fails the attempt, which is retried).
        let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build();
        let config = config
            .force_path_style(custom_endpoint)
            .timeout_config(timeouts)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
        }
    }

    /// Send a GetObject; the body is the caller's to read.
    async fn get_object(
        &self,
        location: &S3Location,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, S3Error> {
        self.client
            .get_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .send()
            .await
            .map_err(|e| classify(e, location))
    }

    /// Read a whole object.
    pub async fn get(&self, location: &S3Location) -> Result<S3Object, S3Error> {
        let out = self.get_object(location).await?;
        let etag = out.e_tag().map(str::to_string);
        let version_id = out.version_id().map(str::to_string);
        let metadata = out
            .metadata()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| S3Error::Unreachable {
                location: location.clone(),
                reason: format!("reading the object failed: {e}"),
            })?
            .into_bytes()
            .to_vec();
        Ok(S3Object {
            bytes,
            etag,
            version_id,
            metadata,
        })
    }

    /// Write a whole object under `condition`.
    pub async fn put(
        &self,
        location: &S3Location,
        bytes: Vec<u8>,
        condition: &WriteCondition,
    ) -> Result<Written, S3Error> {
        self.put_with_metadata(location, bytes, condition, &[])
            .await
    }

    /// [`S3Store::put`] with user metadata (`x-amz-meta-<name>`).
    pub async fn put_with_metadata(
        &self,
        location: &S3Location,
        bytes: Vec<u8>,
        condition: &WriteCondition,
        metadata: &[(&str, &str)],
    ) -> Result<Written, S3Error> {
        let mut request = self
            .client
            .put_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .content_type("application/octet-stream")
            .body(ByteStream::from(bytes));
        for (name, value) in metadata {
            request = request.metadata(*name, *value);
        }
        request = match condition {
            WriteCondition::CreateNew => request.if_none_match("*"),
            WriteCondition::Replace(etag) => request.if_match(etag),
            WriteCondition::Overwrite => request,
        };
        let out = request.send().await.map_err(|e| classify(e, location))?;
        Ok(Written {
            etag: out.e_tag().map(str::to_string),
            version_id: out.version_id().map(str::to_string),
        })
    }
}

/// Turn an SDK error into one the operator can act on.
fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(
    err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    location: &S3Location,
) -> S3Error {
    let location = location.clone();
    let status = err.raw_response().map(|r| r.status().as_u16());
    match &err {
        SdkError::DispatchFailure(f) => {
            let reason = if f.is_timeout() {
                "timed out"
            } else if f.is_io() {
                "connection failed"
            } else {
                "request could not be sent"
            };
            return S3Error::Unreachable {
                location,
                reason: reason.into(),
            };
        }
        SdkError::TimeoutError(_) => {
            return S3Error::Unreachable {
                location,
                reason: "timed out".into(),
            };
        }
        _ => {}
    }
    let code = err.code().unwrap_or("").to_string();
    let message = err.message().unwrap_or("").to_string();
    match (status, code.as_str()) {
        (Some(412), _) | (_, "PreconditionFailed") | (Some(409), "ConditionalRequestConflict") => {
            S3Error::Conflict(location)
        }
        (Some(404), _) | (_, "NoSuchKey") | (_, "NoSuchBucket") => S3Error::NotFound(location),
        (Some(403), _)
        | (_, "AccessDenied")
        | (_, "InvalidAccessKeyId")
        | (_, "SignatureDoesNotMatch") => S3Error::AccessDenied {
            location,
            code: if code.is_empty() { "403".into() } else { code },
        },
        _ => S3Error::Other {
            location,
            code: if code.is_empty() {
                status.map_or_else(|| "unknown".into(), |s| s.to_string())
            } else {
                code
            },
            message,
        },
    }
}
