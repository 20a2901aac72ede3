//! The `multipart/form-data` body of `POST /nodes/{node}/storage/{storage}/upload`, read the
//! way `PVE::APIServer::AnyEvent::file_upload_multipart` (libpve-http-server-perl 4.1-6 and
//! later) reads it:
//!
//! - the form fields come **before** the file, and only `content`, `checksum-algorithm` and
//!   `checksum` are read, in that order (each is optional here; the schema then requires
//!   `content`); a field part is `Content-Disposition: form-data; name="NAME"`, its value is
//!   trimmed;
//! - the file part's first header must be
//!   `Content-Disposition: form-data; name="filename"; filename="NAME"`: another field name
//!   is refused ("wrong field name 'X' for file upload, expected 'filename'"), and its
//!   `filename` becomes the `filename` parameter; further headers (`Content-Type`) are
//!   skipped;
//! - the file data runs up to the first closing delimiter `--BOUNDARY--`, so anything sent
//!   after the file part ends up inside the file (PVE behaves the same);
//! - anything else (no file part, a field PVE does not read before the file) makes the
//!   upload fail with 501 "upload failed"; a body that is not `multipart/form-data` with a
//!   boundary is refused with "upload 'Content-Type 'X' not implemented".

use std::collections::BTreeMap;

use super::errors::ApiError;

/// What the form carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UploadForm {
    /// `content`, `checksum-algorithm`, `checksum` and `filename`, as found.
    pub fields: BTreeMap<String, String>,
    pub data: Vec<u8>,
}

/// The form fields PVE picks up before the file part, in the order it looks for them.
const FIELDS: [&str; 3] = ["content", "checksum-algorithm", "checksum"];

pub(crate) fn parse(content_type: Option<&str>, body: &[u8]) -> Result<UploadForm, ApiError> {
    let ct = content_type.unwrap_or_default();
    let boundary = boundary(ct).ok_or_else(|| {
        ApiError::http(501, format!("upload 'Content-Type '{ct}' not implemented"))
    })?;
    let failed = || ApiError::http(501, "upload failed");
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();

    // Phase 0: everything before the first delimiter line is dropped.
    let mut pos = find_delimiter_line(body, delim, 0).ok_or_else(failed)?;
    let mut fields = BTreeMap::new();

    // Phase 1: the fields, each only where PVE looks for it.
    for name in FIELDS {
        let part = after_delimiter_line(body, delim, pos).ok_or_else(failed)?;
        let Some((headers, data_start)) = split_headers(body, part) else {
            break;
        };
        let Some(disposition) = headers
            .iter()
            .find_map(|h| h.strip_prefix("Content-Disposition: "))
        else {
            break;
        };
        let Some((kind, field)) = field_disposition(disposition) else {
            continue;
        };
        if field != name {
            continue;
        }
        if kind != "form-data" {
            return Err(wrong_disposition(kind));
        }
        let next = find_delimiter_line(body, delim, data_start).ok_or_else(failed)?;
        let value = String::from_utf8_lossy(&body[data_start..next])
            .trim()
            .to_string();
        fields.insert(name.to_string(), value);
        pos = next;
    }

    // The file part: its first header line must name it.
    let part = after_delimiter_line(body, delim, pos).ok_or_else(failed)?;
    let line_end = find(body, b"\n", part).ok_or_else(failed)?;
    let line = String::from_utf8_lossy(&body[part..line_end]);
    let line = line.trim_end_matches('\r');
    let (kind, name, filename) = line
        .strip_prefix("Content-Disposition: ")
        .and_then(file_disposition)
        .ok_or_else(failed)?;
    if kind != "form-data" {
        return Err(wrong_disposition(kind));
    }
    if name != "filename" {
        return Err(ApiError::http(
            501,
            format!("wrong field name '{name}' for file upload, expected 'filename'"),
        ));
    }
    fields.insert("filename".to_string(), filename.trim().to_string());
    // Skip any further headers of the part up to the empty line.
    let (_, data_start) = split_headers(body, part).ok_or_else(failed)?;

    // Phase 2: the data, up to the first closing delimiter.
    let mut close = delim.to_vec();
    close.extend_from_slice(b"--");
    let end = find(body, &close, data_start).ok_or_else(failed)?;
    let mut data_end = end;
    if body[data_start..data_end].ends_with(b"\r\n") {
        data_end -= 2;
    } else if body[data_start..data_end].ends_with(b"\n") {
        data_end -= 1;
    }
    Ok(UploadForm {
        fields,
        data: body[data_start..data_end].to_vec(),
    })
}

fn wrong_disposition(kind: &str) -> ApiError {
    ApiError::http(
        501,
        format!("wrong Content-Disposition '{kind}' in multipart, expected 'form-data'"),
    )
}

/// `multipart/form-data; boundary=X` (PVE's `parse_content_type`: parameters separated by
/// `;` or `,`, the boundary taken as it stands).
fn boundary(content_type: &str) -> Option<&str> {
    let mut parts = content_type.split([';', ',']).map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == "boundary" && !v.trim().is_empty()).then(|| v.trim())
    })
}

/// `form-data; name="x"` → `("form-data", "x")`.
fn field_disposition(value: &str) -> Option<(&str, &str)> {
    let (kind, rest) = value.split_once("; name=\"")?;
    let name = rest.strip_suffix('"')?;
    Some((kind, name))
}

/// `form-data; name="x"; filename="y"` → `("form-data", "x", "y")`.
fn file_disposition(value: &str) -> Option<(&str, &str, &str)> {
    let (kind, rest) = value.split_once("; name=\"")?;
    let (name, rest) = rest.split_once("\"; filename=\"")?;
    let filename = rest.strip_suffix('"')?;
    (!filename.is_empty() && !filename.contains('"')).then_some((kind, name, filename))
}

/// Index of the first `--BOUNDARY` at or after `from` that is followed by a line end.
fn find_delimiter_line(body: &[u8], delim: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let i = find(body, delim, at)?;
        let rest = &body[i + delim.len()..];
        if rest.starts_with(b"\r\n") || rest.starts_with(b"\n") {
            return Some(i);
        }
        at = i + 1;
    }
}

/// The index just past the delimiter line starting at `pos`.
fn after_delimiter_line(body: &[u8], delim: &[u8], pos: usize) -> Option<usize> {
    let rest = body.get(pos..)?.strip_prefix(delim)?;
    let nl = if rest.starts_with(b"\r\n") {
        2
    } else if rest.starts_with(b"\n") {
        1
    } else {
        return None;
    };
    Some(pos + delim.len() + nl)
}

/// The header lines of the part starting at `start`, and where its data begins.
fn split_headers(body: &[u8], start: usize) -> Option<(Vec<String>, usize)> {
    let mut headers = Vec::new();
    let mut at = start;
    loop {
        let end = find(body, b"\n", at)?;
        let line = String::from_utf8_lossy(&body[at..end]);
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            return Some((headers, end + 1));
        }
        headers.push(line.to_string());
        at = end + 1;
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (name, filename, data) in parts {
            b.extend_from_slice(b"--XyZ\r\n");
            match filename {
                Some(f) => b.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => b.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            b.extend_from_slice(data);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"--XyZ--\r\n");
        b
    }

    #[test]
    fn reads_fields_then_the_file_as_proxmoxer_sends_them() {
        let body = form(&[
            ("content", None, b"iso"),
            ("checksum-algorithm", None, b"sha256"),
            ("checksum", None, b" abc \n"),
            ("filename", Some("cidata.iso"), b"\r\nISO\x00\xffDATA\r\n"),
        ]);
        let f = parse(Some(CT), &body).unwrap();
        assert_eq!(f.fields["content"], "iso");
        assert_eq!(f.fields["checksum-algorithm"], "sha256");
        assert_eq!(f.fields["checksum"], "abc");
        assert_eq!(f.fields["filename"], "cidata.iso");
        assert_eq!(f.data, b"\r\nISO\x00\xffDATA\r\n");
    }

    #[test]
    fn fields_after_the_file_end_up_in_the_file() {
        let body = form(&[
            ("filename", Some("a.iso"), b"DATA"),
            ("content", None, b"iso"),
        ]);
        let f = parse(Some(CT), &body).unwrap();
        assert!(!f.fields.contains_key("content"));
        assert!(f.data.starts_with(b"DATA\r\n--XyZ\r\n"), "{:?}", f.data);
    }

    #[test]
    fn the_file_part_must_be_called_filename() {
        let body = form(&[("content", None, b"iso"), ("file", Some("a.iso"), b"D")]);
        let e = parse(Some(CT), &body).unwrap_err();
        assert_eq!(e.status.as_u16(), 501);
        assert_eq!(
            e.message,
            "wrong field name 'file' for file upload, expected 'filename'"
        );
    }

    #[test]
    fn unknown_fields_before_the_file_and_missing_files_fail() {
        for body in [
            form(&[("node", None, b"pve"), ("filename", Some("a.iso"), b"D")]),
            form(&[("content", None, b"iso")]),
            b"garbage".to_vec(),
        ] {
            let e = parse(Some(CT), &body).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.message.as_str()),
                (501, "upload failed")
            );
        }
    }

    #[test]
    fn only_multipart_form_data_with_a_boundary_is_accepted() {
        for ct in [
            None,
            Some("application/octet-stream"),
            Some("multipart/form-data"),
        ] {
            let e = parse(ct, b"x").unwrap_err();
            assert_eq!(e.status.as_u16(), 501, "{ct:?}");
            assert!(
                e.message.starts_with("upload 'Content-Type '"),
                "{}",
                e.message
            );
        }
    }
}
