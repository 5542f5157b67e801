//! Once a minute, run every due cron task of every running app in a one-off container.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::Schedule;
use crate::clock::Civil;
use crate::context::Ctx;
use crate::deploy::{one_off_spec, RunSettings};
use crate::names::AppName;
use crate::scheduler::{BuildOutput, InstanceSpec, SchedulerError};
use crate::state::CronTask;

/// Sends a task's output to the daemon log.
struct LogOutput<'a> {
    app: &'a AppName,
    id: &'a str,
}

#[async_trait]
impl BuildOutput for LogOutput<'_> {
    async fn line(&mut self, text: &str) {
        tracing::info!(app = %self.app, task = self.id, "cron: {text}");
    }
}

/// Runs `task` of `app`'s current release now; returns its exit status.
pub async fn run_task(
    ctx: &Ctx,
    app: &AppName,
    task: &CronTask,
    output: &mut dyn BuildOutput,
) -> Result<i64, SchedulerError> {
    let spec = task_spec(ctx, app, task)?;
    ctx.scheduler
        .run_once(&spec, output, &ctx.shutdown.child_token())
        .await
}

/// The one-off container that runs `task` of `app`'s current release.
pub fn task_spec(
    ctx: &Ctx,
    app: &AppName,
    task: &CronTask,
) -> Result<InstanceSpec, SchedulerError> {
    let record = match ctx.store.app(app) {
        Ok(record) => record,
        Err(err) => return Err(SchedulerError::Engine(err.to_string())),
    };
    let Some(release) = record.current() else {
        return Err(SchedulerError::Engine(format!(
            "{app} has not been deployed"
        )));
    };
    let settings = RunSettings::new(ctx, &record);
    let mut spec = one_off_spec(app, release, "cron", 1, &settings);
    spec.command = Some(vec!["/bin/sh".into(), "-c".into(), task.command.clone()]);
    Ok(spec)
}

/// The minute loop; ends with the daemon.
pub async fn run_loop(ctx: Arc<Ctx>) {
    loop {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let next_minute = 60 - now.as_secs() % 60;
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(next_minute)) => {}
        }
        let minute = Civil::from_unix(now.as_secs() + next_minute);
        for record in ctx.store.apps() {
            if record.stopped {
                continue;
            }
            let Some(release) = record.current() else {
                continue;
            };
            for task in &release.cron {
                let due = Schedule::parse(&task.schedule).is_ok_and(|s| s.matches(&minute));
                if !due {
                    continue;
                }
                if record.cron_suspended.contains(&task.id()) {
                    tracing::info!(app = %record.name, task = %task.id(), "cron: suspended; not started");
                    continue;
                }
                let (ctx, app, task) = (ctx.clone(), record.name.clone(), task.clone());
                ctx.tracker.clone().spawn(async move {
                    let id = task.id();
                    tracing::info!(app = %app, task = %id, command = %task.command, "cron: starting");
                    let mut output = LogOutput { app: &app, id: &id };
                    match run_task(&ctx, &app, &task, &mut output).await {
                        Ok(status) => tracing::info!(app = %app, task = %id, status, "cron: finished"),
                        Err(err) => tracing::error!(app = %app, task = %id, error = %err, "cron: could not run"),
                    }
                });
            }
        }
    }
}
