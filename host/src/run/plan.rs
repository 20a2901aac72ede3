//! What should exist versus what does.

use crate::runtime::bindings::{Node, NodeSpec};

/// The plan for one pool.
#[derive(Debug, Clone)]
pub struct PoolPlan {
    /// Pool name.
    pub pool: String,
    /// Provider key.
    pub provider: String,
    /// Nodes of this pool that exist already and are wanted.
    pub existing: Vec<Node>,
    /// Nodes to create, including the specs of the `unfinished` ones (the plugin's `create`
    /// adopts a node of the same name and finishes it).
    pub to_create: Vec<NodeSpec>,
    /// Nodes that exist but are not `running` yet (left half-made by an earlier run).
    pub unfinished: Vec<Node>,
    /// Extensions each new node's machine config passes through, in order.
    pub extensions: Vec<String>,
    /// Nodes with this pool's labels that are not wanted (count lowered). Reported, never
    /// deleted by `apply`: shrinking is an explicit `destroy` decision.
    pub surplus: Vec<Node>,
}

/// The plan for the whole cluster.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// One entry per pool, in cluster.toml order.
    pub pools: Vec<PoolPlan>,
}

impl Plan {
    /// Number of nodes to create.
    pub fn creates(&self) -> usize {
        self.pools.iter().map(|p| p.to_create.len()).sum()
    }

    /// Whether nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.creates() == 0
    }
}

/// The name of node `index` (1-based) of a pool.
pub fn node_name(cluster: &str, pool: &str, index: u32) -> String {
    format!("{cluster}-{pool}-{index}")
}

/// Desired specs against the nodes found, matched by name.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// Wanted, found and `running`.
    pub existing: Vec<Node>,
    /// Wanted and missing or unfinished: `create` is called for each.
    pub to_create: Vec<NodeSpec>,
    /// Wanted and found, but not `running` (their specs are in `to_create`).
    pub unfinished: Vec<Node>,
    /// Found but not wanted.
    pub surplus: Vec<Node>,
}

/// Whether a node's status says it is finished. The contract's rule: `running`, in any case.
pub fn is_finished(node: &Node) -> bool {
    node.status.eq_ignore_ascii_case("running")
}

/// Split the desired specs into existing, to create (missing or unfinished) and surplus.
pub fn diff(desired: Vec<NodeSpec>, found: Vec<Node>) -> Diff {
    let mut d = Diff::default();
    let mut remaining = found;
    for spec in desired {
        match remaining.iter().position(|n| n.name == spec.name) {
            Some(i) => {
                let node = remaining.swap_remove(i);
                if is_finished(&node) {
                    d.existing.push(node);
                } else {
                    d.unfinished.push(node);
                    d.to_create.push(spec);
                }
            }
            None => d.to_create.push(spec),
        }
    }
    remaining.sort_by(|a, b| a.name.cmp(&b.name));
    d.surplus = remaining;
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> NodeSpec {
        NodeSpec {
            name: name.into(),
            role: "worker".into(),
            size: "cx22".into(),
            image: "talos".into(),
            labels: vec![],
        }
    }

    fn node(name: &str) -> Node {
        Node {
            name: name.into(),
            provider_id: format!("id-{name}"),
            public_ipv4: None,
            private_ipv4: None,
            status: "running".into(),
            labels: vec![],
        }
    }

    #[test]
    fn a_node_that_is_not_running_is_created_again_so_its_plugin_finishes_it() {
        let mut half = node("c-w-1");
        half.status = "PROVISIONING".into();
        let mut up = node("c-w-2");
        up.status = "RUNNING".into();
        let d = diff(vec![spec("c-w-1"), spec("c-w-2")], vec![half, up]);
        assert_eq!(
            d.existing.iter().map(|n| &n.name).collect::<Vec<_>>(),
            ["c-w-2"]
        );
        assert_eq!(
            d.to_create.iter().map(|s| &s.name).collect::<Vec<_>>(),
            ["c-w-1"]
        );
        assert_eq!(
            d.unfinished.iter().map(|n| &n.name).collect::<Vec<_>>(),
            ["c-w-1"]
        );
        assert!(d.surplus.is_empty());
    }

    #[test]
    fn desired_minus_found() {
        let Diff {
            existing,
            to_create: create,
            surplus,
            ..
        } = diff(
            vec![spec("c-w-1"), spec("c-w-2"), spec("c-w-3")],
            vec![node("c-w-2"), node("c-w-9")],
        );
        assert_eq!(
            existing.iter().map(|n| &n.name).collect::<Vec<_>>(),
            ["c-w-2"]
        );
        assert_eq!(
            create.iter().map(|s| &s.name).collect::<Vec<_>>(),
            ["c-w-1", "c-w-3"]
        );
        assert_eq!(
            surplus.iter().map(|n| &n.name).collect::<Vec<_>>(),
            ["c-w-9"]
        );
    }
}
