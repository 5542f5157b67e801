//! Berth's durable state: apps, releases and SSH keys, kept as TOML files under `data_dir`.
//!
//! The store keeps an in-memory copy for fast reads. Every mutation is applied to a copy, written
//! atomically (see `atomic`), and only then made visible, so a failed write changes nothing.
//! This module is the only one that touches the data dir's files directly (repositories excepted:
//! `git/` owns their contents, at the paths `Layout` gives).

mod app_files;
mod atomic;
mod deploy_runs;
mod format;
mod keys;
mod layout;
mod lock;
mod records;
mod registry;
mod restore;
mod secrets;
mod storage;
mod tokens;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::clock::now_unix;
pub use app_files::MaintenancePage;
pub use atomic::{link_atomic, write_atomic};
pub use deploy_runs::{DeployRun, RunStatus, KEPT_RUNS};
pub use layout::Layout;
pub use lock::DataDirLock;
pub use records::{
    AcmeProps, AppRecord, BackupSchedule, BuilderSettings, BuildpackSettings, ChecksSettings,
    CronTask, DomainSettings, GitSettings, GlobalSettings, KeyRing, LetsencryptSettings, Mount,
    NetworkSettings, ProxyLimits, RegistrySettings, Release, Resources, Role, SshKey, TlsSettings,
    ALL_PROCESSES, UNLIMITED,
};
pub use registry::{
    host_of as registry_server_host, registry_host, valid_image_repo, valid_registry_server, Login,
    LoginKind,
};
pub use restore::{read_staged, Staged};
pub use secrets::{valid_secret_name, MAX_SECRET};
pub use storage::{valid_storage_name, MountSource};
pub use tokens::{DeployToken, TokenKind};

use crate::names::{AppName, KeyName};

/// A stored certificate chain and its private key, as PEM.
pub struct CertPem {
    pub crt: Vec<u8>,
    pub key: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is unreadable: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("Name is already taken")]
    AppExists(AppName),
    #[error("App {0} does not exist")]
    AppMissing(AppName),
    #[error("A key named {0} already exists")]
    KeyNameTaken(KeyName),
    #[error("This key is already added as {0}")]
    KeyAlreadyAdded(KeyName),
    #[error("No key named {0}")]
    KeyMissing(KeyName),
    #[error("another berth daemon (pid {pid}) serves the data dir {data_dir}; stop it first, or send it SIGUSR2 to replace it")]
    Locked { data_dir: PathBuf, pid: String },
    #[error("Berth has handed over to a new process; reconnect and run the command again")]
    HandedOver,
    #[error("{path} was written by a newer Berth (state format {found}; this one reads up to {current}): upgrade Berth, or restore the file from before the upgrade")]
    Newer {
        path: PathBuf,
        found: u32,
        current: u32,
    },
    #[error("App {app} is out of service: {why}. Fix or restore its file, then restart Berth")]
    Broken { app: AppName, why: String },
    #[error("Cannot mount {path}: {why}")]
    MountRefused { path: String, why: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

struct Snapshot {
    apps: BTreeMap<AppName, AppRecord>,
    /// Apps whose file could not be read at start, with why: left out, and refused until fixed.
    broken: BTreeMap<AppName, String>,
    keys: KeyRing,
    global: GlobalSettings,
    /// Set once a successor daemon took (or is taking) this state over: every write is refused,
    /// since the successor read the files and would never see it.
    frozen: bool,
}

impl Snapshot {
    fn record(&self, name: &AppName) -> Result<AppRecord, StateError> {
        self.apps
            .get(name)
            .cloned()
            .ok_or_else(|| self.missing(name))
    }

    /// Whether `name` is an app's, usable or out of service.
    fn taken(&self, name: &AppName) -> bool {
        self.apps.contains_key(name) || self.broken.contains_key(name)
    }

    /// Why `name` has no record: it does not exist, or its file is unreadable.
    fn missing(&self, name: &AppName) -> StateError {
        match self.broken.get(name) {
            Some(why) => StateError::Broken {
                app: name.clone(),
                why: why.clone(),
            },
            None => StateError::AppMissing(name.clone()),
        }
    }
}

/// The one owner of on-disk state.
pub struct Store {
    layout: Layout,
    snapshot: Mutex<Snapshot>,
}

impl Store {
    /// Creates the data dir layout if needed and loads every state file.
    pub fn open(data_dir: &Path) -> Result<Store, StateError> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let layout = Layout::new(data_dir);
        for dir in [
            layout.root().to_path_buf(),
            layout.apps_dir(),
            layout.repos_dir(),
            layout.hooks_dir(),
        ] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(io_err(&dir))?;
        }
        // Build contexts and files left by a daemon that stopped mid-build belong to no build
        // now.
        for leftovers in [layout.contexts_dir(), layout.builds_dir()] {
            if leftovers.exists() {
                fs::remove_dir_all(&leftovers).map_err(io_err(&leftovers))?;
            }
        }
        // Keys, certificates, config values and every app's source are in here: other local
        // users may not even list it, whatever mode an older Berth or an admin gave it.
        for dir in [layout.root().to_path_buf(), layout.repos_dir()] {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_err(&dir))?;
        }
        let keys = read_or_default(&format::KEYS, &layout.keys_file())?;
        let global = read_or_default(&format::GLOBAL, &layout.global_file())?;
        let mut apps = BTreeMap::new();
        let mut broken = BTreeMap::new();
        let apps_dir = layout.apps_dir();
        for entry in fs::read_dir(&apps_dir).map_err(io_err(&apps_dir))? {
            let entry = entry.map_err(io_err(&apps_dir))?;
            let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| AppName::parse(n).ok())
            else {
                continue;
            };
            let file = layout.app_file(&name);
            let text = match fs::read_to_string(&file) {
                Ok(text) => text,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(io_err(&file)(err)),
            };
            // One app's unreadable file must not take every other app's routes down with it.
            match format::decode::<AppRecord>(&format::APP, &file, &text) {
                Ok(record) => {
                    apps.insert(name, record);
                }
                Err(err) => {
                    tracing::error!(app = %name, error = %err, "app left out: its state file is unreadable");
                    broken.insert(name, err.to_string());
                }
            }
        }
        Ok(Store {
            layout,
            snapshot: Mutex::new(Snapshot {
                apps,
                broken,
                keys,
                global,
                frozen: false,
            }),
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        // A panic while holding the lock cannot leave a half-applied mutation: mutations are
        // applied to copies, so the data behind a poisoned lock is still consistent.
        self.snapshot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The snapshot, to change: refused while frozen.
    fn lock_mut(&self) -> Result<std::sync::MutexGuard<'_, Snapshot>, StateError> {
        let snapshot = self.lock();
        match snapshot.frozen {
            true => Err(StateError::HandedOver),
            false => Ok(snapshot),
        }
    }

    /// Refuses every write from now on (a successor is about to read the files); a write in
    /// progress finishes first, since it holds the lock this takes.
    pub fn freeze(&self) {
        self.lock().frozen = true;
    }

    /// Takes writes again (the successor did not start).
    pub fn thaw(&self) {
        self.lock().frozen = false;
    }

    // === apps ===

    pub fn app_names(&self) -> Vec<AppName> {
        self.lock().apps.keys().cloned().collect()
    }

    pub fn apps(&self) -> Vec<AppRecord> {
        self.lock().apps.values().cloned().collect()
    }

    pub fn app(&self, name: &AppName) -> Result<AppRecord, StateError> {
        let snapshot = self.lock();
        snapshot.record(name)
    }

    /// True for an app out of service too (its name stays taken).
    pub fn app_exists(&self, name: &AppName) -> bool {
        self.lock().taken(name)
    }

    /// Apps whose file could not be read at start, with why.
    pub fn broken_apps(&self) -> Vec<(AppName, String)> {
        self.lock()
            .broken
            .iter()
            .map(|(name, why)| (name.clone(), why.clone()))
            .collect()
    }

    pub fn create_app(&self, name: &AppName) -> Result<AppRecord, StateError> {
        let mut snapshot = self.lock_mut()?;
        if snapshot.taken(name) {
            return Err(StateError::AppExists(name.clone()));
        }
        let record = AppRecord::new(name.clone(), now_unix());
        let dir = self.layout.app_dir(name);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        self.write(&self.layout.app_file(name), &record)?;
        snapshot.apps.insert(name.clone(), record.clone());
        Ok(record)
    }

    /// Applies `change` to a copy of the app's record, saves it, then makes it current.
    pub fn update_app<T>(
        &self,
        name: &AppName,
        change: impl FnOnce(&mut AppRecord) -> T,
    ) -> Result<(AppRecord, T), StateError> {
        let mut snapshot = self.lock_mut()?;
        let mut record = snapshot.record(name)?;
        let out = change(&mut record);
        self.write(&self.layout.app_file(name), &record)?;
        snapshot.apps.insert(name.clone(), record.clone());
        Ok((record, out))
    }

    /// Creates `to` with `from`'s settings (config, secrets, ACL, checks, scale, mounts,
    /// resources, restart policy) and a copy of its repository; no releases, unlocked, not
    /// stopped.
    pub fn clone_app(
        &self,
        from: &AppName,
        to: &AppName,
        ports: Vec<String>,
    ) -> Result<AppRecord, StateError> {
        let mut snapshot = self.lock_mut()?;
        let source = snapshot.record(from)?;
        if snapshot.taken(to) {
            return Err(StateError::AppExists(to.clone()));
        }
        let mut record = AppRecord::new(to.clone(), now_unix());
        record.env = source.env;
        record.checks = source.checks;
        record.formation = source.formation;
        record.mounts = source.mounts;
        record.resources = source.resources;
        record.restart_policy = source.restart_policy;
        record.stop_timeout_secs = source.stop_timeout_secs;
        record.procfile_path = source.procfile_path;
        record.docker_options = source.docker_options;
        record.builder = source.builder;
        record.buildpacks = source.buildpacks;
        record.http_auth = source.http_auth;
        record.proxy = source.proxy;
        record.git = source.git;
        record.cron_suspended = source.cron_suspended;
        record.ports = ports;
        record.acl = source.acl;
        record.secrets = source.secrets;
        let repo = self.layout.repo_dir(from);
        if repo.exists() {
            copy_dir(&repo, &self.layout.repo_dir(to))?;
        }
        let secrets = self.layout.app_dir(from).join("secrets");
        if secrets.exists() {
            copy_dir(&secrets, &self.layout.app_dir(to).join("secrets"))?;
        }
        let dir = self.layout.app_dir(to);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        self.write(&self.layout.app_file(to), &record)?;
        snapshot.apps.insert(to.clone(), record.clone());
        Ok(record)
    }

    /// Changes two apps together (`apps:rename` moving settings): `to` is written first, so a
    /// crash in between leaves the settings on both rather than on neither.
    pub fn update_pair(
        &self,
        from: &AppName,
        to: &AppName,
        change: impl FnOnce(&mut AppRecord, &mut AppRecord),
    ) -> Result<(), StateError> {
        let mut snapshot = self.lock_mut()?;
        let (mut source, mut target) = (snapshot.record(from)?, snapshot.record(to)?);
        change(&mut source, &mut target);
        self.write(&self.layout.app_file(to), &target)?;
        snapshot.apps.insert(to.clone(), target);
        self.write(&self.layout.app_file(from), &source)?;
        snapshot.apps.insert(from.clone(), source);
        Ok(())
    }

    /// Forgets the app: its state directory and its repository.
    pub fn destroy_app(&self, name: &AppName) -> Result<(), StateError> {
        let mut snapshot = self.lock_mut()?;
        if !snapshot.apps.contains_key(name) {
            return Err(snapshot.missing(name));
        }
        for dir in [self.layout.repo_dir(name), self.layout.app_dir(name)] {
            match fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io_err(&dir)(err)),
            }
        }
        snapshot.apps.remove(name);
        Ok(())
    }

    // === TLS certificates (`apps/<app>/tls/`) ===

    /// Saves the app's certificate chain and key (both 0600; the key first, so a crash never
    /// leaves a new certificate beside an old key unnoticed: `certs` checks they match).
    /// An app destroyed meanwhile (a renewal racing `apps:destroy`) gets none: a stray
    /// certificate would show up for the next app of that name.
    pub fn save_cert(&self, app: &AppName, crt: &[u8], key: &[u8]) -> Result<(), StateError> {
        let snapshot = self.lock_mut()?;
        if !snapshot.apps.contains_key(app) {
            return Err(snapshot.missing(app));
        }
        let dir = self.layout.tls_dir(app);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        for (name, bytes) in [("server.key", key), ("server.crt", crt)] {
            let path = dir.join(name);
            write_atomic(&path, bytes, 0o600).map_err(io_err(&path))?;
        }
        Ok(())
    }

    /// The app's certificate chain and key, if it has them.
    pub fn cert(&self, app: &AppName) -> Result<Option<CertPem>, StateError> {
        let dir = self.layout.tls_dir(app);
        let read = |name: &str| {
            let path = dir.join(name);
            match fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(io_err(&path)(err)),
            }
        };
        Ok(match (read("server.crt")?, read("server.key")?) {
            (Some(crt), Some(key)) => Some(CertPem { crt, key }),
            _ => None,
        })
    }

    /// Removes the app's certificate; false when it had none.
    pub fn remove_cert(&self, app: &AppName) -> Result<bool, StateError> {
        let _snapshot = self.lock_mut()?;
        let dir = self.layout.tls_dir(app);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(io_err(&dir)(err)),
        }
    }

    // === global settings ===

    pub fn global(&self) -> GlobalSettings {
        self.lock().global.clone()
    }

    /// The scheduler `scheduler:set` selected for `app`, else the global one; `None`: neither
    /// (docker-local). A missing app has none.
    pub fn scheduler_of(&self, app: &AppName) -> Option<String> {
        let snapshot = self.lock();
        let record = snapshot.apps.get(app)?;
        record.scheduler_in(&snapshot.global).map(str::to_string)
    }

    /// The port release `number` of `app` listens on, if both exist.
    pub fn release_port(&self, app: &AppName, number: u32) -> Option<u16> {
        let snapshot = self.lock();
        let record = snapshot.apps.get(app)?;
        Some(record.releases.iter().find(|r| r.number == number)?.port)
    }

    pub fn update_global(
        &self,
        change: impl FnOnce(&mut GlobalSettings),
    ) -> Result<(), StateError> {
        let mut snapshot = self.lock_mut()?;
        let mut global = snapshot.global.clone();
        change(&mut global);
        self.write(&self.layout.global_file(), &global)?;
        snapshot.global = global;
        Ok(())
    }

    pub(super) fn write<T: serde::Serialize>(
        &self,
        path: &Path,
        value: &T,
    ) -> Result<(), StateError> {
        let text = toml::to_string_pretty(value).map_err(|err| StateError::Corrupt {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
        write_atomic(path, text.as_bytes(), 0o600).map_err(io_err(path))
    }
}

/// Copies a directory tree (a bare repository: plain files and directories).
fn copy_dir(from: &Path, to: &Path) -> Result<(), StateError> {
    fs::create_dir_all(to).map_err(io_err(to))?;
    for entry in fs::read_dir(from).map_err(io_err(from))? {
        let entry = entry.map_err(io_err(from))?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type().map_err(io_err(&entry.path()))?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target).map_err(io_err(&target))?;
        }
    }
    Ok(())
}

/// The state files under `data_dir` that do not read, with why (`berth doctor`); reads only.
pub fn unreadable_files(data_dir: &Path) -> Vec<(PathBuf, String)> {
    let layout = Layout::new(data_dir);
    let mut bad = Vec::new();
    let global = read_or_default::<GlobalSettings>(&format::GLOBAL, &layout.global_file());
    if let Err(err) = global {
        bad.push((layout.global_file(), err.to_string()));
    }
    if let Err(err) = read_or_default::<KeyRing>(&format::KEYS, &layout.keys_file()) {
        bad.push((layout.keys_file(), err.to_string()));
    }
    let Ok(apps) = fs::read_dir(layout.apps_dir()) else {
        return bad;
    };
    for entry in apps.filter_map(Result::ok) {
        let file = entry.path().join("app.toml");
        match fs::read_to_string(&file) {
            Ok(text) => {
                if let Err(err) = format::decode::<AppRecord>(&format::APP, &file, &text) {
                    bad.push((file, err.to_string()));
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => bad.push((file, err.to_string())),
        }
    }
    bad
}

fn read_or_default<T: serde::de::DeserializeOwned + Default>(
    format: &format::Format,
    path: &Path,
) -> Result<T, StateError> {
    match fs::read_to_string(path) {
        Ok(text) => format::decode(format, path, &text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(err) => Err(io_err(path)(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str) -> AppName {
        AppName::parse(name).unwrap()
    }

    #[test]
    fn apps_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_app(&app("shop")).unwrap();
        assert!(matches!(
            store.create_app(&app("shop")),
            Err(StateError::AppExists(_))
        ));
        store
            .update_app(&app("shop"), |r| r.current_release = Some(1))
            .unwrap();
        let reopened = Store::open(dir.path()).unwrap();
        assert_eq!(reopened.app_names(), vec![app("shop")]);
        assert_eq!(reopened.app(&app("shop")).unwrap().current_release, Some(1));
        reopened.destroy_app(&app("shop")).unwrap();
        assert!(Store::open(dir.path()).unwrap().app_names().is_empty());
    }

    #[test]
    fn certificates_belong_to_existing_apps_and_go_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(matches!(
            store.save_cert(&app("gone"), b"crt", b"key"),
            Err(StateError::AppMissing(_))
        ));
        store.create_app(&app("shop")).unwrap();
        store.save_cert(&app("shop"), b"crt", b"key").unwrap();
        assert_eq!(store.cert(&app("shop")).unwrap().unwrap().crt, b"crt");
        store.destroy_app(&app("shop")).unwrap();
        store.create_app(&app("shop")).unwrap();
        assert!(store.cert(&app("shop")).unwrap().is_none());
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_app(&app("shop")).unwrap();
        let file = store.layout().app_file(&app("shop"));
        let before = fs::read(&file).unwrap();
        fs::remove_dir_all(store.layout().app_dir(&app("shop"))).unwrap();
        let result = store.update_app(&app("shop"), |r| r.current_release = Some(7));
        assert!(matches!(result, Err(StateError::Io { .. })));
        assert_eq!(store.app(&app("shop")).unwrap().current_release, None);
        assert!(!before.is_empty());
    }

    #[test]
    fn keys_are_unique_by_name_and_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = |name: &str, text: &str| SshKey {
            name: KeyName::parse(name).unwrap(),
            public_key: text.to_string(),
            fingerprint: "SHA256:x".to_string(),
            added_at: 0,
            role: Role::Admin,
        };
        store.add_key(key("alice", "ssh-ed25519 AAAA1")).unwrap();
        assert!(matches!(
            store.add_key(key("alice", "ssh-ed25519 AAAA2")),
            Err(StateError::KeyNameTaken(_))
        ));
        assert!(matches!(
            store.add_key(key("bob", "ssh-ed25519 AAAA1")),
            Err(StateError::KeyAlreadyAdded(_))
        ));
        assert_eq!(
            store.key_name_for("ssh-ed25519 AAAA1").unwrap().as_str(),
            "alice"
        );
        store.remove_key(&KeyName::parse("alice").unwrap()).unwrap();
        assert!(Store::open(dir.path()).unwrap().keys().is_empty());
    }
}
