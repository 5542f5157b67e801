//! The seam between deploy logic and whatever runs containers.
//!
//! `Scheduler` starts, finds and retires app instances; `ImageBuilder` turns a build context into
//! an image. Docker on this host implements both (`docker::DockerEngine`); a Swarm scheduler will
//! implement `Scheduler` too, and unit tests can put a fake behind them.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use crate::names::{AppName, NetworkName};
use crate::options::BuildLimits;

/// What runs an app's processes (`scheduler:set <app> selected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerKind {
    /// Containers on this host's Docker engine.
    DockerLocal,
    /// A Swarm service per process type, on the swarm this engine manages.
    DockerSwarm,
}

impl SchedulerKind {
    pub fn parse(raw: &str) -> Option<SchedulerKind> {
        match raw {
            "docker-local" => Some(SchedulerKind::DockerLocal),
            "docker-swarm" => Some(SchedulerKind::DockerSwarm),
            _ => None,
        }
    }

    /// The scheduler a stored selection names; none (or one this version does not know):
    /// docker-local.
    pub fn named(raw: Option<&str>) -> SchedulerKind {
        raw.and_then(SchedulerKind::parse)
            .unwrap_or(SchedulerKind::DockerLocal)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SchedulerKind::DockerLocal => "docker-local",
            SchedulerKind::DockerSwarm => "docker-swarm",
        }
    }
}

/// Labels on every container and image Berth owns.
pub const LABEL_APP: &str = "berth.app";
pub const LABEL_PROCESS: &str = "berth.process";
pub const LABEL_RELEASE: &str = "berth.release";
pub const LABEL_INDEX: &str = "berth.index";
/// Marks one-off containers (`run`, release scripts); `Scheduler::instances` never lists them.
pub const LABEL_ONEOFF: &str = "berth.oneoff";
/// On a one-off: the Unix second its time to live ends (`run --ttl-seconds`).
pub const LABEL_EXPIRES: &str = "berth.expires";

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The engine itself failed or is unreachable: the operator must act.
    #[error("docker: {0}")]
    Engine(String),
    /// The build failed because of what was pushed (a bad Dockerfile, a failing RUN step).
    #[error("{0}")]
    BuildFailed(String),
}

/// What to run: one process of one release.
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    pub app: AppName,
    pub process: String,
    /// 1-based: `web.1`, `web.2`, …
    pub index: u32,
    pub release: u32,
    pub image: String,
    pub env: BTreeMap<String, String>,
    /// Replaces the image's command (a Procfile entry, run by `/bin/sh -c`).
    pub command: Option<Vec<String>>,
    /// Bind mounts, `host:container` (`host` may be a named volume).
    pub binds: Vec<String>,
    /// The app's secrets, each read-only at `/run/secrets/<name>`: a bind of its file on this
    /// host, a Swarm secret of its content on the swarm.
    pub secrets: Vec<SecretFile>,
    pub limits: Limits,
    pub restart: RestartPolicy,
    /// Seconds between SIGTERM and SIGKILL when the engine stops it (`ps:set
    /// stop-timeout-seconds`; Berth's own retirements pass the same).
    pub stop_timeout_secs: u64,
    /// `docker-options` of the deploy (or, for one-off containers, run) phase.
    pub options: crate::options::ContainerOptions,
    /// How large its log may grow (`logs:set max-size`, as Docker writes sizes: `10m`); `None`
    /// is unlimited.
    pub log_max_size: Option<String>,
    /// The networks it joins when created (`network:set`).
    pub networks: InstanceNetworks,
    /// A health check the engine runs itself (a Swarm service's); Berth's own checks run
    /// either way.
    pub probe: Option<Probe>,
    /// Swarm placement constraints (`node.role==manager`); ignored on one host.
    pub placement: Vec<String>,
    /// Start it as a Swarm task (`scheduler:set … docker-swarm`, as the settings it was made
    /// from said: every instance of one deploy runs on the same scheduler).
    pub swarm: bool,
    /// The login a Swarm service's nodes pull its image with (the registry it was pushed to).
    pub registry_auth: Option<RegistryAuth>,
}

/// One secret (`secrets:set`): its name, and the file on this host holding its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    pub name: String,
    pub file: PathBuf,
}

impl SecretFile {
    /// The read-only bind that shows it at `/run/secrets/<name>` in a local container.
    pub fn bind(&self) -> String {
        format!("{}:/run/secrets/{}:ro", self.file.display(), self.name)
    }
}

/// A command the engine runs inside the instance to see that it is healthy (exit status 0),
/// from the app's declared command check: no shell, as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub command: Vec<String>,
    pub interval_secs: u64,
    pub timeout_secs: u64,
    pub retries: u32,
    pub start_period_secs: u64,
}

/// The networks an instance joins as it is created (`network:set`); `attach-post-deploy` ones
/// are joined later, once it passed its checks (`Scheduler::attach`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceNetworks {
    /// The network it is created on (`initial-network`), where the proxy reaches it; `None`:
    /// Berth's own.
    pub initial: Option<NetworkName>,
    /// Joined after it is created, before it starts (`attach-post-create`).
    pub post_create: Vec<NetworkName>,
}

/// The names an instance of `process` answers to on every network it is on: `<app>.<process>`,
/// and for web also `<app>`. Every instance of a process has them, so they resolve to the
/// running ones across redeploys and scaling.
pub fn aliases(app: &AppName, process: &str) -> Vec<String> {
    let mut names = vec![format!("{app}.{process}")];
    if process == "web" {
        names.push(app.to_string());
    }
    names
}

/// A Docker network, as `network:list` and `network:info` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkInfo {
    pub name: String,
    pub id: String,
    pub driver: String,
    pub scope: String,
    /// Made by `network:create` (it carries `LABEL_NETWORK`).
    pub managed: bool,
    /// The names of the containers on it (only when asked for one network).
    pub containers: Vec<String>,
}

/// On networks `network:create` made: their name.
pub const LABEL_NETWORK: &str = "berth.network-name";

/// What Docker does when an instance's process exits (`ps:set restart-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    No,
    Always,
    UnlessStopped,
    /// Restart after a non-zero exit, at most this many times (Dokku's default: 10).
    OnFailure(u32),
}

impl RestartPolicy {
    /// `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`.
    pub fn parse(raw: &str) -> Option<RestartPolicy> {
        match raw {
            "no" => Some(RestartPolicy::No),
            "always" => Some(RestartPolicy::Always),
            "unless-stopped" => Some(RestartPolicy::UnlessStopped),
            "on-failure" => Some(RestartPolicy::OnFailure(10)),
            other => other
                .strip_prefix("on-failure:")
                .and_then(|n| n.parse().ok())
                .map(RestartPolicy::OnFailure),
        }
    }
}

impl std::fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
            RestartPolicy::OnFailure(n) => write!(f, "on-failure:{n}"),
        }
    }
}

/// Resource limits and reservations of one instance, in Docker's units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub memory_reservation_bytes: Option<i64>,
    /// Relative CPU weight (1024 = one CPU's worth).
    pub cpu_shares: Option<i64>,
}

impl InstanceSpec {
    /// `shop.web.1.v3.5f2a`: readable in `docker ps`; the random tail lets a restart run a
    /// second container of the same release beside the first.
    pub fn container_name(&self) -> String {
        let tail: u16 = rand::random();
        format!(
            "{}.{}.{}.v{}.{tail:04x}",
            self.app, self.process, self.index, self.release
        )
    }
}

/// A running (or exited) container Berth owns, as found by its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: String,
    pub app: AppName,
    pub process: String,
    pub index: u32,
    pub release: u32,
    pub running: bool,
    /// Where it is reached, when running: its address on Berth's network, or for a Swarm task
    /// on another node, that node's address.
    pub address: Option<IpAddr>,
    /// For a Swarm task on another node: the port its node publishes the release's port on.
    pub published: Option<u16>,
}

impl Instance {
    /// `web.1`
    pub fn dyno(&self) -> String {
        format!("{}.{}", self.process, self.index)
    }

    /// Where the proxy and the checks reach it, for a release listening on `port`.
    pub fn reach(&self, port: u16) -> Option<SocketAddr> {
        let ip = self.address?;
        Some(SocketAddr::new(ip, self.published.unwrap_or(port)))
    }
}

/// An instance's use of the host, as the engine reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Times the engine restarted it (its restart policy).
    pub restarts: u64,
    /// CPU time used, in seconds.
    pub cpu_seconds: f64,
    pub memory_bytes: u64,
}

/// A one-off container that is still running (`run`, `run:detached`, cron), for `run:list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOff {
    pub id: String,
    /// The container's name: `shop.run.4821.v3.5f2a`.
    pub name: String,
    /// `run.4821`
    pub dyno: String,
    pub command: String,
    /// Unix seconds.
    pub created: u64,
    /// When its time to live ends (Unix seconds), if it has one.
    pub expires_at: Option<u64>,
}

/// How an instance is doing, as `ps:report` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    /// Docker's state: `running`, `restarting`, `exited`, …
    pub state: String,
    /// How often Docker restarted it after a crash.
    pub restarts: i64,
    /// The status its process last exited with, while it is down (exited, or waiting to be
    /// restarted); unknown once a restart runs it again.
    pub exit_code: Option<i64>,
}

impl InstanceStatus {
    /// Whether the process has exited since the container was made (restarted or not).
    pub fn has_exited(&self) -> bool {
        self.state != "running" || self.restarts > 0
    }
}

/// A Swarm service running one process type of an app's release, as `ps:report` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    pub name: String,
    pub process: String,
    pub release: u32,
    /// Replicas asked for.
    pub desired: u64,
    /// The tasks the swarm wants running, by slot.
    pub tasks: Vec<TaskStatus>,
    /// The state of the latest update the swarm made to it, unless it completed (an update
    /// someone made with `docker service update` that failed and was rolled back:
    /// `rollback_completed: update rolled back due to failure…`).
    pub update: Option<String>,
}

/// One task of a `ServiceStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    pub slot: u32,
    /// The node's hostname (its id when the swarm does not say).
    pub node: String,
    /// Swarm's state: `running`, `pending`, `failed`, …
    pub state: String,
    /// Why the swarm could not run it, if it says.
    pub error: Option<String>,
    /// What became of the task it replaced in its slot, when the swarm replaced one that
    /// failed or whose node went down: `on node-2, whose node is down`.
    pub replaced: Option<String>,
}

/// What a finished build tells the deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltImage {
    pub tag: String,
    /// Ports the image EXPOSEs (tcp only).
    pub exposed_ports: Vec<u16>,
    /// Its registry digest (`name@sha256:…`), when it came from a registry.
    pub digest: Option<String>,
    /// The app whose code it holds (Berth's `berth.app` label), if Berth built it.
    pub app: Option<String>,
}

/// A build that runs in a container (buildpacks): what to run, on which files, with which cache.
#[derive(Debug, Clone)]
pub struct CompileJob {
    pub app: AppName,
    /// The stack image the build runs in (pulled when missing).
    pub image: String,
    /// A tar file unpacked at `/` before the container starts.
    pub files: PathBuf,
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    /// A named volume kept between builds, mounted at `cache_path`.
    pub cache_volume: String,
    pub cache_path: String,
    /// Container paths copied out when the command succeeds, each as a tar into its file.
    pub collect: Vec<(String, PathBuf)>,
    /// What the build container may use.
    pub limits: BuildLimits,
}

/// How a `CompileJob` ended; on success (0) the collected paths are in their files.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub status: i64,
}

/// An image made from `base` plus tar files unpacked at `/`, with Dockerfile-style `changes`
/// (`ENTRYPOINT`, `WORKDIR`, `ENV`, `LABEL`) applied.
#[derive(Debug, Clone)]
pub struct Assembly {
    pub app: AppName,
    pub base: String,
    pub layers: Vec<PathBuf>,
    pub changes: Vec<String>,
    pub tag: String,
}

/// `2026-11-22T01:02:03.000000000Z text` → (timestamp, text).
pub fn split_timestamp(line: &str) -> (&str, &str) {
    match line.split_once(' ') {
        Some((stamp, text)) if stamp.ends_with('Z') && stamp.contains('T') => (stamp, text),
        _ => ("", line),
    }
}

/// What a user types into an attached one-off container or exec.
pub type Stdin<'a> = &'a mut (dyn tokio::io::AsyncRead + Send + Unpin);
/// Where an attached container's raw output goes.
pub type Stdout<'a> = &'a mut (dyn tokio::io::AsyncWrite + Send + Unpin);

/// Lines of container output, as they come.
pub type LogStream = futures_util::stream::BoxStream<'static, Result<String, SchedulerError>>;

/// Instances as the engine starts and stops them.
pub type InstanceStream =
    futures_util::stream::BoxStream<'static, Result<Instance, SchedulerError>>;

/// Bytes streamed from a client (a `docker save` tar), read as they come.
pub type ByteStream = futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// Receives build output as it happens.
#[async_trait]
pub trait BuildOutput: Send {
    async fn line(&mut self, text: &str);
}

/// One Dockerfile build: a tar context, the Dockerfile's path in it, the tag to give the image
/// and the `--build-arg`s.
pub struct DockerfileBuild<'a> {
    pub app: &'a AppName,
    /// The context, a tar file, streamed to the engine (never read into memory whole).
    pub context: &'a std::path::Path,
    pub dockerfile: &'a str,
    pub tag: &'a str,
    pub build_args: &'a BTreeMap<String, String>,
    pub limits: &'a BuildLimits,
}

/// A registry login (`registry:login`) for one push or pull; its password is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    /// `host[:port]`.
    pub server: String,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("server", &self.server)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// When `ImageBuilder::adopt_image` pulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    IfMissing,
    Again,
}

#[async_trait]
pub trait ImageBuilder: Send + Sync {
    /// Builds a Dockerfile into its tag, streaming output.
    async fn build(
        &self,
        job: DockerfileBuild<'_>,
        output: &mut dyn BuildOutput,
    ) -> Result<BuiltImage, SchedulerError>;

    /// Loads the images of a `docker save` tar; returns their names.
    async fn load_images(
        &self,
        tar: ByteStream,
        output: &mut dyn BuildOutput,
    ) -> Result<Vec<String>, SchedulerError>;

    /// Makes `image` available as `tag`: pulled if it is not on this host, or with `Pull::Again`
    /// pulled anyway (a moving tag), falling back to this host's copy when the pull fails;
    /// `auth` logs in to its registry.
    async fn adopt_image(
        &self,
        image: &str,
        tag: &str,
        pull: Pull,
        auth: Option<&RegistryAuth>,
        output: &mut dyn BuildOutput,
    ) -> Result<BuiltImage, SchedulerError>;

    /// Pushes the image `image` names as `target` (`host/repo:tag`), logged in with `auth`.
    async fn push_image(
        &self,
        image: &str,
        target: &str,
        auth: Option<&RegistryAuth>,
        output: &mut dyn BuildOutput,
    ) -> Result<(), SchedulerError>;

    /// The id of the image `tag` names, if any.
    async fn image_id(&self, tag: &str) -> Result<Option<String>, SchedulerError>;

    /// The tags of `repository` (`berth/<app>` holds an app's release images: `berth/<app>:<n>`).
    async fn repository_tags(&self, repository: &str) -> Result<Vec<String>, SchedulerError>;

    /// Names the image `image` names also `tag` (`repo:tag`).
    async fn tag_image(&self, image: &str, tag: &str) -> Result<(), SchedulerError>;

    /// Removes one tag (and the image, once nothing else uses it).
    async fn remove_image(&self, tag: &str) -> Result<(), SchedulerError>;

    /// Removes the image `id` if no tag names it any more (a user's own image keeps its
    /// tags); false when it had one, or was gone.
    async fn remove_untagged(&self, id: &str) -> Result<bool, SchedulerError>;

    /// Runs `job` in a throwaway container, streaming its output; a cancelled or failed build
    /// leaves no container behind.
    async fn compile(
        &self,
        job: &CompileJob,
        output: &mut dyn BuildOutput,
    ) -> Result<Compiled, SchedulerError>;

    /// Makes the image `assembly.tag` (see `Assembly`).
    async fn assemble(&self, assembly: &Assembly) -> Result<BuiltImage, SchedulerError>;

    /// Removes a named volume (a build cache); false when there was none.
    async fn remove_volume(&self, name: &str) -> Result<bool, SchedulerError>;
}

/// The tag of release `number`'s image.
pub fn image_tag(app: &AppName, number: u32) -> String {
    format!("{}:{number}", image_repository(app))
}

/// Where `tags:create` keeps an app's own tags, apart from its release images (which pruning
/// owns).
pub fn tags_repository(app: &AppName) -> String {
    format!("berth-tags/{app}")
}

pub fn image_repository(app: &AppName) -> String {
    format!("berth/{app}")
}

#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Creates and starts the instance; a leftover container of the same name is replaced.
    async fn start(&self, spec: &InstanceSpec) -> Result<Instance, SchedulerError>;

    /// The app's instances (all apps' with `None`), running or not.
    async fn instances(&self, app: Option<&AppName>) -> Result<Vec<Instance>, SchedulerError>;

    /// Restarts instance `id` in place (same container, same address or a new one), giving it
    /// `grace` between SIGTERM and SIGKILL.
    async fn restart(&self, id: &str, grace: Duration) -> Result<(), SchedulerError>;

    /// What instance `id` has used, and how often the engine restarted it (for `/metrics`).
    async fn usage(&self, id: &str) -> Result<Usage, SchedulerError>;

    /// Every instance the engine started or that stopped since `since`, and from then on
    /// (Berth's own starts and stops, crashes, the engine's restarts by restart policy), as it
    /// is just after; ends when the connection to the engine does.
    fn changes(&self, since: std::time::SystemTime) -> InstanceStream;

    /// Whether the instance runs and has not crashed (and been restarted) since it started.
    async fn is_up_since_start(&self, id: &str) -> Result<bool, SchedulerError>;

    /// The instance's output as timestamped lines (`2026-11-22T01:02:03.000000000Z text`):
    /// the last `tail` lines (all with `None`), then, with `follow`, new lines as they come.
    fn log_lines(&self, id: &str, tail: Option<usize>, follow: bool) -> LogStream;

    /// The last `lines` lines of the instance's output without timestamps, for failure reports.
    async fn log_tail(&self, id: &str, lines: usize) -> Result<String, SchedulerError> {
        use futures_util::TryStreamExt;
        let lines: Vec<String> = self.log_lines(id, Some(lines), false).try_collect().await?;
        Ok(lines
            .iter()
            .map(|line| split_timestamp(line).1)
            .collect::<Vec<_>>()
            .join("\n"))
    }

    async fn status(&self, id: &str) -> Result<InstanceStatus, SchedulerError>;

    /// The engine's full description of the instance (`docker inspect`), as JSON.
    async fn inspect(&self, id: &str) -> Result<serde_json::Value, SchedulerError>;

    /// Runs a one-off container of `spec` to completion, streaming its output lines, and removes
    /// it; returns its exit status. Cancelling `stop` kills it.
    async fn run_once(
        &self,
        spec: &InstanceSpec,
        output: &mut dyn BuildOutput,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Result<i64, SchedulerError>;

    /// Like `run_once`, with `stdin` attached and raw output (a terminal when `tty`): `run`.
    /// Cancelling `stop` kills it at once (status -1).
    async fn run_attached(
        &self,
        spec: &InstanceSpec,
        tty: bool,
        stdin: Stdin<'_>,
        output: Stdout<'_>,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Result<i64, SchedulerError>;

    /// Starts a one-off container of `spec` that runs on its own and is removed when it exits.
    async fn run_detached(&self, spec: &InstanceSpec) -> Result<OneOff, SchedulerError>;

    /// The app's one-off containers that are running, oldest first.
    async fn one_offs(&self, app: &AppName) -> Result<Vec<OneOff>, SchedulerError>;

    /// Runs `command` inside the instance with `stdin` attached and its output written to
    /// `output` (a terminal when `tty`); returns its exit status. Cancelling `stop` ends it.
    async fn exec_attached(
        &self,
        id: &str,
        command: &[String],
        tty: bool,
        stdin: Stdin<'_>,
        output: Stdout<'_>,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Result<i64, SchedulerError>;

    /// Runs `command` inside the instance; returns its exit status.
    async fn exec(
        &self,
        id: &str,
        command: &[String],
        limit: Duration,
    ) -> Result<i64, SchedulerError>;

    /// Stops gracefully (SIGTERM, then SIGKILL after `grace`) and removes the instance.
    async fn retire(&self, id: &str, grace: Duration) -> Result<(), SchedulerError>;

    /// Connects the instance to `network`, where it answers to `aliases` too.
    async fn attach(
        &self,
        id: &str,
        network: &NetworkName,
        aliases: &[String],
    ) -> Result<(), SchedulerError>;

    /// Every network on the engine, without their containers.
    async fn networks(&self) -> Result<Vec<NetworkInfo>, SchedulerError>;

    /// One network with the containers on it; `None` when there is none of that name.
    async fn network(&self, name: &NetworkName) -> Result<Option<NetworkInfo>, SchedulerError>;

    /// Makes a bridge network that containers can join, labelled `LABEL_NETWORK`.
    async fn create_network(&self, name: &NetworkName) -> Result<(), SchedulerError>;

    /// Disconnects every container from the network, then removes it.
    async fn remove_network(&self, name: &NetworkName) -> Result<(), SchedulerError>;

    /// The app's Swarm services, each with its tasks; none for apps on this host's Docker.
    async fn services(&self, _app: &AppName) -> Result<Vec<ServiceStatus>, SchedulerError> {
        Ok(Vec::new())
    }

    /// Whether the engine is a manager of an active swarm (so `docker-swarm` can run apps).
    async fn in_swarm(&self) -> Result<bool, SchedulerError> {
        Ok(false)
    }

    /// How many nodes the swarm has (0 outside one): more than one needs a registry.
    async fn swarm_nodes(&self) -> Result<usize, SchedulerError> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies() {
        for raw in ["no", "always", "unless-stopped", "on-failure:3"] {
            assert_eq!(RestartPolicy::parse(raw).unwrap().to_string(), raw);
        }
        assert_eq!(
            RestartPolicy::parse("on-failure"),
            Some(RestartPolicy::OnFailure(10))
        );
        for bad in ["", "sometimes", "on-failure:x", "on-failure:-1"] {
            assert_eq!(RestartPolicy::parse(bad), None, "{bad}");
        }
    }
}
