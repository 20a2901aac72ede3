//! tazhost: rebuild infrastructure from an S3 bucket, a passphrase and WebAssembly plugins.
