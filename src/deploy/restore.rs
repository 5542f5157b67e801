//! Daemon start: route every app to the containers that already run its current release.
//! Containers are adopted by their labels, never recreated.

use std::sync::Arc;
use std::time::Duration;

use super::{deploy, DeployError, DeployRequest, Source, Wait};
use crate::commands::Io;
use crate::context::{Caller, Ctx};
use crate::names::AppName;
use crate::scheduler::SchedulerError;

/// Rebuilds the route table from state and running containers. Leftovers of a deploy that never
/// committed (a release newer than the current one) are removed; instances of older releases,
/// which a stopped daemon did not get to retire, are retired now.
pub async fn adopt_running(ctx: &Ctx) -> Result<(), SchedulerError> {
    let instances = ctx.scheduler.instances(None).await?;
    for record in ctx.store.apps() {
        let app = &record.name;
        let grace = ctx.stop_timeout(&record);
        let current = record.current();
        let mut upstreams = Vec::new();
        for instance in instances.iter().filter(|i| &i.app == app) {
            match current {
                Some(release) if instance.release == release.number => {
                    if instance.running && instance.process == "web" {
                        upstreams.extend(super::upstream(instance, release.port));
                    }
                }
                Some(release) if instance.release < release.number => {
                    tracing::info!(app = %app, release = instance.release, "retiring an old instance");
                    ctx.scheduler.retire(&instance.id, grace).await?;
                }
                _ => {
                    tracing::info!(app = %app, release = instance.release, "removing an instance of an unfinished deploy");
                    ctx.scheduler.retire(&instance.id, Duration::ZERO).await?;
                }
            }
        }
        tracing::info!(app = %app, upstreams = upstreams.len(), "adopted");
        ctx.routes.set_app(app, &ctx.app_hosts(app), upstreams);
    }
    Ok(())
}

/// Restores every app left without a running instance, as `ps:restore` does, and logs it: at
/// daemon start, and when the engine answers again after the daemon lost it.
pub async fn restore_idle_apps(ctx: Arc<Ctx>) {
    let mut io = Io::detached(ctx.shutdown.child_token());
    match restore_apps(&ctx, &Caller::Local, None, &mut io).await {
        Ok(apps) if !apps.is_empty() => {
            tracing::info!(?apps, "restored apps that had no running instance")
        }
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "could not restore every app"),
    }
}

/// Starts (through the checked cutover) every app — or just `only` — that has a release, is not
/// stopped or kept from restores (`ps:set restore false`), and has no running instance. Returns
/// the apps it started.
pub async fn restore_apps(
    ctx: &Ctx,
    caller: &Caller,
    only: Option<&AppName>,
    io: &mut Io,
) -> Result<Vec<AppName>, DeployError> {
    let running = ctx.scheduler.instances(None).await?;
    let mut restored = Vec::new();
    for record in ctx.store.apps() {
        let wanted = only.is_none_or(|app| *app == record.name);
        let idle = !running.iter().any(|i| i.app == record.name && i.running);
        let kept = record.stopped || record.restore_disabled;
        if !wanted || kept || record.current_release.is_none() || !idle {
            continue;
        }
        io.step(&format!("Restoring {}", record.name)).await;
        let request = DeployRequest {
            app: record.name.clone(),
            caller: caller.clone(),
            source: Source::Restart(None),
            wait: Wait::Wait,
        };
        deploy(ctx, request, io).await?;
        restored.push(record.name);
    }
    Ok(restored)
}
