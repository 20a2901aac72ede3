//! API token authentication as `PVE::APIServer::AnyEvent` and
//! `PVE::AccessControl::verify_token` do it.
//!
//! The header is `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET` (PVE also accepts a
//! space instead of the first `=`, and URI-unescapes the value). A `PVEAuthCookie` ticket,
//! in a cookie or in the `Authorization` header, takes precedence over a token, as in PVE;
//! the fake issues no tickets, so any ticket is refused. Refusals are 401 with PVE's message
//! as reason phrase: "No ticket" (nothing sent), "no tokenid specified", "'X' is not a valid
//! token ID - not able to split into user and token parts", "no such user ('X')",
//! "no such token 'T' for user 'U'", "invalid token value!",
//! "permission denied - invalid PVE ticket". The secret is compared in constant time.

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

/// The one token the fake accepts.
#[derive(Clone)]
pub(crate) struct TokenAuth {
    /// `user@realm`.
    user: String,
    /// The token name (`TOKENID`).
    token: String,
    secret: String,
}

impl std::fmt::Debug for TokenAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAuth")
            .field("user", &self.user)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl TokenAuth {
    /// Parses `USER@REALM!TOKENID=SECRET`.
    pub fn parse(full: &str) -> Result<Self, String> {
        let (id, secret) = full
            .split_once('=')
            .ok_or("the token must look like USER@REALM!TOKENID=SECRET (no '=')")?;
        let (user, token) = split_tokenid(id).ok_or_else(|| {
            format!("'{id}' is not a token id (USER@REALM!TOKENID, TOKENID starting with a letter)")
        })?;
        if secret.is_empty() {
            return Err("the token secret is empty".into());
        }
        Ok(Self {
            user: user.to_string(),
            token: token.to_string(),
            secret: secret.to_string(),
        })
    }

    /// `USER@REALM!TOKENID`: the user tasks started with this token run as.
    pub fn token_id(&self) -> String {
        format!("{}!{}", self.user, self.token)
    }

    /// `Ok(token id)` or the 401 message PVE would send.
    pub fn check(&self, headers: &HeaderMap) -> Result<String, String> {
        let authorization = header_str(headers, header::AUTHORIZATION.as_str());
        let cookie = header_str(headers, header::COOKIE.as_str());
        let ticket = extract_auth_value(cookie, "PVEAuthCookie")
            .or_else(|| extract_auth_value(authorization, "PVEAuthCookie"));
        if ticket.is_some() {
            return Err("permission denied - invalid PVE ticket".into());
        }
        let Some(value) = extract_auth_value(authorization, "PVEAPIToken") else {
            return Err("No ticket".into());
        };
        // `^(.*)=(.*)$`: the id is everything before the last '='.
        let Some((id, secret)) = value.rsplit_once('=') else {
            return Err("no tokenid specified".into());
        };
        let Some((user, token)) = split_tokenid(id) else {
            return Err(format!(
                "'{id}' is not a valid token ID - not able to split into user and token parts"
            ));
        };
        if !bool::from(user.as_bytes().ct_eq(self.user.as_bytes())) {
            return Err(format!("no such user ('{user}')"));
        }
        if !bool::from(token.as_bytes().ct_eq(self.token.as_bytes())) {
            return Err(format!("no such token '{token}' for user '{user}'"));
        }
        if !bool::from(secret.as_bytes().ct_eq(self.secret.as_bytes())) {
            return Err("invalid token value!".into());
        }
        Ok(self.token_id())
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `PVE::APIServer::Formatter::extract_auth_value`: the value after `KEY=` or `KEY ` at
/// the start of the header or after white space, up to `;`, URI-unescaped.
fn extract_auth_value(header: Option<&str>, key: &str) -> Option<String> {
    let header = header?;
    let mut from = 0;
    while let Some(pos) = header[from..].find(key) {
        let at = from + pos;
        let after = at + key.len();
        let starts_word = at == 0 || header[..at].ends_with(char::is_whitespace);
        if starts_word && matches!(header[after..].chars().next(), Some('=' | ' ')) {
            let rest = &header[after + 1..];
            let value = rest.split(';').next().unwrap_or_default();
            let decoded: String =
                form_urlencoded::parse(format!("v={}", value.replace('+', "%2B")).as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
            return (!decoded.is_empty()).then_some(decoded);
        }
        from = after;
    }
    None
}

/// `USER@REALM!TOKEN` into its parts (`PVE::AccessControl::split_tokenid`): the user must
/// have a realm, the token name must start with a letter and use `A-Za-z0-9._-`.
fn split_tokenid(id: &str) -> Option<(&str, &str)> {
    let (user, token) = id.rsplit_once('!')?;
    let (name, realm) = user.split_once('@')?;
    let token_ok = token.len() >= 2
        && token.starts_with(|c: char| c.is_ascii_alphabetic())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    (token_ok && !name.is_empty() && !realm.is_empty()).then_some((user, token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn auth() -> TokenAuth {
        TokenAuth::parse("root@pam!tazhost=3f1c7a52-8a8e-4d6c-9a55-0c1b2d3e4f50").unwrap()
    }

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn the_configured_token_is_accepted_in_both_spellings() {
        let a = auth();
        for v in [
            "PVEAPIToken=root@pam!tazhost=3f1c7a52-8a8e-4d6c-9a55-0c1b2d3e4f50",
            "PVEAPIToken root@pam!tazhost=3f1c7a52-8a8e-4d6c-9a55-0c1b2d3e4f50",
            "PVEAPIToken=root%40pam!tazhost=3f1c7a52-8a8e-4d6c-9a55-0c1b2d3e4f50",
        ] {
            assert_eq!(
                a.check(&with("authorization", v)),
                Ok("root@pam!tazhost".into()),
                "{v}"
            );
        }
    }

    #[test]
    fn refusals_carry_pve_messages() {
        let a = auth();
        let cases = [
            (None, "No ticket"),
            (Some("Bearer xyz"), "No ticket"),
            (Some("PVEAPIToken=root@pam!tazhost"), "no tokenid specified"),
            (
                Some("PVEAPIToken=root@pam=secret"),
                "'root@pam' is not a valid token ID - not able to split into user and token parts",
            ),
            (
                Some("PVEAPIToken=admin@pve!tazhost=x"),
                "no such user ('admin@pve')",
            ),
            (
                Some("PVEAPIToken=root@pam!other=x"),
                "no such token 'other' for user 'root@pam'",
            ),
            (
                Some("PVEAPIToken=root@pam!tazhost=wrong"),
                "invalid token value!",
            ),
            (
                Some("PVEAuthCookie=PVE:root@pam:ABC"),
                "permission denied - invalid PVE ticket",
            ),
        ];
        for (header, want) in cases {
            let h = header.map_or_else(HeaderMap::new, |v| with("authorization", v));
            assert_eq!(a.check(&h), Err(want.to_string()), "{header:?}");
        }
        let cookie = with("cookie", "PVEAuthCookie=abc");
        assert_eq!(
            a.check(&cookie),
            Err("permission denied - invalid PVE ticket".into())
        );
    }

    #[test]
    fn configured_tokens_are_checked() {
        assert!(TokenAuth::parse("root@pam!t1=s").is_ok());
        for bad in [
            "nosecret",
            "root@pam=s",
            "root!tok=s",
            "root@pam!1x=s",
            "root@pam!tok=",
        ] {
            assert!(TokenAuth::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{:?}", auth()).contains("3f1c7a52"));
    }
}
