//! docker-swarm: each process type of a release runs as one Swarm service
//! (`shop_web_v3_5f2a`, carrying Berth's labels on the service and its containers), and its
//! tasks are Berth's instances, a task's slot being the instance's index. Starting `web.N`
//! adds a replica to the newest service of that release, or makes a new service when that slot
//! already runs (a restart, a move between schedulers), so the deploy pipeline keeps its own
//! cutover: new tasks are checked and routed before the old service goes. Tasks join a
//! swarm-scoped bridge network (`<network>-swarm`), where the proxy on the manager reaches each
//! task directly, never through the routing mesh. The tasks on this node are containers of this
//! engine, so logs, exec, usage and status work on them unchanged (docs/cluster.md).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bollard::models::{
    NetworkCreateRequest, NodeState, Service, ServiceSpecMode, ServiceSpecModeReplicated,
    ServiceUpdateStatusStateEnum, Task, TaskState,
};

use super::swarm_spec::restore_health_check;
use super::{engine_err, is_not_found, DockerEngine};
use crate::names::AppName;
use crate::scheduler::{
    Instance, InstanceSpec, RegistryAuth, SchedulerError, ServiceStatus, TaskStatus, LABEL_APP,
    LABEL_PROCESS, LABEL_RELEASE,
};

/// On task containers (set by Swarm): the service's id.
pub(super) const LABEL_SERVICE_ID: &str = "com.docker.swarm.service.id";
/// On task containers (set by Swarm): `<service>.<slot>.<task id>`.
const LABEL_TASK_NAME: &str = "com.docker.swarm.task.name";
/// How long a new task may take to run (its node pulling the image, say).
const START_WAIT: Duration = Duration::from_secs(120);
/// How long a retired task's container may take to go, beyond its stop grace.
pub(super) const STOP_WAIT: Duration = Duration::from_secs(30);
pub(super) const POLL: Duration = Duration::from_millis(200);

/// A task container's slot, Berth's instance index.
pub(super) fn task_slot(labels: &HashMap<String, String>) -> Option<u32> {
    labels
        .get(LABEL_TASK_NAME)?
        .rsplit('.')
        .nth(1)?
        .parse()
        .ok()
}

/// An engine timestamp (RFC 3339, its fraction of a second trimmed of trailing zeros, or absent)
/// with a fraction of nine digits, so that two compare as the times they are.
fn comparable_time(stamp: &str) -> String {
    let stamp = stamp.trim_end_matches('Z');
    let (seconds, fraction) = stamp.split_once('.').unwrap_or((stamp, ""));
    format!("{seconds}.{fraction:0<9}")
}

/// The service's latest update, unless it completed or there was none.
fn update_state(service: &Service) -> Option<String> {
    let status = service.update_status.as_ref()?;
    let state = status.state?;
    if matches!(
        state,
        ServiceUpdateStatusStateEnum::COMPLETED | ServiceUpdateStatusStateEnum::EMPTY
    ) {
        return None;
    }
    let message = status.message.as_deref().unwrap_or_default();
    Some(format!("{state}: {message}"))
}

/// The hostname of `task`'s node (else its id), and whether the node is down.
fn node_name(nodes: &HashMap<String, (String, bool)>, task: &Task) -> (String, bool) {
    let id = task.node_id.clone().unwrap_or_default();
    nodes.get(&id).cloned().unwrap_or((id, false))
}

/// What became of the latest task before `task` in its slot, if the swarm replaced it because
/// it failed or its node went down (not one Berth stopped).
fn replaced(task: &Task, all: &[Task], nodes: &HashMap<String, (String, bool)>) -> Option<String> {
    let created = |t: &Task| t.created_at.as_deref().map(comparable_time);
    let before = all
        .iter()
        .filter(|t| t.slot == task.slot && t.id != task.id)
        .filter(|t| created(t) < created(task))
        .max_by_key(|t| created(t))?;
    let (node, down) = node_name(nodes, before);
    if down {
        return Some(format!("on {node}, whose node is down"));
    }
    let status = before.status.as_ref()?;
    let error = status.err.as_deref().filter(|e| !e.is_empty())?;
    Some(format!("on {node}, which failed: {error}"))
}

fn replicas_of(service: &Service) -> i64 {
    service
        .spec
        .as_ref()
        .and_then(|spec| spec.mode.as_ref())
        .and_then(|mode| mode.replicated.as_ref())
        .and_then(|replicated| replicated.replicas)
        .unwrap_or(0)
}

impl DockerEngine {
    /// The swarm-scoped bridge network tasks join: node-local, so the proxy on the manager
    /// reaches their addresses as it reaches containers on Berth's own bridge.
    pub(super) fn swarm_network(&self) -> String {
        format!("{}-swarm", self.network)
    }

    /// Whether this engine manages an active swarm.
    /// How many nodes the swarm this engine is in has (0 outside one).
    pub(super) async fn swarm_size(&self) -> Result<usize, SchedulerError> {
        let swarm = self.docker.info().await.map_err(engine_err)?.swarm;
        Ok(swarm
            .and_then(|swarm| swarm.nodes)
            .and_then(|nodes| usize::try_from(nodes).ok())
            .unwrap_or(0))
    }

    pub(super) async fn is_swarm_manager(&self) -> Result<bool, SchedulerError> {
        let swarm = self.docker.info().await.map_err(engine_err)?.swarm;
        Ok(swarm.is_some_and(|swarm| {
            swarm.local_node_state == Some(bollard::models::LocalNodeState::ACTIVE)
                && swarm.control_available == Some(true)
        }))
    }

    async fn ensure_swarm_network(&self) -> Result<(), SchedulerError> {
        let name = self.swarm_network();
        match self.docker.inspect_network(&name, None).await {
            Ok(_) => return Ok(()),
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(engine_err(err)),
        }
        let request = NetworkCreateRequest {
            name,
            driver: Some("bridge".to_string()),
            scope: Some("swarm".to_string()),
            labels: Some([("berth.network".to_string(), "true".to_string())].into()),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(()),
            // Made meanwhile by another daemon (the swarm answers 500 "name conflicts").
            Err(err) => match self
                .docker
                .inspect_network(&self.swarm_network(), None)
                .await
            {
                Ok(_) => Ok(()),
                Err(_) => Err(engine_err(err)),
            },
        }
    }

    /// The services running `spec`'s process at its release, oldest first.
    async fn services_of(&self, spec: &InstanceSpec) -> Result<Vec<Service>, SchedulerError> {
        self.labelled_services(vec![
            format!("{LABEL_APP}={}", spec.app),
            format!("{LABEL_PROCESS}={}", spec.process),
            format!("{LABEL_RELEASE}={}", spec.release),
        ])
        .await
    }

    /// The app's services with their tasks, for `ps:report`; none outside a swarm.
    pub(super) async fn service_statuses(
        &self,
        app: &AppName,
    ) -> Result<Vec<ServiceStatus>, SchedulerError> {
        if !self.is_swarm_manager().await? {
            return Ok(Vec::new());
        }
        let mut statuses = Vec::new();
        let nodes = self.node_facts().await?;
        for service in self
            .labelled_services(vec![format!("{LABEL_APP}={app}")])
            .await?
        {
            let spec = service.spec.clone().unwrap_or_default();
            let labels = spec.labels.clone().unwrap_or_default();
            let mut tasks = Vec::new();
            let all = self
                .tasks_of(service.id.as_deref().unwrap_or_default())
                .await?;
            for task in &all {
                if task.desired_state != Some(TaskState::RUNNING) {
                    continue;
                }
                let status = task.status.clone().unwrap_or_default();
                tasks.push(TaskStatus {
                    slot: task.slot.and_then(|s| u32::try_from(s).ok()).unwrap_or(0),
                    node: node_name(&nodes, task).0,
                    state: status.state.map(|s| s.to_string()).unwrap_or_default(),
                    error: status.err.filter(|e| !e.is_empty()),
                    replaced: replaced(task, &all, &nodes),
                });
            }
            tasks.sort_by_key(|t| t.slot);
            statuses.push(ServiceStatus {
                name: spec.name.unwrap_or_default(),
                process: labels.get(LABEL_PROCESS).cloned().unwrap_or_default(),
                release: labels
                    .get(LABEL_RELEASE)
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0),
                desired: u64::try_from(replicas_of(&service)).unwrap_or(0),
                tasks,
                update: update_state(&service),
            });
        }
        Ok(statuses)
    }

    /// Every node's hostname and whether it is down, by id: one listing for a whole report.
    async fn node_facts(&self) -> Result<HashMap<String, (String, bool)>, SchedulerError> {
        let nodes = self.docker.list_nodes(None).await.map_err(engine_err)?;
        Ok(nodes
            .into_iter()
            .filter_map(|node| {
                let down = node.status.and_then(|s| s.state) == Some(NodeState::DOWN);
                let id = node.id?;
                let name = node
                    .description
                    .and_then(|d| d.hostname)
                    .unwrap_or_else(|| id.clone());
                Some((id, (name, down)))
            })
            .collect())
    }

    /// The services carrying every one of `labels` (`key=value`), oldest first.
    async fn labelled_services(&self, labels: Vec<String>) -> Result<Vec<Service>, SchedulerError> {
        let options = bollard::query_parameters::ListServicesOptions {
            filters: Some([("label".to_string(), labels)].into()),
            status: None,
        };
        let mut services = self
            .docker
            .list_services(Some(options))
            .await
            .map_err(engine_err)?;
        services.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(services)
    }

    async fn tasks_of(&self, service: &str) -> Result<Vec<Task>, SchedulerError> {
        let options = bollard::query_parameters::ListTasksOptions {
            filters: Some([("service".to_string(), vec![service.to_string()])].into()),
        };
        self.docker
            .list_tasks(Some(options))
            .await
            .map_err(engine_err)
    }

    /// Starts `spec` as a task: one more replica of the newest service of its process and
    /// release, or the first of a new service when its slot runs already.
    pub(super) async fn start_task(&self, spec: &InstanceSpec) -> Result<Instance, SchedulerError> {
        self.ensure_swarm_network().await?;
        let newest = self.services_of(spec).await?.pop();
        let (service, before) = match newest {
            Some(service) => {
                let id = service.id.clone().unwrap_or_default();
                let tasks = self.tasks_of(&id).await?;
                let wanted: BTreeSet<u32> = tasks
                    .iter()
                    .filter(|t| t.desired_state == Some(TaskState::RUNNING))
                    .filter_map(|t| t.slot.and_then(|s| u32::try_from(s).ok()))
                    .collect();
                match wanted.contains(&spec.index) {
                    true => (self.create_service(spec).await?, BTreeSet::new()),
                    false => {
                        let replicas = replicas_of(&service) + 1;
                        self.set_replicas(&service, replicas, spec.registry_auth.as_ref())
                            .await?;
                        let before = tasks.into_iter().filter_map(|t| t.id).collect();
                        (id, before)
                    }
                }
            }
            None => (self.create_service(spec).await?, BTreeSet::new()),
        };
        match self.wait_for_new_task(&service, &before, spec).await {
            Ok(instance) => Ok(instance),
            Err(err) => {
                // One replica fewer: the service goes when this was its first.
                let undone = self.scale_down_or_remove(&service).await;
                if let Err(undo) = undone {
                    tracing::warn!(service = %service, error = %undo, "could not undo a failed start");
                }
                Err(err)
            }
        }
    }

    async fn create_service(&self, spec: &InstanceSpec) -> Result<String, SchedulerError> {
        let tail: u16 = rand::random();
        let name = format!("{}_{}_v{}_{tail:04x}", spec.app, spec.process, spec.release);
        let secrets = self.swarm_secrets(spec).await?;
        let created = self
            .docker
            .create_service(
                self.service_spec(spec, name, secrets),
                super::registry::credentials(spec.registry_auth.as_ref()),
            )
            .await
            .map_err(engine_err)?;
        Ok(created.id.unwrap_or_default())
    }

    /// Sets the service's replica count; `auth` is the login its nodes pull with (else the one
    /// it has stays).
    async fn set_replicas(
        &self,
        service: &Service,
        replicas: i64,
        auth: Option<&RegistryAuth>,
    ) -> Result<(), SchedulerError> {
        let id = service.id.clone().unwrap_or_default();
        let mut spec = service.spec.clone().unwrap_or_default();
        restore_health_check(&mut spec);
        spec.mode = Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(replicas),
            }),
            ..Default::default()
        });
        let version = service
            .version
            .as_ref()
            .and_then(|v| v.index)
            .and_then(|i| i32::try_from(i).ok())
            .unwrap_or_default();
        let options = bollard::query_parameters::UpdateServiceOptions {
            version,
            ..Default::default()
        };
        self.docker
            .update_service(&id, spec, options, super::registry::credentials(auth))
            .await
            .map_err(engine_err)?;
        Ok(())
    }

    /// Waits until a task of `service` not in `before` runs; refused as soon as one fails.
    async fn wait_for_new_task(
        &self,
        service: &str,
        before: &BTreeSet<String>,
        spec: &InstanceSpec,
    ) -> Result<Instance, SchedulerError> {
        let deadline = Instant::now() + START_WAIT;
        let here = self.own_node().await?;
        let mut last = String::from("no task yet");
        while Instant::now() < deadline {
            for task in self.tasks_of(service).await? {
                if task.id.as_ref().is_some_and(|id| before.contains(id)) {
                    continue;
                }
                let status = task.status.clone().unwrap_or_default();
                match status.state {
                    Some(TaskState::RUNNING) => {
                        let container = status
                            .container_status
                            .and_then(|c| c.container_id)
                            .unwrap_or_default();
                        let instance = match task.node_id.as_deref() == Some(&here) {
                            true => self.task_instance(&container).await?,
                            false => self.remote_instance(&task, service).await?,
                        };
                        if let Some(instance) = instance {
                            return Ok(instance);
                        }
                    }
                    Some(TaskState::FAILED | TaskState::REJECTED) => {
                        return Err(SchedulerError::Engine(format!(
                            "the swarm could not start {}.{}: {}",
                            spec.process,
                            spec.index,
                            status.err.unwrap_or_default()
                        )));
                    }
                    state => {
                        last = format!(
                            "{} ({})",
                            state.map(|s| s.to_string()).unwrap_or_default(),
                            status.message.unwrap_or_default()
                        );
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
        Err(SchedulerError::Engine(format!(
            "the swarm did not run {}.{} within {}s: its task is {last}",
            spec.process,
            spec.index,
            START_WAIT.as_secs()
        )))
    }

    /// The instance a task's container on this node is, once it has its address.
    async fn task_instance(&self, container: &str) -> Result<Option<Instance>, SchedulerError> {
        let inspect = match self.docker.inspect_container(container, None).await {
            Ok(inspect) => inspect,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => return Err(engine_err(err)),
        };
        let labels = inspect
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        let address = self.address_of(&inspect);
        if address.is_none() {
            return Ok(None);
        }
        Ok(self.instance_from_labels(container.to_string(), &labels, true, address))
    }

    /// Retires the task whose container is `id`: the service goes when it was its last
    /// replica, else it runs one fewer, and this task is the one that goes: it is stopped
    /// first, and a swarm scaling down removes the slots whose task does not run before any
    /// that does (its restart delay leaves the time to scale). Waits until the container is
    /// gone.
    pub(super) async fn retire_task(
        &self,
        id: &str,
        service: &str,
        grace: Duration,
    ) -> Result<(), SchedulerError> {
        let found = match self.docker.inspect_service(service, None).await {
            Ok(found) => found,
            Err(err) if is_not_found(&err) => return self.remove_force(id).await,
            Err(err) => return Err(engine_err(err)),
        };
        let replicas = replicas_of(&found);
        if replicas > 1 {
            self.stop_gracefully(id, grace).await?;
            // Read again: the version must be the latest for the update.
            let found = self
                .docker
                .inspect_service(service, None)
                .await
                .map_err(engine_err)?;
            self.set_replicas(&found, replicas - 1, None).await?;
            // The swarm keeps a stopped task's container as history; a retired one goes.
            return self.remove_force(id).await;
        }
        self.remove_service(&found).await?;
        let deadline = Instant::now() + grace + STOP_WAIT;
        while Instant::now() < deadline {
            match self.docker.inspect_container(id, None).await {
                Err(err) if is_not_found(&err) => return Ok(()),
                Err(err) => return Err(engine_err(err)),
                Ok(_) => tokio::time::sleep(POLL).await,
            }
        }
        // Still stopping: the swarm finishes on its own; force it, as a local retirement does.
        self.remove_force(id).await
    }

    /// One replica fewer, or no service when that was its last; whether it still runs.
    pub(super) async fn scale_down_or_remove(&self, service: &str) -> Result<bool, SchedulerError> {
        let found = match self.docker.inspect_service(service, None).await {
            Ok(found) => found,
            Err(err) if is_not_found(&err) => return Ok(false),
            Err(err) => return Err(engine_err(err)),
        };
        match replicas_of(&found) {
            0 | 1 => self.remove_service(&found).await.map(|()| false),
            n => self.set_replicas(&found, n - 1, None).await.map(|()| true),
        }
    }

    /// Removes the service, then its app's secrets no service uses any more.
    async fn remove_service(&self, service: &Service) -> Result<(), SchedulerError> {
        match self
            .docker
            .delete_service(service.id.as_deref().unwrap_or_default())
            .await
        {
            Ok(()) => {}
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(engine_err(err)),
        }
        let app = service
            .spec
            .as_ref()
            .and_then(|spec| spec.labels.as_ref())
            .and_then(|labels| labels.get(LABEL_APP));
        if let Some(app) = app {
            self.prune_secrets(app).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_slot_comes_from_its_name() {
        let labels = [(
            LABEL_TASK_NAME.to_string(),
            "shop_web_v3_5f2a.2.q4r9x1m0k2".to_string(),
        )]
        .into();
        assert_eq!(task_slot(&labels), Some(2));
        assert_eq!(task_slot(&HashMap::new()), None);
    }

    #[test]
    fn engine_timestamps_compare_as_times() {
        let whole = comparable_time("2026-12-08T01:26:13Z");
        let later = comparable_time("2026-12-08T01:26:13.1Z");
        let latest = comparable_time("2026-12-08T01:26:13.312442123Z");
        assert!(whole < later && later < latest, "{whole} {later} {latest}");
    }
}
