//! One deploy from start to switch, for any `Source`.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::checks::check_instance;
use super::prepare::{prepare, Source};
use super::retire::{prune_images, retire_later, retire_now};
use super::watch::watch;
use super::{stage, DeployError, Stage, Wait};
use crate::commands::Io;
use crate::context::{Caller, Ctx};
use crate::names::AppName;
use crate::scheduler::{Instance, InstanceSpec};
use crate::state::Release;

/// Who deploys what to which app, and whether to wait for a deploy already running.
#[derive(Debug)]
pub struct DeployRequest {
    pub app: AppName,
    pub caller: Caller,
    pub source: Source,
    pub wait: Wait,
}

/// Runs the whole pipeline under the app's deploy lock; returns the new release number.
pub async fn deploy(ctx: &Ctx, request: DeployRequest, io: &mut Io) -> Result<u32, DeployError> {
    let _lock = ctx
        .deploy_locks
        .acquire(&request.app, io, request.wait)
        .await?;
    let number = ctx.store.app(&request.app)?.next_release_number();
    let span =
        tracing::info_span!("deploy", app = %request.app, release = number, by = %request.caller);
    run(ctx, request, number, io).instrument(span).await?;
    Ok(number)
}

/// Fails with `Abandoned` if the client hangs up before `work` is done.
async fn unless_hung_up<T>(
    hangup: &CancellationToken,
    work: impl Future<Output = Result<T, DeployError>>,
) -> Result<T, DeployError> {
    tokio::select! {
        _ = hangup.cancelled() => Err(DeployError::Abandoned),
        result = work => result,
    }
}

async fn run(
    ctx: &Ctx,
    request: DeployRequest,
    number: u32,
    io: &mut Io,
) -> Result<(), DeployError> {
    let app = request.app;
    let caller = request.caller;
    let record = ctx.store.app(&app)?;
    let previous = record.current_release;
    let hangup = io.hangup.clone();

    stage(Stage::Prepare);
    let release = unless_hung_up(
        &hangup,
        prepare(ctx, &record, number, &caller, request.source, io),
    )
    .await?;

    stage(Stage::Release);
    io.step(&format!("Releasing {app} (v{number})...")).await;
    let old: Vec<Instance> = ctx
        .scheduler
        .instances(Some(&app))
        .await?
        .into_iter()
        .filter(|i| i.release != number)
        .collect();
    let stop_first = record.checks.is_disabled("web");
    if stop_first {
        io.step("Checks are disabled: stopping the running release first (requests are held)")
            .await;
        ctx.routes.hold(&app, &ctx.app_hosts(&app));
        retire_now(ctx, &old).await;
    }

    stage(Stage::Start);
    io.step(&format!("Deploying {app} (v{number})...")).await;
    let started = unless_hung_up(&hangup, async {
        Ok(ctx
            .scheduler
            .start(&instance_spec(&app, &release, &ctx.store.global().env))
            .await?)
    })
    .await;
    let checked = match started {
        Ok(instance) => {
            let checked = if record.checks.is_skipped("web") {
                io.detail("Zero downtime checks have been skipped").await;
                instance
                    .address
                    .map(|ip| SocketAddr::new(ip, release.port))
                    .ok_or_else(|| DeployError::Check {
                        process: "web.1".into(),
                        reason: "the container has no address".into(),
                    })
            } else {
                unless_hung_up(&hangup, check_instance(ctx, &app, &release, &instance, io)).await
            };
            checked
                .map(|upstream| (instance.clone(), upstream))
                .map_err(|err| (Some(instance), err))
        }
        Err(err) => Err((None, err)),
    };
    let (instance, upstream) = match checked {
        Ok(pair) => pair,
        Err((instance, err)) => {
            if let Some(instance) = instance {
                discard(ctx, &instance).await;
            }
            if stop_first {
                restore_previous(ctx, &app, io).await;
            }
            return Err(err);
        }
    };

    stage(Stage::Switch);
    let checks_passed = std::time::Instant::now();
    let saved = ctx.store.update_app(&app, |record| {
        record.releases.push(release.clone());
        record.current_release = Some(number);
        // A rollback brings back that release's config too, as on Heroku.
        record.env = release.env.clone();
    });
    let record = match saved {
        Ok((record, ())) => record,
        Err(err) => {
            discard(ctx, &instance).await;
            if stop_first {
                restore_previous(ctx, &app, io).await;
            }
            return Err(err.into());
        }
    };
    ctx.routes
        .set_app(&app, &ctx.app_hosts(&app), vec![upstream]);
    let checks_to_switch_us =
        u64::try_from(checks_passed.elapsed().as_micros()).unwrap_or(u64::MAX);
    tracing::info!(%upstream, checks_to_switch_us, "proxy switched");

    stage(Stage::Retire);
    if !old.is_empty() {
        let delay = ctx.wait_to_retire(&record);
        io.detail(&format!(
            "Old instances keep serving in-flight requests for {delay}s, then stop"
        ))
        .await;
        retire_later(ctx, old, Duration::from_secs(delay));
    }
    prune_images(ctx, &record).await;
    // An automatic rollback is not watched itself: that could loop.
    if let (Some(previous), false) = (previous, caller == Caller::Watch) {
        if ctx.config.deploy.watch_secs > 0 {
            watch(ctx, &app, number, previous);
            io.detail(&format!(
                "Watching v{number} for {}s: it rolls back to v{previous} by itself if requests fail",
                ctx.config.deploy.watch_secs
            ))
            .await;
        }
    }
    io.header("Application deployed:").await;
    for host in ctx.app_hosts(&app) {
        io.detail(&format!("http://{host}")).await;
    }
    Ok(())
}

/// What to run for `release`: its image, global config overlaid by the app's, and Berth's vars.
pub fn instance_spec(
    app: &AppName,
    release: &Release,
    global_env: &BTreeMap<String, String>,
) -> InstanceSpec {
    let mut env = global_env.clone();
    env.extend(release.env.clone());
    env.insert("PORT".into(), release.port.to_string());
    env.insert("DYNO".into(), "web.1".into());
    if let Some(rev) = &release.git_rev {
        env.insert("GIT_REV".into(), rev.clone());
    }
    InstanceSpec {
        app: app.clone(),
        process: "web".to_string(),
        release: release.number,
        image: release.image.clone(),
        env,
    }
}

/// Removes an instance that never took traffic.
async fn discard(ctx: &Ctx, instance: &Instance) {
    if let Err(err) = ctx.scheduler.retire(&instance.id, Duration::ZERO).await {
        tracing::warn!(id = %instance.id, error = %err, "could not remove a failed instance");
    }
}

/// After a failed stop-first deploy: start the release that was serving again and route to it.
async fn restore_previous(ctx: &Ctx, app: &AppName, io: &mut Io) {
    let hosts = ctx.app_hosts(app);
    let Some(current) = ctx.store.app(app).ok().and_then(|r| r.current().cloned()) else {
        ctx.routes.set_app(app, &hosts, Vec::new());
        return;
    };
    io.step(&format!("Starting v{} again", current.number))
        .await;
    let started = ctx
        .scheduler
        .start(&instance_spec(app, &current, &ctx.store.global().env))
        .await;
    let upstreams = match started {
        Ok(instance) => instance
            .address
            .map(|ip| vec![SocketAddr::new(ip, current.port)])
            .unwrap_or_default(),
        Err(err) => {
            tracing::error!(app = %app, error = %err, "could not restart the previous release");
            Vec::new()
        }
    };
    ctx.routes.set_app(app, &hosts, upstreams);
}
