//! `apps:destroy`: containers (one-offs too), images, build cache, routes, repository, state
//! and the app's extra listeners, under the deploy lock.

use std::time::Duration;

use super::{DeployError, Wait};
use crate::context::Ctx;
use crate::io::Io;
use crate::names::AppName;
use crate::scheduler::{image_repository, tags_repository};

pub async fn destroy_app(ctx: &Ctx, app: &AppName, io: &mut Io) -> Result<(), DeployError> {
    let _lock = ctx.deploy_locks.acquire(app, io, Wait::Wait).await?;
    ctx.routes.remove_app(app);
    for instance in ctx.scheduler.instances(Some(app)).await? {
        ctx.scheduler.retire(&instance.id, Duration::ZERO).await?;
    }
    for one_off in ctx.scheduler.one_offs(app).await? {
        ctx.scheduler.retire(&one_off.id, Duration::ZERO).await?;
    }
    for repository in [image_repository(app), tags_repository(app)] {
        for tag in ctx.builder.repository_tags(&repository).await? {
            ctx.builder.remove_image(&tag).await?;
        }
    }
    ctx.builder
        .remove_volume(&crate::build::cache_volume(app))
        .await?;
    ctx.store.destroy_app(app)?;
    ctx.reopen_ports();
    Ok(())
}
