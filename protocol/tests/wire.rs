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
    assert_json_snapshot!(ClientMsg::Hello { version: 1, token: "t".into(), client: "c".into() });
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
        cmd: Command::Escalate(Act { incident: 7, note: "需要区城管局".into() }),
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
    });
    // The same command sent again under its key: acknowledged as the first time was.
    assert_json_snapshot!(ServerMsg::Ack { req: "r9".into(), seq: Some(12), incident: Some(7), repeated: true });
}

#[test]
fn every_client_frame_round_trips() {
    let frames = [
        r#"{"type":"ping","t":5}"#,
        r#"{"type":"query","req":"q","q":{"q":"locate","location":{"x":118.1,"y":24.47}}}"#,
        r#"{"type":"command","req":"p","cmd":{"op":"position","unit":3,"location":{"x":118.1,"y":24.47}}}"#,
        r#"{"type":"command","req":"s","cmd":{"op":"set_status","unit":3,"status":"off_duty"}}"#,
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
    });
    let older = r#"{"type":"welcome","version":1,"journal":"j",
        "user":{"id":"u","name":"u","role":"operator","scope":{"level":"city","code":""}}}"#;
    match serde_json::from_str::<ServerMsg>(older).expect("an older welcome") {
        ServerMsg::Welcome { features, .. } => assert!(features.is_empty()),
        other => panic!("{other:?}"),
    }
}
