//! `cron:list <app> [--format stdout|json]` and `cron:run <app> <id>`: the app.json `cron` tasks
//! of the current release, and running one now (output and exit status come back).

use super::argv::Argv;
use super::{CommandError, Io, Lines};
use crate::context::Ctx;
use crate::cron::run_task;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    /// `cron:run`'s task id; `None` lists.
    pub run: Option<String>,
    pub json: bool,
}

impl Args {
    pub fn parse(run: bool, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(if run { "cron:run" } else { "cron:list" }, words);
        let json = !run && argv.json_format("stdout")?;
        let app = AppName::parse(&argv.required("app name")?)?;
        let run = if run {
            Some(argv.required("task id")?)
        } else {
            None
        };
        argv.finish()?;
        Ok(Args { app, run, json })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let tasks = record.current().map(|r| r.cron.clone()).unwrap_or_default();
    if let Some(id) = &args.run {
        let Some(task) = tasks.iter().find(|t| t.id() == *id) else {
            return Err(CommandError::User(format!(
                "{} has no cron task {id}",
                args.app
            )));
        };
        let status = run_task(ctx, &args.app, task, &mut Lines(io))
            .await
            .map_err(|err| CommandError::Internal(err.to_string()))?;
        return CommandError::from_status(status);
    }
    if args.json {
        let rows: Vec<_> = tasks
            .iter()
            .map(
                |t| serde_json::json!({"id": t.id(), "schedule": t.schedule, "command": t.command}),
            )
            .collect();
        io.line(&serde_json::Value::from(rows).to_string()).await;
        return Ok(());
    }
    let width = tasks
        .iter()
        .map(|t| t.schedule.len())
        .max()
        .unwrap_or(0)
        .max(8);
    io.line(&format!("{:<8}  {:<width$}  Command", "ID", "Schedule"))
        .await;
    for task in &tasks {
        io.line(&format!(
            "{}  {:<width$}  {}",
            task.id(),
            task.schedule,
            task.command
        ))
        .await;
    }
    Ok(())
}
