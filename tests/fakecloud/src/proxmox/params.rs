//! Request parameters as PVE reads and verifies them.
//!
//! Reading (`PVE::APIServer::AnyEvent::extract_params`): for POST and PUT the body is
//! `application/x-www-form-urlencoded` (or, since libpve-http-server-perl 3.0-6,
//! `application/json`); the query string is read for every method and wins over the body.
//! A repeated key keeps all its values joined by `\0`, as PVE's `decode_urlencoded` does.
//!
//! Verifying (`PVE::JSONSchema::validate` via `raise_param_exc`): every schema property is
//! checked, then every parameter the schema does not know is refused; all messages are
//! collected into one 400 "Parameter verification failed." with PVE's wording:
//! "property is missing and it is not optional", "property is not defined in schema and the
//! schema does not allow additional properties", "type check ('integer') failed - got 'x'",
//! "value must have a minimum value of N", "value 'x' does not have a value in the
//! enumeration 'a, b'", "value may only be N characters long", "value does not match the
//! regex pattern", and "invalid format - ..." for the formats (`pve-vmid`, `pve-node`,
//! `pve-storage-id`, `dns-name`, `pve-tag-list`, `pve-configid-list`, `pve-poolid`).
//! A parameter that repeats a path parameter is refused first ("duplicate parameter
//! (already defined in URI)").

use std::collections::BTreeMap;

use serde_json::Value;

use super::errors::ApiError;
use super::upid::valid_node_name;

/// Parameters as received: body pairs overlaid with query pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params(pub BTreeMap<String, String>);

impl Params {
    /// Reads the query string and (for POST/PUT) the body. `content_type` is the request's
    /// `Content-Type` header, if any.
    pub fn parse(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, ApiError> {
        let mut map = BTreeMap::new();
        if !body.is_empty() {
            let ct = content_type
                .map(|c| {
                    c.split([';', ','])
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase()
                })
                .unwrap_or_default();
            match ct.as_str() {
                "" | "application/x-www-form-urlencoded" => decode_urlencoded(body, &mut map),
                "application/json" => decode_json(body, &mut map)?,
                _ => {
                    return Err(ApiError::http(
                        506,
                        format!(
                            "upload 'Content-Type '{}' not implemented",
                            content_type.unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        let mut query_map = BTreeMap::new();
        decode_urlencoded(query.unwrap_or_default().as_bytes(), &mut query_map);
        map.extend(query_map);
        // jQuery's "disable cache" parameter, which PVE drops.
        map.remove("_dc");
        Ok(Self(map))
    }
}

fn decode_urlencoded(raw: &[u8], into: &mut BTreeMap<String, String>) {
    for (k, v) in form_urlencoded::parse(raw) {
        match into.get_mut(k.as_ref()) {
            Some(old) => {
                old.push('\0');
                old.push_str(&v);
            }
            None => {
                into.insert(k.into_owned(), v.into_owned());
            }
        }
    }
}

fn decode_json(raw: &[u8], into: &mut BTreeMap<String, String>) -> Result<(), ApiError> {
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::http(501, format!("malformed JSON string: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(ApiError::http(501, "JSON body is not an object"));
    };
    for (k, v) in obj {
        let text = match v {
            Value::Null => continue,
            Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            // PVE 8 accepts arrays for array parameters; none of the fake's parameters is one.
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("\0"),
            Value::Object(_) => v.to_string(),
        };
        into.insert(k, text);
    }
    Ok(())
}

/// The type (and format) of one parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    Int {
        min: Option<i64>,
        max: Option<i64>,
    },
    Bool,
    Str {
        max_len: Option<usize>,
    },
    Enum(&'static [&'static str]),
    /// `pve-vmid`: an integer from 100 to 999999999.
    Vmid,
    /// `pve-node`.
    Node,
    /// `pve-storage-id`.
    StorageId,
    /// `dns-name`.
    DnsName,
    /// `pve-tag-list`.
    TagList,
    /// `pve-configid-list`.
    ConfigIdList,
    /// `pve-poolid`.
    PoolId,
    /// A string that must match a pattern (`pattern` in the schema).
    Pattern(fn(&str) -> bool),
    /// A string with a format the fake checks itself; the function returns PVE's message.
    Custom(fn(&str) -> Result<(), String>),
}

pub(crate) const STRING: Ty = Ty::Str { max_len: None };

/// Types the parameters a schema has in families (`net0`..`net31`, ...).
pub(crate) type Extra<'a> = Option<&'a (dyn Fn(&str) -> Option<Ty> + Sync)>;

/// One schema property.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prop {
    pub name: &'static str,
    pub ty: Ty,
    pub optional: bool,
}

impl Prop {
    pub const fn req(name: &'static str, ty: Ty) -> Self {
        Self {
            name,
            ty,
            optional: false,
        }
    }

    pub const fn opt(name: &'static str, ty: Ty) -> Self {
        Self {
            name,
            ty,
            optional: true,
        }
    }
}

/// Verified parameters (path parameters included); booleans are `"1"`/`"0"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Values(pub BTreeMap<String, String>);

impl Values {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.str(key)
            .and_then(|v| v.trim_start_matches('+').parse().ok())
    }

    /// A `pve-vmid` parameter (already verified).
    pub fn vmid(&self, key: &str) -> Option<u32> {
        self.int(key).and_then(|v| u32::try_from(v).ok())
    }

    /// A boolean parameter; `None` when absent.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.str(key).map(|v| v == "1")
    }
}

/// Verifies `params` against `props`. `path` holds the parameters taken from the URL;
/// `extra` types the parameters a schema has in families (`net0`..`net31`, ...).
pub(crate) fn validate(
    params: Params,
    path: &[(&'static str, &str)],
    props: &[Prop],
    extra: Extra<'_>,
) -> Result<Values, ApiError> {
    let mut merged = params.0;
    for (name, value) in path {
        if merged.contains_key(*name) {
            return Err(ApiError::param(
                name,
                "duplicate parameter (already defined in URI)",
            ));
        }
        merged.insert((*name).to_string(), (*value).to_string());
    }
    let mut errors = BTreeMap::new();
    let mut out = BTreeMap::new();
    for prop in props {
        match merged.remove(prop.name) {
            None if !prop.optional => {
                errors.insert(
                    prop.name.to_string(),
                    "property is missing and it is not optional".to_string(),
                );
            }
            None => {}
            Some(value) => match check(prop.ty, &value) {
                Ok(v) => {
                    out.insert(prop.name.to_string(), v);
                }
                Err(msg) => {
                    errors.insert(prop.name.to_string(), msg);
                }
            },
        }
    }
    for (name, value) in merged {
        match extra.and_then(|f| f(&name)) {
            Some(ty) => match check(ty, &value) {
                Ok(v) => {
                    out.insert(name, v);
                }
                Err(msg) => {
                    errors.insert(name, msg);
                }
            },
            None => {
                errors.insert(
                    name,
                    "property is not defined in schema and the schema does not allow additional properties"
                        .to_string(),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(Values(out))
    } else {
        Err(ApiError::params(errors))
    }
}

/// Checks one value; returns it normalised (booleans as `1`/`0`) or PVE's message.
pub(crate) fn check(ty: Ty, value: &str) -> Result<String, String> {
    let format_err = |m: &str| Err(format!("invalid format - {m}\n"));
    match ty {
        Ty::Int { min, max } => {
            let n = parse_int(value)?;
            if let Some(min) = min
                && n < min
            {
                return Err(format!("value must have a minimum value of {min}"));
            }
            if let Some(max) = max
                && n > max
            {
                return Err(format!("value must have a maximum value of {max}"));
            }
            Ok(value.to_string())
        }
        Ty::Vmid => {
            parse_int(value)?;
            let b = value.as_bytes();
            if (3..=9).contains(&b.len()) && b[0] != b'0' && b.iter().all(u8::is_ascii_digit) {
                Ok(value.to_string())
            } else {
                format_err("value does not look like a valid VM ID")
            }
        }
        Ty::Bool => parse_bool(value)
            .map(|b| if b { "1" } else { "0" }.to_string())
            .ok_or_else(|| format!("type check ('boolean') failed - got '{value}'")),
        Ty::Str { max_len } => match max_len {
            Some(max) if value.chars().count() > max => {
                Err(format!("value may only be {max} characters long"))
            }
            _ => Ok(value.to_string()),
        },
        Ty::Enum(allowed) => {
            if allowed.contains(&value) {
                Ok(value.to_string())
            } else {
                Err(format!(
                    "value '{value}' does not have a value in the enumeration '{}'",
                    allowed.join(", ")
                ))
            }
        }
        Ty::Node => {
            if valid_node_name(value) {
                Ok(value.to_string())
            } else {
                format_err("value does not look like a valid node name")
            }
        }
        Ty::StorageId => {
            if valid_storage_id(value) {
                Ok(value.to_string())
            } else {
                format_err(&format!("storage ID '{value}' contains illegal characters"))
            }
        }
        Ty::DnsName => {
            if valid_dns_name(value) {
                Ok(value.to_string())
            } else {
                format_err("value does not look like a valid DNS name")
            }
        }
        Ty::TagList => {
            if split_list(value).iter().all(|t| valid_tag(t)) {
                Ok(value.to_string())
            } else {
                format_err("invalid characters in tag")
            }
        }
        Ty::ConfigIdList => match split_list(value)
            .into_iter()
            .find(|id| !valid_config_id(id))
        {
            None => Ok(value.to_string()),
            Some(bad) => format_err(&format!("invalid configuration ID '{bad}'")),
        },
        Ty::PoolId => {
            let ok = !value.is_empty()
                && value.len() <= 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_/".contains(&b));
            if ok {
                Ok(value.to_string())
            } else {
                format_err("invalid pool ID")
            }
        }
        Ty::Pattern(matches) => {
            if matches(value) {
                Ok(value.to_string())
            } else {
                Err("value does not match the regex pattern".to_string())
            }
        }
        Ty::Custom(verify) => verify(value).map(|()| value.to_string()),
    }
}

fn parse_int(value: &str) -> Result<i64, String> {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("type check ('integer') failed - got '{value}'"));
    }
    value
        .trim_start_matches('+')
        .parse()
        .map_err(|_| format!("type check ('integer') failed - got '{value}'"))
}

/// PVE's boolean spellings: `1|on|yes|true` and `0|off|no|false`, any case.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// `PVE::Tools::split_list`: `,`, `;` and white space separate; empty items vanish.
pub(crate) fn split_list(value: &str) -> Vec<&str> {
    value
        .split([',', ';', ' ', '\t', '\n', '\0'])
        .filter(|s| !s.is_empty())
        .collect()
}

/// `pve-storage-id`: `[a-z][a-z0-9\-_.]*[a-z0-9]`, any case.
pub(crate) fn valid_storage_id(s: &str) -> bool {
    let b = s.to_ascii_lowercase().into_bytes();
    b.len() >= 2
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

/// `dns-name`: dot-separated labels of letters, digits and inner hyphens.
pub(crate) fn valid_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// One tag (`PVE_TAG_RE`): `[a-z0-9_][a-z0-9_\-+.]*`, any case.
pub(crate) fn valid_tag(s: &str) -> bool {
    let b = s.to_ascii_lowercase().into_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_-+.".contains(c))
}

/// `pve-configid`: `[a-z][a-z0-9_]+`, any case.
fn valid_config_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    const INT: Ty = Ty::Int {
        min: None,
        max: None,
    };

    impl Params {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).map(String::as_str)
        }
    }

    #[test]
    fn query_wins_over_body_and_repeats_are_joined() {
        let p = Params::parse(Some("a=2&c=x&c=y&_dc=123"), None, b"a=1&b=%20z+w").unwrap();
        assert_eq!(p.get("a"), Some("2"));
        assert_eq!(p.get("b"), Some(" z w"));
        assert_eq!(p.get("c"), Some("x\0y"));
        assert_eq!(p.get("_dc"), None);
    }

    #[test]
    fn json_bodies_are_read_too() {
        let p = Params::parse(
            None,
            Some("application/json; charset=utf-8"),
            br#"{"full":true,"newid":101,"name":"w1","x":null}"#,
        )
        .unwrap();
        assert_eq!(p.get("full"), Some("1"));
        assert_eq!(p.get("newid"), Some("101"));
        assert_eq!(p.get("x"), None);
        let e = Params::parse(None, Some("text/plain"), b"x").unwrap_err();
        assert_eq!(e.status.as_u16(), 506);
    }

    #[test]
    fn all_errors_are_collected_with_pve_wording() {
        let props = [
            Prop::req("newid", Ty::Vmid),
            Prop::opt("full", Ty::Bool),
            Prop::opt("name", Ty::DnsName),
            Prop::opt("format", Ty::Enum(&["raw", "qcow2", "vmdk"])),
            Prop::req("storage", Ty::StorageId),
        ];
        let e = validate(
            params(&[
                ("newid", "99"),
                ("full", "maybe"),
                ("name", "no_underscores"),
                ("format", "img"),
                ("bogus", "1"),
            ]),
            &[],
            &props,
            None,
        )
        .unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        let errors: Vec<(&str, &str)> = e
            .errors
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (
                    "bogus",
                    "property is not defined in schema and the schema does not allow additional properties"
                ),
                (
                    "format",
                    "value 'img' does not have a value in the enumeration 'raw, qcow2, vmdk'"
                ),
                ("full", "type check ('boolean') failed - got 'maybe'"),
                (
                    "name",
                    "invalid format - value does not look like a valid DNS name\n"
                ),
                (
                    "newid",
                    "invalid format - value does not look like a valid VM ID\n"
                ),
                ("storage", "property is missing and it is not optional"),
            ]
        );
    }

    #[test]
    fn path_parameters_cannot_be_repeated() {
        let e = validate(
            params(&[("vmid", "100")]),
            &[("vmid", "100")],
            &[Prop::req("vmid", Ty::Vmid)],
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.errors["vmid"],
            "duplicate parameter (already defined in URI)"
        );
    }

    #[test]
    fn values_are_normalised() {
        let v = validate(
            params(&[("full", "yes"), ("cores", "+4")]),
            &[("vmid", "100")],
            &[
                Prop::req("vmid", Ty::Vmid),
                Prop::opt("full", Ty::Bool),
                Prop::opt(
                    "cores",
                    Ty::Int {
                        min: Some(1),
                        max: None,
                    },
                ),
            ],
            None,
        )
        .unwrap();
        assert_eq!(v.flag("full"), Some(true));
        assert_eq!(v.int("cores"), Some(4));
        assert_eq!(v.vmid("vmid"), Some(100));
        assert_eq!(
            check(INT, "abc"),
            Err("type check ('integer') failed - got 'abc'".to_string())
        );
        assert_eq!(
            check(Ty::Vmid, "abc"),
            Err("type check ('integer') failed - got 'abc'".to_string())
        );
    }

    #[test]
    fn formats() {
        assert!(valid_tag("tazhost") && valid_tag("pool.workers-1") && valid_tag("_x+y"));
        assert!(!valid_tag("a b") && !valid_tag("-x") && !valid_tag("é"));
        assert_eq!(split_list("a;b, c  d"), ["a", "b", "c", "d"]);
        assert!(check(Ty::TagList, "a;b c").is_ok());
        assert!(check(Ty::TagList, "a;b/c").is_err());
        assert!(valid_storage_id("local-lvm") && !valid_storage_id("1local"));
        assert!(valid_dns_name("talos-w1.example") && !valid_dns_name("-x"));
        assert_eq!(
            check(Ty::ConfigIdList, "net1,1x"),
            Err("invalid format - invalid configuration ID '1x'\n".to_string())
        );
    }
}
