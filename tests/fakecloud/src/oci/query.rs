//! Query strings and list pagination as OCI does it: `limit` and `page` in, an opaque
//! `opc-next-page` header out while more items remain ("List Pagination" in the API docs).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::errors::ApiError;

/// The query string's pairs, in order.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The last value given for `key`.
    pub fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A required parameter: 400 `MissingParameter` when absent or empty.
    pub fn required(&self, key: &str) -> Result<&str, ApiError> {
        self.one(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::missing_parameter(key))
    }

    /// `true` / `false` (absent: `None`).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.one(key) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid_parameter(format!(
                "{key} must be true or false, not '{v}'."
            ))),
        }
    }

    /// One of `allowed` (compared case-insensitively when `any_case`), as written in
    /// `allowed`.
    pub fn choice(
        &self,
        key: &str,
        allowed: &[&'static str],
        any_case: bool,
    ) -> Result<Option<&'static str>, ApiError> {
        let Some(v) = self.one(key) else {
            return Ok(None);
        };
        allowed
            .iter()
            .find(|a| {
                if any_case {
                    a.eq_ignore_ascii_case(v)
                } else {
                    **a == v
                }
            })
            .map(|a| Some(*a))
            .ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "{key} '{v}' is not one of {}.",
                    allowed.join(", ")
                ))
            })
    }
}

/// One page of a list: where it starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

impl Page {
    /// Items per page when `limit` is not given. OCI does not document a default; the
    /// fake's is small enough that clients which ignore `opc-next-page` notice.
    pub const DEFAULT_LIMIT: usize = 100;
    pub const MAX_LIMIT: usize = 1000;

    pub fn from_query(q: &Query) -> Result<Self, ApiError> {
        let limit = match q.one("limit") {
            None => Self::DEFAULT_LIMIT,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=Self::MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::invalid_parameter(format!(
                        "limit must be an integer from 1 to {}, not '{v}'.",
                        Self::MAX_LIMIT
                    )));
                }
            },
        };
        let offset = match q.one("page") {
            None => 0,
            Some(token) => decode_token(token).ok_or_else(|| {
                ApiError::invalid_parameter(format!("page '{token}' is not a valid page token."))
            })?,
        };
        Ok(Self { offset, limit })
    }

    /// This page of `items` and the `opc-next-page` token, if more follow.
    pub fn apply<T>(&self, items: Vec<T>) -> (Vec<T>, Option<String>) {
        let total = items.len();
        let page: Vec<T> = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        let end = self.offset.saturating_add(self.limit);
        (page, (end < total).then(|| encode_token(end)))
    }
}

fn encode_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("fakecloud-oci:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("fakecloud-oci:")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_each_other_until_the_end() {
        let items: Vec<u32> = (0..5).collect();
        let q = Query::parse(Some("limit=2"));
        let (first, next) = Page::from_query(&q).unwrap().apply(items.clone());
        assert_eq!(first, [0, 1]);
        let next = next.unwrap();
        let q = Query::parse(Some(&format!("limit=2&page={next}")));
        let (second, next) = Page::from_query(&q).unwrap().apply(items.clone());
        assert_eq!(second, [2, 3]);
        let q = Query::parse(Some(&format!("limit=2&page={}", next.unwrap())));
        let (third, next) = Page::from_query(&q).unwrap().apply(items);
        assert_eq!(third, [4]);
        assert_eq!(next, None);
    }

    #[test]
    fn bad_limits_and_tokens_are_invalid_parameters() {
        for raw in ["limit=0", "limit=1001", "limit=x", "page=nope", "page=MTIz"] {
            let e = Page::from_query(&Query::parse(Some(raw))).unwrap_err();
            assert_eq!(e.code, "InvalidParameter", "{raw}");
        }
    }

    #[test]
    fn choices_and_flags() {
        let q = Query::parse(Some("lifecycleState=running&sortOrder=asc&x=maybe"));
        assert_eq!(
            q.choice("lifecycleState", &["RUNNING"], true).unwrap(),
            Some("RUNNING")
        );
        assert!(q.choice("sortOrder", &["ASC", "DESC"], false).is_err());
        assert!(q.bool("x").is_err());
        assert_eq!(q.bool("absent").unwrap(), None);
        assert_eq!(q.required("absent").unwrap_err().code, "MissingParameter");
    }
}
