//! The Swarm service Berth makes for one process of a release (see `swarm.rs`): Berth's labels,
//! the container's image, command, environment, mounts, secrets and health check, resources,
//! restart policy, log cap, the swarm network, and start-first updates that roll back.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, HealthConfig, Limit, Mount, MountType, NetworkAttachmentConfig, ResourceObject,
    ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, ServiceSpecRollbackConfig,
    ServiceSpecRollbackConfigOrderEnum, ServiceSpecUpdateConfig,
    ServiceSpecUpdateConfigFailureActionEnum, ServiceSpecUpdateConfigOrderEnum, TaskSpec,
    TaskSpecContainerSpec, TaskSpecContainerSpecSecrets, TaskSpecLogDriver, TaskSpecPlacement,
    TaskSpecResources, TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};

use super::DockerEngine;
use crate::scheduler::{
    InstanceSpec, Probe, RestartPolicy, LABEL_APP, LABEL_PROCESS, LABEL_RELEASE,
};

/// How long the swarm waits before it replaces a task that stopped: the time `retire_task`
/// has to scale its service down after stopping the task (Swarm's own default).
const RESTART_DELAY: Duration = Duration::from_secs(5);

fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// `host:container[:ro]` as a Swarm mount: a bind for an absolute host path, else a volume.
fn mount(bind: &str) -> Option<Mount> {
    let mut parts = bind.splitn(3, ':');
    let (source, target) = (parts.next()?, parts.next()?);
    Some(Mount {
        source: Some(source.to_string()),
        target: Some(target.to_string()),
        typ: Some(match source.starts_with('/') {
            true => MountType::BIND,
            false => MountType::VOLUME,
        }),
        read_only: Some(parts.next() == Some("ro")),
        ..Default::default()
    })
}

fn restart_policy(policy: RestartPolicy) -> TaskSpecRestartPolicy {
    let (condition, max_attempts) = match policy {
        RestartPolicy::No => (TaskSpecRestartPolicyConditionEnum::NONE, None),
        RestartPolicy::Always | RestartPolicy::UnlessStopped => {
            (TaskSpecRestartPolicyConditionEnum::ANY, None)
        }
        RestartPolicy::OnFailure(n) => (
            TaskSpecRestartPolicyConditionEnum::ON_FAILURE,
            Some(i64::from(n)),
        ),
    };
    TaskSpecRestartPolicy {
        condition: Some(condition),
        max_attempts,
        delay: Some(nanos(RESTART_DELAY)),
        ..Default::default()
    }
}

/// On Berth's services: their health check as JSON. The engine names the field `Healthcheck`
/// when it describes a service and bollard reads `HealthCheck`, so a spec read back lacks it,
/// and sent back as it was read it would change the tasks' spec (the swarm would replace
/// every task); `restore_health_check` puts it back first.
const LABEL_HEALTH: &str = "berth.healthcheck";

/// Puts the health check a service was made with back into its spec as read.
pub(super) fn restore_health_check(spec: &mut ServiceSpec) {
    let Some(json) = spec.labels.as_ref().and_then(|l| l.get(LABEL_HEALTH)) else {
        return;
    };
    let Ok(health) = serde_json::from_str::<HealthConfig>(json) else {
        return;
    };
    if let Some(container) = spec
        .task_template
        .as_mut()
        .and_then(|t| t.container_spec.as_mut())
    {
        container.health_check.get_or_insert(health);
    }
}

/// A probe as Swarm runs it: the command without a shell (`CMD`), its timings in nanoseconds.
fn health_config(probe: &Probe) -> HealthConfig {
    let mut test = vec!["CMD".to_string()];
    test.extend(probe.command.iter().cloned());
    HealthConfig {
        test: Some(test),
        interval: Some(nanos(Duration::from_secs(probe.interval_secs))),
        timeout: Some(nanos(Duration::from_secs(probe.timeout_secs))),
        retries: Some(i64::from(probe.retries)),
        start_period: Some(nanos(Duration::from_secs(probe.start_period_secs))),
        ..Default::default()
    }
}
/// A web service's port, published by the node that runs each task (`host` mode, on a port
/// the node picks, so a start-first task never collides with the one it replaces): where the
/// proxy reaches tasks on other nodes. Never the routing mesh.
fn endpoint(spec: &InstanceSpec) -> Option<EndpointSpec> {
    if spec.process != "web" {
        return None;
    }
    let port: i64 = spec.env.get("PORT")?.parse().ok()?;
    Some(EndpointSpec {
        ports: Some(vec![EndpointPortConfig {
            protocol: Some(EndpointPortConfigProtocolEnum::TCP),
            target_port: Some(port),
            publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
            ..Default::default()
        }]),
        ..Default::default()
    })
}

impl DockerEngine {
    /// The service for `spec`'s process: one replica, Berth's labels on it and its
    /// containers, its resources, mounts, restart policy and log cap; Swarm's own updates start
    /// the new task first and roll back on failure.
    pub(super) fn service_spec(
        &self,
        spec: &InstanceSpec,
        name: String,
        secrets: Vec<TaskSpecContainerSpecSecrets>,
    ) -> ServiceSpec {
        let mut labels: HashMap<String, String> = [
            (LABEL_APP.to_string(), spec.app.to_string()),
            (LABEL_PROCESS.to_string(), spec.process.clone()),
            (LABEL_RELEASE.to_string(), spec.release.to_string()),
        ]
        .into();
        for (key, value) in &spec.options.labels {
            labels.insert(key.clone(), value.clone());
        }
        let options = &spec.options;
        let container = TaskSpecContainerSpec {
            image: Some(spec.image.clone()),
            labels: Some(labels.clone()),
            command: spec.command.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            user: options.user.clone(),
            dir: options.workdir.clone(),
            hosts: (!options.extra_hosts.is_empty()).then(|| {
                options
                    .extra_hosts
                    .iter()
                    .map(|entry| match entry.split_once(':') {
                        Some((host, ip)) => format!("{ip} {host}"),
                        None => entry.clone(),
                    })
                    .collect()
            }),
            mounts: Some(spec.binds.iter().filter_map(|b| mount(b)).collect()),
            stop_grace_period: Some(nanos(Duration::from_secs(spec.stop_timeout_secs))),
            health_check: spec.probe.as_ref().map(health_config),
            secrets: Some(secrets),
            init: Some(true),
            ..Default::default()
        };
        let log_driver = super::containers::log_config(
            &options.log_opts,
            spec.log_max_size.as_deref(),
            &self.logging_driver,
        )
        .map(|config| TaskSpecLogDriver {
            name: config.typ,
            options: config.config,
        });
        let aliases = crate::scheduler::aliases(&spec.app, &spec.process);
        let mut service_labels = labels;
        if let Some(health) = &container.health_check {
            if let Ok(json) = serde_json::to_string(health) {
                service_labels.insert(LABEL_HEALTH.to_string(), json);
            }
        }
        ServiceSpec {
            name: Some(name),
            labels: Some(service_labels),
            task_template: Some(TaskSpec {
                container_spec: Some(container),
                resources: Some(TaskSpecResources {
                    limits: Some(Limit {
                        nano_cpus: spec.limits.nano_cpus,
                        memory_bytes: spec.limits.memory_bytes,
                        pids: None,
                    }),
                    reservations: Some(ResourceObject {
                        memory_bytes: spec.limits.memory_reservation_bytes,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                restart_policy: Some(restart_policy(spec.restart)),
                placement: (!spec.placement.is_empty()).then(|| TaskSpecPlacement {
                    constraints: Some(spec.placement.clone()),
                    ..Default::default()
                }),
                networks: Some(vec![NetworkAttachmentConfig {
                    target: Some(self.swarm_network()),
                    aliases: Some(aliases),
                    ..Default::default()
                }]),
                log_driver,
                ..Default::default()
            }),
            mode: Some(ServiceSpecMode {
                replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
                ..Default::default()
            }),
            update_config: Some(ServiceSpecUpdateConfig {
                parallelism: Some(1),
                order: Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST),
                failure_action: Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK),
                monitor: Some(nanos(Duration::from_secs(10))),
                ..Default::default()
            }),
            rollback_config: Some(ServiceSpecRollbackConfig {
                parallelism: Some(1),
                order: Some(ServiceSpecRollbackConfigOrderEnum::START_FIRST),
                ..Default::default()
            }),
            endpoint_spec: endpoint(spec),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_become_mounts() {
        let bind = mount("/var/lib/berth/storage/shop:/data:ro").unwrap();
        assert_eq!(bind.typ, Some(MountType::BIND));
        assert_eq!(bind.read_only, Some(true));
        assert_eq!(bind.target.as_deref(), Some("/data"));
        let volume = mount("cache:/cache").unwrap();
        assert_eq!(volume.typ, Some(MountType::VOLUME));
        assert_eq!(volume.read_only, Some(false));
        assert!(mount("nocolon").is_none());
    }
}
