//! Plugins: directories under `<data_dir>/plugins/<name>/` with a `plugin.toml`, an optional
//! `commands` executable (Dokku's: called with `NAME:sub ARGS`, exit status 10 for "not mine")
//! and optional `subcommands/<sub>` executables. The daemon keeps an index of them in memory,
//! read once at start and changed only by `plugin:*`, so a command that no plugin handles costs
//! one map lookup, never a directory scan (Dokku scans and forks bash for every command).

mod bundled;
mod install;
mod pty;
mod run;
mod trigger;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::Deserialize;

pub use bundled::{install_bundled, names as bundled_names};
pub use install::{install, keep_source, source_of, Source, SOURCE_FILE};
pub use run::{help_lines, run_command, NOT_MINE};
pub use trigger::{fire, fire_in, Trigger, TriggerFailed, TRIGGERS};

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// What is wrong with a plugin or a request about one; the message says it in one line.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Internal(String),
}

/// `plugin.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    /// Seconds a trigger may run, by trigger name (`trigger::DEFAULT_TIMEOUT` otherwise).
    #[serde(default)]
    pub timeouts: BTreeMap<String, u64>,
    /// Its commands whose first argument is an app (`notify:app-set`, say): a developer key
    /// granted that app may run them. Its other commands are admins'.
    #[serde(default)]
    pub app_commands: Vec<String>,
}

/// An installed plugin, as the index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plugin {
    /// Its installed name (its namespace), the manifest's unless installed with `--name`.
    pub name: String,
    pub manifest: Manifest,
    pub dir: PathBuf,
    pub enabled: bool,
}

impl Plugin {
    /// The executable that runs `NAME:sub`: `subcommands/<sub>` when the plugin has it, else its
    /// `commands` (given the whole command name first), else none.
    pub fn executable_for(&self, sub: &str) -> Option<(PathBuf, bool)> {
        if valid_word(sub) {
            let subcommand = self.dir.join("subcommands").join(sub);
            if is_executable(&subcommand) {
                return Some((subcommand, false));
            }
        }
        let commands = self.dir.join("commands");
        is_executable(&commands).then_some((commands, true))
    }
}

/// A plugin name or a subcommand: lowercase letters, digits and `-`, starting with a letter, as
/// Dokku's plugin names; at most 32 characters.
pub fn valid_word(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && word.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A regular file (not a symlink) with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// `dir` and its parents, `dir` itself readable by the daemon's user only.
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The installed plugins, by name.
pub struct Registry {
    root: PathBuf,
    /// Where each plugin keeps its data (`<data>/<name>`, `BERTH_PLUGIN_DATA`).
    data: PathBuf,
    index: RwLock<BTreeMap<String, Plugin>>,
    /// What every plugin program gets in its environment beyond `PLUGIN_PATH` (`with_cli`).
    env: Vec<(&'static str, std::ffi::OsString)>,
}

impl Registry {
    /// The plugins installed under `root`, keeping their data under `data`; those named in
    /// `disabled` are disabled. A directory that is not a valid plugin (any more) is logged and
    /// left out.
    pub fn load(root: PathBuf, data: PathBuf, disabled: &[String]) -> Registry {
        let mut index = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                let dir = entry.path();
                let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string)
                else {
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                match install::check(&dir) {
                    Ok(manifest) if valid_word(&name) => {
                        let enabled = !disabled.contains(&name);
                        let plugin = Plugin {
                            name: name.clone(),
                            manifest,
                            dir,
                            enabled,
                        };
                        index.insert(name, plugin);
                    }
                    Ok(_) => tracing::warn!(dir = %dir.display(), "not a plugin name; left out"),
                    Err(err) => {
                        tracing::warn!(dir = %dir.display(), error = %err, "not a usable plugin; left out")
                    }
                }
            }
        }
        Registry {
            root,
            data,
            index: RwLock::new(index),
            env: Vec::new(),
        }
    }

    /// Puts `berth` and `dokku` (links to `exe` in `bin`) first on every plugin program's PATH,
    /// talking to the daemon through `socket`, so a plugin runs commands as Dokku plugins call
    /// `dokku config:get`; with the data dir in `BERTH_DATA_DIR`.
    pub fn with_cli(
        mut self,
        bin: &Path,
        exe: &Path,
        socket: &Path,
        data_dir: &Path,
    ) -> std::io::Result<Registry> {
        std::fs::create_dir_all(bin)?;
        for name in ["berth", "dokku"] {
            crate::state::link_atomic(exe, &bin.join(name))?;
        }
        let mut path = std::ffi::OsString::from(bin);
        if let Some(inherited) = std::env::var_os("PATH") {
            path.push(":");
            path.push(inherited);
        }
        self.env = vec![
            ("PATH", path),
            ("BERTH_CONTROL_SOCKET", socket.into()),
            ("BERTH_DATA_DIR", data_dir.into()),
        ];
        Ok(self)
    }

    /// A command running `program` of `plugin`, in its directory, with the environment every
    /// plugin program gets: its directory in `PLUGIN_PATH`, and in `BERTH_PLUGIN_DATA` a
    /// directory of its own for what it keeps (made here, mode 0700).
    pub fn process(&self, program: &Path, plugin: &Plugin) -> tokio::process::Command {
        let data = self.data_dir(plugin);
        if let Err(err) = make_private_dir(&data) {
            tracing::warn!(dir = %data.display(), error = %err, "cannot make a plugin's data dir");
        }
        let mut command = tokio::process::Command::new(program);
        command
            .current_dir(&plugin.dir)
            .env("PLUGIN_PATH", &plugin.dir)
            .env("BERTH_PLUGIN_DATA", data)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true);
        command
    }

    /// Where `plugin` keeps what it keeps (`BERTH_PLUGIN_DATA`).
    pub fn data_dir(&self, plugin: &Plugin) -> PathBuf {
        self.data.join(&plugin.name)
    }

    /// Where plugins are installed.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn list(&self) -> Vec<Plugin> {
        self.read().values().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Option<Plugin> {
        self.read().get(name).cloned()
    }

    /// The enabled plugin whose namespace `command` (`NAME:sub`) is in, and the subcommand.
    pub fn command<'a>(&self, command: &'a str) -> Option<(Plugin, &'a str)> {
        let (namespace, sub) = command.split_once(':')?;
        let plugin = self.read().get(namespace).filter(|p| p.enabled).cloned()?;
        Some((plugin, sub))
    }

    pub fn set_enabled(&self, name: &str, enabled: bool) {
        if let Some(plugin) = self.write().get_mut(name) {
            plugin.enabled = enabled;
        }
    }

    pub fn remove(&self, name: &str) -> Option<Plugin> {
        self.write().remove(name)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Plugin>> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Plugin>> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_are_plain_words() {
        assert!(valid_word("notify"));
        assert!(valid_word("my-plugin2"));
        for bad in [
            "",
            "Notify",
            "2fa",
            "a/b",
            "..",
            "a b",
            "-x",
            &"a".repeat(33),
        ] {
            assert!(!valid_word(bad), "{bad}");
        }
    }
}
