//! A storm of consoles: a centre's consoles and wall coming back together after a power
//! cut or a server restart. `N` consoles connect at once, say they read compressed frames
//! and subscribe to every layer of the whole city, while the simulator runs and a desk
//! keeps reporting. Baselines in the same run: one console subscribing alone, and the
//! desk's report round trips with no storm.
//!
//! Figures: the time until the last of the `N` has its snapshot, against `N` times one
//! alone (what no sharing at all would cost, the cores aside; one alone is timed when no
//! snapshot is there to share); and the desk's report round trip (command to
//! acknowledgement) during the storm against at rest.
//!
//! `ONEGRID_BENCH_MAP=DIR` measures another map directory (say `maps build --profile city`).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use geo_types::Point;
use onegrid_protocol::{ClientMsg, Command, Layer, PROTOCOL_VERSION, Report, Scale, ServerMsg, Source};
use onegrid_server::engine::SHARE_SNAPSHOT_FOR;
use onegrid_server::{Config, sim};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Ws, data_dir, line, map_dir, percentile};

const CONSOLES: usize = 16;
const ALONE_ROUNDS: usize = 5;

/// Connects and says hello, reading compressed frames.
async fn hello(url: &str, token: &str) -> anyhow::Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let hello = ClientMsg::Hello { version: PROTOCOL_VERSION, token: token.into(), client: "storm".into(), gzip: true };
    ws.send(Message::Text(serde_json::to_string(&hello)?.into())).await?;
    ws.next().await.ok_or_else(|| anyhow::anyhow!("no welcome"))??;
    Ok(ws)
}

/// Subscribes `ws` to every layer and waits for the snapshot; its bytes on the wire.
async fn subscribe(ws: &mut Ws) -> anyhow::Result<usize> {
    let layers = vec![Layer::Incidents, Layer::Personnel, Layer::Cameras, Layer::Grid];
    let sub = ClientMsg::Subscribe { layers, area: None, resume: None };
    ws.send(Message::Text(serde_json::to_string(&sub)?.into())).await?;
    while let Some(m) = ws.next().await {
        match m? {
            Message::Binary(b) => return Ok(b.len()),
            Message::Text(t) if t.as_str().starts_with("{\"type\":\"snapshot\"") => return Ok(t.len()),
            _ => {}
        }
    }
    anyhow::bail!("closed before the snapshot")
}

/// A desk reporting every 20 ms until `stop`; the round trips, ms.
async fn desk(url: String, at: Point, stop: Instant) -> anyhow::Result<Vec<f64>> {
    let mut ws = hello(&url, "dev-city").await?;
    let mut trips = Vec::new();
    let mut n = 0u64;
    while Instant::now() < stop {
        n += 1;
        let req = format!("r{n}");
        let cmd = Command::Report(Report {
            category: "0301".into(),
            location: at,
            datum: Default::default(),
            source: Source::Citizen,
            description: "风暴测试".into(),
            attachments: vec![],
            severity: 2,
            scale: Scale::Individual,
            held_ms: 0,
        });
        let t = Instant::now();
        ws.send(Message::Text(serde_json::to_string(&ClientMsg::Command { req: req.clone(), cmd, key: None })?.into()))
            .await?;
        loop {
            let Some(m) = ws.next().await else { anyhow::bail!("the desk's link closed") };
            if let Message::Text(text) = m?
                && let Ok(ServerMsg::Ack { req: r, .. } | ServerMsg::Error { req: Some(r), .. }) =
                    serde_json::from_str::<ServerMsg>(&text)
                && r == req
            {
                break;
            }
        }
        trips.push(t.elapsed().as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(trips)
}

pub fn run() -> anyhow::Result<()> {
    let dir = std::env::var_os("ONEGRID_BENCH_MAP").map_or_else(map_dir, Into::into);
    println!("== storm ({CONSOLES} consoles subscribing at once, {})", dir.display());
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let data = data_dir()?;
        let mut config = Config::new(&dir, data.path());
        config.simulate = Some(sim::Profile::named("default").ok_or_else(|| anyhow::anyhow!("profile"))?);
        let city = onegrid_server::city::load(&dir)?;
        let at = city.roster.first().map(|r| Point::new(r.start[0], r.start[1])).unwrap_or(Point::new(118.1, 24.47));
        drop(city);
        let running = onegrid_server::start(config).await?;
        let url = format!("ws://{}", running.addr);
        // Let the simulator place its units.
        tokio::time::sleep(Duration::from_secs(3)).await;

        let mut alone = Vec::new();
        let mut bytes = 0;
        for _ in 0..ALONE_ROUNDS {
            // Alone: after the last snapshot built has stopped being shared.
            tokio::time::sleep(SHARE_SNAPSHOT_FOR + Duration::from_millis(100)).await;
            let mut ws = hello(&url, "dev-wall").await?;
            let t = Instant::now();
            bytes = subscribe(&mut ws).await?;
            alone.push(t.elapsed().as_secs_f64());
        }
        alone.sort_by(f64::total_cmp);
        let one = percentile(&alone, 0.5);
        line("snapshot on the wire (compressed), kB", &format!("{:.0}", bytes as f64 / 1e3));
        line("one console alone: subscribe to snapshot, ms", &format!("{:.1}", one * 1e3));

        // The desk at rest, then during the storm (which starts, as the rounds alone, with
        // no snapshot to share: the last is older than SHARE_SNAPSHOT_FOR by then).
        let rest = desk(url.clone(), at, Instant::now() + SHARE_SNAPSHOT_FOR + Duration::from_secs(1)).await?;
        let mut consoles = Vec::new();
        for _ in 0..CONSOLES {
            consoles.push(hello(&url, "dev-wall").await?);
        }
        let stop = Instant::now() + Duration::from_secs(3);
        let during = tokio::spawn(desk(url.clone(), at, stop));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        let storm: Vec<_> = consoles
            .into_iter()
            .map(|mut ws| {
                tokio::spawn(async move {
                    subscribe(&mut ws).await?;
                    anyhow::Ok((Instant::now(), ws))
                })
            })
            .collect();
        let mut last = t;
        let mut kept = Vec::new();
        for s in storm {
            let (done, ws) = s.await??;
            last = last.max(done);
            kept.push(ws);
        }
        let all = last.duration_since(t).as_secs_f64();
        let mut during = during.await??;
        let mut rest = rest;
        rest.sort_by(f64::total_cmp);
        during.sort_by(f64::total_cmp);
        line(&format!("{CONSOLES} at once: until the last has its snapshot, ms"), &format!("{:.1}", all * 1e3));
        line(
            &format!("{CONSOLES} at once / ({CONSOLES} x one alone)"),
            &format!("{:.3}x", all / (one * CONSOLES as f64)),
        );
        let (r50, r99) = (percentile(&rest, 0.5), percentile(&rest, 0.99));
        let (d50, d99) = (percentile(&during, 0.5), percentile(&during, 0.99));
        line(
            "desk's report round trip at rest p50 / p99, ms",
            &format!("{r50:.2} / {r99:.2} ({} reports)", rest.len()),
        );
        line(
            "desk's report round trip, storm p50 / p99, ms",
            &format!("{d50:.2} / {d99:.2} ({} reports)", during.len()),
        );
        line("desk's round trip, storm / rest (p99)", &format!("{:.2}x", d99 / r99));
        let worst = during.last().copied().unwrap_or(f64::NAN);
        line("desk's longest round trip in the storm, ms", &format!("{worst:.1}"));
        drop(kept);
        running.shutdown().await;
        anyhow::Ok(())
    })
}
