//! The spatial core: which cell and which unit of every net a point lies in, which field
//! units are nearest, which cameras see a point. Plain data structures (R-trees for cells
//! and cameras, a bucket grid for moving units); no tokio.
//!
//! Metric: distances are Euclidean on a local equirectangular projection in metres
//! ([`LocalMetric`]), accurate to well under 0.1 % across a city.

pub mod cameras;
pub mod cells;
pub mod lattice;
pub mod units;

pub use cameras::CameraIndex;
pub use cells::CellIndex;
pub use lattice::{Lattice, LocalMetric};
pub use units::UnitIndex;
