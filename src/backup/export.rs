//! `backup:export`: what goes into an archive, in which order, written to the client as it is
//! made.
//!
//! Files are read as they are on disk without stopping the apps: state files are only ever
//! replaced whole (atomic renames), and a repository's refs are archived before its objects, so
//! every ref archived points at objects that are in the archive too even while a push lands.

use std::path::PathBuf;

use super::archive::{Meta, Writer, FORMAT_VERSION};
use super::{io_error, stream_out, BackupError, Scratch};
use crate::context::Ctx;
use crate::io::Io;
use crate::names::AppName;
use crate::plugins::{fire_in, is_executable, Source, Trigger};
use crate::state::MountSource;

/// Which apps go in (all when `apps` is `None`), and whether their storage does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub apps: Option<Vec<AppName>>,
    pub with_volumes: bool,
}

/// One file or directory tree of the archive.
struct Item {
    name: String,
    disk: PathBuf,
    /// Paths (relative to `disk`) archived before the rest.
    first: &'static [&'static str],
}

/// Writes the archive of `selection` to `out`; progress and warnings go to `io`'s stderr.
pub async fn export(
    ctx: &Ctx,
    selection: &Selection,
    io: &mut Io,
    out: &mut (dyn tokio::io::AsyncWrite + Send + Unpin),
) -> Result<(), BackupError> {
    let layout = ctx.store.layout().clone();
    let apps = match &selection.apps {
        Some(apps) => {
            for app in apps {
                ctx.store.app(app)?;
            }
            apps.clone()
        }
        None => ctx.store.app_names(),
    };
    let scratch = Scratch::new(layout.root())?;
    let mut items = Vec::new();
    for (name, path) in [
        ("global.toml", layout.global_file()),
        ("keys.toml", layout.keys_file()),
    ] {
        if path.exists() {
            items.push(Item {
                name: name.into(),
                disk: path,
                first: &[],
            });
        }
    }
    for app in &apps {
        let record = ctx.store.app(app)?;
        items.push(tree(format!("apps/{app}"), layout.app_dir(app)));
        let repo = layout.repo_dir(app);
        if repo.exists() {
            items.push(Item {
                name: format!("repos/{app}.git"),
                disk: repo,
                first: &["HEAD", "packed-refs", "refs"],
            });
        }
        if selection.with_volumes {
            for mount in &record.mounts {
                match ctx.store.check_mount_source(&mount.host)? {
                    MountSource::Storage => {
                        let dir = PathBuf::from(&mount.host);
                        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
                        let name = format!("storage/{}", name.unwrap_or_default());
                        if !items.iter().any(|i| i.name == name) {
                            items.push(tree(name, dir));
                        }
                    }
                    _ => {
                        io.warn(&format!(
                            "{app}: {} is not a storage directory (storage:ensure-directory); it is not in the archive",
                            mount.host
                        ))
                        .await;
                    }
                }
            }
        }
    }
    let services = scratch.0.join("services");
    for plugin in ctx.plugins.list() {
        if is_executable(&plugin.dir.join("backup-export")) {
            if !plugin.enabled {
                continue;
            }
            let dir = services.join(&plugin.name);
            std::fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
            let wanted = selection.apps.as_ref().map(|apps| {
                let names: Vec<&str> = apps.iter().map(AppName::as_str).collect();
                names.join(" ")
            });
            let args = [dir.to_string_lossy().into_owned()];
            let env = [("BERTH_BACKUP_APPS", wanted.unwrap_or_default())];
            let trigger = Trigger {
                name: "backup-export",
                args: &args,
                env: &env,
            };
            let (plugin, root) = (&plugin, layout.root());
            to_stderr(io, |mut progress| async move {
                let result = fire_in(&ctx.plugins, plugin, &trigger, root, &mut progress).await;
                result.map_err(BackupError::from)
            })
            .await?;
            items.push(tree(format!("services/{}", plugin.name), dir));
        } else {
            let data = ctx.plugins.data_dir(&plugin);
            if data.exists() {
                items.push(tree(format!("plugin-data/{}", plugin.name), data));
            }
        }
        if !matches!(crate::plugins::source_of(&plugin), Ok(Source::Bundled)) {
            items.push(tree(format!("plugins/{}", plugin.name), plugin.dir.clone()));
        }
    }
    let meta = Meta {
        format: FORMAT_VERSION,
        berth: env!("CARGO_PKG_VERSION").into(),
        created: crate::clock::now_unix(),
        data_dir: layout.root().to_path_buf(),
        apps: apps.iter().map(|a| a.to_string()).collect(),
        with_volumes: selection.with_volumes,
    };
    io.progress(&format!(
        "Exporting {} app(s): {}",
        apps.len(),
        meta.apps.join(", ")
    ))
    .await;
    let result = stream_out(out, move |writer| {
        let mut archive = Writer::new(writer, &meta)?;
        for item in items {
            if item.disk.is_dir() {
                archive.add_tree(&item.name, &item.disk, item.first)?;
            } else {
                archive.add_file(&item.name, &item.disk)?;
            }
        }
        archive.finish()?;
        Ok(())
    })
    .await;
    drop(scratch);
    result
}

fn tree(name: String, disk: PathBuf) -> Item {
    Item {
        name,
        disk,
        first: &[],
    }
}

/// Runs `work` with an `Io` whose output goes to `io`'s stderr (its stdout is the archive).
async fn to_stderr<F, Fut>(io: &mut Io, work: F) -> Result<(), BackupError>
where
    F: FnOnce(Io) -> Fut,
    Fut: std::future::Future<Output = Result<(), BackupError>>,
{
    use tokio::io::AsyncWriteExt;
    let (writer, mut reader) = tokio::io::duplex(64 << 10);
    let progress = Io {
        stdin: Box::new(tokio::io::empty()),
        stdout: Box::new(writer),
        stderr: Box::new(tokio::io::sink()),
        tty: false,
        hangup: io.hangup.clone(),
        report: Default::default(),
    };
    let stderr = &mut io.stderr;
    let pump = async move {
        let _ = tokio::io::copy(&mut reader, stderr).await;
        let _ = stderr.flush().await;
    };
    let (result, ()) = tokio::join!(work(progress), pump);
    result
}
