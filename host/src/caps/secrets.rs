//! The `secrets` capability: names always, values only where `reveal` was granted.

use super::CallState;
use crate::runtime::bindings::tazlab::bootstrap::{secrets as wit, types::Error};

impl wit::Host for CallState {
    fn granted(&mut self) -> Vec<String> {
        self.caps.http.policy().effective_secrets()
    }

    fn reveal(&mut self, name: String) -> Result<String, Error> {
        self.caps
            .http
            .policy()
            .check_reveal(&name)
            .map_err(|e| Error::Denied(e.to_string()))?;
        let caps = self.caps.clone();
        let value = caps
            .secrets
            .get(&name)
            .ok_or_else(|| Error::Denied(format!("secret `{name}` has no value in this run")))?;
        self.log(
            super::LogLevel::Debug,
            &format!("secret `{name}` revealed to the plugin (granted)"),
        );
        Ok(value.expose().to_string())
    }
}
