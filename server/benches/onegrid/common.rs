//! Shared by the benchmarks: the default city, timing and percentiles, WebSocket clients.

use std::path::PathBuf;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use onegrid_protocol::{ClientMsg, Layer, PROTOCOL_VERSION};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub fn map_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen")
}

/// A directory on the build disk (not tmpfs), removed on drop.
pub fn data_dir() -> anyhow::Result<tempfile::TempDir> {
    let base = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("target"));
    std::fs::create_dir_all(&base)?;
    Ok(tempfile::tempdir_in(base)?)
}

/// `n` random points inside the city's lattice cells, `margin` (a share of the cell's side)
/// clear of each cell's edges.
pub fn points_in_cells(
    city: &onegrid_server::city::City,
    n: usize,
    rng: &mut onegrid_server::rng::Rng,
    margin: f64,
) -> Vec<geo_types::Point> {
    let cells = city.cells.cells();
    (0..n)
        .map(|_| {
            let e = &cells[rng.below(cells.len())].polygon.exterior().0;
            let (dx, dy) = (e[2].x - e[0].x, e[2].y - e[0].y);
            let (fx, fy) = (rng.range(margin, 1.0 - margin), rng.range(margin, 1.0 - margin));
            geo_types::Point::new(e[0].x + dx * fx, e[0].y + dy * fy)
        })
        .collect()
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Seconds of `f`.
pub fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}

/// Connects, says hello and subscribes to `layers` (nothing when empty).
pub async fn client(url: &str, token: &str, layers: &[Layer]) -> anyhow::Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let hello =
        ClientMsg::Hello { version: PROTOCOL_VERSION, token: token.into(), client: "bench".into(), gzip: false };
    ws.send(Message::Text(serde_json::to_string(&hello)?.into())).await?;
    ws.next().await;
    if !layers.is_empty() {
        let sub = ClientMsg::Subscribe { layers: layers.to_vec(), area: None, resume: None };
        ws.send(Message::Text(serde_json::to_string(&sub)?.into())).await?;
        ws.next().await; // the snapshot
    }
    Ok(ws)
}

/// Rows in a positions frame, counted the same cheap way for every path: arrays minus one.
pub fn rows(text: &str) -> u64 {
    bytecount(text.as_bytes(), b'[').saturating_sub(1)
}

fn bytecount(b: &[u8], c: u8) -> u64 {
    b.iter().filter(|x| **x == c).count() as u64
}

pub fn line(name: &str, value: &str) {
    println!("{name:<58} {value}");
}
