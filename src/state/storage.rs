//! Directories under `<data_dir>/storage` that apps mount (`storage:ensure-directory`), and the
//! check every bind mount's source passes, when it is added and each time a container is made.
//!
//! An app can write into a directory it mounts, so it can plant a symlink there: a later mount
//! of `storage/<name>/link` would be a mount of wherever the link points, the host's `/`
//! included. So a storage mount is exactly `storage/<name>`, and both `storage` and
//! `storage/<name>` must be real directories, not symlinks, at the moment Docker is asked.

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::{io_err, StateError, Store};

/// Where a mount's source is, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountSource {
    /// A named Docker volume.
    Volume,
    /// `<data_dir>/storage/<name>`, a real directory.
    Storage,
    /// Any other host path: only the server's own CLI may add one.
    Host,
}

/// A name `storage:ensure-directory` accepts: lowercase letters, digits and dashes, at most 45.
pub fn valid_storage_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 45
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Store {
    /// Creates `<data_dir>/storage/<name>` (a directory apps may mount) and returns its path.
    pub fn ensure_storage_dir(&self, name: &str) -> Result<PathBuf, StateError> {
        let storage = self.layout.storage_dir();
        fs::create_dir_all(&storage).map_err(io_err(&storage))?;
        real_directory(&storage)?;
        let dir = storage.join(name);
        match fs::create_dir(&dir) {
            Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(io_err(&dir)(err))
            }
            _ => {}
        }
        real_directory(&dir)?;
        Ok(dir)
    }

    /// Checks the source of a mount (`host` of `host:container`) as it is now on disk.
    pub fn check_mount_source(&self, host: &str) -> Result<MountSource, StateError> {
        let path = Path::new(host);
        if !path.is_absolute() {
            return Ok(MountSource::Volume);
        }
        let storage = self.layout.storage_dir();
        let Ok(inside) = path.strip_prefix(&storage) else {
            return Ok(MountSource::Host);
        };
        let refused = |why: &str| StateError::MountRefused {
            path: host.to_string(),
            why: why.to_string(),
        };
        let mut parts = inside.components();
        let made = "a directory made by storage:ensure-directory <name>";
        let name = match (parts.next(), parts.next()) {
            (Some(Component::Normal(name)), None) => name.to_str().unwrap_or(""),
            (None, _) => {
                return Err(refused(&format!(
                    "it is the storage directory itself; mount {made}"
                )))
            }
            _ => {
                return Err(refused(&format!(
                    "only a directory directly under {} can be mounted, {made}",
                    storage.display()
                )))
            }
        };
        if !valid_storage_name(name) {
            return Err(refused(&format!("it is not {made}")));
        }
        for dir in [storage.clone(), storage.join(name)] {
            real_directory(&dir).map_err(|_| {
                refused(&format!(
                    "it is not a real directory (it is missing, or a symlink); storage:ensure-directory {name} makes it"
                ))
            })?;
        }
        Ok(MountSource::Storage)
    }
}

/// `dir` itself is a directory, not a symlink to one.
fn real_directory(dir: &Path) -> Result<(), StateError> {
    let meta = fs::symlink_metadata(dir).map_err(io_err(dir))?;
    if meta.file_type().is_dir() {
        Ok(())
    } else {
        Err(StateError::MountRefused {
            path: dir.display().to_string(),
            why: "it is not a real directory".to_string(),
        })
    }
}
