//! `apps:destroy <app> [--force]`: removes containers, images, routes, repository and state.
//! Without `--force` the user must type the app's name, which needs a terminal.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub force: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("apps:destroy", words);
        let force = argv.flag("--force");
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        Ok(Args { app, force })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    if !args.force {
        confirm(io, &args.app).await?;
    }
    // Dokku's arguments: the app and its image tag (none before a deploy).
    let image = record
        .current()
        .map(|r| r.image.clone())
        .unwrap_or_default();
    let trigger_args = [args.app.to_string(), image];
    let app = Some(&args.app);
    ctx.trigger("pre-delete", &trigger_args, app, caller, io)
        .await?;
    io.step(&format!("Destroying {} (including all add-ons)", args.app))
        .await;
    crate::deploy::destroy_app(ctx, &args.app, io).await?;
    ctx.trigger("post-delete", &trigger_args, app, caller, io)
        .await?;
    Ok(())
}

async fn confirm(io: &mut Io, app: &AppName) -> Result<(), CommandError> {
    if !io.tty {
        return Err(CommandError::User(format!(
            "apps:destroy needs a terminal to confirm; run it with `ssh -t`, or pass --force: apps:destroy {app} --force"
        )));
    }
    io.warn("WARNING: Potentially Destructive Action").await;
    io.warn(&format!(
        "This command will destroy {app} (including all add-ons)."
    ))
    .await;
    io.warn(&format!("To proceed, type \"{app}\"")).await;
    io.out("\r\n> ").await;
    match io.read_line(128).await {
        Some(typed) if typed == app.as_str() => Ok(()),
        _ => Err(CommandError::User("Confirmation did not match".to_string())),
    }
}
