//! `cron:list <app> [--format stdout|json]`, `cron:run [--detach] <app> <id>` and
//! `cron:suspend|resume <app> <id>`: the app.json `cron` tasks of the current release, running
//! one now (output and exit status come back, or in the background with `--detach`), and
//! keeping the minute loop from starting one until resumed.

use super::argv::Argv;
use super::output::table;
use super::run::start_detached;
use super::{CommandError, Io, Lines};
use crate::context::Ctx;
use crate::cron::{run_task, task_spec};
use crate::deploy::DEFAULT_TTL;
use crate::names::{shown, AppName};
use crate::state::CronTask;

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    List {
        json: bool,
    },
    Run {
        id: String,
        detach: bool,
    },
    /// `cron:suspend` (true) or `cron:resume` (false).
    Suspend {
        id: String,
        suspended: bool,
    },
}

#[derive(Debug)]
pub struct Args {
    pub name: &'static str,
    pub app: AppName,
    pub action: Action,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let json = name == "cron:list" && argv.json_format("stdout")?;
        let detach = name == "cron:run" && argv.flag("--detach");
        let app = AppName::parse(&argv.required("app name")?)?;
        let action = match name {
            "cron:list" => Action::List { json },
            "cron:run" => Action::Run {
                id: argv.required("task id")?,
                detach,
            },
            _ => Action::Suspend {
                id: argv.required("task id")?,
                suspended: name == "cron:suspend",
            },
        };
        argv.finish()?;
        Ok(Args { name, app, action })
    }
}

fn find<'a>(tasks: &'a [CronTask], app: &AppName, id: &str) -> Result<&'a CronTask, CommandError> {
    tasks
        .iter()
        .find(|t| t.id() == id)
        .ok_or_else(|| CommandError::User(format!("{app} has no cron task {}", shown(id))))
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let tasks = record.current().map(|r| r.cron.clone()).unwrap_or_default();
    let json = match &args.action {
        Action::List { json } => *json,
        Action::Run { id, detach: false } => {
            let task = find(&tasks, &args.app, id)?;
            let status = run_task(ctx, &args.app, task, &mut Lines(io))
                .await
                .map_err(|err| CommandError::Internal(err.to_string()))?;
            return CommandError::from_status(status);
        }
        Action::Run { id, detach: true } => {
            let task = find(&tasks, &args.app, id)?;
            let spec = task_spec(ctx, &args.app, task)
                .map_err(|err| CommandError::User(err.to_string()))?;
            return start_detached(ctx, io, spec, DEFAULT_TTL).await;
        }
        Action::Suspend { id, suspended } => {
            find(&tasks, &args.app, id)?;
            ctx.store.update_app(&args.app, |record| {
                record.cron_suspended.retain(|s| s != id);
                if *suspended {
                    record.cron_suspended.push(id.clone());
                }
            })?;
            let verb = if *suspended { "Suspended" } else { "Resumed" };
            io.step(&format!("{verb} cron task {id} of {}", args.app))
                .await;
            return Ok(());
        }
    };
    let suspended = |task: &CronTask| record.cron_suspended.contains(&task.id());
    if json {
        let rows: Vec<_> = tasks
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id(),
                    "schedule": t.schedule,
                    "suspended": suspended(t),
                    "command": t.command,
                })
            })
            .collect();
        io.line(&serde_json::Value::from(rows).to_string()).await;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|task| {
            vec![
                task.id(),
                task.schedule.clone(),
                suspended(task).to_string(),
                task.command.clone(),
            ]
        })
        .collect();
    table(io, &["ID", "Schedule", "Suspended", "Command"], &rows).await;
    Ok(())
}
