#![doc = include_str!("../README.md")]

pub mod app;
pub mod auth;
pub mod city;
pub mod cli;
pub mod clock;
pub mod engine;
pub mod hub;
pub mod journal;
pub mod maps;
pub mod net;
pub mod rng;
pub mod sim;
pub mod spatial;
pub mod summary;
pub mod world;

pub use app::{Config, Running, start};
