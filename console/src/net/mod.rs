//! The network feature: the client thread ([`client`]) and its hand-over to the ECS. The
//! thread's messages arrive over a bounded channel held in [`NetLink`]; a system drains it
//! each frame into [`ServerEvent`] messages and the [`Link`] state the status bar shows.
//! Whatever the console wants sent goes through [`NetLink::send`], which never blocks.
//! Commands carry an idempotency key ([`NetLink::next_key`]), so the client thread sends
//! again, after a reconnect, every command it has no answer for; the desk hears of it as a
//! [`CommandFate`]. Those commands are kept in an [`outbox`] file as well, so that a
//! console started again after a crash takes them up ([`Restored`]).

pub mod client;
mod flights;
pub mod mapcache;
pub mod outbox;

use std::time::{Duration, Instant};

use bevy::prelude::*;
use onegrid_protocol::{ClientMsg, ServerMsg};
use tokio::sync::mpsc;

pub use client::NetConfig;

/// The state of the link, as the status bar says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// First attempt under way.
    Connecting,
    /// Connected, subscribed.
    Connected,
    /// Lost; the next attempt starts in `retry_in_ms`.
    Down {
        /// Why.
        reason: String,
        /// When the next attempt starts.
        retry_in_ms: u64,
    },
    /// Trying again.
    Reconnecting {
        /// Which attempt.
        attempt: u32,
    },
}

/// What the client thread hands over.
#[derive(Debug)]
pub enum NetEvent {
    /// The link changed.
    Link(LinkState),
    /// A server message, in order.
    Server(Box<ServerMsg>),
    /// A command or query could not be sent (the link was down).
    Undelivered {
        /// Its request id.
        req: String,
    },
    /// A command a former run of this console left unanswered, taken up under `req`.
    Restored {
        /// Its request id in this run.
        req: String,
        /// What it does, in the desk's words.
        what: String,
        /// The command.
        cmd: onegrid_protocol::Command,
        /// Whether it had been written to the server (else it was held).
        written: bool,
        /// How long ago it was asked for, in the former run.
        asked_ago: std::time::Duration,
    },
    /// The outbox is open (unanswered commands outlive this run).
    Outbox(std::path::PathBuf),
    /// How far the map has come, while it is awaited (tens of megabytes for a whole city:
    /// the operator sees it coming, not a stalled screen).
    Receiving(MapLoad),
    /// Something the operator should know about the link's bookkeeping (the outbox).
    Notice {
        /// Words.
        text: String,
        /// A failure, rather than information.
        error: bool,
    },
    /// What became of a command in flight when the link dropped.
    Fate {
        /// Its request id.
        req: String,
        /// Sent again, or given up.
        fate: Fate,
    },
}

/// What became of a command that was sent and not answered when the link dropped, or was
/// held while the link was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Asked for while the link was down: kept, to be sent once it is back.
    Held,
    /// A held command sent on the new connection; its answer follows.
    Sent,
    /// Sent again under its key on the new connection; its answer follows.
    Resent,
    /// Not sent again, whether it was applied is unknown: the link stayed down longer than
    /// the client resends after ([`client::RESEND_WITHIN`] from its first writing), or the
    /// server it came back to does not honour idempotency keys or is another one.
    Unconfirmed,
}

/// A command in flight at a link loss, and what became of it.
#[derive(Debug, Message)]
pub struct CommandFate {
    /// Its request id.
    pub req: String,
    /// What became of it.
    pub fate: Fate,
}

/// A command a former run left unanswered, now pending again ([`NetEvent::Restored`]).
#[derive(Debug, Message)]
pub struct Restored {
    /// Its request id in this run.
    pub req: String,
    /// What it does, in the desk's words.
    pub what: String,
    /// The command.
    pub cmd: onegrid_protocol::Command,
    /// Whether it had been written to the server (else it was held).
    pub written: bool,
    /// How long ago it was asked for, in the former run.
    pub asked_ago: std::time::Duration,
}

/// Words from the network thread for the desk's notices ([`NetEvent::Notice`]).
#[derive(Debug, Message)]
pub struct NetNotice {
    /// Words.
    pub text: String,
    /// A failure, rather than information.
    pub error: bool,
}

/// A server message for the systems that apply it.
#[derive(Debug, Message)]
pub struct ServerEvent(pub ServerMsg);

/// A request that never reached the server.
#[derive(Debug, Message)]
pub struct Undelivered(pub String);

/// The link as the console sees it.
#[derive(Debug, Resource)]
pub struct Link {
    /// The state.
    pub state: LinkState,
    /// When anything last came from the server.
    pub last_heard: Option<Instant>,
    /// Where.
    pub url: String,
    /// The outbox that keeps unanswered commands for the next run, once it is open.
    pub outbox: Option<std::path::PathBuf>,
    /// How far the map has come while it is awaited (see [`NetEvent::Receiving`]).
    pub receiving: Option<MapLoad>,
}

impl Link {
    /// Time since the last message, if any came.
    pub fn data_age(&self) -> Option<Duration> {
        self.last_heard.map(|t| t.elapsed())
    }
}

/// How far the map has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MapLoad {
    /// Bytes in hand: the parts kept, and what has come of the rest (or, from a server that
    /// sends the map whole, the bytes received on this connection).
    pub bytes: u64,
    /// Bytes of the whole map, once the server has said.
    pub of: Option<u64>,
}

/// A message for the client thread.
#[derive(Debug)]
pub struct Outgoing {
    /// The message.
    pub msg: ClientMsg,
    /// What a command does, in the desk's words (empty for the rest).
    pub what: String,
    /// A keyed command that, asked for while the link is down, may wait for it (up to
    /// [`client::HOLD_WITHIN`]) instead of being refused at once.
    pub may_wait: bool,
}

/// The channels to the client thread.
#[derive(Resource)]
pub struct NetLink {
    events: mpsc::Receiver<NetEvent>,
    outgoing: mpsc::Sender<Outgoing>,
    next_req: u64,
    /// Random for each console run: keys of two consoles of one user never meet.
    instance: u64,
}

impl NetLink {
    /// Sends `msg`; false when the client thread's queue is full or gone. Asked for while
    /// the link is down, it is refused ([`Undelivered`]).
    pub fn send(&mut self, msg: ClientMsg) -> bool {
        self.outgoing.try_send(Outgoing { msg, what: String::new(), may_wait: false }).is_ok()
    }

    /// Sends a command that does `what` (in the desk's words, kept with it in the outbox).
    /// One that `may_wait` (a report taken from a caller), asked for while the link is
    /// down, is held and sent when the link is back ([`Fate::Held`] meanwhile); any other
    /// is then refused, as by [`NetLink::send`].
    pub fn command(&mut self, msg: ClientMsg, what: &str, may_wait: bool) -> bool {
        self.outgoing.try_send(Outgoing { msg, what: what.to_owned(), may_wait }).is_ok()
    }

    /// A fresh request id.
    pub fn next_req(&mut self) -> String {
        self.next_req += 1;
        format!("c{}", self.next_req)
    }

    /// A fresh idempotency key: this run's random number and a counter.
    pub fn next_key(&mut self) -> String {
        self.next_req += 1;
        format!("{:016x}-{}", self.instance, self.next_req)
    }
}

/// 64 random bits from the operating system (std seeds its hash keys from it).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish()
}

/// Starts the client thread for `config`.
pub fn connect(config: NetConfig) -> std::io::Result<NetLink> {
    let (event_tx, events) = mpsc::channel(1024);
    let (outgoing, out_rx) = mpsc::channel(256);
    std::thread::Builder::new().name("onegrid-net".into()).spawn(move || {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt.block_on(client::run(config, event_tx, out_rx)),
            Err(e) => tracing::error!("cannot start the network runtime: {e}"),
        }
    })?;
    Ok(NetLink { events, outgoing, next_req: 0, instance: random_u64() })
}

/// Connects to a server and feeds the ECS.
pub struct NetPlugin {
    /// Where and as whom.
    pub config: NetConfig,
}

impl Plugin for NetPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<ServerEvent>()
            .add_message::<Undelivered>()
            .add_message::<CommandFate>()
            .add_message::<Restored>()
            .add_message::<NetNotice>();
        app.insert_resource(Link {
            state: LinkState::Connecting,
            last_heard: None,
            url: self.config.url.clone(),
            outbox: None,
            receiving: None,
        });
        match connect(self.config.clone()) {
            Ok(link) => {
                app.insert_resource(link);
            }
            Err(e) => {
                let reason = format!("cannot start the network thread: {e}");
                error!("{reason}");
                app.insert_resource(Link {
                    state: LinkState::Down { reason, retry_in_ms: 0 },
                    last_heard: None,
                    url: self.config.url.clone(),
                    outbox: None,
                    receiving: None,
                });
            }
        }
        app.add_systems(PreUpdate, drain);
    }
}

/// Most events handed over in one frame, so that a burst cannot stall a frame.
const MAX_EVENTS_PER_FRAME: usize = 4096;

fn drain(
    net: Option<ResMut<NetLink>>,
    mut link: ResMut<Link>,
    mut out: MessageWriter<ServerEvent>,
    mut lost: MessageWriter<Undelivered>,
    mut fates: MessageWriter<CommandFate>,
    mut restored: MessageWriter<Restored>,
    mut notices: MessageWriter<NetNotice>,
) {
    let Some(mut net) = net else { return };
    for _ in 0..MAX_EVENTS_PER_FRAME {
        match net.events.try_recv() {
            Ok(NetEvent::Link(state)) => {
                if let LinkState::Down { reason, .. } = &state {
                    warn!("link to {}: {reason}", link.url);
                }
                link.state = state;
            }
            Ok(NetEvent::Server(msg)) => {
                link.last_heard = Some(Instant::now());
                out.write(ServerEvent(*msg));
            }
            Ok(NetEvent::Undelivered { req }) => {
                lost.write(Undelivered(req));
            }
            Ok(NetEvent::Fate { req, fate }) => {
                fates.write(CommandFate { req, fate });
            }
            Ok(NetEvent::Restored { req, what, cmd, written, asked_ago }) => {
                restored.write(Restored { req, what, cmd, written, asked_ago });
            }
            Ok(NetEvent::Outbox(path)) => link.outbox = Some(path),
            Ok(NetEvent::Receiving(bytes)) => link.receiving = Some(bytes),
            Ok(NetEvent::Notice { text, error }) => {
                notices.write(NetNotice { text, error });
            }
            Err(_) => break,
        }
    }
}
