//! Routes follow instances the scheduler stops and restarts by itself. Docker restarts a crashed
//! container (its restart policy), and every container when the engine comes back; while one is
//! down its address is free, and it may come back with another: the old one may by then belong
//! to another app's container (dokku#3932). The proxy must never send requests there.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;

use super::restore_idle_apps;
use crate::context::Ctx;
use crate::names::AppName;
use crate::scheduler::{Instance, SchedulerError, SchedulerKind};

/// The longest pause before reconnecting to the engine's events.
const MAX_RETRY: Duration = Duration::from_secs(30);
/// How often Swarm apps' tasks are listed: tasks on other nodes are no containers of this
/// engine, so it sends no events of theirs.
const SWARM_POLL: Duration = Duration::from_secs(2);

/// Until shutdown: watches the instances the engine starts and stops; a routed instance that
/// stops takes no requests until it runs again, at whatever address it then has. After every
/// (re)connection to the engine it also looks at every routed instance, for changes it missed
/// while disconnected; after a lost connection it also restores apps left without a running
/// instance (containers removed meanwhile, or not brought back by the engine), as the daemon
/// does when it starts.
pub async fn follow_restarts(ctx: Arc<Ctx>) {
    let mut retry = Duration::from_secs(1);
    let mut lost = false;
    loop {
        // Events from a second before the check on, so none falls between the two.
        let since = SystemTime::now() - Duration::from_secs(1);
        let mut changes = ctx.scheduler.changes(since);
        let mut poll = tokio::time::interval(SWARM_POLL);
        match resync(&ctx, None).await {
            Ok(()) => {
                retry = Duration::from_secs(1);
                if std::mem::take(&mut lost) {
                    tracing::info!("the engine answers again");
                    ctx.tracker.spawn(restore_idle_apps(ctx.clone()));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot list instances to check their addresses")
            }
        }
        loop {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                next = changes.next() => match next {
                    Some(Ok(instance)) => {
                        follow(&ctx, &instance.app, &instance.id, running_at(&ctx, &instance));
                        replace_stopped(&ctx, &instance, None).await;
                    }
                    Some(Err(err)) => {
                        tracing::warn!(error = %err, "lost the engine's events");
                        break;
                    }
                    None => {
                        tracing::warn!("lost the engine's events");
                        break;
                    }
                },
                _ = poll.tick(), if routes_swarm_app(&ctx) => {
                    // On one node every task is a container of this engine, followed by its
                    // events; only other nodes' tasks need listing.
                    if !matches!(ctx.scheduler.swarm_nodes().await, Ok(n) if n > 1) {
                        continue;
                    }
                    if let Err(err) = resync(&ctx, None).await {
                        tracing::warn!(error = %err, "cannot list the swarm's tasks");
                    }
                }
            }
        }
        lost = true;
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(MAX_RETRY);
    }
}

/// Whether a routed app runs on the swarm.
fn routes_swarm_app(ctx: &Ctx) -> bool {
    let swarm = Some(SchedulerKind::DockerSwarm.as_str());
    let apps: BTreeSet<AppName> = ctx
        .routes
        .instances()
        .into_iter()
        .map(|(app, _)| app)
        .collect();
    apps.iter()
        .any(|app| ctx.store.scheduler_of(app).as_deref() == swarm)
}

/// Where `instance` runs now, if it does: at the port its release listens on, or for a task on
/// another node, the one its node publishes.
fn running_at(ctx: &Ctx, instance: &Instance) -> Option<SocketAddr> {
    if !instance.running {
        return None;
    }
    let port = ctx.store.release_port(&instance.app, instance.release)?;
    instance.reach(port)
}

/// Brings every routed instance (of `only`, or of every app) up to date; one that no longer
/// exists counts as down.
async fn resync(ctx: &Ctx, only: Option<&AppName>) -> Result<(), SchedulerError> {
    let instances = ctx.scheduler.instances(only).await?;
    let now: HashMap<String, Option<SocketAddr>> = instances
        .iter()
        .map(|instance| (instance.id.clone(), running_at(ctx, instance)))
        .collect();
    for (app, id) in ctx.routes.instances() {
        if only.is_none_or(|only| *only == app) {
            follow(ctx, &app, &id, now.get(&id).copied().flatten());
        }
    }
    for instance in &instances {
        replace_stopped(ctx, instance, Some(&instances)).await;
    }
    Ok(())
}

/// Right after a deploy or scale routed `app`'s instances: one that stopped after its checks
/// but before the switch had its event while it was not routed yet, so look again.
pub async fn recheck(ctx: &Ctx, app: &AppName) {
    if let Err(err) = resync(ctx, Some(app)).await {
        tracing::warn!(app = %app, error = %err, "cannot check the instances just routed");
    }
}

/// A running instance no route names, in the place of a routed one that stopped (same
/// process, number and release), takes that one's place: a Swarm task the swarm started to
/// replace a task that exited, or whose node left. (Docker restarts a local container in place,
/// under the same id, which `follow` handles.) `known`: the instances as just listed, if they
/// were.
async fn replace_stopped(ctx: &Ctx, new: &Instance, known: Option<&[Instance]>) {
    let Some(at) = running_at(ctx, new) else {
        return;
    };
    // Only the swarm starts an instance in another's place: other apps' events end here.
    if ctx.store.scheduler_of(&new.app).as_deref() != Some(SchedulerKind::DockerSwarm.as_str()) {
        return;
    }
    let routed: Vec<String> = ctx
        .routes
        .instances()
        .into_iter()
        .filter(|(app, _)| *app == new.app)
        .map(|(_, id)| id)
        .collect();
    if routed.is_empty() || routed.contains(&new.id) {
        return;
    }
    let listed;
    let instances = match known {
        Some(instances) => instances,
        None => match ctx.scheduler.instances(Some(&new.app)).await {
            Ok(instances) => {
                listed = instances;
                &listed[..]
            }
            Err(err) => {
                tracing::warn!(app = %new.app, error = %err, "cannot look for the instance a new one replaces");
                return;
            }
        },
    };
    let replaced = instances.iter().find(|old| {
        !old.running
            && routed.contains(&old.id)
            && (&old.process, old.index, old.release) == (&new.process, new.index, new.release)
    });
    if let Some(old) = replaced {
        if ctx.routes.set_replaced(&new.app, &old.id, &new.id, at) {
            tracing::info!(
                app = %new.app, dyno = %new.dyno(), %at,
                "a new instance replaces one that stopped; requests go to it"
            );
        }
    }
}

fn follow(ctx: &Ctx, app: &AppName, id: &str, at: Option<SocketAddr>) {
    if !ctx.routes.set_running(app, id, at) {
        return;
    }
    let instance = id.get(..12).unwrap_or(id);
    match at {
        Some(at) => tracing::info!(
            app = %app, instance, %at,
            "a routed instance runs again; requests go to its current address"
        ),
        None => tracing::warn!(
            app = %app, instance,
            "a routed instance stopped; it gets no requests until it runs again"
        ),
    }
}
