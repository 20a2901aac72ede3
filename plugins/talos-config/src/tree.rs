//! saphyr-parser's events, gathered into one small tree per document, with byte spans.

use core::ops::Range;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::TalosConfigError;
use crate::split;

/// A node of a parsed document.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Bytes of the event that opened the node: the whole scalar (with its anchor and tag), the
    /// alias, or the start of a collection (empty for a block collection without anchor or tag,
    /// up to and with the `[` or `{` for a flow collection).
    pub start: Range<usize>,
    /// Bytes of the event that closed a collection: the `]` or `}` of a flow collection, an
    /// empty span at the next token for a block one. Equal to `start` for scalars and aliases.
    pub end: Range<usize>,
    /// Anchor, numbered from 1 in the order of the document's anchors; 0 for none.
    pub anchor: usize,
    /// The tag, if any: its handle resolved (through `%TAG` directives) and its suffix, e.g.
    /// `tag:yaml.org,2002:null` for `!!null`.
    pub tag: Option<String>,
    /// What the node holds.
    pub value: Value,
}

/// The content of a [`Node`].
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A scalar: its value (after unescaping and folding) and how it was written.
    Scalar(String, ScalarStyle),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
    /// An alias, by the anchor number it refers to.
    Alias(usize),
}

impl Node {
    /// The scalar's value, if the node is a scalar.
    pub fn scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// Whether the node is a null: an untagged plain `~`, `null` (any case YAML allows) or
    /// nothing at all, or anything tagged `!!null`.
    pub fn is_null(&self) -> bool {
        match (&self.value, self.tag.as_deref()) {
            (_, Some("tag:yaml.org,2002:null")) => true,
            (Value::Scalar(s, ScalarStyle::Plain), None) => {
                matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    /// The value of `key` in this mapping: the first entry whose key is a scalar equal to
    /// `key`. `None` if this is no mapping or there is no such entry.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar value of `key` in this mapping, if it is there and is a scalar.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::scalar)
    }

    /// Whether the collection is written in flow style (`[...]`, `{...}`).
    pub fn is_flow(&self, text: &str) -> bool {
        let opening = text.get(self.start.clone()).unwrap_or("");
        opening.trim_end().ends_with(['[', '{'])
    }
}

/// Whether two nodes hold the same data: same anchors, tags and structure, scalars equal in
/// value and in whether they are plain (a plain `1` is a number, a quoted `"1"` a string), with
/// spans and the rest of the presentation ignored. Mappings compare in order.
pub(crate) fn same(a: &Node, b: &Node) -> bool {
    if a.anchor != b.anchor || a.tag != b.tag {
        return false;
    }
    match (&a.value, &b.value) {
        (Value::Scalar(x, sx), Value::Scalar(y, sy)) => {
            x == y && (*sx == ScalarStyle::Plain) == (*sy == ScalarStyle::Plain)
        }
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        (Value::Alias(x), Value::Alias(y)) => x == y,
        _ => false,
    }
}

/// One document as the parser saw it in the whole stream.
#[derive(Debug, Clone)]
pub(crate) struct ParsedDocument {
    /// The document's bytes, from the textual split (confirmed by the parser).
    pub span: Range<usize>,
    /// Its root node.
    pub root: Node,
}

/// A document parsed from some text: where its start event was, and its root.
struct RawDocument {
    start: usize,
    root: Node,
}

/// Char index to byte offset, for the parser's markers (which count characters).
struct Offsets(Vec<usize>);

impl Offsets {
    fn new(text: &str) -> Offsets {
        let mut v: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        v.push(text.len());
        Offsets(v)
    }

    fn byte(&self, index: usize) -> usize {
        match self.0.get(index) {
            Some(b) => *b,
            None => self.0.last().copied().unwrap_or(0),
        }
    }

    fn span(&self, span: Span, base: usize) -> Range<usize> {
        base + self.byte(span.start.index())..base + self.byte(span.end.index())
    }
}

/// A collection being built.
struct Frame {
    start: Range<usize>,
    anchor: usize,
    tag: Option<String>,
    map: bool,
    items: Vec<Node>,
}

/// Why parsing failed: where (1-based line and column within the parsed text) and the
/// parser's description.
pub(crate) struct ParseFailure {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// The parser's description of an error, cut before anything quoted that could be a piece
/// of the input: at the first `` ` `` or `"`, or at a `'` unless it quotes a single
/// character (`expected ',' or ']'`). saphyr-parser 0.3's only formatted message quotes one
/// of `%`, `@` or `` ` ``; later versions might quote more.
fn sanitize(info: &str) -> String {
    let mut cut = info.len();
    let mut chars = info.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '`' | '"' => {
                cut = i;
                break;
            }
            '\'' => {
                let mut rest = info[i + 1..].chars();
                match (rest.next(), rest.next()) {
                    (Some(q), Some('\'')) if q != '\'' => {
                        chars.next();
                        chars.next();
                    }
                    _ => {
                        cut = i;
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    info[..cut].trim_end().trim_end_matches(':').to_owned()
}

/// The document-local number of the parser's anchor `id` (0 for none), numbering anchors
/// from 1 in the order they are defined.
fn anchor_number(anchors: &mut HashMap<usize, usize>, id: usize) -> usize {
    if id == 0 {
        return 0;
    }
    let next = anchors.len() + 1;
    *anchors.entry(id).or_insert(next)
}

/// Parses `text` into its documents; spans are byte offsets into `text`, plus `base`.
fn parse(text: &str, base: usize) -> Result<Vec<RawDocument>, ParseFailure> {
    let offsets = Offsets::new(text);
    let mut documents = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut doc_start = None;
    let mut root: Option<Node> = None;
    let mut anchors: HashMap<usize, usize> = HashMap::new();

    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| ParseFailure {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            reason: sanitize(e.info()),
        })?;
        let bytes = offsets.span(span, base);
        let is_mapping_start = matches!(event, Event::MappingStart(..));
        let finished = match event {
            Event::DocumentStart(_) => {
                doc_start = Some(bytes.start);
                root = None;
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                let start = doc_start.take().unwrap_or(bytes.start);
                let node = root.take().unwrap_or_else(|| Node {
                    start: bytes.start..bytes.start,
                    end: bytes.start..bytes.start,
                    anchor: 0,
                    tag: None,
                    value: Value::Scalar(String::new(), ScalarStyle::Plain),
                });
                documents.push(RawDocument { start, root: node });
                None
            }
            Event::Scalar(value, style, id, tag) => Some(Node {
                start: bytes.clone(),
                end: bytes,
                anchor: anchor_number(&mut anchors, id),
                tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                value: Value::Scalar(value.into_owned(), style),
            }),
            Event::Alias(id) => Some(Node {
                start: bytes.clone(),
                end: bytes,
                anchor: 0,
                // An alias to an anchor defined in no earlier node is a parse error, so the
                // lookup finds it; 0 otherwise, which compares unequal to every anchor.
                tag: None,
                value: Value::Alias(anchors.get(&id).copied().unwrap_or(0)),
            }),
            Event::SequenceStart(id, tag) | Event::MappingStart(id, tag) => {
                let map = is_mapping_start;
                stack.push(Frame {
                    start: bytes,
                    anchor: anchor_number(&mut anchors, id),
                    tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    map,
                    items: Vec::new(),
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(frame) => {
                    let value = if frame.map {
                        let mut entries = Vec::with_capacity(frame.items.len() / 2);
                        let mut items = frame.items.into_iter();
                        while let (Some(k), Some(v)) = (items.next(), items.next()) {
                            entries.push((k, v));
                        }
                        Value::Map(entries)
                    } else {
                        Value::Seq(frame.items)
                    };
                    Some(Node {
                        start: frame.start,
                        end: bytes,
                        anchor: frame.anchor,
                        tag: frame.tag,
                        value,
                    })
                }
                None => None,
            },
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
        };
        if let Some(node) = finished {
            match stack.last_mut() {
                Some(frame) => frame.items.push(node),
                None => root = Some(node),
            }
        }
    }
    Ok(documents)
}

/// Splits `config` into documents textually (see [`split`]), has the YAML parser confirm the
/// split, and returns each document's span and tree.
///
/// The confirmation: the whole stream parses (else [`TalosConfigError::InvalidYaml`]); it has
/// as many documents as there are pieces; the parser starts document *i* inside piece *i*; and
/// piece *i* parsed on its own is exactly one document, equal (by [`same`]) to document *i* of
/// the whole stream. Anything else is [`TalosConfigError::AmbiguousDocuments`].
pub(crate) fn analyze(config: &str) -> Result<Vec<ParsedDocument>, TalosConfigError> {
    let whole = parse(config, 0).map_err(|f| TalosConfigError::InvalidYaml {
        line: f.line,
        column: f.column,
        reason: f.reason,
    })?;
    let pieces = split::split(config);
    if pieces.len() != whole.len() {
        return Err(TalosConfigError::AmbiguousDocuments);
    }
    let mut documents = Vec::with_capacity(pieces.len());
    for (piece, doc) in pieces.into_iter().zip(whole) {
        if !(piece.start <= doc.start && doc.start < piece.end) {
            return Err(TalosConfigError::AmbiguousDocuments);
        }
        let alone = parse(&config[piece.clone()], piece.start)
            .map_err(|_| TalosConfigError::AmbiguousDocuments)?;
        match alone.as_slice() {
            [single] if same(&single.root, &doc.root) => {}
            _ => return Err(TalosConfigError::AmbiguousDocuments),
        }
        documents.push(ParsedDocument {
            span: piece,
            root: doc.root,
        });
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_reasons_quote_nothing() {
        assert_eq!(
            sanitize("unexpected character: `@'"),
            "unexpected character"
        );
        assert_eq!(sanitize("expected ',' or ']'"), "expected ',' or ']'");
        assert_eq!(sanitize("found 'secret' here"), "found");
        assert_eq!(sanitize("found \"secret\""), "found");
        assert_eq!(sanitize("found 'x"), "found");
        assert_eq!(
            sanitize("mapping values are not allowed in this context"),
            "mapping values are not allowed in this context"
        );
    }

    #[test]
    fn spans_are_bytes() {
        let text = "é: \"ü\"\n";
        let docs = parse(text, 0).ok().unwrap();
        let Value::Map(entries) = &docs[0].root.value else {
            panic!("not a map")
        };
        assert_eq!(&text[entries[0].1.start.clone()], "\"ü\"");
    }

    #[test]
    fn anchors_are_numbered_per_document() {
        let a = parse("x: &a 1\ny: *a\n", 0).ok().unwrap();
        let b = parse("z: 0\n---\nx: &b 1\ny: *b\n", 0).ok().unwrap();
        assert!(same(&a[0].root, &b[1].root));
    }
}
