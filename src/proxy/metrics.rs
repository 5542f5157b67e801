//! Per-app request metrics the proxy keeps: counts by status class and a latency histogram
//! (time to the upstream's response headers), the body bytes received from and sent to clients
//! (tunnels' bytes both ways included), and the client connections open whose latest request
//! was the app's. Lock-free; they live as long as the app's route,
//! across deploys, and are what the metrics issue exports.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds (Prometheus' defaults); one more counts the
/// rest.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
pub struct AppMetrics {
    /// Responses by status class: index 0 for 1xx … 4 for 5xx.
    classes: [AtomicU64; 5],
    /// Non-cumulative bucket counts; the last is +Inf.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_micros: AtomicU64,
    received: AtomicU64,
    sent: AtomicU64,
    open: AtomicU64,
}

/// A consistent-enough copy of an app's metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub classes: [u64; 5],
    /// Cumulative counts per bucket bound, then the total (+Inf).
    pub cumulative: Vec<u64>,
    pub latency_sum: Duration,
    /// Request body bytes read from clients.
    pub received: u64,
    /// Response body bytes written to clients.
    pub sent: u64,
    pub open_connections: u64,
}

impl Snapshot {
    pub fn requests(&self) -> u64 {
        self.classes.iter().sum()
    }
}

impl AppMetrics {
    pub fn record(&self, status: u16, latency: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.classes[class].fetch_add(1, Ordering::Relaxed);
        let seconds = latency.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn received(&self, bytes: u64) {
        self.received.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn sent(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A client connection's latest request is now this app's.
    pub fn connection_in(&self) {
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    /// A client connection that counted for this app closed or went to another app.
    pub fn connection_out(&self) {
        let _ = self
            .open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn snapshot(&self) -> Snapshot {
        let classes = std::array::from_fn(|i| self.classes[i].load(Ordering::Relaxed));
        let mut total = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|count| {
                total += count.load(Ordering::Relaxed);
                total
            })
            .collect();
        Snapshot {
            classes,
            cumulative,
            latency_sum: Duration::from_micros(self.latency_micros.load(Ordering::Relaxed)),
            received: self.received.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            open_connections: self.open.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_classes_and_buckets() {
        let metrics = AppMetrics::default();
        metrics.record(200, Duration::from_millis(3));
        metrics.record(204, Duration::from_millis(30));
        metrics.record(404, Duration::from_millis(30));
        metrics.record(502, Duration::from_secs(20));
        metrics.record(101, Duration::ZERO);
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.classes, [1, 2, 0, 1, 1]);
        assert_eq!(snapshot.requests(), 5);
        assert_eq!(snapshot.cumulative[0], 2, "≤ 5 ms");
        assert_eq!(snapshot.cumulative[3], 4, "≤ 50 ms");
        assert_eq!(snapshot.cumulative[10], 4, "≤ 10 s");
        assert_eq!(snapshot.cumulative[11], 5, "+Inf");
        assert_eq!(snapshot.latency_sum, Duration::from_millis(20_063));
    }
}
