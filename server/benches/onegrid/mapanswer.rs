//! The `map` answer: what a server spends per console that asks, and what a console spends
//! decoding it. Against the baseline of the same run: cloning the decoded map and encoding it
//! whole with every outline (what each request cost before the answer was encoded once at
//! load), and decoding that full form. A request is answered by a copy of the encoded
//! answer in a new frame, or, asked again with the same id (as consoles do), by the last
//! frame shared.
//!
//! The map in parts (`map_part`), against the whole compact answer in the same run: the bytes
//! on the wire, the server's one-off cost of cutting and encoding them at load, and the
//! client's cost of checking them against their digests, decoding them all and joining them.
//!
//! `ONEGRID_BENCH_MAP=DIR` measures another map directory (say `maps build --profile bay`).

use std::hint::black_box;

use onegrid_protocol::{CityMap, QueryResult, ServerMsg};
use onegrid_server::city;

use crate::common::{line, map_dir, time};

/// Median seconds of `rounds` runs of `f`.
fn median(rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..rounds).map(|_| time(&mut f).1).collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

pub fn run() -> anyhow::Result<()> {
    println!("== map answer");
    let dir = std::env::var("ONEGRID_BENCH_MAP").map(std::path::PathBuf::from).unwrap_or_else(|_| map_dir());
    let city = city::load(&dir)?;
    let map = city.map.decode().map_err(anyhow::Error::msg)?;
    let compact = city.map.frame("map", true).map_err(anyhow::Error::msg)?;
    let full = city.map.frame("map", false).map_err(anyhow::Error::msg)?;
    line("map", &format!("{}: {} cells", dir.display(), map.cells.len()));
    line("compact / full answer, MB", &format!("{:.1} / {:.1}", compact.len() as f64 / 1e6, full.len() as f64 / 1e6));

    let rounds = 7;
    let t_old = median(rounds, || {
        let result = QueryResult::Map { map: Box::new(map.clone()) };
        black_box(onegrid_server::hub::encode(&ServerMsg::Result { req: "map".into(), result }));
    });
    let t_new = median(rounds, || {
        black_box(city.map.build("map", true).ok());
    });
    let _ = city.map.frame("map", true);
    let t_shared = median(rounds, || {
        black_box(city.map.frame("map", true).ok());
    });
    line("server per request: clone + encode (baseline), ms", &format!("{:.2}", t_old * 1e3));
    line("server per request: copy of the encoded answer, ms", &format!("{:.2}", t_new * 1e3));
    line("server per request: the same id again (shared), us", &format!("{:.2}", t_shared * 1e6));
    line("server per request, copy / baseline", &format!("{:.3}x", t_new / t_old));
    line("server per request, shared / baseline", &format!("{:.5}x", t_shared / t_old));

    let decode = |text: &str| {
        let msg: ServerMsg = serde_json::from_str(text).expect("decodes");
        let ServerMsg::Result { result: QueryResult::Map { map }, .. } = msg else { panic!("not a map") };
        black_box::<Box<CityMap>>(map);
    };
    let t_full = median(rounds, || decode(&full));
    let t_compact = median(rounds, || decode(&compact));
    line("client decoding the full form (baseline), ms", &format!("{:.1}", t_full * 1e3));
    line("client decoding the compact form (squares rebuilt), ms", &format!("{:.1}", t_compact * 1e3));
    line("client decoding, ratio", &format!("{:.2}x", t_compact / t_full));

    // In parts.
    let frames: Vec<_> = (0..city.map.parts())
        .map(|k| city.map.part(&onegrid_protocol::map::map_part_req(k), city.map.digest(), k))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let part_bytes: usize = frames.iter().map(|f| f.len()).sum();
    line("parts, count", &format!("{}", frames.len()));
    line("parts / whole compact answer, bytes", &format!("{:.4}x", part_bytes as f64 / compact.len() as f64));
    let gzip_bytes: usize = (0..city.map.parts())
        .map(|k| city.map.part_gzip(&onegrid_protocol::map::map_part_req(k), city.map.digest(), k).map(|z| z.len()))
        .sum::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    line("parts compressed (gzip), MB", &format!("{:.2}", gzip_bytes as f64 / 1e6));
    line(
        "parts compressed / whole compact answer, bytes",
        &format!("{:.4}x", gzip_bytes as f64 / compact.len() as f64),
    );
    let t_gzip = median(rounds, || {
        for f in &frames {
            black_box(city::export::gzip(f));
        }
    });
    line("server at load: compressing the parts, ms", &format!("{:.1}", t_gzip * 1e3));
    let zipped: Vec<_> = frames.iter().map(|f| city::export::gzip(f)).collect();
    let t_gunzip = median(rounds, || {
        for z in &zipped {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&z[..]), &mut text);
            black_box(text);
        }
    });
    line("client decompressing the parts, ms", &format!("{:.1}", t_gunzip * 1e3));
    let small = map.clone().into_compact();
    let t_whole_encode = median(rounds, || {
        black_box(serde_json::to_string(&small).ok());
    });
    let t_parts_encode = median(rounds, || {
        for part in small.clone().split(city::export::PART_BYTES) {
            black_box(serde_json::to_string(&part).ok());
        }
    });
    line("server at load: encode whole (baseline), ms", &format!("{:.1}", t_whole_encode * 1e3));
    line("server at load: clone, cut and encode parts, ms", &format!("{:.1}", t_parts_encode * 1e3));
    line("server at load, parts / whole", &format!("{:.2}x", t_parts_encode / t_whole_encode));
    line(
        "server at load, parts and compressing / whole",
        &format!("{:.2}x", (t_parts_encode + t_gzip) / t_whole_encode),
    );
    let t_parts_decode = median(rounds, || {
        let parts = frames.iter().map(|f| {
            let msg: ServerMsg = serde_json::from_str(f).expect("decodes");
            let ServerMsg::Result { result: QueryResult::MapPart { map, .. }, .. } = msg else { panic!("not a part") };
            *map
        });
        black_box(CityMap::join(parts).ok());
    });
    line("client decoding the parts and joining them, ms", &format!("{:.1}", t_parts_decode * 1e3));
    line("client decoding, parts / whole compact", &format!("{:.2}x", t_parts_decode / t_compact));
    let t_digest = median(rounds, || {
        for f in &frames {
            black_box(onegrid_protocol::map::map_digest(f.as_bytes()));
        }
    });
    line("client checking the parts' digests, ms", &format!("{:.1}", t_digest * 1e3));
    line(
        "client decompressing, checking and decoding, parts / whole",
        &format!("{:.2}x", (t_gunzip + t_digest + t_parts_decode) / t_compact),
    );
    Ok(())
}
