//! The simulator: a living city driven through the same engine calls a client's commands
//! take. Grid workers patrol their cells along the roads, teams move, citizens, sensors,
//! cameras and the hotline report at each category's daily rate, a duty desk accepts and
//! dispatches to the nearest suitable unit (two to a matter affecting a group), units go,
//! each says when it arrives, they handle and report back; some matters are left too long,
//! go overdue and are escalated by the rules; now and then a unit is held up on its way,
//! and the desk sends one more (增派).
//!
//! Profiles: `default` (the map's roster, a few hundred units) and `stress` (the roster
//! topped up to 10,000 moving units and 1,000 cameras, all synthetic).

mod actors;
mod movement;

use std::sync::Arc;
use std::time::Duration;

use geo_types::Point;
use onegrid_protocol::{Camera, UnitKind};

use crate::city::{City, RosterEntry};
use crate::engine::Engine;
use crate::rng::Rng;

/// A simulation profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Name.
    pub name: String,
    /// Units moving (the roster is topped up to this many).
    pub units: usize,
    /// Cameras (topped up to this many).
    pub cameras: usize,
    /// How often each unit reports its position, seconds of clock time.
    pub report_every_s: f64,
    /// Incident rate relative to the responsibility list's daily rates.
    pub incident_rate: f64,
    /// Share of matters the duty desk leaves too long (they go overdue and escalate).
    pub neglect: f64,
    /// Share of trips on which a unit is held up on its way (a jam, a wrong turn) for 5 to
    /// 15 minutes; the desk sends one more unit (增派) to a matter whose unit has stood
    /// for 4 minutes.
    pub stall: f64,
    /// Seed.
    pub seed: u64,
}

impl Profile {
    /// A named profile: `default` or `stress`.
    pub fn named(name: &str) -> Option<Profile> {
        let base = Profile {
            name: name.to_owned(),
            units: 0,
            cameras: 0,
            report_every_s: 2.0,
            incident_rate: 1.0,
            neglect: 0.08,
            stall: 0.05,
            seed: 7,
        };
        match name {
            "default" => Some(base),
            "stress" => Some(Profile { units: 10_000, cameras: 1_000, incident_rate: 5.0, ..base }),
            _ => None,
        }
    }
}

/// Tops the roster and cameras up to the profile's numbers (synthetic, seeded).
pub fn augment(city: &mut City, profile: &Profile) {
    let mut rng = Rng::new(profile.seed ^ 0x5157);
    let cells: Vec<Point> =
        city.cells.cells().iter().filter_map(|c| c.polygon.exterior().0.first().map(|c| Point::from(*c))).collect();
    if cells.is_empty() {
        return;
    }
    let mut next_id = city.roster.iter().map(|r| r.id).max().unwrap_or(0).max(100_000) + 1;
    while city.roster.len() < profile.units {
        let at = *rng.pick(&cells);
        let community = city
            .cells
            .locate(Point::new(at.x() + 1e-5, at.y() + 1e-5))
            .map(|p| p.community.clone())
            .unwrap_or_default();
        city.roster.push(RosterEntry {
            id: next_id,
            name: format!("模拟单元{next_id}"),
            kind: UnitKind::Team,
            skills: vec!["patrol".into()],
            phone: crate::maps::synth::phone(next_id),
            community,
            start: [at.x() + 1e-5, at.y() + 1e-5],
            synthetic: true,
        });
        next_id += 1;
    }
    let mut cam_id = city.cameras.iter().map(|c| c.id).max().unwrap_or(0) + 1;
    while city.cameras.len() < profile.cameras {
        let at = *rng.pick(&cells);
        let placement =
            city.cells.locate(Point::new(at.x() + 1e-5, at.y() + 1e-5)).map(|p| (**p).clone()).unwrap_or_default();
        city.cameras.push(Camera {
            id: cam_id,
            name: format!("模拟探头{cam_id}"),
            position: at,
            heading_deg: rng.range(0.0, 360.0),
            fov_deg: rng.range(50.0, 90.0),
            range_m: rng.range(60.0, 150.0),
            stream_url: format!("rtsp://127.0.0.1:8554/cam/{cam_id}"),
            placement,
            synthetic: true,
        });
        cam_id += 1;
    }
}

/// Runs the simulation until `stop` changes.
pub async fn run(engine: Arc<Engine>, profile: Profile, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut sim = actors::Sim::new(engine, &profile);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => sim.step(),
            _ = stop.changed() => return,
        }
    }
}
