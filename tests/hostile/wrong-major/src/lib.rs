//! Test fixture: a provider built against `tazlab:bootstrap@9.0.0`, a major version no host
//! speaks. Its `wit/` is a copy of the repository's `wit/` with only the package version
//! changed (keep it in step when the contract changes). The host must refuse it with a message
//! naming both versions.

#![allow(clippy::too_many_arguments)] // generated export glue

wit_bindgen::generate!({
    world: "provider",
    path: "wit",
});

struct WrongMajor;

impl Guest for WrongMajor {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "wrong-major".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract: "9.0.0".into(),
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

export!(WrongMajor);

#[cfg(test)]
mod tests {
    /// The copy must differ from the real contract only in its version, so that the host refuses
    /// this fixture for that reason and no other.
    #[test]
    fn wit_copy_differs_only_in_version() {
        let pairs = [
            (
                include_str!("../wit/worlds.wit"),
                include_str!("../../../../wit/worlds.wit"),
            ),
            (
                include_str!("../wit/host.wit"),
                include_str!("../../../../wit/host.wit"),
            ),
            (
                include_str!("../wit/types.wit"),
                include_str!("../../../../wit/types.wit"),
            ),
        ];
        for (copy, real) in pairs {
            assert_eq!(
                copy.replace("tazlab:bootstrap@9.0.0", "tazlab:bootstrap@0.3.0"),
                real,
                "tests/hostile/wrong-major/wit is out of step with wit/"
            );
        }
    }
}
