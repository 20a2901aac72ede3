//! The bootstrap's platform phase: providers loaded with their grants, then the lifecycle the
//! host owns (plugins only handle one node per call): plan = desired nodes minus `list`,
//! apply = `create` for each missing node (concurrently, bounded), destroy = `delete` for each
//! node that carries this cluster's label.

mod layers;
mod lock;
mod plan;
mod session;
mod timeline;

pub use layers::{LayerOutcome, run_layers};
pub use lock::{Holder, LockError, RunLock, lock_location};
pub use plan::{Plan, PoolPlan, node_name};
pub use session::{NodeOutcome, ProviderHandle, RunError, Session, resolve_secrets};
pub use timeline::{Phase, Timeline};
