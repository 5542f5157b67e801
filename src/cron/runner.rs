//! Once a minute, run every due cron task of every running app in a one-off container. A task
//! whose previous run has not ended is not started again (a hung task would otherwise pile up a
//! container a minute).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::context::Ctx;
use crate::crontab::Schedule;
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
    let Some(release) = record.current_with_config() else {
        return Err(SchedulerError::Engine(format!(
            "{app} has not been deployed"
        )));
    };
    let settings =
        RunSettings::new(ctx, &record).map_err(|err| SchedulerError::Engine(err.to_string()))?;
    let mut spec = one_off_spec(app, &release, "cron", 1, &settings);
    spec.command = Some(vec!["/bin/sh".into(), "-c".into(), task.command.clone()]);
    Ok(spec)
}

/// The cron tasks running now, by owner (an app, or `plugin NAME`) and task id.
pub(super) type Running = Arc<Mutex<HashSet<(String, String)>>>;

/// A task's place in `Running` while it runs; dropping it (however the run ends) frees it.
pub(super) struct RunningTask {
    running: Running,
    key: (String, String),
}

impl RunningTask {
    /// Marks the task running; `None` if it already is.
    pub(super) fn start(running: &Running, owner: &str, id: &str) -> Option<RunningTask> {
        let key = (owner.to_string(), id.to_string());
        let mut set = running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        set.insert(key.clone()).then(|| RunningTask {
            running: running.clone(),
            key,
        })
    }
}

impl Drop for RunningTask {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&self.key);
    }
}

/// The minute loop; ends with the daemon.
pub async fn run_loop(ctx: Arc<Ctx>) {
    let running = Running::default();
    loop {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let next_minute = 60 - now.as_secs() % 60;
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(next_minute)) => {}
        }
        let minute = crate::clock::utc(now.as_secs() + next_minute);
        super::plugin_tasks::run_due(&ctx, &minute, &running);
        crate::backup::run_if_due(&ctx, &minute);
        let global = ctx.store.global();
        for record in ctx.store.apps() {
            if record.stopped {
                continue;
            }
            let maintenance = record.cron_maintenance.unwrap_or(global.cron_maintenance);
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
                if maintenance {
                    tracing::info!(app = %record.name, task = %task.id(), "cron: maintenance; not started");
                    continue;
                }
                let Some(place) = RunningTask::start(&running, record.name.as_str(), &task.id())
                else {
                    tracing::info!(app = %record.name, task = %task.id(), "cron: still running from an earlier minute; not started again");
                    continue;
                };
                let (ctx, app, task) = (ctx.clone(), record.name.clone(), task.clone());
                ctx.tracker.clone().spawn(async move {
                    let _place = place;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_task_is_not_started_twice_until_its_run_ends() {
        let running = Running::default();
        let app = "shop";
        let first = RunningTask::start(&running, app, "a1").expect("not running yet");
        assert!(RunningTask::start(&running, app, "a1").is_none());
        assert!(
            RunningTask::start(&running, app, "b2").is_some(),
            "another task"
        );
        drop(first);
        assert!(RunningTask::start(&running, app, "a1").is_some());
    }
}
