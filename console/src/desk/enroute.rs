//! Following the units sent to the selected incident (在途跟踪): what a dispatcher watches
//! between sending a team and its arrival. For each unit the incident names: whether it is
//! on the way, on the scene, gone to another task or done; how far it is from the matter
//! (by road, as the server measures it with each position of a unit on its way, or the
//! straight line from a server that measures none); and, for one on the way, when it
//! should be there: the time its road ahead takes without traffic (which the server sends
//! with the road: the trunk road still to come counts as the quick road it is), scaled by
//! how the unit has kept to its road's times over the last minute and a half of the city's
//! clock; or, from a server that sends no time, from how fast it has been closing in. As
//! it goes rather than at a speed by kind: a team stuck at a crossing shows as slower, and
//! one that has not come nearer over the last minute says so, whatever its pace before.
//! By road rather than the straight line: a team whose road first leads away, or round a
//! block, is coming nearer all the while it drives on.
//!
//! The samples are taken for every unit on the way, every three seconds of the server's
//! clock, from the live positions and the road ahead measured with them; the rows are
//! plain functions of them, read by the detail panel, the map's lines to the selected
//! incident, the wall's card and the queue (which marks a matter whose unit is not coming
//! nearer).

use std::collections::{HashMap, HashSet, VecDeque};

use bevy::prelude::*;
use geo_types::Point;
use onegrid_protocol::{Incident, IncidentId, IncidentState, Millis, UnitId, UnitStatus};

pub use crate::live::Road;
use crate::live::{Feed, IncidentC, LiveIndex, RoadsAhead, UnitC, UnitPos};
use crate::view::{Bounds, Projection};

/// How far back the closing speed looks, server milliseconds.
pub const WINDOW_MS: Millis = 90_000;
/// The shortest span of samples a closing speed is told from, server milliseconds.
pub const MIN_SPAN_MS: Millis = 15_000;
/// A span past which a unit that has not come nearer is said not to be closing in.
pub const STALL_SPAN_MS: Millis = 45_000;
/// How far back a stop is looked for: a unit that has not come nearer over the last
/// minute is said not to be closing in, whatever its pace before it. In the simulated city
/// a stop was said 84 s after it began by the whole window's slope, 56 to 63 s (median,
/// runs of two sessions) by the last minute's (`stall_detection` in `tests/enroute.rs`).
pub const STALL_LOOK_MS: Millis = 60_000;
/// Slower than this (metres a second of the city's clock) is not closing in: a fifth of a
/// walker's pace. In the simulated city (`eta_accuracy` in `tests/enroute.rs`) 0.5 m/s said
/// three units of fifty not coming nearer while they went round a block; this said none.
pub const MIN_CLOSING_M_S: f64 = 0.3;
/// Closer than this, a unit on the way is at the scene in all but word.
pub const ARRIVING_M: f64 = 60.0;
/// How far back a new pace is looked for: a unit closing in faster over the last half
/// minute than over the whole window (it set off after standing, or came off a jam) is
/// timed at that pace; one closing in slower, at the window's (a red light is not its pace).
pub const PACE_LOOK_MS: Millis = 30_000;
/// The slowest a unit may be keeping to its road's time for that time to be scaled by it:
/// a tenth (a team crawling in a jam). Slower, the time left is told by the closing speed.
pub const MIN_RATE: f64 = 0.1;
/// How often a sample is taken, server milliseconds: 31 in the window, enough for a
/// slope, and a pass over the units a third as often as once a second.
pub const SAMPLE_EVERY_MS: Millis = 3_000;

/// How a unit on the way is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trend {
    /// Not watched long enough to tell.
    Measuring,
    /// Coming nearer: there in about this many seconds of the city's clock.
    Closing {
        /// Seconds left at the closing speed.
        eta_s: f64,
    },
    /// Watched long enough, and not coming nearer.
    NotClosing,
}

/// Where a unit sent to the incident stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leg {
    /// On the way (its task is this incident).
    EnRoute {
        /// Straight-line distance to the incident, when it has a position.
        metres: Option<f64>,
        /// The road still ahead of it, as the server last measured it.
        road: Road,
        /// How it is doing.
        trend: Trend,
    },
    /// At the scene, handling it.
    OnScene,
    /// Working on another incident now.
    Elsewhere(IncidentId),
    /// Freed from it: its part done (the incident past handling) or called back.
    Released {
        /// Whether the incident has gone past handling (feedback, verified, closed).
        done: bool,
    },
    /// Not in the live picture (outside this user's area).
    Unknown,
}

impl Leg {
    /// The words for the detail panel and the wall.
    pub fn words(&self) -> String {
        match *self {
            Leg::EnRoute { metres: None, .. } => "在途 · 位置未知".into(),
            Leg::EnRoute { metres: Some(m), road, trend } => {
                let far = match road {
                    _ if m < ARRIVING_M => "即将到达".to_owned(),
                    Road::Ahead(road) => format!("路程 {}", distance_words(road)),
                    Road::Unreachable => format!("直线 {} · 无道路可达", distance_words(m)),
                    Road::Unmeasured => format!("直线 {}", distance_words(m)),
                };
                match trend {
                    _ if m < ARRIVING_M => format!("在途 · {far}"),
                    Trend::Measuring => format!("在途 · {far}"),
                    Trend::Closing { eta_s } => format!("在途 · {far} · 约 {}到达", minutes_words(eta_s)),
                    Trend::NotClosing => format!("在途 · {far} · 未在接近"),
                }
            }
            Leg::OnScene => "在场处置".into(),
            Leg::Elsewhere(id) => format!("已转任务 #{id}"),
            Leg::Released { done: true } => "已完成".into(),
            Leg::Released { done: false } => "已撤回".into(),
            Leg::Unknown => "不在本账号范围".into(),
        }
    }

    /// Whether the dispatcher should look at it: on the way and not coming nearer.
    pub fn stalled(&self) -> bool {
        matches!(self, Leg::EnRoute { trend: Trend::NotClosing, metres: Some(m), .. } if *m >= ARRIVING_M)
    }

    /// How far a unit on the way still has to go, metres: by road where measured, else
    /// the straight line.
    pub fn to_go(&self) -> Option<f64> {
        match *self {
            Leg::EnRoute { metres, road, .. } => road.metres().or(metres),
            _ => None,
        }
    }
}

/// A distance in words: metres under a kilometre, kilometres to one decimal beyond.
pub fn distance_words(m: f64) -> String {
    if m < 1_000.0 { format!("{:.0} 米", (m / 10.0).round() * 10.0) } else { format!("{:.1} 公里", m / 1_000.0) }
}

/// A time ahead in words: under a minute, whole minutes, hours and minutes.
pub fn minutes_words(s: f64) -> String {
    let mins = (s / 60.0).ceil() as i64;
    match mins {
        ..=1 => "1 分钟".into(),
        2..=59 => format!("{mins} 分钟"),
        _ => format!("{} 小时 {} 分钟", mins / 60, mins % 60),
    }
}

/// The trend of a unit on the way, from its samples (server time, metres from the
/// incident), oldest first: its closing speed is the least-squares slope of distance over
/// time, so that a GPS fix wandering ten metres at either end of the window does not
/// read as a walker's pace. The time left is told from the whole window's slope, or the
/// last half minute's where that is faster ([`PACE_LOOK_MS`]); whether
/// it is coming nearer at all, from the last minute's ([`STALL_LOOK_MS`]), so that a unit
/// that stops is said to soon after, and one that sets off again is followed again.
pub fn trend(samples: &VecDeque<(Millis, f64)>) -> Trend {
    let Some(&(t1, d1)) = samples.back() else { return Trend::Measuring };
    let [all, recent, fresh] = fits(samples, [t1 - STALL_LOOK_MS, t1 - PACE_LOOK_MS]);
    let Some((speed, span)) = all.speed().filter(|(_, span)| *span >= MIN_SPAN_MS) else {
        return Trend::Measuring;
    };
    let recent = recent.speed().filter(|(_, span)| *span >= STALL_SPAN_MS);
    // A new pace, faster than the window's: timed at it.
    let pace = fresh.speed().filter(|(_, span)| *span >= MIN_SPAN_MS).map_or(speed, |(v, _)| v.max(speed));
    match recent {
        Some((r, _)) if r < MIN_CLOSING_M_S => Trend::NotClosing,
        _ if speed >= MIN_CLOSING_M_S => Trend::Closing { eta_s: d1 / pace },
        // Set off again after standing: its pace since.
        Some((r, _)) => Trend::Closing { eta_s: d1 / r },
        None if span >= STALL_SPAN_MS => Trend::NotClosing,
        None => Trend::Measuring,
    }
}

/// The time left of a unit on the way by the time its road ahead takes without traffic,
/// as the server measures it with each position (`time`: server time, seconds ahead,
/// oldest first): scaled by how the unit has been keeping to it, the least-squares rate at
/// which those seconds have been going down a second of the city's clock over the window
/// (or the last half minute's, where faster: [`PACE_LOOK_MS`]); a team held up by traffic
/// to half the roads' speeds is given twice their time. Until the samples cover
/// [`MIN_SPAN_MS`], the road's own time: what the dispatcher was told when sending it.
/// None from a rate too slow to tell a time by ([`MIN_RATE`]).
pub fn eta_by_road_time(time: &VecDeque<(Millis, f64)>) -> Option<f64> {
    let &(t1, s1) = time.back()?;
    let [all, fresh, _] = fits(time, [t1 - PACE_LOOK_MS; 2]);
    let Some((rate, _)) = all.speed().filter(|(_, span)| *span >= MIN_SPAN_MS) else { return Some(s1) };
    let rate = fresh.speed().filter(|(_, span)| *span >= MIN_SPAN_MS).map_or(rate, |(r, _)| r.max(rate));
    (rate >= MIN_RATE).then(|| s1 / rate)
}

/// The least-squares closing speed (metres a second of the server's clock; negative going
/// away) over the samples taken at or after `since`, and the span they cover: none from
/// fewer than two, or all at one time.
pub fn closing_speed(samples: &VecDeque<(Millis, f64)>, since: Millis) -> Option<(f64, Millis)> {
    fits(samples, [since, since])[1].speed()
}

/// A least-squares fit of distance over time: n, Σt, Σd, Σt², Σtd (t in seconds from an
/// origin the slope does not depend on), and the first and last sample's times.
#[derive(Default)]
struct Fit {
    n: f64,
    t: f64,
    d: f64,
    tt: f64,
    td: f64,
    first: Option<Millis>,
    last: Millis,
}

impl Fit {
    fn add(&mut self, at: Millis, t: f64, d: f64) {
        self.n += 1.0;
        self.t += t;
        self.d += d;
        self.tt += t * t;
        self.td += t * d;
        self.first.get_or_insert(at);
        self.last = at;
    }

    /// The closing speed and the span it was told over.
    fn speed(&self) -> Option<(f64, Millis)> {
        let first = self.first?;
        let spread = self.n * self.tt - self.t * self.t;
        (self.last > first && spread > 0.0).then(|| (-(self.n * self.td - self.t * self.d) / spread, self.last - first))
    }
}

/// The fits over all the samples and over those taken at or after each of `since`, in
/// one pass.
fn fits(samples: &VecDeque<(Millis, f64)>, since: [Millis; 2]) -> [Fit; 3] {
    let mut out: [Fit; 3] = Default::default();
    let t0 = samples.front().map_or(0, |s| s.0);
    for &(at, d) in samples {
        let t = (at - t0) as f64 / 1_000.0;
        out[0].add(at, t, d);
        for (fit, since) in out[1..].iter_mut().zip(since) {
            if at >= since {
                fit.add(at, t, d);
            }
        }
    }
    out
}

/// How far from its way by road a unit may be for that way still to be drawn from it,
/// metres: farther, it has left it (another road, a way the server's roads do not know),
/// and its line is drawn straight until the way is asked for again.
pub const OFF_WAY_M: f64 = 120.0;

/// The rest of a unit's way by road (`way`: `[lon, lat]` points from where it was when
/// asked to the incident) from where it is now (`at`): from it to the end of the stretch
/// of the way nearest it, and on to the incident. None where it is more than
/// [`OFF_WAY_M`] from every stretch, or the way has none. Of two stretches equally near
/// (a road there and back), the later.
pub fn way_ahead(way: &[(f64, f64)], at: [f64; 2]) -> Option<Vec<[f64; 2]>> {
    const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;
    let kx = at[1].to_radians().cos() * M_PER_DEG;
    let xy = |p: (f64, f64)| ((p.0 - at[0]) * kx, (p.1 - at[1]) * M_PER_DEG);
    let mut best: Option<(usize, f64)> = None;
    for (k, w) in way.windows(2).enumerate() {
        let ((ax, ay), (bx, by)) = (xy(w[0]), xy(w[1]));
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 { (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
        let d = (ax + t * dx).hypot(ay + t * dy);
        if best.is_none_or(|(_, b)| d <= b) {
            best = Some((k, d));
        }
    }
    let k = best.filter(|(_, d)| *d <= OFF_WAY_M)?.0;
    Some(std::iter::once(at).chain(way[k + 1..].iter().map(|p| [p.0, p.1])).collect())
}

/// Metres between two points a city apart (WGS-84 longitude, latitude): equirectangular,
/// within a metre of the great circle over the tens of kilometres of a city, and a tenth
/// of its cost (the pass over the units takes one for each unit on the way).
pub fn metres_between(a: [f64; 2], b: Point) -> f64 {
    const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;
    let dx = (a[0] - b.x()) * ((a[1] + b.y()) / 2.0).to_radians().cos();
    let dy = a[1] - b.y();
    dx.hypot(dy) * M_PER_DEG
}

/// One unit sent to the selected incident, as the desk shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentRow {
    /// The unit.
    pub unit: UnitId,
    /// Its name (its number where it is not in the live picture).
    pub name: String,
    /// Its status, where known.
    pub status: Option<UnitStatus>,
    /// Where it is (WGS-84), where known.
    pub lonlat: Option<[f64; 2]>,
    /// Where it stands with the incident.
    pub leg: Leg,
}

/// What the live picture says of one unit: its name, status, task and position.
pub struct UnitNow<'a> {
    /// Name.
    pub name: &'a str,
    /// Status.
    pub status: UnitStatus,
    /// Current task.
    pub task: Option<IncidentId>,
    /// Position (WGS-84).
    pub lonlat: Option<[f64; 2]>,
    /// The road still ahead of it to the incident the rows are of, as far as measured.
    pub road: Road,
}

/// The rows of the units `i` names, in its order: `unit` finds one in the live picture,
/// `samples` its distances while on the way.
pub fn sent_rows<'a>(
    i: &Incident,
    unit: impl Fn(UnitId) -> Option<UnitNow<'a>>,
    samples: Option<&Samples>,
) -> Vec<SentRow> {
    let done = matches!(i.state, IncidentState::Feedback | IncidentState::Verified | IncidentState::Closed);
    i.units
        .iter()
        .map(|&id| {
            let Some(u) = unit(id) else {
                return SentRow { unit: id, name: id.to_string(), status: None, lonlat: None, leg: Leg::Unknown };
            };
            let leg = match (u.task, u.status) {
                (Some(t), UnitStatus::EnRoute) if t == i.id => {
                    let metres = u.lonlat.map(|p| metres_between(p, i.location));
                    let trend = samples.and_then(|s| s.trend_of(i.id, id)).unwrap_or(Trend::Measuring);
                    Leg::EnRoute { metres, road: u.road, trend }
                }
                (Some(t), _) if t == i.id => Leg::OnScene,
                (Some(t), _) => Leg::Elsewhere(t),
                (None, _) => Leg::Released { done },
            };
            SentRow { unit: id, name: u.name.to_owned(), status: Some(u.status), lonlat: u.lonlat, leg }
        })
        .collect()
}

/// Margin around the incident and its units on the way when the map shows them, metres.
pub const FIT_MARGIN_M: f64 = 150.0;

/// The box (local metres of `proj`) that holds the incident and its units on the way with
/// a margin: none when no unit is on the way with a position.
pub fn fit(proj: &Projection, i: &Incident, rows: &[SentRow]) -> Option<Bounds> {
    let mut b = Bounds::empty();
    let mut any = false;
    for r in rows.iter().filter(|r| matches!(r.leg, Leg::EnRoute { .. })) {
        if let Some(p) = r.lonlat {
            b.add(proj.to_local(p[0], p[1]));
            any = true;
        }
    }
    if !any {
        return None;
    }
    let c = proj.to_local(i.location.x(), i.location.y());
    b.add(c);
    Some(Bounds {
        min: [b.min[0] - FIT_MARGIN_M, b.min[1] - FIT_MARGIN_M],
        max: [b.max[0] + FIT_MARGIN_M, b.max[1] + FIT_MARGIN_M],
    })
}

/// The rows of the units `i` names, read from the live picture (`index`, `units`, `ahead`).
pub fn live_rows(
    i: &Incident,
    index: &LiveIndex,
    units: &Query<(&UnitC, &UnitPos)>,
    ahead: &RoadsAhead,
    samples: &Samples,
) -> Vec<SentRow> {
    let unit = |id| {
        let (c, p) = units.get(*index.units.get(&id)?).ok()?;
        let road = ahead.road(id, i.id);
        Some(UnitNow { name: c.0.name.as_str(), status: p.status, task: c.0.task, lonlat: p.lonlat, road })
    };
    sent_rows(i, unit, Some(samples))
}

/// How long ago the incident's last dispatch was, server milliseconds (none before one).
pub fn since_dispatch(i: &Incident, now: Millis) -> Option<Millis> {
    i.history.iter().rev().find(|s| s.action == "dispatch").map(|s| (now - s.at).max(0))
}

/// One unit followed on its way.
#[derive(Debug)]
struct Followed {
    /// The incident it is on the way to.
    incident: IncidentId,
    /// The pass that last found it on the way, server time.
    seen: Millis,
    /// Its straight-line distances from the incident, oldest first.
    samples: VecDeque<(Millis, f64)>,
    /// The road still ahead of it, oldest first, taken with those where measured.
    road: VecDeque<(Millis, f64)>,
    /// How long that road takes it without traffic, seconds, taken with those where the
    /// server said.
    time: VecDeque<(Millis, f64)>,
}

impl Followed {
    /// How it is doing: coming nearer or not by the distance ([`Followed::judged`],
    /// [`trend`]); the time left by its road's time where the server measures it
    /// ([`eta_by_road_time`]: which roads are left, not only how far), else by the
    /// closing speed.
    fn trend(&self) -> Trend {
        let by_distance = trend(self.judged());
        // The times are cleared by a sample without one, so the last is the last sample's.
        match (by_distance, eta_by_road_time(&self.time)) {
            (Trend::Closing { .. } | Trend::Measuring, Some(eta_s)) => Trend::Closing { eta_s },
            (t, _) => t,
        }
    }

    /// The samples its trend is told from: the road ahead where the last sample has one
    /// and they cover as long as the straight line's, or long enough to tell a speed
    /// from; the straight line else (a server that measures no roads, a unit no road
    /// leads from, the first seconds after the road ahead began to come).
    fn judged(&self) -> &VecDeque<(Millis, f64)> {
        let (Some(r), Some(s)) = (self.road.back(), self.samples.back()) else { return &self.samples };
        let span = self.road.front().map_or(0, |f| r.0 - f.0);
        if r.0 == s.0 && (self.road.len() == self.samples.len() || span >= MIN_SPAN_MS) {
            &self.road
        } else {
            &self.samples
        }
    }
}

/// The distances of every unit on the way to its incident, sampled.
#[derive(Debug, Default, Resource)]
pub struct Samples {
    by_unit: HashMap<UnitId, Followed>,
    /// When the last pass over the units was, server time.
    last_pass: Option<Millis>,
    /// The incidents a unit on the way to is not coming nearer, as of the last pass.
    stalled: HashSet<IncidentId>,
}

impl Samples {
    /// The samples the trend of `unit` on the way to `incident` is told from (the road
    /// ahead, where measured, else the straight line), oldest first.
    pub fn of(&self, incident: IncidentId, unit: UnitId) -> Option<&VecDeque<(Millis, f64)>> {
        self.by_unit.get(&unit).filter(|f| f.incident == incident).map(Followed::judged)
    }

    /// How `unit` on the way to `incident` is doing ([`Followed::trend`]).
    pub fn trend_of(&self, incident: IncidentId, unit: UnitId) -> Option<Trend> {
        self.by_unit.get(&unit).filter(|f| f.incident == incident).map(Followed::trend)
    }

    /// How long the road ahead of `unit` to `incident` takes it without traffic, seconds,
    /// oldest first, where the server said.
    pub fn time_of(&self, incident: IncidentId, unit: UnitId) -> Option<&VecDeque<(Millis, f64)>> {
        self.by_unit.get(&unit).filter(|f| f.incident == incident).map(|f| &f.time)
    }

    /// The straight-line distances of `unit` on the way to `incident`, oldest first.
    pub fn straight_of(&self, incident: IncidentId, unit: UnitId) -> Option<&VecDeque<(Millis, f64)>> {
        self.by_unit.get(&unit).filter(|f| f.incident == incident).map(|f| &f.samples)
    }

    /// Takes a unit's distance from `incident` at server time `now`, straight and, where
    /// measured, by road (metres, and seconds without traffic where the server said): at
    /// most one each [`SAMPLE_EVERY_MS`], those older than the window let go of. Another
    /// incident, or a clock that went back (another server), starts anew; a sample without
    /// a road, the road samples anew (and one without the road's time, the times).
    pub fn take(
        &mut self,
        incident: IncidentId,
        unit: UnitId,
        now: Millis,
        metres: f64,
        road: Option<(f64, Option<f64>)>,
    ) {
        let f = self.by_unit.entry(unit).or_insert_with(|| Followed {
            incident,
            seen: now,
            samples: VecDeque::new(),
            road: VecDeque::new(),
            time: VecDeque::new(),
        });
        f.seen = now;
        if f.incident != incident || f.samples.back().is_some_and(|&(t, _)| now < t) {
            f.incident = incident;
            f.samples.clear();
            f.road.clear();
            f.time.clear();
        }
        if f.samples.back().is_some_and(|&(t, _)| now - t < SAMPLE_EVERY_MS) {
            return;
        }
        f.samples.push_back((now, metres));
        match road {
            Some((d, _)) => f.road.push_back((now, d)),
            None => f.road.clear(),
        }
        match road.and_then(|r| r.1) {
            Some(s) => f.time.push_back((now, s)),
            None => f.time.clear(),
        }
        for s in [&mut f.samples, &mut f.road, &mut f.time] {
            while s.front().is_some_and(|&(t, _)| now - t > WINDOW_MS) {
                s.pop_front();
            }
        }
    }

    /// Whether a unit on the way to `incident` has not been coming nearer (as of the last
    /// pass: at most [`SAMPLE_EVERY_MS`] of the server's clock old).
    pub fn stalled(&self, incident: IncidentId) -> bool {
        self.stalled.contains(&incident)
    }

    /// The units sampled.
    pub fn len(&self) -> usize {
        self.by_unit.len()
    }

    /// Whether no unit is sampled.
    pub fn is_empty(&self) -> bool {
        self.by_unit.is_empty()
    }
}

/// Samples the distance of every unit on the way from its incident (straight, and by road
/// where the server measured it), every [`SAMPLE_EVERY_MS`] of the server's clock and
/// whenever a unit's task changes, and lets go of those no longer on the way. Every unit
/// rather than the selected incident's alone, so that a time left is there the moment an
/// incident is selected (the wall follows one for only 20 s) and the queue can mark a
/// matter whose unit is not coming nearer. A pass reads each unit's small position
/// component first and its roster entry only when it is on the way: a city's 11,000 units
/// cost a few hundred microseconds (`en_route_cost`).
pub fn watch_en_route(
    mut samples: ResMut<Samples>,
    feed: Res<Feed>,
    index: Res<LiveIndex>,
    ahead: Res<RoadsAhead>,
    incidents: Query<&IncidentC>,
    units: Query<(&UnitPos, &UnitC)>,
    tasks: Query<(), Changed<UnitC>>,
) {
    let now = feed.server_now;
    // A unit's task or status changed (sent, on the scene, freed): a pass now, whatever
    // the clock, so that nothing is said of a unit no longer on the way.
    if samples.last_pass.is_some_and(|t| now >= t && now - t < SAMPLE_EVERY_MS) && tasks.is_empty() {
        return;
    }
    samples.last_pass = Some(now);
    for (p, u) in &units {
        if p.status != UnitStatus::EnRoute {
            continue;
        }
        let (Some(task), Some(ll)) = (u.0.task, p.lonlat) else { continue };
        let Some(i) = index.incidents.get(&task).and_then(|e| incidents.get(*e).ok()) else { continue };
        let road = ahead.to(u.0.id, task).map(|m| (m, ahead.time_to(u.0.id, task)));
        samples.take(task, u.0.id, now, metres_between(ll, i.0.location), road);
    }
    samples.by_unit.retain(|_, f| f.seen == now);
    let stalled = samples
        .by_unit
        .values()
        .filter(|f| {
            let metres = f.samples.back().map(|&(_, d)| d);
            Leg::EnRoute { metres, road: Road::Unmeasured, trend: trend(f.judged()) }.stalled()
        })
        .map(|f| f.incident)
        .collect();
    samples.stalled = stalled;
}

#[cfg(test)]
mod tests;
