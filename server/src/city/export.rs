//! The city as consoles draw it: [`CityMap`], built once when the map directory is loaded
//! and handed out by the `map` query. Only what a console shows goes in (outlines, cells
//! with their nets, road lines, categories with their departments and time limits); nothing of
//! the roster or of live state.
//!
//! The map is the same for every user, so it is encoded once, at load, into a
//! [`MapReply`]: answering a console is then one copy of its bytes, not a clone of the
//! city's cells and a fresh encoding (tens of megabytes for a whole city). The encoding is
//! also what is kept: the decoded map is not held in memory.

use std::collections::HashMap;

use std::sync::{Arc, Mutex, OnceLock};

use onegrid_protocol::validate::MAX_SERVER_FRAME_BYTES;
use onegrid_protocol::{CityMap, GridLattice, MapArea, MapCategory, MapCell, MapOverlay, MapRoad, Net, QueryResult};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::roads::Way;
use super::{AdminUnit, Manifest, OverlayUnit, ResponsibilityList};
use crate::spatial::CellIndex;

/// What [`city_map`] reads.
pub struct Parts<'a> {
    /// The manifest.
    pub manifest: &'a Manifest,
    /// Administrative units.
    pub admin: &'a HashMap<String, AdminUnit>,
    /// Overlay units.
    pub overlays: &'a [OverlayUnit],
    /// Cells.
    pub cells: &'a CellIndex,
    /// Road ways.
    pub ways: &'a [Way],
    /// The responsibility list.
    pub responsibility: &'a ResponsibilityList,
}

fn net(name: &str) -> Net {
    if name == "supervision" { Net::Supervision } else { Net::Responsibility }
}

/// The console's map of a loaded city; areas sorted by level (top first) and code.
pub fn city_map(p: &Parts<'_>) -> CityMap {
    let m = p.manifest;
    let mut areas: Vec<MapArea> = p
        .admin
        .values()
        .map(|a| MapArea {
            level: a.level,
            code: a.code.clone(),
            name: a.name.clone(),
            parent: a.parent.clone(),
            outline: a.outline.clone(),
            synthetic: a.synthetic,
        })
        .collect();
    areas.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.code.cmp(&b.code)));
    let overlays = p
        .overlays
        .iter()
        .map(|o| MapOverlay {
            net: net(&o.net),
            code: o.code.clone(),
            name: o.name.clone(),
            outline: o.outline.clone(),
        })
        .collect();
    let lattice = m.lattice.map(|l| GridLattice {
        origin_lon: l.origin_lon,
        origin_lat: l.origin_lat,
        dlon: l.dlon,
        dlat: l.dlat,
        cell_m: l.cell_m,
    });
    let cells = p
        .cells
        .cells()
        .iter()
        .map(|c| MapCell {
            code: c.placement.cell.clone(),
            outline: c.polygon.clone(),
            // Only a cell that is its lattice square travels as its position alone.
            lattice_pos: c.lattice_pos.filter(|&pos| lattice.is_some_and(|l| is_square(&l, pos, &c.polygon))),
            community: c.placement.community.clone(),
            responsibility_unit: c.placement.responsibility_unit.clone(),
            supervision_unit: c.placement.supervision_unit.clone(),
            grid_worker: c.placement.grid_worker,
        })
        .collect();
    let roads = p.ways.iter().map(|w| MapRoad { class: w.class.clone(), line: w.line.clone() }).collect();
    let categories = p
        .responsibility
        .categories
        .iter()
        .map(|c| MapCategory {
            code: c.code.clone(),
            name: c.name.clone(),
            module: c.module.clone(),
            department: c.department.clone(),
            level: c.level,
            skills: c.skills.clone(),
            limits_mins: Some(c.limits_mins),
        })
        .collect();
    CityMap {
        name: m.name.clone(),
        code: m.code.clone(),
        profile: m.profile.clone(),
        reference: geo_types::Point::new(m.reference[0], m.reference[1]),
        lattice,
        synthetic_layers: m.synthetic_layers.clone(),
        attribution: m.attribution.clone(),
        areas,
        overlays,
        cells,
        roads,
        categories,
    }
}

/// How far a cell's corner may lie from its lattice node and still be that node: map files
/// keep six decimals (half of 1e-6°, about 5 cm, off at most).
const NODE_TOLERANCE_DEG: f64 = 2e-6;

/// Whether `outline` is lattice square `pos`, corner by corner.
fn is_square(l: &GridLattice, pos: (i32, i32), outline: &geo_types::Polygon) -> bool {
    let square = l.square(pos);
    outline.interiors().is_empty()
        && outline.exterior().0.len() == square.exterior().0.len()
        && outline
            .exterior()
            .0
            .iter()
            .zip(&square.exterior().0)
            .all(|(a, b)| (a.x - b.x).abs() <= NODE_TOLERANCE_DEG && (a.y - b.y).abs() <= NODE_TOLERANCE_DEG)
}

/// The `map` answer, encoded once: the JSON of [`QueryResult::Map`] for the city, in its
/// compact form, and in the full form with every cell's outline for clients that predate
/// the compact one, encoded the first time one asks. The last whole frame is kept too:
/// consoles ask with the same request id, so the consoles of a wall starting together share
/// one buffer (53 MB for the whole of Xiamen) instead of a copy each.
///
/// And the map in parts of about [`PART_BYTES`] (what consoles ask for: `map_part`), each
/// a whole `result` frame for the request id [`map_part_req`] gives it, and the same
/// compressed with gzip, shared by every console that asks with that id.
#[derive(Debug)]
pub struct MapReply {
    compact: Arc<str>,
    digest: String,
    full: OnceLock<Result<Arc<str>, String>>,
    last: Mutex<Option<(String, bool, Utf8Bytes)>>,
    parts: Vec<PartFrame>,
}

/// About how many bytes of JSON a part of the map holds: two seconds at 2 Mbit/s, so that a
/// link that holds for a few seconds at a time still moves the map on.
pub const PART_BYTES: usize = 512 * 1024;

/// One part's frame, the same compressed with gzip, and where in the frame its `result`
/// lies (to answer another request id).
#[derive(Debug)]
struct PartFrame {
    frame: Utf8Bytes,
    gzip: bytes::Bytes,
    /// The digest of `frame` (`welcome`'s `map_part_digests`).
    digest: String,
    result: std::ops::Range<usize>,
}

/// `text` compressed with gzip (the default level: the whole city's 53 MB in 4.1 MB), for
/// what is compressed once and sent many times.
pub fn gzip(text: &str) -> bytes::Bytes {
    gzip_at(text, flate2::Compression::default())
}

/// `text` compressed with gzip at the fastest level, for what is compressed for one client
/// (a snapshot).
pub fn gzip_fast(text: &str) -> bytes::Bytes {
    gzip_at(text, flate2::Compression::fast())
}

fn gzip_at(text: &str, level: flate2::Compression) -> bytes::Bytes {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::with_capacity(text.len() / 8), level);
    // Writing to memory does not fail.
    let _ = z.write_all(text.as_bytes());
    bytes::Bytes::from(z.finish().unwrap_or_default())
}

/// The frame `{"type":"result","req":<req>,"result":<result>}`.
fn result_frame(req: &str, result: &str) -> String {
    let req = serde_json::to_string(req).unwrap_or_else(|_| "\"\"".to_owned());
    let mut s = String::with_capacity(result.len() + req.len() + 32);
    s.push_str("{\"type\":\"result\",\"req\":");
    s.push_str(&req);
    s.push_str(",\"result\":");
    s.push_str(result);
    s.push('}');
    s
}

/// The `map_part` answers' frames of the compact `map`, for request ids [`map_part_req`].
fn part_frames(map: CityMap, digest: &str) -> Result<Vec<PartFrame>, String> {
    let maps: Vec<String> = map
        .split(PART_BYTES)
        .iter()
        .map(|part| serde_json::to_string(part).map_err(|e| format!("cannot encode a part of the map: {e}")))
        .collect::<Result<_, _>>()?;
    let parts = maps.len();
    let digest = serde_json::to_string(digest).unwrap_or_default();
    // Each answer's length, less the total's own digits, which are the same in all.
    let head = |k: usize, bytes: &str| {
        format!("{{\"q\":\"map_part\",\"digest\":{digest},\"part\":{k},\"parts\":{parts},\"bytes\":{bytes},\"map\":")
    };
    let without_total: usize = maps.iter().enumerate().map(|(k, m)| head(k, "").len() + m.len() + 1).sum();
    let mut total = without_total;
    // The total counts its own digits in every part: settle on a length that stays put.
    for _ in 0..3 {
        total = without_total + parts * total.to_string().len();
    }
    Ok(maps
        .into_iter()
        .enumerate()
        .map(|(k, m)| {
            let result = format!("{}{m}}}", head(k, &total.to_string()));
            let frame = result_frame(&map_part_req(k as u32), &result);
            let start = frame.len() - 1 - result.len();
            PartFrame {
                result: start..start + result.len(),
                gzip: gzip(&frame),
                digest: onegrid_protocol::map::map_digest(frame.as_bytes()),
                frame: Utf8Bytes::from(frame),
            }
        })
        .collect())
}

/// The request id under which a console asks for part `k` of the map, and the server keeps
/// its answer ready.
pub fn map_part_req(k: u32) -> String {
    onegrid_protocol::map::map_part_req(k)
}

/// The most an answer may be: a frame, less room for the envelope around it and the
/// longest request id.
const FRAME_ROOM: usize = MAX_SERVER_FRAME_BYTES - 1024;

/// The answer's JSON, or why it cannot be sent: larger than `limit` bytes.
fn encode_map(map: &CityMap, limit: usize) -> Result<Arc<str>, String> {
    let name = &map.name;
    // `QueryResult::Map`'s form, written around the map so that it need not be moved in.
    let map_json = serde_json::to_string(map).map_err(|e| format!("cannot encode the map of {name}: {e}"))?;
    let result = format!("{{\"q\":\"map\",\"map\":{map_json}}}");
    if result.len() > limit {
        return Err(format!(
            "the map of {name} is {:.1} MB on the wire, over the {} MB one frame may carry: split the city",
            result.len() as f64 / 1e6,
            limit / 1_000_000
        ));
    }
    Ok(result.into())
}

impl MapReply {
    /// Encodes `map`; an error when its compact answer would not fit in one frame a client
    /// reads ([`MAX_SERVER_FRAME_BYTES`]).
    pub fn new(map: CityMap) -> Result<Self, String> {
        let map = map.into_compact();
        let compact = encode_map(&map, FRAME_ROOM)?;
        let digest = onegrid_protocol::map::map_digest(compact.as_bytes());
        let parts = part_frames(map, &digest)?;
        Ok(MapReply { compact, digest, full: OnceLock::new(), last: Mutex::new(None), parts })
    }

    /// How many parts the map travels in (`welcome`'s `map_parts`).
    pub fn parts(&self) -> u32 {
        self.parts.len() as u32
    }

    /// The digest of each part's frame, in order (`welcome`'s `map_part_digests`).
    pub fn part_digests(&self) -> Vec<String> {
        self.parts.iter().map(|p| p.digest.clone()).collect()
    }

    /// The frame answering `req`, a `map_part` query for part `part` of the map with
    /// `digest`: the one kept for [`map_part_req`]`(part)`, shared, or a new one for
    /// another id. An error, in words, when this map is not `digest` or has no such part.
    pub fn part(&self, req: &str, digest: &str, part: u32) -> Result<Utf8Bytes, String> {
        let p = self.part_frame(digest, part)?;
        if req == map_part_req(part) {
            return Ok(p.frame.clone());
        }
        Ok(Utf8Bytes::from(result_frame(req, &p.frame.as_str()[p.result.clone()])))
    }

    /// The same frame as [`MapReply::part`], compressed with gzip: kept ready for
    /// [`map_part_req`]`(part)`, compressed anew for another id.
    pub fn part_gzip(&self, req: &str, digest: &str, part: u32) -> Result<bytes::Bytes, String> {
        let p = self.part_frame(digest, part)?;
        if req == map_part_req(part) {
            return Ok(p.gzip.clone());
        }
        Ok(gzip(&result_frame(req, &p.frame.as_str()[p.result.clone()])))
    }

    fn part_frame(&self, digest: &str, part: u32) -> Result<&PartFrame, String> {
        if digest != self.digest {
            return Err(format!("the map here is {}, not {digest}: reconnect and ask again", self.digest));
        }
        self.parts.get(part as usize).ok_or_else(|| {
            format!("the map has {} parts, 0 to {}; there is no part {part}", self.parts.len(), self.parts.len() - 1)
        })
    }

    /// The digest `welcome` names the map by (of the compact answer).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The whole `result` frame answering request `req`, compact or with every outline:
    /// the last one built when it answered the same request id in the same form (shared,
    /// not copied), else a new one.
    pub fn frame(&self, req: &str, compact: bool) -> Result<Utf8Bytes, String> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((r, c, frame)) = last.as_ref()
            && r == req
            && *c == compact
        {
            return Ok(frame.clone());
        }
        let frame = self.build(req, compact)?;
        *last = Some((req.to_owned(), compact, frame.clone()));
        Ok(frame)
    }

    /// A new frame answering `req` (the bench measures it against the old path).
    pub fn build(&self, req: &str, compact: bool) -> Result<Utf8Bytes, String> {
        let result = if compact { &self.compact } else { self.full()? };
        Ok(Utf8Bytes::from(result_frame(req, result)))
    }

    fn full(&self) -> Result<&Arc<str>, String> {
        self.full.get_or_init(|| encode_map(&self.decode()?, FRAME_ROOM)).as_ref().map_err(Clone::clone)
    }

    /// Bytes of the compact answer.
    pub fn len(&self) -> usize {
        self.compact.len()
    }

    /// Whether the answer is empty (never: it names at least the city).
    pub fn is_empty(&self) -> bool {
        self.compact.is_empty()
    }

    /// The map, decoded again (every outline back), for callers inside the server and tools;
    /// sessions send the bytes.
    pub fn decode(&self) -> Result<CityMap, String> {
        match serde_json::from_str::<QueryResult>(&self.compact) {
            Ok(QueryResult::Map { map }) => Ok(*map),
            Ok(_) => Err("the encoded map answer is another result".to_owned()),
            Err(e) => Err(format!("the encoded map does not decode: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use onegrid_protocol::ServerMsg;

    use super::*;

    #[test]
    fn the_map_answer_is_the_encoded_result_in_either_form() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen");
        let city = crate::city::load(&dir).expect("the default city");
        let map = city.map.decode().expect("decodes");
        assert!(map.cells.iter().all(|c| c.outline.exterior().0.len() == 5), "every square back");
        let mut sizes = vec![];
        for compact in [true, false] {
            let req = "map \"1\"";
            let frame = city.map.frame(req, compact).expect("a frame");
            let sent = if compact { map.clone().into_compact() } else { map.clone() };
            let want = ServerMsg::Result { req: req.into(), result: QueryResult::Map { map: Box::new(sent) } };
            // Byte for byte what encoding the whole message gives.
            assert!(*frame == *crate::hub::encode(&want), "compact: {compact}");
            sizes.push(frame.len());
            // Asked again with the same id: the same buffer, not a copy.
            let again = city.map.frame(req, compact).expect("a frame");
            assert_eq!(again.as_str().as_ptr(), frame.as_str().as_ptr(), "shared");
            let other = city.map.frame("other", compact).expect("a frame");
            assert!(other.as_str().contains("\"req\":\"other\""));
        }
        assert!(sizes[0] * 10 < sizes[1] * 7, "the compact form is much smaller: {sizes:?}");
    }

    #[test]
    fn the_map_in_parts_is_the_encoded_answers_and_joins_back_into_the_map() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen");
        let city = crate::city::load(&dir).expect("the default city");
        let reply = &city.map;
        let map = reply.decode().expect("decodes");
        let pieces = map.clone().into_compact().split(PART_BYTES);
        let n = reply.parts();
        assert!(n >= 4 && n as usize == pieces.len(), "Siming's 2.7 MB in parts of 512 KiB: {n}");
        let digests = reply.part_digests();
        assert_eq!(digests.len(), n as usize);
        assert!(digests.windows(2).all(|w| w[0] != w[1]), "every part its own digest");
        let mut total = 0;
        let mut decoded = vec![];
        for (k, piece) in pieces.into_iter().enumerate() {
            let req = map_part_req(k as u32);
            let frame = reply.part(&req, reply.digest(), k as u32).expect("a part");
            let Ok(ServerMsg::Result { result: QueryResult::MapPart { bytes, .. }, .. }) =
                serde_json::from_str::<ServerMsg>(&frame)
            else {
                panic!("part {k} is not a map part")
            };
            let result = QueryResult::MapPart {
                digest: reply.digest().to_owned(),
                part: k as u32,
                parts: n,
                bytes,
                map: Box::new(piece),
            };
            let want = ServerMsg::Result { req: req.clone(), result: result.clone() };
            // Byte for byte what encoding the whole message gives.
            assert!(*frame == *crate::hub::encode(&want), "part {k}");
            let digest = &reply.part_digests()[k];
            assert_eq!(*digest, onegrid_protocol::map::map_digest(frame.as_bytes()), "part {k}'s digest");
            total += serde_json::to_string(&result).expect("encodes").len() as u64;
            // The same buffer for every console that asks under that id; another id, the same answer.
            let again = reply.part(&req, reply.digest(), k as u32).expect("a part");
            assert_eq!(again.as_str().as_ptr(), frame.as_str().as_ptr(), "shared");
            // Compressed, the same frame in a fraction of the bytes.
            let gunzip = |z: &[u8]| {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(z), &mut text).expect("gunzips");
                text
            };
            let z = reply.part_gzip(&req, reply.digest(), k as u32).expect("a part");
            assert_eq!(gunzip(&z), frame.as_str(), "part {k} compressed");
            assert!(z.len() * 5 < frame.len(), "part {k}: {} of {} bytes", z.len(), frame.len());
            let other = reply.part("p", reply.digest(), k as u32).expect("a part");
            let z = reply.part_gzip("p", reply.digest(), k as u32).expect("a part");
            assert_eq!(gunzip(&z), other.as_str(), "part {k} for another id, compressed");
            let want = ServerMsg::Result { req: "p".into(), result };
            assert!(*other == *crate::hub::encode(&want), "part {k} for another id");
            let Ok(ServerMsg::Result { result: QueryResult::MapPart { map, .. }, .. }) =
                serde_json::from_str::<ServerMsg>(&other)
            else {
                panic!("part {k}")
            };
            decoded.push(*map);
        }
        let Ok(ServerMsg::Result { result: QueryResult::MapPart { bytes, .. }, .. }) =
            serde_json::from_str::<ServerMsg>(&reply.part("p", reply.digest(), 0).expect("a part"))
        else {
            panic!("part 0")
        };
        assert_eq!(bytes, total, "every part says the bytes of all the answers");
        assert_eq!(CityMap::join(decoded).expect("joins"), map);
        let e = reply.part("p", "0123456789abcdef", 0).expect_err("another map");
        assert!(
            e.starts_with("the map here is ") && e.ends_with("not 0123456789abcdef: reconnect and ask again"),
            "{e}"
        );
        assert!(reply.part_gzip("p", "0123456789abcdef", 0).is_err());
        let e = reply.part("p", reply.digest(), n).expect_err("no such part");
        assert_eq!(e, format!("the map has {n} parts, 0 to {}; there is no part {n}", n - 1));
    }

    #[test]
    fn a_map_too_large_for_one_frame_is_refused_in_words() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen");
        let map = crate::city::load(&dir).expect("the default city").map.decode().expect("decodes");
        let e = encode_map(&map, 1_000_000).expect_err("2.7 MB is over 1 MB");
        assert!(e.starts_with("the map of 厦门市 is ") && e.contains("split the city"), "{e}");
        assert!(encode_map(&map, FRAME_ROOM).is_ok());
    }

    #[test]
    fn only_a_cell_that_is_its_lattice_square_travels_as_its_position() {
        let l = GridLattice { origin_lon: 118.0, origin_lat: 24.0, dlon: 0.001, dlat: 0.0009, cell_m: 100.0 };
        let square = l.square((2, 5));
        assert!(is_square(&l, (2, 5), &square));
        // As a map file keeps it, six decimals.
        let rounded = geo_types::Polygon::new(
            square.exterior().0.iter().map(|c| ((c.x * 1e6).round() / 1e6, (c.y * 1e6).round() / 1e6)).collect(),
            vec![],
        );
        assert!(is_square(&l, (2, 5), &rounded));
        assert!(!is_square(&l, (2, 6), &square), "another square");
        let cut = geo_types::Polygon::new(
            vec![(118.005, 24.0018), (118.006, 24.0018), (118.005, 24.0027), (118.005, 24.0018)].into(),
            vec![],
        );
        assert!(!is_square(&l, (2, 5), &cut), "cut by the coast");
    }
}
