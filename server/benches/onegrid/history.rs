//! What weeks of history cost: Siming's simulated rate of 834 incidents a day, each
//! reported, returned and closed through a real server, over three weeks of the server's
//! (manual) clock, archiving once a simulated day as its housekeeping would; then
//! - a subscription to the incidents layer, against the snapshot it carried before the live
//!   picture was bounded (the same snapshot with every incident the server gives by number
//!   put back in: every incident ever closed);
//! - the server's world, against the world it held before archiving (every incident ever
//!   reported, the same incidents given by number);
//! - restarts: from the checkpoint written at shutdown, against replaying every event of the
//!   journal (the same journal with its checkpoint removed), and an empty journal.

use futures_util::{SinkExt, StreamExt};
use geo_types::Point;
use onegrid_protocol::{
    Act, ClientMsg, Command, Incident, Layer, PROTOCOL_VERSION, Query, QueryResult, Report, Scale, ServerMsg, Source,
};
use onegrid_server::{Config, clock::Clock};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Ws, data_dir, line, map_dir};

const PER_DAY: u64 = 834;
const DAYS: u64 = 21;

async fn hello(url: &str, token: &str) -> anyhow::Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let hello =
        ClientMsg::Hello { version: PROTOCOL_VERSION, token: token.into(), client: "history".into(), gzip: false };
    ws.send(Message::Text(serde_json::to_string(&hello)?.into())).await?;
    ws.next().await.ok_or_else(|| anyhow::anyhow!("no welcome"))??;
    Ok(ws)
}

/// Sends `msg` under `req` and waits for its answer.
async fn ask(ws: &mut Ws, msg: ClientMsg, req: &str) -> anyhow::Result<ServerMsg> {
    ws.send(Message::Text(serde_json::to_string(&msg)?.into())).await?;
    while let Some(m) = ws.next().await {
        if let Message::Text(t) = m? {
            let reply: ServerMsg = serde_json::from_str(&t)?;
            match &reply {
                ServerMsg::Ack { req: r, .. }
                | ServerMsg::Result { req: r, .. }
                | ServerMsg::Error { req: Some(r), .. }
                    if r == req =>
                {
                    return Ok(reply);
                }
                _ => {}
            }
        }
    }
    anyhow::bail!("closed")
}

pub fn run() -> anyhow::Result<()> {
    println!("== history ({PER_DAY} incidents a day for {DAYS} days, each reported, returned and closed)");
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let data = data_dir()?;
        let mut config = Config::new(map_dir(), data.path());
        let clock = Clock::manual(1_800_000_000_000);
        config.clock = clock.clone();
        let city = onegrid_server::city::load(&map_dir())?;
        let starts: Vec<Point> = city.roster.iter().map(|r| Point::new(r.start[0], r.start[1])).collect();
        drop(city);
        let running = onegrid_server::start(config).await?;
        let url = format!("ws://{}", running.addr);
        let mut desk = hello(&url, "dev-city").await?;
        let step = 86_400_000 / PER_DAY as i64;
        let mut ids = Vec::new();
        for n in 0..PER_DAY * DAYS {
            let report = Command::Report(Report {
                category: "0102".into(),
                location: starts[n as usize % starts.len()],
                datum: Default::default(),
                source: Source::Citizen,
                description: "历史".into(),
                attachments: vec![],
                severity: 2,
                scale: Scale::Individual,
                held_ms: 0,
            });
            let req = format!("r{n}");
            let ServerMsg::Ack { incident: Some(id), .. } =
                ask(&mut desk, ClientMsg::Command { req: req.clone(), cmd: report, key: None }, &req).await?
            else {
                anyhow::bail!("report {n} refused")
            };
            for (k, cmd) in [
                Command::Return(Act { incident: id, note: "非本辖区事项".into(), unit: None }),
                Command::Close(Act { incident: id, note: "不予受理".into(), unit: None }),
            ]
            .into_iter()
            .enumerate()
            {
                let req = format!("c{n}-{k}");
                let reply = ask(&mut desk, ClientMsg::Command { req: req.clone(), cmd, key: None }, &req).await?;
                anyhow::ensure!(matches!(reply, ServerMsg::Ack { .. }), "{reply:?}");
            }
            ids.push(id);
            clock.advance(step);
            if (n + 1) % PER_DAY == 0 {
                running.engine.archive_closed().await.map_err(|r| anyhow::anyhow!(r.message))?;
            }
        }
        let held: Vec<Incident> = running.engine.with_world(|w| w.incidents.values().cloned().collect());

        let mut wall = hello(&url, "dev-wall").await?;
        let sub = ClientMsg::Subscribe { layers: vec![Layer::Incidents], area: None, resume: None };
        wall.send(Message::Text(serde_json::to_string(&sub)?.into())).await?;
        let (live, text) = loop {
            let Some(m) = wall.next().await else { anyhow::bail!("closed") };
            if let Message::Text(t) = m?
                && let ServerMsg::Snapshot { incidents, .. } = serde_json::from_str::<ServerMsg>(&t)?
            {
                break (incidents, t.to_string());
            }
        };
        // The snapshot as it was: the same, with every incident ever closed in it.
        let mut all: Vec<Incident> = Vec::new();
        for (k, id) in ids.iter().enumerate() {
            let req = format!("q{k}");
            let q = ClientMsg::Query { req: req.clone(), q: Query::Incident { id: *id } };
            let ServerMsg::Result { result: QueryResult::Incident { incident }, .. } = ask(&mut desk, q, &req).await?
            else {
                anyhow::bail!("incident {id} by number")
            };
            all.push(*incident);
        }
        let mut before: ServerMsg = serde_json::from_str(&text)?;
        if let ServerMsg::Snapshot { incidents, .. } = &mut before {
            *incidents = all.clone();
        }
        let world_before = serde_json::to_string(&all)?.len();
        let world_now = serde_json::to_string(&held)?.len();
        let before = serde_json::to_string(&before)?.len();
        line("incidents closed over the three weeks", &format!("{}", ids.len()));
        line("in the snapshot now (closed within a day)", &format!("{}", live.len()));
        line("snapshot before (every incident ever closed), kB", &format!("{:.0}", before as f64 / 1e3));
        line("snapshot now, kB", &format!("{:.0}", text.len() as f64 / 1e3));
        line("snapshot now / before, bytes", &format!("{:.3}x", text.len() as f64 / before as f64));
        line("incidents in the server's world before (every one reported)", &format!("{}", all.len()));
        line("incidents in the server's world now (open, closed within a week)", &format!("{}", held.len()));
        line("the world's incidents before, kB of JSON", &format!("{:.0}", world_before as f64 / 1e3));
        line("the world's incidents now, kB of JSON", &format!("{:.0}", world_now as f64 / 1e3));
        line("world now / before, bytes", &format!("{:.3}x", world_now as f64 / world_before as f64));
        let events = running.engine.with_world(|w| w.seq);
        running.shutdown().await;

        // What the weeks cost a restart: from the checkpoint written at shutdown, against
        // replaying every event (a copy of the journal without its checkpoint) and against
        // an empty journal. The clock a day on, so that nothing is left to archive.
        let start = |dir: std::path::PathBuf| async move {
            let mut config = Config::new(map_dir(), dir);
            config.clock = Clock::manual(1_800_000_000_000 + (DAYS as i64 + 1) * 86_400_000);
            let t = std::time::Instant::now();
            let running = onegrid_server::start(config).await?;
            let took = t.elapsed().as_secs_f64();
            let held = running.engine.with_world(|w| w.incidents.len());
            running.shutdown().await;
            anyhow::Ok((took, held))
        };
        let replay = data_dir()?;
        for f in std::fs::read_dir(data.path())? {
            let f = f?;
            std::fs::copy(f.path(), replay.path().join(f.file_name()))?;
        }
        let empty = data_dir()?;
        let (mut from_checkpoint, mut from_first, mut without) = (vec![], vec![], vec![]);
        for _ in 0..3 {
            // Each start writes a checkpoint at shutdown: removed again before each.
            rusqlite::Connection::open(replay.path().join("journal.sqlite"))?.execute("DELETE FROM checkpoints", [])?;
            from_first.push(start(replay.path().to_owned()).await?);
            from_checkpoint.push(start(data.path().to_owned()).await?);
            without.push(start(empty.path().to_owned()).await?);
        }
        anyhow::ensure!(from_first[0].1 == from_checkpoint[0].1, "the same world either way");
        let median = |v: &mut Vec<(f64, usize)>| {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            v[1].0
        };
        let (c, f, e) = (median(&mut from_checkpoint), median(&mut from_first), median(&mut without));
        line("events in the journal", &format!("{events}"));
        line("restart on an empty journal (median of 3), ms", &format!("{:.0}", e * 1e3));
        line("restart replaying every event (median of 3), ms", &format!("{:.0}", f * 1e3));
        line("restart from the checkpoint (median of 3), ms", &format!("{:.0}", c * 1e3));
        line("restart, checkpoint / every event", &format!("{:.2}x", c / f));
        line("restart beyond an empty journal's, checkpoint / every event", &format!("{:.2}x", (c - e) / (f - e)));
        anyhow::Ok(())
    })
}
