//! The `http` capability: the only way out of the sandbox.
//!
//! Every plugin request goes through [`HttpCap::send`], in this order: bound the guest-given
//! sizes, parse the URL once, check it against (declared ∩ granted), attach the credential the
//! plugin named (if granted for that origin), apply the operator's endpoint override, refuse
//! internal addresses unless the operator named them, send, follow same-origin redirects only,
//! and cap the response.

mod allowlist;
mod oauth;
mod origin;
mod policy;
pub(crate) mod send;
mod tls;

pub use allowlist::{Allowlist, OriginPattern, PatternError};
pub use origin::{Origin, OriginError, is_internal, parse_url};
pub use policy::{HttpPolicy, PolicyError, SecretGrant};
pub use send::{CredentialRef, HttpCap, HttpError, HttpLimits, InboundResponse, OutboundRequest};
pub use tls::{TlsTrust, TlsTrustError, format_fingerprint};
