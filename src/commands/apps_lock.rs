//! `apps:lock <app>` and `apps:unlock <app>`: a locked app refuses every deploy (push, rebuild,
//! rollback, config change, restart) until unlocked — for maintenance windows. `apps:locked
//! <app>` says whether it is, or a deploy holds the app's lock right now (Dokku's deploy lock).

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

pub async fn locked(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    if record.locked {
        io.step(&format!("{} is locked (apps:unlock)", args.app))
            .await;
        return Ok(());
    }
    if ctx.deploy_locks.is_held(&args.app) {
        io.step(&format!("{} is being deployed", args.app)).await;
        return Ok(());
    }
    Err(CommandError::User(format!(
        "{} is not locked and not being deployed",
        args.app
    )))
}
