//! Each app's latest proxy errors, for `nginx:error-logs`: why a request got the proxy's own
//! error answer, or why an instance could not take it, with the request it was. Kept per app
//! (the latest `KEPT` lines, across deploys, until the daemon restarts) and fed to followers;
//! each also goes to the daemon's log. Only failing requests pay for it.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

/// How many error lines an app keeps.
const KEPT: usize = 200;

/// Why the proxy could not give a request the app's own answer, or had to try another instance.
#[derive(Debug)]
pub enum Failure {
    /// The app stayed held (a stop-first swap) longer than a request may wait: 503.
    Held(Duration),
    /// The route has no running instance: 502.
    NoInstance,
    /// The body is larger than the app's `client-max-body-size`: 413.
    TooLarge(u64),
    /// No connection to an instance (the request goes to the next, if it can be sent again).
    Unreachable(SocketAddr, String),
    /// The instance closed a kept-alive connection as the request went out on it; an
    /// idempotent request went out again on a new one.
    Stale(SocketAddr, String),
    /// The instance broke the exchange before its response headers: 502.
    Broken(SocketAddr, String),
    /// The instance dropped a new connection before answering (killed or crashed meanwhile);
    /// an idempotent request went to the next instance, or to the route a deploy swapped in.
    Dropped(SocketAddr, String),
    /// The instance sent no response headers within `proxy-read-timeout`: 504.
    TimedOut(SocketAddr, Duration),
    /// The client stopped sending its request body (`client-body-timeout`): 408.
    BodyTimedOut(Duration),
    /// The client took nothing of the response for `send-timeout`: its connection is closed.
    SendTimedOut(Duration),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Held(limit) => write!(
                f,
                "the app was still restarting after {}s (a stop-first deploy)",
                limit.as_secs()
            ),
            Failure::NoInstance => f.write_str("the app has no running instance"),
            Failure::TooLarge(limit) => write!(
                f,
                "the request body is larger than {limit} bytes (client-max-body-size)"
            ),
            Failure::Unreachable(upstream, err) => {
                write!(f, "cannot connect to {upstream}: {err}")
            }
            Failure::Stale(upstream, err) => write!(
                f,
                "{upstream} closed a kept-alive connection as the request was sent ({err})"
            ),
            Failure::Broken(upstream, err) => write!(f, "{upstream} failed: {err}"),
            Failure::Dropped(upstream, err) => write!(
                f,
                "{upstream} dropped the request before answering ({err}); sent on"
            ),
            Failure::TimedOut(upstream, limit) => write!(
                f,
                "{upstream} sent no response headers within {}s (proxy-read-timeout)",
                limit.as_secs()
            ),
            Failure::BodyTimedOut(limit) => {
                write!(f, "{}", super::body_timeout::BodyTimedOut(*limit))
            }
            Failure::SendTimedOut(limit) => {
                write!(f, "{}", super::send_timeout::SendTimedOut(*limit))
            }
        }
    }
}

/// Every failure kind, as `/metrics` labels them (`Failure::kind`'s order).
pub const KINDS: [&str; 10] = [
    "held",
    "no_instance",
    "too_large",
    "unreachable",
    "stale",
    "broken",
    "timed_out",
    "body_timed_out",
    "send_timed_out",
    "dropped",
];

impl Failure {
    /// Its index in `KINDS`.
    fn kind(&self) -> usize {
        match self {
            Failure::Held(_) => 0,
            Failure::NoInstance => 1,
            Failure::TooLarge(_) => 2,
            Failure::Unreachable(..) => 3,
            Failure::Stale(..) => 4,
            Failure::Broken(..) => 5,
            Failure::TimedOut(..) => 6,
            Failure::BodyTimedOut(_) => 7,
            Failure::SendTimedOut(_) => 8,
            Failure::Dropped(..) => 9,
        }
    }
}

/// The request a failure happened to.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub id: &'a str,
    pub peer: IpAddr,
}

/// One app's latest error lines, and a feed of new ones for `nginx:error-logs -t`.
#[derive(Debug)]
pub struct ErrorLog {
    lines: Mutex<VecDeque<Arc<str>>>,
    feed: broadcast::Sender<Arc<str>>,
    /// Failures so far, by kind (`KINDS`).
    counts: [AtomicU64; KINDS.len()],
}

impl Default for ErrorLog {
    fn default() -> ErrorLog {
        ErrorLog {
            lines: Mutex::default(),
            feed: broadcast::Sender::new(64),
            counts: Default::default(),
        }
    }
}

impl ErrorLog {
    /// Failures so far, by kind, in `KINDS`' order.
    pub fn counts(&self) -> [u64; KINDS.len()] {
        std::array::from_fn(|kind| self.counts[kind].load(Ordering::Relaxed))
    }

    /// Counts `failure` (for `/metrics`, whatever the app's error log), and with `lines` logs it
    /// and keeps its line (`nginx:error-logs`); an app with `error-log-path off` keeps none.
    pub fn record(&self, app: &str, failure: &Failure, request: &Request<'_>, lines: bool) {
        self.counts[failure.kind()].fetch_add(1, Ordering::Relaxed);
        if !lines {
            return;
        }
        // A stopped app's requests are expected failures: kept here, not repeated in the log.
        match failure {
            Failure::NoInstance | Failure::Held(_) => {
                tracing::debug!(%app, id = request.id, error = %failure, "proxy error")
            }
            // An instance the request then went past, or a client's own doing.
            Failure::Unreachable(..)
            | Failure::Stale(..)
            | Failure::Dropped(..)
            | Failure::TooLarge(_)
            | Failure::BodyTimedOut(_)
            | Failure::SendTimedOut(_) => {
                tracing::info!(%app, id = request.id, error = %failure, "proxy error")
            }
            _ => tracing::warn!(%app, id = request.id, error = %failure, "proxy error"),
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let line: Arc<str> = format!(
            "{}Z [error] {failure}, client: {}, request: \"{} {}\", id: {}",
            crate::clock::iso(now.as_secs()),
            request.peer,
            request.method,
            request.path.escape_debug(),
            request.id
        )
        .into();
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == KEPT {
            lines.pop_front();
        }
        lines.push_back(line.clone());
        // Sent under the lock, so a follower that took the kept lines sees every later one.
        let _ = self.feed.send(line);
    }

    /// The last `count` lines, and with `follow` a receiver of every later one, taken together
    /// so that no line is missed or seen twice.
    pub fn tail(
        &self,
        count: usize,
        follow: bool,
    ) -> (Vec<Arc<str>>, Option<broadcast::Receiver<Arc<str>>>) {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let skip = lines.len().saturating_sub(count);
        let kept = lines.iter().skip(skip).cloned().collect();
        (kept, follow.then(|| self.feed.subscribe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str) -> Request<'_> {
        Request {
            method: "GET",
            path: "/a\"b",
            id,
            peer: IpAddr::from([203, 0, 113, 9]),
        }
    }

    #[test]
    fn keeps_the_latest_lines_and_feeds_followers() {
        let log = ErrorLog::default();
        for n in 0..KEPT + 5 {
            log.record("shop", &Failure::NoInstance, &request(&n.to_string()), true);
        }
        let (kept, feed) = log.tail(3, true);
        assert_eq!(kept.len(), 3);
        assert!(
            kept[2].ends_with(&format!(", id: {}", KEPT + 4)),
            "{}",
            kept[2]
        );
        assert!(
            kept[2].contains(
                "Z [error] the app has no running instance, client: 203.0.113.9, request: \"GET /a\\\"b\""
            ),
            "{}",
            kept[2]
        );
        assert_eq!(log.tail(usize::MAX, false).0.len(), KEPT);
        let mut feed = feed.unwrap();
        let timeout = Failure::TimedOut(
            SocketAddr::from(([10, 0, 0, 2], 5000)),
            Duration::from_secs(60),
        );
        log.record("shop", &timeout, &request("late"), true);
        let line = feed.try_recv().unwrap();
        assert!(
            line.contains("10.0.0.2:5000 sent no response headers within 60s (proxy-read-timeout)"),
            "{line}"
        );
    }

    #[test]
    fn an_app_without_error_lines_still_has_its_failures_counted() {
        let log = ErrorLog::default();
        log.record("shop", &Failure::NoInstance, &request("1"), false);
        assert!(log.tail(usize::MAX, false).0.is_empty());
        assert_eq!(log.counts()[1], 1, "no_instance");
    }
}
