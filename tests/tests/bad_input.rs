//! Bad input gets a clear error and changes nothing: malformed frames, unknown types,
//! oversized frames, messages out of order, wrong versions and tokens, coordinates
//! outside the city.

use geo_types::Point;
use onegrid_e2e::*;
use onegrid_protocol::{ClientMsg, ErrorCode, ServerMsg};

async fn error_code(c: &mut Client) -> anyhow::Result<(ErrorCode, String)> {
    c.wait_for(|m| match m {
        ServerMsg::Error { code, message, .. } => Some((*code, message.clone())),
        _ => None,
    })
    .await
}

async fn still_alive(c: &mut Client) -> anyhow::Result<()> {
    c.send(&ClientMsg::Ping { t: 42 }).await?;
    c.wait_for(|m| matches!(m, ServerMsg::Pong { t: 42 }).then_some(())).await
}

#[tokio::test]
async fn malformed_unknown_and_oversized_frames_are_answered_and_the_session_lives() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut c = server.client("dev-city").await?;
    let before = server.running.engine.with_published(|p| p.world.seq);

    c.send_text("{not json").await?;
    let (code, msg) = error_code(&mut c).await?;
    assert_eq!(code, ErrorCode::BadFrame);
    assert!(msg.starts_with("not JSON"), "{msg}");
    still_alive(&mut c).await?;

    c.send_text(r#"{"type":"launch","target":"moon"}"#).await?;
    assert_eq!(error_code(&mut c).await?, (ErrorCode::UnknownType, "unknown message type `launch`".into()));

    c.send_text(r#"{"type":"command","req":"x","cmd":{"op":"report","category":"0301"}}"#).await?;
    let (code, msg) = error_code(&mut c).await?;
    assert_eq!(code, ErrorCode::BadFrame);
    assert!(msg.contains("missing field"), "{msg}");

    let big = format!(r#"{{"type":"ping","t":1,"pad":"{}"}}"#, "x".repeat(100_000));
    c.send_text(&big).await?;
    assert_eq!(error_code(&mut c).await?.0, ErrorCode::FrameTooLarge);
    still_alive(&mut c).await?;

    let outside = report("0301", Point::new(116.40, 39.91)); // Beijing
    let r = c.command(outside).await?;
    assert!(matches!(r, ServerMsg::Error { code: ErrorCode::OutsideCity, .. }), "{r:?}");
    let r = c.command(report("9999", server.point_in_street(XIAGANG, 1))).await?;
    assert!(matches!(r, ServerMsg::Error { code: ErrorCode::NotFound, .. }), "{r:?}");
    c.send_text(r#"{"type":"command","req":"s","cmd":{"op":"report","category":"0301","location":{"x":118.1,"y":24.47},"source":"citizen","description":"x","severity":0}}"#).await?;
    assert_eq!(error_code(&mut c).await?.0, ErrorCode::Invalid);

    assert_eq!(server.running.engine.with_published(|p| p.world.seq), before, "nothing was written");

    // Beyond the hard limit the connection is closed after the error.
    let huge = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(2 << 20));
    c.send_text(&huge).await?;
    assert!(c.closed().await, "a frame over the hard limit closes the connection");
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn sessions_must_say_hello_with_the_right_version_and_token() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut c = Client::connect(&server.url()).await?;
    c.send(&ClientMsg::Subscribe { layers: vec![onegrid_protocol::Layer::Incidents], area: None, resume: None })
        .await?;
    assert_eq!(error_code(&mut c).await?, (ErrorCode::NotAuthenticated, "send hello first".into()));

    c.send(&ClientMsg::Hello { version: 99, token: "dev-city".into(), client: String::new(), gzip: false }).await?;
    let (code, msg) = error_code(&mut c).await?;
    assert_eq!(code, ErrorCode::UnsupportedVersion);
    assert!(msg.contains("version 1, not 99"), "{msg}");
    assert!(c.closed().await);

    let mut c = Client::connect(&server.url()).await?;
    c.send(&ClientMsg::Hello { version: 1, token: "stolen".into(), client: String::new(), gzip: false }).await?;
    assert_eq!(error_code(&mut c).await?.0, ErrorCode::BadToken);
    assert!(c.closed().await);

    let mut c = server.client("dev-city").await?;
    c.send(&ClientMsg::Hello { version: 1, token: "dev-city".into(), client: String::new(), gzip: false }).await?;
    assert_eq!(error_code(&mut c).await?.0, ErrorCode::NotAuthenticated);
    server.running.shutdown().await;
    Ok(())
}
