//! Ingest-to-client latency: 10,000 units reporting every 2 s (5,000 positions/s over
//! WebSocket from field connections) to 50 subscribed clients; a probe unit's positions are
//! timed from send to receipt. Baseline: a minimal server that broadcasts every incoming
//! frame, as received, to the same 50 clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use geo_types::Point;
use onegrid_protocol::{ClientMsg, Command, Layer, Position};
use onegrid_server::{Config, clock::Clock, sim};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::common::{Ws, client, data_dir, line, map_dir, percentile};

const CLIENTS: usize = 50;
const SENDERS: usize = 10;
const UNITS: usize = 10_000;
const SECONDS: u64 = 8;
const PROBES: usize = 3_600;

struct Probe {
    start: Instant,
    sent: Vec<AtomicU64>,
}

impl Probe {
    fn latency_ms(&self, seq: usize) -> Option<f64> {
        let sent = self.sent.get(seq)?.load(Ordering::Relaxed);
        (sent > 0).then(|| (self.start.elapsed().as_nanos() as u64).saturating_sub(sent) as f64 / 1e6)
    }
}

/// The probe's heading (tenths of a degree) in a frame of either path, as its sequence.
fn probe_seq(text: &str, probe: u32) -> Option<usize> {
    let key = format!("[{probe},");
    if let Some(i) = text.find(&key) {
        let row = &text[i + key.len()..];
        let heading = row.split(',').nth(2)?;
        return heading.parse::<f64>().ok().map(|h| (h * 10.0).round() as usize);
    }
    if text.contains(&format!("\"unit\":{probe},")) {
        let i = text.find("\"heading_deg\":")?;
        let h = text[i + 14..].split(['}', ',']).next()?;
        return h.parse::<f64>().ok().map(|h| (h * 10.0).round() as usize);
    }
    None
}

fn listen(mut ws: Ws, probe: Arc<Probe>, probe_unit: u32, out: Arc<std::sync::Mutex<Vec<f64>>>) {
    tokio::spawn(async move {
        let mut mine = Vec::new();
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m {
                if t.as_str() == "stop" {
                    break;
                }
                if let Some(seq) = probe_seq(t.as_str(), probe_unit)
                    && let Some(ms) = probe.latency_ms(seq)
                {
                    mine.push(ms);
                }
            }
        }
        out.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
    });
}

/// Field connections sending 5,000 positions/s in 10 ms rounds; every round one probe.
async fn field(url: String, units: Arc<Vec<(u32, Point)>>, probe: Arc<Probe>, sender: usize) -> anyhow::Result<()> {
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
    let hello = ClientMsg::Hello { version: 1, token: "dev-city".into(), client: "field".into(), gzip: false };
    ws.send(Message::Text(serde_json::to_string(&hello)?.into())).await?;
    let (mut sink, mut read) = ws.split();
    tokio::spawn(async move { while read.next().await.is_some() {} });
    let per_round = UNITS / 2 / 100 / SENDERS; // 5,000/s in 100 rounds a second
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let stop = Instant::now() + Duration::from_secs(SECONDS);
    let mut n = sender * 97;
    let mut round = 0usize;
    while Instant::now() < stop {
        tick.tick().await;
        round += 1;
        for k in 0..per_round {
            n += 1;
            let (unit, at) = units[(n * SENDERS + sender) % units.len()];
            let is_probe = sender == 0 && k == 0;
            let (unit, heading) = if is_probe { (units[0].0, (round % PROBES) as f32 / 10.0) } else { (unit, 0.0) };
            let cmd =
                Command::Position(Position { unit, location: at, datum: Default::default(), heading_deg: heading });
            let text = serde_json::to_string(&ClientMsg::Command { req: String::new(), cmd, key: None })?;
            if is_probe {
                probe.sent[round % PROBES].store(probe.start.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
            sink.feed(Message::Text(text.into())).await?;
        }
        sink.flush().await?;
    }
    Ok(())
}

pub fn run() -> anyhow::Result<()> {
    println!("== update latency ({UNITS} units every 2 s, {CLIENTS} clients, {SECONDS} s)");
    let rt = tokio::runtime::Runtime::new()?;
    let (real, base) = rt.block_on(async { anyhow::Ok((measure(true).await?, measure(false).await?)) })?;
    line("baseline broadcast p50 / p99, ms", &format!("{:.2} / {:.2} ({} samples)", base.0, base.1, base.2));
    line("real path p50 / p99, ms", &format!("{:.2} / {:.2} ({} samples)", real.0, real.1, real.2));
    line("real p99 / baseline p99 (target <= 1.5)", &format!("{:.2}", real.1 / base.1));
    Ok(())
}

async fn measure(real: bool) -> anyhow::Result<(f64, f64, usize)> {
    let data = data_dir()?;
    let probe = Arc::new(Probe { start: Instant::now(), sent: (0..PROBES).map(|_| AtomicU64::new(0)).collect() });
    let out = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (url, units, running, tx) = if real {
        let mut config = Config::new(map_dir(), data.path());
        config.clock = Clock::system();
        let mut profile = sim::Profile::named("stress").ok_or_else(|| anyhow::anyhow!("profile"))?;
        profile.cameras = 0;
        let mut city = onegrid_server::city::load(&map_dir())?;
        sim::augment(&mut city, &profile);
        let units: Vec<(u32, Point)> = city.roster.iter().map(|r| (r.id, Point::new(r.start[0], r.start[1]))).collect();
        config.population = Some(profile);
        let running = onegrid_server::start(config).await?;
        (format!("ws://{}", running.addr), units, Some(running), None)
    } else {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("ws://{}", listener.local_addr()?);
        let (tx, _) = tokio::sync::broadcast::channel::<Utf8Bytes>(4096);
        let tx2 = tx.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let tx = tx2.clone();
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(s).await else { return };
                    let (mut sink, mut read) = ws.split();
                    let mut rx = tx.subscribe();
                    let first = read.next().await;
                    if let Some(Ok(Message::Text(t))) = first
                        && t.as_str().contains("\"field\"")
                    {
                        while let Some(Ok(Message::Text(t))) = read.next().await {
                            let _ = tx.send(t);
                        }
                    } else {
                        while let Ok(f) = rx.recv().await {
                            if sink.send(Message::Text(f)).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        let units: Vec<(u32, Point)> = (0..UNITS as u32).map(|i| (i + 1, Point::new(118.1, 24.47))).collect();
        (url, units, None, Some(tx))
    };
    let probe_unit = units[0].0;
    let mut listeners = Vec::new();
    for _ in 0..CLIENTS {
        let ws = if real {
            client(&url, "dev-wall", &[Layer::Personnel]).await?
        } else {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
            ws.send(Message::Text("{\"type\":\"hello\"}".into())).await?;
            ws
        };
        listeners.push(ws);
    }
    for ws in listeners {
        listen(ws, probe.clone(), probe_unit, out.clone());
    }
    let units = Arc::new(units);
    let senders: Vec<_> =
        (0..SENDERS).map(|s| tokio::spawn(field(url.clone(), units.clone(), probe.clone(), s))).collect();
    for s in senders {
        s.await??;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Some(tx) = tx {
        let _ = tx.send("stop".into());
    }
    if let Some(r) = running {
        r.shutdown().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut lat = out.lock().unwrap_or_else(|e| e.into_inner()).clone();
    lat.sort_by(f64::total_cmp);
    Ok((percentile(&lat, 0.5), percentile(&lat, 0.99), lat.len()))
}
