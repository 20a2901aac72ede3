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
    /// Nodes to create.
    pub to_create: Vec<NodeSpec>,
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

/// Split the desired specs into (existing, to create) and report surplus, matching by name.
pub fn diff(desired: Vec<NodeSpec>, found: Vec<Node>) -> (Vec<Node>, Vec<NodeSpec>, Vec<Node>) {
    let mut existing = Vec::new();
    let mut to_create = Vec::new();
    let mut remaining = found;
    for spec in desired {
        match remaining.iter().position(|n| n.name == spec.name) {
            Some(i) => existing.push(remaining.swap_remove(i)),
            None => to_create.push(spec),
        }
    }
    remaining.sort_by(|a, b| a.name.cmp(&b.name));
    (existing, to_create, remaining)
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
    fn desired_minus_found() {
        let (existing, create, surplus) = diff(
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
