//! The daemon's configuration file (TOML), with a default for every key.
//!
//! Config is read once at start and passed explicitly to whoever needs it; nothing reads it globally.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::size::Size;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// Everything `berth daemon` and the local CLI need to know about this host.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where state, repositories, the host key and the control socket live.
    pub data_dir: PathBuf,
    /// Apps answer at `<app>.<global_domain>`.
    pub global_domain: String,
    /// The unix socket the local CLI talks to; `<data_dir>/berth.sock` when unset.
    pub control_socket: Option<PathBuf>,
    /// Where the Docker engine listens (`unix:///var/run/docker.sock` or `tcp://host:port`).
    pub docker_host: String,
    pub ssh: SshConfig,
    pub proxy: ProxyConfig,
    pub deploy: DeployConfig,
    pub build: BuildConfig,
    pub acme: AcmeConfig,
    pub admin: AdminConfig,
}

/// The admin HTTP listener: `/metrics` (Prometheus) and `/healthz`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// `host:port`; empty: no admin listener.
    pub listen: String,
    /// When set, requests need `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// How often instances' state, CPU and memory are sampled for `/metrics`.
    pub sample_secs: u64,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: "127.0.0.1:9180".to_string(),
            token: None,
            sample_secs: 15,
        }
    }
}

/// Automatic certificates (`letsencrypt:*`); `letsencrypt:set` overrides these per app or globally.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AcmeConfig {
    /// The ACME directory (Let's Encrypt's production one by default).
    pub directory_url: String,
    /// The account's contact address, if any.
    pub email: Option<String>,
    /// A PEM root certificate to trust for the ACME server's own HTTPS (a private or test CA);
    /// the system's roots when unset.
    pub ca_file: Option<PathBuf>,
    /// Renew a certificate when it expires within this many seconds.
    pub graceperiod_secs: u64,
    /// How often the daemon looks for certificates due for renewal.
    pub renew_check_secs: u64,
}

/// Let's Encrypt's production directory.
pub const LETSENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory (untrusted certificates, generous rate limits).
pub const LETSENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

impl Default for AcmeConfig {
    fn default() -> Self {
        AcmeConfig {
            directory_url: LETSENCRYPT_PRODUCTION.to_string(),
            email: None,
            ca_file: None,
            graceperiod_secs: 30 * 24 * 3600,
            renew_check_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BuildConfig {
    /// The image buildpacks compile in (`buildpacks:set-property` overrides it per app).
    pub stack_image: String,
    /// The image a buildpack-built app runs on; the stack image when unset.
    pub run_image: Option<String>,
    /// How many builds may run at once; more wait their turn (`builds:list`).
    pub concurrent: usize,
    /// The largest pack a `git push` may send (git's `receive.maxInputSize`).
    pub max_push_size: Size,
    /// The largest build context: the files of the commit (or build directory) a deploy
    /// builds, or what a `git:from-archive` archive unpacks to. Checked from git's object
    /// headers before any file is read.
    pub max_context_size: Size,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            stack_image: "berth/stack:bookworm".to_string(),
            run_image: None,
            concurrent: 1,
            max_push_size: Size::from_bytes(1 << 30),
            max_context_size: Size::from_bytes(1 << 30),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SshConfig {
    pub listen: SocketAddr,
    /// The server's private host key (OpenSSH format); generated on first start if missing.
    /// `<data_dir>/ssh_host_ed25519_key` when unset.
    pub host_key: Option<PathBuf>,
    /// Connections that have not logged in yet, at most (OpenSSH's `MaxStartups`): more are
    /// closed as soon as they are accepted.
    pub max_unauthenticated: usize,
    /// How long a connection may take to log in before it is closed (OpenSSH's
    /// `LoginGraceTime`).
    pub login_grace_time_secs: u64,
    /// An OpenSSH `authorized_keys` file Berth rewrites whenever keys change, one forced
    /// `berth ssh-command --key NAME` line per key, so the host's sshd can front Berth.
    pub authorized_keys_file: Option<PathBuf>,
    /// Sessions a developer key may have open at once (admins are not capped).
    pub developer_sessions: usize,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    pub http_listen: SocketAddr,
    /// HTTPS for apps with a certificate (SNI picks it).
    pub https_listen: SocketAddr,
    /// How long a request waits for an app in a stop-first swap before it gets a 503.
    pub hold_timeout_secs: u64,
    /// How long an app may take to send response headers before the client gets a 504.
    pub read_timeout_secs: u64,
    /// How long a client may send nothing of a request body the proxy is waiting for before it
    /// gets a 408 (nginx's `client_body_timeout`).
    pub client_body_timeout_secs: u64,
    /// How long a client may take nothing of a response the proxy is writing before its
    /// connection is closed (nginx's `send_timeout`).
    pub send_timeout_secs: u64,
    /// How long a client may take to send a request's headers, and how long a keep-alive
    /// connection may sit idle between requests, before it is closed (nginx's
    /// `client_header_timeout` and `keepalive_timeout` in one): slow or idle clients cannot
    /// hold sockets forever. 75 s, nginx's keep-alive default: a load balancer in front must be
    /// the one to close an idle connection (AWS ALB: after 60 s), or it may send a request on a
    /// connection Berth is closing and answer it with a 502.
    pub client_header_timeout_secs: u64,
    /// When the daemon stops or hands over, how long an idle HTTP/1.1 keep-alive connection
    /// stays open for its next request, answered with `Connection: close`, before it is closed
    /// (nginx's `keepalive_min_timeout`; 0: closed at once).
    pub keepalive_drain_secs: u64,
    /// Apps' text responses (HTML, CSS, JavaScript, JSON, XML, plain text, SVG, fonts) go out
    /// gzip-compressed to clients that accept it, as Dokku's nginx template does; `false`
    /// passes every response as the app sent it.
    pub gzip: bool,
    /// Larger request bodies get a 413 (`1m`, `512k`, `0` for no limit), as nginx's.
    pub client_max_body_size: Size,
    /// Larger request heads (request line and headers together) get a 431 (`32k`, as nginx's
    /// `large_client_header_buffers 4 8k` allows; 1k to 256k).
    pub client_max_header_size: Size,
    /// Proxy worker threads (like nginx's `worker_processes`); unset: one per CPU.
    pub workers: Option<usize>,
    /// Wrong basic-auth credentials one client address may send in a minute (to any app)
    /// before it gets 429s for the rest of that minute, without its passwords being checked;
    /// 0: no limit.
    pub auth_failures_per_minute: u32,
    /// Where access lines go: `stderr` (the daemon's log), `off`, or a file path.
    pub access_log: String,
    /// How access lines read: `berth` (structured, as the daemon's log) or `combined` (nginx's).
    pub access_log_format: AccessLogFormat,
}

/// `[proxy] access_log_format`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogFormat {
    #[default]
    Berth,
    Combined,
}

impl ProxyConfig {
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }
}

/// The bounds of `[proxy] client_max_header_size`: room for a request line, and no more than
/// the HTTP/1.1 parser's own buffer.
const MIN_HEADER_SIZE: u64 = 1 << 10;
const MAX_HEADER_SIZE: u64 = 256 << 10;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeployConfig {
    /// How long a new container may take to answer on its port before the deploy fails.
    pub start_timeout_secs: u64,
    /// Seconds between SIGTERM and SIGKILL when an old container is stopped.
    pub stop_timeout_secs: u64,
    /// The Docker network Berth creates and attaches every app container to.
    pub network: String,
    /// With no declared checks: how long a new container must stay up after it first answers.
    pub check_wait_secs: u64,
    /// How long old instances keep running after the switch (`checks:set` overrides it).
    pub wait_to_retire_secs: u64,
    /// How many releases keep their images for `releases:rollback`.
    pub keep_releases: usize,
    /// Seconds after a switch during which Berth watches the new release (0: off).
    pub watch_secs: u64,
    /// The share of failed requests (5xx or unreachable) that rolls a watched release back.
    pub watch_error_rate: f64,
    /// Fewer requests than this in the window never trigger a rollback.
    pub watch_min_requests: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("/var/lib/berth"),
            global_domain: "berth.localhost".to_string(),
            control_socket: None,
            docker_host: "unix:///var/run/docker.sock".to_string(),
            ssh: SshConfig::default(),
            proxy: ProxyConfig::default(),
            deploy: DeployConfig::default(),
            build: BuildConfig::default(),
            acme: AcmeConfig::default(),
            admin: AdminConfig::default(),
        }
    }
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 2222)),
            host_key: None,
            max_unauthenticated: 100,
            login_grace_time_secs: 30,
            authorized_keys_file: None,
            developer_sessions: 4,
        }
    }
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            http_listen: SocketAddr::from(([0, 0, 0, 0], 80)),
            https_listen: SocketAddr::from(([0, 0, 0, 0], 443)),
            hold_timeout_secs: 30,
            read_timeout_secs: 60,
            client_body_timeout_secs: 60,
            send_timeout_secs: 60,
            client_header_timeout_secs: 75,
            keepalive_drain_secs: 5,
            gzip: true,
            client_max_body_size: Size::from_bytes(1 << 20),
            client_max_header_size: Size::from_bytes(32 << 10),
            workers: None,
            auth_failures_per_minute: 10,
            access_log: "stderr".to_string(),
            access_log_format: AccessLogFormat::Berth,
        }
    }
}

impl Default for DeployConfig {
    fn default() -> Self {
        DeployConfig {
            start_timeout_secs: 60,
            stop_timeout_secs: 10,
            network: "berth".to_string(),
            check_wait_secs: 2,
            wait_to_retire_secs: 60,
            keep_releases: 5,
            watch_secs: 30,
            watch_error_rate: 0.5,
            watch_min_requests: 10,
        }
    }
}

impl Config {
    /// Reads `path`; a missing file at the default location means "all defaults".
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                return Ok(Config::default())
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Config::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|err| err.message().to_string())?;
        let intervals = [
            (
                "[proxy] client_header_timeout_secs",
                config.proxy.client_header_timeout_secs,
            ),
            ("[proxy] read_timeout_secs", config.proxy.read_timeout_secs),
            (
                "[proxy] client_body_timeout_secs",
                config.proxy.client_body_timeout_secs,
            ),
            ("[proxy] send_timeout_secs", config.proxy.send_timeout_secs),
            ("[acme] renew_check_secs", config.acme.renew_check_secs),
            ("[build] concurrent", config.build.concurrent as u64),
        ];
        if let Some((key, _)) = intervals.iter().find(|(_, secs)| *secs == 0) {
            return Err(format!("{key} must be at least 1"));
        }
        let header = config.proxy.client_max_header_size.bytes();
        if !(MIN_HEADER_SIZE..=MAX_HEADER_SIZE).contains(&header) {
            return Err("[proxy] client_max_header_size must be from 1k to 256k".into());
        }
        Ok(config)
    }

    pub fn control_socket(&self) -> PathBuf {
        self.control_socket
            .clone()
            .unwrap_or_else(|| self.data_dir.join("berth.sock"))
    }

    pub fn host_key(&self) -> PathBuf {
        self.ssh
            .host_key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("ssh_host_ed25519_key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let config = Config::parse("").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(
            config.control_socket(),
            PathBuf::from("/var/lib/berth/berth.sock")
        );
        assert_eq!(config.ssh.listen.port(), 2222);
        assert_eq!(config.proxy.http_listen.port(), 80);
    }

    #[test]
    fn every_key_can_be_overridden() {
        let config = Config::parse(
            r#"
            data_dir = "/tmp/b"
            global_domain = "apps.example"
            control_socket = "/tmp/b.sock"
            docker_host = "tcp://127.0.0.1:2375"
            [ssh]
            listen = "127.0.0.1:0"
            host_key = "/tmp/key"
            [proxy]
            http_listen = "127.0.0.1:8080"
            https_listen = "127.0.0.1:8443"
            hold_timeout_secs = 3
            read_timeout_secs = 9
            client_max_body_size = "10m"
            [deploy]
            start_timeout_secs = 5
            stop_timeout_secs = 1
            network = "berth-test"
            check_wait_secs = 0
            wait_to_retire_secs = 1
            keep_releases = 2
            [build]
            stack_image = "heroku/heroku:24-build"
            run_image = "heroku/heroku:24"
            concurrent = 3
            "#,
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/b"));
        assert_eq!(config.global_domain, "apps.example");
        assert_eq!(config.control_socket(), PathBuf::from("/tmp/b.sock"));
        assert_eq!(config.host_key(), PathBuf::from("/tmp/key"));
        assert_eq!(config.proxy.http_listen.port(), 8080);
        assert_eq!(config.proxy.https_listen.port(), 8443);
        assert_eq!(config.deploy.network, "berth-test");
        assert_eq!(config.proxy.hold_timeout_secs, 3);
        assert_eq!(config.proxy.read_timeout_secs, 9);
        assert_eq!(config.proxy.client_max_body_size.bytes(), 10 << 20);
        assert_eq!(
            (
                config.deploy.check_wait_secs,
                config.deploy.wait_to_retire_secs,
                config.deploy.keep_releases
            ),
            (0, 1, 2)
        );
        assert_eq!(config.build.stack_image, "heroku/heroku:24-build");
        assert_eq!(config.build.run_image.as_deref(), Some("heroku/heroku:24"));
        assert_eq!(config.build.concurrent, 3);
    }

    #[test]
    fn a_bad_size_in_the_config_file_says_so() {
        let err = Config::parse("[proxy]\nclient_max_body_size = \"lots\"").unwrap_err();
        assert!(err.contains("invalid size"), "{err}");
    }

    #[test]
    fn zero_intervals_are_refused() {
        let err = Config::parse("[proxy]\nclient_header_timeout_secs = 0").unwrap_err();
        assert_eq!(err, "[proxy] client_header_timeout_secs must be at least 1");
        let err = Config::parse("[proxy]\nread_timeout_secs = 0").unwrap_err();
        assert_eq!(err, "[proxy] read_timeout_secs must be at least 1");
        let err = Config::parse("[proxy]\nclient_body_timeout_secs = 0").unwrap_err();
        assert_eq!(err, "[proxy] client_body_timeout_secs must be at least 1");
        let err = Config::parse("[proxy]\nsend_timeout_secs = 0").unwrap_err();
        assert_eq!(err, "[proxy] send_timeout_secs must be at least 1");
        for size in ["1000", "257k"] {
            let err = Config::parse(&format!("[proxy]\nclient_max_header_size = \"{size}\""));
            assert_eq!(
                err.unwrap_err(),
                "[proxy] client_max_header_size must be from 1k to 256k"
            );
        }
        assert!(Config::parse("[proxy]\nclient_max_header_size = \"256k\"").is_ok());
        let err = Config::parse("[acme]\nrenew_check_secs = 0").unwrap_err();
        assert_eq!(err, "[acme] renew_check_secs must be at least 1");
        let err = Config::parse("[build]\nconcurrent = 0").unwrap_err();
        assert_eq!(err, "[build] concurrent must be at least 1");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::parse("data_dri = \"/x\"").unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }
}
