//! Swarm tasks on other nodes than the manager Berth runs on. They are not containers of this
//! engine, so Berth knows them by their task id, from the swarm: the proxy reaches each at its
//! node's address and the port that node publishes for it (web services publish their port in
//! `host` mode, see `swarm_spec.rs`), never through the routing mesh (docs/cluster.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bollard::models::{EndpointPortConfigPublishModeEnum, Service, Task, TaskState};

use super::swarm::{POLL, STOP_WAIT};
use super::swarm_spec::restore_health_check;
use super::{engine_err, is_not_found, DockerEngine};
use crate::names::AppName;
use crate::scheduler::{
    Instance, InstanceStatus, SchedulerError, LABEL_APP, LABEL_PROCESS, LABEL_RELEASE,
};

/// The answer of an engine that manages no swarm to a question about services.
fn is_not_a_manager(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 503,
            ..
        }
    )
}

/// The port a task's node publishes for it (`host` mode), if any.
fn published_port(task: &Task) -> Option<u16> {
    task.status
        .as_ref()?
        .port_status
        .as_ref()?
        .ports
        .as_ref()?
        .iter()
        .find(|port| port.publish_mode == Some(EndpointPortConfigPublishModeEnum::HOST))?
        .published_port
        .and_then(|port| u16::try_from(port).ok())
}

/// A task of `service` as an instance, at `node`'s address: running only while the swarm both
/// wants it to and reports it does. A task the swarm replaced stays listed, not running, so the
/// proxy can put its replacement in its place.
fn task_instance(task: &Task, service: &Service, node: Option<IpAddr>) -> Option<Instance> {
    let labels = service.spec.as_ref()?.labels.as_ref()?;
    let status = task.status.as_ref()?;
    let running =
        status.state == Some(TaskState::RUNNING) && task.desired_state == Some(TaskState::RUNNING);
    Some(Instance {
        id: task.id.clone()?,
        app: AppName::parse(labels.get(LABEL_APP)?).ok()?,
        process: labels.get(LABEL_PROCESS)?.clone(),
        index: u32::try_from(task.slot?).ok()?,
        release: labels.get(LABEL_RELEASE)?.parse().ok()?,
        running,
        address: node,
        published: published_port(task),
    })
}

impl DockerEngine {
    /// The app's (or every app's) tasks on other nodes, past and present; none outside a swarm.
    pub(super) async fn remote_tasks(
        &self,
        app: Option<&AppName>,
    ) -> Result<Vec<Instance>, SchedulerError> {
        let label = match app {
            Some(app) => format!("{LABEL_APP}={app}"),
            None => LABEL_APP.to_string(),
        };
        let options = bollard::query_parameters::ListServicesOptions {
            filters: Some([("label".to_string(), vec![label])].into()),
            status: None,
        };
        let services = match self.docker.list_services(Some(options)).await {
            Ok(services) => services,
            Err(err) if is_not_a_manager(&err) => return Ok(Vec::new()),
            Err(err) => return Err(engine_err(err)),
        };
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let here = self.own_node().await?;
        let by_id: HashMap<&str, &Service> = services
            .iter()
            .filter_map(|s| Some((s.id.as_deref()?, s)))
            .collect();
        let options = bollard::query_parameters::ListTasksOptions {
            filters: Some(
                [(
                    "service".to_string(),
                    by_id.keys().map(|id| id.to_string()).collect(),
                )]
                .into(),
            ),
        };
        let tasks = self
            .docker
            .list_tasks(Some(options))
            .await
            .map_err(engine_err)?;
        let elsewhere: Vec<&Task> = tasks
            .iter()
            .filter(|t| t.node_id.as_deref().is_some_and(|node| node != here))
            .collect();
        if elsewhere.is_empty() {
            return Ok(Vec::new());
        }
        let nodes = self.node_addresses().await?;
        Ok(elsewhere
            .into_iter()
            .filter_map(|task| {
                let service = by_id.get(task.service_id.as_deref()?)?;
                let node = nodes.get(task.node_id.as_deref()?).copied();
                task_instance(task, service, node)
            })
            .collect())
    }

    /// Each node's address, where it publishes its tasks' ports.
    async fn node_addresses(&self) -> Result<HashMap<String, IpAddr>, SchedulerError> {
        let nodes = self.docker.list_nodes(None).await.map_err(engine_err)?;
        Ok(nodes
            .into_iter()
            .filter_map(|node| {
                let addr = node.status?.addr?.parse().ok()?;
                Some((node.id?, addr))
            })
            .collect())
    }

    async fn task(&self, id: &str) -> Result<Option<Task>, SchedulerError> {
        match self.docker.inspect_task(id).await {
            Ok(task) => Ok(Some(task)),
            Err(err) if is_not_found(&err) || is_not_a_manager(&err) => Ok(None),
            Err(err) => Err(engine_err(err)),
        }
    }

    /// The task `id` on another node as `ps:inspect` shows it.
    pub(super) async fn task_json(
        &self,
        id: &str,
    ) -> Result<Option<serde_json::Value>, SchedulerError> {
        let Some(task) = self.task(id).await? else {
            return Ok(None);
        };
        serde_json::to_value(task)
            .map(Some)
            .map_err(|err| SchedulerError::Engine(err.to_string()))
    }

    /// The state of the task `id` on another node, as the swarm reports it: `running`,
    /// `starting`, `failed`, … and its exit status once it ended.
    pub(super) async fn task_status(
        &self,
        id: &str,
    ) -> Result<Option<InstanceStatus>, SchedulerError> {
        let Some(task) = self.task(id).await? else {
            return Ok(None);
        };
        let status = task.status.unwrap_or_default();
        let ended = matches!(
            status.state,
            Some(
                TaskState::COMPLETE
                    | TaskState::SHUTDOWN
                    | TaskState::FAILED
                    | TaskState::REJECTED
                    | TaskState::ORPHANED
                    | TaskState::REMOVE
            )
        );
        let exit_code = status
            .container_status
            .and_then(|c| c.exit_code)
            .filter(|_| ended);
        Ok(Some(InstanceStatus {
            state: status
                .state
                .map_or_else(|| "unknown".to_string(), |s| s.to_string()),
            restarts: 0,
            exit_code,
        }))
    }

    /// The service of the task `id` on another node, if `id` names a task.
    pub(super) async fn service_of_task(&self, id: &str) -> Result<Option<String>, SchedulerError> {
        Ok(self.task(id).await?.and_then(|task| task.service_id))
    }

    /// Whether the task `id` runs (the swarm replaces one that exits by another task).
    pub(super) async fn task_runs(&self, id: &str) -> Result<bool, SchedulerError> {
        Ok(self.task(id).await?.is_some_and(|task| {
            task.desired_state == Some(TaskState::RUNNING)
                && task.status.and_then(|s| s.state) == Some(TaskState::RUNNING)
        }))
    }

    /// `task`, which runs on another node, as an instance; `None` until its node publishes its
    /// port (a web task) and the node's address is known.
    pub(super) async fn remote_instance(
        &self,
        task: &Task,
        service: &str,
    ) -> Result<Option<Instance>, SchedulerError> {
        let service = self
            .docker
            .inspect_service(service, None)
            .await
            .map_err(engine_err)?;
        let nodes = self.node_addresses().await?;
        let node = task
            .node_id
            .as_deref()
            .and_then(|id| nodes.get(id))
            .copied();
        Ok(task_instance(task, &service, node).filter(|instance| {
            instance.running
                && instance.address.is_some()
                && (instance.process != "web" || instance.published.is_some())
        }))
    }

    /// A command check of the task `id` on another node, where the manager's engine cannot run
    /// it: passed when it is the service's own health check and the task runs (a swarm reports
    /// a task with a health check running only once it is healthy, and replaces it when it no
    /// longer is); refused, saying why, when it is any other command. `None`: `id` is no task of
    /// another node.
    pub(super) async fn remote_check(
        &self,
        id: &str,
        command: &[String],
    ) -> Result<Option<Result<i64, SchedulerError>>, SchedulerError> {
        if self.docker.inspect_container(id, None).await.is_ok() {
            return Ok(None);
        }
        let Some(task) = self.task(id).await? else {
            return Ok(None);
        };
        let service = task.service_id.as_deref().unwrap_or_default();
        let mut spec = match self.docker.inspect_service(service, None).await {
            Ok(service) => service.spec.unwrap_or_default(),
            Err(err) if is_not_found(&err) => return Ok(Some(Ok(1))),
            Err(err) => return Err(engine_err(err)),
        };
        restore_health_check(&mut spec);
        let health = spec
            .task_template
            .and_then(|template| template.container_spec)
            .and_then(|container| container.health_check)
            .and_then(|health| health.test)
            .unwrap_or_default();
        let swarm_runs_it =
            health.first().map(String::as_str) == Some("CMD") && health[1..] == *command;
        if !swarm_runs_it {
            return Ok(Some(Err(SchedulerError::Engine(format!(
                "task {id} runs on another node, where Berth cannot run `{}`; only the check the swarm runs as the service's health check is checked there (docs/cluster.md)",
                command.join(" ")
            )))));
        }
        let runs = self.task_runs(id).await?;
        Ok(Some(Ok(if runs { 0 } else { 1 })))
    }

    /// This engine's node in the swarm.
    pub(super) async fn own_node(&self) -> Result<String, SchedulerError> {
        let info = self.docker.info().await.map_err(engine_err)?;
        Ok(info.swarm.and_then(|s| s.node_id).unwrap_or_default())
    }

    /// Retires the task `id` on another node. The manager cannot stop that node's container,
    /// and the Engine API cannot name the task a scale-down removes, so its service runs one
    /// replica fewer and the swarm picks which task goes (or the service goes with its last).
    /// A deploy retires every task of an old service, so the service goes in the end whichever
    /// the swarm picked; scaling down across nodes starts a new service instead
    /// (`Scheduler::picks_retired`).
    pub(super) async fn retire_remote_task(
        &self,
        id: &str,
        service: &str,
        grace: Duration,
    ) -> Result<(), SchedulerError> {
        if self.scale_down_or_remove(service).await? {
            return Ok(());
        }
        let deadline = Instant::now() + grace + STOP_WAIT;
        while Instant::now() < deadline && self.task_runs(id).await? {
            tokio::time::sleep(POLL).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{EndpointPortConfig, PortStatus, ServiceSpec, TaskStatus};

    fn task(state: TaskState, desired: TaskState, published: Option<i64>) -> Task {
        let ports = published.map(|port| {
            vec![EndpointPortConfig {
                target_port: Some(5000),
                published_port: Some(port),
                publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
                ..Default::default()
            }]
        });
        Task {
            id: Some("t1".into()),
            slot: Some(2),
            desired_state: Some(desired),
            status: Some(TaskStatus {
                state: Some(state),
                port_status: Some(PortStatus { ports }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn service() -> Service {
        let labels = [
            (LABEL_APP.to_string(), "shop".to_string()),
            (LABEL_PROCESS.to_string(), "web".to_string()),
            (LABEL_RELEASE.to_string(), "3".to_string()),
        ];
        Service {
            spec: Some(ServiceSpec {
                labels: Some(labels.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_task_on_another_node_is_reached_at_its_node_and_published_port() {
        let node: IpAddr = "192.0.2.7".parse().unwrap();
        let running = task(TaskState::RUNNING, TaskState::RUNNING, Some(30001));
        let instance = task_instance(&running, &service(), Some(node)).unwrap();
        assert_eq!(instance.dyno(), "web.2");
        assert_eq!(instance.release, 3);
        assert!(instance.running);
        assert_eq!(
            instance.reach(5000),
            Some("192.0.2.7:30001".parse().unwrap())
        );
        let going = task(TaskState::RUNNING, TaskState::SHUTDOWN, Some(30001));
        assert!(
            !task_instance(&going, &service(), Some(node))
                .unwrap()
                .running
        );
        let starting = task(TaskState::STARTING, TaskState::RUNNING, None);
        assert!(
            !task_instance(&starting, &service(), Some(node))
                .unwrap()
                .running
        );
    }
}
