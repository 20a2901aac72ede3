//! Host-side bindings generated from `wit/` (world `provider`).

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
