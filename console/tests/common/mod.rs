//! What the console's end-to-end tests share: waiting for a console process to end.

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
