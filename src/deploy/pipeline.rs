//! One deploy of a pushed commit, and the removal of a whole app.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tracing::Instrument;

use super::{stage, DeployError, Stage};
use crate::commands::Io;
use crate::context::{Caller, Ctx};
use crate::git::Checkout;
use crate::health::wait_until_answers;
use crate::names::AppName;
use crate::scheduler::{BuildOutput, Instance, InstanceSpec};
use crate::state::{now_unix, Release};

/// The port a web process listens on when its image EXPOSEs none (or several): Dokku's default.
const DEFAULT_PORT: u16 = 5000;

struct IoOutput<'a>(&'a mut Io);

#[async_trait]
impl BuildOutput for IoOutput<'_> {
    async fn line(&mut self, text: &str) {
        self.0.detail(text).await;
    }
}

/// Builds `checkout` and, once the new container answers, routes the app to it.
/// Returns the new release number.
pub async fn deploy_checkout(
    ctx: &Ctx,
    app: &AppName,
    caller: &Caller,
    checkout: Checkout,
    io: &mut Io,
) -> Result<u32, DeployError> {
    let _lock = ctx.deploy_locks.acquire(app, io).await;
    let number = ctx.store.app(app)?.next_release_number();
    let span = tracing::info_span!("deploy", app = %app, release = number, by = %caller);
    run(ctx, app, caller, checkout, number, io)
        .instrument(span)
        .await?;
    Ok(number)
}

async fn run(
    ctx: &Ctx,
    app: &AppName,
    caller: &Caller,
    checkout: Checkout,
    number: u32,
    io: &mut Io,
) -> Result<(), DeployError> {
    stage(Stage::Build);
    io.step(&format!("Building {app} from Dockerfile")).await;
    let tag = format!("berth/{app}:{number}");
    let image = ctx
        .builder
        .build(app, checkout.context, &tag, &mut IoOutput(io))
        .await?;
    let port = match image.exposed_ports.as_slice() {
        [single] => *single,
        _ => DEFAULT_PORT,
    };

    stage(Stage::Release);
    io.step(&format!("Releasing {app} (v{number})...")).await;
    let release = Release {
        number,
        image: tag.clone(),
        git_rev: Some(checkout.rev.clone()),
        created_at: now_unix(),
        created_by: caller.to_string(),
        port,
    };

    stage(Stage::Start);
    io.step(&format!("Deploying {app} (v{number})...")).await;
    let spec = InstanceSpec {
        app: app.clone(),
        process: "web".to_string(),
        release: number,
        image: tag,
        env: BTreeMap::from([
            ("PORT".to_string(), port.to_string()),
            ("GIT_REV".to_string(), checkout.rev),
            ("DYNO".to_string(), "web.1".to_string()),
        ]),
    };
    let instance = ctx.scheduler.start(&spec).await?;
    let upstream = match check(ctx, app, &instance, port, io).await {
        Ok(upstream) => upstream,
        Err(err) => {
            discard(ctx, &instance).await;
            return Err(err);
        }
    };

    stage(Stage::Switch);
    if let Err(err) = ctx.store.update_app(app, |record| {
        record.releases.push(release);
        record.current_release = Some(number);
    }) {
        discard(ctx, &instance).await;
        return Err(err.into());
    }
    ctx.routes.set_app(app, &ctx.app_hosts(app), vec![upstream]);
    tracing::info!(%upstream, "proxy switched");

    stage(Stage::Retire);
    retire_others(ctx, app, number, io).await;
    io.header("Application deployed:").await;
    for host in ctx.app_hosts(app) {
        io.detail(&format!("http://{host}")).await;
    }
    Ok(())
}

/// Waits until the new instance answers HTTP on its port; on failure shows its log tail.
async fn check(
    ctx: &Ctx,
    app: &AppName,
    instance: &Instance,
    port: u16,
    io: &mut Io,
) -> Result<SocketAddr, DeployError> {
    stage(Stage::Check);
    let fail = |reason: String| DeployError::Check {
        process: "web.1".to_string(),
        reason,
    };
    let Some(ip) = instance.address else {
        return Err(fail(
            "the container has no address on Berth's network".into(),
        ));
    };
    let upstream = SocketAddr::new(ip, port);
    io.detail(&format!("Waiting for web.1 to answer on port {port}"))
        .await;
    let deadline = Instant::now() + Duration::from_secs(ctx.config.deploy.start_timeout_secs);
    let host = ctx.app_hosts(app).remove(0);
    let scheduler = ctx.scheduler.clone();
    let id = instance.id.clone();
    let answered = wait_until_answers(upstream, &host, deadline, || {
        let scheduler = scheduler.clone();
        let id = id.clone();
        async move { scheduler.is_running(&id).await.unwrap_or(false) }
    })
    .await;
    match answered {
        Ok(status) => {
            io.detail(&format!("web.1 answered HTTP {status}")).await;
            Ok(upstream)
        }
        Err(reason) => {
            let logs = ctx
                .scheduler
                .log_tail(&instance.id, 20)
                .await
                .unwrap_or_default();
            io.header(&format!("Start of {app} container output")).await;
            for line in logs.lines() {
                io.detail(line).await;
            }
            io.header(&format!("End of {app} container output")).await;
            Err(fail(reason))
        }
    }
}

/// Removes an instance that never took traffic.
async fn discard(ctx: &Ctx, instance: &Instance) {
    if let Err(err) = ctx.scheduler.retire(&instance.id, Duration::ZERO).await {
        tracing::warn!(id = %instance.id, error = %err, "could not remove a failed instance");
    }
}

/// Stops and removes every instance of the app that is not part of release `keep`.
async fn retire_others(ctx: &Ctx, app: &AppName, keep: u32, io: &mut Io) {
    let grace = Duration::from_secs(ctx.config.deploy.stop_timeout_secs);
    let instances = match ctx.scheduler.instances(Some(app)).await {
        Ok(instances) => instances,
        Err(err) => {
            tracing::warn!(error = %err, "could not list old instances");
            return;
        }
    };
    for old in instances.into_iter().filter(|i| i.release != keep) {
        io.detail(&format!(
            "Retiring {}.{} of v{}",
            old.app, old.process, old.release
        ))
        .await;
        if let Err(err) = ctx.scheduler.retire(&old.id, grace).await {
            tracing::warn!(id = %old.id, error = %err, "could not retire an old instance");
        }
    }
}

/// Removes the app's containers, images, routes, repository and state.
pub async fn destroy_app(ctx: &Ctx, app: &AppName, io: &mut Io) -> Result<(), DeployError> {
    let _lock = ctx.deploy_locks.acquire(app, io).await;
    ctx.routes.remove_app(app);
    for instance in ctx.scheduler.instances(Some(app)).await? {
        ctx.scheduler.retire(&instance.id, Duration::ZERO).await?;
    }
    ctx.builder.remove_images(app).await?;
    ctx.store.destroy_app(app)?;
    Ok(())
}
