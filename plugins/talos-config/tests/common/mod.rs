//! Shared checks: every result is read back with serde_norway (libyaml lineage, like Talos's
//! go-yaml), a YAML implementation independent of the crate's saphyr-parser.

#![allow(dead_code)]

use serde::Deserialize;
use serde_norway::Value;
use tazhost_talos_config::{documents, extension_environment, set_extension_environment};

/// A realistic control-plane config as `talosctl gen config` writes it (abridged), with the
/// comments it carries, followed by a second document.
pub const CONTROLPLANE: &str = r#"version: v1alpha1 # Indicates the schema used to decode the contents.
debug: false # Enable verbose logging to the console.
persist: true
# Provides machine specific configuration options.
machine:
    type: controlplane # Defines the role of the machine within the cluster.
    token: q4y1ad.8xj2l5mgbj0ozm1u # The `token` is used by a machine to join the PKI of the cluster.
    # The root certificate authority of the PKI.
    ca:
        crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJQekNC
        key: LS0tLS1CRUdJTiBFRDI1NTE5IFBSSVZBVEUgS0VZLS0tLS0K
    certSANs: []
    # Used to provide additional options to the kubelet.
    kubelet:
        image: ghcr.io/siderolabs/kubelet:v1.33.1 # The `image` field is an optional reference to an alternative kubelet image.
        defaultRuntimeSeccompProfileEnabled: true
        disableManifestsDirectory: true
    network: {}
    install:
        disk: /dev/sda # The disk used for installations.
        image: ghcr.io/siderolabs/installer:v1.10.3
        wipe: false
    files:
        - content: |
            [plugins."io.containerd.grpc.v1.cri"]
              enable_unprivileged_ports = true
            ---
            not a document marker: indented inside the block scalar
            ...
          permissions: 0o644
          path: /etc/cri/conf.d/20-customization.part
          op: create
    features:
        rbac: true # Enable role-based access control (RBAC).
        stableHostname: true
        apidCheckExtKeyUsage: true
        diskQuotaSupport: true
        kubePrism:
            enabled: true
            port: 7445
# Provides cluster specific configuration options.
cluster:
    id: 0vKeeAfsLIdE9sJ9ANOOrIUXpZn6AuMu6vLAhiZqCU8= # Globally unique identifier for this cluster (base64 encoded random 32 bytes).
    secret: 5UlBKEVXd8ezuC1OWbo/NS5bu+F7LsdkrTV7Qy0wE/A= # Shared secret of cluster (base64 encoded random 32 bytes).
    # Provides control plane specific configuration options.
    controlPlane:
        endpoint: https://10.5.0.2:6443 # Endpoint is the canonical controlplane endpoint, which can be an IP address or a DNS hostname.
    clusterName: demo # Configures the cluster's name.
    network:
        dnsDomain: cluster.local # The domain used by Kubernetes DNS.
        podSubnets:
            - 10.244.0.0/16
        serviceSubnets:
            - 10.96.0.0/12
    token: ki5uh6.x5e8j6t6b7y6r4a8 # The [bootstrap token](https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/) used to join the cluster.
    allowSchedulingOnControlPlanes: false
---
apiVersion: v1alpha1
kind: HostnameConfig
auto: stable # A method to automatically generate a hostname for the machine.
"#;

/// Every document of `s`, read by libyaml (through serde_norway).
pub fn libyaml_documents(s: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_norway::Deserializer::from_str(s)
        .map(|doc| Value::deserialize(doc).expect("libyaml reads the document"))
        .collect();
    // serde_norway gives one null document for a stream with none (empty, or comments only).
    if docs == [Value::Null] && documents(s).is_ok_and(|d| d.is_empty()) {
        return Vec::new();
    }
    docs
}

/// Whether a document is `extension`'s ExtensionServiceConfig.
pub fn is_target(doc: &Value, extension: &str) -> bool {
    doc.get("kind").and_then(Value::as_str) == Some("ExtensionServiceConfig")
        && doc.get("name").and_then(Value::as_str) == Some(extension)
}

/// A document's environment entries as libyaml reads them (null or absent: none).
pub fn libyaml_environment(doc: &Value) -> Vec<String> {
    match doc.get("environment") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => serde_norway::to_string(other)
                    .expect("scalar")
                    .trim_end()
                    .to_owned(),
            })
            .collect(),
        Some(_) => panic!("environment is not a list"),
    }
}

/// What the environment should be after setting `set` in `old`, computed independently of the
/// crate: entries named like a variable get its new value, missing variables are appended.
pub fn expected_environment(old: &[String], set: &[(&str, &str)]) -> Vec<String> {
    let name = |e: &str| e.split('=').next().unwrap_or("").to_owned();
    let mut out: Vec<String> = old
        .iter()
        .map(|e| match set.iter().find(|(n, _)| *n == name(e)) {
            Some((n, v)) => format!("{n}={v}"),
            None => e.clone(),
        })
        .collect();
    for (n, v) in set {
        if !old.iter().any(|e| name(e) == *n) {
            out.push(format!("{n}={v}"));
        }
    }
    out
}

/// Runs the edit and checks everything that must hold of any successful result:
///
/// * the documents other than the target are byte-identical (by the crate's own split), and
///   when a document is appended the input is a prefix of the output;
/// * libyaml reads the output as the input's documents, the target's `environment` replaced by
///   the expected list (or the new document appended), nothing else changed;
/// * the crate reads the same environment back.
pub fn check(input: &str, extension: &str, set: &[(&str, &str)]) -> String {
    let out = set_extension_environment(input, extension, set).expect("the edit succeeds");

    let before = libyaml_documents(input);
    let after = libyaml_documents(&out);
    let targets: Vec<usize> = (0..before.len())
        .filter(|&i| is_target(&before[i], extension))
        .collect();
    assert!(targets.len() <= 1, "test input has duplicates");

    let docs_in = documents(input).expect("input splits");
    let docs_out = documents(&out).expect("output splits");
    assert_eq!(
        docs_in.len(),
        before.len(),
        "crate and libyaml count documents alike"
    );
    assert_eq!(
        docs_out.len(),
        after.len(),
        "crate and libyaml count documents alike"
    );

    match targets.first() {
        Some(&t) => {
            assert_eq!(after.len(), before.len());
            for i in 0..before.len() {
                if i == t {
                    let mut want = before[i].clone();
                    let env = expected_environment(&libyaml_environment(&before[i]), set);
                    if let Some(map) = want.as_mapping_mut()
                        && (!env.is_empty() || map.contains_key("environment"))
                    {
                        map.insert(
                            Value::from("environment"),
                            Value::Sequence(env.iter().map(|e| Value::from(e.as_str())).collect()),
                        );
                    }
                    if libyaml_environment(&before[i]) == env {
                        // Nothing to change: the config must come back as it was.
                        assert_eq!(out, input);
                    } else {
                        assert_eq!(after[i], want, "target document");
                    }
                    assert_eq!(libyaml_environment(&after[i]), env);
                } else {
                    assert_eq!(after[i], before[i], "document {i}");
                    assert_eq!(
                        docs_out[i].text(&out),
                        docs_in[i].text(input),
                        "document {i} byte for byte"
                    );
                }
            }
        }
        None if set.is_empty() => assert_eq!(out, input),
        None => {
            assert!(out.starts_with(input), "input is a prefix of the output");
            assert_eq!(after.len(), before.len() + 1);
            assert_eq!(&after[..before.len()], &before[..]);
            let new = &after[before.len()];
            assert!(is_target(new, extension));
            assert_eq!(
                new.get("apiVersion").and_then(Value::as_str),
                Some("v1alpha1")
            );
            assert_eq!(libyaml_environment(new), expected_environment(&[], set));
            for i in 0..before.len().saturating_sub(1) {
                assert_eq!(docs_out[i].text(&out), docs_in[i].text(input));
            }
        }
    }

    let env = extension_environment(&out, extension)
        .expect("reads back")
        .unwrap_or_default();
    let old = targets
        .first()
        .map(|&t| libyaml_environment(&before[t]))
        .unwrap_or_default();
    assert_eq!(env, expected_environment(&old, set), "crate reads back");
    out
}
