//! `maps build`: derives a city's map directory from raw sources, reproducibly.
//!
//! From real data: the official names and codes of districts, streets and communities (a
//! CSV of statistical division codes) and real district outlines (GeoJSON, converted from
//! GCJ-02 to WGS-84 here). Derived with a fixed seed, and marked synthetic: 100 m technical
//! cells over the land, streets and communities as contiguous unions of cells, two overlay
//! nets (responsibility and supervision units), roads on the cell edges, grid workers and
//! teams, cameras. The same sources and seed give byte-identical files.

pub mod build;
pub mod outline;
pub mod partition;
pub mod synth;

pub use build::{BuildReport, Profile, build};
