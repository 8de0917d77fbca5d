//! The one clock every deadline and timestamp reads. In production it is the system clock;
//! tests use a manual clock and move it, and everything waiting on time wakes up.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use onegrid_protocol::Millis;
use tokio::sync::Notify;

/// The server's clock: cheap to clone.
#[derive(Debug, Clone)]
pub struct Clock(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    manual: Option<AtomicI64>,
    /// Real start and speed-up for a scaled clock.
    scaled: Option<(Millis, f64)>,
    moved: Notify,
}

fn system_now() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as Millis)
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(Arc::new(Inner { manual: None, scaled: None, moved: Notify::new() }))
    }

    /// A clock that starts at the system time and runs `factor` times faster: a simulated
    /// city lives a day in `24 / factor` hours, deadlines included.
    pub fn scaled(factor: f64) -> Self {
        if factor == 1.0 {
            return Self::system();
        }
        Clock(Arc::new(Inner { manual: None, scaled: Some((system_now(), factor)), moved: Notify::new() }))
    }

    /// How many clock milliseconds pass per real millisecond.
    pub fn factor(&self) -> f64 {
        self.0.scaled.map_or(1.0, |s| s.1)
    }

    /// A clock that stands at `start` until moved.
    pub fn manual(start: Millis) -> Self {
        Clock(Arc::new(Inner { manual: Some(AtomicI64::new(start)), scaled: None, moved: Notify::new() }))
    }

    /// Milliseconds since the Unix epoch.
    pub fn now(&self) -> Millis {
        match (&self.0.manual, self.0.scaled) {
            (Some(t), _) => t.load(Ordering::SeqCst),
            (None, Some((start, factor))) => start + ((system_now() - start) as f64 * factor) as Millis,
            (None, None) => system_now(),
        }
    }

    /// Moves a manual clock forward by `ms` and wakes whoever waits on time. No effect on
    /// the system clock.
    pub fn advance(&self, ms: Millis) {
        if let Some(t) = &self.0.manual {
            t.fetch_add(ms, Ordering::SeqCst);
            self.0.moved.notify_waiters();
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.0.manual.is_some()
    }

    /// Waits until `deadline` by this clock, or until a manual clock is moved, or at most
    /// `max_ms` of real time; whichever is first. Callers re-check the time after.
    pub async fn sleep_until(&self, deadline: Millis, max_ms: u64) {
        let moved = self.0.moved.notified();
        let real_ms = if self.is_manual() {
            max_ms
        } else {
            (((deadline - self.now()) as f64 / self.factor()).ceil() as i64).clamp(0, max_ms as i64) as u64
        };
        tokio::select! {
            _ = moved => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(real_ms)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn moving_a_manual_clock_wakes_a_sleeper() {
        let clock = Clock::manual(1_000);
        let c2 = clock.clone();
        let sleeper = tokio::spawn(async move { c2.sleep_until(61_000, 60_000).await });
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        clock.advance(60_000);
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper).await.expect("woke").expect("joined");
        assert_eq!(clock.now(), 61_000);
    }
}
