//! Test fixture: a provider that also imports `tazlab:evil/teleport`, which no host provides.
//! The host must refuse to load it (clear error naming the import) and stay up.
//!
//! The contract comes from the repository's own `wit/` (not a copy), so this fixture always
//! matches the current contract except for the one foreign import.

#![allow(clippy::too_many_arguments)] // generated export glue

wit_bindgen::generate!({
    world: "tazlab:evil/hostile-provider",
    path: ["../../../wit", "wit"],
    generate_all,
});

struct ForeignImport;

impl Guest for ForeignImport {
    fn describe() -> PluginInfo {
        // Calling the import keeps it in the component.
        let beamed = tazlab::evil::teleport::beam();
        PluginInfo {
            name: "foreign-import".into(),
            version: format!("{}+{beamed}", env!("CARGO_PKG_VERSION")),
            contract: "0.3.0".into(),
            hosts: Vec::new(),
            secrets: Vec::new(),
        }
    }

    fn validate(_config: String) -> Result<(), Error> {
        Ok(())
    }

    fn list(_config: String, _selector: Vec<(String, String)>) -> Result<Vec<Node>, Error> {
        Ok(Vec::new())
    }

    fn create(_config: String, _spec: NodeSpec, _user_data: String) -> Result<Node, Error> {
        Err(Error::Provider("unsupported".into()))
    }

    fn delete(_config: String, _provider_id: String) -> Result<(), Error> {
        Err(Error::Provider("unsupported".into()))
    }
}

export!(ForeignImport);
