//! The host's logins: registries' (`registry:login`, `registry-auth.toml`) and git hosts'
//! (`git:auth`, `git-auth.toml`), one user and password or token per host, each file mode 0600.
//! The passwords are never in a record, a report or any output; they go to the engine when it
//! pushes or pulls, and to git when it fetches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{io_err, write_atomic, StateError, Store};

/// One login.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Logins {
    #[serde(default)]
    servers: BTreeMap<String, Login>,
}

/// A registry server as `registry:set … server` and `registry:login` take it:
/// `host[:port][/namespace]`, lowercase, without a scheme (as Docker names images).
pub fn valid_registry_server(server: &str) -> bool {
    let (host, namespace) = server.split_once('/').unwrap_or((server, ""));
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    server.len() <= 255
        && name.split('.').all(label)
        && port.is_none_or(|port| {
            port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        })
        && (namespace.is_empty() || valid_image_repo(namespace))
}

/// A repository path (`shop`, `team/shop`): lowercase components of letters, digits and single
/// separators (`.`, `_`, `-`), joined by `/`.
pub fn valid_image_repo(repo: &str) -> bool {
    repo.len() <= 255
        && repo.split('/').all(|component| {
            let bytes = component.as_bytes();
            !bytes.is_empty()
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && component
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        })
}

/// The registry host an image reference is pulled from: its first component when that names a
/// host (has a `.` or a `:`, or is `localhost`), else Docker Hub's `docker.io`.
pub fn registry_host(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// Which hosts a login is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    Registry,
    Git,
}

impl Store {
    fn logins_file(&self, kind: LoginKind) -> std::path::PathBuf {
        match kind {
            LoginKind::Registry => self.layout.registry_auth_file(),
            LoginKind::Git => self.layout.git_auth_file(),
        }
    }

    /// Stores the login for `server` (its host part), replacing one there was.
    pub fn store_login(
        &self,
        kind: LoginKind,
        server: &str,
        login: Login,
    ) -> Result<(), StateError> {
        let _writer = self.lock_mut()?;
        let mut logins = self.read_logins(kind)?;
        logins.servers.insert(host_of(server).to_string(), login);
        self.write_logins(kind, &logins)
    }

    /// Forgets the login for `server`; false when there was none.
    pub fn forget_login(&self, kind: LoginKind, server: &str) -> Result<bool, StateError> {
        let _writer = self.lock_mut()?;
        let mut logins = self.read_logins(kind)?;
        if logins.servers.remove(host_of(server)).is_none() {
            return Ok(false);
        }
        self.write_logins(kind, &logins)?;
        Ok(true)
    }

    /// The login for the git host `host`.
    pub fn git_login_for(&self, host: &str) -> Result<Option<Login>, StateError> {
        Ok(self.read_logins(LoginKind::Git)?.servers.remove(host))
    }

    /// The login for the registry `host` (Docker Hub's under any of its names).
    pub fn registry_login_for(&self, host: &str) -> Result<Option<Login>, StateError> {
        let logins = self.read_logins(LoginKind::Registry)?;
        let hub = ["docker.io", "index.docker.io", "registry-1.docker.io"];
        Ok(logins
            .servers
            .iter()
            .find(|(server, _)| {
                *server == host || (hub.contains(&host) && hub.contains(&server.as_str()))
            })
            .map(|(_, login)| login.clone()))
    }

    /// Every server logged in to, with its user.
    pub fn login_users(&self, kind: LoginKind) -> Result<BTreeMap<String, String>, StateError> {
        let logins = self.read_logins(kind)?;
        Ok(logins
            .servers
            .into_iter()
            .map(|(server, login)| (server, login.user))
            .collect())
    }

    fn read_logins(&self, kind: LoginKind) -> Result<Logins, StateError> {
        let path = self.logins_file(kind);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|err| StateError::Corrupt {
                path,
                message: err.to_string(),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Logins::default()),
            Err(err) => Err(io_err(&path)(err)),
        }
    }

    fn write_logins(&self, kind: LoginKind, logins: &Logins) -> Result<(), StateError> {
        let path = self.logins_file(kind);
        let text = toml::to_string(logins).map_err(|err| StateError::Corrupt {
            path: path.clone(),
            message: err.to_string(),
        })?;
        write_atomic(&path, text.as_bytes(), 0o600).map_err(io_err(&path))
    }
}

/// `host[:port]` of a server (`registry:set … server`) that may name a namespace.
pub fn host_of(server: &str) -> &str {
    server.split_once('/').map_or(server, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_repos() {
        for ok in [
            "docker.io",
            "ghcr.io/team",
            "127.0.0.1:5000",
            "registry.example.com:443/a/b",
        ] {
            assert!(valid_registry_server(ok), "{ok}");
        }
        for bad in [
            "",
            "https://ghcr.io",
            "Ghcr.io",
            "ghcr.io:",
            "ghcr.io:99999",
            "-a.io",
            "a..io",
            "ghcr.io/Team",
            "ghcr.io/../x",
            "a.io/x y",
        ] {
            assert!(!valid_registry_server(bad), "{bad}");
        }
        for ok in ["shop", "team/shop", "a.b_c-d"] {
            assert!(valid_image_repo(ok), "{ok}");
        }
        for bad in ["", "Shop", "/shop", "shop/", "a//b", ".x", "x-", "a:b"] {
            assert!(!valid_image_repo(bad), "{bad}");
        }
    }

    #[test]
    fn the_registry_of_an_image() {
        assert_eq!(registry_host("busybox"), "docker.io");
        assert_eq!(registry_host("library/busybox:1"), "docker.io");
        assert_eq!(registry_host("ghcr.io/team/app:v1"), "ghcr.io");
        assert_eq!(registry_host("127.0.0.1:5000/shop:3"), "127.0.0.1:5000");
        assert_eq!(registry_host("localhost/shop"), "localhost");
    }

    #[test]
    fn a_login_is_kept_private_and_never_debug_printed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let login = Login {
            user: "ci".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{login:?}").contains("hunter2"));
        store
            .store_login(LoginKind::Registry, "ghcr.io/team", login.clone())
            .unwrap();
        let path = store.layout.registry_auth_file();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(store.registry_login_for("ghcr.io").unwrap(), Some(login));
        assert_eq!(store.registry_login_for("docker.io").unwrap(), None);
        assert_eq!(store.git_login_for("ghcr.io").unwrap(), None);
        assert!(store.forget_login(LoginKind::Registry, "ghcr.io").unwrap());
        assert!(!store.forget_login(LoginKind::Registry, "ghcr.io").unwrap());
    }
}
