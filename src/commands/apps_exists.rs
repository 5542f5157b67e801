//! `apps:exists <app>`: answers by exit status only (0, or 20 with Dokku's message).

use super::argv::Argv;
use super::CommandError;
use crate::context::Ctx;
use crate::names::AppName;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        Ok(Args {
            app: Argv::only_app("apps:exists", words)?,
        })
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), CommandError> {
    ctx.store.app(&args.app)?;
    Ok(())
}
