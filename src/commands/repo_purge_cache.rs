//! `repo:purge-cache <app>`: empties the app's build cache (buildpacks' `CACHE_DIR`), waiting for
//! a running deploy of the app first. The next build starts cold.

use super::argv::AppArgs;
use super::{CommandError, Io};
use crate::build::cache_volume;
use crate::context::Ctx;
use crate::deploy::Wait;

pub async fn run(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    ctx.store.app(&args.app)?;
    let _lock = ctx.deploy_locks.acquire(&args.app, io, Wait::Wait).await?;
    let removed = ctx
        .builder
        .remove_volume(&cache_volume(&args.app))
        .await
        .map_err(|err| CommandError::Internal(err.to_string()))?;
    match removed {
        true => {
            io.step(&format!("Purged the build cache of {}", args.app))
                .await
        }
        false => io.step(&format!("{} has no build cache", args.app)).await,
    }
    Ok(())
}
