//! Durable commands per second and ack latency through the real server, against the raw
//! fsync rate of the same disk times the mean group-commit batch size.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use geo_types::Point;
use onegrid_protocol::{ClientMsg, Command, Report, Scale, ServerMsg, Source};
use onegrid_server::{Config, clock::Clock};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{client, data_dir, line, map_dir, percentile};

const SECONDS: f64 = 5.0;

fn fsync_rate(dir: &std::path::Path) -> anyhow::Result<f64> {
    let mut f = std::fs::File::create(dir.join("fsync-probe"))?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        f.write_all(&[7u8; 256])?;
        f.sync_data()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

pub fn run() -> anyhow::Result<()> {
    println!("== journal");
    scenario("heavy load: 32 connections x 64 in flight", 32, 64, false)?;
    scenario("light load: 8 connections x 1 in flight", 8, 1, false)?;
    Ok(())
}

/// What idempotency keys cost: the heavy load with every report keyed against the same
/// load without keys, alternating, two rounds each.
pub fn run_keys() -> anyhow::Result<()> {
    println!("== keys");
    let mut ratios = Vec::new();
    for round in 1..=2 {
        let plain = scenario(&format!("round {round}: heavy load, no keys"), 32, 64, false)?;
        let keyed = scenario(&format!("round {round}: heavy load, every report keyed"), 32, 64, true)?;
        ratios.push(keyed / plain);
    }
    let words: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    line("keyed / unkeyed durable commands/s, by round", &words.join(" · "));
    Ok(())
}

/// Runs one load; returns the durable commands a second.
fn scenario(name: &str, connections: usize, window: usize, keyed: bool) -> anyhow::Result<f64> {
    println!("-- {name}");
    let data = data_dir()?;
    let fsyncs = fsync_rate(data.path())?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut config = Config::new(map_dir(), data.path());
        config.clock = Clock::system();
        let server = onegrid_server::start(config).await?;
        let url = format!("ws://{}", server.addr);
        let points: Vec<Point> = server
            .engine
            .city()
            .cells
            .cells()
            .iter()
            .step_by(7)
            .map(|c| {
                let e = &c.polygon.exterior().0;
                Point::new((e[0].x + e[2].x) / 2.0, (e[0].y + e[2].y) / 2.0)
            })
            .collect();
        let stats = server.engine.journal_stats();
        let (b0, j0) = (stats.batches.load(Ordering::Relaxed), stats.jobs.load(Ordering::Relaxed));
        let (w0, p0) = (stats.write_ns.load(Ordering::Relaxed), stats.publish_ns.load(Ordering::Relaxed));
        let stop = Instant::now() + Duration::from_secs_f64(SECONDS);
        let tasks: Vec<_> = (0..connections)
            .map(|c| {
                let (url, points) = (url.clone(), points.clone());
                tokio::spawn(async move { load(&url, c, window, &points, stop, keyed).await })
            })
            .collect();
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await??);
        }
        let (b1, j1) = (stats.batches.load(Ordering::Relaxed), stats.jobs.load(Ordering::Relaxed));
        let (w1, p1) = (stats.write_ns.load(Ordering::Relaxed), stats.publish_ns.load(Ordering::Relaxed));
        let batches = (b1 - b0).max(1) as f64;
        lat.sort_by(f64::total_cmp);
        let rate = lat.len() as f64 / SECONDS;
        let mean_batch = (j1 - j0) as f64 / (b1 - b0).max(1) as f64;
        let baseline = fsyncs * mean_batch;
        line("raw fsync rate (256 B write + fdatasync), /s", &format!("{fsyncs:.0}"));
        line("mean group-commit batch, commands", &format!("{mean_batch:.1}"));
        line("durable commands/s (reports over WebSocket)", &format!("{rate:.0}"));
        line("baseline fsync rate x mean batch, /s", &format!("{baseline:.0}"));
        line("durable/s vs baseline (target >= 0.8)", &format!("{:.2}", rate / baseline));
        line("ack latency p50 / p99, ms", &format!("{:.1} / {:.1}", percentile(&lat, 0.5), percentile(&lat, 0.99)));
        line(
            "journal thread per batch: write+commit / publish, ms",
            &format!(
                "{:.2} / {:.2} (one fsync: {:.2})",
                (w1 - w0) as f64 / batches / 1e6,
                (p1 - p0) as f64 / batches / 1e6,
                1e3 / fsyncs
            ),
        );
        line(
            "journal thread busy, share of the run",
            &format!("{:.0} %", (w1 - w0 + p1 - p0) as f64 / 1e9 / SECONDS * 100.0),
        );
        server.shutdown().await;
        anyhow::Ok(rate)
    })
}

/// One connection pipelining `window` reports, each under a key of its own if `keyed`;
/// returns ack latencies in ms.
async fn load(
    url: &str,
    c: usize,
    window: usize,
    points: &[Point],
    stop: Instant,
    keyed: bool,
) -> anyhow::Result<Vec<f64>> {
    let mut ws = client(url, "dev-city", &[]).await?;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut lat = Vec::new();
    let mut n = 0usize;
    loop {
        while sent.len() < window && Instant::now() < stop {
            n += 1;
            let req = format!("{c}-{n}");
            let cmd = Command::Report(Report {
                category: "0307".into(),
                location: points[(c * 131 + n) % points.len()],
                datum: Default::default(),
                source: Source::Citizen,
                description: "暴露垃圾".into(),
                attachments: Vec::new(),
                severity: 1,
                scale: Scale::Individual,
                held_ms: 0,
            });
            let key = keyed.then(|| format!("bench-{c}-{n}"));
            let text = serde_json::to_string(&ClientMsg::Command { req: req.clone(), cmd, key })?;
            ws.feed(Message::Text(text.into())).await?;
            sent.insert(req, Instant::now());
        }
        ws.flush().await?;
        if sent.is_empty() {
            return Ok(lat);
        }
        let Some(Ok(Message::Text(t))) = ws.next().await else { anyhow::bail!("closed") };
        if let Ok(ServerMsg::Ack { req, .. }) = serde_json::from_str::<ServerMsg>(t.as_str())
            && let Some(at) = sent.remove(&req)
            && Instant::now() <= stop
        {
            lat.push(at.elapsed().as_secs_f64() * 1e3);
        }
    }
}
