//! The check stage: are new instances fit to take traffic?
//!
//! A web instance must answer HTTP on its port (any status) before the start deadline. Then each
//! instance runs its process's declared startup/readiness checks; instances of processes with
//! none must still run `check_wait_secs` later (Dokku waits 10 s without probing; Berth probes,
//! then waits 2 s — once for all instances, not once each).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::{stage, DeployError, Stage};
use crate::commands::Io;
use crate::context::Ctx;
use crate::health::{run_check, wait_until_answers, Target};
use crate::names::AppName;
use crate::proxy::Upstream;
use crate::scheduler::Instance;
use crate::state::{CheckKind, HealthCheck, Release};

fn failed(instance: &Instance, reason: String) -> DeployError {
    DeployError::Check {
        process: instance.dyno(),
        reason,
    }
}

/// Checks every instance; returns the web instances' upstreams.
pub async fn check_instances(
    ctx: &Ctx,
    app: &AppName,
    release: &Release,
    instances: &[Instance],
    io: &mut Io,
) -> Result<Vec<Upstream>, DeployError> {
    stage(Stage::Check);
    let mut upstreams = Vec::new();
    for instance in instances {
        match check_one(ctx, app, release, instance, io).await {
            Ok(Some(upstream)) => upstreams.push(upstream),
            Ok(None) => {}
            Err(err) => {
                show_logs(ctx, app, instance, io).await;
                return Err(err);
            }
        }
    }
    let undeclared: Vec<&Instance> = instances
        .iter()
        .filter(|i| {
            deploy_time_checks(&release.checks, &i.process)
                .next()
                .is_none()
        })
        .collect();
    let wait = ctx.config.deploy.check_wait_secs;
    if !undeclared.is_empty() && wait > 0 {
        let names: Vec<String> = undeclared.iter().map(|i| i.dyno()).collect();
        io.detail(&format!(
            "Making sure {} stay up for {wait}s",
            names.join(", ")
        ))
        .await;
        tokio::time::sleep(Duration::from_secs(wait)).await;
        for instance in undeclared {
            if !ctx.scheduler.is_up_since_start(&instance.id).await? {
                show_logs(ctx, app, instance, io).await;
                return Err(failed(
                    instance,
                    format!("the container exited within {wait}s"),
                ));
            }
        }
    }
    Ok(upstreams)
}

async fn show_logs(ctx: &Ctx, app: &AppName, instance: &Instance, io: &mut Io) {
    let logs = ctx
        .scheduler
        .log_tail(&instance.id, 20)
        .await
        .unwrap_or_default();
    io.header(&format!(
        "Start of {app} container output ({})",
        instance.dyno()
    ))
    .await;
    for line in logs.lines() {
        io.detail(line).await;
    }
    io.header(&format!("End of {app} container output")).await;
}

/// The port probe (web only) and the process's declared checks.
async fn check_one(
    ctx: &Ctx,
    app: &AppName,
    release: &Release,
    instance: &Instance,
    io: &mut Io,
) -> Result<Option<Upstream>, DeployError> {
    let host = ctx
        .app_hosts(app)
        .into_iter()
        .find(|h| !h.starts_with("*."))
        .unwrap_or_else(|| app.to_string());
    let dyno = instance.dyno();
    let address = instance.address.map(|ip| SocketAddr::new(ip, release.port));
    let upstream = if instance.process == "web" {
        let Some(upstream) = address else {
            return Err(failed(
                instance,
                "the container has no address on Berth's network".into(),
            ));
        };
        io.detail(&format!(
            "Waiting for {dyno} to answer on port {}",
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
        .map_err(|reason| failed(instance, reason))?;
        io.detail(&format!("{dyno} answered HTTP {status}")).await;
        super::upstream(instance, release.port)
    } else {
        None
    };
    let target = Target {
        container: &instance.id,
        address: address.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], release.port))),
        host: &host,
    };
    for check in deploy_time_checks(&release.checks, &instance.process) {
        io.detail(&format!("Running check \"{}\" on {dyno}", check.name))
            .await;
        run_check(check, &target, ctx.scheduler.as_ref())
            .await
            .map_err(|reason| failed(instance, reason))?;
        io.detail(&format!("Check \"{}\" passed", check.name)).await;
    }
    Ok(upstream)
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
    let instances = running_instances(ctx, app, release.number).await?;
    if instances.is_empty() {
        return Err(DeployError::Refused(format!(
            "{app} has no running instance"
        )));
    }
    check_instances(ctx, app, release, &instances, io).await?;
    io.step(&format!(
        "All checks passed for {app} (v{})",
        release.number
    ))
    .await;
    Ok(())
}

/// The app's running instances of release `number`.
pub async fn running_instances(
    ctx: &Ctx,
    app: &AppName,
    number: u32,
) -> Result<Vec<Instance>, DeployError> {
    Ok(ctx
        .scheduler
        .instances(Some(app))
        .await?
        .into_iter()
        .filter(|i| i.release == number && i.running)
        .collect())
}
