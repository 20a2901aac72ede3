//! Glue between the generated `http` bindings and [`super::http::HttpCap`].

use super::CallState;
use super::http::send::{CredentialRef, HttpError, OutboundRequest};
use crate::runtime::bindings::tazlab::bootstrap::{http as wit, types::Error};

impl wit::Host for CallState {
    async fn send(&mut self, req: wit::Request) -> Result<wit::Response, Error> {
        let credential = req.credential.map(|c| match c {
            wit::Credential::Bearer(name) => CredentialRef::Bearer(name),
            wit::Credential::AuthorizationPrefix(p) => CredentialRef::Prefixed {
                prefix: p.prefix,
                secret: p.secret,
            },
            wit::Credential::Basic(b) => CredentialRef::Basic {
                username: b.username_secret,
                password: b.password_secret,
            },
            wit::Credential::OauthClientCredentials(c) => CredentialRef::OAuthClientCredentials {
                token_url: c.token_url,
                client_id: c.client_id_secret,
                client_secret: c.client_secret_secret,
                scopes: c.scopes,
            },
            wit::Credential::OciSignature(k) => CredentialRef::OciSignature {
                key_id: k.key_id,
                private_key: k.private_key_secret,
            },
        });
        let outbound = OutboundRequest {
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
            credential,
        };
        let started = std::time::Instant::now();
        let result = self.caps.http.send(outbound).await;
        self.note_wait(started.elapsed());
        match result {
            Ok(r) => Ok(wit::Response {
                status: r.status,
                reason: r.reason,
                headers: r.headers,
                body: r.body,
            }),
            Err(HttpError::Denied(m)) => {
                self.log(super::LogLevel::Warn, &format!("http request denied: {m}"));
                Err(Error::Denied(m))
            }
            Err(HttpError::Transient(m)) => Err(Error::Transient(m)),
        }
    }
}
