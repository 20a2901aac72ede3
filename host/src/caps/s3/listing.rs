//! Listing and deleting objects under a prefix (snapshot retention).

use super::{S3Error, S3Location, S3Store, classify};

/// An object found by [`S3Store::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

impl S3Store {
    /// Every object whose key starts with `prefix` in `bucket`, in key order.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, S3Error> {
        let at = S3Location {
            bucket: bucket.to_string(),
            key: prefix.to_string(),
        };
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| classify(e, &at))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    out.push(Listed {
                        key: key.to_string(),
                        size: object
                            .size()
                            .and_then(|s| u64::try_from(s).ok())
                            .unwrap_or(0),
                    });
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Copy `from` to `to` (which may be `from` itself), replacing the user metadata with
    /// `metadata`. With `if_match`, only if `from` still has that ETag.
    pub async fn copy_with_metadata(
        &self,
        from: &S3Location,
        to: &S3Location,
        metadata: &[(&str, &str)],
        if_match: Option<&str>,
    ) -> Result<(), S3Error> {
        let source = format!(
            "{}/{}",
            from.bucket,
            url::form_urlencoded::byte_serialize(from.key.as_bytes())
                .collect::<String>()
                .replace("%2F", "/")
        );
        let mut request = self
            .client
            .copy_object()
            .bucket(&to.bucket)
            .key(&to.key)
            .copy_source(source)
            .content_type("application/octet-stream")
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace);
        for (name, value) in metadata {
            request = request.metadata(*name, *value);
        }
        if let Some(etag) = if_match {
            request = request.copy_source_if_match(etag);
        }
        request.send().await.map_err(|e| classify(e, to))?;
        Ok(())
    }

    /// Delete one object (where the bucket is versioned, this adds a delete marker).
    pub async fn delete(&self, location: &S3Location) -> Result<(), S3Error> {
        self.client
            .delete_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .send()
            .await
            .map_err(|e| classify(e, location))?;
        Ok(())
    }
}
