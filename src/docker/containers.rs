//! `Scheduler` for Docker on this host: one container per instance, found again by its labels.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bollard::exec::StartExecResults;
use bollard::models::ExecConfig;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ContainerSummaryStateEnum,
    EndpointSettings, HostConfig, HostConfigLogConfig, NetworkingConfig, ResourcesUlimits,
    RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{engine_err, is_not_found, DockerEngine};
use crate::names::{AppName, NetworkName};
use crate::scheduler::{
    split_timestamp, BuildOutput, Instance, InstanceSpec, InstanceStatus, InstanceStream,
    LogStream, NetworkInfo, OneOff, Scheduler, SchedulerError, ServiceStatus, Stdin, Stdout, Usage,
    LABEL_APP, LABEL_INDEX, LABEL_ONEOFF, LABEL_PROCESS, LABEL_RELEASE,
};
use tokio_util::sync::CancellationToken;

/// How long removing a container may wait for a removal the engine already started.
const REMOVAL_WAIT: Duration = Duration::from_secs(30);

/// What kind of container `create` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Instance,
    OneOff,
    /// A one-off whose stdin and output are attached (a terminal when `tty`).
    Attached {
        tty: bool,
    },
    /// A one-off on its own, removed by the engine when it exits.
    Detached,
}

type Output = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<bollard::container::LogOutput, bollard::errors::Error>,
            > + Send,
    >,
>;
type Input = std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>;

/// Copies `stdin` to the container and its output to `output` until the output ends.
async fn relay(
    stdin: Stdin<'_>,
    mut to_container: Input,
    mut from_container: Output,
    output: Stdout<'_>,
    stop: &CancellationToken,
) -> Result<(), SchedulerError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 8192];
    let mut stdin_open = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            read = stdin.read(&mut buf), if stdin_open => match read {
                Ok(0) | Err(_) => {
                    stdin_open = false;
                    let _ = to_container.shutdown().await;
                }
                Ok(n) => stdin_open = to_container.write_all(&buf[..n]).await.is_ok(),
            },
            chunk = from_container.next() => match chunk {
                Some(Ok(chunk)) => {
                    let _ = output.write_all(&chunk.into_bytes()).await;
                    let _ = output.flush().await;
                }
                Some(Err(err)) => return Err(engine_err(err)),
                None => return Ok(()),
            },
        }
    }
}

impl DockerEngine {
    pub(super) fn instance_from_labels(
        &self,
        id: String,
        labels: &HashMap<String, String>,
        running: bool,
        address: Option<String>,
    ) -> Option<Instance> {
        Some(Instance {
            id,
            app: AppName::parse(labels.get(LABEL_APP)?).ok()?,
            process: labels.get(LABEL_PROCESS)?.clone(),
            index: labels
                .get(LABEL_INDEX)
                .and_then(|i| i.parse().ok())
                .or_else(|| super::swarm::task_slot(labels))
                .unwrap_or(1),
            release: labels.get(LABEL_RELEASE)?.parse().ok()?,
            running,
            address: address.and_then(|a| a.parse().ok()),
            published: None,
        })
    }

    pub(super) fn address_of(&self, inspect: &ContainerInspectResponse) -> Option<String> {
        let mode = inspect.host_config.as_ref()?.network_mode.as_deref();
        let labels = inspect.config.as_ref()?.labels.as_ref()?;
        inspect
            .network_settings
            .as_ref()?
            .networks
            .as_ref()?
            .get(&self.first_network(mode, labels))?
            .ip_address
            .clone()
            .filter(|ip| !ip.is_empty())
    }

    /// The network where the proxy reaches a container: for a Swarm task the swarm network,
    /// else the one it was created on (its network mode), Berth's own unless the app has an
    /// `initial-network`.
    fn first_network(&self, mode: Option<&str>, labels: &HashMap<String, String>) -> String {
        if labels.contains_key(super::swarm::LABEL_SERVICE_ID) {
            return self.swarm_network();
        }
        mode.filter(|m| !m.is_empty() && *m != "default")
            .unwrap_or(&self.network)
            .to_string()
    }

    /// The service a container is a task of, if it is one.
    async fn service_of(&self, id: &str) -> Result<Option<String>, SchedulerError> {
        match self.docker.inspect_container(id, None).await {
            Ok(inspect) => Ok(inspect
                .config
                .and_then(|c| c.labels)
                .and_then(|mut labels| labels.remove(super::swarm::LABEL_SERVICE_ID))),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(engine_err(err)),
        }
    }

    /// Waits for the container to exit; returns its exit status.
    pub(super) async fn exit_status(&self, id: &str) -> Result<i64, SchedulerError> {
        let mut waited = self.docker.wait_container(id, None);
        match waited.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(err)) => Err(engine_err(err)),
            None => Ok(-1),
        }
    }

    /// Creates (does not start) the container for `spec`; returns its id.
    pub(super) async fn create(
        &self,
        spec: &InstanceSpec,
        kind: Kind,
    ) -> Result<String, SchedulerError> {
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.container_name())
            .build();
        let created = self
            .docker
            .create_container(Some(options), self.create_body(spec, kind))
            .await
            .map_err(engine_err)?;
        let aliases = self.aliases_for(spec, kind);
        for network in &spec.networks.post_create {
            if let Err(err) = self.attach_to(&created.id, network, &aliases).await {
                let _ = self.remove_force(&created.id).await;
                return Err(err);
            }
        }
        Ok(created.id)
    }

    /// The names an instance answers to on its networks; one-off containers have none.
    fn aliases_for(&self, spec: &InstanceSpec, kind: Kind) -> Vec<String> {
        match kind {
            Kind::Instance => crate::scheduler::aliases(&spec.app, &spec.process),
            _ => Vec::new(),
        }
    }

    /// The container Berth creates for `spec`: its labels, config, network, mounts and limits.
    /// One-off containers get the one-off label and no restart policy.
    fn create_body(&self, spec: &InstanceSpec, kind: Kind) -> ContainerCreateBody {
        let oneoff = kind != Kind::Instance;
        let attached = match kind {
            Kind::Attached { tty } => Some(tty),
            _ => None,
        };
        let mut labels: HashMap<String, String> = [
            (LABEL_APP.to_string(), spec.app.to_string()),
            (LABEL_PROCESS.to_string(), spec.process.clone()),
            (LABEL_RELEASE.to_string(), spec.release.to_string()),
            (LABEL_INDEX.to_string(), spec.index.to_string()),
        ]
        .into();
        for (key, value) in &spec.options.labels {
            labels.insert(key.clone(), value.clone());
        }
        if oneoff {
            labels.insert(LABEL_ONEOFF.to_string(), "true".to_string());
        }
        let options = &spec.options;
        let some_vec = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        let (name, retries) = match spec.restart {
            crate::scheduler::RestartPolicy::No => (RestartPolicyNameEnum::NO, None),
            crate::scheduler::RestartPolicy::Always => (RestartPolicyNameEnum::ALWAYS, None),
            crate::scheduler::RestartPolicy::UnlessStopped => {
                (RestartPolicyNameEnum::UNLESS_STOPPED, None)
            }
            crate::scheduler::RestartPolicy::OnFailure(n) => {
                (RestartPolicyNameEnum::ON_FAILURE, Some(i64::from(n)))
            }
        };
        let restart_policy = (!oneoff).then_some(RestartPolicy {
            name: Some(name),
            maximum_retry_count: retries,
        });
        let first_network = spec
            .networks
            .initial
            .as_ref()
            .map_or_else(|| self.network.clone(), |n| n.to_string());
        let aliases = self.aliases_for(spec, kind);
        let networking_config = (!aliases.is_empty()).then(|| NetworkingConfig {
            endpoints_config: Some(
                [(
                    first_network.clone(),
                    EndpointSettings {
                        aliases: Some(aliases),
                        ..Default::default()
                    },
                )]
                .into(),
            ),
        });
        ContainerCreateBody {
            image: Some(spec.image.clone()),
            networking_config,
            cmd: spec.command.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            open_stdin: attached.map(|_| true),
            stdin_once: attached.map(|_| true),
            attach_stdin: attached.map(|_| true),
            attach_stdout: attached.map(|_| true),
            attach_stderr: attached.map(|_| true),
            tty: attached,
            stop_timeout: i64::try_from(spec.stop_timeout_secs).ok(),
            user: options.user.clone(),
            working_dir: options.workdir.clone(),
            host_config: Some(HostConfig {
                auto_remove: (kind == Kind::Detached).then_some(true),
                extra_hosts: some_vec(&options.extra_hosts),
                dns: some_vec(&options.dns),
                shm_size: options.shm_size,
                log_config: log_config(
                    &options.log_opts,
                    spec.log_max_size.as_deref(),
                    &self.logging_driver,
                ),
                ulimits: (!options.ulimits.is_empty()).then(|| {
                    options
                        .ulimits
                        .iter()
                        .map(|(name, (soft, hard))| ResourcesUlimits {
                            name: Some(name.clone()),
                            soft: Some(*soft),
                            hard: Some(*hard),
                        })
                        .collect()
                }),
                network_mode: Some(first_network.clone()),
                init: Some(true),
                binds: binds(spec),
                memory: spec.limits.memory_bytes,
                nano_cpus: spec.limits.nano_cpus,
                memory_reservation: spec.limits.memory_reservation_bytes,
                cpu_shares: spec.limits.cpu_shares,
                restart_policy,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Stops the container: SIGTERM, then SIGKILL after `grace`; one gone or stopped is fine.
    pub(super) async fn stop_gracefully(
        &self,
        id: &str,
        grace: Duration,
    ) -> Result<(), SchedulerError> {
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::default().t(seconds).build();
        match self.docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(err) => Err(engine_err(err)),
        }
    }

    /// Removes the container, running or not; one already gone (or going: a detached
    /// one-off the engine removes as it exits) is fine.
    pub(super) async fn remove_force(&self, id: &str) -> Result<(), SchedulerError> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            }) if message.contains("already in progress") => {
                self.wait_removed(id).await;
                Ok(())
            }
            Err(err) => Err(engine_err(err)),
        }
    }

    /// The containers that carry every one of `labels` (`key` or `key=value`); stopped ones
    /// too with `all`.
    pub(super) async fn labelled(
        &self,
        labels: Vec<String>,
        all: bool,
    ) -> Result<Vec<ContainerSummary>, SchedulerError> {
        let filters = [("label", labels)].into();
        let options = ListContainersOptionsBuilder::default()
            .all(all)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(engine_err)
    }

    /// Waits (at most `REMOVAL_WAIT`) until the engine has removed the container, so that its
    /// image can go next.
    async fn wait_removed(&self, id: &str) {
        let options = WaitContainerOptionsBuilder::default()
            .condition("removed")
            .build();
        let mut waited = self.docker.wait_container(id, Some(options));
        // Any answer, an error (it is gone already) included, ends the wait.
        let _ = tokio::time::timeout(REMOVAL_WAIT, waited.next()).await;
    }
}

#[async_trait]
impl Scheduler for DockerEngine {
    async fn start(&self, spec: &InstanceSpec) -> Result<Instance, SchedulerError> {
        if spec.swarm {
            return self.start_task(spec).await;
        }
        let id = self.create(spec, Kind::Instance).await?;
        if let Err(err) = self.docker.start_container(&id, None).await {
            let _ = self.remove_force(&id).await;
            return Err(engine_err(err));
        }
        let inspect = self
            .docker
            .inspect_container(&id, None)
            .await
            .map_err(engine_err)?;
        let running = inspect.state.as_ref().and_then(|s| s.running) == Some(true);
        Ok(Instance {
            id,
            app: spec.app.clone(),
            process: spec.process.clone(),
            index: spec.index,
            release: spec.release,
            running,
            address: self.address_of(&inspect).and_then(|a| a.parse().ok()),
            published: None,
        })
    }

    async fn run_once(
        &self,
        spec: &InstanceSpec,
        output: &mut dyn BuildOutput,
        stop: &CancellationToken,
    ) -> Result<i64, SchedulerError> {
        let id = self.create(spec, Kind::OneOff).await?;
        let result = async {
            self.docker
                .start_container(&id, None)
                .await
                .map_err(engine_err)?;
            let mut lines = self.log_lines(&id, None, true);
            let mut shown = 0;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return Ok(-1),
                    line = lines.next() => match line {
                        Some(line) => {
                            output.line(split_timestamp(&line?).1).await;
                            shown += 1;
                        }
                        None => break,
                    },
                }
            }
            let mut waited = self.docker.wait_container(&id, None);
            let status = match waited.next().await {
                Some(Ok(response)) => response.status_code,
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
                Some(Err(err)) => return Err(engine_err(err)),
                None => -1,
            };
            // A container that exits at once can end the followed log before its last lines
            // are written; once it has exited, its log is whole: show what the follow missed.
            let mut rest = self.log_lines(&id, None, false).skip(shown);
            while let Some(line) = rest.next().await {
                output.line(split_timestamp(&line?).1).await;
            }
            Ok(status)
        }
        .await;
        let _ = self.remove_force(&id).await;
        result
    }

    async fn instances(&self, app: Option<&AppName>) -> Result<Vec<Instance>, SchedulerError> {
        let label = match app {
            Some(app) => format!("{LABEL_APP}={app}"),
            None => LABEL_APP.to_string(),
        };
        let summaries = self.labelled(vec![label], true).await?;
        let mut instances = Vec::new();
        for summary in summaries {
            let (Some(id), Some(labels)) = (summary.id, summary.labels) else {
                continue;
            };
            if labels.contains_key(LABEL_ONEOFF) {
                continue;
            }
            let running = summary.state == Some(ContainerSummaryStateEnum::RUNNING);
            let mode = summary.host_config.and_then(|h| h.network_mode);
            let first = self.first_network(mode.as_deref(), &labels);
            let address = summary
                .network_settings
                .and_then(|n| n.networks)
                .and_then(|mut n| n.remove(&first))
                .and_then(|endpoint| endpoint.ip_address)
                .filter(|ip| !ip.is_empty());
            if let Some(instance) = self.instance_from_labels(id, &labels, running, address) {
                instances.push(instance);
            }
        }
        instances.extend(self.remote_tasks(app).await?);
        Ok(instances)
    }

    async fn restart(&self, id: &str, grace: Duration) -> Result<(), SchedulerError> {
        if self.service_of_task(id).await?.is_some() {
            return Err(SchedulerError::Engine(format!(
                "task {id} runs on another node: the swarm replaces it when it exits or fails its Swarm health check"
            )));
        }
        let options = bollard::query_parameters::RestartContainerOptions {
            t: Some(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX)),
            signal: None,
        };
        self.docker
            .restart_container(id, Some(options))
            .await
            .map_err(engine_err)
    }

    async fn usage(&self, id: &str) -> Result<Usage, SchedulerError> {
        let inspect = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(engine_err)?;
        let mut usage = Usage {
            restarts: inspect.restart_count.map_or(0, |n| n.max(0) as u64),
            ..Usage::default()
        };
        if inspect.state.and_then(|s| s.running) != Some(true) {
            return Ok(usage);
        }
        let options = bollard::query_parameters::StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stats = self.docker.stats(id, Some(options));
        if let Some(stats) = stats.next().await {
            let stats = stats.map_err(engine_err)?;
            let nanos = stats
                .cpu_stats
                .and_then(|c| c.cpu_usage)
                .and_then(|u| u.total_usage)
                .unwrap_or(0);
            usage.cpu_seconds = nanos as f64 / 1e9;
            usage.memory_bytes = stats.memory_stats.and_then(|m| m.usage).unwrap_or(0);
        }
        Ok(usage)
    }

    async fn is_up_since_start(&self, id: &str) -> Result<bool, SchedulerError> {
        match self.docker.inspect_container(id, None).await {
            Ok(inspect) => {
                let running = inspect.state.and_then(|s| s.running) == Some(true);
                Ok(running && inspect.restart_count.unwrap_or(0) == 0)
            }
            // A task on another node: the swarm replaces one that exits by another task.
            Err(err) if is_not_found(&err) => self.task_runs(id).await,
            Err(err) => Err(engine_err(err)),
        }
    }

    async fn status(&self, id: &str) -> Result<InstanceStatus, SchedulerError> {
        let inspect = match self.docker.inspect_container(id, None).await {
            Ok(inspect) => inspect,
            Err(err) if is_not_found(&err) => match self.task_status(id).await? {
                Some(status) => return Ok(status),
                None => return Err(engine_err(err)),
            },
            Err(err) => return Err(engine_err(err)),
        };
        let restarts = inspect.restart_count.unwrap_or(0);
        let state = inspect.state.unwrap_or_default();
        let status = state.status.map(|s| s.to_string());
        // Docker keeps the last exit's code only while the process is down: once a restart
        // runs it again, the code reads 0.
        let down = matches!(status.as_deref(), Some("exited" | "dead" | "restarting"));
        let (state, exit_code) = (status, state.exit_code.filter(|_| down));
        Ok(InstanceStatus {
            state: state.unwrap_or_else(|| "unknown".to_string()),
            restarts,
            exit_code,
        })
    }

    async fn inspect(&self, id: &str) -> Result<serde_json::Value, SchedulerError> {
        let shown = match self.docker.inspect_container(id, None).await {
            Ok(inspect) => serde_json::to_value(inspect),
            // A task on another node: what the swarm knows of it.
            Err(err) if is_not_found(&err) => match self.task_json(id).await? {
                Some(task) => Ok(task),
                None => return Err(engine_err(err)),
            },
            Err(err) => return Err(engine_err(err)),
        };
        shown.map_err(|err| SchedulerError::Engine(err.to_string()))
    }

    fn changes(&self, since: std::time::SystemTime) -> InstanceStream {
        self.instance_changes(since)
    }

    fn log_lines(&self, id: &str, tail: Option<usize>, follow: bool) -> LogStream {
        let tail = tail
            .map(|n| n.to_string())
            .unwrap_or_else(|| "all".to_string());
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .follow(follow)
            .tail(&tail)
            .build();
        // A task on another node is no container here: the swarm relays its logs.
        let (docker, id) = (self.docker.clone(), id.to_string());
        let chunks = Box::pin(
            futures_util::stream::once(async move {
                match docker.inspect_container(&id, None).await {
                    Err(err) if is_not_found(&err) => docker.task_logs(&id, Some(options)).boxed(),
                    _ => docker.logs(&id, Some(options)).boxed(),
                }
            })
            .flatten(),
        );
        // Docker frames output in chunks that need not end at a newline: reassemble lines, and
        // at the end give the last one even without its newline (`printf secret`).
        let start = (
            chunks,
            String::new(),
            std::collections::VecDeque::new(),
            false,
        );
        let lines = futures_util::stream::unfold(start, |mut state| async move {
            let (chunks, partial, ready, ended) = &mut state;
            loop {
                if let Some(line) = ready.pop_front() {
                    return Some((line, state));
                }
                if *ended {
                    return None;
                }
                match chunks.next().await {
                    Some(Ok(output)) => {
                        partial.push_str(&String::from_utf8_lossy(&output.into_bytes()));
                        while let Some(end) = partial.find('\n') {
                            let line: String = partial.drain(..=end).collect();
                            ready.push_back(Ok(line.trim_end_matches(['\n', '\r']).to_string()));
                        }
                    }
                    Some(Err(err)) if is_not_found(&err) => {}
                    Some(Err(err)) => ready.push_back(Err(engine_err(err))),
                    None => {
                        *ended = true;
                        if !partial.is_empty() {
                            let line = std::mem::take(partial);
                            ready.push_back(Ok(line.trim_end_matches('\r').to_string()));
                        }
                    }
                }
            }
        });
        Box::pin(lines)
    }

    async fn exec(
        &self,
        id: &str,
        command: &[String],
        limit: Duration,
    ) -> Result<i64, SchedulerError> {
        if let Some(verdict) = self.remote_check(id, command).await? {
            return verdict;
        }
        let stop = CancellationToken::new();
        let (mut stdin, mut output) = (tokio::io::empty(), tokio::io::sink());
        let attached = self.exec_attached(id, command, false, &mut stdin, &mut output, &stop);
        match tokio::time::timeout(limit, attached).await {
            Ok(result) => result,
            Err(_) => Ok(-1),
        }
    }

    async fn run_attached(
        &self,
        spec: &InstanceSpec,
        tty: bool,
        stdin: Stdin<'_>,
        output: Stdout<'_>,
        stop: &CancellationToken,
    ) -> Result<i64, SchedulerError> {
        let id = self.create(spec, Kind::Attached { tty }).await?;
        let result = async {
            let options = AttachContainerOptionsBuilder::default()
                .stdin(true)
                .stdout(true)
                .stderr(true)
                .stream(true)
                .build();
            let attached = self
                .docker
                .attach_container(&id, Some(options))
                .await
                .map_err(engine_err)?;
            self.docker
                .start_container(&id, None)
                .await
                .map_err(engine_err)?;
            relay(stdin, attached.input, attached.output, output, stop).await?;
            match stop.is_cancelled() {
                // Stopped from outside: the container is killed below, not waited for.
                true => Ok(-1),
                false => self.exit_status(&id).await,
            }
        }
        .await;
        let _ = self.remove_force(&id).await;
        result
    }

    async fn run_detached(&self, spec: &InstanceSpec) -> Result<OneOff, SchedulerError> {
        self.start_detached(spec).await
    }

    async fn one_offs(&self, app: &AppName) -> Result<Vec<OneOff>, SchedulerError> {
        self.running_one_offs(app).await
    }

    async fn exec_attached(
        &self,
        id: &str,
        command: &[String],
        tty: bool,
        stdin: Stdin<'_>,
        output: Stdout<'_>,
        stop: &CancellationToken,
    ) -> Result<i64, SchedulerError> {
        let config = ExecConfig {
            cmd: Some(command.to_vec()),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(tty),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(id, config)
            .await
            .map_err(engine_err)?;
        let StartExecResults::Attached {
            output: from_exec,
            input: to_exec,
        } = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(engine_err)?
        else {
            return Err(SchedulerError::Engine("exec did not attach".into()));
        };
        relay(stdin, to_exec, from_exec, output, stop).await?;
        let inspect = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(engine_err)?;
        Ok(inspect.exit_code.unwrap_or(-1))
    }

    async fn retire(&self, id: &str, grace: Duration) -> Result<(), SchedulerError> {
        if let Some(service) = self.service_of(id).await? {
            return self.retire_task(id, &service, grace).await;
        }
        if let Some(service) = self.service_of_task(id).await? {
            return self.retire_remote_task(id, &service, grace).await;
        }
        self.stop_gracefully(id, grace).await?;
        self.remove_force(id).await
    }

    async fn attach(
        &self,
        id: &str,
        network: &NetworkName,
        aliases: &[String],
    ) -> Result<(), SchedulerError> {
        self.attach_to(id, network, aliases).await
    }

    async fn networks(&self) -> Result<Vec<NetworkInfo>, SchedulerError> {
        self.list_networks().await
    }

    async fn network(&self, name: &NetworkName) -> Result<Option<NetworkInfo>, SchedulerError> {
        self.inspect_network(name).await
    }

    async fn create_network(&self, name: &NetworkName) -> Result<(), SchedulerError> {
        self.make_network(name).await
    }

    async fn remove_network(&self, name: &NetworkName) -> Result<(), SchedulerError> {
        self.delete_network(name).await
    }

    async fn services(&self, app: &AppName) -> Result<Vec<ServiceStatus>, SchedulerError> {
        self.service_statuses(app).await
    }

    async fn in_swarm(&self) -> Result<bool, SchedulerError> {
        self.is_swarm_manager().await
    }

    async fn swarm_nodes(&self) -> Result<usize, SchedulerError> {
        self.swarm_size().await
    }
}

/// A local container's binds: its mounts, then its secrets' files.
fn binds(spec: &InstanceSpec) -> Option<Vec<String>> {
    let binds: Vec<String> = spec
        .binds
        .iter()
        .cloned()
        .chain(spec.secrets.iter().map(|secret| secret.bind()))
        .collect();
    (!binds.is_empty()).then_some(binds)
}

/// The container's log settings: the app's `--log-opt`s (json-file, as before) over the size cap,
/// which is given only where the driver takes it (the engine's default driver otherwise).
pub(super) fn log_config(
    user: &std::collections::BTreeMap<String, String>,
    max_size: Option<&str>,
    default_driver: &str,
) -> Option<HostConfigLogConfig> {
    let typ = match (user.is_empty(), default_driver) {
        (false, _) => "json-file",
        (true, driver @ ("json-file" | "local")) if max_size.is_some() => driver,
        _ => return None,
    };
    let mut config: std::collections::HashMap<String, String> = max_size
        .map(|size| ("max-size".to_string(), size.to_string()))
        .into_iter()
        .collect();
    config.extend(user.iter().map(|(k, v)| (k.clone(), v.clone())));
    Some(HostConfigLogConfig {
        typ: Some(typ.to_string()),
        config: Some(config),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_cap_goes_where_the_driver_takes_it_and_the_apps_options_win() {
        let none = std::collections::BTreeMap::new();
        let capped = log_config(&none, Some("10m"), "local").unwrap();
        assert_eq!(capped.typ.as_deref(), Some("local"));
        assert_eq!(capped.config.unwrap()["max-size"], "10m");
        assert!(log_config(&none, Some("10m"), "journald").is_none());
        assert!(log_config(&none, None, "json-file").is_none());
        let own = [("max-size".to_string(), "50m".to_string())].into();
        let merged = log_config(&own, Some("10m"), "journald").unwrap();
        assert_eq!(merged.typ.as_deref(), Some("json-file"));
        assert_eq!(merged.config.unwrap()["max-size"], "50m");
    }
}
