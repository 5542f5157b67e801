//! The route table: which app a Host belongs to, and which instances serve that app.
//!
//! Readers (every proxied request) load the current table without locking; writers build a new
//! table and swap it in whole, so a request sees either the old routes or the new ones.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::watch;

pub use super::app_route::{AppRoute, RouteStats, Upstream};
use super::policy::Policy;
use crate::names::AppName;

#[derive(Debug, Default)]
struct RouteTable {
    hosts: HashMap<String, AppName>,
    apps: HashMap<AppName, Arc<AppRoute>>,
}

/// What the proxy should do with a Host.
pub enum Lookup {
    UnknownHost,
    App(Arc<AppRoute>),
}

pub struct Routes {
    table: ArcSwap<RouteTable>,
    writer: Mutex<()>,
    /// Bumped after every swap, so held requests wake up and look again.
    version: watch::Sender<u64>,
    /// Requests waiting on a held app right now.
    waiting: AtomicUsize,
}

/// Counts one waiting request for as long as it lives.
pub struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            table: ArcSwap::from_pointee(RouteTable::default()),
            writer: Mutex::new(()),
            version: watch::Sender::new(0),
            waiting: AtomicUsize::new(0),
        }
    }
}

/// The entry for `host` (normalized): an exact one first, then the closest wildcard
/// (`a.b.shop.example` tries `*.b.shop.example`, then `*.shop.example`, …).
pub fn by_host<'a, V>(entries: &'a HashMap<String, V>, host: &str) -> Option<&'a V> {
    entries.get(host).or_else(|| {
        let mut rest = host;
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(value) = entries.get(&format!("*.{parent}")) {
                return Some(value);
            }
            rest = parent;
        }
        None
    })
}

/// `Shop.Example:8080.` → `shop.example`.
pub fn normalize_host(raw: &str) -> String {
    let host = match raw.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => raw,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

impl Routes {
    /// The app `host` belongs to: an exact domain first, then the closest wildcard
    /// (`a.b.shop.example` tries `*.b.shop.example`, then `*.shop.example`, …).
    pub fn lookup(&self, host: &str) -> Lookup {
        let table = self.table.load();
        let owner = by_host(&table.hosts, &normalize_host(host));
        match owner.and_then(|app| table.apps.get(app)) {
            Some(route) => Lookup::App(route.clone()),
            None => Lookup::UnknownHost,
        }
    }

    /// Points `hosts` (and no others) at `app`, keeping its upstreams.
    pub fn set_hosts(&self, app: &AppName, hosts: &[String]) {
        self.update(|table| {
            table.hosts.retain(|_, owner| owner != app);
            for host in hosts {
                table.hosts.insert(normalize_host(host), app.clone());
            }
            true
        });
    }

    /// Points `hosts` at `app` and replaces its upstreams, in one swap.
    pub fn set_app(&self, app: &AppName, hosts: &[String], upstreams: Vec<Upstream>) {
        self.install(app, hosts, upstreams, false);
    }

    /// Makes the app's requests wait (bounded by the proxy) until the next `set_app`.
    pub fn hold(&self, app: &AppName, hosts: &[String]) {
        self.install(app, hosts, Vec::new(), true);
    }

    fn install(&self, app: &AppName, hosts: &[String], upstreams: Vec<Upstream>, held: bool) {
        self.update(|table| {
            table.hosts.retain(|_, owner| owner != app);
            for host in hosts {
                table.hosts.insert(normalize_host(host), app.clone());
            }
            let previous = table.apps.get(app).cloned();
            let route = AppRoute::new(app.clone(), upstreams, held, previous.as_deref());
            table.apps.insert(app.clone(), Arc::new(route));
            true
        });
    }

    /// Replaces the app's policy, keeping its upstreams and this generation's counts (an app
    /// without a route yet gets one with no upstreams, so its next deploy inherits the policy).
    pub fn set_policy(&self, app: &AppName, policy: Policy) {
        self.update(|table| {
            let mut route = match table.apps.get(app) {
                Some(current) => current.same_generation(),
                None => AppRoute::new(app.clone(), Vec::new(), false, None),
            };
            route.policy = Arc::new(policy);
            table.apps.insert(app.clone(), Arc::new(route));
            true
        });
    }

    /// Follows one of the route's instances, in the same generation: running at `at` (its
    /// upstream moves there, same port; an instance that was down takes requests again), or
    /// not running (`None`: it takes none until it runs again). Returns whether anything
    /// changed; an instance the route does not name is left alone, so nothing becomes routed
    /// this way that a deploy did not route.
    pub fn set_running(&self, app: &AppName, instance: &str, at: Option<SocketAddr>) -> bool {
        // Most events (other apps' deploys) change nothing: decide that without copying the table.
        if self
            .route(app)
            .and_then(|r| r.following(instance, at))
            .is_none()
        {
            return false;
        }
        self.update(|table| {
            let Some(next) = table.apps.get(app).and_then(|r| r.following(instance, at)) else {
                return false;
            };
            table.apps.insert(app.clone(), Arc::new(next));
            true
        })
    }

    /// Puts `new`, running at `at`, in the place of the app's stopped instance `old`, in the
    /// same generation (see `AppRoute::replacing`); whether it was one.
    pub fn set_replaced(&self, app: &AppName, old: &str, new: &str, at: SocketAddr) -> bool {
        self.update(|table| {
            let Some(next) = table.apps.get(app).and_then(|r| r.replacing(old, new, at)) else {
                return false;
            };
            table.apps.insert(app.clone(), Arc::new(next));
            true
        })
    }

    /// Takes `instance` out of the app's rotation (`healthy` false: it failed its liveness
    /// checks; it stays out when it runs again) or puts it back; whether anything changed. The
    /// last instance in rotation is never taken out.
    pub fn set_healthy(&self, app: &AppName, instance: &str, healthy: bool) -> bool {
        self.update(|table| {
            let Some(next) = table
                .apps
                .get(app)
                .and_then(|r| r.with_health(instance, healthy))
            else {
                return false;
            };
            table.apps.insert(app.clone(), Arc::new(next));
            true
        })
    }

    /// Every instance a route names, up or down, with its app.
    pub fn instances(&self) -> Vec<(AppName, String)> {
        let table = self.table.load();
        table
            .apps
            .values()
            .flat_map(|route| {
                route
                    .upstreams
                    .iter()
                    .chain(&route.down)
                    .map(|u| (route.app.clone(), u.instance.clone()))
            })
            .collect()
    }

    /// Marks a request as waiting on a held app until the guard drops.
    pub fn start_waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(&self.waiting)
    }

    /// How many requests wait on held apps now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Notifies on every swap.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    pub fn remove_app(&self, app: &AppName) {
        self.update(|table| {
            table.hosts.retain(|_, owner| owner != app);
            table.apps.remove(app);
            true
        });
    }

    /// The hosts routed to `app` now, sorted.
    pub fn hosts_of(&self, app: &AppName) -> Vec<String> {
        let table = self.table.load();
        let mut hosts: Vec<String> = table
            .hosts
            .iter()
            .filter(|(_, owner)| *owner == app)
            .map(|(host, _)| host.clone())
            .collect();
        hosts.sort();
        hosts
    }

    /// The app's current route, if it has one.
    pub fn route(&self, app: &AppName) -> Option<Arc<AppRoute>> {
        self.table.load().apps.get(app).cloned()
    }

    /// Applies `change` to a copy of the table and swaps it in, if `change` says it changed
    /// anything; returns that.
    fn update(&self, change: impl FnOnce(&mut RouteTable) -> bool) -> bool {
        let _writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = self.table.load();
        let mut next = RouteTable {
            hosts: current.hosts.clone(),
            apps: current.apps.clone(),
        };
        if !change(&mut next) {
            return false;
        }
        self.table.store(Arc::new(next));
        self.version.send_modify(|v| *v += 1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str) -> AppName {
        AppName::parse(name).unwrap()
    }

    /// An upstream whose instance is named after its address.
    fn at(addr: &str) -> Upstream {
        Upstream {
            instance: addr.to_string(),
            addr: addr.parse().unwrap(),
        }
    }

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("Shop.Example:8080"), "shop.example");
        assert_eq!(normalize_host("shop.example."), "shop.example");
        assert_eq!(normalize_host("shop"), "shop");
    }

    #[test]
    fn swapping_an_app_replaces_hosts_and_upstreams() {
        let routes = Routes::default();
        let (a, b) = (at("10.0.0.2:5000"), at("10.0.0.3:5000"));
        routes.set_app(&app("shop"), &["shop.test".into()], vec![a.clone()]);
        let Lookup::App(route) = routes.lookup("SHOP.test:80") else {
            panic!("shop.test should route");
        };
        assert_eq!(route.rotation().collect::<Vec<_>>(), vec![a.addr]);
        routes.set_app(&app("shop"), &["shop.example".into()], vec![b.clone()]);
        assert!(matches!(routes.lookup("shop.test"), Lookup::UnknownHost));
        assert_eq!(routes.route(&app("shop")).unwrap().upstreams, vec![b]);
        routes.remove_app(&app("shop"));
        assert!(matches!(routes.lookup("shop.example"), Lookup::UnknownHost));
    }

    #[test]
    fn exact_domains_win_over_wildcards_and_closer_wildcards_win() {
        let routes = Routes::default();
        let a = at("10.0.0.2:5000");
        routes.set_app(&app("wild"), &["*.shop.test".into()], vec![a.clone()]);
        routes.set_app(&app("deep"), &["*.eu.shop.test".into()], vec![a.clone()]);
        routes.set_app(&app("exact"), &["www.shop.test".into()], vec![a]);
        let owner = |host: &str| match routes.lookup(host) {
            Lookup::App(route) => route.app.to_string(),
            Lookup::UnknownHost => "none".to_string(),
        };
        assert_eq!(owner("www.shop.test"), "exact");
        assert_eq!(owner("api.shop.test"), "wild");
        assert_eq!(owner("a.b.shop.test"), "wild");
        assert_eq!(owner("x.eu.shop.test"), "deep");
        assert_eq!(owner("shop.test"), "none");
        routes.set_hosts(&app("wild"), &["shop.test".into()]);
        assert_eq!(owner("api.shop.test"), "none");
        assert_eq!(owner("shop.test"), "wild");
    }

    #[test]
    fn lookups_stay_direct_with_ten_thousand_domains() {
        let routes = Routes::default();
        let a = at("10.0.0.2:5000");
        let hosts: Vec<String> = (0..10_000).map(|i| format!("app{i}.example")).collect();
        routes.set_app(&app("many"), &hosts, vec![a]);
        assert!(matches!(routes.lookup("app9999.example"), Lookup::App(_)));
        assert!(matches!(
            routes.lookup("a.b.c.d.app10000.example"),
            Lookup::UnknownHost
        ));
    }

    /// `shop` (at shop.test) routed to two instances.
    fn shop_on_two() -> (Routes, Upstream, Upstream) {
        let routes = Routes::default();
        let (a, b) = (at("10.0.0.2:5000"), at("10.0.0.3:5000"));
        routes.set_app(
            &app("shop"),
            &["shop.test".into()],
            vec![a.clone(), b.clone()],
        );
        (routes, a, b)
    }

    #[test]
    fn rotations_take_turns_and_cover_every_upstream() {
        let (routes, a, b) = shop_on_two();
        let route = routes.route(&app("shop")).unwrap();
        assert_eq!(route.rotation().collect::<Vec<_>>(), vec![a.addr, b.addr]);
        assert_eq!(route.rotation().collect::<Vec<_>>(), vec![b.addr, a.addr]);
    }

    #[test]
    fn instances_that_stop_and_restart_elsewhere_are_followed_in_the_same_generation() {
        let (routes, a, b) = shop_on_two();
        let before = routes.route(&app("shop")).unwrap();
        let addrs = || -> Vec<SocketAddr> {
            let route = routes.route(&app("shop")).unwrap();
            route.upstreams.iter().map(|u| u.addr).collect()
        };
        let moved: SocketAddr = "10.0.0.9:5000".parse().unwrap();

        assert!(routes.set_running(&app("shop"), &a.instance, Some(moved)));
        assert_eq!(addrs(), vec!["10.0.0.9:5000".parse().unwrap(), b.addr]);
        assert!(!routes.set_running(&app("shop"), &a.instance, Some(moved)));

        assert!(routes.set_running(&app("shop"), &b.instance, None));
        assert_eq!(addrs(), vec!["10.0.0.9:5000".parse().unwrap()]);
        assert!(!routes.set_running(&app("shop"), &b.instance, None));
        let mut named = routes.instances();
        named.sort();
        assert_eq!(
            named.len(),
            2,
            "a down instance is still the route's: {named:?}"
        );

        assert!(routes.set_running(&app("shop"), &b.instance, Some(moved)));
        assert_eq!(addrs().len(), 2);
        let after = routes.route(&app("shop")).unwrap();
        assert!(Arc::ptr_eq(&before.stats, &after.stats), "same generation");

        assert!(!routes.set_running(&app("shop"), "unknown", Some(moved)));
        assert!(!routes.set_running(&app("other"), &b.instance, None));
        routes.set_app(&app("shop"), &["shop.test".into()], vec![a.clone()]);
        assert!(
            !routes.set_running(&app("shop"), &b.instance, Some(moved)),
            "a new generation forgets what it does not name"
        );
    }

    #[test]
    fn holding_an_app_keeps_its_host_and_notifies() {
        let routes = Routes::default();
        let mut changes = routes.subscribe();
        routes.hold(&app("shop"), &["shop.test".into()]);
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        let Lookup::App(route) = routes.lookup("shop.test") else {
            panic!("a held app still owns its host");
        };
        assert!(route.held);
        routes.set_app(&app("shop"), &["shop.test".into()], vec![]);
        assert!(changes.has_changed().unwrap());
    }

    #[test]
    fn an_app_without_instances_still_owns_its_host() {
        let routes = Routes::default();
        routes.set_app(&app("shop"), &["shop.test".into()], vec![]);
        let Lookup::App(route) = routes.lookup("shop.test") else {
            panic!("shop.test should route");
        };
        assert_eq!(route.rotation().next(), None);
    }
}
