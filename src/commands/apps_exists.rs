//! `apps:exists <app>`: answers by exit status only (0, or 20 with Dokku's message).

use super::argv::AppArgs;
use super::CommandError;
use crate::context::Ctx;

pub async fn run(ctx: &Ctx, args: AppArgs) -> Result<(), CommandError> {
    ctx.store.app(&args.app)?;
    Ok(())
}
