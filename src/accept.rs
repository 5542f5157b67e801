//! What every accept loop (SSH, proxy, TCP passthrough, control socket) does when `accept`
//! fails, most often because the process is out of file descriptors: it pauses briefly
//! instead of spinning at full CPU, and logs one line a while (with how many it left out)
//! instead of one per failure.

use std::time::Duration;

use tokio::time::Instant;

/// How long a loop waits after a failed accept: long enough not to spin, short enough that a
/// freed descriptor is used at once.
const PAUSE: Duration = Duration::from_millis(100);

/// At most one log line per listener this often.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// A line logged at most once a while, counting the occasions it left out.
#[derive(Default)]
pub struct Occasional {
    logged: Option<Instant>,
    left_out: u64,
}

impl Occasional {
    /// `Some(occasions left out since the last line)` when a line is due now.
    pub fn due(&mut self) -> Option<u64> {
        if self.logged.is_some_and(|at| at.elapsed() < LOG_EVERY) {
            self.left_out += 1;
            return None;
        }
        self.logged = Some(Instant::now());
        Some(std::mem::take(&mut self.left_out))
    }
}

/// One listener's failed accepts.
pub struct AcceptErrors {
    listener: &'static str,
    log: Occasional,
}

impl AcceptErrors {
    pub fn new(listener: &'static str) -> AcceptErrors {
        AcceptErrors {
            listener,
            log: Occasional::default(),
        }
    }

    /// Notes `err`, logs it if no line was logged lately, and pauses.
    pub async fn pause(&mut self, err: &std::io::Error) {
        if let Some(left_out) = self.log.due() {
            tracing::warn!(listener = self.listener, error = %err, left_out, "accept failed; pausing");
        }
        tokio::time::sleep(PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn failures_pause_and_are_logged_once_a_while() {
        let mut errors = AcceptErrors::new("test");
        let err = std::io::Error::from_raw_os_error(libc::EMFILE);
        let start = Instant::now();
        for _ in 0..50 {
            errors.pause(&err).await;
        }
        assert_eq!(start.elapsed(), PAUSE * 50);
        assert_eq!(errors.log.left_out, 49);
        tokio::time::sleep(LOG_EVERY).await;
        assert_eq!(errors.log.due(), Some(49));
        assert_eq!(errors.log.due(), None);
    }
}
