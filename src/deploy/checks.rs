//! The check stage: is a new instance fit to take traffic?
//!
//! Always: the port answers HTTP (any status) before the start deadline. Then either the app's
//! declared startup/readiness checks, or, with none declared, the instance must still run
//! `check_wait_secs` later (Dokku waits 10 s without probing; Berth probes, then waits 2 s).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::{stage, DeployError, Stage};
use crate::commands::Io;
use crate::context::Ctx;
use crate::health::{run_check, wait_until_answers, Target};
use crate::names::AppName;
use crate::scheduler::Instance;
use crate::state::{CheckKind, HealthCheck, Release};

fn failed(reason: String) -> DeployError {
    DeployError::Check {
        process: "web.1".to_string(),
        reason,
    }
}

/// Runs the checks; on failure prints the instance's last log lines between Dokku's markers.
pub async fn check_instance(
    ctx: &Ctx,
    app: &AppName,
    release: &Release,
    instance: &Instance,
    io: &mut Io,
) -> Result<SocketAddr, DeployError> {
    stage(Stage::Check);
    let Some(ip) = instance.address else {
        return Err(failed(
            "the container has no address on Berth's network".into(),
        ));
    };
    let upstream = SocketAddr::new(ip, release.port);
    let result = run_checks(ctx, app, release, instance, upstream, io).await;
    if result.is_err() {
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
    }
    result.map(|()| upstream)
}

async fn run_checks(
    ctx: &Ctx,
    app: &AppName,
    release: &Release,
    instance: &Instance,
    upstream: SocketAddr,
    io: &mut Io,
) -> Result<(), DeployError> {
    let host = ctx.app_hosts(app).remove(0);
    io.detail(&format!(
        "Waiting for web.1 to answer on port {}",
        release.port
    ))
    .await;
    let deadline = Instant::now() + Duration::from_secs(ctx.config.deploy.start_timeout_secs);
    let scheduler = ctx.scheduler.clone();
    let id = instance.id.clone();
    let status = wait_until_answers(upstream, &host, deadline, || {
        let scheduler = scheduler.clone();
        let id = id.clone();
        async move { scheduler.is_up_since_start(&id).await.unwrap_or(false) }
    })
    .await
    .map_err(failed)?;
    io.detail(&format!("web.1 answered HTTP {status}")).await;

    let declared: Vec<&HealthCheck> = deploy_time_checks(&release.checks, "web").collect();
    if declared.is_empty() {
        let wait = ctx.config.deploy.check_wait_secs;
        if wait > 0 {
            io.detail(&format!("Making sure web.1 stays up for {wait}s"))
                .await;
            tokio::time::sleep(Duration::from_secs(wait)).await;
            if !ctx.scheduler.is_up_since_start(&instance.id).await? {
                return Err(failed(format!("the container exited within {wait}s")));
            }
        }
        return Ok(());
    }
    let target = Target {
        container: &instance.id,
        address: upstream,
        host: &host,
    };
    for check in declared {
        io.detail(&format!("Running check \"{}\"", check.name))
            .await;
        run_check(check, &target, ctx.scheduler.as_ref())
            .await
            .map_err(failed)?;
        io.detail(&format!("Check \"{}\" passed", check.name)).await;
    }
    Ok(())
}

/// Startup and readiness checks gate a deploy; liveness checks are for continuous health.
fn deploy_time_checks<'a>(
    checks: &'a [HealthCheck],
    process: &'a str,
) -> impl Iterator<Item = &'a HealthCheck> {
    checks
        .iter()
        .filter(move |c| c.process == process && c.kind != CheckKind::Liveness)
}

/// `checks:run`: the current release's checks against its running instances, now.
pub async fn run_app_checks(ctx: &Ctx, app: &AppName, io: &mut Io) -> Result<(), DeployError> {
    let record = ctx.store.app(app)?;
    let Some(release) = record.current() else {
        return Err(DeployError::Refused(format!("{app} has not been deployed")));
    };
    let instances: Vec<Instance> = ctx
        .scheduler
        .instances(Some(app))
        .await?
        .into_iter()
        .filter(|i| i.release == release.number && i.running)
        .collect();
    if instances.is_empty() {
        return Err(DeployError::Refused(format!(
            "{app} has no running instance"
        )));
    }
    for instance in &instances {
        let Some(ip) = instance.address else { continue };
        let upstream = SocketAddr::new(ip, release.port);
        run_checks(ctx, app, release, instance, upstream, io).await?;
    }
    io.step(&format!(
        "All checks passed for {app} (v{})",
        release.number
    ))
    .await;
    Ok(())
}
