//! `ps:scale` and `ps:stop`: bring the current release's instances to the app's formation (or
//! to none) without a new release. New instances take traffic only once checked; surplus ones
//! leave the route table first and stop after `wait-to-retire`, so scaling drops no request.

use crate::proxy::Upstream;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::checks::{check_instances, running_instances, Occasion};
use super::pipeline::{instance_spec, RunSettings};
use super::retire::{retire_later, retire_now};
use super::{DeployError, Wait};
use crate::context::Ctx;
use crate::io::Io;
use crate::names::AppName;
use crate::scheduler::{Instance, SchedulerKind};

/// What `scale` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Scaled {
    Done,
    /// Fewer instances of `process` (of every process: `None`) are wanted on a swarm of more
    /// than one node, where the swarm, not Berth, picks the tasks a scale-down removes, so
    /// Berth could not drain them first: the caller restarts it instead, a new service of the
    /// wanted size through the checked cutover.
    Restart(Option<String>),
}

/// Starts or retires instances of the current release until they match the formation.
pub async fn scale(
    ctx: &Ctx,
    app: &AppName,
    io: &mut Io,
    wait: Wait,
) -> Result<Scaled, DeployError> {
    let _lock = ctx.deploy_locks.acquire(app, io, wait).await?;
    let record = ctx.store.app(app)?;
    let Some(release) = record.current() else {
        return Ok(Scaled::Done);
    };
    if record.stopped {
        io.detail("The app is stopped; the new scale applies at ps:start")
            .await;
        return Ok(Scaled::Done);
    }
    let formation = record.formation_for(release);
    let running = running_instances(ctx, app, release.number).await?;
    let mut by_process: BTreeMap<&str, Vec<&Instance>> = BTreeMap::new();
    for instance in &running {
        by_process
            .entry(&instance.process)
            .or_default()
            .push(instance);
    }
    let settings = RunSettings::new(ctx, &record)?;
    let mut surplus: Vec<Instance> = Vec::new();
    let mut started: Vec<Instance> = Vec::new();
    for (process, have) in &mut by_process {
        let want = formation.get(*process).copied().unwrap_or(0) as usize;
        have.sort_by_key(|i| i.index);
        if have.len() > want {
            surplus.extend(have.drain(want..).cloned());
        }
    }
    if !surplus.is_empty() && swarm_picks_retired(ctx, &settings).await? {
        let mut processes: BTreeSet<&str> = surplus.iter().map(|i| i.process.as_str()).collect();
        processes.extend(formation.iter().filter_map(|(process, want)| {
            let have = by_process.get(process.as_str()).map_or(0, Vec::len);
            (have < *want as usize).then_some(process.as_str())
        }));
        let only = match processes.len() {
            1 => processes.pop_first().map(str::to_string),
            _ => None,
        };
        return Ok(Scaled::Restart(only));
    }
    for (process, want) in &formation {
        let have = by_process
            .get(process.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let used: BTreeSet<u32> = have.iter().map(|i| i.index).collect();
        let missing = (*want as usize).saturating_sub(have.len());
        for index in (1..).filter(|i| !used.contains(i)).take(missing) {
            let spec = instance_spec(app, release, process, index, &settings);
            io.detail(&format!("Starting {process}.{index}")).await;
            match ctx.scheduler.start(&spec).await {
                Ok(instance) => started.push(instance),
                Err(err) => {
                    retire_now(ctx, &started, ctx.stop_timeout(&record)).await;
                    return Err(err.into());
                }
            }
        }
    }
    let new_upstreams = if started.is_empty() {
        Vec::new()
    } else {
        let checked = async {
            let upstreams =
                check_instances(ctx, app, release, &started, Occasion::Deploy, io).await?;
            super::networks::attach_post_deploy(ctx, &record, &started).await?;
            Ok::<_, DeployError>(upstreams)
        };
        match checked.await {
            Ok(upstreams) => upstreams,
            Err(err) => {
                retire_now(ctx, &started, ctx.stop_timeout(&record)).await;
                return Err(err);
            }
        }
    };
    let mut upstreams: Vec<Upstream> = by_process
        .get("web")
        .into_iter()
        .flatten()
        .filter_map(|i| super::upstream(i, release.port))
        .collect();
    upstreams.extend(new_upstreams);
    ctx.routes.set_app(app, &ctx.app_hosts(app), upstreams);
    super::follow::recheck(ctx, app).await;
    if !surplus.is_empty() {
        let names: Vec<String> = surplus.iter().map(Instance::dyno).collect();
        let delay = ctx.wait_to_retire(&record);
        io.detail(&format!(
            "Stopping {} after {delay}s (in-flight requests finish first)",
            names.join(", ")
        ))
        .await;
        retire_later(
            ctx,
            surplus,
            Duration::from_secs(delay),
            ctx.stop_timeout(&record),
        );
    }
    Ok(Scaled::Done)
}

/// Whether the app runs on a swarm of more than one node (see `Scaled::Restart`).
async fn swarm_picks_retired(ctx: &Ctx, settings: &RunSettings) -> Result<bool, DeployError> {
    if settings.scheduler() != SchedulerKind::DockerSwarm {
        return Ok(false);
    }
    Ok(ctx.scheduler.swarm_nodes().await? > 1)
}

/// Stops every instance; the app answers 502 until `ps:start`.
pub async fn stop(ctx: &Ctx, app: &AppName, io: &mut Io, wait: Wait) -> Result<(), DeployError> {
    let _lock = ctx.deploy_locks.acquire(app, io, wait).await?;
    let (record, ()) = ctx.store.update_app(app, |record| record.stopped = true)?;
    ctx.routes.set_app(app, &ctx.app_hosts(app), Vec::new());
    let instances = ctx.scheduler.instances(Some(app)).await?;
    for instance in &instances {
        io.detail(&format!("Stopping {}", instance.dyno())).await;
    }
    retire_now(ctx, &instances, ctx.stop_timeout(&record)).await;
    Ok(())
}
