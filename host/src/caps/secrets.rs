//! The `secrets` capability: names always, values only where `reveal` was granted, and the
//! secrets a plugin made itself and kept.

use super::CallState;
use crate::runtime::bindings::tazlab::bootstrap::{secrets as wit, types::Error};
use crate::secrets::SecretValue;

impl wit::Host for CallState {
    fn keep(&mut self, name: String, value: String) -> Result<(), Error> {
        let value = SecretValue::new(value);
        // A value overlapping an operator secret would let redaction of one cut into the other.
        let overlaps = self.caps.secrets.names().any(|n| {
            self.caps.secrets.get(n).is_some_and(|s| {
                s.expose().contains(value.expose()) || value.expose().contains(s.expose())
            })
        });
        if overlaps {
            return Err(Error::Denied(
                "the value overlaps one of the operator's secrets; it cannot be kept".into(),
            ));
        }
        self.caps
            .kept
            .keep(&self.caps.plugin, &name, value)
            .map_err(|e| Error::Denied(e.to_string()))?;
        self.log(
            super::LogLevel::Debug,
            &format!("the plugin kept secret `{name}` for this run"),
        );
        Ok(())
    }

    fn granted(&mut self) -> Vec<String> {
        self.caps.http.policy().effective_secrets()
    }

    fn reveal(&mut self, name: String) -> Result<String, Error> {
        if let Some(kept) = self.caps.kept.get(&self.caps.plugin, &name) {
            return Ok(kept.expose().to_string());
        }
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
