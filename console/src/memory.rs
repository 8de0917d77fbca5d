//! The console's resident memory: how much it holds (read from `/proc/self/status`, logged
//! with the screenshot), and handing back what a map's arrival freed.
//!
//! Taking in a whole city's map allocates and frees hundreds of megabytes on several
//! threads (the decoded map on the network thread, its projection on a worker, the
//! composed images on the rasteriser): glibc's allocator keeps what they freed in its
//! per-thread arenas, where nothing else will use it, so a console held about 120 MB more
//! than it used. Once the map's images are composed (at the start, and after each layer
//! switch), [`give_back_soon`] asks the allocator to return its free pages to the system
//! (`malloc_trim`), off the frame's thread. `ONEGRID_MALLOC_TRIM=off` leaves them kept,
//! to measure the difference (BENCHMARKS.md). Elsewhere than Linux with glibc it does
//! nothing.

use std::time::Duration;

/// Resident memory now and at its peak, bytes (Linux; `None` elsewhere).
pub fn resident() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = |key: &str| {
        let v = status.lines().find_map(|l| l.strip_prefix(key))?;
        v.split_whitespace().next()?.parse::<u64>().ok().map(|k| k * 1024)
    };
    Some((kb("VmRSS:")?, kb("VmHWM:")?))
}

/// "812 MB (peak 931 MB)", or nothing where the system does not say.
pub fn resident_words() -> Option<String> {
    let (now, peak) = resident()?;
    Some(format!("{:.0} MB (peak {:.0} MB)", now as f64 / 1e6, peak as f64 / 1e6))
}

/// Whether freed memory is handed back (not with `ONEGRID_MALLOC_TRIM=off`).
pub fn trimming() -> bool {
    std::env::var("ONEGRID_MALLOC_TRIM").map_or(true, |v| v != "off")
}

/// Hands the allocator's free pages back to the system now; the resident bytes that
/// returned (0 where it cannot).
pub fn give_back() -> u64 {
    let before = resident().map_or(0, |r| r.0);
    trim();
    before.saturating_sub(resident().map_or(before, |r| r.0))
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: `malloc_trim` takes a padding by value and touches only the allocator's own
    // free lists, under its arena locks; it is safe to call from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

/// After `delay` (for the frame loop to take up and let go what was just made), hands
/// back on a thread of its own what was freed, and logs how much; `why` says after what.
pub fn give_back_soon(delay: Duration, why: &'static str) {
    if !trimming() {
        return;
    }
    let spawned = std::thread::Builder::new().name("onegrid-trim".into()).spawn(move || {
        std::thread::sleep(delay);
        let started = std::time::Instant::now();
        let back = give_back();
        tracing::info!(
            "{why}: {:.0} MB of freed memory handed back to the system in {:.0} ms; resident {}",
            back as f64 / 1e6,
            started.elapsed().as_secs_f64() * 1e3,
            resident_words().unwrap_or_default()
        );
    });
    if let Err(e) = spawned {
        tracing::warn!("memory not handed back: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read() {
        let (now, peak) = resident().expect("Linux says");
        assert!(now > 1_000_000 && peak >= now, "{now} {peak}");
        assert!(resident_words().expect("words").contains("MB (peak"));
    }

    /// What a thread freed in small pieces, left in its arena between pieces still held, is
    /// resident until handed back.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_pieces_kept_by_the_allocator_are_handed_back() {
        const PIECES: usize = 120_000;
        const PIECE: usize = 2_000;
        let held = std::thread::spawn(|| {
            let mut all: Vec<Vec<u8>> = (0..PIECES).map(|k| vec![k as u8 | 1; PIECE]).collect();
            // One piece in 64 stays: the arena cannot shrink from its end.
            let kept: Vec<Vec<u8>> = all.iter_mut().step_by(64).map(std::mem::take).collect();
            drop(all);
            kept
        })
        .join()
        .expect("the allocating thread");
        let freed = (PIECES - held.len()) * PIECE;
        let back = give_back();
        assert!(back as f64 > freed as f64 * 0.5, "{back} of {freed} bytes handed back");
        assert!(held.iter().all(|p| p.len() == PIECE && p[0] & 1 == 1));
    }
}
