//! The serde types stored on disk. Each file carries a `version` so later releases can migrate it.

use serde::{Deserialize, Serialize};

use crate::names::{AppName, KeyName};

pub const APP_FILE_VERSION: u32 = 1;
pub const KEYS_FILE_VERSION: u32 = 1;

/// `apps/<app>/app.toml`: one app and its release history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppRecord {
    pub version: u32,
    pub name: AppName,
    /// Unix seconds.
    pub created_at: u64,
    /// The release the proxy routes to, if any deploy succeeded.
    pub current_release: Option<u32>,
    #[serde(default)]
    pub releases: Vec<Release>,
}

/// One successful deploy: `vN`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub number: u32,
    pub image: String,
    pub git_rev: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// The SSH key name (or `local` for the server's CLI) that caused it.
    pub created_by: String,
    /// The port the app listens on inside its container (`PORT`).
    pub port: u16,
}

impl AppRecord {
    pub fn new(name: AppName, created_at: u64) -> AppRecord {
        AppRecord {
            version: APP_FILE_VERSION,
            name,
            created_at,
            current_release: None,
            releases: Vec::new(),
        }
    }

    /// The number the next deploy will get.
    pub fn next_release_number(&self) -> u32 {
        self.releases.iter().map(|r| r.number).max().unwrap_or(0) + 1
    }

    pub fn current(&self) -> Option<&Release> {
        let number = self.current_release?;
        self.releases.iter().find(|r| r.number == number)
    }
}

/// `keys.toml`: the public keys allowed to log in over SSH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRing {
    pub version: u32,
    #[serde(default)]
    pub keys: Vec<SshKey>,
}

impl Default for KeyRing {
    fn default() -> Self {
        KeyRing {
            version: KEYS_FILE_VERSION,
            keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SshKey {
    pub name: KeyName,
    /// `ssh-ed25519 AAAA...` without the comment.
    pub public_key: String,
    /// `SHA256:...`
    pub fingerprint: String,
    pub added_at: u64,
}
