//! `storage:mount <app> <host>:<container>` and `storage:unmount`: bind mounts kept across
//! deploys; they take effect at the next deploy or `ps:restart`.
//!
//! Over SSH only `<data_dir>/storage/<name>` (see `storage:ensure-directory`) and named
//! volumes may be mounted: mounting `/` would make every deployer root on the host, and so would
//! a symlink an app planted in its storage directory (`state::Store::check_mount_source`).
//! The server's own CLI may mount any other absolute path.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::names::AppName;
use crate::state::{Mount, MountSource};

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub mount: Mount,
    pub add: bool,
}

impl Args {
    pub fn parse(add: bool, words: &[String]) -> Result<Args, CommandError> {
        let command = if add {
            "storage:mount"
        } else {
            "storage:unmount"
        };
        let mut argv = Argv::new(command, words);
        let app = AppName::parse(&argv.required("app name")?)?;
        let mount = parse_mount(&argv.required("mount (host:container)")?)?;
        argv.finish()?;
        Ok(Args { app, mount, add })
    }
}

fn clean_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains([':', ',', '\n', '\0'])
        && !path.split('/').any(|part| part == ".." || part == ".")
}

fn volume_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub fn parse_mount(raw: &str) -> Result<Mount, CommandError> {
    let invalid = || {
        CommandError::User(format!(
            "Invalid mount \"{shown}\": use /host/path:/container/path (or volume:/container/path)",
            shown = crate::names::shown(raw)
        ))
    };
    let (host, container) = raw.split_once(':').ok_or_else(invalid)?;
    if !(clean_path(host) || volume_name(host)) || !clean_path(container) {
        return Err(invalid());
    }
    Ok(Mount {
        host: host.trim_end_matches('/').to_string(),
        container: container.to_string(),
    })
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    if args.add && ctx.store.check_mount_source(&args.mount.host)? == MountSource::Host {
        caller.require_local("storage:mount").map_err(|_| {
            CommandError::User(format!(
                "Cannot mount {}: over SSH only directories made by storage:ensure-directory (under {}) and volumes can be mounted; mount other host paths with berth storage:mount on the server",
                args.mount.host,
                ctx.store.layout().storage_dir().display()
            ))
        })?;
    }
    let mount = args.mount.clone();
    let add = args.add;
    let changed = ctx
        .store
        .update_app(&args.app, |record| {
            let present = record.mounts.contains(&mount);
            match (add, present) {
                (true, false) => record.mounts.push(mount),
                (false, true) => record.mounts.retain(|m| *m != mount),
                _ => return false,
            }
            true
        })?
        .1;
    let line = format!("{}:{}", args.mount.host, args.mount.container);
    match (args.add, changed) {
        (true, true) => io.step(&format!("Mounted {line}")).await,
        (false, true) => io.step(&format!("Unmounted {line}")).await,
        (true, false) => return Err(CommandError::User(format!("Mount {line} already exists"))),
        (false, false) => return Err(CommandError::User(format!("Mount {line} does not exist"))),
    }
    io.detail(&format!(
        "It applies from the next deploy: ps:restart {}",
        args.app
    ))
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts() {
        let mount = parse_mount("/var/lib/berth/storage/shop:/app/data").unwrap();
        assert_eq!(mount.host, "/var/lib/berth/storage/shop");
        assert_eq!(mount.container, "/app/data");
        assert_eq!(
            parse_mount("pgdata:/var/lib/postgresql").unwrap().host,
            "pgdata"
        );
        for bad in [
            "/a",
            "rel/ative:/b",
            "/a:b",
            "/a/../etc:/b",
            "/a/./b:/c",
            "/a:/b:ro",
            "-v:/b",
            "/a,b:/c",
        ] {
            assert!(parse_mount(bad).is_err(), "{bad}");
        }
    }
}
