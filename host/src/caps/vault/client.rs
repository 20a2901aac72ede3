//! A small Vault HTTP client: only the endpoints the rebirth uses, each with its own shape.
//! Errors carry the address, the path and Vault's own error strings, never a token or key.

use crate::secrets::SecretValue;
use serde::Deserialize;
use std::time::Duration;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A Vault call failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Nothing answered.
    #[error("Vault at {addr} is unreachable: {reason}")]
    Unreachable {
        /// Address.
        addr: String,
        /// Connect, timeout, TLS.
        reason: String,
    },
    /// Vault answered with an error.
    #[error("Vault at {addr} refused {what} (HTTP {status}){}", errors_text(.errors))]
    Refused {
        /// Address.
        addr: String,
        /// What was asked.
        what: String,
        /// HTTP status.
        status: u16,
        /// Vault's `errors` array.
        errors: Vec<String>,
    },
    /// An answer that is not what the API documents.
    #[error("Vault at {addr} answered {what} with something unexpected: {detail}")]
    Unexpected {
        /// Address.
        addr: String,
        /// What was asked.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The address or CA is unusable.
    #[error("Vault configuration: {0}")]
    Config(String),
}

fn errors_text(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(": {}", crate::report::clean(&errors.join("; ")))
    }
}

/// The token as a header value marked sensitive (never logged by the HTTP stack).
fn token_header(token: &SecretValue) -> Result<reqwest::header::HeaderValue, VaultError> {
    let mut value = reqwest::header::HeaderValue::from_str(token.expose())
        .map_err(|_| VaultError::Config("the Vault token is not a valid header value".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `GET /v1/sys/health`, asked to answer 200 in every state so the body can be read.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Health {
    /// Initialized at all.
    pub initialized: bool,
    /// Sealed.
    pub sealed: bool,
    /// A standby (or just unsealed, not yet active).
    pub standby: bool,
    /// Server version.
    #[serde(default)]
    pub version: String,
    /// The cluster's name, once active.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// The cluster's id, once active.
    #[serde(default)]
    pub cluster_id: Option<String>,
}

impl Health {
    /// A one-word state: `uninitialized`, `sealed`, `standby` or `active`.
    pub fn state(&self) -> &'static str {
        match (self.initialized, self.sealed, self.standby) {
            (false, _, _) => "uninitialized",
            (true, true, _) => "sealed",
            (true, false, true) => "standby",
            (true, false, false) => "active",
        }
    }
}

/// `GET /v1/sys/seal-status` and the answer of every `sys/unseal`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SealStatus {
    /// Sealed.
    pub sealed: bool,
    /// Keys needed.
    pub t: u32,
    /// Keys in all.
    pub n: u32,
    /// Keys accepted so far in this attempt.
    pub progress: u32,
    /// Initialized.
    #[serde(default)]
    pub initialized: bool,
}

/// One Vault server.
#[derive(Clone)]
pub struct VaultClient {
    http: reqwest::Client,
    addr: String,
    namespace: Option<String>,
}

impl std::fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultClient({})", self.addr)
    }
}

impl VaultClient {
    /// A client for `addr` (`http(s)://host:port`), trusting `ca_pem` as well as the system's
    /// roots when given.
    pub fn new(
        addr: &str,
        ca_pem: Option<&[u8]>,
        namespace: Option<String>,
    ) -> Result<Self, VaultError> {
        let url = url::Url::parse(addr)
            .map_err(|e| VaultError::Config(format!("VAULT_ADDR `{addr}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(VaultError::Config(format!(
                "VAULT_ADDR `{addr}` must be http(s)://host[:port]"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| VaultError::Config(format!("the Vault CA is not valid PEM: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| VaultError::Config(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            addr: addr.trim_end_matches('/').to_string(),
            namespace: namespace.filter(|n| !n.is_empty()),
        })
    }

    /// From `VAULT_ADDR` (or `addr`), `VAULT_CACERT` and `VAULT_NAMESPACE`.
    pub fn from_env(addr: Option<&str>) -> Result<Self, VaultError> {
        Self::from_env_with_ca(addr, None)
    }

    /// [`VaultClient::from_env`], trusting `ca_pem` (e.g. the CA kept in the archive, as
    /// stored) instead of `VAULT_CACERT` when given.
    pub fn from_env_with_ca(addr: Option<&str>, ca_pem: Option<&[u8]>) -> Result<Self, VaultError> {
        let addr = match addr {
            Some(a) => a.to_string(),
            None => std::env::var("VAULT_ADDR").map_err(|_| {
                VaultError::Config("no Vault address: pass --addr or set VAULT_ADDR".into())
            })?,
        };
        let ca = match std::env::var_os("VAULT_CACERT").filter(|v| !v.is_empty()) {
            _ if ca_pem.is_some() => ca_pem.map(<[u8]>::to_vec),
            Some(path) => Some(std::fs::read(&path).map_err(|e| {
                VaultError::Config(format!(
                    "cannot read VAULT_CACERT {}: {e}",
                    std::path::Path::new(&path).display()
                ))
            })?),
            None => None,
        };
        Self::new(&addr, ca.as_deref(), std::env::var("VAULT_NAMESPACE").ok())
    }

    /// The address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub(super) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&SecretValue>,
        body: Option<String>,
    ) -> Result<(u16, Vec<u8>), VaultError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.addr))
            .header("Accept", "application/json");
        if let Some(ns) = &self.namespace {
            request = request.header("X-Vault-Namespace", ns);
        }
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token_header(token)?);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        // Vault has answered: a body that breaks off is not "unreachable" (which would let
        // the bootstrap read fall back to the archive after a refusal).
        let bytes = response.bytes().await.map_err(|_| VaultError::Unexpected {
            addr: self.addr.clone(),
            what: path.split('?').next().unwrap_or(path).to_string(),
            detail: format!("the answer (HTTP {status}) broke off"),
        })?;
        Ok((status, bytes.to_vec()))
    }

    fn unreachable(&self, e: &reqwest::Error) -> VaultError {
        // The source chain names TLS problems; it never holds the request's headers.
        let mut chain = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            chain = format!("{chain}: {s}");
            source = s.source();
        }
        let lower = chain.to_ascii_lowercase();
        let reason = if e.is_timeout() {
            "timed out".to_string()
        } else if lower.contains("certificate") || lower.contains("tls") {
            format!("TLS failed (is its CA trusted? VAULT_CACERT or --ca-name): {chain}")
        } else if e.is_connect() {
            "connection refused or failed".to_string()
        } else {
            chain
        };
        VaultError::Unreachable {
            addr: self.addr.clone(),
            reason: crate::report::clean(&reason),
        }
    }

    pub(super) fn refused(&self, what: &str, status: u16, body: &[u8]) -> VaultError {
        #[derive(Deserialize)]
        struct Errors {
            #[serde(default)]
            errors: Vec<String>,
        }
        let errors = serde_json::from_slice::<Errors>(body)
            .map(|e| e.errors)
            .unwrap_or_default();
        VaultError::Refused {
            addr: self.addr.clone(),
            what: what.to_string(),
            status,
            errors,
        }
    }

    pub(super) fn parse<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        body: &[u8],
    ) -> Result<T, VaultError> {
        serde_json::from_slice(body).map_err(|e| VaultError::Unexpected {
            addr: self.addr.clone(),
            what: what.to_string(),
            detail: e.to_string(),
        })
    }

    /// A GET that must answer 200 with JSON; the body is zeroized once parsed (it may hold
    /// secrets: KV values, token details).
    pub(super) async fn get_json(
        &self,
        what: &str,
        path: &str,
        token: &SecretValue,
    ) -> Result<serde_json::Value, VaultError> {
        let (status, body) = self
            .send(reqwest::Method::GET, path, Some(token), None)
            .await?;
        let body = zeroize::Zeroizing::new(body);
        if status != 200 {
            return Err(self.refused(what, status, &body));
        }
        self.parse(what, &body)
    }

    /// Health in every state (uninitialized, sealed, standby and active all answer 200 here).
    pub async fn health(&self) -> Result<Health, VaultError> {
        let what = "GET sys/health";
        let (status, body) = self
            .send(
                reqwest::Method::GET,
                "/v1/sys/health?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200",
                None,
                None,
            )
            .await?;
        if status != 200 {
            return Err(self.refused(what, status, &body));
        }
        self.parse(what, &body)
    }

    /// The seal status (keys needed, accepted so far).
    pub async fn seal_status(&self) -> Result<SealStatus, VaultError> {
        let what = "GET sys/seal-status";
        let (status, body) = self
            .send(reqwest::Method::GET, "/v1/sys/seal-status", None, None)
            .await?;
        if status != 200 {
            return Err(self.refused(what, status, &body));
        }
        self.parse(what, &body)
    }

    /// Submit one unseal key.
    pub async fn submit_unseal_key(&self, key: &SecretValue) -> Result<SealStatus, VaultError> {
        let what = "an unseal key";
        let body = serde_json::json!({ "key": key.expose() }).to_string();
        let (status, answer) = self
            .send(reqwest::Method::PUT, "/v1/sys/unseal", None, Some(body))
            .await?;
        if status != 200 {
            return Err(self.refused(what, status, &answer));
        }
        self.parse(what, &answer)
    }

    /// Forget the keys submitted so far.
    pub async fn reset_unseal(&self) -> Result<SealStatus, VaultError> {
        let what = "an unseal reset";
        let (status, answer) = self
            .send(
                reqwest::Method::PUT,
                "/v1/sys/unseal",
                None,
                Some(r#"{"reset":true}"#.into()),
            )
            .await?;
        if status != 200 {
            return Err(self.refused(what, status, &answer));
        }
        self.parse(what, &answer)
    }

    /// Poll health until Vault is active, or `timeout` passes.
    pub async fn wait_active(&self, timeout: Duration) -> Result<Health, VaultError> {
        let start = std::time::Instant::now();
        loop {
            match self.health().await {
                Ok(h) if h.state() == "active" => return Ok(h),
                Ok(h) if start.elapsed() > timeout => {
                    return Err(VaultError::Unexpected {
                        addr: self.addr.clone(),
                        what: "waiting to become active".into(),
                        detail: format!("still {} after {timeout:?}", h.state()),
                    });
                }
                Err(e) if start.elapsed() > timeout => return Err(e),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Initialize an empty Vault with `shares` keys, `threshold` of them needed. Returns the
    /// keys (base64) and the root token; the caller decides what to keep.
    pub async fn init(
        &self,
        shares: u32,
        threshold: u32,
    ) -> Result<(Vec<SecretValue>, SecretValue), VaultError> {
        #[derive(Deserialize)]
        struct Init {
            keys_base64: Vec<String>,
            root_token: String,
        }
        let what = "PUT sys/init";
        let body = serde_json::json!({ "secret_shares": shares, "secret_threshold": threshold });
        let (status, answer) = self
            .send(
                reqwest::Method::PUT,
                "/v1/sys/init",
                None,
                Some(body.to_string()),
            )
            .await?;
        let answer = zeroize::Zeroizing::new(answer);
        if status != 200 {
            return Err(self.refused(what, status, &answer));
        }
        // Not `parse`: serde's message could quote a key from a malformed answer.
        let init: Init = serde_json::from_slice(&answer).map_err(|_| VaultError::Unexpected {
            addr: self.addr.clone(),
            what: what.to_string(),
            detail: "the answer does not have keys_base64 and root_token".into(),
        })?;
        Ok((
            init.keys_base64.into_iter().map(SecretValue::new).collect(),
            SecretValue::new(init.root_token),
        ))
    }

    /// `POST sys/storage/raft/snapshot-force`: replace everything with `snapshot`, even one
    /// taken under other unseal keys. Vault seals itself a few seconds later.
    pub async fn restore_snapshot_force(
        &self,
        token: &SecretValue,
        snapshot: Vec<u8>,
    ) -> Result<(), VaultError> {
        let what = "POST sys/storage/raft/snapshot-force";
        let mut request = self
            .http
            .post(format!("{}/v1/sys/storage/raft/snapshot-force", self.addr))
            .timeout(Duration::from_secs(300))
            .body(snapshot)
            .header("X-Vault-Token", token_header(token)?);
        if let Some(ns) = &self.namespace {
            request = request.header("X-Vault-Namespace", ns);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        if status != 204 && status != 200 {
            let body = response.bytes().await.unwrap_or_default();
            return Err(self.refused(what, status, &body));
        }
        Ok(())
    }

    /// Whether `token` is valid here (`GET auth/token/lookup-self`).
    pub async fn token_valid(&self, token: &SecretValue) -> Result<bool, VaultError> {
        let what = "GET auth/token/lookup-self";
        let (status, body) = self
            .send(
                reqwest::Method::GET,
                "/v1/auth/token/lookup-self",
                Some(token),
                None,
            )
            .await?;
        match status {
            200 => Ok(true),
            401 | 403 => Ok(false),
            _ => Err(self.refused(what, status, &body)),
        }
    }

    /// `GET sys/storage/raft/snapshot` as a stream of chunks.
    pub async fn snapshot_stream(
        &self,
        token: &SecretValue,
    ) -> Result<impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + use<>, VaultError>
    {
        let what = "GET sys/storage/raft/snapshot";
        let value = token_header(token)?;
        let mut request = self
            .http
            .get(format!("{}/v1/sys/storage/raft/snapshot", self.addr))
            // A large snapshot takes longer than one API call.
            .timeout(Duration::from_secs(3600))
            .header("X-Vault-Token", value);
        if let Some(ns) = &self.namespace {
            request = request.header("X-Vault-Namespace", ns);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.bytes().await.unwrap_or_default();
            return Err(self.refused(what, status, &body));
        }
        Ok(response.bytes_stream())
    }
}
