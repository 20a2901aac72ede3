//! Finding needles in bytes: one Aho-Corasick automaton over every needle, so a file is read
//! once whatever the number of secrets, plus a second pass over PEM blocks with their line
//! breaks removed (a key re-wrapped at another width has the same body).

use super::needles::{Form, Needles};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// Needles totalling more than this are searched with a compact automaton instead of a DFA
/// (whose table would reach tens of MiB).
const DFA_MAX_NEEDLE_BYTES: usize = 64 << 10;

/// A needle found in some bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    /// 1-based line of the match's start.
    pub line: usize,
    /// The secret's name.
    pub secret: String,
    /// Its form.
    pub form: Form,
    /// Whether a token inside the value matched, rather than the whole value.
    pub partial: bool,
}

/// Searches bytes for every needle at once.
pub struct Scanner {
    automaton: Option<AhoCorasick>,
    /// (secret, form, partial) per pattern index.
    labels: Vec<(String, Form, bool)>,
}

impl Scanner {
    /// Build the automaton.
    pub fn new(needles: &Needles) -> Self {
        let labels = needles
            .list
            .iter()
            .map(|n| (n.secret.clone(), n.form, n.partial))
            .collect();
        let total: usize = needles.list.iter().map(|n| n.bytes.len()).sum();
        let automaton = (!needles.list.is_empty()).then(|| {
            // Leftmost-longest (not overlapping) keeps the fast search paths; where needles
            // overlap in a text (a token inside a whole value), the longer one is reported.
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                // A full DFA is twice as fast on text where some needle's first byte is
                // everywhere (hex, base64), but its size grows with the needles' total length:
                // beyond DFA_MAX_NEEDLE_BYTES, let the crate pick a compact automaton.
                .kind((total <= DFA_MAX_NEEDLE_BYTES).then_some(AhoCorasickKind::DFA))
                .build(needles.list.iter().map(|n| &n.bytes[..]))
                .expect("needles are bounded in number and size")
        });
        Self { automaton, labels }
    }

    /// Every needle in `bytes`, one entry per (line, secret), sorted; tokens of a secret whose
    /// whole value is also in `bytes` are left out.
    pub fn scan(&self, bytes: &[u8]) -> Vec<Found> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let mut found: Vec<(usize, usize)> = ac
            .find_iter(bytes)
            .map(|m| (m.start(), m.pattern().as_usize()))
            .collect();
        // Base64 wrapped over several lines (PEM bodies, `base64` output, YAML blocks): each
        // run of such lines is searched again joined, and reported at its first line.
        for_each_wrapped_base64(bytes, |start, joined| {
            for m in ac.find_iter(joined) {
                found.push((start, m.pattern().as_usize()));
            }
        });
        found.sort_unstable();
        let mut out: Vec<Found> = Vec::new();
        let (mut line, mut counted_to) = (1usize, 0usize);
        for (offset, pattern) in found {
            line += memchr::memchr_iter(b'\n', &bytes[counted_to..offset]).count();
            counted_to = offset;
            let (secret, form, partial) = &self.labels[pattern];
            out.push(Found {
                line,
                secret: secret.clone(),
                form: *form,
                partial: *partial,
            });
        }
        // One report per secret per line: the whole value over a token, raw over encodings.
        out.sort_by(|a, b| {
            (a.line, &a.secret, a.partial, a.form).cmp(&(b.line, &b.secret, b.partial, b.form))
        });
        out.dedup_by(|later, kept| later.line == kept.line && later.secret == kept.secret);
        // Where the whole value is found, the tokens inside it add nothing but noise.
        let whole: std::collections::BTreeSet<String> = out
            .iter()
            .filter(|f| !f.partial)
            .map(|f| f.secret.clone())
            .collect();
        out.retain(|f| !f.partial || !whole.contains(&f.secret));
        out
    }
}

/// Call `visit` with the start offset and the joined text of every run of two or more
/// consecutive lines that are base64 once their indentation is trimmed.
fn for_each_wrapped_base64(bytes: &[u8], mut visit: impl FnMut(usize, &[u8])) {
    let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || b"+/=_-".contains(b);
    let mut joined = Vec::new();
    let (mut run_start, mut run_lines) = (0usize, 0usize);
    let mut line_start = 0usize;
    let mut flush = |joined: &mut Vec<u8>, run_start: usize, run_lines: usize| {
        if run_lines >= 2 {
            visit(run_start, joined);
        }
        joined.clear();
    };
    while line_start <= bytes.len() {
        let end =
            memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i);
        let line = bytes[line_start..end].trim_ascii();
        // Any length: the last line of a wrapped text is short. A stray word joined on
        // either side cannot hide a needle, only add characters around it.
        if !line.is_empty() && line.iter().all(is_b64) {
            if run_lines == 0 {
                run_start = line_start;
            }
            joined.extend_from_slice(line);
            run_lines += 1;
        } else {
            flush(&mut joined, run_start, run_lines);
            run_lines = 0;
        }
        line_start = end + 1;
    }
    flush(&mut joined, run_start, run_lines);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{SecretFolder, folder};

    fn needles(files: &[(&str, &str)]) -> Needles {
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in files {
            std::fs::write(dir.path().join(name), value).unwrap();
        }
        let tar = folder::pack(dir.path()).unwrap();
        let folder: SecretFolder = folder::unpack(&tar, &Default::default()).unwrap();
        Needles::from_folder(&folder)
    }

    #[test]
    fn finds_each_form_on_its_line_and_skips_short_values() {
        let n = needles(&[("api-token", "Tk-8f3Qz91LmX0pa\n"), ("pin", "1234")]);
        assert_eq!(n.too_short, vec!["pin".to_string()]);
        let scanner = Scanner::new(&n);
        let text = "line one\ntoken=Tk-8f3Qz91LmX0pa\nencoded: VGstOGYzUXo5MUxtWDBwYQ\nurl=Tk-8f3Qz91LmX0pa%0A\nnothing 1234\n";
        let found = scanner.scan(text.as_bytes());
        let lines: Vec<_> = found.iter().map(|f| (f.line, f.form)).collect();
        assert_eq!(
            lines,
            vec![(2, Form::Raw), (3, Form::Base64), (4, Form::Raw)]
        );
        assert!(found.iter().all(|f| f.secret == "api-token"));
    }

    #[test]
    fn a_pem_body_rewrapped_at_another_width_is_found() {
        let body: String = (0..120)
            .map(|i| (b'A' + (i * 7 % 26) as u8) as char)
            .collect();
        let key = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n{}\n-----END PRIVATE KEY-----\n",
            &body[..64],
            &body[64..]
        );
        let n = needles(&[("tls.key", &key)]);
        let rewrapped = format!(
            "x\n-----BEGIN PRIVATE KEY-----\n{}\n{}\n{}\n-----END PRIVATE KEY-----\n",
            &body[..40],
            &body[40..80],
            &body[80..]
        );
        let found = Scanner::new(&n).scan(rewrapped.as_bytes());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].line, found[0].form), (3, Form::Pem));
    }

    #[test]
    fn base64_wrapped_at_76_columns_is_found() {
        use base64::Engine;
        let value = "a-long-secret-value-for-wrapping-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF";
        let n = needles(&[("long", value)]);
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("pre {value} post"));
        let wrapped: Vec<&str> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let text = format!("data: |\n  {}\n", wrapped.join("\n  "));
        let found = Scanner::new(&n).scan(text.as_bytes());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].line, found[0].form), (2, Form::Base64));
    }
}
