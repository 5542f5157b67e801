//! Pushing a release's image to the app's registry (`registry:set`): every release with
//! `push-on-release`, and a Swarm app's when its swarm has more than one node (the other nodes
//! pull it from there; on one node the image is already where its tasks run).

use super::pipeline::IndentedOutput;
use super::DeployError;
use crate::context::Ctx;
use crate::io::Io;
use crate::scheduler::{RegistryAuth, SchedulerKind};
use crate::state::{
    registry_host, registry_server_host, AppRecord, GlobalSettings, Release, StateError,
};

/// The registry settings that apply to an app: its own, else the global ones.
pub struct Registry {
    pub server: Option<String>,
    pub image_repo: String,
    pub push_on_release: bool,
}

impl Registry {
    pub fn of(record: &AppRecord, global: &GlobalSettings) -> Registry {
        let (own, all) = (&record.registry, &global.registry);
        Registry {
            server: own.server.clone().or_else(|| all.server.clone()),
            image_repo: own
                .image_repo
                .clone()
                .unwrap_or_else(|| record.name.to_string()),
            push_on_release: own.push_on_release.or(all.push_on_release).unwrap_or(false),
        }
    }

    /// Where release `number` goes: `server/repo:number`.
    fn target(&self, server: &str, number: u32) -> String {
        format!("{server}/{}:{number}", self.image_repo)
    }
}

/// The login for the registry `server` names, if `registry:login` stored one.
pub fn login_for(ctx: &Ctx, server: &str) -> Result<Option<RegistryAuth>, StateError> {
    login_at(ctx, registry_server_host(server))
}

/// The login for the registry the image reference `image` is pulled from, if one is stored.
pub fn login_for_image(ctx: &Ctx, image: &str) -> Result<Option<RegistryAuth>, StateError> {
    login_at(ctx, registry_host(image))
}

fn login_at(ctx: &Ctx, host: &str) -> Result<Option<RegistryAuth>, StateError> {
    Ok(ctx
        .store
        .registry_login_for(host)?
        .map(|login| RegistryAuth {
            server: host.to_string(),
            user: login.user,
            password: login.password,
        }))
}

/// Pushes `release`'s image when it must go to the registry, and records where in the release.
/// An image already pushed under the same repository (a restart, a config change, a rollback)
/// is not pushed again.
pub async fn push_if_needed(
    ctx: &Ctx,
    record: &AppRecord,
    release: &mut Release,
    io: &mut Io,
) -> Result<(), DeployError> {
    let global = ctx.store.global();
    let registry = Registry::of(record, &global);
    let on_swarm = SchedulerKind::named(record.scheduler_in(&global)) == SchedulerKind::DockerSwarm;
    let nodes = match on_swarm {
        true => ctx.scheduler.swarm_nodes().await?,
        false => 0,
    };
    if !registry.push_on_release && nodes <= 1 {
        return Ok(());
    }
    let app = &record.name;
    let Some(server) = registry.server.as_deref() else {
        if registry.push_on_release {
            return Err(DeployError::Push(format!(
                "{app} pushes its releases (push-on-release) but no registry server is set: \
                 registry:set --global server <host>"
            )));
        }
        io.warn(&format!(
            "The swarm has {nodes} nodes and no registry is set (registry:set --global server \
             <host>): tasks placed on other nodes cannot pull {app}'s image"
        ))
        .await;
        return Ok(());
    };
    let prefix = format!("{server}/{}:", registry.image_repo);
    if release
        .pushed
        .as_deref()
        .is_some_and(|p| p.starts_with(&prefix))
    {
        return Ok(());
    }
    let target = registry.target(server, release.number);
    let begun = std::time::Instant::now();
    io.step(&format!(
        "Pushing {app} (v{}) to {target}...",
        release.number
    ))
    .await;
    let auth = login_for(ctx, server)?;
    ctx.builder
        .push_image(
            &release.image,
            &target,
            auth.as_ref(),
            &mut IndentedOutput(io),
        )
        .await
        .map_err(|err| DeployError::Push(err.to_string()))?;
    super::timed(io, &format!("Pushing {app} (v{})", release.number), begun).await;
    release.pushed = Some(target);
    Ok(())
}
