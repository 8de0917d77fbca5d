//! Idempotent commands: a command sent again under its key (a lost ack, a reconnect, a
//! restarted server) is acknowledged as the first time and not applied twice; a key is
//! the user's own; a key reused for another command is refused; a refused command is not
//! remembered. And a report its client held while its link was down is dated when it was
//! taken, at most two minutes back, with a longer hold kept as the client's word.

use onegrid_e2e::*;
use onegrid_protocol::{ClientMsg, Command, ErrorCode, Layer, Query, QueryResult, ServerMsg};
use onegrid_server::{Config, clock::Clock};

/// The time limit to accept a 道路破损 (0301) report, from the responsibility list.
const ACCEPT_LIMIT_MS: i64 = 30 * 60_000;

fn ack(m: &ServerMsg) -> (Option<u64>, Option<u64>, bool) {
    match m {
        ServerMsg::Ack { seq, incident, repeated, .. } => (*seq, *incident, *repeated),
        other => panic!("expected an ack, got {other:?}"),
    }
}

fn described(text: &str, at: geo_types::Point) -> Command {
    match report("0301", at) {
        Command::Report(mut r) => {
            r.description = text.into();
            Command::Report(r)
        }
        _ => unreachable!(),
    }
}

async fn incidents_described(c: &mut Client, text: &str) -> anyhow::Result<usize> {
    let ServerMsg::Snapshot { incidents, .. } = c.subscribe(&[Layer::Incidents]).await? else { unreachable!() };
    Ok(incidents.iter().filter(|i| i.description == text).count())
}

#[tokio::test]
async fn a_command_sent_again_under_its_key_is_applied_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let at = server.point_in_street(XIAGANG, 3);
    let mut c = server.client("dev-city").await?;
    let first = ack(&c.command_keyed(described("键一", at), Some("k-1")).await?);
    assert!(!first.2, "the first time is not a repeat");
    let again = ack(&c.command_keyed(described("键一", at), Some("k-1")).await?);
    assert_eq!(again, (first.0, first.1, true), "the resend answers as the first time");

    // From another connection of the same user (the console after a reconnect).
    let mut other = server.client("dev-city").await?;
    assert_eq!(ack(&other.command_keyed(described("键一", at), Some("k-1")).await?), (first.0, first.1, true));
    assert_eq!(incidents_described(&mut other, "键一").await?, 1, "one incident, not three");

    // A step too: accepting twice under one key accepts once, and is not refused.
    let id = first.1.expect("incident");
    let accept = Command::Accept(act(id, ""));
    let a1 = ack(&c.command_keyed(accept.clone(), Some("k-2")).await?);
    assert_eq!(ack(&c.command_keyed(accept.clone(), Some("k-2")).await?), (a1.0, a1.1, true));
    // Without a key the same step is decided again, and refused: the incident moved on.
    match c.command(accept).await? {
        ServerMsg::Error { code: ErrorCode::IllegalTransition, .. } => {}
        other => panic!("an unkeyed second accept is decided again: {other:?}"),
    }
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn two_sends_in_flight_under_one_key_make_one_incident() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let at = server.point_in_street(JIALIAN, 1);
    let mut c = server.client("dev-city").await?;
    // Both written before either is answered: the second is looked up while the first is
    // still on its way to disk, and must wait for it.
    for req in ["a", "b"] {
        let cmd = described("飞行中", at);
        c.send(&ClientMsg::Command { req: req.into(), cmd, key: Some("same".into()) }).await?;
    }
    let mut acks = Vec::new();
    while acks.len() < 2 {
        if let m @ ServerMsg::Ack { .. } = c.next().await? {
            acks.push(m);
        }
    }
    let (a, b) = (ack(&acks[0]), ack(&acks[1]));
    assert_eq!((a.0, a.1), (b.0, b.1), "the same incident and sequence number");
    assert_eq!((a.2, b.2), (false, true), "the second is the repeat");
    assert_eq!(incidents_described(&mut c, "飞行中").await?, 1);
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn keys_belong_to_their_user_and_name_one_command() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let at = server.point_in_street(XIAGANG, 5);
    let mut city = server.client("dev-city").await?;
    let mut boss = server.client("dev-commander").await?;
    let mine = ack(&city.command_keyed(described("各自的键", at), Some("shared")).await?);
    let theirs = ack(&boss.command_keyed(described("各自的键", at), Some("shared")).await?);
    assert!(!theirs.2, "another user's key of the same spelling is not a repeat");
    assert_ne!(mine.1, theirs.1);

    // The same key for a different command is a client's mistake: refused, nothing made.
    match city.command_keyed(described("另一件事", at), Some("shared")).await? {
        ServerMsg::Error { code: ErrorCode::Invalid, message, .. } => {
            assert!(message.contains("another command"), "{message}")
        }
        other => panic!("a key reused for another command is refused: {other:?}"),
    }
    assert_eq!(incidents_described(&mut city, "另一件事").await?, 0);

    // A refused command is not remembered: once it can pass, the same key applies it.
    let id = mine.1.expect("incident");
    let close = Command::Close(act(id, ""));
    match city.command_keyed(close.clone(), Some("later")).await? {
        ServerMsg::Error { code: ErrorCode::IllegalTransition, .. } => {}
        other => panic!("closing a fresh report is refused: {other:?}"),
    }
    city.ok(Command::Return(act(id, "不属于本部门"))).await?;
    let closed = ack(&city.command_keyed(close, Some("later")).await?);
    assert!(!closed.2, "applied now, not a repeat of the refusal");
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_report_held_by_its_client_is_dated_when_it_was_taken() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let at = server.point_in_street(XIAGANG, 7);
    let mut c = server.client("dev-city").await?;
    let Command::Report(mut r) = described("断网时接的电话", at) else { unreachable!() };
    r.held_ms = 90_000;
    let id = ack(&c.command(Command::Report(r.clone())).await?).1.expect("incident");
    let ServerMsg::Snapshot { incidents, .. } = c.subscribe(&[Layer::Incidents]).await? else { unreachable!() };
    let i = incidents.iter().find(|i| i.id == id).expect("the incident");
    assert_eq!(i.reported_at, T0 - 90_000, "dated 90 s before it arrived (the manual clock stands at T0)");
    assert_eq!(i.history[0].at, T0 - 90_000, "and so is its first step");
    assert_eq!(i.taken_at, None, "within what the server dates back: nothing more to keep");
    assert_eq!(i.deadline, Some(T0 - 90_000 + ACCEPT_LIMIT_MS), "its time limit runs from then");

    // Held through a long outage: dated at most two minutes back, the client's word kept.
    r.held_ms = 40 * 60_000;
    r.description = "断网四十分钟时接的电话".into();
    let id = ack(&c.command(Command::Report(r.clone())).await?).1.expect("incident");
    let Ok(QueryResult::Incident { incident: i }) = c.query(Query::Incident { id }).await? else {
        panic!("the incident")
    };
    let back = i64::from(onegrid_protocol::validate::MAX_BACKDATE_MS);
    assert_eq!(i.reported_at, T0 - back, "dated back two minutes, no more");
    assert_eq!(i.deadline, Some(T0 - back + ACCEPT_LIMIT_MS), "not overdue on arrival");
    assert_eq!(i.taken_at, Some(T0 - 40 * 60_000), "when the client says it was taken");
    drop(c);
    // The journal keeps it: a server started again on it says the same.
    let TestServer { running, data, .. } = server;
    running.shutdown().await;
    let mut config = Config::new(map_dir(), data.path());
    config.clock = Clock::manual(T0 + 60_000);
    let running = onegrid_server::start(config).await?;
    let mut c = Client::login(&format!("ws://{}", running.addr), "dev-city").await?;
    let Ok(QueryResult::Incident { incident: again }) = c.query(Query::Incident { id }).await? else {
        panic!("the incident after a restart")
    };
    assert_eq!((again.reported_at, again.taken_at), (i.reported_at, i.taken_at), "read back from the journal");
    let server = TestServer { running, clock: Clock::manual(T0), data };

    // Longer than a client may hold one is a client's mistake.
    r.held_ms = onegrid_protocol::validate::MAX_HELD_MS + 1;
    match c.command(Command::Report(r)).await? {
        ServerMsg::Error { code: ErrorCode::Invalid, .. } => {}
        other => panic!("held too long is refused: {other:?}"),
    }
    server.running.shutdown().await;
    Ok(())
}
