//! Labels and label selectors, as the Hetzner Cloud API reference describes them.
//!
//! Label keys: an optional prefix (a DNS subdomain of at most 253 characters) and a
//! slash, then a name of 1..=63 characters that begins and ends with `[a-zA-Z0-9]` and
//! has `-`, `_`, `.` or alphanumerics between. The `hetzner.cloud/` prefix is reserved.
//! Label values: at most 63 characters, empty or beginning and ending with an
//! alphanumeric, with `-`, `_`, `.` or alphanumerics between.
//!
//! Selectors: comma-separated requirements that must all hold (AND):
//! `k==v` / `k=v`, `k!=v`, `k`, `!k`, `k in (v1,v2)`, `k notin (v1,v2)`.
//! As in Kubernetes, whose selector language Hetzner's follows, `k!=v` and
//! `k notin (...)` also match resources that do not have the key `k`.

use std::collections::BTreeMap;
use std::fmt;

/// The prefix Hetzner reserves for its own labels.
pub const RESERVED_PREFIX: &str = "hetzner.cloud/";

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// A name segment or value: begins and ends alphanumeric, `-_.` or alphanumerics between.
fn valid_segment(s: &str, max: usize) -> bool {
    if s.is_empty() || s.len() > max {
        return false;
    }
    let first = s.chars().next().is_some_and(is_alnum);
    let last = s.chars().last().is_some_and(is_alnum);
    first
        && last
        && s.chars()
            .all(|c| is_alnum(c) || matches!(c, '-' | '_' | '.'))
}

/// A DNS subdomain (RFC 1123): dot-separated labels of 1..=63 `[a-z0-9-]`, not starting
/// or ending with `-`, at most 253 characters. Upper case is accepted like host names.
fn valid_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Why a label key is refused, or `None` if it is valid.
pub fn key_error(key: &str) -> Option<&'static str> {
    if key.starts_with(RESERVED_PREFIX) {
        return Some("uses the reserved prefix hetzner.cloud/");
    }
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && !valid_dns_subdomain(p)
    {
        return Some("has a prefix that is not a valid DNS subdomain");
    }
    if !valid_segment(name, 63) {
        return Some(
            "must be 63 characters or less, begin and end with an alphanumeric character \
             and contain only dashes, underscores, dots and alphanumerics",
        );
    }
    None
}

/// Why a label value is refused, or `None` if it is valid.
pub fn value_error(value: &str) -> Option<&'static str> {
    if value.is_empty() || valid_segment(value, 63) {
        None
    } else {
        Some(
            "must be empty or 63 characters or less, begin and end with an alphanumeric \
             character and contain only dashes, underscores, dots and alphanumerics",
        )
    }
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `k=v` or `k==v`
    Equals(String, String),
    /// `k!=v`
    NotEquals(String, String),
    /// `k`
    Exists(String),
    /// `!k`
    NotExists(String),
    /// `k in (v1,v2)`
    In(String, Vec<String>),
    /// `k notin (v1,v2)`
    NotIn(String, Vec<String>),
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
        }
    }
}

/// A parsed label selector: all requirements must hold. An empty selector matches all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }
}

/// Why a selector could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError(pub String);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SelectorError {}

fn err<T>(msg: impl Into<String>) -> Result<T, SelectorError> {
    Err(SelectorError(msg.into()))
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Result<Vec<&str>, SelectorError> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => {
                if depth > 0 {
                    return err("nested parentheses");
                }
                depth += 1;
            }
            ')' => {
                if depth == 0 {
                    return err("unbalanced ')'");
                }
                depth -= 1;
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return err("unbalanced '('");
    }
    parts.push(&s[start..]);
    Ok(parts)
}

fn checked_key(key: &str) -> Result<String, SelectorError> {
    let key = key.trim();
    if key.is_empty() {
        return err("missing key");
    }
    // The reserved prefix may be *selected* on (Hetzner sets such labels itself), so only
    // the syntax is checked here.
    let syntax_only = key.strip_prefix(RESERVED_PREFIX).unwrap_or(key);
    match key_error(syntax_only) {
        Some(why) => err(format!("invalid key '{key}': {why}")),
        None => Ok(key.to_string()),
    }
}

fn checked_value(value: &str) -> Result<String, SelectorError> {
    let value = value.trim();
    match value_error(value) {
        Some(why) => err(format!("invalid value '{value}': {why}")),
        None => Ok(value.to_string()),
    }
}

/// `key in (a, b)` / `key notin (a,b)`: returns the key, whether it is `notin`, the values.
fn parse_set(req: &str) -> Result<Option<(String, bool, Vec<String>)>, SelectorError> {
    let Some(open) = req.find('(') else {
        return Ok(None);
    };
    let head = req[..open].trim_end();
    let (key, negated) = if let Some(k) = head.strip_suffix("notin") {
        (k, true)
    } else if let Some(k) = head.strip_suffix("in") {
        (k, false)
    } else {
        return err(format!("expected 'in' or 'notin' before '(' in '{req}'"));
    };
    // The operator must be a separate word: `kin (a)` is not `k in (a)`.
    if !key.ends_with(char::is_whitespace) {
        return err(format!(
            "expected whitespace before the set operator in '{req}'"
        ));
    }
    let rest = &req[open + 1..];
    let Some(close) = rest.find(')') else {
        return err(format!("missing ')' in '{req}'"));
    };
    if !rest[close + 1..].trim().is_empty() {
        return err(format!("unexpected text after ')' in '{req}'"));
    }
    let inner = rest[..close].trim();
    if inner.is_empty() {
        return err(format!("empty value set in '{req}'"));
    }
    let values = inner
        .split(',')
        .map(checked_value)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((checked_key(key)?, negated, values)))
}

fn parse_requirement(req: &str) -> Result<Requirement, SelectorError> {
    let req = req.trim();
    if req.is_empty() {
        return err("empty requirement");
    }
    if let Some((key, negated, values)) = parse_set(req)? {
        return Ok(if negated {
            Requirement::NotIn(key, values)
        } else {
            Requirement::In(key, values)
        });
    }
    if let Some((k, v)) = req.split_once("!=") {
        return Ok(Requirement::NotEquals(checked_key(k)?, checked_value(v)?));
    }
    if let Some((k, v)) = req.split_once("==") {
        return Ok(Requirement::Equals(checked_key(k)?, checked_value(v)?));
    }
    if let Some((k, v)) = req.split_once('=') {
        if v.starts_with('=') {
            return err(format!("unexpected '=' in '{req}'"));
        }
        return Ok(Requirement::Equals(checked_key(k)?, checked_value(v)?));
    }
    if let Some(k) = req.strip_prefix('!') {
        return Ok(Requirement::NotExists(checked_key(k)?));
    }
    if req.contains(char::is_whitespace) {
        return err(format!("unexpected whitespace in '{req}'"));
    }
    Ok(Requirement::Exists(checked_key(req)?))
}

/// Parses a label selector. An empty (or all-blank) selector matches everything.
pub fn parse_selector(s: &str) -> Result<Selector, SelectorError> {
    if s.trim().is_empty() {
        return Ok(Selector::default());
    }
    split_top_level(s)?
        .into_iter()
        .map(parse_requirement)
        .collect::<Result<Vec<_>, _>>()
        .map(Selector)
}

#[cfg(test)]
mod tests {
    use super::Requirement::*;
    use super::*;

    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn parses_every_documented_form() {
        let table: &[(&str, Vec<Requirement>)] = &[
            ("k=v", vec![Equals(s("k"), s("v"))]),
            ("k==v", vec![Equals(s("k"), s("v"))]),
            ("k!=v", vec![NotEquals(s("k"), s("v"))]),
            ("k", vec![Exists(s("k"))]),
            ("!k", vec![NotExists(s("k"))]),
            (
                "k in (v1,v2,v3)",
                vec![In(s("k"), vec![s("v1"), s("v2"), s("v3")])],
            ),
            (
                "k notin (v1,v2)",
                vec![NotIn(s("k"), vec![s("v1"), s("v2")])],
            ),
            (
                "k1==v,!k2",
                vec![Equals(s("k1"), s("v")), NotExists(s("k2"))],
            ),
            (
                "env=production,type!=database",
                vec![
                    Equals(s("env"), s("production")),
                    NotEquals(s("type"), s("database")),
                ],
            ),
            (
                " env in ( testing , staging ) , tier ",
                vec![
                    In(s("env"), vec![s("testing"), s("staging")]),
                    Exists(s("tier")),
                ],
            ),
            (
                "tazhost.io/cluster=prod,tazhost.io/pool in (cp,workers)",
                vec![
                    Equals(s("tazhost.io/cluster"), s("prod")),
                    In(s("tazhost.io/pool"), vec![s("cp"), s("workers")]),
                ],
            ),
            ("k=", vec![Equals(s("k"), s(""))]),
            (
                "hetzner.cloud/x=1",
                vec![Equals(s("hetzner.cloud/x"), s("1"))],
            ),
            ("", vec![]),
            ("   ", vec![]),
        ];
        for (input, want) in table {
            let got = parse_selector(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(&got.0, want, "selector {input:?}");
        }
    }

    #[test]
    fn rejects_malformed_selectors() {
        let table = [
            "k in (a,b",
            "k in a,b)",
            "k in ()",
            "k in (a,(b))",
            "kin (a)",
            "k foo (a)",
            "k in (a) x",
            "=v",
            "!=v",
            "!",
            ",k",
            "k,",
            "k===v",
            "k v",
            "-k=v",
            "k=-v",
            "k=a b",
            "a/b/c=v",
        ];
        for input in table {
            assert!(
                parse_selector(input).is_err(),
                "{input:?} should be refused, got {:?}",
                parse_selector(input)
            );
        }
    }

    #[test]
    fn matching_follows_the_documented_meaning() {
        let labels: BTreeMap<String, String> = [("env", "prod"), ("tier", "web"), ("empty", "")]
            .into_iter()
            .map(|(k, v)| (s(k), s(v)))
            .collect();
        let table = [
            ("env=prod", true),
            ("env==prod", true),
            ("env=dev", false),
            ("env!=dev", true),
            ("env!=prod", false),
            ("missing!=x", true),
            ("env", true),
            ("missing", false),
            ("!missing", true),
            ("!env", false),
            ("env in (dev,prod)", true),
            ("env in (dev,test)", false),
            ("missing in (x)", false),
            ("env notin (dev,test)", true),
            ("env notin (prod)", false),
            ("missing notin (x)", true),
            ("env=prod,tier=web", true),
            ("env=prod,tier=db", false),
            ("empty=", true),
            ("empty", true),
            ("", true),
        ];
        for (sel, want) in table {
            let parsed = parse_selector(sel).unwrap();
            assert_eq!(parsed.matches(&labels), want, "selector {sel:?}");
        }
    }

    #[test]
    fn label_keys_and_values_follow_the_documented_syntax() {
        let keys = [
            ("environment", true),
            ("example.com/my", true),
            ("just-a-key", true),
            ("a", true),
            ("A_b.c-9", true),
            (&*"k".repeat(63), true),
            (&*"k".repeat(64), false),
            ("", false),
            ("-k", false),
            ("k-", false),
            ("k v", false),
            ("/k", false),
            ("example.com/", false),
            ("-bad.com/k", false),
            ("a/b/c", false),
            ("hetzner.cloud/x", false),
            ("sub.hetzner.cloud/x", true),
        ];
        for (k, ok) in keys {
            assert_eq!(key_error(k).is_none(), ok, "key {k:?}");
        }
        let values = [
            ("", true),
            ("development", true),
            ("v1.2_3-x", true),
            (&*"v".repeat(63), true),
            (&*"v".repeat(64), false),
            ("-v", false),
            ("v.", false),
            ("a b", false),
            ("ü", false),
        ];
        for (v, ok) in values {
            assert_eq!(value_error(v).is_none(), ok, "value {v:?}");
        }
    }
}
