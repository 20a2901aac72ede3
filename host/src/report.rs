//! Text and JSON renderings of plans, nodes and plugins for the CLI.

use crate::run::{NodeOutcome, Plan};
use crate::runtime::Plugin;
use crate::runtime::bindings::Node;
use serde_json::{Value, json};
use std::fmt::Write;

/// Text from a plugin, made safe for a terminal: control characters (newlines, escapes) would
/// let a plugin forge lines of a table or of the destroy confirmation.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// One node as JSON.
pub fn node_json(pool: &str, provider: &str, n: &Node) -> Value {
    json!({
        "name": n.name,
        "pool": pool,
        "provider": provider,
        "provider_id": n.provider_id,
        "status": n.status,
        "public_ipv4": n.public_ipv4,
        "private_ipv4": n.private_ipv4,
    })
}

/// A table of nodes: (pool, provider, node).
pub fn nodes_table<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str, &'a Node)>) -> String {
    let mut rows: Vec<[String; 6]> = rows
        .into_iter()
        .map(|(pool, provider, n)| {
            [
                clean(&n.name),
                pool.to_string(),
                provider.to_string(),
                clean(&n.provider_id),
                clean(&n.status),
                n.public_ipv4.as_deref().map_or_else(|| "-".into(), clean),
            ]
        })
        .collect();
    rows.sort();
    table(
        &["NAME", "POOL", "PROVIDER", "ID", "STATUS", "PUBLIC IPV4"],
        &rows,
    )
}

/// The phases of a run and how long each took.
pub fn phases_table(timeline: &crate::run::Timeline) -> String {
    let mut rows: Vec<[String; 4]> = timeline
        .phases()
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                if p.ok { "ok" } else { "failed" }.into(),
                format!("+{:.1}s", p.started.as_secs_f64()),
                format!("{:.1}s", p.took.as_secs_f64()),
            ]
        })
        .collect();
    rows.push([
        "total".into(),
        String::new(),
        String::new(),
        format!("{:.1}s", timeline.total().as_secs_f64()),
    ]);
    table(&["PHASE", "RESULT", "STARTED", "TOOK"], &rows)
}

/// The phases as JSON.
pub fn phases_json(timeline: &crate::run::Timeline) -> Value {
    json!({
        "phases": timeline.phases().iter().map(|p| json!({
            "name": p.name,
            "ok": p.ok,
            "started_s": p.started.as_secs_f64(),
            "duration_s": p.took.as_secs_f64(),
        })).collect::<Vec<_>>(),
        "total_s": timeline.total().as_secs_f64(),
    })
}

/// What each layer did, in the order they finished: the timing table.
pub fn layers_table(outcomes: &[crate::run::LayerOutcome]) -> String {
    let rows: Vec<[String; 5]> = outcomes
        .iter()
        .map(|o| {
            [
                o.name.clone(),
                match &o.result {
                    Ok(()) => "ok".into(),
                    Err(why) => clean(why),
                },
                o.attempts.to_string(),
                o.started
                    .map_or_else(|| "-".into(), |s| format!("+{:.1}s", s.as_secs_f64())),
                format!("{:.1}s", o.duration.as_secs_f64()),
            ]
        })
        .collect();
    table(&["LAYER", "RESULT", "ATTEMPTS", "STARTED", "TOOK"], &rows)
}

/// The layers as JSON.
pub fn layers_json(outcomes: &[crate::run::LayerOutcome]) -> Value {
    json!({"layers": outcomes.iter().map(|o| json!({
        "name": o.name,
        "ok": o.result.is_ok(),
        "error": o.result.as_ref().err().map(|e| clean(e)),
        "attempts": o.attempts,
        "started_s": o.started.map(|s| s.as_secs_f64()),
        "duration_s": o.duration.as_secs_f64(),
        "log": o.log.display().to_string(),
    })).collect::<Vec<_>>()})
}

/// The plan in words.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    for p in &plan.pools {
        let _ = writeln!(
            out,
            "pool {} ({}): {} existing, {} to create{}{}",
            p.pool,
            p.provider,
            p.existing.len(),
            p.to_create.len().saturating_sub(p.unfinished.len()),
            if p.unfinished.is_empty() {
                String::new()
            } else {
                format!(", {} to finish", p.unfinished.len())
            },
            if p.surplus.is_empty() {
                String::new()
            } else {
                format!(", {} surplus (left alone; use destroy)", p.surplus.len())
            }
        );
        for spec in &p.to_create {
            match p.unfinished.iter().find(|n| n.name == spec.name) {
                Some(n) => {
                    let _ = writeln!(
                        out,
                        "  ~ {} is {} (left by an earlier run?): create finishes it",
                        spec.name,
                        clean(&n.status)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "  + {} ({} {}, {})",
                        spec.name, spec.size, spec.image, spec.role
                    );
                }
            }
        }
        if !p.to_create.is_empty() && !p.extensions.is_empty() {
            let _ = writeln!(
                out,
                "    machine config through: {} (what they add, such as an auth key, is made at apply time and never shown)",
                p.extensions.join(" → ")
            );
        }
        for n in &p.surplus {
            let _ = writeln!(
                out,
                "  ? {} ({}) is not wanted by cluster.toml",
                clean(&n.name),
                clean(&n.provider_id)
            );
        }
    }
    if plan.is_empty() {
        out.push_str("Nothing to create: every node exists.\n");
    } else {
        let finish: usize = plan.pools.iter().map(|p| p.unfinished.len()).sum();
        if finish == 0 {
            let _ = writeln!(out, "{} node(s) to create.", plan.creates());
        } else {
            let _ = writeln!(
                out,
                "{} node(s) to create, {finish} to finish.",
                plan.creates().saturating_sub(finish)
            );
        }
    }
    out
}

/// The plan as JSON.
pub fn plan_json(plan: &Plan) -> Value {
    json!({
        "pools": plan.pools.iter().map(|p| json!({
            "pool": p.pool,
            "provider": p.provider,
            "existing": p.existing.iter().map(|n| node_json(&p.pool, &p.provider, n)).collect::<Vec<_>>(),
            "to_create": p.to_create.iter().map(|s| json!({"name": s.name, "size": s.size, "image": s.image, "role": s.role})).collect::<Vec<_>>(),
            "unfinished": p.unfinished.iter().map(|n| node_json(&p.pool, &p.provider, n)).collect::<Vec<_>>(),
            "extensions": p.extensions,
            "surplus": p.surplus.iter().map(|n| node_json(&p.pool, &p.provider, n)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "creates": plan.creates(),
    })
}

/// Failures among outcomes, as lines.
pub fn failures(outcomes: &[NodeOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| {
            o.result
                .as_ref()
                .err()
                .map(|e| clean(&format!("{}: {e}", o.name)))
        })
        .collect()
}

/// What `plugin inspect` shows.
pub fn plugin_json(plugin: &Plugin, size: u64) -> Value {
    let info = plugin.info();
    json!({
        "name": info.name,
        "version": info.version,
        "contract": info.contract,
        "hosts": info.hosts,
        "secrets": info.secrets,
        "sha256": plugin.id().sha256,
        "size_bytes": size,
        "path": plugin.id().path,
        "imports": plugin.imports(),
        "exports": ["describe", "validate", "list", "create", "delete"],
    })
}

/// `plugin inspect` as text.
pub fn plugin_text(plugin: &Plugin, size: u64) -> String {
    let info = plugin.info();
    let none = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "name:      {}", info.name);
    let _ = writeln!(out, "version:   {}", info.version);
    let _ = writeln!(out, "contract:  tazlab:bootstrap@{}", info.contract);
    let _ = writeln!(out, "sha256:    {}", plugin.id().sha256);
    let _ = writeln!(out, "size:      {size} bytes");
    let _ = writeln!(out, "hosts:     {}", none(&info.hosts));
    let _ = writeln!(out, "secrets:   {}", none(&info.secrets));
    let exports = match plugin.world() {
        crate::runtime::World::Provider => "describe, validate, list, create, delete",
        crate::runtime::World::MachineConfigExtension => "describe, validate, extend",
    };
    let _ = writeln!(out, "world:     {} ({exports})", plugin.world());
    let _ = writeln!(out, "imports:");
    for i in plugin.imports() {
        let _ = writeln!(out, "  {i}");
    }
    out
}

fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(header.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}
