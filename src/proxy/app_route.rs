//! One app's route: the instances serving it (up, or down while the scheduler restarts them),
//! what this generation of them has served, and the policy applied to its requests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::errors::ErrorLog;
use super::metrics::AppMetrics;
use super::policy::Policy;
use crate::names::AppName;

/// One instance an app's requests go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The scheduler's id of the instance (the container id), so its address can follow it.
    pub instance: String,
    pub addr: SocketAddr,
}

/// One app's live upstreams and what the proxy applies to its requests.
#[derive(Debug)]
pub struct AppRoute {
    pub app: AppName,
    pub upstreams: Vec<Upstream>,
    /// This generation's instances that are not running now (the scheduler restarts them):
    /// nothing is sent to their old address, which another container may be given meanwhile.
    pub down: Vec<Upstream>,
    /// During a stop-first swap: requests wait for the next table instead of failing.
    pub held: bool,
    /// What this route (this generation of the app's upstreams) has served.
    pub stats: Arc<RouteStats>,
    /// Instances out of rotation because they failed their liveness checks: kept down, even
    /// when they run again, until they pass (`Routes::set_healthy`).
    pub unhealthy: Vec<String>,
    /// The app's request metrics, kept across generations.
    pub metrics: Arc<AppMetrics>,
    /// The app's latest proxy errors, kept across generations.
    pub errors: Arc<ErrorLog>,
    /// Authentication, TLS redirects and limits (`Routes::set_policy`), kept across generations.
    pub policy: Arc<Policy>,
    next: AtomicUsize,
}

/// Request outcomes of one route generation; read by the watch window (and, later, metrics).
#[derive(Debug, Default)]
pub struct RouteStats {
    requests: AtomicU64,
    failures: AtomicU64,
}

impl RouteStats {
    /// Counts a response; 5xx statuses count as failures.
    pub fn record(&self, status: u16) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (requests, failed requests) so far.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }
}

impl AppRoute {
    /// A new generation of `app`'s route; metrics, errors and policy carry over from
    /// `previous`.
    pub(super) fn new(
        app: AppName,
        upstreams: Vec<Upstream>,
        held: bool,
        previous: Option<&AppRoute>,
    ) -> AppRoute {
        AppRoute {
            app,
            upstreams,
            down: Vec::new(),
            held,
            unhealthy: Vec::new(),
            stats: Arc::default(),
            metrics: previous.map(|p| p.metrics.clone()).unwrap_or_default(),
            errors: previous.map(|p| p.errors.clone()).unwrap_or_default(),
            policy: previous.map(|p| p.policy.clone()).unwrap_or_default(),
            next: AtomicUsize::new(0),
        }
    }

    /// A copy of this route in the same generation: same instances, counts, metrics and policy.
    pub(super) fn same_generation(&self) -> AppRoute {
        let mut route = AppRoute::new(
            self.app.clone(),
            self.upstreams.clone(),
            self.held,
            Some(self),
        );
        route.down = self.down.clone();
        route.unhealthy = self.unhealthy.clone();
        route.stats = self.stats.clone();
        route
    }

    /// This generation with `instance` out of rotation (`healthy` false) or back in it, if that
    /// changes anything. The last instance in rotation stays: an app answers while it can.
    pub(super) fn with_health(&self, instance: &str, healthy: bool) -> Option<AppRoute> {
        let marked = self.unhealthy.iter().any(|i| i == instance);
        let mut route = self.same_generation();
        let up = route.upstreams.iter().position(|u| u.instance == instance);
        match (healthy, marked, up) {
            (false, false, Some(i)) if route.upstreams.len() > 1 => {
                let upstream = route.upstreams.remove(i);
                route.down.push(upstream);
                route.unhealthy.push(instance.to_string());
            }
            (true, true, _) => {
                route.unhealthy.retain(|i| i != instance);
                if let Some(i) = route.down.iter().position(|u| u.instance == instance) {
                    let upstream = route.down.remove(i);
                    route.upstreams.push(upstream);
                }
            }
            _ => return None,
        }
        Some(route)
    }

    /// This generation with `instance` running at `at` (or stopped: `None`), if that changes
    /// anything; see `Routes::set_running`.
    pub(super) fn following(&self, instance: &str, at: Option<SocketAddr>) -> Option<AppRoute> {
        let mut route = self.same_generation();
        let up = route.upstreams.iter().position(|u| u.instance == instance);
        let down = route.down.iter().position(|u| u.instance == instance);
        match (at, up, down) {
            (Some(at), Some(i), _) if route.upstreams[i].addr != at => {
                route.upstreams[i].addr = at;
            }
            // An unhealthy instance that runs again waits for its checks, out of rotation.
            (Some(at), None, Some(i)) if route.unhealthy.iter().any(|u| u == instance) => {
                if route.down[i].addr == at {
                    return None;
                }
                route.down[i].addr = at;
            }
            (Some(at), None, Some(i)) => {
                let mut upstream = route.down.remove(i);
                upstream.addr = at;
                route.upstreams.push(upstream);
            }
            (None, Some(i), _) => {
                let upstream = route.upstreams.remove(i);
                route.down.push(upstream);
            }
            _ => return None,
        }
        Some(route)
    }

    /// This generation with the stopped instance `old` replaced by `new`, running at `at` (a
    /// Swarm task the swarm started in its place), if `old` is one of its stopped instances.
    pub(super) fn replacing(&self, old: &str, new: &str, at: SocketAddr) -> Option<AppRoute> {
        let mut route = self.same_generation();
        let i = route.down.iter().position(|u| u.instance == old)?;
        let mut upstream = route.down.remove(i);
        upstream.instance = new.to_string();
        upstream.addr = at;
        route.unhealthy.retain(|u| u != old);
        route.upstreams.push(upstream);
        Some(route)
    }

    /// Every upstream once, starting at the next in round-robin order: the first is where a
    /// request goes, the others where it may be retried.
    pub fn rotation(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let len = self.upstreams.len();
        (0..len).map(move |k| self.upstreams[(start + k) % len].addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_stats_count_server_errors() {
        let stats = RouteStats::default();
        for status in [200, 404, 500, 502, 301] {
            stats.record(status);
        }
        assert_eq!(stats.snapshot(), (5, 2));
    }

    fn upstream(instance: &str, ip: [u8; 4]) -> Upstream {
        Upstream {
            instance: instance.into(),
            addr: SocketAddr::from((ip, 5000)),
        }
    }

    fn named(list: &[Upstream]) -> Vec<&str> {
        list.iter().map(|u| u.instance.as_str()).collect()
    }

    #[test]
    fn an_unhealthy_instance_stays_out_when_it_runs_again_until_it_is_healthy() {
        let app = AppName::parse("shop").unwrap();
        let ups = vec![upstream("a", [10, 0, 0, 2]), upstream("b", [10, 0, 0, 3])];
        let route = AppRoute::new(app, ups, false, None);
        let out = route.with_health("b", false).unwrap();
        assert_eq!(
            (named(&out.upstreams), named(&out.down)),
            (vec!["a"], vec!["b"])
        );
        assert!(out.with_health("a", false).is_none(), "the last one stays");
        // Restarted (down, then up at a new address): still out, at its new address.
        let stopped = out.following("b", None);
        assert!(stopped.is_none());
        let moved = out
            .following("b", Some(SocketAddr::from(([10, 0, 0, 9], 5000))))
            .unwrap();
        assert_eq!(named(&moved.upstreams), vec!["a"]);
        assert_eq!(moved.down[0].addr, SocketAddr::from(([10, 0, 0, 9], 5000)));
        let back = moved.with_health("b", true).unwrap();
        assert_eq!(named(&back.upstreams), vec!["a", "b"]);
        assert!(back.unhealthy.is_empty());
    }

    #[test]
    fn a_new_instance_takes_the_place_of_a_stopped_one_only() {
        let app = AppName::parse("shop").unwrap();
        let ups = vec![upstream("a", [10, 0, 0, 2]), upstream("b", [10, 0, 0, 3])];
        let route = AppRoute::new(app, ups, false, None);
        assert!(
            route
                .replacing("a", "c", SocketAddr::from(([10, 0, 0, 4], 5000)))
                .is_none(),
            "a runs"
        );
        let stopped = route.following("a", None).unwrap();
        let replaced = stopped
            .replacing("a", "c", SocketAddr::from(([10, 0, 0, 4], 5000)))
            .unwrap();
        assert_eq!(named(&replaced.upstreams), vec!["b", "c"]);
        assert!(replaced.down.is_empty());
        assert_eq!(
            replaced.upstreams[1].addr,
            SocketAddr::from(([10, 0, 0, 4], 5000))
        );
        assert!(replaced
            .replacing("a", "d", SocketAddr::from(([10, 0, 0, 5], 5000)))
            .is_none());
    }
}
