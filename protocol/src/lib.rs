#![doc = include_str!("../README.md")]

pub mod alarm;
pub mod coord;
pub mod domain;
#[cfg(feature = "io")]
pub mod io;
pub mod lifecycle;
pub mod map;
pub mod messages;
pub mod validate;

pub use alarm::{ACKNOWLEDGE_STEP, AlarmCause, OVERDUE_STEP, SERIOUS_SEVERITY};
pub use domain::*;
pub use lifecycle::{Action, IllegalTransition, IncidentState, Stage, StageLimits};
pub use map::{CityMap, GridLattice, MapArea, MapCategory, MapCell, MapOverlay, MapRoad, Net};
pub use messages::*;
