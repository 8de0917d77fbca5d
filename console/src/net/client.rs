//! The connection to a dispatch server, off the ECS: one thread with a small tokio runtime
//! that connects, says hello, fetches the map once, subscribes (resuming after the last
//! sequence number it passed on), forwards every server message in order over a bounded
//! channel, sends what the console asks, pings, and reconnects with backoff when the link
//! drops. It never panics on what the server sends: a frame it cannot read is reported.
//!
//! A command carrying an idempotency key is kept from the moment it is written until its
//! ack or error arrives. When the link drops first, it is sent again, under the same key,
//! right after the next subscribe (the server answers a command it had already applied
//! with the first time's ack, so nothing is doubled), unless the link stayed down longer
//! than [`RESEND_WITHIN`] since it was written: then the console is told the outcome is
//! unknown, rather than have a stale order carried out minutes after the operator gave it.
//! Likewise when the server it reconnects to does not name [`FEATURE_KEYS`] in its welcome
//! (an older one). A keyed command that may wait (a report taken from a caller: a fact, not
//! an order decided on the picture of the moment), asked for while the link is down, is
//! held and sent once the link is back, however long that takes up to [`HOLD_WITHIN`];
//! every other command asked for while down is refused at once. A command the server refuses as
//! `overloaded` (it applied nothing) is sent again after a short wait, a few times, before
//! the refusal reaches the desk.
//!
//! The link counts as alive while bytes arrive, not only when whole frames do: the map of
//! a whole city is tens of megabytes, which a slow link takes many ping intervals to carry
//! (see [`onegrid_protocol::io`]). From a server that gives the map in parts it is asked
//! for in parts, all at once and compressed, before subscribing; the parts that come are
//! kept (in memory and in [`mapcache`]), so a link that drops, or a console started again,
//! asks only for the others, and the map is handed on once, whole, as the answer to a
//! `map` query. The `hello` says the console reads compressed (binary) frames, so that
//! snapshots come compressed too; a binary frame is read as the text it decompresses to.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use onegrid_protocol::io::{Metered, Quiet, Traffic};
use onegrid_protocol::validate::MAX_SERVER_FRAME_BYTES;
use onegrid_protocol::{
    ClientMsg, ErrorCode, FEATURE_KEYS, Layer, PROTOCOL_VERSION, Query, QueryResult, Resume, ServerMsg,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::flights::{Flights, open_outbox};
use super::mapcache::{self, MapParts};
use super::{Fate, LinkState, MapLoad, NetEvent, Outgoing};

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// `ws://host:port`.
    pub url: String,
    /// Access token.
    pub token: String,
    /// The folder of the [`Outbox`](super::outbox::Outbox) that keeps unanswered commands across runs; none
    /// keeps them in memory only (the wall, which sends none, and tests).
    pub outbox: Option<std::path::PathBuf>,
    /// The folder where the server's map is kept for the next run ([`super::mapcache`]);
    /// none asks the server for it every run.
    pub maps: Option<std::path::PathBuf>,
}

/// How long a connect or hello may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Ping interval; the link is considered dead after three intervals in which no byte came.
const PING_EVERY: Duration = Duration::from_secs(3);
/// How often the bytes received are told while the map is awaited.
const MAP_PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long after it was first written a command unanswered at a link loss is still sent
/// again on reconnecting.
pub const RESEND_WITHIN: Duration = Duration::from_secs(120);
/// How long a report taken while the link is down waits for it before it is handed back
/// to its operator: as long as the server takes a client's word on how long it held one
/// ([`MAX_HELD_MS`](onegrid_protocol::validate::MAX_HELD_MS), a day).
pub const HOLD_WITHIN: Duration = Duration::from_millis(onegrid_protocol::validate::MAX_HELD_MS as u64);
/// How often a command the server refused as `overloaded` (nothing applied) is sent again
/// before the refusal is passed on: after about 250 ms, then 500 ms, 1, 2 and 4 s, each
/// wait drawn between half and one and a half times that, so that a burst refused together
/// does not come back together.
pub const OVERLOAD_RETRIES: u32 = 5;

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("cannot connect to {url}: {why}")]
    Connect { url: String, why: String },
    #[error("{0}")]
    Refused(String),
    #[error("the server speaks another protocol version: {0}")]
    Version(String),
    #[error("connection lost: {0}")]
    Lost(String),
    #[error("no answer from the server for {0} s")]
    Silent(u64),
    #[error("the console is shutting down")]
    Shutdown,
}

/// What survives a reconnect: where the feed stood and whether the map is in hand, or
/// which parts of it.
#[derive(Debug, Default)]
struct Progress {
    journal: Option<String>,
    seq: u64,
    have_map: bool,
    parts: Option<MapParts>,
    /// Sessions that got as far as subscribing.
    sessions_up: u64,
}

impl Progress {
    fn track(&mut self, msg: &ServerMsg) {
        match msg {
            ServerMsg::Snapshot { seq, journal, .. } => {
                self.journal = Some(journal.clone());
                self.seq = *seq;
            }
            ServerMsg::Delta { seq, .. } | ServerMsg::Resumed { seq, .. } => self.seq = self.seq.max(*seq),
            ServerMsg::Welcome { journal, .. } if self.journal.as_deref() != Some(journal) => {
                // Another journal: sequence numbers start over; take a snapshot.
                self.journal = None;
                self.seq = 0;
            }
            ServerMsg::Result { req, .. } if req == MAP_REQ => self.have_map = true,
            _ => {}
        }
    }

    fn resume(&self) -> Option<Resume> {
        self.journal.as_ref().map(|j| Resume { journal: j.clone(), seq: self.seq })
    }
}

/// The request id of the map query.
pub const MAP_REQ: &str = "map";

/// Runs the connection until `outgoing` closes (the console quit).
pub async fn run(config: NetConfig, events: mpsc::Sender<NetEvent>, mut outgoing: mpsc::Receiver<Outgoing>) {
    let mut progress = Progress::default();
    let mut flights = Flights::default();
    for event in open_outbox(&config, &mut flights) {
        if events.send(event).await.is_err() {
            return;
        }
    }
    let mut attempt: u32 = 0;
    loop {
        let state = if attempt == 0 { LinkState::Connecting } else { LinkState::Reconnecting { attempt } };
        if events.send(NetEvent::Link(state)).await.is_err() {
            return;
        }
        let up_before = progress.sessions_up;
        let end = session(&config, &mut progress, &mut flights, &events, &mut outgoing).await;
        let reason = match end {
            Err(SessionEnd::Shutdown) => return,
            Err(e) => e.to_string(),
            Ok(()) => "the server closed the connection".to_owned(),
        };
        tracing::warn!(url = %config.url, %reason, "link down");
        if progress.sessions_up > up_before {
            // A link that was up starts its backoff over: the first retry comes quickly.
            attempt = 0;
        }
        attempt += 1;
        let wait = backoff(attempt);
        if events.send(NetEvent::Link(LinkState::Down { reason, retry_in_ms: wait.as_millis() as u64 })).await.is_err()
        {
            return;
        }
        // Commands asked for while down are refused at once, never sent late, but for those
        // that may wait (a report taken from a caller): held until the link is back.
        let until = Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(until, outgoing.recv()).await {
                Err(_) => break,
                Ok(None) => return,
                Ok(Some(out)) => {
                    let Some(req) = request_id(&out.msg) else { continue };
                    let held = out.may_wait && flights.hold(&out);
                    if held {
                        tracing::info!(%req, what = %out.what, "held until the link is back");
                    }
                    let event =
                        if held { NetEvent::Fate { req, fate: Fate::Held } } else { NetEvent::Undelivered { req } };
                    let _ = events.send(event).await;
                }
            }
        }
        for event in flights.expired(Instant::now()).into_iter().chain(flights.take_problem()) {
            let _ = events.send(event).await;
        }
    }
}

/// The delay before attempt `n` (1-based): 250 ms doubling to [`MAX_BACKOFF`].
pub fn backoff(n: u32) -> Duration {
    let ms = 250u64.saturating_mul(1u64 << n.saturating_sub(1).min(8));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

/// The request id of a command or query.
pub(super) fn request_id(msg: &ClientMsg) -> Option<String> {
    match msg {
        ClientMsg::Command { req, .. } | ClientMsg::Query { req, .. } => Some(req.clone()),
        _ => None,
    }
}

fn text(msg: &ClientMsg) -> Message {
    Message::text(serde_json::to_string(msg).unwrap_or_default())
}

async fn session(
    config: &NetConfig,
    progress: &mut Progress,
    flights: &mut Flights,
    events: &mpsc::Sender<NetEvent>,
    outgoing: &mut mpsc::Receiver<Outgoing>,
) -> Result<(), SessionEnd> {
    let (mut ws, traffic) = match timeout(CONNECT_TIMEOUT, connect(&config.url)).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(why)) => return Err(SessionEnd::Connect { url: config.url.clone(), why }),
        Err(_) => return Err(SessionEnd::Connect { url: config.url.clone(), why: "timed out".into() }),
    };
    let hello = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        token: config.token.clone(),
        client: "onegrid-console".into(),
        gzip: true,
    };
    ws.send(text(&hello)).await.map_err(|e| SessionEnd::Lost(e.to_string()))?;
    let welcome =
        timeout(CONNECT_TIMEOUT, ws.next()).await.map_err(|_| SessionEnd::Silent(CONNECT_TIMEOUT.as_secs()))?;
    let welcome = match welcome {
        Some(Ok(Message::Text(t))) => parse(&t)?,
        Some(Ok(other)) => return Err(SessionEnd::Refused(format!("unexpected first frame: {other:?}"))),
        Some(Err(e)) => return Err(SessionEnd::Lost(e.to_string())),
        None => return Err(SessionEnd::Lost("closed before welcome".into())),
    };
    match &welcome {
        ServerMsg::Welcome { version, .. } if *version != PROTOCOL_VERSION => {
            return Err(SessionEnd::Version(format!("server {version}, console {PROTOCOL_VERSION}")));
        }
        ServerMsg::Welcome { .. } => {}
        ServerMsg::Error { code: ErrorCode::UnsupportedVersion, message, .. } => {
            return Err(SessionEnd::Version(message.clone()));
        }
        ServerMsg::Error { message, .. } => return Err(SessionEnd::Refused(message.clone())),
        other => return Err(SessionEnd::Refused(format!("expected welcome, got {other:?}"))),
    }
    // Only a server that applies a keyed command at most once may be sent one again, and
    // only the server (the journal) it was sent to knows its key.
    let keeps_keys =
        matches!(&welcome, ServerMsg::Welcome { features, .. } if features.iter().any(|f| f == FEATURE_KEYS));
    let journal = match &welcome {
        ServerMsg::Welcome { journal, .. } => journal.clone(),
        _ => String::new(),
    };
    let (map_digest, map_parts, part_digests) = match &welcome {
        ServerMsg::Welcome { map_digest, map_parts, map_part_digests, .. } => {
            (map_digest.clone(), *map_parts, map_part_digests.clone())
        }
        _ => (None, None, vec![]),
    };
    progress.track(&welcome);
    forward(events, welcome).await?;
    if !progress.have_map {
        // The map this server names, kept from an earlier run, else asked for: in parts
        // from a server that gives them (those not in hand), else whole.
        let kept = config.maps.as_deref().zip(map_digest.as_deref()).and_then(|(dir, d)| mapcache::load(dir, d));
        let parts = map_digest.as_deref().zip(map_parts);
        match (kept, parts) {
            (Some(map), _) => {
                progress.track(&map);
                forward(events, map).await?;
            }
            (None, Some((digest, count))) => {
                // Parts in hand from before a reconnect are of the same cut only if the
                // server names the same digests.
                let same = |p: &MapParts| p.digest == digest && p.count() == count && p.expect == part_digests;
                let have = progress.parts.take().filter(same);
                let have = have.unwrap_or_else(|| match &config.maps {
                    Some(dir) => MapParts::load(dir, digest, count, part_digests),
                    None => MapParts::new(digest, count, part_digests),
                });
                let missing = have.missing();
                // Back in place before anything can fail: what came survives this session.
                progress.parts = Some(have);
                if missing.is_empty() {
                    map_from_parts(progress, config.maps.as_deref(), events).await?;
                }
                for part in missing {
                    let q = Query::MapPart { digest: digest.to_owned(), part, gzip: true };
                    let ask = ClientMsg::Query { req: onegrid_protocol::map::map_part_req(part), q };
                    ws.send(text(&ask)).await.map_err(|e| SessionEnd::Lost(e.to_string()))?;
                }
            }
            (None, None) => ws
                .send(text(&ClientMsg::Query { req: MAP_REQ.into(), q: Query::Map { compact: true } }))
                .await
                .map_err(|e| SessionEnd::Lost(e.to_string()))?,
        }
        // Asked for: how far it has come is told at once (the parts in hand), not only at
        // the first tick, which a part arriving first could otherwise overtake.
        if !progress.have_map {
            events.send(NetEvent::Receiving(map_load(progress, &traffic))).await.map_err(|_| SessionEnd::Shutdown)?;
        }
    }
    let layers = vec![Layer::Incidents, Layer::Personnel, Layer::Cameras, Layer::Grid];
    let subscribe = ClientMsg::Subscribe { layers, area: None, resume: progress.resume() };
    ws.send(text(&subscribe)).await.map_err(|e| SessionEnd::Lost(e.to_string()))?;
    events.send(NetEvent::Link(LinkState::Connected)).await.map_err(|_| SessionEnd::Shutdown)?;
    progress.sessions_up += 1;
    let (given_up, to_send) = flights.reconnected(keeps_keys, &journal, Instant::now());
    for event in given_up {
        events.send(event).await.map_err(|_| SessionEnd::Shutdown)?;
    }
    for (req, msg, fate) in to_send {
        tracing::info!(%req, ?fate, "sending a command the lost link left unanswered or held");
        ws.send(text(&msg)).await.map_err(|e| SessionEnd::Lost(e.to_string()))?;
        events.send(NetEvent::Fate { req, fate }).await.map_err(|_| SessionEnd::Shutdown)?;
    }

    let mut ping = tokio::time::interval(PING_EVERY);
    let mut heard = Quiet::new(traffic.read(), Instant::now().into_std());
    let mut map_progress = tokio::time::interval(MAP_PROGRESS_EVERY);
    loop {
        tokio::select! {
            frame = ws.next() => {
                let frame = match frame {
                    Some(Ok(Message::Binary(z))) => Some(Ok(Message::Text(gunzip(&z)?))),
                    other => other,
                };
                match frame {
                    Some(Ok(Message::Text(t))) => {
                        let msg = parse(&t)?;
                        let msg = match msg {
                            ServerMsg::Result { result: result @ QueryResult::MapPart { .. }, .. } => {
                                take_part(progress, result, &t, config.maps.as_deref(), events).await?;
                                continue;
                            }
                            ServerMsg::Error { req: Some(req), message, .. } if req.starts_with(MAP_PART_REQ) => {
                                return Err(SessionEnd::Refused(format!("the server did not give a part of its map: {message}")));
                            }
                            msg => msg,
                        };
                        if !progress.have_map
                            && matches!(&msg, ServerMsg::Result { req, .. } if req == MAP_REQ)
                            && let (Some(dir), Some(digest)) = (&config.maps, &map_digest)
                        {
                            mapcache::keep(dir.clone(), digest.clone(), t.clone());
                        }
                        progress.track(&msg);
                        if flights.answered(&msg, Instant::now()) {
                            forward(events, msg).await?;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(SessionEnd::Lost(e.to_string())),
                }
            }
            out = outgoing.recv() => {
                let Some(out) = out else { return Err(SessionEnd::Shutdown) };
                // Kept before writing: a write that fails may still have reached the server.
                flights.sending(&out, Some(&journal));
                if let Some(event) = flights.take_problem() {
                    events.send(event).await.map_err(|_| SessionEnd::Shutdown)?;
                }
                ws.send(text(&out.msg)).await.map_err(|e| SessionEnd::Lost(e.to_string()))?;
            }
            _ = map_progress.tick(), if !progress.have_map => {
                events.send(NetEvent::Receiving(map_load(progress, &traffic))).await.map_err(|_| SessionEnd::Shutdown)?;
            }
            _ = tokio::time::sleep_until(flights.next_retry().unwrap_or_else(Instant::now)),
                if flights.next_retry().is_some() =>
            {
                for (req, msg) in flights.due(Instant::now()) {
                    tracing::info!(%req, "the server was overloaded; sending the command again");
                    ws.send(text(&msg)).await.map_err(|e| SessionEnd::Lost(e.to_string()))?;
                    events.send(NetEvent::Fate { req, fate: Fate::Resent }).await.map_err(|_| SessionEnd::Shutdown)?;
                }
            }
            _ = ping.tick() => {
                let silent = heard.quiet_for(traffic.read(), Instant::now().into_std());
                if silent > PING_EVERY * 3 {
                    return Err(SessionEnd::Silent(silent.as_secs()));
                }
                let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
                ws.send(text(&ClientMsg::Ping { t })).await.map_err(|e| SessionEnd::Lost(e.to_string()))?;
            }
        }
    }
}

/// How far the map has come: in parts, the parts in hand (they come compressed: what is on
/// the way counts for a twelfth of what it brings); whole, the bytes on this link.
fn map_load(progress: &Progress, traffic: &Traffic) -> MapLoad {
    match &progress.parts {
        Some(parts) => MapLoad { bytes: parts.total.map_or(parts.held, |t| parts.held.min(t)), of: parts.total },
        None => MapLoad { bytes: traffic.read(), of: None },
    }
}

/// The prefix of the request ids of `map_part` queries.
const MAP_PART_REQ: &str = "map-part-";

/// Takes in a part of the map (`text`, as it came); once all are in, hands the map over as
/// the answer to a `map` query would.
async fn take_part(
    progress: &mut Progress,
    result: QueryResult,
    text: &str,
    dir: Option<&std::path::Path>,
    events: &mpsc::Sender<NetEvent>,
) -> Result<(), SessionEnd> {
    let Some(parts) = progress.parts.as_mut() else { return Ok(()) };
    // Never from a sound server, which answers each part under the digests it gave:
    // said in words, and the link started over.
    if let Err(e) = parts.put(result, text, dir) {
        return Err(SessionEnd::Refused(format!("the server gave a part that is not of its map: {e}")));
    }
    if parts.complete() { map_from_parts(progress, dir, events).await } else { Ok(()) }
}

/// Joins the parts in hand, all in, into the map and hands it over; when they make no map
/// (never from a sound server), they are forgotten, in memory and in `dir`, and the link
/// dropped so that it starts over and asks for them all again.
async fn map_from_parts(
    progress: &mut Progress,
    dir: Option<&std::path::Path>,
    events: &mpsc::Sender<NetEvent>,
) -> Result<(), SessionEnd> {
    let Some(mut parts) = progress.parts.take() else { return Ok(()) };
    match parts.join() {
        Some(Ok(map)) => {
            tracing::info!(parts = parts.count(), bytes = parts.held, "the map is in");
            let msg = ServerMsg::Result { req: MAP_REQ.into(), result: QueryResult::Map { map: Box::new(map) } };
            progress.track(&msg);
            forward(events, msg).await
        }
        Some(Err(e)) => {
            if let Some(dir) = dir {
                mapcache::forget_parts(dir, &parts.digest);
            }
            Err(SessionEnd::Refused(format!("the parts of the map do not make one: {e}")))
        }
        None => {
            progress.parts = Some(parts);
            Ok(())
        }
    }
}

/// Opens the WebSocket to `url` over a metered socket; frames up to the protocol's largest
/// (the map) are read.
async fn connect(
    url: &str,
) -> Result<(WebSocketStream<Metered<tokio::net::TcpStream>>, std::sync::Arc<Traffic>), String> {
    let request = url.into_client_request().map_err(|e| e.to_string())?;
    let uri = request.uri();
    if uri.scheme_str() != Some("ws") {
        return Err(format!("`{url}` is not a ws:// address"));
    }
    let host = uri.host().ok_or_else(|| format!("`{url}` names no host"))?.trim_matches(['[', ']']).to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let (stream, traffic) = Metered::new(tcp);
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_SERVER_FRAME_BYTES))
        .max_frame_size(Some(MAX_SERVER_FRAME_BYTES));
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await.map_err(|e| e.to_string())?;
    Ok((ws, traffic))
}

/// A binary frame from the server: a text frame compressed with gzip (a map part), no
/// larger than the largest frame once decompressed.
fn gunzip(z: &[u8]) -> Result<tokio_tungstenite::tungstenite::Utf8Bytes, SessionEnd> {
    gunzip_within(z, MAX_SERVER_FRAME_BYTES as u64)
}

fn gunzip_within(z: &[u8], limit: u64) -> Result<tokio_tungstenite::tungstenite::Utf8Bytes, SessionEnd> {
    use std::io::Read;
    let mut text = String::new();
    let read = flate2::read::GzDecoder::new(z).take(limit + 1).read_to_string(&mut text);
    match read {
        Ok(n) if n as u64 <= limit => Ok(text.into()),
        Ok(_) => Err(SessionEnd::Refused(format!("a compressed frame from the server is over {limit} bytes"))),
        Err(e) => Err(SessionEnd::Refused(format!("unreadable compressed frame from the server: {e}"))),
    }
}

fn parse(t: &str) -> Result<ServerMsg, SessionEnd> {
    serde_json::from_str(t).map_err(|e| {
        let head: String = t.chars().take(80).collect();
        SessionEnd::Refused(format!("unreadable frame from the server ({e}): {head}"))
    })
}

async fn forward(events: &mpsc::Sender<NetEvent>, msg: ServerMsg) -> Result<(), SessionEnd> {
    events.send(NetEvent::Server(Box::new(msg))).await.map_err(|_| SessionEnd::Shutdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compressed_frame_is_read_within_the_limit_or_refused_in_words() {
        let z = onegrid_server::city::export::gzip(r#"{"type":"pong","t":1}"#);
        assert_eq!(gunzip(&z).expect("reads").as_str(), r#"{"type":"pong","t":1}"#);
        let e = gunzip_within(&z, 10).expect_err("over the limit").to_string();
        assert_eq!(e, "a compressed frame from the server is over 10 bytes");
        let e = gunzip(&z[..z.len() / 2]).expect_err("cut short").to_string();
        assert!(e.starts_with("unreadable compressed frame from the server"), "{e}");
        let e = gunzip(b"not gzip at all").expect_err("not gzip").to_string();
        assert!(e.starts_with("unreadable compressed frame from the server"), "{e}");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(1));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn progress_resumes_from_the_last_sequence_of_the_same_journal() {
        let mut p = Progress::default();
        assert!(p.resume().is_none(), "no snapshot yet");
        p.track(&ServerMsg::Snapshot {
            seq: 10,
            journal: "j1".into(),
            at: 0,
            incidents: vec![],
            units: vec![],
            cameras: vec![],
            cells: vec![],
        });
        p.track(&ServerMsg::Delta { seq: 12, at: 0, changes: vec![] });
        assert_eq!(p.resume(), Some(Resume { journal: "j1".into(), seq: 12 }));
        let user = onegrid_protocol::UserInfo {
            id: "u".into(),
            name: "u".into(),
            role: onegrid_protocol::Role::Operator,
            scope: onegrid_protocol::Scope::city(),
            unit: None,
        };
        p.track(&ServerMsg::Welcome {
            version: 1,
            user: user.clone(),
            journal: "j1".into(),
            features: vec![],
            map_digest: None,
            map_parts: None,
            map_part_digests: vec![],
            archive_after_ms: None,
        });
        assert_eq!(p.seq, 12, "same journal keeps its place");
        let journal = "j2".into();
        let welcome = ServerMsg::Welcome {
            version: 1,
            user,
            journal,
            features: vec![],
            map_digest: None,
            map_parts: None,
            map_part_digests: vec![],
            archive_after_ms: None,
        };
        p.track(&welcome);
        assert!(p.resume().is_none(), "a new journal starts from a snapshot");
    }
}
