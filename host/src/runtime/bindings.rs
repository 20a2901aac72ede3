//! Host-side bindings generated from `wit/`: the `provider` world, and the
//! `machine-config-extension` world sharing its imported interfaces (so one linker and one set
//! of capability implementations serve both).

wasmtime::component::bindgen!({
    world: "provider",
    path: "../wit",
    imports: {
        "tazlab:bootstrap/http.send": async,
        "tazlab:bootstrap/time.sleep": async,
    },
    exports: { default: async },
});

pub use tazlab::bootstrap::types::Error as WitError;

/// The `machine-config-extension` world (e.g. Tailscale auth keys).
pub mod extension {
    wasmtime::component::bindgen!({
        world: "machine-config-extension",
        path: "../wit",
        with: {
            "tazlab:bootstrap/types": super::tazlab::bootstrap::types,
            "tazlab:bootstrap/http": super::tazlab::bootstrap::http,
            "tazlab:bootstrap/secrets": super::tazlab::bootstrap::secrets,
            "tazlab:bootstrap/crypto": super::tazlab::bootstrap::crypto,
            "tazlab:bootstrap/log": super::tazlab::bootstrap::log,
            "tazlab:bootstrap/time": super::tazlab::bootstrap::time,
        },
        exports: { default: async },
    });
}
