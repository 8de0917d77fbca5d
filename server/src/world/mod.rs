//! The world: incidents, units and cell counts, changed only by applying [`Event`]s. The
//! same `apply` rebuilds state from the journal on start and keeps it current while
//! running, so what is replayed is exactly what was served.

pub mod checkpoint;
pub mod decide;
pub mod event;
pub mod state;

pub use checkpoint::Checkpoint;
pub use decide::{Actor, Refusal, decide};
pub use event::Event;
pub use state::WorldState;
