//! `[[layers]]`: what runs after the platform (networking, gitops, storage, ...), as a DAG.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// One layer: a command run once the layers it depends on have succeeded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerConfig {
    /// Name (a-z, 0-9, `-`), used in logs, the timing table and `depends_on`.
    pub name: String,
    /// The program and its arguments (no shell unless the program is one).
    pub run: Vec<String>,
    /// Layers that must succeed first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Seconds before the command is stopped (1 to 86400; default 1800).
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
    /// Further attempts after a failure (0 to 10; default 0).
    #[serde(default)]
    pub retries: u32,
    /// Working directory, relative to cluster.toml (default: cluster.toml's directory).
    pub dir: Option<PathBuf>,
    /// The command's environment: variable name → name of a secret in `[secrets]`. Nothing
    /// else is inherited but `PATH` (and `TAZHOST_LAYER`, the layer's name).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

fn default_timeout() -> u64 {
    1800
}

/// Check the layers: names, commands, limits, secrets, and that `depends_on` forms a DAG.
pub fn check_layers(
    layers: &[LayerConfig],
    secrets: &BTreeSet<&str>,
    is_valid_name: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let mut names = BTreeSet::new();
    for layer in layers {
        let at = format!("layer `{}`", layer.name);
        if !is_valid_name(&layer.name) {
            return Err(format!(
                "{at}: a name is 1-40 characters of a-z, 0-9 and `-`, not starting or ending with `-`"
            ));
        }
        if !names.insert(layer.name.as_str()) {
            return Err(format!("{at} is defined twice"));
        }
        if layer.run.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(format!("{at}: `run` needs a program"));
        }
        if !(1..=86_400).contains(&layer.timeout_s) {
            return Err(format!("{at}: timeout_s must be 1 to 86400"));
        }
        if layer.retries > 10 {
            return Err(format!("{at}: retries must be 0 to 10"));
        }
        for (var, secret) in &layer.env {
            let var_ok = var
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                && var
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !var_ok || var == "PATH" || var == "TAZHOST_LAYER" {
                return Err(format!(
                    "{at}: env `{var}` is not an environment variable name of A-Z, 0-9 and `_` (PATH and TAZHOST_LAYER are set by tazhost)"
                ));
            }
            if !secrets.contains(secret.as_str()) {
                return Err(format!(
                    "{at}: env `{var}` names secret `{secret}`, which is not in [secrets]"
                ));
            }
        }
    }
    for layer in layers {
        for dep in &layer.depends_on {
            if !names.contains(dep.as_str()) {
                return Err(format!(
                    "layer `{}` depends on `{dep}`, which is not a layer",
                    layer.name
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(layers) {
        return Err(format!(
            "layers depend on each other in a cycle: {}",
            cycle.join(" → ")
        ));
    }
    Ok(())
}

/// A dependency cycle, as the names along it with the first repeated at the end.
fn find_cycle(layers: &[LayerConfig]) -> Option<Vec<String>> {
    let deps: BTreeMap<&str, &[String]> = layers
        .iter()
        .map(|l| (l.name.as_str(), l.depends_on.as_slice()))
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        deps: &BTreeMap<&'a str, &'a [String]>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(name) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = path.iter().position(|n| *n == name).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(name.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(name, Mark::Visiting);
        path.push(name);
        for dep in deps.get(name).copied().unwrap_or_default() {
            if let Some(cycle) = visit(dep.as_str(), deps, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(name, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for layer in layers {
        let mut path = Vec::new();
        if let Some(cycle) = visit(&layer.name, &deps, &mut marks, &mut path) {
            return Some(cycle);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(name: &str, deps: &[&str]) -> LayerConfig {
        LayerConfig {
            name: name.into(),
            run: vec!["true".into()],
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            timeout_s: 60,
            retries: 0,
            dir: None,
            env: BTreeMap::new(),
        }
    }

    fn check(layers: &[LayerConfig]) -> Result<(), String> {
        check_layers(
            layers,
            &["github-token"].into(),
            crate::config::is_valid_name,
        )
    }

    #[test]
    fn a_dag_passes_and_a_cycle_is_shown() {
        let ok = [
            layer("platform-ready", &[]),
            layer("networking", &["platform-ready"]),
            layer("gitops", &["platform-ready"]),
            layer("storage", &["networking", "gitops"]),
        ];
        assert_eq!(check(&ok), Ok(()));
        let cyclic = [
            layer("a", &["c"]),
            layer("b", &["a"]),
            layer("c", &["b"]),
            layer("d", &[]),
        ];
        let err = check(&cyclic).unwrap_err();
        assert!(err.contains("a → c → b → a"), "{err}");
        let own = check(&[layer("self", &["self"])]).unwrap_err();
        assert!(own.contains("self → self"), "{own}");
    }

    #[test]
    fn bad_layers_are_named() {
        assert!(
            check(&[layer("a", &["nope"])])
                .unwrap_err()
                .contains("`nope`, which is not a layer")
        );
        assert!(
            check(&[layer("a", &[]), layer("a", &[])])
                .unwrap_err()
                .contains("twice")
        );
        let mut empty = layer("a", &[]);
        empty.run.clear();
        assert!(check(&[empty]).unwrap_err().contains("needs a program"));
        let mut env = layer("a", &[]);
        env.env.insert("GITHUB_TOKEN".into(), "missing".into());
        assert!(
            check(&[env])
                .unwrap_err()
                .contains("`missing`, which is not in [secrets]")
        );
        let mut path = layer("a", &[]);
        path.env.insert("PATH".into(), "github-token".into());
        assert!(check(&[path]).unwrap_err().contains("set by tazhost"));
        let mut slow = layer("a", &[]);
        slow.timeout_s = 0;
        assert!(check(&[slow]).unwrap_err().contains("timeout_s"));
    }
}
