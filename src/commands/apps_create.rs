//! `apps:create <app>`: registers an app; its default domain answers 502 until the first deploy.

use super::argv::AppArgs;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::state::StateError;

pub async fn run(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    if ctx.store.app_exists(&args.app) {
        return Err(StateError::AppExists(args.app).into());
    }
    io.step(&format!("Creating {}...", args.app)).await;
    ctx.create_app(&args.app)?;
    Ok(())
}
