//! `apps:lock <app>` and `apps:unlock <app>`: a locked app refuses every deploy (push, rebuild,
//! rollback, config change, restart) until unlocked — for maintenance windows.

use super::argv::AppArgs;
use super::{CommandError, Io};
use crate::context::Ctx;

pub async fn run(ctx: &Ctx, io: &mut Io, args: AppArgs, lock: bool) -> Result<(), CommandError> {
    let _lock = ctx
        .deploy_locks
        .acquire(&args.app, io, crate::deploy::Wait::Wait)
        .await?;
    ctx.store
        .update_app(&args.app, |record| record.locked = lock)?;
    let verb = if lock { "Locked" } else { "Unlocked" };
    io.step(&format!("{verb} {}", args.app)).await;
    Ok(())
}
