//! Position deliveries per second to 1,000 clients: the real path (board → pump → per-filter
//! encoding → outboxes → writers) against a minimal tokio-tungstenite broadcast of
//! pre-encoded bytes. Same clients, same closed loop: a tick is sent when every client has
//! the previous one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use onegrid_protocol::Layer;
use onegrid_server::engine::board::Fix;
use onegrid_server::engine::tasks::pump_once;
use onegrid_server::{Config, clock::Clock};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::common::{Ws, client, data_dir, line, map_dir, rows};

const CLIENTS: usize = 1_000;
const ROWS: usize = 500;
const TICKS: u64 = 40;

type Counters = Arc<Vec<AtomicU64>>;

fn counting(mut ws: Ws, counters: Counters, i: usize) {
    tokio::spawn(async move {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m
                && t.as_str().starts_with("{\"type\":\"positions\"")
            {
                counters[i].fetch_add(rows(t.as_str()), Ordering::Relaxed);
            }
        }
    });
}

async fn wait_all(counters: &Counters, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while counters.iter().any(|c| c.load(Ordering::Relaxed) < at_least) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

pub fn run() -> anyhow::Result<()> {
    println!("== fan-out ({CLIENTS} clients, {ROWS} units moving per tick, {TICKS} ticks)");
    let rt = tokio::runtime::Runtime::new()?;
    let (real, base) = rt.block_on(async {
        let base = baseline().await?;
        let real = real_path().await?;
        anyhow::Ok((real, base))
    })?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    line("baseline: broadcast of pre-encoded bytes, deliveries/s", &format!("{base:.0}"));
    line("real path, deliveries/s", &format!("{real:.0}"));
    line("real / baseline (target >= 0.8)", &format!("{:.2}", real / base));
    line("real path per core (clients share the cores), /s", &format!("{:.0}", real / cores));
    Ok(())
}

fn frame(n: usize) -> String {
    let mut s = String::from("{\"type\":\"positions\",\"at\":0,\"units\":[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("[{i},118.100000,24.470000,90.0,\"available\"]"));
    }
    s.push_str("]}");
    s
}

async fn baseline() -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}", listener.local_addr()?);
    let (tx, _) = tokio::sync::broadcast::channel::<Utf8Bytes>(16);
    let tx2 = tx.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let mut rx = tx2.subscribe();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(s).await else { return };
                while let Ok(f) = rx.recv().await {
                    if ws.send(Message::Text(f)).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let counters: Counters = Arc::new((0..CLIENTS).map(|_| AtomicU64::new(0)).collect());
    for i in 0..CLIENTS {
        let (ws, _) = tokio_tungstenite::connect_async(&url).await?;
        counting(ws, counters.clone(), i);
    }
    while tx.receiver_count() < CLIENTS {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let f: Utf8Bytes = frame(ROWS).into();
    let start = Instant::now();
    for t in 1..=TICKS {
        let _ = tx.send(f.clone());
        wait_all(&counters, t * ROWS as u64).await;
    }
    let total: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

async fn real_path() -> anyhow::Result<f64> {
    let data = data_dir()?;
    let mut config = Config::new(map_dir(), data.path());
    config.clock = Clock::system();
    config.position_window = Duration::from_secs(3600); // the bench drives the pump itself
    let server = onegrid_server::start(config).await?;
    let url = format!("ws://{}", server.addr);
    let counters: Counters = Arc::new((0..CLIENTS).map(|_| AtomicU64::new(0)).collect());
    for i in 0..CLIENTS {
        let ws = client(&url, "dev-wall", &[Layer::Personnel]).await?;
        counting(ws, counters.clone(), i);
    }
    let engine = server.engine.clone();
    let units: Vec<(u32, geo_types::Point)> =
        engine.city().roster.iter().take(ROWS).map(|r| (r.id, geo_types::Point::new(r.start[0], r.start[1]))).collect();
    let start = Instant::now();
    for t in 1..=TICKS {
        {
            let mut board = engine.live.board.lock().unwrap_or_else(|e| e.into_inner());
            for (id, p) in &units {
                let at = geo_types::Point::new(p.x() + t as f64 * 1e-6, p.y());
                board.update(*id, Fix { at, heading_deg: 90.0, time: t as i64 });
            }
        }
        pump_once(&engine);
        wait_all(&counters, t * ROWS as u64).await;
    }
    let total: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    let rate = total as f64 / start.elapsed().as_secs_f64();
    drop(engine);
    server.shutdown().await;
    Ok(rate)
}
