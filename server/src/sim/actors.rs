//! The simulated people: reporters, the duty desk and the field units.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use geo_types::Point;
use onegrid_protocol::{
    Act, Command, Dispatch, IncidentId, IncidentState, Level, Millis, NearUnit, Position, Query, QueryResult, Report,
    Role, Scale, Scope, Source, Travel, UnitId, UnitKind, UnitStatus, UserInfo,
};

use super::Profile;
use super::movement::{Path, patrol, route};
use crate::engine::Engine;
use crate::rng::Rng;
use crate::world::Actor;

const DAY_MS: f64 = 86_400_000.0;

/// A unit's status and its task's incident, location and category.
type UnitTask = (UnitStatus, Option<(IncidentId, Point, String)>);

struct SimUnit {
    id: UnitId,
    user: UserInfo,
    path: Path,
    travel: Travel,
    next_fix: Millis,
    /// The incident being walked to or handled, and when handling ends.
    job: Option<(IncidentId, Option<Millis>)>,
    /// When it is held up on its way to the job, from and until.
    hold: Option<(Millis, Millis)>,
    responsibility_unit: String,
}

struct Plan {
    state: IncidentState,
    at: Millis,
}

/// The whole simulated city.
pub struct Sim {
    engine: Arc<Engine>,
    profile: Profile,
    rng: Rng,
    units: Vec<SimUnit>,
    desk: UserInfo,
    hotline: UserInfo,
    sensor: UserInfo,
    last: Millis,
    next_report: Vec<Millis>,
    plans: HashMap<IncidentId, Plan>,
    /// The matters sent one more unit for a unit held up on its way: once each.
    reinforced: HashSet<IncidentId>,
    cell_points: Vec<Point>,
}

/// How long a unit stands on its way before the desk sends one more to its matter.
const REINFORCE_AFTER_MS: Millis = 4 * 60_000;

fn user(id: String, name: String, role: Role, scope: Scope, unit: Option<UnitId>) -> UserInfo {
    UserInfo { id, name, role, scope, unit }
}

impl Sim {
    /// A simulation over the engine's city.
    pub fn new(engine: Arc<Engine>, profile: &Profile) -> Self {
        let mut rng = Rng::new(profile.seed);
        let now = engine.clock.now();
        let city = engine.city();
        let roster: Vec<(UnitId, String, UnitKind, String, String)> = engine.with_world(|w| {
            w.units
                .values()
                .map(|u| (u.id, u.name.clone(), u.kind, u.home.street.clone(), u.home.responsibility_unit.clone()))
                .collect()
        });
        // Units start where the server last saw them (the journal's tracks, or the roster).
        let units = roster
            .into_iter()
            .map(|(id, name, kind, street, responsibility_unit)| SimUnit {
                id,
                user: user(
                    format!("sim-unit-{id}"),
                    name,
                    Role::GridWorker,
                    Scope { level: Level::Street, code: street },
                    Some(id),
                ),
                path: Path::standing(engine.unit_position(id).unwrap_or(Point::new(0.0, 0.0))),
                travel: kind.travel(),
                next_fix: now + (rng.f64() * profile.report_every_s * 1000.0) as Millis,
                job: None,
                hold: None,
                responsibility_unit,
            })
            .collect();
        let cell_points = city
            .cells
            .cells()
            .iter()
            .map(|c| {
                let e = &c.polygon.exterior().0;
                Point::new((e[0].x + e[2].x) / 2.0, (e[0].y + e[2].y) / 2.0)
            })
            .collect();
        let categories = city.responsibility.categories.len();
        let mut sim = Sim {
            desk: user("sim-desk".into(), "模拟值班台".into(), Role::Commander, Scope::city(), None),
            hotline: user("sim-12345".into(), "12345热线".into(), Role::Operator, Scope::city(), None),
            sensor: user("sim-iot".into(), "物联感知".into(), Role::Sensor, Scope::city(), None),
            engine: engine.clone(),
            profile: profile.clone(),
            units,
            last: now,
            next_report: vec![now; categories],
            plans: HashMap::new(),
            reinforced: HashSet::new(),
            cell_points,
            rng,
        };
        for i in 0..categories {
            sim.next_report[i] = now + sim.report_gap(i);
        }
        sim
    }

    fn report_gap(&mut self, category: usize) -> Millis {
        let rate = self.engine.city().responsibility.categories[category].daily_rate * self.profile.incident_rate;
        if rate <= 0.0 {
            return Millis::MAX / 4;
        }
        self.rng.exp(DAY_MS / rate) as Millis
    }

    /// One step of the simulation.
    pub fn step(&mut self) {
        let now = self.engine.clock.now();
        let dt_s = ((now - self.last) as f64 / 1000.0).clamp(0.0, 60.0);
        self.last = now;
        self.reports(now);
        self.desk(now);
        self.move_units(now, dt_s);
    }

    fn act(&self, user: &UserInfo, cmd: Command) -> bool {
        let actor = Actor { user, origin: "simulator" };
        match self.engine.execute(actor, &cmd, None) {
            Ok(_) => true,
            Err(r) => {
                tracing::debug!("simulated {:?} refused: {}", cmd, r.message);
                false
            }
        }
    }

    fn reports(&mut self, now: Millis) {
        for i in 0..self.next_report.len() {
            while self.next_report[i] <= now {
                self.next_report[i] += self.report_gap(i).max(1);
                let category = self.engine.city().responsibility.categories[i].clone();
                let roll = self.rng.f64();
                let (source, reporter) = match roll {
                    r if r < 0.35 => (Source::Citizen, self.hotline.clone()),
                    r if r < 0.55 => (Source::Hotline, self.hotline.clone()),
                    r if r < 0.75 => (Source::GridWorker, self.hotline.clone()),
                    r if r < 0.88 && category.skills.iter().any(|s| s == "fire" || s == "patrol") => {
                        (Source::IotSensor, self.sensor.clone())
                    }
                    r if r < 0.95 => (Source::VideoAlarm, self.sensor.clone()),
                    _ => (Source::Operator, self.desk.clone()),
                };
                let base = *self.rng.pick(&self.cell_points);
                let location =
                    Point::new(base.x() + self.rng.range(-0.0004, 0.0004), base.y() + self.rng.range(-0.0004, 0.0004));
                let scale = if self.rng.chance(0.05) { Scale::Group } else { Scale::Individual };
                let report = Report {
                    category: category.code.clone(),
                    location,
                    datum: Default::default(),
                    source,
                    description: format!("{}（模拟上报）", category.name),
                    attachments: if source == Source::Citizen {
                        vec![format!("sim://photo/{now}.jpg")]
                    } else {
                        Vec::new()
                    },
                    severity: 1 + self.rng.below(3) as u8 + u8::from(category.skills.iter().any(|s| s == "fire")),
                    scale,
                    held_ms: 0,
                };
                self.act(&reporter, Command::Report(report));
            }
        }
    }

    /// The duty desk: accepts, dispatches, verifies and closes after a delay drawn against
    /// each stage's limit; a share of matters is left past the limit.
    fn desk(&mut self, now: Millis) {
        let open: Vec<(IncidentId, IncidentState, String, Point, Scale)> = self.engine.with_world(|w| {
            w.incidents
                .values()
                .filter(|i| i.state.is_open())
                .map(|i| (i.id, i.state, i.category.clone(), i.location, i.scale))
                .collect()
        });
        self.plans.retain(|id, _| open.iter().any(|o| o.0 == *id));
        self.reinforced.retain(|id| open.iter().any(|o| o.0 == *id));
        // Matters whose unit has stood on its way long enough for the desk to notice.
        let held_up: HashSet<IncidentId> = self
            .units
            .iter()
            .filter_map(|u| match (u.job, u.hold) {
                (Some((id, None)), Some((from, until))) if now >= from + REINFORCE_AFTER_MS && now < until => Some(id),
                _ => None,
            })
            .collect();
        for (id, state, category, location, scale) in open {
            if matches!(state, IncidentState::Dispatched | IncidentState::InProgress) {
                if held_up.contains(&id) && self.reinforced.insert(id) {
                    let units = self.to_send(&category, location, 1);
                    if !units.is_empty() {
                        let more = Dispatch { incident: id, units, note: "原派单位途中受阻，增派".into() };
                        self.act(&self.desk, Command::Dispatch(more));
                    }
                }
                continue;
            }
            let limit_ms = self
                .engine
                .city()
                .responsibility
                .get(&category)
                .zip(state.stage())
                .map_or(600_000.0, |(c, s)| f64::from(c.limits_mins.minutes(s)) * 60_000.0);
            let plan = self.plans.entry(id).or_insert(Plan { state, at: Millis::MAX });
            if plan.state != state || plan.at == Millis::MAX {
                let late = self.rng.chance(self.profile.neglect);
                let frac = if late { self.rng.range(1.1, 1.6) } else { self.rng.range(0.05, 0.5) };
                *plan = Plan { state, at: now + (limit_ms * frac) as Millis };
            }
            if plan.at > now {
                continue;
            }
            plan.at = Millis::MAX;
            let desk = self.desk.clone();
            let act = Act { incident: id, note: String::new(), unit: None };
            match state {
                IncidentState::Reported | IncidentState::Escalated | IncidentState::Reopened => {
                    self.act(&desk, Command::Accept(act));
                }
                IncidentState::Accepted | IncidentState::Returned => {
                    // A matter affecting a group gets two units.
                    let k = if scale == Scale::Individual { 1 } else { 2 };
                    let units = self.to_send(&category, location, k);
                    if !units.is_empty() {
                        self.act(&desk, Command::Dispatch(Dispatch { incident: id, units, note: String::new() }));
                    }
                }
                IncidentState::Feedback => {
                    if self.rng.chance(0.1) {
                        self.act(&desk, Command::Return(Act { note: "核查未通过，重新处置".into(), ..act }));
                    } else {
                        self.act(&desk, Command::Verify(act));
                    }
                }
                IncidentState::Verified => {
                    self.act(&desk, Command::Close(act));
                }
                _ => {}
            }
        }
    }

    /// The `k` units to send to a matter of `category` at `at`: the available units soonest
    /// there by road with the skill it calls for, then the soonest of all (the top of the
    /// desk's list).
    fn to_send(&self, category: &str, at: Point, k: usize) -> Vec<UnitId> {
        let skill = self.engine.city().responsibility.get(category).and_then(|c| c.skills.first().cloned());
        let mut units = self.nearest(at, skill, k);
        for u in self.nearest(at, None, k) {
            if units.len() < k && !units.contains(&u) {
                units.push(u);
            }
        }
        units
    }

    /// The nearest as the desk's list gives them ([`sendable`]).
    fn nearest(&self, at: Point, skill: Option<String>, k: usize) -> Vec<UnitId> {
        match self.engine.query(&self.desk, &Query::Nearest { location: at, k, skill }) {
            Ok(QueryResult::Nearest { units }) => sendable(&units),
            _ => Vec::new(),
        }
    }

    fn move_units(&mut self, now: Millis, dt_s: f64) {
        let tasks: HashMap<UnitId, UnitTask> = self.engine.with_world(|w| {
            w.units
                .values()
                .map(|u| {
                    let task = u.task.and_then(|t| w.incidents.get(&t)).map(|i| (i.id, i.location, i.category.clone()));
                    (u.id, (u.status, task))
                })
                .collect()
        });
        let city = self.engine.city();
        let mut commands: Vec<(UserInfo, Command)> = Vec::new();
        for u in &mut self.units {
            let Some((status, task)) = tasks.get(&u.id) else { continue };
            match (status, task) {
                (UnitStatus::EnRoute, Some((id, at, _))) => {
                    if u.job.map(|j| j.0) != Some(*id) {
                        u.job = Some((*id, None));
                        u.path.follow(route(&city.roads, u.path.at, *at, u.travel));
                        // Now and then held up on the way: it stands, its fixes still coming.
                        u.hold = self.rng.chance(self.profile.stall).then(|| {
                            let from = now + (self.rng.range(0.5, 3.0) * 60_000.0) as Millis;
                            (from, from + (self.rng.range(5.0, 15.0) * 60_000.0) as Millis)
                        });
                    } else if u.path.done() {
                        commands.push((
                            u.user.clone(),
                            Command::Start(Act { incident: *id, note: "已到场".into(), unit: None }),
                        ));
                    }
                }
                (UnitStatus::OnScene, Some((id, _, category))) => match u.job {
                    Some((j, Some(until))) if j == *id && until <= now => {
                        commands.push((
                            u.user.clone(),
                            Command::Feedback(Act { incident: *id, note: "已处置完毕".into(), unit: None }),
                        ));
                    }
                    Some((j, Some(_))) if j == *id => {}
                    _ => {
                        let limit = city.responsibility.get(category).map_or(60.0, |c| f64::from(c.limits_mins.handle));
                        let minutes = (limit * self.rng.range(0.05, 0.6)).min(240.0);
                        u.job = Some((*id, Some(now + (minutes * 60_000.0) as Millis)));
                    }
                },
                _ => {
                    u.job = None;
                    u.hold = None;
                    if u.path.done() {
                        let ru = u.responsibility_unit.clone();
                        let cells = &city.cells;
                        let steps = 10 + self.rng.below(20);
                        let walk = patrol(&city.roads, u.path.at, u.travel, steps, &mut self.rng, |p| {
                            cells
                                .locate(Point::new(p.x() + 1e-6, p.y() + 1e-6))
                                .is_some_and(|c| c.responsibility_unit == ru)
                        });
                        u.path.follow(walk);
                    }
                }
            }
            let held =
                *status == UnitStatus::EnRoute && u.hold.is_some_and(|(from, until)| (from..until).contains(&now));
            if *status != UnitStatus::OnScene && *status != UnitStatus::OffDuty && !held {
                u.path.advance(dt_s);
            }
            if u.next_fix <= now {
                u.next_fix = now + (self.profile.report_every_s * 1000.0) as Millis;
                let fix = Position {
                    unit: u.id,
                    location: u.path.at,
                    datum: Default::default(),
                    heading_deg: u.path.heading_deg,
                };
                commands.push((u.user.clone(), Command::Position(fix)));
            }
        }
        for (user, cmd) in commands {
            self.act(&user, cmd);
        }
    }
}

/// The units of a `nearest` answer a duty officer would send, in its order: none that no
/// road leads from where roads lead from others (a unit across the water needs a boat, and
/// its fixes on the water, outside the grid, would be refused while it crossed); every one
/// on a map without roads.
fn sendable(units: &[NearUnit]) -> Vec<UnitId> {
    let by_road = units.iter().any(|u| u.road_m.is_some());
    units.iter().filter(|u| !by_road || u.road_m.is_some()).map(|u| u.unit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desk_sends_no_unit_across_the_water_where_others_have_a_road() {
        let unit = |unit, road_m: Option<f64>| NearUnit {
            unit,
            name: String::new(),
            distance_m: 100.0,
            eta_s: road_m.map(|m| m / 8.0),
            road_m,
        };
        let answer = [unit(1, Some(900.0)), unit(2, Some(1_400.0)), unit(3, None)];
        assert_eq!(sendable(&answer), vec![1, 2]);
        assert_eq!(sendable(&[unit(3, None)]), vec![3], "no road from any (a map without roads)");
        assert!(sendable(&[]).is_empty());
    }
}
