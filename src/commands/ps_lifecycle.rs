//! `ps:restart`, `ps:stop` and `ps:start (--all|<app>) [--no-wait]`: the app's (or every
//! deployed app's) instances as a whole.
//!
//! - restart: fresh containers of the current release through the checked cutover (no new
//!   release, zero downtime); `ps:restart <app> <process>` replaces that process type's only;
//! - stop: every container stops and the app answers 502 until started; survives restarts of
//!   Berth;
//! - start: a stopped app (or one with an instance not running) comes back, through the same
//!   cutover.

use super::argv::Argv;
use super::deploying::{run_deploy, wait_flag};
use super::every_app::{apps, Outcome, Target};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{stop, DeployRequest, Source};
use crate::names::AppName;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Restart,
    Stop,
    Start,
}

impl Action {
    pub fn command(self) -> &'static str {
        match self {
            Action::Restart => "ps:restart",
            Action::Stop => "ps:stop",
            Action::Start => "ps:start",
        }
    }
}

#[derive(Debug)]
pub struct Args {
    pub action: Action,
    pub target: Target,
    /// `ps:restart <app> <process>`: only this process type.
    pub process: Option<String>,
    pub no_wait: bool,
}

impl Args {
    pub fn parse(command: &str, words: &[String]) -> Result<Args, CommandError> {
        let action = [Action::Restart, Action::Stop, Action::Start]
            .into_iter()
            .find(|a| a.command() == command)
            .ok_or_else(|| CommandError::Unknown(command.to_string()))?;
        let mut argv = Argv::new(action.command(), words);
        let no_wait = argv.flag("--no-wait");
        let target = Target::parse(&mut argv)?;
        let process = match action {
            Action::Restart => argv.optional()?,
            Action::Stop | Action::Start => None,
        };
        argv.finish()?;
        Ok(Args {
            action,
            target,
            process,
            no_wait,
        })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let mut outcome = Outcome::default();
    for app in apps(ctx, &args.target) {
        let result = run_one(ctx, caller, io, &args, app.clone()).await;
        outcome.record(&args.target, app, result, io).await?;
    }
    outcome.finish()
}

/// Whether all the app's instances run (`ps:report`'s `Running: true`). An app that is not
/// stopped may have none left (after a reboot with `ps:set restore false`), or some that exited
/// for good (killed, or crashed more often than its restart policy allows): `ps:start` deploys
/// it again then, as Dokku's does for an app it finds in a mixed state.
async fn all_running(ctx: &Ctx, app: &AppName) -> Result<bool, CommandError> {
    let instances = ctx
        .scheduler
        .instances(Some(app))
        .await
        .map_err(|err| CommandError::Internal(err.to_string()))?;
    Ok(super::ps_report::running(ctx, &instances).1 == super::ps_report::Running::All)
}

async fn run_one(
    ctx: &Ctx,
    caller: &Caller,
    io: &mut Io,
    args: &Args,
    app: AppName,
) -> Result<(), CommandError> {
    let record = ctx.store.app(&app)?;
    if record.current_release.is_none() {
        return Err(CommandError::User(format!("{app} has not been deployed")));
    }
    match args.action {
        Action::Stop => {
            io.step(&format!("Stopping {app}")).await;
            stop(ctx, &app, io, wait_flag(args.no_wait)).await?;
            ctx.trigger("post-stop", &[app.to_string()], Some(&app), caller, io)
                .await?;
            Ok(())
        }
        Action::Start if !record.stopped && all_running(ctx, &app).await? => {
            io.step(&format!("{app} is already running")).await;
            Ok(())
        }
        Action::Restart if record.stopped && args.process.is_some() => Err(CommandError::User(
            format!("{app} is stopped; start all of it with ps:start {app}"),
        )),
        Action::Start | Action::Restart => {
            if args.action == Action::Restart {
                let trigger_args = [app.to_string()];
                ctx.trigger("pre-restart", &trigger_args, Some(&app), caller, io)
                    .await?;
            }
            let request = DeployRequest {
                app,
                caller: caller.clone(),
                source: Source::Restart(args.process.clone()),
                wait: wait_flag(args.no_wait),
            };
            run_deploy(ctx, request, io).await.map(|_| ())
        }
    }
}
