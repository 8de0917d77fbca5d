//! The engine's own tasks: the overdue clock, the position pump (with the road ahead of
//! units on their way), the expiry of shared snapshots, and the world's housekeeping
//! (archive and checkpoints).

use std::sync::Arc;
use std::time::Duration;

use super::Engine;
use super::board::encode_positions;

/// How long the overdue rules wait before trying again when the journal could not take
/// their events.
pub const OVERDUE_RETRY: Duration = Duration::from_millis(250);

/// Marks incidents overdue the moment their stage limit passes, and escalates by rule.
/// When the journal cannot take the events (its queue full), it tries again after
/// [`OVERDUE_RETRY`], not at once: the deadline stays passed, and retrying without a pause
/// spun a core and wrote thousands of warnings a second. It says so at most once a minute,
/// with how often.
pub async fn run_overdue(engine: Arc<Engine>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let (mut unsaid, mut said) = (0u64, None::<std::time::Instant>);
    loop {
        let pause = match engine.check_overdue() {
            Ok(_) => None,
            Err(r) => {
                engine.overdue_postponed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                unsaid += 1;
                if said.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(times = unsaid, "overdue rules postponed: {}", r.message);
                    (unsaid, said) = (0, Some(std::time::Instant::now()));
                }
                Some(OVERDUE_RETRY)
            }
        };
        let next = engine.next_deadline().unwrap_or(i64::MAX);
        tokio::select! {
            _ = engine.clock.sleep_until(next, 1_000), if pause.is_none() => {}
            _ = tokio::time::sleep(pause.unwrap_or_default()), if pause.is_some() => {}
            _ = stop.changed() => return,
        }
    }
}

/// How often the housekeeping task looks for incidents to archive and checkpoints due.
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

/// Keeps the world bounded and its restart short: once a minute, archives the incidents
/// closed longer ago than the archive age and writes a checkpoint when enough events have
/// passed since the last. A failure (the journal full or failed) is logged and tried again
/// at the next round.
pub async fn run_housekeeping(engine: Arc<Engine>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(HOUSEKEEPING_EVERY) => {}
            _ = stop.changed() => return,
        }
        // Archives in batches until none is due: a server started on a long journal
        // catches up at once, not a batch a minute.
        let mut archived = 0;
        loop {
            match engine.archive_closed().await {
                Ok(n) => {
                    archived += n;
                    if n < super::ARCHIVE_BATCH {
                        break;
                    }
                }
                Err(r) => {
                    tracing::warn!("archiving postponed: {}", r.message);
                    break;
                }
            }
        }
        if archived > 0 {
            tracing::info!(incidents = archived, "archived incidents closed long ago");
        }
        match engine.checkpoint(false).await {
            Ok(Some(seq)) => tracing::info!(seq, "wrote a checkpoint of the world"),
            Ok(None) => {}
            Err(r) => tracing::warn!("checkpoint postponed: {}", r.message),
        }
    }
}

/// Lets go of the snapshots kept for sharing once they are too old to share, so that a
/// whole city's (megabytes, encoded) is not held until the next client subscribes.
pub async fn run_snapshot_expiry(engine: Arc<Engine>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(super::SHARE_SNAPSHOT_FOR) => engine.expire_snapshots(),
            _ = stop.changed() => return,
        }
    }
}

/// Sends the units that moved to every client that sees them, one encoding per distinct
/// filter. The pump sleeps until a unit moves, then waits a short batching window so that
/// one frame carries every move of that window: `min_window`, growing by 20 µs per
/// connected client so that a thousand walls get about 50 frames a second each, not
/// thousands.
pub async fn run_position_pump(
    engine: Arc<Engine>,
    min_window: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = engine.live.moved.notified() => {}
            _ = stop.changed() => return,
        }
        let clients = engine.live.hub.len() as u32;
        tokio::time::sleep(min_window.max(Duration::from_micros(20) * clients)).await;
        pump_once(&engine);
    }
}

/// One tick of the pump: the units that moved, with the road still ahead of those on their
/// way (measured with the board let go of, so that fixes coming in meanwhile wait on
/// nothing but the pump's own searches), sent to every client that sees them.
pub fn pump_once(engine: &Engine) {
    let board = || engine.live.board.lock().unwrap_or_else(|e| e.into_inner());
    let mut moved = board().take_moved();
    if moved.is_empty() {
        return;
    }
    let now = engine.clock.now();
    if moved.iter().any(|m| m.toward.is_some()) {
        engine.live.ahead.lock().unwrap_or_else(|e| e.into_inner()).measure(&engine.live.city.roads, &mut moved, now);
        board().keep_ahead(&moved);
    }
    engine.live.hub.fanout_positions(|filter| {
        encode_positions(now, &moved, |m| filter.sees_unit(&m.home, Some(m.fix.at))).map(|(s, n)| (s.into(), n))
    });
}
