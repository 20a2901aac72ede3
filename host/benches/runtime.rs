//! Runtime benchmarks (`cargo bench -p tazhost --bench runtime`).
//!
//! Goals from the foundation issue: load from cache + instantiate + `describe()` under 1 ms
//! together; one guest → host call under 1 µs.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use tazhost::caps::{LogSink, PluginCaps};
use tazhost::config::Limits;
use tazhost::runtime::{ComponentCache, Runtime};
use wasmtime::component::Component;

#[path = "../../tests/all/support/plugins.rs"]
#[allow(dead_code)]
mod plugins;

/// Guest → host calls per measured `list` call: enough that instantiation is noise.
const HOST_CALLS: u64 = 100_000;

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hetzner = plugins::plugins().hetzner.clone();
    let misbehave = plugins::plugins().misbehave.clone();
    let limits = Limits::default();
    let cache_dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(ComponentCache::at(cache_dir.path())).unwrap();

    let wasm = std::fs::read(&hetzner).unwrap();
    c.bench_function("first compile (hetzner.wasm)", |b| {
        b.iter(|| Component::new(runtime.engine(), &wasm).unwrap())
    });

    // Warm the cache once, then measure what every later `tazhost` run pays per plugin.
    rt.block_on(runtime.load(&hetzner, None, &limits, LogSink::Tracing))
        .unwrap();
    c.bench_function("load from cache + instantiate + describe()", |b| {
        b.iter(|| {
            rt.block_on(runtime.load(&hetzner, None, &limits, LogSink::Tracing))
                .unwrap()
        })
    });

    let plugin = rt
        .block_on(runtime.load(&hetzner, None, &limits, LogSink::Tracing))
        .unwrap();
    let caps = Arc::new(PluginCaps::nothing("hetzner", LogSink::Tracing));
    c.bench_function("instantiate + describe() (fresh store)", |b| {
        b.iter(|| rt.block_on(plugin.describe(caps.clone(), &limits)).unwrap())
    });

    let misbehave = rt
        .block_on(runtime.load(&misbehave, None, &limits, LogSink::Tracing))
        .unwrap();
    let caps = Arc::new(PluginCaps::nothing("misbehave", LogSink::Tracing));
    let config = format!(r#"{{"mode":"host-calls","count":{HOST_CALLS}}}"#);
    let mut group = c.benchmark_group("guest -> host call");
    group.throughput(Throughput::Elements(HOST_CALLS));
    group.sample_size(20);
    group.bench_function("crypto.random-bytes(0)", |b| {
        b.iter(|| {
            rt.block_on(misbehave.list(caps.clone(), &limits, &config, vec![]))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(runtime, benches);
criterion_main!(runtime);
