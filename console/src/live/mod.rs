//! The live layers as ECS state: one entity per incident, unit and camera, kept in step with
//! the server by applying snapshots, deltas and position frames in sequence order. A
//! snapshot reconciles (update what exists, add what is new, remove what is gone), so a
//! reconnect never blinks the map empty nor doubles an entity; a delta at or below the
//! last applied sequence number is a replay already seen and is skipped.

pub mod figures;

use std::collections::HashMap;

use bevy::prelude::*;
use onegrid_protocol::{
    AheadRow, AheadTimeRow, Camera, CameraId, CellStatus, Change, Incident, IncidentId, Millis, NoRoadRow, PositionRow,
    ServerMsg, Unit, UnitId, UnitStatus,
};

use crate::net::ServerEvent;
pub use figures::{Figures, Ticker, TickerItem, TickerKind};

/// An incident.
#[derive(Debug, Component)]
pub struct IncidentC(pub Incident);

/// An incident that arrived recently: it flashes until `until` (seconds of app time).
#[derive(Debug, Component)]
pub struct Fresh {
    /// App time when the flash ends.
    pub until: f64,
}

/// A field unit's roster data.
#[derive(Debug, Component)]
pub struct UnitC(pub Unit);

/// Marks a unit that is a team (squares on the map), so that drawing the markers reads
/// what kind each unit is from its archetype instead of from its roster data: at 100,000
/// units, reading [`UnitC`] (hundreds of bytes each) for one field cost a cache miss a
/// unit.
#[derive(Debug, Clone, Copy, Component)]
pub struct Team;

/// A field unit's live position.
#[derive(Debug, Clone, Copy, PartialEq, Component)]
pub struct UnitPos {
    /// Longitude, latitude (WGS-84); `None` until a first fix.
    pub lonlat: Option<[f64; 2]>,
    /// Heading, degrees clockwise from north.
    pub heading_deg: f32,
    /// Status.
    pub status: UnitStatus,
}

/// The road still ahead of each unit on its way, as the server measured it with the unit's
/// last position: the incident it was measured to, and metres, or none where the server
/// said no road leads there; and how long that road takes the unit at the roads' speeds
/// (or its pace), where the server said. A unit whose last position came with neither (not
/// on its way, a server that measures no roads) has nothing here.
#[derive(Debug, Default, Resource)]
pub struct RoadsAhead(HashMap<UnitId, (IncidentId, Option<f64>, Option<f64>)>);

/// The road still ahead of a unit to an incident, as far as the server said.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Road {
    /// Not measured (a server that measures no roads, a unit not yet measured).
    #[default]
    Unmeasured,
    /// Metres along the roads.
    Ahead(f64),
    /// Measured, and no road leads there from where it is (another island).
    Unreachable,
}

impl Road {
    /// The metres ahead, where there is a road.
    pub fn metres(self) -> Option<f64> {
        match self {
            Road::Ahead(m) => Some(m),
            _ => None,
        }
    }
}

impl RoadsAhead {
    /// The road ahead of `unit` to `incident`, where the last measure was to that one.
    pub fn to(&self, unit: UnitId, incident: IncidentId) -> Option<f64> {
        self.road(unit, incident).metres()
    }

    /// How long the road ahead of `unit` to `incident` takes it without traffic, seconds,
    /// where the last measure was to that one and said.
    pub fn time_to(&self, unit: UnitId, incident: IncidentId) -> Option<f64> {
        self.0.get(&unit).filter(|(i, m, _)| *i == incident && m.is_some()).and_then(|e| e.2)
    }

    /// What the last measure of `unit` to `incident` said.
    pub fn road(&self, unit: UnitId, incident: IncidentId) -> Road {
        match self.0.get(&unit) {
            Some((i, Some(m), _)) if *i == incident => Road::Ahead(*m),
            Some((i, None, _)) if *i == incident => Road::Unreachable,
            _ => Road::Unmeasured,
        }
    }

    /// Keeps what was measured of the units still going where it was measured to.
    fn keep_going(&mut self, going: &HashMap<UnitId, IncidentId>) {
        self.0.retain(|u, (i, _, _)| going.get(u) == Some(i));
    }

    /// Takes a position frame's: the rows' units lose what was measured before, those
    /// measured again have it anew.
    fn take(&mut self, rows: &[PositionRow], ahead: &[AheadRow], secs: &[AheadTimeRow], no_road: &[NoRoadRow]) {
        if !self.0.is_empty() {
            for r in rows {
                self.0.remove(&r.0);
            }
        }
        self.0.extend(ahead.iter().map(|&(unit, incident, m)| (unit, (incident, Some(m), None))));
        self.0.extend(no_road.iter().map(|&(unit, incident)| (unit, (incident, None, None))));
        for &(unit, s) in secs {
            if let Some(e) = self.0.get_mut(&unit) {
                e.2 = Some(s);
            }
        }
    }
}

/// A camera.
#[derive(Debug, Component)]
pub struct CameraC(pub Camera);

/// Ids → entities.
#[derive(Debug, Default, Resource)]
pub struct LiveIndex {
    /// Incidents.
    pub incidents: HashMap<IncidentId, Entity>,
    /// Units.
    pub units: HashMap<UnitId, Entity>,
    /// Cameras.
    pub cameras: HashMap<CameraId, Entity>,
}

/// Cells with open incidents, by code.
#[derive(Debug, Default, Resource)]
pub struct CellTints(pub HashMap<String, CellStatus>);

/// Where the feed stands.
#[derive(Debug, Default, Resource)]
pub struct Feed {
    /// The journal of the last snapshot.
    pub journal: Option<String>,
    /// The last sequence number applied.
    pub seq: u64,
    /// The latest server time seen.
    pub server_now: Millis,
    /// Snapshots applied (1 on first connect; more after resyncs and reconnects).
    pub snapshots: u64,
    /// Position rows applied.
    pub positions: u64,
    /// Who the server says we are.
    pub user: Option<onegrid_protocol::UserInfo>,
    /// How long after closing the server archives an incident (from its welcome).
    pub archive_after_ms: Option<Millis>,
    /// Whether the server answers the `ways` query (from its welcome).
    pub ways: bool,
    /// Whether the server records acknowledgements of alarms (from its welcome).
    pub acknowledge: bool,
    /// Time spent applying the last position frame, microseconds (the bench reads it).
    pub last_apply_us: f64,
}

/// The selected incident and unit.
#[derive(Debug, Default, Resource)]
pub struct Selection {
    /// Selected incident.
    pub incident: Option<IncidentId>,
    /// Selected unit.
    pub unit: Option<UnitId>,
}

/// An incident the desk asked the server for by number, one no longer in the live
/// picture (closed more than a day ago): taken in as a change to it would be.
#[derive(Message, Debug, Clone)]
pub struct FetchedIncident(pub Incident);

/// How long a new incident flashes, seconds.
pub const FLASH_SECS: f64 = 6.0;

/// Keeps the live layers.
pub struct LivePlugin;

impl Plugin for LivePlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<ServerEvent>()
            .add_message::<FetchedIncident>()
            .init_resource::<LiveIndex>()
            .init_resource::<CellTints>()
            .init_resource::<Feed>()
            .init_resource::<RoadsAhead>()
            .init_resource::<Selection>()
            .init_resource::<Ticker>()
            .init_resource::<Figures>()
            .add_systems(Update, (apply_server, forget_closed, figures::update_figures, expire_fresh).chain());
    }
}

/// How often, by the server's clock, the console looks for incidents to let go of.
const FORGET_EVERY_MS: Millis = 60_000;

/// Lets go of the incidents closed more than a day before the server's clock
/// ([`LIVE_AFTER_CLOSE_MS`](onegrid_protocol::LIVE_AFTER_CLOSE_MS)), as a new subscription
/// would not carry them, except the one selected: once a minute of the server's clock, and
/// when the selection changes. A console left running for weeks held every incident
/// closed since it started (Siming's simulated city closes 834 a day).
fn forget_closed(
    mut commands: Commands,
    mut index: ResMut<LiveIndex>,
    incidents: Query<&IncidentC>,
    feed: Res<Feed>,
    selection: Res<Selection>,
    mut last: Local<Millis>,
) {
    let now = feed.server_now;
    if (now - *last).abs() < FORGET_EVERY_MS && !selection.is_changed() {
        return;
    }
    *last = now;
    let gone: Vec<IncidentId> = index
        .incidents
        .iter()
        .filter(|&(id, &e)| Some(*id) != selection.incident && incidents.get(e).is_ok_and(|c| !c.0.is_live(now)))
        .map(|(id, _)| *id)
        .collect();
    for id in gone {
        if let Some(e) = index.incidents.remove(&id) {
            commands.entity(e).despawn();
        }
    }
}

/// Applies server messages in order.
#[allow(clippy::too_many_arguments)] // a bevy system: one parameter per resource it touches
pub fn apply_server(
    mut commands: Commands,
    mut events: MessageReader<ServerEvent>,
    mut index: ResMut<LiveIndex>,
    mut feed: ResMut<Feed>,
    mut tints: ResMut<CellTints>,
    mut ticker: ResMut<Ticker>,
    mut incidents: Query<&mut IncidentC>,
    mut units: Query<(&mut UnitC, &mut UnitPos)>,
    time: Res<Time>,
    mut fetched: MessageReader<FetchedIncident>,
    mut ahead: ResMut<RoadsAhead>,
) {
    let now = time.elapsed_secs_f64();
    // Asked for by number: held as any other, until let go of again.
    for FetchedIncident(i) in fetched.read() {
        upsert_incident(&mut commands, &mut index, &mut incidents, i.clone());
    }
    for ServerEvent(msg) in events.read() {
        match msg {
            ServerMsg::Snapshot { seq, journal, at, incidents: inc, units: us, cameras, cells } => {
                // The same server's clock never goes back: a snapshot shared with consoles
                // that subscribed before this one is up to two seconds old. Another
                // journal's clock starts anew.
                let same = feed.journal.as_ref() == Some(journal);
                feed.server_now = if same { feed.server_now.max(*at) } else { *at };
                feed.journal = Some(journal.clone());
                feed.seq = *seq;
                feed.snapshots += 1;
                reconcile_incidents(&mut commands, &mut index, &mut incidents, inc);
                reconcile_units(&mut commands, &mut index, &mut units, us);
                // Kept for the units still on their way to the same incident (another
                // server's are not: its units come with its own snapshot).
                let going: HashMap<UnitId, IncidentId> = us
                    .iter()
                    .filter(|u| same && u.status == UnitStatus::EnRoute)
                    .filter_map(|u| Some((u.id, u.task?)))
                    .collect();
                ahead.keep_going(&going);
                reconcile_cameras(&mut commands, &mut index, cameras);
                tints.0 = cells.iter().map(|c| (c.cell.clone(), c.clone())).collect();
            }
            ServerMsg::Delta { seq, at, changes } => {
                if *seq <= feed.seq {
                    continue;
                }
                feed.seq = *seq;
                feed.server_now = feed.server_now.max(*at);
                for change in changes {
                    apply_change(
                        &mut commands,
                        &mut index,
                        &mut incidents,
                        &mut units,
                        &mut tints,
                        &mut ticker,
                        change,
                        *at,
                        now,
                    );
                }
            }
            ServerMsg::Positions { at, units: rows, ahead: measured, ahead_s, no_road } => {
                let started = std::time::Instant::now();
                feed.server_now = feed.server_now.max(*at);
                feed.positions += rows.len() as u64;
                apply_positions(&index, &mut units, rows);
                ahead.take(rows, measured, ahead_s, no_road);
                feed.last_apply_us = started.elapsed().as_secs_f64() * 1e6;
            }
            ServerMsg::Welcome { user, archive_after_ms, features, .. } => {
                feed.user = Some(user.clone());
                feed.archive_after_ms = *archive_after_ms;
                feed.ways = features.iter().any(|f| f == onegrid_protocol::FEATURE_WAYS);
                feed.acknowledge = features.iter().any(|f| f == onegrid_protocol::FEATURE_ACKNOWLEDGE);
            }
            _ => {}
        }
    }
}

/// Despawns the entities whose ids a snapshot no longer has.
fn prune<K: Eq + std::hash::Hash>(
    commands: &mut Commands,
    index: &mut HashMap<K, Entity>,
    keep: impl Iterator<Item = K>,
) {
    let keep: std::collections::HashSet<K> = keep.collect();
    index.retain(|id, e| {
        let k = keep.contains(id);
        if !k {
            commands.entity(*e).despawn();
        }
        k
    });
}

fn reconcile_incidents(
    commands: &mut Commands,
    index: &mut LiveIndex,
    q: &mut Query<&mut IncidentC>,
    list: &[Incident],
) {
    prune(commands, &mut index.incidents, list.iter().map(|i| i.id));
    for i in list {
        upsert_incident(commands, index, q, i.clone());
    }
}

fn upsert_incident(commands: &mut Commands, index: &mut LiveIndex, q: &mut Query<&mut IncidentC>, i: Incident) -> bool {
    match index.incidents.get(&i.id) {
        Some(&e) => {
            match q.get_mut(e) {
                Ok(mut c) => c.0 = i,
                Err(_) => {
                    commands.entity(e).insert(IncidentC(i));
                }
            }
            false
        }
        None => {
            let id = i.id;
            let e = commands.spawn(IncidentC(i)).id();
            index.incidents.insert(id, e);
            true
        }
    }
}

fn reconcile_units(
    commands: &mut Commands,
    index: &mut LiveIndex,
    q: &mut Query<(&mut UnitC, &mut UnitPos)>,
    list: &[Unit],
) {
    prune(commands, &mut index.units, list.iter().map(|u| u.id));
    for u in list {
        upsert_unit(commands, index, q, u, true);
    }
}

fn unit_pos(u: &Unit) -> UnitPos {
    UnitPos { lonlat: u.position.map(|p| [p.x(), p.y()]), heading_deg: u.heading_deg, status: u.status }
}

/// Updates or adds a unit; `with_position` when the message carries the unit's position
/// (snapshots do, unit changes do not: positions come in their own frames).
fn upsert_unit(
    commands: &mut Commands,
    index: &mut LiveIndex,
    q: &mut Query<(&mut UnitC, &mut UnitPos)>,
    u: &Unit,
    with_position: bool,
) {
    match index.units.get(&u.id).map(|&e| (e, q.get_mut(e))) {
        Some((e, Ok((mut c, mut p)))) => {
            if c.0.kind != u.kind {
                mark_team(&mut commands.entity(e), u);
            }
            c.0 = u.clone();
            if with_position {
                *p = unit_pos(u);
            } else {
                p.status = u.status;
            }
        }
        Some((e, Err(_))) => {
            mark_team(commands.entity(e).insert((UnitC(u.clone()), unit_pos(u))), u);
        }
        None => {
            let e = mark_team(&mut commands.spawn((UnitC(u.clone()), unit_pos(u))), u).id();
            index.units.insert(u.id, e);
        }
    }
}

/// Marks the unit's entity as a team, or not.
fn mark_team<'a, 'b>(e: &'b mut EntityCommands<'a>, u: &Unit) -> &'b mut EntityCommands<'a> {
    if u.kind == onegrid_protocol::UnitKind::Team { e.insert(Team) } else { e.remove::<Team>() }
}

fn reconcile_cameras(commands: &mut Commands, index: &mut LiveIndex, list: &[Camera]) {
    prune(commands, &mut index.cameras, list.iter().map(|c| c.id));
    for c in list {
        match index.cameras.get(&c.id) {
            Some(&e) => {
                commands.entity(e).insert(CameraC(c.clone()));
            }
            None => {
                let e = commands.spawn(CameraC(c.clone())).id();
                index.cameras.insert(c.id, e);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_change(
    commands: &mut Commands,
    index: &mut LiveIndex,
    incidents: &mut Query<&mut IncidentC>,
    units: &mut Query<(&mut UnitC, &mut UnitPos)>,
    tints: &mut CellTints,
    ticker: &mut Ticker,
    change: &Change,
    at: Millis,
    now: f64,
) {
    match change {
        Change::Incident { event, incident } => {
            let is_new = upsert_incident(commands, index, incidents, (**incident).clone());
            if let Some(kind) = TickerKind::of_event(event) {
                ticker.push(TickerItem::new(kind, incident, at));
            }
            if is_new && let Some(&e) = index.incidents.get(&incident.id) {
                commands.entity(e).insert(Fresh { until: now + FLASH_SECS });
            }
        }
        Change::Unit { unit } => upsert_unit(commands, index, units, unit, false),
        Change::Cell { status } => {
            if status.open == 0 {
                tints.0.remove(&status.cell);
            } else {
                tints.0.insert(status.cell.clone(), status.clone());
            }
        }
    }
}

/// Applies one position frame: the hot path (thousands of rows a second).
pub fn apply_positions(index: &LiveIndex, units: &mut Query<(&mut UnitC, &mut UnitPos)>, rows: &[PositionRow]) {
    for &(id, lon, lat, heading_deg, status) in rows {
        let Some(&e) = index.units.get(&id) else { continue };
        if let Ok((_, mut p)) = units.get_mut(e) {
            *p = UnitPos { lonlat: Some([lon, lat]), heading_deg, status };
        }
    }
}

fn expire_fresh(mut commands: Commands, fresh: Query<(Entity, &Fresh)>, time: Res<Time>) {
    let now = time.elapsed_secs_f64();
    for (e, f) in &fresh {
        if f.until < now {
            commands.entity(e).remove::<Fresh>();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
