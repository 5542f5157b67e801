//! `apps:create <app>`: registers an app; its default domain answers 502 until the first deploy.

use super::argv::AppArgs;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::state::StateError;

pub async fn run(
    ctx: &Ctx,
    caller: &Caller,
    io: &mut Io,
    args: AppArgs,
) -> Result<(), CommandError> {
    if ctx.store.app_exists(&args.app) {
        return Err(StateError::AppExists(args.app).into());
    }
    io.step(&format!("Creating {}...", args.app)).await;
    ctx.create_app(&args.app)?;
    super::access::grant_creator(ctx, caller, &args.app)?;
    let trigger_args = [args.app.to_string()];
    ctx.trigger("post-create", &trigger_args, Some(&args.app), caller, io)
        .await?;
    Ok(())
}
