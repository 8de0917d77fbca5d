//! One connection: hello, then subscriptions, commands and queries, in any order.
//!
//! The reader decodes and answers; commands are decided inline (in arrival order) and their
//! acks are sent in the same order once durable by an acker task. The writer drains the
//! client's outbox and writes whole batches with one flush. A client is cut off when no byte
//! of a batch has reached it for the engine's `write_stall` (30 s): a slow link taking a
//! large frame (the map) is not a stalled one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use onegrid_protocol::io::{Metered, Quiet, Traffic};
use onegrid_protocol::validate::{DecodeError, MAX_FRAME_BYTES, decode_client};
use onegrid_protocol::{ClientMsg, ErrorCode, PROTOCOL_VERSION, ServerMsg, UserInfo};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::engine::{Engine, Pending};
use crate::hub::{Body, ClientHandle, Filter, Out, encode};
use crate::world::Actor;

/// How long a client has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a write in progress is checked for bytes moving (at most: a tenth of the
/// stall limit when that is shorter).
const WRITE_CHECK: Duration = Duration::from_millis(500);
/// Commands awaiting durability per connection before the reader waits.
const IN_FLIGHT: usize = 1_024;

type Sink = futures_util::stream::SplitSink<WebSocketStream<Metered<TcpStream>>, Message>;

/// Serves one connection until it closes or the server stops.
pub async fn serve(engine: Arc<Engine>, stream: TcpStream, addr: SocketAddr, stop: watch::Receiver<bool>) {
    let (stream, traffic) = Metered::new(stream);
    let ws = match tokio_tungstenite::accept_async_with_config(stream, Some(super::ws_config())).await {
        Ok(ws) => ws,
        Err(e) => {
            tracing::debug!(%addr, "handshake failed: {e}");
            return;
        }
    };
    let (sink, mut reader) = ws.split();
    let client = engine.live.hub.new_client();
    let mut writer = tokio::spawn(write_loop(engine.clone(), client.clone(), sink, traffic, stop.clone()));
    let mut writer_done = false;
    let (ack_tx, ack_rx) = mpsc::channel::<(String, Pending)>(IN_FLIGHT);
    let acker = tokio::spawn(ack_loop(client.clone(), ack_rx));
    let mut session = Session {
        engine: engine.clone(),
        client: client.clone(),
        origin: super::origin(addr),
        user: None,
        acks: ack_tx,
    };
    let mut stop = stop;
    let hello_deadline = tokio::time::sleep(HELLO_TIMEOUT);
    tokio::pin!(hello_deadline);
    loop {
        tokio::select! {
            msg = reader.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if !session.on_text(text.as_str()).await {
                        break;
                    }
                }
                Some(Ok(Message::Binary(_))) => session.reply_error(None, ErrorCode::BadFrame, "binary frames are not part of protocol v1; send JSON text"),
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(WsError::Capacity(e))) => {
                    session.reply_error(None, ErrorCode::FrameTooLarge, &format!("frame too large: {e}; closing"));
                    break;
                }
                Some(Err(e)) => {
                    tracing::debug!(%addr, "read failed: {e}");
                    break;
                }
            },
            _ = &mut hello_deadline, if session.user.is_none() => {
                session.reply_error(None, ErrorCode::NotAuthenticated, "no hello within 10 s; closing");
                break;
            }
            // The writer gave up on this client (stalled, or answers left unread): end the
            // session too, or it would linger on a silent socket.
            _ = &mut writer => {
                writer_done = true;
                break;
            }
            _ = stop.changed() => break,
        }
    }
    engine.live.hub.unregister(client.id);
    drop(session);
    let _ = acker.await;
    client.close();
    if !writer_done {
        let _ = writer.await;
    }
}

struct Session {
    engine: Arc<Engine>,
    client: Arc<ClientHandle>,
    origin: String,
    user: Option<UserInfo>,
    acks: mpsc::Sender<(String, Pending)>,
}

impl Session {
    fn reply(&self, msg: &ServerMsg) {
        self.client.push_direct(encode(msg));
    }

    fn reply_error(&self, req: Option<String>, code: ErrorCode, message: &str) {
        self.reply(&ServerMsg::error(req, code, message));
    }

    /// Handles one text frame; false closes the connection.
    async fn on_text(&mut self, text: &str) -> bool {
        let msg = match decode_client(text) {
            Ok(m) => m,
            Err(e) => {
                let (code, message) = match e {
                    DecodeError::BadFrame(m) => (ErrorCode::BadFrame, m),
                    DecodeError::UnknownType(t) => (ErrorCode::UnknownType, format!("unknown message type `{t}`")),
                    DecodeError::TooLarge(n) => {
                        (ErrorCode::FrameTooLarge, format!("frame of {n} bytes; the limit is {MAX_FRAME_BYTES}"))
                    }
                    DecodeError::Invalid(m) => (ErrorCode::Invalid, m),
                };
                let req = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("req").and_then(|r| r.as_str()).map(str::to_owned));
                self.reply_error(req, code, &message);
                return true;
            }
        };
        match (msg, self.user.clone()) {
            (ClientMsg::Hello { version, token, client, gzip }, None) => {
                self.client.set_gzip(gzip);
                self.hello(version, &token, &client)
            }
            (ClientMsg::Hello { .. }, Some(_)) => {
                self.reply_error(None, ErrorCode::NotAuthenticated, "already authenticated; hello is sent once");
                true
            }
            (ClientMsg::Ping { t }, _) => {
                self.reply(&ServerMsg::Pong { t });
                true
            }
            (_, None) => {
                self.reply_error(None, ErrorCode::NotAuthenticated, "send hello first");
                true
            }
            (ClientMsg::Subscribe { layers, area, resume }, Some(user)) => {
                let filter = Filter::new(user.scope.clone(), &layers, area);
                self.engine.subscribe(&self.client, filter, resume.as_ref());
                true
            }
            (ClientMsg::Query { req, q }, Some(user)) => {
                match self.engine.answer_gzip(&req, &q) {
                    Some(gzip) => self.client.push_direct_gzip(gzip),
                    None => self.client.push_direct(self.engine.answer(&user, req, &q)),
                }
                true
            }
            (ClientMsg::Command { req, cmd, key }, Some(user)) => {
                let actor = Actor { user: &user, origin: &self.origin };
                match self.engine.execute(actor, &cmd, key.as_deref()) {
                    Ok(pending) => self.acks.send((req, pending)).await.is_ok(),
                    Err(r) => {
                        self.reply_error(Some(req), r.code, &r.message);
                        true
                    }
                }
            }
        }
    }

    fn hello(&mut self, version: u32, token: &str, client: &str) -> bool {
        if version != PROTOCOL_VERSION {
            let m = format!("this server speaks protocol version {PROTOCOL_VERSION}, not {version}");
            self.reply_error(None, ErrorCode::UnsupportedVersion, &m);
            return false;
        }
        let Some(user) = self.engine.users.get(token).cloned() else {
            self.reply_error(None, ErrorCode::BadToken, "unknown token");
            return false;
        };
        tracing::info!(origin = %self.origin, user = %user.id, client, "authenticated");
        self.reply(&ServerMsg::Welcome {
            version: PROTOCOL_VERSION,
            user: user.clone(),
            journal: self.engine.journal_id().to_owned(),
            features: [
                onegrid_protocol::FEATURE_KEYS,
                onegrid_protocol::FEATURE_WAYS,
                onegrid_protocol::FEATURE_ACKNOWLEDGE,
            ]
            .map(str::to_owned)
            .to_vec(),
            map_digest: Some(self.engine.live.city.map.digest().to_owned()),
            map_parts: Some(self.engine.live.city.map.parts()),
            map_part_digests: self.engine.live.city.map.part_digests(),
            archive_after_ms: Some(self.engine.archive_after_ms()),
        });
        self.user = Some(user);
        true
    }
}

/// Drives a batch to its end unless no byte of it moves for the engine's `write_stall`, or
/// the client is aborted; `None` when the client is to be cut off (said in the log).
async fn watch_stall<F: Future<Output = Result<(), WsError>>>(
    engine: &Engine,
    client: &ClientHandle,
    traffic: &Traffic,
    mut batch: std::pin::Pin<&mut F>,
) -> Option<Result<(), WsError>> {
    let stall = engine.live.write_stall;
    let mut quiet = Quiet::new(traffic.written(), tokio::time::Instant::now().into_std());
    let mut check = tokio::time::interval(WRITE_CHECK.min(stall / 10).max(Duration::from_millis(10)));
    loop {
        tokio::select! {
            r = &mut batch => return Some(r),
            _ = check.tick() => {
                if quiet.quiet_for(traffic.written(), tokio::time::Instant::now().into_std()) >= stall {
                    tracing::info!(client = client.id, "client stopped reading; disconnecting");
                    return None;
                }
            }
            _ = client.abort.notified() => {
                tracing::info!(client = client.id, "client left too many answers unread; disconnecting");
                return None;
            }
        }
    }
}

/// Sends acks (or errors) in command order as each becomes durable.
async fn ack_loop(client: Arc<ClientHandle>, mut rx: mpsc::Receiver<(String, Pending)>) {
    while let Some((req, pending)) = rx.recv().await {
        let msg = match pending.durable().await {
            Ok(done) => ServerMsg::Ack { req, seq: done.seq, incident: done.incident, repeated: done.repeated },
            Err(r) => ServerMsg::error(Some(req), r.code, r.message),
        };
        client.push_direct(encode(&msg));
    }
}

/// The size from which a snapshot or delta goes compressed to a client that reads
/// compressed frames.
pub const GZIP_OVER: usize = 64 * 1024;

/// Drains the outbox into the socket: one flush per batch; deltas already covered by a
/// snapshot are skipped; a large one goes compressed to a client that said it reads so.
async fn write_loop(
    engine: Arc<Engine>,
    client: Arc<ClientHandle>,
    mut sink: Sink,
    traffic: Arc<Traffic>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_seq = 0u64;
    loop {
        let taken = client.take();
        let mut frames = Vec::with_capacity(taken.frames.len() + 2);
        let mut positions_full = taken.positions_full;
        if taken.resync
            && let Some(filter) = client.filter()
        {
            let (snapshot, shared) = engine.resnapshot(&filter);
            frames.extend(snapshot);
            positions_full |= shared;
        }
        frames.extend(taken.frames);
        if positions_full {
            if let Some(out) = client.filter().and_then(|f| engine.full_positions(&f)) {
                frames.push(out);
            }
        } else if let Some(p) = taken.positions {
            frames.push(Out::text(None, p));
        }
        let mut out = Vec::with_capacity(frames.len());
        for f in frames {
            if f.reset {
                last_seq = 0;
            }
            if let Some(seq) = f.seq {
                if seq <= last_seq && last_seq != 0 {
                    continue;
                }
                last_seq = seq;
            }
            let gzip = client.gzip();
            let message = match f.body {
                Body::Gzip(z) => Message::Binary(z),
                // A delta as large as a snapshot, to a client that reads compressed frames:
                // compressed off this task.
                Body::Text(text) if f.seq.is_some() && text.len() >= GZIP_OVER && gzip => {
                    match tokio::task::spawn_blocking(move || crate::city::export::gzip_fast(&text)).await {
                        Ok(z) => Message::Binary(z),
                        Err(e) => return tracing::warn!(client = client.id, "cannot compress a frame: {e}"),
                    }
                }
                Body::Text(text) => Message::Text(text),
                // A snapshot (a whole city's is megabytes): encoded, and compressed for a
                // client that reads so, off this task, once for every client it is shared by.
                Body::Snapshot(snap) => {
                    let encoded = tokio::task::spawn_blocking(move || {
                        let text = snap.text();
                        if gzip && text.len() >= GZIP_OVER { Message::Binary(snap.gzip()) } else { Message::Text(text) }
                    })
                    .await;
                    match encoded {
                        Ok(message) => message,
                        Err(e) => return tracing::warn!(client = client.id, "cannot encode a snapshot: {e}"),
                    }
                }
            };
            out.push(message);
        }
        if !out.is_empty() {
            let batch = async {
                for m in out {
                    sink.feed(m).await?;
                }
                sink.flush().await
            };
            tokio::pin!(batch);
            // Most batches go into the socket at once: the stall watch (a timer) starts only
            // for one that has to wait.
            let outcome = match batch.as_mut().now_or_never() {
                Some(r) => r,
                None => {
                    let Some(r) = watch_stall(&engine, &client, &traffic, batch).await else { return };
                    r
                }
            };
            if let Err(e) = outcome {
                match e {
                    WsError::WriteBufferFull(_) | WsError::Capacity(_) => {
                        tracing::warn!(client = client.id, "cannot write to the client: {e}; disconnecting")
                    }
                    e => tracing::debug!(client = client.id, "write failed: {e}"),
                }
                return;
            }
        }
        if taken.closed {
            let _ = sink.close().await;
            return;
        }
        tokio::select! {
            _ = client.notify.notified() => {}
            _ = stop.changed() => {
                let _ = sink.close().await;
                return;
            }
        }
    }
}
