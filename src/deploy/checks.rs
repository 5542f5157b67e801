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
use crate::context::Ctx;
use crate::health::{run_check, wait_until_answers, Target};
use crate::health::{CheckKind, HealthCheck};
use crate::io::Io;
use crate::names::AppName;
use crate::proxy::Upstream;
use crate::scheduler::{Instance, Probe};
use crate::state::Release;

fn failed(instance: &Instance, reason: String) -> DeployError {
    DeployError::Check {
        process: instance.dyno(),
        reason,
    }
}

/// Lines of a failing instance's output shown at once, and kept for `logs:failed`.
const SHOWN_LINES: usize = 20;
const KEPT_LINES: usize = 200;

/// Why instances are checked: a deploy (or scale-up) keeps a failure's output for
/// `logs:failed`; `checks:run` only shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    Deploy,
    ChecksRun,
}

/// Checks every instance; returns the web instances' upstreams.
pub async fn check_instances(
    ctx: &Ctx,
    app: &AppName,
    release: &Release,
    instances: &[Instance],
    occasion: Occasion,
    io: &mut Io,
) -> Result<Vec<Upstream>, DeployError> {
    stage(Stage::Check);
    let failure = |instance, err| Failure {
        release,
        instance,
        err,
        occasion,
    };
    let mut upstreams = Vec::new();
    for instance in instances {
        match check_one(ctx, app, release, instance, io).await {
            Ok(Some(upstream)) => upstreams.push(upstream),
            Ok(None) => {}
            Err(err) => {
                let err = exited_instead(ctx, instance, err).await;
                return Err(show_output(ctx, app, failure(instance, err), io).await);
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
        let verb = if names.len() == 1 { "stays" } else { "stay" };
        io.detail(&format!(
            "Making sure {} {verb} up for {wait}s",
            names.join(", ")
        ))
        .await;
        tokio::time::sleep(Duration::from_secs(wait)).await;
        for instance in undeclared {
            if !ctx.scheduler.is_up_since_start(&instance.id).await? {
                let err = failed(instance, format!("the container exited within {wait}s"));
                let err = exited_instead(ctx, instance, err).await;
                return Err(show_output(ctx, app, failure(instance, err), io).await);
            }
        }
    }
    Ok(upstreams)
}

/// A check that failed because the process had exited (no address yet, the connection
/// refused) is told as what happened: the exit and its status; its output follows.
async fn exited_instead(ctx: &Ctx, instance: &Instance, err: DeployError) -> DeployError {
    let DeployError::Check { .. } = err else {
        return err;
    };
    match ctx.scheduler.status(&instance.id).await {
        Ok(status) if status.has_exited() => {
            let code = status
                .exit_code
                .map_or_else(String::new, |code| format!(" with status {code}"));
            let restarts = match status.restarts {
                0 => String::new(),
                1 => " (restarted once)".to_string(),
                n => format!(" (restarted {n} times)"),
            };
            failed(
                instance,
                format!("its process exited{code}{restarts}; its last output is above"),
            )
        }
        _ => err,
    }
}

/// An instance that failed its checks, and why.
struct Failure<'a> {
    release: &'a Release,
    instance: &'a Instance,
    err: DeployError,
    occasion: Occasion,
}

/// Shows the end of the failed instance's output (a deploy's failure also keeps more of it);
/// returns the failure's error.
async fn show_output(ctx: &Ctx, app: &AppName, failure: Failure<'_>, io: &mut Io) -> DeployError {
    let instance = failure.instance;
    let logs = ctx
        .scheduler
        .log_tail(&instance.id, KEPT_LINES)
        .await
        .unwrap_or_default();
    let lines: Vec<&str> = logs.lines().collect();
    io.header(&format!(
        "Start of {app} container output ({})",
        instance.dyno()
    ))
    .await;
    for line in &lines[lines.len().saturating_sub(SHOWN_LINES)..] {
        io.detail(line).await;
    }
    io.header(&format!("End of {app} container output")).await;
    if failure.occasion == Occasion::Deploy {
        let text = failed_output(&failure, &lines, crate::clock::now_unix());
        if let Err(err) = ctx.store.save_failed_output(app, &text) {
            tracing::warn!(app = %app, error = %err, "cannot keep the failed deploy's output");
        }
    }
    failure.err
}

/// What `logs:failed` prints: when and why the deploy failed, then the instance's output.
fn failed_output(failure: &Failure<'_>, lines: &[&str], now: u64) -> String {
    let instance = failure.instance;
    let mut text = format!(
        "Deploy of v{} failed at {}: {}\nOutput of {} (container {}), last {} lines:\n",
        failure.release.number,
        crate::clock::display(now),
        failure.err,
        instance.dyno(),
        instance.id.chars().take(12).collect::<String>(),
        lines.len(),
    );
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
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
    let address = instance.reach(release.port);
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
    check_instances(ctx, app, release, &instances, Occasion::ChecksRun, io).await?;
    io.step(&format!(
        "All checks passed for {app} (v{})",
        release.number
    ))
    .await;
    Ok(())
}

/// The app's running instances of release `number`, less those retiring.
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
        .filter(|i| i.release == number && i.running && !ctx.retiring.contains(&i.id))
        .collect())
}

/// The engine's own health check for `process`, from its declared command checks (a liveness
/// one first): HTTP checks need a client inside the image, which Berth cannot count on, so
/// they stay Berth's alone.
pub(super) fn probe(checks: &[HealthCheck], process: &str) -> Option<Probe> {
    let declared = |kind: CheckKind| {
        checks
            .iter()
            .find(|c| c.process == process && c.kind == kind && c.command.is_some())
    };
    let check = declared(CheckKind::Liveness).or_else(|| declared(CheckKind::Startup))?;
    Some(Probe {
        command: check.command.clone()?,
        interval_secs: check.wait_secs.max(1),
        timeout_secs: check.timeout_secs.max(1),
        retries: check.attempts.max(1),
        start_period_secs: check.initial_delay_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(json: &str) -> Vec<HealthCheck> {
        crate::health::app_json_checks(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn the_engines_probe_is_a_declared_command_check_liveness_first() {
        let checks = declared(
            r#"{"web": [
                {"type": "startup", "path": "/health"},
                {"type": "startup", "command": ["/bin/ready"], "attempts": 4},
                {"type": "liveness", "command": ["/bin/alive", "--quick"], "wait": 7, "timeout": 3}
            ], "worker": [{"type": "startup", "path": "/"}]}"#,
        );
        let liveness = probe(&checks, "web").unwrap();
        assert_eq!(liveness.command, ["/bin/alive", "--quick"]);
        assert_eq!((liveness.interval_secs, liveness.timeout_secs), (7, 3));
        let startup = declared(r#"{"web": [{"command": ["/bin/ready"], "attempts": 4}]}"#);
        assert_eq!(probe(&startup, "web").unwrap().retries, 4);
        assert_eq!(
            probe(&checks, "worker"),
            None,
            "an HTTP check is Berth's alone"
        );
        assert_eq!(probe(&checks, "clock"), None);
    }
}
