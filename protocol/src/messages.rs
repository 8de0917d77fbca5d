//! The messages of the live protocol, grouped by who sends them. Every message is one JSON
//! text frame tagged by `type`; see `PROTOCOL.md` for the session phases and examples.

use geo_types::Point;
use serde::{Deserialize, Serialize};

use crate::coord::Datum;
use crate::domain::{
    Camera, CameraId, CellStatus, Incident, IncidentId, Millis, Placement, Scale, Source, Unit, UnitId, UnitStatus,
    UserInfo,
};
use crate::map::CityMap;

/// The protocol version this crate speaks. A server refuses a `hello` with another one.
pub const PROTOCOL_VERSION: u32 = 1;

/// A layer a client can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Incidents and their changes.
    Incidents,
    /// Field units, their status and positions.
    Personnel,
    /// Cameras.
    Cameras,
    /// Per-cell counts of open and overdue incidents.
    Grid,
}

/// A longitude/latitude box, WGS-84: `[min_lon, min_lat, max_lon, max_lat]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox(pub [f64; 4]);

impl BBox {
    /// Whether the box holds `p` (edges included).
    pub fn contains(&self, p: Point) -> bool {
        let [x0, y0, x1, y1] = self.0;
        p.x() >= x0 && p.x() <= x1 && p.y() >= y0 && p.y() <= y1
    }
}

/// Where a resuming client left off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The journal id from the previous `snapshot` or `welcome`.
    pub journal: String,
    /// The last sequence number the client applied.
    pub seq: u64,
}

/// Messages from a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// First message: protocol version and credentials.
    Hello {
        /// Must equal [`PROTOCOL_VERSION`].
        version: u32,
        /// Access token.
        token: String,
        /// Free text naming the client program, for the log.
        #[serde(default)]
        client: String,
        /// The client reads binary frames, text frames compressed with gzip: the server
        /// then sends so its snapshots and other large sequenced frames. Absent (false) from
        /// clients that predate it, which get only text frames.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        gzip: bool,
    },
    /// Choose layers and an area; answered by a snapshot (or a replay when resuming).
    Subscribe {
        /// Layers wanted.
        layers: Vec<Layer>,
        /// Optional area; the user's scope applies in any case.
        #[serde(default)]
        area: Option<BBox>,
        /// Resume after a reconnect instead of taking a snapshot.
        #[serde(default)]
        resume: Option<Resume>,
    },
    /// A command that changes state; answered by `ack` or `error` with the same `req`.
    Command {
        /// Request id chosen by the client.
        req: String,
        /// The command.
        cmd: Command,
        /// Idempotency key chosen by the client, unique per user (e.g. 128 random bits):
        /// a command sent again with the same key (after a lost ack, a reconnect, a
        /// restarted server) is not applied twice but acknowledged as the first was, with
        /// `repeated`. Remembered for [`KEY_RETENTION_MS`](crate::validate::KEY_RETENTION_MS).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// A question that changes nothing; answered by `result` or `error`.
    Query {
        /// Request id chosen by the client.
        req: String,
        /// The question.
        q: Query,
    },
    /// Liveness check; answered by `pong`.
    Ping {
        /// Echoed back.
        #[serde(default)]
        t: i64,
    },
}

/// A fresh report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Category code from the responsibility list.
    pub category: String,
    /// Where (x = longitude, y = latitude), in `datum`.
    pub location: Point,
    /// The datum of `location`; WGS-84 when absent.
    #[serde(default)]
    pub datum: Datum,
    /// Intake channel.
    pub source: Source,
    /// What happened.
    pub description: String,
    /// References to photos and files.
    #[serde(default)]
    pub attachments: Vec<String>,
    /// 1 (low) to 4 (critical).
    pub severity: u8,
    /// How many people are involved.
    #[serde(default)]
    pub scale: Scale,
    /// How long the client held the report before it could send it (its link was down),
    /// in real milliseconds, at most [`MAX_HELD_MS`](crate::validate::MAX_HELD_MS): the
    /// server dates the report that much earlier, up to
    /// [`MAX_BACKDATE_MS`](crate::validate::MAX_BACKDATE_MS), so that its time limits run
    /// from when the matter was taken, not from when the link came back; a longer hold is
    /// kept as the client's word (`Incident::taken_at`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held_ms: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// A step on an existing incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Act {
    /// The incident.
    pub incident: IncidentId,
    /// Note or reason; required for return, reopen and escalate.
    #[serde(default)]
    pub note: String,
    /// For `start` only: the unit that arrived, when a dispatcher records its arrival for
    /// it (told by radio or telephone). A unit starting for itself need not name itself;
    /// a `start` naming none from a desk puts every unit sent on the scene, and is refused
    /// on a matter already in progress (which unit came?).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitId>,
}

/// Dispatch to units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispatch {
    /// The incident.
    pub incident: IncidentId,
    /// The units sent; at least one.
    pub units: Vec<UnitId>,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// A position from the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// The unit.
    pub unit: UnitId,
    /// Where (x = longitude, y = latitude), in `datum`.
    pub location: Point,
    /// The datum of `location`.
    #[serde(default)]
    pub datum: Datum,
    /// Heading, degrees clockwise from north.
    #[serde(default)]
    pub heading_deg: f32,
}

/// Commands; each is acknowledged once durable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Report a new incident.
    Report(Report),
    /// Accept.
    Accept(Act),
    /// Dispatch to units.
    Dispatch(Dispatch),
    /// Start handling on scene.
    Start(Act),
    /// Report the handling back.
    Feedback(Act),
    /// Verify.
    Verify(Act),
    /// Close.
    Close(Act),
    /// Send back.
    Return(Act),
    /// Reopen.
    Reopen(Act),
    /// Hand up a level (吹哨).
    Escalate(Act),
    /// A position update from the field.
    Position(Position),
    /// Acknowledge the alarm standing on an incident (a serious matter new, a whistle
    /// blown, a stage overdue): recorded in its history as `acknowledge`, for every desk
    /// to let go of it (see [`crate::alarm`]). Refused where no alarm stands, or one
    /// already covers it.
    Acknowledge {
        /// The incident.
        incident: IncidentId,
        /// A note (what was done on seeing it), if any.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// Set a unit's duty status (available or off duty).
    SetStatus {
        /// The unit.
        unit: UnitId,
        /// `available` or `off_duty`.
        status: UnitStatus,
    },
}

/// Questions that change nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "q", rename_all = "snake_case")]
pub enum Query {
    /// Where a point lies in every net.
    Locate {
        /// The point.
        location: Point,
        /// Its datum.
        #[serde(default)]
        datum: Datum,
    },
    /// The nearest available units to a point.
    Nearest {
        /// The point, WGS-84.
        location: Point,
        /// How many (at most 50).
        k: usize,
        /// Only units with this skill.
        #[serde(default)]
        skill: Option<String>,
    },
    /// Cameras whose field of view covers a point.
    Cameras {
        /// The point, WGS-84.
        location: Point,
    },
    /// One incident with its whole history.
    Incident {
        /// Its number.
        id: IncidentId,
    },
    /// A unit's recent track (downsampled), oldest first.
    Track {
        /// The unit.
        unit: UnitId,
    },
    /// How the named units would reach a point by road now: the units sent to a matter,
    /// followed on their way.
    Reach {
        /// The point, WGS-84.
        location: Point,
        /// The units (1 to 50).
        units: Vec<UnitId>,
    },
    /// The way by road each named unit would take to a point from where it is now, as it
    /// goes ([`crate::Travel`]): the units sent to a matter, drawn on the map.
    Ways {
        /// The point, WGS-84.
        location: Point,
        /// The units (1 to 50).
        units: Vec<UnitId>,
    },
    /// The city map: areas, overlay nets, cells, roads, categories (megabytes; ask once).
    Map {
        /// Lattice cells as their `(row, col)` alone, without outlines (about half the
        /// bytes; see [`crate::map`]). Absent (false) from clients that predate it, which
        /// get every outline.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        compact: bool,
    },
    /// One part of the compact map (see [`CityMap::split`](crate::map::CityMap::split)), from
    /// a server whose `welcome` gives `map_parts`: a client on a link that drops keeps the
    /// parts it has and asks only for the others.
    MapPart {
        /// The digest of the map the part belongs to (`welcome`'s `map_digest`).
        digest: String,
        /// Which part, from 0.
        part: u32,
        /// Answer in a binary frame: the answer's text frame, compressed with gzip (about a
        /// twelfth of the bytes). Absent (false): a text frame.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        gzip: bool,
    },
}

/// A unit found by a `nearest` query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearUnit {
    /// The unit.
    pub unit: UnitId,
    /// Its name.
    pub name: String,
    /// Straight-line distance, metres.
    pub distance_m: f64,
    /// Along the roads (the unit's way by road, [`crate::Travel`]: the fastest for a
    /// vehicle, the shortest for one at its own pace; with the straight legs between the
    /// roads and the unit and the point), metres; absent where no road leads there (another
    /// island) or the server has no roads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub road_m: Option<f64>,
    /// How long that takes the unit ([`crate::UnitKind::travel`]): at the roads' speeds,
    /// or at its own pace, seconds; absent with `road_m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_s: Option<f64>,
}

/// A unit's way by road to a point (answer to `ways`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitWay {
    /// The unit.
    pub unit: UnitId,
    /// The points to follow, `[lon, lat]` (WGS-84), from where the unit is to the point:
    /// onto the road it is on, along its way, off the road to the point.
    pub points: Vec<(f64, f64)>,
    /// Its length, metres.
    pub length_m: f64,
    /// How long it takes the unit without traffic, seconds.
    pub eta_s: f64,
}

/// Answers to queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "q", rename_all = "snake_case")]
pub enum QueryResult {
    /// Answer to `locate`.
    Locate {
        /// Where it lies.
        placement: Placement,
    },
    /// Answer to `nearest`, nearest first.
    Nearest {
        /// The units.
        units: Vec<NearUnit>,
    },
    /// Answer to `cameras`, nearest first.
    Cameras {
        /// Camera ids.
        cameras: Vec<CameraId>,
    },
    /// Answer to `incident`.
    Incident {
        /// The incident.
        incident: Box<Incident>,
    },
    /// Answer to `reach`: the units asked for that the user sees and that have a position,
    /// in the order asked, each as `nearest` gives it (without `road_m` and `eta_s` for one
    /// no road leads from).
    Reach {
        /// The units.
        units: Vec<NearUnit>,
    },
    /// Answer to `ways`: the units asked for that the user sees, that have a position and
    /// that a road leads from, in the order asked.
    Ways {
        /// Their ways.
        ways: Vec<UnitWay>,
    },
    /// Answer to `track`: `[time, lon, lat]` points, oldest first.
    Track {
        /// The unit.
        unit: UnitId,
        /// The points.
        points: Vec<(Millis, f64, f64)>,
    },
    /// Answer to `map`.
    Map {
        /// The map.
        map: Box<CityMap>,
    },
    /// Answer to `map_part`: the part's slice of each list of the map, with the map's own
    /// fields (name, lattice, …) repeated in every part.
    MapPart {
        /// The map's digest.
        digest: String,
        /// Which part.
        part: u32,
        /// How many parts the map has.
        parts: u32,
        /// Bytes of all the parts' answers together (for a progress bar).
        bytes: u64,
        /// The part.
        map: Box<CityMap>,
    },
}

/// One live change, in sequence order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// An incident as it is after the change; `event` names what happened.
    Incident {
        /// `reported`, an action name, `overdue` or `escalated`.
        event: String,
        /// The incident after it.
        incident: Box<Incident>,
    },
    /// A unit's status or task changed.
    Unit {
        /// The unit after it.
        unit: Box<Unit>,
    },
    /// A cell's counts changed.
    Cell {
        /// The counts.
        status: CellStatus,
    },
}

/// One position in a `positions` frame: `[unit, lon, lat, heading_deg, status]`.
pub type PositionRow = (UnitId, f64, f64, f32, UnitStatus);

/// The road still ahead of a unit on its way, in a `positions` frame: `[unit, incident,
/// metres]`, measured by the server from the position in the same frame to the incident
/// it is on its way to, along the way the unit goes ([`crate::Travel`]).
pub type AheadRow = (UnitId, IncidentId, f64);

/// How long the road still ahead takes a unit on its way, in a `positions` frame: `[unit,
/// seconds]`, at the roads' speeds for a vehicle, at its pace for one at its own
/// ([`crate::UnitKind::travel`]): no traffic; a client scales it by how the unit has been
/// keeping to it.
pub type AheadTimeRow = (UnitId, f64);

/// A unit on its way that no road leads from where it is to its incident (another island,
/// across the water), in a `positions` frame: `[unit, incident]`.
pub type NoRoadRow = (UnitId, IncidentId);

/// The feature a server names in `welcome` when it applies a keyed command at most once.
pub const FEATURE_KEYS: &str = "keys";

/// The feature a server names in its welcome when it answers the `ways` query.
pub const FEATURE_WAYS: &str = "ways";

/// The feature a server names in its welcome when it records acknowledgements of alarms
/// ([`Command::Acknowledge`]).
pub const FEATURE_ACKNOWLEDGE: &str = "acknowledge";

/// Messages from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// Answer to `hello`.
    Welcome {
        /// The server's protocol version.
        version: u32,
        /// Who the token belongs to.
        user: UserInfo,
        /// The journal's id: resume tokens are valid only against the same journal.
        journal: String,
        /// What this server does beyond the version's core: [`FEATURE_KEYS`] when it
        /// honours commands' idempotency keys (a client resends a command whose answer was
        /// lost only to a server that does), [`FEATURE_WAYS`] when it answers `ways`,
        /// [`FEATURE_ACKNOWLEDGE`] when it records acknowledgements of alarms.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        features: Vec<String>,
        /// A digest of the map the `map` query answers (compact form; see
        /// [`map_digest`](crate::map::map_digest)): a client that kept a map with this
        /// digest may use it instead of asking again. Absent from servers that predate it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        map_digest: Option<String>,
        /// In how many parts the `map_part` query gives the map; absent from servers that
        /// answer only `map`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        map_parts: Option<u32>,
        /// The digest ([`map_digest`](crate::map::map_digest)) of each part's answer, in
        /// order: of the whole `result` frame the server sends for part `k` asked under
        /// [`map_part_req`](crate::map::map_part_req)`(k)`, byte for byte. A client checks
        /// each part it receives or kept from an earlier run against it, so that a part
        /// spoilt on disk, or cut at other bounds by a server with another part size, is
        /// asked for again rather than joined into a wrong map. Absent from servers that
        /// predate it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        map_part_digests: Vec<String>,
        /// How long after closing an incident leaves the server's world for its archive:
        /// still given by number, no longer reopened (a matter that came back is reported
        /// anew). Absent from servers that predate it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        archive_after_ms: Option<Millis>,
    },
    /// The whole state in the subscribed layers, scope and area, as of `seq`.
    Snapshot {
        /// The last change included.
        seq: u64,
        /// The journal's id.
        journal: String,
        /// Server time.
        at: Millis,
        /// Incidents (layer `incidents`).
        incidents: Vec<Incident>,
        /// Units (layer `personnel`).
        units: Vec<Unit>,
        /// Cameras (layer `cameras`).
        cameras: Vec<Camera>,
        /// Cells with open incidents (layer `grid`).
        cells: Vec<CellStatus>,
    },
    /// The changes one event made, after the snapshot; sequence numbers rise, with gaps
    /// for what lies outside the client's scope.
    Delta {
        /// Sequence number.
        seq: u64,
        /// Server time of the event.
        at: Millis,
        /// The changes, in the client's scope.
        changes: Vec<Change>,
    },
    /// Answer to a `subscribe` with `resume`: the replay that follows ends at `seq`.
    Resumed {
        /// The client's last sequence number.
        from: u64,
        /// The last sequence number replayed.
        seq: u64,
    },
    /// The latest positions of units that moved (latest per unit wins).
    Positions {
        /// Server time.
        at: Millis,
        /// Rows.
        units: Vec<PositionRow>,
        /// The road still ahead of each unit in `units` that is on its way to an incident
        /// and has a road to it; a row without one here has none measured. Absent from
        /// servers that predate it (and when no row has one).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ahead: Vec<AheadRow>,
        /// How long the road ahead of each unit in `ahead` takes it. Absent from servers
        /// that predate it (and with `ahead`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ahead_s: Vec<AheadTimeRow>,
        /// The units in `units` on their way to an incident that were measured and that no
        /// road leads from: the road ahead is not unknown there but does not exist. Absent
        /// from servers that predate it (and when there is none).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        no_road: Vec<NoRoadRow>,
    },
    /// A command is durable and applied.
    Ack {
        /// The request id.
        req: String,
        /// The sequence number of its change, if it made one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        /// The incident it made or changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident: Option<IncidentId>,
        /// The command's key had been applied before: nothing changed now, and `seq` and
        /// `incident` are those of the first time.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        repeated: bool,
    },
    /// Answer to a query.
    Result {
        /// The request id.
        req: String,
        /// The answer.
        result: QueryResult,
    },
    /// Something refused; nothing changed.
    Error {
        /// The request id, when the error answers a command or query.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<String>,
        /// Machine-readable reason.
        code: ErrorCode,
        /// Words for a person.
        message: String,
    },
    /// Answer to `ping`.
    Pong {
        /// Echoed.
        t: i64,
    },
}

/// Why something was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a message this protocol knows the shape of.
    BadFrame,
    /// A `type` this protocol does not have.
    UnknownType,
    /// Larger than the frame limit.
    FrameTooLarge,
    /// `hello` with another protocol version.
    UnsupportedVersion,
    /// A message before `hello`, or a second `hello`.
    NotAuthenticated,
    /// The token is unknown.
    BadToken,
    /// The role may not do this.
    Forbidden,
    /// The target lies outside the user's scope.
    OutOfScope,
    /// Not allowed in the incident's state.
    IllegalTransition,
    /// No such incident, unit or category.
    NotFound,
    /// A field is missing or out of range.
    Invalid,
    /// The location lies outside the city's grid.
    OutsideCity,
    /// The server is saturated; try again.
    Overloaded,
    /// The server failed; nothing was changed.
    Internal,
}

impl ServerMsg {
    /// An error frame.
    pub fn error(req: Option<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMsg::Error { req, code, message: message.into() }
    }
}
