//! Checking what the caller asks to set, and writing it as YAML.

use core::fmt::Write as _;

use crate::{TalosConfigError, ValueProblem};

/// Whether `name` is a Talos extension service name: `[a-z0-9_-]+` (Talos docs, "Extension
/// Services": "valid names are `[a-z0-9-_]+`").
pub(crate) fn valid_extension_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether `name` is an environment variable name we accept: `[A-Z_][A-Z0-9_]*`.
pub(crate) fn valid_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_uppercase() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// What is wrong with a value, if anything. Never says what the value is.
pub(crate) fn value_problem(value: &str) -> Option<ValueProblem> {
    // YAML 1.1 (libyaml, go-yaml) also breaks lines at NEL, LS and PS.
    if value.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        Some(ValueProblem::LineBreak)
    } else if value.contains('\0') {
        Some(ValueProblem::Nul)
    } else {
        None
    }
}

/// Checks the extension name and every pair to set, in this order: the extension name, then
/// for each pair in turn its name, whether the name came earlier, and its value.
pub(crate) fn check_request(extension: &str, set: &[(&str, &str)]) -> Result<(), TalosConfigError> {
    if !valid_extension_name(extension) {
        return Err(TalosConfigError::InvalidExtensionName);
    }
    for (position, (name, value)) in set.iter().enumerate() {
        if !valid_variable_name(name) {
            return Err(TalosConfigError::InvalidVariableName { position });
        }
        if set[..position].iter().any(|(earlier, _)| earlier == name) {
            return Err(TalosConfigError::DuplicateVariable {
                name: (*name).to_owned(),
            });
        }
        if let Some(problem) = value_problem(value) {
            return Err(TalosConfigError::InvalidValue {
                name: (*name).to_owned(),
                problem,
            });
        }
    }
    Ok(())
}

/// Whether YAML must escape `c` inside a double-quoted scalar: everything outside YAML's
/// printable set (`c-printable`), the line separators YAML 1.1 knows (NEL, LS, PS) and the
/// byte order mark.
fn needs_escape(c: char) -> bool {
    let u = u32::from(c);
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || matches!(u, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
}

/// `s` as a YAML double-quoted scalar that any YAML 1.1 or 1.2 parser reads back as exactly
/// `s`: `"` and `\` escaped, tab as `\t`, other non-printable characters as `\uXXXX`, the rest
/// (including any non-ASCII text) as it is.
pub(crate) fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The extension name as a YAML scalar: plain when it cannot be read as anything but that
/// string (starts with a letter and is no YAML 1.1 or 1.2 boolean or null word), else
/// double-quoted.
pub(crate) fn name_scalar(name: &str) -> String {
    let reserved = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    if name.starts_with(|c: char| c.is_ascii_lowercase()) && !reserved.contains(&name) {
        name.to_owned()
    } else {
        double_quoted(name)
    }
}

/// `entries` as a one-line flow sequence of double-quoted scalars: `["A=1", "B=2"]`.
pub(crate) fn flow_sequence(entries: &[String]) -> String {
    let items: Vec<String> = entries.iter().map(|e| double_quoted(e)).collect();
    format!("[{}]", items.join(", "))
}

/// A new `ExtensionServiceConfig` document, starting with its `---` line, every line ended by
/// `le`.
pub(crate) fn new_document(extension: &str, entries: &[String], le: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "---{le}apiVersion: v1alpha1{le}kind: ExtensionServiceConfig{le}name: {}{le}environment:{le}",
        name_scalar(extension)
    );
    for entry in entries {
        let _ = write!(out, "  - {}{le}", double_quoted(entry));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_variable_name("TS_AUTHKEY"));
        assert!(valid_variable_name("_X9"));
        assert!(!valid_variable_name(""));
        assert!(!valid_variable_name("9X"));
        assert!(!valid_variable_name("ts_authkey"));
        assert!(!valid_variable_name("A-B"));
        assert!(!valid_variable_name("A=B"));
        assert!(valid_extension_name("tailscale"));
        assert!(valid_extension_name("nut-client_2"));
        assert!(!valid_extension_name(""));
        assert!(!valid_extension_name("Tailscale"));
        assert!(!valid_extension_name("a b"));
    }

    #[test]
    fn quoting() {
        assert_eq!(double_quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(double_quoted("\t\u{7}\u{2028}é"), "\"\\t\\u0007\\u2028é\"");
        assert_eq!(name_scalar("tailscale"), "tailscale");
        assert_eq!(name_scalar("yes"), "\"yes\"");
        assert_eq!(name_scalar("1x"), "\"1x\"");
        assert_eq!(
            flow_sequence(&["A=1".into(), "B=\"".into()]),
            r#"["A=1", "B=\""]"#
        );
    }
}
