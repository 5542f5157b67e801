//! `backup:import`: an archive read from the client into a scratch directory and checked whole
//! (format, checksums, state files, names free on this host) before anything changes; then
//! global settings, keys, plugins, storage, repositories and apps put in place, the services
//! recreated by their plugins' `backup-import` trigger, and every app that ran deployed again
//! through the normal cutover: from its release's image when this host has it, else rebuilt
//! from its repository at the release's commit, else its source image pulled again.

use std::path::{Path, PathBuf};

use super::archive::{unpack, Meta};
use super::{io_error, stream_in, BackupError, Scratch};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{deploy, DeployRequest, Source, Wait};
use crate::io::Io;
use crate::names::AppName;
use crate::plugins::{fire_in, install, is_executable, Trigger};
use crate::state::{read_staged, AppRecord, SshKey, StateError};

/// Restores the archive on `io`'s stdin; returns the names of the keys it added.
pub async fn import(ctx: &Ctx, caller: &Caller, io: &mut Io) -> Result<Vec<String>, BackupError> {
    let root = ctx.store.layout().root().to_path_buf();
    let scratch = Scratch::new(&root)?;
    let staged = scratch.0.join("files");
    io.step("Reading the archive").await;
    let into = staged.clone();
    let meta = stream_in(&mut io.stdin, move |reader| {
        std::fs::create_dir(&into).map_err(io_error("create", &into))?;
        Ok(unpack(reader, &into)?)
    })
    .await?;
    let state = read_staged(&staged)?;
    check_free(ctx, &staged, &state.apps)?;
    io.detail(&format!(
        "Berth {} archive of {}, {} app(s), checked",
        meta.berth,
        crate::clock::utc(meta.created).format("%Y-%m-%d %H:%M UTC"),
        state.apps.len()
    ))
    .await;

    io.step("Restoring global settings and keys").await;
    let disabled = state.global.plugins_disabled.clone();
    ctx.store.replace_global(state.global)?;
    let added = merge_keys(ctx, state.keys.keys, io).await?;
    restore_plugins(ctx, &staged, &disabled, io).await?;
    for (what, target) in [
        ("plugin-data", ctx.store.layout().plugin_data_dir()),
        ("storage", ctx.store.layout().storage_dir()),
    ] {
        move_children(&staged.join(what), &target, io).await?;
    }
    for record in &state.apps {
        let app = &record.name;
        io.step(&format!("Restoring {app}")).await;
        let repo = staged.join("repos").join(format!("{app}.git"));
        if repo.exists() {
            let target = ctx.store.layout().repo_dir(app);
            std::fs::rename(&repo, &target).map_err(io_error("move", &target))?;
        }
        let record = moved_storage(record.clone(), &meta, &root);
        for network in record.network.all() {
            if ctx
                .scheduler
                .network(network)
                .await
                .ok()
                .flatten()
                .is_none()
            {
                let made = ctx.scheduler.create_network(network).await;
                made.map_err(|e| BackupError::Refused(format!("network {network}: {e}")))?;
            }
        }
        ctx.store
            .import_app(record, &staged.join("apps").join(app.as_str()))?;
        ctx.routes.set_app(app, &ctx.app_hosts(app), Vec::new());
    }
    ctx.refresh_certs();
    restore_services(ctx, &staged, io).await?;
    drop(scratch);
    redeploy(ctx, caller, &state.apps, io).await?;
    Ok(added)
}

/// Refuses the archive when an app, its repository, a plugin or storage it brings is already
/// on this host.
fn check_free(ctx: &Ctx, staged: &Path, apps: &[AppRecord]) -> Result<(), BackupError> {
    let layout = ctx.store.layout();
    for record in apps {
        if ctx.store.app_exists(&record.name) {
            return Err(BackupError::AppExists(record.name.clone()));
        }
        if layout.repo_dir(&record.name).exists() {
            return Err(BackupError::Exists {
                what: format!("The repository of {}", record.name),
            });
        }
    }
    for name in children(&staged.join("plugins"))? {
        if ctx.plugins.get(&name).is_some() {
            return Err(BackupError::Exists {
                what: format!("Plugin {name}"),
            });
        }
    }
    Ok(())
}

/// The names in `dir` (none when it does not exist).
fn children(dir: &Path) -> Result<Vec<String>, BackupError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error("read", dir))? {
        let entry = entry.map_err(io_error("read", dir))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Adds the archive's keys whose name and key this host does not have yet.
async fn merge_keys(ctx: &Ctx, keys: Vec<SshKey>, io: &mut Io) -> Result<Vec<String>, BackupError> {
    let mut added = Vec::new();
    for key in keys {
        let name = key.name.to_string();
        match ctx.store.add_key(key) {
            Ok(()) => added.push(name),
            Err(StateError::KeyNameTaken(_) | StateError::KeyAlreadyAdded(_)) => {
                io.detail(&format!("Key {name} is already here; kept as it is"))
                    .await;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(added)
}

/// Installs the archive's plugins (those not bundled with Berth) from their files, keeping
/// where they came from and whether they were disabled.
async fn restore_plugins(
    ctx: &Ctx,
    staged: &Path,
    disabled: &[String],
    io: &mut Io,
) -> Result<(), BackupError> {
    let dir = staged.join("plugins");
    for name in children(&dir)? {
        let files = dir.join(&name);
        let record = std::fs::read(files.join(crate::plugins::SOURCE_FILE)).unwrap_or_default();
        let source = crate::plugins::Source::Dir(files);
        let plugin = install(&ctx.plugins, &source, Some(&name), &[], false)
            .await
            .map_err(|e| BackupError::Refused(format!("Plugin {name}: {e}")))?;
        crate::plugins::keep_source(&plugin, &record)
            .map_err(|e| BackupError::Refused(format!("Plugin {name}: {e}")))?;
        if disabled.contains(&name) {
            ctx.plugins.set_enabled(&name, false);
        }
        io.detail(&format!("Plugin {name} installed")).await;
    }
    Ok(())
}

/// Moves each directory of `from` into `to` unless `to` has one of that name already.
async fn move_children(from: &Path, to: &Path, io: &mut Io) -> Result<(), BackupError> {
    for name in children(from)? {
        std::fs::create_dir_all(to).map_err(io_error("create", to))?;
        let target = to.join(&name);
        if target.exists() {
            io.warn(&format!(
                "{} is already here; kept as it is",
                target.display()
            ))
            .await;
            continue;
        }
        std::fs::rename(from.join(&name), &target).map_err(io_error("move", &target))?;
    }
    Ok(())
}

/// The record with its mounts of the old data dir's storage moved to this one's.
fn moved_storage(mut record: AppRecord, meta: &Meta, root: &Path) -> AppRecord {
    let old = meta.data_dir.join("storage");
    for mount in record.mounts.iter_mut() {
        if let Ok(rest) = Path::new(&mount.host).strip_prefix(&old) {
            mount.host = root
                .join("storage")
                .join(rest)
                .to_string_lossy()
                .into_owned();
        }
    }
    record
}

/// Fires `backup-import` in each plugin whose services the archive holds.
async fn restore_services(ctx: &Ctx, staged: &Path, io: &mut Io) -> Result<(), BackupError> {
    let dir = staged.join("services");
    for name in children(&dir)? {
        let plugin = ctx
            .plugins
            .get(&name)
            .filter(|p| p.enabled && is_executable(&p.dir.join("backup-import")))
            .ok_or_else(|| {
                BackupError::Refused(format!(
                    "The archive holds {name} services, but no enabled plugin {name} here imports them"
                ))
            })?;
        io.step(&format!("Restoring {name} services")).await;
        let args = [dir.join(&name).to_string_lossy().into_owned()];
        let trigger = Trigger {
            name: "backup-import",
            args: &args,
            env: &[],
        };
        fire_in(
            &ctx.plugins,
            &plugin,
            &trigger,
            ctx.store.layout().root(),
            io,
        )
        .await?;
    }
    Ok(())
}

/// Deploys every restored app that has a release and was not stopped; one failure does not
/// keep the others from starting, and is reported at the end.
async fn redeploy(
    ctx: &Ctx,
    caller: &Caller,
    apps: &[AppRecord],
    io: &mut Io,
) -> Result<(), BackupError> {
    let mut failed = Vec::new();
    for record in apps {
        let Some(release) = record.current().filter(|_| !record.stopped) else {
            continue;
        };
        let app = record.name.clone();
        let present = matches!(ctx.builder.image_id(&release.image).await, Ok(Some(_)));
        let source = match (&release.git_rev, &release.source_image) {
            _ if present => Source::Restart(None),
            (Some(rev), _) => {
                io.step(&format!(
                    "{app}: image {} is not on this host; rebuilding commit {} from its repository",
                    release.image,
                    crate::git::short(rev)
                ))
                .await;
                match checkout(ctx, &app, rev).await {
                    Ok(checkout) => Source::Rebuild(checkout),
                    Err(why) => {
                        io.warn(&why).await;
                        failed.push(app);
                        continue;
                    }
                }
            }
            (None, Some(image)) => Source::ImageAgain(image.clone()),
            (None, None) => {
                io.warn(&format!(
                    "{app}: image {} is not on this host, and nothing to build it from",
                    release.image
                ))
                .await;
                failed.push(app);
                continue;
            }
        };
        let request = DeployRequest {
            app: app.clone(),
            caller: caller.clone(),
            source,
            wait: Wait::Wait,
        };
        if let Err(err) = deploy(ctx, request, io).await {
            io.warn(&format!("{app}: {err}")).await;
            failed.push(app);
        }
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(BackupError::Refused(format!(
            "Restored, but these apps did not start: {} (deploy them with ps:rebuild)",
            failed
                .iter()
                .map(AppName::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The app's repository at `rev`, exported for a build.
async fn checkout(ctx: &Ctx, app: &AppName, rev: &str) -> Result<crate::git::Checkout, String> {
    let spec = ctx.source_spec(app).map_err(|e| e.to_string())?;
    let repo: PathBuf = ctx.store.layout().repo_dir(app);
    let rev = rev.to_string();
    tokio::task::spawn_blocking(move || crate::git::export_commit(&repo, &rev, &[], &spec))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{app}: {e}"))
}
