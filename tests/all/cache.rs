//! The component cache: compile once, load after; never trust a file it did not write.

use crate::support::*;
use tazhost::caps::LogSink;
use tazhost::config::Limits;
use tazhost::runtime::{CacheOutcome, ComponentCache, Runtime};

fn cwasm_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect()
}

async fn load(dir: &std::path::Path) -> CacheOutcome {
    let runtime = Runtime::new(ComponentCache::at(dir)).unwrap();
    runtime
        .load(
            &plugins().hetzner,
            None,
            &Limits::default(),
            LogSink::Tracing,
        )
        .await
        .expect("hetzner loads")
        .cache_outcome()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_is_compiled_once_then_loaded_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("components");
    assert_eq!(load(&cache).await, CacheOutcome::Compiled);
    assert_eq!(load(&cache).await, CacheOutcome::Hit);
    let files = cwasm_files(&cache);
    assert_eq!(files.len(), 1);
    let sha = sha256_hex(&std::fs::read(&plugins().hetzner).unwrap());
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&sha),
        "{name} keyed by the plugin's sha256"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_artifact_is_recompiled_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("components");
    load(&cache).await;
    let file = &cwasm_files(&cache)[0];
    let mut bytes = std::fs::read(file).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 0x40;
    std::fs::write(file, &bytes).unwrap();
    assert_eq!(load(&cache).await, CacheOutcome::Compiled);
    assert_eq!(load(&cache).await, CacheOutcome::Hit);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_artifact_writable_by_others_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("components");
    load(&cache).await;
    let file = &cwasm_files(&cache)[0];
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(load(&cache).await, CacheOutcome::Compiled);
    let mode = std::fs::metadata(file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "replaced by a private file");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
