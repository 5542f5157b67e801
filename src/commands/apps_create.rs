//! `apps:create <app>`: registers an app; its default domain answers 502 until the first deploy.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;
use crate::state::StateError;

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        Ok(Args {
            app: Argv::only_app("apps:create", words)?,
        })
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    if ctx.store.app_exists(&args.app) {
        return Err(StateError::AppExists(args.app).into());
    }
    io.step(&format!("Creating {}...", args.app)).await;
    ctx.create_app(&args.app)?;
    Ok(())
}
