//! `ps:restore [<app>]`: starts every app (or one) that should run but has no running
//! instance — after a host reboot, say. The daemon does this by itself when it starts.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::restore_apps;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: Option<AppName>,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ps:restore", words);
        let app = argv.optional()?.map(|a| AppName::parse(&a)).transpose()?;
        argv.finish()?;
        Ok(Args { app })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    if let Some(app) = &args.app {
        ctx.store.app(app)?;
    }
    let restored = restore_apps(ctx, caller, args.app.as_ref(), io).await?;
    if restored.is_empty() {
        io.step("Nothing to restore: every app that should run is running")
            .await;
    }
    Ok(())
}
