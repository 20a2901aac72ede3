//! Which plugins this host can talk to: the contract package and version they import.

use std::fmt;

/// The WIT package of the contract.
pub const CONTRACT_PACKAGE: &str = "tazlab:bootstrap";

/// The contract version this host implements (wit/worlds.wit).
pub const CONTRACT_VERSION: ContractVersion = ContractVersion {
    major: 0,
    minor: 3,
    patch: 0,
};

/// A semver version of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContractVersion {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl ContractVersion {
    /// Parse `x.y.z` (pre-release and build suffixes are refused).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
        let v = Self {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next()??,
        };
        parts.next().is_none().then_some(v)
    }

    /// Whether a plugin built against `self` runs on a host implementing `host`: same major
    /// (same minor while major is 0, as semver treats 0.x), and nothing newer than the host.
    pub fn runs_on(self, host: ContractVersion) -> bool {
        let same_line = if host.major == 0 {
            self.major == 0 && self.minor == host.minor
        } else {
            self.major == host.major
        };
        same_line && self <= host
    }
}

/// A problem with what a component imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportProblem {
    /// Built against an incompatible contract version.
    Version(String),
    /// Imports something that is neither WASI nor the contract.
    Foreign(String),
}

/// Check a component's import names (e.g. `tazlab:bootstrap/http@0.3.0`).
pub fn check_imports<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), ImportProblem> {
    for name in names {
        if let Some(rest) = name
            .strip_prefix(CONTRACT_PACKAGE)
            .and_then(|r| r.strip_prefix('/'))
        {
            let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
            match ContractVersion::parse(version) {
                Some(v) if v.runs_on(CONTRACT_VERSION) => {}
                _ => return Err(ImportProblem::Version(version.to_string())),
            }
        } else if !name.starts_with("wasi:") {
            return Err(ImportProblem::Foreign(name.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_compatibility() {
        let host = ContractVersion::parse("0.1.3").unwrap();
        for (plugin, ok) in [
            ("0.1.0", true),
            ("0.1.3", true),
            ("0.1.4", false),
            ("0.2.0", false),
            ("1.0.0", false),
            ("9.0.0", false),
        ] {
            assert_eq!(
                ContractVersion::parse(plugin).unwrap().runs_on(host),
                ok,
                "{plugin}"
            );
        }
        let host1 = ContractVersion::parse("1.4.0").unwrap();
        assert!(ContractVersion::parse("1.2.7").unwrap().runs_on(host1));
        assert!(!ContractVersion::parse("2.0.0").unwrap().runs_on(host1));
        assert!(ContractVersion::parse("1.0").is_none());
        assert!(ContractVersion::parse("1.0.0-rc1").is_none());
    }

    #[test]
    fn import_checks() {
        assert!(check_imports(["wasi:cli/stdout@0.2.6", "tazlab:bootstrap/http@0.3.0"]).is_ok());
        assert_eq!(
            check_imports(["tazlab:bootstrap/http@9.0.0"]),
            Err(ImportProblem::Version("9.0.0".into()))
        );
        assert_eq!(
            check_imports(["tazlab:evil/teleport@0.1.0"]),
            Err(ImportProblem::Foreign("tazlab:evil/teleport@0.1.0".into()))
        );
    }
}
