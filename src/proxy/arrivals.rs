//! When a connection's requests arrive: how many have (a graceful shutdown waits for a
//! connection's next one, or a fresh connection's first), and how long since the last (idle
//! HTTP/2 connections); and whether the connection is closing, so that its next response
//! says so.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

pub struct Arrivals {
    opened: Instant,
    count: AtomicU64,
    /// Set while something waits for the next arrival, so that only then is it notified.
    watched: AtomicBool,
    closing: AtomicBool,
    notify: Notify,
    /// Milliseconds from `opened` to the latest request.
    last_ms: AtomicU64,
}

impl Arrivals {
    pub fn new() -> Arrivals {
        Arrivals {
            opened: Instant::now(),
            count: AtomicU64::new(0),
            watched: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            notify: Notify::new(),
            last_ms: AtomicU64::new(0),
        }
    }

    pub fn arrived(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::SeqCst);
        if self.watched.load(Ordering::SeqCst) {
            self.notify.notify_waiters();
        }
    }

    /// From now on, every response closes the connection (`Connection: close`).
    pub fn close_after_each(&self) {
        self.closing.store(true, Ordering::Relaxed);
    }

    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// How many requests have arrived so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> bool {
        self.count() > 0
    }

    /// Resolves once more than `count` requests have arrived.
    pub async fn beyond(&self, count: u64) {
        self.watched.store(true, Ordering::SeqCst);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the count is read, so an arrival in between still wakes it.
            notified.as_mut().enable();
            if self.count() > count {
                return;
            }
            notified.await;
        }
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
