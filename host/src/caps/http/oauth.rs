//! The OAuth 2.0 client-credentials grant, run by the host so that neither the client secret nor
//! the access token ever enters a plugin (Tailscale OAuth clients).

use super::send::{HttpCap, HttpError, OutboundRequest};
use crate::secrets::SecretValue;
use std::time::{Duration, Instant};

/// A token is renewed this long before the server says it expires (or at half its lifetime,
/// if that is shorter).
const RENEW_BEFORE: Duration = Duration::from_secs(60);
/// Lifetime assumed when the token endpoint gives none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// The lifetimes a token endpoint may claim are clamped to this range.
const LIFETIMES: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(10)..=Duration::from_secs(24 * 3600);
/// The error codes of RFC 6749 §5.2: the only text of a failed token answer passed on.
const OAUTH_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

/// When a token that lives `lifetime` should be replaced.
fn renew_at(fetched: Instant, lifetime: Duration) -> Instant {
    let lifetime = lifetime.clamp(*LIFETIMES.start(), *LIFETIMES.end());
    fetched + lifetime - RENEW_BEFORE.min(lifetime / 2)
}

/// An access token and when to stop using it.
#[derive(Clone)]
pub(super) struct CachedToken {
    pub(super) token: SecretValue,
    pub(super) renew_at: Instant,
}

/// What the plugin asked for: a token from `token_url` for the client whose id and secret are
/// the named secrets.
pub(super) struct OAuthClient<'a> {
    pub(super) token_url: &'a str,
    pub(super) client_id: &'a str,
    pub(super) client_secret: &'a str,
    pub(super) scopes: &'a [String],
}

impl OAuthClient<'_> {
    /// The cache key: the same client and scopes share a token.
    pub(super) fn cache_key(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.token_url,
            self.client_id,
            self.client_secret,
            self.scopes.join(" ")
        )
    }
}

/// `application/x-www-form-urlencoded` of the grant request.
fn grant_form(client_id: &str, client_secret: &str, scopes: &[String]) -> Vec<u8> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client_id)
        .append_pair("client_secret", client_secret);
    if !scopes.is_empty() {
        form.append_pair("scope", &scopes.join(" "));
    }
    zeroize::Zeroizing::new(form.finish()).as_bytes().to_vec()
}

impl HttpCap {
    /// A fresh access token for `client` (the cache is the caller's).
    pub(super) async fn fetch_token(
        &self,
        client: &OAuthClient<'_>,
        id: &str,
        secret: &str,
    ) -> Result<CachedToken, HttpError> {
        let started = Instant::now();
        let body = zeroize::Zeroizing::new(grant_form(id, secret, client.scopes));
        let request = OutboundRequest {
            method: "POST".into(),
            url: client.token_url.to_string(),
            headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("accept".into(), "application/json".into()),
            ],
            body: Some(body.to_vec()),
            credential: None,
        };
        let origin = super::parse_url(client.token_url)
            .map(|(_, o)| o.to_string())
            .unwrap_or_else(|_| "the token endpoint".into());
        let response = Box::pin(self.send(request)).await?;
        let parsed: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        if !(200..300).contains(&response.status) {
            // Only the OAuth error code: a description could quote what was sent.
            let code = parsed
                .get("error")
                .and_then(|e| e.as_str())
                .filter(|c| OAUTH_ERRORS.contains(c))
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let message = format!(
                "{origin}: the OAuth token request failed: HTTP {}{code}",
                response.status
            );
            return Err(if response.status == 429 || response.status >= 500 {
                HttpError::Transient(message)
            } else {
                HttpError::Denied(message)
            });
        }
        let token = parsed
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                HttpError::Denied(format!(
                    "{origin}: the OAuth token answer has no access_token"
                ))
            })?;
        let lifetime = parsed
            .get("expires_in")
            .and_then(|e| e.as_u64())
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFETIME);
        Ok(CachedToken {
            token: SecretValue::new(token.to_string()),
            renew_at: renew_at(started, lifetime),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_lifetimes_are_clamped_and_renewed_early() {
        let t0 = Instant::now();
        assert_eq!(
            renew_at(t0, Duration::from_secs(3600)),
            t0 + Duration::from_secs(3540)
        );
        assert_eq!(
            renew_at(t0, Duration::from_secs(30)),
            t0 + Duration::from_secs(15)
        );
        assert_eq!(renew_at(t0, Duration::ZERO), t0 + Duration::from_secs(5));
        assert_eq!(
            renew_at(t0, Duration::from_secs(u64::MAX)),
            t0 + Duration::from_secs(24 * 3600 - 60),
            "a hostile expires_in neither overflows nor lives for ever"
        );
    }

    #[test]
    fn the_grant_is_a_client_credentials_form() {
        let form = grant_form(
            "id-1",
            "s3cr&t=x",
            &["auth_keys".into(), "devices:core".into()],
        );
        assert_eq!(
            String::from_utf8(form).unwrap(),
            "grant_type=client_credentials&client_id=id-1&client_secret=s3cr%26t%3Dx&scope=auth_keys+devices%3Acore"
        );
    }
}
