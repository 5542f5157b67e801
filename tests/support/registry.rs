//! A Docker registry on loopback (Debian's `docker-registry`), with one htpasswd user, for the
//! tests of pushes and private pulls. The engine talks plain HTTP to 127.0.0.1 registries.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::eventually;

pub struct Registry {
    child: Child,
    /// Its config, users and storage, removed with it.
    _dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub server: String,
    pub user: String,
    pub password: String,
}

impl Registry {
    /// Starts a registry that lets in `user` with a random password.
    pub fn start(user: &str) -> Registry {
        let dir = tempfile::tempdir().expect("temp dir");
        let password = super::unique("pw");
        let htpasswd = Command::new("htpasswd")
            .args(["-Bbn", user, &password])
            .output()
            .expect("htpasswd (apache2-utils)");
        assert!(htpasswd.status.success(), "{htpasswd:?}");
        std::fs::write(dir.path().join("htpasswd"), &htpasswd.stdout).expect("htpasswd file");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = format!("127.0.0.1:{port}");
        std::fs::write(dir.path().join("config.yml"), config(dir.path(), &server))
            .expect("registry config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian's docker-registry)");
        let registry = Registry {
            child,
            _dir: dir,
            server,
            user: user.to_string(),
            password,
        };
        assert!(
            eventually(Duration::from_secs(20), || registry.status("/v2/", false)
                == 401),
            "the registry never answered"
        );
        registry
    }

    /// The HTTP status of `path`, logged in or not.
    fn status(&self, path: &str, logged_in: bool) -> u16 {
        let mut curl = Command::new("curl");
        curl.args(["-s", "-o", "/dev/null", "-w", "%{http_code}"]);
        if logged_in {
            curl.args(["-u", &format!("{}:{}", self.user, self.password)]);
        }
        let out = curl
            .arg(format!("http://{}{path}", self.server))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
    }

    /// The tags the registry holds of `repo`.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let out = Command::new("curl")
            .args(["-s", "-u", &format!("{}:{}", self.user, self.password)])
            .arg(format!("http://{}/v2/{repo}/tags/list", self.server))
            .output()
            .expect("curl");
        let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        listed["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn config(dir: &Path, server: &str) -> String {
    format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {data}\n\
         http:\n  addr: {server}\nauth:\n  htpasswd:\n    realm: berth-test\n    path: {htpasswd}\n",
        data = dir.join("data").display(),
        htpasswd = dir.join("htpasswd").display(),
    )
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
