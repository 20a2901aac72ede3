//! Building the plugins (for wasm32-wasip2) once per process, for the tests and the benchmarks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// The Python with the official SDKs of tests/sdk/requirements.txt: `$TAZHOST_PYTHON`, else the
/// workspace's `.venv` that scripts/test creates.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TAZHOST_PYTHON") {
        return p.into();
    }
    let venv = workspace().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the SDKs: run scripts/test (it creates .venv with tests/sdk/requirements.txt) or set TAZHOST_PYTHON"
    );
    venv
}

/// Paths of the plugins built for the tests.
pub struct Plugins {
    pub hetzner: PathBuf,
    pub oci: PathBuf,
    pub proxmox: PathBuf,
    pub tailscale: PathBuf,
    pub misbehave: PathBuf,
    pub foreign_import: PathBuf,
    pub wrong_major: PathBuf,
}

/// Build every plugin for wasm32-wasip2 once per test process (a nested cargo with its own
/// target dir, so it never waits on the lock of the build that runs these tests).
pub fn plugins() -> &'static Plugins {
    static PLUGINS: OnceLock<Plugins> = OnceLock::new();
    PLUGINS.get_or_init(|| {
        let root = workspace();
        let target_dir = root.join("target/wasm-plugins");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--quiet", "--target", "wasm32-wasip2", "--profile", "plugin"])
            .args(["-p", "hetzner", "-p", "oci", "-p", "proxmox", "-p", "tailscale"])
            .args(["-p", "hostile-misbehave"])
            .args(["-p", "hostile-foreign-import", "-p", "hostile-wrong-major"])
            .arg("--target-dir")
            .arg(&target_dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("CARGO_MAKEFLAGS")
            .status()
            .expect("running cargo to build the plugins");
        assert!(
            status.success(),
            "building the plugins failed; is the wasm32-wasip2 target installed? (`rustup target add wasm32-wasip2`, which scripts/test does)"
        );
        let out = target_dir.join("wasm32-wasip2/plugin");
        Plugins {
            hetzner: out.join("hetzner.wasm"),
            oci: out.join("oci.wasm"),
            proxmox: out.join("proxmox.wasm"),
            tailscale: out.join("tailscale.wasm"),
            misbehave: out.join("hostile_misbehave.wasm"),
            foreign_import: out.join("hostile_foreign_import.wasm"),
            wrong_major: out.join("hostile_wrong_major.wasm"),
        }
    })
}
