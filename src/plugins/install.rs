//! Installing a plugin: from a directory on the server (copied: regular files and directories
//! only) or a git URL (cloned with the real `git`, no shell), checked in a staging directory,
//! then moved into place in one rename.

use std::path::{Path, PathBuf};

use super::{is_executable, valid_word, Manifest, Plugin, PluginError, Registry};

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Dir(PathBuf),
    /// A git URL and the ref to check out (the default branch when `None`).
    Git(String, Option<String>),
    /// Compiled into the binary (`bundled.rs`); never installed through `install`.
    Bundled,
}

impl Source {
    /// A URL (`https://…`, `ssh://…`, `git@host:…`, `file://…`) is cloned; anything else is a
    /// directory on the server.
    pub fn parse(raw: &str) -> Source {
        let url = raw.contains("://") || (raw.starts_with("git@") && raw.contains(':'));
        match url {
            true => Source::Git(raw.to_string(), None),
            false => Source::Dir(PathBuf::from(raw)),
        }
    }
}

/// Where an installed plugin came from, kept in its directory for `plugin:update`.
pub const SOURCE_FILE: &str = ".berth-source";

impl Source {
    /// `dir <path>` or `git <url> [<ref>]`, one line.
    fn to_record(&self) -> String {
        match self {
            Source::Dir(dir) => format!("dir {}\n", dir.display()),
            Source::Git(url, None) => format!("git {url}\n"),
            Source::Git(url, Some(reference)) => format!("git {url} {reference}\n"),
            Source::Bundled => "bundled\n".into(),
        }
    }
}

/// Records `record` (a `.berth-source` as another host kept it) as where `plugin` came from,
/// when it is one; a restored plugin updates from where it first came from.
pub fn keep_source(plugin: &Plugin, record: &[u8]) -> Result<(), PluginError> {
    let text = String::from_utf8_lossy(record);
    let known = ["dir ", "git "].iter().any(|p| text.starts_with(p)) && text.lines().count() == 1;
    if !known {
        return Ok(());
    }
    let path = plugin.dir.join(SOURCE_FILE);
    std::fs::write(&path, text.as_bytes()).map_err(|err| internal(&path, err))
}

/// Where `plugin` was installed from.
pub fn source_of(plugin: &Plugin) -> Result<Source, PluginError> {
    let text = std::fs::read_to_string(plugin.dir.join(SOURCE_FILE)).unwrap_or_default();
    let line = text.lines().next().unwrap_or_default();
    match line.split_once(' ') {
        Some(("dir", path)) => Ok(Source::Dir(PathBuf::from(path))),
        Some(("bundled", _)) => Ok(Source::Bundled),
        Some(("git", rest)) => {
            let mut words = rest.split(' ');
            let url = words.next().unwrap_or_default().to_string();
            Ok(Source::Git(url, words.next().map(str::to_string)))
        }
        _ => Err(PluginError::Refused(format!(
            "Plugin {} does not say where it came from; install it again",
            plugin.name
        ))),
    }
}

/// How large a plugin may be, all files together, and how many files and directories.
const MAX_BYTES: u64 = 64 << 20;
const MAX_ENTRIES: usize = 10_000;
/// How large `plugin.toml` may be.
const MAX_MANIFEST: u64 = 64 << 10;

/// Installs the plugin `source` holds as `name` (its `plugin.toml`'s name when `None`), which
/// must not be one of `taken` (the built-in namespaces); with `replace`, over the installed
/// plugin of that name (`plugin:update`). Returns it, enabled.
pub async fn install(
    registry: &Registry,
    source: &Source,
    name: Option<&str>,
    taken: &[&str],
    replace: bool,
) -> Result<Plugin, PluginError> {
    let root = registry.root();
    std::fs::create_dir_all(root).map_err(|err| internal(root, err))?;
    let staging = Staging::new(root)?;
    let files = staging.0.join("plugin");
    match source {
        Source::Dir(dir) => {
            let dir = dir.clone();
            let into = files.clone();
            tokio::task::spawn_blocking(move || copy_tree(&dir, &into))
                .await
                .map_err(|err| PluginError::Internal(err.to_string()))??
        }
        Source::Git(url, reference) => clone(url, reference.as_deref(), &files).await?,
        Source::Bundled => {
            return Err(PluginError::Refused(
                "A bundled plugin updates with Berth".into(),
            ))
        }
    }
    let manifest = check(&files)?;
    let name = name.unwrap_or(&manifest.name).to_string();
    if !valid_word(&name) {
        return Err(PluginError::Refused(format!(
            "Plugin name {} is invalid: lowercase letters, digits and -, starting with a letter",
            crate::names::shown(&name)
        )));
    }
    if taken.contains(&name.as_str()) {
        return Err(PluginError::Refused(format!(
            "Plugin name {name} is a built-in namespace of Berth"
        )));
    }
    let record = files.join(SOURCE_FILE);
    std::fs::write(&record, source.to_record()).map_err(|err| internal(&record, err))?;
    // Checked and moved into place under the index's lock (no await from here on), so two
    // installs of one name cannot both pass the check.
    let mut index = registry.write();
    let dir = root.join(&name);
    let enabled = match (index.get(&name), dir.exists(), replace) {
        (Some(_), _, false) | (None, true, false) => {
            return Err(PluginError::Refused(format!(
                "Plugin {name} is already installed (plugin:update {name} replaces it)"
            )))
        }
        (None, false, true) => {
            return Err(PluginError::Refused(format!(
                "Plugin {name} is not installed"
            )))
        }
        (installed, _, _) => installed.is_none_or(|p| p.enabled),
    };
    if replace {
        let old = staging.0.join("old");
        std::fs::rename(&dir, &old).map_err(|err| internal(&dir, err))?;
    }
    std::fs::rename(&files, &dir).map_err(|err| internal(&dir, err))?;
    let plugin = Plugin {
        name: name.clone(),
        manifest,
        dir,
        enabled,
    };
    index.insert(name, plugin.clone());
    Ok(plugin)
}

/// A directory under the plugins' root, removed with what it holds when dropped: an install's
/// files until they move into place (and the version they replace).
pub(super) struct Staging(PathBuf);

impl Staging {
    pub(super) fn new(root: &Path) -> Result<Staging, PluginError> {
        use rand::RngExt;
        let bytes: [u8; 8] = rand::rng().random();
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let dir = root.join(format!(".staging-{name}"));
        std::fs::create_dir(&dir).map_err(|err| internal(&dir, err))?;
        Ok(Staging(dir))
    }
}

impl Staging {
    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `dir`'s plugin.toml, if the directory is a usable plugin: a valid manifest, and every
/// program in it (`commands`, `subcommands/*`) an executable regular file.
pub fn check(dir: &Path) -> Result<Manifest, PluginError> {
    let refused = |why: String| PluginError::Refused(why);
    let path = dir.join("plugin.toml");
    let meta = std::fs::symlink_metadata(&path)
        .map_err(|_| refused("Not a plugin: it has no plugin.toml".into()))?;
    if !meta.is_file() || meta.len() > MAX_MANIFEST {
        return Err(refused(
            "Not a plugin: plugin.toml is not a small regular file".into(),
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|err| internal(&path, err))?;
    let manifest: Manifest = toml::from_str(&text).map_err(|err| {
        let first = err.message().lines().next().unwrap_or_default().to_string();
        refused(format!("Invalid plugin.toml: {first}"))
    })?;
    if !valid_word(&manifest.name) {
        return Err(refused(format!(
            "Invalid plugin.toml: name {} is not lowercase letters, digits and -",
            crate::names::shown(&manifest.name)
        )));
    }
    let commands = dir.join("commands");
    if commands.exists() && !is_executable(&commands) {
        return Err(refused(
            "Its commands file is not an executable file".into(),
        ));
    }
    for trigger in super::TRIGGERS {
        let program = dir.join(trigger);
        if program.exists() && !is_executable(&program) {
            return Err(refused(format!(
                "Its {trigger} trigger is not an executable file"
            )));
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("subcommands")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !valid_word(&name) || !is_executable(&entry.path()) {
                return Err(refused(format!(
                    "subcommands/{} is not an executable file with a plain name",
                    crate::names::shown(&name)
                )));
            }
        }
    }
    Ok(manifest)
}

/// Copies `from` into `to`: directories and regular files (with their modes), nothing else,
/// within the size limits.
fn copy_tree(from: &Path, to: &Path) -> Result<(), PluginError> {
    let meta = std::fs::symlink_metadata(from).map_err(|_| {
        PluginError::Refused(format!(
            "No plugin directory at {}",
            crate::names::shown(&from.to_string_lossy())
        ))
    })?;
    if !meta.is_dir() {
        return Err(PluginError::Refused(format!(
            "{} is not a directory",
            crate::names::shown(&from.to_string_lossy())
        )));
    }
    let (mut bytes, mut entries) = (0u64, 0usize);
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((source, target)) = stack.pop() {
        std::fs::create_dir(&target).map_err(|err| internal(&target, err))?;
        for entry in std::fs::read_dir(&source).map_err(|err| internal(&source, err))? {
            let entry = entry.map_err(|err| internal(&source, err))?;
            entries += 1;
            if entries > MAX_ENTRIES {
                return Err(PluginError::Refused(format!(
                    "The plugin has more than {MAX_ENTRIES} files"
                )));
            }
            let (path, into) = (entry.path(), target.join(entry.file_name()));
            let kind = entry.file_type().map_err(|err| internal(&path, err))?;
            if kind.is_dir() {
                stack.push((path, into));
            } else if kind.is_file() {
                bytes += std::fs::copy(&path, &into).map_err(|err| internal(&path, err))?;
                if bytes > MAX_BYTES {
                    return Err(PluginError::Refused(format!(
                        "The plugin is larger than {} MiB",
                        MAX_BYTES >> 20
                    )));
                }
            } else {
                let inside = path.strip_prefix(from).unwrap_or(&path);
                return Err(PluginError::Refused(format!(
                    "{} is not a regular file or directory (symlinks are not copied)",
                    crate::names::shown(&inside.to_string_lossy())
                )));
            }
        }
    }
    Ok(())
}

/// `git clone` of `url` into `dir`, at `reference` when given.
async fn clone(url: &str, reference: Option<&str>, dir: &Path) -> Result<(), PluginError> {
    crate::fetch::clone(url, reference, dir)
        .await
        .map_err(|err| match err {
            crate::fetch::CloneError::Spawn(_) => PluginError::Internal(err.to_string()),
            crate::fetch::CloneError::Failed(why) => PluginError::Refused(format!(
                "Cannot clone {}: {}",
                crate::names::shown(url),
                crate::names::shown(&why)
            )),
        })
}

pub(super) fn internal(path: &Path, err: std::io::Error) -> PluginError {
    PluginError::Internal(format!("{}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn plugin_dir(name: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plugin.toml"),
            format!("name = \"{name}\"\nversion = \"1.0\"\ndescription = \"A test\"\n"),
        )
        .unwrap();
        let commands = dir.path().join("commands");
        std::fs::write(&commands, "#!/bin/sh\necho hi\n").unwrap();
        std::fs::set_permissions(&commands, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    #[tokio::test]
    async fn a_plugin_directory_is_checked_copied_and_indexed() {
        let root = tempfile::tempdir().unwrap();
        let registry = Registry::load(root.path().join("plugins"), root.path().join("data"), &[]);
        let source = plugin_dir("hello");
        let dir = Source::Dir(source.path().to_path_buf());
        let plugin = install(&registry, &dir, None, &["config"], false)
            .await
            .unwrap();
        assert!(plugin.enabled && is_executable(&plugin.dir.join("commands")));
        assert_eq!(registry.command("hello:world").unwrap().1, "world");
        let again = install(&registry, &dir, None, &[], false)
            .await
            .unwrap_err();
        assert!(again.to_string().contains("already installed"), "{again}");
        let builtin = install(&registry, &dir, Some("config"), &["config"], false)
            .await
            .unwrap_err();
        assert_eq!(
            builtin.to_string(),
            "Plugin name config is a built-in namespace of Berth"
        );
        let reloaded = Registry::load(
            root.path().join("plugins"),
            root.path().join("data"),
            &["hello".into()],
        );
        assert!(!reloaded.get("hello").unwrap().enabled);
        assert!(reloaded.command("hello:world").is_none(), "disabled");
    }

    #[tokio::test]
    async fn bad_plugins_are_refused_with_one_line() {
        let root = tempfile::tempdir().unwrap();
        let registry = Registry::load(root.path().join("plugins"), root.path().join("data"), &[]);
        let refusal = |source: &tempfile::TempDir| {
            let source = Source::Dir(source.path().to_path_buf());
            let registry = &registry;
            async move {
                install(registry, &source, None, &[], false)
                    .await
                    .unwrap_err()
                    .to_string()
            }
        };
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(refusal(&empty).await, "Not a plugin: it has no plugin.toml");
        let not_executable = plugin_dir("lazy");
        let commands = not_executable.path().join("commands");
        std::fs::set_permissions(&commands, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            refusal(&not_executable).await,
            "Its commands file is not an executable file"
        );
        let linked = plugin_dir("linked");
        std::os::unix::fs::symlink("/etc/passwd", linked.path().join("passwd")).unwrap();
        assert_eq!(
            refusal(&linked).await,
            "passwd is not a regular file or directory (symlinks are not copied)"
        );
        let badly_named = plugin_dir("Bad_Name");
        assert!(refusal(&badly_named)
            .await
            .starts_with("Invalid plugin.toml: name"));
        assert!(registry.list().is_empty());
        let left: Vec<_> = std::fs::read_dir(registry.root()).unwrap().collect();
        assert!(left.is_empty(), "no staging directory left: {left:?}");
    }
}
