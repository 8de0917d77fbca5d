//! Reads: snapshots, resumes and queries.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use geo_types::Point;

use onegrid_protocol::coord::to_wgs84;
use onegrid_protocol::{
    ErrorCode, Layer, NearUnit, Query, QueryResult, Resume, ServerMsg, Travel, Unit, UnitId, UnitStatus, UnitWay,
    UserInfo,
};

use super::board::Board;
use super::{Engine, Published, lock};
use crate::hub::{Body, ClientHandle, Filter, Out, SharedSnapshot, encode};
use crate::world::Refusal;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How long a snapshot built for one client serves others that subscribe with the same
/// filter, followed by the deltas since it was built and the latest positions.
pub const SHARE_SNAPSHOT_FOR: Duration = Duration::from_secs(2);

/// A snapshot built for a filter: as of `seq`, built `when`.
#[derive(Debug)]
pub struct Built {
    seq: u64,
    when: Instant,
    frame: Arc<SharedSnapshot>,
}

impl Built {
    /// Whether it is young enough to share.
    fn fresh(&self) -> bool {
        self.when.elapsed() < SHARE_SNAPSHOT_FOR
    }
}

/// Whether the ring holds every change after `seq` (or `seq` is the published one).
fn ring_reaches(published: &Published, seq: u64) -> bool {
    let now = published.world.seq;
    let oldest = published.ring.front().map_or(now + 1, |(s, _, _)| *s);
    seq <= now && seq + 1 >= oldest
}

/// A unit `metres` away in a straight line as a candidate for the roads: what the answer
/// says of it, its position and how it goes by road.
fn candidate(
    units: &BTreeMap<UnitId, Unit>,
    board: &Board,
    id: UnitId,
    metres: f64,
) -> Option<(NearUnit, Point, Travel)> {
    let u = units.get(&id)?;
    let near = NearUnit { unit: id, name: u.name.clone(), distance_m: metres, road_m: None, eta_s: None };
    Some((near, board.fix(id)?.at, u.kind.travel()))
}

impl Engine {
    /// The snapshot `filter` sees, as of the published state.
    fn snapshot(&self, published: &Published, filter: &Filter) -> ServerMsg {
        let world = &published.world;
        let layers = filter.layers;
        let now = self.clock.now();
        // The live picture: open incidents and those closed within a day; older ones are
        // asked for by number.
        let incidents = if layers.has(Layer::Incidents) {
            let live = world.incidents.values().filter(|i| i.is_live(now));
            live.filter(|i| filter.sees(&i.placement, i.location)).cloned().collect()
        } else {
            Vec::new()
        };
        let units = if layers.has(Layer::Personnel) {
            let board = lock(&self.live.board);
            world
                .units
                .values()
                .filter_map(|u| {
                    let fix = board.fix(u.id);
                    filter.sees_unit(&u.home, fix.map(|f| f.at)).then(|| {
                        let mut u = u.clone();
                        u.position = fix.map(|f| f.at);
                        u.heading_deg = fix.map_or(0.0, |f| f.heading_deg);
                        u
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let cameras = if layers.has(Layer::Cameras) {
            self.cameras.cameras().iter().filter(|c| filter.sees(&c.placement, c.position)).cloned().collect()
        } else {
            Vec::new()
        };
        let cells = if layers.has(Layer::Grid) {
            let mut cells: Vec<_> =
                world.cells.values().filter(|s| filter.sees_cell(&self.live.city, &s.cell)).cloned().collect();
            cells.sort_by(|a, b| a.cell.cmp(&b.cell));
            cells
        } else {
            Vec::new()
        };
        ServerMsg::Snapshot {
            seq: world.seq,
            journal: self.journal_id().to_owned(),
            at: now,
            incidents,
            units,
            cameras,
            cells,
        }
    }

    /// Subscribes `client` with `filter`: a snapshot, or the replay after `resume` when the
    /// resume ring still holds it; registered in the hub under the same lock so that no
    /// change falls between the two. The snapshot is encoded by the client's writer, off
    /// the lock; one built for the same filter within [`SHARE_SNAPSHOT_FOR`] is shared (see
    /// [`Engine::snapshot_frames`]).
    pub fn subscribe(&self, client: &Arc<ClientHandle>, filter: Filter, resume: Option<&Resume>) {
        let published = self.live.published.write().unwrap_or_else(|e| e.into_inner());
        let replay = resume.and_then(|r| self.replay(&published, &filter, r));
        let (first, shared) = match replay {
            Some(frames) => (frames, false),
            None => self.snapshot_frames(&published, &filter, true),
        };
        client.resubscribe(filter, first);
        if shared {
            client.refresh_positions();
        }
        self.live.hub.register(client);
        drop(published);
    }

    /// The frames that take a client from `resume` to now, if the ring reaches back that far.
    fn replay(&self, published: &Published, filter: &Filter, resume: &Resume) -> Option<Vec<Out>> {
        let now = published.world.seq;
        if resume.journal != self.journal_id() || !ring_reaches(published, resume.seq) {
            return None;
        }
        let resumed = encode(&ServerMsg::Resumed { from: resume.seq, seq: now });
        let mut frames = vec![Out::text(None, resumed)];
        frames.extend(self.deltas_since(published, filter, resume.seq));
        Some(frames)
    }

    /// The deltas `filter` sees after `from`, from the ring (which must reach back so far).
    fn deltas_since(&self, published: &Published, filter: &Filter, from: u64) -> Vec<Out> {
        let mut frames = vec![];
        for (seq, at, changes) in published.ring.iter().filter(|(s, _, _)| *s > from) {
            let mine = filter.changes(&self.live.city, changes);
            if !mine.is_empty() {
                frames.push(Out::text(Some(*seq), encode(&ServerMsg::Delta { seq: *seq, at: *at, changes: mine })));
            }
        }
        frames
    }

    /// The frames that bring a client with `filter` to the published state, and whether
    /// they were shared: the snapshot last built for the same filter, when it is younger
    /// than [`SHARE_SNAPSHOT_FOR`] and the ring still holds every change since, followed
    /// by the deltas since (only when `with_deltas`; else only one as of the published
    /// state); else a new snapshot, kept for the next. The positions in a shared snapshot
    /// may have moved on: the caller has the client sent the latest ones. A wall's
    /// consoles, or a centre's after a power cut, subscribing together with the same
    /// filter then cost one snapshot, encoded and compressed once.
    fn snapshot_frames(&self, published: &Published, filter: &Filter, with_deltas: bool) -> (Vec<Out>, bool) {
        let mut built = lock(&self.live.snapshots);
        built.retain(|_, b| b.fresh());
        if let Some(b) = built.get(&filter.key)
            && ring_reaches(published, b.seq)
            && (with_deltas || b.seq == published.world.seq)
        {
            let mut frames = vec![Out { seq: Some(b.seq), reset: false, body: Body::Snapshot(b.frame.clone()) }];
            frames.extend(self.deltas_since(published, filter, b.seq));
            return (frames, true);
        }
        let seq = published.world.seq;
        let frame = SharedSnapshot::new(self.snapshot(published, filter));
        built.insert(filter.key.clone(), Built { seq, when: Instant::now(), frame: frame.clone() });
        (vec![Out { seq: Some(seq), reset: false, body: Body::Snapshot(frame) }], false)
    }

    /// Lets go of the kept snapshots too old to share.
    pub fn expire_snapshots(&self) {
        lock(&self.live.snapshots).retain(|_, b| b.fresh());
    }

    /// How many snapshots are kept for sharing.
    pub fn kept_snapshots(&self) -> usize {
        lock(&self.live.snapshots).len()
    }

    /// A snapshot as of the published state for a client that fell behind, with its
    /// sequence number, and whether it was shared (see [`Engine::snapshot_frames`]): never
    /// one followed by deltas, which would give a client that could not keep up with them
    /// a backlog again.
    pub fn resnapshot(&self, filter: &Filter) -> (Vec<Out>, bool) {
        let published = self.live.published.read().unwrap_or_else(|e| e.into_inner());
        self.snapshot_frames(&published, filter, false)
    }

    /// The latest position of every unit `filter` sees, as one frame; none for a filter
    /// without the personnel layer.
    pub fn full_positions(&self, filter: &Filter) -> Option<Out> {
        if !filter.layers.personnel() {
            return None;
        }
        let all = lock(&self.live.board).all();
        super::board::encode_positions(self.clock.now(), &all, |m| filter.sees_unit(&m.home, Some(m.fix.at)))
            .map(|(text, _)| Out::text(None, text.into()))
    }

    /// The encoded frame answering query `req` for `user`: the map's bytes as encoded at
    /// load, any other answer or refusal encoded now.
    pub fn answer(&self, user: &UserInfo, req: String, q: &Query) -> Utf8Bytes {
        if let Query::Map { compact } = q {
            return match self.live.city.map.frame(&req, *compact) {
                Ok(frame) => frame,
                Err(e) => encode(&ServerMsg::error(Some(req), ErrorCode::Internal, e)),
            };
        }
        if let Query::MapPart { digest, part, .. } = q {
            return match self.live.city.map.part(&req, digest, *part) {
                Ok(frame) => frame,
                Err(e) => encode(&ServerMsg::error(Some(req), ErrorCode::NotFound, e)),
            };
        }
        match self.query(user, q) {
            Ok(result) => encode(&ServerMsg::Result { req, result }),
            Err(r) => encode(&ServerMsg::error(Some(req), r.code, r.message)),
        }
    }

    /// The answer to `q` under `req` compressed with gzip, when `q` asks for it so and the
    /// answer is there (a map part); else `None`, and [`Engine::answer`] answers, in text.
    pub fn answer_gzip(&self, req: &str, q: &Query) -> Option<bytes::Bytes> {
        match q {
            Query::MapPart { digest, part, gzip: true } => self.live.city.map.part_gzip(req, digest, *part).ok(),
            _ => None,
        }
    }

    /// The `k` available units in `user`'s scope (with `skill`, if named) that would reach
    /// `location` soonest by road, soonest first, then any that no road leads from, nearest
    /// first. The candidates are the nearest in a straight line, four times as many as
    /// asked for (at least 32), taken under the locks; the roads are searched after they
    /// are let go, so routing never holds up the positions.
    pub fn nearest(&self, user: &UserInfo, location: Point, k: usize, skill: Option<&str>) -> Vec<NearUnit> {
        let pool = (k.saturating_mul(4)).clamp(32, 200);
        let candidates = self.with_units(|units, board| {
            let found = board.nearest(location, pool, |id| {
                units.get(&id).is_some_and(|u| {
                    u.status == UnitStatus::Available
                        && user.scope.contains(&u.home)
                        && skill.is_none_or(|s| u.skills.iter().any(|x| x == s))
                })
            });
            found.into_iter().filter_map(|(id, d)| candidate(units, board, id, d)).collect()
        });
        let mut units = self.by_road(location, candidates, k);
        // Soonest by road first; those no road reaches after, nearest first (the sort is
        // stable, and the candidates came nearest first).
        units.sort_by(|a, b| match (a.eta_s, b.eta_s) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        units.truncate(k);
        units
    }

    /// How each of `asked` that `user` sees and that has a position would reach `location`
    /// by road now, in the order asked (the units sent to a matter, followed on their way).
    pub fn reach(&self, user: &UserInfo, location: Point, asked: &[UnitId]) -> Vec<NearUnit> {
        let candidates: Vec<(NearUnit, Point, Travel)> = self.with_units(|units, board| {
            asked
                .iter()
                .filter(|id| units.get(id).is_some_and(|u| user.scope.contains(&u.home) || user.unit == Some(**id)))
                .filter_map(|id| {
                    let metres = self.live.city.metric.metres(board.fix(*id)?.at, location);
                    candidate(units, board, *id, metres)
                })
                .collect()
        });
        let n = candidates.len();
        self.by_road(location, candidates, n)
    }

    /// The way by road each of `asked` that `user` sees and that has a position would take
    /// to `location` now, as it goes, in the order asked; none for one no road leads from.
    /// The positions are taken under the locks, the routes found after.
    pub fn ways(&self, user: &UserInfo, location: Point, asked: &[UnitId]) -> Vec<UnitWay> {
        let from: Vec<(UnitId, Point, Travel)> = self.with_units(|units, board| {
            asked
                .iter()
                .filter_map(|id| {
                    let u = units.get(id).filter(|u| user.scope.contains(&u.home) || user.unit == Some(*id))?;
                    Some((*id, board.fix(*id)?.at, u.kind.travel()))
                })
                .collect()
        });
        let roads = &self.live.city.roads;
        from.into_iter()
            .filter_map(|(unit, at, travel)| {
                let r = roads.route_between(at, location, travel)?;
                let points = r.points.iter().map(|p| (p.x(), p.y())).collect();
                Some(UnitWay { unit, points, length_m: r.length_m, eta_s: r.time_s })
            })
            .collect()
    }

    /// `f` of the published world's units and the position board, under their locks.
    fn with_units<T>(&self, f: impl FnOnce(&BTreeMap<UnitId, Unit>, &Board) -> T) -> T {
        let published = self.live.published.read().unwrap_or_else(|e| e.into_inner());
        let board = lock(&self.live.board);
        f(&published.world.units, &board)
    }

    /// The candidates with the length and time of their way by road to `location` (the
    /// fastest for a vehicle, the shortest at its pace for one on a bicycle), from one
    /// search for each way of going that stops once nothing left can beat the `enough`-th
    /// soonest.
    fn by_road(&self, location: Point, candidates: Vec<(NearUnit, Point, Travel)>, enough: usize) -> Vec<NearUnit> {
        let targets: Vec<(Point, Travel)> = candidates.iter().map(|(_, p, v)| (*p, *v)).collect();
        let reached = self.live.city.roads.reach(location, &targets, enough);
        candidates
            .into_iter()
            .zip(reached)
            .map(|((mut near, _, _), r)| {
                if let Some(r) = r {
                    near.road_m = Some(r.length_m);
                    near.eta_s = Some(r.time_s);
                }
                near
            })
            .collect()
    }

    /// Answers a query for `user`.
    pub fn query(&self, user: &UserInfo, q: &Query) -> Result<QueryResult, Refusal> {
        let refuse = |code, message: String| Err(Refusal { code, message });
        match q {
            Query::Locate { location, datum } => {
                let p = to_wgs84(*location, *datum);
                match self.live.city.cells.locate(p) {
                    Some(placement) => Ok(QueryResult::Locate { placement: (**placement).clone() }),
                    None => refuse(
                        ErrorCode::OutsideCity,
                        format!("({:.6}, {:.6}) lies outside the city's grid", p.x(), p.y()),
                    ),
                }
            }
            Query::Nearest { location, k, skill } => {
                Ok(QueryResult::Nearest { units: self.nearest(user, *location, *k, skill.as_deref()) })
            }
            // Sessions send the encoded answer ([`Engine::answer`]); this decodes it again.
            Query::Map { .. } => match self.live.city.map.decode() {
                Ok(map) => Ok(QueryResult::Map { map: Box::new(map) }),
                Err(e) => refuse(ErrorCode::Internal, e),
            },
            Query::MapPart { digest, part, .. } => {
                let req = onegrid_protocol::map::map_part_req(*part);
                match self.live.city.map.part(&req, digest, *part) {
                    Ok(frame) => match serde_json::from_str::<ServerMsg>(&frame) {
                        Ok(ServerMsg::Result { result, .. }) => Ok(result),
                        _ => refuse(ErrorCode::Internal, "a part of the encoded map does not decode".to_owned()),
                    },
                    Err(e) => refuse(ErrorCode::NotFound, e),
                }
            }
            Query::Reach { location, units } => Ok(QueryResult::Reach { units: self.reach(user, *location, units) }),
            Query::Ways { location, units } => Ok(QueryResult::Ways { ways: self.ways(user, *location, units) }),
            Query::Cameras { location } => Ok(QueryResult::Cameras { cameras: self.cameras.covering(*location) }),
            Query::Track { unit } => {
                let home = self.with_published(|p| p.world.units.get(unit).map(|u| u.home.clone()));
                match home {
                    Some(h) if user.scope.contains(&h) || user.unit == Some(*unit) => {
                        let points =
                            lock(&self.live.board).recent_track(*unit).iter().map(|p| (p.at, p.lon, p.lat)).collect();
                        Ok(QueryResult::Track { unit: *unit, points })
                    }
                    Some(_) => refuse(ErrorCode::OutOfScope, format!("unit {unit} is outside your scope")),
                    None => refuse(ErrorCode::NotFound, format!("no unit {unit}")),
                }
            }
            Query::Incident { id } => {
                let held = self.with_published(|p| p.world.incidents.get(id).cloned());
                // One the published world no longer holds was archived, and its archive
                // row committed, before the publisher let it go.
                let found = match held {
                    Some(i) => Some(i),
                    None => self.archived(*id)?,
                };
                match found {
                    Some(i) if user.scope.contains(&i.placement) => Ok(QueryResult::Incident { incident: Box::new(i) }),
                    Some(_) => refuse(ErrorCode::OutOfScope, format!("incident {id} is outside your scope")),
                    None => refuse(ErrorCode::NotFound, format!("no incident {id}")),
                }
            }
        }
    }
}
