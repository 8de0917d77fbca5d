//! The live one-line summary the server prints: clients, incidents by state, overdue, alarms
//! nobody has acknowledged (`protocol::alarm`), closed in the last day, position updates
//! per second, journal commits, and commands refused because the journal was saturated
//! (shown once there are any).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::engine::Engine;

/// One summary line.
pub fn line(engine: &Engine, updates_per_s: f64) -> String {
    let now = engine.clock.now();
    let (states, (overdue, unacknowledged), closed) = engine.with_published(|p| {
        let overdue = p.world.incidents.values().filter(|i| i.overdue && i.state.is_open()).count();
        let unacknowledged = p.world.incidents.values().filter(|i| i.alarm_unacknowledged()).count();
        // The world holds a week of closed incidents: the line says the last day's.
        let day = |t: onegrid_protocol::Millis| now - t < onegrid_protocol::LIVE_AFTER_CLOSE_MS;
        let closed = p.world.incidents.values().filter(|i| i.closed_at().is_some_and(day)).count();
        (p.world.counts_by_state(), (overdue, unacknowledged), closed)
    });
    let by_state: Vec<String> = states.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let overloaded = match engine.overloaded.load(Ordering::Relaxed) {
        0 => String::new(),
        n => format!(" | refused {n} (journal saturated)"),
    };
    format!(
        "clients {} | open: {} | overdue {} | alarms unacknowledged {} | closed in 24 h {} | positions {:.0}/s | journal {} commits{overloaded}",
        engine.live.hub.len(),
        if by_state.is_empty() { "none".into() } else { by_state.join(", ") },
        overdue,
        unacknowledged,
        closed,
        updates_per_s,
        engine.journal_stats().batches.load(Ordering::Relaxed),
    )
}

/// Prints the summary every `every` until stopped; on a terminal it rewrites one line.
pub async fn run(engine: std::sync::Arc<Engine>, every: Duration) {
    use std::io::{IsTerminal, Write};
    let tty = std::io::stdout().is_terminal();
    let mut last = (Instant::now(), engine.positions.load(Ordering::Relaxed));
    loop {
        tokio::time::sleep(every).await;
        let jobs = engine.positions.load(Ordering::Relaxed);
        let rate = (jobs - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-3);
        last = (Instant::now(), jobs);
        let text = line(&engine, rate);
        let mut out = std::io::stdout().lock();
        let _ = if tty { write!(out, "\r\x1b[2K{text}") } else { writeln!(out, "{text}") };
        let _ = out.flush();
    }
}
