#![doc = include_str!("../README.md")]

pub mod coord;
pub mod domain;
pub mod lifecycle;
pub mod messages;
pub mod validate;

pub use domain::*;
pub use lifecycle::{Action, IllegalTransition, IncidentState, Stage};
pub use messages::*;
