//! `s3://bucket/key` locations.

use std::fmt;

/// A bucket and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Object key (no leading `/`).
    pub key: String,
}

/// Not an `s3://bucket/key` location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an S3 location; expected s3://bucket/key")]
pub struct LocationError(String);

impl S3Location {
    /// Whether text looks like an S3 location at all.
    pub fn is_s3(text: &str) -> bool {
        text.starts_with("s3://")
    }

    /// Parse `s3://bucket/key`.
    pub fn parse(text: &str) -> Result<Self, LocationError> {
        let err = || LocationError(text.to_string());
        let rest = text.strip_prefix("s3://").ok_or_else(err)?;
        let (bucket, key) = rest.split_once('/').ok_or_else(err)?;
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok || key.is_empty() || key.len() > 1024 {
            return Err(err());
        }
        Ok(Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// A sibling object: same bucket, the key's last segment replaced by `name`.
    pub fn sibling(&self, name: &str) -> Self {
        let key = match self.key.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{name}"),
            None => name.to_string(),
        };
        Self {
            bucket: self.bucket.clone(),
            key,
        }
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let loc = S3Location::parse("s3://tazlab-backup/tazpod/vault/vault.tar.aes").unwrap();
        assert_eq!(loc.bucket, "tazlab-backup");
        assert_eq!(loc.key, "tazpod/vault/vault.tar.aes");
        assert_eq!(
            loc.to_string(),
            "s3://tazlab-backup/tazpod/vault/vault.tar.aes"
        );
        assert_eq!(loc.sibling("x.snap").key, "tazpod/vault/x.snap");
        for bad in [
            "s3://b/key",
            "s3://Bucket/key",
            "s3://bucket/",
            "s3://bucket",
            "http://b/k",
            "bucket/key",
        ] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }
}
