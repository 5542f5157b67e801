//! Where everything lives under `data_dir`. Only `state/` decides these paths; other modules ask.

use std::path::{Path, PathBuf};

use crate::names::AppName;

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn apps_dir(&self) -> PathBuf {
        self.root.join("apps")
    }

    pub fn app_dir(&self, app: &AppName) -> PathBuf {
        self.apps_dir().join(app.as_str())
    }

    /// The app's TLS certificate and key (`server.crt`, `server.key`).
    pub fn tls_dir(&self, app: &AppName) -> PathBuf {
        self.app_dir(app).join("tls")
    }

    /// The output of the app's last failed deploy (`logs:failed`).
    pub fn failed_log(&self, app: &AppName) -> PathBuf {
        self.app_dir(app).join("failed.log")
    }

    /// The app's own maintenance page (`maintenance:custom-page`).
    pub fn maintenance_page(&self, app: &AppName) -> PathBuf {
        self.app_dir(app).join("maintenance.html")
    }

    /// The files the maintenance page uses (stylesheets, images), as a tar.
    pub fn maintenance_assets(&self, app: &AppName) -> PathBuf {
        self.app_dir(app).join("maintenance-assets.tar")
    }

    /// The app's deploy tokens and webhook secrets (`deploy-tokens:create`), mode 0600.
    pub fn deploy_tokens_file(&self, app: &AppName) -> PathBuf {
        self.app_dir(app).join("deploy-tokens.toml")
    }

    /// The deploys the webhook started: `<id>.toml` (what and how it ended) and `<id>.log`.
    pub fn deploy_runs_dir(&self, app: &AppName) -> PathBuf {
        self.app_dir(app).join("deploys")
    }

    pub fn app_file(&self, app: &AppName) -> PathBuf {
        self.app_dir(app).join("app.toml")
    }

    /// Held (`flock`) by the daemon serving this data dir.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("berth.lock")
    }

    /// The pid of the daemon serving now (after a handoff, the successor's).
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("berth.pid")
    }

    /// The audit log (`events.log`, and `events.log.1` before it).
    pub fn events_file(&self) -> PathBuf {
        self.root.join("events.log")
    }

    pub fn keys_file(&self) -> PathBuf {
        self.root.join("keys.toml")
    }

    pub fn global_file(&self) -> PathBuf {
        self.root.join("global.toml")
    }

    /// Git hosts' logins (`git:auth`), mode 0600.
    pub fn git_auth_file(&self) -> PathBuf {
        self.root.join("git-auth.toml")
    }

    /// Registry logins (`registry:login`), mode 0600.
    pub fn registry_auth_file(&self) -> PathBuf {
        self.root.join("registry-auth.toml")
    }

    /// Archives and dumps kept on the server (`backup:schedule`, the service plugins'
    /// `:backup`), one directory each.
    pub fn backups_dir(&self) -> PathBuf {
        self.root.join("backups")
    }

    /// Directories apps may mount (`storage:ensure-directory`).
    pub fn storage_dir(&self) -> PathBuf {
        self.root.join("storage")
    }

    pub fn repos_dir(&self) -> PathBuf {
        self.root.join("repos")
    }

    /// The bare repository a user pushes to.
    pub fn repo_dir(&self, app: &AppName) -> PathBuf {
        self.repos_dir().join(format!("{app}.git"))
    }

    /// Build contexts being built (`git::BuildContext`), one tar file each; emptied at start.
    pub fn contexts_dir(&self) -> PathBuf {
        self.root.join("tmp").join("contexts")
    }

    /// Scratch space for one app's buildpack build (its files in and out, git buildpacks'
    /// clones), removed after it; `builds_dir` holds every app's.
    pub fn scratch_dir(&self, app: &AppName) -> PathBuf {
        self.builds_dir().join(app.as_str())
    }

    /// The apps' build scratch directories; emptied at start.
    pub fn builds_dir(&self) -> PathBuf {
        self.root.join("tmp").join("builds")
    }

    /// `berth` and `dokku`, links to the daemon's binary put first on plugins' PATH.
    pub fn bin_dir(&self) -> PathBuf {
        self.root.join("bin")
    }

    /// Installed plugins, one directory each (`plugins::Registry`).
    pub fn plugins_dir(&self) -> PathBuf {
        self.root.join("plugins")
    }

    /// What plugins keep, one directory each (`BERTH_PLUGIN_DATA`); kept when a plugin is
    /// updated or uninstalled.
    pub fn plugin_data_dir(&self) -> PathBuf {
        self.root.join("plugin-data")
    }

    /// ACME account credentials, one file per directory and contact.
    pub fn acme_dir(&self) -> PathBuf {
        self.root.join("acme")
    }

    /// Git hooks shared by every repository (`core.hooksPath`).
    pub fn hooks_dir(&self) -> PathBuf {
        self.root.join("hooks")
    }
}
