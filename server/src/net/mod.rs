//! The WebSocket front: an accept loop (`run`) and one session per connection. Only this
//! module knows tokio-tungstenite.

mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use onegrid_protocol::validate::MAX_SERVER_FRAME_BYTES;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::engine::Engine;
pub use session::serve;

/// Largest frame tungstenite reads at all; frames between the protocol's limit and this are
/// answered with `frame_too_large` and the connection stays; larger ones close it.
pub const HARD_FRAME_LIMIT: usize = 1 << 20;

/// Kernel send buffer per client socket: bounds kernel memory per client and lets a
/// stalled reader back up into its (bounded) outbox quickly.
pub const SEND_BUFFER_BYTES: usize = 256 * 1024;

/// The WebSocket settings of a session: small buffers so idle clients cost little. The
/// write buffer must hold the largest frame whole (the map, see
/// [`MAX_SERVER_FRAME_BYTES`]); what a slow client may queue is bounded by its outbox.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(MAX_SERVER_FRAME_BYTES + 64 * 1024)
        .max_message_size(Some(HARD_FRAME_LIMIT))
        .max_frame_size(Some(HARD_FRAME_LIMIT))
}

/// Accepts connections until `shutdown` completes, then tells every session to close.
pub async fn run(listener: TcpListener, engine: Arc<Engine>, shutdown: impl Future<Output = ()>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER_BYTES);
                    tokio::spawn(serve(engine.clone(), stream, addr, stop_rx.clone()));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = &mut shutdown => break,
        }
    }
    let _ = stop_tx.send(true);
}

/// A peer's address for the history's `origin`.
pub fn origin(addr: SocketAddr) -> String {
    addr.to_string()
}
