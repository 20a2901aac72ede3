//! What to look for: every value in the archive, in the forms a leak takes. A value leaks raw,
//! base64'd (standard or URL-safe, at any alignment inside a longer base64 text), URL-encoded,
//! or as the base64 body of a PEM block re-wrapped at another width. Long structured files
//! (kubeconfigs, credential JSON) also leak piecemeal, so each high-entropy token inside a
//! value is a needle of its own. Values shorter than [`MIN_LEN`] are not searched: they would
//! match everywhere.

use crate::archive::SecretFolder;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use std::collections::BTreeSet;
use std::fmt;
use zeroize::Zeroizing;

/// Shorter values are skipped (and named in the report).
pub const MIN_LEN: usize = 8;
/// Longer values are searched by their first this-many bytes (enough to be unique, and keeps
/// the automaton small when the archive holds snapshots).
pub const MAX_NEEDLE: usize = 1024;
/// Tokens inside a value must be at least this long...
const TOKEN_MIN: usize = 20;
/// ...and this random (Shannon entropy, bits per byte) to be searched on their own.
const TOKEN_MIN_ENTROPY: f64 = 3.5;

/// The form in which a value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    /// As is.
    Raw,
    /// Base64, standard alphabet.
    Base64,
    /// Base64, URL-safe alphabet.
    Base64Url,
    /// Percent-encoded.
    UrlEncoded,
    /// The base64 body of a PEM block.
    Pem,
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Raw => "raw",
            Self::Base64 => "base64",
            Self::Base64Url => "base64url",
            Self::UrlEncoded => "url-encoded",
            Self::Pem => "PEM body",
        })
    }
}

/// One byte string to search for, and whose it is.
pub struct Needle {
    /// The secret's name (its path in the archive), never its value.
    pub secret: String,
    /// How the value was encoded.
    pub form: Form,
    /// Whether this is a token inside the value rather than the value itself.
    pub partial: bool,
    pub(super) bytes: Zeroizing<Vec<u8>>,
}

/// Every needle of an archive.
#[derive(Default)]
pub struct Needles {
    /// The needles.
    pub list: Vec<Needle>,
    /// Secrets too short to search for.
    pub too_short: Vec<String>,
}

impl Needles {
    /// The needles of every file in `folder`.
    pub fn from_folder(folder: &SecretFolder) -> Self {
        let mut needles = Self::default();
        let mut seen = BTreeSet::new();
        for (name, file) in &folder.files {
            let value = file.data().trim_ascii();
            if value.len() < MIN_LEN {
                needles.too_short.push(name.clone());
                continue;
            }
            let mut add = |form: Form, partial: bool, bytes: Zeroizing<Vec<u8>>| {
                // Remembered by hash: a plain copy of each value would outlive the zeroizing.
                if bytes.len() >= MIN_LEN && seen.insert(*blake3::hash(&bytes).as_bytes()) {
                    needles.list.push(Needle {
                        secret: name.clone(),
                        form,
                        partial,
                        bytes,
                    });
                }
            };
            let head = &value[..value.len().min(MAX_NEEDLE)];
            for_each_form(head, &mut |form, bytes| add(form, false, bytes));
            if let Some(body) = pem_body(value) {
                add(Form::Pem, false, body);
            }
            for token in tokens(value) {
                if token.len() < value.len() {
                    for_each_form(token, &mut |form, bytes| add(form, true, bytes));
                }
            }
        }
        needles
    }
}

/// Call `emit` with `value` raw, base64'd at each alignment, and URL-encoded.
fn for_each_form(value: &[u8], emit: &mut dyn FnMut(Form, Zeroizing<Vec<u8>>)) {
    emit(Form::Raw, Zeroizing::new(value.to_vec()));
    // Inside a longer base64 text the value may start at any of three byte offsets; the
    // characters encoding only its own whole 3-byte groups are the same whatever surrounds it.
    for shift in 0..3.min(value.len()) {
        let rest = &value[shift..];
        let whole = &rest[..rest.len() / 3 * 3];
        if whole.is_empty() {
            continue;
        }
        emit(
            Form::Base64,
            Zeroizing::new(STANDARD_NO_PAD.encode(whole).into_bytes()),
        );
        emit(
            Form::Base64Url,
            Zeroizing::new(URL_SAFE_NO_PAD.encode(whole).into_bytes()),
        );
    }
    let encoded = url_encode(value);
    if encoded.as_slice() != value {
        emit(Form::UrlEncoded, encoded);
    }
}

/// Percent-encode everything but RFC 3986's unreserved characters.
fn url_encode(value: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 3));
    for &b in value {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

/// The base64 body of the first PEM block in `text`, joined into one line.
fn pem_body(text: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let begin = memchr::memmem::find(text, b"-----BEGIN ")?;
    let after_begin = begin + memchr::memchr(b'\n', &text[begin..])? + 1;
    let end = after_begin + memchr::memmem::find(&text[after_begin..], b"-----END ")?;
    let mut body = Zeroizing::new(Vec::with_capacity(end - after_begin));
    for line in text[after_begin..end].split(|&b| b == b'\n') {
        // Skip RFC 1421 headers ("Proc-Type: ...") and blank lines.
        if line.contains(&b':') {
            continue;
        }
        body.extend(line.iter().copied().filter(|b| !b.is_ascii_whitespace()));
    }
    (body.len() >= MIN_LEN).then_some(body)
}

/// High-entropy tokens inside a value (split on anything that is not a base64, hex or
/// URL-safe character).
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| !(b.is_ascii_alphanumeric() || b"+/=_-.~".contains(b)))
        .filter(|t| t.len() >= TOKEN_MIN && mixed(t) && entropy(t) >= TOKEN_MIN_ENTROPY)
}

/// At least two of lowercase, uppercase and digits: keys and tokens are; words and host
/// names are not.
fn mixed(token: &[u8]) -> bool {
    let has = |f: fn(&u8) -> bool| token.iter().any(f);
    [
        has(u8::is_ascii_lowercase),
        has(u8::is_ascii_uppercase),
        has(u8::is_ascii_digit),
    ]
    .into_iter()
    .filter(|&x| x)
    .count()
        >= 2
}

/// Shannon entropy in bits per byte.
fn entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_at_every_alignment_is_found_inside_a_longer_text() {
        let value = b"s3cr3t-token-Qx9vLmA";
        let mut forms = Vec::new();
        for_each_form(value, &mut |form, bytes| {
            if form == Form::Base64 {
                forms.push(bytes);
            }
        });
        for prefix in ["", "a", "ab", "abc", "abcd"] {
            let text = STANDARD_NO_PAD.encode([prefix.as_bytes(), value, b"tail"].concat());
            assert!(
                forms
                    .iter()
                    .any(|n| memchr::memmem::find(text.as_bytes(), n).is_some()),
                "prefix {prefix:?}"
            );
        }
    }

    #[test]
    fn tokens_are_random_strings_not_words() {
        let kubeconfig = b"users:\n- name: admin\n  user:\n    token: eyJhbGciOiJSUzI1NiIsImtpZCI6IjRr\n    server: https://kubernetes.default.svc\n";
        let found: Vec<_> = tokens(kubeconfig).collect();
        assert_eq!(found, vec![&b"eyJhbGciOiJSUzI1NiIsImtpZCI6IjRr"[..]]);
    }

    #[test]
    fn a_pem_body_is_joined_across_lines() {
        let pem = b"-----BEGIN PRIVATE KEY-----\nQUJD\nREVG\n-----END PRIVATE KEY-----\n";
        assert_eq!(&pem_body(pem).unwrap()[..], b"QUJDREVG");
        assert_eq!(&url_encode(b"a b/c")[..], b"a%20b%2Fc");
    }
}
