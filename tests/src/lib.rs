//! The end-to-end test harness: a real OneGrid server on `127.0.0.1:0` with real
//! WebSocket clients. Tests live in `tests/`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use geo_types::Point;
use onegrid_protocol::{
    Act, ClientMsg, Command, ErrorCode, Layer, PROTOCOL_VERSION, Query, QueryResult, Report, Resume, Scale, ServerMsg,
    Source,
};
use onegrid_server::{Config, Running, clock::Clock};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The default city's map directory.
pub fn map_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen")
}

/// A slow link in front of `upstream`: a TCP relay on a free port of 127.0.0.1 that passes
/// the server's bytes to the client at `rate` bytes a second, reading from the server only
/// as fast as it passes them on (through a small receive buffer), so that the server's
/// writes progress at that rate too. The client's bytes pass as they come.
pub async fn slow_relay(upstream: std::net::SocketAddr, rate: u64) -> anyhow::Result<std::net::SocketAddr> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(socket) = tokio::net::TcpSocket::new_v4() else { continue };
            let _ = socket.set_recv_buffer_size(4096);
            let Ok(server) = socket.connect(upstream).await else { continue };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut cr, &mut sw).await;
            });
            tokio::spawn(async move {
                let (started, mut passed) = (tokio::time::Instant::now(), 0u64);
                let mut buf = vec![0u8; 4096];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    passed += n as u64;
                    tokio::time::sleep_until(started + Duration::from_secs_f64(passed as f64 / rate as f64)).await;
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = cw.shutdown().await;
            });
        }
    });
    Ok(addr)
}

/// A clock start for manual-clock tests: 2026-11-22 08:00 +08:00.
pub const T0: i64 = 1_795_305_600_000;

/// A server under test with its temporary data directory.
pub struct TestServer {
    /// The running server.
    pub running: Running,
    /// The manual clock, when the test asked for one.
    pub clock: Clock,
    /// The data directory (deleted on drop).
    pub data: tempfile::TempDir,
}

impl TestServer {
    /// A server on the default city with a manual clock.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// A server with a customised configuration.
    pub async fn start_with(edit: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let clock = Clock::manual(T0);
        let mut config = Config::new(map_dir(), data.path());
        config.clock = clock.clone();
        edit(&mut config);
        let running = onegrid_server::start(config).await.context("server start")?;
        Ok(TestServer { running, clock, data })
    }

    /// The WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}", self.running.addr)
    }

    /// A connected, authenticated client.
    pub async fn client(&self, token: &str) -> anyhow::Result<Client> {
        Client::login(&self.url(), token).await
    }

    /// A point inside the street with this code (a cell centre), WGS-84.
    pub fn point_in_street(&self, street: &str, nth: usize) -> Point {
        let cells = self.running.engine.city().cells.cells();
        let cell = cells.iter().filter(|c| c.placement.street == street).nth(nth).expect("street has cells");
        let e = &cell.polygon.exterior().0;
        Point::new((e[0].x + e[2].x) / 2.0, (e[0].y + e[2].y) / 2.0)
    }
}

/// 思明区 streets used by the tests.
pub const XIAGANG: &str = "350203001000";
/// 嘉莲街道.
pub const JIALIAN: &str = "350203011000";
/// 思明区.
pub const SIMING: &str = "350203000000";

/// A WebSocket client speaking the protocol.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Messages read while waiting for something else.
    pub inbox: Vec<ServerMsg>,
    next_req: u64,
    /// The last sequence number seen in a snapshot or delta.
    pub seq: u64,
    /// The journal id from the welcome.
    pub journal: String,
    /// The map's digest and count of parts, from the welcome.
    pub map: Option<(String, u32)>,
    /// The digest of each part's answer, from the welcome.
    pub part_digests: Vec<String>,
}

/// How long a test waits for one message.
pub const WAIT: Duration = Duration::from_secs(10);

impl Client {
    /// A client over `ws`, before its hello.
    fn over(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Client { ws, inbox: Vec::new(), next_req: 0, seq: 0, journal: String::new(), map: None, part_digests: vec![] }
    }

    /// Connects without saying hello.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        // Frames up to the protocol's largest, as the console reads them (a whole city's map).
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(onegrid_protocol::validate::MAX_SERVER_FRAME_BYTES))
            .max_frame_size(Some(onegrid_protocol::validate::MAX_SERVER_FRAME_BYTES));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await.context("connect")?;
        Ok(Client::over(ws))
    }

    /// Connects with a small socket receive buffer, so that a client that stops reading
    /// backs up onto the server quickly.
    pub async fn connect_small(url: &str, rcvbuf: u32) -> anyhow::Result<Self> {
        let addr: std::net::SocketAddr = url.trim_start_matches("ws://").parse()?;
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(rcvbuf)?;
        let stream = socket.connect(addr).await?;
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.context("handshake")?;
        Ok(Client::over(ws))
    }

    /// Connects and authenticates.
    pub async fn login(url: &str, token: &str) -> anyhow::Result<Self> {
        let c = Self::connect(url).await?;
        c.hello(token).await
    }

    /// Says hello on a connected client.
    pub async fn hello(self, token: &str) -> anyhow::Result<Self> {
        let mut c = self;
        c.send(&ClientMsg::Hello { version: PROTOCOL_VERSION, token: token.into(), client: "e2e".into(), gzip: false })
            .await?;
        match c.next().await? {
            ServerMsg::Welcome { journal, map_digest, map_parts, map_part_digests, .. } => {
                c.journal = journal;
                c.map = map_digest.zip(map_parts);
                c.part_digests = map_part_digests;
            }
            other => bail!("expected welcome, got {other:?}"),
        }
        Ok(c)
    }

    /// Sends a message.
    pub async fn send(&mut self, msg: &ClientMsg) -> anyhow::Result<()> {
        self.send_text(&serde_json::to_string(msg)?).await
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(Message::Text(text.into())).await.context("send")
    }

    /// The next server message (skipping nothing).
    pub async fn next(&mut self) -> anyhow::Result<ServerMsg> {
        let t = self.next_text().await?;
        let m: ServerMsg = serde_json::from_str(&t).with_context(|| format!("undecodable: {t}"))?;
        match &m {
            ServerMsg::Snapshot { seq, .. } | ServerMsg::Delta { seq, .. } => self.seq = *seq,
            _ => {}
        }
        Ok(m)
    }

    /// The next text frame as it came, undecoded.
    pub async fn next_text(&mut self) -> anyhow::Result<String> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.context("timed out waiting for a message")?;
            match msg {
                Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
                Some(Ok(Message::Close(_))) | None => bail!("connection closed"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => bail!("read error: {e}"),
            }
        }
    }

    /// The next frame's bytes, text or binary (a binary frame is a text frame compressed
    /// with gzip), and whether it was binary.
    pub async fn next_bytes(&mut self) -> anyhow::Result<(Vec<u8>, bool)> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.context("timed out waiting for a message")?;
            match msg {
                Some(Ok(Message::Text(t))) => return Ok((t.as_bytes().to_vec(), false)),
                Some(Ok(Message::Binary(b))) => return Ok((b.to_vec(), true)),
                Some(Ok(Message::Close(_))) | None => bail!("connection closed"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => bail!("read error: {e}"),
            }
        }
    }

    /// Whether the server closed the connection (reads until close or timeout).
    pub async fn closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Waits for the first message `pick` accepts, keeping the others in `inbox`.
    pub async fn wait_for<T>(&mut self, mut pick: impl FnMut(&ServerMsg) -> Option<T>) -> anyhow::Result<T> {
        if let Some(i) = self.inbox.iter().position(|m| pick(m).is_some()) {
            let m = self.inbox.remove(i);
            return pick(&m).context("picked");
        }
        loop {
            let m = self.next().await?;
            if let Some(t) = pick(&m) {
                return Ok(t);
            }
            self.inbox.push(m);
        }
    }

    /// Subscribes and returns the snapshot.
    pub async fn subscribe(&mut self, layers: &[Layer]) -> anyhow::Result<ServerMsg> {
        self.send(&ClientMsg::Subscribe { layers: layers.to_vec(), area: None, resume: None }).await?;
        self.wait_for(|m| matches!(m, ServerMsg::Snapshot { .. }).then(|| m.clone())).await
    }

    /// Subscribes to everything and returns the snapshot.
    pub async fn subscribe_all(&mut self) -> anyhow::Result<ServerMsg> {
        self.subscribe(&[Layer::Incidents, Layer::Personnel, Layer::Cameras, Layer::Grid]).await
    }

    /// Resubscribes after a reconnect from `seq` of `journal`.
    pub async fn resume(&mut self, layers: &[Layer], journal: &str, seq: u64) -> anyhow::Result<()> {
        let resume = Some(Resume { journal: journal.into(), seq });
        self.send(&ClientMsg::Subscribe { layers: layers.to_vec(), area: None, resume }).await
    }

    /// Sends a command and waits for its ack or error.
    pub async fn command(&mut self, cmd: Command) -> anyhow::Result<ServerMsg> {
        self.command_keyed(cmd, None).await
    }

    /// Sends a command with an idempotency key and waits for its ack or error.
    pub async fn command_keyed(&mut self, cmd: Command, key: Option<&str>) -> anyhow::Result<ServerMsg> {
        self.next_req += 1;
        let req = format!("r{}", self.next_req);
        self.send(&ClientMsg::Command { req: req.clone(), cmd, key: key.map(str::to_owned) }).await?;
        self.wait_for(|m| match m {
            ServerMsg::Ack { req: r, .. } | ServerMsg::Error { req: Some(r), .. } if *r == req => Some(m.clone()),
            _ => None,
        })
        .await
    }

    /// Asks a query and waits for its answer, or the refusal's code and words.
    pub async fn query(&mut self, q: Query) -> anyhow::Result<Result<QueryResult, (ErrorCode, String)>> {
        self.next_req += 1;
        let req = format!("q{}", self.next_req);
        self.send(&ClientMsg::Query { req: req.clone(), q }).await?;
        self.wait_for(|m| match m {
            ServerMsg::Result { req: r, result } if *r == req => Some(Ok(result.clone())),
            ServerMsg::Error { req: Some(r), code, message } if *r == req => Some(Err((*code, message.clone()))),
            _ => None,
        })
        .await
    }

    /// Sends a command that must be acknowledged; returns (seq, incident).
    pub async fn ok(&mut self, cmd: Command) -> anyhow::Result<(Option<u64>, Option<u64>)> {
        match self.command(cmd.clone()).await? {
            ServerMsg::Ack { seq, incident, .. } => Ok((seq, incident)),
            other => bail!("{cmd:?} was refused: {other:?}"),
        }
    }

    /// Reports an incident of `category` at `at`; returns its id.
    pub async fn report(&mut self, category: &str, at: Point) -> anyhow::Result<u64> {
        let (_, id) = self.ok(report(category, at)).await?;
        id.context("report ack names the incident")
    }

    /// Waits for a delta holding an incident change with this id and event.
    pub async fn incident_event(&mut self, id: u64, event: &str) -> anyhow::Result<onegrid_protocol::Incident> {
        self.wait_for(|m| match m {
            ServerMsg::Delta { changes, .. } => changes.iter().find_map(|c| match c {
                onegrid_protocol::Change::Incident { event: e, incident } if incident.id == id && e == event => {
                    Some((**incident).clone())
                }
                _ => None,
            }),
            _ => None,
        })
        .await
    }
}

/// A report command.
pub fn report(category: &str, at: Point) -> Command {
    Command::Report(Report {
        category: category.into(),
        location: at,
        datum: Default::default(),
        source: Source::Citizen,
        description: "测试上报".into(),
        attachments: vec!["photo/test.jpg".into()],
        severity: 2,
        scale: Scale::Individual,
        held_ms: 0,
    })
}

/// A WGS-84 position command for `unit` at `at`, heading north.
pub fn position(unit: u32, at: Point) -> Command {
    Command::Position(onegrid_protocol::Position { unit, location: at, datum: Default::default(), heading_deg: 0.0 })
}

/// A step on an incident with a note.
pub fn act(incident: u64, note: &str) -> Act {
    Act { incident, note: note.into(), unit: None }
}
