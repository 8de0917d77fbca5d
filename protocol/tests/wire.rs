//! Pins the JSON wire format: a change to these snapshots is a protocol change. One that an
//! older peer cannot read needs a version bump; an optional field added with a default (as
//! `key`, `repeated` and `features` were) does not, since a peer that does not know it
//! ignores it, and `features` tells a client what the server does with it.

use geo_types::Point;
use insta::assert_json_snapshot;
use onegrid_protocol::coord::Datum;
use onegrid_protocol::*;

#[test]
fn hello_and_subscribe_frames() {
    assert_json_snapshot!(ClientMsg::Hello { version: 1, token: "t".into(), client: "c".into(), gzip: false });
    assert_json_snapshot!(ClientMsg::Subscribe {
        layers: vec![Layer::Incidents, Layer::Personnel],
        area: Some(BBox([118.06, 24.42, 118.2, 24.5])),
        resume: Some(Resume { journal: "j".into(), seq: 41 }),
    });
}

#[test]
fn command_frames() {
    assert_json_snapshot!(ClientMsg::Command {
        req: "r1".into(),
        cmd: Command::Report(Report {
            category: "U01".into(),
            location: Point::new(118.0894, 24.4798),
            datum: Datum::Gcj02,
            source: Source::Citizen,
            description: "路面塌陷".into(),
            attachments: vec!["photo/1.jpg".into()],
            severity: 3,
            scale: Scale::Individual,
            held_ms: 0,
        }),
        key: None,
    });
    assert_json_snapshot!(ClientMsg::Command {
        req: "r2".into(),
        cmd: Command::Dispatch(Dispatch { incident: 7, units: vec![3, 4], note: String::new() }),
        key: Some("9f3c2a71d04e8b65-2".into()),
    });
    assert_json_snapshot!(ClientMsg::Command {
        req: "r3".into(),
        cmd: Command::Escalate(Act { incident: 7, note: "需要区城管局".into(), unit: None }),
        key: None,
    });
}

#[test]
fn server_frames() {
    assert_json_snapshot!(ServerMsg::Ack { req: "r1".into(), seq: Some(12), incident: Some(7), repeated: false });
    assert_json_snapshot!(ServerMsg::error(
        Some("r2".into()),
        ErrorCode::IllegalTransition,
        "cannot close an incident that is reported"
    ));
    assert_json_snapshot!(ServerMsg::Positions {
        at: 1_700_000_000_000,
        units: vec![(3, 118.08, 24.46, 90.0, UnitStatus::EnRoute)],
        ahead: vec![],
        ahead_s: vec![],
        no_road: vec![],
    });
    // The same command sent again under its key: acknowledged as the first time was.
    assert_json_snapshot!(ServerMsg::Ack { req: "r9".into(), seq: Some(12), incident: Some(7), repeated: true });
    // The road still ahead of a unit on its way, beside its position.
    assert_json_snapshot!(ServerMsg::Positions {
        at: 1_700_000_000_000,
        units: vec![(3, 118.08, 24.46, 90.0, UnitStatus::EnRoute), (4, 118.09, 24.47, 0.0, UnitStatus::Available)],
        ahead: vec![(3, 17, 1_240.5)],
        ahead_s: vec![],
        no_road: vec![],
    });
    // A unit on its way that no road leads from (another island), beside one measured.
    assert_json_snapshot!(ServerMsg::Positions {
        at: 1_700_000_000_000,
        units: vec![(3, 118.08, 24.46, 90.0, UnitStatus::EnRoute), (5, 118.06, 24.45, 0.0, UnitStatus::EnRoute)],
        ahead: vec![(3, 17, 1_240.5)],
        ahead_s: vec![],
        no_road: vec![(5, 17)],
    });
    // With how long the road ahead takes the unit without traffic.
    assert_json_snapshot!(ServerMsg::Positions {
        at: 1_700_000_000_000,
        units: vec![(3, 118.08, 24.46, 90.0, UnitStatus::EnRoute)],
        ahead: vec![(3, 17, 1_240.5)],
        ahead_s: vec![(3, 131.4)],
        no_road: vec![],
    });
}

#[test]
fn a_positions_frame_of_a_server_that_measures_no_roads_reads_as_none_ahead() {
    let old = r#"{"type":"positions","at":5,"units":[[3,118.08,24.46,90.0,"en_route"]]}"#;
    let msg: ServerMsg = serde_json::from_str(old).expect("decodes");
    assert_eq!(
        msg,
        ServerMsg::Positions {
            at: 5,
            units: vec![(3, 118.08, 24.46, 90.0, UnitStatus::EnRoute)],
            ahead: vec![],
            ahead_s: vec![],
            no_road: vec![]
        }
    );
}

/// A console reads a frame from a newer server that carries a field it does not know (as
/// consoles from before `no_road` read frames that carry it): the field is passed over.
#[test]
fn a_frame_with_a_field_this_client_does_not_know_still_reads() {
    let newer =
        r#"{"type":"positions","at":5,"units":[[3,118.08,24.46,90.0,"en_route"]],"no_road":[[3,17]],"lanes":[[3,2]]}"#;
    let msg: ServerMsg = serde_json::from_str(newer).expect("decodes");
    let ServerMsg::Positions { units, no_road, .. } = msg else { panic!("{msg:?}") };
    assert_eq!((units.len(), no_road), (1, vec![(3, 17)]));
}

#[test]
fn every_client_frame_round_trips() {
    let frames = [
        r#"{"type":"ping","t":5}"#,
        r#"{"type":"query","req":"q","q":{"q":"locate","location":{"x":118.1,"y":24.47}}}"#,
        r#"{"type":"command","req":"p","cmd":{"op":"position","unit":3,"location":{"x":118.1,"y":24.47}}}"#,
        r#"{"type":"command","req":"s","cmd":{"op":"set_status","unit":3,"status":"off_duty"}}"#,
        r#"{"type":"command","req":"a","cmd":{"op":"acknowledge","incident":7}}"#,
        r#"{"type":"command","req":"n","cmd":{"op":"acknowledge","incident":7,"note":"已电话通知街道"}}"#,
        r#"{"type":"query","req":"r","q":{"q":"reach","location":{"x":118.1,"y":24.47},"units":[3,4]}}"#,
    ];
    for f in frames {
        let msg = validate::decode_client(f).expect(f);
        let again = serde_json::to_string(&msg).expect("encode");
        assert_eq!(validate::decode_client(&again).expect("again"), msg);
    }
}

#[test]
fn a_welcome_names_the_features_and_an_older_one_without_them_still_reads() {
    let user = UserInfo {
        id: "city-dispatcher".into(),
        name: "市值班员".into(),
        role: Role::Dispatcher,
        scope: Scope::city(),
        unit: None,
    };
    assert_json_snapshot!(ServerMsg::Welcome {
        version: 1,
        user,
        journal: "5b5ca9f27dc6c542".into(),
        features: vec![FEATURE_KEYS.into()],
        map_digest: Some("9e3779b97f4a7c15".into()),
        map_parts: Some(2),
        map_part_digests: vec!["2f1e4c0b9d3a5e71".into(), "c40e2b7d61f8a093".into()],
        archive_after_ms: Some(7 * 86_400_000),
    });
    let older = r#"{"type":"welcome","version":1,"journal":"j",
        "user":{"id":"u","name":"u","role":"operator","scope":{"level":"city","code":""}}}"#;
    match serde_json::from_str::<ServerMsg>(older).expect("an older welcome") {
        ServerMsg::Welcome { features, map_digest, map_parts, map_part_digests, archive_after_ms, .. } => {
            assert!(features.is_empty() && map_digest.is_none() && map_parts.is_none() && map_part_digests.is_empty());
            assert_eq!(archive_after_ms, None);
        }
        other => panic!("{other:?}"),
    }
}

/// A map of two lattice cells and one cut by the coast, on a lattice of 0.001°.
fn small_map() -> CityMap {
    let lattice = GridLattice { origin_lon: 118.0, origin_lat: 24.0, dlon: 0.001, dlat: 0.0009, cell_m: 100.0 };
    let cell = |code: &str, outline, lattice_pos| MapCell {
        code: code.into(),
        outline,
        lattice_pos,
        community: "350203001001".into(),
        responsibility_unit: "R1".into(),
        supervision_unit: "S1".into(),
        grid_worker: Some(7),
    };
    let coast = geo_types::Polygon::new(
        geo_types::LineString::from(vec![(118.002, 24.0), (118.003, 24.0), (118.002, 24.0009), (118.002, 24.0)]),
        vec![],
    );
    CityMap {
        name: "厦门市".into(),
        code: "350200000000".into(),
        profile: "test".into(),
        reference: Point::new(118.0, 24.0),
        lattice: Some(lattice),
        synthetic_layers: vec![],
        attribution: vec![],
        areas: vec![],
        overlays: vec![],
        cells: vec![
            cell("C1", lattice.square((0, 0)), Some((0, 0))),
            cell("C2", lattice.square((3, 1)), Some((3, 1))),
            cell("C3", coast, None),
        ],
        roads: vec![],
        categories: vec![],
    }
}

#[test]
fn a_compact_map_carries_lattice_cells_as_positions_and_decodes_with_their_squares() {
    let map = small_map();
    let full = serde_json::to_value(&map).expect("encodes");
    let compact = serde_json::to_value(map.clone().into_compact()).expect("encodes");
    assert_json_snapshot!(compact["cells"]);
    let cells = compact["cells"].as_array().expect("cells");
    assert!(cells[..2].iter().all(|c| c.get("outline").is_none() && c.get("lattice_pos").is_some()));
    assert!(cells[2].get("outline").is_some(), "a cell off the lattice keeps its outline");
    assert!(full["cells"].as_array().expect("cells").iter().all(|c| c.get("outline").is_some()));
    for wire in [full, compact] {
        let back: CityMap = serde_json::from_value(wire).expect("decodes");
        assert_eq!(back, map, "every outline is back");
    }
    // The query: a console asks for the compact form; a client that predates it asks
    // without the field, and so does the server's encoding of the full request.
    let ask = |compact| serde_json::to_string(&Query::Map { compact }).expect("encodes");
    assert_eq!((ask(false).as_str(), ask(true).as_str()), (r#"{"q":"map"}"#, r#"{"q":"map","compact":true}"#));
    let older: Query = serde_json::from_str(r#"{"q":"map"}"#).expect("decodes");
    assert_eq!(older, Query::Map { compact: false });
}

#[test]
fn a_map_split_into_parts_joins_back_into_the_same_map() {
    let mut map = small_map();
    map.attribution = vec!["© OpenStreetMap contributors".into()];
    map.roads = vec![onegrid_protocol::MapRoad {
        class: "primary".into(),
        line: geo_types::LineString::from(vec![(118.0, 24.0), (118.01, 24.0)]),
    }];
    let whole = serde_json::to_string(&map.clone().into_compact()).expect("encodes").len();
    // One part when it fits; one item a part when nothing fits beside the map's own fields.
    assert_eq!(map.clone().into_compact().split(whole + 8).len(), 1);
    let parts = map.clone().into_compact().split(1);
    assert_eq!(parts.len(), 4, "three cells and a road, a part each");
    assert!(parts.iter().all(|p| p.name == "厦门市" && p.lattice == map.lattice && p.attribution.len() == 1));
    // Each part travels on its own, compact, and decodes with its squares back.
    let decoded: Vec<CityMap> = parts
        .iter()
        .map(|p| serde_json::from_str(&serde_json::to_string(p).expect("encodes")).expect("decodes"))
        .collect();
    assert_eq!(CityMap::join(decoded.clone()).expect("joins"), map);
    // Every part is within the size asked, but for one that is a single item; each size
    // joins back into the map.
    for max in (200..whole + 40).step_by(20) {
        let parts = map.clone().into_compact().split(max);
        for p in &parts {
            let items = p.cells.len() + p.roads.len();
            let len = serde_json::to_string(p).expect("encodes").len();
            assert!(len <= max || items == 1, "{len} bytes of {items} items, asked {max}");
        }
        let decoded = parts.iter().map(|p| serde_json::from_value(serde_json::to_value(p).expect("enc")).expect("dec"));
        assert_eq!(CityMap::join(decoded).expect("joins"), map, "parts of {max}");
    }
    // A part of another map is refused by name, one on another lattice as such, and so is a
    // map of no parts.
    let mut other = decoded.clone();
    other[2].profile = "city".into();
    let e = CityMap::join(other).expect_err("another map");
    assert_eq!(e, "part 2 is of another map (厦门市 city, not 厦门市 test)");
    let mut moved = decoded.clone();
    moved[1].lattice.as_mut().expect("a lattice").origin_lon += 0.001;
    let e = CityMap::join(moved).expect_err("another lattice");
    assert_eq!(e, "part 1 lies on another grid lattice than part 0");
    assert!(CityMap::join(vec![]).is_err());
    // The query and its answer on the wire.
    let ask = |gzip| Query::MapPart { digest: "9e3779b97f4a7c15".into(), part: 2, gzip };
    assert_eq!(
        serde_json::to_string(&ask(false)).expect("encodes"),
        r#"{"q":"map_part","digest":"9e3779b97f4a7c15","part":2}"#
    );
    assert_eq!(
        serde_json::to_string(&ask(true)).expect("encodes"),
        r#"{"q":"map_part","digest":"9e3779b97f4a7c15","part":2,"gzip":true}"#
    );
    let answer = QueryResult::MapPart {
        digest: "9e3779b97f4a7c15".into(),
        part: 2,
        parts: 4,
        bytes: 1234,
        map: Box::new(parts[2].clone()),
    };
    let wire = serde_json::to_value(&answer).expect("encodes");
    assert_eq!((wire["q"].as_str(), wire["parts"].as_u64()), (Some("map_part"), Some(4)));
    let back = serde_json::from_value::<QueryResult>(wire).expect("decodes");
    let want = QueryResult::MapPart {
        digest: "9e3779b97f4a7c15".into(),
        part: 2,
        parts: 4,
        bytes: 1234,
        map: Box::new(decoded[2].clone()),
    };
    assert_eq!(back, want, "with its outlines back");
}

#[test]
fn a_map_digest_is_fnv1a_of_the_compact_answer() {
    // FNV-1a 64's published test values.
    assert_eq!(onegrid_protocol::map::map_digest(b""), "cbf29ce484222325");
    assert_eq!(onegrid_protocol::map::map_digest(b"a"), "af63dc4c8601ec8c");
    assert_eq!(onegrid_protocol::map::map_digest(b"foobar"), "85944171f73967e8");
}

#[test]
fn a_map_with_a_cell_it_cannot_draw_is_refused_by_name() {
    let mut no_lattice = serde_json::to_value(small_map().into_compact()).expect("encodes");
    no_lattice["lattice"] = serde_json::Value::Null;
    let e = serde_json::from_value::<CityMap>(no_lattice).expect_err("refused");
    assert!(e.to_string().contains("cell C1 has a lattice position but the map has no lattice"), "{e}");
    let mut bare = serde_json::to_value(small_map()).expect("encodes");
    let c3 = &mut bare["cells"][2];
    c3.as_object_mut().expect("cell").remove("outline");
    let e = serde_json::from_value::<CityMap>(bare).expect_err("refused");
    assert!(e.to_string().contains("cell C3 has neither an outline nor a lattice position"), "{e}");
}

#[test]
fn a_hello_says_whether_the_client_reads_compressed_frames() {
    let hello = ClientMsg::Hello { version: 1, token: "t".into(), client: "c".into(), gzip: true };
    assert_eq!(
        serde_json::to_string(&hello).expect("encodes"),
        r#"{"type":"hello","version":1,"token":"t","client":"c","gzip":true}"#
    );
    let older: ClientMsg = serde_json::from_str(r#"{"type":"hello","version":1,"token":"t"}"#).expect("decodes");
    assert!(matches!(older, ClientMsg::Hello { gzip: false, .. }), "an older client reads text only");
}

#[test]
fn a_nearest_answer_carries_the_road_and_an_older_one_without_it_still_reads() {
    let routed =
        NearUnit { unit: 488, name: "林敏".into(), distance_m: 112.4, road_m: Some(230.0), eta_s: Some(76.7) };
    assert_json_snapshot!(ServerMsg::Result {
        req: "q2".into(),
        result: QueryResult::Nearest { units: vec![routed.clone()] },
    });
    let back: NearUnit = serde_json::from_value(serde_json::to_value(&routed).expect("encodes")).expect("decodes");
    assert_eq!(back, routed);
    // A server that measures no road (or an older one) sends neither field.
    let old: NearUnit = serde_json::from_str(r#"{"unit":488,"name":"林敏","distance_m":112.4}"#).expect("decodes");
    assert_eq!((old.road_m, old.eta_s), (None, None));
    let plain = serde_json::to_string(&NearUnit { road_m: None, eta_s: None, ..routed.clone() }).expect("encodes");
    assert_eq!(plain, r#"{"unit":488,"name":"林敏","distance_m":112.4}"#);
    // The units sent to a matter, asked for by name, answer in the same shape.
    assert_json_snapshot!(ServerMsg::Result { req: "r".into(), result: QueryResult::Reach { units: vec![routed] } });
    let none = r#"{"type":"query","req":"r","q":{"q":"reach","location":{"x":118.1,"y":24.47},"units":[]}}"#;
    assert!(matches!(validate::decode_client(none), Err(validate::DecodeError::Invalid(_))));
}

#[test]
fn a_ways_query_and_its_answer() {
    let q = ClientMsg::Query {
        req: "w1".into(),
        q: Query::Ways { location: Point::new(118.09, 24.46), units: vec![3, 4] },
    };
    assert_json_snapshot!(q);
    let way = UnitWay {
        unit: 3,
        points: vec![(118.081, 24.461), (118.0815, 24.4612), (118.09, 24.46)],
        length_m: 1_012.5,
        eta_s: 121.0,
    };
    let answer = ServerMsg::Result { req: "w1".into(), result: QueryResult::Ways { ways: vec![way.clone()] } };
    assert_json_snapshot!(answer);
    let text = serde_json::to_string(&answer).expect("encodes");
    assert_eq!(serde_json::from_str::<ServerMsg>(&text).expect("decodes"), answer);
    let none = r#"{"type":"query","req":"w","q":{"q":"ways","location":{"x":118.1,"y":24.47},"units":[]}}"#;
    assert!(matches!(validate::decode_client(none), Err(validate::DecodeError::Invalid(_))));
}
