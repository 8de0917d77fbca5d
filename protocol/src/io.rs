//! How a peer tells a live link from a dead one (feature `io`): by bytes moving, not by
//! whole frames arriving.
//!
//! A frame can be large (the `map` answer of a whole city is tens of megabytes, see
//! [`MAX_SERVER_FRAME_BYTES`](crate::validate::MAX_SERVER_FRAME_BYTES)) and a link slow: on
//! 10 Mbit/s a 50 MB frame takes 40 seconds. A peer that waited for whole frames would call
//! such a link silent halfway through, drop it and fetch the same frame again, for ever.
//! [`Metered`] wraps the socket under the WebSocket and counts the bytes each way;
//! [`Quiet`] says how long a count has stood still.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read and written on one link so far.
#[derive(Debug, Default)]
pub struct Traffic {
    read: AtomicU64,
    written: AtomicU64,
}

impl Traffic {
    /// Bytes read so far.
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// A socket that counts what passes through it into a shared [`Traffic`].
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    traffic: Arc<Traffic>,
}

impl<S> Metered<S> {
    /// Wraps `inner`; the returned [`Traffic`] is read while the link is in use.
    pub fn new(inner: S) -> (Self, Arc<Traffic>) {
        let traffic = Arc::new(Traffic::default());
        (Metered { inner, traffic: traffic.clone() }, traffic)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len().saturating_sub(before);
        self.traffic.read.fetch_add(n as u64, Ordering::Relaxed);
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.traffic.written.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// How long a byte count has stood still: fed the count now and then (on a timer), it
/// notes when it last moved.
#[derive(Debug, Clone, Copy)]
pub struct Quiet {
    count: u64,
    since: Instant,
}

impl Quiet {
    /// Starts watching a count that stands at `count` at `now`.
    pub fn new(count: u64, now: Instant) -> Self {
        Quiet { count, since: now }
    }

    /// How long the count has not moved, given that it stands at `count` at `now`.
    pub fn quiet_for(&mut self, count: u64, now: Instant) -> Duration {
        if count != self.count {
            self.count = count;
            self.since = now;
        }
        now.saturating_duration_since(self.since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn a_count_that_moves_is_not_quiet_and_one_that_stands_is() {
        let t0 = Instant::now();
        let mut q = Quiet::new(10, t0);
        assert_eq!(q.quiet_for(10, t0 + Duration::from_secs(4)), Duration::from_secs(4));
        assert_eq!(q.quiet_for(11, t0 + Duration::from_secs(5)), Duration::ZERO, "a byte moved");
        assert_eq!(q.quiet_for(11, t0 + Duration::from_secs(12)), Duration::from_secs(7));
    }

    #[test]
    fn bytes_are_counted_each_way_as_they_pass() {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let (a, b) = tokio::io::duplex(64);
            let (mut a, traffic) = Metered::new(a);
            let mut b = b;
            let writer = async {
                let payload = vec![7u8; 1000];
                a.write_all(&payload).await.expect("write");
                a.flush().await.expect("flush");
                let mut back = [0u8; 3];
                a.read_exact(&mut back).await.expect("read");
                a
            };
            let reader = async {
                let mut got = vec![0u8; 1000];
                b.read_exact(&mut got).await.expect("read");
                b.write_all(b"ack").await.expect("write");
                got
            };
            let (_, got) = tokio::join!(writer, reader);
            assert!(got.iter().all(|&x| x == 7));
            // Through a 64-byte pipe the 1,000 bytes went in pieces, and every one counted.
            assert_eq!((traffic.written(), traffic.read()), (1000, 3));
        });
    }
}
