//! The `map` query: a console gets the whole city it draws from the server it talks to —
//! areas with their hierarchy, the three nets, roads and the category list — whatever the
//! user's scope (the base map is not scoped; live data is).

use onegrid_e2e::TestServer;
use onegrid_protocol::{Level, Net, Query, QueryResult};

#[tokio::test]
async fn the_map_query_answers_the_citys_areas_nets_cells_roads_and_categories() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut wall = server.client("dev-wall").await?;
    let Ok(QueryResult::Map { map }) = wall.query(Query::Map { compact: true }).await? else { anyhow::bail!("no map") };
    assert_eq!(map.name, "厦门市");
    let city = server.running.engine.city();
    assert_eq!(map.cells.len(), city.cells.cells().len());
    assert!(map.cells.iter().all(|c| c.lattice_pos.is_some() && c.outline.exterior().0.len() == 5));
    let count = |l: Level| map.areas.iter().filter(|a| a.level == l).count();
    assert_eq!((count(Level::District), count(Level::Street)), (1, 10));
    assert!(count(Level::Community) > 90);
    let siming = map.areas.iter().find(|a| a.name == "思明区").expect("思明区");
    assert!(!siming.synthetic, "the district outline is real");
    assert!(map.areas.iter().filter(|a| a.level == Level::Street).all(|s| s.parent == siming.code && s.synthetic));
    let nets = |n: Net| map.overlays.iter().filter(|o| o.net == n).count();
    assert_eq!((nets(Net::Responsibility), nets(Net::Supervision)), (534, 252));
    assert!(map.roads.len() > 1_000);
    assert_eq!(map.categories.len(), city.responsibility.categories.len());
    for (sent, listed) in map.categories.iter().zip(&city.responsibility.categories) {
        assert_eq!(sent.limits_mins, Some(listed.limits_mins), "{}: the stages' time limits", sent.code);
    }
    assert!(map.synthetic_layers.iter().any(|l| l == "roads"));
    assert!(map.lattice.is_some());

    let code = siming.code.clone();
    let street = map.areas.iter().find(|a| a.level == Level::Street).expect("street").code.clone();
    let mut street_desk = server.client(&format!("dev-{street}")).await?;
    let Ok(QueryResult::Map { map: same }) = street_desk.query(Query::Map { compact: true }).await? else {
        anyhow::bail!("no map")
    };
    assert_eq!(same.areas.len(), map.areas.len(), "a street centre sees the whole base map of {code}");

    // A client that predates the compact form asks `{"q":"map"}` and gets every cell's
    // outline on the wire: the same map.
    let Ok(QueryResult::Map { map: full }) = wall.query(Query::Map { compact: false }).await? else {
        anyhow::bail!("no map")
    };
    assert_eq!((full.cells.len(), &full.areas, &full.roads), (map.cells.len(), &map.areas, &map.roads));
    for (a, b) in full.cells.iter().zip(&map.cells) {
        assert_eq!((&a.code, a.lattice_pos, &a.community), (&b.code, b.lattice_pos, &b.community));
        let (a, b) = (&a.outline.exterior().0, &b.outline.exterior().0);
        assert!(a.len() == 5 && a.iter().zip(b).all(|(p, q)| (p.x - q.x).abs() < 1e-9 && (p.y - q.y).abs() < 1e-9));
    }
    Ok(())
}

/// A city past the console's 20,000-cell target (Xiamen Island and Haicang, `maps build
/// --profile bay`: 38,105 cells) builds, loads and reaches a client whole, in either form,
/// and in parts.
/// Its full map is larger than the 16 MiB frame WebSocket libraries read by default (and
/// than the console read before); the compact one is about 60 % of it.
#[tokio::test]
async fn a_city_of_38_000_cells_reaches_a_client_in_either_form() -> anyhow::Result<()> {
    use onegrid_server::maps::{Profile, build};
    let sources = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../maps/sources");
    let out = tempfile::tempdir()?;
    let report = build(&sources, &Profile::load(&sources, "bay")?, out.path())?;
    assert!((37_500..38_700).contains(&report.cells), "{report:?}");
    let dir = out.path().to_owned();
    let server = TestServer::start_with(|c| c.map_dir = dir).await?;
    let mut wall = server.client("dev-wall").await?;
    let mut sizes = vec![];
    for compact in [true, false] {
        let req = format!("map-{compact}");
        wall.send(&onegrid_protocol::ClientMsg::Query { req: req.clone(), q: Query::Map { compact } }).await?;
        let text = wall.next_text().await?;
        sizes.push(text.len());
        let msg: onegrid_protocol::ServerMsg = serde_json::from_str(&text)?;
        let onegrid_protocol::ServerMsg::Result { req: answered, result: QueryResult::Map { map } } = msg else {
            anyhow::bail!("not a map")
        };
        assert_eq!(answered, req);
        assert_eq!(map.cells.len(), report.cells);
        assert!(map.cells.iter().all(|c| c.outline.exterior().0.len() == 5));
        let districts: Vec<&str> =
            map.areas.iter().filter(|a| a.level == Level::District).map(|a| a.name.as_str()).collect();
        assert_eq!(districts, ["思明区", "海沧区", "湖里区"]);
    }
    assert!(sizes[1] > 16 << 20, "the full map is over 16 MiB: {sizes:?}");
    assert!(sizes[0] * 10 < sizes[1] * 7, "{sizes:?}");

    // In parts, as consoles ask for it: each about half a megabyte, the same map joined.
    let (digest, parts) = wall.map.clone().expect("the welcome names the map's parts");
    assert!((20..30).contains(&parts), "11.6 MB in parts of 512 KiB: {parts}");
    assert_eq!(wall.part_digests.len(), parts as usize, "a digest for every part");
    let mut pieces = vec![];
    let mut total = 0;
    let mut compressed = 0;
    for part in (0..parts).rev() {
        let req = onegrid_protocol::map::map_part_req(part);
        let ask = |gzip| onegrid_protocol::ClientMsg::Query {
            req: req.clone(),
            q: Query::MapPart { digest: digest.clone(), part, gzip },
        };
        wall.send(&ask(false)).await?;
        let (text, binary) = wall.next_bytes().await?;
        assert!(!binary, "asked in text");
        let text = String::from_utf8(text)?;
        // The answer the welcome named by its digest, byte for byte.
        let digest_k = onegrid_protocol::map::map_digest(text.as_bytes());
        assert_eq!(wall.part_digests[part as usize], digest_k, "part {part}");
        // Asked compressed: a binary frame, the same text compressed with gzip.
        wall.send(&ask(true)).await?;
        let (z, binary) = wall.next_bytes().await?;
        assert!(binary, "asked compressed");
        let mut unzipped = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&z[..]), &mut unzipped)?;
        assert_eq!(unzipped, text, "part {part}");
        compressed += z.len();
        assert!(text.len() < 600_000, "part {part}: {} bytes", text.len());
        total += text.len();
        let msg: onegrid_protocol::ServerMsg = serde_json::from_str(&text)?;
        let onegrid_protocol::ServerMsg::Result {
            result: QueryResult::MapPart { part: k, parts: n, bytes, map, .. },
            ..
        } = msg
        else {
            anyhow::bail!("not a part: {}", &text[..200.min(text.len())])
        };
        assert_eq!((k, n), (part, parts));
        assert!(bytes as usize <= sizes[0] + parts as usize * 1_000, "{bytes} for {}", sizes[0]);
        pieces.push(*map);
    }
    pieces.reverse();
    let joined = onegrid_protocol::CityMap::join(pieces).map_err(anyhow::Error::msg)?;
    let Ok(QueryResult::Map { map: whole }) = wall.query(Query::Map { compact: true }).await? else {
        anyhow::bail!("no map")
    };
    assert_eq!(joined, *whole, "the parts make the map");
    assert!(total < sizes[0] + parts as usize * 2_000, "parts cost little beside the whole: {total} for {}", sizes[0]);
    assert!(compressed * 6 < total, "compressed, a fraction of the bytes: {compressed} of {total}");

    // Another map's part, or a part past the last, is refused in words.
    let other = wall.query(Query::MapPart { digest: "0123456789abcdef".into(), part: 0, gzip: true }).await?;
    let Err((onegrid_protocol::ErrorCode::NotFound, words)) = other else { anyhow::bail!("{other:?}") };
    assert!(words.contains(&format!("the map here is {digest}")), "{words}");
    let past = wall.query(Query::MapPart { digest, part: parts, gzip: false }).await?;
    assert!(matches!(past, Err((onegrid_protocol::ErrorCode::NotFound, _))), "{past:?}");
    Ok(())
}
