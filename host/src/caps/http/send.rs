//! Sending one plugin request under its plugin's [`HttpPolicy`].

use super::oauth::{CachedToken, OAuthClient};
use super::origin::{OriginHost, is_internal, origin_of};
use super::policy::{HttpPolicy, PolicyError};
use super::tls::TlsTrust;
use crate::caps::crypto::oci_signature::{self, RequestParts, SigningKey};
use crate::secrets::{SecretSet, SecretValue};
use base64::Engine as _;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Size and time limits of the http capability. Defaults are generous for cloud APIs and small
/// enough that a hostile plugin or server cannot make the host allocate without bound.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest request body a plugin may send (1 MiB: a Talos config is ~30 KiB).
    pub max_request_body: usize,
    /// Largest response body the host reads (8 MiB: a full Hetzner server list is ~1 MiB).
    pub max_response_body: usize,
    /// Most headers a plugin may set (64) and their total size in bytes (16 KiB).
    pub max_headers: usize,
    /// Total size of all header names and values.
    pub max_header_bytes: usize,
    /// Longest URL (8 KiB, what most servers accept).
    pub max_url_len: usize,
    /// One request, connect to last byte (60 s).
    pub request_timeout: Duration,
    /// Same-origin redirects followed (5).
    pub max_redirects: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_request_body: 1 << 20,
            max_response_body: 8 << 20,
            max_headers: 64,
            max_header_bytes: 16 << 10,
            max_url_len: 8 << 10,
            request_timeout: Duration::from_secs(60),
            max_redirects: 5,
        }
    }
}

/// A credential the plugin asks the host to attach, by secret name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialRef {
    /// `authorization: Bearer <secret>`.
    Bearer(String),
    /// `authorization: <prefix><secret>`.
    Prefixed {
        /// Text before the secret.
        prefix: String,
        /// Secret name.
        secret: String,
    },
    /// HTTP Basic.
    Basic {
        /// Secret holding the user name.
        username: String,
        /// Secret holding the password.
        password: String,
    },
    /// A bearer token the host obtains with the OAuth client-credentials grant.
    OAuthClientCredentials {
        /// Token endpoint URL.
        token_url: String,
        /// Secret holding the client id.
        client_id: String,
        /// Secret holding the client secret.
        client_secret: String,
        /// Scopes to ask for.
        scopes: Vec<String>,
    },
    /// An OCI request signature made with a private key held by the host.
    OciSignature {
        /// `TENANCY/USER/FINGERPRINT`.
        key_id: String,
        /// Secret holding the PEM private key.
        private_key: String,
    },
}

/// A request as the plugin gave it.
#[derive(Debug, Clone, Default)]
pub struct OutboundRequest {
    /// HTTP method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<Vec<u8>>,
    /// Credential to attach.
    pub credential: Option<CredentialRef>,
}

/// A response as the plugin receives it.
#[derive(Debug, Clone)]
pub struct InboundResponse {
    /// Status code.
    pub status: u16,
    /// A non-standard reason phrase (capped, control characters replaced).
    pub reason: Option<String>,
    /// Headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Why a request was not answered.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Policy refused it (maps to the WIT `denied`).
    #[error("{0}")]
    Denied(String),
    /// The network failed (maps to the WIT `transient`).
    #[error("{0}")]
    Transient(String),
}

impl From<PolicyError> for HttpError {
    fn from(e: PolicyError) -> Self {
        HttpError::Denied(e.to_string())
    }
}

/// A credential ready to send, and the secret values in it (to spot echoes).
struct Credential {
    kind: Attach,
    raw: Vec<SecretValue>,
}

/// How a credential goes onto the request.
enum Attach {
    /// A fixed `authorization` value.
    Header(SecretValue),
    /// A signature computed for each request as sent (redirect hops included).
    OciSignature { key: SigningKey, key_id: String },
}

impl Credential {
    /// Byte strings that must not come back in a response. Secrets shorter than the redaction
    /// minimum are skipped, as in the redactor: they would match by chance.
    fn needles(&self) -> impl Iterator<Item = &str> {
        let header = match &self.kind {
            Attach::Header(h) => Some(h.expose()),
            Attach::OciSignature { .. } => None,
        };
        header
            .into_iter()
            .chain(self.raw.iter().map(SecretValue::expose))
            .filter(|n| n.len() >= crate::secrets::MIN_REDACTED_LEN)
    }
}

/// Headers only the host sets.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "authorization",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "cookie",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "date",
    "x-content-sha256",
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// Longest `authorization-prefix` prefix (`PVEAPIToken=USER@REALM!TOKENID=` fits easily).
const MAX_PREFIX: usize = 256;

/// The http capability of one plugin.
#[derive(Clone)]
pub struct HttpCap {
    policy: Arc<HttpPolicy>,
    secrets: Arc<SecretSet>,
    limits: HttpLimits,
    /// Built on the first request: building a TLS client costs milliseconds, and most plugin
    /// calls (`describe`, `validate`) never send one.
    clients: Arc<OnceLock<Result<Clients, String>>>,
    /// Clients for origins whose TLS trust the operator pinned, by origin and internal_ok.
    pinned: Arc<Mutex<HashMap<(super::Origin, bool), reqwest::Client>>>,
    /// OAuth access tokens obtained for this plugin, by client and scopes.
    tokens: Arc<tokio::sync::Mutex<HashMap<String, CachedToken>>>,
}

/// The two clients of a plugin.
struct Clients {
    /// Refuses to connect to internal addresses after DNS.
    public: reqwest::Client,
    /// For destinations the operator named explicitly.
    operator: reqwest::Client,
}

impl std::fmt::Debug for HttpCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpCap")
            .field("policy", &self.policy)
            .finish()
    }
}

impl HttpCap {
    /// The capability under `policy`.
    pub fn new(policy: Arc<HttpPolicy>, secrets: Arc<SecretSet>, limits: HttpLimits) -> Self {
        Self {
            policy,
            secrets,
            limits,
            clients: Arc::default(),
            pinned: Arc::default(),
            tokens: Arc::default(),
        }
    }

    fn build_client(
        &self,
        internal_ok: bool,
        trust: Option<&TlsTrust>,
    ) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.limits.request_timeout)
            .connect_timeout(Duration::from_secs(15))
            .dns_resolver(Arc::new(GuardedResolver { internal_ok }))
            .user_agent(concat!("tazhost/", env!("CARGO_PKG_VERSION")))
            .no_proxy();
        if let Some(trust) = trust {
            builder = trust.configure(builder)?;
        }
        builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }

    /// The client for a request to `dest`: one that trusts only the operator's pin for that
    /// origin if there is one, else the shared one that trusts the system roots.
    fn client(
        &self,
        internal_ok: bool,
        dest: &super::Origin,
    ) -> Result<reqwest::Client, HttpError> {
        if let Some(trust) = self.policy.tls_trust(dest) {
            let mut pinned = self.pinned.lock().unwrap_or_else(|e| e.into_inner());
            let key = (dest.clone(), internal_ok);
            if let Some(client) = pinned.get(&key) {
                return Ok(client.clone());
            }
            let client = self
                .build_client(internal_ok, Some(trust))
                .map_err(HttpError::Transient)?;
            pinned.insert(key, client.clone());
            return Ok(client);
        }
        let clients = self.clients.get_or_init(|| {
            Ok(Clients {
                public: self.build_client(false, None)?,
                operator: self.build_client(true, None)?,
            })
        });
        match clients {
            Ok(c) if internal_ok => Ok(c.operator.clone()),
            Ok(c) => Ok(c.public.clone()),
            Err(e) => Err(HttpError::Transient(e.clone())),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// Send one request under the policy. A request with an OAuth credential whose token the
    /// server no longer accepts (401: revoked, or expired early) is sent once more with a fresh
    /// token.
    pub async fn send(&self, req: OutboundRequest) -> Result<InboundResponse, HttpError> {
        let Some(CredentialRef::OAuthClientCredentials {
            token_url,
            client_id,
            client_secret,
            scopes,
        }) = &req.credential
        else {
            return self.send_once(req).await;
        };
        let response = self.send_once(req.clone()).await?;
        if response.status != 401 {
            return Ok(response);
        }
        let client = OAuthClient {
            token_url,
            client_id,
            client_secret,
            scopes,
        };
        self.tokens.lock().await.remove(&client.cache_key());
        self.send_once(req).await
    }

    async fn send_once(&self, req: OutboundRequest) -> Result<InboundResponse, HttpError> {
        self.check_shape(&req)?;
        let route = self.policy.route(&req.url)?;
        let auth = match &req.credential {
            Some(CredentialRef::OAuthClientCredentials {
                token_url,
                client_id,
                client_secret,
                scopes,
            }) => {
                let client = OAuthClient {
                    token_url,
                    client_id,
                    client_secret,
                    scopes,
                };
                Some(self.oauth_credential(&client, &route.logical).await?)
            }
            Some(cred) => Some(self.credential_header(cred, &route.logical)?),
            None => None,
        };
        let mut method: reqwest::Method = req.method.parse().expect("method checked above");
        let mut body = req.body;
        let mut url = route.url;
        for hop in 0..=self.limits.max_redirects {
            let dest = origin_of(&url).map_err(PolicyError::from)?;
            if let OriginHost::Ip(ip) = dest.host
                && is_internal(ip)
                && !route.internal_ok
            {
                return Err(PolicyError::Internal(dest).into());
            }
            let client = self.client(route.internal_ok, &dest)?;
            let mut builder = client.request(method.clone(), url.clone());
            // This hop's OCI signature, if any: replayable for minutes, so never echoed either.
            let mut signed_authorization: Option<String> = None;
            for (name, value) in &req.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            match auth.as_ref().map(|a| &a.kind) {
                Some(Attach::Header(value)) => {
                    builder = builder.header(reqwest::header::AUTHORIZATION, value.expose());
                }
                Some(Attach::OciSignature { key, key_id }) => {
                    if body.is_none() && oci_signature::has_body(method.as_str()) {
                        // Signed as `content-length: 0`; make sure that is what goes out.
                        body = Some(Vec::new());
                    }
                    let mut content_types = req
                        .headers
                        .iter()
                        .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"));
                    let content_type = content_types.next().map(|(_, v)| v.as_str());
                    if content_types.next().is_some() {
                        return Err(HttpError::Denied(
                            "a signed request carries one content-type header, not several".into(),
                        ));
                    }
                    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
                    let signed = oci_signature::sign(
                        key,
                        key_id,
                        RequestParts {
                            method: method.as_str(),
                            url: &url,
                            content_type,
                            body: body.as_deref(),
                            date: &date,
                        },
                    )
                    .map_err(|e| HttpError::Denied(e.to_string()))?;
                    for (name, value) in signed.headers {
                        if name == "content-type" && content_type.is_some() {
                            continue;
                        }
                        if name == "authorization" {
                            signed_authorization = Some(value.clone());
                        }
                        builder = builder.header(name, value);
                    }
                    if body.as_ref().is_some_and(Vec::is_empty) {
                        // hyper omits `content-length` for an empty body, but it was signed.
                        builder = builder.header(reqwest::header::CONTENT_LENGTH, "0");
                    }
                }
                None => {}
            }
            if let Some(b) = &body {
                builder = builder.body(b.clone());
            }
            let resp = builder
                .send()
                .await
                .map_err(|e| describe_send_error(&e, &dest))?;
            let status = resp.status().as_u16();
            if resp.status().is_redirection()
                && let Some(location) = resp.headers().get(reqwest::header::LOCATION)
            {
                if hop == self.limits.max_redirects {
                    return Err(HttpError::Denied(format!(
                        "{dest}: more than {} redirects",
                        self.limits.max_redirects
                    )));
                }
                let next = location
                    .to_str()
                    .ok()
                    .and_then(|l| url.join(l).ok())
                    .ok_or_else(|| HttpError::Denied(format!("{dest}: invalid redirect")))?;
                let next_origin = origin_of(&next).map_err(PolicyError::from)?;
                if next_origin != dest {
                    return Err(HttpError::Denied(format!(
                        "{dest} redirected to another origin; cross-origin redirects are refused"
                    )));
                }
                if status == 303 || ((status == 301 || status == 302) && method == "POST") {
                    method = reqwest::Method::GET;
                    body = None;
                }
                url = next;
                continue;
            }
            let mut response = self.read_response(resp, &dest).await?;
            if let Some(auth) = &auth {
                refuse_echo(&response, auth, signed_authorization.as_deref(), &dest)?;
            }
            // Capped only now: a cut could otherwise leave part of a secret past the echo check.
            if let Some(reason) = &mut response.reason {
                truncate_at_char(reason, MAX_REASON);
            }
            return Ok(response);
        }
        unreachable!("the loop returns on its last hop")
    }

    fn check_shape(&self, req: &OutboundRequest) -> Result<(), HttpError> {
        let deny = |m: String| Err(HttpError::Denied(m));
        if !METHODS.contains(&req.method.as_str()) {
            return deny(format!(
                "method must be one of {}; got a method of {} bytes",
                METHODS.join(", "),
                req.method.len()
            ));
        }
        if req.url.len() > self.limits.max_url_len {
            return deny(format!("URL longer than {} bytes", self.limits.max_url_len));
        }
        if req.headers.len() > self.limits.max_headers {
            return deny(format!("more than {} headers", self.limits.max_headers));
        }
        let header_bytes: usize = req.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        if header_bytes > self.limits.max_header_bytes {
            return deny(format!(
                "headers larger than {} bytes",
                self.limits.max_header_bytes
            ));
        }
        for (name, value) in &req.headers {
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("proxy-") {
                return deny(format!("header `{lower}` is set by the host only"));
            }
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return deny("invalid header name".into());
            }
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                return deny(format!("invalid value for header `{lower}`"));
            }
        }
        if let Some(body) = &req.body
            && body.len() > self.limits.max_request_body
        {
            return deny(format!(
                "request body larger than {} bytes",
                self.limits.max_request_body
            ));
        }
        Ok(())
    }

    fn credential_header(
        &self,
        cred: &CredentialRef,
        origin: &super::Origin,
    ) -> Result<Credential, HttpError> {
        let value = |name: &str| -> Result<&str, HttpError> {
            self.policy.check_attach(name, origin)?;
            self.secrets.get(name).map(|v| v.expose()).ok_or_else(|| {
                HttpError::Denied(format!("secret `{name}` has no value in this run"))
            })
        };
        // A private key signs; it is never sent. Refuse it in any header credential, whatever
        // the plugin names it as.
        let header_value = |name: &str| -> Result<&str, HttpError> {
            let v = value(name)?;
            if v.contains("PRIVATE KEY-----") {
                return Err(HttpError::Denied(format!(
                    "secret `{name}` holds a private key, which is never sent in a header; only used to sign"
                )));
            }
            Ok(v)
        };
        let mut raw = Vec::new();
        let header = match cred {
            CredentialRef::Bearer(name) => {
                raw.push(SecretValue::new(header_value(name)?.to_string()));
                format!("Bearer {}", header_value(name)?)
            }
            CredentialRef::Prefixed { prefix, secret } => {
                if prefix.len() > MAX_PREFIX || prefix.chars().any(char::is_control) {
                    return Err(HttpError::Denied("credential prefix is invalid".into()));
                }
                raw.push(SecretValue::new(header_value(secret)?.to_string()));
                format!("{prefix}{}", header_value(secret)?)
            }
            CredentialRef::Basic { username, password } => {
                raw.push(SecretValue::new(header_value(password)?.to_string()));
                let raw = zeroize::Zeroizing::new(format!(
                    "{}:{}",
                    header_value(username)?,
                    header_value(password)?
                ));
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
                )
            }
            CredentialRef::OAuthClientCredentials { .. } => {
                unreachable!("OAuth credentials are resolved by oauth_credential")
            }
            CredentialRef::OciSignature {
                key_id,
                private_key,
            } => {
                let pem = value(private_key)?;
                let key =
                    SigningKey::from_pem(pem).map_err(|e| HttpError::Denied(e.to_string()))?;
                raw.push(SecretValue::new(pem.to_string()));
                return Ok(Credential {
                    kind: Attach::OciSignature {
                        key,
                        key_id: key_id.clone(),
                    },
                    raw,
                });
            }
        };
        if reqwest::header::HeaderValue::from_str(&header).is_err() {
            return Err(HttpError::Denied(
                "a secret's value cannot be sent in a header (control characters)".into(),
            ));
        }
        Ok(Credential {
            kind: Attach::Header(SecretValue::new(header)),
            raw,
        })
    }

    /// `authorization: Bearer <token>` for `client`, fetching a token when there is none that
    /// is still fresh. The client's secrets must be granted both for the token endpoint (they
    /// are sent there) and for `origin` (the token they buy is).
    async fn oauth_credential(
        &self,
        client: &OAuthClient<'_>,
        origin: &super::Origin,
    ) -> Result<Credential, HttpError> {
        let token_origin = self.policy.route(client.token_url)?.logical;
        let value = |name: &str| -> Result<SecretValue, HttpError> {
            self.policy.check_secret_use(name, &token_origin, true)?;
            self.policy.check_secret_use(name, origin, true)?;
            self.secrets.get(name).cloned().ok_or_else(|| {
                HttpError::Denied(format!("secret `{name}` has no value in this run"))
            })
        };
        let id = value(client.client_id)?;
        let secret = value(client.client_secret)?;
        let mut tokens = self.tokens.lock().await;
        let key = client.cache_key();
        let fresh = tokens
            .get(&key)
            .filter(|t| std::time::Instant::now() < t.renew_at)
            .cloned();
        let token = match fresh {
            Some(t) => t,
            None => {
                let t = self
                    .fetch_token(client, id.expose(), secret.expose())
                    .await?;
                tokens.insert(key, t.clone());
                t
            }
        };
        let header = format!("Bearer {}", token.token.expose());
        if reqwest::header::HeaderValue::from_str(&header).is_err() {
            return Err(HttpError::Denied(
                "the OAuth access token cannot be sent in a header".into(),
            ));
        }
        Ok(Credential {
            kind: Attach::Header(SecretValue::new(header)),
            raw: vec![id, secret, token.token],
        })
    }

    async fn read_response(
        &self,
        mut resp: reqwest::Response,
        dest: &super::Origin,
    ) -> Result<InboundResponse, HttpError> {
        let cap = self.limits.max_response_body;
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(HttpError::Denied(format!(
                "response from {dest} is larger than {cap} bytes"
            )));
        }
        let status = resp.status().as_u16();
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| clean_reason(r.as_bytes()));
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| describe_send_error(&e, dest))?
        {
            if body.len() + chunk.len() > cap {
                return Err(HttpError::Denied(format!(
                    "response from {dest} is larger than {cap} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(InboundResponse {
            status,
            reason,
            headers,
            body,
        })
    }
}

/// A response that contains the credential the host attached (a server echoing request
/// headers, an error message quoting the token) would hand the plugin what it must never hold.
fn refuse_echo(
    response: &InboundResponse,
    auth: &Credential,
    signature: Option<&str>,
    dest: &super::Origin,
) -> Result<(), HttpError> {
    let finders: Vec<_> = auth
        .needles()
        .chain(signature)
        .map(|n| memchr::memmem::Finder::new(n.as_bytes()))
        .collect();
    let echoes = |bytes: &[u8]| finders.iter().any(|f| f.find(bytes).is_some());
    if echoes(&response.body)
        || response.headers.iter().any(|(_, v)| echoes(v.as_bytes()))
        || response
            .reason
            .as_deref()
            .is_some_and(|r| echoes(r.as_bytes()))
    {
        return Err(HttpError::Denied(format!(
            "the response from {dest} contains the credential the host attached; refused so that the plugin never sees it"
        )));
    }
    Ok(())
}

/// Longest reason phrase passed on, in bytes.
const MAX_REASON: usize = 1024;

/// A reason phrase as text a plugin can show: lossy UTF-8, control characters replaced. Capped
/// by the caller once the echo check has seen all of it.
fn clean_reason(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Cut `text` to at most `max` bytes, on a character boundary.
fn truncate_at_char(text: &mut String, max: usize) {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
}

/// An error message for a failed send that names the origin and the kind of failure only
/// (reqwest's own messages include the full URL, query and all).
fn describe_send_error(e: &reqwest::Error, dest: &super::Origin) -> HttpError {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        if let Some(internal) = s.downcast_ref::<InternalAddress>() {
            return HttpError::Denied(format!("{dest}: {internal}"));
        }
        if let Some(tls) = tls_error(s) {
            // Retrying will not make a certificate trusted: say so, and how to fix it.
            return HttpError::Denied(format!(
                "{dest}: TLS refused: {tls}; for a self-signed API, pin its CA or certificate fingerprint in the provider's grants.tls"
            ));
        }
        source = s.source();
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "response body failed"
    } else {
        "request failed"
    };
    HttpError::Transient(format!("{dest}: {kind}"))
}

/// The TLS error inside `e`, looking through `io::Error` wrappers (whose `source()` skips the
/// error they wrap: hyper-util nests rustls's error two `io::Error`s deep).
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    tls_error(inner)
}

/// The resolved name pointed only at internal addresses.
#[derive(Debug, thiserror::Error)]
#[error("resolves only to internal addresses, which are refused (DNS rebinding guard)")]
struct InternalAddress;

/// DNS through the system resolver, dropping internal addresses unless the destination was
/// named by the operator. Checking after resolution, on the addresses actually used, is what
/// defeats DNS rebinding.
struct GuardedResolver {
    internal_ok: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let internal_ok = self.internal_ok;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<_> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| internal_ok || !is_internal(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(InternalAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_are_cleaned_and_cut_on_a_character_boundary() {
        let mut r = clean_reason("VM 105\r\nalready running".as_bytes());
        assert_eq!(r, "VM 105  already running");
        truncate_at_char(&mut r, 6);
        assert_eq!(r, "VM 105");
        let mut wide = "é".repeat(600);
        truncate_at_char(&mut wide, MAX_REASON);
        assert_eq!(wide.len(), MAX_REASON);
        let mut odd = format!("a{}", "é".repeat(600));
        truncate_at_char(&mut odd, MAX_REASON);
        assert_eq!(odd.len(), MAX_REASON - 1);
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_only_to_internal_addresses() {
        let guarded = GuardedResolver { internal_ok: false };
        let err = match guarded.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        assert!(err.downcast_ref::<InternalAddress>().is_some(), "{err}");
        let operator = GuardedResolver { internal_ok: true };
        let addrs: Vec<_> = operator
            .resolve("localhost".parse().unwrap())
            .await
            .expect("an operator-named destination may be internal")
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
