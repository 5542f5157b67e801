//! Daemon start: route every app to the containers that already run its current release.
//! Containers are adopted by their labels, never recreated.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use super::{deploy, DeployError, DeployRequest, Source, Wait};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::io::Io;
use crate::names::AppName;
use crate::scheduler::{Instance, SchedulerError};

/// Rebuilds the route table from state and running containers. Leftovers of a deploy that never
/// committed (a release newer than the current one) are removed; instances of older releases,
/// and those of the current one a scale left over (beyond the formation, or a second instance of
/// one dyno), which a stopped daemon did not get to retire, are retired now.
pub async fn adopt_running(ctx: &Ctx) -> Result<(), SchedulerError> {
    let instances = ctx.scheduler.instances(None).await?;
    for record in ctx.store.apps() {
        let app = &record.name;
        let grace = ctx.stop_timeout(&record);
        let current = record.current();
        let mut upstreams = Vec::new();
        let ours: Vec<&Instance> = instances.iter().filter(|i| &i.app == app).collect();
        let extra = match current {
            Some(release) => surplus(&ours, release.number, &record.formation_for(release)),
            None => HashSet::new(),
        };
        for instance in ours {
            match current {
                Some(release) if extra.contains(&instance.id) => {
                    tracing::info!(app = %app, release = release.number, dyno = instance.dyno(), "retiring an instance beyond the formation");
                    ctx.scheduler.retire(&instance.id, grace).await?;
                }
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

/// The ids of `release`'s running instances the formation has no place for: an index beyond its
/// process's count, or a second running instance of one dyno (a scale down and up again while
/// the first waited to retire).
fn surplus(
    instances: &[&Instance],
    release: u32,
    formation: &BTreeMap<String, u32>,
) -> HashSet<String> {
    let mut seen = HashSet::new();
    instances
        .iter()
        .filter(|i| i.release == release && i.running)
        .filter(|i| {
            let wanted = formation.get(&i.process).copied().unwrap_or(0);
            i.index > wanted || !seen.insert((i.process.as_str(), i.index))
        })
        .map(|i| i.id.clone())
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, process: &str, index: u32, release: u32) -> Instance {
        Instance {
            id: id.into(),
            app: AppName::parse("shop").unwrap(),
            process: process.into(),
            index,
            release,
            running: true,
            address: None,
            published: None,
        }
    }

    #[test]
    fn instances_beyond_the_formation_or_doubled_are_surplus() {
        let all = [
            instance("a", "web", 1, 3),
            instance("b", "web", 2, 3),
            instance("c", "web", 1, 3),
            instance("d", "worker", 1, 3),
            instance("e", "web", 5, 2),
            instance("f", "clock", 1, 3),
        ];
        let refs: Vec<&Instance> = all.iter().collect();
        let formation = BTreeMap::from([("web".to_string(), 1), ("worker".to_string(), 1)]);
        let mut extra: Vec<String> = surplus(&refs, 3, &formation).into_iter().collect();
        extra.sort();
        assert_eq!(extra, ["b", "c", "f"]);
    }
}
