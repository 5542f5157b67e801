//! When a connection's requests arrive: whether the first has (a graceful shutdown gives a
//! fresh connection a moment to send it), and how long since the last (idle HTTP/2 connections).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

pub struct Arrivals {
    opened: Instant,
    seen: AtomicBool,
    notify: Notify,
    /// Milliseconds from `opened` to the latest request.
    last_ms: AtomicU64,
}

impl Arrivals {
    pub fn new() -> Arrivals {
        Arrivals {
            opened: Instant::now(),
            seen: AtomicBool::new(false),
            notify: Notify::new(),
            last_ms: AtomicU64::new(0),
        }
    }

    pub fn arrived(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
        if !self.seen.swap(true, Ordering::Relaxed) {
            self.notify.notify_one();
        }
    }

    pub fn seen(&self) -> bool {
        self.seen.load(Ordering::Relaxed)
    }

    pub async fn wait(&self) {
        self.notify.notified().await
    }

    /// Resolves once no request has arrived for `limit` (counting from the connection's start).
    pub async fn quiet_for(&self, limit: Duration) {
        loop {
            let last = self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let quiet = last.elapsed();
            if quiet >= limit {
                return;
            }
            tokio::time::sleep(limit - quiet).await;
        }
    }
}
