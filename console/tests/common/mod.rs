//! What the console's end-to-end tests share: waiting for a console process to end, a real
//! server in the test's process, and running a headless app until something holds. Each
//! test file uses some of it.
#![allow(dead_code)]

pub mod desk;

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Waits for `child` to exit; kills it and fails the test after `limit`, saying `what`
/// it was waiting for.
pub fn wait_exit(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{what}: not within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The default city's map directory.
pub fn maps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen")
}

/// A runtime for servers started in the test's process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// A real server on the default city with its journal in `data`, on a free port of
/// 127.0.0.1 unless `adjust` says otherwise (it also sets the simulator and the clock).
pub fn server(
    rt: &tokio::runtime::Runtime,
    data: &Path,
    adjust: impl FnOnce(&mut onegrid_server::Config),
) -> onegrid_server::Running {
    let mut config = onegrid_server::Config::new(maps(), data);
    adjust(&mut config);
    rt.block_on(onegrid_server::start(config)).expect("server")
}

/// The default simulator, for `server`'s `adjust`.
pub fn simulated(config: &mut onegrid_server::Config) {
    config.simulate = onegrid_server::sim::Profile::named("default");
}

/// Updates a headless `app` until `done`; fails after a minute, saying `what` it waited for.
pub fn run_until(app: &mut bevy::prelude::App, what: &str, mut done: impl FnMut(&mut bevy::prelude::App) -> bool) {
    let started = Instant::now();
    while !done(app) {
        assert!(started.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        app.update();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A TCP relay in front of a server that can lose acknowledgements with the link: while
/// `cuts` is above zero, a chunk from the server holding an `ack` frame is dropped and
/// both sides of that connection are closed (once per count), as when a link fails after
/// the server answered. With `older` set, the server's welcome names no idempotency keys
/// (its `"keys"` feature is overwritten in place), as an older server's would. With
/// `undigested` set, its welcome names no digests of the map's parts, as the servers of the
/// thirteenth session's did. With `closed` set, new connections are closed at once, as when the link stays down. With
/// `rate` above zero, the server's bytes reach the client at that many bytes a second, as
/// over a slow link. Everything else passes through unchanged.
pub struct LossyRelay {
    /// Where clients connect.
    pub addr: std::net::SocketAddr,
    /// Acknowledgements still to lose.
    pub cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Acknowledgements lost so far.
    pub lost: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Pass the server off as one without idempotency keys.
    pub older: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Pass the server off as one that names no digests of the map's parts.
    pub undigested: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Close new connections at once.
    pub closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Bytes a second from the server to the client; 0: as fast as the socket goes.
    pub rate: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Drop each connection once this many bytes have gone from the server to the client
    /// (a link that never holds long); 0: never.
    pub cut_after: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl LossyRelay {
    /// Starts relaying to `upstream` on the runtime `rt`.
    pub fn start(rt: &tokio::runtime::Runtime, upstream: std::net::SocketAddr) -> LossyRelay {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("relay bind");
        let addr = listener.local_addr().expect("relay addr");
        let (cuts, lost) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let older = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let undigested = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let rate = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let cut_after = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (c, l, o, shut, r, after) =
            (cuts.clone(), lost.clone(), older.clone(), closed.clone(), rate.clone(), cut_after.clone());
        let u = undigested.clone();
        rt.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if shut.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else { continue };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let (cuts, lost, older, rate, after) = (c.clone(), l.clone(), o.clone(), r.clone(), after.clone());
                let undigested = u.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let (started, mut passed, mut relayed) = (tokio::time::Instant::now(), 0u64, 0u64);
                    // The end of the previous chunk: a frame split across reads is still seen.
                    let mut tail: Vec<u8> = Vec::new();
                    loop {
                        let slow = rate.load(Ordering::SeqCst);
                        let room = if slow > 0 { buf.len().min(4 * 1024) } else { buf.len() };
                        let n = match sr.read(&mut buf[..room]).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let mut seen = std::mem::take(&mut tail);
                        seen.extend_from_slice(&buf[..n]);
                        const ACK: &[u8] = br#""type":"ack""#;
                        let ack = seen.windows(ACK.len()).any(|w| w == ACK);
                        if ack && cuts.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                            lost.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        tail = seen[seen.len().saturating_sub(ACK.len() - 1)..].to_vec();
                        if older.load(Ordering::SeqCst) {
                            // Same length, so the WebSocket frame stays whole: no keys, ways
                            // nor acknowledgements, and a map only whole (a field no one reads).
                            const KEYS: &[u8] = br#""features":["keys","ways","acknowledge"]"#;
                            if let Some(i) = buf[..n].windows(KEYS.len()).position(|w| w == KEYS) {
                                buf[i..i + KEYS.len()].copy_from_slice(br#""features":["none","none","nonenonenon"]"#);
                            }
                            const PARTS: &[u8] = br#""map_parts":"#;
                            if let Some(i) = buf[..n].windows(PARTS.len()).position(|w| w == PARTS) {
                                buf[i..i + PARTS.len()].copy_from_slice(br#""map_partz":"#);
                            }
                        }
                        if undigested.load(Ordering::SeqCst) {
                            const DIGESTS: &[u8] = br#""map_part_digests":"#;
                            if let Some(i) = buf[..n].windows(DIGESTS.len()).position(|w| w == DIGESTS) {
                                buf[i..i + DIGESTS.len()].copy_from_slice(br#""map_part_digestz":"#);
                            }
                        }
                        let limit = after.load(Ordering::SeqCst);
                        let n = if limit > 0 { n.min((limit - relayed.min(limit)) as usize) } else { n };
                        relayed += n as u64;
                        if slow > 0 {
                            passed += n as u64;
                            tokio::time::sleep_until(started + Duration::from_secs_f64(passed as f64 / slow as f64))
                                .await;
                        }
                        if cw.write_all(&buf[..n]).await.is_err() || (limit > 0 && relayed >= limit) {
                            break;
                        }
                    }
                    up.abort();
                    let _ = cw.shutdown().await;
                });
            }
        });
        LossyRelay { addr, cuts, lost, older, undigested, closed, rate, cut_after }
    }
}
