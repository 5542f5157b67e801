//! The serde types stored on disk. Each file carries a `version`, its format (`format.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::health::HealthCheck;

use crate::names::{AppName, KeyName, NetworkName};

use super::format;

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
    #[serde(default)]
    pub checks: ChecksSettings,
    /// The app's config vars (`config:set`); the next release starts with them.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Desired instances per process type (`ps:scale`); unset types get the default.
    #[serde(default)]
    pub formation: BTreeMap<String, u32>,
    /// `ps:stop` stopped the app; nothing runs until `ps:start`.
    #[serde(default)]
    pub stopped: bool,
    /// `apps:lock`: deploys are refused until `apps:unlock`.
    #[serde(default)]
    pub locked: bool,
    /// `storage:mount`: bind mounts every instance gets, from the next deploy or restart.
    #[serde(default)]
    pub mounts: Vec<Mount>,
    /// `resource:limit|reserve`, per process type (`_default` for all).
    #[serde(default)]
    pub resources: BTreeMap<String, Resources>,
    /// `ps:set restart-policy`, as typed (`on-failure:10` when unset).
    pub restart_policy: Option<String>,
    /// `ps:set stop-timeout-seconds`: SIGTERM to SIGKILL when an instance retires; unset: the
    /// config file's `[deploy] stop_timeout_secs`.
    #[serde(default)]
    pub stop_timeout_secs: Option<u64>,
    /// `ps:set procfile-path`: the Procfile, relative to the build directory; unset: `Procfile`.
    #[serde(default)]
    pub procfile_path: Option<String>,
    /// `logs:set max-size`: how large an instance's log may grow (`unlimited`: no cap); unset:
    /// the global value, else `DEFAULT_LOG_MAX_SIZE`.
    #[serde(default)]
    pub logs_max_size: Option<String>,
    /// `cron:set maintenance`: the minute loop starts none of the app's tasks; unset: the
    /// global value.
    #[serde(default)]
    pub cron_maintenance: Option<bool>,
    /// `ps:set restore false`: when the app's containers are gone (a reboot), neither the
    /// daemon's start nor `ps:restore` starts it again; `ps:start` does.
    #[serde(default)]
    pub restore_disabled: bool,
    /// `docker-options`, per phase (`build`, `deploy`, `run`), normalized `--flag=value`.
    #[serde(default)]
    pub docker_options: BTreeMap<String, Vec<String>>,
    /// `builder:set`: which builder and which subdirectory of the repository.
    #[serde(default)]
    pub builder: BuilderSettings,
    /// `scheduler:set <app> selected`: `docker-local` or `docker-swarm`; unset: the global one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<String>,
    /// `scheduler-docker-swarm:set <app> placement`: Swarm placement constraints
    /// (`node.role==manager`), checked when set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub swarm_placement: Vec<String>,
    /// `registry:set <app> server|image-repo|push-on-release`.
    #[serde(default, skip_serializing_if = "RegistrySettings::is_empty")]
    pub registry: RegistrySettings,
    /// `buildpacks:*`: the app's buildpacks, in order, and its stack image.
    #[serde(default)]
    pub buildpacks: BuildpackSettings,
    /// `domains:*`: the hosts the app answers on.
    #[serde(default)]
    pub domains: DomainSettings,
    /// `http-auth:*`: basic auth in front of the app.
    #[serde(default)]
    pub http_auth: HttpAuthSettings,
    /// `certs:set`: what HTTPS means for the app once it has a certificate.
    #[serde(default)]
    pub tls: TlsSettings,
    /// `ports:*`: `scheme:host-port:container-port` mappings; empty means Dokku's default.
    #[serde(default)]
    pub ports: Vec<String>,
    /// `letsencrypt:*`: whether Berth obtains and renews the app's certificate by ACME.
    #[serde(default)]
    pub letsencrypt: LetsencryptSettings,
    /// `nginx:set`: the proxy's limits for the app.
    #[serde(default)]
    pub proxy: ProxyLimits,
    /// `maintenance:on`: the proxy answers every request with a 503 maintenance page.
    #[serde(default)]
    pub maintenance: bool,
    /// `proxy:disable`: the proxy routes none of the app's hosts and opens none of its ports.
    #[serde(default)]
    pub proxy_disabled: bool,
    /// `git:set`: which pushes deploy, and the variable naming the deployed commit.
    #[serde(default)]
    pub git: GitSettings,
    /// `cron:suspend`: ids of the cron tasks the minute loop leaves alone.
    #[serde(default)]
    pub cron_suspended: Vec<String>,
    /// `network:set`: the Docker networks the app's containers join.
    #[serde(default)]
    pub network: NetworkSettings,
    /// `acl:add`: the developer keys that may use the app (admins always may).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub acl: BTreeSet<KeyName>,
    /// `secrets:set`: each secret's name and when it last changed (Unix seconds); the values
    /// are files beside the record (`secrets/<name>`, mode 0600), never in the record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, u64>,
}

/// `network:set <app> initial-network|attach-post-create|attach-post-deploy`, applied to the
/// containers made from then on (Dokku's properties).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSettings {
    /// The network containers are created on instead of Berth's own; the proxy reaches web
    /// instances there.
    #[serde(default)]
    pub initial_network: Option<NetworkName>,
    /// Joined after a container is created, before it starts (instances and one-offs).
    #[serde(default)]
    pub attach_post_create: Vec<NetworkName>,
    /// Joined by each new instance once it passed its checks, before the proxy switches.
    #[serde(default)]
    pub attach_post_deploy: Vec<NetworkName>,
}

impl NetworkSettings {
    /// Every network named, once.
    pub fn all(&self) -> std::collections::BTreeSet<&NetworkName> {
        self.initial_network
            .iter()
            .chain(&self.attach_post_create)
            .chain(&self.attach_post_deploy)
            .collect()
    }
}

/// `git:set (<app>|--global) deploy-branch|rev-env-var`; an app's unset value is the global
/// one, then Berth's default. `sync-allowed-hosts` is global only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitSettings {
    /// The one branch whose pushes deploy; unset: `main` or `master`.
    pub deploy_branch: Option<String>,
    /// The config var that carries the deployed commit; unset: `GIT_REV`; empty: none.
    pub rev_env_var: Option<String>,
    /// Hosts on the server's own network that developer keys and deploy tokens may
    /// `git:sync` from (`git::check_public`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_allowed_hosts: Vec<String>,
}

/// `nginx:set` properties, for one app or (in `GlobalSettings`) every app; unset means the
/// next level down: the global value, then the config file's `[proxy]` one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyLimits {
    /// `client-max-body-size` as typed (`50m`; `0` is no limit).
    #[serde(default)]
    pub client_max_body_size: Option<String>,
    /// `proxy-read-timeout` as typed (`60s`, `2m`).
    #[serde(default)]
    pub proxy_read_timeout: Option<String>,
    /// `client-body-timeout` as typed (`60s`, `2m`).
    #[serde(default)]
    pub client_body_timeout: Option<String>,
    /// `send-timeout` as typed (`60s`, `2m`).
    #[serde(default)]
    pub send_timeout: Option<String>,
    /// `x-forwarded-for-value`: `$remote_addr`, `$proxy_add_x_forwarded_for` or
    /// `$http_x_forwarded_for`.
    #[serde(default)]
    pub x_forwarded_for_value: Option<String>,
    /// `x-forwarded-proto-value`: `$scheme` or `$http_x_forwarded_proto`.
    #[serde(default)]
    pub x_forwarded_proto_value: Option<String>,
    /// `x-forwarded-port-value`: `$server_port` or `$http_x_forwarded_port`.
    #[serde(default)]
    pub x_forwarded_port_value: Option<String>,
    /// `access-log-path`: `off` stops the app's access lines.
    #[serde(default)]
    pub access_log_path: Option<String>,
    /// `error-log-path`: `off` stops the app's proxy error lines.
    #[serde(default)]
    pub error_log_path: Option<String>,
    /// `underscore-in-headers`: `on` passes request headers whose names have underscores.
    #[serde(default)]
    pub underscore_in_headers: Option<String>,
    /// `x-forwarded-ssl`: `on`, `off` or `$http_x_forwarded_ssl`.
    #[serde(default)]
    pub x_forwarded_ssl: Option<String>,
}

/// `letsencrypt:enable|disable` and the app's own `letsencrypt:set` properties.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetsencryptSettings {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub props: AcmeProps,
}

/// `letsencrypt:set <app>|--global email|server|graceperiod`; an unset property comes from the
/// global settings, then from the config file's `[acme]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmeProps {
    /// The ACME account's contact.
    pub email: Option<String>,
    /// The ACME directory URL.
    pub server: Option<String>,
    /// Renew when the certificate expires within this many seconds.
    pub graceperiod: Option<u64>,
}

/// `certs:set <app> redirect|hsts…` and `nginx:set <app> hsts…`; the defaults follow Dokku's
/// nginx (HSTS on, a max-age of 15724800, subdomains included, no preload).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsSettings {
    /// Plain HTTP requests are served rather than redirected to HTTPS.
    #[serde(default)]
    pub redirect_disabled: bool,
    /// No `Strict-Transport-Security` header.
    #[serde(default)]
    pub hsts_disabled: bool,
    /// HSTS max-age in seconds; Dokku's 15724800 when unset.
    pub hsts_max_age: Option<u64>,
    /// `includeSubDomains` in the header; on when unset, as in Dokku.
    #[serde(default)]
    pub hsts_include_subdomains: Option<bool>,
    /// `preload` in the header.
    #[serde(default)]
    pub hsts_preload: bool,
}

/// `http-auth:enable|disable|add-user|remove-user|add-allowed-ip|remove-allowed-ip`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpAuthSettings {
    #[serde(default)]
    pub enabled: bool,
    /// User name → password hash (`crate::password`); never the password itself.
    #[serde(default)]
    pub users: BTreeMap<String, String>,
    /// Addresses or networks that pass without credentials.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
}

/// `domains:add|remove|set|clear|reset|enable|disable <app>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainSettings {
    /// The app's domains; unset means the default, `<app>.<global domain>` for each.
    pub vhosts: Option<Vec<String>>,
    /// `domains:disable`: the proxy routes no host to the app.
    #[serde(default)]
    pub disabled: bool,
}

/// `builder:set <app> selected|build-dir`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuilderSettings {
    /// `dockerfile` or `buildpacks`; unset: detected per push.
    pub selected: Option<String>,
    /// Build from this subdirectory of the repository (monorepos).
    pub build_dir: Option<String>,
    /// `builder-dockerfile:set dockerfile-path`: the Dockerfile, relative to the build
    /// directory; unset: the global one, else `Dockerfile`.
    #[serde(default)]
    pub dockerfile_path: Option<String>,
}

/// `registry:set`: where releases are pushed, under which repository, and whether every
/// release is (else only when a swarm of more than one node needs it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrySettings {
    /// `host[:port][/namespace]`, checked when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The repository under the server; unset: the app's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_on_release: Option<bool>,
}

impl RegistrySettings {
    pub fn is_empty(&self) -> bool {
        *self == RegistrySettings::default()
    }
}

/// `buildpacks:add|set|remove|clear` and `buildpacks:set-property <app> stack`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildpackSettings {
    /// Buildpack references (bundled names, local directories, git URLs), in run order.
    #[serde(default)]
    pub list: Vec<String>,
    /// The stack image builds run in (and apps run on); unset: the global one.
    pub stack: Option<String>,
}

/// One `storage:mount`: a host directory (or named volume) and where it appears inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub host: String,
    pub container: String,
}

/// Resource limits and reservations of one process type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Bytes.
    pub memory_limit: Option<u64>,
    /// CPUs (fractions allowed).
    pub cpu_limit: Option<f64>,
    /// Bytes the instance is guaranteed under memory pressure.
    pub memory_reservation: Option<u64>,
    /// CPUs' worth of weight under contention.
    pub cpu_reservation: Option<f64>,
}

/// The key of `AppRecord::resources` that applies to every process type.
pub const ALL_PROCESSES: &str = "_default";

/// `checks:*` settings of one app. Process lists hold names, or `_all_` for every process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChecksSettings {
    /// Stop-first deploys: old instances stop before new ones start, requests are held.
    #[serde(default)]
    pub disabled: Vec<String>,
    /// No checks at all: traffic switches as soon as the new instance runs.
    #[serde(default)]
    pub skipped: Vec<String>,
    /// Seconds old instances keep running after the switch; the global default when unset.
    pub wait_to_retire: Option<u64>,
    /// `checks:set liveness-probe`: the default probe run continuously on web instances that
    /// declare no liveness check; the global setting when unset.
    #[serde(default)]
    pub liveness_probe: Option<bool>,
}

impl ChecksSettings {
    pub const ALL: &'static str = "_all_";

    pub fn is_disabled(&self, process: &str) -> bool {
        self.disabled.iter().any(|p| p == process || p == Self::ALL)
    }

    pub fn is_skipped(&self, process: &str) -> bool {
        self.skipped.iter().any(|p| p == process || p == Self::ALL)
    }
}

/// `global.toml`: settings that apply to every app unless the app overrides them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalSettings {
    pub version: u32,
    pub wait_to_retire: Option<u64>,
    /// Config vars every app gets unless it sets the same key (`config:set --global`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `builder:set --global selected`.
    #[serde(default)]
    pub builder_selected: Option<String>,
    /// `scheduler:set --global selected`: what runs apps that select none (docker-local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<String>,
    /// `registry:set --global server|push-on-release` (`image-repo` is per app).
    #[serde(default, skip_serializing_if = "RegistrySettings::is_empty")]
    pub registry: RegistrySettings,
    /// `builder-dockerfile:set --global dockerfile-path`.
    #[serde(default)]
    pub builder_dockerfile_path: Option<String>,
    /// `buildpacks:set-property --global stack`: overrides the config file's stack image.
    #[serde(default)]
    pub stack: Option<String>,
    /// `domains:*-global`: overrides the config file's `global_domain` (empty: none).
    #[serde(default)]
    pub domains: Option<Vec<String>>,
    /// `letsencrypt:set --global`.
    #[serde(default)]
    pub letsencrypt: AcmeProps,
    /// `nginx:set --global`.
    #[serde(default)]
    pub proxy: ProxyLimits,
    /// `git:set --global`.
    #[serde(default)]
    pub git: GitSettings,
    /// `apps:set --global disable-autocreation`: a push to an unknown app is refused.
    #[serde(default)]
    pub disable_autocreation: bool,
    /// `logs:set --global max-size`.
    #[serde(default)]
    pub logs_max_size: Option<String>,
    /// `cron:set --global maintenance`: no app's cron tasks start, unless the app says otherwise.
    #[serde(default)]
    pub cron_maintenance: bool,
    /// `plugin:disable`: installed plugins whose commands are unknown until enabled again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins_disabled: Vec<String>,
    /// `acl:set --global allow-create true`: developer keys may create apps (and get them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acl_allow_create: bool,
    /// `checks:set --global liveness-probe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<bool>,
    /// `backup:schedule`: Berth's own archives, made on a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_schedule: Option<BackupSchedule>,
}

/// `backup:schedule <schedule> <dir> [--keep N] [--with-volumes] [--apps a,b]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSchedule {
    /// A cron schedule, in UTC.
    pub schedule: String,
    /// The directory under `<data_dir>/backups/` the archives go into.
    pub dir: String,
    /// How many archives are kept (the oldest go first).
    pub keep: u32,
    #[serde(default)]
    pub with_volumes: bool,
    /// Only these apps (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppName>,
}

/// How large a container's log grows when neither the app nor `--global` says (Dokku's).
const DEFAULT_LOG_MAX_SIZE: &str = "10m";

/// `logs:set max-size` without a cap.
pub const UNLIMITED: &str = "unlimited";

impl GlobalSettings {
    /// The log size cap for an app that sets `own` (`None`: unlimited).
    pub fn log_max_size(&self, own: Option<&str>) -> Option<String> {
        let size = own
            .or(self.logs_max_size.as_deref())
            .unwrap_or(DEFAULT_LOG_MAX_SIZE);
        (size != UNLIMITED).then(|| size.to_string())
    }

    /// The config vars an app runs with: the global ones, overridden by the app's `own`.
    pub fn env_with(&self, own: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        env.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }
}

impl Default for GlobalSettings {
    fn default() -> Self {
        GlobalSettings {
            version: format::GLOBAL.current(),
            wait_to_retire: None,
            env: BTreeMap::new(),
            builder_selected: None,
            scheduler: None,
            registry: RegistrySettings::default(),
            builder_dockerfile_path: None,
            stack: None,
            domains: None,
            letsencrypt: AcmeProps::default(),
            proxy: ProxyLimits::default(),
            git: GitSettings::default(),
            disable_autocreation: false,
            logs_max_size: None,
            cron_maintenance: false,
            plugins_disabled: Vec::new(),
            acl_allow_create: false,
            liveness_probe: None,
            backup_schedule: None,
        }
    }
}

/// One successful deploy: `vN`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub number: u32,
    pub image: String,
    pub git_rev: Option<String>,
    /// The image reference it was deployed from (`git:from-image`, `git:load-image`), which
    /// `ps:rebuild` pulls again; `None` for built releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_image: Option<String>,
    /// The registry digest its image had when deployed (`git:from-image`: `name@sha256:…`),
    /// what ran even if the image's tag has moved since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// Where its image was pushed (`registry:set`: `host/repo:tag`), which Swarm nodes pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// The SSH key name (or `local` for the server's CLI) that caused it.
    pub created_by: String,
    /// The port the app listens on inside its container (`PORT`).
    pub port: u16,
    /// What made it: `Deploy 1a2b3c4`, `Rollback to v2`, `Deploy image nginx:1`.
    #[serde(default)]
    pub description: String,
    /// The app's own config vars as they were for this release (global ones are merged in when
    /// an instance starts).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How many instances of each process type run.
    #[serde(default = "default_formation")]
    pub formation: BTreeMap<String, u32>,
    /// Health checks declared by the app (app.json or CHECKS); empty means the default check.
    #[serde(default)]
    pub checks: Vec<HealthCheck>,
    /// Process types and their commands from the Procfile; empty: one `web` running the image's
    /// own command.
    #[serde(default)]
    pub processes: BTreeMap<String, String>,
    /// app.json `scripts.dokku.predeploy`: run before the release starts; failing aborts.
    pub predeploy: Option<String>,
    /// app.json `scripts.dokku.postdeploy`: run after the switch.
    pub postdeploy: Option<String>,
    /// app.json `formation`, when the app declares one: it wins over `ps:scale`.
    #[serde(default)]
    pub declared_formation: BTreeMap<String, u32>,
    /// app.json `cron`: commands run on a schedule in one-off containers of this release.
    #[serde(default)]
    pub cron: Vec<CronTask>,
}

/// One app.json `cron` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronTask {
    pub schedule: String,
    pub command: String,
}

impl CronTask {
    /// A stable short id (FNV-1a of schedule and command), as `cron:list` shows it.
    pub fn id(&self) -> String {
        let mut hash: u32 = 0x811c_9dc5;
        for byte in self.schedule.bytes().chain([0]).chain(self.command.bytes()) {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        format!("{hash:08x}")
    }
}

impl Release {
    /// A release of `berth/test:<number>` with nothing else set, for unit tests.
    #[cfg(test)]
    pub fn test(number: u32) -> Release {
        Release {
            number,
            image: format!("berth/test:{number}"),
            git_rev: None,
            source_image: None,
            image_digest: None,
            pushed: None,
            created_at: 0,
            created_by: "test".into(),
            port: 5000,
            description: String::new(),
            env: BTreeMap::new(),
            formation: BTreeMap::new(),
            checks: Vec::new(),
            processes: BTreeMap::new(),
            predeploy: None,
            postdeploy: None,
            declared_formation: BTreeMap::new(),
            cron: Vec::new(),
        }
    }

    /// Runs `other`'s code: its image (and where it was pushed), revision, port, checks, process types, declared
    /// formation and cron (not its scripts, which ran when it was built).
    pub fn take_code_from(&mut self, other: &Release) {
        self.image = other.image.clone();
        self.git_rev = other.git_rev.clone();
        self.source_image = other.source_image.clone();
        self.pushed = other.pushed.clone();
        self.image_digest = other.image_digest.clone();
        self.port = other.port;
        self.checks = other.checks.clone();
        self.processes = other.processes.clone();
        self.declared_formation = other.declared_formation.clone();
        self.cron = other.cron.clone();
    }

    /// The process types this release can run.
    pub fn process_types(&self) -> Vec<String> {
        if self.processes.is_empty() {
            vec!["web".to_string()]
        } else {
            self.processes.keys().cloned().collect()
        }
    }
}

fn default_formation() -> BTreeMap<String, u32> {
    BTreeMap::from([("web".to_string(), 1)])
}

impl AppRecord {
    /// What `scheduler:set` selected for the app, else globally; `None`: neither (docker-local).
    pub fn scheduler_in<'a>(&'a self, global: &'a GlobalSettings) -> Option<&'a str> {
        self.scheduler.as_deref().or(global.scheduler.as_deref())
    }

    pub fn new(name: AppName, created_at: u64) -> AppRecord {
        AppRecord {
            version: format::APP.current(),
            name,
            created_at,
            current_release: None,
            releases: Vec::new(),
            checks: ChecksSettings::default(),
            env: BTreeMap::new(),
            formation: BTreeMap::new(),
            stopped: false,
            locked: false,
            mounts: Vec::new(),
            resources: BTreeMap::new(),
            restart_policy: None,
            stop_timeout_secs: None,
            procfile_path: None,
            logs_max_size: None,
            cron_maintenance: None,
            restore_disabled: false,
            docker_options: BTreeMap::new(),
            builder: BuilderSettings::default(),
            scheduler: None,
            swarm_placement: Vec::new(),
            registry: RegistrySettings::default(),
            buildpacks: BuildpackSettings::default(),
            domains: DomainSettings::default(),
            http_auth: HttpAuthSettings::default(),
            tls: TlsSettings::default(),
            ports: Vec::new(),
            letsencrypt: LetsencryptSettings::default(),
            proxy: ProxyLimits::default(),
            maintenance: false,
            proxy_disabled: false,
            git: GitSettings::default(),
            cron_suspended: Vec::new(),
            network: NetworkSettings::default(),
            acl: BTreeSet::new(),
            secrets: BTreeMap::new(),
        }
    }

    /// The number the next deploy will get.
    pub fn next_release_number(&self) -> u32 {
        self.releases.iter().map(|r| r.number).max().unwrap_or(0) + 1
    }

    pub fn current(&self) -> Option<&Release> {
        let number = self.current_release?;
        self.release(number)
    }

    /// The current release as a one-off (`run`, cron) runs now: its code with the app's current
    /// config, so `config:set --no-restart` reaches them at once, as on Dokku.
    pub fn current_with_config(&self) -> Option<Release> {
        let mut release = self.current()?.clone();
        release.env = self.env.clone();
        Some(release)
    }

    pub fn release(&self, number: u32) -> Option<&Release> {
        self.releases.iter().find(|r| r.number == number)
    }

    /// How many instances of each of `release`'s process types should run: the `ps:scale`
    /// setting, else 1 `web` and 0 of everything else (Dokku's and Heroku's default).
    pub fn formation_for(&self, release: &Release) -> BTreeMap<String, u32> {
        release
            .process_types()
            .into_iter()
            .map(|process| {
                let default = u32::from(process == "web");
                let count = release
                    .declared_formation
                    .get(&process)
                    .or_else(|| self.formation.get(&process))
                    .copied()
                    .unwrap_or(default);
                (process, count)
            })
            .collect()
    }

    /// The resources of `process`: its own settings over the `_default` ones.
    pub fn resources_for(&self, process: &str) -> Resources {
        let base = self
            .resources
            .get(ALL_PROCESSES)
            .cloned()
            .unwrap_or_default();
        let Some(own) = self.resources.get(process) else {
            return base;
        };
        Resources {
            memory_limit: own.memory_limit.or(base.memory_limit),
            cpu_limit: own.cpu_limit.or(base.cpu_limit),
            memory_reservation: own.memory_reservation.or(base.memory_reservation),
            cpu_reservation: own.cpu_reservation.or(base.cpu_reservation),
        }
    }

    /// The release before the current one, the default target of a rollback.
    pub fn previous(&self) -> Option<&Release> {
        let current = self.current_release?;
        self.releases
            .iter()
            .filter(|r| r.number < current)
            .max_by_key(|r| r.number)
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
            version: format::KEYS.current(),
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
    /// What the key may do; keys from before roles existed are admins.
    #[serde(default)]
    pub role: Role,
}

/// A key's role (`ssh-keys:add --role`, `ssh-keys:set-role`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Every command, over SSH too.
    #[default]
    Admin,
    /// Only the apps granted with `acl:add`.
    Developer,
}

impl Role {
    pub fn parse(word: &str) -> Option<Role> {
        match word {
            "admin" => Some(Role::Admin),
            "developer" => Some(Role::Developer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Developer => "developer",
        }
    }
}
