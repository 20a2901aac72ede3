//! The edit of one `ExtensionServiceConfig` document, and the check of its result.

use core::ops::Range;

use saphyr_parser::ScalarStyle;

use crate::TalosConfigError;
use crate::emit::{double_quoted, flow_sequence, new_document};
use crate::split::lines;
use crate::tree::{Node, ParsedDocument, Value, analyze, same};

/// The kind of the documents this crate edits.
pub(crate) const KIND: &str = "ExtensionServiceConfig";

/// The key of the environment list in such a document.
const ENVIRONMENT: &str = "environment";

/// One replacement of a byte range of the config.
struct Edit {
    range: Range<usize>,
    text: String,
}

/// Applies non-overlapping edits.
fn apply(config: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| core::cmp::Reverse(e.range.start));
    let mut out = config.to_owned();
    for edit in edits {
        out.replace_range(edit.range, &edit.text);
    }
    out
}

/// The line break the config uses (its first one), `\n` if it has none.
pub(crate) fn line_ending(config: &str) -> &str {
    lines(config)
        .map(|(line, next)| &config[line.end..next])
        .find(|le| !le.is_empty())
        .unwrap_or("\n")
}

/// Offset of the start of the line holding `pos`.
fn line_start(config: &str, pos: usize) -> usize {
    config[..pos].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

/// Offset of the line break (or the end of the text) ending the line holding `pos`.
fn line_end(config: &str, pos: usize) -> usize {
    config[pos..]
        .find(['\n', '\r'])
        .map_or(config.len(), |i| pos + i)
}

/// Whether `doc` is the `ExtensionServiceConfig` of `extension`.
pub(crate) fn is_extension_config(doc: &ParsedDocument, extension: &str) -> bool {
    doc.root.get_str("kind") == Some(KIND) && doc.root.get_str("name") == Some(extension)
}

/// The indices of the documents that are `extension`'s `ExtensionServiceConfig`.
pub(crate) fn matching(docs: &[ParsedDocument], extension: &str) -> Vec<usize> {
    (0..docs.len())
        .filter(|&i| is_extension_config(&docs[i], extension))
        .collect()
}

/// The entries of the `environment` of `root` (document `document`): `None` if there is no
/// such key; an empty list for a null value.
pub(crate) fn environment(
    root: &Node,
    document: usize,
) -> Result<Option<Vec<String>>, TalosConfigError> {
    let Value::Map(entries) = &root.value else {
        return Ok(None);
    };
    let mut found = entries
        .iter()
        .filter(|(k, _)| k.scalar() == Some(ENVIRONMENT));
    let Some((_, value)) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(TalosConfigError::DuplicateEnvironmentKey { document });
    }
    let items: &[Node] = match &value.value {
        Value::Seq(items) => items,
        _ if value.is_null() => &[],
        _ => return Err(TalosConfigError::EnvironmentNotList { document }),
    };
    items
        .iter()
        .enumerate()
        .map(|(entry, item)| match &item.value {
            Value::Scalar(s, _) => Ok(s.clone()),
            _ => Err(TalosConfigError::EnvironmentEntryNotString { document, entry }),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The name part of an environment entry: before the first `=`, or all of it.
fn entry_name(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(name, _)| name)
}

/// The entries after setting `set` in `old`, and which of the old entries change.
struct Merge {
    entries: Vec<String>,
    changed: Vec<usize>,
    appended: Vec<String>,
}

fn merge(old: &[String], set: &[(&str, &str)]) -> Merge {
    let mut found = vec![false; set.len()];
    let mut entries = Vec::with_capacity(old.len() + set.len());
    let mut changed = Vec::new();
    for (index, entry) in old.iter().enumerate() {
        match set.iter().position(|(name, _)| *name == entry_name(entry)) {
            Some(j) => {
                found[j] = true;
                let new = format!("{}={}", set[j].0, set[j].1);
                if new != *entry {
                    changed.push(index);
                }
                entries.push(new);
            }
            None => entries.push(entry.clone()),
        }
    }
    let appended: Vec<String> = set
        .iter()
        .zip(&found)
        .filter(|(_, found)| !**found)
        .map(|((name, value), _)| format!("{name}={value}"))
        .collect();
    entries.extend(appended.iter().cloned());
    Merge {
        entries,
        changed,
        appended,
    }
}

fn unsupported(document: usize, reason: &'static str) -> TalosConfigError {
    TalosConfigError::UnsupportedLayout { document, reason }
}

/// The end of the quoted scalar whose opening quote is at `start`: just past its closing
/// quote. (The parser's span of a quoted scalar can run on over a comment after it.)
fn quoted_end(config: &str, start: usize) -> Option<usize> {
    let text = &config[start..];
    let mut chars = text.char_indices();
    let (_, quote) = chars.next()?;
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            ('"', '\\') => {
                chars.next();
            }
            ('\'', '\'') if text[i + 1..].starts_with('\'') => {
                chars.next();
            }
            (q, c) if q == c => return Some(start + i + 1),
            _ => {}
        }
    }
    None
}

/// The end of a quoted scalar item's text (its span can include a comment after it).
fn quoted_scalar_end(config: &str, item: &Node) -> Option<usize> {
    // Past any anchor and tag, the text starts with its quote.
    let open = config[item.start.clone()].find(['"', '\''])?;
    quoted_end(config, item.start.start + open).filter(|&e| e <= item.start.end)
}

/// The end of a scalar's text: for a quoted one, just past its closing quote; otherwise the
/// end of its span.
fn scalar_text_end(config: &str, node: &Node) -> usize {
    match node.value {
        Value::Scalar(_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) => {
            quoted_scalar_end(config, node).unwrap_or(node.start.end)
        }
        _ => node.start.end,
    }
}

/// The bytes of a scalar item written on one line as a plain, single-quoted or double-quoted
/// scalar, from its anchor or tag (if any) to the end of its text; `None` for any other item.
fn one_line_scalar(config: &str, item: &Node) -> Option<Range<usize>> {
    let end = match item.value {
        Value::Scalar(_, ScalarStyle::Plain) => item.start.end,
        Value::Scalar(_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) => {
            quoted_scalar_end(config, item)?
        }
        _ => return None,
    };
    let range = item.start.start..end;
    (!config[range.clone()].contains(['\n', '\r'])).then_some(range)
}

/// The bytes to replace to change a scalar item in place: those of a [`one_line_scalar`]
/// with no anchor or tag (both are inside its span, and would go with it).
fn replaceable(config: &str, item: &Node) -> Option<Range<usize>> {
    if item.anchor != 0 || item.tag.is_some() {
        return None;
    }
    one_line_scalar(config, item)
}

/// The minimal edit of a block sequence: changed entries replaced where they stand, new ones
/// inserted as lines after the last entry's line, written like the first entry's line. `None`
/// when the sequence is not laid out so that this is safe.
fn edit_block_sequence(
    config: &str,
    value: &Node,
    items: &[Node],
    merged: &Merge,
    le: &str,
) -> Option<Vec<Edit>> {
    let (first, last) = (items.first()?, items.last()?);
    if value.is_flow(config) {
        return None;
    }
    // Where the first `-` is: the sequence's start event sits on it when the list has no
    // anchor or tag and is indented; otherwise the first entry's line must read
    // `<spaces>-<spaces><entry>` (a block scalar's span starts at its content, so then that
    // entry must not be one).
    let dash = if config[value.start.start..].starts_with('-') {
        value.start.start
    } else {
        let before = config[..first.start.start].trim_end_matches(' ');
        before.strip_suffix('-')?.len()
    };
    let indent = &config[line_start(config, dash)..dash];
    if !indent.bytes().all(|b| b == b' ') {
        return None;
    }
    let prefix = format!("{indent}- ");
    let mut edits = Vec::new();
    for &index in &merged.changed {
        edits.push(Edit {
            range: replaceable(config, &items[index])?,
            text: double_quoted(&merged.entries[index]),
        });
    }
    if !merged.appended.is_empty() {
        let at = line_end(config, one_line_scalar(config, last)?.end);
        let text = merged
            .appended
            .iter()
            .map(|e| format!("{le}{prefix}{}", double_quoted(e)))
            .collect();
        edits.push(Edit {
            range: at..at,
            text,
        });
    }
    Some(edits)
}

/// The fallback for an `environment` that exists but is not a block sequence of one-line
/// entries: its value is rewritten as a one-line flow sequence of double-quoted entries.
fn rewrite_value(
    config: &str,
    key: &Node,
    value: &Node,
    entries: &[String],
    le: &str,
    document: usize,
) -> Result<Edit, TalosConfigError> {
    let flow = flow_sequence(entries);
    match &value.value {
        Value::Seq(_) if value.is_flow(config) => {
            let open = config[value.start.clone()]
                .rfind('[')
                .map(|i| value.start.start + i)
                .ok_or_else(|| unsupported(document, "cannot find the `[` of `environment`"))?;
            // The closing event's span may run on over a comment after the `]`.
            let close = config[value.end.clone()]
                .find(']')
                .map(|i| value.end.start + i + 1)
                .ok_or_else(|| unsupported(document, "cannot find the `]` of `environment`"))?;
            Ok(Edit {
                range: open..close,
                text: flow,
            })
        }
        Value::Seq(items) => {
            // From the end of the key to the end of the last entry: `environment: [...]`.
            let last = items
                .last()
                .ok_or_else(|| unsupported(document, "empty block sequence"))?;
            let mut end = scalar_text_end(config, last);
            let mut text = format!(": {flow}");
            if let Value::Scalar(_, ScalarStyle::Literal | ScalarStyle::Folded) = last.value {
                // A block scalar's span runs on to the next token: stop at its line start.
                let start = line_start(config, end);
                if start > last.start.start && config[start..end].bytes().all(|b| b == b' ') {
                    end = start;
                    text.push_str(le);
                }
            }
            Ok(Edit {
                range: scalar_text_end(config, key)..end,
                text,
            })
        }
        _ if value.start.is_empty() => {
            // `environment:` with nothing after it: the parser puts the empty scalar at the
            // end of the key, before the `:`.
            let key_end = scalar_text_end(config, key);
            let at = config[key_end..]
                .find(':')
                .map(|i| key_end + i + 1)
                .ok_or_else(|| unsupported(document, "cannot find the `:` after `environment`"))?;
            let before = config[..at].chars().next_back();
            let after = config[at..].chars().next();
            let mut text = String::new();
            if !matches!(before, Some(' ' | '\t')) {
                text.push(' ');
            }
            text.push_str(&flow);
            if after == Some('#') {
                text.push(' ');
            }
            Ok(Edit {
                range: at..at,
                text,
            })
        }
        _ => Ok(Edit {
            range: value.start.clone(),
            text: flow,
        }),
    }
}

/// The insertion of an `environment` key into a document that has none.
fn add_environment_key(
    config: &str,
    root: &Node,
    entries: &[String],
    le: &str,
    document: usize,
) -> Result<Edit, TalosConfigError> {
    let Value::Map(map) = &root.value else {
        return Err(unsupported(document, "the document is not a mapping"));
    };
    if root.is_flow(config) {
        let open = config[root.start.clone()]
            .rfind('{')
            .map(|i| root.start.start + i + 1)
            .ok_or_else(|| unsupported(document, "cannot find the `{` of the document"))?;
        let comma = if map.is_empty() { "" } else { ", " };
        return Ok(Edit {
            range: open..open,
            text: format!("{ENVIRONMENT}: {}{comma}", flow_sequence(entries)),
        });
    }
    let first = map
        .first()
        .map(|(k, _)| k)
        .ok_or_else(|| unsupported(document, "empty mapping"))?;
    let indent = &config[line_start(config, first.start.start)..first.start.start];
    let indent = indent.trim_start_matches('\u{feff}');
    if !indent.bytes().all(|b| b == b' ') {
        return Err(unsupported(
            document,
            "the document's first key does not start its line",
        ));
    }
    let at = root.end.start;
    let mut text = String::new();
    if at > 0 && !config[..at].ends_with(['\n', '\r']) {
        text.push_str(le);
    }
    text.push_str(&format!("{indent}{ENVIRONMENT}:{le}"));
    for entry in entries {
        text.push_str(&format!("{indent}  - {}{le}", double_quoted(entry)));
    }
    Ok(Edit {
        range: at..at,
        text,
    })
}

/// Whether two documents' roots are equal once their `environment` entries are left out.
fn same_except_environment(a: &Node, b: &Node) -> bool {
    let (Value::Map(x), Value::Map(y)) = (&a.value, &b.value) else {
        return false;
    };
    let keep = |(k, _): &&(Node, Node)| k.scalar() != Some(ENVIRONMENT);
    let x: Vec<_> = x.iter().filter(keep).collect();
    let y: Vec<_> = y.iter().filter(keep).collect();
    a.anchor == b.anchor
        && a.tag == b.tag
        && x.len() == y.len()
        && x.iter()
            .zip(&y)
            .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
}

/// Edits document `index` (the one matching document) of `config`.
pub(crate) fn edit_existing(
    config: &str,
    docs: &[ParsedDocument],
    index: usize,
    set: &[(&str, &str)],
) -> Result<String, TalosConfigError> {
    let le = line_ending(config);
    let root = &docs[index].root;
    let Value::Map(map) = &root.value else {
        return Err(unsupported(index, "the document is not a mapping"));
    };
    let old = environment(root, index)?;
    let (edits, expected) = match old {
        None => {
            let merged = merge(&[], set);
            if merged.entries.is_empty() {
                return Ok(config.to_owned());
            }
            let edit = add_environment_key(config, root, &merged.entries, le, index)?;
            (vec![edit], merged.entries)
        }
        Some(old) => {
            let merged = merge(&old, set);
            if merged.changed.is_empty() && merged.appended.is_empty() {
                return Ok(config.to_owned());
            }
            let (key, value) = map
                .iter()
                .find(|(k, _)| k.scalar() == Some(ENVIRONMENT))
                .map(|(k, v)| (k, v))
                .ok_or_else(|| unsupported(index, "environment disappeared"))?;
            let minimal = match &value.value {
                Value::Seq(items) => edit_block_sequence(config, value, items, &merged, le),
                _ => None,
            };
            let edits = match minimal {
                Some(edits) => edits,
                None => vec![rewrite_value(
                    config,
                    key,
                    value,
                    &merged.entries,
                    le,
                    index,
                )?],
            };
            (edits, merged.entries)
        }
    };
    let out = apply(config, edits);

    // Read the result back: same documents, all but this one byte for byte, this one equal
    // but for its environment, which must be exactly the expected list.
    let fail = || unsupported(index, "the edited document did not read back as intended");
    let after = analyze(&out).map_err(|_| fail())?;
    if after.len() != docs.len() {
        return Err(fail());
    }
    for (j, (before, now)) in docs.iter().zip(&after).enumerate() {
        if j == index {
            if !same_except_environment(&before.root, &now.root)
                || environment(&now.root, j).ok().flatten().as_ref() != Some(&expected)
            {
                return Err(fail());
            }
        } else if config[before.span.clone()] != out[now.span.clone()] {
            return Err(fail());
        }
    }
    Ok(out)
}

/// Appends a new `ExtensionServiceConfig` for `extension` to `config`, which has none.
pub(crate) fn append_new(
    config: &str,
    docs: &[ParsedDocument],
    extension: &str,
    set: &[(&str, &str)],
) -> Result<String, TalosConfigError> {
    let merged = merge(&[], set);
    if merged.entries.is_empty() {
        return Ok(config.to_owned());
    }
    let le = line_ending(config);
    let mut out = config.to_owned();
    if !out.is_empty() && !out.ends_with(['\n', '\r']) {
        out.push_str(le);
    }
    out.push_str(&new_document(extension, &merged.entries, le));

    let index = docs.len();
    let fail = || unsupported(index, "the appended document did not read back as intended");
    let after = analyze(&out).map_err(|_| fail())?;
    // The input is a prefix of the output by construction. Comments after the last document
    // now stand before the new `---`, so they move to the new document's span: all but the
    // last old document keep their spans exactly.
    let last = docs.len().saturating_sub(1);
    if after.len() != docs.len() + 1
        || !docs
            .iter()
            .zip(&after)
            .enumerate()
            .all(|(j, (before, now))| {
                same(&before.root, &now.root)
                    && (j == last || config[before.span.clone()] == out[now.span.clone()])
            })
        || matching(&after, extension) != [index]
        || environment(&after[index].root, index)
            .ok()
            .flatten()
            .as_ref()
            != Some(&merged.entries)
    {
        return Err(fail());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_order_and_replaces_every_duplicate() {
        let old: Vec<String> = ["A=1", "B=2", "A=3", "C"].map(String::from).to_vec();
        let m = merge(&old, &[("A", "x"), ("C", "y"), ("D", "z"), ("B", "2")]);
        assert_eq!(m.entries, ["A=x", "B=2", "A=x", "C=y", "D=z"]);
        assert_eq!(m.changed, [0, 2, 3]);
        assert_eq!(m.appended, ["D=z"]);
    }

    #[test]
    fn quoted_ends() {
        let c = r#"- 'it''s' # c"#;
        assert_eq!(quoted_end(c, 2), Some(9));
        let c = r#"- "a\"b" # c"#;
        assert_eq!(quoted_end(c, 2), Some(8));
        assert_eq!(quoted_end("'open", 0), None);
    }

    #[test]
    fn line_endings() {
        assert_eq!(line_ending("a\r\nb\n"), "\r\n");
        assert_eq!(line_ending("a\nb\r\n"), "\n");
        assert_eq!(line_ending("a"), "\n");
        assert_eq!(line_ending(""), "\n");
    }
}
