//! Continuous health: app.json's `"type": "liveness"` checks of `web`, run against every
//! routed web instance every `wait` seconds. An instance that fails one `attempts` rounds in a
//! row is taken out of the proxy's rotation at once (unless it is the last one in it), restarted,
//! and put back when it passes again; the app's first unhealthy instance fires `app-unhealthy`,
//! and the app's return to all healthy fires `app-recovered`, once each per incident.
//!
//! An app that declares no liveness check of `web` can opt in to the default probe (any HTTP
//! answer on the port) as one: `checks:set <app> liveness-probe true`, every 5 seconds, out
//! after 3 failed rounds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::alerts::Alert;
use crate::context::Ctx;
use crate::health::{self, probe_http, probe_once, CheckKind, HealthCheck, Target};
use crate::names::AppName;

/// One instance's health, for `ps:report`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceHealth {
    pub app: AppName,
    pub dyno: String,
    pub healthy: bool,
    /// When it last failed a liveness check (Unix seconds), and why.
    pub last_failure: Option<(u64, String)>,
}

/// Every checked instance's health, by container id.
#[derive(Debug, Default)]
pub struct HealthBoard {
    instances: Mutex<BTreeMap<String, InstanceHealth>>,
}

impl HealthBoard {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, InstanceHealth>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The app's checked instances, by dyno.
    pub fn of(&self, app: &AppName) -> Vec<InstanceHealth> {
        let mut found: Vec<_> = self
            .lock()
            .values()
            .filter(|h| &h.app == app)
            .cloned()
            .collect();
        found.sort_by(|a, b| a.dyno.cmp(&b.dyno));
        found
    }
}

/// What the loop knows of one instance between rounds.
#[derive(Debug, Default)]
struct Probe {
    failures: u32,
    next: Option<Instant>,
}

/// Until shutdown, once a second: the rounds that are due.
pub async fn run_loop(ctx: Arc<Ctx>) {
    let mut probes: HashMap<String, Probe> = HashMap::new();
    let mut incidents: BTreeSet<AppName> = BTreeSet::new();
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let mut seen = BTreeSet::new();
        for record in ctx.store.apps() {
            let Some(release) = record.current() else {
                continue;
            };
            let checks: Vec<&HealthCheck> = release
                .checks
                .iter()
                .filter(|c| c.kind == CheckKind::Liveness && c.process == "web")
                .filter(|c| c.uptime.is_none())
                .collect();
            let Some(route) = ctx.routes.route(&record.name) else {
                continue;
            };
            if checks.is_empty() && !ctx.liveness_probe(&record) {
                continue;
            }
            let every = checks.iter().map(|c| c.wait_secs.max(1)).min().unwrap_or(5);
            let attempts = checks.iter().map(|c| c.attempts.max(1)).min().unwrap_or(3);
            let host = ctx
                .app_hosts(&record.name)
                .into_iter()
                .next()
                .unwrap_or_else(|| "localhost".to_string());
            let candidates = route.upstreams.iter().chain(
                route
                    .down
                    .iter()
                    .filter(|u| route.unhealthy.contains(&u.instance)),
            );
            for upstream in candidates {
                seen.insert(upstream.instance.clone());
                let probe = probes.entry(upstream.instance.clone()).or_default();
                let now = Instant::now();
                if probe.next.is_some_and(|next| next > now) {
                    continue;
                }
                probe.next = Some(now + Duration::from_secs(every));
                let outcome = round(&ctx, &checks, &upstream.instance, upstream.addr, &host).await;
                let verdict = match outcome {
                    Ok(()) => {
                        probe.failures = 0;
                        Verdict::Passed
                    }
                    Err(reason) => {
                        probe.failures += 1;
                        match probe.failures >= attempts {
                            true => {
                                probe.failures = 0;
                                Verdict::Failed(reason)
                            }
                            false => Verdict::Failing,
                        }
                    }
                };
                apply(
                    &ctx,
                    &record.name,
                    &upstream.instance,
                    verdict,
                    &mut incidents,
                )
                .await;
            }
        }
        probes.retain(|id, _| seen.contains(id));
        ctx.health.lock().retain(|id, _| seen.contains(id));
    }
}

fn alert(trigger: &'static str, app: &AppName, firing: bool, message: String) -> Alert {
    Alert {
        trigger,
        app: app.to_string(),
        firing,
        message,
    }
}

enum Verdict {
    Passed,
    Failing,
    Failed(String),
}

/// Every check once (the default probe when none is declared); the first failure's reason.
async fn round(
    ctx: &Ctx,
    checks: &[&HealthCheck],
    instance: &str,
    address: SocketAddr,
    host: &str,
) -> Result<(), String> {
    if checks.is_empty() {
        return match probe_http(address, host, Duration::from_secs(5)).await {
            health::Probe::Answered(_) => Ok(()),
            health::Probe::Failed(reason) => Err(format!("liveness probe failed: {reason}")),
        };
    }
    let target = Target {
        container: instance,
        address,
        host,
    };
    for check in checks {
        probe_once(check, &target, ctx.scheduler.as_ref())
            .await
            .map_err(|reason| format!("liveness check \"{}\" failed: {reason}", check.name))?;
    }
    Ok(())
}

async fn apply(
    ctx: &Ctx,
    app: &AppName,
    instance: &str,
    verdict: Verdict,
    incidents: &mut BTreeSet<AppName>,
) {
    // The engine is asked for the instance's name once, when the board first sees it.
    let known = ctx.health.lock().get(instance).map(|h| h.dyno.clone());
    let dyno = match known {
        Some(dyno) => dyno,
        None => ctx
            .scheduler
            .instances(Some(app))
            .await
            .ok()
            .and_then(|all| all.into_iter().find(|i| i.id == instance))
            .map_or_else(|| instance.chars().take(12).collect(), |i| i.dyno()),
    };
    let was_healthy = {
        let mut board = ctx.health.lock();
        let entry = board
            .entry(instance.to_string())
            .or_insert_with(|| InstanceHealth {
                app: app.clone(),
                dyno: dyno.clone(),
                healthy: true,
                last_failure: None,
            });
        let was = entry.healthy;
        match &verdict {
            Verdict::Passed => entry.healthy = true,
            Verdict::Failing => {}
            Verdict::Failed(reason) => {
                entry.healthy = false;
                entry.last_failure = Some((crate::clock::now_unix(), reason.clone()));
            }
        }
        was
    };
    match verdict {
        Verdict::Failing => {}
        Verdict::Failed(reason) => {
            tracing::warn!(app = %app, dyno, reason, "instance failed its liveness checks");
            ctx.routes.set_healthy(app, instance, false);
            let (scheduler, id) = (ctx.scheduler.clone(), instance.to_string());
            let grace = ctx
                .store
                .app(app)
                .map(|record| ctx.stop_timeout(&record))
                .unwrap_or(Duration::from_secs(10));
            ctx.tracker.spawn(async move {
                if let Err(err) = scheduler.restart(&id, grace).await {
                    tracing::warn!(error = %err, "cannot restart an unhealthy instance");
                }
            });
            if was_healthy && incidents.insert(app.clone()) {
                let message = format!("{dyno}: {reason}");
                ctx.alert(&alert("app-unhealthy", app, true, message)).await;
            }
        }
        Verdict::Passed if !was_healthy => {
            tracing::info!(app = %app, dyno, "instance passes its liveness checks again");
            ctx.routes.set_healthy(app, instance, true);
            let still = ctx.health.of(app).iter().any(|h| !h.healthy);
            if !still && incidents.remove(app) {
                let message = "every web instance passes its liveness checks".to_string();
                ctx.alert(&alert("app-recovered", app, false, message))
                    .await;
            }
        }
        Verdict::Passed => {}
    }
}
