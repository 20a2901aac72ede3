//! A fake of the Hetzner Cloud API (`https://api.hetzner.cloud/v1`), in memory.
//!
//! Endpoints: `GET/POST /v1/servers`, `GET/DELETE /v1/servers/{id}`,
//! `GET /v1/servers/{id}/actions`, `GET /v1/servers/{id}/actions/{action_id}`,
//! `GET /v1/servers/actions`, `GET /v1/servers/actions/{id}`, `GET /v1/actions`,
//! `GET /v1/actions/{id}`.
//! Objects, errors, label selectors, pagination and rate limiting follow the Hetzner Cloud
//! API reference; see the modules for the details and for what is left out.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use fakecloud::hetzner::{FakeHetzner, Options};
//! let fake = FakeHetzner::start("127.0.0.1:0".parse().unwrap(), "secret", Options::default()).await?;
//! let endpoint = format!("{}/v1", fake.base_url()); // what an SDK calls its API endpoint
//! // ... drive the code under test against `endpoint` ...
//! assert!(fake.servers().is_empty());
//! fake.stop().await;
//! # Ok(()) }
//! ```

mod catalog;
mod errors;
mod handlers;
mod labels;
mod model;
mod state;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use model::ServerRecord;

use state::Shared;

/// How the fake behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How long every action (create, start, delete) runs before it succeeds; its
    /// `progress` grows over that time. A new server is `initializing` until then.
    /// Default: 1 s.
    pub action_duration: Duration,
    /// Requests per hour, refilled gradually (Hetzner's default: 3600, i.e. one request
    /// back per second). Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and
    /// `RateLimit-Reset`; once none are left the answer is 429 `rate_limit_exceeded`.
    /// `None`: no limit and no `RateLimit-*` headers.
    pub rate_limit: Option<u32>,
    /// The next this-many `POST /v1/servers` answer 503 `unavailable` (to test retries).
    pub fail_next_creates: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            action_duration: Duration::from_secs(1),
            rate_limit: Some(3600),
            fail_next_creates: 0,
        }
    }
}

/// Starts fakes of the Hetzner Cloud API.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeHetzner;

impl FakeHetzner {
    /// Binds `addr` (port 0 picks a free port) and serves the fake on the current tokio
    /// runtime until [`Running::stop`] is called or the [`Running`] is dropped. Requests
    /// must carry `Authorization: Bearer <token>`.
    pub async fn start(
        addr: SocketAddr,
        token: impl Into<String>,
        options: Options,
    ) -> std::io::Result<Running> {
        let shared = Arc::new(Shared::new(token.into(), &options));
        let app = handlers::router(shared.clone());
        let server = crate::serve::Server::start(addr, app, "hetzner").await?;
        Ok(Running { server, shared })
    }
}

/// A running fake. Dropping it stops the server (the task is aborted).
pub struct Running {
    server: crate::serve::Server,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.server.addr())
            .finish()
    }
}

impl Running {
    /// `http://127.0.0.1:PORT`, without the `/v1` suffix.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The servers that exist now (deleted ones are gone), ordered by id.
    pub fn servers(&self) -> Vec<ServerRecord> {
        self.shared.servers()
    }

    /// Requests received so far, whatever their answer (401 and 429 included).
    pub fn request_count(&self) -> u64 {
        self.shared.request_count()
    }

    /// Makes the next `n` `POST /v1/servers` answer 503 (replaces any count left).
    pub fn set_fail_next_creates(&self, n: u32) {
        self.shared.lock().fail_next_creates = n;
    }

    /// Stops accepting connections, lets in-flight requests finish (for at most 2 s),
    /// then ends the server task.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}
