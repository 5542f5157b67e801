//! The plugins compiled into the binary (`plugins/<name>/`, packed by `build.rs`): installed
//! under the data dir at start, whenever the installed copy is missing or is not the binary's,
//! and enabled unless the admin disabled them. They update with Berth, so `plugin:update` and
//! `plugin:uninstall` refuse them (`plugin:disable` turns one off).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::install::{check, internal, Staging, SOURCE_FILE};
use super::PluginError;

/// The bundled plugins as one tar (`<name>/plugin.toml`, …), made by `build.rs`.
static BUNDLED_TAR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/plugins.tar"));

/// One bundled plugin's files: path inside the plugin, mode and contents.
struct Bundle {
    name: String,
    files: Vec<(PathBuf, u32, Vec<u8>)>,
}

impl Bundle {
    /// `bundled <sha256 of the paths, modes and contents>`: what `.berth-source` says of an
    /// installed copy of exactly these files.
    fn record(&self) -> String {
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        for (path, mode, bytes) in &self.files {
            digest.update(path.to_string_lossy().as_bytes());
            digest.update(&[0]);
            digest.update(&mode.to_le_bytes());
            digest.update(&(bytes.len() as u64).to_le_bytes());
            digest.update(bytes);
        }
        let hex: String = digest
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("bundled {hex}\n")
    }
}

/// The names of the bundled plugins.
pub fn names() -> Vec<String> {
    bundles().into_iter().map(|bundle| bundle.name).collect()
}

fn bundles() -> Vec<Bundle> {
    let mut bundles: Vec<Bundle> = Vec::new();
    let mut archive = tar::Archive::new(BUNDLED_TAR);
    let entries = archive.entries().expect("build.rs wrote the plugins tar");
    for entry in entries {
        let mut entry = entry.expect("build.rs wrote the plugins tar");
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().expect("a bundled path").into_owned();
        let mut parts = path.components();
        let Some(name) = parts.next() else { continue };
        let name = name.as_os_str().to_string_lossy().into_owned();
        let inside = parts.as_path().to_path_buf();
        let mode = entry.header().mode().unwrap_or(0o644);
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .expect("build.rs wrote the plugins tar");
        match bundles.last_mut() {
            Some(bundle) if bundle.name == name => bundle.files.push((inside, mode, bytes)),
            _ => bundles.push(Bundle {
                name,
                files: vec![(inside, mode, bytes)],
            }),
        }
    }
    bundles
}

/// Installs under `root` every bundled plugin whose installed copy is missing or differs from
/// the binary's, each checked in a staging directory and moved into place whole. Runs at
/// start, before the registry reads `root`.
pub fn install_bundled(root: &Path) -> Result<(), PluginError> {
    std::fs::create_dir_all(root).map_err(|err| internal(root, err))?;
    for bundle in bundles() {
        let dir = root.join(&bundle.name);
        let record = bundle.record();
        let installed = std::fs::read_to_string(dir.join(SOURCE_FILE)).unwrap_or_default();
        if installed == record {
            continue;
        }
        let staging = Staging::new(root)?;
        let files = staging.path().join("plugin");
        for (inside, mode, bytes) in &bundle.files {
            write_file(&files.join(inside), *mode, bytes)?;
        }
        check(&files)?;
        let source = files.join(SOURCE_FILE);
        std::fs::write(&source, &record).map_err(|err| internal(&source, err))?;
        if std::fs::symlink_metadata(&dir).is_ok() {
            let old = staging.path().join("old");
            std::fs::rename(&dir, &old).map_err(|err| internal(&dir, err))?;
        }
        std::fs::rename(&files, &dir).map_err(|err| internal(&dir, err))?;
        tracing::info!(plugin = %bundle.name, "bundled plugin installed");
    }
    Ok(())
}

fn write_file(path: &Path, mode: u32, bytes: &[u8]) -> Result<(), PluginError> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|err| internal(parent, err))?;
    }
    std::fs::write(path, bytes).map_err(|err| internal(path, err))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o755))
        .map_err(|err| internal(path, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_plugins_are_installed_once_and_restored_when_changed() {
        let root = tempfile::tempdir().unwrap();
        let plugins = root.path().join("plugins");
        install_bundled(&plugins).unwrap();
        assert_eq!(names(), ["notify", "postgres", "redis"]);
        let notify = plugins.join("notify");
        assert!(super::super::is_executable(&notify.join("commands")));
        let first = std::fs::metadata(&notify).unwrap().modified().unwrap();
        install_bundled(&plugins).unwrap();
        let second = std::fs::metadata(&notify).unwrap().modified().unwrap();
        assert_eq!(first, second, "an identical copy is left alone");
        std::fs::write(notify.join("commands"), "#!/bin/sh\nexit 10\n").unwrap();
        std::fs::write(notify.join("post-stop"), "#!/bin/sh\n").unwrap();
        std::fs::write(notify.join(SOURCE_FILE), "bundled old\n").unwrap();
        install_bundled(&plugins).unwrap();
        let commands = std::fs::read_to_string(notify.join("commands")).unwrap();
        assert!(commands.contains("notify:add"), "restored");
        assert!(
            !notify.join("post-stop").exists(),
            "an old version's file is gone"
        );
        let mut left: Vec<_> = std::fs::read_dir(&plugins)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, names(), "no staging directory left");
    }
}
