//! The textual split of a YAML stream into documents, before any parser has looked at it.
//!
//! YAML 1.2 (§9.1.5, production `c-forbidden`) makes a line that begins, at column 0, with
//! `---` or `...` followed by a space, a tab or the end of the line a document marker wherever
//! it occurs: no scalar may contain one. A `---` *inside* a block scalar is indented deeper
//! than its parent node and so does not start at column 0; a block scalar at the root of a
//! document, indented by zero, does end at such a line (saphyr-parser has a test for exactly
//! that). So cutting at those lines is the split the specification prescribes; the caller
//! still has the parser confirm it (see `tree::analyze`).

use core::ops::Range;

/// What a line is, for the split.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum LineKind {
    /// `---` at column 0, then a space, a tab or the end of the line.
    DocumentStart,
    /// `...` at column 0, then a space, a tab or the end of the line.
    DocumentEnd,
    /// Nothing but spaces and tabs.
    Blank,
    /// Optional spaces and tabs, then `#`.
    Comment,
    /// `%` at column 0: a directive, when it stands before a document.
    Directive,
    /// Anything else.
    Content,
}

fn classify(line: &str) -> LineKind {
    let marker = |m: &str| {
        line.strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    };
    if marker("---") {
        return LineKind::DocumentStart;
    }
    if marker("...") {
        return LineKind::DocumentEnd;
    }
    let trimmed = line.trim_start_matches([' ', '\t']);
    if trimmed.is_empty() {
        LineKind::Blank
    } else if trimmed.starts_with('#') {
        LineKind::Comment
    } else if line.starts_with('%') {
        LineKind::Directive
    } else {
        LineKind::Content
    }
}

/// The lines of `text`: for each, the byte range of its content (without the line break) and
/// the byte offset just past its line break. A line break is `\r\n`, `\n` or a lone `\r`, as
/// in YAML.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (Range<usize>, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut pos = 0;
    core::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        let mut end = start;
        while end < bytes.len() && bytes[end] != b'\n' && bytes[end] != b'\r' {
            end += 1;
        }
        let next = if end + 1 < bytes.len() && bytes[end] == b'\r' && bytes[end + 1] == b'\n' {
            end + 2
        } else if end < bytes.len() {
            end + 1
        } else {
            end
        };
        pos = next;
        Some((start..end, next))
    })
}

/// Cuts `text` into the byte ranges of its documents. The ranges are contiguous and, when there
/// is at least one document, cover the whole text.
///
/// A document's range starts at its `---` line, or (for a bare document) where the previous
/// document ended, so comments, blank lines and directives before a document's `---` belong to
/// it; it ends before the next document's range, after its own `...` line if it has one. Text
/// after the last document (comments after a final `...`) belongs to the last document. Text
/// with no document at all (empty, or only comments) gives no range.
pub(crate) fn split(text: &str) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    // The current piece has a `---` line or content: it is a document, not just a preamble.
    let mut explicit = false;
    let mut content = false;
    for (line, next) in lines(text) {
        let mut line_text = &text[line.clone()];
        if line.start == 0 {
            line_text = line_text.strip_prefix('\u{feff}').unwrap_or(line_text);
        }
        match classify(line_text) {
            LineKind::DocumentStart => {
                if explicit || content {
                    pieces.push(start..line.start);
                    start = line.start;
                    content = false;
                }
                explicit = true;
            }
            LineKind::DocumentEnd => {
                // A `...` with no document open stays in the preamble of the next one.
                if explicit || content {
                    pieces.push(start..next);
                    start = next;
                    explicit = false;
                    content = false;
                }
            }
            LineKind::Blank | LineKind::Comment => {}
            LineKind::Directive if !explicit && !content => {}
            LineKind::Directive | LineKind::Content => content = true,
        }
    }
    if explicit || content {
        pieces.push(start..text.len());
    } else if start < text.len()
        && let Some(last) = pieces.last_mut()
    {
        last.end = text.len();
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<&str> {
        split(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn markers_need_column_zero_and_a_separator() {
        assert_eq!(classify("---"), LineKind::DocumentStart);
        assert_eq!(classify("--- |"), LineKind::DocumentStart);
        assert_eq!(classify("---\t# c"), LineKind::DocumentStart);
        assert_eq!(classify("----"), LineKind::Content);
        assert_eq!(classify("---a"), LineKind::Content);
        assert_eq!(classify(" ---"), LineKind::Content);
        assert_eq!(classify("..."), LineKind::DocumentEnd);
        assert_eq!(classify("...."), LineKind::Content);
        assert_eq!(classify("  # c"), LineKind::Comment);
        assert_eq!(classify(" \t"), LineKind::Blank);
        assert_eq!(classify("%YAML 1.2"), LineKind::Directive);
    }

    #[test]
    fn line_breaks() {
        let text = "a\r\nb\rc\nd";
        let got: Vec<_> = lines(text).map(|(r, n)| (&text[r], n)).collect();
        assert_eq!(got, [("a", 3), ("b", 5), ("c", 7), ("d", 8)]);
    }

    #[test]
    fn pieces() {
        assert_eq!(texts(""), Vec::<&str>::new());
        assert_eq!(texts("# only\n\n"), Vec::<&str>::new());
        assert_eq!(texts("a: 1\n"), ["a: 1\n"]);
        assert_eq!(
            texts("# c\n---\na: 1\n---\nb: 2"),
            ["# c\n---\na: 1\n", "---\nb: 2"]
        );
        assert_eq!(texts("a: 1\n...\n# c\n"), ["a: 1\n...\n# c\n"]);
        assert_eq!(texts("a: 1\n...\nb: 2\n"), ["a: 1\n...\n", "b: 2\n"]);
        assert_eq!(texts("---\n---\n"), ["---\n", "---\n"]);
        assert_eq!(texts("a: |\n  ---\n---\nb"), ["a: |\n  ---\n", "---\nb"]);
        assert_eq!(
            texts("a\n...\n%YAML 1.2\n---\nb\n"),
            ["a\n...\n", "%YAML 1.2\n---\nb\n"]
        );
        assert_eq!(texts("\u{feff}---\na\n"), ["\u{feff}---\na\n"]);
    }
}
