//! The map kept across runs: the server's last `map` answer as it came, in
//! `<data>/maps/<digest>.json`, named by the digest the server's `welcome` gives its map
//! (`map_digest`). A console started again, or reconnecting after it restarted, whose
//! server names the same digest reads the map from disk instead of asking for it: the
//! whole of Xiamen is 53 MB, half a minute on a slow link and a gigabyte over the wire when
//! twenty consoles start together after a power cut. A file that does not read as a map
//! answer is removed and the map asked for; a new map replaces the files of older ones.
//! Written to a temporary file and renamed, so that a crash or a second console writing
//! the same map never leaves half a file under the name.

use std::path::{Path, PathBuf};

use onegrid_protocol::{QueryResult, ServerMsg};

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
    let tmp = dir.join(format!(".{digest}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let p = entry.path();
        if p != path && p.extension().is_some_and(|e| e == "json") {
            let _ = std::fs::remove_file(p);
        }
    }
    tracing::info!(path = %path.display(), bytes = text.len(), "map kept for the next run");
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
