//! Durability: the real server binary, killed with SIGKILL under load, restarts from its
//! journal with every acknowledged command in place.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use onegrid_e2e::*;
use onegrid_protocol::{ClientMsg, Command, IncidentState, Layer, ServerMsg};

fn spawn_server(data: &std::path::Path) -> anyhow::Result<(Child, String)> {
    let mut child = Process::new(env!("CARGO_BIN_EXE_onegrid-e2e-server"))
        .args(["--listen", "127.0.0.1:0", "--summary-every", "0", "--map"])
        .arg(map_dir())
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    let stderr = child.stderr.take().ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(line) = lines.next() else { break };
        let line = line?;
        if let Some(rest) = line.strip_prefix("OneGrid listening on ") {
            let url = rest.split_whitespace().next().unwrap_or_default().to_owned();
            std::thread::spawn(move || for _ in lines {});
            return Ok((child, url));
        }
    }
    let _ = child.kill();
    anyhow::bail!("the server did not start")
}

/// What one load client saw acknowledged: incident → the furthest acked state.
async fn load(url: String, street: usize, stop_at: Instant) -> HashMap<u64, IncidentState> {
    let mut acked = HashMap::new();
    let Ok(mut c) = Client::login(&url, "dev-city").await else { return acked };
    let cells: Vec<_> = (0..50).map(|i| onegrid_e2e_points::point(street, i)).collect();
    let mut req = 0u64;
    let mut pending: HashMap<String, (Option<u64>, IncidentState)> = HashMap::new();
    while Instant::now() < stop_at + Duration::from_secs(5) {
        // Pipeline a window of commands, then read their answers.
        for _ in 0..16 {
            req += 1;
            let key = format!("k{req}");
            let (cmd, expect) = match acked.iter().find(|(_, s)| **s == IncidentState::Reported) {
                Some((id, _)) if req.is_multiple_of(2) => {
                    (Command::Accept(act(*id, "")), (Some(*id), IncidentState::Accepted))
                }
                _ => (report("0301", cells[req as usize % cells.len()]), (None, IncidentState::Reported)),
            };
            if let Some(id) = expect.0 {
                acked.insert(id, IncidentState::Dispatched); // in flight: not counted as either
            }
            if c.send(&ClientMsg::Command { req: key.clone(), cmd, key: None }).await.is_err() {
                return finish(acked);
            }
            pending.insert(key, expect);
        }
        while !pending.is_empty() {
            match c.next().await {
                Ok(ServerMsg::Ack { req, incident, .. }) => {
                    if let Some((_, state)) = pending.remove(&req) {
                        acked.insert(incident.unwrap_or_default(), state);
                    }
                }
                Ok(ServerMsg::Error { req: Some(req), .. }) => {
                    pending.remove(&req);
                }
                Ok(_) => {}
                Err(_) => return finish(acked),
            }
        }
    }
    finish(acked)
}

/// A field unit moving 100 m a step with acknowledged positions; returns the last one
/// acknowledged. Every step is over the 50 m downsampling distance, so each is a track point.
async fn field(url: String, stop_at: Instant) -> Option<(f64, f64)> {
    let mut c = Client::login(&url, "dev-city").await.ok()?;
    let mut last = None;
    for i in 0usize.. {
        if Instant::now() > stop_at + Duration::from_secs(5) {
            break;
        }
        let at = onegrid_e2e_points::point(1, i % 49);
        let cmd = position(1, at);
        match c.command(cmd).await {
            Ok(ServerMsg::Ack { .. }) => last = Some((at.x(), at.y())),
            _ => break,
        }
    }
    last
}

/// Drops the entries whose last command was never answered.
fn finish(mut acked: HashMap<u64, IncidentState>) -> HashMap<u64, IncidentState> {
    acked.retain(|_, s| *s != IncidentState::Dispatched);
    acked
}

mod onegrid_e2e_points {
    use geo_types::Point;
    /// Points spread over Siming's main streets (cell centres from the committed map).
    pub fn point(street: usize, i: usize) -> Point {
        let base = [(118.0895, 24.4519), (118.1245, 24.4728), (118.1405, 24.4858), (118.1000, 24.4690)];
        let (x, y) = base[street % base.len()];
        Point::new(x + (i % 7) as f64 * 0.0011, y + (i / 7) as f64 * 0.0009)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_command() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let (mut child, url) = spawn_server(data.path())?;
    let kill_at = Instant::now() + Duration::from_millis(1_500);
    let loaders: Vec<_> = (0..4).map(|s| tokio::spawn(load(url.clone(), s, kill_at))).collect();
    let walker = tokio::spawn(field(url.clone(), kill_at));
    tokio::time::sleep_until(kill_at.into()).await;
    child.kill()?; // SIGKILL: no shutdown, no flush
    child.wait()?;
    let mut acked = HashMap::new();
    for l in loaders {
        acked.extend(l.await?);
    }
    let last_position = walker.await?.ok_or_else(|| anyhow::anyhow!("no position was acknowledged"))?;
    let reports = acked.len();
    let accepts = acked.values().filter(|s| **s == IncidentState::Accepted).count();
    assert!(reports > 20 && accepts > 5, "the load made progress: {reports} reports, {accepts} accepts");

    let (mut child, url) = spawn_server(data.path())?;
    let mut check = Client::login(&url, "dev-city").await?;
    let ServerMsg::Snapshot { incidents, .. } = check.subscribe(&[Layer::Incidents]).await? else { unreachable!() };
    let states: HashMap<u64, IncidentState> = incidents.iter().map(|i| (i.id, i.state)).collect();
    for (id, state) in &acked {
        let got = states.get(id).unwrap_or_else(|| panic!("acknowledged incident {id} is lost"));
        if *state == IncidentState::Accepted {
            assert_eq!(*got, IncidentState::Accepted, "acknowledged accept of {id} is lost");
        }
    }
    let Ok(onegrid_protocol::QueryResult::Track { points: track, .. }) =
        check.query(onegrid_protocol::Query::Track { unit: 1 }).await?
    else {
        panic!("track answered with something else")
    };
    assert!(
        track.iter().any(|p| (p.1 - last_position.0).abs() < 1e-9 && (p.2 - last_position.1).abs() < 1e-9),
        "the last acknowledged position {last_position:?} is in the restored track"
    );
    eprintln!("{reports} acknowledged incidents ({accepts} accepted) survived SIGKILL; {} on disk", incidents.len());
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// One load client's keyed reports: key → (the command, the incident its ack named, if
/// one came before the kill).
async fn keyed_load(url: String, loader: usize, stop_at: Instant) -> HashMap<String, (Command, Option<u64>)> {
    let mut sent: HashMap<String, (Command, Option<u64>)> = HashMap::new();
    let Ok(mut c) = Client::login(&url, "dev-city").await else { return sent };
    for n in 0u64.. {
        if Instant::now() > stop_at + Duration::from_secs(5) {
            break;
        }
        let mut window = Vec::new();
        for i in 0..16 {
            let key = format!("L{loader}-{n}-{i}");
            let Command::Report(mut r) = report("0301", onegrid_e2e_points::point(loader, (n as usize * 16 + i) % 49))
            else {
                unreachable!()
            };
            r.description = format!("幂等 {key}");
            let cmd = Command::Report(r);
            let msg = ClientMsg::Command { req: key.clone(), cmd: cmd.clone(), key: Some(key.clone()) };
            sent.insert(key.clone(), (cmd, None));
            if c.send(&msg).await.is_err() {
                return sent;
            }
            window.push(key);
        }
        while !window.is_empty() {
            match c.next().await {
                Ok(ServerMsg::Ack { req, incident, .. }) => {
                    window.retain(|k| *k != req);
                    if let Some(entry) = sent.get_mut(&req) {
                        entry.1 = incident;
                    }
                }
                Ok(ServerMsg::Error { req: Some(req), message, .. }) => panic!("report {req} refused: {message}"),
                Ok(_) => {}
                Err(_) => return sent,
            }
        }
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_resent_under_their_keys_after_sigkill_are_applied_once() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let (mut child, url) = spawn_server(data.path())?;
    let kill_at = Instant::now() + Duration::from_millis(1_500);
    let loaders: Vec<_> = (0..2).map(|l| tokio::spawn(keyed_load(url.clone(), l, kill_at))).collect();
    tokio::time::sleep_until(kill_at.into()).await;
    child.kill()?;
    child.wait()?;
    let mut sent = HashMap::new();
    for l in loaders {
        sent.extend(l.await?);
    }
    let answered = sent.values().filter(|(_, acked)| acked.is_some()).count();
    let unanswered = sent.len() - answered;
    assert!(answered > 20, "the load made progress: {answered} acknowledged");

    // The restarted server: every command whose ack was lost is sent again under its key,
    // and some of those acknowledged, as a client that cannot tell would.
    let (mut child, url) = spawn_server(data.path())?;
    let mut c = Client::login(&url, "dev-city").await?;
    let (mut were_applied, mut applied_now) = (0, 0);
    let mut resent = 0;
    for (key, (cmd, acked)) in &sent {
        if acked.is_some() && resent >= 30 {
            continue;
        }
        resent += 1;
        match (c.command_keyed(cmd.clone(), Some(key)).await?, acked) {
            (ServerMsg::Ack { incident, repeated, .. }, Some(first)) => {
                assert!(repeated, "{key} was acknowledged before the kill: a repeat");
                assert_eq!(incident, Some(*first), "{key} names its first incident");
            }
            (ServerMsg::Ack { repeated: true, .. }, None) => were_applied += 1,
            (ServerMsg::Ack { repeated: false, .. }, None) => applied_now += 1,
            (other, _) => panic!("resending {key}: {other:?}"),
        }
    }
    let ServerMsg::Snapshot { incidents, .. } = c.subscribe(&[Layer::Incidents]).await? else { unreachable!() };
    let mut count: HashMap<&str, usize> = HashMap::new();
    for i in &incidents {
        *count.entry(i.description.as_str()).or_default() += 1;
    }
    // Every report is now in the journal exactly once: the acknowledged ones were durable,
    // the others were sent again.
    for key in sent.keys() {
        let n = count.get(format!("幂等 {key}").as_str()).copied().unwrap_or(0);
        assert_eq!(n, 1, "{key}: exactly one incident");
    }
    eprintln!(
        "{answered} acknowledged before SIGKILL, {unanswered} in flight: {were_applied} of those had reached the \
         journal (answered as repeats), {applied_now} were applied on resending; no incident doubled"
    );
    child.kill()?;
    child.wait()?;
    Ok(())
}
