//! The map kept across runs: the server's last `map` answer as it came, in
//! `<data>/maps/<digest>.json`, named by the digest the server's `welcome` gives its map
//! (`map_digest`). A console started again, or reconnecting after it restarted, whose
//! server names the same digest reads the map from disk instead of asking for it: the
//! whole of Xiamen is 53 MB, half a minute on a slow link and a gigabyte over the wire when
//! twenty consoles start together after a power cut. A file that does not read as a map
//! answer is removed and the map asked for; a new map replaces the files of older ones.
//! Written to a temporary file and renamed, so that a crash or a second console writing
//! the same map never leaves half a file under the name.
//!
//! A server that gives its map in parts (`welcome`'s `map_parts`) has each part kept as it
//! arrives, in `<data>/maps/<digest>.parts/<k>.json` ([`MapParts`]): a link that drops
//! loses at most the parts under way, and a console started again asks only for those it
//! lacks. Once all are in, the parts are the kept map.

use std::path::{Path, PathBuf};

use onegrid_protocol::{CityMap, QueryResult, ServerMsg};

/// The file of the map with `digest` in `dir`; `None` for a digest that is not a plain
/// hex name (a server's word is not a path).
fn file(dir: &Path, digest: &str) -> Option<PathBuf> {
    let plain = !digest.is_empty() && digest.len() <= 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    plain.then(|| dir.join(format!("{digest}.json")))
}

/// The kept answer for the map with `digest`, decoded, if there is one that reads; one that
/// does not is removed (and said in the log).
pub fn load(dir: &Path, digest: &str) -> Option<ServerMsg> {
    let path = file(dir, digest)?;
    let text = std::fs::read_to_string(&path).ok()?;
    match serde_json::from_str::<ServerMsg>(&text) {
        Ok(msg @ ServerMsg::Result { result: QueryResult::Map { .. }, .. }) => {
            tracing::info!(path = %path.display(), "the map is the one kept from an earlier run");
            Some(msg)
        }
        Ok(_) => forget(&path, "not a map answer"),
        Err(e) => forget(&path, &e.to_string()),
    }
}

fn forget(path: &Path, why: &str) -> Option<ServerMsg> {
    tracing::warn!(path = %path.display(), "the kept map does not read ({why}); asking the server for it");
    let _ = std::fs::remove_file(path);
    None
}

/// Keeps `text`, the server's answer for the map with `digest`, and removes the maps kept
/// before it. Off the caller's thread: writing tens of megabytes must not hold the link.
pub fn keep(dir: PathBuf, digest: String, text: tokio_tungstenite::tungstenite::Utf8Bytes) {
    let spawned = std::thread::Builder::new().name("onegrid-mapcache".into()).spawn(move || {
        if let Err(e) = write(&dir, &digest, text.as_str()) {
            tracing::warn!(dir = %dir.display(), "cannot keep the map for the next run: {e}");
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("cannot keep the map for the next run: {e}");
    }
}

/// Writes the map's file (through a temporary one) and removes the other maps' files.
pub fn write(dir: &Path, digest: &str, text: &str) -> std::io::Result<()> {
    let Some(path) = file(dir, digest) else { return Ok(()) };
    std::fs::create_dir_all(dir)?;
    // The whole map in hand, its parts are not needed: gone before the whole appears, so
    // that no one sees both.
    if let Some(parts) = parts_dir(dir, digest) {
        let _ = std::fs::remove_dir_all(parts);
    }
    write_through_tmp(&path, text)?;
    forget_others(dir, digest);
    tracing::info!(path = %path.display(), bytes = text.len(), "map kept for the next run");
    Ok(())
}

/// Writes `text` to `path` through a temporary file beside it.
fn write_through_tmp(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Removes what is kept of every map but `digest`'s: whole files and folders of parts.
fn forget_others(dir: &Path, digest: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for p in entries.flatten().map(|e| e.path()) {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(other) = name.strip_suffix(".json").or_else(|| name.strip_suffix(".parts")) else { continue };
        if other != digest {
            let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        }
    }
}

/// Removes the parts kept in `dir` of the map with `digest` (they did not make a map).
pub fn forget_parts(dir: &Path, digest: &str) {
    if let Some(folder) = parts_dir(dir, digest)
        && std::fs::remove_dir_all(&folder).is_ok()
    {
        tracing::warn!(folder = %folder.display(), "the kept parts of the map do not make one; removed");
    }
}

/// The folder of the parts of the map with `digest`; `None` for a digest that is no plain
/// hex name.
fn parts_dir(dir: &Path, digest: &str) -> Option<PathBuf> {
    file(dir, digest).map(|f| f.with_extension("parts"))
}

/// The parts of a map that comes in parts, as far as they are in: decoded, with the bytes
/// of their answers. Kept across reconnects in memory and, with a folder, across runs.
#[derive(Debug)]
pub struct MapParts {
    /// The map's digest.
    pub digest: String,
    /// The digest of each part's answer, from the server's `welcome`; empty from a server
    /// that gives none, whose parts are then taken unchecked.
    pub expect: Vec<String>,
    parts: Vec<Option<CityMap>>,
    /// Bytes of the answers in hand.
    pub held: u64,
    /// Bytes of all the answers, once a part has said.
    pub total: Option<u64>,
}

impl MapParts {
    /// None of the `count` parts of the map with `digest` yet; each part's answer is to have
    /// the digest `expect` gives it (when it gives one for every part).
    pub fn new(digest: &str, count: u32, mut expect: Vec<String>) -> Self {
        if expect.len() != count as usize {
            expect.clear();
        }
        let parts = (0..count).map(|_| None).collect();
        MapParts { digest: digest.to_owned(), expect, parts, held: 0, total: None }
    }

    /// How many parts the map has.
    pub fn count(&self) -> u32 {
        self.parts.len() as u32
    }

    /// The parts not yet in, in order.
    pub fn missing(&self) -> Vec<u32> {
        (0..self.count()).filter(|&k| self.parts[k as usize].is_none()).collect()
    }

    /// Takes in `answer`, the answer (as it came, `text`) to a `map_part` query, keeping it
    /// in `dir` when there is one. An error, and nothing taken, when it is a part of another
    /// map or of another count of parts, or its answer is not the one the server's digest
    /// names (spoilt, or cut at other bounds).
    pub fn put(&mut self, answer: QueryResult, text: &str, dir: Option<&Path>) -> Result<(), String> {
        let QueryResult::MapPart { digest, part, parts, bytes, map } = answer else {
            return Err("not a map part".into());
        };
        if digest != self.digest || parts != self.count() || part >= parts {
            return Err(format!(
                "part {part} of {parts} of map {digest}, not of {} of map {}",
                self.count(),
                self.digest
            ));
        }
        if let Some(want) = self.expect.get(part as usize) {
            let got = onegrid_protocol::map::map_digest(text.as_bytes());
            if got != *want {
                return Err(format!("part {part}'s digest is {got}, not the server's {want}"));
            }
        }
        if let Some(dir) = dir
            && let Err(e) = keep_part(dir, &digest, part, text)
        {
            tracing::warn!(dir = %dir.display(), "cannot keep part {part} of the map for the next run: {e}");
        }
        let slot = &mut self.parts[part as usize];
        if slot.is_none() {
            self.held += text.len() as u64;
        }
        *slot = Some(*map);
        self.total = Some(bytes);
        Ok(())
    }

    /// Whether every part is in.
    pub fn complete(&self) -> bool {
        self.parts.iter().all(Option::is_some)
    }

    /// The map the parts make, once all are in (else `None`); an error when they do not
    /// make one (parts of different maps).
    pub fn join(&mut self) -> Option<Result<CityMap, String>> {
        if !self.complete() {
            return None;
        }
        Some(CityMap::join(self.parts.iter_mut().filter_map(Option::take)))
    }

    /// What is kept in `dir` of the `count` parts of the map with `digest`: those that read
    /// (and have the digests `expect` gives). A part that does not is removed (and said in
    /// the log).
    pub fn load(dir: &Path, digest: &str, count: u32, expect: Vec<String>) -> Self {
        let mut parts = MapParts::new(digest, count, expect);
        let Some(folder) = parts_dir(dir, digest) else { return parts };
        for k in 0..count {
            let path = folder.join(format!("{k}.json"));
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let why = match serde_json::from_str::<ServerMsg>(&text) {
                Ok(ServerMsg::Result { result, .. }) => match parts.put(result, &text, None) {
                    Ok(()) => continue,
                    Err(e) => e,
                },
                Ok(_) => "not a map part".to_owned(),
                Err(e) => e.to_string(),
            };
            let _ = forget(&path, &why);
        }
        if parts.held > 0 {
            tracing::info!(
                folder = %folder.display(),
                have = count - parts.missing().len() as u32,
                count,
                "parts of the map kept from an earlier run"
            );
        }
        parts
    }
}

/// Keeps part `k` of the map with `digest`, its answer as it came, and removes what is kept
/// of other maps when this map's folder is new.
fn keep_part(dir: &Path, digest: &str, k: u32, text: &str) -> std::io::Result<()> {
    let Some(folder) = parts_dir(dir, digest) else { return Ok(()) };
    if !folder.is_dir() {
        std::fs::create_dir_all(&folder)?;
        forget_others(dir, digest);
    }
    write_through_tmp(&folder.join(format!("{k}.json")), text)
}

#[cfg(test)]
mod tests {
    use onegrid_protocol::map::{map_digest, map_part_req};

    use super::*;

    const ANSWER: &str = r#"{"type":"result","req":"map","result":{"q":"map","map":{"name":"测试市","code":"999900000000",
        "profile":"t","reference":{"x":118.0,"y":24.0},"synthetic_layers":[],"attribution":[],"areas":[],
        "overlays":[],"cells":[],"roads":[],"categories":[]}}}"#;

    #[test]
    fn a_kept_map_is_read_back_by_its_digest_and_replaces_older_ones() {
        let dir = tempfile::tempdir().expect("dir");
        write(dir.path(), "00aa", ANSWER).expect("kept");
        write(dir.path(), "00bb", ANSWER).expect("kept");
        assert!(load(dir.path(), "00aa").is_none(), "an older map is gone");
        let Some(ServerMsg::Result { req, result: QueryResult::Map { map } }) = load(dir.path(), "00bb") else {
            panic!("the kept map")
        };
        assert_eq!((req.as_str(), map.name.as_str()), ("map", "测试市"));
        assert!(load(dir.path(), "00cc").is_none(), "another digest: ask the server");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("00bb.json")], "no temporary file left");
    }

    #[test]
    fn a_kept_map_that_does_not_read_is_removed_and_a_strange_digest_is_no_path() {
        let dir = tempfile::tempdir().expect("dir");
        write(dir.path(), "00aa", &ANSWER[..ANSWER.len() / 2]).expect("kept");
        assert!(load(dir.path(), "00aa").is_none());
        assert!(!dir.path().join("00aa.json").exists(), "removed, so the next run asks at once");
        write(dir.path(), "00ab", r#"{"type":"pong","t":1}"#).expect("kept");
        assert!(load(dir.path(), "00ab").is_none(), "not a map answer");
        write(dir.path(), "../evil", ANSWER).expect("ignored");
        assert!(!dir.path().join("../evil.json").exists());
        assert!(load(dir.path(), "../evil").is_none());
    }

    /// The answer to a `map_part` query for part `k` of the two-part map "00cc", a map
    /// whose only area is `area`.
    fn part(k: u32, area: &str) -> (QueryResult, String) {
        let ServerMsg::Result { result: QueryResult::Map { mut map }, .. } =
            serde_json::from_str::<ServerMsg>(ANSWER).expect("answer")
        else {
            panic!("a map")
        };
        map.areas.push(onegrid_protocol::MapArea {
            level: onegrid_protocol::Level::Community,
            code: area.into(),
            name: area.into(),
            parent: String::new(),
            outline: geo_types::MultiPolygon(vec![]),
            synthetic: false,
        });
        let result = QueryResult::MapPart { digest: "00cc".into(), part: k, parts: 2, bytes: 999, map };
        let text = serde_json::to_string(&ServerMsg::Result { req: map_part_req(k), result: result.clone() })
            .expect("encodes");
        (result, text)
    }

    #[test]
    fn parts_are_kept_as_they_come_and_a_console_started_again_asks_only_for_the_others() {
        let dir = tempfile::tempdir().expect("dir");
        write(dir.path(), "00aa", ANSWER).expect("an older map kept whole");
        let mut parts = MapParts::new("00cc", 2, vec![]);
        assert_eq!(parts.missing(), vec![0, 1]);
        let (second, text) = part(1, "B");
        parts.put(second, &text, Some(dir.path())).expect("taken");
        assert!(!dir.path().join("00aa.json").exists(), "another map's file goes when this one's parts come");
        assert_eq!((parts.missing(), parts.held, parts.total), (vec![0], text.len() as u64, Some(999)));
        assert!(parts.join().is_none(), "not all in");
        // Another map's part, or one of another count, is not taken.
        let (QueryResult::MapPart { map, .. }, other) = part(0, "X") else { panic!() };
        let stranger = QueryResult::MapPart { digest: "00dd".into(), part: 0, parts: 2, bytes: 9, map: map.clone() };
        parts.put(stranger, &other, Some(dir.path())).expect_err("another map");
        let recount = QueryResult::MapPart { digest: "00cc".into(), part: 0, parts: 3, bytes: 9, map };
        parts.put(recount, &other, Some(dir.path())).expect_err("another count");
        assert_eq!(parts.missing(), vec![0]);

        // Started again: what was kept is in hand; only part 0 is asked for.
        let mut again = MapParts::load(dir.path(), "00cc", 2, vec![]);
        assert_eq!((again.missing(), again.held), (vec![0], text.len() as u64));
        let (first, text0) = part(0, "A");
        again.put(first, &text0, Some(dir.path())).expect("taken");
        let map = again.join().expect("all in").expect("joins");
        let names: Vec<_> = map.areas.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["A", "B"], "in the parts' order, whatever order they came in");
        assert!(MapParts::load(dir.path(), "00cc", 2, vec![]).missing().is_empty(), "the whole map is kept");
    }

    #[test]
    fn a_kept_part_that_does_not_read_is_removed_and_asked_for_again() {
        let dir = tempfile::tempdir().expect("dir");
        let mut parts = MapParts::new("00cc", 2, vec![]);
        for k in 0..2 {
            let (answer, text) = part(k, "A");
            parts.put(answer, &text, Some(dir.path())).expect("taken");
        }
        let folder = dir.path().join("00cc.parts");
        std::fs::write(folder.join("1.json"), "{\"type\":\"result\",\"req\"").expect("torn");
        let again = MapParts::load(dir.path(), "00cc", 2, vec![]);
        assert_eq!(again.missing(), vec![1]);
        assert!(!folder.join("1.json").exists(), "removed");
        // A whole map kept later for another digest takes the parts' place.
        write(dir.path(), "00ee", ANSWER).expect("kept");
        assert!(!folder.exists());
        assert!(MapParts::load(dir.path(), "../x", 2, vec![]).missing().len() == 2, "a strange digest is no path");
    }

    #[test]
    fn a_part_is_checked_against_the_servers_digest_live_and_when_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let (a0, t0) = part(0, "A");
        let (a1, t1) = part(1, "B");
        let expect = vec![map_digest(t0.as_bytes()), map_digest(t1.as_bytes())];
        let mut parts = MapParts::new("00cc", 2, expect.clone());
        parts.put(a0, &t0, Some(dir.path())).expect("its digest");
        // Part 1 as a server cutting at other bounds gives it: it reads, and is not part 1.
        let (other, t_other) = part(1, "C");
        let e = parts.put(other, &t_other, Some(dir.path())).expect_err("another part 1");
        assert!(e.contains("part 1's digest") && e.contains(&expect[1]), "{e}");
        assert_eq!(parts.missing(), vec![1]);
        parts.put(a1, &t1, Some(dir.path())).expect("its digest");

        // On disk, part 0 spoilt where it still reads (a name changed, not its length).
        let folder = dir.path().join("00cc.parts");
        let spoilt = t0.replace("\"A\"", "\"Z\"");
        assert_ne!(spoilt, t0);
        std::fs::write(folder.join("0.json"), &spoilt).expect("spoilt");
        assert!(serde_json::from_str::<ServerMsg>(&spoilt).is_ok(), "it still reads");
        let again = MapParts::load(dir.path(), "00cc", 2, expect.clone());
        assert_eq!(again.missing(), vec![0], "only the spoilt part is asked for again");
        assert!(!folder.join("0.json").exists(), "removed");
        // Unchecked, it would have been taken: the digests are what caught it.
        std::fs::write(folder.join("0.json"), &spoilt).expect("spoilt");
        assert!(MapParts::load(dir.path(), "00cc", 2, vec![]).missing().is_empty());
        // A list that does not give every part a digest is not used.
        assert!(MapParts::new("00cc", 2, vec![expect[0].clone()]).expect.is_empty());
    }
}
